// SPDX-License-Identifier: GPL-2.0
/* YAML configuration parser and validator (libyaml document API: every node
 * carries its start mark, which gives the line for error messages). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

struct pctx {
	const char *file;
	yaml_document_t *doc;
	struct xcfg *cfg;
	char *err;
	bool failed;
};

#define PATH_LEN 128

/* Record the first error only: later ones are usually consequences. */
static __attribute__((format(printf, 4, 5)))
int fail(struct pctx *p, int line, const char *field, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return -EINVAL;
	p->failed = true;
	n = snprintf(p->err, XCFG_ERR_MAX, "%s:%d: %s: ", p->file, line, field);
	if (n < 0 || n >= XCFG_ERR_MAX)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(p->err + n, XCFG_ERR_MAX - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int line_of(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 0;
}

static yaml_node_t *node(struct pctx *p, int id)
{
	return yaml_document_get_node(p->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static const char *kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "empty";
	}
}

static int want(struct pctx *p, yaml_node_t *n, yaml_node_type_t t, const char *path)
{
	static const char *names[] = {
		[YAML_SCALAR_NODE] = "a value", [YAML_SEQUENCE_NODE] = "a list",
		[YAML_MAPPING_NODE] = "a mapping",
	};

	if (n->type == t)
		return 0;
	return fail(p, line_of(n), path, "expected %s, got %s", names[t], kind_name(n));
}

/* Iterate a mapping's pairs, rejecting duplicate keys (YAML allows them to
 * parse, but the later one silently winning is a classic config bug). */
typedef int (*pair_fn)(struct pctx *p, const char *key, yaml_node_t *val, const char *path,
		       void *arg);

static int each_pair(struct pctx *p, yaml_node_t *map, const char *path, pair_fn fn, void *arg)
{
	yaml_node_pair_t *pair;
	int rc;

	if ((rc = want(p, map, YAML_MAPPING_NODE, path)))
		return rc;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node(p, pair->key), *v = node(p, pair->value);
		const char *key = scalar(k);
		char sub[PATH_LEN];

		if (!key)
			return fail(p, line_of(k), path, "keys must be plain names");
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
			const char *prev = scalar(node(p, q->key));

			if (prev && !strcmp(prev, key))
				return fail(p, line_of(k), path, "duplicate field '%s' (first at line %d)",
					    key, line_of(node(p, q->key)));
		}
		if (*path)
			snprintf(sub, sizeof(sub), "%s.%s", path, key);
		else
			snprintf(sub, sizeof(sub), "%s", key);
		if ((rc = fn(p, key, v, sub, arg)))
			return rc;
	}
	return 0;
}

static int unknown(struct pctx *p, yaml_node_t *v, const char *path)
{
	return fail(p, line_of(v), path, "unknown field");
}

static int get_str(struct pctx *p, yaml_node_t *n, const char *path, char *out, size_t max)
{
	const char *s = scalar(n);

	if (!s)
		return fail(p, line_of(n), path, "expected a value, got %s", kind_name(n));
	if (!*s)
		return fail(p, line_of(n), path, "must not be empty");
	if (strlen(s) >= max)
		return fail(p, line_of(n), path, "too long (max %zu characters)", max - 1);
	strcpy(out, s);
	return 0;
}

static int get_ifname(struct pctx *p, yaml_node_t *n, const char *path, char out[IF_NAMESIZE])
{
	const char *s = scalar(n);

	if (!s)
		return fail(p, line_of(n), path, "expected an interface name, got %s", kind_name(n));
	if (!*s || strlen(s) >= IF_NAMESIZE || strchr(s, '/') || strchr(s, ' ') || strchr(s, ':'))
		return fail(p, line_of(n), path, "'%s' is not a valid interface name", s);
	strcpy(out, s);
	return 0;
}

static int get_u32(struct pctx *p, yaml_node_t *n, const char *path, uint32_t min, uint32_t max,
		   uint32_t *out)
{
	const char *s = scalar(n);
	unsigned long long v;
	char *end;

	if (!s)
		return fail(p, line_of(n), path, "expected a number, got %s", kind_name(n));
	errno = 0;
	v = strtoull(s, &end, 0);
	if (!*s || *end || errno || *s == '-')
		return fail(p, line_of(n), path, "'%s' is not a number", s);
	if (v < min || v > max)
		return fail(p, line_of(n), path, "%llu is out of range %u..%u", v, min, max);
	*out = (uint32_t)v;
	return 0;
}

/* Durations carry their unit: "250ms", "3s", "5m", "1h"; bare "0" is allowed. */
static int get_ms(struct pctx *p, yaml_node_t *n, const char *path, uint32_t max_ms, uint32_t *out)
{
	const char *s = scalar(n);
	unsigned long long v, mult;
	char *end;

	if (!s)
		return fail(p, line_of(n), path, "expected a duration, got %s", kind_name(n));
	errno = 0;
	v = strtoull(s, &end, 10);
	if (!*s || end == s || errno || *s == '-')
		return fail(p, line_of(n), path, "'%s' is not a duration (e.g. 250ms, 3s, 5m)", s);
	if (!strcmp(end, "ms"))
		mult = 1;
	else if (!strcmp(end, "s"))
		mult = 1000;
	else if (!strcmp(end, "m"))
		mult = 60000;
	else if (!strcmp(end, "h"))
		mult = 3600000;
	else if (!*end && v == 0)
		mult = 1;
	else if (!*end)
		return fail(p, line_of(n), path, "'%s' needs a unit (ms, s, m or h)", s);
	else
		return fail(p, line_of(n), path, "'%s' has an unknown unit '%s' (ms, s, m or h)", s, end);
	if (v > max_ms / mult)
		return fail(p, line_of(n), path, "'%s' is too long (max %ums)", s, max_ms);
	*out = (uint32_t)(v * mult);
	return 0;
}

static int get_bool(struct pctx *p, yaml_node_t *n, const char *path, bool *out)
{
	const char *s = scalar(n);

	if (s && (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")))
		*out = true;
	else if (s && (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")))
		*out = false;
	else
		return fail(p, line_of(n), path, "expected true or false");
	return 0;
}

static int get_ip4(struct pctx *p, yaml_node_t *n, const char *path, uint32_t *out)
{
	const char *s = scalar(n);

	if (!s)
		return fail(p, line_of(n), path, "expected an IPv4 address, got %s", kind_name(n));
	if (strchr(s, ':'))
		return fail(p, line_of(n), path, "'%s': only IPv4 underlay addresses are supported", s);
	if (ip4_parse(s, out))
		return fail(p, line_of(n), path, "'%s' is not an IPv4 address", s);
	return 0;
}

static int get_mac(struct pctx *p, yaml_node_t *n, const char *path, uint8_t out[MAC_LEN])
{
	const char *s = scalar(n);

	if (!s || mac_parse(s, out))
		return fail(p, line_of(n), path, "'%s' is not a MAC address (aa:bb:cc:dd:ee:ff)",
			    s ? s : kind_name(n));
	if (mac_is_zero(out) || mac_is_multicast(out))
		return fail(p, line_of(n), path, "%s must be a non-zero unicast MAC", s);
	return 0;
}

/* "host:port" or "[v6]:port"; the host part is not resolved here. */
static int get_hostport(struct pctx *p, yaml_node_t *n, const char *path, char *out, size_t max)
{
	const char *s = scalar(n), *colon;
	char *end;
	long port;

	if (!s)
		return fail(p, line_of(n), path, "expected host:port, got %s", kind_name(n));
	colon = strrchr(s, ':');
	if (!colon || colon == s)
		return fail(p, line_of(n), path, "'%s' is not host:port", s);
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return fail(p, line_of(n), path, "'%s': port must be 1..65535", s);
	return get_str(p, n, path, out, max);
}

/* ---- route targets ---- */

static int parse_rt(const char *s, struct xcfg_rt *rt)
{
	char buf[64], *colon, *end;
	unsigned long long a, b;
	uint32_t ip;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	colon = strrchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = 0;
	errno = 0;
	b = strtoull(colon + 1, &end, 10);
	if (!colon[1] || *end || errno)
		return -EINVAL;
	if (strchr(buf, '.')) {
		if (ip4_parse(buf, &ip) || b > 0xffff)
			return -EINVAL;
		*rt = (struct xcfg_rt){ .kind = XCFG_RT_IP4, .admin = ip, .assigned = (uint32_t)b };
		return 0;
	}
	a = strtoull(buf, &end, 10);
	if (!buf[0] || *end || errno)
		return -EINVAL;
	if (a <= 0xffff && b <= 0xffffffffull)
		*rt = (struct xcfg_rt){ .kind = XCFG_RT_AS2, .admin = (uint32_t)a, .assigned = (uint32_t)b };
	else if (a <= 0xffffffffull && b <= 0xffff)
		*rt = (struct xcfg_rt){ .kind = XCFG_RT_AS4, .admin = (uint32_t)a, .assigned = (uint32_t)b };
	else
		return -EINVAL;
	return 0;
}

int xcfg_rt_fmt(const struct xcfg_rt *rt, char *buf, unsigned len)
{
	char ip[IP4_STR_LEN];

	if (rt->kind == XCFG_RT_IP4)
		return snprintf(buf, len, "%s:%u", ip4_fmt(rt->admin, ip), rt->assigned);
	return snprintf(buf, len, "%u:%u", rt->admin, rt->assigned);
}

/* Marker for "auto": resolved to ASN:VNI after the whole file is read. */
#define RT_AUTO_KIND 0xff

static int get_rt_list(struct pctx *p, yaml_node_t *n, const char *path, struct xcfg_rt *out,
		       unsigned *count)
{
	const char *s = scalar(n);
	char sub[PATH_LEN];
	int rc;

	if (s && !strcmp(s, "auto")) {
		out[0] = (struct xcfg_rt){ .kind = RT_AUTO_KIND };
		*count = 1;
		return 0;
	}
	if (s) {
		if (parse_rt(s, &out[0]))
			return fail(p, line_of(n), path,
				    "'%s' is not a route target (ASN:NN, IPv4:NN or auto)", s);
		*count = 1;
		return 0;
	}
	if ((rc = want(p, n, YAML_SEQUENCE_NODE, path)))
		return rc;
	*count = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *v = node(p, *it);

		snprintf(sub, sizeof(sub), "%s[%u]", path, *count);
		if (*count == XCFG_MAX_RTS)
			return fail(p, line_of(v), sub, "too many route targets (max %d)", XCFG_MAX_RTS);
		s = scalar(v);
		if (s && !strcmp(s, "auto"))
			out[*count] = (struct xcfg_rt){ .kind = RT_AUTO_KIND };
		else if (!s || parse_rt(s, &out[*count]))
			return fail(p, line_of(v), sub,
				    "'%s' is not a route target (ASN:NN, IPv4:NN or auto)",
				    s ? s : kind_name(v));
		(*count)++;
	}
	if (!*count)
		return fail(p, line_of(n), path, "must list at least one route target");
	return 0;
}

static int rt_pair(struct pctx *p, const char *key, yaml_node_t *v, const char *path, void *arg)
{
	struct xcfg_bd *bd = arg;

	if (!strcmp(key, "import"))
		return get_rt_list(p, v, path, bd->import, &bd->n_import);
	if (!strcmp(key, "export"))
		return get_rt_list(p, v, path, bd->export, &bd->n_export);
	return unknown(p, v, path);
}

/* ---- bridge domains ---- */

static int port_pair(struct pctx *p, const char *key, yaml_node_t *v, const char *path, void *arg)
{
	struct xcfg_port *port = arg;
	uint32_t vlan;
	int rc;

	if (!strcmp(key, "port"))
		return get_ifname(p, v, path, port->ifname);
	if (!strcmp(key, "vlan")) {
		if ((rc = get_u32(p, v, path, 1, 4094, &vlan)))
			return rc;
		port->vlan = (uint16_t)vlan;
		return 0;
	}
	return unknown(p, v, path);
}

static int get_ports(struct pctx *p, yaml_node_t *n, const char *path, struct xcfg_bd *bd)
{
	char sub[PATH_LEN];
	int rc;

	if ((rc = want(p, n, YAML_SEQUENCE_NODE, path)))
		return rc;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *v = node(p, *it);
		struct xcfg_port *port = &bd->ports[bd->n_ports];

		snprintf(sub, sizeof(sub), "%s[%u]", path, bd->n_ports);
		if (bd->n_ports == XCFG_MAX_BD_PORTS)
			return fail(p, line_of(v), sub, "too many ports (max %d)", XCFG_MAX_BD_PORTS);
		if (v->type == YAML_SCALAR_NODE)
			rc = get_ifname(p, v, sub, port->ifname);
		else if ((rc = each_pair(p, v, sub, port_pair, port)) == 0 && !port->ifname[0])
			rc = fail(p, line_of(v), sub, "needs 'port'");
		if (rc)
			return rc;
		bd->n_ports++;
	}
	if (!bd->n_ports)
		return fail(p, line_of(n), path, "must list at least one access port");
	return 0;
}

static int bd_pair(struct pctx *p, const char *key, yaml_node_t *v, const char *path, void *arg)
{
	struct xcfg_bd *bd = arg;
	int rc;

	if (!strcmp(key, "name"))
		return get_str(p, v, path, bd->name, sizeof(bd->name));
	if (!strcmp(key, "vni"))
		return get_u32(p, v, path, 1, XCFG_VNI_MAX, &bd->vni);
	if (!strcmp(key, "route-targets")) {
		if (v->type == YAML_MAPPING_NODE)
			return each_pair(p, v, path, rt_pair, bd);
		/* one list (or "auto") for both directions */
		if ((rc = get_rt_list(p, v, path, bd->import, &bd->n_import)))
			return rc;
		memcpy(bd->export, bd->import, sizeof(bd->export));
		bd->n_export = bd->n_import;
		return 0;
	}
	if (!strcmp(key, "access-ports"))
		return get_ports(p, v, path, bd);
	if (!strcmp(key, "bvi"))
		return get_ifname(p, v, path, bd->bvi);
	return unknown(p, v, path);
}

/* ---- Ethernet segments ---- */

struct esi_spec {
	uint32_t type;
	bool has_type, has_lacp_mac, has_key, has_sysmac, has_disc;
	uint8_t lacp_mac[MAC_LEN], sysmac[MAC_LEN];
	uint32_t key, disc;
	int line;
	const char *path;
};

static int esi_pair(struct pctx *p, const char *key, yaml_node_t *v, const char *path, void *arg)
{
	struct esi_spec *sp = arg;

	if (!strcmp(key, "type"))
		return sp->has_type = true, get_u32(p, v, path, 0, 5, &sp->type);
	if (!strcmp(key, "lacp-system-mac"))
		return sp->has_lacp_mac = true, get_mac(p, v, path, sp->lacp_mac);
	if (!strcmp(key, "lacp-port-key"))
		return sp->has_key = true, get_u32(p, v, path, 0, 0xffff, &sp->key);
	if (!strcmp(key, "system-mac"))
		return sp->has_sysmac = true, get_mac(p, v, path, sp->sysmac);
	if (!strcmp(key, "discriminator"))
		return sp->has_disc = true, get_u32(p, v, path, 0, 0xffffff, &sp->disc);
	return unknown(p, v, path);
}

static int get_esi(struct pctx *p, yaml_node_t *n, const char *path, esi_t *out)
{
	struct esi_spec sp = { .line = line_of(n), .path = path };
	const char *s = scalar(n);
	int rc;

	if (s) {
		if (esi_parse(s, out))
			return fail(p, line_of(n), path,
				    "'%s' is not an ESI (10 octets, 00:11:22:33:44:55:66:77:88:99)", s);
		if (esi_is_zero(out))
			return fail(p, line_of(n), path, "the all-zero ESI means single-homed and cannot name a segment");
		if (esi_is_max(out))
			return fail(p, line_of(n), path, "the all-ones ESI (MAX-ESI) is reserved");
		if (out->b[0] > 5)
			return fail(p, line_of(n), path, "ESI type %u is not defined (0..5)", out->b[0]);
		return 0;
	}
	if ((rc = each_pair(p, n, path, esi_pair, &sp)))
		return rc;
	if (!sp.has_type)
		return fail(p, sp.line, path, "needs 'type' (0, 1 or 3) or an ESI string");
	switch (sp.type) {
	case ESI_TYPE_LACP:
		if (!sp.has_lacp_mac)
			return fail(p, sp.line, path, "type 1 ESI needs lacp-system-mac");
		if (!sp.has_key)
			return fail(p, sp.line, path, "type 1 ESI needs lacp-port-key");
		if (sp.has_sysmac || sp.has_disc)
			return fail(p, sp.line, path, "type 1 ESI takes lacp-system-mac and lacp-port-key only");
		esi_from_lacp(out, sp.lacp_mac, (uint16_t)sp.key);
		return 0;
	case ESI_TYPE_MAC:
		if (!sp.has_sysmac)
			return fail(p, sp.line, path, "type 3 ESI needs system-mac");
		if (!sp.has_disc)
			return fail(p, sp.line, path, "type 3 ESI needs discriminator");
		if (sp.has_lacp_mac || sp.has_key)
			return fail(p, sp.line, path, "type 3 ESI takes system-mac and discriminator only");
		esi_from_mac(out, sp.sysmac, sp.disc);
		return 0;
	case ESI_TYPE_ARBITRARY:
		return fail(p, sp.line, path, "type 0 ESI is given as a string of 10 octets");
	default:
		return fail(p, sp.line, path, "ESI type %u cannot be built from configuration (use 0, 1 or 3)",
			    sp.type);
	}
}

static int peer_pair(struct pctx *p, const char *key, yaml_node_t *v, const char *path, void *arg)
{
	struct xcfg_peer_pref *pp = arg;
	uint32_t pref;
	int rc;

	if (!strcmp(key, "vtep"))
		return get_ip4(p, v, path, &pp->vtep);
	if (!strcmp(key, "preference")) {
		if ((rc = get_u32(p, v, path, 0, 0xffff, &pref)))
			return rc;
		pp->pref = (uint16_t)pref;
		return 0;
	}
	if (!strcmp(key, "dont-preempt"))
		return get_bool(p, v, path, &pp->dont_preempt);
	return unknown(p, v, path);
}

struct df_spec {
	struct xcfg_es *es;
	bool has_pref, has_dp, has_peers;
	int line;
};

static int df_pair(struct pctx *p, const char *key, yaml_node_t *v, const char *path, void *arg)
{
	struct df_spec *ds = arg;
	struct xcfg_es *es = ds->es;
	char sub[PATH_LEN];
	uint32_t pref;
	int rc;

	if (!strcmp(key, "algorithm")) {
		const char *s = scalar(v);

		if (s && !strcmp(s, "modulo"))
			es->df_alg = XCFG_DF_MODULO;
		else if (s && !strcmp(s, "hrw"))
			es->df_alg = XCFG_DF_HRW;
		else if (s && !strcmp(s, "preference"))
			es->df_alg = XCFG_DF_PREF;
		else
			return fail(p, line_of(v), path, "'%s' is not a DF algorithm (modulo, hrw or preference)",
				    s ? s : kind_name(v));
		return 0;
	}
	if (!strcmp(key, "preference")) {
		ds->has_pref = true;
		if ((rc = get_u32(p, v, path, 0, 0xffff, &pref)))
			return rc;
		es->df_pref = (uint16_t)pref;
		return 0;
	}
	if (!strcmp(key, "dont-preempt"))
		return ds->has_dp = true, get_bool(p, v, path, &es->df_dont_preempt);
	if (!strcmp(key, "wait"))
		return get_ms(p, v, path, 3600000, &es->df_wait_ms);
	if (!strcmp(key, "peers")) {
		ds->has_peers = true;
		if ((rc = want(p, v, YAML_SEQUENCE_NODE, path)))
			return rc;
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			yaml_node_t *pv = node(p, *it);
			struct xcfg_peer_pref *pp = &es->peers[es->n_peers];

			snprintf(sub, sizeof(sub), "%s[%u]", path, es->n_peers);
			if (es->n_peers == XCFG_MAX_PEER_PREFS)
				return fail(p, line_of(pv), sub, "too many peers (max %d)", XCFG_MAX_PEER_PREFS);
			pp->pref = 32767;
			if ((rc = each_pair(p, pv, sub, peer_pair, pp)))
				return rc;
			if (!pp->vtep)
				return fail(p, line_of(pv), sub, "needs 'vtep'");
			for (unsigned i = 0; i < es->n_peers; i++)
				if (es->peers[i].vtep == pp->vtep)
					return fail(p, line_of(pv), sub, "vtep listed twice");
			es->n_peers++;
		}
		return 0;
	}
	return unknown(p, v, path);
}

static int es_pair(struct pctx *p, const char *key, yaml_node_t *v, const char *path, void *arg)
{
	struct xcfg_es *es = arg;

	if (!strcmp(key, "name"))
		return get_str(p, v, path, es->name, sizeof(es->name));
	if (!strcmp(key, "esi"))
		return get_esi(p, v, path, &es->esi);
	if (!strcmp(key, "port"))
		return get_ifname(p, v, path, es->port);
	if (!strcmp(key, "mode")) {
		const char *s = scalar(v);

		if (s && !strcmp(s, "all-active"))
			es->mode = XCFG_ES_ALL_ACTIVE;
		else if (s && !strcmp(s, "single-active"))
			es->mode = XCFG_ES_SINGLE_ACTIVE;
		else
			return fail(p, line_of(v), path, "'%s' is not a mode (all-active or single-active)",
				    s ? s : kind_name(v));
		return 0;
	}
	if (!strcmp(key, "df")) {
		struct df_spec ds = { .es = es, .line = line_of(v) };
		int rc = each_pair(p, v, path, df_pair, &ds);

		if (rc)
			return rc;
		if (es->df_alg != XCFG_DF_PREF && (ds.has_pref || ds.has_dp || ds.has_peers))
			return fail(p, ds.line, path,
				    "preference, dont-preempt and peers apply only to algorithm preference");
		return 0;
	}
	return unknown(p, v, path);
}

/* ---- health ---- */

static int hexdecode(const char *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s);

	if (n % 2 || n / 2 > max)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = -1, lo = -1;
		char c = s[2 * i], d = s[2 * i + 1];

		hi = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 :
		     (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
		lo = (d >= '0' && d <= '9') ? d - '0' : (d >= 'a' && d <= 'f') ? d - 'a' + 10 :
		     (d >= 'A' && d <= 'F') ? d - 'A' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

struct key_spec {
	struct xcfg_health_key *k;
	bool has_id;
	char secret[2 * XCFG_HEALTH_KEY_MAX + 2];
	char file[XCFG_PATH_MAX];
	int secret_line, file_line;
};

static int key_pair(struct pctx *p, const char *key, yaml_node_t *v, const char *path, void *arg)
{
	struct key_spec *ks = arg;
	uint32_t id;
	int rc;

	if (!strcmp(key, "id")) {
		if ((rc = get_u32(p, v, path, 0, 255, &id)))
			return rc;
		ks->k->id = (uint8_t)id;
		ks->has_id = true;
		return 0;
	}
	if (!strcmp(key, "secret"))
		return ks->secret_line = line_of(v), get_str(p, v, path, ks->secret, sizeof(ks->secret));
	if (!strcmp(key, "file"))
		return ks->file_line = line_of(v), get_str(p, v, path, ks->file, sizeof(ks->file));
	return unknown(p, v, path);
}

static int load_key(struct pctx *p, struct key_spec *ks, const char *path)
{
	char buf[2 * XCFG_HEALTH_KEY_MAX + 4];
	char sub[PATH_LEN];
	int n, fd;
	ssize_t len;

	if (ks->file[0]) {
		snprintf(sub, sizeof(sub), "%s.file", path);
		fd = open(ks->file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return fail(p, ks->file_line, sub, "cannot read %s: %s", ks->file, strerror(errno));
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len < 0)
			return fail(p, ks->file_line, sub, "cannot read %s: %s", ks->file, strerror(errno));
		buf[len] = 0;
		while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
			buf[--len] = 0;
		n = hexdecode(buf, ks->k->key, XCFG_HEALTH_KEY_MAX);
		if (n < 16)
			return fail(p, ks->file_line, sub, "%s must hold 16..64 octets in hex", ks->file);
	} else {
		snprintf(sub, sizeof(sub), "%s.secret", path);
		n = hexdecode(ks->secret, ks->k->key, XCFG_HEALTH_KEY_MAX);
		if (n < 16)
			return fail(p, ks->secret_line, sub, "must be 16..64 octets in hex");
	}
	ks->k->len = (uint8_t)n;
	return 0;
}

static int group_pair(struct pctx *p, const char *key, yaml_node_t *v, const char *path, void *arg)
{
	struct xcfg_health_group *g = arg;
	uint32_t prio;
	int rc;

	if (!strcmp(key, "name"))
		return get_str(p, v, path, g->name, sizeof(g->name));
	if (!strcmp(key, "es"))
		return get_str(p, v, path, g->es, sizeof(g->es));
	if (!strcmp(key, "bd"))
		return get_str(p, v, path, g->bd, sizeof(g->bd));
	if (!strcmp(key, "interface"))
		return get_ifname(p, v, path, g->ifname);
	if (!strcmp(key, "priority")) {
		if ((rc = get_u32(p, v, path, 0, 0xffff, &prio)))
			return rc;
		g->priority = (uint16_t)prio;
		return 0;
	}
	return unknown(p, v, path);
}

static int health_pair(struct pctx *p, const char *key, yaml_node_t *v, const char *path, void *arg)
{
	struct xcfg_health *h = arg;
	char sub[PATH_LEN];
	int rc;

	if (!strcmp(key, "enabled"))
		return get_bool(p, v, path, &h->enabled);
	if (!strcmp(key, "interval"))
		return get_ms(p, v, path, 60000, &h->interval_ms);
	if (!strcmp(key, "miss"))
		return get_u32(p, v, path, 1, 1000, &h->miss);
	if (!strcmp(key, "rise"))
		return get_u32(p, v, path, 1, 1000, &h->rise);
	if (!strcmp(key, "fall"))
		return get_u32(p, v, path, 1, 1000, &h->fall);
	if (!strcmp(key, "cooldown"))
		return get_ms(p, v, path, 3600000, &h->cooldown_ms);
	if (!strcmp(key, "self-fence-deadline"))
		return get_ms(p, v, path, 3600000, &h->self_fence_ms);
	if (!strcmp(key, "evpn-id"))
		return get_str(p, v, path, h->evpn_id, sizeof(h->evpn_id));
	if (!strcmp(key, "keys")) {
		if ((rc = want(p, v, YAML_SEQUENCE_NODE, path)))
			return rc;
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			yaml_node_t *kv = node(p, *it);
			struct key_spec ks = { .k = &h->keys[h->n_keys] };

			snprintf(sub, sizeof(sub), "%s[%u]", path, h->n_keys);
			if (h->n_keys == XCFG_MAX_HEALTH_KEYS)
				return fail(p, line_of(kv), sub, "too many keys (max %d slots)",
					    XCFG_MAX_HEALTH_KEYS);
			if ((rc = each_pair(p, kv, sub, key_pair, &ks)))
				return rc;
			if (!ks.has_id)
				return fail(p, line_of(kv), sub, "needs 'id'");
			if (!ks.secret[0] == !ks.file[0])
				return fail(p, line_of(kv), sub, "needs exactly one of 'secret' or 'file'");
			if ((rc = load_key(p, &ks, sub)))
				return rc;
			for (unsigned i = 0; i < h->n_keys; i++)
				if (h->keys[i].id == ks.k->id)
					return fail(p, line_of(kv), sub, "key id %u used twice", ks.k->id);
			h->n_keys++;
		}
		return 0;
	}
	if (!strcmp(key, "groups")) {
		if ((rc = want(p, v, YAML_SEQUENCE_NODE, path)))
			return rc;
		unsigned n = (unsigned)(v->data.sequence.items.top - v->data.sequence.items.start);

		h->groups = calloc(n ? n : 1, sizeof(*h->groups));
		if (!h->groups)
			return -ENOMEM;
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			yaml_node_t *gv = node(p, *it);
			struct xcfg_health_group *g = &h->groups[h->n_groups];

			snprintf(sub, sizeof(sub), "%s[%u]", path, h->n_groups);
			h->n_groups++;
			if ((rc = each_pair(p, gv, sub, group_pair, g)))
				return rc;
			if (!g->es[0] == !g->bd[0])
				return fail(p, line_of(gv), sub, "needs exactly one of 'es' or 'bd'");
			if (!g->name[0])
				snprintf(g->name, sizeof(g->name), "%s-%s", g->es[0] ? "es" : "bd",
					 g->es[0] ? g->es : g->bd);
		}
		return 0;
	}
	return unknown(p, v, path);
}

/* ---- timers and top level ---- */

static int timers_pair(struct pctx *p, const char *key, yaml_node_t *v, const char *path, void *arg)
{
	struct xcfg *c = arg;

	if (!strcmp(key, "startup-hold"))
		return get_ms(p, v, path, 3600000, &c->startup_hold_ms);
	if (!strcmp(key, "mac-aging"))
		return get_ms(p, v, path, 86400000, &c->mac_aging_ms);
	if (!strcmp(key, "df-wait"))
		return get_ms(p, v, path, 3600000, &c->df_wait_ms);
	return unknown(p, v, path);
}

struct top_seen {
	bool vtep, router_id, uplinks;
	yaml_node_t *es_seq, *bd_seq;
};

static int top_pair(struct pctx *p, const char *key, yaml_node_t *v, const char *path, void *arg)
{
	struct top_seen *seen = arg;
	struct xcfg *c = p->cfg;
	char sub[PATH_LEN];
	int rc;

	if (!strcmp(key, "vtep-address"))
		return seen->vtep = true, get_ip4(p, v, path, &c->vtep);
	if (!strcmp(key, "router-id"))
		return seen->router_id = true, get_ip4(p, v, path, &c->router_id);
	if (!strcmp(key, "asn"))
		return get_u32(p, v, path, 1, 0xffffffffu, &c->asn);
	if (!strcmp(key, "gobgp-api"))
		return get_hostport(p, v, path, c->gobgp_api, sizeof(c->gobgp_api));
	if (!strcmp(key, "bpffs")) {
		if ((rc = get_str(p, v, path, c->bpffs, sizeof(c->bpffs))))
			return rc;
		if (c->bpffs[0] != '/')
			return fail(p, line_of(v), path, "must be an absolute path");
		return 0;
	}
	if (!strcmp(key, "instance")) {
		if ((rc = get_str(p, v, path, c->instance, sizeof(c->instance))))
			return rc;
		if (strchr(c->instance, '/') || !strcmp(c->instance, ".") || !strcmp(c->instance, ".."))
			return fail(p, line_of(v), path, "'%s' must be a plain name (it names the pin directory)",
				    c->instance);
		return 0;
	}
	if (!strcmp(key, "cli-socket")) {
		if ((rc = get_str(p, v, path, c->cli_socket, 108)))
			return rc;
		if (c->cli_socket[0] != '/')
			return fail(p, line_of(v), path, "must be an absolute path");
		return 0;
	}
	if (!strcmp(key, "http-metrics")) {
		const char *s = scalar(v);

		if (s && (!strcmp(s, "off") || !strcmp(s, "false"))) {
			c->http_metrics[0] = 0;
			return 0;
		}
		return get_hostport(p, v, path, c->http_metrics, sizeof(c->http_metrics));
	}
	if (!strcmp(key, "uplinks")) {
		seen->uplinks = true;
		if (v->type == YAML_SCALAR_NODE) {
			c->n_uplinks = 1;
			return get_ifname(p, v, path, c->uplinks[0]);
		}
		if ((rc = want(p, v, YAML_SEQUENCE_NODE, path)))
			return rc;
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			snprintf(sub, sizeof(sub), "%s[%u]", path, c->n_uplinks);
			if (c->n_uplinks == 4)
				return fail(p, line_of(node(p, *it)), sub, "too many uplinks (max 4)");
			if ((rc = get_ifname(p, node(p, *it), sub, c->uplinks[c->n_uplinks])))
				return rc;
			c->n_uplinks++;
		}
		return 0;
	}
	if (!strcmp(key, "timers"))
		return each_pair(p, v, path, timers_pair, c);
	if (!strcmp(key, "health")) {
		c->health.enabled = true;
		return each_pair(p, v, path, health_pair, &c->health);
	}
	if (!strcmp(key, "bd")) {
		if ((rc = want(p, v, YAML_SEQUENCE_NODE, path)))
			return rc;
		seen->bd_seq = v;
		unsigned n = (unsigned)(v->data.sequence.items.top - v->data.sequence.items.start);

		c->bds = calloc(n ? n : 1, sizeof(*c->bds));
		if (!c->bds)
			return -ENOMEM;
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			yaml_node_t *bv = node(p, *it);
			struct xcfg_bd *bd = &c->bds[c->n_bds];

			snprintf(sub, sizeof(sub), "bd[%u]", c->n_bds);
			c->n_bds++;
			bd->line = line_of(bv);
			if ((rc = each_pair(p, bv, sub, bd_pair, bd)))
				return rc;
			if (!bd->vni)
				return fail(p, bd->line, sub, "needs 'vni'");
			if (!bd->n_ports)
				return fail(p, bd->line, sub, "needs 'access-ports'");
			if (!bd->name[0])
				snprintf(bd->name, sizeof(bd->name), "vni%u", bd->vni);
		}
		return 0;
	}
	if (!strcmp(key, "es")) {
		if ((rc = want(p, v, YAML_SEQUENCE_NODE, path)))
			return rc;
		seen->es_seq = v;
		unsigned n = (unsigned)(v->data.sequence.items.top - v->data.sequence.items.start);

		if (n > 1024)
			return fail(p, line_of(v), path, "too many Ethernet segments (max 1024)");
		c->es = calloc(n ? n : 1, sizeof(*c->es));
		if (!c->es)
			return -ENOMEM;
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			yaml_node_t *ev = node(p, *it);
			struct xcfg_es *es = &c->es[c->n_es];

			snprintf(sub, sizeof(sub), "es[%u]", c->n_es);
			c->n_es++;
			es->line = line_of(ev);
			es->df_pref = 32767;	/* RFC 9785 default preference */
			es->df_wait_ms = UINT32_MAX;	/* resolved to timers.df-wait below */
			if ((rc = each_pair(p, ev, sub, es_pair, es)))
				return rc;
			if (esi_is_zero(&es->esi))
				return fail(p, es->line, sub, "needs 'esi'");
			if (!es->port[0])
				return fail(p, es->line, sub, "needs 'port'");
			if (!es->name[0])
				esi_fmt(&es->esi, es->name);	/* the ESI names it */
		}
		return 0;
	}
	return unknown(p, v, path);
}

static bool port_eq(const struct xcfg_port *a, const struct xcfg_port *b)
{
	return !strcmp(a->ifname, b->ifname) && a->vlan == b->vlan;
}

static const struct xcfg_bd *bd_with_port(const struct xcfg *c, const char *ifname)
{
	for (unsigned i = 0; i < c->n_bds; i++)
		for (unsigned j = 0; j < c->bds[i].n_ports; j++)
			if (!strcmp(c->bds[i].ports[j].ifname, ifname))
				return &c->bds[i];
	return NULL;
}

static bool is_uplink(const struct xcfg *c, const char *ifname)
{
	for (unsigned i = 0; i < c->n_uplinks; i++)
		if (!strcmp(c->uplinks[i], ifname))
			return true;
	return false;
}

static int resolve_auto_rts(struct pctx *p, struct xcfg_bd *bd, struct xcfg_rt *rts, unsigned n,
			    const char *what, unsigned idx)
{
	char sub[PATH_LEN];

	for (unsigned i = 0; i < n; i++) {
		if (rts[i].kind != RT_AUTO_KIND)
			continue;
		if (!p->cfg->asn) {
			snprintf(sub, sizeof(sub), "bd[%u].route-targets%s", idx, what);
			return fail(p, bd->line, sub, "'auto' needs the top-level 'asn'");
		}
		/* RFC 8365 §5.1.2.1 style auto-derivation: ASN:VNI. */
		rts[i] = p->cfg->asn <= 0xffff ?
			(struct xcfg_rt){ .kind = XCFG_RT_AS2, .admin = p->cfg->asn, .assigned = bd->vni } :
			(struct xcfg_rt){ .kind = XCFG_RT_AS4, .admin = p->cfg->asn,
					  .assigned = bd->vni & 0xffff };
	}
	return 0;
}

/* Cross-object checks, run once every object has parsed. */
static int validate(struct pctx *p, struct top_seen *seen, int root_line)
{
	struct xcfg *c = p->cfg;
	char sub[PATH_LEN];
	int rc;

	if (!seen->vtep)
		return fail(p, root_line, "vtep-address", "is required");
	if (!seen->router_id)
		c->router_id = c->vtep;
	if (!seen->uplinks || !c->n_uplinks)
		return fail(p, root_line, "uplinks", "is required (the underlay ports)");
	if (!c->n_bds)
		return fail(p, root_line, "bd", "at least one bridge domain is required");

	for (unsigned i = 0; i < c->n_bds; i++) {
		struct xcfg_bd *bd = &c->bds[i];

		if (!bd->n_import && !bd->n_export) {
			/* default: auto in both directions */
			bd->import[0] = bd->export[0] = (struct xcfg_rt){ .kind = RT_AUTO_KIND };
			bd->n_import = bd->n_export = 1;
		}
		if ((rc = resolve_auto_rts(p, bd, bd->import, bd->n_import, ".import", i)) ||
		    (rc = resolve_auto_rts(p, bd, bd->export, bd->n_export, ".export", i)))
			return rc;
		if (!bd->n_import || !bd->n_export) {
			snprintf(sub, sizeof(sub), "bd[%u].route-targets", i);
			return fail(p, bd->line, sub, "needs both import and export");
		}
		if (!(bd->vni & 0xffff)) {
			snprintf(sub, sizeof(sub), "bd[%u].vni", i);
			return fail(p, bd->line, sub,
				    "VNI %u: low 16 bits 0 are reserved (they make the route distinguisher)",
				    bd->vni);
		}
		for (unsigned j = 0; j < i; j++) {
			if (c->bds[j].vni == bd->vni) {
				snprintf(sub, sizeof(sub), "bd[%u].vni", i);
				return fail(p, bd->line, sub, "VNI %u already used by bd %s (line %d)",
					    bd->vni, c->bds[j].name, c->bds[j].line);
			}
			if ((c->bds[j].vni & 0xffff) == (bd->vni & 0xffff)) {
				snprintf(sub, sizeof(sub), "bd[%u].vni", i);
				return fail(p, bd->line, sub,
					    "VNI %u and %u (bd %s) share their low 16 bits, which make the route distinguisher",
					    bd->vni, c->bds[j].vni, c->bds[j].name);
			}
			if (!strcmp(c->bds[j].name, bd->name)) {
				snprintf(sub, sizeof(sub), "bd[%u].name", i);
				return fail(p, bd->line, sub, "name '%s' already used (line %d)", bd->name,
					    c->bds[j].line);
			}
		}
		for (unsigned k = 0; k < bd->n_ports; k++) {
			struct xcfg_port *port = &bd->ports[k];

			snprintf(sub, sizeof(sub), "bd[%u].access-ports[%u]", i, k);
			if (is_uplink(c, port->ifname))
				return fail(p, bd->line, sub, "%s is an uplink", port->ifname);
			for (unsigned j = 0; j <= i; j++)
				for (unsigned l = 0; l < (j == i ? k : c->bds[j].n_ports); l++)
					if (port_eq(&c->bds[j].ports[l], port))
						return fail(p, bd->line, sub,
							    "%s vlan %u is already in bd %s",
							    port->ifname, port->vlan, c->bds[j].name);
		}
		if (bd->bvi[0]) {
			snprintf(sub, sizeof(sub), "bd[%u].bvi", i);
			if (is_uplink(c, bd->bvi) || bd_with_port(c, bd->bvi))
				return fail(p, bd->line, sub, "%s is already an uplink or access port", bd->bvi);
			for (unsigned j = 0; j < i; j++)
				if (!strcmp(c->bds[j].bvi, bd->bvi))
					return fail(p, bd->line, sub, "%s is already the bvi of bd %s", bd->bvi,
						    c->bds[j].name);
		}
	}

	if (c->df_wait_ms == UINT32_MAX)
		c->df_wait_ms = 3000;
	for (unsigned i = 0; i < c->n_es; i++) {
		struct xcfg_es *es = &c->es[i];
		char a[ESI_STR_LEN];

		if (es->df_wait_ms == UINT32_MAX)
			es->df_wait_ms = c->df_wait_ms;
		if (!bd_with_port(c, es->port)) {
			snprintf(sub, sizeof(sub), "es[%u].port", i);
			return fail(p, es->line, sub, "%s is not an access port of any bd", es->port);
		}
		for (unsigned j = 0; j < i; j++) {
			struct xcfg_es *o = &c->es[j];

			if (!esi_cmp(&o->esi, &es->esi)) {
				snprintf(sub, sizeof(sub), "es[%u].esi", i);
				return fail(p, es->line, sub, "%s is already used by es %s (line %d)",
					    esi_fmt(&es->esi, a), o->name, o->line);
			}
			if (!strcmp(o->port, es->port)) {
				snprintf(sub, sizeof(sub), "es[%u].port", i);
				return fail(p, es->line, sub, "%s is already in es %s (line %d)", es->port,
					    o->name, o->line);
			}
			if (!strcmp(o->name, es->name)) {
				snprintf(sub, sizeof(sub), "es[%u].name", i);
				return fail(p, es->line, sub, "name '%s' already used (line %d)", es->name,
					    o->line);
			}
		}
		for (unsigned k = 0; k < es->n_peers; k++)
			if (es->peers[k].vtep == c->vtep) {
				snprintf(sub, sizeof(sub), "es[%u].df.peers[%u].vtep", i, k);
				return fail(p, es->line, sub,
					    "is this leaf's own VTEP (set df.preference instead)");
			}
	}

	struct xcfg_health *h = &c->health;
	if (h->enabled) {
		if (!h->n_keys)
			return fail(p, root_line, "health.keys", "at least one key is required");
		if (!h->evpn_id[0])
			snprintf(h->evpn_id, sizeof(h->evpn_id), "%s", c->instance);
		for (unsigned i = 0; i < h->n_groups; i++) {
			struct xcfg_health_group *g = &h->groups[i];
			const struct xcfg_bd *bd = NULL;

			snprintf(sub, sizeof(sub), "health.groups[%u]", i);
			if (g->es[0]) {
				const struct xcfg_es *es = xcfg_es_find(c, g->es);

				if (!es)
					return fail(p, root_line, sub, "es '%s' is not defined", g->es);
				bd = bd_with_port(c, es->port);
			} else if (!(bd = xcfg_bd_find(c, g->bd))) {
				return fail(p, root_line, sub, "bd '%s' is not defined", g->bd);
			}
			if (!g->ifname[0]) {
				if (!bd || !bd->bvi[0])
					return fail(p, root_line, sub,
						    "needs 'interface' (bd %s has no bvi)", bd ? bd->name : "?");
				strcpy(g->ifname, bd->bvi);
			}
			for (unsigned j = 0; j < i; j++)
				if (!strcmp(h->groups[j].name, g->name))
					return fail(p, root_line, sub, "name '%s' already used", g->name);
		}
	}
	return 0;
}

static void defaults(struct xcfg *c)
{
	strcpy(c->gobgp_api, XCFG_DEFAULT_GOBGP);
	strcpy(c->bpffs, XCFG_DEFAULT_BPFFS);
	strcpy(c->instance, XCFG_DEFAULT_INSTANCE);
	strcpy(c->cli_socket, XCFG_DEFAULT_SOCKET);
	c->startup_hold_ms = 5000;
	c->mac_aging_ms = 300000;
	c->df_wait_ms = UINT32_MAX;
	c->health.interval_ms = 100;
	c->health.miss = 3;
	c->health.rise = 3;
	c->health.fall = 3;
	c->health.cooldown_ms = 1000;
}

static int load_parser(const char *name, yaml_parser_t *parser, struct xcfg *out,
		       char err[XCFG_ERR_MAX])
{
	yaml_document_t doc;
	struct pctx p = { .file = name, .doc = &doc, .cfg = out, .err = err };
	struct top_seen *seen;
	yaml_node_t *root;
	int rc;

	memset(out, 0, sizeof(*out));
	err[0] = 0;
	snprintf(out->path, sizeof(out->path), "%s", name);
	defaults(out);
	if (!yaml_parser_load(parser, &doc)) {
		snprintf(err, XCFG_ERR_MAX, "%s:%zu: yaml: %s%s%s", name,
			 parser->problem_mark.line + 1, parser->problem ? parser->problem : "syntax error",
			 parser->context ? " " : "", parser->context ? parser->context : "");
		return -EINVAL;
	}
	seen = calloc(1, sizeof(*seen));
	if (!seen) {
		yaml_document_delete(&doc);
		return -ENOMEM;
	}
	root = yaml_document_get_root_node(&doc);
	if (!root)
		rc = fail(&p, 1, "(file)", "is empty");
	else if ((rc = each_pair(&p, root, "", top_pair, seen)) == 0)
		rc = validate(&p, seen, line_of(root));
	if (rc == -ENOMEM && !p.failed)
		snprintf(err, XCFG_ERR_MAX, "%s: out of memory", name);
	free(seen);
	yaml_document_delete(&doc);
	if (rc)
		xcfg_free(out);
	return rc;
}

int xcfg_load_string(const char *name, const char *text, struct xcfg *out, char err[XCFG_ERR_MAX])
{
	yaml_parser_t parser;
	int rc;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	rc = load_parser(name, &parser, out, err);
	yaml_parser_delete(&parser);
	return rc;
}

int xcfg_load(const char *path, struct xcfg *out, char err[XCFG_ERR_MAX])
{
	yaml_parser_t parser;
	FILE *f;
	int rc;

	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		snprintf(err, XCFG_ERR_MAX, "%s: %s", path, strerror(errno));
		memset(out, 0, sizeof(*out));
		return rc;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	rc = load_parser(path, &parser, out, err);
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

void xcfg_free(struct xcfg *cfg)
{
	free(cfg->bds);
	free(cfg->es);
	free(cfg->health.groups);
	cfg->bds = NULL;
	cfg->es = NULL;
	cfg->health.groups = NULL;
	cfg->n_bds = cfg->n_es = cfg->health.n_groups = 0;
}

const struct xcfg_bd *xcfg_bd_find(const struct xcfg *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->n_bds; i++)
		if (!strcmp(cfg->bds[i].name, name))
			return &cfg->bds[i];
	return NULL;
}

const struct xcfg_bd *xcfg_bd_by_vni(const struct xcfg *cfg, uint32_t vni)
{
	for (unsigned i = 0; i < cfg->n_bds; i++)
		if (cfg->bds[i].vni == vni)
			return &cfg->bds[i];
	return NULL;
}

const struct xcfg_es *xcfg_es_find(const struct xcfg *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->n_es; i++)
		if (!strcmp(cfg->es[i].name, name))
			return &cfg->es[i];
	return NULL;
}

const struct xcfg_es *xcfg_es_by_port(const struct xcfg *cfg, const char *ifname)
{
	for (unsigned i = 0; i < cfg->n_es; i++)
		if (!strcmp(cfg->es[i].port, ifname))
			return &cfg->es[i];
	return NULL;
}

/* Equality ignores the line number: moving a block in the file is no change. */
bool xcfg_bd_equal(const struct xcfg_bd *a, const struct xcfg_bd *b)
{
	return !strcmp(a->name, b->name) && a->vni == b->vni && a->n_import == b->n_import &&
	       a->n_export == b->n_export && a->n_ports == b->n_ports && !strcmp(a->bvi, b->bvi) &&
	       !memcmp(a->import, b->import, a->n_import * sizeof(a->import[0])) &&
	       !memcmp(a->export, b->export, a->n_export * sizeof(a->export[0])) &&
	       !memcmp(a->ports, b->ports, a->n_ports * sizeof(a->ports[0]));
}

bool xcfg_es_equal(const struct xcfg_es *a, const struct xcfg_es *b)
{
	return !strcmp(a->name, b->name) && !esi_cmp(&a->esi, &b->esi) && !strcmp(a->port, b->port) &&
	       a->mode == b->mode && a->df_alg == b->df_alg && a->df_pref == b->df_pref &&
	       a->df_dont_preempt == b->df_dont_preempt && a->df_wait_ms == b->df_wait_ms &&
	       a->n_peers == b->n_peers && !memcmp(a->peers, b->peers, a->n_peers * sizeof(a->peers[0]));
}

bool xcfg_health_equal(const struct xcfg_health *a, const struct xcfg_health *b)
{
	return a->enabled == b->enabled && a->interval_ms == b->interval_ms && a->miss == b->miss &&
	       a->rise == b->rise && a->fall == b->fall && a->cooldown_ms == b->cooldown_ms &&
	       a->self_fence_ms == b->self_fence_ms && !strcmp(a->evpn_id, b->evpn_id) &&
	       a->n_keys == b->n_keys && !memcmp(a->keys, b->keys, a->n_keys * sizeof(a->keys[0])) &&
	       a->n_groups == b->n_groups &&
	       (!a->n_groups || !memcmp(a->groups, b->groups, a->n_groups * sizeof(a->groups[0])));
}

int xcfg_diff(const struct xcfg *old, const struct xcfg *new, const struct xcfg_diff_ops *ops,
	      void *ctx, char err[XCFG_ERR_MAX])
{
	int n = 0;

#define RESTART_ONLY(cond, field)                                                        \
	do {                                                                             \
		if (cond) {                                                              \
			snprintf(err, XCFG_ERR_MAX, "%s: %s changed: needs a restart",   \
				 new->path, field);                                      \
			return -EPERM;                                                   \
		}                                                                        \
	} while (0)
	RESTART_ONLY(old->vtep != new->vtep, "vtep-address");
	RESTART_ONLY(old->router_id != new->router_id, "router-id");
	RESTART_ONLY(strcmp(old->gobgp_api, new->gobgp_api), "gobgp-api");
	RESTART_ONLY(strcmp(old->bpffs, new->bpffs), "bpffs");
	RESTART_ONLY(strcmp(old->instance, new->instance), "instance");
	RESTART_ONLY(strcmp(old->cli_socket, new->cli_socket), "cli-socket");
	RESTART_ONLY(strcmp(old->http_metrics, new->http_metrics), "http-metrics");
	RESTART_ONLY(old->n_uplinks != new->n_uplinks ||
		     memcmp(old->uplinks, new->uplinks, sizeof(old->uplinks)), "uplinks");
#undef RESTART_ONLY

	/* ESes go before BDs on removal (an ES references a BD port) and after on addition. */
	for (unsigned i = 0; i < old->n_es; i++)
		if (!xcfg_es_find(new, old->es[i].name)) {
			n++;
			if (ops && ops->es)
				ops->es(ctx, XCFG_REMOVED, &old->es[i], NULL);
		}
	for (unsigned i = 0; i < old->n_bds; i++) {
		const struct xcfg_bd *nb = xcfg_bd_find(new, old->bds[i].name);

		if (!nb) {
			n++;
			if (ops && ops->bd)
				ops->bd(ctx, XCFG_REMOVED, &old->bds[i], NULL);
		}
	}
	for (unsigned i = 0; i < new->n_bds; i++) {
		const struct xcfg_bd *ob = xcfg_bd_find(old, new->bds[i].name);

		if (!ob || !xcfg_bd_equal(ob, &new->bds[i])) {
			n++;
			if (ops && ops->bd)
				ops->bd(ctx, ob ? XCFG_CHANGED : XCFG_ADDED, ob, &new->bds[i]);
		}
	}
	for (unsigned i = 0; i < new->n_es; i++) {
		const struct xcfg_es *oe = xcfg_es_find(old, new->es[i].name);

		if (!oe || !xcfg_es_equal(oe, &new->es[i])) {
			n++;
			if (ops && ops->es)
				ops->es(ctx, oe ? XCFG_CHANGED : XCFG_ADDED, oe, &new->es[i]);
		}
	}
	if (old->startup_hold_ms != new->startup_hold_ms || old->mac_aging_ms != new->mac_aging_ms ||
	    old->df_wait_ms != new->df_wait_ms) {
		n++;
		if (ops && ops->timers)
			ops->timers(ctx, old, new);
	}
	if (!xcfg_health_equal(&old->health, &new->health)) {
		n++;
		if (ops && ops->health)
			ops->health(ctx, &old->health, &new->health);
	}
	return n;
}

const char *xcfg_df_alg_name(uint8_t alg)
{
	switch (alg) {
	case XCFG_DF_MODULO: return "modulo";
	case XCFG_DF_HRW: return "hrw";
	case XCFG_DF_PREF: return "preference";
	default: return "?";
	}
}

const char *xcfg_es_mode_name(uint8_t mode)
{
	return mode == XCFG_ES_SINGLE_ACTIVE ? "single-active" : "all-active";
}
