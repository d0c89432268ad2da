// SPDX-License-Identifier: GPL-2.0
/*
 * gobgp-bridge against real gobgpd processes.
 *
 *   [ns a]  gobgpd a (AS 65000, 192.0.2.1) ==iBGP l2vpn-evpn== gobgpd b (192.0.2.2)  [ns b]
 *             ^ unix-socket gRPC                                   ^ unix-socket gRPC
 *          client A (this process, libuv loop)                 client B (same loop)
 *
 * Routes added through client A must reach client B's watch decoded equal to
 * what A sent; withdrawals must arrive; after kill -9 and restart of gobgpd a,
 * client A must resync on its own: every route back on b exactly once, no
 * route lost or delivered twice on either side.
 */
#include <arpa/inet.h>
#include <string.h>

#include <criterion/criterion.h>

#include "bridge_env.h"
#include "codec.h"

#define WAIT_MS 30000

struct rec_ent {
	struct gb_key   key;
	struct gb_route r;
	bool            present;
	unsigned        adds, wds, dups;
};

struct rec {
	const char     *name;
	struct rec_ent *e;
	size_t          n, cap;
	size_t          n_present;
	unsigned        ups, downs, resyncs, resyncs_not_first, rejected;
	size_t          last_readv;
	bool            up;
};

static uv_loop_t loop;
static struct benv_gobgpd ga, gbd;
static struct gb_client *ca, *cb;
static struct rec ra = { .name = "A" }, rb = { .name = "B" };

static struct rec_ent *rec_find(struct rec *rc, const struct gb_route *r)
{
	struct gb_key k;

	gb_route_key(r, &k);
	for (size_t i = 0; i < rc->n; i++)
		if (rc->e[i].key.len == k.len && !memcmp(rc->e[i].key.b, k.b, k.len))
			return &rc->e[i];
	return NULL;
}

static void on_route(struct gb_client *c, const struct gb_route *r, void *arg)
{
	struct rec *rc = arg;
	struct rec_ent *e = rec_find(rc, r);

	if (!e) {
		if (rc->n == rc->cap) {
			rc->cap = rc->cap ? rc->cap * 2 : 64;
			rc->e = realloc(rc->e, rc->cap * sizeof(*rc->e));
			cr_assert_not_null(rc->e);
		}
		e = &rc->e[rc->n++];
		memset(e, 0, sizeof(*e));
		gb_route_key(r, &e->key);
	}
	if (r->is_withdraw) {
		e->wds++;
		if (e->present)
			rc->n_present--;
		e->present = false;
		return;
	}
	if (e->present && gb_route_equal(&e->r, r))
		e->dups++; /* the bridge promises never to deliver an unchanged route twice */
	if (!e->present)
		rc->n_present++;
	e->present = true;
	e->adds++;
	e->r = *r;
}

static void on_resync(struct gb_client *c, bool first, size_t n, void *arg)
{
	struct rec *rc = arg;

	rc->resyncs++;
	if (!first)
		rc->resyncs_not_first++;
	rc->last_readv = n;
}

static void on_state(struct gb_client *c, bool up, void *arg)
{
	struct rec *rc = arg;

	rc->up = up;
	if (up)
		rc->ups++;
	else
		rc->downs++;
}

static void on_rejected(struct gb_client *c, const struct gb_route *r, const char *why, void *arg)
{
	struct rec *rc = arg;

	rc->rejected++;
	fprintf(stderr, "client %s: route rejected: %s\n", rc->name, why);
}

static const struct gb_callbacks cbs = {
	.route = on_route, .resync = on_resync, .state = on_state, .rejected = on_rejected,
};

static struct gb_client *client_new(struct benv_gobgpd *g, struct rec *rc, uint32_t flags)
{
	struct gb_config cfg = {
		.loop = &loop, .target = g->target, .cb = &cbs, .arg = rc, .flags = flags,
		.backoff_min_ms = 50, .backoff_max_ms = 1000,
	};
	struct gb_client *c;

	cr_assert_eq(gb_client_new(&cfg, &c), 0);
	return c;
}

static bool both_up(void *arg)
{
	return ra.up && rb.up && ra.resyncs && rb.resyncs;
}

static void setup(void)
{
	cr_assert_eq(uv_loop_init(&loop), 0);
	cr_assert_eq(benv_two_ns(), 0);
	cr_assert_eq(benv_gobgpd_start(&ga, "a", "a", "192.0.2.1", "192.0.2.2"), 0);
	cr_assert_eq(benv_gobgpd_start(&gbd, "b", "b", "192.0.2.2", "192.0.2.1"), 0);
	ca = client_new(&ga, &ra, 0);
	cb = client_new(&gbd, &rb, 0);
	cr_assert(benv_run_until(&loop, both_up, NULL, WAIT_MS), "clients did not come up");
}

static void teardown(void)
{
	if (ca)
		gb_client_free(ca);
	if (cb)
		gb_client_free(cb);
	ca = cb = NULL;
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	benv_gobgpd_stop(&ga);
	benv_gobgpd_stop(&gbd);
	xt_cleanup();
	free(ra.e);
	free(rb.e);
}

TestSuite(bridge, .init = setup, .fini = teardown, .timeout = 180);

static struct gb_ip ip4(const char *s)
{
	struct gb_ip ip = { .family = AF_INET };

	inet_pton(AF_INET, s, &ip.v4);
	return ip;
}

/* One route of every type as leaf 192.0.2.1 would originate them. */
static int routes_of_each_type(struct gb_route *r, const char *nh)
{
	struct gb_route base = { 0 };
	int n = 0;

	base.rd.type = GB_ADMIN_IP4;
	inet_pton(AF_INET, nh, &base.rd.admin);
	base.rd.assigned = 100;
	base.next_hop = ip4(nh);
	base.n_rts = 1;
	base.rts[0] = (struct gb_rt){ .type = GB_ADMIN_AS2, .admin = 65000, .assigned = 100 };
	base.attrs = GB_ATTR_ENCAP;
	base.encap = GB_ENCAP_VXLAN;

	/* type 1 per-ES A-D, type-3 ESI, single-active flag */
	r[n] = base;
	r[n].type = GB_ROUTE_AD;
	gb_esi_parse("03:00:11:22:33:44:55:00:00:01", &r[n].esi);
	r[n].rd.assigned = 1;
	r[n].eth_tag = GB_ETAG_MAX;
	r[n].n_labels = 1;
	r[n].attrs |= GB_ATTR_ESI_LABEL;
	r[n].single_active = true;
	n++;
	/* type 1 per-EVI A-D, label = VNI */
	r[n] = r[n - 1];
	r[n].rd.assigned = 100;
	r[n].eth_tag = 0;
	r[n].labels[0] = 10100;
	r[n].attrs &= ~GB_ATTR_ESI_LABEL;
	r[n].single_active = false;
	n++;
	/* type 2 MAC+IP on the ES with mobility sequence and sticky bit, L2+L3 VNI */
	r[n] = base;
	r[n].type = GB_ROUTE_MACIP;
	gb_esi_parse("03:00:11:22:33:44:55:00:00:01", &r[n].esi);
	memcpy(r[n].mac, (uint8_t[6]){ 0x02, 0, 0x5e, 0, 0x53, 0x01 }, 6);
	r[n].ip = ip4("198.51.100.10");
	r[n].labels[0] = 10100;
	r[n].labels[1] = 50100;
	r[n].n_labels = 2;
	r[n].attrs |= GB_ATTR_MAC_MOBILITY;
	r[n].mm_seq = 3;
	r[n].sticky = true;
	n++;
	/* type 2 MAC only, single-homed (zero ESI) */
	r[n] = base;
	r[n].type = GB_ROUTE_MACIP;
	memcpy(r[n].mac, (uint8_t[6]){ 0x02, 0, 0x5e, 0, 0x53, 0x02 }, 6);
	r[n].labels[0] = 10100;
	r[n].n_labels = 1;
	n++;
	/* type 3 IMET with ingress-replication PMSI */
	r[n] = base;
	r[n].type = GB_ROUTE_IMET;
	r[n].ip = ip4(nh);
	r[n].attrs |= GB_ATTR_PMSI;
	r[n].pmsi = (struct gb_pmsi){ .tunnel_type = GB_PMSI_INGRESS_REPL, .label = 10100,
				      .id = ip4(nh) };
	n++;
	/* type 4 ES route, type-0 ESI: ES-Import RT must be added by the bridge */
	r[n] = base;
	r[n].type = GB_ROUTE_ES;
	r[n].n_rts = 0;
	r[n].attrs = 0;
	gb_esi_parse("00:00:11:22:33:44:55:00:00:02", &r[n].esi);
	r[n].ip = ip4(nh);
	n++;
	return n;
}

struct want {
	struct rec *rc;
	const struct gb_route *r;
	int n;
	bool present;
};

static bool all_in(void *arg)
{
	struct want *w = arg;

	for (int i = 0; i < w->n; i++) {
		struct rec_ent *e = rec_find(w->rc, &w->r[i]);

		if (w->present != (e && e->present))
			return false;
	}
	return true;
}

static void wait_routes(struct rec *rc, const struct gb_route *r, int n, bool present)
{
	struct want w = { rc, r, n, present };

	cr_assert(benv_run_until(&loop, all_in, &w, WAIT_MS), "client %s: routes not %s",
		  rc->name, present ? "received" : "withdrawn");
}

static void assert_received_equal(struct rec *rc, const struct gb_route *sent, int n,
				  const char *peer)
{
	for (int i = 0; i < n; i++) {
		struct gb_route want;
		struct rec_ent *e = rec_find(rc, &sent[i]);
		char a[256], b[256];

		gb_route_normalize(&sent[i], &want);
		cr_assert_not_null(e);
		gb_route_format(&e->r, a, sizeof(a));
		gb_route_format(&want, b, sizeof(b));
		cr_assert(gb_route_equal(&e->r, &want), "route %d differs:\n got  %s\n want %s",
			  i, a, b);
		cr_assert_not(e->r.is_local);
		cr_assert_eq(e->r.peer.family, AF_INET);
		cr_assert_eq(e->r.peer.v4.s_addr, ip4(peer).v4.s_addr, "learnt from the wrong peer");
		cr_assert_eq(e->dups, 0, "route %d delivered twice unchanged", i);
	}
}

Test(bridge, every_route_type_arrives_decoded_equal)
{
	struct gb_route r[8];
	int n = routes_of_each_type(r, "192.0.2.1");
	struct rec_ent *es;

	for (int i = 0; i < n; i++)
		cr_assert_eq(gb_add(ca, &r[i]), 0);
	wait_routes(&rb, r, n, true);
	assert_received_equal(&rb, r, n, "192.0.2.1");

	/* type 4 with a type-0 ESI carries the ES-Import RT (ESI value octets 1-6) */
	es = rec_find(&rb, &r[n - 1]);
	cr_assert(es->r.attrs & GB_ATTR_ES_IMPORT);
	cr_assert_arr_eq(es->r.es_import, ((uint8_t[6]){ 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 }), 6);

	/* own routes are not echoed back to A by default */
	for (int i = 0; i < n; i++)
		cr_assert_null(rec_find(&ra, &r[i]));
	cr_assert_eq(gb_ledger_count(ca), (size_t)n);
}

Test(bridge, withdrawals_arrive)
{
	struct gb_route r[8], w;
	int n = routes_of_each_type(r, "192.0.2.1");

	for (int i = 0; i < n; i++)
		cr_assert_eq(gb_add(ca, &r[i]), 0);
	wait_routes(&rb, r, n, true);

	/* withdraw the per-ES A-D (NLRI only, as a controller does on link down)
	 * and the MAC/IP route */
	w = r[0];
	w.next_hop.family = 0;
	w.n_rts = 0;
	w.attrs = 0;
	cr_assert_eq(gb_withdraw(ca, &w), 0);
	cr_assert_eq(gb_withdraw(ca, &r[2]), 0);
	wait_routes(&rb, &r[0], 1, false);
	wait_routes(&rb, &r[2], 1, false);
	cr_assert_eq(rec_find(&rb, &r[0])->wds, 1);
	cr_assert_eq(rec_find(&rb, &r[2])->wds, 1);
	for (int i = 0; i < n; i++)
		if (i != 0 && i != 2)
			cr_assert(rec_find(&rb, &r[i])->present, "route %d went away too", i);
	cr_assert_eq(gb_ledger_count(ca), (size_t)n - 2);

	/* b's RIB holds exactly the remaining routes */
	benv_run_for(&loop, 300);
	cr_assert_eq(rb.n_present, (size_t)n - 2);
}

struct list_ctx {
	size_t n, local, done;
	int err;
	struct gb_key keys[64];
	size_t dup_keys;
};

static void on_list(struct gb_client *c, const struct gb_route *r, int err, void *arg)
{
	struct list_ctx *l = arg;
	struct gb_key k;

	if (!r) {
		l->err = err;
		l->done = 1;
		return;
	}
	gb_route_key(r, &k);
	for (size_t i = 0; i < l->n && i < 64; i++)
		if (l->keys[i].len == k.len && !memcmp(l->keys[i].b, k.b, k.len))
			l->dup_keys++;
	if (l->n < 64)
		l->keys[l->n] = k;
	l->n++;
	if (r->is_local)
		l->local++;
}

static bool list_done(void *arg)
{
	return ((struct list_ctx *)arg)->done;
}

static void list(struct gb_client *c, struct list_ctx *l)
{
	memset(l, 0, sizeof(*l));
	cr_assert_eq(gb_list(c, on_list, l), 0);
	cr_assert(benv_run_until(&loop, list_done, l, WAIT_MS));
	cr_assert_eq(l->err, 0);
}

static bool a_down(void *arg)
{
	return !ra.up;
}

static bool a_resynced_and_b_has_all(void *arg)
{
	return ra.resyncs_not_first >= 1 && ra.up && all_in(arg);
}

Test(bridge, kill9_restart_full_resync)
{
	struct gb_route r[8], rbr[8];
	int n = routes_of_each_type(r, "192.0.2.1");
	int nb = routes_of_each_type(rbr, "192.0.2.2");
	struct want w = { &rb, r, n, true };
	struct list_ctx l;

	for (int i = 0; i < n; i++)
		cr_assert_eq(gb_add(ca, &r[i]), 0);
	/* b originates the IMET route only */
	cr_assert_eq(gb_add(cb, &rbr[4]), 0);
	wait_routes(&rb, r, n, true);
	wait_routes(&ra, &rbr[4], 1, true);
	(void)nb;

	cr_assert_eq(benv_gobgpd_kill(&ga), 0);
	cr_assert(benv_run_until(&loop, a_down, NULL, WAIT_MS), "client A did not notice");
	/* b drops a's routes when the session goes (hold timer or TCP reset) */
	wait_routes(&rb, r, n, false);
	cr_assert_eq(benv_gobgpd_restart(&ga), 0);
	cr_assert(benv_run_until(&loop, a_resynced_and_b_has_all, &w, WAIT_MS),
		  "no resync (resyncs %u, up %d)", ra.resyncs_not_first, ra.up);
	cr_assert_eq(ra.last_readv, (size_t)n, "re-advertised %zu of %d", ra.last_readv, n);
	assert_received_equal(&rb, r, n, "192.0.2.1");
	/* b's remote route comes back to A once the session is up again */
	wait_routes(&ra, &rbr[4], 1, true);
	benv_run_for(&loop, 500);

	/* nothing duplicated: every route once in each RIB */
	list(cb, &l);
	cr_assert_eq(l.n - l.local, (size_t)n, "b holds %zu remote paths, want %d", l.n - l.local, n);
	cr_assert_eq(l.dup_keys, 0);
	list(ca, &l);
	cr_assert_eq(l.local, (size_t)n, "a holds %zu local paths, want %d", l.local, n);
	cr_assert_eq(l.n, (size_t)n + 1);
	cr_assert_eq(l.dup_keys, 0);
	for (int i = 0; i < n; i++) {
		struct rec_ent *e = rec_find(&rb, &r[i]);

		cr_assert_eq(e->adds, 2, "route %d added %u times on b", i, e->adds);
		cr_assert_eq(e->wds, 1);
		cr_assert_eq(e->dups, 0);
	}
	cr_assert_eq(rec_find(&ra, &rbr[4])->dups, 0);
	cr_assert_eq(ra.downs, 1);
	cr_assert_eq(ra.rejected + rb.rejected, 0);
}

struct count_ctx {
	size_t n;
	bool resynced;
};

static void count_route(struct gb_client *c, const struct gb_route *r, void *arg)
{
	struct count_ctx *k = arg;

	if (!r->is_withdraw)
		k->n++;
}

static void count_resync(struct gb_client *c, bool first, size_t n, void *arg)
{
	((struct count_ctx *)arg)->resynced = true;
}

static bool count_ready(void *arg)
{
	return ((struct count_ctx *)arg)->resynced;
}

static bool a_flushed(void *arg)
{
	return gb_pending_count(ca) == 0;
}

/* The init dump arrives as a single message: beyond grpc's 4 MiB default. */
Test(bridge, init_dump_larger_than_4mib)
{
	const unsigned n = 12000;
	struct count_ctx k = { 0 };
	const struct gb_callbacks ccb = { .route = count_route, .resync = count_resync };
	struct gb_config cfg = { .loop = &loop, .target = ga.target, .cb = &ccb, .arg = &k,
				 .flags = GB_CFG_DELIVER_LOCAL };
	struct gb_client *c3;
	size_t bytes = 0;

	for (unsigned i = 0; i < n; i++) {
		struct gb_route r;
		uint8_t *buf;
		size_t len;

		benv_type2(&r, i, "192.0.2.1", GB_MAX_RTS);
		cr_assert_eq(gb_add(ca, &r), 0);
		cr_assert_eq(gb_route_encode(&r, false, &buf, &len), 0);
		bytes += len;
		free(buf);
	}
	/* our own encoding is a lower bound of what gobgpd sends back */
	cr_assert_gt(bytes, 4u << 20, "only %zu bytes: not a large-message test", bytes);
	cr_assert(benv_run_until(&loop, a_flushed, NULL, 120000), "adds not acknowledged");

	cr_assert_eq(gb_client_new(&cfg, &c3), 0);
	cr_assert(benv_run_until(&loop, count_ready, &k, 60000), "no dump");
	cr_assert_eq(k.n, n, "dump delivered %zu of %u routes", k.n, n);
	gb_client_free(c3);
}
