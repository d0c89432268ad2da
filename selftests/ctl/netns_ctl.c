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
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fabric.h"
#include "netns.h"
#include <xevpn/maps.h>

#define INSTANCE "xevpn"
#define VNI 100

static struct xt_fabric fab;
static struct xt_proc xd[XT_FABRIC_LEAVES];
static char conf[XT_FABRIC_LEAVES][XT_PATH_MAX], sock[XT_FABRIC_LEAVES][XT_PATH_MAX];
static char pins[XT_FABRIC_LEAVES][XT_PATH_MAX];
static char bin_xevpnd[PATH_MAX], bin_xevpnctl[PATH_MAX];

static void find_bins(void)
{
	const char *dir = getenv("XEVPN_BIN");
	char self[PATH_MAX], d[PATH_MAX];
	ssize_t n;

	if (dir) {
		snprintf(d, sizeof(d), "%s", dir);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		cr_assert_gt(n, 0);
		self[n] = 0;
		snprintf(d, sizeof(d), "%s/..", dirname(self));
	}
	snprintf(bin_xevpnd, sizeof(bin_xevpnd), "%s/xevpnd", d);
	snprintf(bin_xevpnctl, sizeof(bin_xevpnctl), "%s/xevpnctl", d);
	cr_assert_eq(access(bin_xevpnd, X_OK), 0, "%s not built", bin_xevpnd);
	cr_assert_eq(access(bin_xevpnctl, X_OK), 0, "%s not built", bin_xevpnctl);
}

static void write_conf(int i)
{
	struct xt_fabric_leaf *l = &fab.leaf[i];
	FILE *f;

	snprintf(conf[i], sizeof(conf[i]), "%s/%s.conf", xt_state_dir(), l->ns);
	snprintf(sock[i], sizeof(sock[i]), "%s/%s.sock", xt_state_dir(), l->ns);
	snprintf(pins[i], sizeof(pins[i]), "%s/%s", l->bpffs, INSTANCE);
	f = fopen(conf[i], "w");
	cr_assert_not_null(f);
	fprintf(f,
		"vtep-address: %s\nrouter-id: %s\nasn: %u\ngobgp-api: %s\nbpffs: %s\n"
		"instance: %s\ncli-socket: %s\nuplinks: [%s]\n"
		"timers:\n  startup-hold: 2s\n  mac-aging: 300s\n  df-wait: 1s\n"
		"bd:\n  - name: bd%u\n    vni: %u\n    route-targets: auto\n    access-ports: [%s]\n",
		l->vtep, l->vtep, XT_FABRIC_AS, l->api_addr, l->bpffs, INSTANCE, sock[i], l->uplink,
		VNI, VNI, l->access);
	if (l->on_es)
		fprintf(f, "es:\n  - name: server1\n    esi: %s\n    port: %s\n    mode: all-active\n",
			fab.esi, l->access);
	cr_assert_eq(fclose(f), 0);
}

static void xd_start(int i)
{
	char *argv[] = { bin_xevpnd, "-c", conf[i], NULL };
	char label[32];

	snprintf(label, sizeof(label), "xevpnd-%s", fab.leaf[i].ns);
	cr_assert_eq(xt_spawn(fab.leaf[i].ns, label, argv, NULL, 0, &xd[i]), 0);
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

static int pinned(int leaf, const char *map)
{
	char path[XT_PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", pins[leaf], map);
	return bpf_obj_get(path);
}

/* ES id of the fabric ESI on a leaf, from xevpnd's pinned ESI record. */
static uint32_t es_id(int leaf)
{
	uint8_t want[10], v[16];
	uint32_t k, next, *prev = NULL, found = 0;
	int fd = pinned(leaf, "xevpn_ctl_esi");

	if (fd < 0)
		return 0;
	for (int i = 0; i < 10; i++)
		want[i] = (uint8_t)strtoul(fab.esi + 3 * i, NULL, 16);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(fd, &k, v) && !memcmp(v, want, 10))
			found = k;
	}
	close(fd);
	return found;
}

static int es_group(int leaf, uint32_t id, struct xevpn_nh_group *g)
{
	int fd = pinned(leaf, "xevpn_es_nh"), ifd, rc = -ENOENT;
	uint32_t inner, zero = 0;

	if (fd < 0)
		return fd;
	if (!bpf_map_lookup_elem(fd, &id, &inner) && (ifd = bpf_map_get_fd_by_id(inner)) >= 0) {
		rc = bpf_map_lookup_elem(ifd, &zero, g) ? -errno : 0;
		close(ifd);
	}
	close(fd);
	return rc;
}

static bool group_is(const struct xevpn_nh_group *g, const char *a, const char *b)
{
	uint32_t x = inet_addr(a), y = b ? inet_addr(b) : 0;
	unsigned n = b ? 2 : 1;
	bool hx = false, hy = !b;

	if (g->count != n)
		return false;
	for (unsigned i = 0; i < n; i++) {
		hx |= g->vtep[i] == x;
		hy |= b && g->vtep[i] == y;
	}
	return hx && hy;
}

static bool wait_group(int leaf, const char *a, const char *b, int timeout_ms, struct xevpn_nh_group *g)
{
	uint64_t end = xt_now_ms() + (uint64_t)timeout_ms;
	uint32_t id;

	do {
		if ((id = es_id(leaf)) && !es_group(leaf, id, g) && group_is(g, a, b))
			return true;
		xt_sleep_ms(50);
	} while (xt_now_ms() < end);
	return false;
}

static void logs(void)
{
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		if (xd[i].logfile[0])
			xt_dump_tail(xd[i].logfile, 25);
}

static bool wait_flag(int leaf, const char *flag, int timeout_ms)
{
	uint64_t end = xt_now_ms() + (uint64_t)timeout_ms;

	do {
		if (daemon_flag(leaf, flag))
			return true;
		xt_sleep_ms(100);
	} while (xt_now_ms() < end);
	return false;
}

static void setup(void)
{
	struct xt_fabric_opts o = { 0 };

	find_bins();
	cr_assert_eq(xt_fabric_create(&fab, &o), 0, "fabric topology");
	cr_assert_eq(xt_fabric_wait_bgp(&fab, 60000), 0, "BGP sessions to the RR");
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		char key[64];

		/* bpf_fib_lookup() toward a VTEP needs forwarding on the underlay port */
		snprintf(key, sizeof(key), "net/ipv4/conf/%s/forwarding", fab.leaf[i].uplink);
		cr_assert_eq(xt_sysctl(fab.leaf[i].ns, key, "1"), 0);
		write_conf(i);
		xd_start(i);
	}
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		if (!wait_flag(i, "converged", 30000)) {
			logs();
			cr_assert_fail("xevpnd on %s did not converge", fab.leaf[i].ns);
		}
}

static void teardown(void)
{
	if (getenv("XEVPN_CTL_LOGS"))
		logs();
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		if (xd[i].pid && !xd[i].exited)
			xt_proc_stop(&xd[i], 3000);
	memset(xd, 0, sizeof(xd));
	xt_fabric_destroy(&fab);
}

/* ping from host3 to the server: returns replies received (count sent). */
static int ping_start(struct xt_proc *p, int count, const char *interval)
{
	char cnt[16], *argv[] = { "/bin/busybox", "ping", "-q", "-c", cnt, "-i", (char *)interval,
				  "-W", "2", XT_FABRIC_SERVER_IP, NULL };

	static int seq;
	char log[XT_PATH_MAX];

	/* a fresh log per run: the summary line is parsed from it */
	snprintf(log, sizeof(log), "%s/ping-%d-%d.log", xt_state_dir(), (int)getpid(), ++seq);
	unlink(log);
	snprintf(cnt, sizeof(cnt), "%d", count);
	return xt_spawn(fab.host3.ns, "ping", argv, log, 0, p);
}

static int ping_wait(struct xt_proc *p, int timeout_ms, int *sent)
{
	uint64_t end = xt_now_ms() + (uint64_t)timeout_ms;
	char buf[4096] = "", *s;
	int tx = -1, rx = -1;
	FILE *f;

	while (xt_proc_alive(p) && xt_now_ms() < end)
		xt_sleep_ms(50);
	if (xt_proc_alive(p))
		xt_proc_kill(p);
	f = fopen(p->logfile, "r");
	if (f) {
		buf[fread(buf, 1, sizeof(buf) - 1, f)] = 0;
		fclose(f);
	}
	s = strstr(buf, "packets transmitted");
	if (s) {
		while (s > buf && s[-1] != '\n')
			s--;
		sscanf(s, "%d packets transmitted, %d packets received", &tx, &rx);
	}
	*sent = tx;
	return rx;
}

TestSuite(netns_ctl, .init = setup, .fini = teardown, .timeout = 240);

Test(netns_ctl, remote_es_group_shrinks_with_one_update)
{
	struct xevpn_nh_group g0, g1;
	struct xt_proc p = { 0 };
	char before[4096], after[4096];
	int sent, got;

	/* aliasing: leaf3 reaches the server's ES through both leaves */
	if (!wait_group(2, "192.0.2.1", "192.0.2.2", 20000, &g0)) {
		logs();
		cr_assert_fail("leaf3's ES group never held 192.0.2.1 and 192.0.2.2");
	}
	cr_assert_eq(ping_start(&p, 5, "0.2"), 0);
	got = ping_wait(&p, 15000, &sent);
	cr_assert_eq(got, 5, "host3 -> server through the overlay: %d/%d replies", got, sent);

	cr_assert_eq(ctl(2, "show fib", before, sizeof(before)), 0);
	cr_assert_eq(xt_fabric_es_link_set(&fab, 0, false), 0, "leaf1's ES port down");
	if (!wait_group(2, "192.0.2.2", NULL, 20000, &g1)) {
		logs();
		cr_assert_fail("leaf3's ES group did not shrink to 192.0.2.2");
	}
	xt_sleep_ms(1500);	/* let later withdrawals (ES route, per-EVI A-D) land */
	cr_assert_eq(es_group(2, es_id(2), &g1), 0);
	cr_assert(group_is(&g1, "192.0.2.2", NULL), "group stays {192.0.2.2}");
	cr_assert_eq(ctl(2, "show fib", after, sizeof(after)), 0);
	cr_assert_eq(g1.gen - g0.gen, 1, "exactly one next-hop group update (gen %u -> %u)", g0.gen,
		     g1.gen);
	cr_assert_eq(json_num(after, "es_nh_set") - json_num(before, "es_nh_set"), 1,
		     "xevpnd counted one group write: %s -> %s", before, after);
	cr_assert_eq(json_num(after, "fdb_set"), json_num(before, "fdb_set"),
		     "the server's MAC entries were not touched (they point at the ES)");

	/* still reachable through leaf2 */
	cr_assert_eq(ping_start(&p, 5, "0.2"), 0);
	got = ping_wait(&p, 15000, &sent);
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
		int fd = pinned(leaf, maps[m]);
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

	if (!wait_group(2, "192.0.2.1", "192.0.2.2", 20000, &g)) {
		logs();
		cr_assert_fail("leaf3's ES group never held both leaves");
	}
	/* learn both hosts, then let DF and flood lists settle */
	cr_assert_eq(ping_start(&p, 3, "0.2"), 0);
	got = ping_wait(&p, 15000, &sent);
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
	cr_assert_eq(ping_start(&p, 300, "0.02"), 0);
	xt_sleep_ms(500);
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		cr_assert_eq(xt_proc_kill(&xd[i]), 0);
		memset(&xd[i], 0, sizeof(xd[i]));
	}
	xt_sleep_ms(300);
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		xd_start(i);
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		if (!wait_flag(i, "reconciled", 20000)) {
			logs();
			cr_assert_fail("restarted xevpnd on %s did not reconcile", fab.leaf[i].ns);
		}
	got = ping_wait(&p, 30000, &sent);
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
