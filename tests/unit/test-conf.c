/* SPDX-License-Identifier: MIT */
/* core/conf: the azure-vnet network config. Good configs (odd-case keys, unknown keys, nulls,
 * every optional section), the shipped conflists' plugin entries, and a table of bad inputs,
 * one per code 7 path. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/conf.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

static void assert_prefix_text(const struct ipnet_prefix *p, const char *want)
{
	char buf[IPNET_PREFIX_STRLEN];

	assert_string_equal(ipnet_prefix_format(p, buf, sizeof(buf)), want);
}

/* ---- good configs: one check function per case ---- */

static void check_c0(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_string_equal(c->cni_version, "0.3.0");
	assert_string_equal(c->name, "azure");
	assert_string_equal(c->type, "azure-vnet");
	assert_int_equal(c->mode, CONF_MODE_TRANSPARENT);
	assert_string_equal(c->mode_str, "transparent");
	assert_string_equal(c->ipam.type, "azure-vnet-ipam");
	assert_int_equal(c->ipam.environment, CONF_IPAM_ENV_MAS);
	assert_string_equal(c->ipam.address_space, "local");
	assert_string_equal(c->ipam.subnet, "");
	assert_string_equal(c->ipam.ip_address, "");
	assert_true(c->outbound_snat);
	assert_false(c->disable_hairpin_on_host_interface);
	assert_false(c->disable_iptables_lock);
	assert_int_equal(c->n_vnet_cidrs, 0);
	assert_int_equal(c->n_portmaps, 0);
	assert_false(c->has_runtime_dns);
	assert_int_equal(c->n_policies, 0);
	assert_int_equal(c->dns.n_nameservers, 0);
}

static void check_bridge(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_int_equal(c->mode, CONF_MODE_BRIDGE);
	assert_string_equal(c->bridge, "azure0");
}

static void check_tunnel_default(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_int_equal(c->mode, CONF_MODE_TUNNEL);
	assert_string_equal(c->mode_str, "");
	assert_int_equal(c->ipam.environment, CONF_IPAM_ENV_AZURE);
	assert_string_equal(c->ipam.type, "");
	assert_string_equal(c->ipam.address_space, "local");
	assert_true(c->outbound_snat);
}

static void check_tunnel(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_int_equal(c->mode, CONF_MODE_TUNNEL);
	assert_string_equal(c->mode_str, "tunnel");
}

static void check_tvlan(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_int_equal(c->mode, CONF_MODE_TRANSPARENT_VLAN);
}

static void check_odd_case(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_string_equal(c->cni_version, "1.0.0");
	assert_string_equal(c->name, "azure");
	assert_string_equal(c->type, "azure-vnet");
	assert_int_equal(c->mode, CONF_MODE_BRIDGE);
	assert_string_equal(c->bridge, "azure0");
	assert_string_equal(c->master, "eth0");
	assert_string_equal(c->adapter_name, "Ethernet 2");
	assert_string_equal(c->ipam.type, "azure-vnet-ipam");
	assert_int_equal(c->ipam.environment, CONF_IPAM_ENV_AZURE);
	assert_string_equal(c->ipam.subnet, "10.240.0.0/16");
	assert_string_equal(c->ipam.ip_address, "10.240.0.9");
	assert_string_equal(c->ipam.address_space, "local");
	assert_int_equal(c->ipam.query_interval_s, 10);
	assert_int_equal(c->dns.n_nameservers, 2);
	assert_string_equal(c->dns.nameservers[0], "10.0.0.10");
	assert_string_equal(c->dns.nameservers[1], "168.63.129.16");
	assert_int_equal(c->dns.n_search, 1);
	assert_string_equal(c->dns.search[0], "svc.cluster.local");
	assert_string_equal(c->dns.domain, "cluster.local");
	assert_int_equal(c->dns.n_options, 1);
	assert_string_equal(c->dns.options[0], "ndots:5");
	assert_false(c->outbound_snat);
	assert_int_equal(c->n_vnet_cidrs, 2);
	assert_prefix_text(&c->vnet_cidrs[0], "10.240.0.0/16");
	assert_prefix_text(&c->vnet_cidrs[1], "10.1.0.0/16");
	assert_true(c->disable_hairpin_on_host_interface);
	assert_true(c->disable_iptables_lock);
	assert_int_equal(c->n_ips_to_route_via_host, 1);
	assert_string_equal(c->ips_to_route_via_host[0], "169.254.20.10");
	assert_true(c->enable_loopback_dsr);
	assert_int_equal(c->hns_timeout_s, 120);
	assert_int_equal(c->n_portmaps, 1);
	assert_int_equal(c->portmaps[0].host_port, 8080);
	assert_int_equal(c->portmaps[0].container_port, 80);
	assert_string_equal(c->portmaps[0].protocol, "tcp");
	assert_true(c->has_runtime_dns);
	assert_int_equal(c->runtime_dns.n_nameservers, 1);
	assert_string_equal(c->runtime_dns.nameservers[0], "10.0.0.10");
	assert_int_equal(c->n_policies, 1);
	assert_string_equal(c->policies[0].name, "EndpointPolicy");
	assert_non_null(c->policies[0].value);
}

static void check_unknown_ignored(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_int_equal(c->mode, CONF_MODE_TRANSPARENT);
	assert_string_equal(c->ipam.type, "azure-vnet-ipam");
}

static void check_nulls(const struct conf *c, const cJSON *root)
{
	check_tunnel_default(c, root);
	assert_string_equal(c->name, "");
	assert_int_equal(c->dns.n_nameservers, 0);
	assert_false(c->has_runtime_dns);
	assert_int_equal(c->n_policies, 0);
}

static void check_vnet_array(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_int_equal(c->n_vnet_cidrs, 3);
	assert_prefix_text(&c->vnet_cidrs[0], "10.240.0.0/16"); /* host bits cleared */
	assert_prefix_text(&c->vnet_cidrs[1], "172.16.0.0/12");
	assert_prefix_text(&c->vnet_cidrs[2], "fd00::/8");
}

static void check_vnet_string(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_int_equal(c->n_vnet_cidrs, 2);
	assert_prefix_text(&c->vnet_cidrs[0], "10.0.0.0/8");
	assert_prefix_text(&c->vnet_cidrs[1], "192.168.0.0/16");
}

static void check_vnet_empty(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_int_equal(c->n_vnet_cidrs, 0);
}

static void check_runtime(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_int_equal(c->n_portmaps, 3);
	assert_int_equal(c->portmaps[0].host_port, 8080);
	assert_int_equal(c->portmaps[0].container_port, 80);
	assert_string_equal(c->portmaps[0].protocol, "tcp");
	assert_string_equal(c->portmaps[0].host_ip, "");
	assert_int_equal(c->portmaps[1].host_port, 53);
	assert_string_equal(c->portmaps[1].protocol, "udp");
	assert_string_equal(c->portmaps[1].host_ip, "10.0.0.1");
	assert_string_equal(c->portmaps[2].protocol, "sctp");
	assert_true(c->has_runtime_dns);
	assert_int_equal(c->runtime_dns.n_nameservers, 2);
	assert_string_equal(c->runtime_dns.nameservers[1], "10.0.0.11");
	assert_int_equal(c->runtime_dns.n_search, 1);
	assert_string_equal(c->runtime_dns.search[0], "default.svc.cluster.local");
	assert_int_equal(c->runtime_dns.n_options, 1);
	assert_string_equal(c->runtime_dns.options[0], "ndots:5");
}

static void check_runtime_dns_empty(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_false(c->has_runtime_dns);
	assert_int_equal(c->n_portmaps, 0);
}

static void check_policies(const struct conf *c, const cJSON *root)
{
	const cJSON *args = cJSON_GetObjectItem(root, "additionalargs");

	assert_int_equal(c->n_policies, 3);
	assert_string_equal(c->policies[0].name, "EndpointPolicy");
	assert_string_equal(c->policies[1].name, "NetworkPolicy");
	assert_string_equal(c->policies[2].name, "");
	/* the values are the request's own objects */
	assert_ptr_equal(c->policies[0].value, cJSON_GetObjectItem(cJSON_GetArrayItem(args, 0), "Value"));
	assert_ptr_equal(c->policies[1].value, cJSON_GetObjectItem(cJSON_GetArrayItem(args, 1), "value"));
	assert_null(c->policies[2].value);
	assert_string_equal(cJSON_GetObjectItem(c->policies[0].value, "Type")->valuestring, "OutBoundNAT");
}

static void check_env_null(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_int_equal(c->ipam.environment, CONF_IPAM_ENV_NULL);
}

static void check_env_file(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_int_equal(c->ipam.environment, CONF_IPAM_ENV_MAS);
}

static void check_env_azure(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_int_equal(c->ipam.environment, CONF_IPAM_ENV_AZURE);
	assert_string_equal(c->ipam.address_space, "local");
}

/* azure-cns: the swift conflist's ipam, cnsurl matched in any case (ACN cni/netconfig.go) */
static void check_cns(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_string_equal(c->ipam.type, "azure-cns");
	assert_string_equal(c->ipam.mode, "overlay");
	assert_string_equal(c->cns_url, "http://127.0.0.1:10091");
}

static void check_cns_default(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_string_equal(c->ipam.mode, "");
	assert_string_equal(c->cns_url, "");
}

static void check_bridge_chars(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_string_equal(c->bridge, "az (0)_.-Z9 x");
}

static void check_query_number(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_int_equal(c->ipam.query_interval_s, 30);
}

static void check_query_suffix(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_int_equal(c->ipam.query_interval_s, 15);
}

static void check_query_default(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_int_equal(c->ipam.query_interval_s, CONF_QUERY_INTERVAL_DEFAULT_S);
	assert_int_equal(CONF_QUERY_INTERVAL_DEFAULT_S, 10);
}

static void check_query_zero(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_int_equal(c->ipam.query_interval_s, 0);
}

static void check_v6(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_string_equal(c->ipam.subnet, "fd00:10::/64");
	assert_string_equal(c->ipam.ip_address, "fd00:10::5");
	assert_string_equal(c->ips_to_route_via_host[0], "fd00::a");
}

static void check_empty_lists(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_int_equal(c->n_ips_to_route_via_host, 0);
	assert_int_equal(c->n_policies, 0);
	assert_int_equal(c->dns.n_nameservers, 0);
}

static const struct {
	const char *json;
	void (*check)(const struct conf *c, const cJSON *root);
} good[] = {
	/* C0, the base config of the cases */
	{"{\"cniVersion\":\"0.3.0\",\"name\":\"azure\",\"type\":\"azure-vnet\",\"mode\":\"transparent\","
	 "\"ipam\":{\"type\":\"azure-vnet-ipam\",\"environment\":\"mas\"}}", check_c0},
	{"{\"cniVersion\":\"0.3.0\",\"name\":\"azure\",\"type\":\"azure-vnet\",\"mode\":\"bridge\",\"bridge\":\"azure0\","
	 "\"ipam\":{\"type\":\"azure-vnet-ipam\",\"environment\":\"mas\"}}", check_bridge},
	{"{}", check_tunnel_default},
	{"{\"mode\":\"\"}", check_tunnel_default},
	{"{\"mode\":\"tunnel\"}", check_tunnel},
	{"{\"mode\":\"transparent-vlan\"}", check_tvlan},
	/* odd-case keys everywhere (Go encoding/json matches case-insensitively) */
	{"{\"CNIVERSION\":\"1.0.0\",\"Name\":\"azure\",\"TYPE\":\"azure-vnet\",\"Mode\":\"bridge\","
	 "\"BRIDGE\":\"azure0\",\"Master\":\"eth0\",\"AdapterName\":\"Ethernet 2\","
	 "\"IPAM\":{\"Type\":\"azure-vnet-ipam\",\"Environment\":\"azure\",\"Subnet\":\"10.240.0.0/16\","
	 "\"IPAddress\":\"10.240.0.9\",\"AddressSpace\":\"local\",\"QueryInterval\":\"10\"},"
	 "\"DNS\":{\"Nameservers\":[\"10.0.0.10\",\"168.63.129.16\"],\"Search\":[\"svc.cluster.local\"],"
	 "\"Domain\":\"cluster.local\",\"Options\":[\"ndots:5\"]},"
	 "\"EnableOutboundSnat\":false,\"VNETCIDRS\":\"10.240.0.0/16, 10.1.0.0/16\","
	 "\"DisableHairpinOnHostInterface\":true,\"DISABLEIPTABLELOCK\":true,"
	 "\"IPsToRouteViaHost\":[\"169.254.20.10\"],"
	 "\"WindowsSettings\":{\"EnableLoopbackDSR\":true,\"HNSTimeoutDurationInSeconds\":120},"
	 "\"RuntimeConfig\":{\"PortMappings\":[{\"HostPort\":8080,\"ContainerPort\":80,\"Protocol\":\"TCP\"}],"
	 "\"DNS\":{\"Servers\":[\"10.0.0.10\"]}},"
	 "\"additionalArgs\":[{\"name\":\"EndpointPolicy\",\"value\":{\"Type\":\"OutBoundNAT\"}}]}", check_odd_case},
	/* unknown keys (Go plugin features we do not implement, other plugins' keys) are ignored */
	{"{\"mode\":\"transparent\",\"logLevel\":\"debug\",\"logTarget\":\"file\",\"multiTenancy\":false,"
	 "\"enableSnatOnHost\":true,\"executionMode\":\"v4swift\",\"capabilities\":{\"portMappings\":true},"
	 "\"foo\":{\"bar\":[1,2,{\"x\":null}]},\"snat\":true,\"prevResult\":{\"cniVersion\":\"0.3.0\"},"
	 "\"ipam\":{\"type\":\"azure-vnet-ipam\",\"mode\":\"v4overlay\",\"other\":1}}", check_unknown_ignored},
	/* null is absent */
	{"{\"name\":null,\"mode\":null,\"ipam\":null,\"dns\":null,\"runtimeConfig\":null,"
	 "\"AdditionalArgs\":null,\"windowsSettings\":null,\"enableOutboundSnat\":null,\"vnetCidrs\":null}",
	 check_nulls},
	{"{\"vnetCidrs\":[\"10.240.0.4/16\",\"172.16.0.0/12\",\"fd00::1/8\"]}", check_vnet_array},
	{"{\"vnetCidrs\":\" 10.0.0.0/8,,192.168.0.0/16 ,\"}", check_vnet_string},
	{"{\"vnetCidrs\":\"\"}", check_vnet_empty},
	{"{\"vnetCidrs\":[]}", check_vnet_empty},
	{"{\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"tcp\"},"
	 "{\"hostPort\":53,\"containerPort\":53,\"protocol\":\"UDP\",\"hostIP\":\"10.0.0.1\"},"
	 "{\"hostPort\":1,\"containerPort\":65535,\"protocol\":\"sctp\",\"hostIP\":\"\"}],"
	 "\"dns\":{\"servers\":[\"10.0.0.10\",\"10.0.0.11\"],\"searches\":[\"default.svc.cluster.local\"],"
	 "\"options\":[\"ndots:5\"]},\"bandwidth\":{}}}", check_runtime},
	{"{\"runtimeConfig\":{\"portMappings\":[],\"dns\":{\"servers\":[]}}}", check_runtime_dns_empty},
	{"{\"runtimeConfig\":{}}", check_runtime_dns_empty},
	{"{\"additionalargs\":[{\"Name\":\"EndpointPolicy\",\"Value\":{\"Type\":\"OutBoundNAT\","
	 "\"ExceptionList\":[\"10.0.0.0/8\",\"172.16.0.0/12\"]}},"
	 "{\"name\":\"NetworkPolicy\",\"value\":{\"Type\":\"ROUTE\"}},{\"Other\":1}]}", check_policies},
	{"{\"ipam\":{\"environment\":\"null\"}}", check_env_null},
	{"{\"ipam\":{\"environment\":\"fileIpam\"}}", check_env_file},
	{"{\"ipam\":{\"environment\":\"\",\"addressSpace\":\"\"}}", check_env_azure},
	{"{\"ipam\":{}}", check_env_azure},
	{"{\"CNSUrl\":\"http://127.0.0.1:10091\",\"ipam\":{\"type\":\"azure-cns\",\"Mode\":\"overlay\"}}", check_cns},
	{"{\"ipam\":{\"type\":\"azure-cns\"}}", check_cns_default},
	{"{\"bridge\":\"az (0)_.-Z9 x\"}", check_bridge_chars},
	{"{\"ipam\":{\"queryInterval\":30}}", check_query_number},
	{"{\"ipam\":{\"queryInterval\":\"15s\"}}", check_query_suffix},
	{"{\"ipam\":{\"type\":\"azure-vnet-ipam\"}}", check_query_default},
	{"{\"ipam\":{\"queryInterval\":\"\"}}", check_query_default},
	{"{\"name\":\"x\"}", check_query_default},
	{"{\"ipam\":{\"queryInterval\":\"0\"}}", check_query_zero},
	{"{\"ipam\":{\"queryInterval\":0}}", check_query_zero},
	{"{\"ipam\":{\"subnet\":\"fd00:10::/64\",\"ipAddress\":\"fd00:10::5\"},\"ipsToRouteViaHost\":[\"fd00::a\"]}",
	 check_v6},
	{"{\"ipsToRouteViaHost\":[],\"AdditionalArgs\":[],\"dns\":{\"nameservers\":[]}}", check_empty_lists},
};

static void test_conf_good(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_ELEM(good); k++) {
		struct conf *c = calloc(1, sizeof(*c));
		struct cni_error err = {0};
		cJSON *root = cJSON_Parse(good[k].json);
		int r;

		assert_non_null(c);
		assert_non_null(root);
		r = conf_parse(root, c, &err);
		if (r != 0)
			print_error("case %zu: %s (%s)\n", k, err.msg, err.details);
		assert_int_equal(r, 0);
		assert_int_equal(err.code, 0);
		print_message("good case %zu\n", k);
		good[k].check(c, root);
		cJSON_Delete(root);
		free(c);
	}
}

/* ---- bad configs: every code 7 path, the message naming the field ---- */

static const struct {
	const char *json;
	const char *msg; /* substring of err.msg */
} bad[] = {
	{"[]", "network configuration"},
	{"\"x\"", "network configuration"},
	{"{\"cniVersion\":1}", "cniVersion must be a string"},
	{"{\"name\":5}", "name must be a string"},
	{"{\"type\":[]}", "type must be a string"},
	{"{\"mode\":\"Bridge\"}", "Network mode is invalid"},
	{"{\"mode\":\"l2bridge\"}", "Network mode is invalid"},
	{"{\"mode\":\"transparent \"}", "Network mode is invalid"},
	{"{\"mode\":5}", "mode must be a string"},
	{"{\"mode\":\"transparent-vlan-transparent-vlan-transparent-vlan\"}", "Network mode is invalid"},
	{"{\"master\":\"a/b\"}", "master"},
	{"{\"master\":\"eth0:1\"}", "master"},
	{"{\"master\":\"abcdefghijklmnop\"}", "master"},
	{"{\"master\":5}", "master must be a string"},
	{"{\"adapterName\":false}", "adapterName must be a string"},
	{"{\"bridge\":\"azure$0\"}", "bridge"},
	{"{\"bridge\":\"a/b\"}", "bridge"},
	{"{\"bridge\":\"az\\u00e9\"}", "bridge"},
	{"{\"bridge\":\"abcdefghijklmnop\"}", "bridge"},
	{"{\"bridge\":true}", "bridge must be a string"},
	{"{\"ipam\":\"azure-vnet-ipam\"}", "ipam must be an object"},
	{"{\"ipam\":[]}", "ipam must be an object"},
	{"{\"ipam\":{\"type\":5}}", "ipam.type"},
	{"{\"ipam\":{\"environment\":\"foo\"}}", "ipam.environment"},
	{"{\"ipam\":{\"environment\":\"Azure\"}}", "ipam.environment"},
	{"{\"ipam\":{\"environment\":5}}", "ipam.environment"},
	{"{\"ipam\":{\"mode\":\"V4Overlay\"}}", "ipam.mode"},
	{"{\"ipam\":{\"mode\":5}}", "ipam.mode"},
	{"{\"cnsurl\":\"ftp://x\"}", "cnsurl"},
	{"{\"cnsurl\":\"http://\"}", "cnsurl"},
	{"{\"cnsurl\":\"http://a b\"}", "cnsurl"},
	{"{\"cnsurl\":true}", "cnsurl"},
	{"{\"ipam\":{\"addressSpace\":5}}", "ipam.addressSpace"},
	{"{\"ipam\":{\"subnet\":\"10.0.0.0\"}}", "ipam.subnet"},
	{"{\"ipam\":{\"subnet\":\"10.0.0.300/16\"}}", "ipam.subnet"},
	{"{\"ipam\":{\"subnet\":\"10.0.0.0/33\"}}", "ipam.subnet"},
	{"{\"ipam\":{\"subnet\":[\"10.0.0.0/16\"]}}", "ipam.subnet"},
	{"{\"ipam\":{\"ipAddress\":\"10.0.0.5/16\"}}", "ipam.ipAddress"},
	{"{\"ipam\":{\"ipAddress\":\"x\"}}", "ipam.ipAddress"},
	/* dual-stack (issue 10): an IPv6 subnet longer than /64, malformed, or of the other family
	 * than ipam.ipAddress */
	{"{\"ipam\":{\"subnet\":\"fd00:10::/80\"}}", "ipam.subnet"},
	{"{\"ipam\":{\"subnet\":\"fd00:10:::/64\"}}", "ipam.subnet"},
	{"{\"ipam\":{\"subnet\":\"fd00:10::/64\",\"ipAddress\":\"10.0.0.5\"}}", "ipam.ipAddress"},
	{"{\"ipam\":{\"subnet\":\"10.0.0.0/16\",\"ipAddress\":\"fd00:10::5\"}}", "ipam.subnet"},
	{"{\"ipam\":{\"ipAddress\":\"fd00:10::5/64\"}}", "ipam.ipAddress"},
	{"{\"ipam\":{\"ipAddress\":\"fd00::g\"}}", "ipam.ipAddress"},
	{"{\"ipam\":{\"queryInterval\":\"abc\"}}", "ipam.queryInterval"},
	{"{\"ipam\":{\"queryInterval\":\"10m\"}}", "ipam.queryInterval"},
	{"{\"ipam\":{\"queryInterval\":true}}", "ipam.queryInterval"},
	{"{\"ipam\":{\"queryInterval\":1.5}}", "ipam.queryInterval"},
	{"{\"ipam\":{\"queryInterval\":-1}}", "ipam.queryInterval"},
	{"{\"dns\":[]}", "dns must be an object"},
	{"{\"dns\":{\"nameservers\":\"10.0.0.10\"}}", "dns.nameservers"},
	{"{\"dns\":{\"Nameservers\":[1]}}", "dns.nameservers"},
	{"{\"dns\":{\"search\":[true]}}", "dns.search"},
	{"{\"dns\":{\"domain\":5}}", "dns.domain"},
	{"{\"dns\":{\"options\":{}}}", "dns.options"},
	{"{\"dns\":{\"nameservers\":[\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\","
	 "\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\","
	 "\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\"]}}", "dns.nameservers has 17 entries"},
	{"{\"dns\":{\"nameservers\":[\"0123456789012345678901234567890123456789012345678\"]}}", "dns.nameservers"},
	{"{\"ipsToRouteViaHost\":\"169.254.20.10\"}", "ipsToRouteViaHost"},
	{"{\"ipsToRouteViaHost\":[\"x\"]}", "ipsToRouteViaHost"},
	{"{\"ipsToRouteViaHost\":[\"169.254.20.10/32\"]}", "ipsToRouteViaHost"},
	{"{\"ipsToRouteViaHost\":[1]}", "ipsToRouteViaHost"},
	{"{\"vnetCidrs\":\"10.0.0.0/8,bad\"}", "vnetCidrs entry \"bad\""},
	{"{\"vnetCidrs\":\"10.0.0.0\"}", "vnetCidrs"},
	{"{\"vnetCidrs\":[\"10.0.0.0/8\",\"10.0.0.0\"]}", "vnetCidrs"},
	{"{\"vnetCidrs\":5}", "vnetCidrs"},
	{"{\"vnetCidrs\":[5]}", "vnetCidrs"},
	{"{\"vnetCidrs\":\"1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,5.0.0.0/8,6.0.0.0/8,7.0.0.0/8,8.0.0.0/8,"
	 "9.0.0.0/8,10.0.0.0/8,11.0.0.0/8,12.0.0.0/8,13.0.0.0/8,14.0.0.0/8,15.0.0.0/8,16.0.0.0/8,"
	 "17.0.0.0/8,18.0.0.0/8,19.0.0.0/8,20.0.0.0/8,21.0.0.0/8,22.0.0.0/8,23.0.0.0/8,24.0.0.0/8,"
	 "25.0.0.0/8,26.0.0.0/8,27.0.0.0/8,28.0.0.0/8,29.0.0.0/8,30.0.0.0/8,31.0.0.0/8,32.0.0.0/8,"
	 "33.0.0.0/8\"}", "vnetCidrs has more than"},
	{"{\"enableOutboundSnat\":\"true\"}", "enableOutboundSnat"},
	{"{\"disableHairpinOnHostInterface\":1}", "disableHairpinOnHostInterface"},
	{"{\"disableIPTableLock\":\"yes\"}", "disableIPTableLock"},
	{"{\"runtimeConfig\":[]}", "runtimeConfig must be an object"},
	{"{\"runtimeConfig\":{\"portMappings\":{}}}", "runtimeConfig.portMappings"},
	{"{\"runtimeConfig\":{\"portMappings\":[5]}}", "runtimeConfig.portMappings[0]"},
	{"{\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":0,\"containerPort\":80}]}}", "runtimeConfig.portMappings[0].hostPort"},
	{"{\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":70000,\"containerPort\":80}]}}", "runtimeConfig.portMappings[0].hostPort"},
	/* the conversion to an integer came before the range check (undefined for 1e300) */
	{"{\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":1e300,\"containerPort\":80}]}}", "runtimeConfig.portMappings[0].hostPort"},
	{"{\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":80,\"containerPort\":-1e309}]}}", "runtimeConfig.portMappings[0].containerPort"},
	{"{\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":\"80\",\"containerPort\":80}]}}", "runtimeConfig.portMappings[0].hostPort"},
	{"{\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":80,\"containerPort\":80.5}]}}", "runtimeConfig.portMappings[0].containerPort"},
	{"{\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":80,\"containerPort\":80},{\"hostPort\":81}]}}", "runtimeConfig.portMappings[1]"},
	{"{\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":80,\"containerPort\":80,\"protocol\":\"icmp\"}]}}", "runtimeConfig.portMappings[0].protocol"},
	{"{\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":80,\"containerPort\":80,\"protocol\":6}]}}", "runtimeConfig.portMappings[0].protocol"},
	{"{\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":80,\"containerPort\":80,\"hostIP\":\"x\"}]}}", "runtimeConfig.portMappings[0].hostIP"},
	{"{\"runtimeConfig\":{\"dns\":[]}}", "runtimeConfig.dns"},
	{"{\"runtimeConfig\":{\"dns\":{\"servers\":\"10.0.0.10\"}}}", "runtimeConfig.dns.servers"},
	{"{\"runtimeConfig\":{\"dns\":{\"searches\":[1]}}}", "runtimeConfig.dns.searches"},
	{"{\"runtimeConfig\":{\"dns\":{\"options\":5}}}", "runtimeConfig.dns.options"},
	{"{\"AdditionalArgs\":{}}", "AdditionalArgs"},
	{"{\"AdditionalArgs\":[5]}", "AdditionalArgs[0]"},
	{"{\"AdditionalArgs\":[{\"Name\":5}]}", "AdditionalArgs[0].Name"},
	{"{\"AdditionalArgs\":[{\"Name\":\"EndpointPolicy\",\"Value\":{}},{\"Name\":\"EndpointPolicy\",\"Value\":\"x\"}]}",
	 "AdditionalArgs[1].Value"},
	{"{\"AdditionalArgs\":[{\"Name\":\"EndpointPolicy\",\"Value\":[1]}]}", "AdditionalArgs[0].Value"},
	{"{\"windowsSettings\":[]}", "windowsSettings must be an object"},
	{"{\"windowsSettings\":{\"enableLoopbackDSR\":\"true\"}}", "windowsSettings.enableLoopbackDSR"},
	{"{\"windowsSettings\":{\"hnsTimeoutDurationInSeconds\":-1}}", "windowsSettings.hnsTimeoutDurationInSeconds"},
	{"{\"windowsSettings\":{\"hnsTimeoutDurationInSeconds\":\"120\"}}", "windowsSettings.hnsTimeoutDurationInSeconds"},
	{"{\"windowsSettings\":{\"hnsTimeoutDurationInSeconds\":1.5}}", "windowsSettings.hnsTimeoutDurationInSeconds"},
};

static void test_conf_bad(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_ELEM(bad); k++) {
		struct conf *c = malloc(sizeof(*c));
		struct cni_error err = {0};
		cJSON *root = cJSON_Parse(bad[k].json);
		int r;

		assert_non_null(c);
		if (!root)
			print_error("case %zu: test JSON does not parse\n", k);
		assert_non_null(root);
		memset(c, 0x5a, sizeof(*c));
		r = conf_parse(root, c, &err);
		if (r != -EINVAL || err.code != CNI_CODE_INVALID_CONFIG || !strstr(err.msg, bad[k].msg))
			print_error("case %zu %s: r=%d code=%d msg=\"%s\", want \"%s\"\n", k, bad[k].json,
				    r, err.code, err.msg, bad[k].msg);
		assert_int_equal(r, -EINVAL);
		assert_int_equal(err.code, CNI_CODE_INVALID_CONFIG);
		assert_non_null(strstr(err.msg, bad[k].msg));
		assert_int_equal((unsigned char)c->name[0], 0x5a); /* untouched on failure */
		cJSON_Delete(root);
		free(c);
	}
}

static void test_conf_mode_details(void **state)
{
	struct conf *c = malloc(sizeof(*c));
	struct cni_error err = {0};
	cJSON *root = cJSON_Parse("{\"mode\":\"vxlan\"}");

	(void)state;
	assert_int_equal(conf_parse(root, c, &err), -EINVAL);
	assert_string_equal(err.msg, "Network mode is invalid");
	assert_non_null(strstr(err.details, "vxlan"));
	cJSON_Delete(root);
	free(c);
}

/* ---- the shipped conflists: plugins[0] with name and cniVersion injected, as runtimes do ---- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

static void check_linux(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_string_equal(c->cni_version, "0.3.0");
	assert_string_equal(c->name, "azure");
	assert_string_equal(c->type, "azure-vnet");
	assert_int_equal(c->mode, CONF_MODE_TRANSPARENT);
	assert_int_equal(c->n_ips_to_route_via_host, 1);
	assert_string_equal(c->ips_to_route_via_host[0], "169.254.20.10");
	assert_string_equal(c->ipam.type, "azure-vnet-ipam");
	assert_int_equal(c->ipam.environment, CONF_IPAM_ENV_AZURE);
	assert_true(c->outbound_snat);
}

static void check_linux_bridge(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_string_equal(c->cni_version, "1.0.0");
	assert_int_equal(c->mode, CONF_MODE_BRIDGE);
	assert_string_equal(c->bridge, "azure0");
	assert_string_equal(c->ipam.type, "azure-vnet-ipam");
}

static void check_windows(const struct conf *c, const cJSON *root)
{
	(void)root;
	assert_string_equal(c->cni_version, "0.3.0");
	assert_string_equal(c->name, "azure");
	assert_int_equal(c->mode, CONF_MODE_BRIDGE);
	/* "Nameservers" and "Search" as the Windows conflist spells them */
	assert_int_equal(c->dns.n_nameservers, 2);
	assert_string_equal(c->dns.nameservers[0], "10.0.0.10");
	assert_string_equal(c->dns.nameservers[1], "168.63.129.16");
	assert_int_equal(c->dns.n_search, 1);
	assert_string_equal(c->dns.search[0], "svc.cluster.local");
	assert_int_equal(c->n_policies, 2);
	assert_string_equal(c->policies[0].name, "EndpointPolicy");
	assert_string_equal(cJSON_GetObjectItem(c->policies[0].value, "Type")->valuestring, "OutBoundNAT");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c->policies[0].value, "ExceptionList")), 2);
	assert_string_equal(c->policies[1].name, "EndpointPolicy");
	assert_string_equal(cJSON_GetObjectItem(c->policies[1].value, "Type")->valuestring, "ROUTE");
}

static void test_conf_shipped_conflists(void **state)
{
	static const struct {
		const char *file;
		void (*check)(const struct conf *c, const cJSON *root);
	} files[] = {
		{"10-azure-linux.conflist", check_linux},
		{"10-azure-linux-bridge.conflist", check_linux_bridge},
		{"10-azure-windows.conflist", check_windows},
	};
	(void)state;
	for (size_t k = 0; k < N_ELEM(files); k++) {
		char path[512];
		char *text;
		cJSON *list, *plugin, *conf_text_root;
		char *plugin_text;
		struct cni_request req;
		struct conf *c = calloc(1, sizeof(*c));
		struct cni_error err = {0};

		assert_non_null(c);
		snprintf(path, sizeof(path), "%s/conflist/%s", AZCNI_TEST_DATA, files[k].file);
		text = read_file(path);
		if (!text)
			print_error("cannot read %s\n", path);
		assert_non_null(text);
		list = cJSON_Parse(text);
		assert_non_null(list);
		plugin = cJSON_Duplicate(cJSON_GetArrayItem(cJSON_GetObjectItem(list, "plugins"), 0), true);
		assert_non_null(plugin);
		cJSON_AddItemToObject(plugin, "name", cJSON_Duplicate(cJSON_GetObjectItem(list, "name"), true));
		cJSON_AddItemToObject(plugin, "cniVersion",
				      cJSON_Duplicate(cJSON_GetObjectItem(list, "cniVersion"), true));
		/* through the request parser, as the plugin sees it on stdin */
		plugin_text = cJSON_PrintUnformatted(plugin);
		assert_int_equal(cni_request_parse(plugin_text, strlen(plugin_text), false, true, &req, &err), 0);
		conf_text_root = req.root;
		if (conf_parse(conf_text_root, c, &err) != 0)
			print_error("%s: %s\n", files[k].file, err.msg);
		assert_int_equal(err.code, 0);
		print_message("conflist %s\n", files[k].file);
		files[k].check(c, conf_text_root);
		cni_request_free(&req);
		free(plugin_text);
		cJSON_Delete(plugin);
		cJSON_Delete(list);
		free(text);
		free(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_good),
		cmocka_unit_test(test_conf_bad),
		cmocka_unit_test(test_conf_mode_details),
		cmocka_unit_test(test_conf_shipped_conflists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
