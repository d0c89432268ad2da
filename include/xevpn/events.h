/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Events sent by the dataplane to the controller over the xevpn_learn ring buffer. */
#ifndef XEVPN_EVENTS_H
#define XEVPN_EVENTS_H

#include <linux/types.h>

/*
 * A source MAC seen on an access port that was unknown in its BD or known
 * elsewhere (moved). Sent once per change, bounded per CPU by
 * xevpn_config.learn_events_per_sec.
 */
struct xevpn_learn_event {
	__u8   mac[6];
	__u16  vlan;        /* tag it arrived with, 0 = untagged */
	__u32  vni;
	__u32  ifindex;     /* access port it arrived on */
	__u32  es_id;       /* ES of that port, 0 = single-homed */
	__u32  old_type;    /* enum xevpn_fdb_type of the previous entry (NONE = new) */
	__u32  old_ifindex; /* previous entry's port (LOCAL) */
	__be32 old_vtep;    /* previous entry's VTEP (VTEP) */
	__u32  old_es_id;   /* previous entry's ES (ES) */
	__u64  ts_ns;       /* bpf_ktime_get_coarse_ns() (CLOCK_MONOTONIC, tick resolution) */
};

#endif
