/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Network-namespace test library: namespaces, veths, processes and bpffs
 * mounts named after the run prefix, with guaranteed teardown.
 *
 * Naming
 *   run prefix  $XEVPN_TEST_RUN, or "xt<pid>" when unset (the pid of the
 *               process that first calls xt_init()).
 *   namespace   "<prefix>-<name>"          (ip netns list shows it)
 *   state dir   /run/xevpn-test/<prefix>/  pids/<label>.<pid>.pid, logs/, bpf-<name>/
 *   links       created directly inside their namespaces, so their names
 *               are local to the namespace (at most 15 chars, IFNAMSIZ);
 *               nothing is ever created in the root network namespace.
 *
 * Teardown
 *   Everything created through this library is recorded in a registry owned
 *   by the creating process and removed, in reverse order, by xt_cleanup().
 *   It runs from atexit(), from SIGINT/SIGTERM/SIGABRT/SIGHUP handlers (using
 *   only async-signal-safe syscalls), and should be called from a Criterion
 *   .fini. A child forked by the test never tears down its parent's objects.
 *   If the process is SIGKILLed, `selftests/sweep <prefix>` (run by the test
 *   runner after every suite) removes what is left from the pidfiles, the
 *   namespace names and the mounts under the state dir.
 *
 * All functions return 0 (or a non-negative value) on success and a negative
 * errno on failure, after printing one line to stderr saying what failed.
 */
#ifndef XEVPN_SELFTESTS_NETNS_H
#define XEVPN_SELFTESTS_NETNS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define XT_NS_NAME_MAX   64   /* full namespace name, incl. prefix */
#define XT_PATH_MAX      256
#define XT_STATE_ROOT    "/run/xevpn-test"

/* Initialise the run prefix and state dir, install the exit/signal hooks.
 * Idempotent; every other function calls it implicitly. */
int xt_init(void);
/* Start a fresh registry under another prefix in a forked child (for tests
 * of the teardown itself). Fails if objects were already created here. */
int xt_init_prefix(const char *prefix);
/* Tear down everything this process created, newest first. Idempotent. */
void xt_cleanup(void);

const char *xt_prefix(void);       /* "xt1234" */
const char *xt_state_dir(void);    /* "/run/xevpn-test/xt1234" */

/* Namespaces. `name` is the short name ("leaf1"); the full name is returned
 * by xt_ns_full(). A leftover namespace of the same full name (from a test
 * of the same run that was killed) is removed first. */
int xt_ns_create(const char *name);
int xt_ns_delete(const char *name);
bool xt_ns_exists(const char *name);
/* Full name "<prefix>-<name>" in a static rotating buffer (4 slots). */
const char *xt_ns_full(const char *name);

/* Switch the calling thread into namespace `name` (NULL = root namespace)
 * and back. Sockets created in between stay in that namespace. Not nested. */
int xt_ns_enter(const char *name);
int xt_ns_leave(void);
/* socket(2) created inside namespace `ns`. */
int xt_ns_socket(const char *ns, int domain, int type, int protocol);

/* Links (ns NULL = root namespace is refused for creation). */
int xt_veth(const char *ns_a, const char *if_a, const char *ns_b, const char *if_b);
int xt_bridge(const char *ns, const char *br);
int xt_link_master(const char *ns, const char *ifname, const char *master);
int xt_link_up(const char *ns, const char *ifname);
int xt_link_down(const char *ns, const char *ifname);
int xt_link_mtu(const char *ns, const char *ifname, unsigned int mtu);
int xt_link_mac(const char *ns, const char *ifname, const char *mac);
/* Turn TX checksum offload off, so frames leave with a full checksum (a
 * CHECKSUM_PARTIAL skb XDP-redirected by a leaf would arrive unfixable). */
int xt_link_txcsum_off(const char *ns, const char *ifname);
int xt_addr_add(const char *ns, const char *ifname, const char *cidr);
/* ifindex of `ifname` inside `ns`, or negative errno. */
int xt_ifindex(const char *ns, const char *ifname);
/* sysctl inside the namespace, e.g. ("net/ipv6/conf/all/disable_ipv6", "1"). */
int xt_sysctl(const char *ns, const char *key, const char *value);

struct xt_link_info {
	int ifindex;
	unsigned int mtu;
	unsigned int flags;          /* IFF_* */
	bool carrier;
	uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes, rx_dropped, tx_dropped;
};
/* Link state and counters read over rtnetlink inside `ns`. */
int xt_link_info(const char *ns, const char *ifname, struct xt_link_info *info);

/* Run "ip -n <full ns> <args>" (ns NULL: plain "ip <args>"); 0 on exit 0. */
int xt_ip(const char *ns, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Run argv[0] (PATH searched) in `ns` (NULL = root) with fork + setns: the
 * child keeps the root mount namespace, so /sys/fs/bpf and every bpffs under
 * the state dir stay visible (unlike `ip netns exec`). Returns the exit
 * status (0..255), 128+signal, or a negative errno. If `out` is not NULL,
 * stdout is captured there (NUL-terminated, truncated to outlen-1) and
 * stderr goes to our stderr. `timeout_ms` 0 means 30 s. */
int xt_ns_run(const char *ns, char *const argv[], char *out, size_t outlen, int timeout_ms);
/* Same, through "/bin/sh -c <formatted command>". */
int xt_ns_sh(const char *ns, char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Background processes. */
#define XT_SPAWN_NO_PDEATHSIG  (1u << 0)  /* survive the test process's death */

struct xt_proc {
	pid_t pid;
	bool exited;                 /* reaped; `status` holds its wait status */
	int status;
	char label[32];
	char pidfile[XT_PATH_MAX];
	char logfile[XT_PATH_MAX];
};
/* Start argv in `ns` (NULL = root) as its own process group, stdout+stderr
 * appended to `logfile` (NULL: <state>/logs/<label>.log), pidfile
 * <state>/pids/<label>.<pid>.pid holding "<pid> <starttime>". Unless
 * XT_SPAWN_NO_PDEATHSIG, the process is SIGKILLed if the test dies. Fails
 * (and reaps) if exec fails. */
int xt_spawn(const char *ns, const char *label, char *const argv[], const char *logfile,
	     unsigned int flags, struct xt_proc *proc);
/* true while the process has not exited (reaps it if it has). */
bool xt_proc_alive(struct xt_proc *proc);
/* SIGTERM, wait up to timeout_ms (0 = 3000), then SIGKILL; reap, remove the
 * pidfile and unregister. Returns the wait status decoded like xt_ns_run. */
int xt_proc_stop(struct xt_proc *proc, int timeout_ms);
/* SIGKILL and reap now (for crash tests); the pidfile is removed. */
int xt_proc_kill(struct xt_proc *proc);

/* Private bpffs at <state>/bpf-<name>, mounted from the root mount
 * namespace, so it is visible from `ip netns exec` and setns() children. */
int xt_bpffs_mount(const char *name, char *path, size_t pathlen);
int xt_bpffs_umount(const char *name);

/* Monotonic milliseconds and a poll helper. */
uint64_t xt_now_ms(void);
void xt_sleep_ms(unsigned int ms);
/* Print the last `lines` lines of `path` to stderr with a header. */
void xt_dump_tail(const char *path, int lines);

#endif
