// SPDX-License-Identifier: GPL-2.0
/* Metrics registry and Prometheus text exposition 0.0.4; API in metrics.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"

struct metrics_series {
	struct metrics_series *next;	/* render order (insertion) */
	struct metrics_series *hnext;	/* hash chain */
	struct metrics_family *fam;
	uint64_t hash;
	double value;
	char *values[METRICS_MAX_LABELS];	/* point into the same allocation */
};

struct metrics_family {
	struct metrics_family *next;
	char *name;			/* full name, namespace included */
	char *help;
	enum metrics_type type;
	unsigned int nlabels;
	char *labels[METRICS_MAX_LABELS];
	struct metrics_series *head, **tail;
	struct metrics_series **buckets;
	size_t nbuckets;		/* power of two, or 0 before the first series */
	size_t nseries;
};

struct metrics_collector {
	metrics_collect_fn fn;
	void *arg;
};

struct metrics_registry {
	char *ns;
	struct metrics_family *head, **tail;
	struct metrics_collector *collectors;
	size_t ncollectors, collectors_cap;
};

/* ---- names ------------------------------------------------------------ */

static bool is_alpha_(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool metrics_valid_metric_name(const char *name)
{
	if (!name || !(is_alpha_(name[0]) || name[0] == ':'))
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!(is_alpha_(*p) || is_digit(*p) || *p == ':'))
			return false;
	return true;
}

bool metrics_valid_label_name(const char *name)
{
	if (!name || !is_alpha_(name[0]))
		return false;
	if (name[0] == '_' && name[1] == '_')
		return false;	/* reserved for Prometheus' own use */
	for (const char *p = name + 1; *p; p++)
		if (!(is_alpha_(*p) || is_digit(*p)))
			return false;
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && !strcmp(s + ls - lx, suffix);
}

/* ---- registry --------------------------------------------------------- */

struct metrics_registry *metrics_registry_new(const char *namespace_)
{
	struct metrics_registry *reg = calloc(1, sizeof(*reg));

	if (!reg)
		return NULL;
	if (namespace_ && *namespace_) {
		if (!metrics_valid_metric_name(namespace_)) {
			free(reg);
			errno = EINVAL;
			return NULL;
		}
		reg->ns = strdup(namespace_);
		if (!reg->ns) {
			free(reg);
			return NULL;
		}
	}
	reg->tail = &reg->head;
	return reg;
}

static void series_free_all(struct metrics_family *fam)
{
	struct metrics_series *s = fam->head, *next;

	for (; s; s = next) {
		next = s->next;
		free(s);
	}
	fam->head = NULL;
	fam->tail = &fam->head;
	free(fam->buckets);
	fam->buckets = NULL;
	fam->nbuckets = 0;
	fam->nseries = 0;
}

static void family_free(struct metrics_family *fam)
{
	series_free_all(fam);
	for (unsigned int i = 0; i < fam->nlabels; i++)
		free(fam->labels[i]);
	free(fam->name);
	free(fam->help);
	free(fam);
}

void metrics_registry_free(struct metrics_registry *reg)
{
	struct metrics_family *fam, *next;

	if (!reg)
		return;
	for (fam = reg->head; fam; fam = next) {
		next = fam->next;
		family_free(fam);
	}
	free(reg->collectors);
	free(reg->ns);
	free(reg);
}

struct metrics_family *metrics_family_find(struct metrics_registry *reg, const char *full_name)
{
	for (struct metrics_family *fam = reg->head; fam; fam = fam->next)
		if (!strcmp(fam->name, full_name))
			return fam;
	return NULL;
}

static char *full_name(const struct metrics_registry *reg, const struct metrics_desc *d)
{
	char *name;

	if (!reg->ns || (d->flags & METRICS_F_NO_NAMESPACE))
		return strdup(d->name);
	if (asprintf(&name, "%s_%s", reg->ns, d->name) < 0)
		return NULL;
	return name;
}

struct metrics_family *metrics_family_new(struct metrics_registry *reg,
					  const struct metrics_desc *d)
{
	struct metrics_family *fam;
	unsigned int n = 0;

	if (!reg || !d || !metrics_valid_metric_name(d->name) || !d->help || !*d->help ||
	    (d->type != METRICS_COUNTER && d->type != METRICS_GAUGE))
		goto einval;
	/* Conventions promtool enforces: _total for counters and only for them. */
	if ((d->type == METRICS_COUNTER) != ends_with(d->name, "_total"))
		goto einval;
	while (n <= METRICS_MAX_LABELS && d->labels[n])
		n++;
	if (n > METRICS_MAX_LABELS)
		goto einval;
	for (unsigned int i = 0; i < n; i++) {
		if (!metrics_valid_label_name(d->labels[i]))
			goto einval;
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(d->labels[i], d->labels[j]))
				goto einval;
	}

	fam = calloc(1, sizeof(*fam));
	if (!fam)
		return NULL;
	fam->type = d->type;
	fam->tail = &fam->head;
	fam->name = full_name(reg, d);
	fam->help = strdup(d->help);
	if (!fam->name || !fam->help)
		goto enomem;
	for (unsigned int i = 0; i < n; i++) {
		fam->labels[i] = strdup(d->labels[i]);
		if (!fam->labels[i])
			goto enomem;
		fam->nlabels++;
	}
	if (metrics_family_find(reg, fam->name)) {
		family_free(fam);
		errno = EEXIST;
		return NULL;
	}
	/* An unlabelled family is one series, present from the start. */
	if (!n && !metrics_series_get(fam, NULL))
		goto enomem;
	*reg->tail = fam;
	reg->tail = &fam->next;
	return fam;

enomem:
	family_free(fam);
	errno = ENOMEM;
	return NULL;
einval:
	errno = EINVAL;
	return NULL;
}

const char *metrics_family_name(const struct metrics_family *fam)
{
	return fam->name;
}

unsigned int metrics_family_nlabels(const struct metrics_family *fam)
{
	return fam->nlabels;
}

size_t metrics_family_nseries(const struct metrics_family *fam)
{
	return fam->nseries;
}

void metrics_family_clear(struct metrics_family *fam)
{
	if (!fam->nlabels) {
		if (fam->head)
			fam->head->value = 0;
		return;
	}
	series_free_all(fam);
}

/* ---- series ----------------------------------------------------------- */

/* FNV-1a over the values, each terminated by its NUL. */
static uint64_t values_hash(unsigned int n, const char *const *values)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (unsigned int i = 0; i < n; i++) {
		const unsigned char *p = (const unsigned char *)values[i];

		do {
			h ^= *p;
			h *= 0x100000001b3ull;
		} while (*p++);
	}
	return h;
}

static bool values_equal(const struct metrics_series *s, unsigned int n, const char *const *values)
{
	for (unsigned int i = 0; i < n; i++)
		if (strcmp(s->values[i], values[i]))
			return false;
	return true;
}

static int grow_buckets(struct metrics_family *fam)
{
	size_t nb = fam->nbuckets ? fam->nbuckets * 2 : 16;
	struct metrics_series **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (struct metrics_series *s = fam->head; s; s = s->next) {
		size_t i = s->hash & (nb - 1);

		s->hnext = b[i];
		b[i] = s;
	}
	free(fam->buckets);
	fam->buckets = b;
	fam->nbuckets = nb;
	return 0;
}

struct metrics_series *metrics_series_get(struct metrics_family *fam, const char *const *values)
{
	unsigned int n = fam->nlabels;
	struct metrics_series *s;
	size_t sz = sizeof(*s), off;
	uint64_t h;

	if (!n) {
		if (fam->head)
			return fam->head;
		values = NULL;
	} else if (!values) {
		errno = EINVAL;
		return NULL;
	}
	for (unsigned int i = 0; i < n; i++)
		if (!values[i]) {
			errno = EINVAL;
			return NULL;
		}

	h = values_hash(n, values);
	if (fam->nbuckets)
		for (s = fam->buckets[h & (fam->nbuckets - 1)]; s; s = s->hnext)
			if (s->hash == h && values_equal(s, n, values))
				return s;

	if (fam->nseries + 1 > fam->nbuckets && grow_buckets(fam) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	for (unsigned int i = 0; i < n; i++)
		sz += strlen(values[i]) + 1;
	s = calloc(1, sz);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	off = sizeof(*s);
	for (unsigned int i = 0; i < n; i++) {
		size_t l = strlen(values[i]) + 1;

		s->values[i] = (char *)s + off;
		memcpy(s->values[i], values[i], l);
		off += l;
	}
	s->fam = fam;
	s->hash = h;
	s->hnext = fam->buckets[h & (fam->nbuckets - 1)];
	fam->buckets[h & (fam->nbuckets - 1)] = s;
	*fam->tail = s;
	fam->tail = &s->next;
	fam->nseries++;
	return s;
}

void metrics_series_set(struct metrics_series *s, double v)
{
	s->value = v;
}

int metrics_series_add(struct metrics_series *s, double delta)
{
	if (s->fam->type == METRICS_COUNTER && !(delta >= 0))
		return -EINVAL;
	s->value += delta;
	return 0;
}

double metrics_series_value(const struct metrics_series *s)
{
	return s->value;
}

int metrics_set(struct metrics_family *fam, const char *const *values, double v)
{
	struct metrics_series *s = metrics_series_get(fam, values);

	if (!s)
		return -errno;
	metrics_series_set(s, v);
	return 0;
}

int metrics_add(struct metrics_family *fam, const char *const *values, double delta)
{
	struct metrics_series *s;

	if (fam->type == METRICS_COUNTER && !(delta >= 0))
		return -EINVAL;
	s = metrics_series_get(fam, values);
	if (!s)
		return -errno;
	return metrics_series_add(s, delta);
}

/* ---- collectors ------------------------------------------------------- */

int metrics_collector_add(struct metrics_registry *reg, metrics_collect_fn fn, void *arg)
{
	if (!fn)
		return -EINVAL;
	if (reg->ncollectors == reg->collectors_cap) {
		size_t cap = reg->collectors_cap ? reg->collectors_cap * 2 : 4;
		struct metrics_collector *c = realloc(reg->collectors, cap * sizeof(*c));

		if (!c)
			return -ENOMEM;
		reg->collectors = c;
		reg->collectors_cap = cap;
	}
	reg->collectors[reg->ncollectors++] = (struct metrics_collector){ fn, arg };
	return 0;
}

int metrics_collector_del(struct metrics_registry *reg, metrics_collect_fn fn, void *arg)
{
	for (size_t i = 0; i < reg->ncollectors; i++) {
		if (reg->collectors[i].fn != fn || reg->collectors[i].arg != arg)
			continue;
		memmove(&reg->collectors[i], &reg->collectors[i + 1],
			(reg->ncollectors - i - 1) * sizeof(reg->collectors[0]));
		reg->ncollectors--;
		return 0;
	}
	return -ENOENT;
}

/* ---- rendering -------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static bool sbuf_reserve(struct sbuf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void sbuf_putn(struct sbuf *b, const char *s, size_t n)
{
	if (!sbuf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sbuf_puts(struct sbuf *b, const char *s)
{
	sbuf_putn(b, s, strlen(s));
}

/*
 * Exposition escaping: HELP text escapes '\' and newline; label values
 * also escape '"'. Everything else (UTF-8 included) passes through.
 */
static void sbuf_escaped(struct sbuf *b, const char *s, bool quote)
{
	const char *run = s;

	for (; *s; s++) {
		const char *esc = NULL;

		if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (quote && *s == '"')
			esc = "\\\"";
		if (!esc)
			continue;
		sbuf_putn(b, run, (size_t)(s - run));
		sbuf_puts(b, esc);
		run = s + 1;
	}
	sbuf_putn(b, run, (size_t)(s - run));
}

int metrics_format_value(char *buf, size_t size, double v)
{
	if (isnan(v))
		return snprintf(buf, size, "NaN");
	if (isinf(v))
		return snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
	if (v == 0)
		return snprintf(buf, size, "0");	/* also -0 */
	/* Integral values (all counters) print without exponent up to 1e17. */
	if (v == trunc(v) && fabs(v) < 1e17)
		return snprintf(buf, size, "%.0f", v);
	for (int prec = 1; prec < 17; prec++) {
		int n = snprintf(buf, size, "%.*g", prec, v);

		if (strtod(buf, NULL) == v)
			return n;
	}
	return snprintf(buf, size, "%.17g", v);
}

static void render_family(struct sbuf *b, const struct metrics_family *fam)
{
	char num[64];

	sbuf_puts(b, "# HELP ");
	sbuf_puts(b, fam->name);
	sbuf_puts(b, " ");
	sbuf_escaped(b, fam->help, false);
	sbuf_puts(b, "\n# TYPE ");
	sbuf_puts(b, fam->name);
	sbuf_puts(b, fam->type == METRICS_COUNTER ? " counter\n" : " gauge\n");

	for (const struct metrics_series *s = fam->head; s; s = s->next) {
		sbuf_puts(b, fam->name);
		for (unsigned int i = 0; i < fam->nlabels; i++) {
			sbuf_puts(b, i ? "," : "{");
			sbuf_puts(b, fam->labels[i]);
			sbuf_puts(b, "=\"");
			sbuf_escaped(b, s->values[i], true);
			sbuf_puts(b, "\"");
		}
		if (fam->nlabels)
			sbuf_puts(b, "}");
		metrics_format_value(num, sizeof(num), s->value);
		sbuf_puts(b, " ");
		sbuf_puts(b, num);
		sbuf_puts(b, "\n");
	}
}

char *metrics_render(struct metrics_registry *reg, size_t *len, unsigned int *collect_errors)
{
	struct sbuf b = { 0 };
	unsigned int errs = 0;

	for (size_t i = 0; i < reg->ncollectors; i++)
		if (reg->collectors[i].fn(reg, reg->collectors[i].arg) < 0)
			errs++;
	if (collect_errors)
		*collect_errors = errs;

	sbuf_reserve(&b, 0);
	if (!b.oom)
		b.p[0] = '\0';
	for (const struct metrics_family *fam = reg->head; fam; fam = fam->next)
		render_family(&b, fam);
	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	if (len)
		*len = b.len;
	return b.p;
}
