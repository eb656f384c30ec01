/* SPDX-License-Identifier: MIT */
/* platform/linux/ipam-exec.c under allocation failure: a delegated IPAM plugin's ADD result, its
 * error object, and a DEL's error object read with each allocation of the caller failed in turn
 * (oom.h; the plugin is a shell script: its own allocations are not ours). The call answers as
 * without failure, or -ENOMEM with code 100: never as output that is not JSON (an ADD's result
 * lost, code 4) or as no error object (a failed DEL read as done). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "oom.h"

#include "core/cni.h"
#include "platform/ipam-exec.h"

static char dir[] = "/tmp/azcni-ipam-exec-oom-XXXXXX";

/* An executable @name in dir printing @out on stdout and exiting @status. */
static void plugin(const char *name, const char *out, int status)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\ncat >/dev/null\necho '%s'\nexit %d\n", out, status);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	plugin("good", "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.0.5/24\","
	       "\"gateway\":\"10.1.0.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}", 0);
	plugin("refuses", "{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"no such pool\","
	       "\"details\":\"pool p1\"}", 1);
	plugin("refuses0", "{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"busy\"}", 0);
	return 0;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	for (const char *const *n = (const char *const[]){ "good", "refuses", "refuses0", NULL };
	     *n; n++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *n);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}

/* @type @command with each allocation failed in turn: @want_r with @want_code (and for an ADD
 * that succeeds, the address), or -ENOMEM with code 100. */
static void sweep(const char *type, const char *command, int want_r, int want_code)
{
	long k, failures = 0;

	for (k = 1;; k++) {
		struct cni_error err = { 0 };
		struct cni_result res;
		bool failed;
		int r;

		memset(&res, 0, sizeof(res));
		oom_arm(k);
		r = ipam_exec(type, command, dir, "{}", 2, strcmp(command, "ADD") == 0 ? &res : NULL,
			      &err);
		oom_disarm();
		failed = oom_failed();
		if (r == -ENOMEM && want_r != -ENOMEM) {
			assert_true(failed);
			if (err.code != CNI_CODE_INTERNAL)
				fail_msg("%s %s: allocation %ld failed: code %d: %s", type, command, k,
					 err.code, err.msg);
			failures++;
		} else if (r != want_r || err.code != want_code) {
			fail_msg("%s %s: allocation %ld failed: %d, code %d: %s (without failure %d, "
				 "code %d)", type, command, k, r, err.code, err.msg, want_r, want_code);
		} else if (r == 0 && strcmp(command, "ADD") == 0) {
			assert_int_equal(res.n_ips, 1);
		}
		if (!failed)
			break;
	}
	assert_true(failures > 0);
}

static void result_oom(void **state)
{
	(void)state;
	sweep("good", "ADD", 0, 0);
}

static void error_object_oom(void **state)
{
	(void)state;
	sweep("refuses", "ADD", -EIO, 7);
	sweep("refuses", "DEL", -EIO, 7);
	sweep("refuses0", "DEL", -EIO, 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(result_oom),
		cmocka_unit_test(error_object_oom),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
