/* SPDX-License-Identifier: MIT */
/* core/netstate under allocation failure: the k-th allocation fails, for every k a call makes
 * (the core's malloc, calloc, realloc and free are wrapped, cJSON's allocations too: oom.h). Out
 * of memory must be told as such (-ENOMEM, errno ENOMEM): never as a corrupt file (the caller
 * would set the node's state aside and start again empty) nor as a record that does not decode
 * (its fields would read as empty and be saved so). */
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
#include "oom.h"

#include "core/netstate.h"

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

			oom_arm(k);
			r = eager ? netstate_decode(text, len, "azure-vnet.json", &st, &err) :
				    netstate_decode_lazy(text, len, "azure-vnet.json", &st, &err);
			oom_disarm();
			if (r == 0)
				netstate_free(&st);
			if (!oom_failed()) {
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
		oom_arm(k);
		errno = 0;
		ep = netstate_find_endpoint(net, want.id);
		oom_disarm();
		if (!ep) {
			assert_true(oom_failed());
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
		if (!oom_failed())
			break;
	}
	free(text);
}

/* The parts of @t joined (malloc'd). */
static char *joined(const struct netstate_text *t)
{
	char *s = malloc(t->len + 1), *p = s;
	size_t i;

	assert_non_null(s);
	for (i = 0; i < t->n; i++) {
		memcpy(p, t->parts[i].data, t->parts[i].len);
		p += t->parts[i].len;
	}
	*p = '\0';
	return s;
}

/* An encode (whole or as parts) that runs out of memory fails: it never returns a text with a
 * field left out (a save would write it so), and it frees what it built, failed or not
 * (counted: oom.h). One record decoded and changed, two new ones (one in a new network), the
 * rest lazy. */
static void encode_oom(void **state)
{
	struct netstate_endpoint *ep, fresh;
	struct netstate_network net = { 0 };
	struct netstate st;
	size_t len;
	char *text, *want;
	int parts;

	(void)state;
#ifdef _WIN32
	/* mingw links its C runtime's extras statically, so their allocations fail here too, and
	 * its sscanf (cJSON's number printing) crashes on one that fails: not ours to test */
	skip();
	return;
#endif
	text = fixture_read("net-state-go-full.json", &len);
	assert_int_equal(netstate_decode_lazy(text, len, NULL, &st, NULL), 0);
	ep = netstate_endpoint_at(&st.extifs[0].networks[0], 0);
	assert_non_null(ep);
	ep->vlan_id = 7;
	/* a new record (no source: Go's defaults written) in the same network and in a new one */
	fresh = *ep;
	memset(&fresh.src, 0, sizeof(fresh.src));
	snprintf(fresh.id, sizeof(fresh.id), "feedbeef-eth0");
	snprintf(fresh.container_id, sizeof(fresh.container_id), "feedbeef0000");
	assert_int_equal(netstate_endpoint_put(&st.extifs[0].networks[0], &fresh), 0);
	snprintf(net.id, sizeof(net.id), "other");
	snprintf(net.mode, sizeof(net.mode), "bridge");
	assert_non_null(netstate_network_add(&st.extifs[0], &net));
	assert_int_equal(netstate_endpoint_put(netstate_find_network(&st, "other", NULL), &fresh),
			 0);
	want = netstate_encode(&st, "v1", "2026-01-02T03:04:05Z");
	assert_non_null(want);
	for (parts = 0; parts < 2; parts++) {
		long k;

		for (k = 1;; k++) {
			struct netstate_text t;
			char *got = NULL;
			int r = 0;

			oom_track();
			oom_arm(k);
			if (parts)
				r = netstate_encode_parts(&st, "v1", "2026-01-02T03:04:05Z", &t);
			else
				got = netstate_encode(&st, "v1", "2026-01-02T03:04:05Z");
			oom_disarm();
			if (parts && r == 0) {
				got = joined(&t);
				netstate_text_free(&t);
			}
			if (parts && r != 0)
				assert_int_equal(r, -ENOMEM);
			if (got)
				assert_string_equal(got, want);
			else
				assert_true(oom_failed());
			free(got);
			/* what the encode allocated is freed, whether it failed or not */
			if (oom_live() != 0)
				fail_msg("%s: allocation %ld failed, %zu allocations leaked",
					 parts ? "netstate_encode_parts" : "netstate_encode", k,
					 oom_live());
			if (!oom_failed())
				break;
		}
	}
	free(want);
	netstate_free(&st);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decode_oom),
		cmocka_unit_test(find_oom),
		cmocka_unit_test(encode_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
