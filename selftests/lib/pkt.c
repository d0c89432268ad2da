// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* BPF packet-test harness (see pkt.h). */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "pkt.h"

static int run(int prog_fd, bool xdp, __u32 ifindex, const void *in, __u32 len, __u32 repeat,
	       struct pkt_result *r)
{
	/* data_end = linear length; anything beyond would go to fragments */
	struct xdp_md xctx = { .data_end = len, .ingress_ifindex = ifindex };
	struct __sk_buff sctx = { .ifindex = ifindex, .ingress_ifindex = ifindex };
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len,
			    .data_out = r->out, .data_size_out = sizeof(r->out), .repeat = repeat);

	if (ifindex) {
		if (xdp) {
			opts.ctx_in = &xctx;
			opts.ctx_size_in = sizeof(xctx);
		} else {
			opts.ctx_in = &sctx;
			opts.ctx_size_in = sizeof(sctx);
		}
	}
	r->err = bpf_prog_test_run_opts(prog_fd, &opts) ? -errno : 0;
	r->retval = opts.retval;
	r->out_len = opts.data_size_out;
	r->duration = opts.duration;
	return r->err;
}

int pkt_run_xdp(int prog_fd, __u32 ingress_ifindex, const void *in, __u32 len, struct pkt_result *r)
{
	return run(prog_fd, true, ingress_ifindex, in, len, 1, r);
}

int pkt_run_tc(int prog_fd, __u32 ifindex, const void *in, __u32 len, struct pkt_result *r)
{
	return run(prog_fd, false, ifindex, in, len, 1, r);
}

int pkt_run_repeat(int prog_fd, bool xdp, __u32 ifindex, const void *in, __u32 len, __u32 repeat,
		   struct pkt_result *r)
{
	return run(prog_fd, xdp, ifindex, in, len, repeat, r);
}

void pkt_hexdump(const char *title, const void *buf, __u32 len)
{
	const __u8 *b = buf;

	fprintf(stderr, "%s (%u bytes):", title, len);
	for (__u32 i = 0; i < len && i < 256; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n  ", b[i]);
	fprintf(stderr, "%s\n", len > 256 ? " ..." : "");
}

static bool ignored(const struct pkt_mask *m, __u32 off)
{
	for (unsigned int i = 0; m && i < m->n; i++)
		if (off >= m->r[i].off && off < m->r[i].off + m->r[i].len)
			return true;
	return false;
}

bool pkt_expect_bytes(const struct pkt_result *r, const void *want, __u32 want_len,
		      const struct pkt_mask *mask)
{
	const __u8 *w = want;
	__u32 i;

	if (r->out_len != want_len) {
		fprintf(stderr, "pkt: output length %u, expected %u\n", r->out_len, want_len);
		goto diff;
	}
	for (i = 0; i < want_len; i++) {
		if (!ignored(mask, i) && r->out[i] != w[i]) {
			fprintf(stderr, "pkt: first difference at byte %u: got %02x, expected %02x\n",
				i, r->out[i], w[i]);
			goto diff;
		}
	}
	return true;
diff:
	pkt_hexdump("got", r->out, r->out_len);
	pkt_hexdump("expected", want, want_len);
	return false;
}

int pkt_netns_private(void)
{
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "pkt: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return -errno;
	}
	return pkt_sh("ip link set lo up");
}

int pkt_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc)
		fprintf(stderr, "pkt: command failed (%d): %s\n", rc, cmd);
	return rc ? -EIO : 0;
}

__u16 pkt_csum(const void *buf, size_t len)
{
	const __u8 *b = buf;
	__u32 sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (__u32)(b[i] | (b[i + 1] << 8));
	if (len & 1)
		sum += b[len - 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}
