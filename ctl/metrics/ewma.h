/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Exponentially weighted moving rates over 60 s, 600 s and 3600 s, fed by
 * periodic samples of monotonic counters (packets, bytes).
 *
 * Each sample turns the counter delta into the mean rate r = delta / dt over
 * the interval since the previous sample, then for every window tau:
 *
 *     a = exp(-dt / tau);   rate = a * rate + (1 - a) * r
 *
 * which is the exact continuous-time EWMA of a rate that was constant (= r)
 * during the interval; the result does not depend on how often or how
 * regularly samples arrive. Consequences the tests check: starting from 0, a
 * constant rate R reaches R * (1 - 1/e) after exactly tau; irregular
 * intervals give the same value as regular ones.
 *
 * Edge cases:
 *  - first sample: only sets the baseline; rates start at 0 and a window is
 *    "warm" once tau seconds of samples have been folded in;
 *  - counter reset (a value below the previous one: map re-created, counter
 *    wrapped): the new value is taken as the delta since the reset, as
 *    Prometheus' rate() does;
 *  - a sample at the same instant as the previous one (dt == 0) is ignored and
 *    its increase folds into the next one; a clock that goes backwards
 *    re-baselines without touching the rates.
 *
 * The clock is injectable (nanoseconds, monotonic); NULL = CLOCK_MONOTONIC.
 */
#ifndef XEVPN_CTL_METRICS_EWMA_H
#define XEVPN_CTL_METRICS_EWMA_H

#include <stdbool.h>
#include <stdint.h>

enum ewma_window {
	EWMA_W_60S,
	EWMA_W_600S,
	EWMA_W_3600S,
	EWMA_W_MAX,
};

/* Window lengths in seconds, indexed by enum ewma_window. */
extern const double ewma_window_s[EWMA_W_MAX];
/* "60s", "600s", "3600s", for tables and JSON keys. */
const char *ewma_window_name(enum ewma_window w);

typedef uint64_t (*ewma_clock_fn)(void *arg);	/* monotonic nanoseconds */

/* Rates of one monotonic counter, per second, over each window. */
struct ewma_counter {
	double rate[EWMA_W_MAX];
	uint64_t last_value;
	uint64_t last_ns;
	uint64_t folded_ns;	/* time covered by folded samples (warm-up) */
	uint64_t resets;	/* counter resets seen */
	bool primed;		/* a baseline exists */
};

void ewma_counter_init(struct ewma_counter *c);
/* Fold a sample of the counter taken at now_ns. */
void ewma_counter_sample(struct ewma_counter *c, uint64_t now_ns, uint64_t value);
static inline double ewma_counter_rate(const struct ewma_counter *c, enum ewma_window w)
{
	return c->rate[w];
}
/* True once at least the window's length of samples has been folded in. */
bool ewma_counter_warm(const struct ewma_counter *c, enum ewma_window w);

/* Packets and bytes of one direction of one object (port, ES member, ...). */
struct ewma_traffic {
	struct ewma_counter packets;
	struct ewma_counter bytes;
	ewma_clock_fn clock;
	void *clock_arg;
};

void ewma_traffic_init(struct ewma_traffic *t, ewma_clock_fn clock, void *clock_arg);
/* Sample both counters at the clock's current time. */
void ewma_traffic_sample(struct ewma_traffic *t, uint64_t packets, uint64_t bytes);
/* Same, at an explicit time (the clock is not read). */
void ewma_traffic_sample_at(struct ewma_traffic *t, uint64_t now_ns,
			    uint64_t packets, uint64_t bytes);
/* Packets per second and bits per second over window w. */
double ewma_traffic_pps(const struct ewma_traffic *t, enum ewma_window w);
double ewma_traffic_bps(const struct ewma_traffic *t, enum ewma_window w);

/* The default clock: CLOCK_MONOTONIC in ns. */
uint64_t ewma_clock_monotonic(void *arg);

#endif /* XEVPN_CTL_METRICS_EWMA_H */
