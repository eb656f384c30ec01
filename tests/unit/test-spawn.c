/* SPDX-License-Identifier: MIT */
/* Child programs die with the plugin (platform/linux/spawn.h, fw_exec): the child leads its own
 * process group; what it leaves running in that group is killed when it exits; a plugin killed
 * mid-call takes its child with it (PR_SET_PDEATHSIG); a hung iptables is killed at the
 * AZURE_CNI_EXEC_TIMEOUT_MS bound. The test process is a child subreaper, so orphans come back
 * to it and their fate is read with waitpid instead of guessed from /proc. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/ipam-exec.h"
#include "platform/linux/fw.h"
#include "platform/linux/spawn.h"

/* Read one decimal PID line from @fd. */
static pid_t read_pid(int fd)
{
	char buf[32];
	size_t used = 0;

	while (used + 1 < sizeof(buf)) {
		ssize_t n = read(fd, buf + used, 1);

		if (n <= 0 || buf[used] == '\n')
			break;
		used++;
	}
	buf[used] = '\0';
	return (pid_t)strtol(buf, NULL, 10);
}

/* How @pid ended, waiting at most @ms: its waitpid status, or -1 if it still runs then. */
static int wait_bounded(pid_t pid, int ms)
{
	int status;

	for (int i = 0; i < ms / 10; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		usleep(10000);
	}
	return -1;
}

static void leftovers_in_the_group_die(void **state)
{
	static const char *const argv[] = { "sh", "-c", "sleep 30 & echo $!; exit 3", NULL };
	struct cni_error err = { 0 };
	int p[2], status;
	pid_t pid, orphan;

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(spawn_start(&(struct spawn_opts){ .path = "sh", .argv = argv,
							  .search = true, .stdin_fd = -1,
							  .stdout_fd = p[1], .stderr_fd = -1 },
				     103, &pid, &err), 0);
	close(p[1]);
	orphan = read_pid(p[0]);
	close(p[0]);
	assert_true(orphan > 0);
	assert_int_equal(getpgid(orphan), pid); /* its own group, led by the child */
	assert_int_not_equal(getpgid(orphan), getpgrp());
	assert_int_equal(spawn_reap(pid, false, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	status = wait_bounded(orphan, 5000);
	assert_int_not_equal(status, -1);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void child_dies_with_the_plugin(void **state)
{
	static const char *const argv[] = { "sh", "-c", "echo $$; exec sleep 30", NULL };
	int p[2], status;
	pid_t plugin, pid;

	(void)state;
	assert_int_equal(pipe(p), 0);
	plugin = fork();
	assert_true(plugin >= 0);
	if (plugin == 0) {
		pid_t c;

		close(p[0]);
		if (spawn_start(&(struct spawn_opts){ .path = "sh", .argv = argv, .search = true,
						     .stdin_fd = -1, .stdout_fd = p[1],
						     .stderr_fd = -1 }, 103, &c, NULL) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	pid = read_pid(p[0]);
	close(p[0]);
	assert_true(pid > 0);
	kill(plugin, SIGKILL);
	assert_int_equal(waitpid(plugin, &status, 0), plugin);
	/* the orphaned child comes back to us (subreaper): killed, not sleeping on */
	status = wait_bounded(pid, 5000);
	if (status == -1)
		kill(pid, SIGKILL), waitpid(pid, NULL, 0);
	assert_int_not_equal(status, -1);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void exec_failure_is_127(void **state)
{
	static const char *const argv[] = { "/nonexistent/iptables", NULL };
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(spawn_start(&(struct spawn_opts){ .path = argv[0], .argv = argv,
							  .stdin_fd = -1, .stdout_fd = -1,
							  .stderr_fd = -1 }, 103, &pid, NULL), 0);
	assert_int_equal(spawn_reap(pid, false, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 127);
}

static void fw_exec_timeout_kills_the_group(void **state)
{
	static const char *const argv[] = { "sh", "-c", "sleep 30 & exec sleep 30", NULL };
	struct cni_error err = { 0 };
	char out[64];
	struct timespec t0, t1;
	long ms;

	(void)state;
	setenv("AZURE_CNI_EXEC_TIMEOUT_MS", "300", 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(fw_exec(argv, out, sizeof(out), &err), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	unsetenv("AZURE_CNI_EXEC_TIMEOUT_MS");
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms < 5000);
	assert_int_equal(err.code, CNI_CODE_TRY_AGAIN);
	assert_non_null(strstr(err.msg, "sh"));
	assert_non_null(strstr(err.msg, "timed out"));
	/* the background sleep of the group came back to us killed, not left running */
	{
		int status = -1;
		pid_t r;

		for (int i = 0; i < 500; i++) {
			r = waitpid(-1, &status, WNOHANG);
			if (r > 0)
				break;
			usleep(10000);
		}
		assert_true(r > 0);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	}
}

static void fw_exec_output_and_status(void **state)
{
	static const char *const argv[] = { "sh", "-c", "echo out; echo err >&2; exit 2", NULL };
	struct cni_error err = { 0 };
	char out[64];

	(void)state;
	assert_int_equal(fw_exec(argv, out, sizeof(out), &err), 2);
	assert_string_equal(out, "out\nerr\n");
	assert_false(cni_error_is_set(&err));
}

/* A delegated IPAM plugin that answers, leaves a job holding its stdout and exits: the call
 * ends when the plugin exits (not 30 s later, when the job would close the pipe), with its
 * result, and the job is killed. */
static void ipam_exec_ends_with_the_plugin(void **state)
{
	static const char script[] =
		"#!/bin/sh\n"
		"cat >/dev/null\n"
		"echo '{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.0.5/24\"}]}'\n"
		"sleep 30 &\n"
		"exit 0\n";
	char dir[] = "/tmp/azcni-spawn-XXXXXX", path[64];
	struct cni_error err = { 0 };
	struct cni_result res;
	struct timespec t0, t1;
	int status = -1;
	pid_t r = 0;
	long ms;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/litter", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(script, f);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(ipam_exec("litter", "ADD", dir, "{}", 2, &res, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms < 5000);
	assert_int_equal(res.n_ips, 1);
	for (int i = 0; i < 500 && r <= 0; i++) {
		r = waitpid(-1, &status, WNOHANG);
		if (r <= 0)
			usleep(10000);
	}
	assert_true(r > 0);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(leftovers_in_the_group_die),
		cmocka_unit_test(child_dies_with_the_plugin),
		cmocka_unit_test(exec_failure_is_127),
		cmocka_unit_test(fw_exec_timeout_kills_the_group),
		cmocka_unit_test(fw_exec_output_and_status),
		cmocka_unit_test(ipam_exec_ends_with_the_plugin),
	};

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return 1;
	alarm(60); /* a child that outlives its bound fails the run instead of hanging it */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
