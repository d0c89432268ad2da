/* SPDX-License-Identifier: GPL-2.0 */
/* Intrusive chained hash table: the entry embeds a struct hnode, the table
 * never allocates entries. Grows by doubling at load factor 1. */
#ifndef XEVPN_CTL_HASH_H
#define XEVPN_CTL_HASH_H

#include <stddef.h>
#include <stdint.h>

struct hnode {
	struct hnode *next;
	uint64_t hash;
};

struct htab {
	struct hnode **b;
	size_t nbuckets;	/* power of two, 0 until first insert */
	size_t count;
};

typedef int (*hkey_eq)(const struct hnode *n, const void *key);

uint64_t hash_bytes(const void *p, size_t len);	/* FNV-1a 64 */
int htab_insert(struct htab *t, struct hnode *n, uint64_t hash);	/* -ENOMEM */
struct hnode *htab_find(const struct htab *t, uint64_t hash, const void *key, hkey_eq eq);
void htab_remove(struct htab *t, struct hnode *n);
void htab_free(struct htab *t);	/* frees buckets only */

/* Iterate every node; the body may not insert or remove. */
#define htab_for_each(t, n, i)                                                  \
	for (size_t i = 0; i < (t)->nbuckets; i++)                             \
		for (struct hnode *n = (t)->b[i]; n; n = n->next)

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#endif
