/* SPDX-License-Identifier: MIT */
/* IPv4/IPv6 address and prefix text handling without OS headers. */
#include "ipnet.h"
#include "hex.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int parse_v4(const char *s, size_t n, uint8_t out[4])
{
	int part = 0;
	size_t i = 0;

	while (part < 4) {
		unsigned v = 0;
		size_t digits = 0;

		while (i < n && s[i] >= '0' && s[i] <= '9') {
			v = v * 10 + (unsigned)(s[i] - '0');
			if (++digits > 3 || v > 255)
				return -EINVAL;
			i++;
		}
		/* "010" could mean octal 8 (inet_aton) or decimal 10: refuse it, as Go's
		 * net.ParseIP does since Go 1.17. */
		if (digits == 0 || (digits > 1 && s[i - digits] == '0'))
			return -EINVAL;
		out[part++] = (uint8_t)v;
		if (part < 4) {
			if (i >= n || s[i] != '.')
				return -EINVAL;
			i++;
		}
	}
	return i == n ? 0 : -EINVAL;
}

static int parse_v6(const char *s, size_t n, uint8_t out[16])
{
	uint16_t words[8] = {0};
	int nw = 0, gap = -1;
	size_t i = 0;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	} else if (n >= 1 && s[0] == ':') {
		return -EINVAL;
	}
	while (i < n) {
		size_t start = i;
		unsigned v = 0;
		int h;

		while (i < n && (h = hex_digit(s[i])) >= 0) {
			v = (v << 4) | (unsigned)h;
			if (i - start >= 4)
				return -EINVAL;
			i++;
		}
		if (i < n && s[i] == '.') {
			uint8_t v4[4];

			if (nw > 6 || parse_v4(s + start, n - start, v4) < 0)
				return -EINVAL;
			words[nw++] = (uint16_t)(v4[0] << 8 | v4[1]);
			words[nw++] = (uint16_t)(v4[2] << 8 | v4[3]);
			i = n;
			break;
		}
		if (i == start || nw >= 8)
			return -EINVAL;
		words[nw++] = (uint16_t)v;
		if (i == n)
			break;
		if (s[i] != ':')
			return -EINVAL;
		i++;
		if (i < n && s[i] == ':') {
			if (gap >= 0)
				return -EINVAL;
			gap = nw;
			i++;
		} else if (i == n) {
			return -EINVAL;
		}
	}
	if (gap < 0 && nw != 8)
		return -EINVAL;
	if (gap >= 0) {
		int tail = nw - gap;

		if (nw >= 8)
			return -EINVAL;
		memmove(&words[8 - tail], &words[gap], (size_t)tail * sizeof(words[0]));
		memset(&words[gap], 0, (size_t)(8 - tail - gap) * sizeof(words[0]));
	}
	for (int k = 0; k < 8; k++) {
		out[2 * k] = (uint8_t)(words[k] >> 8);
		out[2 * k + 1] = (uint8_t)words[k];
	}
	return 0;
}

static int addr_parse_n(const char *s, size_t n, struct ipnet_addr *ret)
{
	struct ipnet_addr a = {0};

	if (memchr(s, ':', n)) {
		if (parse_v6(s, n, a.bytes) < 0)
			return -EINVAL;
		a.family = IPNET_AF_INET6;
	} else {
		if (parse_v4(s, n, a.bytes) < 0)
			return -EINVAL;
		a.family = IPNET_AF_INET;
	}
	*ret = a;
	return 0;
}

int ipnet_addr_parse_n(const char *s, size_t n, struct ipnet_addr *ret)
{
	return addr_parse_n(s, n, ret);
}

int ipnet_addr_parse(const char *s, struct ipnet_addr *ret)
{
	if (!s)
		return -EINVAL;
	return addr_parse_n(s, strlen(s), ret);
}

int ipnet_prefix_parse(const char *s, bool allow_bare, struct ipnet_prefix *ret)
{
	const char *slash;
	struct ipnet_prefix p;
	int max;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash) {
		if (!allow_bare || ipnet_addr_parse(s, &p.addr) < 0)
			return -EINVAL;
		p.len = ipnet_addr_len(&p.addr) * 8;
		*ret = p;
		return 0;
	}
	if (addr_parse_n(s, (size_t)(slash - s), &p.addr) < 0)
		return -EINVAL;
	max = ipnet_addr_len(&p.addr) * 8;
	p.len = 0;
	if (slash[1] == '\0' || strlen(slash + 1) > 3)
		return -EINVAL;
	for (const char *c = slash + 1; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		p.len = p.len * 10 + (*c - '0');
	}
	if (p.len > max)
		return -EINVAL;
	*ret = p;
	return 0;
}

/* @v (0..255) in decimal at @o; returns the characters written. */
static size_t put_dec8(char *o, unsigned v)
{
	size_t n = 0;

	if (v >= 100)
		o[n++] = (char)('0' + v / 100);
	if (v >= 10)
		o[n++] = (char)('0' + v / 10 % 10);
	o[n++] = (char)('0' + v % 10);
	return n;
}

static size_t put_quad(char *o, const uint8_t *b)
{
	size_t n = 0;

	for (int k = 0; k < 4; k++) {
		if (k)
			o[n++] = '.';
		n += put_dec8(o + n, b[k]);
	}
	return n;
}

/* @v in lower-case hex without leading zeros at @o; returns the characters written. */
static size_t put_hex16(char *o, unsigned v)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	int shift = 12;

	while (shift > 0 && !(v >> shift & 0xf))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		o[n++] = hex[v >> shift & 0xf];
	return n;
}

/* The text form of @a into @o (IPNET_ADDR_STRLEN bytes), without snprintf: a state file's
 * save formats every address record's. Returns the length. */
static size_t addr_text(const struct ipnet_addr *a, char *o)
{
	size_t n = 0;

	if (a->family == IPNET_AF_INET) {
		n = put_quad(o, a->bytes);
	} else if (a->family == IPNET_AF_INET6 &&
		   memcmp(a->bytes, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		/* IPv4-mapped: RFC 5952 section 5 keeps the dotted quad */
		memcpy(o, "::ffff:", 7);
		n = 7 + put_quad(o + 7, a->bytes + 12);
	} else if (a->family == IPNET_AF_INET6) {
		uint16_t w[8];
		int best = -1, best_len = 0;

		for (int k = 0; k < 8; k++)
			w[k] = (uint16_t)(a->bytes[2 * k] << 8 | a->bytes[2 * k + 1]);
		/* RFC 5952 4.2: the longest run of two or more zero words, the first of equals */
		for (int k = 0; k < 8;) {
			int j = k;

			while (j < 8 && w[j] == 0)
				j++;
			if (j - k > best_len && j - k >= 2) {
				best = k;
				best_len = j - k;
			}
			k = j > k ? j : k + 1;
		}
		for (int k = 0; k < 8; k++) {
			if (k == best) {
				o[n++] = ':';
				o[n++] = ':';
				k += best_len - 1;
				continue;
			}
			if (k != 0 && k != best + best_len)
				o[n++] = ':';
			n += put_hex16(o + n, w[k]);
		}
	} else {
		memcpy(o, "<unset>", 7);
		n = 7;
	}
	o[n] = '\0';
	return n;
}

char *ipnet_addr_format(const struct ipnet_addr *a, char *buf, size_t size)
{
	char t[IPNET_ADDR_STRLEN];
	size_t n;

	if (size == 0)
		return buf;
	if (size >= IPNET_ADDR_STRLEN) {
		addr_text(a, buf);
		return buf;
	}
	n = addr_text(a, t);
	if (n >= size)
		n = size - 1;
	memcpy(buf, t, n);
	buf[n] = '\0';
	return buf;
}

char *ipnet_prefix_format(const struct ipnet_prefix *p, char *buf, size_t size)
{
	char a[IPNET_ADDR_STRLEN];

	snprintf(buf, size, "%s/%d", ipnet_addr_format(&p->addr, a, sizeof(a)), p->len);
	return buf;
}

int ipnet_addr_len(const struct ipnet_addr *a)
{
	return a->family == IPNET_AF_INET ? 4 : a->family == IPNET_AF_INET6 ? 16 : 0;
}

bool ipnet_addr_equal(const struct ipnet_addr *a, const struct ipnet_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, (size_t)ipnet_addr_len(a)) == 0;
}

int ipnet_addr_cmp(const struct ipnet_addr *a, const struct ipnet_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->bytes, b->bytes, (size_t)ipnet_addr_len(a));
}

void ipnet_mask_bytes(int family, int len, uint8_t mask[16])
{
	int n = family == IPNET_AF_INET ? 4 : 16;

	memset(mask, 0, 16);
	for (int k = 0; k < n; k++) {
		int bits = len - 8 * k;

		mask[k] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

int ipnet_mask_len(const uint8_t *mask, size_t n)
{
	int len = 0;
	bool ended = false;

	for (size_t k = 0; k < n; k++) {
		for (int b = 7; b >= 0; b--) {
			bool set = mask[k] >> b & 1;

			if (set && ended)
				return -EINVAL;
			if (set)
				len++;
			else
				ended = true;
		}
	}
	return len;
}

bool ipnet_prefix_contains(const struct ipnet_prefix *p, const struct ipnet_addr *a)
{
	int n = ipnet_addr_len(a), bits = p->len;

	if (p->addr.family != a->family)
		return false;
	/* the bytes the mask covers (ipnet_mask_bytes'), without making the mask: a pool's
	 * decode asks this of every record */
	for (int k = 0; k < n && bits > 0; k++, bits -= 8) {
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		if ((p->addr.bytes[k] ^ a->bytes[k]) & m)
			return false;
	}
	return true;
}

struct ipnet_prefix ipnet_prefix_network(const struct ipnet_prefix *p)
{
	struct ipnet_prefix r = *p;
	uint8_t mask[16];

	ipnet_mask_bytes(p->addr.family, p->len, mask);
	for (int k = 0; k < 16; k++)
		r.addr.bytes[k] &= mask[k];
	return r;
}

struct ipnet_addr ipnet_prefix_first_host(const struct ipnet_prefix *p)
{
	struct ipnet_prefix n = ipnet_prefix_network(p);
	int last = ipnet_addr_len(&n.addr) - 1;

	if (last >= 0)
		n.addr.bytes[last] |= 1;
	return n.addr;
}
