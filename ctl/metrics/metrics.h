/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Metrics registry and Prometheus text exposition (format 0.0.4).
 *
 * A registry holds metric families (counters and gauges, each with a fixed
 * list of label names); a family holds series (one per distinct tuple of
 * label values), each with a double value. Values reach the registry two
 * ways:
 *
 *  - pushed: the owner of an event bumps a series as it happens
 *    (metrics_series_add(), metrics_inc());
 *  - collected: a collector callback registered with metrics_collector_add()
 *    runs at the start of every render and sets values from the source of
 *    truth (e.g. sums the dataplane's per-CPU counters). Collected values cost
 *    nothing between scrapes. A collector whose label sets come and go (per
 *    group, per ES) calls metrics_family_clear() first and re-creates the
 *    series it still has.
 *
 * Names: the registry's namespace ("xevpn") and '_' are prepended to every
 * family name unless METRICS_F_NO_NAMESPACE is set (used for the standard
 * process_* metrics). Counter names must end in "_total"; use base units
 * (seconds, bytes) in names. Invalid names are refused with -EINVAL.
 *
 * Threading: none. A registry belongs to one thread (xevpnd's loop); the
 * HTTP server (http.h) renders on that same loop.
 */
#ifndef XEVPN_CTL_METRICS_H
#define XEVPN_CTL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Content-Type of metrics_render()'s output. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Most label names a family may declare. */
#ifndef METRICS_MAX_LABELS
#define METRICS_MAX_LABELS 4
#endif

struct metrics_registry;
struct metrics_family;
struct metrics_series;

enum metrics_type {
	METRICS_COUNTER,	/* monotonic; name ends in _total */
	METRICS_GAUGE,		/* goes up and down */
};

/* Family flags */
#define METRICS_F_NO_NAMESPACE	0x1	/* name is used as given (process_*) */

/*
 * Static description of one family; meant for a designated-initializer table.
 * labels is NULL-terminated; an empty list gives an unlabelled family, which
 * owns exactly one series, created at 0 with the family.
 */
struct metrics_desc {
	const char *name;	/* without namespace, e.g. "beats_sent_total" */
	const char *help;	/* one line; escaped on output */
	enum metrics_type type;
	const char *labels[METRICS_MAX_LABELS + 1];
	unsigned int flags;	/* METRICS_F_* */
};

/*
 * Called at the start of every metrics_render(), in registration order.
 * Sets series values from the source of truth. A negative return is logged
 * by the caller of render, not fatal: the rest of the scrape still renders.
 */
typedef int (*metrics_collect_fn)(struct metrics_registry *reg, void *arg);

/* New empty registry; namespace may be NULL or "" for none. NULL on ENOMEM. */
struct metrics_registry *metrics_registry_new(const char *namespace_);
void metrics_registry_free(struct metrics_registry *reg);

/*
 * Add a family. Returns it, or NULL with errno set: EINVAL (bad metric or
 * label name, counter not ending in _total, too many labels, help missing),
 * EEXIST (full name already registered), ENOMEM. Families render in the order
 * they were added. The registry owns the family.
 */
struct metrics_family *metrics_family_new(struct metrics_registry *reg,
					  const struct metrics_desc *desc);

/* Look a family up by its full name ("xevpn_beats_sent_total"); NULL if none. */
struct metrics_family *metrics_family_find(struct metrics_registry *reg, const char *full_name);

/* The family's full name, including the namespace. */
const char *metrics_family_name(const struct metrics_family *fam);

/* Number of label names / series of a family. */
unsigned int metrics_family_nlabels(const struct metrics_family *fam);
size_t metrics_family_nseries(const struct metrics_family *fam);

/*
 * Remove every series of a labelled family (series pointers obtained before
 * become invalid). For an unlabelled family the one series is reset to 0.
 */
void metrics_family_clear(struct metrics_family *fam);

/*
 * Find or create the series with these label values, in the order of the
 * family's label names (values may be any UTF-8, escaped on output; NULL is
 * refused). values may be NULL for an unlabelled family. The pointer is
 * stable until metrics_family_clear() or the registry is freed, so hot paths
 * may cache it. NULL with errno EINVAL / ENOMEM.
 */
struct metrics_series *metrics_series_get(struct metrics_family *fam,
					  const char *const *values);

/* Set a value (counters too: collectors copy totals). */
void metrics_series_set(struct metrics_series *s, double v);
/* Add to a value; -EINVAL for a negative delta on a counter (value unchanged). */
int metrics_series_add(struct metrics_series *s, double delta);
double metrics_series_value(const struct metrics_series *s);

/* One-call forms of get + set/add; negative errno on failure. */
int metrics_set(struct metrics_family *fam, const char *const *values, double v);
int metrics_add(struct metrics_family *fam, const char *const *values, double delta);
static inline int metrics_inc(struct metrics_family *fam, const char *const *values)
{
	return metrics_add(fam, values, 1.0);
}

/* Register / remove a collector (fn, arg pair). -ENOMEM, -ENOENT. */
int metrics_collector_add(struct metrics_registry *reg, metrics_collect_fn fn, void *arg);
int metrics_collector_del(struct metrics_registry *reg, metrics_collect_fn fn, void *arg);

/*
 * Run the collectors, then render every family as Prometheus text format
 * 0.0.4: "# HELP", "# TYPE", one line per series, '\n' line ends. Returns a
 * malloc'd NUL-terminated buffer (free() it) and its length in *len, or NULL
 * with errno ENOMEM. collect_errors (may be NULL) receives the number of
 * collectors that returned an error.
 */
char *metrics_render(struct metrics_registry *reg, size_t *len, unsigned int *collect_errors);

/*
 * Format one sample value the way the exposition does: integers without a
 * fraction, otherwise the shortest round-tripping %g, "NaN", "+Inf", "-Inf".
 * Returns the length written (buf of at least 32 bytes).
 */
int metrics_format_value(char *buf, size_t size, double v);

/* Name checks per the Prometheus data model. */
bool metrics_valid_metric_name(const char *name);
bool metrics_valid_label_name(const char *name);

#endif /* XEVPN_CTL_METRICS_H */
