// SPDX-License-Identifier: GPL-2.0
/*
 * Metrics registry, Prometheus exposition text and EWMA rate math.
 * Exposition tests compare whole rendered texts; EWMA tests drive the rates
 * with explicit timestamps or a fake clock and compare with closed forms.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics/ewma.h"
#include "metrics/metrics.h"
#include "metrics/xevpn_metrics.h"
#include "xevpn/counters.h"

#define NS 1000000000ull

static char *render(struct metrics_registry *reg)
{
	size_t len = 0;
	char *text = metrics_render(reg, &len, NULL);

	cr_assert_not_null(text);
	cr_assert_eq(strlen(text), len);
	return text;
}

/* ---- exposition -------------------------------------------------------- */

Test(exposition, exact_text_with_escaping)
{
	struct metrics_registry *reg = metrics_registry_new("xevpn");
	static const struct metrics_desc sent = {
		"beats_sent_total", "Heartbeats sent.", METRICS_COUNTER };
	static const struct metrics_desc dropped = {
		"beats_dropped_total", "Heartbeats dropped, by reason.", METRICS_COUNTER,
		{ "reason" } };
	static const struct metrics_desc odd = {
		"odd_labels", "Help with a backslash \\ and a\nnewline; \"quotes\" stay.",
		METRICS_GAUGE, { "a", "b" } };
	static const struct metrics_desc start = {
		"process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
		METRICS_GAUGE, .flags = METRICS_F_NO_NAMESPACE };
	struct metrics_family *f_sent, *f_drop, *f_odd, *f_start;

	cr_assert_not_null(reg);
	cr_assert_not_null(f_sent = metrics_family_new(reg, &sent));
	cr_assert_not_null(f_drop = metrics_family_new(reg, &dropped));
	cr_assert_not_null(f_odd = metrics_family_new(reg, &odd));
	cr_assert_not_null(f_start = metrics_family_new(reg, &start));

	cr_assert_eq(metrics_add(f_sent, NULL, 41), 0);
	cr_assert_eq(metrics_inc(f_sent, NULL), 0);
	cr_assert_eq(metrics_add(f_drop, (const char *[]){ "bad_magic" }, 3), 0);
	cr_assert_eq(metrics_inc(f_drop, (const char *[]){ "bad_signature" }), 0);
	cr_assert_eq(metrics_inc(f_drop, (const char *[]){ "bad_magic" }), 0);
	cr_assert_eq(metrics_set(f_odd, (const char *[]){ "q\"uote", "back\\slash\nnl" }, -1.5), 0);
	cr_assert_eq(metrics_set(f_odd, (const char *[]){ "ünï", "" }, 0.1), 0);
	cr_assert_eq(metrics_set(f_start, NULL, 1700000000.25), 0);

	char *text = render(reg);
	const char *want =
		"# HELP xevpn_beats_sent_total Heartbeats sent.\n"
		"# TYPE xevpn_beats_sent_total counter\n"
		"xevpn_beats_sent_total 42\n"
		"# HELP xevpn_beats_dropped_total Heartbeats dropped, by reason.\n"
		"# TYPE xevpn_beats_dropped_total counter\n"
		"xevpn_beats_dropped_total{reason=\"bad_magic\"} 4\n"
		"xevpn_beats_dropped_total{reason=\"bad_signature\"} 1\n"
		"# HELP xevpn_odd_labels Help with a backslash \\\\ and a\\nnewline; \"quotes\" stay.\n"
		"# TYPE xevpn_odd_labels gauge\n"
		"xevpn_odd_labels{a=\"q\\\"uote\",b=\"back\\\\slash\\nnl\"} -1.5\n"
		"xevpn_odd_labels{a=\"ünï\",b=\"\"} 0.1\n"
		"# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
		"# TYPE process_start_time_seconds gauge\n"
		"process_start_time_seconds 1700000000.25\n";
	cr_assert_str_eq(text, want);
	free(text);
	metrics_registry_free(reg);
}

Test(exposition, empty_labelled_family_renders_help_and_type_only)
{
	struct metrics_registry *reg = metrics_registry_new(NULL);
	static const struct metrics_desc d = {
		"peer_up", "Peer reachability.", METRICS_GAUGE, { "group", "peer" } };

	cr_assert_not_null(metrics_family_new(reg, &d));
	char *text = render(reg);
	cr_assert_str_eq(text, "# HELP peer_up Peer reachability.\n# TYPE peer_up gauge\n");
	free(text);
	metrics_registry_free(reg);
}

Test(exposition, value_formatting)
{
	static const struct { double v; const char *want; } cases[] = {
		{ 0, "0" }, { -0.0, "0" }, { 1, "1" }, { -3, "-3" }, { 0.1, "0.1" },
		{ 1.5, "1.5" }, { 9007199254740993.0, "9007199254740992" },
		{ 18446744073709551615.0, "1.8446744073709552e+19" }, { 1e-9, "1e-09" },
		{ 1.0 / 3, "0.3333333333333333" }, { NAN, "NaN" }, { INFINITY, "+Inf" },
		{ -INFINITY, "-Inf" },
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		metrics_format_value(buf, sizeof(buf), cases[i].v);
		cr_expect_str_eq(buf, cases[i].want, "case %zu", i);
		if (!isnan(cases[i].v))
			cr_expect(strtod(buf, NULL) == cases[i].v || cases[i].v == -0.0,
				  "case %zu does not round-trip", i);
	}
}

Test(registry, refuses_bad_names_and_conventions)
{
	struct metrics_registry *reg = metrics_registry_new("xevpn");
	static const struct metrics_desc bad[] = {
		{ "beats_sent", "counter without _total", METRICS_COUNTER },
		{ "peers_total", "gauge with _total", METRICS_GAUGE },
		{ "1abc_total", "starts with a digit", METRICS_COUNTER },
		{ "a-b", "dash", METRICS_GAUGE },
		{ "", "empty", METRICS_GAUGE },
		{ "nohelp", NULL, METRICS_GAUGE },
		{ "emptyhelp", "", METRICS_GAUGE },
		{ "lbl1", "reserved label", METRICS_GAUGE, { "__name" } },
		{ "lbl2", "label with a dash", METRICS_GAUGE, { "a-b" } },
		{ "lbl3", "label with a digit first", METRICS_GAUGE, { "1a" } },
		{ "lbl4", "duplicate label", METRICS_GAUGE, { "a", "a" } },
		{ "lbl5", "too many labels", METRICS_GAUGE, { "a", "b", "c", "d", "e" } },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		cr_expect_null(metrics_family_new(reg, &bad[i]), "%s accepted", bad[i].help);
		cr_expect_eq(errno, EINVAL, "%s: errno %d", bad[i].help, errno);
	}
	static const struct metrics_desc ok = { "x_total", "x", METRICS_COUNTER, { "a" } };
	cr_assert_not_null(metrics_family_new(reg, &ok));
	errno = 0;
	cr_assert_null(metrics_family_new(reg, &ok));
	cr_assert_eq(errno, EEXIST);
	cr_assert_not_null(metrics_family_find(reg, "xevpn_x_total"));
	cr_assert_null(metrics_family_find(reg, "x_total"));
	metrics_registry_free(reg);
}

Test(registry, counter_refuses_negative_delta)
{
	struct metrics_registry *reg = metrics_registry_new("t");
	static const struct metrics_desc c = { "c_total", "c", METRICS_COUNTER };
	static const struct metrics_desc g = { "g", "g", METRICS_GAUGE };
	struct metrics_family *fc = metrics_family_new(reg, &c), *fg = metrics_family_new(reg, &g);

	cr_assert_eq(metrics_add(fc, NULL, 5), 0);
	cr_assert_eq(metrics_add(fc, NULL, -1), -EINVAL);
	cr_assert_eq(metrics_add(fc, NULL, NAN), -EINVAL);
	cr_assert_eq(metrics_series_value(metrics_series_get(fc, NULL)), 5);
	cr_assert_eq(metrics_add(fg, NULL, -2), 0);
	cr_assert_eq(metrics_series_value(metrics_series_get(fg, NULL)), -2);
	metrics_registry_free(reg);
}

Test(registry, labelled_series_need_every_value)
{
	struct metrics_registry *reg = metrics_registry_new("t");
	static const struct metrics_desc d = { "p_total", "p", METRICS_COUNTER, { "a", "b" } };
	struct metrics_family *f = metrics_family_new(reg, &d);

	errno = 0;
	cr_assert_null(metrics_series_get(f, NULL));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(metrics_series_get(f, (const char *[]){ "x", NULL }));
	cr_assert_eq(metrics_inc(f, NULL), -EINVAL);
	cr_assert_eq(metrics_family_nseries(f), 0);
	metrics_registry_free(reg);
}

Test(registry, many_series_stable_pointers_and_lookup)
{
	struct metrics_registry *reg = metrics_registry_new("t");
	static const struct metrics_desc d = {
		"dataplane_packets_total", "p", METRICS_COUNTER, { "action", "reason" } };
	struct metrics_family *f = metrics_family_new(reg, &d);
	struct metrics_series *ptr[2000];
	char a[32], r[32];

	for (int i = 0; i < 2000; i++) {
		snprintf(a, sizeof(a), "act%d", i % 40);
		snprintf(r, sizeof(r), "why%d", i / 40);
		ptr[i] = metrics_series_get(f, (const char *[]){ a, r });
		cr_assert_not_null(ptr[i]);
		metrics_series_set(ptr[i], i);
	}
	cr_assert_eq(metrics_family_nseries(f), 2000);
	/* "a"+"bc" and "ab"+"c" must stay distinct series. */
	cr_assert_neq(metrics_series_get(f, (const char *[]){ "a", "bc" }),
		      metrics_series_get(f, (const char *[]){ "ab", "c" }));
	for (int i = 0; i < 2000; i++) {
		snprintf(a, sizeof(a), "act%d", i % 40);
		snprintf(r, sizeof(r), "why%d", i / 40);
		cr_assert_eq(metrics_series_get(f, (const char *[]){ a, r }), ptr[i]);
		cr_assert_eq(metrics_series_value(ptr[i]), i);
	}
	char *text = render(reg);
	cr_assert_not_null(strstr(text, "t_dataplane_packets_total{action=\"act39\",reason=\"why49\"} 1999\n"));
	free(text);
	metrics_registry_free(reg);
}

struct collect_state {
	int calls;
	int order[4];
	int norder;
	unsigned long long source;	/* stands for a BPF counter */
	struct metrics_family *fam;
	struct metrics_family *dyn;
	int ngroups;
};

static int collect_a(struct metrics_registry *reg, void *arg)
{
	struct collect_state *st = arg;
	char g[16];

	st->calls++;
	st->order[st->norder++ % 4] = 1;
	metrics_set(st->fam, NULL, (double)st->source);
	metrics_family_clear(st->dyn);
	for (int i = 0; i < st->ngroups; i++) {
		snprintf(g, sizeof(g), "g%d", i);
		metrics_set(st->dyn, (const char *[]){ g }, 1);
	}
	return 0;
}

static int collect_b(struct metrics_registry *reg, void *arg)
{
	struct collect_state *st = arg;

	st->order[st->norder++ % 4] = 2;
	return -EIO;
}

Test(registry, collectors_run_at_render_in_order)
{
	struct metrics_registry *reg = metrics_registry_new("t");
	static const struct metrics_desc c = { "pkts_total", "p", METRICS_COUNTER };
	static const struct metrics_desc g = { "peer_up", "u", METRICS_GAUGE, { "group" } };
	struct collect_state st = { 0 };
	unsigned int errs = 99;
	char *text;

	st.fam = metrics_family_new(reg, &c);
	st.dyn = metrics_family_new(reg, &g);
	cr_assert_eq(metrics_collector_add(reg, collect_a, &st), 0);
	cr_assert_eq(metrics_collector_add(reg, collect_b, &st), 0);
	cr_assert_eq(st.calls, 0, "collectors must not run before a render");

	st.source = 7;
	st.ngroups = 3;
	text = metrics_render(reg, NULL, &errs);
	cr_assert_eq(errs, 1);
	cr_assert_eq(st.calls, 1);
	cr_assert_eq(st.order[0], 1);
	cr_assert_eq(st.order[1], 2);
	cr_assert_not_null(strstr(text, "t_pkts_total 7\n"));
	cr_assert_not_null(strstr(text, "t_peer_up{group=\"g2\"} 1\n"));
	free(text);

	/* A group went away: the collector's clear drops its series. */
	st.source = 12;
	st.ngroups = 1;
	cr_assert_eq(metrics_collector_del(reg, collect_b, &st), 0);
	cr_assert_eq(metrics_collector_del(reg, collect_b, &st), -ENOENT);
	text = metrics_render(reg, NULL, &errs);
	cr_assert_eq(errs, 0);
	cr_assert_eq(st.calls, 2);
	cr_assert_not_null(strstr(text, "t_pkts_total 12\n"));
	cr_assert_not_null(strstr(text, "t_peer_up{group=\"g0\"} 1\n"));
	cr_assert_null(strstr(text, "g2"));
	free(text);
	metrics_registry_free(reg);
}

Test(registry, xevpn_families_register_and_render)
{
	struct metrics_registry *reg = metrics_registry_new(XEVPN_METRICS_NAMESPACE);
	struct xevpn_metrics m;

	cr_assert_eq(xevpn_metrics_register(reg, &m, "1.2.3"), 0);
	cr_assert_not_null(m.failovers);
	cr_assert_eq(metrics_inc(m.failovers, (const char *[]){ XEVPN_FAILOVER_LINK }), 0);
	/* Start time is in the past, and not absurdly far. */
	double st = metrics_series_value(metrics_series_get(m.start_time, NULL));
	cr_assert(st > 1.5e9 && st <= (double)time(NULL) + 1, "start time %f", st);

	char *text = render(reg);
	cr_assert_not_null(strstr(text, "xevpn_failovers_total{cause=\"link\"} 1\n"));
	cr_assert_not_null(strstr(text, "xevpn_failovers_total{cause=\"operator\"} 0\n"));
	cr_assert_not_null(strstr(text, "xevpn_failovers_total{cause=\"autonomous\"} 0\n"));
	cr_assert_not_null(strstr(text, "xevpn_build_info{version=\"1.2.3\"} 1\n"));
	cr_assert_not_null(strstr(text, "\nprocess_start_time_seconds "));
	for (unsigned int i = 0; i < xevpn_metrics_nfamilies; i++) {
		char want[128];

		snprintf(want, sizeof(want), "# TYPE %s%s ",
			 xevpn_metrics_descs[i].flags & METRICS_F_NO_NAMESPACE ? "" : "xevpn_",
			 xevpn_metrics_descs[i].name);
		cr_expect_not_null(strstr(text, want), "%s missing", want);
	}
	free(text);
	metrics_registry_free(reg);
}

Test(registry, dataplane_counters_map_to_action_and_reason)
{
	struct metrics_registry *reg = metrics_registry_new(XEVPN_METRICS_NAMESPACE);
	struct xevpn_ctr_value sum[XEVPN_CTR_MAX] = { 0 };
	struct xevpn_metrics m;

	cr_assert_eq(xevpn_metrics_register(reg, &m, NULL), 0);
	sum[XEVPN_CTR_ENCAP_ES] = (struct xevpn_ctr_value){ 10, 1500 };
	sum[XEVPN_CTR_DROP_MTU] = (struct xevpn_ctr_value){ 2, 18000 };
	sum[XEVPN_CTR_FILTER_DF] = (struct xevpn_ctr_value){ 7, 700 };
	cr_assert_eq(xevpn_metrics_set_dataplane(&m, sum, XEVPN_CTR_MAX), 0);

	char *text = render(reg);
	cr_assert_not_null(strstr(text,
		"xevpn_dataplane_packets_total{action=\"encap_es\",reason=\"none\"} 10\n"));
	cr_assert_not_null(strstr(text,
		"xevpn_dataplane_bytes_total{action=\"encap_es\",reason=\"none\"} 1500\n"));
	cr_assert_not_null(strstr(text,
		"xevpn_dataplane_packets_total{action=\"drop\",reason=\"mtu\"} 2\n"));
	cr_assert_not_null(strstr(text,
		"xevpn_dataplane_bytes_total{action=\"drop\",reason=\"mtu\"} 18000\n"));
	cr_assert_not_null(strstr(text, "xevpn_dataplane_events_total{event=\"filter_df\"} 7\n"));
	cr_assert_null(strstr(text, "action=\"filter_df\""));
	/* Every verdict has one series per family, every event one. */
	cr_assert_eq(metrics_family_nseries(m.dp_packets), XEVPN_CTR_VERDICT_MAX);
	cr_assert_eq(metrics_family_nseries(m.dp_bytes), XEVPN_CTR_VERDICT_MAX);
	cr_assert_eq(metrics_family_nseries(m.dp_events), XEVPN_CTR_MAX - XEVPN_CTR_VERDICT_MAX);
	free(text);
	metrics_registry_free(reg);
}

/* ---- EWMA -------------------------------------------------------------- */

static double rel_err(double got, double want)
{
	return fabs(got - want) / fabs(want);
}

struct fake_clock {
	uint64_t ns;
};

static uint64_t fake_now(void *arg)
{
	return ((struct fake_clock *)arg)->ns;
}

Test(ewma, step_response_reaches_one_minus_inv_e_at_tau)
{
	const double R = 1000.0;	/* packets per second from t = 0 */

	for (int w = 0; w < EWMA_W_MAX; w++) {
		struct fake_clock clk = { 5 * NS };
		struct ewma_traffic t;
		uint64_t secs = (uint64_t)ewma_window_s[w];

		ewma_traffic_init(&t, fake_now, &clk);
		ewma_traffic_sample(&t, 0, 0);
		for (uint64_t s = 1; s <= secs; s++) {
			clk.ns = 5 * NS + s * NS;
			ewma_traffic_sample(&t, (uint64_t)R * s, (uint64_t)R * s * 100);
		}
		double want = R * (1 - exp(-1));

		cr_assert_lt(rel_err(ewma_traffic_pps(&t, w), want), 1e-9,
			     "window %s: %.9f pps, want %.9f", ewma_window_name(w),
			     ewma_traffic_pps(&t, w), want);
		/* 100-byte packets: bits = 800 x packets. */
		cr_assert_lt(rel_err(ewma_traffic_bps(&t, w), 800 * want), 1e-9);
		cr_assert(ewma_counter_warm(&t.packets, w));
		if (w + 1 < EWMA_W_MAX)
			cr_assert(!ewma_counter_warm(&t.packets, w + 1));
	}
}

Test(ewma, constant_rate_converges)
{
	struct ewma_counter c;
	const double R = 123456.0;
	uint64_t v = 0;

	ewma_counter_init(&c);
	ewma_counter_sample(&c, 0, 0);
	/* 10 hours at 5 s samples: e^-10 of the 1 h window's start is left. */
	for (uint64_t s = 5; s <= 36000; s += 5) {
		v += (uint64_t)R * 5;
		ewma_counter_sample(&c, s * NS, v);
	}
	cr_assert_lt(rel_err(c.rate[EWMA_W_60S], R), 1e-12);
	cr_assert_lt(rel_err(c.rate[EWMA_W_600S], R), 1e-12);
	cr_assert_lt(rel_err(c.rate[EWMA_W_3600S], R * (1 - exp(-10))), 1e-9);
	cr_assert_lt(rel_err(c.rate[EWMA_W_3600S], R), 1e-4);
}

Test(ewma, irregular_intervals_match_closed_form)
{
	/*
	 * Rate R1 over [0, 100 s), then R2 until T. Samples land at irregular
	 * times (one exactly at the change); the result must equal the
	 * continuous EWMA whatever the sampling.
	 */
	const double R1 = 5000, R2 = 2000;	/* multiples of 1000/s: whole packets per ms */
	const double T = 1000;
	uint64_t seed = 12345, t_ms = 0, v_ms_units = 0;	/* counter in milli-packets */
	struct ewma_counter c;

	ewma_counter_init(&c);
	ewma_counter_sample(&c, 0, 0);
	while (t_ms < (uint64_t)(T * 1000)) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t step = 50 + (seed >> 33) % 9000;	/* 0.05 .. 9 s */
		uint64_t next = t_ms + step;

		if (t_ms < 100000 && next > 100000)
			next = 100000;
		if (next > (uint64_t)(T * 1000))
			next = (uint64_t)(T * 1000);
		double rate = t_ms < 100000 ? R1 : R2;
		v_ms_units += (uint64_t)(rate * (double)(next - t_ms));	/* packets*1000 */
		t_ms = next;
		/* Feed the counter in packets: rates are exact multiples here. */
		ewma_counter_sample(&c, t_ms * 1000000ull, v_ms_units / 1000);
	}
	for (int w = 0; w < EWMA_W_MAX; w++) {
		double tau = ewma_window_s[w];
		double at_change = R1 * (1 - exp(-100 / tau));
		double want = R2 + (at_change - R2) * exp(-(T - 100) / tau);

		cr_expect_lt(rel_err(c.rate[w], want), 1e-9, "window %s: %.9f want %.9f",
			     ewma_window_name(w), c.rate[w], want);
	}
}

Test(ewma, counter_reset_counts_from_zero)
{
	struct ewma_counter c;
	uint64_t v = 0;

	ewma_counter_init(&c);
	ewma_counter_sample(&c, 0, 0);
	for (uint64_t s = 1; s <= 600; s++)
		ewma_counter_sample(&c, s * NS, v += 1000);
	double before = c.rate[EWMA_W_60S];

	/* The map was re-created: the counter restarts and has counted 400. */
	ewma_counter_sample(&c, 601 * NS, 400);
	double a = exp(-1.0 / 60);

	cr_assert_eq(c.resets, 1);
	cr_assert_lt(rel_err(c.rate[EWMA_W_60S], a * before + (1 - a) * 400), 1e-12);
	cr_assert(c.rate[EWMA_W_3600S] < 1000 && c.rate[EWMA_W_3600S] > 0);
	/* And it keeps counting normally from there. */
	ewma_counter_sample(&c, 602 * NS, 1400);
	cr_assert_eq(c.resets, 1);
	cr_assert(c.rate[EWMA_W_60S] > 0 && c.rate[EWMA_W_60S] < 1000);
}

Test(ewma, same_instant_folds_and_backwards_clock_rebaselines)
{
	struct ewma_counter a, b;

	ewma_counter_init(&a);
	ewma_counter_init(&b);
	ewma_counter_sample(&a, 0, 0);
	ewma_counter_sample(&b, 0, 0);
	/* a sees an extra sample at t = 1 s twice; b once with the final value. */
	ewma_counter_sample(&a, 1 * NS, 100);
	ewma_counter_sample(&a, 1 * NS, 300);	/* dt == 0: ignored */
	ewma_counter_sample(&a, 2 * NS, 500);
	ewma_counter_sample(&b, 1 * NS, 100);
	ewma_counter_sample(&b, 2 * NS, 500);
	for (int w = 0; w < EWMA_W_MAX; w++)
		cr_assert_eq(a.rate[w], b.rate[w]);

	double r = a.rate[EWMA_W_60S];
	ewma_counter_sample(&a, 1 * NS, 900);	/* clock stepped back */
	cr_assert_eq(a.rate[EWMA_W_60S], r);
	ewma_counter_sample(&a, 2 * NS, 900);	/* no traffic since re-baseline */
	cr_assert_lt(a.rate[EWMA_W_60S], r);
	cr_assert_eq(a.resets, 0);
}

Test(ewma, first_sample_is_only_a_baseline)
{
	struct fake_clock clk = { 1000 * NS };
	struct ewma_traffic t;

	ewma_traffic_init(&t, fake_now, &clk);
	ewma_traffic_sample(&t, 1000000, 99999999);	/* counters long running */
	for (int w = 0; w < EWMA_W_MAX; w++) {
		cr_assert_eq(ewma_traffic_pps(&t, w), 0);
		cr_assert_eq(ewma_traffic_bps(&t, w), 0);
		cr_assert(!ewma_counter_warm(&t.packets, w));
	}
	cr_assert_str_eq(ewma_window_name(EWMA_W_600S), "600s");
}
