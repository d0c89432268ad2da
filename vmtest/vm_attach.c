// SPDX-License-Identifier: GPL-2.0
/* vm_attach: load every program of the given BPF objects on the running
 * kernel and attach each XDP program (driver mode) and each TC program
 * (ingress and egress) to a port, check the kernel reports it attached, then
 * detach. This is the verifier check of the whole dataplane on a kernel that
 * is not the build host's.
 *
 *   vm_attach -i IFNAME [-p PIN_ROOT] OBJ.bpf.o...
 *
 * Maps pinned by name go under PIN_ROOT (default /sys/fs/bpf/vm_attach) and
 * are unpinned again. Prints TAP; exit 0 only if everything loaded and
 * attached. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vm_tap.h"

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static void attach_xdp(const char *obj, struct bpf_program *p, int ifindex, const char *ifname)
{
	int fd = bpf_program__fd(p), err;
	__u32 id = 0;

	err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL);
	if (!err)
		bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &id);
	vm_tap(!err && id == prog_id(fd), "%s: xdp %s attached on %s (err %d)", obj,
	       bpf_program__name(p), ifname, err);
	if (!err) {
		err = bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
		if (err)
			vm_tap(0, "%s: xdp %s detach (err %d)", obj, bpf_program__name(p), err);
	}
}

static void attach_tc(const char *obj, struct bpf_program *p, int ifindex, const char *ifname)
{
	static const enum bpf_tc_attach_point points[] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, clsact, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int fd = bpf_program__fd(p), err;
	unsigned int i;

	err = bpf_tc_hook_create(&clsact);
	if (err && err != -EEXIST) {
		vm_tap(0, "%s: clsact qdisc on %s (err %d)", obj, ifname, err);
		return;
	}
	for (i = 0; i < 2; i++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = points[i]);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1, .prog_fd = fd);
		const char *dir = i ? "egress" : "ingress";

		err = bpf_tc_attach(&hook, &opts);
		vm_tap(!err && opts.prog_id == prog_id(fd), "%s: tc %s attached on %s %s (err %d)",
		       obj, bpf_program__name(p), ifname, dir, err);
		if (!err) {
			opts.flags = opts.prog_fd = opts.prog_id = 0;
			err = bpf_tc_detach(&hook, &opts);
			if (err)
				vm_tap(0, "%s: tc %s detach %s (err %d)", obj, bpf_program__name(p), dir, err);
		}
	}
	bpf_tc_hook_destroy(&clsact);
}

static void one_object(const char *path, const char *pin_root, int ifindex, const char *ifname)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = pin_root);
	const char *obj = base(path);
	struct bpf_object *o;
	struct bpf_program *p;
	int err, n = 0;

	o = bpf_object__open_file(path, &oo);
	if (!vm_tap(o != NULL, "%s: opens (%s)", obj, o ? "ok" : strerror(errno)))
		return;
	bpf_object__for_each_program(p, o)
		n += bpf_program__autoload(p);
	err = bpf_object__load(o);
	if (!vm_tap(!err, "%s: %d programs pass the verifier (err %d)", obj, n, err))
		goto out;
	bpf_object__for_each_program(p, o) {
		if (!bpf_program__autoload(p))
			continue;
		switch (bpf_program__type(p)) {
		case BPF_PROG_TYPE_XDP:
			/* devmap/cpumap programs run from a map, not from a port */
			if (bpf_program__expected_attach_type(p) == BPF_XDP)
				attach_xdp(obj, p, ifindex, ifname);
			break;
		case BPF_PROG_TYPE_SCHED_CLS:
			attach_tc(obj, p, ifindex, ifname);
			break;
		default:
			printf("# %s: %s is a %s program, loaded only\n", obj, bpf_program__name(p),
			       libbpf_bpf_prog_type_str(bpf_program__type(p)));
			break;
		}
	}
	bpf_object__unpin_maps(o, NULL);
out:
	bpf_object__close(o);
}

int main(int argc, char **argv)
{
	const char *ifname = NULL, *pin_root = "/sys/fs/bpf/vm_attach";
	struct utsname u;
	int c, ifindex;

	while ((c = getopt(argc, argv, "i:p:")) != -1) {
		switch (c) {
		case 'i': ifname = optarg; break;
		case 'p': pin_root = optarg; break;
		default: goto usage;
		}
	}
	if (!ifname || optind >= argc)
		goto usage;
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "vm_attach: no such port %s\n", ifname);
		return 2;
	}
	uname(&u);
	printf("# kernel %s, port %s\n", u.release, ifname);
	for (; optind < argc; optind++)
		one_object(argv[optind], pin_root, ifindex, ifname);
	return vm_tap_done();
usage:
	fprintf(stderr, "usage: %s -i IFNAME [-p PIN_ROOT] OBJ.bpf.o...\n", argv[0]);
	return 2;
}
