// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>

#include "env.h"
#include "pkt.h"

const __u8 MAC_H1[6] = { 2, 0, 0, 0, 0, 1 }, MAC_H2[6] = { 2, 0, 0, 0, 0, 2 },
	   MAC_H3[6] = { 2, 0, 0, 0, 0, 3 }, MAC_H4[6] = { 2, 0, 0, 0, 0, 4 },
	   MAC_R1[6] = { 2, 0, 0, 0, 0, 0x10 }, MAC_R2[6] = { 2, 0, 0, 0, 0, 0x20 },
	   MAC_RNONEIGH[6] = { 2, 0, 0, 0, 0, 0x90 }, MAC_RNOROUTE[6] = { 2, 0, 0, 0, 0, 0x91 },
	   MAC_UNKNOWN[6] = { 2, 0, 0, 0, 0, 0x99 }, MAC_BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	   MAC_UP0[6] = { 2, 0, 0, 0, 1, 1 }, MAC_UP0P[6] = { 2, 0, 0, 0, 1, 2 },
	   MAC_NH2[6] = { 2, 0, 0, 0, 2, 2 }, MAC_NH3[6] = { 2, 0, 0, 0, 3, 3 },
	   MAC_NH4[6] = { 2, 0, 0, 0, 4, 4 }, MAC_ZERO[6] = { 0 },
	   MAC_MCAST[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 };

static int fdb(struct env *e, __u32 vni, const __u8 *mac, struct xevpn_fdb_entry fe)
{
	return xevpn_dp_fdb_set(e->dp, vni, mac, &fe);
}

/* Run one setup step; on failure say which one and why, once. */
#define STEP(call)                                                                  \
	do {                                                                        \
		int step_rc_ = (call);                                              \
		if (step_rc_) {                                                     \
			fprintf(stderr, "env_setup: %s: %s\n", #call, strerror(step_rc_ < 0 ? -step_rc_ : errno)); \
			err = -1;                                                   \
		}                                                                   \
	} while (0)

const char *env_pin_root;

int env_setup(struct env *e)
{
	__be32 es2[] = { IP("192.0.2.3"), IP("192.0.2.4") }, es1[] = { IP("192.0.2.2") };
	struct xevpn_config cfg = { .vtep_ip = IP("192.0.2.1") };
	struct xevpn_bd bd = { .flags = XEVPN_BD_F_LEARN };
	struct xevpn_flood fl = { 0 };
	struct xevpn_dp_opts o = { .no_pin = true, .pin_root = env_pin_root };
	int err = 0;

	memset(e, 0, sizeof(*e));
	if (pkt_netns_private())
		return -1;
	err |= pkt_sh("for p in acc1 acc2 acc3 up0; do ip link add $p type veth peer name ${p}p && "
		      "ip link set $p up && ip link set ${p}p up || exit 1; done");
	err |= pkt_sh("ip link set up0 address 02:00:00:00:01:01 && ip link set up0p address 02:00:00:00:01:02"
		      " && ip addr add 192.0.2.1/24 dev up0 && sysctl -qw net.ipv4.conf.up0.forwarding=1"
		      " && ip neigh replace 192.0.2.2 lladdr 02:00:00:00:02:02 dev up0 nud permanent"
		      " && ip neigh replace 192.0.2.3 lladdr 02:00:00:00:03:03 dev up0 nud permanent"
		      " && ip neigh replace 192.0.2.4 lladdr 02:00:00:00:04:04 dev up0 nud permanent");
	if (err)
		return -1;
	e->acc1 = if_nametoindex("acc1");
	e->acc2 = if_nametoindex("acc2");
	e->acc3 = if_nametoindex("acc3");
	e->up0 = if_nametoindex("up0");
	err = xevpn_dp_open(&e->dp, &o);
	if (err)
		return err;
	e->xdp_access = xevpn_dp_prog_fd(e->dp, XEVPN_DP_PROG_XDP_ACCESS);
	e->xdp_uplink = xevpn_dp_prog_fd(e->dp, XEVPN_DP_PROG_XDP_UPLINK);
	e->tc = xevpn_dp_prog_fd(e->dp, XEVPN_DP_PROG_TC);
	cfg.underlay_ifindex = e->up0;

	STEP(xevpn_dp_config_set(e->dp, &cfg));
	STEP(xevpn_dp_port_set(e->dp, e->acc1, &(struct xevpn_port){ .role = XEVPN_PORT_ACCESS, .vni = VNI_A }));
	STEP(xevpn_dp_port_set(e->dp, e->acc2, &(struct xevpn_port){ .role = XEVPN_PORT_ACCESS, .vni = VNI_A, .es_id = ES_LOCAL }));
	STEP(xevpn_dp_port_set(e->dp, e->acc3, &(struct xevpn_port){ .role = XEVPN_PORT_ACCESS }));
	STEP(xevpn_dp_port_set(e->dp, e->up0, &(struct xevpn_port){ .role = XEVPN_PORT_UPLINK }));
	STEP(xevpn_dp_port_vlan_set(e->dp, e->acc3, 10, VNI_A));
	STEP(xevpn_dp_port_vlan_set(e->dp, e->acc3, 20, VNI_B));
	STEP(xevpn_dp_bd_set(e->dp, VNI_A, &bd));
	STEP(xevpn_dp_bd_set(e->dp, VNI_B, &bd));
	STEP(xevpn_dp_es_set(e->dp, ES_LOCAL, &(struct xevpn_es){ .flags = XEVPN_ES_F_LOCAL, .ifindex = e->acc2 }));
	STEP(xevpn_dp_es_set(e->dp, ES_REMOTE, &(struct xevpn_es){ 0 }));
	STEP(xevpn_dp_es_nh_set(e->dp, ES_LOCAL, es1, 1));
	STEP(xevpn_dp_es_nh_set(e->dp, ES_REMOTE, es2, 2));
	STEP(xevpn_dp_es_peer_add(e->dp, ES_LOCAL, IP("192.0.2.2")));
	STEP(fdb(e, VNI_A, MAC_H1, (struct xevpn_fdb_entry){ .type = XEVPN_FDB_LOCAL, .ifindex = e->acc1, .flags = XEVPN_FDB_F_STATIC }));
	STEP(fdb(e, VNI_A, MAC_H2, (struct xevpn_fdb_entry){ .type = XEVPN_FDB_ES, .es_id = ES_LOCAL }));
	STEP(fdb(e, VNI_A, MAC_H3, (struct xevpn_fdb_entry){ .type = XEVPN_FDB_LOCAL, .ifindex = e->acc3, .vlan = 10 }));
	STEP(fdb(e, VNI_A, MAC_R1, (struct xevpn_fdb_entry){ .type = XEVPN_FDB_VTEP, .vtep = IP("192.0.2.2") }));
	STEP(fdb(e, VNI_A, MAC_R2, (struct xevpn_fdb_entry){ .type = XEVPN_FDB_ES, .es_id = ES_REMOTE }));
	STEP(fdb(e, VNI_A, MAC_RNONEIGH, (struct xevpn_fdb_entry){ .type = XEVPN_FDB_VTEP, .vtep = IP("192.0.2.9") }));
	STEP(fdb(e, VNI_A, MAC_RNOROUTE, (struct xevpn_fdb_entry){ .type = XEVPN_FDB_VTEP, .vtep = IP("203.0.113.1") }));
	fl.n_vteps = 2;
	fl.vtep[0] = IP("192.0.2.2");
	fl.vtep[1] = IP("192.0.2.3");
	fl.n_ports = 3;
	fl.port[0] = (struct xevpn_flood_port){ .ifindex = e->acc1 };
	fl.port[1] = (struct xevpn_flood_port){ .ifindex = e->acc2 };
	fl.port[2] = (struct xevpn_flood_port){ .ifindex = e->acc3, .vlan = 10 };
	STEP(xevpn_dp_flood_set(e->dp, VNI_A, &fl));
	return err ? -1 : 0;
}

void env_teardown(struct env *e)
{
	xevpn_dp_close(e->dp);
	e->dp = NULL;
}

__u64 env_ctr(struct env *e, enum xevpn_ctr c)
{
	struct xevpn_ctr_value v = { 0 };

	xevpn_dp_counter(e->dp, c, &v);
	return v.packets;
}

__u64 env_verdicts(struct env *e)
{
	struct xevpn_ctr_value all[XEVPN_CTR_MAX];
	__u64 n = 0;

	if (xevpn_dp_counters(e->dp, all))
		return 0;
	for (int c = 0; c < XEVPN_CTR_VERDICT_MAX; c++)
		n += all[c].packets;
	return n;
}

static struct iphdr ip4_udp(size_t payload)
{
	struct iphdr ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP };

	ip.tot_len = htons(sizeof(ip) + sizeof(struct udphdr) + payload);
	ip.saddr = IP("198.51.100.1");
	ip.daddr = IP("198.51.100.2");
	ip.check = pkt_csum(&ip, sizeof(ip));
	return ip;
}

static struct udphdr udp_hdr(__u16 sport, size_t payload)
{
	struct udphdr u = { .source = htons(sport), .dest = htons(7) };

	u.len = htons(sizeof(u) + payload);
	return u;
}

size_t mk_inner(__u8 *b, const __u8 *dst, const __u8 *src, __u16 flow_port)
{
	struct inner_udp f = { .eth.h_proto = htons(ETH_P_IP) };

	memcpy(f.eth.h_dest, dst, 6);
	memcpy(f.eth.h_source, src, 6);
	memset(f.data, 0xab, sizeof(f.data));
	f.ip = ip4_udp(sizeof(f.data));
	f.udp = udp_hdr(flow_port, sizeof(f.data));
	memcpy(b, &f, sizeof(f));
	return sizeof(f);
}

size_t mk_inner_vlan(__u8 *b, const __u8 *dst, const __u8 *src, __u16 vlan, __u16 flow_port)
{
	struct inner_udp_vlan f = { .tpid = htons(ETH_P_8021Q), .tci = htons(vlan),
				    .proto = htons(ETH_P_IP) };

	memcpy(f.dst, dst, 6);
	memcpy(f.src, src, 6);
	memset(f.data, 0xab, sizeof(f.data));
	f.ip = ip4_udp(sizeof(f.data));
	f.udp = udp_hdr(flow_port, sizeof(f.data));
	memcpy(b, &f, sizeof(f));
	return sizeof(f);
}

static void fill_outer(struct vxlan_udp *v, const __u8 *smac, const __u8 *dmac, __be32 sip,
		       __be32 dip, __u16 sport, __u32 vni, size_t inner_len, bool df)
{
	struct iphdr ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP };

	memcpy(v->eth.h_dest, dmac, 6);
	memcpy(v->eth.h_source, smac, 6);
	v->eth.h_proto = htons(ETH_P_IP);
	ip.tot_len = htons(20 + 8 + 8 + inner_len);
	ip.frag_off = df ? htons(0x4000) : 0;
	ip.saddr = sip;
	ip.daddr = dip;
	ip.check = pkt_csum(&ip, 20);
	v->ip = ip;
	v->udp = (struct udphdr){ .source = htons(sport), .dest = htons(4789),
				  .len = htons(8 + 8 + inner_len) };
	v->vx_flags = htonl(0x08000000);
	v->vx_vni = htonl(vni << 8);
}

size_t mk_vxlan(__u8 *b, const char *src_vtep, __u32 vni, const __u8 *dst, const __u8 *src)
{
	struct vxlan_udp v = { 0 };
	size_t il = mk_inner((__u8 *)&v.inner, dst, src, 1000);

	fill_outer(&v, MAC_UP0P, MAC_UP0, IP(src_vtep), IP("192.0.2.1"), 55555, vni, il, false);
	memcpy(b, &v, sizeof(v));
	return sizeof(v);
}

size_t mk_encap(__u8 *b, const char *vtep, const __u8 *nh, __u32 vni, const __u8 *inner,
		size_t inner_len)
{
	struct vxlan_udp v = { 0 };
	size_t hl = offsetof(struct vxlan_udp, inner);

	fill_outer(&v, MAC_UP0, nh, IP("192.0.2.1"), IP(vtep), 0, vni, inner_len, true);
	memcpy(b, &v, hl);
	memcpy(b + hl, inner, inner_len);
	return hl + inner_len;
}
