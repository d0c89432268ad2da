/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A fake network and clock for health engines: every node's beats are
 * delivered at once to every other node's group (unless cut), and time only
 * moves when the test says so, stepping through each engine's next due time
 * exactly as the libuv timer would.
 */
#ifndef XEVPN_SELFTESTS_HEALTH_SIM_H
#define XEVPN_SELFTESTS_HEALTH_SIM_H

#include "health/codec.h"
#include "health/health.h"

#define SIM_MAX_NODES	4
#define SIM_MAX_EVENTS	512

struct sim;

struct sim_node {
	struct sim *sim;
	char name[16];
	struct health_engine *eng;
	struct health_group *g;
	bool cut_tx;			/* its beats reach nobody */
	bool cut_rx;			/* it hears nobody */
	int send_err;			/* send hook returns this (0 = ok) */
	struct health_event ev[SIM_MAX_EVENTS];
	unsigned nev;
};

struct sim {
	uint64_t now;
	struct sim_node nodes[SIM_MAX_NODES];
	unsigned n;
};

/* A scripted peer: beats built by the codec and fed straight into a group. */
struct sim_peer {
	struct health_beat b;
	struct health_key key;
};

void sim_init(struct sim *s);
void sim_free(struct sim *s);
/* Add an engine named `name` with one group from `gc` (evpn_id taken as is). */
struct sim_node *sim_node_add(struct sim *s, const char *name, const struct health_group_cfg *gc,
			      const struct health_key *keys, unsigned nkeys);
/* Run every due tick up to and including t, then set the clock to t. */
void sim_run_to(struct sim *s, uint64_t t);
void sim_drain(struct sim_node *n);
/* Event of `type` (about peer `peer`, NULL = any) at or after index *from
 * (NULL = 0); returns it and sets *from past it, or NULL. */
const struct health_event *sim_find(struct sim_node *n, enum health_event_type type,
				    const char *peer, unsigned *from);
unsigned sim_count(struct sim_node *n, enum health_event_type type, const char *peer);

void sim_peer_init(struct sim_peer *p, const char *name, const uint8_t evpn_id[16],
		   uint32_t interval_ms, const struct health_key *key);
/* Encode the next beat (seq + 1) and input it into g; returns the verdict. */
enum health_drop sim_peer_beat(struct sim_peer *p, struct health_group *g, uint16_t flags);

#endif
