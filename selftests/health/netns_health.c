// SPDX-License-Identifier: GPL-2.0
/*
 * Heartbeat over real sockets: three nodes, each running xevpn-health (the
 * engine on its own libuv loop) in its own namespace, joined by veths into a
 * Linux bridge:
 *
 *   [n1] hb0 ---- p1 \
 *   [n2] hb0 ---- p2 -- br0 [sw]    (multicast snooping off)
 *   [n3] hb0 ---- p3 /
 *
 * The heartbeat interface name inside the nodes is $XEVPN_HEALTH_IFNAME
 * (default hb0), so the same suite can later run over a bvi port of the
 * xevpn dataplane. Event lines carry CLOCK_MONOTONIC ms, the same clock as
 * xt_now_ms(), so the suite measures detection against its own kill time.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netns.h"

#define NODES		3
#define INTERVAL_MS	100
#define TICK_MS		50
#define MISS		3
#define FENCE_MS	1000
#define K1		"6b6579206f6e652068657265"	/* "key one here" */
#define K2		"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
#define K3		"deadbeef"

static struct xt_proc procs[NODES];
static char bin[PATH_MAX];
static const char *ifname = "hb0";

static void find_bin(void)
{
	const char *dir = getenv("XEVPN_BIN");
	char self[PATH_MAX];
	ssize_t n;

	if (dir) {
		snprintf(bin, sizeof(bin), "%s/xevpn-health", dir);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		cr_assert_gt(n, 0);
		self[n] = 0;
		snprintf(bin, sizeof(bin), "%s/../xevpn-health", dirname(self));
	}
	cr_assert_eq(access(bin, X_OK), 0, "%s not built", bin);
}

static void topo(void)
{
	char ns[16], port[16];

	if (getenv("XEVPN_HEALTH_IFNAME"))
		ifname = getenv("XEVPN_HEALTH_IFNAME");
	find_bin();
	cr_assert_eq(xt_ns_create("sw"), 0);
	cr_assert_eq(xt_bridge("sw", "br0"), 0);
	cr_assert_eq(xt_link_up("sw", "br0"), 0);
	for (int i = 1; i <= NODES; i++) {
		snprintf(ns, sizeof(ns), "n%d", i);
		snprintf(port, sizeof(port), "p%d", i);
		cr_assert_eq(xt_ns_create(ns), 0);
		/* no DAD: the link-local source is usable at once */
		cr_assert_eq(xt_sysctl(ns, "net/ipv6/conf/all/accept_dad", "0"), 0);
		cr_assert_eq(xt_sysctl(ns, "net/ipv6/conf/default/accept_dad", "0"), 0);
		cr_assert_eq(xt_veth(ns, ifname, "sw", port), 0);
		cr_assert_eq(xt_link_master("sw", port, "br0"), 0);
		cr_assert_eq(xt_link_up("sw", port), 0);
		cr_assert_eq(xt_link_up(ns, ifname), 0);
	}
}

static void fini(void)
{
	/* the node logs go to the suite log: what each engine saw */
	for (int i = 0; i < NODES; i++)
		if (procs[i].pid)
			xt_dump_tail(procs[i].logfile, 40);
	xt_cleanup();
}

static const char *ctl_path(int node)
{
	static char p[NODES + 1][XT_PATH_MAX];

	snprintf(p[node], sizeof(p[node]), "%s/n%d.ctl", xt_state_dir(), node);
	return p[node];
}

static void start(int node, const char *key, unsigned miss, const char *extra)
{
	char ns[16], id[16], label[24], miss_s[16], interval[16], tick[16], fence[16];
	char *argv[32], log[XT_PATH_MAX];
	int a = 0;

	snprintf(ns, sizeof(ns), "n%d", node);
	snprintf(id, sizeof(id), "n%d", node);
	snprintf(label, sizeof(label), "health-n%d", node);
	snprintf(miss_s, sizeof(miss_s), "%u", miss);
	snprintf(interval, sizeof(interval), "%d", INTERVAL_MS);
	snprintf(tick, sizeof(tick), "%d", TICK_MS);
	snprintf(fence, sizeof(fence), "%d", FENCE_MS);
	argv[a++] = bin;
	argv[a++] = "--ifname"; argv[a++] = (char *)ifname;
	argv[a++] = "--group"; argv[a++] = "es-netns";
	argv[a++] = "--id"; argv[a++] = id;
	argv[a++] = "--key"; argv[a++] = (char *)key;
	argv[a++] = "--interval"; argv[a++] = interval;
	argv[a++] = "--tick"; argv[a++] = tick;
	argv[a++] = "--miss"; argv[a++] = miss_s;
	argv[a++] = "--rise"; argv[a++] = "2";
	argv[a++] = "--fall"; argv[a++] = "1";
	argv[a++] = "--fence"; argv[a++] = fence;
	argv[a++] = "--ctl"; argv[a++] = (char *)ctl_path(node);
	if (extra)
		argv[a++] = (char *)extra;
	argv[a] = NULL;
	unlink(ctl_path(node));
	/* logs are appended to: start each test with an empty one */
	snprintf(log, sizeof(log), "%s/logs/%s.log", xt_state_dir(), label);
	unlink(log);
	cr_assert_eq(xt_spawn(ns, label, argv, log, 0, &procs[node - 1]), 0);
}

/* Find the first line at or after byte offset *off in node's log that
 * contains every NUL-separated needle; returns its mono time (2nd field),
 * or 0 on timeout. *off moves past the line. */
static uint64_t wait_line(int node, size_t *off, int timeout_ms, const char *a, const char *b,
			  char *out, size_t outlen)
{
	uint64_t end = xt_now_ms() + (uint64_t)timeout_ms;
	size_t start = off ? *off : 0;

	do {
		FILE *f = fopen(procs[node - 1].logfile, "r");
		char line[1024];

		if (f) {
			fseek(f, (long)start, SEEK_SET);
			while (fgets(line, sizeof(line), f)) {
				unsigned long t = 0;
				char word[16];

				if (!strchr(line, '\n'))
					break;	/* partial line: read again later */
				start += strlen(line);
				if (!strstr(line, a) || (b && !strstr(line, b)))
					continue;
				/* only the tool's own records (stderr log lines
				 * repeat event names): "WORD <mono ms> ..." */
				if (sscanf(line, "%15s %lu", word, &t) != 2 || !t)
					continue;
				if (out)
					snprintf(out, outlen, "%s", line);
				if (off)
					*off = start;
				fclose(f);
				return t;
			}
			fclose(f);
		}
		xt_sleep_ms(20);
	} while (xt_now_ms() < end);
	return 0;
}

/* Like wait_line for lines without a time field; returns 1 when found. */
static int wait_line_raw(int node, size_t *off, int timeout_ms, const char *needle, char *out,
			 size_t outlen)
{
	uint64_t end = xt_now_ms() + (uint64_t)timeout_ms;

	do {
		FILE *f = fopen(procs[node - 1].logfile, "r");
		char line[1024];

		if (f) {
			fseek(f, (long)*off, SEEK_SET);
			while (fgets(line, sizeof(line), f) && strchr(line, '\n')) {
				*off += strlen(line);
				if (!strncmp(line, needle, strlen(needle))) {
					snprintf(out, outlen, "%s", line);
					fclose(f);
					return 1;
				}
			}
			fclose(f);
		}
		xt_sleep_ms(20);
	} while (xt_now_ms() < end);
	return 0;
}

static void ctl(int node, const char *cmd)
{
	uint64_t end = xt_now_ms() + 5000;
	char line[256];
	int n = snprintf(line, sizeof(line), "%s\n", cmd);
	int fd;

	while ((fd = open(ctl_path(node), O_WRONLY | O_NONBLOCK)) < 0 && xt_now_ms() < end)
		xt_sleep_ms(20);	/* the FIFO appears when the node has started */
	cr_assert_geq(fd, 0, "n%d ctl: %s", node, strerror(errno));
	cr_assert_eq(write(fd, line, (size_t)n), n);
	close(fd);
}

static size_t log_size(int node)
{
	FILE *f = fopen(procs[node - 1].logfile, "r");
	long n = 0;

	if (f) {
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fclose(f);
	}
	return (size_t)n;
}

/* All nodes have declared both others fit. */
static void wait_all_fit(void)
{
	for (int i = 1; i <= NODES; i++)
		for (int j = 1; j <= NODES; j++) {
			char peer[16];

			if (i == j)
				continue;
			snprintf(peer, sizeof(peer), "peer=n%d ", j);
			cr_assert(wait_line(i, NULL, 10000, "peer-fit", peer, NULL, 0),
				  "n%d never saw n%d fit", i, j);
		}
}

/* Parse "key=value" from a STATS line. */
static unsigned long stat_val(const char *line, const char *key)
{
	char k[48];
	const char *p;

	snprintf(k, sizeof(k), " %s=", key);
	p = strstr(line, k);
	cr_assert_not_null(p, "no %s in %s", key, line);
	return strtoul(p + strlen(k), NULL, 10);
}

static unsigned long stats(int node, const char *key, char *line, size_t len)
{
	size_t off = log_size(node);

	ctl(node, "stats");
	cr_assert(wait_line(node, &off, 5000, "STATS ", NULL, line, len), "n%d: no stats", node);
	return key ? stat_val(line, key) : 0;
}

static unsigned long rejected(const char *line)
{
	static const char *const reasons[] = {
		"short", "long", "bad-magic", "bad-version", "no-key", "bad-sig",
		"bad-field", "replay", "stale-boot", "self", "peer-limit",
	};
	char k[40];
	unsigned long n = 0;

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		snprintf(k, sizeof(k), "drop.%s", reasons[i]);
		n += stat_val(line, k);
	}
	return n;
}

/* beats=N of `peer` in node's "peers" output */
static unsigned long peer_beats(int node, const char *peer)
{
	char want[32], line[1024];
	size_t off = log_size(node);

	snprintf(want, sizeof(want), "PEER id=%s ", peer);
	ctl(node, "peers");
	cr_assert(wait_line_raw(node, &off, 5000, want, line, sizeof(line)), "n%d: no peer %s", node, peer);
	return stat_val(line, "beats");
}

TestSuite(netns_health, .init = topo, .fini = fini, .timeout = 120);

Test(netns_health, peer_down_within_miss_intervals_plus_tick)
{
	uint64_t kill_at, down[2], worst = 0;
	char line[1024];

	for (int i = 1; i <= NODES; i++)
		start(i, K1, MISS, NULL);
	wait_all_fit();
	kill_at = xt_now_ms();
	cr_assert_eq(xt_proc_kill(&procs[2]), 0);
	for (int i = 1; i <= 2; i++) {
		down[i - 1] = wait_line(i, NULL, 5000, "peer-down", "peer=n3 ", NULL, 0);
		cr_assert(down[i - 1], "n%d never declared n3 down", i);
		cr_assert(wait_line(i, NULL, 1000, "peer-unfit", "peer=n3 ", line, sizeof(line)));
		cr_assert(strstr(line, "takeover_ok=1"), "n%d may take over: %s", i, line);
		if (down[i - 1] - kill_at > worst)
			worst = down[i - 1] - kill_at;
		/* the last beat left at most one interval before the kill */
		cr_assert_geq(down[i - 1] - kill_at, (MISS - 1) * INTERVAL_MS,
			      "n%d: down after %lu ms, too early", i, down[i - 1] - kill_at);
	}
	printf("RESULT engine_peer_down_detect_ms %lu ms interval=%d miss=%d tick=%d\n",
	       (unsigned long)worst, INTERVAL_MS, MISS, TICK_MS);
	/* bound miss x interval + one tick, plus 100 ms for a loaded 2-CPU host */
	cr_assert_leq(worst, MISS * INTERVAL_MS + TICK_MS + 100,
		      "detected after %lu ms, bound %d", worst, MISS * INTERVAL_MS + TICK_MS);
	/* the survivors still see each other */
	cr_assert_eq(wait_line(1, NULL, 0, "peer-down", "peer=n2 ", NULL, 0), 0);
}

Test(netns_health, key_rotation_no_beat_rejected)
{
	static const char *const steps[] = { "keys " K1 "," K2, "keys " K2 "," K1, "keys " K2 };
	unsigned long total = 0, rx_before[NODES], rx_after;
	size_t off[NODES];
	char line[1024];

	/* miss 10: a scheduling stall on a busy host must not pass for a loss */
	for (int i = 1; i <= NODES; i++)
		start(i, K1, 10, NULL);
	wait_all_fit();
	for (int i = 1; i <= NODES; i++) {
		rx_before[i - 1] = stats(i, "rx_ok", line, sizeof(line));
		cr_assert_eq(rejected(line), 0, "n%d rejected beats before rotation: %s", i, line);
		off[i - 1] = log_size(i);
	}
	for (size_t s = 0; s < 3; s++) {
		for (int i = 1; i <= NODES; i++) {
			ctl(i, steps[s]);
			xt_sleep_ms(200);
		}
		xt_sleep_ms(800);
	}
	for (int i = 1; i <= NODES; i++) {
		rx_after = stats(i, "rx_ok", line, sizeof(line));
		total += rejected(line);
		/* two peers, 10 beats/s each, for ~5 s */
		cr_assert_gt(rx_after - rx_before[i - 1], 40, "n%d heard %lu beats", i,
			     rx_after - rx_before[i - 1]);
		cr_assert_eq(wait_line(i, &off[i - 1], 0, "peer-down", NULL, NULL, 0), 0,
			     "n%d saw a peer down during rotation", i);
	}
	printf("RESULT engine_rotation_beats_rejected %lu\n", total);
	cr_assert_eq(total, 0);

	/* the same counters catch a node on a key nobody else has */
	ctl(3, "keys " K3);
	xt_sleep_ms(500);
	cr_assert_gt(stats(1, "drop.bad-sig", line, sizeof(line)), 0);
}

Test(netns_health, socket_follows_interface)
{
	size_t off1, off2;
	char line[1024];
	int old_idx, new_idx;

	for (int i = 1; i <= NODES; i++)
		start(i, K1, MISS, NULL);
	wait_all_fit();

	/* link down: n1 stops beating, peers declare it down; up: back */
	off2 = log_size(2);
	cr_assert_eq(xt_link_down("n1", ifname), 0);
	cr_assert(wait_line(2, &off2, 5000, "peer-down", "peer=n1 ", NULL, 0));
	cr_assert_eq(xt_link_up("n1", ifname), 0);
	cr_assert(wait_line(2, &off2, 5000, "peer-up", "peer=n1 ", NULL, 0), "n1 back after up");
	cr_assert_geq(stats(1, "sock_rebuilds", line, sizeof(line)), 2);

	/* new ifindex: the link is recreated under the same name */
	old_idx = xt_ifindex("n1", ifname);
	cr_assert_gt(old_idx, 0);
	cr_assert_eq(xt_ip("n1", "link del %s", ifname), 0);
	cr_assert_eq(xt_veth("n1", ifname, "sw", "p1"), 0);
	cr_assert_eq(xt_link_master("sw", "p1", "br0"), 0);
	cr_assert_eq(xt_link_up("sw", "p1"), 0);
	cr_assert_eq(xt_link_up("n1", ifname), 0);
	new_idx = xt_ifindex("n1", ifname);
	cr_assert_neq(new_idx, old_idx);
	off1 = 0;
	char want[32];
	snprintf(want, sizeof(want), "ifindex=%d up=1", new_idx);
	cr_assert(wait_line(1, &off1, 5000, "IFACE", want, NULL, 0), "n1 saw the new ifindex");
	cr_assert_geq(stats(1, "sock_rebuilds", line, sizeof(line)), 3);
	/* n2 keeps receiving n1's beats sent from the new socket */
	unsigned long b0 = peer_beats(2, "n1"), r0 = peer_beats(1, "n2");
	xt_sleep_ms(1000);
	unsigned long b1 = peer_beats(2, "n1"), r1 = peer_beats(1, "n2");
	cr_assert_geq(b1 - b0, 5, "n2 got %lu beats from n1 in 1 s on the new ifindex", b1 - b0);
	cr_assert_geq(r1 - r0, 5, "n1 got %lu beats from n2 in 1 s on the new ifindex", r1 - r0);
}

/* Isolation = speaker lost AND underlay cut: fence after the deadline, and
 * only then (speaker lost alone, with peers heard, fences nothing). */
Test(netns_health, self_fence_on_isolation_only)
{
	uint64_t cut_at, fire;
	size_t off1;
	char line[1024];

	for (int i = 1; i <= NODES; i++)
		start(i, K1, MISS, NULL);
	wait_all_fit();
	off1 = log_size(1);
	ctl(1, "speaker down");
	xt_sleep_ms(FENCE_MS + 500);
	cr_assert_eq(wait_line(1, &off1, 0, "fence-", NULL, NULL, 0), 0,
		     "speaker lost but peers heard: no fence");

	/* cut n1's underlay: its bridge port leaves the bridge, carrier stays */
	cut_at = xt_now_ms();
	cr_assert_eq(xt_ip("sw", "link set dev p1 nomaster"), 0);
	cr_assert(wait_line(1, &off1, 5000, "fence-armed", NULL, line, sizeof(line)));
	fire = wait_line(1, &off1, 5000, "fence-fire", NULL, NULL, 0);
	cr_assert(fire, "n1 fenced");
	printf("RESULT engine_self_fence_after_ms %lu ms fence=%d interval=%d miss=%d\n",
	       (unsigned long)(fire - cut_at), FENCE_MS, INTERVAL_MS, MISS);
	/* the last beat heard was at most one interval before the cut */
	cr_assert_geq(fire - cut_at, FENCE_MS - INTERVAL_MS);
	cr_assert_leq(fire - cut_at, FENCE_MS + TICK_MS + 100);
	for (int i = 2; i <= NODES; i++)
		cr_assert_eq(wait_line(i, NULL, 0, "fence-", NULL, NULL, 0), 0,
			     "n%d has its speaker: never fences", i);

	/* underlay back: the fence clears on the first beat heard */
	cr_assert_eq(xt_link_master("sw", "p1", "br0"), 0);
	cr_assert(wait_line(1, &off1, 5000, "fence-cleared", "cause=beat", NULL, 0));
}
