/* SPDX-License-Identifier: MIT */
/* HCN schema 2.0 documents (network, endpoint, namespace modify, queries), the translation of
 * the conflist's v1-shaped endpoint policies to v2, per-ADD DNS, and parsers for HCN answers.
 * Talks to nothing: platform/windows/hcn.c sends what this builds. */
#include "hcndoc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* ASCII-only case-insensitive compare (locale-free, same on Linux and mingw). */
static int ascii_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = (unsigned char)*a, cb = (unsigned char)*b;

		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb || ca == 0)
			return ca - cb;
	}
}

/* true when @needle occurs in @hay, ASCII case-insensitively. */
static bool ascii_casestr(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++) {
		size_t i;

		for (i = 0; i < n; i++) {
			int a = (unsigned char)hay[i], b = (unsigned char)needle[i];

			if (a >= 'A' && a <= 'Z')
				a += 'a' - 'A';
			if (b >= 'A' && b <= 'Z')
				b += 'a' - 'A';
			if (a != b)
				break;
		}
		if (i == n)
			return true;
	}
	return n == 0;
}

static cJSON *schema_version(void)
{
	cJSON *v = cJSON_CreateObject();

	if (!v)
		return NULL;
	if (!cJSON_AddNumberToObject(v, "Major", 2) || !cJSON_AddNumberToObject(v, "Minor", 0)) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

/* Adds {NextHop, DestinationPrefix} to @arr. Returns false on out of memory. */
static bool add_route(cJSON *arr, const struct ipnet_addr *gw, const struct ipnet_prefix *dst)
{
	char gbuf[IPNET_ADDR_STRLEN], dbuf[IPNET_PREFIX_STRLEN];
	cJSON *r = cJSON_CreateObject();

	if (!r)
		return false;
	cJSON_AddItemToArray(arr, r);
	return cJSON_AddStringToObject(r, "NextHop", ipnet_addr_format(gw, gbuf, sizeof(gbuf))) &&
	       cJSON_AddStringToObject(r, "DestinationPrefix",
				       ipnet_prefix_format(dst, dbuf, sizeof(dbuf)));
}

/* A new empty object appended to @arr (which may be NULL); NULL on out of memory. */
static cJSON *append_object(cJSON *arr)
{
	cJSON *o = arr ? cJSON_CreateObject() : NULL;

	if (o && !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		o = NULL;
	}
	return o;
}

static struct ipnet_prefix default_route(int family)
{
	struct ipnet_prefix p;

	memset(&p, 0, sizeof(p));
	p.addr.family = family;
	return p;
}

/* An IPv6 link-local address (fe80::/10): Azure's IPv6 gateway is fe80::1234:5678:9abc. */
static bool link_local6(const struct ipnet_addr *a)
{
	return a->family == IPNET_AF_INET6 && a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80;
}

/* Checks one network subnet and its gateway: both set, the gateway inside (or, IPv6,
 * link-local), an IPv6 subnet at most /64. Returns 0 or -EINVAL (code 7). */
static int subnet_check(const char *name, const struct ipnet_prefix *sn,
			const struct ipnet_addr *gw, struct cni_error *err)
{
	if (!sn->addr.family || gw->family != sn->addr.family ||
	    !(ipnet_prefix_contains(sn, gw) || link_local6(gw)))
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "HCN network %s: needs a subnet and a gateway inside it", name);
	if (sn->addr.family == IPNET_AF_INET6 && sn->len > 64)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "HCN network %s: IPv6 subnet /%d is longer than /64", name,
				     sn->len);
	return 0;
}

/* Appends {IpAddressPrefix, Routes [{NextHop @gw, DestinationPrefix default}]} to @subnets.
 * Returns false on out of memory. */
static bool add_subnet(cJSON *subnets, const struct ipnet_prefix *sn, const struct ipnet_addr *gw)
{
	char buf[IPNET_PREFIX_STRLEN];
	struct ipnet_prefix net = ipnet_prefix_network(sn), dflt = default_route(net.addr.family);
	cJSON *subnet = append_object(subnets), *routes;

	if (!subnet || !cJSON_AddStringToObject(subnet, "IpAddressPrefix",
						ipnet_prefix_format(&net, buf, sizeof(buf))))
		return false;
	routes = cJSON_AddArrayToObject(subnet, "Routes");
	return routes && add_route(routes, gw, &dflt);
}

/* Policies [NetAdapterName {NetworkAdapterName}] of @doc; false on out of memory. */
static bool add_adapter_policy(cJSON *doc, const char *adapter)
{
	cJSON *pols = cJSON_AddArrayToObject(doc, "Policies"), *pol, *settings;

	if (!pols)
		return false;
	/* "vEthernet (...)" is the host vNIC HNS itself made for an earlier switch: naming it as
	 * the adapter fails, the Go plugin clears it the same way. */
	if (!adapter || !adapter[0] || strncmp(adapter, "vEthernet", strlen("vEthernet")) == 0)
		return true;
	pol = append_object(pols);
	if (!pol || !cJSON_AddStringToObject(pol, "Type", "NetAdapterName"))
		return false;
	settings = cJSON_AddObjectToObject(pol, "Settings");
	return settings && cJSON_AddStringToObject(settings, "NetworkAdapterName", adapter);
}

cJSON *hcndoc_network(const struct hcndoc_network *n, struct cni_error *err)
{
	bool dual = n->subnet6.addr.family != 0;
	cJSON *doc, *ipams, *ipam, *subnets;

	if (!n->name || !n->name[0])
		return cni_error_set(err, 0, CNI_CODE_INVALID_CONFIG, "HCN network: no name"), NULL;
	if (subnet_check(n->name, &n->subnet, &n->gateway, err) < 0 ||
	    (dual && subnet_check(n->name, &n->subnet6, &n->gateway6, err) < 0))
		return NULL;
	if (dual && (n->subnet.addr.family != IPNET_AF_INET ||
		     n->subnet6.addr.family != IPNET_AF_INET6))
		return cni_error_set(err, 0, CNI_CODE_INVALID_CONFIG,
				     "HCN network %s: dual-stack needs an IPv4 and an IPv6 subnet",
				     n->name), NULL;

	doc = cJSON_CreateObject();
	if (!doc)
		goto oom;
	cJSON_AddItemToObject(doc, "SchemaVersion", schema_version());
	cJSON_AddStringToObject(doc, "Name", n->name);
	cJSON_AddStringToObject(doc, "Type", "L2Bridge");
	cJSON_AddNumberToObject(doc, "Flags", HCNDOC_NETWORK_FLAG_NON_PERSISTENT);
	ipams = cJSON_AddArrayToObject(doc, "Ipams");
	ipam = append_object(ipams);
	if (!ipam || !cJSON_AddStringToObject(ipam, "Type", "Static"))
		goto oom;
	subnets = cJSON_AddArrayToObject(ipam, "Subnets");
	if (!subnets || !add_subnet(subnets, &n->subnet, &n->gateway) ||
	    (dual && !add_subnet(subnets, &n->subnet6, &n->gateway6)))
		goto oom;
	if (!add_adapter_policy(doc, n->adapter_name))
		goto oom;
	/* cJSON_Add* on a full heap returns NULL but leaves the document consistent: check the
	 * members once instead of after every call. */
	if (!cJSON_GetObjectItemCaseSensitive(doc, "SchemaVersion") ||
	    !cJSON_GetObjectItemCaseSensitive(doc, "Flags"))
		goto oom;
	return doc;

oom:
	cJSON_Delete(doc);
	return cni_error_set(err, 0, CNI_CODE_INTERNAL, "out of memory building the HCN network"),
	       NULL;
}

static bool add_string_array(cJSON *obj, const char *key, const char (*items)[CNI_NAME_MAX],
			     size_t n)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, key);
	size_t i;

	if (!arr)
		return false;
	for (i = 0; i < n; i++) {
		cJSON *s = cJSON_CreateString(items[i]);

		if (!s)
			return false;
		cJSON_AddItemToArray(arr, s);
	}
	return true;
}

/* Dns {Domain (when set), Search, ServerList, Options} of @dns into @doc; false on out of
 * memory. (ServerList rows are address-wide, not add_string_array's.) */
static bool add_dns(cJSON *doc, const struct cni_dns *dns)
{
	cJSON *o = cJSON_AddObjectToObject(doc, "Dns"), *servers;

	if (!o || (dns->domain[0] && !cJSON_AddStringToObject(o, "Domain", dns->domain)) ||
	    !add_string_array(o, "Search", dns->search, dns->n_search))
		return false;
	servers = cJSON_AddArrayToObject(o, "ServerList");
	if (!servers)
		return false;
	for (size_t i = 0; i < dns->n_nameservers; i++) {
		cJSON *s = cJSON_CreateString(dns->nameservers[i]);

		if (!s)
			return false;
		cJSON_AddItemToArray(servers, s);
	}
	return add_string_array(o, "Options", dns->options, dns->n_options);
}

/* Code 7 unless the IPs of @r hold at most one address per family (HNS: one IPv4 and one IPv6
 * address per endpoint, ACN network/endpoint_windows.go). */
static int one_per_family(const char *name, const struct cni_result *r, struct cni_error *err)
{
	unsigned seen = 0;

	for (size_t i = 0; i < r->n_ips; i++) {
		unsigned bit = r->ips[i].address.addr.family == IPNET_AF_INET6 ? 2u : 1u;

		if (seen & bit)
			return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
					     "HCN endpoint %s: more than one IPv%c address (HNS takes "
					     "one per family)", name, bit == 2 ? '6' : '4');
		seen |= bit;
	}
	return 0;
}

/* Routes of @r into @routes: each route with a gateway of its destination's family, then, for
 * each family of the IPs that has a gateway but got no route, its default route. False on out
 * of memory. */
static bool add_endpoint_routes(cJSON *routes, const struct cni_result *r)
{
	unsigned routed = 0;
	size_t i;

	for (i = 0; i < r->n_routes; i++) {
		if (!r->routes[i].gw.family || r->routes[i].gw.family != r->routes[i].dst.addr.family)
			continue; /* HCN routes need a NextHop of their family */
		if (!add_route(routes, &r->routes[i].gw, &r->routes[i].dst))
			return false;
		routed |= r->routes[i].dst.addr.family == IPNET_AF_INET6 ? 2u : 1u;
	}
	/* IPAM gave a gateway but no route: the pod still needs its default route (Go: IPAM's
	 * 0.0.0.0/0 via gw; CNS's ::/0 via its IPv6 gateway). */
	for (i = 0; i < r->n_ips; i++) {
		int fam = r->ips[i].address.addr.family;
		struct ipnet_prefix dflt = default_route(fam);

		if (!r->ips[i].gateway.family || r->ips[i].gateway.family != fam ||
		    (routed & (fam == IPNET_AF_INET6 ? 2u : 1u)))
			continue;
		if (!add_route(routes, &r->ips[i].gateway, &dflt))
			return false;
	}
	return true;
}

cJSON *hcndoc_endpoint(const struct hcndoc_endpoint *e, struct cni_error *err)
{
	char buf[IPNET_ADDR_STRLEN];
	const struct cni_result *r = e->ipam;
	cJSON *doc, *ipcs, *routes;
	size_t i;

	if (!e->network_id || !e->network_id[0])
		return cni_error_set(err, 0, CNI_CODE_INVALID_CONFIG,
				     "HCN endpoint %s: no network ID", e->name ? e->name : ""),
		       NULL;
	if (!r || r->n_ips == 0)
		return cni_error_set(err, 0, CNI_CODE_INVALID_CONFIG,
				     "HCN endpoint %s: no IP address from IPAM", e->name ? e->name : ""),
		       NULL;
	if (one_per_family(e->name ? e->name : "", r, err) < 0)
		return NULL;

	doc = cJSON_CreateObject();
	if (!doc)
		goto oom;
	cJSON_AddItemToObject(doc, "SchemaVersion", schema_version());
	cJSON_AddStringToObject(doc, "Name", e->name ? e->name : "");
	cJSON_AddStringToObject(doc, "HostComputeNetwork", e->network_id);
	ipcs = cJSON_AddArrayToObject(doc, "IpConfigurations");
	routes = cJSON_AddArrayToObject(doc, "Routes");
	if (!ipcs || !routes)
		goto oom;
	for (i = 0; i < r->n_ips; i++) {
		cJSON *ipc = cJSON_CreateObject();

		if (!ipc)
			goto oom;
		cJSON_AddItemToArray(ipcs, ipc);
		if (!cJSON_AddStringToObject(ipc, "IpAddress",
					     ipnet_addr_format(&r->ips[i].address.addr, buf, sizeof(buf))) ||
		    !cJSON_AddNumberToObject(ipc, "PrefixLength", r->ips[i].address.len))
			goto oom;
	}
	if (!add_endpoint_routes(routes, r))
		goto oom;
	if (e->dns && !add_dns(doc, e->dns))
		goto oom;
	if (e->policies) {
		cJSON *copy = cJSON_Duplicate(e->policies, true);

		if (!copy)
			goto oom;
		cJSON_AddItemToObject(doc, "Policies", copy);
	} else if (!cJSON_AddArrayToObject(doc, "Policies")) {
		goto oom;
	}
	if (!cJSON_GetObjectItemCaseSensitive(doc, "SchemaVersion") ||
	    !cJSON_GetObjectItemCaseSensitive(doc, "HostComputeNetwork"))
		goto oom;
	return doc;

oom:
	cJSON_Delete(doc);
	return cni_error_set(err, 0, CNI_CODE_INTERNAL, "out of memory building the HCN endpoint"),
	       NULL;
}

/* ---- policies ---- */

/* An error about AdditionalArgs entry @idx. Always returns -EINVAL. */
#define POLICY_ERR(err, idx, ...)                                                          \
	(cni_error_set((err), -EINVAL, CNI_CODE_INVALID_CONFIG, __VA_ARGS__),              \
	 cni_error_details((err), "AdditionalArgs[%zu]", (idx)), -EINVAL)

/* new {Type, Settings{}} appended to @arr; returns Settings or NULL on out of memory. */
static cJSON *policy_new(cJSON *arr, const char *type)
{
	cJSON *p = cJSON_CreateObject(), *s;

	if (!p)
		return NULL;
	cJSON_AddItemToArray(arr, p);
	if (!cJSON_AddStringToObject(p, "Type", type))
		return NULL;
	s = cJSON_AddObjectToObject(p, "Settings");
	return s;
}

/* Optional string member @key of @v (any case): copy it to @out as @out_key, validated as a
 * prefix (kind 'p'), an address ('a') or free text (0). Returns 0, 1 when absent, or -EINVAL. */
static int copy_string(const cJSON *v, const char *key, cJSON *out, const char *out_key, int kind)
{
	const cJSON *m = cJSON_GetObjectItem(v, key);
	struct ipnet_prefix p;
	struct ipnet_addr a;

	if (!m || cJSON_IsNull(m))
		return 1;
	if (!cJSON_IsString(m))
		return -EINVAL;
	if (kind == 'p' && ipnet_prefix_parse(m->valuestring, true, &p) < 0)
		return -EINVAL;
	if (kind == 'a' && ipnet_addr_parse(m->valuestring, &a) < 0)
		return -EINVAL;
	return cJSON_AddStringToObject(out, out_key, m->valuestring) ? 0 : -ENOMEM;
}

/* Optional member @key holding a string, or a number 0..max that is written as its decimal
 * text (v1 ACL ports and protocol numbers are numbers, v2 wants strings). Same returns. */
static int copy_string_or_number(const cJSON *v, const char *key, cJSON *out, const char *out_key,
				 double max)
{
	const cJSON *m = cJSON_GetObjectItem(v, key);
	char buf[32];

	if (!m || cJSON_IsNull(m))
		return 1;
	if (cJSON_IsString(m))
		return cJSON_AddStringToObject(out, out_key, m->valuestring) ? 0 : -ENOMEM;
	if (!cJSON_IsNumber(m) || m->valuedouble < 0 || m->valuedouble > max ||
	    m->valuedouble != (double)(long)m->valuedouble)
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%ld", (long)m->valuedouble);
	return cJSON_AddStringToObject(out, out_key, buf) ? 0 : -ENOMEM;
}

/* A v1 OutBoundNAT {ExceptionList, VirtualIP} -> Settings {Exceptions, VirtualIP}. */
static int policy_outbound_nat(const cJSON *v, cJSON *arr, size_t idx, struct cni_error *err)
{
	const cJSON *list = cJSON_GetObjectItem(v, "ExceptionList"), *it;
	cJSON *s = policy_new(arr, "OutBoundNAT"), *ex;
	int r;

	if (!s)
		return -ENOMEM;
	ex = cJSON_AddArrayToObject(s, "Exceptions");
	if (!ex)
		return -ENOMEM;
	if (list && !cJSON_IsNull(list)) {
		if (!cJSON_IsArray(list))
			return POLICY_ERR(err, idx, "OutBoundNAT ExceptionList must be an array of CIDRs");
		cJSON_ArrayForEach(it, list) {
			struct ipnet_prefix p;
			cJSON *c;

			if (!cJSON_IsString(it) || ipnet_prefix_parse(it->valuestring, true, &p) < 0)
				return POLICY_ERR(err, idx, "OutBoundNAT ExceptionList: invalid CIDR %s",
						  cJSON_IsString(it) ? it->valuestring : "(not a string)");
			c = cJSON_CreateString(it->valuestring);
			if (!c)
				return -ENOMEM;
			cJSON_AddItemToArray(ex, c);
		}
	}
	r = copy_string(v, "VirtualIP", s, "VirtualIP", 'a');
	if (r == -EINVAL)
		return POLICY_ERR(err, idx, "OutBoundNAT VirtualIP must be an IP address");
	return r < 0 ? r : 0;
}

/* A v1 ROUTE {DestinationPrefix, NeedEncap, NextHop} -> SDNRoute. */
static int policy_route(const cJSON *v, cJSON *arr, size_t idx, struct cni_error *err)
{
	const cJSON *encap = cJSON_GetObjectItem(v, "NeedEncap");
	cJSON *s = policy_new(arr, "SDNRoute");
	int r;

	if (!s)
		return -ENOMEM;
	r = copy_string(v, "DestinationPrefix", s, "DestinationPrefix", 'p');
	if (r != 0)
		return r == -ENOMEM ? r
				    : POLICY_ERR(err, idx, "ROUTE needs DestinationPrefix (a CIDR)");
	r = copy_string(v, "NextHop", s, "NextHop", 'a');
	if (r == -EINVAL)
		return POLICY_ERR(err, idx, "ROUTE NextHop must be an IP address");
	if (r < 0)
		return r;
	if (encap && !cJSON_IsNull(encap)) {
		if (!cJSON_IsBool(encap))
			return POLICY_ERR(err, idx, "ROUTE NeedEncap must be true or false");
		if (!cJSON_AddBoolToObject(s, "NeedEncap", cJSON_IsTrue(encap)))
			return -ENOMEM;
	}
	return 0;
}

static bool one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (ascii_casecmp(s, *set) == 0)
			return true;
	return false;
}

/* A v1 ACL -> ACL Settings {Protocols, Action, Direction, Local/RemoteAddresses,
 * Local/RemotePorts, RuleType, Priority}. */
static int policy_acl(const cJSON *v, cJSON *arr, size_t idx, struct cni_error *err)
{
	static const char *const actions[] = { "Allow", "Block", "Pass", NULL };
	static const char *const directions[] = { "In", "Out", NULL };
	static const char *const rule_types[] = { "Host", "Switch", NULL };
	const char *action = cni_json_string(v, "Action"), *dir = cni_json_string(v, "Direction");
	const char *rule_type = cni_json_string(v, "RuleType");
	const cJSON *prio = cJSON_GetObjectItem(v, "Priority");
	cJSON *s;
	int r;

	if (!action || !one_of(action, actions))
		return POLICY_ERR(err, idx, "ACL Action must be Allow, Block or Pass");
	if (!dir || !one_of(dir, directions))
		return POLICY_ERR(err, idx, "ACL Direction must be In or Out");
	if (cJSON_GetObjectItem(v, "RuleType") && (!rule_type || !one_of(rule_type, rule_types)))
		return POLICY_ERR(err, idx, "ACL RuleType must be Host or Switch");
	s = policy_new(arr, "ACL");
	if (!s)
		return -ENOMEM;
	r = copy_string_or_number(v, "Protocols", s, "Protocols", 255);
	if (r == 1)
		r = copy_string_or_number(v, "Protocol", s, "Protocols", 255);
	if (r == -EINVAL)
		return POLICY_ERR(err, idx, "ACL Protocols must be a string or a protocol number");
	if (r < 0)
		return r;
	if (!cJSON_AddStringToObject(s, "Action", action) ||
	    !cJSON_AddStringToObject(s, "Direction", dir))
		return -ENOMEM;
	r = copy_string(v, "LocalAddresses", s, "LocalAddresses", 0);
	if (r >= 0)
		r = copy_string(v, "RemoteAddresses", s, "RemoteAddresses", 0);
	if (r == -EINVAL)
		return POLICY_ERR(err, idx, "ACL addresses must be strings");
	if (r < 0)
		return r;
	r = copy_string_or_number(v, "LocalPorts", s, "LocalPorts", 65535);
	if (r == 1)
		r = copy_string_or_number(v, "LocalPort", s, "LocalPorts", 65535);
	if (r >= 0) {
		r = copy_string_or_number(v, "RemotePorts", s, "RemotePorts", 65535);
		if (r == 1)
			r = copy_string_or_number(v, "RemotePort", s, "RemotePorts", 65535);
	}
	if (r == -EINVAL)
		return POLICY_ERR(err, idx, "ACL ports must be strings or port numbers");
	if (r < 0)
		return r;
	if (rule_type && !cJSON_AddStringToObject(s, "RuleType", rule_type))
		return -ENOMEM;
	if (prio && !cJSON_IsNull(prio)) {
		if (!cJSON_IsNumber(prio) || prio->valuedouble < 0 || prio->valuedouble > 65535)
			return POLICY_ERR(err, idx, "ACL Priority must be a number 0..65535");
		if (!cJSON_AddNumberToObject(s, "Priority", (int)prio->valuedouble))
			return -ENOMEM;
	}
	return 0;
}

/* OutBoundNAT {[VirtualIP @vip,] Destinations [@dst]} appended to @arr (@vip NULL: none). */
static int policy_nat_to(cJSON *arr, const char *vip, const char *dst)
{
	cJSON *s = policy_new(arr, "OutBoundNAT"), *d, *c;

	if (!s || (vip && !cJSON_AddStringToObject(s, "VirtualIP", vip)))
		return -ENOMEM;
	d = cJSON_AddArrayToObject(s, "Destinations");
	c = cJSON_CreateString(dst);
	if (!d || !c) {
		cJSON_Delete(c);
		return -ENOMEM;
	}
	cJSON_AddItemToArray(d, c);
	return 0;
}

/* OutBoundNAT {Destinations [ip]}: loopback DSR (the pod reaches itself through a service VIP). */
static int policy_dsr(const char *ip, cJSON *arr)
{
	return policy_nat_to(arr, NULL, ip);
}

int hcndoc_swift_nat(cJSON *policies, const struct ipnet_addr *nc_primary)
{
	char vip[IPNET_ADDR_STRLEN];
	int r;

	ipnet_addr_format(nc_primary, vip, sizeof(vip));
	r = policy_nat_to(policies, vip, HCNDOC_AZURE_DNS);
	return r < 0 ? r : policy_nat_to(policies, NULL, HCNDOC_AZURE_IMDS);
}

/* One AdditionalArgs EndpointPolicy value into @arr. */
static int policy_entry(const cJSON *v, cJSON *arr, size_t idx, struct cni_error *err)
{
	const cJSON *settings;
	const char *type;
	cJSON *p, *copy;

	if (!cJSON_IsObject(v))
		return POLICY_ERR(err, idx, "EndpointPolicy Value must be a JSON object");
	type = cni_json_string(v, "Type");
	if (!type || !type[0])
		return POLICY_ERR(err, idx, "EndpointPolicy Value needs a Type");
	settings = cJSON_GetObjectItem(v, "Settings");
	if (settings && !cJSON_IsNull(settings)) {
		/* v2 shape: HCN validates the settings of its own types */
		if (!cJSON_IsObject(settings))
			return POLICY_ERR(err, idx, "EndpointPolicy %s: Settings must be an object", type);
		p = cJSON_CreateObject();
		copy = cJSON_Duplicate(settings, true);
		if (!p || !copy) {
			cJSON_Delete(p);
			cJSON_Delete(copy);
			return -ENOMEM;
		}
		cJSON_AddItemToArray(arr, p);
		if (!cJSON_AddStringToObject(p, "Type", type)) {
			cJSON_Delete(copy);
			return -ENOMEM;
		}
		cJSON_AddItemToObject(p, "Settings", copy);
		return 0;
	}
	if (ascii_casecmp(type, "OutBoundNAT") == 0)
		return policy_outbound_nat(v, arr, idx, err);
	if (ascii_casecmp(type, "ROUTE") == 0 || ascii_casecmp(type, "SDNRoute") == 0)
		return policy_route(v, arr, idx, err);
	if (ascii_casecmp(type, "ACL") == 0 || cni_json_string(v, "Action"))
		return policy_acl(v, arr, idx, err);
	if (ascii_casecmp(type, "LoopbackDSR") == 0) {
		const char *ip = cni_json_string(v, "IPAddress");
		struct ipnet_addr a;

		if (!ip || ipnet_addr_parse(ip, &a) < 0)
			return POLICY_ERR(err, idx, "LoopbackDSR needs IPAddress (an IP address)");
		return policy_dsr(ip, arr);
	}
	if (ascii_casecmp(type, "L4WFPPROXY") == 0) {
		cJSON *s;

		copy = cJSON_Duplicate(v, true);
		if (!copy)
			return -ENOMEM;
		/* every key spelling of Type goes: cJSON_DeleteItemFromObject is case-insensitive */
		while (cJSON_GetObjectItem(copy, "Type"))
			cJSON_DeleteItemFromObject(copy, "Type");
		s = cJSON_CreateObject();
		if (!s) {
			cJSON_Delete(copy);
			return -ENOMEM;
		}
		cJSON_AddItemToArray(arr, s);
		if (!cJSON_AddStringToObject(s, "Type", "L4WFPPROXY")) {
			cJSON_Delete(copy);
			return -ENOMEM;
		}
		cJSON_AddItemToObject(s, "Settings", copy);
		return 0;
	}
	return POLICY_ERR(err, idx, "EndpointPolicy type %s is not supported in the v1 shape "
			  "(give it as {\"Type\":..., \"Settings\":{...}})", type);
}

static bool prefix_covers(const char *text, const struct ipnet_prefix *r)
{
	struct ipnet_prefix p;

	if (ipnet_prefix_parse(text, true, &p) < 0)
		return false;
	return p.addr.family == r->addr.family && p.len <= r->len &&
	       ipnet_prefix_contains(&p, &r->addr);
}

/* Appends each range of @ranges of @family to @ex unless an entry already covers it. */
static int add_exceptions(cJSON *ex, const struct ipnet_prefix *ranges, size_t n, int family)
{
	char buf[IPNET_PREFIX_STRLEN];
	size_t i;

	for (i = 0; i < n; i++) {
		struct ipnet_prefix net = ipnet_prefix_network(&ranges[i]);
		const cJSON *it;
		bool covered = false;
		cJSON *c;

		if (net.addr.family != family)
			continue;
		cJSON_ArrayForEach(it, ex)
			if (cJSON_IsString(it) && prefix_covers(it->valuestring, &net))
				covered = true;
		if (covered)
			continue;
		c = cJSON_CreateString(ipnet_prefix_format(&net, buf, sizeof(buf)));
		if (!c)
			return -ENOMEM;
		cJSON_AddItemToArray(ex, c);
	}
	return 0;
}

/* true when Exceptions array @ex holds a range of @family. */
static bool exceptions_of_family(const cJSON *ex, int family)
{
	const cJSON *it;
	struct ipnet_prefix p;

	cJSON_ArrayForEach(it, ex)
		if (cJSON_IsString(it) && ipnet_prefix_parse(it->valuestring, true, &p) == 0 &&
		    p.addr.family == family)
			return true;
	return false;
}

/* The SNAT OutBoundNAT of @arr for @family: the first OutBoundNAT without Destinations (those
 * are DSR); for IPv6 only one whose Exceptions already hold an IPv6 range, for IPv4 one whose
 * Exceptions hold an IPv4 range or no IPv6 one (the IPv4 one never gets IPv6 exceptions nor the
 * IPv6 one IPv4 ones, whichever the conflist lists first: ACN keeps them apart). */
static cJSON *find_snat(cJSON *arr, int family)
{
	cJSON *p;

	cJSON_ArrayForEach(p, arr) {
		const char *type = cni_json_string(p, "Type");
		cJSON *s = cJSON_GetObjectItem(p, "Settings"), *ex;

		if (!type || ascii_casecmp(type, "OutBoundNAT") != 0 || !cJSON_IsObject(s) ||
		    cJSON_GetObjectItem(s, "Destinations"))
			continue;
		ex = cJSON_GetObjectItem(s, "Exceptions");
		if (family == IPNET_AF_INET6 ? exceptions_of_family(ex, IPNET_AF_INET6)
					     : (exceptions_of_family(ex, IPNET_AF_INET) ||
						!exceptions_of_family(ex, IPNET_AF_INET6)))
			return s;
	}
	return NULL;
}

/* PortMapping of @pm into @arr; @v6 (a dual-stack pod's second mapping of a @pm without hostIP):
 * Flags 2 (IPv6). */
static int policy_portmap(const struct conf_portmap *pm, cJSON *arr, size_t idx, bool v6,
			  struct cni_error *err)
{
	struct ipnet_addr vip;
	int proto, flags = v6 ? HCNDOC_NAT_FLAG_IPV6 : HCNDOC_NAT_FLAG_LOCAL_ROUTED_VIP;
	cJSON *s;

	if (ascii_casecmp(pm->protocol, "tcp") == 0 || !pm->protocol[0])
		proto = HCNDOC_PROTO_TCP;
	else if (ascii_casecmp(pm->protocol, "udp") == 0)
		proto = HCNDOC_PROTO_UDP;
	else
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "runtimeConfig.portMappings[%zu]: protocol %s is not supported "
				     "by HNS (tcp or udp)", idx, pm->protocol);
	if (pm->host_port < 1 || pm->host_port > 65535 || pm->container_port < 1 ||
	    pm->container_port > 65535)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "runtimeConfig.portMappings[%zu]: ports must be 1..65535", idx);
	memset(&vip, 0, sizeof(vip));
	if (pm->host_ip[0]) {
		if (ipnet_addr_parse(pm->host_ip, &vip) < 0)
			return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
					     "runtimeConfig.portMappings[%zu]: invalid hostIP %s", idx,
					     pm->host_ip);
		if (vip.family == IPNET_AF_INET6)
			flags = HCNDOC_NAT_FLAG_IPV6;  /* as ACN getPoliciesFromRuntimeCfg: 2 alone */
	}
	s = policy_new(arr, "PortMapping");
	if (!s)
		return -ENOMEM;
	if (!cJSON_AddNumberToObject(s, "InternalPort", pm->container_port) ||
	    !cJSON_AddNumberToObject(s, "ExternalPort", pm->host_port) ||
	    !cJSON_AddNumberToObject(s, "Protocol", proto) ||
	    !cJSON_AddNumberToObject(s, "Flags", flags) ||
	    (pm->host_ip[0] && !cJSON_AddStringToObject(s, "VIP", pm->host_ip)))
		return -ENOMEM;
	return 0;
}

int hcndoc_policies(const struct conf *conf, const struct ipnet_prefix *subnet,
		    const struct ipnet_addr *pod_ip, cJSON **ret_policies, struct cni_error *err)
{
	struct ipnet_prefix ranges[CONF_MAX_LIST + 1];
	size_t i, n_ranges = 0;
	cJSON *arr = cJSON_CreateArray(), *snat;
	int r = -ENOMEM, family = subnet && subnet->addr.family ? subnet->addr.family : IPNET_AF_INET;

	if (!arr)
		goto fail;
	for (i = 0; i < conf->n_policies; i++) {
		if (!ascii_casestr(conf->policies[i].name, "EndpointPolicy"))
			continue;
		r = policy_entry(conf->policies[i].value, arr, i, err);
		if (r < 0)
			goto fail;
	}
	if (conf->outbound_snat) {
		if (subnet && subnet->addr.family)
			ranges[n_ranges++] = *subnet;
		for (i = 0; i < conf->n_vnet_cidrs && n_ranges < CONF_MAX_LIST + 1; i++)
			ranges[n_ranges++] = conf->vnet_cidrs[i];
		snat = find_snat(arr, family);
		if (!snat) {
			r = -ENOMEM;
			snat = policy_new(arr, "OutBoundNAT");
			if (!snat)
				goto fail;
		}
		if (!cJSON_GetObjectItem(snat, "Exceptions") &&
		    !cJSON_AddArrayToObject(snat, "Exceptions")) {
			r = -ENOMEM;
			goto fail;
		}
		if (!cJSON_IsArray(cJSON_GetObjectItem(snat, "Exceptions"))) {
			r = cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
					  "OutBoundNAT Settings.Exceptions must be an array");
			goto fail;
		}
		r = add_exceptions(cJSON_GetObjectItem(snat, "Exceptions"), ranges, n_ranges,
				   family);
		if (r < 0)
			goto fail;
	}
	if (conf->enable_loopback_dsr && pod_ip && pod_ip->family) {
		char buf[IPNET_ADDR_STRLEN];

		r = policy_dsr(ipnet_addr_format(pod_ip, buf, sizeof(buf)), arr);
		if (r < 0)
			goto fail;
	}
	for (i = 0; i < conf->n_portmaps; i++) {
		r = policy_portmap(&conf->portmaps[i], arr, i, false, err);
		if (r < 0)
			goto fail;
	}
	*ret_policies = arr;
	return 0;

fail:
	cJSON_Delete(arr);
	if (r == -ENOMEM)
		cni_error_set(err, r, CNI_CODE_INTERNAL, "out of memory building HCN policies");
	return r;
}

int hcndoc_policies_v6(const struct conf *conf, const struct ipnet_prefix *subnet6,
		       cJSON *policies, struct cni_error *err)
{
	struct ipnet_prefix ranges[CONF_MAX_LIST + 1];
	size_t i, n = 0;
	cJSON *snat, *ex;

	if (conf->outbound_snat) {
		if (subnet6 && subnet6->addr.family == IPNET_AF_INET6)
			ranges[n++] = *subnet6;
		for (i = 0; i < conf->n_vnet_cidrs && n < CONF_MAX_LIST + 1; i++)
			ranges[n++] = conf->vnet_cidrs[i];
		snat = find_snat(policies, IPNET_AF_INET6);
		if (!snat)
			snat = policy_new(policies, "OutBoundNAT");
		ex = snat ? cJSON_GetObjectItem(snat, "Exceptions") : NULL;
		if (snat && !ex)
			ex = cJSON_AddArrayToObject(snat, "Exceptions");
		if (!ex || add_exceptions(ex, ranges, n, IPNET_AF_INET6) < 0)
			goto oom;
	}
	for (i = 0; i < conf->n_portmaps; i++)
		if (!conf->portmaps[i].host_ip[0] &&
		    policy_portmap(&conf->portmaps[i], policies, i, true, err) < 0)
			goto oom; /* hcndoc_policies checked the entry: only memory can fail */
	return 0;

oom:
	return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory building HCN policies");
}

/* ---- DNS ---- */

int hcndoc_dns(const struct conf *conf, const char *pod_namespace, const struct cni_dns *ipam_dns,
	       struct cni_dns *ret, struct cni_error *err)
{
	const struct cni_dns *d = &conf->dns;
	struct cni_dns out;
	size_t i;

	memset(&out, 0, sizeof(out));
	/* Go getEndpointDNSSettings: getCustomDNS wins when it has servers or a search suffix */
	if (conf->has_runtime_dns &&
	    (conf->runtime_dns.n_nameservers > 0 || conf->runtime_dns.n_search > 0)) {
		out = conf->runtime_dns;
		out.domain[0] = '\0';
		*ret = out;
		return 0;
	}
	if ((d->n_nameservers > 0) != (d->n_search > 0))
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "Wrong DNS configuration: dns Nameservers and Search must both be "
				     "set or both be empty");
	if (d->n_search > 0) {
		for (i = 0; i < d->n_nameservers; i++)
			memcpy(out.nameservers[i], d->nameservers[i], sizeof(out.nameservers[i]));
		out.n_nameservers = d->n_nameservers;
		for (i = 0; i < d->n_search; i++) {
			int n;

			if (i == 0 && pod_namespace && pod_namespace[0])
				n = snprintf(out.search[0], sizeof(out.search[0]), "%s.%s",
					     pod_namespace, d->search[0]);
			else
				n = snprintf(out.search[i], sizeof(out.search[i]), "%s", d->search[i]);
			if (n < 0 || (size_t)n >= sizeof(out.search[i]))
				return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
						     "dns Search entry too long: %s", d->search[i]);
		}
		out.n_search = d->n_search;
	} else if (ipam_dns) {
		memcpy(out.nameservers, ipam_dns->nameservers, sizeof(out.nameservers));
		out.n_nameservers = ipam_dns->n_nameservers;
		memcpy(out.search, ipam_dns->search, sizeof(out.search));
		out.n_search = ipam_dns->n_search;
	}
	memcpy(out.options, d->options, sizeof(out.options));
	out.n_options = d->n_options;
	*ret = out;
	return 0;
}

/* ---- small documents ---- */

cJSON *hcndoc_namespace_modify(const char *endpoint_id, bool add)
{
	cJSON *doc = cJSON_CreateObject(), *s;

	if (!doc)
		return NULL;
	if (!cJSON_AddStringToObject(doc, "ResourceType", "Endpoint") ||
	    !cJSON_AddStringToObject(doc, "RequestType", add ? "Add" : "Remove") ||
	    !(s = cJSON_AddObjectToObject(doc, "Settings")) ||
	    !cJSON_AddStringToObject(s, "EndpointId", endpoint_id)) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

cJSON *hcndoc_query_all(void)
{
	cJSON *doc = cJSON_CreateObject(), *v = schema_version();

	if (!doc || !v) {
		cJSON_Delete(doc);
		cJSON_Delete(v);
		return NULL;
	}
	cJSON_AddItemToObject(doc, "SchemaVersion", v);
	if (!cJSON_AddNumberToObject(doc, "Flags", 0)) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

cJSON *hcndoc_query_name(const char *name)
{
	cJSON *doc = hcndoc_query_all(), *filter = cJSON_CreateObject();
	char *text = NULL;

	if (!doc || !filter || !cJSON_AddStringToObject(filter, "Name", name))
		goto fail;
	text = cJSON_PrintUnformatted(filter);
	if (!text || !cJSON_AddStringToObject(doc, "Filter", text))
		goto fail;
	cJSON_free(text);
	cJSON_Delete(filter);
	return doc;

fail:
	cJSON_free(text);
	cJSON_Delete(filter);
	cJSON_Delete(doc);
	return NULL;
}

char *hcndoc_endpoint_name(const char *container_id, const char *ifname, char *buf, size_t size)
{
	size_t n = strlen(container_id);

	snprintf(buf, size, "%.*s-%s", (int)(n > 8 ? 8 : n), container_id, ifname);
	return buf;
}

static bool is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hcndoc_guid_normalize(const char *s, char ret[HCNDOC_GUID_STRLEN])
{
	char out[HCNDOC_GUID_STRLEN];
	size_t n, i;

	if (!s)
		return -EINVAL;
	n = strlen(s);
	if (n == 38 && s[0] == '{' && s[37] == '}') {
		s++;
		n = 36;
	}
	if (n != 36)
		return -EINVAL;
	for (i = 0; i < 36; i++) {
		int c = (unsigned char)s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return -EINVAL;
		} else if (!is_hex(c)) {
			return -EINVAL;
		} else if (c >= 'A' && c <= 'F') {
			c += 'a' - 'A';
		}
		out[i] = (char)c;
	}
	out[36] = '\0';
	memcpy(ret, out, sizeof(out));
	return 0;
}

bool hcndoc_guid_equal(const char *a, const char *b)
{
	char na[HCNDOC_GUID_STRLEN], nb[HCNDOC_GUID_STRLEN];

	return hcndoc_guid_normalize(a, na) == 0 && hcndoc_guid_normalize(b, nb) == 0 &&
	       strcmp(na, nb) == 0;
}

int hcndoc_object_id(const char *props, char ret[HCNDOC_GUID_STRLEN])
{
	bool oom = false;
	cJSON *doc = props ? json_parse(props, strlen(props), NULL, &oom) : NULL;
	const char *id = doc ? cni_json_string(doc, "ID") : NULL;
	int r = oom ? -ENOMEM : id ? hcndoc_guid_normalize(id, ret) : -EINVAL;

	cJSON_Delete(doc);
	return r;
}

int hcndoc_id_list(const char *json, char (**ret_ids)[HCNDOC_GUID_STRLEN], size_t *ret_n)
{
	char (*ids)[HCNDOC_GUID_STRLEN] = NULL;
	const cJSON *it;
	cJSON *doc;
	size_t n = 0;
	bool oom;
	int r = 0;

	if (!json || !json[strspn(json, " \t\r\n")]) {
		*ret_ids = NULL;
		*ret_n = 0;
		return 0;
	}
	doc = json_parse(json, strlen(json), NULL, &oom);
	if (oom)
		return -ENOMEM;
	if (!cJSON_IsArray(doc)) {
		cJSON_Delete(doc);
		return -EINVAL;
	}
	if (cJSON_GetArraySize(doc) > 0) {
		ids = calloc((size_t)cJSON_GetArraySize(doc), sizeof(*ids));
		if (!ids) {
			cJSON_Delete(doc);
			return -ENOMEM;
		}
	}
	cJSON_ArrayForEach(it, doc) {
		if (!cJSON_IsString(it) || hcndoc_guid_normalize(it->valuestring, ids[n]) < 0) {
			r = -EINVAL;
			break;
		}
		n++;
	}
	cJSON_Delete(doc);
	if (r < 0) {
		free(ids);
		return r;
	}
	*ret_ids = ids;
	*ret_n = n;
	return 0;
}

char *hcndoc_error_record(const char *record, char *buf, size_t size)
{
	cJSON *doc;
	const char *msg;
	size_t start, end;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	if (!record || !record[0])
		return buf;
	doc = cJSON_Parse(record);
	msg = doc ? cni_json_string(doc, "Error") : NULL;
	if (msg && msg[0]) {
		snprintf(buf, size, "%s", msg);
	} else {
		start = strspn(record, " \t\r\n");
		end = strlen(record);
		while (end > start && strchr(" \t\r\n", record[end - 1]))
			end--;
		snprintf(buf, size, "%.*s", (int)(end - start), record + start);
	}
	cJSON_Delete(doc);
	/* HNS's localized texts end with CRLF: keep the message one line */
	end = strlen(buf);
	while (end > 0 && (buf[end - 1] == '\n' || buf[end - 1] == '\r' || buf[end - 1] == ' '))
		buf[--end] = '\0';
	return buf;
}

char *hcndoc_print(const cJSON *obj)
{
	char *s = cJSON_PrintUnformatted(obj), *copy;

	if (!s)
		return NULL;
	copy = strdup(s);
	cJSON_free(s);
	return copy;
}
