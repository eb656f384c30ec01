/* SPDX-License-Identifier: MIT */
/* One pass over a state file: RFC 8259 syntax checked, the records of the layout's maps indexed
 * by byte span, a skeleton without them built (see netscan.h). Strings go through a 16-byte
 * (SSE2) or word-at-a-time loop; a record shaped as one read before (a file's records nearly
 * all are) is read by comparing the two texts, 64 bytes at a time, and looking only at the
 * string bodies that differ. */
#include "netscan.h"
#include "hex.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* cJSON's own nesting limit (CJSON_NESTING_LIMIT): deeper text is refused as cJSON refuses it. */
#define NETSCAN_DEPTH_MAX 1000

/* What an object or array is in the layout: k (0 = the top-level value) when it is reached by
 * the first k keys of the path, so lo->depth is a map and lo->depth + 1 a record; else R_OTHER. */
#define R_OTHER 0xff
#define R_ROOT 0
#define R_MAP(c) ((unsigned char)(c)->lo->depth)
#define R_RECORD(c) ((unsigned char)((c)->lo->depth + 1))

/* The layout's record fields: lengths, and (up to 16 letters) lower-case words and masks. */
struct fields {
	const char *const *name;
	uint32_t lens;               /* bit min(len, 31) set for each field's length */
	size_t len[NETSCAN_FIELDS_MAX];
	uint64_t lw[NETSCAN_FIELDS_MAX][2], mask[NETSCAN_FIELDS_MAX][2];
	size_t n;
};

struct frame {
	bool obj;
	unsigned char role;
	size_t map;                  /* a map, a record: the map index */
};

struct model;

struct scan {
	const struct netscan_layout *lo;
	struct fields fields;
	const char *t;
	size_t n, i;
	struct netscan *s;
	struct frame *stack;
	size_t depth, cap;
	char *out;
	size_t out_len, out_cap, copied;
	const char *why;
	bool not_obj;                /* why names a value that is not an object */
	struct model *models;        /* MODELS of them, or NULL (see read_record) */
	size_t next_model, hit;      /* the model to replace next, the one to try first */
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* The next 8 bytes at @p (the text's padding makes them readable). */
static uint64_t word(const char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* Bytes from @p up to the first '"', '\\' or control byte (the terminating NUL at the latest).
 * Reads whole 16-byte (SSE2) or 8-byte blocks: the text's NETSCAN_PAD zero bytes make every
 * block that begins at or before the NUL readable. */
static inline __attribute__((always_inline)) size_t plain_run(const char *p)
{
#if defined(__SSE2__)
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
		      ctl = _mm_set1_epi8(0x1f);
	const char *s = p;

	for (;; p += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		/* a byte <= 0x1f is its own unsigned minimum with 0x1f */
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
						      _mm_cmpeq_epi8(v, bslash)),
					 _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v));
		unsigned bits = (unsigned)_mm_movemask_epi8(m);

		if (bits)
			return (size_t)(p - s) + (size_t)__builtin_ctz(bits);
	}
#elif defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const char *s = p;

	for (;; p += 8) {
		uint64_t w = word(p), q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
		/* per byte, the high bit marks a '"', a '\\' or a byte < 0x20; the lowest is exact */
		uint64_t m = (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((w - ONES * 0x20) & ~w)) &
			     HIGHS;

		if (m)
			return (size_t)(p - s) + ((size_t)__builtin_ctzll(m) >> 3);
	}
#else
	/* 1 for the bytes that end a run of plain string characters: '"', '\\' and controls. */
	static const unsigned char str_stop[256] = {
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		['"'] = 1, ['\\'] = 1,
	};
	const char *s = p;

	while (!str_stop[(unsigned char)*p])
		p++;
	return (size_t)(p - s);
#endif
}

/* A string at c->i (its opening quote): its body at *off, *len bytes. */
static inline __attribute__((always_inline)) bool scan_string(struct scan *c, size_t *off,
								 size_t *len)
{
	const char *t = c->t;
	size_t i = c->i + 1, n = c->n;

	for (;;) {
		i += plain_run(t + i);
		if (i >= n || t[i] != '\\')
			break;
		if (i + 1 >= n)
			return false;
		if (t[i + 1] == 'u') {
			if (i + 5 >= n || hex_digit(t[i + 2]) < 0 || hex_digit(t[i + 3]) < 0 ||
			    hex_digit(t[i + 4]) < 0 || hex_digit(t[i + 5]) < 0)
				return false;
			i += 6;
		} else if (t[i + 1] && strchr("\"\\/bfnrt", t[i + 1])) {
			i += 2;
		} else {
			return false;
		}
	}
	if (i >= n || t[i] != '"')
		return false;
	*off = c->i + 1;
	*len = i - *off;
	c->i = i + 1;
	return true;
}

static bool scan_number(struct scan *c)
{
	const char *t = c->t;
	size_t i = c->i, n = c->n;

	if (t[i] == '-')
		i++;
	if (i < n && t[i] == '0') {
		i++;
	} else if (i < n && t[i] >= '1' && t[i] <= '9') {
		while (i < n && is_digit(t[i]))
			i++;
	} else {
		return false;
	}
	if (i < n && t[i] == '.') {
		if (++i >= n || !is_digit(t[i]))
			return false;
		while (i < n && is_digit(t[i]))
			i++;
	}
	if (i < n && (t[i] == 'e' || t[i] == 'E')) {
		i++;
		if (i < n && (t[i] == '+' || t[i] == '-'))
			i++;
		if (i >= n || !is_digit(t[i]))
			return false;
		while (i < n && is_digit(t[i]))
			i++;
	}
	c->i = i;
	return true;
}

static bool scan_literal(struct scan *c, const char *lit)
{
	size_t l = strlen(lit);

	if (c->n - c->i < l || memcmp(c->t + c->i, lit, l) != 0)
		return false;
	c->i += l;
	return true;
}

/* ---- records: one function, pointers in registers (they are nearly all of the text) ---- */

/* The first byte at or after @p that is not JSON white space. The common layouts: none at
 * all, one tab after a ':', a newline and a run of tabs (whose length one or two 8-byte
 * compares find, the padding making the words readable). */
static inline __attribute__((always_inline)) const char *fast_ws(const char *p)
{
	for (;;) {
		unsigned char ch = (unsigned char)*p;
		uint64_t w;

		if (ch > ' ')
			return p;
		if (ch == '\n') {
			p++;
		} else if (ch != '\t') {
			if (ch != ' ' && ch != '\r')
				return p;
			p++;
			continue;
		}
		w = word(p) ^ (ONES * '\t');
		if (!w) {
			p += 8;
			w = word(p) ^ (ONES * '\t');
			if (!w) {
				p += 8;
				continue;
			}
		}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		p += (size_t)__builtin_ctzll(w) >> 3; /* the tabs before the first other byte */
#else
		p += (size_t)__builtin_clzll(w) >> 3;
#endif
	}
}

/* c->i past white space (fast_ws). */
static inline __attribute__((always_inline)) void skip_ws(struct scan *c)
{
	c->i = (size_t)(fast_ws(c->t + c->i) - c->t);
}

/* The string at @p (its opening quote): the byte after its closing quote, or NULL; *esc set
 * when it holds an escape. */
static inline __attribute__((always_inline)) const char *fast_string(const char *p, bool *esc)
{
	for (p++;;) {
		p += plain_run(p);
		if (*p == '"')
			return p + 1;
		if (*p != '\\')
			return NULL; /* a control byte: the text's end (NUL) or not JSON */
		*esc = true;
		if (p[1] == 'u') {
			if (hex_digit(p[2]) < 0 || hex_digit(p[3]) < 0 || hex_digit(p[4]) < 0 ||
			    hex_digit(p[5]) < 0)
				return NULL;
			p += 6;
		} else if (p[1] && strchr("\"\\/bfnrt", p[1])) {
			p += 2;
		} else {
			return NULL;
		}
	}
}

static const char *fast_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (is_digit(*p))
			p++;
	else
		return NULL;
	if (*p == '.') {
		if (!is_digit(*++p))
			return NULL;
		while (is_digit(*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!is_digit(*p))
			return NULL;
		while (is_digit(*p))
			p++;
	}
	return p;
}

/* Record field index of the key at @k (@len bytes) of the record itself, or -1. */
static int fast_field(const struct fields *fs, const struct netscan_record *r, const char *k,
		      size_t len)
{
	size_t i, j;

	/* a name is letters only, so a key byte equal to one of its letters but for 0x20 is
	 * that letter in either case */
	for (i = 0; i < fs->n; i++) {
		if (len != fs->len[i] || r->f[i].type != NETSCAN_ABSENT)
			continue;
		if (len <= 16) {
			/* the text's padding makes 16 bytes readable from any key */
			if (((word(k) | ONES * 0x20) & fs->mask[i][0]) == fs->lw[i][0] &&
			    ((word(k + 8) | ONES * 0x20) & fs->mask[i][1]) == fs->lw[i][1])
				return (int)i;
			continue;
		}
		for (j = 0; j < len && (k[j] | 0x20) == (fs->name[i][j] | 0x20); j++)
			;
		if (j == len)
			return (int)i;
	}
	return -1;
}

static enum netscan_type value_type(char c)
{
	switch (c) {
	case '"': return NETSCAN_STRING;
	case 'n': return NETSCAN_NULL;
	case 't': return NETSCAN_TRUE;
	case 'f': return NETSCAN_FALSE;
	default: return NETSCAN_OTHER;
	}
}

/* Where fast_record goes next from the text a helper below stops at: a value, a member's key,
 * the separator or close after a value, or the record's end. */
enum fast_next { FAST_VALUE, FAST_KEY, FAST_AFTER, FAST_END };

/* The object or array opening at @p, its closing byte pushed on @stack (*@d open, at most @max).
 * Returns its first value (*@next FAST_VALUE) or key (FAST_KEY), or, empty, the byte after it
 * (popped again, FAST_AFTER); NULL when that nests deeper than @max. */
static inline __attribute__((always_inline)) const char *fast_open(const char *p, char *stack,
								   size_t *d, size_t max,
								   enum fast_next *next)
{
	if (*d >= max)
		return NULL;
	stack[(*d)++] = *p == '{' ? '}' : ']';
	p = fast_ws(p + 1);
	if (*p == stack[*d - 1]) {
		(*d)--;
		*next = FAST_AFTER;
		return p + 1;
	}
	*next = stack[*d - 1] == ']' ? FAST_VALUE : FAST_KEY;
	return p;
}

/* The value at @p (no white space before it): a scalar's end (*@next FAST_AFTER), or an object
 * or array opened as fast_open does (same @stack, @d, @max, returns). NULL when not JSON. */
static inline __attribute__((always_inline)) const char *fast_value(const char *p, char *stack,
								    size_t *d, size_t max,
								    enum fast_next *next)
{
	bool esc; /* a value's escapes do not matter */

	*next = FAST_AFTER;
	if (*p == '"')
		return fast_string(p, &esc);
	switch (*p) {
	case '{':
	case '[': return fast_open(p, stack, d, max, next);
	case 't': return memcmp(p, "true", 4) == 0 ? p + 4 : NULL;
	case 'f': return memcmp(p, "false", 5) == 0 ? p + 5 : NULL;
	case 'n': return memcmp(p, "null", 4) == 0 ? p + 4 : NULL;
	default: return fast_number(p);
	}
}

/* After a value, at @p, with *@d containers open (@stack: their closing bytes): those that
 * close here popped. Returns the next member's key (*@next FAST_KEY) or array element
 * (FAST_VALUE), or, once *@d is 0, the byte after the record (FAST_END); NULL when not JSON. */
static inline __attribute__((always_inline)) const char *fast_after(const char *p,
								    const char *stack, size_t *d,
								    enum fast_next *next)
{
	for (;;) {
		if (*d == 0) {
			*next = FAST_END;
			return p;
		}
		/* the indented layouts' next member: ",\n", tabs, its key */
		if (p[0] == ',' && p[1] == '\n' && stack[*d - 1] == '}') {
			*next = FAST_KEY;
			return fast_ws(p + 1);
		}
		p = fast_ws(p);
		if (*p == stack[*d - 1]) {
			p++;
			(*d)--;
			continue;
		}
		if (*p++ != ',')
			return NULL;
		if (stack[*d - 1] == ']') {
			*next = FAST_VALUE;
			return p;
		}
		*next = FAST_KEY;
		return fast_ws(p);
	}
}

/* The member key at @p (its opening quote) and the ':' after it. When @top (a key of the
 * record itself) *@f is the index of the record field of @fs it names and @r has not seen yet
 * (else -1), and a key with escapes that names none sets r->escaped_key. Returns the first
 * byte of the member's value (white space skipped), or NULL when not JSON. */
static inline __attribute__((always_inline)) const char *fast_key(const struct fields *fs,
								  struct netscan_record *r,
								  const char *p, bool top, int *f)
{
	const char *k = p + 1;
	bool esc = false;
	size_t len;

	*f = -1;
	if (*p != '"')
		return NULL;
	p = fast_string(p, &esc);
	if (!p)
		return NULL;
	if (top) {
		len = (size_t)(p - 1 - k);
		if (fs->lens >> (len < 31 ? len : 31) & 1)
			*f = fast_field(fs, r, k, len);
		/* a key with escapes may read as a field's name (cJSON_GetObjectItem unescapes) */
		if (*f < 0 && esc)
			r->escaped_key = true;
	}
	if (p[0] == ':' && p[1] == '\t' && (unsigned char)p[2] > ' ')
		return p + 2; /* the indented layouts' ":\t" */
	p = fast_ws(p);
	return *p == ':' ? fast_ws(p + 1) : NULL;
}

/* The string value at @p (its opening quote) of record field @v: its body's span in @t into
 * @v. Returns the byte after it, or NULL when not JSON. */
static inline __attribute__((always_inline)) const char *fast_field_string(const char *t,
									   const char *p,
									   struct netscan_field *v)
{
	bool esc; /* the span holds the escapes as read */

	v->off = (size_t)(p + 1 - t);
	p = fast_string(p, &esc);
	if (!p)
		return NULL;
	v->len = (size_t)(p - 1 - t) - v->off;
	return p;
}

/* The record object at @t + @at: checked, its head fields into @r, its end returned (0 when it
 * is not JSON or nests deeper than NETSCAN_DEPTH_MAX - @depth). The text ends in a NUL that
 * no rule above accepts. One function with its helpers inlined: pointers stay in registers
 * over what is nearly all of the text. */
static size_t fast_record(const struct fields *fs, const char *t, size_t at, size_t depth,
			  struct netscan_record *r)
{
	char stack[NETSCAN_DEPTH_MAX];
	const char *p = t + at;
	size_t d = 0, max = NETSCAN_DEPTH_MAX - depth;
	enum fast_next next;
	int f;

value:
	p = fast_ws(p);
value_at:
	p = fast_value(p, stack, &d, max, &next);
	if (!p)
		return 0;
	if (next == FAST_VALUE)
		goto value;
	if (next == FAST_KEY)
		goto key;
after:
	p = fast_after(p, stack, &d, &next);
	if (!p)
		return 0;
	if (next != FAST_KEY) {
		if (next == FAST_END)
			return (size_t)(p - t);
		goto value;
	}
key:
	p = fast_key(fs, r, p, d == 1, &f);
	if (!p)
		return 0;
	if (f >= 0) {
		r->f[f].type = value_type(*p);
		if (*p == '"') {
			p = fast_field_string(t, p, &r->f[f]);
			if (!p)
				return 0;
			goto after;
		}
	}
	goto value_at;
}

static bool out_put(struct scan *c, const char *p, size_t len)
{
	if (c->out_len + len + 1 > c->out_cap) {
		size_t cap = (c->out_len + len + 1) * 2;
		char *o = realloc(c->out, cap);

		if (!o)
			return false;
		c->out = o;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, len);
	c->out_len += len;
	c->out[c->out_len] = '\0';
	return true;
}

/* Room in the array *@p (of @size-byte elements, *@cap of them) for one more than @n: doubled
 * (16 at first) when full. Returns 0 or -ENOMEM (the array unchanged). */
static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t want = *cap ? *cap * 2 : 16;
	void *q;

	if (n < *cap)
		return 0;
	q = realloc(*p, want * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = want;
	return 0;
}

/* ---- records shaped as one read before ----
 * A record fast_record accepted is a model for the next ones. A record whose text is its
 * model's byte for byte but for the bodies of value strings, each of its own differing bodies
 * free of '"', '\\' and control bytes, is JSON of the model's shape with the same keys: its
 * fields are the model's, their string values at the spans its own bodies take, and its end
 * the model's, shifted. Checking that is a compare of the two texts and a look at each body
 * that differs (250 endpoints: ~6 of a record's ~30 value strings, 1.2 KB). */

/* The IPAM file's records come in two shapes ("InUse": true and false). */
#define MODELS 2

/* A value string of a model: its body's first byte and its closing quote (model offsets). */
struct model_span {
	size_t body, close;
};

struct model {
	const char *text;            /* the record in the scanned text; NULL: no model */
	size_t len, depth;           /* its bytes; the scan's depth where it was read */
	/* owned; n of them in text order, then one at SIZE_MAX that ends every walk */
	struct model_span *spans;
	size_t n, cap;
	/* the record fields with string values, in text order: field index, span index */
	struct {
		int field;
		size_t span;
	} fs[NETSCAN_FIELDS_MAX];
	size_t n_fs;
	size_t n_fields;             /* the layout's */
	struct netscan_record rec;   /* its fields' types and escaped_key */
};

#if !defined(NETSCAN_NO_MODEL) /* the unit test's reference scanner reads without models */
static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* The offset of the first byte where @a and @b differ, both @n bytes long, or @n. Reads whole
 * 16-byte blocks of both from their start: the caller has 15 bytes readable after each. */
static inline __attribute__((always_inline)) size_t first_diff(const char *a, const char *b,
								 size_t n)
{
	size_t i = 0;
#if defined(__SSE2__)
#define LD(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
	for (; i + 64 <= n; i += 64) {
		__m128i e0 = _mm_cmpeq_epi8(LD(a + i), LD(b + i)),
			e1 = _mm_cmpeq_epi8(LD(a + i + 16), LD(b + i + 16)),
			e2 = _mm_cmpeq_epi8(LD(a + i + 32), LD(b + i + 32)),
			e3 = _mm_cmpeq_epi8(LD(a + i + 48), LD(b + i + 48));

		if (_mm_movemask_epi8(_mm_and_si128(_mm_and_si128(e0, e1),
						    _mm_and_si128(e2, e3))) != 0xffff) {
			uint64_t eq = (uint64_t)(unsigned)_mm_movemask_epi8(e0) |
				      (uint64_t)(unsigned)_mm_movemask_epi8(e1) << 16 |
				      (uint64_t)(unsigned)_mm_movemask_epi8(e2) << 32 |
				      (uint64_t)(unsigned)_mm_movemask_epi8(e3) << 48;

			return i + (size_t)__builtin_ctzll(~eq);
		}
	}
	for (; i < n; i += 16) {
		unsigned ne = ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(LD(a + i), LD(b + i))) &
			      0xffff;

		if (ne) {
			i += (size_t)__builtin_ctz(ne);
			break;
		}
	}
#undef LD
#elif defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; i < n; i += 8) {
		uint64_t x = word(a + i) ^ word(b + i);

		if (x) {
			i += (size_t)__builtin_ctzll(x) >> 3;
			break;
		}
	}
#else
	while (i < n && a[i] == b[i])
		i++;
#endif
	return i < n ? i : n;
}

/* The record at @t + @at (@t: @n bytes, then NETSCAN_PAD zero bytes) read by its model @m:
 * its end, its fields into @rec (zeroed but for its key; left so on failure); 0 when it is not
 * of the model's shape (it may still be JSON). */
static size_t model_match(const struct model *m, const char *t, size_t n, size_t at,
			  struct netscan_record *rec)
{
	const char *x = t + at, *r = m->text;
	const struct model_span *sp = m->spans;
	size_t pr = 0, px = 0, k = 0, avail = n - at, j, b, q;

	for (j = 0;; j++) {
		/* the model's bytes up to the next field's body (read whatever it holds), or all */
		size_t stop = j < m->n_fs ? sp[m->fs[j].span].body : m->len;

		while (pr < stop) {
			/* the text's bytes only: the NUL after them differs from the model */
			size_t lim = stop - pr < avail - px ? stop - pr : avail - px;
			size_t d = first_diff(x + px, r + pr, lim);

			pr += d;
			px += d;
			if (pr == stop)
				break;
			/* a difference: in a value string's body or at its closing quote */
			while (sp[k].close < pr)
				k++;
			if (sp[k].body > pr)
				goto fail;
			b = px - (pr - sp[k].body);
			q = b + plain_run(x + b);
			if (x[q] != '"')
				goto fail;
			px = q;
			pr = sp[k++].close;
		}
		if (j == m->n_fs)
			break;
		q = px + plain_run(x + px);
		if (x[q] != '"')
			goto fail;
		rec->f[m->fs[j].field].off = at + px;
		rec->f[m->fs[j].field].len = q - px;
		px = q;
		k = m->fs[j].span;
		pr = sp[k++].close;
	}
	for (j = 0; j < m->n_fields; j++)
		rec->f[j].type = m->rec.f[j].type;
	rec->escaped_key = m->rec.escaped_key;
	return at + px;
fail:
	for (j = 0; j < m->n_fs; j++)
		rec->f[m->fs[j].field].off = rec->f[m->fs[j].field].len = 0;
	return 0;
}

/* The record fast_record read at c->t + @at (@len bytes, fields in @rec) becomes a model, in
 * place of the older one. Nothing happens when there is no memory for it. */
static void model_learn(struct scan *c, size_t at, size_t len, const struct netscan_record *rec)
{
	struct model *m = &c->models[c->next_model];
	const char *r = c->t + at;
	size_t i = 0, n = 0, j, k;

	m->text = NULL;
	while (i < len) {
		const char *q = memchr(r + i, '"', len - i);
		size_t body, close;

		if (!q)
			break;
		/* a string (outside one, JSON has no '"'); the record is JSON: its escapes whole */
		body = close = (size_t)(q - r) + 1;
		for (;;) {
			close += plain_run(r + close);
			if (r[close] == '"')
				break;
			close += r[close + 1] == 'u' ? 6 : 2;
		}
		i = close + 1;
		for (k = i; k < len && is_ws(r[k]); k++)
			;
		if (k < len && r[k] == ':')
			continue; /* a key: compared as it is */
		if (grow((void **)&m->spans, &m->cap, n, sizeof(*m->spans)) < 0)
			return;
		m->spans[n++] = (struct model_span){ .body = body, .close = close };
	}
	if (grow((void **)&m->spans, &m->cap, n, sizeof(*m->spans)) < 0)
		return;
	m->spans[n] = (struct model_span){ .body = SIZE_MAX, .close = SIZE_MAX };
	m->n_fs = 0;
	for (k = 0; k < n; k++) {
		for (j = 0; j < NETSCAN_FIELDS_MAX; j++) {
			if (rec->f[j].type == NETSCAN_STRING &&
			    rec->f[j].off - at == m->spans[k].body) {
				m->fs[m->n_fs].field = (int)j;
				m->fs[m->n_fs++].span = k;
			}
		}
	}
	/* every field with a string value is one of the spans (fast_record read it as one) */
	for (j = 0, k = 0; j < NETSCAN_FIELDS_MAX; j++)
		k += rec->f[j].type == NETSCAN_STRING;
	if (k != m->n_fs)
		return;
	m->text = r;
	m->len = len;
	m->depth = c->depth;
	m->n = n;
	m->rec = *rec;
	m->n_fields = c->fields.n;
	c->hit = c->next_model;
	c->next_model = (c->next_model + 1) % MODELS;
}

#endif

/* The record object at c->i (of @rec, zeroed but for its key): read as a model's (above) or
 * by fast_record. Returns its end, or 0 when it is not JSON or nests too deeply. */
static size_t read_record(struct scan *c, struct netscan_record *rec)
{
	size_t end;

#if !defined(NETSCAN_NO_MODEL)
	if (!c->models)
		c->models = calloc(MODELS, sizeof(*c->models));
	/* the model that read the last record first */
	for (size_t i = 0; c->models && i < MODELS; i++) {
		size_t k = (c->hit + i) % MODELS;
		const struct model *m = &c->models[k];

		if (m->text && m->depth == c->depth &&
		    (end = model_match(m, c->t, c->n, c->i, rec))) {
			c->hit = k;
			return end;
		}
	}
#endif
	end = fast_record(&c->fields, c->t, c->i, c->depth, rec);
#if !defined(NETSCAN_NO_MODEL)
	if (end && c->models)
		model_learn(c, c->i, end - c->i, rec);
#endif
	return end;
}

static int push(struct scan *c, bool obj, unsigned char role, size_t map)
{
	if (c->depth >= NETSCAN_DEPTH_MAX) {
		c->why = "is nested too deeply";
		return -EINVAL;
	}
	if (grow((void **)&c->stack, &c->cap, c->depth, sizeof(*c->stack)) < 0)
		return -ENOMEM;
	c->stack[c->depth++] = (struct frame){ .obj = obj, .role = role, .map = map };
	return 0;
}

static struct netscan_record *last_record(struct scan *c, size_t map)
{
	struct netscan_map *m = &c->s->maps[map];

	return &m->recs[m->n - 1];
}

/* A map begins at c->i: a new map, and its marker in the skeleton (the text before it is
 * copied there). */
static int begin_map(struct scan *c, size_t *ret)
{
	struct netscan_map *m;
	char mark[64];

	if ((c->s->n_maps & (c->s->n_maps - 1)) == 0) {
		m = realloc(c->s->maps, (c->s->n_maps ? c->s->n_maps * 2 : 1) * sizeof(*m));
		if (!m)
			return -ENOMEM;
		c->s->maps = m;
	}
	m = &c->s->maps[c->s->n_maps];
	memset(m, 0, sizeof(*m));
	*ret = c->s->n_maps++;
	snprintf(mark, sizeof(mark), "\"\\u0001azcni-endpoints:%zu\"", *ret);
	if (!out_put(c, c->t + c->copied, c->i - c->copied))
		return -ENOMEM;
	m->off = c->copied = c->i;
	m->skel_off = c->out_len;
	if (!out_put(c, mark, strlen(mark)))
		return -ENOMEM;
	m->skel_len = strlen(mark);
	return 0;
}

/* Lenient: the innermost map has a member that is not an object; the map is dropped and its
 * text goes to the skeleton as it is. */
static void drop_map(struct scan *c)
{
	struct frame *f = &c->stack[c->depth - 1];
	struct netscan_map *m = &c->s->maps[f->map];

	free(m->recs);
	c->out_len = m->skel_off;
	c->out[c->out_len] = '\0';
	c->copied = m->off;
	c->s->n_maps--; /* maps do not nest: it is the last one */
	f->role = R_OTHER;
}

/* Lenient: the string at @off (its body, @len bytes) is a map's value: one that reads as a
 * marker is replaced by one that names no map. */
static int unmark(struct scan *c, size_t off, size_t len)
{
	static const char none[] = "\"\\u0001azcni-endpoints:-\"";

	if (len < 6 || memcmp(c->t + off, "\\u0001", 6) != 0)
		return 0;
	if (!out_put(c, c->t + c->copied, off - 1 - c->copied) ||
	    !out_put(c, none, sizeof(none) - 1))
		return -ENOMEM;
	c->copied = c->i;
	return 0;
}

static int add_record(struct scan *c, size_t map, size_t key_off, size_t key_len)
{
	struct netscan_map *m = &c->s->maps[map];

	if (grow((void **)&m->recs, &m->cap, m->n, sizeof(*m->recs)) < 0)
		return -ENOMEM;
	memset(&m->recs[m->n], 0, sizeof(m->recs[0]));
	m->recs[m->n].key_off = key_off;
	m->recs[m->n].key_len = key_len;
	m->n++;
	return 0;
}

/* The role of the value of member @key (body at off, len) of the innermost object; records
 * of a map are added here. */
static int member_role(struct scan *c, size_t off, size_t len, unsigned char *role)
{
	struct frame *f = &c->stack[c->depth - 1];
	const char *want;

	*role = R_OTHER;
	if (f->role < R_MAP(c)) {
		want = c->lo->path[f->role];
		if ((want[0] == '*' && want[1] == '\0') ||
		    (strlen(want) == len && memcmp(c->t + off, want, len) == 0))
			*role = (unsigned char)(f->role + 1);
	} else if (f->role == R_MAP(c)) {
		*role = R_RECORD(c);
		return add_record(c, f->map, off, len);
	}
	return 0;
}

/* A value at a map's place or a record's that is not an object: refused (-EINVAL naming
 * lo->what or lo->what_entry) unless the layout is lenient (a record: its map dropped). */
static int not_object(struct scan *c, unsigned char role)
{
	if (!c->lo->lenient) {
		c->why = role == R_MAP(c) ? c->lo->what : c->lo->what_entry;
		c->not_obj = true;
		return -EINVAL;
	}
	if (role == R_RECORD(c))
		drop_map(c);
	return 0;
}

/* A scalar at c->i, of a member whose value must be an object (a map's may be null too). */
static int scalar(struct scan *c, unsigned char role)
{
	size_t off = 0, len = 0;
	bool null = false, ok;

	switch (c->t[c->i]) {
	case '"': ok = scan_string(c, &off, &len); break;
	case 'n': ok = scan_literal(c, "null"); null = true; break;
	case 't': ok = scan_literal(c, "true"); break;
	case 'f': ok = scan_literal(c, "false"); break;
	default: ok = scan_number(c); break;
	}
	if (!ok) {
		c->why = "is not valid JSON";
		return -EINVAL;
	}
	if ((role == R_MAP(c) && !null) || role == R_RECORD(c)) {
		if (role == R_MAP(c) && c->lo->lenient && c->t[c->i - 1] == '"')
			return unmark(c, off, len);
		return not_object(c, role);
	}
	return 0;
}

/* An object or array opens at c->i with @role. */
static int open_value(struct scan *c, unsigned char role)
{
	size_t map = c->depth ? c->stack[c->depth - 1].map : 0;
	bool obj = c->t[c->i] == '{';
	int r;

	if (role == R_MAP(c) || role == R_RECORD(c)) {
		if (!obj) {
			if ((r = not_object(c, role)) < 0)
				return r;
			role = R_OTHER;
		}
		if (role == R_MAP(c) && (r = begin_map(c, &map)) < 0)
			return r;
		if (role == R_RECORD(c)) {
			struct netscan_record *rec = last_record(c, map);
			size_t end = read_record(c, rec);

			if (!end) {
				c->why = "is not valid JSON";
				return -EINVAL;
			}
			rec->off = c->i;
			rec->len = end - c->i;
			c->i = end;
			return 1; /* the whole value */
		}
	}
	r = push(c, obj, obj ? role : R_OTHER, map);
	c->i++;
	return r;
}

/* The innermost object or array closes at c->i. */
static int close_value(struct scan *c)
{
	struct frame f = c->stack[--c->depth];

	c->i++;
	if (f.role == R_MAP(c)) {
		c->copied = c->i;
		c->s->maps[f.map].len = c->i - c->s->maps[f.map].off;
	}
	return 0;
}

/* The next member key of the innermost object and its ':' (c->i at its '"'). */
static int key(struct scan *c, unsigned char *role)
{
	size_t off, len;

	if (c->i >= c->n || c->t[c->i] != '"' || !scan_string(c, &off, &len)) {
		c->why = "is not valid JSON";
		return -EINVAL;
	}
	skip_ws(c);
	if (c->i >= c->n || c->t[c->i] != ':') {
		c->why = "is not valid JSON";
		return -EINVAL;
	}
	c->i++;
	return member_role(c, off, len, role);
}

static int run(struct scan *c)
{
	unsigned char role = R_ROOT;
	int r;

	for (;;) {
		/* a value */
		skip_ws(c);
		if (c->i >= c->n)
			goto bad;
		if (c->t[c->i] == '{' || c->t[c->i] == '[') {
			bool obj = c->t[c->i] == '{';

			if ((r = open_value(c, role)) < 0)
				return r;
			if (r == 1)
				goto after;
			skip_ws(c);
			if (c->i < c->n && c->t[c->i] == (obj ? '}' : ']')) {
				close_value(c);
			} else {
				if (obj && (r = key(c, &role)) < 0)
					return r;
				if (!obj)
					role = R_OTHER;
				continue;
			}
		} else if ((r = scalar(c, role)) < 0) {
			return r;
		}
after:
		/* after a value: ',' or the innermost container's end */
		for (;;) {
			const struct frame *f;

			skip_ws(c);
			if (c->depth == 0) {
				if (c->lo->trailing)
					c->n = c->i; /* the rest is not looked at */
				return c->i == c->n ? 0 : (c->why = "is not valid JSON", -EINVAL);
			}
			if (c->i >= c->n)
				goto bad;
			f = &c->stack[c->depth - 1];
			if (c->t[c->i] == ',') {
				c->i++;
				if (f->obj) {
					skip_ws(c);
					if ((r = key(c, &role)) < 0)
						return r;
				} else {
					role = R_OTHER;
				}
				break;
			}
			if (c->t[c->i] != (f->obj ? '}' : ']'))
				goto bad;
			close_value(c);
		}
	}
bad:
	c->why = "is not valid JSON";
	return -EINVAL;
}

int netscan_run(const struct netscan_layout *lo, const char *text, size_t len,
		struct netscan *ret, const char **field, const char **why, size_t *at)
{
	struct scan c = { .lo = lo, .t = text, .n = len, .s = ret };
	int r;

	c.fields.name = lo->fields;
	c.fields.n = lo->n_fields;
	for (size_t i = 0; i < lo->n_fields; i++) {
		unsigned char lw[16] = { 0 }, mask[16] = { 0 };

		c.fields.len[i] = strlen(lo->fields[i]);
		c.fields.lens |= 1u << (c.fields.len[i] < 31 ? c.fields.len[i] : 31);
		for (size_t j = 0; j < c.fields.len[i] && j < 16; j++) {
			lw[j] = (unsigned char)(lo->fields[i][j] | 0x20);
			mask[j] = 0xff;
		}
		memcpy(c.fields.lw[i], lw, 16);
		memcpy(c.fields.mask[i], mask, 16);
	}
	memset(ret, 0, sizeof(*ret));
	r = run(&c);
	if (r == 0 && !out_put(&c, text + c.copied, c.n - c.copied))
		r = -ENOMEM;
	free(c.stack);
	for (size_t i = 0; c.models && i < MODELS; i++)
		free(c.models[i].spans);
	free(c.models);
	if (r < 0) {
		free(c.out);
		netscan_free(ret);
		/* c.why: a phrase, or the field of a value that is not an object */
		*field = "content";
		*why = r == -ENOMEM ? "out of memory" : c.why;
		if (r == -EINVAL && c.not_obj) {
			*field = c.why;
			*why = "is not an object";
		}
		if (at)
			*at = c.i < len ? c.i : len;
		return r;
	}
	ret->skel = c.out;
	ret->skel_len = c.out_len;
	return 0;
}

size_t netscan_text_offset(const struct netscan *s, size_t skel_off)
{
	size_t i, shift = 0;

	for (i = 0; i < s->n_maps; i++) {
		const struct netscan_map *m = &s->maps[i];

		if (skel_off < m->skel_off)
			break;
		if (skel_off < m->skel_off + m->skel_len)
			return m->off;
		shift = m->off + m->len - (m->skel_off + m->skel_len);
	}
	return skel_off + shift;
}

void netscan_free(struct netscan *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n_maps; i++)
		free(s->maps[i].recs);
	free(s->maps);
	free(s->skel);
	memset(s, 0, sizeof(*s));
}

static size_t utf8_put(unsigned long cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static unsigned long hex4(const char *s)
{
	return (unsigned long)(hex_digit(s[0]) << 12 | hex_digit(s[1]) << 8 | hex_digit(s[2]) << 4 |
			       hex_digit(s[3]));
}

int netscan_unescape(const char *s, size_t len, char *buf, size_t size)
{
	size_t i = 0, o = 0;

	if (!memchr(s, '\\', len)) {
		/* the common case; netscan_run let no control byte (NUL) into a string */
		if (len >= size)
			return -ENOSPC;
		memcpy(buf, s, len);
		buf[len] = '\0';
		return (int)len;
	}

	while (i < len) {
		char tmp[4];
		size_t k = 1;

		if (s[i] != '\\') {
			tmp[0] = s[i++];
		} else if (s[i + 1] != 'u') {
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";

			tmp[0] = to[strchr(from, s[i + 1]) - from];
			i += 2;
		} else {
			unsigned long cp = hex4(s + i + 2);

			i += 6;
			if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= len && s[i] == '\\' &&
			    s[i + 1] == 'u' && hex4(s + i + 2) >= 0xdc00 && hex4(s + i + 2) < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(s + i + 2) - 0xdc00);
				i += 6;
			} else if (cp >= 0xd800 && cp < 0xe000) {
				cp = 0xfffd; /* a lone surrogate, as Go reads it */
			}
			if (cp == 0)
				return -ENOSPC;
			k = utf8_put(cp, tmp);
		}
		if (tmp[0] == '\0' || o + k >= size)
			return -ENOSPC;
		memcpy(buf + o, tmp, k);
		o += k;
	}
	if (o >= size)
		return -ENOSPC;
	buf[o] = '\0';
	return (int)o;
}
