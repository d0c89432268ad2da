// SPDX-License-Identifier: GPL-2.0
/* Network-namespace test library; see netns.h for naming and teardown. */
#include "netns.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define NETNS_RUN_DIR "/run/netns"
#define XT_MAX_OBJS   256
#define XT_ENTER_MAX  4

enum xt_obj_kind { XT_OBJ_NS = 1, XT_OBJ_PROC, XT_OBJ_MOUNT };

/* One thing to undo. Paths are fixed arrays so the signal-path teardown
 * needs no allocation. `owner` is the pid that created it: a forked child
 * never tears down its parent's objects. */
struct xt_obj {
	int kind;
	pid_t owner;
	pid_t pid;                      /* XT_OBJ_PROC */
	char path[XT_PATH_MAX];         /* ns file, mount point or pidfile */
	char name[XT_NS_NAME_MAX];      /* full ns name (XT_OBJ_NS) */
};

static struct {
	pid_t init_pid;                 /* process that owns this state */
	bool prefix_from_env;
	char prefix[32];
	char state[XT_PATH_MAX];
	int orig_netns;                 /* our netns at init, to come back to */
	int enter_stack[XT_ENTER_MAX];
	int enter_depth;
	struct xt_obj objs[XT_MAX_OBJS];
	int nobjs;
	bool hooks_installed;
	struct sigaction old_act[NSIG];
} xt;

static const int xt_signals[] = { SIGINT, SIGTERM, SIGABRT, SIGHUP, SIGQUIT };

#define xt_err(fmt, ...) fprintf(stderr, "netns: " fmt "\n", ##__VA_ARGS__)

/* ---------- small utilities ---------- */

uint64_t xt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void xt_sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[XT_PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static bool valid_name(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

static int write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, data, strlen(data));
	close(fd);
	return n == (ssize_t)strlen(data) ? 0 : -EIO;
}

void xt_dump_tail(const char *path, int lines)
{
	char buf[16384];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t size;
	char *p;

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	p = buf + n;
	for (int seen = 0; p > buf; p--)
		if (p[-1] == '\n' && ++seen > lines)
			break;
	fprintf(stderr, "----- last %d lines of %s -----\n%s----- end of %s -----\n", lines, path,
		p, path);
}

/* ---------- registry ---------- */

static struct xt_obj *obj_add(int kind)
{
	struct xt_obj *o;

	if (xt.nobjs >= XT_MAX_OBJS) {
		xt_err("too many objects (max %d)", XT_MAX_OBJS);
		return NULL;
	}
	o = &xt.objs[xt.nobjs];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->owner = getpid();
	xt.nobjs++;
	return o;
}

static void obj_del(struct xt_obj *o)
{
	int i = (int)(o - xt.objs);

	memmove(&xt.objs[i], &xt.objs[i + 1], (size_t)(xt.nobjs - i - 1) * sizeof(*o));
	xt.nobjs--;
}

static struct xt_obj *obj_find(int kind, pid_t pid, const char *path)
{
	for (int i = xt.nobjs - 1; i >= 0; i--) {
		struct xt_obj *o = &xt.objs[i];

		if (o->kind != kind || o->owner != getpid())
			continue;
		if (kind == XT_OBJ_PROC ? o->pid == pid : !strcmp(o->path, path))
			return o;
	}
	return NULL;
}

/* Async-signal-safe teardown: kill, detach, unlink. No waiting, no malloc. */
static void cleanup_fast(void)
{
	pid_t me = getpid();

	if (xt.enter_depth > 0)
		setns(xt.orig_netns, CLONE_NEWNET);
	for (int i = xt.nobjs - 1; i >= 0; i--) {
		struct xt_obj *o = &xt.objs[i];

		if (o->owner != me)
			continue;
		switch (o->kind) {
		case XT_OBJ_PROC:
			kill(-o->pid, SIGKILL);
			kill(o->pid, SIGKILL);
			unlink(o->path);
			break;
		case XT_OBJ_MOUNT:
			umount2(o->path, MNT_DETACH);
			rmdir(o->path);
			break;
		case XT_OBJ_NS:
			umount2(o->path, MNT_DETACH);
			unlink(o->path);
			break;
		}
		o->owner = 0;
	}
}

static void signal_handler(int sig)
{
	int saved = errno;

	cleanup_fast();
	sigaction(sig, &xt.old_act[sig], NULL);
	errno = saved;
	raise(sig);
}

static void atexit_handler(void)
{
	xt_cleanup();
}

static int init_common(const char *prefix, bool from_env)
{
	int err;

	memset(&xt, 0, sizeof(xt));
	xt.orig_netns = -1;
	if (!valid_name(prefix, 20)) {
		xt_err("bad run prefix '%s' (1-20 chars of [A-Za-z0-9._-])", prefix ? prefix : "");
		return -EINVAL;
	}
	snprintf(xt.prefix, sizeof(xt.prefix), "%s", prefix);
	xt.prefix_from_env = from_env;
	snprintf(xt.state, sizeof(xt.state), XT_STATE_ROOT "/%s", xt.prefix);
	err = mkdir_p(xt.state, 0755);
	if (!err) {
		char d[XT_PATH_MAX + 8];

		snprintf(d, sizeof(d), "%s/pids", xt.state);
		err = mkdir_p(d, 0755);
		snprintf(d, sizeof(d), "%s/logs", xt.state);
		if (!err)
			err = mkdir_p(d, 0755);
	}
	if (err) {
		xt_err("cannot create state dir %s: %s", xt.state, strerror(-err));
		return err;
	}
	xt.orig_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (xt.orig_netns < 0) {
		err = -errno;
		xt_err("open /proc/self/ns/net: %s", strerror(errno));
		return err;
	}
	setenv("XEVPN_TEST_RUN", xt.prefix, 1);
	xt.init_pid = getpid();
	/* atexit handlers survive fork, and xt_cleanup() only touches objects
	 * of the calling pid, so one registration per process image is enough;
	 * signal handlers likewise. */
	static bool atexit_done;
	if (!atexit_done) {
		atexit(atexit_handler);
		atexit_done = true;
	}
	for (size_t i = 0; i < sizeof(xt_signals) / sizeof(xt_signals[0]); i++) {
		struct sigaction sa = { .sa_handler = signal_handler };

		sigemptyset(&sa.sa_mask);
		sigaction(xt_signals[i], &sa, &xt.old_act[xt_signals[i]]);
		if (xt.old_act[xt_signals[i]].sa_handler == signal_handler)
			xt.old_act[xt_signals[i]].sa_handler = SIG_DFL;
	}
	xt.hooks_installed = true;
	return 0;
}

int xt_init(void)
{
	const char *env;
	char def[32];

	if (xt.init_pid == getpid())
		return 0;
	env = getenv("XEVPN_TEST_RUN");
	if (env && *env)
		return init_common(env, true);
	snprintf(def, sizeof(def), "xt%d", (int)getpid());
	return init_common(def, false);
}

int xt_init_prefix(const char *prefix)
{
	if (xt.init_pid == getpid()) {
		for (int i = 0; i < xt.nobjs; i++)
			if (xt.objs[i].owner == getpid()) {
				xt_err("xt_init_prefix after objects were created");
				return -EBUSY;
			}
	}
	/* a private sub-run: its state dir goes away with it */
	return init_common(prefix, false);
}

const char *xt_prefix(void)
{
	xt_init();
	return xt.prefix;
}

const char *xt_state_dir(void)
{
	xt_init();
	return xt.state;
}

/* ---------- running commands ---------- */

static int ns_open(const char *ns)
{
	char path[XT_PATH_MAX];
	int fd;

	if (!ns)
		return fcntl(xt.orig_netns, F_DUPFD_CLOEXEC, 0);
	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", xt_ns_full(ns));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int decode_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -EIO;
}

/* waitpid with a deadline; kills the child when it passes. */
static int wait_deadline(pid_t pid, uint64_t deadline, int *status)
{
	unsigned int nap = 1;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (xt_now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			return -ETIMEDOUT;
		}
		xt_sleep_ms(nap);
		if (nap < 20)
			nap *= 2;
	}
}

/* In a freshly forked child: die with the parent, join `nsfd`. */
static void child_setup(pid_t parent, int nsfd)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(126);
	if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET)) {
		fprintf(stderr, "netns: setns: %s\n", strerror(errno));
		_exit(126);
	}
	for (size_t i = 0; i < sizeof(xt_signals) / sizeof(xt_signals[0]); i++)
		signal(xt_signals[i], SIG_DFL);
}

int xt_ns_run(const char *ns, char *const argv[], char *out, size_t outlen, int timeout_ms)
{
	int pipefd[2] = { -1, -1 }, nsfd, status = 0, err;
	uint64_t deadline;
	size_t used = 0;
	pid_t pid, parent = getpid();

	if ((err = xt_init()))
		return err;
	nsfd = ns_open(ns);
	if (nsfd < 0) {
		xt_err("namespace %s: %s", ns ? xt_ns_full(ns) : "root", strerror(-nsfd));
		return nsfd;
	}
	if (out && pipe2(pipefd, O_CLOEXEC)) {
		err = -errno;
		close(nsfd);
		return err;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(nsfd);
		if (out) {
			close(pipefd[0]);
			close(pipefd[1]);
		}
		return err;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		child_setup(parent, nsfd);
		dup2(null, 0);
		if (out)
			dup2(pipefd[1], 1);
		execvp(argv[0], argv);
		fprintf(stderr, "netns: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(nsfd);
	deadline = xt_now_ms() + (timeout_ms > 0 ? (uint64_t)timeout_ms : 30000);
	if (out) {
		close(pipefd[1]);
		for (;;) {
			struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
			uint64_t now = xt_now_ms();
			char sink[512];
			ssize_t n;

			if (now >= deadline)
				break;
			if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
				continue;
			if (used + 1 < outlen)
				n = read(pipefd[0], out + used, outlen - 1 - used);
			else
				n = read(pipefd[0], sink, sizeof(sink));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (used + 1 < outlen)
				used += (size_t)n;
		}
		close(pipefd[0]);
		if (outlen)
			out[used] = '\0';
	}
	err = wait_deadline(pid, deadline, &status);
	if (err == -ETIMEDOUT) {
		xt_err("%s timed out after %d ms", argv[0], timeout_ms > 0 ? timeout_ms : 30000);
		return err;
	}
	if (err)
		return err;
	return decode_status(status);
}

int xt_ns_sh(const char *ns, char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return xt_ns_run(ns, argv, out, outlen, 0);
}

int xt_ip(const char *ns, const char *fmt, ...)
{
	char cmd[1024], shown[1024], *argv[64];
	int argc = 0, rc;
	va_list ap;

	argv[argc++] = "ip";
	if (ns) {
		argv[argc++] = "-n";
		argv[argc++] = (char *)xt_ns_full(ns);
	}
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	memcpy(shown, cmd, sizeof(shown));
	for (char *tok = strtok(cmd, " \t\n"); tok && argc < 63; tok = strtok(NULL, " \t\n"))
		argv[argc++] = tok;
	argv[argc] = NULL;
	rc = xt_ns_run(NULL, argv, NULL, 0, 0);
	if (rc) {
		xt_err("ip%s%s %s: exit %d", ns ? " -n " : "", ns ? argv[2] : "", shown, rc);
		return rc < 0 ? rc : -EIO;
	}
	return 0;
}

/* ---------- namespaces ---------- */

const char *xt_ns_full(const char *name)
{
	static char bufs[4][XT_NS_NAME_MAX];
	static unsigned int slot;
	char *b = bufs[slot++ % 4];

	xt_init();
	snprintf(b, XT_NS_NAME_MAX, "%s-%s", xt.prefix, name);
	return b;
}

/* SIGKILL every process whose netns is the one bound at `path`. */
static void kill_ns_procs(const char *path)
{
	struct stat nst, pst;
	struct dirent *de;
	DIR *d;
	bool again = true;

	if (stat(path, &nst))
		return;
	for (int round = 0; round < 20 && again; round++) {
		again = false;
		d = opendir("/proc");
		if (!d)
			return;
		while ((de = readdir(d))) {
			char p[64];
			pid_t pid = (pid_t)atoi(de->d_name);

			if (pid <= 0 || pid == getpid())
				continue;
			snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
			if (stat(p, &pst) || pst.st_ino != nst.st_ino || pst.st_dev != nst.st_dev)
				continue;
			kill(pid, SIGKILL);
			again = true;
		}
		closedir(d);
		if (again)
			xt_sleep_ms(20);
	}
}

static void ns_remove_path(const char *path)
{
	kill_ns_procs(path);
	if (umount2(path, MNT_DETACH) && errno != EINVAL && errno != ENOENT)
		xt_err("umount %s: %s", path, strerror(errno));
	if (unlink(path) && errno != ENOENT)
		xt_err("unlink %s: %s", path, strerror(errno));
}

int xt_ns_create(const char *name)
{
	char path[XT_PATH_MAX];
	struct xt_obj *o;
	int err;

	if ((err = xt_init()))
		return err;
	if (!valid_name(name, XT_NS_NAME_MAX - strlen(xt.prefix) - 2)) {
		xt_err("bad namespace name '%s'", name ? name : "");
		return -EINVAL;
	}
	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", xt_ns_full(name));
	if (access(path, F_OK) == 0) {
		/* a test of this run was killed before it could clean up */
		xt_err("removing leftover namespace %s", xt_ns_full(name));
		ns_remove_path(path);
	}
	o = obj_add(XT_OBJ_NS);
	if (!o)
		return -ENOSPC;
	snprintf(o->path, sizeof(o->path), "%s", path);
	snprintf(o->name, sizeof(o->name), "%s", xt_ns_full(name));
	err = xt_ip(NULL, "netns add %s", o->name);
	if (err) {
		obj_del(o);
		return err;
	}
	err = xt_ip(name, "link set lo up");
	return err;
}

bool xt_ns_exists(const char *name)
{
	char path[XT_PATH_MAX];

	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", xt_ns_full(name));
	return access(path, F_OK) == 0;
}

int xt_ns_delete(const char *name)
{
	char path[XT_PATH_MAX];
	struct xt_obj *o;

	xt_init();
	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", xt_ns_full(name));
	/* processes we spawned in there first, gracefully */
	for (int i = xt.nobjs - 1; i >= 0; i--) {
		struct xt_obj *p = &xt.objs[i];
		char nspath[64];
		struct stat a, b;

		if (p->kind != XT_OBJ_PROC || p->owner != getpid())
			continue;
		snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)p->pid);
		if (stat(nspath, &a) || stat(path, &b) || a.st_ino != b.st_ino)
			continue;
		struct xt_proc tmp = { .pid = p->pid };
		snprintf(tmp.pidfile, sizeof(tmp.pidfile), "%s", p->path);
		xt_proc_stop(&tmp, 1000);
	}
	ns_remove_path(path);
	o = obj_find(XT_OBJ_NS, 0, path);
	if (o)
		obj_del(o);
	return 0;
}

int xt_ns_enter(const char *name)
{
	int fd, cur, err;

	if ((err = xt_init()))
		return err;
	if (xt.enter_depth >= XT_ENTER_MAX)
		return -EBUSY;
	fd = ns_open(name);
	if (fd < 0) {
		xt_err("enter %s: %s", name ? xt_ns_full(name) : "root", strerror(-fd));
		return fd;
	}
	cur = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (cur < 0 || setns(fd, CLONE_NEWNET)) {
		err = -errno;
		xt_err("setns %s: %s", name ? xt_ns_full(name) : "root", strerror(errno));
		if (cur >= 0)
			close(cur);
		close(fd);
		return err;
	}
	close(fd);
	xt.enter_stack[xt.enter_depth++] = cur;
	return 0;
}

int xt_ns_leave(void)
{
	int fd, err = 0;

	if (xt.enter_depth <= 0)
		return -EINVAL;
	fd = xt.enter_stack[--xt.enter_depth];
	if (setns(fd, CLONE_NEWNET)) {
		err = -errno;
		xt_err("setns back: %s", strerror(errno));
	}
	close(fd);
	return err;
}

int xt_ns_socket(const char *ns, int domain, int type, int protocol)
{
	int fd, err;

	if ((err = xt_ns_enter(ns)))
		return err;
	fd = socket(domain, type, protocol);
	err = fd < 0 ? -errno : fd;
	xt_ns_leave();
	return err;
}

/* ---------- links ---------- */

static int check_ifname(const char *ifname)
{
	if (!valid_name(ifname, IFNAMSIZ - 1)) {
		xt_err("bad interface name '%s' (1-%d chars)", ifname ? ifname : "", IFNAMSIZ - 1);
		return -EINVAL;
	}
	return 0;
}

int xt_veth(const char *ns_a, const char *if_a, const char *ns_b, const char *if_b)
{
	int err;

	if (!ns_a || !ns_b) {
		xt_err("veth ends must live in test namespaces");
		return -EINVAL;
	}
	if ((err = check_ifname(if_a)) || (err = check_ifname(if_b)))
		return err;
	return xt_ip(ns_a, "link add %s type veth peer name %s netns %s", if_a, if_b,
		     xt_ns_full(ns_b));
}

int xt_bridge(const char *ns, const char *br)
{
	int err;

	if ((err = check_ifname(br)))
		return err;
	return xt_ip(ns, "link add %s type bridge mcast_snooping 0", br);
}

int xt_link_master(const char *ns, const char *ifname, const char *master)
{
	return xt_ip(ns, "link set dev %s master %s", ifname, master);
}

int xt_link_up(const char *ns, const char *ifname)
{
	return xt_ip(ns, "link set dev %s up", ifname);
}

int xt_link_down(const char *ns, const char *ifname)
{
	return xt_ip(ns, "link set dev %s down", ifname);
}

int xt_link_mtu(const char *ns, const char *ifname, unsigned int mtu)
{
	return xt_ip(ns, "link set dev %s mtu %u", ifname, mtu);
}

int xt_link_mac(const char *ns, const char *ifname, const char *mac)
{
	return xt_ip(ns, "link set dev %s address %s", ifname, mac);
}

int xt_link_txcsum_off(const char *ns, const char *ifname)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_STXCSUM, .data = 0 };
	struct ifreq ifr = { .ifr_data = (void *)&ev };
	int fd, err = 0;

	if ((err = check_ifname(ifname)))
		return err;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	fd = xt_ns_socket(ns, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	if (ioctl(fd, SIOCETHTOOL, &ifr)) {
		err = -errno;
		xt_err("tx checksum off on %s: %s", ifname, strerror(errno));
	}
	close(fd);
	return err;
}

int xt_addr_add(const char *ns, const char *ifname, const char *cidr)
{
	return xt_ip(ns, "addr add %s dev %s", cidr, ifname);
}

int xt_ifindex(const char *ns, const char *ifname)
{
	unsigned int idx;
	int err;

	if ((err = xt_ns_enter(ns)))
		return err;
	idx = if_nametoindex(ifname);
	err = idx ? (int)idx : -errno;
	xt_ns_leave();
	return err;
}

int xt_sysctl(const char *ns, const char *key, const char *value)
{
	char path[XT_PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	if ((err = xt_ns_enter(ns)))
		return err;
	err = write_file(path, value);
	xt_ns_leave();
	if (err)
		xt_err("sysctl %s=%s in %s: %s", key, value, ns ? xt_ns_full(ns) : "root",
		       strerror(-err));
	return err;
}

struct link_cb_ctx {
	struct xt_link_info *info;
	bool found;
};

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	struct link_cb_ctx *ctx = data;

	switch (mnl_attr_get_type(attr)) {
	case IFLA_MTU:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
			ctx->info->mtu = mnl_attr_get_u32(attr);
		break;
	case IFLA_CARRIER:
		if (mnl_attr_validate(attr, MNL_TYPE_U8) >= 0)
			ctx->info->carrier = mnl_attr_get_u8(attr);
		break;
	case IFLA_STATS64:
		if (mnl_attr_get_payload_len(attr) >= sizeof(struct rtnl_link_stats64)) {
			struct rtnl_link_stats64 st;

			memcpy(&st, mnl_attr_get_payload(attr), sizeof(st));
			ctx->info->rx_packets = st.rx_packets;
			ctx->info->tx_packets = st.tx_packets;
			ctx->info->rx_bytes = st.rx_bytes;
			ctx->info->tx_bytes = st.tx_bytes;
			ctx->info->rx_dropped = st.rx_dropped;
			ctx->info->tx_dropped = st.tx_dropped;
		}
		break;
	}
	return MNL_CB_OK;
}

static int link_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_cb_ctx *ctx = data;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

	ctx->info->ifindex = ifm->ifi_index;
	ctx->info->flags = ifm->ifi_flags;
	ctx->found = true;
	return mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, data);
}

int xt_link_info(const char *ns, const char *ifname, struct xt_link_info *info)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct link_cb_ctx ctx = { .info = info };
	struct mnl_socket *nl = NULL;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	int fd, idx, err = 0;
	ssize_t n;

	memset(info, 0, sizeof(*info));
	idx = xt_ifindex(ns, ifname);
	if (idx < 0) {
		xt_err("no link %s in %s", ifname, ns ? xt_ns_full(ns) : "root");
		return idx;
	}
	fd = xt_ns_socket(ns, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return fd;
	nl = mnl_socket_fdopen(fd);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = 1;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = idx;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0) {
		err = -errno;
		goto out;
	}
	if (mnl_cb_run(buf, (size_t)n, 1, mnl_socket_get_portid(nl), link_msg_cb, &ctx) < 0)
		err = -errno;
	else if (!ctx.found)
		err = -ENODEV;
out:
	if (nl)
		mnl_socket_close(nl);
	else
		close(fd);
	if (err)
		xt_err("link info %s: %s", ifname, strerror(-err));
	return err;
}

/* ---------- processes ---------- */

/* Field 22 of /proc/<pid>/stat: lets the sweeper tell a recycled pid apart. */
static unsigned long long proc_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long st = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* after ") " come fields 3..; starttime is field 22 */
	for (int field = 3; p && field <= 22; field++) {
		p = strchr(p + 1, ' ');
		if (field == 22 && p)
			st = strtoull(p + 1, NULL, 10);
	}
	return st;
}

int xt_spawn(const char *ns, const char *label, char *const argv[], const char *logfile,
	     unsigned int flags, struct xt_proc *proc)
{
	int nsfd, errpipe[2], child_err = 0, err, status;
	char line[64];
	struct xt_obj *o;
	pid_t pid, parent = getpid();
	ssize_t n;

	memset(proc, 0, sizeof(*proc));
	if ((err = xt_init()))
		return err;
	if (!valid_name(label, sizeof(proc->label) - 1)) {
		xt_err("bad process label '%s'", label ? label : "");
		return -EINVAL;
	}
	snprintf(proc->label, sizeof(proc->label), "%s", label);
	if (logfile)
		snprintf(proc->logfile, sizeof(proc->logfile), "%s", logfile);
	else
		snprintf(proc->logfile, sizeof(proc->logfile), "%s/logs/%s.log", xt.state, label);
	nsfd = ns_open(ns);
	if (nsfd < 0) {
		xt_err("namespace %s: %s", ns ? xt_ns_full(ns) : "root", strerror(-nsfd));
		return nsfd;
	}
	o = obj_add(XT_OBJ_PROC);
	if (!o) {
		close(nsfd);
		return -ENOSPC;
	}
	if (pipe2(errpipe, O_CLOEXEC)) {
		err = -errno;
		obj_del(o);
		close(nsfd);
		return err;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		obj_del(o);
		close(nsfd);
		close(errpipe[0]);
		close(errpipe[1]);
		return err;
	}
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int log = open(proc->logfile, O_WRONLY | O_CREAT | O_APPEND, 0644);

		setpgid(0, 0);
		child_setup(parent, nsfd);
		if (flags & XT_SPAWN_NO_PDEATHSIG)
			prctl(PR_SET_PDEATHSIG, 0);
		if (log < 0) {
			child_err = errno;
			goto fail;
		}
		dup2(in, 0);
		dup2(log, 1);
		dup2(log, 2);
		execvp(argv[0], argv);
		child_err = errno;
fail:
		if (write(errpipe[1], &child_err, sizeof(child_err)) < 0)
			_exit(127);
		_exit(127);
	}
	/* also from the parent, so that kill(-pid) works as soon as we return */
	setpgid(pid, pid);
	close(nsfd);
	close(errpipe[1]);
	o->pid = pid;
	proc->pid = pid;
	do
		n = read(errpipe[0], &child_err, sizeof(child_err));
	while (n < 0 && errno == EINTR);
	close(errpipe[0]);
	if (n == sizeof(child_err)) {
		waitpid(pid, &status, 0);
		obj_del(o);
		xt_err("spawn %s (%s): %s", label, argv[0], strerror(child_err));
		proc->pid = 0;
		return -child_err;
	}
	snprintf(proc->pidfile, sizeof(proc->pidfile), "%s/pids/%s.%d.pid", xt.state, label,
		 (int)pid);
	snprintf(o->path, sizeof(o->path), "%s", proc->pidfile);
	snprintf(line, sizeof(line), "%d %llu\n", (int)pid, proc_starttime(pid));
	{
		int fd = open(proc->pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line))
			xt_err("pidfile %s: %s", proc->pidfile, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

bool xt_proc_alive(struct xt_proc *proc)
{
	pid_t r;

	if (proc->pid <= 0 || proc->exited)
		return false;
	r = waitpid(proc->pid, &proc->status, WNOHANG);
	if (r == proc->pid) {
		proc->exited = true;
		return false;
	}
	if (r < 0 && errno == ECHILD)
		return kill(proc->pid, 0) == 0;
	return true;
}

static void proc_forget(struct xt_proc *proc)
{
	struct xt_obj *o = obj_find(XT_OBJ_PROC, proc->pid, NULL);

	if (proc->pidfile[0])
		unlink(proc->pidfile);
	if (o) {
		unlink(o->path);
		obj_del(o);
	}
}

int xt_proc_stop(struct xt_proc *proc, int timeout_ms)
{
	uint64_t deadline;
	int status = 0;

	if (proc->pid <= 0)
		return -EINVAL;
	if (!proc->exited) {
		kill(proc->pid, SIGTERM);
		deadline = xt_now_ms() + (timeout_ms > 0 ? (uint64_t)timeout_ms : 3000);
		for (;;) {
			pid_t r = waitpid(proc->pid, &status, WNOHANG);

			if (r == proc->pid) {
				proc->exited = true;
				proc->status = status;
				break;
			}
			if (r < 0 && errno == ECHILD) {
				/* not our child: wait for it to vanish */
				if (kill(proc->pid, 0))
					break;
			}
			if (xt_now_ms() >= deadline) {
				kill(-proc->pid, SIGKILL);
				kill(proc->pid, SIGKILL);
				if (waitpid(proc->pid, &status, 0) == proc->pid) {
					proc->exited = true;
					proc->status = status;
				}
				break;
			}
			xt_sleep_ms(10);
		}
	}
	/* whatever the leader left in its process group */
	kill(-proc->pid, SIGKILL);
	proc_forget(proc);
	return proc->exited ? decode_status(proc->status) : 0;
}

int xt_proc_kill(struct xt_proc *proc)
{
	if (proc->pid <= 0)
		return -EINVAL;
	if (!proc->exited) {
		kill(-proc->pid, SIGKILL);
		kill(proc->pid, SIGKILL);
		if (waitpid(proc->pid, &proc->status, 0) == proc->pid)
			proc->exited = true;
	}
	proc_forget(proc);
	return 0;
}

/* ---------- bpffs ---------- */

static bool is_bpffs(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && (unsigned long)sfs.f_type == BPF_FS_MAGIC;
}

int xt_bpffs_mount(const char *name, char *path, size_t pathlen)
{
	char p[XT_PATH_MAX];
	struct xt_obj *o;
	int err;

	if ((err = xt_init()))
		return err;
	if (!valid_name(name, 32)) {
		xt_err("bad bpffs name '%s'", name ? name : "");
		return -EINVAL;
	}
	/* the mount must be made from the root mount namespace */
	snprintf(p, sizeof(p), "%s/bpf-%s", xt.state, name);
	while (is_bpffs(p) && umount2(p, MNT_DETACH) == 0)
		;  /* leftover from a killed test of this run */
	if ((err = mkdir_p(p, 0700)))
		return err;
	if (mount("bpf", p, "bpf", 0, "mode=0700")) {
		err = -errno;
		xt_err("mount bpffs on %s: %s", p, strerror(errno));
		return err;
	}
	o = obj_add(XT_OBJ_MOUNT);
	if (!o) {
		umount2(p, MNT_DETACH);
		return -ENOSPC;
	}
	snprintf(o->path, sizeof(o->path), "%s", p);
	if (path)
		snprintf(path, pathlen, "%s", p);
	return 0;
}

int xt_bpffs_umount(const char *name)
{
	char p[XT_PATH_MAX];
	struct xt_obj *o;

	xt_init();
	snprintf(p, sizeof(p), "%s/bpf-%s", xt.state, name);
	o = obj_find(XT_OBJ_MOUNT, 0, p);
	if (umount2(p, MNT_DETACH) && errno != EINVAL && errno != ENOENT)
		xt_err("umount %s: %s", p, strerror(errno));
	rmdir(p);
	if (o)
		obj_del(o);
	return 0;
}

/* ---------- teardown ---------- */

void xt_cleanup(void)
{
	pid_t me = getpid();

	if (xt.init_pid != me)
		return;
	while (xt.enter_depth > 0)
		xt_ns_leave();
	/* processes first and gracefully, then mounts, then namespaces */
	for (int i = xt.nobjs - 1; i >= 0; i--) {
		struct xt_obj *o = &xt.objs[i];

		if (o->kind == XT_OBJ_PROC && o->owner == me) {
			struct xt_proc tmp = { .pid = o->pid };

			snprintf(tmp.pidfile, sizeof(tmp.pidfile), "%s", o->path);
			xt_proc_stop(&tmp, 1000);
			i = xt.nobjs;  /* the registry shifted */
		}
	}
	for (int i = xt.nobjs - 1; i >= 0; i--) {
		struct xt_obj *o = &xt.objs[i];

		if (o->owner != me)
			continue;
		if (o->kind == XT_OBJ_MOUNT) {
			umount2(o->path, MNT_DETACH);
			rmdir(o->path);
		} else if (o->kind == XT_OBJ_NS) {
			ns_remove_path(o->path);
		}
		o->owner = 0;
	}
	xt.nobjs = 0;
	if (!xt.prefix_from_env) {
		/* our own private run: nothing else can be using the state dir */
		char cmd[XT_PATH_MAX + 16];
		char *argv[] = { "rm", "-rf", cmd, NULL };

		snprintf(cmd, sizeof(cmd), "%s", xt.state);
		if (!strncmp(xt.state, XT_STATE_ROOT "/", strlen(XT_STATE_ROOT) + 1))
			xt_ns_run(NULL, argv, NULL, 0, 5000);
	}
}
