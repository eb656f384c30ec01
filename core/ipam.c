/* SPDX-License-Identifier: MIT */
/* IPAM pools: merge of a refreshed source, allocation keyed by owner (container ID + ifname),
 * release, GC and the IPAM result. Rules follow ACN ipam/pool.go (see ipam.h); unlike Go, the
 * free address taken is the lowest one, so allocation is deterministic. */
#include "ipam.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#define IPAM_DNS_SERVER "168.63.129.16" /* Azure's virtual DNS, as the Go plugin returns */

void ipam_space_free(struct ipam_space *sp)
{
	if (!sp)
		return;
	for (size_t i = 0; i < sp->n_pools; i++)
		free(sp->pools[i].addrs);
	free(sp->pools);
	sp->pools = NULL;
	sp->n_pools = 0;
	cJSON_Delete(sp->doc);
	sp->doc = NULL;
	if (sp->text_release)
		sp->text_release(sp->text_owner);
	else
		free(sp->text);
	sp->text = NULL;
	sp->text_release = NULL;
	sp->text_owner = NULL;
}

static int addr_rec_cmp(const void *a, const void *b)
{
	return ipnet_addr_cmp(&((const struct ipam_addr *)a)->addr,
			      &((const struct ipam_addr *)b)->addr);
}

static struct ipam_addr *pool_find_addr(struct ipam_pool *pool, const struct ipnet_addr *a)
{
	struct ipam_addr key = {.addr = *a};

	if (!pool->n_addrs)
		return NULL; /* addrs is NULL then, and bsearch's base must not be (C11 7.22.5) */
	return bsearch(&key, pool->addrs, pool->n_addrs, sizeof(*pool->addrs), addr_rec_cmp);
}

static struct ipam_pool *space_find_pool(struct ipam_space *sp, const char *id)
{
	for (size_t i = 0; i < sp->n_pools; i++)
		if (strcmp(sp->pools[i].id, id) == 0)
			return &sp->pools[i];
	return NULL;
}

/* Pool bookkeeping after any change: RefCount = number of in-use records (the Go plugin counts
 * pool requests; any value > 0 means "in use" to both), and vanished records released. */
static void pool_tidy(struct ipam_pool *pool)
{
	size_t k = 0;
	int used = 0;

	for (size_t i = 0; i < pool->n_addrs; i++) {
		struct ipam_addr *r = &pool->addrs[i];

		if (r->unhealthy && !r->in_use)
			continue;
		used += r->in_use;
		pool->addrs[k++] = *r;
	}
	pool->n_addrs = k;
	pool->refcount = used;
}

/* One subnet of the source merged into @pool (kept sorted). Records found or added are marked
 * healthy; ipam_space_refresh marked every record unhealthy ("not seen") beforehand. */
static int pool_merge_subnet(struct ipam_pool *pool, const struct ipam_source_subnet *sn)
{
	size_t n_old = pool->n_addrs, n = n_old, k, at = 0;
	struct ipam_addr *grown, key;
	bool ascending = true;

	if (sn->n_addrs == 0)
		return 0;
	/* the source's addresses in order (as the node agent lists them): found by one walk
	 * along the pool's, not a binary search each */
	for (size_t i = 1; i < sn->n_addrs && ascending; i++)
		ascending = ipnet_addr_cmp(&sn->addrs[i - 1], &sn->addrs[i]) < 0;
	grown = realloc(pool->addrs, (n_old + sn->n_addrs) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	pool->addrs = grown;
	memset(&key, 0, sizeof(key));
	for (size_t i = 0; i < sn->n_addrs; i++) {
		struct ipam_addr *r;

		key.addr = sn->addrs[i];
		if (ascending) {
			while (at < n_old && ipnet_addr_cmp(&pool->addrs[at].addr, &key.addr) < 0)
				at++;
			r = at < n_old && ipnet_addr_equal(&pool->addrs[at].addr, &key.addr) ?
				    &pool->addrs[at] : NULL;
		} else {
			r = bsearch(&key, pool->addrs, n_old, sizeof(*r), addr_rec_cmp);
		}
		if (r) {
			r->unhealthy = false;
			continue;
		}
		/* A new, never-owned record: only the address and empty strings (no 300-byte memset). */
		r = &pool->addrs[n++];
		r->addr = key.addr;
		r->id[0] = '\0';
		r->ifname[0] = '\0';
		r->in_use = false;
		r->unhealthy = false;
		r->src.raw = NULL;
	}
	if (n == n_old)
		return 0;
	qsort(pool->addrs, n, sizeof(*pool->addrs), addr_rec_cmp);
	/* New records are blank, so of two equal addresses (the source listed one twice) either may
	 * stay; an old record never equals a new one (bsearch found it). */
	k = 0;
	for (size_t i = 0; i < n; i++)
		if (k == 0 || !ipnet_addr_equal(&pool->addrs[k - 1].addr, &pool->addrs[i].addr))
			pool->addrs[k++] = pool->addrs[i];
	pool->n_addrs = k;
	return 0;
}

/* Subnet @sn of source interface @it merged into @sp: its pool (by CIDR) found, or added in
 * the room ipam_space_refresh made in sp->pools, and marked in @pool_seen (one flag per pool);
 * its IfName, Priority and primary updated, its addresses merged. Returns 0 or -ENOMEM (no
 * message; the pool then half-merged). */
static int space_merge_subnet(struct ipam_space *sp, const struct ipam_source_iface *it,
			      const struct ipam_source_subnet *sn, bool *pool_seen)
{
	char id[IPNET_PREFIX_STRLEN];
	struct ipam_pool *pool;

	ipnet_prefix_format(&sn->prefix, id, sizeof(id));
	pool = space_find_pool(sp, id);
	if (!pool) {
		pool = &sp->pools[sp->n_pools++];
		memset(pool, 0, sizeof(*pool));
		snprintf(pool->id, sizeof(pool->id), "%s", id);
		pool->subnet = sn->prefix;
		pool->gateway = ipnet_prefix_first_host(&sn->prefix);
		pool->is_ipv6 = sn->prefix.addr.family == IPNET_AF_INET6;
	}
	pool_seen[pool - sp->pools] = true;
	/* A name the caller resolved wins; a known name (the Go plugin's "eth0") is not replaced
	 * by the bare MAC when this time the lookup found nothing. */
	if (it->ifname[0] || pool->ifname[0] == '\0')
		snprintf(pool->ifname, sizeof(pool->ifname), "%s",
			 it->ifname[0] ? it->ifname : it->mac);
	pool->priority = it->is_primary ? 0 : 1;
	if (sn->primary.family != 0)
		pool->primary = sn->primary;
	return pool_merge_subnet(pool, sn);
}

/* After the merge: each pool's primary marked unhealthy and the pool tidied (pool_tidy), then
 * the pools not in @pool_seen (one flag per pool) with no record left removed (their records
 * freed). Cannot fail. */
static void space_prune(struct ipam_space *sp, const bool *pool_seen)
{
	size_t k = 0;

	/* What vanished: free records dropped, in-use ones kept but unhealthy. A record that is
	 * now the pool's primary counts as vanished: it must never be handed out again. */
	for (size_t i = 0; i < sp->n_pools; i++) {
		struct ipam_pool *pool = &sp->pools[i];
		struct ipam_addr *prim = pool->primary.family ? pool_find_addr(pool, &pool->primary) : NULL;

		if (prim)
			prim->unhealthy = true;
		pool_tidy(pool);
	}
	/* Pools gone from the source with nothing left in use are removed. */
	for (size_t i = 0; i < sp->n_pools; i++) {
		if (!pool_seen[i] && sp->pools[i].n_addrs == 0) {
			free(sp->pools[i].addrs);
			continue;
		}
		sp->pools[k++] = sp->pools[i];
	}
	sp->n_pools = k;
}

int ipam_space_refresh(struct ipam_space *sp, const struct ipam_source *src, struct cni_error *err)
{
	size_t n_src_subnets = 0;
	bool *pool_seen;

	if (sp->id[0] == '\0')
		snprintf(sp->id, sizeof(sp->id), "local");
	for (size_t i = 0; i < src->n_ifaces; i++)
		n_src_subnets += src->ifaces[i].n_subnets;
	if (n_src_subnets > 0) {
		struct ipam_pool *grown = realloc(sp->pools, (sp->n_pools + n_src_subnets) * sizeof(*grown));

		if (!grown)
			goto nomem;
		sp->pools = grown;
	}
	pool_seen = calloc(sp->n_pools + n_src_subnets + 1, sizeof(*pool_seen));
	if (!pool_seen)
		goto nomem;
	for (size_t i = 0; i < sp->n_pools; i++)
		for (size_t j = 0; j < sp->pools[i].n_addrs; j++)
			sp->pools[i].addrs[j].unhealthy = true;

	for (size_t i = 0; i < src->n_ifaces; i++) {
		const struct ipam_source_iface *it = &src->ifaces[i];

		for (size_t j = 0; j < it->n_subnets; j++) {
			if (space_merge_subnet(sp, it, &it->subnets[j], pool_seen) < 0) {
				free(pool_seen);
				goto nomem;
			}
		}
	}
	space_prune(sp, pool_seen);
	free(pool_seen);
	return 0;

nomem:
	/* Marks may be half set; the caller discards the space on error. */
	return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory merging the IPAM source");
}

/* Does record @rec belong to owner (@cid, @ifname)? An empty ifname on either side (records
 * the Go plugin wrote; a release by container only) matches any ifname. */
static bool owner_match(const struct ipam_addr *rec, const char *cid, const char *ifname)
{
	if (!rec->in_use || strcmp(rec->id, cid) != 0)
		return false;
	return rec->ifname[0] == '\0' || !ifname || ifname[0] == '\0' || strcmp(rec->ifname, ifname) == 0;
}

/* Addresses of @pool that are never handed out: the NIC's primary IP, the subnet's network
 * address and (IPv4) its broadcast address. /31 and /32 (RFC 3021) and IPv6 /127 and /128
 * (RFC 6164) have neither. Records of them that another plugin already handed out stay readable
 * and releasable; only new allocations skip them. */
static bool pool_reserved(const struct ipam_pool *pool, const struct ipam_addr *rec)
{
	const struct ipnet_addr *a = &rec->addr;
	int n = ipnet_addr_len(a);
	bool v4 = a->family == IPNET_AF_INET, net = true, bcast = true;
	uint8_t mask[16];

	if (pool->primary.family && ipnet_addr_equal(a, &pool->primary))
		return true;
	if (a->family != pool->subnet.addr.family || pool->subnet.len > (v4 ? 30 : 126))
		return false;
	ipnet_mask_bytes(a->family, pool->subnet.len, mask);
	for (int k = 0; k < n; k++) {
		net = net && (a->bytes[k] & (uint8_t)~mask[k]) == 0;
		bcast = bcast && (a->bytes[k] | mask[k]) == 0xff;
	}
	return net || (v4 && bcast);
}

static void take(struct ipam_pool *pool, struct ipam_addr *rec, const struct ipam_request *req)
{
	snprintf(rec->id, sizeof(rec->id), "%s", req->container_id);
	if (req->ifname && req->ifname[0])
		snprintf(rec->ifname, sizeof(rec->ifname), "%s", req->ifname);
	rec->in_use = true;
	/* only recount: compacting here would move the record the caller is about to index */
	pool->refcount = 0;
	for (size_t i = 0; i < pool->n_addrs; i++)
		pool->refcount += pool->addrs[i].in_use;
}

static bool pool_has_free(const struct ipam_pool *pool)
{
	for (size_t i = 0; i < pool->n_addrs; i++)
		if (!pool->addrs[i].in_use && !pool->addrs[i].unhealthy)
			return true;
	return false;
}

/* Go requestPool's preference: higher priority, then more addresses; ties by lower ID so the
 * choice does not depend on order. Pools with no free address lose to any that has one. */
static bool pool_better(const struct ipam_pool *a, const struct ipam_pool *b)
{
	bool fa = pool_has_free(a), fb = pool_has_free(b);

	if (fa != fb)
		return fa;
	if (a->priority != b->priority)
		return a->priority > b->priority;
	if (a->n_addrs != b->n_addrs)
		return a->n_addrs > b->n_addrs;
	return strcmp(a->id, b->id) < 0;
}

/* @subnet names a pool by its ID or by any CIDR text of the same network. */
static struct ipam_pool *space_pool_by_subnet(struct ipam_space *sp, const char *subnet)
{
	struct ipnet_prefix p, net;
	struct ipam_pool *pool = space_find_pool(sp, subnet);

	if (pool || ipnet_prefix_parse(subnet, false, &p) < 0)
		return pool;
	net = ipnet_prefix_network(&p);
	for (size_t i = 0; i < sp->n_pools; i++)
		if (sp->pools[i].subnet.len == net.len &&
		    ipnet_addr_equal(&sp->pools[i].subnet.addr, &net.addr))
			return &sp->pools[i];
	return NULL;
}

/* " (the node has no IPv6 address pool)" when @sp has no pool of @family (the family of an
 * ipam.ipAddress or ipam.subnet that names no pool), else "": a static string. */
static const char *family_hint(const struct ipam_space *sp, int family)
{
	for (size_t i = 0; i < sp->n_pools; i++)
		if (sp->pools[i].subnet.addr.family == family)
			return "";
	return family == IPNET_AF_INET6 ? " (the node has no IPv6 address pool)" :
					  " (the node has no IPv4 address pool)";
}

/* The owner's record of @family (in pool @only when set; the address @want when set) taken
 * again (idempotent ADD): true with its indexes in *ret_pool, *ret_addr, else false. */
static bool owner_again(struct ipam_space *sp, const struct ipam_request *req,
			const struct ipam_pool *only, int family, const struct ipnet_addr *want,
			size_t *ret_pool, size_t *ret_addr)
{
	for (size_t i = 0; i < sp->n_pools; i++) {
		struct ipam_pool *p = &sp->pools[i];

		if ((only && p != only) || p->subnet.addr.family != family)
			continue;
		for (size_t k = 0; k < p->n_addrs; k++) {
			struct ipam_addr *r = &p->addrs[k];

			if (!owner_match(r, req->container_id, req->ifname) ||
			    (want->family && !ipnet_addr_equal(&r->addr, want)))
				continue;
			take(p, r, req);
			*ret_pool = i;
			*ret_addr = k;
			return true;
		}
	}
	return false;
}

/* ipam.ipAddress @want (in pool @only when set) for @req: taken when it is a free address of a
 * pool, else code 7 (not a pool's, unhealthy, reserved) or 102 (held by another owner). */
static int take_wanted(struct ipam_space *sp, const struct ipam_request *req,
		       struct ipam_pool *only, const struct ipnet_addr *want, size_t *ret_pool,
		       size_t *ret_addr, struct cni_error *err)
{
	struct ipam_pool *pool = NULL;
	struct ipam_addr *rec = NULL;

	for (size_t i = 0; i < sp->n_pools && !rec; i++) {
		if (only && &sp->pools[i] != only)
			continue;
		if (ipnet_prefix_contains(&sp->pools[i].subnet, want)) {
			pool = &sp->pools[i];
			rec = pool_find_addr(pool, want);
		}
	}
	if (!rec || rec->unhealthy)
		return cni_error_set(err, -ENOENT, CNI_CODE_INVALID_CONFIG,
				     "ipam.ipAddress %s is not a free address of any pool%s",
				     req->ip_address, family_hint(sp, want->family));
	if (pool_reserved(pool, rec))
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "ipam.ipAddress %s is the primary, network or broadcast "
				     "address of pool %s, never handed out", req->ip_address,
				     pool->id);
	if (rec->in_use)
		return cni_error_set(err, -EBUSY, CNI_CODE_ADDRESS_IN_USE,
				     "address %s already in use by %s", req->ip_address, rec->id);
	take(pool, rec, req);
	*ret_pool = (size_t)(pool - sp->pools);
	*ret_addr = (size_t)(rec - pool->addrs);
	return 0;
}

/* The lowest free address of pool @only, else of the best pool of @family (pool_better), for
 * @req. None: code 101 (no pool of the family, or the pool is full). */
static int take_lowest(struct ipam_space *sp, const struct ipam_request *req,
		       struct ipam_pool *only, int family, size_t *ret_pool, size_t *ret_addr,
		       struct cni_error *err)
{
	struct ipam_pool *pool = only;

	if (!pool) {
		for (size_t i = 0; i < sp->n_pools; i++) {
			struct ipam_pool *p = &sp->pools[i];

			if (p->subnet.addr.family != family)
				continue;
			if (!pool || pool_better(p, pool))
				pool = p;
		}
	}
	if (!pool)
		return cni_error_set(err, -ENOSPC, CNI_CODE_NO_ADDRESS,
				     "no available addresses: no %s address pool on this node",
				     req->ipv6 ? "IPv6" : "IPv4");
	for (size_t k = 0; k < pool->n_addrs; k++) {
		struct ipam_addr *r = &pool->addrs[k];

		if (r->in_use || r->unhealthy || pool_reserved(pool, r))
			continue;
		take(pool, r, req);
		*ret_pool = (size_t)(pool - sp->pools);
		*ret_addr = k;
		return 0;
	}
	return cni_error_set(err, -ENOSPC, CNI_CODE_NO_ADDRESS,
			     "no available addresses in pool %s", pool->id);
}

/* ipam_allocate, also telling whether the address is the owner's record found again
 * (*ret_held true; written only on success). */
static int allocate(struct ipam_space *sp, const struct ipam_request *req, size_t *ret_pool,
		    size_t *ret_addr, bool *ret_held, struct cni_error *err)
{
	int family = req->ipv6 ? IPNET_AF_INET6 : IPNET_AF_INET;
	struct ipam_pool *only = NULL;
	struct ipnet_addr want = {0};

	if (!req->container_id || req->container_id[0] == '\0')
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "IPAM request without a container ID");
	if (strlen(req->container_id) >= IPAM_OWNER_MAX)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "container ID longer than %d bytes", IPAM_OWNER_MAX - 1);
	if (req->subnet && req->subnet[0]) {
		only = space_pool_by_subnet(sp, req->subnet);
		if (!only) {
			struct ipnet_prefix p = { 0 };

			ipnet_prefix_parse(req->subnet, false, &p);
			return cni_error_set(err, -ENOENT, CNI_CODE_INVALID_CONFIG,
					     "ipam.subnet %s is not an address pool of this node%s",
					     req->subnet, family_hint(sp, p.addr.family));
		}
		family = only->subnet.addr.family;
	}
	if (req->ip_address && req->ip_address[0]) {
		if (ipnet_addr_parse(req->ip_address, &want) < 0)
			return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
					     "ipam.ipAddress \"%s\" is not an IP address", req->ip_address);
		family = want.family;
	}

	*ret_held = owner_again(sp, req, only, family, &want, ret_pool, ret_addr);
	if (*ret_held)
		return 0;

	if (want.family)
		return take_wanted(sp, req, only, &want, ret_pool, ret_addr, err);
	return take_lowest(sp, req, only, family, ret_pool, ret_addr, err);
}

static void release_rec(struct ipam_addr *rec)
{
	rec->in_use = false;
	rec->id[0] = '\0';
	rec->ifname[0] = '\0';
}

int ipam_allocate(struct ipam_space *sp, const struct ipam_request *req,
		  size_t *ret_pool, size_t *ret_addr, struct cni_error *err)
{
	bool held;

	return allocate(sp, req, ret_pool, ret_addr, &held, err);
}

bool ipam_has_family(const struct ipam_space *sp, int family)
{
	for (size_t i = 0; i < sp->n_pools; i++)
		if (sp->pools[i].subnet.addr.family == family)
			return true;
	return false;
}

static const char *family_name(int family)
{
	return family == IPNET_AF_INET6 ? "IPv6" : "IPv4";
}

static unsigned family_bit(int family)
{
	return family == IPNET_AF_INET6 ? IPAM_FAMILY_V6 : IPAM_FAMILY_V4;
}

/* The family that req->ip_address and req->subnet pin (0: neither), into *ret_family. Both
 * given must agree; an IPv6 subnet is at most /64; the family must be one of @fams. Text that
 * does not parse is left to ipam_allocate (a pool ID, or its own error). Returns 0 or -EINVAL
 * (code 7 naming the field). */
static int pinned_family(const struct ipam_request *req, unsigned fams, int *ret_family,
			 struct cni_error *err)
{
	struct ipnet_addr a = {0};
	struct ipnet_prefix p = {0};
	const char *field = "ipam.ipAddress", *text = req->ip_address;

	if (req->ip_address && req->ip_address[0])
		ipnet_addr_parse(req->ip_address, &a);
	if (req->subnet && req->subnet[0])
		ipnet_prefix_parse(req->subnet, false, &p);
	if (a.family && p.addr.family && a.family != p.addr.family)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "ipam.ipAddress %s is an %s address but ipam.subnet %s is an "
				     "%s subnet", req->ip_address, family_name(a.family),
				     req->subnet, family_name(p.addr.family));
	if (p.addr.family == IPNET_AF_INET6 && p.len > 64)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "ipam.subnet %s is longer than /64 (an Azure IPv6 subnet is a /64)",
				     req->subnet);
	*ret_family = a.family ? a.family : p.addr.family;
	if (!a.family) {
		field = "ipam.subnet";
		text = req->subnet;
	}
	if (*ret_family && !(fams & family_bit(*ret_family)))
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "%s %s is %s; this request takes %s addresses only", field, text,
				     family_name(*ret_family),
				     family_name(*ret_family == IPNET_AF_INET ? IPNET_AF_INET6
									       : IPNET_AF_INET));
	return 0;
}

/* Undo what ipam_allocate_owner took (@n entries of @a): addresses new to the owner are free
 * again, as they were (they were free and healthy, or take would not have taken them). */
static void allocs_undo(struct ipam_space *sp, const struct ipam_alloc *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct ipam_pool *pool = &sp->pools[a[i].pool];

		if (a[i].held)
			continue;
		release_rec(&pool->addrs[a[i].addr]);
		pool->refcount = 0;
		for (size_t k = 0; k < pool->n_addrs; k++)
			pool->refcount += pool->addrs[k].in_use;
	}
}

int ipam_allocate_owner(struct ipam_space *sp, const struct ipam_request *req,
			struct ipam_alloc ret[IPAM_MAX_FAMILIES], struct cni_error *err)
{
	static const int order[IPAM_MAX_FAMILIES] = {IPNET_AF_INET, IPNET_AF_INET6};
	unsigned fams = req->families ? req->families : IPAM_FAMILY_ANY;
	struct ipam_request one = *req;
	size_t n = 0;
	int pinned = 0, r;

	r = pinned_family(req, fams, &pinned, err);
	if (r < 0)
		return r;
	for (size_t f = 0; f < IPAM_MAX_FAMILIES; f++) {
		if (pinned ? order[f] != pinned :
			     !(fams & family_bit(order[f])) || !ipam_has_family(sp, order[f]))
			continue;
		one.ipv6 = order[f] == IPNET_AF_INET6;
		r = allocate(sp, &one, &ret[n].pool, &ret[n].addr, &ret[n].held, err);
		if (r < 0) {
			allocs_undo(sp, ret, n);
			return r;
		}
		n++;
	}
	if (n == 0)
		return cni_error_set(err, -EAFNOSUPPORT, CNI_CODE_NO_ADDRESS,
				     "no available addresses: no %s address pool on this node%s",
				     fams == IPAM_FAMILY_ANY ? "IPv4 or IPv6" :
				     family_name(fams == IPAM_FAMILY_V6 ? IPNET_AF_INET6 : IPNET_AF_INET),
				     sp->n_pools && fams != IPAM_FAMILY_ANY ?
				     " (its pools are of the other family only)" : "");
	return (int)n;
}

int ipam_release(struct ipam_space *sp, const char *container_id, const char *ifname,
		 const struct ipnet_addr *addr)
{
	int n = 0;

	if (!container_id || container_id[0] == '\0')
		return 0;
	for (size_t i = 0; i < sp->n_pools; i++) {
		struct ipam_pool *pool = &sp->pools[i];

		for (size_t k = 0; k < pool->n_addrs; k++) {
			struct ipam_addr *rec = &pool->addrs[k];

			if (!owner_match(rec, container_id, ifname) ||
			    (addr && !ipnet_addr_equal(&rec->addr, addr)))
				continue;
			release_rec(rec);
			n++;
		}
		pool_tidy(pool);
	}
	return n;
}

static bool attachment_valid(const struct ipam_addr *rec, const struct ipam_attachment *valid,
			     size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (valid[i].container_id && owner_match(rec, valid[i].container_id, valid[i].ifname))
			return true;
	return false;
}

int ipam_gc(struct ipam_space *sp, const struct ipam_attachment *valid, size_t n,
	    bool (*keep)(const struct ipam_addr *rec, void *arg), void *arg)
{
	int released = 0;

	for (size_t i = 0; i < sp->n_pools; i++) {
		struct ipam_pool *pool = &sp->pools[i];

		for (size_t k = 0; k < pool->n_addrs; k++) {
			struct ipam_addr *rec = &pool->addrs[k];

			if (!rec->in_use || attachment_valid(rec, valid, n) || (keep && keep(rec, arg)))
				continue;
			release_rec(rec);
			released++;
		}
		pool_tidy(pool);
	}
	return released;
}

size_t ipam_pool_free_count(const struct ipam_pool *pool)
{
	size_t n = 0;

	for (size_t k = 0; k < pool->n_addrs; k++)
		n += !pool->addrs[k].in_use && !pool->addrs[k].unhealthy &&
		     !pool_reserved(pool, &pool->addrs[k]);
	return n;
}

size_t ipam_free_count(const struct ipam_space *sp)
{
	return ipam_free_count_family(sp, 0);
}

size_t ipam_free_count_family(const struct ipam_space *sp, int family)
{
	size_t n = 0;

	for (size_t i = 0; i < sp->n_pools; i++)
		if (!family || sp->pools[i].subnet.addr.family == family)
			n += ipam_pool_free_count(&sp->pools[i]);
	return n;
}

void ipam_result_fill(const struct ipam_space *sp, size_t pool, size_t addr, struct cni_result *ret)
{
	const struct ipam_alloc one = {.pool = pool, .addr = addr};

	ipam_result_fill_allocs(sp, &one, 1, ret);
}

void ipam_result_fill_allocs(const struct ipam_space *sp, const struct ipam_alloc *allocs,
			     size_t n, struct cni_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < n && i < CNI_MAX_IPS; i++) {
		const struct ipam_pool *p = &sp->pools[allocs[i].pool];
		struct cni_route *rt = &ret->routes[ret->n_routes++];
		struct cni_ipconfig *ip = &ret->ips[ret->n_ips++];

		ip->address.addr = p->addrs[allocs[i].addr].addr;
		ip->address.len = p->subnet.len;
		ip->gateway = p->gateway;
		ip->iface = -1;
		rt->dst.addr.family = p->subnet.addr.family;
		rt->dst.len = 0;
		rt->gw = p->gateway;
		rt->scope = -1;
	}
	snprintf(ret->dns.nameservers[0], sizeof(ret->dns.nameservers[0]), "%s", IPAM_DNS_SERVER);
	ret->dns.n_nameservers = 1;
}
