// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Heartbeat transport on libuv: one IPv6 link-local multicast UDP socket per
 * group, bound to the group address on the group's interface (so only that
 * link's beats arrive), hop limit 1, no loopback; plus the engine's timer.
 * Each handle lives in its own struct that frees itself in the close callback.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <uv.h>

#include "health/health_priv.h"

#define RX_BUF_LEN	2048	/* > XEVPN_HB_LEN, so an oversized beat is seen as such */

struct health_sock {
	uv_udp_t udp;
	struct health_group *g;		/* NULL once closing */
	char buf[RX_BUF_LEN];
};

struct health_timer {
	uv_timer_t timer;
	struct health_engine *eng;	/* NULL once closing */
};

static void sock_close_cb(uv_handle_t *h)
{
	free(h->data);
}

static void sock_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct health_sock *s = h->data;

	(void)suggested;
	*buf = uv_buf_init(s->buf, sizeof(s->buf));
}

static void sock_recv(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf,
		      const struct sockaddr *addr, unsigned flags)
{
	struct health_sock *s = udp->data;
	struct health_engine *eng;

	if (!s->g || nread < 0 || (nread == 0 && !addr))
		return;
	eng = s->g->eng;
	if (flags & UV_UDP_PARTIAL)
		nread = RX_BUF_LEN + 1;	/* truncated: longer than any beat */
	health_group_input(s->g, buf->base, (size_t)nread,
			   addr && addr->sa_family == AF_INET6 ?
			   (const struct sockaddr_in6 *)addr : NULL);
	health_notify(eng);
}

static int sockopt(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val)) ? -errno : 0;
}

int health_sock_open(struct health_group *g)
{
	struct health_engine *eng = g->eng;
	struct sockaddr_in6 sa = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(g->cfg.port),
		.sin6_addr = g->cfg.maddr,
		.sin6_scope_id = g->ifindex,
	};
	struct ipv6_mreq mreq = {
		.ipv6mr_multiaddr = g->cfg.maddr,
		.ipv6mr_interface = g->ifindex,
	};
	struct health_sock *s;
	char ifname[IF_NAMESIZE] = "?";
	int fd, err;

	if (!eng->loop || !g->ifindex)
		return -EINVAL;
	health_sock_close(g);
	if_indextoname(g->ifindex, ifname);
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* several groups may share an interface: each socket gets a copy */
	if ((err = sockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1)) ||
	    (err = sockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1)) ||
	    (err = sockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, (int)g->ifindex)) ||
	    (err = sockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 1)) ||
	    (err = sockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0)) ||
	    (err = sockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)))
		goto fail;
	/* link-local multicast bind carries the scope: the socket is bound to
	 * the interface and sees only this group address */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mreq, sizeof(mreq))) {
		err = -errno;
		goto fail;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		err = -ENOMEM;
		goto fail;
	}
	s->g = g;
	err = uv_udp_init(eng->loop, &s->udp);
	if (err) {
		free(s);
		goto fail;
	}
	s->udp.data = s;
	err = uv_udp_open(&s->udp, fd);
	if (!err)
		err = uv_udp_recv_start(&s->udp, sock_alloc, sock_recv);
	if (err) {
		/* uv_close closes fd only if uv_udp_open took it; ask before
		 * closing (uv_fileno on a closing handle always fails) */
		bool owned = uv_fileno((uv_handle_t *)&s->udp, &(uv_os_fd_t){0}) == 0;

		s->g = NULL;
		uv_close((uv_handle_t *)&s->udp, sock_close_cb);
		if (!owned)
			close(fd);
		health_logf(eng, LOG_ERR, "%s: heartbeat socket on %s: %s", g->cfg.name,
			    ifname, uv_strerror(err));
		return err;
	}
	g->sock = s;
	g->stats.sock_rebuilds++;
	health_logf(eng, LOG_INFO, "%s: heartbeat socket on %s (ifindex %u)", g->cfg.name,
		    ifname, g->ifindex);
	return 0;
fail:
	close(fd);
	health_logf(eng, LOG_ERR, "%s: heartbeat socket on %s (ifindex %u): %s", g->cfg.name,
		    ifname, g->ifindex, strerror(-err));
	return err;
}

void health_sock_close(struct health_group *g)
{
	struct health_sock *s = g->sock;

	if (!s)
		return;
	g->sock = NULL;
	s->g = NULL;
	uv_close((uv_handle_t *)&s->udp, sock_close_cb);
}

int health_sock_send(struct health_group *g, const void *buf, size_t len)
{
	struct sockaddr_in6 dst = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(g->cfg.port),
		.sin6_addr = g->cfg.maddr,
		.sin6_scope_id = g->ifindex,
	};
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
	int n;

	if (!g->sock)
		return -ENOTCONN;
	n = uv_udp_try_send(&g->sock->udp, &b, 1, (const struct sockaddr *)&dst);
	return n < 0 ? n : 0;
}

/* ---------- timer ---------- */

static void timer_close_cb(uv_handle_t *h)
{
	free(h->data);
}

static void timer_cb(uv_timer_t *t)
{
	struct health_timer *ht = t->data;
	struct health_engine *eng = ht->eng;

	if (!eng)
		return;
	health_engine_tick(eng);	/* rearms */
	health_notify(eng);
}

int health_timer_start(struct health_engine *eng)
{
	struct health_timer *ht = calloc(1, sizeof(*ht));
	int err;

	if (!ht)
		return -ENOMEM;
	err = uv_timer_init(eng->loop, &ht->timer);
	if (err) {
		free(ht);
		return err;
	}
	ht->timer.data = ht;
	ht->eng = eng;
	eng->timer = ht;
	return 0;
}

void health_timer_rearm(struct health_engine *eng)
{
	uint64_t due, now;

	if (!eng->timer)
		return;
	due = health_engine_next_due(eng);
	if (due == UINT64_MAX) {
		uv_timer_stop(&eng->timer->timer);
		return;
	}
	now = health_now(eng);
	uv_timer_start(&eng->timer->timer, timer_cb, due > now ? due - now : 0, 0);
}

void health_timer_close(struct health_engine *eng)
{
	struct health_timer *ht = eng->timer;

	if (!ht)
		return;
	eng->timer = NULL;
	ht->eng = NULL;
	uv_close((uv_handle_t *)&ht->timer, timer_close_cb);
}

void health_notify(struct health_engine *eng)
{
	if (eng->ev_count && eng->cfg.notify)
		eng->cfg.notify(eng, eng->cfg.notify_ctx);
}
