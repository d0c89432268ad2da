/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fabric with the product running on it: the DESIGN.md topology of
 * selftests/lib/fabric.h plus one xevpnd per leaf, configured for the
 * multi-homing scenarios, and read-only access to each leaf's pinned maps.
 *
 *                    [rr] gobgpd route reflector
 *                      |
 *   [ul] br0 ---+--- [leaf1 xevpnd] acc0 ---- nic0 \
 *               +--- [leaf2 xevpnd] acc0 ---- nic1 -+- lag0 [server] 198.51.100.10
 *               +--- [leaf3 xevpnd] acc0 ---- eth0      [host3]  198.51.100.30
 *
 * Every leaf serves FN_VNIS bridge domains, VNI FN_VNI_BASE.. : the first is
 * untagged on acc0 (all traffic runs there), the others are VLANs of acc0
 * (only the DF election looks at them). leaf1 and leaf2 put acc0 on the ESI
 * of the fabric, all-active, modulo DF election.
 *
 * Heartbeat (on unless fn_opts.no_health): each leaf has a veth pair
 * hbd0 <-> hb0. hbd0 is an ordinary access port of bd100 in the dataplane,
 * hb0 carries the IPv6 link-local address xevpnd's health engine binds, so a
 * beat leaves hb0, enters XDP on hbd0, is replicated by TC over VXLAN and
 * comes out of the other leaves' hbd0: it proves the forwarding path. Groups:
 * FN_HB_ES_GROUP (leaf1, leaf2: fast DF takeover) and FN_HB_BD_GROUP (all
 * three leaves: leaf3 prunes a silent VTEP from its ES next-hop group).
 *
 * Files: <state>/fabric/<leaf>.conf, <leaf>.sock; xevpnd logs go to
 * <state>/logs/xevpnd-<leaf>.log, its pidfile to <state>/pids/ (the sweeper
 * stops it if this process dies). Maps are read from
 * <leaf bpffs>/<instance>/ with plain bpf_obj_get(): nothing here loads or
 * attaches a program.
 */
#ifndef XEVPN_SELFTESTS_FABNET_H
#define XEVPN_SELFTESTS_FABNET_H

#include <stdbool.h>
#include <stdint.h>

#include <xevpn/counters.h>
#include <xevpn/maps.h>

#include "fabric.h"

#define FN_VNI_BASE      100
#define FN_VNIS          8
#define FN_INSTANCE      "xevpn"
#define FN_ES_LEAVES     2        /* leaf1, leaf2 */

struct fn_opts {
	unsigned int startup_hold_ms;  /* default 3000 */
	unsigned int df_wait_ms;       /* default 3000 (DESIGN.md default) */
	unsigned int bgp_hold_s;       /* BGP hold time, default 9 */
	const char *df_algorithm;      /* default "modulo" */
	bool quiet;                    /* no progress lines on stderr */
	/* heartbeat; defaults are etc/xevpnd.conf.example's */
	bool no_health;                /* no hbd0/hb0, no health section */
	unsigned int hb_interval_ms;   /* default 100 */
	unsigned int hb_miss;          /* default 3 */
	unsigned int hb_rise;          /* default 3 */
	unsigned int hb_fall;          /* default 3 */
	unsigned int hb_cooldown_ms;   /* default 1000 */
};

#define FN_HB_IF        "hb0"          /* engine side: link-local address */
#define FN_HB_DP_IF     "hbd0"         /* dataplane side: access port of bd100 */
#define FN_HB_ES_GROUP  "es-server1"
#define FN_HB_BD_GROUP  "bd100"

struct fn {
	struct xt_fabric x;
	struct fn_opts o;
	char xevpnd_bin[XT_PATH_MAX];
	char xevpnctl_bin[XT_PATH_MAX];               /* "" when not found */
	char conf[XT_FABRIC_LEAVES][XT_PATH_MAX];
	char sock[XT_FABRIC_LEAVES][XT_PATH_MAX];
	char pins[XT_FABRIC_LEAVES][XT_PATH_MAX];     /* <bpffs>/<instance> */
	struct xt_proc xevpnd[XT_FABRIC_LEAVES];
	bool up;
};

/* The xevpnd binary: $XEVPN_BIN/xevpnd, else next to this executable
 * (../xevpnd, ../../xevpnd), else build/release/xevpnd. */
int fn_find_xevpnd(char *path, size_t len);

/* Build the topology, wait for BGP, write the configs, start every xevpnd,
 * install permanent neighbour entries on the hosts and wait until
 * fn_converged(). On failure, prints why (with log tails) and tears down. */
int fn_up(struct fn *f, const struct fn_opts *o, int timeout_ms);
void fn_down(struct fn *f);

int fn_xevpnd_start(struct fn *f, int leaf);
int fn_xevpnd_kill(struct fn *f, int leaf);        /* SIGKILL */
bool fn_xevpnd_alive(struct fn *f, int leaf);
void fn_xevpnd_log_tail(struct fn *f, int leaf, int lines);

/* Fabric converged for the multi-homing tests:
 *   leaf3 holds exactly one ES group, with both ES VTEPs;
 *   leaf1/leaf2: the ES is local and out of hold, and for every VNI exactly
 *   one of them is DF;
 *   the FDBs point the server MAC at the ES (leaf3) and host3's MAC at
 *   VTEP 192.0.2.3 (leaf1, leaf2).
 * Returns 1 when converged, 0 when not (why[] says what is missing), or a
 * negative errno when the maps cannot be read. */
int fn_converged(struct fn *f, char *why, size_t whylen);
/* Send a little traffic both ways (so the leaves learn the MACs) and poll
 * fn_converged() until true. */
int fn_wait_converged(struct fn *f, int timeout_ms);

/* ---- xevpnctl and the heartbeat ---- */

/* `xevpnctl -s <leaf socket> [-j] <cmd>`: stdout in out[]. Returns the exit
 * status (0 = ok) or a negative errno (-ENOENT: no xevpnctl binary). */
int fn_ctl(struct fn *f, int leaf, bool json, const char *cmd, char *out, size_t len);

/* One heartbeat peer as a leaf sees it in a group (`show health`); times
 * are CLOCK_MONOTONIC ms, comparable with xt_now_ms(). */
struct fn_hb_peer {
	bool alive, pruned;
	char verdict[16];              /* unknown / fit / unfit */
	int64_t down_at_ms;            /* last declared dead (0 = never) */
	int64_t unfit_at_ms;           /* last unfit verdict acted on (0 = never) */
	int64_t beats;
};
/* 0, -ENOENT (no such group or peer), or another negative errno. */
int fn_hb_peer(struct fn *f, int leaf, const char *group, int peer_leaf, struct fn_hb_peer *p);
/* xevpnd's heartbeat action counters of a leaf. */
int fn_hb_actions(struct fn *f, int leaf, int64_t *prunes, int64_t *restores);
/* Every leaf hears every other member of its groups (alive, not unfit). */
int fn_wait_hb(struct fn *f, int timeout_ms);

/* ---- maps of a leaf (read-only) ---- */
int fn_map_fd(struct fn *f, int leaf, const char *map);   /* caller closes */
/* The single remote ES group of leaf3 (or of any leaf with exactly one
 * entry in xevpn_es_nh when `only` is set); es_id may be NULL. */
int fn_es_group(struct fn *f, int leaf, uint32_t *es_id, struct xevpn_nh_group *g);
int fn_es_group_by_id(struct fn *f, int leaf, uint32_t es_id, struct xevpn_nh_group *g);
/* The local ES of an ES leaf (flags XEVPN_ES_F_LOCAL). */
int fn_local_es(struct fn *f, int leaf, uint32_t *es_id, struct xevpn_es *es);
/* 1 if the leaf is DF for (es_id, vni), 0 if not, negative errno. */
int fn_is_df(struct fn *f, int leaf, uint32_t es_id, uint32_t vni);
int fn_fdb_get(struct fn *f, int leaf, uint32_t vni, const char *mac,
	       struct xevpn_fdb_entry *e);
int fn_counters(struct fn *f, int leaf, struct xevpn_ctr_value out[XEVPN_CTR_MAX]);
int fn_counter(struct fn *f, int leaf, enum xevpn_ctr c, uint64_t *pkts);
/* One line per leaf with every non-zero counter by name (diagnostics). */
void fn_print_counters(struct fn *f);

/* Every entry of every map of a leaf (key and value bytes, inner ES groups
 * resolved to their content), for before/after comparisons. Heap string,
 * caller frees. Counters and the learn ring are left out. */
char *fn_map_snapshot(struct fn *f, int leaf);

/* VTEP index (0..2) of a network-order address in the fabric, or -1. */
int fn_vtep_leaf(uint32_t be_addr);
uint32_t fn_vtep_be(int leaf);

#endif
