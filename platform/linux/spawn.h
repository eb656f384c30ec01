/* SPDX-License-Identifier: MIT */
/* Child programs that die with the plugin: iptables, ebtables and a delegated IPAM plugin are
 * started by spawn_start in a process group of their own with PR_SET_PDEATHSIG(SIGKILL), so a
 * plugin killed mid-call (SIGKILL, a runtime's timeout) takes its child with it instead of
 * leaving it to add a rule after DEL cleaned up; spawn_reap kills whatever is left in the group
 * once the child ends, and the whole group at once on a timeout. Linux only (Windows runs no
 * child programs). */
#ifndef AZCNI_SPAWN_H
#define AZCNI_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/error.h"

#define SPAWN_TIMEOUT_MS 60000u /* default bound on one child (AZURE_CNI_EXEC_TIMEOUT_MS) */

/* What to run. Descriptors are the child's stdin/stdout/stderr (dup2'd; -1: /dev/null); the
 * caller's other descriptors are O_CLOEXEC, so the child gets these three only. */
struct spawn_opts {
	const char *path;             /* program path, or a name looked up in PATH when @search */
	const char *const *argv;      /* NULL-terminated, argv[0] included */
	bool search;                  /* execvp instead of execv */
	int stdin_fd, stdout_fd, stderr_fd;
	const char *env_name;         /* one variable set in the child only (NULL: none) */
	const char *env_value;
};

/* spawn_start - fork and exec @o. The child makes itself a process-group leader, asks for
 * SIGKILL when the plugin dies (PR_SET_PDEATHSIG) and exits at once (127) if the plugin died
 * before that request took effect; SIGPIPE is back to its default there. An exec failure is
 * exit status 127 with "exec <path>: <reason>" on the child's stderr. Returns 0 with *ret_pid
 * (the child's PID = its process group ID; the caller must spawn_reap it), or negative errno
 * with code @code naming @o->path (fork failed). */
int spawn_start(const struct spawn_opts *o, int code, pid_t *ret_pid, struct cni_error *err);

/* spawn_reap - end child @pid of spawn_start: with @kill_now its whole group is killed first
 * (timeout, the caller gives up); then wait for it to exit (without reaping it, so its PID,
 * which is the group ID, cannot be reused meanwhile), kill whatever it left in its group
 * (SIGKILL), and reap it. Returns 0 with *ret_status (waitpid status), or negative errno. */
int spawn_reap(pid_t pid, bool kill_now, int *ret_status);

/* spawn_pidfd - a descriptor (O_CLOEXEC, caller closes) that polls readable once child @pid
 * has exited (pidfd_open, Linux 5.3+), so the caller stops reading its output when it exits
 * rather than when the last holder of its stdout (something it left running) closes it.
 * Returns the fd, or -1 where the kernel has no pidfd_open (then read to EOF). */
int spawn_pidfd(pid_t pid);

/* spawn_timeout_ms - the bound on one child, in ms: AZURE_CNI_EXEC_TIMEOUT_MS (1..3600000)
 * when set and valid, else SPAWN_TIMEOUT_MS. */
unsigned spawn_timeout_ms(void);

/* spawn_now_ms - CLOCK_MONOTONIC in ms, for deadlines. */
long long spawn_now_ms(void);

#endif
