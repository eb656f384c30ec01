/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the IPAM state file azure-vnet-ipam.json (ipamstate_decode). Round trip
 * as fuzz-netstate.c: encode, decode, encode must give the same text. And the records a save
 * copies as their bytes (those a call did not change) lose nothing: the text saved, with and
 * without changes (a release and an allocation), reads back as the same space as the one saved,
 * compared through the text every record written from its fields gives; and a save's runs of
 * records copied in one piece are the bytes it writes for them one by one. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ipamstate.h"

#define TS "2026-01-02T03:04:05Z"

/* @sp's text with every record written from its fields (src dropped: @sp is changed so). */
static char *fields_text(struct ipam_space *sp)
{
	char *t;

	for (size_t i = 0; i < sp->n_pools; i++)
		for (size_t k = 0; k < sp->pools[i].n_addrs; k++)
			sp->pools[i].addrs[k].src.raw = NULL;
	t = ipamstate_encode(sp, TS);
	FUZZ_ASSERT(t != NULL);
	return t;
}

/* @sp's text with no run of records copied in one piece: a record's bytes follow the one
 * before it only when their places in the text are adjacent, and the places are spread apart
 * (their order kept). @sp's places are restored. */
static char *no_runs_text(struct ipam_space *sp)
{
	char *t;

	for (size_t i = 0; i < sp->n_pools; i++)
		for (size_t k = 0; k < sp->pools[i].n_addrs; k++)
			sp->pools[i].addrs[k].src.pos *= 2;
	t = ipamstate_encode(sp, TS);
	FUZZ_ASSERT(t != NULL);
	for (size_t i = 0; i < sp->n_pools; i++)
		for (size_t k = 0; k < sp->pools[i].n_addrs; k++)
			sp->pools[i].addrs[k].src.pos /= 2;
	return t;
}

/* @sp saved (records as read where unchanged) and read back is @sp; the runs of records a
 * save copies in one piece are what it writes record by record. Frees @sp. */
static void saved_is_same(struct ipam_space *sp, const char *what)
{
	struct ipam_space back = { 0 };
	struct cni_error err = { 0 };
	char *t = ipamstate_encode(sp, TS), *a, *b;

	FUZZ_ASSERT(t != NULL);
	a = no_runs_text(sp);
	if (strcmp(t, a) != 0) {
		fprintf(stderr, "%s: the runs copied differ from the records:\n%s\n%s\n", what, t, a);
		abort();
	}
	free(a);
	FUZZ_ASSERT(ipamstate_decode(t, strlen(t), "fuzz", &back, &err) == 0);
	a = fields_text(sp);
	b = fields_text(&back);
	if (strcmp(a, b) != 0) {
		fprintf(stderr, "%s: saved text reads back differently:\n%s\n%s\n%s\n", what, t, a, b);
		abort();
	}
	free(t);
	free(a);
	free(b);
	ipam_space_free(&back);
	ipam_space_free(sp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipam_space sp = { 0 }, back = { 0 };
	struct cni_error err = { 0 };
	char *t1, *t2;

	if (ipamstate_decode((const char *)data, size, "fuzz", &sp, &err) < 0) {
		FUZZ_ASSERT(err.code != 0);
		return 0;
	}
	t1 = ipamstate_encode(&sp, TS);
	FUZZ_ASSERT(t1 != NULL);
	FUZZ_ASSERT(ipamstate_decode(t1, strlen(t1), "fuzz", &back, &err) == 0);
	t2 = ipamstate_encode(&back, TS);
	FUZZ_ASSERT(t2 != NULL);
	if (strcmp(t1, t2) != 0) {
		fprintf(stderr, "IPAM state round trip differs:\n%s\n%s\n", t1, t2);
		abort();
	}
	free(t1);
	free(t2);
	ipam_space_free(&back);
	saved_is_same(&sp, "unchanged");

	/* changed: the first in-use owner released, an address taken for a new one */
	FUZZ_ASSERT(ipamstate_decode((const char *)data, size, "fuzz", &sp, &err) == 0);
	for (size_t i = 0; i < sp.n_pools; i++) {
		const struct ipam_pool *p = &sp.pools[i];
		size_t k;

		for (k = 0; k < p->n_addrs && !p->addrs[k].in_use; k++)
			;
		if (k < p->n_addrs) {
			char id[IPAM_OWNER_MAX];

			memcpy(id, p->addrs[k].id, sizeof(id));
			if (id[0])
				ipam_release(&sp, id, "", NULL);
			break;
		}
	}
	{
		struct ipam_request req = { .container_id = "fuzz-owner", .ifname = "eth9",
					    .subnet = "", .ip_address = "" };
		size_t pool, addr;

		ipam_allocate(&sp, &req, &pool, &addr, NULL);
	}
	saved_is_same(&sp, "changed");
	return 0;
}
