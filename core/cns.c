/* SPDX-License-Identifier: MIT */
/* CNS IPAM requests and answers in the Go JSON shapes of ACN cns/NetworkContainerContract.go,
 * and the CNI result an answer makes (ACN cni/network/invoker_cns.go). See cns.h. */
#include "cns.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "json.h"

/* ---- the request ---- */

/* KubernetesPodInfo's tags; the singular request carries the same RawMessage. */
static cJSON *orchestrator_context(const struct cns_request *req)
{
	cJSON *o = cJSON_CreateObject();

	if (o && (!cJSON_AddStringToObject(o, "podName", req->pod_name ? req->pod_name : "") ||
		  !cJSON_AddStringToObject(o, "podNamespace",
					   req->pod_namespace ? req->pod_namespace : ""))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static bool add_str(cJSON *o, const char *key, const char *v)
{
	return cJSON_AddStringToObject(o, key, v ? v : "") != NULL;
}

/* IPConfigsRequest: a nil Go slice encodes as null, so no desired address is null too. */
static bool encode_plural(cJSON *o, const struct cns_request *req, cJSON *ctx)
{
	char buf[IPNET_ADDR_STRLEN];
	cJSON *arr;
	size_t i;

	if (req->n_desired) {
		arr = cJSON_AddArrayToObject(o, "desiredIPAddresses");
		for (i = 0; arr && i < req->n_desired && i < CNS_MAX_DESIRED; i++) {
			cJSON *s = cJSON_CreateString(
				ipnet_addr_format(&req->desired[i], buf, sizeof(buf)));

			if (!s || !cJSON_AddItemToArray(arr, s)) {
				cJSON_Delete(s);
				return false;
			}
		}
		if (!arr)
			return false;
	} else if (!cJSON_AddNullToObject(o, "desiredIPAddresses")) {
		return false;
	}
	return add_str(o, "podInterfaceID", req->pod_interface_id) &&
	       add_str(o, "infraContainerID", req->infra_container_id) &&
	       cJSON_AddItemToObject(o, "orchestratorContext", ctx) &&
	       add_str(o, "ifname", req->ifname) &&
	       cJSON_AddFalseToObject(o, "secondaryInterfacesExist") &&
	       cJSON_AddFalseToObject(o, "BackendInterfaceExist") &&
	       cJSON_AddNullToObject(o, "BacknendInterfaceMacAddress");
}

static bool encode_singular(cJSON *o, const struct cns_request *req, cJSON *ctx)
{
	char buf[IPNET_ADDR_STRLEN] = "";

	if (req->n_desired)
		ipnet_addr_format(&req->desired[0], buf, sizeof(buf));
	return add_str(o, "DesiredIPAddress", buf) &&
	       add_str(o, "PodInterfaceID", req->pod_interface_id) &&
	       add_str(o, "InfraContainerID", req->infra_container_id) &&
	       cJSON_AddItemToObject(o, "OrchestratorContext", ctx) &&
	       add_str(o, "Ifname", req->ifname);
}

char *cns_request_encode(const struct cns_request *req, bool singular)
{
	cJSON *o = cJSON_CreateObject(), *ctx = orchestrator_context(req);
	char *text = NULL;
	bool ok;

	if (!o || !ctx) {
		cJSON_Delete(o);
		cJSON_Delete(ctx);
		return NULL;
	}
	/* on success the object owns ctx; on a failure before it was added, free it here */
	ok = singular ? encode_singular(o, req, ctx) : encode_plural(o, req, ctx);
	if (ok)
		text = cJSON_PrintUnformatted(o);
	else if (!cJSON_GetObjectItemCaseSensitive(o, singular ? "OrchestratorContext"
							      : "orchestratorContext"))
		cJSON_Delete(ctx);
	cJSON_Delete(o);
	return text;
}

/* ---- answers ---- */

static int bad(struct cni_error *err, const char *field, const char *why)
{
	return cni_error_set(err, -EBADMSG, CNI_CODE_SOURCE, "CNS answer: %s %s", field, why);
}

/* Member @key of @o (case-insensitive, as Go decodes); JSON null counts as absent. */
static const cJSON *member(const cJSON *o, const char *key)
{
	const cJSON *m = cJSON_GetObjectItem(o, key);

	return m && !cJSON_IsNull(m) ? m : NULL;
}

/* A string member into @dst (@size); absent is "". Too long for @dst: cut (messages, names). */
static int get_str(const cJSON *o, const char *key, const char *field, char *dst, size_t size,
		   struct cni_error *err)
{
	const cJSON *m = member(o, key);

	dst[0] = '\0';
	if (!m)
		return 0;
	if (!cJSON_IsString(m))
		return bad(err, field, "must be a string");
	snprintf(dst, size, "%s", m->valuestring);
	return 0;
}

/* An address (@cidr false) or CIDR (@cidr true) member into *ret: absent or "" is family 0. */
static int get_net(const cJSON *o, const char *key, const char *field, bool cidr,
		   struct ipnet_prefix *ret, struct cni_error *err)
{
	char s[IPNET_PREFIX_STRLEN];
	int r = get_str(o, key, field, s, sizeof(s), err);
	const char *raw;

	memset(ret, 0, sizeof(*ret));
	if (r < 0 || !s[0])
		return r;
	raw = member(o, key)->valuestring;
	if (strlen(raw) < sizeof(s) &&
	    (cidr ? ipnet_prefix_parse(s, false, ret) : ipnet_addr_parse(s, &ret->addr)) == 0)
		return 0;
	memset(ret, 0, sizeof(*ret));
	return cni_error_set(err, -EBADMSG, CNI_CODE_SOURCE, "CNS answer: %s \"%.64s\" is not %s",
			     field, raw, cidr ? "a CIDR prefix" : "an IP address");
}

static int get_addr(const cJSON *o, const char *key, const char *field, struct ipnet_addr *ret,
		    struct cni_error *err)
{
	struct ipnet_prefix p;
	int r = get_net(o, key, field, false, &p, err);

	*ret = p.addr;
	return r;
}

static int get_cidr(const cJSON *o, const char *key, const char *field, struct ipnet_prefix *ret,
		    struct cni_error *err)
{
	return get_net(o, key, field, true, ret, err);
}

static int get_bool(const cJSON *o, const char *key, const char *field, bool *ret,
		    struct cni_error *err)
{
	const cJSON *m = member(o, key);

	*ret = false;
	if (!m)
		return 0;
	if (!cJSON_IsBool(m))
		return bad(err, field, "must be true or false");
	*ret = cJSON_IsTrue(m);
	return 0;
}

/* An object member; absent is NULL (every field of it then zero, as Go leaves them). */
static int get_obj(const cJSON *o, const char *key, const char *field, const cJSON **ret,
		   struct cni_error *err)
{
	const cJSON *m = member(o, key);

	*ret = NULL;
	if (m && !cJSON_IsObject(m))
		return bad(err, field, "must be an object");
	*ret = m;
	return 0;
}

/* IPSubnet {IPAddress, PrefixLength (Go uint8)} at @field; both absent is family 0. */
static int get_subnet(const cJSON *o, const char *field, struct ipnet_prefix *ret,
		      struct cni_error *err)
{
	char f[160];
	const cJSON *len;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!o)
		return 0;
	snprintf(f, sizeof(f), "%s.IPAddress", field);
	r = get_addr(o, "IPAddress", f, &ret->addr, err);
	if (r < 0)
		return r;
	snprintf(f, sizeof(f), "%s.PrefixLength", field);
	len = member(o, "PrefixLength");
	if (!len)
		return 0;
	if (!cJSON_IsNumber(len) || !(len->valuedouble >= 0 && len->valuedouble <= 255) ||
	    len->valuedouble != (double)(int)len->valuedouble)
		return bad(err, f, "must be an integer from 0 to 255");
	ret->len = (int)len->valuedouble;
	if (ret->addr.family && ret->len > ipnet_addr_len(&ret->addr) * 8)
		return cni_error_set(err, -EBADMSG, CNI_CODE_SOURCE,
				     "CNS answer: %s %d is too long for the address", f, ret->len);
	return 0;
}

static int decode_routes(const cJSON *pi, const char *field, struct cns_pod_ip *ip,
			 struct cni_error *err)
{
	const cJSON *arr = member(pi, "Routes"), *rt;
	char f[160];
	int r;

	if (!arr)
		return 0;
	snprintf(f, sizeof(f), "%s.Routes", field);
	if (!cJSON_IsArray(arr))
		return bad(err, f, "must be an array");
	if (cJSON_GetArraySize(arr) > CNS_MAX_ROUTES)
		return bad(err, f, "has too many entries");
	cJSON_ArrayForEach(rt, arr) {
		struct cns_route *out = &ip->routes[ip->n_routes];

		snprintf(f, sizeof(f), "%s.Routes[%zu]", field, ip->n_routes);
		if (!cJSON_IsObject(rt))
			return bad(err, f, "must be an object");
		snprintf(f, sizeof(f), "%s.Routes[%zu].IPAddress", field, ip->n_routes);
		if ((r = get_cidr(rt, "IPAddress", f, &out->dst, err)) < 0)
			return r;
		if (!out->dst.addr.family)
			return bad(err, f, "is required");
		snprintf(f, sizeof(f), "%s.Routes[%zu].GatewayIPAddress", field, ip->n_routes);
		if ((r = get_addr(rt, "GatewayIPAddress", f, &out->gw, err)) < 0)
			return r;
		ip->n_routes++;
	}
	return 0;
}

/* NetworkContainerPrimaryIPConfig (IPConfiguration) and HostPrimaryIPInfo (HostIPInfo). */
static int decode_nc_host(const cJSON *pi, const char *field, struct cns_pod_ip *ip,
			  struct cni_error *err)
{
	const cJSON *nc, *sub, *host;
	char f[160];
	int r;

	snprintf(f, sizeof(f), "%s.NetworkContainerPrimaryIPConfig", field);
	if ((r = get_obj(pi, "NetworkContainerPrimaryIPConfig", f, &nc, err)) < 0)
		return r;
	if (nc) {
		snprintf(f, sizeof(f), "%s.NetworkContainerPrimaryIPConfig.IPSubnet", field);
		if ((r = get_obj(nc, "IPSubnet", f, &sub, err)) < 0 ||
		    (r = get_subnet(sub, f, &ip->nc_subnet, err)) < 0)
			return r;
		snprintf(f, sizeof(f), "%s.NetworkContainerPrimaryIPConfig.IPSubnetV6", field);
		if ((r = get_obj(nc, "IPSubnetV6", f, &sub, err)) < 0 ||
		    (r = get_subnet(sub, f, &ip->nc_subnet6, err)) < 0)
			return r;
		snprintf(f, sizeof(f), "%s.NetworkContainerPrimaryIPConfig.GatewayIPAddress", field);
		if ((r = get_addr(nc, "GatewayIPAddress", f, &ip->nc_gateway, err)) < 0)
			return r;
		snprintf(f, sizeof(f), "%s.NetworkContainerPrimaryIPConfig.GatewayIPv6Address", field);
		if ((r = get_addr(nc, "GatewayIPv6Address", f, &ip->nc_gateway6, err)) < 0)
			return r;
	}
	snprintf(f, sizeof(f), "%s.HostPrimaryIPInfo", field);
	if ((r = get_obj(pi, "HostPrimaryIPInfo", f, &host, err)) < 0 || !host)
		return r;
	snprintf(f, sizeof(f), "%s.HostPrimaryIPInfo.PrimaryIP", field);
	if ((r = get_addr(host, "PrimaryIP", f, &ip->host_primary, err)) < 0)
		return r;
	snprintf(f, sizeof(f), "%s.HostPrimaryIPInfo.Gateway", field);
	if ((r = get_addr(host, "Gateway", f, &ip->host_gateway, err)) < 0)
		return r;
	snprintf(f, sizeof(f), "%s.HostPrimaryIPInfo.Subnet", field);
	return get_cidr(host, "Subnet", f, &ip->host_subnet, err);
}

/* One PodIpInfo at @field into *ip. */
static int decode_pod_ip(const cJSON *pi, const char *field, struct cns_pod_ip *ip,
			 struct cni_error *err)
{
	const cJSON *sub;
	char f[160];
	int r;

	memset(ip, 0, sizeof(*ip));
	if (!cJSON_IsObject(pi))
		return bad(err, field, "must be an object");
	snprintf(f, sizeof(f), "%s.PodIPConfig", field);
	if ((r = get_obj(pi, "PodIPConfig", f, &sub, err)) < 0 ||
	    (r = get_subnet(sub, f, &ip->pod, err)) < 0)
		return r;
	if ((r = decode_nc_host(pi, field, ip, err)) < 0)
		return r;
	snprintf(f, sizeof(f), "%s.NICType", field);
	if ((r = get_str(pi, "NICType", f, ip->nic_type, sizeof(ip->nic_type), err)) < 0)
		return r;
	snprintf(f, sizeof(f), "%s.SkipDefaultRoutes", field);
	if ((r = get_bool(pi, "SkipDefaultRoutes", f, &ip->skip_default_routes, err)) < 0)
		return r;
	return decode_routes(pi, field, ip, err);
}

/* Response {ReturnCode, Message} from @o into @code, @msg. */
static int decode_status(const cJSON *o, const char *field, int *code, char *msg, size_t size,
			 struct cni_error *err)
{
	const cJSON *rc = member(o, "ReturnCode");
	char f[64];

	snprintf(f, sizeof(f), "%s.ReturnCode", field);
	*code = 0;
	/* the range first: converting a double outside int (1e300, inf) is undefined */
	if (rc && (!cJSON_IsNumber(rc) || !(rc->valuedouble >= INT_MIN && rc->valuedouble <= INT_MAX) ||
		   rc->valuedouble != (double)(int)rc->valuedouble))
		return bad(err, f, "must be an integer");
	if (rc)
		*code = (int)rc->valuedouble;
	snprintf(f, sizeof(f), "%s.Message", field);
	if (msg && size)
		return get_str(o, "Message", f, msg, size, err);
	return 0;
}

/* The first JSON value of @text, which must be an object (caller cJSON_Delete); NULL with
 * *@ret the error: -EBADMSG (code 105), or -ENOMEM (code 100) when cJSON ran out of memory. */
static cJSON *parse_object(const char *text, size_t len, int *ret, struct cni_error *err)
{
	const char *end = NULL;
	bool oom = false;
	cJSON *root = text ? json_parse(text, len, &end, &oom) : NULL;

	if (oom) {
		*ret = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		*ret = -EBADMSG;
		cJSON_Delete(root);
		/* @text need not be NUL-terminated */
		cni_error_set(err, -EBADMSG, CNI_CODE_SOURCE, "CNS answer is not a JSON object: "
			      "\"%.*s\"", text ? (int)(len < 80 ? len : 80) : 0, text ? text : "");
		return NULL;
	}
	return root;
}

static int decode_pod_ips(const cJSON *root, struct cns_response *ret, struct cni_error *err)
{
	const cJSON *list = member(root, "podIPInfo"), *pi;
	char f[32];
	int r;

	if (!list)
		return 0;
	if (cJSON_IsObject(list)) {  /* IPConfigResponse.PodIpInfo (older API): one */
		ret->n_ips = 1;
		return decode_pod_ip(list, "PodIpInfo", &ret->ips[0], err);
	}
	if (!cJSON_IsArray(list))
		return bad(err, "podIPInfo", "must be an array");
	if (cJSON_GetArraySize(list) > CNS_MAX_IPS)
		return bad(err, "podIPInfo", "has too many entries");
	cJSON_ArrayForEach(pi, list) {
		snprintf(f, sizeof(f), "podIPInfo[%zu]", ret->n_ips);
		if ((r = decode_pod_ip(pi, f, &ret->ips[ret->n_ips], err)) < 0)
			return r;
		ret->n_ips++;
	}
	return 0;
}

int cns_response_decode(const char *text, size_t len, struct cns_response *ret,
			struct cni_error *err)
{
	struct cns_response *out = calloc(1, sizeof(*out));
	const cJSON *resp;
	cJSON *root;
	int r = 0; /* parse_object sets it when it fails */

	if (!out)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	root = parse_object(text, len, &r, err);
	if (root)
		r = 0;
	if (r == 0)
		r = get_obj(root, "response", "response", &resp, err);
	if (r == 0 && !resp)
		r = bad(err, "response", "is missing");
	if (r == 0)
		r = decode_status(resp, "response", &out->return_code, out->message,
				  sizeof(out->message), err);
	if (r == 0 && out->return_code == CNS_CODE_SUCCESS)
		r = decode_pod_ips(root, out, err);
	if (r == 0)
		*ret = *out;
	cJSON_Delete(root);
	free(out);
	return r;
}

int cns_release_decode(const char *text, size_t len, int *ret_code, char *msg, size_t msg_size,
		       struct cni_error *err)
{
	const cJSON *resp;
	cJSON *root;
	int r = 0; /* parse_object sets it when it fails */

	root = parse_object(text, len, &r, err);
	if (!root)
		return r;
	r = get_obj(root, "response", "response", &resp, err);
	if (r == 0 && resp)
		r = decode_status(resp, "response", ret_code, msg, msg_size, err);
	else if (r == 0 && member(root, "ReturnCode"))
		r = decode_status(root, "answer", ret_code, msg, msg_size, err);
	else if (r == 0)
		r = bad(err, "response", "is missing");
	cJSON_Delete(root);
	return r;
}

const char *cns_code_name(int code)
{
	static const struct {
		int code;
		const char *name;
	} names[] = {
		{0, "Success"}, {1, "UnsupportedNetworkType"}, {2, "InvalidParameter"},
		{3, "UnsupportedEnvironment"}, {4, "UnreachableHost"}, {5, "ReservationNotFound"},
		{8, "MalformedSubnet"}, {9, "UnreachableDockerDaemon"},
		{10, "UnspecifiedNetworkName"}, {14, "NotFound"}, {15, "AddressUnavailable"},
		{16, "NetworkContainerNotSpecified"}, {17, "CallToHostFailed"},
		{18, "UnknownContainerID"}, {19, "UnsupportedOrchestratorType"},
		{20, "DockerContainerNotSpecified"}, {21, "UnsupportedVerb"},
		{22, "UnsupportedNetworkContainerType"}, {23, "InvalidRequest"},
		{24, "NetworkJoinFailed"}, {25, "NetworkContainerPublishFailed"},
		{26, "NetworkContainerUnpublishFailed"}, {27, "InvalidPrimaryIPConfig"},
		{28, "PrimaryCANotSame"}, {29, "InconsistentIPConfigState"},
		{30, "InvalidSecondaryIPConfig"}, {31, "NetworkContainerVfpProgramPending"},
		{32, "FailedToAllocateIpConfig"}, {33, "EmptyOrchestratorContext"},
		{34, "UnsupportedOrchestratorContext"}, {35, "NetworkContainerVfpProgramComplete"},
		{36, "NetworkContainerVfpProgramCheckSkipped"}, {37, "NmAgentSupportedApisError"},
		{38, "UnsupportedNCVersion"}, {41, "NmAgentInternalServerError"},
		{42, "StatusUnauthorized"}, {44, "FailedToAllocateBackendConfig"},
		{99, "UnexpectedError"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == code)
			return names[i].name;
	return "UnknownError";
}

/* ---- the CNI result ---- */

/* Is @a in a range no pod address (@gateway false) or gateway (@gateway true) is ever in?
 * IPv4: "this network" 0.0.0.0/8, loopback 127.0.0.0/8, multicast, reserved and broadcast
 * 224.0.0.0/3; IPv6: ::/8 (unspecified, loopback, IPv4-mapped) and multicast ff00::/8 (RFC 6890,
 * RFC 4291). Link-local is a gateway's only (CNS_OVERLAY_GATEWAY4/6), never a pod's. */
static bool addr_reserved(const struct ipnet_addr *a, bool gateway)
{
	static const char *const never[] = { "0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/3", "::/8",
					     "ff00::/8" };
	static const char *const link_local[] = { "169.254.0.0/16", "fe80::/10" };
	struct ipnet_prefix r;
	size_t i;

	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		if (ipnet_prefix_parse(never[i], false, &r) == 0 && ipnet_prefix_contains(&r, a))
			return true;
	for (i = 0; !gateway && i < sizeof(link_local) / sizeof(link_local[0]); i++)
		if (ipnet_prefix_parse(link_local[i], false, &r) == 0 && ipnet_prefix_contains(&r, a))
			return true;
	return false;
}

/* The address of @ip with its prefix length and gateway (invoker_cns.go
 * getIPConfigPrefixLength, getIPConfigGatewayAddress) into @c. */
static int fill_ip(const struct cns_pod_ip *ip, const char *field, enum cns_mode mode,
		   struct cni_ipconfig *c, struct cni_error *err)
{
	bool v6 = ip->pod.addr.family == IPNET_AF_INET6;
	int len = v6 && ip->nc_subnet6.len ? ip->nc_subnet6.len : ip->nc_subnet.len;

	if (!ip->pod.addr.family)
		return cni_error_set(err, -EBADMSG, CNI_CODE_SOURCE,
				     "CNS answer: %s.PodIPConfig.IPAddress is missing", field);
	if (!len || len > ipnet_addr_len(&ip->pod.addr) * 8)
		len = ip->pod.len;
	if (!len) /* a /0 pod network: the node's SNAT would exempt every destination */
		return cni_error_set(err, -EBADMSG, CNI_CODE_SOURCE,
				     "CNS answer: %s.NetworkContainerPrimaryIPConfig.IPSubnet.PrefixLength "
				     "(and PodIPConfig.PrefixLength) is 0", field);
	if (addr_reserved(&ip->pod.addr, false))
		return cni_error_set(err, -EBADMSG, CNI_CODE_SOURCE,
				     "CNS answer: %s.PodIPConfig.IPAddress is not a unicast pod address",
				     field);
	c->address.addr = ip->pod.addr;
	c->address.len = len;
	c->gateway = v6 && ip->nc_gateway6.family ? ip->nc_gateway6 : ip->nc_gateway;
	c->iface = -1;
	if (mode != CNS_POD_SUBNETS && c->gateway.family != ip->pod.addr.family) {
		/* an Overlay NC without a gateway: the pod's own (getOverlayGateway, per OS) */
		struct ipnet_prefix net = ipnet_prefix_network(&c->address);

		if (v6)
			ipnet_addr_parse(CNS_OVERLAY_GATEWAY6, &c->gateway);
		else if (mode == CNS_OVERLAY_WINDOWS && net.len < 31)
			c->gateway = ipnet_prefix_first_host(&net);
		else if (mode == CNS_OVERLAY_LINUX)
			ipnet_addr_parse(CNS_OVERLAY_GATEWAY4, &c->gateway);
	}
	if (c->gateway.family != ip->pod.addr.family)
		return cni_error_set(err, -EBADMSG, CNI_CODE_SOURCE,
				     "CNS answer: %s.NetworkContainerPrimaryIPConfig.GatewayIPAddress "
				     "gives no IPv%d gateway for the pod address", field, v6 ? 6 : 4);
	if (addr_reserved(&c->gateway, true) || ipnet_addr_equal(&c->gateway, &c->address.addr))
		return cni_error_set(err, -EBADMSG, CNI_CODE_SOURCE,
				     "CNS answer: %s.NetworkContainerPrimaryIPConfig.GatewayIPAddress "
				     "is not a unicast gateway other than the pod's own address", field);
	return 0;
}

/* The routes of @ip (its own, else a default route via @gw) appended to @ret. */
static int fill_routes(const struct cns_pod_ip *ip, const char *field,
		       const struct ipnet_addr *gw, struct cni_result *ret, struct cni_error *err)
{
	size_t i;

	if (!ip->n_routes) {
		struct cni_route *rt = &ret->routes[ret->n_routes++];

		memset(rt, 0, sizeof(*rt));
		rt->dst.addr.family = gw->family;
		rt->gw = *gw;
		rt->scope = -1;
		return 0;
	}
	if (ret->n_routes + ip->n_routes > CNI_MAX_ROUTES)
		return cni_error_set(err, -EBADMSG, CNI_CODE_SOURCE, "CNS answer: too many routes");
	for (i = 0; i < ip->n_routes; i++) {
		struct cni_route *rt;

		if (ip->routes[i].gw.family && ip->routes[i].gw.family != ip->routes[i].dst.addr.family)
			return cni_error_set(err, -EBADMSG, CNI_CODE_SOURCE, "CNS answer: %s.Routes[%zu]"
					     ".GatewayIPAddress is not of its IPAddress's family",
					     field, i);
		rt = &ret->routes[ret->n_routes++];
		memset(rt, 0, sizeof(*rt));
		rt->dst = ip->routes[i].dst;
		rt->gw = ip->routes[i].gw;
		rt->scope = -1;
	}
	return 0;
}

int cns_result_fill(const struct cns_response *resp, enum cns_mode mode, struct cni_result *ret,
		    struct cni_error *err)
{
	bool counted = false;
	int with_default = 0, r;
	char f[32];
	size_t i, k;

	memset(ret, 0, sizeof(*ret));
	/* IPv4 first, then IPv6, whatever CNS's order (AssignAvailableIPConfigs ranges over a Go
	 * map): the backends read ips[0] as the IPv4 network and ips[1] as the IPv6 one */
	for (k = 0; k < 2 * resp->n_ips; k++) {
		const struct cns_pod_ip *ip;

		i = k % resp->n_ips;
		ip = &resp->ips[i];
		if ((ip->pod.addr.family == IPNET_AF_INET6) != (k >= resp->n_ips))
			continue;
		snprintf(f, sizeof(f), "podIPInfo[%zu]", i);
		if (ip->nic_type[0] && strcmp(ip->nic_type, "InfraNIC") != 0)
			return cni_error_set(err, -EBADMSG, CNI_CODE_SOURCE,
					     "CNS answer: %s.NICType \"%s\" is not supported (only "
					     "the pod's own interface, InfraNIC)", f, ip->nic_type);
		if (ret->n_ips >= CNI_MAX_IPS)
			return cni_error_set(err, -EBADMSG, CNI_CODE_SOURCE,
					     "CNS answer: too many addresses");
		/* one network container per family: the backends take one address of each */
		if (ret->n_ips && (ret->ips[ret->n_ips - 1].address.addr.family ==
				   ip->pod.addr.family))
			return cni_error_set(err, -EBADMSG, CNI_CODE_SOURCE,
					     "CNS answer: %s.PodIPConfig.IPAddress is a second IPv%d "
					     "address for the pod (one per family)", f,
					     ip->pod.addr.family == IPNET_AF_INET6 ? 6 : 4);
		r = fill_ip(ip, f, mode, &ret->ips[ret->n_ips], err);
		if (r < 0)
			return r;
		r = fill_routes(ip, f, &ret->ips[ret->n_ips].gateway, ret, err);
		if (r < 0)
			return r;
		ret->n_ips++;
		/* the infra interface counts once, whatever its families (invoker_cns.go Add) */
		if (!counted) {
			counted = true;
			with_default += !ip->skip_default_routes;
		}
	}
	if (!ret->n_ips)
		return cni_error_set(err, -EBADMSG, CNI_CODE_SOURCE,
				     "CNS answer: podIPInfo has no address for the pod");
	if (with_default != 1)
		return cni_error_set(err, -EBADMSG, CNI_CODE_SOURCE,
				     "CNS answer: the pod's interface has SkipDefaultRoutes set "
				     "(exactly one interface needs default routes)");
	return 0;
}

int cns_swift_addrs(const struct cns_response *resp, struct cns_swift *ret,
		    struct cni_error *err)
{
	size_t i;

	memset(ret, 0, sizeof(*ret));
	for (i = 0; i < resp->n_ips; i++) {
		const struct cns_pod_ip *ip = &resp->ips[i];

		if (ip->nc_subnet.addr.family != IPNET_AF_INET)
			continue;
		if (ip->host_primary.family != IPNET_AF_INET)
			return cni_error_set(err, -EBADMSG, CNI_CODE_SOURCE,
					     "CNS answer: podIPInfo[%zu].HostPrimaryIPInfo.PrimaryIP "
					     "%s (the node's IPv4 address, which IMDS sees pods as)",
					     i, ip->host_primary.family ? "is not IPv4" : "is missing");
		ret->nc_primary = ip->nc_subnet.addr;
		ret->host_primary = ip->host_primary;
		return 0;
	}
	return 0;
}
