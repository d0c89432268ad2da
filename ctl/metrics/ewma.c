// SPDX-License-Identifier: GPL-2.0
/* EWMA rates of monotonic counters; the math is described in ewma.h. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "metrics/ewma.h"

const double ewma_window_s[EWMA_W_MAX] = {
	[EWMA_W_60S] = 60.0,
	[EWMA_W_600S] = 600.0,
	[EWMA_W_3600S] = 3600.0,
};

static const char *const ewma_window_names[EWMA_W_MAX] = {
	[EWMA_W_60S] = "60s",
	[EWMA_W_600S] = "600s",
	[EWMA_W_3600S] = "3600s",
};

const char *ewma_window_name(enum ewma_window w)
{
	return (unsigned int)w < EWMA_W_MAX ? ewma_window_names[w] : "?";
}

uint64_t ewma_clock_monotonic(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ewma_counter_init(struct ewma_counter *c)
{
	memset(c, 0, sizeof(*c));
}

void ewma_counter_sample(struct ewma_counter *c, uint64_t now_ns, uint64_t value)
{
	uint64_t delta;
	double dt, r;

	if (!c->primed || now_ns < c->last_ns) {
		/* No baseline yet, or the clock stepped back: nothing to measure. */
		c->last_value = value;
		c->last_ns = now_ns;
		c->primed = true;
		return;
	}
	if (now_ns == c->last_ns)
		return;	/* dt == 0: the increase folds into the next sample */

	if (value >= c->last_value) {
		delta = value - c->last_value;
	} else {
		/* Reset: the counter restarted from 0 within this interval. */
		delta = value;
		c->resets++;
	}
	dt = (double)(now_ns - c->last_ns) / 1e9;
	r = (double)delta / dt;
	for (int w = 0; w < EWMA_W_MAX; w++) {
		double a = exp(-dt / ewma_window_s[w]);

		c->rate[w] = a * c->rate[w] + (1.0 - a) * r;
	}
	c->folded_ns += now_ns - c->last_ns;
	c->last_value = value;
	c->last_ns = now_ns;
}

bool ewma_counter_warm(const struct ewma_counter *c, enum ewma_window w)
{
	if ((unsigned int)w >= EWMA_W_MAX)
		return false;
	return (double)c->folded_ns >= ewma_window_s[w] * 1e9;
}

void ewma_traffic_init(struct ewma_traffic *t, ewma_clock_fn clock, void *clock_arg)
{
	ewma_counter_init(&t->packets);
	ewma_counter_init(&t->bytes);
	t->clock = clock ? clock : ewma_clock_monotonic;
	t->clock_arg = clock_arg;
}

void ewma_traffic_sample_at(struct ewma_traffic *t, uint64_t now_ns,
			    uint64_t packets, uint64_t bytes)
{
	ewma_counter_sample(&t->packets, now_ns, packets);
	ewma_counter_sample(&t->bytes, now_ns, bytes);
}

void ewma_traffic_sample(struct ewma_traffic *t, uint64_t packets, uint64_t bytes)
{
	ewma_traffic_sample_at(t, t->clock(t->clock_arg), packets, bytes);
}

double ewma_traffic_pps(const struct ewma_traffic *t, enum ewma_window w)
{
	return (unsigned int)w < EWMA_W_MAX ? t->packets.rate[w] : 0.0;
}

double ewma_traffic_bps(const struct ewma_traffic *t, enum ewma_window w)
{
	return (unsigned int)w < EWMA_W_MAX ? t->bytes.rate[w] * 8.0 : 0.0;
}
