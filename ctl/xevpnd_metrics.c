// SPDX-License-Identifier: GPL-2.0
/* /metrics, ES traffic rates and the event stream of xevpnd (xevpnd_metrics.h). */
#include "xevpnd_metrics.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <arpa/inet.h>

#include "dp/dp.h"
#include "evpn.h"
#include "health/health.h"
#include "log.h"
#include "metrics/ewma.h"
#include "metrics/http.h"
#include "routes_bridge.h"

#ifndef XEVPN_VERSION_STRING
#define XEVPN_VERSION_STRING	"0.1"
#endif

#define XM_SAMPLE_MS		1000
#define XM_WATCH_MAX_QUEUED	(1u << 20)	/* bytes queued to one watcher before events drop */
#define XM_TEE_MAX_LINES	1024		/* stderr lines waiting for the loop */
#define XM_LINE_MAX		1024

/* Sources of the per-member figures, printed by `show es ESI traffic`. */
#define XM_SRC_LOCAL	"netdev counters of the ES access port %s (rtnetlink IFLA_STATS64): " \
			"ingress = received from the ES, egress = sent to the ES"
#define XM_SRC_REMOTE	"none: the dataplane counts per action and drop reason, not per VTEP"
#define XM_SRC_OVERLAY	"dataplane verdict encap_es summed over CPUs: frames this leaf " \
			"encapsulated toward remote ES members, all ESes and members together"

/* Rates of one local ES member (this leaf's access port of the ES). */
struct xm_member {
	esi_t esi;
	uint32_t ifindex;
	char port[IF_NAMESIZE];
	struct ewma_traffic in, out;
	bool seen;	/* still a local ES at the last sample (mark and sweep) */
	struct xm_member *next;
};

struct xm_sampler {
	uv_timer_t h;
	struct xevpnd_metrics *xm;
};

struct xm_trace;

struct xm_watcher {
	struct xevpnd_metrics *xm;
	uv_stream_t *s;
	void *owner;		/* memory holding the handle (the CLI connection) */
	uint64_t dropped;	/* events not sent: client too slow */
	struct xm_trace *trace;	/* a `trace` client (not in xm->watchers), else NULL */
	struct xm_watcher *next;
};

static void trace_stop(struct xm_trace *tr, bool tell_client);
static bool trace_take(struct xevpnd_metrics *xm, uv_stream_t *stream, void *owner,
		       const char *line);

struct xm_tee_src {
	uv_async_t h;
	struct xevpnd_metrics *xm;
};

struct xevpnd_metrics {
	uv_loop_t *loop;
	struct xevpnd_metrics_src src;
	struct metrics_registry *reg;
	struct xevpn_metrics m;
	struct metrics_http *http;
	struct xm_sampler *sampler;
	struct xm_tee_src *tee;
	struct mnl_socket *nl;
	unsigned nl_seq;
	struct xevpnd_health_view health;
	bool have_health;
	struct xm_member *members;
	struct ewma_traffic overlay_out;	/* encap_es */
	uint64_t gobgp_up_since;		/* CLOCK_REALTIME s, 0 = down */
	esi_t *reload_es;			/* in-service local ESes before a reload */
	unsigned n_reload_es;
	struct xm_watcher *watchers;
	struct xm_trace *trace;			/* the running `trace` session, one at a time */
	uint64_t events, events_dropped;
	unsigned refs;				/* open handles + 1 until free */
	bool closing;
};

static void xm_unref(struct xevpnd_metrics *xm)
{
	if (--xm->refs)
		return;
	while (xm->members) {
		struct xm_member *n = xm->members->next;

		free(xm->members);
		xm->members = n;
	}
	if (xm->nl)
		mnl_socket_close(xm->nl);
	metrics_registry_free(xm->reg);
	free(xm->reload_es);
	free(xm);
}

/* ---------- collector ---------- */

/* Maps of the dataplane whose occupancy is exported, by pinned name. */
static const char *const xm_maps[] = {
	"xevpn_port", "xevpn_port_vlan", "xevpn_bd", "xevpn_fdb", "xevpn_es", "xevpn_es_bd",
	"xevpn_es_nh", "xevpn_es_peer", "xevpn_flood", "xevpn_learn_rl",
};

static bool map_is_array(uint32_t type)
{
	return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_PROG_ARRAY ||
	       type == BPF_MAP_TYPE_RINGBUF;
}

/* Entries of a hash-type map: one key walk, capped at its capacity. */
static long map_count(int fd, const struct bpf_map_info *info)
{
	uint8_t *k = malloc(info->key_size * 2 + 1);
	void *prev = NULL;
	long n = 0;

	if (!k)
		return -ENOMEM;
	while (n < (long)info->max_entries && !bpf_map_get_next_key(fd, prev, k + info->key_size)) {
		memcpy(k, k + info->key_size, info->key_size);
		prev = k;
		n++;
	}
	free(k);
	return n;
}

static int collect_maps(struct xevpnd_metrics *xm)
{
	for (unsigned i = 0; i < sizeof(xm_maps) / sizeof(xm_maps[0]); i++) {
		const char *lv[] = { xm_maps[i] };
		struct bpf_map_info info = { 0 };
		uint32_t len = sizeof(info);
		int fd = xevpn_dp_map_fd(xm->src.dp, xm_maps[i]);
		long n;

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;	/* a map this build does not have */
		metrics_set(xm->m.map_max_entries, lv, info.max_entries);
		if (map_is_array(info.type))
			continue;	/* fixed size: every slot exists */
		n = map_count(fd, &info);
		if (n >= 0)
			metrics_set(xm->m.map_entries, lv, (double)n);
	}
	return 0;
}

static uint64_t wall_s(void)
{
	return (uint64_t)time(NULL);
}

static bool gobgp_up(struct xevpnd_metrics *xm)
{
	struct gb_client *c = xm->src.rb ? routes_bridge_client(xm->src.rb) : NULL;

	return c && gb_is_up(c);
}

static void gobgp_track(struct xevpnd_metrics *xm)
{
	bool up = gobgp_up(xm);

	if (up && !xm->gobgp_up_since)
		xm->gobgp_up_since = wall_s();
	else if (!up)
		xm->gobgp_up_since = 0;
}

struct health_acc {
	struct xevpnd_metrics *xm;
	uint64_t drops[HEALTH_DROP_MAX];
};

static void collect_group(struct health_group *g, void *ctx)
{
	struct health_acc *a = ctx;
	struct xevpn_metrics *m = &a->xm->m;
	const char *name = health_group_name(g);
	const char *gl[] = { name };
	struct health_peer_info p;
	struct health_stats st;
	unsigned up = 0;

	health_group_stats(g, &st);
	metrics_set(m->beats_sent, gl, (double)st.tx_ok);
	metrics_set(m->beats_accepted, gl, (double)st.rx_ok);
	for (unsigned r = 0; r < HEALTH_DROP_MAX; r++)
		a->drops[r] += st.drops[r];
	for (unsigned i = 0; !health_group_peer(g, i, &p); i++) {
		char id[48];
		const char *pl[] = { name, health_id_str(p.instance_id, id, sizeof(id)) };

		if (p.left)
			continue;
		metrics_set(m->peer_up, pl, p.alive);
		up += p.alive;
	}
	metrics_set(m->group_peers_up, gl, up);
}

static void collect_health(struct xevpnd_metrics *xm)
{
	struct health_acc a = { .xm = xm };

	if (!xm->have_health)
		return;
	metrics_family_clear(xm->m.beats_sent);
	metrics_family_clear(xm->m.beats_accepted);
	metrics_family_clear(xm->m.peer_up);
	metrics_family_clear(xm->m.group_peers_up);
	xm->health.for_each_group(xm->health.arg, collect_group, &a);
	for (unsigned r = HEALTH_DROP_NONE + 1; r < HEALTH_DROP_MAX; r++) {
		const char *lv[] = { health_drop_name(r) };

		if (r == HEALTH_DROP_FOREIGN_GROUP)
			metrics_set(xm->m.beats_foreign, NULL, (double)a.drops[r]);
		else
			metrics_set(xm->m.beats_dropped, lv, (double)a.drops[r]);
	}
	if (xm->health.fence_armed)
		metrics_set(xm->m.self_fence_armed, NULL, xm->health.fence_armed(xm->health.arg));
	if (xm->health.fenced)
		metrics_set(xm->m.self_fenced, NULL, xm->health.fenced(xm->health.arg));
}

static void collect_model(struct xevpnd_metrics *xm)
{
	struct evpn *e = xm->src.e;

	metrics_family_clear(xm->m.df_changes);
	metrics_family_clear(xm->m.es_is_df);
	metrics_family_clear(xm->m.es_group_vteps);
	htab_for_each(&e->es, hn, i) {
		struct evpn_es *es = container_of(hn, struct evpn_es, hn);
		char esi[ESI_STR_LEN];
		const char *el[] = { esi_fmt(&es->esi, esi) };

		metrics_set(xm->m.es_group_vteps, el, es->n_group);
		if (!(es->flags & EVPN_ES_LOCAL))
			continue;
		metrics_set(xm->m.df_changes, el, (double)es->df_changes);
		for (unsigned k = 0; k < es->n_evis; k++) {
			char vni[16];
			const char *vl[] = { esi, vni };

			snprintf(vni, sizeof(vni), "%u", es->evis[k].bd->vni);
			metrics_set(xm->m.es_is_df, vl, !!(es->evis[k].flags & EVPN_ES_EVI_DF));
		}
	}
}

static int xm_collect(struct metrics_registry *reg, void *arg)
{
	struct xevpnd_metrics *xm = arg;
	int rc = 0;

	collect_model(xm);
	collect_health(xm);
	gobgp_track(xm);
	metrics_set(xm->m.gobgp_up, NULL, xm->gobgp_up_since != 0);
	metrics_set(xm->m.gobgp_connection_age, NULL,
		    xm->gobgp_up_since ? (double)(wall_s() - xm->gobgp_up_since) : 0);
	if (xm->src.dp) {
		struct xevpn_ctr_value sum[XEVPN_CTR_MAX];

		rc = xevpn_dp_counters(xm->src.dp, sum);
		if (!rc)
			rc = xevpn_metrics_set_dataplane(&xm->m, sum, XEVPN_CTR_MAX);
		collect_maps(xm);
	}
	return rc;
}

/* ---------- traffic sampler ---------- */

static int stats_attr_cb(const struct nlattr *a, void *data)
{
	struct rtnl_link_stats64 *st = data;

	if (mnl_attr_get_type(a) == IFLA_STATS64 &&
	    mnl_attr_get_payload_len(a) >= sizeof(*st))
		memcpy(st, mnl_attr_get_payload(a), sizeof(*st));
	return MNL_CB_OK;
}

static int stats_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		mnl_attr_parse(nlh, sizeof(struct ifinfomsg), stats_attr_cb, data);
	return MNL_CB_OK;
}

/* Netdev counters of one interface of our network namespace (sysfs may show
 * another namespace's: it follows the mount, not the process). */
static int link_stats(struct xevpnd_metrics *xm, uint32_t ifindex, struct rtnl_link_stats64 *st)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	unsigned seq;
	int n;

	if (!xm->nl) {
		xm->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
		if (!xm->nl || mnl_socket_bind(xm->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
			if (xm->nl)
				mnl_socket_close(xm->nl);
			xm->nl = NULL;
			return -errno;
		}
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq = ++xm->nl_seq;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)ifindex;
	memset(st, 0, sizeof(*st));
	if (mnl_socket_sendto(xm->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = (int)mnl_socket_recvfrom(xm->nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	n = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(xm->nl), stats_msg_cb, st);
	return n < 0 ? -errno : 0;
}

static struct xm_member *member_get(struct xevpnd_metrics *xm, const esi_t *esi)
{
	struct xm_member *m;

	for (m = xm->members; m; m = m->next)
		if (!esi_cmp(&m->esi, esi))
			return m;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->esi = *esi;
	ewma_traffic_init(&m->in, NULL, NULL);
	ewma_traffic_init(&m->out, NULL, NULL);
	m->next = xm->members;
	xm->members = m;
	return m;
}

static void sample_members(struct xevpnd_metrics *xm)
{
	struct xm_member **pp;

	for (struct xm_member *m = xm->members; m; m = m->next)
		m->seen = false;
	htab_for_each(&xm->src.e->es, hn, i) {
		struct evpn_es *es = container_of(hn, struct evpn_es, hn);
		struct rtnl_link_stats64 st;
		struct xm_member *m;

		if (!(es->flags & EVPN_ES_LOCAL) || !(m = member_get(xm, &es->esi)))
			continue;
		m->seen = true;
		if (m->ifindex != es->ifindex || strcmp(m->port, es->cfg.port)) {
			/* another interface: its counters are not a continuation */
			m->ifindex = es->ifindex;
			snprintf(m->port, sizeof(m->port), "%s", es->cfg.port);
			ewma_traffic_init(&m->in, NULL, NULL);
			ewma_traffic_init(&m->out, NULL, NULL);
		}
		if (!m->ifindex || link_stats(xm, m->ifindex, &st))
			continue;
		ewma_traffic_sample(&m->in, st.rx_packets, st.rx_bytes);
		ewma_traffic_sample(&m->out, st.tx_packets, st.tx_bytes);
	}
	for (pp = &xm->members; *pp;) {
		struct xm_member *m = *pp;

		if (m->seen) {
			pp = &m->next;
			continue;
		}
		*pp = m->next;
		free(m);
	}
}

static void sampler_cb(uv_timer_t *h)
{
	struct xm_sampler *s = h->data;
	struct xevpnd_metrics *xm = s->xm;
	struct xevpn_ctr_value v;

	gobgp_track(xm);
	sample_members(xm);
	if (xm->src.dp && !xevpn_dp_counter(xm->src.dp, XEVPN_CTR_ENCAP_ES, &v))
		ewma_traffic_sample(&xm->overlay_out, v.packets, v.bytes);
}

static void sampler_closed(uv_handle_t *h)
{
	struct xm_sampler *s = h->data;

	xm_unref(s->xm);
	free(s);
}

/* ---------- event stream ---------- */

static void watcher_closed(uv_handle_t *h)
{
	struct xm_watcher *w = h->data;

	xm_unref(w->xm);
	free(w->owner);
	free(w);
}

static void watcher_close(struct xm_watcher *w)
{
	struct xm_watcher **pp;

	if (w->trace)
		trace_stop(w->trace, false);	/* the client left: tracing goes off */
	for (pp = &w->xm->watchers; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	if (!uv_is_closing((uv_handle_t *)w->s))
		uv_close((uv_handle_t *)w->s, watcher_closed);
}

struct xm_write {
	uv_write_t w;
	char *text;
};

static void watcher_written(uv_write_t *req, int status)
{
	struct xm_write *r = container_of(req, struct xm_write, w);
	struct xm_watcher *w = req->handle->data;

	free(r->text);
	free(r);
	if (status < 0 && status != UV_ECANCELED && w)
		watcher_close(w);
}

/* Queue one line (takes text); a watcher that does not read loses events,
 * never the daemon's time or memory. */
static void watcher_send(struct xm_watcher *w, char *text, size_t len)
{
	struct xm_write *r;
	uv_buf_t b;

	if (uv_stream_get_write_queue_size(w->s) > XM_WATCH_MAX_QUEUED ||
	    !(r = calloc(1, sizeof(*r)))) {
		w->dropped++;
		w->xm->events_dropped++;
		free(text);
		return;
	}
	r->text = text;
	b = uv_buf_init(text, (unsigned)len);
	if (uv_write(&r->w, w->s, &b, 1, watcher_written)) {
		free(text);
		free(r);
		watcher_close(w);
	}
}

static void watcher_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char sink[256];	/* whatever the client sends is ignored */

	*buf = uv_buf_init(sink, sizeof(sink));
}

static void watcher_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	if (n < 0)
		watcher_close(s->data);
}

struct xm_shutdown {
	uv_shutdown_t req;
	struct xm_watcher *w;
};

static void watcher_shut(uv_shutdown_t *req, int status)
{
	struct xm_shutdown *sd = container_of(req, struct xm_shutdown, req);

	if (!uv_is_closing((uv_handle_t *)sd->w->s))
		uv_close((uv_handle_t *)sd->w->s, watcher_closed);
	free(sd);
}

/* Daemon exit: let queued events reach the watcher, then close. */
static void watcher_finish(struct xm_watcher *w)
{
	struct xm_shutdown *sd = calloc(1, sizeof(*sd));

	w->xm->watchers = w->next;	/* w is the head */
	if (sd) {
		sd->w = w;
		if (!uv_shutdown(&sd->req, w->s, watcher_shut))
			return;
		free(sd);
	}
	if (!uv_is_closing((uv_handle_t *)w->s))
		uv_close((uv_handle_t *)w->s, watcher_closed);
}

static void timestamp(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec / 1000);
}

void xevpnd_events_publish(struct xevpnd_metrics *xm, const char *type, const char *text,
			   json_t *obj)
{
	char ts[40], *line;
	json_t *o;

	if (!xm || !xm->watchers || xm->closing) {
		json_decref(obj);
		if (xm)
			xm->events++;
		return;
	}
	xm->events++;
	o = json_is_object(obj) ? obj : json_object();
	if (o != obj)
		json_decref(obj);
	timestamp(ts, sizeof(ts));
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, "text", json_string(text));
	line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!line)
		return;
	for (struct xm_watcher *w = xm->watchers, *next; w; w = next) {
		size_t len = strlen(line);
		char *copy = malloc(len + 2);

		next = w->next;
		if (!copy)
			continue;
		memcpy(copy, line, len);
		copy[len] = '\n';
		copy[len + 1] = 0;
		watcher_send(w, copy, len + 1);
	}
	free(line);
}

void xevpnd_events_route(struct xevpnd_metrics *xm, const struct evpn_route *r)
{
	char text[256], nh[IP4_STR_LEN];
	json_t *o;

	if (!xm || !xm->watchers)
		return;
	evpn_route_fmt(r, text, sizeof(text));
	o = json_pack("{sb si ss sI}", "withdraw", r->withdraw, "route_type", (int)r->type,
		      "nexthop", ip4_fmt(r->nexthop, nh), "vni", (json_int_t)r->vni);
	xevpnd_events_publish(xm, "route", text, o);
}

void xevpnd_events_health(struct xevpnd_metrics *xm, const struct health_event *ev)
{
	char text[256], id[48];
	const char *group;
	json_t *o;

	if (!xm || !xm->watchers)
		return;
	group = ev->group ? health_group_name(ev->group) : "";
	o = json_pack("{ss ss ss}", "group", group, "event", health_event_name(ev->type), "cause",
		      health_cause_name(ev->cause));
	if (ev->type < HEALTH_EV_FENCE_ARMED) {
		health_id_str(ev->peer.instance_id, id, sizeof(id));
		json_object_set_new(o, "peer", json_string(id));
		json_object_set_new(o, "alive", json_boolean(ev->peer.alive));
		snprintf(text, sizeof(text), "health %s: %s peer %s (%s)", group,
			 health_event_name(ev->type), id, health_cause_name(ev->cause));
	} else {
		snprintf(text, sizeof(text), "health %s: %s (%s)", group, health_event_name(ev->type),
			 health_cause_name(ev->cause));
	}
	xevpnd_events_publish(xm, "health", text, o);
}

/* ---- stderr tee: one per process, like stderr itself ---- */

static struct {
	pthread_mutex_t lock;
	FILE *orig;
	struct xm_tee_src *src;		/* NULL once the loop side is gone */
	char partial[XM_LINE_MAX];
	size_t plen;
	char *lines[XM_TEE_MAX_LINES];
	unsigned head, count;
	uint64_t lost;
} xm_tee = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void tee_push_locked(const char *s, size_t len)
{
	char *l = strndup(s, len);

	if (!l)
		return;
	if (xm_tee.count == XM_TEE_MAX_LINES) {	/* the loop is behind: drop the oldest */
		free(xm_tee.lines[xm_tee.head]);
		xm_tee.head = (xm_tee.head + 1) % XM_TEE_MAX_LINES;
		xm_tee.count--;
		xm_tee.lost++;
	}
	xm_tee.lines[(xm_tee.head + xm_tee.count++) % XM_TEE_MAX_LINES] = l;
}

static ssize_t tee_write(void *cookie, const char *buf, size_t size)
{
	size_t off = 0;

	pthread_mutex_lock(&xm_tee.lock);
	while (off < size) {	/* fd 2 first: the log is never lost to the tee */
		ssize_t n = write(STDERR_FILENO, buf + off, size - off);

		if (n <= 0 && errno != EINTR)
			break;
		if (n > 0)
			off += (size_t)n;
	}
	if (xm_tee.src) {
		for (size_t i = 0; i < size; i++) {
			if (buf[i] == '\n' || xm_tee.plen == sizeof(xm_tee.partial) - 1) {
				tee_push_locked(xm_tee.partial, xm_tee.plen);
				xm_tee.plen = 0;
				if (buf[i] == '\n')
					continue;
			}
			xm_tee.partial[xm_tee.plen++] = buf[i];
		}
		uv_async_send(&xm_tee.src->h);
	}
	pthread_mutex_unlock(&xm_tee.lock);
	return (ssize_t)size;
}

static void tee_drain(uv_async_t *h)
{
	struct xm_tee_src *t = h->data;
	char *lines[XM_TEE_MAX_LINES];
	unsigned n = 0;

	pthread_mutex_lock(&xm_tee.lock);
	while (xm_tee.count) {
		lines[n++] = xm_tee.lines[xm_tee.head];
		xm_tee.head = (xm_tee.head + 1) % XM_TEE_MAX_LINES;
		xm_tee.count--;
	}
	pthread_mutex_unlock(&xm_tee.lock);
	for (unsigned i = 0; i < n; i++) {
		const char *text = lines[i];
		int level = -1;

		/* "<6>xevpnd: info: ..." from log_msg: keep the level apart */
		if (text[0] == '<' && text[1] >= '0' && text[1] <= '7' && text[2] == '>') {
			level = text[1] - '0';
			text += 3;
		}
		xevpnd_events_publish(t->xm, "log", text,
				      level >= 0 ? json_pack("{si}", "level", level) : NULL);
		free(lines[i]);
	}
}

static void tee_closed(uv_handle_t *h)
{
	struct xm_tee_src *t = h->data;

	xm_unref(t->xm);
	free(t);
}

int xevpnd_events_capture_stderr(struct xevpnd_metrics *xm)
{
	static const cookie_io_functions_t io = { .write = tee_write };
	struct xm_tee_src *t;
	FILE *f;

	if (xm->tee)
		return 0;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->xm = xm;
	if (uv_async_init(xm->loop, &t->h, tee_drain)) {
		free(t);
		return -EINVAL;
	}
	t->h.data = t;
	xm->refs++;
	xm->tee = t;
	pthread_mutex_lock(&xm_tee.lock);
	xm_tee.src = t;
	if (!xm_tee.orig) {
		f = fopencookie(NULL, "w", io);
		if (f) {
			setvbuf(f, NULL, _IOLBF, XM_LINE_MAX);
			fflush(stderr);
			xm_tee.orig = stderr;
			stderr = f;
		}
	}
	pthread_mutex_unlock(&xm_tee.lock);
	return 0;
}

static void tee_stop(struct xevpnd_metrics *xm)
{
	if (!xm->tee)
		return;
	pthread_mutex_lock(&xm_tee.lock);
	if (xm_tee.orig) {
		/* the cookie stream stays open: another thread may still hold it */
		fflush(stderr);
		stderr = xm_tee.orig;
		xm_tee.orig = NULL;
	}
	xm_tee.src = NULL;
	while (xm_tee.count) {
		free(xm_tee.lines[xm_tee.head]);
		xm_tee.head = (xm_tee.head + 1) % XM_TEE_MAX_LINES;
		xm_tee.count--;
	}
	pthread_mutex_unlock(&xm_tee.lock);
	uv_close((uv_handle_t *)&xm->tee->h, tee_closed);
	xm->tee = NULL;
}

bool xevpnd_metrics_cli_take(struct xevpnd_metrics *xm, uv_stream_t *stream, void *owner,
			     const char *line)
{
	static const char ack[] = "{\"ok\":true,\"data\":{\"watching\":\"events\"}}\n";
	char buf[64], *argv[4], *save = NULL;
	struct xm_watcher *w;
	int argc = 0;

	if (!xm)
		return false;
	snprintf(buf, sizeof(buf), "%s", line);
	for (char *t = strtok_r(buf, " \t\r\n", &save); t && argc < 4; t = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = t;
	if (argc >= 1 && !strcmp(argv[0], "trace"))
		return trace_take(xm, stream, owner, line);
	if (argc < 1 || strcmp(argv[0], "watch"))
		return false;
	if (argc != 2 || strcmp(argv[1], "events") || xm->closing)
		return false;	/* the caller answers "unknown command" */
	w = calloc(1, sizeof(*w));
	if (!w)
		return false;
	w->xm = xm;
	w->s = stream;
	w->owner = owner;
	uv_read_stop(stream);
	stream->data = w;
	xm->refs++;
	w->next = xm->watchers;
	xm->watchers = w;
	uv_read_start(stream, watcher_alloc, watcher_read);
	char *a = strdup(ack);
	if (a)
		watcher_send(w, a, sizeof(ack) - 1);
	return true;
}

/* ---------- trace mode ---------- */

/*
 * `trace`: the client's connection becomes a stream of trace events (one
 * JSON line each, with the text line in "text"). xevpnd arms the dataplane
 * switch with a deadline: the end of --seconds, or, without it, a lease
 * renewed while the client reads, so the programs stop tracing by
 * themselves within XM_TRACE_LEASE_S if xevpnd dies. The session ends at
 * --count events, at --seconds, or when the client goes away, and disarms.
 */
#define XM_TRACE_LEASE_S	10
#define XM_TRACE_RENEW_MS	2000
#define XM_TRACE_MAX_S		86400

struct xm_trace_opts {
	uint64_t seconds, count;
	uint32_t ifindex, vni, flags;
};

struct xm_trace {
	struct xevpnd_metrics *xm;
	struct xm_watcher *w;	/* NULL once the client is gone */
	uv_poll_t poll;
	uv_timer_t timer;
	struct xm_trace_opts o;
	uint64_t end_ns;	/* CLOCK_MONOTONIC end of --seconds, 0 = until the client leaves */
	uint64_t sent;
	unsigned handles;	/* open uv handles; freed at 0 */
	bool stopping;
};

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || !*s || *end || *s == '-' || v > max)
		return false;
	*out = v;
	return true;
}

/* `trace [--seconds N] [--count N] [--port NAME] [--vni N] [--drops]`: 0, or -1 with err set. */
static int trace_parse(const char *line, struct xm_trace_opts *o, char *err, size_t errlen)
{
	char buf[256], *argv[12], *save = NULL;
	int argc = 0;
	uint64_t v;

	memset(o, 0, sizeof(*o));
	snprintf(buf, sizeof(buf), "%s", line);
	for (char *t = strtok_r(buf, " \t\r\n", &save); t && argc < 12; t = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = t;
	if (argc < 1 || strcmp(argv[0], "trace"))
		return -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--drops")) {
			o->flags |= XEVPN_TRACE_CFG_DROPS_ONLY;
			continue;
		}
		if (!val) {
			snprintf(err, errlen, "trace: %s needs a value", a);
			return -1;
		}
		i++;
		if (!strcmp(a, "--seconds")) {
			if (!parse_u64(val, XM_TRACE_MAX_S, &o->seconds) || !o->seconds) {
				snprintf(err, errlen, "trace: --seconds %s: expected 1..%d", val, XM_TRACE_MAX_S);
				return -1;
			}
		} else if (!strcmp(a, "--count")) {
			if (!parse_u64(val, UINT32_MAX, &o->count) || !o->count) {
				snprintf(err, errlen, "trace: --count %s: expected a positive number", val);
				return -1;
			}
		} else if (!strcmp(a, "--vni")) {
			if (!parse_u64(val, 0xffffff, &v) || !v) {
				snprintf(err, errlen, "trace: --vni %s: expected 1..16777215", val);
				return -1;
			}
			o->vni = (uint32_t)v;
		} else if (!strcmp(a, "--port")) {
			o->ifindex = if_nametoindex(val);
			if (!o->ifindex) {
				snprintf(err, errlen, "trace: --port %s: no such interface", val);
				return -1;
			}
		} else {
			snprintf(err, errlen, "trace: unknown option %s (--seconds N, --count N, "
				 "--port NAME, --vni N, --drops)", a);
			return -1;
		}
	}
	return 0;
}

static void trace_handle_closed(uv_handle_t *h)
{
	struct xm_trace *tr = h->data;

	if (h == (uv_handle_t *)&tr->poll && tr->xm->src.dp)
		xevpn_dp_trace_close(tr->xm->src.dp);	/* its fd was the poll's */
	if (--tr->handles)
		return;
	if (tr->xm->trace == tr)
		tr->xm->trace = NULL;
	xm_unref(tr->xm);
	free(tr);
}

static void trace_send(struct xm_trace *tr, json_t *o)
{
	char *line = json_dumps(o, JSON_COMPACT);
	size_t len;

	json_decref(o);
	if (!line || !tr->w) {
		free(line);
		return;
	}
	len = strlen(line);
	line = realloc(line, len + 2);
	if (!line)
		return;
	line[len] = '\n';
	line[len + 1] = 0;
	watcher_send(tr->w, line, len + 1);
}

static void trace_stop(struct xm_trace *tr, bool tell_client)
{
	struct xm_watcher *w = tr->w;
	struct xevpn_trace_cfg cfg = { 0 };

	if (tr->stopping)
		return;
	tr->stopping = true;
	xevpn_dp_trace_set(tr->xm->src.dp, false, 0);
	xevpn_dp_trace_get(tr->xm->src.dp, &cfg);
	uv_poll_stop(&tr->poll);
	uv_timer_stop(&tr->timer);
	uv_close((uv_handle_t *)&tr->poll, trace_handle_closed);
	uv_close((uv_handle_t *)&tr->timer, trace_handle_closed);
	if (!w)
		return;
	tr->w = NULL;
	w->trace = NULL;
	if (tell_client) {
		char *line = NULL;
		json_t *o = json_pack("{ss sI sI}", "type", "trace_end", "events", (json_int_t)tr->sent,
				      "lost", (json_int_t)cfg.lost);

		if (o)
			line = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		if (line) {
			size_t len = strlen(line);
			char *l2 = realloc(line, len + 2);

			if (l2) {
				l2[len] = '\n';
				l2[len + 1] = 0;
				watcher_send(w, l2, len + 1);
			} else {
				free(line);
			}
		}
		/* let the queued lines reach the client, then close (watcher_finish's way) */
		struct xm_shutdown *sd = calloc(1, sizeof(*sd));

		if (sd) {
			sd->w = w;
			if (!uv_shutdown(&sd->req, w->s, watcher_shut))
				return;
			free(sd);
		}
	}
	if (!uv_is_closing((uv_handle_t *)w->s))
		uv_close((uv_handle_t *)w->s, watcher_closed);
}

static const char *port_name(uint32_t ifindex, char buf[IF_NAMESIZE])
{
	return ifindex && if_indextoname(ifindex, buf) ? buf : NULL;
}

static json_t *trace_event_json(const struct xevpn_trace_event *ev)
{
	char in[IF_NAMESIZE], out[IF_NAMESIZE], text[320], smac[18], dmac[18], ts[40];
	char vs[INET_ADDRSTRLEN] = "", vd[INET_ADDRSTRLEN] = "";
	const char *in_name = port_name(ev->ifindex, in), *out_name = port_name(ev->out_ifindex, out);
	uint64_t wall = xevpn_dp_trace_wall_ns(ev->ts_ns);
	const char *verdict = xevpn_ctr_name(ev->ctr);
	time_t sec = (time_t)(wall / 1000000000ULL);
	struct tm tm;
	json_t *o;

	xevpn_dp_trace_format(ev, wall, in_name, out_name, text, sizeof(text));
	snprintf(smac, sizeof(smac), "%02x:%02x:%02x:%02x:%02x:%02x", ev->smac[0], ev->smac[1],
		 ev->smac[2], ev->smac[3], ev->smac[4], ev->smac[5]);
	snprintf(dmac, sizeof(dmac), "%02x:%02x:%02x:%02x:%02x:%02x", ev->dmac[0], ev->dmac[1],
		 ev->dmac[2], ev->dmac[3], ev->dmac[4], ev->dmac[5]);
	if (ev->vtep_src)
		inet_ntop(AF_INET, &ev->vtep_src, vs, sizeof(vs));
	if (ev->vtep_dst)
		inet_ntop(AF_INET, &ev->vtep_dst, vd, sizeof(vd));
	gmtime_r(&sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(wall % 1000000000ULL / 1000));
	o = json_pack("{ss ss ss ss sI ss* sI ss* ss* sb sI sI ss ss sI sI sI sI sI}", "type", "trace",
		      "time", ts, "text", text, "hook", xevpn_trace_hook_name(ev->hook), "ifindex",
		      (json_int_t)ev->ifindex, "port", in_name, "out_ifindex",
		      (json_int_t)ev->out_ifindex, "out_port", out_name, "verdict", verdict, "drop",
		      (int)!!(ev->flags & XEVPN_TRACE_F_DROP), "vni", (json_int_t)ev->vni, "vlan",
		      (json_int_t)ev->vlan, "smac", smac, "dmac", dmac, "ethertype",
		      (json_int_t)ntohs(ev->ethertype), "es_id", (json_int_t)ev->es_id, "flow_hash",
		      (json_int_t)ev->flow_hash, "len", (json_int_t)ev->pkt_len, "cpu",
		      (json_int_t)ev->cpu);
	if (!o)
		return NULL;
	json_object_set_new(o, "vtep_src", *vs ? json_string(vs) : json_null());
	json_object_set_new(o, "vtep_dst", *vd ? json_string(vd) : json_null());
	json_object_set_new(o, "bum", json_boolean(ev->flags & XEVPN_TRACE_F_BUM));
	json_object_set_new(o, "from_overlay", json_boolean(ev->flags & XEVPN_TRACE_F_FROM_OVERLAY));
	return o;
}

static int trace_event_cb(void *ctx, const struct xevpn_trace_event *ev)
{
	struct xm_trace *tr = ctx;
	json_t *o;

	if (tr->stopping || !tr->w || (tr->o.count && tr->sent >= tr->o.count))
		return 0;
	o = trace_event_json(ev);
	if (o)
		trace_send(tr, o);
	tr->sent++;
	return 0;
}

static void trace_readable(uv_poll_t *h, int status, int events)
{
	struct xm_trace *tr = h->data;

	if (tr->stopping)
		return;
	xevpn_dp_trace_consume(tr->xm->src.dp);
	if (tr->o.count && tr->sent >= tr->o.count)
		trace_stop(tr, true);
}

static void trace_tick(uv_timer_t *h)
{
	struct xm_trace *tr = h->data;
	uint64_t now = xevpn_dp_mono_ns();

	if (tr->stopping)
		return;
	if (tr->end_ns && now >= tr->end_ns) {
		xevpn_dp_trace_consume(tr->xm->src.dp);	/* the last events of the window */
		trace_stop(tr, true);
		return;
	}
	if (!tr->end_ns)
		xevpn_dp_trace_set(tr->xm->src.dp, true, now + XM_TRACE_LEASE_S * 1000000000ULL);
}

/* Start a session on the client's stream; false (nothing taken) when it cannot. */
static bool trace_take(struct xevpnd_metrics *xm, uv_stream_t *stream, void *owner,
		       const char *line)
{
	struct xevpn_dp *dp = xm->src.dp;
	struct xm_trace_opts o;
	struct xm_watcher *w;
	struct xm_trace *tr;
	char err[160];
	uint64_t now;
	int fd;

	if (!dp || xm->trace || xm->closing || trace_parse(line, &o, err, sizeof(err)))
		return false;	/* xevpnd_metrics_command() says why */
	tr = calloc(1, sizeof(*tr));
	w = calloc(1, sizeof(*w));
	if (!tr || !w || xevpn_dp_trace_open(dp, trace_event_cb, tr)) {
		free(tr);
		free(w);
		return false;
	}
	fd = xevpn_dp_trace_fd(dp);
	if (fd < 0 || uv_poll_init(xm->loop, &tr->poll, fd)) {
		xevpn_dp_trace_close(dp);
		free(tr);
		free(w);
		return false;
	}
	tr->xm = xm;
	tr->w = w;
	tr->o = o;
	tr->poll.data = tr;
	uv_timer_init(xm->loop, &tr->timer);
	tr->timer.data = tr;
	tr->handles = 2;
	xm->refs++;		/* the session's */
	xm->trace = tr;
	w->xm = xm;
	w->s = stream;
	w->owner = owner;
	w->trace = tr;
	uv_read_stop(stream);
	stream->data = w;
	xm->refs++;		/* the watcher's, as for watch events */
	uv_read_start(stream, watcher_alloc, watcher_read);

	now = xevpn_dp_mono_ns();
	tr->end_ns = o.seconds ? now + o.seconds * 1000000000ULL : 0;
	xevpn_dp_trace_filter(dp, o.ifindex, o.vni, o.flags);
	xevpn_dp_trace_set(dp, true, tr->end_ns ? tr->end_ns : now + XM_TRACE_LEASE_S * 1000000000ULL);
	uv_poll_start(&tr->poll, UV_READABLE, trace_readable);
	if (o.seconds) /* the deadline is the end: one tick then (and again if early) */
		uv_timer_start(&tr->timer, trace_tick, o.seconds * 1000, 100);
	else /* renew the lease while the client reads */
		uv_timer_start(&tr->timer, trace_tick, XM_TRACE_RENEW_MS, XM_TRACE_RENEW_MS);
	trace_send(tr, json_pack("{sb s{ss sI sI sI sI sb}}", "ok", 1, "data", "tracing", "on",
				 "seconds", (json_int_t)o.seconds, "count", (json_int_t)o.count,
				 "ifindex", (json_int_t)o.ifindex, "vni", (json_int_t)o.vni,
				 "drops_only", (int)!!(o.flags & XEVPN_TRACE_CFG_DROPS_ONLY)));
	log_msg(LOG_INFO, "trace: on (%s%llu s, %llu events max)", o.seconds ? "" : "lease ",
		(unsigned long long)(o.seconds ? o.seconds : XM_TRACE_LEASE_S),
		(unsigned long long)o.count);
	return true;
}

/* ---------- failovers ---------- */

void xevpnd_metrics_failover(struct xevpnd_metrics *xm, const char *cause, const char *what)
{
	const char *lv[] = { cause };
	char text[256];

	if (!xm)
		return;
	metrics_inc(xm->m.failovers, lv);
	snprintf(text, sizeof(text), "failover (%s): %s", cause, what ? what : "");
	xevpnd_events_publish(xm, "failover", text, json_pack("{ss}", "cause", cause));
}

void xevpnd_metrics_link(struct xevpnd_metrics *xm, const char *ifname, bool up)
{
	if (!xm || up)
		return;
	htab_for_each(&xm->src.e->es, hn, i) {
		struct evpn_es *es = container_of(hn, struct evpn_es, hn);
		char what[128];

		if (!(es->flags & EVPN_ES_LOCAL) || strcmp(es->cfg.port, ifname) ||
		    !evpn_es_in_service(es))
			continue;
		snprintf(what, sizeof(what), "es %s: port %s down", es->name, ifname);
		xevpnd_metrics_failover(xm, XEVPN_FAILOVER_LINK, what);
	}
}

void xevpnd_metrics_reload_begin(struct xevpnd_metrics *xm)
{
	struct evpn *e;

	if (!xm)
		return;
	e = xm->src.e;
	free(xm->reload_es);
	xm->n_reload_es = 0;
	xm->reload_es = calloc(e->es.count ? e->es.count : 1, sizeof(esi_t));
	if (!xm->reload_es)
		return;
	htab_for_each(&e->es, hn, i) {
		struct evpn_es *es = container_of(hn, struct evpn_es, hn);

		if (evpn_es_in_service(es))
			xm->reload_es[xm->n_reload_es++] = es->esi;
	}
}

void xevpnd_metrics_reload_end(struct xevpnd_metrics *xm)
{
	if (!xm || !xm->reload_es)
		return;
	for (unsigned i = 0; i < xm->n_reload_es; i++) {
		struct evpn_es *es = evpn_es_find(xm->src.e, &xm->reload_es[i]);
		char esi[ESI_STR_LEN], what[128];

		if (es && evpn_es_in_service(es))
			continue;
		snprintf(what, sizeof(what), "es %s taken out of service by reload",
			 esi_fmt(&xm->reload_es[i], esi));
		xevpnd_metrics_failover(xm, XEVPN_FAILOVER_OPERATOR, what);
	}
	free(xm->reload_es);
	xm->reload_es = NULL;
	xm->n_reload_es = 0;
}

/* ---------- CLI ---------- */

static json_t *rates_json(const struct ewma_traffic *t)
{
	json_t *o = json_object();

	for (unsigned w = 0; w < EWMA_W_MAX; w++)
		json_object_set_new(o, ewma_window_name(w),
				    json_pack("{sf sf sb}", "pps", ewma_traffic_pps(t, w), "bps",
					      ewma_traffic_bps(t, w), "warm",
					      ewma_counter_warm(&t->packets, w)));
	return o;
}

static json_t *traffic_json(struct xevpnd_metrics *xm, const char *sel)
{
	struct evpn *e = xm->src.e;
	struct evpn_es *es = NULL;
	json_t *members, *o, *windows = json_array();
	char esi[ESI_STR_LEN], ip[IP4_STR_LEN], src[256];
	esi_t want;
	bool by_esi = !esi_parse(sel, &want);

	htab_for_each(&e->es, hn, i) {
		struct evpn_es *x = container_of(hn, struct evpn_es, hn);

		if (by_esi ? !esi_cmp(&x->esi, &want) : !strcmp(x->name, sel))
			es = x;
	}
	if (!es) {
		json_decref(windows);
		return json_pack("{sb ss}", "ok", 0, "error", "no such ES");
	}
	for (unsigned w = 0; w < EWMA_W_MAX; w++)
		json_array_append_new(windows, json_string(ewma_window_name(w)));
	members = json_array();
	if (es->flags & EVPN_ES_LOCAL) {
		struct xm_member *m;

		for (m = xm->members; m && esi_cmp(&m->esi, &es->esi); m = m->next)
			;
		snprintf(src, sizeof(src), XM_SRC_LOCAL, es->cfg.port);
		o = json_pack("{ss ss sb ss ss}", "member", ip4_fmt(e->self, ip), "vtep", ip, "local", 1,
			      "port", es->cfg.port, "source", src);
		json_object_set_new(o, "ingress", m ? rates_json(&m->in) : json_null());
		json_object_set_new(o, "egress", m ? rates_json(&m->out) : json_null());
		json_array_append_new(members, o);
	}
	for (unsigned k = 0; k < es->n_vteps; k++) {
		struct evpn_es_vtep *v = &es->vteps[k];

		o = json_pack("{ss ss sb sb ss sn sn}", "member", ip4_fmt(v->ip, ip), "vtep", ip, "local", 0,
			      "active", evpn_es_vtep_active(e, es, v), "source", XM_SRC_REMOTE, "ingress",
			      "egress");
		json_array_append_new(members, o);
	}
	o = json_pack("{ss ss so so}", "esi", esi_fmt(&es->esi, esi), "name", es->name, "windows", windows,
		      "members", members);
	json_object_set_new(o, "sample_period_ms", json_integer(xm->src.sample_ms));
	json_object_set_new(o, "remote_total",
			    json_pack("{ss so sn}", "source", XM_SRC_OVERLAY, "egress",
				      xm->src.dp ? rates_json(&xm->overlay_out) : json_null(),
				      "ingress"));
	return json_pack("{sb so}", "ok", 1, "data", o);
}

json_t *xevpnd_metrics_command(struct xevpnd_metrics *xm, const char *line)
{
	char buf[256], *argv[8], *save = NULL;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *t = strtok_r(buf, " \t\r\n", &save); t && argc < 8; t = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = t;
	if (argc >= 1 && !strcmp(argv[0], "trace")) {
		/* a session that started took the connection: here it could not */
		struct xm_trace_opts o;
		char err[160];

		if (trace_parse(line, &o, err, sizeof(err)))
			return json_pack("{sb ss}", "ok", 0, "error", err);
		if (!xm || !xm->src.dp)
			return json_pack("{sb ss}", "ok", 0, "error", "trace: no dataplane");
		if (xm->trace)
			return json_pack("{sb ss}", "ok", 0, "error",
					 "trace: a trace session is already running");
		return json_pack("{sb ss}", "ok", 0, "error", "trace: cannot start (out of memory or ring buffer)");
	}
	if (argc == 4 && !strcmp(argv[0], "show") && !strcmp(argv[1], "es") &&
	    !strcmp(argv[3], "traffic"))
		return xm ? traffic_json(xm, argv[2])
			  : json_pack("{sb ss}", "ok", 0, "error", "metrics are not running");
	if (argc == 2 && !strcmp(argv[0], "show") && !strcmp(argv[1], "metrics")) {
		size_t len;
		char *text = xm ? metrics_render(xm->reg, &len, NULL) : NULL;
		json_t *r;

		if (!text)
			return json_pack("{sb ss}", "ok", 0, "error", "metrics are not running");
		r = json_pack("{sb s{ss ss}}", "ok", 1, "data", "content_type", METRICS_CONTENT_TYPE,
			      "text", text);
		free(text);
		return r;
	}
	return NULL;
}

/* ---------- lifecycle ---------- */

static void http_closed(void *arg)
{
	xm_unref(arg);
}

int xevpnd_metrics_new(uv_loop_t *loop, const struct xevpnd_metrics_src *src,
		       struct xevpnd_metrics **out)
{
	struct xevpnd_metrics *xm = calloc(1, sizeof(*xm));
	struct metrics_http_config hc = { 0 };
	char err[256];
	int rc;

	*out = NULL;
	if (!xm)
		return -ENOMEM;
	xm->loop = loop;
	xm->src = *src;
	if (!xm->src.sample_ms)
		xm->src.sample_ms = XM_SAMPLE_MS;
	xm->refs = 1;
	ewma_traffic_init(&xm->overlay_out, NULL, NULL);
	xm->reg = metrics_registry_new(XEVPN_METRICS_NAMESPACE);
	if (!xm->reg || xevpn_metrics_register(xm->reg, &xm->m, XEVPN_VERSION_STRING) ||
	    metrics_collector_add(xm->reg, xm_collect, xm)) {
		metrics_registry_free(xm->reg);
		free(xm);
		return -ENOMEM;
	}
	xm->sampler = calloc(1, sizeof(*xm->sampler));
	if (xm->sampler) {
		xm->sampler->xm = xm;
		uv_timer_init(loop, &xm->sampler->h);
		xm->sampler->h.data = xm->sampler;
		uv_timer_start(&xm->sampler->h, sampler_cb, 0, xm->src.sample_ms);
		xm->refs++;
	}
	hc.listen = src->listen;
	hc.allow_remote = src->allow_remote;
	rc = metrics_http_start(loop, xm->reg, &hc, &xm->http, err, sizeof(err));
	if (rc)
		log_msg(LOG_ERR, "http-metrics: %s (metrics endpoint off; forwarding unaffected)", err);
	else if (xm->http)
		log_msg(LOG_INFO, "http-metrics: serving http://%s%s", src->listen, METRICS_HTTP_PATH);
	*out = xm;
	return 0;
}

void xevpnd_metrics_free(struct xevpnd_metrics *xm)
{
	if (!xm)
		return;
	if (xm->tee)
		tee_drain(&xm->tee->h);	/* the last lines, e.g. why we exit */
	if (xm->trace)
		trace_stop(xm->trace, true);
	xm->closing = true;
	tee_stop(xm);
	while (xm->watchers)
		watcher_finish(xm->watchers);
	if (xm->sampler)
		uv_close((uv_handle_t *)&xm->sampler->h, sampler_closed);
	xm->sampler = NULL;
	if (xm->http) {
		xm->refs++;
		metrics_http_close(xm->http, http_closed, xm);
		xm->http = NULL;
	}
	xm_unref(xm);
}

struct metrics_registry *xevpnd_metrics_registry(struct xevpnd_metrics *xm)
{
	return xm->reg;
}

struct xevpn_metrics *xevpnd_metrics_families(struct xevpnd_metrics *xm)
{
	return &xm->m;
}

uint16_t xevpnd_metrics_port(const struct xevpnd_metrics *xm)
{
	return xm && xm->http ? metrics_http_port(xm->http) : 0;
}

void xevpnd_metrics_set_health(struct xevpnd_metrics *xm, const struct xevpnd_health_view *v)
{
	if (!xm)
		return;
	xm->have_health = v && v->for_each_group;
	if (xm->have_health)
		xm->health = *v;
}
