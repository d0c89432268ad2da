// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xevpn-health: the health engine alone on its own libuv loop, one group,
 * configured from flags, printing every event on stdout (one line each), for
 * debugging a link or a key set without xevpnd.
 *
 *   xevpn-health --ifname bvi100 --group 0x0011..  --id leaf1 --key 00112233..
 *                [--interval 1000] [--tick MS] [--miss 3] [--rise 3] [--fall 1]
 *                [--cooldown MS] [--fence MS] [--role warmup|candidate|primary]
 *                [--priority N] [--vni N] [--mac 02:..] [--port N] [--maddr ff02::..]
 *                [--speaker-down] [--ctl FIFO] [--verbose]
 *
 * Like xevpnd, this client (not the engine) watches the interface: it polls
 * the ifindex and IFF_UP|IFF_RUNNING and tells the engine on every change.
 * Commands, one per line, on the --ctl FIFO:
 *   keys HEX[,HEX...]   replace key slots (first signs)
 *   role R | priority N | speaker up|down | leave | rejoin | stats | peers | quit
 * SIGTERM/SIGINT: send a leaving beat, then exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <uv.h>

#include "health/health.h"

struct app {
	uv_loop_t *loop;
	struct health_engine *eng;
	struct health_group *g;
	char ifname[IF_NAMESIZE];
	uint32_t ifindex;
	bool if_up;
	bool verbose;
	uv_timer_t watch;
	uv_signal_t sigterm, sigint;
	uv_pipe_t ctl;
	bool ctl_open;
	char line[512];
	size_t linelen;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void log_cb(int level, const char *msg, void *ctx)
{
	struct app *app = ctx;

	if (level <= LOG_NOTICE || app->verbose)
		fprintf(stderr, "xevpn-health: %s\n", msg);
}

static void print_event(const struct health_event *ev)
{
	char id[40];

	printf("EVENT %lu %s group=\"%s\" cause=%s", (unsigned long)ev->at_ms,
	       health_event_name(ev->type), health_group_name(ev->group),
	       health_cause_name(ev->cause));
	if (ev->type <= HEALTH_EV_PEER_UNFIT)
		printf(" peer=%s verdict=%s alive=%d", health_id_str(ev->peer.instance_id, id, sizeof(id)),
		       health_verdict_name(ev->peer.verdict), ev->peer.alive);
	if (ev->type == HEALTH_EV_PEER_UNFIT)
		printf(" takeover_ok=%d", ev->takeover_ok);
	if (ev->type == HEALTH_EV_FENCE_ARMED)
		printf(" fence_at=%lu", (unsigned long)ev->fence_at_ms);
	printf("\n");
}

static void notify(struct health_engine *eng, void *ctx)
{
	struct health_event ev;

	(void)ctx;
	while (health_engine_next_event(eng, &ev))
		print_event(&ev);
	fflush(stdout);
}

static void print_stats(struct app *app)
{
	struct health_stats st;

	health_group_stats(app->g, &st);
	printf("STATS %lu rx_ok=%lu tx_ok=%lu tx_err=%lu sock_rebuilds=%lu", (unsigned long)mono_ms(),
	       (unsigned long)st.rx_ok, (unsigned long)st.tx_ok, (unsigned long)st.tx_err,
	       (unsigned long)st.sock_rebuilds);
	for (int i = 1; i < HEALTH_DROP_MAX; i++)
		printf(" drop.%s=%lu", health_drop_name(i), (unsigned long)st.drops[i]);
	printf(" members=%u self_ok=%d\n", health_group_members(app->g), health_group_self_ok(app->g));
	fflush(stdout);
}

static void print_peers(struct app *app)
{
	struct health_peer_info pi;
	char id[40], addr[INET6_ADDRSTRLEN];

	for (unsigned i = 0; !health_group_peer(app->g, i, &pi); i++)
		printf("PEER id=%s alive=%d left=%d verdict=%s role=%u prio=%u seq=%lu beats=%lu addr=%s\n",
		       health_id_str(pi.instance_id, id, sizeof(id)), pi.alive, pi.left,
		       health_verdict_name(pi.verdict), pi.role, pi.priority, (unsigned long)pi.seq,
		       (unsigned long)pi.beats, inet_ntop(AF_INET6, &pi.addr, addr, sizeof(addr)));
	fflush(stdout);
}

static int parse_role(const char *s)
{
	if (!strcmp(s, "warmup"))
		return XEVPN_HB_ROLE_WARMUP;
	if (!strcmp(s, "candidate"))
		return XEVPN_HB_ROLE_CANDIDATE;
	if (!strcmp(s, "primary"))
		return XEVPN_HB_ROLE_PRIMARY;
	return -EINVAL;
}

static int parse_keys(const char *list, struct health_key *keys, unsigned *n)
{
	char buf[HEALTH_MAX_KEY_SLOTS * (2 * HEALTH_MAX_KEY_LEN + 1) + 1], *save, *tok;

	if (strlen(list) >= sizeof(buf))
		return -E2BIG;
	strcpy(buf, list);
	*n = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*n >= HEALTH_MAX_KEY_SLOTS || health_key_from_hex(&keys[*n], tok))
			return -EINVAL;
		(*n)++;
	}
	return *n ? 0 : -EINVAL;
}

static void app_stop(struct app *app)
{
	uv_stop(app->loop);
}

static void command(struct app *app, char *cmd)
{
	struct health_key keys[HEALTH_MAX_KEY_SLOTS];
	char *arg = strchr(cmd, ' ');
	unsigned n;
	int err = 0;

	if (arg)
		*arg++ = 0;
	if (!strcmp(cmd, "keys") && arg) {
		err = parse_keys(arg, keys, &n);
		if (!err)
			err = health_group_set_keys(app->g, keys, n);
	} else if (!strcmp(cmd, "role") && arg) {
		err = parse_role(arg);
		if (err >= 0)
			err = health_group_set_role(app->g, (uint8_t)err);
	} else if (!strcmp(cmd, "priority") && arg) {
		err = health_group_set_priority(app->g, (uint16_t)atoi(arg));
	} else if (!strcmp(cmd, "speaker") && arg) {
		health_engine_set_speaker(app->eng, !strcmp(arg, "up"));
	} else if (!strcmp(cmd, "leave")) {
		err = health_group_leave(app->g, true);
	} else if (!strcmp(cmd, "rejoin")) {
		err = health_group_leave(app->g, false);
	} else if (!strcmp(cmd, "stats")) {
		print_stats(app);
	} else if (!strcmp(cmd, "peers")) {
		print_peers(app);
	} else if (!strcmp(cmd, "quit")) {
		app_stop(app);
	} else if (*cmd) {
		err = -EINVAL;
	}
	printf("CMD %lu %s%s%s rc=%d\n", (unsigned long)mono_ms(), cmd, arg ? " " : "",
	       arg && strcmp(cmd, "keys") ? arg : "", err < 0 ? err : 0);
	notify(app->eng, NULL);
}

static void ctl_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char rbuf[1024];

	(void)h;
	(void)suggested;
	*buf = uv_buf_init(rbuf, sizeof(rbuf));
}

static void ctl_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct app *app = s->data;

	for (ssize_t i = 0; i < nread; i++) {
		char c = buf->base[i];

		if (c == '\n') {
			app->line[app->linelen] = 0;
			command(app, app->line);
			app->linelen = 0;
		} else if (app->linelen < sizeof(app->line) - 1) {
			app->line[app->linelen++] = c;
		}
	}
}

static int ctl_open(struct app *app, const char *path)
{
	int fd, err;

	if (mkfifo(path, 0600) && errno != EEXIST)
		return -errno;
	/* O_RDWR: the FIFO never reports EOF when a writer closes */
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = uv_pipe_init(app->loop, &app->ctl, 0);
	if (!err)
		err = uv_pipe_open(&app->ctl, fd);
	if (!err) {
		app->ctl.data = app;
		app->ctl_open = true;
		err = uv_read_start((uv_stream_t *)&app->ctl, ctl_alloc, ctl_read);
	}
	return err;
}

/* The client side of the contract: watch the interface, tell the engine. */
static void watch_if(uv_timer_t *t)
{
	struct app *app = t->data;
	struct ifreq ifr = { 0 };
	uint32_t idx = if_nametoindex(app->ifname);
	bool up = false;
	int fd;

	if (idx && (fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0) {
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", app->ifname);
		if (!ioctl(fd, SIOCGIFFLAGS, &ifr))
			up = (ifr.ifr_flags & (IFF_UP | IFF_RUNNING)) == (IFF_UP | IFF_RUNNING);
		close(fd);
	}
	if (idx == app->ifindex && up == app->if_up)
		return;
	printf("IFACE %lu %s ifindex=%u up=%d\n", (unsigned long)mono_ms(), app->ifname, idx, up);
	fflush(stdout);
	app->ifindex = idx;
	app->if_up = up;
	health_group_set_ifindex(app->g, idx, up);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct app *app = s->data;

	(void)signum;
	health_group_leave(app->g, true);
	app_stop(app);
}

static int usage(void)
{
	fprintf(stderr, "usage: xevpn-health --ifname IF --group ID --id NODE --key HEX [...]\n"
			"       (see the comment at the top of ctl/health/main.c, or docs/health.md)\n");
	return 2;
}

int main(int argc, char **argv)
{
	enum { O_IF = 256, O_GROUP, O_ID, O_KEY, O_INTERVAL, O_TICK, O_MISS, O_RISE, O_FALL,
	       O_COOLDOWN, O_FENCE, O_ROLE, O_PRIO, O_VNI, O_MAC, O_PORT, O_MADDR, O_SPKDOWN,
	       O_CTL, O_VERBOSE };
	static const struct option opts[] = {
		{ "ifname", 1, 0, O_IF }, { "group", 1, 0, O_GROUP }, { "id", 1, 0, O_ID },
		{ "key", 1, 0, O_KEY }, { "interval", 1, 0, O_INTERVAL }, { "tick", 1, 0, O_TICK },
		{ "miss", 1, 0, O_MISS }, { "rise", 1, 0, O_RISE }, { "fall", 1, 0, O_FALL },
		{ "cooldown", 1, 0, O_COOLDOWN }, { "fence", 1, 0, O_FENCE }, { "role", 1, 0, O_ROLE },
		{ "priority", 1, 0, O_PRIO }, { "vni", 1, 0, O_VNI }, { "mac", 1, 0, O_MAC },
		{ "port", 1, 0, O_PORT }, { "maddr", 1, 0, O_MADDR },
		{ "speaker-down", 0, 0, O_SPKDOWN }, { "ctl", 1, 0, O_CTL },
		{ "verbose", 0, 0, O_VERBOSE }, { 0 },
	};
	struct health_engine_cfg ec = { 0 };
	struct health_group_cfg gc = { .role = XEVPN_HB_ROLE_CANDIDATE };
	struct health_key keys[HEALTH_MAX_KEY_SLOTS];
	unsigned nkeys = 0;
	bool have_group = false, have_id = false, speaker_down = false;
	const char *ctl = NULL;
	struct app app = { 0 };
	int c, err, role;
	unsigned m[6];

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_IF:
			snprintf(app.ifname, sizeof(app.ifname), "%s", optarg);
			break;
		case O_GROUP:
			if (health_id_parse(gc.evpn_id, optarg))
				return fprintf(stderr, "bad --group %s\n", optarg), 2;
			have_group = true;
			break;
		case O_ID:
			if (health_id_parse(ec.instance_id, optarg))
				return fprintf(stderr, "bad --id %s\n", optarg), 2;
			have_id = true;
			break;
		case O_KEY:
			if (nkeys >= HEALTH_MAX_KEY_SLOTS || health_key_from_hex(&keys[nkeys], optarg))
				return fprintf(stderr, "bad --key (hex, at most %d)\n",
					       HEALTH_MAX_KEY_SLOTS), 2;
			nkeys++;
			break;
		case O_INTERVAL: gc.interval_ms = (uint32_t)atoi(optarg); break;
		case O_TICK: gc.tick_ms = (uint32_t)atoi(optarg); break;
		case O_MISS: gc.miss = (uint32_t)atoi(optarg); break;
		case O_RISE: gc.rise = (uint32_t)atoi(optarg); break;
		case O_FALL: gc.fall = (uint32_t)atoi(optarg); break;
		case O_COOLDOWN: gc.cooldown_ms = (uint32_t)atoi(optarg); break;
		case O_FENCE: gc.fence_ms = (uint32_t)atoi(optarg); break;
		case O_PRIO: gc.priority = (uint16_t)atoi(optarg); break;
		case O_VNI: gc.vni = (uint32_t)atoi(optarg); break;
		case O_PORT: gc.port = (uint16_t)atoi(optarg); break;
		case O_ROLE:
			if ((role = parse_role(optarg)) < 0)
				return fprintf(stderr, "bad --role %s\n", optarg), 2;
			gc.role = (uint8_t)role;
			break;
		case O_MAC:
			if (sscanf(optarg, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
				   &m[5]) != 6)
				return fprintf(stderr, "bad --mac %s\n", optarg), 2;
			for (int i = 0; i < 6; i++)
				ec.instance_mac[i] = (uint8_t)m[i];
			break;
		case O_MADDR:
			if (inet_pton(AF_INET6, optarg, &gc.maddr) != 1)
				return fprintf(stderr, "bad --maddr %s\n", optarg), 2;
			break;
		case O_SPKDOWN: speaker_down = true; break;
		case O_CTL: ctl = optarg; break;
		case O_VERBOSE: app.verbose = true; break;
		default:
			return usage();
		}
	}
	if (!have_group || !have_id || !nkeys || !app.ifname[0])
		return usage();
	snprintf(gc.name, sizeof(gc.name), "%s", app.ifname);

	setvbuf(stdout, NULL, _IOLBF, 0);
	app.loop = uv_default_loop();
	ec.notify = notify;
	ec.log = log_cb;
	ec.log_ctx = &app;
	app.eng = health_engine_new(&ec);
	if (!app.eng)
		return fprintf(stderr, "xevpn-health: engine: out of memory\n"), 1;
	err = health_group_add(app.eng, &gc, &app.g);
	if (!err)
		err = health_group_set_keys(app.g, keys, nkeys);
	if (!err)
		err = health_engine_attach_loop(app.eng, app.loop);
	if (err)
		return fprintf(stderr, "xevpn-health: %s\n", strerror(-err)), 1;
	if (speaker_down)
		health_engine_set_speaker(app.eng, false);
	if (ctl && (err = ctl_open(&app, ctl)))
		return fprintf(stderr, "xevpn-health: --ctl %s: %s\n", ctl, uv_strerror(err)), 1;

	uv_timer_init(app.loop, &app.watch);
	app.watch.data = &app;
	uv_timer_start(&app.watch, watch_if, 0, gc.interval_ms && gc.interval_ms < 200 ?
		       gc.interval_ms : 200);
	uv_signal_init(app.loop, &app.sigterm);
	uv_signal_init(app.loop, &app.sigint);
	app.sigterm.data = app.sigint.data = &app;
	uv_signal_start(&app.sigterm, on_signal, SIGTERM);
	uv_signal_start(&app.sigint, on_signal, SIGINT);
	{
		char boot[40];

		printf("READY %lu boot=%s\n", (unsigned long)mono_ms(),
		       health_id_str(health_engine_boot_id(app.eng), boot, sizeof(boot)));
	}

	uv_run(app.loop, UV_RUN_DEFAULT);

	notify(app.eng, NULL);
	print_stats(&app);
	health_engine_free(app.eng);
	uv_close((uv_handle_t *)&app.watch, NULL);
	uv_close((uv_handle_t *)&app.sigterm, NULL);
	uv_close((uv_handle_t *)&app.sigint, NULL);
	if (app.ctl_open)
		uv_close((uv_handle_t *)&app.ctl, NULL);
	uv_run(app.loop, UV_RUN_DEFAULT);
	uv_loop_close(app.loop);
	return 0;
}
