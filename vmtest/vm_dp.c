// SPDX-License-Identifier: GPL-2.0
/* vm_dp: load the xevpn dataplane through its own loader (libxevpn-dp, with
 * whatever kernel-feature fallbacks it applies) and attach every role to a
 * veth pair: access on one end, uplink on the other, then the XDP_PASS
 * program; each time ask the kernel which program runs there, and that
 * detach and uninstall leave nothing behind.
 *
 *   vm_dp ACCESS_VETH UPLINK_VETH
 *
 * Prints TAP; exit 0 only if every check passed. Nothing is pinned. */
#include <errno.h>
#include <string.h>
#include <net/if.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dp/dp.h"
#include "vm_tap.h"

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static __u32 xdp_id(int ifindex)
{
	__u32 id = 0;

	bpf_xdp_query_id(ifindex, 0, &id);
	return id;
}

static __u32 tc_id(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XEVPN_DP_TC_HANDLE,
			    .priority = XEVPN_DP_TC_PRIO);

	return bpf_tc_query(&hook, &opts) ? 0 : opts.prog_id;
}

static void port(struct xevpn_dp *dp, const char *name, int ifindex,
		 enum xevpn_port_role role, enum xevpn_dp_prog xdp)
{
	const char *r = role == XEVPN_PORT_ACCESS ? "access" : "uplink";
	__u32 want_xdp = prog_id(xevpn_dp_prog_fd(dp, xdp));
	__u32 want_tc = prog_id(xevpn_dp_prog_fd(dp, XEVPN_DP_PROG_TC));
	int err = xevpn_dp_attach(dp, ifindex, role);

	vm_tap(!err, "%s: attach as %s port (err %d)", name, r, err);
	vm_tap(want_xdp && xdp_id(ifindex) == want_xdp, "%s: runs the %s XDP program (id %u)",
	       name, r, want_xdp);
	vm_tap(want_tc && tc_id(ifindex) == want_tc, "%s: runs the TC ingress program (id %u)",
	       name, want_tc);
}

int main(int argc, char **argv)
{
	struct xevpn_dp_opts opts = { .no_pin = true };
	struct xevpn_dp *dp = NULL;
	int acc, upl, err;
	struct utsname u;

	if (argc != 3) {
		fprintf(stderr, "usage: %s ACCESS_VETH UPLINK_VETH\n", argv[0]);
		return 2;
	}
	acc = if_nametoindex(argv[1]);
	upl = if_nametoindex(argv[2]);
	uname(&u);
	if (!vm_tap(acc && upl, "ports %s and %s exist", argv[1], argv[2]))
		return vm_tap_done();
	err = xevpn_dp_open(&dp, &opts);
	if (!vm_tap(!err, "xevpn dataplane loads on %s (err %d %s)", u.release, err,
		    err ? strerror(-err) : ""))
		return vm_tap_done();

	port(dp, argv[1], acc, XEVPN_PORT_ACCESS, XEVPN_DP_PROG_XDP_ACCESS);
	port(dp, argv[2], upl, XEVPN_PORT_UPLINK, XEVPN_DP_PROG_XDP_UPLINK);

	err = xevpn_dp_detach(dp, acc);
	vm_tap(!err && !xdp_id(acc) && !tc_id(acc), "%s: detached, no program left (err %d)",
	       argv[1], err);
	err = xevpn_dp_attach_xdp_pass(dp, acc);
	vm_tap(!err && xdp_id(acc) == prog_id(xevpn_dp_prog_fd(dp, XEVPN_DP_PROG_XDP_PASS)),
	       "%s: runs the XDP_PASS program (err %d)", argv[1], err);
	err = xevpn_dp_detach(dp, upl);
	vm_tap(!err && !xdp_id(upl) && !tc_id(upl), "%s: detached, no program left (err %d)",
	       argv[2], err);
	err = xevpn_dp_uninstall(dp);
	vm_tap(!err && !xdp_id(acc), "uninstall removes the XDP_PASS program (err %d)", err);
	xevpn_dp_close(dp);
	return vm_tap_done();
}
