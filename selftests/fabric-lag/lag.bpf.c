// SPDX-License-Identifier: GPL-2.0
/* Static LAG for the dual-homed test server; see lag.h. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lag.h"

/* Written by the test before and while the programs run. */
__u32 lag_ifindex = 0;
struct lag_member lag_members[LAG_MAX_MEMBERS] = {};
/* Read by the test. */
__u64 lag_counters[LAG_CNT_MAX] = {};

struct l4_ports {
	__be16 src;
	__be16 dst;
};

static __always_inline __u32 mix32(__u32 h)
{
	/* murmur3 finaliser: every input bit reaches every output bit */
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

static __always_inline __u32 ports_word(void *l4, void *end, __u8 proto)
{
	struct l4_ports *p = l4;

	if (proto != IPPROTO_UDP && proto != IPPROTO_TCP)
		return 0;
	if ((void *)(p + 1) > end)
		return 0;
	return ((__u32)p->src << 16) | p->dst;
}

/* Layer 3+4 flow hash; layer 2 for anything that is not IP. */
static __always_inline __u32 flow_hash(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 h;

	if ((void *)(eth + 1) > end)
		return 0;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return 0;
		h = ip->saddr ^ ((ip->daddr << 16) | (ip->daddr >> 16)) ^ ip->protocol;
		/* first fragments and unfragmented packets carry ports */
		if (!(ip->frag_off & bpf_htons(0x1fff)) && ip->ihl >= 5)
			h ^= mix32(ports_word((void *)ip + ip->ihl * 4, end, ip->protocol));
		return mix32(h);
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return 0;
		h = ip6->saddr.in6_u.u6_addr32[3] ^ ip6->daddr.in6_u.u6_addr32[3] ^
		    ip6->saddr.in6_u.u6_addr32[2] ^ ip6->daddr.in6_u.u6_addr32[2] ^ ip6->nexthdr;
		h ^= mix32(ports_word(ip6 + 1, end, ip6->nexthdr));
		return mix32(h);
	}
	h = ((__u32)eth->h_dest[4] << 8 | eth->h_dest[5]) ^
	    ((__u32)eth->h_source[4] << 24 | (__u32)eth->h_source[5] << 16) ^ eth->h_proto;
	return mix32(h);
}

static __always_inline int lag_tx(struct __sk_buff *skb)
{
	__u32 up0 = lag_members[0].up && lag_members[0].ifindex;
	__u32 up1 = lag_members[1].up && lag_members[1].ifindex;
	__u32 pick;

	if (!up0 && !up1) {
		__sync_fetch_and_add(&lag_counters[LAG_DROP_NO_MEMBER], 1);
		return TC_ACT_SHOT;
	}
	if (up0 && up1)
		pick = flow_hash(skb) & 1;
	else
		pick = up0 ? 0 : 1;
	__sync_fetch_and_add(&lag_counters[pick ? LAG_TX1 : LAG_TX0], 1);
	return bpf_redirect(lag_members[pick & 1].ifindex, 0);
}

static __always_inline int lag_rx(struct __sk_buff *skb)
{
	if (skb->ifindex == lag_members[0].ifindex)
		__sync_fetch_and_add(&lag_counters[LAG_RX0], 1);
	else if (skb->ifindex == lag_members[1].ifindex)
		__sync_fetch_and_add(&lag_counters[LAG_RX1], 1);
	else
		__sync_fetch_and_add(&lag_counters[LAG_RX_UNKNOWN], 1);
	if (!lag_ifindex)
		return TC_ACT_SHOT;
	return bpf_redirect(lag_ifindex, BPF_F_INGRESS);
}

/* TC egress of lag0: spread flows over the members. */
SEC("tc")
int lag_egress(struct __sk_buff *skb)
{
	return lag_tx(skb);
}

/* TC ingress of each member: hand the frame to lag0. */
SEC("tc")
int lag_ingress(struct __sk_buff *skb)
{
	return lag_rx(skb);
}

/* Attached to the far end of veths that a leaf XDP-redirects into:
 * a veth delivers redirected frames only when its peer runs XDP. */
SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
