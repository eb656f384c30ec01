/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the IPAM state file azure-vnet-ipam.json (ipamstate_decode). Round trip
 * as fuzz-netstate.c: encode, decode, encode must give the same text. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ipamstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipam_space sp = { 0 }, back = { 0 };
	struct cni_error err = { 0 };
	char *t1, *t2;

	if (ipamstate_decode((const char *)data, size, "fuzz", &sp, &err) < 0) {
		FUZZ_ASSERT(err.code != 0);
		return 0;
	}
	t1 = ipamstate_encode(&sp, "2026-01-02T03:04:05Z");
	FUZZ_ASSERT(t1 != NULL);
	FUZZ_ASSERT(ipamstate_decode(t1, strlen(t1), "fuzz", &back, &err) == 0);
	t2 = ipamstate_encode(&back, "2026-01-02T03:04:05Z");
	FUZZ_ASSERT(t2 != NULL);
	if (strcmp(t1, t2) != 0) {
		fprintf(stderr, "IPAM state round trip differs:\n%s\n%s\n", t1, t2);
		abort();
	}
	free(t1);
	free(t2);
	ipam_space_free(&back);
	ipam_space_free(&sp);
	return 0;
}
