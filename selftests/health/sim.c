// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include <criterion/criterion.h>

#include "sim.h"

static uint64_t sim_mono(void *ctx)
{
	return ((struct sim *)ctx)->now;
}

static uint64_t sim_wall(void *ctx)
{
	return 1767225600000ull + ((struct sim *)ctx)->now;
}

static int sim_send(struct health_group *g, const void *buf, size_t len, void *ctx)
{
	struct sim_node *from = ctx;
	struct sim *s = from->sim;

	if (from->send_err)
		return from->send_err;
	if (from->cut_tx)
		return 0;		/* sent fine, lost on the wire */
	for (unsigned i = 0; i < s->n; i++) {
		struct sim_node *to = &s->nodes[i];

		if (to == from || to->cut_rx || !to->g)
			continue;
		health_group_input(to->g, buf, len, NULL);
		sim_drain(to);
	}
	return 0;
}

void sim_init(struct sim *s)
{
	memset(s, 0, sizeof(*s));
}

void sim_free(struct sim *s)
{
	for (unsigned i = 0; i < s->n; i++)
		health_engine_free(s->nodes[i].eng);
	s->n = 0;
}

struct sim_node *sim_node_add(struct sim *s, const char *name, const struct health_group_cfg *gc,
			      const struct health_key *keys, unsigned nkeys)
{
	struct health_engine_cfg ec = {
		.mono_ms = sim_mono, .wall_ms = sim_wall, .clock_ctx = s, .send = sim_send,
	};
	struct sim_node *n;

	cr_assert_lt(s->n, SIM_MAX_NODES);
	n = &s->nodes[s->n++];
	memset(n, 0, sizeof(*n));
	n->sim = s;
	strncpy(n->name, name, sizeof(n->name) - 1);
	memcpy(ec.instance_id, name, strnlen(name, XEVPN_HB_ID_LEN));
	ec.instance_mac[0] = 2;
	ec.instance_mac[5] = (uint8_t)s->n;
	ec.send_ctx = n;
	n->eng = health_engine_new(&ec);
	cr_assert_not_null(n->eng);
	cr_assert_eq(health_group_add(n->eng, gc, &n->g), 0);
	cr_assert_eq(health_group_set_keys(n->g, keys, nkeys), 0);
	return n;
}

void sim_drain(struct sim_node *n)
{
	struct health_event ev;

	while (health_engine_next_event(n->eng, &ev)) {
		cr_assert_lt(n->nev, SIM_MAX_EVENTS, "%s: too many events", n->name);
		n->ev[n->nev++] = ev;
	}
}

void sim_run_to(struct sim *s, uint64_t t)
{
	for (;;) {
		uint64_t due = UINT64_MAX;

		for (unsigned i = 0; i < s->n; i++) {
			uint64_t d = health_engine_next_due(s->nodes[i].eng);

			if (d < due)
				due = d;
		}
		if (due > t)
			break;
		if (due > s->now)
			s->now = due;
		for (unsigned i = 0; i < s->n; i++) {
			if (health_engine_next_due(s->nodes[i].eng) <= s->now) {
				health_engine_tick(s->nodes[i].eng);
				sim_drain(&s->nodes[i]);
			}
		}
	}
	s->now = t;
}

const struct health_event *sim_find(struct sim_node *n, enum health_event_type type,
				    const char *peer, unsigned *from)
{
	for (unsigned i = from ? *from : 0; i < n->nev; i++) {
		const struct health_event *e = &n->ev[i];

		if (e->type != type)
			continue;
		if (peer && strncmp((const char *)e->peer.instance_id, peer, XEVPN_HB_ID_LEN))
			continue;
		if (from)
			*from = i + 1;
		return e;
	}
	return NULL;
}

unsigned sim_count(struct sim_node *n, enum health_event_type type, const char *peer)
{
	unsigned c = 0, from = 0;

	while (sim_find(n, type, peer, &from))
		c++;
	return c;
}

void sim_peer_init(struct sim_peer *p, const char *name, const uint8_t evpn_id[16],
		   uint32_t interval_ms, const struct health_key *key)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->b.instance_id, name, strnlen(name, XEVPN_HB_ID_LEN));
	memcpy(p->b.evpn_id, evpn_id, XEVPN_HB_ID_LEN);
	memset(p->b.boot_id, name[0], XEVPN_HB_ID_LEN);
	p->b.interval_ms = interval_ms;
	p->b.role = XEVPN_HB_ROLE_CANDIDATE;
	p->key = *key;
}

enum health_drop sim_peer_beat(struct sim_peer *p, struct health_group *g, uint16_t flags)
{
	uint8_t wire[XEVPN_HB_LEN];

	p->b.seq++;
	p->b.flags = flags;
	cr_assert_eq(health_beat_encode(&p->b, &p->key, wire), XEVPN_HB_LEN);
	return health_group_input(g, wire, sizeof(wire), NULL);
}
