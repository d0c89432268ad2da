// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xevpn dataplane: EVPN-VXLAN bridging with all-active multi-homing.
 *
 *   xdp_access   access port ingress: learn, local switch, encap (VTEP / ES
 *                aliasing / ES backup path); BUM and unknown unicast -> TC
 *   xdp_uplink   uplink ingress: VXLAN decap of known VNIs to access ports,
 *                ES backup path re-encap; BUM and unknown unicast -> TC
 *   tc_ingress   clsact ingress of both: BUM replication (ingress replication
 *                to the flood list, local flooding with DF filter, local-bias
 *                split horizon, no reflection), unicast encap when XDP could
 *                not resolve the underlay neighbour
 *   xdp_pass     XDP_PASS, for veth peers that must accept redirected frames
 *
 * Maps: bpf/lib/maps.h; shared types: include/xevpn/.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/parse.h"
#include "lib/csum.h"
#include "lib/hash.h"
#include "lib/encap.h"
#include "lib/maps.h"
#include "lib/fwd.h"
#include "lib/trace.h"

#define AF_INET 2

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline int xdp_verdict(struct trace_rec *t, int action, __u32 ctr, __u32 bytes)
{
	trace_verdict(t, ctr);
	ctr_add(ctr, bytes);
	return action;
}

static __always_inline int xdp_drop(struct trace_rec *t, __u32 ctr, __u32 bytes)
{
	return xdp_verdict(t, XDP_DROP, ctr, bytes);
}

/*
 * Make the frame at ctx->data carry tag want (0 = untagged) instead of its
 * current L2 header (tagged or not). Returns 0 or -1.
 */
static __always_inline int xdp_vlan_set(struct xdp_md *ctx, int tagged, __u16 cur, __u16 want)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct vlan_hdr *vh;
	__u8 macs[2 * ETH_ALEN];

	if (!tagged && !want)
		return 0;
	if (tagged && want) {
		vh = data + sizeof(struct ethhdr);
		if ((void *)(vh + 1) > end)
			return -1;
		if (cur != want)
			vh->tci = bpf_htons((bpf_ntohs(vh->tci) & ~VLAN_VID_MASK) | want);
		return 0;
	}
	if (data + sizeof(macs) > end)
		return -1;
	__builtin_memcpy(macs, data, sizeof(macs));
	if (bpf_xdp_adjust_head(ctx, tagged ? (int)sizeof(*vh) : -(int)sizeof(*vh)))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + sizeof(struct ethhdr) + sizeof(*vh) > end)
		return -1;
	__builtin_memcpy(data, macs, sizeof(macs));
	if (!tagged) {
		__be16 *tag = data + sizeof(macs); /* TPID, then TCI, then the old ethertype */

		tag[0] = bpf_htons(ETH_P_8021Q);
		tag[1] = bpf_htons(want);
	}
	return 0;
}

/* Deliver the (untagged or tagged) frame at ctx->data to a local port. */
static __always_inline int xdp_local_out(struct xdp_md *ctx, struct trace_rec *t, int tagged,
					 __u16 cur_vlan, const struct fwd *f, __u32 bytes)
{
	if (xdp_vlan_set(ctx, tagged, cur_vlan, f->vlan))
		return xdp_drop(t, XEVPN_CTR_DROP_ENCAP_FAILED, bytes);
	trace_out(t, f->ctr, f->ifindex, 0);
	ctr_add(f->ctr, bytes);
	return bpf_redirect(f->ifindex, 0);
}

/* bpf_fib_lookup() of the underlay route to vtep for an outer packet of tot_len bytes. */
static __always_inline long fib_vtep(void *ctx, __u32 in_ifindex, const struct xevpn_config *cfg,
				     __be32 vtep, __u16 tot_len, struct bpf_fib_lookup *fib)
{
	__u32 flags = 0;

	if (cfg->underlay_ifindex) {
		in_ifindex = cfg->underlay_ifindex;
		flags = BPF_FIB_LOOKUP_OUTPUT;
	}
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->l4_protocol = IPPROTO_UDP;
	fib->tot_len = tot_len;
	fib->ifindex = in_ifindex;
	fib->ipv4_src = cfg->vtep_ip;
	fib->ipv4_dst = vtep;
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), flags);
}

/*
 * Route to a VTEP: fills p's addresses and MACs and the egress ifindex.
 * Returns 0, FIB_FALLBACK when only the neighbour is missing (*oif set), or
 * the drop counter.
 */
static __always_inline __u32 route_vtep(void *ctx, __u32 in_ifindex, const struct xevpn_config *cfg,
					__be32 vtep, struct encap_params *p, __u32 *oif)
{
	struct bpf_fib_lookup fib;
	long rc;

	if (!cfg || !cfg->vtep_ip)
		return XEVPN_CTR_DROP_NO_CONFIG;
	rc = fib_vtep(ctx, in_ifindex, cfg, vtep, p->inner_len + OUTER_LEN - sizeof(struct ethhdr),
		      &fib);
	p->saddr = cfg->vtep_ip;
	p->daddr = vtep; /* fib.ipv4_dst now holds the gateway */
	p->ttl = cfg->ttl ? cfg->ttl : XEVPN_DEFAULT_TTL;
	p->dport = cfg->vxlan_port ? cfg->vxlan_port : bpf_htons(XEVPN_VXLAN_PORT);
	*oif = fib.ifindex;
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		break;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		return XEVPN_CTR_FIB_FALLBACK;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		return XEVPN_CTR_DROP_MTU;
	default:
		return XEVPN_CTR_DROP_NO_ROUTE;
	}
	__builtin_memcpy(p->smac, fib.smac, ETH_ALEN);
	__builtin_memcpy(p->dmac, fib.dmac, ETH_ALEN);
	return 0;
}

static __always_inline __u32 rt_slot(__be32 vtep)
{
	return hash_final(vtep) & (XEVPN_RT_CACHE_SLOTS - 1);
}

/*
 * Underlay path to a VTEP for an inner frame of inner_len bytes, from the
 * per-CPU route cache, or resolved by route_vtep() and cached together with
 * the outer header template and the route MTU (a second lookup with the
 * largest total length reports it). Returns 0 with *rt set, or what
 * route_vtep() returns (*oif set for FIB_FALLBACK); nothing but a success is
 * cached, so an unresolved neighbour or a missing route is looked up again
 * by the next frame.
 */
static __always_inline __u32 rt_get(struct xdp_md *ctx, const struct xevpn_config *cfg,
				    __be32 vtep, __u16 inner_len, __u64 now,
				    struct xevpn_rt_cache **rt, __u32 *oif)
{
	__u32 slot = rt_slot(vtep), gen = xevpn_cfg_gen, ctr;
	struct encap_params p = {};
	struct bpf_fib_lookup fib;
	struct xevpn_rt_cache *e;
	__u16 mtu;
	long rc;

	e = bpf_map_lookup_elem(&xevpn_rt_cache, &slot);
	if (!e)
		return XEVPN_CTR_DROP_ENCAP_FAILED;
	if (e->vtep == vtep && e->gen == gen && now < e->expires_ns) {
		if (inner_len + OUTER_LEN - sizeof(struct ethhdr) > e->mtu)
			return XEVPN_CTR_DROP_MTU;
		*rt = e;
		return 0;
	}
	p.inner_len = inner_len;
	ctr = route_vtep(ctx, ctx->ingress_ifindex, cfg, vtep, &p, oif);
	if (ctr)
		return ctr;
	rc = fib_vtep(ctx, ctx->ingress_ifindex, cfg, vtep, 0xffff, &fib);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		mtu = fib.mtu_result;
	else if (rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		mtu = 0xffff;
	else
		mtu = 0; /* the route went away between the lookups: this frame only */
	e->ifindex = *oif;
	e->mtu = mtu;
	build_outer_template(e->hdr, &p, &e->csum);
	e->vtep = mtu ? vtep : 0;
	e->gen = gen;
	e->expires_ns = now + XEVPN_RT_CACHE_TTL_MS * 1000000ULL;
	*rt = e;
	return 0;
}

/*
 * Encapsulate the frame at ctx->data (head = bytes of outer header or VLAN
 * tag to replace) and redirect it to the VTEP chosen in f.
 */
static __always_inline int xdp_encap(struct xdp_md *ctx, struct trace_rec *t,
				     const struct xevpn_config *cfg, const struct fwd *f, __u32 vni, __u32 hash, int tagged,
				     __u32 head, __u32 bytes, __u64 now)
{
	__u16 inner_len = bytes - head - (tagged ? sizeof(struct vlan_hdr) : 0);
	struct xevpn_rt_cache *rt = NULL;
	void *data, *end;
	__u8 macs[2 * ETH_ALEN];
	__u32 oif = 0, ctr;
	int delta;

	if (!cfg || !cfg->vtep_ip)
		return xdp_drop(t, XEVPN_CTR_DROP_NO_CONFIG, bytes);
	ctr = rt_get(ctx, cfg, f->vtep, inner_len, now, &rt, &oif);
	if (ctr)
		return xdp_verdict(t, ctr == XEVPN_CTR_FIB_FALLBACK ? XDP_PASS : XDP_DROP, ctr, bytes);
	if (!rt)
		return xdp_drop(t, XEVPN_CTR_DROP_ENCAP_FAILED, bytes);

	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (tagged) {
		if (data + head + sizeof(macs) > end)
			return xdp_drop(t, XEVPN_CTR_DROP_ENCAP_FAILED, bytes);
		__builtin_memcpy(macs, data + head, sizeof(macs));
	}
	delta = (int)head - (int)OUTER_LEN + (tagged ? (int)sizeof(struct vlan_hdr) : 0);
	if (delta && bpf_xdp_adjust_head(ctx, delta))
		return xdp_drop(t, XEVPN_CTR_DROP_ENCAP_FAILED, bytes);
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + OUTER_LEN + sizeof(struct ethhdr) > end)
		return xdp_drop(t, XEVPN_CTR_DROP_ENCAP_FAILED, bytes);
	if (tagged)
		__builtin_memcpy(data + OUTER_LEN, macs, sizeof(macs));
	fill_outer(data, rt->hdr, rt->csum, inner_len, flow_sport(hash), vni);
	trace_out(t, f->ctr, rt->ifindex, f->vtep);
	ctr_add(f->ctr, bytes);
	return bpf_redirect(rt->ifindex, 0);
}

static __always_inline int xdp_access_decide(struct xdp_md *ctx, struct trace_rec *t)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 bytes = end - data, ifindex = ctx->ingress_ifindex, vni = 0, ctr, bd_flags = 0;
	struct flow_src fs = {};
	const struct xevpn_config *cfg;
	const struct xevpn_port *port;
	const struct port_view *pv;
	struct cursor c;
	struct l2info l2;
	struct fwd f;
	int tagged;
	__u64 now;

	cursor_init(&c, data, end);
	if (parse_l2(&c, &l2))
		return xdp_drop(t, XEVPN_CTR_DROP_MALFORMED_L2, bytes);
	trace_frame(t, l2.eth, l2.proto);
	now = bpf_ktime_get_coarse_ns(); /* one clock read per frame for every cache */
	pv = port_view_get(ifindex, now);
	if (!pv || !pv->has_port || pv->port.role != XEVPN_PORT_ACCESS)
		return xdp_verdict(t, XDP_PASS, XEVPN_CTR_PASS_STACK, bytes);
	port = &pv->port;
	tagged = l2.hlen > sizeof(struct ethhdr);
	ctr = access_admit(port, ifindex, tagged, l2.vlan, &vni, &bd_flags, pv);
	trace_admit(t, vni, l2.vlan, tagged);
	if (ctr)
		return xdp_drop(t, ctr, bytes);
	if (mac_is_multicast(l2.eth->h_source) || mac_is_zero(l2.eth->h_source))
		return xdp_drop(t, XEVPN_CTR_DROP_BAD_SRC_MAC, bytes);
	cfg = config_get();
	learn_src(l2.eth->h_source, vni, ifindex, l2.vlan, port, bd_flags, cfg, now);
	if (mac_is_multicast(l2.eth->h_dest))
		return xdp_verdict(t, XDP_PASS, XEVPN_CTR_TO_TC, bytes);

	fs.eth = l2.eth;
	fs.proto = l2.proto;
	fs.l3 = c;
	resolve_dst(l2.eth->h_dest, vni, &fs, &f);
	t->es_id = f.es_id;
	t->hash = fs.hash; /* set only when an ES group was hashed */
	switch (f.kind) {
	case FWD_LOCAL:
		if (f.ifindex == ifindex)
			return xdp_drop(t, XEVPN_CTR_DROP_HAIRPIN, bytes);
		return xdp_local_out(ctx, t, tagged, l2.vlan, &f, bytes);
	case FWD_REMOTE:
		return xdp_encap(ctx, t, cfg, &f, vni, flow_src_hash(&fs), tagged, 0, bytes, now);
	case FWD_DROP:
		return xdp_drop(t, f.ctr, bytes);
	default:
		return xdp_verdict(t, XDP_PASS, XEVPN_CTR_TO_TC, bytes);
	}
}

static __always_inline int xdp_uplink_decide(struct xdp_md *ctx, struct trace_rec *t)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 bytes = end - data, ctr;
	struct flow_src fs = {};
	const struct xevpn_config *cfg = config_get();
	struct overlay o = {};
	struct cursor c;
	struct fwd f;

	cursor_init(&c, data, end);
	if (t->on && data + sizeof(struct ethhdr) <= end) /* outer, until the inner is known */
		trace_frame(t, data, ((struct ethhdr *)data)->h_proto);
	ctr = parse_overlay(&c, cfg, &o);
	if (t->on) {
		t->vni = o.vni;
		t->vtep_src = o.src_vtep;
	}
	if (ctr)
		return xdp_verdict(t, ctr == XEVPN_CTR_PASS_STACK ? XDP_PASS : XDP_DROP, ctr, bytes);
	if (t->on) {
		t->flags &= ~XEVPN_TRACE_F_BUM;
		trace_frame(t, o.inner, o.inner_proto);
		t->flags |= XEVPN_TRACE_F_FROM_OVERLAY;
	}
	if (mac_is_multicast(o.inner->h_dest))
		return xdp_verdict(t, XDP_PASS, XEVPN_CTR_TO_TC, bytes);
	fs.eth = o.inner;
	fs.proto = o.inner_proto;
	fs.l3 = o.inner_l3;
	resolve_dst(o.inner->h_dest, o.vni, &fs, &f);
	t->es_id = f.es_id;
	t->hash = fs.hash;
	switch (f.kind) {
	case FWD_LOCAL:
		if (bpf_xdp_adjust_head(ctx, o.outer_len))
			return xdp_drop(t, XEVPN_CTR_DROP_ENCAP_FAILED, bytes);
		f.ctr = XEVPN_CTR_DECAP_FWD;
		return xdp_local_out(ctx, t, 0, 0, &f, bytes);
	case FWD_REMOTE:
		/*
		 * Only the backup path of a local ES may send an overlay frame
		 * back into the overlay, and never one a peer already sent us.
		 */
		if (!f.es_local)
			return xdp_drop(t, XEVPN_CTR_DROP_OVERLAY_TRANSIT, bytes);
		if (es_is_peer(f.es_id, o.src_vtep))
			return xdp_drop(t, XEVPN_CTR_DROP_ES_DOWN_LOOP, bytes);
		return xdp_encap(ctx, t, cfg, &f, o.vni, flow_src_hash(&fs), 0, o.outer_len, bytes,
				 bpf_ktime_get_coarse_ns());
	case FWD_DROP:
		return xdp_drop(t, f.ctr, bytes);
	default:
		return xdp_verdict(t, XDP_PASS, XEVPN_CTR_TO_TC, bytes);
	}
}

/*
 * The program bodies: the decision, then its trace event when tracing is
 * armed (the bench wraps these, so it measures the disarmed cost too).
 */
static __always_inline int xdp_access_body(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data, ifindex = ctx->ingress_ifindex;
	struct trace_rec t = {};
	int act;

	t.on = trace_armed();
	act = xdp_access_decide(ctx, &t);
	trace_end(&t, XEVPN_TRACE_XDP_ACCESS, ifindex, len);
	return act;
}

static __always_inline int xdp_uplink_body(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data, ifindex = ctx->ingress_ifindex;
	struct trace_rec t = {};
	int act;

	t.on = trace_armed();
	act = xdp_uplink_decide(ctx, &t);
	trace_end(&t, XEVPN_TRACE_XDP_UPLINK, ifindex, len);
	return act;
}

SEC("xdp")
int xdp_access(struct xdp_md *ctx)
{
	return xdp_access_body(ctx);
}

SEC("xdp")
int xdp_uplink(struct xdp_md *ctx)
{
	return xdp_uplink_body(ctx);
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

#include "lib/tc.h"

SEC("tc")
int tc_ingress(struct __sk_buff *skb)
{
	return tc_ingress_body(skb);
}
