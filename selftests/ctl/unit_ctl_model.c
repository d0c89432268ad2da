// SPDX-License-Identifier: GPL-2.0
/* The EVPN model: NLRI ledger, remote ES membership, mass withdraw as one
 * group update, flood lists, MAC mobility, health pruning, reload. */
#include <criterion/criterion.h>
#include <errno.h>

#include "evpn.h"
#include "sim.h"

/* leaf3: no ES of its own, one BD (vni 100) */
static const char *leaf3_yaml =
	"vtep-address: 192.0.2.3\nasn: 65000\nuplinks: [up0]\n"
	"timers: { startup-hold: 1s }\n"
	"bd:\n  - vni: 100\n    access-ports: [h3]\n";

struct t {
	struct xcfg cfg;
	struct evpn *e;
	struct fib_mem *fm;
	unsigned adv, wd;
	struct evpn_route last;
};

static int rec(void *ctx, const struct evpn_route *r)
{
	struct t *t = ctx;

	r->withdraw ? t->wd++ : t->adv++;
	t->last = *r;
	return 0;
}

static const struct route_ops rec_ops = { .advertise = rec, .withdraw = rec };

static void t_init(struct t *t, const char *yaml)
{
	char err[XCFG_ERR_MAX];

	memset(t, 0, sizeof(*t));
	log_level = LOG_WARNING;
	cr_assert_eq(xcfg_load_string("t.conf", yaml, &t->cfg, err), 0, "%s", err);
	t->fm = fib_mem_new();
	t->e = evpn_new(&t->cfg, fib_mem_fib(t->fm), (struct route_out){ &rec_ops, t }, 1000);
	cr_assert_not_null(t->e);
	evpn_start(t->e, 1000);
}

static void t_fini(struct t *t)
{
	evpn_free(t->e);
	fib_mem_free(t->fm);
	xcfg_free(&t->cfg);
}

static esi_t the_esi(void)
{
	esi_t esi;

	esi_parse(SIM_ESI, &esi);
	return esi;
}

/* routes as leaf1/leaf2 (index 0/1) would send them */
static struct evpn_route ad_es(int pe, bool wd)
{
	struct evpn_route r = { .type = EVPN_RT_AD, .withdraw = wd, .esi = the_esi(), .etag = EVPN_MAX_ET };

	evpn_rd_make(r.rd, sim_ip(pe), 0);
	if (!wd)
		r.nexthop = sim_ip(pe);	/* a withdraw carries only the NLRI */
	return r;
}

static struct evpn_route ad_evi(int pe, uint32_t vni, bool wd)
{
	struct evpn_route r = { .type = EVPN_RT_AD, .withdraw = wd, .esi = the_esi(), .etag = 0, .vni = vni };

	evpn_rd_make(r.rd, sim_ip(pe), (uint16_t)vni);
	if (!wd)
		r.nexthop = sim_ip(pe);
	return r;
}

static struct evpn_route mac_rt(int pe, uint32_t vni, uint32_t n, bool with_esi, uint32_t seq, bool wd)
{
	struct evpn_route r = { .type = EVPN_RT_MAC, .withdraw = wd, .vni = vni, .seq = seq, .has_seq = seq > 0,
				.mac = { 0x02, 0xaa, (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, 1 } };

	evpn_rd_make(r.rd, sim_ip(pe), (uint16_t)vni);
	if (with_esi)
		r.esi = the_esi();
	if (!wd)
		r.nexthop = sim_ip(pe);
	return r;
}

static struct evpn_route imet(int pe, uint32_t vni, bool wd)
{
	struct evpn_route r = { .type = EVPN_RT_IMET, .withdraw = wd, .vni = vni, .originator = sim_ip(pe) };

	evpn_rd_make(r.rd, sim_ip(pe), (uint16_t)vni);
	if (!wd)
		r.nexthop = sim_ip(pe);
	return r;
}

static int group(struct t *t, uint32_t *v)
{
	esi_t esi = the_esi();
	struct evpn_es *es = evpn_es_find(t->e, &esi);

	cr_assert_not_null(es, "remote ES known");
	return fib_mem_es_group(t->fm, es->id, v, 16);
}

static void in(struct t *t, struct evpn_route r)
{
	cr_assert_eq(evpn_route_input(t->e, &r), 0);
}

Test(membership, needs_both_per_es_and_per_evi_ad)
{
	struct t t;
	uint32_t v[16];

	t_init(&t, leaf3_yaml);
	in(&t, ad_es(0, false));
	cr_assert_eq(group(&t, v), 0, "per-ES A-D alone: not a member");
	in(&t, ad_evi(1, 100, false));
	cr_assert_eq(group(&t, v), 0, "per-EVI A-D alone: not a member");
	in(&t, ad_evi(0, 100, false));
	cr_assert_eq(group(&t, v), 1);
	cr_assert_eq(v[0], sim_ip(0));
	in(&t, ad_es(1, false));
	cr_assert_eq(group(&t, v), 2);
	cr_assert_eq(v[0], sim_ip(0));
	cr_assert_eq(v[1], sim_ip(1));
	t_fini(&t);
}

Test(ledger, nlri_only_withdraw_removes_the_right_pe)
{
	struct t t;
	uint32_t v[16];

	t_init(&t, leaf3_yaml);
	for (int pe = 0; pe < 2; pe++) {
		in(&t, ad_es(pe, false));
		in(&t, ad_evi(pe, 100, false));
	}
	cr_assert_eq(group(&t, v), 2);
	in(&t, ad_es(0, true));		/* no next hop: the ledger knows it was leaf1 */
	cr_assert_eq(group(&t, v), 1);
	cr_assert_eq(v[0], sim_ip(1));
	cr_assert_eq(t.e->stats.withdraw_unknown, 0);
	in(&t, ad_es(0, true));		/* again: unknown, counted, harmless */
	cr_assert_eq(t.e->stats.withdraw_unknown, 1);
	cr_assert_eq(group(&t, v), 1);
	t_fini(&t);
}

Test(ledger, reannouncement_is_a_no_op_and_change_replaces)
{
	struct t t;
	uint32_t v[16];
	unsigned writes;
	struct evpn_route r;

	t_init(&t, leaf3_yaml);
	in(&t, ad_es(0, false));
	in(&t, ad_evi(0, 100, false));
	writes = fib_mem_counts(t.fm)->es_group_set;
	in(&t, ad_es(0, false));
	in(&t, ad_evi(0, 100, false));
	cr_assert_eq(fib_mem_counts(t.fm)->es_group_set, writes, "same routes again: no write");
	/* the same NLRI with another next hop is an implicit withdraw + add */
	r = ad_es(0, false);
	r.nexthop = sim_ip(5);
	in(&t, r);
	r = ad_evi(0, 100, false);
	r.nexthop = sim_ip(5);
	in(&t, r);
	cr_assert_eq(group(&t, v), 1);
	cr_assert_eq(v[0], sim_ip(5));
	t_fini(&t);
}

/* The mass withdraw: one per-ES A-D withdraw is exactly one ES group
 * update, whatever the number of MACs behind the ES; no FDB write. */
Test(ledger, mass_withdraw_is_one_group_update)
{
	struct t t;
	uint32_t v[16];
	struct fib_mem_counts before;

	t_init(&t, leaf3_yaml);
	for (int pe = 0; pe < 2; pe++) {
		in(&t, ad_es(pe, false));
		in(&t, ad_evi(pe, 100, false));
	}
	for (uint32_t n = 0; n < 5000; n++)
		in(&t, mac_rt(n % 2, 100, n, true, 0, false));
	cr_assert_eq(fib_mem_fdb_count(t.fm), 5000);
	const struct fib_fdb *f = fib_mem_fdb(t.fm, 100, mac_rt(0, 100, 7, true, 0, false).mac);
	cr_assert_eq(f->kind, FIB_FDB_ES, "ES MACs point at the ES, never at a VTEP");
	before = *fib_mem_counts(t.fm);
	in(&t, ad_es(0, true));
	cr_assert_eq(fib_mem_counts(t.fm)->es_group_set - before.es_group_set, 1);
	cr_assert_eq(fib_mem_counts(t.fm)->fdb_set, before.fdb_set, "no FDB write");
	cr_assert_eq(fib_mem_counts(t.fm)->fdb_del, before.fdb_del);
	cr_assert_eq(group(&t, v), 1);
	t_fini(&t);
}

Test(flood, imet_builds_sorted_flood_list)
{
	struct t t;
	uint32_t v[16];

	t_init(&t, leaf3_yaml);
	in(&t, imet(1, 100, false));
	in(&t, imet(0, 100, false));
	in(&t, imet(0, 200, false));	/* not our VNI: ignored */
	cr_assert_eq(fib_mem_flood(t.fm, 100, v, 16), 2);
	cr_assert_eq(v[0], sim_ip(0));
	cr_assert_eq(v[1], sim_ip(1));
	cr_assert_eq(fib_mem_flood(t.fm, 200, v, 16), -ENOENT);
	in(&t, imet(1, 100, true));
	cr_assert_eq(fib_mem_flood(t.fm, 100, v, 16), 1);
	cr_assert_eq(t.last.type, EVPN_RT_IMET, "we advertised our own IMET");
	t_fini(&t);
}

Test(mobility, higher_sequence_wins_and_local_moves_away)
{
	struct t t;
	struct evpn_route r = mac_rt(0, 100, 1, false, 0, false);
	const struct fib_fdb *f;
	struct evpn_mac *m;

	t_init(&t, leaf3_yaml);
	in(&t, r);
	f = fib_mem_fdb(t.fm, 100, r.mac);
	cr_assert_eq(f->kind, FIB_FDB_VTEP);
	cr_assert_eq(f->vtep, sim_ip(0));

	/* the host moves here: learned locally, advertised with seq 1 */
	cr_assert_eq(evpn_mac_learn(t.e, 100, r.mac, 33), 0);
	f = fib_mem_fdb(t.fm, 100, r.mac);
	cr_assert_eq(f->kind, FIB_FDB_LOCAL);
	cr_assert_eq(f->ifindex, 33);
	cr_assert_eq(t.last.type, EVPN_RT_MAC);
	cr_assert_not(t.last.withdraw);
	cr_assert_eq(t.last.seq, 1, "RFC 7432 §15: seq = highest seen + 1");

	/* leaf1's stale seq-0 route does not take it back */
	in(&t, r);
	cr_assert_eq(fib_mem_fdb(t.fm, 100, r.mac)->kind, FIB_FDB_LOCAL);

	/* it moves to leaf2, which advertises seq 2: ours is withdrawn */
	in(&t, mac_rt(1, 100, 1, false, 2, false));
	f = fib_mem_fdb(t.fm, 100, r.mac);
	cr_assert_eq(f->kind, FIB_FDB_VTEP);
	cr_assert_eq(f->vtep, sim_ip(1));
	cr_assert(t.last.withdraw, "our type-2 withdrawn");
	m = evpn_mac_find(t.e, 100, r.mac);
	cr_assert_not(m->flags & EVPN_MAC_LOCAL);
	cr_assert_eq(t.e->stats.mac_moves, 2);
	t_fini(&t);
}

Test(mobility, equal_sequence_lowest_address)
{
	struct t t;
	struct evpn_route a = mac_rt(1, 100, 9, false, 3, false), b = mac_rt(0, 100, 9, false, 3, false);

	t_init(&t, leaf3_yaml);
	in(&t, a);
	in(&t, b);
	cr_assert_eq(fib_mem_fdb(t.fm, 100, a.mac)->vtep, sim_ip(0), "equal seq: lowest VTEP");
	in(&t, mac_rt(1, 100, 9, false, 4, false));
	cr_assert_eq(fib_mem_fdb(t.fm, 100, a.mac)->vtep, sim_ip(1), "higher seq wins");
	in(&t, mac_rt(1, 100, 9, false, 0, true));
	cr_assert_eq(fib_mem_fdb(t.fm, 100, a.mac)->vtep, sim_ip(0), "withdraw falls back");
	in(&t, mac_rt(0, 100, 9, false, 0, true));
	cr_assert_null(fib_mem_fdb(t.fm, 100, a.mac), "last path gone: entry deleted");
	cr_assert_null(evpn_mac_find(t.e, 100, a.mac));
	t_fini(&t);
}

Test(mobility, bad_learn_rejected)
{
	struct t t;
	uint8_t mcast[6] = { 1, 0, 0x5e, 0, 0, 1 }, zero[6] = { 0 }, ok[6] = { 2, 0, 0, 0, 0, 1 };

	t_init(&t, leaf3_yaml);
	cr_assert_eq(evpn_mac_learn(t.e, 100, mcast, 3), -EINVAL);
	cr_assert_eq(evpn_mac_learn(t.e, 100, zero, 3), -EINVAL);
	cr_assert_eq(evpn_mac_learn(t.e, 999, ok, 3), -EINVAL, "unknown VNI");
	cr_assert_eq(fib_mem_fdb_count(t.fm), 0);
	t_fini(&t);
}

/* A MAC a peer learned on the ES we share is delivered on our own port,
 * and our own learn of it does not bump the sequence (no move). */
Test(multihoming, peer_learned_es_mac_is_local)
{
	struct sim s;
	uint8_t mac[6] = { 2, 0xbb, 0, 0, 0, 1 };
	const struct fib_fdb *f;

	sim_init(&s, 2, 1, NULL);
	cr_assert_eq(evpn_mac_learn(s.n[1].e, 100, mac, 11), 0, "leaf2 learns on its ES port");
	f = fib_mem_fdb(s.n[0].fm, 100, mac);
	cr_assert_not_null(f);
	cr_assert_eq(f->kind, FIB_FDB_LOCAL);
	cr_assert_eq(f->ifindex, 10, "leaf1 delivers on its own ES port");
	cr_assert_eq(f->es_id, sim_es(&s.n[0])->id);
	cr_assert_eq(evpn_mac_learn(s.n[0].e, 100, mac, 10), 0);
	cr_assert_eq(s.n[0].last.seq, 0, "same ES: aliasing, not a move");
	cr_assert_eq(s.n[0].e->stats.mac_moves, 0);
	sim_fini(&s);
}

Test(multihoming, link_down_withdraws_and_backs_up)
{
	struct sim s;
	struct evpn_es *es;
	const struct fib_es *st;
	uint32_t v[16];

	sim_init(&s, 2, 2, NULL);
	es = sim_es(&s.n[0]);
	st = fib_mem_es(s.n[0].fm, es->id);
	cr_assert(st->flags & FIB_ES_FWD);
	cr_assert_eq(fib_mem_es_group(s.n[0].fm, es->id, v, 16), 1, "peer set = leaf2");
	cr_assert_eq(v[0], sim_ip(1));

	unsigned wd = s.n[0].wd;
	evpn_link_event(s.n[0].e, "srv1", 10, false);
	st = fib_mem_es(s.n[0].fm, es->id);
	cr_assert(st->flags & FIB_ES_BACKUP, "local link down: ES traffic to the peers");
	cr_assert_not(st->flags & FIB_ES_FWD);
	cr_assert_eq(s.n[0].wd - wd, 1 + 1 + 2, "per-ES A-D, ES route, 2 per-EVI A-D withdrawn");
	/* leaf2 sees leaf1 leave its peer set */
	cr_assert_eq(fib_mem_es_group(s.n[1].fm, sim_es(&s.n[1])->id, v, 16), 0);
	sim_fini(&s);
}

Test(health, dead_vtep_pruned_then_restored)
{
	struct t t;
	uint32_t v[16];

	t_init(&t, leaf3_yaml);
	for (int pe = 0; pe < 2; pe++) {
		in(&t, ad_es(pe, false));
		in(&t, ad_evi(pe, 100, false));
	}
	evpn_vtep_health(t.e, sim_ip(0), false);
	cr_assert_eq(group(&t, v), 1);
	cr_assert_eq(v[0], sim_ip(1));
	evpn_vtep_health(t.e, sim_ip(0), true);
	cr_assert_eq(group(&t, v), 2);
	t_fini(&t);
}

Test(lifecycle, nothing_written_before_start)
{
	struct xcfg cfg;
	char err[XCFG_ERR_MAX];
	struct fib_mem *fm = fib_mem_new();
	struct evpn *e;
	struct evpn_route r = imet(0, 100, false);

	log_level = LOG_WARNING;
	cr_assert_eq(xcfg_load_string("t.conf", leaf3_yaml, &cfg, err), 0);
	e = evpn_new(&cfg, fib_mem_fib(fm), (struct route_out){ &rec_ops, &(struct t){ .adv = 0 } }, 0);
	evpn_route_input(e, &r);	/* RIB read during adoption */
	cr_assert_eq(fib_mem_counts(fm)->flood_set, 0, "adoption: read first, write nothing");
	evpn_start(e, 0);
	cr_assert_eq(fib_mem_counts(fm)->flood_set, 1, "then one write per object");
	uint32_t v[4];
	cr_assert_eq(fib_mem_flood(fm, 100, v, 4), 1);
	evpn_free(e);
	fib_mem_free(fm);
	xcfg_free(&cfg);
}

Test(reload, bd_added_and_removed)
{
	struct t t;
	struct xcfg c2;
	char err[XCFG_ERR_MAX];
	const char *y2 = "vtep-address: 192.0.2.3\nasn: 65000\nuplinks: [up0]\n"
			 "timers: { startup-hold: 1s }\n"
			 "bd:\n  - vni: 200\n    access-ports: [h3]\n";

	t_init(&t, leaf3_yaml);
	cr_assert_not_null(evpn_bd_find(t.e, 100));
	cr_assert_eq(xcfg_load_string("t2.conf", y2, &c2, err), 0, "%s", err);
	cr_assert_eq(evpn_apply_config(t.e, &c2, err), 2, "%s", err);
	cr_assert_null(evpn_bd_find(t.e, 100));
	cr_assert_not_null(evpn_bd_find(t.e, 200));
	cr_assert_eq(t.last.type, EVPN_RT_IMET);
	cr_assert_eq(t.last.vni, 200, "new BD's IMET advertised");
	t_fini(&t);
	xcfg_free(&c2);
}

/* leaf3 imports 65000:100 (auto) for vni 100 */
static struct evpn_route with_rt(struct evpn_route r, uint32_t assigned)
{
	r.rts[0] = (struct xcfg_rt){ XCFG_RT_AS2, 65000, assigned };
	r.n_rts = 1;
	return r;
}

Test(ledger, route_targets_we_do_not_import_are_ignored)
{
	struct t t;
	uint32_t v[16];
	struct evpn_route m = mac_rt(0, 100, 1, false, 0, false);

	t_init(&t, leaf3_yaml);
	in(&t, with_rt(m, 200));
	cr_assert_null(fib_mem_fdb(t.fm, 100, m.mac), "foreign RT: not installed");
	cr_assert_eq(t.e->stats.routes_not_imported, 1);
	in(&t, with_rt(m, 100));
	cr_assert_not_null(fib_mem_fdb(t.fm, 100, m.mac), "our RT: installed");
	in(&t, with_rt(m, 200));
	cr_assert_null(fib_mem_fdb(t.fm, 100, m.mac), "replaced by a foreign-RT version: gone");

	in(&t, with_rt(ad_es(0, false), 300));
	in(&t, with_rt(ad_evi(0, 100, false), 100));
	cr_assert_eq(group(&t, v), 0, "per-ES A-D with no imported RT: not a member");
	in(&t, with_rt(ad_es(0, false), 100));
	cr_assert_eq(group(&t, v), 1);
	in(&t, with_rt(imet(1, 100, false), 999));
	cr_assert_eq(fib_mem_flood(t.fm, 100, v, 16), 0, "IMET with a foreign RT: flood list stays empty");
	cr_assert_eq(t.e->stats.routes_not_imported, 4);
	t_fini(&t);
}

Test(ledger, odd_paths_are_counted_and_change_nothing)
{
	struct t t;
	struct evpn_route r;
	size_t ledger;

	t_init(&t, leaf3_yaml);
	r = ad_es(0, false);
	r.esi.b[0] = 7;				/* RFC 7432 §5 knows types 0-5 */
	in(&t, r);
	cr_assert_null(evpn_es_find(t.e, &r.esi));
	r = ad_es(0, false);
	memset(&r.esi, 0, sizeof(r.esi));	/* per-ES A-D without a segment */
	in(&t, r);
	cr_assert_null(evpn_es_find(t.e, &r.esi));
	r = mac_rt(0, 100, 1, false, 0, false);
	r.vni = 0x1000064;			/* 25 bits */
	in(&t, r);
	cr_assert_eq(t.e->stats.routes_invalid, 3);
	cr_assert_eq(t.e->ledger.count, 0);
	cr_assert_eq(fib_mem_fdb_count(t.fm), 0);

	r = mac_rt(0, 100, 1, false, 0, false);
	r.nexthop = 0;				/* no next hop */
	in(&t, r);
	cr_assert_eq(t.e->stats.routes_ignored, 1);
	cr_assert_eq(t.e->ledger.count, 0);

	/* our own route reflected back by the RR replaces the version another
	 * PE had for that NLRI: the old one is withdrawn, ours never applied */
	r = mac_rt(0, 100, 2, false, 0, false);
	in(&t, r);
	ledger = t.e->ledger.count;
	r.nexthop = sim_ip(2);			/* leaf3 itself */
	in(&t, r);
	cr_assert_eq(t.e->stats.routes_ignored, 2);
	cr_assert_eq(t.e->ledger.count, ledger - 1);
	cr_assert_null(fib_mem_fdb(t.fm, 100, r.mac));
	t_fini(&t);
}

/* RFC 7432 §15.2: a MAC another PE advertises as static never moves. */
Test(mobility, static_mac_never_moves)
{
	struct t t;
	struct evpn_route s = mac_rt(0, 100, 5, false, 0, false);
	const struct fib_fdb *f;
	unsigned adv;

	t_init(&t, leaf3_yaml);
	s.sticky = true;
	in(&t, s);
	adv = t.adv;
	cr_assert_eq(evpn_mac_learn(t.e, 100, s.mac, 33), 0);
	f = fib_mem_fdb(t.fm, 100, s.mac);
	cr_assert_eq(f->kind, FIB_FDB_VTEP, "local learn does not take a static MAC");
	cr_assert_eq(f->vtep, sim_ip(0));
	cr_assert(f->flags & FIB_FDB_F_STATIC);
	cr_assert_eq(t.adv, adv, "no type-2 of ours");
	cr_assert_eq(t.e->stats.sticky_conflicts, 1);

	/* a higher sequence from another PE does not beat the static path */
	in(&t, mac_rt(1, 100, 5, false, 9, false));
	cr_assert_eq(fib_mem_fdb(t.fm, 100, s.mac)->vtep, sim_ip(0));

	/* a local MAC (seq 1 after a move) yields to a static seq-0 path */
	struct evpn_route m = mac_rt(1, 100, 6, false, 0, false);

	in(&t, m);
	cr_assert_eq(evpn_mac_learn(t.e, 100, m.mac, 33), 0);
	cr_assert_eq(fib_mem_fdb(t.fm, 100, m.mac)->kind, FIB_FDB_LOCAL);
	m = mac_rt(0, 100, 6, false, 0, false);
	m.sticky = true;
	in(&t, m);
	f = fib_mem_fdb(t.fm, 100, m.mac);
	cr_assert_eq(f->kind, FIB_FDB_VTEP);
	cr_assert_eq(f->vtep, sim_ip(0));
	cr_assert(t.last.withdraw, "our type-2 withdrawn");
	t_fini(&t);
}

/* The same PE re-announcing a MAC (a watch resync, an attribute change) is
 * not a delete and re-add in the dataplane. */
Test(ledger, same_pe_type2_reannouncement_updates_in_place)
{
	struct t t;
	struct evpn_route m = mac_rt(0, 100, 1, false, 0, false);
	struct fib_mem_counts before;

	t_init(&t, leaf3_yaml);
	in(&t, ad_es(0, false));
	in(&t, ad_evi(0, 100, false));
	in(&t, m);
	before = *fib_mem_counts(t.fm);
	in(&t, m);
	cr_assert_eq(fib_mem_counts(t.fm)->fdb_set, before.fdb_set, "unchanged: no write");
	cr_assert_eq(fib_mem_counts(t.fm)->fdb_del, before.fdb_del, "unchanged: no delete");
	m = mac_rt(0, 100, 1, true, 0, false);	/* now with the ESI */
	in(&t, m);
	cr_assert_eq(fib_mem_counts(t.fm)->fdb_set, before.fdb_set + 1, "one write");
	cr_assert_eq(fib_mem_counts(t.fm)->fdb_del, before.fdb_del, "never a delete");
	cr_assert_eq(fib_mem_fdb(t.fm, 100, m.mac)->kind, FIB_FDB_ES);
	t_fini(&t);
}
