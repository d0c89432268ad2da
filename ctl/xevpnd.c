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
#include "evpn.h"
#include "fib.h"
#include "log.h"
#include "state_json.h"

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

struct xd {
	uv_loop_t *loop;
	struct xcfg *cfg;
	struct evpn *e;
	struct fib_mem *fm;	/* dry-run map writer */
	struct tick_src *tick;
	struct sig_src *sig_hup, *sig_term, *sig_int;
	struct cli_src *cli;
	struct nl_src *nl;
	bool uplink_up[4];
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
	rc = evpn_apply_config(d->e, n, err);
	if (rc < 0) {
		log_msg(LOG_ERR, "reload: %s (keeping the running configuration)", err);
		xcfg_free(n);
		free(n);
		return;
	}
	log_msg(LOG_INFO, "reload: %s: %d change(s) applied", n->path, rc);
	xcfg_free(d->cfg);
	free(d->cfg);
	d->cfg = n;
	xd_reschedule(d);
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
	conn_reply(c, evpn_json_command(c->d->e, c->buf));
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
	else
		evpn_link_event(d->e, ifname, ifindex, up);
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
	d->tick = NULL;
	d->sig_hup = d->sig_term = d->sig_int = NULL;
	d->cli = NULL;
	d->nl = NULL;
	/* remaining client connections close themselves after their reply */
	uv_stop(d->loop);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xevpnd [-c FILE] [--check] [--dry-run] [--flush] [-v]\n"
		   "  -c, --config FILE  configuration (default " XCFG_DEFAULT_PATH ")\n"
		   "      --check        validate the configuration and exit\n"
		   "      --dry-run      keep the dataplane image in memory only (no BPF)\n"
		   "      --flush        remove the pinned dataplane of this instance and exit\n"
		   "  -v, --verbose      debug logging\n");
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
	int c;

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
	if (check) {
		printf("%s: ok (%u bridge domains, %u Ethernet segments)\n", path, d.cfg->n_bds, d.cfg->n_es);
		xcfg_free(d.cfg);
		free(d.cfg);
		return 0;
	}
	if (flush || !dry) {
		fprintf(stderr, "xevpnd: the BPF dataplane is not wired into this build yet; "
				"run with --dry-run\n");
		xcfg_free(d.cfg);
		free(d.cfg);
		return 1;
	}

	d.loop = uv_default_loop();
	d.fm = fib_mem_new();
	d.e = evpn_new(d.cfg, fib_mem_fib(d.fm), (struct route_out){ 0 }, now_ms());
	if (!d.e || !d.fm) {
		log_msg(LOG_ERR, "out of memory");
		return 1;
	}
	d.tick = calloc(1, sizeof(*d.tick));
	d.tick->d = &d;
	uv_timer_init(d.loop, &d.tick->h);
	d.tick->h.data = d.tick;
	d.sig_hup = sig_new(&d, SIGHUP);
	d.sig_term = sig_new(&d, SIGTERM);
	d.sig_int = sig_new(&d, SIGINT);
	/* read everything first (adoption), then start writing */
	d.nl = nl_new(&d);
	evpn_start(d.e, now_ms());
	d.cli = cli_new(&d, d.cfg->cli_socket);
	if (!d.cli) {
		xd_stop(&d);
		uv_run(d.loop, UV_RUN_DEFAULT);
		return 1;
	}
	log_msg(LOG_INFO, "started: %s: %u bd, %u es, cli %s", path, d.cfg->n_bds, d.cfg->n_es,
		d.cfg->cli_socket);
	xd_reschedule(&d);
	uv_run(d.loop, UV_RUN_DEFAULT);
	uv_run(d.loop, UV_RUN_DEFAULT);	/* let close callbacks run */
	evpn_free(d.e);
	fib_mem_free(d.fm);
	xcfg_free(d.cfg);
	free(d.cfg);
	uv_loop_close(d.loop);
	return 0;
}
