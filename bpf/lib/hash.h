/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Flow hash of an inner frame: the same flow always gives the same value, so
 * it picks both the VXLAN UDP source port (underlay ECMP entropy) and the ES
 * next-hop group member (aliasing: one flow, one VTEP).
 */
#ifndef XEVPN_BPF_HASH_H
#define XEVPN_BPF_HASH_H

#include "parse.h"

#define HASH_SEED 0x2c9277b5U

static __always_inline __u32 hash_mix(__u32 h, __u32 v)
{
	h ^= v;
	h *= 0x9e3779b1U;
	h ^= h >> 15;
	return h;
}

static __always_inline __u32 hash_final(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	h *= 0xc2b2ae35U;
	h ^= h >> 16;
	return h;
}

/* c points at the L3 header of proto; the L2 addresses are always mixed in. */
static __always_inline __u32 flow_hash(const struct ethhdr *eth, __be16 proto, struct cursor c)
{
	const __u16 *m = (const __u16 *)eth; /* dst and src MAC, 6 words */
	__u32 h = HASH_SEED;

	h = hash_mix(h, ((__u32)m[0] << 16) | m[1]);
	h = hash_mix(h, ((__u32)m[2] << 16) | m[3]);
	h = hash_mix(h, ((__u32)m[4] << 16) | m[5]);
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = parse_ipv4(&c);

		if (!ip)
			return hash_final(h);
		h = hash_mix(h, ip->saddr);
		h = hash_mix(h, ip->daddr);
		h = hash_mix(h, ip->protocol);
		if ((ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) &&
		    !(ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))) {
			__u32 *ports = c.pos;

			if ((void *)(ports + 1) <= c.end)
				h = hash_mix(h, *ports);
		}
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = parse_ipv6(&c);

		if (!ip6)
			return hash_final(h);
#pragma unroll
		for (int i = 0; i < 4; i++) {
			h = hash_mix(h, ip6->saddr.in6_u.u6_addr32[i]);
			h = hash_mix(h, ip6->daddr.in6_u.u6_addr32[i]);
		}
		h = hash_mix(h, ip6->nexthdr);
		if (ip6->nexthdr == IPPROTO_TCP || ip6->nexthdr == IPPROTO_UDP) {
			__u32 *ports = c.pos;

			if ((void *)(ports + 1) <= c.end)
				h = hash_mix(h, *ports);
		}
	}
	return hash_final(h);
}

#endif
