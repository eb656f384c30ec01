/* SPDX-License-Identifier: MIT */
/* netscan: records read by a model (a record of the same shape read before) against the
 * reference scanner that reads every record whole (netscan-ref.c: the same source without
 * models). Every field of the result, or the error and its offset, must be the same for the
 * endpoint and the IPAM layouts, over generated state files of many records in the three
 * layouts the files come in (cJSON's ":\t", Go's ": ", compact), cases that break a model in
 * one place each, and seeded random mutations of them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/netscan.h"
#include "core/ipamstate.h"
#include "core/netstate.h"

/* netscan-ref.c */
int netscan_ref_run(const struct netscan_layout *lo, const char *text, size_t len,
		    struct netscan *ret, const char **field, const char **why, size_t *at);
void netscan_ref_free(struct netscan *s);

/* netstate.c's and ipamstate.c's layouts, as the product runs them */
static const struct netscan_layout *const layouts[] = { &netstate_endpoints_layout,
							   &ipamstate_records_layout };

static size_t compared, accepted;

/* @text (@n bytes) scanned with layouts[@l] by both scanners: the results must be equal. The
 * scan (caller netscan_free) into *@ret when it succeeded; returns netscan_run's result. */
static int same_l(const char *text, size_t n, size_t l, struct netscan *ret)
{
	char *t = malloc(n + NETSCAN_PAD);
	struct netscan a, b;
	const char *fa = NULL, *wa = NULL, *fb = NULL, *wb = NULL;
	size_t ata = 0, atb = 0, i, j, k;
	int ra, rb;

	assert_non_null(t);
	memcpy(t, text, n);
	memset(t + n, 0, NETSCAN_PAD);
	ra = netscan_run(layouts[l], t, n, &a, &fa, &wa, &ata);
	rb = netscan_ref_run(layouts[l], t, n, &b, &fb, &wb, &atb);
	compared++;
	assert_int_equal(ra, rb);
	if (ra < 0) {
		assert_string_equal(fa, fb);
		assert_string_equal(wa, wb);
		assert_int_equal(ata, atb);
		free(t);
		return ra;
	}
	accepted++;
	assert_int_equal(a.skel_len, b.skel_len);
	assert_memory_equal(a.skel, b.skel, a.skel_len + 1);
	assert_int_equal(a.n_maps, b.n_maps);
	for (i = 0; i < a.n_maps; i++) {
		const struct netscan_map *x = &a.maps[i], *y = &b.maps[i];

		assert_int_equal(x->n, y->n);
		assert_int_equal(x->off, y->off);
		assert_int_equal(x->len, y->len);
		assert_int_equal(x->skel_off, y->skel_off);
		assert_int_equal(x->skel_len, y->skel_len);
		for (j = 0; j < x->n; j++) {
			const struct netscan_record *p = &x->recs[j], *q = &y->recs[j];

			assert_int_equal(p->key_off, q->key_off);
			assert_int_equal(p->key_len, q->key_len);
			assert_int_equal(p->off, q->off);
			assert_int_equal(p->len, q->len);
			assert_int_equal(p->escaped_key, q->escaped_key);
			for (k = 0; k < NETSCAN_FIELDS_MAX; k++) {
				assert_int_equal(p->f[k].type, q->f[k].type);
				assert_int_equal(p->f[k].off, q->f[k].off);
				assert_int_equal(p->f[k].len, q->f[k].len);
			}
		}
	}
	netscan_ref_free(&b);
	if (ret) {
		/* the offsets are the text's: the caller reads them in its own copy */
		*ret = a;
	} else {
		netscan_free(&a);
	}
	free(t);
	return 0;
}

static void same(const char *text, size_t n)
{
	for (size_t l = 0; l < sizeof(layouts) / sizeof(layouts[0]); l++)
		same_l(text, n, l, NULL);
}

/* ---- state files ---- */

struct buf {
	char *p;
	size_t n, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void putf(struct buf *b, const char *fmt, ...) __attribute__((format(gnu_printf, 2, 3)));
static void putf(struct buf *b, const char *fmt, ...)
{
	char s[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(s));
	put(b, s, (size_t)n);
}

enum style { COMPACT, CJSON, GO };

/* Compact JSON @in laid out in @style: cJSON_Print's tabs and
 * ":\t", Go's MarshalIndent with a tab (": "), or as it is. */
static void layout(struct buf *out, const char *in, enum style style)
{
	int depth = 0;
	bool str = false;

	if (style == COMPACT) {
		put(out, in, strlen(in));
		return;
	}
	for (const char *p = in; *p; p++) {
		if (str) {
			if (*p == '\\')
				put(out, p++, 1);
			else if (*p == '"')
				str = false;
			put(out, p, 1);
			continue;
		}
		switch (*p) {
		case '"': str = true; put(out, p, 1); break;
		case '{': case '[':
			put(out, p, 1);
			depth++;
			put(out, "\n", 1);
			for (int i = 0; i < depth; i++)
				put(out, "\t", 1);
			break;
		case '}': case ']':
			depth--;
			put(out, "\n", 1);
			for (int i = 0; i < depth; i++)
				put(out, "\t", 1);
			put(out, p, 1);
			break;
		case ',':
			put(out, ",\n", 2);
			for (int i = 0; i < depth; i++)
				put(out, "\t", 1);
			break;
		case ':': put(out, style == CJSON ? ":\t" : ": ", 2); break;
		default: put(out, p, 1); break;
		}
	}
}

/* An azure-vnet.json of @n endpoints, compact. Every @odd-th endpoint (0: none) differs from
 * the others in shape: a VLAN, a container ID with an escape, one more route. */
static void endpoints_file(struct buf *b, int n, int odd)
{
	b->n = 0;
	putf(b, "%s", "{\"Network\":{\"Version\":\"v0.1.0\",\"TimeStamp\":\"2026-12-03T09:20:43Z\","
		      "\"ExternalInterfaces\":{\"eth0\":{\"Name\":\"eth0\",\"Networks\":{\"azure\":"
		      "{\"Id\":\"azure\",\"Mode\":\"transparent\",\"Endpoints\":{");
	for (int i = 1; i <= n; i++) {
		bool o = odd && i % odd == 0;

		putf(b, "%s\"c%d-eth0\":{\"Id\":\"c%d-eth0\",\"SandboxKey\":\"\",\"IfName\":\"eth0\","
			"\"HostIfName\":\"azv%012x\",\"MacAddress\":\"%08X\",\"InfraVnetIP\":"
			"{\"IP\":\"\",\"Mask\":null},\"IPAddresses\":[{\"IP\":\"10.240.%d.%d\","
			"\"Mask\":\"//8AAA==\"}],\"Gateways\":[\"10.240.0.1\"],\"DNS\":{\"Suffix\":\"\","
			"\"Servers\":[\"168.63.129.16\"],\"Options\":null},\"Routes\":[{\"Dst\":{\"IP\":"
			"\"0.0.0.0\",\"Mask\":\"AAAAAA==\"},\"Gw\":\"10.240.0.1\",\"Protocol\":0}%s],"
			"\"VlanID\":%d,\"EnableSnatOnHost\":false,\"NetworkNameSpace\":"
			"\"/var/run/netns/p%d\",\"ContainerID\":\"%s%d\",\"SecondaryInterfaces\":{},"
			"\"NICType\":\"InfraNIC\"}",
		     i > 1 ? "," : "", i, i, (unsigned)i * 2654435761u, (unsigned)i * 40503u,
		     (i + 4) / 256, (i + 4) % 256, o ? ",{\"Dst\":{\"IP\":\"10.0.0.0\"}}" : "",
		     o ? 7 : 0, i, o ? "c\\u0031" : "c", i);
	}
	put(b, "}}}}}}}", 7);
}

/* An azure-vnet-ipam.json of @n address records, compact; every third one not in use (no ID,
 * "InUse": false: the file's other shape). */
static void ipam_file(struct buf *b, int n)
{
	b->n = 0;
	putf(b, "%s", "{\"IPAM\":{\"Version\":\"v0.1.0\",\"AddressSpaces\":{\"local\":{\"Id\":\"local\","
		      "\"Pools\":{\"10.240.0.0/16\":{\"Id\":\"10.240.0.0/16\",\"Addresses\":{");
	for (int i = 1; i <= n; i++) {
		bool free_ = i % 3 == 0;
		char id[16] = "";

		if (!free_)
			snprintf(id, sizeof(id), "c%d", i);
		putf(b, "%s\"10.240.%d.%d\":{\"ID\":\"%s\",\"Addr\":\"10.240.%d.%d\",\"InUse\":%s,"
			"\"IfName\":\"eth0\",\"Unhealthy\":false}",
		     i > 1 ? "," : "", i / 256, i % 256, id, i / 256,
		     i % 256, free_ ? "false" : "true");
	}
	put(b, "}}}}}}", 6);
}

/* ---- tests ---- */

/* The generated files: every layout, with and without records of a second shape. */
static void generated(void **state)
{
	struct buf c = { 0 }, t = { 0 };

	(void)state;
	for (int s = COMPACT; s <= GO; s++) {
		for (int odd = 0; odd <= 5; odd += 5) {
			endpoints_file(&c, 250, odd);
			t.n = 0;
			layout(&t, c.p, (enum style)s);
			same(t.p, t.n);
		}
		ipam_file(&c, 250);
		t.n = 0;
		layout(&t, c.p, (enum style)s);
		same(t.p, t.n);
	}
	free(c.p);
	free(t.p);
}

/* A record read by its model: its fields, at its own offsets. */
static void model_fields(void **state)
{
	static const char text[] =
		"{\"Network\":{\"ExternalInterfaces\":{\"e\":{\"Networks\":{\"n\":{\"Endpoints\":{"
		"\"a\":{\"Id\":\"a-eth0\",\"IfName\":\"eth0\",\"ContainerID\":\"a\",\"V\":0},"
		"\"b\":{\"Id\":\"bb-eth0\",\"IfName\":\"eth0\",\"ContainerID\":\"\",\"V\":0},"
		"\"c\":{\"Id\":\"c-eth0\",\"IfName\":\"eth1\",\"ContainerID\":\"c\\\"\",\"V\":0}"
		"}}}}}}}";
	static const char esc[] =
		"{\"Network\":{\"ExternalInterfaces\":{\"e\":{\"Networks\":{\"n\":{\"Endpoints\":{"
		"\"a\":{\"Id\":\"a\",\"\\u0056\":0},\"b\":{\"Id\":\"bb\",\"\\u0056\":0},"
		"\"c\":{\"Id\":\"c\",\"\\u0056\":0}}}}}}}}";
	struct netscan s;
	const struct netscan_record *r;

	(void)state;
	assert_int_equal(same_l(text, strlen(text), 0, &s), 0);
	assert_int_equal(s.n_maps, 1);
	assert_int_equal(s.maps[0].n, 3);
	r = &s.maps[0].recs[1];
	assert_int_equal(r->f[0].type, NETSCAN_STRING);
	assert_int_equal(r->f[0].len, 7);
	assert_memory_equal(text + r->f[0].off, "bb-eth0", 7);
	assert_int_equal(r->f[1].type, NETSCAN_STRING);
	assert_int_equal(r->f[1].len, 0);
	assert_memory_equal(text + r->f[2].off, "eth0", 4);
	assert_memory_equal(text + r->off, "{\"Id\":\"bb-eth0\"", 15);
	assert_int_equal(text[r->off + r->len - 1], '}');
	/* an escape in a body: read whole again */
	r = &s.maps[0].recs[2];
	assert_int_equal(r->f[1].len, 3);
	assert_memory_equal(text + r->f[1].off, "c\\\"", 3);
	assert_memory_equal(text + r->f[2].off, "eth1", 4);
	netscan_free(&s);

	/* a key with an escape, in each record: each flagged */
	assert_int_equal(same_l(esc, strlen(esc), 0, &s), 0);
	assert_int_equal(s.maps[0].n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_true(s.maps[0].recs[i].escaped_key);
	netscan_free(&s);
}

/* Records that differ from the first in one place each, valid or not. */
static void model_breaks(void **state)
{
	static const char *const second[] = {
		"{\"Id\":\"x\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\",{}]}",
		"{\"Id\":\"\",\"IfName\":\"\",\"ContainerID\":\"\",\"V\":0,\"A\":[\"\",{}]}",
		"{\"Id\":\"a longer value than the first one had, well past 64 bytes of it......\","
		"\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\",{}]}",
		"{\"Id\":\"x\\n\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\",{}]}",
		"{\"Id\":\"\\u0041\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\",{}]}",
		"{\"Id\":\"\\u00G1\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\",{}]}",
		"{\"Id\":\"x\\q\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\",{}]}",
		"{\"Id\":\"x\x01\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\",{}]}",
		"{\"Id\":\"x\"y\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\",{}]}",
		"{\"Id\":\"x\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":12,\"A\":[\"1\",{}]}",
		"{\"Id\":\"x\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\",{ }]}",
		"{\"id\":\"x\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\",{}]}",
		"{\"Id\":null,\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\",{}]}",
		"{\"Id\":\"x\",\"IfName\":\"eth0\",\"ContainerID\":1,\"V\":0,\"A\":[\"1\",{}]}",
		"{\"I\\u0064\":\"x\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\",{}]}",
		"{\"Id\":\"x\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\",{}],\"Id\":\"y\"}",
		"{\"Id\":\"x\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\",{}]",
		"{\"Id\":\"x\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\",{}]}}",
		"{\"Id\":\"x\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\"{}]}",
		"{\"Id\":\"x\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\",{}]}  ",
		"{\"Id\":\"x\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"1\",[]]}",
		"{\"Id\":\"x\",\"IfName\":\"eth0\",\"ContainerID\":\"x\",\"V\":0,\"A\":[\"\\\\\",{}]}",
	};
	static const char head[] =
		"{\"Network\":{\"ExternalInterfaces\":{\"e\":{\"Networks\":{\"n\":{\"Endpoints\":{"
		"\"a\":{\"Id\":\"a-eth0\",\"IfName\":\"eth0\",\"ContainerID\":\"a\",\"V\":0,"
		"\"A\":[\"1\",{}]},\"b\":";
	struct buf b = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(second) / sizeof(second[0]); i++) {
		/* whole, cut inside the second record (the text ends where the model does not), and
		 * with a third record like the first */
		b.n = 0;
		putf(&b, "%s%s}}}}}}}", head, second[i]);
		same(b.p, b.n);
		for (size_t cut = strlen(head); cut < b.n; cut += 3)
			same(b.p, cut);
		b.n = 0;
		putf(&b, "%s%s,\"c\":{\"Id\":\"c\",\"IfName\":\"eth0\",\"ContainerID\":\"c\",\"V\":0,"
			 "\"A\":[\"1\",{}]}}}}}}}}",
		     head, second[i]);
		same(b.p, b.n);
	}
	/* a NUL inside the text, in a value and in the structure */
	b.n = 0;
	putf(&b, "%s%s}}}}}}}", head, second[0]);
	b.p[strlen(head) + 7] = '\0';
	same(b.p, b.n);
	b.p[strlen(head) + 7] = 'x';
	b.p[strlen(head) + 10] = '\0';
	same(b.p, b.n);
	free(b.p);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* 1 to 4 random edits of @t (@n bytes, room for @cap) biased to JSON's own bytes; the new
 * length. */
static size_t mutate(char *t, size_t n, size_t cap)
{
	static const char bytes[] = "\"\\:,{}[] \t\n0a1u-e.ntf\x01\x1f\x80";
	int k = 1 + (int)(rnd() % 4);

	for (int m = 0; m < k && n > 0; m++) {
		size_t p = rnd() % n, l;
		char ch = rnd() % 8 ? bytes[rnd() % (sizeof(bytes) - 1)] : (char)rnd();

		switch (rnd() % 6) {
		case 0:
		case 1:
			t[p] = ch;
			break;
		case 2:
			if (n + 1 < cap) {
				memmove(t + p + 1, t + p, n - p);
				t[p] = ch;
				n++;
			}
			break;
		case 3:
			l = 1 + rnd() % 8;
			l = p + l > n ? n - p : l;
			memmove(t + p, t + p + l, n - p - l);
			n -= l;
			break;
		case 4: {
			/* a copy of other bytes of the text (a key, a value, a record's part) */
			size_t q = rnd() % n;

			l = 1 + rnd() % 40;
			l = q + l > n ? n - q : l;
			if (n + l < cap) {
				memmove(t + p + l, t + p, n - p);
				memmove(t + p, t + q + (q >= p ? l : 0), l);
				n += l;
			}
			break;
		}
		default:
			if (rnd() % 4 == 0)
				n = p;
			else
				t[p] = (char)(t[p] ^ (1 << (rnd() % 8)));
			break;
		}
	}
	return n;
}

/* Seeded random edits of small generated files (8 records, every layout): thousands of texts
 * near the model's shape. */
static void mutations(void **state)
{
	struct buf c = { 0 }, t = { 0 };
	size_t cap = 1 << 16;
	char *w = malloc(cap);

	(void)state;
	assert_non_null(w);
	compared = accepted = 0;
	for (int f = 0; f < 3; f++) {
		for (int s = COMPACT; s <= GO; s++) {
			if (f < 2)
				endpoints_file(&c, 8, f ? 3 : 0);
			else
				ipam_file(&c, 8);
			t.n = 0;
			layout(&t, c.p, (enum style)s);
			assert_true(t.n < cap / 2);
			for (int i = 0; i < 2500; i++) {
				memcpy(w, t.p, t.n);
				same(w, mutate(w, t.n, cap));
			}
		}
	}
	print_message("mutations: %zu scans compared, %zu accepted\n", compared, accepted);
	/* the edits leave many texts valid: the models' read of them was compared too */
	assert_true(accepted > compared / 20);
	free(w);
	free(c.p);
	free(t.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(generated),
		cmocka_unit_test(model_fields),
		cmocka_unit_test(model_breaks),
		cmocka_unit_test(mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
