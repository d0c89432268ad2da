// SPDX-License-Identifier: GPL-2.0
/*
 * MAC aging of xevpnd's map writer (ctl/fib_dp.c) over the real dataplane:
 * the packet-test leaf of selftests/dataplane/env.h, frames through the XDP
 * access program with BPF_PROG_TEST_RUN, and the aging round of the model
 * (evpn.c mac_age: a local MAC not refreshed within mac-aging is asked for
 * its last-seen time, then withdrawn if still older) run against fib_dp's
 * fdb_last_seen every tick.
 *
 *   acc1 --(XDP access)--> learns H4 (keeps sending) and H5 (sends once)
 *
 * An active MAC must never be withdrawn nor lose its FDB entry (no
 * delete-and-relearn probe while the dataplane saw it recently); an idle
 * one is withdrawn after mac-aging plus at most the probe round.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "env.h"
#include "pkt.h"
#include "config.h"
#include "fib.h"
#include "fib_dp.h"

#define AGING_MS 1000
#define TICK_MS  50

static const __u8 MAC_ACTIVE[6] = { 2, 0, 0, 0, 0, 4 }; /* MAC_H4 of env.c: not in the FDB */
static const __u8 MAC_IDLE[6] = { 2, 0, 0, 0, 0x0a, 0x05 };

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct model_mac {
	const __u8 *mac;
	uint64_t last_seen_ms;
	bool withdrawn;
	uint64_t withdrawn_at;
};

/* One aging round as evpn.c's mac_age() runs it. */
static void age_round(struct fib *fb, struct model_mac *m, int n, uint64_t now)
{
	uint64_t cut = now - AGING_MS, seen;

	for (int i = 0; i < n; i++) {
		if (m[i].withdrawn || m[i].last_seen_ms >= cut)
			continue;
		if (!fb->ops->fdb_last_seen(fb->ctx, VNI_A, m[i].mac, &seen) && seen > m[i].last_seen_ms)
			m[i].last_seen_ms = seen;
		if (m[i].last_seen_ms < cut) {
			m[i].withdrawn = true;
			m[i].withdrawn_at = now;
		}
	}
}

static void send_from(struct env *e, const __u8 *src)
{
	static __u8 b[PKT_MAX];
	struct pkt_result r;
	size_t n = mk_inner(b, MAC_H2, src, 1000);

	pkt_run_xdp(e->xdp_access, e->acc1, b, n, &r);
	cr_assert_eq(r.err, 0);
	cr_assert_eq(r.retval, XDP_REDIRECT, "frame from the host not forwarded");
}

Test(aging, active_mac_survives_idle_mac_withdrawn, .timeout = 30)
{
	char root[256];
	const char *run = getenv("XEVPN_TEST_RUN");
	struct xcfg cfg;
	struct fib_dp *f;
	struct fib fb;
	struct env e;
	struct xevpn_fdb_entry fe;
	struct model_mac m[2] = { { .mac = MAC_ACTIVE }, { .mac = MAC_IDLE } };
	uint64_t t0, probes_active = 0;

	/* a plain directory: the writer's own map cannot pin there, and nothing
	 * touches the machine's pin root */
	snprintf(root, sizeof(root), "/run/xevpn-test/%s", run ? run : "xtaging");
	mkdir("/run/xevpn-test", 0755);
	mkdir(root, 0755);
	snprintf(root + strlen(root), sizeof(root) - strlen(root), "/aging-%d", (int)getpid());
	mkdir(root, 0755);
	env_pin_root = root;
	cr_assert_eq(env_setup(&e), 0, "test leaf");
	memset(&cfg, 0, sizeof(cfg));
	cfg.mac_aging_ms = AGING_MS;
	cr_assert_eq(fib_dp_new(e.dp, &cfg, &f), 0);
	fb = fib_dp_fib(f);
	cr_assert(fb.ops->fdb_last_seen, "the writer answers last-seen queries");

	send_from(&e, MAC_ACTIVE);
	send_from(&e, MAC_IDLE);
	t0 = now_ms();
	m[0].last_seen_ms = m[1].last_seen_ms = t0; /* the learn events */
	cr_assert_eq(xevpn_dp_fdb_get(e.dp, VNI_A, MAC_ACTIVE, &fe), 0, "active MAC learned");
	cr_assert_eq(xevpn_dp_fdb_get(e.dp, VNI_A, MAC_IDLE, &fe), 0, "idle MAC learned");

	/* 2.5 aging periods: the idle MAC must go, the active one must stay */
	while (now_ms() - t0 < AGING_MS * 5 / 2) {
		uint64_t before = fib_dp_counts(f)->age_probes;

		send_from(&e, MAC_ACTIVE);
		usleep(TICK_MS * 1000);
		age_round(&fb, m, 1, now_ms());
		probes_active += fib_dp_counts(f)->age_probes - before;
		before = fib_dp_counts(f)->age_probes;
		age_round(&fb, m + 1, 1, now_ms());
		cr_assert_not(m[0].withdrawn, "active MAC withdrawn %llu ms after it was learned",
			      (unsigned long long)(now_ms() - t0));
		cr_assert_eq(xevpn_dp_fdb_get(e.dp, VNI_A, MAC_ACTIVE, &fe), 0,
			     "active MAC's FDB entry deleted (probed) at %llu ms",
			     (unsigned long long)(now_ms() - t0));
	}
	cr_assert_eq(probes_active, 0, "an active MAC was probed");
	cr_assert(m[1].withdrawn, "idle MAC not withdrawn after %d ms", AGING_MS * 5 / 2);
	cr_assert_geq(m[1].withdrawn_at - t0, AGING_MS, "idle MAC withdrawn before mac-aging");
	cr_assert_leq(m[1].withdrawn_at - t0, AGING_MS + AGING_MS / 4 + 4 * TICK_MS + 200,
		      "idle MAC withdrawn %llu ms after its last frame",
		      (unsigned long long)(m[1].withdrawn_at - t0));
	cr_assert_geq(fib_dp_counts(f)->age_probes, 1, "the idle MAC (old record) went through the probe");
	cr_assert_neq(xevpn_dp_fdb_get(e.dp, VNI_A, MAC_IDLE, &fe), 0, "idle MAC's entry still in the FDB");

	fib_dp_free(f);
	env_teardown(&e);
	rmdir(root);
}
