// SPDX-License-Identifier: GPL-2.0
/*
 * Heartbeat codec: exact wire bytes and HMAC-SHA256 against vectors computed
 * outside this code (header bytes packed by hand, HMAC by
 * `openssl dgst -sha256 -mac HMAC -macopt hexkey:...`), then every malformed
 * or replayed beat dropped by a group and counted under its own reason.
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

#include "health/codec.h"
#include "health/health.h"

/* The known header: role primary, priority 100, instance "leaf1", MAC
 * 02:00:00:00:00:01, boot id 00..0f, seq 42, interval 1000, timestamp
 * 1767225600000 (2026-01-01T00:00Z), vmac 02:00:5e:00:01:01, evpn id =
 * ESI 00:11:22:33:44:55:00:00:00:01 + 6 zero bytes, vni 100, flags 0. */
static const char HDR_HEX[] =
	"e7b7" "02" "02" "0064"
	"6c656166310000000000000000000000"
	"020000000001"
	"000102030405060708090a0b0c0d0e0f"
	"000000000000002a"
	"000003e8"
	"0000019b76daa800"
	"02005e000101"
	"00112233445500000001000000000000"
	"00000064"
	"0000";
/* key 1 = ASCII "xevpn-test-key-1" */
static const char KEY1_HEX[] = "786576706e2d746573742d6b65792d31";
static const char HMAC1_HEX[] =
	"7d2a2a0d3c827d8756c49319ace11172ea56f13e566b02798068239301fa1bc5";
/* key 2 = 32 x 0x0b */
static const char KEY2_HEX[] =
	"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";
static const char HMAC2_HEX[] =
	"d5e7b986a1b7fa528e5cc0ec98530e34be61b3aa61be8460f154b097c75c91d2";

static void unhex(uint8_t *out, size_t len, const char *hex)
{
	cr_assert_eq(strlen(hex), 2 * len, "hex length");
	for (size_t i = 0; i < len; i++) {
		unsigned v;

		cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void known_wire(uint8_t wire[XEVPN_HB_LEN], const char *hmac_hex)
{
	unhex(wire, XEVPN_HB_HDR_LEN, HDR_HEX);
	unhex(wire + XEVPN_HB_HDR_LEN, XEVPN_HB_HMAC_LEN, hmac_hex);
}

static struct health_key key_hex(const char *hex)
{
	struct health_key k;

	cr_assert_eq(health_key_from_hex(&k, hex), 0);
	return k;
}

static void known_beat(struct health_beat *b)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 }, vmac[6] = { 2, 0, 0x5e, 0, 1, 1 };
	static const uint8_t esi[10] = { 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0, 0, 1 };

	memset(b, 0, sizeof(*b));
	b->role = XEVPN_HB_ROLE_PRIMARY;
	b->priority = 100;
	memcpy(b->instance_id, "leaf1", 5);
	memcpy(b->instance_mac, mac, 6);
	for (int i = 0; i < 16; i++)
		b->boot_id[i] = (uint8_t)i;
	b->seq = 42;
	b->interval_ms = 1000;
	b->timestamp_ms = 1767225600000ull;
	memcpy(b->group_vmac, vmac, 6);
	memcpy(b->evpn_id, esi, sizeof(esi));
	b->vni = 100;
}

Test(layout, offsets_and_sizes)
{
	cr_assert_eq(sizeof(struct xevpn_hb), 124);
	cr_assert_eq(offsetof(struct xevpn_hb, seq), 44);
	cr_assert_eq(offsetof(struct xevpn_hb, evpn_id), 70);
	cr_assert_eq(offsetof(struct xevpn_hb, hmac), 92);
}

Test(codec, encode_matches_vector_key1)
{
	struct health_key k = key_hex(KEY1_HEX);
	uint8_t want[XEVPN_HB_LEN], got[XEVPN_HB_LEN];
	struct health_beat b;

	known_beat(&b);
	known_wire(want, HMAC1_HEX);
	cr_assert_eq(health_beat_encode(&b, &k, got), XEVPN_HB_LEN);
	for (int i = 0; i < XEVPN_HB_LEN; i++)
		cr_assert_eq(got[i], want[i], "byte %d: got %02x want %02x", i, got[i], want[i]);
}

Test(codec, encode_matches_vector_key2)
{
	struct health_key k = key_hex(KEY2_HEX);
	uint8_t want[XEVPN_HB_LEN], got[XEVPN_HB_LEN];
	struct health_beat b;

	known_beat(&b);
	known_wire(want, HMAC2_HEX);
	cr_assert_eq(health_beat_encode(&b, &k, got), XEVPN_HB_LEN);
	cr_assert_arr_eq(got, want, XEVPN_HB_LEN);
}

Test(codec, decode_vector_any_slot)
{
	struct health_key keys[2] = { key_hex(KEY2_HEX), key_hex(KEY1_HEX) };
	uint8_t wire[XEVPN_HB_LEN + 1];
	struct health_beat b, want;
	int slot = -1;

	known_beat(&want);
	/* odd offset: the decoder must not assume alignment */
	known_wire(wire + 1, HMAC1_HEX);
	cr_assert_eq(health_beat_decode(wire + 1, XEVPN_HB_LEN, want.evpn_id, keys, 2, &b, &slot),
		     HEALTH_DROP_NONE);
	cr_assert_eq(slot, 1, "signed with key 1, which is slot 1");
	cr_assert_eq(b.role, want.role);
	cr_assert_eq(b.priority, want.priority);
	cr_assert_arr_eq(b.instance_id, want.instance_id, 16);
	cr_assert_arr_eq(b.instance_mac, want.instance_mac, 6);
	cr_assert_arr_eq(b.boot_id, want.boot_id, 16);
	cr_assert_eq(b.seq, want.seq);
	cr_assert_eq(b.interval_ms, want.interval_ms);
	cr_assert_eq(b.timestamp_ms, want.timestamp_ms);
	cr_assert_arr_eq(b.group_vmac, want.group_vmac, 6);
	cr_assert_arr_eq(b.evpn_id, want.evpn_id, 16);
	cr_assert_eq(b.vni, want.vni);
	cr_assert_eq(b.flags, want.flags);

	known_wire(wire, HMAC2_HEX);
	cr_assert_eq(health_beat_decode(wire, XEVPN_HB_LEN, want.evpn_id, keys, 2, &b, &slot),
		     HEALTH_DROP_NONE);
	cr_assert_eq(slot, 0);
	/* only key 1 configured: key-2 beat rejected */
	cr_assert_eq(health_beat_decode(wire, XEVPN_HB_LEN, want.evpn_id, &keys[1], 1, &b, &slot),
		     HEALTH_DROP_BAD_SIG);
}

/* Every bit of the signed header that is not checked before the signature
 * (magic, version, group id have their own reasons) breaks the signature. */
Test(codec, any_flipped_bit_is_bad_sig)
{
	struct health_key k = key_hex(KEY1_HEX);
	uint8_t wire[XEVPN_HB_LEN];
	struct health_beat b, ref;

	known_beat(&ref);
	for (int bit = 0; bit < XEVPN_HB_LEN * 8; bit++) {
		int byte = bit / 8;
		enum health_drop want = HEALTH_DROP_BAD_SIG;

		if (byte < 3)
			continue;	/* magic, version */
		if (byte >= 70 && byte < 86)
			continue;	/* group id */
		known_wire(wire, HMAC1_HEX);
		wire[byte] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_eq(health_beat_decode(wire, sizeof(wire), ref.evpn_id, &k, 1, &b, NULL),
			     want, "bit %d", bit);
	}
}

Test(codec, names_distinct)
{
	for (int i = 0; i < HEALTH_DROP_MAX; i++) {
		cr_assert_str_neq(health_drop_name(i), "unknown", "reason %d has a name", i);
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(health_drop_name(i), health_drop_name(j));
	}
	cr_assert_str_eq(health_drop_name(HEALTH_DROP_BAD_SIG), "bad-sig");
	cr_assert_str_eq(health_drop_name(HEALTH_DROP_MAX), "unknown");
}

Test(codec, key_and_id_parsing)
{
	struct health_key k;
	uint8_t id[16], want[16] = { 0 };
	char buf[40];

	cr_assert_eq(health_key_from_hex(&k, "00ff"), 0);
	cr_assert_eq(k.len, 2);
	cr_assert_eq(k.key[1], 0xff);
	cr_assert_lt(health_key_from_hex(&k, "0"), 0, "odd length");
	cr_assert_lt(health_key_from_hex(&k, "zz"), 0, "not hex");
	cr_assert_lt(health_key_from_hex(&k, ""), 0, "empty");
	char big[2 * HEALTH_MAX_KEY_LEN + 3];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	cr_assert_lt(health_key_from_hex(&k, big), 0, "too long");

	cr_assert_eq(health_id_parse(id, "leaf1"), 0);
	memcpy(want, "leaf1", 5);
	cr_assert_arr_eq(id, want, 16);
	cr_assert_str_eq(health_id_str(id, buf, sizeof(buf)), "leaf1");
	cr_assert_lt(health_id_parse(id, "this-id-is-longer-than-16"), 0);
	cr_assert_eq(health_id_parse(id, "0x00112233445500000001000000000000"), 0);
	cr_assert_str_eq(health_id_str(id, buf, sizeof(buf)), "00112233445500000001000000000000");
}

/* ---------- through a group: dropped and counted under the reason ---------- */

static uint64_t fake_now;
static uint64_t fake_mono(void *ctx) { (void)ctx; return fake_now; }
static uint64_t fake_wall(void *ctx) { (void)ctx; return 1767225600000ull + fake_now; }

static struct health_engine *eng;
static struct health_group *grp;

static void setup(void)
{
	struct health_engine_cfg ec = { .mono_ms = fake_mono, .wall_ms = fake_wall };
	struct health_group_cfg gc = { .name = "es test", .interval_ms = 1000 };
	struct health_key keys[2] = { key_hex(KEY1_HEX), key_hex(KEY2_HEX) };
	struct health_beat b;

	fake_now = 1000;
	memcpy(ec.instance_id, "leaf9", 5);
	eng = health_engine_new(&ec);
	cr_assert_not_null(eng);
	known_beat(&b);
	memcpy(gc.evpn_id, b.evpn_id, 16);
	cr_assert_eq(health_group_add(eng, &gc, &grp), 0);
	cr_assert_eq(health_group_set_keys(grp, keys, 2), 0);
}

static void teardown(void)
{
	health_engine_free(eng);
}

/* Sign with key 1 after changing fields (the vector itself checks encode). */
static void signed_wire(uint8_t wire[XEVPN_HB_LEN], void (*edit)(struct health_beat *))
{
	struct health_key k = key_hex(KEY1_HEX);
	struct health_beat b;

	known_beat(&b);
	if (edit)
		edit(&b);
	cr_assert_eq(health_beat_encode(&b, &k, wire), XEVPN_HB_LEN);
}

static void only_drop(enum health_drop reason, uint64_t accepted)
{
	struct health_stats st;

	health_group_stats(grp, &st);
	cr_assert_eq(st.rx_ok, accepted, "accepted %lu, want %lu", st.rx_ok, accepted);
	for (int i = 1; i < HEALTH_DROP_MAX; i++)
		cr_assert_eq(st.drops[i], i == (int)reason ? 1u : 0u, "drops[%s] = %lu",
			     health_drop_name(i), st.drops[i]);
}

struct mal_case {
	const char *name;
	size_t len;		/* datagram length given to the group */
	int byte;		/* byte to overwrite, -1 = none */
	uint8_t val;
	enum health_drop want;
};

static const struct mal_case mal_cases[] = {
	{ "empty",		0,		-1, 0,    HEALTH_DROP_SHORT },
	{ "header only",	92,		-1, 0,    HEALTH_DROP_SHORT },
	{ "one byte short",	123,		-1, 0,    HEALTH_DROP_SHORT },
	{ "one byte long",	125,		-1, 0,    HEALTH_DROP_LONG },
	{ "jumbo",		1500,		-1, 0,    HEALTH_DROP_LONG },
	{ "bad magic",		124,		0,  0xe6, HEALTH_DROP_BAD_MAGIC },
	{ "bad magic lo",	124,		1,  0xb6, HEALTH_DROP_BAD_MAGIC },
	{ "version 1",		124,		2,  1,    HEALTH_DROP_BAD_VERSION },
	{ "version 3",		124,		2,  3,    HEALTH_DROP_BAD_VERSION },
	{ "foreign group",	124,		79, 2,    HEALTH_DROP_FOREIGN_GROUP },
	{ "bad signature",	124,		123, 0,   HEALTH_DROP_BAD_SIG },
	{ "tampered seq",	124,		51, 43,   HEALTH_DROP_BAD_SIG },
	{ "tampered flags",	124,		91, 1,    HEALTH_DROP_BAD_SIG },
};

Test(malformed, table, .init = setup, .fini = teardown)
{
	uint8_t buf[1600];

	for (size_t i = 0; i < sizeof(mal_cases) / sizeof(mal_cases[0]); i++) {
		const struct mal_case *c = &mal_cases[i];

		teardown();
		setup();
		memset(buf, 0xa5, sizeof(buf));
		known_wire(buf, HMAC1_HEX);
		if (c->byte >= 0)
			buf[c->byte] = c->val;
		enum health_drop got = health_group_input(grp, buf, c->len, NULL);

		cr_assert_eq(got, c->want, "%s: got %s, want %s", c->name, health_drop_name(got),
			     health_drop_name(c->want));
		only_drop(c->want, 0);
		cr_assert_eq(health_group_members(grp), 0, "%s created no peer", c->name);
	}
}

Test(malformed, valid_vector_accepted, .init = setup, .fini = teardown)
{
	uint8_t wire[XEVPN_HB_LEN];
	struct health_peer_info pi;

	known_wire(wire, HMAC1_HEX);
	cr_assert_eq(health_group_input(grp, wire, sizeof(wire), NULL), HEALTH_DROP_NONE);
	only_drop(HEALTH_DROP_NONE, 1);
	cr_assert_eq(health_group_peer(grp, 0, &pi), 0);
	cr_assert(pi.alive);
	cr_assert_eq(pi.seq, 42);
	cr_assert_eq(pi.role, XEVPN_HB_ROLE_PRIMARY);
	cr_assert_eq(pi.priority, 100);
	cr_assert_eq(pi.interval_ms, 1000);
	cr_assert_eq(memcmp(pi.instance_id, "leaf1", 6), 0);
}

Test(malformed, replayed_seq, .init = setup, .fini = teardown)
{
	uint8_t wire[XEVPN_HB_LEN];

	known_wire(wire, HMAC1_HEX);
	cr_assert_eq(health_group_input(grp, wire, sizeof(wire), NULL), HEALTH_DROP_NONE);
	cr_assert_eq(health_group_input(grp, wire, sizeof(wire), NULL), HEALTH_DROP_REPLAY);
	only_drop(HEALTH_DROP_REPLAY, 1);
}

static void seq41(struct health_beat *b) { b->seq = 41; }
static void seq43(struct health_beat *b) { b->seq = 43; }
static void seq44(struct health_beat *b) { b->seq = 44; }
static void boot_b(struct health_beat *b) { b->boot_id[0] = 0xbb; b->seq = 1; }
static void boot_b2(struct health_beat *b) { b->boot_id[0] = 0xbb; b->seq = 2; }

Test(malformed, older_seq_is_replay, .init = setup, .fini = teardown)
{
	uint8_t w42[XEVPN_HB_LEN], w41[XEVPN_HB_LEN], w43[XEVPN_HB_LEN];

	known_wire(w42, HMAC1_HEX);
	signed_wire(w41, seq41);
	signed_wire(w43, seq43);
	cr_assert_eq(health_group_input(grp, w42, XEVPN_HB_LEN, NULL), HEALTH_DROP_NONE);
	cr_assert_eq(health_group_input(grp, w41, XEVPN_HB_LEN, NULL), HEALTH_DROP_REPLAY);
	cr_assert_eq(health_group_input(grp, w43, XEVPN_HB_LEN, NULL), HEALTH_DROP_NONE);
	only_drop(HEALTH_DROP_REPLAY, 2);
}

/* A new boot id is a restart (accepted, seq window restarts); the old boot
 * id seen again afterwards is stale, whatever its seq. */
Test(malformed, restart_then_stale_boot, .init = setup, .fini = teardown)
{
	uint8_t w42[XEVPN_HB_LEN], wb1[XEVPN_HB_LEN], wb2[XEVPN_HB_LEN], w44[XEVPN_HB_LEN];
	struct health_event ev;
	bool restart_seen = false;

	known_wire(w42, HMAC1_HEX);
	signed_wire(wb1, boot_b);
	signed_wire(wb2, boot_b2);
	signed_wire(w44, seq44);
	cr_assert_eq(health_group_input(grp, w42, XEVPN_HB_LEN, NULL), HEALTH_DROP_NONE);
	cr_assert_eq(health_group_input(grp, wb1, XEVPN_HB_LEN, NULL), HEALTH_DROP_NONE,
		     "new boot id with a lower seq is a restart");
	while (health_engine_next_event(eng, &ev))
		if (ev.type == HEALTH_EV_PEER_RESTART)
			restart_seen = true;
	cr_assert(restart_seen, "restart reported");
	cr_assert_eq(health_group_input(grp, w44, XEVPN_HB_LEN, NULL), HEALTH_DROP_STALE_BOOT);
	cr_assert_eq(health_group_input(grp, wb2, XEVPN_HB_LEN, NULL), HEALTH_DROP_NONE);
	only_drop(HEALTH_DROP_STALE_BOOT, 3);
}

static void role_bad(struct health_beat *b) { b->role = 7; }
static void interval0(struct health_beat *b) { b->interval_ms = 0; }
static void self_id(struct health_beat *b) { memset(b->instance_id, 0, 16); memcpy(b->instance_id, "leaf9", 5); }

Test(malformed, signed_bad_fields, .init = setup, .fini = teardown)
{
	uint8_t w[XEVPN_HB_LEN];

	signed_wire(w, role_bad);
	cr_assert_eq(health_group_input(grp, w, XEVPN_HB_LEN, NULL), HEALTH_DROP_BAD_FIELD);
	only_drop(HEALTH_DROP_BAD_FIELD, 0);
	signed_wire(w, interval0);
	cr_assert_eq(health_group_input(grp, w, XEVPN_HB_LEN, NULL), HEALTH_DROP_BAD_FIELD);
}

Test(malformed, own_instance_id, .init = setup, .fini = teardown)
{
	uint8_t w[XEVPN_HB_LEN];

	signed_wire(w, self_id);
	cr_assert_eq(health_group_input(grp, w, XEVPN_HB_LEN, NULL), HEALTH_DROP_SELF);
	only_drop(HEALTH_DROP_SELF, 0);
}

Test(malformed, no_key_configured, .init = setup, .fini = teardown)
{
	uint8_t w[XEVPN_HB_LEN];

	cr_assert_eq(health_group_set_keys(grp, NULL, 0), 0);
	known_wire(w, HMAC1_HEX);
	cr_assert_eq(health_group_input(grp, w, XEVPN_HB_LEN, NULL), HEALTH_DROP_NO_KEY);
	only_drop(HEALTH_DROP_NO_KEY, 0);
	cr_assert_eq(health_group_send_now(grp), -ENOKEY, "no key: nothing sent");
}

Test(malformed, peer_limit, .init = setup, .fini = teardown)
{
	struct health_key k = key_hex(KEY1_HEX);
	uint8_t w[XEVPN_HB_LEN];
	struct health_beat b;
	struct health_stats st;

	known_beat(&b);
	for (int i = 0; i <= HEALTH_MAX_PEERS; i++) {
		snprintf((char *)b.instance_id, 16, "peer%d", i);
		cr_assert_eq(health_beat_encode(&b, &k, w), XEVPN_HB_LEN);
		cr_assert_eq(health_group_input(grp, w, XEVPN_HB_LEN, NULL),
			     i < HEALTH_MAX_PEERS ? HEALTH_DROP_NONE : HEALTH_DROP_PEER_LIMIT, "peer %d", i);
	}
	health_group_stats(grp, &st);
	cr_assert_eq(st.drops[HEALTH_DROP_PEER_LIMIT], 1);
	cr_assert_eq(health_group_members(grp), HEALTH_MAX_PEERS);
}

Test(malformed, group_config_checked, .init = setup, .fini = teardown)
{
	struct health_group_cfg gc = { .name = "dup" };
	struct health_key big = { .len = HEALTH_MAX_KEY_LEN + 1 };
	struct health_key many[HEALTH_MAX_KEY_SLOTS + 1];

	struct health_beat b;

	known_beat(&b);
	memcpy(gc.evpn_id, b.evpn_id, 16);
	cr_assert_eq(health_group_find(eng, b.evpn_id), grp);
	cr_assert_eq(health_group_add(eng, &gc, NULL), -EEXIST);
	gc.evpn_id[15] = 1;
	gc.role = 9;
	cr_assert_eq(health_group_add(eng, &gc, NULL), -EINVAL);
	cr_assert_eq(health_group_set_keys(grp, &big, 1), -EINVAL);
	memset(many, 0, sizeof(many));
	cr_assert_eq(health_group_set_keys(grp, many, HEALTH_MAX_KEY_SLOTS + 1), -E2BIG);
	cr_assert_eq(health_group_set_role(grp, XEVPN_HB_ROLE_MAX), -EINVAL);
}

static void boot_old(struct health_beat *b)
{
	b->boot_id[0] = 0xaa;		/* never heard by this receiver */
	b->seq = 900;
	b->timestamp_ms -= 60000;	/* a minute before the live boot's beats */
}

/* A beat of a boot the receiver never heard (older than its history, or from
 * before it started), replayed while the peer is alive, must not displace the
 * live boot: otherwise every real beat after it would be "stale-boot" and a
 * healthy peer would be declared dead. Once the peer is dead, a new boot is
 * taken whatever its clock says (a sender whose clock stepped back). */
Test(malformed, unknown_old_boot_while_alive_is_stale, .init = setup, .fini = teardown)
{
	uint8_t w42[XEVPN_HB_LEN], w43[XEVPN_HB_LEN], wold[XEVPN_HB_LEN];
	struct health_peer_info pi;

	known_wire(w42, HMAC1_HEX);
	signed_wire(w43, seq43);
	signed_wire(wold, boot_old);
	cr_assert_eq(health_group_input(grp, w42, XEVPN_HB_LEN, NULL), HEALTH_DROP_NONE);
	cr_assert_eq(health_group_input(grp, wold, XEVPN_HB_LEN, NULL), HEALTH_DROP_STALE_BOOT);
	cr_assert_eq(health_group_input(grp, w43, XEVPN_HB_LEN, NULL), HEALTH_DROP_NONE,
		     "the live boot is still accepted");
	only_drop(HEALTH_DROP_STALE_BOOT, 2);

	/* silent for miss x interval: dead; then the old-stamped boot is a restart */
	fake_now += 3 * 1000 + 1000;
	health_engine_tick(eng);
	cr_assert_eq(health_group_peer(grp, 0, &pi), 0);
	cr_assert_not(pi.alive, "peer declared dead");
	cr_assert_eq(health_group_input(grp, wold, XEVPN_HB_LEN, NULL), HEALTH_DROP_NONE);
	cr_assert_eq(health_group_peer(grp, 0, &pi), 0);
	cr_assert(pi.alive);
	cr_assert_eq(pi.boot_id[0], 0xaa);
}
