/* SPDX-License-Identifier: MIT */
/* IPv4/IPv6 addresses and prefixes: parse, format, compare, subnet arithmetic.
 * Portable: no inet_pton, no OS headers. Text forms follow RFC 4632 (CIDR) and RFC 5952 (IPv6 output). */
#ifndef AZCNI_IPNET_H
#define AZCNI_IPNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPNET_AF_INET 2     /* same numbers the Go plugin persists in Subnets[].Family */
#define IPNET_AF_INET6 10
#define IPNET_ADDR_STRLEN 46  /* fits any formatted address, NUL included */
#define IPNET_PREFIX_STRLEN 50

/* An address: family IPNET_AF_INET (bytes[0..3] used) or IPNET_AF_INET6; family 0 = unset. */
struct ipnet_addr {
	int family;
	uint8_t bytes[16];
};

/* A prefix: address plus length in bits (0..32 or 0..128). */
struct ipnet_prefix {
	struct ipnet_addr addr;
	int len;
};

/* ipnet_addr_parse - parse dotted-quad IPv4 or RFC 4291 IPv6 text (no zone, no brackets).
 * Returns 0 and fills *ret, or -EINVAL (ret untouched). */
int ipnet_addr_parse(const char *s, struct ipnet_addr *ret);

/* ipnet_addr_parse_n - ipnet_addr_parse of the @n bytes at @s (no NUL needed; a NUL among
 * them is not an address). */
int ipnet_addr_parse_n(const char *s, size_t n, struct ipnet_addr *ret);

/* ipnet_prefix_parse - parse "a.b.c.d/len" or "v6/len". A bare address gets the full length
 * only when @allow_bare. Host bits are kept as written (use ipnet_prefix_network to mask).
 * Returns 0 or -EINVAL. */
int ipnet_prefix_parse(const char *s, bool allow_bare, struct ipnet_prefix *ret);

/* ipnet_addr_format - write the text form into @buf (size >= IPNET_ADDR_STRLEN). Returns buf. */
char *ipnet_addr_format(const struct ipnet_addr *a, char *buf, size_t size);

/* ipnet_prefix_format - "addr/len" into @buf (size >= IPNET_PREFIX_STRLEN). Returns buf. */
char *ipnet_prefix_format(const struct ipnet_prefix *p, char *buf, size_t size);

/* ipnet_addr_equal - same family and bytes. */
bool ipnet_addr_equal(const struct ipnet_addr *a, const struct ipnet_addr *b);

/* ipnet_addr_len - 4 or 16 (bytes used by the family), 0 when unset. */
int ipnet_addr_len(const struct ipnet_addr *a);

/* ipnet_prefix_contains - true when @a (same family) lies inside @p. */
bool ipnet_prefix_contains(const struct ipnet_prefix *p, const struct ipnet_addr *a);

/* ipnet_prefix_network - @p with host bits cleared. */
struct ipnet_prefix ipnet_prefix_network(const struct ipnet_prefix *p);

/* ipnet_prefix_first_host - the network address + 1 (Azure's gateway: x.x.x.1, or ::1). */
struct ipnet_addr ipnet_prefix_first_host(const struct ipnet_prefix *p);

/* ipnet_mask_bytes - the netmask of @len bits for @family into @mask (4 or 16 bytes). */
void ipnet_mask_bytes(int family, int len, uint8_t mask[16]);

/* ipnet_mask_len - prefix length of a contiguous netmask of @n bytes, or -EINVAL if not contiguous. */
int ipnet_mask_len(const uint8_t *mask, size_t n);

/* ipnet_addr_cmp - total order (family, then bytes) for sorting; <0, 0, >0. */
int ipnet_addr_cmp(const struct ipnet_addr *a, const struct ipnet_addr *b);

#endif
