// SPDX-License-Identifier: GPL-2.0
/* xevpnd: the EVPN multi-homing controller.
 *
 * One libuv loop. Each event source is a struct embedding its handle
 * (handle->data points back at it) and is freed in its close callback:
 *   tick_src   drives evpn_tick() at the model's next deadline
 *   sig_src    SIGHUP (reload: apply the difference), SIGTERM/SIGINT (exit,
 *              leaving the dataplane pinned and forwarding)
 *   cli_src    Unix socket (0660), one request line -> one JSON reply
 *   nl_src     rtnetlink link events (libmnl): ES ports and uplinks
 *   learn_src  the dataplane's learn ring (uv_poll on its epoll fd)
 *   start_src  waits for GoBGP's first dump (or the hold timer) before the
 *              model may write anything: restart adoption
 *   the GoBGP bridge drives its own handles on the same loop
 *
 * Startup: open (adopt) the pinned dataplane, build the model, feed it the
 * MACs the dataplane learned, the link state and the pinned ES/DF state,
 * then the GoBGP RIB; only then evpn_start() and attach/sync ports, and
 * remove what the model no longer holds. Every write compares with the
 * pinned value first, so a restart over unchanged state writes nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "dp/dp.h"
#include "evpn.h"
#include "fib.h"
#include "fib_dp.h"
#include "health/health.h"
#include "log.h"
#include "metrics/xevpn_metrics.h"
#include "routes_bridge.h"
#include "state_json.h"
#include "xevpnd_health.h"
#include "xevpnd_metrics.h"

struct xd;

struct tick_src {
	uv_timer_t h;
	struct xd *d;
};

struct sig_src {
	uv_signal_t h;
	struct xd *d;
};

struct cli_src {
	uv_pipe_t h;
	struct xd *d;
};

struct cli_conn {
	uv_pipe_t h;
	struct xd *d;
	char buf[512];
	size_t len;
	bool replied;
};

struct nl_src {
	uv_poll_t h;
	struct xd *d;
	struct mnl_socket *nl;
	unsigned portid;
};

struct learn_src {
	uv_poll_t h;
	struct xd *d;
};

struct start_src {
	uv_timer_t h;
	struct xd *d;
};

/* DF lease renewal (struct xevpn_lease), see lease_cb(). */
struct lease_src {
	uv_timer_t h;
	struct xd *d;
};

struct xd {
	uv_loop_t *loop;
	struct xcfg *cfg;
	struct evpn *e;
	struct fib_mem *fm;	/* dry-run map writer */
	struct xevpn_dp *dp;
	struct fib_dp *fd;	/* BPF map writer */
	struct routes_bridge *rb;
	struct tick_src *tick;
	struct sig_src *sig_hup, *sig_term, *sig_int;
	struct cli_src *cli;
	struct nl_src *nl;
	struct learn_src *learn;
	struct start_src *start;
	struct xevpnd_metrics *xm;	/* /metrics, traffic rates, watch events */
	struct xh *health;	/* heartbeat engine and its actions */
	struct lease_src *lease;
	uint64_t lease_tx;	/* beats sent when the lease was last renewed */
	uint64_t lease_from_ms;	/* no renewal before (peers still count us dead) */
	bool lease_set;		/* a lease is in the map */
	bool uplink_up[4];
	bool bgp_synced;	/* GoBGP's first dump applied */
	bool reconciled;	/* stale map entries removed (needs the dump) */
	bool converged;		/* evpn_bgp_converged() called */
	uint64_t last_route_ms;
	uint64_t learn_events, learn_errors;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void free_on_close(uv_handle_t *h)
{
	free(h->data);
}

/* ---- tick ---- */

static void tick_cb(uv_timer_t *h);

static void xd_reschedule(struct xd *d)
{
	int64_t ms = evpn_tick(d->e, now_ms());

	uv_timer_stop(&d->tick->h);
	if (ms >= 0)
		uv_timer_start(&d->tick->h, tick_cb, (uint64_t)ms + 1, 0);
}

static void tick_cb(uv_timer_t *h)
{
	struct tick_src *t = h->data;

	xd_reschedule(t->d);
}

/* ---- dataplane ports ---- */

static uint32_t es_id_of_port(void *ctx, const char *ifname)
{
	struct xd *d = ctx;
	const struct xcfg_es *c = xcfg_es_by_port(d->cfg, ifname);
	struct evpn_es *es = c ? evpn_es_find(d->e, &c->esi) : NULL;

	return es ? es->id : 0;
}

/* Attach and describe ports once the model writes (never before adoption). */
static void xd_ports_sync(struct xd *d)
{
	if (d->fd && d->e->started)
		fib_dp_ports_sync(d->fd, es_id_of_port, d);
}

/* ---- signals ---- */

static void xd_reload(struct xd *d)
{
	struct xcfg *n = calloc(1, sizeof(*n));
	char err[XCFG_ERR_MAX];
	int rc;

	if (!n)
		return;
	if (xcfg_load(d->cfg->path, n, err)) {
		log_msg(LOG_ERR, "reload: %s (keeping the running configuration)", err);
		free(n);
		return;
	}
	xevpnd_metrics_reload_begin(d->xm);
	rc = evpn_apply_config(d->e, n, err);
	xevpnd_metrics_reload_end(d->xm);
	if (rc < 0) {
		log_msg(LOG_ERR, "reload: %s (keeping the running configuration)", err);
		xcfg_free(n);
		free(n);
		return;
	}
	log_msg(LOG_INFO, "reload: %s: %d change(s) applied", n->path, rc);
	if (d->fd)
		fib_dp_set_config(d->fd, n);
	xcfg_free(d->cfg);
	free(d->cfg);
	d->cfg = n;
	xh_reload(d->health, d->cfg);
	xd_ports_sync(d);
	xd_reschedule(d);
}

/* ---- DF lease ---- */

static void lease_tx_add(struct health_group *g, void *ctx)
{
	struct health_stats st;

	health_group_stats(g, &st);
	*(uint64_t *)ctx += st.tx_ok;
}

static uint32_t lease_interval_ms(const struct xd *d)
{
	uint32_t ms = d->cfg->health.interval_ms ? d->cfg->health.interval_ms : 1000;

	return ms < 10 ? 10 : ms;
}

/*
 * While the heartbeat runs, the dataplane's DF bits hold only until the time
 * our peers would declare us dead (miss x interval after our last beat): a
 * controller that stops beating (killed, stuck) stops being DF by the time a
 * peer takes the role over, instead of forwarding BUM alongside it. Renewed
 * only when beats went out since the previous renewal. Without heartbeat
 * groups the lease is removed: the DF bits hold until rewritten.
 */
static void lease_cb(uv_timer_t *t)
{
	struct xd *d = ((struct lease_src *)t->data)->d;
	const struct xcfg_health *hc = &d->cfg->health;
	uint64_t tx = 0, now = now_ms();
	int rc = 0;

	uv_timer_set_repeat(t, lease_interval_ms(d));
	if (!d->health || !hc->enabled || !hc->n_groups) {
		if (d->lease_set && !(rc = xevpn_dp_lease_set(d->dp, 0)))
			d->lease_set = false;
		d->lease_from_ms = 0;
	} else if (xh_for_each_group(d->health, lease_tx_add, &tx),
		   tx && tx != d->lease_tx && now >= d->lease_from_ms) {
		uint64_t ms = (uint64_t)(hc->miss ? hc->miss : 3) * lease_interval_ms(d);

		rc = xevpn_dp_lease_set(d->dp, (now + ms) * 1000000ull);
		if (!rc) {
			d->lease_set = true;
			d->lease_tx = tx;
		}
	}
	if (rc)
		log_msg(LOG_ERR, "dataplane: DF lease: %s", strerror(-rc));
}

/*
 * A lease found expired at startup means our peers declared us dead and took
 * our DF roles over (fall samples after the deadline); they give them back
 * once our beats are fit again (rise samples) and their cooldown after the
 * takeover is over. Renewing before the later of the two, with one
 * evaluation tick of slack each, would make two DFs.
 */
static struct lease_src *lease_new(struct xd *d)
{
	const struct xcfg_health *hc = &d->cfg->health;
	struct lease_src *l = calloc(1, sizeof(*l));
	__u64 deadline_ns = 0;
	uint64_t now = now_ms();

	if (!l)
		return NULL;
	l->d = d;
	if (!xevpn_dp_lease_get(d->dp, &deadline_ns) && deadline_ns) {
		d->lease_set = true;
		if (deadline_ns / 1000000ull <= now) {
			uint64_t iv = lease_interval_ms(d);
			uint64_t fit = now + (uint64_t)((hc->rise ? hc->rise : 3) + 2) * iv;
			uint64_t cool = deadline_ns / 1000000ull +
					(uint64_t)((hc->fall ? hc->fall : 3) + 2) * iv + hc->cooldown_ms;

			d->lease_from_ms = fit > cool ? fit : cool;
			log_msg(LOG_NOTICE, "dataplane: DF lease expired while stopped: "
				"not DF for overlay BUM for %llu ms",
				(unsigned long long)(d->lease_from_ms - now));
		}
	}
	uv_timer_init(d->loop, &l->h);
	l->h.data = l;
	uv_timer_start(&l->h, lease_cb, 0, lease_interval_ms(d));
	return l;
}

static void xd_stop(struct xd *d);

static void sig_cb(uv_signal_t *h, int signum)
{
	struct sig_src *s = h->data;

	if (signum == SIGHUP) {
		xd_reload(s->d);
		return;
	}
	log_msg(LOG_INFO, "signal %d: exiting; the dataplane stays pinned and forwarding", signum);
	xd_stop(s->d);
}

static struct sig_src *sig_new(struct xd *d, int signum)
{
	struct sig_src *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->d = d;
	uv_signal_init(d->loop, &s->h);
	s->h.data = s;
	uv_signal_start(&s->h, sig_cb, signum);
	return s;
}

/* ---- CLI socket ---- */

static json_t *xd_command(struct xd *d, const char *line)
{
	const struct fib_dp_counts *c;
	json_t *r = xevpnd_metrics_command(d->xm, line);

	if (r)
		return r;
	if ((r = xh_json_command(d->health, line)))
		return r;
	/* daemon-level state; everything else is the model's */
	if (strcmp(line, "show fib") && strcmp(line, "show daemon"))
		return evpn_json_command(d->e, line);
	if (!strcmp(line, "show daemon"))
		return json_pack("{sb s{sb sb sb sb sI sI}}", "ok", 1, "data", "started", d->e->started,
				 "bgp_synced", d->bgp_synced, "reconciled", d->reconciled, "converged",
				 d->converged, "learn_events", (json_int_t)d->learn_events, "learn_errors",
				 (json_int_t)d->learn_errors);
	if (!d->fd)
		return json_pack("{sb ss}", "ok", 0, "error", "no dataplane (--dry-run)");
	c = fib_dp_counts(d->fd);
	return json_pack("{sb s{sI sI sI sI sI sI sI sI sI sI sI sI}}", "ok", 1, "data",
			 "fdb_set", (json_int_t)c->fdb_set, "fdb_del", (json_int_t)c->fdb_del,
			 "es_nh_set", (json_int_t)c->es_nh_set, "es_set", (json_int_t)c->es_set,
			 "es_del", (json_int_t)c->es_del, "es_peer", (json_int_t)c->es_peer,
			 "flood_set", (json_int_t)c->flood_set, "df_set", (json_int_t)c->df_set,
			 "port_set", (json_int_t)c->port_set, "skipped", (json_int_t)c->skipped,
			 "errors", (json_int_t)c->errors, "age_probes", (json_int_t)c->age_probes);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct cli_conn *c = h->data;

	*buf = uv_buf_init(c->buf + c->len, (unsigned)(sizeof(c->buf) - 1 - c->len));
}

struct write_req {
	uv_write_t w;
	char *text;
};

static void conn_written(uv_write_t *w, int status)
{
	struct write_req *r = container_of(w, struct write_req, w);

	free(r->text);
	uv_close((uv_handle_t *)w->handle, free_on_close);
	free(r);
}

static void conn_reply(struct cli_conn *c, json_t *reply)
{
	struct write_req *r = calloc(1, sizeof(*r));
	size_t len;
	uv_buf_t b;

	c->replied = true;
	if (!r || !(r->text = json_dumps(reply, JSON_COMPACT))) {
		free(r);
		json_decref(reply);
		uv_close((uv_handle_t *)&c->h, free_on_close);
		return;
	}
	json_decref(reply);
	len = strlen(r->text);
	r->text[len] = 0;
	/* newline-terminated JSON document */
	char *t = realloc(r->text, len + 2);
	if (t) {
		r->text = t;
		r->text[len++] = '\n';
		r->text[len] = 0;
	}
	b = uv_buf_init(r->text, (unsigned)len);
	uv_read_stop((uv_stream_t *)&c->h);
	if (uv_write(&r->w, (uv_stream_t *)&c->h, &b, 1, conn_written)) {
		free(r->text);
		free(r);
		uv_close((uv_handle_t *)&c->h, free_on_close);
	}
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct cli_conn *c = s->data;
	char *nl;

	if (c->replied)
		return;
	if (n < 0) {
		uv_close((uv_handle_t *)s, free_on_close);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = 0;
	nl = strchr(c->buf, '\n');
	if (!nl && c->len < sizeof(c->buf) - 1)
		return;
	if (!nl) {
		conn_reply(c, json_pack("{sb ss}", "ok", 0, "error", "request too long"));
		return;
	}
	*nl = 0;
	if (xevpnd_metrics_cli_take(c->d->xm, s, c, c->buf))
		return;	/* "watch events": the stream is the watcher's now */
	conn_reply(c, xd_command(c->d, c->buf));
}

static void cli_accept(uv_stream_t *server, int status)
{
	struct cli_src *cs = server->data;
	struct cli_conn *c;

	if (status < 0 || !(c = calloc(1, sizeof(*c))))
		return;
	c->d = cs->d;
	uv_pipe_init(cs->d->loop, &c->h, 0);
	c->h.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->h)) {
		uv_close((uv_handle_t *)&c->h, free_on_close);
		return;
	}
	uv_read_start((uv_stream_t *)&c->h, conn_alloc, conn_read);
}

static int mkdir_parent(const char *path)
{
	char dir[XCFG_PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	for (char *p = dir + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(dir, 0755);
			*p = '/';
		}
	return mkdir(dir, 0750) && errno != EEXIST ? -errno : 0;
}

static struct cli_src *cli_new(struct xd *d, const char *path)
{
	struct cli_src *cs = calloc(1, sizeof(*cs));
	int rc;

	if (!cs)
		return NULL;
	cs->d = d;
	uv_pipe_init(d->loop, &cs->h, 0);
	cs->h.data = cs;
	mkdir_parent(path);
	unlink(path);	/* a stale socket from a previous run */
	if ((rc = uv_pipe_bind(&cs->h, path)) || (rc = uv_listen((uv_stream_t *)&cs->h, 16, cli_accept))) {
		log_msg(LOG_ERR, "cli: %s: %s", path, uv_strerror(rc));
		uv_close((uv_handle_t *)&cs->h, free_on_close);
		return NULL;
	}
	chmod(path, 0660);
	return cs;
}

/* ---- netlink link events ---- */

static void xd_link(struct xd *d, const char *ifname, uint32_t ifindex, bool up)
{
	bool any = false, is_uplink = false;

	for (unsigned i = 0; i < d->cfg->n_uplinks; i++) {
		if (!strcmp(d->cfg->uplinks[i], ifname)) {
			d->uplink_up[i] = up;
			is_uplink = true;
		}
		any |= d->uplink_up[i];
	}
	if (is_uplink)
		evpn_underlay_event(d->e, any);
	else {
		xevpnd_metrics_link(d->xm, ifname, up);	/* before the model acts */
		evpn_link_event(d->e, ifname, ifindex, up);
	}
	xh_link(d->health, ifname, ifindex, up);
	xd_ports_sync(d);	/* an interface may have (re)appeared with a new ifindex */
}

static int nl_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, IFLA_MAX) > 0)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int nl_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct xd *d = data;
	struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	bool up;

	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifm), nl_attr_cb, tb);
	if (!tb[IFLA_IFNAME])
		return MNL_CB_OK;
	/* carrier and admin up: IFF_RUNNING is the operational state */
	up = nlh->nlmsg_type == RTM_NEWLINK && (ifm->ifi_flags & IFF_UP) && (ifm->ifi_flags & IFF_RUNNING);
	xd_link(d, mnl_attr_get_str(tb[IFLA_IFNAME]), (uint32_t)ifm->ifi_index, up);
	return MNL_CB_OK;
}

static int nl_drain(struct nl_src *n, bool block)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int rc;

	for (;;) {
		rc = (int)mnl_socket_recvfrom(n->nl, buf, sizeof(buf));
		if (rc < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		rc = mnl_cb_run(buf, (size_t)rc, 0, 0, nl_msg_cb, n->d);
		if (rc <= MNL_CB_STOP && block)
			return rc < 0 ? -errno : 0;
	}
}

static void nl_cb(uv_poll_t *h, int status, int events)
{
	struct nl_src *n = h->data;

	if (status == 0)
		nl_drain(n, false);
	xd_reschedule(n->d);
}

static void nl_close_cb(uv_handle_t *h)
{
	struct nl_src *n = h->data;

	mnl_socket_close(n->nl);
	free(n);
}

/* Subscribe, then dump the current state (blocking, before the loop runs:
 * adoption needs the link state before anything is written). */
static struct nl_src *nl_new(struct xd *d)
{
	struct nl_src *n = calloc(1, sizeof(*n));
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct rtgenmsg *rt;
	int fd;

	if (!n)
		return NULL;
	n->d = d;
	n->nl = mnl_socket_open(NETLINK_ROUTE);
	if (!n->nl || mnl_socket_bind(n->nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
		log_msg(LOG_ERR, "netlink: %s", strerror(errno));
		if (n->nl)
			mnl_socket_close(n->nl);
		free(n);
		return NULL;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = 1;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtgen_family = AF_PACKET;
	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0 || nl_drain(n, true) < 0)
		log_msg(LOG_WARNING, "netlink: link dump failed: %s", strerror(errno));
	fd = mnl_socket_get_fd(n->nl);
	uv_poll_init(d->loop, &n->h, fd);
	n->h.data = n;
	uv_poll_start(&n->h, UV_READABLE, nl_cb);
	return n;
}

/* ---- learn events ---- */

static int learn_cb(void *ctx, const struct xevpn_learn_event *ev)
{
	struct xd *d = ctx;

	d->learn_events++;
	if (evpn_mac_learn(d->e, ev->vni, ev->mac, ev->ifindex))
		d->learn_errors++;	/* unknown BD or bad MAC: counted, not fatal */
	return 0;
}

static void learn_poll_cb(uv_poll_t *h, int status, int events)
{
	struct learn_src *l = h->data;

	if (status == 0)
		xevpn_dp_learn_consume(l->d->dp);
	xd_reschedule(l->d);
}

static struct learn_src *learn_new(struct xd *d)
{
	struct learn_src *l;
	int rc = xevpn_dp_learn_open(d->dp, learn_cb, d), fd;

	if (rc) {
		log_msg(LOG_ERR, "dataplane: learn ring: %s", strerror(-rc));
		return NULL;
	}
	fd = xevpn_dp_learn_fd(d->dp);
	l = calloc(1, sizeof(*l));
	if (!l || fd < 0) {
		free(l);
		return NULL;
	}
	l->d = d;
	uv_poll_init(d->loop, &l->h, fd);
	l->h.data = l;
	uv_poll_start(&l->h, UV_READABLE, learn_poll_cb);
	return l;
}

/* ---- restart adoption and start ---- */

static void adopt_learned(void *ctx, uint32_t vni, const uint8_t mac[6], uint32_t ifindex)
{
	struct xd *d = ctx;

	evpn_mac_learn(d->e, vni, mac, ifindex);
}

/* Local ESes that forwarded before a restart keep forwarding, with their DF bits. */
static void adopt_es(struct xd *d)
{
	for (unsigned i = 0; i < d->cfg->n_es; i++) {
		struct evpn_es *es = evpn_es_find(d->e, &d->cfg->es[i].esi);

		if (!es)
			continue;
		if (fib_dp_es_forwarding(d->fd, es->id))
			evpn_es_adopt(d->e, es, true);
		for (unsigned k = 0; k < es->n_evis; k++) {
			int df = fib_dp_df_get(d->fd, es->id, es->evis[k].bd->vni);

			if (df >= 0)
				evpn_es_evi_adopt_df(d->e, es, es->evis[k].bd->vni, df);
		}
	}
}

static bool keep_mac(void *ctx, uint32_t vni, const uint8_t mac[6])
{
	struct xd *d = ctx;
	struct evpn_mac *m = evpn_mac_find(d->e, vni, mac);

	return m && (m->flags & EVPN_MAC_WRITTEN);
}

static bool keep_es(void *ctx, uint32_t es_id)
{
	struct xd *d = ctx;
	struct evpn_es *es = es_id <= XEVPN_CTL_MAX_ES ? d->e->es_by_id[es_id] : NULL;

	return es && (es->flags & (EVPN_ES_STATE_WRITTEN | EVPN_ES_GROUP_WRITTEN));
}

static bool keep_es_vni(void *ctx, uint32_t es_id, uint32_t vni)
{
	struct xd *d = ctx;
	struct evpn_es *es = es_id <= XEVPN_CTL_MAX_ES ? d->e->es_by_id[es_id] : NULL;
	struct evpn_es_evi *evi = es ? evpn_es_evi_find(es, vni) : NULL;

	return evi && (evi->flags & EVPN_ES_EVI_DF_WRITTEN);
}

/* Needs the RIB: without GoBGP's dump, remote entries cannot be judged stale. */
static void xd_reconcile(struct xd *d)
{
	const struct fib_dp_keep keep = { keep_mac, keep_es, keep_es_vni, d };

	if (d->reconciled || !d->fd || !d->e->started || !d->bgp_synced)
		return;
	xevpn_dp_learn_consume(d->dp);	/* MACs learned meanwhile are not stale */
	fib_dp_reconcile(d->fd, &keep);
	d->reconciled = true;
}

static void xd_begin(struct xd *d)
{
	if (d->e->started)
		return;
	evpn_start(d->e, now_ms());
	xd_ports_sync(d);
	xd_reconcile(d);
	log_msg(LOG_INFO, "started writing the dataplane (%s)",
		d->bgp_synced ? "after GoBGP's RIB" : "GoBGP not synced yet");
	xd_reschedule(d);
}

/* BGP has converged when GoBGP's dump is in, some remote PE's routes came,
 * and routes stopped arriving for a moment; the hold timer covers the rest. */
#define XD_BGP_QUIET_MS 500

static void start_cb(uv_timer_t *h)
{
	struct start_src *s = h->data;
	struct xd *d = s->d;
	uint64_t now = now_ms();

	if (!d->e->started)
		xd_begin(d);
	if (!d->converged && d->bgp_synced && d->e->ledger.count &&
	    now - d->last_route_ms >= XD_BGP_QUIET_MS) {
		d->converged = true;
		evpn_tick(d->e, now);
		evpn_bgp_converged(d->e);
	}
	if (d->converged || now >= d->e->startup_hold_until_ms) {
		d->converged = true;
		uv_timer_stop(h);
	}
	xd_reschedule(d);
}

static struct start_src *start_new(struct xd *d)
{
	struct start_src *s = calloc(1, sizeof(*s));
	uint64_t wait = d->cfg->startup_hold_ms > 2000 ? d->cfg->startup_hold_ms : 2000;

	if (!s)
		return NULL;
	s->d = d;
	uv_timer_init(d->loop, &s->h);
	s->h.data = s;
	/* first run: start without GoBGP's dump if it has not come by then */
	uv_timer_start(&s->h, start_cb, wait, XD_BGP_QUIET_MS / 2);
	return s;
}

/* ---- GoBGP ---- */

static void bgp_route(void *arg, const struct evpn_route *r)
{
	struct xd *d = arg;

	d->last_route_ms = now_ms();
	xevpnd_events_route(d->xm, r);
	evpn_route_input(d->e, r);
	xd_reschedule(d);
}

static void bgp_resync(void *arg, bool first)
{
	struct xd *d = arg;

	d->bgp_synced = true;
	d->last_route_ms = now_ms();
	if (!d->e->started)
		xd_begin(d);
	else if (!first)
		evpn_readvertise(d->e);	/* gobgpd restarted: it lost our routes */
	xd_reconcile(d);
	if (d->start && !d->converged)
		uv_timer_again(&d->start->h);
	xd_reschedule(d);
}

/* The session to gobgpd is the self-fence input of the health engine. */
static void bgp_state(void *arg, bool up)
{
	struct xd *d = arg;

	xh_speaker(d->health, up);
}

static void xd_health_changed(void *ctx)
{
	xd_reschedule(ctx);
}

static void xd_health_event(void *ctx, const struct health_event *ev)
{
	struct xd *d = ctx;

	xevpnd_events_health(d->xm, ev);
}

static void xd_health_failover(void *ctx, const char *what)
{
	struct xd *d = ctx;

	xevpnd_metrics_failover(d->xm, XEVPN_FAILOVER_AUTONOMOUS, what);
}

static const struct routes_bridge_cb bgp_cbs = {
	.route = bgp_route,
	.resync = bgp_resync,
	.state = bgp_state,
};

/* ---- lifecycle ---- */

static void xd_stop(struct xd *d)
{
	if (d->tick)
		uv_close((uv_handle_t *)&d->tick->h, free_on_close);
	if (d->sig_hup)
		uv_close((uv_handle_t *)&d->sig_hup->h, free_on_close);
	if (d->sig_term)
		uv_close((uv_handle_t *)&d->sig_term->h, free_on_close);
	if (d->sig_int)
		uv_close((uv_handle_t *)&d->sig_int->h, free_on_close);
	if (d->cli) {
		unlink(d->cfg->cli_socket);
		uv_close((uv_handle_t *)&d->cli->h, free_on_close);
	}
	if (d->nl)
		uv_close((uv_handle_t *)&d->nl->h, nl_close_cb);
	if (d->learn)
		uv_close((uv_handle_t *)&d->learn->h, free_on_close);
	if (d->start)
		uv_close((uv_handle_t *)&d->start->h, free_on_close);
	if (d->lease)
		uv_close((uv_handle_t *)&d->lease->h, free_on_close);
	d->lease = NULL;
	routes_bridge_free(d->rb);
	xh_free(d->health);
	d->health = NULL;
	xevpnd_metrics_free(d->xm);
	d->xm = NULL;
	d->tick = NULL;
	d->sig_hup = d->sig_term = d->sig_int = NULL;
	d->cli = NULL;
	d->nl = NULL;
	d->learn = NULL;
	d->start = NULL;
	d->rb = NULL;
	/* remaining client connections close themselves after their reply */
	uv_stop(d->loop);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xevpnd [-c FILE] [--check] [--dry-run] [--flush] [-v]\n"
		   "  -c, --config FILE  configuration (default " XCFG_DEFAULT_PATH ")\n"
		   "      --check        validate the configuration and exit\n"
		   "      --dry-run      keep the dataplane image in memory only (no BPF, no BGP)\n"
		   "      --flush        remove the pinned dataplane of this instance and exit\n"
		   "  -v, --verbose      debug logging\n");
}

static int pin_root(const struct xcfg *cfg, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", cfg->bpffs, cfg->instance);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Detach every program and unpin every map of this instance. */
static int xd_flush(const struct xcfg *cfg)
{
	struct xevpn_dp_opts o = { 0 };
	char root[XCFG_PATH_MAX * 2];
	struct xevpn_dp *dp;
	struct fib_dp *f;
	int rc;

	if ((rc = pin_root(cfg, root, sizeof(root))))
		return rc;
	o.pin_root = root;
	rc = xevpn_dp_open(&dp, &o);
	if (rc) {
		fprintf(stderr, "xevpnd: %s: %s\n", root, strerror(-rc));
		return rc;
	}
	if (!fib_dp_new(dp, cfg, &f)) {
		fib_dp_unpin(f);
		fib_dp_free(f);
	}
	rc = xevpn_dp_uninstall(dp);
	xevpn_dp_close(dp);
	if (!rc)
		printf("xevpnd: %s: dataplane removed\n", root);
	return rc;
}

static void xd_free(struct xd *d)
{
	evpn_free(d->e);
	fib_mem_free(d->fm);
	fib_dp_free(d->fd);
	xevpn_dp_close(d->dp);
	xcfg_free(d->cfg);
	free(d->cfg);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 'C' },
		{ "dry-run", no_argument, NULL, 'n' }, { "flush", no_argument, NULL, 'F' },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	const char *path = XCFG_DEFAULT_PATH;
	bool check = false, dry = false, flush = false;
	struct xd d = { 0 };
	char err[XCFG_ERR_MAX];
	struct fib fib;
	struct route_out out = { 0 };
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'C': check = true; break;
		case 'n': dry = true; break;
		case 'F': flush = true; break;
		case 'v': log_level = LOG_DEBUG; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	d.cfg = calloc(1, sizeof(*d.cfg));
	if (!d.cfg)
		return 1;
	if (xcfg_load(path, d.cfg, err)) {
		fprintf(stderr, "%s\n", err);
		free(d.cfg);
		return 1;
	}
	if (check || flush) {
		rc = 0;
		if (check)
			printf("%s: ok (%u bridge domains, %u Ethernet segments)\n", path, d.cfg->n_bds,
			       d.cfg->n_es);
		else
			rc = xd_flush(d.cfg);
		xcfg_free(d.cfg);
		free(d.cfg);
		return rc ? 1 : 0;
	}
	signal(SIGPIPE, SIG_IGN);
	d.loop = uv_default_loop();
	if (dry) {
		d.fm = fib_mem_new();
		if (!d.fm)
			return 1;
		fib = fib_mem_fib(d.fm);
	} else {
		struct xevpn_dp_opts o = { 0 };
		char root[XCFG_PATH_MAX * 2];

		if ((rc = pin_root(d.cfg, root, sizeof(root)))) {
			fprintf(stderr, "xevpnd: pin root too long\n");
			return 1;
		}
		o.pin_root = root;
		/* adopts pinned maps and links: forwarding continues meanwhile */
		rc = xevpn_dp_open(&d.dp, &o);
		if (rc || (rc = fib_dp_new(d.dp, d.cfg, &d.fd))) {
			log_msg(LOG_ERR, "dataplane: %s: %s", root, strerror(-rc));
			xd_free(&d);
			return 1;
		}
		fib = fib_dp_fib(d.fd);
		rc = routes_bridge_new(d.loop, d.cfg->gobgp_api, 0, &bgp_cbs, &d, &d.rb);
		if (rc) {
			log_msg(LOG_ERR, "bgp: %s: %s", d.cfg->gobgp_api, strerror(-rc));
			xd_free(&d);
			return 1;
		}
		out = routes_bridge_out(d.rb);
	}
	d.e = evpn_new(d.cfg, fib, out, now_ms());
	if (!d.e) {
		log_msg(LOG_ERR, "out of memory");
		return 1;
	}
	d.tick = calloc(1, sizeof(*d.tick));
	if (!d.tick) {
		log_msg(LOG_ERR, "out of memory");
		return 1;
	}
	d.tick->d = &d;
	uv_timer_init(d.loop, &d.tick->h);
	d.tick->h.data = d.tick;
	d.sig_hup = sig_new(&d, SIGHUP);
	d.sig_term = sig_new(&d, SIGTERM);
	d.sig_int = sig_new(&d, SIGINT);
	/* read everything first (adoption), then start writing */
	if (d.fd)
		fib_dp_learned_walk(d.fd, adopt_learned, &d);
	d.nl = nl_new(&d);
	if (d.fd) {
		adopt_es(&d);
		d.learn = learn_new(&d);
		d.start = start_new(&d);
	} else {
		evpn_start(d.e, now_ms());
	}
	{
		const struct xevpnd_metrics_src ms = { .e = d.e, .dp = d.dp, .rb = d.rb,
						       .listen = d.cfg->http_metrics };

		if (xevpnd_metrics_new(d.loop, &ms, &d.xm) == 0)
			xevpnd_events_capture_stderr(d.xm);
	}
	if ((rc = xh_new(d.loop, d.e, d.cfg, xd_health_changed, &d, &d.health)))
		log_msg(LOG_ERR, "health: %s (running without heartbeat)", strerror(-rc));
	else {
		const struct xevpnd_health_view hv = { xh_for_each_group, xh_fence_armed, xh_fenced,
						       d.health };

		xh_set_observer(d.health, xd_health_event, xd_health_failover, &d);
		xevpnd_metrics_set_health(d.xm, &hv);
	}
	if (d.dp)
		d.lease = lease_new(&d);
	d.cli = cli_new(&d, d.cfg->cli_socket);
	if (!d.cli) {
		xd_stop(&d);
		uv_run(d.loop, UV_RUN_DEFAULT);
		xd_free(&d);
		return 1;
	}
	log_msg(LOG_INFO, "running: %s: %u bd, %u es, cli %s%s", path, d.cfg->n_bds, d.cfg->n_es,
		d.cfg->cli_socket, dry ? " (dry run)" : "");
	xd_reschedule(&d);
	uv_run(d.loop, UV_RUN_DEFAULT);
	uv_run(d.loop, UV_RUN_DEFAULT);	/* let close callbacks run */
	xd_free(&d);
	uv_loop_close(d.loop);
	return 0;
}
