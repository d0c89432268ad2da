/* SPDX-License-Identifier: GPL-2.0 */
/* xevpnd configuration: YAML file -> validated, immutable struct xcfg.
 *
 * The whole file is parsed and validated before anything is applied; every
 * error is reported as "FILE:LINE: field.path: message". Objects are plain
 * values so that a SIGHUP reload can compare old and new (xcfg_diff). */
#ifndef XEVPN_CTL_CONFIG_H
#define XEVPN_CTL_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "esi.h"

#define XCFG_DEFAULT_PATH	"/etc/xevpn/xevpnd.conf"
#define XCFG_DEFAULT_SOCKET	"/run/xevpn/xevpnd.sock"
#define XCFG_DEFAULT_GOBGP	"127.0.0.1:50051"
#define XCFG_DEFAULT_BPFFS	"/sys/fs/bpf"
#define XCFG_DEFAULT_INSTANCE	"xevpn"
#define XCFG_NAME_MAX		32
#define XCFG_PATH_MAX		256
#define XCFG_ADDR_MAX		64
#define XCFG_MAX_RTS		8
#define XCFG_MAX_BD_PORTS	64
#define XCFG_MAX_HEALTH_KEYS	4
#define XCFG_HEALTH_KEY_MAX	64
#define XCFG_MAX_PEER_PREFS	16
#define XCFG_ERR_MAX		512
#define XCFG_VNI_MAX		0xffffffu

/* RFC 4360 route target, kept as its three parts (RFC 4360 §4, RFC 5668). */
enum xcfg_rt_kind { XCFG_RT_AS2 = 0, XCFG_RT_IP4 = 1, XCFG_RT_AS4 = 2 };
struct xcfg_rt {
	uint8_t kind;		/* enum xcfg_rt_kind */
	uint32_t admin;		/* ASN or IPv4 (host order) */
	uint32_t assigned;
};

struct xcfg_port {
	char ifname[IF_NAMESIZE];
	uint16_t vlan;		/* 0 = untagged */
};

struct xcfg_bd {
	char name[XCFG_NAME_MAX];
	uint32_t vni;
	int line;		/* where it was defined, for messages */
	struct xcfg_rt import[XCFG_MAX_RTS];
	unsigned n_import;
	struct xcfg_rt export[XCFG_MAX_RTS];
	unsigned n_export;
	struct xcfg_port ports[XCFG_MAX_BD_PORTS];
	unsigned n_ports;
	char bvi[IF_NAMESIZE];	/* "" = none */
};

enum xcfg_es_mode { XCFG_ES_ALL_ACTIVE = 0, XCFG_ES_SINGLE_ACTIVE = 1 };
enum xcfg_df_alg { XCFG_DF_MODULO = 0, XCFG_DF_HRW = 1, XCFG_DF_PREF = 2 };

/* Preference of a peer PE on this ES. gobgpd cannot carry the RFC 8584
 * DF Election extended community, so preferences of the other PEs come
 * from configuration (they must match the peers' own settings). */
struct xcfg_peer_pref {
	uint32_t vtep;
	uint16_t pref;
	bool dont_preempt;
};

struct xcfg_es {
	char name[XCFG_NAME_MAX];
	int line;
	esi_t esi;
	char port[IF_NAMESIZE];		/* member access port */
	uint8_t mode;			/* enum xcfg_es_mode */
	uint8_t df_alg;			/* enum xcfg_df_alg */
	uint16_t df_pref;		/* preference algorithm: our value */
	bool df_dont_preempt;
	uint32_t df_wait_ms;
	struct xcfg_peer_pref peers[XCFG_MAX_PEER_PREFS];
	unsigned n_peers;
};

struct xcfg_health_key {
	uint8_t id;
	uint8_t len;
	uint8_t key[XCFG_HEALTH_KEY_MAX];
};

struct xcfg_health_group {
	char name[XCFG_NAME_MAX];
	char es[XCFG_NAME_MAX];		/* group of an ES ... */
	char bd[XCFG_NAME_MAX];		/* ... or of all VTEPs of a BD */
	char ifname[IF_NAMESIZE];	/* beats are sent here (bvi of the BD) */
	uint16_t priority;
};

struct xcfg_health {
	bool enabled;
	uint32_t interval_ms;
	uint32_t miss;
	uint32_t rise;
	uint32_t fall;
	uint32_t cooldown_ms;
	uint32_t self_fence_ms;		/* 0 = self-fence off */
	char evpn_id[17];		/* group id on the wire (16 octets, NUL-padded) */
	struct xcfg_health_key keys[XCFG_MAX_HEALTH_KEYS];
	unsigned n_keys;
	struct xcfg_health_group *groups;
	unsigned n_groups;
};

struct xcfg {
	char path[XCFG_PATH_MAX];
	uint32_t vtep;			/* local VTEP IPv4, host order */
	uint32_t router_id;
	uint32_t asn;			/* for "auto" route targets; 0 = unset */
	char gobgp_api[XCFG_ADDR_MAX];
	char bpffs[XCFG_PATH_MAX];
	char instance[XCFG_NAME_MAX];
	char cli_socket[XCFG_PATH_MAX];
	char http_metrics[XCFG_ADDR_MAX];	/* "" = off */
	char uplinks[4][IF_NAMESIZE];
	unsigned n_uplinks;

	uint32_t startup_hold_ms;
	uint32_t mac_aging_ms;
	uint32_t df_wait_ms;		/* default for ESes */

	struct xcfg_bd *bds;
	unsigned n_bds;
	struct xcfg_es *es;
	unsigned n_es;
	struct xcfg_health health;
};

/* Parse and validate FILE. On success *out is filled (free with xcfg_free)
 * and 0 is returned; on failure -EINVAL (or -errno for I/O) is returned and
 * err holds the first error, "FILE:LINE: field: message". */
int xcfg_load(const char *path, struct xcfg *out, char err[XCFG_ERR_MAX]);
/* Same, from a string (name is used in messages). */
int xcfg_load_string(const char *name, const char *text, struct xcfg *out,
		     char err[XCFG_ERR_MAX]);
void xcfg_free(struct xcfg *cfg);

const struct xcfg_bd *xcfg_bd_find(const struct xcfg *cfg, const char *name);
const struct xcfg_bd *xcfg_bd_by_vni(const struct xcfg *cfg, uint32_t vni);
const struct xcfg_es *xcfg_es_find(const struct xcfg *cfg, const char *name);
const struct xcfg_es *xcfg_es_by_port(const struct xcfg *cfg, const char *ifname);

bool xcfg_bd_equal(const struct xcfg_bd *a, const struct xcfg_bd *b);
bool xcfg_es_equal(const struct xcfg_es *a, const struct xcfg_es *b);
bool xcfg_health_equal(const struct xcfg_health *a, const struct xcfg_health *b);

/* What a reload must do. Global fields (VTEP, router id, GoBGP address, pin
 * root, instance, CLI socket) cannot change without a restart. */
enum xcfg_change { XCFG_ADDED = 1, XCFG_REMOVED = 2, XCFG_CHANGED = 3 };
struct xcfg_diff_ops {
	void (*bd)(void *ctx, enum xcfg_change what, const struct xcfg_bd *old,
		   const struct xcfg_bd *new);
	void (*es)(void *ctx, enum xcfg_change what, const struct xcfg_es *old,
		   const struct xcfg_es *new);
	void (*timers)(void *ctx, const struct xcfg *old, const struct xcfg *new);
	void (*health)(void *ctx, const struct xcfg_health *old, const struct xcfg_health *new);
};
/* Returns -EPERM (and names the field in err) when a restart-only field
 * changed; otherwise calls ops for each difference and returns the number
 * of differences. Removals are reported before additions. */
int xcfg_diff(const struct xcfg *old, const struct xcfg *new, const struct xcfg_diff_ops *ops,
	      void *ctx, char err[XCFG_ERR_MAX]);

const char *xcfg_df_alg_name(uint8_t alg);
const char *xcfg_es_mode_name(uint8_t mode);
int xcfg_rt_fmt(const struct xcfg_rt *rt, char *buf, unsigned len);

#endif
