// SPDX-License-Identifier: GPL-2.0
/* routes_bridge.c conversions: every route type the model sends survives
 * evpn_route -> gb_route -> apipb.Path bytes -> gb_route -> evpn_route,
 * which is what a peer's controller receives from its own watch. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "routes_bridge.h"

static struct evpn_route base(uint8_t type)
{
	struct evpn_route r = { .type = type, .nexthop = 0xc0000202 /* 192.0.2.2 */ };

	evpn_rd_make(r.rd, 0xc0000202, 100);
	esi_parse("00:11:22:33:44:55:00:00:00:01", &r.esi);
	r.rts[0] = (struct xcfg_rt){ XCFG_RT_AS2, 65000, 100 };
	r.rts[1] = (struct xcfg_rt){ XCFG_RT_IP4, 0xc0000202, 7 };
	r.n_rts = 2;
	return r;
}

static struct evpn_route roundtrip(const struct evpn_route *in)
{
	struct gb_route g, back;
	struct evpn_route out;
	uint8_t *buf;
	size_t len;

	cr_assert_eq(evpn_route_to_gb(in, &g), 0);
	cr_assert_eq(gb_route_encode(&g, in->withdraw, &buf, &len), 0, "encodable");
	cr_assert_eq(gb_route_decode(buf, len, &back, NULL), 0);
	free(buf);
	back.is_withdraw = in->withdraw;
	cr_assert_eq(evpn_route_from_gb(&back, &out), 0);
	return out;
}

Test(routes, per_es_ad_keeps_max_et_and_single_active)
{
	struct evpn_route r = base(EVPN_RT_AD), o;

	evpn_rd_make(r.rd, 0xc0000202, 0);
	r.etag = EVPN_MAX_ET;
	r.single_active = true;
	o = roundtrip(&r);
	cr_assert_eq(o.type, EVPN_RT_AD);
	cr_assert_eq(o.etag, EVPN_MAX_ET);
	cr_assert(o.single_active);
	cr_assert_eq(o.vni, 0);
	cr_assert_arr_eq(o.rd, r.rd, 8);
	cr_assert_arr_eq(o.esi.b, r.esi.b, ESI_LEN);
	cr_assert_eq(o.nexthop, r.nexthop);
}

Test(routes, per_evi_ad_carries_the_vni)
{
	struct evpn_route r = base(EVPN_RT_AD), o;

	r.vni = 100;
	o = roundtrip(&r);
	cr_assert_eq(o.etag, 0);
	cr_assert_eq(o.vni, 100);
	cr_assert_not(o.single_active);
}

Test(routes, mac_route_with_esi_ip_and_mobility)
{
	struct evpn_route r = base(EVPN_RT_MAC), o;
	static const uint8_t mac[6] = { 2, 0, 0, 0, 1, 0x10 };

	memcpy(r.mac, mac, 6);
	r.ip_len = 4;
	memcpy(r.ip, (uint8_t[]){ 198, 51, 100, 10 }, 4);
	r.vni = 100;
	r.seq = 7;
	r.has_seq = true;
	o = roundtrip(&r);
	cr_assert_arr_eq(o.mac, mac, 6);
	cr_assert_eq(o.ip_len, 4);
	cr_assert_arr_eq(o.ip, r.ip, 4);
	cr_assert_eq(o.vni, 100);
	cr_assert(o.has_seq);
	cr_assert_eq(o.seq, 7);
	cr_assert_not(o.sticky);
	cr_assert_arr_eq(o.esi.b, r.esi.b, ESI_LEN);
}

Test(routes, mac_route_without_mobility_has_no_sequence)
{
	struct evpn_route r = base(EVPN_RT_MAC), o;

	r.mac[0] = 2;
	r.mac[5] = 1;
	memset(&r.esi, 0, sizeof(r.esi));
	r.vni = 200;
	o = roundtrip(&r);
	cr_assert_not(o.has_seq);
	cr_assert_eq(o.vni, 200);
	cr_assert(esi_is_zero(&o.esi), "single-homed: zero ESI");
}

Test(routes, imet_vni_from_pmsi_and_originator)
{
	struct evpn_route r = base(EVPN_RT_IMET), o;

	memset(&r.esi, 0, sizeof(r.esi));
	r.originator = 0xc0000202;
	r.vni = 100;
	o = roundtrip(&r);
	cr_assert_eq(o.originator, 0xc0000202);
	cr_assert_eq(o.vni, 100);
	cr_assert_eq(o.nexthop, 0xc0000202);
}

Test(routes, es_route_with_es_import)
{
	struct evpn_route r = base(EVPN_RT_ES), o;

	evpn_rd_make(r.rd, 0xc0000202, 0);
	r.originator = 0xc0000202;
	memcpy(r.es_import, &r.esi.b[1], 6);
	o = roundtrip(&r);
	cr_assert_eq(o.type, EVPN_RT_ES);
	cr_assert_eq(o.originator, 0xc0000202);
	cr_assert_arr_eq(o.es_import, r.es_import, 6);
	cr_assert_arr_eq(o.esi.b, r.esi.b, ESI_LEN);
}

Test(routes, withdraw_flag_survives)
{
	struct evpn_route r = base(EVPN_RT_AD), o;

	r.etag = EVPN_MAX_ET;
	r.withdraw = true;
	o = roundtrip(&r);
	cr_assert(o.withdraw);
	cr_assert_eq(o.etag, EVPN_MAX_ET);
}

Test(routes, route_targets_keep_their_form)
{
	struct evpn_route r = base(EVPN_RT_AD);
	struct gb_route g;

	r.vni = 100;
	cr_assert_eq(evpn_route_to_gb(&r, &g), 0);
	cr_assert_eq(g.n_rts, 2);
	cr_assert_eq(g.rts[0].type, GB_ADMIN_AS2);
	cr_assert_eq(g.rts[0].admin, 65000);
	cr_assert_eq(g.rts[0].assigned, 100);
	cr_assert_eq(g.rts[1].type, GB_ADMIN_IP4);
	cr_assert_eq(g.rts[1].admin, htonl(0xc0000202), "IPv4 admin in network order");
	cr_assert(g.attrs & GB_ATTR_ENCAP);
	cr_assert_eq(g.encap, GB_ENCAP_VXLAN);
}

Test(routes, unknown_type_is_refused)
{
	struct evpn_route r = base(9), o;
	struct gb_route g = { .type = 5 };

	cr_assert_eq(evpn_route_to_gb(&r, &g), -EINVAL);
	g.type = 5;
	cr_assert_eq(evpn_route_from_gb(&g, &o), -EINVAL);
}

/* The model imports by the received route targets: they must survive. */
Test(routes, received_route_targets_are_kept)
{
	struct evpn_route r = base(EVPN_RT_MAC), o;

	r.vni = 100;
	r.mac[0] = 2;
	o = roundtrip(&r);
	cr_assert_eq(o.n_rts, 2);
	cr_assert_eq(o.rts[0].kind, XCFG_RT_AS2);
	cr_assert_eq(o.rts[0].admin, 65000);
	cr_assert_eq(o.rts[0].assigned, 100);
	cr_assert_eq(o.rts[1].kind, XCFG_RT_IP4);
	cr_assert_eq(o.rts[1].admin, 0xc0000202, "IPv4 admin back in host order");
	cr_assert_eq(o.rts[1].assigned, 7);
}
