// SPDX-License-Identifier: GPL-2.0
/*
 * /metrics over real HTTP on loopback.
 *
 *   test thread (plain TCP client) ---127.0.0.1:ephemeral---> libuv loop thread
 *                                                             metrics_http (libmicrohttpd)
 *                                                             registry + collector
 *
 * The server runs on its own libuv loop thread, as in xevpnd; the test thread
 * scrapes with a plain socket client, moves the "dataplane" counters the
 * collector reads between scrapes, and feeds the output to promtool.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "metrics/http.h"
#include "metrics/metrics.h"
#include "metrics/xevpn_metrics.h"
#include "xevpn/counters.h"

#define PROMTOOL "/usr/bin/promtool"

/* ---- server on a loop thread ------------------------------------------ */

struct fixture {
	uv_loop_t loop;
	uv_async_t stop;
	pthread_t thread;
	struct metrics_registry *reg;
	struct xevpn_metrics m;
	struct metrics_http *srv;
	struct metrics_http_stats final;	/* read on the loop at stop */
	uint16_t port;
	bool closed;				/* done callback ran */
	int loop_close_rc;
	/* Written by the test thread, read by the collector on the loop. */
	_Atomic unsigned long long rx_packets, rx_bytes, beats;
};

static int collect(struct metrics_registry *reg, void *arg)
{
	struct xevpn_ctr_value sum[XEVPN_CTR_MAX] = { 0 };
	struct fixture *fx = arg;

	/* What xevpnd does with the per-CPU counter map, summed. */
	sum[XEVPN_CTR_ENCAP_ES].packets = atomic_load(&fx->rx_packets);
	sum[XEVPN_CTR_ENCAP_ES].bytes = atomic_load(&fx->rx_bytes);
	sum[XEVPN_CTR_DROP_UNKNOWN_VNI] = (struct xevpn_ctr_value){ 3, 180 };
	sum[XEVPN_CTR_FILTER_SPLIT_HORIZON].packets = 4;
	xevpn_metrics_set_dataplane(&fx->m, sum, XEVPN_CTR_MAX);
	metrics_set(fx->m.beats_sent, (const char *[]){ "es-00:11:22:33:44:55:00:00:00:01" },
		    (double)atomic_load(&fx->beats));
	return 0;
}

static void populate(struct fixture *fx)
{
	struct xevpn_metrics *m = &fx->m;
	const char *esi = "00:11:22:33:44:55:00:00:00:01";

	metrics_set(m->beats_accepted, (const char *[]){ "es1" }, 10);
	metrics_set(m->beats_dropped, (const char *[]){ "bad-sig" }, 2);
	metrics_set(m->beats_foreign, NULL, 1);
	/* A peer name an operator might type with quotes and a backslash. */
	metrics_set(m->peer_up, (const char *[]){ "es1", "leaf\"2\\b" }, 1);
	metrics_set(m->group_peers_up, (const char *[]){ "es1" }, 1);
	metrics_set(m->self_fence_armed, NULL, 0);
	metrics_set(m->df_changes, (const char *[]){ esi }, 1);
	metrics_set(m->es_is_df, (const char *[]){ esi, "100" }, 1);
	metrics_set(m->failovers, (const char *[]){ XEVPN_FAILOVER_AUTONOMOUS }, 1);
	metrics_set(m->es_group_vteps, (const char *[]){ esi }, 2);
	metrics_set(m->map_entries, (const char *[]){ "fdb" }, 1234);
	metrics_set(m->map_max_entries, (const char *[]){ "fdb" }, 65536);
	metrics_set(m->gobgp_up, NULL, 1);
	metrics_set(m->gobgp_connection_age, NULL, 12.5);
}

static void *loop_thread(void *arg)
{
	struct fixture *fx = arg;

	uv_run(&fx->loop, UV_RUN_DEFAULT);
	return NULL;
}

static void on_closed(void *arg)
{
	((struct fixture *)arg)->closed = true;
}

static void on_stop(uv_async_t *a)
{
	struct fixture *fx = a->data;

	metrics_http_get_stats(fx->srv, &fx->final);
	metrics_http_close(fx->srv, on_closed, fx);
	uv_close((uv_handle_t *)a, NULL);
}

static void fixture_start(struct fixture *fx, const struct metrics_http_config *cfg)
{
	char err[256] = "";
	int ret;

	memset(fx, 0, sizeof(*fx));
	cr_assert_eq(uv_loop_init(&fx->loop), 0);
	fx->reg = metrics_registry_new(XEVPN_METRICS_NAMESPACE);
	cr_assert_not_null(fx->reg);
	cr_assert_eq(xevpn_metrics_register(fx->reg, &fx->m, "test"), 0);
	populate(fx);
	cr_assert_eq(metrics_collector_add(fx->reg, collect, fx), 0);

	ret = metrics_http_start(&fx->loop, fx->reg, cfg, &fx->srv, err, sizeof(err));
	cr_assert_eq(ret, 0, "start: %s", err);
	cr_assert_not_null(fx->srv);
	fx->port = metrics_http_port(fx->srv);
	cr_assert_neq(fx->port, 0);
	cr_assert_eq(uv_async_init(&fx->loop, &fx->stop, on_stop), 0);
	fx->stop.data = fx;
	/* From here on the loop and the server belong to the loop thread. */
	cr_assert_eq(pthread_create(&fx->thread, NULL, loop_thread, fx), 0);
}

static void fixture_stop(struct fixture *fx)
{
	uv_async_send(&fx->stop);
	pthread_join(fx->thread, NULL);
	fx->loop_close_rc = uv_loop_close(&fx->loop);
	metrics_registry_free(fx->reg);
}

static const struct metrics_http_config loopback = { .listen = "127.0.0.1:0" };

/* ---- minimal HTTP/1.1 client ------------------------------------------ */

struct resp {
	int status;
	char headers[4096];
	char *body;
	size_t body_len;
};

static int connect_port(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 15 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static void send_all(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		cr_assert_gt(w, 0, "send: %s", strerror(errno));
		s += w;
		n -= (size_t)w;
	}
}

/* Read to EOF and split status, headers and body. */
static void read_response(int fd, struct resp *r)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap), *eoh;
	ssize_t n;

	cr_assert_not_null(buf);
	while ((n = recv(fd, buf + len, cap - len - 1, 0)) > 0) {
		len += (size_t)n;
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
	}
	cr_assert_eq(n, 0, "recv: %s", n < 0 ? strerror(errno) : "");
	buf[len] = '\0';
	cr_assert_eq(sscanf(buf, "HTTP/1.1 %d ", &r->status), 1, "bad status line: %.80s", buf);
	eoh = strstr(buf, "\r\n\r\n");
	cr_assert_not_null(eoh);
	cr_assert_lt((size_t)(eoh - buf), sizeof(r->headers));
	memcpy(r->headers, buf, (size_t)(eoh - buf));
	r->headers[eoh - buf] = '\0';
	r->body_len = len - (size_t)(eoh + 4 - buf);
	r->body = malloc(r->body_len + 1);
	memcpy(r->body, eoh + 4, r->body_len);
	r->body[r->body_len] = '\0';
	free(buf);
}

static void http(uint16_t port, const char *method, const char *path, struct resp *r)
{
	char req[256];
	int fd = connect_port(port);

	cr_assert_geq(fd, 0, "connect: %s", strerror(-fd));
	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
		 method, path);
	memset(r, 0, sizeof(*r));
	send_all(fd, req);
	read_response(fd, r);
	close(fd);
}

/* Value of header name (case-insensitive), or NULL; copies into out. */
static const char *header(const struct resp *r, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);

	for (const char *line = strstr(r->headers, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
		const char *l = line + 2, *end;

		if (strncasecmp(l, name, nl) || l[nl] != ':')
			continue;
		l += nl + 1;
		while (*l == ' ')
			l++;
		end = strstr(l, "\r\n");
		snprintf(out, outlen, "%.*s", (int)(end ? end - l : (long)strlen(l)), l);
		return out;
	}
	return NULL;
}

/* The value of the sample line starting with series (name + labels). */
static double sample(const char *body, const char *series)
{
	char key[256];
	const char *p;

	snprintf(key, sizeof(key), "\n%s ", series);
	p = strstr(body, key);
	cr_assert_not_null(p, "no sample %s in:\n%s", series, body);
	return strtod(p + strlen(key), NULL);
}

/* Run promtool check metrics on text; returns its exit status, output in out. */
static int promtool_check(const char *text, char *out, size_t outlen)
{
	char path[] = "/tmp/xevpn-metrics-XXXXXX", cmd[256];
	int fd = mkstemp(path), status;
	size_t n;
	FILE *p;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(cmd, sizeof(cmd), PROMTOOL " check metrics < %s 2>&1", path);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	status = pclose(p);
	unlink(path);
	cr_assert(WIFEXITED(status), "promtool did not exit");
	return WEXITSTATUS(status);
}

/* ---- tests ------------------------------------------------------------- */

Test(http, counters_move_between_scrapes)
{
	struct fixture fx;
	struct resp a, b;
	char ct[128];

	fixture_start(&fx, &loopback);
	atomic_store(&fx.rx_packets, 1000);
	atomic_store(&fx.rx_bytes, 64000);
	atomic_store(&fx.beats, 7);
	http(fx.port, "GET", "/metrics", &a);
	cr_assert_eq(a.status, 200);
	cr_assert_str_eq(header(&a, "Content-Type", ct, sizeof(ct)), METRICS_CONTENT_TYPE);

	atomic_fetch_add(&fx.rx_packets, 250);
	atomic_fetch_add(&fx.rx_bytes, 250 * 1500);
	atomic_fetch_add(&fx.beats, 3);
	http(fx.port, "GET", "/metrics?x=1", &b);	/* query ignored */
	cr_assert_eq(b.status, 200);

	const char *pk = "xevpn_dataplane_packets_total{action=\"encap_es\",reason=\"none\"}";
	const char *by = "xevpn_dataplane_bytes_total{action=\"encap_es\",reason=\"none\"}";
	const char *bs = "xevpn_beats_sent_total{group=\"es-00:11:22:33:44:55:00:00:00:01\"}";

	cr_assert_eq(sample(a.body, pk), 1000);
	cr_assert_eq(sample(b.body, pk) - sample(a.body, pk), 250);
	cr_assert_eq(sample(b.body, by) - sample(a.body, by), 250 * 1500);
	cr_assert_eq(sample(b.body, bs) - sample(a.body, bs), 3);
	cr_assert_eq(sample(b.body, "xevpn_dataplane_packets_total{action=\"drop\",reason=\"unknown_vni\"}"), 3);
	cr_assert_eq(sample(b.body, "xevpn_dataplane_events_total{event=\"filter_split_horizon\"}"), 4);
	free(a.body);
	free(b.body);

	fixture_stop(&fx);
	cr_assert_eq(fx.final.scrapes, 2);
	cr_assert_eq(fx.final.collect_errors, 0);
}

Test(http, promtool_check_metrics_passes)
{
	struct fixture fx;
	char out[4096];
	struct resp r;
	int rc;

	fixture_start(&fx, &loopback);
	atomic_store(&fx.rx_packets, 5);
	http(fx.port, "GET", "/metrics", &r);
	fixture_stop(&fx);
	cr_assert_eq(r.status, 200);
	/* The tricky label value arrives escaped. */
	cr_assert_not_null(strstr(r.body, "peer=\"leaf\\\"2\\\\b\"} 1\n"));

	rc = promtool_check(r.body, out, sizeof(out));
	cr_assert_eq(rc, 0, "promtool check metrics failed (%d):\n%s\n--- input:\n%s", rc, out,
		     r.body);
	printf("RESULT metrics_promtool_families %u\n", xevpn_metrics_nfamilies);
	free(r.body);

	/* And promtool does reject what breaks the conventions. */
	rc = promtool_check("# HELP xevpn_beats_sent Beats.\n# TYPE xevpn_beats_sent counter\n"
			    "xevpn_beats_sent 1\n", out, sizeof(out));
	cr_assert_neq(rc, 0, "promtool accepted a counter without _total");
}

Test(http, paths_and_methods)
{
	struct fixture fx;
	struct resp g, h, nf, post;
	char v[128];

	fixture_start(&fx, &loopback);
	http(fx.port, "GET", "/metrics", &g);
	http(fx.port, "HEAD", "/metrics", &h);
	http(fx.port, "GET", "/", &nf);
	http(fx.port, "POST", "/metrics", &post);
	fixture_stop(&fx);

	cr_assert_eq(g.status, 200);
	cr_assert_eq(h.status, 200);
	cr_assert_eq(h.body_len, 0, "HEAD carried a body");
	cr_assert_not_null(header(&h, "Content-Length", v, sizeof(v)));
	cr_assert_eq(strtoul(v, NULL, 10), g.body_len);
	cr_assert_eq(nf.status, 404);
	cr_assert_eq(post.status, 405);
	cr_assert_str_eq(header(&post, "Allow", v, sizeof(v)), "GET, HEAD");
	cr_assert_eq(fx.final.scrapes, 2);
	cr_assert_eq(fx.final.not_found, 1);
	cr_assert_eq(fx.final.bad_method, 1);
	free(g.body);
	free(h.body);
	free(nf.body);
	free(post.body);
}

Test(http, stalled_clients_do_not_block_scrapes)
{
	struct fixture fx;
	int idle, partial;
	struct resp r;

	fixture_start(&fx, &loopback);
	idle = connect_port(fx.port);
	partial = connect_port(fx.port);
	cr_assert_geq(idle, 0);
	cr_assert_geq(partial, 0);
	send_all(partial, "GET /metr");
	for (int i = 0; i < 20; i++) {
		http(fx.port, "GET", "/metrics", &r);
		cr_assert_eq(r.status, 200, "scrape %d", i);
		free(r.body);
	}
	/* The partial request completes later and is answered. */
	send_all(partial, "ics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	memset(&r, 0, sizeof(r));
	read_response(partial, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(strstr(r.body, "# TYPE xevpn_gobgp_up gauge\n"));
	free(r.body);
	close(partial);
	/* Closing with a connection still open is clean too. */
	fixture_stop(&fx);
	close(idle);
	cr_assert_eq(fx.final.scrapes, 21);
	cr_assert(fx.closed);
	cr_assert_eq(fx.loop_close_rc, 0);
}

Test(http, idle_connection_times_out)
{
	struct metrics_http_config cfg = { .listen = "127.0.0.1:0", .timeout_s = 1 };
	struct timespec t0, t1;
	struct fixture fx;
	char c;
	int fd;

	fixture_start(&fx, &cfg);
	fd = connect_port(fx.port);
	cr_assert_geq(fd, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* The server must hang up by itself (recv returns 0, or RST). */
	ssize_t n = recv(fd, &c, 1, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

	cr_assert(n == 0 || (n < 0 && errno == ECONNRESET), "recv %zd: %s", n, strerror(errno));
	cr_assert_lt(secs, 10.0, "idle connection kept %.1f s with a 1 s timeout", secs);
	close(fd);
	fixture_stop(&fx);
}

Test(http, close_releases_port_and_handles)
{
	struct fixture fx;
	uint16_t port;
	int fd;

	fixture_start(&fx, &loopback);
	port = fx.port;
	fixture_stop(&fx);
	cr_assert(fx.closed, "done callback did not run");
	cr_assert_eq(fx.loop_close_rc, 0, "loop still has handles: %s",
		     uv_strerror(fx.loop_close_rc));
	fd = connect_port(port);
	cr_assert_eq(fd, -ECONNREFUSED, "port %u still accepts (%d)", port, fd);
}

struct cfg_case {
	const char *listen;
	bool allow_remote;
	int want;
	const char *msg;	/* substring of the error */
};

Test(http, configuration_errors)
{
	static const struct cfg_case cases[] = {
		{ "192.0.2.1:9469", false, -EPERM, "allow_remote" },
		{ "[2001:db8::1]:9469", false, -EPERM, "not a loopback" },
		{ "0.0.0.0:9469", false, -EPERM, "allow_remote" },
		{ "127.0.0.1", false, -EINVAL, "IPV4:PORT" },
		{ "127.0.0.1:", false, -EINVAL, "\"127.0.0.1:\"" },
		{ "127.0.0.1:65536", false, -EINVAL, "65536" },
		{ "127.0.0.1:-1", false, -EINVAL, "port" },
		{ "localhost:9469", false, -EINVAL, "numeric" },
		{ "::1:9469", false, -EINVAL, "[IPV6]" },
		{ "[::1:9469", false, -EINVAL, "[IPV6]" },
		{ "127.0.0.1:80x", false, -EINVAL, "80x" },
	};
	struct metrics_registry *reg = metrics_registry_new("t");
	struct metrics_http *srv = (void *)1;
	uv_loop_t loop;
	char err[256];

	cr_assert_eq(uv_loop_init(&loop), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct metrics_http_config cfg = { cases[i].listen, cases[i].allow_remote };

		err[0] = '\0';
		int ret = metrics_http_start(&loop, reg, &cfg, &srv, err, sizeof(err));

		cr_expect_eq(ret, cases[i].want, "%s: got %d (%s)", cases[i].listen, ret, err);
		cr_expect_null(srv);
		cr_expect_not_null(strstr(err, cases[i].msg), "%s: message \"%s\"", cases[i].listen,
				   err);
	}
	/* Disabled: no listen address, no server, no error. */
	struct metrics_http_config off = { 0 };
	cr_assert_eq(metrics_http_start(&loop, reg, &off, &srv, err, sizeof(err)), 0);
	cr_assert_null(srv);
	cr_assert_eq(uv_loop_close(&loop), 0);
	metrics_registry_free(reg);

	struct sockaddr_storage ss;
	socklen_t len;
	cr_assert_eq(metrics_http_parse_listen("[::ffff:127.0.0.9]:1", &ss, &len, NULL, 0), 0);
	cr_assert(metrics_http_addr_is_loopback((struct sockaddr *)&ss));
	cr_assert_eq(metrics_http_parse_listen("127.255.0.1:1", &ss, &len, NULL, 0), 0);
	cr_assert(metrics_http_addr_is_loopback((struct sockaddr *)&ss));
	cr_assert_eq(metrics_http_parse_listen("128.0.0.1:1", &ss, &len, NULL, 0), 0);
	cr_assert(!metrics_http_addr_is_loopback((struct sockaddr *)&ss));
}

Test(http, port_in_use_is_reported)
{
	struct fixture fx;
	struct metrics_registry *reg = metrics_registry_new("t");
	struct metrics_http *srv;
	char listen[64], err[256] = "";
	uv_loop_t loop;

	fixture_start(&fx, &loopback);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", fx.port);
	struct metrics_http_config cfg = { .listen = listen };

	cr_assert_eq(uv_loop_init(&loop), 0);
	cr_assert_eq(metrics_http_start(&loop, reg, &cfg, &srv, err, sizeof(err)), -EADDRINUSE,
		     "%s", err);
	cr_assert_not_null(strstr(err, listen));
	cr_assert_eq(uv_loop_close(&loop), 0);
	metrics_registry_free(reg);
	fixture_stop(&fx);
}

static void on_closed_flag(void *arg)
{
	*(bool *)arg = true;
}

Test(http, ipv6_loopback)
{
	struct metrics_http_config cfg = { .listen = "[::1]:0" };
	struct metrics_registry *reg = metrics_registry_new("t");
	struct metrics_http *srv = NULL;
	char err[256] = "";
	uv_loop_t loop;
	int ret;

	cr_assert_eq(uv_loop_init(&loop), 0);
	ret = metrics_http_start(&loop, reg, &cfg, &srv, err, sizeof(err));
	if (ret == -EADDRNOTAVAIL || ret == -EAFNOSUPPORT) {
		uv_loop_close(&loop);
		cr_skip_test("no IPv6 loopback here: %s", err);
	}
	cr_assert_eq(ret, 0, "%s", err);
	cr_assert_neq(metrics_http_port(srv), 0);
	bool closed = false;

	metrics_http_close(srv, on_closed_flag, &closed);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert(closed);
	cr_assert_eq(uv_loop_close(&loop), 0);
	metrics_registry_free(reg);
}
