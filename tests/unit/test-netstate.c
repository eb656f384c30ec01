/* SPDX-License-Identifier: MIT */
/* netstate: decode of a Go-written azure-vnet.json, empty and broken files, round trip,
 * endpoint IDs and model edits; sha1 against FIPS 180 vectors (interface names). */
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

#include "fixtures.h"

#include "core/netstate.h"
#include "core/sha1.h"

static void decode_go_file(void **state)
{
	struct cni_error err = { 0 };
	struct netstate st;
	struct netstate_network *net;
	struct netstate_extif *x = NULL;
	struct netstate_endpoint *ep;
	char buf[IPNET_PREFIX_STRLEN];
	size_t len;
	char *text = fixture_read("net-state-go.json", &len);
	static const uint8_t nic_mac[6] = { 0x00, 0x0d, 0x3a, 0x6e, 0x18, 0x25 };
	static const uint8_t ep_mac[6] = { 0x92, 0x0d, 0xb8, 0xb0, 0xc2, 0x8b };

	(void)state;
	assert_int_equal(netstate_decode(text, len, "x.json", &st, &err), 0);
	assert_string_equal(st.version, "v1.4.35");
	assert_int_equal(st.n_extifs, 1);
	net = netstate_find_network(&st, "azure", &x);
	assert_non_null(net);
	assert_string_equal(x->name, "eth0");
	assert_true(x->has_mac);
	assert_memory_equal(x->mac, nic_mac, 6);
	assert_int_equal(x->n_subnets, 1);
	assert_string_equal(ipnet_prefix_format(&x->subnets[0], buf, sizeof(buf)), "10.240.0.0/16");
	assert_string_equal(net->mode, "transparent");
	assert_int_equal(net->n_subnets, 1);
	assert_int_equal(net->subnets[0].family, 2);
	assert_string_equal(ipnet_prefix_format(&net->subnets[0].prefix, buf, sizeof(buf)),
			    "10.240.0.0/16");
	assert_int_equal(net->subnets[0].primary_ip.family, 0);
	ep = netstate_find_endpoint(net, "3f813b02-eth0");
	assert_non_null(ep);
	assert_string_equal(ep->host_ifname, "azv6b2c7d8e9f0");
	assert_string_equal(ep->container_id, "3f813b02aa55cc");
	assert_true(ep->has_mac);
	assert_memory_equal(ep->mac, ep_mac, 6);
	assert_int_equal(ep->n_ips, 1);
	assert_string_equal(ipnet_prefix_format(&ep->ips[0], buf, sizeof(buf)), "10.240.0.7/16");
	assert_int_equal(ep->n_gateways, 1);
	assert_non_null(netstate_find_endpoint_by_owner(net, "3f813b02aa55cc", "eth0"));
	assert_null(netstate_find_endpoint(net, "nope"));
	netstate_free(&st);
	free(text);
}

static void round_trip(void **state)
{
	struct cni_error err = { 0 };
	struct netstate a, b;
	size_t len;
	char *text = fixture_read("net-state-go.json", &len), *out, *out2;

	(void)state;
	assert_int_equal(netstate_decode(text, len, "x.json", &a, &err), 0);
	out = netstate_encode(&a, "v0.1.0", "2026-01-01T00:00:00Z");
	assert_non_null(out);
	assert_non_null(strstr(out, "\"Mask\":\t\"//8AAA==\""));
	assert_non_null(strstr(out, "\"MacAddress\":\t\"kg24sMKL\""));
	assert_non_null(strstr(out, "\"CnsClient\":\tnull"));
	assert_int_equal(netstate_decode(out, strlen(out), "y.json", &b, &err), 0);
	out2 = netstate_encode(&b, "v0.1.0", "2026-01-01T00:00:00Z");
	assert_string_equal(out, out2);
	netstate_free(&a);
	netstate_free(&b);
	free(out);
	free(out2);
	free(text);
}

/* The member at @path ("a/b/c") of @root, or NULL. */
static const cJSON *at(const cJSON *root, const char *path)
{
	char buf[256], *save = NULL, *k;

	snprintf(buf, sizeof(buf), "%s", path);
	for (k = strtok_r(buf, "/", &save); k && root; k = strtok_r(NULL, "/", &save))
		root = cJSON_GetObjectItemCaseSensitive(root, k);
	return root;
}

#define EPS "Network/ExternalInterfaces/eth0/Networks/azure/Endpoints"

/* Every key of a Go-written file we do not model survives a save, at its place: a kept record
 * (also one copied in from another decode), the NIC's netlink routes, unknown top-level keys;
 * a removed record is gone; a new one is written as Go writes it (issue 12). */
static void go_keys_kept(void **state)
{
	struct cni_error err = { 0 };
	struct netstate a, b;
	struct netstate_endpoint copy, fresh;
	struct netstate_network *net;
	cJSON *in, *out;
	const cJSON *s, *o, *e;
	size_t len;
	char *text = fixture_read("net-state-go-full.json", &len), *enc;

	(void)state;
	assert_int_equal(netstate_decode(text, len, "a.json", &a, &err), 0);
	assert_int_equal(netstate_decode(text, len, "b.json", &b, &err), 0);
	net = netstate_find_network(&a, "azure", NULL);
	copy = *netstate_find_endpoint(netstate_find_network(&b, "azure", NULL), "3f813b02-eth0");
	assert_string_equal(copy.netns, "/var/run/netns/cni-e66c52d6");
	assert_int_equal(copy.netns_key, NETSTATE_NETNS_KEY_NNS);
	assert_int_equal(netstate_endpoint_put(net, &copy), 0); /* src from decode b: matched again */
	assert_int_equal(netstate_endpoint_remove(net, "6e688597-eth0"), 1);
	memset(&fresh, 0, sizeof(fresh));
	snprintf(fresh.id, sizeof(fresh.id), "aaaabbbb-eth0");
	snprintf(fresh.container_id, sizeof(fresh.container_id), "aaaabbbbcccc");
	snprintf(fresh.netns, sizeof(fresh.netns), "/var/run/netns/x");
	fresh.netns_key = NETSTATE_NETNS_KEY_NNS;
	assert_int_equal(netstate_endpoint_put(net, &fresh), 0);
	enc = netstate_encode(&a, "v0.1.0", "2026-01-01T00:00:00Z");
	assert_non_null(enc);
	in = cJSON_Parse(text);
	out = cJSON_Parse(enc);
	assert_non_null(out);
	s = at(in, EPS "/3f813b02-eth0");
	o = at(out, EPS "/3f813b02-eth0");
	assert_true(cJSON_Compare(s, o, true));
	for (e = s->child, o = o->child; e && o; e = e->next, o = o->next)
		assert_string_equal(e->string, o->string); /* same places */
	assert_null(e);
	assert_null(at(out, EPS "/6e688597-eth0"));
	assert_true(cJSON_Compare(at(in, "Network/ExternalInterfaces/eth0/Routes"),
				  at(out, "Network/ExternalInterfaces/eth0/Routes"), true));
	assert_true(cJSON_Compare(at(in, "Unrelated"), at(out, "Unrelated"), true));
	assert_string_equal(at(out, EPS "/aaaabbbb-eth0/NICType")->valuestring, "InfraNIC");
	assert_string_equal(at(out, EPS "/aaaabbbb-eth0/NetworkNameSpace")->valuestring,
			    "/var/run/netns/x");
	assert_true(cJSON_IsObject(at(out, EPS "/aaaabbbb-eth0/SecondaryInterfaces")));
	assert_null(at(out, EPS "/aaaabbbb-eth0/HnsId"));
	assert_null(at(out, EPS "/aaaabbbb-eth0/NetNs"));
	assert_null(at(out, EPS "/aaaabbbb-eth0/PODName"));
	cJSON_Delete(in);
	cJSON_Delete(out);
	free(enc);
	netstate_free(&a);
	netstate_free(&b);
	free(text);
}

static void empty_and_broken(void **state)
{
	static const struct {
		const char *text;
		int ret;
	} cases[] = {
		{ "", 0 },
		{ " \n\t", 0 },
		{ "{}", 0 },
		{ "{\"Network\":{", -EINVAL },
		{ "garbage", -EINVAL },
		{ "[]", -EINVAL },
		{ "{\"Network\":{\"ExternalInterfaces\":[]}}", -EINVAL },
		{ "{\"Network\":{\"ExternalInterfaces\":{\"eth0\":{\"Networks\":{\"a\":{\"Subnets\":"
		  "[{\"Prefix\":{\"IP\":\"10.0.0.0\",\"Mask\":\"!!\"}}]}}}}}}", -EINVAL },
		{ "{\"Network\":{\"ExternalInterfaces\":{\"eth0\":{\"Networks\":{\"a\":{\"Endpoints\":"
		  "{\"e\":{\"IPAddresses\":[{\"IP\":\"10.0.0.300\"}]}}}}}}}}", -EINVAL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cni_error err = { 0 };
		struct netstate st;
		int r = netstate_decode(cases[i].text, strlen(cases[i].text), "/run/azure-vnet.json",
					&st, &err);

		assert_int_equal(r, cases[i].ret);
		if (r < 0) {
			assert_int_equal(err.code, 6);
			assert_non_null(strstr(err.msg, "/run/azure-vnet.json"));
		} else {
			assert_int_equal(st.n_extifs, 0);
		}
		netstate_free(&st);
	}
}

/* A netns path longer than CNI_NETNS_MAX in a record (written before the limit, or by another
 * plugin) is dropped, not a decode error that would fail every later call on the node. */
static void overlong_netns_dropped(void **state)
{
	char long_path[700], *text;
	struct cni_error err = { 0 };
	struct netstate st;
	size_t n;

	(void)state;
	memset(long_path, 'n', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	n = strlen(long_path) * 2 + 512;
	text = malloc(n);
	assert_non_null(text);
	snprintf(text, n, "{\"Network\":{\"ExternalInterfaces\":{\"eth0\":{\"Name\":\"eth0\","
		 "\"Networks\":{\"azure\":{\"Id\":\"azure\",\"Endpoints\":{\"c1-eth0\":"
		 "{\"Id\":\"c1-eth0\",\"ContainerID\":\"c1\",\"IfName\":\"eth0\","
		 "\"SandboxKey\":\"%s\",\"NetNs\":\"%s\"}}}}}}}}", long_path, long_path);
	assert_int_equal(netstate_decode(text, strlen(text), "x.json", &st, &err), 0);
	assert_int_equal(st.n_extifs, 1);
	assert_int_equal(st.extifs[0].n_networks, 1);
	assert_int_equal(st.extifs[0].networks[0].n_endpoints, 1);
	assert_string_equal(st.extifs[0].networks[0].endpoints[0].container_id, "c1");
	assert_string_equal(st.extifs[0].networks[0].endpoints[0].sandbox_key, "");
	assert_string_equal(st.extifs[0].networks[0].endpoints[0].netns, "");
	netstate_free(&st);
	free(text);
}

static void edit_model(void **state)
{
	struct netstate st = { 0 };
	struct netstate_extif *x;
	struct netstate_network net = { 0 }, *n;
	struct netstate_endpoint ep = { 0 };
	char id[64], *out;

	(void)state;
	assert_string_equal(netstate_endpoint_id("3f813b02aa55cc", "eth0", id, sizeof(id)),
			    "3f813b02-eth0");
	assert_string_equal(netstate_endpoint_id("c1", "eth0", id, sizeof(id)), "c1-eth0");
	x = netstate_extif_get(&st, "eth0");
	assert_non_null(x);
	assert_ptr_equal(netstate_extif_get(&st, "eth0"), x);
	snprintf(net.id, sizeof(net.id), "azure");
	n = netstate_network_add(x, &net);
	assert_non_null(n);
	assert_null(netstate_network_add(x, &net)); /* duplicate */
	snprintf(ep.id, sizeof(ep.id), "a-eth0");
	assert_int_equal(netstate_endpoint_put(n, &ep), 0);
	snprintf(ep.container_id, sizeof(ep.container_id), "again");
	assert_int_equal(netstate_endpoint_put(n, &ep), 0); /* replaces */
	assert_int_equal(n->n_endpoints, 1);
	assert_string_equal(n->endpoints[0].container_id, "again");
	snprintf(ep.id, sizeof(ep.id), "b-eth0");
	assert_int_equal(netstate_endpoint_put(n, &ep), 0);
	assert_int_equal(netstate_endpoint_remove(n, "a-eth0"), 1);
	assert_int_equal(netstate_endpoint_remove(n, "a-eth0"), 0);
	assert_int_equal(n->n_endpoints, 1);
	out = netstate_encode(&st, "v1", "t");
	assert_non_null(strstr(out, "\"b-eth0\""));
	assert_null(strstr(out, "\"a-eth0\""));
	free(out);
	netstate_free(&st);
}

/* The compact record DNS: servers, suffix and options survive a set/encode/decode/get round
 * trip in order; options past the record's byte budget are dropped, never cut in half. */
static void dns_compact(void **state)
{
	struct netstate st = { 0 }, back = { 0 };
	struct netstate_network net = { 0 }, *n;
	struct netstate_endpoint ep = { 0 };
	struct cni_dns in = { 0 }, out;
	char *text;
	size_t i;

	(void)state;
	snprintf(in.domain, sizeof(in.domain), "cluster.local");
	in.n_nameservers = 2;
	snprintf(in.nameservers[0], sizeof(in.nameservers[0]), "10.0.0.10");
	snprintf(in.nameservers[1], sizeof(in.nameservers[1]), "fd00::a");
	in.n_search = 1;
	snprintf(in.search[0], sizeof(in.search[0]), "svc.cluster.local");
	in.n_options = 3;
	snprintf(in.options[0], sizeof(in.options[0]), "ndots:5");
	memset(in.options[1], 'x', 250); /* with the third, past NETSTATE_DNS_OPTIONS_MAX */
	memset(in.options[2], 'y', 255);
	snprintf(net.id, sizeof(net.id), "azure");
	n = netstate_network_add(netstate_extif_get(&st, "eth0"), &net);
	assert_non_null(n);
	snprintf(ep.id, sizeof(ep.id), "a-eth0");
	netstate_dns_set(&ep.dns, &in);
	assert_int_equal(ep.dns.n_options, 2);
	assert_int_equal(netstate_endpoint_put(n, &ep), 0);
	text = netstate_encode(&st, "v1", "t");
	assert_non_null(text);
	assert_int_equal(netstate_decode(text, strlen(text), NULL, &back, NULL), 0);
	netstate_dns_get(&back.extifs[0].networks[0].endpoints[0].dns, &out);
	assert_string_equal(out.domain, "cluster.local");
	assert_int_equal(out.n_nameservers, 2);
	assert_string_equal(out.nameservers[1], "fd00::a");
	assert_int_equal(out.n_search, 0);
	assert_int_equal(out.n_options, 2);
	assert_string_equal(out.options[0], "ndots:5");
	assert_int_equal(strlen(out.options[1]), 250);
	for (i = 0; i < 250; i++)
		assert_int_equal(out.options[1][i], 'x');
	free(text);
	netstate_free(&back);
	netstate_free(&st);
}

static void sha1_vectors(void **state)
{
	char hex[41];

	(void)state;
	assert_string_equal(sha1_hex("abc", hex, sizeof(hex)),
			    "a9993e364706816aba3e25717850c26c9cd0d89d");
	assert_string_equal(sha1_hex("", hex, sizeof(hex)),
			    "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	assert_string_equal(
		sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", hex, sizeof(hex)),
		"84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

/* The key candidates: the Go ID, then forms that stay apart for adversarial owners (a '-' in
 * both the container ID and the ifname; a ':' in the container ID), and a container ID at the
 * size limit still leaves room for the ifname and candidate number. */
static void endpoint_keys(void **state)
{
	static const struct {
		const char *cid, *ifname;
		unsigned k;
		const char *want;
	} t[] = {
		{ "3f813b02aa55cc", "eth0", 0, "3f813b02-eth0" },
		{ "3f813b02aa55cc", "eth0", 1, "3f813b02aa55cc:eth0" },
		{ "3f813b02aa55cc", "eth0", 2, "3f813b02aa55cc:eth0/2" },
		{ "abcdefgh-y", "eth0", 1, "abcdefgh-y:eth0" },
		{ "abcdefgh", "y-eth0", 1, "abcdefgh:y-eth0" },
		{ "ab:cdefg-q", "eth0", 0, "ab:cdefg-eth0" },
		{ "ab", "cdefg-eth0", 1, "ab:cdefg-eth0" },
		{ "ab", "cdefg-eth0", 2, "ab:cdefg-eth0/2" },
	};
	char cid[CNI_ID_MAX], id[NETSTATE_ID_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_string_equal(netstate_endpoint_key(t[i].cid, t[i].ifname, t[i].k, id,
							  sizeof(id)), t[i].want);
	memset(cid, 'c', sizeof(cid) - 1);
	cid[sizeof(cid) - 1] = '\0';
	netstate_endpoint_key(cid, "abcdefghijklmno", 4000000000u, id, sizeof(id));
	assert_int_equal(strlen(id), NETSTATE_KEY_CID_MAX + 1 + 15 + 1 + 10);
	assert_string_equal(id + NETSTATE_KEY_CID_MAX, ":abcdefghijklmno/4000000000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decode_go_file),
		cmocka_unit_test(round_trip),
		cmocka_unit_test(go_keys_kept),
		cmocka_unit_test(endpoint_keys),
		cmocka_unit_test(empty_and_broken),
		cmocka_unit_test(overlong_netns_dropped),
		cmocka_unit_test(edit_model),
		cmocka_unit_test(dns_compact),
		cmocka_unit_test(sha1_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
