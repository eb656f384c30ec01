/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the network state file azure-vnet.json (netstate_decode). Round trip:
 * a state that decoded is encoded, decoded and encoded again, and the two texts must be equal
 * (what we save, the next call reads back unchanged). The lazy decode every call uses
 * (netstate_decode_lazy: records kept as bytes) takes every text the whole decode takes, and
 * what it saves untouched reads back as the same state. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "netstate.h"

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
	netstate_free(&st);
	return 0;
}
