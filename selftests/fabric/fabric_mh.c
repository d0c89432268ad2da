// SPDX-License-Identifier: GPL-2.0
/*
 * Multi-homing behaviour of the whole product, as a user sees it:
 *
 *                    [rr] gobgpd route reflector
 *                      |
 *   [ul] br0 ---+--- [leaf1 xevpnd+gobgpd] acc0 ---- nic0 \
 *               +--- [leaf2 xevpnd+gobgpd] acc0 ---- nic1 -+- lag0 [server] 198.51.100.10
 *               +--- [leaf3 xevpnd+gobgpd] acc0 ---- eth0      [host3]  198.51.100.30
 *       ESI 00:11:22:33:44:55:00:00:00:01 on leaf1/leaf2 acc0, VNIs 100..107
 *
 * One test per behaviour, each on a fabric of its own: Criterion runs every
 * test in a fresh process, and four of the six tests break the fabric on
 * purpose (link down, leaf killed, controller killed), so sharing one would
 * make every result depend on the order and the health of the previous
 * test. A fabric comes up in ~20 s, which keeps the suite near 3 minutes.
 *
 * Every leaf runs the authenticated heartbeat through the overlay (fabnet.h:
 * beats every 100 ms, dead after 3 missed, fall 3): a dead leaf is pruned
 * from leaf3's ES group and loses its DF role in well under a second, long
 * before BGP's hold timer; a link-down is not a dead peer and keeps the
 * BGP-driven behaviour (ES withdraw, DF election).
 *
 * Traffic is plain UDP from sockets inside the host namespaces (traffic.h),
 * 64 flows at a constant 10 kpps per direction, with sequence numbers: loss
 * and duplicates are counted per datagram, not estimated.
 *
 * The server's LAG plays the part of LACP: a member the leaf has taken out
 * of service (link down) is removed at once, and a restored link rejoins
 * only once its leaf forwards on the ES again (after the startup hold), as
 * a LACP partner rejoins when the port goes collecting/distributing.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>

#include "../fabric-lag/lag.h"
#include "fabnet.h"
#include "traffic.h"

#define RATE_PPS       10000
#define FLOWS          64
#define PORT_TO_SERVER 9000
#define PORT_TO_HOST3  9001
#define ES_LOSS_MAX_MS 10.0
#define MIN_SHARE_PCT  25.0

static struct fn fab;

/* ---------- results: RESULT lines now, a table at the end ---------- */

static void results_path(char *p, size_t len)
{
	const char *run = getenv("XEVPN_TEST_RUN");

	snprintf(p, len, "/tmp/fabric_mh-%s.results", run ? run : "norun");
}

static void result(const char *name, double v, const char *unit, const char *limit)
{
	char path[256];
	FILE *fp;

	printf("RESULT %s %.*f %s\n", name, v == (long long)v ? 0 : 2, v, unit);
	fflush(stdout);
	results_path(path, sizeof(path));
	fp = fopen(path, "a");
	if (fp) {
		fprintf(fp, "%s %.*f %s %s\n", name, v == (long long)v ? 0 : 2, v, unit, limit);
		fclose(fp);
	}
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	char path[256], run[32];

	(void)set;
	/* one run prefix for every test process, so the table finds them */
	if (!getenv("XEVPN_TEST_RUN")) {
		snprintf(run, sizeof(run), "xt%d", (int)getpid());
		setenv("XEVPN_TEST_RUN", run, 1);
	}
	results_path(path, sizeof(path));
	unlink(path);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	char path[256], line[256];
	FILE *fp;

	(void)stats;
	results_path(path, sizeof(path));
	fp = fopen(path, "r");
	printf("\nfabric_mh measurements\n%-26s %12s %-5s %s\n", "name", "value", "unit",
	       "bound");
	while (fp && fgets(line, sizeof(line), fp)) {
		char name[64], val[32], unit[16], limit[64] = "";

		if (sscanf(line, "%63s %31s %15s %63[^\n]", name, val, unit, limit) >= 3)
			printf("%-26s %12s %-5s %s\n", name, val, unit, limit);
	}
	if (fp)
		fclose(fp);
	fflush(stdout);
	unlink(path);
}

/* ---------- fixtures ---------- */

static void setup(void)
{
	cr_assert_eq(xt_init(), 0);
}

static void teardown(void)
{
	if (fab.up) {
		fn_print_counters(&fab);
		for (int i = 0; i < XT_FABRIC_LEAVES; i++)
			if (fab.xevpnd[i].pid && !fn_xevpnd_alive(&fab, i))
				fn_xevpnd_log_tail(&fab, i, 20);
	}
	fn_down(&fab);
	xt_cleanup();
}

TestSuite(fabric_mh, .init = setup, .fini = teardown, .timeout = 240);

static void up(const struct fn_opts *o)
{
	int err = fn_up(&fab, o, 120000);

	cr_assert_eq(err, 0, "fabric up and converged (%s)", strerror(-err));
}

static struct tr_stream *stream(bool to_server, int flows, unsigned int rate, uint64_t count)
{
	struct tr_opts o = {
		.src_ns = to_server ? fab.x.host3.ns : fab.x.server.ns,
		.src_ip = to_server ? fab.x.host3.ip : fab.x.server.ip,
		.dst_ns = to_server ? fab.x.server.ns : fab.x.host3.ns,
		.dst_ip = to_server ? fab.x.server.ip : fab.x.host3.ip,
		.flows = flows, .rate_pps = rate, .count = count,
		.dst_port = to_server ? PORT_TO_SERVER : PORT_TO_HOST3,
		.max_seconds = 90,
	};
	struct tr_stream *s = NULL;
	int err = tr_start(&s, &o);

	cr_assert_eq(err, 0, "stream %s starts (%s)", to_server ? "host3->server" : "server->host3",
		     strerror(-err));
	return s;
}

static void lag(uint64_t c[LAG_CNT_MAX])
{
	cr_assert_eq(xt_fabric_lag_counters(&fab.x, c, LAG_CNT_MAX), 0);
}

static uint64_t ctr(int leaf, enum xevpn_ctr c)
{
	uint64_t v = 0;

	cr_assert_eq(fn_counter(&fab, leaf, c, &v), 0, "leaf%d counters readable", leaf + 1);
	return v;
}

static void wait_sent(struct tr_stream *s, int timeout_ms)
{
	uint64_t end = xt_now_ms() + (uint64_t)timeout_ms;

	while (!tr_done(s) && xt_now_ms() < end)
		xt_sleep_ms(20);
}

/* Poll leaf3's ES group until it holds `want` VTEPs; returns the group. */
static int wait_group(uint32_t es_id, unsigned int want, int timeout_ms, struct xevpn_nh_group *g)
{
	uint64_t end = xt_now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		if (!fn_es_group_by_id(&fab, 2, es_id, g) && g->count == want)
			return 0;
		if (xt_now_ms() >= end)
			return -ETIMEDOUT;
		xt_sleep_ms(1);
	}
}

/* ---------- 1. active/active ---------- */

Test(fabric_mh, active_active_aliasing)
{
	uint64_t l0[LAG_CNT_MAX], l1[LAG_CNT_MAX], es0, es1;
	struct tr_stats in, out;
	struct tr_stream *a, *b;

	up(NULL);
	lag(l0);
	es0 = ctr(2, XEVPN_CTR_ENCAP_ES);
	a = stream(true, FLOWS, RATE_PPS, 2 * RATE_PPS);
	b = stream(false, FLOWS, RATE_PPS, 2 * RATE_PPS);
	wait_sent(a, 10000);
	wait_sent(b, 10000);
	tr_stop(a, 300, &in);
	tr_stop(b, 300, &out);
	lag(l1);
	es1 = ctr(2, XEVPN_CTR_ENCAP_ES);
	tr_print("host3->server", &in);
	tr_print("server->host3", &out);

	/* host3 -> server: what leaf1 and leaf2 delivered on nic0 / nic1 */
	double rx0 = (double)(l1[LAG_RX0] - l0[LAG_RX0]), rx1 = (double)(l1[LAG_RX1] - l0[LAG_RX1]);
	double tx0 = (double)(l1[LAG_TX0] - l0[LAG_TX0]), tx1 = (double)(l1[LAG_TX1] - l0[LAG_TX1]);
	double in_share = rx0 + rx1 > 0 ? 100.0 * (rx0 < rx1 ? rx0 : rx1) / (rx0 + rx1) : 0;
	double out_share = tx0 + tx1 > 0 ? 100.0 * (tx0 < tx1 ? tx0 : tx1) / (tx0 + tx1) : 0;

	printf("  leaf3 -> server: via leaf1 %.0f, via leaf2 %.0f frames (min share %.1f%%); "
	       "leaf3 encap_es +%llu\n  server -> host3: nic0 %.0f, nic1 %.0f (min share %.1f%%)\n",
	       rx0, rx1, in_share, (unsigned long long)(es1 - es0), tx0, tx1, out_share);
	result("aliasing_min_share_pct", in_share, "%", ">= 25");

	cr_expect_eq(in.lost, 0, "host3->server lost %llu", (unsigned long long)in.lost);
	cr_expect_eq(out.lost, 0, "server->host3 lost %llu", (unsigned long long)out.lost);
	cr_expect_eq(in.duplicates + out.duplicates, 0, "no duplicates");
	cr_expect_geq(es1 - es0, in.sent, "leaf3 sent the stream through the ES group (aliasing)");
	cr_expect_geq(in_share, MIN_SHARE_PCT, "leaf3 spreads over leaf1 and leaf2");
	cr_expect_geq(out_share, MIN_SHARE_PCT, "the server's flows use both links");
}

/* ---------- 2. BUM exactly once ---------- */

struct bum_case {
	const char *what;
	bool from_host3;
	const char *dst_ip;          /* broadcast, or an address of an unknown MAC */
	const char *unknown_mac;     /* NULL: broadcast */
	uint16_t port;
};

static uint64_t bum_run(const struct bum_case *c)
{
	const char *src_ns = c->from_host3 ? fab.x.host3.ns : fab.x.server.ns;
	struct tr_tap_dev srv[2] = { { fab.x.server.ns, fab.x.server.nic[0] },
				     { fab.x.server.ns, fab.x.server.nic[1] } };
	struct tr_tap_dev h3[1] = { { fab.x.host3.ns, fab.x.host3.ifname } };
	struct tr_tap *tsrv, *th3;
	struct tr_tap_stats ssrv, sh3;
	struct tr_stats st;
	struct tr_stream *s = NULL;
	const uint64_t n = 400;
	struct tr_opts o = {
		.src_ns = src_ns, .src_ip = c->from_host3 ? fab.x.host3.ip : fab.x.server.ip,
		.dst_ns = c->from_host3 ? fab.x.server.ns : fab.x.host3.ns,
		.dst_ip = c->dst_ip, .bind_ip = "0.0.0.0",
		.flows = 8, .rate_pps = 2000, .count = n, .dst_port = c->port,
		.broadcast = !c->unknown_mac,
	};

	if (c->unknown_mac)
		cr_assert_eq(xt_ip(src_ns, "neigh replace %s lladdr %s dev %s nud permanent",
				   c->dst_ip, c->unknown_mac,
				   c->from_host3 ? fab.x.host3.ifname : fab.x.server.lag), 0);
	cr_assert_eq(tr_tap_open(&tsrv, srv, 2, c->port), 0);
	cr_assert_eq(tr_tap_open(&th3, h3, 1, c->port), 0);
	cr_assert_eq(tr_start(&s, &o), 0, "%s stream", c->what);
	wait_sent(s, 10000);
	tr_stop(s, 400, &st);
	tr_tap_close(tsrv, 0, &ssrv);
	tr_tap_close(th3, 0, &sh3);

	struct tr_tap_stats *far = c->from_host3 ? &ssrv : &sh3;   /* should get it once */
	struct tr_tap_stats *near = c->from_host3 ? &sh3 : &ssrv;  /* must never see it */

	printf("  %-34s sent %llu: far side %llu frames (%llu unique, %llu dup; nic0 %llu nic1 "
	       "%llu), back at the sender %llu\n",
	       c->what, (unsigned long long)st.sent, (unsigned long long)far->frames,
	       (unsigned long long)far->unique, (unsigned long long)far->dup_frames,
	       (unsigned long long)ssrv.per_dev[0], (unsigned long long)ssrv.per_dev[1],
	       (unsigned long long)near->frames);
	fflush(stdout);
	cr_expect_eq(st.sent, n, "%s: all sent", c->what);
	cr_expect_eq(far->unique, st.sent, "%s: every frame delivered", c->what);
	cr_expect_eq(far->dup_frames, 0, "%s: delivered exactly once", c->what);
	cr_expect_eq(near->frames, 0, "%s: never reflected back to the sender", c->what);
	if (!c->unknown_mac)
		cr_expect_eq(st.duplicates, 0, "%s: no duplicate at the socket", c->what);
	return far->dup_frames + near->frames;
}

Test(fabric_mh, bum_exactly_once)
{
	static const struct bum_case cases[] = {
		{ "broadcast host3 -> server (DF)", true, "198.51.100.255", NULL, 9100 },
		{ "broadcast server -> host3 (bias)", false, "198.51.100.255", NULL, 9101 },
		{ "unknown unicast host3 -> ES", true, "198.51.100.99", "02:00:00:00:01:99", 9102 },
		{ "unknown unicast server -> fabric", false, "198.51.100.98", "02:00:00:00:01:98",
		  9103 },
	};
	uint64_t dups = 0, df0, sh0, df1, sh1;

	up(NULL);
	df0 = ctr(0, XEVPN_CTR_FILTER_DF) + ctr(1, XEVPN_CTR_FILTER_DF);
	sh0 = ctr(0, XEVPN_CTR_FILTER_SPLIT_HORIZON) + ctr(1, XEVPN_CTR_FILTER_SPLIT_HORIZON);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		dups += bum_run(&cases[i]);
	df1 = ctr(0, XEVPN_CTR_FILTER_DF) + ctr(1, XEVPN_CTR_FILTER_DF);
	sh1 = ctr(0, XEVPN_CTR_FILTER_SPLIT_HORIZON) + ctr(1, XEVPN_CTR_FILTER_SPLIT_HORIZON);
	printf("  leaf1+leaf2 filter_df +%llu, filter_split_horizon +%llu\n",
	       (unsigned long long)(df1 - df0), (unsigned long long)(sh1 - sh0));
	result("bum_duplicates", (double)dups, "pkts", "== 0");
	cr_expect_eq(dups, 0, "no BUM duplicate or reflection anywhere");
	/* the non-DF leaf saw the host3 floods and filtered them */
	cr_expect_gt(df1 - df0, 0, "the non-DF leaf filtered BUM (filter_df counted)");
}

/* ---------- 3. ES link failure ---------- */

Test(fabric_mh, es_link_failure_and_restore)
{
	struct xevpn_nh_group g0, g1, g2;
	struct tr_stats in, out;
	struct tr_stream *a, *b;
	uint32_t es_id;
	uint64_t t0, t_shrink, t_back;

	up(NULL);
	cr_assert_eq(fn_es_group(&fab, 2, &es_id, &g0), 0);
	cr_assert_eq(g0.count, 2);

	a = stream(true, FLOWS, RATE_PPS, 0);
	b = stream(false, FLOWS, RATE_PPS, 0);
	xt_sleep_ms(1000);
	t0 = xt_now_ms();
	cr_assert_eq(xt_fabric_es_link_set(&fab.x, 0, false), 0, "leaf1's server link down");
	int err = wait_group(es_id, 1, 30000, &g1);
	t_shrink = xt_now_ms();
	xt_sleep_ms(1000);
	tr_stop(a, 300, &in);
	tr_stop(b, 300, &out);
	tr_print("link down: host3->server", &in);
	tr_print("link down: server->host3", &out);
	double loss_ms = in.lost_ms > out.lost_ms ? in.lost_ms : out.lost_ms;

	printf("  leaf3 ES group: %u -> %u VTEPs after %llu ms, generation %u -> %u\n", g0.count,
	       g1.count, (unsigned long long)(t_shrink - t0), g0.gen, g1.gen);
	result("es_link_down_loss_ms", loss_ms, "ms", "<= 10");
	if (!err)
		result("es_withdraw_converge_ms", (double)(t_shrink - t0), "ms", "(info)");
	cr_assert_eq(err, 0, "leaf3's ES group shrinks to one VTEP");
	cr_expect_eq(fn_vtep_leaf(g1.vtep[0]), 1, "the remaining VTEP is leaf2");
	cr_expect_eq(g1.gen, g0.gen + 1, "the group shrank in exactly one update (gen %u -> %u)",
		     g0.gen, g1.gen);
	cr_expect_leq(loss_ms, ES_LOSS_MAX_MS, "ES link down loses at most 10 ms of traffic");
	cr_expect_eq(in.duplicates + out.duplicates, 0, "no duplicates");

	/* restore: link up; the LAG member rejoins once leaf1 forwards on the
	 * ES again (leaf3 sees it back in the group after the hold) */
	a = stream(true, FLOWS, RATE_PPS, 0);
	b = stream(false, FLOWS, RATE_PPS, 0);
	xt_sleep_ms(500);
	t0 = xt_now_ms();
	cr_assert_eq(xt_link_up(fab.x.server.ns, fab.x.server.nic[0]), 0);
	err = wait_group(es_id, 2, (int)fab.o.startup_hold_ms + 30000, &g2);
	t_back = xt_now_ms();
	if (!err) {
		struct xevpn_es es;

		/* leaf1 forwards on the ES again: no hold, link up */
		for (uint64_t end = xt_now_ms() + 10000; xt_now_ms() < end; xt_sleep_ms(20))
			if (!fn_local_es(&fab, 0, NULL, &es) &&
			    !(es.flags & (XEVPN_ES_F_HOLD | XEVPN_ES_F_LINK_DOWN)))
				break;
		xt_fabric_lag_member_set(&fab.x, 0, true);
	}
	xt_sleep_ms(1500);
	tr_stop(a, 300, &in);
	tr_stop(b, 300, &out);
	tr_print("restore: host3->server", &in);
	tr_print("restore: server->host3", &out);
	printf("  leaf1 back in leaf3's ES group after %llu ms (startup hold at most %u ms)\n",
	       (unsigned long long)(t_back - t0), fab.o.startup_hold_ms);
	result("es_restore_lost_pkts", (double)(in.lost + out.lost), "pkts", "== 0");
	cr_assert_eq(err, 0, "leaf1 rejoins leaf3's ES group");
	/* the hold ends early once BGP has converged (DESIGN.md): report it */
	result("es_restore_ms", (double)(t_back - t0), "ms", "(hold <= 3 s)");
	cr_expect_leq(t_back - t0, fab.o.startup_hold_ms + 2000,
		      "leaf1 is back by the end of its startup hold");
	cr_expect_eq(in.lost + out.lost, 0, "restoring the link loses nothing");
	cr_expect_eq(in.duplicates + out.duplicates, 0, "no duplicates");
}

/* ---------- 4. leaf failure ---------- */

/* Scheduling noise on a loaded 2-CPU machine, on top of the heartbeat's own
 * bound (see leaf_failure). */
#define HB_SLACK_MS 300

static void print_hb_peer(const char *who, const char *group, const struct fn_hb_peer *p,
			  uint64_t t0)
{
	printf("  %s, group %s, peer 192.0.2.2: alive %d verdict %s pruned %d, "
	       "down at +%lld ms, unfit at +%lld ms\n",
	       who, group, p->alive, p->verdict, p->pruned,
	       p->down_at_ms ? (long long)(p->down_at_ms - (int64_t)t0) : -1LL,
	       p->unfit_at_ms ? (long long)(p->unfit_at_ms - (int64_t)t0) : -1LL);
}

Test(fabric_mh, leaf_failure)
{
	struct fn_opts o = { .bgp_hold_s = 3 };
	struct xevpn_nh_group g0, g1;
	uint64_t l0[LAG_CNT_MAX], l1[LAG_CNT_MAX], t0, t1 = 0, t_df = 0;
	struct tr_stats in, out, in2, out2;
	struct fn_hb_peer p3, p1;
	int64_t prunes0 = 0, prunes1 = 0;
	struct tr_stream *a, *b;
	uint32_t es_id, es1;

	up(&o);
	cr_assert_eq(fn_es_group(&fab, 2, &es_id, &g0), 0);
	cr_assert_eq(fn_local_es(&fab, 0, &es1, NULL), 0);
	cr_assert_eq(fn_hb_actions(&fab, 2, &prunes0, NULL), 0, "leaf3's health state readable");
	a = stream(true, FLOWS, RATE_PPS, 0);
	b = stream(false, FLOWS, RATE_PPS, 0);
	xt_sleep_ms(1000);

	/* leaf2 dies: controller, BGP speaker, underlay and (as the server
	 * sees it) its server link */
	/* links first: a dead box sends no BGP NOTIFICATION or TCP FIN, so
	 * the RR only learns it from the hold timer; only the heartbeat can be
	 * faster */
	t0 = xt_now_ms();
	cr_assert_eq(xt_link_down(fab.x.leaf[1].ns, fab.x.leaf[1].uplink), 0);
	xt_fabric_lag_member_set(&fab.x, 1, false);
	cr_assert_eq(xt_link_down(fab.x.leaf[1].ns, fab.x.leaf[1].access), 0);
	cr_assert_eq(fn_xevpnd_kill(&fab, 1), 0);
	cr_assert_eq(xt_proc_kill(&fab.x.leaf[1].bgp.proc), 0);
	/* leaf3 drops leaf2 from its ES group; leaf1 becomes DF everywhere */
	for (uint64_t end = t0 + 60000; xt_now_ms() < end && !(t1 && t_df); xt_sleep_ms(1)) {
		if (!t1 && !fn_es_group_by_id(&fab, 2, es_id, &g1) && g1.count == 1)
			t1 = xt_now_ms();
		if (!t_df) {
			int n = 0;

			for (int v = 0; v < FN_VNIS; v++)
				n += fn_is_df(&fab, 0, es1, FN_VNI_BASE + (uint32_t)v) == 1;
			if (n == FN_VNIS)
				t_df = xt_now_ms();
		}
	}
	xt_sleep_ms(1000);
	tr_stop(a, 300, &in);
	tr_stop(b, 300, &out);
	tr_print("leaf2 dies: host3->server", &in);
	tr_print("leaf2 dies: server->host3", &out);
	double window = in.max_gap_ms > out.max_gap_ms ? in.max_gap_ms : out.max_gap_ms;

	/*
	 * The heartbeat's bound: the last beat from leaf2 left at most one
	 * interval before the cut; silence of miss x interval makes it dead at
	 * the next evaluation tick (one interval), and fall unfit samples (one
	 * per tick, the first at the dead tick) make the verdict leaf3 acts on.
	 */
	const unsigned int iv = fab.o.hb_interval_ms, miss = fab.o.hb_miss, fall = fab.o.hb_fall;
	const double dead_bound = (double)(miss + 1) * iv;
	const double loss_bound = (double)(miss + fall) * iv + HB_SLACK_MS;
	char bound[64];

	printf("  heartbeat interval %u ms, miss %u, fall %u: declared dead by %.0f ms, acted on "
	       "by %.0f ms (+%d ms slack)\n",
	       iv, miss, fall, dead_bound, loss_bound - HB_SLACK_MS, HB_SLACK_MS);
	printf("  leaf3 dropped leaf2 from the ES group after %lld ms, leaf1 DF for all %d VNIs "
	       "after %lld ms (BGP hold %u s)\n",
	       t1 ? (long long)(t1 - t0) : -1LL, FN_VNIS, t_df ? (long long)(t_df - t0) : -1LL,
	       o.bgp_hold_s);
	cr_assert_eq(fn_hb_peer(&fab, 2, FN_HB_BD_GROUP, 1, &p3), 0,
		     "leaf3 knows leaf2 as a heartbeat peer of bd100");
	print_hb_peer("leaf3", FN_HB_BD_GROUP, &p3, t0);
	if (!fn_hb_peer(&fab, 0, FN_HB_ES_GROUP, 1, &p1))
		print_hb_peer("leaf1", FN_HB_ES_GROUP, &p1, t0);
	else
		memset(&p1, 0, sizeof(p1));
	fn_hb_actions(&fab, 2, &prunes1, NULL);
	snprintf(bound, sizeof(bound), "<= %.0f (hb %ux%u ms)", loss_bound, miss, iv);
	if (t1)
		result("leaf_failure_loss_ms", window, "ms", bound);
	if (p3.down_at_ms)
		result("leaf_failure_detect_ms", (double)(p3.down_at_ms - (int64_t)t0), "ms",
		       "(leaf3 heartbeat: peer dead)");
	if (t1)
		result("leaf_failure_prune_ms", (double)(t1 - t0), "ms", "(leaf3 ES group -1)");
	if (t_df)
		result("leaf_failure_df_takeover_ms", (double)(t_df - t0), "ms",
		       "(leaf1 DF, all VNIs)");

	cr_assert(t1, "leaf3's ES group loses leaf2");
	cr_expect_eq(fn_vtep_leaf(g1.vtep[0]), 0, "leaf1 remains");
	/* the detection path: leaf3's heartbeat verdict, not BGP */
	cr_expect(!p3.alive && p3.pruned && !strcmp(p3.verdict, "unfit"),
		  "leaf3 pruned leaf2 on its heartbeat verdict (alive %d pruned %d verdict %s)",
		  p3.alive, p3.pruned, p3.verdict);
	cr_expect_gt(prunes1, prunes0, "leaf3 counted a heartbeat prune");
	cr_expect(p3.down_at_ms > (int64_t)t0 &&
		  p3.down_at_ms - (int64_t)t0 <= (int64_t)(dead_bound + HB_SLACK_MS),
		  "leaf3 declared leaf2 dead %lld ms after the cut (bound %.0f + %d ms)",
		  (long long)(p3.down_at_ms - (int64_t)t0), dead_bound, HB_SLACK_MS);
	cr_expect_leq((double)(t1 - t0), loss_bound,
		      "leaf3's ES group shrank %llu ms after the cut, heartbeat bound %.0f ms",
		      (unsigned long long)(t1 - t0), loss_bound);
	cr_expect_leq(window, loss_bound, "loss window %.1f ms, heartbeat bound %.0f ms", window,
		      loss_bound);
	cr_expect(t_df && (double)(t_df - t0) <= loss_bound,
		  "leaf1 DF for every VNI by the heartbeat bound (%lld ms), not after BGP",
		  t_df ? (long long)(t_df - t0) : -1LL);

	/* afterwards everything runs through leaf1, without loss */
	lag(l0);
	a = stream(true, FLOWS, RATE_PPS, RATE_PPS);
	b = stream(false, FLOWS, RATE_PPS, RATE_PPS);
	wait_sent(a, 10000);
	wait_sent(b, 10000);
	tr_stop(a, 300, &in2);
	tr_stop(b, 300, &out2);
	lag(l1);
	tr_print("after: host3->server", &in2);
	tr_print("after: server->host3", &out2);
	cr_expect_eq(in2.lost + out2.lost, 0, "no loss once converged on leaf1");
	cr_expect_eq(l1[LAG_RX1] - l0[LAG_RX1], 0, "nothing arrives through leaf2");
	cr_expect_geq(l1[LAG_RX0] - l0[LAG_RX0], in2.sent, "everything arrives through leaf1");
}

/* ---------- 5. controller restart ---------- */

static void print_diff(const char *a, const char *b)
{
	/* lines of one snapshot missing from the other */
	for (int pass = 0; pass < 2; pass++) {
		const char *x = pass ? b : a, *y = pass ? a : b;
		char *copy = strdup(x), *save = NULL;

		for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (!strstr(y, l))
				printf("  %s %s\n", pass ? "+" : "-", l);
		free(copy);
	}
}

/*
 * BUM from host3 to the ES during a controller restart: a broadcast and an
 * unknown unicast stream, counted per datagram on both server NICs.
 */
#define RESTART_BUM_PPS 500
struct restart_bum {
	struct tr_stream *s[2];
	struct tr_tap *tap[2];
};

static void restart_bum_start(struct restart_bum *rb)
{
	static const char *const dst[2] = { "198.51.100.255", "198.51.100.97" };
	static const uint16_t port[2] = { 9106, 9107 };
	struct tr_tap_dev srv[2] = { { fab.x.server.ns, fab.x.server.nic[0] },
				     { fab.x.server.ns, fab.x.server.nic[1] } };

	cr_assert_eq(xt_ip(fab.x.host3.ns, "neigh replace %s lladdr 02:00:00:00:01:97 dev %s "
			   "nud permanent", dst[1], fab.x.host3.ifname), 0);
	for (int i = 0; i < 2; i++) {
		struct tr_opts o = {
			.src_ns = fab.x.host3.ns, .src_ip = fab.x.host3.ip,
			.dst_ns = fab.x.server.ns, .dst_ip = dst[i], .bind_ip = "0.0.0.0",
			.flows = 8, .rate_pps = RESTART_BUM_PPS, .dst_port = port[i],
			.broadcast = i == 0, .max_seconds = 90,
		};

		cr_assert_eq(tr_tap_open(&rb->tap[i], srv, 2, port[i]), 0);
		cr_assert_eq(tr_start(&rb->s[i], &o), 0, "BUM stream %d", i);
	}
}

/* Stops the streams; returns duplicates at the server, *lost = never delivered. */
static uint64_t restart_bum_stop(struct restart_bum *rb, uint64_t *lost)
{
	static const char *const what[2] = { "broadcast", "unknown unicast" };
	uint64_t dups = 0;

	*lost = 0;
	for (int i = 0; i < 2; i++) {
		struct tr_tap_stats ts;
		struct tr_stats st;

		tr_stop(rb->s[i], 400, &st);
		tr_tap_close(rb->tap[i], 0, &ts);
		printf("  restart: %-16s host3 -> server: sent %llu, at the server %llu frames "
		       "(%llu unique, %llu dup; nic0 %llu nic1 %llu)\n", what[i],
		       (unsigned long long)st.sent, (unsigned long long)ts.frames,
		       (unsigned long long)ts.unique, (unsigned long long)ts.dup_frames,
		       (unsigned long long)ts.per_dev[0], (unsigned long long)ts.per_dev[1]);
		dups += ts.dup_frames;
		*lost += st.sent > ts.unique ? st.sent - ts.unique : 0;
	}
	fflush(stdout);
	return dups;
}

Test(fabric_mh, controller_restart_hitless)
{
	struct tr_stats in, out;
	struct tr_stream *a, *b;
	struct restart_bum bum = { 0 };
	uint64_t bum_dups, bum_lost, lease0, lease1;
	char *before, *after;
	int64_t prunes0 = 0, prunes1 = 0;
	char why[160];

	up(NULL);
	before = fn_map_snapshot(&fab, 0);
	fn_hb_actions(&fab, 2, &prunes0, NULL);
	a = stream(true, FLOWS, RATE_PPS, 0);
	b = stream(false, FLOWS, RATE_PPS, 0);
	lease0 = ctr(0, XEVPN_CTR_FILTER_DF_LEASE);
	restart_bum_start(&bum);
	xt_sleep_ms(1000);
	cr_assert_eq(fn_xevpnd_kill(&fab, 0), 0, "kill -9 xevpnd on leaf1");
	xt_sleep_ms(1000);
	cr_assert_eq(fn_xevpnd_start(&fab, 0), 0, "xevpnd restarts");
	/* long enough for the startup hold, reconciliation and a DF wait */
	xt_sleep_ms(fab.o.startup_hold_ms + fab.o.df_wait_ms + 1500);
	tr_stop(a, 300, &in);
	tr_stop(b, 300, &out);
	bum_dups = restart_bum_stop(&bum, &bum_lost);
	lease1 = ctr(0, XEVPN_CTR_FILTER_DF_LEASE);
	tr_print("restart: host3->server", &in);
	tr_print("restart: server->host3", &out);
	/* beats come from xevpnd: while it is down its peers see a silent
	 * leaf (leaf3 may prune it, the dataplane forwards on regardless) */
	if (!fn_hb_actions(&fab, 2, &prunes1, NULL))
		printf("  leaf3 heartbeat prunes during the restart: %lld\n",
		       (long long)(prunes1 - prunes0));
	result("ctl_restart_lost_pkts", (double)(in.lost + out.lost), "pkts", "== 0");
	printf("  leaf1 filter_df_lease +%llu during the restart\n",
	       (unsigned long long)(lease1 - lease0));
	result("ctl_restart_bum_duplicates", (double)bum_dups, "pkts", "== 0");
	result("ctl_restart_bum_lost", (double)bum_lost, "pkts", "(zero-DF gap only)");
	cr_expect_eq(bum_dups, 0, "no BUM frame reaches the server twice during the restart");
	cr_expect_gt(lease1 - lease0, 0, "leaf1's expired DF lease filtered overlay BUM");
	cr_expect(fn_xevpnd_alive(&fab, 0), "restarted xevpnd keeps running");
	if (!fn_xevpnd_alive(&fab, 0))
		fn_xevpnd_log_tail(&fab, 0, 30);
	cr_expect_eq(in.lost + out.lost, 0, "kill -9 and restart lose nothing");
	cr_expect_eq(in.duplicates + out.duplicates, 0, "no duplicates");
	cr_expect_eq(fn_converged(&fab, why, sizeof(why)), 1, "still converged: %s", why);

	after = fn_map_snapshot(&fab, 0);
	if (strcmp(before, after)) {
		printf("  leaf1 maps changed across the restart:\n");
		print_diff(before, after);
	}
	cr_expect_str_eq(before, after, "leaf1's maps are unchanged after the restart");
	free(before);
	free(after);
}

/* ---------- 6. DF election and takeover ---------- */

Test(fabric_mh, df_split_and_takeover)
{
	uint32_t es[FN_ES_LEAVES];
	int n_df[FN_ES_LEAVES] = { 0 };
	uint64_t t0, t1 = 0;

	up(NULL);
	for (int i = 0; i < FN_ES_LEAVES; i++)
		cr_assert_eq(fn_local_es(&fab, i, &es[i], NULL), 0, "leaf%d has the ES", i + 1);
	printf("  DF per VNI (modulo, RFC 7432 8.5):");
	for (int v = 0; v < FN_VNIS; v++) {
		uint32_t vni = FN_VNI_BASE + (uint32_t)v;
		int d1 = fn_is_df(&fab, 0, es[0], vni), d2 = fn_is_df(&fab, 1, es[1], vni);

		printf(" %u:%s", vni, d1 == 1 ? "leaf1" : d2 == 1 ? "leaf2" : "none");
		cr_expect_eq(d1 + d2, 1, "vni %u has exactly one DF", vni);
		/* modulo: PEs ordered by address, DF = ordinal (vni mod 2) */
		cr_expect_eq(d1, vni % 2 == 0, "vni %u: DF is leaf%u", vni, vni % 2 + 1);
		n_df[0] += d1 == 1;
		n_df[1] += d2 == 1;
	}
	printf("\n");
	cr_expect(n_df[0] > 0 && n_df[1] > 0, "the VNIs are split between both leaves");

	t0 = xt_now_ms();
	cr_assert_eq(xt_fabric_es_link_set(&fab.x, 0, false), 0);
	for (uint64_t end = t0 + fab.o.df_wait_ms + 20000; xt_now_ms() < end; xt_sleep_ms(5)) {
		int all = 0;

		for (int v = 0; v < FN_VNIS; v++)
			all += fn_is_df(&fab, 1, es[1], FN_VNI_BASE + (uint32_t)v) == 1;
		if (all == FN_VNIS) {
			t1 = xt_now_ms();
			break;
		}
	}
	if (t1)
		result("df_takeover_ms", (double)(t1 - t0), "ms", "(DF wait 3 s)");
	cr_assert(t1, "leaf2 becomes DF for all %d VNIs", FN_VNIS);
	for (int v = 0; v < FN_VNIS; v++)
		cr_expect_neq(fn_is_df(&fab, 0, es[0], FN_VNI_BASE + (uint32_t)v), 1,
			      "leaf1 (link down) is no longer DF for vni %d", FN_VNI_BASE + v);

	/* and the dataplane agrees: a broadcast from host3 reaches the
	 * server exactly once, now through leaf2 */
	static const struct bum_case bc = { "broadcast host3 -> server (DF leaf2)", true,
					    "198.51.100.255", NULL, 9104 };
	cr_expect_eq(bum_run(&bc), 0, "BUM still delivered exactly once");
}
