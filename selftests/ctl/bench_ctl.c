// SPDX-License-Identifier: GPL-2.0
/*
 * xevpnd benchmarks over the real BPF maps (private bpffs, nothing attached):
 *
 * 1. Remote MACs programmed per second: type-2 routes with an ESI, as the
 *    GoBGP watch dump delivers them, handed to the watch's own handler
 *    (routes_bridge_deliver: conversion, NLRI ledger, model, map write).
 *    gobgpd itself ingests type-2 routes in quadratic time, so the routes
 *    do not go through it here.
 * 2. Mass withdraw: a per-ES A-D withdraw sent through a real gobgpd (unix
 *    socket API) reaches the watch; measured from its arrival at the
 *    controller to the ES next-hop group swap in the map, with 1k and 100k
 *    MACs behind the ES. The ratio shows the cost is O(1) in MAC count.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "dp/dp.h"
#include "evpn.h"
#include "fib_dp.h"
#include "gobgp_bridge.h"
#include "log.h"
#include "netns.h"
#include "routes_bridge.h"

#define VNI	100
#define ESI_STR	"00:11:22:33:44:55:00:00:00:01"
#define PE_A	"192.0.2.2"
#define PE_B	"192.0.2.3"
#define REPS	15

static uv_loop_t loop;
static char bpffs[XT_PATH_MAX];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- a reader of the ES group, as the dataplane sees it ---- */

/* Spins on the outer map entry of one ES and stamps the moment its inner map
 * changes: that is when packets start using the new group (the update
 * syscall itself returns only after an RCU grace period). */
struct watcher {
	pthread_t th;
	int fd;
	uint32_t es_id, id0;
	atomic_bool run;
	atomic_uint_fast64_t seen_ns;
};

static void *watch_fn(void *arg)
{
	struct watcher *w = arg;
	uint32_t id;

	while (atomic_load(&w->run)) {
		if (!bpf_map_lookup_elem(w->fd, &w->es_id, &id) && id != w->id0) {
			atomic_store(&w->seen_ns, now_ns());
			break;
		}
	}
	return NULL;
}

static int watcher_start(struct watcher *w, int outer_fd, uint32_t es_id)
{
	w->fd = outer_fd;
	w->es_id = es_id;
	if (bpf_map_lookup_elem(outer_fd, &es_id, &w->id0))
		return -errno;
	atomic_store(&w->run, true);
	atomic_store(&w->seen_ns, 0);
	return pthread_create(&w->th, NULL, watch_fn, w) ? -EAGAIN : 0;
}

static uint64_t watcher_stop(struct watcher *w)
{
	atomic_store(&w->run, false);
	pthread_join(w->th, NULL);
	return atomic_load(&w->seen_ns);
}

/* ---- one controller instance: model + BPF map writer ---- */

struct ctl {
	struct xcfg cfg;
	struct xevpn_dp *dp;
	struct fib_dp *fd;
	struct evpn *e;
	struct routes_bridge *rb;	/* watch (delivers locally added paths too) */
	struct fib inner;
	char root[XT_PATH_MAX + 32];
	/* mass withdraw instrumentation */
	uint64_t t_arrive, t_call, t_flip;
	bool armed;
};

/* fib wrapper: time the group swap */
static int w_fdb_set(void *c, uint32_t v, const uint8_t m[6], const struct fib_fdb *f)
{
	struct ctl *x = c;
	return x->inner.ops->fdb_set(x->inner.ctx, v, m, f);
}
static int w_fdb_del(void *c, uint32_t v, const uint8_t m[6])
{
	struct ctl *x = c;
	return x->inner.ops->fdb_del(x->inner.ctx, v, m);
}
static int w_group(void *c, uint32_t id, const uint32_t *v, unsigned n)
{
	struct ctl *x = c;
	uint64_t t = now_ns();
	int rc = x->inner.ops->es_group_set(x->inner.ctx, id, v, n);

	if (x->armed && !x->t_call)
		x->t_call = t;
	if (x->armed && !x->t_flip)
		x->t_flip = now_ns();
	return rc;
}
static int w_state(void *c, uint32_t id, const struct fib_es *es)
{
	struct ctl *x = c;
	return x->inner.ops->es_state_set(x->inner.ctx, id, es);
}
static int w_es_del(void *c, uint32_t id)
{
	struct ctl *x = c;
	return x->inner.ops->es_del(x->inner.ctx, id);
}
static int w_flood(void *c, uint32_t vni, const uint32_t *v, unsigned n)
{
	struct ctl *x = c;
	return x->inner.ops->flood_set(x->inner.ctx, vni, v, n);
}
static int w_df(void *c, uint32_t id, uint32_t vni, bool df)
{
	struct ctl *x = c;
	return x->inner.ops->df_set(x->inner.ctx, id, vni, df);
}
static const struct fib_ops wrap_ops = {
	.fdb_set = w_fdb_set, .fdb_del = w_fdb_del, .es_group_set = w_group,
	.es_state_set = w_state, .es_del = w_es_del, .flood_set = w_flood, .df_set = w_df,
};

static void on_route(void *arg, const struct evpn_route *r)
{
	struct ctl *x = arg;

	if (x->armed && !x->t_arrive && r->withdraw && r->type == EVPN_RT_AD && r->etag == EVPN_MAX_ET)
		x->t_arrive = now_ns();
	evpn_route_input(x->e, r);
}

static const struct routes_bridge_cb watch_cb = { .route = on_route };

static int ctl_open(struct ctl *x, const char *instance, const char *target)
{
	static const char *yaml =
		"vtep-address: 192.0.2.1\nasn: 65000\nbpffs: /unused\ninstance: bench\n"
		"uplinks: [lo]\ntimers:\n  startup-hold: 0s\n  mac-aging: 0s\n"
		"bd:\n  - name: bd100\n    vni: 100\n    route-targets: auto\n    access-ports: [bench0]\n";
	struct xevpn_dp_opts o = { 0 };
	char err[XCFG_ERR_MAX];
	int rc;

	memset(x, 0, sizeof(*x));
	if (xcfg_load_string("bench.conf", yaml, &x->cfg, err)) {
		fprintf(stderr, "bench_ctl: %s\n", err);
		return -EINVAL;
	}
	snprintf(x->root, sizeof(x->root), "%s/%s", bpffs, instance);
	o.pin_root = x->root;
	if ((rc = xevpn_dp_open(&x->dp, &o)) || (rc = fib_dp_new(x->dp, &x->cfg, &x->fd)))
		return rc;
	x->inner = fib_dp_fib(x->fd);
	if (target && (rc = routes_bridge_new(&loop, target, GB_CFG_DELIVER_LOCAL, &watch_cb, x, &x->rb)))
		return rc;
	x->e = evpn_new(&x->cfg, (struct fib){ &wrap_ops, x }, (struct route_out){ 0 }, 0);
	if (!x->e)
		return -ENOMEM;
	evpn_start(x->e, 0);
	return 0;
}

static void ctl_close(struct ctl *x)
{
	routes_bridge_free(x->rb);
	uv_run(&loop, UV_RUN_NOWAIT);
	evpn_free(x->e);
	fib_dp_unpin(x->fd);
	fib_dp_free(x->fd);
	if (x->dp) {
		xevpn_dp_uninstall(x->dp);
		xevpn_dp_close(x->dp);
	}
	xcfg_free(&x->cfg);
}

/* ---- routes ---- */

static void rd_ip(struct gb_rd *rd, const char *ip, uint32_t n)
{
	rd->type = GB_ADMIN_IP4;
	rd->admin = inet_addr(ip);
	rd->assigned = n;
}

static void base(struct gb_route *g, int type, const char *pe)
{
	memset(g, 0, sizeof(*g));
	g->type = (uint8_t)type;
	gb_esi_parse(ESI_STR, &g->esi);
	g->next_hop.family = AF_INET;
	g->next_hop.v4.s_addr = inet_addr(pe);
	g->n_rts = 1;
	g->rts[0] = (struct gb_rt){ GB_ADMIN_AS2, 65000, VNI };
	g->attrs = GB_ATTR_ENCAP;
	g->encap = GB_ENCAP_VXLAN;
}

static void ad_es(struct gb_route *g, const char *pe)
{
	base(g, GB_ROUTE_AD, pe);
	rd_ip(&g->rd, pe, 0);
	g->eth_tag = GB_ETAG_MAX;
	g->n_labels = 1;
	g->attrs |= GB_ATTR_ESI_LABEL;
}

static void ad_evi(struct gb_route *g, const char *pe)
{
	base(g, GB_ROUTE_AD, pe);
	rd_ip(&g->rd, pe, VNI);
	g->labels[0] = VNI;
	g->n_labels = 1;
}

static void mac_route(struct gb_route *g, const char *pe, uint32_t i)
{
	base(g, GB_ROUTE_MACIP, pe);
	rd_ip(&g->rd, pe, VNI);
	g->mac[0] = 0x02;
	g->mac[2] = (uint8_t)(i >> 24);
	g->mac[3] = (uint8_t)(i >> 16);
	g->mac[4] = (uint8_t)(i >> 8);
	g->mac[5] = (uint8_t)i;
	g->labels[0] = VNI;
	g->n_labels = 1;
}

/* MACs n0..n0+n-1, alternating between the two PEs, all on the ES. */
static void feed_macs(struct ctl *x, uint32_t n0, uint32_t n)
{
	struct gb_route g;

	for (uint32_t i = n0; i < n0 + n; i++) {
		mac_route(&g, (i & 1) ? PE_B : PE_A, i);
		routes_bridge_deliver(x->rb, &g);
	}
}

static void feed_ad(struct ctl *x, const char *pe)
{
	struct gb_route g;

	ad_es(&g, pe);
	routes_bridge_deliver(x->rb, &g);
	ad_evi(&g, pe);
	routes_bridge_deliver(x->rb, &g);
}

/* ---- 1. programming rate ---- */

static double bench_program(uint32_t n)
{
	struct ctl x;
	const struct fib_dp_counts *c;
	uint64_t t0, t1, before;
	double rate = -1;
	char inst[32];

	snprintf(inst, sizeof(inst), "prog%u", n);
	if (ctl_open(&x, inst, NULL))
		goto out;
	/* no gobgpd: only the watch handler is used */
	if (routes_bridge_new(&loop, NULL, 0, &watch_cb, &x, &x.rb))
		goto out;
	feed_ad(&x, PE_A);
	feed_ad(&x, PE_B);
	c = fib_dp_counts(x.fd);
	before = c->fdb_set;
	t0 = now_ns();
	feed_macs(&x, 0, n);
	t1 = now_ns();
	if (c->fdb_set - before != n) {
		fprintf(stderr, "bench_ctl: %u routes but %llu FDB writes (errors %llu)\n", n,
			(unsigned long long)(c->fdb_set - before), (unsigned long long)c->errors);
		goto out;
	}
	rate = n / ((double)(t1 - t0) / 1e9);
out:
	ctl_close(&x);
	return rate;
}

/* ---- 2. mass withdraw ---- */

static bool run_until(bool (*done)(void *), void *arg, int timeout_ms)
{
	uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000ull;

	while (!done(arg)) {
		if (now_ns() > end)
			return false;
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(200);
	}
	return true;
}

static bool group_of(struct ctl *x, unsigned want)
{
	esi_t esi;
	struct evpn_es *es;

	esi_parse(ESI_STR, &esi);
	es = evpn_es_find(x->e, &esi);
	return es && (es->flags & EVPN_ES_GROUP_WRITTEN) && es->n_group == want;
}
static bool group2(void *a) { return group_of(a, 2); }
static bool flipped(void *a) { return ((struct ctl *)a)->t_flip != 0; }

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Median microseconds from the withdraw's arrival to the group swap. */
static double bench_flip(const char *target, struct gb_client *feeder, uint32_t macs,
			 double *ctl_us)
{
	struct ctl x;
	struct gb_route g;
	uint64_t us[REPS], cus[REPS];
	double res = -1;
	char inst[32];
	struct evpn_es *es;
	esi_t esi;
	int r;

	snprintf(inst, sizeof(inst), "flip%u", macs);
	if (ctl_open(&x, inst, target))
		goto out;
	/* A-D routes of both PEs through gobgpd */
	ad_es(&g, PE_A);
	gb_add(feeder, &g);
	ad_evi(&g, PE_A);
	gb_add(feeder, &g);
	ad_es(&g, PE_B);
	gb_add(feeder, &g);
	ad_evi(&g, PE_B);
	gb_add(feeder, &g);
	gb_flush(feeder);
	if (!run_until(group2, &x, 20000)) {
		fprintf(stderr, "bench_ctl: ES group never reached 2 VTEPs\n");
		goto out;
	}
	feed_macs(&x, 0, macs);
	esi_parse(ESI_STR, &esi);
	es = evpn_es_find(x.e, &esi);
	for (r = 0; r < REPS; r++) {
		struct watcher w;
		uint64_t seen;

		x.t_arrive = x.t_call = x.t_flip = 0;
		if (!es || watcher_start(&w, xevpn_dp_map_fd(x.dp, "xevpn_es_nh"), es->id)) {
			fprintf(stderr, "bench_ctl: cannot watch the ES group\n");
			goto out;
		}
		x.armed = true;
		ad_es(&g, PE_B);
		gb_withdraw(feeder, &g);
		gb_flush(feeder);
		if (!run_until(flipped, &x, 20000) || !x.t_arrive) {
			watcher_stop(&w);
			fprintf(stderr, "bench_ctl: no flip after the withdraw\n");
			goto out;
		}
		seen = watcher_stop(&w);
		x.armed = false;
		if (seen && seen < x.t_flip)
			x.t_flip = seen;
		us[r] = (x.t_flip - x.t_arrive) / 1000;
		cus[r] = (x.t_call - x.t_arrive) / 1000;
		if (!group_of(&x, 1)) {
			fprintf(stderr, "bench_ctl: group did not shrink to 1\n");
			goto out;
		}
		gb_add(feeder, &g);
		gb_flush(feeder);
		if (!run_until(group2, &x, 20000))
			goto out;
	}
	qsort(us, REPS, sizeof(us[0]), cmp_u64);
	res = us[REPS / 2] ? (double)us[REPS / 2] : 1;
	qsort(cus, REPS, sizeof(cus[0]), cmp_u64);
	*ctl_us = (double)cus[REPS / 2];
	/* leave gobgpd empty for the next run */
	ad_es(&g, PE_A);
	gb_withdraw(feeder, &g);
	ad_evi(&g, PE_A);
	gb_withdraw(feeder, &g);
	ad_es(&g, PE_B);
	gb_withdraw(feeder, &g);
	ad_evi(&g, PE_B);
	gb_withdraw(feeder, &g);
	gb_flush(feeder);
	for (int i = 0; i < 50; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(2000);
	}
out:
	ctl_close(&x);
	return res;
}

/* ---- gobgpd ---- */

struct gobgpd {
	struct xt_proc p;
	char sock[XT_PATH_MAX], conf[XT_PATH_MAX], target[XT_PATH_MAX + 8];
};

static int gobgpd_start(struct gobgpd *g)
{
	char api[XT_PATH_MAX + 32];
	FILE *f;

	snprintf(g->conf, sizeof(g->conf), "%s/bench-gobgpd.toml", xt_state_dir());
	snprintf(g->sock, sizeof(g->sock), "%s/bench-gobgpd.sock", xt_state_dir());
	snprintf(g->target, sizeof(g->target), "unix:%s", g->sock);
	f = fopen(g->conf, "w");
	if (!f)
		return -errno;
	fprintf(f, "[global.config]\n  as = 65000\n  router-id = \"192.0.2.250\"\n  port = -1\n");
	fclose(f);
	snprintf(api, sizeof(api), "--api-hosts=unix://%s", g->sock);
	char *argv[] = { "gobgpd", "-f", g->conf, "-t", "toml", api, "--pprof-disable", NULL };
	if (xt_ns_create("gb") || xt_spawn("gb", "bench-gobgpd", argv, NULL, 0, &g->p))
		return -EIO;
	for (int i = 0; i < 150 && access(g->sock, F_OK); i++)
		usleep(100000);
	return access(g->sock, F_OK) ? -ETIMEDOUT : 0;
}

static bool feeder_up(void *a)
{
	return gb_is_up(a);
}

int main(void)
{
	double p10k, p60k, f1k, f100k, c1k = 0, c100k = 0;
	struct gobgpd g = { 0 };
	struct gb_client *feeder = NULL;
	struct gb_config gc = { 0 };
	int rc = 1;

	log_level = LOG_WARNING;
	if (uv_loop_init(&loop) || xt_bpffs_mount("bench-ctl", bpffs, sizeof(bpffs))) {
		fprintf(stderr, "bench_ctl: setup failed\n");
		goto out;
	}
	p10k = bench_program(10000);
	/* the dataplane FDB holds XEVPN_MAX_FDB (65536) entries: 60k is the
	 * largest dump that still fits beside the other entries */
	p60k = bench_program(60000);
	if (p10k < 0 || p60k < 0)
		goto out;

	if (gobgpd_start(&g)) {
		fprintf(stderr, "bench_ctl: cannot start gobgpd\n");
		goto out;
	}
	gc.loop = &loop;
	gc.target = g.target;
	gc.flags = GB_CFG_NO_WATCH;
	if (gb_client_new(&gc, &feeder) || !run_until(feeder_up, feeder, 15000)) {
		fprintf(stderr, "bench_ctl: cannot connect to gobgpd\n");
		goto out;
	}
	f1k = bench_flip(g.target, feeder, 1000, &c1k);
	f100k = bench_flip(g.target, feeder, 100000, &c100k);
	if (f1k < 0 || f100k < 0)
		goto out;
	printf("# remote ES MACs from a watch dump through the watch handler into the BPF FDB\n");
	printf("BENCH remote_macs_programmed_per_s %.0f\n", p10k);
	printf("BENCH remote_macs_programmed_per_s_10k %.0f\n", p10k);
	printf("BENCH remote_macs_programmed_per_s_60k %.0f\n", p60k);
	printf("# per-ES A-D withdraw through gobgpd: arrival at the controller -> new group seen\n"
	       "# by a map reader (median of %d); 100k MACs in the model, the FDB map holds 65536\n",
	       REPS);
	printf("BENCH mass_withdraw_flip_us_1k %.0f\n", f1k);
	printf("BENCH mass_withdraw_flip_us_100k %.0f\n", f100k);
	printf("BENCH mass_withdraw_ratio_100k_vs_1k %.2f\n", f100k / f1k);
	printf("# of which controller work before the map update syscall\n");
	printf("BENCH mass_withdraw_ctl_us_1k %.0f\n", c1k);
	printf("BENCH mass_withdraw_ctl_us_100k %.0f\n", c100k);
	rc = 0;
out:
	if (feeder) {
		gb_client_free(feeder);
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	if (g.p.pid)
		xt_proc_stop(&g.p, 3000);
	xt_cleanup();
	return rc;
}
