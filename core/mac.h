/* SPDX-License-Identifier: MIT */
/* MAC addresses (6 bytes) as text in the forms the plugin meets: "aa:bb:cc:dd:ee:ff" (Linux,
 * CNI results), "AA-BB-CC-DD-EE-FF" (HNS), "AABBCCDDEEFF" (NMAgent). */
#ifndef AZCNI_MAC_H
#define AZCNI_MAC_H

#include <stddef.h>
#include <stdint.h>

#define MAC_LEN 6
#define MAC_STRLEN 18  /* "aa:bb:cc:dd:ee:ff" and its NUL */

enum mac_style {
	MAC_COLON_LOWER,  /* aa:bb:cc:dd:ee:ff */
	MAC_DASH_UPPER,   /* AA-BB-CC-DD-EE-FF */
	MAC_BARE_UPPER,   /* AABBCCDDEEFF */
};

/* mac_format - @mac in @style into @buf (@size bytes, MAC_STRLEN is enough). Returns @buf. */
char *mac_format(const uint8_t mac[MAC_LEN], enum mac_style style, char *buf, size_t size);

/* mac_parse - parse "aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF" or 12 bare hex digits (any case)
 * into @ret. Returns 0, or -EINVAL (NULL or anything else; @ret unchanged). */
int mac_parse(const char *s, uint8_t ret[MAC_LEN]);

#endif
