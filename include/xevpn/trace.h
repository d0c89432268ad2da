/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-packet trace mode: while it is armed, each program sends one event per
 * final decision (the verdict counter it charged) to the xevpn_trace ring
 * buffer. Off by default; the switch is xevpn_trace_cfg, a global of the
 * loaded object (its .bss, BTF-typed: `bpftool map dump name xevpn.bss`)
 * that the controller owning the programs writes. Tracing stops by itself at
 * until_ns, so a controller that dies while tracing does not leave it on.
 */
#ifndef XEVPN_TRACE_H
#define XEVPN_TRACE_H

#include <linux/types.h>

/* Hook that made the decision (xevpn_trace_event.hook). */
enum xevpn_trace_hook {
	XEVPN_TRACE_XDP_ACCESS = 1, /* XDP on an access port */
	XEVPN_TRACE_XDP_UPLINK = 2, /* XDP on an uplink */
	XEVPN_TRACE_TC_ACCESS  = 3, /* TC ingress of an access port */
	XEVPN_TRACE_TC_UPLINK  = 4, /* TC ingress of an uplink */
	XEVPN_TRACE_TC_OTHER   = 5, /* TC ingress of a port that is neither */
};

/* xevpn_trace_event.flags */
#define XEVPN_TRACE_F_BUM          0x01 /* multicast/broadcast destination */
#define XEVPN_TRACE_F_FROM_OVERLAY 0x02 /* arrived VXLAN-encapsulated */
#define XEVPN_TRACE_F_TAGGED       0x04 /* arrived 802.1Q-tagged */
#define XEVPN_TRACE_F_DROP         0x08 /* the verdict drops the frame */

/* One dataplane decision, sent to the xevpn_trace ring buffer while tracing is on. */
struct xevpn_trace_event {
	__u64  ts_ns;       /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32  ifindex;     /* port the frame arrived on */
	__u32  out_ifindex; /* port it leaves by, 0 = none (drop, to TC, to stack, flooded) */
	__u16  ctr;         /* enum xevpn_ctr: the verdict, i.e. action or drop reason */
	__u8   hook;        /* enum xevpn_trace_hook */
	__u8   flags;       /* XEVPN_TRACE_F_* */
	__u32  vni;         /* BD, 0 before classification */
	__u32  es_id;       /* ES the decision went through, 0 = none */
	__be32 vtep_src;    /* outer source VTEP (from overlay), 0 otherwise */
	__be32 vtep_dst;    /* VTEP encapsulated to, 0 otherwise */
	__u32  flow_hash;   /* hash that picked vtep_dst from an ES group, 0 otherwise */
	__u16  pkt_len;     /* frame length at the hook */
	__u16  vlan;        /* tag it arrived with, 0 = untagged */
	__u8   smac[6];     /* (inner) frame */
	__u8   dmac[6];
	__be16 ethertype;   /* (inner) frame */
	__u16  cpu;         /* bpf_get_smp_processor_id() */
	__u8   pad[4];
};                          /* 64 bytes, no implicit padding */
_Static_assert(sizeof(struct xevpn_trace_event) == 64, "trace event layout");

/* Filter values of xevpn_trace_cfg.flags */
#define XEVPN_TRACE_CFG_DROPS_ONLY 0x01 /* only verdicts that drop */

/*
 * The switch: armed while until_ns (CLOCK_MONOTONIC) is non-zero and in the
 * future. The programs read until_ns once per frame; everything else only
 * while armed. The controller writes the filters before until_ns.
 */
struct xevpn_trace_cfg {
	__u64 until_ns;    /* 0 = off */
	__u32 ifindex;     /* only frames arriving on this port, 0 = any */
	__u32 vni;         /* only this BD, 0 = any */
	__u32 flags;       /* XEVPN_TRACE_CFG_* */
	__u32 pad;
	__u64 lost;        /* events not sent: ring buffer full (BPF adds) */
};

#endif
