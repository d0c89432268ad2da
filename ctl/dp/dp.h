/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libxevpn-dp: the userspace side of the XDP/TC dataplane.
 *
 * One struct xevpn_dp is one dataplane instance: the programs of
 * bpf/xevpn.bpf.c and their maps, pinned under a pin root (default
 * XEVPN_DP_PIN_ROOT; several instances on one machine use different roots).
 * Layout under the root:
 *     <root>/<map name>            every map (xevpn_fdb, xevpn_es_nh, ...)
 *     <root>/links/xdp_<ifindex>   bpf_link of each XDP attachment
 * TC programs are attached as clsact filters (handle XEVPN_DP_TC_HANDLE,
 * priority XEVPN_DP_TC_PRIO), which stay attached without a pin.
 *
 * Lifecycle
 *   xevpn_dp_open()     open + load the skeleton; maps already pinned under the
 *                       root are reused (their content survives a restart),
 *                       missing ones are created and pinned; pinned XDP links
 *                       are re-pointed at the new programs (bpf_link_update),
 *                       so forwarding never stops across a restart.
 *   xevpn_dp_close()    free the handle; pins, links and filters stay.
 *   xevpn_dp_uninstall() detach everything this root attached, unpin all.
 *
 * Ports
 *   xevpn_dp_attach(dp, ifindex, role)  XDP (access or uplink program, pinned
 *                       link) + TC clsact ingress (BUM replication). The port
 *                       config entry (xevpn_port) is written separately.
 *   xevpn_dp_detach(dp, ifindex)
 *   xevpn_dp_attach_xdp_pass(dp, ifindex) XDP_PASS program, for a veth peer
 *                       that must accept XDP_REDIRECTed frames (a veth only
 *                       delivers redirected frames if its peer runs XDP).
 *
 * Map writers (all return 0 or a negative errno; keys in host order unless
 * the type says __be32):
 *   config, port, port VLAN -> BD, BD, FDB, ES state, ES DF per BD,
 *   ES next-hop group (atomic replace: a new frozen inner map is swapped in),
 *   ES peer set, flood lists.
 * Readers: counters (sum over CPUs) by index or by name, FDB walk, ES group.
 * Learn events: xevpn_dp_learn_fd() is an epoll fd to watch (uv_poll),
 *   xevpn_dp_learn_consume() drains the ring, calling cb per event.
 * Trace mode: xevpn_dp_trace_set() arms it until a deadline, the trace
 *   reader works like the learn reader (include/xevpn/trace.h).
 *
 * Attachment goes through netlink of the calling thread's network namespace
 * (ifindex is per namespace): call xevpn_dp_attach() from inside it.
 *
 * Not thread-safe: one thread owns a handle (the controller's loop); the
 * BPF programs may run concurrently on every CPU.
 */
#ifndef XEVPN_DP_H
#define XEVPN_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include <xevpn/limits.h>
#include <xevpn/maps.h>
#include <xevpn/counters.h>
#include <xevpn/events.h>
#include <xevpn/vxlan.h>
#include <xevpn/trace.h>

#define XEVPN_DP_PIN_ROOT  "/sys/fs/bpf/xevpn"
#define XEVPN_DP_TC_HANDLE 0x7e7
#define XEVPN_DP_TC_PRIO   0x7e7

struct xevpn_dp;

struct xevpn_dp_opts {
	const char *pin_root; /* NULL = XEVPN_DP_PIN_ROOT; created if missing */
	bool no_pin;          /* tests: maps not pinned, nothing adopted */
};

int  xevpn_dp_open(struct xevpn_dp **dpp, const struct xevpn_dp_opts *opts);
void xevpn_dp_close(struct xevpn_dp *dp);
int  xevpn_dp_uninstall(struct xevpn_dp *dp); /* then xevpn_dp_close() */
const char *xevpn_dp_pin_root(const struct xevpn_dp *dp);

/* Attachment. role: XEVPN_PORT_ACCESS or XEVPN_PORT_UPLINK (bvi ports need none). */
int xevpn_dp_attach(struct xevpn_dp *dp, __u32 ifindex, enum xevpn_port_role role);
int xevpn_dp_detach(struct xevpn_dp *dp, __u32 ifindex);
int xevpn_dp_attach_xdp_pass(struct xevpn_dp *dp, __u32 ifindex);

/* Programs and maps, for tests and tools (fd owned by dp). */
enum xevpn_dp_prog { XEVPN_DP_PROG_XDP_ACCESS, XEVPN_DP_PROG_XDP_UPLINK,
		     XEVPN_DP_PROG_TC, XEVPN_DP_PROG_XDP_PASS };
int xevpn_dp_prog_fd(const struct xevpn_dp *dp, enum xevpn_dp_prog p);
int xevpn_dp_map_fd(const struct xevpn_dp *dp, const char *name); /* -ENOENT */

/* Writers. */
/*
 * The programs keep per-CPU caches of what they derive from the config, port
 * and BD maps (route cache, port views): these writers, and their _del,
 * drop the caches so the change applies from the next frame. A write made
 * to the pinned maps directly applies within XEVPN_RT_CACHE_TTL_MS.
 */
int xevpn_dp_config_set(struct xevpn_dp *dp, const struct xevpn_config *cfg);
/*
 * The XDP encap path caches per CPU, per VTEP, the underlay route, the next
 * hop MAC and the outer header built from them, for XEVPN_RT_CACHE_TTL_MS.
 * A caller that sees an underlay route or neighbour change (netlink) drops
 * the cache at once with this call; without it the change is picked up
 * within the TTL.
 */
int xevpn_dp_route_cache_flush(struct xevpn_dp *dp);
int xevpn_dp_port_set(struct xevpn_dp *dp, __u32 ifindex, const struct xevpn_port *p);
int xevpn_dp_port_del(struct xevpn_dp *dp, __u32 ifindex);
int xevpn_dp_port_vlan_set(struct xevpn_dp *dp, __u32 ifindex, __u16 vlan, __u32 vni);
int xevpn_dp_port_vlan_del(struct xevpn_dp *dp, __u32 ifindex, __u16 vlan);
int xevpn_dp_bd_set(struct xevpn_dp *dp, __u32 vni, const struct xevpn_bd *bd);
int xevpn_dp_bd_del(struct xevpn_dp *dp, __u32 vni);
int xevpn_dp_fdb_set(struct xevpn_dp *dp, __u32 vni, const __u8 mac[6],
		     const struct xevpn_fdb_entry *e);
int xevpn_dp_fdb_get(struct xevpn_dp *dp, __u32 vni, const __u8 mac[6],
		     struct xevpn_fdb_entry *e);
int xevpn_dp_fdb_del(struct xevpn_dp *dp, __u32 vni, const __u8 mac[6]);
/*
 * When a source MAC was last seen on an access port, for aging local MACs
 * (learning only reports new or moved MACs). *seen_ns is CLOCK_MONOTONIC in
 * ns (clock_gettime), refreshed by the dataplane at most once per
 * XEVPN_SEEN_REFRESH_MS per MAC and CPU, so it lags the last frame by at
 * most that plus a clock tick; *ifindex (may be NULL) is the port it was
 * seen on. -ENOENT: no record, which does NOT mean idle (the per-CPU cache
 * is direct-mapped and a colliding MAC may have evicted it): the caller falls
 * back to another method (e.g. a delete-and-relearn probe). Costs one map
 * lookup; the frames themselves cost no FDB write.
 */
int xevpn_dp_fdb_last_seen(struct xevpn_dp *dp, __u32 vni, const __u8 mac[6], __u64 *seen_ns,
			   __u32 *ifindex);
/* Walk the FDB; cb returning non-zero stops the walk and is returned. */
typedef int (*xevpn_dp_fdb_cb)(void *ctx, const struct xevpn_fdb_key *k,
			       const struct xevpn_fdb_entry *e);
int xevpn_dp_fdb_walk(struct xevpn_dp *dp, xevpn_dp_fdb_cb cb, void *ctx);
/* Remove every FDB entry of a BD (vni) or all entries (vni == 0). Returns count. */
int xevpn_dp_fdb_flush(struct xevpn_dp *dp, __u32 vni);

int xevpn_dp_es_set(struct xevpn_dp *dp, __u32 es_id, const struct xevpn_es *es);
int xevpn_dp_es_get(struct xevpn_dp *dp, __u32 es_id, struct xevpn_es *es);
int xevpn_dp_es_del(struct xevpn_dp *dp, __u32 es_id);
int xevpn_dp_es_df_set(struct xevpn_dp *dp, __u32 es_id, __u32 vni, bool df);
/*
 * DF lease (struct xevpn_lease): overlay BUM reaches no local ES port once the
 * CLOCK_MONOTONIC time deadline_ns has passed; 0 removes the lease (DF bits
 * hold forever). One map write, whatever the number of (ES, BD).
 */
int xevpn_dp_lease_set(struct xevpn_dp *dp, __u64 deadline_ns);
int xevpn_dp_lease_get(struct xevpn_dp *dp, __u64 *deadline_ns);
/* Atomic replace of the ES next-hop group (n <= XEVPN_MAX_ES_VTEPS; n == 0 installs an empty group). */
int xevpn_dp_es_nh_set(struct xevpn_dp *dp, __u32 es_id, const __be32 *vteps, unsigned int n);
/*
 * Several groups replaced in one call (a mass withdraw touching many ESes):
 * each ES flips atomically as above, and the call waits for one RCU grace
 * period in all instead of one per ES (kernel >= 6.8; older kernels wait per
 * ES, as a loop of xevpn_dp_es_nh_set() would). Returns 0 or a negative errno;
 * on error the groups before the failing one may already be installed.
 */
struct xevpn_dp_es_nh {
	__u32 es_id;
	unsigned int n;
	__be32 vtep[XEVPN_MAX_ES_VTEPS];
};
int xevpn_dp_es_nh_set_many(struct xevpn_dp *dp, const struct xevpn_dp_es_nh *groups, unsigned int count);
int xevpn_dp_es_nh_get(struct xevpn_dp *dp, __u32 es_id, struct xevpn_nh_group *g);
int xevpn_dp_es_nh_del(struct xevpn_dp *dp, __u32 es_id);
int xevpn_dp_es_peer_add(struct xevpn_dp *dp, __u32 es_id, __be32 vtep);
int xevpn_dp_es_peer_del(struct xevpn_dp *dp, __u32 es_id, __be32 vtep);
/* Whole flood list of a BD replaced in one update. */
int xevpn_dp_flood_set(struct xevpn_dp *dp, __u32 vni, const struct xevpn_flood *f);
int xevpn_dp_flood_del(struct xevpn_dp *dp, __u32 vni);

/*
 * Send one empty UDP datagram toward a VTEP (discard port) from the calling
 * thread's namespace so the kernel resolves the underlay neighbour: BUM
 * copies are cloned straight to the wire and cannot wait for ARP.
 */
int xevpn_dp_neigh_prime(__be32 vtep);

/* Counters, summed over CPUs. */
int xevpn_dp_counter(struct xevpn_dp *dp, enum xevpn_ctr c, struct xevpn_ctr_value *v);
int xevpn_dp_counter_by_name(struct xevpn_dp *dp, const char *name, struct xevpn_ctr_value *v);
int xevpn_dp_counters(struct xevpn_dp *dp, struct xevpn_ctr_value out[XEVPN_CTR_MAX]);
int xevpn_dp_counters_reset(struct xevpn_dp *dp);

/* Learn events. cb returns 0 to continue. consume returns events handled or -errno. */
typedef int (*xevpn_dp_learn_cb)(void *ctx, const struct xevpn_learn_event *ev);
int xevpn_dp_learn_open(struct xevpn_dp *dp, xevpn_dp_learn_cb cb, void *ctx);
int xevpn_dp_learn_fd(struct xevpn_dp *dp);   /* after learn_open; poll for readable */
int xevpn_dp_learn_consume(struct xevpn_dp *dp);

/*
 * Trace mode (include/xevpn/trace.h): one event per dataplane decision while
 * armed. xevpn_dp_trace_set(dp, true, until_ns) arms it until until_ns
 * (CLOCK_MONOTONIC ns, see xevpn_dp_mono_ns(); 0 = XEVPN_DP_TRACE_DEFAULT_S
 * from now); the programs disarm themselves past it, so a controller that
 * dies leaves tracing on for at most that long. (dp, false, 0) disarms.
 * Filters (ifindex, vni: 0 = any; XEVPN_TRACE_CFG_*) apply to events only.
 * The switch belongs to the programs this handle loaded.
 */
#define XEVPN_DP_TRACE_DEFAULT_S 60
int xevpn_dp_trace_set(struct xevpn_dp *dp, bool enable, __u64 until_ns);
int xevpn_dp_trace_filter(struct xevpn_dp *dp, __u32 ifindex, __u32 vni, __u32 flags);
/* Current switch, filters and lost-event count. */
int xevpn_dp_trace_get(struct xevpn_dp *dp, struct xevpn_trace_cfg *cfg);
__u64 xevpn_dp_mono_ns(void);

/*
 * Trace reader: open drops what an earlier session left in the ring; fd is
 * an epoll fd to watch; consume calls cb per event and returns events
 * handled or -errno; close frees the reader (tracing itself is not touched).
 */
typedef int (*xevpn_dp_trace_cb)(void *ctx, const struct xevpn_trace_event *ev);
int  xevpn_dp_trace_open(struct xevpn_dp *dp, xevpn_dp_trace_cb cb, void *ctx);
int  xevpn_dp_trace_fd(struct xevpn_dp *dp);
int  xevpn_dp_trace_consume(struct xevpn_dp *dp);
void xevpn_dp_trace_close(struct xevpn_dp *dp);

/*
 * One line for an event: "HH:MM:SS.uuuuuu HOOK IN vni N SMAC > DMAC VERDICT
 * [-> OUT] [vtep A.B.C.D] [from A.B.C.D] [es N] [len N]". wall_ns is the
 * event's time as CLOCK_REALTIME ns (xevpn_dp_trace_wall_ns()); in_name and
 * out_name are port names (NULL: the ifindex is printed). Returns the length.
 */
const char *xevpn_trace_hook_name(unsigned int hook);
__u64 xevpn_dp_trace_wall_ns(__u64 ts_ns);
int xevpn_dp_trace_format(const struct xevpn_trace_event *ev, __u64 wall_ns, const char *in_name,
			  const char *out_name, char *buf, size_t len);

#endif
