/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One cursor parser for outer and inner frames. Each parse_* checks bounds
 * once, advances the cursor and returns the header, or NULL when the packet
 * is too short (the caller picks the drop reason for that boundary).
 * Cursor pointers are invalid after any helper that changes packet data.
 */
#ifndef XEVPN_BPF_PARSE_H
#define XEVPN_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <xevpn/vxlan.h>

struct cursor {
	void *pos;
	void *end;
};

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

#define VLAN_VID_MASK 0x0fff
#define IP_MF         0x2000
#define IP_OFFSET     0x1fff
#define IP_DF         0x4000

static __always_inline void cursor_init(struct cursor *c, void *data, void *end)
{
	c->pos = data;
	c->end = end;
}

static __always_inline struct ethhdr *parse_eth(struct cursor *c)
{
	struct ethhdr *eth = c->pos;

	if ((void *)(eth + 1) > c->end)
		return NULL;
	c->pos = eth + 1;
	return eth;
}

static __always_inline struct vlan_hdr *parse_vlan(struct cursor *c)
{
	struct vlan_hdr *vh = c->pos;

	if ((void *)(vh + 1) > c->end)
		return NULL;
	c->pos = vh + 1;
	return vh;
}

/* IPv4 header with its options; version and IHL checked. */
static __always_inline struct iphdr *parse_ipv4(struct cursor *c)
{
	struct iphdr *ip = c->pos;
	__u32 hlen;

	if ((void *)(ip + 1) > c->end)
		return NULL;
	if (ip->version != 4 || ip->ihl < 5)
		return NULL;
	hlen = ip->ihl * 4;
	if (c->pos + hlen > c->end)
		return NULL;
	c->pos += hlen;
	return ip;
}

static __always_inline struct ipv6hdr *parse_ipv6(struct cursor *c)
{
	struct ipv6hdr *ip6 = c->pos;

	if ((void *)(ip6 + 1) > c->end)
		return NULL;
	c->pos = ip6 + 1;
	return ip6;
}

static __always_inline struct udphdr *parse_udp(struct cursor *c)
{
	struct udphdr *udp = c->pos;

	if ((void *)(udp + 1) > c->end)
		return NULL;
	c->pos = udp + 1;
	return udp;
}

static __always_inline struct xevpn_vxlanhdr *parse_vxlan(struct cursor *c)
{
	struct xevpn_vxlanhdr *vx = c->pos;

	if ((void *)(vx + 1) > c->end)
		return NULL;
	c->pos = vx + 1;
	return vx;
}

/* L2 of a frame: Ethernet plus at most one 802.1Q tag. */
struct l2info {
	struct ethhdr *eth;
	__u16 vlan;  /* VLAN id, 0 = untagged */
	__u16 hlen;  /* 14 or 18 */
	__be16 proto; /* ethertype after the tag */
};

/* Returns 0, or -1 when the frame is truncated inside its L2 header. */
static __always_inline int parse_l2(struct cursor *c, struct l2info *l2)
{
	struct vlan_hdr *vh;

	l2->eth = parse_eth(c);
	if (!l2->eth)
		return -1;
	l2->proto = l2->eth->h_proto;
	l2->vlan = 0;
	l2->hlen = sizeof(struct ethhdr);
	if (l2->proto == bpf_htons(ETH_P_8021Q) || l2->proto == bpf_htons(ETH_P_8021AD)) {
		vh = parse_vlan(c);
		if (!vh)
			return -1;
		l2->vlan = bpf_ntohs(vh->tci) & VLAN_VID_MASK;
		l2->proto = vh->proto;
		l2->hlen += sizeof(*vh);
	}
	return 0;
}

static __always_inline int mac_is_multicast(const __u8 *mac)
{
	return mac[0] & 1;
}

static __always_inline int mac_is_zero(const __u8 *mac)
{
	return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

#endif
