/* SPDX-License-Identifier: GPL-2.0 */
/* The BPF map writer of xevpnd: struct fib (fib.h) over libxevpn-dp.
 *
 * Every write first reads the pinned value and is skipped when the map
 * already holds it, so a restarted xevpnd that derives the same state
 * writes nothing. What fib.h does not carry comes from the configuration:
 * the egress VLAN of local FDB entries and the local ports of flood lists.
 *
 * ES ids are remembered across restarts in a map of our own pinned next to
 * the dataplane's (<root>/xevpn_ctl_esi: es_id -> ESI); local ESes are also
 * recognised by their port in xevpn_es. */
#ifndef XEVPN_CTL_FIB_DP_H
#define XEVPN_CTL_FIB_DP_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "fib.h"

struct xevpn_dp;
struct fib_dp;

/* Map writes actually made (skipped identical writes are not counted). */
struct fib_dp_counts {
	uint64_t fdb_set, fdb_del, es_nh_set, es_set, es_del, es_peer, flood_set, df_set;
	uint64_t port_set, skipped, errors, age_probes;
};

int fib_dp_new(struct xevpn_dp *dp, const struct xcfg *cfg, struct fib_dp **out);
void fib_dp_free(struct fib_dp *f);
struct fib fib_dp_fib(struct fib_dp *f);
void fib_dp_set_config(struct fib_dp *f, const struct xcfg *cfg);	/* after a reload */
const struct fib_dp_counts *fib_dp_counts(const struct fib_dp *f);

/* Global config, bridge domains, port roles/VLANs and attachment of access
 * ports and uplinks; refreshes flood lists whose local ports changed.
 * es_id_of(ctx, ifname) gives the ES id of a member port (0 = none).
 * Missing interfaces are skipped (retried on the next call). */
int fib_dp_ports_sync(struct fib_dp *f, uint32_t (*es_id_of)(void *ctx, const char *ifname),
		      void *ctx);

/* Restart adoption: call cb for every FDB entry the dataplane learned on a
 * local port (ifindex resolved for ES entries). */
int fib_dp_learned_walk(struct fib_dp *f,
			void (*cb)(void *ctx, uint32_t vni, const uint8_t mac[6], uint32_t ifindex),
			void *ctx);
/* Pinned state of a local ES: forwarding (local, no hold, no link down). */
bool fib_dp_es_forwarding(struct fib_dp *f, uint32_t es_id);
/* Pinned DF bit of (ES, VNI): 1, 0, or -ENOENT. */
int fib_dp_df_get(struct fib_dp *f, uint32_t es_id, uint32_t vni);

/* Remove what the model no longer holds: FDB entries (keep_mac false), ES
 * state of unknown ids, DF bits and flood lists of unknown BDs. */
struct fib_dp_keep {
	bool (*mac)(void *ctx, uint32_t vni, const uint8_t mac[6]);
	bool (*es)(void *ctx, uint32_t es_id);
	bool (*es_vni)(void *ctx, uint32_t es_id, uint32_t vni);
	void *ctx;
};
int fib_dp_reconcile(struct fib_dp *f, const struct fib_dp_keep *keep);

/* xevpnd --flush: drop our own pinned map (then xevpn_dp_uninstall). */
void fib_dp_unpin(struct fib_dp *f);

#endif
