// SPDX-License-Identifier: GPL-2.0
/*
 * The measuring instruments of the fabric suite (traffic.h), checked
 * against known impairments before they are trusted with the product:
 *
 *   [a] va 203.0.113.1/24 ---- vb 203.0.113.2/24 [b]
 *
 * A clean stream loses nothing; a link held down for a known time loses
 * that much traffic and shows that gap; a broadcast tapped on the receiving
 * device is counted once per frame, and a frame sent twice is a duplicate.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netns.h"
#include "traffic.h"

static void setup(void)
{
	cr_assert_eq(xt_init(), 0);
	cr_assert_eq(xt_ns_create("a"), 0);
	cr_assert_eq(xt_ns_create("b"), 0);
	cr_assert_eq(xt_veth("a", "va", "b", "vb"), 0);
	cr_assert_eq(xt_addr_add("a", "va", "203.0.113.1/24"), 0);
	cr_assert_eq(xt_addr_add("b", "vb", "203.0.113.2/24"), 0);
	cr_assert_eq(xt_link_up("a", "va"), 0);
	cr_assert_eq(xt_link_up("b", "vb"), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(xt_sysctl(i ? "b" : "a", "net/ipv6/conf/all/disable_ipv6", "1"), 0);
	cr_assert_eq(xt_ip("a", "neigh replace 203.0.113.2 lladdr 02:00:00:00:00:02 dev va "
			   "nud permanent"), 0);
	cr_assert_eq(xt_link_mac("b", "vb", "02:00:00:00:00:02"), 0);
}

static void teardown(void)
{
	xt_cleanup();
}

TestSuite(netns_fabric_traffic, .init = setup, .fini = teardown, .timeout = 60);

static struct tr_stream *start(unsigned int rate, uint64_t count, bool bcast)
{
	struct tr_opts o = {
		.src_ns = "a", .src_ip = "203.0.113.1", .dst_ns = "b",
		.dst_ip = bcast ? "203.0.113.255" : "203.0.113.2",
		.bind_ip = bcast ? "0.0.0.0" : NULL, .broadcast = bcast,
		.flows = 16, .rate_pps = rate, .count = count, .max_seconds = 10,
	};
	struct tr_stream *s;

	cr_assert_eq(tr_start(&s, &o), 0);
	return s;
}

Test(netns_fabric_traffic, clean_stream_is_exact)
{
	struct tr_stats st;
	struct tr_stream *s = start(10000, 10000, false);
	uint64_t t0 = xt_now_ms();

	while (!tr_done(s))
		xt_sleep_ms(10);
	uint64_t took = xt_now_ms() - t0;

	tr_stop(s, 200, &st);
	tr_print("clean", &st);
	cr_expect_eq(st.sent, 10000);
	cr_expect_eq(st.unique, 10000);
	cr_expect_eq(st.lost, 0);
	cr_expect_eq(st.duplicates, 0);
	cr_expect_eq(st.max_gap_ms, 0);
	/* constant rate: 10000 datagrams at 10 kpps take about a second */
	cr_expect(took >= 900 && took <= 2000, "paced at the configured rate (%llu ms)",
		  (unsigned long long)took);
}

Test(netns_fabric_traffic, outage_is_measured)
{
	struct tr_stats st;
	struct tr_stream *s = start(10000, 0, false);

	xt_sleep_ms(500);
	cr_assert_eq(xt_link_down("b", "vb"), 0);
	xt_sleep_ms(200);
	cr_assert_eq(xt_link_up("b", "vb"), 0);
	xt_sleep_ms(500);
	tr_stop(s, 200, &st);
	tr_print("200 ms outage", &st);
	cr_expect_eq(st.send_errors, 0);
	/* ~200 ms at 10 kpps; scheduling on a busy machine widens it a bit */
	cr_expect(st.lost_ms >= 150 && st.lost_ms <= 400, "lost %.1f ms worth", st.lost_ms);
	cr_expect(st.max_gap_ms >= 150 && st.max_gap_ms <= 400, "gap %.1f ms", st.max_gap_ms);
	cr_expect_eq(st.flows_with_loss, 16);
	cr_expect_eq(st.duplicates, 0);
}

Test(netns_fabric_traffic, tap_counts_once_and_sees_duplicates)
{
	struct tr_tap_dev dev = { "b", "vb" };
	struct tr_tap_stats ts;
	struct tr_stats st;
	struct tr_tap *t;
	struct tr_stream *s;

	cr_assert_eq(tr_tap_open(&t, &dev, 1, 9000), 0);
	s = start(2000, 500, true);
	while (!tr_done(s))
		xt_sleep_ms(10);
	tr_stop(s, 200, &st);
	tr_print("broadcast", &st);
	cr_expect_eq(st.unique, 500, "the broadcast reaches the socket");

	/* one of those frames again, byte for byte, from a packet socket */
	int fd = xt_ns_socket("a", AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	struct __attribute__((packed)) {
		struct ethhdr eth;
		uint8_t ip[20], udp[8], payload[64];
	} f = { 0 };
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = ETH_ALEN,
				  .sll_ifindex = xt_ifindex("a", "va") };
	uint32_t magic = htonl(TR_MAGIC);
	uint64_t seq = 7;

	cr_assert_geq(fd, 0);
	memset(f.eth.h_dest, 0xff, ETH_ALEN);
	f.eth.h_proto = htons(ETH_P_IP);
	f.ip[0] = 0x45;
	f.ip[9] = IPPROTO_UDP;
	f.udp[2] = 9000 >> 8;
	f.udp[3] = 9000 & 0xff;
	memcpy(f.payload, &magic, 4);
	memcpy(f.payload + 8, &seq, 8);
	cr_assert_eq(sendto(fd, &f, sizeof(f), 0, (struct sockaddr *)&to, sizeof(to)),
		     (ssize_t)sizeof(f));
	close(fd);

	tr_tap_close(t, 200, &ts);
	printf("  tap: %llu frames, %llu unique, %llu duplicate\n",
	       (unsigned long long)ts.frames, (unsigned long long)ts.unique,
	       (unsigned long long)ts.dup_frames);
	cr_expect_eq(ts.unique, 500);
	cr_expect_eq(ts.frames, 501);
	cr_expect_eq(ts.dup_frames, 1, "the replayed frame is a duplicate");
}
