// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * BPF_PROG_TEST_RUN fixture table for the dataplane: every XDP path, every
 * drop reason, VLAN handling, the BUM rules in TC, malformed input cut at
 * every header boundary. Each case runs in its own process with a private
 * network namespace holding the test leaf of env.h; output bytes are
 * compared with frames built independently here.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "env.h"
#include "pkt.h"

enum fkind { F_NONE, F_ETH, F_ETH_VLAN, F_VXLAN, F_ENCAP, F_ENCAP_ES2 };

/* A frame: an inner Ethernet/IPv4/UDP frame, tagged or not, maybe in VXLAN. */
struct fspec {
	enum fkind k;
	const __u8 *dst, *src;
	__u16 vlan;       /* F_ETH_VLAN */
	__u32 vni;        /* F_VXLAN, F_ENCAP */
	const char *vtep; /* F_VXLAN: source VTEP; F_ENCAP: destination */
	const __u8 *nh;   /* F_ENCAP: next-hop MAC */
};

typedef void (*mutate_fn)(__u8 *b, size_t *len);
typedef void (*setup_fn)(struct env *e);

struct dp_case {
	const char *name;
	enum xevpn_dp_prog prog;
	int port;               /* 1..3 = acc1..acc3, 4 = up0, 0 = none */
	setup_fn setup;
	struct fspec in;
	mutate_fn mutate;
	int err;                /* expected test_run error (kernel refuses) */
	__u32 verdict;
	struct fspec out;       /* F_NONE: output must equal the input */
	enum xevpn_ctr ctr;     /* verdict counter, +1 */
	int local_copies, remote_copies;
	enum xevpn_ctr ev;      /* optional event counter ... */
	int ev_n;               /* ... and its expected value (0 = unchecked) */
};

static size_t build(const struct fspec *s, __u8 *b)
{
	__u8 inner[128];
	size_t n;

	switch (s->k) {
	case F_ETH:
		return mk_inner(b, s->dst, s->src, 1000);
	case F_ETH_VLAN:
		return mk_inner_vlan(b, s->dst, s->src, s->vlan, 1000);
	case F_VXLAN:
		return mk_vxlan(b, s->vtep, s->vni, s->dst, s->src);
	case F_ENCAP:
	case F_ENCAP_ES2:
		n = mk_inner(inner, s->dst, s->src, 1000);
		return mk_encap(b, s->vtep ? s->vtep : "192.0.2.3", s->nh ? s->nh : MAC_NH3, s->vni,
				inner, n);
	default:
		return 0;
	}
}

static __u32 port_ifindex(struct env *e, int port)
{
	switch (port) {
	case 1: return e->acc1;
	case 2: return e->acc2;
	case 3: return e->acc3;
	case 4: return e->up0;
	default: return 0;
	}
}

/* ---- map setups ---- */
static void s_es1_down(struct env *e)
{
	xevpn_dp_es_set(e->dp, ES_LOCAL, &(struct xevpn_es){ .flags = XEVPN_ES_F_LOCAL | XEVPN_ES_F_LINK_DOWN, .ifindex = e->acc2 });
}
static void s_es1_hold(struct env *e)
{
	xevpn_dp_es_set(e->dp, ES_LOCAL, &(struct xevpn_es){ .flags = XEVPN_ES_F_LOCAL | XEVPN_ES_F_HOLD, .ifindex = e->acc2 });
}
static void s_es2_empty(struct env *e) { xevpn_dp_es_nh_set(e->dp, ES_REMOTE, NULL, 0); }
static void s_acc1_disabled(struct env *e)
{
	xevpn_dp_port_set(e->dp, e->acc1, &(struct xevpn_port){ .role = XEVPN_PORT_ACCESS, .vni = VNI_A, .flags = XEVPN_PORT_F_DISABLED });
}
static void s_no_vtep(struct env *e)
{
	xevpn_dp_config_set(e->dp, &(struct xevpn_config){ .underlay_ifindex = e->up0 });
}
static void s_df(struct env *e) { xevpn_dp_es_df_set(e->dp, ES_LOCAL, VNI_A, true); }
static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}
/* DF, with the controller's lease passed 10 s ago / valid 60 s more / set then removed */
static void s_df_lease_expired(struct env *e)
{
	s_df(e);
	xevpn_dp_lease_set(e->dp, mono_ns() - 10000000000ull);
}
static void s_df_lease_valid(struct env *e)
{
	s_df(e);
	xevpn_dp_lease_set(e->dp, mono_ns() + 60000000000ull);
}
static void s_df_lease_none(struct env *e)
{
	s_df_lease_expired(e);
	xevpn_dp_lease_set(e->dp, 0);
}
static void s_fanout(struct env *e)
{
	struct xevpn_flood fl = { .n_vteps = XEVPN_MAX_FLOOD_VTEPS, .n_ports = XEVPN_MAX_FLOOD_PORTS };
	const char *v[] = { "192.0.2.2", "192.0.2.3", "192.0.2.4" };

	for (int i = 0; i < XEVPN_MAX_FLOOD_VTEPS; i++)
		fl.vtep[i] = IP(v[i % 3]);
	fl.port[0].ifindex = e->acc1; /* the ingress port: filtered, not a copy */
	for (int i = 1; i < XEVPN_MAX_FLOOD_PORTS; i++)
		fl.port[i].ifindex = e->acc3;
	xevpn_dp_flood_set(e->dp, VNI_A, &fl);
}

/* ---- mutations of the input ---- */
static void cut13(__u8 *b, size_t *l) { *l = 13; }
static void cut16(__u8 *b, size_t *l) { *l = 16; }
static void cut_l3(__u8 *b, size_t *l) { *l = 14 + 19; }
static void recsum(__u8 *ip);
/* cut an outer IPv4 packet short, keeping its total length consistent */
static void cut_ip(__u8 *b, size_t *l, size_t n)
{
	__be16 tl = htons(n - 14);

	*l = n;
	memcpy(b + 16, &tl, 2);
	recsum(b + 14);
}
static void cut_l4(__u8 *b, size_t *l) { cut_ip(b, l, 14 + 20 + 7); }
static void cut_vx(__u8 *b, size_t *l) { cut_ip(b, l, 14 + 20 + 8 + 7); }
static void cut_inner(__u8 *b, size_t *l) { cut_ip(b, l, 50 + 13); }
static void zero_len(__u8 *b, size_t *l) { *l = 0; }
static void recsum(__u8 *ip) { ip[10] = ip[11] = 0; __u16 c = pkt_csum(ip, (ip[0] & 15) * 4); memcpy(ip + 10, &c, 2); }
static void fix_udp_len(__u8 *b, size_t l, size_t ipoff, size_t ihl)
{
	__be16 tl = htons(l - ipoff);
	memcpy(b + ipoff + 2, &tl, 2);
	(void)ihl;
}
static void vx_no_i(__u8 *b, size_t *l) { b[42] = 0x00; }
static void vx_reserved(__u8 *b, size_t *l) { b[42] = 0x0c; b[43] = 0xff; b[49] = 0x77; }
static void frag_mf(__u8 *b, size_t *l) { b[20] = 0x20; recsum(b + 14); }
static void frag_off(__u8 *b, size_t *l) { b[20] = 0x00; b[21] = 0x10; recsum(b + 14); }
static void ip_tot_long(__u8 *b, size_t *l) { b[16] = 0x05; b[17] = 0xdc; recsum(b + 14); }
static void ip_bad_version(__u8 *b, size_t *l) { b[14] = 0x65; }
static void not_our_vtep(__u8 *b, size_t *l) { b[33] = 77; recsum(b + 14); }
static void other_dport(__u8 *b, size_t *l) { b[36] = 0; b[37] = 53; }
static void arp_ethertype(__u8 *b, size_t *l) { b[12] = 0x08; b[13] = 0x06; }
static void ipv6_inner(__u8 *b, size_t *l) { b[12] = 0x86; b[13] = 0xdd; }
static void inner_vlan(__u8 *b, size_t *l) { b[62] = 0x81; b[63] = 0x00; }
/* outer IPv4 header with one 4-byte option (NOP x4) */
static void ip_options(__u8 *b, size_t *l)
{
	memmove(b + 38, b + 34, *l - 34);
	memset(b + 34, 1, 4);
	*l += 4;
	b[14] = 0x46;
	fix_udp_len(b, *l, 14, 24);
	recsum(b + 14);
}
/* jumbo: grow the inner UDP payload so the frame is n bytes */
static void jumbo(__u8 *b, size_t *l, size_t n)
{
	memset(b + *l, 0xcd, n - *l);
	*l = n;
	fix_udp_len(b, n, 14, 20);
	__be16 ul = htons(n - 34);
	memcpy(b + 38, &ul, 2);
	recsum(b + 14);
}
static void jumbo1600(__u8 *b, size_t *l) { jumbo(b, l, 1600); }
static void jumbo3000(__u8 *b, size_t *l) { jumbo(b, l, 3000); }

#define ETH(d, s) { .k = F_ETH, .dst = d, .src = s }
#define ETHV(d, s, v) { .k = F_ETH_VLAN, .dst = d, .src = s, .vlan = v }
#define VX(from, vni_, d, s) { .k = F_VXLAN, .vtep = from, .vni = vni_, .dst = d, .src = s }
#define ENCAP(to, nh_, d, s) { .k = F_ENCAP, .vtep = to, .nh = nh_, .vni = VNI_A, .dst = d, .src = s }
#define ENCAP_ES2(d, s) { .k = F_ENCAP_ES2, .vni = VNI_A, .dst = d, .src = s }

#define XA XEVPN_DP_PROG_XDP_ACCESS
#define XU XEVPN_DP_PROG_XDP_UPLINK
#define TC XEVPN_DP_PROG_TC
#define C(x) XEVPN_CTR_##x

static struct dp_case cases[] = {
	/* XDP access: forwarding paths */
	{ "encap to single VTEP", XA, 1, NULL, ETH(MAC_R1, MAC_H1), NULL, 0, XDP_REDIRECT, ENCAP("192.0.2.2", MAC_NH2, MAC_R1, MAC_H1), C(ENCAP_VTEP) },
	{ "encap to remote ES member (aliasing)", XA, 1, NULL, ETH(MAC_R2, MAC_H1), NULL, 0, XDP_REDIRECT, ENCAP_ES2(MAC_R2, MAC_H1), C(ENCAP_ES) },
	{ "IPv6 inner encap", XA, 1, NULL, ETH(MAC_R1, MAC_H1), ipv6_inner, 0, XDP_REDIRECT, ENCAP("192.0.2.2", MAC_NH2, MAC_R1, MAC_H1), C(ENCAP_VTEP) },
	{ "local ES port", XA, 1, NULL, ETH(MAC_H2, MAC_H1), NULL, 0, XDP_REDIRECT, { 0 }, C(LOCAL_FWD) },
	{ "local, VLAN pushed", XA, 1, NULL, ETH(MAC_H3, MAC_H1), NULL, 0, XDP_REDIRECT, ETHV(MAC_H3, MAC_H1, 10), C(LOCAL_FWD) },
	{ "tagged to untagged local, VLAN popped", XA, 3, NULL, ETHV(MAC_H1, MAC_H3, 10), NULL, 0, XDP_REDIRECT, ETH(MAC_H1, MAC_H3), C(LOCAL_FWD) },
	{ "tagged encap (inner untagged)", XA, 3, NULL, ETHV(MAC_R1, MAC_H3, 10), NULL, 0, XDP_REDIRECT, ENCAP("192.0.2.2", MAC_NH2, MAC_R1, MAC_H3), C(ENCAP_VTEP) },
	{ "local ES link down -> backup to peer", XA, 1, s_es1_down, ETH(MAC_H2, MAC_H1), NULL, 0, XDP_REDIRECT, ENCAP("192.0.2.2", MAC_NH2, MAC_H2, MAC_H1), C(ES_BACKUP) },
	{ "local ES on hold -> backup to peer", XA, 1, s_es1_hold, ETH(MAC_H2, MAC_H1), NULL, 0, XDP_REDIRECT, ENCAP("192.0.2.2", MAC_NH2, MAC_H2, MAC_H1), C(ES_BACKUP) },
	{ "jumbo local forward", XA, 1, NULL, ETH(MAC_H2, MAC_H1), jumbo3000, 0, XDP_REDIRECT, { 0 }, C(LOCAL_FWD) },
	{ "learn new MAC", XA, 1, NULL, ETH(MAC_H2, MAC_H4), NULL, 0, XDP_REDIRECT, { 0 }, C(LOCAL_FWD), 0, 0, C(LEARN_EVENT), 1 },
	{ "static MAC seen elsewhere: not moved", XA, 3, NULL, ETHV(MAC_H2, MAC_H1, 10), NULL, 0, XDP_REDIRECT, ETH(MAC_H2, MAC_H1), C(LOCAL_FWD), 0, 0, C(LEARN_STATIC_MOVE), 1 },
	/* XDP access: to TC */
	{ "broadcast -> TC", XA, 1, NULL, ETH(MAC_BCAST, MAC_H1), NULL, 0, XDP_PASS, { 0 }, C(TO_TC) },
	{ "multicast -> TC", XA, 1, NULL, ETH(MAC_MCAST, MAC_H1), NULL, 0, XDP_PASS, { 0 }, C(TO_TC) },
	{ "unknown unicast -> TC", XA, 1, NULL, ETH(MAC_UNKNOWN, MAC_H1), NULL, 0, XDP_PASS, { 0 }, C(TO_TC) },
	{ "ARP broadcast -> TC", XA, 1, NULL, ETH(MAC_BCAST, MAC_H1), arp_ethertype, 0, XDP_PASS, { 0 }, C(TO_TC) },
	{ "other BD (VLAN 20) unknown -> TC", XA, 3, NULL, ETHV(MAC_R1, MAC_H3, 20), NULL, 0, XDP_PASS, { 0 }, C(TO_TC) },
	{ "neighbour unresolved -> stack", XA, 1, NULL, ETH(MAC_RNONEIGH, MAC_H1), NULL, 0, XDP_PASS, { 0 }, C(FIB_FALLBACK) },
	{ "not an access port -> stack", XA, 4, NULL, ETH(MAC_R1, MAC_H1), NULL, 0, XDP_PASS, { 0 }, C(PASS_STACK) },
	/* XDP access: drops */
	{ "runt below Ethernet header refused", XA, 1, NULL, ETH(MAC_R1, MAC_H1), cut13, -EINVAL, 0, { 0 }, 0 },
	{ "truncated VLAN tag", XA, 3, NULL, ETHV(MAC_R1, MAC_H3, 10), cut16, 0, XDP_DROP, { 0 }, C(DROP_MALFORMED_L2) },
	{ "zero-length frame refused", XA, 1, NULL, ETH(MAC_R1, MAC_H1), zero_len, -EINVAL, 0, { 0 }, 0 },
	{ "VLAN without BD", XA, 3, NULL, ETHV(MAC_R1, MAC_H3, 30), NULL, 0, XDP_DROP, { 0 }, C(DROP_NO_BD) },
	{ "untagged on trunk without BD", XA, 3, NULL, ETH(MAC_R1, MAC_H3), NULL, 0, XDP_DROP, { 0 }, C(DROP_NO_BD) },
	{ "port disabled", XA, 1, s_acc1_disabled, ETH(MAC_R1, MAC_H1), NULL, 0, XDP_DROP, { 0 }, C(DROP_PORT_DISABLED) },
	{ "ES on hold: ingress dropped", XA, 2, s_es1_hold, ETH(MAC_R1, MAC_H2), NULL, 0, XDP_DROP, { 0 }, C(DROP_ES_HOLD) },
	{ "multicast source MAC", XA, 1, NULL, ETH(MAC_R1, MAC_MCAST), NULL, 0, XDP_DROP, { 0 }, C(DROP_BAD_SRC_MAC) },
	{ "zero source MAC", XA, 1, NULL, ETH(MAC_R1, MAC_ZERO), NULL, 0, XDP_DROP, { 0 }, C(DROP_BAD_SRC_MAC) },
	{ "hairpin", XA, 1, NULL, ETH(MAC_H1, MAC_H4), NULL, 0, XDP_DROP, { 0 }, C(DROP_HAIRPIN) },
	{ "ES group empty", XA, 1, s_es2_empty, ETH(MAC_R2, MAC_H1), NULL, 0, XDP_DROP, { 0 }, C(DROP_ES_GROUP_EMPTY) },
	{ "no route to VTEP", XA, 1, NULL, ETH(MAC_RNOROUTE, MAC_H1), NULL, 0, XDP_DROP, { 0 }, C(DROP_NO_ROUTE) },
	{ "jumbo over underlay MTU", XA, 1, NULL, ETH(MAC_R1, MAC_H1), jumbo1600, 0, XDP_DROP, { 0 }, C(DROP_MTU) },
	{ "no local VTEP configured", XA, 1, s_no_vtep, ETH(MAC_R1, MAC_H1), NULL, 0, XDP_DROP, { 0 }, C(DROP_NO_CONFIG) },
	/* XDP uplink */
	{ "decap to local port", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), NULL, 0, XDP_REDIRECT, ETH(MAC_H1, MAC_R1), C(DECAP_FWD) },
	{ "decap to tagged port", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H3, MAC_R1), NULL, 0, XDP_REDIRECT, ETHV(MAC_H3, MAC_R1, 10), C(DECAP_FWD) },
	{ "decap to local ES", XU, 4, NULL, VX("192.0.2.3", VNI_A, MAC_H2, MAC_R2), NULL, 0, XDP_REDIRECT, ETH(MAC_H2, MAC_R2), C(DECAP_FWD) },
	{ "reserved VXLAN bits ignored", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), vx_reserved, 0, XDP_REDIRECT, ETH(MAC_H1, MAC_R1), C(DECAP_FWD) },
	{ "outer IPv4 options", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), ip_options, 0, XDP_REDIRECT, ETH(MAC_H1, MAC_R1), C(DECAP_FWD) },
	{ "ES link down: re-encap to peer", XU, 4, s_es1_down, VX("192.0.2.3", VNI_A, MAC_H2, MAC_R2), NULL, 0, XDP_REDIRECT, ENCAP("192.0.2.2", MAC_NH2, MAC_H2, MAC_R2), C(ES_BACKUP) },
	{ "ES link down: frame from peer not bounced", XU, 4, s_es1_down, VX("192.0.2.2", VNI_A, MAC_H2, MAC_R1), NULL, 0, XDP_DROP, { 0 }, C(DROP_ES_DOWN_LOOP) },
	{ "overlay to overlay", XU, 4, NULL, VX("192.0.2.3", VNI_A, MAC_R1, MAC_R2), NULL, 0, XDP_DROP, { 0 }, C(DROP_OVERLAY_TRANSIT) },
	{ "overlay broadcast -> TC", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_BCAST, MAC_R1), NULL, 0, XDP_PASS, { 0 }, C(TO_TC) },
	{ "overlay unknown unicast -> TC", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_UNKNOWN, MAC_R1), NULL, 0, XDP_PASS, { 0 }, C(TO_TC) },
	{ "unknown VNI", XU, 4, NULL, VX("192.0.2.2", 300, MAC_H1, MAC_R1), NULL, 0, XDP_DROP, { 0 }, C(DROP_UNKNOWN_VNI) },
	{ "VXLAN I flag clear", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), vx_no_i, 0, XDP_DROP, { 0 }, C(DROP_BAD_VXLAN_FLAGS) },
	{ "outer fragment (MF)", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), frag_mf, 0, XDP_DROP, { 0 }, C(DROP_OUTER_FRAGMENT) },
	{ "outer fragment (offset)", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), frag_off, 0, XDP_DROP, { 0 }, C(DROP_OUTER_FRAGMENT) },
	{ "outer runt refused", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), cut13, -EINVAL, 0, { 0 }, 0 },
	{ "zero-length on uplink refused", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), zero_len, -EINVAL, 0, { 0 }, 0 },
	{ "truncated outer IPv4", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), cut_l3, 0, XDP_DROP, { 0 }, C(DROP_MALFORMED_L3) },
	{ "truncated outer UDP", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), cut_l4, 0, XDP_DROP, { 0 }, C(DROP_MALFORMED_L4) },
	{ "truncated VXLAN header", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), cut_vx, 0, XDP_DROP, { 0 }, C(DROP_MALFORMED_VXLAN) },
	{ "truncated inner Ethernet", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), cut_inner, 0, XDP_DROP, { 0 }, C(DROP_INNER_MALFORMED) },
	{ "IPv4 total length beyond frame", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), ip_tot_long, 0, XDP_DROP, { 0 }, C(DROP_MALFORMED_L3) },
	{ "IPv4 bad version", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), ip_bad_version, 0, XDP_DROP, { 0 }, C(DROP_MALFORMED_L3) },
	{ "inner VLAN tag", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), inner_vlan, 0, XDP_DROP, { 0 }, C(DROP_INNER_VLAN) },
	{ "not our VTEP -> stack", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), not_our_vtep, 0, XDP_PASS, { 0 }, C(PASS_STACK) },
	{ "other UDP port -> stack", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), other_dport, 0, XDP_PASS, { 0 }, C(PASS_STACK) },
	{ "ARP on uplink -> stack", XU, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), arp_ethertype, 0, XDP_PASS, { 0 }, C(PASS_STACK) },
	/* TC: BUM replication rules */
	{ "access BUM: local + ingress replication, not back to ingress", TC, 1, NULL, ETH(MAC_BCAST, MAC_H1), NULL, 0, TC_ACT_SHOT, { 0 }, C(TC_FLOODED), 2, 2, C(FILTER_INGRESS_PORT), 1 },
	{ "access BUM from ES port, not DF: local bias floods locally", TC, 2, NULL, ETH(MAC_BCAST, MAC_H2), NULL, 0, TC_ACT_SHOT, { 0 }, C(TC_FLOODED), 2, 2, C(FILTER_DF), 0 },
	{ "tagged access BUM", TC, 3, NULL, ETHV(MAC_BCAST, MAC_H3, 10), NULL, 0, TC_ACT_SHOT, { 0 }, C(TC_FLOODED), 2, 2, C(FILTER_INGRESS_PORT), 1 },
	{ "overlay BUM, DF: all local ports", TC, 4, s_df, VX("192.0.2.3", VNI_A, MAC_BCAST, MAC_R2), NULL, 0, TC_ACT_SHOT, { 0 }, C(TC_FLOODED), 3, 0 },
	{ "overlay BUM, DF, lease expired: ES port skipped", TC, 4, s_df_lease_expired, VX("192.0.2.3", VNI_A, MAC_BCAST, MAC_R2), NULL, 0, TC_ACT_SHOT, { 0 }, C(TC_FLOODED), 2, 0, C(FILTER_DF_LEASE), 1 },
	{ "overlay unknown unicast, DF, lease expired: ES port skipped", TC, 4, s_df_lease_expired, VX("192.0.2.3", VNI_A, MAC_UNKNOWN, MAC_R2), NULL, 0, TC_ACT_SHOT, { 0 }, C(TC_FLOODED), 2, 0, C(FILTER_DF_LEASE), 1 },
	{ "overlay BUM, DF, lease valid: all local ports", TC, 4, s_df_lease_valid, VX("192.0.2.3", VNI_A, MAC_BCAST, MAC_R2), NULL, 0, TC_ACT_SHOT, { 0 }, C(TC_FLOODED), 3, 0 },
	{ "overlay BUM, DF, no lease (0): all local ports", TC, 4, s_df_lease_none, VX("192.0.2.3", VNI_A, MAC_BCAST, MAC_R2), NULL, 0, TC_ACT_SHOT, { 0 }, C(TC_FLOODED), 3, 0 },
	{ "access BUM from ES port, lease expired: local bias floods locally", TC, 2, s_df_lease_expired, ETH(MAC_BCAST, MAC_H2), NULL, 0, TC_ACT_SHOT, { 0 }, C(TC_FLOODED), 2, 2 },
	{ "overlay BUM, not DF: ES port skipped", TC, 4, NULL, VX("192.0.2.3", VNI_A, MAC_BCAST, MAC_R2), NULL, 0, TC_ACT_SHOT, { 0 }, C(TC_FLOODED), 2, 0, C(FILTER_DF), 1 },
	{ "overlay BUM from ES peer, DF: split horizon", TC, 4, s_df, VX("192.0.2.2", VNI_A, MAC_BCAST, MAC_R1), NULL, 0, TC_ACT_SHOT, { 0 }, C(TC_FLOODED), 2, 0, C(FILTER_SPLIT_HORIZON), 1 },
	{ "overlay unknown unicast flooded", TC, 4, s_df, VX("192.0.2.3", VNI_A, MAC_UNKNOWN, MAC_R2), NULL, 0, TC_ACT_SHOT, { 0 }, C(TC_FLOODED), 3, 0 },
	{ "overlay BUM, ES link down: ES port skipped", TC, 4, s_es1_down, VX("192.0.2.3", VNI_A, MAC_BCAST, MAC_R2), NULL, 0, TC_ACT_SHOT, { 0 }, C(TC_FLOODED), 2, 0, C(FILTER_ES_STATE), 1 },
	{ "fan-out limit", TC, 1, s_fanout, ETH(MAC_BCAST, MAC_H1), NULL, 0, TC_ACT_SHOT, { 0 }, C(TC_FLOODED), XEVPN_MAX_FLOOD_PORTS - 1, XEVPN_MAX_FANOUT - (XEVPN_MAX_FLOOD_PORTS - 1), C(DROP_FANOUT_LIMIT), XEVPN_MAX_FLOOD_PORTS - 1 + XEVPN_MAX_FLOOD_VTEPS - XEVPN_MAX_FANOUT },
	{ "BUM in BD without flood list", TC, 3, NULL, ETHV(MAC_BCAST, MAC_H3, 20), NULL, 0, TC_ACT_SHOT, { 0 }, C(DROP_FLOOD_EMPTY) },
	{ "TC unknown VNI", TC, 4, NULL, VX("192.0.2.2", 300, MAC_BCAST, MAC_R1), NULL, 0, TC_ACT_SHOT, { 0 }, C(DROP_UNKNOWN_VNI) },
	{ "TC non-VXLAN on uplink passes", TC, 4, NULL, VX("192.0.2.2", VNI_A, MAC_H1, MAC_R1), other_dport, 0, TC_ACT_OK, { 0 }, C(TC_PASS) },
	{ "TC unconfigured port passes", TC, 0, NULL, ETH(MAC_BCAST, MAC_H1), NULL, 0, TC_ACT_OK, { 0 }, C(TC_PASS) },
	{ "TC unicast encap, neighbour via stack", TC, 1, NULL, ETH(MAC_RNONEIGH, MAC_H1), NULL, 0, TC_ACT_REDIRECT, { 0 }, C(TC_ENCAP_NEIGH) },
	{ "TC truncated frame", TC, 1, NULL, ETH(MAC_BCAST, MAC_H1), cut13, -EINVAL, 0, { 0 }, 0 },
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* Parameters are indexes: test processes are re-executed, so pointers in a
 * parameter would not survive the trip. */
static unsigned int case_idx[N_CASES];

ParameterizedTestParameters(pkt, table)
{
	for (unsigned int i = 0; i < N_CASES; i++)
		case_idx[i] = i;
	return cr_make_param_array(unsigned int, case_idx, N_CASES);
}

static bool ip_in_es2(__be32 a)
{
	return a == IP("192.0.2.3") || a == IP("192.0.2.4");
}

/* ---- trace mode: the same table, replayed with tracing armed ---- */

struct trace_sink {
	unsigned int n;
	struct xevpn_trace_event ev;
};

static int trace_got(void *ctx, const struct xevpn_trace_event *ev)
{
	struct trace_sink *t = ctx;

	if (!t->n++)
		t->ev = *ev;
	return 0;
}

static __u8 trace_hook_of(const struct dp_case *tc)
{
	if (tc->prog == XA)
		return XEVPN_TRACE_XDP_ACCESS;
	if (tc->prog == XU)
		return XEVPN_TRACE_XDP_UPLINK;
	if (tc->port == 4)
		return XEVPN_TRACE_TC_UPLINK;
	return tc->port ? XEVPN_TRACE_TC_ACCESS : XEVPN_TRACE_TC_OTHER;
}

/* Verdicts reached after the frame (inner frame for overlay) was classified to a BD. */
static bool trace_classified(enum xevpn_ctr c)
{
	switch (c) {
	case C(LOCAL_FWD): case C(ENCAP_VTEP): case C(ENCAP_ES): case C(ES_BACKUP):
	case C(DECAP_FWD): case C(TO_TC): case C(FIB_FALLBACK): case C(TC_FLOODED):
	case C(TC_ENCAP_NEIGH): case C(DROP_HAIRPIN): case C(DROP_ES_GROUP_EMPTY):
	case C(DROP_ES_DOWN_LOOP): case C(DROP_OVERLAY_TRANSIT): case C(DROP_NO_ROUTE):
	case C(DROP_MTU): case C(DROP_NO_CONFIG): case C(DROP_FLOOD_EMPTY):
		return true;
	default:
		return false;
	}
}

/*
 * Run the case's frame again with tracing armed: exactly one event, naming
 * the verdict the counters saw, the hook, the ports, the BD and the frame.
 */
static void trace_replay(struct env *e, const struct dp_case *tc, __u32 ifindex,
			 struct trace_sink *t)
{
	static __u8 in[PKT_MAX];
	static struct pkt_result r;
	const struct xevpn_trace_event *ev = &t->ev;
	int fd = xevpn_dp_prog_fd(e->dp, tc->prog);
	size_t n = build(&tc->in, in);

	if (tc->mutate)
		tc->mutate(in, &n);
	cr_assert_eq(xevpn_dp_trace_set(e->dp, true, xevpn_dp_mono_ns() + 60000000000ULL), 0);
	if (tc->prog == TC)
		pkt_run_tc(fd, ifindex, in, n, &r);
	else
		pkt_run_xdp(fd, ifindex, in, n, &r);
	cr_assert_eq(xevpn_dp_trace_set(e->dp, false, 0), 0);
	cr_assert_geq(xevpn_dp_trace_consume(e->dp), 0);
	if (tc->err) {
		cr_assert_eq(t->n, 0, "%s: refused frame traced", tc->name);
		return;
	}
	cr_assert_eq(r.retval, tc->verdict, "%s: traced verdict %u, expected %u", tc->name, r.retval,
		     tc->verdict);
	cr_assert_eq(t->n, 1, "%s: %u trace events for one decision", tc->name, t->n);
	cr_assert_eq(ev->ctr, tc->ctr, "%s: traced %s, counted %s", tc->name, xevpn_ctr_name(ev->ctr),
		     xevpn_ctr_name(tc->ctr));
	cr_assert_eq(ev->hook, trace_hook_of(tc), "%s: hook %s", tc->name,
		     xevpn_trace_hook_name(ev->hook));
	if (ifindex) /* 0: the test run picks a device */
		cr_assert_eq(ev->ifindex, ifindex, "%s: ingress ifindex", tc->name);
	cr_assert_eq(ev->pkt_len, n, "%s: length %u, frame %zu", tc->name, ev->pkt_len, n);
	cr_assert_eq(!!(ev->flags & XEVPN_TRACE_F_DROP),
		     tc->ctr >= C(DROP_MALFORMED_L2) && tc->ctr < C(VERDICT_MAX),
		     "%s: drop flag", tc->name);
	if (trace_classified(tc->ctr)) {
		__u32 vni = tc->in.k == F_VXLAN ? tc->in.vni :
			    tc->in.k == F_ETH_VLAN && tc->in.vlan == 20 ? VNI_B : VNI_A;

		cr_assert_eq(ev->vni, vni, "%s: vni %u, expected %u", tc->name, ev->vni, vni);
		cr_assert_eq(memcmp(ev->smac, tc->in.src, 6), 0, "%s: source MAC", tc->name);
		cr_assert_eq(memcmp(ev->dmac, tc->in.dst, 6), 0, "%s: destination MAC", tc->name);
		cr_assert_eq(ev->vlan, tc->in.k == F_ETH_VLAN ? tc->in.vlan : 0, "%s: vlan", tc->name);
		cr_assert_eq(!!(ev->flags & XEVPN_TRACE_F_BUM), !!(tc->in.dst[0] & 1), "%s: BUM flag",
			     tc->name);
	}
	if (tc->in.k == F_VXLAN && trace_classified(tc->ctr)) {
		cr_assert_eq(ev->vtep_src, IP(tc->in.vtep), "%s: outer source VTEP", tc->name);
		cr_assert(ev->flags & XEVPN_TRACE_F_FROM_OVERLAY, "%s: overlay flag", tc->name);
	}
	if (tc->out.k == F_ENCAP)
		cr_assert_eq(ev->vtep_dst, IP(tc->out.vtep), "%s: VTEP encapsulated to", tc->name);
	if (tc->out.k == F_ENCAP_ES2) {
		cr_assert(ip_in_es2(ev->vtep_dst), "%s: VTEP not in the ES group", tc->name);
		cr_assert_eq(ev->es_id, ES_REMOTE, "%s: es_id", tc->name);
	}
	if (tc->out.k == F_ENCAP || tc->out.k == F_ENCAP_ES2)
		cr_assert_eq(ev->out_ifindex, e->up0, "%s: egress of the encapsulation", tc->name);
	if (tc->ctr == C(LOCAL_FWD) || tc->ctr == C(DECAP_FWD))
		cr_assert(ev->out_ifindex == e->acc1 || ev->out_ifindex == e->acc2 ||
			  ev->out_ifindex == e->acc3, "%s: local egress %u", tc->name, ev->out_ifindex);
	if (tc->ctr == C(DROP_UNKNOWN_VNI)) {
		cr_assert_eq(ev->vni, tc->in.vni, "%s: the unknown VNI is named", tc->name);
		cr_assert_eq(ev->vtep_src, IP(tc->in.vtep), "%s: by its sender", tc->name);
	}
}

ParameterizedTest(unsigned int *idx, pkt, table)
{
	const struct dp_case *tc = &cases[*idx];
	static __u8 in[PKT_MAX], want[PKT_MAX];
	static struct pkt_result r;
	struct pkt_mask mask = { 0 };
	struct trace_sink quiet = { 0 }, traced = { 0 };
	struct env e;
	size_t n, wn;
	__u32 ifindex;
	__u64 before;
	int fd;

	cr_log_info("case: %s", tc->name);
	cr_assert_eq(env_setup(&e), 0, "%s: test leaf setup", tc->name);
	if (tc->setup)
		tc->setup(&e);
	n = build(&tc->in, in);
	if (tc->mutate)
		tc->mutate(in, &n);
	ifindex = port_ifindex(&e, tc->port);
	fd = xevpn_dp_prog_fd(e.dp, tc->prog);
	cr_assert_eq(xevpn_dp_trace_open(e.dp, trace_got, &quiet), 0, "%s: trace reader", tc->name);
	before = tc->ctr ? env_ctr(&e, tc->ctr) : 0;
	if (tc->prog == TC)
		pkt_run_tc(fd, ifindex, in, n, &r);
	else
		pkt_run_xdp(fd, ifindex, in, n, &r);
	cr_assert_eq(r.err, tc->err, "%s: test_run error %d, expected %d", tc->name, r.err, tc->err);
	cr_assert_geq(xevpn_dp_trace_consume(e.dp), 0);
	cr_assert_eq(quiet.n, 0, "%s: trace event while tracing is off", tc->name);
	xevpn_dp_trace_close(e.dp);
	cr_assert_eq(xevpn_dp_trace_open(e.dp, trace_got, &traced), 0);
	if (tc->err) {
		cr_assert_eq(env_verdicts(&e), 0, "%s: a refused frame reached the program", tc->name);
		goto out;
	}
	cr_assert_eq(r.retval, tc->verdict, "%s: verdict %u, expected %u", tc->name, r.retval, tc->verdict);
	cr_assert_eq(env_ctr(&e, tc->ctr), before + 1, "%s: counter %s not incremented", tc->name,
		     xevpn_ctr_name(tc->ctr));
	cr_assert_eq(env_verdicts(&e), 1, "%s: more than one verdict counted", tc->name);

	if (tc->prog == TC) {
		cr_assert_eq(env_ctr(&e, C(FLOOD_LOCAL_COPY)), (__u64)tc->local_copies, "%s: local copies %llu",
			     tc->name, (unsigned long long)env_ctr(&e, C(FLOOD_LOCAL_COPY)));
		cr_assert_eq(env_ctr(&e, C(FLOOD_REMOTE_COPY)), (__u64)tc->remote_copies, "%s: remote copies %llu",
			     tc->name, (unsigned long long)env_ctr(&e, C(FLOOD_REMOTE_COPY)));
		cr_assert_eq(env_ctr(&e, C(COPY_FAILED)), 0, "%s: failed copies", tc->name);
	}
	if (tc->ev)
		cr_assert_eq(env_ctr(&e, tc->ev), (__u64)tc->ev_n, "%s: %s = %llu, expected %d", tc->name,
			     xevpn_ctr_name(tc->ev), (unsigned long long)env_ctr(&e, tc->ev), tc->ev_n);

	/* output bytes: the frame as it leaves (unchanged for pass/drop) */
	if (tc->prog == TC)
		goto out; /* TC output is checked through copies (netns suite) */
	if (tc->out.k == F_NONE) {
		wn = n;
		memcpy(want, in, n);
	} else {
		wn = build(&tc->out, want);
	}
	if (tc->out.k == F_ENCAP || tc->out.k == F_ENCAP_ES2) {
		/* the UDP source port comes from the flow hash: checked by range */
		__u16 sport = r.out[34] << 8 | r.out[35];

		cr_assert_geq(sport, XEVPN_SPORT_MIN, "%s: UDP source port %u below the dynamic range", tc->name, sport);
		mask.r[mask.n++] = (struct pkt_ignore){ 34, 2 };
		/* the inner frame keeps its payload: mutations apply to it too */
		if (tc->mutate && r.out_len == n + 50 - (tc->in.k == F_ETH_VLAN ? 4 : 0))
			memcpy(want + 50, r.out + 50, r.out_len - 50), wn = r.out_len;
	}
	if (tc->out.k == F_ENCAP_ES2) {
		__be32 dst;

		memcpy(&dst, r.out + 30, 4);
		cr_assert(ip_in_es2(dst), "%s: outer destination not in the ES next-hop group", tc->name);
		cr_assert_eq(memcmp(r.out, dst == IP("192.0.2.3") ? MAC_NH3 : MAC_NH4, 6), 0,
			     "%s: outer MAC does not match the chosen VTEP", tc->name);
		mask.r[mask.n++] = (struct pkt_ignore){ 0, 6 };   /* next-hop MAC */
		mask.r[mask.n++] = (struct pkt_ignore){ 24, 2 };  /* IPv4 checksum */
		mask.r[mask.n++] = (struct pkt_ignore){ 30, 4 };  /* VTEP */
	}
	cr_assert(pkt_expect_bytes(&r, want, wn, &mask), "%s: output bytes differ", tc->name);
out:
	trace_replay(&e, tc, ifindex, &traced);
	env_teardown(&e);
}
