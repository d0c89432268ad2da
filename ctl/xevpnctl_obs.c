// SPDX-License-Identifier: GPL-2.0
/* xevpnctl: `show es ESI traffic`, `show metrics`, `watch events`, `trace`. */
#include "xevpnctl_obs.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int xevpnctl_connect(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "xevpnctl: socket path too long\n");
		return -1;
	}
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "xevpnctl: %s: %s (is xevpnd running?)\n", sock, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

json_t *xevpnctl_request(const char *sock, const char *line)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char req[512], buf[1 << 16];
	size_t len = 0;
	json_t *r;
	int fd;

	if (strlen(sock) >= sizeof(sa.sun_path))
		return NULL;
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	snprintf(req, sizeof(req), "%s\n", line);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || write_all(fd, req, strlen(req))) {
		close(fd);
		return NULL;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf) - 1)
			break;
	}
	close(fd);
	buf[len] = 0;
	r = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	if (r && !json_is_true(json_object_get(r, "ok"))) {
		json_decref(r);
		return NULL;
	}
	return r;
}

/* ---------- show es ESI traffic ---------- */

static const char *si(double v, char *buf, size_t len)
{
	static const char *const unit[] = { "", "k", "M", "G", "T" };
	unsigned u = 0;

	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, u || v == (long long)v ? "%.1f%s" : "%.2f", v, unit[u]);
	return buf;
}

static void rate_cells(json_t *dir, json_t *windows)
{
	size_t i;
	json_t *w;

	json_array_foreach(windows, i, w) {
		json_t *r = json_object_get(dir, json_string_value(w));
		char p[32], b[32], cell[80];

		if (!r) {
			printf(" %-22s", "-");
			continue;
		}
		snprintf(cell, sizeof(cell), "%s pps %sbps%s",
			 si(json_real_value(json_object_get(r, "pps")), p, sizeof(p)),
			 si(json_real_value(json_object_get(r, "bps")), b, sizeof(b)),
			 json_is_true(json_object_get(r, "warm")) ? "" : "*");
		printf(" %-22s", cell);
	}
}

static void show_traffic(json_t *d)
{
	json_t *windows = json_object_get(d, "windows"), *m, *w;
	bool cold = false;
	size_t i, k;
	int n = 0;

	printf("ES %s  esi %s  (EWMA rates, sampled every %lld ms)\n",
	       json_string_value(json_object_get(d, "name")), json_string_value(json_object_get(d, "esi")),
	       json_integer_value(json_object_get(d, "sample_period_ms")));
	printf("%-24s %-8s", "MEMBER", "DIR");
	json_array_foreach(windows, i, w)
		printf(" %-22s", json_string_value(w));
	printf("\n");
	json_array_foreach(json_object_get(d, "members"), i, m) {
		char name[64];
		static const char *const dirs[] = { "ingress", "egress" };

		snprintf(name, sizeof(name), "%s%s", json_string_value(json_object_get(m, "member")),
			 json_is_true(json_object_get(m, "local")) ? " (this leaf)" : "");
		for (k = 0; k < 2; k++) {
			json_t *dir = json_object_get(m, dirs[k]);

			printf("%-24s %-8s", k ? "" : name, dirs[k]);
			if (json_is_null(dir) || !dir)
				printf(" n/a [%d]", n + 1);
			else
				rate_cells(dir, windows);
			json_array_foreach(windows, i, w) {
				json_t *r = json_object_get(json_object_get(dir, json_string_value(w)), "warm");

				cold |= json_is_false(r);
			}
			printf("\n");
		}
		n++;
	}
	m = json_object_get(d, "remote_total");
	if (m) {
		printf("%-24s %-8s", "remote members, all ES", "egress");
		if (json_is_object(json_object_get(m, "egress")))
			rate_cells(json_object_get(m, "egress"), windows);
		else
			printf(" n/a");
		printf(" [%d]\n", n + 1);
	}
	printf("sources:\n");
	json_array_foreach(json_object_get(d, "members"), i, m)
		printf("  [%zu] %s: %s\n", i + 1, json_string_value(json_object_get(m, "member")),
		       json_string_value(json_object_get(m, "source")));
	if ((m = json_object_get(d, "remote_total")))
		printf("  [%d] remote members: %s\n", n + 1, json_string_value(json_object_get(m, "source")));
	if (cold)
		printf("* window not warm yet: less than its length of samples since start\n");
}

bool xevpnctl_print(int argc, char **argv, json_t *data)
{
	if (argc == 4 && !strcmp(argv[0], "show") && !strcmp(argv[1], "es") &&
	    !strcmp(argv[3], "traffic")) {
		show_traffic(data);
		return true;
	}
	if (argc == 2 && !strcmp(argv[0], "show") && !strcmp(argv[1], "metrics") &&
	    json_is_string(json_object_get(data, "text"))) {
		fputs(json_string_value(json_object_get(data, "text")), stdout);
		return true;
	}
	return false;
}

/* ---------- watch events ---------- */

static int print_event(const char *line, bool js)
{
	json_t *o = json_loads(line, 0, NULL);

	if (!o) {
		fprintf(stderr, "xevpnctl: bad event line: %s\n", line);
		return -1;
	}
	if (js)
		printf("%s\n", line);
	else if (!strcmp(json_string_value(json_object_get(o, "type")) ?: "", "trace"))
		printf("%s\n", json_string_value(json_object_get(o, "text")) ?: "");
	else if (!strcmp(json_string_value(json_object_get(o, "type")) ?: "", "trace_end"))
		fprintf(stderr, "xevpnctl: trace ended: %lld events, %lld lost (ring buffer full)\n",
			json_integer_value(json_object_get(o, "events")),
			json_integer_value(json_object_get(o, "lost")));
	else
		printf("%s %-8s %s\n", json_string_value(json_object_get(o, "time")),
		       json_string_value(json_object_get(o, "type")),
		       json_string_value(json_object_get(o, "text")));
	fflush(stdout);
	json_decref(o);
	return 0;
}

int xevpnctl_watch(const char *sock, bool js, int argc, char **argv)
{
	char buf[1 << 16], req[256] = "";
	size_t len = 0;
	bool acked = false, trace = argc >= 1 && !strcmp(argv[0], "trace");
	int fd;

	if (trace) {
		/* `trace [--seconds N] [--count N] [--port P] [--vni N] [--drops]`: xevpnd checks */
		for (int i = 0; i < argc; i++) {
			if (strlen(req) + strlen(argv[i]) + 2 >= sizeof(req)) {
				fprintf(stderr, "xevpnctl: request too long\n");
				return 2;
			}
			strcat(req, argv[i]);
			strcat(req, " ");
		}
		req[strlen(req) - 1] = '\n';
	} else if (argc != 2 || strcmp(argv[1], "events")) {
		fprintf(stderr, "usage: xevpnctl [-j] watch events\n");
		return 2;
	} else {
		strcpy(req, "watch events\n");
	}
	signal(SIGPIPE, SIG_IGN);
	fd = xevpnctl_connect(sock);
	if (fd < 0)
		return 1;
	if (write_all(fd, req, strlen(req))) {
		fprintf(stderr, "xevpnctl: write: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		char *nl, *start = buf;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = 0;
		while ((nl = strchr(start, '\n'))) {
			*nl = 0;
			if (!acked) {
				json_t *r = json_loads(start, 0, NULL);

				acked = r && json_is_true(json_object_get(r, "ok"));
				if (!acked) {
					json_t *e = r ? json_object_get(r, "error") : NULL;

					fprintf(stderr, "xevpnctl: %s\n",
						json_is_string(e) ? json_string_value(e) : "bad reply");
					json_decref(r);
					close(fd);
					return 1;
				}
				json_decref(r);
			} else {
				print_event(start, js);
			}
			start = nl + 1;
		}
		len -= (size_t)(start - buf);
		memmove(buf, start, len);
		if (len == sizeof(buf) - 1)
			len = 0;	/* a line longer than the buffer: drop it */
	}
	close(fd);
	if (!trace)
		fprintf(stderr, "xevpnctl: xevpnd closed the event stream\n");
	return acked ? 0 : 1;
}
