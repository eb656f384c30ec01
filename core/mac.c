/* SPDX-License-Identifier: MIT */
/* MAC address text: one parser for the colon, dash and bare spellings, one formatter. */
#include "mac.h"
#include "hex.h"

#include <errno.h>
#include <string.h>

char *mac_format(const uint8_t mac[MAC_LEN], enum mac_style style, char *buf, size_t size)
{
	static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
	const char *digits = style == MAC_COLON_LOWER ? lower : upper;
	char sep = style == MAC_COLON_LOWER ? ':' : style == MAC_DASH_UPPER ? '-' : '\0';
	size_t need = sep ? 3 * MAC_LEN : 2 * MAC_LEN + 1, n = 0;

	if ((unsigned)style > MAC_BARE_UPPER || size < need) {
		if (size > 0)
			buf[0] = '\0';
		return NULL;
	}
	for (int i = 0; i < MAC_LEN; i++) {
		if (sep && i > 0)
			buf[n++] = sep;
		buf[n++] = digits[mac[i] >> 4];
		buf[n++] = digits[mac[i] & 15];
	}
	buf[n] = '\0';
	return buf;
}

int mac_parse(const char *s, uint8_t ret[MAC_LEN])
{
	uint8_t out[MAC_LEN];
	size_t len = s ? strlen(s) : 0;
	char sep;

	if (len == 2 * MAC_LEN)
		sep = '\0';
	else if (len == 3 * MAC_LEN - 1 && (s[2] == ':' || s[2] == '-'))
		sep = s[2];
	else
		return -EINVAL;
	for (int i = 0; i < MAC_LEN; i++) {
		const char *p = s + (sep ? 3 * i : 2 * i);
		int hi = hex_digit(p[0]), lo = hex_digit(p[1]);

		if (hi < 0 || lo < 0 || (sep && i < MAC_LEN - 1 && p[2] != sep))
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(ret, out, MAC_LEN);
	return 0;
}
