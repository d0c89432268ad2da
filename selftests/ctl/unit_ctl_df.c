// SPDX-License-Identifier: GPL-2.0
/* DF election: the algorithms against the RFCs' rules and independent
 * vectors, then properties over simulated fabrics (every VNI exactly one
 * DF; all PEs agree; the dataplane written only on change). */
#include <criterion/criterion.h>

#include "evpn.h"
#include "sim.h"

#define PE(i) ((struct evpn_df_cand){ .ip = sim_ip((i) - 1) })

/* RFC 7432 §8.5: PEs ordered by address, DF for V is ordinal V mod N. */
Test(df, modulo_service_carving)
{
	/* listed out of order: the function must sort */
	struct evpn_df_cand c[3] = { PE(3), PE(1), PE(2) };

	cr_assert_eq(evpn_df_modulo(c, 3, 9), sim_ip(0), "9 mod 3 = 0: lowest address");
	cr_assert_eq(evpn_df_modulo(c, 3, 10), sim_ip(1), "10 mod 3 = 1");
	cr_assert_eq(evpn_df_modulo(c, 3, 11), sim_ip(2), "11 mod 3 = 2");
	cr_assert_eq(evpn_df_modulo(c, 2, 100), sim_ip(0), "first two {.3,.1}: 100 mod 2 = 0 -> .1");
}

Test(df, modulo_two_pe_even_odd)
{
	struct evpn_df_cand c[2] = { PE(2), PE(1) };

	for (uint32_t v = 100; v < 108; v++)
		cr_assert_eq(evpn_df_modulo(c, 2, v), sim_ip(v % 2), "vni %u", v);
}

/* RFC 8584 §3.2 vectors computed independently (Python zlib.crc32 and the
 * RFC's formula in arbitrary precision). */
Test(df, hrw_digest_and_weights)
{
	esi_t esi;

	esi_parse(SIM_ESI, &esi);
	cr_assert_eq(evpn_df_hrw_digest(100, &esi), 0x3be828fc);
	cr_assert_eq(evpn_df_hrw_digest(101, &esi), 0x7a66f73c);
	cr_assert_eq(evpn_df_hrw_weight(100, &esi, 0xc0000201), 137785995);
	cr_assert_eq(evpn_df_hrw_weight(100, &esi, 0xc0000202), 1562331900);
	cr_assert_eq(evpn_df_hrw_weight(100, &esi, 0xc0000203), 347948549);
	cr_assert_eq(evpn_df_hrw_weight(101, &esi, 0xc0000203), 1637065285);
	cr_assert_eq(evpn_df_hrw_weight(4094, &esi, 0xc0000202), 1845615215);
}

Test(df, hrw_highest_weight)
{
	struct evpn_df_cand c[3] = { PE(1), PE(2), PE(3) };
	esi_t esi;

	esi_parse(SIM_ESI, &esi);
	cr_assert_eq(evpn_df_hrw(c, 3, 100, &esi), 0xc0000202);
	cr_assert_eq(evpn_df_hrw(c, 3, 101, &esi), 0xc0000203);
	cr_assert_eq(evpn_df_hrw(c, 3, 4094, &esi), 0xc0000202);
	/* HRW's point: removing a non-DF PE does not move the DF */
	struct evpn_df_cand c2[2] = { PE(2), PE(3) };
	cr_assert_eq(evpn_df_hrw(c2, 2, 100, &esi), 0xc0000202);
}

/* HRW minimal disruption: when a PE leaves, only the VNIs it was DF for move. */
Test(df, hrw_minimal_disruption)
{
	struct evpn_df_cand c[4] = { PE(1), PE(2), PE(3), PE(4) };
	esi_t esi;
	unsigned moved = 0, owned = 0;

	esi_parse(SIM_ESI, &esi);
	for (uint32_t v = 1; v <= 2000; v++) {
		uint32_t before = evpn_df_hrw(c, 4, v, &esi);
		uint32_t after = evpn_df_hrw(c, 3, v, &esi);	/* PE4 gone */

		owned += before == sim_ip(3);
		if (before != sim_ip(3))
			cr_assert_eq(before, after, "vni %u moved although its DF stayed", v);
		else
			moved++;
	}
	cr_assert_eq(moved, owned);
	cr_assert(owned > 300 && owned < 700, "PE4 owned %u of 2000: not spread", owned);
}

/* RFC 9785 §4.1: highest preference wins; e.g. ES1 with PE1=500, PE2=255
 * elects PE1, ES2 with PE1=100, PE2=200 elects PE2. */
Test(df, preference_highest)
{
	struct evpn_df_cand es1[2] = { { sim_ip(0), 500, false }, { sim_ip(1), 255, false } };
	struct evpn_df_cand es2[2] = { { sim_ip(0), 100, false }, { sim_ip(1), 200, false } };
	bool kept;

	cr_assert_eq(evpn_df_pref(es1, 2, 0, &kept), sim_ip(0));
	cr_assert_eq(evpn_df_pref(es2, 2, 0, &kept), sim_ip(1));
}

/* RFC 9785 §4.1 tie-breaks: equal preference -> DP set wins -> lowest IP. */
Test(df, preference_tie_breaks)
{
	struct evpn_df_cand dp[2] = { { sim_ip(0), 300, false }, { sim_ip(1), 300, true } };
	struct evpn_df_cand ip[2] = { { sim_ip(1), 300, true }, { sim_ip(0), 300, true } };
	bool kept;

	cr_assert_eq(evpn_df_pref(dp, 2, 0, &kept), sim_ip(1), "DP set wins the tie");
	cr_assert_eq(evpn_df_pref(ip, 2, 0, &kept), sim_ip(0), "then the lowest address");
}

/* RFC 9785 §4.2: PE1 (500) fails, PE2 (255, DP) takes over; PE1 returns:
 * PE2 stays DF (non-revertive). Without DP, PE1 preempts. */
Test(df, preference_dont_preempt)
{
	struct evpn_df_cand back[2] = { { sim_ip(0), 500, true }, { sim_ip(1), 255, true } };
	struct evpn_df_cand nodp[2] = { { sim_ip(0), 500, false }, { sim_ip(1), 255, false } };
	const char *why;
	bool kept;

	cr_assert_eq(evpn_df_pref(back, 1 + 0, 0, &kept), sim_ip(0));
	cr_assert_eq(evpn_df_pref(&back[1], 1, 0, &kept), sim_ip(1), "PE1 failed: PE2");
	cr_assert_eq(evpn_df_pref(back, 2, sim_ip(1), &kept), sim_ip(1), "PE1 back: PE2 keeps DF");
	cr_assert(kept);
	cr_assert_eq(evpn_df_pick(XCFG_DF_PREF, back, 2, 100, NULL, sim_ip(1), &why), sim_ip(1));
	cr_assert_str_eq(why, "preference: don't-preempt keeps current DF");
	cr_assert_eq(evpn_df_pref(nodp, 2, sim_ip(1), &kept), sim_ip(0), "revertive without DP");
	cr_assert_not(kept);
}

Test(df, pick_edge_cases)
{
	struct evpn_df_cand one = PE(1);
	const char *why;

	cr_assert_eq(evpn_df_pick(XCFG_DF_MODULO, NULL, 0, 100, NULL, 0, &why), 0);
	cr_assert_str_eq(why, "no candidate");
	cr_assert_eq(evpn_df_pick(XCFG_DF_HRW, &one, 1, 100, NULL, 0, &why), sim_ip(0));
	cr_assert_str_eq(why, "single candidate");
}

/* ---- properties over simulated fabrics ---- */

static void check_one_df_each(struct sim *s, unsigned n_vnis, const char *what)
{
	for (uint32_t v = 100; v < 100 + n_vnis; v++) {
		int owner = sim_df_owner(s, v);

		cr_assert_geq(owner, 0, "%s: vni %u has %s (%s)", what, v, owner == -1 ? "no DF" : "two DFs", evpn_es_evi_find(sim_es(&s->n[0]), v)->df_reason);
		/* every PE's model names the same DF */
		for (int i = 0; i < s->count; i++) {
			struct evpn_es_evi *evi = evpn_es_evi_find(sim_es(&s->n[i]), v);

			cr_assert_eq(evi->df_ip, sim_ip(owner), "%s: vni %u: node %d disagrees", what, v, i);
		}
	}
}

static const char *algs[] = {
	"    df: { algorithm: modulo }\n",
	"    df: { algorithm: hrw }\n",
	"    df: { algorithm: preference }\n",	/* all 32767: lowest IP */
};

Test(df_fabric, every_vni_exactly_one_df, .timeout = 60)
{
	for (int alg = 0; alg < 3; alg++)
		for (int n = 2; n <= 5; n++) {
			struct sim s;
			char what[64];

			sim_init(&s, n, 16, algs[alg]);
			snprintf(what, sizeof(what), "%s N=%d", algs[alg] + 22, n);
			check_one_df_each(&s, 16, what);
			sim_fini(&s);
		}
}

Test(df_fabric, modulo_splits_and_fails_over)
{
	struct sim s;
	unsigned df_writes;

	sim_init(&s, 2, 8, algs[0]);
	check_one_df_each(&s, 8, "initial");
	for (uint32_t v = 100; v < 108; v++)
		cr_assert_eq(sim_df_owner(&s, v), (int)(v % 2), "vni %u", v);
	df_writes = fib_mem_counts(s.n[1].fm)->df_set;

	/* leaf1's ES link fails: leaf2 takes every VNI at once (no DF wait
	 * for a peer leaving), leaf1 stops being DF everywhere */
	evpn_link_event(s.n[0].e, "srv1", 10, false);
	for (uint32_t v = 100; v < 108; v++)
		cr_assert_eq(sim_df_owner(&s, v), 1, "vni %u after link down", v);
	cr_assert_eq(fib_mem_counts(s.n[1].fm)->df_set - df_writes, 4,
		     "leaf2 writes only the 4 DF bits that changed");

	/* link back: hold, then DF wait, then the split is restored */
	evpn_link_event(s.n[0].e, "srv1", 10, true);
	sim_tick(&s, 900);
	for (uint32_t v = 100; v < 108; v++)
		cr_assert_eq(sim_df_owner(&s, v), 1, "vni %u during hold", v);
	sim_tick(&s, 5000);
	for (uint32_t v = 100; v < 108; v++)
		cr_assert_eq(sim_df_owner(&s, v), (int)(v % 2), "vni %u restored", v);
	sim_fini(&s);
}

Test(df_fabric, unchanged_inputs_write_nothing)
{
	struct sim s;
	struct fib_mem_counts before;
	const char *why;

	sim_init(&s, 3, 8, algs[1]);
	before = *fib_mem_counts(s.n[0].fm);
	struct evpn_es *es = sim_es(&s.n[0]);
	for (unsigned i = 0; i < es->n_evis; i++)
		cr_assert_not(evpn_es_evi_df_run(s.n[0].e, es, &es->evis[i], &why));
	cr_assert_eq(fib_mem_counts(s.n[0].fm)->df_set, before.df_set);
	sim_fini(&s);
}

Test(df_fabric, df_wait_keeps_new_pe_non_df)
{
	struct sim s;

	sim_init(&s, 1, 4, algs[0]);
	for (uint32_t v = 100; v < 104; v++)
		cr_assert_eq(sim_df_owner(&s, v), 0, "alone: DF for everything");
	sim_node_init(&s, 1, 4, algs[0]);
	sim_node_up(&s, 1);
	sim_tick(&s, 2000);	/* hold over, DF wait running on node 1 */
	for (uint32_t v = 100; v < 104; v++) {
		struct evpn_es_evi *evi = evpn_es_evi_find(sim_es(&s.n[1]), v);

		cr_assert_str_eq(evi->df_reason, "df wait");
		cr_assert_neq(sim_df_owner(&s, v), 1, "vni %u: new PE is DF before its wait", v);
	}
	sim_tick(&s, 3000);
	check_one_df_each(&s, 4, "after wait");
	sim_fini(&s);
}

Test(df_fabric, preference_dont_preempt_across_failure)
{
	/* leaf1 pref 500, leaf2 pref 255 with don't-preempt; each knows the other */
	struct sim s;
	const char *es1 = "    df: { algorithm: preference, preference: 500, dont-preempt: true,\n"
			  "          peers: [ { vtep: 192.0.2.2, preference: 255, dont-preempt: true } ] }\n";
	const char *es2 = "    df: { algorithm: preference, preference: 255, dont-preempt: true,\n"
			  "          peers: [ { vtep: 192.0.2.1, preference: 500, dont-preempt: true } ] }\n";

	memset(&s, 0, sizeof(s));
	log_level = LOG_WARNING;
	s.now = 1000;
	sim_node_init(&s, 0, 2, es1);
	sim_node_init(&s, 1, 2, es2);
	sim_node_up(&s, 0);
	sim_node_up(&s, 1);
	sim_tick(&s, 5000);
	cr_assert_eq(sim_df_owner(&s, 100), 0, "PE1 (500) is DF");
	evpn_link_event(s.n[0].e, "srv1", 10, false);
	cr_assert_eq(sim_df_owner(&s, 100), 1, "PE1 failed: PE2 takes over");
	evpn_link_event(s.n[0].e, "srv1", 10, true);
	/* PE1 hears PE2 claim DF over the heartbeat (the hint the health engine gives) */
	evpn_es_vtep_find(sim_es(&s.n[0]), sim_ip(1))->flags |= EVPN_ES_VTEP_DF_CLAIM;
	sim_tick(&s, 6000);
	cr_assert_eq(sim_df_owner(&s, 100), 1, "PE1 back: PE2 keeps DF (don't preempt)");
	cr_assert_eq(sim_df_owner(&s, 101), 1);
	sim_fini(&s);
}
