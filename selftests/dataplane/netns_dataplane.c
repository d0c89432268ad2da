// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Two xevpn leaves bridge two hosts over VXLAN, maps programmed through
 * libxevpn-dp (what the controller does from BGP routes), and wire interop
 * with a Linux vxlan device + bridge.
 *
 *   [h1] h1e ---- l1a [leaf1] l1u ===== l2u [leaf2 | lx] l2a ---- h2e [h2]
 *   198.51.100.1/24    VTEP 192.0.2.1     VTEP 192.0.2.2        198.51.100.2/24
 *   MAC 02:..:11      (xevpn)            (xevpn | vxlan0+br0)   MAC 02:..:22
 *
 * Each leaf pins its maps and links under its own bpffs (per-instance pin
 * root); the first test also reopens leaf1's dataplane from its pins (a
 * daemon restart) and checks forwarding never needed re-attachment.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "dp/dp.h"
#include "netns.h"

static const __u8 MAC_HOST1[6] = { 2, 0, 0, 0, 0, 0x11 }, MAC_HOST2[6] = { 2, 0, 0, 0, 0, 0x22 };
#define VNI 100

struct leaf {
	const char *ns;
	struct xevpn_dp *dp;
	char pin[XT_PATH_MAX];
};

static int must(int rc, const char *what)
{
	cr_assert_geq(rc, 0, "%s failed: %d", what, rc);
	return rc;
}

static void hosts_and_wires(const char *leaf2_ns)
{
	must(xt_ns_create("h1"), "ns h1");
	must(xt_ns_create("h2"), "ns h2");
	must(xt_ns_create("leaf1"), "ns leaf1");
	must(xt_ns_create(leaf2_ns), "ns leaf2");
	must(xt_veth("h1", "h1e", "leaf1", "l1a"), "veth h1");
	must(xt_veth("h2", "h2e", leaf2_ns, "l2a"), "veth h2");
	must(xt_veth("leaf1", "l1u", leaf2_ns, "l2u"), "veth underlay");
	must(xt_link_mac("h1", "h1e", "02:00:00:00:00:11"), "mac h1");
	must(xt_link_mac("h2", "h2e", "02:00:00:00:00:22"), "mac h2");
	must(xt_addr_add("h1", "h1e", "198.51.100.1/24"), "addr h1");
	must(xt_addr_add("h2", "h2e", "198.51.100.2/24"), "addr h2");
	must(xt_addr_add("leaf1", "l1u", "192.0.2.1/24"), "addr l1u");
	must(xt_addr_add(leaf2_ns, "l2u", "192.0.2.2/24"), "addr l2u");
	/* VXLAN adds 50 bytes: hosts use the underlay MTU minus that */
	must(xt_link_mtu("h1", "h1e", 1450), "mtu h1");
	must(xt_link_mtu("h2", "h2e", 1450), "mtu h2");
	must(xt_link_txcsum_off("h1", "h1e"), "csum h1");
	must(xt_link_txcsum_off("h2", "h2e"), "csum h2");
	const char *up[][2] = { { "h1", "h1e" }, { "h2", "h2e" }, { "leaf1", "l1a" }, { "leaf1", "l1u" },
				{ leaf2_ns, "l2a" }, { leaf2_ns, "l2u" } };
	for (unsigned int i = 0; i < sizeof(up) / sizeof(up[0]); i++)
		must(xt_link_up(up[i][0], up[i][1]), "link up");
}

/* Program one xevpn leaf: access port acc (host behind it = local_mac),
 * uplink up, the other host behind peer_vtep. */
static void leaf_up(struct leaf *l, const char *ns, const char *acc, const char *up,
		    const char *vtep, const char *peer_vtep, const __u8 *local_mac,
		    const __u8 *remote_mac, const char *host_ns, const char *host_if, bool reopen)
{
	struct xevpn_dp_opts o = { .pin_root = l->pin };
	struct xevpn_flood fl = { .n_vteps = 1, .n_ports = 1 };
	__u32 acc_if, up_if;

	l->ns = ns;
	if (!reopen)
		must(xt_bpffs_mount(ns, l->pin, sizeof(l->pin)), "bpffs");
	acc_if = must(xt_ifindex(ns, acc), "ifindex acc");
	up_if = must(xt_ifindex(ns, up), "ifindex up");
	must(xt_sysctl(ns, "net/ipv4/conf/all/forwarding", "1"), "forwarding");
	must(xt_ns_enter(ns), "enter leaf");
	must(xevpn_dp_open(&l->dp, &o), "dp open");
	if (!reopen) {
		struct xevpn_config cfg = { .vtep_ip = inet_addr(vtep), .underlay_ifindex = up_if };

		must(xevpn_dp_config_set(l->dp, &cfg), "config");
		must(xevpn_dp_port_set(l->dp, acc_if, &(struct xevpn_port){ .role = XEVPN_PORT_ACCESS, .vni = VNI }), "port");
		must(xevpn_dp_port_set(l->dp, up_if, &(struct xevpn_port){ .role = XEVPN_PORT_UPLINK }), "port");
		must(xevpn_dp_bd_set(l->dp, VNI, &(struct xevpn_bd){ .flags = XEVPN_BD_F_LEARN }), "bd");
		must(xevpn_dp_fdb_set(l->dp, VNI, local_mac, &(struct xevpn_fdb_entry){ .type = XEVPN_FDB_LOCAL, .ifindex = acc_if, .flags = XEVPN_FDB_F_STATIC }), "fdb local");
		if (remote_mac)
			must(xevpn_dp_fdb_set(l->dp, VNI, remote_mac, &(struct xevpn_fdb_entry){ .type = XEVPN_FDB_VTEP, .vtep = inet_addr(peer_vtep) }), "fdb remote");
		fl.vtep[0] = inet_addr(peer_vtep);
		fl.port[0].ifindex = acc_if;
		must(xevpn_dp_flood_set(l->dp, VNI, &fl), "flood");
		must(xevpn_dp_attach(l->dp, acc_if, XEVPN_PORT_ACCESS), "attach access");
		must(xevpn_dp_attach(l->dp, up_if, XEVPN_PORT_UPLINK), "attach uplink");
	}
	xevpn_dp_neigh_prime(inet_addr(peer_vtep));
	xt_ns_leave();
	if (!reopen) {
		/* a veth delivers XDP_REDIRECTed frames only if its peer runs XDP */
		must(xt_ns_enter(host_ns), "enter host");
		must(xevpn_dp_attach_xdp_pass(l->dp, must(xt_ifindex(host_ns, host_if), "host if")), "xdp pass");
		xt_ns_leave();
	}
}

static int ping(const char *from, const char *to)
{
	return xt_ns_sh(from, NULL, 0, "busybox ping -q -c 3 -W 2 %s >/dev/null", to);
}

/* TCP both ways: 64 KiB from h1 to h2, echoed back. */
static void tcp_both_ways(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(5001) };
	static char out[65536], in[65536];
	int ls, c, s;
	size_t got = 0;
	ssize_t n;

	memset(out, 0x5a, sizeof(out));
	sa.sin_addr.s_addr = inet_addr("198.51.100.2");
	ls = must(xt_ns_socket("h2", AF_INET, SOCK_STREAM, 0), "listen socket");
	must(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), "bind");
	must(listen(ls, 1), "listen");
	c = must(xt_ns_socket("h1", AF_INET, SOCK_STREAM, 0), "client socket");
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	must(connect(c, (struct sockaddr *)&sa, sizeof(sa)), "connect");
	s = must(accept(ls, NULL, NULL), "accept");
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(send(c, out, sizeof(out), 0), (ssize_t)sizeof(out));
	while (got < sizeof(in) && (n = recv(s, in + got, sizeof(in) - got, 0)) > 0)
		got += n;
	cr_assert_eq(got, sizeof(in), "h2 received %zu bytes", got);
	cr_assert_eq(send(s, in, got, 0), (ssize_t)got);
	got = 0;
	while (got < sizeof(in) && (n = recv(c, in + got, sizeof(in) - got, 0)) > 0)
		got += n;
	cr_assert_eq(got, sizeof(in), "h1 received %zu bytes back", got);
	cr_assert_eq(memcmp(in, out, sizeof(out)), 0);
	close(c);
	close(s);
	close(ls);
}

static __u64 ctr(struct leaf *l, const char *name)
{
	struct xevpn_ctr_value v = { 0 };

	xevpn_dp_counter_by_name(l->dp, name, &v);
	return v.packets;
}

static void fini(void)
{
	xt_cleanup();
}

Test(dataplane, two_leaves_ping_tcp_restart, .fini = fini)
{
	struct leaf l1 = { 0 }, l2 = { 0 };

	hosts_and_wires("leaf2");
	leaf_up(&l1, "leaf1", "l1a", "l1u", "192.0.2.1", "192.0.2.2", MAC_HOST1, MAC_HOST2, "h1", "h1e", false);
	leaf_up(&l2, "leaf2", "l2a", "l2u", "192.0.2.2", "192.0.2.1", MAC_HOST2, MAC_HOST1, "h2", "h2e", false);
	xt_sleep_ms(300);
	cr_assert_eq(ping("h1", "198.51.100.2"), 0, "ping h1 -> h2");
	cr_assert_eq(ping("h2", "198.51.100.1"), 0, "ping h2 -> h1");
	tcp_both_ways();
	/* the frames really took the XDP paths and the TC flood path (ARP) */
	cr_assert_gt(ctr(&l1, "encap_vtep"), 0);
	cr_assert_gt(ctr(&l1, "decap_fwd"), 0);
	cr_assert_gt(ctr(&l2, "encap_vtep"), 0);
	cr_assert_gt(ctr(&l2, "decap_fwd"), 0);
	cr_assert_gt(ctr(&l1, "flood_remote_copy") + ctr(&l2, "flood_remote_copy"), 0);
	cr_assert_gt(ctr(&l1, "flood_local_copy") + ctr(&l2, "flood_local_copy"), 0);

	/* restart: drop the handle (pins stay), reopen from the pin root */
	xevpn_dp_close(l1.dp);
	l1.dp = NULL;
	cr_assert_eq(ping("h1", "198.51.100.2"), 0, "forwarding stopped while the daemon was gone");
	leaf_up(&l1, "leaf1", "l1a", "l1u", "192.0.2.1", "192.0.2.2", MAC_HOST1, MAC_HOST2, "h1", "h1e", true);
	__u64 before = ctr(&l1, "encap_vtep");
	cr_assert_gt(before, 0, "counters not adopted from the pinned map");
	cr_assert_eq(ping("h1", "198.51.100.2"), 0, "ping after restart");
	cr_assert_gt(ctr(&l1, "encap_vtep"), before, "adopted links do not run the new programs' maps");

	must(xt_ns_enter("leaf1"), "enter");
	cr_assert_eq(xevpn_dp_uninstall(l1.dp), 0);
	xt_ns_leave();
	cr_assert_neq(ping("h1", "198.51.100.2"), 0, "still forwarding after uninstall");
	cr_assert_neq(access(l1.pin, F_OK) == 0 && access(strcat(l1.pin, "/xevpn_fdb"), F_OK) == 0, 1,
		      "maps still pinned after uninstall");
	xevpn_dp_close(l1.dp);
	xevpn_dp_close(l2.dp);
}

Test(dataplane, interop_linux_vxlan_bridge, .fini = fini)
{
	struct leaf l1 = { 0 };
	char pin[XT_PATH_MAX];

	hosts_and_wires("lx");
	must(xt_sysctl("lx", "net/bridge/bridge-nf-call-iptables", "0") < 0 ? 0 : 0, "br_netfilter");
	must(xt_ip("lx", "link add vxlan0 type vxlan id %d local 192.0.2.2 dstport 4789 nolearning", VNI), "vxlan0");
	must(xt_ip("lx", "link add br0 type bridge"), "br0");
	must(xt_link_master("lx", "vxlan0", "br0"), "master vxlan0");
	must(xt_link_master("lx", "l2a", "br0"), "master l2a");
	must(xt_link_up("lx", "vxlan0"), "up vxlan0");
	must(xt_link_up("lx", "br0"), "up br0");
	/* what EVPN type-3 and type-2 routes would install on the Linux side */
	must(xt_ns_sh("lx", NULL, 0, "bridge fdb append 00:00:00:00:00:00 dev vxlan0 dst 192.0.2.1 && "
			       "bridge fdb add 02:00:00:00:00:11 dev vxlan0 dst 192.0.2.1 static"), "lx fdb");
	leaf_up(&l1, "leaf1", "l1a", "l1u", "192.0.2.1", "192.0.2.2", MAC_HOST1, MAC_HOST2, "h1", "h1e", false);
	/* the Linux side's uplink must accept frames XDP-redirected by leaf1 */
	must(xt_ns_enter("lx"), "enter lx");
	must(xevpn_dp_attach_xdp_pass(l1.dp, must(xt_ifindex("lx", "l2u"), "l2u")), "xdp pass lx");
	xt_ns_leave();
	xt_sleep_ms(300);
	cr_assert_eq(ping("h1", "198.51.100.2"), 0, "ping xevpn -> linux");
	cr_assert_eq(ping("h2", "198.51.100.1"), 0, "ping linux -> xevpn");
	cr_assert_gt(ctr(&l1, "encap_vtep"), 0);
	cr_assert_gt(ctr(&l1, "decap_fwd"), 0);
	(void)pin;
	xevpn_dp_close(l1.dp);
}
