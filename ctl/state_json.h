/* SPDX-License-Identifier: GPL-2.0 */
/* The model as JSON: one dump used by the CLI socket (xevpnctl) and, later,
 * by /metrics, so both always describe the same state. */
#ifndef XEVPN_CTL_STATE_JSON_H
#define XEVPN_CTL_STATE_JSON_H

#include <jansson.h>

#include "evpn.h"

json_t *evpn_json_es(struct evpn *e, const char *esi_or_name);	/* NULL = all */
json_t *evpn_json_macs(struct evpn *e, uint32_t vni);		/* 0 = all */
json_t *evpn_json_vteps(struct evpn *e);
json_t *evpn_json_df(struct evpn *e);
json_t *evpn_json_bds(struct evpn *e);
json_t *evpn_json_stats(struct evpn *e);

/* One CLI request line ("show es", "show es ESI", "show mac [VNI]", "show
 * vtep", "show df", "show bd", "show stats") -> reply object
 * {"ok":true,"data":...} or {"ok":false,"error":"..."}. */
json_t *evpn_json_command(struct evpn *e, const char *line);

#endif
