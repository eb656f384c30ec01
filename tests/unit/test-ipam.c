/* SPDX-License-Identifier: MIT */
/* Unit tests of the IPAM pools: allocation by owner (idempotent, specific IP, subnet, pool
 * choice, exhaustion), release by owner (including Go-written records), GC, refresh merge,
 * the IPAM result, and case B06 (../shared/cases/bug-cases.md). */
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

#include "core/ipam.h"

/* Parse @text (XML when it starts with '<', else interfaces.json) and merge into @sp. */
static void refresh_text(struct ipam_space *sp, const char *text, size_t len)
{
	struct ipam_source src = {0};
	struct cni_error err = {0};
	int r = text[0] == '<' ? ipam_source_parse_nmagent(text, len, &src, &err)
			       : ipam_source_parse_mas(text, len, &src, &err);

	if (r != 0)
		fail_msg("source: %s", err.msg);
	assert_int_equal(ipam_space_refresh(sp, &src, &err), 0);
	ipam_source_free(&src);
}

static void refresh_file(struct ipam_space *sp, const char *file)
{
	size_t len;
	char *text = fixture_read(file, &len);

	refresh_text(sp, text, len);
	free(text);
}

/* Allocate for (cid, ifname) with optional subnet / ip; returns 0 and the address text in @out,
 * or the negative errno with @err filled. */
static int alloc(struct ipam_space *sp, const char *cid, const char *ifname, const char *subnet,
		 const char *ip, char out[IPNET_ADDR_STRLEN], struct cni_error *err)
{
	struct ipam_request req = {.container_id = cid, .ifname = ifname,
				   .subnet = subnet ? subnet : "", .ip_address = ip ? ip : ""};
	size_t p = 999, a = 999;
	int r;

	memset(err, 0, sizeof(*err));
	r = ipam_allocate(sp, &req, &p, &a, err);
	if (r == 0) {
		assert_true(p < sp->n_pools);
		assert_true(a < sp->pools[p].n_addrs);
		assert_true(sp->pools[p].addrs[a].in_use);
		assert_string_equal(sp->pools[p].addrs[a].id, cid);
		ipnet_addr_format(&sp->pools[p].addrs[a].addr, out, IPNET_ADDR_STRLEN);
	} else {
		assert_int_equal(p, 999);
		assert_int_equal(a, 999);
		assert_true(err->code != 0);
	}
	return r;
}

static const char *must_alloc(struct ipam_space *sp, const char *cid, const char *ifname,
			      char out[IPNET_ADDR_STRLEN])
{
	struct cni_error err;

	if (alloc(sp, cid, ifname, NULL, NULL, out, &err) != 0)
		fail_msg("allocate %s/%s: %s", cid, ifname, err.msg);
	return out;
}

static struct ipam_addr *find_rec(struct ipam_space *sp, const char *addr)
{
	for (size_t i = 0; i < sp->n_pools; i++) {
		struct ipam_addr *rec = fixture_pool_addr(&sp->pools[i], addr);

		if (rec)
			return rec;
	}
	return NULL;
}

static void test_idempotent(void **state)
{
	struct ipam_space sp = {0};
	char a[IPNET_ADDR_STRLEN];

	(void)state;
	refresh_file(&sp, "single-nic-30.xml");
	assert_int_equal(sp.n_pools, 1);
	assert_string_equal(sp.id, "local");
	assert_string_equal(sp.pools[0].id, "10.240.0.0/16");
	assert_string_equal(sp.pools[0].ifname, "000D3A6E1825");
	assert_int_equal(sp.pools[0].priority, 0);
	assert_int_equal(sp.pools[0].n_addrs, 30);
	assert_int_equal(ipam_free_count(&sp), 30);

	assert_string_equal(must_alloc(&sp, "c1", "eth0", a), "10.240.0.5");
	assert_string_equal(must_alloc(&sp, "c1", "eth0", a), "10.240.0.5");
	assert_string_equal(must_alloc(&sp, "c2", "eth0", a), "10.240.0.6");
	assert_string_equal(must_alloc(&sp, "c1", "eth1", a), "10.240.0.7");
	assert_string_equal(must_alloc(&sp, "c1", "eth0", a), "10.240.0.5");
	assert_int_equal(sp.pools[0].refcount, 3);
	assert_int_equal(ipam_free_count(&sp), 27);
	ipam_space_free(&sp);
	ipam_space_free(&sp);
}

struct req_case {
	const char *cid;
	const char *subnet;
	const char *ip;
	int ret;
	int code;
	const char *want;        /* address, or a substring of the message */
};

static void test_requests(void **state)
{
	static const struct req_case cases[] = {
		{"c3", NULL, "10.240.0.20", 0, 0, "10.240.0.20"},
		{"c3", NULL, "10.240.0.20", 0, 0, "10.240.0.20"},          /* again: same owner */
		{"c4", NULL, "10.240.0.20", -EBUSY, CNI_CODE_ADDRESS_IN_USE, "already in use by c3"},
		{"c4", NULL, "10.240.0.4", -ENOENT, CNI_CODE_INVALID_CONFIG, "10.240.0.4"},   /* primary */
		{"c4", NULL, "10.240.0.200", -ENOENT, CNI_CODE_INVALID_CONFIG, "not a free address"},
		{"c4", NULL, "10.99.0.1", -ENOENT, CNI_CODE_INVALID_CONFIG, "10.99.0.1"},
		{"c4", NULL, "10.240.0.x", -EINVAL, CNI_CODE_INVALID_CONFIG, "not an IP address"},
		{"c4", "10.240.0.0/16", NULL, 0, 0, "10.240.0.5"},
		{"c5", "10.240.77.1/16", NULL, 0, 0, "10.240.0.6"},        /* same network, other text */
		{"c6", "10.9.0.0/16", NULL, -ENOENT, CNI_CODE_INVALID_CONFIG, "10.9.0.0/16"},
		{"c6", "10.240.0.0/16", "10.240.0.21", 0, 0, "10.240.0.21"},
		{"c7", "10.9.0.0/16", "10.240.0.22", -ENOENT, CNI_CODE_INVALID_CONFIG, "not an address pool"},
		{"", NULL, NULL, -EINVAL, CNI_CODE_INVALID_CONFIG, "container ID"},
	};
	struct ipam_space sp = {0};

	(void)state;
	refresh_file(&sp, "single-nic-30.xml");
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct req_case *tc = &cases[c];
		struct cni_error err;
		char a[IPNET_ADDR_STRLEN];
		int r = alloc(&sp, tc->cid, "eth0", tc->subnet, tc->ip, a, &err);

		if (r != tc->ret)
			fail_msg("case %zu: ret %d want %d (%s)", c, r, tc->ret, err.msg);
		if (r == 0) {
			assert_string_equal(a, tc->want);
			continue;
		}
		assert_int_equal(err.code, tc->code);
		if (!strstr(err.msg, tc->want))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", c, err.msg, tc->want);
	}
	ipam_space_free(&sp);
}

/* single-nic-30: exactly 30 addresses, the 31st request fails; a release frees exactly one. */
static void test_exhaustion(void **state)
{
	struct ipam_space sp = {0};
	struct cni_error err;
	char a[IPNET_ADDR_STRLEN], cid[32];

	(void)state;
	refresh_file(&sp, "single-nic-30.xml");
	for (int i = 0; i < 30; i++) {
		snprintf(cid, sizeof(cid), "c%02d", i);
		must_alloc(&sp, cid, "eth0", a);
	}
	assert_string_equal(a, "10.240.0.34");
	assert_int_equal(ipam_free_count(&sp), 0);
	assert_int_equal(alloc(&sp, "c30", "eth0", NULL, NULL, a, &err), -ENOSPC);
	assert_int_equal(err.code, CNI_CODE_NO_ADDRESS);
	assert_string_equal(err.msg, "no available addresses in pool 10.240.0.0/16");
	assert_int_equal(alloc(&sp, "c30", "eth0", "10.240.0.0/16", NULL, a, &err), -ENOSPC);
	assert_int_equal(ipam_release(&sp, "c17", "eth0", NULL), 1);
	assert_string_equal(must_alloc(&sp, "c30", "eth0", a), "10.240.0.22");
	assert_int_equal(alloc(&sp, "c31", "eth0", NULL, NULL, a, &err), -ENOSPC);
	/* no IPv6 pool at all */
	{
		struct ipam_request req = {.container_id = "c6", .ifname = "eth0", .subnet = "",
					   .ip_address = "", .ipv6 = true};
		size_t p, ad;

		memset(&err, 0, sizeof(err));
		assert_int_equal(ipam_allocate(&sp, &req, &p, &ad, &err), -ENOSPC);
		assert_int_equal(err.code, CNI_CODE_NO_ADDRESS);
		assert_non_null(strstr(err.msg, "IPv6"));
	}
	ipam_space_free(&sp);

	refresh_file(&sp, "no-secondaries.xml");
	assert_int_equal(sp.n_pools, 1);
	assert_int_equal(sp.pools[0].n_addrs, 0);
	assert_int_equal(alloc(&sp, "c1", "eth0", NULL, NULL, a, &err), -ENOSPC);
	assert_string_equal(err.msg, "no available addresses in pool 10.240.0.0/16");
	/* A pool with no records has no address array: the lookups of a refresh (its primary)
	 * and of a requested address must not search it (found by fuzz-nmagent under UBSan:
	 * bsearch with a NULL base). */
	assert_true(alloc(&sp, "c1", "eth0", NULL, "10.240.0.9", a, &err) < 0);
	refresh_file(&sp, "no-secondaries.xml");
	assert_int_equal(sp.pools[0].n_addrs, 0);
	ipam_space_free(&sp);
}

/* max-pods-250: 250 distinct addresses, none the primary, the 251st fails. */
static void test_max_pods_250(void **state)
{
	struct ipam_space sp = {0};
	struct ipnet_addr seen[250];
	struct cni_error err;
	char a[IPNET_ADDR_STRLEN], cid[32];

	(void)state;
	refresh_file(&sp, "max-pods-250.xml");
	assert_int_equal(ipam_free_count(&sp), 250);
	for (int i = 0; i < 250; i++) {
		snprintf(cid, sizeof(cid), "pod-%03d", i);
		must_alloc(&sp, cid, "eth0", a);
		assert_int_equal(ipnet_addr_parse(a, &seen[i]), 0);
		assert_false(ipnet_addr_equal(&seen[i], &sp.pools[0].primary));
		for (int j = 0; j < i; j++)
			assert_false(ipnet_addr_equal(&seen[i], &seen[j]));
	}
	assert_int_equal(alloc(&sp, "pod-250", "eth0", NULL, NULL, a, &err), -ENOSPC);
	assert_int_equal(ipam_free_count(&sp), 0);
	ipam_space_free(&sp);
}

/* Two NICs: the secondary NIC's pool (priority 1) is used first, then the primary's. */
static void test_two_nics(void **state)
{
	static const char *const want[] = {"10.1.8.10", "10.1.9.11", "10.1.10.12", "10.1.0.5", "10.1.0.6"};
	struct ipam_space sp = {0};
	struct cni_error err;
	char a[IPNET_ADDR_STRLEN], cid[8];

	(void)state;
	refresh_file(&sp, "two-nics.xml");
	assert_int_equal(sp.n_pools, 2);
	for (size_t i = 0; i < sp.n_pools; i++) {
		if (strcmp(sp.pools[i].id, "10.1.8.0/22") == 0) {
			assert_int_equal(sp.pools[i].priority, 1);
			assert_string_equal(sp.pools[i].ifname, "000D3A2B3C02");
		} else {
			assert_string_equal(sp.pools[i].id, "10.1.0.0/24");
			assert_int_equal(sp.pools[i].priority, 0);
		}
	}
	for (size_t i = 0; i < 5; i++) {
		snprintf(cid, sizeof(cid), "c%zu", i);
		assert_string_equal(must_alloc(&sp, cid, "eth0", a), want[i]);
	}
	assert_int_equal(alloc(&sp, "c5", "eth0", NULL, NULL, a, &err), -ENOSPC);
	ipam_space_free(&sp);
}

/* The caller may name the host interface of a MAC: it becomes the pool's IfName. */
static void test_source_ifname(void **state)
{
	struct ipam_space sp = {0};
	struct ipam_source src = {0};
	struct cni_error err = {0};
	size_t len;
	char *text = fixture_read("single-nic-30.xml", &len);

	(void)state;
	assert_int_equal(ipam_source_parse_nmagent(text, len, &src, &err), 0);
	snprintf(src.ifaces[0].ifname, sizeof(src.ifaces[0].ifname), "eth0");
	assert_int_equal(ipam_space_refresh(&sp, &src, &err), 0);
	assert_string_equal(sp.pools[0].ifname, "eth0");
	/* a later refresh whose lookup found nothing keeps the known name */
	src.ifaces[0].ifname[0] = '\0';
	assert_int_equal(ipam_space_refresh(&sp, &src, &err), 0);
	assert_string_equal(sp.pools[0].ifname, "eth0");
	ipam_source_free(&src);
	ipam_space_free(&sp);
	free(text);
}

static void test_release(void **state)
{
	struct ipam_space sp = {0};
	struct ipam_addr *go;
	struct ipnet_addr x;
	char a[IPNET_ADDR_STRLEN];

	(void)state;
	refresh_file(&sp, "single-nic-30.xml");
	must_alloc(&sp, "c1", "eth0", a);       /* .5 */
	must_alloc(&sp, "c1", "eth1", a);       /* .6 */
	must_alloc(&sp, "c2", "eth0", a);       /* .7 */
	/* a record as the Go plugin writes it: ID only, no IfName */
	go = find_rec(&sp, "10.240.0.30");
	assert_non_null(go);
	if (!go)
		return; /* not reached; tells the compiler so */
	snprintf(go->id, sizeof(go->id), "gocontainer");
	go->in_use = true;

	assert_int_equal(ipam_release(&sp, "c1", "eth0", NULL), 1);
	assert_false(find_rec(&sp, "10.240.0.5")->in_use);
	assert_string_equal(find_rec(&sp, "10.240.0.5")->id, "");
	assert_true(find_rec(&sp, "10.240.0.6")->in_use);
	assert_int_equal(ipam_release(&sp, "c1", "eth0", NULL), 0);   /* again: nothing, no error */
	assert_int_equal(ipam_release(&sp, "nobody", "eth0", NULL), 0);
	assert_int_equal(ipam_release(&sp, "", "eth0", NULL), 0);
	/* only the named address, and only if the owner holds it */
	assert_int_equal(ipnet_addr_parse("10.240.0.7", &x), 0);
	assert_int_equal(ipam_release(&sp, "c1", "eth1", &x), 0);
	assert_true(find_rec(&sp, "10.240.0.7")->in_use);
	assert_int_equal(ipam_release(&sp, "c2", "eth0", &x), 1);
	/* the Go-written record matches any ifname of its container */
	assert_int_equal(ipam_release(&sp, "gocontainer", "eth0", NULL), 1);
	assert_false(find_rec(&sp, "10.240.0.30")->in_use);
	/* a repeated ADD of a Go-written owner gets its address back and records the ifname */
	go->in_use = true;
	snprintf(go->id, sizeof(go->id), "gocontainer");
	assert_string_equal(must_alloc(&sp, "gocontainer", "eth0", a), "10.240.0.30");
	assert_string_equal(find_rec(&sp, "10.240.0.30")->ifname, "eth0");
	assert_int_equal(sp.pools[0].refcount, 2);
	ipam_space_free(&sp);
}

static void test_gc(void **state)
{
	static const struct ipam_attachment valid[] = {
		{"c1", "eth0"}, {"c3", "eth0"}, {"gone", "eth0"},
	};
	struct ipam_space sp = {0};
	char a[IPNET_ADDR_STRLEN];

	(void)state;
	refresh_file(&sp, "single-nic-30.xml");
	must_alloc(&sp, "c1", "eth0", a);  /* .5 kept */
	must_alloc(&sp, "c1", "eth1", a);  /* .6 released: ifname not valid */
	must_alloc(&sp, "c2", "eth0", a);  /* .7 released */
	must_alloc(&sp, "c3", "eth0", a);  /* .8 kept */
	assert_int_equal(ipam_gc(&sp, valid, 3, NULL, NULL), 2);
	assert_true(find_rec(&sp, "10.240.0.5")->in_use);
	assert_false(find_rec(&sp, "10.240.0.6")->in_use);
	assert_false(find_rec(&sp, "10.240.0.7")->in_use);
	assert_true(find_rec(&sp, "10.240.0.8")->in_use);
	assert_int_equal(ipam_free_count(&sp), 28);
	assert_int_equal(ipam_gc(&sp, valid, 3, NULL, NULL), 0);
	assert_int_equal(ipam_gc(&sp, NULL, 0, NULL, NULL), 2);
	assert_int_equal(ipam_free_count(&sp), 30);
	assert_int_equal(sp.pools[0].refcount, 0);
	ipam_space_free(&sp);
}

static const char REFRESH_1[] =
	"<Interfaces><Interface MacAddress=\"000D3A6E1825\" IsPrimary=\"true\">"
	"<IPSubnet Prefix=\"10.240.0.0/16\">"
	"<IPAddress Address=\"10.240.0.4\" IsPrimary=\"true\"/>"
	"<IPAddress Address=\"10.240.0.5\"/><IPAddress Address=\"10.240.0.6\"/>"
	"<IPAddress Address=\"10.240.0.7\"/><IPAddress Address=\"10.240.0.8\"/>"
	"</IPSubnet></Interface></Interfaces>";
/* .5 (in use) and .7 (free) vanish, .99 appears, .6 (in use) becomes the primary,
 * and a second NIC brings a new pool. */
static const char REFRESH_2[] =
	"<Interfaces><Interface MacAddress=\"000D3A6E1825\" IsPrimary=\"true\">"
	"<IPSubnet Prefix=\"10.240.0.0/16\">"
	"<IPAddress Address=\"10.240.0.6\" IsPrimary=\"true\"/>"
	"<IPAddress Address=\"10.240.0.8\"/><IPAddress Address=\"10.240.0.99\"/>"
	"</IPSubnet></Interface>"
	"<Interface MacAddress=\"000D3A6E1826\" IsPrimary=\"false\"><IPSubnet Prefix=\"10.241.0.0/24\">"
	"<IPAddress Address=\"10.241.0.4\" IsPrimary=\"true\"/><IPAddress Address=\"10.241.0.5\"/>"
	"</IPSubnet></Interface></Interfaces>";
/* The first subnet is gone entirely. */
static const char REFRESH_3[] =
	"<Interfaces><Interface MacAddress=\"000D3A6E1826\" IsPrimary=\"false\"><IPSubnet Prefix=\"10.241.0.0/24\">"
	"<IPAddress Address=\"10.241.0.4\" IsPrimary=\"true\"/><IPAddress Address=\"10.241.0.5\"/>"
	"</IPSubnet></Interface></Interfaces>";

static void test_refresh_merge(void **state)
{
	struct ipam_space sp = {0};
	struct cni_error err;
	char a[IPNET_ADDR_STRLEN];

	(void)state;
	refresh_text(&sp, REFRESH_1, sizeof(REFRESH_1) - 1);
	must_alloc(&sp, "c1", "eth0", a);   /* .5 */
	must_alloc(&sp, "c2", "eth0", a);   /* .6 */
	refresh_text(&sp, REFRESH_1, sizeof(REFRESH_1) - 1);   /* no change */
	assert_int_equal(sp.pools[0].n_addrs, 4);
	assert_true(find_rec(&sp, "10.240.0.5")->in_use);
	assert_false(find_rec(&sp, "10.240.0.5")->unhealthy);

	refresh_text(&sp, REFRESH_2, sizeof(REFRESH_2) - 1);
	assert_int_equal(sp.n_pools, 2);
	assert_true(find_rec(&sp, "10.240.0.5")->in_use);
	assert_true(find_rec(&sp, "10.240.0.5")->unhealthy);
	assert_string_equal(find_rec(&sp, "10.240.0.5")->id, "c1");
	assert_true(find_rec(&sp, "10.240.0.6")->in_use);
	assert_true(find_rec(&sp, "10.240.0.6")->unhealthy);  /* now the host's primary */
	assert_null(find_rec(&sp, "10.240.0.7"));
	assert_false(find_rec(&sp, "10.240.0.99")->in_use);
	assert_false(find_rec(&sp, "10.240.0.8")->unhealthy);
	/* an existing owner still gets its (unhealthy) address back: never changes owner */
	assert_string_equal(must_alloc(&sp, "c1", "eth0", a), "10.240.0.5");
	/* new owners: the new NIC's pool first (priority 1), then the lowest healthy free */
	assert_string_equal(must_alloc(&sp, "c3", "eth0", a), "10.241.0.5");
	assert_string_equal(must_alloc(&sp, "c4", "eth0", a), "10.240.0.8");
	assert_string_equal(must_alloc(&sp, "c5", "eth0", a), "10.240.0.99");
	assert_int_equal(alloc(&sp, "c6", "eth0", NULL, NULL, a, &err), -ENOSPC);
	/* releasing an unhealthy address drops it */
	assert_int_equal(ipam_release(&sp, "c1", "eth0", NULL), 1);
	assert_null(find_rec(&sp, "10.240.0.5"));
	assert_int_equal(ipam_release(&sp, "c2", "eth0", NULL), 1);
	assert_null(find_rec(&sp, "10.240.0.6"));
	assert_int_equal(ipam_free_count(&sp), 0);

	/* the pool vanishes: its free addresses go, in-use ones stay until released */
	refresh_text(&sp, REFRESH_3, sizeof(REFRESH_3) - 1);
	assert_int_equal(sp.n_pools, 2);
	assert_true(find_rec(&sp, "10.240.0.8")->unhealthy);
	assert_true(find_rec(&sp, "10.240.0.99")->unhealthy);
	assert_int_equal(ipam_release(&sp, "c4", "eth0", NULL), 1);
	assert_int_equal(ipam_release(&sp, "c5", "eth0", NULL), 1);
	refresh_text(&sp, REFRESH_3, sizeof(REFRESH_3) - 1);
	assert_int_equal(sp.n_pools, 1);
	assert_string_equal(sp.pools[0].id, "10.241.0.0/24");
	assert_true(find_rec(&sp, "10.241.0.5")->in_use);
	ipam_space_free(&sp);
}

/* A source listing addresses out of order and some twice (and a secondary that is also the
 * primary) gives a sorted pool with each address once; a second refresh adding new addresses
 * keeps the owners and the order. */
static void test_refresh_unsorted_duplicates(void **state)
{
	static const char one[] =
		"<Interfaces><Interface MacAddress=\"000D3A6E182F\" IsPrimary=\"true\">"
		"<IPSubnet Prefix=\"10.240.0.0/16\">"
		"<IPAddress Address=\"10.240.0.10\"/><IPAddress Address=\"10.240.0.4\" IsPrimary=\"true\"/>"
		"<IPAddress Address=\"10.240.1.2\"/><IPAddress Address=\"10.240.0.9\"/>"
		"<IPAddress Address=\"10.240.0.10\"/><IPAddress Address=\"10.240.0.4\"/>"
		"<IPAddress Address=\"10.240.0.9\"/></IPSubnet></Interface></Interfaces>";
	static const char two[] =
		"<Interfaces><Interface MacAddress=\"000D3A6E182F\" IsPrimary=\"true\">"
		"<IPSubnet Prefix=\"10.240.0.0/16\">"
		"<IPAddress Address=\"10.240.0.4\" IsPrimary=\"true\"/><IPAddress Address=\"10.240.0.8\"/>"
		"<IPAddress Address=\"10.240.0.10\"/><IPAddress Address=\"10.240.1.2\"/>"
		"<IPAddress Address=\"10.240.0.8\"/><IPAddress Address=\"10.240.0.9\"/>"
		"<IPAddress Address=\"10.240.0.11\"/></IPSubnet></Interface></Interfaces>";
	static const char *const after_one[] = {"10.240.0.9", "10.240.0.10", "10.240.1.2"};
	static const char *const after_two[] = {"10.240.0.8", "10.240.0.9", "10.240.0.10",
						"10.240.0.11", "10.240.1.2"};
	struct ipam_space sp = {0};
	char a[IPNET_ADDR_STRLEN];

	(void)state;
	refresh_text(&sp, one, sizeof(one) - 1);
	assert_int_equal(sp.n_pools, 1);
	assert_int_equal(sp.pools[0].n_addrs, 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(ipnet_addr_format(&sp.pools[0].addrs[i].addr, a, sizeof(a)),
				    after_one[i]);
	assert_string_equal(must_alloc(&sp, "c1", "eth0", a), "10.240.0.9");
	refresh_text(&sp, two, sizeof(two) - 1);
	assert_int_equal(sp.pools[0].n_addrs, 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(ipnet_addr_format(&sp.pools[0].addrs[i].addr, a, sizeof(a)),
				    after_two[i]);
	assert_string_equal(find_rec(&sp, "10.240.0.9")->id, "c1");
	assert_true(find_rec(&sp, "10.240.0.9")->in_use);
	assert_false(find_rec(&sp, "10.240.0.8")->in_use);
	assert_string_equal(find_rec(&sp, "10.240.0.8")->id, "");
	assert_string_equal(must_alloc(&sp, "c2", "eth0", a), "10.240.0.8");
	ipam_space_free(&sp);
}

/* A source of @n addresses of 10.240.0.0/16 from 10.240.0.5 on (every @skip-th left out, 0:
 * none), listed in order, or in a scrambled order when @scramble, as interfaces.json. */
static char *order_source(size_t n, size_t skip, bool scramble, size_t *ret_len)
{
	size_t cap = 256 + n * 48, len = 0;
	char *json = malloc(cap);

	assert_non_null(json);
	len += (size_t)snprintf(json, cap, "{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\","
				"\"IPSubnets\":[{\"Prefix\":\"10.240.0.0/16\",\"IPAddresses\":["
				"{\"Address\":\"10.240.0.4\",\"IsPrimary\":true}");
	for (size_t k = 0; k < n; k++) {
		size_t i = scramble ? (k * 37) % n : k; /* 37 is prime to the n used */

		if (!skip || i % skip != 1)
			len += (size_t)snprintf(json + len, cap - len, ",{\"Address\":\"10.240.%zu.%zu\"}",
						(i + 5) / 256, (i + 5) % 256);
	}
	len += (size_t)snprintf(json + len, cap - len, "]}]}]}");
	assert_true(len < cap);
	*ret_len = len;
	return json;
}

/* A refresh from a source listed in order (found by a walk along the pool) leaves the pool a
 * refresh from the same addresses in another order (a binary search each) leaves: the same
 * records, owners and flags, with addresses gone (in use and free) and new ones. */
static void test_refresh_order(void **state)
{
	struct ipam_space sp[2];
	char a[IPNET_ADDR_STRLEN], *text;
	size_t len;

	(void)state;
	memset(sp, 0, sizeof(sp));
	for (int s = 0; s < 2; s++) {
		text = order_source(300, 0, s == 1, &len);
		refresh_text(&sp[s], text, len);
		free(text);
		for (int c = 0; c < 40; c++) {
			char cid[16];

			snprintf(cid, sizeof(cid), "c%d", c);
			must_alloc(&sp[s], cid, "eth0", a);
		}
		text = order_source(320, 7, s == 1, &len);
		refresh_text(&sp[s], text, len);
		free(text);
	}
	assert_int_equal(sp[0].n_pools, 1);
	assert_int_equal(sp[1].n_pools, 1);
	assert_int_equal(sp[0].pools[0].n_addrs, sp[1].pools[0].n_addrs);
	assert_int_equal(sp[0].pools[0].n_addrs, 280); /* 300, less 37 gone while free, 17 new */
	for (size_t i = 0; i < sp[0].pools[0].n_addrs; i++) {
		const struct ipam_addr *x = &sp[0].pools[0].addrs[i], *y = &sp[1].pools[0].addrs[i];

		assert_true(ipnet_addr_equal(&x->addr, &y->addr));
		assert_string_equal(x->id, y->id);
		assert_int_equal(x->in_use, y->in_use);
		assert_int_equal(x->unhealthy, y->unhealthy);
	}
	assert_int_equal(sp[0].pools[0].refcount, 40);
	assert_non_null(find_rec(&sp[0], "10.240.0.6")); /* gone while in use: kept, unhealthy */
	assert_true(find_rec(&sp[0], "10.240.0.6")->unhealthy);
	assert_null(find_rec(&sp[0], "10.240.0.55")); /* gone while free */
	assert_non_null(find_rec(&sp[0], "10.240.1.68")); /* new */
	ipam_space_free(&sp[0]);
	ipam_space_free(&sp[1]);
}

/* An unhealthy in-use address that comes back in the source is healthy again; a former
 * primary that becomes a secondary again is free again. */
static void test_refresh_back(void **state)
{
	struct ipam_space sp = {0};
	char a[IPNET_ADDR_STRLEN];

	(void)state;
	refresh_text(&sp, REFRESH_1, sizeof(REFRESH_1) - 1);
	must_alloc(&sp, "c1", "eth0", a);   /* .5 */
	refresh_text(&sp, REFRESH_2, sizeof(REFRESH_2) - 1);
	assert_true(find_rec(&sp, "10.240.0.5")->unhealthy);
	assert_null(find_rec(&sp, "10.240.0.6"));
	assert_int_equal(ipam_free_count(&sp), 3);   /* .8, .99, 10.241.0.5 */
	refresh_text(&sp, REFRESH_1, sizeof(REFRESH_1) - 1);
	assert_int_equal(sp.n_pools, 1);               /* the second NIC's empty pool is gone */
	assert_false(find_rec(&sp, "10.240.0.5")->unhealthy);
	assert_true(find_rec(&sp, "10.240.0.5")->in_use);
	assert_string_equal(find_rec(&sp, "10.240.0.5")->id, "c1");
	assert_false(find_rec(&sp, "10.240.0.6")->in_use);
	assert_null(find_rec(&sp, "10.240.0.99"));
	assert_int_equal(ipam_free_count(&sp), 3);   /* .6 .7 .8 */
	assert_string_equal(must_alloc(&sp, "c2", "eth0", a), "10.240.0.6");
	ipam_space_free(&sp);
}

static void test_ipv6_pool(void **state)
{
	static const char doc[] =
		"<Interfaces><Interface MacAddress=\"000D3A6E1825\" IsPrimary=\"true\">"
		"<IPSubnet Prefix=\"10.240.0.0/16\"><IPAddress Address=\"10.240.0.5\"/></IPSubnet>"
		"<IPSubnet Prefix=\"fd00:1::/64\"><IPAddress Address=\"fd00:1::4\" IsPrimary=\"true\"/>"
		"<IPAddress Address=\"fd00:1::9\"/><IPAddress Address=\"fd00:1::5\"/></IPSubnet>"
		"</Interface></Interfaces>";
	struct ipam_request req = {.container_id = "c1", .ifname = "eth0", .subnet = "",
				   .ip_address = "", .ipv6 = true};
	struct ipam_space sp = {0};
	struct cni_result res;
	struct cni_error err = {0};
	char buf[IPNET_PREFIX_STRLEN];
	size_t p, a;

	(void)state;
	refresh_text(&sp, doc, sizeof(doc) - 1);
	assert_int_equal(ipam_allocate(&sp, &req, &p, &a, &err), 0);
	assert_true(sp.pools[p].is_ipv6);
	ipam_result_fill(&sp, p, a, &res);
	assert_string_equal(ipnet_prefix_format(&res.ips[0].address, buf, sizeof(buf)), "fd00:1::5/64");
	assert_string_equal(ipnet_addr_format(&res.ips[0].gateway, buf, sizeof(buf)), "fd00:1::1");
	assert_string_equal(ipnet_prefix_format(&res.routes[0].dst, buf, sizeof(buf)), "::/0");
	/* the same owner asking for IPv4 gets a separate IPv4 address */
	req.ipv6 = false;
	assert_int_equal(ipam_allocate(&sp, &req, &p, &a, &err), 0);
	assert_false(sp.pools[p].is_ipv6);
	ipam_space_free(&sp);
}

/* A source listing the subnet's network and broadcast addresses (issue 9): they are never
 * handed out, requested or not, nor counted free; a record of one the Go plugin handed out is
 * still its owner's and releasable. /31 has neither (RFC 3021): both its addresses are used. */
static void test_network_broadcast(void **state)
{
	static const char doc[] =
		"{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IsPrimary\":true,\"IPSubnets\":["
		"{\"Prefix\":\"10.240.0.0/16\",\"IPAddresses\":[{\"Address\":\"10.240.0.4\",\"IsPrimary\":true},"
		"{\"Address\":\"10.240.0.0\"},{\"Address\":\"10.240.255.255\"},{\"Address\":\"10.240.0.5\"}]},"
		"{\"Prefix\":\"fd00:1::/64\",\"IPAddresses\":[{\"Address\":\"fd00:1::\"},"
		"{\"Address\":\"fd00:1::9\"}]}]},"
		"{\"MacAddress\":\"000D3A6E1826\",\"IsPrimary\":false,\"IPSubnets\":["
		"{\"Prefix\":\"10.9.0.0/31\",\"IPAddresses\":[{\"Address\":\"10.9.0.0\"},"
		"{\"Address\":\"10.9.0.1\"}]}]}]}";
	struct ipam_request v6 = {.container_id = "v6", .ifname = "eth0", .subnet = "",
				  .ip_address = "", .ipv6 = true};
	struct ipam_space sp = {0};
	struct cni_error err;
	struct ipam_addr *rec;
	char a[IPNET_ADDR_STRLEN];
	size_t p, ad;

	(void)state;
	refresh_text(&sp, doc, sizeof(doc) - 1);
	assert_non_null(find_rec(&sp, "10.240.0.0"));      /* kept as records, never handed out */
	assert_int_equal(ipam_free_count(&sp), 1 + 1 + 2); /* .5, fd00:1::9, the /31's two */
	assert_int_equal(alloc(&sp, "n1", "eth0", "10.240.0.0/16", NULL, a, &err), 0);
	assert_string_equal(a, "10.240.0.5");
	assert_int_equal(alloc(&sp, "n2", "eth0", "10.240.0.0/16", NULL, a, &err), -ENOSPC);
	assert_int_equal(err.code, CNI_CODE_NO_ADDRESS);
	assert_int_equal(alloc(&sp, "n3", "eth0", NULL, "10.240.0.0", a, &err), -EINVAL);
	assert_int_equal(err.code, CNI_CODE_INVALID_CONFIG);
	assert_non_null(strstr(err.msg, "10.240.0.0"));
	assert_int_equal(alloc(&sp, "n3", "eth0", NULL, "10.240.255.255", a, &err), -EINVAL);
	assert_int_equal(err.code, CNI_CODE_INVALID_CONFIG);
	memset(&err, 0, sizeof(err));
	assert_int_equal(ipam_allocate(&sp, &v6, &p, &ad, &err), 0);
	assert_string_equal(ipnet_addr_format(&sp.pools[p].addrs[ad].addr, a, sizeof(a)), "fd00:1::9");
	/* RFC 3021: a /31's two addresses are both hosts */
	assert_int_equal(alloc(&sp, "t1", "eth0", "10.9.0.0/31", NULL, a, &err), 0);
	assert_string_equal(a, "10.9.0.0");
	assert_int_equal(alloc(&sp, "t2", "eth0", "10.9.0.0/31", NULL, a, &err), 0);
	assert_string_equal(a, "10.9.0.1");
	/* the network address as the Go plugin may have handed it out (no IfName) */
	rec = find_rec(&sp, "10.240.0.0");
	assert_non_null(rec);
	if (!rec)
		return; /* not reached; tells the compiler so */
	snprintf(rec->id, sizeof(rec->id), "go1");
	rec->in_use = true;
	assert_int_equal(alloc(&sp, "go1", "eth0", NULL, NULL, a, &err), 0);
	assert_string_equal(a, "10.240.0.0");                /* its owner's repeated ADD */
	assert_int_equal(ipam_release(&sp, "go1", "eth0", NULL), 1);
	assert_false(find_rec(&sp, "10.240.0.0")->in_use);
	assert_int_equal(alloc(&sp, "n4", "eth0", "10.240.0.0/16", NULL, a, &err), -ENOSPC);
	ipam_space_free(&sp);
}

/* Allocate the owner's addresses (ipam_allocate_owner) with @families, subnet and ip (NULL =
 * none); the addresses' text into @out (", "-separated, IPv4 first). Returns the count or the
 * negative errno with @err filled. */
static int alloc_owner(struct ipam_space *sp, const char *cid, unsigned families,
		       const char *subnet, const char *ip, char *out, size_t size,
		       struct cni_error *err)
{
	struct ipam_request req = {.container_id = cid, .ifname = "eth0",
				   .subnet = subnet ? subnet : "", .ip_address = ip ? ip : "",
				   .families = families};
	struct ipam_alloc al[IPAM_MAX_FAMILIES];
	char a[IPNET_ADDR_STRLEN];
	int n;

	memset(err, 0, sizeof(*err));
	out[0] = '\0';
	n = ipam_allocate_owner(sp, &req, al, err);
	if (n < 0) {
		assert_true(err->code != 0);
		return n;
	}
	assert_true(n >= 1 && n <= IPAM_MAX_FAMILIES);
	for (int i = 0; i < n; i++) {
		const struct ipam_addr *rec = &sp->pools[al[i].pool].addrs[al[i].addr];

		assert_true(rec->in_use);
		assert_string_equal(rec->id, cid);
		ipnet_addr_format(&rec->addr, a, sizeof(a));
		snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? ", " : "", a);
	}
	return n;
}

/* Number of in-use records in @sp. */
static size_t in_use(const struct ipam_space *sp)
{
	size_t n = 0;

	for (size_t i = 0; i < sp->n_pools; i++)
		for (size_t k = 0; k < sp->pools[i].n_addrs; k++)
			n += sp->pools[i].addrs[k].in_use;
	return n;
}

/* Dual-stack NMAgent document (issue 10): one address per family per owner, IPv4 first;
 * never the primaries nor the IPv6 subnet-router anycast (the network address) even though
 * the source lists it; idempotent per owner; IPv4 only when the caller asks so; the result
 * carries both with a default route per family. */
static void test_dualstack(void **state)
{
	struct ipam_request req = {.container_id = "c1", .ifname = "eth0", .subnet = "",
				   .ip_address = ""};
	struct ipam_alloc al[IPAM_MAX_FAMILIES];
	struct ipam_space sp = {0};
	struct cni_error err;
	struct cni_result res;
	char out[128], buf[IPNET_PREFIX_STRLEN];

	(void)state;
	refresh_file(&sp, "nmagent-dualstack.xml");
	assert_int_equal(sp.n_pools, 2);
	assert_true(ipam_has_family(&sp, IPNET_AF_INET) && ipam_has_family(&sp, IPNET_AF_INET6));
	assert_int_equal(ipam_free_count_family(&sp, IPNET_AF_INET), 2);
	assert_int_equal(ipam_free_count_family(&sp, IPNET_AF_INET6), 2);  /* ::5 ::6, not :: */
	assert_int_equal(alloc_owner(&sp, "c1", 0, NULL, NULL, out, sizeof(out), &err), 2);
	assert_string_equal(out, "10.240.0.5, 2001:db8:0:1::5");
	/* again: the same two, held */
	memset(&err, 0, sizeof(err));
	assert_int_equal(ipam_allocate_owner(&sp, &req, al, &err), 2);
	assert_true(al[0].held && al[1].held);
	ipam_result_fill_allocs(&sp, al, 2, &res);
	assert_int_equal(res.n_ips, 2);
	assert_string_equal(ipnet_prefix_format(&res.ips[0].address, buf, sizeof(buf)), "10.240.0.5/16");
	assert_string_equal(ipnet_addr_format(&res.ips[0].gateway, buf, sizeof(buf)), "10.240.0.1");
	assert_string_equal(ipnet_prefix_format(&res.ips[1].address, buf, sizeof(buf)),
			    "2001:db8:0:1::5/64");
	assert_string_equal(ipnet_addr_format(&res.ips[1].gateway, buf, sizeof(buf)), "2001:db8:0:1::1");
	assert_int_equal(res.n_routes, 2);
	assert_string_equal(ipnet_prefix_format(&res.routes[0].dst, buf, sizeof(buf)), "0.0.0.0/0");
	assert_string_equal(ipnet_prefix_format(&res.routes[1].dst, buf, sizeof(buf)), "::/0");
	assert_string_equal(res.dns.nameservers[0], "168.63.129.16");
	/* a caller whose data plane is IPv4 only gets IPv4 only */
	assert_int_equal(alloc_owner(&sp, "c2", IPAM_FAMILY_V4, NULL, NULL, out, sizeof(out), &err), 1);
	assert_string_equal(out, "10.240.0.6");
	/* IPv6 only: 2001:db8:0:1::6 (::4 primary, :: anycast) */
	assert_int_equal(alloc_owner(&sp, "c3", IPAM_FAMILY_V6, NULL, NULL, out, sizeof(out), &err), 1);
	assert_string_equal(out, "2001:db8:0:1::6");
	assert_int_equal(ipam_free_count_family(&sp, IPNET_AF_INET6), 0);
	/* IPv4 exhausted now: a dual-stack request fails whole, nothing taken */
	assert_int_equal(alloc_owner(&sp, "c4", 0, NULL, NULL, out, sizeof(out), &err), -ENOSPC);
	assert_int_equal(err.code, CNI_CODE_NO_ADDRESS);
	assert_non_null(strstr(err.msg, "10.240.0.0/16"));
	/* release c1 by owner: both families go */
	assert_int_equal(ipam_release(&sp, "c1", "eth0", NULL), 2);
	assert_int_equal(ipam_free_count_family(&sp, IPNET_AF_INET), 1);
	assert_int_equal(ipam_free_count_family(&sp, IPNET_AF_INET6), 1);
	/* c3 still holds the last IPv6 address, so c4's dual-stack request fails on IPv6 and
	 * returns the IPv4 address it took first */
	assert_int_equal(ipam_release(&sp, "c1", "eth0", NULL), 0);
	assert_int_equal(alloc_owner(&sp, "c5", IPAM_FAMILY_V6, NULL, NULL, out, sizeof(out), &err), 1);
	assert_int_equal(alloc_owner(&sp, "c4", 0, NULL, NULL, out, sizeof(out), &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "2001:db8:0:1::/64"));
	assert_int_equal(ipam_free_count_family(&sp, IPNET_AF_INET), 1);
	assert_null(strstr(find_rec(&sp, "10.240.0.5")->id, "c4"));
	ipam_space_free(&sp);
}

/* ipam.ipAddress / ipam.subnet for either family, and their bad forms: each a code 7 naming
 * the field with nothing allocated. */
static void test_dualstack_requests(void **state)
{
	struct ipam_space sp = {0};
	struct cni_error err;
	char out[128];

	(void)state;
	refresh_file(&sp, "interfaces-dualstack.json");
	assert_int_equal(alloc_owner(&sp, "a", 0, NULL, "fd00:db8:1::6", out, sizeof(out), &err), 1);
	assert_string_equal(out, "fd00:db8:1::6");
	assert_int_equal(alloc_owner(&sp, "b", 0, "fd00:db8:1::/64", NULL, out, sizeof(out), &err), 1);
	assert_string_equal(out, "fd00:db8:1::5");
	assert_int_equal(alloc_owner(&sp, "c", 0, "10.240.0.0/16", "10.240.0.6", out, sizeof(out),
				     &err), 1);
	assert_string_equal(out, "10.240.0.6");
	/* both in use: another owner asking for one is code 102 */
	assert_int_equal(alloc_owner(&sp, "d", 0, NULL, "fd00:db8:1::6", out, sizeof(out), &err),
			 -EBUSY);
	assert_int_equal(err.code, CNI_CODE_ADDRESS_IN_USE);
	/* bad requests */
	assert_int_equal(alloc_owner(&sp, "e", 0, "10.240.0.0/16", "fd00:db8:1::5", out, sizeof(out),
				     &err), -EINVAL);
	assert_int_equal(err.code, CNI_CODE_INVALID_CONFIG);
	assert_non_null(strstr(err.msg, "ipam.ipAddress fd00:db8:1::5"));
	assert_non_null(strstr(err.msg, "ipam.subnet 10.240.0.0/16"));
	assert_int_equal(alloc_owner(&sp, "e", 0, "fd00:db8:1::/80", NULL, out, sizeof(out), &err),
			 -EINVAL);
	assert_int_equal(err.code, CNI_CODE_INVALID_CONFIG);
	assert_non_null(strstr(err.msg, "ipam.subnet fd00:db8:1::/80 is longer than /64"));
	assert_int_equal(alloc_owner(&sp, "e", IPAM_FAMILY_V4, NULL, "fd00:db8:1::5", out,
				     sizeof(out), &err), -EINVAL);
	assert_int_equal(err.code, CNI_CODE_INVALID_CONFIG);
	assert_non_null(strstr(err.msg, "ipam.ipAddress fd00:db8:1::5 is IPv6"));
	/* the primary and the anycast: not pool addresses */
	assert_int_equal(alloc_owner(&sp, "e", 0, NULL, "fd00:db8:1::4", out, sizeof(out), &err),
			 -ENOENT);
	assert_int_equal(err.code, CNI_CODE_INVALID_CONFIG);
	assert_int_equal(alloc_owner(&sp, "e", 0, NULL, "fd00:db8:1::", out, sizeof(out), &err),
			 -ENOENT);
	assert_int_equal(in_use(&sp), 3);
	assert_null(strstr(out, "fd00"));
	ipam_space_free(&sp);
}

/* A NIC with IPv6 only: IPv6-only pods; a caller that takes IPv4 only gets -EAFNOSUPPORT
 * (code 101) and nothing. GC and STATUS counts per family. */
static void test_v6_only(void **state)
{
	struct ipam_attachment keep[] = {{"k", "eth0"}};
	struct ipam_space sp = {0};
	struct cni_error err;
	char out[128];

	(void)state;
	refresh_file(&sp, "nmagent-v6only.xml");
	assert_int_equal(alloc_owner(&sp, "x", IPAM_FAMILY_V4, NULL, NULL, out, sizeof(out), &err),
			 -EAFNOSUPPORT);
	assert_int_equal(err.code, CNI_CODE_NO_ADDRESS);
	assert_non_null(strstr(err.msg, "no IPv4 address pool"));
	assert_int_equal(in_use(&sp), 0);
	assert_int_equal(alloc_owner(&sp, "k", 0, NULL, NULL, out, sizeof(out), &err), 1);
	assert_string_equal(out, "2001:db8:0:2::5");
	assert_int_equal(ipam_free_count(&sp), 0);
	assert_int_equal(alloc_owner(&sp, "y", 0, NULL, NULL, out, sizeof(out), &err), -ENOSPC);
	/* dual-stack source again: a GC releases both families of a gone owner, keeps the valid */
	refresh_file(&sp, "nmagent-dualstack.xml");
	assert_int_equal(alloc_owner(&sp, "gone", 0, NULL, NULL, out, sizeof(out), &err), 2);
	assert_int_equal(ipam_free_count_family(&sp, IPNET_AF_INET6), 1);
	assert_int_equal(ipam_gc(&sp, keep, 1, NULL, NULL), 2);
	assert_int_equal(in_use(&sp), 1);                    /* k's v6 of the vanished subnet */
	assert_int_equal(ipam_free_count_family(&sp, IPNET_AF_INET), 2);
	assert_int_equal(ipam_free_count_family(&sp, IPNET_AF_INET6), 2);
	ipam_space_free(&sp);
}

/* Case B06: mas source with 4 secondaries (.5-.8) and the primary .4. ADD a, b, c; DEL a;
 * ADD d, e, f: distinct addresses from one pool, never .4, d never b's or c's, f fails. */
static void test_b06(void **state)
{
	struct ipam_space sp = {0};
	struct cni_error err;
	struct cni_result res;
	char ip[6][IPNET_ADDR_STRLEN];
	char buf[IPNET_PREFIX_STRLEN];
	size_t p, ad;

	(void)state;
	refresh_file(&sp, "interfaces.json");
	assert_int_equal(sp.n_pools, 1);
	must_alloc(&sp, "a", "eth0", ip[0]);
	must_alloc(&sp, "b", "eth0", ip[1]);
	must_alloc(&sp, "c", "eth0", ip[2]);
	for (int i = 0; i < 3; i++) {
		assert_string_not_equal(ip[i], "10.240.0.4");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(ip[i], ip[j]);
	}
	assert_int_equal(ipam_release(&sp, "a", "eth0", NULL), 1);
	must_alloc(&sp, "d", "eth0", ip[3]);
	must_alloc(&sp, "e", "eth0", ip[4]);
	for (int i = 3; i < 5; i++) {
		assert_string_not_equal(ip[i], "10.240.0.4");
		assert_string_not_equal(ip[i], ip[1]);
		assert_string_not_equal(ip[i], ip[2]);
	}
	assert_string_not_equal(ip[3], ip[4]);
	assert_int_equal(alloc(&sp, "f", "eth0", NULL, NULL, ip[5], &err), -ENOSPC);
	assert_int_equal(err.code, CNI_CODE_NO_ADDRESS);
	assert_non_null(strstr(err.msg, "no available addresses"));

	/* the IPAM result: no interfaces, gateway .1, default route, Azure DNS */
	{
		struct ipam_request req = {.container_id = "e", .ifname = "eth0", .subnet = "",
					   .ip_address = ""};

		assert_int_equal(ipam_allocate(&sp, &req, &p, &ad, &err), 0);
	}
	memset(&res, 0x5a, sizeof(res));
	ipam_result_fill(&sp, p, ad, &res);
	assert_int_equal(res.n_interfaces, 0);
	assert_int_equal(res.n_ips, 1);
	snprintf(buf, sizeof(buf), "%s/16", ip[4]);
	{
		char got[IPNET_PREFIX_STRLEN];

		assert_string_equal(ipnet_prefix_format(&res.ips[0].address, got, sizeof(got)), buf);
	}
	assert_int_equal(res.ips[0].iface, -1);
	assert_string_equal(ipnet_addr_format(&res.ips[0].gateway, buf, sizeof(buf)), "10.240.0.1");
	assert_int_equal(res.n_routes, 1);
	assert_string_equal(ipnet_prefix_format(&res.routes[0].dst, buf, sizeof(buf)), "0.0.0.0/0");
	assert_string_equal(ipnet_addr_format(&res.routes[0].gw, buf, sizeof(buf)), "10.240.0.1");
	assert_int_equal(res.dns.n_nameservers, 1);
	assert_string_equal(res.dns.nameservers[0], "168.63.129.16");
	assert_int_equal(res.dns.n_search, 0);
	ipam_space_free(&sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idempotent),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_max_pods_250),
		cmocka_unit_test(test_two_nics),
		cmocka_unit_test(test_source_ifname),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_gc),
		cmocka_unit_test(test_refresh_merge),
		cmocka_unit_test(test_refresh_unsorted_duplicates),
		cmocka_unit_test(test_refresh_order),
		cmocka_unit_test(test_refresh_back),
		cmocka_unit_test(test_ipv6_pool),
		cmocka_unit_test(test_network_broadcast),
		cmocka_unit_test(test_b06),
		cmocka_unit_test(test_dualstack),
		cmocka_unit_test(test_dualstack_requests),
		cmocka_unit_test(test_v6_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
