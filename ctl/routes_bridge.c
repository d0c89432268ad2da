// SPDX-License-Identifier: GPL-2.0
/* The model's routes in and out through gobgp-bridge (routes_bridge.h). */
#include "routes_bridge.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct routes_bridge {
	struct gb_client *c;
	const struct routes_bridge_cb *cb;
	void *arg;
};

/* RFC 4364 §4.2 RD wire format <-> the bridge's three-field form. */
static void rd_to_gb(const uint8_t rd[8], struct gb_rd *g)
{
	unsigned type = rd[0] << 8 | rd[1];

	memset(g, 0, sizeof(*g));
	switch (type) {
	case 0:
		g->type = GB_ADMIN_AS2;
		g->admin = rd[2] << 8 | rd[3];
		g->assigned = (uint32_t)rd[4] << 24 | rd[5] << 16 | rd[6] << 8 | rd[7];
		break;
	case 1:
		g->type = GB_ADMIN_IP4;
		memcpy(&g->admin, &rd[2], 4);	/* network order, as an s_addr */
		g->assigned = rd[6] << 8 | rd[7];
		break;
	default:
		g->type = GB_ADMIN_AS4;
		g->admin = (uint32_t)rd[2] << 24 | rd[3] << 16 | rd[4] << 8 | rd[5];
		g->assigned = rd[6] << 8 | rd[7];
		break;
	}
}

static void rd_from_gb(const struct gb_rd *g, uint8_t rd[8])
{
	memset(rd, 0, 8);
	rd[1] = g->type;
	switch (g->type) {
	case GB_ADMIN_AS2:
		rd[2] = g->admin >> 8;
		rd[3] = g->admin;
		rd[4] = g->assigned >> 24;
		rd[5] = g->assigned >> 16;
		rd[6] = g->assigned >> 8;
		rd[7] = g->assigned;
		break;
	case GB_ADMIN_IP4:
		memcpy(&rd[2], &g->admin, 4);
		rd[6] = g->assigned >> 8;
		rd[7] = g->assigned;
		break;
	default:
		rd[2] = g->admin >> 24;
		rd[3] = g->admin >> 16;
		rd[4] = g->admin >> 8;
		rd[5] = g->admin;
		rd[6] = g->assigned >> 8;
		rd[7] = g->assigned;
		break;
	}
}

static void ip4_set(struct gb_ip *ip, uint32_t host)
{
	ip->family = AF_INET;
	ip->v4.s_addr = htonl(host);
}

static uint32_t ip4_get(const struct gb_ip *ip)
{
	return ip->family == AF_INET ? ntohl(ip->v4.s_addr) : 0;
}

int evpn_route_to_gb(const struct evpn_route *r, struct gb_route *g)
{
	memset(g, 0, sizeof(*g));
	g->type = r->type;
	rd_to_gb(r->rd, &g->rd);
	memcpy(g->esi.b, r->esi.b, GB_ESI_LEN);
	ip4_set(&g->next_hop, r->nexthop);
	g->attrs = GB_ATTR_ENCAP;
	g->encap = GB_ENCAP_VXLAN;
	for (unsigned i = 0; i < r->n_rts && i < GB_MAX_RTS; i++) {
		g->rts[i].type = r->rts[i].kind;
		g->rts[i].admin = r->rts[i].kind == XCFG_RT_IP4 ? htonl(r->rts[i].admin) : r->rts[i].admin;
		g->rts[i].assigned = r->rts[i].assigned;
		g->n_rts++;
	}
	switch (r->type) {
	case EVPN_RT_AD:
		g->eth_tag = r->etag;
		g->labels[0] = r->etag == EVPN_MAX_ET ? 0 : r->vni;
		g->n_labels = 1;
		if (r->etag == EVPN_MAX_ET) {
			/* RFC 7432 §7.5: ESI Label ext community on the per-ES A-D */
			g->attrs |= GB_ATTR_ESI_LABEL;
			g->single_active = r->single_active;
		}
		break;
	case EVPN_RT_MAC:
		g->eth_tag = r->etag;
		memcpy(g->mac, r->mac, 6);
		if (r->ip_len == 4) {
			g->ip.family = AF_INET;
			memcpy(&g->ip.v4, r->ip, 4);
		} else if (r->ip_len == 16) {
			g->ip.family = AF_INET6;
			memcpy(&g->ip.v6, r->ip, 16);
		}
		g->labels[0] = r->vni;
		g->n_labels = 1;
		if (r->has_seq || r->sticky) {
			g->attrs |= GB_ATTR_MAC_MOBILITY;
			g->mm_seq = r->seq;
			g->sticky = r->sticky;
		}
		break;
	case EVPN_RT_IMET:
		g->eth_tag = r->etag;
		ip4_set(&g->ip, r->originator);
		g->attrs |= GB_ATTR_PMSI;
		g->pmsi.tunnel_type = GB_PMSI_INGRESS_REPL;
		g->pmsi.label = r->vni;
		ip4_set(&g->pmsi.id, r->nexthop ? r->nexthop : r->originator);
		break;
	case EVPN_RT_ES:
		ip4_set(&g->ip, r->originator);
		g->attrs |= GB_ATTR_ES_IMPORT;
		memcpy(g->es_import, r->es_import, 6);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

int evpn_route_from_gb(const struct gb_route *g, struct evpn_route *r)
{
	memset(r, 0, sizeof(*r));
	if (g->type < GB_ROUTE_AD || g->type > GB_ROUTE_ES)
		return -EINVAL;
	r->type = g->type;
	r->withdraw = g->is_withdraw;
	rd_from_gb(&g->rd, r->rd);
	memcpy(r->esi.b, g->esi.b, ESI_LEN);
	r->etag = g->eth_tag;
	r->nexthop = ip4_get(&g->next_hop);
	/* received route targets: the model imports by them */
	for (unsigned i = 0; i < g->n_rts && i < GB_MAX_RTS && r->n_rts < EVPN_MAX_ROUTE_RTS; i++) {
		struct xcfg_rt *rt = &r->rts[r->n_rts++];

		rt->kind = g->rts[i].type;
		rt->admin = g->rts[i].type == GB_ADMIN_IP4 ? ntohl(g->rts[i].admin) : g->rts[i].admin;
		rt->assigned = g->rts[i].assigned;
	}
	switch (g->type) {
	case GB_ROUTE_AD:
		r->vni = g->eth_tag == GB_ETAG_MAX ? 0 : (g->n_labels ? g->labels[0] : 0);
		r->single_active = (g->attrs & GB_ATTR_ESI_LABEL) && g->single_active;
		break;
	case GB_ROUTE_MACIP:
		memcpy(r->mac, g->mac, 6);
		if (g->ip.family == AF_INET) {
			r->ip_len = 4;
			memcpy(r->ip, &g->ip.v4, 4);
		} else if (g->ip.family == AF_INET6) {
			r->ip_len = 16;
			memcpy(r->ip, &g->ip.v6, 16);
		}
		r->vni = g->n_labels ? g->labels[0] : 0;
		if (g->attrs & GB_ATTR_MAC_MOBILITY) {
			r->has_seq = true;
			r->seq = g->mm_seq;
			r->sticky = g->sticky;
		}
		break;
	case GB_ROUTE_IMET:
		r->originator = ip4_get(&g->ip);
		/* RFC 8365 §5.1.3: the VNI is the PMSI label; the tunnel id is the VTEP */
		if (g->attrs & GB_ATTR_PMSI) {
			r->vni = g->pmsi.label;
			if (g->pmsi.id.family == AF_INET)
				r->nexthop = ip4_get(&g->pmsi.id);
		}
		if (!r->vni)
			r->vni = g->eth_tag;
		break;
	case GB_ROUTE_ES:
		r->originator = ip4_get(&g->ip);
		if (g->attrs & GB_ATTR_ES_IMPORT)
			memcpy(r->es_import, g->es_import, 6);
		break;
	}
	return 0;
}

/* ---- route_out ---- */

static int out_send(void *ctx, const struct evpn_route *r, bool withdraw)
{
	struct routes_bridge *b = ctx;
	struct gb_route g;
	int rc = evpn_route_to_gb(r, &g);

	if (rc)
		return rc;
	if (!b->c)
		return -ENOTCONN;
	return withdraw ? gb_withdraw(b->c, &g) : gb_add(b->c, &g);
}

static int out_advertise(void *ctx, const struct evpn_route *r)
{
	return out_send(ctx, r, false);
}

static int out_withdraw(void *ctx, const struct evpn_route *r)
{
	return out_send(ctx, r, true);
}

static const struct route_ops bridge_route_ops = {
	.advertise = out_advertise,
	.withdraw = out_withdraw,
};

struct route_out routes_bridge_out(struct routes_bridge *b)
{
	return (struct route_out){ .ops = &bridge_route_ops, .ctx = b };
}

struct gb_client *routes_bridge_client(struct routes_bridge *b)
{
	return b->c;
}

/* ---- callbacks from the bridge ---- */

static void cb_route(struct gb_client *c, const struct gb_route *g, void *arg)
{
	routes_bridge_deliver(arg, g);
}

void routes_bridge_deliver(struct routes_bridge *b, const struct gb_route *g)
{
	struct evpn_route r;

	if (evpn_route_from_gb(g, &r))
		return;
	if (b->cb && b->cb->route)
		b->cb->route(b->arg, &r);
}

static void cb_resync(struct gb_client *c, bool first, size_t n, void *arg)
{
	struct routes_bridge *b = arg;

	log_msg(LOG_INFO, "bgp: %s sync with gobgpd done (%zu routes re-sent)",
		first ? "initial" : "re", n);
	if (b->cb->resync)
		b->cb->resync(b->arg, first);
}

static void cb_state(struct gb_client *c, bool up, void *arg)
{
	struct routes_bridge *b = arg;

	log_msg(up ? LOG_INFO : LOG_WARNING, "bgp: gobgpd %s", up ? "connected" : "lost, reconnecting");
	if (b->cb->state)
		b->cb->state(b->arg, up);
}

static void cb_rejected(struct gb_client *c, const struct gb_route *g, const char *reason, void *arg)
{
	char buf[256];

	gb_route_format(g, buf, sizeof(buf));
	log_msg(LOG_WARNING, "bgp: gobgpd refused %s: %s", buf, reason);
}

static void cb_log(int level, const char *msg, void *arg)
{
	log_msg(level, "gobgp-bridge: %s", msg);
}

static const struct gb_callbacks bridge_cbs = {
	.route = cb_route,
	.resync = cb_resync,
	.state = cb_state,
	.rejected = cb_rejected,
	.log = cb_log,
};

int routes_bridge_new(uv_loop_t *loop, const char *target, uint32_t gb_flags,
		      const struct routes_bridge_cb *cb, void *arg, struct routes_bridge **out)
{
	struct routes_bridge *b = calloc(1, sizeof(*b));
	struct gb_config gc = { .loop = loop, .target = target, .cb = &bridge_cbs, .flags = gb_flags };
	int rc;

	*out = NULL;
	if (!b)
		return -ENOMEM;
	b->cb = cb;
	b->arg = arg;
	gc.arg = b;
	if (!target) {
		*out = b;	/* no speaker: routes_bridge_deliver() only */
		return 0;
	}
	rc = gb_client_new(&gc, &b->c);
	if (rc) {
		free(b);
		return rc;
	}
	*out = b;
	return 0;
}

void routes_bridge_free(struct routes_bridge *b)
{
	if (!b)
		return;
	if (b->c)
		gb_client_free(b->c);
	free(b);
}
