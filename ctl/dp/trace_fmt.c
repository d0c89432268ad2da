// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Text form of trace events (dp.h, include/xevpn/trace.h). */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dp/dp.h"

const char *xevpn_trace_hook_name(unsigned int hook)
{
	switch (hook) {
	case XEVPN_TRACE_XDP_ACCESS:
		return "xdp_access";
	case XEVPN_TRACE_XDP_UPLINK:
		return "xdp_uplink";
	case XEVPN_TRACE_TC_ACCESS:
		return "tc_access";
	case XEVPN_TRACE_TC_UPLINK:
		return "tc_uplink";
	case XEVPN_TRACE_TC_OTHER:
		return "tc_other";
	default:
		return "unknown";
	}
}

__u64 xevpn_dp_trace_wall_ns(__u64 ts_ns)
{
	struct timespec rt;
	__u64 mono = xevpn_dp_mono_ns(), wall;

	clock_gettime(CLOCK_REALTIME, &rt);
	wall = (__u64)rt.tv_sec * 1000000000ULL + rt.tv_nsec;
	return ts_ns <= mono ? wall - (mono - ts_ns) : wall + (ts_ns - mono);
}

/* snprintf that appends at *off and never runs past len */
static void put(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off = *off + (size_t)n < len ? *off + (size_t)n : len - 1;
}

static void put_port(char *buf, size_t len, size_t *off, const char *name, __u32 ifindex)
{
	if (name && *name)
		put(buf, len, off, "%s", name);
	else
		put(buf, len, off, "if%u", ifindex);
}

static void put_ip(char *buf, size_t len, size_t *off, const char *word, __be32 a)
{
	char ip[INET_ADDRSTRLEN];

	if (a && inet_ntop(AF_INET, &a, ip, sizeof(ip)))
		put(buf, len, off, " %s %s", word, ip);
}

int xevpn_dp_trace_format(const struct xevpn_trace_event *ev, __u64 wall_ns, const char *in_name,
			  const char *out_name, char *buf, size_t len)
{
	const char *verdict = xevpn_ctr_name(ev->ctr);
	time_t sec = (time_t)(wall_ns / 1000000000ULL);
	const __u8 *s = ev->smac, *d = ev->dmac;
	size_t off = 0;
	struct tm tm;

	if (!len)
		return 0;
	buf[0] = '\0';
	localtime_r(&sec, &tm);
	put(buf, len, &off, "%02d:%02d:%02d.%06u %s ", tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (unsigned)(wall_ns % 1000000000ULL / 1000), xevpn_trace_hook_name(ev->hook));
	put_port(buf, len, &off, in_name, ev->ifindex);
	put(buf, len, &off, " vni %u %02x:%02x:%02x:%02x:%02x:%02x > %02x:%02x:%02x:%02x:%02x:%02x",
	    ev->vni, s[0], s[1], s[2], s[3], s[4], s[5], d[0], d[1], d[2], d[3], d[4], d[5]);
	if (ev->vlan)
		put(buf, len, &off, " vlan %u", ev->vlan);
	if (verdict)
		put(buf, len, &off, " %s", verdict);
	else
		put(buf, len, &off, " verdict %u", ev->ctr);
	if (ev->out_ifindex) {
		put(buf, len, &off, " -> ");
		put_port(buf, len, &off, out_name, ev->out_ifindex);
	}
	put_ip(buf, len, &off, "vtep", ev->vtep_dst);
	put_ip(buf, len, &off, "from", ev->vtep_src);
	if (ev->es_id)
		put(buf, len, &off, " es %u", ev->es_id);
	if (ev->flow_hash)
		put(buf, len, &off, " hash 0x%08x", ev->flow_hash);
	put(buf, len, &off, " len %u cpu%u", ev->pkt_len, ev->cpu);
	return (int)off;
}
