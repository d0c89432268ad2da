/* SPDX-License-Identifier: GPL-2.0 */
/* EVPN routes as the model sees them, independent of the GoBGP encoding.
 * routes_bridge.c converts to and from gobgp-bridge; unit suites feed
 * struct evpn_route directly into evpn_route_input(). */
#ifndef XEVPN_CTL_ROUTES_H
#define XEVPN_CTL_ROUTES_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "esi.h"

#define EVPN_RT_AD	1	/* Ethernet auto-discovery */
#define EVPN_RT_MAC	2	/* MAC/IP advertisement */
#define EVPN_RT_IMET	3	/* inclusive multicast Ethernet tag */
#define EVPN_RT_ES	4	/* Ethernet segment */

#define EVPN_MAX_ET	0xffffffffu	/* per-ES A-D Ethernet tag (RFC 7432 §8.2.1) */
#define EVPN_MAX_ROUTE_RTS 8

struct evpn_route {
	uint8_t type;		/* EVPN_RT_* */
	bool withdraw;
	uint8_t rd[8];		/* RFC 4364 RD, wire format */
	esi_t esi;		/* types 1, 2, 4 */
	uint32_t etag;		/* types 1, 2, 3 */
	uint8_t mac[MAC_LEN];	/* type 2 */
	uint8_t ip_len;		/* type 2: 0, 4 or 16 */
	uint8_t ip[16];
	uint32_t originator;	/* types 3, 4: originating router IP */
	/* attributes (ignored in the ledger key) */
	uint32_t nexthop;	/* VTEP, host order */
	uint32_t vni;		/* label 1: VNI for types 1 (per-EVI), 2, 3 */
	uint32_t seq;		/* type 2: MAC mobility sequence */
	bool has_seq;
	bool sticky;		/* type 2: static MAC */
	bool single_active;	/* type 1 per-ES: ESI label single-active flag */
	uint8_t es_import[MAC_LEN];	/* type 4: ES-Import RT value */
	struct xcfg_rt rts[EVPN_MAX_ROUTE_RTS];	/* route targets to attach (outbound) */
	unsigned n_rts;
};

/* Outbound: the daemon plugs in the bridge, unit suites a recorder. */
struct route_ops {
	int (*advertise)(void *ctx, const struct evpn_route *r);
	int (*withdraw)(void *ctx, const struct evpn_route *r);
};

struct route_out {
	const struct route_ops *ops;
	void *ctx;
};

void evpn_rd_make(uint8_t rd[8], uint32_t ip, uint16_t num);	/* RD type 1 */
int evpn_rd_fmt(const uint8_t rd[8], char *buf, unsigned len);
int evpn_route_fmt(const struct evpn_route *r, char *buf, unsigned len);

#endif
