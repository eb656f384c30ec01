/* SPDX-License-Identifier: MIT */
/* netstate: decode of a Go-written azure-vnet.json, empty and broken files, round trip,
 * endpoint IDs and model edits; sha1 against FIPS 180 vectors (interface names). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* Does @hay hold the @len bytes at @needle? */
static bool holds(const char *hay, const char *needle, size_t len)
{
	size_t n = strlen(hay), i;

	for (i = 0; len <= n && i <= n - len; i++)
		if (memcmp(hay + i, needle, len) == 0)
			return true;
	return false;
}

/* The text of @st encoded, decoded whole and encoded again: the model as a comparable text. */
static char *canonical(const char *text)
{
	struct cni_error err = { 0 };
	struct netstate st;
	char *out;

	assert_int_equal(netstate_decode(text, strlen(text), "c.json", &st, &err), 0);
	out = netstate_encode(&st, "v0.1.0", "2026-01-01T00:00:00Z");
	assert_non_null(out);
	netstate_free(&st);
	return out;
}

/* A lazy decode (what every azure-vnet call does, issue 14) writes the records it was not asked
 * about byte for byte as read, and the one it changed with our fields over its own keys; the
 * model read back is the one a whole decode gives. */
static void lazy_records_verbatim(void **state)
{
	struct cni_error err = { 0 };
	struct netstate st;
	struct netstate_network *net;
	struct netstate_endpoint *ep, rec;
	struct netstate_endpoint_head other;
	size_t len;
	char *text = fixture_read("net-state-go-full.json", &len), *out, *want, *got;

	(void)state;
	assert_int_equal(netstate_decode_lazy(text, len, "x.json", &st, &err), 0);
	net = netstate_find_network(&st, "azure", NULL);
	assert_non_null(net);
	assert_int_equal(net->n_endpoints, 2);
	assert_true(net->endpoints[0]->lazy && net->endpoints[1]->lazy);
	assert_null(netstate_endpoint_of(net->endpoints[0]));
	assert_string_equal(net->endpoints[1]->container_id, "6e688597eafb97");
	/* untouched: the file again, timestamp and version aside */
	out = netstate_encode(&st, NULL, NULL);
	got = canonical(out);
	want = canonical(text);
	assert_string_equal(got, want);
	assert_true(holds(out, net->endpoints[0]->src.raw, net->endpoints[0]->src.raw_len));
	free(out);
	free(got);
	free(want);
	/* one record changed through a look-up, as put_record does */
	other = *net->endpoints[1];
	ep = netstate_find_endpoint_by_owner(net, "3f813b02aa55cc", "eth0");
	assert_non_null(ep);
	assert_false(ep->lazy);
	assert_string_equal(ep->pod_name, "metrics-server-77c8679d7d-6ksdh");
	rec = *ep;
	snprintf(rec.host_ifname, sizeof(rec.host_ifname), "azvchanged");
	memset(&rec.src, 0, sizeof(rec.src)); /* a record built anew: the replaced one's keys kept */
	assert_int_equal(netstate_endpoint_put(net, &rec), 0);
	out = netstate_encode(&st, NULL, NULL);
	assert_true(holds(out, other.src.raw, other.src.raw_len));
	assert_non_null(strstr(out, "\"HostIfName\":\t\"azvchanged\""));
	assert_non_null(strstr(out, "\"InfraVnetAddressSpace\":\t\"10.0.0.0/8\""));
	assert_non_null(strstr(out, "\"XFuture\":\t[1, \"two\", null]"));
	assert_null(strstr(out, "azv3f813b02aa5"));
	netstate_free(&st);
	assert_int_equal(netstate_decode(out, strlen(out), "y.json", &st, &err), 0);
	net = netstate_find_network(&st, "azure", NULL);
	assert_string_equal(netstate_find_endpoint(net, "3f813b02-eth0")->host_ifname, "azvchanged");
	assert_string_equal(netstate_find_endpoint(net, "6e688597-eth0")->host_ifname,
			    "azv6e688597eaf");
	netstate_free(&st);
	free(out);
	free(text);
}

/* netstate_encode_parts: its parts joined are netstate_encode's text, and a lazy record's
 * bytes are not copied (a part points into the state's text). */
static void encode_parts_is_encode(void **state)
{
	struct cni_error err = { 0 };
	struct netstate st;
	struct netstate_network *net;
	struct netstate_endpoint rec;
	struct netstate_text t;
	size_t len, i, off;
	char *text = fixture_read("net-state-go-full.json", &len), *out, *joined;
	bool referred = false;

	(void)state;
	assert_int_equal(netstate_decode_lazy(text, len, "x.json", &st, &err), 0);
	net = netstate_find_network(&st, "azure", NULL);
	assert_non_null(net);
	rec = *netstate_endpoint_at(net, 0); /* one record decoded and changed, one lazy */
	snprintf(rec.host_ifname, sizeof(rec.host_ifname), "azvchanged");
	assert_int_equal(netstate_endpoint_put(net, &rec), 0);
	for (int round = 0; round < 2; round++) {
		out = netstate_encode(&st, "v1", "2026-01-01T00:00:00Z");
		assert_int_equal(netstate_encode_parts(&st, "v1", "2026-01-01T00:00:00Z", &t), 0);
		assert_non_null(out);
		joined = malloc(t.len + 1);
		assert_non_null(joined);
		for (i = 0, off = 0; i < t.n; i++) {
			memcpy(joined + off, t.parts[i].data, t.parts[i].len);
			off += t.parts[i].len;
			if (t.parts[i].data >= st.text && t.parts[i].data < st.text + st.text_len)
				referred = true;
		}
		joined[off] = '\0';
		assert_int_equal(off, t.len);
		assert_string_equal(joined, out);
		assert_true(referred == (round == 0));
		free(joined);
		free(out);
		netstate_text_free(&t);
		assert_null(t.parts);
		/* again with no record lazy: nothing to refer to */
		assert_int_equal(netstate_network_load(net, &err), 0);
		referred = false;
	}
	netstate_free(&st);
	free(text);
}

/* A file we wrote, read back lazily: its run of unchanged records is written as the one range
 * of the text it was read as (one part), and the text is byte for byte what it was but for the
 * timestamp; a record changed in the middle splits the run in two. */
static void encode_parts_runs(void **state)
{
	struct cni_error err = { 0 };
	struct netstate st, again;
	struct netstate_network *net;
	struct netstate_endpoint rec;
	struct netstate_text t;
	size_t len, i, off, refs;
	char *text = fixture_read("net-state-go-full.json", &len), *ours, *joined, *out;

	(void)state;
	assert_int_equal(netstate_decode(text, len, "x.json", &st, &err), 0);
	net = netstate_find_network(&st, "azure", NULL);
	rec = *netstate_endpoint_at(net, 0);
	for (i = 0; i < 6; i++) {
		snprintf(rec.id, sizeof(rec.id), "extra%zu-eth0", i);
		snprintf(rec.container_id, sizeof(rec.container_id), "extra%zu", i);
		memset(&rec.src, 0, sizeof(rec.src));
		assert_int_equal(netstate_endpoint_put(net, &rec), 0);
	}
	ours = netstate_encode(&st, "v1", "2026-01-01T00:00:00Z");
	assert_non_null(ours);
	netstate_free(&st);
	for (int change = 0; change < 2; change++) {
		assert_int_equal(netstate_decode_lazy(ours, strlen(ours), "y.json", &again, &err), 0);
		net = netstate_find_network(&again, "azure", NULL);
		assert_int_equal(net->n_endpoints, 8);
		if (change) {
			rec = *netstate_endpoint_at(net, 4);
			snprintf(rec.host_ifname, sizeof(rec.host_ifname), "azvchanged");
			assert_int_equal(netstate_endpoint_put(net, &rec), 0);
		}
		assert_int_equal(netstate_encode_parts(&again, "v1", "2026-01-01T00:00:00Z", &t), 0);
		joined = malloc(t.len + 1);
		assert_non_null(joined);
		for (i = 0, off = 0, refs = 0; i < t.n; i++) {
			memcpy(joined + off, t.parts[i].data, t.parts[i].len);
			off += t.parts[i].len;
			refs += t.parts[i].data >= again.text &&
				t.parts[i].data < again.text + again.text_len;
		}
		joined[off] = '\0';
		out = netstate_encode(&again, "v1", "2026-01-01T00:00:00Z");
		assert_string_equal(joined, out);
		if (!change)
			assert_string_equal(joined, ours); /* nothing changed: the same bytes */
		else
			assert_non_null(strstr(joined, "\"HostIfName\":\t\"azvchanged\""));
		/* one run of 8 records, or the 4 before and the 3 after the changed one */
		assert_int_equal(refs, change ? 2 : 1);
		free(out);
		free(joined);
		netstate_text_free(&t);
		netstate_free(&again);
	}
	free(ours);
	free(text);
}

/* The encoder writes an Endpoints object as text at its place (issue 14): its records, new or
 * changed, indented as cJSON_Print indents the whole tree, keys escaped as it escapes them. */
static void encode_endpoints_layout(void **state)
{
	struct cni_error err = { 0 };
	struct netstate st;
	struct netstate_network *net;
	struct netstate_endpoint rec;
	size_t len;
	char *text = fixture_read("net-state-go-full.json", &len), *out, *again;
	cJSON *o;

	(void)state;
	assert_int_equal(netstate_decode(text, len, "x.json", &st, &err), 0);
	net = netstate_find_network(&st, "azure", NULL);
	assert_non_null(net);
	rec = *netstate_endpoint_at(net, 0);
	memset(&rec.src, 0, sizeof(rec.src));
	snprintf(rec.id, sizeof(rec.id), "q\"b\\s\tt\001u/v");
	assert_int_equal(netstate_endpoint_put(net, &rec), 0);
	out = netstate_encode(&st, "v0.1.0", "2026-01-01T00:00:00Z");
	assert_non_null(out);
	assert_non_null(strstr(out, "\n\t\t\t\t\t\t\t\"q\\\"b\\\\s\\tt\\u0001u/v\":\t{\n"));
	o = cJSON_Parse(out);
	assert_non_null(o);
	again = cJSON_Print(o);
	assert_string_equal(again, out);
	netstate_free(&st);
	assert_int_equal(netstate_decode(out, strlen(out), "y.json", &st, &err), 0);
	net = netstate_find_network(&st, "azure", NULL);
	assert_int_equal(net->n_endpoints, 3);
	assert_non_null(netstate_find_endpoint(net, "q\"b\\s\tt\001u/v"));
	netstate_free(&st);
	cJSON_Delete(o);
	free(again);
	free(out);
	free(text);
}

/* The scan's own checks: what is not JSON, and Endpoints that are not objects, refused with
 * code 6 by both decodes; escapes in keys and owners read as a whole decode reads them. */
static void lazy_scan(void **state)
{
	static const char *const bad[] = {
		"{\"Network\":{\"ExternalInterfaces\":{\"e\":{\"Networks\":{\"a\":{\"Endpoints\":"
		"\"x\"}}}}}}",
		"{\"Network\":{\"ExternalInterfaces\":{\"e\":{\"Networks\":{\"a\":{\"Endpoints\":"
		"{\"k\":5}}}}}}}",
		"{\"Network\":{\"ExternalInterfaces\":{\"e\":{\"Networks\":{\"a\":{\"Endpoints\":"
		"{\"k\":{\"Id\":\"a\\x\"}}}}}}}}",
		"{\"Network\":{\"ExternalInterfaces\":{\"e\":{\"Networks\":{\"a\":{\"Endpoints\":"
		"{\"k\":{\"VlanID\":01}}}}}}}}",
		"{\"Network\":{\"ExternalInterfaces\":{\"e\":{\"Networks\":{\"a\":{\"Endpoints\":"
		"{\"k\":{\"VlanID\":1.}}}}}}}}",
		"{\"Network\":{\"ExternalInterfaces\":{\"e\":{\"Networks\":{\"a\":{\"Endpoints\":"
		"{\"k\":{\"Id\":\"a\tb\"}}}}}}}}",
		"{\"Network\":{}} x",
		"{\"Network\":{},}",
		"{\"Network\" {}}",
		"{\"Network\":[1,]}",
		"{\"Network\":{\"ExternalInterfaces\":{\"e\":{\"Networks\":{\"a\":{\"Endpoints\":"
		"{\"k\":{\"Id\":\"a\"}}}}}}}",
	};
	const char *esc = "{\"Network\":{\"ExternalInterfaces\":{\"e\":{\"Networks\":{\"a\":{"
			  "\"Endpoints\":{\"\\u0061bc-eth0\":{\"containerid\":\"c\\u00e9\","
			  "\"IfName\":\"eth0\",\"ContainerID\":\"ignored\",\"VlanID\":-1.5e+0}}}}}}}}";
	struct cni_error err = { 0 };
	struct netstate st;
	struct netstate_endpoint *ep;
	char deep[2101];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cni_error e1 = { 0 }, e2 = { 0 };

		assert_int_equal(netstate_decode_lazy(bad[i], strlen(bad[i]), "z.json", &st, &e1),
				 -EINVAL);
		assert_int_equal(e1.code, 6);
		assert_int_equal(netstate_decode(bad[i], strlen(bad[i]), "z.json", &st, &e2),
				 -EINVAL);
	}
	memset(deep, '[', 1050); /* balanced, but deeper than cJSON reads */
	memset(deep + 1050, ']', 1050);
	deep[2100] = '\0';
	assert_int_equal(netstate_decode_lazy(deep, strlen(deep), "z.json", &st, &err), -EINVAL);
	assert_int_equal(netstate_decode_lazy(esc, strlen(esc), "z.json", &st, &err), 0);
	ep = netstate_find_endpoint_by_owner(st.extifs[0].networks, "c\xc3\xa9", "eth0");
	assert_non_null(ep);
	assert_string_equal(ep->id, "abc-eth0");
	assert_int_equal(ep->vlan_id, -1);
	netstate_free(&st);
	/* a head field under a key spelt with an escape is that field, as cJSON reads it */
	{
		static const char k[] = "{\"Network\":{\"ExternalInterfaces\":{\"e\":{\"Networks\":"
					"{\"a\":{\"Endpoints\":{\"x-eth0\":{\"C\\u006FntainerID\":\"c9\","
					"\"IfName\":\"eth0\"}}}}}}}}";

		assert_int_equal(netstate_decode_lazy(k, strlen(k), "z.json", &st, &err), 0);
		ep = netstate_find_endpoint_by_owner(st.extifs[0].networks, "c9", "eth0");
		assert_non_null(ep);
		assert_string_equal(ep->id, "x-eth0");
		netstate_free(&st);
	}
}

/* A record whose other fields do not decode fails a whole decode (code 6) but not a lazy one
 * that does not look it up; a look-up gives it with its owner only. */
static void lazy_bad_record(void **state)
{
	const char *text = "{\"Network\":{\"ExternalInterfaces\":{\"e\":{\"Networks\":{\"a\":{"
			   "\"Endpoints\":{\"k1\":{\"ContainerID\":\"c1\",\"IfName\":\"eth0\","
			   "\"HostIfName\":7},\"k2\":{\"ContainerID\":\"c2\",\"IfName\":\"eth0\","
			   "\"HostIfName\":\"azv2\"}}}}}}}}";
	struct cni_error err = { 0 };
	struct netstate st;
	struct netstate_network *net;
	struct netstate_endpoint *ep;

	(void)state;
	assert_int_equal(netstate_decode(text, strlen(text), "z.json", &st, &err), -EINVAL);
	assert_int_equal(err.code, 6);
	assert_non_null(strstr(err.msg, "HostIfName"));
	assert_int_equal(netstate_decode_lazy(text, strlen(text), "z.json", &st, &err), 0);
	net = st.extifs[0].networks;
	assert_string_equal(netstate_find_endpoint_by_owner(net, "c2", "eth0")->host_ifname,
			    "azv2");
	ep = netstate_find_endpoint_by_owner(net, "c1", "eth0");
	assert_non_null(ep);
	assert_string_equal(ep->id, "k1");
	assert_string_equal(ep->host_ifname, "");
	assert_int_equal(netstate_network_load(net, NULL), 0);
	netstate_free(&st);
}

/* Records under keys spelt otherwise than Go writes them ("endpoints": Go reads keys
 * case-insensitively) are not indexed by the scan: decoded from the tree, their unknown keys
 * kept all the same. */
static void tree_records_keep_keys(void **state)
{
	const char *text = "{\"Network\":{\"ExternalInterfaces\":{\"e\":{\"Networks\":{\"a\":{"
			   "\"endpoints\":{\"k1\":{\"ContainerID\":\"c1\",\"IfName\":\"eth0\","
			   "\"XFoo\":[1]}}}}}}}}";
	struct cni_error err = { 0 };
	struct netstate st;
	char *out;

	(void)state;
	assert_int_equal(netstate_decode_lazy(text, strlen(text), "z.json", &st, &err), 0);
	assert_non_null(netstate_find_endpoint_by_owner(st.extifs[0].networks, "c1", "eth0"));
	out = netstate_encode(&st, NULL, NULL);
	assert_non_null(out);
	assert_non_null(strstr(out, "\"XFoo\":\t[1]"));
	free(out);
	netstate_free(&st);
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
	assert_string_equal(netstate_endpoint_at(st.extifs[0].networks, 0)->container_id, "c1");
	assert_string_equal(netstate_endpoint_at(st.extifs[0].networks, 0)->sandbox_key, "");
	assert_string_equal(netstate_endpoint_at(st.extifs[0].networks, 0)->netns, "");
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
	assert_string_equal(n->endpoints[0]->container_id, "again");
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
	netstate_dns_get(&netstate_endpoint_at(back.extifs[0].networks, 0)->dns, &out);
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
		cmocka_unit_test(lazy_records_verbatim),
		cmocka_unit_test(encode_endpoints_layout),
		cmocka_unit_test(encode_parts_is_encode),
		cmocka_unit_test(encode_parts_runs),
		cmocka_unit_test(lazy_scan),
		cmocka_unit_test(lazy_bad_record),
		cmocka_unit_test(tree_records_keep_keys),
		cmocka_unit_test(empty_and_broken),
		cmocka_unit_test(overlong_netns_dropped),
		cmocka_unit_test(edit_model),
		cmocka_unit_test(dns_compact),
		cmocka_unit_test(sha1_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
