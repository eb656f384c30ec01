/* SPDX-License-Identifier: MIT */
/* Unit tests of the IPAM state document (ipamstate): decoding of files the Go plugin writes,
 * empty/whitespace/truncated files (case B10), the exact Go MarshalIndent layout, RFC 3339 times
 * and round trips. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures.h"

#include "core/ipamstate.h"
#include "core/netscan.h"

static int decode_file(const char *name, struct ipam_space *sp, struct cni_error *err)
{
	size_t len;
	char *text = fixture_read(name, &len);
	int r;

	memset(err, 0, sizeof(*err));
	r = ipamstate_decode(text, len, "/var/run/azure-vnet-ipam.json", sp, err);
	free(text);
	return r;
}

static struct ipam_pool *find_pool(struct ipam_space *sp, const char *id)
{
	for (size_t i = 0; i < sp->n_pools; i++)
		if (strcmp(sp->pools[i].id, id) == 0)
			return &sp->pools[i];
	return NULL;
}

/* The owner of a view's bytes in test_decode_view: released once, when the space lets go. */
struct view_owner {
	char *bytes;
	int released;
};

static void view_owner_release(void *owner)
{
	struct view_owner *o = owner;

	o->released++;
	free(o->bytes);
	o->bytes = NULL;
}

/* A padded copy of @text (@len) owned by @o. */
static const char *view_of(struct view_owner *o, const char *text, size_t len)
{
	o->bytes = malloc(len + NETSCAN_PAD);
	assert_non_null(o->bytes);
	memcpy(o->bytes, text, len);
	memset(o->bytes + len, 0, NETSCAN_PAD);
	o->released = 0;
	return o->bytes;
}

/* ipamstate_decode_view keeps the caller's bytes (no copy) and lets their owner go exactly once:
 * when the space is freed, at once for an empty text, before returning a corrupt one. */
static void test_decode_view(void **state)
{
	struct ipam_space sp = {0}, want = {0};
	struct view_owner o = {0};
	struct cni_error err = {0};
	char *text, *a, *b;
	const char *v;
	size_t len;

	(void)state;
	text = fixture_read("ipam-state-go.json", &len);
	v = view_of(&o, text, len);
	assert_int_equal(ipamstate_decode_view(v, len, "p", view_owner_release, &o, &sp, &err), 0);
	assert_ptr_equal(sp.text, v);
	assert_int_equal(o.released, 0);
	assert_int_equal(ipamstate_decode(text, len, "p", &want, &err), 0);
	a = ipamstate_encode(&sp, "2024-01-01T00:00:00Z");
	b = ipamstate_encode(&want, "2024-01-01T00:00:00Z");
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(a, b);
	free(a);
	free(b);
	ipam_space_free(&sp);
	assert_int_equal(o.released, 1);
	ipam_space_free(&want);

	v = view_of(&o, " \n\t", 3);
	assert_int_equal(ipamstate_decode_view(v, 3, "p", view_owner_release, &o, &sp, &err), 0);
	assert_int_equal(o.released, 1);
	assert_null(sp.text);
	ipam_space_free(&sp);
	assert_int_equal(o.released, 1);

	v = view_of(&o, text, len / 2); /* cut short: corrupt */
	assert_int_equal(ipamstate_decode_view(v, len / 2, "p", view_owner_release, &o, &sp, &err),
			 -EINVAL);
	assert_int_equal(o.released, 1);
	free(text);
}

/* A file as the Go plugin writes it decodes into the model, and its records are usable. */
static void test_decode_go(void **state)
{
	struct ipam_space sp = {0};
	struct cni_error err;
	struct ipam_pool *pool;
	char buf[IPNET_PREFIX_STRLEN];
	size_t p, a;
	struct ipam_request req = {.container_id = "new", .ifname = "eth0", .subnet = "10.240.0.0/16",
				   .ip_address = ""};

	(void)state;
	assert_int_equal(decode_file("ipam-state-go.json", &sp, &err), 0);
	assert_string_equal(sp.id, "local");
	assert_int_equal(sp.scope, 0);
	assert_int_equal(sp.n_pools, 1);
	pool = &sp.pools[0];
	assert_string_equal(pool->id, "10.240.0.0/16");
	assert_string_equal(pool->ifname, "eth0");
	assert_string_equal(ipnet_prefix_format(&pool->subnet, buf, sizeof(buf)), "10.240.0.0/16");
	assert_string_equal(ipnet_addr_format(&pool->gateway, buf, sizeof(buf)), "10.240.0.1");
	assert_false(pool->is_ipv6);
	assert_int_equal(pool->priority, 0);
	assert_int_equal(pool->refcount, 1);
	assert_int_equal(pool->primary.family, 0);
	assert_int_equal(pool->n_addrs, 4);
	assert_string_equal(ipnet_addr_format(&pool->addrs[0].addr, buf, sizeof(buf)), "10.240.0.5");
	assert_string_equal(ipnet_addr_format(&pool->addrs[3].addr, buf, sizeof(buf)), "10.240.0.8");
	assert_true(fixture_pool_addr(pool, "10.240.0.6")->in_use);
	assert_string_equal(fixture_pool_addr(pool, "10.240.0.6")->id,
			    "3f813b02c8d1a7e5f0b9c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e");
	assert_string_equal(fixture_pool_addr(pool, "10.240.0.6")->ifname, "");
	assert_false(fixture_pool_addr(pool, "10.240.0.5")->in_use);
	assert_string_equal(fixture_pool_addr(pool, "10.240.0.8")->id, "9a8b7c6d5e4f");

	/* B02 kind: DEL by owner releases the Go-written record (no IfName there) */
	assert_int_equal(ipam_release(&sp, "9a8b7c6d5e4f", "eth0", NULL), 1);
	assert_false(fixture_pool_addr(pool, "10.240.0.8")->in_use);
	/* a new owner gets the lowest free address, never one in use */
	memset(&err, 0, sizeof(err));
	assert_int_equal(ipam_allocate(&sp, &req, &p, &a, &err), 0);
	assert_string_equal(ipnet_addr_format(&sp.pools[p].addrs[a].addr, buf, sizeof(buf)), "10.240.0.5");
	ipam_space_free(&sp);
}

/* Odd key case, addresses without ID/Addr, a 16-byte IPv4 mask, missing fields, unknown keys,
 * another address space (ignored). */
static void test_decode_go_odd(void **state)
{
	struct ipam_space sp = {0};
	struct cni_error err;
	struct ipam_pool *pool;
	char buf[IPNET_PREFIX_STRLEN];

	(void)state;
	if (decode_file("ipam-state-go-odd.json", &sp, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(sp.n_pools, 2);
	pool = find_pool(&sp, "10.1.8.0/22");
	assert_non_null(pool);
	assert_string_equal(ipnet_prefix_format(&pool->subnet, buf, sizeof(buf)), "10.1.8.0/22");
	assert_string_equal(ipnet_addr_format(&pool->gateway, buf, sizeof(buf)), "10.1.8.1");
	assert_string_equal(pool->ifname, "eth1");
	assert_int_equal(pool->priority, 1);
	assert_int_equal(pool->refcount, 2);
	assert_int_equal(pool->n_addrs, 3);
	assert_true(fixture_pool_addr(pool, "10.1.8.10")->in_use);
	assert_string_equal(fixture_pool_addr(pool, "10.1.8.10")->id, "c1");
	assert_false(fixture_pool_addr(pool, "10.1.9.11")->in_use);
	assert_string_equal(fixture_pool_addr(pool, "10.1.9.11")->id, "");
	assert_string_equal(fixture_pool_addr(pool, "10.1.10.12")->id, "c2");
	pool = find_pool(&sp, "10.1.0.0/24");
	assert_non_null(pool);
	assert_string_equal(ipnet_prefix_format(&pool->subnet, buf, sizeof(buf)), "10.1.0.0/24");
	assert_string_equal(ipnet_addr_format(&pool->gateway, buf, sizeof(buf)), "10.1.0.1");
	assert_int_equal(pool->n_addrs, 0);
	ipam_space_free(&sp);
}

/* A hand-edited record marked unhealthy but free is never handed out, and the indexes
 * ipam_allocate returns point at the record it took. */
static void test_decode_unhealthy_free(void **state)
{
	static const char text[] =
		"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/24\":{\"Addresses\":{"
		"\"10.0.0.5\":{\"InUse\":false,\"Unhealthy\":true},\"10.0.0.6\":{\"InUse\":false}}}}}}}}";
	struct ipam_request req = {.container_id = "c1", .ifname = "eth0", .subnet = "",
				   .ip_address = ""};
	struct ipam_space sp = {0};
	struct cni_error err = {0};
	char buf[IPNET_ADDR_STRLEN];
	size_t p, a;

	(void)state;
	assert_int_equal(ipamstate_decode(text, sizeof(text) - 1, "x", &sp, &err), 0);
	assert_int_equal(ipam_free_count(&sp), 1);
	assert_int_equal(ipam_allocate(&sp, &req, &p, &a, &err), 0);
	assert_string_equal(ipnet_addr_format(&sp.pools[p].addrs[a].addr, buf, sizeof(buf)), "10.0.0.6");
	assert_string_equal(sp.pools[p].addrs[a].id, "c1");
	assert_int_equal(sp.pools[p].refcount, 1);
	ipam_space_free(&sp);
}

/* What we do not model round-trips byte for byte at its place (issue 12): an unknown top-level
 * key, an IPAM key between Version and AddressSpaces, an address space other than "local", a
 * pool's unknown key (numbers, nesting, escapes, empty containers as Go writes them). */
static void test_unknown_kept(void **state)
{
	static const char text[] =
		"{\n"
		"\t\"IPAM\": {\n"
		"\t\t\"Version\": \"v" AZCNI_VERSION "\",\n"
		"\t\t\"XNext\": [\n\t\t\t1,\n\t\t\t2.5,\n\t\t\t\"a\\u003cb\",\n\t\t\t{}\n\t\t],\n"
		"\t\t\"TimeStamp\": \"2026-11-29T08:49:31Z\",\n"
		"\t\t\"AddressSpaces\": {\n"
		"\t\t\t\"global\": {\n"
		"\t\t\t\t\"Id\": \"global\",\n"
		"\t\t\t\t\"Scope\": 1,\n"
		"\t\t\t\t\"Pools\": {}\n"
		"\t\t\t},\n"
		"\t\t\t\"local\": {\n"
		"\t\t\t\t\"Id\": \"local\",\n"
		"\t\t\t\t\"Scope\": 0,\n"
		"\t\t\t\t\"Pools\": {\n"
		"\t\t\t\t\t\"10.0.0.0/24\": {\n"
		"\t\t\t\t\t\t\"Id\": \"10.0.0.0/24\",\n"
		"\t\t\t\t\t\t\"IfName\": \"eth0\",\n"
		"\t\t\t\t\t\t\"XPool\": null,\n"
		"\t\t\t\t\t\t\"Subnet\": {\n"
		"\t\t\t\t\t\t\t\"IP\": \"10.0.0.0\",\n"
		"\t\t\t\t\t\t\t\"Mask\": \"////AA==\"\n"
		"\t\t\t\t\t\t},\n"
		"\t\t\t\t\t\t\"Gateway\": \"10.0.0.1\",\n"
		"\t\t\t\t\t\t\"Addresses\": {},\n"
		"\t\t\t\t\t\t\"IsIPv6\": false,\n"
		"\t\t\t\t\t\t\"Priority\": 0,\n"
		"\t\t\t\t\t\t\"RefCount\": 0\n"
		"\t\t\t\t\t}\n"
		"\t\t\t\t}\n"
		"\t\t\t}\n"
		"\t\t}\n"
		"\t},\n"
		"\t\"Other\": true\n"
		"}";
	struct ipam_space sp = {0};
	struct cni_error err = {0};
	char *out;

	(void)state;
	assert_int_equal(ipamstate_decode(text, sizeof(text) - 1, "x", &sp, &err), 0);
	out = ipamstate_encode(&sp, "2026-11-29T08:49:31Z");
	assert_non_null(out);
	assert_string_equal(out, text);
	free(out);
	ipam_space_free(&sp);

	/* found by fuzz-ipamstate: an unknown number past long long is written back as a double,
	 * one JSON cannot hold (1e999: infinity to cJSON) as null, never cast (undefined) */
	{
		static const char big[] = "{\"IPAM\": {\"X\": 6.6666e85, \"Y\": -1e999, \"Z\": 12}}";

		assert_int_equal(ipamstate_decode(big, sizeof(big) - 1, "x", &sp, &err), 0);
		out = ipamstate_encode(&sp, "2026-11-29T08:49:31Z");
		assert_non_null(out);
		assert_non_null(strstr(out, "\"X\": 6.6666000000000002e+85"));
		assert_non_null(strstr(out, "\"Y\": null"));
		assert_non_null(strstr(out, "\"Z\": 12,"));
		free(out);
		ipam_space_free(&sp);
	}
}

/* Records come out sorted by address whatever the file's order; of two records for the same
 * address (a duplicate key, or a key whose Addr names another record's address) the first in
 * the file wins. */
static void test_decode_duplicates_sorted(void **state)
{
	static const char text[] =
		"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/16\":{\"Addresses\":{"
		"\"10.0.1.9\":{\"ID\":\"a\",\"InUse\":true},"
		"\"10.0.0.7\":{\"ID\":\"first\",\"InUse\":true},"
		"\"10.0.0.10\":{},"
		"\"x\":{\"Addr\":\"10.0.0.7\",\"ID\":\"second\",\"InUse\":true},"
		"\"10.0.0.2\":{},"
		"\"10.0.0.7\":{\"ID\":\"third\"},"
		"\"10.0.0.1\":{}}}}}}}}";
	static const char *const order[] = {"10.0.0.1", "10.0.0.2", "10.0.0.7", "10.0.0.10",
					    "10.0.1.9"};
	struct ipam_space sp = {0};
	struct cni_error err = {0};
	char buf[IPNET_ADDR_STRLEN];

	(void)state;
	assert_int_equal(ipamstate_decode(text, sizeof(text) - 1, "x", &sp, &err), 0);
	assert_int_equal(sp.n_pools, 1);
	assert_int_equal(sp.pools[0].n_addrs, 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(ipnet_addr_format(&sp.pools[0].addrs[i].addr, buf, sizeof(buf)),
				    order[i]);
	assert_string_equal(sp.pools[0].addrs[2].id, "first");
	assert_true(sp.pools[0].addrs[2].in_use);
	assert_string_equal(sp.pools[0].addrs[4].id, "a");
	ipam_space_free(&sp);
}

/* Keys after one with the same first three bytes (read from their last byte alone): the same
 * addresses, and the same refusals, as a key read on its own. */
static void test_decode_key_runs(void **state)
{
	static const char head[] =
		"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/16\":{\"Addresses\":{"
		"\"10.0.0.1\":{},";
	static const char *const bad[] = {"10.0.0.07", "10.0.0.256", "10.0.0.1a", "10.0.0.",
					  "10.0.0.1000", "10.0.0.00", "10.0.0..1"};
	static const char good[] =
		"\"10.0.0.10\":{},\"10.0.0.255\":{\"Addr\":\"10.0.0.255\"},\"10.0.0.0\":{},"
		"\"10.0.1.0\":{},\"10.0.1.9\":{}}}}}}}}";
	static const char *const order[] = {"10.0.0.0", "10.0.0.1", "10.0.0.10", "10.0.0.255",
					    "10.0.1.0", "10.0.1.9"};
	struct ipam_space sp = {0};
	struct cni_error err = {0};
	char text[512], buf[IPNET_ADDR_STRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s\"%s\":{}}}}}}}}", head, bad[i]);
		memset(&err, 0, sizeof(err));
		assert_int_equal(ipamstate_decode(text, strlen(text), "x", &sp, &err), -EINVAL);
		assert_int_equal(err.code, CNI_CODE_DECODE);
		if (!strstr(err.msg, bad[i]) || !strstr(err.msg, "no usable address"))
			fail_msg("%s: %s", bad[i], err.msg);
		ipam_space_free(&sp);
	}
	snprintf(text, sizeof(text), "%s%s", head, good);
	assert_int_equal(ipamstate_decode(text, strlen(text), "x", &sp, &err), 0);
	assert_int_equal(sp.pools[0].n_addrs, 6);
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(ipnet_addr_format(&sp.pools[0].addrs[i].addr, buf, sizeof(buf)),
				    order[i]);
	ipam_space_free(&sp);
}

/* Case B10 (a): an empty or whitespace-only file is an empty store. */
static void test_decode_empty(void **state)
{
	static const char *const files[] = {"ipam-state-empty.json", "ipam-state-whitespace.json"};
	static const char *const texts[] = {"{}", "{\"IPAM\":{}}", "{\"IPAM\":null}",
					    "{\"IPAM\":{\"AddressSpaces\":{}}}", "{\"Network\":{}}"};

	(void)state;
	for (size_t i = 0; i < 2 + sizeof(texts) / sizeof(texts[0]); i++) {
		struct ipam_space sp = {.n_pools = 77};
		struct cni_error err = {0};
		int r = i < 2 ? decode_file(files[i], &sp, &err)
			      : ipamstate_decode(texts[i - 2], strlen(texts[i - 2]), "x", &sp, &err);

		assert_int_equal(r, 0);
		assert_int_equal(err.code, 0);
		assert_int_equal(sp.n_pools, 0);
		assert_null(sp.pools);
		assert_string_equal(sp.id, "local");
		ipam_space_free(&sp); /* the decoded document is kept (every key round-trips) */
	}
}

/* Case B10 (b): anything else unparsable is code 6 naming the file, never an empty store. */
static void test_decode_broken(void **state)
{
	static const struct {
		const char *text;
		const char *needle;
	} cases[] = {
		{"{\"IPAM\":{", "not valid JSON"},
		{"{\"Network\":{", "not valid JSON"},
		{"\x00\x00\x00", "not valid JSON"},
		{"[]", "top level is not an object"},
		{"{\"IPAM\":[]}", "IPAM is not an object"},
		{"{\"IPAM\":{\"AddressSpaces\":[]}}", "AddressSpaces is not an object"},
		{"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"x\":{\"Id\":\"bogus\"}}}}}}",
		 "pool x has no Subnet"},
		{"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/8\":{\"Addresses\":"
		 "{\"10.0.0.5\":{\"InUse\":\"yes\"}}}}}}}}", "address 10.0.0.5.InUse is not a boolean"},
		{"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/8\":{\"Addresses\":"
		 "{\"11.0.0.5\":{\"InUse\":true}}}}}}}}", "outside the pool's subnet"},
		{"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/8\":{\"Addresses\":"
		 "{\"10.0.0.5\":{\"InUse\":true}, \"junk\":{}}}}}}}}", "has no usable address"},
		{"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/8\":{\"Subnet\":"
		 "{\"IP\":\"10.0.0.0\",\"Mask\":\"AAAAAAAAAAAAAAAA//8AAA==\"}}}}}}}", "is not a netmask for IPv4"},
		{"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/8\":{\"Priority\":1.5}}}}}}",
		 "Priority is not an integer"},
		{"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/8\":{\"RefCount\":1e20}}}}}}",
		 "RefCount is not an integer"},
		{"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/8\":{\"Gateway\":\"x\"}}}}}}",
		 "Gateway \"x\" is not an IP address"},
	};
	struct ipam_space sp = {0};
	struct cni_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = i == 2 ? 3 : strlen(cases[i].text);

		memset(&err, 0, sizeof(err));
		assert_int_equal(ipamstate_decode(cases[i].text, len, "/run/x/azure-vnet-ipam.json", &sp,
						  &err), -EINVAL);
		assert_int_equal(err.code, CNI_CODE_DECODE);
		if (!strstr(err.msg, "/run/x/azure-vnet-ipam.json") || !strstr(err.msg, cases[i].needle))
			fail_msg("case %zu: \"%s\" lacks the path or \"%s\"", i, err.msg, cases[i].needle);
		assert_null(sp.pools);
	}
	assert_int_equal(decode_file("ipam-state-truncated.json", &sp, &err), -EINVAL);
	assert_int_equal(err.code, CNI_CODE_DECODE);
	assert_non_null(strstr(err.msg, "IPAM state file /var/run/azure-vnet-ipam.json"));
	assert_int_equal(decode_file("ipam-state-bad-mask.json", &sp, &err), -EINVAL);
	assert_int_equal(err.code, CNI_CODE_DECODE);
	assert_non_null(strstr(err.msg, "Mask \"/wD/AA==\" is not a netmask"));
}

static void add_pool(struct ipam_space *sp, const char *cidr, const char *ifname,
		     const char *const *addrs, size_t n)
{
	struct ipam_pool *pool;
	struct ipnet_prefix p;

	sp->pools = realloc(sp->pools, (sp->n_pools + 1) * sizeof(*sp->pools));
	assert_non_null(sp->pools);
	pool = &sp->pools[sp->n_pools++];
	memset(pool, 0, sizeof(*pool));
	assert_int_equal(ipnet_prefix_parse(cidr, false, &p), 0);
	snprintf(pool->id, sizeof(pool->id), "%s", cidr);
	snprintf(pool->ifname, sizeof(pool->ifname), "%s", ifname);
	pool->subnet = p;
	pool->gateway = ipnet_prefix_first_host(&p);
	pool->is_ipv6 = p.addr.family == IPNET_AF_INET6;
	pool->addrs = calloc(n, sizeof(*pool->addrs));
	assert_true(n == 0 || pool->addrs);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ipnet_addr_parse(addrs[i], &pool->addrs[i].addr), 0);
	pool->n_addrs = n;
}

/* What test_encode_layout's space encodes to before its pools are added. */
static const char encode_layout_empty[] =
	"{\n"
	"\t\"IPAM\": {\n"
	"\t\t\"Version\": \"v" AZCNI_VERSION "\",\n"
	"\t\t\"TimeStamp\": \"2026-11-29T08:49:31Z\",\n"
	"\t\t\"AddressSpaces\": {\n"
	"\t\t\t\"local\": {\n"
	"\t\t\t\t\"Id\": \"local\",\n"
	"\t\t\t\t\"Scope\": 0,\n"
	"\t\t\t\t\"Pools\": {}\n"
	"\t\t\t}\n"
	"\t\t}\n"
	"\t}\n"
	"}";

/* What test_encode_layout's space encodes to with its two pools (keys in byte order, our
 * extra fields last). */
static const char encode_layout_full[] =
	"{\n"
	"\t\"IPAM\": {\n"
	"\t\t\"Version\": \"v" AZCNI_VERSION "\",\n"
	"\t\t\"TimeStamp\": \"2026-11-29T08:49:31Z\",\n"
	"\t\t\"AddressSpaces\": {\n"
	"\t\t\t\"local\": {\n"
	"\t\t\t\t\"Id\": \"local\",\n"
	"\t\t\t\t\"Scope\": 0,\n"
	"\t\t\t\t\"Pools\": {\n"
	"\t\t\t\t\t\"10.1.0.0/24\": {\n"
	"\t\t\t\t\t\t\"Id\": \"10.1.0.0/24\",\n"
	"\t\t\t\t\t\t\"IfName\": \"\",\n"
	"\t\t\t\t\t\t\"Subnet\": {\n"
	"\t\t\t\t\t\t\t\"IP\": \"10.1.0.0\",\n"
	"\t\t\t\t\t\t\t\"Mask\": \"////AA==\"\n"
	"\t\t\t\t\t\t},\n"
	"\t\t\t\t\t\t\"Gateway\": \"10.1.0.1\",\n"
	"\t\t\t\t\t\t\"Addresses\": {},\n"
	"\t\t\t\t\t\t\"IsIPv6\": false,\n"
	"\t\t\t\t\t\t\"Priority\": 0,\n"
	"\t\t\t\t\t\t\"RefCount\": 0\n"
	"\t\t\t\t\t},\n"
	"\t\t\t\t\t\"10.240.0.0/16\": {\n"
	"\t\t\t\t\t\t\"Id\": \"10.240.0.0/16\",\n"
	"\t\t\t\t\t\t\"IfName\": \"eth0\",\n"
	"\t\t\t\t\t\t\"Subnet\": {\n"
	"\t\t\t\t\t\t\t\"IP\": \"10.240.0.0\",\n"
	"\t\t\t\t\t\t\t\"Mask\": \"//8AAA==\"\n"
	"\t\t\t\t\t\t},\n"
	"\t\t\t\t\t\t\"Gateway\": \"10.240.0.1\",\n"
	"\t\t\t\t\t\t\"Addresses\": {\n"
	"\t\t\t\t\t\t\t\"10.240.0.10\": {\n"
	"\t\t\t\t\t\t\t\t\"ID\": \"\",\n"
	"\t\t\t\t\t\t\t\t\"Addr\": \"10.240.0.10\",\n"
	"\t\t\t\t\t\t\t\t\"InUse\": false,\n"
	"\t\t\t\t\t\t\t\t\"IfName\": \"\",\n"
	"\t\t\t\t\t\t\t\t\"Unhealthy\": false\n"
	"\t\t\t\t\t\t\t},\n"
	"\t\t\t\t\t\t\t\"10.240.0.5\": {\n"
	"\t\t\t\t\t\t\t\t\"ID\": \"a\\\"\\u003c\\u003e\\u0026\",\n"
	"\t\t\t\t\t\t\t\t\"Addr\": \"10.240.0.5\",\n"
	"\t\t\t\t\t\t\t\t\"InUse\": true,\n"
	"\t\t\t\t\t\t\t\t\"IfName\": \"eth0\",\n"
	"\t\t\t\t\t\t\t\t\"Unhealthy\": true\n"
	"\t\t\t\t\t\t\t}\n"
	"\t\t\t\t\t\t},\n"
	"\t\t\t\t\t\t\"IsIPv6\": false,\n"
	"\t\t\t\t\t\t\"Priority\": 1,\n"
	"\t\t\t\t\t\t\"RefCount\": 1,\n"
	"\t\t\t\t\t\t\"Primary\": \"10.240.0.4\"\n"
	"\t\t\t\t\t}\n"
	"\t\t\t\t}\n"
	"\t\t\t}\n"
	"\t\t}\n"
	"\t}\n"
	"}";

/* ipamstate_encode of @sp (at a fixed time) is exactly @expect; fails the test otherwise. */
static void assert_encodes_to(const struct ipam_space *sp, const char *expect)
{
	char *text = ipamstate_encode(sp, "2026-11-29T08:49:31Z");

	assert_non_null(text);
	assert_string_equal(text, expect);
	free(text);
}

/* Exactly json.MarshalIndent(..., "", "\t"): map keys in byte order ("10.240.0.10" before
 * "10.240.0.5"), "key": value, {} for empty maps, and our extra fields last. */
static void test_encode_layout(void **state)
{
	static const char *const addrs[] = {"10.240.0.5", "10.240.0.10"};
	struct ipam_space sp = {.id = "local"};

	(void)state;
	assert_encodes_to(&sp, encode_layout_empty);

	add_pool(&sp, "10.240.0.0/16", "eth0", addrs, 2);
	add_pool(&sp, "10.1.0.0/24", "", NULL, 0);
	snprintf(sp.pools[0].addrs[0].id, IPAM_OWNER_MAX, "a\"<>&");
	snprintf(sp.pools[0].addrs[0].ifname, CNI_IFNAME_MAX, "eth0");
	sp.pools[0].addrs[0].in_use = true;
	sp.pools[0].addrs[0].unhealthy = true;
	sp.pools[0].refcount = 1;
	sp.pools[0].priority = 1;
	assert_int_equal(ipnet_addr_parse("10.240.0.4", &sp.pools[0].primary), 0);
	assert_encodes_to(&sp, encode_layout_full);
	ipam_space_free(&sp);
}

static void assert_space_equal(const struct ipam_space *a, const struct ipam_space *b)
{
	assert_string_equal(a->id, b->id);
	assert_int_equal(a->scope, b->scope);
	assert_int_equal(a->n_pools, b->n_pools);
	for (size_t i = 0; i < a->n_pools; i++) {
		const struct ipam_pool *p = &a->pools[i], *q = NULL;

		for (size_t j = 0; j < b->n_pools; j++)
			if (strcmp(b->pools[j].id, p->id) == 0)
				q = &b->pools[j];
		assert_non_null(q);
		assert_string_equal(p->ifname, q->ifname);
		assert_int_equal(p->subnet.len, q->subnet.len);
		assert_true(ipnet_addr_equal(&p->subnet.addr, &q->subnet.addr));
		assert_true(ipnet_addr_equal(&p->gateway, &q->gateway));
		assert_int_equal(p->primary.family, q->primary.family);
		if (p->primary.family)
			assert_true(ipnet_addr_equal(&p->primary, &q->primary));
		assert_int_equal(p->is_ipv6, q->is_ipv6);
		assert_int_equal(p->priority, q->priority);
		assert_int_equal(p->refcount, q->refcount);
		assert_int_equal(p->n_addrs, q->n_addrs);
		for (size_t k = 0; k < p->n_addrs; k++) {
			assert_true(ipnet_addr_equal(&p->addrs[k].addr, &q->addrs[k].addr));
			assert_string_equal(p->addrs[k].id, q->addrs[k].id);
			assert_string_equal(p->addrs[k].ifname, q->addrs[k].ifname);
			assert_int_equal(p->addrs[k].in_use, q->addrs[k].in_use);
			assert_int_equal(p->addrs[k].unhealthy, q->addrs[k].unhealthy);
		}
	}
}

/* A save copies each record it did not change as its bytes (a Go-written record keeps its
 * form and an unknown key), writes the changed and the new ones from their fields, in key
 * order (a new address merged among the read ones), and reads back as the same space. */
static void test_records_as_read(void **state)
{
	static const char text[] =
		"{\"IPAM\": {\"AddressSpaces\": {\"local\": {\"Pools\": {\"10.0.0.0/16\": {\"Addresses\": {\n"
		"\"10.0.0.10\": {\"ID\": \"gone\", \"Addr\": \"10.0.0.10\", \"InUse\": true},\n"
		"\"10.0.0.11\": {\"ID\": \"\", \"InUse\": false, \"Note\": [1, {\"x\": null}]},\n"
		"\"10.0.0.5\": {\"ID\": \"keep\", \"Addr\": \"10.0.0.5\", \"InUse\": true},\n"
		"\"10.0.0.6\": {\"Addr\": \"10.0.0.6\"},\n"
		"\"x\": {\"Addr\": \"10.0.0.8\", \"ID\": \"named\", \"InUse\": true}\n"
		"}}}}}}}";
	static const char *const order[] = { "\"10.0.0.10\"", "\"10.0.0.11\"", "\"10.0.0.5\"",
					     "\"10.0.0.6\"", "\"10.0.0.7\"", "\"10.0.0.8\"" };
	struct ipam_request req = {.container_id = "new", .ifname = "eth0", .subnet = "",
				   .ip_address = ""};
	struct ipam_space sp = {0}, back = {0};
	struct cni_error err = {0};
	struct ipam_addr *grown;
	struct ipam_pool *pool;
	const char *at;
	size_t p, a;
	char *out;

	(void)state;
	assert_int_equal(ipamstate_decode(text, sizeof(text) - 1, "x", &sp, &err), 0);
	pool = &sp.pools[0];
	/* release one, take the lowest free (10.0.0.6), and a new record as a refresh adds one */
	assert_int_equal(ipam_release(&sp, "gone", "", NULL), 1);
	assert_int_equal(ipam_allocate(&sp, &req, &p, &a, &err), 0);
	assert_string_equal(ipnet_addr_format(&pool->addrs[a].addr, (char[IPNET_ADDR_STRLEN]){0},
					      IPNET_ADDR_STRLEN), "10.0.0.6");
	grown = realloc(pool->addrs, (pool->n_addrs + 1) * sizeof(*grown));
	assert_non_null(grown);
	pool->addrs = grown;
	memmove(&pool->addrs[2], &pool->addrs[1], (pool->n_addrs - 1) * sizeof(*grown));
	memset(&pool->addrs[1], 0, sizeof(*grown));
	assert_int_equal(ipnet_addr_parse("10.0.0.7", &pool->addrs[1].addr), 0);
	pool->n_addrs++;
	/* the model is sorted by address: 5, 7 (new), 6, ... is not; put 7 after 6 */
	{
		struct ipam_addr t = pool->addrs[1];

		pool->addrs[1] = pool->addrs[2];
		pool->addrs[2] = t;
	}

	out = ipamstate_encode(&sp, "2026-11-29T08:49:31Z");
	assert_non_null(out);
	/* unchanged: as read */
	assert_non_null(strstr(out, "\"10.0.0.11\": {\"ID\": \"\", \"InUse\": false, \"Note\": [1, {\"x\": null}]}"));
	assert_non_null(strstr(out, "\"10.0.0.5\": {\"ID\": \"keep\", \"Addr\": \"10.0.0.5\", \"InUse\": true}"));
	/* changed, new, or under a key that is not its address: from the fields */
	assert_null(strstr(out, "gone"));
	assert_non_null(strstr(out, "\"10.0.0.6\": {\n"));
	assert_non_null(strstr(out, "\"ID\": \"new\",\n"));
	assert_non_null(strstr(out, "\"10.0.0.7\": {\n"));
	assert_non_null(strstr(out, "\"10.0.0.8\": {\n"));
	assert_null(strstr(out, "\"x\": {"));
	/* key order, as Go writes a map */
	at = out;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *next = strstr(at, order[i]);

		if (!next)
			fail_msg("%s missing or out of order in:\n%s", order[i], out);
		at = next;
	}
	assert_int_equal(ipamstate_decode(out, strlen(out), "out", &back, &err), 0);
	assert_space_equal(&sp, &back);
	free(out);
	ipam_space_free(&back);
	ipam_space_free(&sp);
}

/* test_records_odd's record with escapes in its key and its string fields. */
static const char records_odd_esc[] =
	"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/16\":{\"Addresses\":{"
	"\"10.0.0.\\u0035\":{\"ID\":\"c\\u0031\",\"InUse\":true,\"IfName\":\"eth\\/0\"}}}}}}}}";

/* test_records_odd's decodes that succeed: records_odd_esc read and written back, then fields
 * under keys spelt with escapes; uses and leaves @sp (freed) and @err as the test had them. */
static void records_odd_escaped(struct ipam_space *sp, struct cni_error *err)
{
	static const char k[] =
		"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/16\":{\"Addresses\":{"
		"\"10.0.0.5\":{\"\\u0049D\":\"c7\",\"In\\u0055se\":true}}}}}}}}";
	char *out;

	assert_int_equal(ipamstate_decode(records_odd_esc, sizeof(records_odd_esc) - 1, "x", sp, err),
			 0);
	assert_int_equal(sp->pools[0].n_addrs, 1);
	assert_string_equal(sp->pools[0].addrs[0].id, "c1");
	assert_string_equal(sp->pools[0].addrs[0].ifname, "eth/0");
	assert_true(sp->pools[0].addrs[0].in_use);
	out = ipamstate_encode(sp, "2026-11-29T08:49:31Z");
	assert_non_null(out);
	assert_non_null(strstr(out, "\"10.0.0.5\": {\n"));
	assert_non_null(strstr(out, "\"ID\": \"c1\",\n"));
	free(out);
	ipam_space_free(sp);
	/* a field under a key spelt with an escape is that field, as cJSON reads it */
	assert_int_equal(ipamstate_decode(k, sizeof(k) - 1, "x", sp, err), 0);
	assert_string_equal(sp->pools[0].addrs[0].id, "c7");
	assert_true(sp->pools[0].addrs[0].in_use);
	assert_null(sp->pools[0].addrs[0].src.raw);
	ipam_space_free(sp);
}

/* test_records_odd's decodes that fail: each gives -EINVAL, code 6 and its message; uses
 * @sp and @err as the test had them. */
static void records_odd_bad(struct ipam_space *sp, struct cni_error *err)
{
	static const struct {
		const char *text;
		const char *needle;
	} bad[] = {
		{"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/8\":{\"Addresses\":"
		 "{\"10.0.0.5\":{\"ID\":5}}}}}}}}", "address 10.0.0.5.ID is not a string"},
		{"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/8\":{\"Addresses\":"
		 "{\"10.0.0.5\":{\"Unhealthy\":1}}}}}}}}", "address 10.0.0.5.Unhealthy is not a boolean"},
		{"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/8\":{\"Addresses\":"
		 "{\"10.0.0.5\":{\"Addr\":\"10.0.0.300\"}}}}}}}}", "10.0.0.5.Addr \"10.0.0.300\" is not an IP"},
		{"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/8\":{\"Addresses\":"
		 "{\"10.0.0.5\":[]}}}}}}}", "address 10.0.0.5 is not an object"},
		{"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/8\":{\"Addresses\":"
		 "{\"10.0.0.5\":{},\"10.0.0.6\":7}}}}}}}", "address 10.0.0.6 is not an object"},
		/* a marker of the scanner's in the file names no records */
		{"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/8\":{\"Addresses\":"
		 "\"\\u0001azcni-endpoints:0\"}}}}}}", "Addresses is not an object"},
		{"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/8\":{\"addresses\":"
		 "\"\\u0001azcni-endpoints:0\"}, \"10.1.0.0/16\":{\"Addresses\":{}}}}}}}",
		 "Addresses is not an object"},
		{"{\"ipam\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/8\":{\"Addresses\":"
		 "\"\\u0001azcni-endpoints:0\"}, \"10.1.0.0/16\":{\"Addresses\":{}}}}}}, "
		 "\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.2.0.0/16\":{\"Addresses\":"
		 "{\"10.2.0.5\":{}}}}}}}}", "Addresses is not an object"},
		{"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/8\":{\"Addresses\":"
		 "{\"10.0.0.5\":{\"ID\":\"\\ud800\"}}}}}}}}", "not valid JSON (byte"},
		{"{\"IPAM\":{\"Version\":01}}", "not valid JSON (byte 20 of 23)"},
		/* under a key spelt with an escape, which the scanner does not follow: a second
		 * marker naming a map already read */
		{"{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{\"10.0.0.0/8\":{\"Addresses\":"
		 "{\"10.0.0.5\":{}}}, \"10.1.0.0/16\":{\"Addr\\u0065sses\":\"\\u0001azcni-endpoints:0\"}}}}}}",
		 "pool 10.1.0.0/16.Addresses is not an object"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(err, 0, sizeof(*err));
		assert_int_equal(ipamstate_decode(bad[i].text, strlen(bad[i].text), "x", sp, err),
				 -EINVAL);
		assert_int_equal(err->code, CNI_CODE_DECODE);
		if (!strstr(err->msg, bad[i].needle))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err->msg, bad[i].needle);
	}
}

/* test_records_odd's bytes after the document, and ipamstate_decode_view's ownership of its
 * buffer; uses and leaves @sp (freed) and @err as the test had them. */
static void records_odd_view(struct ipam_space *sp, struct cni_error *err)
{
	static const char trail[] = "{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":{"
				    "\"10.0.0.0/8\":{\"Addresses\":{\"10.0.0.5\":{}}}}}}}}\0\0x{";
	static const char *const texts[] = { records_odd_esc, " \n", "{\"IPAM\":[]}" };
	static const int want[] = { 0, 0, -EINVAL };

	/* bytes after the document are not looked at (as cJSON read the file) */
	assert_int_equal(ipamstate_decode(trail, sizeof(trail) - 1, "x", sp, err), 0);
	assert_int_equal(sp->pools[0].n_addrs, 1);
	ipam_space_free(sp);
	/* ipamstate_decode_view keeps or lets go of the buffer: decoded, empty, broken */
	for (size_t i = 0; i < 3; i++) {
		char *t = calloc(1, strlen(texts[i]) + NETSCAN_PAD);

		assert_non_null(t);
		memcpy(t, texts[i], strlen(texts[i]));
		assert_int_equal(ipamstate_decode_view(t, strlen(texts[i]), "x", free, t, sp, err),
				 want[i]);
		assert_int_equal(sp->n_pools, i == 0 ? 1 : 0);
		ipam_space_free(sp);
	}
}

/* Records with escapes or fields of other types are read as the parse tree read them (same
 * values, same messages), and written from their fields. */
static void test_records_odd(void **state)
{
	struct ipam_space sp = {0};
	struct cni_error err = {0};

	(void)state;
	records_odd_escaped(&sp, &err);
	records_odd_bad(&sp, &err);
	records_odd_view(&sp, &err);
}

/* model -> text -> model is the identity, and text -> model -> text too, for a state built from
 * the NMAgent fixture with allocations and for both Go-written samples (IPv6 included). */
static void test_round_trip(void **state)
{
	static const char *const v6[] = {"fd00:1::5", "fd00:1::a"};
	static const char *const files[] = {"ipam-state-go.json", "ipam-state-go-odd.json"};
	struct ipam_space sp = {0}, back = {0}, again = {0};
	struct ipam_source src = {0};
	struct cni_error err = {0};
	char *xml, *t1, *t2;
	size_t len, p, a;

	(void)state;
	xml = fixture_read("two-nics.xml", &len);
	assert_int_equal(ipam_source_parse_nmagent(xml, len, &src, &err), 0);
	assert_int_equal(ipam_space_refresh(&sp, &src, &err), 0);
	add_pool(&sp, "fd00:1::/64", "eth0", v6, 2);
	for (int i = 0; i < 4; i++) {
		char cid[8];
		struct ipam_request req = {.container_id = cid, .ifname = "eth0", .subnet = "",
					   .ip_address = "", .ipv6 = i == 3};

		snprintf(cid, sizeof(cid), "c%d", i);
		assert_int_equal(ipam_allocate(&sp, &req, &p, &a, &err), 0);
	}
	t1 = ipamstate_encode(&sp, "2026-11-29T08:49:31Z");
	assert_non_null(t1);
	assert_non_null(strstr(t1, "\"Mask\": \"//////////8AAAAAAAAAAA==\""));
	assert_int_equal(ipamstate_decode(t1, strlen(t1), "t1", &back, &err), 0);
	assert_space_equal(&sp, &back);
	t2 = ipamstate_encode(&back, "2026-11-29T08:49:31Z");
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	ipam_space_free(&back);
	ipam_space_free(&sp);
	ipam_source_free(&src);
	free(xml);

	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(decode_file(files[i], &sp, &err), 0);
		t1 = ipamstate_encode(&sp, "2024-03-11T09:14:02Z");
		assert_int_equal(ipamstate_decode(t1, strlen(t1), "t1", &back, &err), 0);
		assert_space_equal(&sp, &back);
		t2 = ipamstate_encode(&back, "2024-03-11T09:14:02Z");
		assert_string_equal(t1, t2);
		assert_int_equal(ipamstate_decode(t2, strlen(t2), "t2", &again, &err), 0);
		assert_space_equal(&sp, &again);
		free(t1);
		free(t2);
		ipam_space_free(&sp);
		ipam_space_free(&back);
		ipam_space_free(&again);
	}
}

/* A NIC (interfaces.json, "mas") with @n IPv4 secondaries in 10.240.0.0/16 from 10.240.0.5 on
 * and @n IPv6 ones in fd00:1::/64 spread over the low four bytes (a radix sort then takes
 * several passes), leaving out every @skip-th (0: none) as a source that changed does. */
static void seq_source(size_t n, size_t skip, struct ipam_source *ret)
{
	size_t cap = 256 + n * 96, len = 0;
	struct cni_error err = {0};
	char *json = malloc(cap);

	assert_non_null(json);
	len += (size_t)snprintf(json + len, cap - len, "{\"Interfaces\":[{\"MacAddress\":"
				"\"000D3A6E1825\",\"IsPrimary\":true,\"IPSubnets\":[{\"Prefix\":"
				"\"10.240.0.0/16\",\"IPAddresses\":[{\"Address\":\"10.240.0.4\","
				"\"IsPrimary\":true}");
	for (size_t i = 0; i < n; i++)
		if (!skip || i % skip != 1)
			len += (size_t)snprintf(json + len, cap - len, ",{\"Address\":\"10.240.%zu.%zu\"}",
						(i + 5) / 256, (i + 5) % 256);
	len += (size_t)snprintf(json + len, cap - len, "]},{\"Prefix\":\"fd00:1::/64\","
				"\"IPAddresses\":[{\"Address\":\"fd00:1::4\",\"IsPrimary\":true}");
	for (size_t i = 0; i < n; i++)
		if (!skip || i % skip != 1)
			len += (size_t)snprintf(json + len, cap - len,
						",{\"Address\":\"fd00:1::%zx:%zx\"}",
						(i * 7919) % 65521 + 1, (i * 104729) % 65519 + 1);
	len += (size_t)snprintf(json + len, cap - len, "]}]}]}");
	assert_true(len < cap);
	assert_int_equal(ipam_source_parse_mas(json, len, ret, &err), 0);
	free(json);
}

/* One step of test_encode_sequence: @text decoded, changed by @op (ADD or DEL of owner @cid,
 * or a refresh from @src when it is non-NULL) and encoded; the encode (the records it did not
 * change copied as read, in runs) must be the encode of the same space with every record
 * written from its fields. Frees @text, returns the new one. */
static char *seq_step(char *text, char op, const char *cid, const struct ipam_source *src)
{
	static const char ts[] = "2026-11-29T08:49:31Z";
	struct ipam_request req = {.container_id = cid, .ifname = "eth0", .subnet = "",
				   .ip_address = ""};
	struct ipam_alloc allocs[IPAM_MAX_FAMILIES];
	struct ipam_space sp = {0};
	struct cni_error err = {0};
	char *out, *ref;

	assert_int_equal(ipamstate_decode(text, strlen(text), "seq", &sp, &err), 0);
	if (src)
		assert_int_equal(ipam_space_refresh(&sp, src, &err), 0);
	else if (op == 'A')
		assert_int_equal(ipam_allocate_owner(&sp, &req, allocs, &err), 2);
	else
		assert_int_equal(ipam_release(&sp, cid, "eth0", NULL), 2);
	out = ipamstate_encode(&sp, ts);
	assert_non_null(out);
	for (size_t i = 0; i < sp.n_pools; i++)
		for (size_t k = 0; k < sp.pools[i].n_addrs; k++)
			sp.pools[i].addrs[k].src.raw = NULL;
	ref = ipamstate_encode(&sp, ts);
	assert_non_null(ref);
	if (strcmp(out, ref) != 0)
		fail_msg("step %c %s: the encode differs from the one from the fields", op, cid);
	free(ref);
	ipam_space_free(&sp);
	free(text);
	return out;
}

/* A scripted sequence of ADD and DEL on 1, 50 and 250 owners of a dual-stack NIC (a new
 * state, the source refreshed midway with some addresses gone): after every step the state's
 * text is what it would be with no record copied as read. */
static void test_encode_sequence(void **state)
{
	static const size_t pods[] = {1, 50, 250};
	struct ipam_source full = {0}, changed = {0};
	char cid[32];

	(void)state;
	seq_source(400, 0, &full);
	seq_source(400, 7, &changed);
	for (size_t t = 0; t < sizeof(pods) / sizeof(pods[0]); t++) {
		size_t n = pods[t];
		char *text = strdup("");

		assert_non_null(text);
		text = seq_step(text, 'R', "", &full);
		for (size_t i = 1; i <= n; i++) {
			snprintf(cid, sizeof(cid), "c%zu", i);
			text = seq_step(text, 'A', cid, NULL);
		}
		for (size_t i = 1; i <= n; i += 3) {
			snprintf(cid, sizeof(cid), "c%zu", i);
			text = seq_step(text, 'D', cid, NULL);
		}
		text = seq_step(text, 'R', "", &changed);
		for (size_t i = 1; i <= (n + 2) / 3; i++) {
			snprintf(cid, sizeof(cid), "d%zu", i);
			text = seq_step(text, 'A', cid, NULL);
		}
		text = seq_step(text, 'R', "", &full);
		for (size_t i = n; i >= 1; i--) {
			snprintf(cid, sizeof(cid), "c%zu", i);
			if (i % 3 != 1)
				text = seq_step(text, 'D', cid, NULL);
		}
		free(text);
	}
	ipam_source_free(&full);
	ipam_source_free(&changed);
}

/* A dual-stack state (issue 10) in the Go layout: the IPv6 pool beside the IPv4 one under
 * AddressSpaces.local.Pools, keyed by its CIDR, "IsIPv6": true with Subnet {IP, 16-byte Mask};
 * the IPv4 pool keeps "IsIPv6": false and its records where the Go plugin (ACN ipam/pool.go
 * requestPool skips pools whose IsIPv6 differs from the request) looks for them. */
static void test_dualstack_layout(void **state)
{
	struct ipam_request req = {.container_id = "c1", .ifname = "eth0", .subnet = "",
				   .ip_address = ""};
	struct ipam_alloc al[IPAM_MAX_FAMILIES];
	struct ipam_space sp = {0}, back = {0};
	struct ipam_source src = {0};
	struct cni_error err = {0};
	const cJSON *pools, *p4, *p6, *r4, *r6;
	cJSON *root;
	char *xml, *text;
	size_t len;

	(void)state;
	xml = fixture_read("nmagent-dualstack.xml", &len);
	assert_int_equal(ipam_source_parse_nmagent(xml, len, &src, &err), 0);
	assert_int_equal(ipam_space_refresh(&sp, &src, &err), 0);
	assert_int_equal(ipam_allocate_owner(&sp, &req, al, &err), 2);
	text = ipamstate_encode(&sp, "2026-12-02T10:00:00Z");
	assert_non_null(text);
	root = cJSON_Parse(text);
	assert_non_null(root);
	pools = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(root, "IPAM"), "AddressSpaces"),
			"local"),
		"Pools");
	p4 = cJSON_GetObjectItemCaseSensitive(pools, "10.240.0.0/16");
	p6 = cJSON_GetObjectItemCaseSensitive(pools, "2001:db8:0:1::/64");
	assert_non_null(p4);
	assert_non_null(p6);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(p4, "IsIPv6")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p6, "IsIPv6")));
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(p6, "Subnet"), "IP")->valuestring, "2001:db8:0:1::");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(p6, "Subnet"), "Mask")->valuestring,
		"//////////8AAAAAAAAAAA==");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(p6, "Gateway")->valuestring,
			    "2001:db8:0:1::1");
	r4 = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(p4, "Addresses"),
					      "10.240.0.5");
	r6 = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(p6, "Addresses"),
					      "2001:db8:0:1::5");
	assert_non_null(r4);
	assert_non_null(r6);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(r4, "ID")->valuestring, "c1");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r4, "InUse")));
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(r6, "ID")->valuestring, "c1");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(r6, "Addr")->valuestring,
			    "2001:db8:0:1::5");
	/* and back: the same space */
	assert_int_equal(ipamstate_decode(text, strlen(text), "t", &back, &err), 0);
	assert_space_equal(&sp, &back);
	cJSON_Delete(root);
	free(text);
	free(xml);
	ipam_space_free(&back);
	ipam_space_free(&sp);
	ipam_source_free(&src);
}

/* RFC 3339 both ways: known epoch values (date(1) -u -d @N), offsets, fractions, leap days;
 * malformed text refused. */
static void test_rfc3339(void **state)
{
	static const struct {
		const char *text;
		long long t;
	} good[] = {
		{"1970-01-01T00:00:00Z", 0},
		{"2026-11-29T08:49:31Z", 1795942171},
		{"2000-02-29T23:59:59Z", 951868799},
		{"2000-03-01T00:00:00Z", 951868800},
		{"1900-03-01T00:00:00Z", -2203891200},
		{"1969-12-31T23:59:59Z", -1},
		{"2100-12-31T00:00:00Z", 4133894400},
	};
	static const char *const bad[] = {
		"", "2026-11-29", "2026-11-29T08:49:31", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
		"1900-02-29T00:00:00Z", "2026-11-31T00:00:00Z", "2026-11-29T24:00:00Z",
		"2026-11-29 08:49:31Z", "2026-11-29T08:49:31.Z", "2026-11-29T08:49:31+0100",
		"2026-11-29T08:49:31Zjunk", "0000-01-01T00:00:00Z", "2026-1a-29T08:49:31Z",
	};
	char buf[32];
	long long t;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(ipamstate_rfc3339_parse(good[i].text, &t), 0);
		assert_true(t == good[i].t);
		assert_int_equal(ipamstate_rfc3339_format(good[i].t, buf, sizeof(buf)), 0);
		assert_string_equal(buf, good[i].text);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = 42;
		assert_int_equal(ipamstate_rfc3339_parse(bad[i], &t), -EINVAL);
		assert_true(t == 42);
	}
	assert_int_equal(ipamstate_rfc3339_parse("2026-11-29T08:49:31.123456789Z", &t), 0);
	assert_true(t == 1795942171);
	assert_int_equal(ipamstate_rfc3339_parse("2026-11-29T09:49:31+01:00", &t), 0);
	assert_true(t == 1795942171);
	assert_int_equal(ipamstate_rfc3339_parse("2026-11-29T03:19:31-05:30", &t), 0);
	assert_true(t == 1795942171);
	assert_int_equal(ipamstate_rfc3339_format(1795942171, buf, 20), -ENOSPC);
	assert_int_equal(ipamstate_rfc3339_format(253402300800LL, buf, sizeof(buf)), -EINVAL);
}

/* LastRefresh (ours): written after TimeStamp when known, read back; absent, null, a number or
 * a bad time read as unknown (0), never an error; a Go-written file (none) stays without it. */
static void test_last_refresh(void **state)
{
	static const char *const unknown[] = {
		"{\"IPAM\":{\"LastRefresh\":\"yesterday\"}}",
		"{\"IPAM\":{\"LastRefresh\":1795942171}}",
		"{\"IPAM\":{\"LastRefresh\":null}}",
		"{\"IPAM\":{}}",
	};
	struct ipam_space sp = {0}, back = {0};
	struct cni_error err = {0};
	const char *odd = "{\"ipam\":{\"lastrefresh\":\"2026-11-29T09:49:31+01:00\"}}";
	char *t1, *t2;

	(void)state;
	sp.last_refresh = 1795942171;
	t1 = ipamstate_encode(&sp, "2026-11-29T08:49:40.5Z");
	assert_non_null(t1);
	assert_non_null(strstr(t1, "\t\t\"TimeStamp\": \"2026-11-29T08:49:40.5Z\",\n"
				   "\t\t\"LastRefresh\": \"2026-11-29T08:49:31Z\",\n"
				   "\t\t\"AddressSpaces\""));
	assert_int_equal(ipamstate_decode(t1, strlen(t1), "t1", &back, &err), 0);
	assert_true(back.last_refresh == 1795942171);
	t2 = ipamstate_encode(&back, "2026-11-29T08:49:40.5Z");
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	ipam_space_free(&back);
	/* "lastrefresh": keys match case-insensitively as everywhere in this file */
	assert_int_equal(ipamstate_decode(odd, strlen(odd), "t", &back, &err), 0);
	assert_true(back.last_refresh == 1795942171);
	ipam_space_free(&back);
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		back.last_refresh = 7;
		assert_int_equal(ipamstate_decode(unknown[i], strlen(unknown[i]), "u", &back, &err), 0);
		assert_true(back.last_refresh == 0);
		ipam_space_free(&back);
	}
	assert_false(cni_error_is_set(&err));
	assert_int_equal(decode_file("ipam-state-go.json", &sp, &err), 0);
	assert_true(sp.last_refresh == 0);
	t1 = ipamstate_encode(&sp, "2024-03-11T09:14:02Z");
	assert_null(strstr(t1, "LastRefresh"));
	free(t1);
	ipam_space_free(&sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_go),
		cmocka_unit_test(test_decode_go_odd),
		cmocka_unit_test(test_decode_view),
		cmocka_unit_test(test_decode_unhealthy_free),
		cmocka_unit_test(test_decode_duplicates_sorted),
		cmocka_unit_test(test_decode_key_runs),
		cmocka_unit_test(test_unknown_kept),
		cmocka_unit_test(test_decode_empty),
		cmocka_unit_test(test_decode_broken),
		cmocka_unit_test(test_encode_layout),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_encode_sequence),
		cmocka_unit_test(test_records_as_read),
		cmocka_unit_test(test_records_odd),
		cmocka_unit_test(test_dualstack_layout),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_last_refresh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
