/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Heartbeat wire format: one 124-byte UDP payload, sent as IPv6 link-local
 * multicast by every member of a health group (the leaves of an ES, or the
 * VTEPs of a BD) through the group's bvi port, so a beat proves the overlay
 * forwarding path. All fields are network byte order. The HMAC-SHA256 covers
 * the first XEVPN_HB_HDR_LEN bytes and is keyed by the sender's first key slot.
 *
 * Shared by userspace and BPF (a BPF program may count or filter beats), so
 * only <linux/types.h> types are used.
 */
#ifndef XEVPN_HEARTBEAT_H
#define XEVPN_HEARTBEAT_H

#include <linux/types.h>

#define XEVPN_HB_MAGIC		0xE7B7
#define XEVPN_HB_VERSION	2

#define XEVPN_HB_ID_LEN		16	/* instance_id, boot_id, evpn_id */
#define XEVPN_HB_MAC_ADDR_LEN	6	/* instance_mac, group_vmac */
#define XEVPN_HB_HMAC_LEN	32	/* HMAC-SHA256 */
#define XEVPN_HB_HDR_LEN	92	/* signed part */
#define XEVPN_HB_LEN		124	/* whole datagram payload */

/* Default transport: UDP port and link-local scope group (ff02::e7b7). */
#ifndef XEVPN_HB_UDP_PORT
#define XEVPN_HB_UDP_PORT	4794
#endif
#define XEVPN_HB_MCAST_ADDR	"ff02::e7b7"

/* Sender's role in the group. In EVPN terms candidate = non-DF, primary = DF;
 * warmup = not yet eligible (startup hold, DF wait timer running). */
enum xevpn_hb_role {
	XEVPN_HB_ROLE_WARMUP	= 0,
	XEVPN_HB_ROLE_CANDIDATE	= 1,
	XEVPN_HB_ROLE_PRIMARY	= 2,
	XEVPN_HB_ROLE_MAX,
};

/* flags word */
#define XEVPN_HB_F_LEAVING	(1u << 0)	/* sender is leaving the group: graceful down now */
#define XEVPN_HB_F_KNOWN	XEVPN_HB_F_LEAVING	/* bits a receiver understands; others ignored */

struct xevpn_hb {
	__be16	magic;				/*   0: XEVPN_HB_MAGIC */
	__u8	version;			/*   2: XEVPN_HB_VERSION */
	__u8	role;				/*   3: enum xevpn_hb_role */
	__be16	priority;			/*   4: election tiebreaker, higher wins */
	__u8	instance_id[XEVPN_HB_ID_LEN];	/*   6: stable node id, NUL padded */
	__u8	instance_mac[XEVPN_HB_MAC_ADDR_LEN]; /* 22: chassis MAC */
	__u8	boot_id[XEVPN_HB_ID_LEN];	/*  28: per-boot random nonce */
	__be64	seq;				/*  44: strictly increasing per sender and boot */
	__be32	interval_ms;			/*  52: sender's beat interval */
	__be64	timestamp_ms;			/*  56: sender's UTC epoch ms */
	__u8	group_vmac[XEVPN_HB_MAC_ADDR_LEN]; /* 64: non-zero only from the primary */
	__u8	evpn_id[XEVPN_HB_ID_LEN];	/*  70: group id */
	__be32	vni;				/*  86 */
	__be16	flags;				/*  90: XEVPN_HB_F_* */
	__u8	hmac[XEVPN_HB_HMAC_LEN];	/*  92: HMAC-SHA256 over bytes 0..91 */
} __attribute__((packed));

_Static_assert(sizeof(struct xevpn_hb) == XEVPN_HB_LEN, "heartbeat is 124 bytes");
_Static_assert(__builtin_offsetof(struct xevpn_hb, magic) == 0, "magic offset");
_Static_assert(__builtin_offsetof(struct xevpn_hb, version) == 2, "version offset");
_Static_assert(__builtin_offsetof(struct xevpn_hb, role) == 3, "role offset");
_Static_assert(__builtin_offsetof(struct xevpn_hb, priority) == 4, "priority offset");
_Static_assert(__builtin_offsetof(struct xevpn_hb, instance_id) == 6, "instance_id offset");
_Static_assert(__builtin_offsetof(struct xevpn_hb, instance_mac) == 22, "instance_mac offset");
_Static_assert(__builtin_offsetof(struct xevpn_hb, boot_id) == 28, "boot_id offset");
_Static_assert(__builtin_offsetof(struct xevpn_hb, seq) == 44, "seq offset");
_Static_assert(__builtin_offsetof(struct xevpn_hb, interval_ms) == 52, "interval offset");
_Static_assert(__builtin_offsetof(struct xevpn_hb, timestamp_ms) == 56, "timestamp offset");
_Static_assert(__builtin_offsetof(struct xevpn_hb, group_vmac) == 64, "group_vmac offset");
_Static_assert(__builtin_offsetof(struct xevpn_hb, evpn_id) == 70, "evpn_id offset");
_Static_assert(__builtin_offsetof(struct xevpn_hb, vni) == 86, "vni offset");
_Static_assert(__builtin_offsetof(struct xevpn_hb, flags) == 90, "flags offset");
_Static_assert(__builtin_offsetof(struct xevpn_hb, hmac) == XEVPN_HB_HDR_LEN, "hmac offset");

#endif /* XEVPN_HEARTBEAT_H */
