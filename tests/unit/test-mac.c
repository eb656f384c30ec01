/* SPDX-License-Identifier: MIT */
/* Unit tests of MAC address text: the three spellings parse to the same bytes in any case,
 * everything else is -EINVAL with the output untouched, and each style formats exactly. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/mac.h"

static const uint8_t want[MAC_LEN] = { 0x00, 0x0d, 0x3a, 0x6e, 0x18, 0xaf };

/* Colon, dash and bare spellings, upper, lower and mixed case, all give the same bytes. */
static void test_parse_good(void **state)
{
	static const char *const good[] = {
		"00:0d:3a:6e:18:af", "00:0D:3A:6E:18:AF", "00:0d:3A:6e:18:Af",
		"00-0D-3A-6E-18-AF", "00-0d-3a-6e-18-af",
		"000D3A6E18AF",      "000d3a6e18af",      "000d3A6E18aF",
	};
	uint8_t m[MAC_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(m, 0xee, sizeof(m));
		if (mac_parse(good[i], m) != 0)
			fail_msg("\"%s\" rejected", good[i]);
		assert_memory_equal(m, want, MAC_LEN);
	}
	assert_int_equal(mac_parse("ff:ff:ff:ff:ff:ff", m), 0);
	assert_int_equal(m[0] & m[1] & m[2] & m[3] & m[4] & m[5], 0xff);
	assert_int_equal(mac_parse("000000000000", m), 0);
	assert_int_equal(m[0] | m[1] | m[2] | m[3] | m[4] | m[5], 0);
}

/* Anything else fails and leaves the output as it was. */
static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"00:0d:3a:6e:18",        /* five groups */
		"00:0d:3a:6e:18:af:01",  /* seven groups */
		"00:0d:3a:6e:18:a",      /* short last group */
		"0:d:3a:6e:18:af",       /* one-digit groups (ebtables prints those; not accepted) */
		"00:0d-3a:6e:18:af",     /* mixed separators */
		"00-0d-3a-6e-18:af",
		"00.0d.3a.6e.18.af",     /* other separator */
		"000d.3a6e.18af",        /* Cisco dotted form */
		"000D3A6E18A",           /* 11 digits */
		"000D3A6E18AF0",         /* 13 digits */
		"000D3A6E18AG",          /* not hex */
		"00:0d:3a:6e:18:ag",
		"0x:0d:3a:6e:18:af",
		" 00:0d:3a:6e:18:af",    /* blanks */
		"00:0d:3a:6e:18:af ",
		"00:0d:3a:6e:18:af\n",
		"+0:0d:3a:6e:18:af",     /* what sscanf("%2x") would take */
		"00::0d:3a:6e:18:a",
		"*",                     /* the Go plugin's wildcard is the caller's business */
	};
	uint8_t m[MAC_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(m, 0xee, sizeof(m));
		if (mac_parse(bad[i], m) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
		for (int j = 0; j < MAC_LEN; j++)
			assert_int_equal(m[j], 0xee);
	}
	assert_int_equal(mac_parse(NULL, m), -EINVAL);
}

/* Each style, its exact text and length; the result parses back to the bytes. */
static void test_format(void **state)
{
	static const struct {
		enum mac_style style;
		const char *text;
	} cases[] = {
		{ MAC_COLON_LOWER, "00:0d:3a:6e:18:af" },
		{ MAC_DASH_UPPER, "00-0D-3A-6E-18-AF" },
		{ MAC_BARE_UPPER, "000D3A6E18AF" },
	};
	char buf[MAC_STRLEN];
	uint8_t back[MAC_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		assert_ptr_equal(mac_format(want, cases[i].style, buf, sizeof(buf)), buf);
		assert_string_equal(buf, cases[i].text);
		assert_int_equal(mac_parse(buf, back), 0);
		assert_memory_equal(back, want, MAC_LEN);
	}
	assert_int_equal(strlen("aa:bb:cc:dd:ee:ff") + 1, MAC_STRLEN);
}

/* A buffer one byte short fails with "" in it; exactly long enough works. */
static void test_format_short(void **state)
{
	char buf[MAC_STRLEN];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	assert_null(mac_format(want, MAC_COLON_LOWER, buf, MAC_STRLEN - 1));
	assert_int_equal(buf[0], '\0');
	assert_null(mac_format(want, MAC_DASH_UPPER, buf, MAC_STRLEN - 1));
	assert_null(mac_format(want, MAC_BARE_UPPER, buf, 12));
	assert_int_equal(buf[0], '\0');
	assert_non_null(mac_format(want, MAC_BARE_UPPER, buf, 13));
	assert_string_equal(buf, "000D3A6E18AF");
	assert_null(mac_format(want, MAC_COLON_LOWER, NULL, 0));
	assert_null(mac_format(want, (enum mac_style)7, buf, sizeof(buf)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_short),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
