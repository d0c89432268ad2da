// SPDX-License-Identifier: GPL-2.0
#include "ctl_env.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct xt_fabric fab;
struct xt_proc xd[XT_FABRIC_LEAVES];
char conf[XT_FABRIC_LEAVES][XT_PATH_MAX], sock[XT_FABRIC_LEAVES][XT_PATH_MAX];
char pins[XT_FABRIC_LEAVES][XT_PATH_MAX];
char bin_xevpnd[PATH_MAX], bin_xevpnctl[PATH_MAX];

void ctl_find_bins(void)
{
	const char *dir = getenv("XEVPN_BIN");
	char self[PATH_MAX], d[PATH_MAX];
	ssize_t n;

	if (dir) {
		snprintf(d, sizeof(d), "%s", dir);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		cr_assert_gt(n, 0);
		self[n] = 0;
		snprintf(d, sizeof(d), "%s/..", dirname(self));
	}
	snprintf(bin_xevpnd, sizeof(bin_xevpnd), "%s/xevpnd", d);
	snprintf(bin_xevpnctl, sizeof(bin_xevpnctl), "%s/xevpnctl", d);
	cr_assert_eq(access(bin_xevpnd, X_OK), 0, "%s not built", bin_xevpnd);
	cr_assert_eq(access(bin_xevpnctl, X_OK), 0, "%s not built", bin_xevpnctl);
}

void ctl_fabric_up(void)
{
	struct xt_fabric_opts o = { 0 };

	ctl_find_bins();
	cr_assert_eq(xt_fabric_create(&fab, &o), 0, "fabric topology");
	cr_assert_eq(xt_fabric_wait_bgp(&fab, 60000), 0, "BGP sessions to the RR");
}

void ctl_uplink_forwarding(int i)
{
	char key[64];

	snprintf(key, sizeof(key), "net/ipv4/conf/%s/forwarding", fab.leaf[i].uplink);
	cr_assert_eq(xt_sysctl(fab.leaf[i].ns, key, "1"), 0);
}

static void conf_tmp(int i, char *buf, size_t len)
{
	snprintf(buf, len, "%s.tmp", conf[i]);
}

FILE *ctl_conf_begin(int i, const struct ctl_leaf_conf *o)
{
	struct xt_fabric_leaf *l = &fab.leaf[i];
	char tmp[XT_PATH_MAX + 8];
	FILE *f;

	snprintf(conf[i], sizeof(conf[i]), "%s/%s.conf", xt_state_dir(), l->ns);
	snprintf(sock[i], sizeof(sock[i]), "%s/%s.sock", xt_state_dir(), l->ns);
	snprintf(pins[i], sizeof(pins[i]), "%s/%s", l->bpffs, CTL_INSTANCE);
	conf_tmp(i, tmp, sizeof(tmp));
	f = fopen(tmp, "w");
	cr_assert_not_null(f);
	fprintf(f,
		"vtep-address: %s\nrouter-id: %s\nasn: %u\ngobgp-api: %s\nbpffs: %s\n"
		"instance: %s\ncli-socket: %s\n",
		l->vtep, l->vtep, XT_FABRIC_AS, o->api ?: l->api_addr, l->bpffs, CTL_INSTANCE, sock[i]);
	if (o->http_metrics)
		fprintf(f, "http-metrics: %s\n", o->http_metrics);
	fprintf(f,
		"uplinks: [%s]\n"
		"timers:\n  startup-hold: 2s\n  mac-aging: 300s\n  df-wait: %s\n"
		"bd:\n  - name: bd%u\n    vni: %u\n    route-targets: auto\n    access-ports: [%s%s%s]\n",
		l->uplink, o->df_wait ?: "1s", CTL_VNI, CTL_VNI, l->access,
		o->extra_port ? ", " : "", o->extra_port ?: "");
	if (l->on_es)
		fprintf(f, "es:\n  - name: server1\n    esi: %s\n    port: %s\n    mode: all-active\n",
			fab.esi, l->access);
	return f;
}

void ctl_conf_end(int i, FILE *f)
{
	char tmp[XT_PATH_MAX + 8];

	conf_tmp(i, tmp, sizeof(tmp));
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(rename(tmp, conf[i]), 0);
}

void ctl_xd_start(int i)
{
	char *argv[] = { bin_xevpnd, "-c", conf[i], NULL };
	char label[32];

	snprintf(label, sizeof(label), "xevpnd-%s", fab.leaf[i].ns);
	cr_assert_eq(xt_spawn(fab.leaf[i].ns, label, argv, NULL, 0, &xd[i]), 0);
}

void ctl_logs(int lines)
{
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		if (xd[i].logfile[0])
			xt_dump_tail(xd[i].logfile, lines);
}

void ctl_teardown(int log_lines)
{
	if (getenv("XEVPN_CTL_LOGS"))
		ctl_logs(log_lines);
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		if (xd[i].pid && !xd[i].exited)
			xt_proc_stop(&xd[i], 3000);
	memset(xd, 0, sizeof(xd));
	xt_fabric_destroy(&fab);
}

int ctl_pinned(int leaf, const char *map)
{
	char path[XT_PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", pins[leaf], map);
	return bpf_obj_get(path);
}

uint32_t ctl_es_id(int leaf)
{
	uint8_t want[10], v[16];
	uint32_t k, next, *prev = NULL, found = 0;
	int fd = ctl_pinned(leaf, "xevpn_ctl_esi");

	if (fd < 0)
		return 0;
	for (int i = 0; i < 10; i++)
		want[i] = (uint8_t)strtoul(fab.esi + 3 * i, NULL, 16);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(fd, &k, v) && !memcmp(v, want, 10))
			found = k;
	}
	close(fd);
	return found;
}

int ctl_es_group(int leaf, uint32_t id, struct xevpn_nh_group *g)
{
	int fd = ctl_pinned(leaf, "xevpn_es_nh"), ifd, rc = -ENOENT;
	uint32_t inner, zero = 0;

	if (fd < 0)
		return fd;
	if (!bpf_map_lookup_elem(fd, &id, &inner) && (ifd = bpf_map_get_fd_by_id(inner)) >= 0) {
		rc = bpf_map_lookup_elem(ifd, &zero, g) ? -errno : 0;
		close(ifd);
	}
	close(fd);
	return rc;
}

bool ctl_group_is(const struct xevpn_nh_group *g, const char *a, const char *b)
{
	uint32_t x = inet_addr(a), y = b ? inet_addr(b) : 0;
	unsigned n = b ? 2 : 1;
	bool hx = false, hy = !b;

	if (g->count != n)
		return false;
	for (unsigned i = 0; i < n; i++) {
		hx |= g->vtep[i] == x;
		hy |= b && g->vtep[i] == y;
	}
	return hx && hy;
}

bool ctl_wait_group(int leaf, const char *a, const char *b, int timeout_ms, int poll_ms,
		    struct xevpn_nh_group *g)
{
	uint64_t end = xt_now_ms() + (uint64_t)timeout_ms;
	uint32_t id;

	do {
		if ((id = ctl_es_id(leaf)) && !ctl_es_group(leaf, id, g) && ctl_group_is(g, a, b))
			return true;
		xt_sleep_ms(poll_ms);
	} while (xt_now_ms() < end);
	return false;
}

bool ctl_wait_flag(int leaf, const char *flag, int timeout_ms, bool (*daemon_flag)(int, const char *))
{
	uint64_t end = xt_now_ms() + (uint64_t)timeout_ms;

	do {
		if (daemon_flag(leaf, flag))
			return true;
		xt_sleep_ms(100);
	} while (xt_now_ms() < end);
	return false;
}

int ctl_ping_start(struct xt_proc *p, int count, const char *interval)
{
	char cnt[16], *argv[] = { "/bin/busybox", "ping", "-q", "-c", cnt, "-i", (char *)interval,
				  "-W", "2", XT_FABRIC_SERVER_IP, NULL };
	static int seq;
	char log[XT_PATH_MAX];

	/* a fresh log per run: the summary line is parsed from it */
	snprintf(log, sizeof(log), "%s/ping-%d-%d.log", xt_state_dir(), (int)getpid(), ++seq);
	unlink(log);
	snprintf(cnt, sizeof(cnt), "%d", count);
	return xt_spawn(fab.host3.ns, "ping", argv, log, 0, p);
}

int ctl_ping_wait(struct xt_proc *p, int timeout_ms, int *sent)
{
	uint64_t end = xt_now_ms() + (uint64_t)timeout_ms;
	char buf[4096] = "", *s;
	int tx = -1, rx = -1;
	FILE *f;

	while (xt_proc_alive(p) && xt_now_ms() < end)
		xt_sleep_ms(50);
	if (xt_proc_alive(p))
		xt_proc_kill(p);
	f = fopen(p->logfile, "r");
	if (f) {
		buf[fread(buf, 1, sizeof(buf) - 1, f)] = 0;
		fclose(f);
	}
	s = strstr(buf, "packets transmitted");
	if (s) {
		while (s > buf && s[-1] != '\n')
			s--;
		sscanf(s, "%d packets transmitted, %d packets received", &tx, &rx);
	}
	*sent = tx;
	return rx;
}

void ctl_leaves_up(void (*prepare)(int), bool (*daemon_flag)(int, const char *), int log_lines)
{
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		ctl_uplink_forwarding(i);
		prepare(i);
		ctl_xd_start(i);
	}
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		if (!ctl_wait_flag(i, "converged", 30000, daemon_flag)) {
			ctl_logs(log_lines);
			cr_assert_fail("xevpnd on %s did not converge", fab.leaf[i].ns);
		}
}

void ctl_hb_port(int i)
{
	const char *ns = fab.leaf[i].ns;
	char key[96];

	cr_assert_eq(xt_veth(ns, CTL_HB_DP_IF, ns, CTL_HB_IF), 0);
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6", CTL_HB_DP_IF);
	cr_assert_eq(xt_sysctl(ns, key, "1"), 0);
	/* the link-local address is usable at once (no DAD wait) */
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/accept_dad", CTL_HB_IF);
	cr_assert_eq(xt_sysctl(ns, key, "0"), 0);
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6", CTL_HB_IF);
	cr_assert_eq(xt_sysctl(ns, key, "0"), 0);
	cr_assert_eq(xt_link_txcsum_off(ns, CTL_HB_IF), 0);
	cr_assert_eq(xt_link_up(ns, CTL_HB_DP_IF), 0);
	cr_assert_eq(xt_link_up(ns, CTL_HB_IF), 0);
}
