/* SPDX-License-Identifier: MIT */
/* core/cni: versions, CNI_ARGS, CNI_* environment, request parsing, result encoding and decoding
 * in every version (both directions), the error object and the VERSION reply. Table-driven. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cni.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))
#define SET_STR(dst, s) snprintf((dst), sizeof(dst), "%s", (s))

static void set_env(const char *name, const char *value)
{
#ifdef _WIN32
	_putenv_s(name, value ? value : "");
#else
	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
#endif
}

/* Compare @got with the JSON text @want (object members in any order); print both on mismatch. */
static void assert_json_text(const cJSON *got, const char *want)
{
	cJSON *w = cJSON_Parse(want);
	bool same;

	assert_non_null(w);
	same = cJSON_Compare(got, w, true);
	if (!same) {
		char *g = cJSON_PrintUnformatted(got);

		print_error("got:  %s\nwant: %s\n", g ? g : "(null)", want);
		free(g);
	}
	cJSON_Delete(w);
	assert_true(same);
}

/* ---- versions ---- */

static void test_version_parse(void **state)
{
	static const struct {
		const char *in;
		enum cni_version want;
	} cases[] = {
		{"0.1.0", CNI_VERSION_0_1_0}, {"0.2.0", CNI_VERSION_0_2_0}, {"0.3.0", CNI_VERSION_0_3_0},
		{"0.3.1", CNI_VERSION_0_3_1}, {"0.4.0", CNI_VERSION_0_4_0}, {"1.0.0", CNI_VERSION_1_0_0},
		{"1.1.0", CNI_VERSION_1_1_0}, {"", CNI_VERSION_0_1_0},      {NULL, CNI_VERSION_0_1_0},
		{"0.5.0", CNI_VERSION_UNKNOWN}, {"2.0.0", CNI_VERSION_UNKNOWN}, {"1.0", CNI_VERSION_UNKNOWN},
		{"1.0.0 ", CNI_VERSION_UNKNOWN}, {"v1.0.0", CNI_VERSION_UNKNOWN}, {"1.1.0.0", CNI_VERSION_UNKNOWN},
	};
	(void)state;
	for (size_t k = 0; k < N_ELEM(cases); k++) {
		enum cni_version v = cni_version_parse(cases[k].in);

		if (v != cases[k].want)
			print_error("case %zu \"%s\"\n", k, cases[k].in ? cases[k].in : "(null)");
		assert_int_equal(v, cases[k].want);
		if (v != CNI_VERSION_UNKNOWN && cases[k].in && *cases[k].in)
			assert_string_equal(cni_version_string(v), cases[k].in);
	}
	assert_string_equal(cni_version_string(CNI_VERSION_UNKNOWN), "");
	assert_string_equal(cni_version_string(CNI_VERSION_COUNT), "");
}

static void test_version_list(void **state)
{
	cJSON *list = cni_version_list_json();

	(void)state;
	assert_json_text(list, "[\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]");
	cJSON_Delete(list);
}

/* ---- CNI_ARGS ---- */

static char long_value_args[600], long_k8s_args[600];

static void test_args_parse(void **state)
{
	static const struct {
		const char *in;
		int code; /* 0 = success */
		bool ignore_unknown;
		const char *ns, *name, *infra, *uid;
	} cases[] = {
		/* B16 (a)-(d) */
		{"IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p;FOO=bar", 0, true, "ns1", "p", "", ""},
		{"K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p;FOO=bar", 0, false, "ns1", "p", "", ""},
		{"", 0, false, "", "", "", ""},
		{"K8S_POD_NAME", CNI_CODE_INVALID_ENV, false, NULL, NULL, NULL, NULL},
		{NULL, 0, false, "", "", "", ""},
		{"=v", CNI_CODE_INVALID_ENV, false, NULL, NULL, NULL, NULL},
		{"a=b;K8S_POD_NAME;c=d", CNI_CODE_INVALID_ENV, false, NULL, NULL, NULL, NULL},
		{"a=b;;K8S_POD_NAME=x;", 0, false, "", "x", "", ""},
		{";", 0, false, "", "", "", ""},
		{";;;", 0, false, "", "", "", ""},
		{"IgnoreUnknown=true", 0, true, "", "", "", ""},
		{"IgnoreUnknown=TRUE", 0, true, "", "", "", ""},
		{"IgnoreUnknown=0", 0, false, "", "", "", ""},
		{"IgnoreUnknown=false;K8S_POD_UID=u-1", 0, false, "", "", "", "u-1"},
		{"IgnoreUnknown=yes", CNI_CODE_INVALID_ENV, false, NULL, NULL, NULL, NULL},
		{"IgnoreUnknown=", CNI_CODE_INVALID_ENV, false, NULL, NULL, NULL, NULL},
		{"K8S_POD_INFRA_CONTAINER_ID=abc123;K8S_POD_UID=6f1c", 0, false, "", "", "abc123", "6f1c"},
		{"K8S_POD_NAME=", 0, false, "", "", "", ""},
		{"K8S_POD_NAME=a=b", 0, false, "", "a=b", "", ""},
		{"K8S_POD_NAME=x;K8S_POD_NAME=y", 0, false, "", "y", "", ""},
		{"k8s_pod_name=x", 0, false, "", "", "", ""},
		{"K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-c;IgnoreUnknown=1", 0, true, "default", "pod-c", "", ""},
		{long_value_args, 0, false, "", "", "", ""},
		{long_k8s_args, CNI_CODE_INVALID_ENV, false, NULL, NULL, NULL, NULL},
	};
	(void)state;
	memset(long_value_args, 0, sizeof(long_value_args));
	SET_STR(long_value_args, "FOO=");
	memset(long_value_args + 4, 'x', 500);
	memset(long_k8s_args, 0, sizeof(long_k8s_args));
	SET_STR(long_k8s_args, "K8S_POD_NAME=");
	memset(long_k8s_args + 13, 'x', 300);

	for (size_t k = 0; k < N_ELEM(cases); k++) {
		struct cni_args a;
		struct cni_error err = {0};
		int r;

		memset(&a, 0x5a, sizeof(a));
		r = cni_args_parse(cases[k].in, &a, &err);
		if ((r == 0) != (cases[k].code == 0) || err.code != cases[k].code)
			print_error("case %zu \"%.60s\": r=%d code=%d msg=%s\n", k,
				    cases[k].in ? cases[k].in : "(null)", r, err.code, err.msg);
		assert_int_equal(err.code, cases[k].code);
		if (cases[k].code) {
			assert_int_equal(r, -EINVAL);
			assert_int_equal((unsigned char)a.pod_name[0], 0x5a); /* untouched on failure */
			continue;
		}
		assert_int_equal(r, 0);
		assert_int_equal(a.ignore_unknown, cases[k].ignore_unknown);
		assert_string_equal(a.pod_namespace, cases[k].ns);
		assert_string_equal(a.pod_name, cases[k].name);
		assert_string_equal(a.pod_infra_container_id, cases[k].infra);
		assert_string_equal(a.pod_uid, cases[k].uid);
	}
}

static void test_args_error_names_pair(void **state)
{
	struct cni_args a;
	struct cni_error err = {0};

	(void)state;
	assert_int_equal(cni_args_parse("A=1;K8S_POD_NAME", &a, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "K8S_POD_NAME"));
}

/* ---- environment ---- */

#define UNSET NULL
static char long_id[400], long_netns[5000], netns_600[601];

static void test_env_read(void **state)
{
	static const struct {
		const char *cmd, *cid, *netns, *ifname, *args, *path;
		int code;
		enum cni_command want;
		const char *msg; /* substring of the error message */
	} cases[] = {
		/* VERSION needs nothing else (B12): probes come with CNI_NETNS=dummy and no ID. */
		{"VERSION", UNSET, UNSET, UNSET, UNSET, UNSET, 0, CNI_CMD_VERSION, NULL},
		{"VERSION", "", "dummy", UNSET, UNSET, UNSET, 0, CNI_CMD_VERSION, NULL},
		{"VERSION", UNSET, UNSET, "a/b", "K8S_POD_NAME", UNSET, 0, CNI_CMD_VERSION, NULL},
		{UNSET, "c1", "/var/run/netns/p1", "eth0", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_COMMAND"},
		{"", "c1", "/var/run/netns/p1", "eth0", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_COMMAND"},
		{"add", "c1", "/var/run/netns/p1", "eth0", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "add"},
		{"UPDATE", "c1", "/var/run/netns/p1", "eth0", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "UPDATE"},
		{"ADD", "c1", "/var/run/netns/p1", "eth0", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-c",
		 "/opt/cni/bin", 0, CNI_CMD_ADD, NULL},
		/* B04: ADD and CHECK need a netns, DEL does not. */
		{"ADD", "c1", UNSET, "eth0", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_NETNS"},
		{"ADD", "c1", "", "eth0", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_NETNS"},
		{"CHECK", "c1", UNSET, "eth0", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_NETNS"},
		{"CHECK", "c1", "/var/run/netns/p1", "eth0", UNSET, UNSET, 0, CNI_CMD_CHECK, NULL},
		{"DEL", "c1", "", "eth0", UNSET, UNSET, 0, CNI_CMD_DEL, NULL},
		{"DEL", "c1", UNSET, "eth0", UNSET, UNSET, 0, CNI_CMD_DEL, NULL},
		{"DEL", "c1", "/var/run/netns/nope", "eth0", UNSET, UNSET, 0, CNI_CMD_DEL, NULL},
		{"ADD", UNSET, "/var/run/netns/p1", "eth0", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_CONTAINERID"},
		{"ADD", "", "/var/run/netns/p1", "eth0", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_CONTAINERID"},
		{"DEL", UNSET, "", "eth0", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_CONTAINERID"},
		{"ADD", "c1", "/var/run/netns/p1", UNSET, UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_IFNAME"},
		{"ADD", long_id, "/var/run/netns/p1", "eth0", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_CONTAINERID"},
		{"ADD", "c1", long_netns, "eth0", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_NETNS"},
		/* CNI_NETNS_MAX: a 600-byte path is refused where it is used, ignored by DEL. */
		{"ADD", "c1", netns_600, "eth0", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_NETNS"},
		{"CHECK", "c1", netns_600, "eth0", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_NETNS"},
		{"DEL", "c1", netns_600, "eth0", UNSET, UNSET, 0, CNI_CMD_DEL, NULL},
		/* ifname rules */
		{"ADD", "c1", "/n", "eth0.100", UNSET, UNSET, 0, CNI_CMD_ADD, NULL},
		{"ADD", "c1", "/n", "abcdefghijklmno", UNSET, UNSET, 0, CNI_CMD_ADD, NULL},
		{"ADD", "c1", "/n", "...", UNSET, UNSET, 0, CNI_CMD_ADD, NULL},
		{"ADD", "c1", "/n", "abcdefghijklmnop", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "too long"},
		{"DEL", "c1", "", "abcdefghijklmnop", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "too long"},
		{"ADD", "c1", "/n", "", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_IFNAME"},
		{"ADD", "c1", "/n", ".", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_IFNAME"},
		{"ADD", "c1", "/n", "..", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_IFNAME"},
		{"ADD", "c1", "/n", "a/b", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "'/'"},
		{"ADD", "c1", "/n", "a:b", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "':'"},
		{"ADD", "c1", "/n", "a b", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_IFNAME"},
		{"ADD", "c1", "/n", "a\tb", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_IFNAME"},
		{"ADD", "c1", "/n", "eth0\n", UNSET, UNSET, CNI_CODE_INVALID_ENV, 0, "CNI_IFNAME"},
		/* GC and STATUS need no container, netns or ifname; CNI_ARGS is still judged. */
		{"GC", UNSET, UNSET, UNSET, UNSET, UNSET, 0, CNI_CMD_GC, NULL},
		{"STATUS", UNSET, UNSET, UNSET, UNSET, UNSET, 0, CNI_CMD_STATUS, NULL},
		{"GC", long_id, UNSET, "a/b", UNSET, UNSET, 0, CNI_CMD_GC, NULL},
		{"GC", UNSET, UNSET, UNSET, "K8S_POD_NAME", UNSET, CNI_CODE_INVALID_ENV, 0, "K8S_POD_NAME"},
		/* B16 through the environment */
		{"ADD", "c1", "/n", "eth0", "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p;FOO=bar", UNSET, 0, CNI_CMD_ADD, NULL},
		{"ADD", "c1", "/n", "eth0", "K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p;FOO=bar", UNSET, 0, CNI_CMD_ADD, NULL},
		{"ADD", "c1", "/n", "eth0", "", UNSET, 0, CNI_CMD_ADD, NULL},
		{"ADD", "c1", "/n", "eth0", "K8S_POD_NAME", UNSET, CNI_CODE_INVALID_ENV, 0, "K8S_POD_NAME"},
	};
	(void)state;
	memset(long_id, 'a', sizeof(long_id) - 1);
	memset(long_netns, 'n', sizeof(long_netns) - 1);
	memset(netns_600, 'n', sizeof(netns_600) - 1);
	netns_600[0] = '/';

	for (size_t k = 0; k < N_ELEM(cases); k++) {
		struct cni_env *env = calloc(1, sizeof(*env));
		struct cni_error err = {0};
		int r;

		assert_non_null(env);
		set_env("CNI_COMMAND", cases[k].cmd);
		set_env("CNI_CONTAINERID", cases[k].cid);
		set_env("CNI_NETNS", cases[k].netns);
		set_env("CNI_IFNAME", cases[k].ifname);
		set_env("CNI_ARGS", cases[k].args);
		set_env("CNI_PATH", cases[k].path);
		r = cni_env_read(env, &err);
		if (err.code != cases[k].code || (r == 0) != (cases[k].code == 0))
			print_error("case %zu (%s): r=%d code=%d msg=%s\n", k,
				    cases[k].cmd ? cases[k].cmd : "unset", r, err.code, err.msg);
		assert_int_equal(err.code, cases[k].code);
		if (cases[k].code) {
			assert_true(r < 0);
			if (!strstr(err.msg, cases[k].msg))
				print_error("case %zu: msg \"%s\" lacks \"%s\"\n", k, err.msg, cases[k].msg);
			assert_non_null(strstr(err.msg, cases[k].msg));
		} else {
			assert_int_equal(r, 0);
			assert_int_equal(env->command, cases[k].want);
			if (cases[k].netns == netns_600)
				assert_string_equal(env->netns, ""); /* DEL: counts as gone */
		}
		free(env);
	}
	set_env("CNI_COMMAND", NULL);
	set_env("CNI_CONTAINERID", NULL);
	set_env("CNI_NETNS", NULL);
	set_env("CNI_IFNAME", NULL);
	set_env("CNI_ARGS", NULL);
	set_env("CNI_PATH", NULL);
}

static void test_env_read_fields(void **state)
{
	struct cni_env *env = calloc(1, sizeof(*env));
	struct cni_error err = {0};

	(void)state;
	assert_non_null(env);
	set_env("CNI_COMMAND", "ADD");
	set_env("CNI_CONTAINERID", "3f813b02aa");
	set_env("CNI_NETNS", "/var/run/netns/p1");
	set_env("CNI_IFNAME", "eth0");
	set_env("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-c");
	set_env("CNI_PATH", "/opt/cni/bin:/usr/lib/cni");
	assert_int_equal(cni_env_read(env, &err), 0);
	assert_string_equal(env->command_str, "ADD");
	assert_string_equal(env->container_id, "3f813b02aa");
	assert_string_equal(env->netns, "/var/run/netns/p1");
	assert_string_equal(env->ifname, "eth0");
	assert_string_equal(env->path, "/opt/cni/bin:/usr/lib/cni");
	assert_string_equal(env->args_raw, "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-c");
	assert_true(env->args.ignore_unknown);
	assert_string_equal(env->args.pod_namespace, "default");
	assert_string_equal(env->args.pod_name, "pod-c");

	/* On failure the command is still known, so the error path can answer. */
	set_env("CNI_NETNS", NULL);
	memset(&err, 0, sizeof(err));
	assert_int_equal(cni_env_read(env, &err), -EINVAL);
	assert_int_equal(env->command, CNI_CMD_ADD);
	assert_int_equal(err.code, CNI_CODE_INVALID_ENV);

	set_env("CNI_COMMAND", NULL);
	set_env("CNI_CONTAINERID", NULL);
	set_env("CNI_IFNAME", NULL);
	set_env("CNI_ARGS", NULL);
	set_env("CNI_PATH", NULL);
	free(env);
}

/* ---- results ---- */

/* The full result every version is derived from: a host veth and eth0 in the sandbox, two v4
 * addresses and one v6, routes of both families (one with every 1.1.0 field), full dns. */
static void full_result(struct cni_result *r)
{
	memset(r, 0, sizeof(*r));
	r->n_interfaces = 2;
	SET_STR(r->interfaces[0].name, "azv3f813b02aa1");
	SET_STR(r->interfaces[0].mac, "aa:aa:aa:aa:aa:aa");
	SET_STR(r->interfaces[1].name, "eth0");
	SET_STR(r->interfaces[1].mac, "12:34:56:78:9a:bc");
	SET_STR(r->interfaces[1].sandbox, "/var/run/netns/p1");
	r->interfaces[1].mtu = 1500;
	r->n_ips = 3;
	assert_int_equal(ipnet_prefix_parse("10.240.0.5/16", false, &r->ips[0].address), 0);
	assert_int_equal(ipnet_addr_parse("10.240.0.1", &r->ips[0].gateway), 0);
	r->ips[0].iface = 1;
	assert_int_equal(ipnet_prefix_parse("fd00:10::5/64", false, &r->ips[1].address), 0);
	assert_int_equal(ipnet_addr_parse("fd00:10::1", &r->ips[1].gateway), 0);
	r->ips[1].iface = 1;
	assert_int_equal(ipnet_prefix_parse("10.241.0.7/24", false, &r->ips[2].address), 0);
	r->ips[2].iface = -1;
	r->n_routes = 3;
	assert_int_equal(ipnet_prefix_parse("0.0.0.0/0", false, &r->routes[0].dst), 0);
	assert_int_equal(ipnet_addr_parse("10.240.0.1", &r->routes[0].gw), 0);
	r->routes[0].scope = -1;
	assert_int_equal(ipnet_prefix_parse("169.254.1.1/32", false, &r->routes[1].dst), 0);
	r->routes[1].mtu = 1400;
	r->routes[1].advmss = 1360;
	r->routes[1].priority = 10;
	r->routes[1].table = 100;
	r->routes[1].scope = 253;
	assert_int_equal(ipnet_prefix_parse("::/0", false, &r->routes[2].dst), 0);
	assert_int_equal(ipnet_addr_parse("fe80::1234:5678:9abc", &r->routes[2].gw), 0);
	r->routes[2].scope = -1;
	r->dns.n_nameservers = 1;
	SET_STR(r->dns.nameservers[0], "168.63.129.16");
	SET_STR(r->dns.domain, "cluster.local");
	r->dns.n_search = 2;
	SET_STR(r->dns.search[0], "default.svc.cluster.local");
	SET_STR(r->dns.search[1], "svc.cluster.local");
	r->dns.n_options = 1;
	SET_STR(r->dns.options[0], "ndots:5");
}

#define DNS_JSON "\"dns\":{\"nameservers\":[\"168.63.129.16\"],\"domain\":\"cluster.local\"," \
		 "\"search\":[\"default.svc.cluster.local\",\"svc.cluster.local\"],\"options\":[\"ndots:5\"]}"
#define LEGACY_JSON(v) "{\"cniVersion\":\"" v "\"," \
	"\"ip4\":{\"ip\":\"10.240.0.5/16\",\"gateway\":\"10.240.0.1\",\"routes\":[" \
	"{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.240.0.1\"},{\"dst\":\"169.254.1.1/32\"}]}," \
	"\"ip6\":{\"ip\":\"fd00:10::5/64\",\"gateway\":\"fd00:10::1\",\"routes\":[" \
	"{\"dst\":\"::/0\",\"gw\":\"fe80::1234:5678:9abc\"}]}," DNS_JSON "}"
#define IFACES_JSON "\"interfaces\":[{\"name\":\"azv3f813b02aa1\",\"mac\":\"aa:aa:aa:aa:aa:aa\"}," \
	"{\"name\":\"eth0\",\"mac\":\"12:34:56:78:9a:bc\",\"sandbox\":\"/var/run/netns/p1\"}]"
#define ROUTES_JSON "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.240.0.1\"},{\"dst\":\"169.254.1.1/32\"}," \
	"{\"dst\":\"::/0\",\"gw\":\"fe80::1234:5678:9abc\"}]"
#define V03_JSON(v) "{\"cniVersion\":\"" v "\"," IFACES_JSON ",\"ips\":[" \
	"{\"version\":\"4\",\"address\":\"10.240.0.5/16\",\"gateway\":\"10.240.0.1\",\"interface\":1}," \
	"{\"version\":\"6\",\"address\":\"fd00:10::5/64\",\"gateway\":\"fd00:10::1\",\"interface\":1}," \
	"{\"version\":\"4\",\"address\":\"10.241.0.7/24\"}]," ROUTES_JSON "," DNS_JSON "}"
#define V10_IPS_JSON "\"ips\":[" \
	"{\"address\":\"10.240.0.5/16\",\"gateway\":\"10.240.0.1\",\"interface\":1}," \
	"{\"address\":\"fd00:10::5/64\",\"gateway\":\"fd00:10::1\",\"interface\":1}," \
	"{\"address\":\"10.241.0.7/24\"}]"

static const struct {
	enum cni_version v;
	const char *json;
} golden[] = {
	{CNI_VERSION_0_1_0, LEGACY_JSON("0.1.0")},
	{CNI_VERSION_0_2_0, LEGACY_JSON("0.2.0")},
	{CNI_VERSION_0_3_0, V03_JSON("0.3.0")},
	{CNI_VERSION_0_3_1, V03_JSON("0.3.1")},
	{CNI_VERSION_0_4_0, V03_JSON("0.4.0")},
	{CNI_VERSION_1_0_0, "{\"cniVersion\":\"1.0.0\"," IFACES_JSON "," V10_IPS_JSON "," ROUTES_JSON ","
			    DNS_JSON "}"},
	{CNI_VERSION_1_1_0, "{\"cniVersion\":\"1.1.0\","
			    "\"interfaces\":[{\"name\":\"azv3f813b02aa1\",\"mac\":\"aa:aa:aa:aa:aa:aa\"},"
			    "{\"name\":\"eth0\",\"mac\":\"12:34:56:78:9a:bc\",\"mtu\":1500,\"sandbox\":\"/var/run/netns/p1\"}],"
			    V10_IPS_JSON ",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.240.0.1\"},"
			    "{\"dst\":\"169.254.1.1/32\",\"mtu\":1400,\"advmss\":1360,\"priority\":10,\"table\":100,\"scope\":253},"
			    "{\"dst\":\"::/0\",\"gw\":\"fe80::1234:5678:9abc\"}]," DNS_JSON "}"},
};

static void assert_addr_equal(const struct ipnet_addr *a, const struct ipnet_addr *b)
{
	assert_int_equal(a->family, b->family);
	if (a->family)
		assert_memory_equal(a->bytes, b->bytes, (size_t)ipnet_addr_len(a));
}

static void assert_prefix_equal(const struct ipnet_prefix *a, const struct ipnet_prefix *b)
{
	assert_addr_equal(&a->addr, &b->addr);
	assert_int_equal(a->len, b->len);
}

/* Field-by-field equality of two results (what each version can carry is the caller's choice). */
static void assert_result_equal(const struct cni_result *a, const struct cni_result *b)
{
	assert_int_equal(a->n_interfaces, b->n_interfaces);
	for (size_t k = 0; k < a->n_interfaces; k++) {
		assert_string_equal(a->interfaces[k].name, b->interfaces[k].name);
		assert_string_equal(a->interfaces[k].mac, b->interfaces[k].mac);
		assert_string_equal(a->interfaces[k].sandbox, b->interfaces[k].sandbox);
		assert_int_equal(a->interfaces[k].mtu, b->interfaces[k].mtu);
	}
	assert_int_equal(a->n_ips, b->n_ips);
	for (size_t k = 0; k < a->n_ips; k++) {
		assert_prefix_equal(&a->ips[k].address, &b->ips[k].address);
		assert_addr_equal(&a->ips[k].gateway, &b->ips[k].gateway);
		assert_int_equal(a->ips[k].iface, b->ips[k].iface);
	}
	assert_int_equal(a->n_routes, b->n_routes);
	for (size_t k = 0; k < a->n_routes; k++) {
		assert_prefix_equal(&a->routes[k].dst, &b->routes[k].dst);
		assert_addr_equal(&a->routes[k].gw, &b->routes[k].gw);
		assert_int_equal(a->routes[k].mtu, b->routes[k].mtu);
		assert_int_equal(a->routes[k].advmss, b->routes[k].advmss);
		assert_int_equal(a->routes[k].priority, b->routes[k].priority);
		assert_int_equal(a->routes[k].table, b->routes[k].table);
		assert_int_equal(a->routes[k].scope, b->routes[k].scope);
	}
	assert_int_equal(a->dns.n_nameservers, b->dns.n_nameservers);
	for (size_t k = 0; k < a->dns.n_nameservers; k++)
		assert_string_equal(a->dns.nameservers[k], b->dns.nameservers[k]);
	assert_string_equal(a->dns.domain, b->dns.domain);
	assert_int_equal(a->dns.n_search, b->dns.n_search);
	for (size_t k = 0; k < a->dns.n_search; k++)
		assert_string_equal(a->dns.search[k], b->dns.search[k]);
	assert_int_equal(a->dns.n_options, b->dns.n_options);
	for (size_t k = 0; k < a->dns.n_options; k++)
		assert_string_equal(a->dns.options[k], b->dns.options[k]);
}

/* What version @v can carry of the full result: the expected decode of golden[v]. */
static void expected_for_version(enum cni_version v, struct cni_result *r)
{
	full_result(r);
	if (v < CNI_VERSION_1_1_0) {
		r->interfaces[1].mtu = 0;
		r->routes[1].mtu = r->routes[1].advmss = r->routes[1].priority = r->routes[1].table = 0;
		r->routes[1].scope = -1;
	}
	if (v <= CNI_VERSION_0_2_0) {
		/* legacy: no interfaces, first address per family, v4 routes then v6 routes */
		r->n_interfaces = 0;
		r->n_ips = 2;
		r->ips[0].iface = r->ips[1].iface = -1;
	}
}

static void test_result_encode_every_version(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_ELEM(golden); k++) {
		struct cni_result *r = malloc(sizeof(*r));
		struct cni_error err = {0};
		cJSON *o;

		assert_non_null(r);
		full_result(r);
		o = cni_result_encode(r, golden[k].v, &err);
		assert_non_null(o);
		assert_int_equal(err.code, 0);
		print_message("encode %s\n", cni_version_string(golden[k].v));
		assert_json_text(o, golden[k].json);
		cJSON_Delete(o);
		free(r);
	}
}

static void test_result_decode_every_version(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_ELEM(golden); k++) {
		struct cni_result *got = malloc(sizeof(*got)), *want = malloc(sizeof(*want));
		struct cni_error err = {0};
		cJSON *in = cJSON_Parse(golden[k].json), *again;

		assert_non_null(got);
		assert_non_null(want);
		assert_non_null(in);
		print_message("decode %s\n", cni_version_string(golden[k].v));
		assert_int_equal(cni_result_decode(in, got, &err), 0);
		expected_for_version(golden[k].v, want);
		assert_result_equal(got, want);
		/* and back: the decoded result encodes to the same document */
		again = cni_result_encode(got, golden[k].v, &err);
		assert_json_text(again, golden[k].json);
		cJSON_Delete(again);
		cJSON_Delete(in);
		free(got);
		free(want);
	}
}

/* prevResult of one version printed in another (libcni's conversions). */
static void test_result_convert(void **state)
{
	static const struct {
		const char *in;
		enum cni_version to;
		const char *want;
	} cases[] = {
		/* legacy 0.2.0 (e.g. host-local of that era) -> 1.0.0 */
		{"{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.1.2.3/24\",\"gateway\":\"10.1.2.1\","
		 "\"routes\":[{\"dst\":\"0.0.0.0/0\"}]},\"dns\":{\"nameservers\":[\"10.0.0.10\"]}}",
		 CNI_VERSION_1_0_0,
		 "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.2.3/24\",\"gateway\":\"10.1.2.1\"}],"
		 "\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"dns\":{\"nameservers\":[\"10.0.0.10\"]}}"},
		/* legacy without cniVersion: recognised by its shape */
		{"{\"ip4\":{\"ip\":\"10.1.2.3/24\"},\"ip6\":{\"ip\":\"fd00::3/64\",\"routes\":[{\"dst\":\"::/0\",\"gw\":\"fd00::1\"}]}}",
		 CNI_VERSION_0_4_0,
		 "{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\",\"address\":\"10.1.2.3/24\"},"
		 "{\"version\":\"6\",\"address\":\"fd00::3/64\"}],\"routes\":[{\"dst\":\"::/0\",\"gw\":\"fd00::1\"}]}"},
		/* 0.1.0 legacy -> 1.1.0 */
		{"{\"cniVersion\":\"0.1.0\",\"ip4\":{\"ip\":\"192.168.1.9/24\",\"gateway\":\"192.168.1.1\"}}",
		 CNI_VERSION_1_1_0,
		 "{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"192.168.1.9/24\",\"gateway\":\"192.168.1.1\"}]}"},
		/* 0.3.1 -> 0.2.0: interfaces dropped, first address per family, routes by family;
		 * a v6 route without a v6 address has nowhere to go */
		{"{\"cniVersion\":\"0.3.1\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/n\"}],"
		 "\"ips\":[{\"version\":\"4\",\"address\":\"10.0.0.5/16\",\"gateway\":\"10.0.0.1\",\"interface\":0},"
		 "{\"version\":\"4\",\"address\":\"10.0.0.6/16\",\"interface\":0}],"
		 "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.0.0.1\"},{\"dst\":\"fd00::/8\"}]}",
		 CNI_VERSION_0_2_0,
		 "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.5/16\",\"gateway\":\"10.0.0.1\","
		 "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.0.0.1\"}]}}"},
		/* 1.0.0 -> 0.3.0 gains "version" */
		{"{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"fd00::5/64\"}]}", CNI_VERSION_0_3_0,
		 "{\"cniVersion\":\"0.3.0\",\"ips\":[{\"version\":\"6\",\"address\":\"fd00::5/64\"}]}"},
		/* 1.1.0 route fields are dropped below 1.1.0 */
		{"{\"cniVersion\":\"1.1.0\",\"routes\":[{\"dst\":\"10.0.0.0/8\",\"mtu\":1400,\"table\":5}]}",
		 CNI_VERSION_1_0_0, "{\"cniVersion\":\"1.0.0\",\"routes\":[{\"dst\":\"10.0.0.0/8\"}]}"},
		/* an IPAM result (no interfaces), keys in odd case, nulls as absent */
		{"{\"CNIVersion\":\"0.3.0\",\"IPs\":[{\"Version\":\"4\",\"Address\":\"10.240.0.5/16\",\"Gateway\":\"10.240.0.1\"}],"
		 "\"Routes\":null,\"DNS\":{\"Nameservers\":[\"168.63.129.16\"]}}",
		 CNI_VERSION_0_3_0,
		 "{\"cniVersion\":\"0.3.0\",\"ips\":[{\"version\":\"4\",\"address\":\"10.240.0.5/16\",\"gateway\":\"10.240.0.1\"}],"
		 "\"dns\":{\"nameservers\":[\"168.63.129.16\"]}}"},
		/* unknown version string: decoded by shape */
		{"{\"cniVersion\":\"9.9.9\",\"ips\":[{\"address\":\"10.0.0.5/16\"}]}", CNI_VERSION_1_0_0,
		 "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.5/16\"}]}"},
		/* empty result */
		{"{\"cniVersion\":\"1.0.0\"}", CNI_VERSION_0_2_0, "{\"cniVersion\":\"0.2.0\"}"},
	};
	(void)state;
	for (size_t k = 0; k < N_ELEM(cases); k++) {
		struct cni_result *r = malloc(sizeof(*r));
		struct cni_error err = {0};
		cJSON *in = cJSON_Parse(cases[k].in), *out;

		assert_non_null(r);
		assert_non_null(in);
		print_message("convert case %zu\n", k);
		if (cni_result_decode(in, r, &err) != 0)
			print_error("decode: %s\n", err.msg);
		assert_int_equal(err.code, 0);
		out = cni_result_encode(r, cases[k].to, &err);
		assert_non_null(out);
		assert_json_text(out, cases[k].want);
		cJSON_Delete(out);
		cJSON_Delete(in);
		free(r);
	}
}

static void test_result_decode_errors(void **state)
{
	static const struct {
		const char *in;
		const char *field; /* substring of the message */
	} cases[] = {
		{"[]", "not a JSON object"},
		{"{\"cniVersion\":1}", "cniVersion"},
		{"{\"cniVersion\":\"1.0.0\",\"ips\":{}}", "ips"},
		{"{\"cniVersion\":\"1.0.0\",\"ips\":[{}]}", "ips[0].address"},
		{"{\"cniVersion\":\"1.0.0\",\"ips\":[\"10.0.0.5/16\"]}", "ips[0]"},
		{"{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.5\"}]}", "ips[0].address"},
		{"{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.256/16\"}]}", "ips[0].address"},
		{"{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.5/16\",\"gateway\":\"x\"}]}", "ips[0].gateway"},
		{"{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.5/16\",\"interface\":0}]}", "ips[0]"},
		{"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\"}],\"ips\":[{\"address\":\"10.0.0.5/16\",\"interface\":1}]}", "ips[0]"},
		{"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\"}],\"ips\":[{\"address\":\"10.0.0.5/16\",\"interface\":0.5}]}", "ips[0].interface"},
		{"{\"cniVersion\":\"0.3.1\",\"ips\":[{\"version\":\"6\",\"address\":\"10.0.0.5/16\"}]}", "version"},
		{"{\"cniVersion\":\"0.3.1\",\"ips\":[{\"version\":4,\"address\":\"10.0.0.5/16\"}]}", "version"},
		{"{\"cniVersion\":\"1.0.0\",\"interfaces\":[1]}", "interfaces[0]"},
		{"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":5}]}", "interfaces[0].name"},
		{"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"e\",\"mac\":\"aa:bb:cc:dd:ee:ff:00:11\"}]}", "interfaces[0].mac"},
		{"{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"e\",\"mtu\":\"1500\"}]}", "interfaces[0].mtu"},
		/* found by fuzz-result under UBSan: the int conversion came before the range check */
		{"{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"e\",\"mtu\":1e300}]}", "interfaces[0].mtu"},
		{"{\"cniVersion\":\"1.1.0\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"table\":-3e9}]}", "routes[0].table"},
		{"{\"cniVersion\":\"1.1.0\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"mtu\":1e309}]}", "routes[0].mtu"},
		{"{\"cniVersion\":\"1.0.0\",\"routes\":[{\"gw\":\"10.0.0.1\"}]}", "routes[0].dst"},
		{"{\"cniVersion\":\"1.0.0\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.0.0.1/8\"}]}", "routes[0].gw"},
		{"{\"cniVersion\":\"1.1.0\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"scope\":\"link\"}]}", "routes[0].scope"},
		{"{\"cniVersion\":\"1.0.0\",\"dns\":[]}", "dns"},
		{"{\"cniVersion\":\"1.0.0\",\"dns\":{\"nameservers\":[1]}}", "dns.nameservers"},
		{"{\"cniVersion\":\"1.0.0\",\"dns\":{\"search\":\"a\"}}", "dns.search"},
		{"{\"cniVersion\":\"1.0.0\",\"dns\":{\"domain\":[]}}", "dns.domain"},
		{"{\"cniVersion\":\"0.2.0\",\"ip4\":{}}", "ip4.ip"},
		{"{\"cniVersion\":\"0.2.0\",\"ip4\":\"10.0.0.5/16\"}", "ip4"},
		{"{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"fd00::5/64\"}}", "ip4"},
		{"{\"cniVersion\":\"0.2.0\",\"ip6\":{\"ip\":\"fd00::5/64\",\"routes\":[{\"dst\":\"nope\"}]}}", "ip6.routes[0].dst"},
		{"{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1/8\"},{\"address\":\"10.0.0.2/8\"},"
		 "{\"address\":\"10.0.0.3/8\"},{\"address\":\"10.0.0.4/8\"},{\"address\":\"10.0.0.5/8\"},"
		 "{\"address\":\"10.0.0.6/8\"},{\"address\":\"10.0.0.7/8\"},{\"address\":\"10.0.0.8/8\"},"
		 "{\"address\":\"10.0.0.9/8\"}]}", "ips has 9 entries"},
	};
	(void)state;
	for (size_t k = 0; k < N_ELEM(cases); k++) {
		struct cni_result *r = malloc(sizeof(*r));
		struct cni_error err = {0};
		cJSON *in = cJSON_Parse(cases[k].in);
		int rc;

		assert_non_null(r);
		assert_non_null(in);
		r->n_ips = 77;
		rc = cni_result_decode(in, r, &err);
		if (rc != -EINVAL || err.code != CNI_CODE_DECODE || !strstr(err.msg, cases[k].field))
			print_error("case %zu: rc=%d code=%d msg=\"%s\" want \"%s\"\n", k, rc, err.code,
				    err.msg, cases[k].field);
		assert_int_equal(rc, -EINVAL);
		assert_int_equal(err.code, CNI_CODE_DECODE);
		assert_non_null(strstr(err.msg, cases[k].field));
		assert_int_equal(r->n_ips, 77); /* untouched on failure */
		cJSON_Delete(in);
		free(r);
	}
}

static void test_result_encode_edges(void **state)
{
	struct cni_result *r = calloc(1, sizeof(*r));
	struct cni_error err = {0};
	cJSON *o;

	(void)state;
	assert_non_null(r);
	/* an unknown version is code 1 */
	assert_null(cni_result_encode(r, CNI_VERSION_UNKNOWN, &err));
	assert_int_equal(err.code, CNI_CODE_INCOMPATIBLE_VERSION);
	/* a zeroed ipconfig (iface 0) with no interfaces listed writes no interface index, and a
	 * zeroed route (scope 0) writes no scope */
	r->n_ips = 1;
	assert_int_equal(ipnet_prefix_parse("10.0.0.5/16", false, &r->ips[0].address), 0);
	r->n_routes = 1;
	assert_int_equal(ipnet_prefix_parse("0.0.0.0/0", false, &r->routes[0].dst), 0);
	o = cni_result_encode(r, CNI_VERSION_1_1_0, NULL);
	assert_json_text(o, "{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"10.0.0.5/16\"}],"
			    "\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}");
	cJSON_Delete(o);
	/* only a v6 address in the legacy shape: ip6 only */
	assert_int_equal(ipnet_prefix_parse("fd00::5/64", false, &r->ips[0].address), 0);
	o = cni_result_encode(r, CNI_VERSION_0_2_0, NULL);
	assert_json_text(o, "{\"cniVersion\":\"0.2.0\",\"ip6\":{\"ip\":\"fd00::5/64\"}}");
	cJSON_Delete(o);
	free(r);
}

/* ---- request ---- */

/* Dual-stack (issue 10): the azure-vnet-ipam result of a dual-stack NIC and an azure-vnet
 * result with both families, sent back as prevResult in a config of any version, parse with
 * both addresses, each with its gateway, and the default route of each family; re-encoded in
 * 0.2.0 they become ip4 and ip6, each with its own route. */
static void test_dualstack_prev_result(void **state)
{
	static const char *const confs[] = {
		"{\"cniVersion\":\"1.1.0\",\"name\":\"azure\",\"type\":\"azure-vnet\",\"prevResult\":"
		"{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"azv1\"},{\"name\":\"eth0\","
		"\"sandbox\":\"/var/run/netns/p\"}],\"ips\":[{\"address\":\"10.240.0.5/16\","
		"\"gateway\":\"10.240.0.1\",\"interface\":1},{\"address\":\"2001:db8:0:1::5/64\","
		"\"gateway\":\"2001:db8:0:1::1\",\"interface\":1}],\"routes\":[{\"dst\":\"0.0.0.0/0\","
		"\"gw\":\"10.240.0.1\"},{\"dst\":\"::/0\",\"gw\":\"2001:db8:0:1::1\"}]}}",
		"{\"cniVersion\":\"0.3.1\",\"name\":\"azure\",\"prevResult\":{\"cniVersion\":\"0.3.1\","
		"\"ips\":[{\"version\":\"4\",\"address\":\"10.240.0.5/16\",\"gateway\":\"10.240.0.1\"},"
		"{\"version\":\"6\",\"address\":\"2001:db8:0:1::5/64\",\"gateway\":\"2001:db8:0:1::1\"}],"
		"\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.240.0.1\"},{\"dst\":\"::/0\","
		"\"gw\":\"2001:db8:0:1::1\"}]}}",
		"{\"cniVersion\":\"0.2.0\",\"name\":\"azure\",\"prevResult\":{\"cniVersion\":\"0.2.0\","
		"\"ip4\":{\"ip\":\"10.240.0.5/16\",\"gateway\":\"10.240.0.1\",\"routes\":[{\"dst\":"
		"\"0.0.0.0/0\",\"gw\":\"10.240.0.1\"}]},\"ip6\":{\"ip\":\"2001:db8:0:1::5/64\","
		"\"gateway\":\"2001:db8:0:1::1\",\"routes\":[{\"dst\":\"::/0\",\"gw\":\"2001:db8:0:1::1\"}]}}}",
	};
	static const char want020[] =
		"{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.240.0.5/16\",\"gateway\":\"10.240.0.1\","
		"\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.240.0.1\"}]},\"ip6\":{\"ip\":"
		"\"2001:db8:0:1::5/64\",\"gateway\":\"2001:db8:0:1::1\",\"routes\":[{\"dst\":\"::/0\","
		"\"gw\":\"2001:db8:0:1::1\"}]}}";

	(void)state;
	for (size_t c = 0; c < sizeof(confs) / sizeof(confs[0]); c++) {
		struct cni_request req;
		struct cni_result *res = calloc(1, sizeof(*res));
		struct cni_error err = {0};
		char buf[IPNET_PREFIX_STRLEN];
		cJSON *o;

		assert_non_null(res);
		assert_int_equal(cni_request_parse(confs[c], strlen(confs[c]), false, true, &req, &err), 0);
		assert_non_null(req.prev_result);
		if (cni_result_decode(req.prev_result, res, &err) != 0)
			fail_msg("case %zu: %s", c, err.msg);
		assert_int_equal(res->n_ips, 2);
		assert_int_equal(res->ips[0].address.addr.family, IPNET_AF_INET);
		assert_int_equal(res->ips[1].address.addr.family, IPNET_AF_INET6);
		assert_string_equal(ipnet_prefix_format(&res->ips[1].address, buf, sizeof(buf)),
				    "2001:db8:0:1::5/64");
		assert_string_equal(ipnet_addr_format(&res->ips[1].gateway, buf, sizeof(buf)),
				    "2001:db8:0:1::1");
		assert_int_equal(res->n_routes, 2);
		assert_int_equal(res->routes[1].dst.addr.family, IPNET_AF_INET6);
		assert_int_equal(res->routes[1].dst.len, 0);
		res->n_interfaces = 0;
		res->ips[0].iface = res->ips[1].iface = -1;
		o = cni_result_encode(res, CNI_VERSION_0_2_0, &err);
		assert_non_null(o);
		assert_json_text(o, want020);
		cJSON_Delete(o);
		cni_request_free(&req);
		free(res);
	}
}

static void test_request_parse(void **state)
{
	static const struct {
		const char *text;
		bool allow_empty, check_version;
		int code;
		enum cni_version v;
		const char *version_str, *name, *type;
		bool prev, rc, caps;
	} cases[] = {
		{"{\"cniVersion\":\"0.3.0\",\"name\":\"azure\",\"type\":\"azure-vnet\"}", false, true, 0,
		 CNI_VERSION_0_3_0, "0.3.0", "azure", "azure-vnet", false, false, false},
		{"{\"cniVersion\":\"0.1.0\"}", false, true, 0, CNI_VERSION_0_1_0, "0.1.0", NULL, NULL, false, false, false},
		{"{\"cniVersion\":\"0.2.0\"}", false, true, 0, CNI_VERSION_0_2_0, "0.2.0", NULL, NULL, false, false, false},
		{"{\"cniVersion\":\"0.3.1\"}", false, true, 0, CNI_VERSION_0_3_1, "0.3.1", NULL, NULL, false, false, false},
		{"{\"cniVersion\":\"0.4.0\"}", false, true, 0, CNI_VERSION_0_4_0, "0.4.0", NULL, NULL, false, false, false},
		{"{\"cniVersion\":\"1.0.0\"}", false, true, 0, CNI_VERSION_1_0_0, "1.0.0", NULL, NULL, false, false, false},
		{"{\"cniVersion\":\"1.1.0\"}", false, true, 0, CNI_VERSION_1_1_0, "1.1.0", NULL, NULL, false, false, false},
		/* B13: missing means 0.1.0; unsupported is code 1 */
		{"{\"name\":\"azure\"}", false, true, 0, CNI_VERSION_0_1_0, "", "azure", NULL, false, false, false},
		{"{\"cniVersion\":\"0.5.0\"}", false, true, CNI_CODE_INCOMPATIBLE_VERSION, 0, NULL, NULL, NULL, false, false, false},
		{"{\"cniVersion\":\"2.0.0\"}", false, true, CNI_CODE_INCOMPATIBLE_VERSION, 0, NULL, NULL, NULL, false, false, false},
		{"{\"cniVersion\":\"\"}", false, true, 0, CNI_VERSION_0_1_0, "", NULL, NULL, false, false, false},
		/* keys are case-insensitive */
		{"{\"CNIVERSION\":\"0.4.0\",\"Name\":\"x\",\"TYPE\":\"t\",\"PrevResult\":{},\"RuntimeConfig\":{},"
		 "\"Capabilities\":{}}", false, true, 0, CNI_VERSION_0_4_0, "0.4.0", "x", "t", true, true, true},
		{"{\"cniVersion\":\"1.0.0\",\"prevResult\":null,\"runtimeConfig\":5}", false, true, 0,
		 CNI_VERSION_1_0_0, "1.0.0", NULL, NULL, false, false, false},
		{"{\"cniVersion\":\"1.0.0\",\"prevResult\":[]}", false, true, CNI_CODE_DECODE, 0, NULL, NULL, NULL, false, false, false},
		{"{\"cniVersion\":\"1.0.0\",\"name\":5}", false, true, 0, CNI_VERSION_1_0_0, "1.0.0", NULL, NULL, false, false, false},
		/* B12: VERSION with empty stdin, {} or an unknown version */
		{"", true, false, 0, CNI_VERSION_0_1_0, "", NULL, NULL, false, false, false},
		{" \n\t", true, false, 0, CNI_VERSION_0_1_0, "", NULL, NULL, false, false, false},
		{"{}", true, false, 0, CNI_VERSION_0_1_0, "", NULL, NULL, false, false, false},
		{"{\"cniVersion\":\"9.9.9\"}", true, false, 0, CNI_VERSION_UNKNOWN, "9.9.9", NULL, NULL, false, false, false},
		{"{\"cniVersion\":5}", true, false, 0, CNI_VERSION_0_1_0, "", NULL, NULL, false, false, false},
		{"{\"cniVersion\":5}", false, true, CNI_CODE_DECODE, 0, NULL, NULL, NULL, false, false, false},
		/* decode errors */
		{"", false, true, CNI_CODE_DECODE, 0, NULL, NULL, NULL, false, false, false},
		{"  ", false, true, CNI_CODE_DECODE, 0, NULL, NULL, NULL, false, false, false},
		{"{", false, true, CNI_CODE_DECODE, 0, NULL, NULL, NULL, false, false, false},
		{"{\"a\":}", false, true, CNI_CODE_DECODE, 0, NULL, NULL, NULL, false, false, false},
		{"[]", false, true, CNI_CODE_DECODE, 0, NULL, NULL, NULL, false, false, false},
		{"\"x\"", true, false, CNI_CODE_DECODE, 0, NULL, NULL, NULL, false, false, false},
		{"nul", false, true, CNI_CODE_DECODE, 0, NULL, NULL, NULL, false, false, false},
		{"{\"a\":1} {\"b\":2}", false, true, CNI_CODE_DECODE, 0, NULL, NULL, NULL, false, false, false},
		{"{\"a\":1}x", false, true, CNI_CODE_DECODE, 0, NULL, NULL, NULL, false, false, false},
		{"{\"cniVersion\":\"1.0.0\"}\n", false, true, 0, CNI_VERSION_1_0_0, "1.0.0", NULL, NULL, false, false, false},
	};
	(void)state;
	for (size_t k = 0; k < N_ELEM(cases); k++) {
		struct cni_request req;
		struct cni_error err = {0};
		int r;

		memset(&req, 0x5a, sizeof(req));
		r = cni_request_parse(cases[k].text, strlen(cases[k].text), cases[k].allow_empty,
				      cases[k].check_version, &req, &err);
		if (err.code != cases[k].code)
			print_error("case %zu \"%s\": r=%d code=%d msg=%s\n", k, cases[k].text, r,
				    err.code, err.msg);
		assert_int_equal(err.code, cases[k].code);
		if (cases[k].code) {
			assert_int_equal(r, -EINVAL);
			assert_int_equal((unsigned char)req.version_str[0], 0x5a);
			continue;
		}
		assert_int_equal(r, 0);
		assert_non_null(req.root);
		assert_int_equal(req.version, cases[k].v);
		assert_string_equal(req.version_str, cases[k].version_str);
		if (cases[k].name)
			assert_string_equal(req.name, cases[k].name);
		else
			assert_null(req.name);
		if (cases[k].type)
			assert_string_equal(req.type, cases[k].type);
		else
			assert_null(req.type);
		assert_int_equal(req.prev_result != NULL, cases[k].prev);
		assert_int_equal(req.runtime_config != NULL, cases[k].rc);
		assert_int_equal(req.capabilities != NULL, cases[k].caps);
		cni_request_free(&req);
		assert_null(req.root);
		cni_request_free(&req); /* twice is fine */
	}
}

static void test_request_unsupported_lists_versions(void **state)
{
	struct cni_request req;
	struct cni_error err = {0};
	const char *t = "{\"cniVersion\":\"0.5.0\",\"name\":\"azure\"}";

	(void)state;
	assert_int_equal(cni_request_parse(t, strlen(t), false, true, &req, &err), -EINVAL);
	assert_int_equal(err.code, CNI_CODE_INCOMPATIBLE_VERSION);
	assert_non_null(strstr(err.msg, "0.5.0"));
	for (int v = 0; v < CNI_VERSION_COUNT; v++) {
		assert_non_null(strstr(err.details, cni_version_string((enum cni_version)v)));
		assert_non_null(strstr(err.msg, cni_version_string((enum cni_version)v)));
	}
}

static void test_request_length_bounded(void **state)
{
	struct cni_request req;
	struct cni_error err = {0};
	const char buf[] = "{\"cniVersion\":\"0.3.1\"}GARBAGE";

	(void)state;
	/* only the first @len bytes count; no NUL terminator needed */
	assert_int_equal(cni_request_parse(buf, 22, false, true, &req, &err), 0);
	assert_int_equal(req.version, CNI_VERSION_0_3_1);
	cni_request_free(&req);
	assert_int_equal(cni_request_parse(NULL, 0, true, false, &req, &err), 0);
	cni_request_free(&req);
}

/* NUL (escaped or raw) and invalid UTF-8 in any string of the config, prevResult included, and
 * in keys: code 7 naming the field (cJSON's C strings would silently end at the NUL). */
static void test_request_strings(void **state)
{
	static const struct {
		const char *text;
		size_t len;            /* 0: strlen */
		const char *field;     /* NULL: accepted */
	} cases[] = {
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"az\\u0000ure\"}", 0, "\"name\""},
		{"{\"cniVersion\":\"1.0.0\",\"ipam\":{\"type\":\"azure-vnet-ipam\\u0000x\"}}", 0,
		 "\"ipam.type\""},
		{"{\"cniVersion\":\"1.0.0\",\"prevResult\":{\"ips\":[{\"address\":\"10.0.0.1/24\"},"
		 "{\"address\":\"10.0.0.2\\u0000/24\"}]}}", 0, "\"prevResult.ips[1].address\""},
		{"{\"cniVersion\":\"1.0.0\",\"dns\":{\"search\":[\"a\",\"b\xff\"]}}", 0,
		 "\"dns.search[1]\""},
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"\xc0\xaf\"}", 0, "\"name\""},     /* overlong */
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"\xed\xa0\x80\"}", 0, "\"name\""}, /* surrogate */
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"\xf4\x90\x80\x80\"}", 0, "\"name\""},
		{"{\"cniVersion\":\"1.0.0\",\"na\\u0000me\":\"x\"}", 0, "a key"},
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"a\0b\"}", 36, "\"name\""},          /* raw NUL */
		/* accepted: an escaped backslash before u0000, real UTF-8, \u escapes that are not NUL */
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"a\\\\u0000\"}", 0, NULL},
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"r\xc3\xa9seau \xe2\x82\xac \xf0\x9f\x98\x80\"}", 0,
		 NULL},
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"\\u00e9\\ud83d\\ude00\",\"n\":[1,true,null,{}]}", 0,
		 NULL},
	};

	(void)state;
	for (size_t k = 0; k < N_ELEM(cases); k++) {
		struct cni_request req = {0};
		struct cni_error err = {0};
		size_t len = cases[k].len ? cases[k].len : strlen(cases[k].text);
		int r = cni_request_parse(cases[k].text, len, false, true, &req, &err);

		if (!cases[k].field) {
			if (r != 0)
				fail_msg("case %zu: %s", k, err.msg);
			cni_request_free(&req);
			continue;
		}
		if (r != -EINVAL || err.code != CNI_CODE_INVALID_CONFIG ||
		    !strstr(err.msg, cases[k].field))
			fail_msg("case %zu: r=%d code=%d msg=%s", k, r, err.code, err.msg);
	}
}

#ifndef _WIN32
/* CNI_* variables that are not UTF-8: code 4 naming the variable. */
static void test_env_utf8(void **state)
{
	static const char *const vars[] = { "CNI_CONTAINERID", "CNI_NETNS", "CNI_PATH", "CNI_ARGS" };
	struct cni_env *env = calloc(1, sizeof(*env));

	(void)state;
	assert_non_null(env);
	for (size_t k = 0; k < N_ELEM(vars); k++) {
		struct cni_error err = {0};

		set_env("CNI_COMMAND", "ADD");
		set_env("CNI_CONTAINERID", "c1");
		set_env("CNI_NETNS", "/var/run/netns/p1");
		set_env("CNI_IFNAME", "eth0");
		set_env("CNI_PATH", "/opt/cni/bin");
		set_env("CNI_ARGS", "K8S_POD_NAME=p");
		set_env(vars[k], strcmp(vars[k], "CNI_ARGS") == 0 ? "K8S_POD_NAME=p\xff" : "x\xfe");
		assert_int_equal(cni_env_read(env, &err), -EILSEQ);
		assert_int_equal(err.code, CNI_CODE_INVALID_ENV);
		assert_non_null(strstr(err.msg, vars[k]));
	}
	{
		struct cni_error err = {0};

		set_env("CNI_ARGS", "K8S_POD_NAME=r\xc3\xa9seau");
		assert_int_equal(cni_env_read(env, &err), 0);
	}
	set_env("CNI_COMMAND", NULL);
	set_env("CNI_CONTAINERID", NULL);
	set_env("CNI_NETNS", NULL);
	set_env("CNI_IFNAME", NULL);
	set_env("CNI_ARGS", NULL);
	set_env("CNI_PATH", NULL);
	free(env);
}
#endif

/* ---- error object and VERSION ---- */

static void test_error_encode(void **state)
{
	static const struct {
		int code;
		const char *msg, *details, *version;
		const char *want;
	} cases[] = {
		/* B11: exactly one object echoing the request's version */
		{CNI_CODE_NO_ADDRESS, "No available addresses", "", "0.3.0",
		 "{\"cniVersion\":\"0.3.0\",\"code\":101,\"msg\":\"No available addresses\",\"details\":\"\"}"},
		{CNI_CODE_INVALID_CONFIG, "Network mode is invalid", "mode \"x\"", "1.0.0",
		 "{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"Network mode is invalid\",\"details\":\"mode \\\"x\\\"\"}"},
		{CNI_CODE_INCOMPATIBLE_VERSION, "incompatible", "supported", "2.0.0",
		 "{\"cniVersion\":\"2.0.0\",\"code\":1,\"msg\":\"incompatible\",\"details\":\"supported\"}"},
		{CNI_CODE_INVALID_ENV, "CNI_COMMAND env variable missing", "", "",
		 "{\"cniVersion\":\"1.1.0\",\"code\":4,\"msg\":\"CNI_COMMAND env variable missing\",\"details\":\"\"}"},
		{CNI_CODE_TRY_AGAIN, "lock", "", NULL,
		 "{\"cniVersion\":\"1.1.0\",\"code\":11,\"msg\":\"lock\",\"details\":\"\"}"},
		{0, "", "", "0.4.0",
		 "{\"cniVersion\":\"0.4.0\",\"code\":100,\"msg\":\"internal error: no message recorded\",\"details\":\"\"}"},
	};
	(void)state;
	for (size_t k = 0; k < N_ELEM(cases); k++) {
		struct cni_error e = {0};
		char *text;
		cJSON *o;

		e.code = cases[k].code;
		snprintf(e.msg, sizeof(e.msg), "%s", cases[k].msg);
		snprintf(e.details, sizeof(e.details), "%s", cases[k].details);
		text = cni_error_encode(&e, cases[k].version);
		assert_non_null(text);
		assert_null(strchr(text, '\n'));
		o = cJSON_Parse(text);
		assert_non_null(o);
		assert_int_equal(cJSON_GetArraySize(o), 4);
		assert_json_text(o, cases[k].want);
		cJSON_Delete(o);
		free(text);
	}
	{
		char *text = cni_error_encode(NULL, "0.3.1");
		cJSON *o = cJSON_Parse(text);

		assert_json_text(o, "{\"cniVersion\":\"0.3.1\",\"code\":100,\"msg\":\"internal error: no message recorded\",\"details\":\"\"}");
		cJSON_Delete(o);
		free(text);
	}
}

static void test_version_reply(void **state)
{
	static const struct {
		const char *stdin_text, *want_version;
	} cases[] = {
		/* B12 */
		{"{\"cniVersion\":\"1.1.0\"}", "1.1.0"},
		{"{}", "1.1.0"},
		{"", "1.1.0"},
		{"{\"cniVersion\":\"0.3.1\"}", "0.3.1"},
		{"{\"cniVersion\":\"0.2.0\"}", "0.2.0"},
		{"{\"cniVersion\":\"9.9.9\"}", "9.9.9"}, /* echoed (containernetworking/cni#826) */
	};
	(void)state;
	for (size_t k = 0; k < N_ELEM(cases); k++) {
		struct cni_request req;
		struct cni_error err = {0};
		char want[256], *text;
		cJSON *o;

		assert_int_equal(cni_request_parse(cases[k].stdin_text, strlen(cases[k].stdin_text), true,
						   false, &req, &err), 0);
		text = cni_version_reply(req.version_str);
		assert_non_null(text);
		o = cJSON_Parse(text);
		snprintf(want, sizeof(want),
			 "{\"cniVersion\":\"%s\",\"supportedVersions\":[\"0.1.0\",\"0.2.0\",\"0.3.0\","
			 "\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}", cases[k].want_version);
		assert_json_text(o, want);
		cJSON_Delete(o);
		free(text);
		cni_request_free(&req);
	}
	{
		char *text = cni_version_reply(NULL);
		cJSON *o = cJSON_Parse(text);

		assert_string_equal(cni_json_string(o, "cniVersion"), "1.1.0");
		cJSON_Delete(o);
		free(text);
	}
}

static void test_json_string(void **state)
{
	cJSON *o = cJSON_Parse("{\"Name\":\"azure\",\"n\":5,\"z\":null}");

	(void)state;
	assert_string_equal(cni_json_string(o, "name"), "azure");
	assert_string_equal(cni_json_string(o, "NAME"), "azure");
	assert_null(cni_json_string(o, "n"));
	assert_null(cni_json_string(o, "z"));
	assert_null(cni_json_string(o, "missing"));
	assert_null(cni_json_string(NULL, "name"));
	cJSON_Delete(o);
}

/* cni_json_ints_raw: a tree prints byte for byte as cJSON prints it unconverted (formatted and
 * not), for integers, the values left to cJSON (fractions, -0, 1e15 and beyond, NaN) and
 * numbers nested in arrays and objects; integers become raw nodes, a reference is left alone. */
static void test_json_ints_raw(void **state)
{
	static const double values[] = {
		0, 1, -1, 6, 100, 65535, 2147483647.0, -2147483648.0, 4294967296.0,
		999999999999999.0, -999999999999999.0, 1e15, -1e15, 1e300, 0.5, -2.25, 1e-7,
		123456789.125,
	};
	const char *text = "{\"a\":[1,2.5,{\"b\":-3,\"c\":[[0]]}],\"d\":\"7\",\"e\":true,\"f\":null}";
	cJSON *shared, *ref_holder;

	(void)state;
	for (size_t i = 0; i <= sizeof(values) / sizeof(values[0]) + 1; i++) {
		double d = i < sizeof(values) / sizeof(values[0]) ? values[i] :
			   i == sizeof(values) / sizeof(values[0]) ? -0.0 : 0.0 / 0.0;
		cJSON *o = cJSON_CreateObject(), *copy;
		char *before, *before_f, *after, *after_f;

		assert_non_null(cJSON_AddNumberToObject(o, "n", d));
		copy = cJSON_Duplicate(o, true);
		assert_non_null(copy);
		before = cJSON_PrintUnformatted(o);
		before_f = cJSON_Print(o);
		cni_json_ints_raw(copy);
		after = cJSON_PrintUnformatted(copy);
		after_f = cJSON_Print(copy);
		assert_string_equal(before, after);
		assert_string_equal(before_f, after_f);
		/* converted exactly when an integer cJSON writes in plain digits */
		assert_int_equal(cJSON_IsRaw(cJSON_GetObjectItem(copy, "n")),
				 d > -1e15 && d < 1e15 && d == (double)(long long)d &&
					 !(d == 0 && 1 / d < 0)); /* range first: a cast out of it is undefined */
		free(before);
		free(before_f);
		free(after);
		free(after_f);
		cJSON_Delete(o);
		cJSON_Delete(copy);
	}

	{
		cJSON *doc = cJSON_Parse(text), *copy = cJSON_Duplicate(doc, true);
		char *before = cJSON_Print(doc), *after;

		cni_json_ints_raw(copy);
		after = cJSON_Print(copy);
		assert_string_equal(before, after);
		assert_true(cJSON_IsRaw(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(copy, "a"), 2), "b")));
		assert_true(cJSON_IsNumber(cJSON_GetArrayItem(cJSON_GetObjectItem(copy, "a"), 1)));
		free(before);
		free(after);
		cJSON_Delete(doc);
		cJSON_Delete(copy);
	}

	/* a reference's target belongs to someone else: neither it nor its children change */
	shared = cJSON_CreateObject();
	assert_non_null(cJSON_AddNumberToObject(shared, "k", 5));
	ref_holder = cJSON_CreateObject();
	assert_true(cJSON_AddItemReferenceToObject(ref_holder, "r", shared));
	cni_json_ints_raw(ref_holder);
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(shared, "k")));
	cJSON_Delete(ref_holder);
	cJSON_Delete(shared);
	cni_json_ints_raw(NULL);
}

/* cni_mem_update leaves @dst equal to @src (or zero), whatever both held, at every length
 * around its 64-byte blocks, and writes nothing past @n. */
static void test_mem_update(void **state)
{
	unsigned char src[300], dst[300 + 8], want[300 + 8];

	(void)state;
	for (size_t n = 0; n <= 300; n += (n < 130 ? 1 : 17)) {
		for (int pass = 0; pass < 3; pass++) {
			for (size_t i = 0; i < sizeof(src); i++)
				src[i] = (unsigned char)(pass == 2 ? 0 : (i * 7 + n + (size_t)pass) % 5);
			for (size_t i = 0; i < sizeof(dst); i++)
				dst[i] = (unsigned char)((i * 3 + n) % 4 == 0 ? 0 : 0xa5);
			memcpy(want, dst, sizeof(want));
			memcpy(want, src, n);
			cni_mem_update(dst, src, n);
			assert_memory_equal(dst, want, sizeof(dst));
			memset(want, 0, n);
			cni_mem_update(dst, NULL, n);
			assert_memory_equal(dst, want, sizeof(dst));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_parse),
		cmocka_unit_test(test_version_list),
		cmocka_unit_test(test_args_parse),
		cmocka_unit_test(test_args_error_names_pair),
		cmocka_unit_test(test_env_read),
		cmocka_unit_test(test_env_read_fields),
		cmocka_unit_test(test_result_encode_every_version),
		cmocka_unit_test(test_result_decode_every_version),
		cmocka_unit_test(test_result_convert),
		cmocka_unit_test(test_result_decode_errors),
		cmocka_unit_test(test_result_encode_edges),
		cmocka_unit_test(test_dualstack_prev_result),
		cmocka_unit_test(test_request_parse),
		cmocka_unit_test(test_request_unsupported_lists_versions),
		cmocka_unit_test(test_request_length_bounded),
		cmocka_unit_test(test_request_strings),
#ifndef _WIN32
		cmocka_unit_test(test_env_utf8),
#endif
		cmocka_unit_test(test_error_encode),
		cmocka_unit_test(test_version_reply),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_json_ints_raw),
		cmocka_unit_test(test_mem_update),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
