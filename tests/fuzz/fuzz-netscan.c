/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the state-file scanner (netscan_run), differential: each input is
 * scanned with the endpoint layout (netstate.c's) and the IPAM layout (ipamstate.c's) by
 * netscan_run and by the reference that reads every record whole (tests/unit/netscan-ref.c:
 * the same source without models); the results, every field, or the errors and their
 * offsets, must be equal. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "netscan.h"
#include "ipamstate.h"
#include "netstate.h"

int netscan_ref_run(const struct netscan_layout *lo, const char *text, size_t len,
		    struct netscan *ret, const char **field, const char **why, size_t *at);
void netscan_ref_free(struct netscan *s);

/* netstate.c's and ipamstate.c's layouts, as the product runs them */
static const struct netscan_layout *const layouts[] = { &netstate_endpoints_layout,
							   &ipamstate_records_layout };

static bool same_record(const struct netscan_record *p, const struct netscan_record *q)
{
	if (p->key_off != q->key_off || p->key_len != q->key_len || p->off != q->off ||
	    p->len != q->len || p->escaped_key != q->escaped_key)
		return false;
	for (size_t k = 0; k < NETSCAN_FIELDS_MAX; k++) {
		if (p->f[k].type != q->f[k].type || p->f[k].off != q->f[k].off ||
		    p->f[k].len != q->f[k].len)
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *t = malloc(size + NETSCAN_PAD);

	FUZZ_ASSERT(t != NULL);
	memcpy(t, data, size);
	memset(t + size, 0, NETSCAN_PAD);
	for (size_t l = 0; l < sizeof(layouts) / sizeof(layouts[0]); l++) {
		struct netscan a, b;
		const char *fa = NULL, *wa = NULL, *fb = NULL, *wb = NULL;
		size_t ata = 0, atb = 0;
		int ra = netscan_run(layouts[l], t, size, &a, &fa, &wa, &ata);
		int rb = netscan_ref_run(layouts[l], t, size, &b, &fb, &wb, &atb);

		FUZZ_ASSERT(ra == rb);
		if (ra < 0) {
			FUZZ_ASSERT(strcmp(fa, fb) == 0 && strcmp(wa, wb) == 0 && ata == atb);
			continue;
		}
		FUZZ_ASSERT(a.skel_len == b.skel_len);
		FUZZ_ASSERT(memcmp(a.skel, b.skel, a.skel_len + 1) == 0);
		FUZZ_ASSERT(a.n_maps == b.n_maps);
		for (size_t i = 0; i < a.n_maps; i++) {
			const struct netscan_map *x = &a.maps[i], *y = &b.maps[i];

			FUZZ_ASSERT(x->n == y->n && x->off == y->off && x->len == y->len &&
				    x->skel_off == y->skel_off && x->skel_len == y->skel_len);
			for (size_t j = 0; j < x->n; j++)
				FUZZ_ASSERT(same_record(&x->recs[j], &y->recs[j]));
		}
		netscan_free(&a);
		netscan_ref_free(&b);
	}
	free(t);
	return 0;
}
