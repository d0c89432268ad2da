/* SPDX-License-Identifier: GPL-2.0 */
/* A fabric of EVPN models for unit suites: every node's advertisements are
 * delivered synchronously to every other node, as a route reflector would.
 * Maps are the in-memory recorder (fib_mem); time is a fake clock. */
#ifndef XEVPN_SELFTESTS_CTL_SIM_H
#define XEVPN_SELFTESTS_CTL_SIM_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "evpn.h"
#include "log.h"

#define SIM_MAX 8
#define SIM_ESI "00:11:22:33:44:55:00:00:00:01"

struct sim;
struct sim_node {
	struct sim *sim;
	int idx;
	bool connected;		/* receives and sends routes */
	struct xcfg cfg;
	struct evpn *e;
	struct fib_mem *fm;
	unsigned adv, wd;	/* routes sent */
	struct evpn_route last;	/* last route sent */
};

struct sim {
	struct sim_node n[SIM_MAX];
	int count;
	uint64_t now;
};

static inline uint32_t sim_ip(int i)
{
	return 0xc0000201u + (uint32_t)i;	/* 192.0.2.1 + i */
}

static inline int sim_deliver(struct sim_node *from, const struct evpn_route *r)
{
	struct sim *s = from->sim;

	if (!from->connected)
		return 0;
	if (r->withdraw)
		from->wd++;
	else
		from->adv++;
	from->last = *r;
	for (int i = 0; i < s->count; i++)
		if (i != from->idx && s->n[i].e && s->n[i].connected)
			evpn_route_input(s->n[i].e, r);
	return 0;
}

static inline int sim_adv(void *ctx, const struct evpn_route *r)
{
	return sim_deliver(ctx, r);
}

static const struct route_ops sim_route_ops = { .advertise = sim_adv, .withdraw = sim_adv };

/* yaml for node i: `es_extra` is appended inside the ES block (df: ...). */
static inline void sim_yaml(char *buf, size_t len, int i, unsigned n_vnis, const char *es_extra)
{
	int o = snprintf(buf, len,
			 "vtep-address: 192.0.2.%d\nasn: 65000\nuplinks: [up0]\n"
			 "timers: { startup-hold: 1s, df-wait: 3s, mac-aging: 300s }\nbd:\n", i + 1);

	for (unsigned v = 0; v < n_vnis; v++)
		o += snprintf(buf + o, len - o,
			      "  - vni: %u\n    access-ports: [{ port: srv1, vlan: %u }, { port: h1, vlan: %u }]\n",
			      100 + v, 10 + v, 10 + v);
	snprintf(buf + o, len - o, "es:\n  - name: server1\n    esi: " SIM_ESI "\n    port: srv1\n%s",
		 es_extra ? es_extra : "");
}

static inline void sim_node_init(struct sim *s, int i, unsigned n_vnis, const char *es_extra)
{
	struct sim_node *n = &s->n[i];
	char y[8192], err[XCFG_ERR_MAX];

	n->sim = s;
	n->idx = i;
	n->connected = true;
	sim_yaml(y, sizeof(y), i, n_vnis, es_extra);
	cr_assert_eq(xcfg_load_string("sim.conf", y, &n->cfg, err), 0, "%s", err);
	n->fm = fib_mem_new();
	n->e = evpn_new(&n->cfg, fib_mem_fib(n->fm), (struct route_out){ &sim_route_ops, n }, s->now);
	cr_assert_not_null(n->e);
	if (i >= s->count)
		s->count = i + 1;
}

static inline void sim_node_free(struct sim_node *n)
{
	evpn_free(n->e);
	fib_mem_free(n->fm);
	xcfg_free(&n->cfg);
	n->e = NULL;
}

static inline void sim_tick(struct sim *s, uint64_t ms)
{
	/* step in small increments so timers fire in order */
	for (uint64_t t = 0; t < ms; t += 100) {
		s->now += 100;
		for (int i = 0; i < s->count; i++)
			if (s->n[i].e)
				evpn_tick(s->n[i].e, s->now);
	}
}

/* start node i: dataplane writes allowed, ES port up (ifindex 10 + i) */
static inline void sim_node_up(struct sim *s, int i)
{
	evpn_start(s->n[i].e, s->now);
	/* the route reflector sends a new peer the whole table */
	for (int k = 0; k < s->count; k++)
		if (k != i && s->n[k].e && s->n[k].connected)
			evpn_readvertise(s->n[k].e);	/* a no-op for the others */
	evpn_link_event(s->n[i].e, "srv1", 10 + (uint32_t)i, true);
}

static inline void sim_init(struct sim *s, int count, unsigned n_vnis, const char *es_extra)
{
	memset(s, 0, sizeof(*s));
	log_level = LOG_WARNING;
	s->now = 1000;
	for (int i = 0; i < count; i++)
		sim_node_init(s, i, n_vnis, es_extra);
	for (int i = 0; i < count; i++)
		sim_node_up(s, i);
	sim_tick(s, 5000);	/* hold 1 s + DF wait 3 s */
}

static inline void sim_fini(struct sim *s)
{
	for (int i = 0; i < s->count; i++)
		if (s->n[i].e)
			sim_node_free(&s->n[i]);
}

static inline struct evpn_es *sim_es(struct sim_node *n)
{
	esi_t esi;

	esi_parse(SIM_ESI, &esi);
	return evpn_es_find(n->e, &esi);
}

/* Which node the dataplanes say is DF for vni; -1 none, -2 several. */
static inline int sim_df_owner(struct sim *s, uint32_t vni)
{
	int owner = -1;

	for (int i = 0; i < s->count; i++) {
		struct evpn_es *es;

		if (!s->n[i].e || !(es = sim_es(&s->n[i])))
			continue;
		if (fib_mem_df(s->n[i].fm, es->id, vni) == 1)
			owner = owner == -1 ? i : -2;
	}
	return owner;
}

#endif
