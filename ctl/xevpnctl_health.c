// SPDX-License-Identifier: GPL-2.0
/* Text views of the health state xevpnd reports (ctl/xevpnd_health.c). */
#include "xevpnctl_health.h"

#include <stdio.h>
#include <string.h>

static const char *s(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : "-";
}

static long long n(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static bool b(json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

static void print_group(json_t *g)
{
	json_t *fence = json_object_get(g, "fence"), *st = json_object_get(g, "stats"), *p;
	json_t *drops = json_object_get(st, "drops"), *v;
	const char *key;
	size_t i;

	printf("group %s (%s %s, vni %lld) on %s%s  id %s\n", s(g, "name"), s(g, "kind"),
	       json_object_get(g, "es") ? s(g, "es") : s(g, "bd"), n(g, "vni"), s(g, "interface"),
	       b(g, "if_up") ? "" : " (down)", s(g, "evpn_id"));
	printf("  us: role %s  priority %lld  self %s  members %lld  fence %s%s",
	       s(g, "role"), n(g, "priority"), b(g, "self_ok") ? "ok" : "ISOLATED", n(g, "members"),
	       s(fence, "state"), b(fence, "fenced") ? " (ES ports out of service)" : "");
	if (!strcmp(s(fence, "state"), "armed"))
		printf(" fires in %lldms", n(fence, "in_ms"));
	printf("\n  beats: sent %lld (errors %lld) accepted %lld rejected %lld  sockets %lld\n",
	       n(st, "tx_ok"), n(st, "tx_err"), n(st, "rx_ok"), n(st, "rejected"), n(st, "sock_rebuilds"));
	printf("  drops:");
	json_object_foreach(drops, key, v)
		if (json_integer_value(v))
			printf(" %s=%lld", key, (long long)json_integer_value(v));
	printf("\n");
	printf("  %-16s %-15s %-17s %-9s %-6s %-7s %-10s %s\n", "PEER", "VTEP", "MAC", "ROLE", "ALIVE",
	       "VERDICT", "LAST SEEN", "ACTION");
	json_array_foreach(json_object_get(g, "peers"), i, p) {
		char seen[32];

		snprintf(seen, sizeof(seen), "%lldms ago", n(p, "age_ms"));
		printf("  %-16s %-15s %-17s %-9s %-6s %-7s %-10s %s\n", s(p, "instance"),
		       s(p, "vtep"), s(p, "mac"), s(p, "role"),
		       b(p, "left") ? "left" : b(p, "alive") ? "yes" : "no", s(p, "verdict"), seen,
		       b(p, "pruned") ? "pruned" : b(p, "pending") ? "deferred (isolated)" : "-");
	}
}

bool xevpnctl_health_print(int argc, char **argv, json_t *data)
{
	json_t *g, *a = json_object_get(data, "actions");
	size_t i;

	if (!(argc == 2 && !strcmp(argv[0], "show") && !strcmp(argv[1], "health")) &&
	    !(argc == 4 && !strcmp(argv[0], "show") && !strcmp(argv[1], "es") &&
	      !strcmp(argv[3], "health")))
		return false;
	if (json_object_get(data, "es"))
		printf("ES %s  esi %s  %s%s\n", s(data, "es"), s(data, "esi"),
		       b(data, "in_service") ? "in-service" : "out-of-service",
		       b(data, "fenced") ? " (self-fenced)" : "");
	printf("node %s  bgp speaker %s  interval %lldms miss %lld  self-fence %lldms\n",
	       s(data, "instance"), b(data, "speaker_up") ? "up" : "LOST", n(data, "interval_ms"),
	       n(data, "miss"), n(data, "self_fence_ms"));
	printf("actions: pruned %lld restored %lld deferred %lld fenced %lld (skipped %lld) lifted %lld\n",
	       n(a, "prunes"), n(a, "restores"), n(a, "deferred"), n(a, "fences"), n(a, "fence_skipped"),
	       n(a, "fence_lifts"));
	json_array_foreach(json_object_get(data, "groups"), i, g)
		print_group(g);
	if (!json_array_size(json_object_get(data, "groups")))
		printf("no health group covers it\n");
	return true;
}
