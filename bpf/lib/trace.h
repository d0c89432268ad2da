/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-packet trace mode (include/xevpn/trace.h). Each program keeps a
 * struct trace_rec on its stack: the verdict and the egress are noted where
 * they are decided, the frame's fields only while tracing is armed, and the
 * program's entry sends the record at the end, as one event, when armed.
 * Disarmed, a frame costs one load of xevpn_trace_cfg.until_ns, the record's
 * zeroing and a few register stores.
 */
#ifndef XEVPN_BPF_TRACE_H
#define XEVPN_BPF_TRACE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <xevpn/trace.h>
#include <xevpn/counters.h>
#include <xevpn/limits.h>

#ifndef XEVPN_TRACE_RING_BYTES
#define XEVPN_TRACE_RING_BYTES (1024 * 1024)
#endif

/* Trace events to ctl (xevpn_dp_trace_open), only while tracing is armed. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, XEVPN_TRACE_RING_BYTES);
} xevpn_trace SEC(".maps");

/* The switch and the filters, written by the controller that loaded the programs. */
struct xevpn_trace_cfg xevpn_trace_cfg;

/* One frame's decision as the programs note it (BPF only). */
struct trace_rec {
	__u32  on;          /* tracing was armed when the frame arrived */
	__u32  ctr;         /* verdict */
	__u32  out_ifindex;
	__be32 vtep_dst;
	__u32  es_id;
	__u32  hash;
	/* the rest is written only while on */
	__u32  ifindex;
	__u32  vni;
	__be32 vtep_src;
	__u16  pkt_len;
	__u16  vlan;
	__u8   smac[6];
	__u8   dmac[6];
	__be16 ethertype;
	__u8   hook;
	__u8   flags;
};

static __always_inline __u32 trace_armed(void)
{
	return *(volatile __u64 *)&xevpn_trace_cfg.until_ns != 0;
}

/* Verdict noted for the trace (every verdict site goes through it). */
static __always_inline void trace_verdict(struct trace_rec *t, __u32 ctr)
{
	t->ctr = ctr;
}

/* Egress decided: port and, for an encapsulation, the VTEP it went to. */
static __always_inline void trace_out(struct trace_rec *t, __u32 ctr, __u32 out_ifindex,
				      __be32 vtep_dst)
{
	t->ctr = ctr;
	t->out_ifindex = out_ifindex;
	t->vtep_dst = vtep_dst;
}

/* The frame's Ethernet header (inner one for overlay frames), while on. */
static __always_inline void trace_frame(struct trace_rec *t, const struct ethhdr *eth,
					__be16 proto)
{
	if (!t->on)
		return;
	__builtin_memcpy(t->smac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(t->dmac, eth->h_dest, ETH_ALEN);
	t->ethertype = proto;
	if (eth->h_dest[0] & 1)
		t->flags |= XEVPN_TRACE_F_BUM;
}

/* The BD an access port admitted the frame into, and the tag it came with. */
static __always_inline void trace_admit(struct trace_rec *t, __u32 vni, __u16 vlan, int tagged)
{
	if (!t->on)
		return;
	t->vni = vni;
	t->vlan = vlan;
	t->flags |= tagged ? XEVPN_TRACE_F_TAGGED : 0;
}

static __always_inline int trace_ctr_is_drop(__u32 ctr)
{
	return ctr >= XEVPN_CTR_DROP_MALFORMED_L2 && ctr < XEVPN_CTR_VERDICT_MAX;
}

/*
 * Send the record as an event: filters, deadline, ring buffer. A global
 * subprogram, verified once and out of the programs' straight line: only an
 * armed frame calls it. Returns 1 when an event was sent.
 */
__attribute__((noinline)) int trace_emit(const struct trace_rec *t)
{
	__u64 until = *(volatile __u64 *)&xevpn_trace_cfg.until_ns, now;
	struct xevpn_trace_event *ev;
	__u32 drop;

	if (!t || !until)
		return 0;
	now = bpf_ktime_get_ns();
	if (now >= until) {
		/* expired with nobody to switch it off: disarm, unless re-armed meanwhile */
		if (*(volatile __u64 *)&xevpn_trace_cfg.until_ns == until)
			*(volatile __u64 *)&xevpn_trace_cfg.until_ns = 0;
		return 0;
	}
	drop = trace_ctr_is_drop(t->ctr);
	if (xevpn_trace_cfg.ifindex && xevpn_trace_cfg.ifindex != t->ifindex)
		return 0;
	if (xevpn_trace_cfg.vni && xevpn_trace_cfg.vni != t->vni)
		return 0;
	if ((xevpn_trace_cfg.flags & XEVPN_TRACE_CFG_DROPS_ONLY) && !drop)
		return 0;
	ev = bpf_ringbuf_reserve(&xevpn_trace, sizeof(*ev), 0);
	if (!ev) {
		__sync_fetch_and_add(&xevpn_trace_cfg.lost, 1);
		return 0;
	}
	ev->ts_ns = now;
	ev->ifindex = t->ifindex;
	ev->out_ifindex = t->out_ifindex;
	ev->ctr = t->ctr;
	ev->hook = t->hook;
	ev->flags = t->flags | (drop ? XEVPN_TRACE_F_DROP : 0);
	ev->vni = t->vni;
	ev->es_id = t->es_id;
	ev->vtep_src = t->vtep_src;
	ev->vtep_dst = t->vtep_dst;
	ev->flow_hash = t->hash;
	ev->pkt_len = t->pkt_len;
	ev->vlan = t->vlan;
	__builtin_memcpy(ev->smac, t->smac, ETH_ALEN);
	__builtin_memcpy(ev->dmac, t->dmac, ETH_ALEN);
	ev->ethertype = t->ethertype;
	ev->cpu = bpf_get_smp_processor_id();
	__builtin_memset(ev->pad, 0, sizeof(ev->pad));
	bpf_ringbuf_submit(ev, 0);
	return 1;
}

/* At a program's end: send the record when the frame was traced. */
static __always_inline void trace_end(struct trace_rec *t, __u8 hook, __u32 ifindex, __u32 len)
{
	if (!t->on)
		return;
	t->hook = hook;
	t->ifindex = ifindex;
	t->pkt_len = len > 0xffff ? 0xffff : len;
	trace_emit(t);
}

#endif
