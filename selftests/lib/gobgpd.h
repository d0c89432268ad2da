/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gobgpd in a test namespace: generated TOML config, gRPC API on a given
 * address (loopback of the namespace by default), log under the run's state
 * dir, session polling through the `gobgp` CLI (tests only; the product
 * speaks gRPC through gobgp-bridge).
 */
#ifndef XEVPN_SELFTESTS_GOBGPD_H
#define XEVPN_SELFTESTS_GOBGPD_H

#include <stdbool.h>
#include <stdint.h>

#include "netns.h"

#define XT_GOBGPD_MAX_NEIGH  16
#define XT_GOBGPD_API_DEFAULT "127.0.0.1:50051"

/* BGP FSM states as reported by the API (apipb.PeerState.SessionState). */
enum xt_bgp_state {
	XT_BGP_UNKNOWN = 0,
	XT_BGP_IDLE = 1,
	XT_BGP_CONNECT = 2,
	XT_BGP_ACTIVE = 3,
	XT_BGP_OPENSENT = 4,
	XT_BGP_OPENCONFIRM = 5,
	XT_BGP_ESTABLISHED = 6,
};

struct xt_gobgpd_neighbor {
	const char *address;
	uint32_t peer_as;        /* 0: same as the local AS (iBGP) */
	bool passive;            /* wait for the peer to connect */
	bool rr_client;          /* route-reflector client of this speaker */
};

struct xt_gobgpd_config {
	const char *ns;          /* short namespace name (required) */
	const char *name;        /* instance name for files/labels (default: ns) */
	const char *router_id;   /* required */
	uint32_t as;             /* required */
	const char *api_addr;    /* gRPC listen "host:port" (default 127.0.0.1:50051) */
	const char *local_address; /* BGP source/listen address (optional) */
	const char *cluster_id;  /* RR cluster id (default: router_id) */
	unsigned int hold_time_s;      /* default 9 */
	unsigned int keepalive_s;      /* default 3 */
	unsigned int connect_retry_s;  /* default 1 */
	const char *log_level;   /* default "info" */
	int n_neighbors;
	struct xt_gobgpd_neighbor neighbors[XT_GOBGPD_MAX_NEIGH];
};

struct xt_gobgpd {
	struct xt_proc proc;
	char ns[32];
	char name[32];
	char api_host[64];
	char api_port[8];
	char config_path[XT_PATH_MAX];
	char log_path[XT_PATH_MAX];
};

/* Write the config, start gobgpd in cfg->ns and wait (up to 15 s) until its
 * gRPC API answers. On failure the log tail is printed and nothing is left
 * running. */
int xt_gobgpd_start(const struct xt_gobgpd_config *cfg, struct xt_gobgpd *g);
/* Stop by PID (SIGTERM, then SIGKILL after 3 s). Safe to call twice. */
int xt_gobgpd_stop(struct xt_gobgpd *g);
bool xt_gobgpd_running(struct xt_gobgpd *g);

/* Run `gobgp -u <host> -p <port> <args>` inside the daemon's namespace,
 * stdout into `out`. Returns the exit status or a negative errno. */
int xt_gobgp_cli(struct xt_gobgpd *g, char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Session state of `neighbor` (enum xt_bgp_state), or a negative errno. */
int xt_gobgpd_neighbor_state(struct xt_gobgpd *g, const char *neighbor);
/* Poll until the session to `neighbor` is Established; -ETIMEDOUT (and the
 * log tail on stderr) otherwise. timeout_ms 0 = 30 s. */
int xt_gobgpd_wait_established(struct xt_gobgpd *g, const char *neighbor, int timeout_ms);

/* Number of destinations in the global RIB of `family` ("evpn", "ipv4", ...)
 * whose key contains `match` (NULL: all), or a negative errno. Keys look
 * like "[type:multicast][rd:192.0.2.1:100][etag:0][ip:192.0.2.1]". */
int xt_gobgpd_rib_count(struct xt_gobgpd *g, const char *family, const char *match);
/* Poll until xt_gobgpd_rib_count() >= want. */
int xt_gobgpd_wait_rib(struct xt_gobgpd *g, const char *family, const char *match, int want,
		       int timeout_ms);

#endif
