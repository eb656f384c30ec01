/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the stdin config as both programs read it (cni/plugin.c): the input as
 * an ADD request (cni_request_parse), its configuration (conf_parse), prevResult
 * (cni_result_decode), and what the Windows ADD builds from the configuration (hcndoc_policies,
 * hcndoc_dns); then as a VERSION request. Every error, whatever the input, must encode as one
 * JSON object (cni_error_encode), since that is what the runtime reads. */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cni.h"
#include "conf.h"
#include "fuzz.h"
#include "hcndoc.h"

/* The error object for @err must parse and carry its code. */
static void check_error(const struct cni_error *err, const char *version)
{
	char *text = cni_error_encode(err, version);
	cJSON *doc;

	FUZZ_ASSERT(text != NULL);
	doc = cJSON_Parse(text);
	FUZZ_ASSERT(cJSON_IsObject(doc));
	FUZZ_ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(doc, "code")));
	cJSON_Delete(doc);
	free(text);
}

static void windows_add(const struct conf *conf)
{
	struct ipnet_prefix subnet;
	struct ipnet_addr pod;
	struct cni_dns ipam_dns = { .n_nameservers = 1, .nameservers = { "168.63.129.16" } };
	struct cni_dns dns;
	struct cni_error err = { 0 };
	cJSON *pols = NULL;

	FUZZ_ASSERT(ipnet_prefix_parse("10.240.0.0/16", false, &subnet) == 0);
	FUZZ_ASSERT(ipnet_addr_parse("10.240.0.5", &pod) == 0);
	if (hcndoc_policies(conf, &subnet, &pod, &pols, &err) == 0) {
		char *text = hcndoc_print(pols);

		FUZZ_ASSERT(text != NULL);
		free(text);
		cJSON_Delete(pols);
	} else {
		check_error(&err, conf->cni_version);
	}
	memset(&err, 0, sizeof(err));
	if (hcndoc_dns(conf, "default", &ipam_dns, &dns, &err) < 0)
		check_error(&err, conf->cni_version);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_request req = { 0 };
	struct cni_error err = { 0 };
	static struct conf conf;      /* ~100 KB: static, not on the stack */
	static struct cni_result prev;
	char *reply;

	if (cni_request_parse((const char *)data, size, false, true, &req, &err) < 0) {
		check_error(&err, "");
	} else {
		FUZZ_ASSERT(cJSON_IsObject(req.root));
		if (conf_parse(req.root, &conf, &err) == 0) {
			FUZZ_ASSERT_TERMINATED(conf.name);
			FUZZ_ASSERT_TERMINATED(conf.bridge);
			FUZZ_ASSERT_TERMINATED(conf.master);
			FUZZ_ASSERT(conf.n_vnet_cidrs <= CONF_MAX_LIST);
			FUZZ_ASSERT(conf.n_portmaps <= CONF_MAX_PORTMAPS);
			FUZZ_ASSERT(conf.n_policies <= CONF_MAX_POLICIES);
			windows_add(&conf);
		} else {
			check_error(&err, req.version_str);
		}
		memset(&err, 0, sizeof(err));
		if (req.prev_result && cni_result_decode(req.prev_result, &prev, &err) < 0)
			check_error(&err, req.version_str);
		cni_request_free(&req);
	}

	memset(&err, 0, sizeof(err));
	if (cni_request_parse((const char *)data, size, true, false, &req, &err) == 0) {
		reply = cni_version_reply(req.version_str);
		FUZZ_ASSERT(reply != NULL);
		free(reply);
		cni_request_free(&req);
	} else {
		check_error(&err, "");
	}
	return 0;
}
