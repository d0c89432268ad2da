/* SPDX-License-Identifier: GPL-2.0 */
/* One logging entry point: stderr (journald adds the timestamp), filtered
 * by level; tests turn it down. */
#ifndef XEVPN_CTL_LOG_H
#define XEVPN_CTL_LOG_H

#include <syslog.h>

extern int log_level;	/* LOG_ERR .. LOG_DEBUG, default LOG_INFO */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
