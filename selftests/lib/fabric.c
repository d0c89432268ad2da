// SPDX-License-Identifier: GPL-2.0
/* The test fabric of DESIGN.md in namespaces; see fabric.h. */
#include "fabric.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <string.h>

#include "../fabric-lag/lag.h"
#include "lag.skel.h"

#define fab_err(fmt, ...) fprintf(stderr, "fabric: " fmt "\n", ##__VA_ARGS__)
#define TRY(expr)                                                  \
	do {                                                       \
		int __e = (expr);                                  \
		if (__e < 0) {                                     \
			fab_err("%s: %s", #expr, strerror(-__e));  \
			return __e;                                \
		}                                                  \
	} while (0)

static const char *const ns_names[] = { "ul", "rr", "leaf1", "leaf2", "leaf3", "server", "host3" };

static void fill_names(struct xt_fabric *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->esi, sizeof(f->esi), "%s", XT_FABRIC_ESI);
	snprintf(f->underlay.ns, sizeof(f->underlay.ns), "ul");
	snprintf(f->underlay.bridge, sizeof(f->underlay.bridge), "br0");
	snprintf(f->rr.ns, sizeof(f->rr.ns), "rr");
	snprintf(f->rr.netns, sizeof(f->rr.netns), "%s", xt_ns_full("rr"));
	snprintf(f->rr.ip, sizeof(f->rr.ip), XT_FABRIC_RR_IP);
	snprintf(f->rr.api_addr, sizeof(f->rr.api_addr), XT_GOBGPD_API_DEFAULT);
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		struct xt_fabric_leaf *l = &f->leaf[i];

		snprintf(f->underlay.port[i], IFNAMSIZ, "l%d", i + 1);
		snprintf(l->ns, sizeof(l->ns), "leaf%d", i + 1);
		snprintf(l->netns, sizeof(l->netns), "%s", xt_ns_full(l->ns));
		snprintf(l->vtep, sizeof(l->vtep), "192.0.2.%d", i + 1);
		snprintf(l->uplink, IFNAMSIZ, "upl0");
		snprintf(l->access, IFNAMSIZ, "acc0");
		snprintf(l->api_addr, sizeof(l->api_addr), XT_GOBGPD_API_DEFAULT);
		l->on_es = i < 2;
	}
	snprintf(f->server.ns, sizeof(f->server.ns), "server");
	snprintf(f->server.netns, sizeof(f->server.netns), "%s", xt_ns_full("server"));
	snprintf(f->server.lag, IFNAMSIZ, "lag0");
	snprintf(f->server.nic[0], IFNAMSIZ, "nic0");
	snprintf(f->server.nic[1], IFNAMSIZ, "nic1");
	snprintf(f->server.ip, sizeof(f->server.ip), XT_FABRIC_SERVER_IP);
	snprintf(f->server.mac, sizeof(f->server.mac), XT_FABRIC_SERVER_MAC);
	snprintf(f->host3.ns, sizeof(f->host3.ns), "host3");
	snprintf(f->host3.netns, sizeof(f->host3.netns), "%s", xt_ns_full("host3"));
	snprintf(f->host3.ifname, IFNAMSIZ, "eth0");
	snprintf(f->host3.ip, sizeof(f->host3.ip), XT_FABRIC_HOST3_IP);
	snprintf(f->host3.mac, sizeof(f->host3.mac), XT_FABRIC_HOST3_MAC);
}

static int build_underlay(struct xt_fabric *f)
{
	const char *ul = f->underlay.ns;
	char cidr[32];

	TRY(xt_bridge(ul, f->underlay.bridge));
	/* br_netfilter is on by default in new namespaces; the underlay is
	 * a plain switch */
	xt_sysctl(ul, "net/bridge/bridge-nf-call-iptables", "0");
	xt_sysctl(ul, "net/bridge/bridge-nf-call-ip6tables", "0");
	xt_sysctl(ul, "net/bridge/bridge-nf-call-arptables", "0");
	TRY(xt_link_mtu(ul, f->underlay.bridge, XT_FABRIC_UNDERLAY_MTU));
	TRY(xt_link_up(ul, f->underlay.bridge));

	TRY(xt_veth(f->rr.ns, "upl0", ul, "rr"));
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		TRY(xt_veth(f->leaf[i].ns, f->leaf[i].uplink, ul, f->underlay.port[i]));

	const char *ports[] = { "rr", f->underlay.port[0], f->underlay.port[1],
				f->underlay.port[2] };
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		TRY(xt_link_mtu(ul, ports[i], XT_FABRIC_UNDERLAY_MTU));
		TRY(xt_link_master(ul, ports[i], f->underlay.bridge));
		TRY(xt_link_up(ul, ports[i]));
	}

	snprintf(cidr, sizeof(cidr), "%s/24", f->rr.ip);
	TRY(xt_link_mtu(f->rr.ns, "upl0", XT_FABRIC_UNDERLAY_MTU));
	TRY(xt_addr_add(f->rr.ns, "upl0", cidr));
	TRY(xt_link_up(f->rr.ns, "upl0"));
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		struct xt_fabric_leaf *l = &f->leaf[i];

		snprintf(cidr, sizeof(cidr), "%s/24", l->vtep);
		TRY(xt_link_mtu(l->ns, l->uplink, XT_FABRIC_UNDERLAY_MTU));
		TRY(xt_addr_add(l->ns, l->uplink, cidr));
		TRY(xt_link_up(l->ns, l->uplink));
	}
	return 0;
}

static int host_iface(const char *ns, const char *ifname, const char *mac)
{
	TRY(xt_link_mac(ns, ifname, mac));
	TRY(xt_link_txcsum_off(ns, ifname));
	TRY(xt_link_up(ns, ifname));
	return 0;
}

static int build_hosts(struct xt_fabric *f, const struct xt_fabric_opts *opts)
{
	const char *srv = f->server.ns, *h3 = f->host3.ns;
	char cidr[32];

	if (!opts->host_ipv6) {
		/* no spontaneous ND/MLD/RS: traffic counts stay exact */
		for (int i = 0; i < 2; i++) {
			const char *ns = i ? h3 : srv;

			TRY(xt_sysctl(ns, "net/ipv6/conf/all/disable_ipv6", "1"));
			TRY(xt_sysctl(ns, "net/ipv6/conf/default/disable_ipv6", "1"));
		}
	}
	for (int i = 0; i < 2; i++)
		TRY(xt_veth(f->leaf[i].ns, f->leaf[i].access, srv, f->server.nic[i]));
	TRY(xt_veth(f->leaf[2].ns, f->leaf[2].access, h3, f->host3.ifname));
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		if (!opts->host_ipv6) {
			/* the leaf end too: its DAD/MLD/RS would reach the hosts */
			char key[64];

			snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6",
				 f->leaf[i].access);
			TRY(xt_sysctl(f->leaf[i].ns, key, "1"));
		}
		TRY(xt_link_up(f->leaf[i].ns, f->leaf[i].access));
	}

	/* lag0 <-> lagp: lag0 carries the address, lagp stays idle */
	TRY(xt_veth(srv, f->server.lag, srv, "lagp"));
	TRY(host_iface(srv, f->server.lag, f->server.mac));
	TRY(xt_link_up(srv, "lagp"));
	for (int i = 0; i < 2; i++)
		TRY(host_iface(srv, f->server.nic[i], f->server.mac));
	snprintf(cidr, sizeof(cidr), "%s/%d", f->server.ip, XT_FABRIC_HOST_PLEN);
	TRY(xt_addr_add(srv, f->server.lag, cidr));

	TRY(host_iface(h3, f->host3.ifname, f->host3.mac));
	snprintf(cidr, sizeof(cidr), "%s/%d", f->host3.ip, XT_FABRIC_HOST_PLEN);
	TRY(xt_addr_add(h3, f->host3.ifname, cidr));
	return 0;
}

static int tc_attach(int ifindex, enum bpf_tc_attach_point where, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd);
	int err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &opts);
}

static int xdp_pass_on(const char *ns, const char *ifname, int prog_fd)
{
	int idx = xt_ifindex(ns, ifname), err;

	if (idx < 0)
		return idx;
	if ((err = xt_ns_enter(ns)))
		return err;
	err = bpf_xdp_attach(idx, prog_fd, XDP_FLAGS_DRV_MODE, NULL);
	xt_ns_leave();
	if (err)
		fab_err("XDP pass on %s/%s: %s", ns, ifname, strerror(-err));
	return err;
}

static int build_lag(struct xt_fabric *f)
{
	const char *srv = f->server.ns;
	struct lag *skel;
	int err;

	f->server.lag_ifindex = xt_ifindex(srv, f->server.lag);
	for (int i = 0; i < 2; i++)
		f->server.nic_ifindex[i] = xt_ifindex(srv, f->server.nic[i]);
	if (f->server.lag_ifindex < 0 || f->server.nic_ifindex[0] < 0 ||
	    f->server.nic_ifindex[1] < 0)
		return -ENODEV;

	skel = lag__open();
	if (!skel)
		return -errno;
	f->lag = skel;
	if ((err = lag__load(skel))) {
		fab_err("loading the LAG programs: %s", strerror(-err));
		return err;
	}
	skel->bss->lag_ifindex = (__u32)f->server.lag_ifindex;
	for (int i = 0; i < 2; i++) {
		skel->bss->lag_members[i].ifindex = (__u32)f->server.nic_ifindex[i];
		skel->bss->lag_members[i].up = 1;
	}

	TRY(xt_ns_enter(srv));
	err = tc_attach(f->server.lag_ifindex, BPF_TC_EGRESS,
			bpf_program__fd(skel->progs.lag_egress));
	for (int i = 0; i < 2 && !err; i++)
		err = tc_attach(f->server.nic_ifindex[i], BPF_TC_INGRESS,
				bpf_program__fd(skel->progs.lag_ingress));
	xt_ns_leave();
	if (err) {
		fab_err("attaching the LAG TC programs: %s", strerror(-err));
		return err;
	}

	int pass = bpf_program__fd(skel->progs.xdp_pass);
	for (int i = 0; i < 2; i++)
		TRY(xdp_pass_on(srv, f->server.nic[i], pass));
	TRY(xdp_pass_on(f->host3.ns, f->host3.ifname, pass));
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		TRY(xdp_pass_on(f->underlay.ns, f->underlay.port[i], pass));
	return 0;
}

static int start_bgp(struct xt_fabric *f, const struct xt_fabric_opts *opts)
{
	struct xt_gobgpd_config rr = {
		.ns = f->rr.ns, .name = "rr", .router_id = f->rr.ip, .as = XT_FABRIC_AS,
		.api_addr = f->rr.api_addr, .local_address = f->rr.ip,
		.hold_time_s = opts->hold_time_s,
		.keepalive_s = opts->hold_time_s ? (opts->hold_time_s + 2) / 3 : 0,
		.n_neighbors = XT_FABRIC_LEAVES,
	};

	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		rr.neighbors[i] = (struct xt_gobgpd_neighbor){
			.address = f->leaf[i].vtep, .passive = true, .rr_client = true,
		};
	TRY(xt_gobgpd_start(&rr, &f->rr.bgp));
	f->bgp = true;
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		struct xt_fabric_leaf *l = &f->leaf[i];
		struct xt_gobgpd_config c = {
			.ns = l->ns, .name = l->ns, .router_id = l->vtep, .as = XT_FABRIC_AS,
			.api_addr = l->api_addr, .local_address = l->vtep,
			.hold_time_s = rr.hold_time_s, .keepalive_s = rr.keepalive_s,
			.n_neighbors = 1,
			.neighbors = { { .address = f->rr.ip } },
		};

		TRY(xt_gobgpd_start(&c, &l->bgp));
	}
	return 0;
}

static int build(struct xt_fabric *f, const struct xt_fabric_opts *opts)
{
	for (size_t i = 0; i < sizeof(ns_names) / sizeof(ns_names[0]); i++)
		TRY(xt_ns_create(ns_names[i]));
	TRY(build_underlay(f));
	TRY(build_hosts(f, opts));
	TRY(build_lag(f));
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		struct xt_fabric_leaf *l = &f->leaf[i];

		l->uplink_ifindex = xt_ifindex(l->ns, l->uplink);
		l->access_ifindex = xt_ifindex(l->ns, l->access);
		if (l->uplink_ifindex < 0 || l->access_ifindex < 0)
			return -ENODEV;
		TRY(xt_bpffs_mount(l->ns, l->bpffs, sizeof(l->bpffs)));
	}
	if (!opts->no_bgp)
		TRY(start_bgp(f, opts));
	return 0;
}

int xt_fabric_create(struct xt_fabric *f, const struct xt_fabric_opts *opts)
{
	struct xt_fabric_opts none = { 0 };
	int err;

	if ((err = xt_init()))
		return err;
	fill_names(f);
	err = build(f, opts ? opts : &none);
	if (err) {
		fab_err("build failed: %s", strerror(-err));
		xt_fabric_destroy(f);
	}
	return err;
}

void xt_fabric_destroy(struct xt_fabric *f)
{
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		xt_gobgpd_stop(&f->leaf[i].bgp);
	xt_gobgpd_stop(&f->rr.bgp);
	f->bgp = false;
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		if (f->leaf[i].bpffs[0]) {
			xt_bpffs_umount(f->leaf[i].ns);
			f->leaf[i].bpffs[0] = '\0';
		}
	for (size_t i = 0; i < sizeof(ns_names) / sizeof(ns_names[0]); i++)
		if (xt_ns_exists(ns_names[i]))
			xt_ns_delete(ns_names[i]);
	if (f->lag) {
		lag__destroy(f->lag);
		f->lag = NULL;
	}
}

int xt_fabric_wait_bgp(struct xt_fabric *f, int timeout_ms)
{
	uint64_t deadline = xt_now_ms() + (timeout_ms > 0 ? (uint64_t)timeout_ms : 60000);

	if (!f->bgp)
		return -ENOTCONN;
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		uint64_t now = xt_now_ms();
		int left = now < deadline ? (int)(deadline - now) : 1;

		TRY(xt_gobgpd_wait_established(&f->leaf[i].bgp, f->rr.ip, left));
		TRY(xt_gobgpd_wait_established(&f->rr.bgp, f->leaf[i].vtep, left));
	}
	return 0;
}

int xt_fabric_lag_member_set(struct xt_fabric *f, int member, bool up)
{
	if (!f->lag || member < 0 || member > 1)
		return -EINVAL;
	__atomic_store_n(&f->lag->bss->lag_members[member].up, up ? 1u : 0u, __ATOMIC_SEQ_CST);
	return 0;
}

int xt_fabric_es_link_set(struct xt_fabric *f, int member, bool up)
{
	if (!f->lag || member < 0 || member > 1)
		return -EINVAL;
	if (!up) {
		xt_fabric_lag_member_set(f, member, false);
		return xt_link_down(f->server.ns, f->server.nic[member]);
	}
	TRY(xt_link_up(f->server.ns, f->server.nic[member]));
	return xt_fabric_lag_member_set(f, member, true);
}

int xt_fabric_lag_counters(struct xt_fabric *f, uint64_t *out, int n)
{
	if (!f->lag || n < LAG_CNT_MAX)
		return -EINVAL;
	for (int i = 0; i < LAG_CNT_MAX; i++)
		out[i] = __atomic_load_n(&f->lag->bss->lag_counters[i], __ATOMIC_RELAXED);
	return 0;
}
