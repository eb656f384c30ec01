/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the network state file azure-vnet.json (netstate_decode). Round trip:
 * a state that decoded is encoded, decoded and encoded again, and the two texts must be equal
 * (what we save, the next call reads back unchanged). The lazy decode every call uses
 * (netstate_decode_lazy: records kept as bytes) takes every text the whole decode takes, and
 * what it saves untouched reads back as the same state. The parts a save writes
 * (netstate_encode_parts: records referred to in the decoded text) join into netstate_encode's
 * text, with every record lazy and with the first of each network decoded and put back. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "netstate.h"

/* netstate_encode_parts of @st joined equals netstate_encode of @st. */
static void parts_equal(const struct netstate *st)
{
	char *whole = netstate_encode(st, "v0.1.0", "2026-01-02T03:04:05Z"), *joined, *p;
	struct netstate_text t;
	size_t i;

	FUZZ_ASSERT(whole != NULL);
	FUZZ_ASSERT(netstate_encode_parts(st, "v0.1.0", "2026-01-02T03:04:05Z", &t) == 0);
	joined = malloc(t.len + 1);
	FUZZ_ASSERT(joined != NULL);
	for (i = 0, p = joined; i < t.n; i++) {
		memcpy(p, t.parts[i].data, t.parts[i].len);
		p += t.parts[i].len;
	}
	*p = '\0';
	FUZZ_ASSERT((size_t)(p - joined) == t.len);
	if (strcmp(whole, joined) != 0) {
		fprintf(stderr, "encode and its parts differ:\n%s\n%s\n", whole, joined);
		abort();
	}
	free(joined);
	free(whole);
	netstate_text_free(&t);
}

/* The first record of each network of @st decoded and put back (a call's change). */
static void touch(struct netstate *st)
{
	size_t i, j;

	for (i = 0; i < st->n_extifs; i++)
		for (j = 0; j < st->extifs[i].n_networks; j++) {
			struct netstate_network *net = &st->extifs[i].networks[j];
			struct netstate_endpoint *ep, rec;

			if (!net->n_endpoints)
				continue;
			ep = netstate_endpoint_at(net, 0);
			FUZZ_ASSERT(ep != NULL);
			rec = *ep;
			FUZZ_ASSERT(netstate_endpoint_put(net, &rec) == 0);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netstate st = { 0 }, back = { 0 };
	struct cni_error err = { 0 };
	char *t1, *t2;

	if (netstate_decode((const char *)data, size, "fuzz", &st, &err) < 0) {
		FUZZ_ASSERT(err.code != 0);
		return 0;
	}
	t1 = netstate_encode(&st, "v0.1.0", "2026-01-02T03:04:05Z");
	FUZZ_ASSERT(t1 != NULL);
	FUZZ_ASSERT(netstate_decode(t1, strlen(t1), "fuzz", &back, &err) == 0);
	t2 = netstate_encode(&back, "v0.1.0", "2026-01-02T03:04:05Z");
	FUZZ_ASSERT(t2 != NULL);
	if (strcmp(t1, t2) != 0) {
		fprintf(stderr, "network state round trip differs:\n%s\n%s\n", t1, t2);
		abort();
	}
	free(t2);
	netstate_free(&back);
	/* lazy: saved untouched, read back whole, saved: the whole decode's text */
	FUZZ_ASSERT(netstate_decode_lazy((const char *)data, size, "fuzz", &back, &err) == 0);
	parts_equal(&back);
	t2 = netstate_encode(&back, "v0.1.0", "2026-01-02T03:04:05Z");
	FUZZ_ASSERT(t2 != NULL);
	netstate_free(&back);
	FUZZ_ASSERT(netstate_decode(t2, strlen(t2), "fuzz", &back, &err) == 0);
	free(t2);
	t2 = netstate_encode(&back, "v0.1.0", "2026-01-02T03:04:05Z");
	FUZZ_ASSERT(t2 != NULL);
	if (strcmp(t1, t2) != 0) {
		fprintf(stderr, "lazy round trip differs:\n%s\n%s\n", t1, t2);
		abort();
	}
	free(t1);
	free(t2);
	netstate_free(&back);
	FUZZ_ASSERT(netstate_decode_lazy((const char *)data, size, "fuzz", &back, &err) == 0);
	touch(&back);
	parts_equal(&back);
	netstate_free(&back);
	netstate_free(&st);
	return 0;
}
