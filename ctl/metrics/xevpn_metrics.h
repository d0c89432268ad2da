/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The metric families xevpnd exposes: names, types, labels and help texts in
 * one table (xevpn_metrics.c), registered in one call. docs/observability.md
 * documents the same list as the contract; xevpnd fills the values, mostly
 * from a collector (metrics_collector_add()) that reads its state and sums the
 * dataplane's per-CPU counters at scrape time.
 */
#ifndef XEVPN_CTL_XEVPN_METRICS_H
#define XEVPN_CTL_XEVPN_METRICS_H

#include "metrics/metrics.h"

#define XEVPN_METRICS_NAMESPACE "xevpn"

/* Values of the "cause" label of failovers_total. */
#define XEVPN_FAILOVER_OPERATOR		"operator"	/* config change, CLI */
#define XEVPN_FAILOVER_AUTONOMOUS	"autonomous"	/* heartbeat verdict */
#define XEVPN_FAILOVER_LINK		"link"		/* local ES port down */

/* Value of the "reason" label for dataplane actions that are not drops. */
#define XEVPN_REASON_NONE		"none"

struct xevpn_metrics {
	/* heartbeat (health engine counters) */
	struct metrics_family *beats_sent;		/* {group} */
	struct metrics_family *beats_accepted;		/* {group} */
	struct metrics_family *beats_dropped;		/* {reason} */
	struct metrics_family *beats_foreign;
	struct metrics_family *peer_up;			/* {group,peer} 0/1 */
	struct metrics_family *group_peers_up;		/* {group} */
	struct metrics_family *self_fence_armed;	/* 0/1 */
	struct metrics_family *self_fenced;		/* 0/1 */
	/* EVPN */
	struct metrics_family *df_changes;		/* {esi} */
	struct metrics_family *es_is_df;		/* {esi,vni} 0/1 */
	struct metrics_family *failovers;		/* {cause} */
	struct metrics_family *es_group_vteps;		/* {esi} */
	/* dataplane */
	struct metrics_family *map_entries;		/* {map} */
	struct metrics_family *map_max_entries;		/* {map} */
	struct metrics_family *dp_packets;		/* {action,reason} */
	struct metrics_family *dp_bytes;		/* {action,reason} */
	struct metrics_family *dp_events;		/* {event} */
	/* GoBGP connection, process */
	struct metrics_family *gobgp_up;		/* 0/1 */
	struct metrics_family *gobgp_connection_age;	/* seconds, 0 when down */
	struct metrics_family *start_time;		/* process_start_time_seconds */
	struct metrics_family *build_info;		/* {version} = 1 */
};

/* Number of families in the table. */
extern const unsigned int xevpn_metrics_nfamilies;
/* The table itself, in render order, same order as struct xevpn_metrics. */
extern const struct metrics_desc xevpn_metrics_descs[];

/*
 * Register every family in reg (created with namespace
 * XEVPN_METRICS_NAMESPACE) and fill m. Sets process_start_time_seconds from
 * /proc/self/stat when it can, else from the current time, build_info with
 * version, and creates failovers_total for the three causes at 0.
 * 0 or negative errno.
 */
int xevpn_metrics_register(struct metrics_registry *reg, struct xevpn_metrics *m,
			   const char *version);

struct xevpn_ctr_value;

/*
 * Labels of one dataplane counter (include/xevpn/counters.h) by its printed
 * name: verdict "drop_<why>" -> action "drop", reason "<why>"; any other
 * verdict -> action = name, reason "none". Returns false for counters that
 * are not verdicts (they go to dataplane_events_total{event}).
 */
bool xevpn_metrics_dp_labels(unsigned int ctr, const char **action, const char **reason,
			     char *buf, size_t buflen);

/*
 * Set dataplane_packets_total / dataplane_bytes_total{action,reason} and
 * dataplane_events_total{event} from counters already summed over CPUs,
 * indexed by enum xevpn_ctr (n = XEVPN_CTR_MAX). For a collector.
 */
int xevpn_metrics_set_dataplane(struct xevpn_metrics *m, const struct xevpn_ctr_value *sum,
				unsigned int n);

/* Process start time, seconds since the epoch (from /proc/self/stat). */
double xevpn_process_start_time(void);

#endif /* XEVPN_CTL_XEVPN_METRICS_H */
