/* SPDX-License-Identifier: MIT */
/* The two IPAM sources parsed into struct ipam_source: the NMAgent interface-info XML
 * (wireserver getinterfaceinfov1, parsed with expat) and interfaces.json ("mas": a one-pass
 * reader for the node agent's documents, cJSON for any other).
 * Formats: ACN common/utils.go XmlDocument and ipam/fileIpam.go; no I/O here. */
#include "ipam.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <expat.h>

#include "json.h"
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
		} else if (XML_GetErrorCode(p.xp) == XML_ERROR_NO_MEMORY) {
			/* expat's own allocation failed: the document is not to blame */
			r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
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
	const cJSON *prefix, *addrs = NULL, *ja; /* = NULL: gcc 12 -O3 -ffunction-sections warns past mas_member */
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
	const cJSON *mac, *subnets = NULL, *jsn; /* = NULL: as in mas_subnet */
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

/* ---- interfaces.json without a parse tree ----
 * One pass over the documents the node agent writes: strict RFC 8259 JSON without escapes or
 * control characters in its strings, numbers of at most MF_NUMBER_MAX characters and nesting
 * of at most MF_DEPTH_MAX. It keeps what the cJSON reader below reads (members found ASCII
 * case-insensitively, the first of a name wins, null = absent, bytes after the document not
 * looked at) as spans, then builds the source through the same builder. For any other
 * document, and on any error but out of memory, it gives up and the cJSON reader reads the
 * document, so every message stays that reader's. A tree of a 250-address document was most of a source read. */

#define MF_DEPTH_MAX 32
#define MF_NUMBER_MAX 32

struct mf {
	const char *p, *end;
	int depth;
};

/* A member found by name: what kind of value, and a string's body. */
enum mf_kind { MF_ABSENT, MF_NULL, MF_TRUE, MF_FALSE, MF_STRING, MF_ARRAY, MF_OTHER };

struct mf_val {
	enum mf_kind kind;
	const char *s;
	size_t n;
};

struct mf_iface {
	struct mf_val mac, prim, subnets;
	size_t first, n;                   /* its subnets in mf_doc.subnets */
};

struct mf_subnet {
	struct mf_val prefix, addrs;
	size_t first, n;                   /* its addresses in mf_doc.addrs */
};

struct mf_addr {
	struct mf_val addr, prim;
};

struct mf_doc {
	struct mf_val ifaces;
	struct mf_iface *iface;
	struct mf_subnet *subnet;
	struct mf_addr *addr;
	size_t n_iface, n_subnet, n_addr;
	bool oom;                          /* an allocation failed: no reader can do better */
};

static void mf_ws(struct mf *m)
{
	while (m->p < m->end && (*m->p == ' ' || *m->p == '\t' || *m->p == '\n' || *m->p == '\r'))
		m->p++;
}

/* A string at m->p: its body into *s, *n. False when it has an escape or a control character,
 * or is cut short. */
static bool mf_string(struct mf *m, const char **s, size_t *n)
{
	const char *q = m->p + 1;

	while (q < m->end && (unsigned char)*q >= 0x20 && *q != '"' && *q != '\\')
		q++;
	if (q >= m->end || *q != '"')
		return false;
	*s = m->p + 1;
	*n = (size_t)(q - m->p - 1);
	m->p = q + 1;
	return true;
}

static bool mf_digits(struct mf *m)
{
	const char *q = m->p;

	while (m->p < m->end && *m->p >= '0' && *m->p <= '9')
		m->p++;
	return m->p > q;
}

static bool mf_number(struct mf *m)
{
	const char *q = m->p;

	if (m->p < m->end && *m->p == '-')
		m->p++;
	if (m->p < m->end && *m->p == '0')
		m->p++;
	else if (!mf_digits(m))
		return false;
	if (m->p < m->end && *m->p == '.') {
		m->p++;
		if (!mf_digits(m))
			return false;
	}
	if (m->p < m->end && (*m->p == 'e' || *m->p == 'E')) {
		m->p++;
		if (m->p < m->end && (*m->p == '+' || *m->p == '-'))
			m->p++;
		if (!mf_digits(m))
			return false;
	}
	return m->p - q <= MF_NUMBER_MAX;
}

static bool mf_word(struct mf *m, const char *w, size_t n)
{
	if ((size_t)(m->end - m->p) < n || memcmp(m->p, w, n) != 0)
		return false;
	m->p += n;
	return true;
}

/* Past the '{' or '[' at m->p (one level deeper); false past MF_DEPTH_MAX. */
static bool mf_open(struct mf *m)
{
	m->p++;
	return ++m->depth <= MF_DEPTH_MAX;
}

/* The next member of the object being read (*first: none read yet): its key into *k, *kn and
 * m->p at its value. 1, 0 past the object's end, -1 when malformed. */
static int mf_member(struct mf *m, bool *first, const char **k, size_t *kn)
{
	mf_ws(m);
	if (m->p < m->end && *m->p == '}') {
		m->p++;
		m->depth--;
		return 0;
	}
	if (!*first) {
		if (m->p >= m->end || *m->p != ',')
			return -1;
		m->p++;
		mf_ws(m);
	}
	*first = false;
	if (m->p >= m->end || *m->p != '"' || !mf_string(m, k, kn))
		return -1;
	mf_ws(m);
	if (m->p >= m->end || *m->p != ':')
		return -1;
	m->p++;
	mf_ws(m);
	return m->p < m->end ? 1 : -1;
}

/* The next element of the array being read: m->p at it. 1, 0 past the array's end, -1 when
 * malformed. */
static int mf_element(struct mf *m, bool *first)
{
	mf_ws(m);
	if (m->p < m->end && *m->p == ']' && *first) {
		m->p++;
		m->depth--;
		return 0;
	}
	if (!*first) {
		if (m->p < m->end && *m->p == ']') {
			m->p++;
			m->depth--;
			return 0;
		}
		if (m->p >= m->end || *m->p != ',')
			return -1;
		m->p++;
		mf_ws(m);
	}
	*first = false;
	return m->p < m->end ? 1 : -1;
}

/* The value at m->p (white space skipped), checked and skipped; its kind and a string's body
 * into @v when @v is non-NULL. */
static bool mf_value(struct mf *m, struct mf_val *v)
{
	struct mf_val t = { MF_OTHER, NULL, 0 };
	const char *k;
	size_t kn;
	bool first = true, ok;
	int r;

	switch (m->p < m->end ? *m->p : '\0') {
	case '"':
		t.kind = MF_STRING;
		ok = mf_string(m, &t.s, &t.n);
		break;
	case '{':
		if (!mf_open(m))
			return false;
		while ((r = mf_member(m, &first, &k, &kn)) > 0)
			if (!mf_value(m, NULL))
				return false;
		ok = r == 0;
		break;
	case '[':
		t.kind = MF_ARRAY;
		if (!mf_open(m))
			return false;
		while ((r = mf_element(m, &first)) > 0)
			if (!mf_value(m, NULL))
				return false;
		ok = r == 0;
		break;
	case 't':
		t.kind = MF_TRUE;
		ok = mf_word(m, "true", 4);
		break;
	case 'f':
		t.kind = MF_FALSE;
		ok = mf_word(m, "false", 5);
		break;
	case 'n':
		t.kind = MF_NULL;
		ok = mf_word(m, "null", 4);
		break;
	default:
		ok = mf_number(m);
	}
	if (ok && v)
		*v = t;
	return ok;
}

/* Whether key @k (@kn bytes) is @name (ASCII case-insensitively, as cJSON_GetObjectItem). */
static bool mf_key(const char *k, size_t kn, const char *name)
{
	size_t i;

	for (i = 0; i < kn && name[i]; i++)
		if (ascii_lower(k[i]) != ascii_lower(name[i]))
			return false;
	return i == kn && !name[i];
}

/* Grow *@arr (of @n @elem-byte entries) by one zeroed entry; its index, or -1 with d->oom set. */
static long mf_push(struct mf_doc *d, void **arr, size_t *n, size_t elem)
{
	if (array_append(arr, *n, elem) < 0) {
		d->oom = true;
		return -1;
	}
	memset((char *)*arr + *n * elem, 0, elem);
	return (long)(*n)++;
}

/* An array member's elements, each an object read by @obj; a value of another kind is only
 * checked (its kind in @v). */
static bool mf_objects(struct mf *m, struct mf_doc *d, struct mf_val *v,
		       bool (*obj)(struct mf *m, struct mf_doc *d))
{
	bool first = true;
	int r;

	if (*m->p != '[')
		return mf_value(m, v);
	v->kind = MF_ARRAY;
	if (!mf_open(m))
		return false;
	while ((r = mf_element(m, &first)) > 0)
		if (*m->p != '{' || !obj(m, d))
			return false;
	return r == 0;
}

/* The object at m->p: the first member of each of the @n @names into *@vals[i] (that of
 * index @arr, if any, an array whose objects @obj reads), every other one checked and
 * skipped. */
static bool mf_fields(struct mf *m, struct mf_doc *d, const char *const *names, size_t n,
		      struct mf_val *const *vals, size_t arr,
		      bool (*obj)(struct mf *m, struct mf_doc *d))
{
	const char *k;
	size_t kn, i;
	bool first = true;
	int r;

	if (!mf_open(m))
		return false;
	while ((r = mf_member(m, &first, &k, &kn)) > 0) {
		for (i = 0; i < n && !(vals[i]->kind == MF_ABSENT && mf_key(k, kn, names[i])); i++)
			;
		if (i < n && i == arr ? !mf_objects(m, d, vals[i], obj)
				      : !mf_value(m, i < n ? vals[i] : NULL))
			return false;
	}
	return r == 0;
}

static bool mf_addr_obj(struct mf *m, struct mf_doc *d)
{
	static const char *const names[] = { "Address", "IsPrimary" };
	long a = mf_push(d, (void **)&d->addr, &d->n_addr, sizeof(*d->addr));
	struct mf_val addr = { 0 }, prim = { 0 };
	struct mf_val *const vals[] = { &addr, &prim };

	if (a < 0 || !mf_fields(m, d, names, 2, vals, SIZE_MAX, NULL))
		return false;
	d->addr[a] = (struct mf_addr){ addr, prim };
	return true;
}

/* An entry is filled by index once its object is read: the pushes of the objects inside it
 * may move the arrays. */
static bool mf_subnet_obj(struct mf *m, struct mf_doc *d)
{
	static const char *const names[] = { "Prefix", "IPAddresses" };
	long sn = mf_push(d, (void **)&d->subnet, &d->n_subnet, sizeof(*d->subnet));
	struct mf_val prefix = { 0 }, addrs = { 0 };
	struct mf_val *const vals[] = { &prefix, &addrs };
	size_t first = d->n_addr;

	if (sn < 0 || !mf_fields(m, d, names, 2, vals, 1, mf_addr_obj))
		return false;
	d->subnet[sn] = (struct mf_subnet){ prefix, addrs, first, d->n_addr - first };
	return true;
}

static bool mf_iface_obj(struct mf *m, struct mf_doc *d)
{
	static const char *const names[] = { "MacAddress", "IsPrimary", "IPSubnets" };
	long it = mf_push(d, (void **)&d->iface, &d->n_iface, sizeof(*d->iface));
	struct mf_val mac = { 0 }, prim = { 0 }, subnets = { 0 };
	struct mf_val *const vals[] = { &mac, &prim, &subnets };
	size_t first = d->n_subnet;

	if (it < 0 || !mf_fields(m, d, names, 3, vals, 2, mf_subnet_obj))
		return false;
	d->iface[it] = (struct mf_iface){ mac, prim, subnets, first, d->n_subnet - first };
	return true;
}

/* A member read as a string (absent or null: NULL) into @buf of @size bytes; false when of
 * another kind or too long. */
static bool mf_cstr(const struct mf_val *v, char *buf, size_t size, const char **ret)
{
	*ret = NULL;
	if (v->kind == MF_ABSENT || v->kind == MF_NULL)
		return true;
	if (v->kind != MF_STRING || v->n >= size)
		return false;
	memcpy(buf, v->s, v->n);
	buf[v->n] = '\0';
	*ret = buf;
	return true;
}

/* A member read as a boolean (absent or null: false); false when of another kind. */
static bool mf_bool(const struct mf_val *v, bool *ret)
{
	*ret = v->kind == MF_TRUE;
	return v->kind == MF_ABSENT || v->kind == MF_NULL || v->kind == MF_TRUE ||
	       v->kind == MF_FALSE;
}

/* A member read as an array: absent, null or an array. */
static bool mf_arr(const struct mf_val *v)
{
	return v->kind == MF_ABSENT || v->kind == MF_NULL || v->kind == MF_ARRAY;
}

/* The spans of @d through the builder into @src, as mas_iface and mas_subnet build it; the
 * builder's first error into @err. */
static bool mf_build_into(const struct mf_doc *d, struct ipam_source *src, struct cni_error *err)
{
	if (!mf_arr(&d->ifaces))
		return false;
	for (size_t i = 0; i < d->n_iface; i++) {
		const struct mf_iface *fi = &d->iface[i];
		const char *mac;
		char mbuf[64];
		bool prim;

		if (!mf_cstr(&fi->mac, mbuf, sizeof(mbuf), &mac) || !mf_bool(&fi->prim, &prim) ||
		    !mf_arr(&fi->subnets) || src_add_iface(src, MAS_WHAT, "", mac, prim, err) < 0)
			return false;
		for (size_t j = fi->first; j < fi->first + fi->n; j++) {
			const struct mf_subnet *fs = &d->subnet[j];
			struct ipam_source_iface *it = &src->ifaces[src->n_ifaces - 1];
			char pbuf[IPNET_PREFIX_STRLEN + 8];
			const char *prefix;

			if (!mf_cstr(&fs->prefix, pbuf, sizeof(pbuf), &prefix) || !mf_arr(&fs->addrs) ||
			    src_add_subnet(it, MAS_WHAT, "", prefix, err) < 0)
				return false;
			for (size_t k = fs->first; k < fs->first + fs->n; k++) {
				char abuf[IPNET_ADDR_STRLEN + 8];
				const char *addr;

				if (!mf_cstr(&d->addr[k].addr, abuf, sizeof(abuf), &addr) ||
				    !mf_bool(&d->addr[k].prim, &prim) ||
				    src_add_addr(&it->subnets[it->n_subnets - 1], MAS_WHAT, "", addr,
						 prim, err) < 0)
					return false;
			}
		}
	}
	return src_finish(src, err) == 0;
}

/* mf_build_into, false with d->oom set when the builder ran out of memory. */
static bool mf_build(struct mf_doc *d, struct ipam_source *src)
{
	struct cni_error err = { 0 };
	bool ok = mf_build_into(d, src, &err);

	/* the builder's only code-100 error */
	d->oom = d->oom || err.code == CNI_CODE_INTERNAL;
	return ok;
}

/* interfaces.json read in one pass into @src: 0, 1 (the cJSON reader must read it) or -ENOMEM,
 * with @src half built (the caller frees it). */
static int mas_fast(const char *json, size_t len, struct ipam_source *src)
{
	static const char *const names[] = { "Interfaces" };
	struct mf m = { json, json + len, 0 };
	struct mf_doc d = { 0 };
	struct mf_val *const vals[] = { &d.ifaces };
	bool ok;

	mf_ws(&m);
	ok = m.p < m.end && *m.p == '{' && mf_fields(&m, &d, names, 1, vals, 0, mf_iface_obj) &&
	     mf_build(&d, src);
	free(d.iface);
	free(d.subnet);
	free(d.addr);
	return ok ? 0 : d.oom ? -ENOMEM : 1;
}

int ipam_source_parse_mas(const char *json, size_t len, struct ipam_source *ret, struct cni_error *err)
{
	struct ipam_source src = {0};
	int r = mas_fast(json, len, &src);

	if (r == 0) {
		*ret = src;
		return 0;
	}
	ipam_source_free(&src);
	if (r < 0)
		return cni_error_set(err, r, CNI_CODE_INTERNAL, "out of memory");
	return ipam_source_parse_mas_tree(json, len, ret, err);
}

int ipam_source_parse_mas_tree(const char *json, size_t len, struct ipam_source *ret,
			       struct cni_error *err)
{
	struct ipam_source src = {0};
	const cJSON *ifaces, *ji;
	const char *end = NULL;
	cJSON *root;
	size_t i = 0;
	bool oom;
	int r;

	root = json_parse(json, len, &end, &oom);
	if (oom)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
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
