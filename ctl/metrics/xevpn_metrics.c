// SPDX-License-Identifier: GPL-2.0
/* xevpnd's metric families; the contract is docs/observability.md. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics/xevpn_metrics.h"
#include "xevpn/counters.h"

#define C METRICS_COUNTER
#define G METRICS_GAUGE

const struct metrics_desc xevpn_metrics_descs[] = {
	{ "beats_sent_total", "Heartbeats sent, per health group.", C, { "group" } },
	{ "beats_accepted_total", "Heartbeats received that passed every check, per health group.",
	  C, { "group" } },
	{ "beats_dropped_total", "Heartbeats received and dropped, by reason (foreign group beats "
	  "are counted in beats_foreign_total).", C, { "reason" } },
	{ "beats_foreign_total", "Well-formed heartbeats of a group this node is not in, dropped "
	  "silently.", C },
	{ "health_peer_up", "1 while a peer of a health group is alive (heard within miss x "
	  "interval and past the rise count), else 0.", G, { "group", "peer" } },
	{ "health_group_peers_up", "Peers of a health group currently alive, this node excluded.",
	  G, { "group" } },
	{ "self_fence_armed", "1 while the self-fence deadline is running (BGP speaker lost and "
	  "no peer heard), else 0.", G },
	{ "self_fenced", "1 while this node keeps its ES ports out of service by self-fence, "
	  "else 0.", G },
	{ "df_changes_total", "Designated forwarder changes applied to the dataplane, per "
	  "Ethernet Segment.", C, { "esi" } },
	{ "es_is_df", "1 where this node is the designated forwarder for (ES, VNI), else 0.",
	  G, { "esi", "vni" } },
	{ "failovers_total", "Forwarding moves away from a failed path, by cause: operator, "
	  "autonomous (heartbeat verdict) or link (local ES port down).", C, { "cause" } },
	{ "es_group_vteps", "VTEPs in an Ethernet Segment's next-hop group (aliasing set).",
	  G, { "esi" } },
	{ "map_entries", "Entries in a dataplane BPF map.", G, { "map" } },
	{ "map_max_entries", "Capacity of a dataplane BPF map.", G, { "map" } },
	{ "dataplane_packets_total", "Packets handled by the dataplane, summed over CPUs, by "
	  "action and drop reason (reason=\"none\" unless dropped).", C, { "action", "reason" } },
	{ "dataplane_bytes_total", "Bytes handled by the dataplane, summed over CPUs, by action "
	  "and drop reason (reason=\"none\" unless dropped).", C, { "action", "reason" } },
	{ "dataplane_events_total", "Events inside dataplane verdicts, summed over CPUs: "
	  "replication copies sent or suppressed (DF filter, split horizon), learn events.",
	  C, { "event" } },
	{ "gobgp_up", "1 while the gRPC connection to GoBGP is established, else 0.", G },
	{ "gobgp_connection_age_seconds", "Seconds since the gRPC connection to GoBGP was "
	  "established; 0 while down.", G },
	{ "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
	  G, .flags = METRICS_F_NO_NAMESPACE },
	{ "build_info", "Always 1; the version label says which xevpn build is running.",
	  G, { "version" } },
};

#undef C
#undef G

const unsigned int xevpn_metrics_nfamilies =
	sizeof(xevpn_metrics_descs) / sizeof(xevpn_metrics_descs[0]);

/* Where each table row lands in struct xevpn_metrics, row for row. */
static const size_t slot[] = {
	offsetof(struct xevpn_metrics, beats_sent),
	offsetof(struct xevpn_metrics, beats_accepted),
	offsetof(struct xevpn_metrics, beats_dropped),
	offsetof(struct xevpn_metrics, beats_foreign),
	offsetof(struct xevpn_metrics, peer_up),
	offsetof(struct xevpn_metrics, group_peers_up),
	offsetof(struct xevpn_metrics, self_fence_armed),
	offsetof(struct xevpn_metrics, self_fenced),
	offsetof(struct xevpn_metrics, df_changes),
	offsetof(struct xevpn_metrics, es_is_df),
	offsetof(struct xevpn_metrics, failovers),
	offsetof(struct xevpn_metrics, es_group_vteps),
	offsetof(struct xevpn_metrics, map_entries),
	offsetof(struct xevpn_metrics, map_max_entries),
	offsetof(struct xevpn_metrics, dp_packets),
	offsetof(struct xevpn_metrics, dp_bytes),
	offsetof(struct xevpn_metrics, dp_events),
	offsetof(struct xevpn_metrics, gobgp_up),
	offsetof(struct xevpn_metrics, gobgp_connection_age),
	offsetof(struct xevpn_metrics, start_time),
	offsetof(struct xevpn_metrics, build_info),
};

_Static_assert(sizeof(slot) / sizeof(slot[0]) ==
	       sizeof(xevpn_metrics_descs) / sizeof(xevpn_metrics_descs[0]),
	       "one struct xevpn_metrics slot per table row");
_Static_assert(sizeof(struct xevpn_metrics) ==
	       sizeof(slot) / sizeof(slot[0]) * sizeof(struct metrics_family *),
	       "every struct xevpn_metrics member has a table row");

double xevpn_process_start_time(void)
{
	unsigned long long start_ticks = 0, btime = 0;
	char buf[1024], *p;
	long hz = sysconf(_SC_CLK_TCK);
	size_t n;
	FILE *f;

	f = fopen("/proc/self/stat", "re");
	if (!f)
		goto now;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name, which may hold spaces and ')'. */
	p = strrchr(buf, ')');
	if (!p)
		goto now;
	/* state is field 3, starttime field 22: skip fields 4-21. */
	if (sscanf(p + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
		   "%*s %*s %*s %*s %*s %llu", &start_ticks) != 1)
		goto now;

	f = fopen("/proc/stat", "re");
	if (!f)
		goto now;
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	if (!btime || hz <= 0)
		goto now;
	return (double)btime + (double)start_ticks / (double)hz;
now:
	return (double)time(NULL);
}

int xevpn_metrics_register(struct metrics_registry *reg, struct xevpn_metrics *m,
			   const char *version)
{
	const char *v[] = { version && *version ? version : "unknown" };

	memset(m, 0, sizeof(*m));
	for (unsigned int i = 0; i < xevpn_metrics_nfamilies; i++) {
		struct metrics_family *fam = metrics_family_new(reg, &xevpn_metrics_descs[i]);

		if (!fam)
			return -errno;
		*(struct metrics_family **)((char *)m + slot[i]) = fam;
	}
	/* Known label values start at 0, so rate() sees the first increase. */
	static const char *const causes[] = {
		XEVPN_FAILOVER_OPERATOR, XEVPN_FAILOVER_AUTONOMOUS, XEVPN_FAILOVER_LINK };
	for (unsigned int i = 0; i < sizeof(causes) / sizeof(causes[0]); i++)
		if (!metrics_series_get(m->failovers, &causes[i]))
			return -errno;
	metrics_set(m->start_time, NULL, xevpn_process_start_time());
	return metrics_set(m->build_info, v, 1);
}

bool xevpn_metrics_dp_labels(unsigned int ctr, const char **action, const char **reason,
			     char *buf, size_t buflen)
{
	const char *name = xevpn_ctr_name(ctr);

	if (!name || ctr >= XEVPN_CTR_VERDICT_MAX)
		return false;
	if (!strncmp(name, "drop_", 5)) {
		snprintf(buf, buflen, "%s", name + 5);
		*action = "drop";
		*reason = buf;
	} else {
		*action = name;
		*reason = XEVPN_REASON_NONE;
	}
	return true;
}

int xevpn_metrics_set_dataplane(struct xevpn_metrics *m, const struct xevpn_ctr_value *sum,
				unsigned int n)
{
	char buf[64];
	int ret;

	for (unsigned int c = 0; c < n && c < XEVPN_CTR_MAX; c++) {
		const char *lv[2];

		if (xevpn_metrics_dp_labels(c, &lv[0], &lv[1], buf, sizeof(buf))) {
			ret = metrics_set(m->dp_packets, lv, (double)sum[c].packets);
			if (!ret)
				ret = metrics_set(m->dp_bytes, lv, (double)sum[c].bytes);
		} else if (xevpn_ctr_name(c)) {
			lv[0] = xevpn_ctr_name(c);
			ret = metrics_set(m->dp_events, lv, (double)sum[c].packets);
		} else {
			continue;	/* index without a name */
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}
