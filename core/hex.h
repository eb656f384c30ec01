/* SPDX-License-Identifier: MIT */
/* One hexadecimal digit's value, for the parsers of IP addresses (ipnet), MAC addresses (mac),
 * JSON \u escapes (cni, netscan). */
#ifndef AZCNI_HEX_H
#define AZCNI_HEX_H

/* The value 0..15 of hex digit @c (either case); -1 when @c is not one. */
static inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
