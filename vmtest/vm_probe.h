/* SPDX-License-Identifier: GPL-2.0 */
/* Shared between vm_probe.bpf.c and its loader vm_probe.c. */
#ifndef XEVPN_VM_PROBE_H
#define XEVPN_VM_PROBE_H

/* UDP destination port the XDP probe drops (the discard service). */
#define VM_PROBE_DROP_PORT 9

enum vm_probe_counter {
	VM_PROBE_XDP_PASS,
	VM_PROBE_XDP_DROP,
	VM_PROBE_TC_SEEN,	/* frames that reached TC ingress */
	VM_PROBE_TC_SEEN_DROP,	/* dropped-port frames that still reached TC: must stay 0 */
	VM_PROBE_NR_COUNTERS,
};

#endif
