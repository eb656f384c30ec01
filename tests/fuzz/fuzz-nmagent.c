/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the NMAgent interface-info XML (ipam_source_parse_nmagent, expat), and
 * what a refresh does with a document that parsed (fuzz-source.h). */
#include "fuzz-source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipam_source src = { 0 };
	struct cni_error err = { 0 };

	if (ipam_source_parse_nmagent((const char *)data, size, &src, &err) < 0) {
		FUZZ_ASSERT(err.code != 0);
		return 0;
	}
	fuzz_source_use(&src);
	ipam_source_free(&src);
	return 0;
}
