/* SPDX-License-Identifier: MIT */
/* core/cns: the CNS request in both shapes (IPConfigsRequest, IPConfigRequest), answers good and
 * malformed (tests/data/cns/, shaped as ACN cns/NetworkContainerContract.go), release answers
 * (plural, twice-encoded, bare Response), and the CNI result an answer makes. Table-driven. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cJSON.h>

#include "core/cns.h"
#include "fixtures.h"

static struct cns_request sample_request(void)
{
	struct cns_request req = {
		.pod_name = "web-0",
		.pod_namespace = "default",
		.pod_interface_id = "3f813b02-eth0",
		.infra_container_id = "3f813b02aaaa",
		.ifname = "eth0",
	};
	return req;
}

static void test_request_plural(void **state)
{
	struct cns_request req = sample_request();
	cJSON *o, *ctx;
	char *text;

	(void)state;
	text = cns_request_encode(&req, false);
	assert_non_null(text);
	o = cJSON_Parse(text);
	assert_non_null(o);
	/* the json tags, exact case */
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "podInterfaceID")->valuestring,
			    "3f813b02-eth0");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "infraContainerID")->valuestring,
			    "3f813b02aaaa");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "ifname")->valuestring, "eth0");
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "desiredIPAddresses")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "secondaryInterfacesExist")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "BackendInterfaceExist")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "BacknendInterfaceMacAddress")));
	ctx = cJSON_GetObjectItemCaseSensitive(o, "orchestratorContext");
	assert_true(cJSON_IsObject(ctx));
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(ctx, "podName")->valuestring, "web-0");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(ctx, "podNamespace")->valuestring,
			    "default");
	cJSON_Delete(o);
	free(text);

	/* release: the pod's addresses as desiredIPAddresses */
	assert_int_equal(ipnet_addr_parse("10.241.0.4", &req.desired[0]), 0);
	assert_int_equal(ipnet_addr_parse("fd00::4", &req.desired[1]), 0);
	req.n_desired = 2;
	text = cns_request_encode(&req, false);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"desiredIPAddresses\":[\"10.241.0.4\",\"fd00::4\"]"));
	free(text);
}

static void test_request_singular(void **state)
{
	struct cns_request req = sample_request();
	cJSON *o;
	char *text;

	(void)state;
	text = cns_request_encode(&req, true);
	o = cJSON_Parse(text);
	assert_non_null(o);
	/* IPConfigRequest has no tags: the Go field names */
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "DesiredIPAddress")->valuestring, "");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "PodInterfaceID")->valuestring,
			    "3f813b02-eth0");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "InfraContainerID")->valuestring,
			    "3f813b02aaaa");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "Ifname")->valuestring, "eth0");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(
				    cJSON_GetObjectItemCaseSensitive(o, "OrchestratorContext"),
				    "podName")->valuestring, "web-0");
	assert_null(cJSON_GetObjectItemCaseSensitive(o, "podInterfaceID"));
	cJSON_Delete(o);
	free(text);
}

static void decode_fixture(const char *name, struct cns_response *resp, int want_r,
			   struct cni_error *err)
{
	char path[128], *text;
	size_t len;

	snprintf(path, sizeof(path), "cns/%s", name);
	text = fixture_read(path, &len);
	memset(err, 0, sizeof(*err));
	assert_int_equal(cns_response_decode(text, len, resp, err), want_r);
	free(text);
}

static void expect_ip(const struct cni_result *res, size_t i, const char *addr, const char *gw)
{
	char buf[IPNET_PREFIX_STRLEN];

	assert_string_equal(ipnet_prefix_format(&res->ips[i].address, buf, sizeof(buf)), addr);
	assert_string_equal(ipnet_addr_format(&res->ips[i].gateway, buf, sizeof(buf)), gw);
}

static void test_answer_ok(void **state)
{
	static const char *const same[] = { "request-ok.json", "request-singular.json",
					     "request-lowercase-keys.json" };
	struct cns_response resp;
	struct cni_result res;
	struct cni_error err;
	char buf[IPNET_PREFIX_STRLEN];

	(void)state;
	for (size_t k = 0; k < sizeof(same) / sizeof(same[0]); k++) {
		decode_fixture(same[k], &resp, 0, &err);
		assert_int_equal(resp.return_code, 0);
		assert_int_equal(resp.n_ips, 1);
		assert_string_equal(ipnet_addr_format(&resp.ips[0].host_primary, buf, sizeof(buf)),
				    "10.240.0.4");
		assert_string_equal(ipnet_prefix_format(&resp.ips[0].host_subnet, buf, sizeof(buf)),
				    "10.240.0.0/16");
		assert_string_equal(resp.ips[0].nic_type, "InfraNIC");
		assert_int_equal(cns_result_fill(&resp, CNS_POD_SUBNETS, &res, &err), 0);
		assert_int_equal(res.n_ips, 1);
		expect_ip(&res, 0, "10.241.0.4/16", "10.241.0.1");
		assert_int_equal(res.ips[0].iface, -1);
		assert_int_equal(res.n_routes, 1);
		assert_string_equal(ipnet_prefix_format(&res.routes[0].dst, buf, sizeof(buf)),
				    "0.0.0.0/0");
		assert_string_equal(ipnet_addr_format(&res.routes[0].gw, buf, sizeof(buf)),
				    "10.241.0.1");
		assert_int_equal(res.n_interfaces, 0);
	}
}

static void test_answer_dualstack_routes(void **state)
{
	struct cns_response resp;
	struct cni_result res;
	struct cni_error err;
	char buf[IPNET_PREFIX_STRLEN];

	(void)state;
	decode_fixture("request-dualstack.json", &resp, 0, &err);
	assert_int_equal(cns_result_fill(&resp, CNS_POD_SUBNETS, &res, &err), 0);
	assert_int_equal(res.n_ips, 2);
	expect_ip(&res, 0, "10.241.0.4/16", "10.241.0.1");
	/* IPv6: IPSubnetV6's length and GatewayIPv6Address */
	expect_ip(&res, 1, "fd00::4/64", "fd00::1");
	assert_int_equal(res.n_routes, 2);
	assert_string_equal(ipnet_prefix_format(&res.routes[1].dst, buf, sizeof(buf)), "::/0");

	decode_fixture("request-routes.json", &resp, 0, &err);
	assert_int_equal(cns_result_fill(&resp, CNS_POD_SUBNETS, &res, &err), 0);
	/* CNS's routes replace the default one */
	assert_int_equal(res.n_routes, 2);
	assert_string_equal(ipnet_prefix_format(&res.routes[0].dst, buf, sizeof(buf)), "10.0.0.0/8");
	assert_string_equal(ipnet_prefix_format(&res.routes[1].dst, buf, sizeof(buf)), "0.0.0.0/0");
}

/* Azure CNI Overlay: the pod's prefix is the cluster's (the NC subnet's length), and with no
 * gateway from CNS the pod's own per family and OS (Linux 169.254.1.1, Windows the CIDR's first
 * address; IPv6 fe80::1234:5678:9abc on both). The same
 * answer outside Overlay is unusable (a pod subnet needs CNS's gateway). */
static void test_answer_overlay(void **state)
{
	struct cns_response resp;
	struct cni_result res;
	struct cni_error err;
	char buf[IPNET_PREFIX_STRLEN];

	(void)state;
	decode_fixture("request-overlay.json", &resp, 0, &err);
	assert_int_equal(cns_result_fill(&resp, CNS_OVERLAY_LINUX, &res, &err), 0);
	assert_int_equal(res.n_ips, 1);
	expect_ip(&res, 0, "10.244.1.5/16", "169.254.1.1");
	assert_int_equal(res.n_routes, 1);
	assert_string_equal(ipnet_prefix_format(&res.routes[0].dst, buf, sizeof(buf)), "0.0.0.0/0");
	assert_string_equal(ipnet_addr_format(&res.routes[0].gw, buf, sizeof(buf)), "169.254.1.1");
	memset(&err, 0, sizeof(err));
	assert_int_equal(cns_result_fill(&resp, CNS_POD_SUBNETS, &res, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "GatewayIPAddress"));

	decode_fixture("request-overlay-dualstack.json", &resp, 0, &err);
	assert_int_equal(cns_result_fill(&resp, CNS_OVERLAY_LINUX, &res, &err), 0);
	assert_int_equal(res.n_ips, 2);
	expect_ip(&res, 0, "10.244.1.5/16", "169.254.1.1");
	expect_ip(&res, 1, "fd44:0:0:1::5/48", "fe80::1234:5678:9abc");
	assert_int_equal(res.n_routes, 2);
	assert_string_equal(ipnet_prefix_format(&res.routes[1].dst, buf, sizeof(buf)), "::/0");
	assert_string_equal(ipnet_addr_format(&res.routes[1].gw, buf, sizeof(buf)),
			    "fe80::1234:5678:9abc");

	/* Windows: the pod CIDR's first address for IPv4, the same IPv6 one */
	assert_int_equal(cns_result_fill(&resp, CNS_OVERLAY_WINDOWS, &res, &err), 0);
	expect_ip(&res, 0, "10.244.1.5/16", "10.244.0.1");
	expect_ip(&res, 1, "fd44:0:0:1::5/48", "fe80::1234:5678:9abc");
	assert_string_equal(ipnet_addr_format(&res.routes[0].gw, buf, sizeof(buf)), "10.244.0.1");

	/* a gateway CNS does give is kept in Overlay too */
	decode_fixture("request-ok.json", &resp, 0, &err);
	assert_int_equal(cns_result_fill(&resp, CNS_OVERLAY_LINUX, &res, &err), 0);
	expect_ip(&res, 0, "10.241.0.4/16", "10.241.0.1");
}

/* CNS lists a dual-stack pod's PodIpInfo in no fixed order (cns/restserver/ipam.go
 * AssignAvailableIPConfigs ranges over a Go map): the result is IPv4 first all the same (the
 * backends read ips[0] as the IPv4 network, ips[1] as the IPv6 one), and the NC primary IP is
 * the IPv4 NC's, wherever it is listed. */
static void test_answer_v6_first(void **state)
{
	struct cns_response resp;
	struct cni_result res;
	struct cni_error err;
	struct cns_swift sw;
	char buf[IPNET_PREFIX_STRLEN];

	(void)state;
	decode_fixture("request-overlay-v6-first.json", &resp, 0, &err);
	assert_int_equal(cns_result_fill(&resp, CNS_OVERLAY_LINUX, &res, &err), 0);
	assert_int_equal(res.n_ips, 2);
	expect_ip(&res, 0, "10.244.1.5/16", "169.254.1.1");
	expect_ip(&res, 1, "fd44:0:0:1::5/48", "fe80::1234:5678:9abc");
	assert_int_equal(res.n_routes, 2);
	assert_string_equal(ipnet_prefix_format(&res.routes[0].dst, buf, sizeof(buf)), "0.0.0.0/0");
	assert_string_equal(ipnet_prefix_format(&res.routes[1].dst, buf, sizeof(buf)), "::/0");
	assert_int_equal(cns_swift_addrs(&resp, &sw, &err), 0);
	assert_string_equal(ipnet_addr_format(&sw.nc_primary, buf, sizeof(buf)), "10.244.1.0");
	assert_string_equal(ipnet_addr_format(&sw.host_primary, buf, sizeof(buf)), "10.240.0.4");

	/* no IPv4 NC: family 0 */
	decode_fixture("request-overlay-dualstack.json", &resp, 0, &err);
	resp.ips[0] = resp.ips[1];
	resp.n_ips = 1;
	assert_int_equal(cns_swift_addrs(&resp, &sw, &err), 0);
	assert_int_equal(sw.nc_primary.family, 0);
	assert_int_equal(sw.host_primary.family, 0);
}

/* Pod subnets' SWIFT SNAT sources: the NC primary and the node's primary IP, both as CNS gave
 * them in the same PodIpInfo (HostPrimaryIPInfo.PrimaryIP, not the NIC's first address); a
 * host IP missing or not IPv4 is code 105 naming it, with nothing written. */
static void test_swift_addrs(void **state)
{
	struct cns_response resp;
	struct cni_error err;
	struct cns_swift sw;
	char buf[IPNET_PREFIX_STRLEN];

	(void)state;
	decode_fixture("request-ok.json", &resp, 0, &err);
	ipnet_addr_parse("10.240.0.77", &resp.ips[0].host_primary);
	assert_int_equal(cns_swift_addrs(&resp, &sw, &err), 0);
	assert_string_equal(ipnet_addr_format(&sw.nc_primary, buf, sizeof(buf)), "10.241.0.2");
	assert_string_equal(ipnet_addr_format(&sw.host_primary, buf, sizeof(buf)), "10.240.0.77");

	memset(&resp.ips[0].host_primary, 0, sizeof(resp.ips[0].host_primary));
	memset(&err, 0, sizeof(err));
	assert_int_equal(cns_swift_addrs(&resp, &sw, &err), -EBADMSG);
	assert_int_equal(err.code, CNI_CODE_SOURCE);
	assert_non_null(strstr(err.msg, "podIPInfo[0].HostPrimaryIPInfo.PrimaryIP is missing"));
	assert_int_equal(sw.nc_primary.family, 0);

	ipnet_addr_parse("fd00::4", &resp.ips[0].host_primary);
	memset(&err, 0, sizeof(err));
	assert_int_equal(cns_swift_addrs(&resp, &sw, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "PrimaryIP is not IPv4"));
}

static void test_answer_refused(void **state)
{
	struct cns_response resp;
	struct cni_error err;

	(void)state;
	decode_fixture("request-refused.json", &resp, 0, &err);
	assert_int_equal(resp.return_code, CNS_CODE_FAILED_TO_ALLOCATE_IP_CONFIG);
	assert_int_equal(resp.n_ips, 0);
	assert_non_null(strstr(resp.message, "waiting on Azure CNS"));
	assert_string_equal(cns_code_name(resp.return_code), "FailedToAllocateIpConfig");
	assert_string_equal(cns_code_name(14), "NotFound");
	assert_string_equal(cns_code_name(12345), "UnknownError");
}

/* Answers that do not decode: code 105 naming the field. */
static void test_answer_malformed(void **state)
{
	static const struct {
		const char *file, *field;
	} cases[] = {
		{ "request-bad-address.json", "podIPInfo[0].PodIPConfig.IPAddress" },
		{ "request-bad-prefix.json", "podIPInfo[0].PodIPConfig.PrefixLength" },
		{ "request-wrong-type.json", "podIPInfo[0].SkipDefaultRoutes" },
		{ "request-no-response.json", "response" },
		{ "request-not-json.txt", "not a JSON object" },
	};
	struct cns_response resp;
	struct cni_error err;

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		decode_fixture(cases[k].file, &resp, -EBADMSG, &err);
		assert_int_equal(err.code, CNI_CODE_SOURCE);
		if (!strstr(err.msg, cases[k].field))
			fail_msg("%s: \"%s\" does not name %s", cases[k].file, err.msg, cases[k].field);
	}
	memset(&err, 0, sizeof(err));
	assert_int_equal(cns_response_decode("", 0, &resp, &err), -EBADMSG);
	assert_int_equal(cns_response_decode("[]", 2, &resp, &err), -EBADMSG);
	/* found by fuzz-cns: a ReturnCode past int; a body without a NUL (ASan checks the read) */
	memset(&err, 0, sizeof(err));
	assert_int_equal(cns_response_decode("{\"response\":{\"ReturnCode\":1e999}}", 34, &resp,
					     &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "response.ReturnCode"));
	{
		char *raw = malloc(3);

		assert_non_null(raw);
		memcpy(raw, "x y", 3);
		memset(&err, 0, sizeof(err));
		assert_int_equal(cns_response_decode(raw, 3, &resp, &err), -EBADMSG);
		assert_non_null(strstr(err.msg, "\"x y\""));
		free(raw);
	}
}

/* Answers that decode but make no result: code 105 naming why. */
static void test_answer_unusable(void **state)
{
	static const struct {
		const char *file, *what;
	} cases[] = {
		{ "request-no-gateway.json", "GatewayIPAddress" },
		{ "request-frontend-nic.json", "NICType \"FrontendNIC\"" },
		{ "request-skip-default.json", "SkipDefaultRoutes" },
		{ "request-empty.json", "no address" },
		/* a prefix length of 0 in both places: a /0 pod network (the node's SNAT would
		 * exempt everything), refused before anything is made */
		{ "request-prefix-zero.json", "NetworkContainerPrimaryIPConfig.IPSubnet.PrefixLength" },
		/* hostile answers: each would reach the pod, the node's routes or HNS */
		{ "request-route-family.json", "podIPInfo[0].Routes[0].GatewayIPAddress is not of" },
		{ "request-two-v4.json", "podIPInfo[1].PodIPConfig.IPAddress is a second IPv4" },
		{ "request-pod-unspecified.json", "PodIPConfig.IPAddress is not a unicast" },
		{ "request-pod-link-local.json", "PodIPConfig.IPAddress is not a unicast" },
		{ "request-gateway-loopback.json", "GatewayIPAddress is not a unicast gateway" },
		{ "request-gateway-self.json", "GatewayIPAddress is not a unicast gateway" },
	};
	struct cns_response resp;
	struct cni_result res;
	struct cni_error err;

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		decode_fixture(cases[k].file, &resp, 0, &err);
		assert_int_equal(cns_result_fill(&resp, CNS_POD_SUBNETS, &res, &err), -EBADMSG);
		assert_int_equal(err.code, CNI_CODE_SOURCE);
		if (!strstr(err.msg, cases[k].what))
			fail_msg("%s: \"%s\" does not name %s", cases[k].file, err.msg, cases[k].what);
	}
}

static void test_release(void **state)
{
	static const struct {
		const char *file;
		int r, code;
	} cases[] = {
		{ "release-ok.json", 0, 0 },
		{ "release-twice.json", 0, CNS_CODE_UNSUPPORTED_ORCHESTRATOR_CONTEXT },
		{ "release-bare.json", 0, CNS_CODE_UNEXPECTED_ERROR },
		{ "release-notfound.json", 0, CNS_CODE_NOT_FOUND },
		{ "request-not-json.txt", -EBADMSG, -1 },
		{ "request-no-response.json", -EBADMSG, -1 },
	};
	char path[128], msg[64], *text;
	struct cni_error err;
	size_t len;
	int code;

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		snprintf(path, sizeof(path), "cns/%s", cases[k].file);
		text = fixture_read(path, &len);
		memset(&err, 0, sizeof(err));
		code = -1;
		assert_int_equal(cns_release_decode(text, len, &code, msg, sizeof(msg), &err),
				 cases[k].r);
		if (cases[k].r == 0)
			assert_int_equal(code, cases[k].code);
		else
			assert_int_equal(err.code, CNI_CODE_SOURCE);
		free(text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_plural),
		cmocka_unit_test(test_request_singular),
		cmocka_unit_test(test_answer_ok),
		cmocka_unit_test(test_answer_dualstack_routes),
		cmocka_unit_test(test_answer_overlay),
		cmocka_unit_test(test_answer_v6_first),
		cmocka_unit_test(test_swift_addrs),
		cmocka_unit_test(test_answer_refused),
		cmocka_unit_test(test_answer_malformed),
		cmocka_unit_test(test_answer_unusable),
		cmocka_unit_test(test_release),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
