// SPDX-License-Identifier: GPL-2.0
/* EVPN multi-homing model: objects, NLRI ledger, route consumption and
 * origination, link events, MAC learning and mobility, timers. */
#include "evpn.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

/* ------------------------------------------------------------------ */
/* outbound helpers                                                     */

static void out_route(struct evpn *e, const struct evpn_route *r)
{
	int rc;

	if (!e->out.ops)
		return;
	rc = r->withdraw ? e->out.ops->withdraw(e->out.ctx, r) : e->out.ops->advertise(e->out.ctx, r);
	if (rc) {
		char buf[160];

		e->stats.route_errors++;
		evpn_route_fmt(r, buf, sizeof(buf));
		log_msg(LOG_WARNING, "bgp: cannot %s %s: %s", r->withdraw ? "withdraw" : "advertise", buf,
			strerror(-rc));
		return;
	}
	if (r->withdraw)
		e->stats.withdraws_out++;
	else
		e->stats.routes_out++;
}

static bool can_write(struct evpn *e)
{
	return e->started && e->fib.ops;
}

#define FIB_CALL(e, op, ...)                                                          \
	({                                                                            \
		int __rc = 0;                                                         \
		if (can_write(e) && (e)->fib.ops->op) {                               \
			__rc = (e)->fib.ops->op((e)->fib.ctx, __VA_ARGS__);           \
			if (__rc)                                                     \
				(e)->stats.fib_errors++;                              \
		} else {                                                              \
			__rc = -EAGAIN;                                               \
		}                                                                     \
		__rc;                                                                 \
	})

static void add_rts(struct evpn_route *r, const struct xcfg_rt *rts, unsigned n)
{
	for (unsigned i = 0; i < n && r->n_rts < EVPN_MAX_ROUTE_RTS; i++) {
		bool dup = false;

		for (unsigned k = 0; k < r->n_rts; k++)
			dup |= !memcmp(&r->rts[k], &rts[i], sizeof(rts[i]));
		if (!dup)
			r->rts[r->n_rts++] = rts[i];
	}
}

/* ------------------------------------------------------------------ */
/* VTEPs                                                                */

static int vtep_eq(const struct hnode *n, const void *key)
{
	return container_of(n, struct evpn_vtep, hn)->ip == *(const uint32_t *)key;
}

static struct evpn_vtep *vtep_find(struct evpn *e, uint32_t ip)
{
	struct hnode *n = htab_find(&e->vteps, hash_bytes(&ip, 4), &ip, vtep_eq);

	return n ? container_of(n, struct evpn_vtep, hn) : NULL;
}

static struct evpn_vtep *vtep_ref(struct evpn *e, uint32_t ip)
{
	struct evpn_vtep *v = vtep_find(e, ip);

	if (!v) {
		v = calloc(1, sizeof(*v));
		if (!v)
			return NULL;
		v->ip = ip;
		if (htab_insert(&e->vteps, &v->hn, hash_bytes(&ip, 4))) {
			free(v);
			return NULL;
		}
	}
	v->n_routes++;
	return v;
}

static void vtep_unref(struct evpn *e, uint32_t ip)
{
	struct evpn_vtep *v = vtep_find(e, ip);

	if (v && !--v->n_routes && !(v->flags & EVPN_VTEP_HB_DOWN)) {
		htab_remove(&e->vteps, &v->hn);
		free(v);
	}
}

static bool vtep_hb_down(struct evpn *e, uint32_t ip)
{
	struct evpn_vtep *v = vtep_find(e, ip);

	return v && (v->flags & EVPN_VTEP_HB_DOWN);
}

/* ------------------------------------------------------------------ */
/* bridge domains                                                       */

static int bd_eq(const struct hnode *n, const void *key)
{
	return container_of(n, struct evpn_bd, hn)->vni == *(const uint32_t *)key;
}

struct evpn_bd *evpn_bd_find(struct evpn *e, uint32_t vni)
{
	struct hnode *n = htab_find(&e->bds, hash_bytes(&vni, 4), &vni, bd_eq);

	return n ? container_of(n, struct evpn_bd, hn) : NULL;
}

static void bd_imet(struct evpn *e, struct evpn_bd *bd, bool withdraw)
{
	struct evpn_route r = {
		.type = EVPN_RT_IMET, .withdraw = withdraw, .etag = 0, .originator = e->self,
		.nexthop = e->self, .vni = bd->vni,
	};

	if (!e->started || withdraw == !(bd->flags & EVPN_BD_IMET_ADV))
		return;
	memcpy(r.rd, bd->rd, 8);
	add_rts(&r, bd->cfg.export, bd->cfg.n_export);
	out_route(e, &r);
	if (withdraw)
		bd->flags &= ~EVPN_BD_IMET_ADV;
	else
		bd->flags |= EVPN_BD_IMET_ADV;
}

static void bd_flood_sync(struct evpn *e, struct evpn_bd *bd)
{
	if (bd->flood_written || !can_write(e))
		return;
	if (!FIB_CALL(e, flood_set, bd->vni, bd->flood, bd->n_flood))
		bd->flood_written = true;
}

static void bd_flood_update(struct evpn *e, struct evpn_bd *bd, uint32_t ip, bool add)
{
	unsigned i = 0;

	while (i < bd->n_flood && bd->flood[i] < ip)
		i++;
	if (add) {
		if (i < bd->n_flood && bd->flood[i] == ip)
			return;
		if (bd->n_flood == XEVPN_CTL_MAX_FLOOD) {
			log_msg(LOG_WARNING, "bd %s: flood list full, vtep ignored", bd->name);
			return;
		}
		memmove(&bd->flood[i + 1], &bd->flood[i], (bd->n_flood - i) * sizeof(uint32_t));
		bd->flood[i] = ip;
		bd->n_flood++;
	} else {
		if (i == bd->n_flood || bd->flood[i] != ip)
			return;
		memmove(&bd->flood[i], &bd->flood[i + 1], (bd->n_flood - i - 1) * sizeof(uint32_t));
		bd->n_flood--;
	}
	bd->flood_written = false;
	bd_flood_sync(e, bd);
}

struct evpn_bd *evpn_bd_add(struct evpn *e, const struct xcfg_bd *cfg)
{
	struct evpn_bd *bd = evpn_bd_find(e, cfg->vni);

	if (!bd) {
		bd = calloc(1, sizeof(*bd));
		if (!bd)
			return NULL;
		bd->vni = cfg->vni;
		if (htab_insert(&e->bds, &bd->hn, hash_bytes(&bd->vni, 4))) {
			free(bd);
			return NULL;
		}
	}
	bd->cfg = *cfg;
	snprintf(bd->name, sizeof(bd->name), "%s", cfg->name);
	/* RD type 1 router-id:N; N = low 16 bits of the VNI (config rejects
	 * collisions and 0, which the ES-level routes use). */
	evpn_rd_make(bd->rd, e->cfg->router_id, (uint16_t)(cfg->vni & 0xffff));
	bd_imet(e, bd, false);
	bd_flood_sync(e, bd);
	return bd;
}

static void mac_flush_vni(struct evpn *e, uint32_t vni);

void evpn_bd_del(struct evpn *e, struct evpn_bd *bd)
{
	bd_imet(e, bd, true);
	mac_flush_vni(e, bd->vni);
	bd->n_flood = 0;
	FIB_CALL(e, flood_set, bd->vni, NULL, 0);
	htab_remove(&e->bds, &bd->hn);
	free(bd);
}

/* ------------------------------------------------------------------ */
/* Ethernet segments                                                    */

static int es_eq(const struct hnode *n, const void *key)
{
	return !esi_cmp(&container_of(n, struct evpn_es, hn)->esi, key);
}

struct evpn_es *evpn_es_find(struct evpn *e, const esi_t *esi)
{
	struct hnode *n = htab_find(&e->es, hash_bytes(esi, ESI_LEN), esi, es_eq);

	return n ? container_of(n, struct evpn_es, hn) : NULL;
}

struct evpn_es *evpn_es_new(struct evpn *e, const esi_t *esi)
{
	struct evpn_es *es = evpn_es_find(e, esi);
	uint32_t id;

	if (es)
		return es;
	/* keep the id the dataplane already uses for this ESI (restart), and
	 * never hand out an id the dataplane still holds for another one */
	id = e->fib.ops && e->fib.ops->es_id_hint ? e->fib.ops->es_id_hint(e->fib.ctx, esi) : 0;
	if (!id || id > XEVPN_CTL_MAX_ES || e->es_by_id[id]) {
		for (id = 1; id <= XEVPN_CTL_MAX_ES; id++)
			if (!e->es_by_id[id] &&
			    !(e->fib.ops && e->fib.ops->es_id_busy && e->fib.ops->es_id_busy(e->fib.ctx, id)))
				break;
	}
	if (id > XEVPN_CTL_MAX_ES) {
		log_msg(LOG_ERR, "es table full (%d)", XEVPN_CTL_MAX_ES);
		return NULL;
	}
	es = calloc(1, sizeof(*es));
	if (!es)
		return NULL;
	es->esi = *esi;
	es->id = id;
	esi_fmt(esi, es->name);
	if (htab_insert(&e->es, &es->hn, hash_bytes(esi, ESI_LEN))) {
		free(es);
		return NULL;
	}
	e->es_by_id[id] = es;
	return es;
}

void evpn_es_free(struct evpn *e, struct evpn_es *es)
{
	if (es->flags & (EVPN_ES_STATE_WRITTEN | EVPN_ES_GROUP_WRITTEN))
		FIB_CALL(e, es_del, es->id);
	htab_remove(&e->es, &es->hn);
	e->es_by_id[es->id] = NULL;
	free(es->evis);
	free(es);
}

static void es_maybe_free(struct evpn *e, struct evpn_es *es)
{
	if (!(es->flags & EVPN_ES_LOCAL) && !es->n_vteps && !es->n_macs)
		evpn_es_free(e, es);
}

bool evpn_es_in_service(const struct evpn_es *es)
{
	return (es->flags & (EVPN_ES_LOCAL | EVPN_ES_OPER_UP | EVPN_ES_HOLD | EVPN_ES_FENCED |
			     EVPN_ES_UNDERLAY_DOWN)) == (EVPN_ES_LOCAL | EVPN_ES_OPER_UP);
}

struct evpn_es_vtep *evpn_es_vtep_find(struct evpn_es *es, uint32_t ip)
{
	for (unsigned i = 0; i < es->n_vteps; i++)
		if (es->vteps[i].ip == ip)
			return &es->vteps[i];
	return NULL;
}

static void es_vtep_apply_pref(struct evpn_es *es, struct evpn_es_vtep *v)
{
	v->df_pref = 32767;
	v->df_dont_preempt = false;
	for (unsigned k = 0; k < es->cfg.n_peers; k++)
		if (es->cfg.peers[k].vtep == v->ip) {
			v->df_pref = es->cfg.peers[k].pref;
			v->df_dont_preempt = es->cfg.peers[k].dont_preempt;
		}
}

struct evpn_es_vtep *evpn_es_vtep_add(struct evpn_es *es, uint32_t ip)
{
	struct evpn_es_vtep *v = evpn_es_vtep_find(es, ip);
	unsigned i = 0;

	if (v)
		return v;
	if (es->n_vteps == XEVPN_CTL_MAX_ES_VTEPS)
		return NULL;
	while (i < es->n_vteps && es->vteps[i].ip < ip)
		i++;
	memmove(&es->vteps[i + 1], &es->vteps[i], (es->n_vteps - i) * sizeof(es->vteps[0]));
	es->n_vteps++;
	v = &es->vteps[i];
	memset(v, 0, sizeof(*v));
	v->ip = ip;
	es_vtep_apply_pref(es, v);
	return v;
}

void evpn_es_vtep_del(struct evpn_es *es, struct evpn_es_vtep *v)
{
	unsigned i = (unsigned)(v - es->vteps);

	memmove(&es->vteps[i], &es->vteps[i + 1], (es->n_vteps - i - 1) * sizeof(es->vteps[0]));
	es->n_vteps--;
}

bool evpn_es_vtep_active(struct evpn *e, const struct evpn_es *es, const struct evpn_es_vtep *v)
{
	(void)es;
	return (v->flags & EVPN_ES_VTEP_AD_ES) && v->n_evi_ad && !vtep_hb_down(e, v->ip);
}

int evpn_es_group(struct evpn *e, const struct evpn_es *es, uint32_t *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < es->n_vteps && n < max; i++)
		if (evpn_es_vtep_active(e, es, &es->vteps[i]))
			out[n++] = es->vteps[i].ip;
	return (int)n;
}

struct evpn_es_evi *evpn_es_evi_find(struct evpn_es *es, uint32_t vni)
{
	for (unsigned i = 0; i < es->n_evis; i++)
		if (es->evis[i].bd->vni == vni)
			return &es->evis[i];
	return NULL;
}

static void es_evi_ad_update(struct evpn_es_evi *evi, uint32_t ip, bool add)
{
	for (unsigned i = 0; i < evi->n_evi_ad; i++)
		if (evi->evi_ad[i] == ip) {
			if (!add)
				evi->evi_ad[i] = evi->evi_ad[--evi->n_evi_ad];
			return;
		}
	if (add && evi->n_evi_ad < XEVPN_CTL_MAX_ES_VTEPS)
		evi->evi_ad[evi->n_evi_ad++] = ip;
}

/* Our own routes for a local ES: per-ES A-D (the mass-withdraw signal)
 * first, then the ES route, then the per-EVI A-Ds; withdrawn in the same
 * order so remote leaves shrink their groups before anything else. */
static void es_advertise(struct evpn *e, struct evpn_es *es, bool on)
{
	struct evpn_route r;

	if (!e->started || on == !!(es->flags & EVPN_ES_ADV))
		return;
	memset(&r, 0, sizeof(r));
	r.type = EVPN_RT_AD;
	r.withdraw = !on;
	evpn_rd_make(r.rd, e->cfg->router_id, 0);
	r.esi = es->esi;
	r.etag = EVPN_MAX_ET;
	r.nexthop = e->self;
	r.single_active = es->cfg.mode == XCFG_ES_SINGLE_ACTIVE;
	for (unsigned i = 0; i < es->n_evis; i++)
		add_rts(&r, es->evis[i].bd->cfg.export, es->evis[i].bd->cfg.n_export);
	out_route(e, &r);
	if (!on)
		e->stats.mass_withdraws++;

	memset(&r, 0, sizeof(r));
	r.type = EVPN_RT_ES;
	r.withdraw = !on;
	evpn_rd_make(r.rd, e->cfg->router_id, 0);
	r.esi = es->esi;
	r.originator = e->self;
	r.nexthop = e->self;
	memcpy(r.es_import, &es->esi.b[1], MAC_LEN);
	out_route(e, &r);

	for (unsigned i = 0; i < es->n_evis; i++) {
		struct evpn_es_evi *evi = &es->evis[i];

		memset(&r, 0, sizeof(r));
		r.type = EVPN_RT_AD;
		r.withdraw = !on;
		memcpy(r.rd, evi->bd->rd, 8);
		r.esi = es->esi;
		r.etag = 0;
		r.vni = evi->bd->vni;
		r.nexthop = e->self;
		add_rts(&r, evi->bd->cfg.export, evi->bd->cfg.n_export);
		out_route(e, &r);
		if (on)
			evi->flags |= EVPN_ES_EVI_AD_ADV;
		else
			evi->flags &= ~EVPN_ES_EVI_AD_ADV;
	}
	if (on)
		es->flags |= EVPN_ES_ADV;
	else
		es->flags &= ~EVPN_ES_ADV;
}

static void mac_readvertise_es(struct evpn *e, struct evpn_es *es);

/* Recompute everything derived from an ES and write what changed. */
static void es_sync(struct evpn *e, struct evpn_es *es)
{
	uint32_t group[XEVPN_CTL_MAX_ES_VTEPS];
	struct fib_es st = { .esi = es->esi };
	bool local = es->flags & EVPN_ES_LOCAL, was_adv = es->flags & EVPN_ES_ADV;
	unsigned n;

	if (local) {
		st.ifindex = es->ifindex;
		st.flags = FIB_ES_LOCAL;
		if (evpn_es_in_service(es))
			st.flags |= FIB_ES_FWD;
		else if (es->flags & EVPN_ES_OPER_UP)
			st.flags |= FIB_ES_HOLD;
		else
			st.flags |= FIB_ES_BACKUP;
		if (es->cfg.mode == XCFG_ES_SINGLE_ACTIVE)
			st.flags |= FIB_ES_SINGLE;
		/* a held or down ES is not advertised; DF wait does not hold
		 * advertisement back (peers must see us to elect) */
		es_advertise(e, es, evpn_es_in_service(es));
	}
	if (can_write(e) && (!(es->flags & EVPN_ES_STATE_WRITTEN) ||
			     memcmp(&st, &es->written_state, sizeof(st)))) {
		if (!FIB_CALL(e, es_state_set, es->id, &st)) {
			es->written_state = st;
			es->flags |= EVPN_ES_STATE_WRITTEN;
		}
	}
	n = (unsigned)evpn_es_group(e, es, group, XEVPN_CTL_MAX_ES_VTEPS);
	if (can_write(e) && (!(es->flags & EVPN_ES_GROUP_WRITTEN) || n != es->n_group ||
			     memcmp(group, es->group, n * sizeof(group[0])))) {
		/* one update readers see whole: this is the mass withdraw */
		if (!FIB_CALL(e, es_group_set, es->id, group, n)) {
			memcpy(es->group, group, n * sizeof(group[0]));
			es->n_group = n;
			es->flags |= EVPN_ES_GROUP_WRITTEN;
		}
	}
	if (local) {
		evpn_es_df_run_all(e, es);
		if (!was_adv && (es->flags & EVPN_ES_ADV))
			mac_readvertise_es(e, es);
	}
}

void evpn_es_df_run_all(struct evpn *e, struct evpn_es *es)
{
	char esi[ESI_STR_LEN], ip[IP4_STR_LEN];
	const char *why;

	/* before evpn_start() the RIB is still coming in: elect once it is all
	 * there, against the DF bits adopted from the dataplane */
	if (!e->started)
		return;
	for (unsigned i = 0; i < es->n_evis; i++) {
		struct evpn_es_evi *evi = &es->evis[i];

		if (evpn_es_evi_df_run(e, es, evi, &why))
			log_msg(LOG_INFO, "es %s: vni %u: DF is %s%s (%s)", es->cfg.name[0] ? es->cfg.name :
				esi_fmt(&es->esi, esi), evi->bd->vni,
				evi->df_ip ? ip4_fmt(evi->df_ip, ip) : "none",
				(evi->flags & EVPN_ES_EVI_DF) ? ", this leaf" : "", why);
	}
}

static void es_build_evis(struct evpn *e, struct evpn_es *es)
{
	unsigned n = 0;
	struct evpn_es_evi *old = es->evis;
	unsigned n_old = es->n_evis;

	for (unsigned i = 0; i < e->cfg->n_bds; i++)
		for (unsigned k = 0; k < e->cfg->bds[i].n_ports; k++)
			if (!strcmp(e->cfg->bds[i].ports[k].ifname, es->cfg.port)) {
				n++;
				break;
			}
	es->evis = calloc(n ? n : 1, sizeof(*es->evis));
	es->n_evis = 0;
	if (!es->evis) {
		es->evis = old;
		es->n_evis = n_old;
		return;
	}
	for (unsigned i = 0; i < e->cfg->n_bds; i++) {
		struct evpn_bd *bd = evpn_bd_find(e, e->cfg->bds[i].vni);

		if (!bd)
			continue;
		for (unsigned k = 0; k < e->cfg->bds[i].n_ports; k++)
			if (!strcmp(e->cfg->bds[i].ports[k].ifname, es->cfg.port)) {
				struct evpn_es_evi *evi = &es->evis[es->n_evis++];

				evi->bd = bd;
				for (unsigned j = 0; j < n_old; j++)
					if (old[j].bd == bd)
						*evi = old[j];
				break;
			}
	}
	free(old);
}

struct evpn_es *evpn_es_local_add(struct evpn *e, const struct xcfg_es *cfg)
{
	struct evpn_es *es = evpn_es_new(e, &cfg->esi);

	if (!es)
		return NULL;
	es->cfg = *cfg;
	snprintf(es->name, sizeof(es->name), "%s", cfg->name);
	if (!(es->flags & EVPN_ES_LOCAL)) {
		es->flags |= EVPN_ES_LOCAL | EVPN_ES_HOLD;
		es->hold_until_ms = e->started ? e->now_ms + e->cfg->startup_hold_ms :
						 e->startup_hold_until_ms;
		es->ifindex = if_nametoindex(cfg->port);
	}
	for (unsigned i = 0; i < es->n_vteps; i++)
		es_vtep_apply_pref(es, &es->vteps[i]);
	es_build_evis(e, es);
	es_sync(e, es);
	return es;
}

void evpn_es_local_del(struct evpn *e, struct evpn_es *es)
{
	es->flags &= ~EVPN_ES_OPER_UP;
	es_sync(e, es);		/* withdraws our routes, DF off */
	es->flags &= ~(EVPN_ES_LOCAL | EVPN_ES_HOLD | EVPN_ES_DF_WAIT);
	free(es->evis);
	es->evis = NULL;
	es->n_evis = 0;
	memset(&es->cfg, 0, sizeof(es->cfg));
	esi_fmt(&es->esi, es->name);
	es_sync(e, es);
	es_maybe_free(e, es);
}

static struct evpn_es *es_local_by_ifindex(struct evpn *e, uint32_t ifindex)
{
	if (!ifindex)
		return NULL;
	htab_for_each(&e->es, n, i) {
		struct evpn_es *es = container_of(n, struct evpn_es, hn);

		if ((es->flags & EVPN_ES_LOCAL) && es->ifindex == ifindex)
			return es;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* MACs                                                                 */

struct mac_key {
	uint32_t vni;
	uint8_t mac[MAC_LEN];
};

static uint64_t mac_hash(uint32_t vni, const uint8_t mac[MAC_LEN])
{
	struct mac_key k = { .vni = vni };

	memcpy(k.mac, mac, MAC_LEN);
	return hash_bytes(&k, sizeof(k));
}

static int mac_eq(const struct hnode *n, const void *key)
{
	const struct evpn_mac *m = container_of(n, struct evpn_mac, hn);
	const struct mac_key *k = key;

	return m->vni == k->vni && !memcmp(m->mac, k->mac, MAC_LEN);
}

struct evpn_mac *evpn_mac_find(struct evpn *e, uint32_t vni, const uint8_t mac[MAC_LEN])
{
	struct mac_key k = { .vni = vni };
	struct hnode *n;

	memcpy(k.mac, mac, MAC_LEN);
	n = htab_find(&e->macs, mac_hash(vni, mac), &k, mac_eq);
	return n ? container_of(n, struct evpn_mac, hn) : NULL;
}

static struct evpn_mac *mac_get(struct evpn *e, uint32_t vni, const uint8_t mac[MAC_LEN])
{
	struct evpn_mac *m = evpn_mac_find(e, vni, mac);

	if (m)
		return m;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->vni = vni;
	memcpy(m->mac, mac, MAC_LEN);
	if (htab_insert(&e->macs, &m->hn, mac_hash(vni, mac))) {
		free(m);
		return NULL;
	}
	return m;
}

/* RFC 7432 §15.2: a static (sticky) path wins over any learned one; then
 * §15.1: the highest sequence number wins; equal sequence numbers go to the
 * lowest VTEP address, so every PE picks the same path. */
const struct evpn_mac_path *evpn_mac_best(const struct evpn_mac *m)
{
	const struct evpn_mac_path *best = NULL;

	for (unsigned i = 0; i < m->n_paths; i++) {
		const struct evpn_mac_path *p = &m->paths[i];

		if (best && p->sticky != best->sticky) {
			if (p->sticky)
				best = p;
			continue;
		}
		if (!best || p->seq > best->seq || (p->seq == best->seq && p->vtep < best->vtep))
			best = p;
	}
	return best;
}

static void mac_type2(struct evpn *e, struct evpn_mac *m, bool withdraw)
{
	struct evpn_bd *bd = evpn_bd_find(e, m->vni);
	struct evpn_route r = {
		.type = EVPN_RT_MAC, .withdraw = withdraw, .nexthop = e->self, .vni = m->vni,
		.seq = m->loc_seq, .has_seq = m->loc_seq > 0,
	};

	if (!bd)
		return;
	memcpy(r.rd, bd->rd, 8);
	memcpy(r.mac, m->mac, MAC_LEN);
	if (m->loc_es)
		r.esi = m->loc_es->esi;
	add_rts(&r, bd->cfg.export, bd->cfg.n_export);
	out_route(e, &r);
}

static bool same_es(const struct evpn_mac_path *p, const struct evpn_es *es)
{
	return es && !esi_is_zero(&p->esi) && !esi_cmp(&p->esi, &es->esi);
}

static void mac_set_target(struct evpn *e, struct evpn_mac *m, const struct fib_fdb *t)
{
	struct evpn_es *old_es = NULL, *new_es = NULL;

	if ((m->flags & EVPN_MAC_WRITTEN) && t && !memcmp(t, &m->written, sizeof(*t)))
		return;
	/* before evpn_start() nothing is written nor assumed written: start
	 * syncs every MAC, and the map writer skips values already in place */
	if (!e->started)
		return;
	if ((m->flags & EVPN_MAC_WRITTEN) && m->written.kind == FIB_FDB_ES)
		old_es = e->es_by_id[m->written.es_id];
	if (t && t->kind == FIB_FDB_ES)
		new_es = e->es_by_id[t->es_id];
	if (t) {
		if (FIB_CALL(e, fdb_set, m->vni, m->mac, t) && can_write(e))
			return;	/* counted; retried on the next change */
		m->written = *t;
		m->flags |= EVPN_MAC_WRITTEN;
	} else if (m->flags & EVPN_MAC_WRITTEN) {
		FIB_CALL(e, fdb_del, m->vni, m->mac);
		memset(&m->written, 0, sizeof(m->written));
		m->flags &= ~EVPN_MAC_WRITTEN;
	}
	if (old_es != new_es) {
		if (new_es)
			new_es->n_macs++;
		if (old_es) {
			old_es->n_macs--;
			es_maybe_free(e, old_es);
		}
	}
}

/* Decide where a MAC lives (local port, remote VTEP, remote ES) from its
 * local state and remote paths; write the FDB and our type-2 on change.
 * Returns false when the MAC was freed. */
static bool mac_sync(struct evpn *e, struct evpn_mac *m)
{
	const struct evpn_mac_path *best = evpn_mac_best(m);
	struct fib_fdb t = { 0 };
	bool have = false;

	if ((m->flags & EVPN_MAC_LOCAL) && best && !same_es(best, m->loc_es) &&
	    (best->sticky || best->seq > m->loc_seq || (best->seq == m->loc_seq && best->vtep < e->self))) {
		/* RFC 7432 §15: seen remotely with a higher sequence: it moved;
		 * §15.2: a static MAC of another PE wins whatever the sequence */
		char mac[MAC_STR_LEN], ip[IP4_STR_LEN];

		log_msg(best->sticky ? LOG_WARNING : LOG_INFO, "mac %s vni %u moved to %s (%s%u, ours %u)",
			mac_fmt(m->mac, mac), m->vni, ip4_fmt(best->vtep, ip),
			best->sticky ? "static there, seq " : "seq ", best->seq, m->loc_seq);
		m->flags &= ~EVPN_MAC_LOCAL;
		m->loc_es = NULL;
		e->stats.mac_moves++;
	}
	if (m->flags & EVPN_MAC_LOCAL) {
		t.kind = FIB_FDB_LOCAL;
		t.flags = FIB_FDB_F_LEARNED;
		t.ifindex = m->loc_ifindex;
		t.es_id = m->loc_es ? m->loc_es->id : 0;
		have = true;
	} else if (best) {
		struct evpn_es *es = esi_is_zero(&best->esi) ? NULL : evpn_es_find(e, &best->esi);

		if (es && (es->flags & EVPN_ES_LOCAL)) {
			/* learned by a peer on a segment we share: deliver locally
			 * (the ES backup flag covers our port being down) */
			t.kind = FIB_FDB_LOCAL;
			t.ifindex = es->ifindex;
			t.es_id = es->id;
		} else if (!esi_is_zero(&best->esi) && !best->sticky &&
			   (es = evpn_es_new(e, &best->esi))) {
			t.kind = FIB_FDB_ES;
			t.es_id = es->id;
			es_sync(e, es);	/* make sure the ES exists in the dataplane */
		} else {
			t.kind = FIB_FDB_VTEP;
			t.vtep = best->vtep;
		}
		if (best->sticky)
			t.flags = FIB_FDB_F_STATIC;
		have = true;
	}
	mac_set_target(e, m, have ? &t : NULL);

	/* our advertisement */
	if ((m->flags & EVPN_MAC_LOCAL) && e->started && (!m->loc_es || (m->loc_es->flags & EVPN_ES_ADV))) {
		if (!(m->flags & EVPN_MAC_ADV)) {
			mac_type2(e, m, false);
			m->flags |= EVPN_MAC_ADV;
		}
	} else if ((m->flags & EVPN_MAC_ADV) && !(m->flags & EVPN_MAC_LOCAL)) {
		mac_type2(e, m, true);
		m->flags &= ~EVPN_MAC_ADV;
	}
	if (!(m->flags & EVPN_MAC_LOCAL) && !m->n_paths) {
		mac_set_target(e, m, NULL);
		htab_remove(&e->macs, &m->hn);
		free(m->paths);
		free(m);
		return false;
	}
	return true;
}

static void mac_readvertise_es(struct evpn *e, struct evpn_es *es)
{
	htab_for_each(&e->macs, n, i) {
		struct evpn_mac *m = container_of(n, struct evpn_mac, hn);

		if ((m->flags & EVPN_MAC_LOCAL) && m->loc_es == es && !(m->flags & EVPN_MAC_ADV)) {
			mac_type2(e, m, false);
			m->flags |= EVPN_MAC_ADV;
		}
	}
}

static int mac_path_update(struct evpn *e, uint32_t vni, const uint8_t mac[MAC_LEN], uint32_t vtep,
			   const struct evpn_route *r)
{
	struct evpn_mac *m;
	unsigned i;

	m = r ? mac_get(e, vni, mac) : evpn_mac_find(e, vni, mac);
	if (!m)
		return r ? -ENOMEM : 0;
	for (i = 0; i < m->n_paths && m->paths[i].vtep != vtep; i++)
		;
	if (!r) {
		if (i == m->n_paths)
			return 0;
		m->paths[i] = m->paths[--m->n_paths];
	} else {
		if (i == m->n_paths) {
			if (m->n_paths == m->cap_paths) {
				unsigned cap = m->cap_paths ? m->cap_paths * 2 : 2;
				struct evpn_mac_path *p = realloc(m->paths, cap * sizeof(*p));

				if (!p)
					return -ENOMEM;
				m->paths = p;
				m->cap_paths = cap;
			}
			m->n_paths++;
		}
		m->paths[i] = (struct evpn_mac_path){ .vtep = vtep, .seq = r->has_seq ? r->seq : 0,
						      .esi = r->esi, .sticky = r->sticky };
	}
	mac_sync(e, m);
	return 0;
}

int evpn_mac_learn(struct evpn *e, uint32_t vni, const uint8_t mac[MAC_LEN], uint32_t ifindex)
{
	struct evpn_bd *bd = evpn_bd_find(e, vni);
	const struct evpn_mac_path *best;
	struct evpn_es *es;
	struct evpn_mac *m;

	if (!bd || mac_is_multicast(mac) || mac_is_zero(mac) || !ifindex)
		return -EINVAL;
	m = mac_get(e, vni, mac);
	if (!m)
		return -ENOMEM;
	m->last_seen_ms = e->now_ms;
	es = es_local_by_ifindex(e, ifindex);
	if ((m->flags & EVPN_MAC_LOCAL) && m->loc_ifindex == ifindex)
		return 0;
	best = evpn_mac_best(m);
	if (best && best->sticky && !same_es(best, es)) {
		/* RFC 7432 §15.2: a static MAC does not move; alert the operator */
		char s_mac[MAC_STR_LEN], ip[IP4_STR_LEN];

		e->stats.sticky_conflicts++;
		log_msg(LOG_WARNING, "mac %s vni %u learned locally but static on %s: not moved",
			mac_fmt(mac, s_mac), vni, ip4_fmt(best->vtep, ip));
		return 0;
	}
	if (m->flags & EVPN_MAC_LOCAL) {
		/* moved between our own ports: same PE, new ESI */
		if (m->flags & EVPN_MAC_ADV) {
			mac_type2(e, m, true);
			m->flags &= ~EVPN_MAC_ADV;
		}
	} else if (best && same_es(best, es)) {
		m->loc_seq = best->seq;		/* same segment seen by a peer: aliasing, no move */
	} else if (best) {
		m->loc_seq = best->seq + 1;	/* RFC 7432 §15.1: it moved here */
		e->stats.mac_moves++;
	}
	m->flags |= EVPN_MAC_LOCAL;
	m->loc_ifindex = ifindex;
	m->loc_es = es;
	mac_sync(e, m);
	return 0;
}

static void mac_flush_where(struct evpn *e, bool (*match)(struct evpn_mac *, const void *),
			    const void *arg)
{
	/* collect first: mac_sync may free entries */
	size_t n = 0, cap = 64;
	struct evpn_mac **v = malloc(cap * sizeof(*v));

	if (!v)
		return;
	htab_for_each(&e->macs, hn, i) {
		struct evpn_mac *m = container_of(hn, struct evpn_mac, hn);

		if (!match(m, arg))
			continue;
		if (n == cap) {
			struct evpn_mac **nv = realloc(v, 2 * cap * sizeof(*v));

			if (!nv)
				break;
			v = nv;
			cap *= 2;
		}
		v[n++] = m;
	}
	for (size_t i = 0; i < n; i++) {
		v[i]->flags &= ~EVPN_MAC_LOCAL;
		v[i]->loc_es = NULL;
		mac_sync(e, v[i]);
	}
	free(v);
}

static bool match_vni(struct evpn_mac *m, const void *arg)
{
	return m->vni == *(const uint32_t *)arg && (m->flags & EVPN_MAC_LOCAL);
}

static bool match_port(struct evpn_mac *m, const void *arg)
{
	return (m->flags & EVPN_MAC_LOCAL) && !m->loc_es && m->loc_ifindex == *(const uint32_t *)arg;
}

static void mac_flush_vni(struct evpn *e, uint32_t vni)
{
	mac_flush_where(e, match_vni, &vni);
}

static bool match_aged(struct evpn_mac *m, const void *arg)
{
	const uint64_t *cut = arg;

	return (m->flags & EVPN_MAC_LOCAL) && m->last_seen_ms < *cut;
}

static void mac_age(struct evpn *e)
{
	uint64_t cut;

	if (!e->cfg->mac_aging_ms || e->now_ms < e->cfg->mac_aging_ms)
		return;
	cut = e->now_ms - e->cfg->mac_aging_ms;
	if (e->fib.ops && e->fib.ops->fdb_last_seen) {
		htab_for_each(&e->macs, hn, i) {
			struct evpn_mac *m = container_of(hn, struct evpn_mac, hn);
			uint64_t seen;

			if ((m->flags & EVPN_MAC_LOCAL) && m->last_seen_ms < cut &&
			    !e->fib.ops->fdb_last_seen(e->fib.ctx, m->vni, m->mac, &seen) && seen > m->last_seen_ms)
				m->last_seen_ms = seen;
		}
	}
	mac_flush_where(e, match_aged, &cut);
}

/* ------------------------------------------------------------------ */
/* the ledger and route consumption                                     */

static void ledger_key(const struct evpn_route *r, struct evpn_ledger_key *k)
{
	memset(k, 0, sizeof(*k));
	k->type = r->type;
	memcpy(k->rd, r->rd, 8);
	switch (r->type) {
	case EVPN_RT_AD:
		k->esi = r->esi;
		k->etag = r->etag;
		break;
	case EVPN_RT_MAC:
		k->etag = r->etag;
		memcpy(k->mac, r->mac, MAC_LEN);
		k->ip_len = r->ip_len > 16 ? 16 : r->ip_len;
		memcpy(k->ip, r->ip, k->ip_len);
		/* RFC 7432 §7.2: the ESI is not part of the type-2 NLRI key */
		break;
	case EVPN_RT_IMET:
		k->etag = r->etag;
		k->originator = r->originator;
		break;
	case EVPN_RT_ES:
		k->esi = r->esi;
		k->originator = r->originator;
		break;
	}
}

static int ledger_eq(const struct hnode *n, const void *key)
{
	return !memcmp(&container_of(n, struct evpn_ledger_ent, hn)->key, key,
		       sizeof(struct evpn_ledger_key));
}

static struct evpn_ledger_ent *ledger_find(struct evpn *e, const struct evpn_ledger_key *k)
{
	struct hnode *n = htab_find(&e->ledger, hash_bytes(k, sizeof(*k)), k, ledger_eq);

	return n ? container_of(n, struct evpn_ledger_ent, hn) : NULL;
}

/* Undo (add=false) or apply (add=true) what one ledger entry means. The
 * entry holds everything needed: a withdraw may carry only the NLRI. */
static void ledger_apply(struct evpn *e, const struct evpn_ledger_ent *l, const struct evpn_route *r,
			 bool add)
{
	const struct evpn_ledger_key *k = &l->key;
	struct evpn_es_vtep *v;
	struct evpn_es *es;
	struct evpn_bd *bd;

	switch (k->type) {
	case EVPN_RT_AD:
	case EVPN_RT_ES:
		es = add ? evpn_es_new(e, &k->esi) : evpn_es_find(e, &k->esi);
		if (!es)
			return;
		v = add ? evpn_es_vtep_add(es, l->pe) : evpn_es_vtep_find(es, l->pe);
		if (!v) {
			if (add)
				log_msg(LOG_WARNING, "es %s: too many PEs, %s ignored", es->name, "route");
			es_maybe_free(e, es);
			return;
		}
		if (k->type == EVPN_RT_ES) {
			if (add)
				v->flags |= EVPN_ES_VTEP_ES_RT;
			else
				v->flags &= ~EVPN_ES_VTEP_ES_RT;
		} else if (k->etag == EVPN_MAX_ET) {
			if (add)
				v->flags |= EVPN_ES_VTEP_AD_ES;
			else
				v->flags &= ~EVPN_ES_VTEP_AD_ES;
			if (add && l->single_active)
				v->flags |= EVPN_ES_VTEP_SINGLE;
			else
				v->flags &= ~EVPN_ES_VTEP_SINGLE;
		} else {
			struct evpn_es_evi *evi = evpn_es_evi_find(es, l->vni);

			if (add)
				v->n_evi_ad++;
			else if (v->n_evi_ad)
				v->n_evi_ad--;
			if (evi)
				es_evi_ad_update(evi, l->pe, add);
		}
		if (!(v->flags & (EVPN_ES_VTEP_AD_ES | EVPN_ES_VTEP_ES_RT)) && !v->n_evi_ad)
			evpn_es_vtep_del(es, v);
		es_sync(e, es);
		es_maybe_free(e, es);
		break;
	case EVPN_RT_MAC:
		if (!evpn_bd_find(e, l->vni))
			return;
		mac_path_update(e, l->vni, k->mac, l->pe, add ? r : NULL);
		break;
	case EVPN_RT_IMET:
		bd = evpn_bd_find(e, l->vni);
		if (bd)
			bd_flood_update(e, bd, l->pe, add);
		break;
	}
}

/* Whether any of the route's targets is one the BD imports. */
static bool bd_imports(const struct evpn_bd *bd, const struct evpn_route *r)
{
	for (unsigned k = 0; k < r->n_rts && k < EVPN_MAX_ROUTE_RTS; k++)
		for (unsigned i = 0; i < bd->cfg.n_import; i++)
			if (bd->cfg.import[i].kind == r->rts[k].kind && bd->cfg.import[i].admin == r->rts[k].admin &&
			    bd->cfg.import[i].assigned == r->rts[k].assigned)
				return true;
	return false;
}

/* Whether a received path's route targets are imported here. A path that
 * carries none is matched by its VNI alone. Type-2, type-3 and per-EVI A-D
 * need an import RT of the BD of their VNI; the per-ES A-D (union of the
 * EVIs' RTs) one of any BD; the ES route travels on its ES-Import RT. */
static bool route_imported(struct evpn *e, const struct evpn_route *r, uint32_t vni)
{
	struct evpn_bd *bd;

	if (!r->n_rts || r->type == EVPN_RT_ES)
		return true;
	if (r->type == EVPN_RT_AD && r->etag == EVPN_MAX_ET) {
		htab_for_each(&e->bds, n, i)
			if (bd_imports(container_of(n, struct evpn_bd, hn), r))
				return true;
		return false;
	}
	bd = evpn_bd_find(e, vni);
	return bd && bd_imports(bd, r);
}

/* A path no standard PE sends: counted and dropped before it reaches the
 * ledger. RFC 7432 §5 defines ESI types 0-5; type-1 and type-4 routes exist
 * only for a real segment (not zero, not the reserved MAX-ESI); a VXLAN VNI
 * is 24 bits (RFC 7348). */
static const char *route_invalid(const struct evpn_route *r, uint32_t vni)
{
	bool needs_esi = r->type == EVPN_RT_AD || r->type == EVPN_RT_ES;

	if (r->esi.b[0] > 5)
		return "unknown esi type";
	if (needs_esi && (esi_is_zero(&r->esi) || esi_is_max(&r->esi)))
		return "no ethernet segment";
	if (vni > XCFG_VNI_MAX)
		return "vni beyond 24 bits";
	return NULL;
}

static void ledger_drop(struct evpn *e, struct evpn_ledger_ent *l)
{
	htab_remove(&e->ledger, &l->hn);
	ledger_apply(e, l, NULL, false);
	vtep_unref(e, l->pe);
	free(l);
}

int evpn_route_input(struct evpn *e, const struct evpn_route *r)
{
	struct evpn_ledger_key k;
	struct evpn_ledger_ent *l;
	const char *bad;
	uint32_t pe, vni;

	if (r->type < EVPN_RT_AD || r->type > EVPN_RT_ES) {
		e->stats.routes_ignored++;
		return -EINVAL;
	}
	ledger_key(r, &k);
	l = ledger_find(e, &k);
	if (r->withdraw) {
		e->stats.withdraws_in++;
		if (!l) {
			e->stats.withdraw_unknown++;
			return 0;
		}
		ledger_drop(e, l);
		return 0;
	}
	e->stats.routes_in++;
	pe = (r->type == EVPN_RT_ES || r->type == EVPN_RT_IMET) && r->originator ? r->originator : r->nexthop;
	vni = r->type == EVPN_RT_IMET && !r->vni ? r->etag : r->vni;
	bad = route_invalid(r, vni);
	if (bad || !pe || pe == e->self || !route_imported(e, r, vni)) {
		/* A replacement we cannot use still replaces: the previous
		 * version of the NLRI is gone from the speaker's table. */
		if (bad) {
			char buf[160];

			e->stats.routes_invalid++;
			evpn_route_fmt(r, buf, sizeof(buf));
			log_msg(LOG_WARNING, "bgp: %s: %s, ignored", buf, bad);
		} else if (!pe || pe == e->self) {
			e->stats.routes_ignored++;	/* no next hop, or our own reflected back */
		} else {
			e->stats.routes_not_imported++;
		}
		if (l)
			ledger_drop(e, l);
		return 0;
	}
	if (l && r->type == EVPN_RT_MAC && l->pe == pe && l->vni == vni) {
		/* same PE re-announcing (sequence, ESI or sticky may differ):
		 * update the path in place, so an unchanged MAC is not deleted
		 * and re-added in the dataplane */
		l->seq = r->has_seq ? r->seq : 0;
		ledger_apply(e, l, r, true);
		return 0;
	}
	if (l) {
		if (l->pe == pe && l->vni == vni && l->seq == r->seq && l->single_active == r->single_active &&
		    r->type != EVPN_RT_MAC)
			return 0;	/* unchanged re-announcement */
		/* implicit withdraw of the previous version */
		htab_remove(&e->ledger, &l->hn);
		ledger_apply(e, l, NULL, false);
		vtep_unref(e, l->pe);
	} else {
		l = calloc(1, sizeof(*l));
		if (!l)
			return -ENOMEM;
		l->key = k;
	}
	l->pe = pe;
	l->vni = vni;
	l->seq = r->has_seq ? r->seq : 0;
	l->single_active = r->single_active;
	if (htab_insert(&e->ledger, &l->hn, hash_bytes(&k, sizeof(k)))) {
		free(l);
		return -ENOMEM;
	}
	vtep_ref(e, pe);
	ledger_apply(e, l, r, true);
	return 0;
}

/* ------------------------------------------------------------------ */
/* link, health and fence events                                        */

void evpn_link_event(struct evpn *e, const char *ifname, uint32_t ifindex, bool up)
{
	htab_for_each(&e->es, n, i) {
		struct evpn_es *es = container_of(n, struct evpn_es, hn);
		bool was_up;

		if (!(es->flags & EVPN_ES_LOCAL) || strcmp(es->cfg.port, ifname))
			continue;
		es->ifindex = ifindex;
		was_up = es->flags & EVPN_ES_OPER_UP;
		if (up == was_up) {
			es_sync(e, es);	/* ifindex may have changed */
			return;
		}
		if (up) {
			es->flags |= EVPN_ES_OPER_UP | EVPN_ES_HOLD;
			es->hold_until_ms = e->now_ms < e->startup_hold_until_ms ? e->startup_hold_until_ms :
					    e->now_ms + e->cfg->startup_hold_ms;
			log_msg(LOG_INFO, "es %s: %s up, hold %ums", es->name, ifname,
				(unsigned)(es->hold_until_ms - e->now_ms));
		} else {
			es->flags &= ~(EVPN_ES_OPER_UP | EVPN_ES_HOLD | EVPN_ES_DF_WAIT);
			log_msg(LOG_NOTICE, "es %s: %s down: withdrawing, backup path on", es->name, ifname);
		}
		es_sync(e, es);
		return;
	}
	/* a plain access port: its MACs are gone with it */
	if (!up && ifindex)
		mac_flush_where(e, match_port, &ifindex);
}

void evpn_underlay_event(struct evpn *e, bool up)
{
	if (e->underlay_up == up)
		return;
	e->underlay_up = up;
	log_msg(up ? LOG_INFO : LOG_WARNING, "underlay %s", up ? "up" : "down: ES ports out of service");
	htab_for_each(&e->es, n, i) {
		struct evpn_es *es = container_of(n, struct evpn_es, hn);

		if (!(es->flags & EVPN_ES_LOCAL))
			continue;
		if (up) {
			es->flags &= ~EVPN_ES_UNDERLAY_DOWN;
			if (es->flags & EVPN_ES_OPER_UP) {
				es->flags |= EVPN_ES_HOLD;
				es->hold_until_ms = e->now_ms + e->cfg->startup_hold_ms;
			}
		} else {
			es->flags |= EVPN_ES_UNDERLAY_DOWN;
		}
		es_sync(e, es);
	}
}

void evpn_vtep_health(struct evpn *e, uint32_t ip, bool alive)
{
	struct evpn_vtep *v = vtep_find(e, ip);

	if (!v) {
		if (alive)
			return;
		v = vtep_ref(e, ip);	/* remember the verdict until routes come */
		if (!v)
			return;
		v->n_routes--;
	}
	if (alive == !(v->flags & EVPN_VTEP_HB_DOWN))
		return;
	if (alive)
		v->flags &= ~EVPN_VTEP_HB_DOWN;
	else
		v->flags |= EVPN_VTEP_HB_DOWN;
	htab_for_each(&e->es, n, i) {
		struct evpn_es *es = container_of(n, struct evpn_es, hn);

		if (evpn_es_vtep_find(es, ip))
			es_sync(e, es);
	}
	if (alive && !v->n_routes) {
		htab_remove(&e->vteps, &v->hn);
		free(v);
	}
}

void evpn_es_fence(struct evpn *e, struct evpn_es *es, bool fenced)
{
	if (!(es->flags & EVPN_ES_LOCAL) || fenced == !!(es->flags & EVPN_ES_FENCED))
		return;
	if (fenced) {
		es->flags |= EVPN_ES_FENCED;
	} else {
		es->flags &= ~EVPN_ES_FENCED;
		if (es->flags & EVPN_ES_OPER_UP) {
			es->flags |= EVPN_ES_HOLD;
			es->hold_until_ms = e->now_ms + e->cfg->startup_hold_ms;
		}
	}
	log_msg(LOG_NOTICE, "es %s: %s", es->name, fenced ? "self-fenced" : "fence lifted");
	es_sync(e, es);
}

/* ------------------------------------------------------------------ */
/* lifecycle and timers                                                 */

struct evpn *evpn_new(const struct xcfg *cfg, struct fib fib, struct route_out out, uint64_t now_ms)
{
	struct evpn *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->cfg = cfg;
	e->self = cfg->vtep;
	e->fib = fib;
	e->out = out;
	e->now_ms = now_ms;
	e->underlay_up = true;
	e->startup_hold_until_ms = now_ms + cfg->startup_hold_ms;
	for (unsigned i = 0; i < cfg->n_bds; i++)
		if (!evpn_bd_add(e, &cfg->bds[i]))
			goto err;
	for (unsigned i = 0; i < cfg->n_es; i++)
		if (!evpn_es_local_add(e, &cfg->es[i]))
			goto err;
	return e;
err:
	evpn_free(e);
	return NULL;
}

void evpn_free(struct evpn *e)
{
	if (!e)
		return;
	e->started = false;	/* freeing never touches the dataplane */
	for (size_t i = 0; i < e->macs.nbuckets; i++)
		for (struct hnode *n = e->macs.b[i], *next; n; n = next) {
			struct evpn_mac *m = container_of(n, struct evpn_mac, hn);

			next = n->next;
			free(m->paths);
			free(m);
		}
#define FREE_ALL(tab, type)                                                   \
	for (size_t i = 0; i < (tab)->nbuckets; i++)                          \
		for (struct hnode *n = (tab)->b[i], *next; n; n = next) {     \
			next = n->next;                                       \
			free(container_of(n, type, hn));                      \
		}
	for (size_t i = 0; i < e->es.nbuckets; i++)
		for (struct hnode *n = e->es.b[i]; n; n = n->next)
			free(container_of(n, struct evpn_es, hn)->evis);
	FREE_ALL(&e->es, struct evpn_es);
	FREE_ALL(&e->bds, struct evpn_bd);
	FREE_ALL(&e->vteps, struct evpn_vtep);
	FREE_ALL(&e->ledger, struct evpn_ledger_ent);
#undef FREE_ALL
	htab_free(&e->macs);
	htab_free(&e->es);
	htab_free(&e->bds);
	htab_free(&e->vteps);
	htab_free(&e->ledger);
	free(e);
}

void evpn_start(struct evpn *e, uint64_t now_ms)
{
	e->now_ms = now_ms;
	e->started = true;
	htab_for_each(&e->bds, n, i) {
		struct evpn_bd *bd = container_of(n, struct evpn_bd, hn);

		bd_imet(e, bd, false);
		bd_flood_sync(e, bd);
	}
	htab_for_each(&e->es, n, i)
		es_sync(e, container_of(n, struct evpn_es, hn));
	htab_for_each(&e->macs, n, i)
		mac_sync(e, container_of(n, struct evpn_mac, hn));	/* never frees: has local or paths */
	e->next_age_ms = now_ms + (e->cfg->mac_aging_ms ? e->cfg->mac_aging_ms / 4 : 60000);
}

void evpn_es_adopt(struct evpn *e, struct evpn_es *es, bool forwarding)
{
	if (!(es->flags & EVPN_ES_LOCAL) || e->started)
		return;
	if (forwarding && (es->flags & EVPN_ES_OPER_UP)) {
		/* it forwarded before the restart: no new hold, no DF wait */
		es->flags &= ~(EVPN_ES_HOLD | EVPN_ES_DF_WAIT);
		es->hold_until_ms = e->now_ms;
		log_msg(LOG_INFO, "es %s: adopted forwarding from the dataplane", es->name);
	}
}

void evpn_es_evi_adopt_df(struct evpn *e, struct evpn_es *es, uint32_t vni, bool is_df)
{
	struct evpn_es_evi *evi = evpn_es_evi_find(es, vni);

	if (!evi || e->started)
		return;
	evi->flags |= EVPN_ES_EVI_DF_WRITTEN;
	if (is_df) {
		evi->flags |= EVPN_ES_EVI_DF;
		evi->df_ip = e->self;
	} else {
		evi->flags &= ~EVPN_ES_EVI_DF;
	}
}

void evpn_readvertise(struct evpn *e)
{
	if (!e->started)
		return;
	htab_for_each(&e->bds, n, i) {
		struct evpn_bd *bd = container_of(n, struct evpn_bd, hn);

		bd->flags &= ~EVPN_BD_IMET_ADV;
		bd_imet(e, bd, false);
	}
	htab_for_each(&e->es, n, i) {
		struct evpn_es *es = container_of(n, struct evpn_es, hn);

		if (es->flags & EVPN_ES_ADV) {
			es->flags &= ~EVPN_ES_ADV;
			es_advertise(e, es, true);
		}
	}
	htab_for_each(&e->macs, n, i) {
		struct evpn_mac *m = container_of(n, struct evpn_mac, hn);

		if (m->flags & EVPN_MAC_ADV)
			mac_type2(e, m, false);
	}
}

void evpn_bgp_converged(struct evpn *e)
{
	if (e->now_ms >= e->startup_hold_until_ms)
		return;
	log_msg(LOG_INFO, "bgp converged: ending startup hold early");
	htab_for_each(&e->es, n, i) {
		struct evpn_es *es = container_of(n, struct evpn_es, hn);

		if ((es->flags & EVPN_ES_HOLD) && es->hold_until_ms == e->startup_hold_until_ms)
			es->hold_until_ms = e->now_ms;
	}
	e->startup_hold_until_ms = e->now_ms;
	evpn_tick(e, e->now_ms);
}

int64_t evpn_tick(struct evpn *e, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;

	if (now_ms > e->now_ms)
		e->now_ms = now_ms;
	htab_for_each(&e->es, n, i) {
		struct evpn_es *es = container_of(n, struct evpn_es, hn);

		if (!(es->flags & EVPN_ES_LOCAL))
			continue;
		if ((es->flags & EVPN_ES_HOLD) && e->started && e->now_ms >= es->hold_until_ms) {
			es->flags &= ~EVPN_ES_HOLD;
			if (es->flags & EVPN_ES_OPER_UP) {
				/* RFC 7432 §8.5: wait for the other PEs' ES routes
				 * before electing */
				es->flags |= EVPN_ES_DF_WAIT;
				es->df_wait_until_ms = e->now_ms + es->cfg.df_wait_ms;
				log_msg(LOG_INFO, "es %s: hold over, advertising; DF wait %ums", es->name,
					es->cfg.df_wait_ms);
			}
			es_sync(e, es);
		}
		if ((es->flags & EVPN_ES_DF_WAIT) && e->now_ms >= es->df_wait_until_ms) {
			es->flags &= ~EVPN_ES_DF_WAIT;
			log_msg(LOG_INFO, "es %s: DF wait expired", es->name);
			evpn_es_df_run_all(e, es);
		}
		if ((es->flags & EVPN_ES_HOLD) && (es->flags & EVPN_ES_OPER_UP) && es->hold_until_ms < next)
			next = es->hold_until_ms;
		if ((es->flags & EVPN_ES_DF_WAIT) && es->df_wait_until_ms < next)
			next = es->df_wait_until_ms;
	}
	if (e->started && e->cfg->mac_aging_ms) {
		if (e->now_ms >= e->next_age_ms) {
			mac_age(e);
			e->next_age_ms = e->now_ms + e->cfg->mac_aging_ms / 4 + 1;
		}
		if (e->next_age_ms < next)
			next = e->next_age_ms;
	}
	return next == UINT64_MAX ? -1 : (int64_t)(next - e->now_ms);
}

/* ------------------------------------------------------------------ */
/* SIGHUP: apply a validated configuration's difference                  */

struct apply_ctx {
	struct evpn *e;
};

static void apply_bd(void *ctx, enum xcfg_change what, const struct xcfg_bd *old,
		     const struct xcfg_bd *new)
{
	struct evpn *e = ((struct apply_ctx *)ctx)->e;
	struct evpn_bd *bd;

	if (what == XCFG_REMOVED || (what == XCFG_CHANGED && old->vni != new->vni)) {
		if ((bd = evpn_bd_find(e, old->vni))) {
			/* ESes lose their EVI on this BD first */
			htab_for_each(&e->es, n, i) {
				struct evpn_es *es = container_of(n, struct evpn_es, hn);
				struct evpn_es_evi *evi = evpn_es_evi_find(es, old->vni);

				if (evi && (evi->flags & EVPN_ES_EVI_DF_WRITTEN))
					FIB_CALL(e, df_set, es->id, old->vni, false);
				if (evi) {
					*evi = es->evis[--es->n_evis];
				}
			}
			evpn_bd_del(e, bd);
		}
	}
	if (what != XCFG_REMOVED) {
		bd = evpn_bd_find(e, new->vni);
		if (bd && (bd->flags & EVPN_BD_IMET_ADV) &&
		    (bd->cfg.n_export != new->n_export ||
		     memcmp(bd->cfg.export, new->export, sizeof(new->export))))
			bd_imet(e, bd, true);	/* re-advertised below with the new RTs */
		evpn_bd_add(e, new);
	}
}

static void apply_es(void *ctx, enum xcfg_change what, const struct xcfg_es *old,
		     const struct xcfg_es *new)
{
	struct evpn *e = ((struct apply_ctx *)ctx)->e;
	struct evpn_es *es;

	if (old && (what == XCFG_REMOVED || esi_cmp(&old->esi, &new->esi) || strcmp(old->port, new->port))) {
		if ((es = evpn_es_find(e, &old->esi)))
			evpn_es_local_del(e, es);
		if (what == XCFG_REMOVED)
			return;
	}
	evpn_es_local_add(e, new);
}

int evpn_apply_config(struct evpn *e, const struct xcfg *new_cfg, char err[XCFG_ERR_MAX])
{
	static const struct xcfg_diff_ops ops = { .bd = apply_bd, .es = apply_es };
	struct apply_ctx ctx = { .e = e };
	const struct xcfg *old = e->cfg;
	int n;

	n = xcfg_diff(old, new_cfg, NULL, NULL, err);
	if (n < 0)
		return n;
	e->cfg = new_cfg;	/* lookups below read the new file */
	n = xcfg_diff(old, new_cfg, &ops, &ctx, err);
	/* ESes whose BD membership changed need their EVI list rebuilt */
	htab_for_each(&e->es, hn, i) {
		struct evpn_es *es = container_of(hn, struct evpn_es, hn);

		if (es->flags & EVPN_ES_LOCAL) {
			es_build_evis(e, es);
			es_sync(e, es);
		}
	}
	return n;
}
