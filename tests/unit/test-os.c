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
#define setenv(name, value, overwrite) _putenv_s(name, value)
#endif

static char dir[512];

static void path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static void test_paths_follow_overrides(void **state)
{
	(void)state;
	assert_string_equal(platform_path(PLATFORM_PATH_IPAM_STATE), "/rt/azure-vnet-ipam.json");
#ifdef _WIN32
	/* Windows keeps the lock beside the state file (C:\k\azure-vnet-ipam.json.lock); the override's
	 * separator style is kept. */
	assert_string_equal(platform_path(PLATFORM_PATH_IPAM_LOCK), "/rt/azure-vnet-ipam.json.lock");
	assert_string_equal(platform_path(PLATFORM_PATH_NET_LOCK), "/rt/azure-vnet.json.lock");
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
		cmocka_unit_test(test_lock_timeout_is_code_11),
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
