// SPDX-License-Identifier: GPL-2.0
/*
 * xevpnd end to end: real gobgpd (route reflector + one per leaf), the real
 * XDP/TC dataplane, one xevpnd per leaf (selftests/lib/fabric.h):
 *
 *                    [rr] gobgpd route reflector
 *                      |
 *   [ul] br0 ----------+--------------------+
 *      |                      |             |
 *   [leaf1] 192.0.2.1   [leaf2] 192.0.2.2   [leaf3] 192.0.2.3
 *      acc0                  acc0              acc0
 *        \  ESI ..:00:01     /                  |
 *         nic0 [server] nic1  (static LAG)   [host3]
 *
 * Checks what only the whole chain shows: the remote leaf's ES next-hop
 * group holds both VTEPs and shrinks with exactly one map update when one
 * leaf's ES port goes down; kill -9 of xevpnd while traffic flows loses no
 * packet and the restarted daemon writes nothing (maps byte-identical).
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_env.h"

#define LOG_LINES 25

static void write_conf(int i)
{
	struct ctl_leaf_conf o = { 0 };

	ctl_conf_end(i, ctl_conf_begin(i, &o));
}

/* `xevpnctl -j <cmd>` on leaf i: 0 and the output in out. */
static int ctl(int i, const char *cmd, char *out, size_t len)
{
	return xt_ns_sh(NULL, out, len, "%s -s %s -j %s", bin_xevpnctl, sock[i], cmd);
}

/* Integer field "name": N of a JSON text (flat search, enough for counters). */
static long json_num(const char *js, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "\"%s\":", name);
	p = strstr(js, key);
	if (!p)
		return -1;
	p += strlen(key);
	while (*p == ' ')
		p++;
	return !strncmp(p, "true", 4) ? 1 : !strncmp(p, "false", 5) ? 0 : strtol(p, NULL, 10);
}

static bool daemon_flag(int i, const char *name)
{
	char out[4096];

	if (ctl(i, "show daemon", out, sizeof(out)))
		return false;
	return json_num(out, name) == 1;
}

static void setup(void)
{
	ctl_fabric_up();
	ctl_leaves_up(write_conf, daemon_flag, LOG_LINES);
}

static void teardown(void)
{
	ctl_teardown(LOG_LINES);
}

TestSuite(netns_ctl, .init = setup, .fini = teardown, .timeout = 240);

Test(netns_ctl, remote_es_group_shrinks_with_one_update)
{
	struct xevpn_nh_group g0, g1;
	struct xt_proc p = { 0 };
	char before[4096], after[4096];
	int sent, got;

	/* aliasing: leaf3 reaches the server's ES through both leaves */
	if (!ctl_wait_group(2, "192.0.2.1", "192.0.2.2", 20000, 50, &g0)) {
		ctl_logs(LOG_LINES);
		cr_assert_fail("leaf3's ES group never held 192.0.2.1 and 192.0.2.2");
	}
	cr_assert_eq(ctl_ping_start(&p, 5, "0.2"), 0);
	got = ctl_ping_wait(&p, 15000, &sent);
	cr_assert_eq(got, 5, "host3 -> server through the overlay: %d/%d replies", got, sent);

	cr_assert_eq(ctl(2, "show fib", before, sizeof(before)), 0);
	cr_assert_eq(xt_fabric_es_link_set(&fab, 0, false), 0, "leaf1's ES port down");
	if (!ctl_wait_group(2, "192.0.2.2", NULL, 20000, 50, &g1)) {
		ctl_logs(LOG_LINES);
		cr_assert_fail("leaf3's ES group did not shrink to 192.0.2.2");
	}
	xt_sleep_ms(1500);	/* let later withdrawals (ES route, per-EVI A-D) land */
	cr_assert_eq(ctl_es_group(2, ctl_es_id(2), &g1), 0);
	cr_assert(ctl_group_is(&g1, "192.0.2.2", NULL), "group stays {192.0.2.2}");
	cr_assert_eq(ctl(2, "show fib", after, sizeof(after)), 0);
	cr_assert_eq(g1.gen - g0.gen, 1, "exactly one next-hop group update (gen %u -> %u)", g0.gen,
		     g1.gen);
	cr_assert_eq(json_num(after, "es_nh_set") - json_num(before, "es_nh_set"), 1,
		     "xevpnd counted one group write: %s -> %s", before, after);
	cr_assert_eq(json_num(after, "fdb_set"), json_num(before, "fdb_set"),
		     "the server's MAC entries were not touched (they point at the ES)");

	/* still reachable through leaf2 */
	cr_assert_eq(ctl_ping_start(&p, 5, "0.2"), 0);
	got = ctl_ping_wait(&p, 15000, &sent);
	cr_assert_eq(got, 5, "after the shrink: %d/%d replies", got, sent);
}

/* Every map of a pin root except the ones the dataplane itself changes
 * (counters, learn ring, learn rate limiter), as "name key=value" lines. */
static char *snapshot(int leaf)
{
	static const char *maps[] = { "xevpn_config", "xevpn_port", "xevpn_port_vlan", "xevpn_bd",
				      "xevpn_fdb", "xevpn_es", "xevpn_es_bd", "xevpn_es_nh",
				      "xevpn_es_peer", "xevpn_flood", "xevpn_ctl_esi" };
	size_t cap = 1 << 20, len = 0;
	char *out = calloc(1, cap);

	cr_assert_not_null(out);
	for (unsigned m = 0; m < sizeof(maps) / sizeof(maps[0]); m++) {
		int fd = ctl_pinned(leaf, maps[m]);
		struct bpf_map_info info = { 0 };
		uint32_t ilen = sizeof(info);
		uint8_t k[256], nk[256], v[4096];
		void *prev = NULL;

		cr_assert_geq(fd, 0, "%s pinned", maps[m]);
		cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &ilen), 0);
		cr_assert_leq(info.key_size, sizeof(k));
		cr_assert_leq(info.value_size, sizeof(v));
		while (!bpf_map_get_next_key(fd, prev, nk)) {
			memcpy(k, nk, info.key_size);
			prev = k;
			if (bpf_map_lookup_elem(fd, k, v))
				continue;
			len += (size_t)snprintf(out + len, cap - len, "%s ", maps[m]);
			for (unsigned i = 0; i < info.key_size; i++)
				len += (size_t)snprintf(out + len, cap - len, "%02x", k[i]);
			len += (size_t)snprintf(out + len, cap - len, "=");
			for (unsigned i = 0; i < info.value_size; i++)
				len += (size_t)snprintf(out + len, cap - len, "%02x", v[i]);
			len += (size_t)snprintf(out + len, cap - len, "\n");
			cr_assert_lt(len, cap - 8192, "snapshot too large");
		}
		close(fd);
	}
	return out;
}

/* Hash map iteration order can differ between reads: compare as sorted lines. */
static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *sorted(char *s)
{
	char *lines[8192], *save = NULL, *out;
	size_t n = 0, len = strlen(s) + 1, pos = 0;

	for (char *t = strtok_r(s, "\n", &save); t && n < 8192; t = strtok_r(NULL, "\n", &save))
		lines[n++] = t;
	qsort(lines, n, sizeof(lines[0]), cmp_line);
	out = calloc(1, len + 1);
	for (size_t i = 0; i < n; i++)
		pos += (size_t)sprintf(out + pos, "%s\n", lines[i]);
	return out;
}

Test(netns_ctl, kill9_restart_loses_nothing_changes_nothing)
{
	struct xevpn_nh_group g;
	struct xt_proc p = { 0 };
	char *before[XT_FABRIC_LEAVES], *after, fib[4096];
	int sent, got;

	if (!ctl_wait_group(2, "192.0.2.1", "192.0.2.2", 20000, 50, &g)) {
		ctl_logs(LOG_LINES);
		cr_assert_fail("leaf3's ES group never held both leaves");
	}
	/* learn both hosts, then let DF and flood lists settle */
	cr_assert_eq(ctl_ping_start(&p, 3, "0.2"), 0);
	got = ctl_ping_wait(&p, 15000, &sent);
	cr_assert_eq(got, 3, "warm-up ping %d/%d", got, sent);
	xt_sleep_ms(1500);
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		before[i] = sorted(snapshot(i));
		/* the image compared is a real one: both hosts' MACs, the ES group */
		cr_assert(strstr(before[i], "xevpn_fdb ") && strstr(before[i], "xevpn_es_nh ") &&
			  strstr(before[i], "xevpn_flood "), "%s: snapshot:\n%s", fab.leaf[i].ns,
			  before[i]);
	}

	/* 300 pings over ~6 s; every xevpnd is killed and restarted meanwhile */
	cr_assert_eq(ctl_ping_start(&p, 300, "0.02"), 0);
	xt_sleep_ms(500);
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		cr_assert_eq(xt_proc_kill(&xd[i]), 0);
		memset(&xd[i], 0, sizeof(xd[i]));
	}
	xt_sleep_ms(300);
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		ctl_xd_start(i);
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		if (!ctl_wait_flag(i, "reconciled", 20000, daemon_flag)) {
			ctl_logs(LOG_LINES);
			cr_assert_fail("restarted xevpnd on %s did not reconcile", fab.leaf[i].ns);
		}
	got = ctl_ping_wait(&p, 30000, &sent);
	cr_assert_eq(sent, 300);
	cr_assert_eq(got, 300, "ping across kill -9 and restart: %d/%d replies", got, sent);

	xt_sleep_ms(1500);
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		after = sorted(snapshot(i));
		cr_assert_str_eq(after, before[i], "%s: maps changed across the restart",
				 fab.leaf[i].ns);
		cr_assert_eq(ctl(i, "show fib", fib, sizeof(fib)), 0);
		cr_assert_eq(json_num(fib, "fdb_set") + json_num(fib, "fdb_del") +
				     json_num(fib, "es_nh_set") + json_num(fib, "es_set") +
				     json_num(fib, "es_del") + json_num(fib, "es_peer") +
				     json_num(fib, "flood_set") + json_num(fib, "df_set") +
				     json_num(fib, "port_set"),
			     0, "%s: the restarted xevpnd wrote nothing: %s", fab.leaf[i].ns, fib);
		free(after);
		free(before[i]);
	}
}

Test(netns_ctl, flush_removes_the_dataplane)
{
	char out[4096], cmd[XT_PATH_MAX * 2];

	cr_assert_eq(access(pins[2], F_OK), 0, "pins exist while running");
	cr_assert_eq(xt_proc_stop(&xd[2], 3000), 0, "SIGTERM: clean exit");
	memset(&xd[2], 0, sizeof(xd[2]));
	/* a clean exit leaves the dataplane attached and pinned */
	cr_assert_eq(access(pins[2], F_OK), 0);
	cr_assert_eq(xt_ns_sh(fab.leaf[2].ns, out, sizeof(out), "ip link show %s", fab.leaf[2].access), 0);
	cr_assert(strstr(out, "xdp"), "XDP still attached after exit: %s", out);

	snprintf(cmd, sizeof(cmd), "%s --flush -c %s", bin_xevpnd, conf[2]);
	cr_assert_eq(xt_ns_sh(fab.leaf[2].ns, out, sizeof(out), "%s", cmd), 0, "%s", cmd);
	cr_assert_neq(access(pins[2], F_OK), 0, "%s removed", pins[2]);
	cr_assert_eq(xt_ns_sh(fab.leaf[2].ns, out, sizeof(out), "ip link show %s; tc filter show dev %s ingress",
			      fab.leaf[2].access, fab.leaf[2].access), 0);
	cr_assert_null(strstr(out, "xdp"), "XDP detached: %s", out);
	cr_assert_null(strstr(out, "bpf"), "TC filter removed: %s", out);
}
