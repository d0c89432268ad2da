// SPDX-License-Identifier: GPL-2.0
/* struct fib over the BPF dataplane (see fib_dp.h). */
#include "fib_dp.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dp/dp.h"
#include "evpn.h"
#include "hash.h"
#include "log.h"

#define ESI_MAP_NAME "xevpn_ctl_esi"

/* Value of <root>/xevpn_ctl_esi. */
struct ctl_esi_val {
	uint8_t esi[ESI_LEN];
	uint8_t pad[6];
};

struct flood_cache {
	uint32_t vni;
	unsigned n;
	uint32_t vteps[XEVPN_MAX_FLOOD_VTEPS];
};

struct age_probe {
	struct hnode hn;
	struct xevpn_fdb_key k;
	uint64_t ms;
};

struct fib_dp {
	struct xevpn_dp *dp;
	const struct xcfg *cfg;
	int esi_fd;
	char esi_path[XCFG_PATH_MAX + 32];
	/* ES ids found pinned at start: hint table and busy set */
	struct { esi_t esi; uint32_t id; } *adopt;
	unsigned n_adopt;
	uint8_t busy[XEVPN_CTL_MAX_ES + 1];
	uint32_t es_ifindex[XEVPN_CTL_MAX_ES + 1];	/* local ES member port */
	struct flood_cache *flood;
	unsigned n_flood, cap_flood;
	struct htab probes;
	struct { uint32_t ip; uint64_t ms; } primed[64];	/* recently primed VTEPs */
	unsigned n_primed;
	struct fib_dp_counts c;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int map_fd(struct fib_dp *f, const char *name)
{
	return xevpn_dp_map_fd(f->dp, name);
}

/* BUM copies are cloned straight to the wire and cannot wait for ARP: make
 * the kernel resolve a VTEP's underlay neighbour as soon as we point at it. */
#define PRIME_AGAIN_MS (5 * 60 * 1000)
static void vtep_prime(struct fib_dp *f, uint32_t ip)
{
	uint64_t now = mono_ms();
	unsigned i, oldest = 0;

	for (i = 0; i < f->n_primed; i++) {
		if (f->primed[i].ip == ip) {
			if (now - f->primed[i].ms < PRIME_AGAIN_MS)
				return;
			break;
		}
		if (f->primed[i].ms < f->primed[oldest].ms)
			oldest = i;
	}
	if (i == f->n_primed)
		i = f->n_primed < 64 ? f->n_primed++ : oldest;
	f->primed[i].ip = ip;
	f->primed[i].ms = now;
	xevpn_dp_neigh_prime(htonl(ip));
}

/* ---- configuration lookups ---- */

static const char *ifname_of(uint32_t ifindex, char buf[IF_NAMESIZE])
{
	return ifindex && if_indextoname(ifindex, buf) ? buf : NULL;
}

/* VLAN tag of port ifindex in BD vni, from the configuration (0 = untagged). */
static uint16_t port_vlan(struct fib_dp *f, uint32_t vni, uint32_t ifindex)
{
	const struct xcfg_bd *bd = xcfg_bd_by_vni(f->cfg, vni);
	char name[IF_NAMESIZE];

	if (!bd || !ifname_of(ifindex, name))
		return 0;
	for (unsigned i = 0; i < bd->n_ports; i++)
		if (!strcmp(bd->ports[i].ifname, name))
			return bd->ports[i].vlan;
	return 0;
}

/* ---- FDB ---- */

static void fdb_key(struct xevpn_fdb_key *k, uint32_t vni, const uint8_t mac[6])
{
	memset(k, 0, sizeof(*k));
	k->vni = vni;
	memcpy(k->mac, mac, 6);
}

static int probe_eq(const struct hnode *n, const void *key)
{
	return !memcmp(&container_of(n, struct age_probe, hn)->k, key, sizeof(struct xevpn_fdb_key));
}

static struct age_probe *probe_find(struct fib_dp *f, const struct xevpn_fdb_key *k)
{
	struct hnode *n = htab_find(&f->probes, hash_bytes(k, sizeof(*k)), k, probe_eq);

	return n ? container_of(n, struct age_probe, hn) : NULL;
}

static void probe_drop(struct fib_dp *f, const struct xevpn_fdb_key *k)
{
	struct age_probe *p = f->probes.count ? probe_find(f, k) : NULL;

	if (p) {
		htab_remove(&f->probes, &p->hn);
		free(p);
	}
}

static void fdb_entry(struct fib_dp *f, uint32_t vni, const struct fib_fdb *v,
		      struct xevpn_fdb_entry *x)
{
	memset(x, 0, sizeof(*x));
	switch (v->kind) {
	case FIB_FDB_LOCAL:
		if (v->es_id) {
			/* a MAC on a local ES points at the ES: its state picks the
			 * local port or the backup path */
			x->type = XEVPN_FDB_ES;
			x->es_id = v->es_id;
			x->vlan = port_vlan(f, vni, v->es_id <= XEVPN_CTL_MAX_ES ?
							    f->es_ifindex[v->es_id] : 0);
		} else {
			x->type = XEVPN_FDB_LOCAL;
			x->ifindex = v->ifindex;
			x->vlan = port_vlan(f, vni, v->ifindex);
		}
		break;
	case FIB_FDB_VTEP:
		x->type = XEVPN_FDB_VTEP;
		x->vtep = htonl(v->vtep);
		break;
	case FIB_FDB_ES:
		x->type = XEVPN_FDB_ES;
		x->es_id = v->es_id;
		break;
	}
	if (v->flags & FIB_FDB_F_LEARNED)
		x->flags |= XEVPN_FDB_F_LEARNED;
	if (v->flags & FIB_FDB_F_STATIC)
		x->flags |= XEVPN_FDB_F_STATIC;
}

static int op_fdb_set(void *ctx, uint32_t vni, const uint8_t mac[MAC_LEN], const struct fib_fdb *v)
{
	struct fib_dp *f = ctx;
	struct xevpn_fdb_entry x, cur;
	struct xevpn_fdb_key k;
	int rc;

	fdb_entry(f, vni, v, &x);
	fdb_key(&k, vni, mac);
	if (v->kind == FIB_FDB_VTEP)
		vtep_prime(f, v->vtep);
	probe_drop(f, &k);
	if (!xevpn_dp_fdb_get(f->dp, vni, mac, &cur) && !memcmp(&cur, &x, sizeof(x))) {
		f->c.skipped++;
		return 0;
	}
	rc = xevpn_dp_fdb_set(f->dp, vni, mac, &x);
	if (rc)
		f->c.errors++;
	else
		f->c.fdb_set++;
	return rc;
}

static int op_fdb_del(void *ctx, uint32_t vni, const uint8_t mac[MAC_LEN])
{
	struct fib_dp *f = ctx;
	struct xevpn_fdb_key k;
	int rc;

	fdb_key(&k, vni, mac);
	probe_drop(f, &k);
	rc = xevpn_dp_fdb_del(f->dp, vni, mac);
	if (rc == -ENOENT) {
		f->c.skipped++;
		return 0;
	}
	if (rc)
		f->c.errors++;
	else
		f->c.fdb_del++;
	return rc;
}

/*
 * Aging. The dataplane reports a MAC only when it is new or moved; when it
 * last saw a source MAC comes from its per-CPU seen cache
 * (xevpn_dp_fdb_last_seen(), refreshed while frames arrive, no per-packet
 * write). A record within the aging time answers: the MAC is active and
 * nothing is touched. No record, or only an old one, proves nothing (the
 * cache is direct-mapped per CPU: a colliding MAC may hold the slot of the
 * CPU the host now sends on), so such a MAC is probed: its learned entry is
 * deleted, and if the host is still sending, the next frame re-learns it (a
 * learn event refreshes the model). Until then frames to it are flooded.
 * The probe returns a time that keeps the MAC one more aging round (a
 * quarter of the aging time); a probed MAC not re-learned ages.
 */
static int op_fdb_last_seen(void *ctx, uint32_t vni, const uint8_t mac[MAC_LEN], uint64_t *ms)
{
	struct fib_dp *f = ctx;
	uint64_t now = mono_ms(), aging = f->cfg->mac_aging_ms;
	struct xevpn_fdb_entry cur;
	__u64 seen_ns;
	struct xevpn_fdb_key k;
	struct age_probe *p;
	bool present;

	if (!aging || now < aging)
		return -ENOENT;
	fdb_key(&k, vni, mac);
	if (!xevpn_dp_fdb_last_seen(f->dp, vni, mac, &seen_ns, NULL) &&
	    seen_ns / 1000000 + aging > now) {
		probe_drop(f, &k);
		*ms = seen_ns / 1000000;
		return 0;
	}
	present = !xevpn_dp_fdb_get(f->dp, vni, mac, &cur);
	p = probe_find(f, &k);
	if (p && !present && now - p->ms < aging)
		return -ENOENT;	/* probed and silent since: let it age */
	if (present && !(cur.flags & XEVPN_FDB_F_LEARNED))
		return -ENOENT;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->k = k;
		if (htab_insert(&f->probes, &p->hn, hash_bytes(&k, sizeof(k)))) {
			free(p);
			return -ENOMEM;
		}
	}
	p->ms = now;
	if (present && !xevpn_dp_fdb_del(f->dp, vni, mac))
		f->c.age_probes++;
	*ms = now - aging + aging / 4 + 1;
	return 0;
}

/* ---- ES ---- */

static void esi_remember(struct fib_dp *f, uint32_t es_id, const esi_t *esi)
{
	struct ctl_esi_val v = { 0 }, cur;

	if (f->esi_fd < 0)
		return;
	memcpy(v.esi, esi->b, ESI_LEN);
	if (!bpf_map_lookup_elem(f->esi_fd, &es_id, &cur) && !memcmp(&cur, &v, sizeof(v)))
		return;
	if (bpf_map_update_elem(f->esi_fd, &es_id, &v, BPF_ANY))
		log_msg(LOG_WARNING, "fib: %s: es %u: %s", f->esi_path, es_id, strerror(errno));
}

static int op_es_state_set(void *ctx, uint32_t es_id, const struct fib_es *es)
{
	struct fib_dp *f = ctx;
	struct xevpn_es x = { 0 }, cur;
	int rc;

	esi_remember(f, es_id, &es->esi);
	if (es->flags & FIB_ES_LOCAL) {
		x.flags = XEVPN_ES_F_LOCAL;
		x.ifindex = es->ifindex;
		if (!(es->flags & FIB_ES_FWD)) {
			if (es->flags & FIB_ES_HOLD)
				x.flags |= XEVPN_ES_F_HOLD;
			else
				x.flags |= XEVPN_ES_F_LINK_DOWN;
		}
	}
	if (es_id <= XEVPN_CTL_MAX_ES)
		f->es_ifindex[es_id] = x.ifindex;
	if (!xevpn_dp_es_get(f->dp, es_id, &cur) && !memcmp(&cur, &x, sizeof(x))) {
		f->c.skipped++;
		return 0;
	}
	rc = xevpn_dp_es_set(f->dp, es_id, &x);
	if (rc)
		f->c.errors++;
	else
		f->c.es_set++;
	return rc;
}

/* Visit the (es_id, vtep) pairs of the ES peer set. */
static int peers_of(struct fib_dp *f, uint32_t es_id, uint32_t *out, unsigned max)
{
	int fd = map_fd(f, "xevpn_es_peer");
	struct xevpn_es_peer_key k, next;
	void *prev = NULL;
	unsigned n = 0;

	if (fd < 0)
		return fd;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (k.es_id == es_id && n < max)
			out[n++] = k.vtep;
	}
	return (int)n;
}

static bool in_set(const uint32_t *v, unsigned n, uint32_t x)
{
	for (unsigned i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static int op_es_group_set(void *ctx, uint32_t es_id, const uint32_t *vteps, unsigned n)
{
	struct fib_dp *f = ctx;
	__be32 be[XEVPN_MAX_ES_VTEPS];
	uint32_t peers[XEVPN_CTL_MAX_ES_VTEPS * 2];
	struct xevpn_nh_group cur;
	bool local = es_id <= XEVPN_CTL_MAX_ES && f->es_ifindex[es_id];
	int np = 0, rc = 0;

	if (n > XEVPN_MAX_ES_VTEPS) {
		log_msg(LOG_WARNING, "fib: es %u: %u VTEPs, the dataplane holds %d", es_id, n,
			XEVPN_MAX_ES_VTEPS);
		n = XEVPN_MAX_ES_VTEPS;
	}
	for (unsigned i = 0; i < n; i++) {
		be[i] = htonl(vteps[i]);
		vtep_prime(f, vteps[i]);
	}
	/* split horizon set of a local ES: grow it before the group, shrink after */
	if (local) {
		np = peers_of(f, es_id, peers, XEVPN_CTL_MAX_ES_VTEPS * 2);
		for (unsigned i = 0; np >= 0 && i < n; i++)
			if (!in_set(peers, (unsigned)np, be[i])) {
				if (xevpn_dp_es_peer_add(f->dp, es_id, be[i]))
					f->c.errors++;
				else
					f->c.es_peer++;
			}
	}
	if (!xevpn_dp_es_nh_get(f->dp, es_id, &cur) && cur.count == n &&
	    !memcmp(cur.vtep, be, n * sizeof(be[0]))) {
		f->c.skipped++;
	} else {
		rc = xevpn_dp_es_nh_set(f->dp, es_id, be, n);
		if (rc)
			f->c.errors++;
		else
			f->c.es_nh_set++;
	}
	for (int i = 0; i < np; i++)
		if (!in_set(be, n, peers[i])) {
			if (xevpn_dp_es_peer_del(f->dp, es_id, peers[i]))
				f->c.errors++;
			else
				f->c.es_peer++;
		}
	return rc;
}

static void es_bd_del_all(struct fib_dp *f, uint32_t es_id)
{
	int fd = map_fd(f, "xevpn_es_bd");
	struct xevpn_es_bd_key k, next;
	bool have;

	if (fd < 0 || bpf_map_get_next_key(fd, NULL, &next))
		return;
	do {
		k = next;
		have = !bpf_map_get_next_key(fd, &k, &next);
		if (k.es_id == es_id)
			bpf_map_delete_elem(fd, &k);
	} while (have);
}

static int op_es_del(void *ctx, uint32_t es_id)
{
	struct fib_dp *f = ctx;
	uint32_t peers[XEVPN_CTL_MAX_ES_VTEPS * 2];
	int np = peers_of(f, es_id, peers, XEVPN_CTL_MAX_ES_VTEPS * 2);

	/* the group first: FDB entries still pointing here drop, never loop */
	xevpn_dp_es_nh_del(f->dp, es_id);
	xevpn_dp_es_del(f->dp, es_id);
	for (int i = 0; i < np; i++)
		xevpn_dp_es_peer_del(f->dp, es_id, peers[i]);
	es_bd_del_all(f, es_id);
	if (f->esi_fd >= 0)
		bpf_map_delete_elem(f->esi_fd, &es_id);
	if (es_id <= XEVPN_CTL_MAX_ES) {
		f->es_ifindex[es_id] = 0;
		f->busy[es_id] = 0;
	}
	f->c.es_del++;
	return 0;
}

static int op_df_set(void *ctx, uint32_t es_id, uint32_t vni, bool is_df)
{
	struct fib_dp *f = ctx;
	int cur = fib_dp_df_get(f, es_id, vni), rc;

	if (cur >= 0 && cur == is_df) {
		f->c.skipped++;
		return 0;
	}
	rc = xevpn_dp_es_df_set(f->dp, es_id, vni, is_df);
	if (rc)
		f->c.errors++;
	else
		f->c.df_set++;
	return rc;
}

int fib_dp_df_get(struct fib_dp *f, uint32_t es_id, uint32_t vni)
{
	struct xevpn_es_bd_key k = { .es_id = es_id, .vni = vni };
	struct xevpn_es_bd v;
	int fd = map_fd(f, "xevpn_es_bd");

	if (fd < 0 || bpf_map_lookup_elem(fd, &k, &v))
		return -ENOENT;
	return !!(v.flags & XEVPN_ES_BD_F_DF);
}

bool fib_dp_es_forwarding(struct fib_dp *f, uint32_t es_id)
{
	struct xevpn_es x;

	return !xevpn_dp_es_get(f->dp, es_id, &x) && (x.flags & XEVPN_ES_F_LOCAL) &&
	       !(x.flags & (XEVPN_ES_F_HOLD | XEVPN_ES_F_LINK_DOWN));
}

/* ---- flood lists ---- */

static struct flood_cache *flood_cache(struct fib_dp *f, uint32_t vni, bool create)
{
	for (unsigned i = 0; i < f->n_flood; i++)
		if (f->flood[i].vni == vni)
			return &f->flood[i];
	if (!create)
		return NULL;
	if (f->n_flood == f->cap_flood) {
		unsigned cap = f->cap_flood ? f->cap_flood * 2 : 16;
		struct flood_cache *n = realloc(f->flood, cap * sizeof(*n));

		if (!n)
			return NULL;
		f->flood = n;
		f->cap_flood = cap;
	}
	memset(&f->flood[f->n_flood], 0, sizeof(f->flood[0]));
	f->flood[f->n_flood].vni = vni;
	return &f->flood[f->n_flood++];
}

static int flood_write(struct fib_dp *f, const struct flood_cache *fc)
{
	const struct xcfg_bd *bd = xcfg_bd_by_vni(f->cfg, fc->vni);
	struct xevpn_flood x, cur;
	int fd = map_fd(f, "xevpn_flood"), rc;

	if (!bd) {
		/* BD gone from the configuration */
		if (fd >= 0 && !bpf_map_delete_elem(fd, &fc->vni))
			f->c.flood_set++;
		return 0;
	}
	memset(&x, 0, sizeof(x));
	for (unsigned i = 0; i < fc->n && x.n_vteps < XEVPN_MAX_FLOOD_VTEPS; i++)
		x.vtep[x.n_vteps++] = htonl(fc->vteps[i]);
	for (unsigned i = 0; i <= bd->n_ports && x.n_ports < XEVPN_MAX_FLOOD_PORTS; i++) {
		const char *name = i < bd->n_ports ? bd->ports[i].ifname : bd->bvi;
		uint32_t ifindex = name[0] ? if_nametoindex(name) : 0;

		if (!ifindex)
			continue;
		x.port[x.n_ports].ifindex = ifindex;
		x.port[x.n_ports].vlan = i < bd->n_ports ? bd->ports[i].vlan : 0;
		x.n_ports++;
	}
	if (fd >= 0 && !bpf_map_lookup_elem(fd, &fc->vni, &cur) && !memcmp(&cur, &x, sizeof(x))) {
		f->c.skipped++;
		return 0;
	}
	rc = xevpn_dp_flood_set(f->dp, fc->vni, &x);
	if (rc)
		f->c.errors++;
	else
		f->c.flood_set++;
	return rc;
}

static int op_flood_set(void *ctx, uint32_t vni, const uint32_t *vteps, unsigned n)
{
	struct fib_dp *f = ctx;
	struct flood_cache *fc = flood_cache(f, vni, true);

	if (!fc)
		return -ENOMEM;
	if (n > XEVPN_MAX_FLOOD_VTEPS) {
		log_msg(LOG_WARNING, "fib: vni %u: %u flood VTEPs, the dataplane holds %d", vni, n,
			XEVPN_MAX_FLOOD_VTEPS);
		n = XEVPN_MAX_FLOOD_VTEPS;
	}
	fc->n = n;
	if (n)
		memcpy(fc->vteps, vteps, n * sizeof(vteps[0]));
	for (unsigned i = 0; i < n; i++)
		vtep_prime(f, vteps[i]);
	return flood_write(f, fc);
}

/* ---- ES id adoption ---- */

static uint32_t op_es_id_hint(void *ctx, const esi_t *esi)
{
	struct fib_dp *f = ctx;

	for (unsigned i = 0; i < f->n_adopt; i++)
		if (!esi_cmp(&f->adopt[i].esi, esi))
			return f->adopt[i].id;
	/* a local ES without a record: recognised by its port */
	for (unsigned i = 0; i < f->cfg->n_es; i++) {
		const struct xcfg_es *c = &f->cfg->es[i];
		uint32_t ifindex = if_nametoindex(c->port);
		int fd = map_fd(f, "xevpn_es");
		uint32_t k, next, *prev = NULL;
		struct xevpn_es x;

		if (esi_cmp(&c->esi, esi) || !ifindex || fd < 0)
			continue;
		while (!bpf_map_get_next_key(fd, prev, &next)) {
			k = next;
			prev = &k;
			if (!bpf_map_lookup_elem(fd, &k, &x) && (x.flags & XEVPN_ES_F_LOCAL) &&
			    x.ifindex == ifindex)
				return k;
		}
	}
	return 0;
}

static bool op_es_id_busy(void *ctx, uint32_t es_id)
{
	struct fib_dp *f = ctx;

	return es_id <= XEVPN_CTL_MAX_ES && f->busy[es_id];
}

static const struct fib_ops fib_dp_ops = {
	.fdb_set = op_fdb_set,
	.fdb_del = op_fdb_del,
	.es_group_set = op_es_group_set,
	.es_state_set = op_es_state_set,
	.es_del = op_es_del,
	.flood_set = op_flood_set,
	.df_set = op_df_set,
	.fdb_last_seen = op_fdb_last_seen,
	.es_id_hint = op_es_id_hint,
	.es_id_busy = op_es_id_busy,
};

static void load_pinned_ids(struct fib_dp *f)
{
	int fd = map_fd(f, "xevpn_es");
	uint32_t k, next, *prev = NULL;
	struct ctl_esi_val v;
	struct xevpn_es x;

	if (fd >= 0)
		while (!bpf_map_get_next_key(fd, prev, &next)) {
			k = next;
			prev = &k;
			if (k <= XEVPN_CTL_MAX_ES)
				f->busy[k] = 1;
			if (k <= XEVPN_CTL_MAX_ES && !bpf_map_lookup_elem(fd, &k, &x) &&
			    (x.flags & XEVPN_ES_F_LOCAL))
				f->es_ifindex[k] = x.ifindex;
		}
	if (f->esi_fd < 0)
		return;
	prev = NULL;
	while (!bpf_map_get_next_key(f->esi_fd, prev, &next)) {
		void *n;

		k = next;
		prev = &k;
		if (k > XEVPN_CTL_MAX_ES || bpf_map_lookup_elem(f->esi_fd, &k, &v))
			continue;
		n = realloc(f->adopt, (f->n_adopt + 1) * sizeof(*f->adopt));
		if (!n)
			return;
		f->adopt = n;
		memcpy(f->adopt[f->n_adopt].esi.b, v.esi, ESI_LEN);
		f->adopt[f->n_adopt].id = k;
		f->n_adopt++;
		f->busy[k] = 1;
	}
}

int fib_dp_new(struct xevpn_dp *dp, const struct xcfg *cfg, struct fib_dp **out)
{
	struct fib_dp *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return -ENOMEM;
	f->dp = dp;
	f->cfg = cfg;
	f->esi_fd = -1;
	snprintf(f->esi_path, sizeof(f->esi_path), "%s/%s", xevpn_dp_pin_root(dp), ESI_MAP_NAME);
	f->esi_fd = bpf_obj_get(f->esi_path);
	if (f->esi_fd < 0) {
		f->esi_fd = bpf_map_create(BPF_MAP_TYPE_HASH, ESI_MAP_NAME, sizeof(uint32_t),
					   sizeof(struct ctl_esi_val), XEVPN_CTL_MAX_ES, NULL);
		if (f->esi_fd >= 0 && bpf_obj_pin(f->esi_fd, f->esi_path))
			log_msg(LOG_WARNING, "fib: cannot pin %s: %s (ES ids will not survive a restart)",
				f->esi_path, strerror(errno));
	}
	load_pinned_ids(f);
	*out = f;
	return 0;
}

void fib_dp_free(struct fib_dp *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->probes.nbuckets; i++)
		for (struct hnode *n = f->probes.b[i], *next; n; n = next) {
			next = n->next;
			free(container_of(n, struct age_probe, hn));
		}
	htab_free(&f->probes);
	if (f->esi_fd >= 0)
		close(f->esi_fd);
	free(f->adopt);
	free(f->flood);
	free(f);
}

void fib_dp_unpin(struct fib_dp *f)
{
	unlink(f->esi_path);
}

struct fib fib_dp_fib(struct fib_dp *f)
{
	return (struct fib){ .ops = &fib_dp_ops, .ctx = f };
}

void fib_dp_set_config(struct fib_dp *f, const struct xcfg *cfg)
{
	f->cfg = cfg;
}

const struct fib_dp_counts *fib_dp_counts(const struct fib_dp *f)
{
	return &f->c;
}

/* ---- ports ---- */

static int port_write(struct fib_dp *f, uint32_t ifindex, const struct xevpn_port *p)
{
	int fd = map_fd(f, "xevpn_port"), rc;
	struct xevpn_port cur;

	if (fd >= 0 && !bpf_map_lookup_elem(fd, &ifindex, &cur) && !memcmp(&cur, p, sizeof(cur))) {
		f->c.skipped++;
		return 0;
	}
	rc = xevpn_dp_port_set(f->dp, ifindex, p);
	if (rc)
		f->c.errors++;
	else
		f->c.port_set++;
	return rc;
}

static void vlan_write(struct fib_dp *f, uint32_t ifindex, uint16_t vlan, uint32_t vni)
{
	struct xevpn_port_vlan_key k = { .ifindex = ifindex, .vlan = vlan };
	int fd = map_fd(f, "xevpn_port_vlan");
	uint32_t cur;

	if (fd >= 0 && !bpf_map_lookup_elem(fd, &k, &cur) && cur == vni) {
		f->c.skipped++;
		return;
	}
	if (xevpn_dp_port_vlan_set(f->dp, ifindex, vlan, vni))
		f->c.errors++;
	else
		f->c.port_set++;
}

int fib_dp_ports_sync(struct fib_dp *f, uint32_t (*es_id_of)(void *ctx, const char *ifname),
		      void *ctx)
{
	const struct xcfg *cfg = f->cfg;
	struct xevpn_config xc = { 0 }, cur_cfg;
	int fd = map_fd(f, "xevpn_config"), missing = 0;
	uint32_t zero = 0;

	xc.vtep_ip = htonl(cfg->vtep);
	xc.underlay_ifindex = cfg->n_uplinks ? if_nametoindex(cfg->uplinks[0]) : 0;
	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &cur_cfg) || memcmp(&cur_cfg, &xc, sizeof(xc))) {
		if (xevpn_dp_config_set(f->dp, &xc))
			f->c.errors++;
	}
	fd = map_fd(f, "xevpn_bd");
	for (unsigned i = 0; i < cfg->n_bds; i++) {
		struct xevpn_bd b = { .flags = XEVPN_BD_F_LEARN }, cur;

		if (fd >= 0 && !bpf_map_lookup_elem(fd, &cfg->bds[i].vni, &cur) && !memcmp(&cur, &b, sizeof(b)))
			continue;
		if (xevpn_dp_bd_set(f->dp, cfg->bds[i].vni, &b))
			f->c.errors++;
	}
	/* access ports: one entry per interface, untagged BD + VLANs */
	for (unsigned i = 0; i < cfg->n_bds; i++)
		for (unsigned k = 0; k < cfg->bds[i].n_ports; k++) {
			const struct xcfg_port *p = &cfg->bds[i].ports[k];
			uint32_t ifindex = if_nametoindex(p->ifname);
			struct xevpn_port xp = { .role = XEVPN_PORT_ACCESS };
			bool first = true;

			if (!ifindex) {
				missing++;
				continue;
			}
			/* handle each interface once, at its first mention */
			for (unsigned a = 0; a <= i && first; a++)
				for (unsigned b = 0; b < (a == i ? k : cfg->bds[a].n_ports); b++)
					if (!strcmp(cfg->bds[a].ports[b].ifname, p->ifname))
						first = false;
			if (!first)
				continue;
			xp.es_id = es_id_of ? es_id_of(ctx, p->ifname) : 0;
			for (unsigned a = 0; a < cfg->n_bds; a++)
				for (unsigned b = 0; b < cfg->bds[a].n_ports; b++) {
					const struct xcfg_port *q = &cfg->bds[a].ports[b];

					if (strcmp(q->ifname, p->ifname))
						continue;
					if (!q->vlan)
						xp.vni = cfg->bds[a].vni;
					else
						vlan_write(f, ifindex, q->vlan, cfg->bds[a].vni);
				}
			port_write(f, ifindex, &xp);
			if (xevpn_dp_attach(f->dp, ifindex, XEVPN_PORT_ACCESS))
				f->c.errors++;
		}
	for (unsigned i = 0; i < cfg->n_bds; i++) {
		uint32_t ifindex = cfg->bds[i].bvi[0] ? if_nametoindex(cfg->bds[i].bvi) : 0;
		struct xevpn_port xp = { .role = XEVPN_PORT_BVI, .vni = cfg->bds[i].vni };

		if (ifindex)
			port_write(f, ifindex, &xp);
		else if (cfg->bds[i].bvi[0])
			missing++;
	}
	for (unsigned i = 0; i < cfg->n_uplinks; i++) {
		uint32_t ifindex = if_nametoindex(cfg->uplinks[i]);
		struct xevpn_port xp = { .role = XEVPN_PORT_UPLINK };

		if (!ifindex) {
			missing++;
			continue;
		}
		port_write(f, ifindex, &xp);
		if (xevpn_dp_attach(f->dp, ifindex, XEVPN_PORT_UPLINK))
			f->c.errors++;
		/* A leaf routes on its underlay: bpf_fib_lookup() toward a remote
		 * VTEP answers FWD_DISABLED unless the uplink forwards IPv4.
		 * Written (and logged) only when it is off, in our namespace. */
		char sysctl[96], cur[4] = "";
		FILE *sf;

		snprintf(sysctl, sizeof(sysctl), "/proc/sys/net/ipv4/conf/%s/forwarding",
			 cfg->uplinks[i]);
		sf = fopen(sysctl, "r");
		if (sf && !fgets(cur, sizeof(cur), sf))
			cur[0] = '\0';
		if (sf)
			fclose(sf);
		if (cur[0] != '1') {
			int werr = 0;

			sf = fopen(sysctl, "w");
			if (!sf) {
				werr = errno;
			} else {
				if (fputs("1\n", sf) < 0)
					werr = errno ? errno : EIO;
				if (fclose(sf) && !werr)
					werr = errno ? errno : EIO;
			}
			if (werr) {
				log_msg(LOG_WARNING, "uplink %s: cannot enable IPv4 forwarding (%s): "
					"VXLAN toward remote VTEPs will not be forwarded",
					cfg->uplinks[i], strerror(werr));
				f->c.errors++;
			} else {
				log_msg(LOG_INFO, "uplink %s: IPv4 forwarding enabled "
					"(net.ipv4.conf.%s.forwarding=1)", cfg->uplinks[i],
					cfg->uplinks[i]);
			}
		}
	}
	/* local ports of flood lists follow ifindex changes */
	for (unsigned i = 0; i < f->n_flood; i++)
		flood_write(f, &f->flood[i]);
	return missing;
}

/* ---- restart adoption and reconciliation ---- */

struct learned_ctx {
	struct fib_dp *f;
	void (*cb)(void *ctx, uint32_t vni, const uint8_t mac[6], uint32_t ifindex);
	void *ctx;
};

static int learned_one(void *ctx, const struct xevpn_fdb_key *k, const struct xevpn_fdb_entry *e)
{
	struct learned_ctx *l = ctx;
	uint32_t ifindex = 0;

	if (!(e->flags & XEVPN_FDB_F_LEARNED))
		return 0;
	if (e->type == XEVPN_FDB_LOCAL)
		ifindex = e->ifindex;
	else if (e->type == XEVPN_FDB_ES && e->es_id <= XEVPN_CTL_MAX_ES)
		ifindex = l->f->es_ifindex[e->es_id];
	if (ifindex)
		l->cb(l->ctx, k->vni, k->mac, ifindex);
	return 0;
}

int fib_dp_learned_walk(struct fib_dp *f,
			void (*cb)(void *ctx, uint32_t vni, const uint8_t mac[6], uint32_t ifindex),
			void *ctx)
{
	struct learned_ctx l = { f, cb, ctx };

	return xevpn_dp_fdb_walk(f->dp, learned_one, &l);
}

int fib_dp_reconcile(struct fib_dp *f, const struct fib_dp_keep *keep)
{
	int fd = map_fd(f, "xevpn_fdb"), n = 0;
	struct xevpn_fdb_key k, next;
	uint32_t id, nid;
	bool have;

	/* FDB: fetch the successor before deleting, so the walk never restarts */
	if (fd >= 0 && keep->mac && !bpf_map_get_next_key(fd, NULL, &next)) {
		do {
			k = next;
			have = !bpf_map_get_next_key(fd, &k, &next);
			if (!keep->mac(keep->ctx, k.vni, k.mac) && !bpf_map_delete_elem(fd, &k)) {
				f->c.fdb_del++;
				n++;
			}
		} while (have);
	}
	fd = map_fd(f, "xevpn_es");
	if (fd >= 0 && keep->es && !bpf_map_get_next_key(fd, NULL, &nid)) {
		do {
			id = nid;
			have = !bpf_map_get_next_key(fd, &id, &nid);
			if (!keep->es(keep->ctx, id)) {
				op_es_del(f, id);
				n++;
			}
		} while (have);
	}
	fd = map_fd(f, "xevpn_es_bd");
	if (fd >= 0 && keep->es_vni) {
		struct xevpn_es_bd_key bk, bnext;

		if (!bpf_map_get_next_key(fd, NULL, &bnext))
			do {
				bk = bnext;
				have = !bpf_map_get_next_key(fd, &bk, &bnext);
				if (!keep->es_vni(keep->ctx, bk.es_id, bk.vni) && !bpf_map_delete_elem(fd, &bk)) {
					f->c.df_set++;
					n++;
				}
			} while (have);
	}
	fd = map_fd(f, "xevpn_flood");
	if (fd >= 0 && !bpf_map_get_next_key(fd, NULL, &nid)) {
		do {
			id = nid;
			have = !bpf_map_get_next_key(fd, &id, &nid);
			if (!xcfg_bd_by_vni(f->cfg, id) && !bpf_map_delete_elem(fd, &id)) {
				f->c.flood_set++;
				n++;
			}
		} while (have);
	}
	if (n)
		log_msg(LOG_INFO, "fib: reconcile removed %d stale entries", n);
	return n;
}
