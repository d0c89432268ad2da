/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Keys and values of the dataplane maps, shared by bpf/xevpn.bpf.c and the
 * userspace dataplane library (ctl/dp). Addresses and ports that travel on the
 * wire are __be*; everything else is host order. Padding is explicit so that
 * BPF and userspace agree byte for byte.
 *
 * Map (pinned name)  key                     value                   writer
 * xevpn_config       __u32 0                 struct xevpn_config     ctl
 * xevpn_port         __u32 ifindex           struct xevpn_port       ctl
 * xevpn_port_vlan    struct xevpn_port_vlan_key  __u32 vni           ctl
 * xevpn_bd           __u32 vni               struct xevpn_bd         ctl
 * xevpn_fdb          struct xevpn_fdb_key    struct xevpn_fdb_entry  ctl, XDP (learn)
 * xevpn_es           __u32 es_id             struct xevpn_es         ctl
 * xevpn_es_bd        struct xevpn_es_bd_key  struct xevpn_es_bd      ctl (DF election)
 * xevpn_es_nh        __u32 es_id             inner array [0] = struct xevpn_nh_group
 * xevpn_es_peer      struct xevpn_es_peer_key  __u32 flags (0)       ctl
 * xevpn_flood        __u32 vni               struct xevpn_flood      ctl
 * xevpn_lease        __u32 0                 struct xevpn_lease      ctl (health tick)
 * xevpn_ctr          __u32 enum xevpn_ctr    struct xevpn_ctr_value  BPF (per-CPU)
 * xevpn_learn        ring buffer of struct xevpn_learn_event         XDP
 * xevpn_trace        ring buffer of struct xevpn_trace_event (xevpn/trace.h)  XDP, TC, while armed
 * xevpn_rt_cache     __u32 slot (per CPU)    struct xevpn_rt_cache   XDP (cache, not pinned)
 * xevpn_seen         __u32 slot (per CPU)    struct xevpn_seen       XDP (cache, not pinned)
 */
#ifndef XEVPN_MAPS_H
#define XEVPN_MAPS_H

#include <linux/types.h>
#include <xevpn/limits.h>

/* Global settings of one dataplane instance (array map, one entry). */
struct xevpn_config {
	__be32 vtep_ip;              /* local VTEP address: outer source, decap target */
	__be16 vxlan_port;           /* UDP destination port; 0 means 4789 */
	__u8   ttl;                  /* outer TTL; 0 means XEVPN_DEFAULT_TTL */
	__u8   flags;                /* XEVPN_CFG_F_* */
	__u32  learn_events_per_sec; /* per CPU; 0 means XEVPN_LEARN_EVENTS_PER_SEC */
	/*
	 * Underlay device: routes to VTEPs are looked up as output from it
	 * (BPF_FIB_LOOKUP_OUTPUT). 0 = looked up as forwarded from the ingress
	 * port. bpf_fib_lookup() needs IPv4 forwarding on the device it looks
	 * up from (net.ipv4.conf.<dev>.forwarding=1), so setting this keeps
	 * forwarding off on access ports.
	 */
	__u32  underlay_ifindex;
};
/* Dataplane learning off: no FDB writes from BPF, no learn events. */
#define XEVPN_CFG_F_NO_LEARN 0x01

/* Port roles. */
enum xevpn_port_role {
	XEVPN_PORT_NONE   = 0,
	XEVPN_PORT_ACCESS = 1, /* toward servers; may belong to an ES */
	XEVPN_PORT_UPLINK = 2, /* underlay, carries VXLAN */
	XEVPN_PORT_BVI    = 3, /* local delivery to the host */
};

struct xevpn_port {
	__u32 role;  /* enum xevpn_port_role */
	__u32 flags; /* XEVPN_PORT_F_* */
	__u32 es_id; /* ES this access port belongs to, 0 = single-homed */
	__u32 vni;   /* BD of untagged frames, 0 = untagged frames dropped */
};
/* Port administratively out of service: everything it receives is dropped. */
#define XEVPN_PORT_F_DISABLED 0x01

/* 802.1Q VLAN on an access port → BD. */
struct xevpn_port_vlan_key {
	__u32 ifindex;
	__u16 vlan; /* VLAN id, 1..4094, host order */
	__u16 pad;
};

/* Bridge domain = EVI = L2 VNI. */
struct xevpn_bd {
	__u32 flags; /* XEVPN_BD_F_* */
	__u32 pad;
};
/* Source MACs seen on access ports of this BD are learned (FDB + event). */
#define XEVPN_BD_F_LEARN 0x01

struct xevpn_fdb_key {
	__u32 vni;
	__u8  mac[6];
	__u16 pad;
};

enum xevpn_fdb_type {
	XEVPN_FDB_NONE  = 0,
	XEVPN_FDB_LOCAL = 1, /* single-homed local port: ifindex, vlan */
	XEVPN_FDB_VTEP  = 2, /* remote MAC behind one VTEP: vtep */
	XEVPN_FDB_ES    = 3, /* MAC on an ES (local or remote): es_id, vlan */
};

/*
 * A MAC on an ES always points at the ES, never at a VTEP: the ES state
 * (local port up, link down) and its next-hop group decide where it goes, so
 * a mass withdraw or a local link failure is one map write.
 */
struct xevpn_fdb_entry {
	__u32  type;    /* enum xevpn_fdb_type */
	__u32  ifindex; /* LOCAL: egress port */
	__be32 vtep;    /* VTEP: remote VTEP address */
	__u32  es_id;   /* ES: the segment */
	__u16  vlan;    /* LOCAL/ES: tag pushed on local egress, 0 = untagged */
	__u16  flags;   /* XEVPN_FDB_F_* */
	__u32  pad;
};
/* Installed by the controller and never overwritten by dataplane learning. */
#define XEVPN_FDB_F_STATIC  0x01
/* Written by dataplane learning (the controller may adopt it). */
#define XEVPN_FDB_F_LEARNED 0x02

/* Per-ES state. */
struct xevpn_es {
	__u32 flags;   /* XEVPN_ES_F_* */
	__u32 ifindex; /* local access port of the ES when XEVPN_ES_F_LOCAL */
};
/* This leaf is attached to the ES through ifindex. */
#define XEVPN_ES_F_LOCAL     0x01
/* Local ES link is down: the ES's MACs go over VXLAN to an ES peer (backup). */
#define XEVPN_ES_F_LINK_DOWN 0x02
/* ES not forwarding (startup hold, self-fence): nothing in or out of its port. */
#define XEVPN_ES_F_HOLD      0x04

/* DF state per (ES, BD); a missing entry means "not DF". */
struct xevpn_es_bd_key {
	__u32 es_id;
	__u32 vni;
};
struct xevpn_es_bd {
	__u32 flags; /* XEVPN_ES_BD_F_* */
	__u32 pad;
};
#define XEVPN_ES_BD_F_DF 0x01

/*
 * Controller lease on the DF role (array map, one entry). The controller that
 * runs the heartbeat renews it every health tick to the time its peers would
 * declare it dead; once it has passed, overlay BUM reaches no local ES port
 * (this leaf is non-DF everywhere), so a controller that stopped beating never
 * forwards alongside the peer that took its DF role over. 0 = no lease: the DF
 * bits of xevpn_es_bd hold until rewritten.
 */
struct xevpn_lease {
	__u64 deadline_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_coarse_ns) deadline, 0 = none */
};

/*
 * ES next-hop group: the remote VTEPs attached to an ES (for a local ES, its
 * peers, used by the backup path). Stored as the only element of an inner
 * array map that is never modified once installed; an update swaps the inner
 * map of xevpn_es_nh, so a reader sees the old group or the new one, whole.
 */
struct xevpn_nh_group {
	__u32  count;                    /* valid entries in vtep[] */
	__u32  gen;                      /* writer's generation, for observers */
	__be32 vtep[XEVPN_MAX_ES_VTEPS];
};

/* ES peer set: VTEPs attached to the same ES as us (split horizon). */
struct xevpn_es_peer_key {
	__u32  es_id;
	__be32 vtep;
};

/* One local member of a BD's flood list. */
struct xevpn_flood_port {
	__u32 ifindex;
	__u16 vlan; /* tag pushed on egress, 0 = untagged */
	__u16 pad;
};

/* Flood list of a BD: ingress replication targets and local ports. */
struct xevpn_flood {
	__u32  n_vteps;
	__u32  n_ports;
	__be32 vtep[XEVPN_MAX_FLOOD_VTEPS];
	struct xevpn_flood_port port[XEVPN_MAX_FLOOD_PORTS];
};

/*
 * Underlay path to a VTEP as last resolved by bpf_fib_lookup(), with the outer
 * header template built from it: one slot per CPU, direct-mapped by a hash
 * of the VTEP address. Only BPF writes it; an entry is used until expires_ns
 * or until the generation moves (xevpn_dp_route_cache_flush(), config write).
 */
struct xevpn_rt_cache {
	__be32 vtep;       /* address the slot holds, 0 = empty */
	__u32  gen;        /* route cache generation when filled */
	__u64  expires_ns; /* bpf_ktime_get_coarse_ns() deadline */
	__u32  ifindex;    /* egress port */
	__u16  mtu;        /* largest outer IPv4 total length the route carries */
	__u16  csum;       /* folded sum of the template IPv4 header (tot_len 0) */
	__u8   hdr[56];    /* outer Ethernet/IPv4/UDP/VXLAN, per-packet fields 0 */
};

/*
 * Source MACs recently seen on an access port, per CPU, direct-mapped by a
 * hash of (vni, mac): a frame whose source matches its slot skips the
 * learning lookup, and the slot is rewritten (FDB checked again, seen_ns
 * refreshed) at most once per XEVPN_SEEN_REFRESH_MS per MAC and CPU. Only
 * BPF writes it; it is also the MAC last-seen time (xevpn_dp_fdb_last_seen).
 * Two MACs sharing a slot evict each other: a reader that finds neither has
 * no information, not an idle MAC.
 */
struct xevpn_seen {
	__u8   mac[6];
	__u16  vlan;    /* tag it arrived with, 0 = untagged */
	__u32  vni;
	__u32  ifindex; /* access port it was seen on */
	__u32  pad;
	__u64  seen_ns; /* bpf_ktime_get_coarse_ns() (CLOCK_MONOTONIC) of the refresh */
};

/* Slot of (vni, mac) in xevpn_seen; the same function on both sides. */
static inline __u32 xevpn_seen_slot(__u32 vni, const __u8 *mac)
{
	__u32 h = vni * 0x9e3779b1U;

	h ^= (__u32)mac[0] << 24 | (__u32)mac[1] << 16 | (__u32)mac[2] << 8 | mac[3];
	h *= 0x85ebca6bU;
	h ^= (__u32)mac[4] << 8 | mac[5];
	h *= 0xc2b2ae35U;
	h ^= h >> 16;
	return h & (XEVPN_SEEN_SLOTS - 1);
}

#endif
