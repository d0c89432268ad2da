/* SPDX-License-Identifier: GPL-2.0 */
/* Ethernet Segment Identifiers, MAC and IPv4 text helpers shared by the
 * controller and its CLI. All of them are pure: no allocation, no I/O. */
#ifndef XEVPN_CTL_ESI_H
#define XEVPN_CTL_ESI_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define ESI_LEN		10
#define ESI_STR_LEN	30	/* "xx:" * 10, last ':' becomes NUL */
#define MAC_LEN		6
#define MAC_STR_LEN	18
#define IP4_STR_LEN	16

/* RFC 7432 §5 ESI types this controller builds from configuration. */
#define ESI_TYPE_ARBITRARY	0x00	/* operator-chosen 9 octets */
#define ESI_TYPE_LACP		0x01	/* CE LACP system MAC + port key */
#define ESI_TYPE_MAC		0x03	/* system MAC + local discriminator */

typedef struct { uint8_t b[ESI_LEN]; } esi_t;

int esi_parse(const char *s, esi_t *out);		/* "00:11:..:01" -> 0 or -EINVAL */
char *esi_fmt(const esi_t *esi, char buf[ESI_STR_LEN]);
bool esi_is_zero(const esi_t *esi);
bool esi_is_max(const esi_t *esi);			/* all 0xff: reserved MAX-ESI */
int esi_cmp(const esi_t *a, const esi_t *b);
void esi_from_lacp(esi_t *out, const uint8_t sysmac[MAC_LEN], uint16_t port_key);
void esi_from_mac(esi_t *out, const uint8_t sysmac[MAC_LEN], uint32_t discriminator);

int mac_parse(const char *s, uint8_t out[MAC_LEN]);
char *mac_fmt(const uint8_t mac[MAC_LEN], char buf[MAC_STR_LEN]);
bool mac_is_zero(const uint8_t mac[MAC_LEN]);
bool mac_is_multicast(const uint8_t mac[MAC_LEN]);

/* IPv4 in host byte order, so that "numerically lower address" comparisons
 * (DF election tie-breaks, modulo ordering) are plain integer compares. */
int ip4_parse(const char *s, uint32_t *out);
char *ip4_fmt(uint32_t ip, char buf[IP4_STR_LEN]);

#endif
