/* SPDX-License-Identifier: MIT */
/* Child programs in their own process group with PR_SET_PDEATHSIG (see spawn.h). */
#define _GNU_SOURCE
#include "spawn.h"
#include "platform/env-ms.h"
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

unsigned spawn_timeout_ms(void)
{
	return platform_env_ms("AZURE_CNI_EXEC_TIMEOUT_MS", SPAWN_TIMEOUT_MS, 1, 3600000ul);
}

long long spawn_now_ms(void)
{
	return platform_monotonic_ns() / 1000000;
}

int spawn_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	/* pidfds are always close-on-exec */
	long fd = syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -1 : (int)fd;
#else
	(void)pid;
	return -1;
#endif
}

/* In the child, between fork and exec: never returns. */
static void child(const struct spawn_opts *o, pid_t parent)
{
	int fds[3] = { o->stdin_fd, o->stdout_fd, o->stderr_fd }, nul = -1;

	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127); /* the plugin is already gone: run nothing on its behalf */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGIO, SIG_DFL); /* platform_file_view catches it in the plugin */
	for (int i = 0; i < 3; i++) {
		if (fds[i] >= 0)
			continue;
		if (nul < 0)
			nul = open("/dev/null", O_RDWR);
		fds[i] = nul;
	}
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0 && dup2(fds[i], i) < 0)
			_exit(127);
	if (o->env_name)
		setenv(o->env_name, o->env_value ? o->env_value : "", 1);
	if (o->search)
		execvp(o->path, (char *const *)o->argv);
	else
		execv(o->path, (char *const *)o->argv);
	dprintf(2, "exec %s: %s", o->path, strerror(errno));
	_exit(127);
}

int spawn_start(const struct spawn_opts *o, int code, pid_t *ret_pid, struct cni_error *err)
{
	pid_t parent = getpid(), pid;

	pid = fork();
	if (pid < 0)
		return cni_error_set(err, -errno, code, "fork %s: %s", o->path, strerror(errno));
	if (pid == 0)
		child(o, parent);
	/* Also here, so the group exists before any kill of it (the child may not have run yet);
	 * EACCES once the child has exec'd: it made itself the leader before that. */
	setpgid(pid, pid);
	*ret_pid = pid;
	return 0;
}

int spawn_reap(pid_t pid, bool kill_now, int *ret_status)
{
	siginfo_t info;
	int status;

	if (kill_now)
		kill(-pid, SIGKILL);
	/* WNOWAIT: the exited child stays a zombie, holding its PID (the group ID) until the
	 * group kill below has been sent. */
	while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) < 0)
		if (errno != EINTR)
			return -errno;
	kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	*ret_status = status;
	return 0;
}
