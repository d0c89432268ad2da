// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Dataplane properties beyond single frames: aliasing (one flow, one VTEP;
 * many flows, every VTEP), learn events over the ring buffer (new, moved,
 * rate-limited), MAC last-seen times, the route cache following route and
 * neighbour changes, the ES next-hop group swap seen whole by concurrent
 * readers, and a fuzz run of random and mutated frames through every program.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "env.h"
#include "pkt.h"

static struct env e;

static void setup(void)
{
	cr_assert_eq(env_setup(&e), 0, "test leaf setup");
}

static void teardown(void)
{
	env_teardown(&e);
}

static __be32 outer_dst(const struct pkt_result *r)
{
	__be32 d;

	memcpy(&d, r->out + 30, 4);
	return d;
}

Test(props, aliasing_sticky_and_spread, .init = setup, .fini = teardown)
{
	static struct pkt_result r;
	__u8 in[128];
	int n3 = 0, n4 = 0;

	for (int flow = 0; flow < 256; flow++) {
		size_t n = mk_inner(in, MAC_R2, MAC_H1, 1024 + flow);
		__be32 first;

		pkt_run_xdp(e.xdp_access, e.acc1, in, n, &r);
		cr_assert_eq(r.retval, XDP_REDIRECT);
		first = outer_dst(&r);
		pkt_run_xdp(e.xdp_access, e.acc1, in, n, &r);
		cr_assert_eq(outer_dst(&r), first, "flow %d changed VTEP", flow);
		if (first == IP("192.0.2.3"))
			n3++;
		else if (first == IP("192.0.2.4"))
			n4++;
		else
			cr_assert_fail("flow %d sent outside the ES group", flow);
	}
	cr_log_info("aliasing: %d flows to .3, %d to .4", n3, n4);
	cr_assert(n3 > 256 / 5 && n4 > 256 / 5, "flows not spread: %d / %d", n3, n4);
}

struct learn_log {
	struct xevpn_learn_event ev[16];
	int n;
};

static int on_learn(void *ctx, const struct xevpn_learn_event *ev)
{
	struct learn_log *l = ctx;

	if (l->n < 16)
		l->ev[l->n++] = *ev;
	return 0;
}

Test(props, learn_events, .init = setup, .fini = teardown)
{
	static struct pkt_result r;
	struct learn_log log = { 0 };
	struct xevpn_fdb_entry fe;
	__u8 in[128];
	size_t n;

	cr_assert_eq(xevpn_dp_learn_open(e.dp, on_learn, &log), 0);
	cr_assert_geq(xevpn_dp_learn_fd(e.dp), 0);
	/* new MAC on a single-homed port */
	n = mk_inner(in, MAC_BCAST, MAC_H4, 1000);
	pkt_run_xdp(e.xdp_access, e.acc1, in, n, &r);
	pkt_run_xdp(e.xdp_access, e.acc1, in, n, &r); /* same again: no event */
	cr_assert_eq(xevpn_dp_learn_consume(e.dp), 1);
	cr_assert_eq(log.n, 1);
	cr_assert_eq(memcmp(log.ev[0].mac, MAC_H4, 6), 0);
	cr_assert_eq(log.ev[0].vni, VNI_A);
	cr_assert_eq(log.ev[0].ifindex, e.acc1);
	cr_assert_eq(log.ev[0].old_type, XEVPN_FDB_NONE);
	cr_assert_eq(xevpn_dp_fdb_get(e.dp, VNI_A, MAC_H4, &fe), 0);
	cr_assert_eq(fe.type, XEVPN_FDB_LOCAL);
	cr_assert_eq(fe.ifindex, e.acc1);
	/* moved to the ES port: learned as an ES MAC, event says where it was */
	n = mk_inner(in, MAC_BCAST, MAC_H4, 1000);
	pkt_run_xdp(e.xdp_access, e.acc2, in, n, &r);
	cr_assert_eq(xevpn_dp_learn_consume(e.dp), 1);
	cr_assert_eq(log.ev[1].es_id, ES_LOCAL);
	cr_assert_eq(log.ev[1].old_type, XEVPN_FDB_LOCAL);
	cr_assert_eq(log.ev[1].old_ifindex, e.acc1);
	cr_assert_eq(xevpn_dp_fdb_get(e.dp, VNI_A, MAC_H4, &fe), 0);
	cr_assert_eq(fe.type, XEVPN_FDB_ES);
	cr_assert_eq(fe.es_id, ES_LOCAL);
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Per-CPU caches: keep every run of a test on one CPU. */
static void pin_here(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	CPU_ZERO(&set);
	CPU_SET(cpu < 0 ? 0 : cpu, &set);
	cr_assert_eq(sched_setaffinity(0, sizeof(set), &set), 0);
}

#define REFRESH_NS (XEVPN_SEEN_REFRESH_MS * 1000000ULL)
#define TICK_NS    10000000ULL /* coarse clock resolution, generously */

Test(props, mac_last_seen, .init = setup, .fini = teardown)
{
	static struct pkt_result r;
	__u64 t0, t1, seen, seen2;
	__u32 port = 0;
	struct xevpn_fdb_entry fe;
	__u8 in[128];
	size_t n = mk_inner(in, MAC_BCAST, MAC_H4, 1000);

	pin_here();
	cr_assert_eq(xevpn_dp_fdb_last_seen(e.dp, VNI_A, MAC_H4, &seen, NULL), -ENOENT,
		     "a MAC never sent has no last-seen time");
	t0 = mono_ns();
	pkt_run_xdp(e.xdp_access, e.acc1, in, n, &r);
	t1 = mono_ns();
	cr_assert_eq(xevpn_dp_fdb_last_seen(e.dp, VNI_A, MAC_H4, &seen, &port), 0);
	cr_assert_eq(port, e.acc1);
	cr_assert(seen + TICK_NS >= t0 && seen <= t1, "seen %llu outside [%llu, %llu]",
		  (unsigned long long)seen, (unsigned long long)t0, (unsigned long long)t1);
	/* not refreshed by every frame (no write per packet) ... */
	pkt_run_xdp(e.xdp_access, e.acc1, in, n, &r);
	if (mono_ns() - t0 < REFRESH_NS / 2) {
		cr_assert_eq(xevpn_dp_fdb_last_seen(e.dp, VNI_A, MAC_H4, &seen2, NULL), 0);
		cr_assert_eq(seen2, seen, "last-seen rewritten within the refresh period");
	}
	/* ... but by the first frame after it */
	usleep((XEVPN_SEEN_REFRESH_MS + 20) * 1000);
	t0 = mono_ns();
	pkt_run_xdp(e.xdp_access, e.acc1, in, n, &r);
	cr_assert_eq(xevpn_dp_fdb_last_seen(e.dp, VNI_A, MAC_H4, &seen2, NULL), 0);
	cr_assert(seen2 > seen && seen2 + TICK_NS >= t0, "last-seen not refreshed");
	/* other BD, same MAC: no record */
	cr_assert_eq(xevpn_dp_fdb_last_seen(e.dp, VNI_B, MAC_H4, &seen, NULL), -ENOENT);

	/* skipping the FDB check is bounded: a removed entry is learned again
	 * by the first frame after the refresh period */
	cr_assert_eq(xevpn_dp_fdb_del(e.dp, VNI_A, MAC_H4), 0);
	usleep((XEVPN_SEEN_REFRESH_MS + 20) * 1000);
	pkt_run_xdp(e.xdp_access, e.acc1, in, n, &r);
	cr_assert_eq(xevpn_dp_fdb_get(e.dp, VNI_A, MAC_H4, &fe), 0, "MAC not learned again");
	cr_assert_eq(fe.ifindex, e.acc1);
}

Test(props, route_cache_follows_changes, .init = setup, .fini = teardown)
{
	static struct pkt_result r;
	static const __u8 nh_new[6] = { 2, 0, 0, 0, 2, 0x99 };
	__u8 in[PKT_MAX];
	size_t n = mk_inner(in, MAC_R1, MAC_H1, 1000);
	__u64 drops;

	pin_here();
	/* first frame fills the cache, the next ones use it: same bytes, valid checksum */
	for (int i = 0; i < 3; i++) {
		pkt_run_xdp(e.xdp_access, e.acc1, in, n, &r);
		cr_assert_eq(r.retval, XDP_REDIRECT);
		cr_assert_eq(memcmp(r.out, MAC_NH2, 6), 0, "next hop MAC");
		cr_assert_eq(pkt_csum(r.out + 14, 20), 0, "outer IPv4 checksum");
	}
	/* another length from the cached template: checksum still right */
	n = mk_inner(in, MAC_R1, MAC_H1, 1000) + 300;
	memset(in + n - 300, 0xa5, 300);
	pkt_run_xdp(e.xdp_access, e.acc1, in, n, &r);
	cr_assert_eq(r.retval, XDP_REDIRECT);
	cr_assert_eq(r.out_len, n + 50);
	cr_assert_eq(pkt_csum(r.out + 14, 20), 0, "outer IPv4 checksum, other length");
	cr_assert_eq((r.out[16] << 8 | r.out[17]), n + 36, "outer total length");
	cr_assert_eq((r.out[38] << 8 | r.out[39]), n + 16, "UDP length");
	/* the cached route still enforces the underlay MTU */
	drops = env_ctr(&e, XEVPN_CTR_DROP_MTU);
	n = mk_inner(in, MAC_R1, MAC_H1, 1000) + 1500;
	pkt_run_xdp(e.xdp_access, e.acc1, in, n, &r);
	cr_assert_eq(r.retval, XDP_DROP);
	cr_assert_eq(env_ctr(&e, XEVPN_CTR_DROP_MTU), drops + 1, "MTU drop from the cache");

	/* neighbour MAC changes: an explicit flush applies it at once */
	n = mk_inner(in, MAC_R1, MAC_H1, 1000);
	cr_assert_eq(pkt_sh("ip neigh replace 192.0.2.2 lladdr 02:00:00:00:02:99 dev up0 nud permanent"), 0);
	cr_assert_eq(xevpn_dp_route_cache_flush(e.dp), 0);
	pkt_run_xdp(e.xdp_access, e.acc1, in, n, &r);
	cr_assert_eq(memcmp(r.out, nh_new, 6), 0, "flush did not apply the new neighbour");
	/* and without a flush, within the cache TTL */
	cr_assert_eq(pkt_sh("ip neigh replace 192.0.2.2 lladdr 02:00:00:00:02:02 dev up0 nud permanent"), 0);
	usleep((XEVPN_RT_CACHE_TTL_MS + 20) * 1000);
	pkt_run_xdp(e.xdp_access, e.acc1, in, n, &r);
	cr_assert_eq(memcmp(r.out, MAC_NH2, 6), 0, "stale neighbour after the TTL");
	/* route gone: no route, even though it was cached */
	cr_assert_eq(pkt_sh("ip neigh del 192.0.2.2 dev up0 && ip route add 192.0.2.2/32 via 192.0.2.9 dev up0"), 0);
	usleep((XEVPN_RT_CACHE_TTL_MS + 20) * 1000);
	pkt_run_xdp(e.xdp_access, e.acc1, in, n, &r);
	cr_assert_eq(r.retval, XDP_PASS, "unresolved next hop must go to the stack");
}

Test(props, learn_rate_limit, .init = setup, .fini = teardown)
{
	struct xevpn_config cfg = { .vtep_ip = IP("192.0.2.1"), .underlay_ifindex = e.up0,
				    .learn_events_per_sec = 2 };
	static struct pkt_result r;
	struct learn_log log = { 0 };
	__u8 in[128], mac[6] = { 2, 0, 0, 0, 0x55, 0 };
	struct xevpn_fdb_entry fe;

	cr_assert_eq(xevpn_dp_config_set(e.dp, &cfg), 0);
	cr_assert_eq(xevpn_dp_learn_open(e.dp, on_learn, &log), 0);
	for (int i = 0; i < 5; i++) {
		mac[5] = i + 1;
		pkt_run_xdp(e.xdp_access, e.acc1, in, mk_inner(in, MAC_BCAST, mac, 1000), &r);
		cr_assert_eq(r.retval, XDP_PASS); /* forwarding never waits for learning */
	}
	xevpn_dp_learn_consume(e.dp);
	/* a CPU switch in the middle gives that CPU its own budget */
	cr_assert_geq(log.n, 2);
	cr_assert_leq(log.n, 4);
	cr_assert_eq(env_ctr(&e, XEVPN_CTR_LEARN_EVENT), (__u64)log.n);
	cr_assert_eq(env_ctr(&e, XEVPN_CTR_LEARN_RATE_LIMITED), (__u64)(5 - log.n));
	/* a suppressed MAC is not in the FDB either: the next frame retries */
	mac[5] = 5;
	if (log.n == 2)
		cr_assert_eq(xevpn_dp_fdb_get(e.dp, VNI_A, mac, &fe), -ENOENT);
}

/*
 * ES next-hop group swap: a writer flips ES 2 between group A (2 VTEPs) and
 * group B (8 VTEPs) as fast as it can while readers push frames of many
 * flows to a MAC on ES 2. A torn group (count of one, members of the other)
 * shows as an empty slot (drop_es_group_empty) or a VTEP outside A and B.
 *
 * Each reader owns its result buffer: a shared one (like the static buffers
 * of the single-threaded tests) is overwritten by the other reader's
 * BPF_PROG_TEST_RUN between a run and the reading of its outer header, which
 * looks exactly like a frame sent outside both groups.
 */
#define FLIP_READERS   2
#define FLIP_FRAMES    100000 /* per reader, at least */
#define FLIP_MIN_FLIPS 200    /* readers go on until the writer made this many */

static atomic_int flip_stop;
static atomic_long flips;
static __be32 grp_a[2], grp_b[8];

static void *flip_writer(void *arg)
{
	while (!atomic_load(&flip_stop)) {
		cr_assert_eq(xevpn_dp_es_nh_set(e.dp, ES_REMOTE, grp_b, 8), 0);
		cr_assert_eq(xevpn_dp_es_nh_set(e.dp, ES_REMOTE, grp_a, 2), 0);
		atomic_fetch_add(&flips, 2);
	}
	return NULL;
}

static bool in_groups(__be32 a)
{
	for (int i = 0; i < 2; i++)
		if (a == grp_a[i])
			return true;
	for (int i = 0; i < 8; i++)
		if (a == grp_b[i])
			return true;
	return false;
}

/* Frames of one reader that were not a whole-group encap, by reason. */
struct flip_bad {
	long err, verdict, outside;
};

static void *flip_reader(void *arg)
{
	struct pkt_result *r = malloc(sizeof(*r)); /* this reader's only: see above */
	struct flip_bad *bad = calloc(1, sizeof(*bad));
	long seed = (long)arg, n_bad = 0;
	__u8 in[128];

	if (!r || !bad)
		abort();
	for (long i = 0; i < FLIP_FRAMES || atomic_load(&flips) < FLIP_MIN_FLIPS; i++) {
		size_t n = mk_inner(in, MAC_R2, MAC_H1, (i * 7919 + seed) & 0xffff);
		bool is_bad = true;

		if (pkt_run_xdp(e.xdp_access, e.acc1, in, n, r))
			bad->err++;
		else if (r->retval != XDP_REDIRECT)
			bad->verdict++;
		else if (r->out_len < 34 || !in_groups(outer_dst(r)))
			bad->outside++;
		else
			is_bad = false;
		if (is_bad && n_bad++ < 5)
			fprintf(stderr, "frame %ld: err %d verdict %u len %u outer dst %08x\n", i, r->err,
				r->retval, r->out_len, ntohl(outer_dst(r)));
	}
	free(r);
	return bad;
}

Test(props, es_group_swap_is_atomic, .init = setup, .fini = teardown)
{
	pthread_t w, rd[FLIP_READERS];
	struct flip_bad bad = { 0 };
	char ip[32];

	grp_a[0] = IP("192.0.2.3");
	grp_a[1] = IP("192.0.2.4");
	for (int i = 0; i < 8; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", 10 + i);
		grp_b[i] = IP(ip);
		cr_assert_eq(pkt_sh("ip neigh replace %s lladdr 02:00:00:00:0a:%02x dev up0 nud permanent", ip, i), 0);
	}
	cr_assert_eq(pthread_create(&w, NULL, flip_writer, NULL), 0);
	for (long i = 0; i < FLIP_READERS; i++)
		cr_assert_eq(pthread_create(&rd[i], NULL, flip_reader, (void *)i), 0);
	for (int i = 0; i < FLIP_READERS; i++) {
		struct flip_bad *b;

		pthread_join(rd[i], (void **)&b);
		bad.err += b->err;
		bad.verdict += b->verdict;
		bad.outside += b->outside;
		free(b);
	}
	atomic_store(&flip_stop, 1);
	pthread_join(w, NULL);
	cr_log_info("es group swap: %ld flips during %d frames", atomic_load(&flips), FLIP_READERS * FLIP_FRAMES);
	printf("RESULT es_group_flips %ld\n", atomic_load(&flips));
	cr_assert_geq(atomic_load(&flips), FLIP_MIN_FLIPS, "the writer barely ran");
	cr_assert_eq(env_ctr(&e, XEVPN_CTR_DROP_ES_GROUP_EMPTY), 0, "a reader saw a torn group");
	cr_assert_eq(bad.err + bad.verdict + bad.outside, 0,
		     "frames not sent to a whole group: %ld test_run errors, %ld other verdicts, "
		     "%ld outside both groups", bad.err, bad.verdict, bad.outside);
}

/* Many groups in one call: every ES flips, each to its own new group. */
Test(props, es_group_set_many, .init = setup, .fini = teardown)
{
	static struct pkt_result r;
	struct xevpn_dp_es_nh g[3] = { { .es_id = ES_REMOTE, .n = 1 }, { .es_id = 10, .n = 2 },
					 { .es_id = 11, .n = 1 } };
	struct xevpn_nh_group got;
	__u8 in[128];

	g[0].vtep[0] = IP("192.0.2.4");
	g[1].vtep[0] = IP("192.0.2.3");
	g[1].vtep[1] = IP("192.0.2.2");
	g[2].vtep[0] = IP("192.0.2.2");
	cr_assert_eq(xevpn_dp_es_nh_set_many(e.dp, g, 3), 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(xevpn_dp_es_nh_get(e.dp, g[i].es_id, &got), 0);
		cr_assert_eq(got.count, g[i].n);
		cr_assert_eq(memcmp(got.vtep, g[i].vtep, g[i].n * 4), 0, "es %u group", g[i].es_id);
	}
	/* the dataplane follows: every flow to ES 2 now goes to .4 only */
	for (int flow = 0; flow < 32; flow++) {
		pkt_run_xdp(e.xdp_access, e.acc1, in, mk_inner(in, MAC_R2, MAC_H1, 2000 + flow), &r);
		cr_assert_eq(r.retval, XDP_REDIRECT);
		cr_assert_eq(outer_dst(&r), IP("192.0.2.4"), "flow %d", flow);
	}
	g[1].vtep[0] = 0; /* a bad group is refused */
	cr_assert_eq(xevpn_dp_es_nh_set_many(e.dp, g, 3), -EINVAL);
}

/* ---- fuzz ---- */
static __u64 rng_state = 0x9e3779b97f4a7c15ULL;

static __u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* One frame: a valid template with a few random byte changes and a random
 * cut, or plain random bytes. Returns its length (>= 14). */
static size_t fuzz_frame(__u8 *b)
{
	size_t n;
	int kind = rnd() % 8;

	switch (kind) {
	case 0:
		n = 14 + rnd() % 200;
		for (size_t i = 0; i < n; i++)
			b[i] = rnd();
		return n;
	case 1: n = mk_inner(b, MAC_BCAST, MAC_H1, rnd()); break;
	case 2: n = mk_inner(b, MAC_R2, MAC_H1, rnd()); break;
	case 3: n = mk_inner_vlan(b, MAC_H1, MAC_H3, rnd() % 4 ? 10 : rnd() % 4096, rnd()); break;
	case 4: n = mk_vxlan(b, "192.0.2.2", VNI_A, MAC_H1, MAC_R1); break;
	case 5: n = mk_vxlan(b, "192.0.2.3", VNI_A, MAC_BCAST, MAC_R2); break;
	case 6: n = mk_vxlan(b, "192.0.2.3", VNI_A, MAC_H2, MAC_R2); break;
	default: n = mk_inner(b, MAC_H3, MAC_H1, rnd()); break;
	}
	for (int m = rnd() % 4; m > 0; m--)
		b[rnd() % n] ^= 1 << (rnd() % 8);
	if (rnd() % 4 == 0)
		n = 14 + rnd() % (n - 13);
	return n;
}

/* IPv4/IPv6 ethertype (maybe behind one tag) without a whole network header */
static bool l3_truncated(const __u8 *b, size_t n)
{
	size_t off = 12;
	__u16 t = b[off] << 8 | b[off + 1];

	if ((t == 0x8100 || t == 0x88a8) && n >= 18) {
		off += 4;
		t = b[off] << 8 | b[off + 1];
	}
	return (t == 0x0800 && n < off + 2 + 20) || (t == 0x86dd && n < off + 2 + 40);
}

static void fuzz_prog(const char *name, int fd, bool xdp, const __u32 *ports, int nports,
		      long frames)
{
	static struct pkt_result r;
	__u8 in[512];
	__u64 before = env_verdicts(&e);
	long ran = 0, refused = 0;

	for (long i = 0; ran < frames; i++) {
		size_t n = fuzz_frame(in);
		__u32 port = ports[rnd() % nports];

		if (xdp)
			pkt_run_xdp(fd, port, in, n, &r);
		else
			pkt_run_tc(fd, port, in, n, &r);
		if (r.err && !xdp && r.err == -EINVAL && l3_truncated(in, n)) {
			refused++; /* skb test_run wants a whole IP header; TC never ran */
			continue;
		}
		if (r.err) {
			pkt_hexdump("refused frame", in, n);
			cr_assert_eq(r.err, 0, "frame %ld: test_run error %d", i, r.err);
		}
		if (xdp)
			cr_assert(r.retval == XDP_PASS || r.retval == XDP_DROP || r.retval == XDP_REDIRECT,
				  "frame %ld: XDP verdict %u", i, r.retval);
		else
			cr_assert(r.retval == TC_ACT_OK || r.retval == TC_ACT_SHOT ||
				  r.retval == TC_ACT_REDIRECT, "frame %ld: TC verdict %u", i, r.retval);
		ran++;
	}
	cr_assert_eq(env_verdicts(&e) - before, (__u64)ran, "verdict counters do not add up");
	cr_assert_lt(refused, frames / 5, "too many frames refused by the kernel: %ld", refused);
	printf("RESULT fuzz_frames_%s %ld\n", name, ran);
}

static long fuzz_frames(long dflt)
{
	const char *s = getenv("XEVPN_FUZZ_FRAMES");

	return s ? atol(s) : dflt;
}

Test(fuzz, xdp_access, .init = setup, .fini = teardown)
{
	__u32 ports[] = { e.acc1, e.acc2, e.acc3, e.up0 };

	rng_state ^= time(NULL);
	fuzz_prog("xdp_access", e.xdp_access, true, ports, 4, fuzz_frames(1000000));
}

Test(fuzz, xdp_uplink, .init = setup, .fini = teardown)
{
	__u32 ports[] = { e.up0, e.acc1 };

	rng_state ^= time(NULL) * 3;
	fuzz_prog("xdp_uplink", e.xdp_uplink, true, ports, 2, fuzz_frames(1000000));
}

Test(fuzz, tc, .init = setup, .fini = teardown)
{
	__u32 ports[] = { e.acc1, e.acc2, e.acc3, e.up0 };

	rng_state ^= time(NULL) * 5;
	fuzz_prog("tc", e.tc, false, ports, 4, fuzz_frames(1000000));
}
