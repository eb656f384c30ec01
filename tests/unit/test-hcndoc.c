/* SPDX-License-Identifier: MIT */
/* Unit tests of core/hcndoc.c: the HCN documents compared as exact compact JSON, the v1 -> v2
 * policy translation (case B21), malformed policies (code 7), per-ADD DNS, GUID and answer parsers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hcndoc.h"

static struct ipnet_prefix prefix(const char *s)
{
	struct ipnet_prefix p;

	assert_int_equal(ipnet_prefix_parse(s, false, &p), 0);
	return p;
}

static struct ipnet_addr addr(const char *s)
{
	struct ipnet_addr a;

	assert_int_equal(ipnet_addr_parse(s, &a), 0);
	return a;
}

/* Compares the compact text of @obj with @want, then frees @obj. */
static void assert_json(cJSON *obj, const char *want)
{
	char *got;

	assert_non_null(obj);
	got = hcndoc_print(obj);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	cJSON_Delete(obj);
}

/* A conf with outbound SNAT on (conf_parse's default) and the AdditionalArgs values parsed from
 * @args_json (a JSON array of {Name, Value}); the parsed array is returned in *ret_root. */
static void conf_with_args(struct conf *c, const char *args_json, cJSON **ret_root)
{
	cJSON *root = cJSON_Parse(args_json), *it;

	assert_non_null(root);
	memset(c, 0, sizeof(*c));
	c->outbound_snat = true;
	cJSON_ArrayForEach(it, root) {
		struct conf_policy *p = &c->policies[c->n_policies++];

		snprintf(p->name, sizeof(p->name), "%s", cJSON_GetObjectItem(it, "Name")->valuestring);
		p->value = cJSON_GetObjectItem(it, "Value");
	}
	*ret_root = root;
}

static void test_network(void **state)
{
	struct hcndoc_network n = {
		.name = "azure", .subnet = prefix("10.240.0.4/16"), .gateway = addr("10.240.0.1"),
		.adapter_name = "Ethernet 2",
	};
	struct cni_error err = { 0 };

	(void)state;
	assert_json(hcndoc_network(&n, &err),
		    "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Name\":\"azure\",\"Type\":\"L2Bridge\","
		    "\"Flags\":8,\"Ipams\":[{\"Type\":\"Static\",\"Subnets\":[{\"IpAddressPrefix\":"
		    "\"10.240.0.0/16\",\"Routes\":[{\"NextHop\":\"10.240.0.1\",\"DestinationPrefix\":"
		    "\"0.0.0.0/0\"}]}]}],\"Policies\":[{\"Type\":\"NetAdapterName\",\"Settings\":"
		    "{\"NetworkAdapterName\":\"Ethernet 2\"}}]}");

	/* no adapter, or HNS's own vEthernet adapter: no NetAdapterName policy */
	const char *no_adapter[] = { NULL, "", "vEthernet (Ethernet)" };
	for (size_t i = 0; i < 3; i++) {
		cJSON *doc;

		n.adapter_name = no_adapter[i];
		doc = hcndoc_network(&n, &err);
		assert_non_null(doc);
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "Policies")), 0);
		cJSON_Delete(doc);
	}
	assert_int_equal(err.code, 0);

	n.gateway = addr("10.1.0.1"); /* outside the subnet */
	assert_null(hcndoc_network(&n, &err));
	assert_int_equal(err.code, CNI_CODE_INVALID_CONFIG);
}

static void test_endpoint(void **state)
{
	struct cni_result r;
	struct cni_dns dns;
	struct cni_error err = { 0 };
	cJSON *pols = cJSON_Parse("[{\"Type\":\"OutBoundNAT\",\"Settings\":{\"Exceptions\":[\"10.0.0.0/8\"]}}]");
	struct hcndoc_endpoint e = {
		.name = "3f813b02-eth0", .network_id = "0b3c1f6e-3f1d-4b3c-9d4e-1a2b3c4d5e6f",
		.ipam = &r, .dns = &dns, .policies = pols,
	};

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&dns, 0, sizeof(dns));
	r.n_ips = 1;
	r.ips[0].address = prefix("10.240.0.5/16");
	r.ips[0].gateway = addr("10.240.0.1");
	strcpy(dns.nameservers[0], "10.0.0.10");
	strcpy(dns.nameservers[1], "168.63.129.16");
	dns.n_nameservers = 2;
	strcpy(dns.search[0], "default.svc.cluster.local");
	dns.n_search = 1;
	/* no IPAM route: the default route via the gateway is added */
	assert_json(hcndoc_endpoint(&e, &err),
		    "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Name\":\"3f813b02-eth0\","
		    "\"HostComputeNetwork\":\"0b3c1f6e-3f1d-4b3c-9d4e-1a2b3c4d5e6f\","
		    "\"IpConfigurations\":[{\"IpAddress\":\"10.240.0.5\",\"PrefixLength\":16}],"
		    "\"Routes\":[{\"NextHop\":\"10.240.0.1\",\"DestinationPrefix\":\"0.0.0.0/0\"}],"
		    "\"Dns\":{\"Search\":[\"default.svc.cluster.local\"],\"ServerList\":[\"10.0.0.10\","
		    "\"168.63.129.16\"],\"Options\":[]},\"Policies\":[{\"Type\":\"OutBoundNAT\","
		    "\"Settings\":{\"Exceptions\":[\"10.0.0.0/8\"]}}]}");

	/* IPAM routes are used as given; a route without gateway is left out */
	r.n_routes = 2;
	r.routes[0].dst = prefix("0.0.0.0/0");
	r.routes[0].gw = addr("10.240.0.1");
	r.routes[1].dst = prefix("10.240.0.0/16");
	cJSON *doc = hcndoc_endpoint(&e, &err);
	assert_non_null(doc);
	assert_json(cJSON_DetachItemFromObject(doc, "Routes"),
		    "[{\"NextHop\":\"10.240.0.1\",\"DestinationPrefix\":\"0.0.0.0/0\"}]");
	cJSON_Delete(doc);

	r.n_ips = 0;
	assert_null(hcndoc_endpoint(&e, &err));
	assert_int_equal(err.code, CNI_CODE_INVALID_CONFIG);
	cJSON_Delete(pols);
}

/* Dual-stack: one Static Ipam, an IPv4 then an IPv6 subnet, each with its family's default
 * route (ACN network_windows.go); an IPv6 gateway may be link-local; IPv6-only is one v6
 * subnet; a v6 subnet longer than /64, a v6 gateway outside and not link-local, or a second
 * subnet that is not v6 beside v4 is code 7. */
static void test_network_dual(void **state)
{
	struct hcndoc_network n = {
		.name = "azure", .subnet = prefix("10.240.0.4/16"), .gateway = addr("10.240.0.1"),
		.subnet6 = prefix("fd00:db8:1::4/64"), .gateway6 = addr("fe80::1234:5678:9abc"),
	};
	struct cni_error err = { 0 };

	(void)state;
	assert_json(hcndoc_network(&n, &err),
		    "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Name\":\"azure\",\"Type\":\"L2Bridge\","
		    "\"Flags\":8,\"Ipams\":[{\"Type\":\"Static\",\"Subnets\":[{\"IpAddressPrefix\":"
		    "\"10.240.0.0/16\",\"Routes\":[{\"NextHop\":\"10.240.0.1\",\"DestinationPrefix\":"
		    "\"0.0.0.0/0\"}]},{\"IpAddressPrefix\":\"fd00:db8:1::/64\",\"Routes\":[{\"NextHop\":"
		    "\"fe80::1234:5678:9abc\",\"DestinationPrefix\":\"::/0\"}]}]}],\"Policies\":[]}");
	n.gateway6 = addr("fd00:db8:1::1");
	cJSON_Delete(hcndoc_network(&n, &err));
	assert_int_equal(err.code, 0);

	/* IPv6-only: the v6 subnet alone */
	struct hcndoc_network v6 = { .name = "azure", .subnet = prefix("fd00:db8:1::/64"),
				     .gateway = addr("fe80::1234:5678:9abc") };
	assert_json(hcndoc_network(&v6, &err),
		    "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Name\":\"azure\",\"Type\":\"L2Bridge\","
		    "\"Flags\":8,\"Ipams\":[{\"Type\":\"Static\",\"Subnets\":[{\"IpAddressPrefix\":"
		    "\"fd00:db8:1::/64\",\"Routes\":[{\"NextHop\":\"fe80::1234:5678:9abc\","
		    "\"DestinationPrefix\":\"::/0\"}]}]}],\"Policies\":[]}");

	struct hcndoc_network bad[4];
	for (size_t i = 0; i < 4; i++)
		bad[i] = n;
	bad[0].subnet6 = prefix("fd00:db8:1::/80");     /* longer than /64 */
	bad[0].gateway6 = addr("fd00:db8:1::1");
	bad[1].gateway6 = addr("fd00:db8:2::1");        /* outside, not link-local */
	bad[2].subnet6 = prefix("10.1.0.0/16");          /* not IPv6 */
	bad[2].gateway6 = addr("10.1.0.1");
	bad[3].gateway6 = addr("10.240.0.1");           /* a v4 gateway for the v6 subnet */
	for (size_t i = 0; i < 4; i++) {
		memset(&err, 0, sizeof(err));
		assert_null(hcndoc_network(&bad[i], &err));
		assert_int_equal(err.code, CNI_CODE_INVALID_CONFIG);
	}
	v6.subnet = prefix("fd00:db8:1::/96");
	memset(&err, 0, sizeof(err));
	assert_null(hcndoc_network(&v6, &err));
	assert_non_null(strstr(err.msg, "longer than /64"));
}

/* Dual-stack endpoint: an IpConfiguration per family (v4 first, as IPAM gives them), the
 * default route of each family via its gateway when IPAM gave none; a route whose gateway is of
 * another family is left out; two addresses of one family is code 7. */
static void test_endpoint_dual(void **state)
{
	struct cni_result r;
	struct cni_error err = { 0 };
	struct hcndoc_endpoint e = { .name = "3f813b02-eth0",
				     .network_id = "0b3c1f6e-3f1d-4b3c-9d4e-1a2b3c4d5e6f", .ipam = &r };
	cJSON *doc;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.n_ips = 2;
	r.ips[0].address = prefix("10.240.0.5/16");
	r.ips[0].gateway = addr("10.240.0.1");
	r.ips[1].address = prefix("fd00:db8:1::5/64");
	r.ips[1].gateway = addr("fe80::1234:5678:9abc");
	doc = hcndoc_endpoint(&e, &err);
	assert_non_null(doc);
	assert_json(cJSON_DetachItemFromObject(doc, "IpConfigurations"),
		    "[{\"IpAddress\":\"10.240.0.5\",\"PrefixLength\":16},"
		    "{\"IpAddress\":\"fd00:db8:1::5\",\"PrefixLength\":64}]");
	assert_json(cJSON_DetachItemFromObject(doc, "Routes"),
		    "[{\"NextHop\":\"10.240.0.1\",\"DestinationPrefix\":\"0.0.0.0/0\"},"
		    "{\"NextHop\":\"fe80::1234:5678:9abc\",\"DestinationPrefix\":\"::/0\"}]");
	cJSON_Delete(doc);

	/* an IPv4 route from IPAM: used; the v6 family still gets its default route; a v6
	 * destination via a v4 gateway is left out */
	r.n_routes = 2;
	r.routes[0].dst = prefix("0.0.0.0/0");
	r.routes[0].gw = addr("10.240.0.1");
	r.routes[1].dst = prefix("fd00::/8");
	r.routes[1].gw = addr("10.240.0.1");
	doc = hcndoc_endpoint(&e, &err);
	assert_non_null(doc);
	assert_json(cJSON_DetachItemFromObject(doc, "Routes"),
		    "[{\"NextHop\":\"10.240.0.1\",\"DestinationPrefix\":\"0.0.0.0/0\"},"
		    "{\"NextHop\":\"fe80::1234:5678:9abc\",\"DestinationPrefix\":\"::/0\"}]");
	cJSON_Delete(doc);

	r.ips[0] = r.ips[1];
	r.ips[0].address = prefix("fd00:db8:1::6/64");
	assert_null(hcndoc_endpoint(&e, &err));
	assert_int_equal(err.code, CNI_CODE_INVALID_CONFIG);
	assert_non_null(strstr(err.msg, "IPv6"));
}

/* IPv6 policies: a second OutBoundNAT with the v6 subnet and v6 VNet ranges (the v4 one keeps
 * only v4 ranges); a portMapping without hostIP twice (v4 Flags 1, v6 Flags 2); one with a v6
 * hostIP once, Flags 2; with SNAT off no v6 OutBoundNAT. */
static void test_policies_v6(void **state)
{
	struct conf c;
	cJSON *root, *pols = NULL;
	struct ipnet_prefix subnet = prefix("10.240.0.0/16"), subnet6 = prefix("fd00:db8:1::/64");
	struct cni_error err = { 0 };

	(void)state;
	conf_with_args(&c, "[{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"OutBoundNAT\","
			   "\"ExceptionList\":[\"10.0.0.0/8\"]}}]", &root);
	c.vnet_cidrs[0] = prefix("172.20.0.0/16");
	c.vnet_cidrs[1] = prefix("fd00:db8::/48");
	c.n_vnet_cidrs = 2;
	c.portmaps[0] = (struct conf_portmap){ .host_port = 8080, .container_port = 80, .protocol = "tcp" };
	c.portmaps[1] = (struct conf_portmap){ .host_port = 8443, .container_port = 443,
					       .protocol = "udp", .host_ip = "fd00:db8:1::4" };
	c.n_portmaps = 2;
	assert_int_equal(hcndoc_policies(&c, &subnet, NULL, &pols, &err), 0);
	assert_int_equal(hcndoc_policies_v6(&c, &subnet6, pols, &err), 0);
	assert_json(pols, "[{\"Type\":\"OutBoundNAT\",\"Settings\":{\"Exceptions\":[\"10.0.0.0/8\","
			  "\"172.20.0.0/16\"]}},"
			  "{\"Type\":\"PortMapping\",\"Settings\":{\"InternalPort\":80,\"ExternalPort\":8080,"
			  "\"Protocol\":6,\"Flags\":1}},"
			  "{\"Type\":\"PortMapping\",\"Settings\":{\"InternalPort\":443,\"ExternalPort\":8443,"
			  "\"Protocol\":17,\"Flags\":2,\"VIP\":\"fd00:db8:1::4\"}},"
			  "{\"Type\":\"OutBoundNAT\",\"Settings\":{\"Exceptions\":[\"fd00:db8:1::/64\","
			  "\"fd00:db8::/48\"]}},"
			  "{\"Type\":\"PortMapping\",\"Settings\":{\"InternalPort\":80,\"ExternalPort\":8080,"
			  "\"Protocol\":6,\"Flags\":2}}]");
	cJSON_Delete(root);

	/* a conflist OutBoundNAT that already holds a v6 range takes the v6 ones */
	conf_with_args(&c, "[{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"OutBoundNAT\","
			   "\"ExceptionList\":[\"10.0.0.0/8\"]}},{\"Name\":\"EndpointPolicy\","
			   "\"Value\":{\"Type\":\"OutBoundNAT\",\"ExceptionList\":[\"fc00::/7\"]}}]",
			   &root);
	assert_int_equal(hcndoc_policies(&c, &subnet, NULL, &pols, &err), 0);
	assert_int_equal(hcndoc_policies_v6(&c, &subnet6, pols, &err), 0);
	assert_json(pols, "[{\"Type\":\"OutBoundNAT\",\"Settings\":{\"Exceptions\":[\"10.0.0.0/8\"]}},"
			  "{\"Type\":\"OutBoundNAT\",\"Settings\":{\"Exceptions\":[\"fc00::/7\"]}}]");
	c.outbound_snat = false;
	assert_int_equal(hcndoc_policies(&c, &subnet, NULL, &pols, &err), 0);
	assert_int_equal(hcndoc_policies_v6(&c, &subnet6, pols, &err), 0);
	assert_json(pols, "[{\"Type\":\"OutBoundNAT\",\"Settings\":{\"Exceptions\":[\"10.0.0.0/8\"]}},"
			  "{\"Type\":\"OutBoundNAT\",\"Settings\":{\"Exceptions\":[\"fc00::/7\"]}}]");
	cJSON_Delete(root);

	/* the conflist's IPv6 OutBoundNAT listed first: the IPv4 ranges still go to the IPv4 one
	 * (they went into the IPv6 one, and the IPv4 OutBoundNAT lacked the pod subnet) */
	conf_with_args(&c, "[{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"OutBoundNAT\","
			   "\"ExceptionList\":[\"fc00::/7\"]}},{\"Name\":\"EndpointPolicy\","
			   "\"Value\":{\"Type\":\"OutBoundNAT\",\"ExceptionList\":[\"192.168.0.0/16\"]}}]",
			   &root);
	assert_int_equal(hcndoc_policies(&c, &subnet, NULL, &pols, &err), 0);
	assert_int_equal(hcndoc_policies_v6(&c, &subnet6, pols, &err), 0);
	assert_json(pols, "[{\"Type\":\"OutBoundNAT\",\"Settings\":{\"Exceptions\":[\"fc00::/7\"]}},"
			  "{\"Type\":\"OutBoundNAT\",\"Settings\":{\"Exceptions\":[\"192.168.0.0/16\","
			  "\"10.240.0.0/16\"]}}]");
	cJSON_Delete(root);
	assert_int_equal(err.code, 0);
}

/* Case B21: every ExceptionList entry reaches Settings.Exceptions, ROUTE becomes SDNRoute, in
 * order; the pool subnet is already covered by 10.0.0.0/8 so nothing is appended. */
static void test_policies_b21(void **state)
{
	struct conf c;
	cJSON *root, *pols = NULL;
	struct ipnet_prefix subnet = prefix("10.240.0.0/16");
	struct cni_error err = { 0 };

	(void)state;
	conf_with_args(&c,
		       "[{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"OutBoundNAT\",\"ExceptionList\":"
		       "[\"10.0.0.0/8\",\"172.16.0.0/12\",\"192.168.0.0/16\"]}},"
		       "{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"ROUTE\",\"DestinationPrefix\":"
		       "\"10.96.0.0/12\",\"NeedEncap\":true}}]",
		       &root);
	assert_int_equal(hcndoc_policies(&c, &subnet, NULL, &pols, &err), 0);
	assert_json(pols, "[{\"Type\":\"OutBoundNAT\",\"Settings\":{\"Exceptions\":[\"10.0.0.0/8\","
			  "\"172.16.0.0/12\",\"192.168.0.0/16\"]}},{\"Type\":\"SDNRoute\",\"Settings\":"
			  "{\"DestinationPrefix\":\"10.96.0.0/12\",\"NeedEncap\":true}}]");
	cJSON_Delete(root);
}

/* The VNet ranges not yet excepted are appended to the conflist's OutBoundNAT; without one,
 * an OutBoundNAT is added; with SNAT off, nothing is added. */
static void test_policies_snat(void **state)
{
	struct conf c;
	cJSON *root, *pols = NULL;
	struct ipnet_prefix subnet = prefix("192.168.7.0/24");
	struct cni_error err = { 0 };

	(void)state;
	conf_with_args(&c, "[{\"Name\":\"EndpointPolicy\",\"Value\":{\"type\":\"outboundnat\","
			   "\"exceptionlist\":[\"10.0.0.0/8\"]}}]", &root);
	c.vnet_cidrs[0] = prefix("10.1.0.0/16"); /* covered */
	c.vnet_cidrs[1] = prefix("172.20.0.0/16");
	c.n_vnet_cidrs = 2;
	assert_int_equal(hcndoc_policies(&c, &subnet, NULL, &pols, &err), 0);
	assert_json(pols, "[{\"Type\":\"OutBoundNAT\",\"Settings\":{\"Exceptions\":[\"10.0.0.0/8\","
			  "\"192.168.7.0/24\",\"172.20.0.0/16\"]}}]");
	cJSON_Delete(root);

	conf_with_args(&c, "[{\"Name\":\"NetworkPolicy\",\"Value\":{\"Type\":\"whatever\"}}]", &root);
	assert_int_equal(hcndoc_policies(&c, &subnet, NULL, &pols, &err), 0);
	assert_json(pols, "[{\"Type\":\"OutBoundNAT\",\"Settings\":{\"Exceptions\":[\"192.168.7.0/24\"]}}]");

	c.outbound_snat = false;
	assert_int_equal(hcndoc_policies(&c, &subnet, NULL, &pols, &err), 0);
	assert_json(pols, "[]");
	cJSON_Delete(root);
	assert_int_equal(err.code, 0);
}

static void test_policies_kinds(void **state)
{
	struct conf c;
	cJSON *root, *pols = NULL;
	struct ipnet_prefix subnet = prefix("10.240.0.0/16");
	struct ipnet_addr pod = addr("10.240.0.9");
	struct cni_error err = { 0 };

	(void)state;
	conf_with_args(&c,
		       "[{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"OutBoundNAT\",\"Settings\":"
		       "{\"Exceptions\":[\"10.0.0.0/8\"],\"VirtualIP\":\"1.2.3.4\"}}},"
		       "{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"ACL\",\"Protocol\":6,\"Action\":"
		       "\"Block\",\"Direction\":\"Out\",\"RemoteAddresses\":\"168.63.129.16/32\","
		       "\"RemotePorts\":\"80\",\"Priority\":200,\"RuleType\":\"Switch\"}},"
		       "{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"LoopbackDSR\",\"IPAddress\":\"10.0.0.7\"}},"
		       "{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"L4WFPPROXY\",\"OutboundProxyPort\":\"15001\"}}]",
		       &root);
	c.enable_loopback_dsr = true;
	c.portmaps[0] = (struct conf_portmap){ .host_port = 8080, .container_port = 80, .protocol = "tcp" };
	c.portmaps[1] = (struct conf_portmap){ .host_port = 53, .container_port = 5353, .protocol = "udp",
					       .host_ip = "10.240.0.4" };
	c.n_portmaps = 2;
	assert_int_equal(hcndoc_policies(&c, &subnet, &pod, &pols, &err), 0);
	assert_json(pols,
		    "[{\"Type\":\"OutBoundNAT\",\"Settings\":{\"Exceptions\":[\"10.0.0.0/8\"],\"VirtualIP\":\"1.2.3.4\"}},"
		    "{\"Type\":\"ACL\",\"Settings\":{\"Protocols\":\"6\",\"Action\":\"Block\",\"Direction\":\"Out\","
		    "\"RemoteAddresses\":\"168.63.129.16/32\",\"RemotePorts\":\"80\",\"RuleType\":\"Switch\",\"Priority\":200}},"
		    "{\"Type\":\"OutBoundNAT\",\"Settings\":{\"Destinations\":[\"10.0.0.7\"]}},"
		    "{\"Type\":\"L4WFPPROXY\",\"Settings\":{\"OutboundProxyPort\":\"15001\"}},"
		    "{\"Type\":\"OutBoundNAT\",\"Settings\":{\"Destinations\":[\"10.240.0.9\"]}},"
		    "{\"Type\":\"PortMapping\",\"Settings\":{\"InternalPort\":80,\"ExternalPort\":8080,\"Protocol\":6,\"Flags\":1}},"
		    "{\"Type\":\"PortMapping\",\"Settings\":{\"InternalPort\":5353,\"ExternalPort\":53,\"Protocol\":17,"
		    "\"Flags\":1,\"VIP\":\"10.240.0.4\"}}]");
	cJSON_Delete(root);
}

/* Malformed entries: code 7 naming the entry; nothing is returned. */
static void test_policies_malformed(void **state)
{
	static const struct {
		const char *args;
		const char *msg_part;
	} cases[] = {
		{ "[{\"Name\":\"EndpointPolicy\",\"Value\":\"OutBoundNAT\"}]", "JSON object" },
		{ "[{\"Name\":\"EndpointPolicy\",\"Value\":{\"ExceptionList\":[]}}]", "needs a Type" },
		{ "[{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"Bogus\"}}]", "not supported" },
		{ "[{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"OutBoundNAT\",\"ExceptionList\":\"10.0.0.0/8\"}}]", "array" },
		{ "[{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"OutBoundNAT\",\"ExceptionList\":[\"10.0.0.0/33\"]}}]", "invalid CIDR" },
		{ "[{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"ROUTE\",\"NeedEncap\":true}}]", "DestinationPrefix" },
		{ "[{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"ROUTE\",\"DestinationPrefix\":\"10.0.0.0/8\",\"NeedEncap\":\"yes\"}}]", "NeedEncap" },
		{ "[{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"ACL\",\"Action\":\"Drop\",\"Direction\":\"In\"}}]", "Action" },
		{ "[{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"LoopbackDSR\"}}]", "IPAddress" },
		{ "[{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"OutBoundNAT\",\"Settings\":[1]}}]", "Settings" },
	};
	struct ipnet_prefix subnet = prefix("10.240.0.0/16");

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cni_error err = { 0 };
		struct conf c;
		cJSON *root, *pols = NULL;

		conf_with_args(&c, cases[i].args, &root);
		assert_int_equal(hcndoc_policies(&c, &subnet, NULL, &pols, &err), -EINVAL);
		assert_null(pols);
		assert_int_equal(err.code, CNI_CODE_INVALID_CONFIG);
		if (!strstr(err.msg, cases[i].msg_part))
			fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.msg, cases[i].msg_part);
		assert_string_equal(err.details, "AdditionalArgs[0]");
		cJSON_Delete(root);
	}

	struct conf c;
	struct cni_error err = { 0 };
	cJSON *root, *pols = NULL;
	conf_with_args(&c, "[]", &root);
	c.portmaps[0] = (struct conf_portmap){ .host_port = 80, .container_port = 80, .protocol = "sctp" };
	c.n_portmaps = 1;
	assert_int_equal(hcndoc_policies(&c, &subnet, NULL, &pols, &err), -EINVAL);
	assert_int_equal(err.code, CNI_CODE_INVALID_CONFIG);
	cJSON_Delete(root);
}

static void test_dns(void **state)
{
	struct conf c;
	struct cni_dns d, ipam;
	struct cni_error err = { 0 };

	(void)state;
	memset(&c, 0, sizeof(c));
	memset(&ipam, 0, sizeof(ipam));
	strcpy(c.dns.nameservers[0], "10.0.0.10");
	strcpy(c.dns.nameservers[1], "168.63.129.16");
	c.dns.n_nameservers = 2;
	strcpy(c.dns.search[0], "svc.cluster.local");
	strcpy(c.dns.search[1], "cluster.local");
	c.dns.n_search = 2;
	assert_int_equal(hcndoc_dns(&c, "kube-system", &ipam, &d, &err), 0);
	assert_int_equal(d.n_search, 2);
	assert_string_equal(d.search[0], "kube-system.svc.cluster.local");
	assert_string_equal(d.search[1], "cluster.local");
	assert_int_equal(d.n_nameservers, 2);
	assert_string_equal(d.nameservers[1], "168.63.129.16");

	/* runtimeConfig.dns wins */
	c.has_runtime_dns = true;
	strcpy(c.runtime_dns.nameservers[0], "10.96.0.10");
	c.runtime_dns.n_nameservers = 1;
	strcpy(c.runtime_dns.search[0], "default.svc.cluster.local");
	c.runtime_dns.n_search = 1;
	assert_int_equal(hcndoc_dns(&c, "kube-system", &ipam, &d, &err), 0);
	assert_int_equal(d.n_nameservers, 1);
	assert_string_equal(d.nameservers[0], "10.96.0.10");
	assert_string_equal(d.search[0], "default.svc.cluster.local");
	/* ... also with servers alone (no search list, not the config's) or searches alone */
	c.runtime_dns.n_search = 0;
	assert_int_equal(hcndoc_dns(&c, "kube-system", &ipam, &d, &err), 0);
	assert_int_equal(d.n_nameservers, 1);
	assert_string_equal(d.nameservers[0], "10.96.0.10");
	assert_int_equal(d.n_search, 0);
	c.runtime_dns.n_search = 1;
	c.runtime_dns.n_nameservers = 0;
	assert_int_equal(hcndoc_dns(&c, "kube-system", &ipam, &d, &err), 0);
	assert_int_equal(d.n_nameservers, 0);
	assert_int_equal(d.n_search, 1);
	assert_string_equal(d.search[0], "default.svc.cluster.local");
	/* options alone: the config's dns */
	c.runtime_dns.n_search = 0;
	strcpy(c.runtime_dns.options[0], "ndots:5");
	c.runtime_dns.n_options = 1;
	assert_int_equal(hcndoc_dns(&c, "kube-system", &ipam, &d, &err), 0);
	assert_int_equal(d.n_nameservers, 2);
	assert_string_equal(d.search[0], "kube-system.svc.cluster.local");
	c.runtime_dns.n_options = 0;
	c.has_runtime_dns = false;

	/* neither in the config: IPAM's */
	c.dns.n_nameservers = 0;
	c.dns.n_search = 0;
	strcpy(ipam.nameservers[0], "168.63.129.16");
	ipam.n_nameservers = 1;
	assert_int_equal(hcndoc_dns(&c, "default", &ipam, &d, &err), 0);
	assert_int_equal(d.n_nameservers, 1);
	assert_int_equal(d.n_search, 0);

	/* one without the other */
	c.dns.n_nameservers = 1;
	assert_int_equal(hcndoc_dns(&c, "default", &ipam, &d, &err), -EINVAL);
	assert_int_equal(err.code, CNI_CODE_INVALID_CONFIG);
	assert_non_null(strstr(err.msg, "Wrong DNS configuration"));
}

static void test_small_documents(void **state)
{
	char buf[64];

	(void)state;
	assert_json(hcndoc_namespace_modify("0b3c1f6e-3f1d-4b3c-9d4e-1a2b3c4d5e6f", true),
		    "{\"ResourceType\":\"Endpoint\",\"RequestType\":\"Add\",\"Settings\":"
		    "{\"EndpointId\":\"0b3c1f6e-3f1d-4b3c-9d4e-1a2b3c4d5e6f\"}}");
	assert_json(hcndoc_namespace_modify("x", false),
		    "{\"ResourceType\":\"Endpoint\",\"RequestType\":\"Remove\",\"Settings\":{\"EndpointId\":\"x\"}}");
	assert_json(hcndoc_query_name("azure"),
		    "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Flags\":0,\"Filter\":\"{\\\"Name\\\":\\\"azure\\\"}\"}");
	assert_string_equal(hcndoc_endpoint_name("3f813b02ab7e9", "eth0", buf, sizeof(buf)), "3f813b02-eth0");
	assert_string_equal(hcndoc_endpoint_name("c1", "eth0", buf, sizeof(buf)), "c1-eth0");
}

static void test_guids_and_answers(void **state)
{
	char g[HCNDOC_GUID_STRLEN], msg[128];
	char (*ids)[HCNDOC_GUID_STRLEN] = NULL;
	size_t n = 99;

	(void)state;
	assert_int_equal(hcndoc_guid_normalize("{0B3C1F6E-3F1D-4B3C-9D4E-1A2B3C4D5E6F}", g), 0);
	assert_string_equal(g, "0b3c1f6e-3f1d-4b3c-9d4e-1a2b3c4d5e6f");
	assert_int_equal(hcndoc_guid_normalize("0b3c1f6e-3f1d-4b3c-9d4e-1a2b3c4d5e6", g), -EINVAL);
	assert_int_equal(hcndoc_guid_normalize("0b3c1f6e_3f1d-4b3c-9d4e-1a2b3c4d5e6f", g), -EINVAL);
	assert_int_equal(hcndoc_guid_normalize("/var/run/netns/x", g), -EINVAL);
	assert_true(hcndoc_guid_equal("0B3C1F6E-3F1D-4B3C-9D4E-1A2B3C4D5E6F", "{0b3c1f6e-3f1d-4b3c-9d4e-1a2b3c4d5e6f}"));
	assert_false(hcndoc_guid_equal("0B3C1F6E-3F1D-4B3C-9D4E-1A2B3C4D5E6F", "1b3c1f6e-3f1d-4b3c-9d4e-1a2b3c4d5e6f"));

	assert_int_equal(hcndoc_object_id("{\"ID\":\"0B3C1F6E-3F1D-4B3C-9D4E-1A2B3C4D5E6F\",\"Name\":\"azure\"}", g), 0);
	assert_string_equal(g, "0b3c1f6e-3f1d-4b3c-9d4e-1a2b3c4d5e6f");
	assert_int_equal(hcndoc_object_id("{\"Name\":\"azure\"}", g), -EINVAL);
	assert_int_equal(hcndoc_object_id("not json", g), -EINVAL);

	assert_int_equal(hcndoc_id_list("[\"0B3C1F6E-3F1D-4B3C-9D4E-1A2B3C4D5E6F\",\"1b3c1f6e-3f1d-4b3c-9d4e-1a2b3c4d5e6f\"]", &ids, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], "0b3c1f6e-3f1d-4b3c-9d4e-1a2b3c4d5e6f");
	free(ids);
	assert_int_equal(hcndoc_id_list("[]", &ids, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(hcndoc_id_list(NULL, &ids, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(hcndoc_id_list("{}", &ids, &n), -EINVAL);
	assert_int_equal(hcndoc_id_list("[\"x\"]", &ids, &n), -EINVAL);

	hcndoc_error_record("{\"Success\":false,\"Error\":\"The parameter is incorrect.\\r\\n\",\"ErrorCode\":2147942487}",
			    msg, sizeof(msg));
	assert_string_equal(msg, "The parameter is incorrect.");
	assert_string_equal(hcndoc_error_record("  plain text\r\n", msg, sizeof(msg)), "plain text");
	assert_string_equal(hcndoc_error_record(NULL, msg, sizeof(msg)), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_network),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_network_dual),
		cmocka_unit_test(test_endpoint_dual),
		cmocka_unit_test(test_policies_v6),
		cmocka_unit_test(test_policies_b21),
		cmocka_unit_test(test_policies_snat),
		cmocka_unit_test(test_policies_kinds),
		cmocka_unit_test(test_policies_malformed),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_small_documents),
		cmocka_unit_test(test_guids_and_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
