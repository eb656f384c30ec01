/* SPDX-License-Identifier: MIT */
/* What the libFuzzer harnesses of tests/fuzz share: a NUL-terminated copy of the input (for
 * parsers that take C strings) and an assertion that aborts, so a broken invariant is a crash
 * libFuzzer reports and keeps as an artifact. Built only with AZCNI_FUZZ (clang). */
#ifndef AZCNI_FUZZ_H
#define AZCNI_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* fuzz_cstr - @size bytes of @data plus a NUL, malloc'd (caller frees); an embedded NUL ends
 * the string early, as it would for a C string from the environment or an API. Aborts on out of
 * memory. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#define FUZZ_ASSERT(cond)                                                                   \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                     \
			abort();                                                            \
		}                                                                           \
	} while (0)

/* FUZZ_ASSERT_TERMINATED - the char array @a holds a NUL (no parser may fill a fixed buffer
 * without one). */
#define FUZZ_ASSERT_TERMINATED(a) FUZZ_ASSERT(memchr((a), '\0', sizeof(a)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
