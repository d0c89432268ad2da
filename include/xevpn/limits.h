/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Sizes of the dataplane maps and bounds of its loops. Every limit can be
 * overridden at build time (-DXEVPN_MAX_ES_VTEPS=16); BPF programs and
 * userspace must be built with the same values because they size map values.
 */
#ifndef XEVPN_LIMITS_H
#define XEVPN_LIMITS_H

/* VTEPs in one ES next-hop group (aliasing / backup path members). */
#ifndef XEVPN_MAX_ES_VTEPS
#define XEVPN_MAX_ES_VTEPS 8
#endif

/* Remote VTEPs in one BD flood list (ingress replication, type-3 routes). */
#ifndef XEVPN_MAX_FLOOD_VTEPS
#define XEVPN_MAX_FLOOD_VTEPS 32
#endif

/* Local ports (access, ES and bvi) in one BD flood list. */
#ifndef XEVPN_MAX_FLOOD_PORTS
#define XEVPN_MAX_FLOOD_PORTS 16
#endif

/*
 * Copies one BUM frame may produce, local and remote together. A flood list
 * longer than this loses the extra copies, each counted as
 * XEVPN_CTR_DROP_FANOUT_LIMIT.
 */
#ifndef XEVPN_MAX_FANOUT
#define XEVPN_MAX_FANOUT 40
#endif

#ifndef XEVPN_MAX_PORTS
#define XEVPN_MAX_PORTS 256
#endif
#ifndef XEVPN_MAX_PORT_VLANS
#define XEVPN_MAX_PORT_VLANS 4096
#endif
#ifndef XEVPN_MAX_BDS
#define XEVPN_MAX_BDS 4096
#endif
#ifndef XEVPN_MAX_FDB
#define XEVPN_MAX_FDB 262144
#endif
#ifndef XEVPN_MAX_ES
#define XEVPN_MAX_ES 1024
#endif
/* (ES, BD) pairs carrying DF state. */
#ifndef XEVPN_MAX_ES_BD
#define XEVPN_MAX_ES_BD 16384
#endif
/* (ES, VTEP) pairs of the ES peer set. */
#ifndef XEVPN_MAX_ES_PEERS
#define XEVPN_MAX_ES_PEERS 8192
#endif

/* Learn ring buffer size in bytes (power of two, multiple of the page size). */
#ifndef XEVPN_LEARN_RING_BYTES
#define XEVPN_LEARN_RING_BYTES (256 * 1024)
#endif
/* Default learn events per second per CPU when the config leaves it 0. */
#ifndef XEVPN_LEARN_EVENTS_PER_SEC
#define XEVPN_LEARN_EVENTS_PER_SEC 4096
#endif

/* Slots of the per-CPU route cache (power of two). */
#ifndef XEVPN_RT_CACHE_SLOTS
#define XEVPN_RT_CACHE_SLOTS 1024
#endif
/*
 * How long a cached route/neighbour result is used before bpf_fib_lookup()
 * runs again: the bound on how long a changed underlay route or neighbour
 * MAC keeps receiving frames it no longer should (well under the ARP/ND
 * reachable time, far under BGP convergence), and the refill cost is two
 * lookups per VTEP per CPU per period.
 */
#ifndef XEVPN_RT_CACHE_TTL_MS
#define XEVPN_RT_CACHE_TTL_MS 50
#endif

/* Slots of the per-CPU source MAC cache (power of two). */
#ifndef XEVPN_SEEN_SLOTS
#define XEVPN_SEEN_SLOTS 16384
#endif
/*
 * A source MAC found in the seen cache skips the FDB check for this long:
 * the bound on how late a MAC that the controller removed or pointed
 * elsewhere is learned again at the same port, and the resolution of the
 * last-seen time.
 */
#ifndef XEVPN_SEEN_REFRESH_MS
#define XEVPN_SEEN_REFRESH_MS 100
#endif

/* IANA VXLAN port (RFC 7348 §5). */
#define XEVPN_VXLAN_PORT 4789
/* Default TTL of the outer IPv4 header. */
#define XEVPN_DEFAULT_TTL 64
/* UDP source ports of encapsulated frames: the dynamic range (RFC 7348 §5). */
#define XEVPN_SPORT_MIN 49152
#define XEVPN_SPORT_RANGE 16384

#endif
