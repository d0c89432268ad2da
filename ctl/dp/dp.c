// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* libxevpn-dp: load, pin, adopt and program the XDP/TC dataplane (see dp.h). */
#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "dp/dp.h"
#include "xevpn.skel.h"

#define LINK_DIR "links"
/* kernel-internal ENOTSUPP, returned by the bpf syscall for missing map ops */
#define XEVPN_ENOTSUPP 524

struct dp_link {
	__u32 ifindex;
	int role; /* enum xevpn_port_role, or -1 for the pass program */
	struct bpf_link *link;
};

struct xevpn_dp {
	struct xevpn *skel;
	char root[PATH_MAX];
	bool pinned;
	__u32 nh_gen;
	struct dp_link links[XEVPN_MAX_PORTS];
	unsigned int n_links;
	struct ring_buffer *rb;
	xevpn_dp_learn_cb learn_cb;
	void *learn_ctx;
	struct ring_buffer *trace_rb;
	xevpn_dp_trace_cb trace_cb;
	void *trace_ctx;
	bool trace_discard; /* draining what an earlier reader left in the ring */
};

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static struct bpf_program *role_prog(struct xevpn_dp *dp, int role)
{
	switch (role) {
	case XEVPN_PORT_ACCESS:
		return dp->skel->progs.xdp_access;
	case XEVPN_PORT_UPLINK:
		return dp->skel->progs.xdp_uplink;
	case -1:
		return dp->skel->progs.xdp_pass;
	default:
		return NULL;
	}
}

static const char *role_tag(int role)
{
	return role == XEVPN_PORT_ACCESS ? "access" : role == XEVPN_PORT_UPLINK ? "uplink" : "pass";
}

static int link_path(struct xevpn_dp *dp, char *buf, size_t sz, int role, __u32 ifindex)
{
	int n = snprintf(buf, sz, "%s/%s/xdp_%s_%u", dp->root, LINK_DIR, role_tag(role), ifindex);

	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}

/* Port links (pass links may live in other namespaces and are not found here). */
static struct dp_link *link_find(struct xevpn_dp *dp, __u32 ifindex)
{
	for (unsigned int i = 0; i < dp->n_links; i++)
		if (dp->links[i].ifindex == ifindex && dp->links[i].role >= 0)
			return &dp->links[i];
	return NULL;
}

static int tc_attach(struct xevpn_dp *dp, __u32 ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XEVPN_DP_TC_HANDLE,
			    .priority = XEVPN_DP_TC_PRIO, .flags = BPF_TC_F_REPLACE,
			    .prog_fd = bpf_program__fd(dp->skel->progs.tc_ingress));
	int err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &opts);
}

static int tc_detach(__u32 ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XEVPN_DP_TC_HANDLE,
			    .priority = XEVPN_DP_TC_PRIO);

	return bpf_tc_detach(&hook, &opts);
}

/* Re-point the XDP links pinned by a previous instance at our programs. */
static int adopt_links(struct xevpn_dp *dp)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *de;
	DIR *d;
	int err = 0;

	snprintf(dir, sizeof(dir), "%s/%s", dp->root, LINK_DIR);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char tag[16];
		unsigned int ifindex;
		int role;
		struct bpf_link *l;

		if (sscanf(de->d_name, "xdp_%15[a-z]_%u", tag, &ifindex) != 2)
			continue;
		role = !strcmp(tag, "access") ? XEVPN_PORT_ACCESS :
		       !strcmp(tag, "uplink") ? XEVPN_PORT_UPLINK : -1;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		l = bpf_link__open(path);
		if (!l) {
			err = -errno;
			fprintf(stderr, "xevpn-dp: %s: cannot open pinned link: %s\n", path, strerror(-err));
			continue;
		}
		if (bpf_link__update_program(l, role_prog(dp, role))) {
			/* the interface is gone: its link is dead, drop the pin */
			bpf_link__unpin(l);
			bpf_link__destroy(l);
			continue;
		}
		if (dp->n_links < XEVPN_MAX_PORTS)
			dp->links[dp->n_links++] = (struct dp_link){ ifindex, role, l };
		else
			bpf_link__destroy(l);
		if (role >= 0 && tc_attach(dp, ifindex))
			fprintf(stderr, "xevpn-dp: ifindex %u: TC re-attach failed\n", ifindex);
	}
	closedir(d);
	return err;
}

/*
 * Caches of derived state (routes, port views, seen MACs) are not pinned: a
 * new instance starts them cold instead of trusting what an older program
 * filled.
 */
static bool map_is_cache(const struct bpf_map *map)
{
	const char *n = bpf_map__name(map);

	return !strcmp(n, "xevpn_rt_cache") || !strcmp(n, "xevpn_seen") ||
	       !strcmp(n, "xevpn_port_view");
}

int xevpn_dp_open(struct xevpn_dp **dpp, const struct xevpn_dp_opts *opts)
{
	const char *root = opts && opts->pin_root ? opts->pin_root : XEVPN_DP_PIN_ROOT;
	struct xevpn_dp *dp;
	struct bpf_map *map;
	char path[PATH_MAX + 32];
	int err;

	*dpp = NULL;
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->pinned = !(opts && opts->no_pin);
	if (snprintf(dp->root, sizeof(dp->root), "%s", root) >= (int)sizeof(dp->root)) {
		err = -ENAMETOOLONG;
		goto fail;
	}
	dp->skel = xevpn__open();
	if (!dp->skel) {
		err = -errno;
		fprintf(stderr, "xevpn-dp: cannot open BPF object: %s\n", strerror(-err));
		goto fail;
	}
	if (dp->pinned) {
		err = mkdir_p(dp->root);
		if (err) {
			fprintf(stderr, "xevpn-dp: pin root %s: %s\n", dp->root, strerror(-err));
			goto fail;
		}
		bpf_object__for_each_map(map, dp->skel->obj) {
			if (bpf_map__is_internal(map) || map_is_cache(map))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dp->root, bpf_map__name(map));
			err = bpf_map__set_pin_path(map, path);
			if (err)
				goto fail;
		}
	}
	err = xevpn__load(dp->skel);
	if (err) {
		fprintf(stderr, "xevpn-dp: cannot load dataplane (pin root %s): %s\n", dp->root,
			strerror(-err));
		goto fail;
	}
	if (dp->pinned) {
		snprintf(path, sizeof(path), "%s/%s", dp->root, LINK_DIR);
		err = mkdir_p(path);
		if (!err)
			err = adopt_links(dp);
		if (err)
			goto fail;
	}
	*dpp = dp;
	return 0;
fail:
	xevpn_dp_close(dp);
	return err < 0 ? err : -EINVAL;
}

void xevpn_dp_close(struct xevpn_dp *dp)
{
	if (!dp)
		return;
	ring_buffer__free(dp->rb);
	ring_buffer__free(dp->trace_rb);
	for (unsigned int i = 0; i < dp->n_links; i++)
		bpf_link__destroy(dp->links[i].link); /* pinned links stay attached */
	xevpn__destroy(dp->skel);
	free(dp);
}

const char *xevpn_dp_pin_root(const struct xevpn_dp *dp)
{
	return dp->root;
}

int xevpn_dp_attach(struct xevpn_dp *dp, __u32 ifindex, enum xevpn_port_role role)
{
	struct bpf_program *prog = role_prog(dp, role);
	struct dp_link *dl = link_find(dp, ifindex);
	char path[PATH_MAX + 64];
	struct bpf_link *l;
	int err;

	if (!prog || (int)role < 0)
		return -EINVAL;
	if (dl && dl->role != (int)role) {
		err = xevpn_dp_detach(dp, ifindex);
		if (err)
			return err;
		dl = NULL;
	}
	if (!dl) {
		if (dp->n_links >= XEVPN_MAX_PORTS)
			return -ENOSPC;
		l = bpf_program__attach_xdp(prog, ifindex);
		if (!l) {
			err = -errno;
			fprintf(stderr, "xevpn-dp: ifindex %u: XDP attach failed: %s\n", ifindex,
				strerror(-err));
			return err;
		}
		if (dp->pinned) {
			err = link_path(dp, path, sizeof(path), role, ifindex);
			if (!err)
				err = bpf_link__pin(l, path);
			if (err) {
				bpf_link__destroy(l);
				return err;
			}
		}
		dp->links[dp->n_links++] = (struct dp_link){ ifindex, role, l };
	}
	if (role == XEVPN_PORT_ACCESS || role == XEVPN_PORT_UPLINK) {
		err = tc_attach(dp, ifindex);
		if (err) {
			fprintf(stderr, "xevpn-dp: ifindex %u: TC attach failed: %s\n", ifindex,
				strerror(-err));
			return err;
		}
	}
	return 0;
}

int xevpn_dp_attach_xdp_pass(struct xevpn_dp *dp, __u32 ifindex)
{
	char path[PATH_MAX + 96];
	struct bpf_link *l;
	struct stat st;
	int err;

	if (dp->n_links >= XEVPN_MAX_PORTS)
		return -ENOSPC;
	l = bpf_program__attach_xdp(dp->skel->progs.xdp_pass, ifindex);
	if (!l)
		return -errno;
	if (dp->pinned) {
		/* the peer may be in another namespace: its ifindex alone is ambiguous */
		err = stat("/proc/self/ns/net", &st) ? -errno : 0;
		if (!err)
			err = link_path(dp, path, sizeof(path) - 32, -1, ifindex);
		if (!err) {
			snprintf(path + strlen(path), 32, "@%lu", (unsigned long)st.st_ino);
			err = bpf_link__pin(l, path);
		}
		if (err) {
			bpf_link__destroy(l);
			return err;
		}
	}
	dp->links[dp->n_links++] = (struct dp_link){ ifindex, -1, l };
	return 0;
}

int xevpn_dp_detach(struct xevpn_dp *dp, __u32 ifindex)
{
	struct dp_link *dl = link_find(dp, ifindex);
	int role;

	if (!dl)
		return -ENOENT;
	role = dl->role;
	if (dp->pinned)
		bpf_link__unpin(dl->link);
	bpf_link__detach(dl->link);
	bpf_link__destroy(dl->link);
	*dl = dp->links[--dp->n_links];
	if (role >= 0)
		tc_detach(ifindex);
	return 0;
}

int xevpn_dp_uninstall(struct xevpn_dp *dp)
{
	char path[PATH_MAX + 32];
	struct bpf_map *map;

	while (dp->n_links) {
		struct dp_link *dl = &dp->links[dp->n_links - 1];

		if (dp->pinned)
			bpf_link__unpin(dl->link);
		bpf_link__detach(dl->link);
		bpf_link__destroy(dl->link);
		if (dl->role >= 0)
			tc_detach(dl->ifindex);
		dp->n_links--;
	}
	if (!dp->pinned)
		return 0;
	bpf_object__for_each_map(map, dp->skel->obj) {
		if (!bpf_map__is_internal(map) && bpf_map__is_pinned(map))
			bpf_map__unpin(map, NULL);
	}
	snprintf(path, sizeof(path), "%s/%s", dp->root, LINK_DIR);
	rmdir(path);
	rmdir(dp->root);
	return 0;
}

int xevpn_dp_prog_fd(const struct xevpn_dp *dp, enum xevpn_dp_prog p)
{
	switch (p) {
	case XEVPN_DP_PROG_XDP_ACCESS:
		return bpf_program__fd(dp->skel->progs.xdp_access);
	case XEVPN_DP_PROG_XDP_UPLINK:
		return bpf_program__fd(dp->skel->progs.xdp_uplink);
	case XEVPN_DP_PROG_TC:
		return bpf_program__fd(dp->skel->progs.tc_ingress);
	case XEVPN_DP_PROG_XDP_PASS:
		return bpf_program__fd(dp->skel->progs.xdp_pass);
	}
	return -EINVAL;
}

int xevpn_dp_map_fd(const struct xevpn_dp *dp, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(dp->skel->obj, name);

	return m ? bpf_map__fd(m) : -ENOENT;
}

static int upd(struct bpf_map *m, const void *k, const void *v)
{
	return bpf_map_update_elem(bpf_map__fd(m), k, v, BPF_ANY) ? -errno : 0;
}

static int del(struct bpf_map *m, const void *k)
{
	return bpf_map_delete_elem(bpf_map__fd(m), k) ? -errno : 0;
}

static int get(struct bpf_map *m, const void *k, void *v)
{
	return bpf_map_lookup_elem(bpf_map__fd(m), k, v) ? -errno : 0;
}

/*
 * The programs cache routes and port views per CPU under xevpn_cfg_gen
 * (bpf/lib/maps.h): every write that changes what they derive from bumps it.
 */
static int cfg_changed(struct xevpn_dp *dp, int err)
{
	if (!err)
		xevpn_dp_route_cache_flush(dp);
	return err;
}

int xevpn_dp_route_cache_flush(struct xevpn_dp *dp)
{
	if (!dp->skel->bss)
		return -EOPNOTSUPP;
	__atomic_add_fetch(&dp->skel->bss->xevpn_cfg_gen, 1, __ATOMIC_SEQ_CST);
	return 0;
}

int xevpn_dp_config_set(struct xevpn_dp *dp, const struct xevpn_config *cfg)
{
	__u32 zero = 0;
	return cfg_changed(dp, upd(dp->skel->maps.xevpn_config, &zero, cfg));
}

int xevpn_dp_port_set(struct xevpn_dp *dp, __u32 ifindex, const struct xevpn_port *p)
{
	return cfg_changed(dp, upd(dp->skel->maps.xevpn_port, &ifindex, p));
}

int xevpn_dp_port_del(struct xevpn_dp *dp, __u32 ifindex)
{
	return cfg_changed(dp, del(dp->skel->maps.xevpn_port, &ifindex));
}

int xevpn_dp_port_vlan_set(struct xevpn_dp *dp, __u32 ifindex, __u16 vlan, __u32 vni)
{
	struct xevpn_port_vlan_key k = { .ifindex = ifindex, .vlan = vlan };

	if (!vlan || vlan > 4094 || !vni || vni > XEVPN_VNI_MAX)
		return -EINVAL;
	return upd(dp->skel->maps.xevpn_port_vlan, &k, &vni);
}

int xevpn_dp_port_vlan_del(struct xevpn_dp *dp, __u32 ifindex, __u16 vlan)
{
	struct xevpn_port_vlan_key k = { .ifindex = ifindex, .vlan = vlan };

	return del(dp->skel->maps.xevpn_port_vlan, &k);
}

int xevpn_dp_bd_set(struct xevpn_dp *dp, __u32 vni, const struct xevpn_bd *bd)
{
	if (!vni || vni > XEVPN_VNI_MAX)
		return -EINVAL;
	return cfg_changed(dp, upd(dp->skel->maps.xevpn_bd, &vni, bd));
}

int xevpn_dp_bd_del(struct xevpn_dp *dp, __u32 vni)
{
	return cfg_changed(dp, del(dp->skel->maps.xevpn_bd, &vni));
}

static void fdb_key(struct xevpn_fdb_key *k, __u32 vni, const __u8 mac[6])
{
	memset(k, 0, sizeof(*k));
	k->vni = vni;
	memcpy(k->mac, mac, 6);
}

int xevpn_dp_fdb_set(struct xevpn_dp *dp, __u32 vni, const __u8 mac[6],
		     const struct xevpn_fdb_entry *e)
{
	struct xevpn_fdb_key k;

	if (e->type < XEVPN_FDB_LOCAL || e->type > XEVPN_FDB_ES)
		return -EINVAL;
	fdb_key(&k, vni, mac);
	return upd(dp->skel->maps.xevpn_fdb, &k, e);
}

int xevpn_dp_fdb_get(struct xevpn_dp *dp, __u32 vni, const __u8 mac[6], struct xevpn_fdb_entry *e)
{
	struct xevpn_fdb_key k;

	fdb_key(&k, vni, mac);
	return get(dp->skel->maps.xevpn_fdb, &k, e);
}

int xevpn_dp_fdb_del(struct xevpn_dp *dp, __u32 vni, const __u8 mac[6])
{
	struct xevpn_fdb_key k;

	fdb_key(&k, vni, mac);
	return del(dp->skel->maps.xevpn_fdb, &k);
}

int xevpn_dp_fdb_last_seen(struct xevpn_dp *dp, __u32 vni, const __u8 mac[6], __u64 *seen_ns,
			   __u32 *ifindex)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(dp->skel->maps.xevpn_seen);
	__u32 slot = xevpn_seen_slot(vni, mac);
	struct xevpn_seen *v;
	__u64 best = 0;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &slot, v)) {
		err = -errno;
		goto out;
	}
	for (int i = 0; i < ncpu; i++) {
		if (v[i].vni != vni || memcmp(v[i].mac, mac, 6) || v[i].seen_ns <= best)
			continue;
		best = v[i].seen_ns;
		if (ifindex)
			*ifindex = v[i].ifindex;
	}
	if (!best)
		err = -ENOENT;
	else
		*seen_ns = best;
out:
	free(v);
	return err;
}

int xevpn_dp_fdb_walk(struct xevpn_dp *dp, xevpn_dp_fdb_cb cb, void *ctx)
{
	int fd = bpf_map__fd(dp->skel->maps.xevpn_fdb), rc;
	struct xevpn_fdb_key k, next;
	struct xevpn_fdb_entry e;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &e))
			continue; /* deleted meanwhile */
		rc = cb(ctx, &k, &e);
		if (rc)
			return rc;
	}
	return errno == ENOENT ? 0 : -errno;
}

int xevpn_dp_fdb_flush(struct xevpn_dp *dp, __u32 vni)
{
	int fd = bpf_map__fd(dp->skel->maps.xevpn_fdb), n = 0;
	struct xevpn_fdb_key k, next;
	bool have = false;

	/* fetch the successor before deleting, so the walk never restarts */
	if (bpf_map_get_next_key(fd, NULL, &next))
		return 0;
	do {
		k = next;
		have = !bpf_map_get_next_key(fd, &k, &next);
		if ((!vni || k.vni == vni) && !bpf_map_delete_elem(fd, &k))
			n++;
	} while (have);
	return n;
}

int xevpn_dp_es_set(struct xevpn_dp *dp, __u32 es_id, const struct xevpn_es *es)
{
	if (!es_id)
		return -EINVAL;
	return upd(dp->skel->maps.xevpn_es, &es_id, es);
}

int xevpn_dp_es_get(struct xevpn_dp *dp, __u32 es_id, struct xevpn_es *es)
{
	return get(dp->skel->maps.xevpn_es, &es_id, es);
}

int xevpn_dp_es_del(struct xevpn_dp *dp, __u32 es_id)
{
	return del(dp->skel->maps.xevpn_es, &es_id);
}

int xevpn_dp_es_df_set(struct xevpn_dp *dp, __u32 es_id, __u32 vni, bool df)
{
	struct xevpn_es_bd_key k = { .es_id = es_id, .vni = vni };
	struct xevpn_es_bd v = { .flags = df ? XEVPN_ES_BD_F_DF : 0 };

	return upd(dp->skel->maps.xevpn_es_bd, &k, &v);
}

int xevpn_dp_lease_set(struct xevpn_dp *dp, __u64 deadline_ns)
{
	struct xevpn_lease v = { .deadline_ns = deadline_ns };
	__u32 zero = 0;

	return upd(dp->skel->maps.xevpn_lease, &zero, &v);
}

int xevpn_dp_lease_get(struct xevpn_dp *dp, __u64 *deadline_ns)
{
	struct xevpn_lease v;
	__u32 zero = 0;

	if (bpf_map__lookup_elem(dp->skel->maps.xevpn_lease, &zero, sizeof(zero), &v, sizeof(v), 0))
		return -errno;
	*deadline_ns = v.deadline_ns;
	return 0;
}

/*
 * ES next-hop groups are frozen inner maps swapped in the hash-of-maps
 * xevpn_es_nh. Why this scheme:
 *  - A reader (XDP) holds the inner map it looked up until its program ends,
 *    and the kernel frees a replaced inner map only after an RCU grace period
 *    (the syscall also waits for one before returning): nobody writes into a
 *    group a reader may be looking at, so count and members always come from
 *    one group.
 *  - Replacing a value in a hash map (even BPF_F_NO_PREALLOC) does not give
 *    that: the lookup finds the old or the new element, but the old element
 *    goes back to a per-CPU free list at once (prealloc extra_elems,
 *    bpf_mem_alloc) and the next update may rewrite it while a reader still
 *    copies it, so a reader can see one group's count with another's members.
 *  - The cost is the kernel's synchronize_rcu() after every update of a
 *    map-in-map from the syscall (~5-15 ms here), not creating the inner map
 *    (~20 us): recycling pre-created inner maps would not remove it. The flip
 *    itself is visible to readers at once; the wait only delays the return.
 *    xevpn_dp_es_nh_set_many() pays it once for a whole mass withdraw.
 */
static int nh_inner_new(struct xevpn_dp *dp, const __be32 *vteps, unsigned int n)
{
	struct xevpn_nh_group g = { 0 };
	__u32 zero = 0;
	int inner, err;

	if (n > XEVPN_MAX_ES_VTEPS)
		return -EINVAL;
	g.count = n;
	g.gen = ++dp->nh_gen;
	for (unsigned int i = 0; i < n; i++) {
		if (!vteps[i])
			return -EINVAL;
		g.vtep[i] = vteps[i];
	}
	/*
	 * Typed with the object's BTF like the inner template libbpf created from
	 * the declaration: before 6.8 the kernel compares BTF-derived fields
	 * (timer offset) when an inner map is swapped in and rejects an untyped
	 * map with EINVAL. libbpf drops the template after load, so the type ids
	 * are looked up by name.
	 */
	struct btf *btf = bpf_object__btf(dp->skel->obj);
	int btf_fd = bpf_object__btf_fd(dp->skel->obj);
	LIBBPF_OPTS(bpf_map_create_opts, mopts);

	if (btf && btf_fd >= 0) {
		int key_id = btf__find_by_name_kind(btf, "__u32", BTF_KIND_TYPEDEF);
		int val_id = btf__find_by_name_kind(btf, "xevpn_nh_group", BTF_KIND_STRUCT);

		if (key_id > 0 && val_id > 0) {
			mopts.btf_fd = btf_fd;
			mopts.btf_key_type_id = key_id;
			mopts.btf_value_type_id = val_id;
		}
	}

	/* filled and frozen before anyone can see it */
	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xevpn_nhg", sizeof(__u32), sizeof(g), 1, &mopts);
	if (inner < 0)
		return -errno;
	if (bpf_map_update_elem(inner, &zero, &g, BPF_ANY) || bpf_map_freeze(inner)) {
		err = -errno;
		close(inner);
		return err;
	}
	return inner;
}

int xevpn_dp_es_nh_set(struct xevpn_dp *dp, __u32 es_id, const __be32 *vteps, unsigned int n)
{
	int inner, err = 0;

	if (!es_id)
		return -EINVAL;
	inner = nh_inner_new(dp, vteps, n);
	if (inner < 0)
		return inner;
	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.xevpn_es_nh), &es_id, &inner, BPF_ANY))
		err = -errno;
	close(inner);
	return err;
}

int xevpn_dp_es_nh_set_many(struct xevpn_dp *dp, const struct xevpn_dp_es_nh *groups, unsigned int count)
{
	__u32 *keys;
	int *fds, err = 0;
	unsigned int made = 0;

	if (!count)
		return 0;
	keys = calloc(count, sizeof(*keys));
	fds = calloc(count, sizeof(*fds));
	if (!keys || !fds) {
		err = -ENOMEM;
		goto out;
	}
	for (; made < count; made++) {
		if (!groups[made].es_id) {
			err = -EINVAL;
			goto out;
		}
		keys[made] = groups[made].es_id;
		fds[made] = nh_inner_new(dp, groups[made].vtep, groups[made].n);
		if (fds[made] < 0) {
			err = fds[made];
			goto out;
		}
	}
	{
		__u32 n = count;
		DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, o, .elem_flags = BPF_ANY);

		int outer = bpf_map__fd(dp->skel->maps.xevpn_es_nh);

		if (bpf_map_update_batch(outer, keys, fds, &n, &o)) {
			err = -errno;
			/* no batch op for this map type on this kernel: one by one */
			if (n == 0 && (err == -XEVPN_ENOTSUPP || err == -EOPNOTSUPP || err == -EINVAL)) {
				err = 0;
				for (unsigned int i = 0; i < count && !err; i++)
					if (bpf_map_update_elem(outer, &keys[i], &fds[i], BPF_ANY))
						err = -errno;
			}
		}
	}
out:
	for (unsigned int i = 0; fds && i < made; i++)
		close(fds[i]);
	free(keys);
	free(fds);
	return err;
}

int xevpn_dp_es_nh_get(struct xevpn_dp *dp, __u32 es_id, struct xevpn_nh_group *g)
{
	__u32 id, zero = 0;
	int fd, err = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.xevpn_es_nh), &es_id, &id))
		return -errno;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &zero, g))
		err = -errno;
	close(fd);
	return err;
}

int xevpn_dp_es_nh_del(struct xevpn_dp *dp, __u32 es_id)
{
	return del(dp->skel->maps.xevpn_es_nh, &es_id);
}

int xevpn_dp_es_peer_add(struct xevpn_dp *dp, __u32 es_id, __be32 vtep)
{
	struct xevpn_es_peer_key k = { .es_id = es_id, .vtep = vtep };
	__u32 v = 0;

	return upd(dp->skel->maps.xevpn_es_peer, &k, &v);
}

int xevpn_dp_es_peer_del(struct xevpn_dp *dp, __u32 es_id, __be32 vtep)
{
	struct xevpn_es_peer_key k = { .es_id = es_id, .vtep = vtep };

	return del(dp->skel->maps.xevpn_es_peer, &k);
}

int xevpn_dp_flood_set(struct xevpn_dp *dp, __u32 vni, const struct xevpn_flood *f)
{
	if (f->n_vteps > XEVPN_MAX_FLOOD_VTEPS || f->n_ports > XEVPN_MAX_FLOOD_PORTS)
		return -EINVAL;
	return upd(dp->skel->maps.xevpn_flood, &vni, f);
}

int xevpn_dp_flood_del(struct xevpn_dp *dp, __u32 vni)
{
	return del(dp->skel->maps.xevpn_flood, &vni);
}

int xevpn_dp_neigh_prime(__be32 vtep)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = vtep };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	if (sendto(fd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		err = -errno;
	close(fd);
	return err;
}

int xevpn_dp_counters(struct xevpn_dp *dp, struct xevpn_ctr_value out[XEVPN_CTR_MAX])
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(dp->skel->maps.xevpn_ctr);
	struct xevpn_ctr_value *pc;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	pc = calloc(ncpu, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	for (__u32 c = 0; c < XEVPN_CTR_MAX; c++) {
		out[c] = (struct xevpn_ctr_value){ 0 };
		if (bpf_map_lookup_elem(fd, &c, pc))
			continue;
		for (int i = 0; i < ncpu; i++) {
			out[c].packets += pc[i].packets;
			out[c].bytes += pc[i].bytes;
		}
	}
	free(pc);
	return 0;
}

int xevpn_dp_counter(struct xevpn_dp *dp, enum xevpn_ctr c, struct xevpn_ctr_value *v)
{
	struct xevpn_ctr_value all[XEVPN_CTR_MAX];
	int err;

	if ((unsigned int)c >= XEVPN_CTR_MAX)
		return -EINVAL;
	err = xevpn_dp_counters(dp, all);
	if (!err)
		*v = all[c];
	return err;
}

int xevpn_dp_counter_by_name(struct xevpn_dp *dp, const char *name, struct xevpn_ctr_value *v)
{
	for (unsigned int c = 0; c < XEVPN_CTR_MAX; c++)
		if (xevpn_ctr_name(c) && !strcmp(xevpn_ctr_name(c), name))
			return xevpn_dp_counter(dp, c, v);
	return -ENOENT;
}

int xevpn_dp_counters_reset(struct xevpn_dp *dp)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(dp->skel->maps.xevpn_ctr), err = 0;
	struct xevpn_ctr_value *pc;

	if (ncpu <= 0)
		return -EINVAL;
	pc = calloc(ncpu, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	for (__u32 c = 0; c < XEVPN_CTR_MAX && !err; c++)
		if (bpf_map_update_elem(fd, &c, pc, BPF_ANY))
			err = -errno;
	free(pc);
	return err;
}

static int learn_sample(void *ctx, void *data, size_t size)
{
	struct xevpn_dp *dp = ctx;

	if (size < sizeof(struct xevpn_learn_event))
		return 0;
	return dp->learn_cb(dp->learn_ctx, data);
}

int xevpn_dp_learn_open(struct xevpn_dp *dp, xevpn_dp_learn_cb cb, void *ctx)
{
	if (dp->rb)
		return -EALREADY;
	dp->learn_cb = cb;
	dp->learn_ctx = ctx;
	dp->rb = ring_buffer__new(bpf_map__fd(dp->skel->maps.xevpn_learn), learn_sample, dp, NULL);
	return dp->rb ? 0 : -errno;
}

int xevpn_dp_learn_fd(struct xevpn_dp *dp)
{
	return dp->rb ? ring_buffer__epoll_fd(dp->rb) : -EINVAL;
}

int xevpn_dp_learn_consume(struct xevpn_dp *dp)
{
	return dp->rb ? ring_buffer__consume(dp->rb) : -EINVAL;
}

/* ---------- trace mode ---------- */

__u64 xevpn_dp_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static struct xevpn_trace_cfg *trace_cfg(struct xevpn_dp *dp)
{
	return dp->skel->bss ? &dp->skel->bss->xevpn_trace_cfg : NULL;
}

int xevpn_dp_trace_filter(struct xevpn_dp *dp, __u32 ifindex, __u32 vni, __u32 flags)
{
	struct xevpn_trace_cfg *c = trace_cfg(dp);

	if (!c)
		return -EOPNOTSUPP;
	__atomic_store_n(&c->ifindex, ifindex, __ATOMIC_RELAXED);
	__atomic_store_n(&c->vni, vni, __ATOMIC_RELAXED);
	__atomic_store_n(&c->flags, flags, __ATOMIC_RELEASE);
	return 0;
}

int xevpn_dp_trace_set(struct xevpn_dp *dp, bool enable, __u64 until_ns)
{
	struct xevpn_trace_cfg *c = trace_cfg(dp);

	if (!c)
		return -EOPNOTSUPP;
	if (enable && !until_ns)
		until_ns = xevpn_dp_mono_ns() + XEVPN_DP_TRACE_DEFAULT_S * 1000000000ULL;
	__atomic_store_n(&c->until_ns, enable ? until_ns : 0, __ATOMIC_SEQ_CST);
	return 0;
}

int xevpn_dp_trace_get(struct xevpn_dp *dp, struct xevpn_trace_cfg *out)
{
	struct xevpn_trace_cfg *c = trace_cfg(dp);

	if (!c)
		return -EOPNOTSUPP;
	out->until_ns = __atomic_load_n(&c->until_ns, __ATOMIC_SEQ_CST);
	out->ifindex = c->ifindex;
	out->vni = c->vni;
	out->flags = c->flags;
	out->pad = 0;
	out->lost = __atomic_load_n(&c->lost, __ATOMIC_RELAXED);
	return 0;
}

static int trace_sample(void *ctx, void *data, size_t size)
{
	struct xevpn_dp *dp = ctx;

	if (dp->trace_discard || size < sizeof(struct xevpn_trace_event))
		return 0;
	return dp->trace_cb(dp->trace_ctx, data);
}

int xevpn_dp_trace_open(struct xevpn_dp *dp, xevpn_dp_trace_cb cb, void *ctx)
{
	if (dp->trace_rb)
		return -EALREADY;
	dp->trace_cb = cb;
	dp->trace_ctx = ctx;
	dp->trace_rb = ring_buffer__new(bpf_map__fd(dp->skel->maps.xevpn_trace), trace_sample, dp,
					NULL);
	if (!dp->trace_rb)
		return -errno;
	/* events of an earlier session (the ring is pinned) are not this reader's */
	dp->trace_discard = true;
	ring_buffer__consume(dp->trace_rb);
	dp->trace_discard = false;
	return 0;
}

int xevpn_dp_trace_fd(struct xevpn_dp *dp)
{
	return dp->trace_rb ? ring_buffer__epoll_fd(dp->trace_rb) : -EINVAL;
}

int xevpn_dp_trace_consume(struct xevpn_dp *dp)
{
	return dp->trace_rb ? ring_buffer__consume(dp->trace_rb) : -EINVAL;
}

void xevpn_dp_trace_close(struct xevpn_dp *dp)
{
	ring_buffer__free(dp->trace_rb);
	dp->trace_rb = NULL;
}
