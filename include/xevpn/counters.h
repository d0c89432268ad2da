/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Dataplane counters: one per-CPU array (xevpn_ctr) indexed by enum xevpn_ctr.
 *
 * Counters below XEVPN_CTR_VERDICT_MAX are verdicts: every packet a program
 * sees ends in exactly one of them, so per program they add up to the packets
 * it ran on. The others count events inside a verdict (copies sent or
 * suppressed during replication, learn events).
 *
 * Index 0 (local_fwd) is never a failure: BPF helpers return "0 or the
 * counter of what went wrong".
 *
 * X(enum suffix, printed name)
 */
#ifndef XEVPN_COUNTERS_H
#define XEVPN_COUNTERS_H

#include <linux/types.h>

#define XEVPN_VERDICTS(X)                                                        \
	/* forwarding actions */                                                 \
	X(LOCAL_FWD, "local_fwd")               /* access -> access port */       \
	X(PASS_STACK, "pass_stack")             /* not ours: to the host stack */ \
	X(ENCAP_VTEP, "encap_vtep")             /* encap to a single VTEP */      \
	X(ENCAP_ES, "encap_es")                 /* encap to an ES member (aliasing) */ \
	X(ES_BACKUP, "es_backup")               /* local ES down: encap to an ES peer */ \
	X(DECAP_FWD, "decap_fwd")               /* overlay -> access port */      \
	X(TO_TC, "to_tc")                       /* BUM/unknown unicast handed to TC */ \
	X(FIB_FALLBACK, "fib_fallback")         /* neighbour unresolved: TC/stack */ \
	X(TC_PASS, "tc_pass")                   /* TC: not BUM, let through */    \
	X(TC_FLOODED, "tc_flooded")             /* TC: replicated, original consumed */ \
	X(TC_ENCAP_NEIGH, "tc_encap_neigh")     /* TC: unicast encap, neighbour via stack */ \
	/* drops */                                                              \
	X(DROP_MALFORMED_L2, "drop_malformed_l2")     /* truncated Ethernet/VLAN */ \
	X(DROP_MALFORMED_L3, "drop_malformed_l3")     /* bad/truncated outer IPv4 */ \
	X(DROP_MALFORMED_L4, "drop_malformed_l4")     /* truncated outer UDP */   \
	X(DROP_MALFORMED_VXLAN, "drop_malformed_vxlan") /* truncated VXLAN header */ \
	X(DROP_BAD_VXLAN_FLAGS, "drop_bad_vxlan_flags") /* I flag clear */        \
	X(DROP_UNKNOWN_VNI, "drop_unknown_vni")       /* VNI not configured */    \
	X(DROP_OUTER_FRAGMENT, "drop_outer_fragment") /* fragmented VXLAN packet */ \
	X(DROP_INNER_MALFORMED, "drop_inner_malformed") /* truncated inner frame */ \
	X(DROP_INNER_VLAN, "drop_inner_vlan")         /* tagged inner frame */    \
	X(DROP_NO_BD, "drop_no_bd")                   /* port/VLAN not in a BD */ \
	X(DROP_PORT_DISABLED, "drop_port_disabled")   /* port out of service */  \
	X(DROP_ES_HOLD, "drop_es_hold")               /* ES not forwarding */    \
	X(DROP_BAD_SRC_MAC, "drop_bad_src_mac")       /* multicast/zero source */ \
	X(DROP_HAIRPIN, "drop_hairpin")               /* would leave by its ingress port */ \
	X(DROP_ES_GROUP_EMPTY, "drop_es_group_empty") /* ES has no usable VTEP */ \
	X(DROP_ES_DOWN_LOOP, "drop_es_down_loop")     /* backup frame from a peer, ES down */ \
	X(DROP_OVERLAY_TRANSIT, "drop_overlay_transit") /* overlay -> overlay */  \
	X(DROP_NO_ROUTE, "drop_no_route")             /* no route to the VTEP */  \
	X(DROP_NO_NEIGH, "drop_no_neigh")             /* TC: VTEP neighbour unresolved, non-IPv4 inner */ \
	X(DROP_MTU, "drop_mtu")                       /* encapsulated frame too big */ \
	X(DROP_ENCAP_FAILED, "drop_encap_failed")     /* headroom/helper failure */ \
	X(DROP_NO_CONFIG, "drop_no_config")           /* no local VTEP configured */ \
	X(DROP_FLOOD_EMPTY, "drop_flood_empty")       /* BUM with no flood target */

#define XEVPN_EVENTS_CTRS(X)                                                     \
	X(FLOOD_LOCAL_COPY, "flood_local_copy")       /* BUM copy to a local port */ \
	X(FLOOD_REMOTE_COPY, "flood_remote_copy")     /* BUM copy to a VTEP */     \
	X(FILTER_DF, "filter_df")                     /* copy suppressed: not DF */ \
	X(FILTER_SPLIT_HORIZON, "filter_split_horizon") /* copy suppressed: ES peer */ \
	X(FILTER_INGRESS_PORT, "filter_ingress_port") /* copy suppressed: ingress port */ \
	X(FILTER_ES_STATE, "filter_es_state")         /* copy suppressed: ES down/hold */ \
	X(DROP_FANOUT_LIMIT, "drop_fanout_limit")     /* copy beyond XEVPN_MAX_FANOUT */ \
	X(COPY_FAILED, "copy_failed")                 /* clone_redirect failed */ \
	X(LEARN_EVENT, "learn_event")                 /* learn event sent */       \
	X(LEARN_RATE_LIMITED, "learn_rate_limited")   /* learn event suppressed */ \
	X(LEARN_RING_FULL, "learn_ring_full")         /* ring buffer full */       \
	X(LEARN_STATIC_MOVE, "learn_static_move")     /* static MAC seen elsewhere */ \
	X(FILTER_DF_LEASE, "filter_df_lease")         /* copy suppressed: DF lease expired */

#define XEVPN_CTR_ENUM_(name, str) XEVPN_CTR_##name,
enum xevpn_ctr {
	XEVPN_VERDICTS(XEVPN_CTR_ENUM_)
	XEVPN_CTR_VERDICT_MAX,
	XEVPN_CTR_EVENTS_BASE_ = XEVPN_CTR_VERDICT_MAX - 1,
	XEVPN_EVENTS_CTRS(XEVPN_CTR_ENUM_)
	XEVPN_CTR_MAX,
};
#undef XEVPN_CTR_ENUM_

struct xevpn_ctr_value {
	__u64 packets;
	__u64 bytes;
};

#ifndef __bpf__
/* Printed name of a counter, NULL when out of range. */
static inline const char *xevpn_ctr_name(unsigned int c)
{
#define XEVPN_CTR_NAME_(name, str) [XEVPN_CTR_##name] = str,
	static const char *const names[XEVPN_CTR_MAX] = {
		XEVPN_VERDICTS(XEVPN_CTR_NAME_)
		XEVPN_EVENTS_CTRS(XEVPN_CTR_NAME_)
	};
#undef XEVPN_CTR_NAME_
	return c < XEVPN_CTR_MAX ? names[c] : (const char *)0;
}
#endif

#endif
