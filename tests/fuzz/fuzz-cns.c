/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for what the plugin reads from CNS (core/cns.h): the input as an answer to
 * a request (cns_response_decode, then cns_result_fill) and as an answer to a release
 * (cns_release_decode). A failure must say why (an error code and message); a success must
 * leave terminated strings and in-range counts, and a result with an address and a gateway of
 * its family. */
#include <stdlib.h>
#include <string.h>

#include "cni.h"
#include "cns.h"
#include "fuzz.h"

static void use_response(const struct cns_response *resp, enum cns_mode mode)
{
	struct cni_error err = { 0 };
	struct cni_result res;
	struct cns_swift sw;
	size_t i;

	FUZZ_ASSERT_TERMINATED(resp->message);
	FUZZ_ASSERT(resp->n_ips <= CNS_MAX_IPS);
	for (i = 0; i < resp->n_ips; i++) {
		FUZZ_ASSERT_TERMINATED(resp->ips[i].nic_type);
		FUZZ_ASSERT(resp->ips[i].n_routes <= CNS_MAX_ROUTES);
	}
	if (cns_result_fill(resp, mode, &res, &err) < 0) {
		FUZZ_ASSERT(err.code != 0 && err.msg[0]);
		return;
	}
	FUZZ_ASSERT(res.n_ips > 0 && res.n_ips <= CNI_MAX_IPS && res.n_routes <= CNI_MAX_ROUTES);
	for (i = 0; i < res.n_ips; i++) {
		FUZZ_ASSERT(res.ips[i].gateway.family == res.ips[i].address.addr.family);
		/* one address per family, IPv4 first */
		FUZZ_ASSERT(i == 0 || res.ips[i].address.addr.family != res.ips[0].address.addr.family);
	}
	for (i = 0; i < res.n_routes; i++)
		FUZZ_ASSERT(!res.routes[i].gw.family ||
			    res.routes[i].gw.family == res.routes[i].dst.addr.family);
	memset(&err, 0, sizeof(err));
	if (cns_swift_addrs(resp, &sw, &err) < 0) {
		FUZZ_ASSERT(err.code != 0 && err.msg[0] && !sw.nc_primary.family);
		return;
	}
	FUZZ_ASSERT((sw.nc_primary.family == IPNET_AF_INET) ==
		    (sw.host_primary.family == IPNET_AF_INET));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cns_response *resp = malloc(sizeof(*resp));
	struct cni_error err = { 0 };
	char msg[CNS_MESSAGE_MAX];
	int code = -1;

	if (!resp)
		abort();
	if (cns_response_decode((const char *)data, size, resp, &err) < 0)
		FUZZ_ASSERT(err.code != 0 && err.msg[0]);
	else
		use_response(resp, (enum cns_mode)(size % 3)); /* each mode, by the input */
	free(resp);
	memset(&err, 0, sizeof(err));
	if (cns_release_decode((const char *)data, size, &code, msg, sizeof(msg), &err) < 0)
		FUZZ_ASSERT(err.code != 0 && err.msg[0]);
	else
		FUZZ_ASSERT_TERMINATED(msg);
	return 0;
}
