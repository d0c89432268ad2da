// SPDX-License-Identifier: GPL-2.0
/*
 * Health state machine on a fake clock: liveness (dead after miss x
 * interval), rise/fall sample counts, cooldown, leaving, single-member
 * groups, self-silence, self-fence timing, and key rotation across three
 * engines with no beat rejected.
 *
 * Node A is the engine under test; peers P and Q are scripted (their beats
 * built by the codec and fed to A at chosen times), so every sample is known:
 * A's group is added at t=0 with interval 100 and tick 100, so A samples at
 * t = 100, 200, ...; scripted beats land at t = x50 (between samples).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "sim.h"

static const uint8_t GID[16] = { 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0, 0, 1 };
static struct health_key K1 = { .len = 4, .key = "key1" };
static struct health_key K2 = { .len = 4, .key = "key2" };

static struct sim S;

static void fini(void)
{
	sim_free(&S);
}

static struct health_group_cfg gcfg(void)
{
	struct health_group_cfg gc = {
		.name = "es test", .interval_ms = 100, .tick_ms = 100, .miss = 3,
		.rise = 3, .fall = 2, .cooldown_ms = 1000,
	};

	memcpy(gc.evpn_id, GID, 16);
	return gc;
}

static struct sim_node *node_a(const struct health_group_cfg *gc)
{
	sim_init(&S);
	return sim_node_add(&S, "A", gc, &K1, 1);
}

/* P beats at from, from+step, ... <= to (flags 0). */
static void beats(struct sim_peer *p, struct sim_node *a, uint64_t from, uint64_t to,
		  uint64_t step)
{
	for (uint64_t t = from; t <= to; t += step) {
		sim_run_to(&S, t);
		cr_assert_eq(sim_peer_beat(p, a->g, 0), HEALTH_DROP_NONE, "beat at %lu", t);
		sim_drain(a);
	}
}

/* Peers P and Q both beating every 100 ms from 50 to 450 ms. */
static void two_peers_beating(struct sim_node *a, struct sim_peer *p, struct sim_peer *q)
{
	sim_peer_init(p, "P", GID, 100, &K1);
	sim_peer_init(q, "Q", GID, 100, &K1);
	for (uint64_t t = 50; t <= 450; t += 100) {
		sim_run_to(&S, t);
		cr_assert_eq(sim_peer_beat(p, a->g, 0), HEALTH_DROP_NONE, "P beat at %lu", t);
		cr_assert_eq(sim_peer_beat(q, a->g, 0), HEALTH_DROP_NONE, "Q beat at %lu", t);
	}
}

static uint64_t at(struct sim_node *n, enum health_event_type type, const char *peer)
{
	const struct health_event *e = sim_find(n, type, peer, NULL);

	cr_assert_not_null(e, "%s: no %s for %s", n->name, health_event_name(type),
			   peer ? peer : "-");
	return e->at_ms;
}

Test(fsm, rise_exact_samples, .fini = fini)
{
	struct health_group_cfg gc = gcfg();
	struct sim_node *a = node_a(&gc);
	struct sim_peer p;
	const struct health_event *e;

	sim_peer_init(&p, "P", GID, 100, &K1);
	beats(&p, a, 50, 450, 100);
	sim_run_to(&S, 500);
	cr_assert_eq(at(a, HEALTH_EV_PEER_UP, "P"), 50, "alive on the first beat");
	/* fit samples at 100, 200, 300: FIT at the third, not before */
	e = sim_find(a, HEALTH_EV_PEER_FIT, "P", NULL);
	cr_assert_not_null(e);
	cr_assert_eq(e->at_ms, 300);
	cr_assert(e->first, "first FIT from unknown is not a move");
	cr_assert_eq(sim_count(a, HEALTH_EV_PEER_FIT, "P"), 1);
	cr_assert_eq(health_group_members(a->g), 1);
}

Test(fsm, dead_after_miss_intervals_fine_tick, .fini = fini)
{
	struct health_group_cfg gc = gcfg();
	struct sim_node *a;
	struct sim_peer p;

	gc.tick_ms = 10;
	gc.fall = 1;
	a = node_a(&gc);
	sim_peer_init(&p, "P", GID, 100, &K1);
	beats(&p, a, 55, 255, 100);		/* last beat at 255 */
	sim_run_to(&S, 2000);
	/* silence >= 3 x 100 from 255: first sample at or after 555 is 560 */
	cr_assert_eq(at(a, HEALTH_EV_PEER_DOWN, "P"), 560);
	cr_assert_eq(at(a, HEALTH_EV_PEER_UNFIT, "P"), 560, "fall 1: verdict on the same sample");
	cr_assert_eq(sim_find(a, HEALTH_EV_PEER_DOWN, "P", NULL)->cause, HEALTH_CAUSE_TIMEOUT);
}

Test(fsm, fall_exact_samples, .fini = fini)
{
	struct health_group_cfg gc = gcfg();
	struct sim_node *a = node_a(&gc);
	struct sim_peer p;
	const struct health_event *e;

	sim_peer_init(&p, "P", GID, 100, &K1);
	beats(&p, a, 50, 250, 100);		/* FIT at 300 */
	sim_run_to(&S, 3000);
	/* dead at the first sample with silence >= 300 after 250: t = 600 */
	cr_assert_eq(at(a, HEALTH_EV_PEER_DOWN, "P"), 600);
	/* fall 2: unfit samples at 600 and 700 */
	e = sim_find(a, HEALTH_EV_PEER_UNFIT, "P", NULL);
	cr_assert_not_null(e);
	cr_assert_eq(e->at_ms, 700);
	cr_assert_eq(e->cause, HEALTH_CAUSE_TIMEOUT);
	cr_assert(e->takeover_ok, "A sends and its speaker is up: may take over");
	cr_assert_eq(sim_count(a, HEALTH_EV_PEER_UNFIT, "P"), 1);
}

static void rejoin_after_unfit(uint32_t cooldown_ms, uint64_t want_fit_at)
{
	struct health_group_cfg gc = gcfg();
	struct sim_node *a;
	struct sim_peer p;
	const struct health_event *e;
	unsigned from = 0;

	gc.cooldown_ms = cooldown_ms;
	a = node_a(&gc);
	sim_peer_init(&p, "P", GID, 100, &K1);
	beats(&p, a, 50, 250, 100);		/* FIT 300 (no move) */
	sim_run_to(&S, 740);			/* DOWN 600, UNFIT 700: a move */
	cr_assert_eq(at(a, HEALTH_EV_PEER_UNFIT, "P"), 700);
	beats(&p, a, 750, 2450, 100);		/* fit samples 800, 900, 1000, ... */
	sim_run_to(&S, 2500);
	cr_assert_eq(sim_find(a, HEALTH_EV_PEER_UP, "P", &(unsigned){ 1 })->at_ms, 750);
	sim_find(a, HEALTH_EV_PEER_FIT, "P", &from);	/* the first one, at 300 */
	e = sim_find(a, HEALTH_EV_PEER_FIT, "P", &from);
	cr_assert_not_null(e, "rejoined");
	cr_assert_eq(e->at_ms, want_fit_at, "FIT at %lu, want %lu", e->at_ms, want_fit_at);
	cr_assert_not(e->first, "a FIT after UNFIT is a move");
}

Test(fsm, rise_after_unfit_without_cooldown, .fini = fini)
{
	rejoin_after_unfit(0, 1000);		/* third fit sample */
}

Test(fsm, cooldown_defers_move, .fini = fini)
{
	rejoin_after_unfit(1000, 1700);		/* UNFIT at 700 + 1000 */
}

/* Beats 300 ms apart with miss 4: samples see silence 50, 150 (fit), 250
 * (late: > interval + tick = 200, but not dead: < 400), and again: two fit
 * samples never become three, so neither FIT nor DOWN. */
Test(fsm, late_beats_never_rise, .fini = fini)
{
	struct health_group_cfg gc = gcfg();
	struct sim_node *a;
	struct sim_peer p;

	gc.miss = 4;
	a = node_a(&gc);
	sim_peer_init(&p, "P", GID, 100, &K1);
	beats(&p, a, 50, 2950, 300);
	sim_run_to(&S, 3000);
	cr_assert_eq(sim_count(a, HEALTH_EV_PEER_UP, "P"), 1);
	cr_assert_eq(sim_count(a, HEALTH_EV_PEER_FIT, "P"), 0);
	cr_assert_eq(sim_count(a, HEALTH_EV_PEER_DOWN, "P"), 0);
}

Test(fsm, leaving_is_immediate_and_graceful, .fini = fini)
{
	struct health_group_cfg gc = gcfg();
	struct sim_node *a;
	struct sim_peer p, q;
	const struct health_event *e;

	gc.fall = 5;
	gc.fence_ms = 200;
	a = node_a(&gc);
	two_peers_beating(a, &p, &q);
	sim_run_to(&S, 490);
	/* Q leaves: down now, whatever fall says */
	cr_assert_eq(sim_peer_beat(&q, a->g, XEVPN_HB_F_LEAVING), HEALTH_DROP_NONE);
	sim_drain(a);
	cr_assert_eq(at(a, HEALTH_EV_PEER_DOWN, "Q"), 490);
	e = sim_find(a, HEALTH_EV_PEER_UNFIT, "Q", NULL);
	cr_assert_not_null(e);
	cr_assert_eq(e->at_ms, 490);
	cr_assert_eq(e->cause, HEALTH_CAUSE_LEAVING);
	cr_assert_eq(health_group_members(a->g), 1, "Q no longer counts");
	/* P leaves during the cooldown Q's move started: still immediate */
	sim_run_to(&S, 520);
	cr_assert_eq(sim_peer_beat(&p, a->g, XEVPN_HB_F_LEAVING), HEALTH_DROP_NONE);
	sim_drain(a);
	cr_assert_eq(at(a, HEALTH_EV_PEER_UNFIT, "P"), 520);
	cr_assert_eq(health_group_members(a->g), 0);
	/* everyone left: single-member now, losing the speaker fences nothing */
	health_engine_set_speaker(a->eng, false);
	sim_run_to(&S, 5000);
	cr_assert_eq(sim_count(a, HEALTH_EV_FENCE_ARMED, NULL), 0);
	cr_assert_eq(sim_count(a, HEALTH_EV_FENCE_FIRE, NULL), 0);
	/* P comes back: up at once, FIT after rise samples */
	health_engine_set_speaker(a->eng, true);
	beats(&p, a, 5050, 5450, 100);
	sim_run_to(&S, 5500);
	cr_assert_eq(sim_find(a, HEALTH_EV_PEER_UP, "P", &(unsigned){ 1 })->at_ms, 5050);
	cr_assert_eq(health_group_members(a->g), 1);
	cr_assert_eq(sim_count(a, HEALTH_EV_PEER_FIT, "P"), 2);
}

Test(fsm, single_member_never_acts, .fini = fini)
{
	struct health_group_cfg gc = gcfg();
	struct sim_node *a;
	struct health_stats st;

	gc.fence_ms = 300;
	a = node_a(&gc);
	health_engine_set_speaker(a->eng, false);
	sim_run_to(&S, 10000);
	cr_assert_eq(a->nev, 0, "no event at all, got %u (first %s)", a->nev,
		     a->nev ? health_event_name(a->ev[0].type) : "-");
	health_group_stats(a->g, &st);
	cr_assert_eq(st.tx_ok, 101, "still beating: 0, 100, ..., 10000");
	cr_assert_not(health_group_self_ok(a->g), "no speaker, no peer: isolated");
}

/* Fence: speaker lost AND no peer alive; fires at max(lost, last beat) + fence_ms. */
Test(fence, fires_at_deadline, .fini = fini)
{
	struct health_group_cfg gc = gcfg();
	struct sim_node *a;
	struct sim_peer p;
	const struct health_event *e;

	gc.fence_ms = 1000;
	a = node_a(&gc);
	sim_peer_init(&p, "P", GID, 100, &K1);
	beats(&p, a, 50, 450, 100);
	health_engine_set_speaker(a->eng, false);	/* at 450: P still alive */
	beats(&p, a, 550, 950, 100);
	sim_run_to(&S, 1240);
	cr_assert_eq(sim_count(a, HEALTH_EV_FENCE_ARMED, NULL), 0, "a peer is alive: not armed");
	sim_run_to(&S, 4000);
	e = sim_find(a, HEALTH_EV_FENCE_ARMED, NULL, NULL);
	cr_assert_not_null(e);
	cr_assert_eq(e->at_ms, 1300, "armed when P is declared dead");
	cr_assert_eq(e->fence_at_ms, 1950, "last beat 950 + 1000");
	cr_assert_eq(at(a, HEALTH_EV_FENCE_FIRE, NULL), 1950, "fires at the deadline exactly");
	cr_assert_eq(sim_count(a, HEALTH_EV_FENCE_FIRE, NULL), 1, "once");
	health_engine_set_speaker(a->eng, true);
	sim_drain(a);
	e = sim_find(a, HEALTH_EV_FENCE_CLEARED, NULL, NULL);
	cr_assert_not_null(e);
	cr_assert_eq(e->cause, HEALTH_CAUSE_SPEAKER);
}

Test(fence, deadline_counts_from_speaker_loss, .fini = fini)
{
	struct health_group_cfg gc = gcfg();
	struct sim_node *a;
	struct sim_peer p;

	gc.fence_ms = 1000;
	a = node_a(&gc);
	sim_peer_init(&p, "P", GID, 100, &K1);
	beats(&p, a, 50, 450, 100);
	sim_run_to(&S, 3000);		/* P dead since 800, speaker up: nothing */
	cr_assert_eq(sim_count(a, HEALTH_EV_FENCE_ARMED, NULL), 0, "underlay cut alone: no fence");
	cr_assert_eq(sim_count(a, HEALTH_EV_PEER_UNFIT, "P"), 1);
	health_engine_set_speaker(a->eng, false);
	sim_drain(a);
	cr_assert_eq(sim_find(a, HEALTH_EV_FENCE_ARMED, NULL, NULL)->fence_at_ms, 4000);
	sim_run_to(&S, 3999);
	cr_assert_eq(sim_count(a, HEALTH_EV_FENCE_FIRE, NULL), 0, "not before the deadline");
	sim_run_to(&S, 4000);
	cr_assert_eq(at(a, HEALTH_EV_FENCE_FIRE, NULL), 4000);
	/* a beat after the fire clears it */
	sim_run_to(&S, 4050);
	cr_assert_eq(sim_peer_beat(&p, a->g, 0), HEALTH_DROP_NONE);
	sim_drain(a);
	cr_assert_eq(sim_find(a, HEALTH_EV_FENCE_CLEARED, NULL, NULL)->cause, HEALTH_CAUSE_BEAT);
}

Test(fence, speaker_back_disarms, .fini = fini)
{
	struct health_group_cfg gc = gcfg();
	struct sim_node *a;
	struct sim_peer p;

	gc.fence_ms = 1000;
	a = node_a(&gc);
	sim_peer_init(&p, "P", GID, 100, &K1);
	beats(&p, a, 50, 450, 100);
	sim_run_to(&S, 3000);
	health_engine_set_speaker(a->eng, false);
	sim_run_to(&S, 3500);
	health_engine_set_speaker(a->eng, true);
	sim_run_to(&S, 8000);
	cr_assert_eq(sim_count(a, HEALTH_EV_FENCE_ARMED, NULL), 1);
	cr_assert_eq(sim_count(a, HEALTH_EV_FENCE_DISARMED, NULL), 1);
	cr_assert_eq(sim_count(a, HEALTH_EV_FENCE_FIRE, NULL), 0, "advisory: skipped, speaker back");
}

/* A silent candidate is never promoted: takeover_ok is false when this node
 * hears nobody and has no speaker, or cannot send. */
Test(fsm, takeover_needs_self_not_isolated, .fini = fini)
{
	struct health_group_cfg gc = gcfg();
	struct sim_node *a;
	struct sim_peer p, q;
	const struct health_event *e;

	gc.fall = 1;
	gc.cooldown_ms = 0;
	a = node_a(&gc);
	two_peers_beating(a, &p, &q);
	health_engine_set_speaker(a->eng, false);
	beats(&q, a, 550, 1450, 100);		/* P silent, Q alive */
	e = sim_find(a, HEALTH_EV_PEER_UNFIT, "P", NULL);
	cr_assert_not_null(e);
	cr_assert(e->takeover_ok, "Q still heard: A is not the isolated one");
	sim_run_to(&S, 3000);
	e = sim_find(a, HEALTH_EV_PEER_UNFIT, "Q", NULL);
	cr_assert_not_null(e);
	cr_assert_not(e->takeover_ok, "nobody heard and no speaker: A may be the isolated one");

	/* speaker back, but A's own beats fail to leave */
	health_engine_set_speaker(a->eng, true);
	beats(&p, a, 3050, 3450, 100);
	a->send_err = -ENETDOWN;
	sim_run_to(&S, 5000);
	for (unsigned from = 0; (e = sim_find(a, HEALTH_EV_PEER_UNFIT, "P", &from));)
		if (e->at_ms > 3450)
			break;
	cr_assert_not_null(e);
	cr_assert_not(e->takeover_ok, "A's beats do not leave: silent itself");
}

Test(fsm, restart_and_role_change, .fini = fini)
{
	struct health_group_cfg gc = gcfg();
	struct sim_node *a = node_a(&gc);
	struct sim_peer p;

	sim_peer_init(&p, "P", GID, 100, &K1);
	beats(&p, a, 50, 450, 100);
	p.b.role = XEVPN_HB_ROLE_PRIMARY;
	beats(&p, a, 550, 550, 100);
	cr_assert_eq(at(a, HEALTH_EV_PEER_ROLE, "P"), 550);
	/* restart: new boot id, seq from 1 */
	p.b.boot_id[0] ^= 0xff;
	p.b.seq = 0;
	beats(&p, a, 650, 950, 100);
	sim_run_to(&S, 1000);
	cr_assert_eq(at(a, HEALTH_EV_PEER_RESTART, "P"), 650);
	cr_assert_eq(sim_count(a, HEALTH_EV_PEER_DOWN, "P"), 0, "a quick restart is no outage");
}

Test(fsm, group_del_drops_queued_events, .fini = fini)
{
	struct health_group_cfg gc = gcfg();
	struct sim_node *a = node_a(&gc);
	struct sim_peer p;
	struct health_event ev;

	sim_peer_init(&p, "P", GID, 100, &K1);
	sim_run_to(&S, 50);
	cr_assert_eq(sim_peer_beat(&p, a->g, 0), HEALTH_DROP_NONE);	/* PEER_UP queued */
	health_group_del(a->g);
	a->g = NULL;
	cr_assert_eq(health_engine_next_event(a->eng, &ev), 0, "no event for a deleted group");
	cr_assert_eq(health_engine_next_due(a->eng), UINT64_MAX);
}

/* ---------- key rotation: three engines, no beat rejected ---------- */

static uint64_t total_rejected(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < S.n; i++) {
		struct health_stats st;

		health_group_stats(S.nodes[i].g, &st);
		for (int r = 1; r < HEALTH_DROP_MAX; r++)
			n += st.drops[r];
	}
	return n;
}

static uint64_t total_accepted(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < S.n; i++) {
		struct health_stats st;

		health_group_stats(S.nodes[i].g, &st);
		n += st.rx_ok;
	}
	return n;
}

static void three_nodes(void)
{
	struct health_group_cfg gc = gcfg();

	sim_init(&S);
	gc.cooldown_ms = 0;
	/* staggered starts so beats interleave */
	sim_node_add(&S, "n1", &gc, &K1, 1);
	sim_run_to(&S, 30);
	sim_node_add(&S, "n2", &gc, &K1, 1);
	sim_run_to(&S, 70);
	sim_node_add(&S, "n3", &gc, &K1, 1);
	sim_run_to(&S, 2000);
	cr_assert_eq(total_rejected(), 0);
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(sim_count(&S.nodes[i], HEALTH_EV_PEER_FIT, NULL), 2);
}

/* One node at a time, 250 ms apart, as an operator's rollout would. */
static void rollout(const struct health_key *keys, unsigned n)
{
	for (unsigned i = 0; i < S.n; i++) {
		cr_assert_eq(health_group_set_keys(S.nodes[i].g, keys, n), 0);
		sim_run_to(&S, S.now + 250);
	}
	sim_run_to(&S, S.now + 1000);
}

Test(rotation, three_nodes_no_beat_rejected, .fini = fini)
{
	const struct health_key add[2] = { K1, K2 }, swap[2] = { K2, K1 }, retire[1] = { K2 };
	uint64_t acc;

	three_nodes();
	acc = total_accepted();
	rollout(add, 2);		/* 1: new key as second slot everywhere */
	cr_assert_gt(total_accepted(), acc);
	acc = total_accepted();
	rollout(swap, 2);		/* 2: senders switch to the new key */
	cr_assert_gt(total_accepted(), acc);
	acc = total_accepted();
	rollout(retire, 1);		/* 3: old key retired */
	cr_assert_gt(total_accepted(), acc);
	sim_run_to(&S, S.now + 1000);
	cr_assert_eq(total_rejected(), 0, "rejected %lu beats", total_rejected());
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(sim_count(&S.nodes[i], HEALTH_EV_PEER_DOWN, NULL), 0, "%s saw a peer down",
			     S.nodes[i].name);
	/* each node heard both peers about every 100 ms over the whole rotation */
	cr_assert_geq(total_accepted(), 6 * (S.now - 2000) / 100 - 12);
}

/* The same check catches a wrong order: switching a sender before the others
 * accept the new key loses beats. */
Test(rotation, wrong_order_is_caught, .fini = fini)
{
	const struct health_key only_new[1] = { K2 };
	struct health_stats st;

	three_nodes();
	cr_assert_eq(health_group_set_keys(S.nodes[0].g, only_new, 1), 0);
	sim_run_to(&S, S.now + 1000);
	cr_assert_gt(total_rejected(), 0);
	health_group_stats(S.nodes[1].g, &st);
	cr_assert_gt(st.drops[HEALTH_DROP_BAD_SIG], 0, "counted as bad-sig");
	cr_assert_gt(sim_count(&S.nodes[1], HEALTH_EV_PEER_DOWN, "n1"), 0);
}
