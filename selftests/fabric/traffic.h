/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test traffic for the fabric: plain UDP sockets created inside the host
 * namespaces, driven by threads of the calling process.
 *
 * A stream is `flows` UDP flows (distinct source ports) from one namespace
 * to an address in another, sent round-robin at a constant aggregate rate.
 * Every datagram carries a global sequence number and its send time, so the
 * receiver counts exactly what was lost or duplicated, and where:
 *   lost_ms        lost datagrams / aggregate rate, in ms ("ms worth of
 *                  packets")
 *   max_gap_ms     the longest time one flow went without delivery across a
 *                  loss (send time of the first datagram after the gap minus
 *                  the last one before it, minus one packet interval)
 * Sockets have 8 MB receive buffers and report their own overflow drops
 * (SO_RXQ_OVFL), so host-side drops are never mistaken for network loss.
 *
 * Every socket is created by the calling thread (namespace switches are not
 * thread-safe); the threads only send and receive.
 */
#ifndef XEVPN_SELFTESTS_TRAFFIC_H
#define XEVPN_SELFTESTS_TRAFFIC_H

#include <stdbool.h>
#include <stdint.h>

#define TR_MAX_FLOWS 256
#define TR_MAGIC     0x78657670u   /* "xevp" */

struct tr_opts {
	const char *src_ns, *src_ip;
	const char *dst_ns, *dst_ip;   /* dst_ip may be a broadcast address */
	const char *bind_ip;           /* receiver bind address (default dst_ip) */
	int flows;                     /* default 64 */
	unsigned int rate_pps;         /* aggregate; default 10000 */
	uint16_t dst_port;             /* default 9000 */
	uint16_t src_port_base;        /* default 40000 */
	unsigned int max_seconds;      /* capacity of the loss record; default 60 */
	uint64_t count;                /* stop sending after this many (0 = until stopped) */
	bool broadcast;                /* SO_BROADCAST on the senders */
};

struct tr_stats {
	uint64_t sent, send_errors, received, unique, duplicates, lost, rcvbuf_drops;
	uint64_t foreign;              /* datagrams not from this stream */
	double rate_pps;               /* configured rate */
	double lost_ms;                /* lost / rate */
	double max_gap_ms;
	int flows_with_loss;
	double first_loss_ms, last_loss_ms;  /* send time of the first/last lost datagram, from the start */
};

struct tr_stream;

int tr_start(struct tr_stream **s, const struct tr_opts *o);
/* Live counters while running (sent, received, duplicates; lost so far =
 * sent - unique, which counts in-flight datagrams too). */
void tr_peek(struct tr_stream *s, uint64_t *sent, uint64_t *unique, uint64_t *dups);
/* True once `count` datagrams were sent. */
bool tr_done(struct tr_stream *s);
/* Stop sending, keep receiving for `drain_ms` (in-flight datagrams), then
 * compute the statistics and free everything. */
void tr_stop(struct tr_stream *s, unsigned int drain_ms, struct tr_stats *st);
void tr_print(const char *name, const struct tr_stats *st);

/*
 * Frame counter on one or more devices (AF_PACKET, inbound frames only):
 * counts the frames carrying a datagram of any stream to `dst_port`, per
 * sequence number over all devices together, so a datagram delivered
 * twice — on one device or on two — is a duplicate.
 */
#define TR_TAP_MAX_DEVS 4
struct tr_tap_dev {
	const char *ns, *ifname;
};
struct tr_tap_stats {
	uint64_t frames, unique, dup_frames;
	uint64_t per_dev[TR_TAP_MAX_DEVS];
};
struct tr_tap;
int tr_tap_open(struct tr_tap **t, const struct tr_tap_dev *devs, int n, uint16_t dst_port);
void tr_tap_close(struct tr_tap *t, unsigned int drain_ms, struct tr_tap_stats *st);

#endif
