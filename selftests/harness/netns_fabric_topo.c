// SPDX-License-Identifier: GPL-2.0
/*
 * Smoke test of the fabric topology (selftests/lib/fabric.h), before any
 * xevpnd runs on the leaves:
 *
 *                    [rr] 192.0.2.254  gobgpd route reflector
 *                      |
 *   [ul] bridge br0 ---+--- [leaf1] 192.0.2.1  acc0 ---- nic0 \
 *                      +--- [leaf2] 192.0.2.2  acc0 ---- nic1 -+- lag0 [server] 198.51.100.10
 *                      +--- [leaf3] 192.0.2.3  acc0 ---- eth0      [host3]  198.51.100.30
 *
 * Checks: BGP sessions to the RR, route reflection between leaves, the
 * underlay, the LAG spreading 64 UDP flows over both NICs, ingress accepted
 * on both NICs, failover to one NIC, and a teardown that leaves nothing.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "../fabric-lag/lag.h"
#include "fabric.h"

#define FLOWS 64
#define PKTS_PER_FLOW 4
#define SRC_PORT_BASE 40000
#define DST_PORT 9999

static struct xt_fabric fab;

static void setup(void)
{
	cr_assert_eq(xt_init(), 0);
}

static void teardown(void)
{
	xt_fabric_destroy(&fab);
	xt_cleanup();
}

TestSuite(netns_fabric_topo, .init = setup, .fini = teardown, .timeout = 240);

static void build(bool bgp)
{
	struct xt_fabric_opts opts = { .no_bgp = !bgp };

	cr_assert_eq(xt_fabric_create(&fab, &opts), 0, "fabric builds");
}

static int udp_socket(const char *ns, const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1;
	int fd = xt_ns_socket(ns, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fd;
	inet_pton(AF_INET, ip, &a.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* FLOWS flows x PKTS_PER_FLOW datagrams from the server to host3; host3's
 * MAC is static so nothing but these frames leaves lag0. */
static void send_flows(void)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(DST_PORT) };

	inet_pton(AF_INET, fab.host3.ip, &to.sin_addr);
	for (int i = 0; i < FLOWS; i++) {
		int fd = udp_socket(fab.server.ns, fab.server.ip, SRC_PORT_BASE + i);

		cr_assert_geq(fd, 0, "socket for flow %d", i);
		for (int k = 0; k < PKTS_PER_FLOW; k++)
			cr_assert_eq(sendto(fd, "flow", 4, 0, (struct sockaddr *)&to, sizeof(to)), 4);
		close(fd);
	}
}

static void static_neigh_for_host3(void)
{
	cr_assert_eq(xt_ip(fab.server.ns, "neigh replace %s lladdr %s dev %s nud permanent",
			   fab.host3.ip, fab.host3.mac, fab.server.lag), 0);
}

static void lag_counters(uint64_t c[LAG_CNT_MAX])
{
	cr_assert_eq(xt_fabric_lag_counters(&fab, c, LAG_CNT_MAX), 0);
}

static uint64_t nic_tx(int i)
{
	struct xt_link_info li;

	cr_assert_eq(xt_link_info(fab.server.ns, fab.server.nic[i], &li), 0);
	return li.tx_packets;
}

static uint16_t ip_csum(const void *p, size_t len)
{
	const uint16_t *w = p;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *w++;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* One UDP frame to the server, written straight onto a leaf's access port
 * (as the leaf's dataplane would deliver it). */
static void inject_to_server(int leaf, const char *payload)
{
	struct __attribute__((packed)) {
		struct ethhdr eth;
		struct iphdr ip;
		struct udphdr udp;
		char data[8];
	} f = {
		.eth = { .h_proto = htons(ETH_P_IP) },
		.ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP,
			.tot_len = htons(sizeof(struct iphdr) + sizeof(struct udphdr) + 8) },
		.udp = { .source = htons(5000), .dest = htons(DST_PORT),
			 .len = htons(sizeof(struct udphdr) + 8) },
	};
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = ETH_ALEN,
				  .sll_ifindex = fab.leaf[leaf].access_ifindex };
	int fd;

	sscanf(fab.server.mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &f.eth.h_dest[0],
	       &f.eth.h_dest[1], &f.eth.h_dest[2], &f.eth.h_dest[3], &f.eth.h_dest[4],
	       &f.eth.h_dest[5]);
	sscanf(fab.host3.mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &f.eth.h_source[0],
	       &f.eth.h_source[1], &f.eth.h_source[2], &f.eth.h_source[3],
	       &f.eth.h_source[4], &f.eth.h_source[5]);
	inet_pton(AF_INET, fab.host3.ip, &f.ip.saddr);
	inet_pton(AF_INET, fab.server.ip, &f.ip.daddr);
	f.ip.check = ip_csum(&f.ip, sizeof(f.ip));
	snprintf(f.data, sizeof(f.data), "%s", payload);
	memcpy(to.sll_addr, f.eth.h_dest, ETH_ALEN);

	fd = xt_ns_socket(fab.leaf[leaf].ns, AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(sendto(fd, &f, sizeof(f), 0, (struct sockaddr *)&to, sizeof(to)),
		     (ssize_t)sizeof(f));
	close(fd);
}

Test(netns_fabric_topo, bgp_sessions_to_rr_and_reflection, .timeout = 300)
{
	char out[512];

	build(true);
	cr_assert_eq(xt_fabric_wait_bgp(&fab, 90000), 0, "all sessions Established");
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		cr_expect_eq(xt_gobgpd_neighbor_state(&fab.rr.bgp, fab.leaf[i].vtep),
			     XT_BGP_ESTABLISHED, "rr <-> %s", fab.leaf[i].ns);

	/* an IMET from leaf1 is reflected to leaf2 and leaf3 */
	cr_assert_eq(xt_gobgp_cli(&fab.leaf[0].bgp, out, sizeof(out),
				  "global rib -a evpn add multicast 192.0.2.1 etag 0 "
				  "rd 192.0.2.1:100 rt 65000:100 encap vxlan"), 0);
	for (int i = 1; i < XT_FABRIC_LEAVES; i++)
		cr_expect_eq(xt_gobgpd_wait_rib(&fab.leaf[i].bgp, "evpn",
						"[rd:192.0.2.1:100][etag:0][ip:192.0.2.1]", 1,
						20000), 1, "%s got the reflected route",
			     fab.leaf[i].ns);
}

Test(netns_fabric_topo, shape_underlay_and_bpffs)
{
	struct xt_link_info li;
	struct statfs sfs;
	char buf[16] = { 0 };

	build(false);
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		struct xt_fabric_leaf *l = &fab.leaf[i];

		cr_expect_gt(l->uplink_ifindex, 0);
		cr_expect_gt(l->access_ifindex, 0);
		cr_assert_eq(xt_link_info(l->ns, l->uplink, &li), 0);
		cr_expect_eq(li.mtu, XT_FABRIC_UNDERLAY_MTU, "%s underlay MTU", l->ns);
		cr_expect(li.carrier, "%s uplink carrier", l->ns);
		cr_assert_eq(xt_link_info(l->ns, l->access, &li), 0);
		cr_expect(li.carrier, "%s access carrier", l->ns);
		cr_expect_eq(statfs(l->bpffs, &sfs), 0);
		cr_expect_eq((unsigned long)sfs.f_type, 0xcafe4a11UL, "%s bpffs", l->bpffs);
	}
	cr_expect_eq(xt_ifindex(fab.server.ns, fab.server.lag), fab.server.lag_ifindex);

	/* leaf1 -> leaf3 across the underlay bridge */
	int rx = udp_socket(fab.leaf[2].ns, fab.leaf[2].vtep, 4789 + 1);
	int tx = udp_socket(fab.leaf[0].ns, fab.leaf[0].vtep, 0);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(4789 + 1) };

	cr_assert(rx >= 0 && tx >= 0);
	inet_pton(AF_INET, fab.leaf[2].vtep, &to.sin_addr);
	struct pollfd pfd = { .fd = rx, .events = POLLIN };
	int got = 0;
	/* the first datagram may wait for ARP */
	for (int i = 0; i < 20 && !got; i++) {
		sendto(tx, "ul", 2, 0, (struct sockaddr *)&to, sizeof(to));
		got = poll(&pfd, 1, 250) == 1;
	}
	cr_expect(got, "leaf1 reaches leaf3 over the underlay");
	if (got)
		cr_expect_eq(recv(rx, buf, sizeof(buf), 0), 2);
	close(rx);
	close(tx);
}

Test(netns_fabric_topo, lag_spreads_64_flows_over_both_nics)
{
	uint64_t c0[LAG_CNT_MAX], c1[LAG_CNT_MAX], n0, n1;
	uint64_t total = FLOWS * PKTS_PER_FLOW;

	build(false);
	static_neigh_for_host3();
	lag_counters(c0);
	n0 = nic_tx(0);
	n1 = nic_tx(1);
	send_flows();
	lag_counters(c1);
	uint64_t tx0 = c1[LAG_TX0] - c0[LAG_TX0], tx1 = c1[LAG_TX1] - c0[LAG_TX1];
	uint64_t d0 = nic_tx(0) - n0, d1 = nic_tx(1) - n1;

	cr_log_info("LAG: nic0 %llu, nic1 %llu of %llu packets (netdev tx %llu/%llu)",
		    (unsigned long long)tx0, (unsigned long long)tx1,
		    (unsigned long long)total, (unsigned long long)d0, (unsigned long long)d1);
	printf("lag spread: nic0 %llu nic1 %llu of %llu\n", (unsigned long long)tx0,
	       (unsigned long long)tx1, (unsigned long long)total);
	cr_expect_eq(tx0 + tx1, total, "every frame leaves by exactly one member");
	cr_expect_geq(tx0 * 4, total, "nic0 carries at least 25%%");
	cr_expect_geq(tx1 * 4, total, "nic1 carries at least 25%%");
	cr_expect_eq(tx0 % PKTS_PER_FLOW, 0, "a flow never splits across members");
	cr_expect_eq(d0, tx0, "netdev tx of nic0 agrees with the LAG counter");
	cr_expect_eq(d1, tx1, "netdev tx of nic1 agrees with the LAG counter");
}

Test(netns_fabric_topo, lag_accepts_ingress_on_both_nics)
{
	uint64_t c0[LAG_CNT_MAX], c1[LAG_CNT_MAX];
	char buf[16];
	int rx;

	build(false);
	rx = udp_socket(fab.server.ns, fab.server.ip, DST_PORT);
	cr_assert_geq(rx, 0);
	lag_counters(c0);
	inject_to_server(0, "via-l1");
	inject_to_server(1, "via-l2");
	for (int i = 0; i < 2; i++) {
		struct pollfd pfd = { .fd = rx, .events = POLLIN };

		cr_assert_eq(poll(&pfd, 1, 2000), 1, "datagram %d reaches the server", i);
		memset(buf, 0, sizeof(buf));
		cr_expect_eq(recv(rx, buf, sizeof(buf) - 1, 0), 8);
		cr_expect(!strcmp(buf, "via-l1") || !strcmp(buf, "via-l2"), "got '%s'", buf);
	}
	lag_counters(c1);
	cr_expect_eq(c1[LAG_RX0] - c0[LAG_RX0], 1, "one frame accepted from nic0");
	cr_expect_eq(c1[LAG_RX1] - c0[LAG_RX1], 1, "one frame accepted from nic1");
	close(rx);
}

Test(netns_fabric_topo, lag_failover_to_one_nic)
{
	uint64_t c0[LAG_CNT_MAX], c1[LAG_CNT_MAX];
	struct xt_link_info li;
	uint64_t total = FLOWS * PKTS_PER_FLOW;

	build(false);
	static_neigh_for_host3();
	cr_assert_eq(xt_fabric_es_link_set(&fab, 0, false), 0);
	cr_assert_eq(xt_link_info(fab.leaf[0].ns, fab.leaf[0].access, &li), 0);
	cr_expect_not(li.carrier, "leaf1's ES port lost carrier");

	lag_counters(c0);
	send_flows();
	lag_counters(c1);
	cr_expect_eq(c1[LAG_TX0] - c0[LAG_TX0], 0, "nothing on the failed member");
	cr_expect_eq(c1[LAG_TX1] - c0[LAG_TX1], total, "all flows on nic1");

	cr_assert_eq(xt_fabric_es_link_set(&fab, 0, true), 0);
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(xt_link_info(fab.leaf[0].ns, fab.leaf[0].access, &li), 0);
		if (li.carrier)
			break;
		xt_sleep_ms(10);
	}
	cr_expect(li.carrier, "leaf1's ES port has carrier again");
	lag_counters(c0);
	send_flows();
	lag_counters(c1);
	cr_expect_gt(c1[LAG_TX0] - c0[LAG_TX0], 0, "nic0 carries flows again");
	cr_expect_gt(c1[LAG_TX1] - c0[LAG_TX1], 0);
}

Test(netns_fabric_topo, destroy_leaves_nothing, .timeout = 300)
{
	pid_t pids[XT_FABRIC_LEAVES + 1];
	char bpffs[XT_PATH_MAX];
	char out[256];

	build(true);
	snprintf(bpffs, sizeof(bpffs), "%s", fab.leaf[0].bpffs);
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		pids[i] = fab.leaf[i].bgp.proc.pid;
	pids[XT_FABRIC_LEAVES] = fab.rr.bgp.proc.pid;
	xt_fabric_destroy(&fab);

	for (int i = 0; i <= XT_FABRIC_LEAVES; i++)
		cr_expect(kill(pids[i], 0) && errno == ESRCH, "gobgpd %d stopped", pids[i]);
	cr_assert_eq(xt_ns_sh(NULL, out, sizeof(out), "ip netns list | grep -c '^%s-' || true",
			      xt_prefix()), 0);
	cr_expect_eq(atoi(out), 0, "no namespace of %s left", xt_prefix());
	struct statfs sfs;
	cr_expect(statfs(bpffs, &sfs) || (unsigned long)sfs.f_type != 0xcafe4a11UL,
		  "bpffs %s unmounted", bpffs);
}
