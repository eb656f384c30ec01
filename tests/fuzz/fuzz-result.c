/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for results (a prevResult, a delegated IPAM plugin's answer): the input as
 * JSON through cni_result_decode, then encoded in every version. Round trip: the 1.1.0 encoding
 * of the decoded result, decoded and encoded again, must give the same text (what we write, we
 * read back unchanged). */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cni.h"
#include "fuzz.h"

/* The 1.1.0 text of @r (malloc'd). */
static char *encode_text(const struct cni_result *r)
{
	struct cni_error err = { 0 };
	cJSON *doc = cni_result_encode(r, CNI_VERSION_1_1_0, &err);
	char *text;

	FUZZ_ASSERT(doc != NULL);
	text = cJSON_PrintUnformatted(doc);
	FUZZ_ASSERT(text != NULL);
	cJSON_Delete(doc);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cni_result r1, r2; /* ~60 KB each */
	struct cni_error err = { 0 };
	cJSON *in = cJSON_ParseWithLength((const char *)data, size), *doc;
	char *t1, *t2;
	int v;

	if (!in)
		return 0;
	if (cni_result_decode(in, &r1, &err) < 0) {
		FUZZ_ASSERT(err.code != 0);
		cJSON_Delete(in);
		return 0;
	}
	cJSON_Delete(in);
	FUZZ_ASSERT(r1.n_interfaces <= CNI_MAX_IFACES && r1.n_ips <= CNI_MAX_IPS &&
		    r1.n_routes <= CNI_MAX_ROUTES);
	for (v = CNI_VERSION_0_1_0; v < CNI_VERSION_COUNT; v++) {
		doc = cni_result_encode(&r1, (enum cni_version)v, &err);
		FUZZ_ASSERT(doc != NULL);
		cJSON_Delete(doc);
	}

	t1 = encode_text(&r1);
	doc = cJSON_Parse(t1);
	FUZZ_ASSERT(doc != NULL);
	FUZZ_ASSERT(cni_result_decode(doc, &r2, &err) == 0);
	cJSON_Delete(doc);
	t2 = encode_text(&r2);
	if (strcmp(t1, t2) != 0) {
		fprintf(stderr, "round trip differs:\n%s\n%s\n", t1, t2);
		abort();
	}
	free(t1);
	free(t2);
	return 0;
}
