// SPDX-License-Identifier: GPL-2.0
/*
 * EVPN route structs <-> GoBGP apipb.Path.
 *
 * GoBGP wraps every NLRI, path attribute, RD and extended community in a
 * google.protobuf.Any whose type URL ends in the message's full name
 * ("apipb.X"). Encoding builds the protobuf-c structs on the stack, with
 * every nested allocation recorded in a small arena freed at the end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "google/protobuf/any.pb-c.h"

#define TYPE_URL_PREFIX "type.googleapis.com/"

/* Extended community sub-type of a route target (RFC 4360 §4). */
#define EC_SUBTYPE_RT 0x02
/* BGP origin IGP: gobgpd refuses paths without ORIGIN. */
#define ORIGIN_IGP 0

struct arena {
	void  **p;
	size_t  n, cap;
	bool    failed;
};

static void *arena_alloc(struct arena *a, size_t size)
{
	void *m;

	if (a->failed)
		return NULL;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		void **np = realloc(a->p, cap * sizeof(*np));

		if (!np) {
			a->failed = true;
			return NULL;
		}
		a->p = np;
		a->cap = cap;
	}
	m = calloc(1, size ? size : 1);
	if (!m) {
		a->failed = true;
		return NULL;
	}
	a->p[a->n++] = m;
	return m;
}

static void arena_free(struct arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->p[i]);
	free(a->p);
	memset(a, 0, sizeof(*a));
}

/* Pack message m into a new Any allocated from the arena. */
static Google__Protobuf__Any *any_pack(struct arena *a, const ProtobufCMessage *m)
{
	Google__Protobuf__Any *any;
	size_t len;
	uint8_t *buf;
	char *url;

	/* after a failed allocation m may hold NULL sub-messages: never size it */
	if (a->failed)
		return NULL;
	any = arena_alloc(a, sizeof(*any));
	len = protobuf_c_message_get_packed_size(m);
	buf = arena_alloc(a, len);
	url = arena_alloc(a, sizeof(TYPE_URL_PREFIX) + strlen(m->descriptor->name));
	if (!any || !buf || !url)
		return NULL;
	google__protobuf__any__init(any);
	strcpy(url, TYPE_URL_PREFIX);
	strcat(url, m->descriptor->name);
	any->type_url = url;
	any->value.len = protobuf_c_message_pack(m, buf);
	any->value.data = buf;
	return any;
}

static bool any_is(const Google__Protobuf__Any *any, const ProtobufCMessageDescriptor *d)
{
	const char *slash;

	if (!any || !any->type_url)
		return false;
	slash = strrchr(any->type_url, '/');
	return strcmp(slash ? slash + 1 : any->type_url, d->name) == 0;
}

static ProtobufCMessage *any_unpack(const Google__Protobuf__Any *any,
				    const ProtobufCMessageDescriptor *d)
{
	return protobuf_c_message_unpack(d, NULL, any->value.len, any->value.data);
}

static void ip_format(const struct gb_ip *ip, char *buf, size_t len)
{
	if (ip->family == AF_INET)
		inet_ntop(AF_INET, &ip->v4, buf, len);
	else if (ip->family == AF_INET6)
		inet_ntop(AF_INET6, &ip->v6, buf, len);
	else
		buf[0] = 0;
}

/* GoBGP prints an absent address as "<nil>". */
static int ip_parse(const char *s, struct gb_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (!s || !*s || !strcmp(s, "<nil>"))
		return 0;
	if (inet_pton(AF_INET, s, &ip->v4) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &ip->v6) == 1) {
		ip->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static void mac_format(const uint8_t *m, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static int mac_parse(const char *s, uint8_t *m)
{
	unsigned v[6];
	char tail;

	if (!s || sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			 &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 0xff)
			return -EINVAL;
		m[i] = v[i];
	}
	return 0;
}

static bool ip_equal(const struct gb_ip *a, const struct gb_ip *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->v4.s_addr == b->v4.s_addr;
	if (a->family == AF_INET6)
		return !memcmp(&a->v6, &b->v6, sizeof(a->v6));
	return true;
}

/* ---------- ESI ---------- */

bool gb_esi_is_zero(const struct gb_esi *esi)
{
	for (int i = 0; i < GB_ESI_LEN; i++)
		if (esi->b[i])
			return false;
	return true;
}

void gb_esi_lacp(struct gb_esi *esi, const uint8_t sys_mac[6], uint16_t port_key)
{
	memset(esi, 0, sizeof(*esi));
	esi->b[0] = 1;
	memcpy(&esi->b[1], sys_mac, 6);
	esi->b[7] = port_key >> 8;
	esi->b[8] = port_key & 0xff;
}

void gb_esi_mac(struct gb_esi *esi, const uint8_t sys_mac[6], uint32_t discriminator)
{
	memset(esi, 0, sizeof(*esi));
	esi->b[0] = 3;
	memcpy(&esi->b[1], sys_mac, 6);
	esi->b[7] = (discriminator >> 16) & 0xff;
	esi->b[8] = (discriminator >> 8) & 0xff;
	esi->b[9] = discriminator & 0xff;
}

int gb_esi_parse(const char *s, struct gb_esi *esi)
{
	unsigned v[GB_ESI_LEN];
	int n = 0;
	char tail;

	if (!s)
		return -EINVAL;
	n = sscanf(s, "%x:%x:%x:%x:%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5], &v[6], &v[7], &v[8], &v[9], &tail);
	if (n != GB_ESI_LEN)
		return -EINVAL;
	for (int i = 0; i < GB_ESI_LEN; i++) {
		if (v[i] > 0xff)
			return -EINVAL;
		esi->b[i] = v[i];
	}
	return 0;
}

void gb_esi_format(const struct gb_esi *esi, char *buf, size_t len)
{
	const uint8_t *b = esi->b;

	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x:%02x:%02x:%02x:%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]);
}

/* ---------- validation, identity ---------- */

static int admin_check(uint8_t type, uint32_t admin, uint32_t assigned)
{
	switch (type) {
	case GB_ADMIN_AS2:
		return admin <= 0xffff ? 0 : -EINVAL;
	case GB_ADMIN_IP4:
	case GB_ADMIN_AS4:
		return assigned <= 0xffff ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

#define BAD(msg) do { if (why) *why = (msg); return -EINVAL; } while (0)

int gb_codec_validate_nlri(const struct gb_route *r, const char **why)
{
	if (!r)
		BAD("no route");
	if (r->type < GB_ROUTE_AD || r->type > GB_ROUTE_ES)
		BAD("route type must be 1-4");
	if (admin_check(r->rd.type, r->rd.admin, r->rd.assigned))
		BAD("bad route distinguisher");
	if (r->esi.b[0] > 5)
		BAD("ESI type must be 0-5");
	/* gobgpd refuses ESI types 1, 2, 4, 5 unless the last octet is zero */
	if (r->esi.b[0] != 0 && r->esi.b[0] != 3 && r->esi.b[9] != 0)
		BAD("ESI types 1, 2, 4, 5 need a zero last octet");
	if (r->ip.family && r->ip.family != AF_INET && r->ip.family != AF_INET6)
		BAD("bad IP family");
	switch (r->type) {
	case GB_ROUTE_AD:
		if (gb_esi_is_zero(&r->esi))
			BAD("type 1 needs a non-zero ESI");
		if (r->n_labels > 1)
			BAD("type 1 carries one label");
		break;
	case GB_ROUTE_MACIP:
		if (r->n_labels < 1 || r->n_labels > GB_MAX_LABELS)
			BAD("type 2 needs 1 or 2 labels");
		break;
	case GB_ROUTE_IMET:
		if (!r->ip.family)
			BAD("type 3 needs the originating router IP");
		break;
	case GB_ROUTE_ES:
		if (gb_esi_is_zero(&r->esi))
			BAD("type 4 needs a non-zero ESI");
		if (!r->ip.family)
			BAD("type 4 needs the originating router IP");
		break;
	}
	for (int i = 0; i < r->n_labels && i < GB_MAX_LABELS; i++)
		if (r->labels[i] > 0xffffff)
			BAD("label/VNI above 24 bits");
	return 0;
}

int gb_route_validate(const struct gb_route *r, const char **why)
{
	int err = gb_codec_validate_nlri(r, why);

	if (err)
		return err;
	if (r->next_hop.family != AF_INET && r->next_hop.family != AF_INET6)
		BAD("no next hop");
	if (r->n_rts > GB_MAX_RTS)
		BAD("too many route targets");
	for (int i = 0; i < r->n_rts; i++)
		if (admin_check(r->rts[i].type, r->rts[i].admin, r->rts[i].assigned))
			BAD("bad route target");
	if ((r->attrs & GB_ATTR_ESI_LABEL) && r->esi_label > 0xffffff)
		BAD("ESI label above 24 bits");
	if (r->attrs & GB_ATTR_PMSI) {
		if (r->pmsi.label > 0xffffff)
			BAD("PMSI label above 24 bits");
		if (r->pmsi.tunnel_type == GB_PMSI_INGRESS_REPL &&
		    r->pmsi.id.family != AF_INET && r->pmsi.id.family != AF_INET6)
			BAD("ingress replication PMSI needs a tunnel address");
	}
	return 0;
}

static void key_put(struct gb_key *k, const void *p, size_t n)
{
	if (k->len + n > GB_KEY_MAX)
		n = GB_KEY_MAX - k->len;
	memcpy(&k->b[k->len], p, n);
	k->len += n;
}

static void key_put32(struct gb_key *k, uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

	key_put(k, b, 4);
}

static void key_put_ip(struct gb_key *k, const struct gb_ip *ip)
{
	key_put(k, &ip->family, 1);
	if (ip->family == AF_INET)
		key_put(k, &ip->v4, 4);
	else if (ip->family == AF_INET6)
		key_put(k, &ip->v6, 16);
}

/* RFC 7432 §7.1-7.4: which NLRI fields are the route key. */
void gb_route_key(const struct gb_route *r, struct gb_key *k)
{
	memset(k, 0, sizeof(*k));
	key_put(k, &r->type, 1);
	key_put(k, &r->rd.type, 1);
	key_put32(k, r->rd.admin);
	key_put32(k, r->rd.assigned);
	switch (r->type) {
	case GB_ROUTE_AD:
		key_put(k, r->esi.b, GB_ESI_LEN);
		key_put32(k, r->eth_tag);
		break;
	case GB_ROUTE_MACIP:
		key_put32(k, r->eth_tag);
		key_put(k, r->mac, 6);
		key_put_ip(k, &r->ip);
		break;
	case GB_ROUTE_IMET:
		key_put32(k, r->eth_tag);
		key_put_ip(k, &r->ip);
		break;
	case GB_ROUTE_ES:
		key_put(k, r->esi.b, GB_ESI_LEN);
		key_put_ip(k, &r->ip);
		break;
	}
}

bool gb_route_same_nlri(const struct gb_route *a, const struct gb_route *b)
{
	struct gb_key ka, kb;

	gb_route_key(a, &ka);
	gb_route_key(b, &kb);
	return ka.len == kb.len && !memcmp(ka.b, kb.b, ka.len);
}

bool gb_route_equal(const struct gb_route *a, const struct gb_route *b)
{
	if (!gb_route_same_nlri(a, b))
		return false;
	/* NLRI fields outside the route key */
	if (memcmp(a->esi.b, b->esi.b, GB_ESI_LEN) || a->n_labels != b->n_labels)
		return false;
	for (int i = 0; i < a->n_labels && i < GB_MAX_LABELS; i++)
		if (a->labels[i] != b->labels[i])
			return false;
	if (!ip_equal(&a->next_hop, &b->next_hop) || a->n_rts != b->n_rts || a->attrs != b->attrs)
		return false;
	for (int i = 0; i < a->n_rts && i < GB_MAX_RTS; i++)
		if (a->rts[i].type != b->rts[i].type || a->rts[i].admin != b->rts[i].admin ||
		    a->rts[i].assigned != b->rts[i].assigned)
			return false;
	if ((a->attrs & GB_ATTR_ESI_LABEL) &&
	    (a->esi_label != b->esi_label || a->single_active != b->single_active))
		return false;
	if ((a->attrs & GB_ATTR_MAC_MOBILITY) && (a->mm_seq != b->mm_seq || a->sticky != b->sticky))
		return false;
	if ((a->attrs & GB_ATTR_ES_IMPORT) && memcmp(a->es_import, b->es_import, 6))
		return false;
	if ((a->attrs & GB_ATTR_PMSI) &&
	    (a->pmsi.flags != b->pmsi.flags || a->pmsi.tunnel_type != b->pmsi.tunnel_type ||
	     a->pmsi.label != b->pmsi.label || !ip_equal(&a->pmsi.id, &b->pmsi.id)))
		return false;
	if ((a->attrs & GB_ATTR_ENCAP) && a->encap != b->encap)
		return false;
	if ((a->attrs & GB_ATTR_ROUTER_MAC) && memcmp(a->router_mac, b->router_mac, 6))
		return false;
	return true;
}

void gb_route_normalize(const struct gb_route *r, struct gb_route *out)
{
	*out = *r;
	/* RFC 7432 §7.6: the ES-Import RT is derived from the high-order six
	 * octets of the ESI value for types 1-3; gobgpd does that itself only for
	 * those. Apply the same rule to every ESI type so a type-0 ES route is
	 * imported by exactly the PEs attached to that ES. */
	if (out->type == GB_ROUTE_ES && !(out->attrs & GB_ATTR_ES_IMPORT)) {
		out->attrs |= GB_ATTR_ES_IMPORT;
		memcpy(out->es_import, &out->esi.b[1], 6);
	}
	/* a type-1 route always carries exactly one label field */
	if (out->type == GB_ROUTE_AD && out->n_labels == 0) {
		out->labels[0] = 0;
		out->n_labels = 1;
	}
	out->is_withdraw = false;
	out->is_local = false;
	memset(&out->peer, 0, sizeof(out->peer));
	out->originator_id.s_addr = 0;
	out->source_asn = 0;
}

int gb_route_format(const struct gb_route *r, char *buf, size_t len)
{
	char rd[32], esi[32], mac[20], ip[INET6_ADDRSTRLEN], nh[INET6_ADDRSTRLEN];
	struct in_addr a = { .s_addr = r->rd.admin };

	if (r->rd.type == GB_ADMIN_IP4)
		snprintf(rd, sizeof(rd), "%s:%u", inet_ntoa(a), r->rd.assigned);
	else
		snprintf(rd, sizeof(rd), "%u:%u", r->rd.admin, r->rd.assigned);
	gb_esi_format(&r->esi, esi, sizeof(esi));
	mac_format(r->mac, mac, sizeof(mac));
	ip_format(&r->ip, ip, sizeof(ip));
	ip_format(&r->next_hop, nh, sizeof(nh));
	switch (r->type) {
	case GB_ROUTE_AD:
		return snprintf(buf, len, "[1][%s][%s][%u] label %u nh %s%s", rd, esi, r->eth_tag,
				r->n_labels ? r->labels[0] : 0, nh, r->is_withdraw ? " withdraw" : "");
	case GB_ROUTE_MACIP:
		return snprintf(buf, len, "[2][%s][%u][%s][%s] esi %s vni %u nh %s%s", rd, r->eth_tag,
				mac, ip, esi, r->n_labels ? r->labels[0] : 0, nh,
				r->is_withdraw ? " withdraw" : "");
	case GB_ROUTE_IMET:
		return snprintf(buf, len, "[3][%s][%u][%s] nh %s%s", rd, r->eth_tag, ip, nh,
				r->is_withdraw ? " withdraw" : "");
	case GB_ROUTE_ES:
		return snprintf(buf, len, "[4][%s][%s][%s] nh %s%s", rd, esi, ip, nh,
				r->is_withdraw ? " withdraw" : "");
	}
	return snprintf(buf, len, "[type %u?]", r->type);
}

/* ---------- encode ---------- */

static Google__Protobuf__Any *rd_pack(struct arena *a, const struct gb_rd *rd)
{
	Apipb__RouteDistinguisherTwoOctetASN as2 = APIPB__ROUTE_DISTINGUISHER_TWO_OCTET_ASN__INIT;
	Apipb__RouteDistinguisherIPAddress ip4 = APIPB__ROUTE_DISTINGUISHER_IPADDRESS__INIT;
	Apipb__RouteDistinguisherFourOctetASN as4 = APIPB__ROUTE_DISTINGUISHER_FOUR_OCTET_ASN__INIT;
	char addr[INET_ADDRSTRLEN];

	switch (rd->type) {
	case GB_ADMIN_AS2:
		as2.admin = rd->admin;
		as2.assigned = rd->assigned;
		return any_pack(a, &as2.base);
	case GB_ADMIN_IP4:
		inet_ntop(AF_INET, &rd->admin, addr, sizeof(addr));
		ip4.admin = addr;
		ip4.assigned = rd->assigned;
		return any_pack(a, &ip4.base);
	default:
		as4.admin = rd->admin;
		as4.assigned = rd->assigned;
		return any_pack(a, &as4.base);
	}
}

static Google__Protobuf__Any *rt_pack(struct arena *a, const struct gb_rt *rt)
{
	Apipb__TwoOctetAsSpecificExtended as2 = APIPB__TWO_OCTET_AS_SPECIFIC_EXTENDED__INIT;
	Apipb__IPv4AddressSpecificExtended ip4 = APIPB__IPV4_ADDRESS_SPECIFIC_EXTENDED__INIT;
	Apipb__FourOctetAsSpecificExtended as4 = APIPB__FOUR_OCTET_AS_SPECIFIC_EXTENDED__INIT;
	char addr[INET_ADDRSTRLEN];

	switch (rt->type) {
	case GB_ADMIN_AS2:
		as2.is_transitive = true;
		as2.sub_type = EC_SUBTYPE_RT;
		as2.asn = rt->admin;
		as2.local_admin = rt->assigned;
		return any_pack(a, &as2.base);
	case GB_ADMIN_IP4:
		inet_ntop(AF_INET, &rt->admin, addr, sizeof(addr));
		ip4.is_transitive = true;
		ip4.sub_type = EC_SUBTYPE_RT;
		ip4.address = addr;
		ip4.local_admin = rt->assigned;
		return any_pack(a, &ip4.base);
	default:
		as4.is_transitive = true;
		as4.sub_type = EC_SUBTYPE_RT;
		as4.asn = rt->admin;
		as4.local_admin = rt->assigned;
		return any_pack(a, &as4.base);
	}
}

static Apipb__EthernetSegmentIdentifier *esi_new(struct arena *a, const struct gb_esi *esi)
{
	Apipb__EthernetSegmentIdentifier *e = arena_alloc(a, sizeof(*e));
	uint8_t *v = arena_alloc(a, GB_ESI_LEN - 1);

	if (!e || !v)
		return NULL;
	apipb__ethernet_segment_identifier__init(e);
	e->type = esi->b[0];
	memcpy(v, &esi->b[1], GB_ESI_LEN - 1);
	e->value.data = v;
	e->value.len = GB_ESI_LEN - 1;
	return e;
}

static Google__Protobuf__Any *nlri_pack(struct arena *a, const struct gb_route *r)
{
	char ip[INET6_ADDRSTRLEN], mac[20];
	Google__Protobuf__Any *rd = rd_pack(a, &r->rd);

	if (!rd)
		return NULL;
	ip_format(&r->ip, ip, sizeof(ip));
	switch (r->type) {
	case GB_ROUTE_AD: {
		Apipb__EVPNEthernetAutoDiscoveryRoute m = APIPB__EVPNETHERNET_AUTO_DISCOVERY_ROUTE__INIT;

		m.rd = rd;
		m.esi = esi_new(a, &r->esi);
		m.ethernet_tag = r->eth_tag;
		m.label = r->n_labels ? r->labels[0] : 0;
		return m.esi ? any_pack(a, &m.base) : NULL;
	}
	case GB_ROUTE_MACIP: {
		Apipb__EVPNMACIPAdvertisementRoute m = APIPB__EVPNMACIPADVERTISEMENT_ROUTE__INIT;
		uint32_t labels[GB_MAX_LABELS];

		mac_format(r->mac, mac, sizeof(mac));
		for (int i = 0; i < r->n_labels; i++)
			labels[i] = r->labels[i];
		m.rd = rd;
		m.esi = esi_new(a, &r->esi);
		m.ethernet_tag = r->eth_tag;
		m.mac_address = mac;
		m.ip_address = ip;
		m.n_labels = r->n_labels;
		m.labels = labels;
		return m.esi ? any_pack(a, &m.base) : NULL;
	}
	case GB_ROUTE_IMET: {
		Apipb__EVPNInclusiveMulticastEthernetTagRoute m =
			APIPB__EVPNINCLUSIVE_MULTICAST_ETHERNET_TAG_ROUTE__INIT;

		m.rd = rd;
		m.ethernet_tag = r->eth_tag;
		m.ip_address = ip;
		return any_pack(a, &m.base);
	}
	default: {
		Apipb__EVPNEthernetSegmentRoute m = APIPB__EVPNETHERNET_SEGMENT_ROUTE__INIT;

		m.rd = rd;
		m.esi = esi_new(a, &r->esi);
		m.ip_address = ip;
		return m.esi ? any_pack(a, &m.base) : NULL;
	}
	}
}

static Google__Protobuf__Any *ext_comms_pack(struct arena *a, const struct gb_route *r)
{
	Apipb__ExtendedCommunitiesAttribute ec = APIPB__EXTENDED_COMMUNITIES_ATTRIBUTE__INIT;
	Google__Protobuf__Any *c[GB_MAX_RTS + 8];
	size_t n = 0;
	char mac[20];

	for (int i = 0; i < r->n_rts; i++)
		c[n++] = rt_pack(a, &r->rts[i]);
	if (r->attrs & GB_ATTR_ESI_LABEL) {
		Apipb__ESILabelExtended m = APIPB__ESILABEL_EXTENDED__INIT;

		m.is_single_active = r->single_active;
		m.label = r->esi_label;
		c[n++] = any_pack(a, &m.base);
	}
	if (r->attrs & GB_ATTR_MAC_MOBILITY) {
		Apipb__MacMobilityExtended m = APIPB__MAC_MOBILITY_EXTENDED__INIT;

		m.is_sticky = r->sticky;
		m.sequence_num = r->mm_seq;
		c[n++] = any_pack(a, &m.base);
	}
	if (r->attrs & GB_ATTR_ES_IMPORT) {
		Apipb__ESImportRouteTarget m = APIPB__ESIMPORT_ROUTE_TARGET__INIT;

		mac_format(r->es_import, mac, sizeof(mac));
		m.es_import = mac;
		c[n++] = any_pack(a, &m.base);
	}
	if (r->attrs & GB_ATTR_ENCAP) {
		Apipb__EncapExtended m = APIPB__ENCAP_EXTENDED__INIT;

		m.tunnel_type = r->encap;
		c[n++] = any_pack(a, &m.base);
	}
	if (r->attrs & GB_ATTR_DEFAULT_GW) {
		Apipb__DefaultGatewayExtended m = APIPB__DEFAULT_GATEWAY_EXTENDED__INIT;

		c[n++] = any_pack(a, &m.base);
	}
	if (r->attrs & GB_ATTR_ROUTER_MAC) {
		Apipb__RouterMacExtended m = APIPB__ROUTER_MAC_EXTENDED__INIT;

		mac_format(r->router_mac, mac, sizeof(mac));
		m.mac = mac;
		c[n++] = any_pack(a, &m.base);
	}
	if (!n)
		return NULL;
	ec.n_communities = n;
	ec.communities = c;
	return any_pack(a, &ec.base);
}

int gb_route_encode(const struct gb_route *in, bool withdraw, uint8_t **buf, size_t *len)
{
	Apipb__Path p = APIPB__PATH__INIT;
	Apipb__Family fam = APIPB__FAMILY__INIT;
	Apipb__OriginAttribute origin = APIPB__ORIGIN_ATTRIBUTE__INIT;
	Apipb__NextHopAttribute nh = APIPB__NEXT_HOP_ATTRIBUTE__INIT;
	Apipb__PmsiTunnelAttribute pmsi = APIPB__PMSI_TUNNEL_ATTRIBUTE__INIT;
	Google__Protobuf__Any *attrs[4];
	char nh_s[INET6_ADDRSTRLEN];
	struct arena a = { 0 };
	struct gb_route r;
	int err = withdraw ? gb_codec_validate_nlri(in, NULL) : gb_route_validate(in, NULL);

	*buf = NULL;
	*len = 0;
	if (err)
		return err;
	gb_route_normalize(in, &r);
	fam.afi = APIPB__FAMILY__AFI__AFI_L2VPN;
	fam.safi = APIPB__FAMILY__SAFI__SAFI_EVPN;
	p.family = &fam;
	p.is_withdraw = withdraw;
	p.nlri = nlri_pack(&a, &r);
	if (!withdraw) {
		size_t n = 0;

		origin.origin = ORIGIN_IGP;
		attrs[n++] = any_pack(&a, &origin.base);
		ip_format(&r.next_hop, nh_s, sizeof(nh_s));
		nh.next_hop = nh_s;
		attrs[n++] = any_pack(&a, &nh.base);
		if (r.n_rts || (r.attrs & ~GB_ATTR_PMSI)) {
			/* NULL also when attrs holds only bits no community is for */
			Google__Protobuf__Any *ec = ext_comms_pack(&a, &r);

			if (ec)
				attrs[n++] = ec;
		}
		if (r.attrs & GB_ATTR_PMSI) {
			uint8_t id[16];

			pmsi.flags = r.pmsi.flags;
			pmsi.type = r.pmsi.tunnel_type;
			pmsi.label = r.pmsi.label;
			if (r.pmsi.id.family == AF_INET) {
				memcpy(id, &r.pmsi.id.v4, 4);
				pmsi.id.len = 4;
			} else if (r.pmsi.id.family == AF_INET6) {
				memcpy(id, &r.pmsi.id.v6, 16);
				pmsi.id.len = 16;
			}
			pmsi.id.data = id;
			attrs[n++] = any_pack(&a, &pmsi.base);
		}
		p.n_pattrs = n;
		p.pattrs = attrs;
	}
	if (a.failed || !p.nlri) {
		arena_free(&a);
		return -ENOMEM;
	}
	*len = protobuf_c_message_get_packed_size(&p.base);
	*buf = malloc(*len ? *len : 1);
	if (!*buf) {
		arena_free(&a);
		return -ENOMEM;
	}
	protobuf_c_message_pack(&p.base, *buf);
	arena_free(&a);
	return 0;
}

/* ---------- decode ---------- */

static int rd_unpack(const Google__Protobuf__Any *any, struct gb_rd *rd)
{
	ProtobufCMessage *m;
	int err = 0;

	if (!any)
		return -EINVAL;
	if (any_is(any, &apipb__route_distinguisher_two_octet_asn__descriptor)) {
		Apipb__RouteDistinguisherTwoOctetASN *v;

		m = any_unpack(any, &apipb__route_distinguisher_two_octet_asn__descriptor);
		if (!m)
			return -EINVAL;
		v = (void *)m;
		rd->type = GB_ADMIN_AS2;
		rd->admin = v->admin;
		rd->assigned = v->assigned;
	} else if (any_is(any, &apipb__route_distinguisher_ipaddress__descriptor)) {
		Apipb__RouteDistinguisherIPAddress *v;
		struct in_addr addr = { 0 };

		m = any_unpack(any, &apipb__route_distinguisher_ipaddress__descriptor);
		if (!m)
			return -EINVAL;
		v = (void *)m;
		rd->type = GB_ADMIN_IP4;
		if (inet_pton(AF_INET, v->admin, &addr) != 1)
			err = -EINVAL;
		rd->admin = addr.s_addr;
		rd->assigned = v->assigned;
	} else if (any_is(any, &apipb__route_distinguisher_four_octet_asn__descriptor)) {
		Apipb__RouteDistinguisherFourOctetASN *v;

		m = any_unpack(any, &apipb__route_distinguisher_four_octet_asn__descriptor);
		if (!m)
			return -EINVAL;
		v = (void *)m;
		rd->type = GB_ADMIN_AS4;
		rd->admin = v->admin;
		rd->assigned = v->assigned;
	} else {
		return -EINVAL;
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return err;
}

static int esi_unpack(const Apipb__EthernetSegmentIdentifier *e, struct gb_esi *esi)
{
	memset(esi, 0, sizeof(*esi));
	if (!e)
		return -EINVAL;
	if (e->type > 0xff || e->value.len > GB_ESI_LEN - 1)
		return -EINVAL;
	esi->b[0] = e->type;
	if (e->value.len)
		memcpy(&esi->b[1], e->value.data, e->value.len);
	return 0;
}

static int labels_unpack(struct gb_route *r, size_t n, const uint32_t *labels)
{
	if (n > GB_MAX_LABELS)
		return -EINVAL;
	r->n_labels = n;
	for (size_t i = 0; i < n; i++)
		r->labels[i] = labels[i];
	return 0;
}

static int nlri_unpack(const Google__Protobuf__Any *any, struct gb_route *r)
{
	const ProtobufCMessageDescriptor *d;
	ProtobufCMessage *m;
	int err = 0;

	if (any_is(any, &apipb__evpnethernet_auto_discovery_route__descriptor))
		d = &apipb__evpnethernet_auto_discovery_route__descriptor;
	else if (any_is(any, &apipb__evpnmacipadvertisement_route__descriptor))
		d = &apipb__evpnmacipadvertisement_route__descriptor;
	else if (any_is(any, &apipb__evpninclusive_multicast_ethernet_tag_route__descriptor))
		d = &apipb__evpninclusive_multicast_ethernet_tag_route__descriptor;
	else if (any_is(any, &apipb__evpnethernet_segment_route__descriptor))
		d = &apipb__evpnethernet_segment_route__descriptor;
	else
		return -EPROTONOSUPPORT;
	m = any_unpack(any, d);
	if (!m)
		return -EBADMSG;
	if (d == &apipb__evpnethernet_auto_discovery_route__descriptor) {
		Apipb__EVPNEthernetAutoDiscoveryRoute *v = (void *)m;

		r->type = GB_ROUTE_AD;
		err = rd_unpack(v->rd, &r->rd) ?: esi_unpack(v->esi, &r->esi);
		r->eth_tag = v->ethernet_tag;
		r->labels[0] = v->label;
		r->n_labels = 1;
	} else if (d == &apipb__evpnmacipadvertisement_route__descriptor) {
		Apipb__EVPNMACIPAdvertisementRoute *v = (void *)m;

		r->type = GB_ROUTE_MACIP;
		err = rd_unpack(v->rd, &r->rd) ?: esi_unpack(v->esi, &r->esi) ?:
		      mac_parse(v->mac_address, r->mac) ?: ip_parse(v->ip_address, &r->ip) ?:
		      labels_unpack(r, v->n_labels, v->labels);
		r->eth_tag = v->ethernet_tag;
	} else if (d == &apipb__evpninclusive_multicast_ethernet_tag_route__descriptor) {
		Apipb__EVPNInclusiveMulticastEthernetTagRoute *v = (void *)m;

		r->type = GB_ROUTE_IMET;
		err = rd_unpack(v->rd, &r->rd) ?: ip_parse(v->ip_address, &r->ip);
		r->eth_tag = v->ethernet_tag;
	} else {
		Apipb__EVPNEthernetSegmentRoute *v = (void *)m;

		r->type = GB_ROUTE_ES;
		err = rd_unpack(v->rd, &r->rd) ?: esi_unpack(v->esi, &r->esi) ?:
		      ip_parse(v->ip_address, &r->ip);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return err;
}

static void rt_add(struct gb_route *r, struct gb_decode_stats *st, uint8_t type, uint32_t admin,
		   uint32_t assigned)
{
	if (r->n_rts >= GB_MAX_RTS) {
		st->truncated_rts++;
		return;
	}
	r->rts[r->n_rts++] = (struct gb_rt){ .type = type, .admin = admin, .assigned = assigned };
}

/* One extended community; unknown kinds are counted, never fatal. */
static void ext_comm_unpack(const Google__Protobuf__Any *any, struct gb_route *r,
			    struct gb_decode_stats *st)
{
	ProtobufCMessage *m = NULL;

#define IS(desc) (any_is(any, &desc) && (m = any_unpack(any, &desc)))
	if (IS(apipb__two_octet_as_specific_extended__descriptor)) {
		Apipb__TwoOctetAsSpecificExtended *v = (void *)m;

		if (v->sub_type == EC_SUBTYPE_RT && v->asn <= 0xffff)
			rt_add(r, st, GB_ADMIN_AS2, v->asn, v->local_admin);
		else
			st->unknown_ext_comms++;
	} else if (IS(apipb__ipv4_address_specific_extended__descriptor)) {
		Apipb__IPv4AddressSpecificExtended *v = (void *)m;
		struct in_addr addr;

		if (v->sub_type == EC_SUBTYPE_RT && inet_pton(AF_INET, v->address, &addr) == 1)
			rt_add(r, st, GB_ADMIN_IP4, addr.s_addr, v->local_admin);
		else
			st->unknown_ext_comms++;
	} else if (IS(apipb__four_octet_as_specific_extended__descriptor)) {
		Apipb__FourOctetAsSpecificExtended *v = (void *)m;

		if (v->sub_type == EC_SUBTYPE_RT)
			rt_add(r, st, GB_ADMIN_AS4, v->asn, v->local_admin);
		else
			st->unknown_ext_comms++;
	} else if (IS(apipb__esilabel_extended__descriptor)) {
		Apipb__ESILabelExtended *v = (void *)m;

		r->attrs |= GB_ATTR_ESI_LABEL;
		r->single_active = v->is_single_active;
		r->esi_label = v->label;
	} else if (IS(apipb__mac_mobility_extended__descriptor)) {
		Apipb__MacMobilityExtended *v = (void *)m;

		r->attrs |= GB_ATTR_MAC_MOBILITY;
		r->sticky = v->is_sticky;
		r->mm_seq = v->sequence_num;
	} else if (IS(apipb__esimport_route_target__descriptor)) {
		Apipb__ESImportRouteTarget *v = (void *)m;

		if (!mac_parse(v->es_import, r->es_import))
			r->attrs |= GB_ATTR_ES_IMPORT;
		else
			st->unknown_ext_comms++;
	} else if (IS(apipb__encap_extended__descriptor)) {
		Apipb__EncapExtended *v = (void *)m;

		r->attrs |= GB_ATTR_ENCAP;
		r->encap = v->tunnel_type;
	} else if (IS(apipb__default_gateway_extended__descriptor)) {
		r->attrs |= GB_ATTR_DEFAULT_GW;
	} else if (IS(apipb__router_mac_extended__descriptor)) {
		Apipb__RouterMacExtended *v = (void *)m;

		if (!mac_parse(v->mac, r->router_mac))
			r->attrs |= GB_ATTR_ROUTER_MAC;
		else
			st->unknown_ext_comms++;
	} else {
		st->unknown_ext_comms++;
	}
#undef IS
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
}

/* One path attribute; unknown kinds are counted, never fatal. */
static void attr_unpack(const Google__Protobuf__Any *any, struct gb_route *r,
			struct gb_decode_stats *st)
{
	ProtobufCMessage *m = NULL;

#define IS(desc) (any_is(any, &desc) && (m = any_unpack(any, &desc)))
	if (IS(apipb__next_hop_attribute__descriptor)) {
		Apipb__NextHopAttribute *v = (void *)m;

		if (ip_parse(v->next_hop, &r->next_hop))
			st->unknown_attrs++;
	} else if (IS(apipb__mp_reach_nlriattribute__descriptor)) {
		Apipb__MpReachNLRIAttribute *v = (void *)m;

		if (v->n_next_hops && ip_parse(v->next_hops[0], &r->next_hop))
			st->unknown_attrs++;
	} else if (IS(apipb__extended_communities_attribute__descriptor)) {
		Apipb__ExtendedCommunitiesAttribute *v = (void *)m;

		for (size_t i = 0; i < v->n_communities; i++)
			ext_comm_unpack(v->communities[i], r, st);
	} else if (IS(apipb__pmsi_tunnel_attribute__descriptor)) {
		Apipb__PmsiTunnelAttribute *v = (void *)m;

		r->attrs |= GB_ATTR_PMSI;
		r->pmsi.flags = v->flags;
		r->pmsi.tunnel_type = v->type;
		r->pmsi.label = v->label;
		memset(&r->pmsi.id, 0, sizeof(r->pmsi.id));
		if (v->id.len == 4) {
			r->pmsi.id.family = AF_INET;
			memcpy(&r->pmsi.id.v4, v->id.data, 4);
		} else if (v->id.len == 16) {
			r->pmsi.id.family = AF_INET6;
			memcpy(&r->pmsi.id.v6, v->id.data, 16);
		}
	} else if (IS(apipb__originator_id_attribute__descriptor)) {
		Apipb__OriginatorIdAttribute *v = (void *)m;

		if (inet_pton(AF_INET, v->id, &r->originator_id) != 1)
			r->originator_id.s_addr = 0;
	} else if (any_is(any, &apipb__origin_attribute__descriptor) ||
		   any_is(any, &apipb__as_path_attribute__descriptor) ||
		   any_is(any, &apipb__local_pref_attribute__descriptor) ||
		   any_is(any, &apipb__multi_exit_disc_attribute__descriptor) ||
		   any_is(any, &apipb__cluster_list_attribute__descriptor)) {
		/* known, not used by EVPN route handling */
	} else {
		st->unknown_attrs++;
	}
#undef IS
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
}

int gb_codec_decode_path(const Apipb__Path *p, struct gb_route *r, struct gb_decode_stats *st)
{
	struct gb_decode_stats dummy = { 0 };
	int err;

	memset(r, 0, sizeof(*r));
	if (!st)
		st = &dummy;
	if (!p || !p->nlri)
		return -ENOENT;
	if (p->family && (p->family->afi != APIPB__FAMILY__AFI__AFI_L2VPN ||
			  p->family->safi != APIPB__FAMILY__SAFI__SAFI_EVPN))
		return -EPROTONOSUPPORT;
	err = nlri_unpack(p->nlri, r);
	if (err)
		return err;
	for (size_t i = 0; i < p->n_pattrs; i++)
		attr_unpack(p->pattrs[i], r, st);
	r->is_withdraw = p->is_withdraw;
	ip_parse(p->neighbor_ip, &r->peer);
	/* Locally originated paths have no neighbor (gobgpd prints "<nil>") */
	r->is_local = r->peer.family == 0 || (r->peer.family == AF_INET && !r->peer.v4.s_addr) ||
		      (r->peer.family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&r->peer.v6));
	if (r->is_local)
		memset(&r->peer, 0, sizeof(r->peer));
	r->source_asn = p->source_asn;
	return 0;
}

int gb_route_decode(const uint8_t *buf, size_t len, struct gb_route *r, struct gb_decode_stats *st)
{
	Apipb__Path *p;
	int err;

	memset(r, 0, sizeof(*r));
	if (!buf && len)
		return -EBADMSG;
	p = apipb__path__unpack(NULL, len, buf);
	if (!p)
		return -EBADMSG;
	err = gb_codec_decode_path(p, r, st);
	apipb__path__free_unpacked(p, NULL);
	return err;
}
