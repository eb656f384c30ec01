/* SPDX-License-Identifier: MIT */
/* platform/windows/hcn.c under allocation failure, against the HCN test double: each allocation
 * of a create, a look-up by name and a list fails in turn (ours and cJSON's: oom.h; HCN's own
 * CoTaskMem strings are not). Out of memory while reading what HCN answered must be -ENOMEM,
 * code 100: never an HCN failure (code 103 "no ID in the answer", "unexpected answer") nor "not
 * found", on which a caller would act (create again, take the object as gone). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <windows.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/oom.h"
#include "core/hcndoc.h"
#include "platform/windows/hcn.h"

static char scratch[MAX_PATH];

static const char net_doc[] =
	"{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Name\":\"azure\",\"Type\":\"L2Bridge\","
	"\"Flags\":8,\"Ipams\":[{\"Type\":\"Static\",\"Subnets\":[{\"IpAddressPrefix\":"
	"\"10.240.0.0/16\",\"Routes\":[{\"NextHop\":\"10.240.0.1\",\"DestinationPrefix\":"
	"\"0.0.0.0/0\"}]}]}]}";

/* The fake computenetwork.dll (a Unix path: wine maps it through drive Z:) and a fresh state. */
static int setup(void **state)
{
	char tmp[MAX_PATH], path[MAX_PATH];
	size_t i;

	(void)state;
	snprintf(path, sizeof(path), "%s%s", AZCNI_FAKE_HCN_DLL[0] == '/' ? "Z:" : "",
		 AZCNI_FAKE_HCN_DLL);
	for (i = 0; path[i]; i++)
		if (path[i] == '/')
			path[i] = '\\';
	_putenv_s("AZURE_CNI_HCN_DLL", path);
	GetTempPathA(sizeof(tmp), tmp);
	snprintf(scratch, sizeof(scratch), "%sazcni-test-hcn-oom-%lu", tmp,
		 (unsigned long)GetCurrentProcessId());
	CreateDirectoryA(scratch, NULL);
	snprintf(path, sizeof(path), "%s\\fake-hcn.json", scratch);
	DeleteFileA(path);
	_putenv_s("FAKE_HCN_STATE", path);
	snprintf(path, sizeof(path), "%s\\hcn-calls.log", scratch);
	_putenv_s("FAKE_HCN_LOG", path);
	_putenv_s("FAKE_HCN_FAIL", "");
	return 0;
}

/* @r and @err of a call made with an allocation failed: success, or -ENOMEM with code 100. */
static void assert_ok_or_oom(const char *what, long k, int r, const struct cni_error *err)
{
	if (r != 0 && (r != -ENOMEM || err->code != CNI_CODE_INTERNAL))
		fail_msg("%s: allocation %ld failed: %d, code %d: %s", what, k, r, err->code,
			 err->msg);
}

/* The network "azure" made with each allocation failed in turn: made (its ID read back), or
 * -ENOMEM; one made all the same (HNS answered before the failure) is removed by name. */
static void create_each(void)
{
	char id[HCNDOC_GUID_STRLEN], found[HCNDOC_GUID_STRLEN];
	struct cni_error e0 = { 0 };
	struct hcn *h = NULL;
	long k, failures = 0;

	assert_int_equal(hcn_open(5000, &h, &e0), 0);
	for (k = 1;; k++) {
		struct cni_error err = { 0 };
		bool failed;
		int r;

		oom_arm(k);
		r = hcn_create(h, HCN_KIND_NETWORK, NULL, net_doc, id, NULL, &err);
		oom_disarm();
		failed = oom_failed();
		assert_ok_or_oom("create", k, r, &err);
		failures += r < 0;
		if (r == 0 || hcn_find_by_name(h, HCN_KIND_NETWORK, "azure", found, NULL, &e0) == 0)
			assert_int_equal(hcn_delete(h, HCN_KIND_NETWORK, r == 0 ? id : found, &e0), 0);
		assert_int_equal(hcn_find_by_name(h, HCN_KIND_NETWORK, "azure", found, NULL, &e0),
				 -ENOENT);
		if (!failed)
			break;
	}
	assert_true(failures > 0);
	assert_int_equal(e0.code, 0);
	h = hcn_close(h);
}

/* Without an ErrorRecord, and with {"Success":true} (read with cJSON: out of memory there is
 * no failure of HNS's). */
static void create_oom(void **state)
{
	(void)state;
	create_each();
	_putenv_s("FAKE_HCN_SUCCESS_RECORD", "1");
	create_each();
	_putenv_s("FAKE_HCN_SUCCESS_RECORD", "");
}

/* With "azure" made: the look-up by name finds it and the list has it, or -ENOMEM; never
 * -ENOENT (a caller would create it again) nor an HCN failure. */
static void lookup_oom(void **state)
{
	char id[HCNDOC_GUID_STRLEN], found[HCNDOC_GUID_STRLEN];
	struct cni_error e0 = { 0 };
	struct hcn *h = NULL;
	long k, failures = 0;

	(void)state;
	assert_int_equal(hcn_open(5000, &h, &e0), 0);
	assert_int_equal(hcn_create(h, HCN_KIND_NETWORK, NULL, net_doc, id, NULL, &e0), 0);
	for (k = 1;; k++) {
		char (*ids)[HCNDOC_GUID_STRLEN] = NULL, *props = NULL;
		struct cni_error err = { 0 }, lerr = { 0 };
		size_t n = 0;
		bool failed;
		int r, l;

		oom_arm(k);
		r = hcn_find_by_name(h, HCN_KIND_NETWORK, "azure", found, &props, &err);
		oom_disarm();
		failed = oom_failed();
		oom_arm(k);
		l = hcn_list(h, HCN_KIND_NETWORK, &ids, &n, &lerr);
		oom_disarm();
		failed = failed || oom_failed();
		assert_ok_or_oom("find by name", k, r, &err);
		assert_ok_or_oom("list", k, l, &lerr);
		if (r == 0) {
			assert_string_equal(found, id);
			assert_non_null(strstr(props, "\"L2Bridge\""));
		}
		if (l == 0) {
			assert_int_equal(n, 1);
			assert_string_equal(ids[0], id);
		}
		failures += (r < 0) + (l < 0);
		free(props);
		free(ids);
		if (!failed)
			break;
	}
	assert_true(failures > 0);
	assert_int_equal(hcn_delete(h, HCN_KIND_NETWORK, id, &e0), 0);
	h = hcn_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(create_oom, setup),
		cmocka_unit_test_setup(lookup_oom, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
