/* SPDX-License-Identifier: GPL-2.0 */
/* The EVPN multi-homing model of xevpnd: bridge domains (EVIs), Ethernet
 * segments, the VTEPs attached to them, MACs, the NLRI ledger and the DF
 * election. Naming follows FRR (evpn_es_*, evpn_es_evi_*, evpn_es_vtep_*).
 *
 * The model owns no event loop: the daemon feeds it events (routes, link
 * changes, learned MACs, health verdicts) and calls evpn_tick() when
 * evpn_next_deadline() is due. All outbound effects go through two narrow
 * interfaces — struct fib (maps) and struct route_out (BGP) — and the model
 * only writes when a value changes. Time is milliseconds of a monotonic
 * clock supplied by the caller, so tests drive it with a fake clock. */
#ifndef XEVPN_CTL_EVPN_H
#define XEVPN_CTL_EVPN_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "esi.h"
#include "fib.h"
#include "hash.h"
#include "routes.h"

#ifndef XEVPN_CTL_MAX_ES
#define XEVPN_CTL_MAX_ES	4096	/* ES ids 1..MAX (local and remote) */
#endif
#ifndef XEVPN_CTL_MAX_ES_VTEPS
#define XEVPN_CTL_MAX_ES_VTEPS	16	/* PEs on one ES */
#endif
#ifndef XEVPN_CTL_MAX_FLOOD
#define XEVPN_CTL_MAX_FLOOD	256	/* remote VTEPs in one BD's flood list */
#endif

struct evpn;

/* ---- VTEPs: remote PEs known from any route ---- */
struct evpn_vtep {
	struct hnode hn;
	uint32_t ip;
	uint32_t flags;
#define EVPN_VTEP_HB_DOWN	(1u << 0)	/* health engine declared it dead: pruned from ES groups */
	unsigned n_routes;	/* ledger entries from it; freed at zero */
};

/* ---- bridge domains (one EVI = one L2 VNI) ---- */
struct evpn_bd {
	struct hnode hn;
	uint32_t vni;
	char name[XCFG_NAME_MAX];
	uint32_t flags;
#define EVPN_BD_IMET_ADV	(1u << 0)	/* our type-3 is advertised */
	uint8_t rd[8];
	struct xcfg_bd cfg;
	uint32_t flood[XEVPN_CTL_MAX_FLOOD];	/* VTEPs with a type-3 for this VNI, sorted */
	unsigned n_flood;
	bool flood_written;	/* the dataplane holds flood[] */
};

/* ---- Ethernet segments ---- */
struct evpn_es_vtep {
	uint32_t ip;
	uint32_t flags;
#define EVPN_ES_VTEP_AD_ES	(1u << 0)	/* its per-ES A-D route is present */
#define EVPN_ES_VTEP_ES_RT	(1u << 1)	/* its type-4 ES route is present: DF candidate */
#define EVPN_ES_VTEP_SINGLE	(1u << 2)	/* per-ES A-D carries the single-active flag */
#define EVPN_ES_VTEP_DF_CLAIM	(1u << 3)	/* it says (heartbeat role) it is DF: don't-preempt hint */
	uint16_t df_pref;	/* preference algorithm: from config peers[] */
	bool df_dont_preempt;
	unsigned n_evi_ad;	/* per-EVI A-D routes from it on this ES */
};

struct evpn_es_evi {
	struct evpn_bd *bd;
	uint32_t flags;
#define EVPN_ES_EVI_DF		(1u << 0)	/* this leaf is DF for (ES, BD) */
#define EVPN_ES_EVI_DF_WRITTEN	(1u << 1)	/* the dataplane holds the DF flag */
#define EVPN_ES_EVI_AD_ADV	(1u << 2)	/* our per-EVI A-D is advertised */
	uint32_t df_ip;		/* elected DF, 0 = none */
	uint64_t df_changed_ms;
	const char *df_reason;	/* reason of the last election (static string) */
	uint32_t evi_ad[XEVPN_CTL_MAX_ES_VTEPS];	/* remote PEs with a per-EVI A-D for (ES, VNI) */
	unsigned n_evi_ad;
};

struct evpn_es {
	struct hnode hn;
	esi_t esi;
	char name[XCFG_NAME_MAX];
	uint32_t id;		/* dataplane ES id */
	uint32_t flags;
#define EVPN_ES_LOCAL		(1u << 0)	/* configured here: a member port on this leaf */
#define EVPN_ES_OPER_UP		(1u << 1)	/* member port has carrier */
#define EVPN_ES_HOLD		(1u << 2)	/* startup / link-up hold: not forwarding, not advertised */
#define EVPN_ES_ADV		(1u << 3)	/* our per-ES A-D and type-4 are advertised */
#define EVPN_ES_DF_WAIT		(1u << 4)	/* DF wait timer running: non-DF everywhere */
#define EVPN_ES_FENCED		(1u << 5)	/* self-fenced by the health engine */
#define EVPN_ES_UNDERLAY_DOWN	(1u << 6)	/* no uplink: cannot reach peers */
#define EVPN_ES_GROUP_WRITTEN	(1u << 7)	/* the dataplane holds group[] */
#define EVPN_ES_STATE_WRITTEN	(1u << 8)	/* the dataplane holds written_state */
	struct xcfg_es cfg;	/* local ES only */
	uint32_t ifindex;	/* local member port */
	uint64_t hold_until_ms;
	uint64_t df_wait_until_ms;
	struct evpn_es_vtep vteps[XEVPN_CTL_MAX_ES_VTEPS];	/* remote PEs, sorted by ip */
	unsigned n_vteps;
	struct evpn_es_evi *evis;	/* local ES: one per BD the port is in */
	unsigned n_evis;
	uint32_t group[XEVPN_CTL_MAX_ES_VTEPS];	/* last written VTEP set */
	unsigned n_group;
	struct fib_es written_state;
	unsigned n_macs;	/* remote MACs pointing at this ES */
	uint64_t df_changes;
};

/* ---- MACs ---- */
struct evpn_mac_path {	/* one remote type-2 for the MAC */
	uint32_t vtep;
	uint32_t seq;
	esi_t esi;
	bool sticky;
};

struct evpn_mac {
	struct hnode hn;
	uint32_t vni;
	uint8_t mac[MAC_LEN];
	uint32_t flags;
#define EVPN_MAC_LOCAL		(1u << 0)	/* learned on a local access port */
#define EVPN_MAC_ADV		(1u << 1)	/* our type-2 is advertised */
#define EVPN_MAC_WRITTEN	(1u << 2)	/* the dataplane holds `written` */
	uint32_t loc_ifindex;
	struct evpn_es *loc_es;	/* local port is on this ES */
	uint32_t loc_seq;	/* sequence we advertise */
	uint64_t last_seen_ms;
	struct evpn_mac_path *paths;
	unsigned n_paths, cap_paths;
	struct fib_fdb written;
};

/* ---- the NLRI ledger: what each received route said, by NLRI ---- */
struct evpn_ledger_key {	/* the NLRI fields of struct evpn_route, zero-padded */
	uint8_t type;
	uint8_t ip_len;
	uint8_t mac[MAC_LEN];
	uint8_t rd[8];
	esi_t esi;
	uint8_t pad[2];
	uint32_t etag;
	uint32_t originator;
	uint8_t ip[16];
};

struct evpn_ledger_ent {
	struct hnode hn;
	struct evpn_ledger_key key;
	uint32_t pe;		/* originating PE (VTEP) */
	uint32_t vni;
	uint32_t seq;
	bool single_active;
};

struct evpn_stats {
	uint64_t routes_in, withdraws_in, withdraw_unknown, routes_ignored;
	uint64_t routes_out, withdraws_out, fib_errors, route_errors;
	uint64_t mac_moves, df_changes, mass_withdraws;
	uint64_t routes_invalid;	/* unknown ESI type, missing ESI, VNI beyond 24 bits */
	uint64_t routes_not_imported;	/* none of its route targets is imported here */
	uint64_t sticky_conflicts;	/* local learn of a MAC another PE holds static */
};

struct evpn {
	const struct xcfg *cfg;	/* current configuration (owned by the daemon) */
	uint32_t self;		/* our VTEP */
	struct fib fib;
	struct route_out out;
	struct htab bds, es, vteps, macs, ledger;
	struct evpn_es *es_by_id[XEVPN_CTL_MAX_ES + 1];
	uint64_t next_age_ms;
	uint64_t now_ms;
	uint64_t startup_hold_until_ms;
	bool started;		/* startup hold over: writes and advertisements allowed */
	bool underlay_up;
	struct evpn_stats stats;
};

/* Lifecycle. evpn_new() builds the local objects from cfg but writes nothing
 * until evpn_start(): restart adoption reads the dataplane and RIB first. */
struct evpn *evpn_new(const struct xcfg *cfg, struct fib fib, struct route_out out, uint64_t now_ms);
void evpn_free(struct evpn *e);
void evpn_start(struct evpn *e, uint64_t now_ms);	/* begin startup hold */
void evpn_bgp_converged(struct evpn *e);		/* end hold early */
/* Restart adoption, before evpn_start(): the dataplane shows the local ES
 * forwarding (no hold is started again) and its DF bit per BD. */
void evpn_es_adopt(struct evpn *e, struct evpn_es *es, bool forwarding);
void evpn_es_evi_adopt_df(struct evpn *e, struct evpn_es *es, uint32_t vni, bool is_df);
void evpn_readvertise(struct evpn *e);	/* the speaker lost our routes (restart) */
int evpn_apply_config(struct evpn *e, const struct xcfg *new_cfg, char err[XCFG_ERR_MAX]);

/* Clock: process expired timers; returns ms until the next deadline (or -1). */
int64_t evpn_tick(struct evpn *e, uint64_t now_ms);

/* Events in. */
int evpn_route_input(struct evpn *e, const struct evpn_route *r);
void evpn_link_event(struct evpn *e, const char *ifname, uint32_t ifindex, bool up);
void evpn_underlay_event(struct evpn *e, bool up);
int evpn_mac_learn(struct evpn *e, uint32_t vni, const uint8_t mac[MAC_LEN], uint32_t ifindex);
void evpn_vtep_health(struct evpn *e, uint32_t vtep, bool alive);
void evpn_es_fence(struct evpn *e, struct evpn_es *es, bool fenced);

/* Objects. */
struct evpn_bd *evpn_bd_find(struct evpn *e, uint32_t vni);
struct evpn_bd *evpn_bd_add(struct evpn *e, const struct xcfg_bd *cfg);
void evpn_bd_del(struct evpn *e, struct evpn_bd *bd);

struct evpn_es *evpn_es_find(struct evpn *e, const esi_t *esi);
struct evpn_es *evpn_es_new(struct evpn *e, const esi_t *esi);	/* remote ES, refcounted by routes */
struct evpn_es *evpn_es_local_add(struct evpn *e, const struct xcfg_es *cfg);
void evpn_es_local_del(struct evpn *e, struct evpn_es *es);
void evpn_es_free(struct evpn *e, struct evpn_es *es);
bool evpn_es_in_service(const struct evpn_es *es);

struct evpn_es_vtep *evpn_es_vtep_find(struct evpn_es *es, uint32_t ip);
struct evpn_es_vtep *evpn_es_vtep_add(struct evpn_es *es, uint32_t ip);
void evpn_es_vtep_del(struct evpn_es *es, struct evpn_es_vtep *v);
/* A PE counts as an ES member (aliasing group, DF candidate on an EVI) only
 * with both its per-ES A-D and a per-EVI A-D, and when not health-pruned. */
bool evpn_es_vtep_active(struct evpn *e, const struct evpn_es *es, const struct evpn_es_vtep *v);
int evpn_es_group(struct evpn *e, const struct evpn_es *es, uint32_t *out, unsigned max);

struct evpn_es_evi *evpn_es_evi_find(struct evpn_es *es, uint32_t vni);

/* DF election for (ES, BD): recomputes, updates es_evi, writes the
 * dataplane only on change. Returns true when the DF changed; *reason says
 * why the result is what it is. */
bool evpn_es_evi_df_run(struct evpn *e, struct evpn_es *es, struct evpn_es_evi *evi,
			const char **reason);
void evpn_es_df_run_all(struct evpn *e, struct evpn_es *es);

struct evpn_mac *evpn_mac_find(struct evpn *e, uint32_t vni, const uint8_t mac[MAC_LEN]);
const struct evpn_mac_path *evpn_mac_best(const struct evpn_mac *m);

/* Pure DF algorithms (evpn_df.c). Candidates are unique IPv4 addresses. */
struct evpn_df_cand {
	uint32_t ip;
	uint16_t pref;
	bool dont_preempt;
};
uint32_t evpn_df_modulo(const struct evpn_df_cand *c, unsigned n, uint32_t vni);
uint32_t evpn_df_hrw(const struct evpn_df_cand *c, unsigned n, uint32_t vni, const esi_t *esi);
uint32_t evpn_df_hrw_weight(uint32_t vni, const esi_t *esi, uint32_t ip);
uint32_t evpn_df_hrw_digest(uint32_t vni, const esi_t *esi);
/* Highest preference, then don't-preempt set, then lowest IP (RFC 9785 §4.1);
 * with cur_df a candidate whose dont_preempt is set, it stays DF (§4.2). */
uint32_t evpn_df_pref(const struct evpn_df_cand *c, unsigned n, uint32_t cur_df, bool *kept);
uint32_t evpn_df_pick(uint8_t alg, const struct evpn_df_cand *c, unsigned n, uint32_t vni,
		      const esi_t *esi, uint32_t cur_df, const char **reason);

#endif
