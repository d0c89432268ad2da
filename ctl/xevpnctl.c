// SPDX-License-Identifier: GPL-2.0
/* xevpnctl: query xevpnd over its Unix socket. Human text by default,
 * -j for the JSON the daemon sends. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "xevpnctl_health.h"
#include "xevpnctl_obs.h"

static const char *str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : json_is_null(v) || !v ? "-" : "?";
}

static long long num(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static bool yes(json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

static void join_strings(json_t *a, char *buf, size_t len)
{
	size_t i, o = 0;
	json_t *v;

	buf[0] = 0;
	json_array_foreach(a, i, v) {
		o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s", i ? "," : "",
				      json_is_string(v) ? json_string_value(v) : "?");
	}
	if (!json_array_size(a))
		snprintf(buf, len, "-");
}

static void show_es(json_t *data, bool detail)
{
	size_t i, k;
	json_t *es, *v;
	char flags[128], grp[256];

	if (!detail)
		printf("%-20s %-29s %-8s %-12s %-3s %-24s %s\n", "NAME", "ESI", "PORT", "STATE", "DF",
		       "GROUP", "FLAGS");
	json_array_foreach(data, i, es) {
		unsigned n_df = 0, n_evi = (unsigned)json_array_size(json_object_get(es, "evis"));

		json_array_foreach(json_object_get(es, "evis"), k, v)
			n_df += yes(v, "is_df");
		join_strings(json_object_get(es, "flags"), flags, sizeof(flags));
		join_strings(json_object_get(es, "group"), grp, sizeof(grp));
		if (!detail) {
			char df[16];

			snprintf(df, sizeof(df), "%u/%u", n_df, n_evi);
			printf("%-20s %-29s %-8s %-12s %-3s %-24s %s\n", str(es, "name"), str(es, "esi"),
			       str(es, "port"), yes(es, "in_service") ? "in-service" : "out", df, grp, flags);
			continue;
		}
		printf("ES %s\n  esi %s  id %lld\n  port %s  mode %s  df %s (wait %lldms)\n  state %s  flags %s\n",
		       str(es, "name"), str(es, "esi"), num(es, "id"), str(es, "port"), str(es, "mode"),
		       str(es, "df_algorithm"), num(es, "df_wait_ms"),
		       yes(es, "in_service") ? "in-service" : "out-of-service", flags);
		printf("  group %s  remote macs %lld  df changes %lld\n  peers:\n", grp, num(es, "remote_macs"),
		       num(es, "df_changes"));
		json_array_foreach(json_object_get(es, "vteps"), k, v)
			printf("    %-15s per-es-ad %-3s es-route %-3s per-evi-ad %lld %s\n", str(v, "vtep"),
			       yes(v, "per_es_ad") ? "yes" : "no", yes(v, "es_route") ? "yes" : "no",
			       num(v, "per_evi_ad"), yes(v, "active") ? "active" : "inactive");
		printf("  evis:\n");
		json_array_foreach(json_object_get(es, "evis"), k, v)
			printf("    vni %-8lld df %-15s %s (%s)\n", num(v, "vni"), str(v, "df"),
			       yes(v, "is_df") ? "this leaf" : "", str(v, "reason"));
	}
}

static void show_mac(json_t *data)
{
	size_t i;
	json_t *m;

	printf("%-8s %-17s %-6s %-30s %-4s %s\n", "VNI", "MAC", "TYPE", "WHERE", "SEQ", "ADV");
	json_array_foreach(data, i, m) {
		char where[64];

		if (!strcmp(str(m, "type"), "local"))
			snprintf(where, sizeof(where), "ifindex %lld%s%s", num(m, "ifindex"),
				 json_object_get(m, "es") ? " es " : "", json_object_get(m, "es") ? str(m, "es") : "");
		else if (json_object_get(m, "esi"))
			snprintf(where, sizeof(where), "esi %s", str(m, "esi"));
		else
			snprintf(where, sizeof(where), "vtep %s", str(m, "vtep"));
		printf("%-8lld %-17s %-6s %-30s %-4lld %s\n", num(m, "vni"), str(m, "mac"), str(m, "type"), where,
		       num(m, "seq"), yes(m, "advertised") ? "yes" : "no");
	}
}

static void show_vtep(json_t *data)
{
	size_t i;
	json_t *v;
	char es[256];

	printf("%-15s %-7s %-9s %s\n", "VTEP", "ROUTES", "HEARTBEAT", "ES");
	json_array_foreach(data, i, v) {
		join_strings(json_object_get(v, "es"), es, sizeof(es));
		printf("%-15s %-7lld %-9s %s\n", str(v, "vtep"), num(v, "routes"), str(v, "heartbeat"), es);
	}
}

static void show_df(json_t *data)
{
	size_t i;
	json_t *v;

	printf("%-20s %-8s %-10s %-15s %-4s %s\n", "ES", "VNI", "ALGORITHM", "DF", "US", "REASON");
	json_array_foreach(data, i, v)
		printf("%-20s %-8lld %-10s %-15s %-4s %s\n", str(v, "es"), num(v, "vni"), str(v, "algorithm"),
		       str(v, "df"), yes(v, "is_df") ? "yes" : "no", str(v, "reason"));
}

static void show_bd(json_t *data)
{
	size_t i;
	json_t *v;
	char ports[256], flood[256];

	printf("%-12s %-8s %-20s %-24s %s\n", "NAME", "VNI", "RD", "PORTS", "FLOOD");
	json_array_foreach(data, i, v) {
		join_strings(json_object_get(v, "ports"), ports, sizeof(ports));
		join_strings(json_object_get(v, "flood"), flood, sizeof(flood));
		printf("%-12s %-8lld %-20s %-24s %s\n", str(v, "name"), num(v, "vni"), str(v, "rd"), ports, flood);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xevpnctl [-s SOCKET] [-j] show es [ESI|NAME] | mac [VNI] | vtep | df | bd | stats | fib | daemon\n"
		   "       xevpnctl [-s SOCKET] [-j] show es ESI|NAME traffic|health | show health | show metrics | watch events\n"
		   "       xevpnctl [-s SOCKET] [-j] trace [--seconds N] [--count N] [--port P] [--vni N] [--drops]\n"
		   "       xevpnctl [-s SOCKET] [-j] [shell]   (interactive, TAB completion)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	const char *sock = XCFG_DEFAULT_SOCKET;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char req[256] = "", *resp = NULL;
	size_t len = 0, cap = 0;
	bool js = false;
	json_t *reply, *data;
	json_error_t jerr;
	int c, fd;

	while ((c = getopt_long(argc, argv, "+s:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'j': js = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc || !strcmp(argv[optind], "shell"))
		return xevpnctl_shell(sock, js);
	if (!strcmp(argv[optind], "watch") || !strcmp(argv[optind], "trace"))
		return xevpnctl_watch(sock, js, argc - optind, argv + optind);
	for (int i = optind; i < argc; i++) {
		if (strlen(req) + strlen(argv[i]) + 2 >= sizeof(req)) {
			fprintf(stderr, "xevpnctl: request too long\n");
			return 2;
		}
		strcat(req, argv[i]);
		strcat(req, i + 1 < argc ? " " : "\n");
	}
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "xevpnctl: socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "xevpnctl: %s: %s (is xevpnd running?)\n", sock, strerror(errno));
		return 1;
	}
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		fprintf(stderr, "xevpnctl: write: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			char *r = realloc(resp, cap = cap ? cap * 2 : 65536);

			if (!r)
				return 1;
			resp = r;
		}
		n = read(fd, resp + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (!resp) {
		fprintf(stderr, "xevpnctl: empty reply\n");
		return 1;
	}
	resp[len] = 0;
	reply = json_loads(resp, 0, &jerr);
	free(resp);
	if (!reply) {
		fprintf(stderr, "xevpnctl: bad reply: %s\n", jerr.text);
		return 1;
	}
	if (!yes(reply, "ok")) {
		fprintf(stderr, "xevpnctl: %s\n", str(reply, "error"));
		json_decref(reply);
		return 1;
	}
	data = json_object_get(reply, "data");
	if (js) {
		json_dumpf(data, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (xevpnctl_health_print(argc - optind, argv + optind, data)) {
		/* heartbeat groups (xevpnctl_health.c) */
	} else if (xevpnctl_print(argc - optind, argv + optind, data)) {
		/* observability views (xevpnctl_obs.c) */
	} else if (!strcmp(argv[optind + 1 < argc ? optind + 1 : optind], "es")) {
		show_es(data, argc - optind > 2);
	} else if (!strcmp(argv[optind + 1], "mac")) {
		show_mac(data);
	} else if (!strcmp(argv[optind + 1], "vtep")) {
		show_vtep(data);
	} else if (!strcmp(argv[optind + 1], "df")) {
		show_df(data);
	} else if (!strcmp(argv[optind + 1], "bd")) {
		show_bd(data);
	} else {
		json_dumpf(data, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(reply);
	return 0;
}
