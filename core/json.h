/* SPDX-License-Identifier: MIT */
/* cJSON parsing that tells out of memory from a text that is not JSON: cJSON returns NULL for
 * both, and a caller that reads NULL as a corrupt file or request (a state file set aside and
 * rebuilt, code 6) must not do so when an allocation failed. */
#ifndef AZCNI_JSON_H
#define AZCNI_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

/* json_parse - cJSON_ParseWithLengthOpts(@text, @len, @end, false): the JSON value at the start
 * of @len bytes at @text (no NUL needed; bytes after it are left to the caller, *@end says where
 * cJSON stopped when @end is not NULL). Returns the tree (caller cJSON_Delete), or NULL with
 * *@oom true when one of cJSON's allocations failed, false when the text is not JSON. cJSON's
 * allocations are watched through its hooks (cJSON_InitHooks), which are its defaults again
 * afterwards: not for use inside another watch of them (netstate's encode keeps its own). */
cJSON *json_parse(const char *text, size_t len, const char **end, bool *oom);

#endif
