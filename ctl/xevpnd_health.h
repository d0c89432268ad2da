/* SPDX-License-Identifier: GPL-2.0 */
/* The health actions of xevpnd: it runs the heartbeat engine (ctl/health)
 * on the daemon's loop, configured from the `health:` section, and is the
 * engine's only actuator. The engine decides (liveness, damped verdicts,
 * fence clock); this file turns its events into model calls:
 *
 *   peer unfit (takeover_ok)  -> evpn_vtep_health(vtep, down): the VTEP leaves
 *                                every ES next-hop group (one atomic group write
 *                                per ES) and every DF candidate list at once:
 *                                fast DF takeover, heartbeat-verified aliasing
 *   peer unfit (!takeover_ok) -> nothing yet: this node is itself isolated; acted
 *                                on once it is self ok again and still unfit
 *   peer fit (not first)      -> restored
 *   fence fire                -> evpn_es_fence(es, true) on the group's local
 *                                ESes (ES HOLD: ports out of service), unless
 *                                the BGP speaker came back (advisory)
 *   fence cleared             -> fence lifted once the speaker is up and a peer
 *                                is heard again (or the speaker has been up for
 *                                3 fence deadlines with no peer left to hear)
 *   peer role primary         -> EVPN_ES_VTEP_DF_CLAIM on that ES peer
 *
 * Identities on the wire: instance id = our VTEP address as text
 * ("192.0.2.1"), so a peer's beat names the VTEP to act on; instance MAC =
 * the first uplink's MAC. Group id (evpn_id) = the first 16 octets of
 * SHA-256 over "xevpn-hb", the configured evpn-id, and the group's ESI (ES
 * group) or VNI (BD group): one id per group, equal on every leaf that
 * shares the evpn-id, foreign to everything else.
 *
 * Sockets: the group's interface (health.groups[].interface) is resolved by
 * name; xevpnd's netlink link events keep its ifindex and up state current
 * (xh_link). Beats prove the overlay when that interface is one end of a veth
 * pair whose other end is an access port of the BD in the dataplane (see
 * docs in the report: a bvi-role port only receives from the overlay).
 *
 * All calls from the loop thread. */
#ifndef XEVPN_CTL_XEVPND_HEALTH_H
#define XEVPN_CTL_XEVPND_HEALTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "evpn.h"

struct xh;

/* What xevpnd did on the engine's word (also in `show health`). */
struct xh_stats {
	uint64_t prunes;		/* VTEPs taken out (unfit, takeover_ok) */
	uint64_t restores;		/* VTEPs put back (fit after rise) */
	uint64_t deferred;		/* unfit while isolated: not acted on at once */
	uint64_t fences;		/* fence fired and applied */
	uint64_t fence_skipped;		/* fence fired but the speaker was back */
	uint64_t fence_lifts;
	uint64_t events;		/* engine events drained */
};

/* changed(ctx) is called after the model was touched (reschedule its timers).
 * With health disabled in cfg, the object exists but runs no engine (a
 * reload may enable it). */
int xh_new(uv_loop_t *loop, struct evpn *e, const struct xcfg *cfg,
	   void (*changed)(void *ctx), void *ctx, struct xh **out);
/* Closes the engine's handles (run the loop once more afterwards). No
 * leaving beat: xevpnd exits with the dataplane still forwarding. */
void xh_free(struct xh *h);
/* After a reload (cfg is the new, already applied configuration): groups are
 * matched by name; keys, timers, priority and interface are changed in place
 * (peers and their state survive, so a key rotation loses nothing); groups
 * whose ES/BD/evpn-id changed are rebuilt. */
int xh_reload(struct xh *h, const struct xcfg *cfg);
/* Every netlink link event (and the startup dump). */
void xh_link(struct xh *h, const char *ifname, uint32_t ifindex, bool up);
/* GoBGP session state (routes_bridge_cb.state): the self-fence input. */
void xh_speaker(struct xh *h, bool up);

/* "show health" and "show es ESI|NAME health" -> reply object; NULL when
 * line is not a health command. */
json_t *xh_json_command(struct xh *h, const char *line);
const struct xh_stats *xh_stats(const struct xh *h);

/* Observers (metrics, event stream). event: every engine event, before it is
 * acted on; failover: each autonomous action, as text ("vtep 192.0.2.1
 * pruned", "es server1 self-fenced"). Either may be NULL. */
struct health_event;
struct health_group;
void xh_set_observer(struct xh *h, void (*event)(void *ctx, const struct health_event *ev),
		     void (*failover)(void *ctx, const char *what), void *ctx);
/* A view for the /metrics collector: every running group, fence state. */
void xh_for_each_group(void *h, void (*fn)(struct health_group *g, void *ctx), void *ctx);
bool xh_fence_armed(void *h);	/* some group's fence clock is running or fired */
bool xh_fenced(void *h);	/* some ES is out of service by self-fence */

#endif
