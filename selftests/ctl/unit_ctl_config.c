// SPDX-License-Identifier: GPL-2.0
/* xevpnd configuration: the sample file parses, every error case is
 * rejected with its exact "FILE:LINE: field: message", reload diffs. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

#define HEAD                                  \
	"vtep-address: 192.0.2.1\n"           \
	"asn: 65000\n"                        \
	"uplinks: [eth0]\n"                   \
	"bd:\n"                               \
	"  - name: bd100\n"                   \
	"    vni: 100\n"                      \
	"    access-ports: [srv1, host1]\n"	/* lines 1-7 */

static const char *good =
	HEAD
	"    bvi: bvi100\n"
	"es:\n"
	"  - name: server1\n"
	"    esi: 00:11:22:33:44:55:00:00:00:01\n"
	"    port: srv1\n";

Test(config, sample_file_parses)
{
	struct xcfg c;
	char err[XCFG_ERR_MAX];
	int rc = xcfg_load("etc/xevpnd.conf.example", &c, err);

	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_eq(c.n_bds, 1);
	cr_assert_eq(c.bds[0].vni, 100);
	cr_assert_eq(c.bds[0].n_ports, 2);
	cr_assert_eq(c.bds[0].ports[1].vlan, 100);
	cr_assert_eq(c.n_es, 1);
	cr_assert_eq(c.es[0].df_wait_ms, 3000);
	cr_assert_eq(c.health.n_groups, 2);
	cr_assert_str_eq(c.health.groups[1].ifname, "bvi100");
	cr_assert_eq(c.health.keys[0].len, 32);
	xcfg_free(&c);
}

Test(config, defaults_and_values)
{
	struct xcfg c;
	char err[XCFG_ERR_MAX], ip[IP4_STR_LEN], rt[32];

	cr_assert_eq(xcfg_load_string("t.conf", good, &c, err), 0, "%s", err);
	cr_assert_str_eq(ip4_fmt(c.router_id, ip), "192.0.2.1");
	cr_assert_str_eq(c.gobgp_api, "127.0.0.1:50051");
	cr_assert_str_eq(c.instance, "xevpn");
	cr_assert_eq(c.http_metrics[0], 0, "metrics off by default");
	cr_assert_eq(c.es[0].df_alg, XCFG_DF_MODULO);
	cr_assert_eq(c.es[0].esi.b[0], 0);
	cr_assert_eq(c.es[0].esi.b[9], 1);
	cr_assert_eq(c.bds[0].n_import, 1);
	xcfg_rt_fmt(&c.bds[0].import[0], rt, sizeof(rt));
	cr_assert_str_eq(rt, "65000:100", "auto RT is ASN:VNI");
	cr_assert_eq(c.health.enabled, false);
	xcfg_free(&c);
}

Test(config, esi_type1_and_type3_built)
{
	struct xcfg c;
	char err[XCFG_ERR_MAX], esi[ESI_STR_LEN];
	const char *y = HEAD
		"es:\n"
		"  - esi: { type: 1, lacp-system-mac: 02:00:00:00:00:aa, lacp-port-key: 258 }\n"
		"    port: srv1\n"
		"  - esi: { type: 3, system-mac: 02:00:00:00:00:bb, discriminator: 0x010203 }\n"
		"    port: host1\n"
		"    df: { algorithm: preference, preference: 200, dont-preempt: true,\n"
		"          peers: [ { vtep: 192.0.2.2, preference: 100 } ] }\n";

	cr_assert_eq(xcfg_load_string("t.conf", y, &c, err), 0, "%s", err);
	cr_assert_str_eq(esi_fmt(&c.es[0].esi, esi), "01:02:00:00:00:00:aa:01:02:00");
	cr_assert_str_eq(esi_fmt(&c.es[1].esi, esi), "03:02:00:00:00:00:bb:01:02:03");
	cr_assert_str_eq(c.es[0].name, "01:02:00:00:00:00:aa:01:02:00", "unnamed ES is named by its ESI");
	cr_assert_eq(c.es[1].df_alg, XCFG_DF_PREF);
	cr_assert_eq(c.es[1].df_pref, 200);
	cr_assert(c.es[1].df_dont_preempt);
	cr_assert_eq(c.es[1].n_peers, 1);
	cr_assert_eq(c.es[1].peers[0].pref, 100);
	xcfg_free(&c);
}

struct bad {
	const char *name;
	const char *yaml;
	const char *msg;	/* exact error */
};

static const struct bad bad_cases[] = {
	{ "yaml syntax", "vtep-address: [\n", "t.conf:2: yaml: did not find expected node content while parsing a flow node" },
	{ "empty file", "", "t.conf:1: (file): is empty" },
	{ "missing vtep", "uplinks: [eth0]\n", "t.conf:1: vtep-address: is required" },
	{ "ipv6 vtep", "vtep-address: 2001:db8::1\n", "t.conf:1: vtep-address: '2001:db8::1': only IPv4 underlay addresses are supported" },
	{ "bad vtep", "vtep-address: 192.0.2.300\n", "t.conf:1: vtep-address: '192.0.2.300' is not an IPv4 address" },
	{ "unknown top", "vtep-address: 192.0.2.1\nfoo: 1\n", "t.conf:2: foo: unknown field" },
	{ "duplicate key", "vtep-address: 192.0.2.1\nvtep-address: 192.0.2.2\n", "t.conf:2: : duplicate field 'vtep-address' (first at line 1)" },
	{ "no uplinks", "vtep-address: 192.0.2.1\n", "t.conf:1: uplinks: is required (the underlay ports)" },
	{ "no bd", "vtep-address: 192.0.2.1\nuplinks: [eth0]\n", "t.conf:1: bd: at least one bridge domain is required" },
	{ "bad ifname", "vtep-address: 192.0.2.1\nuplinks: [averyveryverylongname]\n", "t.conf:2: uplinks[0]: 'averyveryverylongname' is not a valid interface name" },
	{ "bad gobgp", "vtep-address: 192.0.2.1\ngobgp-api: localhost\n", "t.conf:2: gobgp-api: 'localhost' is not host:port" },
	{ "relative bpffs", "vtep-address: 192.0.2.1\nbpffs: sys/fs/bpf\n", "t.conf:2: bpffs: must be an absolute path" },
	{ "instance slash", "vtep-address: 192.0.2.1\ninstance: a/b\n", "t.conf:2: instance: 'a/b' must be a plain name (it names the pin directory)" },
	{ "bad metrics", "vtep-address: 192.0.2.1\nhttp-metrics: 127.0.0.1:99999\n", "t.conf:2: http-metrics: '127.0.0.1:99999': port must be 1..65535" },
	{ "duration no unit", "vtep-address: 192.0.2.1\ntimers: { startup-hold: 5 }\n", "t.conf:2: timers.startup-hold: '5' needs a unit (ms, s, m or h)" },
	{ "duration bad unit", "vtep-address: 192.0.2.1\ntimers: { mac-aging: 5d }\n", "t.conf:2: timers.mac-aging: '5d' has an unknown unit 'd' (ms, s, m or h)" },
	{ "unknown timer", "vtep-address: 192.0.2.1\ntimers:\n  hold: 1s\n", "t.conf:3: timers.hold: unknown field" },
	{ "bd not list", "vtep-address: 192.0.2.1\nbd: 100\n", "t.conf:2: bd: expected a list, got a scalar" },
	{ "bd missing vni", "vtep-address: 192.0.2.1\nbd:\n  - name: x\n    access-ports: [a]\n", "t.conf:3: bd[0]: needs 'vni'" },
	{ "vni range", "vtep-address: 192.0.2.1\nbd:\n  - vni: 16777216\n", "t.conf:3: bd[0].vni: 16777216 is out of range 1..16777215" },
	{ "vni text", "vtep-address: 192.0.2.1\nbd:\n  - vni: ten\n", "t.conf:3: bd[0].vni: 'ten' is not a number" },
	{ "bd no ports", "vtep-address: 192.0.2.1\nbd:\n  - vni: 10\n", "t.conf:3: bd[0]: needs 'access-ports'" },
	{ "vlan range", "vtep-address: 192.0.2.1\nbd:\n  - vni: 10\n    access-ports: [{ port: a, vlan: 4095 }]\n", "t.conf:4: bd[0].access-ports[0].vlan: 4095 is out of range 1..4094" },
	{ "port missing", "vtep-address: 192.0.2.1\nbd:\n  - vni: 10\n    access-ports: [{ vlan: 5 }]\n", "t.conf:4: bd[0].access-ports[0]: needs 'port'" },
	{ "bad rt", "vtep-address: 192.0.2.1\nbd:\n  - vni: 10\n    route-targets: [65000]\n", "t.conf:4: bd[0].route-targets[0]: '65000' is not a route target (ASN:NN, IPv4:NN or auto)" },
	{ "auto rt no asn", "vtep-address: 192.0.2.1\nuplinks: [eth0]\nbd:\n  - vni: 10\n    access-ports: [a]\n", "t.conf:4: bd[0].route-targets.import: 'auto' needs the top-level 'asn'" },
	{ "dup vni", HEAD "  - vni: 100\n    access-ports: [x]\n", "t.conf:8: bd[1].vni: VNI 100 already used by bd bd100 (line 5)" },
	{ "rd collision", HEAD "  - vni: 65636\n    access-ports: [x]\n", "t.conf:8: bd[1].vni: VNI 65636 and 100 (bd bd100) share their low 16 bits, which make the route distinguisher" },
	{ "vni low bits zero", "vtep-address: 192.0.2.1\nasn: 1\nuplinks: [eth0]\nbd:\n  - vni: 65536\n    access-ports: [a]\n", "t.conf:5: bd[0].vni: VNI 65536: low 16 bits 0 are reserved (they make the route distinguisher)" },
	{ "dup port", HEAD "  - vni: 200\n    access-ports: [srv1]\n", "t.conf:8: bd[1].access-ports[0]: srv1 vlan 0 is already in bd bd100" },
	{ "access is uplink", HEAD "  - vni: 200\n    access-ports: [eth0]\n", "t.conf:8: bd[1].access-ports[0]: eth0 is an uplink" },
	{ "bvi is port", HEAD "    bvi: srv1\n", "t.conf:5: bd[0].bvi: srv1 is already an uplink or access port" },
	{ "es missing esi", HEAD "es:\n  - port: srv1\n", "t.conf:9: es[0]: needs 'esi'" },
	{ "es missing port", HEAD "es:\n  - esi: 00:11:22:33:44:55:00:00:00:01\n", "t.conf:9: es[0]: needs 'port'" },
	{ "esi short", HEAD "es:\n  - esi: 00:11:22\n", "t.conf:9: es[0].esi: '00:11:22' is not an ESI (10 octets, 00:11:22:33:44:55:66:77:88:99)" },
	{ "esi zero", HEAD "es:\n  - esi: 00:00:00:00:00:00:00:00:00:00\n", "t.conf:9: es[0].esi: the all-zero ESI means single-homed and cannot name a segment" },
	{ "esi max", HEAD "es:\n  - esi: ff:ff:ff:ff:ff:ff:ff:ff:ff:ff\n", "t.conf:9: es[0].esi: the all-ones ESI (MAX-ESI) is reserved" },
	{ "esi bad type", HEAD "es:\n  - esi: 07:11:22:33:44:55:00:00:00:01\n", "t.conf:9: es[0].esi: ESI type 7 is not defined (0..5)" },
	{ "type1 no mac", HEAD "es:\n  - esi: { type: 1, lacp-port-key: 1 }\n", "t.conf:9: es[0].esi: type 1 ESI needs lacp-system-mac" },
	{ "type1 no key", HEAD "es:\n  - esi: { type: 1, lacp-system-mac: 02:00:00:00:00:01 }\n", "t.conf:9: es[0].esi: type 1 ESI needs lacp-port-key" },
	{ "type1 mcast mac", HEAD "es:\n  - esi: { type: 1, lacp-system-mac: 01:00:00:00:00:01 }\n", "t.conf:9: es[0].esi.lacp-system-mac: 01:00:00:00:00:01 must be a non-zero unicast MAC" },
	{ "type1 key range", HEAD "es:\n  - esi: { type: 1, lacp-port-key: 65536 }\n", "t.conf:9: es[0].esi.lacp-port-key: 65536 is out of range 0..65535" },
	{ "type3 no disc", HEAD "es:\n  - esi: { type: 3, system-mac: 02:00:00:00:00:01 }\n", "t.conf:9: es[0].esi: type 3 ESI needs discriminator" },
	{ "type3 no mac", HEAD "es:\n  - esi: { type: 3, discriminator: 1 }\n", "t.conf:9: es[0].esi: type 3 ESI needs system-mac" },
	{ "type3 disc range", HEAD "es:\n  - esi: { type: 3, discriminator: 16777216 }\n", "t.conf:9: es[0].esi.discriminator: 16777216 is out of range 0..16777215" },
	{ "type mixed", HEAD "es:\n  - esi: { type: 3, system-mac: 02:00:00:00:00:01, discriminator: 1, lacp-port-key: 2 }\n", "t.conf:9: es[0].esi: type 3 ESI takes system-mac and discriminator only" },
	{ "type 0 map", HEAD "es:\n  - esi: { type: 0 }\n", "t.conf:9: es[0].esi: type 0 ESI is given as a string of 10 octets" },
	{ "type 2", HEAD "es:\n  - esi: { type: 2 }\n", "t.conf:9: es[0].esi: ESI type 2 cannot be built from configuration (use 0, 1 or 3)" },
	{ "esi no type", HEAD "es:\n  - esi: { system-mac: 02:00:00:00:00:01 }\n", "t.conf:9: es[0].esi: needs 'type' (0, 1 or 3) or an ESI string" },
	{ "es port unknown", HEAD "es:\n  - esi: 00:11:22:33:44:55:00:00:00:01\n    port: eth9\n", "t.conf:9: es[0].port: eth9 is not an access port of any bd" },
	{ "es dup esi", HEAD "es:\n  - esi: 00:11:22:33:44:55:00:00:00:01\n    port: srv1\n  - esi: 00:11:22:33:44:55:00:00:00:01\n    port: host1\n",
	  "t.conf:11: es[1].esi: 00:11:22:33:44:55:00:00:00:01 is already used by es 00:11:22:33:44:55:00:00:00:01 (line 9)" },
	{ "es dup port", HEAD "es:\n  - esi: 00:11:22:33:44:55:00:00:00:01\n    port: srv1\n  - esi: 00:11:22:33:44:55:00:00:00:02\n    port: srv1\n",
	  "t.conf:11: es[1].port: srv1 is already in es 00:11:22:33:44:55:00:00:00:01 (line 9)" },
	{ "es bad mode", HEAD "es:\n  - esi: 00:11:22:33:44:55:00:00:00:01\n    mode: active\n", "t.conf:10: es[0].mode: 'active' is not a mode (all-active or single-active)" },
	{ "df bad alg", HEAD "es:\n  - esi: 00:11:22:33:44:55:00:00:00:01\n    df: { algorithm: random }\n", "t.conf:10: es[0].df.algorithm: 'random' is not a DF algorithm (modulo, hrw or preference)" },
	{ "df pref with modulo", HEAD "es:\n  - esi: 00:11:22:33:44:55:00:00:00:01\n    df: { algorithm: hrw, preference: 5 }\n", "t.conf:10: es[0].df: preference, dont-preempt and peers apply only to algorithm preference" },
	{ "df pref range", HEAD "es:\n  - esi: 00:11:22:33:44:55:00:00:00:01\n    df: { algorithm: preference, preference: 70000 }\n", "t.conf:10: es[0].df.preference: 70000 is out of range 0..65535" },
	{ "df dp bool", HEAD "es:\n  - esi: 00:11:22:33:44:55:00:00:00:01\n    df: { algorithm: preference, dont-preempt: maybe }\n", "t.conf:10: es[0].df.dont-preempt: expected true or false" },
	{ "df wait unit", HEAD "es:\n  - esi: 00:11:22:33:44:55:00:00:00:01\n    df: { wait: 3 }\n", "t.conf:10: es[0].df.wait: '3' needs a unit (ms, s, m or h)" },
	{ "df peer self", HEAD "es:\n  - esi: 00:11:22:33:44:55:00:00:00:01\n    port: srv1\n    df: { algorithm: preference, peers: [ { vtep: 192.0.2.1 } ] }\n", "t.conf:9: es[0].df.peers[0].vtep: is this leaf's own VTEP (set df.preference instead)" },
	{ "df peer no vtep", HEAD "es:\n  - esi: 00:11:22:33:44:55:00:00:00:01\n    df: { algorithm: preference, peers: [ { preference: 1 } ] }\n", "t.conf:10: es[0].df.peers[0]: needs 'vtep'" },
	{ "health no keys", HEAD "health: { interval: 100ms }\n", "t.conf:1: health.keys: at least one key is required" },
	{ "health short key", HEAD "health:\n  keys: [ { id: 1, secret: 0011 } ]\n", "t.conf:9: health.keys[0].secret: must be 16..64 octets in hex" },
	{ "health key both", HEAD "health:\n  keys: [ { id: 1, secret: 0011, file: /x } ]\n", "t.conf:9: health.keys[0]: needs exactly one of 'secret' or 'file'" },
	{ "health key file", HEAD "health:\n  keys: [ { id: 1, file: /nonexistent/k } ]\n", "t.conf:9: health.keys[0].file: cannot read /nonexistent/k: No such file or directory" },
	{ "health miss zero", HEAD "health:\n  miss: 0\n", "t.conf:9: health.miss: 0 is out of range 1..1000" },
	{ "health group both", HEAD "health:\n  groups: [ { es: a, bd: b } ]\n", "t.conf:9: health.groups[0]: needs exactly one of 'es' or 'bd'" },
	{ "health group es", HEAD "health:\n  keys: [ { id: 1, secret: 000102030405060708090a0b0c0d0e0f } ]\n  groups: [ { es: nope } ]\n", "t.conf:1: health.groups[0]: es 'nope' is not defined" },
	{ "health group no bvi", HEAD "health:\n  keys: [ { id: 1, secret: 000102030405060708090a0b0c0d0e0f } ]\n  groups: [ { bd: bd100 } ]\n", "t.conf:1: health.groups[0]: needs 'interface' (bd bd100 has no bvi)" },
};

#define N_BAD (sizeof(bad_cases) / sizeof(bad_cases[0]))
static int bad_idx[N_BAD];

/* Criterion re-executes the binary per test: pass an index, not pointers. */
ParameterizedTestParameters(config, errors)
{
	for (unsigned i = 0; i < N_BAD; i++)
		bad_idx[i] = (int)i;
	return cr_make_param_array(int, bad_idx, N_BAD);
}

ParameterizedTest(int *idx, config, errors)
{
	const struct bad *b = &bad_cases[*idx];
	struct xcfg c;
	char err[XCFG_ERR_MAX];
	int rc = xcfg_load_string("t.conf", b->yaml, &c, err);

	cr_assert_neq(rc, 0, "%s: accepted", b->name);
	cr_assert_str_eq(err, b->msg, "%s", b->name);
	cr_assert_null(c.bds, "%s: nothing left allocated", b->name);
}

Test(config, missing_file)
{
	struct xcfg c;
	char err[XCFG_ERR_MAX];

	cr_assert_lt(xcfg_load("/nonexistent/xevpnd.conf", &c, err), 0);
	cr_assert_str_eq(err, "/nonexistent/xevpnd.conf: No such file or directory");
}

struct diff_log {
	char s[512];
};

static void d_bd(void *ctx, enum xcfg_change w, const struct xcfg_bd *o, const struct xcfg_bd *n)
{
	struct diff_log *l = ctx;
	size_t len = strlen(l->s);

	snprintf(l->s + len, sizeof(l->s) - len, "bd %s %d;", n ? n->name : o->name, w);
}

static void d_es(void *ctx, enum xcfg_change w, const struct xcfg_es *o, const struct xcfg_es *n)
{
	struct diff_log *l = ctx;
	size_t len = strlen(l->s);

	snprintf(l->s + len, sizeof(l->s) - len, "es %s %d;", n ? n->name : o->name, w);
}

static void d_timers(void *ctx, const struct xcfg *o, const struct xcfg *n)
{
	strcat(((struct diff_log *)ctx)->s, "timers;");
}

Test(config, diff_reports_only_differences)
{
	static const struct xcfg_diff_ops ops = { .bd = d_bd, .es = d_es, .timers = d_timers };
	struct xcfg a, b;
	char err[XCFG_ERR_MAX];
	struct diff_log log = { "" };
	const char *y2 = HEAD
		"    bvi: bvi100\n"
		"  - name: bd200\n"
		"    vni: 200\n"
		"    access-ports: [srv2]\n"
		"es:\n"
		"  - name: server1\n"
		"    esi: 00:11:22:33:44:55:00:00:00:01\n"
		"    port: srv1\n"
		"    df: { algorithm: hrw }\n"
		"timers: { mac-aging: 60s }\n";

	cr_assert_eq(xcfg_load_string("a", good, &a, err), 0, "%s", err);
	cr_assert_eq(xcfg_load_string("b", good, &b, err), 0, "%s", err);
	cr_assert_eq(xcfg_diff(&a, &b, &ops, &log, err), 0, "identical files: no difference");
	cr_assert_str_empty(log.s);
	xcfg_free(&b);
	cr_assert_eq(xcfg_load_string("b", y2, &b, err), 0, "%s", err);
	cr_assert_eq(xcfg_diff(&a, &b, &ops, &log, err), 3);
	cr_assert_str_eq(log.s, "bd bd200 1;es server1 3;timers;");
	log.s[0] = 0;
	cr_assert_eq(xcfg_diff(&b, &a, &ops, &log, err), 3);
	cr_assert_str_eq(log.s, "bd bd200 2;es server1 3;timers;");
	xcfg_free(&b);
	cr_assert_eq(xcfg_load_string("b", "vtep-address: 192.0.2.9\nasn: 65000\nuplinks: [eth0]\n"
				      "bd:\n  - name: bd100\n    vni: 100\n    access-ports: [srv1, host1]\n",
				      &b, err), 0, "%s", err);
	cr_assert_eq(xcfg_diff(&a, &b, &ops, &log, err), -EPERM);
	cr_assert_str_eq(err, "b: vtep-address changed: needs a restart");
	xcfg_free(&a);
	xcfg_free(&b);
}
