/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus scrape endpoint on a libuv loop, built on libmicrohttpd.
 *
 * MHD runs in its "external epoll" mode: it keeps all its sockets (listener
 * and connections) in one epoll fd, which the server watches with a uv_poll;
 * a uv_timer armed from MHD_get_timeout() covers connection timeouts and data
 * MHD already holds. Requests are therefore handled on the loop thread, and
 * metrics_render() (with its collectors) runs there too: collectors may read
 * daemon state without locks.
 *
 * Serves GET and HEAD on /metrics (query string ignored); other paths get 404,
 * other methods 405 with "Allow: GET, HEAD".
 *
 * Exposure: off unless a listen address is configured; a non-loopback address
 * is refused unless allow_remote is set.
 */
#ifndef XEVPN_CTL_METRICS_HTTP_H
#define XEVPN_CTL_METRICS_HTTP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "metrics/metrics.h"

/* Suggested address when metrics are switched on without one. */
#define METRICS_HTTP_DEFAULT_LISTEN "127.0.0.1:9469"
#define METRICS_HTTP_PATH "/metrics"

struct metrics_http;

struct metrics_http_config {
	/*
	 * "ADDR:PORT" with a numeric address: "127.0.0.1:9469", "[::1]:9469",
	 * "[::]:9469". Port 0 picks an ephemeral port (see metrics_http_port()).
	 * NULL or "" = endpoint disabled.
	 */
	const char *listen;
	bool allow_remote;		/* permit a non-loopback address */
	unsigned int max_connections;	/* 0 = 16 */
	unsigned int timeout_s;		/* idle connection timeout, 0 = 10 s */
};

/* Counters of the endpoint itself (also useful to tests). */
struct metrics_http_stats {
	uint64_t scrapes;		/* /metrics answered with 200 */
	uint64_t not_found;		/* 404 */
	uint64_t bad_method;		/* 405 */
	uint64_t errors;		/* 500: render failed (ENOMEM) */
	uint64_t collect_errors;	/* collectors that returned < 0 */
};

/*
 * Parse a listen string into a socket address. 0, or -EINVAL with a message
 * naming the offending text in err (may be NULL).
 */
int metrics_http_parse_listen(const char *listen, struct sockaddr_storage *ss,
			      socklen_t *sslen, char *err, size_t errlen);

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool metrics_http_addr_is_loopback(const struct sockaddr *sa);

/*
 * Bind the address and start serving reg on loop. On success returns 0 and
 * *out (NULL when cfg->listen is empty: disabled). On failure returns a
 * negative errno (-EINVAL bad address, -EPERM non-loopback without
 * allow_remote, -EADDRINUSE, ...) with a one-line message in err (may be
 * NULL). Must be called on the loop's thread; reg must outlive the server.
 */
int metrics_http_start(uv_loop_t *loop, struct metrics_registry *reg,
		       const struct metrics_http_config *cfg,
		       struct metrics_http **out, char *err, size_t errlen);

/* Bound port, in host order (useful with port 0). */
uint16_t metrics_http_port(const struct metrics_http *srv);

/* Copy of the endpoint's counters. */
void metrics_http_get_stats(const struct metrics_http *srv, struct metrics_http_stats *st);

/*
 * Stop serving: the listener and open connections are closed once the loop
 * has closed the server's handles; then srv is freed and done(arg) runs (on
 * the loop). done may be NULL. srv == NULL: done runs at once.
 */
typedef void (*metrics_http_closed_fn)(void *arg);
void metrics_http_close(struct metrics_http *srv, metrics_http_closed_fn done, void *arg);

#endif /* XEVPN_CTL_METRICS_HTTP_H */
