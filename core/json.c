/* SPDX-License-Identifier: MIT */
/* json_parse: cJSON's parser with its allocations watched, so out of memory is told apart. */
#include "json.h"

#include <stdlib.h>

static bool failed; /* an allocation of the parse under way failed */

static void *watched_malloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		failed = true;
	return p;
}

cJSON *json_parse(const char *text, size_t len, const char **end, bool *oom)
{
	cJSON_Hooks hooks = { .malloc_fn = watched_malloc, .free_fn = free };
	cJSON *o;

	failed = false;
	cJSON_InitHooks(&hooks);
	o = cJSON_ParseWithLengthOpts(text, len, end, false);
	/* cJSON's defaults (what NULL sets), named through this file's references: a test that
	 * wraps the allocator (ld --wrap) keeps seeing the frees of what was parsed here */
	cJSON_InitHooks(&(cJSON_Hooks){ .malloc_fn = malloc, .free_fn = free });
	*oom = !o && failed;
	return o;
}
