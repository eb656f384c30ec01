/* SPDX-License-Identifier: MIT */
/* azure-vnet.json <-> struct netstate, in the Go plugin's layout (see netstate.h). */
#include "netstate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base64.h"
#include "netscan.h"

/* What netscan indexes: the endpoint records (keys as Go writes them, exact case), and of each
 * the fields a lazy record holds. */
const struct netscan_layout netstate_endpoints_layout = {
	.path = { "Network", "ExternalInterfaces", "*", "Networks", "*", "Endpoints" },
	.depth = 6,
	.fields = { "Id", "ContainerID", "IfName" },
	.n_fields = 3,
	.what = "Endpoints",
	.what_entry = "Endpoints entry",
};

/* ep->id and ep->head.id are one member (see struct netstate_endpoint) */
#define SAME_MEMBER(m) \
	_Static_assert(offsetof(struct netstate_endpoint, m) == \
		       offsetof(struct netstate_endpoint, head.m) && \
		       sizeof(((struct netstate_endpoint *)0)->m) == \
		       sizeof(((struct netstate_endpoint *)0)->head.m), #m " differs from head." #m)
SAME_MEMBER(id);
SAME_MEMBER(container_id);
SAME_MEMBER(ifname);
SAME_MEMBER(lazy);
SAME_MEMBER(src);
_Static_assert(offsetof(struct netstate_endpoint, head) == 0, "the head starts the record");

/* Members of one object decoded at most: a crafted file with millions of them is corrupt
 * (code 6, then rebuilt), not an allocation of gigabytes (a node holds 250 pods). */
#define NETSTATE_DECODE_MAX 65536

/* ---- decode helpers: each returns 0 or -EINVAL with code 6 naming the path and field ---- */

struct dctx {
	const char *path;
	struct cni_error *err;
	unsigned long gen;
	const struct netscan *scan;         /* the text's index (records by span), or NULL */
	const char *text;                   /* the state's copy of the text */
	bool eager;                         /* decode every record now (netstate_decode) */
	bool eager_one;                     /* lazy_record: this record needs decoding now */
};

static int bad(struct dctx *d, const char *field, const char *why)
{
	return cni_error_set(d->err, -EINVAL, CNI_CODE_DECODE, "state file %s: %s %s", d->path,
			     field, why);
}

static int get_str(struct dctx *d, const cJSON *o, const char *key, char *buf, size_t size)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return bad(d, key, "is not a string");
	if (strlen(v->valuestring) >= size)
		return bad(d, key, "is too long");
	memcpy(buf, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

/* A netns path (SandboxKey, NetNs) is informational in the record: one longer than we keep
 * (CNI_NETNS_MAX; a file written before that limit, or by another plugin) is dropped rather
 * than failing every later call on the node. */
static int get_netns(struct dctx *d, const cJSON *o, const char *key, char *buf, size_t size)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	if (v && cJSON_IsString(v) && strlen(v->valuestring) >= size) {
		buf[0] = '\0';
		return 0;
	}
	return get_str(d, o, key, buf, size);
}

static int get_int(struct dctx *d, const cJSON *o, const char *key, int *ret)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v))
		return bad(d, key, "is not a number");
	*ret = v->valueint;
	return 0;
}

static int get_bool(struct dctx *d, const cJSON *o, const char *key, bool *ret)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v))
		return bad(d, key, "is not a boolean");
	*ret = cJSON_IsTrue(v);
	return 0;
}

/* A Go net.IP: text, "" or null = unset. */
static int get_ip(struct dctx *d, const cJSON *o, const char *key, struct ipnet_addr *ret)
{
	const cJSON *v = key ? cJSON_GetObjectItem(o, key) : o;

	memset(ret, 0, sizeof(*ret));
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return bad(d, key ? key : "IP", "is not a string");
	if (v->valuestring[0] == '\0')
		return 0;
	if (ipnet_addr_parse(v->valuestring, ret) < 0)
		return bad(d, key ? key : "IP", "is not an IP address");
	return 0;
}

/* A Go []byte MAC: base64 of 6 bytes, or null. */
static int get_mac(struct dctx *d, const cJSON *o, const char *key, uint8_t mac[6], bool *has)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);
	unsigned char buf[32];
	int n;

	*has = false;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return bad(d, key, "is not a string");
	if (v->valuestring[0] == '\0')
		return 0;
	n = base64_decode(v->valuestring, buf, sizeof(buf));
	if (n == 0)
		return 0;
	if (n != 6)
		return bad(d, key, "is not a base64 MAC address");
	memcpy(mac, buf, 6);
	*has = true;
	return 0;
}

/* A Go net.IPNet: {"IP":"a.b.c.d","Mask":"<base64>"}. */
static int get_ipnet(struct dctx *d, const cJSON *o, const char *field, struct ipnet_prefix *ret)
{
	const cJSON *m;
	unsigned char mask[16];
	int n, len;

	memset(ret, 0, sizeof(*ret));
	if (!o || cJSON_IsNull(o))
		return 0;
	if (!cJSON_IsObject(o))
		return bad(d, field, "is not an {IP, Mask} object");
	if (get_ip(d, o, "IP", &ret->addr) < 0)
		return -EINVAL;
	m = cJSON_GetObjectItem(o, "Mask");
	if (!m || cJSON_IsNull(m) || ret->addr.family == 0)
		return 0;
	if (!cJSON_IsString(m))
		return bad(d, field, "Mask is not a string");
	n = base64_decode(m->valuestring, mask, sizeof(mask));
	if (n < 0 || (n != 4 && n != 16))
		return bad(d, field, "Mask is not a base64 netmask");
	len = ipnet_mask_len(mask, (size_t)n);
	if (len < 0)
		return bad(d, field, "Mask is not contiguous");
	/* Go may store an IPv4 mask in 16 bytes (v4-in-v6 form): 96 leading ones. */
	if (n == 16 && ret->addr.family == IPNET_AF_INET)
		len -= 96;
	if (len < 0)
		return bad(d, field, "Mask does not fit the address");
	ret->len = len;
	return 0;
}

/* Appends @opt to d's packed options; false when it does not fit. */
static bool dns_option_add(struct netstate_dns *d, const char *opt)
{
	size_t used = 0, i, len = strlen(opt);

	for (i = 0; i < d->n_options; i++)
		used += strlen(d->options + used) + 1;
	if (d->n_options >= CNI_MAX_DNS || used + len + 1 > sizeof(d->options))
		return false;
	memcpy(d->options + used, opt, len + 1);
	d->n_options++;
	return true;
}

static int get_dns(struct dctx *d, const cJSON *o, struct netstate_dns *ret)
{
	const cJSON *v, *e;

	memset(ret, 0, sizeof(*ret));
	if (!o || cJSON_IsNull(o))
		return 0;
	if (!cJSON_IsObject(o))
		return bad(d, "DNS", "is not an object");
	if (get_str(d, o, "Suffix", ret->suffix, sizeof(ret->suffix)) < 0)
		return -EINVAL;
	v = cJSON_GetObjectItem(o, "Servers");
	cJSON_ArrayForEach(e, v) {
		if (cJSON_IsString(e) && ret->n_servers < CNI_MAX_DNS)
			snprintf(ret->servers[ret->n_servers++], IPNET_ADDR_STRLEN, "%s",
				 e->valuestring);
	}
	v = cJSON_GetObjectItem(o, "Options");
	cJSON_ArrayForEach(e, v) {
		if (cJSON_IsString(e))
			dns_option_add(ret, e->valuestring);
	}
	return 0;
}

void netstate_dns_set(struct netstate_dns *ret, const struct cni_dns *dns)
{
	size_t i;

	memset(ret, 0, sizeof(*ret));
	snprintf(ret->suffix, sizeof(ret->suffix), "%s", dns->domain);
	for (i = 0; i < dns->n_nameservers && i < CNI_MAX_DNS; i++)
		snprintf(ret->servers[ret->n_servers++], IPNET_ADDR_STRLEN, "%s",
			 dns->nameservers[i]);
	for (i = 0; i < dns->n_options && i < CNI_MAX_DNS; i++)
		dns_option_add(ret, dns->options[i]);
}

void netstate_dns_get(const struct netstate_dns *d, struct cni_dns *ret)
{
	const char *opt = d->options;
	size_t i;

	memset(ret, 0, sizeof(*ret));
	snprintf(ret->domain, sizeof(ret->domain), "%s", d->suffix);
	for (i = 0; i < d->n_servers && i < CNI_MAX_DNS; i++)
		snprintf(ret->nameservers[ret->n_nameservers++], IPNET_ADDR_STRLEN, "%s",
			 d->servers[i]);
	for (i = 0; i < d->n_options && i < CNI_MAX_DNS; i++) {
		snprintf(ret->options[ret->n_options++], CNI_NAME_MAX, "%.*s", CNI_NAME_MAX - 1, opt);
		opt += strlen(opt) + 1;
	}
}

static int get_routes(struct dctx *d, const cJSON *arr, struct netstate_route *routes, size_t *n)
{
	const cJSON *e;

	*n = 0;
	if (!arr || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return bad(d, "Routes", "is not an array");
	cJSON_ArrayForEach(e, arr) {
		struct netstate_route *r;

		if (*n >= NETSTATE_MAX_ROUTES)
			return bad(d, "Routes", "has too many entries");
		int family = 0;

		r = &routes[(*n)++];
		memset(r, 0, sizeof(*r));
		if (get_ipnet(d, cJSON_GetObjectItem(e, "Dst"), "Routes.Dst", &r->dst) < 0 ||
		    get_int(d, e, "Family", &family) < 0 ||
		    get_int(d, e, "LinkIndex", &r->link_index) < 0 ||
		    get_ip(d, e, "Src", &r->src) < 0 || get_ip(d, e, "Gw", &r->gw) < 0 ||
		    get_int(d, e, "Protocol", &r->protocol) < 0 ||
		    get_int(d, e, "Scope", &r->scope) < 0 ||
		    get_int(d, e, "Priority", &r->priority) < 0 ||
		    get_int(d, e, "Table", &r->table) < 0 ||
		    get_str(d, e, "DevName", r->dev, sizeof(r->dev)) < 0)
			return -EINVAL;
		/* netlink.Route: a default route's Dst is null, its family in Family */
		if (r->dst.addr.family == 0 && (family == IPNET_AF_INET || family == IPNET_AF_INET6))
			r->dst.addr.family = family;
	}
	return 0;
}

static int get_ipnets(struct dctx *d, const cJSON *arr, const char *field,
		      struct ipnet_prefix *out, size_t max, size_t *n)
{
	const cJSON *e;

	*n = 0;
	if (!arr || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return bad(d, field, "is not an array");
	cJSON_ArrayForEach(e, arr) {
		if (*n >= max)
			return bad(d, field, "has too many entries");
		if (get_ipnet(d, e, field, &out[*n]) < 0)
			return -EINVAL;
		(*n)++;
	}
	return 0;
}

/* cJSON reports out of memory only as NULL, where it also means a text it refuses (parse) and
 * where most callers of its builders do not look (encode): its allocations are watched instead,
 * between watch_begin and watch_end (nested: the outermost pair counts); an encoder's own
 * allocation that fails sets watch_failed too. */
static unsigned watching;
static bool watch_failed;

static void *watch_malloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		watch_failed = true;
	return p;
}

static void watch_begin(void)
{
	cJSON_Hooks hooks = { .malloc_fn = watch_malloc, .free_fn = free };

	if (watching++ == 0) {
		watch_failed = false;
		cJSON_InitHooks(&hooks);
	}
}

/* Whether a cJSON allocation failed since the outermost watch_begin; cJSON's hooks are the
 * defaults again after the outermost pair. */
static bool watch_end(void)
{
	bool failed = watch_failed;

	if (--watching == 0)
		cJSON_InitHooks(NULL);
	return failed;
}

/* cJSON_ParseWithLength of @len bytes at @s, telling out of memory (NULL, *@oom true) from a
 * text cJSON refuses (NULL, *@oom false): a text the scan passed can still be refused (cJSON is
 * stricter: a lone surrogate escape), so only the allocator can tell. */
static cJSON *parse(const char *s, size_t len, bool *oom)
{
	cJSON *o;

	watch_begin();
	o = cJSON_ParseWithLength(s, len);
	*oom = watch_end() && !o;
	return o;
}

static int decode_endpoint(struct dctx *d, const cJSON *o, struct netstate_endpoint *ep)
{
	const cJSON *v, *e;

	memset(ep, 0, sizeof(*ep));
	if (!cJSON_IsObject(o))
		return bad(d, "Endpoints entry", "is not an object");
	if (get_str(d, o, "Id", ep->id, sizeof(ep->id)) < 0 ||
	    get_str(d, o, "HnsId", ep->hns_id, sizeof(ep->hns_id)) < 0 ||
	    get_str(d, o, "HNSNetworkID", ep->hns_network_id, sizeof(ep->hns_network_id)) < 0 ||
	    get_netns(d, o, "SandboxKey", ep->sandbox_key, sizeof(ep->sandbox_key)) < 0 ||
	    get_str(d, o, "IfName", ep->ifname, sizeof(ep->ifname)) < 0 ||
	    get_str(d, o, "HostIfName", ep->host_ifname, sizeof(ep->host_ifname)) < 0 ||
	    get_mac(d, o, "MacAddress", ep->mac, &ep->has_mac) < 0 ||
	    get_ipnets(d, cJSON_GetObjectItem(o, "IPAddresses"), "IPAddresses", ep->ips,
		       NETSTATE_MAX_IPS, &ep->n_ips) < 0 ||
	    get_dns(d, cJSON_GetObjectItem(o, "DNS"), &ep->dns) < 0 ||
	    get_routes(d, cJSON_GetObjectItem(o, "Routes"), ep->routes, &ep->n_routes) < 0 ||
	    get_str(d, o, "ContainerID", ep->container_id, sizeof(ep->container_id)) < 0 ||
	    get_str(d, o, "PODName", ep->pod_name, sizeof(ep->pod_name)) < 0 ||
	    get_str(d, o, "PODNameSpace", ep->pod_namespace, sizeof(ep->pod_namespace)) < 0 ||
	    get_netns(d, o, "NetNs", ep->netns, sizeof(ep->netns)) < 0 ||
	    get_int(d, o, "VlanID", &ep->vlan_id) < 0)
		return -EINVAL;
	if (!ep->netns[0]) {
		if (get_netns(d, o, "NetworkNameSpace", ep->netns, sizeof(ep->netns)) < 0)
			return -EINVAL;
		if (ep->netns[0])
			ep->netns_key = NETSTATE_NETNS_KEY_NNS;
	}
	ep->src = (struct netstate_src){ .obj = o, .gen = d->gen };
	v = cJSON_GetObjectItem(o, "Gateways");
	if (v && !cJSON_IsNull(v) && !cJSON_IsArray(v))
		return bad(d, "Gateways", "is not an array");
	cJSON_ArrayForEach(e, v) {
		if (ep->n_gateways >= NETSTATE_MAX_IPS)
			return bad(d, "Gateways", "has too many entries");
		if (get_ip(d, e, NULL, &ep->gateways[ep->n_gateways]) < 0)
			return -EINVAL;
		ep->n_gateways++;
	}
	return 0;
}

/* A lazy record decoded in place from its bytes (its id, owner and source kept). On a field
 * of the wrong type: -EINVAL (err set), *ep left with only its id, owner and source. Out of
 * memory: -ENOMEM (err not set), *ep as it was. */
static int endpoint_load(struct dctx *d, struct netstate_endpoint *ep)
{
	struct netstate_src src = ep->src;
	char id[NETSTATE_ID_MAX], cid[NETSTATE_ID_MAX], ifname[NETSTATE_IFNAME_MAX];
	bool oom;
	cJSON *o;
	int r;

	memcpy(id, ep->id, sizeof(id));
	memcpy(cid, ep->container_id, sizeof(cid));
	memcpy(ifname, ep->ifname, sizeof(ifname));
	o = parse(src.raw, src.raw_len, &oom);
	if (oom)
		return -ENOMEM; /* not a record that does not decode: *ep is its head still */
	r = o ? decode_endpoint(d, o, ep) : bad(d, "Endpoints entry", "is not valid JSON");
	cJSON_Delete(o);
	if (r < 0) {
		memset(ep, 0, sizeof(*ep));
		memcpy(ep->container_id, cid, sizeof(cid));
		memcpy(ep->ifname, ifname, sizeof(ifname));
	}
	if (!ep->id[0])
		memcpy(ep->id, id, sizeof(id));
	ep->src = src;
	ep->src.obj = NULL;
	ep->lazy = false;
	return r;
}

/* Record field @i (netstate_endpoints_layout.fields) of @r into @buf: 0, or -1 when cJSON's reading is
 * needed to tell (not a string, too long, escapes that do not fit). */
static int head_field(const struct dctx *d, const struct netscan_record *r, int i, char *buf,
		      size_t size)
{
	const struct netscan_field *f = &r->f[i];

	buf[0] = '\0';
	if (f->type == NETSCAN_ABSENT || f->type == NETSCAN_NULL)
		return 0;
	if (f->type != NETSCAN_STRING)
		return -1;
	return netscan_unescape(d->text + f->off, f->len, buf, size) < 0 ? -1 : 0;
}

/* Lazy record *@slot decoded into a whole record of its own (malloc'd; *@slot becomes its
 * head). Returns it, or NULL on out of memory (errno ENOMEM; *@slot kept); *@r is
 * endpoint_load's return (0 or -EINVAL). */
static struct netstate_endpoint *whole_record(struct dctx *d, struct netstate_endpoint_head **slot,
					      int *r)
{
	struct netstate_endpoint *ep = malloc(sizeof(*ep));

	*r = 0;
	if (!ep) {
		errno = ENOMEM;
		return NULL;
	}
	ep->head = **slot;
	*r = endpoint_load(d, ep);
	if (*r == -ENOMEM) {
		free(ep);
		*r = 0;
		errno = ENOMEM;
		return NULL;
	}
	*slot = &ep->head;
	return ep;
}

/* Record @r of the text as the lazy head *@h with *@slot pointing to it, or decoded now into a
 * whole record (d->eager, or a field that only a full decode judges). */
static int lazy_record(struct dctx *d, const struct netscan_record *r,
		       struct netstate_endpoint_head *h, struct netstate_endpoint_head **slot)
{
	char key[1024];
	int k, ret;

	memset(h, 0, sizeof(*h));
	h->src = (struct netstate_src){ .raw = d->text + r->off, .raw_len = r->len,
					.key = d->text + r->key_off, .key_len = r->key_len,
					.gen = d->gen };
	h->lazy = true;
	*slot = h;
	k = netscan_unescape(d->text + r->key_off, r->key_len, key, sizeof(key));
	if (r->escaped_key || head_field(d, r, 0, h->id, sizeof(h->id)) < 0 ||
	    head_field(d, r, 1, h->container_id, sizeof(h->container_id)) < 0 ||
	    head_field(d, r, 2, h->ifname, sizeof(h->ifname)) < 0 || k < 0) {
		h->id[0] = '\0';
		if (k >= 0)
			snprintf(h->id, sizeof(h->id), "%.*s", NETSTATE_ID_MAX - 1, key);
		d->eager_one = true;
	} else if (!h->id[0]) {
		snprintf(h->id, sizeof(h->id), "%.*s", NETSTATE_ID_MAX - 1, key);
	}
	/* an Id other than its key: written under the Id, as a new record (netstate_encode) */
	if (!d->eager && !d->eager_one && strcmp(h->id, key) == 0)
		return 0;
	d->eager_one = false;
	if (!whole_record(d, slot, &ret))
		return cni_error_set(d->err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	return ret;
}

/* The records of Endpoints map @mark (the skeleton's marker after NETSCAN_MARK) into @net. */
static int decode_records(struct dctx *d, const char *mark, struct netstate_network *net)
{
	const struct netscan_map *m;
	char *end;
	unsigned long k = strtoul(mark, &end, 10);
	size_t i;

	if (*end || k >= d->scan->n_maps)
		return bad(d, "Endpoints", "is not an object");
	m = &d->scan->maps[k];
	if (m->n > NETSTATE_DECODE_MAX)
		return bad(d, "Endpoints", "has more members than any node holds");
	if (m->n) {
		/* not calloc: lazy_record zeroes each head */
		net->endpoints = malloc(m->n * sizeof(*net->endpoints));
		net->heads = malloc(m->n * sizeof(*net->heads));
		if (!net->endpoints || !net->heads)
			return cni_error_set(d->err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	}
	for (i = 0; i < m->n; i++) {
		int r = lazy_record(d, &m->recs[i], &net->heads[i], &net->endpoints[i]);

		if (net->endpoints[i] != &net->heads[i] || r >= 0)
			net->n_endpoints++; /* owned by @net from now on */
		if (r < 0)
			return r;
	}
	return 0;
}

static int decode_network(struct dctx *d, const cJSON *o, struct netstate_network *net)
{
	const cJSON *v, *e;

	memset(net, 0, sizeof(*net));
	if (!cJSON_IsObject(o))
		return bad(d, "Networks entry", "is not an object");
	if (get_str(d, o, "Id", net->id, sizeof(net->id)) < 0 ||
	    get_str(d, o, "HnsId", net->hns_id, sizeof(net->hns_id)) < 0 ||
	    get_str(d, o, "Mode", net->mode, sizeof(net->mode)) < 0 ||
	    get_int(d, o, "VlanId", &net->vlan_id) < 0 ||
	    get_dns(d, cJSON_GetObjectItem(o, "DNS"), &net->dns) < 0 ||
	    get_bool(d, o, "EnableSnatOnHost", &net->enable_snat_on_host) < 0 ||
	    get_netns(d, o, "NetNs", net->netns, sizeof(net->netns)) < 0 ||
	    get_str(d, o, "SnatBridgeIP", net->snat_bridge_ip, sizeof(net->snat_bridge_ip)) < 0)
		return -EINVAL;
	net->src = (struct netstate_src){ .obj = o, .gen = d->gen };
	if (!net->id[0] && o->string)
		snprintf(net->id, sizeof(net->id), "%s", o->string);
	v = cJSON_GetObjectItem(o, "Subnets");
	if (v && !cJSON_IsNull(v) && !cJSON_IsArray(v))
		return bad(d, "Subnets", "is not an array");
	cJSON_ArrayForEach(e, v) {
		struct netstate_subnet *s;

		if (net->n_subnets >= NETSTATE_MAX_SUBNETS)
			return bad(d, "Subnets", "has too many entries");
		s = &net->subnets[net->n_subnets++];
		if (get_int(d, e, "Family", &s->family) < 0 ||
		    get_ipnet(d, cJSON_GetObjectItem(e, "Prefix"), "Subnets.Prefix", &s->prefix) < 0 ||
		    get_ip(d, e, "Gateway", &s->gateway) < 0 ||
		    get_ip(d, e, "PrimaryIP", &s->primary_ip) < 0)
			return -EINVAL;
	}
	v = cJSON_GetObjectItem(o, "Endpoints");
	if (d->scan && cJSON_IsString(v) &&
	    strncmp(v->valuestring, NETSCAN_MARK, strlen(NETSCAN_MARK)) == 0)
		return decode_records(d, v->valuestring + strlen(NETSCAN_MARK), net);
	if (v && !cJSON_IsNull(v) && !cJSON_IsObject(v))
		return bad(d, "Endpoints", "is not an object");
	if (v && cJSON_GetArraySize(v) > NETSTATE_DECODE_MAX)
		return bad(d, "Endpoints", "has more members than any node holds");
	if (v && cJSON_GetArraySize(v) > 0) {
		net->endpoints = malloc((size_t)cJSON_GetArraySize(v) * sizeof(*net->endpoints));
		if (!net->endpoints)
			return cni_error_set(d->err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	}
	cJSON_ArrayForEach(e, v) {
		/* not calloc: decode_endpoint zeroes it */
		struct netstate_endpoint *ep = malloc(sizeof(*ep));

		if (!ep)
			return cni_error_set(d->err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
		net->endpoints[net->n_endpoints++] = &ep->head; /* owned by @net from now on */
		if (decode_endpoint(d, e, ep) < 0)
			return -EINVAL;
		if (!ep->id[0] && e->string && e->string[0])
			snprintf(ep->id, sizeof(ep->id), "%s", e->string);
	}
	return 0;
}

static int decode_extif(struct dctx *d, const cJSON *o, struct netstate_extif *x)
{
	const cJSON *v, *e;

	memset(x, 0, sizeof(*x));
	if (!cJSON_IsObject(o))
		return bad(d, "ExternalInterfaces entry", "is not an object");
	if (get_str(d, o, "Name", x->name, sizeof(x->name)) < 0 ||
	    get_str(d, o, "BridgeName", x->bridge_name, sizeof(x->bridge_name)) < 0 ||
	    get_dns(d, cJSON_GetObjectItem(o, "DNSInfo"), &x->dns) < 0 ||
	    get_mac(d, o, "MacAddress", x->mac, &x->has_mac) < 0 ||
	    get_ipnets(d, cJSON_GetObjectItem(o, "IPAddresses"), "IPAddresses", x->ips,
		       NETSTATE_MAX_IPS, &x->n_ips) < 0 ||
	    get_routes(d, cJSON_GetObjectItem(o, "Routes"), x->routes, &x->n_routes) < 0 ||
	    get_ip(d, o, "IPv4Gateway", &x->ipv4_gateway) < 0 ||
	    get_ip(d, o, "IPv6Gateway", &x->ipv6_gateway) < 0)
		return -EINVAL;
	x->src = (struct netstate_src){ .obj = o, .gen = d->gen };
	if (!x->name[0] && o->string)
		snprintf(x->name, sizeof(x->name), "%s", o->string);
	v = cJSON_GetObjectItem(o, "Subnets");
	if (v && !cJSON_IsNull(v) && !cJSON_IsArray(v))
		return bad(d, "Subnets", "is not an array");
	cJSON_ArrayForEach(e, v) {
		if (x->n_subnets >= NETSTATE_MAX_SUBNETS)
			return bad(d, "Subnets", "has too many entries");
		if (!cJSON_IsString(e) ||
		    ipnet_prefix_parse(e->valuestring, false, &x->subnets[x->n_subnets]) < 0)
			return bad(d, "Subnets", "entry is not a CIDR string");
		x->n_subnets++;
	}
	v = cJSON_GetObjectItem(o, "Networks");
	if (v && !cJSON_IsNull(v) && !cJSON_IsObject(v))
		return bad(d, "Networks", "is not an object");
	if (v && cJSON_GetArraySize(v) > NETSTATE_DECODE_MAX)
		return bad(d, "Networks", "has more members than any node holds");
	if (v && cJSON_GetArraySize(v) > 0) {
		x->networks = calloc((size_t)cJSON_GetArraySize(v), sizeof(*x->networks));
		if (!x->networks)
			return cni_error_set(d->err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	}
	cJSON_ArrayForEach(e, v) {
		int r = decode_network(d, e, &x->networks[x->n_networks]);

		x->n_networks++; /* so netstate_free releases its endpoints */
		if (r < 0)
			return r == -ENOMEM ? -ENOMEM : -EINVAL; /* out of memory is not corruption */
	}
	return 0;
}

/* @text into the state's own copy (padded as netscan_run needs; lazy records point into it),
 * scanned into @scan. Returns 0, -EINVAL (code 6) or -ENOMEM. */
/* ret->text (set, padded) indexed into @scan. */
static int scan_text(struct dctx *d, size_t len, struct netstate *ret, struct netscan *scan)
{
	const char *field = NULL, *why = NULL;
	int r;

	d->text = ret->text;
	r = netscan_run(&netstate_endpoints_layout, ret->text, len, scan, &field, &why, NULL);
	if (r == -ENOMEM)
		return cni_error_set(d->err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	return r < 0 ? bad(d, field, why) : 0;
}

/* How decode_text holds the text it is given. */
enum text_hold {
	TEXT_COPY,   /* copied (and padded) */
	TEXT_BORROW, /* the caller's, padded already, kept valid by it (netstate_decode_lazy_view) */
};

/* ret->text from @text (@len bytes) as @hold says; NETSCAN_PAD zero bytes after it,
 * ret->text_len = @len. Returns 0 or -ENOMEM (code 100). */
static int copy_text(char *text, enum text_hold hold, size_t len, struct netstate *ret,
		     struct cni_error *err)
{
	if (hold == TEXT_BORROW) {
		ret->text = text;
		ret->text_len = len;
		ret->text_borrowed = true;
		return 0;
	}
	ret->text = malloc(len + NETSCAN_PAD);
	if (!ret->text)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	memcpy(ret->text, text, len);
	memset(ret->text + len, 0, NETSCAN_PAD);
	ret->text_len = len;
	return 0;
}

/* The document ret->doc's "Network" object (absent or null: an empty state) into @ret: its
 * Version, TimeStamp and ExternalInterfaces (ret->n_extifs counts one that failed, so
 * netstate_free releases it). Returns 0, -EINVAL (code 6), or -ENOMEM (code 100; also when an
 * external interface's decode ran out of memory: a caller that rebuilds a corrupt file on
 * -EINVAL must not throw a good one away for want of memory). */
static int decode_doc(struct dctx *d, struct netstate *ret)
{
	const cJSON *net, *v, *e;

	net = cJSON_GetObjectItem(ret->doc, "Network");
	if (!net || cJSON_IsNull(net))
		return 0;
	if (!cJSON_IsObject(net))
		return bad(d, "Network", "is not an object");
	if (get_str(d, net, "Version", ret->version, sizeof(ret->version)) < 0 ||
	    get_str(d, net, "TimeStamp", ret->timestamp, sizeof(ret->timestamp)) < 0)
		return -EINVAL;
	v = cJSON_GetObjectItem(net, "ExternalInterfaces");
	if (v && !cJSON_IsNull(v) && !cJSON_IsObject(v))
		return bad(d, "ExternalInterfaces", "is not an object");
	if (v && cJSON_GetArraySize(v) > NETSTATE_DECODE_MAX)
		return bad(d, "ExternalInterfaces", "has more members than any node holds");
	if (v && cJSON_GetArraySize(v) > 0) {
		ret->extifs = calloc((size_t)cJSON_GetArraySize(v), sizeof(*ret->extifs));
		if (!ret->extifs)
			return cni_error_set(d->err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	}
	cJSON_ArrayForEach(e, v) {
		int rr = decode_extif(d, e, &ret->extifs[ret->n_extifs]);

		ret->n_extifs++;
		if (rr < 0)
			return rr == -ENOMEM ? -ENOMEM : -EINVAL; /* out of memory is not a corrupt file */
	}
	return 0;
}

/* Decode @text (@len bytes), held as @hold says (copy_text). */
static int decode_text(char *text, enum text_hold hold, size_t len, const char *path, bool eager,
		       struct netstate *ret, struct cni_error *err)
{
	static unsigned long gens;
	struct netscan scan = { 0 };
	struct dctx d = { .path = path ? path : "azure-vnet.json", .err = err, .gen = ++gens,
			  .scan = &scan, .eager = eager };
	cJSON *root;
	bool oom;
	size_t i;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = copy_text(text, hold, len, ret, err);
	if (r < 0)
		return r;
	for (i = 0; i < len && (ret->text[i] == ' ' || ret->text[i] == '\t' ||
				ret->text[i] == '\n' || ret->text[i] == '\r'); i++)
		;
	if (i == len)
		return 0;
	d.text = ret->text;
	r = scan_text(&d, len, ret, &scan);
	if (r < 0)
		goto out;
	root = parse(scan.skel, scan.skel_len, &oom);
	if (oom) {
		/* not corrupt: a caller that rebuilds a corrupt file must not (state.c) */
		r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
		goto out;
	}
	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		r = bad(&d, "content", "is not valid JSON");
		goto out;
	}
	/* kept for netstate_encode: the keys we do not model are written back from it */
	ret->doc = root;
	ret->gen = d.gen;
	r = decode_doc(&d, ret);
out:
	netscan_free(&scan);
	if (r < 0)
		netstate_free(ret);
	return r;
}

int netstate_decode(const char *text, size_t len, const char *path, struct netstate *ret,
		    struct cni_error *err)
{
	return decode_text((char *)text, TEXT_COPY, len, path, true, ret, err);
}

int netstate_decode_lazy(const char *text, size_t len, const char *path, struct netstate *ret,
			 struct cni_error *err)
{
	return decode_text((char *)text, TEXT_COPY, len, path, false, ret, err);
}

int netstate_decode_lazy_view(const char *text, size_t len, const char *path,
			      struct netstate *ret, struct cni_error *err)
{
	return decode_text((char *)text, TEXT_BORROW, len, path, false, ret, err);
}

/* Record @i of @net, decoded when lazy (see netstate_find_endpoint); *@r 0, or -EINVAL (a
 * field did not decode: err set) / -ENOMEM. NULL only when out of memory (errno ENOMEM). */
static struct netstate_endpoint *load(struct netstate_network *net, size_t i, int *r,
				      struct cni_error *err)
{
	struct netstate_endpoint_head **slot = &net->endpoints[i];
	struct dctx d = { .path = "azure-vnet.json", .err = err, .gen = (*slot)->src.gen };
	struct netstate_endpoint *ep;

	*r = 0;
	if (!(*slot)->lazy)
		return netstate_endpoint_of(*slot);
	ep = whole_record(&d, slot, r);
	if (!ep)
		*r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	return ep;
}

int netstate_network_load(struct netstate_network *net, struct cni_error *err)
{
	size_t i;
	int r = 0, ri;

	for (i = 0; i < net->n_endpoints; i++) {
		if (!load(net, i, &ri, r < 0 ? NULL : err))
			return r < 0 ? r : ri;
		if (ri < 0)
			r = ri;
	}
	return r;
}

struct netstate_endpoint *netstate_endpoint_at(struct netstate_network *net, size_t i)
{
	int r;

	return load(net, i, &r, NULL);
}

/* ---- encode ---- */

/* cJSON_AddItemToObject, which leaves @item to its caller when it fails (out of memory copying
 * @key): @item is then freed here. The encode fails then (the copy's allocation was watched). */
static void add_member(cJSON *o, const char *key, cJSON *item)
{
	if (item && !cJSON_AddItemToObject(o, key, item))
		cJSON_Delete(item);
}

/* Source member @s by reference into object @out under @s's own key, borrowed (@s outlives
 * @out: the encode prints @out before the source is freed). cJSON_AddItemReferenceToObject
 * copies the key and leaks the reference when that copy fails (cJSON 1.7.15). Returns false on
 * out of memory. */
static bool add_reference(cJSON *out, const cJSON *s)
{
	cJSON *ref;

	if (!cJSON_AddItemReferenceToArray(out, (cJSON *)s))
		return false;
	ref = out->child->prev; /* the last member: cJSON keeps it as the first one's prev */
	ref->string = s->string;
	ref->type |= cJSON_StringIsConst;
	return true;
}

/* Keys we own that Go leaves out when empty (json:",omitempty" in network/endpoint.go and
 * network/network.go): a source's copy of one is dropped when ours is left out. */
static bool owned_omitempty(const char *key)
{
	static const char *const keys[] = { "HnsId", "HNSNetworkID", "NetworkNameSpace",
					    "PODName", "PODNameSpace", "NetNs" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

/* Keys we write only as defaults for a new object (a netlink.Route's we do not model): a
 * source's value wins. */
static bool default_only(const char *key)
{
	return strcmp(key, "Tos") == 0 || strcmp(key, "Type") == 0 || strcmp(key, "Flags") == 0 ||
	       strcmp(key, "ILinkIndex") == 0;
}

/* Maps of model objects: each member is merged with its own source by its encoder; a source
 * member missing from ours was removed, so these are never merged key by key. */
static bool map_key(const char *key)
{
	return strcmp(key, "ExternalInterfaces") == 0 || strcmp(key, "Networks") == 0 ||
	       strcmp(key, "Endpoints") == 0;
}

/* Detaches and returns @gen's member @key, or NULL. Ours are written in the source's order as
 * a rule, so the first remaining member is tried first. */
static cJSON *take(cJSON *gen, const char *key)
{
	cJSON *g = gen->child;

	if (g && g->string && strcmp(g->string, key) == 0)
		return cJSON_DetachItemViaPointer(gen, g);
	for (; g; g = g->next)
		if (g->string && strcmp(g->string, key) == 0)
			return cJSON_DetachItemViaPointer(gen, g);
	return NULL;
}

static cJSON *merge(cJSON *gen, const cJSON *src);

/* @g (ours) over @s (the source's value of the same key): objects merged, arrays of objects
 * element by element (a route keeps its Tos, Type, Flags), anything else ours. Consumes @g;
 * returns the value under @g's key, or NULL (out of memory). */
static cJSON *merge_value(cJSON *g, const cJSON *s)
{
	cJSON *out, *ge;
	const cJSON *se;

	if (map_key(g->string ? g->string : ""))
		return g;
	if (cJSON_IsObject(g))
		return merge(g, s);
	if (!cJSON_IsArray(g) || !cJSON_IsArray(s))
		return g;
	out = cJSON_CreateArray();
	if (!out) {
		cJSON_Delete(g);
		return NULL;
	}
	for (se = s->child; (ge = g->child); se = se ? se->next : NULL) {
		cJSON_DetachItemViaPointer(g, ge);
		if (se && cJSON_IsObject(ge) && cJSON_IsObject(se))
			ge = merge(ge, se);
		if (!ge) {
			cJSON_Delete(out);
			cJSON_Delete(g);
			return NULL;
		}
		cJSON_AddItemToArray(out, ge);
	}
	out->string = g->string;
	g->string = NULL;
	cJSON_Delete(g);
	return out;
}

/* merge - object @gen (ours; consumed) laid over @src (as decoded; untouched): the result has
 * @src's keys in @src's order, each with our value where we have one, else the source's (by
 * reference, no copy; dropped when it is an omitempty key of ours we left out; the source's
 * also for the keys we write only as defaults), then our keys the source lacks. @src not an object: @gen as is. Returns the object or NULL (out of memory,
 * @gen freed). */
static cJSON *merge(cJSON *gen, const cJSON *src)
{
	cJSON *out, *g;
	const cJSON *s;

	if (!gen || !cJSON_IsObject(src) || !cJSON_IsObject(gen))
		return gen;
	out = cJSON_CreateObject();
	if (!out)
		goto oom;
	cJSON_ArrayForEach(s, src) {
		if (!s->string)
			continue;
		g = take(gen, s->string);
		if (g && default_only(s->string)) {
			cJSON_Delete(g);
			g = NULL;
		}
		if (g) {
			g = merge_value(g, s);
			if (!g)
				goto oom;
			cJSON_AddItemToArray(out, g); /* keeps g's key */
		} else if (!owned_omitempty(s->string) &&
			   !cJSON_GetObjectItemCaseSensitive(out, s->string) &&
			   !add_reference(out, s)) {
			goto oom; /* (a duplicate of a key already written is dropped) */
		}
	}
	while ((g = gen->child))
		cJSON_AddItemToArray(out, cJSON_DetachItemViaPointer(gen, g));
	out->string = gen->string; /* gen's own key, if it is a member */
	gen->string = NULL;
	cJSON_Delete(gen);
	return out;
oom:
	cJSON_Delete(out);
	cJSON_Delete(gen);
	return NULL;
}

/* The source object of @src in @st, or NULL when it is from another decode. */
static const cJSON *src_of(const struct netstate *st, const struct netstate_src *src)
{
	return st->doc && src->obj && src->gen == st->gen ? src->obj : NULL;
}

/* @parent's member @key when it is an object, else NULL. */
static const cJSON *sub(const cJSON *parent, const char *key)
{
	const cJSON *v = parent ? cJSON_GetObjectItemCaseSensitive(parent, key) : NULL;

	return cJSON_IsObject(v) ? v : NULL;
}

static cJSON *ip_json(const struct ipnet_addr *a)
{
	char buf[IPNET_ADDR_STRLEN] = "";

	if (a->family)
		ipnet_addr_format(a, buf, sizeof(buf));
	return cJSON_CreateString(buf);
}

static cJSON *ipnet_json(const struct ipnet_prefix *p)
{
	cJSON *o = cJSON_CreateObject();
	uint8_t mask[16];
	char *m;
	int n = ipnet_addr_len(&p->addr);

	if (!o)
		return NULL;
	add_member(o, "IP", ip_json(&p->addr));
	if (n == 0) {
		cJSON_AddNullToObject(o, "Mask");
		return o;
	}
	ipnet_mask_bytes(p->addr.family, p->len, mask);
	m = base64_encode(mask, (size_t)n);
	if (!m) {
		watch_failed = true; /* the encode fails (see encode) */
		cJSON_Delete(o);
		return NULL;
	}
	cJSON_AddStringToObject(o, "Mask", m);
	free(m);
	return o;
}

static cJSON *mac_json(const uint8_t mac[6], bool has)
{
	char *s;
	cJSON *j;

	if (!has)
		return cJSON_CreateNull();
	s = base64_encode(mac, 6);
	if (!s) {
		watch_failed = true; /* the encode fails (see encode) */
		return NULL;
	}
	j = cJSON_CreateString(s);
	free(s);
	return j;
}

static cJSON *dns_json(const struct netstate_dns *dns)
{
	cJSON *o = cJSON_CreateObject(), *a;
	const char *opt = dns->options;
	size_t i;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "Suffix", dns->suffix);
	if (dns->n_servers) {
		a = cJSON_AddArrayToObject(o, "Servers");
		for (i = 0; a && i < dns->n_servers; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(dns->servers[i]));
	} else {
		cJSON_AddNullToObject(o, "Servers");
	}
	if (dns->n_options) {
		a = cJSON_AddArrayToObject(o, "Options");
		for (i = 0; a && i < dns->n_options; i++, opt += strlen(opt) + 1)
			cJSON_AddItemToArray(a, cJSON_CreateString(opt));
	} else {
		cJSON_AddNullToObject(o, "Options");
	}
	return o;
}

/* An endpoint's route as network.RouteInfo. */
static cJSON *routeinfo_json(const struct netstate_route *r)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	add_member(o, "Dst", ipnet_json(&r->dst));
	add_member(o, "Src", ip_json(&r->src));
	add_member(o, "Gw", ip_json(&r->gw));
	cJSON_AddNumberToObject(o, "Protocol", r->protocol);
	cJSON_AddStringToObject(o, "DevName", r->dev);
	cJSON_AddNumberToObject(o, "Scope", r->scope);
	cJSON_AddNumberToObject(o, "Priority", r->priority);
	cJSON_AddNumberToObject(o, "Table", r->table);
	return o;
}

/* An external interface's route as netlink.Route (ACN netlink/ip_linux.go): Dst null for a
 * default route, as Go's deserializeRoute leaves it; Tos, Type, Flags and ILinkIndex we do not
 * model: a new route gets a unicast route's values, a decoded one keeps its own (merge). */
static cJSON *nlroute_json(const struct netstate_route *r)
{
	cJSON *o = cJSON_CreateObject();
	bool dflt = r->dst.len == 0;

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "Family", r->dst.addr.family);
	add_member(o, "Dst", dflt ? cJSON_CreateNull() : ipnet_json(&r->dst));
	add_member(o, "Src", ip_json(&r->src));
	add_member(o, "Gw", ip_json(&r->gw));
	cJSON_AddNumberToObject(o, "Tos", 0);
	cJSON_AddNumberToObject(o, "Table", r->table);
	cJSON_AddNumberToObject(o, "Protocol", r->protocol);
	cJSON_AddNumberToObject(o, "Scope", r->scope);
	cJSON_AddNumberToObject(o, "Type", 1); /* RTN_UNICAST */
	cJSON_AddNumberToObject(o, "Flags", 0);
	cJSON_AddNumberToObject(o, "Priority", r->priority);
	cJSON_AddNumberToObject(o, "LinkIndex", r->link_index);
	cJSON_AddNumberToObject(o, "ILinkIndex", 0);
	return o;
}

static cJSON *routes_json(const struct netstate_route *routes, size_t n,
			  cJSON *(*one)(const struct netstate_route *))
{
	cJSON *a;
	size_t i;

	if (n == 0)
		return cJSON_CreateNull();
	a = cJSON_CreateArray();
	for (i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, one(&routes[i]));
	return a;
}

static cJSON *ipnets_json(const struct ipnet_prefix *ips, size_t n)
{
	cJSON *a;
	size_t i;

	if (n == 0)
		return cJSON_CreateNull();
	a = cJSON_CreateArray();
	for (i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, ipnet_json(&ips[i]));
	return a;
}

static void add_str_omitempty(cJSON *o, const char *key, const char *v)
{
	if (v[0])
		cJSON_AddStringToObject(o, key, v);
}

/* The Go defaults of the fields we do not model (what Go's CNI writes for a pod's InfraNIC
 * endpoint), into a new record @o at their places: @part 0 after HostIfName, 1 after VlanID,
 * 2 at the end. */
static void endpoint_defaults(cJSON *o, int part)
{
	if (part == 0) {
		add_member(o, "InfraVnetIP", ipnet_json(&(struct ipnet_prefix){ 0 }));
		cJSON_AddStringToObject(o, "LocalIP", "");
	} else if (part == 1) {
		cJSON_AddFalseToObject(o, "EnableSnatOnHost");
		cJSON_AddFalseToObject(o, "EnableInfraVnet");
		cJSON_AddFalseToObject(o, "EnableMultitenancy");
		cJSON_AddFalseToObject(o, "AllowInboundFromHostToNC");
		cJSON_AddFalseToObject(o, "AllowInboundFromNCToHost");
		cJSON_AddStringToObject(o, "NetworkContainerID", "");
	} else {
		cJSON_AddObjectToObject(o, "SecondaryInterfaces");
		cJSON_AddStringToObject(o, "NICType", "InfraNIC");
	}
}

/* network/endpoint.go "endpoint", in its field order; @src its decoded object or NULL. */
static cJSON *endpoint_json(const struct netstate_endpoint *ep, const cJSON *src)
{
	cJSON *o = cJSON_CreateObject(), *a;
	size_t i;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "Id", ep->id);
	add_str_omitempty(o, "HnsId", ep->hns_id);
	add_str_omitempty(o, "HNSNetworkID", ep->hns_network_id);
	cJSON_AddStringToObject(o, "SandboxKey", ep->sandbox_key);
	cJSON_AddStringToObject(o, "IfName", ep->ifname);
	cJSON_AddStringToObject(o, "HostIfName", ep->host_ifname);
	add_member(o, "MacAddress", mac_json(ep->mac, ep->has_mac));
	if (!src)
		endpoint_defaults(o, 0);
	add_member(o, "IPAddresses", ipnets_json(ep->ips, ep->n_ips));
	if (ep->n_gateways) {
		a = cJSON_AddArrayToObject(o, "Gateways");
		for (i = 0; a && i < ep->n_gateways; i++)
			cJSON_AddItemToArray(a, ip_json(&ep->gateways[i]));
	} else {
		cJSON_AddNullToObject(o, "Gateways");
	}
	add_member(o, "DNS", dns_json(&ep->dns));
	add_member(o, "Routes", routes_json(ep->routes, ep->n_routes, routeinfo_json));
	cJSON_AddNumberToObject(o, "VlanID", ep->vlan_id);
	if (!src)
		endpoint_defaults(o, 1);
	if (ep->netns_key == NETSTATE_NETNS_KEY_NNS) {
		add_str_omitempty(o, "NetworkNameSpace", ep->netns);
	} else if (src) {
		/* the path is in NetNs: a NetworkNameSpace beside it is kept as read */
		const cJSON *nns = cJSON_GetObjectItemCaseSensitive(src, "NetworkNameSpace");

		if (cJSON_IsString(nns))
			add_str_omitempty(o, "NetworkNameSpace", nns->valuestring);
	}
	cJSON_AddStringToObject(o, "ContainerID", ep->container_id);
	add_str_omitempty(o, "PODName", ep->pod_name);
	add_str_omitempty(o, "PODNameSpace", ep->pod_namespace);
	if (ep->netns_key == NETSTATE_NETNS_KEY_NETNS)
		add_str_omitempty(o, "NetNs", ep->netns);
	if (!src)
		endpoint_defaults(o, 2);
	return merge(o, src);
}

/* @ep's source object when it is from this decode and still under its key: parsed from its
 * bytes (into @keep, which holds it until the text is printed), or its object in the tree;
 * else NULL (a new record: netstate_endpoint_put hands a replaced record's source on). */
static const cJSON *endpoint_src(const struct netstate *st, cJSON *keep,
				 const struct netstate_endpoint *ep)
{
	char key[NETSTATE_ID_MAX];
	const cJSON *s;
	cJSON *o;

	if (!ep->src.raw) {
		/* decoded from the tree (an Endpoints object the scan did not index) */
		s = src_of(st, &ep->src);
		return s && s->string && strcmp(s->string, ep->id) == 0 ? s : NULL;
	}
	if (ep->src.gen != st->gen || !st->text ||
	    netscan_unescape(ep->src.key, ep->src.key_len, key, sizeof(key)) < 0 ||
	    strcmp(key, ep->id) != 0)
		return NULL;
	o = cJSON_ParseWithLength(ep->src.raw, ep->src.raw_len);
	if (!o)
		return NULL;
	cJSON_AddItemToArray(keep, o);
	return cJSON_IsObject(o) ? o : NULL;
}

/* ---- Endpoints objects written as text: a record the call did not change is its bytes ---- */

/* The depth of an Endpoints object's members in the document (Network, ExternalInterfaces,
 * <name>, Networks, <id>, Endpoints: 6 objects down from the root), as cJSON_Print indents
 * them with tabs. Our encoder builds that tree, so the depth is fixed. */
#define EPS_DEPTH 7

/* A piece of struct text: owned bytes at an offset of its buffer, or bytes it refers to. */
struct text_piece {
	const char *ref;                    /* NULL: owned, at @off */
	size_t off, len;
};

/* A growing text; failed true once out of memory (then every put is a no-op). With @refs, a
 * text_ref is kept as a reference (a piece), not copied: the text is then its pieces in order,
 * the owned runs between references included (text_pieces). */
struct text {
	char *p;
	size_t len, cap;
	bool failed;
	bool refs;
	struct text_piece *pieces;
	size_t n_pieces, cap_pieces;
	size_t run;                         /* where the owned run not yet a piece starts */
};

/* Room for @more bytes past t->len (and a NUL); false (t->failed) when out of memory. */
static bool text_room(struct text *t, size_t more)
{
	size_t cap;
	char *p;

	if (t->failed)
		return false;
	if (t->len + more + 1 <= t->cap)
		return true;
	cap = (t->len + more + 1) * 2;
	p = realloc(t->p, cap);
	if (!p) {
		t->failed = true;
		return false;
	}
	t->p = p;
	t->cap = cap;
	return true;
}

static void text_put(struct text *t, const char *s, size_t len)
{
	if (!text_room(t, len))
		return;
	memcpy(t->p + t->len, s, len);
	t->len += len;
	t->p[t->len] = '\0';
}

/* A piece more; false (t->failed) when out of memory. */
static bool text_piece(struct text *t, const char *ref, size_t off, size_t len)
{
	if (t->n_pieces == t->cap_pieces) {
		size_t cap = t->cap_pieces ? t->cap_pieces * 2 : 64;
		struct text_piece *v = realloc(t->pieces, cap * sizeof(*v));

		if (!v) {
			t->failed = true;
			return false;
		}
		t->pieces = v;
		t->cap_pieces = cap;
	}
	t->pieces[t->n_pieces++] = (struct text_piece){ .ref = ref, .off = off, .len = len };
	return true;
}

/* The owned bytes since the last piece as a piece of their own. */
static void text_close_run(struct text *t)
{
	if (t->refs && !t->failed && t->len > t->run &&
	    text_piece(t, NULL, t->run, t->len - t->run))
		t->run = t->len;
}

/* @len bytes at @s that outlive @t: referred to (t->refs; bytes that follow the last piece's
 * referred ones extend it) or copied. */
static void text_ref(struct text *t, const char *s, size_t len)
{
	struct text_piece *last;

	if (!t->refs) {
		text_put(t, s, len);
		return;
	}
	text_close_run(t);
	if (t->failed)
		return;
	last = t->n_pieces ? &t->pieces[t->n_pieces - 1] : NULL;
	if (last && last->ref && last->ref + last->len == s && t->run == t->len)
		last->len += len;
	else
		text_piece(t, s, 0, len);
}

static void text_tabs(struct text *t, size_t n)
{
	static const char tabs[] = "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t";

	for (; n > 16; n -= 16)
		text_put(t, tabs, 16);
	text_put(t, tabs, n);
}

/* @s as a JSON string, escaped as cJSON_Print escapes (print_string_ptr): '"', '\\' and the
 * controls with short forms as those, other bytes below 0x20 as \u00xx, the rest as is. */
static void text_string(struct text *t, const char *s)
{
	static const char shortf[] = "\"\\\b\f\n\r\t", letters[] = "\"\\bfnrt";

	text_put(t, "\"", 1);
	for (; *s; s++) {
		const char *e = strchr(shortf, *s);
		char esc[8];

		if (*s != '"' && *s != '\\' && (unsigned char)*s >= 0x20) {
			text_put(t, s, 1);
			continue;
		}
		if (e)
			snprintf(esc, sizeof(esc), "\\%c", letters[e - shortf]);
		else
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)(unsigned char)*s);
		text_put(t, esc, strlen(esc));
	}
	text_put(t, "\"", 1);
}

/* A key read without escapes is the bytes cJSON would print for it (the scan let no '"' or
 * control byte into it). */
static bool key_as_read(const struct netstate_endpoint_head *ep)
{
	return ep->lazy && ep->src.key && !memchr(ep->src.key, '\\', ep->src.key_len) &&
	       ep->src.key_len == strlen(ep->id) && memcmp(ep->src.key, ep->id, ep->src.key_len) == 0;
}

/* Do the bytes from @end (where the text of the record before lazy @ep ended) to @ep's value
 * read what endpoints_text writes between the two, ",\n", the tabs, the key as read and ":\t"?
 * Then the run of records is written as the one range of bytes it was read as. */
static bool follows_as_written(const char *end, const struct netstate_endpoint_head *ep)
{
	static const char sep[] = ",\n\t\t\t\t\t\t\t\"";
	const size_t n = sizeof(sep) - 1;

	_Static_assert(sizeof(sep) - 1 == 3 + EPS_DEPTH, "a member line is EPS_DEPTH tabs in");
	return ep->src.key == end + n && memcmp(end, sep, n) == 0 &&
	       ep->src.raw == ep->src.key + ep->src.key_len + 3 &&
	       memcmp(ep->src.key + ep->src.key_len, "\":\t", 3) == 0;
}

/* The Endpoints object of @net as cJSON_Print writes it at its place (members EPS_DEPTH tabs
 * in): a lazy record is its bytes as read (the scan kept them; they were written at this
 * depth), a run of them that reads as written here one range of the text, any other record is
 * encoded and indented. Into @t (t->failed on out of memory or when a lazy record's bytes are
 * not this decode's). */
static void endpoints_text(const struct netstate *st, cJSON *keep,
			   const struct netstate_network *net, struct text *t)
{
	const char *run_end = NULL; /* the text's bytes of the records just written end here */
	size_t i;

	text_put(t, "{\n", 2);
	for (i = 0; i < net->n_endpoints && !t->failed; i++) {
		const struct netstate_endpoint_head *ep = net->endpoints[i];
		bool ours = ep->lazy && ep->src.raw && ep->src.gen == st->gen && st->text;

		if (ours && run_end && key_as_read(ep) && follows_as_written(run_end, ep)) {
			text_ref(t, run_end, (size_t)(ep->src.raw + ep->src.raw_len - run_end));
			run_end = ep->src.raw + ep->src.raw_len;
			continue;
		}
		run_end = NULL;
		if (i > 0)
			text_put(t, ",\n", 2);
		text_tabs(t, EPS_DEPTH);
		if (key_as_read(ep)) {
			text_put(t, "\"", 1);
			text_put(t, ep->src.key, ep->src.key_len);
			text_put(t, "\"", 1);
		} else {
			text_string(t, ep->id);
		}
		text_put(t, ":\t", 2);
		if (ep->lazy) {
			if (!ours) {
				t->failed = true;
				break;
			}
			text_ref(t, ep->src.raw, ep->src.raw_len);
			run_end = ep->src.raw + ep->src.raw_len;
		} else {
			const struct netstate_endpoint *whole = netstate_endpoint_of(net->endpoints[i]);
			cJSON *e = endpoint_json(whole, endpoint_src(st, keep, whole));
			char *s, *p, *nl;

			cni_json_ints_raw(e);
			s = e ? cJSON_Print(e) : NULL;
			cJSON_Delete(e);
			if (!s) {
				t->failed = true;
				break;
			}
			/* a string never holds a raw newline: each one starts an indented line */
			for (p = s; (nl = strchr(p, '\n')); p = nl + 1) {
				text_put(t, p, (size_t)(nl + 1 - p));
				text_tabs(t, EPS_DEPTH);
			}
			text_put(t, p, strlen(p));
			free(s);
		}
	}
	if (net->n_endpoints)
		text_put(t, "\n", 1);
	text_tabs(t, EPS_DEPTH - 1);
	text_put(t, "}", 1);
}

/* The Endpoints objects of one encode: the tree holds a raw marker "\001<k>\001" for the k-th
 * (no other byte 0x01 is printed: cJSON escapes it in strings), replaced by its text as the
 * printed tree is copied out, so the records' bytes are copied once. */
struct eps_marks {
	const struct netstate_network **nets;
	size_t n;
};

/* A raw marker for @net's Endpoints object, noted in @em; NULL when out of memory. */
static cJSON *endpoints_marker(const struct netstate_network *net, struct eps_marks *em)
{
	const struct netstate_network **v = realloc(em->nets, (em->n + 1) * sizeof(*v));
	char mark[32];

	if (!v)
		return NULL;
	em->nets = v;
	v[em->n] = net;
	snprintf(mark, sizeof(mark), "\001%zu\001", em->n++);
	return cJSON_CreateRaw(mark);
}

/* @skel (printed, with markers) with each marker replaced by its Endpoints object, into @out
 * (out->failed on out of memory, or a lazy record whose bytes are not this decode's). */
static void endpoints_splice(const struct netstate *st, cJSON *keep, const char *skel,
			     const struct eps_marks *em, struct text *out)
{
	const char *p = skel, *m;
	size_t i, j, want = strlen(skel);

	/* one allocation for the common case: every record lazy, its key as read (its bytes
	 * too unless referred to) */
	for (i = 0; i < em->n; i++)
		for (j = 0; j < em->nets[i]->n_endpoints; j++)
			want += (out->refs ? 0 : em->nets[i]->endpoints[j]->src.raw_len) +
				em->nets[i]->endpoints[j]->src.key_len + EPS_DEPTH + 8;
	text_room(out, want);
	while ((m = strchr(p, '\001'))) {
		char *end;
		unsigned long k = strtoul(m + 1, &end, 10);

		if (*end != '\001' || k >= em->n) {
			out->failed = true;
			return; /* not ours: cannot happen (see struct eps_marks) */
		}
		text_put(out, p, (size_t)(m - p));
		endpoints_text(st, keep, em->nets[k], out);
		p = end + 1;
	}
	text_put(out, p, strlen(p));
	text_close_run(out);
}

/* network/network.go "network"; @src its decoded object or NULL. */
static cJSON *network_json(struct eps_marks *em, const struct netstate_network *net,
			   const cJSON *src)
{
	cJSON *o = cJSON_CreateObject(), *a, *eps;
	size_t i;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "Id", net->id);
	add_str_omitempty(o, "HnsId", net->hns_id);
	cJSON_AddStringToObject(o, "Mode", net->mode);
	cJSON_AddNumberToObject(o, "VlanId", net->vlan_id);
	a = cJSON_AddArrayToObject(o, "Subnets");
	for (i = 0; a && i < net->n_subnets; i++) {
		const struct netstate_subnet *s = &net->subnets[i];
		cJSON *so = cJSON_CreateObject();

		if (!so)
			break;
		cJSON_AddNumberToObject(so, "Family", s->family);
		add_member(so, "Prefix", ipnet_json(&s->prefix));
		add_member(so, "Gateway", ip_json(&s->gateway));
		add_member(so, "PrimaryIP", ip_json(&s->primary_ip));
		cJSON_AddItemToArray(a, so);
	}
	eps = endpoints_marker(net, em);
	if (!eps) {
		cJSON_Delete(o);
		return NULL;
	}
	add_member(o, "Endpoints", eps);
	add_member(o, "DNS", dns_json(&net->dns));
	cJSON_AddBoolToObject(o, "EnableSnatOnHost", net->enable_snat_on_host);
	cJSON_AddStringToObject(o, "NetNs", net->netns);
	cJSON_AddStringToObject(o, "SnatBridgeIP", net->snat_bridge_ip);
	return merge(o, src);
}

/* network/network.go "externalInterface"; @src its decoded object or NULL. */
static cJSON *extif_json(const struct netstate *st, struct eps_marks *em,
			 const struct netstate_extif *x, const cJSON *src)
{
	cJSON *o = cJSON_CreateObject(), *a, *nets;
	const cJSON *src_nets = sub(src, "Networks");
	char buf[IPNET_PREFIX_STRLEN];
	size_t i;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "Name", x->name);
	nets = cJSON_AddObjectToObject(o, "Networks");
	for (i = 0; nets && i < x->n_networks; i++) {
		const struct netstate_network *n = &x->networks[i];
		const cJSON *s = src_of(st, &n->src);
		cJSON *j = network_json(em, n, s ? s : sub(src_nets, n->id));

		if (!j) {
			cJSON_Delete(o);
			return NULL;
		}
		add_member(nets, n->id, j);
	}
	if (x->n_subnets) {
		a = cJSON_AddArrayToObject(o, "Subnets");
		for (i = 0; a && i < x->n_subnets; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(ipnet_prefix_format(
						       &x->subnets[i], buf, sizeof(buf))));
	} else {
		cJSON_AddNullToObject(o, "Subnets");
	}
	cJSON_AddStringToObject(o, "BridgeName", x->bridge_name);
	add_member(o, "DNSInfo", dns_json(&x->dns));
	add_member(o, "MacAddress", mac_json(x->mac, x->has_mac));
	add_member(o, "IPAddresses", ipnets_json(x->ips, x->n_ips));
	add_member(o, "Routes", routes_json(x->routes, x->n_routes, nlroute_json));
	add_member(o, "IPv4Gateway", ip_json(&x->ipv4_gateway));
	add_member(o, "IPv6Gateway", ip_json(&x->ipv6_gateway));
	return merge(o, src);
}

/* netstate_encode into @t (t->failed on out of memory; see encode). */
static void encode_tree(const struct netstate *st, const char *version, const char *timestamp,
			struct text *t)
{
	cJSON *root = cJSON_CreateObject(), *net, *xs, *keep = cJSON_CreateArray();
	const cJSON *src_net = sub(st->doc, "Network"), *src_xs = sub(src_net, "ExternalInterfaces");
	struct eps_marks em = { 0 };
	char *skel = NULL;
	size_t i;

	t->failed = true; /* till the text is whole */
	if (!root || !keep)
		goto out;
	net = cJSON_AddObjectToObject(root, "Network");
	if (!net)
		goto out;
	/* network/manager.go networkManager: CnsClient (nil) comes first */
	if (!src_net)
		cJSON_AddNullToObject(net, "CnsClient");
	cJSON_AddStringToObject(net, "Version", version ? version : st->version);
	cJSON_AddStringToObject(net, "TimeStamp", timestamp ? timestamp : st->timestamp);
	xs = cJSON_AddObjectToObject(net, "ExternalInterfaces");
	for (i = 0; xs && i < st->n_extifs; i++) {
		const struct netstate_extif *x = &st->extifs[i];
		const cJSON *s = src_of(st, &x->src);
		cJSON *j = extif_json(st, &em, x, s ? s : sub(src_xs, x->name));

		if (!j)
			goto out;
		add_member(xs, x->name, j);
	}
	root = merge(root, st->doc);
	cni_json_ints_raw(root);
	skel = root ? cJSON_Print(root) : NULL;
	if (skel) {
		t->failed = false;
		endpoints_splice(st, keep, skel, &em, t);
	}
	free(skel);
out:
	cJSON_Delete(root);
	cJSON_Delete(keep); /* after root: root refers into it */
	free(em.nets);
}

/* netstate_encode into @t (t->failed on out of memory, a cJSON builder's included: a field left
 * out for want of memory would be saved as absent). */
static void encode(const struct netstate *st, const char *version, const char *timestamp,
		   struct text *t)
{
	watch_begin();
	encode_tree(st, version, timestamp, t);
	if (watch_end())
		t->failed = true;
}

char *netstate_encode(const struct netstate *st, const char *version, const char *timestamp)
{
	struct text t = { 0 };

	encode(st, version, timestamp, &t);
	free(t.pieces);
	if (t.failed) {
		free(t.p);
		return NULL;
	}
	return t.p;
}

int netstate_encode_parts(const struct netstate *st, const char *version, const char *timestamp,
			  struct netstate_text *ret)
{
	struct text t = { .refs = true };
	size_t i;

	memset(ret, 0, sizeof(*ret));
	encode(st, version, timestamp, &t);
	if (t.failed) {
		free(t.p);
		free(t.pieces);
		return -ENOMEM;
	}
	/* owned offsets become pointers: the buffer moves no more */
	ret->parts = malloc((t.n_pieces ? t.n_pieces : 1) * sizeof(*ret->parts));
	if (!ret->parts) {
		free(t.p);
		free(t.pieces);
		return -ENOMEM;
	}
	for (i = 0; i < t.n_pieces; i++) {
		const struct text_piece *pc = &t.pieces[i];

		ret->parts[i] = (struct netstate_part){ .data = pc->ref ? pc->ref : t.p + pc->off,
							.len = pc->len };
		ret->len += pc->len;
	}
	free(t.pieces);
	ret->n = t.n_pieces;
	ret->own = t.p;
	return 0;
}

void netstate_text_free(struct netstate_text *t)
{
	free(t->parts);
	free(t->own);
	memset(t, 0, sizeof(*t));
}

/* @net's records (its endpoints, heads and every decoded record) freed; none left. */
static void network_free_records(struct netstate_network *net)
{
	size_t i;

	for (i = 0; i < net->n_endpoints; i++)
		free(netstate_endpoint_of(net->endpoints[i]));
	free(net->endpoints);
	free(net->heads);
	net->endpoints = NULL;
	net->heads = NULL;
	net->n_endpoints = 0;
}

void netstate_free(struct netstate *st)
{
	size_t i, j;

	if (!st)
		return;
	for (i = 0; i < st->n_extifs; i++) {
		for (j = 0; j < st->extifs[i].n_networks; j++)
			network_free_records(&st->extifs[i].networks[j]);
		free(st->extifs[i].networks);
	}
	free(st->extifs);
	cJSON_Delete(st->doc);
	if (!st->text_borrowed)
		free(st->text);
	memset(st, 0, sizeof(*st));
}

/* ---- model operations ---- */

char *netstate_endpoint_id(const char *container_id, const char *ifname, char *buf, size_t size)
{
	if (size == 0)
		return buf;
	snprintf(buf, size, "%.8s-%s", container_id ? container_id : "", ifname ? ifname : "");
	return buf;
}

char *netstate_endpoint_key(const char *container_id, const char *ifname, unsigned k, char *buf,
			    size_t size)
{
	if (k == 0)
		return netstate_endpoint_id(container_id, ifname, buf, size);
	if (k == 1)
		snprintf(buf, size, "%.*s:%s", NETSTATE_KEY_CID_MAX, container_id, ifname);
	else
		snprintf(buf, size, "%.*s:%s/%u", NETSTATE_KEY_CID_MAX, container_id, ifname, k);
	return buf;
}

struct netstate_network *netstate_find_network(struct netstate *st, const char *id,
					       struct netstate_extif **ret_extif)
{
	size_t i, j;

	for (i = 0; i < st->n_extifs; i++)
		for (j = 0; j < st->extifs[i].n_networks; j++)
			if (strcmp(st->extifs[i].networks[j].id, id) == 0) {
				if (ret_extif)
					*ret_extif = &st->extifs[i];
				return &st->extifs[i].networks[j];
			}
	return NULL;
}

struct netstate_endpoint *netstate_find_endpoint(struct netstate_network *net, const char *epid)
{
	size_t i;

	for (i = 0; i < net->n_endpoints; i++)
		if (strcmp(net->endpoints[i]->id, epid) == 0)
			return netstate_endpoint_at(net, i);
	errno = 0;
	return NULL;
}

struct netstate_endpoint *netstate_find_endpoint_by_owner(struct netstate_network *net,
							  const char *container_id,
							  const char *ifname)
{
	size_t i;

	for (i = 0; i < net->n_endpoints; i++)
		if (strcmp(net->endpoints[i]->container_id, container_id) == 0 &&
		    strcmp(net->endpoints[i]->ifname, ifname) == 0)
			return netstate_endpoint_at(net, i);
	errno = 0;
	return NULL;
}

struct netstate_extif *netstate_extif_get(struct netstate *st, const char *name)
{
	struct netstate_extif *x;
	size_t i;

	for (i = 0; i < st->n_extifs; i++)
		if (strcmp(st->extifs[i].name, name) == 0)
			return &st->extifs[i];
	x = realloc(st->extifs, (st->n_extifs + 1) * sizeof(*x));
	if (!x)
		return NULL;
	st->extifs = x;
	x = &st->extifs[st->n_extifs++];
	memset(x, 0, sizeof(*x));
	snprintf(x->name, sizeof(x->name), "%s", name);
	return x;
}

struct netstate_network *netstate_network_add(struct netstate_extif *ext,
					      const struct netstate_network *net)
{
	struct netstate_network *n;
	size_t i;

	for (i = 0; i < ext->n_networks; i++)
		if (strcmp(ext->networks[i].id, net->id) == 0)
			return NULL;
	n = realloc(ext->networks, (ext->n_networks + 1) * sizeof(*n));
	if (!n)
		return NULL;
	ext->networks = n;
	n = &ext->networks[ext->n_networks++];
	*n = *net;
	n->endpoints = NULL;
	n->heads = NULL;
	n->n_endpoints = 0;
	return n;
}

int netstate_endpoint_put(struct netstate_network *net, const struct netstate_endpoint *ep)
{
	struct netstate_endpoint *e = netstate_find_endpoint(net, ep->id);
	struct netstate_endpoint_head **v;

	if (!e && errno == ENOMEM)
		return -ENOMEM;
	if (e && ep->id[0]) {
		struct netstate_src was = e->src;
		bool same = strcmp(e->container_id, ep->container_id) == 0;

		*e = *ep;
		if (same && was.gen && was.gen != ep->src.gen)
			e->src = was;
		e->lazy = false;
		return 0;
	}
	v = realloc(net->endpoints, (net->n_endpoints + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	net->endpoints = v;
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	*e = *ep;
	e->lazy = false;
	net->endpoints[net->n_endpoints++] = &e->head;
	return 0;
}

const char *netstate_endpoint_netns(const struct netstate_endpoint *ep)
{
	if (ep->netns[0])
		return ep->netns;
	return ep->sandbox_key[0] == '/' ? ep->sandbox_key : "";
}

int netstate_endpoint_remove(struct netstate_network *net, const char *epid)
{
	size_t i;

	for (i = 0; i < net->n_endpoints; i++)
		if (strcmp(net->endpoints[i]->id, epid) == 0) {
			free(netstate_endpoint_of(net->endpoints[i]));
			memmove(&net->endpoints[i], &net->endpoints[i + 1],
				(net->n_endpoints - i - 1) * sizeof(net->endpoints[0]));
			net->n_endpoints--;
			return 1;
		}
	return 0;
}
