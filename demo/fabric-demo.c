// SPDX-License-Identifier: GPL-2.0
/*
 * make demo: the 3-leaf EVPN fabric of DESIGN.md in network namespaces,
 * all-active multi-homing shown live, then a failover and a restore.
 *
 *                    [rr] gobgpd route reflector
 *                      |
 *   [ul] br0 ---+--- [leaf1 xevpnd] acc0 ---- nic0 \
 *               +--- [leaf2 xevpnd] acc0 ---- nic1 -+- lag0 [server] 198.51.100.10
 *               +--- [leaf3 xevpnd] acc0 ---- eth0      [host3]  198.51.100.30
 *
 * Every leaf also runs the authenticated heartbeat through the overlay (a
 * beat every 100 ms; a leaf silent for 3 beats is dead): the last step kills
 * leaf2 like a box losing power and shows leaf1 and leaf3 acting on the
 * missing beats long before BGP's hold timer.
 *
 * Usage: fabric-demo [--hold] [--rate PPS]
 *   --hold   bring the fabric up, print how to look around, wait for Ctrl-C
 * Everything lives under the run prefix (namespaces <prefix>-*); it is torn
 * down on exit and on Ctrl-C, and `selftests/sweep <prefix>` removes what a
 * killed demo left behind.
 */
#include <getopt.h>
#include <linux/types.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../selftests/fabric-lag/lag.h"
#include "../selftests/fabric/fabnet.h"
#include "../selftests/fabric/traffic.h"

static struct fn fab;
static unsigned int rate = 5000;
static bool color;
static uint64_t t_start;


static void banner(const char *step, const char *text)
{
	printf("\n%s %s\n", color ? "\033[1;36m==>\033[0m" : "==>", step);
	if (text && *text)
		printf("    %s\n", text);
	fflush(stdout);
}

struct live {
	struct tr_stream *in, *out;     /* host3->server, server->host3 */
	uint64_t lag[LAG_CNT_MAX];
	uint64_t uniq_in, uniq_out;
	uint64_t t;
};

static int live_start(struct live *l)
{
	struct tr_opts o = { .flows = 64, .rate_pps = rate, .max_seconds = 120 };
	int err;

	memset(l, 0, sizeof(*l));
	o.src_ns = fab.x.host3.ns, o.src_ip = fab.x.host3.ip;
	o.dst_ns = fab.x.server.ns, o.dst_ip = fab.x.server.ip, o.dst_port = 9000;
	if ((err = tr_start(&l->in, &o))) {
		fprintf(stderr, "demo: stream host3->server: %s\n", strerror(-err));
		return err;
	}
	o.src_ns = fab.x.server.ns, o.src_ip = fab.x.server.ip;
	o.dst_ns = fab.x.host3.ns, o.dst_ip = fab.x.host3.ip, o.dst_port = 9001;
	if ((err = tr_start(&l->out, &o))) {
		fprintf(stderr, "demo: stream server->host3: %s\n", strerror(-err));
		tr_stop(l->in, 0, NULL);
		return err;
	}
	xt_fabric_lag_counters(&fab.x, l->lag, LAG_CNT_MAX);
	l->t = xt_now_ms();
	printf("    %6s  %-21s  %-21s  %-21s\n", "", "nic0 <-> leaf1", "nic1 <-> leaf2",
	       "delivered");
	printf("    %6s  %10s %10s  %10s %10s  %10s %10s\n", "t (s)", "rx pps", "tx pps",
	       "rx pps", "tx pps", "to server", "to host3");
	fflush(stdout);
	return 0;
}

/* One table row: per-link rates from the server's LAG counters (rx = from
 * the leaf, tx = toward it), delivered rates from the streams. */
static void live_row(struct live *l, const char *note)
{
	uint64_t c[LAG_CNT_MAX], ui, uo, now = xt_now_ms();
	double dt = (double)(now - l->t) / 1000.0;

	if (dt <= 0.001)
		dt = 0.001;
	xt_fabric_lag_counters(&fab.x, c, LAG_CNT_MAX);
	tr_peek(l->in, NULL, &ui, NULL);
	tr_peek(l->out, NULL, &uo, NULL);
#define R(x, y) ((double)((x) - (y)) / dt)
	printf("    %6.1f  %10.0f %10.0f  %10.0f %10.0f  %10.0f %10.0f  %s\n",
	       (double)(now - t_start) / 1000.0, R(c[LAG_RX0], l->lag[LAG_RX0]),
	       R(c[LAG_TX0], l->lag[LAG_TX0]), R(c[LAG_RX1], l->lag[LAG_RX1]),
	       R(c[LAG_TX1], l->lag[LAG_TX1]), R(ui, l->uniq_in), R(uo, l->uniq_out),
	       note ? note : "");
#undef R
	fflush(stdout);
	memcpy(l->lag, c, sizeof(c));
	l->uniq_in = ui, l->uniq_out = uo;
	l->t = now;
}

static void live_event(const char *note)
{
	printf("    %6.1f  %s\n", (double)(xt_now_ms() - t_start) / 1000.0, note);
	fflush(stdout);
}

static void live_rows(struct live *l, int n)
{
	for (int i = 0; i < n; i++) {
		xt_sleep_ms(1000);
		live_row(l, NULL);
	}
}

static void live_stop(struct live *l, const char *what)
{
	struct tr_stats in, out;

	tr_stop(l->in, 300, &in);
	tr_stop(l->out, 300, &out);
	printf("    %s: host3 -> server lost %llu of %llu (%.1f ms worth), "
	       "server -> host3 lost %llu of %llu (%.1f ms worth), duplicates %llu\n",
	       what, (unsigned long long)in.lost, (unsigned long long)in.sent, in.lost_ms,
	       (unsigned long long)out.lost, (unsigned long long)out.sent, out.lost_ms,
	       (unsigned long long)(in.duplicates + out.duplicates));
	fflush(stdout);
}

static const char *group_str(char *buf, size_t len, const struct xevpn_nh_group *g)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < g->count && i < XEVPN_MAX_ES_VTEPS; i++) {
		int leaf = fn_vtep_leaf(g->vtep[i]);

		o += (size_t)snprintf(buf + o, len > o ? len - o : 0, "%sleaf%d", i ? "+" : "",
				      leaf + 1);
	}
	return buf;
}

/* Table rows every `step` ms until leaf3's ES group holds `want` VTEPs. */
static int rows_until_group(struct live *l, uint32_t es_id, unsigned int want, int timeout_ms,
			    uint64_t *at)
{
	uint64_t end = xt_now_ms() + (uint64_t)timeout_ms, next = xt_now_ms() + 1000;
	struct xevpn_nh_group g;
	char buf[64], note[96];

	for (;;) {
		if (!fn_es_group_by_id(&fab, 2, es_id, &g) && g.count == want) {
			*at = xt_now_ms();
			snprintf(note, sizeof(note), "-> leaf3's ES group is now {%s}",
				 group_str(buf, sizeof(buf), &g));
			live_event(note);
			return 0;
		}
		if (xt_now_ms() >= end)
			return -1;
		if (xt_now_ms() >= next) {
			live_row(l, NULL);
			next += 1000;
		}
		xt_sleep_ms(2);
	}
}

/* `xevpnctl <cmd>` on a leaf, indented. */
static void show_ctl(int leaf, const char *cmd)
{
	static char out[16384];
	int rc = fn_ctl(&fab, leaf, false, cmd, out, sizeof(out));

	printf("    %s$ xevpnctl %s%s\n", color ? "\033[2m" : "", cmd, color ? "\033[0m" : "");
	if (rc) {
		printf("      (xevpnctl on %s failed: %s)\n", fab.x.leaf[leaf].ns,
		       rc < 0 ? strerror(-rc) : "exit status");
		return;
	}
	for (char *save = NULL, *line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		printf("      %s\n", line);
	fflush(stdout);
}

/* leaf2 as a box that loses power: links first (no BGP NOTIFICATION, no
 * TCP FIN reach anyone), then its processes. */
static void leaf2_power_off(void)
{
	xt_link_down(fab.x.leaf[1].ns, fab.x.leaf[1].uplink);
	xt_fabric_lag_member_set(&fab.x, 1, false);
	xt_link_down(fab.x.leaf[1].ns, fab.x.leaf[1].access);
	fn_xevpnd_kill(&fab, 1);
	xt_proc_kill(&fab.x.leaf[1].bgp.proc);
}

static void hold_until_signal(void)
{
	sigset_t set;
	int sig;

	printf("\n    The fabric stays up until Ctrl-C. Look around, for example:\n"
	       "      ip netns list | grep %s\n"
	       "      ip netns exec %s ping -c3 %s\n"
	       "      bpftool map dump pinned %s/xevpn_es_nh\n"
	       "      logs: %s/logs/\n",
	       xt_prefix(), fab.x.host3.netns, fab.x.server.ip, fab.pins[2], xt_state_dir());
	fflush(stdout);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigwait(&set, &sig);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fabric-demo [--hold] [--rate PPS]\n"
		   "  --hold       bring the fabric up and keep it until Ctrl-C\n"
		   "  --rate PPS   UDP datagrams per second in each direction (default 5000)\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "hold", no_argument, NULL, 'H' },
					    { "rate", required_argument, NULL, 'r' },
					    { "help", no_argument, NULL, 'h' },
					    { NULL, 0, NULL, 0 } };
	struct fn_opts o = { 0 };
	struct xevpn_nh_group g;
	struct live l;
	uint32_t es_id;
	uint64_t t0, t1;
	bool hold = false;
	char buf[64];
	int c, err;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'H':
			hold = true;
			break;
		case 'r':
			rate = (unsigned int)strtoul(optarg, NULL, 10);
			if (rate < 100 || rate > 50000) {
				fprintf(stderr, "fabric-demo: --rate between 100 and 50000\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (geteuid() != 0) {
		fprintf(stderr, "fabric-demo: needs root (network namespaces, BPF)\n");
		return 1;
	}
	color = isatty(STDOUT_FILENO);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Ctrl-C and SIGTERM tear the fabric down (xt_init installs the handlers) */
	if ((err = xt_init()))
		return 1;
	t_start = xt_now_ms();

	banner("Bringing up the fabric",
	       "route reflector + 3 leaves (gobgpd + xevpnd + XDP/TC dataplane), a dual-homed "
	       "server on ESI 00:11:22:33:44:55:00:00:00:01, a single-homed host3");
	if ((err = fn_up(&fab, &o, 120000))) {
		fprintf(stderr, "\nfabric-demo: the fabric did not come up (%s); logs above.\n",
			strerror(-err));
		xt_cleanup();
		return 1;
	}
	if (fn_es_group(&fab, 2, &es_id, &g)) {
		fprintf(stderr, "fabric-demo: leaf3 has no ES group\n");
		fn_down(&fab);
		xt_cleanup();
		return 1;
	}
	printf("    leaf3 reaches the server's ESI through {%s} (aliasing)\n",
	       group_str(buf, sizeof(buf), &g));
	if (hold) {
		hold_until_signal();
		goto out;
	}

	banner("Heartbeat",
	       "each leaf beats every 100 ms over IPv6 link-local multicast through the overlay "
	       "itself (hb0 -> XDP -> TC replication -> VXLAN), HMAC-signed; leaf3's view:");
	show_ctl(2, "show health");

	banner("Active/active", "64 UDP flows each way, both server links carry traffic");
	if (live_start(&l))
		goto out;
	live_rows(&l, 4);
	live_stop(&l, "steady state");

	banner("Failing leaf1's server link",
	       "leaf1 reroutes over VXLAN to leaf2 at once; leaf3 drops leaf1 from the ES group "
	       "on the per-ES A-D withdraw");
	if (live_start(&l))
		goto out;
	live_rows(&l, 2);
	t0 = xt_now_ms();
	xt_fabric_es_link_set(&fab.x, 0, false);
	live_event("-> server link nic0 <-> leaf1 acc0 down");
	if (rows_until_group(&l, es_id, 1, 20000, &t1))
		printf("    leaf3's ES group did not shrink within 20 s\n");
	else
		printf("    leaf3 updated its ES group %llu ms after the link went down\n",
		       (unsigned long long)(t1 - t0));
	live_rows(&l, 2);
	live_stop(&l, "failover");

	banner("Restoring the link",
	       "leaf1 holds the ES port until BGP has converged (startup hold), then "
	       "re-advertises; the server's LAG re-adds the link once leaf1 forwards");
	if (live_start(&l))
		goto out;
	live_rows(&l, 1);
	t0 = xt_now_ms();
	xt_link_up(fab.x.server.ns, fab.x.server.nic[0]);
	live_event("-> server link nic0 <-> leaf1 acc0 up");
	if (rows_until_group(&l, es_id, 2, (int)fab.o.startup_hold_ms + 30000, &t1)) {
		printf("    leaf1 did not rejoin leaf3's ES group within the hold + 30 s\n");
	} else {
		printf("    leaf1 back in leaf3's ES group after %llu ms\n",
		       (unsigned long long)(t1 - t0));
		xt_fabric_lag_member_set(&fab.x, 0, true);
		live_event("-> the server's LAG uses nic0 again");
	}
	live_rows(&l, 3);
	live_stop(&l, "restore");

	if (fn_es_group_by_id(&fab, 2, es_id, &g) || g.count != 2)
		goto out;
	banner("Killing leaf2 entirely",
	       "uplink, server link, xevpnd and gobgpd go at once, like a power loss: BGP "
	       "would notice after its hold time (9 s); leaf1 and leaf3 act on the missing beats");
	if (live_start(&l))
		goto out;
	live_rows(&l, 2);
	t0 = xt_now_ms();
	leaf2_power_off();
	live_event("-> leaf2 powered off");
	if (rows_until_group(&l, es_id, 1, 20000, &t1))
		printf("    leaf3's ES group did not shrink within 20 s\n");
	else
		printf("    leaf3 pruned leaf2 %llu ms after it died (heartbeat: 3 missed beats "
		       "of 100 ms, then 3 unfit samples)\n",
		       (unsigned long long)(t1 - t0));
	live_rows(&l, 2);
	live_stop(&l, "leaf failure");
	show_ctl(2, "show health");

out:
	banner("Tearing down", NULL);
	fn_down(&fab);
	xt_cleanup();
	printf("    done in %.0f s\n", (double)(xt_now_ms() - t_start) / 1000.0);
	return 0;
}
