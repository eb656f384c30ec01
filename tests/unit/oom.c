/* SPDX-License-Identifier: MIT */
/* The allocation wrappers of oom.h: ld --wrap sends the test's and the core's malloc, calloc,
 * realloc and free here; __real_* are the C library's. Live allocations are noted in an
 * open-addressed set of pointers (tombstones for frees; emptied by oom_track). */
#include "oom.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

static long countdown; /* allocations till the one that fails; 0: none fails */
static bool failed;    /* an allocation was failed since oom_arm */

#define SLOTS (1u << 18)
#define TOMB ((void *)1)
static void *slots[SLOTS];
static bool tracking;
static size_t live;

static size_t slot_of(const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 40) & (SLOTS - 1);
}

static void note(void *p)
{
	size_t i = slot_of(p), n;

	if (!tracking || !p)
		return;
	for (n = 0; n < SLOTS; n++, i = (i + 1) & (SLOTS - 1)) {
		if (!slots[i] || slots[i] == TOMB) {
			slots[i] = p;
			live++;
			return;
		}
	}
	fprintf(stderr, "oom.c: more than %u allocations noted\n", SLOTS);
	abort();
}

static void forget(void *p)
{
	size_t i = slot_of(p), n;

	if (!tracking || !p)
		return;
	for (n = 0; n < SLOTS && slots[i]; n++, i = (i + 1) & (SLOTS - 1)) {
		if (slots[i] == p) {
			slots[i] = TOMB;
			live--;
			return;
		}
	}
}

static bool fail_now(void)
{
	if (countdown > 0 && --countdown == 0) {
		failed = true;
		return true;
	}
	return false;
}

void *__wrap_malloc(size_t n)
{
	void *p = fail_now() ? NULL : __real_malloc(n);

	note(p);
	return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
	void *p = fail_now() ? NULL : __real_calloc(n, size);

	note(p);
	return p;
}

void *__wrap_realloc(void *p, size_t n)
{
	void *q;

	if (fail_now())
		return NULL; /* @p stays */
	q = __real_realloc(p, n);
	if (q || n == 0)
		forget(p);
	note(q);
	return q;
}

void __wrap_free(void *p)
{
	forget(p);
	__real_free(p);
}

#ifdef _WIN32
/* mingw-w64's scanf (libmingwex, linked in and wrapped too) writes through the buffer it failed
 * to grow (resize_wbuf's NULL is not checked): an access violation, not an error. cJSON prints
 * every number through sscanf, so no allocation fails inside it (tests/CMakeLists.txt wraps
 * __mingw_vsscanf in the mingw build). */
int __real___mingw_vsscanf(const char *s, const char *fmt, va_list ap);
int __wrap___mingw_vsscanf(const char *s, const char *fmt, va_list ap);

int __wrap___mingw_vsscanf(const char *s, const char *fmt, va_list ap)
{
	long saved = countdown;
	int r;

	countdown = 0;
	r = __real___mingw_vsscanf(s, fmt, ap);
	countdown = saved;
	return r;
}
#endif

void oom_arm(long k)
{
	cJSON_Hooks hooks = { .malloc_fn = __wrap_malloc, .free_fn = __wrap_free };

	cJSON_InitHooks(&hooks);
	countdown = k;
	failed = false;
}

void oom_disarm(void)
{
	countdown = 0;
	cJSON_InitHooks(NULL);
}

bool oom_failed(void)
{
	return failed;
}

void oom_track(void)
{
	memset(slots, 0, sizeof(slots));
	live = 0;
	tracking = true;
}

size_t oom_live(void)
{
	tracking = false;
	return live;
}
