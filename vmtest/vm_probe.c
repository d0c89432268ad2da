// SPDX-License-Identifier: GPL-2.0
/* vm_probe: proves that the kernel under test loads, test-runs and attaches
 * a small XDP + TC skeleton and that the attached programs see real frames.
 *
 *   vm_probe            load + BPF_PROG_TEST_RUN checks only
 *   vm_probe RX TX      also attach to veth RX and send frames from its peer TX
 *
 * Prints TAP; exit status 0 only if every check passed. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vm_probe.skel.h"
#include "vm_probe.h"
#include "vm_tap.h"

#define VM_PROBE_FRAMES 5

struct probe_frame {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	char payload[18];
} __attribute__((packed));

/* A UDP frame 192.0.2.1 -> 192.0.2.2 to dport (checksums are irrelevant:
 * both programs look at headers only, and the stack drops the rest). */
static void probe_frame_fill(struct probe_frame *f, __u16 dport)
{
	memset(f, 0, sizeof(*f));
	memset(f->eth.h_dest, 0xff, ETH_ALEN);
	memcpy(f->eth.h_source, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	f->eth.h_proto = htons(ETH_P_IP);
	f->ip.version = 4;
	f->ip.ihl = 5;
	f->ip.ttl = 64;
	f->ip.protocol = IPPROTO_UDP;
	f->ip.tot_len = htons(sizeof(*f) - sizeof(f->eth));
	f->ip.saddr = htonl(0xc0000201);
	f->ip.daddr = htonl(0xc0000202);
	f->udp.source = htons(40000);
	f->udp.dest = htons(dport);
	f->udp.len = htons(sizeof(f->udp) + sizeof(f->payload));
}

static __u64 counter(struct vm_probe *skel, __u32 idx)
{
	__u64 v = 0;

	bpf_map__lookup_elem(skel->maps.vm_probe_counts, &idx, sizeof(idx), &v, sizeof(v), 0);
	return v;
}

static int test_run(int prog_fd, __u16 dport, __u32 *retval)
{
	struct probe_frame f;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = &f, .data_size_in = sizeof(f), .repeat = 1);
	int err;

	probe_frame_fill(&f, dport);
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	*retval = opts.retval;
	return err;
}

static void check_test_run(struct vm_probe *skel)
{
	int xdp = bpf_program__fd(skel->progs.vm_probe_xdp);
	int tc = bpf_program__fd(skel->progs.vm_probe_tc);
	__u32 ret = ~0u;
	int err;

	err = test_run(xdp, VM_PROBE_DROP_PORT, &ret);
	vm_tap(!err && ret == XDP_DROP && counter(skel, VM_PROBE_XDP_DROP) == 1,
	       "test_run xdp: udp/%d dropped (err %d, verdict %u)", VM_PROBE_DROP_PORT, err, ret);
	err = test_run(xdp, 53, &ret);
	vm_tap(!err && ret == XDP_PASS && counter(skel, VM_PROBE_XDP_PASS) == 1,
	       "test_run xdp: udp/53 passed (err %d, verdict %u)", err, ret);
	err = test_run(tc, 53, &ret);
	vm_tap(!err && ret == TC_ACT_OK && counter(skel, VM_PROBE_TC_SEEN) == 1,
	       "test_run tc: frame seen, TC_ACT_OK (err %d, verdict %u)", err, ret);
}

static int send_frames(int ifindex, __u16 dport, int n)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = ifindex,
				   .sll_halen = ETH_ALEN };
	struct probe_frame f;
	int fd, i, sent = 0;

	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0)
		return -errno;
	probe_frame_fill(&f, dport);
	memcpy(sll.sll_addr, f.eth.h_dest, ETH_ALEN);
	for (i = 0; i < n; i++)
		if (sendto(fd, &f, sizeof(f), 0, (struct sockaddr *)&sll, sizeof(sll)) == sizeof(f))
			sent++;
	close(fd);
	return sent;
}

/* Counters are updated from softirq context after sendto() returns: poll. */
static int wait_counter(struct vm_probe *skel, __u32 idx, __u64 want)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int i;

	for (i = 0; i < 150; i++) {
		if (counter(skel, idx) >= want)
			return 1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static void check_veth(struct vm_probe *skel, const char *rx, const char *tx)
{
	int rx_if = if_nametoindex(rx), tx_if = if_nametoindex(tx);
	int xdp = bpf_program__fd(skel->progs.vm_probe_xdp);
	int tc = bpf_program__fd(skel->progs.vm_probe_tc);
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = rx_if, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, tc_opts, .handle = 1, .priority = 1, .prog_fd = tc);
	__u64 drop0 = counter(skel, VM_PROBE_XDP_DROP), seen0 = counter(skel, VM_PROBE_TC_SEEN);
	__u32 id = 0;
	int err, sent;

	if (!vm_tap(rx_if && tx_if, "veth %s/%s exists", rx, tx))
		return;
	err = bpf_xdp_attach(rx_if, xdp, XDP_FLAGS_DRV_MODE, NULL);
	bpf_xdp_query_id(rx_if, XDP_FLAGS_DRV_MODE, &id);
	if (!vm_tap(!err && id == prog_id(xdp), "xdp attached in driver mode on %s (err %d)", rx, err))
		return;
	err = bpf_tc_hook_create(&hook);
	if (err == -EEXIST)
		err = 0;
	if (!err)
		err = bpf_tc_attach(&hook, &tc_opts);
	if (!vm_tap(!err && tc_opts.prog_id == prog_id(tc), "tc attached on %s ingress (err %d)", rx, err))
		goto out_xdp;

	sent = send_frames(tx_if, VM_PROBE_DROP_PORT, VM_PROBE_FRAMES);
	sent += send_frames(tx_if, 53, VM_PROBE_FRAMES);
	vm_tap(sent == 2 * VM_PROBE_FRAMES, "sent %d frames from %s", sent, tx);
	vm_tap(wait_counter(skel, VM_PROBE_XDP_DROP, drop0 + VM_PROBE_FRAMES),
	       "xdp dropped the %d udp/%d frames on the wire (%llu)", VM_PROBE_FRAMES,
	       VM_PROBE_DROP_PORT, (unsigned long long)(counter(skel, VM_PROBE_XDP_DROP) - drop0));
	vm_tap(wait_counter(skel, VM_PROBE_TC_SEEN, seen0 + VM_PROBE_FRAMES) &&
	       counter(skel, VM_PROBE_TC_SEEN_DROP) == 0,
	       "tc ingress saw the %d passed frames and none of the dropped (%llu, %llu)",
	       VM_PROBE_FRAMES, (unsigned long long)(counter(skel, VM_PROBE_TC_SEEN) - seen0),
	       (unsigned long long)counter(skel, VM_PROBE_TC_SEEN_DROP));

	tc_opts.flags = tc_opts.prog_fd = tc_opts.prog_id = 0;
	err = bpf_tc_detach(&hook, &tc_opts);
	vm_tap(!err, "tc detached (err %d)", err);
	hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
	bpf_tc_hook_destroy(&hook);
out_xdp:
	err = bpf_xdp_detach(rx_if, XDP_FLAGS_DRV_MODE, NULL);
	id = 1;
	bpf_xdp_query_id(rx_if, XDP_FLAGS_DRV_MODE, &id);
	vm_tap(!err && id == 0, "xdp detached (err %d)", err);
}

int main(int argc, char **argv)
{
	struct vm_probe *skel;
	struct utsname u;

	uname(&u);
	if (argc != 1 && argc != 3) {
		fprintf(stderr, "usage: %s [RX_VETH TX_VETH]\n", argv[0]);
		return 2;
	}
	skel = vm_probe__open_and_load();
	if (!vm_tap(skel != NULL, "vm_probe skeleton loads on %s (%s)", u.release,
		    skel ? "ok" : strerror(errno)))
		return vm_tap_done();
	check_test_run(skel);
	if (argc == 3)
		check_veth(skel, argv[1], argv[2]);
	vm_probe__destroy(skel);
	return vm_tap_done();
}
