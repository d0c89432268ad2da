/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* VXLAN wire format (RFC 7348 §5). */
#ifndef XEVPN_VXLAN_H
#define XEVPN_VXLAN_H

#include <linux/types.h>

struct xevpn_vxlanhdr {
	__be32 flags; /* I flag in the first byte, rest reserved */
	__be32 vni;   /* VNI in the upper 24 bits, low byte reserved */
};

/* The I flag: the VNI field is valid. Other bits are reserved, ignored on receipt. */
#define XEVPN_VXLAN_FLAG_I    0x08000000U /* host order of the first word */
#define XEVPN_VXLAN_VNI_SHIFT 8
#define XEVPN_VNI_MAX         0xffffffU

/* Outer headers of an IPv4 VXLAN frame without options: eth + ip + udp + vxlan. */
#define XEVPN_VXLAN_ENCAP_LEN (14 + 20 + 8 + 8)

#endif
