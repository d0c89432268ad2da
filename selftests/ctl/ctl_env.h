/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Common ground of the xevpnd netns suites: the fabric topology of
 * selftests/lib/fabric.h with one xevpnd per leaf, its config, start/stop,
 * logs, and readers of the maps xevpnd pins.
 */
#ifndef XEVPN_SELFTESTS_CTL_ENV_H
#define XEVPN_SELFTESTS_CTL_ENV_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fabric.h"
#include "netns.h"
#include <xevpn/maps.h>

#define CTL_INSTANCE	"xevpn"
#define CTL_VNI		100

extern struct xt_fabric fab;
extern struct xt_proc xd[XT_FABRIC_LEAVES];
extern char conf[XT_FABRIC_LEAVES][XT_PATH_MAX], sock[XT_FABRIC_LEAVES][XT_PATH_MAX];
extern char pins[XT_FABRIC_LEAVES][XT_PATH_MAX];	/* pin root of each leaf's xevpnd */
extern char bin_xevpnd[PATH_MAX], bin_xevpnctl[PATH_MAX];

/* Leaf config options; NULL fields take the defaults noted. */
struct ctl_leaf_conf {
	const char *api;		/* gobgp-api (the leaf's gobgpd) */
	const char *http_metrics;	/* http-metrics (none) */
	const char *df_wait;		/* timers.df-wait ("1s") */
	const char *extra_port;		/* second access port of the BD (none) */
};

/* xevpnd and xevpnctl from $XEVPN_BIN or next to the suite binary. */
void ctl_find_bins(void);
/* Binaries, fabric topology, BGP sessions to the RR. */
void ctl_fabric_up(void);
/* IPv4 forwarding on leaf i's underlay port (bpf_fib_lookup() toward a VTEP). */
void ctl_uplink_forwarding(int i);
/* Sets conf/sock/pins of leaf i and writes the base config (global, BD, ES)
 * to a temporary file: add sections to the stream, then ctl_conf_end(). */
FILE *ctl_conf_begin(int i, const struct ctl_leaf_conf *o);
/* Closes the stream and moves the config into place at conf[i]. */
void ctl_conf_end(int i, FILE *f);
void ctl_xd_start(int i);
/* Last lines of every xevpnd log. */
void ctl_logs(int lines);
/* Stops every xevpnd (logs first when $XEVPN_CTL_LOGS), removes the fabric. */
void ctl_teardown(int log_lines);

/* fd of a map pinned by leaf's xevpnd, negative on error. */
int ctl_pinned(int leaf, const char *map);
/* ES id of the fabric ESI on a leaf (xevpnd's pinned ESI record), 0 if none. */
uint32_t ctl_es_id(int leaf);
/* Next-hop group of ES id on leaf: 0 or -errno. */
int ctl_es_group(int leaf, uint32_t id, struct xevpn_nh_group *g);
/* The group is exactly {a, b} (b NULL: {a}). */
bool ctl_group_is(const struct xevpn_nh_group *g, const char *a, const char *b);
/* Polls (every poll_ms) until leaf's ES group is {a, b}; last group read in g. */
bool ctl_wait_group(int leaf, const char *a, const char *b, int timeout_ms, int poll_ms,
		    struct xevpn_nh_group *g);

/* Polls (every 100 ms) until daemon_flag(leaf, flag) holds. */
bool ctl_wait_flag(int leaf, const char *flag, int timeout_ms, bool (*daemon_flag)(int, const char *));
/* busybox ping from host3 to the server, logged to a fresh file: 0 or -errno. */
int ctl_ping_start(struct xt_proc *p, int count, const char *interval);
/* Waits for (or kills) the ping: replies received; *sent the requests sent (-1 unknown). */
int ctl_ping_wait(struct xt_proc *p, int timeout_ms, int *sent);
/* On every leaf: underlay forwarding, prepare(i) (writes conf[i]), xevpnd
 * started; then each converged (daemon_flag) within 30 s. */
void ctl_leaves_up(void (*prepare)(int), bool (*daemon_flag)(int, const char *), int log_lines);

/*
 * Heartbeat veth pair of leaf i: CTL_HB_DP_IF is an access port of the BD in
 * the dataplane, CTL_HB_IF holds the IPv6 link-local address the health
 * engine binds, so beats cross XDP, TC replication and VXLAN.
 */
#define CTL_HB_IF	"hb0"
#define CTL_HB_DP_IF	"hbd0"
void ctl_hb_port(int i);

#endif
