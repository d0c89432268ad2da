// SPDX-License-Identifier: GPL-2.0
#include "hash.h"

#include <errno.h>
#include <stdlib.h>

uint64_t hash_bytes(const void *p, size_t len)
{
	const uint8_t *c = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= c[i];
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

static int grow(struct htab *t)
{
	size_t n = t->nbuckets ? t->nbuckets * 2 : 64;
	struct hnode **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct hnode *x = t->b[i], *next;

		for (; x; x = next) {
			next = x->next;
			x->next = b[x->hash & (n - 1)];
			b[x->hash & (n - 1)] = x;
		}
	}
	free(t->b);
	t->b = b;
	t->nbuckets = n;
	return 0;
}

int htab_insert(struct htab *t, struct hnode *n, uint64_t hash)
{
	if (t->count >= t->nbuckets && grow(t) && !t->nbuckets)
		return -ENOMEM;	/* a failed grow of a non-empty table just loads it more */
	n->hash = hash;
	n->next = t->b[hash & (t->nbuckets - 1)];
	t->b[hash & (t->nbuckets - 1)] = n;
	t->count++;
	return 0;
}

struct hnode *htab_find(const struct htab *t, uint64_t hash, const void *key, hkey_eq eq)
{
	if (!t->nbuckets)
		return NULL;
	for (struct hnode *n = t->b[hash & (t->nbuckets - 1)]; n; n = n->next)
		if (n->hash == hash && eq(n, key))
			return n;
	return NULL;
}

void htab_remove(struct htab *t, struct hnode *n)
{
	struct hnode **pp = &t->b[n->hash & (t->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			t->count--;
			return;
		}
}

void htab_free(struct htab *t)
{
	free(t->b);
	t->b = NULL;
	t->nbuckets = t->count = 0;
}
