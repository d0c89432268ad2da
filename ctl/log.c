// SPDX-License-Identifier: GPL-2.0
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

int log_level = LOG_INFO;

void log_msg(int level, const char *fmt, ...)
{
	static const char *names[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info",
				       "debug" };
	va_list ap;

	if (level > log_level)
		return;
	fprintf(stderr, "<%d>xevpnd: %s: ", level, names[level & 7]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
