// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Programs of the dataplane benchmark (selftests/dataplane/bench_dataplane.c).
 *
 * The product programs are compiled in unchanged (bpf/xevpn.bpf.c); the bench
 * reuses the maps of a libxevpn-dp instance, so the same map programming
 * drives both. Around them:
 *   bench_access, bench_uplink  the product bodies, then the frame restored
 *                 (encap popped, decap pushed back): a non-live
 *                 BPF_PROG_TEST_RUN repeat runs every iteration on the frame
 *                 it was given, so ns/packet is measured per path
 *   base_redirect bare parse-and-redirect: the ns/packet baseline
 *   min_encap     minimal VXLAN encap + redirect (no maps, fixed outer
 *                 header, same fill functions): the pps baseline
 *   min_decap     minimal VXLAN decap + redirect
 *   bench_gen     traffic generator: BPF_F_TEST_XDP_LIVE_FRAMES pushes every
 *                 frame out of bench_gen_ifindex
 *   bench_sink    counts and drops what reaches the end of the topology
 */
#include "xevpn.bpf.c"

/* Set by the bench (skeleton .bss) before each measurement. */
__u32 bench_tgt_ifindex;     /* base_redirect, min_encap, min_decap */
__u32 bench_gen_ifindex;     /* bench_gen */
__u8 bench_smac[ETH_ALEN], bench_dmac[ETH_ALEN]; /* min_encap outer header */
__be32 bench_saddr, bench_daddr;
__u32 bench_vni;
__be32 bench_vtep_ip;        /* min_decap: outer destination accepted */

/* Frames that reached the sink, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bench_sink_ctr SEC(".maps");

SEC("xdp")
int bench_access(struct xdp_md *ctx)
{
	__u32 before = ctx->data_end - ctx->data, after;
	int act = xdp_access_body(ctx);

	after = ctx->data_end - ctx->data;
	if (after > before && after - before <= OUTER_LEN)
		bpf_xdp_adjust_head(ctx, (int)(after - before));
	return act;
}

#define SAVE_WORDS 6 /* 48 bytes as __u64, then the last 2 as __u16 */
_Static_assert(SAVE_WORDS * 8 + 2 == OUTER_LEN, "outer header save layout");

SEC("xdp")
int bench_uplink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 before = end - data, after;
	__u64 save[SAVE_WORDS];
	__u16 save_tail;
	int act;

	if (data + OUTER_LEN > end)
		return XDP_ABORTED;
	for (int i = 0; i < SAVE_WORDS; i++)
		save[i] = ((__u64 *)data)[i];
	save_tail = *(__u16 *)(data + SAVE_WORDS * 8);
	act = xdp_uplink_body(ctx);
	after = ctx->data_end - ctx->data;
	if (after + OUTER_LEN != before || bpf_xdp_adjust_head(ctx, -(int)OUTER_LEN))
		return act;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + OUTER_LEN > end)
		return XDP_ABORTED;
	for (int i = 0; i < SAVE_WORDS; i++)
		((__u64 *)data)[i] = save[i];
	*(__u16 *)(data + SAVE_WORDS * 8) = save_tail;
	return act;
}

SEC("xdp")
int base_redirect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct cursor c;
	struct l2info l2;

	cursor_init(&c, data, end);
	if (parse_l2(&c, &l2))
		return XDP_DROP;
	if (l2.proto == bpf_htons(ETH_P_IP) && !parse_ipv4(&c))
		return XDP_DROP;
	return bpf_redirect(bench_tgt_ifindex, 0);
}

SEC("xdp")
int min_encap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct encap_params p = {};

	if (data + sizeof(struct ethhdr) > end)
		return XDP_DROP;
	__builtin_memcpy(p.smac, bench_smac, ETH_ALEN);
	__builtin_memcpy(p.dmac, bench_dmac, ETH_ALEN);
	p.saddr = bench_saddr;
	p.daddr = bench_daddr;
	p.vni = bench_vni;
	p.ttl = XEVPN_DEFAULT_TTL;
	p.dport = bpf_htons(XEVPN_VXLAN_PORT);
	p.inner_len = end - data;
	p.sport = bpf_htons(XEVPN_SPORT_MIN);
	if (bpf_xdp_adjust_head(ctx, -(int)OUTER_LEN))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + OUTER_LEN > end)
		return XDP_DROP;
	build_outer(data, &p);
	return bpf_redirect(bench_tgt_ifindex, 0);
}

SEC("xdp")
int min_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct cursor c;
	struct ethhdr *eth;
	struct iphdr *ip;
	struct udphdr *udp;

	cursor_init(&c, data, end);
	eth = parse_eth(&c);
	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = parse_ipv4(&c);
	if (!ip || ip->daddr != bench_vtep_ip || ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	udp = parse_udp(&c);
	if (!udp || udp->dest != bpf_htons(XEVPN_VXLAN_PORT) || !parse_vxlan(&c))
		return XDP_PASS;
	if (bpf_xdp_adjust_head(ctx, (int)(c.pos - data)))
		return XDP_DROP;
	return bpf_redirect(bench_tgt_ifindex, 0);
}

SEC("xdp")
int bench_gen(struct xdp_md *ctx)
{
	return bpf_redirect(bench_gen_ifindex, 0);
}

SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&bench_sink_ctr, &zero);

	if (n)
		(*n)++;
	return XDP_DROP;
}
