/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * BPF packet-test harness: run a loaded program on a frame with
 * bpf_prog_test_run_opts and compare the verdict and the output bytes.
 *
 * A suite keeps a table of cases, each an input frame (a __packed struct
 * with designated initializers), a map setup, the expected verdict and the
 * expected output bytes, and replays it:
 *
 *     struct pkt_result r;
 *     pkt_run_xdp(prog_fd, ifindex, &in, sizeof(in), &r);
 *     cr_assert_eq(r.retval, XDP_REDIRECT);
 *     cr_assert(pkt_expect_bytes(&r, &want, sizeof(want), NULL));
 *
 * Programs that need routes and neighbours (bpf_fib_lookup) or real
 * ifindexes run in a private network namespace: pkt_netns_private() gives the
 * calling process one (gone when it exits, nothing to clean up) and
 * pkt_sh() runs `ip` commands inside it.
 */
#ifndef XEVPN_SELFTESTS_PKT_H
#define XEVPN_SELFTESTS_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define PKT_MAX 9216

struct pkt_result {
	int    err;      /* bpf_prog_test_run_opts() result, -errno */
	__u32  retval;   /* program verdict */
	__u32  out_len;
	__u32  duration; /* ns per run, as reported by the kernel */
	__u8   out[PKT_MAX];
};

/* A byte range the comparison ignores (e.g. a hash-derived UDP source port). */
struct pkt_ignore {
	__u32 off;
	__u32 len;
};
#define PKT_IGNORE_MAX 4
struct pkt_mask {
	struct pkt_ignore r[PKT_IGNORE_MAX];
	unsigned int n;
};

int pkt_run_xdp(int prog_fd, __u32 ingress_ifindex, const void *in, __u32 len, struct pkt_result *r);
int pkt_run_tc(int prog_fd, __u32 ifindex, const void *in, __u32 len, struct pkt_result *r);
/* Run repeat times; r->duration is the mean ns per run. */
int pkt_run_repeat(int prog_fd, bool xdp, __u32 ifindex, const void *in, __u32 len, __u32 repeat,
		   struct pkt_result *r);

/*
 * Compare r's output with want (length and every byte outside mask). On a
 * mismatch, prints the first differing offset and both frames as hex to
 * stderr and returns false.
 */
bool pkt_expect_bytes(const struct pkt_result *r, const void *want, __u32 want_len,
		      const struct pkt_mask *mask);
void pkt_hexdump(const char *title, const void *buf, __u32 len);

/* Give the calling process a private network namespace with lo up. */
int pkt_netns_private(void);
/* Run a shell command (printf format) in the current namespace; 0 = success. */
int pkt_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Internet checksum (RFC 1071) of buf, a reference independent of the BPF side. */
__u16 pkt_csum(const void *buf, size_t len);

#endif
