/* SPDX-License-Identifier: MIT */
/* Unit tests of base64 (RFC 4648 §4): the RFC's test vectors, binary masks and MACs as Go's
 * encoding/json writes them, padding rules, text that is not base64, and the @max bound. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base64.h"

/* Every vector encodes to its text and decodes back to its bytes. */
static void test_vectors(void **state)
{
	static const struct {
		const char *raw;
		size_t n;
		const char *b64;
	} vec[] = {
		/* RFC 4648 §10 */
		{"", 0, ""}, {"f", 1, "Zg=="}, {"fo", 2, "Zm8="}, {"foo", 3, "Zm9v"},
		{"foob", 4, "Zm9vYg=="}, {"fooba", 5, "Zm9vYmE="}, {"foobar", 6, "Zm9vYmFy"},
		/* a /16 netmask and a /28 one, as the state files carry them */
		{"\xff\xff\x00\x00", 4, "//8AAA=="}, {"\xff\xff\xff\xf0", 4, "////8A=="},
		/* a MAC (tests/data/net-state-go.json), and NUL bytes inside the data */
		{"\x92\x0d\xb8\xb0\xc2\x8b", 6, "kg24sMKL"}, {"\x00\x00\x00", 3, "AAAA"},
		{"\x00", 1, "AA=="}, {"\xfb\xff", 2, "+/8="},
	};
	unsigned char out[16];

	(void)state;
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		char *enc = base64_encode((const unsigned char *)vec[i].raw, vec[i].n);

		assert_non_null(enc);
		if (strcmp(enc, vec[i].b64) != 0)
			fail_msg("vector %zu: encoded \"%s\", want \"%s\"", i, enc, vec[i].b64);
		free(enc);
		memset(out, 0xee, sizeof(out));
		assert_int_equal(base64_decode(vec[i].b64, out, sizeof(out)), (int)vec[i].n);
		assert_memory_equal(out, vec[i].raw, vec[i].n);
		assert_int_equal(out[vec[i].n], 0xee);
	}
}

/* Lengths not a multiple of 4, missing or misplaced padding, non-zero bits before the padding
 * (Go rejects them), characters outside the alphabet (whitespace, URL-safe '-' '_') fail. */
static void test_bad_input(void **state)
{
	static const char *const bad[] = {
		"Zg",       /* padding missing */
		"Zg=",      /* short padding */
		"Z===",     /* three pad characters */
		"====",     /* only padding */
		"=Zg=",     /* padding first */
		"Zg=a",     /* data after padding */
		"Zg==Zg==", /* padding in the middle */
		"Zh==",     /* unused bits set before "==" */
		"Zm9=",     /* unused bits set before "=" */
		"Zm9v!A==", /* not in the alphabet */
		"Zm 9v",    /* whitespace */
		"Zm9v\n",   /* trailing newline */
		"-_8A",     /* URL-safe alphabet (RFC 4648 §5) */
		"Zm9vY",    /* one character over */
	};
	unsigned char out[16];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (base64_decode(bad[i], out, sizeof(out)) != -EINVAL)
			fail_msg("\"%s\" decoded", bad[i]);
}

/* Never writes past @max: text decoding to more bytes is -EINVAL, exactly @max is fine. */
static void test_max(void **state)
{
	unsigned char out[8];

	(void)state;
	memset(out, 0xee, sizeof(out));
	assert_int_equal(base64_decode("Zm9vYmFy", out, 5), -EINVAL);
	assert_int_equal(out[5], 0xee);
	assert_int_equal(base64_decode("Zm9vYmFy", out, 6), 6);
	assert_int_equal(out[6], 0xee);
	assert_int_equal(base64_decode("Zm8=", out, 1), -EINVAL);
	assert_int_equal(base64_decode("Zm8=", out, 2), 2);
	assert_int_equal(base64_decode("", out, 0), 0);
	/* a MAC field that holds 7 bytes does not fit a 6-byte buffer */
	assert_int_equal(base64_decode("kg24sMKLAA==", out, 6), -EINVAL);
}

/* Every length from 0 to 64 bytes of every byte value round-trips. */
static void test_round_trip(void **state)
{
	unsigned char data[64], out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(data); n++) {
		char *enc = base64_encode(data, n);

		assert_non_null(enc);
		assert_int_equal(strlen(enc), (n + 2) / 3 * 4);
		assert_int_equal(base64_decode(enc, out, sizeof(out)), (int)n);
		assert_memory_equal(out, data, n);
		free(enc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_max),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
