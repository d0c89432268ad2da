/* SPDX-License-Identifier: GPL-2.0 */
/* xevpnctl text views of "show health" and "show es ESI|NAME health". */
#ifndef XEVPN_CTL_XEVPNCTL_HEALTH_H
#define XEVPN_CTL_XEVPNCTL_HEALTH_H

#include <jansson.h>
#include <stdbool.h>

/* argv: the request words ("show", "es", "X", "health"). Returns true when
 * the request is a health view and data was printed. */
bool xevpnctl_health_print(int argc, char **argv, json_t *data);

#endif
