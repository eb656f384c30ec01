/* SPDX-License-Identifier: MIT */
/* The Windows network backend (platform/backend.h) over HCN (HNS v2, computenetwork.dll through
 * hcn.h): one L2Bridge network per config name, created once and re-created when HNS lost it
 * (it is non-persistent: a reboot or an HNS restart forgets it), and one endpoint per attachment
 * named by its record ID, attached to the pod's HCN namespace (CNI_NETNS, a GUID from
 * containerd). IPv4, IPv6 or both (dual-stack): the network has a Static subnet per family,
 * the endpoint an IpConfiguration and a default route per family (HNS 11.10+; ACN
 * network/network_windows.go, endpoint_windows.go). The orchestrator (cni/azure-vnet.c) owns the
 * state file, IPAM and the record IDs. Source of the behaviour: ../shared/reference/azure-vnet.md
 * §6, windows-hcn.md §A3. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "core/hcndoc.h"
#include "core/ipam.h"
#include "core/json.h"
#include "core/mac.h"
#include "core/netstate.h"
#include "platform/backend.h"
#include "platform/platform.h"
#include "platform/windows/hcn.h"
#include "platform/windows/winutil.h"

/* One session: the HCN library and this call's namespace. */
struct backend {
	struct hcn *hcn;
	char netns[HCNDOC_GUID_STRLEN];    /* CNI_NETNS normalized, "" when it is not a GUID */
};

static const char ipam_ours_type[] = "azure-vnet-ipam";
static const char ipam_cns_type[] = "azure-cns";  /* the orchestrator asks CNS (cni/ipam-cns.c) */

/* Azure's IPv6 gateway (the VNet router's link-local address; ACN network/network_windows.go
 * defaultIPv6NextHop, the Linux data plane's GW6): the HNS next hop of a pod's IPv6 default
 * route when the IPAM is ours (NMAgent/interfaces.json give no gateway; the IPAM's computed
 * first host ::1 stays in the result, as on Linux). CNS gives its own (or this one, Overlay). */
static const char azure_gw6[] = "fe80::1234:5678:9abc";

/* The pod's addresses of @res by family: index of its IPv4 and IPv6 address, -1 when none. */
struct families {
	int v4, v6;
};

static struct families families_of(const struct cni_result *res)
{
	struct families f = { -1, -1 };

	for (size_t i = 0; i < res->n_ips; i++) {
		int *slot = res->ips[i].address.addr.family == IPNET_AF_INET6 ? &f.v6 : &f.v4;

		if (*slot < 0)
			*slot = (int)i;
	}
	return f;
}

/* The gateway of @res's address @i: IPAM's, else the subnet's first host (IPv4) or Azure's
 * IPv6 gateway; an IPv6 one is Azure's when the IPAM is ours (azure_gw6). */
static struct ipnet_addr gateway_of(const struct conf *conf, const struct cni_result *res, int i)
{
	const struct cni_ipconfig *ip = &res->ips[i];
	struct ipnet_prefix net = ipnet_prefix_network(&ip->address);
	struct ipnet_addr gw;

	if (net.addr.family == IPNET_AF_INET6 &&
	    (!ip->gateway.family || strcmp(conf->ipam.type, ipam_cns_type) != 0)) {
		ipnet_addr_parse(azure_gw6, &gw);
		return gw;
	}
	return ip->gateway.family ? ip->gateway : ipnet_prefix_first_host(&net);
}

/* @res as HNS gets it: the IPv6 gateway and the IPv6 routes through it are gateway_of's. */
static void hns_view(const struct conf *conf, const struct cni_result *res, struct cni_result *ret)
{
	struct families f = families_of(res);
	struct ipnet_addr ipam_gw, gw;

	*ret = *res;
	if (f.v6 < 0)
		return;
	ipam_gw = res->ips[f.v6].gateway;
	gw = gateway_of(conf, res, f.v6);
	ret->ips[f.v6].gateway = gw;
	for (size_t i = 0; i < ret->n_routes; i++)
		if (ret->routes[i].dst.addr.family == IPNET_AF_INET6 &&
		    ipnet_addr_equal(&ret->routes[i].gw, &ipam_gw))
			ret->routes[i].gw = gw;
}

static int bad_netns(const struct cni_env *env, struct cni_error *err)
{
	return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
			     "CNI_NETNS must be an HCN namespace GUID (containerd); got \"%s\" "
			     "(HNS v1 / dockershim is not supported)", env->netns);
}

/* ---- validate, open, close ---- */

/* IPv4 and IPv6: dual-stack HCN endpoints (HNS 11.10+), or IPv6 alone on an IPv6-only NIC. */
static unsigned win_families(const struct conf *conf)
{
	(void)conf;
	return IPAM_FAMILY_ANY;
}

/* Only ADD is refused here (as the old program did): DEL, GC and STATUS must work with what ADD
 * would refuse, and CHECK's namespace is checked by open (BACKEND_NEED_SANDBOX). */
static int win_validate(const struct backend_call *call, struct cni_error *err)
{
	const struct conf *conf = call->conf;
	struct cni_dns dns;
	cJSON *pols = NULL;
	char ns[HCNDOC_GUID_STRLEN];
	int r;

	if (call->env->command != CNI_CMD_ADD)
		return 0;
	if (hcndoc_guid_normalize(call->env->netns, ns) < 0)
		return bad_netns(call->env, err);
	if (conf->ipam.type[0] && strcmp(conf->ipam.type, ipam_ours_type) != 0 &&
	    strcmp(conf->ipam.type, ipam_cns_type) != 0)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "ipam.type \"%s\" is not supported on Windows (azure-vnet-ipam "
				     "or azure-cns)", conf->ipam.type);
	r = hcndoc_policies(conf, NULL, NULL, &pols, err);
	cJSON_Delete(pols);
	if (r < 0)
		return r;
	return hcndoc_dns(conf, call->env->args.pod_namespace, NULL, &dns, err);
}

static int win_open(const struct backend_call *call, unsigned need, struct backend **ret,
		    struct cni_error *err)
{
	int s = call->conf->hns_timeout_s;
	struct backend *be;
	int r;

	be = calloc(1, sizeof(*be));
	if (!be)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	if (hcndoc_guid_normalize(call->env->netns, be->netns) < 0) {
		be->netns[0] = '\0';
		if (need & BACKEND_NEED_SANDBOX) {
			free(be);
			return bad_netns(call->env, err);
		}
	}
	r = hcn_open(s > 0 ? (unsigned)s * 1000u : 0, &be->hcn, err);
	if (r < 0) {
		free(be);
		return r;
	}
	*ret = be;
	return 0;
}

static struct backend *win_close(struct backend *be)
{
	if (be) {
		hcn_close(be->hcn);
		free(be);
	}
	return NULL;
}

/* ---- network ---- */

/* A recorded network is alive while HNS knows its ID; one without an HNS ID (or with one that is
 * not a GUID) is as good as gone: network_create finds or makes it by name. */
static int win_network_alive(struct backend *be, const struct backend_call *call,
			     const struct backend_network *net, struct cni_error *err)
{
	char id[HCNDOC_GUID_STRLEN];
	int r;

	(void)call;
	if (hcndoc_guid_normalize(net->net.hns_id, id) < 0)
		return 0;
	r = hcn_query(be->hcn, HCN_KIND_NETWORK, id, NULL, err);
	if (r == -ENOENT)
		return 0;
	return r < 0 ? r : 1;
}

/* The adapter the network binds: config adapterName, else the NIC holding an address in the
 * pool subnet, else "" (HNS picks). */
static void adapter_for(const struct conf *conf, const struct ipnet_prefix *subnet, char *buf,
			size_t size)
{
	struct ipnet_prefix net = ipnet_prefix_network(subnet);

	buf[0] = '\0';
	if (conf->adapter_name[0]) {
		snprintf(buf, size, "%s", conf->adapter_name);
		return;
	}
	if (win_adapter_for_prefix(net.addr.family, net.addr.bytes, net.len, buf, size) < 0)
		buf[0] = '\0';
}

/* Create the HCN network @n (its name, subnets, gateways, adapter); its ID into @ret_id. */
static int hns_network_create(struct backend *be, const struct hcndoc_network *n,
			      char ret_id[HCNDOC_GUID_STRLEN], struct cni_error *err)
{
	cJSON *doc = hcndoc_network(n, err);
	char *text = doc ? hcndoc_print(doc) : NULL;
	int r;

	cJSON_Delete(doc);
	if (!doc)
		return -EINVAL;
	if (!text)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	r = hcn_create(be->hcn, HCN_KIND_NETWORK, NULL, text, ret_id, NULL, err);
	platform_fault_point("HCN network create");
	free(text);
	if (r == 0)
		platform_log("created HCN network %s %s%s", n->name, ret_id,
			     n->subnet6.addr.family ? " (dual-stack)" : "");
	return r;
}

/* Add network @n->name with HNS ID @id to @st under the external interface @adapter ("" =
 * "Ethernet", as the old program recorded it): its subnet per family (IPv4 first, as Go's
 * Subnets). Returns 0 or -ENOMEM. */
static int network_record(struct netstate *st, const struct conf *conf, const char *adapter,
			  const struct hcndoc_network *n, const char *id, struct cni_error *err)
{
	struct netstate_extif *x = netstate_extif_get(st, adapter[0] ? adapter : "Ethernet");
	struct netstate_network fresh, *net;

	memset(&fresh, 0, sizeof(fresh));
	snprintf(fresh.id, sizeof(fresh.id), "%s", conf->name);
	snprintf(fresh.hns_id, sizeof(fresh.hns_id), "%s", id);
	snprintf(fresh.mode, sizeof(fresh.mode), "%s", conf->mode_str[0] ? conf->mode_str : "bridge");
	fresh.subnets[0].family = n->subnet.addr.family;
	fresh.subnets[0].prefix = n->subnet;
	fresh.subnets[0].gateway = n->gateway;
	fresh.n_subnets = 1;
	if (n->subnet6.addr.family) {
		fresh.subnets[1].family = IPNET_AF_INET6;
		fresh.subnets[1].prefix = n->subnet6;
		fresh.subnets[1].gateway = n->gateway6;
		fresh.n_subnets = 2;
	}
	net = x ? netstate_network_add(x, &fresh) : NULL;
	if (!net)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	if (x->n_subnets == 0) {
		for (size_t i = 0; i < fresh.n_subnets; i++)
			x->subnets[i] = fresh.subnets[i].prefix;
		x->n_subnets = fresh.n_subnets;
	}
	return 0;
}

/* The HCN network of this ADD's addresses @ipres: a subnet and gateway per family (IPv4 in
 * subnet, IPv6 in subnet6 beside it; IPv6-only: in subnet). */
static void network_of(const struct conf *conf, const struct cni_result *ipres,
		       struct hcndoc_network *ret)
{
	struct families f = families_of(ipres);
	int first = f.v4 >= 0 ? f.v4 : f.v6;

	memset(ret, 0, sizeof(*ret));
	ret->name = conf->name;
	ret->subnet = ipnet_prefix_network(&ipres->ips[first].address);
	ret->gateway = gateway_of(conf, ipres, first);
	if (f.v4 >= 0 && f.v6 >= 0) {
		ret->subnet6 = ipnet_prefix_network(&ipres->ips[f.v6].address);
		ret->gateway6 = gateway_of(conf, ipres, f.v6);
	}
}

/* Find the HCN network by name (one an earlier, forgotten run made, or the one HNS still has
 * after losing only our record of it) or create it, then record it (case B24 when @stale). */
static int win_network_create(struct backend *be, const struct backend_call *call,
			      const struct cni_result *ipres, struct netstate *st,
			      struct netstate_network *stale, struct cni_error *err)
{
	const struct conf *conf = call->conf;
	char id[HCNDOC_GUID_STRLEN] = "", adapter[NETSTATE_IFNAME_MAX] = "";
	struct hcndoc_network n;
	bool created = false;
	int r;

	if (ipres->n_ips == 0)
		return cni_error_set(err, -EINVAL, CNI_CODE_NO_ADDRESS, "IPAM returned no address");
	network_of(conf, ipres, &n);
	if (!stale)
		stale = netstate_find_network(st, conf->name, NULL);
	if (stale && stale->hns_id[0])
		platform_log("HCN network %s (%s) is gone: re-creating it", conf->name,
			     stale->hns_id);
	r = hcn_find_by_name(be->hcn, HCN_KIND_NETWORK, conf->name, id, NULL, err);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == -ENOENT || !stale)
		adapter_for(conf, &n.subnet, adapter, sizeof(adapter));
	n.adapter_name = adapter;
	if (r == -ENOENT) {
		r = hns_network_create(be, &n, id, err);
		if (r < 0)
			return r;
		created = true;
	}
	if (stale) {
		snprintf(stale->hns_id, sizeof(stale->hns_id), "%s", id);
		return 0;
	}
	r = network_record(st, conf, adapter, &n, id, err);
	if (r < 0 && created)
		hcn_delete(be->hcn, HCN_KIND_NETWORK, id, NULL);
	return r;
}

/* ---- endpoint ---- */

/* Detach endpoint @ep_id from namespace @netns ("" = none; errors ignored: the namespace may be
 * gone, antrea#2301) and delete it. Returns 0 (also when it was already gone) or negative errno. */
static int endpoint_remove(struct backend *be, const char *netns, const char *ep_id,
			   struct cni_error *err)
{
	cJSON *doc;
	char *text;
	int r;

	if (netns[0]) {
		doc = hcndoc_namespace_modify(ep_id, false);
		text = doc ? hcndoc_print(doc) : NULL;
		cJSON_Delete(doc);
		if (text) {
			struct cni_error ignored = { 0 };

			r = hcn_modify(be->hcn, HCN_KIND_NAMESPACE, netns, text, &ignored);
			platform_fault_point("HCN namespace detach");
			if (r < 0 && r != -ENOENT)
				platform_log("detach %s from namespace %s: %s", ep_id, netns,
					     ignored.msg);
			free(text);
		}
	}
	r = hcn_delete(be->hcn, HCN_KIND_ENDPOINT, ep_id, err);
	platform_fault_point("HCN endpoint delete");
	return r == -ENOENT ? 0 : r;
}

/* Remove the endpoint named @name, if any, detaching it from @netns first. Returns 0 (also when
 * there is none) or negative errno. */
static int endpoint_remove_by_name(struct backend *be, const char *netns, const char *name,
				   struct cni_error *err)
{
	char id[HCNDOC_GUID_STRLEN];
	int r;

	r = hcn_find_by_name(be->hcn, HCN_KIND_ENDPOINT, name, id, NULL, err);
	if (r == 0)
		r = endpoint_remove(be, netns, id, err);
	return r == -ENOENT ? 0 : r;
}

/* Copies the strings of JSON array @a (may be NULL) into @dst (at most CNI_MAX_DNS of @len
 * bytes each); returns the count. */
static size_t dns_strings(const cJSON *a, char *dst, size_t len)
{
	const cJSON *e;
	size_t n = 0;

	cJSON_ArrayForEach(e, a) {
		if (n == CNI_MAX_DNS)
			break;
		if (cJSON_IsString(e))
			snprintf(dst + n++ * len, len, "%s", e->valuestring);
	}
	return n;
}

/* The DNS of HCN endpoint properties @props (v2 "Dns": Domain, Search, ServerList, Options) into
 * *ret: 1, or 0 (and *ret untouched) when @props has none, or -ENOMEM (code 100) when cJSON ran
 * out of memory reading them. The state record keeps only the Go fields (Suffix, Servers,
 * Options), so the search list of a repeated ADD comes from HNS. */
static int dns_from_props(const char *props, struct cni_dns *ret, struct cni_error *err)
{
	bool oom = false;
	cJSON *doc = props ? json_parse(props, strlen(props), NULL, &oom) : NULL;
	const cJSON *d = doc ? cJSON_GetObjectItem(doc, "Dns") : NULL;
	const char *domain;

	if (oom)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	if (!cJSON_IsObject(d)) {
		cJSON_Delete(doc);
		return 0;
	}
	memset(ret, 0, sizeof(*ret));
	domain = cni_json_string(d, "Domain");
	snprintf(ret->domain, sizeof(ret->domain), "%s", domain ? domain : "");
	ret->n_search = dns_strings(cJSON_GetObjectItem(d, "Search"), ret->search[0],
				    sizeof(ret->search[0]));
	ret->n_nameservers = dns_strings(cJSON_GetObjectItem(d, "ServerList"), ret->nameservers[0],
					 sizeof(ret->nameservers[0]));
	ret->n_options = dns_strings(cJSON_GetObjectItem(d, "Options"), ret->options[0],
				     sizeof(ret->options[0]));
	cJSON_Delete(doc);
	return 1;
}

/* A repeated ADD of a live attachment answers as before: the record has an HNS ID (not a
 * placeholder), names this CNI_NETNS, and HNS still has the endpoint. Anything else is replaced
 * by a new attachment, except an HNS call that timed out (nothing more can be asked of HNS). */
static int win_endpoint_alive(struct backend *be, const struct backend_call *call,
			      const struct backend_network *net,
			      const struct netstate_endpoint *rec, struct cni_dns *ret_dns,
			      bool *ret_has_dns, struct cni_error *err)
{
	struct cni_error qerr = { 0 };
	char *props = NULL;
	int r;

	(void)call, (void)net;
	*ret_has_dns = false;
	if (!rec || !rec->hns_id[0] || !be->netns[0] || !hcndoc_guid_equal(rec->netns, be->netns))
		return 0;
	r = hcn_query(be->hcn, HCN_KIND_ENDPOINT, rec->hns_id, &props, &qerr);
	/* a hung HNS, or no memory to ask it: no verdict, and no new attachment in its place */
	if (r == -ETIMEDOUT || r == -ENOMEM) {
		cni_error_set(err, r, qerr.code, "%s", qerr.msg);
		cni_error_details(err, "%s", qerr.details);
		return r;
	}
	if (r < 0)
		return 0;
	r = dns_from_props(props, ret_dns, err);
	free(props);
	if (r < 0)
		return r;
	*ret_has_dns = r > 0;
	return 1;
}

static int win_dns(const struct backend_call *call, const struct cni_dns *ipam_dns,
		   struct cni_dns *ret, struct cni_error *err)
{
	return hcndoc_dns(call->conf, call->env->args.pod_namespace, ipam_dns, ret, err);
}

/* Create the endpoint @rec->id in network @net_id with @ipres's addresses and routes, the
 * call's DNS and @pols: its ID into @ret_id, its HCN properties into *ret_props (caller frees).
 * On failure *ret_left is set when an endpoint of that name may be left in HNS. */
static int endpoint_create(struct backend *be, const struct backend_call *call,
			   const char *net_id, const struct cni_result *ipres,
			   const struct netstate_endpoint *rec, const cJSON *pols,
			   char ret_id[HCNDOC_GUID_STRLEN], char **ret_props, bool *ret_left,
			   struct cni_error *err)
{
	struct cni_dns recorded;
	const struct cni_dns *dns = call->dns;
	char found[HCNDOC_GUID_STRLEN];
	cJSON *doc;
	char *text;
	int r;

	if (!dns) {
		/* without the call's DNS, the record's (it has no search list) */
		netstate_dns_get(&rec->dns, &recorded);
		dns = &recorded;
	}
	{
		struct cni_result hns;
		struct hcndoc_endpoint e = { .name = rec->id, .network_id = net_id, .ipam = &hns,
					     .dns = dns, .policies = pols };

		hns_view(call->conf, ipres, &hns);
		doc = hcndoc_endpoint(&e, err);
	}
	text = doc ? hcndoc_print(doc) : NULL;
	cJSON_Delete(doc);
	if (!text)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	r = hcn_create(be->hcn, HCN_KIND_ENDPOINT, net_id, text, ret_id, ret_props, err);
	platform_fault_point("HCN endpoint create");
	free(text);
	/* HNS may have made it even so (the read-back of the new ID failed): by name. After a
	 * timeout HNS may still be creating it: no further call (hcn_abandoned). */
	if (r < 0 && !hcn_abandoned(be->hcn)) {
		int f = hcn_find_by_name(be->hcn, HCN_KIND_ENDPOINT, rec->id, found, NULL, NULL);

		/* not found for want of memory is not "not there" */
		if ((f == 0 && endpoint_remove(be, be->netns, found, NULL) < 0) ||
		    (f < 0 && f != -ENOENT))
			*ret_left = true;
	}
	return r;
}

/* Attach endpoint @ep_id to this call's namespace. */
static int endpoint_attach(struct backend *be, const char *ep_id, struct cni_error *err)
{
	cJSON *doc = hcndoc_namespace_modify(ep_id, true);
	char *text = doc ? hcndoc_print(doc) : NULL;
	int r;

	cJSON_Delete(doc);
	if (!text)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	r = hcn_modify(be->hcn, HCN_KIND_NAMESPACE, be->netns, text, err);
	platform_fault_point("HCN namespace attach");
	free(text);
	if (r == -ENOENT)
		r = cni_error_set(err, r, CNI_CODE_NETWORK,
				  "HCN namespace %s (CNI_NETNS) or endpoint %s not found", be->netns,
				  ep_id);
	return r;
}

/* The endpoint's HNS fields of @rec from its ID, network and HCN properties (MacAddress).
 * Returns 0, or -ENOMEM (code 100, @rec untouched) when cJSON ran out of memory reading them:
 * a record without the MAC HNS gave would be saved. */
static int record_fill(struct netstate_endpoint *rec, const char *ep_id, const char *net_id,
		       const char *props, struct cni_error *err)
{
	bool oom = false;
	cJSON *doc = props ? json_parse(props, strlen(props), NULL, &oom) : NULL;

	if (oom)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	snprintf(rec->hns_id, sizeof(rec->hns_id), "%s", ep_id);
	snprintf(rec->hns_network_id, sizeof(rec->hns_network_id), "%s", net_id);
	rec->has_mac = mac_parse(doc ? cni_json_string(doc, "MacAddress") : NULL, rec->mac) == 0;
	cJSON_Delete(doc);
	return 0;
}

/* The endpoint policies of @ipres: the IPv4 side (its subnet; loopback DSR for the IPv4 address
 * only, as ACN getLoopbackDSRPolicy), then the IPv6 side (hcndoc_policies_v6). */
static int endpoint_policies(const struct backend_call *call, const struct cni_result *ipres,
			     cJSON **ret, struct cni_error *err)
{
	struct families f = families_of(ipres);
	struct ipnet_prefix subnet, subnet6;
	int r;

	if (f.v4 >= 0)
		subnet = ipnet_prefix_network(&ipres->ips[f.v4].address);
	r = hcndoc_policies(call->conf, f.v4 >= 0 ? &subnet : NULL,
			    f.v4 >= 0 ? &ipres->ips[f.v4].address.addr : NULL, ret, err);
	if (r < 0 || f.v6 < 0)
		return r;
	subnet6 = ipnet_prefix_network(&ipres->ips[f.v6].address);
	r = hcndoc_policies_v6(call->conf, &subnet6, *ret, err);
	if (r < 0) {
		cJSON_Delete(*ret);
		*ret = NULL;
	}
	return r;
}

/* An endpoint named @rec->id left by an earlier attempt of this owner (the name is reserved to
 * it) makes HcnCreateEndpoint fail with "already exists" (kubernetes#74766): it is removed first.
 * Then create, attach, fill @rec. On failure the endpoint is removed again; *ret_left when it
 * may not be (an HNS call timed out, or the removal failed). */
static int win_endpoint_add(struct backend *be, const struct backend_call *call,
			    const struct backend_network *net, const struct cni_result *ipres,
			    struct netstate_endpoint *rec, bool *ret_left, struct cni_error *err)
{
	char net_id[HCNDOC_GUID_STRLEN], ep_id[HCNDOC_GUID_STRLEN], *props = NULL;
	cJSON *pols = NULL;
	bool left = false;
	int r;

	*ret_left = false;
	if (!be->netns[0])
		return bad_netns(call->env, err);
	if (!net || hcndoc_guid_normalize(net->net.hns_id, net_id) < 0)
		return cni_error_set(err, -EINVAL, CNI_CODE_STATE,
				     "network %s has no HCN network ID", call->conf->name);
	if (ipres->n_ips == 0)
		return cni_error_set(err, -EINVAL, CNI_CODE_NO_ADDRESS, "IPAM returned no address");
	r = endpoint_policies(call, ipres, &pols, err);
	if (r < 0)
		return r;
	/* pod subnets (CNS): Azure DNS from the NC's primary IP, IMDS from the node's */
	if (call->cns_swift.nc_primary.family && strcmp(call->conf->execution_mode, "v4swift") == 0 &&
	    hcndoc_swift_nat(pols, &call->cns_swift.nc_primary) < 0) {
		r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
		goto out;
	}
	r = endpoint_remove_by_name(be, be->netns, rec->id, err);
	if (r < 0)
		goto out;
	r = endpoint_create(be, call, net_id, ipres, rec, pols, ep_id, &props, &left, err);
	if (r < 0)
		goto out;
	r = endpoint_attach(be, ep_id, err);
	if (r >= 0)
		r = record_fill(rec, ep_id, net_id, props, err);
	if (r < 0) {
		/* fails at once when an HNS call of this ADD timed out */
		if (endpoint_remove(be, be->netns, ep_id, NULL) < 0)
			left = true;
		goto out;
	}
	/* as Go's Windows record (ACN network/endpoint_windows.go): SandboxKey is the container ID,
	 * the namespace GUID is in NetNs (rec->netns) */
	snprintf(rec->sandbox_key, sizeof(rec->sandbox_key), "%s", call->env->container_id);
	platform_log("ADD %s: endpoint %s (%s) in network %s, namespace %s", rec->id, ep_id,
		     call->env->container_id, net_id, be->netns);
out:
	/* after a timeout HNS may still finish what it was doing with this name */
	if (r < 0)
		*ret_left = left || hcn_abandoned(be->hcn);
	free(props);
	cJSON_Delete(pols);
	return r;
}

/* DEL and GC: detach from the namespace recorded at ADD (CNI_NETNS may name another, or none;
 * GC has none) and delete by the recorded HNS ID, or, for a placeholder or an unrecorded
 * attachment (an ADD that did not finish, a lost state), by each name in @names (the record's
 * ID when none are given). Gone = done (case B22). Uses only @rec and @names, so it works for
 * GC, whose CNI_CONTAINERID is not the record's owner. */
static int win_endpoint_del(struct backend *be, const struct backend_call *call,
			    const struct backend_network *net, const struct netstate_endpoint *rec,
			    bool recorded, const char *const *names, size_t n_names,
			    struct cni_error *err)
{
	char netns[HCNDOC_GUID_STRLEN] = "", ep_id[HCNDOC_GUID_STRLEN];
	const char *own[1];
	size_t i;
	int r;

	(void)net;
	if (rec && hcndoc_guid_normalize(rec->netns, netns) < 0)
		netns[0] = '\0';
	if (!netns[0] && call->env->command == CNI_CMD_DEL)
		memcpy(netns, be->netns, sizeof(netns));
	if (rec && rec->hns_id[0] && hcndoc_guid_normalize(rec->hns_id, ep_id) == 0)
		return endpoint_remove(be, netns, ep_id, err);
	if (n_names == 0 && recorded && rec && rec->id[0]) {
		own[0] = rec->id;
		names = own;
		n_names = 1;
	}
	for (i = 0; i < n_names; i++) {
		r = endpoint_remove_by_name(be, netns, names[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- CHECK: the recorded endpoint exists in HNS, sits in CNI_NETNS, holds the recorded IPs ---- */

static int check_recorded(const struct netstate_endpoint *rec, struct cni_error *err)
{
	if (!rec || !rec->hns_id[0])
		return cni_error_check_fail(err, "no endpoint %s recorded for this container",
					    rec ? rec->id : "");
	return 0;
}

/* The endpoint's HCN properties as JSON into *ret_doc (NULL when HNS returned no JSON). */
static int check_exists(struct backend *be, const struct netstate_endpoint *rec, cJSON **ret_doc,
			struct cni_error *err)
{
	char *props = NULL;
	bool oom;
	int r;

	r = hcn_query(be->hcn, HCN_KIND_ENDPOINT, rec->hns_id, &props, err);
	if (r == -ENOENT)
		return cni_error_check_fail(err, "HCN endpoint %s (%s) does not exist", rec->id,
					    rec->hns_id);
	if (r < 0)
		return r;
	*ret_doc = json_parse(props, strlen(props), NULL, &oom);
	free(props);
	/* not "not attached" or "lacks address": no verdict */
	if (oom)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	return 0;
}

static int check_namespace(const struct backend *be, const struct netstate_endpoint *rec,
			   const cJSON *doc, struct cni_error *err)
{
	const char *ns = doc ? cni_json_string(doc, "HostComputeNamespace") : NULL;

	if (be->netns[0] && (!ns || !hcndoc_guid_equal(ns, be->netns)))
		return cni_error_check_fail(err, "HCN endpoint %s is not attached to namespace %s",
					    rec->id, be->netns);
	return 0;
}

static bool has_address(const cJSON *ipcs, const char *addr)
{
	const cJSON *ipc;

	cJSON_ArrayForEach(ipc, ipcs) {
		const char *a = cni_json_string(ipc, "IpAddress");

		if (a && strcmp(a, addr) == 0)
			return true;
	}
	return false;
}

static int check_addresses(const struct netstate_endpoint *rec, const cJSON *doc,
			   struct cni_error *err)
{
	const cJSON *ipcs = doc ? cJSON_GetObjectItem(doc, "IpConfigurations") : NULL;
	char buf[IPNET_ADDR_STRLEN];
	size_t i;

	for (i = 0; i < rec->n_ips; i++) {
		ipnet_addr_format(&rec->ips[i].addr, buf, sizeof(buf));
		if (!has_address(ipcs, buf))
			return cni_error_check_fail(err, "HCN endpoint %s lacks address %s", rec->id,
						    buf);
	}
	return 0;
}

static int win_endpoint_check(struct backend *be, const struct backend_call *call,
			      const struct backend_network *net,
			      const struct netstate_endpoint *rec, struct cni_error *err)
{
	cJSON *doc = NULL;
	int r;

	(void)call, (void)net;
	r = check_recorded(rec, err);
	if (r == 0)
		r = check_exists(be, rec, &doc, err);
	if (r == 0)
		r = check_namespace(be, rec, doc, err);
	if (r == 0)
		r = check_addresses(rec, doc, err);
	cJSON_Delete(doc);
	return r;
}

/* ---- attachments ---- */

/* An endpoint's properties @props as an attachment into @a: its name (the record key it was
 * made with) as the object; the owner when the name is one of our "<cid>:<ifname>[/<k>]" keys
 * (the Go name "<cid[:8]>-<ifname>" names only a prefix: owner "" then); its addresses; of
 * network @netid ("" = none found) or not. Returns 1, 0 when @props is not an endpoint
 * document, or -ENOMEM (code 100) when cJSON ran out of memory reading it: an endpoint left out
 * would look free to the caller (IPAM state rebuilt without its addresses). */
static int attachment_of(const char *props, const char *netid, struct backend_attachment *a,
			 struct cni_error *err)
{
	bool oom;
	cJSON *doc = json_parse(props, strlen(props), NULL, &oom), *ipc;
	const cJSON *name = doc ? cJSON_GetObjectItem(doc, "Name") : NULL;
	const cJSON *net = doc ? cJSON_GetObjectItem(doc, "HostComputeNetwork") : NULL;
	const char *colon;

	memset(a, 0, sizeof(*a));
	if (oom)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	if (!cJSON_IsString(name) || !name->valuestring[0]) {
		cJSON_Delete(doc);
		return 0;
	}
	snprintf(a->host_ifname, sizeof(a->host_ifname), "%s", name->valuestring);
	colon = strrchr(name->valuestring, ':');
	if (colon && colon > name->valuestring &&
	    (size_t)(colon - name->valuestring) < sizeof(a->container_id)) {
		snprintf(a->container_id, sizeof(a->container_id), "%.*s",
			 (int)(colon - name->valuestring), name->valuestring);
		snprintf(a->ifname, sizeof(a->ifname), "%.*s", (int)strcspn(colon + 1, "/"),
			 colon + 1);
	}
	a->this_network = netid[0] && cJSON_IsString(net) && hcndoc_guid_equal(net->valuestring, netid);
	cJSON_ArrayForEach(ipc, cJSON_GetObjectItem(doc, "IpConfigurations")) {
		const cJSON *ip = cJSON_GetObjectItem(ipc, "IpAddress");

		if (cJSON_IsString(ip) && a->n_ips < NETSTATE_MAX_IPS &&
		    ipnet_addr_parse(ip->valuestring, &a->ips[a->n_ips]) == 0)
			a->n_ips++;
	}
	cJSON_Delete(doc);
	return 1;
}

/* Every HCN endpoint, traced by its name (attachment_of); this_network for those on the HNS
 * network named as the config. */
static int win_attachments(struct backend *be, const struct backend_call *call,
			   struct backend_attachment **ret, size_t *ret_n, struct cni_error *err)
{
	char netid[HCNDOC_GUID_STRLEN] = "", (*ids)[HCNDOC_GUID_STRLEN] = NULL;
	struct backend_attachment *out = NULL;
	size_t n = 0, i, k = 0;
	int r;

	r = hcn_find_by_name(be->hcn, HCN_KIND_NETWORK, call->conf->name, netid, NULL, err);
	if (r == -ENOENT) {
		netid[0] = '\0';
		r = 0;
	}
	if (r >= 0)
		r = hcn_list(be->hcn, HCN_KIND_ENDPOINT, &ids, &n, err);
	if (r >= 0 && n && !(out = calloc(n, sizeof(*out))))
		r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	for (i = 0; r >= 0 && i < n; i++) {
		char *props = NULL;
		int q = hcn_query(be->hcn, HCN_KIND_ENDPOINT, ids[i], &props, err);

		if (q == -ENOENT)
			continue;  /* deleted since the enumeration */
		if (q >= 0)
			q = attachment_of(props, netid, &out[k], err);
		free(props);
		if (q < 0) {
			r = q;
			break;
		}
		k += (size_t)q;
	}
	free(ids);
	if (r < 0 || !k) {
		free(out);
		out = NULL;
	}
	if (r >= 0) {
		*ret = out;
		*ret_n = k;
	}
	return r < 0 ? r : 0;
}

/* ---- result, finish ---- */

/* One interface: CNI_IFNAME with the endpoint's MAC, in CNI_NETNS (the recorded sandbox when the
 * call has none). */
static int win_result_interfaces(struct backend *be, const struct backend_call *call,
				 const struct netstate_endpoint *rec, struct cni_result *ret)
{
	const struct cni_env *env = call->env;
	struct cni_iface *i = &ret->interfaces[0];

	(void)be;
	memset(i, 0, sizeof(*i));
	snprintf(i->name, sizeof(i->name), "%s", env->ifname[0] ? env->ifname : rec->ifname);
	if (rec->has_mac)
		mac_format(rec->mac, MAC_COLON_LOWER, i->mac, sizeof(i->mac));
	snprintf(i->sandbox, sizeof(i->sandbox), "%s", env->netns[0] ? env->netns : rec->netns);
	ret->n_interfaces = 1;
	return 0;
}

/* Never DLL_PROCESS_DETACH with an abandoned HNS worker inside computenetwork.dll. */
static void win_finish(int rc)
{
	hcn_exit_if_abandoned(rc);
}

const struct backend_ops *backend_native(void)
{
	static const struct backend_ops ops = {
		.name = "windows",
		.reserve_name = true,
		.validate = win_validate,
		.mode = NULL,
		.families = win_families,
		.open = win_open,
		.close = win_close,
		.network_alive = win_network_alive,
		.network_create = win_network_create,
		.network_undo = NULL,
		.endpoint_alive = win_endpoint_alive,
		.dns = win_dns,
		.endpoint_add = win_endpoint_add,
		.endpoint_del = win_endpoint_del,
		.del_needs_ips = NULL,
		.attachments = win_attachments,
		.endpoint_check = win_endpoint_check,
		.result_interfaces = win_result_interfaces,
		.finish = win_finish,
	};

	return &ops;
}
