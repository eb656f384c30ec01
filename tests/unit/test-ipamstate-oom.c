/* SPDX-License-Identifier: MIT */
/* core/ipamstate under allocation failure: the k-th allocation fails, for every k a decode makes
 * (the core's allocations and cJSON's: oom.h). Out of memory must be told as such (-ENOMEM, code
 * 100): never as a corrupt file (-EINVAL, code 6), on which the caller (cni/ipam-run.c
 * session_open) sets the node's azure-vnet-ipam.json aside and rebuilds it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures.h"
#include "oom.h"

#include "core/ipamstate.h"
#include "core/netscan.h"

/* @got decodes as @want did: the modelled fields, and the text a save writes from it. */
static void assert_same_space(const struct ipam_space *got, const struct ipam_space *want)
{
	char *a, *b;

	assert_string_equal(got->id, want->id);
	assert_int_equal(got->scope, want->scope);
	assert_true(got->last_refresh == want->last_refresh);
	assert_int_equal(got->n_pools, want->n_pools);
	for (size_t i = 0; i < want->n_pools; i++) {
		const struct ipam_pool *g = &got->pools[i], *w = &want->pools[i];

		assert_string_equal(g->id, w->id);
		assert_string_equal(g->ifname, w->ifname);
		assert_memory_equal(&g->subnet, &w->subnet, sizeof(w->subnet));
		assert_memory_equal(&g->gateway, &w->gateway, sizeof(w->gateway));
		assert_memory_equal(&g->primary, &w->primary, sizeof(w->primary));
		assert_int_equal(g->is_ipv6, w->is_ipv6);
		assert_int_equal(g->priority, w->priority);
		assert_int_equal(g->refcount, w->refcount);
		assert_int_equal(g->n_addrs, w->n_addrs);
		for (size_t k = 0; k < w->n_addrs; k++) {
			assert_memory_equal(&g->addrs[k].addr, &w->addrs[k].addr,
					    sizeof(w->addrs[k].addr));
			assert_string_equal(g->addrs[k].id, w->addrs[k].id);
			assert_string_equal(g->addrs[k].ifname, w->addrs[k].ifname);
			assert_int_equal(g->addrs[k].in_use, w->addrs[k].in_use);
			assert_int_equal(g->addrs[k].unhealthy, w->addrs[k].unhealthy);
		}
	}
	a = ipamstate_encode(got, "2026-01-02T03:04:05Z");
	b = ipamstate_encode(want, "2026-01-02T03:04:05Z");
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(a, b);
	free(a);
	free(b);
}

/* Decoding @name (copied, or as a view whose owner the space takes: ipamstate_decode_view) with
 * each allocation failed in turn: the space as without failure, or -ENOMEM with code 100; never
 * -EINVAL. Returns how many allocations a decode made. */
static long decode_each(const char *name, bool view)
{
	struct ipam_space want;
	size_t len;
	char *text = fixture_read(name, &len);
	long k;

	assert_int_equal(ipamstate_decode(text, len, name, &want, NULL), 0);
	for (k = 1;; k++) {
		struct cni_error err = { 0 };
		struct ipam_space sp;
		char *copy = NULL;
		int r;

		if (view) {
			copy = calloc(1, len + NETSCAN_PAD);
			assert_non_null(copy);
			memcpy(copy, text, len);
		}
		oom_arm(k);
		r = view ? ipamstate_decode_view(copy, len, name, free, copy, &sp, &err) :
			   ipamstate_decode(text, len, name, &sp, &err);
		oom_disarm();
		if (r != 0 && r != -ENOMEM)
			fail_msg("%s: allocation %ld failed: %d, code %d: %s", name, k, r, err.code,
				 err.msg);
		if (r == 0) {
			assert_same_space(&sp, &want);
			ipam_space_free(&sp);
		} else {
			assert_true(oom_failed());
			assert_int_equal(err.code, CNI_CODE_INTERNAL);
		}
		if (!oom_failed()) {
			assert_int_equal(r, 0);
			break;
		}
	}
	ipam_space_free(&want);
	free(text);
	return k - 1;
}

/* A Go-written file (records read from their bytes) and one with escapes and odd types (records
 * and keys parsed by cJSON one by one: slow_addr). */
static void decode_oom(void **state)
{
	static const char *const files[] = { "ipam-state-go.json", "ipam-state-go-odd.json" };

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		assert_true(decode_each(files[i], false) > 3);
		assert_true(decode_each(files[i], true) > 3);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decode_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
