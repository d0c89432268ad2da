/* SPDX-License-Identifier: GPL-2.0 */
/* xevpnctl: observability commands (traffic view, watch, metrics) and the
 * interactive shell, next to the one-shot queries of xevpnctl.c. */
#ifndef XEVPN_CTL_XEVPNCTL_OBS_H
#define XEVPN_CTL_XEVPNCTL_OBS_H

#include <jansson.h>
#include <stdbool.h>

/* Connected stream socket to xevpnd's CLI socket, or -1 (message printed). */
int xevpnctl_connect(const char *sock);
/* One request line -> the parsed reply object (NULL on any error, quiet). */
json_t *xevpnctl_request(const char *sock, const char *line);

/* Text rendering of the observability replies (argv = the command words,
 * data = the reply's "data"). false when the command is not one of them. */
bool xevpnctl_print(int argc, char **argv, json_t *data);

/* `watch events`: one line per event until interrupted. -j: the JSON lines.
 * Returns the process exit code. */
int xevpnctl_watch(const char *sock, bool js, int argc, char **argv);

/* Interactive shell with completion of live object names (libedit). Each
 * line runs as `xevpnctl -s SOCK [-j] LINE`. Returns the exit code. */
int xevpnctl_shell(const char *sock, bool js);

#endif
