/* SPDX-License-Identifier: MIT */
/* Helpers shared by the cmocka unit tests (header-only, static inline): reading a fixture of
 * tests/data (AZCNI_TEST_DATA) and finding an address record in an IPAM pool. A failure fails the
 * calling test through cmocka's asserts. Include after <cmocka.h>. */
#ifndef AZCNI_TESTS_FIXTURES_H
#define AZCNI_TESTS_FIXTURES_H

#include <stdio.h>
#include <stdlib.h>

#include "core/ipam.h"

/* fixture_read - the whole file AZCNI_TEST_DATA/@name as a malloc'd NUL-terminated buffer
 * (caller frees) with its length in *len; a missing or unreadable file fails the test. */
static inline char *fixture_read(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", AZCNI_TEST_DATA, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* fixture_pool_addr - the record of address @addr (text; must parse) in @pool, or NULL. Points
 * into pool. */
static inline struct ipam_addr *fixture_pool_addr(struct ipam_pool *pool, const char *addr)
{
	struct ipnet_addr a;

	assert_int_equal(ipnet_addr_parse(addr, &a), 0);
	for (size_t k = 0; k < pool->n_addrs; k++)
		if (ipnet_addr_equal(&pool->addrs[k].addr, &a))
			return &pool->addrs[k];
	return NULL;
}

#endif
