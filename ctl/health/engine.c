// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Health engine: groups, peers, liveness, rise/fall verdicts, cooldown and
 * the self-fence clock. No I/O here: beats go out through transport.c (or
 * the client's send hook) and come in through health_group_input().
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <arpa/inet.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "health/health_priv.h"

#define DEF_INTERVAL_MS	1000
#define DEF_MISS	3
#define DEF_RISE	3
#define DEF_FALL	1

/* ---------- names ---------- */

static const char *const ev_names[HEALTH_EV_MAX] = {
	[HEALTH_EV_PEER_UP]		= "peer-up",
	[HEALTH_EV_PEER_DOWN]		= "peer-down",
	[HEALTH_EV_PEER_RESTART]	= "peer-restart",
	[HEALTH_EV_PEER_ROLE]		= "peer-role",
	[HEALTH_EV_PEER_FIT]		= "peer-fit",
	[HEALTH_EV_PEER_UNFIT]		= "peer-unfit",
	[HEALTH_EV_FENCE_ARMED]		= "fence-armed",
	[HEALTH_EV_FENCE_DISARMED]	= "fence-disarmed",
	[HEALTH_EV_FENCE_FIRE]		= "fence-fire",
	[HEALTH_EV_FENCE_CLEARED]	= "fence-cleared",
};

const char *health_event_name(enum health_event_type t)
{
	if ((unsigned)t >= HEALTH_EV_MAX || !ev_names[t])
		return "unknown";
	return ev_names[t];
}

const char *health_cause_name(enum health_cause c)
{
	switch (c) {
	case HEALTH_CAUSE_NONE:		return "none";
	case HEALTH_CAUSE_TIMEOUT:	return "timeout";
	case HEALTH_CAUSE_LEAVING:	return "leaving";
	case HEALTH_CAUSE_BEAT:		return "beat";
	case HEALTH_CAUSE_SPEAKER:	return "speaker";
	}
	return "unknown";
}

const char *health_verdict_name(enum health_verdict v)
{
	switch (v) {
	case HEALTH_VERDICT_UNKNOWN:	return "unknown";
	case HEALTH_VERDICT_FIT:	return "fit";
	case HEALTH_VERDICT_UNFIT:	return "unfit";
	}
	return "?";
}

const char *health_id_str(const uint8_t id[XEVPN_HB_ID_LEN], char *buf, size_t len)
{
	size_t n = 0;
	bool text = id[0] != 0;

	for (size_t i = 0; i < XEVPN_HB_ID_LEN; i++) {
		if (!id[i]) {
			for (size_t j = i; j < XEVPN_HB_ID_LEN; j++)
				if (id[j])
					text = false;
			break;
		}
		if (!isprint(id[i]) || isspace(id[i]))
			text = false;
	}
	if (text) {
		snprintf(buf, len, "%.*s", XEVPN_HB_ID_LEN, (const char *)id);
		return buf;
	}
	if (len)
		buf[0] = 0;
	for (size_t i = 0; i < XEVPN_HB_ID_LEN && n + 3 <= len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%02x", id[i]);
	return buf;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int hex_decode(uint8_t *out, size_t max, const char *hex, size_t *outlen)
{
	size_t n = strlen(hex);

	if (!n || n % 2 || n / 2 > max)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*outlen = n / 2;
	return 0;
}

int health_id_parse(uint8_t id[XEVPN_HB_ID_LEN], const char *s)
{
	size_t n;

	memset(id, 0, XEVPN_HB_ID_LEN);
	if (!strncmp(s, "0x", 2)) {
		if (strlen(s + 2) != 2 * XEVPN_HB_ID_LEN)
			return -EINVAL;
		return hex_decode(id, XEVPN_HB_ID_LEN, s + 2, &n);
	}
	n = strlen(s);
	if (!n || n > XEVPN_HB_ID_LEN)
		return -EINVAL;
	memcpy(id, s, n);
	return 0;
}

int health_key_from_hex(struct health_key *k, const char *hex)
{
	size_t n;
	int err;

	memset(k, 0, sizeof(*k));
	err = hex_decode(k->key, HEALTH_MAX_KEY_LEN, hex, &n);
	if (err)
		return err;
	k->len = (uint8_t)n;
	return 0;
}

/* ---------- clock, log ---------- */

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t health_now(const struct health_engine *eng)
{
	if (eng->cfg.mono_ms)
		return eng->cfg.mono_ms(eng->cfg.clock_ctx);
	return clock_ms(CLOCK_MONOTONIC);
}

static uint64_t wall_now(const struct health_engine *eng)
{
	if (eng->cfg.wall_ms)
		return eng->cfg.wall_ms(eng->cfg.clock_ctx);
	return clock_ms(CLOCK_REALTIME);
}

void health_logf(const struct health_engine *eng, int level, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (eng->cfg.log)
		eng->cfg.log(level, msg, eng->cfg.log_ctx);
	else if (level <= LOG_INFO)
		fprintf(stderr, "health: %s\n", msg);
}

/* ---------- events ---------- */

static struct health_event *ev_push(struct health_engine *eng, const struct health_event *ev)
{
	struct health_event *slot;

	if (eng->ev_count == eng->ev_cap) {
		unsigned cap = eng->ev_cap ? eng->ev_cap * 2 : 64;
		struct health_event *n;

		if (eng->ev_cap >= HEALTH_EVENT_QUEUE_MAX ||
		    !(n = calloc(cap, sizeof(*n)))) {
			eng->ev_lost++;
			return NULL;
		}
		for (unsigned i = 0; i < eng->ev_count; i++)
			n[i] = eng->ev[(eng->ev_head + i) % eng->ev_cap];
		free(eng->ev);
		eng->ev = n;
		eng->ev_cap = cap;
		eng->ev_head = 0;
	}
	slot = &eng->ev[(eng->ev_head + eng->ev_count) % eng->ev_cap];
	*slot = *ev;
	eng->ev_count++;
	return slot;
}

int health_engine_next_event(struct health_engine *eng, struct health_event *ev)
{
	while (eng->ev_count) {
		struct health_event *e = &eng->ev[eng->ev_head];

		eng->ev_head = (eng->ev_head + 1) % eng->ev_cap;
		eng->ev_count--;
		if (!e->type)		/* its group was deleted */
			continue;
		*ev = *e;
		return 1;
	}
	return 0;
}

uint64_t health_engine_events_lost(const struct health_engine *eng)
{
	return eng->ev_lost;
}

/* Queue an event; the returned slot (NULL if lost) is valid until the next push. */
static struct health_event *emit(struct health_group *g, enum health_event_type type,
				 enum health_cause cause, const struct health_peer *p, uint64_t now)
{
	struct health_event *slot;
	struct health_engine *eng = g->eng;
	struct health_event ev;
	char id[40];

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.cause = cause;
	ev.group = g;
	ev.user = g->cfg.user;
	ev.at_ms = now;
	if (p)
		ev.peer = p->info;
	if (type == HEALTH_EV_PEER_UNFIT)
		ev.takeover_ok = health_group_self_ok(g);
	if (type == HEALTH_EV_FENCE_ARMED)
		ev.fence_at_ms = g->fence_at_ms;
	slot = ev_push(eng, &ev);
	health_logf(eng, type == HEALTH_EV_FENCE_FIRE ? LOG_WARNING : LOG_INFO,
		    "%s: %s%s%s (%s)", g->cfg.name, health_event_name(type),
		    p ? " " : "", p ? health_id_str(p->info.instance_id, id, sizeof(id)) : "",
		    health_cause_name(cause));
	return slot;
}

/* ---------- engine ---------- */

struct health_engine *health_engine_new(const struct health_engine_cfg *cfg)
{
	static const uint8_t zero[XEVPN_HB_ID_LEN];
	struct health_engine *eng = calloc(1, sizeof(*eng));

	if (!eng)
		return NULL;
	eng->cfg = *cfg;
	if (memcmp(cfg->boot_id, zero, sizeof(zero)))
		memcpy(eng->boot_id, cfg->boot_id, sizeof(eng->boot_id));
	else if (RAND_bytes(eng->boot_id, sizeof(eng->boot_id)) != 1) {
		free(eng);
		return NULL;
	}
	eng->speaker_up = true;
	TAILQ_INIT(&eng->groups);
	return eng;
}

void health_engine_free(struct health_engine *eng)
{
	struct health_group *g;

	if (!eng)
		return;
	while ((g = TAILQ_FIRST(&eng->groups)))
		health_group_del(g);
	health_timer_close(eng);
	free(eng->ev);
	free(eng);
}

const uint8_t *health_engine_boot_id(const struct health_engine *eng)
{
	return eng->boot_id;
}

int health_engine_attach_loop(struct health_engine *eng, struct uv_loop_s *loop)
{
	struct health_group *g;
	int err;

	if (eng->loop)
		return -EALREADY;
	eng->loop = loop;
	err = health_timer_start(eng);
	if (err) {
		eng->loop = NULL;
		return err;
	}
	TAILQ_FOREACH(g, &eng->groups, link)
		if (g->ifindex && g->if_up)
			health_sock_open(g);
	health_timer_rearm(eng);
	return 0;
}

/* ---------- groups ---------- */

static void apply_defaults(struct health_group_cfg *c)
{
	if (!c->interval_ms)
		c->interval_ms = DEF_INTERVAL_MS;
	if (!c->tick_ms)
		c->tick_ms = c->interval_ms;
	if (!c->miss)
		c->miss = DEF_MISS;
	if (!c->rise)
		c->rise = DEF_RISE;
	if (!c->fall)
		c->fall = DEF_FALL;
	if (!c->port)
		c->port = XEVPN_HB_UDP_PORT;
	if (IN6_IS_ADDR_UNSPECIFIED(&c->maddr))
		inet_pton(AF_INET6, XEVPN_HB_MCAST_ADDR, &c->maddr);
}

static int check_cfg(const struct health_group_cfg *c)
{
	if (c->interval_ms > HEALTH_MAX_INTERVAL_MS || c->tick_ms > HEALTH_MAX_INTERVAL_MS)
		return -EINVAL;
	if (c->role >= XEVPN_HB_ROLE_MAX)
		return -EINVAL;
	if (!IN6_IS_ADDR_MC_LINKLOCAL(&c->maddr))
		return -EINVAL;
	return 0;
}

struct health_group *health_group_find(struct health_engine *eng,
				       const uint8_t evpn_id[XEVPN_HB_ID_LEN])
{
	struct health_group *g;

	TAILQ_FOREACH(g, &eng->groups, link)
		if (!memcmp(g->cfg.evpn_id, evpn_id, XEVPN_HB_ID_LEN))
			return g;
	return NULL;
}

int health_group_add(struct health_engine *eng, const struct health_group_cfg *cfg,
		     struct health_group **out)
{
	struct health_group *g;
	uint64_t now = health_now(eng);
	int err;

	if (health_group_find(eng, cfg->evpn_id))
		return -EEXIST;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->eng = eng;
	g->cfg = *cfg;
	g->cfg.name[HEALTH_NAME_LEN - 1] = 0;
	if (!g->cfg.name[0]) {
		char id[40];

		snprintf(g->cfg.name, sizeof(g->cfg.name), "group %s",
			 health_id_str(cfg->evpn_id, id, sizeof(id)));
	}
	apply_defaults(&g->cfg);
	err = check_cfg(&g->cfg);
	if (err) {
		free(g);
		return err;
	}
	g->next_send_ms = now;
	g->next_eval_ms = now + g->cfg.tick_ms;
	g->ifindex = cfg->ifindex;
	g->if_up = cfg->ifindex != 0;
	TAILQ_INSERT_TAIL(&eng->groups, g, link);
	if (eng->loop && g->ifindex)
		health_sock_open(g);
	health_timer_rearm(eng);
	if (out)
		*out = g;
	return 0;
}

static void peer_free(struct health_peer *p)
{
	OPENSSL_cleanse(&p->replay, sizeof(p->replay));
	free(p);
}

void health_group_del(struct health_group *g)
{
	struct health_engine *eng;

	if (!g)
		return;
	eng = g->eng;
	/* queued events must not outlive their group pointer */
	for (unsigned i = 0; i < eng->ev_count; i++) {
		struct health_event *e = &eng->ev[(eng->ev_head + i) % eng->ev_cap];

		if (e->group == g)
			e->type = 0;
	}
	health_sock_close(g);
	TAILQ_REMOVE(&eng->groups, g, link);
	for (unsigned i = 0; i < g->npeers; i++)
		peer_free(g->peers[i]);
	OPENSSL_cleanse(g->keys, sizeof(g->keys));
	free(g);
	health_timer_rearm(eng);
}

int health_group_set_keys(struct health_group *g, const struct health_key *keys, unsigned n)
{
	if (n > HEALTH_MAX_KEY_SLOTS)
		return -E2BIG;
	for (unsigned i = 0; i < n; i++)
		if (!keys[i].len || keys[i].len > HEALTH_MAX_KEY_LEN)
			return -EINVAL;
	OPENSSL_cleanse(g->keys, sizeof(g->keys));
	if (n)
		memcpy(g->keys, keys, n * sizeof(*keys));
	g->nkeys = n;
	return 0;
}

int health_group_set_role(struct health_group *g, uint8_t role)
{
	if (role >= XEVPN_HB_ROLE_MAX)
		return -EINVAL;
	g->cfg.role = role;
	return 0;
}

int health_group_set_priority(struct health_group *g, uint16_t priority)
{
	g->cfg.priority = priority;
	return 0;
}

int health_group_set_vmac(struct health_group *g, const uint8_t vmac[XEVPN_HB_MAC_ADDR_LEN])
{
	memcpy(g->cfg.group_vmac, vmac, XEVPN_HB_MAC_ADDR_LEN);
	return 0;
}

int health_group_set_timers(struct health_group *g, const struct health_group_cfg *c)
{
	struct health_group_cfg n = g->cfg;
	uint64_t now = health_now(g->eng);

	if (c->interval_ms)
		n.interval_ms = c->interval_ms;
	if (c->tick_ms)
		n.tick_ms = c->tick_ms;
	if (c->miss)
		n.miss = c->miss;
	if (c->rise)
		n.rise = c->rise;
	if (c->fall)
		n.fall = c->fall;
	if (c->cooldown_ms)
		n.cooldown_ms = c->cooldown_ms;
	if (c->fence_ms)
		n.fence_ms = c->fence_ms;
	if (check_cfg(&n))
		return -EINVAL;
	g->cfg = n;
	if (g->next_send_ms > now + n.interval_ms)
		g->next_send_ms = now + n.interval_ms;
	if (g->next_eval_ms > now + n.tick_ms)
		g->next_eval_ms = now + n.tick_ms;
	health_timer_rearm(g->eng);
	return 0;
}

int health_group_set_ifindex(struct health_group *g, uint32_t ifindex, bool up)
{
	bool rebuild = ifindex != g->ifindex || (up && !g->if_up);

	g->ifindex = ifindex;
	g->if_up = up && ifindex;
	if (!g->eng->loop)
		return 0;
	if (!g->if_up) {
		health_sock_close(g);
		return 0;
	}
	if (rebuild || !g->sock) {
		health_sock_close(g);
		return health_sock_open(g);
	}
	return 0;
}

void *health_group_user(const struct health_group *g)
{
	return g->cfg.user;
}

const char *health_group_name(const struct health_group *g)
{
	return g->cfg.name;
}

void health_group_stats(const struct health_group *g, struct health_stats *st)
{
	*st = g->stats;
}

unsigned health_group_members(const struct health_group *g)
{
	unsigned n = 0;

	for (unsigned i = 0; i < g->npeers; i++)
		if (!g->peers[i]->info.left)
			n++;
	return n;
}

static bool any_peer_alive(const struct health_group *g)
{
	for (unsigned i = 0; i < g->npeers; i++)
		if (g->peers[i]->info.alive)
			return true;
	return false;
}

bool health_group_self_ok(const struct health_group *g)
{
	uint64_t now = health_now(g->eng);
	uint64_t window = (uint64_t)g->cfg.miss * g->cfg.interval_ms;

	if (!g->tx_ever_ok || now - g->last_tx_ok_ms >= window)
		return false;
	return g->eng->speaker_up || any_peer_alive(g);
}

int health_group_peer(const struct health_group *g, unsigned i, struct health_peer_info *out)
{
	if (i >= g->npeers)
		return -ENOENT;
	*out = g->peers[i]->info;
	return 0;
}

static struct health_peer *peer_find(const struct health_group *g,
				     const uint8_t id[XEVPN_HB_ID_LEN], unsigned *idx)
{
	for (unsigned i = 0; i < g->npeers; i++)
		if (!memcmp(g->peers[i]->info.instance_id, id, XEVPN_HB_ID_LEN)) {
			if (idx)
				*idx = i;
			return g->peers[i];
		}
	return NULL;
}

int health_group_peer_forget(struct health_group *g, const uint8_t instance_id[XEVPN_HB_ID_LEN])
{
	unsigned i;
	struct health_peer *p = peer_find(g, instance_id, &i);

	if (!p)
		return -ENOENT;
	g->peers[i] = g->peers[--g->npeers];
	peer_free(p);
	return 0;
}

/* ---------- fence ---------- */

static void fence_eval(struct health_group *g, uint64_t now)
{
	struct health_engine *eng = g->eng;
	bool cond = g->cfg.fence_ms && !eng->speaker_up &&
		    health_group_members(g) > 0 && !any_peer_alive(g);
	enum health_cause cause;

	if (cond) {
		uint64_t from = eng->speaker_lost_ms > g->last_rx_any_ms ?
				eng->speaker_lost_ms : g->last_rx_any_ms;

		g->fence_at_ms = from + g->cfg.fence_ms;
		if (g->fence == HEALTH_FENCE_IDLE) {
			g->fence = HEALTH_FENCE_ARMED;
			emit(g, HEALTH_EV_FENCE_ARMED, HEALTH_CAUSE_SPEAKER, NULL, now);
		}
		if (g->fence == HEALTH_FENCE_ARMED && now >= g->fence_at_ms) {
			g->fence = HEALTH_FENCE_FIRED;
			emit(g, HEALTH_EV_FENCE_FIRE, HEALTH_CAUSE_TIMEOUT, NULL, now);
		}
		return;
	}
	cause = eng->speaker_up ? HEALTH_CAUSE_SPEAKER : HEALTH_CAUSE_BEAT;
	if (g->fence == HEALTH_FENCE_ARMED)
		emit(g, HEALTH_EV_FENCE_DISARMED, cause, NULL, now);
	else if (g->fence == HEALTH_FENCE_FIRED)
		emit(g, HEALTH_EV_FENCE_CLEARED, cause, NULL, now);
	g->fence = HEALTH_FENCE_IDLE;
}

void health_engine_set_speaker(struct health_engine *eng, bool up)
{
	uint64_t now = health_now(eng);
	struct health_group *g;

	if (eng->speaker_up == up)
		return;
	eng->speaker_up = up;
	if (!up)
		eng->speaker_lost_ms = now;
	health_logf(eng, LOG_NOTICE, "bgp speaker %s", up ? "back" : "lost");
	TAILQ_FOREACH(g, &eng->groups, link)
		fence_eval(g, now);
	health_timer_rearm(eng);
}

/* ---------- receive ---------- */

static void count_drop(struct health_group *g, enum health_drop reason)
{
	g->stats.drops[reason]++;
	/* Foreign beats are normal on a shared link; others are logged once. */
	if (reason == HEALTH_DROP_FOREIGN_GROUP || (g->logged_drops & (1u << reason)))
		return;
	g->logged_drops |= 1u << reason;
	health_logf(g->eng, LOG_WARNING, "%s: dropping beat: %s (counted from now on)",
		    g->cfg.name, health_drop_name(reason));
}

static void peer_update_info(struct health_group *g, struct health_peer *p,
			     const struct health_beat *b, const struct sockaddr_in6 *src,
			     bool fresh, uint64_t now)
{
	struct health_peer_info *pi = &p->info;
	bool role_change = !fresh && (pi->role != b->role || pi->priority != b->priority);

	memcpy(pi->instance_mac, b->instance_mac, sizeof(pi->instance_mac));
	memcpy(pi->boot_id, b->boot_id, sizeof(pi->boot_id));
	memcpy(pi->group_vmac, b->group_vmac, sizeof(pi->group_vmac));
	if (src)
		pi->addr = src->sin6_addr;
	pi->role = b->role;
	pi->priority = b->priority;
	pi->vni = b->vni;
	pi->interval_ms = b->interval_ms;
	pi->seq = b->seq;
	pi->last_rx_ms = now;
	pi->beats++;
	if (role_change)
		emit(g, HEALTH_EV_PEER_ROLE, HEALTH_CAUSE_BEAT, p, now);
}

static void peer_leaving(struct health_group *g, struct health_peer *p, uint64_t now)
{
	if (p->info.left)
		return;
	p->info.left = true;
	p->fit_streak = 0;
	p->unfit_streak = 0;
	if (p->info.alive) {
		p->info.alive = false;
		emit(g, HEALTH_EV_PEER_DOWN, HEALTH_CAUSE_LEAVING, p, now);
	}
	/* graceful: no fall samples, no cooldown wait; still a move */
	if (p->info.verdict != HEALTH_VERDICT_UNFIT) {
		p->info.verdict = HEALTH_VERDICT_UNFIT;
		emit(g, HEALTH_EV_PEER_UNFIT, HEALTH_CAUSE_LEAVING, p, now);
		g->cooldown_until_ms = now + g->cfg.cooldown_ms;
	}
}

enum health_drop health_group_input(struct health_group *g, const void *buf, size_t len,
				    const struct sockaddr_in6 *src)
{
	struct health_engine *eng = g->eng;
	uint64_t now = health_now(eng);
	struct health_peer *p;
	struct health_beat b;
	enum health_drop r;
	bool fresh = false, restart;

	r = health_beat_decode(buf, len, g->cfg.evpn_id, g->keys, g->nkeys, &b, NULL);
	if (r)
		goto drop;
	if (!memcmp(b.instance_id, eng->cfg.instance_id, XEVPN_HB_ID_LEN)) {
		r = HEALTH_DROP_SELF;
		goto drop;
	}
	p = peer_find(g, b.instance_id, NULL);
	if (!p) {
		if (g->npeers >= HEALTH_MAX_PEERS) {
			r = HEALTH_DROP_PEER_LIMIT;
			goto drop;
		}
		p = calloc(1, sizeof(*p));
		if (!p) {
			r = HEALTH_DROP_PEER_LIMIT;
			goto drop;
		}
		memcpy(p->info.instance_id, b.instance_id, XEVPN_HB_ID_LEN);
		g->peers[g->npeers++] = p;
		fresh = true;
	}
	r = health_replay_check_live(&p->replay, &b, p->info.alive, &restart);
	if (r) {
		if (fresh)	/* nothing accepted from it: do not keep it */
			health_group_peer_forget(g, b.instance_id);
		goto drop;
	}
	g->stats.rx_ok++;
	g->last_rx_any_ms = now;
	peer_update_info(g, p, &b, src, fresh, now);
	if (restart)
		emit(g, HEALTH_EV_PEER_RESTART, HEALTH_CAUSE_BEAT, p, now);
	if (b.flags & XEVPN_HB_F_LEAVING) {
		peer_leaving(g, p, now);
	} else {
		if (p->info.left) {
			p->info.left = false;
			p->fit_streak = 0;
			p->unfit_streak = 0;
		}
		if (!p->info.alive) {
			p->info.alive = true;
			emit(g, HEALTH_EV_PEER_UP, HEALTH_CAUSE_BEAT, p, now);
		}
	}
	fence_eval(g, now);
	return HEALTH_DROP_NONE;
drop:
	count_drop(g, r);
	return r;
}

/* ---------- send ---------- */

int health_group_leave(struct health_group *g, bool leaving)
{
	g->leaving = leaving;
	if (leaving)
		return health_group_send_now(g);
	return 0;
}

int health_group_send_now(struct health_group *g)
{
	struct health_engine *eng = g->eng;
	uint8_t buf[XEVPN_HB_LEN];
	struct health_beat b;
	uint64_t now = health_now(eng);
	int err;

	if (!g->nkeys)
		return -ENOKEY;
	memset(&b, 0, sizeof(b));
	b.role = g->cfg.role;
	b.priority = g->cfg.priority;
	memcpy(b.instance_id, eng->cfg.instance_id, XEVPN_HB_ID_LEN);
	memcpy(b.instance_mac, eng->cfg.instance_mac, XEVPN_HB_MAC_ADDR_LEN);
	memcpy(b.boot_id, eng->boot_id, XEVPN_HB_ID_LEN);
	b.seq = ++g->seq;
	b.interval_ms = g->cfg.interval_ms;
	b.timestamp_ms = wall_now(eng);
	if (g->cfg.role == XEVPN_HB_ROLE_PRIMARY)
		memcpy(b.group_vmac, g->cfg.group_vmac, XEVPN_HB_MAC_ADDR_LEN);
	memcpy(b.evpn_id, g->cfg.evpn_id, XEVPN_HB_ID_LEN);
	b.vni = g->cfg.vni;
	b.flags = g->leaving ? XEVPN_HB_F_LEAVING : 0;
	err = health_beat_encode(&b, &g->keys[0], buf);
	if (err < 0)
		return err;
	if (eng->loop)
		err = health_sock_send(g, buf, sizeof(buf));
	else if (eng->cfg.send)
		err = eng->cfg.send(g, buf, sizeof(buf), eng->cfg.send_ctx);
	else
		err = -ENOTCONN;
	if (err) {
		g->stats.tx_err++;
		return err;
	}
	g->stats.tx_ok++;
	g->last_tx_ok_ms = now;
	g->tx_ever_ok = true;
	return 0;
}

/* ---------- evaluation ---------- */

static void peer_sample(struct health_group *g, struct health_peer *p, uint64_t now,
			bool cooling)
{
	struct health_peer_info *pi = &p->info;
	uint64_t silence = now - pi->last_rx_ms;
	enum health_verdict want;
	bool move;

	if (pi->left)
		return;
	if (pi->alive && silence >= (uint64_t)g->cfg.miss * pi->interval_ms) {
		pi->alive = false;
		emit(g, HEALTH_EV_PEER_DOWN, HEALTH_CAUSE_TIMEOUT, p, now);
	}
	if (!pi->alive) {
		p->unfit_streak++;
		p->fit_streak = 0;
	} else if (silence <= (uint64_t)pi->interval_ms + g->cfg.tick_ms) {
		p->fit_streak++;
		p->unfit_streak = 0;
	} else {
		p->fit_streak = 0;	/* late: breaks a rise, does not count as a fall */
	}

	if (pi->verdict != HEALTH_VERDICT_UNFIT && p->unfit_streak >= g->cfg.fall)
		want = HEALTH_VERDICT_UNFIT;
	else if (pi->verdict != HEALTH_VERDICT_FIT && p->fit_streak >= g->cfg.rise)
		want = HEALTH_VERDICT_FIT;
	else
		return;
	move = !(pi->verdict == HEALTH_VERDICT_UNKNOWN && want == HEALTH_VERDICT_FIT);
	if (move && cooling)
		return;			/* due at the first tick after the cooldown */
	pi->verdict = want;
	if (want == HEALTH_VERDICT_FIT) {
		struct health_event *e = emit(g, HEALTH_EV_PEER_FIT, HEALTH_CAUSE_BEAT, p, now);

		if (e)
			e->first = !move;
	} else {
		emit(g, HEALTH_EV_PEER_UNFIT, HEALTH_CAUSE_TIMEOUT, p, now);
	}
	if (move)
		g->cooldown_until_ms = now + g->cfg.cooldown_ms;
}

static void group_eval(struct health_group *g, uint64_t now)
{
	/* Moves decided at the same tick are one decision: the cooldown they
	 * start applies from the next tick on. */
	bool cooling = now < g->cooldown_until_ms;

	for (unsigned i = 0; i < g->npeers; i++)
		peer_sample(g, g->peers[i], now, cooling);
}

void health_engine_tick(struct health_engine *eng)
{
	uint64_t now = health_now(eng);
	struct health_group *g;

	TAILQ_FOREACH(g, &eng->groups, link) {
		if (now >= g->next_send_ms) {
			if (g->nkeys) {
				if (eng->loop && !g->sock && g->if_up && g->ifindex)
					health_sock_open(g);	/* retry a failed open */
				health_group_send_now(g);
			}
			g->next_send_ms += g->cfg.interval_ms;
			if (g->next_send_ms <= now)
				g->next_send_ms = now + g->cfg.interval_ms;
		}
		if (now >= g->next_eval_ms) {
			group_eval(g, now);
			g->next_eval_ms += g->cfg.tick_ms;
			if (g->next_eval_ms <= now)
				g->next_eval_ms = now + g->cfg.tick_ms;
		}
		fence_eval(g, now);
	}
	health_timer_rearm(eng);
}

uint64_t health_engine_next_due(const struct health_engine *eng)
{
	const struct health_group *g;
	uint64_t due = UINT64_MAX;

	TAILQ_FOREACH(g, &eng->groups, link) {
		if (g->next_send_ms < due)
			due = g->next_send_ms;
		if (g->next_eval_ms < due)
			due = g->next_eval_ms;
		if (g->fence == HEALTH_FENCE_ARMED && g->fence_at_ms < due)
			due = g->fence_at_ms;
	}
	return due;
}
