/* SPDX-License-Identifier: MIT */
/* core/netstate under allocation failure: the k-th allocation fails, for every k a call makes
 * (the core's malloc, calloc and realloc are wrapped: ld --wrap, tests/CMakeLists.txt; cJSON's
 * through its hooks). Out of memory must be told as such (-ENOMEM, errno ENOMEM): never as a
 * corrupt file (the caller would set the node's state aside and start again empty) nor as a
 * record that does not decode (its fields would read as empty and be saved so). */
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
#include <cJSON.h>

#include "fixtures.h"

#include "core/netstate.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static long countdown; /* allocations till the one that fails; 0: none fails */
static bool failed;    /* an allocation was failed since arm() */

static bool fail_now(void)
{
	if (countdown > 0 && --countdown == 0) {
		failed = true;
		return true;
	}
	return false;
}

void *__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}

/* The k-th allocation from now on fails (cJSON's too). */
static void arm(long k)
{
	cJSON_Hooks hooks = { .malloc_fn = __wrap_malloc, .free_fn = free };

	cJSON_InitHooks(&hooks);
	countdown = k;
	failed = false;
}

static void disarm(void)
{
	countdown = 0;
	cJSON_InitHooks(NULL);
}

/* Decoding a good file fails only as out of memory (code 100), eager or lazy. */
static void decode_oom(void **state)
{
	size_t len;
	char *text = fixture_read("net-state-go-full.json", &len);
	int eager;

	(void)state;
	for (eager = 0; eager < 2; eager++) {
		long k;

		for (k = 1;; k++) {
			struct cni_error err = { 0 };
			struct netstate st;
			int r;

			arm(k);
			r = eager ? netstate_decode(text, len, "azure-vnet.json", &st, &err) :
				    netstate_decode_lazy(text, len, "azure-vnet.json", &st, &err);
			disarm();
			if (r == 0)
				netstate_free(&st);
			if (!failed) {
				assert_int_equal(r, 0);
				break;
			}
			if (r != 0) {
				assert_int_equal(r, -ENOMEM);
				assert_int_equal(err.code, CNI_CODE_INTERNAL);
			}
		}
	}
	free(text);
}

/* A look-up that decodes a lazy record returns it whole, or NULL with errno ENOMEM and the
 * record left lazy (a later look-up decodes it): never the record with its fields empty. */
static void find_oom(void **state)
{
	struct netstate_endpoint want;
	struct netstate_network *net;
	struct netstate st;
	size_t len;
	char *text = fixture_read("net-state-go-full.json", &len);
	long k;

	(void)state;
	assert_int_equal(netstate_decode(text, len, NULL, &st, NULL), 0);
	net = &st.extifs[0].networks[0];
	assert_true(net->n_endpoints > 0);
	want = *netstate_endpoint_at(net, 0);
	assert_true(want.host_ifname[0] && want.n_ips > 0);
	netstate_free(&st);
	for (k = 1;; k++) {
		struct netstate_endpoint *ep;

		assert_int_equal(netstate_decode_lazy(text, len, NULL, &st, NULL), 0);
		net = &st.extifs[0].networks[0];
		assert_true(net->endpoints[0]->lazy);
		arm(k);
		errno = 0;
		ep = netstate_find_endpoint(net, want.id);
		disarm();
		if (!ep) {
			assert_true(failed);
			assert_int_equal(errno, ENOMEM);
			assert_true(net->endpoints[0]->lazy);
			ep = netstate_find_endpoint(net, want.id);
			assert_non_null(ep);
		}
		assert_string_equal(ep->host_ifname, want.host_ifname);
		assert_string_equal(ep->sandbox_key, want.sandbox_key);
		assert_int_equal(ep->n_ips, want.n_ips);
		assert_memory_equal(ep->ips, want.ips, sizeof(want.ips));
		netstate_free(&st);
		if (!failed)
			break;
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decode_oom),
		cmocka_unit_test(find_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
