/* SPDX-License-Identifier: MIT */
/* Unit tests of platform_file_view's pinning on Linux (platform/linux/os.c): a mapped view holds
 * a read lease that keeps in-place writers off; a file someone has open for writing is copied.
 * Linux only (fork, leases); test-os tests what every OS's view does. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
 * EWOULDBLOCK: fcntl(2), leases) until the view is freed, and the view then knows it is neither
 * current nor stable. */
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
	assert_int_equal(platform_file_view_current(p, v), 0);
	assert_false(platform_file_view_stable(v));
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_view_pinned_holds_off_in_place_writer),
		cmocka_unit_test(test_view_copies_file_open_for_writing),
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
