/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Pure fill functions for the VXLAN outer headers (RFC 7348 §5, IPv4 underlay). */
#ifndef XEVPN_BPF_ENCAP_H
#define XEVPN_BPF_ENCAP_H

#include "parse.h"
#include "csum.h"
#include <xevpn/limits.h>

/*
 * Outer headers on the stack, 2 bytes in so that the IPv4 header is 4-byte
 * aligned (the verifier wants aligned stack access); copied from &eth.
 */
struct outer_buf {
	__u16 pad;
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	struct xevpn_vxlanhdr vx;
};

#define OUTER_LEN XEVPN_VXLAN_ENCAP_LEN
_Static_assert(sizeof(struct outer_buf) == 2 + OUTER_LEN, "outer header layout");

/* What an outer header needs; the MACs come from bpf_fib_lookup. */
struct encap_params {
	__u8   smac[ETH_ALEN];
	__u8   dmac[ETH_ALEN];
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u32  vni;
	__u16  inner_len; /* bytes of the inner Ethernet frame */
	__u8   ttl;
	__u8   pad;
};

static __always_inline void build_outer_eth(struct ethhdr *eth, const struct encap_params *p)
{
	__builtin_memcpy(eth->h_dest, p->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, p->smac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
}

/* DF set: the underlay must not fragment VXLAN (RFC 7348 §4.3). */
static __always_inline void build_outer_ipv4(struct iphdr *ip, const struct encap_params *p)
{
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(p->inner_len + sizeof(struct iphdr) + sizeof(struct udphdr) +
				sizeof(struct xevpn_vxlanhdr));
	ip->id = 0;
	ip->frag_off = bpf_htons(IP_DF);
	ip->ttl = p->ttl;
	ip->protocol = IPPROTO_UDP;
	ip->check = 0;
	ip->saddr = p->saddr;
	ip->daddr = p->daddr;
	ip->check = ipv4_hdr_csum(ip);
}

/* UDP checksum 0: allowed for VXLAN over IPv4 (RFC 7348 §5). */
static __always_inline void build_udp(struct udphdr *udp, const struct encap_params *p)
{
	udp->source = p->sport;
	udp->dest = p->dport;
	udp->len = bpf_htons(p->inner_len + sizeof(struct udphdr) + sizeof(struct xevpn_vxlanhdr));
	udp->check = 0;
}

static __always_inline void build_vxlan(struct xevpn_vxlanhdr *vx, __u32 vni)
{
	vx->flags = bpf_htonl(XEVPN_VXLAN_FLAG_I);
	vx->vni = bpf_htonl(vni << XEVPN_VXLAN_VNI_SHIFT);
}

/* Fill the OUTER_LEN bytes at base (packet data or &outer_buf.eth). */
static __always_inline void build_outer(void *base, const struct encap_params *p)
{
	build_outer_eth(base, p);
	build_outer_ipv4(base + sizeof(struct ethhdr), p);
	build_udp(base + sizeof(struct ethhdr) + sizeof(struct iphdr), p);
	build_vxlan(base + sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr),
		    p->vni);
}

/* Offsets of the per-packet fields of an outer header. */
#define OUTER_IP_OFF   sizeof(struct ethhdr)
#define OUTER_UDP_OFF  (OUTER_IP_OFF + sizeof(struct iphdr))
#define OUTER_VX_OFF   (OUTER_UDP_OFF + sizeof(struct udphdr))

/*
 * Outer header template of p (a route cache entry): the per-packet fields
 * (IPv4 total length and checksum, UDP source port and length, VNI) are 0;
 * *sum gets the folded sum of the IPv4 header words, so that a packet's
 * checksum costs one addition.
 */
static __always_inline void build_outer_template(void *base, const struct encap_params *p,
						 __u16 *sum)
{
	struct iphdr *ip = base + OUTER_IP_OFF;
	struct udphdr *udp = base + OUTER_UDP_OFF;

	build_outer(base, p);
	ip->tot_len = 0;
	ip->check = 0;
	udp->source = 0;
	udp->len = 0;
	((struct xevpn_vxlanhdr *)(base + OUTER_VX_OFF))->vni = 0;
	*sum = ipv4_hdr_sum(ip);
}

#define TMPL_WORDS 6 /* OUTER_LEN = 6 x 8 + 2 bytes */
_Static_assert(TMPL_WORDS * 8 + 2 == OUTER_LEN, "outer template copy layout");

/*
 * Write the outer header of one packet at data (OUTER_LEN bytes checked by
 * the caller) from an 8-byte aligned template and its IPv4 word sum.
 */
static __always_inline void fill_outer(void *data, const void *tmpl, __u16 sum, __u16 inner_len,
				       __be16 sport, __u32 vni)
{
	struct iphdr *ip = data + OUTER_IP_OFF;
	struct udphdr *udp = data + OUTER_UDP_OFF;
	struct xevpn_vxlanhdr *vx = data + OUTER_VX_OFF;
	__be16 tot_len = bpf_htons(inner_len + sizeof(struct iphdr) + sizeof(struct udphdr) +
				   sizeof(struct xevpn_vxlanhdr));

#pragma unroll
	for (int i = 0; i < TMPL_WORDS; i++)
		((__u64 *)data)[i] = ((const __u64 *)tmpl)[i];
	*(__u16 *)(data + TMPL_WORDS * 8) = *(const __u16 *)(tmpl + TMPL_WORDS * 8);
	ip->tot_len = tot_len;
	ip->check = csum_add_word(sum, tot_len);
	udp->source = sport;
	udp->len = bpf_htons(inner_len + sizeof(struct udphdr) + sizeof(struct xevpn_vxlanhdr));
	vx->vni = bpf_htonl(vni << XEVPN_VXLAN_VNI_SHIFT);
}

static __always_inline __be16 flow_sport(__u32 hash)
{
	return bpf_htons(XEVPN_SPORT_MIN + (hash % XEVPN_SPORT_RANGE));
}

#endif
