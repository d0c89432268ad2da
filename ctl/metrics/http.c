// SPDX-License-Identifier: GPL-2.0
/*
 * /metrics over HTTP: libmicrohttpd in external-epoll mode on a libuv loop.
 *
 * MHD keeps the listen socket and every connection in its own epoll fd. That
 * fd is readable whenever any of them is ready, so one uv_poll on it wakes the
 * loop for all HTTP work; after each MHD_run() a uv_timer is armed from
 * MHD_get_timeout() for idle-connection timeouts and for data MHD has already
 * read but not processed (edge-triggered sockets it must revisit).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics/http.h"

#define HTTP_DEFAULT_MAX_CONN	16
#define HTTP_DEFAULT_TIMEOUT_S	10
#define HTTP_LISTEN_BACKLOG	16

struct metrics_http {
	uv_poll_t poll;			/* on MHD's epoll fd */
	uv_timer_t timer;		/* MHD_get_timeout() */
	struct MHD_Daemon *mhd;
	struct metrics_registry *reg;
	struct metrics_http_stats stats;
	uint16_t port;
	int open_handles;		/* closed when it drops to 0 */
	bool closing;
	metrics_http_closed_fn done;
	void *done_arg;
};

static void errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- address ---------------------------------------------------------- */

int metrics_http_parse_listen(const char *listen, struct sockaddr_storage *ss,
			      socklen_t *sslen, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *port_s, *h;
	size_t hlen;
	unsigned long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (!listen || !*listen)
		goto bad;
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');

		if (!close || close[1] != ':')
			goto bad;
		h = listen + 1;
		hlen = (size_t)(close - h);
		port_s = close + 2;
	} else {
		colon = strrchr(listen, ':');
		if (!colon || memchr(listen, ':', (size_t)(colon - listen)))
			goto bad;	/* bare IPv6 needs brackets */
		h = listen;
		hlen = (size_t)(colon - listen);
		port_s = colon + 1;
	}
	if (!hlen || hlen >= sizeof(host) || !*port_s || *port_s < '0' || *port_s > '9')
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (errno || *end || port > 65535)
		goto bad;

	if (listen[0] != '[') {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			goto bad;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			goto bad;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*sin6);
	}
	return 0;
bad:
	errf(err, errlen, "metrics listen address \"%s\": expected IPV4:PORT or [IPV6]:PORT "
	     "with a numeric address and a port 0-65535", listen ? listen : "");
	return -EINVAL;
}

bool metrics_http_addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

/* ---- requests --------------------------------------------------------- */

static enum MHD_Result reply_static(struct MHD_Connection *conn, unsigned int code,
				    const char *body, const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct metrics_http *srv = cls;
	struct MHD_Response *resp;
	unsigned int cerr = 0;
	enum MHD_Result ret;
	size_t len;
	char *body;

	if (strcmp(url, METRICS_HTTP_PATH)) {
		srv->stats.not_found++;
		return reply_static(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n", NULL);
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		srv->stats.bad_method++;
		return reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
				    "GET, HEAD");
	}

	body = metrics_render(srv->reg, &len, &cerr);
	srv->stats.collect_errors += cerr;
	if (!body) {
		srv->stats.errors++;
		return reply_static(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
	}
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	if (ret == MHD_YES)
		srv->stats.scrapes++;
	return ret;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	fprintf(stderr, "metrics http: ");
	vfprintf(stderr, fmt, ap);
}

/* ---- loop integration ------------------------------------------------- */

static void on_timer(uv_timer_t *t);
static void on_handle_closed(uv_handle_t *h);

/* Let MHD do its work, then re-arm the timer from what it still needs. */
static void drive(struct metrics_http *srv)
{
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(srv->mhd);
	if (srv->closing)
		return;	/* closed from inside a collector */
	if (MHD_get_timeout(srv->mhd, &ms) == MHD_YES)
		uv_timer_start(&srv->timer, on_timer, (uint64_t)ms, 0);
	else
		uv_timer_stop(&srv->timer);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	/* An error on the epoll fd itself is not expected; MHD_run copes. */
	drive(p->data);
}

static void on_timer(uv_timer_t *t)
{
	drive(t->data);
}

static int bind_listen(const struct sockaddr_storage *ss, socklen_t sslen, char *err,
		       size_t errlen, const char *what)
{
	int one = 1, fd, ret;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		errf(err, errlen, "metrics listen %s: socket: %s", what, strerror(errno));
		return ret;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, sslen) < 0 ||
	    listen(fd, HTTP_LISTEN_BACKLOG) < 0) {
		ret = -errno;
		errf(err, errlen, "metrics listen %s: %s", what, strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

int metrics_http_start(uv_loop_t *loop, struct metrics_registry *reg,
		       const struct metrics_http_config *cfg,
		       struct metrics_http **out, char *err, size_t errlen)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage ss;
	struct metrics_http *srv;
	socklen_t sslen;
	int fd, mhd_fd, ret;
	unsigned int flags;

	*out = NULL;
	if (!cfg || !cfg->listen || !*cfg->listen)
		return 0;	/* disabled */
	if (!loop || !reg) {
		errf(err, errlen, "metrics http: no loop or registry");
		return -EINVAL;
	}
	ret = metrics_http_parse_listen(cfg->listen, &ss, &sslen, err, errlen);
	if (ret < 0)
		return ret;
	if (!cfg->allow_remote && !metrics_http_addr_is_loopback((struct sockaddr *)&ss)) {
		errf(err, errlen, "metrics listen %s: not a loopback address; set allow_remote "
		     "to expose metrics beyond this host", cfg->listen);
		return -EPERM;
	}

	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		errf(err, errlen, "metrics http: out of memory");
		return -ENOMEM;
	}
	srv->reg = reg;

	fd = bind_listen(&ss, sslen, err, errlen, cfg->listen);
	if (fd < 0) {
		free(srv);
		return fd;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		srv->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					 : ((struct sockaddr_in6 *)&ss)->sin6_port);

	/*
	 * MHD closes the listen socket it is given when it stops; whether it
	 * does so when it fails to start is version dependent, so it gets a
	 * duplicate and this function always closes its own copy.
	 */
	mhd_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	close(fd);
	if (mhd_fd < 0) {
		ret = -errno;
		errf(err, errlen, "metrics listen %s: %s", cfg->listen, strerror(errno));
		free(srv);
		return ret;
	}
	flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_SUPPRESS_DATE_NO_CLOCK;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)mhd_fd,
		MHD_OPTION_CONNECTION_LIMIT,
		cfg->max_connections ? cfg->max_connections : HTTP_DEFAULT_MAX_CONN,
		MHD_OPTION_CONNECTION_TIMEOUT,
		cfg->timeout_s ? cfg->timeout_s : HTTP_DEFAULT_TIMEOUT_S,
		MHD_OPTION_END);
	if (!srv->mhd) {
		errf(err, errlen, "metrics listen %s: libmicrohttpd failed to start", cfg->listen);
		free(srv);
		return -EIO;
	}
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		errf(err, errlen, "metrics listen %s: libmicrohttpd has no epoll fd", cfg->listen);
		MHD_stop_daemon(srv->mhd);
		free(srv);
		return -EIO;
	}

	uv_timer_init(loop, &srv->timer);
	srv->timer.data = srv;
	ret = uv_poll_init(loop, &srv->poll, info->epoll_fd);
	if (ret < 0) {
		errf(err, errlen, "metrics listen %s: uv_poll_init: %s", cfg->listen,
		     uv_strerror(ret));
		/* The timer is a loop handle already: its close callback frees srv. */
		srv->open_handles = 1;
		srv->closing = true;
		uv_close((uv_handle_t *)&srv->timer, on_handle_closed);
		return ret;
	}
	srv->poll.data = srv;
	srv->open_handles = 2;
	uv_poll_start(&srv->poll, UV_READABLE, on_poll);
	drive(srv);
	*out = srv;
	return 0;
}

uint16_t metrics_http_port(const struct metrics_http *srv)
{
	return srv ? srv->port : 0;
}

void metrics_http_get_stats(const struct metrics_http *srv, struct metrics_http_stats *st)
{
	if (srv)
		*st = srv->stats;
	else
		memset(st, 0, sizeof(*st));
}

/* ---- shutdown --------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h)
{
	struct metrics_http *srv = h->data;

	if (--srv->open_handles > 0)
		return;
	/* libuv no longer watches the epoll fd: MHD may close it now. */
	MHD_stop_daemon(srv->mhd);
	if (srv->done)
		srv->done(srv->done_arg);
	free(srv);
}

void metrics_http_close(struct metrics_http *srv, metrics_http_closed_fn done, void *arg)
{
	if (!srv) {
		if (done)
			done(arg);
		return;
	}
	if (srv->closing)
		return;
	srv->closing = true;
	srv->done = done;
	srv->done_arg = arg;
	uv_close((uv_handle_t *)&srv->timer, on_handle_closed);
	uv_close((uv_handle_t *)&srv->poll, on_handle_closed);
}
