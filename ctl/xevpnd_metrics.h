/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Observability inside xevpnd: the Prometheus /metrics endpoint, per-ES-member
 * traffic rates, and the event stream behind `xevpnctl watch events`.
 *
 * One struct xevpnd_metrics per daemon, on the daemon's loop:
 *   - a metrics registry with the contract of ctl/metrics/xevpn_metrics.h;
 *     one collector fills it at scrape time from the model (DF, ES groups),
 *     the dataplane (counters summed over CPUs, map occupancy), the GoBGP
 *     client (up, connection age) and, through a hook, the health engine;
 *   - the HTTP endpoint (ctl/metrics/http.h) when the configuration gives
 *     http-metrics (off by default; loopback only);
 *   - a 1 s sampler feeding EWMA rates (ctl/metrics/ewma.h) per ES member:
 *     the local member from the access port's netdev counters (rtnetlink
 *     IFLA_STATS64), remote members (VTEPs) together from the dataplane's
 *     encap_es verdict, since the dataplane counts per action, not per VTEP;
 *   - watchers: CLI connections that asked for "watch events" receive one
 *     JSON line per event: every log line xevpnd writes to stderr, received
 *     routes, health events and failovers.
 *
 * Everything runs on the loop thread except the stderr tee, which may be
 * written from any thread (it queues lines and wakes the loop).
 */
#ifndef XEVPN_CTL_XEVPND_METRICS_H
#define XEVPN_CTL_XEVPND_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "metrics/xevpn_metrics.h"

struct evpn;
struct evpn_route;
struct xevpn_dp;
struct routes_bridge;
struct health_group;
struct health_event;
struct xevpnd_metrics;

/* Sources the collector and the sampler read; any may be NULL (dry run). */
struct xevpnd_metrics_src {
	struct evpn *e;			/* the model: required */
	struct xevpn_dp *dp;		/* dataplane counters and maps */
	struct routes_bridge *rb;	/* GoBGP connection state */
	const char *listen;		/* http-metrics address, "" / NULL = off */
	bool allow_remote;		/* permit a non-loopback listen address */
	unsigned sample_ms;		/* traffic sampler period, 0 = 1000 */
};

/*
 * Create the registry and start the endpoint and the sampler on loop. An
 * endpoint that cannot be started (bad or busy address) is logged and leaves
 * everything else running: metrics are never a reason not to forward.
 * Returns 0 or -ENOMEM.
 */
int xevpnd_metrics_new(uv_loop_t *loop, const struct xevpnd_metrics_src *src,
		       struct xevpnd_metrics **out);
/* Close the endpoint, the sampler and every watcher; memory is released from
 * the close callbacks (run the loop once more). NULL is fine. */
void xevpnd_metrics_free(struct xevpnd_metrics *xm);

struct metrics_registry *xevpnd_metrics_registry(struct xevpnd_metrics *xm);
struct xevpn_metrics *xevpnd_metrics_families(struct xevpnd_metrics *xm);
/* Bound port of the endpoint (0 = not serving). */
uint16_t xevpnd_metrics_port(const struct xevpnd_metrics *xm);

/*
 * Health engine hook. The engine keeps no list of its groups, so whoever runs
 * it in xevpnd hands a view: for_each_group() calls fn for every group, and
 * the two flags give the self-fence state. At every scrape the collector then
 * fills beats_sent/accepted{group} (health_group_stats tx_ok / rx_ok),
 * beats_dropped{reason} (health_drop_name(), summed over groups),
 * beats_foreign, health_peer_up{group,peer}, health_group_peers_up{group},
 * self_fence_armed and self_fenced. Without a view these stay at 0.
 */
typedef void (*xevpnd_health_group_fn)(struct health_group *g, void *ctx);
struct xevpnd_health_view {
	void (*for_each_group)(void *arg, xevpnd_health_group_fn fn, void *ctx);
	bool (*fence_armed)(void *arg);		/* may be NULL */
	bool (*fenced)(void *arg);		/* may be NULL */
	void *arg;
};
void xevpnd_metrics_set_health(struct xevpnd_metrics *xm, const struct xevpnd_health_view *v);

/* cause: XEVPN_FAILOVER_OPERATOR / _AUTONOMOUS / _LINK. Counts one failover
 * and tells the watchers (what: free text, e.g. "vtep 192.0.2.2 pruned"). */
void xevpnd_metrics_failover(struct xevpnd_metrics *xm, const char *cause, const char *what);

/* Link change seen by xevpnd (before the model acts): a local in-service ES
 * whose port goes down is a failover with cause "link". */
void xevpnd_metrics_link(struct xevpnd_metrics *xm, const char *ifname, bool up);

/* Around a SIGHUP reload: a local ES in service before and not after (removed,
 * port changed) is a failover with cause "operator". */
void xevpnd_metrics_reload_begin(struct xevpnd_metrics *xm);
void xevpnd_metrics_reload_end(struct xevpnd_metrics *xm);

/* Event stream. */
void xevpnd_events_route(struct xevpnd_metrics *xm, const struct evpn_route *r);
void xevpnd_events_health(struct xevpnd_metrics *xm, const struct health_event *ev);
/* Any other event: type is a short word ("df", "fib", ...); takes obj (may be NULL). */
void xevpnd_events_publish(struct xevpnd_metrics *xm, const char *type, const char *text,
			   json_t *obj);

/*
 * Tee stderr: every complete line written to stderr (log_msg, libraries) is
 * still written to fd 2 and also published as a "log" event. Idempotent.
 */
int xevpnd_events_capture_stderr(struct xevpnd_metrics *xm);

/*
 * CLI requests this part answers. Returns a reply ({"ok":..}) or NULL when
 * the line is not one of them:
 *   show es ESI|NAME traffic    per-member EWMA rates
 *   show metrics                the registry rendered: {"content_type", "text"}
 *   trace ...                   why a trace session could not start
 */
json_t *xevpnd_metrics_command(struct xevpnd_metrics *xm, const char *line);

/*
 * "watch events": takes over the CLI connection (stops its reader, keeps the
 * handle) and streams one JSON line per event until the client goes away.
 * owner is the memory the handle lives in (freed with it on close). Returns
 * true if the line was a watch request and the stream is now ours.
 */
bool xevpnd_metrics_cli_take(struct xevpnd_metrics *xm, uv_stream_t *stream, void *owner,
			     const char *line);

#endif
