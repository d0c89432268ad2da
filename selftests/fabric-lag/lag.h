/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Static LAG emulation for the dual-homed test server (this kernel has no
 * bonding): shared by lag.bpf.c and selftests/lib/fabric.c.
 *
 * The server's address lives on "lag0" (one end of a veth pair whose other
 * end stays idle). TC egress on lag0 hashes each flow (L3+L4, like a
 * layer3+4 bond) onto one of the member NICs that is up and redirects it
 * there; TC ingress on every member redirects what arrives to lag0, so both
 * links accept traffic. Member state is written by the test (like miimon).
 */
#ifndef XEVPN_SELFTESTS_LAG_H
#define XEVPN_SELFTESTS_LAG_H

#define LAG_MAX_MEMBERS 2

struct lag_member {
	__u32 ifindex;   /* member NIC in the server namespace */
	__u32 up;        /* 0: never chosen for egress */
};

/* Indexes of lag_counters[] (global .bss, read through the skeleton). */
enum lag_counter {
	LAG_TX0,          /* egress frames sent on member 0 */
	LAG_TX1,
	LAG_RX0,          /* ingress frames accepted from member 0 */
	LAG_RX1,
	LAG_DROP_NO_MEMBER,  /* egress with no member up */
	LAG_RX_UNKNOWN,   /* ingress on a device that is not a member */
	LAG_CNT_MAX,
};

#endif
