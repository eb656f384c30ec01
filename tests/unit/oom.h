/* SPDX-License-Identifier: MIT */
/* Allocation failure for unit tests (tests/unit/oom.c): a test linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free (tests/CMakeLists.txt, GNU ld,
 * both builds) has every malloc, calloc, realloc and free of the core and the test go through
 * oom.c, which fails the k-th allocation on demand and can count the allocations not freed. */
#ifndef AZCNI_TESTS_OOM_H
#define AZCNI_TESTS_OOM_H

#include <stdbool.h>
#include <stddef.h>

/* oom_arm - the @k-th allocation from now on fails (@k >= 1; 0: none), cJSON's too (its hooks
 * are set to the wrappers; a core function that sets them itself keeps going through them). */
void oom_arm(long k);

/* oom_disarm - no allocation fails any more; cJSON's hooks are its defaults again. */
void oom_disarm(void);

/* oom_failed - whether an allocation was failed since the last oom_arm. */
bool oom_failed(void);

/* oom_track - start counting: from now on each allocation made through the wrappers is noted
 * until freed (a free of what was not noted is ignored). */
void oom_track(void);

/* oom_live - how many allocations noted since oom_track are not freed yet (0 when none is
 * left: no leak); stops counting. */
size_t oom_live(void);

#endif
