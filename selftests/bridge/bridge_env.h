/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test environment for gobgp-bridge suites: gobgpd in a namespace with its
 * gRPC API on a unix socket under the run's state dir. A path-bound unix
 * socket is reachable from the test process in the root namespace, so the
 * library under test connects exactly as xevpnd does, with no link in the
 * root namespace. Built on selftests/lib (namespaces, processes, cleanup).
 */
#ifndef XEVPN_BRIDGE_ENV_H
#define XEVPN_BRIDGE_ENV_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "gobgp_bridge.h"
#include "netns.h"

struct benv_gobgpd {
	struct xt_proc proc;
	char ns[32];
	char name[32];
	char conf[XT_PATH_MAX];
	char log[XT_PATH_MAX];
	char sock[XT_PATH_MAX];
	char target[XT_PATH_MAX + 8];   /* "unix:<sock>" for gb_config.target */
};

/* Write the config (iBGP AS 65000, l2vpn-evpn, neighbor may be NULL) and
 * start gobgpd in `ns`; waits until the API socket accepts connections. */
int benv_gobgpd_start(struct benv_gobgpd *g, const char *ns, const char *name,
		      const char *router_id, const char *neighbor);
/* Start again with the same config (after benv_gobgpd_kill). */
int benv_gobgpd_restart(struct benv_gobgpd *g);
int benv_gobgpd_kill(struct benv_gobgpd *g);   /* SIGKILL */
int benv_gobgpd_stop(struct benv_gobgpd *g);

/* Two namespaces "a" and "b" joined by a veth, 192.0.2.1/24 and .2/24, loopback up. */
int benv_two_ns(void);

/* Run `loop` until pred(arg) is true or timeout_ms passes; returns pred's final value. */
bool benv_run_until(uv_loop_t *loop, bool (*pred)(void *arg), void *arg, unsigned timeout_ms);
/* Run `loop` for ms milliseconds. */
void benv_run_for(uv_loop_t *loop, unsigned ms);

/* A type-2 route number i (distinct MAC and IP), next hop `nh`, RD admin `rd_ip`. */
void benv_type2(struct gb_route *r, unsigned i, const char *nh, unsigned n_rts);

#endif
