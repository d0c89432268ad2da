/* SPDX-License-Identifier: GPL-2.0 */
/* struct route_out over gobgp-bridge, and the conversion between the
 * model's struct evpn_route and the bridge's struct gb_route. */
#ifndef XEVPN_CTL_ROUTES_BRIDGE_H
#define XEVPN_CTL_ROUTES_BRIDGE_H

#include <stdbool.h>
#include <uv.h>

#include "gobgp_bridge.h"
#include "routes.h"

/* Pure conversions (unit-testable). to_gb returns 0 or -EINVAL. */
int evpn_route_to_gb(const struct evpn_route *r, struct gb_route *g);
int evpn_route_from_gb(const struct gb_route *g, struct evpn_route *r);

struct routes_bridge;

/* Events the daemon acts on; every callback runs on the loop thread. */
struct routes_bridge_cb {
	/* a received best-path change (already converted) */
	void (*route)(void *arg, const struct evpn_route *r);
	/* watch dump applied and our routes re-sent; first: initial connection */
	void (*resync)(void *arg, bool first);
	/* session to gobgpd up or down (self-fence input) */
	void (*state)(void *arg, bool up);
};

/* gb_flags: GB_CFG_* of gobgp_bridge.h (0 for the daemon). target NULL: no
 * speaker, routes only come in through routes_bridge_deliver(). */
int routes_bridge_new(uv_loop_t *loop, const char *target, uint32_t gb_flags,
		      const struct routes_bridge_cb *cb, void *arg, struct routes_bridge **out);
/* Hand a route to the same path the watch uses (conversion, then cb->route). */
void routes_bridge_deliver(struct routes_bridge *b, const struct gb_route *g);
void routes_bridge_free(struct routes_bridge *b);	/* run the loop once more after */
struct route_out routes_bridge_out(struct routes_bridge *b);
struct gb_client *routes_bridge_client(struct routes_bridge *b);

#endif
