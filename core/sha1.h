/* SPDX-License-Identifier: MIT */
/* SHA-1 (FIPS 180-4), only to derive interface names as the Go plugin does (azv + hex digest). */
#ifndef AZCNI_SHA1_H
#define AZCNI_SHA1_H

#include <stddef.h>
#include <stdint.h>

/* sha1_digest - the 20-byte SHA-1 of @len bytes at @data into @out. */
void sha1_digest(const void *data, size_t len, uint8_t out[20]);

/* sha1_hex - the lower-case hex SHA-1 of the string @s into @buf (>= 41 bytes). Returns buf. */
char *sha1_hex(const char *s, char *buf, size_t size);

#endif
