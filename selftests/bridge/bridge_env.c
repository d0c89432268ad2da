// SPDX-License-Identifier: GPL-2.0
/* gobgpd with a unix-socket API for the gobgp-bridge suites; see bridge_env.h. */
#include "bridge_env.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int write_config(struct benv_gobgpd *g, const char *router_id, const char *neighbor)
{
	FILE *f = fopen(g->conf, "w");

	if (!f)
		return -errno;
	fprintf(f, "[global.config]\n  as = 65000\n  router-id = \"%s\"\n"
		   "  local-address-list = [\"%s\"]\n", router_id, router_id);
	if (neighbor)
		fprintf(f, "\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"%s\"\n"
			   "    peer-as = 65000\n  [neighbors.timers.config]\n    connect-retry = 1\n"
			   "    hold-time = 9\n    keepalive-interval = 3\n"
			   "    idle-hold-time-after-reset = 1\n"
			   "  [neighbors.transport.config]\n    local-address = \"%s\"\n"
			   "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n"
			   "      afi-safi-name = \"l2vpn-evpn\"\n", neighbor, router_id);
	return fclose(f) ? -errno : 0;
}

static bool sock_answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		close(fd);
		return false;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

int benv_gobgpd_restart(struct benv_gobgpd *g)
{
	char api[XT_PATH_MAX + 32], label[64];
	uint64_t deadline;
	int err;

	unlink(g->sock); /* left behind by a killed gobgpd: Go refuses to listen on it */
	snprintf(api, sizeof(api), "--api-hosts=unix://%s", g->sock);
	snprintf(label, sizeof(label), "gobgpd-%s", g->name);
	char *argv[] = { "gobgpd", "-f", g->conf, "-t", "toml", api, "--pprof-disable",
			 "-l", "info", NULL };
	if ((err = xt_spawn(g->ns, label, argv, g->log, 0, &g->proc)))
		return err;
	deadline = xt_now_ms() + 15000;
	while (xt_now_ms() < deadline) {
		if (!xt_proc_alive(&g->proc))
			break;
		if (sock_answers(g->sock))
			return 0;
		xt_sleep_ms(50);
	}
	fprintf(stderr, "gobgpd %s: API socket %s not answering\n", g->name, g->sock);
	xt_dump_tail(g->log, 30);
	benv_gobgpd_stop(g);
	return -ETIMEDOUT;
}

int benv_gobgpd_start(struct benv_gobgpd *g, const char *ns, const char *name,
		      const char *router_id, const char *neighbor)
{
	int err;

	memset(g, 0, sizeof(*g));
	if ((err = xt_init()))
		return err;
	snprintf(g->ns, sizeof(g->ns), "%s", ns);
	snprintf(g->name, sizeof(g->name), "%s", name);
	snprintf(g->conf, sizeof(g->conf), "%s/gobgpd-%s.toml", xt_state_dir(), name);
	snprintf(g->log, sizeof(g->log), "%s/logs/gobgpd-%s.log", xt_state_dir(), name);
	snprintf(g->sock, sizeof(g->sock), "%s/gobgpd-%s.sock", xt_state_dir(), name);
	snprintf(g->target, sizeof(g->target), "unix:%s", g->sock);
	if ((err = write_config(g, router_id, neighbor)))
		return err;
	return benv_gobgpd_restart(g);
}

int benv_gobgpd_kill(struct benv_gobgpd *g)
{
	int err = g->proc.pid > 0 ? xt_proc_kill(&g->proc) : 0;

	g->proc.pid = 0;
	return err;
}

int benv_gobgpd_stop(struct benv_gobgpd *g)
{
	int err = g->proc.pid > 0 ? xt_proc_stop(&g->proc, 3000) : 0;

	g->proc.pid = 0;
	unlink(g->sock);
	return err < 0 ? err : 0;
}

int benv_two_ns(void)
{
	int err;

	if ((err = xt_ns_create("a")) || (err = xt_ns_create("b")) ||
	    (err = xt_veth("a", "a0", "b", "b0")) ||
	    (err = xt_addr_add("a", "a0", "192.0.2.1/24")) ||
	    (err = xt_addr_add("b", "b0", "192.0.2.2/24")) ||
	    (err = xt_link_up("a", "a0")) || (err = xt_link_up("b", "b0")) ||
	    (err = xt_link_up("a", "lo")) || (err = xt_link_up("b", "lo")))
		return err;
	return 0;
}

struct until {
	bool (*pred)(void *arg);
	void *arg;
	uint64_t deadline;
	bool result;
};

static void until_tick(uv_timer_t *t)
{
	struct until *u = t->data;

	if ((u->result = u->pred(u->arg)) || xt_now_ms() >= u->deadline)
		uv_stop(t->loop);
}

bool benv_run_until(uv_loop_t *loop, bool (*pred)(void *arg), void *arg, unsigned timeout_ms)
{
	struct until u = { pred, arg, xt_now_ms() + timeout_ms, false };
	uv_timer_t t;

	if ((u.result = pred(arg)))
		return true;
	uv_timer_init(loop, &t);
	t.data = &u;
	uv_timer_start(&t, until_tick, 10, 10);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return u.result || pred(arg);
}

static bool never(void *arg)
{
	return false;
}

void benv_run_for(uv_loop_t *loop, unsigned ms)
{
	benv_run_until(loop, never, NULL, ms);
}

void benv_type2(struct gb_route *r, unsigned i, const char *nh, unsigned n_rts)
{
	memset(r, 0, sizeof(*r));
	r->type = GB_ROUTE_MACIP;
	r->rd.type = GB_ADMIN_IP4;
	inet_pton(AF_INET, nh, &r->rd.admin);
	r->rd.assigned = 100;
	r->mac[0] = 0x02;
	r->mac[3] = i >> 16;
	r->mac[4] = i >> 8;
	r->mac[5] = i;
	r->ip.family = AF_INET;
	r->ip.v4.s_addr = htonl((198u << 24) | (51u << 16) | (100u << 8) | (i % 250 + 1));
	if (i >= 250) /* keep the key unique through the MAC; IP only for the first ones */
		r->ip.family = 0;
	r->labels[0] = 10100;
	r->n_labels = 1;
	r->next_hop.family = AF_INET;
	inet_pton(AF_INET, nh, &r->next_hop.v4);
	r->n_rts = n_rts > GB_MAX_RTS ? GB_MAX_RTS : n_rts;
	for (unsigned k = 0; k < r->n_rts; k++)
		r->rts[k] = (struct gb_rt){ .type = GB_ADMIN_AS2, .admin = 65000, .assigned = 100 + k };
	r->attrs = GB_ATTR_ENCAP;
	r->encap = GB_ENCAP_VXLAN;
}
