// SPDX-License-Identifier: GPL-2.0
/*
 * xevpnd observability end to end: /metrics scraped from inside each leaf's
 * namespace while traffic flows, promtool on the scrape, and the JSON of
 * every xevpnctl command (one-shot, traffic view, watch events, trace).
 * Real gobgpd, real dataplane, one xevpnd per leaf (selftests/lib/fabric.h):
 *
 *                    [rr] gobgpd route reflector
 *                      |
 *   [ul] br0 ----------+--------------------+
 *      |                      |             |
 *   [leaf1] 192.0.2.1   [leaf2] 192.0.2.2   [leaf3] 192.0.2.3
 *   lo 127.0.0.1:9469   lo 127.0.0.1:9469   lo 127.0.0.1:9469   (http-metrics)
 *      acc0                  acc0              acc0
 *        \  ESI ..:00:01     /                  |
 *         nic0 [server] nic1  (static LAG)   [host3]
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctl_env.h"

#define VNI CTL_VNI
#define METRICS_PORT 9469
#define LOG_LINES 25

/* Metrics on the leaf's loopback; the heartbeat on, so beats move on the scrape. */
static void write_conf(int i)
{
	char http[32];
	struct ctl_leaf_conf o = { .http_metrics = http, .extra_port = CTL_HB_DP_IF };
	FILE *f;

	ctl_hb_port(i);
	snprintf(http, sizeof(http), "127.0.0.1:%d", METRICS_PORT);
	f = ctl_conf_begin(i, &o);
	fprintf(f, "health:\n  interval: 100ms\n  miss: 3\n  evpn-id: xt-metrics\n  keys:\n"
		   "    - { id: 1, secret: 00112233445566778899aabbccddeeff }\n"
		   "  groups:\n    - { name: bd%u, bd: bd%u, interface: %s }\n", VNI, VNI, CTL_HB_IF);
	ctl_conf_end(i, f);
}

/* `xevpnctl -s SOCK -j CMD` on leaf i, parsed; NULL when it failed. */
static json_t *ctl_json(int i, const char *cmd)
{
	static char out[1 << 20];
	json_error_t err;
	json_t *j;
	int rc;

	rc = xt_ns_sh(NULL, out, sizeof(out), "%s -s %s -j %s", bin_xevpnctl, sock[i], cmd);
	if (rc)
		return NULL;
	j = json_loads(out, 0, &err);
	cr_assert_not_null(j, "%s: output is not JSON (%s): %.300s", cmd, err.text, out);
	return j;
}

static bool daemon_flag(int i, const char *name)
{
	json_t *d = ctl_json(i, "show daemon");
	bool ok = d && json_is_true(json_object_get(d, name));

	json_decref(d);
	return ok;
}

static void setup(void)
{
	ctl_fabric_up();
	ctl_leaves_up(write_conf, daemon_flag, LOG_LINES);
}

/* GET /metrics from inside leaf i's namespace: the body (malloc'd) or NULL. */
static char *scrape(int i)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(METRICS_PORT) };
	static const char req[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap), *body;
	struct timeval tv = { .tv_sec = 5 };
	int fd = xt_ns_socket(fab.leaf[i].ns, AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_not_null(buf);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
		close(fd);
		free(buf);
		return NULL;
	}
	for (ssize_t n; len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0;)
		len += (size_t)n;
	close(fd);
	buf[len] = 0;
	cr_assert(!strncmp(buf, "HTTP/1.", 7) && strstr(buf, " 200 "), "status: %.80s", buf);
	cr_assert(strcasestr(buf, "Content-Type: text/plain; version=0.0.4"), "content type: %.300s", buf);
	body = strstr(buf, "\r\n\r\n");
	cr_assert_not_null(body);
	body = strdup(body + 4);
	free(buf);
	return body;
}

/* Value of the sample "series" (name plus exact label text), -1 if absent. */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, series, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

static void promtool(const char *text)
{
	char path[XT_PATH_MAX], out[8192];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/scrape-%d.prom", xt_state_dir(), (int)getpid());
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	rc = xt_ns_sh(NULL, out, sizeof(out), "promtool check metrics < %s 2>&1", path);
	cr_assert_eq(rc, 0, "promtool check metrics failed (%d):\n%s", rc, out);
}

static int ping(int count, const char *interval)
{
	struct xt_proc p = { 0 };
	int sent;

	cr_assert_eq(ctl_ping_start(&p, count, interval), 0);
	return ctl_ping_wait(&p, 20000, &sent);
}

#define DP_PKTS(action) "xevpn_dataplane_packets_total{action=\"" action "\",reason=\"none\"}"
#define DP_BYTES(action) "xevpn_dataplane_bytes_total{action=\"" action "\",reason=\"none\"}"
#define ESI_LABEL "{esi=\"" XT_FABRIC_ESI "\"}"

static void teardown(void)
{
	ctl_teardown(LOG_LINES);
}

TestSuite(netns_ctl_metrics, .init = setup, .fini = teardown, .timeout = 240);

Test(netns_ctl_metrics, scrape_moves_with_traffic_and_passes_promtool)
{
	char *before[XT_FABRIC_LEAVES], *after[XT_FABRIC_LEAVES], *m;
	double d_encap, d_decap, d_decap_es = 0, now = (double)time(NULL);
	int got;

	got = ping(3, "0.2");	/* learn both hosts */
	cr_assert_eq(got, 3, "warm-up ping: %d/3", got);
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		before[i] = scrape(i);
		cr_assert_not_null(before[i], "scrape %s", fab.leaf[i].ns);
	}
	got = ping(40, "0.05");
	cr_assert_eq(got, 40, "host3 -> server: %d/40 replies", got);
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		after[i] = scrape(i);
		cr_assert_not_null(after[i], "scrape %s", fab.leaf[i].ns);
		promtool(after[i]);
	}

	/* leaf3: every request is encapsulated toward the ES, every reply decapsulated */
	d_encap = sample(after[2], DP_PKTS("encap_es")) - sample(before[2], DP_PKTS("encap_es"));
	d_decap = sample(after[2], DP_PKTS("decap_fwd")) - sample(before[2], DP_PKTS("decap_fwd"));
	cr_assert_geq(d_encap, 40, "leaf3 encap_es moved by %.0f", d_encap);
	cr_assert_geq(d_decap, 40, "leaf3 decap_fwd moved by %.0f", d_decap);
	cr_assert_geq(sample(after[2], DP_BYTES("encap_es")) - sample(before[2], DP_BYTES("encap_es")),
		      40 * 98, "encap_es bytes cover 40 ICMP frames");
	/* the ES members decapsulated the requests between them (aliasing) */
	for (int i = 0; i < 2; i++)
		d_decap_es += sample(after[i], DP_PKTS("decap_fwd")) - sample(before[i], DP_PKTS("decap_fwd"));
	cr_assert_geq(d_decap_es, 40, "leaf1+leaf2 decap_fwd moved by %.0f", d_decap_es);

	/* model, maps, GoBGP, process */
	cr_assert_eq(sample(after[2], "xevpn_es_group_vteps" ESI_LABEL), 2, "leaf3 aliases over 2 VTEPs");
	cr_assert_eq(sample(after[0], "xevpn_es_is_df{esi=\"" XT_FABRIC_ESI "\",vni=\"100\"}") +
			     sample(after[1], "xevpn_es_is_df{esi=\"" XT_FABRIC_ESI "\",vni=\"100\"}"),
		     1, "exactly one DF for (ES, 100)");
	cr_assert_geq(sample(after[0], "xevpn_df_changes_total" ESI_LABEL), 0);
	cr_assert_geq(sample(after[2], "xevpn_map_entries{map=\"xevpn_fdb\"}"), 2, "FDB holds both hosts");
	cr_assert_gt(sample(after[2], "xevpn_map_max_entries{map=\"xevpn_fdb\"}"), 1000);
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		cr_assert_eq(sample(after[i], "xevpn_gobgp_up"), 1, "%s: gobgp up", fab.leaf[i].ns);
		cr_assert_geq(sample(after[i], "xevpn_gobgp_connection_age_seconds"), 0);
		cr_assert(sample(after[i], "process_start_time_seconds") > now - 600 &&
			  sample(after[i], "process_start_time_seconds") <= now + 1, "start time");
		cr_assert(strstr(after[i], "# TYPE xevpn_self_fence_armed gauge") &&
			  sample(after[i], "xevpn_self_fence_armed") >= 0,
			  "heartbeat families exposed");
		/* beats flow between the scrapes (100 ms interval, > 2 s of pings) */
		cr_assert_geq(sample(after[i], "xevpn_beats_sent_total{group=\"bd100\"}") -
				      sample(before[i], "xevpn_beats_sent_total{group=\"bd100\"}"),
			      10, "%s: beats sent moved", fab.leaf[i].ns);
		cr_assert_geq(sample(after[i], "xevpn_beats_accepted_total{group=\"bd100\"}") -
				      sample(before[i], "xevpn_beats_accepted_total{group=\"bd100\"}"),
			      10, "%s: beats accepted moved", fab.leaf[i].ns);
		cr_assert_eq(sample(after[i], "xevpn_failovers_total{cause=\"link\"}"), 0);
	}

	/* leaf1's ES port goes down: one failover, cause link */
	cr_assert_eq(xt_fabric_es_link_set(&fab, 0, false), 0);
	for (uint64_t end = xt_now_ms() + 10000; xt_now_ms() < end; xt_sleep_ms(100)) {
		m = scrape(0);
		if (sample(m, "xevpn_failovers_total{cause=\"link\"}") == 1) {
			free(m);
			m = NULL;
			break;
		}
		free(m);
	}
	m = scrape(0);
	cr_assert_eq(sample(m, "xevpn_failovers_total{cause=\"link\"}"), 1, "link failover counted");
	promtool(m);
	free(m);
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		free(before[i]);
		free(after[i]);
	}
}

/* Keys every element (or the object) of a command's JSON must carry. */
static void need_keys(json_t *o, const char *cmd, const char *const *keys)
{
	for (; *keys; keys++)
		cr_assert_not_null(json_object_get(o, *keys), "%s: key \"%s\" missing", cmd, *keys);
}

static json_t *need_array(int leaf, const char *cmd, const char *const *keys, size_t min)
{
	json_t *a = ctl_json(leaf, cmd), *v;
	size_t i;

	cr_assert(json_is_array(a), "%s: array expected", cmd);
	cr_assert_geq(json_array_size(a), min, "%s: %zu elements", cmd, json_array_size(a));
	json_array_foreach(a, i, v)
		need_keys(v, cmd, keys);
	return a;
}

static json_t *need_object(int leaf, const char *cmd, const char *const *keys)
{
	json_t *o = ctl_json(leaf, cmd);

	cr_assert(json_is_object(o), "%s: object expected", cmd);
	need_keys(o, cmd, keys);
	return o;
}

static double rate(json_t *member, const char *dir, const char *window, const char *what)
{
	return json_number_value(json_object_get(json_object_get(json_object_get(member, dir), window), what));
}

Test(netns_ctl_metrics, every_cli_command_gives_valid_json)
{
	static const char *const es_keys[] = { "name", "esi", "id", "flags", "in_service", "vteps",
					       "group", "evis", "df_changes", NULL };
	static const char *const mac_keys[] = { "vni", "mac", "type", "advertised", NULL };
	static const char *const vtep_keys[] = { "vtep", "routes", "heartbeat", "es", NULL };
	static const char *const df_keys[] = { "es", "vni", "algorithm", "df", "is_df", "reason", NULL };
	static const char *const bd_keys[] = { "name", "vni", "rd", "ports", "flood", NULL };
	static const char *const stats_keys[] = { "routes_in", "withdraws_in", "macs", "es", "vteps", NULL };
	static const char *const fib_keys[] = { "fdb_set", "es_nh_set", "errors", NULL };
	static const char *const daemon_keys[] = { "started", "bgp_synced", "reconciled", "converged", NULL };
	static const char *const traffic_keys[] = { "esi", "name", "windows", "members", "remote_total",
						    "sample_period_ms", NULL };
	static const char *const member_keys[] = { "member", "vtep", "local", "source", "ingress",
						   "egress", NULL };
	char cmd[128], out[8192], wlog[XT_PATH_MAX], *text = NULL;
	double in_pps = 0, out_pps = 0;
	struct xt_proc w = { 0 };
	json_t *j, *m;
	size_t i, len = 0, n_route = 0, n_lines = 0;
	FILE *f;
	int got;

	got = ping(3, "0.2");	/* learn both hosts */
	cr_assert_eq(got, 3, "warm-up ping: %d/3", got);
	got = ping(60, "0.05");
	cr_assert_geq(got, 55, "traffic: %d/60", got);
	xt_sleep_ms(1500);	/* at least one more 1 s sample after the traffic */

	json_decref(need_array(0, "show es", es_keys, 1));
	json_decref(need_array(0, "show es server1", es_keys, 1));
	json_decref(need_array(0, "show es " XT_FABRIC_ESI, es_keys, 1));
	json_decref(need_array(0, "show mac", mac_keys, 2));
	json_decref(need_array(0, "show mac 100", mac_keys, 2));
	json_decref(need_array(0, "show vtep", vtep_keys, 2));
	json_decref(need_array(0, "show df", df_keys, 1));
	json_decref(need_array(0, "show bd", bd_keys, 1));
	json_decref(need_object(0, "show stats", stats_keys));
	json_decref(need_object(0, "show fib", fib_keys));
	json_decref(need_object(0, "show daemon", daemon_keys));
	j = ctl_json(0, "show metrics");
	cr_assert(json_is_string(json_object_get(j, "text")) &&
		  strstr(json_string_value(json_object_get(j, "text")), "xevpn_dataplane_packets_total"),
		  "show metrics: the exposition text");
	json_decref(j);

	/* traffic: the ES members' access ports carried the pings, one way or the other */
	for (int leaf = 0; leaf < 2; leaf++) {
		bool local_seen = false;

		j = need_object(leaf, "show es " XT_FABRIC_ESI " traffic", traffic_keys);
		cr_assert_eq(json_array_size(json_object_get(j, "windows")), 3);
		cr_assert(json_is_string(json_object_get(json_object_get(j, "remote_total"), "source")));
		json_array_foreach(json_object_get(j, "members"), i, m) {
			need_keys(m, "traffic member", member_keys);
			cr_assert(strlen(json_string_value(json_object_get(m, "source"))) > 10,
				  "every member says where its figures come from");
			if (!json_is_true(json_object_get(m, "local")))
				continue;
			local_seen = true;
			in_pps += rate(m, "ingress", "60s", "pps");
			out_pps += rate(m, "egress", "60s", "pps");
			cr_assert(json_is_boolean(json_object_get(json_object_get(json_object_get(m, "ingress"),
										"3600s"), "warm")));
		}
		cr_assert(local_seen, "leaf%d lists itself as a member", leaf + 1);
		cr_assert_geq(json_array_size(json_object_get(j, "members")), 2, "both members listed");
		json_decref(j);
	}
	cr_assert_gt(in_pps, 0.1, "ES ingress rate (from the server) %.3f pps", in_pps);
	cr_assert_gt(out_pps, 0.1, "ES egress rate (to the server) %.3f pps", out_pps);
	/* the text view names its sources too */
	cr_assert_eq(xt_ns_sh(NULL, out, sizeof(out), "%s -s %s show es server1 traffic", bin_xevpnctl,
			      sock[0]), 0);
	cr_assert(strstr(out, "sources:") && strstr(out, "IFLA_STATS64"), "text view: %s", out);

	/* the shell runs the same commands (lines on stdin when not a terminal) */
	cr_assert_eq(xt_ns_sh(NULL, out, sizeof(out), "echo 'show daemon' | %s -s %s -j", bin_xevpnctl,
			      sock[0]), 0);
	j = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
	cr_assert(j && json_is_true(json_object_get(j, "converged")), "shell: %s", out);
	json_decref(j);

	/* unknown ES: a clean error */
	snprintf(cmd, sizeof(cmd), "%s -s %s -j show es nosuch traffic", bin_xevpnctl, sock[0]);
	cr_assert_neq(xt_ns_sh(NULL, out, sizeof(out), "%s", cmd), 0);

	/* trace: bad options refused with a reason; then one JSON line per dataplane
	 * decision on leaf3 while host3 pings the server, ending at --count */
	cr_assert_eq(xt_ns_sh(NULL, out, sizeof(out), "%s -s %s -j trace --count 0 2>&1", bin_xevpnctl,
			      sock[2]), 1);
	cr_assert(strstr(out, "--count"), "trace names the bad option: %s", out);
	{
		/* heartbeats are traced too (they cross the dataplane): a count large
		 * enough that the session ends by its 3 s deadline, pings included;
		 * BGP and other underlay traffic is kept out by the VNI filter */
		char *argv[] = { bin_xevpnctl, "-s", sock[2], "-j", "trace", "--count", "5000",
				 "--seconds", "3", "--vni", "100", NULL };
		char tlog[XT_PATH_MAX], line[2048];
		struct xt_proc tp = { 0 };
		int n_encap = 0, n_decap = 0, n_end = 0, n_lines = 0, n_events = -1;
		FILE *tf;

		snprintf(tlog, sizeof(tlog), "%s/trace-%d.log", xt_state_dir(), (int)getpid());
		unlink(tlog);
		cr_assert_eq(xt_spawn(NULL, "trace", argv, tlog, 0, &tp), 0);
		xt_sleep_ms(500);
		got = ping(6, "0.1");
		cr_assert_geq(got, 5, "traffic while tracing: %d/6", got);
		for (uint64_t end = xt_now_ms() + 10000; xt_proc_alive(&tp) && xt_now_ms() < end;)
			xt_sleep_ms(100);
		cr_assert_not(xt_proc_alive(&tp), "trace did not end at its deadline");
		tf = fopen(tlog, "r");
		cr_assert_not_null(tf);
		while (fgets(line, sizeof(line), tf)) {
			json_t *ev = json_loads(line, 0, NULL);
			const char *type = ev ? json_string_value(json_object_get(ev, "type")) : NULL;
			const char *verdict = ev ? json_string_value(json_object_get(ev, "verdict")) : NULL;
			const char *hook = ev ? json_string_value(json_object_get(ev, "hook")) : NULL;

			if (type && !strcmp(type, "trace")) {
				n_lines++;
				cr_assert(verdict && hook && json_is_string(json_object_get(ev, "text")),
					  "trace line: %s", line);
				cr_assert_eq(json_integer_value(json_object_get(ev, "vni")), VNI, "%s", line);
				if (!strcmp(hook, "xdp_access") && !strcmp(verdict, "encap_es")) {
					const char *v = json_string_value(json_object_get(ev, "vtep_dst"));

					cr_assert(v && (!strcmp(v, "192.0.2.1") || !strcmp(v, "192.0.2.2")),
						  "encap_es to an ES member: %s", line);
					n_encap++;
				}
				if (!strcmp(hook, "xdp_uplink") && !strcmp(verdict, "decap_fwd"))
					n_decap++;
			} else if (type && !strcmp(type, "trace_end")) {
				n_events = (int)json_integer_value(json_object_get(ev, "events"));
				n_end++;
			}
			json_decref(ev);
		}
		fclose(tf);
		cr_assert_eq(n_end, 1, "trace_end line");
		cr_assert_eq(n_events, n_lines, "trace_end counts every line streamed");
		cr_assert_geq(n_encap, 1, "no encap_es decision traced for host3's pings");
		cr_assert_geq(n_decap, 1, "no decap_fwd decision traced for the replies");
		/* the session is over: tracing can start again, and text lines name the hook */
		cr_assert_eq(xt_ns_sh(fab.host3.ns, out, sizeof(out), "%s -s %s trace --count 1 "
				      "--vni 100 --seconds 5 & sleep 0.5; /bin/busybox ping -c 2 -i 0.2 -W 1 %s "
				      ">/dev/null; wait", bin_xevpnctl, sock[2], XT_FABRIC_SERVER_IP), 0);
		cr_assert(strstr(out, " vni 100 ") && (strstr(out, " xdp_") || strstr(out, " tc_")),
			  "text trace line: %s", out);
	}

	/* watch events: route events stream as leaf2's ES port goes down */
	{
		char *argv[] = { bin_xevpnctl, "-s", sock[0], "-j", "watch", "events", NULL };

		snprintf(wlog, sizeof(wlog), "%s/watch-%d.log", xt_state_dir(), (int)getpid());
		unlink(wlog);
		cr_assert_eq(xt_spawn(NULL, "watch", argv, wlog, 0, &w), 0);
	}
	xt_sleep_ms(500);
	cr_assert_eq(xt_fabric_es_link_set(&fab, 1, false), 0, "leaf2's ES port down");
	for (uint64_t end = xt_now_ms() + 10000; xt_now_ms() < end && !n_route; xt_sleep_ms(200)) {
		f = fopen(wlog, "r");
		if (!f)
			continue;
		free(text);
		text = calloc(1, 1 << 20);
		len = fread(text, 1, (1 << 20) - 1, f);
		fclose(f);
		n_route = strstr(text, "\"type\":\"route\"") ? 1 : 0;
	}
	xt_sleep_ms(300);
	cr_assert(xt_proc_alive(&w), "watch keeps streaming");
	xt_proc_stop(&w, 2000);
	f = fopen(wlog, "r");
	cr_assert_not_null(f);
	free(text);
	text = calloc(1, 1 << 20);
	len = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	n_route = 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_error_t err;

		if (l[0] != '{')
			continue;	/* xevpnctl's own messages on stderr */
		j = json_loads(l, 0, &err);
		cr_assert_not_null(j, "event line is JSON: %s (%s)", l, err.text);
		need_keys(j, "event", (const char *const[]){ "time", "type", "text", NULL });
		if (!strcmp(json_string_value(json_object_get(j, "type")), "route")) {
			need_keys(j, "route event", (const char *const[]){ "withdraw", "route_type",
									   "nexthop", NULL });
			n_route += json_is_true(json_object_get(j, "withdraw")) &&
				   !strcmp(json_string_value(json_object_get(j, "nexthop")), "192.0.2.2");
		}
		n_lines++;
		json_decref(j);
	}
	cr_assert_gt(n_route, 0, "leaf1 streamed leaf2's withdrawals (%zu lines, %zu bytes)", n_lines, len);
	free(text);
}
