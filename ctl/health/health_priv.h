/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Health engine internals shared by engine.c and transport.c. */
#ifndef XEVPN_CTL_HEALTH_PRIV_H
#define XEVPN_CTL_HEALTH_PRIV_H

#include <sys/queue.h>

#include "health/codec.h"

#ifndef HEALTH_EVENT_QUEUE_MAX
#define HEALTH_EVENT_QUEUE_MAX	4096	/* events held before new ones are lost */
#endif

struct health_sock;
struct health_timer;

struct health_peer {
	struct health_peer_info info;
	struct health_replay replay;
	uint32_t fit_streak;		/* consecutive fit samples */
	uint32_t unfit_streak;		/* consecutive unfit samples */
};

enum health_fence_state {
	HEALTH_FENCE_IDLE = 0,
	HEALTH_FENCE_ARMED,
	HEALTH_FENCE_FIRED,
};

struct health_group {
	TAILQ_ENTRY(health_group) link;
	struct health_engine *eng;
	struct health_group_cfg cfg;
	struct health_key keys[HEALTH_MAX_KEY_SLOTS];
	unsigned nkeys;
	uint64_t seq;			/* last seq sent */
	uint64_t next_send_ms;
	uint64_t next_eval_ms;
	uint64_t cooldown_until_ms;	/* no move before this */
	uint64_t last_tx_ok_ms;
	bool tx_ever_ok;
	uint64_t last_rx_any_ms;	/* last accepted beat from any peer */
	bool leaving;
	enum health_fence_state fence;
	uint64_t fence_at_ms;
	struct health_peer *peers[HEALTH_MAX_PEERS];
	unsigned npeers;
	struct health_stats stats;
	uint32_t logged_drops;		/* bit per enum health_drop already logged */
	/* transport */
	uint32_t ifindex;
	bool if_up;
	struct health_sock *sock;
};

struct health_engine {
	struct health_engine_cfg cfg;
	uint8_t boot_id[XEVPN_HB_ID_LEN];
	bool speaker_up;
	uint64_t speaker_lost_ms;
	TAILQ_HEAD(, health_group) groups;
	/* event ring */
	struct health_event *ev;
	unsigned ev_head, ev_count, ev_cap;
	uint64_t ev_lost;
	/* loop mode */
	struct uv_loop_s *loop;
	struct health_timer *timer;
};

uint64_t health_now(const struct health_engine *eng);
void health_logf(const struct health_engine *eng, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* transport.c */
int health_sock_open(struct health_group *g);
void health_sock_close(struct health_group *g);
int health_sock_send(struct health_group *g, const void *buf, size_t len);
int health_timer_start(struct health_engine *eng);
void health_timer_rearm(struct health_engine *eng);
void health_timer_close(struct health_engine *eng);
/* After a loop callback did work: tell the client if events are waiting. */
void health_notify(struct health_engine *eng);

#endif /* XEVPN_CTL_HEALTH_PRIV_H */
