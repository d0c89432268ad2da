// SPDX-License-Identifier: GPL-2.0
/* The fabric with xevpnd on every leaf; see fabnet.h. */
#include "fabnet.h"
#include "traffic.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define fn_err(fmt, ...) fprintf(stderr, "fabric: " fmt "\n", ##__VA_ARGS__)

static void progress(struct fn *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void progress(struct fn *f, const char *fmt, ...)
{
	va_list ap;

	if (f->o.quiet)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "  .. ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static bool executable(const char *p)
{
	return access(p, X_OK) == 0;
}

int fn_find_xevpnd(char *path, size_t len)
{
	const char *bin = getenv("XEVPN_BIN");
	char self[PATH_MAX];
	ssize_t n;

	if (bin && *bin) {
		snprintf(path, len, "%s/xevpnd", bin);
		if (executable(path))
			return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');

		if (slash) {
			*slash = '\0';
			snprintf(path, len, "%s/../xevpnd", self);
			if (executable(path))
				return 0;
			snprintf(path, len, "%s/../../xevpnd", self);
			if (executable(path))
				return 0;
		}
	}
	snprintf(path, len, "build/release/xevpnd");
	if (executable(path))
		return 0;
	fn_err("xevpnd not found ($XEVPN_BIN/xevpnd, next to %s, build/release/xevpnd)",
	       n > 0 ? self : "this program");
	return -ENOENT;
}

/* xevpnctl sits next to xevpnd in every build tree. */
static void find_xevpnctl(struct fn *f)
{
	char *slash;

	snprintf(f->xevpnctl_bin, sizeof(f->xevpnctl_bin), "%s", f->xevpnd_bin);
	slash = strrchr(f->xevpnctl_bin, '/');
	snprintf(slash ? slash + 1 : f->xevpnctl_bin,
		 sizeof(f->xevpnctl_bin) - (size_t)(slash ? slash + 1 - f->xevpnctl_bin : 0),
		 "xevpnctl");
	if (!executable(f->xevpnctl_bin))
		f->xevpnctl_bin[0] = '\0';
}

/* ---------- configuration ---------- */

/* The fabric's heartbeat key (HMAC-SHA256 slot 1); test material only. */
#define FN_HB_KEY "5e1f7e575e1f7e575e1f7e575e1f7e575e1f7e575e1f7e575e1f7e575e1f7e57"

static void write_health(struct fn *f, FILE *fp, const struct xt_fabric_leaf *l)
{
	fprintf(fp,
		"health:\n"
		"  interval: %ums\n"
		"  miss: %u\n"
		"  rise: %u\n"
		"  fall: %u\n"
		"  cooldown: %ums\n"
		"  self-fence-deadline: 2s\n"
		"  evpn-id: xt-fabric\n"
		"  keys:\n"
		"    - { id: 1, secret: " FN_HB_KEY " }\n"
		"  groups:\n",
		f->o.hb_interval_ms, f->o.hb_miss, f->o.hb_rise, f->o.hb_fall, f->o.hb_cooldown_ms);
	if (l->on_es)
		fprintf(fp, "    - { name: " FN_HB_ES_GROUP ", es: server1, interface: " FN_HB_IF
			    " }\n");
	fprintf(fp, "    - { name: " FN_HB_BD_GROUP ", bd: bd%u, interface: " FN_HB_IF " }\n",
		FN_VNI_BASE);
}

static int write_conf(struct fn *f, int i)
{
	struct xt_fabric_leaf *l = &f->x.leaf[i];
	char dir[XT_PATH_MAX];
	FILE *fp;

	snprintf(dir, sizeof(dir), "%s/fabric", xt_state_dir());
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	char ns[sizeof(l->ns)], bpffs[sizeof(l->bpffs)];

	/* local copies: the destinations live in the same struct */
	memcpy(ns, l->ns, sizeof(ns));
	memcpy(bpffs, l->bpffs, sizeof(bpffs));
	snprintf(f->conf[i], sizeof(f->conf[i]), "%s/%s.conf", dir, ns);
	snprintf(f->sock[i], sizeof(f->sock[i]), "%s/%s.sock", dir, ns);
	snprintf(f->pins[i], sizeof(f->pins[i]), "%s/%s", bpffs, FN_INSTANCE);
	fp = fopen(f->conf[i], "w");
	if (!fp)
		return -errno;
	fprintf(fp,
		"# %s of the fabric test topology (selftests/fabric/fabnet.h)\n"
		"vtep-address: %s\n"
		"router-id: %s\n"
		"asn: %u\n"
		"gobgp-api: %s\n"
		"bpffs: %s\n"
		"instance: %s\n"
		"cli-socket: %s\n"
		"http-metrics: off\n"
		"uplinks: [%s]\n"
		"timers:\n"
		"  startup-hold: %ums\n"
		"  mac-aging: 300s\n"
		"  df-wait: %ums\n"
		"bd:\n",
		l->ns, l->vtep, l->vtep, XT_FABRIC_AS, l->api_addr, l->bpffs, FN_INSTANCE,
		f->sock[i], l->uplink, f->o.startup_hold_ms, f->o.df_wait_ms);
	for (int v = 0; v < FN_VNIS; v++) {
		unsigned int vni = FN_VNI_BASE + (unsigned int)v;

		fprintf(fp, "  - name: bd%u\n    vni: %u\n    route-targets: auto\n", vni, vni);
		if (v == 0 && !f->o.no_health)
			fprintf(fp, "    access-ports: [%s, " FN_HB_DP_IF "]\n", l->access);
		else if (v == 0)
			fprintf(fp, "    access-ports: [%s]\n", l->access);
		else
			fprintf(fp, "    access-ports:\n      - { port: %s, vlan: %u }\n",
				l->access, vni);
	}
	if (l->on_es)
		fprintf(fp,
			"es:\n"
			"  - name: server1\n"
			"    esi: %s\n"
			"    port: %s\n"
			"    mode: all-active\n"
			"    df:\n"
			"      algorithm: %s\n"
			"      wait: %ums\n",
			f->x.esi, l->access, f->o.df_algorithm, f->o.df_wait_ms);
	if (!f->o.no_health)
		write_health(f, fp, l);
	if (fclose(fp))
		return -errno;
	return 0;
}

/* ---------- xevpnd ---------- */

int fn_xevpnd_start(struct fn *f, int leaf)
{
	struct xt_fabric_leaf *l = &f->x.leaf[leaf];
	char label[32], log[XT_PATH_MAX];
	char *argv[] = { f->xevpnd_bin, "-c", f->conf[leaf], NULL };
	int err;

	snprintf(label, sizeof(label), "xevpnd-%s", l->ns);
	snprintf(log, sizeof(log), "%s/logs/%s.log", xt_state_dir(), label);
	err = xt_spawn(l->ns, label, argv, log, 0, &f->xevpnd[leaf]);
	if (err) {
		fn_err("starting xevpnd on %s: %s", l->ns, strerror(-err));
		return err;
	}
	return 0;
}

int fn_xevpnd_kill(struct fn *f, int leaf)
{
	if (!f->xevpnd[leaf].pid)
		return -ESRCH;
	return xt_proc_kill(&f->xevpnd[leaf]);
}

bool fn_xevpnd_alive(struct fn *f, int leaf)
{
	return f->xevpnd[leaf].pid && xt_proc_alive(&f->xevpnd[leaf]);
}

void fn_xevpnd_log_tail(struct fn *f, int leaf, int lines)
{
	if (f->xevpnd[leaf].logfile[0])
		xt_dump_tail(f->xevpnd[leaf].logfile, lines);
}

static void all_logs(struct fn *f, int lines)
{
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		fn_xevpnd_log_tail(f, i, lines);
}

/* ---------- xevpnctl and the heartbeat ---------- */

int fn_ctl(struct fn *f, int leaf, bool json, const char *cmd, char *out, size_t len)
{
	if (!f->xevpnctl_bin[0])
		return -ENOENT;
	return xt_ns_sh(NULL, out, len, "%s -s %s %s%s 2>&1", f->xevpnctl_bin, f->sock[leaf],
			json ? "-j " : "", cmd);
}

static json_t *ctl_json(struct fn *f, int leaf, const char *cmd)
{
	static char out[1 << 16];
	json_error_t e;
	json_t *j;
	int rc = fn_ctl(f, leaf, true, cmd, out, sizeof(out));

	if (rc)
		return NULL;
	j = json_loads(out, 0, &e);	/* xevpnctl -j prints the reply's data */
	return j;
}

static json_t *hb_group(json_t *health, const char *name)
{
	size_t i;
	json_t *g;

	json_array_foreach(json_object_get(health, "groups"), i, g)
		if (json_is_string(json_object_get(g, "name")) &&
		    !strcmp(json_string_value(json_object_get(g, "name")), name))
			return g;
	return NULL;
}

static json_t *hb_peer(json_t *group, const char *vtep)
{
	size_t i;
	json_t *p;

	json_array_foreach(json_object_get(group, "peers"), i, p)
		if (json_is_string(json_object_get(p, "vtep")) &&
		    !strcmp(json_string_value(json_object_get(p, "vtep")), vtep))
			return p;
	return NULL;
}

int fn_hb_peer(struct fn *f, int leaf, const char *group, int peer_leaf, struct fn_hb_peer *out)
{
	json_t *h = ctl_json(f, leaf, "show health"), *p;
	const char *verdict;

	if (!h)
		return f->xevpnctl_bin[0] ? -EIO : -ENOENT;
	p = hb_peer(hb_group(h, group), f->x.leaf[peer_leaf].vtep);
	if (!p) {
		json_decref(h);
		return -ENOENT;
	}
	memset(out, 0, sizeof(*out));
	out->alive = json_is_true(json_object_get(p, "alive"));
	out->pruned = json_is_true(json_object_get(p, "pruned"));
	verdict = json_string_value(json_object_get(p, "verdict"));
	snprintf(out->verdict, sizeof(out->verdict), "%s", verdict ? verdict : "?");
	out->down_at_ms = json_integer_value(json_object_get(p, "down_at_ms"));
	out->unfit_at_ms = json_integer_value(json_object_get(p, "unfit_at_ms"));
	out->beats = json_integer_value(json_object_get(p, "beats"));
	json_decref(h);
	return 0;
}

int fn_hb_actions(struct fn *f, int leaf, int64_t *prunes, int64_t *restores)
{
	json_t *h = ctl_json(f, leaf, "show health"), *a;

	if (!h)
		return f->xevpnctl_bin[0] ? -EIO : -ENOENT;
	a = json_object_get(h, "actions");
	if (prunes)
		*prunes = json_integer_value(json_object_get(a, "prunes"));
	if (restores)
		*restores = json_integer_value(json_object_get(a, "restores"));
	json_decref(h);
	return 0;
}

/* Leaf i hears every other member of `group` alive and not unfit. */
static bool hb_group_ok(struct fn *f, int i, const char *group, char *why, size_t whylen)
{
	for (int k = 0; k < XT_FABRIC_LEAVES; k++) {
		struct fn_hb_peer p;
		int err;

		if (k == i || (!strcmp(group, FN_HB_ES_GROUP) && !f->x.leaf[k].on_es))
			continue;
		err = fn_hb_peer(f, i, group, k, &p);
		if (err || !p.alive || !strcmp(p.verdict, "unfit")) {
			snprintf(why, whylen, "%s does not hear %s in %s (%s)", f->x.leaf[i].ns,
				 f->x.leaf[k].vtep, group,
				 err ? strerror(-err) : !p.alive ? "not alive" : "unfit");
			return false;
		}
	}
	return true;
}

int fn_wait_hb(struct fn *f, int timeout_ms)
{
	uint64_t deadline = xt_now_ms() + (uint64_t)timeout_ms;
	char why[160] = "";

	if (f->o.no_health)
		return 0;
	if (!f->xevpnctl_bin[0]) {
		fn_err("xevpnctl not found next to %s: the heartbeat cannot be checked",
		       f->xevpnd_bin);
		return -ENOENT;
	}
	for (;;) {
		bool ok = true;

		for (int i = 0; i < XT_FABRIC_LEAVES && ok; i++) {
			if (f->x.leaf[i].on_es)
				ok = hb_group_ok(f, i, FN_HB_ES_GROUP, why, sizeof(why));
			ok = ok && hb_group_ok(f, i, FN_HB_BD_GROUP, why, sizeof(why));
		}
		if (ok)
			return 0;
		if (xt_now_ms() >= deadline) {
			fn_err("heartbeat not up after %d ms: %s", timeout_ms, why);
			return -ETIMEDOUT;
		}
		xt_sleep_ms(100);
	}
}

/* The heartbeat port of a leaf: hbd0 (dataplane, IPv6 off so the host
 * sends nothing of its own into the BD) <-> hb0 (the engine's link-local
 * address, usable at once: no DAD wait). */
static int hb_port(struct fn *f, int i)
{
	const char *ns = f->x.leaf[i].ns;
	char key[96];
	int err;

	if ((err = xt_veth(ns, FN_HB_DP_IF, ns, FN_HB_IF)))
		return err;
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6", FN_HB_DP_IF);
	if ((err = xt_sysctl(ns, key, "1")))
		return err;
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/accept_dad", FN_HB_IF);
	if ((err = xt_sysctl(ns, key, "0")))
		return err;
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6", FN_HB_IF);
	if ((err = xt_sysctl(ns, key, "0")))
		return err;
	/* beats leave with a full checksum: a CHECKSUM_PARTIAL skb
	 * XDP-redirected by the dataplane would arrive unfixable */
	if ((err = xt_link_txcsum_off(ns, FN_HB_IF)))
		return err;
	if ((err = xt_link_up(ns, FN_HB_DP_IF)) || (err = xt_link_up(ns, FN_HB_IF)))
		return err;
	return 0;
}

/* ---------- maps ---------- */

int fn_map_fd(struct fn *f, int leaf, const char *map)
{
	char path[XT_PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->pins[leaf], map);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

static int inner_group(int outer, uint32_t es_id, struct xevpn_nh_group *g)
{
	uint32_t id, zero = 0;
	int in, err = 0;

	if (bpf_map_lookup_elem(outer, &es_id, &id))
		return -errno;
	in = bpf_map_get_fd_by_id(id);
	if (in < 0)
		return -errno;
	if (bpf_map_lookup_elem(in, &zero, g))
		err = -errno;
	close(in);
	return err;
}

int fn_es_group_by_id(struct fn *f, int leaf, uint32_t es_id, struct xevpn_nh_group *g)
{
	int fd = fn_map_fd(f, leaf, "xevpn_es_nh"), err;

	if (fd < 0)
		return fd;
	err = inner_group(fd, es_id, g);
	close(fd);
	return err;
}

int fn_es_group(struct fn *f, int leaf, uint32_t *es_id, struct xevpn_nh_group *g)
{
	int fd = fn_map_fd(f, leaf, "xevpn_es_nh"), n = 0, err = 0;
	uint32_t key, next, found = 0;
	uint32_t *prev = NULL;

	if (fd < 0)
		return fd;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		found = key;
		n++;
	}
	if (n == 0)
		err = -ENOENT;
	else if (n > 1)
		err = -E2BIG;
	else
		err = inner_group(fd, found, g);
	close(fd);
	if (!err && es_id)
		*es_id = found;
	return err;
}

int fn_local_es(struct fn *f, int leaf, uint32_t *es_id, struct xevpn_es *es)
{
	int fd = fn_map_fd(f, leaf, "xevpn_es"), err = -ENOENT;
	uint32_t key, next;
	uint32_t *prev = NULL;

	if (fd < 0)
		return fd;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct xevpn_es v;

		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &v) && (v.flags & XEVPN_ES_F_LOCAL)) {
			if (es_id)
				*es_id = key;
			if (es)
				*es = v;
			err = 0;
			break;
		}
	}
	close(fd);
	return err;
}

int fn_is_df(struct fn *f, int leaf, uint32_t es_id, uint32_t vni)
{
	struct xevpn_es_bd_key k = { .es_id = es_id, .vni = vni };
	struct xevpn_es_bd v;
	int fd = fn_map_fd(f, leaf, "xevpn_es_bd"), r;

	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &k, &v))
		r = errno == ENOENT ? 0 : -errno;
	else
		r = !!(v.flags & XEVPN_ES_BD_F_DF);
	close(fd);
	return r;
}

static int parse_mac(const char *s, uint8_t m[6])
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4],
		      &m[5]) == 6 ? 0 : -EINVAL;
}

int fn_fdb_get(struct fn *f, int leaf, uint32_t vni, const char *mac, struct xevpn_fdb_entry *e)
{
	struct xevpn_fdb_key k = { .vni = vni };
	int fd, err = 0;

	if (parse_mac(mac, k.mac))
		return -EINVAL;
	fd = fn_map_fd(f, leaf, "xevpn_fdb");
	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &k, e))
		err = -errno;
	close(fd);
	return err;
}

int fn_counters(struct fn *f, int leaf, struct xevpn_ctr_value out[XEVPN_CTR_MAX])
{
	int ncpu = libbpf_num_possible_cpus(), fd, err = 0;
	struct xevpn_ctr_value *pc;

	if (ncpu <= 0)
		return -EINVAL;
	fd = fn_map_fd(f, leaf, "xevpn_ctr");
	if (fd < 0)
		return fd;
	pc = calloc((size_t)ncpu, sizeof(*pc));
	if (!pc) {
		close(fd);
		return -ENOMEM;
	}
	for (uint32_t c = 0; c < XEVPN_CTR_MAX && !err; c++) {
		out[c] = (struct xevpn_ctr_value){ 0 };
		if (bpf_map_lookup_elem(fd, &c, pc)) {
			err = -errno;
			break;
		}
		for (int k = 0; k < ncpu; k++) {
			out[c].packets += pc[k].packets;
			out[c].bytes += pc[k].bytes;
		}
	}
	free(pc);
	close(fd);
	return err;
}

int fn_counter(struct fn *f, int leaf, enum xevpn_ctr c, uint64_t *pkts)
{
	struct xevpn_ctr_value v[XEVPN_CTR_MAX];
	int err = fn_counters(f, leaf, v);

	if (!err)
		*pkts = v[c].packets;
	return err;
}

void fn_print_counters(struct fn *f)
{
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		struct xevpn_ctr_value v[XEVPN_CTR_MAX];

		printf("  %s counters:", f->x.leaf[i].ns);
		if (fn_counters(f, i, v)) {
			printf(" unreadable\n");
			continue;
		}
		for (int c = 0; c < XEVPN_CTR_MAX; c++)
			if (v[c].packets)
				printf(" %s=%llu", xevpn_ctr_name((unsigned int)c),
				       (unsigned long long)v[c].packets);
		printf("\n");
	}
	fflush(stdout);
}

/* ---------- snapshot ---------- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->p && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
		char *np = realloc(b->p, cap);

		if (!np)
			return;
		b->p = np;
		b->cap = cap;
	}
}

static void sb_hex(struct sbuf *b, const void *p, size_t n)
{
	const uint8_t *c = p;

	for (size_t i = 0; i < n; i++)
		sb_printf(b, "%02x", c[i]);
}

/* Sorted "key=value" lines, so two snapshots compare with strcmp. */
static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void snap_map(struct fn *f, int leaf, const char *name, struct sbuf *out)
{
	int fd = fn_map_fd(f, leaf, name);
	struct bpf_map_info info = { 0 };
	uint32_t ilen = sizeof(info);
	uint8_t key[256], next[256], val[4096];
	char **lines = NULL;
	size_t n = 0;
	bool first = true;

	if (fd < 0) {
		sb_printf(out, "%s: unreadable (%s)\n", name, strerror(-fd));
		return;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen) || info.key_size > sizeof(key) ||
	    info.value_size > sizeof(val)) {
		sb_printf(out, "%s: no info\n", name);
		close(fd);
		return;
	}
	while (!bpf_map_get_next_key(fd, first ? NULL : key, next)) {
		struct sbuf line = { 0 };

		memcpy(key, next, info.key_size);
		first = false;
		if (bpf_map_lookup_elem(fd, key, val))
			continue;
		sb_printf(&line, "%s ", name);
		sb_hex(&line, key, info.key_size);
		sb_printf(&line, " = ");
		if (info.type == BPF_MAP_TYPE_HASH_OF_MAPS) {
			struct xevpn_nh_group g;
			uint32_t id = *(uint32_t *)val, zero = 0;
			int in = bpf_map_get_fd_by_id(id);

			/* the group's content; its generation and inner map
			 * id are the writer's bookkeeping */
			if (in >= 0 && !bpf_map_lookup_elem(in, &zero, &g)) {
				sb_printf(&line, "count %u", g.count);
				for (uint32_t k = 0; k < g.count && k < XEVPN_MAX_ES_VTEPS; k++)
					sb_printf(&line, " %s",
						  inet_ntoa((struct in_addr){ g.vtep[k] }));
			} else {
				sb_printf(&line, "inner map %u unreadable", id);
			}
			if (in >= 0)
				close(in);
		} else {
			sb_hex(&line, val, info.value_size);
		}
		char **nl = realloc(lines, (n + 1) * sizeof(*lines));

		if (!nl) {
			free(line.p);
			break;
		}
		lines = nl;
		lines[n++] = line.p;
	}
	if (n)
		qsort(lines, n, sizeof(*lines), cmp_line);
	for (size_t i = 0; i < n; i++) {
		sb_printf(out, "%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	close(fd);
}

char *fn_map_snapshot(struct fn *f, int leaf)
{
	static const char *const maps[] = { "xevpn_config", "xevpn_port", "xevpn_port_vlan",
					    "xevpn_bd", "xevpn_fdb", "xevpn_es", "xevpn_es_bd",
					    "xevpn_es_nh", "xevpn_es_peer", "xevpn_flood" };
	struct sbuf b = { 0 };

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		snap_map(f, leaf, maps[i], &b);
	if (!b.p)
		b.p = strdup("");
	return b.p;
}

/* ---------- convergence ---------- */

uint32_t fn_vtep_be(int leaf)
{
	return htonl((192u << 24) | (0u << 16) | (2u << 8) | (uint32_t)(leaf + 1));
}

int fn_vtep_leaf(uint32_t be_addr)
{
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		if (be_addr == fn_vtep_be(i))
			return i;
	return -1;
}

#define WHY(...) (snprintf(why, whylen, __VA_ARGS__), 0)

int fn_converged(struct fn *f, char *why, size_t whylen)
{
	struct xevpn_nh_group g;
	struct xevpn_fdb_entry e;
	uint32_t es_id[FN_ES_LEAVES], r_es;
	struct xevpn_es es;
	int err;

	err = fn_es_group(f, 2, &r_es, &g);
	if (err == -ENOENT)
		return WHY("leaf3 has no ES group yet");
	if (err == -E2BIG)
		return WHY("leaf3 has more than one ES group");
	if (err)
		return WHY("leaf3 ES group unreadable: %s", strerror(-err));
	if (g.count != 2)
		return WHY("leaf3 ES group holds %u VTEPs, want 2", g.count);
	if (!((fn_vtep_leaf(g.vtep[0]) == 0 && fn_vtep_leaf(g.vtep[1]) == 1) ||
	      (fn_vtep_leaf(g.vtep[0]) == 1 && fn_vtep_leaf(g.vtep[1]) == 0)))
		return WHY("leaf3 ES group is not {192.0.2.1, 192.0.2.2}");
	for (int i = 0; i < FN_ES_LEAVES; i++) {
		if ((err = fn_local_es(f, i, &es_id[i], &es)))
			return WHY("leaf%d: no local ES (%s)", i + 1, strerror(-err));
		if (es.flags & (XEVPN_ES_F_HOLD | XEVPN_ES_F_LINK_DOWN))
			return WHY("leaf%d: ES flags 0x%x (hold/link down)", i + 1, es.flags);
	}
	for (int v = 0; v < FN_VNIS; v++) {
		uint32_t vni = FN_VNI_BASE + (uint32_t)v;
		int n = 0;

		for (int i = 0; i < FN_ES_LEAVES; i++) {
			int df = fn_is_df(f, i, es_id[i], vni);

			if (df < 0)
				return WHY("leaf%d: DF state of vni %u unreadable", i + 1, vni);
			n += df;
		}
		if (n != 1)
			return WHY("vni %u has %d DFs", vni, n);
	}
	if ((err = fn_fdb_get(f, 2, FN_VNI_BASE, f->x.server.mac, &e)))
		return WHY("leaf3: no FDB entry for the server MAC");
	if (e.type != XEVPN_FDB_ES || e.es_id != r_es)
		return WHY("leaf3: server MAC type %u es %u, want the ES (%u)", e.type, e.es_id,
			   r_es);
	for (int i = 0; i < FN_ES_LEAVES; i++) {
		if ((err = fn_fdb_get(f, i, FN_VNI_BASE, f->x.host3.mac, &e)))
			return WHY("leaf%d: no FDB entry for host3's MAC", i + 1);
		if (e.type != XEVPN_FDB_VTEP || e.vtep != fn_vtep_be(2))
			return WHY("leaf%d: host3 MAC type %u, want VTEP 192.0.2.3", i + 1, e.type);
	}
	return 1;
}

/* A few datagrams both ways, over several source ports so that both LAG
 * members carry some: the leaves learn the hosts' MACs from them. */
static void nudge(struct fn *f)
{
	struct {
		const char *ns, *src, *dst;
	} dir[2] = { { f->x.server.ns, f->x.server.ip, f->x.host3.ip },
		     { f->x.host3.ns, f->x.host3.ip, f->x.server.ip } };

	for (int d = 0; d < 2; d++) {
		int fd = xt_ns_socket(dir[d].ns, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };

		if (fd < 0)
			continue;
		inet_pton(AF_INET, dir[d].dst, &to.sin_addr);
		for (int k = 0; k < 8; k++) {
			struct sockaddr_in from = { .sin_family = AF_INET,
						    .sin_port = htons((uint16_t)(33000 + k)) };
			int s = k ? xt_ns_socket(dir[d].ns, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)
				  : fd;

			if (s < 0)
				continue;
			inet_pton(AF_INET, dir[d].src, &from.sin_addr);
			if (!bind(s, (struct sockaddr *)&from, sizeof(from)))
				(void)!sendto(s, "learn", 5, MSG_DONTWAIT, (struct sockaddr *)&to,
					      sizeof(to));
			if (s != fd)
				close(s);
		}
		close(fd);
	}
}

int fn_wait_converged(struct fn *f, int timeout_ms)
{
	uint64_t deadline = xt_now_ms() + (uint64_t)timeout_ms, next_nudge = 0, next_print = 0;
	char why[160] = "", last[160] = "";

	for (;;) {
		int r = fn_converged(f, why, sizeof(why));

		if (r == 1)
			return 0;
		for (int i = 0; i < XT_FABRIC_LEAVES; i++)
			if (f->xevpnd[i].pid && !fn_xevpnd_alive(f, i)) {
				fn_err("xevpnd on %s exited (status 0x%x)", f->x.leaf[i].ns,
				       f->xevpnd[i].status);
				fn_xevpnd_log_tail(f, i, 30);
				return -ECHILD;
			}
		if (xt_now_ms() >= next_nudge) {
			nudge(f);
			next_nudge = xt_now_ms() + 500;
		}
		if (strcmp(why, last) && xt_now_ms() >= next_print) {
			progress(f, "waiting: %s", why);
			snprintf(last, sizeof(last), "%s", why);
			next_print = xt_now_ms() + 1000;
		}
		if (xt_now_ms() >= deadline) {
			fn_err("not converged after %d ms: %s", timeout_ms, why);
			return -ETIMEDOUT;
		}
		xt_sleep_ms(50);
	}
}

/* The first tens of milliseconds of traffic right after convergence can
 * be lost while the underlay settles; measurements start after a warm-up
 * stream each way, whose loss is reported, not hidden. */
static void warm_up(struct fn *f)
{
	struct tr_opts o = { .flows = 16, .rate_pps = 5000, .count = 2500, .dst_port = 8999,
			     .src_port_base = 41000 };
	struct tr_stream *a = NULL, *b = NULL;
	struct tr_stats sa = { 0 }, sb = { 0 };

	o.src_ns = f->x.host3.ns, o.src_ip = f->x.host3.ip;
	o.dst_ns = f->x.server.ns, o.dst_ip = f->x.server.ip;
	if (tr_start(&a, &o))
		return;
	o.src_ns = f->x.server.ns, o.src_ip = f->x.server.ip;
	o.dst_ns = f->x.host3.ns, o.dst_ip = f->x.host3.ip;
	if (tr_start(&b, &o)) {
		tr_stop(a, 0, NULL);
		return;
	}
	for (uint64_t end = xt_now_ms() + 5000; xt_now_ms() < end; xt_sleep_ms(20))
		if (tr_done(a) && tr_done(b))
			break;
	tr_stop(a, 200, &sa);
	tr_stop(b, 200, &sb);
	progress(f, "warm-up 0.5 s each way: lost %llu (first %.0f ms) / %llu (first %.0f ms)",
		 (unsigned long long)sa.lost, sa.last_loss_ms, (unsigned long long)sb.lost,
		 sb.last_loss_ms);
}

/* ---------- up / down ---------- */

static int static_neighbours(struct fn *f)
{
	/* Hosts resolve each other without ARP: the BUM test counts every
	 * flooded frame, and loss windows must not include ARP retries. */
	if (xt_ip(f->x.server.ns, "neigh replace %s lladdr %s dev %s nud permanent",
		  f->x.host3.ip, f->x.host3.mac, f->x.server.lag))
		return -EIO;
	if (xt_ip(f->x.host3.ns, "neigh replace %s lladdr %s dev %s nud permanent",
		  f->x.server.ip, f->x.server.mac, f->x.host3.ifname))
		return -EIO;
	return 0;
}

int fn_up(struct fn *f, const struct fn_opts *o, int timeout_ms)
{
	struct xt_fabric_opts xo = { 0 };
	uint64_t t0 = xt_now_ms();
	int err;

	memset(f, 0, sizeof(*f));
	if (o)
		f->o = *o;
	if (!f->o.startup_hold_ms)
		f->o.startup_hold_ms = 3000;
	if (!f->o.df_wait_ms)
		f->o.df_wait_ms = 3000;
	if (!f->o.df_algorithm)
		f->o.df_algorithm = "modulo";
	if (!f->o.hb_interval_ms)
		f->o.hb_interval_ms = 100;
	if (!f->o.hb_miss)
		f->o.hb_miss = 3;
	if (!f->o.hb_rise)
		f->o.hb_rise = 3;
	if (!f->o.hb_fall)
		f->o.hb_fall = 3;
	if (!f->o.hb_cooldown_ms)
		f->o.hb_cooldown_ms = 1000;
	xo.hold_time_s = f->o.bgp_hold_s;
	if ((err = fn_find_xevpnd(f->xevpnd_bin, sizeof(f->xevpnd_bin))))
		return err;
	find_xevpnctl(f);
	if (!f->o.no_health && !f->xevpnctl_bin[0]) {
		fn_err("xevpnctl not found next to %s (the heartbeat is checked with it)",
		       f->xevpnd_bin);
		return -ENOENT;
	}

	progress(f, "building namespaces, veths, the server LAG and 4 gobgpd");
	if ((err = xt_fabric_create(&f->x, &xo)))
		return err;
	f->up = true;
	progress(f, "waiting for the BGP sessions to the route reflector");
	if ((err = xt_fabric_wait_bgp(&f->x, timeout_ms)))
		goto fail;
	if ((err = static_neighbours(f)))
		goto fail;
	/* upl0 is left as the namespace made it: xevpnd turns IPv4 forwarding
	 * on for its uplinks itself (bpf_fib_lookup toward a VTEP needs it) */
	for (int i = 0; i < XT_FABRIC_LEAVES; i++) {
		if (!f->o.no_health && (err = hb_port(f, i))) {
			fn_err("heartbeat port on %s: %s", f->x.leaf[i].ns, strerror(-err));
			goto fail;
		}
		if ((err = write_conf(f, i))) {
			fn_err("writing %s: %s", f->conf[i], strerror(-err));
			goto fail;
		}
		if ((err = fn_xevpnd_start(f, i)))
			goto fail;
	}
	progress(f, "xevpnd started on leaf1..3; waiting for EVPN convergence");
	{
		uint64_t used = xt_now_ms() - t0;
		int left = timeout_ms > (int)used ? timeout_ms - (int)used : 1000;

		if ((err = fn_wait_converged(f, left)))
			goto fail;
		if (!f->o.no_health) {
			progress(f, "waiting for the heartbeat: every leaf hears its peers through "
				    "the overlay");
			if ((err = fn_wait_hb(f, 20000)))
				goto fail;
		}
	}
	warm_up(f);
	progress(f, "fabric converged in %.1f s", (double)(xt_now_ms() - t0) / 1000.0);
	return 0;
fail:
	all_logs(f, 25);
	fn_down(f);
	return err;
}

void fn_down(struct fn *f)
{
	if (!f->up)
		return;
	for (int i = 0; i < XT_FABRIC_LEAVES; i++)
		if (f->xevpnd[i].pid && !f->xevpnd[i].exited)
			xt_proc_stop(&f->xevpnd[i], 2000);
	xt_fabric_destroy(&f->x);
	f->up = false;
}
