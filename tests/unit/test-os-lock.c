/* SPDX-License-Identifier: MIT */
/* Linux tests of lock files that a holder removes (platform_lock_release_unlink): the file is
 * gone after the release; a waiter that opened the old file before the unlink never proceeds
 * holding a lock on that unlinked inode, it opens the path again and locks the new file. The
 * waiter is a forked child that reports through its exit status. A wait that times out. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/platform.h"

static char dir[] = "/tmp/azcni-lock-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Whether the inode @ino is open in process @pid (one of /proc/<pid>/fd/N). */
static int proc_has_open(pid_t pid, ino_t ino)
{
	char fddir[64], p[320];
	struct dirent *de;
	struct stat st;
	int found = 0;
	DIR *d;

	snprintf(fddir, sizeof(fddir), "/proc/%d/fd", (int)pid);
	d = opendir(fddir);
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		snprintf(p, sizeof(p), "%s/%s", fddir, de->d_name);
		if (de->d_name[0] != '.' && stat(p, &st) == 0 && st.st_ino == ino)
			found = 1;
	}
	closedir(d);
	return found;
}

/* The child: wait for the lock (opening the file the parent holds), then check that the lock
 * it holds is on the file @path names now. Exit 0 when so. (Inode numbers cannot tell the old
 * file from the new one: the old one is closed before the new one is made, so the number may
 * be reused.) */
static int waiter(const char *path)
{
	struct platform_lock *l = NULL;
	struct cni_error err = {0};
	struct stat st;
	int fd, r = 0;

	if (platform_lock_acquire(path, 20000, &l, &err) != 0)
		return 10;
	if (stat(path, &st) != 0)
		r = 11;                 /* holding a lock on a file nobody can name */
	/* Our lock is on the named file: another open file description cannot take it. */
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (!r && (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK))
		r = 13;
	if (fd >= 0)
		close(fd);
	platform_lock_release(l);
	return r;
}

static void test_release_unlink_removes_the_file(void **state)
{
	struct platform_lock *l = NULL;
	struct cni_error err = {0};
	char p[128];
	struct stat st;

	(void)state;
	snprintf(p, sizeof(p), "%s/owners/a.lock", dir);
	assert_int_equal(platform_lock_acquire(p, 1000, &l, &err), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_null(platform_lock_release_unlink(l));
	assert_int_equal(stat(p, &st), -1);
	assert_int_equal(errno, ENOENT);
	/* The next holder creates it again; a plain release keeps it. */
	assert_int_equal(platform_lock_acquire(p, 1000, &l, &err), 0);
	assert_null(platform_lock_release(l));
	assert_int_equal(stat(p, &st), 0);
	assert_null(platform_lock_release_unlink(NULL));
}

static void test_waiter_reopens_after_unlink(void **state)
{
	struct platform_lock *l = NULL;
	struct cni_error err = {0};
	struct timespec ts = {0, 2000000};
	char p[128];
	struct stat st, now;
	int status, i, pfd[2];
	char c;
	pid_t pid;

	(void)state;
	snprintf(p, sizeof(p), "%s/owners/b.lock", dir);
	assert_int_equal(platform_lock_acquire(p, 1000, &l, &err), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Drop the inherited descriptor of the parent's lock file first (the lock stays the
		 * parent's), so that the file open in the child is the one it opens itself. */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != pfd[1])
				close(fd);
		if (write(pfd[1], "x", 1) != 1)
			_exit(9);
		close(pfd[1]);
		_exit(waiter(p));
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	/* Unlink only once the child has the old file open (it is then waiting for its lock).
	 * A readiness poll with a generous bound, not a timed assert. */
	for (i = 0; i < 10000 && !proc_has_open(pid, st.st_ino); i++)
		nanosleep(&ts, NULL);
	assert_true(proc_has_open(pid, st.st_ino));
	assert_null(platform_lock_release_unlink(l));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The child released with a plain release: its new file is there. */
	assert_int_equal(stat(p, &now), 0);
}

/* A held lock times out with code 11 (flock_wait: a blocking wait that the interval timer's
 * SIGALRM ends), and the timer is gone after it: a process that sleeps on afterwards is not
 * ended by a late SIGALRM (its default action). A 0 ms timeout is a single try. */
static void test_timeout_leaves_no_timer(void **state)
{
	struct platform_lock *l = NULL, *l2 = NULL;
	struct cni_error err = {0}, err0 = {0};
	struct timespec ts = {0, 100000000};
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/held.lock", dir);
	assert_int_equal(platform_lock_acquire(p, 1000, &l, &err), 0);
	assert_int_equal(platform_lock_acquire(p, 150, &l2, &err), -ETIMEDOUT);
	assert_int_equal(err.code, 11);
	assert_non_null(strstr(err.msg, "timed out locking"));
	assert_int_equal(platform_lock_acquire(p, 0, &l2, &err0), -ETIMEDOUT);
	nanosleep(&ts, NULL);
	nanosleep(&ts, NULL);
	assert_null(platform_lock_release(l));
	assert_int_equal(platform_lock_acquire(p, 0, &l2, &err0), 0);
	assert_null(platform_lock_release(l2));
}

/* Several rounds of holders that unlink and waiters that arrive meanwhile: at no time do two
 * processes hold the lock of the path (each holder checks, with a marker file created
 * exclusively, that it is alone). */
static void test_mutual_exclusion_with_unlinks(void **state)
{
	char p[128], mark[140];
	int status, bad = 0;
	pid_t pids[6];

	(void)state;
	snprintf(p, sizeof(p), "%s/owners/c.lock", dir);
	snprintf(mark, sizeof(mark), "%s/owners/c.inside", dir);
	for (int k = 0; k < 6; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0) {
			int r = 0;

			for (int j = 0; j < 40 && !r; j++) {
				struct platform_lock *l = NULL;
				struct cni_error err = {0};
				int fd;

				if (platform_lock_acquire(p, 20000, &l, &err) != 0)
					_exit(20);
				fd = open(mark, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
				if (fd < 0)
					r = 21; /* someone else is inside */
				else
					close(fd);
				usleep(200);
				if (!r && unlink(mark) != 0)
					r = 22;
				if (j % 2)
					platform_lock_release_unlink(l);
				else
					platform_lock_release(l);
			}
			_exit(r);
		}
	}
	for (int k = 0; k < 6; k++) {
		assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad++;
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_release_unlink_removes_the_file),
		cmocka_unit_test(test_waiter_reopens_after_unlink),
		cmocka_unit_test(test_mutual_exclusion_with_unlinks),
		cmocka_unit_test(test_timeout_leaves_no_timer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
