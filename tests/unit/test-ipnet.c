/* SPDX-License-Identifier: MIT */
/* core/ipnet: address and prefix parsing (good and bad), RFC 5952 output, masks, containment,
 * network and first host, ordering. Table-driven. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/ipnet.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct ipnet_addr addr(const char *s)
{
	struct ipnet_addr a;

	if (ipnet_addr_parse(s, &a) != 0)
		print_error("cannot parse %s\n", s);
	assert_int_equal(ipnet_addr_parse(s, &a), 0);
	return a;
}

static struct ipnet_prefix prefix(const char *s)
{
	struct ipnet_prefix p;

	if (ipnet_prefix_parse(s, false, &p) != 0)
		print_error("cannot parse %s\n", s);
	assert_int_equal(ipnet_prefix_parse(s, false, &p), 0);
	return p;
}

static void test_addr_parse_format(void **state)
{
	static const struct {
		const char *in, *out;
		int family;
	} cases[] = {
		{"10.240.0.4", "10.240.0.4", IPNET_AF_INET},
		{"0.0.0.0", "0.0.0.0", IPNET_AF_INET},
		{"255.255.255.255", "255.255.255.255", IPNET_AF_INET},
		{"168.63.129.16", "168.63.129.16", IPNET_AF_INET},
		{"::", "::", IPNET_AF_INET6},
		{"::1", "::1", IPNET_AF_INET6},
		{"1::", "1::", IPNET_AF_INET6},
		{"fd00:10::5", "fd00:10::5", IPNET_AF_INET6},
		{"FE80::1234:5678:9ABC", "fe80::1234:5678:9abc", IPNET_AF_INET6},
		{"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", IPNET_AF_INET6},
		{"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", IPNET_AF_INET6}, /* tie: first run */
		{"1:0:0:2:0:0:0:3", "1:0:0:2::3", IPNET_AF_INET6},             /* longest run */
		{"1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7", IPNET_AF_INET6},        /* one zero stays */
		{"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0", IPNET_AF_INET6},
		{"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8", IPNET_AF_INET6},
		{"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", IPNET_AF_INET6},
		{"2001:db8::0:1", "2001:db8::1", IPNET_AF_INET6},
		{"0:0:0:0:0:0:0:0", "::", IPNET_AF_INET6},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", IPNET_AF_INET6},
		{"::ffff:1.2.3.4", "::ffff:1.2.3.4", IPNET_AF_INET6},          /* RFC 5952 section 5 */
		{"::FFFF:0102:0304", "::ffff:1.2.3.4", IPNET_AF_INET6},
		{"::1.2.3.4", "::102:304", IPNET_AF_INET6},
		{"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304", IPNET_AF_INET6},
		{"1::1.2.3.4", "1::102:304", IPNET_AF_INET6},
		{"0.0.0.10", "0.0.0.10", IPNET_AF_INET},
	};
	(void)state;
	for (size_t k = 0; k < N_ELEM(cases); k++) {
		struct ipnet_addr a, b;
		char buf[IPNET_ADDR_STRLEN];

		if (ipnet_addr_parse(cases[k].in, &a) != 0)
			print_error("case %zu \"%s\" does not parse\n", k, cases[k].in);
		assert_int_equal(ipnet_addr_parse(cases[k].in, &a), 0);
		assert_int_equal(a.family, cases[k].family);
		assert_string_equal(ipnet_addr_format(&a, buf, sizeof(buf)), cases[k].out);
		/* the output parses back to the same address */
		assert_int_equal(ipnet_addr_parse(buf, &b), 0);
		assert_true(ipnet_addr_equal(&a, &b));
	}
}

static void test_addr_parse_bad(void **state)
{
	static const char *const cases[] = {
		"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.-1", "01.2.3.4", "1.2.3.04", "1.2.3.00",
		" 1.2.3.4", "1.2.3.4 ", "1..2.3", "a.b.c.d", "1.2.3.4/8", "0x1.2.3.4", "1.2.3.4:80",
		":::", "1:::2", "1::2::3", ":1::", "1:", ":1", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
		"12345::", "g::", "fe80::1%eth0", "[::1]", "::1.2.3", "::1.2.3.4.5",
		"1:2:3:4:5:6:7:1.2.3.4", "::ffff:256.1.1.1", "1::2:3:4:5:6:7:8", "::1.2.3.4:5",
		"1:2:3:4:5:6:7:8::", "-1.2.3.4", "1.2.3.4.", ".1.2.3.4",
	};
	(void)state;
	for (size_t k = 0; k < N_ELEM(cases); k++) {
		struct ipnet_addr a = {.family = 77};

		if (ipnet_addr_parse(cases[k], &a) != -EINVAL)
			print_error("case %zu \"%s\" parsed\n", k, cases[k]);
		assert_int_equal(ipnet_addr_parse(cases[k], &a), -EINVAL);
		assert_int_equal(a.family, 77); /* untouched */
	}
	assert_int_equal(ipnet_addr_parse(NULL, &(struct ipnet_addr){0}), -EINVAL);
}

static void test_prefix_parse(void **state)
{
	static const struct {
		const char *in;
		bool allow_bare;
		int rc;
		const char *out;
	} cases[] = {
		{"10.0.0.0/8", false, 0, "10.0.0.0/8"},
		{"10.240.0.4/16", false, 0, "10.240.0.4/16"}, /* host bits kept */
		{"0.0.0.0/0", false, 0, "0.0.0.0/0"},
		{"::/0", false, 0, "::/0"},
		{"fd00::/128", false, 0, "fd00::/128"},
		{"FD00:10::5/64", false, 0, "fd00:10::5/64"},
		{"1.2.3.4/32", false, 0, "1.2.3.4/32"},
		{"1.2.3.4", true, 0, "1.2.3.4/32"},
		{"fd00::1", true, 0, "fd00::1/128"},
		{"1.2.3.4", false, -EINVAL, NULL},
		{"1.2.3.4/33", false, -EINVAL, NULL},
		{"fd00::/129", false, -EINVAL, NULL},
		{"1.2.3.4/", false, -EINVAL, NULL},
		{"1.2.3.4/", true, -EINVAL, NULL},
		{"/8", false, -EINVAL, NULL},
		{"1.2.3.4/a", false, -EINVAL, NULL},
		{"1.2.3.4/8/9", false, -EINVAL, NULL},
		{"1.2.3.4/-1", false, -EINVAL, NULL},
		{"1.2.3.4/ 8", false, -EINVAL, NULL},
		{"1.2.3.4/8 ", false, -EINVAL, NULL},
		{"1.2.3.4/0008", false, -EINVAL, NULL},
		{"1.2.3/8", false, -EINVAL, NULL},
		{"x", true, -EINVAL, NULL},
		{"", true, -EINVAL, NULL},
	};
	(void)state;
	for (size_t k = 0; k < N_ELEM(cases); k++) {
		struct ipnet_prefix p = {.len = 77};
		char buf[IPNET_PREFIX_STRLEN];
		int r = ipnet_prefix_parse(cases[k].in, cases[k].allow_bare, &p);

		if (r != cases[k].rc)
			print_error("case %zu \"%s\": rc %d\n", k, cases[k].in, r);
		assert_int_equal(r, cases[k].rc);
		if (r == 0)
			assert_string_equal(ipnet_prefix_format(&p, buf, sizeof(buf)), cases[k].out);
		else
			assert_int_equal(p.len, 77);
	}
	assert_int_equal(ipnet_prefix_parse(NULL, true, &(struct ipnet_prefix){0}), -EINVAL);
}

static void test_prefix_contains(void **state)
{
	static const struct {
		const char *p, *a;
		bool want;
	} cases[] = {
		{"10.240.0.0/16", "10.240.255.255", true},
		{"10.240.0.0/16", "10.240.0.0", true},
		{"10.240.0.0/16", "10.241.0.0", false},
		{"10.240.0.4/16", "10.240.9.9", true}, /* host bits of the prefix do not matter */
		{"0.0.0.0/0", "1.2.3.4", true},
		{"10.0.0.0/8", "fd00::1", false},
		{"::/0", "10.0.0.1", false},
		{"fd00::/8", "fdff::1", true},
		{"fd00::/16", "fd01::1", false},
		{"10.240.0.4/32", "10.240.0.4", true},
		{"10.240.0.4/32", "10.240.0.5", false},
		{"10.0.0.0/9", "10.128.0.0", false},
		{"10.0.0.0/9", "10.127.255.255", true},
		{"fd00:10::/64", "fd00:10::ffff:ffff:ffff:ffff", true},
		{"fd00:10::/64", "fd00:10:0:1::", false},
		{"fd00:10::/65", "fd00:10::8000:0:0:0", false},
	};
	(void)state;
	for (size_t k = 0; k < N_ELEM(cases); k++) {
		struct ipnet_prefix p = prefix(cases[k].p);
		struct ipnet_addr a = addr(cases[k].a);

		if (ipnet_prefix_contains(&p, &a) != cases[k].want)
			print_error("case %zu %s in %s\n", k, cases[k].a, cases[k].p);
		assert_int_equal(ipnet_prefix_contains(&p, &a), cases[k].want);
	}
}

static void test_prefix_network_first_host(void **state)
{
	static const struct {
		const char *in, *network, *first;
	} cases[] = {
		{"10.240.0.4/16", "10.240.0.0/16", "10.240.0.1"},
		{"10.240.7.9/16", "10.240.0.0/16", "10.240.0.1"},
		{"10.240.0.4/0", "0.0.0.0/0", "0.0.0.1"},
		{"1.2.3.200/25", "1.2.3.128/25", "1.2.3.129"},
		{"1.2.3.4/25", "1.2.3.0/25", "1.2.3.1"},
		{"1.2.3.255/31", "1.2.3.254/31", "1.2.3.255"},
		{"fd00:10::5/64", "fd00:10::/64", "fd00:10::1"},
		{"fd00:10:0:0:ffff::5/65", "fd00:10:0:0:8000::/65", "fd00:10::8000:0:0:1"},
		{"2001:db8:abcd:12ff::/56", "2001:db8:abcd:1200::/56", "2001:db8:abcd:1200::1"},
	};
	(void)state;
	for (size_t k = 0; k < N_ELEM(cases); k++) {
		struct ipnet_prefix p = prefix(cases[k].in), n = ipnet_prefix_network(&p);
		struct ipnet_addr f = ipnet_prefix_first_host(&p);
		char buf[IPNET_PREFIX_STRLEN];

		assert_string_equal(ipnet_prefix_format(&n, buf, sizeof(buf)), cases[k].network);
		assert_string_equal(ipnet_addr_format(&f, buf, sizeof(buf)), cases[k].first);
		assert_true(ipnet_prefix_contains(&p, &f));
	}
}

static void test_masks(void **state)
{
	static const struct {
		int family, len;
		uint8_t mask[16];
	} cases[] = {
		{IPNET_AF_INET, 0, {0}},
		{IPNET_AF_INET, 8, {0xff}},
		{IPNET_AF_INET, 17, {0xff, 0xff, 0x80}},
		{IPNET_AF_INET, 31, {0xff, 0xff, 0xff, 0xfe}},
		{IPNET_AF_INET, 32, {0xff, 0xff, 0xff, 0xff}},
		{IPNET_AF_INET6, 64, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{IPNET_AF_INET6, 127, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}},
		{IPNET_AF_INET6, 4, {0xf0}},
	};
	static const struct {
		uint8_t mask[16];
		size_t n;
	} bad[] = {
		{{0xff, 0x00, 0xff, 0x00}, 4},
		{{0xff, 0xff, 0xfe, 0x01}, 4},
		{{0x7f, 0, 0, 0}, 4},
		{{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 16},
	};
	(void)state;
	for (size_t k = 0; k < N_ELEM(cases); k++) {
		uint8_t m[16];

		memset(m, 0x5a, sizeof(m));
		ipnet_mask_bytes(cases[k].family, cases[k].len, m);
		assert_memory_equal(m, cases[k].mask, 16);
		assert_int_equal(ipnet_mask_len(m, cases[k].family == IPNET_AF_INET ? 4 : 16), cases[k].len);
	}
	for (int len = 0; len <= 128; len++) {
		uint8_t m[16];

		ipnet_mask_bytes(IPNET_AF_INET6, len, m);
		assert_int_equal(ipnet_mask_len(m, 16), len);
		if (len <= 32) {
			ipnet_mask_bytes(IPNET_AF_INET, len, m);
			assert_int_equal(ipnet_mask_len(m, 4), len);
		}
	}
	for (size_t k = 0; k < N_ELEM(bad); k++)
		assert_int_equal(ipnet_mask_len(bad[k].mask, bad[k].n), -EINVAL);
}

static void test_compare(void **state)
{
	static const struct {
		const char *a, *b;
		int sign; /* <0, 0, >0 */
	} cases[] = {
		{"10.0.0.1", "10.0.0.1", 0},
		{"10.0.0.1", "10.0.0.2", -1},
		{"10.0.1.0", "10.0.0.255", 1},
		{"9.255.255.255", "10.0.0.0", -1},
		{"255.255.255.255", "::", -1}, /* IPv4 sorts before IPv6 */
		{"fd00::1", "fd00::1", 0},
		{"fd00::2", "fd00::10", -1},
		{"fe80::", "fd00::ffff", 1},
	};
	(void)state;
	for (size_t k = 0; k < N_ELEM(cases); k++) {
		struct ipnet_addr a = addr(cases[k].a), b = addr(cases[k].b);
		int c = ipnet_addr_cmp(&a, &b), back = ipnet_addr_cmp(&b, &a);

		assert_int_equal((c > 0) - (c < 0), cases[k].sign);
		assert_int_equal((back > 0) - (back < 0), -cases[k].sign);
		assert_int_equal(ipnet_addr_equal(&a, &b), cases[k].sign == 0);
	}
	{
		/* same bytes, different family: not equal */
		struct ipnet_addr v4 = addr("1.2.3.4"), v6 = v4;

		v6.family = IPNET_AF_INET6;
		assert_false(ipnet_addr_equal(&v4, &v6));
		assert_int_equal(ipnet_addr_len(&v4), 4);
		assert_int_equal(ipnet_addr_len(&v6), 16);
		assert_int_equal(ipnet_addr_len(&(struct ipnet_addr){0}), 0);
	}
}

static void test_format_edges(void **state)
{
	struct ipnet_addr a = addr("fd00:1111:2222:3333:4444:5555:6666:7777");
	struct ipnet_addr unset = {0};
	char buf[24];

	(void)state;
	/* a short buffer truncates, NUL-terminated, without writing past its end */
	memset(buf, 'X', sizeof(buf));
	ipnet_addr_format(&a, buf, 8);
	assert_string_equal(buf, "fd00:11");
	assert_int_equal(buf[8], 'X');
	assert_string_equal(ipnet_addr_format(&unset, buf, sizeof(buf)), "<unset>");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parse_format),
		cmocka_unit_test(test_addr_parse_bad),
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_prefix_contains),
		cmocka_unit_test(test_prefix_network_first_host),
		cmocka_unit_test(test_masks),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_format_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
