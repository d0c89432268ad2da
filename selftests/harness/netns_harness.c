// SPDX-License-Identifier: GPL-2.0
/*
 * The netns test library itself, and two gobgpd exchanging an EVPN route.
 *
 *   [a] v0 192.0.2.1/24 --------- v0 192.0.2.2/24 [b]
 *       gobgpd AS 65000 (active)      gobgpd AS 65000 (passive)
 *       API 127.0.0.1:50051           API 127.0.0.1:50051
 *
 * Teardown tests run the library in a forked child under a sub-prefix
 * "<run>-<tag>" and check from outside that nothing it made survives a
 * normal exit, a SIGTERM, or (with selftests/sweep) a SIGKILL.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gobgpd.h"
#include "netns.h"

#define BPF_FS_MAGIC_VAL 0xcafe4a11

static void setup(void)
{
	cr_assert_eq(xt_init(), 0, "netns library init");
}

static void teardown(void)
{
	xt_cleanup();
}

TestSuite(netns_harness, .init = setup, .fini = teardown, .timeout = 120);

/* ---------- helpers ---------- */

static int two_namespaces(void)
{
	int err;

	if ((err = xt_ns_create("a")) || (err = xt_ns_create("b")))
		return err;
	if ((err = xt_veth("a", "v0", "b", "v0")))
		return err;
	if ((err = xt_addr_add("a", "v0", "192.0.2.1/24")) ||
	    (err = xt_addr_add("b", "v0", "192.0.2.2/24")))
		return err;
	if ((err = xt_link_up("a", "v0")) || (err = xt_link_up("b", "v0")))
		return err;
	return 0;
}

static bool ns_file_exists(const char *full)
{
	char p[128];

	snprintf(p, sizeof(p), "/run/netns/%s", full);
	return access(p, F_OK) == 0;
}

/* Gone, or a zombie waiting for its new parent to reap it. */
static bool pid_gone(pid_t pid)
{
	char p[64], buf[512], *s;
	FILE *f;

	for (int i = 0; i < 100; i++) {
		snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
		f = fopen(p, "r");
		if (!f)
			return true;
		s = fgets(buf, sizeof(buf), f);
		fclose(f);
		s = s ? strrchr(buf, ')') : NULL;
		if (s && s[1] == ' ' && s[2] == 'Z')
			return true;
		usleep(20000);
	}
	return false;
}

static bool is_mounted(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && (unsigned long)sfs.f_type == BPF_FS_MAGIC_VAL;
}

static const char *sweep_path(void)
{
	static char path[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n;
	char *p;

	if (access("selftests/sweep", X_OK) == 0)
		return "selftests/sweep";
	/* <tree>/build/<variant>/selftests/<suite> */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return "selftests/sweep";
	exe[n] = '\0';
	for (int up = 0; up < 4 && (p = strrchr(exe, '/')); up++)
		*p = '\0';
	snprintf(path, sizeof(path), "%s/selftests/sweep", exe);
	return path;
}

/* SigIgn in /proc/<pid>/status has the SIGTERM bit. */
static bool term_ignored(pid_t pid)
{
	char p[64], line[256];
	bool yes = false;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	f = fopen(p, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "SigIgn:", 7))
			yes = (strtoull(line + 7, NULL, 16) >> (SIGTERM - 1)) & 1;
	fclose(f);
	return yes;
}

/* What a child reports to the parent about the objects it made. */
struct made {
	char prefix[32];
	char ns_full[XT_NS_NAME_MAX];
	char bpffs[XT_PATH_MAX];
	char state[XT_PATH_MAX];
	pid_t in_ns_pid;
	pid_t root_pid;      /* spawned without PDEATHSIG (SIGKILL case only) */
};

enum child_end { END_EXIT, END_SIGTERM, END_WAIT_FOR_KILL };

/* Child: build a namespace with a veth, a process in it, a bpffs mount,
 * report through `fd`, then end as asked. Never returns. */
static void child_build(int fd, int go, const char *tag, enum child_end end)
{
	char c;

	char *sleeper[] = { "sleep", "1000", NULL };
	struct made m = { 0 };
	struct xt_proc p1, p2;
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "%s-%s", getenv("XEVPN_TEST_RUN"), tag);
	if (xt_init_prefix(prefix) || xt_ns_create("c") || xt_ns_create("d") ||
	    xt_veth("c", "x0", "d", "x0") || xt_bpffs_mount("c", m.bpffs, sizeof(m.bpffs)) ||
	    xt_spawn("c", "sleeper", sleeper, NULL, 0, &p1))
		_exit(10);
	if (end == END_WAIT_FOR_KILL &&
	    xt_spawn(NULL, "orphan", sleeper, NULL, XT_SPAWN_NO_PDEATHSIG, &p2))
		_exit(11);
	snprintf(m.prefix, sizeof(m.prefix), "%s", prefix);
	snprintf(m.ns_full, sizeof(m.ns_full), "%s", xt_ns_full("c"));
	snprintf(m.state, sizeof(m.state), "%s", xt_state_dir());
	m.in_ns_pid = p1.pid;
	m.root_pid = end == END_WAIT_FOR_KILL ? p2.pid : 0;
	if (write(fd, &m, sizeof(m)) != sizeof(m))
		_exit(12);
	close(fd);
	/* the parent checks that everything exists, then lets us end */
	if (end != END_WAIT_FOR_KILL && read(go, &c, 1) != 1)
		_exit(15);
	switch (end) {
	case END_EXIT:
		exit(0);             /* atexit teardown */
	case END_SIGTERM:
		raise(SIGTERM);      /* signal-handler teardown */
		_exit(13);
	case END_WAIT_FOR_KILL:
		for (;;)
			pause();
	}
	_exit(14);
}

static pid_t fork_child(const char *tag, enum child_end end, struct made *m)
{
	int fds[2], go[2];
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(pipe(go), 0);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		close(go[1]);
		child_build(fds[1], go[0], tag, end);
	}
	close(fds[1]);
	close(go[0]);
	cr_assert_eq(read(fds[0], m, sizeof(*m)), (ssize_t)sizeof(*m),
		     "child failed to build its objects");
	close(fds[0]);
	cr_assert(ns_file_exists(m->ns_full), "child's namespace exists while it runs");
	cr_assert(is_mounted(m->bpffs), "child's bpffs is mounted while it runs");
	cr_assert_eq(kill(m->in_ns_pid, 0), 0, "child's process runs");
	cr_assert_eq(write(go[1], "g", 1), 1);
	close(go[1]);
	return pid;
}

static void assert_all_gone(const struct made *m)
{
	cr_expect_not(ns_file_exists(m->ns_full), "namespace %s removed", m->ns_full);
	cr_expect_not(is_mounted(m->bpffs), "bpffs %s unmounted", m->bpffs);
	cr_expect(pid_gone(m->in_ns_pid), "process %d in the namespace is gone", m->in_ns_pid);
	if (m->root_pid)
		cr_expect(pid_gone(m->root_pid), "process %d is gone", m->root_pid);
}

/* ---------- library ---------- */

Test(netns_harness, veth_addresses_mtu_and_traffic)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(7777) };
	struct sockaddr_in me = to;
	struct xt_link_info a0, a1, b;
	char buf[64] = { 0 };
	int tx, rx;

	cr_assert_eq(two_namespaces(), 0);
	cr_assert_eq(xt_link_mtu("a", "v0", 1400), 0);
	cr_assert_eq(xt_link_info("a", "v0", &a0), 0);
	cr_expect_eq(a0.mtu, 1400);
	cr_expect(a0.carrier, "both ends up: carrier");
	cr_expect_eq(a0.ifindex, xt_ifindex("a", "v0"));
	cr_assert_eq(xt_link_info("b", "v0", &b), 0);
	cr_expect_eq(b.mtu, 1500, "the other end keeps its own MTU");

	/* a UDP datagram crosses the veth */
	rx = xt_ns_socket("b", AF_INET, SOCK_DGRAM, 0);
	tx = xt_ns_socket("a", AF_INET, SOCK_DGRAM, 0);
	cr_assert(rx >= 0 && tx >= 0);
	inet_pton(AF_INET, "192.0.2.2", &me.sin_addr);
	cr_assert_eq(bind(rx, (struct sockaddr *)&me, sizeof(me)), 0);
	to.sin_addr = me.sin_addr;
	cr_assert_eq(sendto(tx, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)), 5);
	struct pollfd pfd = { .fd = rx, .events = POLLIN };
	cr_assert_eq(poll(&pfd, 1, 3000), 1, "datagram arrives in namespace b");
	cr_expect_eq(recv(rx, buf, sizeof(buf), 0), 5);
	cr_expect_str_eq(buf, "hello");
	cr_assert_eq(xt_link_info("a", "v0", &a1), 0);
	cr_expect_geq(a1.tx_packets, a0.tx_packets + 1, "counters read inside the namespace");
	close(rx);
	close(tx);

	/* the root namespace never sees the links */
	cr_expect_lt(xt_ifindex(NULL, "v0"), 0);
	cr_assert_eq(xt_link_down("b", "v0"), 0);
	cr_assert_eq(xt_link_info("a", "v0", &a1), 0);
	cr_expect_not(a1.carrier, "peer down: no carrier");
}

Test(netns_harness, bad_input_is_refused)
{
	char *nothing[] = { "/nonexistent/xevpn-no-such-binary", NULL };
	struct xt_proc p;
	char pids[XT_PATH_MAX + 8];
	int before = 0, after = 0;

	cr_assert_eq(xt_ns_create("a"), 0);
	cr_expect_eq(xt_veth("a", "this-name-is-too-long", "a", "x"), -EINVAL);
	cr_expect_eq(xt_veth("a", "", "a", "x"), -EINVAL);
	cr_expect_eq(xt_veth(NULL, "x0", "a", "x1"), -EINVAL, "no links in the root namespace");
	cr_expect_eq(xt_ns_create("bad/name"), -EINVAL);
	cr_expect_lt(xt_link_up("a", "nosuchlink"), 0);
	cr_expect_lt(xt_ns_enter("nosuchns"), 0);

	snprintf(pids, sizeof(pids), "%s/pids", xt_state_dir());
	before = xt_ns_sh(NULL, NULL, 0, "test $(ls %s | wc -l) -eq 0", pids);
	cr_expect_eq(xt_spawn("a", "nothing", nothing, NULL, 0, &p), -ENOENT,
		     "exec failure is reported, not a running pid");
	after = xt_ns_sh(NULL, NULL, 0, "test $(ls %s | wc -l) -eq 0", pids);
	cr_expect_eq(before, after, "no pidfile left by a failed spawn");
}

Test(netns_harness, run_captures_output_and_times_out)
{
	char *slow[] = { "sleep", "10", NULL };
	char out[128];
	uint64_t t0;

	cr_assert_eq(xt_ns_create("a"), 0);
	cr_assert_eq(xt_ns_sh("a", out, sizeof(out), "ip -o link show | wc -l"), 0);
	cr_expect_eq(atoi(out), 1, "a new namespace holds only lo, got '%s'", out);
	cr_expect_eq(xt_ns_sh("a", NULL, 0, "exit 7"), 7);
	t0 = xt_now_ms();
	cr_expect_eq(xt_ns_run("a", slow, NULL, 0, 300), -ETIMEDOUT);
	cr_expect_lt(xt_now_ms() - t0, 3000, "the timeout kills the command");
}

Test(netns_harness, spawn_and_stop_by_pid)
{
	char *stubborn[] = { "sh", "-c", "trap '' TERM; sleep 100 & wait", NULL };
	char *quick[] = { "sh", "-c", "exit 3", NULL };
	struct xt_proc p, q;
	struct stat st;

	cr_assert_eq(xt_ns_create("a"), 0);
	cr_assert_eq(xt_spawn("a", "stubborn", stubborn, NULL, 0, &p), 0);
	cr_expect_eq(stat(p.pidfile, &st), 0, "pidfile %s written", p.pidfile);
	/* let the shell install its trap before we signal it */
	for (int i = 0; i < 300 && !term_ignored(p.pid); i++)
		xt_sleep_ms(10);
	cr_assert(term_ignored(p.pid));
	cr_expect(xt_proc_alive(&p));
	cr_expect_eq(xt_proc_stop(&p, 300), 128 + SIGKILL, "TERM ignored: killed");
	cr_expect_neq(stat(p.pidfile, &st), 0, "pidfile removed");

	cr_assert_eq(xt_spawn("a", "quick", quick, NULL, 0, &q), 0);
	for (int i = 0; i < 200 && xt_proc_alive(&q); i++)
		xt_sleep_ms(10);
	cr_expect_not(xt_proc_alive(&q));
	cr_expect_eq(xt_proc_stop(&q, 0), 3, "exit status is reported");
}

Test(netns_harness, bpffs_visible_from_namespaces)
{
	char path[XT_PATH_MAX], out[64];

	cr_assert_eq(xt_ns_create("a"), 0);
	cr_assert_eq(xt_bpffs_mount("a", path, sizeof(path)), 0);
	cr_expect(is_mounted(path));
	cr_assert_eq(xt_ns_sh("a", out, sizeof(out), "stat -f -c %%T %s", path), 0);
	cr_expect_str_eq(out, "bpf_fs\n", "setns child sees the mount");
	cr_assert_eq(xt_ns_sh(NULL, out, sizeof(out), "ip netns exec %s stat -f -c %%T %s",
			      xt_ns_full("a"), path), 0);
	cr_expect_str_eq(out, "bpf_fs\n", "`ip netns exec` sees the mount");
	cr_assert_eq(xt_bpffs_umount("a"), 0);
	cr_expect_not(is_mounted(path));
}

Test(netns_harness, leftover_namespace_is_replaced)
{
	char out[64];

	cr_assert_eq(xt_ns_create("a"), 0);
	cr_assert_eq(xt_veth("a", "old0", "a", "old1"), 0);
	/* a killed test of the same run left "a" behind: creating it again
	 * starts from an empty namespace */
	cr_assert_eq(xt_ns_create("a"), 0);
	cr_assert_eq(xt_ns_sh("a", out, sizeof(out), "ip -o link show | wc -l"), 0);
	cr_expect_eq(atoi(out), 1);
}

Test(netns_harness, exit_tears_down)
{
	struct made m;
	int status;
	pid_t pid = fork_child("e", END_EXIT, &m);

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_all_gone(&m);
	cr_expect_neq(access(m.state, F_OK), 0, "private state dir %s removed", m.state);
}

Test(netns_harness, sigterm_tears_down)
{
	struct made m;
	int status;
	pid_t pid = fork_child("t", END_SIGTERM, &m);

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
		  "the handler re-raises the signal");
	assert_all_gone(&m);
}

Test(netns_harness, sigkill_then_sweep_leaves_nothing)
{
	char out[256];
	struct made m;
	int status;
	pid_t pid = fork_child("k", END_WAIT_FOR_KILL, &m);

	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	/* nothing ran in the killed process: its objects are still there */
	cr_expect(ns_file_exists(m.ns_full), "SIGKILL leaves the namespace");
	cr_expect(is_mounted(m.bpffs), "SIGKILL leaves the mount");
	cr_expect_eq(kill(m.root_pid, 0), 0, "SIGKILL leaves the detached process");

	cr_assert_eq(xt_ns_sh(NULL, out, sizeof(out), "%s %s", sweep_path(), m.prefix), 0,
		     "sweep %s", m.prefix);
	assert_all_gone(&m);
	cr_expect_neq(access(m.state, F_OK), 0, "state dir %s removed", m.state);
	cr_assert_eq(xt_ns_sh(NULL, out, sizeof(out), "ip netns list | grep -c '^%s-' || true",
			      m.prefix), 0);
	cr_expect_eq(atoi(out), 0, "no namespace of %s left", m.prefix);
}

/* ---------- gobgpd ---------- */

#define IMET_KEY "[type:multicast][rd:192.0.2.1:100][etag:0][ip:192.0.2.1]"
#define IMET_ARGS "multicast 192.0.2.1 etag 0 rd 192.0.2.1:100 rt 65000:100 encap vxlan " \
		  "pmsi ingress-repl 100 192.0.2.1"

Test(netns_harness, two_gobgpd_exchange_evpn_route, .timeout = 180)
{
	struct xt_gobgpd_config ca = {
		.ns = "a", .router_id = "192.0.2.1", .as = 65000, .local_address = "192.0.2.1",
		.n_neighbors = 1, .neighbors = { { .address = "192.0.2.2" } },
	};
	struct xt_gobgpd_config cb = {
		.ns = "b", .router_id = "192.0.2.2", .as = 65000, .local_address = "192.0.2.2",
		.n_neighbors = 1, .neighbors = { { .address = "192.0.2.1", .passive = true } },
	};
	struct xt_gobgpd ga, gb;
	char out[256];
	int n = -1;

	cr_assert_eq(two_namespaces(), 0);
	cr_assert_eq(xt_gobgpd_start(&ca, &ga), 0);
	cr_assert_eq(xt_gobgpd_start(&cb, &gb), 0);
	cr_assert_eq(xt_gobgpd_wait_established(&ga, "192.0.2.2", 60000), 0);
	cr_assert_eq(xt_gobgpd_wait_established(&gb, "192.0.2.1", 60000), 0);
	cr_expect_eq(xt_gobgpd_rib_count(&gb, "evpn", NULL), 0, "b starts with no EVPN route");

	cr_assert_eq(xt_gobgp_cli(&ga, out, sizeof(out), "global rib -a evpn add " IMET_ARGS),
		     0, "IMET added on a");
	cr_expect_eq(xt_gobgpd_wait_rib(&gb, "evpn", IMET_KEY, 1, 20000), 1,
		     "b learns the IMET route from a");

	cr_assert_eq(xt_gobgp_cli(&ga, out, sizeof(out), "global rib -a evpn del " IMET_ARGS), 0);
	for (int i = 0; i < 100 && (n = xt_gobgpd_rib_count(&gb, "evpn", IMET_KEY)) != 0; i++)
		xt_sleep_ms(100);
	cr_expect_eq(n, 0, "the withdrawal reaches b");

	pid_t pa = ga.proc.pid;
	cr_expect_eq(xt_gobgpd_stop(&ga), 0);
	cr_expect(pid_gone(pa), "gobgpd stopped by pid");
	cr_expect_eq(access(ga.log_path, R_OK), 0, "log kept at %s", ga.log_path);
}
