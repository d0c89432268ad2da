/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Health engine: authenticated multicast heartbeat, per-peer liveness,
 * rise/fall damped verdicts and the self-fence clock.
 *
 * The engine is standalone: it never calls GoBGP, the BPF maps or netlink.
 * Its client (xevpnd, or the xevpn-health debugging binary) pushes
 * configuration in and drains events out, and is the only actuator:
 *
 *   client                                engine
 *   health_group_add/del/set_*    ----->  groups, keys, role, ifindex
 *   health_engine_set_speaker     ----->  "BGP speaker lost/back" (fence input)
 *   health_engine_next_event      <-----  peer up/down, fit/unfit, fence ...
 *
 * Two ways to drive it, same state machine:
 *  - production: health_engine_attach_loop() on the client's libuv loop; the
 *    engine owns one timer and one UDP socket per group (on the ifindex the
 *    client gives it) and calls cfg.notify after every batch that queued
 *    events, from the loop thread;
 *  - tests / no sockets: never attach a loop; feed datagrams with
 *    health_group_input(), run health_engine_tick() after moving the injected
 *    clock, and capture outgoing beats with cfg.send.
 *
 * Semantics (all times from the injected monotonic clock, in ms):
 *  - liveness: a peer is alive from its first accepted beat; it is dead once
 *    it has been silent for miss x its advertised interval (checked at every
 *    evaluation tick, so detection <= miss x interval + tick_ms).
 *    HEALTH_EV_PEER_UP / HEALTH_EV_PEER_DOWN report these raw transitions.
 *  - verdict (what the client acts on): one sample per peer per tick.
 *    unfit = peer dead; fit = peer heard within interval + tick_ms (on time);
 *    anything else (late, not yet dead) breaks a fit streak only.
 *    fall consecutive unfit samples -> HEALTH_EV_PEER_UNFIT,
 *    rise consecutive fit samples   -> HEALTH_EV_PEER_FIT.
 *    A new peer starts HEALTH_VERDICT_UNKNOWN (treat as fit: BGP is the
 *    authority until beats say otherwise); its first FIT is not a move.
 *    Every other verdict change is a move and starts the group cooldown:
 *    no further move in that group until cooldown_ms has passed (streaks keep
 *    counting; a due move happens at the first tick after the cooldown).
 *  - leaving: a beat with XEVPN_HB_F_LEAVING is an immediate graceful down
 *    (PEER_DOWN + PEER_UNFIT with cause LEAVING, bypassing fall and cooldown).
 *    A peer that left does not count as a group member until it beats again.
 *  - single-member group (no peer other than ones that left): never emits a
 *    verdict or a fence event.
 *  - self-silence: the group is "self ok" when this node is not isolated:
 *    its last send succeeded within miss x interval AND (the BGP speaker is
 *    up OR at least one peer is alive). HEALTH_EV_PEER_UNFIT carries
 *    takeover_ok = self ok; a client must not promote itself (take over DF)
 *    when it is false: a candidate that is itself silent is never chosen.
 *  - self-fence (demotion only, advisory): armed when the speaker is lost
 *    (health_engine_set_speaker(false)) AND no peer of a multi-member group
 *    is alive; fires at max(speaker lost, last beat heard) + fence_ms.
 *    FENCE_DISARMED if a condition ends before the deadline, FENCE_CLEARED
 *    if it ends after firing (the client may restore its ports then).
 *
 * Threading: single-threaded; call everything from the loop thread.
 * Errors: negative errno.
 */
#ifndef XEVPN_CTL_HEALTH_H
#define XEVPN_CTL_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include <xevpn/heartbeat.h>

#ifndef HEALTH_MAX_KEY_SLOTS
#define HEALTH_MAX_KEY_SLOTS	4
#endif
#ifndef HEALTH_MAX_KEY_LEN
#define HEALTH_MAX_KEY_LEN	64
#endif
#ifndef HEALTH_MAX_PEERS
#define HEALTH_MAX_PEERS	64	/* per group; more are dropped, counted */
#endif
#ifndef HEALTH_BOOT_HISTORY
#define HEALTH_BOOT_HISTORY	8	/* past boot ids remembered per peer */
#endif
#define HEALTH_NAME_LEN		48

struct uv_loop_s;
struct health_engine;
struct health_group;

/* ---------- drop reasons: index of health_stats.drops[] ---------- */
enum health_drop {
	HEALTH_DROP_NONE = 0,		/* accepted */
	HEALTH_DROP_SHORT,		/* datagram < 124 bytes */
	HEALTH_DROP_LONG,		/* datagram > 124 bytes */
	HEALTH_DROP_BAD_MAGIC,
	HEALTH_DROP_BAD_VERSION,
	HEALTH_DROP_FOREIGN_GROUP,	/* another group's beat: expected, never logged */
	HEALTH_DROP_NO_KEY,		/* no key configured on this group */
	HEALTH_DROP_BAD_SIG,		/* matches no key slot */
	HEALTH_DROP_BAD_FIELD,		/* signed but invalid: role, interval 0 */
	HEALTH_DROP_REPLAY,		/* same boot, seq not strictly increasing */
	HEALTH_DROP_STALE_BOOT,		/* boot id this peer already moved on from */
	HEALTH_DROP_SELF,		/* our own instance id (loop, duplicate id) */
	HEALTH_DROP_PEER_LIMIT,		/* HEALTH_MAX_PEERS reached */
	HEALTH_DROP_MAX,
};
/* "short", "long", "bad-magic", ... stable names for logs and metrics. */
const char *health_drop_name(enum health_drop reason);

struct health_stats {
	uint64_t rx_ok;			/* beats accepted */
	uint64_t tx_ok;			/* beats sent */
	uint64_t tx_err;		/* send failures (no socket, EAGAIN, ...) */
	uint64_t sock_rebuilds;		/* sockets (re)opened */
	uint64_t drops[HEALTH_DROP_MAX];
};

/* ---------- keys ---------- */
struct health_key {
	uint8_t len;			/* 1..HEALTH_MAX_KEY_LEN */
	uint8_t key[HEALTH_MAX_KEY_LEN];
};
/* Parse "hex" (even number of hex digits, 2..128) into a key. */
int health_key_from_hex(struct health_key *k, const char *hex);

/* ---------- engine ---------- */
struct health_engine_cfg {
	uint8_t instance_id[XEVPN_HB_ID_LEN];	/* stable node id, NUL padded */
	uint8_t instance_mac[XEVPN_HB_MAC_ADDR_LEN];
	uint8_t boot_id[XEVPN_HB_ID_LEN];	/* all zero: random per engine */

	/* Clocks; NULL = CLOCK_MONOTONIC / CLOCK_REALTIME. Both in ms. */
	uint64_t (*mono_ms)(void *clock_ctx);
	uint64_t (*wall_ms)(void *clock_ctx);
	void *clock_ctx;

	/* Called (loop mode) after a batch of work queued events; drain them
	 * with health_engine_next_event(). Optional. */
	void (*notify)(struct health_engine *eng, void *ctx);
	void *notify_ctx;

	/* Outgoing beats for groups without a socket (tests, or a client with
	 * its own transport). Return 0 or negative errno. Optional. */
	int (*send)(struct health_group *g, const void *buf, size_t len, void *ctx);
	void *send_ctx;

	/* Log sink (syslog levels); NULL = stderr, LOG_INFO and more severe.
	 * Foreign-group drops are never logged; other drops are logged once per
	 * reason and group, then only counted. */
	void (*log)(int level, const char *msg, void *ctx);
	void *log_ctx;
};

struct health_engine *health_engine_new(const struct health_engine_cfg *cfg);
/* Deletes every group (no leaving beats: call health_group_leave first for a
 * graceful exit) and closes libuv handles; each handle frees its own memory in
 * its close callback, so run the loop once more afterwards. */
void health_engine_free(struct health_engine *eng);
/* Production: one uv timer for all groups, and sockets for groups with an
 * ifindex. Call once, before or after adding groups. */
int health_engine_attach_loop(struct health_engine *eng, struct uv_loop_s *loop);
/* Run every due evaluation and send. Loop mode calls it from its timer;
 * tests call it after moving the fake clock. */
void health_engine_tick(struct health_engine *eng);
/* Absolute mono time (ms) at which the next tick has work. UINT64_MAX if none. */
uint64_t health_engine_next_due(const struct health_engine *eng);
/* Self-fence input, engine wide: the local BGP speaker session is up/lost. */
void health_engine_set_speaker(struct health_engine *eng, bool up);
const uint8_t *health_engine_boot_id(const struct health_engine *eng);

/* ---------- groups ---------- */
struct health_group_cfg {
	char name[HEALTH_NAME_LEN];	/* for logs: "es 00:11:22:33:44:55:00:00:00:01" */
	uint8_t evpn_id[XEVPN_HB_ID_LEN];	/* group id on the wire */
	uint32_t vni;
	uint32_t interval_ms;		/* beat interval (default 1000) */
	uint32_t tick_ms;		/* evaluation tick (default = interval_ms) */
	uint32_t miss;			/* dead after miss x interval silence (default 3) */
	uint32_t rise;			/* fit samples before FIT (default 3) */
	uint32_t fall;			/* unfit samples before UNFIT (default 1) */
	uint32_t cooldown_ms;		/* no move after a move (default 0) */
	uint32_t fence_ms;		/* self-fence deadline, 0 = never fence */
	uint16_t priority;
	uint8_t role;			/* enum xevpn_hb_role */
	uint8_t group_vmac[XEVPN_HB_MAC_ADDR_LEN]; /* sent only while primary */
	/* Transport (loop mode); ifindex 0 = no socket until set_ifindex. */
	uint32_t ifindex;
	uint16_t port;			/* default XEVPN_HB_UDP_PORT */
	struct in6_addr maddr;		/* all zero: XEVPN_HB_MCAST_ADDR */
	void *user;			/* client's object, echoed in events */
};

/* Adds a group (keys set separately; a group without keys neither sends nor
 * accepts). -EEXIST if the evpn_id is already a group. */
int health_group_add(struct health_engine *eng, const struct health_group_cfg *cfg,
		     struct health_group **out);
/* Removes the group now, and any of its events still queued. */
void health_group_del(struct health_group *g);
struct health_group *health_group_find(struct health_engine *eng,
				       const uint8_t evpn_id[XEVPN_HB_ID_LEN]);
/* Key slots: keys[0] signs, every slot verifies. n = 0 clears (stop sending).
 * Rotation: add new as slot 1 everywhere, then make it slot 0 everywhere, then
 * drop the old one (docs/health.md). */
int health_group_set_keys(struct health_group *g, const struct health_key *keys, unsigned n);
int health_group_set_role(struct health_group *g, uint8_t role);
int health_group_set_priority(struct health_group *g, uint16_t priority);
int health_group_set_vmac(struct health_group *g, const uint8_t vmac[XEVPN_HB_MAC_ADDR_LEN]);
/* Timers: interval, tick, miss, rise, fall, cooldown, fence (0 = keep). */
int health_group_set_timers(struct health_group *g, const struct health_group_cfg *cfg);
/* The group's interface: call on every change the client sees in netlink.
 * The socket is rebuilt when ifindex changes or the link comes back up;
 * up = false closes it (beats then count as tx_err and the node goes silent). */
int health_group_set_ifindex(struct health_group *g, uint32_t ifindex, bool up);
/* Graceful exit: sends a beat with the leaving flag now (and on every later
 * send) so peers mark us down at once. Undo with leaving = false. */
int health_group_leave(struct health_group *g, bool leaving);
/* Feed one received datagram (src may be NULL). Returns the drop reason,
 * HEALTH_DROP_NONE if accepted. Sockets call this too. */
enum health_drop health_group_input(struct health_group *g, const void *buf, size_t len,
				    const struct sockaddr_in6 *src);
/* Forget a peer (e.g. BGP says it left the ES for good). -ENOENT if unknown. */
int health_group_peer_forget(struct health_group *g, const uint8_t instance_id[XEVPN_HB_ID_LEN]);
/* Send one beat now (tests; the engine sends on its own schedule). */
int health_group_send_now(struct health_group *g);

void *health_group_user(const struct health_group *g);
const char *health_group_name(const struct health_group *g);
void health_group_stats(const struct health_group *g, struct health_stats *st);
/* Not isolated (see header comment): may promote itself. */
bool health_group_self_ok(const struct health_group *g);
/* Peers that count as members (seen, not left). */
unsigned health_group_members(const struct health_group *g);

/* ---------- peers (for show / metrics) ---------- */
enum health_verdict {
	HEALTH_VERDICT_UNKNOWN = 0,	/* not yet rise samples since first seen */
	HEALTH_VERDICT_FIT,
	HEALTH_VERDICT_UNFIT,
};
const char *health_verdict_name(enum health_verdict v);

struct health_peer_info {
	uint8_t instance_id[XEVPN_HB_ID_LEN];
	uint8_t instance_mac[XEVPN_HB_MAC_ADDR_LEN];
	uint8_t boot_id[XEVPN_HB_ID_LEN];
	uint8_t group_vmac[XEVPN_HB_MAC_ADDR_LEN];
	struct in6_addr addr;		/* source of the last accepted beat */
	uint8_t role;
	uint16_t priority;
	uint32_t vni;
	uint32_t interval_ms;		/* as advertised */
	uint64_t seq;
	uint64_t last_rx_ms;		/* mono */
	uint64_t beats;			/* accepted from this peer */
	bool alive;
	bool left;			/* sent the leaving flag */
	enum health_verdict verdict;
};
/* i-th peer, 0 <= i < count; returns -ENOENT past the end. */
int health_group_peer(const struct health_group *g, unsigned i, struct health_peer_info *out);

/* ---------- events ---------- */
enum health_event_type {
	HEALTH_EV_PEER_UP = 1,		/* liveness: first beat, or beat after dead */
	HEALTH_EV_PEER_DOWN,		/* liveness: silent miss x interval, or leaving */
	HEALTH_EV_PEER_RESTART,		/* peer came back with a new boot id */
	HEALTH_EV_PEER_ROLE,		/* peer's role or priority changed */
	HEALTH_EV_PEER_FIT,		/* verdict: rise fit samples (or first) */
	HEALTH_EV_PEER_UNFIT,		/* verdict: fall unfit samples, or leaving */
	HEALTH_EV_FENCE_ARMED,		/* speaker lost + no peer alive; fires at fence_at_ms */
	HEALTH_EV_FENCE_DISARMED,	/* condition ended before the deadline */
	HEALTH_EV_FENCE_FIRE,		/* take this node's ES ports out of service */
	HEALTH_EV_FENCE_CLEARED,	/* condition ended after firing */
	HEALTH_EV_MAX,
};
const char *health_event_name(enum health_event_type t);

enum health_cause {
	HEALTH_CAUSE_NONE = 0,
	HEALTH_CAUSE_TIMEOUT,		/* silence */
	HEALTH_CAUSE_LEAVING,		/* leaving flag */
	HEALTH_CAUSE_BEAT,		/* beats heard again */
	HEALTH_CAUSE_SPEAKER,		/* speaker state changed (fence) */
};
const char *health_cause_name(enum health_cause c);

struct health_event {
	enum health_event_type type;
	enum health_cause cause;
	struct health_group *group;	/* valid until health_group_del */
	void *user;			/* group cfg.user */
	uint64_t at_ms;			/* mono */
	struct health_peer_info peer;	/* peer events: snapshot at event time */
	bool takeover_ok;		/* PEER_UNFIT: this node may promote itself */
	bool first;			/* PEER_FIT from UNKNOWN: not a move */
	uint64_t fence_at_ms;		/* FENCE_ARMED: when it fires */
};

/* Pops the oldest event; returns 1 if one was copied, 0 if the queue is empty. */
int health_engine_next_event(struct health_engine *eng, struct health_event *ev);
/* Events dropped because the queue was full (bounded; keep draining). */
uint64_t health_engine_events_lost(const struct health_engine *eng);

/* Format a 16-byte id (instance/boot/evpn id) for logs: printable
 * NUL-padded text as is, anything else as hex. buf >= 40 bytes. */
const char *health_id_str(const uint8_t id[XEVPN_HB_ID_LEN], char *buf, size_t len);
/* Copy a string (<= 16 bytes) or 32 hex digits ("0x..." forced hex) into an id. */
int health_id_parse(uint8_t id[XEVPN_HB_ID_LEN], const char *s);

#endif /* XEVPN_CTL_HEALTH_H */
