/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the interfaces.json document of the "mas" source
 * (ipam_source_parse_mas), and what a refresh does with a document that parsed (fuzz-source.h).
 * Its one-pass reader and the cJSON one (ipam_source_parse_mas_tree) must agree: the same
 * result, and on success the same source. */
#include "fuzz-source.h"

static void same_source(const struct ipam_source *a, const struct ipam_source *b)
{
	FUZZ_ASSERT(a->n_ifaces == b->n_ifaces);
	for (size_t i = 0; i < a->n_ifaces; i++) {
		const struct ipam_source_iface *x = &a->ifaces[i], *y = &b->ifaces[i];

		FUZZ_ASSERT(strcmp(x->mac, y->mac) == 0 && x->is_primary == y->is_primary);
		FUZZ_ASSERT(x->n_subnets == y->n_subnets);
		for (size_t j = 0; j < x->n_subnets; j++) {
			const struct ipam_source_subnet *p = &x->subnets[j], *q = &y->subnets[j];

			FUZZ_ASSERT(ipnet_addr_equal(&p->prefix.addr, &q->prefix.addr) &&
				    p->prefix.len == q->prefix.len);
			FUZZ_ASSERT(ipnet_addr_equal(&p->primary, &q->primary));
			FUZZ_ASSERT(p->n_addrs == q->n_addrs);
			for (size_t k = 0; k < p->n_addrs; k++)
				FUZZ_ASSERT(ipnet_addr_equal(&p->addrs[k], &q->addrs[k]));
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipam_source src = { 0 }, tree = { 0 };
	struct cni_error err = { 0 }, err_tree = { 0 };
	int r = ipam_source_parse_mas((const char *)data, size, &src, &err);

	FUZZ_ASSERT(ipam_source_parse_mas_tree((const char *)data, size, &tree, &err_tree) == r);
	if (r < 0) {
		FUZZ_ASSERT(err.code != 0);
		FUZZ_ASSERT(strcmp(err.msg, err_tree.msg) == 0);
		return 0;
	}
	same_source(&src, &tree);
	ipam_source_free(&tree);
	fuzz_source_use(&src);
	ipam_source_free(&src);
	return 0;
}
