// SPDX-License-Identifier: GPL-2.0
/*
 * Heartbeat actions of xevpnd, end to end: real gobgpd (route reflector + one
 * per leaf), the real XDP/TC dataplane, one xevpnd per leaf running the
 * health engine (selftests/lib/fabric.h plus a heartbeat port per leaf):
 *
 *                    [rr] gobgpd route reflector
 *                      |
 *   [ul] br0 ----------+--------------------+
 *      | l1                   | l2          | l3
 *   [leaf1] 192.0.2.1   [leaf2] 192.0.2.2   [leaf3] 192.0.2.3
 *    acc0  hbd0=hb0      acc0  hbd0=hb0      acc0  hbd0=hb0
 *      \  ESI ..:00:01     /                   |
 *       nic0 [server] nic1  (static LAG)    [host3]
 *
 * hbd0/hb0 is a veth pair in each leaf: hbd0 is an access port of bd100 in
 * the dataplane, hb0 holds the IPv6 link-local address the health engine
 * binds. A beat leaves hb0, enters the dataplane on hbd0, is replicated over
 * VXLAN to the other leaves and delivered out of their hbd0 to their hb0: it
 * proves the overlay forwarding path. Groups: es-server1 (leaf1, leaf2) and
 * bd100 (all three).
 *
 *  (a) xevpnd killed (SIGKILL: no leaving flag) on leaf1: leaf2 declares it
 *      down within miss x interval + one tick, becomes DF at once (long before
 *      the DF wait or BGP could), leaf3 prunes it from the ES next-hop group;
 *      all restored after restart.
 *  (b) leaf1 self-fences when its BGP speaker is lost AND it hears no peer,
 *      by the deadline and not before; neither condition alone fences; the
 *      fence lifts when both come back.
 *  (c) key rotation over SIGHUP reloads (add slot, switch sender, retire)
 *      rejects no beat; a wrong key is seen (the counter is real).
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_env.h"

#define VNI		CTL_VNI
#define LOG_LINES	30
#define HB_IF		CTL_HB_IF	/* engine side: link-local address */
#define HB_DP_IF	CTL_HB_DP_IF	/* dataplane side: access port of bd100 */
#define INTERVAL_MS	100
#define MISS		3
#define FENCE_MS	2000
#define DF_WAIT_MS	3000
#define SLACK_MS	150		/* timer and scheduling noise on a busy 2-CPU box */

static const char *const KEY1 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
static const char *const KEY2 = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
static const char *const KEY3 = "0f0e0d0c0b0a09080706050403020100";

static const char *api_override[XT_FABRIC_LEAVES];	/* gobgp-api through a cuttable proxy */

/* keys: "1:HEX,2:HEX" (first signs). */
static void write_conf(int i, const char *keys)
{
	char df_wait[16], spec[512], *save = NULL;
	struct ctl_leaf_conf o = { .api = api_override[i], .df_wait = df_wait, .extra_port = HB_DP_IF };
	struct xt_fabric_leaf *l = &fab.leaf[i];
	FILE *f;

	snprintf(df_wait, sizeof(df_wait), "%ums", DF_WAIT_MS);
	f = ctl_conf_begin(i, &o);
	fprintf(f,
		"health:\n  interval: %ums\n  miss: %u\n  rise: 3\n  fall: 1\n  cooldown: 300ms\n"
		"  self-fence-deadline: %ums\n  evpn-id: xt-fabric\n  keys:\n",
		INTERVAL_MS, MISS, FENCE_MS);
	snprintf(spec, sizeof(spec), "%s", keys);
	for (char *k = strtok_r(spec, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(k, ':');

		cr_assert_not_null(colon);
		*colon = 0;
		fprintf(f, "    - { id: %s, secret: %s }\n", k, colon + 1);
	}
	fprintf(f, "  groups:\n");
	if (l->on_es)
		fprintf(f, "    - { name: es-server1, es: server1, interface: %s }\n", HB_IF);
	fprintf(f, "    - { name: bd%u, bd: bd%u, interface: %s }\n", VNI, VNI, HB_IF);
	ctl_conf_end(i, f);
}

static void keys_spec(char *buf, size_t len, const char *a_id, const char *a, const char *b_id,
		      const char *b)
{
	if (b)
		snprintf(buf, len, "%s:%s,%s:%s", a_id, a, b_id, b);
	else
		snprintf(buf, len, "%s:%s", a_id, a);
}

/* `xevpnctl -j <cmd>` on leaf i -> parsed data, or NULL. */
static json_t *ctl_json(int i, const char *cmd)
{
	static char out[1 << 16];
	json_error_t e;

	if (xt_ns_sh(NULL, out, sizeof(out), "%s -s %s -j %s 2>/dev/null", bin_xevpnctl, sock[i], cmd))
		return NULL;
	return json_loads(out, 0, &e);
}

static json_t *group_of(json_t *health, const char *name)
{
	size_t i;
	json_t *g;

	json_array_foreach(json_object_get(health, "groups"), i, g)
		if (!strcmp(json_string_value(json_object_get(g, "name")) ?: "", name))
			return g;
	return NULL;
}

static json_t *peer_of(json_t *group, const char *vtep)
{
	size_t i;
	json_t *p;

	json_array_foreach(json_object_get(group, "peers"), i, p)
		if (!strcmp(json_string_value(json_object_get(p, "vtep")) ?: "", vtep))
			return p;
	return NULL;
}

static long long jnum(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_true(v) ? 1 : json_is_false(v) ? 0 : json_integer_value(v);
}

/* Every other leaf of `group` is alive and fit (or unknown) on leaf i. */
static bool peers_ok(int i, const char *group, int want)
{
	json_t *h = ctl_json(i, "show health"), *g, *p;
	int n = 0;
	size_t k;

	if (!h)
		return false;
	g = group_of(h, group);
	json_array_foreach(g ? json_object_get(g, "peers") : NULL, k, p)
		n += jnum(p, "alive") && strcmp(json_string_value(json_object_get(p, "verdict")), "unfit");
	json_decref(h);
	return n == want;
}

static bool wait_peers(int timeout_ms)
{
	uint64_t end = xt_now_ms() + (uint64_t)timeout_ms;

	do {
		bool ok = true;

		for (int i = 0; i < XT_FABRIC_LEAVES && ok; i++) {
			if (fab.leaf[i].on_es)
				ok = peers_ok(i, "es-server1", 1);
			ok = ok && peers_ok(i, "bd100", 2);
		}
		if (ok)
			return true;
		xt_sleep_ms(100);
	} while (xt_now_ms() < end);
	return false;
}

static bool daemon_flag(int i, const char *name)
{
	json_t *d = ctl_json(i, "show daemon");
	bool v = d && jnum(d, name) == 1;

	json_decref(d);
	return v;
}

/* DF bit of (server ES, VNI) in leaf's dataplane: 1, 0, or negative. */
static int df_bit(int leaf, int fd, uint32_t id)
{
	struct xevpn_es_bd_key k = { .es_id = id, .vni = VNI };
	struct xevpn_es_bd v;

	if (bpf_map_lookup_elem(fd, &k, &v))
		return errno == ENOENT ? 0 : -errno;
	return !!(v.flags & XEVPN_ES_BD_F_DF);
}

static bool wait_df(int leaf, int want, int timeout_ms)
{
	uint64_t end = xt_now_ms() + (uint64_t)timeout_ms;
	int fd = ctl_pinned(leaf, "xevpn_es_bd"), v = -1;
	uint32_t id = ctl_es_id(leaf);

	cr_assert_geq(fd, 0);
	do {
		if ((v = df_bit(leaf, fd, id)) == want)
			break;
		xt_sleep_ms(50);
	} while (xt_now_ms() < end);
	close(fd);
	return v == want;
}

static bool wait_group(int leaf, const char *a, const char *b, int timeout_ms)
{
	struct xevpn_nh_group g;

	return ctl_wait_group(leaf, a, b, timeout_ms, 20, &g);
}

/* The server's ES on leaf i is in service with its DF wait over. */
static bool es_settled(int i)
{
	json_t *es = ctl_json(i, "show es server1"), *o = json_is_array(es) ? json_array_get(es, 0) : es;
	char *flags = o ? json_dumps(json_object_get(o, "flags"), JSON_COMPACT) : NULL;
	bool ok = o && jnum(o, "in_service") == 1 && flags && !strstr(flags, "df-wait");

	free(flags);
	json_decref(es);
	return ok;
}

static void wait_settled(int timeout_ms)
{
	uint64_t end = xt_now_ms() + (uint64_t)timeout_ms;

	while (!(es_settled(0) && es_settled(1)) && xt_now_ms() < end)
		xt_sleep_ms(100);
	if (!(es_settled(0) && es_settled(1))) {
		ctl_logs(LOG_LINES);
		cr_assert_fail("the server's ES never settled (in service, DF wait over) on leaf1/leaf2");
	}
}

/* Heartbeat port and config with key 1 only. */
static void leaf_prepare(int i)
{
	char keys[256];

	keys_spec(keys, sizeof(keys), "1", KEY1, NULL, NULL);
	ctl_hb_port(i);
	write_conf(i, keys);
}

static void setup(void)
{
	memset(xd, 0, sizeof(xd));
	memset(api_override, 0, sizeof(api_override));
	ctl_fabric_up();
	ctl_leaves_up(leaf_prepare, daemon_flag, LOG_LINES);
	/* beats cross the overlay both ways before any test starts */
	if (!wait_peers(20000)) {
		ctl_logs(LOG_LINES);
		cr_assert_fail("heartbeat peers not all alive through the overlay");
	}
	wait_settled(20000);
}

static void teardown(void)
{
	ctl_teardown(LOG_LINES);
}

TestSuite(netns_ctl_health, .init = setup, .fini = teardown, .timeout = 150);

/* ---- (a) peer killed: fast DF takeover and heartbeat-verified aliasing ---- */

Test(netns_ctl_health, peer_killed_df_moves_at_once)
{
	json_t *h, *g, *p;
	uint64_t t_kill, t_df = 0, end;
	long long down_at, detect, bound = MISS * INTERVAL_MS + INTERVAL_MS;
	uint32_t id2 = ctl_es_id(1);
	int fd2;

	/* modulo DF for VNI 100 over {192.0.2.1, 192.0.2.2}: leaf1 */
	cr_assert(wait_df(0, 1, 15000), "leaf1 is DF before the test");
	cr_assert(wait_df(1, 0, 15000), "leaf2 is not DF before the test");
	if (!wait_group(2, "192.0.2.1", "192.0.2.2", 15000)) {
		ctl_logs(LOG_LINES);
		cr_assert_fail("leaf3's ES group never held both leaves");
	}
	fd2 = ctl_pinned(1, "xevpn_es_bd");
	cr_assert_geq(fd2, 0);

	t_kill = xt_now_ms();
	cr_assert_eq(xt_proc_kill(&xd[0]), 0);
	memset(&xd[0], 0, sizeof(xd[0]));
	for (end = t_kill + 5000; xt_now_ms() < end;) {
		if (df_bit(1, fd2, id2) == 1) {
			t_df = xt_now_ms();
			break;
		}
		xt_sleep_ms(5);
	}
	close(fd2);
	if (!t_df) {
		ctl_logs(LOG_LINES);
		cr_assert_fail("leaf2 never became DF after leaf1's xevpnd died");
	}
	cr_assert(wait_group(2, "192.0.2.2", NULL, 2000),
		  "leaf3 pruned 192.0.2.1 from the ES next-hop group on the heartbeat verdict");

	h = ctl_json(1, "show es server1 health");
	cr_assert_not_null(h);
	g = group_of(h, "es-server1");
	cr_assert_not_null(g);
	p = peer_of(g, "192.0.2.1");
	cr_assert_not_null(p, "leaf2 knows leaf1 as an ES heartbeat peer");
	cr_assert_eq(jnum(p, "alive"), 0);
	cr_assert_eq(jnum(p, "pruned"), 1);
	down_at = jnum(p, "down_at_ms");
	detect = down_at - (long long)t_kill;
	printf("RESULT peer_down_detect_ms %lld ms interval=%d miss=%d\n", detect, INTERVAL_MS, MISS);
	printf("RESULT peer_down_df_moved_ms %llu ms (verdict acted on at %lld ms)\n",
	       (unsigned long long)(t_df - t_kill), jnum(p, "unfit_at_ms") - (long long)t_kill);
	fflush(stdout);
	cr_assert_gt(detect, (MISS - 1) * INTERVAL_MS - 50,
		     "not declared down before miss x interval of silence (%lld ms)", detect);
	cr_assert_leq(detect, bound + SLACK_MS, "declared down in %lld ms, bound %lld ms (+%d)", detect,
		      bound, SLACK_MS);
	cr_assert_leq((long long)(t_df - t_kill), detect + SLACK_MS,
		      "DF moved %llu ms after the kill, %lld ms after the verdict",
		      (unsigned long long)(t_df - t_kill), detect);
	cr_assert_lt(t_df - t_kill, DF_WAIT_MS, "well before the DF wait (and BGP hold: leaf1's BGP is up)");
	json_decref(h);

	/* xevpnd back on leaf1: beats resume, fit after rise, everything restored */
	ctl_xd_start(0);
	if (!wait_group(2, "192.0.2.1", "192.0.2.2", 20000) || !wait_df(1, 0, 20000) ||
	    !wait_df(0, 1, 20000)) {
		ctl_logs(LOG_LINES);
		cr_assert_fail("leaf1 not restored after its xevpnd came back");
	}
	h = ctl_json(1, "show health");
	cr_assert_not_null(h);
	cr_assert_geq(jnum(json_object_get(h, "actions"), "restores"), 1);
	json_decref(h);
}

/* ---- (b) self-fence: speaker lost AND no peer heard, by the deadline ---- */

static bool leaf_fenced(int i)
{
	json_t *h = ctl_json(i, "show es server1 health");
	bool v = h && jnum(h, "fenced") == 1;

	json_decref(h);
	return v;
}

static bool speaker_up(int i)
{
	json_t *h = ctl_json(i, "show health");
	bool v = h && jnum(h, "speaker_up") == 1;

	json_decref(h);
	return v;
}

static int es_hold(int leaf)
{
	struct xevpn_es v;
	uint32_t id = ctl_es_id(leaf);
	int fd = ctl_pinned(leaf, "xevpn_es"), rc;

	if (fd < 0)
		return fd;
	rc = bpf_map_lookup_elem(fd, &id, &v) ? -errno : !!(v.flags & XEVPN_ES_F_HOLD);
	close(fd);
	return rc;
}

static void underlay(int leaf, bool on)
{
	/* off: leaf's bridge port leaves br0; the leaf's uplink keeps its
	 * carrier, so only the heartbeat (and BGP, later) can tell */
	cr_assert_eq(xt_ip(fab.underlay.ns, "link set %s %s", fab.underlay.port[leaf],
			   on ? "master br0" : "nomaster"), 0);
}

/* Never fenced for `ms`. */
static void assert_no_fence_for(int leaf, int ms, const char *why)
{
	uint64_t end = xt_now_ms() + (uint64_t)ms;

	while (xt_now_ms() < end) {
		if (leaf_fenced(leaf)) {
			ctl_logs(LOG_LINES);
			cr_assert_fail("self-fenced with %s", why);
		}
		xt_sleep_ms(100);
	}
}

static void gobgpd_restart(int i)
{
	struct xt_fabric_leaf *l = &fab.leaf[i];
	struct xt_gobgpd_config c = {
		.ns = l->ns, .name = l->ns, .router_id = l->vtep, .as = XT_FABRIC_AS,
		.api_addr = l->api_addr, .local_address = l->vtep, .n_neighbors = 1,
		.neighbors = { { .address = fab.rr.ip } },
	};

	cr_assert_eq(xt_gobgpd_start(&c, &l->bgp), 0, "gobgpd on %s restarted", l->ns);
}

/*
 * xevpnd's view of the BGP speaker is its gRPC session to the local gobgpd.
 * Killing gobgpd also ends its BGP session, and the other leaves then stop
 * replicating BUM (beats included) to this leaf: the speaker cannot be lost
 * alone that way. A one-connection TCP relay between xevpnd and gobgpd
 * (busybox nc) lets the test cut only the gRPC session while gobgpd and BGP
 * stay up.
 */
#define PROXY_PORT "50052"

static void proxy_start(int i, struct xt_proc *p)
{
	char host[64], *colon, *argv[] = { "/bin/busybox", "nc", "-l", "-p", PROXY_PORT, "-e",
					   "/bin/busybox", "nc", host, NULL, NULL };

	snprintf(host, sizeof(host), "%s", fab.leaf[i].api_addr);
	colon = strrchr(host, ':');
	cr_assert_not_null(colon);
	*colon = 0;
	argv[9] = colon + 1;
	cr_assert_eq(xt_spawn(fab.leaf[i].ns, "grpc-relay", argv, NULL, 0, p), 0);
}

Test(netns_ctl_health, isolated_leaf_self_fences_by_deadline)
{
	uint64_t t_cut, t_fence = 0, end;
	struct xt_proc relay = { 0 };
	char keys[256];
	long long after;
	json_t *h;

	/* leaf1's xevpnd talks to gobgpd through the relay (a restart-only field) */
	proxy_start(0, &relay);
	cr_assert_eq(xt_proc_stop(&xd[0], 3000), 0);
	memset(&xd[0], 0, sizeof(xd[0]));
	api_override[0] = "127.0.0.1:" PROXY_PORT;
	keys_spec(keys, sizeof(keys), "1", KEY1, NULL, NULL);
	write_conf(0, keys);
	ctl_xd_start(0);
	if (!ctl_wait_flag(0, "converged", 30000, daemon_flag) || !wait_peers(20000)) {
		ctl_logs(LOG_LINES);
		cr_assert_fail("leaf1's xevpnd did not come back through the gRPC relay");
	}
	wait_settled(20000);
	cr_assert(speaker_up(0));
	cr_assert(wait_df(0, 1, 15000), "leaf1 forwarding as DF before the test");
	cr_assert_eq(es_hold(0), 0, "leaf1's ES in service");

	/* 1. underlay cut only: peers go silent, the speaker stays up */
	underlay(0, false);
	assert_no_fence_for(0, FENCE_MS + 1000, "only the underlay cut (speaker up)");
	h = ctl_json(0, "show es server1 health");
	cr_assert_not_null(h);
	cr_assert_eq(jnum(h, "speaker_up"), 1);
	cr_assert_not_null(peer_of(group_of(h, "es-server1"), "192.0.2.2"));
	cr_assert_eq(jnum(peer_of(group_of(h, "es-server1"), "192.0.2.2"), "alive"), 0,
		     "leaf1 hears no peer while cut off (the condition really held)");
	json_decref(h);
	underlay(0, true);
	if (!wait_peers(20000)) {
		ctl_logs(LOG_LINES);
		cr_assert_fail("peers not back after the underlay returned");
	}

	/* 2. speaker lost only: the gRPC session dies, BGP and beats go on */
	cr_assert_eq(xt_proc_kill(&relay), 0);
	for (end = xt_now_ms() + 10000; speaker_up(0) && xt_now_ms() < end;)
		xt_sleep_ms(50);
	cr_assert(!speaker_up(0), "leaf1's xevpnd saw its speaker go away");
	assert_no_fence_for(0, FENCE_MS + 1000, "only the speaker lost (peers heard)");
	cr_assert(peers_ok(0, "es-server1", 1), "leaf1 still hears leaf2 (the condition held)");

	/* 3. isolated: gobgpd killed and the underlay cut: fenced at the
	 * deadline, not before */
	t_cut = xt_now_ms();
	cr_assert_eq(xt_proc_kill(&fab.leaf[0].bgp.proc), 0);
	fab.leaf[0].bgp.proc.pid = 0;
	underlay(0, false);
	for (end = t_cut + FENCE_MS + 3000; xt_now_ms() < end;) {
		if (leaf_fenced(0)) {
			t_fence = xt_now_ms();
			break;
		}
		xt_sleep_ms(20);
	}
	if (!t_fence) {
		ctl_logs(LOG_LINES);
		cr_assert_fail("leaf1 did not self-fence within the deadline + 3 s");
	}
	after = (long long)(t_fence - t_cut);
	printf("RESULT self_fence_after_ms %lld ms deadline=%d\n", after, FENCE_MS);
	fflush(stdout);
	/* the deadline runs from the last beat heard, at most one interval
	 * before the cut */
	cr_assert_geq(after, FENCE_MS - INTERVAL_MS - 50, "fenced %lld ms after isolation: early", after);
	cr_assert_leq(after, FENCE_MS + INTERVAL_MS + SLACK_MS + 100, "fenced %lld ms after isolation: late",
		      after);
	cr_assert_eq(es_hold(0), 1, "leaf1's ES port is out of service in the dataplane (HOLD)");
	cr_assert(wait_df(0, 0, 2000), "a fenced leaf is not DF");

	/* 4. speaker and peers back: the fence lifts, the ES returns to service */
	gobgpd_restart(0);
	proxy_start(0, &relay);
	underlay(0, true);
	for (end = xt_now_ms() + 20000; leaf_fenced(0) && xt_now_ms() < end;)
		xt_sleep_ms(100);
	if (leaf_fenced(0)) {
		ctl_logs(LOG_LINES);
		cr_assert_fail("fence not lifted once the speaker and the peers returned");
	}
	for (end = xt_now_ms() + 20000; es_hold(0) != 0 && xt_now_ms() < end;)
		xt_sleep_ms(100);
	cr_assert_eq(es_hold(0), 0, "leaf1's ES back in service");
	xt_proc_stop(&relay, 1000);
}

/* ---- (c) key rotation across the three leaves loses no beat ---- */

static void rotate(const char *keys, const char *want_ids)
{
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		write_conf(i, keys);
		cr_assert_eq(kill(xd[i].pid, SIGHUP), 0);
	}
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		uint64_t end = xt_now_ms() + 5000;
		bool ok = false;

		do {
			json_t *h = ctl_json(i, "show health");
			char *ids = h ? json_dumps(json_object_get(group_of(h, "bd100"), "key_ids"),
						  JSON_COMPACT) : NULL;

			ok = ids && !strcmp(ids, want_ids);
			free(ids);
			json_decref(h);
			if (!ok)
				xt_sleep_ms(50);
		} while (!ok && xt_now_ms() < end);
		cr_assert(ok, "%s applied keys %s", fab.leaf[i].ns, want_ids);
	}
	/* several beats under the new keys everywhere */
	xt_sleep_ms(MISS * INTERVAL_MS * 3);
}

/* Beats rejected (any reason but foreign-group) and accepted on every leaf. */
static void beat_counts(long long *rejected, long long *accepted, long long *prunes)
{
	*rejected = *accepted = *prunes = 0;
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		json_t *h = ctl_json(i, "show health"), *g;
		size_t k;

		cr_assert_not_null(h);
		json_array_foreach(json_object_get(h, "groups"), k, g) {
			*rejected += jnum(json_object_get(g, "stats"), "rejected");
			*accepted += jnum(json_object_get(g, "stats"), "rx_ok");
		}
		*prunes += jnum(json_object_get(h, "actions"), "prunes");
		json_decref(h);
	}
}

Test(netns_ctl_health, key_rotation_loses_no_beat)
{
	long long rej0, acc0, pr0, rej, acc, pr;
	char keys[512];
	uint64_t end;

	beat_counts(&rej0, &acc0, &pr0);
	keys_spec(keys, sizeof(keys), "1", KEY1, "2", KEY2);	/* 1. add slot 2 */
	rotate(keys, "[1,2]");
	keys_spec(keys, sizeof(keys), "2", KEY2, "1", KEY1);	/* 2. switch senders */
	rotate(keys, "[2,1]");
	keys_spec(keys, sizeof(keys), "2", KEY2, NULL, NULL);	/* 3. retire the old key */
	rotate(keys, "[2]");
	beat_counts(&rej, &acc, &pr);
	printf("RESULT rotation_beats_rejected %lld\n", rej - rej0);
	fflush(stdout);
	cr_assert_eq(rej - rej0, 0, "beats rejected during the rotation");
	cr_assert_eq(pr - pr0, 0, "no peer was declared unfit during the rotation");
	cr_assert_gt(acc - acc0, 3 * 4 * (MISS * INTERVAL_MS * 3 / INTERVAL_MS) / 2,
		     "beats kept flowing (%lld accepted)", acc - acc0);
	cr_assert(wait_peers(1000), "every peer alive after the rotation");

	/* the counter is real: a leaf on a key nobody else has is rejected */
	keys_spec(keys, sizeof(keys), "3", KEY3, NULL, NULL);
	write_conf(2, keys);
	cr_assert_eq(kill(xd[2].pid, SIGHUP), 0);
	for (end = xt_now_ms() + 5000; xt_now_ms() < end;) {
		beat_counts(&rej, &acc, &pr);
		if (rej - rej0 > 0)
			break;
		xt_sleep_ms(100);
	}
	cr_assert_gt(rej - rej0, 0, "beats under a foreign key are rejected (bad-sig)");
}
