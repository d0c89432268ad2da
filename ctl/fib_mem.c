// SPDX-License-Identifier: GPL-2.0
/* In-memory map writer: records the last value of every key and counts
 * writes. Used by the unit suites and by `xevpnd --dry-run`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evpn.h"
#include "fib.h"
#include "hash.h"

struct fdb_ent {
	struct hnode hn;
	uint32_t vni;
	uint8_t mac[MAC_LEN];
	struct fib_fdb v;
};

struct set_ent {
	bool used;
	uint32_t v[XEVPN_CTL_MAX_FLOOD];
	unsigned n;
};

struct df_ent {
	struct hnode hn;
	uint64_t key;
	bool is_df;
};

struct fib_mem {
	struct fib_mem_counts counts;
	struct htab fdb, df;
	struct set_ent groups[XEVPN_CTL_MAX_ES + 1];
	struct fib_es es[XEVPN_CTL_MAX_ES + 1];
	bool es_used[XEVPN_CTL_MAX_ES + 1];
	struct htab flood;	/* vni -> struct flood_ent */
};

struct flood_ent {
	struct hnode hn;
	uint32_t vni;
	struct set_ent s;
};

struct fdb_key {
	uint32_t vni;
	uint8_t mac[MAC_LEN];
};

static int fdb_eq(const struct hnode *n, const void *key)
{
	const struct fdb_ent *f = container_of(n, struct fdb_ent, hn);
	const struct fdb_key *k = key;

	return f->vni == k->vni && !memcmp(f->mac, k->mac, MAC_LEN);
}

static struct fdb_ent *fdb_find(struct fib_mem *m, uint32_t vni, const uint8_t mac[MAC_LEN])
{
	struct fdb_key k = { .vni = vni };
	struct hnode *n;

	memcpy(k.mac, mac, MAC_LEN);
	n = htab_find(&m->fdb, hash_bytes(&k, sizeof(k)), &k, fdb_eq);
	return n ? container_of(n, struct fdb_ent, hn) : NULL;
}

static int m_fdb_set(void *ctx, uint32_t vni, const uint8_t mac[MAC_LEN], const struct fib_fdb *v)
{
	struct fib_mem *m = ctx;
	struct fdb_ent *f = fdb_find(m, vni, mac);

	m->counts.fdb_set++;
	if (!f) {
		struct fdb_key k = { .vni = vni };

		f = calloc(1, sizeof(*f));
		if (!f)
			return -ENOMEM;
		f->vni = vni;
		memcpy(f->mac, mac, MAC_LEN);
		memcpy(k.mac, mac, MAC_LEN);
		htab_insert(&m->fdb, &f->hn, hash_bytes(&k, sizeof(k)));
	}
	f->v = *v;
	return 0;
}

static int m_fdb_del(void *ctx, uint32_t vni, const uint8_t mac[MAC_LEN])
{
	struct fib_mem *m = ctx;
	struct fdb_ent *f = fdb_find(m, vni, mac);

	m->counts.fdb_del++;
	if (!f)
		return -ENOENT;
	htab_remove(&m->fdb, &f->hn);
	free(f);
	return 0;
}

static int m_es_group_set(void *ctx, uint32_t es_id, const uint32_t *v, unsigned n)
{
	struct fib_mem *m = ctx;

	if (!es_id || es_id > XEVPN_CTL_MAX_ES || n > XEVPN_CTL_MAX_FLOOD)
		return -EINVAL;
	m->counts.es_group_set++;
	m->groups[es_id].used = true;
	m->groups[es_id].n = n;
	if (n)
		memcpy(m->groups[es_id].v, v, n * sizeof(*v));
	return 0;
}

static int m_es_state_set(void *ctx, uint32_t es_id, const struct fib_es *es)
{
	struct fib_mem *m = ctx;

	if (!es_id || es_id > XEVPN_CTL_MAX_ES)
		return -EINVAL;
	m->counts.es_state_set++;
	m->es[es_id] = *es;
	m->es_used[es_id] = true;
	return 0;
}

static int m_es_del(void *ctx, uint32_t es_id)
{
	struct fib_mem *m = ctx;

	if (!es_id || es_id > XEVPN_CTL_MAX_ES)
		return -EINVAL;
	m->counts.es_del++;
	m->es_used[es_id] = false;
	m->groups[es_id].used = false;
	return 0;
}

static int flood_eq(const struct hnode *n, const void *key)
{
	return container_of(n, struct flood_ent, hn)->vni == *(const uint32_t *)key;
}

static struct flood_ent *flood_find(struct fib_mem *m, uint32_t vni)
{
	struct hnode *n = htab_find(&m->flood, hash_bytes(&vni, 4), &vni, flood_eq);

	return n ? container_of(n, struct flood_ent, hn) : NULL;
}

static int m_flood_set(void *ctx, uint32_t vni, const uint32_t *v, unsigned n)
{
	struct fib_mem *m = ctx;
	struct flood_ent *f = flood_find(m, vni);

	if (n > XEVPN_CTL_MAX_FLOOD)
		return -EINVAL;
	m->counts.flood_set++;
	if (!f) {
		f = calloc(1, sizeof(*f));
		if (!f)
			return -ENOMEM;
		f->vni = vni;
		htab_insert(&m->flood, &f->hn, hash_bytes(&vni, 4));
	}
	f->s.used = true;
	f->s.n = n;
	if (n)
		memcpy(f->s.v, v, n * sizeof(*v));
	return 0;
}

static int df_eq(const struct hnode *n, const void *key)
{
	return container_of(n, struct df_ent, hn)->key == *(const uint64_t *)key;
}

static int m_df_set(void *ctx, uint32_t es_id, uint32_t vni, bool is_df)
{
	struct fib_mem *m = ctx;
	uint64_t key = (uint64_t)es_id << 32 | vni;
	struct hnode *n = htab_find(&m->df, hash_bytes(&key, 8), &key, df_eq);
	struct df_ent *d;

	m->counts.df_set++;
	if (!n) {
		d = calloc(1, sizeof(*d));
		if (!d)
			return -ENOMEM;
		d->key = key;
		htab_insert(&m->df, &d->hn, hash_bytes(&key, 8));
	} else {
		d = container_of(n, struct df_ent, hn);
	}
	d->is_df = is_df;
	return 0;
}

static const struct fib_ops mem_ops = {
	.fdb_set = m_fdb_set,
	.fdb_del = m_fdb_del,
	.es_group_set = m_es_group_set,
	.es_state_set = m_es_state_set,
	.es_del = m_es_del,
	.flood_set = m_flood_set,
	.df_set = m_df_set,
};

struct fib_mem *fib_mem_new(void)
{
	return calloc(1, sizeof(struct fib_mem));
}

void fib_mem_free(struct fib_mem *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->fdb.nbuckets; i++)
		for (struct hnode *n = m->fdb.b[i], *next; n; n = next) {
			next = n->next;
			free(container_of(n, struct fdb_ent, hn));
		}
	for (size_t i = 0; i < m->df.nbuckets; i++)
		for (struct hnode *n = m->df.b[i], *next; n; n = next) {
			next = n->next;
			free(container_of(n, struct df_ent, hn));
		}
	for (size_t i = 0; i < m->flood.nbuckets; i++)
		for (struct hnode *n = m->flood.b[i], *next; n; n = next) {
			next = n->next;
			free(container_of(n, struct flood_ent, hn));
		}
	htab_free(&m->fdb);
	htab_free(&m->df);
	htab_free(&m->flood);
	free(m);
}

struct fib fib_mem_fib(struct fib_mem *m)
{
	return (struct fib){ .ops = &mem_ops, .ctx = m };
}

struct fib_mem_counts *fib_mem_counts(struct fib_mem *m)
{
	return &m->counts;
}

const struct fib_fdb *fib_mem_fdb(struct fib_mem *m, uint32_t vni, const uint8_t mac[MAC_LEN])
{
	struct fdb_ent *f = fdb_find(m, vni, mac);

	return f ? &f->v : NULL;
}

unsigned fib_mem_fdb_count(struct fib_mem *m)
{
	return (unsigned)m->fdb.count;
}

int fib_mem_es_group(struct fib_mem *m, uint32_t es_id, uint32_t *v, unsigned max)
{
	if (!es_id || es_id > XEVPN_CTL_MAX_ES || !m->groups[es_id].used)
		return -ENOENT;
	for (unsigned i = 0; i < m->groups[es_id].n && i < max; i++)
		v[i] = m->groups[es_id].v[i];
	return (int)m->groups[es_id].n;
}

int fib_mem_flood(struct fib_mem *m, uint32_t vni, uint32_t *v, unsigned max)
{
	struct flood_ent *f = flood_find(m, vni);

	if (!f)
		return -ENOENT;
	for (unsigned i = 0; i < f->s.n && i < max; i++)
		v[i] = f->s.v[i];
	return (int)f->s.n;
}

int fib_mem_df(struct fib_mem *m, uint32_t es_id, uint32_t vni)
{
	uint64_t key = (uint64_t)es_id << 32 | vni;
	struct hnode *n = htab_find(&m->df, hash_bytes(&key, 8), &key, df_eq);

	return n ? container_of(n, struct df_ent, hn)->is_df : -ENOENT;
}

const struct fib_es *fib_mem_es(struct fib_mem *m, uint32_t es_id)
{
	if (!es_id || es_id > XEVPN_CTL_MAX_ES || !m->es_used[es_id])
		return NULL;
	return &m->es[es_id];
}
