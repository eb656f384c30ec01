/* SPDX-License-Identifier: MIT */
/* Unit tests of the IPAM source parsers: NMAgent interface-info XML (every fixture, good and
 * broken) and interfaces.json ("mas"). */
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

static size_t count_addrs(const struct ipam_source *src)
{
	size_t n = 0;

	for (size_t i = 0; i < src->n_ifaces; i++)
		for (size_t j = 0; j < src->ifaces[i].n_subnets; j++)
			n += src->ifaces[i].subnets[j].n_addrs;
	return n;
}

static void addr_text(const struct ipnet_addr *a, char *buf)
{
	ipnet_addr_format(a, buf, IPNET_ADDR_STRLEN);
}

enum fmt { XML, MAS };

struct good_case {
	const char *file;
	enum fmt fmt;
	size_t n_ifaces;
	size_t n_addrs;          /* secondaries over all subnets */
	const char *mac0;        /* first interface */
	const char *prefix0;     /* first subnet of the first interface */
	const char *primary0;    /* its primary, "" = none */
	const char *first0;      /* its first secondary, "" = none */
};

static const struct good_case good[] = {
	{"single-nic-30.xml", XML, 1, 30, "000D3A6E1825", "10.240.0.0/16", "10.240.0.4", "10.240.0.5"},
	{"two-nics.xml", XML, 2, 5, "000D3A2B3C01", "10.1.0.0/24", "10.1.0.4", "10.1.0.5"},
	{"max-pods-250.xml", XML, 1, 250, "000D3A11AA01", "10.10.0.0/16", "10.10.1.4", "10.10.1.5"},
	{"no-secondaries.xml", XML, 1, 0, "000D3A6E1825", "10.240.0.0/16", "10.240.0.4", ""},
	{"interfaces.json", MAS, 1, 4, "000D3A6E1825", "10.240.0.0/16", "10.240.0.4", "10.240.0.5"},
	{"interfaces-oddcase.json", MAS, 1, 1, "000D3A2B3C02", "10.1.8.0/22", "10.1.8.4", "10.1.8.10"},
	/* dual-stack NICs: an IPv4 and an IPv6 subnet (the anycast 2001:db8:0:1:: is listed) */
	{"nmagent-dualstack.xml", XML, 1, 5, "000D3A6E1825", "10.240.0.0/16", "10.240.0.4", "10.240.0.5"},
	{"interfaces-dualstack.json", MAS, 1, 4, "000D3A6E1825", "10.240.0.0/16", "10.240.0.4", "10.240.0.5"},
	{"nmagent-v6only.xml", XML, 1, 1, "000D3A6E1825", "2001:db8:0:2::/64", "2001:db8:0:2::4",
	 "2001:db8:0:2::5"},
};

static void test_good(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(good) / sizeof(good[0]); c++) {
		const struct good_case *tc = &good[c];
		struct cni_error err = {0};
		struct ipam_source src = {0};
		char buf[IPNET_PREFIX_STRLEN];
		size_t len;
		char *text = fixture_read(tc->file, &len);
		int r = tc->fmt == XML ? ipam_source_parse_nmagent(text, len, &src, &err)
				       : ipam_source_parse_mas(text, len, &src, &err);

		if (r != 0)
			fail_msg("%s: %s", tc->file, err.msg);
		assert_int_equal(err.code, 0);
		assert_int_equal(src.n_ifaces, tc->n_ifaces);
		assert_int_equal(count_addrs(&src), tc->n_addrs);
		assert_string_equal(src.ifaces[0].mac, tc->mac0);
		assert_true(src.ifaces[0].is_primary == (strstr(tc->file, "oddcase") == NULL));
		assert_int_equal(src.ifaces[0].ifname[0], '\0');
		assert_string_equal(ipnet_prefix_format(&src.ifaces[0].subnets[0].prefix, buf, sizeof(buf)),
				    tc->prefix0);
		addr_text(&src.ifaces[0].subnets[0].primary, buf);
		assert_string_equal(src.ifaces[0].subnets[0].primary.family ? buf : "", tc->primary0);
		if (tc->first0[0]) {
			addr_text(&src.ifaces[0].subnets[0].addrs[0], buf);
			assert_string_equal(buf, tc->first0);
		}
		/* the primary is never among the secondaries */
		for (size_t i = 0; i < src.n_ifaces; i++)
			for (size_t j = 0; j < src.ifaces[i].n_subnets; j++)
				for (size_t k = 0; k < src.ifaces[i].subnets[j].n_addrs; k++)
					assert_false(ipnet_addr_equal(&src.ifaces[i].subnets[j].addrs[k],
								      &src.ifaces[i].subnets[j].primary));
		ipam_source_free(&src);
		free(text);
	}
}

static void test_two_nics_detail(void **state)
{
	struct cni_error err = {0};
	struct ipam_source src = {0};
	char buf[IPNET_PREFIX_STRLEN];
	size_t len;
	char *text = fixture_read("two-nics.xml", &len);

	(void)state;
	assert_int_equal(ipam_source_parse_nmagent(text, len, &src, &err), 0);
	assert_string_equal(src.ifaces[1].mac, "000D3A2B3C02");
	assert_false(src.ifaces[1].is_primary);
	assert_string_equal(ipnet_prefix_format(&src.ifaces[1].subnets[0].prefix, buf, sizeof(buf)),
			    "10.1.8.0/22");
	assert_int_equal(src.ifaces[1].subnets[0].n_addrs, 3);
	addr_text(&src.ifaces[1].subnets[0].addrs[2], buf);
	assert_string_equal(buf, "10.1.10.12");
	ipam_source_free(&src);
	free(text);
}

struct bad_case {
	const char *file;        /* NULL: use @text */
	const char *text;
	enum fmt fmt;
	const char *needle1;     /* substrings the message must hold */
	const char *needle2;
};

static const struct bad_case bad[] = {
	{"truncated.xml", NULL, XML, "line 5", "unclosed token"},
	{"nmagent-bad-prefix.xml", NULL, XML, "bad Prefix \"10.240.0.0/33\"", "line 3"},
	{"nmagent-bad-address.xml", NULL, XML, "bad Address \"10.240.0.256\"", "line 6"},
	{"nmagent-outside-subnet.xml", NULL, XML, "10.241.0.5", "outside its subnet 10.240.0.0/16"},
	{"nmagent-wrong-root.xml", NULL, XML, "root element is <Error>", "line 2"},
	{"nmagent-not-xml.txt", NULL, XML, "malformed XML at line 1", "not well-formed"},
	{"nmagent-bad-mac.xml", NULL, XML, "bad MacAddress \"000D3A6E18\"", "line 2"},
	{"nmagent-bad-isprimary.xml", NULL, XML, "bad IsPrimary \"maybe\"", "line 5"},
	/* one MAC parser (mac.h): mixed separators and the dotted form are not MACs */
	{NULL, "<Interfaces>\n<Interface MacAddress=\"00:0D-3A:6E-18:25\"/></Interfaces>", XML,
	 "bad MacAddress \"00:0D-3A:6E-18:25\"", "line 2"},
	{NULL, "{\"Interfaces\":[{\"MacAddress\":\"000d.3a6e.1825\"}]}", MAS,
	 "bad MacAddress \"000d.3a6e.1825\"", "Interfaces[0]"},
	{NULL, "", XML, "malformed XML", "no element found"},
	{NULL, "<Interfaces><Interface MacAddress=\"000D3A6E1825\"><IPSubnet/></Interface></Interfaces>",
	 XML, "bad Prefix \"\"", "line 1"},
	{NULL, "<Interfaces><Interface MacAddress=\"000D3A6E1825\"><IPSubnet Prefix=\"fd00::/64\">"
	       "<IPAddress Address=\"10.0.0.5\"/></IPSubnet></Interface></Interfaces>",
	 XML, "outside its subnet", "fd00::/64"},
	{NULL, "<Interfaces></Interfaces><Interfaces/>", XML, "malformed XML", "junk after document"},
	{NULL, "<?xml version=\"1.0\"?>\n<!DOCTYPE Interfaces [<!ENTITY a \"aaaa\">]>\n<Interfaces/>", XML,
	 "unexpected DOCTYPE Interfaces", "line 2"},
	/* IPv6: a subnet longer than /64, a malformed prefix or address */
	{"nmagent-bad-v6-prefix.xml", NULL, XML, "bad Prefix \"2001:db8:0:1::/80\"", "line 8"},
	{NULL, "<Interfaces><Interface MacAddress=\"000D3A6E1825\"><IPSubnet Prefix=\"2001:db8::1::/64\">"
	       "</IPSubnet></Interface></Interfaces>", XML, "bad Prefix \"2001:db8::1::/64\"", "line 1"},
	{NULL, "{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IPSubnets\":[{\"Prefix\":\"fd00::/96\"}]}]}",
	 MAS, "bad Prefix \"fd00::/96\"", "longer than /64"},
	{NULL, "{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IPSubnets\":[{\"Prefix\":\"fd00::/64\","
	       "\"IPAddresses\":[{\"Address\":\"fd00::g\"}]}]}]}",
	 MAS, "bad Address \"fd00::g\"", "Interfaces[0].IPSubnets[0].IPAddresses[0]"},
	/* IPv6 subnets that are no VNet range: link-local, multicast, the reserved ::/8 (mapped
	 * ::ffff:a.b.c.d, loopback), or one so short that it covers them (::/0 handed out ff02::1) */
	{NULL, "<Interfaces><Interface MacAddress=\"000D3A6E1825\"><IPSubnet Prefix=\"fe80::/64\">"
	       "<IPAddress Address=\"fe80::5\"/></IPSubnet></Interface></Interfaces>",
	 XML, "bad Prefix \"fe80::/64\"", "not a unicast VNet subnet"},
	{NULL, "{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IPSubnets\":[{\"Prefix\":\"ff02::/64\"}]}]}",
	 MAS, "bad Prefix \"ff02::/64\"", "not a unicast VNet subnet"},
	{NULL, "{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IPSubnets\":[{\"Prefix\":\"::/0\","
	       "\"IPAddresses\":[{\"Address\":\"ff02::1\"}]}]}]}",
	 MAS, "bad Prefix \"::/0\"", "not a unicast VNet subnet"},
	{NULL, "{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IPSubnets\":[{\"Prefix\":\"::ffff:0:0/64\"}]}]}",
	 MAS, "bad Prefix \"::ffff:0:0/64\"", "not a unicast VNet subnet"},
	{NULL, "{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IPSubnets\":[{\"Prefix\":\"fc00::/6\"}]}]}",
	 MAS, "bad Prefix \"fc00::/6\"", "not a unicast VNet subnet"},
	/* the IPv4 kind: multicast, loopback, link-local, 0.0.0.0/0 (handed out 127.0.0.1/0) */
	{NULL, "{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IPSubnets\":[{\"Prefix\":\"224.0.0.0/4\"}]}]}",
	 MAS, "bad Prefix \"224.0.0.0/4\"", "not a unicast VNet subnet"},
	{NULL, "{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IPSubnets\":[{\"Prefix\":\"0.0.0.0/0\","
	       "\"IPAddresses\":[{\"Address\":\"127.0.0.1\"}]}]}]}",
	 MAS, "bad Prefix \"0.0.0.0/0\"", "not a unicast VNet subnet"},
	{NULL, "<Interfaces><Interface MacAddress=\"000D3A6E1825\"><IPSubnet Prefix=\"169.254.0.0/24\">"
	       "</IPSubnet></Interface></Interfaces>", XML, "bad Prefix \"169.254.0.0/24\"", "line 1"},
	{NULL, "{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IPSubnets\":[{\"Prefix\":\"127.1.0.0/16\"}]}]}",
	 MAS, "bad Prefix \"127.1.0.0/16\"", "not a unicast VNet subnet"},
	{"interfaces-truncated.json", NULL, MAS, "interfaces.json: invalid JSON", "line 10"},
	{"interfaces-bad-prefix.json", NULL, MAS, "bad Prefix \"10.240.0.0\"", "Interfaces[0].IPSubnets[0]"},
	{"interfaces-wrong-type.json", NULL, MAS, "Interfaces[0].IsPrimary", "wrong type"},
	{NULL, "[1,2]", MAS, "top level is not an object", "interfaces.json"},
	{NULL, "", MAS, "interfaces.json: empty document", "empty"},
	{NULL, "{\"Interfaces\":{}}", MAS, "document.Interfaces", "wrong type"},
	{NULL, "{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IPSubnets\":[{\"Prefix\":\"10.0.0.0/8\","
	       "\"IPAddresses\":[{\"Address\":\"10.0.0.x\"}]}]}]}",
	 MAS, "bad Address \"10.0.0.x\"", "Interfaces[0].IPSubnets[0].IPAddresses[0]"},
	/* the place of a later address (its index written by hand, not by snprintf) */
	{NULL, "{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IPSubnets\":[{\"Prefix\":\"10.1.0.0/16\"},"
	       "{\"Prefix\":\"10.0.0.0/8\",\"IPAddresses\":[{\"Address\":\"10.0.0.1\"},{\"Address\":\"10.0.0.2\"},"
	       "{\"Address\":\"10.0.0.3\"},{\"Address\":\"10.0.0.4\"},{\"Address\":\"10.0.0.5\"},"
	       "{\"Address\":\"10.0.0.6\"},{\"Address\":\"10.0.0.7\"},{\"Address\":\"10.0.0.8\"},"
	       "{\"Address\":\"10.0.0.9\"},{\"Address\":\"10.0.0.10\"},{\"Address\":\"10.0.0.256\"}]}]}]}",
	 MAS, "bad Address \"10.0.0.256\"", "Interfaces[0].IPSubnets[1].IPAddresses[10]"},
};

static void test_bad(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(bad) / sizeof(bad[0]); c++) {
		const struct bad_case *tc = &bad[c];
		struct cni_error err = {0};
		struct ipam_source src = {0};
		size_t len = tc->text ? strlen(tc->text) : 0;
		char *text = tc->file ? fixture_read(tc->file, &len) : strdup(tc->text);
		int r = tc->fmt == XML ? ipam_source_parse_nmagent(text, len, &src, &err)
				       : ipam_source_parse_mas(text, len, &src, &err);

		free(text);
		if (r == 0)
			fail_msg("case %zu (%s) parsed", c, tc->file ? tc->file : tc->text);
		assert_int_equal(r, -EINVAL);
		assert_int_equal(err.code, CNI_CODE_SOURCE);
		if (!strstr(err.msg, tc->needle1) || !strstr(err.msg, tc->needle2))
			fail_msg("case %zu: message \"%s\" lacks \"%s\" / \"%s\"", c, err.msg,
				 tc->needle1, tc->needle2);
		assert_int_equal(src.n_ifaces, 0);
		assert_null(src.ifaces);
	}
}

/* MACs in any spelling become 12 upper-case hex digits; unknown elements are ignored;
 * a secondary listed twice or before its primary never duplicates or leaks the primary. */
static void test_xml_normalise(void **state)
{
	static const char doc[] =
		"<?xml version=\"1.0\"?>\n"
		"<Interfaces xmlns:x=\"urn:x\">\n"
		" <Comment>ignored <IPAddress Address=\"1.2.3.4\"/></Comment>\n"
		" <Interface MacAddress=\"00:0d:3a:6e:18:2f\" IsPrimary=\"True\">\n"
		"  <IPSubnet Prefix=\"10.240.7.9/16\">\n"
		"   <IPAddress Address=\"10.240.0.4\" IsPrimary=\"false\"/>\n"
		"   <IPAddress Address=\"10.240.0.9\"/>\n"
		"   <IPAddress Address=\"10.240.0.9\"/>\n"
		"   <IPAddress Address=\"10.240.0.4\" IsPrimary=\"1\"/>\n"
		"  </IPSubnet>\n"
		" </Interface>\n"
		" <Interface MacAddress=\"00-0D-3A-6E-18-30\"/>\n"
		"</Interfaces>\n";
	struct cni_error err = {0};
	struct ipam_source src = {0};
	char buf[IPNET_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(ipam_source_parse_nmagent(doc, sizeof(doc) - 1, &src, &err), 0);
	assert_int_equal(src.n_ifaces, 2);
	assert_string_equal(src.ifaces[0].mac, "000D3A6E182F");
	assert_true(src.ifaces[0].is_primary);
	assert_string_equal(src.ifaces[1].mac, "000D3A6E1830");
	assert_false(src.ifaces[1].is_primary);
	assert_int_equal(src.ifaces[1].n_subnets, 0);
	assert_string_equal(ipnet_prefix_format(&src.ifaces[0].subnets[0].prefix, buf, sizeof(buf)),
			    "10.240.0.0/16");
	assert_int_equal(src.ifaces[0].subnets[0].n_addrs, 1);
	addr_text(&src.ifaces[0].subnets[0].addrs[0], buf);
	assert_string_equal(buf, "10.240.0.9");
	addr_text(&src.ifaces[0].subnets[0].primary, buf);
	assert_string_equal(buf, "10.240.0.4");
	ipam_source_free(&src);
	ipam_source_free(&src); /* safe twice / on zeroed */
}

/* A JSON object without Interfaces is an empty source, as Go's encoding/json decodes it. */
static void test_mas_no_interfaces(void **state)
{
	static const char doc[] = "{\"error\": \"not an interfaces file\"}";
	struct cni_error err = {0};
	struct ipam_source src = {0};

	(void)state;
	assert_int_equal(ipam_source_parse_mas(doc, sizeof(doc) - 1, &src, &err), 0);
	assert_int_equal(src.n_ifaces, 0);
	assert_int_equal(err.code, 0);
	ipam_source_free(&src);
}

/* interfaces.json documents that the one-pass reader reads (or hands to the cJSON one) give
 * what the cJSON reader alone gives: members in any case and order, a second member of a name
 * (the first wins), null as absent, unknown members of every kind, white space, bytes after the
 * document, an escape (the cJSON reader then reads it), and refusals with the same message. */
static void test_mas_readers_agree(void **state)
{
	static const char *const docs[] = {
		"{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IsPrimary\":true,\"IPSubnets\":"
		"[{\"Prefix\":\"10.240.0.0/16\",\"IPAddresses\":[{\"Address\":\"10.240.0.4\","
		"\"IsPrimary\":true},{\"Address\":\"10.240.0.9\"},{\"Address\":\"10.240.0.5\","
		"\"IsPrimary\":false}]}]}]}",
		" \r\n\t{ \"x\" : [ 1, -0.5e+3, {\"a\":[[],{}]}, null, true, false, \"s\" ] ,\n"
		"\"interfaces\" : [ { \"ipsubnets\" : [ { \"IPADDRESSES\" : [ {\"ISPRIMARY\" : null,"
		" \"address\" : \"10.1.0.7\" } ], \"prefix\" : \"10.1.0.0/24\" } ],"
		" \"macaddress\" : \"00:0d:3a:6e:18:25\", \"IsPrimary\" : null } ],"
		" \"Interfaces\" : 5 } trailing bytes",
		"{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"MacAddress\":\"bad\",\"IPSubnets\":"
		"[{\"Prefix\":\"10.2.0.0/16\",\"IPAddresses\":[{\"Address\":\"10.2.0.5\",\"Address\":7}]"
		",\"IPAddresses\":\"x\"}]}]}",
		"{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"macaddress\":\"000D3A6E1826\","
		"\"IsPrimary\":false,\"isprimary\":true,\"IPSubnets\":[{\"Prefix\":\"10.2.0.0/16\","
		"\"prefix\":\"10.3.0.0/16\",\"IPAddresses\":[{\"Address\":\"10.2.0.5\",\"address\":"
		"\"10.2.0.6\",\"IsPrimary\":false,\"IsPrimary\":true}],\"IPAddresses\":[{\"Address\":"
		"\"10.2.0.9\"}]}],\"IPSubnets\":[]}],\"interfaces\":[]}",
		"{\"Interfaces\":null,\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\"}]}",
		"{\"interfaces\":[{\"macADDRESS\":\"000D3A6E1825\",\"ipsubnets\":[{\"PREFIX\":"
		"\"10.5.0.0/16\",\"ipaddresses\":[{\"address\":\"10.5.0.5\",\"isprimary\":true},"
		"{\"Address\":\"10.5.0.6\"}]}]}]}",
		"{\"Interfaces\":null}",
		"{\"Interfaces\":[]}",
		"{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IPSubnets\":null}]}",
		/* an escape: the cJSON reader reads it */
		"{\"Interfaces\":[{\"MacAddress\":\"000D3A6E18\\u0032\\u0035\",\"IPSubnets\":[]}]}",
		/* numbers cJSON takes and RFC 8259 does not */
		"{\"n\":01,\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\"}]}",
		/* refused */
		"{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IsPrimary\":\"yes\"}]}",
		"{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IPSubnets\":[{\"Prefix\":"
		"\"10.3.0.0/16\",\"IPAddresses\":[{\"Address\":\"10.4.0.1\"}]}]}]}",
		"{\"Interfaces\":[1]}",
		"{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\"},]}",
		"{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\"}",
		"[{\"Interfaces\":[]}]",
	};
	char a[IPNET_ADDR_STRLEN], b[IPNET_ADDR_STRLEN];

	(void)state;
	for (size_t c = 0; c < sizeof(docs) / sizeof(docs[0]); c++) {
		struct ipam_source x = {0}, y = {0};
		struct cni_error ex = {0}, ey = {0};
		int rx = ipam_source_parse_mas(docs[c], strlen(docs[c]), &x, &ex);
		int ry = ipam_source_parse_mas_tree(docs[c], strlen(docs[c]), &y, &ey);

		if (rx != ry || strcmp(ex.msg, ey.msg) != 0)
			fail_msg("doc %zu: %d \"%s\" against %d \"%s\"", c, rx, ex.msg, ry, ey.msg);
		assert_int_equal(x.n_ifaces, y.n_ifaces);
		for (size_t i = 0; i < x.n_ifaces; i++) {
			assert_string_equal(x.ifaces[i].mac, y.ifaces[i].mac);
			assert_int_equal(x.ifaces[i].is_primary, y.ifaces[i].is_primary);
			assert_int_equal(x.ifaces[i].n_subnets, y.ifaces[i].n_subnets);
			for (size_t j = 0; j < x.ifaces[i].n_subnets; j++) {
				const struct ipam_source_subnet *p = &x.ifaces[i].subnets[j];
				const struct ipam_source_subnet *q = &y.ifaces[i].subnets[j];

				assert_true(ipnet_addr_equal(&p->prefix.addr, &q->prefix.addr));
				assert_int_equal(p->prefix.len, q->prefix.len);
				assert_true(ipnet_addr_equal(&p->primary, &q->primary));
				assert_int_equal(p->n_addrs, q->n_addrs);
				for (size_t k = 0; k < p->n_addrs; k++) {
					addr_text(&p->addrs[k], a);
					addr_text(&q->addrs[k], b);
					assert_string_equal(a, b);
				}
			}
		}
		ipam_source_free(&x);
		ipam_source_free(&y);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_two_nics_detail),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_xml_normalise),
		cmocka_unit_test(test_mas_no_interfaces),
		cmocka_unit_test(test_mas_readers_agree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
