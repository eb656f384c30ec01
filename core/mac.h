/* SPDX-License-Identifier: MIT */
/* Ethernet MAC addresses as text, in the three spellings the plugin meets: Linux and CNI results
 * ("aa:bb:cc:dd:ee:ff"), HNS/HCN ("AA-BB-CC-DD-EE-FF"), NMAgent and interfaces.json
 * ("AABBCCDDEEFF"). The one parser and formatter for all of them. */
#ifndef AZCNI_MAC_H
#define AZCNI_MAC_H

#include <stddef.h>
#include <stdint.h>

#define MAC_LEN 6     /* bytes of an Ethernet MAC address */
#define MAC_STRLEN 18 /* the longest spelling, "aa:bb:cc:dd:ee:ff", with its NUL */

/* How mac_format spells an address. */
enum mac_style {
	MAC_COLON_LOWER, /* "00:0d:3a:6e:18:25": ip link, CNI result "mac" (17 characters) */
	MAC_DASH_UPPER,  /* "00-0D-3A-6E-18-25": HNS/HCN "MacAddress" (17 characters) */
	MAC_BARE_UPPER,  /* "000D3A6E1825": NMAgent interface-info "MacAddress" (12 characters) */
};

/* mac_format - the @MAC_LEN bytes at @mac as text in @style into @buf of @size bytes
 * (MAC_STRLEN is enough for every style; MAC_BARE_UPPER needs 13). Returns @buf, or NULL when
 * @size is too small for the style (then @buf holds "" if @size > 0) or @style is unknown. */
char *mac_format(const uint8_t mac[MAC_LEN], enum mac_style style, char *buf, size_t size);

/* mac_parse - the NUL-terminated text @s as a MAC address into @ret (@MAC_LEN bytes, written
 * only on success). Accepts exactly six two-digit hex groups separated by ':' throughout
 * ("aa:bb:cc:dd:ee:ff") or by '-' throughout ("AA-BB-CC-DD-EE-FF"), or 12 hex digits with no
 * separator ("AABBCCDDEEFF"); hex digits in any case. Returns 0, or -EINVAL for anything else
 * (NULL, mixed or other separators, one-digit groups, surrounding blanks, extra characters). */
int mac_parse(const char *s, uint8_t ret[MAC_LEN]);

#endif
