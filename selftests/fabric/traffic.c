// SPDX-License-Identifier: GPL-2.0
/* UDP test streams with sequence numbers, and frame taps; see traffic.h. */
#include "traffic.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netns.h"

#define tr_err(fmt, ...) fprintf(stderr, "traffic: " fmt "\n", ##__VA_ARGS__)

/* Payload of every datagram; the rest up to TR_PAYLOAD is zero. */
struct tr_hdr {
	uint32_t magic;
	uint32_t flow;
	uint64_t seq;
	uint64_t tx_ns;
} __attribute__((packed));
#define TR_PAYLOAD 64
#define TR_BATCH   64

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct tr_stream {
	struct tr_opts o;
	int tx_fd[TR_MAX_FLOWS];
	int rx_fd;
	struct sockaddr_in to;
	uint64_t cap;            /* entries of tx_ns[] / rx_cnt[] */
	uint64_t *tx_ns;         /* send time of seq i, 0 = not sent */
	uint8_t *rx_cnt;         /* copies received of seq i (saturating) */
	pthread_t tx_thr, rx_thr;
	bool tx_started, rx_started;
	volatile int stop_tx, stop_rx;
	uint64_t sent, send_errors, received, dups, foreign, unique;  /* atomics */
	uint32_t rcvbuf_drops;
};

static void *tx_main(void *arg)
{
	struct tr_stream *s = arg;
	uint8_t buf[TR_PAYLOAD] = { 0 };
	struct tr_hdr *h = (struct tr_hdr *)buf;
	uint64_t t0 = mono_ns(), seq = 0;
	uint64_t limit = s->o.count && s->o.count < s->cap ? s->o.count : s->cap;

	h->magic = htonl(TR_MAGIC);
	while (!s->stop_tx && seq < limit) {
		uint64_t now = mono_ns();
		uint64_t due = (now - t0) * s->o.rate_pps / 1000000000ull + 1;
		int burst = 0;

		if (due > limit)
			due = limit;
		/* a starved thread catches up, but in bounded bursts */
		while (seq < due && burst++ < 256) {
			int flow = (int)(seq % (uint64_t)s->o.flows);
			uint64_t ts = mono_ns();

			h->flow = htonl((uint32_t)flow);
			h->seq = seq;
			h->tx_ns = ts;
			if (sendto(s->tx_fd[flow], buf, sizeof(buf), MSG_DONTWAIT,
				   (struct sockaddr *)&s->to, sizeof(s->to)) == sizeof(buf)) {
				s->tx_ns[seq] = ts;
				__atomic_add_fetch(&s->sent, 1, __ATOMIC_RELAXED);
			} else {
				__atomic_add_fetch(&s->send_errors, 1, __ATOMIC_RELAXED);
			}
			seq++;
		}
		struct timespec next = { 0, 0 };
		uint64_t at = t0 + (seq + 1) * 1000000000ull / s->o.rate_pps;
		uint64_t min = mono_ns() + 500000;   /* wake at most every 0.5 ms */

		if (at < min)
			at = min;
		next.tv_sec = (time_t)(at / 1000000000ull);
		next.tv_nsec = (long)(at % 1000000000ull);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	return NULL;
}

static void account(struct tr_stream *s, const uint8_t *p, ssize_t n)
{
	const struct tr_hdr *h = (const struct tr_hdr *)p;

	if (n < (ssize_t)sizeof(*h) || ntohl(h->magic) != TR_MAGIC || h->seq >= s->cap) {
		__atomic_add_fetch(&s->foreign, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_add_fetch(&s->received, 1, __ATOMIC_RELAXED);
	if (s->rx_cnt[h->seq]) {
		__atomic_add_fetch(&s->dups, 1, __ATOMIC_RELAXED);
	} else {
		__atomic_add_fetch(&s->unique, 1, __ATOMIC_RELAXED);
	}
	if (s->rx_cnt[h->seq] < 255)
		s->rx_cnt[h->seq]++;
}

static void *rx_main(void *arg)
{
	struct tr_stream *s = arg;
	static __thread uint8_t bufs[TR_BATCH][TR_PAYLOAD + 64];
	static __thread char ctl[TR_BATCH][CMSG_SPACE(sizeof(uint32_t))];
	struct mmsghdr msgs[TR_BATCH];
	struct iovec iov[TR_BATCH];

	for (;;) {
		struct pollfd pfd = { .fd = s->rx_fd, .events = POLLIN };
		int n;

		if (s->stop_rx)
			break;
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		for (int i = 0; i < TR_BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
			msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1,
								 .msg_control = ctl[i],
								 .msg_controllen = sizeof(ctl[i]) } };
		}
		n = recvmmsg(s->rx_fd, msgs, TR_BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++) {
			struct msghdr *mh = &msgs[i].msg_hdr;

			for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
				if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
					uint32_t d;

					memcpy(&d, CMSG_DATA(c), sizeof(d));
					if (d > s->rcvbuf_drops)
						s->rcvbuf_drops = d;
				}
			account(s, bufs[i], msgs[i].msg_len);
		}
	}
	return NULL;
}

static int udp_sock(const char *ns, const char *ip, uint16_t port, bool rx, bool bcast)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, big = 8 << 20;
	int fd = xt_ns_socket(ns, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fd;
	if (ip && inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		close(fd);
		return -EINVAL;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (rx) {
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	} else {
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)))
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	}
	if (bcast)
		setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		int err = -errno;

		tr_err("bind %s:%u in %s: %s", ip ? ip : "*", port, ns, strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

static void stream_free(struct tr_stream *s)
{
	for (int i = 0; i < s->o.flows; i++)
		if (s->tx_fd[i] > 0)
			close(s->tx_fd[i]);
	if (s->rx_fd > 0)
		close(s->rx_fd);
	free(s->tx_ns);
	free(s->rx_cnt);
	free(s);
}

int tr_start(struct tr_stream **sp, const struct tr_opts *o)
{
	struct tr_stream *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->o = *o;
	if (!s->o.flows)
		s->o.flows = 64;
	if (!s->o.rate_pps)
		s->o.rate_pps = 10000;
	if (!s->o.dst_port)
		s->o.dst_port = 9000;
	if (!s->o.src_port_base)
		s->o.src_port_base = 40000;
	if (!s->o.max_seconds)
		s->o.max_seconds = 60;
	if (!s->o.bind_ip)
		s->o.bind_ip = s->o.broadcast ? NULL : s->o.dst_ip;
	if (s->o.flows < 1 || s->o.flows > TR_MAX_FLOWS) {
		free(s);
		return -EINVAL;
	}
	s->cap = (uint64_t)s->o.rate_pps * s->o.max_seconds;
	if (s->o.count && s->o.count < s->cap)
		s->cap = s->o.count;
	s->tx_ns = calloc(s->cap, sizeof(*s->tx_ns));
	s->rx_cnt = calloc(s->cap, 1);
	if (!s->tx_ns || !s->rx_cnt) {
		stream_free(s);
		return -ENOMEM;
	}
	s->to = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(s->o.dst_port) };
	inet_pton(AF_INET, s->o.dst_ip, &s->to.sin_addr);

	s->rx_fd = udp_sock(s->o.dst_ns, s->o.bind_ip, s->o.dst_port, true, false);
	if (s->rx_fd < 0) {
		err = s->rx_fd;
		s->rx_fd = 0;
		stream_free(s);
		return err;
	}
	for (int i = 0; i < s->o.flows; i++) {
		s->tx_fd[i] = udp_sock(s->o.src_ns, s->o.src_ip,
				       (uint16_t)(s->o.src_port_base + i), false, s->o.broadcast);
		if (s->tx_fd[i] < 0) {
			err = s->tx_fd[i];
			s->tx_fd[i] = 0;
			stream_free(s);
			return err;
		}
	}
	if ((err = -pthread_create(&s->rx_thr, NULL, rx_main, s))) {
		stream_free(s);
		return err;
	}
	s->rx_started = true;
	if ((err = -pthread_create(&s->tx_thr, NULL, tx_main, s))) {
		s->stop_rx = 1;
		pthread_join(s->rx_thr, NULL);
		stream_free(s);
		return err;
	}
	s->tx_started = true;
	*sp = s;
	return 0;
}

void tr_peek(struct tr_stream *s, uint64_t *sent, uint64_t *unique, uint64_t *dups)
{
	if (sent)
		*sent = __atomic_load_n(&s->sent, __ATOMIC_RELAXED);
	if (unique)
		*unique = __atomic_load_n(&s->unique, __ATOMIC_RELAXED);
	if (dups)
		*dups = __atomic_load_n(&s->dups, __ATOMIC_RELAXED);
}

bool tr_done(struct tr_stream *s)
{
	uint64_t n = __atomic_load_n(&s->sent, __ATOMIC_RELAXED) +
		     __atomic_load_n(&s->send_errors, __ATOMIC_RELAXED);

	return n >= s->cap;
}

static void compute(struct tr_stream *s, struct tr_stats *st)
{
	uint64_t flows = (uint64_t)s->o.flows;
	double per_flow_ns = 1e9 * (double)flows / (double)s->o.rate_pps;
	uint64_t last_sent = 0;

	memset(st, 0, sizeof(*st));
	st->rate_pps = s->o.rate_pps;
	st->send_errors = s->send_errors;
	st->received = s->received;
	st->duplicates = s->dups;
	st->foreign = s->foreign;
	st->rcvbuf_drops = s->rcvbuf_drops;
	uint64_t first_tx = 0, first_loss = 0, last_loss = 0;

	for (uint64_t i = 0; i < s->cap; i++)
		if (s->tx_ns[i]) {
			st->sent++;
			last_sent = s->tx_ns[i];
			if (!first_tx)
				first_tx = last_sent;
			if (s->rx_cnt[i]) {
				st->unique++;
			} else {
				if (!first_loss)
					first_loss = last_sent;
				last_loss = last_sent;
			}
		}
	if (first_loss) {
		st->first_loss_ms = (double)(first_loss - first_tx) / 1e6;
		st->last_loss_ms = (double)(last_loss - first_tx) / 1e6;
	}
	st->lost = st->sent - st->unique;
	st->lost_ms = 1000.0 * (double)st->lost / (double)s->o.rate_pps;
	for (uint64_t f = 0; f < flows; f++) {
		uint64_t last_rx = 0;
		bool gap = false, any = false;

		for (uint64_t i = f; i < s->cap; i += flows) {
			if (!s->tx_ns[i])
				continue;
			if (s->rx_cnt[i]) {
				if (gap && last_rx) {
					double g = (double)(s->tx_ns[i] - last_rx) - per_flow_ns;

					if (g / 1e6 > st->max_gap_ms)
						st->max_gap_ms = g / 1e6;
				}
				last_rx = s->tx_ns[i];
				gap = false;
			} else {
				gap = true;
				any = true;
			}
		}
		/* never recovered: the window runs to the end of the stream */
		if (gap && last_rx && last_sent > last_rx) {
			double g = (double)(last_sent - last_rx);

			if (g / 1e6 > st->max_gap_ms)
				st->max_gap_ms = g / 1e6;
		}
		st->flows_with_loss += any;
	}
}

void tr_stop(struct tr_stream *s, unsigned int drain_ms, struct tr_stats *st)
{
	s->stop_tx = 1;
	if (s->tx_started)
		pthread_join(s->tx_thr, NULL);
	xt_sleep_ms(drain_ms);
	s->stop_rx = 1;
	if (s->rx_started)
		pthread_join(s->rx_thr, NULL);
	if (st)
		compute(s, st);
	stream_free(s);
}

void tr_print(const char *name, const struct tr_stats *st)
{
	printf("  %-28s sent %llu recv %llu lost %llu (%.2f ms at %.0f pps, max gap %.2f ms, "
	       "%d flows hit, at %.0f..%.0f ms) dup %llu rcvbuf-drop %llu send-err %llu\n",
	       name, (unsigned long long)st->sent, (unsigned long long)st->unique,
	       (unsigned long long)st->lost, st->lost_ms, st->rate_pps, st->max_gap_ms,
	       st->flows_with_loss, st->first_loss_ms, st->last_loss_ms,
	       (unsigned long long)st->duplicates,
	       (unsigned long long)st->rcvbuf_drops, (unsigned long long)st->send_errors);
	fflush(stdout);
}

/* ---------- taps ---------- */

#define TAP_SEQ_MAX (1u << 20)

struct tr_tap {
	int n;
	int fd[TR_TAP_MAX_DEVS];
	uint16_t port;
	uint8_t *cnt;            /* frames seen per seq, over all devices */
	uint64_t per_dev[TR_TAP_MAX_DEVS];
	pthread_t thr;
	volatile int stop;
};

static void tap_account(struct tr_tap *t, int dev, const uint8_t *p, ssize_t n)
{
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	struct tr_hdr h;
	size_t off;

	/* headers copied out: after 14 bytes of Ethernet nothing is aligned */
	if (n < (ssize_t)(sizeof(eth) + sizeof(ip)))
		return;
	memcpy(&eth, p, sizeof(eth));
	memcpy(&ip, p + sizeof(eth), sizeof(ip));
	if (eth.h_proto != htons(ETH_P_IP) || ip.protocol != IPPROTO_UDP || ip.ihl < 5)
		return;
	off = sizeof(eth) + (size_t)ip.ihl * 4;
	if ((size_t)n < off + sizeof(udp) + sizeof(h))
		return;
	memcpy(&udp, p + off, sizeof(udp));
	memcpy(&h, p + off + sizeof(udp), sizeof(h));
	if (udp.dest != htons(t->port) || ntohl(h.magic) != TR_MAGIC || h.seq >= TAP_SEQ_MAX)
		return;
	t->per_dev[dev]++;
	if (t->cnt[h.seq] < 255)
		t->cnt[h.seq]++;
}

static void *tap_main(void *arg)
{
	struct tr_tap *t = arg;
	uint8_t buf[2048];

	while (!t->stop) {
		struct pollfd pfd[TR_TAP_MAX_DEVS];

		for (int i = 0; i < t->n; i++)
			pfd[i] = (struct pollfd){ .fd = t->fd[i], .events = POLLIN };
		if (poll(pfd, (nfds_t)t->n, 20) <= 0)
			continue;
		for (int i = 0; i < t->n; i++) {
			struct sockaddr_ll from;
			socklen_t fl = sizeof(from);
			ssize_t r;

			if (!(pfd[i].revents & POLLIN))
				continue;
			while ((r = recvfrom(t->fd[i], buf, sizeof(buf), MSG_DONTWAIT,
					     (struct sockaddr *)&from, &fl)) > 0) {
				if (from.sll_pkttype != PACKET_OUTGOING)
					tap_account(t, i, buf, r);
				fl = sizeof(from);
			}
		}
	}
	return NULL;
}

int tr_tap_open(struct tr_tap **tp, const struct tr_tap_dev *devs, int n, uint16_t dst_port)
{
	struct tr_tap *t;
	int err = 0;

	if (n < 1 || n > TR_TAP_MAX_DEVS)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cnt = calloc(TAP_SEQ_MAX, 1);
	t->port = dst_port;
	if (!t->cnt) {
		free(t);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		int idx = xt_ifindex(devs[i].ns, devs[i].ifname), big = 4 << 20;
		struct sockaddr_ll a = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
		int fd;

		if (idx < 0) {
			err = idx;
			break;
		}
		/* protocol 0 until bound: only this device's frames are queued */
		fd = xt_ns_socket(devs[i].ns, AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = fd;
			break;
		}
		t->fd[t->n++] = fd;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
		a.sll_ifindex = idx;
		if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
			err = -errno;
			tr_err("tap on %s/%s: %s", devs[i].ns, devs[i].ifname, strerror(errno));
			break;
		}
	}
	if (!err)
		err = -pthread_create(&t->thr, NULL, tap_main, t);
	if (err) {
		for (int i = 0; i < t->n; i++)
			close(t->fd[i]);
		free(t->cnt);
		free(t);
		return err;
	}
	*tp = t;
	return 0;
}

void tr_tap_close(struct tr_tap *t, unsigned int drain_ms, struct tr_tap_stats *st)
{
	xt_sleep_ms(drain_ms);
	t->stop = 1;
	pthread_join(t->thr, NULL);
	memset(st, 0, sizeof(*st));
	for (uint32_t i = 0; i < TAP_SEQ_MAX; i++)
		if (t->cnt[i]) {
			st->frames += t->cnt[i];
			st->unique++;
			st->dup_frames += t->cnt[i] - 1u;
		}
	for (int i = 0; i < t->n; i++) {
		st->per_dev[i] = t->per_dev[i];
		close(t->fd[i]);
	}
	free(t->cnt);
	free(t);
}
