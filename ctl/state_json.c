// SPDX-License-Identifier: GPL-2.0
#include "state_json.h"

#include <stdlib.h>
#include <string.h>

static json_t *ip_json(uint32_t ip)
{
	char b[IP4_STR_LEN];

	return json_string(ip4_fmt(ip, b));
}

static json_t *es_flags(uint32_t f)
{
	json_t *a = json_array();
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ EVPN_ES_LOCAL, "local" }, { EVPN_ES_OPER_UP, "oper-up" }, { EVPN_ES_HOLD, "hold" },
		{ EVPN_ES_ADV, "advertised" }, { EVPN_ES_DF_WAIT, "df-wait" }, { EVPN_ES_FENCED, "fenced" },
		{ EVPN_ES_UNDERLAY_DOWN, "underlay-down" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f & names[i].bit)
			json_array_append_new(a, json_string(names[i].name));
	return a;
}

static json_t *es_one(struct evpn *e, struct evpn_es *es)
{
	char esi[ESI_STR_LEN];
	json_t *o = json_object(), *vteps = json_array(), *evis = json_array(), *grp = json_array();

	json_object_set_new(o, "name", json_string(es->name));
	json_object_set_new(o, "esi", json_string(esi_fmt(&es->esi, esi)));
	json_object_set_new(o, "id", json_integer(es->id));
	json_object_set_new(o, "flags", es_flags(es->flags));
	json_object_set_new(o, "in_service", json_boolean(evpn_es_in_service(es)));
	if (es->flags & EVPN_ES_LOCAL) {
		json_object_set_new(o, "port", json_string(es->cfg.port));
		json_object_set_new(o, "ifindex", json_integer(es->ifindex));
		json_object_set_new(o, "mode", json_string(xcfg_es_mode_name(es->cfg.mode)));
		json_object_set_new(o, "df_algorithm", json_string(xcfg_df_alg_name(es->cfg.df_alg)));
		json_object_set_new(o, "df_wait_ms", json_integer(es->cfg.df_wait_ms));
		if (es->cfg.df_alg == XCFG_DF_PREF) {
			json_object_set_new(o, "df_preference", json_integer(es->cfg.df_pref));
			json_object_set_new(o, "df_dont_preempt", json_boolean(es->cfg.df_dont_preempt));
		}
	}
	for (unsigned i = 0; i < es->n_vteps; i++) {
		struct evpn_es_vtep *v = &es->vteps[i];
		json_t *vo = json_object();

		json_object_set_new(vo, "vtep", ip_json(v->ip));
		json_object_set_new(vo, "per_es_ad", json_boolean(v->flags & EVPN_ES_VTEP_AD_ES));
		json_object_set_new(vo, "es_route", json_boolean(v->flags & EVPN_ES_VTEP_ES_RT));
		json_object_set_new(vo, "per_evi_ad", json_integer(v->n_evi_ad));
		json_object_set_new(vo, "single_active", json_boolean(v->flags & EVPN_ES_VTEP_SINGLE));
		json_object_set_new(vo, "active", json_boolean(evpn_es_vtep_active(e, es, v)));
		json_array_append_new(vteps, vo);
	}
	for (unsigned i = 0; i < es->n_group; i++)
		json_array_append_new(grp, ip_json(es->group[i]));
	for (unsigned i = 0; i < es->n_evis; i++) {
		struct evpn_es_evi *evi = &es->evis[i];
		json_t *eo = json_object();

		json_object_set_new(eo, "vni", json_integer(evi->bd->vni));
		json_object_set_new(eo, "df", evi->df_ip ? ip_json(evi->df_ip) : json_null());
		json_object_set_new(eo, "is_df", json_boolean(evi->flags & EVPN_ES_EVI_DF));
		json_object_set_new(eo, "reason", json_string(evi->df_reason ? evi->df_reason : ""));
		json_array_append_new(evis, eo);
	}
	json_object_set_new(o, "vteps", vteps);
	json_object_set_new(o, "group", grp);
	json_object_set_new(o, "evis", evis);
	json_object_set_new(o, "remote_macs", json_integer(es->n_macs));
	json_object_set_new(o, "df_changes", json_integer((json_int_t)es->df_changes));
	return o;
}

static int es_sort(const void *a, const void *b)
{
	return esi_cmp(&(*(struct evpn_es *const *)a)->esi, &(*(struct evpn_es *const *)b)->esi);
}

/* hash order is not stable: sort for readable, diffable output */
static struct evpn_es **es_sorted(struct evpn *e, size_t *n)
{
	struct evpn_es **v = calloc(e->es.count ? e->es.count : 1, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	htab_for_each(&e->es, hn, i)
		v[(*n)++] = container_of(hn, struct evpn_es, hn);
	qsort(v, *n, sizeof(*v), es_sort);
	return v;
}

json_t *evpn_json_es(struct evpn *e, const char *sel)
{
	json_t *a = json_array();
	size_t n;
	struct evpn_es **v = es_sorted(e, &n);
	esi_t esi;
	bool by_esi = sel && !esi_parse(sel, &esi);

	for (size_t i = 0; v && i < n; i++) {
		if (sel && (by_esi ? esi_cmp(&esi, &v[i]->esi) : strcmp(sel, v[i]->name)))
			continue;
		json_array_append_new(a, es_one(e, v[i]));
	}
	free(v);
	return a;
}

json_t *evpn_json_macs(struct evpn *e, uint32_t vni)
{
	json_t *a = json_array();

	htab_for_each(&e->macs, hn, i) {
		struct evpn_mac *m = container_of(hn, struct evpn_mac, hn);
		const struct evpn_mac_path *best = evpn_mac_best(m);
		char mac[MAC_STR_LEN], esi[ESI_STR_LEN];
		json_t *o;

		if (vni && m->vni != vni)
			continue;
		o = json_object();
		json_object_set_new(o, "vni", json_integer(m->vni));
		json_object_set_new(o, "mac", json_string(mac_fmt(m->mac, mac)));
		if (m->flags & EVPN_MAC_LOCAL) {
			json_object_set_new(o, "type", json_string("local"));
			json_object_set_new(o, "ifindex", json_integer(m->loc_ifindex));
			json_object_set_new(o, "seq", json_integer(m->loc_seq));
			if (m->loc_es)
				json_object_set_new(o, "es", json_string(m->loc_es->name));
		} else if (best) {
			json_object_set_new(o, "type", json_string("remote"));
			json_object_set_new(o, "vtep", ip_json(best->vtep));
			json_object_set_new(o, "seq", json_integer(best->seq));
			if (!esi_is_zero(&best->esi))
				json_object_set_new(o, "esi", json_string(esi_fmt(&best->esi, esi)));
			json_object_set_new(o, "paths", json_integer(m->n_paths));
		}
		json_object_set_new(o, "advertised", json_boolean(m->flags & EVPN_MAC_ADV));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *evpn_json_vteps(struct evpn *e)
{
	json_t *a = json_array();

	htab_for_each(&e->vteps, hn, i) {
		struct evpn_vtep *v = container_of(hn, struct evpn_vtep, hn);
		json_t *o = json_object(), *ess = json_array();

		json_object_set_new(o, "vtep", ip_json(v->ip));
		json_object_set_new(o, "routes", json_integer(v->n_routes));
		json_object_set_new(o, "heartbeat", json_string(v->flags & EVPN_VTEP_HB_DOWN ? "down" : "ok"));
		htab_for_each(&e->es, en, k) {
			struct evpn_es *es = container_of(en, struct evpn_es, hn);

			if (evpn_es_vtep_find(es, v->ip))
				json_array_append_new(ess, json_string(es->name));
		}
		json_object_set_new(o, "es", ess);
		json_array_append_new(a, o);
	}
	return a;
}

json_t *evpn_json_df(struct evpn *e)
{
	json_t *a = json_array();
	size_t n;
	struct evpn_es **v = es_sorted(e, &n);

	for (size_t i = 0; v && i < n; i++)
		for (unsigned k = 0; k < v[i]->n_evis; k++) {
			struct evpn_es_evi *evi = &v[i]->evis[k];
			json_t *o = json_object();

			json_object_set_new(o, "es", json_string(v[i]->name));
			json_object_set_new(o, "vni", json_integer(evi->bd->vni));
			json_object_set_new(o, "algorithm", json_string(xcfg_df_alg_name(v[i]->cfg.df_alg)));
			json_object_set_new(o, "df", evi->df_ip ? ip_json(evi->df_ip) : json_null());
			json_object_set_new(o, "is_df", json_boolean(evi->flags & EVPN_ES_EVI_DF));
			json_object_set_new(o, "reason", json_string(evi->df_reason ? evi->df_reason : ""));
			json_array_append_new(a, o);
		}
	free(v);
	return a;
}

json_t *evpn_json_bds(struct evpn *e)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < e->cfg->n_bds; i++) {
		struct evpn_bd *bd = evpn_bd_find(e, e->cfg->bds[i].vni);
		json_t *o, *fl = json_array(), *ports = json_array();
		char rd[32];

		if (!bd)
			continue;
		o = json_object();
		json_object_set_new(o, "name", json_string(bd->name));
		json_object_set_new(o, "vni", json_integer(bd->vni));
		evpn_rd_fmt(bd->rd, rd, sizeof(rd));
		json_object_set_new(o, "rd", json_string(rd));
		for (unsigned k = 0; k < bd->cfg.n_ports; k++) {
			char p[32];

			if (bd->cfg.ports[k].vlan)
				snprintf(p, sizeof(p), "%s.%u", bd->cfg.ports[k].ifname, bd->cfg.ports[k].vlan);
			else
				snprintf(p, sizeof(p), "%s", bd->cfg.ports[k].ifname);
			json_array_append_new(ports, json_string(p));
		}
		json_object_set_new(o, "ports", ports);
		for (unsigned k = 0; k < bd->n_flood; k++)
			json_array_append_new(fl, ip_json(bd->flood[k]));
		json_object_set_new(o, "flood", fl);
		json_object_set_new(o, "imet_advertised", json_boolean(bd->flags & EVPN_BD_IMET_ADV));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *evpn_json_stats(struct evpn *e)
{
	const struct evpn_stats *s = &e->stats;

	return json_pack("{sI sI sI sI sI sI sI sI sI sI sI sI sI sI sI sI sI}",
			 "routes_in", (json_int_t)s->routes_in, "withdraws_in", (json_int_t)s->withdraws_in,
			 "withdraw_unknown", (json_int_t)s->withdraw_unknown,
			 "routes_ignored", (json_int_t)s->routes_ignored,
			 "routes_invalid", (json_int_t)s->routes_invalid,
			 "routes_not_imported", (json_int_t)s->routes_not_imported,
			 "sticky_conflicts", (json_int_t)s->sticky_conflicts, "routes_out", (json_int_t)s->routes_out,
			 "withdraws_out", (json_int_t)s->withdraws_out, "fib_errors", (json_int_t)s->fib_errors,
			 "route_errors", (json_int_t)s->route_errors, "mac_moves", (json_int_t)s->mac_moves,
			 "df_changes", (json_int_t)s->df_changes, "mass_withdraws", (json_int_t)s->mass_withdraws,
			 "macs", (json_int_t)e->macs.count, "es", (json_int_t)e->es.count,
			 "vteps", (json_int_t)e->vteps.count);
}

json_t *evpn_json_command(struct evpn *e, const char *line)
{
	char buf[256], *argv[8], *save = NULL;
	int argc = 0;
	json_t *data = NULL;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *t = strtok_r(buf, " \t\r\n", &save); t && argc < 8; t = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = t;
	if (argc >= 2 && !strcmp(argv[0], "show")) {
		if (!strcmp(argv[1], "es")) {
			data = evpn_json_es(e, argc > 2 ? argv[2] : NULL);
			if (argc > 2 && !json_array_size(data)) {
				json_decref(data);
				return json_pack("{sb ss}", "ok", 0, "error", "no such ES");
			}
		} else if (!strcmp(argv[1], "mac")) {
			data = evpn_json_macs(e, argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 0);
		} else if (!strcmp(argv[1], "vtep")) {
			data = evpn_json_vteps(e);
		} else if (!strcmp(argv[1], "df")) {
			data = evpn_json_df(e);
		} else if (!strcmp(argv[1], "bd")) {
			data = evpn_json_bds(e);
		} else if (!strcmp(argv[1], "stats")) {
			data = evpn_json_stats(e);
		}
	}
	if (!data)
		return json_pack("{sb ss}", "ok", 0, "error",
				 "unknown command (show es [ESI|NAME] | mac [VNI] | vtep | df | bd | stats)");
	return json_pack("{sb so}", "ok", 1, "data", data);
}
