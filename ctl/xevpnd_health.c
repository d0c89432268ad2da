// SPDX-License-Identifier: GPL-2.0
/* Health actions of xevpnd (see xevpnd_health.h for what each event does). */
#include "xevpnd_health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <net/if.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dp/dp.h"
#include "health/health.h"
#include "log.h"

#define XH_MAX_GROUPS	64
#define XH_SYNC_MIN_MS	50	/* floor of the role/claim/fence-lift sync period */

enum xh_fence { XH_FENCE_IDLE = 0, XH_FENCE_ARMED, XH_FENCE_FIRED };
static const char *const fence_names[] = { "idle", "armed", "fired" };
static const char *const role_names[XEVPN_HB_ROLE_MAX] = { "warmup", "candidate", "primary" };

/* What xevpnd did about one peer of a group. */
struct xh_peer {
	uint8_t id[XEVPN_HB_ID_LEN];
	uint32_t vtep;		/* from the instance id; 0 = not a VTEP address */
	bool pruned;		/* unfit acted on: counts toward evpn_vtep_health(down) */
	bool pending;		/* unfit while this node was isolated: not acted on yet */
	uint64_t down_ms;	/* mono time of the last peer-down (0 = never) */
	uint64_t unfit_ms;	/* ... of the last peer-unfit */
	uint64_t up_ms;		/* ... of the last peer-up */
	uint64_t primed_ms;	/* last neighbour nudge toward its VTEP while silent */
};

struct xh_group {
	struct xh *h;
	struct xcfg_health_group cfg;
	bool is_es;
	esi_t esi;		/* ES group */
	uint32_t vni;		/* ES group: BD of the ES port; BD group: the BD */
	uint8_t evpn_id[XEVPN_HB_ID_LEN];
	struct health_group *hg;
	uint32_t ifindex;
	bool if_up;
	uint8_t role;		/* our advertised role */
	enum xh_fence fence;	/* the engine's fence clock, from its events */
	uint64_t fence_at_ms;
	bool fenced;		/* we took this group's ES ports out of service */
	uint64_t fenced_ms;
	struct xh_peer peers[HEALTH_MAX_PEERS];
	unsigned n_peers;
};

struct xh_timer {
	uv_timer_t t;
	struct xh *h;		/* NULL once closing */
};

struct xh {
	uv_loop_t *loop;
	struct evpn *e;
	const struct xcfg *cfg;
	void (*changed)(void *ctx);
	void *ctx;
	struct health_engine *eng;
	struct xh_timer *timer;
	struct xh_group *groups[XH_MAX_GROUPS];
	unsigned n_groups;
	bool speaker_up;
	uint64_t speaker_ms;	/* last speaker change */
	bool touched;		/* the model was changed: call changed() */
	struct xh_stats st;
	void (*obs_event)(void *ctx, const struct health_event *ev);
	void (*obs_failover)(void *ctx, const char *what);
	void *obs_ctx;
};

static void failover(struct xh *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failover(struct xh *h, const char *fmt, ...)
{
	char what[128];
	va_list ap;

	if (!h->obs_failover)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	h->obs_failover(h->obs_ctx, what);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void engine_log(int level, const char *msg, void *ctx)
{
	(void)ctx;
	log_msg(level, "health: %s", msg);
}

/* ---- configuration ---------------------------------------------------- */

static const struct xcfg_bd *bd_of_port(const struct xcfg *c, const char *ifname)
{
	for (unsigned i = 0; i < c->n_bds; i++)
		for (unsigned k = 0; k < c->bds[i].n_ports; k++)
			if (!strcmp(c->bds[i].ports[k].ifname, ifname))
				return &c->bds[i];
	return NULL;
}

static bool bd_has_port(const struct xcfg_bd *bd, const char *ifname)
{
	for (unsigned k = 0; k < bd->n_ports; k++)
		if (!strcmp(bd->ports[k].ifname, ifname))
			return true;
	return false;
}

/* Group id on the wire: SHA-256("xevpn-hb" 0 evpn-id 0 "es" ESI | "bd" VNI)[0..15]. */
static int group_id(const struct xcfg_health *hc, bool is_es, const esi_t *esi, uint32_t vni,
		    uint8_t out[XEVPN_HB_ID_LEN])
{
	uint8_t buf[128], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t n = 0, l = strlen(hc->evpn_id);
	uint32_t be = htonl(vni);

	memcpy(buf, "xevpn-hb", 9);
	n = 9;
	memcpy(buf + n, hc->evpn_id, l + 1);
	n += l + 1;
	memcpy(buf + n, is_es ? "es" : "bd", 2);
	n += 2;
	if (is_es) {
		memcpy(buf + n, esi->b, ESI_LEN);
		n += ESI_LEN;
	} else {
		memcpy(buf + n, &be, 4);
		n += 4;
	}
	if (!EVP_Digest(buf, n, md, &mdlen, EVP_sha256(), NULL) || mdlen < XEVPN_HB_ID_LEN)
		return -EIO;
	memcpy(out, md, XEVPN_HB_ID_LEN);
	return 0;
}

/* Resolve a group's ES/BD from the configuration. */
static int group_resolve(const struct xcfg *c, const struct xcfg_health_group *gc, bool *is_es,
			 esi_t *esi, uint32_t *vni)
{
	const struct xcfg_bd *bd;

	memset(esi, 0, sizeof(*esi));
	if (gc->es[0]) {
		const struct xcfg_es *es = xcfg_es_find(c, gc->es);

		if (!es)
			return -ENOENT;
		*is_es = true;
		*esi = es->esi;
		bd = bd_of_port(c, es->port);
	} else {
		*is_es = false;
		bd = xcfg_bd_find(c, gc->bd);
		if (!bd)
			return -ENOENT;
	}
	*vni = bd ? bd->vni : 0;
	return 0;
}

static void group_timers(const struct xcfg_health *hc, struct health_group_cfg *gc)
{
	gc->interval_ms = hc->interval_ms ? hc->interval_ms : 1000;
	gc->tick_ms = gc->interval_ms;
	gc->miss = hc->miss;
	gc->rise = hc->rise;
	gc->fall = hc->fall;
	gc->cooldown_ms = hc->cooldown_ms;
	gc->fence_ms = hc->self_fence_ms;
}

static int group_keys(struct xh_group *g, const struct xcfg_health *hc)
{
	struct health_key k[HEALTH_MAX_KEY_SLOTS];
	unsigned n = 0;

	for (unsigned i = 0; i < hc->n_keys && n < HEALTH_MAX_KEY_SLOTS; i++) {
		if (hc->keys[i].len > HEALTH_MAX_KEY_LEN)
			continue;
		k[n].len = hc->keys[i].len;
		memcpy(k[n].key, hc->keys[i].key, hc->keys[i].len);
		n++;
	}
	return health_group_set_keys(g->hg, k, n);
}

/* Link state by name, for a group added or changed outside a netlink event. */
static void if_state(const char *ifname, uint32_t *ifindex, bool *up)
{
	struct ifreq ifr = { 0 };
	int fd;

	*ifindex = if_nametoindex(ifname);
	*up = false;
	if (!*ifindex)
		return;
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (!ioctl(fd, SIOCGIFFLAGS, &ifr))
		*up = (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
	close(fd);
}

static void if_mac(const char *ifname, uint8_t mac[MAC_LEN])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (!ioctl(fd, SIOCGIFHWADDR, &ifr))
		memcpy(mac, ifr.ifr_hwaddr.sa_data, MAC_LEN);
	close(fd);
}

/* ---- actions ------------------------------------------------------------ */

static struct xh_peer *peer_get(struct xh_group *g, const uint8_t id[XEVPN_HB_ID_LEN])
{
	struct xh_peer *p;
	char txt[XEVPN_HB_ID_LEN + 1];
	struct in_addr a;

	for (unsigned i = 0; i < g->n_peers; i++)
		if (!memcmp(g->peers[i].id, id, XEVPN_HB_ID_LEN))
			return &g->peers[i];
	if (g->n_peers == HEALTH_MAX_PEERS) {
		/* reuse a record that holds no action */
		for (unsigned i = 0; i < g->n_peers; i++)
			if (!g->peers[i].pruned && !g->peers[i].pending) {
				g->peers[i] = g->peers[--g->n_peers];
				break;
			}
		if (g->n_peers == HEALTH_MAX_PEERS)
			return NULL;
	}
	p = &g->peers[g->n_peers++];
	memset(p, 0, sizeof(*p));
	memcpy(p->id, id, XEVPN_HB_ID_LEN);
	memcpy(txt, id, XEVPN_HB_ID_LEN);
	txt[XEVPN_HB_ID_LEN] = 0;
	if (inet_pton(AF_INET, txt, &a) == 1)
		p->vtep = ntohl(a.s_addr);
	return p;
}

/* Down in the model while any group holds an acted-on unfit verdict. */
static void vtep_update(struct xh *h, uint32_t vtep)
{
	bool down = false;

	if (!vtep || vtep == h->e->self)
		return;
	for (unsigned i = 0; i < h->n_groups && !down; i++)
		for (unsigned k = 0; k < h->groups[i]->n_peers; k++)
			if (h->groups[i]->peers[k].vtep == vtep && h->groups[i]->peers[k].pruned)
				down = true;
	evpn_tick(h->e, mono_ms());	/* the model's clock, for the timers it starts */
	evpn_vtep_health(h->e, vtep, !down);
	h->touched = true;
}

static void peer_prune(struct xh *h, struct xh_group *g, struct xh_peer *p)
{
	char ip[IP4_STR_LEN];

	p->pending = false;
	if (p->pruned)
		return;
	p->pruned = true;
	h->st.prunes++;
	log_msg(LOG_NOTICE, "health: %s: vtep %s unfit: out of ES groups and DF election",
		g->cfg.name, ip4_fmt(p->vtep, ip));
	vtep_update(h, p->vtep);
	failover(h, "vtep %s pruned (%s)", ip, g->cfg.name);
}

static void peer_restore(struct xh *h, struct xh_group *g, struct xh_peer *p)
{
	char ip[IP4_STR_LEN];

	p->pending = false;
	if (!p->pruned)
		return;
	p->pruned = false;
	h->st.restores++;
	log_msg(LOG_NOTICE, "health: %s: vtep %s fit again: restored", g->cfg.name,
		ip4_fmt(p->vtep, ip));
	vtep_update(h, p->vtep);
}

/* Local ESes a group speaks for: its ES, or every local ES in its BD. */
static bool group_covers(const struct xh *h, const struct xh_group *g, const struct evpn_es *es)
{
	const struct xcfg_bd *bd;

	if (!(es->flags & EVPN_ES_LOCAL))
		return false;
	if (g->is_es)
		return !esi_cmp(&g->esi, &es->esi);
	bd = xcfg_bd_find(h->cfg, g->cfg.bd);
	return bd && bd_has_port(bd, es->cfg.port);
}

static void fence_apply(struct xh *h)
{
	for (unsigned i = 0; i < h->cfg->n_es; i++) {
		struct evpn_es *es = evpn_es_find(h->e, &h->cfg->es[i].esi);
		bool fenced = false;

		if (!es)
			continue;
		for (unsigned k = 0; k < h->n_groups; k++)
			fenced |= h->groups[k]->fenced && group_covers(h, h->groups[k], es);
		if (fenced != !!(es->flags & EVPN_ES_FENCED)) {
			evpn_tick(h->e, mono_ms());
			evpn_es_fence(h->e, es, fenced);
			h->touched = true;
			if (fenced)
				failover(h, "es %s self-fenced", es->name);
		}
	}
}

static bool any_peer_alive(const struct xh_group *g)
{
	struct health_peer_info pi;

	for (unsigned i = 0; !health_group_peer(g->hg, i, &pi); i++)
		if (pi.alive)
			return true;
	return false;
}

/* Lift a fence once the speaker is back and a peer is heard again. Peers are
 * heard only after BGP has reconverged (their flood lists need our IMET), so
 * allow for that; if no peer returns within XH_LIFT_GRACE deadlines of the
 * speaker's return, lift anyway: BGP works again and is the authority, and
 * staying out would leave the segment with no forwarder if the peers are
 * gone for good. */
#define XH_LIFT_GRACE	3

static void fence_try_lift(struct xh *h, struct xh_group *g, uint64_t now)
{
	uint64_t wait = (uint64_t)XH_LIFT_GRACE * h->cfg->health.self_fence_ms;

	if (!g->fenced || g->fence == XH_FENCE_FIRED || !h->speaker_up)
		return;
	if (!any_peer_alive(g) && now - h->speaker_ms < wait)
		return;
	g->fenced = false;
	h->st.fence_lifts++;
	log_msg(LOG_NOTICE, "health: %s: self-fence lifted (speaker up, %s)", g->cfg.name,
		any_peer_alive(g) ? "peers heard" : "no peer left");
	fence_apply(h);
}

static void on_event(struct xh *h, const struct health_event *ev)
{
	struct xh_group *g = ev->user;
	struct xh_peer *p = NULL;
	char id[40] = "";

	h->st.events++;
	if (h->obs_event)
		h->obs_event(h->obs_ctx, ev);
	if (!g)
		return;
	if (ev->type <= HEALTH_EV_PEER_UNFIT)
		p = peer_get(g, ev->peer.instance_id);
	/* the engine logs its events itself; this is the actuator's trace */
	log_msg(LOG_DEBUG, "health: %s: %s%s%s (%s)",
		g->cfg.name, health_event_name(ev->type), p ? " peer " : "",
		p ? health_id_str(ev->peer.instance_id, id, sizeof(id)) : "",
		health_cause_name(ev->cause));
	switch (ev->type) {
	case HEALTH_EV_PEER_UP:
		if (p)
			p->up_ms = ev->at_ms;
		break;
	case HEALTH_EV_PEER_DOWN:
		if (p)
			p->down_ms = ev->at_ms;
		break;
	case HEALTH_EV_PEER_UNFIT:
		if (!p)
			break;
		p->unfit_ms = ev->at_ms;
		if (!p->vtep)
			break;	/* not a VTEP we know how to act on */
		if (ev->takeover_ok) {
			peer_prune(h, g, p);
		} else if (!p->pruned && !p->pending) {
			/* we may be the silent one: never promote ourselves on it */
			p->pending = true;
			h->st.deferred++;
			log_msg(LOG_WARNING, "health: %s: %s unfit while this node is isolated: not acting",
				g->cfg.name, id);
		}
		break;
	case HEALTH_EV_PEER_FIT:
		if (p && !ev->first)
			peer_restore(h, g, p);
		break;
	case HEALTH_EV_FENCE_ARMED:
		g->fence = XH_FENCE_ARMED;
		g->fence_at_ms = ev->fence_at_ms;
		break;
	case HEALTH_EV_FENCE_DISARMED:
		g->fence = XH_FENCE_IDLE;
		break;
	case HEALTH_EV_FENCE_FIRE:
		g->fence = XH_FENCE_FIRED;
		if (h->speaker_up) {
			/* advisory: the speaker came back meanwhile */
			h->st.fence_skipped++;
			log_msg(LOG_NOTICE, "health: %s: fence due but the BGP speaker is back: skipped",
				g->cfg.name);
			break;
		}
		if (!g->fenced) {
			g->fenced = true;
			g->fenced_ms = ev->at_ms;
			h->st.fences++;
			log_msg(LOG_WARNING, "health: %s: BGP speaker lost and no peer heard: self-fence",
				g->cfg.name);
			fence_apply(h);
		}
		break;
	case HEALTH_EV_FENCE_CLEARED:
		g->fence = XH_FENCE_IDLE;
		fence_try_lift(h, g, ev->at_ms);
		break;
	default:
		break;
	}
}

/* Our role per group, peers' DF claims, deferred verdicts, fence lifts. */
static void xh_sync(struct xh *h)
{
	uint64_t now = mono_ms();

	for (unsigned i = 0; i < h->n_groups; i++) {
		struct xh_group *g = h->groups[i];
		struct evpn_es *es = g->is_es ? evpn_es_find(h->e, &g->esi) : NULL;
		uint8_t role = h->e->started ? XEVPN_HB_ROLE_CANDIDATE : XEVPN_HB_ROLE_WARMUP;
		struct health_peer_info pi;

		if (es) {
			role = evpn_es_in_service(es) && !(es->flags & EVPN_ES_DF_WAIT) ?
			       XEVPN_HB_ROLE_CANDIDATE : XEVPN_HB_ROLE_WARMUP;
			for (unsigned k = 0; k < es->n_evis; k++)
				if (es->evis[k].flags & EVPN_ES_EVI_DF)
					role = XEVPN_HB_ROLE_PRIMARY;
		}
		if (role != g->role) {
			g->role = role;
			health_group_set_role(g->hg, role);
		}
		for (unsigned k = 0; !health_group_peer(g->hg, k, &pi); k++) {
			struct xh_peer *p = peer_get(g, pi.instance_id);
			struct evpn_es_vtep *v;

			if (!p || !p->vtep)
				continue;
			if (es && (v = evpn_es_vtep_find(es, p->vtep))) {
				if (pi.alive && !pi.left && pi.role == XEVPN_HB_ROLE_PRIMARY)
					v->flags |= EVPN_ES_VTEP_DF_CLAIM;
				else
					v->flags &= ~EVPN_ES_VTEP_DF_CLAIM;
			}
			if (p->pending) {
				if (pi.verdict != HEALTH_VERDICT_UNFIT)
					p->pending = false;
				else if (health_group_self_ok(g->hg))
					peer_prune(h, g, p);
			}
		}
		fence_try_lift(h, g, now);
	}
}

static void xh_done(struct xh *h)
{
	if (h->touched && h->changed) {
		h->touched = false;
		h->changed(h->ctx);
	}
}

static void drain(struct xh *h)
{
	struct health_event ev;

	while (h->eng && health_engine_next_event(h->eng, &ev))
		on_event(h, &ev);
	xh_sync(h);
	xh_done(h);
}

static void on_notify(struct health_engine *eng, void *ctx)
{
	(void)eng;
	drain(ctx);
}

/*
 * Beats reach a peer only as BUM copies, which the dataplane clones straight
 * to the wire and which cannot wait for ARP. After an underlay outage the
 * neighbour entry of a silent peer's VTEP may have failed, and only unicast
 * through the stack would resolve it again: nudge it while the peer is silent,
 * or the heartbeat would never come back by itself.
 */
#define XH_PRIME_MS 1000

static void prime_silent(struct xh *h, uint64_t now)
{
	for (unsigned gi = 0; gi < h->n_groups; gi++) {
		struct xh_group *g = h->groups[gi];

		for (unsigned i = 0; g && i < g->n_peers; i++) {
			struct xh_peer *p = &g->peers[i];

			if (!p->vtep || p->down_ms <= p->up_ms || now - p->primed_ms < XH_PRIME_MS)
				continue;
			p->primed_ms = now;
			xevpn_dp_neigh_prime(htonl(p->vtep));
		}
	}
}

static void timer_cb(uv_timer_t *t)
{
	struct xh_timer *xt = t->data;

	if (xt->h) {
		prime_silent(xt->h, mono_ms());
		drain(xt->h);
	}
}

static void timer_close_cb(uv_handle_t *hd)
{
	free(hd->data);
}

/* ---- groups --------------------------------------------------------------- */

static void group_del(struct xh *h, unsigned idx)
{
	struct xh_group *g = h->groups[idx];
	uint32_t vteps[HEALTH_MAX_PEERS];
	unsigned n = 0;
	bool fenced = g->fenced;

	for (unsigned k = 0; k < g->n_peers; k++)
		if (g->peers[k].pruned)
			vteps[n++] = g->peers[k].vtep;
	health_group_del(g->hg);
	h->groups[idx] = h->groups[--h->n_groups];
	free(g);
	for (unsigned k = 0; k < n; k++)
		vtep_update(h, vteps[k]);
	if (fenced)
		fence_apply(h);
}

static int group_add(struct xh *h, const struct xcfg_health_group *gc)
{
	const struct xcfg_health *hc = &h->cfg->health;
	struct health_group_cfg c = { 0 };
	struct xh_group *g;
	int rc;

	if (h->n_groups == XH_MAX_GROUPS)
		return -ENOSPC;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->h = h;
	g->cfg = *gc;
	if ((rc = group_resolve(h->cfg, gc, &g->is_es, &g->esi, &g->vni)) ||
	    (rc = group_id(hc, g->is_es, &g->esi, g->vni, g->evpn_id))) {
		free(g);
		return rc;
	}
	snprintf(c.name, sizeof(c.name), "%s", gc->name);
	memcpy(c.evpn_id, g->evpn_id, sizeof(c.evpn_id));
	c.vni = g->vni;
	group_timers(hc, &c);
	c.priority = gc->priority;
	c.role = XEVPN_HB_ROLE_WARMUP;
	c.user = g;
	rc = health_group_add(h->eng, &c, &g->hg);
	if (rc) {
		free(g);
		return rc;
	}
	group_keys(g, hc);
	if_state(gc->ifname, &g->ifindex, &g->if_up);
	health_group_set_ifindex(g->hg, g->ifindex, g->if_up);
	h->groups[h->n_groups++] = g;
	log_msg(LOG_INFO, "health: %s: %s group on %s (vni %u)%s", gc->name, g->is_es ? "es" : "bd",
		gc->ifname, g->vni, g->ifindex ? "" : ", interface missing");
	return 0;
}

/* Can this running group take the new configuration in place? */
static bool group_same(struct xh *h, const struct xh_group *g, const struct xcfg_health_group *gc)
{
	uint8_t id[XEVPN_HB_ID_LEN];
	bool is_es;
	esi_t esi;
	uint32_t vni;

	if (strcmp(g->cfg.es, gc->es) || strcmp(g->cfg.bd, gc->bd))
		return false;
	if (group_resolve(h->cfg, gc, &is_es, &esi, &vni) ||
	    group_id(&h->cfg->health, is_es, &esi, vni, id))
		return false;
	return !memcmp(id, g->evpn_id, sizeof(id)) && vni == g->vni;
}

static void group_update(struct xh *h, struct xh_group *g, const struct xcfg_health_group *gc)
{
	struct health_group_cfg c = { 0 };

	group_timers(&h->cfg->health, &c);
	if (health_group_set_timers(g->hg, &c))
		log_msg(LOG_ERR, "health: %s: timers rejected", gc->name);
	group_keys(g, &h->cfg->health);
	health_group_set_priority(g->hg, gc->priority);
	if (strcmp(g->cfg.ifname, gc->ifname)) {
		if_state(gc->ifname, &g->ifindex, &g->if_up);
		health_group_set_ifindex(g->hg, g->ifindex, g->if_up);
	}
	g->cfg = *gc;
}

static int engine_start(struct xh *h)
{
	struct health_engine_cfg ec = { 0 };
	char vtep[IP4_STR_LEN];

	ip4_fmt(h->cfg->vtep, vtep);
	memcpy(ec.instance_id, vtep, strlen(vtep));
	if (h->cfg->n_uplinks)
		if_mac(h->cfg->uplinks[0], ec.instance_mac);
	ec.notify = on_notify;
	ec.notify_ctx = h;
	ec.log = engine_log;
	h->eng = health_engine_new(&ec);
	if (!h->eng)
		return -ENOMEM;
	health_engine_set_speaker(h->eng, h->speaker_up);
	return health_engine_attach_loop(h->eng, h->loop);
}

static void engine_stop(struct xh *h)
{
	while (h->n_groups)
		group_del(h, h->n_groups - 1);
	health_engine_free(h->eng);
	h->eng = NULL;
}

static void timer_arm(struct xh *h)
{
	uint64_t ms = h->cfg->health.interval_ms;

	if (!h->timer)
		return;
	if (!h->eng) {
		uv_timer_stop(&h->timer->t);
		return;
	}
	if (ms < XH_SYNC_MIN_MS)
		ms = XH_SYNC_MIN_MS;
	uv_timer_start(&h->timer->t, timer_cb, ms, ms);
}

int xh_reload(struct xh *h, const struct xcfg *cfg)
{
	const struct xcfg_health *hc = &cfg->health;
	bool keep[XH_MAX_GROUPS] = { 0 };
	int rc = 0;

	if (!h)
		return 0;
	h->cfg = cfg;
	if (!hc->enabled) {
		if (h->eng) {
			log_msg(LOG_INFO, "health: disabled");
			engine_stop(h);
		}
		timer_arm(h);
		xh_done(h);
		return 0;
	}
	if (!h->eng && (rc = engine_start(h))) {
		log_msg(LOG_ERR, "health: engine: %s", strerror(-rc));
		engine_stop(h);
		return rc;
	}
	/* in place where the identity is unchanged, rebuilt otherwise */
	for (unsigned i = 0; i < hc->n_groups; i++)
		for (unsigned k = 0; k < h->n_groups; k++)
			if (!keep[k] && !strcmp(h->groups[k]->cfg.name, hc->groups[i].name) &&
			    group_same(h, h->groups[k], &hc->groups[i])) {
				keep[k] = true;
				group_update(h, h->groups[k], &hc->groups[i]);
				break;
			}
	for (unsigned k = h->n_groups; k-- > 0;)
		if (!keep[k]) {
			keep[k] = keep[h->n_groups - 1];	/* group_del moves the last one here */
			group_del(h, k);
		}
	for (unsigned i = 0; i < hc->n_groups; i++) {
		bool have = false;

		for (unsigned k = 0; k < h->n_groups; k++)
			have |= !strcmp(h->groups[k]->cfg.name, hc->groups[i].name);
		if (!have && (rc = group_add(h, &hc->groups[i])))
			log_msg(LOG_ERR, "health: %s: %s", hc->groups[i].name, strerror(-rc));
	}
	timer_arm(h);
	drain(h);
	return 0;
}

int xh_new(uv_loop_t *loop, struct evpn *e, const struct xcfg *cfg,
	   void (*changed)(void *ctx), void *ctx, struct xh **out)
{
	struct xh *h = calloc(1, sizeof(*h));
	int rc;

	if (!h)
		return -ENOMEM;
	h->loop = loop;
	h->e = e;
	h->cfg = cfg;
	h->changed = changed;
	h->ctx = ctx;
	h->speaker_up = true;	/* until the bridge says otherwise */
	h->speaker_ms = mono_ms();
	h->timer = calloc(1, sizeof(*h->timer));
	if (!h->timer) {
		free(h);
		return -ENOMEM;
	}
	uv_timer_init(loop, &h->timer->t);
	h->timer->t.data = h->timer;
	h->timer->h = h;
	rc = xh_reload(h, cfg);
	if (rc) {
		xh_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

void xh_free(struct xh *h)
{
	if (!h)
		return;
	/* leave the model as it is: the daemon is exiting, forwarding goes on */
	if (h->eng) {
		health_engine_free(h->eng);
		h->eng = NULL;
	}
	for (unsigned i = 0; i < h->n_groups; i++)
		free(h->groups[i]);
	h->n_groups = 0;
	if (h->timer) {
		h->timer->h = NULL;
		uv_close((uv_handle_t *)&h->timer->t, timer_close_cb);
	}
	free(h);
}

void xh_link(struct xh *h, const char *ifname, uint32_t ifindex, bool up)
{
	if (!h)
		return;
	for (unsigned i = 0; i < h->n_groups; i++) {
		struct xh_group *g = h->groups[i];

		if (strcmp(g->cfg.ifname, ifname))
			continue;
		if (!up && ifindex != g->ifindex && g->ifindex && if_nametoindex(ifname) != ifindex)
			continue;	/* an old index of that name going away */
		if (g->ifindex == ifindex && g->if_up == up)
			continue;
		g->ifindex = ifindex;
		g->if_up = up;
		health_group_set_ifindex(g->hg, ifindex, up);
	}
}

void xh_speaker(struct xh *h, bool up)
{
	if (!h || up == h->speaker_up)
		return;
	h->speaker_up = up;
	h->speaker_ms = mono_ms();
	log_msg(LOG_NOTICE, "health: BGP speaker %s", up ? "up" : "lost");
	if (h->eng)
		health_engine_set_speaker(h->eng, up);
	drain(h);
}

const struct xh_stats *xh_stats(const struct xh *h)
{
	return &h->st;
}

/* ---- JSON ------------------------------------------------------------------ */

static json_t *hex_json(const uint8_t *b, size_t n)
{
	char s[2 * 32 + 1];

	for (size_t i = 0; i < n && i < 32; i++)
		snprintf(s + 2 * i, 3, "%02x", b[i]);
	s[2 * (n < 32 ? n : 32)] = 0;
	return json_string(s);
}

static json_t *group_json(struct xh *h, struct xh_group *g, uint64_t now)
{
	struct health_stats st;
	struct health_peer_info pi;
	json_t *o = json_object(), *drops = json_object(), *peers = json_array(), *keys = json_array();
	uint64_t rejected = 0;
	char buf[64];

	health_group_stats(g->hg, &st);
	json_object_set_new(o, "name", json_string(g->cfg.name));
	json_object_set_new(o, "kind", json_string(g->is_es ? "es" : "bd"));
	json_object_set_new(o, g->is_es ? "es" : "bd", json_string(g->is_es ? g->cfg.es : g->cfg.bd));
	if (g->is_es)
		json_object_set_new(o, "esi", json_string(esi_fmt(&g->esi, buf)));
	json_object_set_new(o, "vni", json_integer(g->vni));
	json_object_set_new(o, "interface", json_string(g->cfg.ifname));
	json_object_set_new(o, "ifindex", json_integer(g->ifindex));
	json_object_set_new(o, "if_up", json_boolean(g->if_up));
	json_object_set_new(o, "evpn_id", hex_json(g->evpn_id, sizeof(g->evpn_id)));
	json_object_set_new(o, "role", json_string(role_names[g->role % XEVPN_HB_ROLE_MAX]));
	json_object_set_new(o, "priority", json_integer(g->cfg.priority));
	json_object_set_new(o, "self_ok", json_boolean(health_group_self_ok(g->hg)));
	json_object_set_new(o, "members", json_integer(health_group_members(g->hg)));
	for (unsigned i = 0; i < h->cfg->health.n_keys; i++)
		json_array_append_new(keys, json_integer(h->cfg->health.keys[i].id));
	json_object_set_new(o, "key_ids", keys);
	json_object_set_new(o, "fence", json_pack("{ss sb sI sI}", "state", fence_names[g->fence],
						  "fenced", g->fenced, "at_ms", (json_int_t)g->fence_at_ms,
						  "in_ms", (json_int_t)(g->fence == XH_FENCE_ARMED &&
							   g->fence_at_ms > now ? g->fence_at_ms - now : 0)));
	for (int r = 1; r < HEALTH_DROP_MAX; r++) {
		json_object_set_new(drops, health_drop_name(r), json_integer((json_int_t)st.drops[r]));
		if (r != HEALTH_DROP_FOREIGN_GROUP)
			rejected += st.drops[r];
	}
	json_object_set_new(o, "stats", json_pack("{sI sI sI sI sI so}", "rx_ok", (json_int_t)st.rx_ok,
						  "tx_ok", (json_int_t)st.tx_ok, "tx_err", (json_int_t)st.tx_err,
						  "sock_rebuilds", (json_int_t)st.sock_rebuilds,
						  "rejected", (json_int_t)rejected, "drops", drops));
	for (unsigned i = 0; !health_group_peer(g->hg, i, &pi); i++) {
		struct xh_peer *p = peer_get(g, pi.instance_id);
		json_t *po = json_object();
		char id[40], a6[INET6_ADDRSTRLEN] = "";

		json_object_set_new(po, "instance", json_string(health_id_str(pi.instance_id, id, sizeof(id))));
		json_object_set_new(po, "vtep", p && p->vtep ? json_string(ip4_fmt(p->vtep, buf)) : json_null());
		json_object_set_new(po, "mac", json_string(mac_fmt(pi.instance_mac, buf)));
		inet_ntop(AF_INET6, &pi.addr, a6, sizeof(a6));
		json_object_set_new(po, "addr", json_string(a6));
		json_object_set_new(po, "role", json_string(role_names[pi.role % XEVPN_HB_ROLE_MAX]));
		json_object_set_new(po, "priority", json_integer(pi.priority));
		json_object_set_new(po, "alive", json_boolean(pi.alive));
		json_object_set_new(po, "left", json_boolean(pi.left));
		json_object_set_new(po, "verdict", json_string(health_verdict_name(pi.verdict)));
		json_object_set_new(po, "last_seen_ms", json_integer((json_int_t)pi.last_rx_ms));
		json_object_set_new(po, "age_ms", json_integer((json_int_t)(now > pi.last_rx_ms ?
									    now - pi.last_rx_ms : 0)));
		json_object_set_new(po, "beats", json_integer((json_int_t)pi.beats));
		json_object_set_new(po, "seq", json_integer((json_int_t)pi.seq));
		json_object_set_new(po, "interval_ms", json_integer(pi.interval_ms));
		json_object_set_new(po, "boot_id", hex_json(pi.boot_id, sizeof(pi.boot_id)));
		json_object_set_new(po, "pruned", json_boolean(p && p->pruned));
		json_object_set_new(po, "pending", json_boolean(p && p->pending));
		json_object_set_new(po, "down_at_ms", json_integer(p ? (json_int_t)p->down_ms : 0));
		json_object_set_new(po, "unfit_at_ms", json_integer(p ? (json_int_t)p->unfit_ms : 0));
		json_array_append_new(peers, po);
	}
	json_object_set_new(o, "peers", peers);
	return o;
}

static json_t *err_reply(const char *msg)
{
	return json_pack("{sb ss}", "ok", 0, "error", msg);
}

static json_t *health_json(struct xh *h, const struct evpn_es *es)
{
	json_t *d = json_object(), *groups = json_array();
	uint64_t now = mono_ms();
	char buf[64];

	json_object_set_new(d, "now_ms", json_integer((json_int_t)now));
	json_object_set_new(d, "instance", json_string(ip4_fmt(h->cfg->vtep, buf)));
	json_object_set_new(d, "boot_id", hex_json(health_engine_boot_id(h->eng), XEVPN_HB_ID_LEN));
	json_object_set_new(d, "speaker_up", json_boolean(h->speaker_up));
	json_object_set_new(d, "interval_ms", json_integer(h->cfg->health.interval_ms));
	json_object_set_new(d, "miss", json_integer(h->cfg->health.miss));
	json_object_set_new(d, "self_fence_ms", json_integer(h->cfg->health.self_fence_ms));
	json_object_set_new(d, "events_lost", json_integer((json_int_t)health_engine_events_lost(h->eng)));
	json_object_set_new(d, "actions",
			    json_pack("{sI sI sI sI sI sI sI}", "prunes", (json_int_t)h->st.prunes,
				      "restores", (json_int_t)h->st.restores, "deferred",
				      (json_int_t)h->st.deferred, "fences", (json_int_t)h->st.fences,
				      "fence_skipped", (json_int_t)h->st.fence_skipped, "fence_lifts",
				      (json_int_t)h->st.fence_lifts, "events", (json_int_t)h->st.events));
	if (es) {
		json_object_set_new(d, "es", json_string(es->name));
		json_object_set_new(d, "esi", json_string(esi_fmt(&es->esi, buf)));
		json_object_set_new(d, "fenced", json_boolean(es->flags & EVPN_ES_FENCED));
		json_object_set_new(d, "in_service", json_boolean(evpn_es_in_service(es)));
	}
	for (unsigned i = 0; i < h->n_groups; i++)
		if (!es || group_covers(h, h->groups[i], es))
			json_array_append_new(groups, group_json(h, h->groups[i], now));
	json_object_set_new(d, "groups", groups);
	return json_pack("{sb so}", "ok", 1, "data", d);
}

json_t *xh_json_command(struct xh *h, const char *line)
{
	char a[4][64] = { "" };
	int n = sscanf(line, "%63s %63s %63s %63s", a[0], a[1], a[2], a[3]);
	const struct evpn_es *es = NULL;

	if (n == 2 && !strcmp(a[0], "show") && !strcmp(a[1], "health")) {
		/* all groups */
	} else if (n == 4 && !strcmp(a[0], "show") && !strcmp(a[1], "es") && !strcmp(a[3], "health")) {
		esi_t esi;

		if (!h)
			return err_reply("health is not configured");
		if (!esi_parse(a[2], &esi)) {
			es = evpn_es_find(h->e, &esi);
		} else {
			const struct xcfg_es *c = xcfg_es_find(h->cfg, a[2]);

			es = c ? evpn_es_find(h->e, &c->esi) : NULL;
		}
		if (!es || !(es->flags & EVPN_ES_LOCAL))
			return err_reply("no such local Ethernet segment");
	} else {
		return NULL;
	}
	if (!h || !h->eng)
		return err_reply("health is not configured");
	return health_json(h, es);
}

void xh_set_observer(struct xh *h, void (*event)(void *ctx, const struct health_event *ev),
		     void (*fo)(void *ctx, const char *what), void *ctx)
{
	if (!h)
		return;
	h->obs_event = event;
	h->obs_failover = fo;
	h->obs_ctx = ctx;
}

void xh_for_each_group(void *arg, void (*fn)(struct health_group *g, void *ctx), void *ctx)
{
	struct xh *h = arg;

	for (unsigned i = 0; h && i < h->n_groups; i++)
		fn(h->groups[i]->hg, ctx);
}

bool xh_fence_armed(void *arg)
{
	struct xh *h = arg;

	for (unsigned i = 0; h && i < h->n_groups; i++)
		if (h->groups[i]->fence != XH_FENCE_IDLE)
			return true;
	return false;
}

bool xh_fenced(void *arg)
{
	struct xh *h = arg;

	for (unsigned i = 0; h && i < h->n_groups; i++)
		if (h->groups[i]->fenced)
			return true;
	return false;
}
