/* SPDX-License-Identifier: GPL-2.0 */
/* The map writer seen by the EVPN model. The model calls these only when a
 * value really changes; the daemon plugs in the BPF implementation
 * (fib_dp.c, over ctl/dp), unit suites plug in fib_mem.c which records every
 * write so tests can count map updates. Addresses are IPv4, host order. */
#ifndef XEVPN_CTL_FIB_H
#define XEVPN_CTL_FIB_H

#include <stdbool.h>
#include <stdint.h>

#include "esi.h"

enum fib_fdb_kind {
	FIB_FDB_LOCAL = 1,	/* local access port (es_id != 0: port is on that ES) */
	FIB_FDB_VTEP = 2,	/* single remote VTEP */
	FIB_FDB_ES = 3,		/* remote ES: pick a VTEP from the ES group (aliasing) */
};

struct fib_fdb {
	uint8_t kind;		/* enum fib_fdb_kind */
	uint8_t flags;		/* FIB_FDB_F_* */
	uint32_t ifindex;	/* LOCAL */
	uint32_t vtep;		/* VTEP */
	uint32_t es_id;		/* ES, or LOCAL on an ES */
};

#define FIB_FDB_F_LEARNED	(1u << 0)	/* learned on a local port: the dataplane may move it */
#define FIB_FDB_F_STATIC	(1u << 1)	/* sticky: the dataplane never moves it */

/* Per-ES state flags written with es_state(). */
#define FIB_ES_LOCAL	(1u << 0)	/* the ES has a member port on this leaf */
#define FIB_ES_FWD	(1u << 1)	/* local port forwards (not held, not fenced, up) */
#define FIB_ES_BACKUP	(1u << 2)	/* local port down: send ES traffic to the ES group */
#define FIB_ES_SINGLE	(1u << 3)	/* single-active: non-DF blocks unicast too */
#define FIB_ES_HOLD	(1u << 4)	/* port up but held (startup hold, fence, underlay down):
					 * nothing in or out of it, ES traffic to the peers */

struct fib_es {
	esi_t esi;
	uint32_t ifindex;	/* local member port, 0 for a remote ES */
	uint32_t flags;		/* FIB_ES_* */
};

struct fib_ops {
	int (*fdb_set)(void *ctx, uint32_t vni, const uint8_t mac[MAC_LEN], const struct fib_fdb *v);
	int (*fdb_del)(void *ctx, uint32_t vni, const uint8_t mac[MAC_LEN]);
	/* Replace the whole VTEP set of an ES in one update readers see whole:
	 * for a remote ES it is the aliasing group, for a local ES the peer set
	 * (backup path and split horizon). n == 0 empties it. */
	int (*es_group_set)(void *ctx, uint32_t es_id, const uint32_t *vteps, unsigned n);
	int (*es_state_set)(void *ctx, uint32_t es_id, const struct fib_es *es);
	int (*es_del)(void *ctx, uint32_t es_id);
	int (*flood_set)(void *ctx, uint32_t vni, const uint32_t *vteps, unsigned n);
	int (*df_set)(void *ctx, uint32_t es_id, uint32_t vni, bool is_df);
	/* Optional: when the dataplane last saw a local MAC (ms, same clock as
	 * the model), for aging; learn events only report new or moved MACs. */
	int (*fdb_last_seen)(void *ctx, uint32_t vni, const uint8_t mac[MAC_LEN], uint64_t *ms);
	/* Optional, restart adoption: the dataplane id an ES had before (0 =
	 * none), and whether an id is held by another ES in the dataplane. */
	uint32_t (*es_id_hint)(void *ctx, const esi_t *esi);
	bool (*es_id_busy)(void *ctx, uint32_t es_id);
};

struct fib {
	const struct fib_ops *ops;
	void *ctx;
};

/* ---- fib_mem.c: in-memory recorder (unit suites, --dry-run) ---- */
struct fib_mem_counts {
	unsigned fdb_set, fdb_del, es_group_set, es_state_set, es_del, flood_set, df_set;
};

struct fib_mem;
struct fib_mem *fib_mem_new(void);
void fib_mem_free(struct fib_mem *m);
struct fib fib_mem_fib(struct fib_mem *m);
struct fib_mem_counts *fib_mem_counts(struct fib_mem *m);
/* Lookups of what was last written. */
const struct fib_fdb *fib_mem_fdb(struct fib_mem *m, uint32_t vni, const uint8_t mac[MAC_LEN]);
unsigned fib_mem_fdb_count(struct fib_mem *m);
int fib_mem_es_group(struct fib_mem *m, uint32_t es_id, uint32_t *vteps, unsigned max);
int fib_mem_flood(struct fib_mem *m, uint32_t vni, uint32_t *vteps, unsigned max);
int fib_mem_df(struct fib_mem *m, uint32_t es_id, uint32_t vni);	/* 1, 0, -ENOENT */
const struct fib_es *fib_mem_es(struct fib_mem *m, uint32_t es_id);

#endif
