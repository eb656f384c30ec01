/* SPDX-License-Identifier: MIT */
/* The two IPAM sources parsed into struct ipam_source: the NMAgent interface-info XML
 * (wireserver getinterfaceinfov1, parsed with expat) and interfaces.json ("mas", cJSON).
 * Formats: ACN common/utils.go XmlDocument and ipam/fileIpam.go; no I/O here. */
#include "ipam.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <expat.h>

#include "mac.h"

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool ascii_eq_nocase(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (ascii_lower(*a) != ascii_lower(*b))
			return false;
	return *a == *b;
}

/* Arrays here only grow by one element at a time; capacity is implied by the count
 * (4, then doubling), so the structs need no capacity fields. */
static int array_append(void **arr, size_t n, size_t elem)
{
	size_t cap;
	void *p;

	if (n == 0)
		cap = 4;
	else if (n >= 4 && (n & (n - 1)) == 0)
		cap = n * 2;
	else
		return 0;
	p = realloc(*arr, cap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	return 0;
}

/* Go strconv.ParseBool, which encoding/xml and our case-insensitive JSON reading accept. */
static int parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = {"1", "t", "true"};
	static const char *const no[] = {"0", "f", "false"};

	for (size_t i = 0; i < 3; i++) {
		if (ascii_eq_nocase(s, yes[i])) {
			*ret = true;
			return 0;
		}
		if (ascii_eq_nocase(s, no[i])) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* MAC text (any spelling mac_parse takes) -> 12 upper-case hex digits ("*", the Go plugin's
 * wildcard, is kept as is). */
static int mac_normalise(const char *s, char ret[13])
{
	uint8_t mac[MAC_LEN];

	if (strcmp(s, "*") == 0) {
		memcpy(ret, "*", 2);
		return 0;
	}
	if (mac_parse(s, mac) < 0)
		return -EINVAL;
	mac_format(mac, MAC_BARE_UPPER, ret, 13);
	return 0;
}

/* ---- the model builder shared by both formats; @where names the spot for messages ---- */

static int src_add_iface(struct ipam_source *src, const char *what, const char *where,
			 const char *mac, bool is_primary, struct cni_error *err)
{
	struct ipam_source_iface *it;
	char norm[13];

	if (!mac || mac_normalise(mac, norm) < 0)
		return cni_error_set(err, -EINVAL, CNI_CODE_SOURCE, "%s: bad MacAddress \"%s\" at %s",
				     what, mac ? mac : "", where);
	if (array_append((void **)&src->ifaces, src->n_ifaces, sizeof(*src->ifaces)) < 0)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	it = &src->ifaces[src->n_ifaces++];
	memset(it, 0, sizeof(*it));
	memcpy(it->mac, norm, sizeof(it->mac));
	it->is_primary = is_primary;
	return 0;
}

/* Does prefix @p overlap one of the ranges that are never a VNet subnet? IPv6: ::/8 (the
 * unspecified and loopback addresses, IPv4-mapped ::ffff:a.b.c.d, RFC 4291 2.5), link-local
 * fe80::/10 and multicast ff00::/8 (RFC 4291 2.4). IPv4: "this network" 0.0.0.0/8, loopback
 * 127.0.0.0/8, link-local 169.254.0.0/16, multicast 224.0.0.0/4 and reserved 240.0.0.0/4 with
 * the broadcast address (RFC 6890; Azure refuses them in a VNet's address space too). Two
 * prefixes overlap when the shorter contains the other's network address. */
static bool prefix_reserved(const struct ipnet_prefix *p)
{
	static const char *const reserved[] = {"::/8", "fe80::/10", "ff00::/8", "0.0.0.0/8",
					       "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3"};

	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		struct ipnet_prefix r;

		if (ipnet_prefix_parse(reserved[i], false, &r) < 0 || r.addr.family != p->addr.family)
			continue;
		if (p->len <= r.len ? ipnet_prefix_contains(p, &r.addr)
				    : ipnet_prefix_contains(&r, &p->addr))
			return true;
	}
	return false;
}

static int src_add_subnet(struct ipam_source_iface *it, const char *what, const char *where,
			  const char *prefix, struct cni_error *err)
{
	struct ipam_source_subnet *sn;
	struct ipnet_prefix p;

	if (!prefix || ipnet_prefix_parse(prefix, false, &p) < 0)
		return cni_error_set(err, -EINVAL, CNI_CODE_SOURCE, "%s: bad Prefix \"%s\" at %s",
				     what, prefix ? prefix : "", where);
	/* Azure's IPv6 subnets are /64s; a longer one would be a typo that narrows the pool. */
	if (p.addr.family == IPNET_AF_INET6 && p.len > 64)
		return cni_error_set(err, -EINVAL, CNI_CODE_SOURCE,
				     "%s: bad Prefix \"%s\" at %s: an IPv6 subnet longer than /64",
				     what, prefix, where);
	/* ::/0 handed out ff02::1 via ::1, fe80::/64 link-local pod addresses, 0.0.0.0/0 127.0.0.1 */
	if (prefix_reserved(&p))
		return cni_error_set(err, -EINVAL, CNI_CODE_SOURCE,
				     "%s: bad Prefix \"%s\" at %s: not a unicast VNet subnet (it "
				     "overlaps %s)", what, prefix, where,
				     p.addr.family == IPNET_AF_INET6 ? "::/8, fe80::/10 or ff00::/8" :
				     "0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16 or 224.0.0.0/3");
	if (array_append((void **)&it->subnets, it->n_subnets, sizeof(*it->subnets)) < 0)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	sn = &it->subnets[it->n_subnets++];
	memset(sn, 0, sizeof(*sn));
	sn->prefix = ipnet_prefix_network(&p);
	return 0;
}

static int src_add_addr(struct ipam_source_subnet *sn, const char *what, const char *where,
			const char *addr, bool is_primary, struct cni_error *err)
{
	struct ipnet_addr a;

	if (!addr || ipnet_addr_parse(addr, &a) < 0)
		return cni_error_set(err, -EINVAL, CNI_CODE_SOURCE, "%s: bad Address \"%s\" at %s",
				     what, addr ? addr : "", where);
	if (!ipnet_prefix_contains(&sn->prefix, &a)) {
		char pbuf[IPNET_PREFIX_STRLEN];

		return cni_error_set(err, -EINVAL, CNI_CODE_SOURCE,
				     "%s: Address %s at %s is outside its subnet %s", what, addr, where,
				     ipnet_prefix_format(&sn->prefix, pbuf, sizeof(pbuf)));
	}
	if (is_primary) {
		/* The host's own address: recorded, never handed out. */
		if (sn->primary.family == 0)
			sn->primary = a;
		return 0;
	}
	/* Duplicates are merged once the document is read (src_finish): a check here per address
	 * made a 250-address document cost 31 000 comparisons. */
	if (array_append((void **)&sn->addrs, sn->n_addrs, sizeof(*sn->addrs)) < 0)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	sn->addrs[sn->n_addrs++] = a;
	return 0;
}

struct addr_pos {
	struct ipnet_addr a;
	size_t pos;
};

static int addr_pos_cmp(const void *x, const void *y)
{
	const struct addr_pos *a = x, *b = y;
	int c = ipnet_addr_cmp(&a->a, &b->a);

	return c ? c : (a->pos > b->pos) - (a->pos < b->pos);
}

/* Merge duplicate addresses of @sn (the first listed stays, order kept) and drop its primary:
 * a secondary listed before the primary of the same subnet must still never be handed out.
 * O(n log n). Returns 0 or -ENOMEM. */
static int subnet_finish(struct ipam_source_subnet *sn)
{
	struct addr_pos *sorted;
	bool *drop;
	size_t k = 0;

	if (sn->n_addrs == 0)
		return 0;
	/* A document that lists each address once and in order (the node agent's) has nothing to
	 * merge: only the primary may go, without the sort. */
	for (k = 1; k < sn->n_addrs && ipnet_addr_cmp(&sn->addrs[k - 1], &sn->addrs[k]) < 0; k++)
		;
	if (k == sn->n_addrs) {
		k = 0;
		for (size_t r = 0; r < sn->n_addrs; r++)
			if (!ipnet_addr_equal(&sn->addrs[r], &sn->primary))
				sn->addrs[k++] = sn->addrs[r];
		sn->n_addrs = k;
		return 0;
	}
	k = 0;
	sorted = malloc(sn->n_addrs * sizeof(*sorted));
	drop = calloc(sn->n_addrs, sizeof(*drop));
	if (!sorted || !drop) {
		free(sorted);
		free(drop);
		return -ENOMEM;
	}
	for (size_t r = 0; r < sn->n_addrs; r++)
		sorted[r] = (struct addr_pos){ sn->addrs[r], r };
	qsort(sorted, sn->n_addrs, sizeof(*sorted), addr_pos_cmp);
	for (size_t r = 0; r < sn->n_addrs; r++)
		drop[sorted[r].pos] = (r > 0 && ipnet_addr_equal(&sorted[r - 1].a, &sorted[r].a)) ||
				      ipnet_addr_equal(&sorted[r].a, &sn->primary);
	for (size_t r = 0; r < sn->n_addrs; r++)
		if (!drop[r])
			sn->addrs[k++] = sn->addrs[r];
	sn->n_addrs = k;
	free(sorted);
	free(drop);
	return 0;
}

/* Finish every subnet of @src (see subnet_finish). Returns 0 or -ENOMEM (code 100). */
static int src_finish(struct ipam_source *src, struct cni_error *err)
{
	for (size_t i = 0; i < src->n_ifaces; i++)
		for (size_t j = 0; j < src->ifaces[i].n_subnets; j++)
			if (subnet_finish(&src->ifaces[i].subnets[j]) < 0)
				return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	return 0;
}

void ipam_source_free(struct ipam_source *src)
{
	if (!src)
		return;
	for (size_t i = 0; i < src->n_ifaces; i++) {
		for (size_t j = 0; j < src->ifaces[i].n_subnets; j++)
			free(src->ifaces[i].subnets[j].addrs);
		free(src->ifaces[i].subnets);
	}
	free(src->ifaces);
	memset(src, 0, sizeof(*src));
}

/* ---- NMAgent XML ---- */

static const char NM_WHAT[] = "NMAgent interface info";

enum nm_level { NM_TOP, NM_INTERFACES, NM_INTERFACE, NM_SUBNET, NM_ADDRESS };

struct nm_parser {
	XML_Parser xp;
	struct ipam_source src;
	enum nm_level level;
	int skip;                  /* depth inside an element we ignore (0 = none) */
	bool seen_root;
	int ret;                   /* first failure, negative errno */
	struct cni_error *err;
};

static const char *nm_attr(const XML_Char **attrs, const char *name)
{
	for (size_t i = 0; attrs[i]; i += 2)
		if (ascii_eq_nocase(attrs[i], name))
			return attrs[i + 1];
	return NULL;
}

static void nm_fail(struct nm_parser *p, int ret)
{
	if (p->ret == 0)
		p->ret = ret;
	XML_StopParser(p->xp, XML_FALSE);
}

static int nm_bool(struct nm_parser *p, const XML_Char **attrs, const char *where, bool *ret)
{
	const char *v = nm_attr(attrs, "IsPrimary");

	*ret = false;
	if (v && parse_bool(v, ret) < 0)
		return cni_error_set(p->err, -EINVAL, CNI_CODE_SOURCE,
				     "%s: bad IsPrimary \"%s\" at %s", NM_WHAT, v, where);
	return 0;
}

static void nm_start(void *data, const XML_Char *name, const XML_Char **attrs)
{
	struct nm_parser *p = data;
	struct ipam_source_iface *it;
	bool descend = false, prim;
	char where[48];
	int r = 0;

	if (p->ret < 0)
		return;
	if (p->skip > 0) {
		p->skip++;
		return;
	}
	snprintf(where, sizeof(where), "line %lu", (unsigned long)XML_GetCurrentLineNumber(p->xp));
	switch (p->level) {
	case NM_TOP:
		if (!ascii_eq_nocase(name, "Interfaces")) {
			nm_fail(p, cni_error_set(p->err, -EINVAL, CNI_CODE_SOURCE,
						 "%s: root element is <%s>, expected <Interfaces> (%s)",
						 NM_WHAT, name, where));
			return;
		}
		p->seen_root = true;
		descend = true;
		break;
	case NM_INTERFACES:
		if (!ascii_eq_nocase(name, "Interface"))
			break;
		r = nm_bool(p, attrs, where, &prim);
		if (r == 0)
			r = src_add_iface(&p->src, NM_WHAT, where, nm_attr(attrs, "MacAddress"), prim,
					  p->err);
		descend = true;
		break;
	case NM_INTERFACE:
		if (!ascii_eq_nocase(name, "IPSubnet"))
			break;
		r = src_add_subnet(&p->src.ifaces[p->src.n_ifaces - 1], NM_WHAT, where,
				   nm_attr(attrs, "Prefix"), p->err);
		descend = true;
		break;
	case NM_SUBNET:
		if (!ascii_eq_nocase(name, "IPAddress"))
			break;
		it = &p->src.ifaces[p->src.n_ifaces - 1];
		r = nm_bool(p, attrs, where, &prim);
		if (r == 0)
			r = src_add_addr(&it->subnets[it->n_subnets - 1], NM_WHAT, where,
					 nm_attr(attrs, "Address"), prim, p->err);
		descend = true;
		break;
	case NM_ADDRESS:
		break;
	}
	if (r < 0) {
		nm_fail(p, r);
		return;
	}
	/* Anything we do not descend into is ignored, as Go's encoding/xml ignores it. */
	if (descend)
		p->level++;
	else
		p->skip = 1;
}

/* NMAgent never sends a DTD; refusing one keeps entity expansion out entirely. */
static void nm_doctype(void *data, const XML_Char *name, const XML_Char *sysid,
		       const XML_Char *pubid, int has_internal_subset)
{
	struct nm_parser *p = data;

	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	nm_fail(p, cni_error_set(p->err, -EINVAL, CNI_CODE_SOURCE,
				 "%s: unexpected DOCTYPE %s at line %lu", NM_WHAT, name,
				 (unsigned long)XML_GetCurrentLineNumber(p->xp)));
}

static void nm_end(void *data, const XML_Char *name)
{
	struct nm_parser *p = data;

	(void)name;
	if (p->ret < 0)
		return;
	if (p->skip > 0) {
		p->skip--;
		return;
	}
	if (p->level > NM_TOP)
		p->level--;
}

int ipam_source_parse_nmagent(const char *xml, size_t len, struct ipam_source *ret,
			      struct cni_error *err)
{
	struct nm_parser p = {.err = err};
	int r = 0;

	if (len > INT32_MAX)
		return cni_error_set(err, -EINVAL, CNI_CODE_SOURCE, "%s: document too large", NM_WHAT);
	p.xp = XML_ParserCreate(NULL);
	if (!p.xp)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	XML_SetUserData(p.xp, &p);
	XML_SetElementHandler(p.xp, nm_start, nm_end);
	XML_SetStartDoctypeDeclHandler(p.xp, nm_doctype);
	if (XML_Parse(p.xp, xml, (int)len, XML_TRUE) != XML_STATUS_OK) {
		if (p.ret < 0) {
			r = p.ret;
		} else {
			r = cni_error_set(err, -EINVAL, CNI_CODE_SOURCE,
					  "%s: malformed XML at line %lu: %s", NM_WHAT,
					  (unsigned long)XML_GetCurrentLineNumber(p.xp),
					  XML_ErrorString(XML_GetErrorCode(p.xp)));
		}
		goto fail;
	}
	if (!p.seen_root) {
		r = cni_error_set(err, -EINVAL, CNI_CODE_SOURCE, "%s: no <Interfaces> element", NM_WHAT);
		goto fail;
	}
	XML_ParserFree(p.xp);
	r = src_finish(&p.src, err);
	if (r < 0) {
		ipam_source_free(&p.src);
		return r;
	}
	*ret = p.src;
	return 0;

fail:
	XML_ParserFree(p.xp);
	ipam_source_free(&p.src);
	return r;
}

/* ---- interfaces.json ---- */

static const char MAS_WHAT[] = "interfaces.json";

/* A member of @obj (case-insensitive, as Go's encoding/json) whose cJSON type must be one of the
 * bits in @type when present; absent or null = NULL. */
static int mas_member(const cJSON *obj, const char *key, int type, const char *where,
		      const cJSON **ret, struct cni_error *err)
{
	const cJSON *m = cJSON_GetObjectItem(obj, key);

	*ret = NULL;
	if (!m || cJSON_IsNull(m))
		return 0;
	if (!(m->type & type))
		return cni_error_set(err, -EINVAL, CNI_CODE_SOURCE, "%s: %s.%s has the wrong type",
				     MAS_WHAT, where, key);
	*ret = m;
	return 0;
}

static int mas_bool(const cJSON *obj, const char *where, bool *ret, struct cni_error *err)
{
	const cJSON *m;
	int r = mas_member(obj, "IsPrimary", cJSON_True | cJSON_False, where, &m, err);

	*ret = m && cJSON_IsTrue(m);
	return r;
}

/* "<where>.IPAddresses[@k]" into @w (@size bytes), whose first @n bytes (< @size) already
 * hold "<where>.IPAddresses[": built by hand, as an snprintf per address was a sixth of
 * reading a 250-address document. */
static void mas_addr_where(char *w, size_t size, size_t n, const char *where, size_t k)
{
	char digits[24];
	size_t d = 0, v = k;

	do {
		digits[d++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (n + d + 2 > size) {
		/* as it would be cut short */
		snprintf(w, size, "%s.IPAddresses[%zu]", where, k);
		return;
	}
	while (d)
		w[n++] = digits[--d];
	w[n++] = ']';
	w[n] = '\0';
}

static int mas_subnet(struct ipam_source_iface *it, const cJSON *jsn, const char *where,
		      struct cni_error *err)
{
	const cJSON *prefix, *addrs, *ja;
	char w[128];
	size_t k = 0, n;
	int r;

	if (!cJSON_IsObject(jsn))
		return cni_error_set(err, -EINVAL, CNI_CODE_SOURCE, "%s: %s is not an object",
				     MAS_WHAT, where);
	r = mas_member(jsn, "Prefix", cJSON_String, where, &prefix, err);
	if (r == 0)
		r = mas_member(jsn, "IPAddresses", cJSON_Array, where, &addrs, err);
	if (r == 0)
		r = src_add_subnet(it, MAS_WHAT, where, prefix ? prefix->valuestring : NULL, err);
	if (r < 0)
		return r;
	r = snprintf(w, sizeof(w), "%s.IPAddresses[", where);
	n = r < 0 ? 0 : (size_t)r < sizeof(w) ? (size_t)r : sizeof(w) - 1;
	cJSON_ArrayForEach(ja, addrs) {
		const cJSON *addr;
		bool prim;

		mas_addr_where(w, sizeof(w), n, where, k++);
		if (!cJSON_IsObject(ja))
			return cni_error_set(err, -EINVAL, CNI_CODE_SOURCE, "%s: %s is not an object",
					     MAS_WHAT, w);
		r = mas_member(ja, "Address", cJSON_String, w, &addr, err);
		if (r == 0)
			r = mas_bool(ja, w, &prim, err);
		if (r == 0)
			r = src_add_addr(&it->subnets[it->n_subnets - 1], MAS_WHAT, w,
					 addr ? addr->valuestring : NULL, prim, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int mas_iface(struct ipam_source *src, const cJSON *ji, const char *where,
		     struct cni_error *err)
{
	const cJSON *mac, *subnets, *jsn;
	char w[96];
	size_t j = 0;
	bool prim;
	int r;

	if (!cJSON_IsObject(ji))
		return cni_error_set(err, -EINVAL, CNI_CODE_SOURCE, "%s: %s is not an object",
				     MAS_WHAT, where);
	r = mas_member(ji, "MacAddress", cJSON_String, where, &mac, err);
	if (r == 0)
		r = mas_bool(ji, where, &prim, err);
	if (r == 0)
		r = mas_member(ji, "IPSubnets", cJSON_Array, where, &subnets, err);
	if (r == 0)
		r = src_add_iface(src, MAS_WHAT, where, mac ? mac->valuestring : NULL, prim, err);
	if (r < 0)
		return r;
	cJSON_ArrayForEach(jsn, subnets) {
		snprintf(w, sizeof(w), "%s.IPSubnets[%zu]", where, j++);
		r = mas_subnet(&src->ifaces[src->n_ifaces - 1], jsn, w, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int ipam_source_parse_mas(const char *json, size_t len, struct ipam_source *ret, struct cni_error *err)
{
	struct ipam_source src = {0};
	const cJSON *ifaces, *ji;
	const char *end = NULL;
	cJSON *root;
	size_t i = 0;
	int r;

	root = cJSON_ParseWithLengthOpts(json, len, &end, false);
	if (!root) {
		size_t off = end && end >= json ? (size_t)(end - json) : 0;
		unsigned long line = 1;

		for (size_t k = 0; k < off && k < len; k++)
			line += json[k] == '\n';
		if (len == 0)
			return cni_error_set(err, -EINVAL, CNI_CODE_SOURCE, "%s: empty document",
					     MAS_WHAT);
		return cni_error_set(err, -EINVAL, CNI_CODE_SOURCE,
				     "%s: invalid JSON at line %lu (byte %zu)", MAS_WHAT, line, off);
	}
	if (!cJSON_IsObject(root)) {
		r = cni_error_set(err, -EINVAL, CNI_CODE_SOURCE, "%s: top level is not an object",
				  MAS_WHAT);
		goto out;
	}
	r = mas_member(root, "Interfaces", cJSON_Array, "document", &ifaces, err);
	if (r < 0)
		goto out;
	cJSON_ArrayForEach(ji, ifaces) {
		char where[48];

		snprintf(where, sizeof(where), "Interfaces[%zu]", i++);
		r = mas_iface(&src, ji, where, err);
		if (r < 0)
			goto out;
	}
	r = src_finish(&src, err);
	if (r < 0)
		goto out;
	*ret = src;
	src = (struct ipam_source){0};
out:
	ipam_source_free(&src);
	cJSON_Delete(root);
	return r;
}
