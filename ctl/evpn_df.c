// SPDX-License-Identifier: GPL-2.0
/* Designated Forwarder election per (ES, BD).
 *
 * Ethernet tag V is the VNI (RFC 8365 §6: for VXLAN the VNI takes the
 * place of the VLAN ID in service carving). */
#include "evpn.h"

#include <stdlib.h>
#include <string.h>

static int cand_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct evpn_df_cand *)a)->ip, y = ((const struct evpn_df_cand *)b)->ip;

	return x < y ? -1 : x > y;
}

/* RFC 7432 §8.5: order the PEs by IP address, lowest first, number them
 * 0..N-1; the PE with ordinal (V mod N) is the DF. */
uint32_t evpn_df_modulo(const struct evpn_df_cand *c, unsigned n, uint32_t vni)
{
	struct evpn_df_cand sorted[XEVPN_CTL_MAX_ES_VTEPS + 1];

	if (!n || n > XEVPN_CTL_MAX_ES_VTEPS + 1)
		return 0;
	memcpy(sorted, c, n * sizeof(*c));
	qsort(sorted, n, sizeof(*c), cand_cmp);
	return sorted[vni % n].ip;
}

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320), as RFC 8584 §3.2 specifies
 * for the digest D(V, Es). Fourteen bytes: bitwise is fine. */
static uint32_t crc32_ieee(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;

	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

/* RFC 8584 §3.2: D(V, Es) = 31-bit digest (CRC-32 with the MSB dropped) of
 * the 14-octet stream: 4-octet Ethernet tag V then the 10-octet ESI. */
uint32_t evpn_df_hrw_digest(uint32_t vni, const esi_t *esi)
{
	uint8_t s[4 + ESI_LEN] = { vni >> 24, vni >> 16, vni >> 8, vni };

	memcpy(s + 4, esi->b, ESI_LEN);
	return crc32_ieee(s, sizeof(s)) & 0x7fffffffu;
}

/* RFC 8584 §3.2:
 *   Wrand(V, Es, Si) = (1103515245 * ((1103515245 * Si + 12345) XOR D(V, Es))
 *                       + 12345) mod 2^31
 * with Si the PE's IPv4 address as a 32-bit integer. Wrapping 32-bit
 * arithmetic keeps the residue mod 2^31 exact. */
uint32_t evpn_df_hrw_weight(uint32_t vni, const esi_t *esi, uint32_t ip)
{
	uint32_t inner = 1103515245u * ip + 12345u;

	return (1103515245u * (inner ^ evpn_df_hrw_digest(vni, esi)) + 12345u) & 0x7fffffffu;
}

/* Highest weight wins; equal weights go to the numerically lowest address. */
uint32_t evpn_df_hrw(const struct evpn_df_cand *c, unsigned n, uint32_t vni, const esi_t *esi)
{
	uint32_t best = 0, best_w = 0;

	for (unsigned i = 0; i < n; i++) {
		uint32_t w = evpn_df_hrw_weight(vni, esi, c[i].ip);

		if (!best || w > best_w || (w == best_w && c[i].ip < best))
			best = c[i].ip, best_w = w;
	}
	return best;
}

/* RFC 9785 §4.1 Highest-Preference: highest preference; ties go to the PE
 * with Don't-Preempt set, then to the lowest IP address. §4.2: a DF whose
 * Don't-Preempt is set is not preempted by a PE (re)joining with a higher
 * preference: while cur_df is still a candidate with DP set, it stays. */
uint32_t evpn_df_pref(const struct evpn_df_cand *c, unsigned n, uint32_t cur_df, bool *kept)
{
	const struct evpn_df_cand *best = NULL;

	*kept = false;
	for (unsigned i = 0; i < n; i++) {
		const struct evpn_df_cand *x = &c[i];

		if (!best || x->pref > best->pref ||
		    (x->pref == best->pref && x->dont_preempt && !best->dont_preempt) ||
		    (x->pref == best->pref && x->dont_preempt == best->dont_preempt && x->ip < best->ip))
			best = x;
	}
	if (!best)
		return 0;
	if (cur_df && cur_df != best->ip)
		for (unsigned i = 0; i < n; i++)
			if (c[i].ip == cur_df && c[i].dont_preempt) {
				*kept = true;
				return cur_df;
			}
	return best->ip;
}

uint32_t evpn_df_pick(uint8_t alg, const struct evpn_df_cand *c, unsigned n, uint32_t vni,
		      const esi_t *esi, uint32_t cur_df, const char **reason)
{
	bool kept;
	uint32_t df;

	if (!n) {
		*reason = "no candidate";
		return 0;
	}
	if (n == 1) {
		*reason = "single candidate";
		return c[0].ip;
	}
	switch (alg) {
	case XCFG_DF_HRW:
		*reason = "hrw: highest weight";
		return evpn_df_hrw(c, n, vni, esi);
	case XCFG_DF_PREF:
		df = evpn_df_pref(c, n, cur_df, &kept);
		*reason = kept ? "preference: don't-preempt keeps current DF" : "preference: highest";
		return df;
	case XCFG_DF_MODULO:
	default:
		*reason = "modulo: vni mod N";
		return evpn_df_modulo(c, n, vni);
	}
}

bool evpn_es_evi_df_run(struct evpn *e, struct evpn_es *es, struct evpn_es_evi *evi,
			const char **reason)
{
	struct evpn_df_cand c[XEVPN_CTL_MAX_ES_VTEPS + 1];
	uint32_t df = 0, cur = evi->df_ip;
	unsigned n = 0;
	bool is_df, was_df, changed;
	const char *why;

	if (!evpn_es_in_service(es)) {
		why = (es->flags & EVPN_ES_FENCED) ? "es fenced" :
		      !(es->flags & EVPN_ES_OPER_UP) ? "es port down" :
		      (es->flags & EVPN_ES_UNDERLAY_DOWN) ? "underlay down" : "startup hold";
	} else if (es->flags & EVPN_ES_DF_WAIT) {
		why = "df wait";
	} else {
		c[n++] = (struct evpn_df_cand){ .ip = e->self, .pref = es->cfg.df_pref,
						.dont_preempt = es->cfg.df_dont_preempt };
		for (unsigned i = 0; i < es->n_vteps; i++) {
			struct evpn_es_vtep *v = &es->vteps[i];
			bool has_evi = false;

			if (!(v->flags & EVPN_ES_VTEP_ES_RT))
				continue;
			/* RFC 8584 §4 AC-DF: a PE without a per-EVI A-D for this
			 * EVI is not a candidate for it. */
			for (unsigned k = 0; k < evi->n_evi_ad; k++)
				has_evi |= evi->evi_ad[k] == v->ip;
			if (!has_evi)
				continue;
			if (!evpn_es_vtep_active(e, es, v))
				continue;
			c[n++] = (struct evpn_df_cand){ .ip = v->ip, .pref = v->df_pref,
							.dont_preempt = v->df_dont_preempt };
			/* a peer claiming DF over the heartbeat stands in for our
			 * own history when we have none (we just (re)joined) */
			if (!cur && (v->flags & EVPN_ES_VTEP_DF_CLAIM))
				cur = v->ip;
		}
		df = evpn_df_pick(es->cfg.df_alg, c, n, evi->bd->vni, &es->esi, cur, &why);
	}
	is_df = df && df == e->self;
	was_df = !!(evi->flags & EVPN_ES_EVI_DF);
	changed = df != evi->df_ip || is_df != was_df;
	evi->df_reason = why;
	if (reason)
		*reason = why;
	if (changed) {
		evi->df_ip = df;
		evi->df_changed_ms = e->now_ms;
		es->df_changes++;
		e->stats.df_changes++;
	}
	if (is_df)
		evi->flags |= EVPN_ES_EVI_DF;
	else
		evi->flags &= ~EVPN_ES_EVI_DF;
	/* The dataplane holds one bit per (ES, BD): touch it only when that bit
	 * changes (or was never written), not when another PE's role moves. */
	if (e->started && e->fib.ops && e->fib.ops->df_set &&
	    (is_df != was_df || !(evi->flags & EVPN_ES_EVI_DF_WRITTEN))) {
		if (e->fib.ops->df_set(e->fib.ctx, es->id, evi->bd->vni, is_df))
			e->stats.fib_errors++;
		else
			evi->flags |= EVPN_ES_EVI_DF_WRITTEN;
	}
	return changed;
}
