/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Map definitions of the dataplane (types in include/xevpn/maps.h). */
#ifndef XEVPN_BPF_MAPS_H
#define XEVPN_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <xevpn/maps.h>
#include <xevpn/counters.h>
#include <xevpn/events.h>

/* Global settings, written by ctl. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xevpn_config);
} xevpn_config SEC(".maps");

/* Port role, ES and untagged BD per ifindex, written by ctl. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XEVPN_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct xevpn_port);
} xevpn_port SEC(".maps");

/* (port, VLAN) -> BD (vni), written by ctl. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XEVPN_MAX_PORT_VLANS);
	__type(key, struct xevpn_port_vlan_key);
	__type(value, __u32);
} xevpn_port_vlan SEC(".maps");

/* Bridge domains by VNI, written by ctl. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XEVPN_MAX_BDS);
	__type(key, __u32);
	__type(value, struct xevpn_bd);
} xevpn_bd SEC(".maps");

/*
 * MAC table per BD: written by ctl (remote, static, ES MACs) and by XDP
 * learning. Not preallocated, so an updated entry is a new element and a
 * concurrent reader sees the old entry or the new one.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XEVPN_MAX_FDB);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xevpn_fdb_key);
	__type(value, struct xevpn_fdb_entry);
} xevpn_fdb SEC(".maps");

/* ES state (local port, link down, hold) by es_id, written by ctl. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XEVPN_MAX_ES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct xevpn_es);
} xevpn_es SEC(".maps");

/* DF state per (ES, BD), written by ctl after DF election. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XEVPN_MAX_ES_BD);
	__type(key, struct xevpn_es_bd_key);
	__type(value, struct xevpn_es_bd);
} xevpn_es_bd SEC(".maps");

/* Template of the inner map of xevpn_es_nh: one group, never edited in place. */
struct xevpn_nh_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xevpn_nh_group);
};

/* Keeps the full type of the group in BTF (clang only emits a forward declaration
 * for a type reached through the inner-map template alone). */
const volatile struct xevpn_nh_group xevpn_nh_group_btf_anchor;

/* ES next-hop groups: es_id -> inner map holding the group; ctl swaps inner maps. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, XEVPN_MAX_ES);
	__type(key, __u32);
	__array(values, struct xevpn_nh_inner);
} xevpn_es_nh SEC(".maps");

/* ES peer set: (ES, VTEP) pairs of VTEPs sharing an ES with us, written by ctl. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XEVPN_MAX_ES_PEERS);
	__type(key, struct xevpn_es_peer_key);
	__type(value, __u32);
} xevpn_es_peer SEC(".maps");

/* Flood list per BD (type-3 routes + local ports), replaced whole by ctl. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XEVPN_MAX_BDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct xevpn_flood);
} xevpn_flood SEC(".maps");

/* DF lease of the controller (struct xevpn_lease), renewed by ctl. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xevpn_lease);
} xevpn_lease SEC(".maps");

/* Per-CPU counters indexed by enum xevpn_ctr, written by every program. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XEVPN_CTR_MAX);
	__type(key, __u32);
	__type(value, struct xevpn_ctr_value);
} xevpn_ctr SEC(".maps");

/* Learn events to ctl. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, XEVPN_LEARN_RING_BYTES);
} xevpn_learn SEC(".maps");

/* Learn event budget of the current second, per CPU (BPF only). */
struct learn_budget {
	__u64 window_ns;
	__u32 sent;
	__u32 pad;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct learn_budget);
} xevpn_learn_rl SEC(".maps");

/* Underlay paths per VTEP, per CPU (BPF only, see struct xevpn_rt_cache). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XEVPN_RT_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct xevpn_rt_cache);
} xevpn_rt_cache SEC(".maps");

/* Source MACs recently seen, per CPU (BPF only, see struct xevpn_seen). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XEVPN_SEEN_SLOTS);
	__type(key, __u32);
	__type(value, struct xevpn_seen);
} xevpn_seen SEC(".maps");

/*
 * Configuration generation: libxevpn-dp bumps it on every config, port and
 * BD write (and xevpn_dp_route_cache_flush()), which drops every cached route
 * and port view at once.
 */
volatile __u32 xevpn_cfg_gen;

_Static_assert(XEVPN_CTR_LOCAL_FWD == 0, "helpers return 0 or a failure counter");

static __always_inline void ctr_add(__u32 idx, __u32 bytes)
{
	struct xevpn_ctr_value *v = bpf_map_lookup_elem(&xevpn_ctr, &idx);

	if (v) {
		v->packets++;
		v->bytes += bytes;
	}
}

static __always_inline const struct xevpn_config *config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xevpn_config, &zero);
}

static __always_inline const struct xevpn_nh_group *es_group_get(__u32 es_id)
{
	void *inner = bpf_map_lookup_elem(&xevpn_es_nh, &es_id);
	__u32 zero = 0;

	if (!inner)
		return NULL;
	return bpf_map_lookup_elem(inner, &zero);
}

static __always_inline int es_is_peer(__u32 es_id, __be32 vtep)
{
	struct xevpn_es_peer_key k = { .es_id = es_id, .vtep = vtep };

	return bpf_map_lookup_elem(&xevpn_es_peer, &k) != NULL;
}

static __always_inline int es_is_df(__u32 es_id, __u32 vni)
{
	struct xevpn_es_bd_key k = { .es_id = es_id, .vni = vni };
	struct xevpn_es_bd *v = bpf_map_lookup_elem(&xevpn_es_bd, &k);

	return v && (v->flags & XEVPN_ES_BD_F_DF);
}

/* The controller's DF lease is set and has passed (struct xevpn_lease). */
static __always_inline int df_lease_expired(void)
{
	__u32 zero = 0;
	const struct xevpn_lease *l = bpf_map_lookup_elem(&xevpn_lease, &zero);
	__u64 deadline = l ? *(volatile const __u64 *)&l->deadline_ns : 0;

	return deadline && bpf_ktime_get_coarse_ns() >= deadline;
}

#endif
