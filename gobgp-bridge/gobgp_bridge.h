/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gobgp-bridge: EVPN routes (RFC 7432 / RFC 8365 route types 1-4) to and from
 * GoBGP over its gRPC API.
 *
 * Two layers:
 *   - codec: plain C route structs <-> apipb.Path (packed protobuf bytes).
 *     Pure functions, no I/O, usable from tests.
 *   - client: one connection to one gobgpd, driven from the caller's libuv
 *     loop. Every callback runs on the loop thread; every gb_* call except the
 *     codec must be made from the loop thread.
 *
 * Client model
 *   - gb_add()/gb_withdraw() queue changes; they are sent in batches through
 *     AddPathStream at the next loop iteration (or at gb_flush()). The client
 *     keeps the set of routes it has added (the "ledger"); an add whose route
 *     is identical to the ledger entry is not sent again.
 *   - The watch (best paths, init dump then updates and withdrawals) delivers
 *     decoded routes through cb->route. The client keeps the last delivered
 *     state per NLRI and only delivers changes: a route re-announced unchanged
 *     (e.g. in the dump after a reconnect) is not delivered twice; a route
 *     missing from the dump after a reconnect is delivered as a withdrawal.
 *   - gobgpd going away: cb->state(up=false), reconnect with exponential
 *     backoff, re-subscribe, re-advertise the whole ledger, resend withdrawals
 *     that were not acknowledged, then cb->resync(). cb->resync also fires once
 *     after the first connection.
 *   - A route gobgpd rejects is isolated (failed batches are split and retried),
 *     removed from the ledger and reported through cb->rejected.
 *   - Every route sent carries an ESI (types 1, 2, 4; all-zero type-0 ESI when
 *     the caller leaves it empty = single-homed); withdrawals always carry the
 *     full NLRI, never an empty DeletePath.
 *   - Received attributes and extended communities the codec does not know
 *     are skipped and counted (gb_stats), never fatal.
 */
#ifndef GOBGP_BRIDGE_H
#define GOBGP_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* EVPN route types handled by the bridge. */
enum gb_route_type {
	GB_ROUTE_AD    = 1, /* Ethernet Auto-Discovery (per-ES: eth_tag GB_ETAG_MAX, per-EVI) */
	GB_ROUTE_MACIP = 2, /* MAC/IP Advertisement */
	GB_ROUTE_IMET  = 3, /* Inclusive Multicast Ethernet Tag */
	GB_ROUTE_ES    = 4, /* Ethernet Segment */
};

/* Ethernet tag of a per-ES A-D route (RFC 7432 §8.2.1: MAX-ET). */
#define GB_ETAG_MAX 0xFFFFFFFFu

/* Route distinguisher / route target encodings (RFC 4364 type field). */
enum gb_admin_type {
	GB_ADMIN_AS2 = 0, /* 2-octet AS : 4-octet assigned */
	GB_ADMIN_IP4 = 1, /* IPv4 address : 2-octet assigned */
	GB_ADMIN_AS4 = 2, /* 4-octet AS : 2-octet assigned */
};

/* Route distinguisher. For GB_ADMIN_IP4, admin holds the IPv4 address in
 * network byte order (an s_addr). */
struct gb_rd {
	uint8_t  type;     /* enum gb_admin_type */
	uint32_t admin;
	uint32_t assigned;
};

/* Route target (transitive, sub-type 0x02). Same encoding as gb_rd. */
struct gb_rt {
	uint8_t  type;     /* enum gb_admin_type */
	uint32_t admin;
	uint32_t assigned;
};

/* Ethernet Segment Identifier, 10 octets on the wire: b[0] = ESI type (0-5),
 * b[1..9] = value. All zero = single-homed. Types 1, 2, 4 and 5 must end in a
 * zero octet (gobgpd refuses them otherwise). Helpers below build types 1/3. */
#define GB_ESI_LEN 10
struct gb_esi {
	uint8_t b[GB_ESI_LEN];
};

/* An IP address, or none (family 0). */
struct gb_ip {
	uint8_t family; /* 0, AF_INET or AF_INET6 */
	union {
		struct in_addr  v4;
		struct in6_addr v6;
	};
};

/* PMSI tunnel attribute (RFC 6514 §5); ingress replication = type 6 with
 * the VTEP address as tunnel id and the VNI as label. */
#define GB_PMSI_INGRESS_REPL 6
struct gb_pmsi {
	uint8_t      flags;       /* bit 0: leaf information required */
	uint8_t      tunnel_type; /* GB_PMSI_INGRESS_REPL, ... */
	uint32_t     label;       /* VNI for VXLAN */
	struct gb_ip id;          /* tunnel endpoint (ingress replication) */
};

/* BGP tunnel encapsulation types (RFC 9012) used in the encapsulation ext community. */
#define GB_ENCAP_VXLAN 8
#define GB_ENCAP_MPLS  10

/* gb_route.attrs: which optional attributes are present. */
#define GB_ATTR_ESI_LABEL    (1u << 0) /* ESI Label ext community: esi_label + single_active */
#define GB_ATTR_MAC_MOBILITY (1u << 1) /* MAC Mobility ext community: mm_seq + sticky */
#define GB_ATTR_ES_IMPORT    (1u << 2) /* ES-Import route target: es_import */
#define GB_ATTR_PMSI         (1u << 3) /* PMSI tunnel attribute: pmsi */
#define GB_ATTR_ENCAP        (1u << 4) /* Encapsulation ext community: encap */
#define GB_ATTR_DEFAULT_GW   (1u << 5) /* Default Gateway ext community (no value) */
#define GB_ATTR_ROUTER_MAC   (1u << 6) /* EVPN Router's MAC ext community: router_mac */

#define GB_MAX_RTS    8
#define GB_MAX_LABELS 2

/*
 * One EVPN route. Zero-initialise, then fill what the route type uses:
 *
 *   type 1 A-D   : rd, esi (non-zero), eth_tag, labels[0] (per-EVI: VNI; per-ES: 0);
 *                  always one label (n_labels 0 is sent as label 0)
 *   type 2 MAC/IP: rd, esi, eth_tag, mac, ip (optional), labels[0..1] (L2 VNI [, L3 VNI])
 *   type 3 IMET  : rd, eth_tag, ip (originating router = VTEP), usually pmsi
 *   type 4 ES    : rd, esi (non-zero), ip (originating router); without
 *                  GB_ATTR_ES_IMPORT the ES-Import RT is derived from ESI octets 1-6
 *                  (RFC 7432 §7.6 rule, applied to every ESI type)
 *
 * NLRI fields identify the route (two routes with the same NLRI are the same
 * route; adding again replaces). Attributes: next_hop (required on add), rts,
 * and the optional ones flagged in attrs.
 *
 * Receive-only fields are filled by the decoder and ignored on send.
 */
struct gb_route {
	/* NLRI */
	uint8_t       type;          /* enum gb_route_type */
	struct gb_rd  rd;
	struct gb_esi esi;
	uint32_t      eth_tag;
	uint8_t       mac[6];
	struct gb_ip  ip;
	uint32_t      labels[GB_MAX_LABELS];
	uint8_t       n_labels;

	/* path attributes */
	struct gb_ip  next_hop;      /* VTEP address */
	uint8_t       n_rts;
	struct gb_rt  rts[GB_MAX_RTS];
	uint32_t      attrs;         /* GB_ATTR_* */
	uint32_t      esi_label;     /* GB_ATTR_ESI_LABEL */
	bool          single_active; /* GB_ATTR_ESI_LABEL: single-active flag */
	uint32_t      mm_seq;        /* GB_ATTR_MAC_MOBILITY: sequence number */
	bool          sticky;        /* GB_ATTR_MAC_MOBILITY: sticky/static MAC */
	uint8_t       es_import[6];  /* GB_ATTR_ES_IMPORT */
	struct gb_pmsi pmsi;         /* GB_ATTR_PMSI */
	uint16_t      encap;         /* GB_ATTR_ENCAP: GB_ENCAP_VXLAN, ... */
	uint8_t       router_mac[6]; /* GB_ATTR_ROUTER_MAC */

	/* receive-only */
	bool          is_withdraw;   /* the route went away (watch) */
	bool          is_local;      /* originated by the local gobgpd (any API client) */
	struct gb_ip  peer;          /* BGP neighbor it was learnt from (none if local) */
	struct in_addr originator_id;/* ORIGINATOR_ID attribute (set by a route reflector), else 0 */
	uint32_t      source_asn;    /* AS of the neighbor it was learnt from */
};

/* Counters for what the decoder skipped. Cumulative: the decoder adds to them. */
struct gb_decode_stats {
	uint64_t unknown_attrs;      /* path attributes skipped */
	uint64_t unknown_ext_comms;  /* extended communities skipped (incl. unknown RT forms) */
	uint64_t truncated_rts;      /* route targets beyond GB_MAX_RTS dropped */
};

/* ---------- codec (pure; thread-safe; no I/O) ---------- */

/* Check a route can be sent. Returns 0, or -EINVAL with *why set to a static
 * explanation ("type 2 without MAC", "no next hop", ...). */
int gb_route_validate(const struct gb_route *r, const char **why);

/* Encode r as a packed apipb.Path (family L2VPN/EVPN; withdraw sets is_withdraw
 * and sends the NLRI only). *buf is malloc()ed, caller frees. Returns 0 or
 * -EINVAL (see gb_route_validate) / -ENOMEM. */
int gb_route_encode(const struct gb_route *r, bool withdraw, uint8_t **buf, size_t *len);

/* Decode a packed apipb.Path. Returns 0, -EBADMSG (not a protobuf Path /
 * truncated), -ENOENT (no NLRI), -EPROTONOSUPPORT (NLRI not an EVPN type 1-4
 * route: wrong Any type), -EINVAL (malformed field). st may be NULL. */
int gb_route_decode(const uint8_t *buf, size_t len, struct gb_route *r,
		    struct gb_decode_stats *st);

/* Same NLRI (identity of the route). */
bool gb_route_same_nlri(const struct gb_route *a, const struct gb_route *b);
/* Same NLRI and same attributes (receive-only fields ignored). */
bool gb_route_equal(const struct gb_route *a, const struct gb_route *b);

/* Human-readable one-liner ("[2][1.2.3.4:100][esi 00:..][0][aa:..][192.0.2.1] nh 192.0.2.1").
 * Returns snprintf()'s value. */
int gb_route_format(const struct gb_route *r, char *buf, size_t len);

/* ESI helpers. gb_esi_parse accepts "00:11:22:33:44:55:66:77:88:99" (10 octets). */
int  gb_esi_parse(const char *s, struct gb_esi *esi);
void gb_esi_format(const struct gb_esi *esi, char *buf, size_t len); /* needs 30 bytes */
/* Type 1 (LACP): system MAC + port key. */
void gb_esi_lacp(struct gb_esi *esi, const uint8_t sys_mac[6], uint16_t port_key);
/* Type 3 (MAC-based): system MAC + 3-octet local discriminator. */
void gb_esi_mac(struct gb_esi *esi, const uint8_t sys_mac[6], uint32_t discriminator);
bool gb_esi_is_zero(const struct gb_esi *esi);

/* ---------- client ---------- */

struct gb_client;

struct gb_stats {
	struct gb_decode_stats decode;
	uint64_t decode_errors;      /* received paths that could not be decoded (skipped) */
	uint64_t non_evpn_paths;     /* received paths of another family / route type (skipped) */
	uint64_t routes_rx;          /* adds/changes delivered to cb->route */
	uint64_t withdrawals_rx;     /* withdrawals delivered to cb->route */
	uint64_t dup_suppressed;     /* received unchanged routes not delivered again */
	uint64_t paths_tx;           /* paths sent (adds + withdrawals, incl. resends) */
	uint64_t adds_unchanged;     /* gb_add() of an unchanged ledger route (not sent) */
	uint64_t batches_ok;
	uint64_t batches_failed;
	uint64_t rejected;           /* routes gobgpd refused (cb->rejected) */
	uint64_t reconnects;         /* connection losses */
	uint64_t resyncs;            /* full resyncs (incl. the first connection) */
	uint64_t readvertised;       /* routes re-sent during resyncs */
};

struct gb_callbacks {
	/* A best-path change: add/update (r->is_withdraw false) or withdrawal.
	 * r is only valid during the call. */
	void (*route)(struct gb_client *c, const struct gb_route *r, void *arg);
	/* A full resync completed: watch (re)subscribed, its dump applied, and
	 * the whole ledger (n_readvertised routes) re-sent. first: initial connection. */
	void (*resync)(struct gb_client *c, bool first, size_t n_readvertised, void *arg);
	/* Connection state to gobgpd changed (up = watch established and BGP running).
	 * Use for self-fencing: down means this node has lost its BGP speaker. */
	void (*state)(struct gb_client *c, bool up, void *arg);
	/* gobgpd refused a route; it has been removed from the ledger. */
	void (*rejected)(struct gb_client *c, const struct gb_route *r, const char *reason,
			 void *arg);
	/* Every queued add/withdraw so far has been acknowledged by gobgpd. */
	void (*flushed)(struct gb_client *c, void *arg);
	/* Log sink; NULL = warnings and errors to stderr. level: LOG_ERR..LOG_DEBUG. */
	void (*log)(int level, const char *msg, void *arg);
};

/* gb_config.flags */
#define GB_CFG_NO_WATCH      (1u << 0) /* do not subscribe to best paths */
#define GB_CFG_DELIVER_LOCAL (1u << 1) /* also deliver locally originated paths on the watch */

struct gb_config {
	uv_loop_t  *loop;
	const char *target;          /* gRPC target, e.g. "127.0.0.1:50051" or "unix:/run/gobgp.sock" */
	const struct gb_callbacks *cb;
	void       *arg;             /* passed to every callback */
	uint32_t    flags;           /* GB_CFG_* */
	unsigned    backoff_min_ms;  /* default 100 */
	unsigned    backoff_max_ms;  /* default 5000 */
	unsigned    paths_per_msg;   /* paths per AddPathStream message, default 1000 */
};

/* Create a client and start connecting (asynchronously). The config is copied
 * (target string included). Returns 0 or negative errno. */
int gb_client_new(const struct gb_config *cfg, struct gb_client **out);

/* Shut down: cancels calls, stops the completion-queue thread, closes the
 * libuv handles. Memory is released from the close callbacks, so the loop
 * must run once more (uv_run) afterwards. No callback fires after this. */
void gb_client_free(struct gb_client *c);

/* Queue an add (or replacement: same NLRI) of r; recorded in the ledger and
 * re-advertised after every reconnect. Empty ESI becomes type 0 / all zero.
 * Returns 0, or -EINVAL (route invalid, see gb_route_validate; not queued). */
int gb_add(struct gb_client *c, const struct gb_route *r);

/* Queue a withdrawal of the route with r's NLRI (attributes ignored) and drop
 * it from the ledger. Allowed for routes not in the ledger (e.g. left in
 * gobgpd by a previous run). Returns 0 or -EINVAL. */
int gb_withdraw(struct gb_client *c, const struct gb_route *r);

/* Start sending queued changes now instead of at the next loop iteration. */
void gb_flush(struct gb_client *c);

/* List the global RIB's EVPN paths (ListPath): cb is called for every path
 * (best and non-best; r->is_local marks locally originated ones), then once
 * with r == NULL and err = 0 or negative errno. Returns 0 or negative errno. */
typedef void (*gb_list_cb)(struct gb_client *c, const struct gb_route *r, int err, void *arg);
int gb_list(struct gb_client *c, gb_list_cb cb, void *arg);

bool gb_is_up(const struct gb_client *c);
/* Number of routes in the ledger (added by this client and not withdrawn). */
size_t gb_ledger_count(const struct gb_client *c);
/* Number of adds/withdrawals queued or in flight (not yet acknowledged). */
size_t gb_pending_count(const struct gb_client *c);
void gb_get_stats(const struct gb_client *c, struct gb_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* GOBGP_BRIDGE_H */
