/* SPDX-License-Identifier: MIT */
/* Unit tests of platform_file_view's pinning on Linux (platform/linux/os.c): a mapped view holds
 * a read lease that keeps in-place writers off; a file someone has open for writing is copied.
 * A writer that breaks the lease gets in at once and the view keeps its bytes; a file system
 * whose leases do not see every writer (overlayfs) is copied.
 * Linux only (fork, leases, mounts); test-os tests what every OS's view does. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/platform.h"

static char dir[512];

static void path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* A file of @len bytes of a pattern that differs per @seed, written as the plugin writes. */
static char *write_pattern(const char *path, size_t len, unsigned seed)
{
	struct cni_error err = { 0 };
	char *buf = malloc(len + 1);

	assert_non_null(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('!' + (i * 31 + seed) % 90);
	assert_int_equal(platform_file_replace(path, buf, len, &err), 0);
	return buf;
}

/* A child's open of @path for writing without blocking: 0 when it opened, else its errno. */
static int child_open_for_write(const char *path)
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_NONBLOCK);

		_exit(fd >= 0 ? 0 : errno == EWOULDBLOCK ? 1 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status) == 0 ? 0 : WEXITSTATUS(status) == 1 ? EWOULDBLOCK : EIO;
}

/* A mapped view is pinned: an in-place writer is held off (its non-blocking open fails with
 * EWOULDBLOCK: fcntl(2), leases) until the lease is given up; the break makes the view a copy
 * (stable), current by its bytes (nobody wrote them yet). */
static void test_view_pinned_holds_off_in_place_writer(void **state)
{
	struct platform_view *v = NULL;
	struct cni_error err = { 0 };
	const char *data = NULL;
	char p[600], *want;
	size_t len = 0;

	(void)state;
	path_in(p, sizeof(p), "view-pinned.json");
	want = write_pattern(p, 100000, 5);
	assert_int_equal(platform_file_view(p, 16, &v, &data, &len, &err), 0);
	assert_int_equal(child_open_for_write(p), EWOULDBLOCK);
	assert_int_equal(platform_file_view_current(p, v), 1);
	assert_true(platform_file_view_stable(v));
	assert_memory_equal(data, want, len);
	assert_int_equal(child_open_for_write(p), 0);
	platform_file_view_free(v);
	assert_int_equal(child_open_for_write(p), 0);
	remove(p);
	free(want);
}

/* A large file that someone holds open for writing is copied, not mapped: a change made in place
 * does not reach the view's bytes, and the view knows it is not current. */
static void test_view_copies_file_open_for_writing(void **state)
{
	struct platform_view *v = NULL;
	struct cni_error err = { 0 };
	const char *data = NULL;
	char p[600], *want, c;
	size_t len = 0;
	int fd;

	(void)state;
	path_in(p, sizeof(p), "view-busy.json");
	want = write_pattern(p, 100000, 9);
	fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(platform_file_view(p, 16, &v, &data, &len, &err), 0);
	c = (char)(want[70000] ^ 1);
	assert_int_equal(pwrite(fd, &c, 1, 70000), 1);
	assert_memory_equal(data, want, len);
	assert_int_equal(platform_file_view_current(p, v), 0);
	assert_true(platform_file_view_stable(v));
	platform_file_view_free(v);
	close(fd);
	remove(p);
	free(want);
}

/* A child's in-place rewrite of @path, as an older Go store's flush did (os.Create: O_TRUNC, then
 * the new bytes), without blocking on a lease: 0 when done, else EWOULDBLOCK or EIO. */
static int child_rewrite_in_place(const char *path, const char *data, size_t len)
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_TRUNC | O_NONBLOCK);

		if (fd < 0)
			_exit(errno == EWOULDBLOCK ? 1 : 2);
		_exit(write(fd, data, len) == (ssize_t)len ? 0 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status) == 0 ? 0 : WEXITSTATUS(status) == 1 ? EWOULDBLOCK : EIO;
}

/* Is the page of @p mapped in this process? (mincore(2) fails with ENOMEM where it is not.) */
static bool page_mapped(const char *p)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char vec;

	return mincore((void *)((uintptr_t)p / pg * pg), pg, &vec) == 0;
}

/* A writer that breaks a view's lease is not kept waiting for the call to end (up to
 * lease-break-time, 45 s by default, after which it truncated the mapped file and reading the
 * view raised SIGBUS): the view takes its bytes as a private copy and gives the lease up on the
 * break's SIGIO. The writer's first non-blocking open only starts the break (EWOULDBLOCK); the
 * next one gets in, truncates and rewrites; the view's bytes and pad are those it was made from,
 * stable, no longer current; nothing stays mapped once the views are freed. */
static void test_view_lease_break_lets_writer_in(void **state)
{
	static const size_t sizes[] = { 100000, 4096 * 10 };
	struct cni_error err = { 0 };

	(void)state;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct platform_view *v = NULL;
		const char *data = NULL;
		char p[600], *want, *other;
		size_t len = 0;

		path_in(p, sizeof(p), "view-break.json");
		want = write_pattern(p, sizes[k], 11);
		other = malloc(sizes[k] / 2);
		assert_non_null(other);
		memset(other, 'w', sizes[k] / 2);
		assert_int_equal(platform_file_view(p, 16, &v, &data, &len, &err), 0);
		assert_int_equal(child_open_for_write(p), EWOULDBLOCK); /* pinned, the break begins */
		assert_int_equal(child_rewrite_in_place(p, other, sizes[k] / 2), 0);
		assert_int_equal(len, sizes[k]);
		assert_memory_equal(data, want, len);
		for (size_t i = 0; i < 16; i++)
			assert_int_equal(data[len + i], 0);
		assert_true(platform_file_view_stable(v));
		assert_int_equal(platform_file_view_current(p, v), 0);
		platform_file_view_free(v);
		assert_false(page_mapped(data)); /* the copy went with the view */
		assert_false(page_mapped(data + len));
		remove(p);
		free(other);
		free(want);
	}
}

/* Two views, both pinned (of an inode renamed over, and of the file now): one writer's break
 * releases the file's, each keeps its own bytes; a view freed before is out of the way. Run with
 * SIGIO blocked, as a runtime may start the plugin: a view unblocks it. */
static void test_view_lease_break_two_views(void **state)
{
	struct platform_view *a = NULL, *b = NULL, *c = NULL;
	struct cni_error err = { 0 };
	const char *da = NULL, *db = NULL, *dc = NULL;
	size_t la = 0, lb = 0, lc = 0;
	char p[600], q[600], *wa, *wb;

	sigset_t io, old;

	(void)state;
	sigemptyset(&io);
	sigaddset(&io, SIGIO);
	assert_int_equal(sigprocmask(SIG_BLOCK, &io, &old), 0);
	path_in(p, sizeof(p), "view-two.json");
	path_in(q, sizeof(q), "view-three.json");
	wa = write_pattern(p, 50000, 3);
	assert_int_equal(platform_file_view(p, 16, &a, &da, &la, &err), 0);
	free(write_pattern(q, 60000, 4));
	assert_int_equal(platform_file_view(q, 16, &c, &dc, &lc, &err), 0);
	platform_file_view_free(c);
	wb = write_pattern(q, 70000, 5);
	assert_int_equal(rename(q, p), 0); /* a is of the old inode, b of the new one */
	assert_int_equal(platform_file_view(p, 16, &b, &db, &lb, &err), 0);
	assert_int_equal(child_open_for_write(p), EWOULDBLOCK);
	assert_int_equal(child_rewrite_in_place(p, "{}", 2), 0);
	assert_memory_equal(db, wb, lb);
	assert_memory_equal(da, wa, la);
	assert_true(platform_file_view_stable(b));
	assert_true(platform_file_view_stable(a));
	platform_file_view_free(a);
	platform_file_view_free(b);
	sigprocmask(SIG_SETMASK, &old, NULL);
	(void)dc;
	(void)lc;
	remove(p);
	free(wa);
	free(wb);
}

/* The state file on overlayfs: a write to the layer's file (outside the overlay) breaks no lease
 * on the overlay's file, so a view there is a copy, checked by its bytes: a change of the same
 * size is seen. In a child with its own mount namespace; skipped where mounts cannot be made. */
static void test_view_overlayfs_is_copied(void **state)
{
	char lower[600], upper[600], work[600], merged[600], opts[2600];
	int status = 0;
	pid_t pid;

	(void)state;
	path_in(lower, sizeof(lower), "lower");
	path_in(upper, sizeof(upper), "upper");
	path_in(work, sizeof(work), "work");
	path_in(merged, sizeof(merged), "merged");
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct platform_view *v = NULL;
		struct cni_error err = { 0 };
		const char *data = NULL;
		char f[700], layer[700], *want;
		size_t len = 0;
		int fd;

		if (mkdir(lower, 0755) < 0 || mkdir(upper, 0755) < 0 || mkdir(work, 0755) < 0 ||
		    mkdir(merged, 0755) < 0)
			_exit(2);
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("overlay", merged, "overlay", 0, opts) < 0)
			_exit(77);
		snprintf(f, sizeof(f), "%s/azure-vnet.json", merged);
		snprintf(layer, sizeof(layer), "%s/azure-vnet.json", upper);
		want = write_pattern(f, 100000, 2);
		if (platform_file_view(f, 16, &v, &data, &len, &err) < 0)
			_exit(3);
		fd = open(layer, O_WRONLY);
		if (fd < 0 || pwrite(fd, "ZZZZ", 4, 100) != 4)
			_exit(4);
		close(fd);
		if (memcmp(data, want, len) != 0)
			_exit(5); /* the view's bytes changed under it */
		if (platform_file_view_current(f, v) != 0)
			_exit(6); /* a change it cannot see */
		platform_file_view_free(v);
		free(want);
		umount(merged);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	remove(upper); /* best effort: the layers' files and directories */
	{
		char f[700];

		snprintf(f, sizeof(f), "%s/azure-vnet.json", upper);
		remove(f);
		snprintf(f, sizeof(f), "%s/work", work);
		rmdir(f);
	}
	rmdir(upper);
	rmdir(work);
	rmdir(merged);
	rmdir(lower);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_view_pinned_holds_off_in_place_writer),
		cmocka_unit_test(test_view_copies_file_open_for_writing),
		cmocka_unit_test(test_view_lease_break_lets_writer_in),
		cmocka_unit_test(test_view_lease_break_two_views),
		cmocka_unit_test(test_view_overlayfs_is_copied),
	};
	const char *tmp = getenv("TMPDIR");
	int rc;

	snprintf(dir, sizeof(dir), "%s/azcni-test-os-lease-%ld", tmp && *tmp ? tmp : "/tmp",
		 (long)getpid());
	if (mkdir(dir, 0755) < 0) {
		perror(dir);
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(dir);
	return rc;
}
