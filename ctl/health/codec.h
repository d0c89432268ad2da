/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Heartbeat codec: struct health_beat (host order) <-> 124-byte wire beat
 * (struct xevpn_hb), HMAC-SHA256 signing and multi-slot verification, and
 * the per-peer replay window. Pure functions: no clock, no I/O.
 */
#ifndef XEVPN_CTL_HEALTH_CODEC_H
#define XEVPN_CTL_HEALTH_CODEC_H

#include "health/health.h"

struct health_beat {
	uint8_t role;
	uint16_t priority;
	uint8_t instance_id[XEVPN_HB_ID_LEN];
	uint8_t instance_mac[XEVPN_HB_MAC_ADDR_LEN];
	uint8_t boot_id[XEVPN_HB_ID_LEN];
	uint64_t seq;
	uint32_t interval_ms;
	uint64_t timestamp_ms;
	uint8_t group_vmac[XEVPN_HB_MAC_ADDR_LEN];
	uint8_t evpn_id[XEVPN_HB_ID_LEN];
	uint32_t vni;
	uint16_t flags;
};

/* Longest interval a beat may advertise (one hour); 0 is invalid too. */
#define HEALTH_MAX_INTERVAL_MS	3600000u

/* Serialize and sign with key. Returns XEVPN_HB_LEN, or -EINVAL (no key). */
int health_beat_encode(const struct health_beat *b, const struct health_key *key,
		       uint8_t out[XEVPN_HB_LEN]);

/* Checks, in order: length, magic, version, group id (evpn_id), key present,
 * signature against every slot (constant time, all slots always computed),
 * field sanity. On HEALTH_DROP_NONE fills *out and *slot (matching key slot,
 * may be NULL). No replay check: see health_replay_check(). */
enum health_drop health_beat_decode(const void *buf, size_t len,
				    const uint8_t evpn_id[XEVPN_HB_ID_LEN],
				    const struct health_key *keys, unsigned nkeys,
				    struct health_beat *out, int *slot);

/* HMAC-SHA256 of the first XEVPN_HB_HDR_LEN bytes of hdr. */
int health_hmac(const struct health_key *key, const void *hdr, uint8_t mac[XEVPN_HB_HMAC_LEN]);

/*
 * Replay window of one peer. A beat is accepted when:
 *  - its boot id is the current one and seq > last seq; or
 *  - its boot id is new (never seen from this peer): a restart, the window
 *    restarts at its seq and the previous boot id goes into the history.
 *    While the current boot is alive, a new boot's timestamp must not be
 *    older than the last accepted beat's (same sender clock: a real restart
 *    comes after its last beat).
 * Dropped as HEALTH_DROP_REPLAY: current boot, seq <= last seq.
 * Dropped as HEALTH_DROP_STALE_BOOT: a boot id in the history, i.e. one this
 * peer has already been seen to move on from (an old boot's beat replayed
 * after a newer boot was heard); or an unknown boot id stamped before the
 * last accepted beat while the current boot is alive (a beat of a boot older
 * than the history, or from before this receiver started, replayed: taking
 * it would make the live boot "stale" and silence a healthy peer).
 */
struct health_replay {
	bool valid;
	uint8_t boot_id[XEVPN_HB_ID_LEN];
	uint64_t seq;
	uint64_t ts_ms;			/* sender timestamp of the last accepted beat */
	uint8_t old[HEALTH_BOOT_HISTORY][XEVPN_HB_ID_LEN];
	unsigned nold;			/* entries used in old[] */
	unsigned next;			/* next slot to overwrite */
};

/* Check and, on accept, commit. *restart is set when a new boot id was taken.
 * Treats the current boot as alive (strict timestamp rule). */
enum health_drop health_replay_check(struct health_replay *r, const struct health_beat *b,
				     bool *restart);
/* Same; current_alive = false (the peer was declared dead or left) lets a
 * new boot in whatever its timestamp, so a sender whose clock stepped back
 * across a reboot is heard again once its old boot has timed out. */
enum health_drop health_replay_check_live(struct health_replay *r, const struct health_beat *b,
					  bool current_alive, bool *restart);

#endif /* XEVPN_CTL_HEALTH_CODEC_H */
