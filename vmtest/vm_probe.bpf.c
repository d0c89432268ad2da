// SPDX-License-Identifier: GPL-2.0
/* Smallest XDP + TC pair that proves, on the kernel under test, that a
 * CO-RE-free skeleton loads, attaches to a veth and sees real packets:
 * XDP drops UDP to the discard port and passes the rest, TC ingress counts
 * what XDP passed. Counters are indexed by enum vm_probe_counter. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "vm_probe.h"

/* Packet counters, written by both programs, read by vm_probe. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VM_PROBE_NR_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} vm_probe_counts SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&vm_probe_counts, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* True for an IPv4/UDP frame to VM_PROBE_DROP_PORT. */
static __always_inline int is_probe_drop(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	if (ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return 0;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end)
		return 0;
	return udp->dest == bpf_htons(VM_PROBE_DROP_PORT);
}

SEC("xdp")
int vm_probe_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;

	if (is_probe_drop(data, data_end)) {
		count(VM_PROBE_XDP_DROP);
		return XDP_DROP;
	}
	count(VM_PROBE_XDP_PASS);
	return XDP_PASS;
}

SEC("tc")
int vm_probe_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;

	count(is_probe_drop(data, data_end) ? VM_PROBE_TC_SEEN_DROP : VM_PROBE_TC_SEEN);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
