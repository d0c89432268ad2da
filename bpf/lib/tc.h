/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * TC (clsact ingress) half of the dataplane: BUM replication with
 * bpf_clone_redirect, and the unicast paths XDP hands over (neighbour not
 * resolved, or no XDP on the port). Included by bpf/xevpn.bpf.c after the
 * XDP half, whose route_vtep() it shares.
 */
#ifndef XEVPN_BPF_TC_H
#define XEVPN_BPF_TC_H

#include <linux/pkt_cls.h>

/* Bytes made linear before parsing: outer headers with options + inner L2-L4. */
#define TC_PULL_LEN 192

static __always_inline int tc_verdict(struct trace_rec *t, int action, __u32 ctr, __u32 bytes)
{
	trace_verdict(t, ctr);
	ctr_add(ctr, bytes);
	return action;
}

/*
 * Whether a BUM copy may leave by local port fp. Returns 0, or the filter
 * counter that suppressed it. from_overlay selects the EVPN rules: the DF
 * filter and split horizon apply to overlay BUM only; BUM from a local port
 * reaches local ESes whatever the DF state (local bias, RFC 8365 §8.3.1).
 * A DF bit counts only while the controller's DF lease holds.
 */
static __always_inline __u32 flood_filter(const struct xevpn_flood_port *fp, __u32 in_ifindex,
					  __u32 vni, int from_overlay, __be32 src_vtep)
{
	__u32 ifindex = fp->ifindex, es_id;
	struct xevpn_port *port;
	struct xevpn_es *es;

	if (ifindex == in_ifindex)
		return XEVPN_CTR_FILTER_INGRESS_PORT;
	port = bpf_map_lookup_elem(&xevpn_port, &ifindex);
	if (port && (port->flags & XEVPN_PORT_F_DISABLED))
		return XEVPN_CTR_FILTER_ES_STATE;
	if (!port || !port->es_id)
		return 0;
	es_id = port->es_id;
	es = bpf_map_lookup_elem(&xevpn_es, &es_id);
	if (es && (es->flags & (XEVPN_ES_F_LINK_DOWN | XEVPN_ES_F_HOLD)))
		return XEVPN_CTR_FILTER_ES_STATE;
	if (!from_overlay)
		return 0;
	if (es_is_peer(es_id, src_vtep))
		return XEVPN_CTR_FILTER_SPLIT_HORIZON;
	if (!es_is_df(es_id, vni))
		return XEVPN_CTR_FILTER_DF;
	if (df_lease_expired())
		return XEVPN_CTR_FILTER_DF_LEASE;
	return 0;
}

/*
 * Replication runs one global subprogram per copy: each is verified once,
 * whatever the flood list length, instead of once per loop iteration.
 */
#define FLOOD_F_OVERLAY    0x1 /* frame came from the overlay */
#define FLOOD_F_OVER_LIMIT 0x2 /* XEVPN_MAX_FANOUT copies already made */

/*
 * Copy to local member i of the flood list of vni; the skb is untagged and
 * stays so. Returns 1 when the copy counts against the fan-out, else 0.
 */
__attribute__((noinline)) int flood_local_one(struct __sk_buff *skb, __u64 i, __u32 vni,
					      __u32 src_vtep, __u32 flags)
{
	const struct xevpn_flood *fl = bpf_map_lookup_elem(&xevpn_flood, &vni);
	const struct xevpn_flood_port *fp;
	__u32 ctr, ifindex;
	__u16 vlan;
	long rc;

	if (!fl || i >= XEVPN_MAX_FLOOD_PORTS)
		return 0;
	fp = &fl->port[i];
	ifindex = fp->ifindex;
	vlan = fp->vlan;
	ctr = flood_filter(fp, skb->ifindex, vni, flags & FLOOD_F_OVERLAY, src_vtep);
	if (ctr) {
		ctr_add(ctr, 0);
		return 0;
	}
	if (flags & FLOOD_F_OVER_LIMIT) {
		ctr_add(XEVPN_CTR_DROP_FANOUT_LIMIT, skb->len);
		return 0;
	}
	if (vlan && bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), vlan)) {
		ctr_add(XEVPN_CTR_COPY_FAILED, skb->len);
		return 1;
	}
	rc = bpf_clone_redirect(skb, ifindex, 0);
	if (vlan)
		bpf_skb_vlan_pop(skb);
	ctr_add(rc ? XEVPN_CTR_COPY_FAILED : XEVPN_CTR_FLOOD_LOCAL_COPY, skb->len);
	return 1;
}

static __always_inline void flood_local(struct __sk_buff *skb, const struct xevpn_flood *fl,
					__u32 vni, int from_overlay, __be32 src_vtep, __u32 *copies)
{
	__u32 n = fl->n_ports, flags = from_overlay ? FLOOD_F_OVERLAY : 0;

	for (__u32 i = 0; i < XEVPN_MAX_FLOOD_PORTS; i++) {
		if (i >= n)
			break;
		*copies += flood_local_one(skb, i, vni, src_vtep,
					   flags | (*copies >= XEVPN_MAX_FANOUT ? FLOOD_F_OVER_LIMIT : 0));
	}
}

/*
 * Ingress replication copy to VTEP i of the flood list of vni; the skb
 * already has room for the outer header at its head. A VTEP whose underlay
 * neighbour is unresolved is skipped (copy_failed): ctl keeps VTEP
 * neighbours resolved (xevpn_dp_neigh_prime). Returns 1 when the copy counts
 * against the fan-out.
 */
__attribute__((noinline)) int flood_remote_one(struct __sk_buff *skb, __u64 i, __u32 vni,
					       __u32 hash, __u32 flags)
{
	const struct xevpn_flood *fl = bpf_map_lookup_elem(&xevpn_flood, &vni);
	const struct xevpn_config *cfg = config_get();
	struct encap_params p = {};
	struct outer_buf o = {};
	__u32 oif;

	if (!fl || i >= XEVPN_MAX_FLOOD_VTEPS)
		return 0;
	if (flags & FLOOD_F_OVER_LIMIT) {
		ctr_add(XEVPN_CTR_DROP_FANOUT_LIMIT, skb->len);
		return 0;
	}
	p.inner_len = skb->len - OUTER_LEN;
	p.vni = vni;
	p.sport = flow_sport(hash);
	if (route_vtep(skb, skb->ifindex, cfg, fl->vtep[i], &p, &oif)) {
		ctr_add(XEVPN_CTR_COPY_FAILED, skb->len);
		return 1;
	}
	build_outer(&o.eth, &p);
	if (bpf_skb_store_bytes(skb, 0, &o.eth, OUTER_LEN, 0) ||
	    bpf_clone_redirect(skb, oif, 0)) {
		ctr_add(XEVPN_CTR_COPY_FAILED, skb->len);
		return 1;
	}
	ctr_add(XEVPN_CTR_FLOOD_REMOTE_COPY, skb->len);
	return 1;
}

/* Encapsulate once (outer header filled per copy), then one copy per VTEP. */
static __always_inline void flood_remote(struct __sk_buff *skb, const struct xevpn_flood *fl,
					 __u32 vni, __u32 hash, __u32 *copies)
{
	__u32 n = fl->n_vteps;

	if (!n)
		return;
	if (bpf_skb_change_head(skb, OUTER_LEN, 0)) {
		ctr_add(XEVPN_CTR_COPY_FAILED, skb->len);
		return;
	}
	for (__u32 i = 0; i < XEVPN_MAX_FLOOD_VTEPS; i++) {
		if (i >= n)
			break;
		*copies += flood_remote_one(skb, i, vni, hash,
					    *copies >= XEVPN_MAX_FANOUT ? FLOOD_F_OVER_LIMIT : 0);
	}
}

/*
 * Known remote unicast XDP could not send (neighbour unresolved): encap and
 * let the kernel resolve the neighbour (bpf_redirect_neigh, IPv4 inner only:
 * it needs skb->protocol to match the outer header).
 */
static __always_inline int tc_encap_neigh(struct __sk_buff *skb, struct trace_rec *t,
					  const struct xevpn_config *cfg, const struct fwd *f, __u32 vni,
					  __u32 hash, __u32 bytes)
{
	struct encap_params p = {};
	struct outer_buf o = {};
	__u32 oif, ctr;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return tc_verdict(t, TC_ACT_SHOT, XEVPN_CTR_DROP_NO_NEIGH, bytes);
	p.inner_len = skb->len;
	p.vni = vni;
	p.sport = flow_sport(hash);
	ctr = route_vtep(skb, skb->ifindex, cfg, f->vtep, &p, &oif);
	if (ctr && ctr != XEVPN_CTR_FIB_FALLBACK)
		return tc_verdict(t, TC_ACT_SHOT, ctr, bytes);
	if (bpf_skb_change_head(skb, OUTER_LEN, 0))
		return tc_verdict(t, TC_ACT_SHOT, XEVPN_CTR_DROP_ENCAP_FAILED, bytes);
	p.dmac[0] = 0x02; /* placeholder, unicast: the neighbour layer rewrites both MACs */
	build_outer(&o.eth, &p);
	if (bpf_skb_store_bytes(skb, 0, &o.eth, OUTER_LEN, 0))
		return tc_verdict(t, TC_ACT_SHOT, XEVPN_CTR_DROP_ENCAP_FAILED, bytes);
	trace_out(t, XEVPN_CTR_TC_ENCAP_NEIGH, oif, f->vtep);
	ctr_add(XEVPN_CTR_TC_ENCAP_NEIGH, bytes);
	if (!ctr)
		return bpf_redirect(oif, 0);
	return bpf_redirect_neigh(oif, NULL, 0, 0);
}

static __always_inline int tc_access(struct __sk_buff *skb, const struct xevpn_port *port,
				     struct trace_rec *t)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u32 bytes = skb->len, ifindex = skb->ifindex, vni = 0, ctr, hash, copies = 0, bd_flags = 0;
	const struct xevpn_config *cfg;
	const struct xevpn_flood *fl;
	struct cursor c;
	struct l2info l2;
	struct fwd f;
	int tagged;

	cursor_init(&c, data, end);
	if (parse_l2(&c, &l2))
		return tc_verdict(t, TC_ACT_SHOT, XEVPN_CTR_DROP_MALFORMED_L2, bytes);
	trace_frame(t, l2.eth, l2.proto);
	tagged = l2.hlen > sizeof(struct ethhdr);
	if (!tagged && skb->vlan_present) { /* tag already taken out by the stack */
		tagged = 1;
		l2.vlan = skb->vlan_tci & VLAN_VID_MASK;
	}
	ctr = access_admit(port, ifindex, tagged, l2.vlan, &vni, &bd_flags, NULL);
	trace_admit(t, vni, l2.vlan, tagged);
	if (ctr)
		return tc_verdict(t, TC_ACT_SHOT, ctr, bytes);
	if (mac_is_multicast(l2.eth->h_source) || mac_is_zero(l2.eth->h_source))
		return tc_verdict(t, TC_ACT_SHOT, XEVPN_CTR_DROP_BAD_SRC_MAC, bytes);
	hash = flow_hash(l2.eth, l2.proto, c);
	cfg = config_get();
	if (!mac_is_multicast(l2.eth->h_dest)) {
		struct flow_src fs = { .have = 1, .hash = hash };

		resolve_dst(l2.eth->h_dest, vni, &fs, &f);
		t->es_id = f.es_id;
		if (f.es_id && f.kind == FWD_REMOTE)
			t->hash = hash;
		if (f.kind == FWD_DROP)
			return tc_verdict(t, TC_ACT_SHOT, f.ctr, bytes);
		if (f.kind == FWD_LOCAL && f.ifindex == ifindex)
			return tc_verdict(t, TC_ACT_SHOT, XEVPN_CTR_DROP_HAIRPIN, bytes);
		if (f.kind != FWD_MISS && tagged && bpf_skb_vlan_pop(skb))
			return tc_verdict(t, TC_ACT_SHOT, XEVPN_CTR_DROP_ENCAP_FAILED, bytes);
		if (f.kind == FWD_LOCAL) {
			if (f.vlan && bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), f.vlan))
				return tc_verdict(t, TC_ACT_SHOT, XEVPN_CTR_DROP_ENCAP_FAILED, bytes);
			trace_out(t, XEVPN_CTR_LOCAL_FWD, f.ifindex, 0);
			ctr_add(XEVPN_CTR_LOCAL_FWD, bytes);
			return bpf_redirect(f.ifindex, 0);
		}
		if (f.kind == FWD_REMOTE)
			return tc_encap_neigh(skb, t, cfg, &f, vni, hash, bytes);
	}
	fl = bpf_map_lookup_elem(&xevpn_flood, &vni);
	if (!fl)
		return tc_verdict(t, TC_ACT_SHOT, XEVPN_CTR_DROP_FLOOD_EMPTY, bytes);
	if (tagged && bpf_skb_vlan_pop(skb))
		return tc_verdict(t, TC_ACT_SHOT, XEVPN_CTR_DROP_ENCAP_FAILED, bytes);
	flood_local(skb, fl, vni, 0, 0, &copies);
	flood_remote(skb, fl, vni, hash, &copies);
	return tc_verdict(t, TC_ACT_SHOT, XEVPN_CTR_TC_FLOODED, bytes);
}

static __always_inline int tc_uplink(struct __sk_buff *skb, struct trace_rec *t)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u32 bytes = skb->len, ctr, copies = 0, vni;
	const struct xevpn_config *cfg = config_get();
	const struct xevpn_flood *fl;
	struct xevpn_fdb_key k = {};
	struct overlay o = {};
	struct ethhdr inner;
	struct cursor c;
	__be32 src_vtep;

	cursor_init(&c, data, end);
	if (t->on && data + sizeof(struct ethhdr) <= end) /* outer, until the inner is known */
		trace_frame(t, data, ((struct ethhdr *)data)->h_proto);
	ctr = parse_overlay(&c, cfg, &o);
	if (t->on) {
		t->vni = o.vni;
		t->vtep_src = o.src_vtep;
		if (!ctr) {
			t->flags &= ~XEVPN_TRACE_F_BUM;
			trace_frame(t, o.inner, o.inner_proto);
			t->flags |= XEVPN_TRACE_F_FROM_OVERLAY;
		}
	}
	if (ctr == XEVPN_CTR_PASS_STACK)
		return tc_verdict(t, TC_ACT_OK, XEVPN_CTR_TC_PASS, bytes);
	if (ctr)
		return tc_verdict(t, TC_ACT_SHOT, ctr, bytes);
	vni = o.vni;
	src_vtep = o.src_vtep;
	if (!mac_is_multicast(o.inner->h_dest)) {
		k.vni = vni;
		__builtin_memcpy(k.mac, o.inner->h_dest, ETH_ALEN);
		if (bpf_map_lookup_elem(&xevpn_fdb, &k)) /* known: XDP's job */
			return tc_verdict(t, TC_ACT_OK, XEVPN_CTR_TC_PASS, bytes);
	}
	fl = bpf_map_lookup_elem(&xevpn_flood, &vni);
	if (!fl)
		return tc_verdict(t, TC_ACT_SHOT, XEVPN_CTR_DROP_FLOOD_EMPTY, bytes);
	__builtin_memcpy(&inner, o.inner, sizeof(inner));
	/* remove outer IP/UDP/VXLAN + inner Ethernet after the outer MAC header, then
	 * write the inner Ethernet header over the outer one */
	if (bpf_skb_adjust_room(skb, -(__s32)o.outer_len, BPF_ADJ_ROOM_MAC, 0) ||
	    bpf_skb_store_bytes(skb, 0, &inner, sizeof(inner), 0))
		return tc_verdict(t, TC_ACT_SHOT, XEVPN_CTR_DROP_ENCAP_FAILED, bytes);
	flood_local(skb, fl, vni, 1, src_vtep, &copies);
	return tc_verdict(t, TC_ACT_SHOT, XEVPN_CTR_TC_FLOODED, bytes);
}

static __always_inline int tc_decide(struct __sk_buff *skb, struct trace_rec *t, __u8 *hook)
{
	__u32 ifindex = skb->ifindex, len = skb->len;
	struct xevpn_port *port;

	port = bpf_map_lookup_elem(&xevpn_port, &ifindex);
	if (!port || (port->role != XEVPN_PORT_ACCESS && port->role != XEVPN_PORT_UPLINK))
		return tc_verdict(t, TC_ACT_OK, XEVPN_CTR_TC_PASS, len);
	bpf_skb_pull_data(skb, len < TC_PULL_LEN ? len : TC_PULL_LEN);
	if (port->role == XEVPN_PORT_ACCESS) {
		*hook = XEVPN_TRACE_TC_ACCESS;
		return tc_access(skb, port, t);
	}
	*hook = XEVPN_TRACE_TC_UPLINK;
	return tc_uplink(skb, t);
}

static __always_inline int tc_ingress_body(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex, len = skb->len;
	__u8 hook = XEVPN_TRACE_TC_OTHER;
	struct trace_rec t = {};
	int act;

	t.on = trace_armed();
	act = tc_decide(skb, &t, &hook);
	trace_end(&t, hook, ifindex, len);
	return act;
}

#endif
