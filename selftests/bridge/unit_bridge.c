// SPDX-License-Identifier: GPL-2.0
/*
 * gobgp-bridge codec: every EVPN route type encoded to apipb.Path bytes and
 * decoded back, compared field by field; bad input gets an error, never a
 * crash; unknown attributes and extended communities are skipped and counted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "codec.h"
#include "google/protobuf/any.pb-c.h"

static const uint8_t MAC1[6] = { 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01 };
static const uint8_t SYSMAC[6] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 };

static struct gb_ip ip4(const char *s)
{
	struct gb_ip ip = { .family = AF_INET };

	cr_assert_eq(inet_pton(AF_INET, s, &ip.v4), 1);
	return ip;
}

static struct gb_ip ip6(const char *s)
{
	struct gb_ip ip = { .family = AF_INET6 };

	cr_assert_eq(inet_pton(AF_INET6, s, &ip.v6), 1);
	return ip;
}

static uint32_t addr(const char *s)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void assert_ip_eq(const struct gb_ip *a, const struct gb_ip *b, const char *what)
{
	cr_assert_eq(a->family, b->family, "%s family", what);
	if (a->family == AF_INET)
		cr_assert_eq(a->v4.s_addr, b->v4.s_addr, "%s v4", what);
	else if (a->family == AF_INET6)
		cr_assert_arr_eq(&a->v6, &b->v6, 16, "%s v6", what);
}

/* Field-by-field comparison of everything a route carries on the wire. */
static void assert_route_eq(const struct gb_route *got, const struct gb_route *want)
{
	cr_assert_eq(got->type, want->type, "type");
	cr_assert_eq(got->rd.type, want->rd.type, "rd type");
	cr_assert_eq(got->rd.admin, want->rd.admin, "rd admin");
	cr_assert_eq(got->rd.assigned, want->rd.assigned, "rd assigned");
	cr_assert_arr_eq(got->esi.b, want->esi.b, GB_ESI_LEN, "esi");
	cr_assert_eq(got->eth_tag, want->eth_tag, "eth tag");
	if (want->type == GB_ROUTE_MACIP)
		cr_assert_arr_eq(got->mac, want->mac, 6, "mac");
	assert_ip_eq(&got->ip, &want->ip, "ip");
	if (want->type == GB_ROUTE_AD || want->type == GB_ROUTE_MACIP) {
		cr_assert_eq(got->n_labels, want->n_labels, "n_labels");
		for (int i = 0; i < want->n_labels; i++)
			cr_assert_eq(got->labels[i], want->labels[i], "label %d", i);
	}
	assert_ip_eq(&got->next_hop, &want->next_hop, "next hop");
	cr_assert_eq(got->n_rts, want->n_rts, "n_rts");
	for (int i = 0; i < want->n_rts; i++) {
		cr_assert_eq(got->rts[i].type, want->rts[i].type, "rt %d type", i);
		cr_assert_eq(got->rts[i].admin, want->rts[i].admin, "rt %d admin", i);
		cr_assert_eq(got->rts[i].assigned, want->rts[i].assigned, "rt %d assigned", i);
	}
	cr_assert_eq(got->attrs, want->attrs, "attrs %#x want %#x", got->attrs, want->attrs);
	cr_assert_eq(got->esi_label, want->esi_label, "esi label");
	cr_assert_eq(got->single_active, want->single_active, "single active");
	cr_assert_eq(got->mm_seq, want->mm_seq, "mac mobility seq");
	cr_assert_eq(got->sticky, want->sticky, "sticky");
	cr_assert_arr_eq(got->es_import, want->es_import, 6, "es-import");
	cr_assert_eq(got->pmsi.flags, want->pmsi.flags, "pmsi flags");
	cr_assert_eq(got->pmsi.tunnel_type, want->pmsi.tunnel_type, "pmsi type");
	cr_assert_eq(got->pmsi.label, want->pmsi.label, "pmsi label");
	assert_ip_eq(&got->pmsi.id, &want->pmsi.id, "pmsi id");
	cr_assert_eq(got->encap, want->encap, "encap");
	cr_assert_arr_eq(got->router_mac, want->router_mac, 6, "router mac");
	cr_assert(gb_route_equal(got, want), "gb_route_equal");
}

static void round_trip(const struct gb_route *in, struct gb_route *out, struct gb_decode_stats *st)
{
	uint8_t *buf;
	size_t len;

	cr_assert_eq(gb_route_encode(in, false, &buf, &len), 0, "encode");
	cr_assert_gt(len, 0);
	cr_assert_eq(gb_route_decode(buf, len, out, st), 0, "decode");
	free(buf);
}

static struct gb_route base_route(uint8_t type)
{
	struct gb_route r = { .type = type };

	r.rd = (struct gb_rd){ .type = GB_ADMIN_IP4, .admin = addr("192.0.2.1"), .assigned = 100 };
	r.next_hop = ip4("192.0.2.1");
	r.n_rts = 1;
	r.rts[0] = (struct gb_rt){ .type = GB_ADMIN_AS2, .admin = 65000, .assigned = 100 };
	r.attrs = GB_ATTR_ENCAP;
	r.encap = GB_ENCAP_VXLAN;
	return r;
}

Test(codec, type1_per_es_ad)
{
	struct gb_route r = base_route(GB_ROUTE_AD), out;
	struct gb_decode_stats st = { 0 };

	gb_esi_lacp(&r.esi, SYSMAC, 7);
	r.eth_tag = GB_ETAG_MAX;
	r.labels[0] = 0;
	r.n_labels = 1;
	r.attrs |= GB_ATTR_ESI_LABEL;
	r.single_active = true;
	r.esi_label = 0;
	round_trip(&r, &out, &st);
	assert_route_eq(&out, &r);
	cr_assert(out.single_active);
	cr_assert_eq(st.unknown_attrs + st.unknown_ext_comms, 0);
}

Test(codec, type1_per_evi_ad_vni)
{
	struct gb_route r = base_route(GB_ROUTE_AD), out;

	cr_assert_eq(gb_esi_parse("00:11:22:33:44:55:00:00:00:01", &r.esi), 0);
	r.eth_tag = 0;
	r.labels[0] = 10100;
	r.n_labels = 1;
	r.rd = (struct gb_rd){ .type = GB_ADMIN_AS4, .admin = 4200000001u, .assigned = 7 };
	round_trip(&r, &out, NULL);
	assert_route_eq(&out, &r);
}

Test(codec, type2_macip_all_attrs)
{
	struct gb_route r = base_route(GB_ROUTE_MACIP), out;

	gb_esi_mac(&r.esi, SYSMAC, 0x0a0b0c);
	r.eth_tag = 5;
	memcpy(r.mac, MAC1, 6);
	r.ip = ip4("198.51.100.10");
	r.labels[0] = 10100;
	r.labels[1] = 50000;
	r.n_labels = 2;
	r.n_rts = 3;
	r.rts[1] = (struct gb_rt){ .type = GB_ADMIN_IP4, .admin = addr("203.0.113.5"), .assigned = 9 };
	r.rts[2] = (struct gb_rt){ .type = GB_ADMIN_AS4, .admin = 4200000002u, .assigned = 11 };
	r.attrs |= GB_ATTR_MAC_MOBILITY | GB_ATTR_DEFAULT_GW | GB_ATTR_ROUTER_MAC;
	r.mm_seq = 42;
	r.sticky = true;
	memcpy(r.router_mac, SYSMAC, 6);
	round_trip(&r, &out, NULL);
	assert_route_eq(&out, &r);
}

Test(codec, type2_mac_only_and_ipv6)
{
	struct gb_route r = base_route(GB_ROUTE_MACIP), out;

	memcpy(r.mac, MAC1, 6);
	r.labels[0] = 100;
	r.n_labels = 1;
	r.rd = (struct gb_rd){ .type = GB_ADMIN_AS2, .admin = 65001, .assigned = 123456 };
	round_trip(&r, &out, NULL); /* no IP, zero ESI (single-homed) */
	assert_route_eq(&out, &r);
	cr_assert_eq(out.ip.family, 0);
	cr_assert(gb_esi_is_zero(&out.esi));

	r.ip = ip6("2001:db8::10");
	r.next_hop = ip6("2001:db8::1");
	round_trip(&r, &out, NULL);
	assert_route_eq(&out, &r);
}

Test(codec, type3_imet_pmsi)
{
	struct gb_route r = base_route(GB_ROUTE_IMET), out;

	r.eth_tag = 0;
	r.ip = ip4("192.0.2.1");
	r.attrs |= GB_ATTR_PMSI;
	r.pmsi = (struct gb_pmsi){ .tunnel_type = GB_PMSI_INGRESS_REPL, .label = 10100,
				   .id = ip4("192.0.2.1") };
	round_trip(&r, &out, NULL);
	assert_route_eq(&out, &r);

	r.ip = ip6("2001:db8::1");
	r.pmsi.id = ip6("2001:db8::1");
	r.pmsi.flags = 1;
	round_trip(&r, &out, NULL);
	assert_route_eq(&out, &r);
}

Test(codec, type4_es_route_type0_esi_gets_es_import)
{
	struct gb_route r = base_route(GB_ROUTE_ES), out;
	const uint8_t want[6] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 };

	cr_assert_eq(gb_esi_parse("00:00:11:22:33:44:55:00:00:01", &r.esi), 0);
	r.ip = ip4("192.0.2.1");
	r.n_rts = 0;
	round_trip(&r, &out, NULL);
	/* derived from the high-order 6 octets of the ESI value */
	cr_assert(out.attrs & GB_ATTR_ES_IMPORT);
	cr_assert_arr_eq(out.es_import, want, 6);
	r.attrs |= GB_ATTR_ES_IMPORT;
	memcpy(r.es_import, want, 6);
	assert_route_eq(&out, &r);

	/* an explicit ES-Import is kept as given */
	memcpy(r.es_import, MAC1, 6);
	round_trip(&r, &out, NULL);
	assert_route_eq(&out, &r);
}

Test(codec, every_esi_type)
{
	for (int t = 0; t <= 5; t++) {
		struct gb_route r = base_route(GB_ROUTE_AD), out;

		for (int i = 1; i < GB_ESI_LEN; i++)
			r.esi.b[i] = 0x10 * t + i;
		r.esi.b[0] = t;
		if (t != 0 && t != 3)
			r.esi.b[9] = 0;
		r.n_labels = 1;
		round_trip(&r, &out, NULL);
		assert_route_eq(&out, &r);
	}
}

Test(codec, esi_text)
{
	struct gb_esi e;
	char buf[32];

	cr_assert_eq(gb_esi_parse("00:11:22:33:44:55:00:00:00:01", &e), 0);
	gb_esi_format(&e, buf, sizeof(buf));
	cr_assert_str_eq(buf, "00:11:22:33:44:55:00:00:00:01");
	cr_assert_eq(gb_esi_parse("00:11:22", &e), -EINVAL);
	cr_assert_eq(gb_esi_parse("00:11:22:33:44:55:00:00:00:01:02", &e), -EINVAL);
	cr_assert_eq(gb_esi_parse("zz:11:22:33:44:55:00:00:00:01", &e), -EINVAL);
	gb_esi_lacp(&e, SYSMAC, 0x1234);
	gb_esi_format(&e, buf, sizeof(buf));
	cr_assert_str_eq(buf, "01:00:11:22:33:44:55:12:34:00");
}

Test(codec, route_identity)
{
	struct gb_route a = base_route(GB_ROUTE_MACIP), b;

	memcpy(a.mac, MAC1, 6);
	a.n_labels = 1;
	b = a;
	b.esi.b[0] = 3; /* ESI is an attribute of a type-2 route, not part of its key */
	b.labels[0] = 7;
	cr_assert(gb_route_same_nlri(&a, &b));
	cr_assert_not(gb_route_equal(&a, &b));
	b = a;
	b.mac[5] ^= 1;
	cr_assert_not(gb_route_same_nlri(&a, &b));
	b = a;
	b.next_hop = ip4("192.0.2.2");
	cr_assert(gb_route_same_nlri(&a, &b));
	cr_assert_not(gb_route_equal(&a, &b));
}

Test(codec, withdraw_carries_nlri_and_esi_only)
{
	struct gb_route r = base_route(GB_ROUTE_AD), out;
	uint8_t *buf;
	size_t len;

	gb_esi_lacp(&r.esi, SYSMAC, 1);
	r.eth_tag = GB_ETAG_MAX;
	r.n_labels = 1;
	r.next_hop.family = 0; /* a withdrawal needs no attributes */
	cr_assert_eq(gb_route_encode(&r, true, &buf, &len), 0);
	cr_assert_eq(gb_route_decode(buf, len, &out, NULL), 0);
	free(buf);
	cr_assert(out.is_withdraw);
	cr_assert(gb_route_same_nlri(&out, &r));
	cr_assert_arr_eq(out.esi.b, r.esi.b, GB_ESI_LEN);
	cr_assert_eq(out.n_rts, 0);
}

struct bad_case {
	const char *name;
	void (*mutate)(struct gb_route *r);
};

static void no_nh(struct gb_route *r) { r->next_hop.family = 0; }
static void no_labels(struct gb_route *r) { r->n_labels = 0; }
static void big_label(struct gb_route *r) { r->labels[0] = 0x1000000; }
static void bad_type(struct gb_route *r) { r->type = 5; }
static void esi_type6(struct gb_route *r) { r->esi.b[0] = 6; }
static void esi1_last(struct gb_route *r) { r->esi.b[0] = 1; r->esi.b[9] = 1; }
static void rd_as2_big(struct gb_route *r) { r->rd.type = GB_ADMIN_AS2; r->rd.admin = 70000; }
static void too_many_rts(struct gb_route *r) { r->n_rts = GB_MAX_RTS + 1; }
static void imet_no_ip(struct gb_route *r) { r->type = GB_ROUTE_IMET; r->ip.family = 0; }
static void es_zero_esi(struct gb_route *r)
{
	r->type = GB_ROUTE_ES;
	r->ip = ip4("192.0.2.1");
	memset(&r->esi, 0, sizeof(r->esi));
}
static void pmsi_no_id(struct gb_route *r)
{
	r->attrs |= GB_ATTR_PMSI;
	r->pmsi.tunnel_type = GB_PMSI_INGRESS_REPL;
}

Test(codec, invalid_routes_refused)
{
	static const struct bad_case cases[] = {
		{ "no next hop", no_nh },          { "type 2 no labels", no_labels },
		{ "label > 24 bits", big_label },  { "route type 5", bad_type },
		{ "ESI type 6", esi_type6 },       { "ESI type 1 last octet", esi1_last },
		{ "RD AS2 > 65535", rd_as2_big },  { "too many RTs", too_many_rts },
		{ "IMET without IP", imet_no_ip }, { "ES route zero ESI", es_zero_esi },
		{ "PMSI without id", pmsi_no_id },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gb_route r = base_route(GB_ROUTE_MACIP);
		const char *why = NULL;
		uint8_t *buf = (uint8_t *)1;
		size_t len = 1;

		memcpy(r.mac, MAC1, 6);
		r.n_labels = 1;
		cr_assert_eq(gb_route_validate(&r, &why), 0, "base route valid: %s", why);
		cases[i].mutate(&r);
		cr_assert_eq(gb_route_validate(&r, &why), -EINVAL, "%s accepted", cases[i].name);
		cr_assert_not_null(why, "%s: no reason", cases[i].name);
		cr_assert_eq(gb_route_encode(&r, false, &buf, &len), -EINVAL, "%s encoded",
			     cases[i].name);
		cr_assert_null(buf);
	}
}

/* Build a packed Path by hand: nlri Any + attribute Anys. */
static uint8_t *pack_path(Google__Protobuf__Any *nlri, Google__Protobuf__Any **attrs, size_t n,
			  size_t *len)
{
	Apipb__Path p = APIPB__PATH__INIT;
	uint8_t *buf;

	p.nlri = nlri;
	p.pattrs = attrs;
	p.n_pattrs = n;
	*len = protobuf_c_message_get_packed_size(&p.base);
	buf = malloc(*len + 1);
	protobuf_c_message_pack(&p.base, buf);
	return buf;
}

static Google__Protobuf__Any make_any(const char *url, const ProtobufCMessage *m, uint8_t *store)
{
	Google__Protobuf__Any a = GOOGLE__PROTOBUF__ANY__INIT;

	a.type_url = (char *)url;
	a.value.data = store;
	a.value.len = m ? protobuf_c_message_pack(m, store) : 0;
	return a;
}

Test(decode, missing_nlri)
{
	struct gb_route r;
	size_t len;
	uint8_t *buf = pack_path(NULL, NULL, 0, &len);

	cr_assert_eq(gb_route_decode(buf, len, &r, NULL), -ENOENT);
	free(buf);
	cr_assert_eq(gb_route_decode(NULL, 0, &r, NULL), -ENOENT, "empty message = no NLRI");
}

Test(decode, wrong_any_type)
{
	Apipb__IPAddressPrefix pfx = APIPB__IPADDRESS_PREFIX__INIT;
	uint8_t store[128];
	Google__Protobuf__Any nlri;
	struct gb_route r;
	size_t len;
	uint8_t *buf;

	pfx.prefix = "198.51.100.0";
	pfx.prefix_len = 24;
	nlri = make_any("type.googleapis.com/apipb.IPAddressPrefix", &pfx.base, store);
	buf = pack_path(&nlri, NULL, 0, &len);
	cr_assert_eq(gb_route_decode(buf, len, &r, NULL), -EPROTONOSUPPORT);
	free(buf);

	/* right type name, wrong content: an IPAddressPrefix body in an EVPN Any */
	nlri = make_any("type.googleapis.com/apipb.EVPNMACIPAdvertisementRoute", &pfx.base, store);
	buf = pack_path(&nlri, NULL, 0, &len);
	cr_assert_lt(gb_route_decode(buf, len, &r, NULL), 0);
	free(buf);
}

Test(decode, truncated_bytes_never_crash)
{
	struct gb_route r = base_route(GB_ROUTE_MACIP), out;
	uint8_t *buf;
	size_t len;
	int errors = 0;

	gb_esi_mac(&r.esi, SYSMAC, 1);
	memcpy(r.mac, MAC1, 6);
	r.ip = ip4("198.51.100.10");
	r.n_labels = 1;
	r.labels[0] = 10100;
	cr_assert_eq(gb_route_encode(&r, false, &buf, &len), 0);
	for (size_t cut = 0; cut < len; cut++) {
		/* a copy of exactly `cut` bytes so ASan sees any overread */
		uint8_t *t = malloc(cut ? cut : 1);

		memcpy(t, buf, cut);
		if (gb_route_decode(t, cut, &out, NULL) < 0)
			errors++;
		else /* a cut on a field boundary may leave a valid, shorter path */
			cr_assert(gb_route_same_nlri(&out, &r), "cut %zu decoded another route", cut);
		free(t);
	}
	cr_assert_gt(errors, (int)len / 2, "only %d of %zu truncations refused", errors, len);
	/* truncated inside the NLRI Any: refused */
	cr_assert_lt(gb_route_decode(buf, 10, &out, NULL), 0);
	free(buf);
}

Test(decode, garbage_bytes)
{
	uint8_t junk[64];
	struct gb_route r;

	for (int seed = 1; seed < 200; seed++) {
		srand(seed);
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = rand();
		(void)gb_route_decode(junk, sizeof(junk), &r, NULL); /* must not crash */
	}
	memset(junk, 0xff, sizeof(junk));
	cr_assert_eq(gb_route_decode(junk, sizeof(junk), &r, NULL), -EBADMSG);
}

Test(decode, unknown_attrs_and_ext_comms_counted)
{
	struct gb_route r = base_route(GB_ROUTE_IMET), out;
	struct gb_decode_stats st = { 0 };
	Apipb__Path *p;
	uint8_t *buf;
	size_t len;
	Apipb__UnknownAttribute ua = APIPB__UNKNOWN_ATTRIBUTE__INIT;
	Apipb__TwoOctetAsSpecificExtended origin = APIPB__TWO_OCTET_AS_SPECIFIC_EXTENDED__INIT;
	Apipb__UnknownExtended ue = APIPB__UNKNOWN_EXTENDED__INIT;
	Apipb__ExtendedCommunitiesAttribute ec = APIPB__EXTENDED_COMMUNITIES_ATTRIBUTE__INIT;
	uint8_t s1[64], s2[64], s3[64], s4[256], s5[8];
	Google__Protobuf__Any c[3], a[3], *cp[3], *ap[3];

	r.ip = ip4("192.0.2.1");
	cr_assert_eq(gb_route_encode(&r, false, &buf, &len), 0);
	p = apipb__path__unpack(NULL, len, buf);
	cr_assert_not_null(p);
	free(buf);

	ua.type = 99;
	origin.is_transitive = true;
	origin.sub_type = 0x03; /* route origin: not a route target */
	origin.asn = 65000;
	ue.type = 0x42;
	c[0] = make_any("type.googleapis.com/apipb.TwoOctetAsSpecificExtended", &origin.base, s1);
	c[1] = make_any("type.googleapis.com/apipb.UnknownExtended", &ue.base, s2);
	c[2] = make_any("type.googleapis.com/apipb.DFElectionExtended", NULL, s5);
	for (int i = 0; i < 3; i++)
		cp[i] = &c[i];
	ec.communities = cp;
	ec.n_communities = 3;
	a[0] = make_any("type.googleapis.com/apipb.UnknownAttribute", &ua.base, s3);
	a[1] = make_any("type.googleapis.com/apipb.ExtendedCommunitiesAttribute", &ec.base, s4);
	a[2] = make_any("type.googleapis.com/apipb.SomethingNew", NULL, s5);
	for (int i = 0; i < 3; i++)
		ap[i] = &a[i];
	{
		/* keep the original attributes, add the unknown ones */
		size_t n = p->n_pattrs;
		Google__Protobuf__Any **all = calloc(n + 3, sizeof(*all));
		Google__Protobuf__Any **orig = p->pattrs;

		memcpy(all, orig, n * sizeof(*all));
		memcpy(all + n, ap, sizeof(ap));
		p->pattrs = all;
		p->n_pattrs = n + 3;
		len = protobuf_c_message_get_packed_size(&p->base);
		buf = malloc(len);
		protobuf_c_message_pack(&p->base, buf);
		p->pattrs = orig;
		p->n_pattrs = n;
		free(all);
	}
	apipb__path__free_unpacked(p, NULL);

	cr_assert_eq(gb_route_decode(buf, len, &out, &st), 0, "unknown content is not fatal");
	free(buf);
	assert_route_eq(&out, &r);
	cr_assert_eq(st.unknown_attrs, 2, "unknown attrs %lu", (unsigned long)st.unknown_attrs);
	cr_assert_eq(st.unknown_ext_comms, 3, "unknown ext comms %lu",
		     (unsigned long)st.unknown_ext_comms);
}

Test(codec, format)
{
	struct gb_route r = base_route(GB_ROUTE_MACIP);
	char buf[256];

	memcpy(r.mac, MAC1, 6);
	r.n_labels = 1;
	r.labels[0] = 10100;
	gb_route_format(&r, buf, sizeof(buf));
	cr_assert(strstr(buf, "[2][192.0.2.1:100]"), "%s", buf);
	cr_assert(strstr(buf, "02:00:5e:00:53:01"), "%s", buf);
	cr_assert(strstr(buf, "vni 10100"), "%s", buf);
}

/* gobgpd dereferences the ESI of types 1, 2 and 4 unchecked: the NLRI on the
 * wire must carry one (type 0, nine zero octets for single-homed), on adds
 * and on withdrawals alike. Checked on the raw protobuf, not via our decoder. */
Test(codec, esi_always_on_the_wire)
{
	struct gb_route r = base_route(GB_ROUTE_MACIP);

	memcpy(r.mac, MAC1, 6);
	r.n_labels = 1;
	r.labels[0] = 100;
	for (int withdraw = 0; withdraw < 2; withdraw++) {
		Apipb__EVPNMACIPAdvertisementRoute *m;
		Apipb__Path *p;
		uint8_t *buf;
		size_t len;

		cr_assert_eq(gb_route_encode(&r, withdraw, &buf, &len), 0);
		p = apipb__path__unpack(NULL, len, buf);
		cr_assert_not_null(p);
		cr_assert_not_null(p->nlri);
		cr_assert(strstr(p->nlri->type_url, "apipb.EVPNMACIPAdvertisementRoute"));
		m = apipb__evpnmacipadvertisement_route__unpack(NULL, p->nlri->value.len,
							     p->nlri->value.data);
		cr_assert_not_null(m);
		cr_assert_not_null(m->esi, "ESI present (withdraw %d)", withdraw);
		cr_assert_eq(m->esi->type, 0);
		cr_assert_eq(m->esi->value.len, GB_ESI_LEN - 1);
		for (size_t i = 0; i < m->esi->value.len; i++)
			cr_assert_eq(m->esi->value.data[i], 0);
		cr_assert_eq(p->is_withdraw, (protobuf_c_boolean)withdraw);
		apipb__evpnmacipadvertisement_route__free_unpacked(m, NULL);
		apipb__path__free_unpacked(p, NULL);
		free(buf);
	}
}

/* attrs with only bits no extended community stands for: no empty slot in
 * the attribute list (protobuf-c would dereference it), the route still goes. */
Test(codec, unknown_attr_bits_do_not_crash)
{
	struct gb_route r = base_route(GB_ROUTE_IMET), out;

	r.ip = ip4("192.0.2.1");
	r.n_rts = 0;
	r.attrs = 1u << 30;
	round_trip(&r, &out, NULL);
	cr_assert_eq(out.type, GB_ROUTE_IMET);
	cr_assert_eq(out.attrs, 0);
	cr_assert_eq(out.n_rts, 0);
	assert_ip_eq(&out.next_hop, &r.next_hop, "next hop");
}
