/* SPDX-License-Identifier: GPL-2.0 */
/* Internal codec interface shared by codec.c and client.c. */
#ifndef GOBGP_BRIDGE_CODEC_H
#define GOBGP_BRIDGE_CODEC_H

#include "gobgp_bridge.h"
#include "gobgp.pb-c.h"
#include "attribute.pb-c.h"

/* Decode an unpacked apipb.Path (see gb_route_decode for return values). */
int gb_codec_decode_path(const Apipb__Path *p, struct gb_route *r, struct gb_decode_stats *st);

/* Validate only what a withdrawal needs (the NLRI). */
int gb_codec_validate_nlri(const struct gb_route *r, const char **why);

/* Canonical route key (RFC 7432 §7 route-key fields only). */
#define GB_KEY_MAX 48
struct gb_key {
	uint8_t len;
	uint8_t b[GB_KEY_MAX];
};
void gb_route_key(const struct gb_route *r, struct gb_key *k);

/* Copy of r with the defaults the bridge applies before sending (zero ESI
 * becomes an explicit type-0 ESI; type-4 without ES-Import gets one derived
 * from the ESI value). */
void gb_route_normalize(const struct gb_route *r, struct gb_route *out);

#endif
