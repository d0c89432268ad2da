/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Forwarding decisions shared by the XDP and TC programs: BD of an access
 * frame, source learning, FDB resolution (local port, VTEP, ES with aliasing
 * and backup path) and classification of overlay frames.
 */
#ifndef XEVPN_BPF_FWD_H
#define XEVPN_BPF_FWD_H

#include "parse.h"
#include "maps.h"
#include "hash.h"

/*
 * An access port as untagged frames need it: its xevpn_port entry and the
 * flags of its untagged BD, read together once instead of two hash lookups
 * per frame. Per CPU, slot = ifindex modulo the slot count (BPF only). Valid
 * while xevpn_cfg_gen is unchanged (libxevpn-dp bumps it on every port and
 * BD write, so its writes take effect at the next frame) and for at most
 * XEVPN_RT_CACHE_TTL_MS, the bound for a write made behind its back. ES
 * state (hold, link down) is not part of the view: it is read live.
 */
struct port_view {
	__u32 ifindex;
	__u32 gen;
	__u64 expires_ns;
	struct xevpn_port port;
	__u32 has_port;
	__u32 has_bd;   /* the untagged BD (port.vni) exists */
	__u32 bd_flags; /* its XEVPN_BD_F_* */
	__u32 pad;
};
#define PORT_VIEW_SLOTS XEVPN_MAX_PORTS
_Static_assert((PORT_VIEW_SLOTS & (PORT_VIEW_SLOTS - 1)) == 0, "port view slots: power of two");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PORT_VIEW_SLOTS);
	__type(key, __u32);
	__type(value, struct port_view);
} xevpn_port_view SEC(".maps");

static __always_inline const struct port_view *port_view_get(__u32 ifindex, __u64 now)
{
	__u32 slot = ifindex & (PORT_VIEW_SLOTS - 1), gen = xevpn_cfg_gen;
	struct port_view *v = bpf_map_lookup_elem(&xevpn_port_view, &slot);
	struct xevpn_port *port;
	struct xevpn_bd *bd;
	__u32 vni;

	if (!v)
		return NULL;
	if (v->ifindex == ifindex && v->gen == gen && now < v->expires_ns)
		return v;
	port = bpf_map_lookup_elem(&xevpn_port, &ifindex);
	v->has_port = port != NULL;
	if (port)
		v->port = *port;
	else
		__builtin_memset(&v->port, 0, sizeof(v->port));
	vni = v->port.vni;
	bd = vni ? bpf_map_lookup_elem(&xevpn_bd, &vni) : NULL;
	v->has_bd = bd != NULL;
	v->bd_flags = bd ? bd->flags : 0;
	v->ifindex = ifindex;
	v->gen = gen;
	v->expires_ns = now + XEVPN_RT_CACHE_TTL_MS * 1000000ULL;
	return v;
}

/*
 * Common access-port admission: returns 0 and sets *vni and *bd_flags, or the
 * counter of the drop. Checked in this order: port disabled, ES on hold, no
 * BD. pv (XDP) answers for the untagged BD; without it the maps are read.
 */
static __always_inline __u32 access_admit(const struct xevpn_port *port, __u32 ifindex, int tagged,
					  __u16 vlan, __u32 *vni, __u32 *bd_flags,
					  const struct port_view *pv)
{
	struct xevpn_port_vlan_key k = { .ifindex = ifindex, .vlan = vlan };
	const struct xevpn_bd *bd;
	__u32 *vp;

	if (port->flags & XEVPN_PORT_F_DISABLED)
		return XEVPN_CTR_DROP_PORT_DISABLED;
	if (port->es_id) {
		struct xevpn_es *es = bpf_map_lookup_elem(&xevpn_es, &port->es_id);

		if (es && (es->flags & XEVPN_ES_F_HOLD))
			return XEVPN_CTR_DROP_ES_HOLD;
	}
	if (!tagged && pv) {
		*vni = port->vni;
		if (!*vni || !pv->has_bd)
			return XEVPN_CTR_DROP_NO_BD;
		*bd_flags = pv->bd_flags;
		return 0;
	}
	if (tagged) {
		vp = bpf_map_lookup_elem(&xevpn_port_vlan, &k);
		*vni = vp ? *vp : 0;
	} else {
		*vni = port->vni;
	}
	if (!*vni)
		return XEVPN_CTR_DROP_NO_BD;
	bd = bpf_map_lookup_elem(&xevpn_bd, vni);
	if (!bd)
		return XEVPN_CTR_DROP_NO_BD;
	*bd_flags = bd->flags;
	return 0;
}

/* Whether this CPU may still send a learn event in the current second. */
static __always_inline int learn_budget_take(const struct xevpn_config *cfg, __u64 now)
{
	__u32 zero = 0, limit = cfg && cfg->learn_events_per_sec ? cfg->learn_events_per_sec :
							        XEVPN_LEARN_EVENTS_PER_SEC;
	struct learn_budget *b = bpf_map_lookup_elem(&xevpn_learn_rl, &zero);

	if (!b)
		return 0;
	if (now - b->window_ns >= 1000000000ULL) {
		b->window_ns = now;
		b->sent = 0;
	}
	if (b->sent >= limit)
		return 0;
	b->sent++;
	return 1;
}

static __always_inline int seen_match(const struct xevpn_seen *s, const __u8 *smac, __u32 vni,
				      __u32 ifindex, __u16 vlan)
{
	return s->vni == vni && s->ifindex == ifindex && s->vlan == vlan &&
	       *(const __u32 *)s->mac == *(const __u32 *)smac &&
	       *(const __u16 *)(s->mac + 4) == *(const __u16 *)(smac + 4);
}

static __always_inline void seen_note(struct xevpn_seen *s, const __u8 *smac, __u32 vni,
				      __u32 ifindex, __u16 vlan, __u64 now)
{
	__builtin_memcpy(s->mac, smac, ETH_ALEN);
	s->vlan = vlan;
	s->vni = vni;
	s->ifindex = ifindex;
	s->seen_ns = now;
}

/*
 * Learn the source MAC of an access frame: when it is new or moved, write the
 * FDB entry and tell ctl, both or neither (an event is only lost together
 * with its FDB write, and the next frame retries). A source found at the
 * same place in this CPU's seen cache within XEVPN_SEEN_REFRESH_MS costs no
 * FDB lookup and no write; otherwise the FDB is checked and, when the entry
 * is there (or just learned), the seen slot refreshed: at most one per-CPU
 * write per MAC per refresh period.
 */
static __always_inline void learn_src(const __u8 *smac, __u32 vni, __u32 ifindex, __u16 vlan,
				      const struct xevpn_port *port, __u32 bd_flags,
				      const struct xevpn_config *cfg, __u64 now)
{
	struct xevpn_fdb_key k = { .vni = vni };
	struct xevpn_fdb_entry want = {}, *cur;
	struct xevpn_learn_event *ev;
	struct xevpn_seen *seen;
	__u32 slot;

	if (!(bd_flags & XEVPN_BD_F_LEARN) || (cfg && (cfg->flags & XEVPN_CFG_F_NO_LEARN)))
		return;
	slot = xevpn_seen_slot(vni, smac);
	seen = bpf_map_lookup_elem(&xevpn_seen, &slot);
	if (seen && seen_match(seen, smac, vni, ifindex, vlan) &&
	    now - seen->seen_ns < XEVPN_SEEN_REFRESH_MS * 1000000ULL)
		return;
	__builtin_memcpy(k.mac, smac, ETH_ALEN);
	if (port->es_id) {
		want.type = XEVPN_FDB_ES;
		want.es_id = port->es_id;
	} else {
		want.type = XEVPN_FDB_LOCAL;
		want.ifindex = ifindex;
	}
	want.vlan = vlan;
	want.flags = XEVPN_FDB_F_LEARNED;

	cur = bpf_map_lookup_elem(&xevpn_fdb, &k);
	if (cur && cur->type == want.type && cur->vlan == want.vlan &&
	    cur->ifindex == want.ifindex && cur->es_id == want.es_id) {
		if (seen)
			seen_note(seen, smac, vni, ifindex, vlan, now);
		return;
	}
	if (cur && (cur->flags & XEVPN_FDB_F_STATIC)) {
		ctr_add(XEVPN_CTR_LEARN_STATIC_MOVE, 0);
		return;
	}
	if (!learn_budget_take(cfg, now)) {
		ctr_add(XEVPN_CTR_LEARN_RATE_LIMITED, 0);
		return;
	}
	ev = bpf_ringbuf_reserve(&xevpn_learn, sizeof(*ev), 0);
	if (!ev) {
		ctr_add(XEVPN_CTR_LEARN_RING_FULL, 0);
		return;
	}
	__builtin_memcpy(ev->mac, smac, ETH_ALEN);
	ev->vlan = vlan;
	ev->vni = vni;
	ev->ifindex = ifindex;
	ev->es_id = port->es_id;
	ev->old_type = cur ? cur->type : XEVPN_FDB_NONE;
	ev->old_ifindex = cur ? cur->ifindex : 0;
	ev->old_vtep = cur ? cur->vtep : 0;
	ev->old_es_id = cur ? cur->es_id : 0;
	ev->ts_ns = now;
	if (bpf_map_update_elem(&xevpn_fdb, &k, &want, BPF_ANY)) {
		bpf_ringbuf_discard(ev, 0);
		ctr_add(XEVPN_CTR_LEARN_RING_FULL, 0);
		return;
	}
	bpf_ringbuf_submit(ev, 0);
	ctr_add(XEVPN_CTR_LEARN_EVENT, 0);
	if (seen)
		seen_note(seen, smac, vni, ifindex, vlan, now);
}

enum fwd_kind {
	FWD_MISS = 0, /* unknown destination: flood */
	FWD_DROP,
	FWD_LOCAL,
	FWD_REMOTE,
};

struct fwd {
	__u32  kind;    /* enum fwd_kind */
	__u32  ctr;     /* verdict counter for this outcome */
	__u32  ifindex; /* LOCAL */
	__be32 vtep;    /* REMOTE */
	__u32  es_id;   /* ES the decision went through, 0 if none */
	__u16  vlan;    /* LOCAL: egress tag */
	__u16  es_local; /* REMOTE: backup path of a local ES */
};

/*
 * Pick the next hop of an ES: its local port while that is up, otherwise a
 * member of its next-hop group chosen by the flow hash (aliasing for a remote
 * ES, backup path to a peer for a local ES whose link is down).
 */
/*
 * The flow hash of a frame, computed on first use: a frame forwarded to a
 * local port never needs it.
 */
struct flow_src {
	const struct ethhdr *eth;
	struct cursor l3;
	__be16 proto;
	__u16 have;
	__u32 hash;
};

static __always_inline __u32 flow_src_hash(struct flow_src *fs)
{
	if (!fs->have) {
		fs->hash = flow_hash(fs->eth, fs->proto, fs->l3);
		fs->have = 1;
	}
	return fs->hash;
}

static __always_inline void resolve_es(__u32 es_id, __u16 vlan, struct flow_src *fs, struct fwd *f)
{
	struct xevpn_es *es = bpf_map_lookup_elem(&xevpn_es, &es_id);
	const struct xevpn_nh_group *g;
	__u32 n, idx;

	f->es_id = es_id;
	if (es && (es->flags & XEVPN_ES_F_LOCAL) &&
	    !(es->flags & (XEVPN_ES_F_LINK_DOWN | XEVPN_ES_F_HOLD))) {
		f->kind = FWD_LOCAL;
		f->ifindex = es->ifindex;
		f->vlan = vlan;
		f->ctr = XEVPN_CTR_LOCAL_FWD;
		return;
	}
	f->es_local = es && (es->flags & XEVPN_ES_F_LOCAL);
	g = es_group_get(es_id);
	n = g ? g->count : 0;
	if (n > XEVPN_MAX_ES_VTEPS)
		n = XEVPN_MAX_ES_VTEPS;
	if (!g || !n)
		goto empty;
	/* hash * n / 2^32: uniform over [0, n) like hash % n, without a division */
	idx = ((__u64)flow_src_hash(fs) * n) >> 32;
	barrier_var(idx); /* keep the check below: the verifier cannot derive the bound */
	if (idx >= XEVPN_MAX_ES_VTEPS)
		goto empty;
	f->vtep = g->vtep[idx];
	if (!f->vtep)
		goto empty;
	f->kind = FWD_REMOTE;
	f->ctr = f->es_local ? XEVPN_CTR_ES_BACKUP : XEVPN_CTR_ENCAP_ES;
	return;
empty:
	f->kind = FWD_DROP;
	f->ctr = XEVPN_CTR_DROP_ES_GROUP_EMPTY;
}

static __always_inline void resolve_dst(const __u8 *dmac, __u32 vni, struct flow_src *fs,
					struct fwd *f)
{
	struct xevpn_fdb_key k = { .vni = vni };
	struct xevpn_fdb_entry *fe;

	__builtin_memset(f, 0, sizeof(*f));
	__builtin_memcpy(k.mac, dmac, ETH_ALEN);
	fe = bpf_map_lookup_elem(&xevpn_fdb, &k);
	if (!fe)
		return; /* FWD_MISS */
	switch (fe->type) {
	case XEVPN_FDB_LOCAL:
		f->kind = FWD_LOCAL;
		f->ifindex = fe->ifindex;
		f->vlan = fe->vlan;
		f->ctr = XEVPN_CTR_LOCAL_FWD;
		break;
	case XEVPN_FDB_VTEP:
		f->kind = FWD_REMOTE;
		f->vtep = fe->vtep;
		f->ctr = XEVPN_CTR_ENCAP_VTEP;
		break;
	case XEVPN_FDB_ES:
		resolve_es(fe->es_id, fe->vlan, fs, f);
		break;
	default:
		break; /* unknown type: treated as a miss */
	}
}

/* An overlay frame addressed to this VTEP, as found by parse_overlay(). */
struct overlay {
	__u32  vni;
	__be32 src_vtep;
	__u32  outer_len;    /* bytes before the inner Ethernet header */
	struct ethhdr *inner; /* valid until the packet changes */
	__be16 inner_proto;
	struct cursor inner_l3;
};

/*
 * Classify a frame received on the uplink. Returns 0 for VXLAN of a known VNI
 * (o filled), otherwise the verdict counter: PASS_STACK for traffic that is
 * not VXLAN for us, a drop reason for broken VXLAN.
 */
static __always_inline __u32 parse_overlay(struct cursor *c, const struct xevpn_config *cfg,
					   struct overlay *o)
{
	void *start = c->pos;
	struct ethhdr *eth;
	struct iphdr *ip;
	struct udphdr *udp;
	struct xevpn_vxlanhdr *vx;
	__be16 dport;
	__u32 ip_len, avail;

	eth = parse_eth(c);
	if (!eth)
		return XEVPN_CTR_DROP_MALFORMED_L2;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XEVPN_CTR_PASS_STACK;
	ip = parse_ipv4(c);
	if (!ip)
		return XEVPN_CTR_DROP_MALFORMED_L3;
	ip_len = bpf_ntohs(ip->tot_len);
	avail = c->end - (void *)ip;
	if (ip_len < ip->ihl * 4 || ip_len > avail)
		return XEVPN_CTR_DROP_MALFORMED_L3;
	if (!cfg || !cfg->vtep_ip || ip->daddr != cfg->vtep_ip || ip->protocol != IPPROTO_UDP)
		return XEVPN_CTR_PASS_STACK;
	o->src_vtep = ip->saddr;
	dport = cfg->vxlan_port ? cfg->vxlan_port : bpf_htons(XEVPN_VXLAN_PORT);
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) {
		/* a later fragment has no UDP header: any UDP fragment to the VTEP counts */
		return XEVPN_CTR_DROP_OUTER_FRAGMENT;
	}
	udp = parse_udp(c);
	if (!udp)
		return XEVPN_CTR_DROP_MALFORMED_L4;
	if (udp->dest != dport)
		return XEVPN_CTR_PASS_STACK;
	vx = parse_vxlan(c);
	if (!vx)
		return XEVPN_CTR_DROP_MALFORMED_VXLAN;
	if (!(vx->flags & bpf_htonl(XEVPN_VXLAN_FLAG_I)))
		return XEVPN_CTR_DROP_BAD_VXLAN_FLAGS;
	o->vni = bpf_ntohl(vx->vni) >> XEVPN_VXLAN_VNI_SHIFT;
	if (!bpf_map_lookup_elem(&xevpn_bd, &o->vni))
		return XEVPN_CTR_DROP_UNKNOWN_VNI;
	o->outer_len = c->pos - start;
	o->inner = parse_eth(c);
	if (!o->inner)
		return XEVPN_CTR_DROP_INNER_MALFORMED;
	o->inner_proto = o->inner->h_proto;
	if (o->inner_proto == bpf_htons(ETH_P_8021Q) || o->inner_proto == bpf_htons(ETH_P_8021AD))
		return XEVPN_CTR_DROP_INNER_VLAN;
	o->inner_l3 = *c;
	return 0;
}

#endif
