// SPDX-License-Identifier: GPL-2.0
#include "esi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* n octets of two hex digits separated by ':' and nothing else. */
static int parse_octets(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i + 1 < n) {
			if (*s != ':')
				return -EINVAL;
			s++;
		}
	}
	return *s ? -EINVAL : 0;
}

int esi_parse(const char *s, esi_t *out)
{
	return parse_octets(s, out->b, ESI_LEN);
}

char *esi_fmt(const esi_t *esi, char buf[ESI_STR_LEN])
{
	for (int i = 0; i < ESI_LEN; i++)
		snprintf(buf + 3 * i, 4, i + 1 < ESI_LEN ? "%02x:" : "%02x", esi->b[i]);
	return buf;
}

bool esi_is_zero(const esi_t *esi)
{
	static const esi_t zero;

	return !memcmp(esi, &zero, sizeof(zero));
}

bool esi_is_max(const esi_t *esi)
{
	for (int i = 0; i < ESI_LEN; i++)
		if (esi->b[i] != 0xff)
			return false;
	return true;
}

int esi_cmp(const esi_t *a, const esi_t *b)
{
	return memcmp(a->b, b->b, ESI_LEN);
}

/* RFC 7432 §5 type 1: system MAC (6) + port key (2) + one zero octet. */
void esi_from_lacp(esi_t *out, const uint8_t sysmac[MAC_LEN], uint16_t port_key)
{
	memset(out, 0, sizeof(*out));
	out->b[0] = ESI_TYPE_LACP;
	memcpy(&out->b[1], sysmac, MAC_LEN);
	out->b[7] = port_key >> 8;
	out->b[8] = port_key & 0xff;
}

/* RFC 7432 §5 type 3: system MAC (6) + 3-octet local discriminator. */
void esi_from_mac(esi_t *out, const uint8_t sysmac[MAC_LEN], uint32_t discriminator)
{
	memset(out, 0, sizeof(*out));
	out->b[0] = ESI_TYPE_MAC;
	memcpy(&out->b[1], sysmac, MAC_LEN);
	out->b[7] = (discriminator >> 16) & 0xff;
	out->b[8] = (discriminator >> 8) & 0xff;
	out->b[9] = discriminator & 0xff;
}

int mac_parse(const char *s, uint8_t out[MAC_LEN])
{
	return parse_octets(s, out, MAC_LEN);
}

char *mac_fmt(const uint8_t mac[MAC_LEN], char buf[MAC_STR_LEN])
{
	snprintf(buf, MAC_STR_LEN, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

bool mac_is_zero(const uint8_t mac[MAC_LEN])
{
	return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

bool mac_is_multicast(const uint8_t mac[MAC_LEN])
{
	return mac[0] & 1;
}

int ip4_parse(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = ntohl(a.s_addr);
	return 0;
}

char *ip4_fmt(uint32_t ip, char buf[IP4_STR_LEN])
{
	struct in_addr a = { .s_addr = htonl(ip) };

	inet_ntop(AF_INET, &a, buf, IP4_STR_LEN);
	return buf;
}
