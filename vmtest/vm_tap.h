/* SPDX-License-Identifier: GPL-2.0 */
/* TAP output for the in-VM probes: one "ok N - name" / "not ok N - name"
 * line per check, counted so main() can return the verdict. */
#ifndef XEVPN_VM_TAP_H
#define XEVPN_VM_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int vm_tap_n, vm_tap_failed;

__attribute__((format(printf, 2, 3)))
static inline int vm_tap(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++vm_tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		vm_tap_failed++;
	return ok;
}

static inline int vm_tap_done(void)
{
	printf("1..%d\n", vm_tap_n);
	return vm_tap_failed ? 1 : 0;
}

#endif
