// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Heartbeat codec: wire format, HMAC-SHA256, replay window. */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "health/codec.h"

static const char *const drop_names[HEALTH_DROP_MAX] = {
	[HEALTH_DROP_NONE]		= "none",
	[HEALTH_DROP_SHORT]		= "short",
	[HEALTH_DROP_LONG]		= "long",
	[HEALTH_DROP_BAD_MAGIC]		= "bad-magic",
	[HEALTH_DROP_BAD_VERSION]	= "bad-version",
	[HEALTH_DROP_FOREIGN_GROUP]	= "foreign-group",
	[HEALTH_DROP_NO_KEY]		= "no-key",
	[HEALTH_DROP_BAD_SIG]		= "bad-sig",
	[HEALTH_DROP_BAD_FIELD]		= "bad-field",
	[HEALTH_DROP_REPLAY]		= "replay",
	[HEALTH_DROP_STALE_BOOT]	= "stale-boot",
	[HEALTH_DROP_SELF]		= "self",
	[HEALTH_DROP_PEER_LIMIT]	= "peer-limit",
};

const char *health_drop_name(enum health_drop reason)
{
	if ((unsigned)reason >= HEALTH_DROP_MAX || !drop_names[reason])
		return "unknown";
	return drop_names[reason];
}

int health_hmac(const struct health_key *key, const void *hdr, uint8_t mac[XEVPN_HB_HMAC_LEN])
{
	unsigned int len = XEVPN_HB_HMAC_LEN;

	if (!key->len || key->len > HEALTH_MAX_KEY_LEN)
		return -EINVAL;
	if (!HMAC(EVP_sha256(), key->key, key->len, hdr, XEVPN_HB_HDR_LEN, mac, &len) ||
	    len != XEVPN_HB_HMAC_LEN)
		return -EIO;
	return 0;
}

int health_beat_encode(const struct health_beat *b, const struct health_key *key,
		       uint8_t out[XEVPN_HB_LEN])
{
	struct xevpn_hb hb;
	int err;

	memset(&hb, 0, sizeof(hb));
	hb.magic = htobe16(XEVPN_HB_MAGIC);
	hb.version = XEVPN_HB_VERSION;
	hb.role = b->role;
	hb.priority = htobe16(b->priority);
	memcpy(hb.instance_id, b->instance_id, sizeof(hb.instance_id));
	memcpy(hb.instance_mac, b->instance_mac, sizeof(hb.instance_mac));
	memcpy(hb.boot_id, b->boot_id, sizeof(hb.boot_id));
	hb.seq = htobe64(b->seq);
	hb.interval_ms = htobe32(b->interval_ms);
	hb.timestamp_ms = htobe64(b->timestamp_ms);
	memcpy(hb.group_vmac, b->group_vmac, sizeof(hb.group_vmac));
	memcpy(hb.evpn_id, b->evpn_id, sizeof(hb.evpn_id));
	hb.vni = htobe32(b->vni);
	hb.flags = htobe16(b->flags);
	err = health_hmac(key, &hb, hb.hmac);
	if (err)
		return err;
	memcpy(out, &hb, sizeof(hb));
	return XEVPN_HB_LEN;
}

enum health_drop health_beat_decode(const void *buf, size_t len,
				    const uint8_t evpn_id[XEVPN_HB_ID_LEN],
				    const struct health_key *keys, unsigned nkeys,
				    struct health_beat *out, int *slot)
{
	uint8_t mac[XEVPN_HB_HMAC_LEN];
	struct xevpn_hb hb;
	int match = -1;

	if (len < XEVPN_HB_LEN)
		return HEALTH_DROP_SHORT;
	if (len > XEVPN_HB_LEN)
		return HEALTH_DROP_LONG;
	memcpy(&hb, buf, sizeof(hb));	/* the buffer may be unaligned */
	if (be16toh(hb.magic) != XEVPN_HB_MAGIC)
		return HEALTH_DROP_BAD_MAGIC;
	if (hb.version != XEVPN_HB_VERSION)
		return HEALTH_DROP_BAD_VERSION;
	/* Before the signature: other groups' beats are expected on a shared
	 * link and must not cost an HMAC each. */
	if (memcmp(hb.evpn_id, evpn_id, XEVPN_HB_ID_LEN))
		return HEALTH_DROP_FOREIGN_GROUP;
	if (!nkeys)
		return HEALTH_DROP_NO_KEY;
	/* Every slot is computed and compared, whatever matched, so the time
	 * taken does not tell which slot (or how much of a MAC) was right. */
	for (unsigned i = 0; i < nkeys && i < HEALTH_MAX_KEY_SLOTS; i++) {
		if (health_hmac(&keys[i], &hb, mac))
			continue;
		if (!CRYPTO_memcmp(mac, hb.hmac, sizeof(mac)) && match < 0)
			match = (int)i;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	if (match < 0)
		return HEALTH_DROP_BAD_SIG;
	if (hb.role >= XEVPN_HB_ROLE_MAX || !be32toh(hb.interval_ms) ||
	    be32toh(hb.interval_ms) > HEALTH_MAX_INTERVAL_MS)
		return HEALTH_DROP_BAD_FIELD;

	memset(out, 0, sizeof(*out));
	out->role = hb.role;
	out->priority = be16toh(hb.priority);
	memcpy(out->instance_id, hb.instance_id, sizeof(out->instance_id));
	memcpy(out->instance_mac, hb.instance_mac, sizeof(out->instance_mac));
	memcpy(out->boot_id, hb.boot_id, sizeof(out->boot_id));
	out->seq = be64toh(hb.seq);
	out->interval_ms = be32toh(hb.interval_ms);
	out->timestamp_ms = be64toh(hb.timestamp_ms);
	memcpy(out->group_vmac, hb.group_vmac, sizeof(out->group_vmac));
	memcpy(out->evpn_id, hb.evpn_id, sizeof(out->evpn_id));
	out->vni = be32toh(hb.vni);
	out->flags = be16toh(hb.flags);
	if (slot)
		*slot = match;
	return HEALTH_DROP_NONE;
}

enum health_drop health_replay_check_live(struct health_replay *r, const struct health_beat *b,
					  bool current_alive, bool *restart)
{
	*restart = false;
	if (r->valid && !memcmp(r->boot_id, b->boot_id, XEVPN_HB_ID_LEN)) {
		if (b->seq <= r->seq)
			return HEALTH_DROP_REPLAY;
		r->seq = b->seq;
		r->ts_ms = b->timestamp_ms;
		return HEALTH_DROP_NONE;
	}
	for (unsigned i = 0; i < r->nold; i++)
		if (!memcmp(r->old[i], b->boot_id, XEVPN_HB_ID_LEN))
			return HEALTH_DROP_STALE_BOOT;
	if (r->valid && current_alive && b->timestamp_ms < r->ts_ms)
		return HEALTH_DROP_STALE_BOOT;
	if (r->valid) {
		memcpy(r->old[r->next], r->boot_id, XEVPN_HB_ID_LEN);
		r->next = (r->next + 1) % HEALTH_BOOT_HISTORY;
		if (r->nold < HEALTH_BOOT_HISTORY)
			r->nold++;
		*restart = true;
	}
	r->valid = true;
	memcpy(r->boot_id, b->boot_id, XEVPN_HB_ID_LEN);
	r->seq = b->seq;
	r->ts_ms = b->timestamp_ms;
	return HEALTH_DROP_NONE;
}

enum health_drop health_replay_check(struct health_replay *r, const struct health_beat *b,
				     bool *restart)
{
	return health_replay_check_live(r, b, true, restart);
}
