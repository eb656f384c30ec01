/* SPDX-License-Identifier: MIT */
/* The CNI protocol: CNI_* environment and CNI_ARGS, versions, the stdin request envelope, the
 * result model encoded in and decoded from every version's shape, the error and VERSION objects.
 * Source: containernetworking/cni SPEC.md 1.1.0 and the 0.1.0-0.4.0 SPEC.md texts. Talks to
 * nothing but getenv and cJSON. */
#include "cni.h"
#include "hex.h"
#include "json.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const version_names[CNI_VERSION_COUNT] = {
	[CNI_VERSION_0_1_0] = "0.1.0",
	[CNI_VERSION_0_2_0] = "0.2.0",
	[CNI_VERSION_0_3_0] = "0.3.0",
	[CNI_VERSION_0_3_1] = "0.3.1",
	[CNI_VERSION_0_4_0] = "0.4.0",
	[CNI_VERSION_1_0_0] = "1.0.0",
	[CNI_VERSION_1_1_0] = "1.1.0",
};

/* The version we answer with when the caller sent none we could echo (see cni_error_encode). */
#define CNI_VERSION_NEWEST "1.1.0"

enum cni_version cni_version_parse(const char *s)
{
	if (!s || !*s)
		return CNI_VERSION_0_1_0;
	for (int v = 0; v < CNI_VERSION_COUNT; v++)
		if (strcmp(s, version_names[v]) == 0)
			return (enum cni_version)v;
	return CNI_VERSION_UNKNOWN;
}

const char *cni_version_string(enum cni_version v)
{
	if (v < 0 || v >= CNI_VERSION_COUNT)
		return "";
	return version_names[v];
}

cJSON *cni_version_list_json(void)
{
	return cJSON_CreateStringArray(version_names, CNI_VERSION_COUNT);
}

/* Copy @src into @dst of @size bytes; -ENAMETOOLONG (dst untouched) when it does not fit. */
static int copy_str(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

/* The length of the UTF-8 sequence at @s (@n bytes left), or 0 when it is not one (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF, no stray continuation byte). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, k;
	unsigned lo = 0x80, hi = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	/* the second byte's range rules out overlongs, surrogates and > U+10FFFF */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (k = 2; k < len; k++)
		if (s[k] < 0x80 || s[k] > 0xbf)
			return 0;
	return len;
}

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	while (n > 0) {
		size_t k = utf8_seq(p, n);

		if (k == 0)
			return false;
		p += k;
		n -= k;
	}
	return true;
}

static bool ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool ascii_ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

/* ---- CNI_ARGS ---- */

/* IgnoreUnknown takes the values Go's UnmarshallableBool does: 1/0 and true/false in any case. */
static int parse_bool_arg(const char *v, bool *ret)
{
	if (strcmp(v, "1") == 0 || ascii_ieq(v, "true")) {
		*ret = true;
		return 0;
	}
	if (strcmp(v, "0") == 0 || ascii_ieq(v, "false")) {
		*ret = false;
		return 0;
	}
	return -EINVAL;
}

/* The keys we understand and where their values go; NULL dst = IgnoreUnknown. */
static char *args_field(struct cni_args *a, const char *key, size_t klen, size_t *ret_size)
{
	static const struct {
		const char *key;
		size_t off, size;
	} fields[] = {
		{"K8S_POD_NAMESPACE", offsetof(struct cni_args, pod_namespace), CNI_NAME_MAX},
		{"K8S_POD_NAME", offsetof(struct cni_args, pod_name), CNI_NAME_MAX},
		{"K8S_POD_INFRA_CONTAINER_ID", offsetof(struct cni_args, pod_infra_container_id), CNI_ID_MAX},
		{"K8S_POD_UID", offsetof(struct cni_args, pod_uid), CNI_ID_MAX},
	};

	for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
		if (strlen(fields[k].key) == klen && memcmp(fields[k].key, key, klen) == 0) {
			*ret_size = fields[k].size;
			return (char *)a + fields[k].off;
		}
	}
	return NULL;
}

int cni_args_parse(const char *s, struct cni_args *ret, struct cni_error *err)
{
	struct cni_args a = {0};
	const char *p = s ? s : "";

	while (*p) {
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		const char *val;
		size_t klen, vlen, size;
		char *dst;

		if (n == 0) { /* "a=b;;c=d" or a trailing ';' */
			p = end ? end + 1 : p + n;
			continue;
		}
		if (!eq || eq == p)
			return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
					     "CNI_ARGS: invalid pair \"%.*s\" (want KEY=VALUE)",
					     (int)(n > 200 ? 200 : n), p);
		klen = (size_t)(eq - p);
		val = eq + 1;
		vlen = n - klen - 1;
		if (klen == strlen("IgnoreUnknown") && memcmp(p, "IgnoreUnknown", klen) == 0) {
			char buf[8];

			if (copy_str(buf, sizeof(buf), val, vlen) < 0 ||
			    parse_bool_arg(buf, &a.ignore_unknown) < 0)
				return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
						     "CNI_ARGS: IgnoreUnknown=%.*s is not a boolean",
						     (int)(vlen > 32 ? 32 : vlen), val);
		} else if ((dst = args_field(&a, p, klen, &size))) {
			if (copy_str(dst, size, val, vlen) < 0)
				return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
						     "CNI_ARGS: the value of %.*s is too long (%zu bytes, "
						     "at most %zu)", (int)klen, p, vlen, size - 1);
		}
		/* Any other key belongs to another plugin of the chain: accepted whatever
		 * IgnoreUnknown says (containernetworking/cni#560). The value is everything after
		 * the first '=', so "K=a=b" is K with "a=b". */
		p = end ? end + 1 : p + n;
	}
	*ret = a;
	return 0;
}

/* ---- environment ---- */

static const struct {
	const char *name;
	enum cni_command cmd;
} commands[] = {
	{"ADD", CNI_CMD_ADD},         {"DEL", CNI_CMD_DEL},   {"CHECK", CNI_CMD_CHECK},
	{"VERSION", CNI_CMD_VERSION}, {"GC", CNI_CMD_GC},     {"STATUS", CNI_CMD_STATUS},
};

/* Copy environment variable @name into @dst; unset is "". Code 4 when it does not fit. */
static int env_copy(const char *name, char *dst, size_t size, struct cni_error *err)
{
	const char *v = getenv(name);

	if (!v)
		v = "";
	if (copy_str(dst, size, v, strlen(v)) < 0)
		return cni_error_set(err, -ENAMETOOLONG, CNI_CODE_INVALID_ENV,
				     "%s is too long (%zu bytes, at most %zu)", name, strlen(v), size - 1);
	if (!utf8_valid(v)) {
		dst[0] = '\0';
		return cni_error_set(err, -EILSEQ, CNI_CODE_INVALID_ENV, "%s is not valid UTF-8",
				     name);
	}
	return 0;
}

static int ifname_check(const char *ifname, struct cni_error *err)
{
	size_t n = strlen(ifname);

	if (n == 0)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV, "CNI_IFNAME is empty");
	if (n > CNI_IFNAME_MAX - 1)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
				     "CNI_IFNAME \"%s\" is too long (%zu bytes, at most %d)", ifname, n,
				     CNI_IFNAME_MAX - 1);
	if (strcmp(ifname, ".") == 0 || strcmp(ifname, "..") == 0)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
				     "CNI_IFNAME \"%s\" is not a valid interface name", ifname);
	for (const char *c = ifname; *c; c++)
		if (*c == '/' || *c == ':' || ascii_space(*c))
			return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
					     "CNI_IFNAME \"%s\" contains '%c', which is not allowed in "
					     "an interface name", ifname, *c == '\t' || *c == '\n' ? ' ' : *c);
	return 0;
}

int cni_env_read(struct cni_env *ret, struct cni_error *err)
{
	const char *cmd = getenv("CNI_COMMAND");
	bool per_container;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!cmd || !*cmd)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
				     "CNI_COMMAND env variable missing");
	snprintf(ret->command_str, sizeof(ret->command_str), "%s", cmd);
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strcmp(cmd, commands[k].name) == 0)
			ret->command = commands[k].cmd;
	if (ret->command == CNI_CMD_UNKNOWN)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
				     "unknown CNI_COMMAND \"%s\" (want ADD, DEL, CHECK, VERSION, GC or STATUS)",
				     ret->command_str);
	/* VERSION is answered from stdin alone: runtimes probe it with CNI_NETNS=dummy and no
	 * container ID, so nothing else is read or judged. */
	if (ret->command == CNI_CMD_VERSION)
		return 0;

	per_container = ret->command == CNI_CMD_ADD || ret->command == CNI_CMD_DEL ||
			ret->command == CNI_CMD_CHECK;
	r = env_copy("CNI_PATH", ret->path, sizeof(ret->path), err);
	if (r < 0)
		return r;
	r = env_copy("CNI_ARGS", ret->args_raw, sizeof(ret->args_raw), err);
	if (r < 0)
		return r;
	/* GC and STATUS do not use these three: an odd value there is not their problem. */
	r = env_copy("CNI_CONTAINERID", ret->container_id, sizeof(ret->container_id),
		     per_container ? err : NULL);
	if (r < 0 && per_container)
		return r;
	r = env_copy("CNI_NETNS", ret->netns, sizeof(ret->netns),
		     per_container && ret->command != CNI_CMD_DEL ? err : NULL);
	if (r < 0 && ret->command == CNI_CMD_DEL)
		ret->netns[0] = '\0'; /* DEL needs no netns: an over-long one counts as gone */
	else if (r < 0 && per_container)
		return r;
	r = env_copy("CNI_IFNAME", ret->ifname, sizeof(ret->ifname), per_container ? err : NULL);
	if (r < 0 && per_container)
		return r;

	if (per_container) {
		if (!ret->container_id[0])
			return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
					     "CNI_CONTAINERID env variable missing");
		if (!getenv("CNI_IFNAME"))
			return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
					     "CNI_IFNAME env variable missing");
		r = ifname_check(ret->ifname, err);
		if (r < 0)
			return r;
		/* DEL may come after the netns is gone (SPEC DEL; containernetworking/cni#548). */
		if (ret->command != CNI_CMD_DEL && !ret->netns[0])
			return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
					     "CNI_NETNS env variable missing");
	}
	return cni_args_parse(ret->args_raw, &ret->args, err);
}

/* ---- result encoding ---- */

static bool is_legacy(enum cni_version v)
{
	return v == CNI_VERSION_0_1_0 || v == CNI_VERSION_0_2_0;
}

static bool add_addr(cJSON *obj, const char *key, const struct ipnet_addr *a)
{
	char buf[IPNET_ADDR_STRLEN];

	if (!a->family)
		return true;
	return cJSON_AddStringToObject(obj, key, ipnet_addr_format(a, buf, sizeof(buf))) != NULL;
}

static bool add_prefix(cJSON *obj, const char *key, const struct ipnet_prefix *p)
{
	char buf[IPNET_PREFIX_STRLEN];

	return cJSON_AddStringToObject(obj, key, ipnet_prefix_format(p, buf, sizeof(buf))) != NULL;
}

void cni_mem_update(void *dst, const void *src, size_t n)
{
	static const unsigned char zeros[64];
	const unsigned char *s = src;
	unsigned char *d = dst;

	for (size_t off = 0; off < n; off += 64) {
		size_t k = n - off < 64 ? n - off : 64;
		const unsigned char *from = s ? s + off : zeros;

		if (memcmp(d + off, from, k) != 0)
			memcpy(d + off, from, k);
	}
}

/* cni_json_ints_raw on @it and its siblings */
static void ints_raw(cJSON *it)
{
	for (; it; it = it->next) {
		char text[24], *raw;
		double d = it->valuedouble;
		long long v;
		int n;

		if (it->type & cJSON_IsReference)
			continue;
		if (it->child)
			ints_raw(it->child);
		/* -0.0 prints "-0" and |d| >= 1e15 in exponent form: left to cJSON */
		if ((it->type & 0xff) != cJSON_Number || !(d > -1e15 && d < 1e15) ||
		    (d == 0 && 1 / d < 0))
			continue;
		v = (long long)d;
		if ((double)v != d)
			continue;
		n = snprintf(text, sizeof(text), "%lld", v);
		raw = cJSON_malloc((size_t)n + 1);
		if (!raw)
			continue;
		memcpy(raw, text, (size_t)n + 1);
		it->valuestring = raw;
		it->type = cJSON_Raw | (it->type & cJSON_StringIsConst);
	}
}

void cni_json_ints_raw(cJSON *root)
{
	cJSON *next;

	if (!root)
		return;
	next = root->next; /* @root alone, not the list it may sit in */
	root->next = NULL;
	ints_raw(root);
	root->next = next;
}

static bool add_int_if(cJSON *obj, const char *key, int v, bool cond)
{
	return !cond || cJSON_AddNumberToObject(obj, key, v) != NULL;
}

/* One route: {dst, gw}, plus the 1.1.0 fields when @v >= 1.1.0 and they are set. */
static cJSON *route_json(const struct cni_route *rt, enum cni_version v)
{
	cJSON *o = cJSON_CreateObject();
	bool ext = v >= CNI_VERSION_1_1_0;

	if (!o || !add_prefix(o, "dst", &rt->dst) || !add_addr(o, "gw", &rt->gw) ||
	    !add_int_if(o, "mtu", rt->mtu, ext && rt->mtu > 0) ||
	    !add_int_if(o, "advmss", rt->advmss, ext && rt->advmss > 0) ||
	    !add_int_if(o, "priority", rt->priority, ext && rt->priority > 0) ||
	    !add_int_if(o, "table", rt->table, ext && rt->table > 0) ||
	    /* scope 0 (universe) is the kernel default: only a narrower scope is written. */
	    !add_int_if(o, "scope", rt->scope, ext && rt->scope > 0)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static bool add_string_list(cJSON *obj, const char *key, const char *base, size_t stride, size_t n)
{
	cJSON *arr;

	if (n == 0)
		return true;
	arr = cJSON_AddArrayToObject(obj, key);
	if (!arr)
		return false;
	for (size_t k = 0; k < n; k++) {
		cJSON *s = cJSON_CreateString(base + k * stride);

		if (!s)
			return false;
		cJSON_AddItemToArray(arr, s);
	}
	return true;
}

static bool dns_empty(const struct cni_dns *d)
{
	return !d->n_nameservers && !d->domain[0] && !d->n_search && !d->n_options;
}

static bool add_dns(cJSON *obj, const struct cni_dns *d)
{
	cJSON *o;

	if (dns_empty(d))
		return true;
	o = cJSON_AddObjectToObject(obj, "dns");
	return o &&
	       add_string_list(o, "nameservers", d->nameservers[0], sizeof(d->nameservers[0]),
			       d->n_nameservers) &&
	       (!d->domain[0] || cJSON_AddStringToObject(o, "domain", d->domain)) &&
	       add_string_list(o, "search", d->search[0], sizeof(d->search[0]), d->n_search) &&
	       add_string_list(o, "options", d->options[0], sizeof(d->options[0]), d->n_options);
}

/* The 0.1.0/0.2.0 shape: the first address of each family becomes ip4/ip6, and each route goes
 * with the family of its destination (dropped when that family has no address), as libcni's
 * conversion to 0.2.0 does. */
static bool encode_legacy(const struct cni_result *r, enum cni_version v, cJSON *root)
{
	static const int families[2] = {IPNET_AF_INET, IPNET_AF_INET6};
	static const char *const keys[2] = {"ip4", "ip6"};

	for (int f = 0; f < 2; f++) {
		const struct cni_ipconfig *ip = NULL;
		cJSON *o, *routes = NULL;

		for (size_t k = 0; k < r->n_ips && !ip; k++)
			if (r->ips[k].address.addr.family == families[f])
				ip = &r->ips[k];
		if (!ip)
			continue;
		o = cJSON_AddObjectToObject(root, keys[f]);
		if (!o || !add_prefix(o, "ip", &ip->address) || !add_addr(o, "gateway", &ip->gateway))
			return false;
		for (size_t k = 0; k < r->n_routes; k++) {
			cJSON *rt;

			if (r->routes[k].dst.addr.family != families[f])
				continue;
			if (!routes && !(routes = cJSON_AddArrayToObject(o, "routes")))
				return false;
			if (!(rt = route_json(&r->routes[k], v)))
				return false;
			cJSON_AddItemToArray(routes, rt);
		}
	}
	return add_dns(root, &r->dns);
}

static bool encode_current(const struct cni_result *r, enum cni_version v, cJSON *root)
{
	cJSON *arr;

	if (r->n_interfaces) {
		if (!(arr = cJSON_AddArrayToObject(root, "interfaces")))
			return false;
		for (size_t k = 0; k < r->n_interfaces; k++) {
			const struct cni_iface *i = &r->interfaces[k];
			cJSON *o = cJSON_CreateObject();

			if (!o)
				return false;
			cJSON_AddItemToArray(arr, o);
			if (!cJSON_AddStringToObject(o, "name", i->name) ||
			    (i->mac[0] && !cJSON_AddStringToObject(o, "mac", i->mac)) ||
			    !add_int_if(o, "mtu", i->mtu, v >= CNI_VERSION_1_1_0 && i->mtu > 0) ||
			    (i->sandbox[0] && !cJSON_AddStringToObject(o, "sandbox", i->sandbox)))
				return false;
		}
	}
	if (r->n_ips) {
		if (!(arr = cJSON_AddArrayToObject(root, "ips")))
			return false;
		for (size_t k = 0; k < r->n_ips; k++) {
			const struct cni_ipconfig *ip = &r->ips[k];
			cJSON *o = cJSON_CreateObject();

			if (!o)
				return false;
			cJSON_AddItemToArray(arr, o);
			if (v < CNI_VERSION_1_0_0 &&
			    !cJSON_AddStringToObject(o, "version",
						     ip->address.addr.family == IPNET_AF_INET6 ? "6" : "4"))
				return false;
			if (!add_prefix(o, "address", &ip->address) ||
			    !add_addr(o, "gateway", &ip->gateway) ||
			    !add_int_if(o, "interface", ip->iface,
					ip->iface >= 0 && ip->iface < (int)r->n_interfaces))
				return false;
		}
	}
	if (r->n_routes) {
		if (!(arr = cJSON_AddArrayToObject(root, "routes")))
			return false;
		for (size_t k = 0; k < r->n_routes; k++) {
			cJSON *o = route_json(&r->routes[k], v);

			if (!o)
				return false;
			cJSON_AddItemToArray(arr, o);
		}
	}
	return add_dns(root, &r->dns);
}

cJSON *cni_result_encode(const struct cni_result *r, enum cni_version v, struct cni_error *err)
{
	cJSON *root;
	bool ok;

	if (v < 0 || v >= CNI_VERSION_COUNT) {
		cni_error_set(err, -EINVAL, CNI_CODE_INCOMPATIBLE_VERSION,
			      "cannot encode a result in an unknown CNI version");
		return NULL;
	}
	root = cJSON_CreateObject();
	ok = root && cJSON_AddStringToObject(root, "cniVersion", version_names[v]);
	if (ok)
		ok = is_legacy(v) ? encode_legacy(r, v, root) : encode_current(r, v, root);
	if (!ok) {
		cJSON_Delete(root);
		cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory encoding the result");
		return NULL;
	}
	return root;
}

/* ---- result decoding ---- */

/* Member @key of @obj, case-insensitive; JSON null counts as absent (as Go's decoder does). */
static const cJSON *member(const cJSON *obj, const char *key)
{
	const cJSON *m = cJSON_GetObjectItem(obj, key);

	return m && !cJSON_IsNull(m) ? m : NULL;
}

static int decode_fail(struct cni_error *err, const char *what, const char *why)
{
	return cni_error_set(err, -EINVAL, CNI_CODE_DECODE, "result: %s %s", what, why);
}

static int get_prefix(const cJSON *obj, const char *key, const char *path, bool required,
		      struct ipnet_prefix *ret, struct cni_error *err)
{
	const cJSON *m = member(obj, key);
	char what[96];

	snprintf(what, sizeof(what), "%s.%s", path, key);
	if (!m)
		return required ? decode_fail(err, what, "is missing") : 0;
	if (!cJSON_IsString(m) || ipnet_prefix_parse(m->valuestring, false, ret) < 0)
		return decode_fail(err, what, "is not an address with a prefix length");
	return 0;
}

static int get_addr(const cJSON *obj, const char *key, const char *path, struct ipnet_addr *ret,
		    struct cni_error *err)
{
	const cJSON *m = member(obj, key);
	char what[96];

	snprintf(what, sizeof(what), "%s.%s", path, key);
	if (!m)
		return 0;
	if (!cJSON_IsString(m) || ipnet_addr_parse(m->valuestring, ret) < 0)
		return decode_fail(err, what, "is not an IP address");
	return 0;
}

static int get_int(const cJSON *obj, const char *key, const char *path, int *ret,
		   struct cni_error *err)
{
	const cJSON *m = member(obj, key);
	char what[96];

	snprintf(what, sizeof(what), "%s.%s", path, key);
	if (!m)
		return 0;
	/* the range first: converting a double outside int (1e300) is undefined */
	if (!cJSON_IsNumber(m) || !(m->valuedouble >= INT_MIN && m->valuedouble <= INT_MAX) ||
	    m->valuedouble != (double)(int)m->valuedouble)
		return decode_fail(err, what, "is not an integer");
	*ret = (int)m->valuedouble;
	return 0;
}

static int get_str(const cJSON *obj, const char *key, const char *path, char *dst, size_t size,
		   struct cni_error *err)
{
	const cJSON *m = member(obj, key);
	char what[96];

	snprintf(what, sizeof(what), "%s.%s", path, key);
	if (!m)
		return 0;
	if (!cJSON_IsString(m))
		return decode_fail(err, what, "is not a string");
	if (copy_str(dst, size, m->valuestring, strlen(m->valuestring)) < 0)
		return decode_fail(err, what, "is too long");
	return 0;
}

/* The array member @key (absent: *ret NULL, 0) with at most @max elements. */
static int get_array(const cJSON *obj, const char *key, const char *path, size_t max,
		     const cJSON **ret, struct cni_error *err)
{
	const cJSON *m = member(obj, key);
	char what[96];

	snprintf(what, sizeof(what), "%s%s%s", path, *path ? "." : "", key);
	*ret = NULL;
	if (!m)
		return 0;
	if (!cJSON_IsArray(m))
		return decode_fail(err, what, "is not an array");
	if ((size_t)cJSON_GetArraySize(m) > max) {
		cni_error_set(err, -EINVAL, CNI_CODE_DECODE, "result: %s has %d entries, at most %zu",
			      what, cJSON_GetArraySize(m), max);
		return -EINVAL;
	}
	*ret = m;
	return 0;
}

static int decode_route(const cJSON *o, const char *path, struct cni_route *rt,
			struct cni_error *err)
{
	int r;

	memset(rt, 0, sizeof(*rt));
	rt->scope = -1;
	if (!cJSON_IsObject(o))
		return decode_fail(err, path, "is not an object");
	if ((r = get_prefix(o, "dst", path, true, &rt->dst, err)) < 0 ||
	    (r = get_addr(o, "gw", path, &rt->gw, err)) < 0 ||
	    (r = get_int(o, "mtu", path, &rt->mtu, err)) < 0 ||
	    (r = get_int(o, "advmss", path, &rt->advmss, err)) < 0 ||
	    (r = get_int(o, "priority", path, &rt->priority, err)) < 0 ||
	    (r = get_int(o, "table", path, &rt->table, err)) < 0 ||
	    (r = get_int(o, "scope", path, &rt->scope, err)) < 0)
		return r;
	return 0;
}

static int decode_routes(const cJSON *obj, const char *path, struct cni_result *res,
			 struct cni_error *err)
{
	const cJSON *arr, *o;
	int r, k = 0;

	r = get_array(obj, "routes", path, CNI_MAX_ROUTES - res->n_routes, &arr, err);
	if (r < 0 || !arr)
		return r;
	cJSON_ArrayForEach(o, arr) {
		char what[64];

		snprintf(what, sizeof(what), "%s%sroutes[%d]", path, *path ? "." : "", k++);
		r = decode_route(o, what, &res->routes[res->n_routes], err);
		if (r < 0)
			return r;
		res->n_routes++;
	}
	return 0;
}

static int decode_string_list(const cJSON *obj, const char *key, char *base, size_t stride,
			      size_t *n, struct cni_error *err)
{
	const cJSON *arr, *s;
	char what[32];
	int r;

	snprintf(what, sizeof(what), "dns.%s", key);
	r = get_array(obj, key, "dns", CNI_MAX_DNS, &arr, err);
	if (r < 0 || !arr)
		return r;
	cJSON_ArrayForEach(s, arr) {
		if (!cJSON_IsString(s))
			return decode_fail(err, what, "holds a non-string");
		if (copy_str(base + *n * stride, stride, s->valuestring, strlen(s->valuestring)) < 0)
			return decode_fail(err, what, "holds an over-long entry");
		(*n)++;
	}
	return 0;
}

static int decode_dns(const cJSON *root, struct cni_dns *d, struct cni_error *err)
{
	const cJSON *o = member(root, "dns");
	int r;

	if (!o)
		return 0;
	if (!cJSON_IsObject(o))
		return decode_fail(err, "dns", "is not an object");
	if ((r = decode_string_list(o, "nameservers", d->nameservers[0], sizeof(d->nameservers[0]),
				    &d->n_nameservers, err)) < 0 ||
	    (r = get_str(o, "domain", "dns", d->domain, sizeof(d->domain), err)) < 0 ||
	    (r = decode_string_list(o, "search", d->search[0], sizeof(d->search[0]), &d->n_search,
				    err)) < 0 ||
	    (r = decode_string_list(o, "options", d->options[0], sizeof(d->options[0]),
				    &d->n_options, err)) < 0)
		return r;
	return 0;
}

static int decode_legacy(const cJSON *root, struct cni_result *res, struct cni_error *err)
{
	static const char *const keys[2] = {"ip4", "ip6"};
	static const int families[2] = {IPNET_AF_INET, IPNET_AF_INET6};

	for (int f = 0; f < 2; f++) {
		const cJSON *o = member(root, keys[f]);
		struct cni_ipconfig *ip = &res->ips[res->n_ips];
		int r;

		if (!o)
			continue;
		if (!cJSON_IsObject(o))
			return decode_fail(err, keys[f], "is not an object");
		memset(ip, 0, sizeof(*ip));
		ip->iface = -1;
		if ((r = get_prefix(o, "ip", keys[f], true, &ip->address, err)) < 0 ||
		    (r = get_addr(o, "gateway", keys[f], &ip->gateway, err)) < 0)
			return r;
		if (ip->address.addr.family != families[f])
			return decode_fail(err, keys[f], "holds an address of the other family");
		res->n_ips++;
		r = decode_routes(o, keys[f], res, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int decode_current(const cJSON *root, struct cni_result *res, struct cni_error *err)
{
	const cJSON *arr, *o;
	int r, k;

	r = get_array(root, "interfaces", "", CNI_MAX_IFACES, &arr, err);
	if (r < 0)
		return r;
	k = 0;
	cJSON_ArrayForEach(o, arr) {
		struct cni_iface *i = &res->interfaces[res->n_interfaces];
		char what[32];

		snprintf(what, sizeof(what), "interfaces[%d]", k++);
		if (!cJSON_IsObject(o))
			return decode_fail(err, what, "is not an object");
		if ((r = get_str(o, "name", what, i->name, sizeof(i->name), err)) < 0 ||
		    (r = get_str(o, "mac", what, i->mac, sizeof(i->mac), err)) < 0 ||
		    (r = get_str(o, "sandbox", what, i->sandbox, sizeof(i->sandbox), err)) < 0 ||
		    (r = get_int(o, "mtu", what, &i->mtu, err)) < 0)
			return r;
		res->n_interfaces++;
	}

	r = get_array(root, "ips", "", CNI_MAX_IPS, &arr, err);
	if (r < 0)
		return r;
	k = 0;
	cJSON_ArrayForEach(o, arr) {
		struct cni_ipconfig *ip = &res->ips[res->n_ips];
		const cJSON *ver;
		char what[32];

		snprintf(what, sizeof(what), "ips[%d]", k++);
		if (!cJSON_IsObject(o))
			return decode_fail(err, what, "is not an object");
		ip->iface = -1;
		if ((r = get_prefix(o, "address", what, true, &ip->address, err)) < 0 ||
		    (r = get_addr(o, "gateway", what, &ip->gateway, err)) < 0 ||
		    (r = get_int(o, "interface", what, &ip->iface, err)) < 0)
			return r;
		if (ip->iface < -1 || ip->iface >= (int)res->n_interfaces)
			return decode_fail(err, what, "names an interface the result does not list");
		/* 0.3.x/0.4.0 "version" must agree with the address; 1.0.0+ has no such field. */
		ver = member(o, "version");
		if (ver && (!cJSON_IsString(ver) ||
			    strcmp(ver->valuestring,
				   ip->address.addr.family == IPNET_AF_INET6 ? "6" : "4") != 0))
			return decode_fail(err, what, "has a version that does not match its address");
		res->n_ips++;
	}
	r = decode_routes(root, "", res, err);
	if (r < 0)
		return r;
	return 0;
}

int cni_result_decode(const cJSON *obj, struct cni_result *ret, struct cni_error *err)
{
	struct cni_result *res;
	const cJSON *ver;
	bool legacy;
	int r;

	if (!cJSON_IsObject(obj))
		return decode_fail(err, "", "is not a JSON object");
	ver = member(obj, "cniVersion");
	if (ver && !cJSON_IsString(ver))
		return decode_fail(err, "cniVersion", "is not a string");
	if (ver && cni_version_parse(ver->valuestring) != CNI_VERSION_UNKNOWN &&
	    ver->valuestring[0])
		legacy = is_legacy(cni_version_parse(ver->valuestring));
	else /* absent, empty or a version we do not know: judge by the shape */
		legacy = (member(obj, "ip4") || member(obj, "ip6")) && !member(obj, "ips") &&
			 !member(obj, "interfaces");

	res = calloc(1, sizeof(*res));
	if (!res)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	r = legacy ? decode_legacy(obj, res, err) : decode_current(obj, res, err);
	if (r >= 0)
		r = decode_dns(obj, &res->dns, err);
	if (r >= 0) {
		*ret = *res;
		r = 0;
	}
	free(res);
	return r;
}

/* ---- request ---- */

/* A walk over JSON text that cJSON already accepted, looking inside every string (keys too) for
 * what cJSON's C strings hide: an escaped or raw NUL (the value would end there) and bytes that
 * are not UTF-8. @path is the field being walked ("ipam.type", "prevResult.ips[0].address"). */
struct jwalk {
	const unsigned char *p, *end;
	char path[192];
	size_t plen;
	const char *why;        /* set at the first bad string: what is wrong */
	bool in_key;
};

#define JWALK_DEPTH_MAX 1000 /* cJSON's own nesting limit (CJSON_NESTING_LIMIT) */

static void jw_ws(struct jwalk *w)
{
	while (w->p < w->end && ascii_space((char)*w->p))
		w->p++;
}

/* Append @s (@n bytes; not UTF-8-checked, so shown as '?' outside printable ASCII) to the path. */
static void jw_push(struct jwalk *w, const char *fmt, const unsigned char *s, size_t n, size_t idx)
{
	size_t room = sizeof(w->path) - w->plen;
	int k;

	if (room <= 1)
		return;
	if (s) {
		if (fmt[0] == '.' && w->plen > 0 && room > 1) {
			w->path[w->plen++] = '.';
			room--;
		}
		for (size_t i = 0; i < n && room > 1; i++, room--)
			w->path[w->plen++] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
		w->path[w->plen] = '\0';
		return;
	}
	k = snprintf(w->path + w->plen, room, "[%zu]", idx);
	w->plen += k > 0 && (size_t)k < room ? (size_t)k : 0;
}

/* A string at w->p (the opening quote): step past it; note a NUL or invalid UTF-8 in w->why.
 * *ret_s, *ret_n: its raw text between the quotes (for keys). */
static void jw_string(struct jwalk *w, const unsigned char **ret_s, size_t *ret_n)
{
	const unsigned char *s = ++w->p;

	while (w->p < w->end && *w->p != '"') {
		if (*w->p == '\\') {
			w->p++;
			if (w->p < w->end && *w->p == 'u' && w->end - w->p >= 5) {
				int v = 0;

				for (int i = 1; i <= 4; i++)
					v = v * 16 + (hex_digit((char)w->p[i]) < 0 ? 0 : hex_digit((char)w->p[i]));
				if (v == 0 && !w->why)
					w->why = "holds a NUL character (\\u0000)";
				w->p += 5;
			} else {
				w->p++;
			}
		} else if (*w->p == 0) {
			if (!w->why)
				w->why = "holds a NUL byte";
			w->p++;
		} else {
			size_t k = utf8_seq(w->p, (size_t)(w->end - w->p));

			if (k == 0) {
				if (!w->why)
					w->why = "is not valid UTF-8";
				k = 1;
			}
			w->p += k;
		}
	}
	*ret_s = s;
	*ret_n = (size_t)(w->p - s);
	if (w->p < w->end)
		w->p++;
}

/* One value at w->p. Returns true to go on, false once a bad string is found (w->path then
 * names it) or the text ends early. */
static bool jw_value(struct jwalk *w, int depth)
{
	const unsigned char *s;
	size_t n, saved = w->plen, idx = 0;

	jw_ws(w);
	if (w->p >= w->end || depth > JWALK_DEPTH_MAX)
		return false;
	if (*w->p == '"') {
		jw_string(w, &s, &n);
		return !w->why;
	}
	if (*w->p != '{' && *w->p != '[') {
		const unsigned char *start = w->p;

		while (w->p < w->end && *w->p && !strchr(",}] \t\r\n", *w->p))
			w->p++;
		if (w->p == start)
			w->p++; /* never stuck, whatever the text */
		return true;
	}
	if (*w->p++ == '{') {
		for (;;) {
			jw_ws(w);
			if (w->p >= w->end)
				return false;
			if (*w->p == '}') {
				w->p++;
				return true;
			}
			if (*w->p == ',') {
				w->p++;
				continue;
			}
			jw_string(w, &s, &n);
			jw_push(w, ".", s, n, 0);
			if (w->why) {
				w->in_key = true;
				return false;
			}
			jw_ws(w);
			if (w->p < w->end && *w->p == ':')
				w->p++;
			if (!jw_value(w, depth + 1))
				return false;
			w->plen = saved;
			w->path[saved] = '\0';
		}
	}
	for (;;) {
		jw_ws(w);
		if (w->p >= w->end)
			return false;
		if (*w->p == ']') {
			w->p++;
			return true;
		}
		if (*w->p == ',') {
			w->p++;
			continue;
		}
		jw_push(w, "[", NULL, 0, idx++);
		if (!jw_value(w, depth + 1))
			return false;
		w->plen = saved;
		w->path[saved] = '\0';
	}
}

/* Code 7 naming the field when a string of @text (@len bytes, parsed by cJSON) holds a NUL or
 * is not UTF-8; else 0. */
static int strings_check(const char *text, size_t len, struct cni_error *err)
{
	struct jwalk w = { .p = (const unsigned char *)text, .end = (const unsigned char *)text + len };

	if (jw_value(&w, 0) || !w.why)
		return 0;
	if (w.in_key)
		return cni_error_set(err, -EILSEQ, CNI_CODE_INVALID_CONFIG,
				     "a key of the network configuration (\"%s\") %s", w.path, w.why);
	return cni_error_set(err, -EILSEQ, CNI_CODE_INVALID_CONFIG,
			     "%s%s%s %s", w.plen ? "\"" : "the network configuration",
			     w.path, w.plen ? "\"" : "", w.why);
}

int cni_request_parse(const char *text, size_t len, bool allow_empty, bool check_version,
		      struct cni_request *ret, struct cni_error *err)
{
	struct cni_request req = {0};
	const char *end = NULL;
	bool oom;
	const cJSON *m;
	size_t k = 0;

	if (!text)
		len = 0;
	while (k < len && ascii_space(text[k]))
		k++;
	if (k == len) {
		if (!allow_empty)
			return cni_error_set(err, -EINVAL, CNI_CODE_DECODE,
					     "no network configuration on stdin");
		req.root = cJSON_CreateObject();
		if (!req.root)
			return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
		req.version = CNI_VERSION_0_1_0;
		*ret = req;
		return 0;
	}
	req.root = json_parse(text, len, &end, &oom);
	if (oom)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	if (!req.root) {
		size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;

		return cni_error_set(err, -EINVAL, CNI_CODE_DECODE,
				     "network configuration is not valid JSON (near byte %zu)", off);
	}
	for (const char *c = end; c && c < text + len; c++) {
		if (!ascii_space(*c) && *c != '\0') {
			cni_error_set(err, -EINVAL, CNI_CODE_DECODE,
				      "network configuration has data after the JSON object (byte %zu)",
				      (size_t)(c - text));
			goto fail;
		}
	}
	if (!cJSON_IsObject(req.root)) {
		cni_error_set(err, -EINVAL, CNI_CODE_DECODE, "network configuration is not a JSON object");
		goto fail;
	}
	/* VERSION answers whatever it is sent */
	if (check_version && strings_check(text, (size_t)(end - text), err) < 0)
		goto fail;

	m = member(req.root, "cniVersion");
	if (m && !cJSON_IsString(m)) {
		if (check_version) {
			cni_error_set(err, -EINVAL, CNI_CODE_DECODE, "cniVersion is not a string");
			goto fail;
		}
		m = NULL;
	}
	if (m)
		snprintf(req.version_str, sizeof(req.version_str), "%s", m->valuestring);
	req.version = cni_version_parse(m ? m->valuestring : NULL);
	if (check_version && req.version == CNI_VERSION_UNKNOWN) {
		char list[128] = "";

		for (int v = 0; v < CNI_VERSION_COUNT; v++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 v ? ", " : "", version_names[v]);
		cni_error_set(err, -EINVAL, CNI_CODE_INCOMPATIBLE_VERSION,
			      "incompatible CNI versions: config is \"%s\", plugin supports [%s]",
			      m->valuestring, list);
		cni_error_details(err, "supported versions: %s", list);
		goto fail;
	}
	req.name = cni_json_string(req.root, "name");
	req.type = cni_json_string(req.root, "type");
	m = member(req.root, "prevResult");
	if (m && !cJSON_IsObject(m)) {
		cni_error_set(err, -EINVAL, CNI_CODE_DECODE, "prevResult is not a JSON object");
		goto fail;
	}
	req.prev_result = m;
	m = member(req.root, "runtimeConfig");
	req.runtime_config = cJSON_IsObject(m) ? m : NULL;
	m = member(req.root, "capabilities");
	req.capabilities = cJSON_IsObject(m) ? m : NULL;
	*ret = req;
	return 0;

fail:
	cJSON_Delete(req.root);
	return -EINVAL;
}

void cni_request_free(struct cni_request *req)
{
	if (!req)
		return;
	cJSON_Delete(req->root);
	memset(req, 0, sizeof(*req));
}

/* ---- error and VERSION objects ---- */

/* Which cniVersion an error or VERSION answer carries: the version the request sent, echoed
 * even when we do not support it (libcni reads the error object whatever its version, and
 * containernetworking/cni#826 asks plugins to echo); when the request sent none (or we failed
 * before reading stdin) we answer "1.1.0", the newest version, whose error shape is the same
 * as every other version's. */
static const char *answer_version(const char *version_str)
{
	return version_str && *version_str ? version_str : CNI_VERSION_NEWEST;
}

char *cni_error_encode(const struct cni_error *e, const char *version_str)
{
	int code = e && e->code ? e->code : CNI_CODE_INTERNAL;
	const char *msg = e && e->code && e->msg[0] ? e->msg : "internal error: no message recorded";
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;

	if (o && cJSON_AddStringToObject(o, "cniVersion", answer_version(version_str)) &&
	    cJSON_AddNumberToObject(o, "code", code) && cJSON_AddStringToObject(o, "msg", msg) &&
	    cJSON_AddStringToObject(o, "details", e ? e->details : ""))
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

char *cni_version_reply(const char *version_str)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *list = cni_version_list_json();
	char *text = NULL;

	if (o && list && cJSON_AddStringToObject(o, "cniVersion", answer_version(version_str))) {
		cJSON_AddItemToObject(o, "supportedVersions", list);
		list = NULL;
		text = cJSON_PrintUnformatted(o);
	}
	cJSON_Delete(list);
	cJSON_Delete(o);
	return text;
}

const char *cni_json_string(const cJSON *obj, const char *key)
{
	const cJSON *m = obj ? cJSON_GetObjectItem(obj, key) : NULL;

	return cJSON_IsString(m) ? m->valuestring : NULL;
}
