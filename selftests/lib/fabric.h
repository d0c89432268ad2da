/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The DESIGN.md test topology in network namespaces (named <prefix>-<ns>):
 *
 *                    [rr] 192.0.2.254  gobgpd route reflector, AS 65000
 *                      | upl0
 *   [ul] bridge br0 ---+ rr
 *        (underlay,    + l1 ---- upl0 [leaf1] 192.0.2.1  acc0 ---- nic0 \
 *         MTU 1600)    + l2 ---- upl0 [leaf2] 192.0.2.2  acc0 ---- nic1 -+ [server]
 *                      + l3 ---- upl0 [leaf3] 192.0.2.3  acc0 ---- eth0   [host3]
 *
 *   server: lag0 198.51.100.10/24, MAC 02:00:00:00:01:10 (also on nic0/nic1);
 *           lag.bpf.c hashes lag0's egress flows over nic0/nic1 and hands
 *           both NICs' ingress to lag0 (static LAG on ESI
 *           00:11:22:33:44:55:00:00:00:01 at leaf1/leaf2's acc0).
 *   host3:  eth0 198.51.100.30/24, MAC 02:00:00:00:01:30.
 *
 * Each leaf gets: its namespace, VTEP address on upl0, an access port acc0,
 * a gobgpd (iBGP client of the RR, gRPC API on 127.0.0.1:50051 inside the
 * leaf), a private bpffs at <state>/bpf-<leaf> and nothing else: suites
 * start xevpnd themselves with the names, ifindexes and paths below.
 * Veth ends a leaf may XDP_REDIRECT into (server NICs, host3's eth0, the
 * bridge ports l1..l3) run an XDP_PASS program so redirected frames are
 * delivered; host-side devices have TX checksum offload off; IPv6 is off on
 * the server and host3 unless asked for.
 */
#ifndef XEVPN_SELFTESTS_FABRIC_H
#define XEVPN_SELFTESTS_FABRIC_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "gobgpd.h"
#include "netns.h"

#define XT_FABRIC_LEAVES   3
#define XT_FABRIC_AS       65000
#define XT_FABRIC_ESI      "00:11:22:33:44:55:00:00:00:01"
#define XT_FABRIC_RR_IP    "192.0.2.254"
#define XT_FABRIC_SERVER_IP  "198.51.100.10"
#define XT_FABRIC_SERVER_MAC "02:00:00:00:01:10"
#define XT_FABRIC_HOST3_IP   "198.51.100.30"
#define XT_FABRIC_HOST3_MAC  "02:00:00:00:01:30"
#define XT_FABRIC_HOST_PLEN  24
#define XT_FABRIC_UNDERLAY_MTU 1600

struct lag;  /* lag.skel.h */

struct xt_fabric_leaf {
	char ns[16];                 /* short name: "leaf1" */
	char netns[XT_NS_NAME_MAX];  /* full name for `ip netns exec` */
	char vtep[16];               /* "192.0.2.1" (on upl0, /24) */
	char uplink[IFNAMSIZ];       /* "upl0": underlay, VXLAN */
	char access[IFNAMSIZ];       /* "acc0": to the server (leaf1/2) or host3 */
	int uplink_ifindex;          /* inside the leaf namespace */
	int access_ifindex;
	bool on_es;                  /* acc0 belongs to XT_FABRIC_ESI */
	char bpffs[XT_PATH_MAX];     /* private bpffs for this leaf's pins */
	char api_addr[32];           /* gobgpd gRPC API, inside the leaf */
	struct xt_gobgpd bgp;
};

struct xt_fabric_opts {
	bool no_bgp;                 /* topology only: no gobgpd at all */
	bool host_ipv6;              /* keep IPv6 on server/host3 interfaces */
	unsigned int hold_time_s;    /* BGP hold time (default 9) */
};

struct xt_fabric {
	struct xt_fabric_leaf leaf[XT_FABRIC_LEAVES];
	struct {
		char ns[16];                  /* "rr" */
		char netns[XT_NS_NAME_MAX];
		char ip[16];                  /* XT_FABRIC_RR_IP */
		char api_addr[32];
		struct xt_gobgpd bgp;
	} rr;
	struct {
		char ns[16];                  /* "ul" */
		char bridge[IFNAMSIZ];        /* "br0" */
		char port[XT_FABRIC_LEAVES][IFNAMSIZ];  /* "l1".."l3" */
	} underlay;
	struct {
		char ns[16];                  /* "server" */
		char netns[XT_NS_NAME_MAX];
		char lag[IFNAMSIZ];           /* "lag0": holds the address */
		char nic[2][IFNAMSIZ];        /* "nic0" -> leaf1, "nic1" -> leaf2 */
		int lag_ifindex;
		int nic_ifindex[2];
		char ip[16];
		char mac[18];
	} server;
	struct {
		char ns[16];                  /* "host3" */
		char netns[XT_NS_NAME_MAX];
		char ifname[IFNAMSIZ];        /* "eth0" -> leaf3 */
		int ifindex;
		char ip[16];
		char mac[18];
	} host3;
	char esi[32];                         /* XT_FABRIC_ESI */
	struct lag *lag;                      /* server LAG programs */
	bool bgp;                             /* gobgpd instances running */
};

/* Build everything; on failure, whatever was built is torn down. */
int xt_fabric_create(struct xt_fabric *f, const struct xt_fabric_opts *opts);
/* Stop daemons, delete namespaces and mounts. Idempotent. */
void xt_fabric_destroy(struct xt_fabric *f);

/* Every leaf's session to the RR and the RR's to every leaf Established. */
int xt_fabric_wait_bgp(struct xt_fabric *f, int timeout_ms);

/* LAG member state as the server sees it (member 0 = nic0 to leaf1). */
int xt_fabric_lag_member_set(struct xt_fabric *f, int member, bool up);
/* Server link failure: nic<member> down (the leaf's acc0 loses carrier) and
 * the LAG stops using it; `up` restores both (LAG member last, after the
 * link is up again). */
int xt_fabric_es_link_set(struct xt_fabric *f, int member, bool up);
/* Snapshot of the LAG counters (enum lag_counter order, LAG_CNT_MAX values). */
int xt_fabric_lag_counters(struct xt_fabric *f, uint64_t *out, int n);

#endif
