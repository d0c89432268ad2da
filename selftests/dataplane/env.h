/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Test leaf for the dataplane packet suites: a private network namespace with
 * veth ports and a dataplane instance (not pinned) programmed through
 * libxevpn-dp, plus builders of the frames the suites send.
 *
 *      [acc1] access, VNI 100 untagged, single-homed       H1 02:..:00:01 (static)
 *      [acc2] access, ES 1 (local, peer 192.0.2.2), VNI 100 H2 02:..:00:02 (on ES 1)
 *      [acc3] access, VLAN 10 -> VNI 100, VLAN 20 -> VNI 200, H3 02:..:00:03 (VLAN 10)
 *      [up0]  uplink 192.0.2.1/24 = local VTEP, MAC 02:00:00:00:01:01
 *             VTEP 192.0.2.2 (R1 behind it), ES 2 = {192.0.2.3, 192.0.2.4} (R2 on it),
 *             192.0.2.9 without neighbour, 203.0.113.1 without route
 */
#ifndef XEVPN_DP_TEST_ENV_H
#define XEVPN_DP_TEST_ENV_H

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <arpa/inet.h>
#include "dp/dp.h"

struct env {
	struct xevpn_dp *dp;
	__u32 acc1, acc2, acc3, up0;
	int xdp_access, xdp_uplink, tc;
};

#define VNI_A 100
#define VNI_B 200
#define ES_LOCAL 1
#define ES_REMOTE 2

extern const __u8 MAC_H1[6], MAC_H2[6], MAC_H3[6], MAC_H4[6], MAC_R1[6], MAC_R2[6],
	MAC_RNONEIGH[6], MAC_RNOROUTE[6], MAC_UNKNOWN[6], MAC_BCAST[6], MAC_UP0[6], MAC_UP0P[6],
	MAC_NH2[6], MAC_NH3[6], MAC_NH4[6], MAC_ZERO[6], MAC_MCAST[6];
#define IP(s) inet_addr(s)

/* Pin root the instance reports (nothing is pinned); NULL = the default. */
extern const char *env_pin_root;
/* Private netns + ports + dataplane with the base programming above. */
int env_setup(struct env *e);
void env_teardown(struct env *e);
__u64 env_ctr(struct env *e, enum xevpn_ctr c);
/* Sum of verdict counters (one per packet per program). */
__u64 env_verdicts(struct env *e);

/* Frame builders; return the length written to b. */
struct __attribute__((packed)) inner_udp {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	__u8 data[18];
};
struct __attribute__((packed)) inner_udp_vlan {
	__u8 dst[6], src[6];
	__be16 tpid, tci, proto;
	struct iphdr ip;
	struct udphdr udp;
	__u8 data[18];
};
struct __attribute__((packed)) vxlan_udp {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	__be32 vx_flags, vx_vni;
	struct inner_udp inner;
};

/* inner frame dst <- src, IPv4/UDP with the given UDP source port (flow). */
size_t mk_inner(__u8 *b, const __u8 *dst, const __u8 *src, __u16 flow_port);
/* same with an 802.1Q tag */
size_t mk_inner_vlan(__u8 *b, const __u8 *dst, const __u8 *src, __u16 vlan, __u16 flow_port);
/* VXLAN frame as received on up0 from src_vtep, inner dst <- src */
size_t mk_vxlan(__u8 *b, const char *src_vtep, __u32 vni, const __u8 *dst, const __u8 *src);
/* expected encapsulation of an inner frame by this leaf toward vtep (next hop MAC nh) */
size_t mk_encap(__u8 *b, const char *vtep, const __u8 *nh, __u32 vni, const __u8 *inner,
		size_t inner_len);

#endif
