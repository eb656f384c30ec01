/* SPDX-License-Identifier: MIT */
/* Unit tests of the OS operations of platform/platform.h (the build's OS backend): paths and their
 * overrides, file read and atomic replace, lock with timeout, timestamps, HTTP errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/platform.h"

#ifdef _WIN32
#include <direct.h>
#define setenv(name, value, overwrite) _putenv_s(name, value)
#define MKDIR(p) _mkdir(p)
#else
#include <sys/stat.h>
#define MKDIR(p) mkdir(p, 0755)
#endif

static char dir[512];

static void path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* mkdir of @path and its missing parents. Returns 0 or -1. */
static int mkdir_p(const char *path)
{
	char buf[600];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *c = buf + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		MKDIR(buf);
		*c = '/';
	}
	return MKDIR(buf) == 0 || errno == EEXIST ? 0 : -1;
}

static void test_paths_follow_overrides(void **state)
{
	(void)state;
	assert_string_equal(platform_path(PLATFORM_PATH_IPAM_STATE), "/rt/azure-vnet-ipam.json");
#ifdef _WIN32
	/* Windows keeps the Go plugin's lock files beside the state files (its working directory:
	 * azure-vnet-ipam.lock); the override's separator style is kept. */
	assert_string_equal(platform_path(PLATFORM_PATH_IPAM_LOCK), "/rt/azure-vnet-ipam.lock");
	assert_string_equal(platform_path(PLATFORM_PATH_NET_LOCK), "/rt/azure-vnet.lock");
#else
	assert_string_equal(platform_path(PLATFORM_PATH_IPAM_LOCK), "/rt/azure-vnet/azure-vnet-ipam.lock");
#endif
	assert_string_equal(platform_path(PLATFORM_PATH_NET_STATE), "/rt/azure-vnet.json");
	assert_string_equal(platform_path(PLATFORM_PATH_MAS_FILE), "/m/interfaces.json");
	assert_string_equal(platform_path(PLATFORM_PATH_NMAGENT_URL), "http://127.0.0.1:1/x");
	assert_string_equal(platform_path(PLATFORM_PATH_LOG_DIR), "/l");
	assert_int_equal(platform_lock_timeout_ms(), 1234);
}

static void test_read_missing_is_enoent_without_error(void **state)
{
	struct cni_error err = { 0 };
	char p[600], *data = (char *)"untouched";
	size_t len = 99;

	(void)state;
	path_in(p, sizeof(p), "missing.json");
	assert_int_equal(platform_file_read(p, &data, &len, &err), -ENOENT);
	assert_false(cni_error_is_set(&err));
	assert_string_equal(data, "untouched");
	assert_int_equal(len, 99);
}

static void test_replace_then_read(void **state)
{
	static const char *contents[] = { "{\"a\":1}", "", "{\"b\":\"a longer second version\"}" };
	struct cni_error err = { 0 };
	char p[600];

	(void)state;
	path_in(p, sizeof(p), "sub/dir/state.json");
	for (size_t i = 0; i < sizeof(contents) / sizeof(contents[0]); i++) {
		char *data = NULL;
		size_t len = 0;

		assert_int_equal(platform_file_replace(p, contents[i], strlen(contents[i]), &err), 0);
		assert_int_equal(platform_file_read(p, &data, &len, &err), 0);
		assert_int_equal(len, strlen(contents[i]));
		assert_string_equal(data, contents[i]);
		free(data);
	}
	assert_false(cni_error_is_set(&err));
	remove(p);
	path_in(p, sizeof(p), "sub/dir");
	rmdir(p);
	path_in(p, sizeof(p), "sub");
	rmdir(p);
}

/* platform_file_replace_parts writes its parts in order, empty ones and more parts than one
 * writev takes included; platform_file_same tells the file's bytes from any other. */
static void test_replace_parts_and_same(void **state)
{
	enum { N = 1500 }; /* parts: several writev batches */
	struct platform_part *parts = calloc(N, sizeof(*parts));
	char p[600], *want = malloc(N * 120 + 1), *data = NULL;
	struct cni_error err = { 0 };
	size_t len = 0, off = 0;

	(void)state;
	assert_non_null(parts);
	assert_non_null(want);
	for (size_t i = 0; i < N; i++) {
		/* every seventh part empty, the others of varied lengths, ~77 KB in all */
		size_t n = i % 7 == 0 ? 0 : 1 + (i * 37) % 119;

		for (size_t k = 0; k < n; k++)
			want[off + k] = (char)('a' + (i + k) % 26);
		parts[i] = (struct platform_part){ want + off, n };
		off += n;
	}
	want[off] = '\0';
	path_in(p, sizeof(p), "parts.json");
	assert_int_equal(platform_file_replace_parts(p, parts, N, &err), 0);
	assert_false(cni_error_is_set(&err));
	assert_int_equal(platform_file_read(p, &data, &len, &err), 0);
	assert_int_equal(len, off);
	assert_memory_equal(data, want, off);
	free(data);

	assert_int_equal(platform_file_same(p, want, off), 1);
	assert_int_equal(platform_file_same(p, want, off - 1), 0); /* shorter */
	want[off - 1] ^= 1;                                       /* last byte, last chunk */
	assert_int_equal(platform_file_same(p, want, off), 0);
	want[off - 1] ^= 1;
	assert_true(off > 70000);
	want[40000] ^= 1;                                         /* the second chunk */
	assert_int_equal(platform_file_same(p, want, off), 0);
	want[40000] ^= 1;
	assert_int_equal(platform_file_same(p, want, off), 1);
	/* no parts: an empty file */
	assert_int_equal(platform_file_replace_parts(p, parts, 0, &err), 0);
	assert_int_equal(platform_file_same(p, want, 0), 1);
	assert_int_equal(platform_file_same(p, want, 1), 0);
	remove(p);
	assert_int_equal(platform_file_same(p, want, 0), 0);     /* absent */
	free(parts);
	free(want);
}

static void test_lock_timeout_is_code_11(void **state)
{
	struct platform_lock *a = NULL, *b = NULL;
	struct cni_error err = { 0 };
	char p[600], *data = NULL;
	size_t len = 0;

	(void)state;
	path_in(p, sizeof(p), "locks/test.lock");
	assert_int_equal(platform_lock_acquire(p, 1000, &a, &err), 0);
	assert_non_null(a);
	/* The PID is written into the lock file, as the Go plugin does. */
	assert_int_equal(platform_file_read(p, &data, &len, &err), 0);
	assert_int_equal(strtol(data, NULL, 10), (long)getpid());
	free(data);
	/* A second open of the same file conflicts even within one process. */
	assert_int_equal(platform_lock_acquire(p, 50, &b, &err), -ETIMEDOUT);
	assert_null(b);
	assert_int_equal(err.code, CNI_CODE_TRY_AGAIN);
	assert_non_null(strstr(err.msg, p));
	a = platform_lock_release(a);
	assert_null(a);
	memset(&err, 0, sizeof(err));
	assert_int_equal(platform_lock_acquire(p, 50, &b, &err), 0);
	b = platform_lock_release(b);
	assert_null(platform_lock_release(NULL));
	remove(p);
	path_in(p, sizeof(p), "locks");
	rmdir(p);
}

/* Not a regular file at a state or lock path: code 5 naming the path, at once, no lock kept. */
static void test_directory_is_code_5(void **state)
{
	struct platform_lock *l = NULL;
	struct cni_error err = { 0 };
	char p[600], *data = NULL;
	size_t len = 0;

	(void)state;
	path_in(p, sizeof(p), "adir");
	assert_int_equal(mkdir_p(p), 0);
	assert_true(platform_file_read(p, &data, &len, &err) < 0);
	assert_null(data);
	assert_int_equal(err.code, CNI_CODE_IO);
	assert_non_null(strstr(err.msg, p));
	memset(&err, 0, sizeof(err));
	assert_true(platform_lock_acquire(p, 5000, &l, &err) < 0);
	assert_null(l);
	assert_int_equal(err.code, CNI_CODE_IO);
	assert_non_null(strstr(err.msg, p));
	rmdir(p);
}

#ifndef _WIN32
/* mode bits of @path (lstat) */
static unsigned mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return (unsigned)(st.st_mode & 07777);
}

/* Symlinks and FIFOs at state and lock paths (Linux): refused with code 5 naming the path, never
 * followed, never blocking (alarm: a blocked open fails the test instead of hanging it); what a
 * symlink points at is left as it was. Files we create are 0600 whatever the umask. */
static void test_symlink_fifo_refused(void **state)
{
	struct platform_lock *l = NULL;
	struct cni_error err = { 0 };
	char p[600], target[600], *data = NULL;
	size_t len = 0;
	mode_t old_umask = umask(0);

	(void)state;
	alarm(10);
	path_in(target, sizeof(target), "target.json");
	assert_int_equal(platform_file_replace(target, "{}", 2, &err), 0);
	assert_int_equal(mode_of(target), 0600);

	path_in(p, sizeof(p), "link.json");
	assert_int_equal(symlink(target, p), 0);
	assert_int_equal(platform_file_read(p, &data, &len, &err), -ELOOP);
	assert_null(data);
	assert_int_equal(err.code, CNI_CODE_IO);
	assert_non_null(strstr(err.msg, p));
	/* an input that may be linked (interfaces.json) is followed */
	memset(&err, 0, sizeof(err));
	assert_int_equal(platform_file_read_follow(p, &data, &len, &err), 0);
	assert_string_equal(data, "{}");
	free(data);
	data = NULL;
	/* a lock through a symlink: refused, the target neither locked nor rewritten */
	memset(&err, 0, sizeof(err));
	assert_int_equal(platform_lock_acquire(p, 5000, &l, &err), -ELOOP);
	assert_null(l);
	assert_int_equal(err.code, CNI_CODE_IO);
	assert_non_null(strstr(err.msg, p));
	assert_int_equal(platform_file_read(target, &data, &len, &err), 0);
	assert_string_equal(data, "{}");
	free(data);
	data = NULL;
	/* a dangling symlink is not created through */
	unlink(target);
	memset(&err, 0, sizeof(err));
	assert_int_equal(platform_lock_acquire(p, 5000, &l, &err), -ELOOP);
	assert_int_equal(access(target, F_OK), -1);
	unlink(p);

	path_in(p, sizeof(p), "fifo.json");
	assert_int_equal(mkfifo(p, 0600), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(platform_file_read(p, &data, &len, &err), -EINVAL);
	assert_int_equal(err.code, CNI_CODE_IO);
	assert_non_null(strstr(err.msg, p));
	memset(&err, 0, sizeof(err));
	assert_int_equal(platform_file_read_follow(p, &data, &len, &err), -EINVAL);
	memset(&err, 0, sizeof(err));
	assert_int_equal(platform_lock_acquire(p, 5000, &l, &err), -EINVAL);
	assert_null(l);
	assert_int_equal(err.code, CNI_CODE_IO);
	assert_non_null(strstr(err.msg, p));
	unlink(p);


	/* a lock file we create is 0600 */
	path_in(p, sizeof(p), "mode.lock");
	memset(&err, 0, sizeof(err));
	assert_int_equal(platform_lock_acquire(p, 5000, &l, &err), 0);
	assert_int_equal(mode_of(p), 0600);
	l = platform_lock_release(l);
	unlink(p);
	alarm(0);
	umask(old_umask);
}

/* platform_file_same never follows a symlink nor reads a FIFO (Linux): 0, as for a file that
 * differs, without blocking (alarm: a blocked open fails the test instead of hanging it). */
static void test_same_refuses_symlink_fifo(void **state)
{
	struct cni_error err = { 0 };
	char p[600], target[600];

	(void)state;
	alarm(10);
	path_in(target, sizeof(target), "target2.json");
	path_in(p, sizeof(p), "link2.json");
	assert_int_equal(platform_file_replace(target, "{}", 2, &err), 0);
	assert_int_equal(symlink(target, p), 0);
	assert_int_equal(platform_file_same(target, "{}", 2), 1);
	assert_int_equal(platform_file_same(p, "{}", 2), 0);
	unlink(p);
	unlink(target);
	path_in(p, sizeof(p), "fifo2.json");
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(platform_file_same(p, "", 0), 0);
	unlink(p);
	alarm(0);
}
#endif

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

/* Every size that matters to a view: empty, small (a copy), large (mapped on Linux), a whole
 * number of pages, and the pad running past the file's last page. */
static void test_view_bytes_and_pad(void **state)
{
	static const size_t sizes[] = { 0, 100, 40000, 4096 * 10, 4096 * 10 - 3, 4096 * 9 + 100 };
	struct platform_view *v = NULL;
	struct cni_error err = { 0 };
	const char *data = NULL;
	char p[600];
	size_t len = 0;

	(void)state;
	path_in(p, sizeof(p), "view.json");
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		char *want = write_pattern(p, sizes[k], (unsigned)k), *again;

		assert_int_equal(platform_file_view(p, 16, &v, &data, &len, &err), 0);
		assert_int_equal(len, sizes[k]);
		assert_memory_equal(data, want, len);
		for (size_t i = 0; i < 16; i++)
			assert_int_equal(data[len + i], 0);
		assert_int_equal(platform_file_view_current(p, v), 1);
		assert_true(platform_file_view_stable(v));
		/* replaced as every writer replaces it: not current; the view keeps its bytes */
		again = write_pattern(p, sizes[k] + 1, (unsigned)k + 7);
		assert_int_equal(platform_file_view_current(p, v), 0);
		assert_true(platform_file_view_stable(v));
		assert_memory_equal(data, want, len);
		platform_file_view_free(v);
		free(want);
		free(again);
	}
	remove(p);
	v = NULL;
	assert_int_equal(platform_file_view(p, 16, &v, &data, &len, &err), -ENOENT);
	assert_false(cni_error_is_set(&err));
	assert_null(v);
	assert_int_equal(platform_file_view_current(p, NULL), 0);
	free(write_pattern(p, 10, 1));
	assert_int_equal(platform_file_view(p, 65, &v, &data, &len, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "65"));
	remove(p);
	platform_file_view_free(NULL);
}

/* A copy (a small file) does not follow a change made in place, and knows it is not current. */
static void test_view_copy_sees_in_place_change(void **state)
{
	struct platform_view *v = NULL;
	struct cni_error err = { 0 };
	const char *data = NULL;
	char p[600], *want;
	size_t len = 0;
	FILE *f;

	(void)state;
	path_in(p, sizeof(p), "view-small.json");
	want = write_pattern(p, 1000, 3);
	assert_int_equal(platform_file_view(p, 16, &v, &data, &len, &err), 0);
	f = fopen(p, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, 500, SEEK_SET), 0);
	assert_int_equal(fputc(want[500] ^ 1, f), want[500] ^ 1);
	assert_int_equal(fclose(f), 0);
	assert_memory_equal(data, want, 1000);
	assert_int_equal(platform_file_view_current(p, v), 0);
	assert_true(platform_file_view_stable(v));
	platform_file_view_free(v);
	remove(p);
	free(want);
}

static void test_timestamp_rfc3339(void **state)
{
	char ts[64];

	(void)state;
	platform_timestamp(ts, sizeof(ts));
	/* 2026-11-29T08:49:31.123456789Z */
	assert_int_equal(strlen(ts), 30);
	assert_true(ts[4] == '-' && ts[7] == '-' && ts[10] == 'T' && ts[13] == ':' && ts[16] == ':');
	assert_true(ts[19] == '.' && ts[29] == 'Z');
}

static void test_http_refused_is_code_11_naming_url(void **state)
{
	struct cni_error err = { 0 };
	char *body = NULL;
	size_t len = 0;

	(void)state;
	/* Port 1 on loopback: nothing listens there on a test machine. */
	assert_int_equal(platform_http_get("http://127.0.0.1:1/machine", 2000, &body, &len, &err), -EAGAIN);
	assert_null(body);
	assert_int_equal(err.code, CNI_CODE_TRY_AGAIN);
	assert_non_null(strstr(err.msg, "http://127.0.0.1:1/machine"));
}

static void test_ifname_by_unknown_mac(void **state)
{
	char buf[32] = "x";

	(void)state;
	assert_int_equal(platform_ifname_by_mac("FEFEFEFEFEFE", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(platform_ifname_by_mac("short", buf, sizeof(buf)), -ENOENT);
	assert_string_equal(buf, "x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_follow_overrides),
		cmocka_unit_test(test_read_missing_is_enoent_without_error),
		cmocka_unit_test(test_replace_then_read),
		cmocka_unit_test(test_replace_parts_and_same),
		cmocka_unit_test(test_lock_timeout_is_code_11),
		cmocka_unit_test(test_directory_is_code_5),
#ifndef _WIN32
		cmocka_unit_test(test_symlink_fifo_refused),
		cmocka_unit_test(test_same_refuses_symlink_fifo),
#endif
		cmocka_unit_test(test_view_bytes_and_pad),
		cmocka_unit_test(test_view_copy_sees_in_place_change),
		cmocka_unit_test(test_timestamp_rfc3339),
		cmocka_unit_test(test_http_refused_is_code_11_naming_url),
		cmocka_unit_test(test_ifname_by_unknown_mac),
	};
	const char *tmp = getenv("TMPDIR");
	int rc;

	/* Paths are read once per process: set the overrides before the first platform_path. */
	setenv("AZURE_CNI_RUNTIME_DIR", "/rt", 1);
	setenv("AZURE_CNI_LOG_DIR", "/l", 1);
	setenv("AZURE_CNI_MAS_FILE", "/m/interfaces.json", 1);
	setenv("AZURE_CNI_NMAGENT_URL", "http://127.0.0.1:1/x", 1);
	setenv("AZURE_CNI_LOCK_TIMEOUT_MS", "1234", 1);
	snprintf(dir, sizeof(dir), "%s/azcni-test-os-%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(dir);
	return rc;
}
