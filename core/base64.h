/* SPDX-License-Identifier: MIT */
/* Standard base64 (RFC 4648 §4, with padding), as Go's encoding/json writes []byte: the masks
 * and MACs of the state documents (ipamstate, netstate). */
#ifndef AZCNI_BASE64_H
#define AZCNI_BASE64_H

#include <stddef.h>

/* base64_encode - @n bytes of @data (may be NULL when @n is 0) as standard base64 (RFC 4648 §4,
 * "=" padding to a multiple of 4 characters; 4 * ceil(@n / 3) characters), as Go's
 * encoding/json writes []byte. Returns malloc'd NUL-terminated text (caller frees; "" for
 * @n = 0), or NULL on out of memory. */
char *base64_encode(const unsigned char *data, size_t n);

/* base64_decode - decode the NUL-terminated base64 text @s (RFC 4648 §4 alphabet; the length a
 * multiple of 4, "=" padding required and only at the end, the unused bits before it zero, as
 * Go's base64.StdEncoding checks) into @out, writing at most @max bytes. Returns the byte count
 * (0 for ""), or -EINVAL for text that is not base64 (whitespace included) or decodes to more
 * than @max bytes (@out may then hold a prefix; nothing is written past @max). */
int base64_decode(const char *s, unsigned char *out, size_t max);

#endif
