/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Checksum helpers: the only place where Internet checksums are computed. */
#ifndef XEVPN_BPF_CSUM_H
#define XEVPN_BPF_CSUM_H

#include <linux/types.h>
#include <linux/ip.h>

static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Folded (not complemented) sum of the 16-bit words of an option-less IPv4 header. */
static __always_inline __u16 ipv4_hdr_sum(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*ip) / 2); i++)
		sum += w[i];
	return (__u16)~csum_fold32(sum);
}

/* Header checksum of an option-less IPv4 header (check field must be 0). */
static __always_inline __u16 ipv4_hdr_csum(const struct iphdr *ip)
{
	return csum_fold32(ipv4_hdr_sum(ip));
}

/*
 * Checksum of a header whose words sum to base (folded) once one more word,
 * in network order as it sits in memory, is added: the per-packet total
 * length on a precomputed header.
 */
static __always_inline __u16 csum_add_word(__u16 base, __u16 word)
{
	return csum_fold32((__u32)base + word);
}

#endif
