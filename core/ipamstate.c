/* SPDX-License-Identifier: MIT */
/* The IPAM state document in the Go plugin's layout (ACN store/json.go writes
 * json.MarshalIndent(map, "", "\t") of ipam/manager.go's addressManager), and RFC 3339 times.
 * Subnet masks are base64 (base64.h) as Go's encoding/json writes []byte. Decoding is tolerant
 * as Go's encoding/json: keys match case-insensitively, unknown keys are ignored, missing fields
 * take zero values. A call pays for a scan of the text and its address records, not a parse
 * tree of them: netscan indexes the records of the local pools by byte span, cJSON parses the
 * rest (the skeleton, a few hundred bytes), the records' fields are read from their spans
 * (dec_addr on a cJSON parse of the record when it has escapes or odd types), and a save copies
 * every record it did not change as its bytes (a run of them that lie in the text as the save
 * would write them, in one piece).
 *
 * Fields we add (ignored by the Go plugin, which skips unknown keys):
 *   pool    "Primary":   the NIC's primary IP in the subnet (never handed out), omitted if unknown
 *   address "IfName":    the owner's interface name (owner = ID + IfName); "" = any (Go-written)
 *   address "Unhealthy": the address vanished from the source while in use (dropped on release)
 *   IPAM    "LastRefresh": when the source (NMAgent, interfaces.json) was last read into the
 *                        pools, RFC 3339 UTC seconds ("2026-11-29T08:49:31Z"); omitted if unknown.
 *                        Lets ipam.queryInterval throttle source reads across processes. The Go
 *                        plugin drops it when it saves, and an unparsable value reads as unknown:
 *                        either way the next ADD reads the source. */
#include "ipamstate.h"

#include <errno.h>
#include <math.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "base64.h"
#include "json.h"
#include "netscan.h"

#ifndef AZCNI_VERSION
#define AZCNI_VERSION "0.0.0"
#endif

/* ---- RFC 3339 times (UTC seconds since 1970) ---- */

/* Days from 1970-01-01 to the first day of year @y (proleptic Gregorian, @y >= 1). */
static long long days_to_year(long long y)
{
	long long p = y - 1, q = 1969;

	return (365 * p + p / 4 - p / 100 + p / 400) - (365 * q + q / 4 - q / 100 + q / 400);
}

static bool leap_year(long long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days before month @m (1..12) in a year. */
static int days_to_month(int m, bool leap)
{
	static const int cum[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};

	return cum[m - 1] + (leap && m > 2);
}

/* @n decimal digits at @s into *v; false when any is not a digit. */
static bool digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

int ipamstate_rfc3339_parse(const char *s, long long *ret)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *p = s + 19;
	long long t;

	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return -EINVAL;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap_year(y)) || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	if (*p == '.') {
		const char *f = ++p;

		while (*p >= '0' && *p <= '9')
			p++;
		if (p == f)
			return -EINVAL;
	}
	if ((*p == 'Z' || *p == 'z') && !p[1]) {
		sign = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && digits(p + 1, 2, &oh) &&
		   p[3] == ':' && digits(p + 4, 2, &om) && oh <= 23 && om <= 59) {
		sign = *p == '+' ? 1 : -1;
	} else {
		return -EINVAL;
	}
	t = days_to_year(y) + days_to_month(mo, leap_year(y)) + d - 1;
	t = ((t * 24 + h) * 60 + mi) * 60 + sec;
	*ret = t - sign * ((long long)oh * 3600 + om * 60);
	return 0;
}

int ipamstate_rfc3339_format(long long t, char *buf, size_t size)
{
	long long days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400), rem = t - days * 86400;
	long long y = 1970 + days / 366;
	int mo = 1;

	/* Start below the year (366-day years never overshoot) and walk up. */
	while (days_to_year(y + 1) <= days)
		y++;
	while (days_to_year(y) > days)
		y--;
	days -= days_to_year(y);
	while (mo < 12 && days_to_month(mo + 1, leap_year(y)) <= days)
		mo++;
	days -= days_to_month(mo, leap_year(y));
	if (y < 1 || y > 9999)
		return -EINVAL;
	return snprintf(buf, size, "%04lld-%02d-%02lldT%02lld:%02lld:%02lldZ", y, mo, days + 1,
			rem / 3600, rem / 60 % 60, rem % 60) < (int)size ? 0 : -ENOSPC;
}

/* ---- decode ---- */

/* What netscan indexes: the local space's address records (keys as Go writes them, exact case)
 * and of each the fields dec_addr reads. Lenient, and bytes after the document not looked at:
 * what is not an object, and where, is judged below as when the whole text went to cJSON. */
enum { F_ID, F_ADDR, F_INUSE, F_IFNAME, F_UNHEALTHY };
const struct netscan_layout ipamstate_records_layout = {
	.path = { "IPAM", "AddressSpaces", "local", "Pools", "*", "Addresses" },
	.depth = 6,
	.fields = { "ID", "Addr", "InUse", "IfName", "Unhealthy" },
	.n_fields = 5,
	.what = "Addresses",
	.what_entry = "Addresses entry",
	.lenient = true,
	.trailing = true,
};

struct dec {
	const char *path;
	struct cni_error *err;
	const char *text;                   /* the space's copy of the text */
	size_t len;
	const struct netscan *scan;
	bool *taken;                        /* per map of scan: its marker was read */
	bool indexed;                       /* the pools being read are at ipamstate_records_layout's path */
};

static int dec_fail(const struct dec *d, const char *fmt, ...) __attribute__((format(gnu_printf, 2, 3)));

static int dec_fail(const struct dec *d, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return cni_error_set(d->err, -EINVAL, CNI_CODE_DECODE, "IPAM state file %s: %s", d->path, what);
}

static int bad_json(const struct dec *d, size_t off)
{
	return dec_fail(d, "not valid JSON (byte %zu of %zu); remove the file only if no "
			"container holds an address from it", off, d->len);
}

/* Out of memory (code 100), never read as a corrupt file (json_parse). */
static int dec_oom(const struct dec *d)
{
	return cni_error_set(d->err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
}

/* Member @key of @obj (case-insensitive); NULL when absent or JSON null (Go: zero value). */
static const cJSON *member(const cJSON *obj, const char *key)
{
	const cJSON *m = cJSON_GetObjectItem(obj, key);

	return m && !cJSON_IsNull(m) ? m : NULL;
}

static int dec_string(const struct dec *d, const cJSON *obj, const char *key, const char *where,
		      const char **ret)
{
	const cJSON *m = member(obj, key);

	*ret = "";
	if (!m)
		return 0;
	if (!cJSON_IsString(m))
		return dec_fail(d, "%s.%s is not a string", where, key);
	*ret = m->valuestring;
	return 0;
}

static int dec_bool(const struct dec *d, const cJSON *obj, const char *key, const char *where,
		    bool *ret)
{
	const cJSON *m = member(obj, key);

	*ret = false;
	if (!m)
		return 0;
	if (!cJSON_IsBool(m))
		return dec_fail(d, "%s.%s is not a boolean", where, key);
	*ret = cJSON_IsTrue(m);
	return 0;
}

static int dec_int(const struct dec *d, const cJSON *obj, const char *key, const char *where,
		   int *ret)
{
	const cJSON *m = member(obj, key);

	*ret = 0;
	if (!m)
		return 0;
	if (!cJSON_IsNumber(m) || m->valuedouble < INT_MIN || m->valuedouble > INT_MAX ||
	    m->valuedouble != (double)(int)m->valuedouble)
		return dec_fail(d, "%s.%s is not an integer", where, key);
	*ret = (int)m->valuedouble;
	return 0;
}

/* An IP as Go's net.IP marshals it (text); "" = none (family 0). */
static int dec_ip(const struct dec *d, const cJSON *obj, const char *key, const char *where,
		  struct ipnet_addr *ret)
{
	const char *s;
	int r = dec_string(d, obj, key, where, &s);

	memset(ret, 0, sizeof(*ret));
	if (r < 0 || s[0] == '\0')
		return r;
	if (ipnet_addr_parse(s, ret) < 0)
		return dec_fail(d, "%s.%s \"%s\" is not an IP address", where, key, s);
	return 0;
}

/* Go net.IPNet: {"IP":"10.240.0.0","Mask":"//8AAA=="}. The mask may be 4 or 16 bytes (an
 * IPv4 net with a 16-byte mask carries it in the last 4). Absent: @ret->len = -1. */
static int dec_subnet(const struct dec *d, const cJSON *pool, const char *where,
		      struct ipnet_prefix *ret)
{
	const cJSON *sub = member(pool, "Subnet");
	unsigned char mask[16];
	const char *mask_s;
	int n, len, r;

	ret->len = -1;
	if (!sub)
		return 0;
	if (!cJSON_IsObject(sub))
		return dec_fail(d, "%s.Subnet is not an object", where);
	r = dec_ip(d, sub, "IP", where, &ret->addr);
	if (r == 0)
		r = dec_string(d, sub, "Mask", where, &mask_s);
	if (r < 0)
		return r;
	if (ret->addr.family == 0)
		return 0;
	n = base64_decode(mask_s, mask, sizeof(mask));
	if (n == 16 && ret->addr.family == IPNET_AF_INET)
		len = memcmp(mask, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 12) == 0
			      ? ipnet_mask_len(mask + 12, 4) : -EINVAL;
	else if (n == ipnet_addr_len(&ret->addr))
		len = ipnet_mask_len(mask, (size_t)n);
	else
		len = -EINVAL;
	if (len < 0)
		return dec_fail(d, "%s.Subnet.Mask \"%s\" is not a netmask for %s", where, mask_s,
				ret->addr.family == IPNET_AF_INET ? "IPv4" : "IPv6");
	ret->len = len;
	*ret = ipnet_prefix_network(ret);
	return 0;
}

static int dec_addr(const struct dec *d, const cJSON *ja, const char *where, struct ipam_addr *rec)
{
	const char *id = "", *ifname = "";
	int r;

	if (!cJSON_IsObject(ja))
		return dec_fail(d, "%s is not an object", where);
	memset(rec, 0, sizeof(*rec));
	r = dec_string(d, ja, "ID", where, &id);
	if (r == 0)
		r = dec_string(d, ja, "IfName", where, &ifname);
	if (r == 0)
		r = dec_ip(d, ja, "Addr", where, &rec->addr);
	if (r == 0)
		r = dec_bool(d, ja, "InUse", where, &rec->in_use);
	if (r == 0)
		r = dec_bool(d, ja, "Unhealthy", where, &rec->unhealthy);
	if (r < 0)
		return r;
	if (strlen(id) >= sizeof(rec->id) || strlen(ifname) >= sizeof(rec->ifname))
		return dec_fail(d, "%s: ID or IfName too long", where);
	memcpy(rec->id, id, strlen(id) + 1);
	memcpy(rec->ifname, ifname, strlen(ifname) + 1);
	/* Go's record is keyed by the address text; Addr may be missing in hand-made files. */
	if (rec->addr.family == 0 && ipnet_addr_parse(ja->string, &rec->addr) < 0)
		return dec_fail(d, "%s has no usable address", where);
	return 0;
}

/* "<pool where> address <key>" into @buf for messages: built by hand, as snprintf per address
 * was a tenth of decoding a 250-address state. */
static void where_addr(char *buf, size_t size, const char *pool_where, const char *key)
{
	static const char mid[] = " address ";
	size_t n = strlen(pool_where), m = key ? strnlen(key, IPNET_ADDR_STRLEN) : 0;

	if (n + sizeof(mid) - 1 + m + 1 > size) {
		snprintf(buf, size, "%s%s%.*s", pool_where, mid, (int)m, key ? key : "");
		return;
	}
	memcpy(buf, pool_where, n);
	memcpy(buf + n, mid, sizeof(mid) - 1);
	memcpy(buf + n + sizeof(mid) - 1, key, m);
	buf[n + sizeof(mid) - 1 + m] = '\0';
}

/* A record's address as two big-endian words (a pool's records are of one family, and an
 * IPv4 address's bytes past the fourth are zero) and its index: ordered as ipnet_addr_cmp
 * orders the addresses, then by index. */
struct sort_key {
	uint64_t hi, lo;
	size_t i;
};

static uint64_t be64(const uint8_t *b)
{
	/* spelt out so that compilers make it one load and a byte swap */
	return (uint64_t)b[0] << 56 | (uint64_t)b[1] << 48 | (uint64_t)b[2] << 40 |
	       (uint64_t)b[3] << 32 | (uint64_t)b[4] << 24 | (uint64_t)b[5] << 16 |
	       (uint64_t)b[6] << 8 | (uint64_t)b[7];
}

/* Byte @b (0 = the lowest) of key @k's address, as a 16-byte big-endian number. */
static unsigned key_byte(const struct sort_key *k, int b)
{
	return (unsigned)((b < 8 ? k->lo : k->hi) >> (b % 8 * 8)) & 0xff;
}

/* LSD radix sort of @n keys, given in index order, by address: one counting pass per byte in
 * which the addresses differ (a pool's addresses share most of theirs: two passes for a /16 of
 * IPv4), each stable, so equal addresses stay in index order. Uses @tmp (n entries); returns
 * the array that holds them sorted (@k or @tmp). A merge sort of the 250 records of a Go-written
 * pool (its text order is not the addresses' order) was a tenth of an ADD's IPAM step. */
static struct sort_key *sort_keys(struct sort_key *k, struct sort_key *tmp, size_t n)
{
	uint64_t dhi = 0, dlo = 0;
	size_t count[256];

	for (size_t i = 1; i < n; i++) {
		dhi |= k[i].hi ^ k[0].hi;
		dlo |= k[i].lo ^ k[0].lo;
	}
	for (int b = 0; b < 16; b++) {
		struct sort_key *swap;
		size_t sum = 0;

		if (((b < 8 ? dlo : dhi) >> (b % 8 * 8) & 0xff) == 0)
			continue;
		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[key_byte(&k[i], b)]++;
		for (size_t c = 0; c < 256; c++) {
			size_t t = count[c];

			count[c] = sum;
			sum += t;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[key_byte(&k[i], b)]++] = k[i];
		swap = k;
		k = tmp;
		tmp = swap;
	}
	return k;
}

/* Sort @pool's records by address and merge duplicates (the first in the file wins), in
 * O(n) and in place: (address, position) keys are sorted, the record for each place is
 * found (duplicates last), and the records are moved there along the permutation's cycles,
 * each once (no second array of records: they are most of a decode's memory). */
static int pool_sort_unique(const struct dec *d, struct ipam_pool *pool)
{
	size_t n = pool->n_addrs, k = 0, dup;
	struct sort_key *keys, *tmp, *sorted;
	struct ipam_addr t;
	size_t *from;

	if (n < 2)
		return 0;
	keys = malloc(2 * n * sizeof(*keys) + n * sizeof(*from));
	if (!keys)
		return cni_error_set(d->err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	tmp = keys + n;
	from = (size_t *)(keys + 2 * n);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *b = pool->addrs[i].addr.bytes;

		keys[i] = (struct sort_key){ be64(b), be64(b + 8), i };
	}
	sorted = sort_keys(keys, tmp, n);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || sorted[i].hi != sorted[i - 1].hi || sorted[i].lo != sorted[i - 1].lo)
			k++;
	dup = k;
	k = 0;
	/* from[p]: the record that goes to place p */
	for (size_t i = 0; i < n; i++) {
		bool is_dup = i > 0 && sorted[i].hi == sorted[i - 1].hi && sorted[i].lo == sorted[i - 1].lo;

		from[is_dup ? dup++ : k++] = sorted[i].i;
	}
	for (size_t p = 0; p < n; p++) {
		size_t q = p;

		if (from[p] == p)
			continue;
		t = pool->addrs[p];
		while (from[q] != p) {
			size_t next = from[q];

			pool->addrs[q] = pool->addrs[next];
			from[q] = q;
			q = next;
		}
		pool->addrs[q] = t;
		from[q] = q;
	}
	free(keys);
	pool->n_addrs = k;
	return 0;
}

/* The map whose marker @v is, when it is one at ipamstate_records_layout's path; else NULL (a value
 * judged as read: netscan left it, or put a marker naming no map in place of a forged one).
 * A map's marker is read once: a second one naming it (written in the file under keys spelt
 * with escapes, which netscan does not follow) is judged as read too. */
static const struct netscan_map *marker(const struct dec *d, const cJSON *v)
{
	static const size_t mark_len = sizeof(NETSCAN_MARK) - 1;
	const char *s;
	size_t k = 0;

	if (!d->indexed || !d->scan || !cJSON_IsString(v) || !v->string ||
	    strcmp(v->string, "Addresses") != 0 || strncmp(v->valuestring, NETSCAN_MARK, mark_len) != 0)
		return NULL;
	s = v->valuestring + mark_len;
	if (*s < '0' || *s > '9')
		return NULL;
	for (; *s >= '0' && *s <= '9' && k < d->scan->n_maps; s++)
		k = k * 10 + (size_t)(*s - '0');
	if (*s || k >= d->scan->n_maps || d->taken[k])
		return NULL;
	d->taken[k] = true;
	return &d->scan->maps[k];
}

/* Field @i of record @nr is a string without escapes (absent or null too when @or_none). */
static bool plain_str(const struct dec *d, const struct netscan_record *nr, int i, bool or_none)
{
	const struct netscan_field *f = &nr->f[i];

	if (f->type == NETSCAN_ABSENT || f->type == NETSCAN_NULL)
		return or_none;
	return f->type == NETSCAN_STRING && (f->len == 0 || !memchr(d->text + f->off, '\\', f->len));
}

static bool plain_bool(const struct netscan_record *nr, int i)
{
	enum netscan_type t = nr->f[i].type;

	return t == NETSCAN_ABSENT || t == NETSCAN_NULL || t == NETSCAN_TRUE || t == NETSCAN_FALSE;
}

/* The IPv4 address a pool's record keys were last parsed to: its text up to and with the last
 * '.', and its first three bytes. A pool's keys come in text order, so most share all but the
 * last byte with the one before. */
struct key_run {
	const char *pre;                   /* NULL = none yet */
	size_t pre_len;
	uint8_t head[3];
};

/* @t (@n bytes, no escapes) parsed as ipnet_addr_parse_n parses it, into *ret: only its last
 * byte when the text before that is @run's (whose address was read the same way), else all of
 * it (@run then takes it when it is IPv4). Returns 0 or -EINVAL. */
static int key_parse(struct key_run *run, const char *t, size_t n, struct ipnet_addr *ret)
{
	size_t dot = n, i;
	unsigned v = 0;
	int r;

	while (dot > 0 && n - dot < 4 && t[dot - 1] != '.')
		dot--;
	/* 1 to 3 digits after the same text, no leading zero, at most 255: the same bytes as
	 * parse_v4 gives */
	if (run->pre && dot == run->pre_len && dot < n && n - dot <= 3 &&
	    (n - dot == 1 || t[dot] != '0') && memcmp(t, run->pre, dot) == 0) {
		for (i = dot; i < n && t[i] >= '0' && t[i] <= '9'; i++)
			v = v * 10 + (unsigned)(t[i] - '0');
		if (i == n && v <= 255) {
			memset(ret, 0, sizeof(*ret));
			ret->family = IPNET_AF_INET;
			memcpy(ret->bytes, run->head, 3);
			ret->bytes[3] = (uint8_t)v;
			return 0;
		}
	}
	r = ipnet_addr_parse_n(t, n, ret);
	if (r < 0 || ret->family != IPNET_AF_INET)
		return r;
	for (dot = n; t[dot - 1] != '.'; dot--)
		;
	*run = (struct key_run){ .pre = t, .pre_len = dot };
	memcpy(run->head, ret->bytes, 3);
	return 0;
}

/* Record @nr read from its spans, as dec_addr reads the object (same messages; @w gets its
 * name for them, and stays "" on success); 1 when it needs dec_addr (escapes, in a field or a
 * member's key, a field of another type, a key or Addr longer than any address), without an
 * error. On success src is
 * set when the key and Addr are the address's own text (a save may then copy the bytes). */
static int fast_addr(const struct dec *d, const struct netscan_record *nr, const char *pool_where,
		     char *w, size_t w_size, struct key_run *run, struct ipam_addr *rec)
{
	const struct netscan_field *f = nr->f, *fa = &f[F_ADDR];
	const char *key = d->text + nr->key_off, *id = "", *ifname = "", *atext;
	char ktext[IPNET_ADDR_STRLEN], canon[IPNET_ADDR_STRLEN], addr[IPNET_ADDR_STRLEN];
	size_t id_len = 0, ifname_len = 0, clen;
	bool has_addr = fa->type == NETSCAN_STRING && fa->len > 0, same;

	if (nr->escaped_key || nr->key_len >= sizeof(ktext) || memchr(key, '\\', nr->key_len) ||
	    !plain_str(d, nr, F_ID, true) || !plain_str(d, nr, F_IFNAME, true) ||
	    !plain_str(d, nr, F_ADDR, true) || (has_addr && fa->len >= sizeof(addr)) ||
	    !plain_bool(nr, F_INUSE) || !plain_bool(nr, F_UNHEALTHY))
		return 1;
	/* the record's name for messages, only when there is one to give */
#define W() (memcpy(ktext, key, nr->key_len), ktext[nr->key_len] = '\0', \
	     where_addr(w, w_size, pool_where, ktext), w)
	memset(&rec->addr, 0, sizeof(rec->addr));
	atext = d->text + fa->off;
	/* Addr spelt as the key (or absent): the key's address, read as @run allows */
	same = !has_addr || (fa->len == nr->key_len && memcmp(atext, key, fa->len) == 0);
	if (same && key_parse(run, key, nr->key_len, &rec->addr) == 0)
		;
	else if (has_addr && ipnet_addr_parse_n(atext, fa->len, &rec->addr) < 0) {
		memcpy(addr, atext, fa->len);
		addr[fa->len] = '\0';
		return dec_fail(d, "%s.Addr \"%s\" is not an IP address", W(), addr);
	}
	if (f[F_ID].type == NETSCAN_STRING) {
		id = d->text + f[F_ID].off;
		id_len = f[F_ID].len;
	}
	if (f[F_IFNAME].type == NETSCAN_STRING) {
		ifname = d->text + f[F_IFNAME].off;
		ifname_len = f[F_IFNAME].len;
	}
	if (id_len >= sizeof(rec->id) || ifname_len >= sizeof(rec->ifname))
		return dec_fail(d, "%s: ID or IfName too long", W());
	memcpy(rec->id, id, id_len);
	rec->id[id_len] = '\0';
	memcpy(rec->ifname, ifname, ifname_len);
	rec->ifname[ifname_len] = '\0';
	rec->in_use = f[F_INUSE].type == NETSCAN_TRUE;
	rec->unhealthy = f[F_UNHEALTHY].type == NETSCAN_TRUE;
	if (rec->addr.family == 0 && ipnet_addr_parse_n(key, nr->key_len, &rec->addr) < 0)
		return dec_fail(d, "%s has no usable address", W());
#undef W

	rec->src.raw = NULL;
	/* ipnet_addr_parse takes IPv4 only as ipnet_addr_format writes it (no leading zeros):
	 * its text is the one it was parsed from, so the key is it when Addr is spelt so */
	if (rec->addr.family == IPNET_AF_INET) {
		if (!same)
			return 0; /* written from the fields: under the address's own text */
		clen = nr->key_len;
	} else {
		clen = strlen(ipnet_addr_format(&rec->addr, canon, sizeof(canon)));
		if (nr->key_len != clen || memcmp(key, canon, clen) != 0 ||
		    (has_addr && (fa->len != clen || memcmp(atext, canon, clen) != 0)))
			return 0;
	}
	rec->src = (struct ipam_addr_src){
		.raw = d->text + nr->off, .key = key, .id = id, .ifname = ifname,
		.raw_len = (uint32_t)nr->len, .key_len = (uint16_t)clen,
		.id_len = (uint16_t)id_len, .ifname_len = (uint16_t)ifname_len,
		.in_use = rec->in_use, .unhealthy = rec->unhealthy,
	};
	return 0;
}

/* Record @nr read by dec_addr from its bytes, as the whole text's cJSON tree held it. */
static int slow_addr(const struct dec *d, const struct netscan_record *nr, const char *pool_where,
		     char *w, size_t w_size, struct ipam_addr *rec)
{
	const char *end = NULL, *at = d->text + nr->key_off - 1;
	bool oom;
	cJSON *k = json_parse(at, nr->key_len + 2, &end, &oom), *o = NULL;
	int r;

	if (oom) {
		r = dec_oom(d);
		goto out;
	}
	if (!k || !cJSON_IsString(k)) {
		r = bad_json(d, end && end >= at ? (size_t)(end - d->text) : nr->key_off);
		goto out;
	}
	at = d->text + nr->off;
	o = json_parse(at, nr->len, &end, &oom);
	if (oom) {
		r = dec_oom(d);
		goto out;
	}
	if (!o) {
		r = bad_json(d, end && end >= at ? (size_t)(end - d->text) : nr->off);
		goto out;
	}
	/* the key, borrowed from @k (const: cJSON_Delete leaves it) */
	o->string = k->valuestring;
	o->type |= cJSON_StringIsConst;
	where_addr(w, w_size, pool_where, o->string);
	r = dec_addr(d, o, w, rec);
	rec->src.raw = NULL;
out:
	cJSON_Delete(o);
	cJSON_Delete(k);
	return r;
}

/* The records of map @m (netscan) into @pool, as dec_pool reads an Addresses object. */
static int dec_records(const struct dec *d, const struct netscan_map *m, const char *where,
		       struct ipam_pool *pool)
{
	struct key_run run = { 0 };
	int r;

	if (m->n == 0)
		return 0;
	pool->addrs = malloc(m->n * sizeof(*pool->addrs));
	if (!pool->addrs)
		return cni_error_set(d->err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	for (size_t i = 0; i < m->n; i++) {
		char w[IPNET_PREFIX_STRLEN + 16 + IPNET_ADDR_STRLEN + 16];
		struct ipam_addr *rec = &pool->addrs[pool->n_addrs];

		w[0] = '\0';
		r = fast_addr(d, &m->recs[i], where, w, sizeof(w), &run, rec);
		if (r > 0)
			r = slow_addr(d, &m->recs[i], where, w, sizeof(w), rec);
		if (r < 0)
			return r;
		if (rec->addr.family != pool->subnet.addr.family ||
		    !ipnet_prefix_contains(&pool->subnet, &rec->addr)) {
			if (!w[0]) {
				/* read by fast_addr: the key is plain and short */
				char k[IPNET_ADDR_STRLEN];

				memcpy(k, d->text + m->recs[i].key_off, m->recs[i].key_len);
				k[m->recs[i].key_len] = '\0';
				where_addr(w, sizeof(w), where, k);
			}
			return dec_fail(d, "%s is outside the pool's subnet", w);
		}
		rec->src.pos = (uint32_t)i;
		pool->n_addrs++;
	}
	return pool_sort_unique(d, pool);
}

static int dec_pool(const struct dec *d, const cJSON *jp, struct ipam_pool *pool)
{
	const struct netscan_map *map;
	const cJSON *addrs, *ja;
	const char *id = "", *ifname = "";
	char where[IPNET_PREFIX_STRLEN + 16];
	size_t n;
	int r;

	snprintf(where, sizeof(where), "pool %s", jp->string);
	if (!cJSON_IsObject(jp))
		return dec_fail(d, "%s is not an object", where);
	r = dec_string(d, jp, "Id", where, &id);
	if (r == 0)
		r = dec_string(d, jp, "IfName", where, &ifname);
	if (r == 0)
		r = dec_subnet(d, jp, where, &pool->subnet);
	if (r == 0)
		r = dec_ip(d, jp, "Gateway", where, &pool->gateway);
	if (r == 0)
		r = dec_ip(d, jp, "Primary", where, &pool->primary);
	if (r == 0)
		r = dec_bool(d, jp, "IsIPv6", where, &pool->is_ipv6);
	if (r == 0)
		r = dec_int(d, jp, "Priority", where, &pool->priority);
	if (r == 0)
		r = dec_int(d, jp, "RefCount", where, &pool->refcount);
	if (r < 0)
		return r;
	if (id[0] == '\0')
		id = jp->string;
	if (pool->subnet.len < 0) {
		/* No Subnet: the pool ID is the CIDR. */
		struct ipnet_prefix p;

		if (ipnet_prefix_parse(id, false, &p) < 0)
			return dec_fail(d, "%s has no Subnet and its Id is not a CIDR", where);
		pool->subnet = ipnet_prefix_network(&p);
	}
	if (strlen(id) >= sizeof(pool->id) || strlen(ifname) >= sizeof(pool->ifname))
		return dec_fail(d, "%s: Id or IfName too long", where);
	memcpy(pool->id, id, strlen(id) + 1);
	memcpy(pool->ifname, ifname, strlen(ifname) + 1);
	if (pool->gateway.family == 0)
		pool->gateway = ipnet_prefix_first_host(&pool->subnet);
	pool->is_ipv6 = pool->subnet.addr.family == IPNET_AF_INET6;

	addrs = member(jp, "Addresses");
	if (!addrs)
		return 0;
	map = marker(d, addrs);
	if (map)
		return dec_records(d, map, where, pool);
	if (!cJSON_IsObject(addrs))
		return dec_fail(d, "%s.Addresses is not an object", where);
	n = (size_t)cJSON_GetArraySize(addrs);
	if (n == 0)
		return 0;
	pool->addrs = malloc(n * sizeof(*pool->addrs));
	if (!pool->addrs)
		return cni_error_set(d->err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	cJSON_ArrayForEach(ja, addrs) {
		char w[sizeof(where) + IPNET_ADDR_STRLEN + 16];
		struct ipam_addr *rec = &pool->addrs[pool->n_addrs];

		where_addr(w, sizeof(w), where, ja->string);
		r = dec_addr(d, ja, w, rec);
		rec->src.raw = NULL;
		if (r < 0)
			return r;
		if (rec->addr.family != pool->subnet.addr.family ||
		    !ipnet_prefix_contains(&pool->subnet, &rec->addr))
			return dec_fail(d, "%s is outside the pool's subnet", w);
		pool->n_addrs++;
	}
	return pool_sort_unique(d, pool);
}

static bool only_space(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
			return false;
	return true;
}

/* The local space's "Pools" object @pools (NULL: none) into sp->pools (n_pools counts the pool
 * being filled, so the caller's ipam_space_free frees a half-decoded one too). */
static int dec_pools(struct dec *d, const cJSON *pools, struct ipam_space *sp)
{
	const cJSON *jp;
	int r;

	if (pools && !cJSON_IsObject(pools))
		return dec_fail(d, "address space local: Pools is not an object");
	d->indexed = d->indexed && pools && strcmp(pools->string, "Pools") == 0;
	if (pools && cJSON_GetArraySize(pools) > 65536)
		/* a crafted file, not gigabytes of pools: corrupt (then rebuilt) */
		return dec_fail(d, "address space local: Pools has more members than any node holds");
	if (pools && cJSON_GetArraySize(pools) > 0) {
		sp->pools = calloc((size_t)cJSON_GetArraySize(pools), sizeof(*sp->pools));
		if (!sp->pools)
			return cni_error_set(d->err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	}
	cJSON_ArrayForEach(jp, pools) {
		sp->n_pools++;
		r = dec_pool(d, jp, &sp->pools[sp->n_pools - 1]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* d->text (d->len bytes, NETSCAN_PAD zero bytes after) scanned into @scan (d->scan and d->taken
 * set once it is) and its skeleton parsed into *@root (caller cJSON_Delete; NULL on failure).
 * Returns 0, -EINVAL (code 6: not JSON, or the top level not an object) or -ENOMEM (code 100);
 * on failure the caller still frees @scan and d->taken. */
static int dec_scan(struct dec *d, struct netscan *scan, cJSON **root)
{
	const char *end = NULL, *field, *why;
	size_t at = 0;
	bool oom;
	int r;

	/* The records are read from their bytes (netscan), the rest from a cJSON tree of the
	 * skeleton: a call costs a scan of the text and the records, not a tree of them. */
	r = netscan_run(&ipamstate_records_layout, d->text, d->len, scan, &field, &why, &at);
	if (r < 0)
		return r == -ENOMEM ? cni_error_set(d->err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory")
				    : bad_json(d, at);
	d->scan = scan;
	d->taken = calloc(scan->n_maps + 1, sizeof(*d->taken));
	if (!d->taken)
		return cni_error_set(d->err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	/* out of memory is not a corrupt file: the caller would set it aside and rebuild it */
	*root = json_parse(scan->skel, scan->skel_len, &end, &oom);
	if (oom)
		return dec_oom(d);
	if (!*root)
		return bad_json(d, netscan_text_offset(scan, end && end >= scan->skel ?
							       (size_t)(end - scan->skel) : 0));
	if (!cJSON_IsObject(*root))
		return dec_fail(d, "the top level is not an object");
	return 0;
}

/* The document @root (an object) into @sp: IPAM.LastRefresh, and the "local" address space's
 * Scope and Pools (each absent: left as it is). Returns 0, or -EINVAL (code 6 naming the
 * member) / -ENOMEM (code 100) with @sp half filled (the caller's ipam_space_free frees it). */
static int dec_root(struct dec *d, const cJSON *root, struct ipam_space *sp)
{
	const cJSON *ipam, *spaces, *local, *lr;
	int r;

	/* A document without the IPAM key is what a fresh Go store holds: empty. */
	ipam = member(root, "IPAM");
	if (!ipam)
		return 0;
	if (!cJSON_IsObject(ipam))
		return dec_fail(d, "IPAM is not an object");
	/* Ours: unknown (0) when absent, not a string or not a time; never an error. */
	lr = member(ipam, "LastRefresh");
	if (!cJSON_IsString(lr) || ipamstate_rfc3339_parse(lr->valuestring, &sp->last_refresh) < 0)
		sp->last_refresh = 0;
	spaces = member(ipam, "AddressSpaces");
	if (spaces && !cJSON_IsObject(spaces))
		return dec_fail(d, "IPAM.AddressSpaces is not an object");
	local = spaces ? member(spaces, "local") : NULL;
	if (!local)
		return 0;
	/* markers are only at ipamstate_records_layout's path, keys as written there */
	d->indexed = strcmp(ipam->string, "IPAM") == 0 &&
		     strcmp(spaces->string, "AddressSpaces") == 0 &&
		     strcmp(local->string, "local") == 0;
	if (!cJSON_IsObject(local))
		return dec_fail(d, "address space local is not an object");
	r = dec_int(d, local, "Scope", "address space local", &sp->scope);
	if (r < 0)
		return r;
	return dec_pools(d, member(local, "Pools"), sp);
}

/* ipamstate_decode of @text (@len bytes, NETSCAN_PAD zero bytes after), taken: kept by the
 * space or let go, whatever it returns (freed, or @release(@owner) when @release is set). */
static int decode(char *text, size_t len, const char *path, void (*release)(void *owner),
		  void *owner, struct ipam_space *ret, struct cni_error *err)
{
	struct dec d = {.path = path ? path : "(unnamed)", .err = err, .len = len};
	struct ipam_space sp = {.id = "local"};
	struct netscan scan = { 0 };
	cJSON *root = NULL;
	int r;

	if (len == 0 || only_space(text, len)) {
		if (release)
			release(owner);
		else
			free(text);
		*ret = sp;
		return 0;
	}
	sp.text = text;
	sp.text_len = len;
	sp.text_release = release;
	sp.text_owner = owner;
	d.text = sp.text;
	r = dec_scan(&d, &scan, &root);
	if (r == 0)
		r = dec_root(&d, root, &sp);
	if (r == 0) {
		sp.doc = root; /* kept for ipamstate_encode */
		root = NULL;
		*ret = sp;
		sp = (struct ipam_space){0};
	}
	ipam_space_free(&sp);
	cJSON_Delete(root);
	netscan_free(&scan);
	free(d.taken);
	return r;
}

int ipamstate_decode(const char *text, size_t len, const char *path, struct ipam_space *ret,
		     struct cni_error *err)
{
	char *copy = malloc(len + NETSCAN_PAD);

	if (!copy)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	memcpy(copy, text, len);
	memset(copy + len, 0, NETSCAN_PAD);
	return decode(copy, len, path, NULL, NULL, ret, err);
}

int ipamstate_decode_view(const char *text, size_t len, const char *path,
			  void (*release)(void *owner), void *owner, struct ipam_space *ret,
			  struct cni_error *err)
{
	return decode((char *)text, len, path, release, owner, ret, err);
}

/* ---- encode: Go json.MarshalIndent(v, "", "\t") byte for byte ---- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;

		while (b->len + n + 1 > cap)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void indent(struct buf *b, int depth)
{
	static const char nl_tabs[] = "\n\t\t\t\t\t\t\t\t";

	if (depth < (int)sizeof(nl_tabs) - 1) {
		put(b, nl_tabs, (size_t)depth + 1);
		return;
	}
	put(b, "\n", 1);
	for (int i = 0; i < depth; i++)
		put(b, "\t", 1);
}

/* A JSON string as Go escapes it (", \, control characters, and <, >, & as \u00XX). */
static void put_str(struct buf *b, const char *s)
{
	put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		size_t run = 0;
		char esc[8];

		/* The common case, a run of characters Go writes as they are, goes in one copy. */
		while (s[run] && (unsigned char)s[run] >= 0x20 && s[run] != '"' && s[run] != '\\' &&
		       s[run] != '<' && s[run] != '>' && s[run] != '&')
			run++;
		if (run) {
			put(b, s, run);
			s += run - 1;
			continue;
		}
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(b, esc, 2);
		} else if (c == '\n') {
			puts_(b, "\\n");
		} else if (c == '\r') {
			puts_(b, "\\r");
		} else if (c == '\t') {
			puts_(b, "\\t");
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			puts_(b, esc);
		} else {
			put(b, (const char *)&c, 1);
		}
	}
	put(b, "\"", 1);
}

/* "key": at @depth; @first tells whether a comma is needed before it. */
static void put_key(struct buf *b, int depth, bool *first, const char *key)
{
	if (!*first)
		put(b, ",", 1);
	*first = false;
	indent(b, depth);
	put_str(b, key);
	put(b, ": ", 2);
}

static void put_kv_str(struct buf *b, int depth, bool *first, const char *key, const char *v)
{
	put_key(b, depth, first, key);
	put_str(b, v);
}

static void put_kv_int(struct buf *b, int depth, bool *first, const char *key, int v)
{
	char num[16];

	put_key(b, depth, first, key);
	snprintf(num, sizeof(num), "%d", v);
	puts_(b, num);
}

static void put_kv_bool(struct buf *b, int depth, bool *first, const char *key, bool v)
{
	put_key(b, depth, first, key);
	puts_(b, v ? "true" : "false");
}

static void put_kv_ip(struct buf *b, int depth, bool *first, const char *key,
		      const struct ipnet_addr *a)
{
	char s[IPNET_ADDR_STRLEN] = "";

	if (a->family)
		ipnet_addr_format(a, s, sizeof(s));
	put_kv_str(b, depth, first, key, s);
}

static void put_close(struct buf *b, int depth, bool first, const char *close)
{
	/* Go writes an empty object as {} on one line */
	if (!first)
		indent(b, depth);
	puts_(b, close);
}

/* Go sorts map keys by byte order. */
static int idx_cmp_pool(const void *a, const void *b, const void *ctx)
{
	const struct ipam_pool *p = ctx;

	return strcmp(p[*(const size_t *)a].id, p[*(const size_t *)b].id);
}

/* qsort without a context argument is all C11 offers: a tiny insertion sort does for the
 * handful of pools (addresses are sorted with qsort on their texts, see put_pool). */
static void sort_idx(size_t *idx, size_t n, const void *ctx,
		     int (*cmp)(const void *, const void *, const void *))
{
	for (size_t i = 1; i < n; i++) {
		size_t v = idx[i], j = i;

		while (j > 0 && cmp(&idx[j - 1], &v, ctx) > 0) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = v;
	}
}

/* An address record's key (its address's text, @len bytes, not NUL-terminated when it is the
 * decoded text's) and its index in the pool; written in the order of the texts (Go's map order). */
struct addr_key {
	const char *s;
	size_t len, i;
};

static int key_cmp(const struct addr_key *a, const struct addr_key *b)
{
	int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

static int addr_key_cmp(const void *a, const void *b)
{
	return key_cmp(a, b);
}

/* A decoded value we do not model, at @depth, as Go's MarshalIndent writes it (numbers: integers
 * as integers, others with 17 significant digits). */
static void put_json(struct buf *b, int depth, const cJSON *v)
{
	const cJSON *e;
	bool first = true;
	char num[32];

	if (cJSON_IsObject(v)) {
		put(b, "{", 1);
		cJSON_ArrayForEach(e, v) {
			put_key(b, depth + 1, &first, e->string ? e->string : "");
			put_json(b, depth + 1, e);
		}
		put_close(b, depth, first, "}");
	} else if (cJSON_IsArray(v)) {
		put(b, "[", 1);
		cJSON_ArrayForEach(e, v) {
			if (!first)
				put(b, ",", 1);
			first = false;
			indent(b, depth + 1);
			put_json(b, depth + 1, e);
		}
		put_close(b, depth, first, "]");
	} else if (cJSON_IsString(v)) {
		put_str(b, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		/* the range first: a cast of a double past long long is undefined (fuzz-ipamstate) */
		if (!isfinite(v->valuedouble))
			snprintf(num, sizeof(num), "null"); /* as cJSON prints what JSON cannot hold */
		else if (v->valuedouble > -1e15 && v->valuedouble < 1e15 &&
			 v->valuedouble == (double)(long long)v->valuedouble)
			snprintf(num, sizeof(num), "%lld", (long long)v->valuedouble);
		else
			snprintf(num, sizeof(num), "%.17g", v->valuedouble);
		puts_(b, num);
	} else {
		puts_(b, cJSON_IsTrue(v) ? "true" : cJSON_IsFalse(v) ? "false" : "null");
	}
}

/* Writes the member @k of @keys (ours) of the object being written, at @depth; may write
 * nothing (an optional member). */
typedef int (*put_member_fn)(struct buf *b, int depth, bool *first, size_t k, const void *ctx);

/* An object's members: those of @src (its decoded object, or NULL) in @src's order, ours (the
 * @n @keys, written by @fn) in place of theirs and every other one as read; then ours that @src
 * lacks, in @keys' order. Returns 0 or @fn's -ENOMEM. */
static int put_merged(struct buf *b, int depth, bool *first, const cJSON *src,
		      const char *const *keys, size_t n, put_member_fn fn, const void *ctx)
{
	bool done[16] = { false };
	const cJSON *s;
	size_t k;
	int r;

	if (cJSON_IsObject(src)) {
		cJSON_ArrayForEach(s, src) {
			/* case-insensitive, as the decoder reads them (cJSON_GetObjectItem): a key
			 * spelt another way is that field, and a second spelling is dropped, or it
			 * would be the field the next decode reads */
			for (k = 0; k < n && (!s->string || strcasecmp(s->string, keys[k]) != 0); k++)
				;
			if (k < n && done[k])
				continue;
			if (k < n) {
				done[k] = true;
				r = fn(b, depth, first, k, ctx);
				if (r < 0)
					return r;
				continue;
			}
			put_key(b, depth, first, s->string ? s->string : "");
			put_json(b, depth, s);
		}
	}
	for (k = 0; k < n; k++)
		if (!done[k] && (r = fn(b, depth, first, k, ctx)) < 0)
			return r;
	return 0;
}

/* @parent's member @key when it is an object, else NULL. */
static const cJSON *sub(const cJSON *parent, const char *key)
{
	const cJSON *v = parent ? cJSON_GetObjectItemCaseSensitive(parent, key) : NULL;

	return cJSON_IsObject(v) ? v : NULL;
}

/* Whether @rec still holds what its bytes in the decoded text say (so they are written as
 * they are). */
static bool rec_as_read(const struct ipam_addr *rec)
{
	const struct ipam_addr_src *s = &rec->src;

	return s->raw && rec->in_use == s->in_use && rec->unhealthy == s->unhealthy &&
	       rec->id[s->id_len] == '\0' && (s->id_len == 0 || memcmp(rec->id, s->id, s->id_len) == 0) &&
	       rec->ifname[s->ifname_len] == '\0' &&
	       (s->ifname_len == 0 || memcmp(rec->ifname, s->ifname, s->ifname_len) == 0);
}

/* Whether record @next, as read, comes right after @prev (read, as read) in the decoded text with
 * just what put_record writes between them: ",\n", @depth tabs, its key in quotes and ": ".
 * Then the text from @prev's end to @next's end is what put_record would write for @next. */
static bool rec_follows(const struct ipam_addr *prev, const struct ipam_addr *next, int depth)
{
	static const char tabs[] = "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t";
	const struct ipam_addr_src *p = &prev->src, *s = &next->src;
	const char *gap, *tail;

	/* next's other src members are undefined unless it is as read */
	if (!rec_as_read(next) || s->pos != p->pos + 1 || depth > (int)sizeof(tabs) - 1)
		return false;
	gap = p->raw + p->raw_len;
	tail = s->key + s->key_len;
	if (s->key - gap != depth + 3 || s->raw - tail != 3)
		return false;
	return gap[0] == ',' && gap[1] == '\n' && memcmp(gap + 2, tabs, (size_t)depth) == 0 &&
	       gap[depth + 2] == '"' && tail[0] == '"' && tail[1] == ':' && tail[2] == ' ';
}

/* Record @rec under key @k at @depth: its bytes as read, or its fields. */
static void put_record(struct buf *b, int depth, bool *first, const struct ipam_addr *rec,
		       const struct addr_key *k)
{
	char text[IPNET_ADDR_STRLEN];
	bool fr = true;

	if (!*first)
		put(b, ",", 1);
	*first = false;
	indent(b, depth);
	put(b, "\"", 1);
	put(b, k->s, k->len); /* an address's text needs no escapes */
	put(b, "\": ", 3);
	if (rec_as_read(rec)) {
		put(b, rec->src.raw, rec->src.raw_len);
		return;
	}
	memcpy(text, k->s, k->len);
	text[k->len] = '\0';
	put(b, "{", 1);
	put_kv_str(b, depth + 1, &fr, "ID", rec->id);
	put_kv_str(b, depth + 1, &fr, "Addr", text);
	put_kv_bool(b, depth + 1, &fr, "InUse", rec->in_use);
	put_kv_str(b, depth + 1, &fr, "IfName", rec->ifname);
	put_kv_bool(b, depth + 1, &fr, "Unhealthy", rec->unhealthy);
	put_close(b, depth, fr, "}");
}

/* The records of @pool in key order into @keys (n_addrs entries; the texts of records not read
 * from the decoded text go to @texts, IPNET_ADDR_STRLEN bytes each). Records read from the text
 * keep its order when it was sorted (Go's and ours are), and the others are merged in: no sort
 * of the whole pool per save. Returns 0 or -ENOMEM. */
static int order_records(const struct ipam_pool *pool, struct addr_key *keys, char *texts)
{
	size_t n = pool->n_addrs, n_read = 0, n_new = 0, max_pos = 0, i, a, c, o;
	struct addr_key *fresh;
	size_t *slot;
	bool sorted = true;
	char *t;

	for (i = 0; i < n; i++)
		if (pool->addrs[i].src.raw && pool->addrs[i].src.pos >= max_pos)
			max_pos = pool->addrs[i].src.pos + 1;
	slot = malloc((max_pos + 1) * sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	for (i = 0; i < max_pos; i++)
		slot[i] = SIZE_MAX;
	/* the new records after the read ones, in @keys' second part */
	fresh = keys + n;
	for (i = n; i-- > 0;) {
		const struct ipam_addr *rec = &pool->addrs[i];

		if (rec->src.raw && slot[rec->src.pos] == SIZE_MAX) {
			slot[rec->src.pos] = i;
			continue;
		}
		t = texts + n_new++ * IPNET_ADDR_STRLEN;
		ipnet_addr_format(&rec->addr, t, IPNET_ADDR_STRLEN);
		*--fresh = (struct addr_key){ t, strlen(t), i };
	}
	for (i = 0; i < max_pos; i++) {
		const struct ipam_addr *rec;

		if (slot[i] == SIZE_MAX)
			continue;
		rec = &pool->addrs[slot[i]];
		keys[n_read] = (struct addr_key){ rec->src.key, rec->src.key_len, slot[i] };
		sorted = sorted && (n_read == 0 || key_cmp(&keys[n_read - 1], &keys[n_read]) < 0);
		n_read++;
	}
	free(slot);
	if (!sorted) {
		memmove(keys + n_read, fresh, n_new * sizeof(*keys));
		qsort(keys, n, sizeof(*keys), addr_key_cmp);
		return 0;
	}
	if (n_new > 1)
		qsort(fresh, n_new, sizeof(*keys), addr_key_cmp);
	if (n_new == 0)
		return 0;
	/* merge: the new ones are few, so move the read ones back from the end */
	{
		struct addr_key *tmp = malloc(n_new * sizeof(*tmp));

		if (!tmp)
			return -ENOMEM;
		memcpy(tmp, fresh, n_new * sizeof(*tmp));
		a = n_read;
		c = n_new;
		o = n;
		while (c > 0) {
			if (a > 0 && key_cmp(&keys[a - 1], &tmp[c - 1]) > 0)
				keys[--o] = keys[--a];
			else
				keys[--o] = tmp[--c];
		}
		free(tmp);
	}
	return 0;
}

static int put_addresses(struct buf *b, int depth, const struct ipam_pool *pool)
{
	struct addr_key *keys = NULL;
	char *texts = NULL;
	bool fa = true;

	put(b, "{", 1);
	if (pool->n_addrs) {
		keys = malloc(pool->n_addrs * sizeof(*keys));
		texts = malloc(pool->n_addrs * IPNET_ADDR_STRLEN);
		if (!keys || !texts || order_records(pool, keys, texts) < 0) {
			free(keys);
			free(texts);
			return -ENOMEM;
		}
	}
	for (size_t i = 0, j; i < pool->n_addrs; i = j) {
		const struct ipam_addr *rec = &pool->addrs[keys[i].i], *last = rec;
		const char *from;

		put_record(b, depth + 1, &fa, rec, &keys[i]);
		j = i + 1;
		if (!rec_as_read(rec))
			continue;
		/* the records that follow it in the text as put_record would write them: one copy */
		for (; j < pool->n_addrs && rec_follows(last, &pool->addrs[keys[j].i], depth + 1); j++)
			last = &pool->addrs[keys[j].i];
		from = rec->src.raw + rec->src.raw_len;
		put(b, from, (size_t)(last->src.raw + last->src.raw_len - from));
	}
	free(keys);
	free(texts);
	put_close(b, depth, fa, "}");
	return 0;
}

/* ipam/pool.go addressPool, then ours (Primary). */
static const char *const pool_keys[] = { "Id", "IfName", "Subnet", "Gateway", "Addresses",
					 "IsIPv6", "Priority", "RefCount", "Primary" };

static int put_pool_member(struct buf *b, int depth, bool *f, size_t k, const void *ctx)
{
	const struct ipam_pool *pool = ctx;
	unsigned char mask[16];
	char *mask_b64;
	bool fs = true;

	switch (k) {
	case 0: put_kv_str(b, depth, f, "Id", pool->id); break;
	case 1: put_kv_str(b, depth, f, "IfName", pool->ifname); break;
	case 2:
		put_key(b, depth, f, "Subnet");
		put(b, "{", 1);
		put_kv_ip(b, depth + 1, &fs, "IP", &pool->subnet.addr);
		ipnet_mask_bytes(pool->subnet.addr.family, pool->subnet.len, mask);
		mask_b64 = base64_encode(mask, (size_t)ipnet_addr_len(&pool->subnet.addr));
		if (!mask_b64)
			return -ENOMEM;
		put_kv_str(b, depth + 1, &fs, "Mask", mask_b64);
		free(mask_b64);
		put_close(b, depth, fs, "}");
		break;
	case 3: put_kv_ip(b, depth, f, "Gateway", &pool->gateway); break;
	case 4:
		put_key(b, depth, f, "Addresses");
		return put_addresses(b, depth, pool);
	case 5:
		put_kv_bool(b, depth, f, "IsIPv6", pool->subnet.addr.family == IPNET_AF_INET6);
		break;
	case 6: put_kv_int(b, depth, f, "Priority", pool->priority); break;
	case 7: put_kv_int(b, depth, f, "RefCount", pool->refcount); break;
	default:
		if (pool->primary.family)
			put_kv_ip(b, depth, f, "Primary", &pool->primary);
	}
	return 0;
}

/* One pool under its key, over @src (its decoded object, or NULL). */
static int put_pool(struct buf *b, int depth, bool *first, const struct ipam_pool *pool,
		    const cJSON *src)
{
	bool f = true;
	int r;

	put_key(b, depth, first, pool->id);
	put(b, "{", 1);
	r = put_merged(b, depth + 1, &f, src, pool_keys, sizeof(pool_keys) / sizeof(pool_keys[0]),
		       put_pool_member, pool);
	put_close(b, depth, f, "}");
	return r;
}

/* What the levels of the document are written from. */
struct enc {
	const struct ipam_space *sp;
	const char *timestamp;
	const cJSON *ipam, *spaces, *local; /* decoded objects, or NULL */
};

static int put_pools(struct buf *b, int depth, const struct enc *e)
{
	const cJSON *src = sub(e->local, "Pools");
	size_t *idx = NULL;
	bool f = true;
	int r = 0;

	if (e->sp->n_pools) {
		idx = calloc(e->sp->n_pools, sizeof(*idx));
		if (!idx)
			return -ENOMEM;
	}
	for (size_t i = 0; i < e->sp->n_pools; i++)
		idx[i] = i;
	sort_idx(idx, e->sp->n_pools, e->sp->pools, idx_cmp_pool);
	put(b, "{", 1);
	for (size_t i = 0; r == 0 && i < e->sp->n_pools; i++) {
		const struct ipam_pool *pool = &e->sp->pools[idx[i]];

		r = put_pool(b, depth + 1, &f, pool, sub(src, pool->id));
	}
	put_close(b, depth, f, "}");
	free(idx);
	return r;
}

/* ipam/pool.go addressSpace "local". */
static const char *const local_keys[] = { "Id", "Scope", "Pools" };

static int put_local_member(struct buf *b, int depth, bool *f, size_t k, const void *ctx)
{
	const struct enc *e = ctx;

	if (k == 0) {
		put_kv_str(b, depth, f, "Id", "local");
	} else if (k == 1) {
		put_kv_int(b, depth, f, "Scope", e->sp->scope);
	} else {
		put_key(b, depth, f, "Pools");
		return put_pools(b, depth, e);
	}
	return 0;
}

/* AddressSpaces: ours is "local"; any other space is written back as read. */
static int put_space_member(struct buf *b, int depth, bool *f, size_t k, const void *ctx)
{
	const struct enc *e = ctx;
	bool f2 = true;
	int r;

	(void)k;
	put_key(b, depth, f, "local");
	put(b, "{", 1);
	r = put_merged(b, depth + 1, &f2, e->local, local_keys, 3, put_local_member, e);
	put_close(b, depth, f2, "}");
	return r;
}

/* ipam/manager.go addressManager (Version, TimeStamp, AddressSpaces), then ours (LastRefresh). */
static const char *const ipam_keys[] = { "Version", "TimeStamp", "LastRefresh",
					 "AddressSpaces" };

static int put_ipam_member(struct buf *b, int depth, bool *f, size_t k, const void *ctx)
{
	static const char *const local[] = { "local" };
	const struct enc *e = ctx;
	char lr[32];
	bool f2 = true;
	int r;

	switch (k) {
	case 0: put_kv_str(b, depth, f, "Version", "v" AZCNI_VERSION); break; /* Go form */
	case 1:
		put_kv_str(b, depth, f, "TimeStamp",
			   e->timestamp ? e->timestamp : "0001-01-01T00:00:00Z");
		break;
	case 2:
		if (e->sp->last_refresh > 0 &&
		    ipamstate_rfc3339_format(e->sp->last_refresh, lr, sizeof(lr)) == 0)
			put_kv_str(b, depth, f, "LastRefresh", lr);
		break;
	default:
		put_key(b, depth, f, "AddressSpaces");
		put(b, "{", 1);
		r = put_merged(b, depth + 1, &f2, e->spaces, local, 1, put_space_member, e);
		put_close(b, depth, f2, "}");
		return r;
	}
	return 0;
}

static int put_root_member(struct buf *b, int depth, bool *f, size_t k, const void *ctx)
{
	const struct enc *e = ctx;
	bool f2 = true;
	int r;

	(void)k;
	put_key(b, depth, f, "IPAM");
	put(b, "{", 1);
	r = put_merged(b, depth + 1, &f2, e->ipam, ipam_keys, 4, put_ipam_member, e);
	put_close(b, depth, f2, "}");
	return r;
}

char *ipamstate_encode(const struct ipam_space *sp, const char *timestamp)
{
	static const char *const root_keys[] = { "IPAM" };
	struct enc e = { .sp = sp, .timestamp = timestamp };
	struct buf b = { 0 };
	bool f0 = true;

	/* room for what was read and some more: the text is built without regrowing */
	if (sp->text_len && (b.p = malloc(sp->text_len + 4096)))
		b.cap = sp->text_len + 4096;

	e.ipam = sub(sp->doc, "IPAM");
	e.spaces = sub(e.ipam, "AddressSpaces");
	e.local = sub(e.spaces, "local");
	put(&b, "{", 1);
	if (put_merged(&b, 1, &f0, sp->doc, root_keys, 1, put_root_member, &e) < 0)
		b.oom = true;
	put_close(&b, 0, f0, "}");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
