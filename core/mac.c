/* SPDX-License-Identifier: MIT */
#include "mac.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

char *mac_format(const uint8_t mac[MAC_LEN], enum mac_style style, char *buf, size_t size)
{
	const uint8_t *m = mac;

	switch (style) {
	case MAC_DASH_UPPER:
		snprintf(buf, size, "%02X-%02X-%02X-%02X-%02X-%02X", m[0], m[1], m[2], m[3], m[4], m[5]);
		break;
	case MAC_BARE_UPPER:
		snprintf(buf, size, "%02X%02X%02X%02X%02X%02X", m[0], m[1], m[2], m[3], m[4], m[5]);
		break;
	default:
		snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	}
	return buf;
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mac_parse(const char *s, uint8_t ret[MAC_LEN])
{
	uint8_t m[MAC_LEN];
	size_t len = s ? strlen(s) : 0, step, i;
	char sep;

	if (len == 17)
		step = 3, sep = s[2];
	else if (len == 12)
		step = 2, sep = 0;
	else
		return -EINVAL;
	if (sep && sep != ':' && sep != '-')
		return -EINVAL;
	for (i = 0; i < MAC_LEN; i++) {
		const char *p = s + i * step;
		int hi = hex(p[0]), lo = hex(p[1]);

		if (hi < 0 || lo < 0 || (sep && i < MAC_LEN - 1 && p[2] != sep))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(ret, m, MAC_LEN);
	return 0;
}
