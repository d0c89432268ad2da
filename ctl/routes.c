// SPDX-License-Identifier: GPL-2.0
#include "routes.h"

#include <stdio.h>

/* RFC 4364 §4.2 type 1: 2-octet type, 4-octet IPv4, 2-octet number. */
void evpn_rd_make(uint8_t rd[8], uint32_t ip, uint16_t num)
{
	rd[0] = 0;
	rd[1] = 1;
	rd[2] = ip >> 24;
	rd[3] = ip >> 16;
	rd[4] = ip >> 8;
	rd[5] = ip;
	rd[6] = num >> 8;
	rd[7] = num & 0xff;
}

int evpn_rd_fmt(const uint8_t rd[8], char *buf, unsigned len)
{
	unsigned type = rd[0] << 8 | rd[1];

	switch (type) {
	case 0:
		return snprintf(buf, len, "%u:%u", rd[2] << 8 | rd[3],
				(unsigned)rd[4] << 24 | rd[5] << 16 | rd[6] << 8 | rd[7]);
	case 1:
		return snprintf(buf, len, "%u.%u.%u.%u:%u", rd[2], rd[3], rd[4], rd[5], rd[6] << 8 | rd[7]);
	case 2:
		return snprintf(buf, len, "%u:%u", (unsigned)rd[2] << 24 | rd[3] << 16 | rd[4] << 8 | rd[5],
				rd[6] << 8 | rd[7]);
	default:
		return snprintf(buf, len, "type%u:?", type);
	}
}

int evpn_route_fmt(const struct evpn_route *r, char *buf, unsigned len)
{
	char rd[32], esi[ESI_STR_LEN], mac[MAC_STR_LEN], ip[IP4_STR_LEN];

	evpn_rd_fmt(r->rd, rd, sizeof(rd));
	switch (r->type) {
	case EVPN_RT_AD:
		return snprintf(buf, len, "type-1 [%s] esi %s etag %u vni %u nh %s", rd, esi_fmt(&r->esi, esi),
				r->etag, r->vni, ip4_fmt(r->nexthop, ip));
	case EVPN_RT_MAC:
		return snprintf(buf, len, "type-2 [%s] mac %s esi %s vni %u seq %u nh %s", rd,
				mac_fmt(r->mac, mac), esi_fmt(&r->esi, esi), r->vni, r->seq,
				ip4_fmt(r->nexthop, ip));
	case EVPN_RT_IMET:
		return snprintf(buf, len, "type-3 [%s] vni %u orig %s", rd, r->vni, ip4_fmt(r->originator, ip));
	case EVPN_RT_ES:
		return snprintf(buf, len, "type-4 [%s] esi %s orig %s", rd, esi_fmt(&r->esi, esi),
				ip4_fmt(r->originator, ip));
	default:
		return snprintf(buf, len, "type-%u ?", r->type);
	}
}
