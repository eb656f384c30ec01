/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for what azure-vnet.exe reads back from HCN (core/hcndoc): an object's
 * properties (hcndoc_object_id), an enumeration (hcndoc_id_list), an ErrorRecord
 * (hcndoc_error_record, into a large and a tiny buffer) and GUID text (hcndoc_guid_normalize,
 * hcndoc_guid_equal). The input is the document as HCN would return it (a C string). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "hcndoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	char g[HCNDOC_GUID_STRLEN], g2[HCNDOC_GUID_STRLEN], (*ids)[HCNDOC_GUID_STRLEN] = NULL;
	char msg[512], tiny[4];
	size_t n = 0, i;

	if (hcndoc_object_id(text, g) == 0) {
		FUZZ_ASSERT(strlen(g) == HCNDOC_GUID_STRLEN - 1);
		FUZZ_ASSERT(hcndoc_guid_normalize(g, g2) == 0 && strcmp(g, g2) == 0);
	}
	if (hcndoc_id_list(text, &ids, &n) == 0) {
		for (i = 0; i < n; i++)
			FUZZ_ASSERT(strlen(ids[i]) == HCNDOC_GUID_STRLEN - 1);
		free(ids);
	}
	FUZZ_ASSERT(hcndoc_error_record(text, msg, sizeof(msg)) == msg);
	FUZZ_ASSERT(strlen(msg) < sizeof(msg));
	FUZZ_ASSERT(hcndoc_error_record(text, tiny, sizeof(tiny)) == tiny);
	FUZZ_ASSERT(strlen(tiny) < sizeof(tiny));
	if (hcndoc_guid_normalize(text, g) == 0) {
		FUZZ_ASSERT(hcndoc_guid_equal(text, g));
		FUZZ_ASSERT(hcndoc_guid_normalize(g, g2) == 0 && strcmp(g, g2) == 0);
	}
	free(text);
	return 0;
}
