/* SPDX-License-Identifier: MIT */
/* The azure-vnet network configuration from the CNI stdin config: keys case-insensitive and
 * unknown keys ignored, JSON null treated as absent, a known key of the wrong JSON type refused
 * (all as Go encoding/json does for ACN cni/netconfig.go). Every refusal is code 7 naming the key. */
#include "conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IFNAME_LEN_MAX (CNI_IFNAME_MAX - 1)

static int bad(struct cni_error *err, const char *field, const char *why)
{
	return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG, "%s %s", field, why);
}

/* Member @key of @obj (case-insensitive, cJSON_GetObjectItem); null counts as absent. */
static const cJSON *member(const cJSON *obj, const char *key)
{
	const cJSON *m = obj ? cJSON_GetObjectItem(obj, key) : NULL;

	return m && !cJSON_IsNull(m) ? m : NULL;
}

static int get_string(const cJSON *obj, const char *key, const char *field, char *dst, size_t size,
		      struct cni_error *err)
{
	const cJSON *m = member(obj, key);

	if (!m)
		return 0;
	if (!cJSON_IsString(m))
		return bad(err, field, "must be a string");
	if (strlen(m->valuestring) >= size)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "%s is too long (%zu bytes, at most %zu)", field,
				     strlen(m->valuestring), size - 1);
	memcpy(dst, m->valuestring, strlen(m->valuestring) + 1);
	return 0;
}

/* "logLevel": a string, as Go's NetworkConfig types it; a value no level names (too long
 * included) leaves the default, as the Go plugin ignores the field. */
static int get_log_level(const cJSON *root, struct conf *c, struct cni_error *err)
{
	const cJSON *m = member(root, "logLevel");

	if (m && !cJSON_IsString(m))
		return bad(err, "logLevel", "must be a string");
	if (m && strlen(m->valuestring) < sizeof(c->log_level))
		memcpy(c->log_level, m->valuestring, strlen(m->valuestring) + 1);
	return 0;
}

static int get_bool(const cJSON *obj, const char *key, const char *field, bool *dst,
		    struct cni_error *err)
{
	const cJSON *m = member(obj, key);

	if (!m)
		return 0;
	if (!cJSON_IsBool(m))
		return bad(err, field, "must be true or false");
	*dst = cJSON_IsTrue(m);
	return 0;
}

static int get_int(const cJSON *obj, const char *key, const char *field, int min, int max,
		   int *dst, struct cni_error *err)
{
	const cJSON *m = member(obj, key);

	if (!m)
		return 0;
	if (!cJSON_IsNumber(m))
		return bad(err, field, "must be an integer");
	/* the range first: converting a double outside long long (1e300) is undefined */
	if (!(m->valuedouble >= min && m->valuedouble <= max))
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "%s must be between %d and %d", field, min, max);
	if (m->valuedouble != (double)(int)m->valuedouble)
		return bad(err, field, "must be an integer");
	*dst = (int)m->valuedouble;
	return 0;
}

/* An array of strings into @base (@n entries of @stride bytes, at most @max). */
static int get_string_list(const cJSON *obj, const char *key, const char *field, char *base,
			   size_t stride, size_t max, size_t *n, struct cni_error *err)
{
	const cJSON *m = member(obj, key), *s;

	*n = 0;
	if (!m)
		return 0;
	if (!cJSON_IsArray(m))
		return bad(err, field, "must be an array of strings");
	if ((size_t)cJSON_GetArraySize(m) > max)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "%s has %d entries, at most %zu", field, cJSON_GetArraySize(m), max);
	cJSON_ArrayForEach(s, m) {
		if (!cJSON_IsString(s))
			return bad(err, field, "must be an array of strings");
		if (strlen(s->valuestring) >= stride)
			return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
					     "%s entry \"%.64s\" is too long", field, s->valuestring);
		memcpy(base + *n * stride, s->valuestring, strlen(s->valuestring) + 1);
		(*n)++;
	}
	return 0;
}

static int get_object(const cJSON *obj, const char *key, const char *field, const cJSON **ret,
		      struct cni_error *err)
{
	const cJSON *m = member(obj, key);

	*ret = NULL;
	if (!m)
		return 0;
	if (!cJSON_IsObject(m))
		return bad(err, field, "must be an object");
	*ret = m;
	return 0;
}

static int parse_mode(const cJSON *root, struct conf *c, struct cni_error *err)
{
	static const struct {
		const char *name;
		enum conf_mode mode;
	} modes[] = {
		{"", CONF_MODE_TUNNEL},
		{"tunnel", CONF_MODE_TUNNEL},
		{"bridge", CONF_MODE_BRIDGE},
		{"transparent", CONF_MODE_TRANSPARENT},
		{"transparent-vlan", CONF_MODE_TRANSPARENT_VLAN},
	};

	const cJSON *m = member(root, "mode");
	const char *s = "";

	if (m && !cJSON_IsString(m))
		return bad(err, "mode", "must be a string");
	if (m)
		s = m->valuestring;
	/* Exact, lower-case names as ACN network/network.go compares them. */
	for (size_t k = 0; k < sizeof(modes) / sizeof(modes[0]); k++) {
		if (strcmp(s, modes[k].name) == 0) {
			c->mode = modes[k].mode;
			snprintf(c->mode_str, sizeof(c->mode_str), "%s", s);
			return 0;
		}
	}
	cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG, "Network mode is invalid");
	cni_error_details(err, "mode \"%.64s\"; want \"bridge\", \"tunnel\", \"transparent\" or "
			  "\"transparent-vlan\" (empty means tunnel)", s);
	return -EINVAL;
}

/* ACN's bridge name rule, ^[a-zA-Z0-9._\-() ]*$, plus the kernel's 15-byte limit. */
static int check_bridge(const char *b, struct cni_error *err)
{
	if (strlen(b) > IFNAME_LEN_MAX)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "bridge \"%s\" is too long (%zu bytes, at most %d)", b, strlen(b),
				     IFNAME_LEN_MAX);
	for (const char *p = b; *p; p++) {
		char ch = *p;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("._-() ", ch))
			continue;
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "bridge \"%s\" is invalid: only letters, digits, '.', '_', '-', "
				     "'(', ')' and ' ' are allowed", b);
	}
	return 0;
}

static int check_master(const char *m, struct cni_error *err)
{
	if (strlen(m) > IFNAME_LEN_MAX)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "master \"%s\" is too long (%zu bytes, at most %d)", m, strlen(m),
				     IFNAME_LEN_MAX);
	for (const char *p = m; *p; p++)
		if (*p == '/' || *p == ':' || *p == ' ' || *p == '\t' || *p == '\n')
			return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
					     "master \"%s\" is not a valid interface name", m);
	return 0;
}

/* queryInterval: Go keeps it as a string of seconds; we also take a JSON number and a
 * trailing "s" ("10s"). */
static int parse_query_interval(const cJSON *ipam, int *ret, struct cni_error *err)
{
	const cJSON *m = member(ipam, "queryInterval");
	const char *s;
	long v = 0;

	if (!m)
		return 0;
	if (cJSON_IsNumber(m))
		return get_int(ipam, "queryInterval", "ipam.queryInterval", 0, 86400 * 365, ret, err);
	if (!cJSON_IsString(m))
		return bad(err, "ipam.queryInterval", "must be a string of seconds");
	s = m->valuestring;
	if (!*s)
		return 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v > 86400L * 365)
			return bad(err, "ipam.queryInterval", "is too large");
	}
	if (s == m->valuestring || (s[0] && strcmp(s, "s") != 0))
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "ipam.queryInterval \"%s\" is not a number of seconds",
				     m->valuestring);
	*ret = (int)v;
	return 0;
}

/* ipam.subnet and ipam.ipAddress: each well-formed, an IPv6 subnet at most /64 (Azure's IPv6
 * subnets are /64s), and both of one family when both are given. Code 7 naming the field. */
static int ipam_request_check(const struct conf_ipam *ipam, struct cni_error *err)
{
	struct ipnet_prefix p = {0};
	struct ipnet_addr a = {0};

	if (ipam->subnet[0] && ipnet_prefix_parse(ipam->subnet, false, &p) < 0)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "ipam.subnet \"%s\" is not a CIDR prefix", ipam->subnet);
	if (p.addr.family == IPNET_AF_INET6 && p.len > 64)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "ipam.subnet \"%s\" is longer than /64 (an Azure IPv6 subnet is "
				     "a /64)", ipam->subnet);
	if (ipam->ip_address[0] && ipnet_addr_parse(ipam->ip_address, &a) < 0)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "ipam.ipAddress \"%s\" is not an IP address", ipam->ip_address);
	if (a.family && p.addr.family && a.family != p.addr.family)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "ipam.ipAddress \"%s\" and ipam.subnet \"%s\" are of different "
				     "address families", ipam->ip_address, ipam->subnet);
	return 0;
}

static int parse_ipam(const cJSON *root, struct conf_ipam *ipam, struct cni_error *err)
{
	static const struct {
		const char *name;
		enum conf_ipam_env env;
	} envs[] = {
		{"", CONF_IPAM_ENV_AZURE},
		{"azure", CONF_IPAM_ENV_AZURE},
		{"mas", CONF_IPAM_ENV_MAS},
		/* ACN's fileIpam source reads the same interfaces.json layout as mas. */
		{"fileIpam", CONF_IPAM_ENV_MAS},
		{"null", CONF_IPAM_ENV_NULL},
	};
	const cJSON *o;
	char env[32] = "";
	bool known = false;
	int r;

	snprintf(ipam->address_space, sizeof(ipam->address_space), "local");
	ipam->query_interval_s = CONF_QUERY_INTERVAL_DEFAULT_S;
	r = get_object(root, "ipam", "ipam", &o, err);
	if (r < 0 || !o)
		return r;
	if ((r = get_string(o, "type", "ipam.type", ipam->type, sizeof(ipam->type), err)) < 0 ||
	    (r = get_string(o, "environment", "ipam.environment", env, sizeof(env), err)) < 0 ||
	    (r = get_string(o, "addressSpace", "ipam.addressSpace", ipam->address_space,
			    sizeof(ipam->address_space), err)) < 0 ||
	    (r = get_string(o, "subnet", "ipam.subnet", ipam->subnet, sizeof(ipam->subnet), err)) < 0 ||
	    (r = get_string(o, "ipAddress", "ipam.ipAddress", ipam->ip_address,
			    sizeof(ipam->ip_address), err)) < 0 ||
	    (r = get_string(o, "mode", "ipam.mode", ipam->mode, sizeof(ipam->mode), err)) < 0 ||
	    (r = parse_query_interval(o, &ipam->query_interval_s, err)) < 0)
		return r;
	if (ipam->mode[0] && strcmp(ipam->mode, "v4overlay") != 0 &&
	    strcmp(ipam->mode, "dualStackOverlay") != 0 && strcmp(ipam->mode, "overlay") != 0)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "ipam.mode \"%s\" is invalid (want \"\" for pod subnets, "
				     "\"overlay\", \"v4overlay\" or \"dualStackOverlay\")", ipam->mode);
	if (!ipam->address_space[0])
		snprintf(ipam->address_space, sizeof(ipam->address_space), "local");
	for (size_t k = 0; k < sizeof(envs) / sizeof(envs[0]); k++) {
		if (strcmp(env, envs[k].name) == 0) {
			ipam->environment = envs[k].env;
			known = true;
		}
	}
	if (!known)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "ipam.environment \"%s\" is invalid (want \"azure\", \"mas\" or "
				     "\"null\")", env);
	return ipam_request_check(ipam, err);
}

/* cnsurl: an http:// or https:// URL without spaces (ACN cns/client/client.go New parses it
 * and keeps only scheme, host and port). */
static int parse_cns_url(const cJSON *root, struct conf *c, struct cni_error *err)
{
	int r = get_string(root, "cnsurl", "cnsurl", c->cns_url, sizeof(c->cns_url), err);
	const char *host;

	if (r < 0 || !c->cns_url[0])
		return r;
	host = strncmp(c->cns_url, "http://", 7) == 0 ? c->cns_url + 7 :
	       strncmp(c->cns_url, "https://", 8) == 0 ? c->cns_url + 8 : NULL;
	if (!host || !*host || *host == '/' || strpbrk(c->cns_url, " \t\r\n"))
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "cnsurl \"%.128s\" is not an http:// or https:// URL", c->cns_url);
	return 0;
}

static int parse_dns(const cJSON *o, const char *path, bool runtime, struct cni_dns *d,
		     struct cni_error *err)
{
	char field[64];
	int r;

	snprintf(field, sizeof(field), "%s.%s", path, runtime ? "servers" : "nameservers");
	r = get_string_list(o, runtime ? "servers" : "nameservers", field, d->nameservers[0],
			    sizeof(d->nameservers[0]), CNI_MAX_DNS, &d->n_nameservers, err);
	if (r < 0)
		return r;
	snprintf(field, sizeof(field), "%s.%s", path, runtime ? "searches" : "search");
	r = get_string_list(o, runtime ? "searches" : "search", field, d->search[0],
			    sizeof(d->search[0]), CNI_MAX_DNS, &d->n_search, err);
	if (r < 0)
		return r;
	snprintf(field, sizeof(field), "%s.options", path);
	r = get_string_list(o, "options", field, d->options[0], sizeof(d->options[0]), CNI_MAX_DNS,
			    &d->n_options, err);
	if (r < 0)
		return r;
	if (!runtime) {
		snprintf(field, sizeof(field), "%s.domain", path);
		r = get_string(o, "domain", field, d->domain, sizeof(d->domain), err);
	}
	return r;
}

/* One vnetCidrs entry (surrounding spaces ignored), stored with host bits cleared. */
static int add_vnet_cidr(struct conf *c, const char *s, size_t n, struct cni_error *err)
{
	char buf[IPNET_PREFIX_STRLEN];
	struct ipnet_prefix p;

	while (n && *s == ' ') {
		s++;
		n--;
	}
	while (n && s[n - 1] == ' ')
		n--;
	if (n == 0)
		return 0;
	if (n >= sizeof(buf))
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "vnetCidrs entry \"%.*s\" is not a CIDR prefix", (int)(n > 64 ? 64 : n), s);
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (ipnet_prefix_parse(buf, false, &p) < 0)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "vnetCidrs entry \"%s\" is not a CIDR prefix", buf);
	if (c->n_vnet_cidrs >= CONF_MAX_LIST)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "vnetCidrs has more than %d entries", CONF_MAX_LIST);
	c->vnet_cidrs[c->n_vnet_cidrs++] = ipnet_prefix_network(&p);
	return 0;
}

static int parse_vnet_cidrs(const cJSON *root, struct conf *c, struct cni_error *err)
{
	const cJSON *m = member(root, "vnetCidrs"), *e;
	int r;

	if (!m)
		return 0;
	if (cJSON_IsString(m)) {
		const char *p = m->valuestring;

		for (;;) {
			const char *comma = strchr(p, ',');
			size_t n = comma ? (size_t)(comma - p) : strlen(p);

			if ((r = add_vnet_cidr(c, p, n, err)) < 0)
				return r;
			if (!comma)
				return 0;
			p = comma + 1;
		}
	}
	if (!cJSON_IsArray(m))
		return bad(err, "vnetCidrs", "must be a comma-separated string or an array of CIDRs");
	cJSON_ArrayForEach(e, m) {
		if (!cJSON_IsString(e))
			return bad(err, "vnetCidrs", "must be a comma-separated string or an array of CIDRs");
		if ((r = add_vnet_cidr(c, e->valuestring, strlen(e->valuestring), err)) < 0)
			return r;
	}
	return 0;
}

static int parse_ips_via_host(const cJSON *root, struct conf *c, struct cni_error *err)
{
	int r;

	r = get_string_list(root, "ipsToRouteViaHost", "ipsToRouteViaHost", c->ips_to_route_via_host[0],
			    sizeof(c->ips_to_route_via_host[0]), CONF_MAX_LIST,
			    &c->n_ips_to_route_via_host, err);
	if (r < 0)
		return r;
	for (size_t k = 0; k < c->n_ips_to_route_via_host; k++) {
		struct ipnet_addr a;

		if (ipnet_addr_parse(c->ips_to_route_via_host[k], &a) < 0)
			return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
					     "ipsToRouteViaHost entry \"%s\" is not an IP address",
					     c->ips_to_route_via_host[k]);
	}
	return 0;
}

static int parse_portmap(const cJSON *o, size_t idx, struct conf_portmap *pm, struct cni_error *err)
{
	char field[64], proto[16] = "";
	int r;

	snprintf(field, sizeof(field), "runtimeConfig.portMappings[%zu]", idx);
	if (!cJSON_IsObject(o))
		return bad(err, field, "must be an object");
	snprintf(field, sizeof(field), "runtimeConfig.portMappings[%zu].hostPort", idx);
	if ((r = get_int(o, "hostPort", field, 1, 65535, &pm->host_port, err)) < 0)
		return r;
	snprintf(field, sizeof(field), "runtimeConfig.portMappings[%zu].containerPort", idx);
	if ((r = get_int(o, "containerPort", field, 1, 65535, &pm->container_port, err)) < 0)
		return r;
	if (!pm->host_port || !pm->container_port)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "runtimeConfig.portMappings[%zu] needs hostPort and containerPort",
				     idx);
	snprintf(field, sizeof(field), "runtimeConfig.portMappings[%zu].protocol", idx);
	if ((r = get_string(o, "protocol", field, proto, sizeof(proto), err)) < 0)
		return r;
	for (char *p = proto; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (!proto[0])
		snprintf(proto, sizeof(proto), "tcp");
	if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "%s \"%s\" is invalid (want tcp, udp or sctp)", field, proto);
	memcpy(pm->protocol, proto, strlen(proto) + 1);
	snprintf(field, sizeof(field), "runtimeConfig.portMappings[%zu].hostIP", idx);
	if ((r = get_string(o, "hostIP", field, pm->host_ip, sizeof(pm->host_ip), err)) < 0)
		return r;
	if (pm->host_ip[0]) {
		struct ipnet_addr a;

		if (ipnet_addr_parse(pm->host_ip, &a) < 0)
			return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
					     "%s \"%s\" is not an IP address", field, pm->host_ip);
	}
	return 0;
}

static int parse_runtime_config(const cJSON *root, struct conf *c, struct cni_error *err)
{
	const cJSON *rc, *pms, *dns, *e;
	size_t idx = 0;
	int r;

	r = get_object(root, "runtimeConfig", "runtimeConfig", &rc, err);
	if (r < 0 || !rc)
		return r;
	pms = member(rc, "portMappings");
	if (pms && !cJSON_IsArray(pms))
		return bad(err, "runtimeConfig.portMappings", "must be an array");
	if (pms && (size_t)cJSON_GetArraySize(pms) > CONF_MAX_PORTMAPS)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "runtimeConfig.portMappings has more than %d entries",
				     CONF_MAX_PORTMAPS);
	cJSON_ArrayForEach(e, pms) {
		if ((r = parse_portmap(e, idx, &c->portmaps[idx], err)) < 0)
			return r;
		c->n_portmaps = ++idx;
	}
	r = get_object(rc, "dns", "runtimeConfig.dns", &dns, err);
	if (r < 0 || !dns)
		return r;
	r = parse_dns(dns, "runtimeConfig.dns", true, &c->runtime_dns, err);
	if (r < 0)
		return r;
	/* Runtimes send the dns capability even when they have nothing to say; only a non-empty
	 * runtimeConfig.dns overrides the config's dns. */
	c->has_runtime_dns = c->runtime_dns.n_nameservers || c->runtime_dns.n_search ||
			     c->runtime_dns.n_options;
	return 0;
}

static int parse_policies(const cJSON *root, struct conf *c, struct cni_error *err)
{
	const cJSON *arr = member(root, "AdditionalArgs"), *e;
	size_t idx = 0;

	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		return bad(err, "AdditionalArgs", "must be an array of {Name, Value}");
	if ((size_t)cJSON_GetArraySize(arr) > CONF_MAX_POLICIES)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "AdditionalArgs has more than %d entries", CONF_MAX_POLICIES);
	cJSON_ArrayForEach(e, arr) {
		struct conf_policy *p = &c->policies[idx];
		const cJSON *v;
		char field[64];
		int r;

		snprintf(field, sizeof(field), "AdditionalArgs[%zu]", idx);
		if (!cJSON_IsObject(e))
			return bad(err, field, "must be an object {Name, Value}");
		snprintf(field, sizeof(field), "AdditionalArgs[%zu].Name", idx);
		if ((r = get_string(e, "Name", field, p->name, sizeof(p->name), err)) < 0)
			return r;
		v = member(e, "Value");
		if (v && !cJSON_IsObject(v)) {
			snprintf(field, sizeof(field), "AdditionalArgs[%zu].Value", idx);
			return bad(err, field, "must be an object");
		}
		p->value = v;
		c->n_policies = ++idx;
	}
	return 0;
}

int conf_parse(const cJSON *root, struct conf *ret, struct cni_error *err)
{
	struct conf *c;
	const cJSON *o;
	int r;

	if (!cJSON_IsObject(root))
		return bad(err, "network configuration", "must be a JSON object");
	c = calloc(1, sizeof(*c));
	if (!c)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	c->outbound_snat = true;

	if ((r = get_string(root, "cniVersion", "cniVersion", c->cni_version, sizeof(c->cni_version), err)) < 0 ||
	    (r = get_string(root, "name", "name", c->name, sizeof(c->name), err)) < 0 ||
	    (r = get_string(root, "type", "type", c->type, sizeof(c->type), err)) < 0 ||
	    (r = parse_mode(root, c, err)) < 0 ||
	    (r = get_string(root, "master", "master", c->master, sizeof(c->master), err)) < 0 ||
	    (r = check_master(c->master, err)) < 0 ||
	    (r = get_string(root, "adapterName", "adapterName", c->adapter_name,
			    sizeof(c->adapter_name), err)) < 0 ||
	    (r = get_string(root, "bridge", "bridge", c->bridge, sizeof(c->bridge), err)) < 0 ||
	    (r = check_bridge(c->bridge, err)) < 0 ||
	    (r = parse_ipam(root, &c->ipam, err)) < 0 ||
	    (r = parse_cns_url(root, c, err)) < 0 ||
	    (r = get_string(root, "executionMode", "executionMode", c->execution_mode,
			    sizeof(c->execution_mode), err)) < 0 ||
	    (r = get_object(root, "dns", "dns", &o, err)) < 0 ||
	    (o && (r = parse_dns(o, "dns", false, &c->dns, err)) < 0) ||
	    (r = parse_ips_via_host(root, c, err)) < 0 ||
	    (r = parse_vnet_cidrs(root, c, err)) < 0 ||
	    (r = get_bool(root, "enableOutboundSnat", "enableOutboundSnat", &c->outbound_snat, err)) < 0 ||
	    (r = get_bool(root, "disableHairpinOnHostInterface", "disableHairpinOnHostInterface",
			  &c->disable_hairpin_on_host_interface, err)) < 0 ||
	    (r = get_bool(root, "disableIPTableLock", "disableIPTableLock", &c->disable_iptables_lock,
			  err)) < 0 ||
	    (r = get_string(root, "metricsDir", "metricsDir", c->metrics_dir, sizeof(c->metrics_dir),
			    err)) < 0 ||
	    (r = get_log_level(root, c, err)) < 0 ||
	    (r = parse_runtime_config(root, c, err)) < 0 ||
	    (r = parse_policies(root, c, err)) < 0 ||
	    (r = get_object(root, "windowsSettings", "windowsSettings", &o, err)) < 0 ||
	    (o && (r = get_bool(o, "enableLoopbackDSR", "windowsSettings.enableLoopbackDSR",
				&c->enable_loopback_dsr, err)) < 0) ||
	    (o && (r = get_int(o, "hnsTimeoutDurationInSeconds",
			       "windowsSettings.hnsTimeoutDurationInSeconds", 0, 86400,
			       &c->hns_timeout_s, err)) < 0))
		goto out;
	/* = *c; the plugin's *ret is static and zero: the arrays a config leaves empty
	 * (portMappings, policies, DNS), some 24 KiB, stay untouched */
	cni_mem_update(ret, c, sizeof(*ret));
	r = 0;
out:
	free(c);
	return r;
}
