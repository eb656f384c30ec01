/* SPDX-License-Identifier: MIT */
/* What the two IPAM source harnesses (fuzz-nmagent.c, fuzz-mas.c) do with a document that
 * parsed: check it, merge it into an empty address space as a refresh does, allocate and release
 * one address, and round-trip the space through the IPAM state file (ipamstate_encode, decode,
 * encode: the same text). */
#ifndef AZCNI_FUZZ_SOURCE_H
#define AZCNI_FUZZ_SOURCE_H

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ipam.h"
#include "ipamstate.h"

static inline void fuzz_source_use(const struct ipam_source *src)
{
	struct ipam_space sp = { .id = "local" }, back = { 0 };
	struct ipam_request req = { .container_id = "fuzz-container", .ifname = "eth0",
				    .subnet = "", .ip_address = "" };
	struct cni_error err = { 0 };
	size_t i, j, pool, addr;
	char *t1, *t2;

	for (i = 0; i < src->n_ifaces; i++) {
		FUZZ_ASSERT_TERMINATED(src->ifaces[i].mac);
		for (j = 0; j < src->ifaces[i].n_subnets; j++)
			FUZZ_ASSERT(src->ifaces[i].subnets[j].n_addrs == 0 ||
				    src->ifaces[i].subnets[j].addrs != NULL);
	}
	FUZZ_ASSERT(ipam_space_refresh(&sp, src, &err) == 0);
	if (ipam_allocate(&sp, &req, &pool, &addr, &err) == 0) {
		FUZZ_ASSERT(pool < sp.n_pools && addr < sp.pools[pool].n_addrs);
		FUZZ_ASSERT(sp.pools[pool].addrs[addr].in_use);
	}
	t1 = ipamstate_encode(&sp, "2026-01-02T03:04:05Z");
	FUZZ_ASSERT(t1 != NULL);
	FUZZ_ASSERT(ipamstate_decode(t1, strlen(t1), "fuzz", &back, &err) == 0);
	t2 = ipamstate_encode(&back, "2026-01-02T03:04:05Z");
	FUZZ_ASSERT(t2 != NULL);
	if (strcmp(t1, t2) != 0) {
		fprintf(stderr, "IPAM state round trip differs:\n%s\n%s\n", t1, t2);
		abort();
	}
	FUZZ_ASSERT(ipam_release(&sp, "fuzz-container", "eth0", NULL) >= 0);
	free(t1);
	free(t2);
	ipam_space_free(&back);
	ipam_space_free(&sp);
}

#endif
