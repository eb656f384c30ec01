/* SPDX-License-Identifier: MIT */
/* azure-vnet.exe: attaches a pod's HCN namespace (CNI_NETNS, a GUID from containerd) to the VM's
 * virtual network through HCN (HNS v2, computenetwork.dll): one L2Bridge network per config name
 * (created once, re-created when HNS lost it after a reboot), one endpoint per attachment
 * ("<cid[:8]>-<ifname>", or "<cid>-<ifname>" when another container holds that name) with the
 * IPAM address, routes, DNS and the translated policies. IPAM in-process (azure-vnet-ipam).
 * State: C:\k\azure-vnet.json in the Go layout. ADD, DEL and CHECK of one attachment run under
 * its own lock (plugin_owner_lock, taken by plugin_main).
 * Source of the behaviour: ../shared/reference/azure-vnet.md §6, windows-hcn.md §A3. */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hcndoc.h"
#include "core/mac.h"
#include "core/netstate.h"
#include "platform/platform.h"
#include "platform/windows/hcn.h"
#include "platform/windows/winutil.h"

/* What one call works with. */
struct win {
	struct plugin_ctx *ctx;
	const struct conf *conf;
	char epid[NETSTATE_ID_MAX];          /* Go endpoint ID "<cid[:8]>-<ifname>" (the whole
						* container ID when it has 8 characters or fewer) */
	char full[NETSTATE_ID_MAX];          /* "<cid>-<ifname>": the ID when another owner holds epid */
	char ep_name[NETSTATE_ID_MAX];       /* this owner's record ID = its HCN endpoint name:
						* epid or full (from its record, else epid) */
	char netns[HCNDOC_GUID_STRLEN];      /* "" when CNI_NETNS is not a GUID */
	struct hcn *hcn;
};

static void win_init(struct win *w, struct plugin_ctx *ctx)
{
	memset(w, 0, sizeof(*w));
	w->ctx = ctx;
	w->conf = &ctx->conf;
	/* the same string as hcndoc_endpoint_name: the record ID is the HCN endpoint name */
	netstate_endpoint_id(ctx->env.container_id, ctx->env.ifname, w->epid, sizeof(w->epid));
	snprintf(w->full, sizeof(w->full), "%.*s-%.*s", (int)(sizeof(w->full) - CNI_IFNAME_MAX - 2),
		 ctx->env.container_id, CNI_IFNAME_MAX, ctx->env.ifname);
	memcpy(w->ep_name, w->epid, sizeof(w->ep_name));
	if (hcndoc_guid_normalize(ctx->env.netns, w->netns) < 0)
		w->netns[0] = '\0';
}

static int win_hcn(struct win *w, struct cni_error *err)
{
	unsigned ms = w->conf->hns_timeout_s > 0 ? (unsigned)w->conf->hns_timeout_s * 1000u : 0;

	if (w->hcn)
		return 0;
	return hcn_open(ms, &w->hcn, err);
}

static void win_fini(struct win *w)
{
	w->hcn = hcn_close(w->hcn);
}

/* ---- state file ---- */

/* The record of this call's owner (container ID + ifname): the Go-style ID is shared by
 * containers with the same first 8 characters (default-pod-a, default-pod-b), so the owner
 * decides; a record without a container ID (hand-written or very old) matches by ID. */
static struct netstate_endpoint *find_ep(struct win *w, struct netstate_network *net)
{
	struct netstate_endpoint *ep;

	if (!net)
		return NULL;
	ep = netstate_find_endpoint_by_owner(net, w->ctx->env.container_id, w->ctx->env.ifname);
	if (ep)
		return ep;
	ep = netstate_find_endpoint(net, w->epid);
	return ep && !ep->container_id[0] ? ep : NULL;
}

/* A copy of this attachment's endpoint record: 1 when found (w->ep_name becomes its ID), 0 when
 * not, or negative errno. */
static int state_get_endpoint(struct win *w, struct netstate_endpoint *ret, struct cni_error *err)
{
	struct netstate_endpoint *ep;
	struct netstate st;
	int r;

	r = state_read(&st, err);
	if (r < 0)
		return r;
	ep = find_ep(w, netstate_find_network(&st, w->conf->name, NULL));
	if (ep) {
		*ret = *ep;
		snprintf(w->ep_name, sizeof(w->ep_name), "%s", ep->id);
	}
	netstate_free(&st);
	return ep ? 1 : 0;
}

/* The HCN endpoint names a DEL without a record may remove: "<cid>-<ifname>" (only this owner
 * makes it) and the Go-style one unless the state gives that ID to another owner (whose
 * endpoint it then is). Writes 1 or 2 names into @names; returns the count or negative errno. */
static int unrecorded_names(struct win *w, char names[2][NETSTATE_ID_MAX], struct cni_error *err)
{
	struct netstate_endpoint *other;
	struct netstate_network *net;
	struct netstate st;
	int r, n = 0;

	r = state_read(&st, err);
	if (r < 0)
		return r;
	net = netstate_find_network(&st, w->conf->name, NULL);
	other = net ? netstate_find_endpoint(net, w->epid) : NULL;
	if (!other || !other->container_id[0] ||
	    (strcmp(other->container_id, w->ctx->env.container_id) == 0 &&
	     strcmp(other->ifname, w->ctx->env.ifname) == 0))
		memcpy(names[n++], w->epid, NETSTATE_ID_MAX);
	if (strcmp(w->full, w->epid) != 0)
		memcpy(names[n++], w->full, NETSTATE_ID_MAX);
	netstate_free(&st);
	return n;
}

/* ---- network ---- */

/* The adapter the network binds: config adapterName, else the NIC holding an address in the
 * pool subnet, else "" (HNS picks). */
static void adapter_for(const struct win *w, const struct ipnet_prefix *subnet, char *buf,
			size_t size)
{
	struct ipnet_prefix net = ipnet_prefix_network(subnet);

	buf[0] = '\0';
	if (w->conf->adapter_name[0]) {
		snprintf(buf, size, "%s", w->conf->adapter_name);
		return;
	}
	if (win_adapter_for_prefix(net.addr.family, net.addr.bytes, net.len, buf, size) < 0)
		buf[0] = '\0';
}

/* Record network @id (HNS ID) as @w->conf->name in the state (adding the network and its
 * external interface when missing), unless another call recorded a different ID than @seen (the
 * ID this call found in the state) meanwhile: then *ret_use gets that one (compare-and-set).
 * Returns 0 or negative errno. */
static int network_record(struct win *w, const struct ipnet_prefix *subnet,
			  const struct ipnet_addr *gw, const char *seen, const char *id,
			  char ret_use[HCNDOC_GUID_STRLEN], struct cni_error *err)
{
	struct platform_lock *l = NULL;
	struct netstate_network *net, fresh;
	struct netstate_extif *x;
	struct netstate st;
	char adapter[NETSTATE_IFNAME_MAX];
	int r;

	r = state_lock(&l, err);
	if (r < 0)
		return r;
	r = state_load(&st, err);
	if (r < 0)
		goto unlock;
	net = netstate_find_network(&st, w->conf->name, NULL);
	if (net && net->hns_id[0] && strcmp(net->hns_id, seen) != 0 &&
	    hcndoc_guid_normalize(net->hns_id, ret_use) == 0)
		goto out;
	if (!net) {
		adapter_for(w, subnet, adapter, sizeof(adapter));
		x = netstate_extif_get(&st, adapter[0] ? adapter : "Ethernet");
		memset(&fresh, 0, sizeof(fresh));
		snprintf(fresh.id, sizeof(fresh.id), "%s", w->conf->name);
		snprintf(fresh.mode, sizeof(fresh.mode), "%s",
			 w->conf->mode_str[0] ? w->conf->mode_str : "bridge");
		fresh.subnets[0].family = subnet->addr.family;
		fresh.subnets[0].prefix = ipnet_prefix_network(subnet);
		fresh.subnets[0].gateway = *gw;
		fresh.n_subnets = 1;
		net = x ? netstate_network_add(x, &fresh) : NULL;
		if (!net) {
			r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
			goto out;
		}
		if (x->n_subnets == 0) {
			x->subnets[0] = ipnet_prefix_network(subnet);
			x->n_subnets = 1;
		}
	}
	snprintf(net->hns_id, sizeof(net->hns_id), "%s", id);
	memcpy(ret_use, id, HCNDOC_GUID_STRLEN);
	r = state_save(&st, err);
out:
	netstate_free(&st);
unlock:
	platform_lock_release(l);
	return r;
}

/* Makes sure the HCN network exists and is recorded; writes its ID to @ret_id. HNS is asked
 * outside the state lock (a hung HNS must not hold every pod's ADD): the state is read under
 * the lock, the recorded ID queried unlocked (the common case ends there). A recorded ID that
 * HNS no longer knows (reboot, HNS restart: the network is non-persistent) is replaced by the
 * network found by name or by a new one (case B24), recorded under the lock by
 * compare-and-set: when another ADD recorded a network meanwhile, that one is used and a
 * network this call created is deleted again. */
static int network_ensure(struct win *w, const struct ipnet_prefix *subnet,
			  const struct ipnet_addr *gw, char ret_id[HCNDOC_GUID_STRLEN],
			  struct cni_error *err)
{
	struct netstate_network *net;
	struct netstate st;
	char seen[NETSTATE_ID_MAX] = "", id[HCNDOC_GUID_STRLEN] = "", use[HCNDOC_GUID_STRLEN];
	char adapter[NETSTATE_IFNAME_MAX], *doc_text = NULL;
	bool recorded = false, created = false;
	cJSON *doc;
	int r;

	r = state_read(&st, err);
	if (r < 0)
		return r;
	net = netstate_find_network(&st, w->conf->name, NULL);
	if (net) {
		recorded = true;
		snprintf(seen, sizeof(seen), "%s", net->hns_id);
	}
	netstate_free(&st);

	if (seen[0]) {
		r = hcn_query(w->hcn, HCN_KIND_NETWORK, seen, NULL, err);
		if (r == 0 && recorded && hcndoc_guid_normalize(seen, ret_id) == 0)
			return 0;
		if (r < 0 && r != -ENOENT)
			return r;
		platform_log("HCN network %s (%s) is gone: re-creating it", w->conf->name, seen);
	}
	r = hcn_find_by_name(w->hcn, HCN_KIND_NETWORK, w->conf->name, id, NULL, err);
	if (r == -ENOENT) {
		struct hcndoc_network n = { .name = w->conf->name, .subnet = *subnet,
					    .gateway = *gw, .adapter_name = adapter };

		adapter_for(w, subnet, adapter, sizeof(adapter));
		doc = hcndoc_network(&n, err);
		doc_text = doc ? hcndoc_print(doc) : NULL;
		cJSON_Delete(doc);
		if (!doc_text)
			return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
		r = hcn_create(w->hcn, HCN_KIND_NETWORK, NULL, doc_text, id, NULL, err);
		free(doc_text);
		if (r < 0)
			return r;
		created = true;
		platform_log("created HCN network %s %s", w->conf->name, id);
	} else if (r < 0) {
		return r;
	}
	r = network_record(w, subnet, gw, seen, id, use, err);
	if (r < 0)
		return r;
	if (created && strcmp(use, id) != 0) {
		platform_log("HCN network %s: another ADD recorded %s first; deleting %s", w->conf->name,
			     use, id);
		hcn_delete(w->hcn, HCN_KIND_NETWORK, id, NULL);
	}
	memcpy(ret_id, use, HCNDOC_GUID_STRLEN);
	return 0;
}

/* ---- endpoint ---- */

/* Detach the endpoint from the pod's namespace (errors ignored: the namespace may be gone,
 * antrea#2301) and delete it. Returns 0 (also when it was already gone) or negative errno. */
static int endpoint_remove(struct win *w, const char *ep_id, struct cni_error *err)
{
	cJSON *doc;
	char *text;
	int r;

	if (w->netns[0]) {
		doc = hcndoc_namespace_modify(ep_id, false);
		text = doc ? hcndoc_print(doc) : NULL;
		cJSON_Delete(doc);
		if (text) {
			struct cni_error ignored = { 0 };

			r = hcn_modify(w->hcn, HCN_KIND_NAMESPACE, w->netns, text, &ignored);
			if (r < 0 && r != -ENOENT)
				platform_log("detach %s from namespace %s: %s", ep_id, w->netns,
					     ignored.msg);
			free(text);
		}
	}
	r = hcn_delete(w->hcn, HCN_KIND_ENDPOINT, ep_id, err);
	return r == -ENOENT ? 0 : r;
}

/* The attachment as a CNI result and its state record. */
static void fill_record(struct win *w, const struct cni_result *ipres, const struct cni_dns *dns,
			const char *net_id, const char *ep_id, const char *props,
			struct netstate_endpoint *ep, struct cni_result *ret)
{
	const struct cni_args *a = &w->ctx->env.args;
	cJSON *doc = props ? cJSON_Parse(props) : NULL;
	size_t i;

	memset(ep, 0, sizeof(*ep));
	snprintf(ep->id, sizeof(ep->id), "%s", w->ep_name);
	snprintf(ep->hns_id, sizeof(ep->hns_id), "%s", ep_id);
	snprintf(ep->hns_network_id, sizeof(ep->hns_network_id), "%s", net_id);
	snprintf(ep->sandbox_key, sizeof(ep->sandbox_key), "%s", w->ctx->env.netns);
	snprintf(ep->netns, sizeof(ep->netns), "%s", w->ctx->env.netns);
	snprintf(ep->ifname, sizeof(ep->ifname), "%s", w->ctx->env.ifname);
	snprintf(ep->container_id, sizeof(ep->container_id), "%s", w->ctx->env.container_id);
	snprintf(ep->pod_name, sizeof(ep->pod_name), "%s", a->pod_name);
	snprintf(ep->pod_namespace, sizeof(ep->pod_namespace), "%s", a->pod_namespace);
	ep->has_mac = mac_parse(doc ? cni_json_string(doc, "MacAddress") : NULL, ep->mac) == 0;
	cJSON_Delete(doc);
	for (i = 0; i < ipres->n_ips && i < NETSTATE_MAX_IPS; i++) {
		ep->ips[ep->n_ips++] = ipres->ips[i].address;
		if (ipres->ips[i].gateway.family)
			ep->gateways[ep->n_gateways++] = ipres->ips[i].gateway;
	}
	for (i = 0; i < ipres->n_routes && i < NETSTATE_MAX_ROUTES; i++) {
		ep->routes[ep->n_routes].dst = ipres->routes[i].dst;
		ep->routes[ep->n_routes].gw = ipres->routes[i].gw;
		ep->n_routes++;
	}
	netstate_dns_set(&ep->dns, dns);

	memset(ret, 0, sizeof(*ret));
	snprintf(ret->interfaces[0].name, sizeof(ret->interfaces[0].name), "%s", w->ctx->env.ifname);
	if (ep->has_mac)
		mac_format(ep->mac, MAC_COLON_LOWER, ret->interfaces[0].mac,
			   sizeof(ret->interfaces[0].mac));
	snprintf(ret->interfaces[0].sandbox, sizeof(ret->interfaces[0].sandbox), "%s",
		 w->ctx->env.netns);
	ret->n_interfaces = 1;
	for (i = 0; i < ipres->n_ips; i++) {
		ret->ips[i] = ipres->ips[i];
		ret->ips[i].iface = 0;
	}
	ret->n_ips = ipres->n_ips;
	memcpy(ret->routes, ipres->routes, sizeof(ret->routes));
	ret->n_routes = ipres->n_routes;
	ret->dns = *dns;
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
 * *ret; false (and *ret untouched) when @props has none. The state record keeps only the Go
 * fields (Suffix, Servers, Options), so the search list of a repeated ADD comes from HNS. */
static bool dns_from_props(const char *props, struct cni_dns *ret)
{
	cJSON *doc = props ? cJSON_Parse(props) : NULL;
	const cJSON *d = doc ? cJSON_GetObjectItem(doc, "Dns") : NULL;
	const char *domain;

	if (!cJSON_IsObject(d)) {
		cJSON_Delete(doc);
		return false;
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
	return true;
}

/* The result of an attachment recorded by an earlier ADD; @props (may be NULL) are the live
 * endpoint's HCN properties, whose DNS wins over the record's. */
static void result_from_record(struct win *w, const struct netstate_endpoint *ep,
			       const char *props, struct cni_result *ret)
{
	struct cni_result ipres;
	struct netstate_endpoint copy;
	struct cni_dns dns;
	size_t i, j;

	memset(&ipres, 0, sizeof(ipres));
	for (i = 0; i < ep->n_ips && i < CNI_MAX_IPS; i++) {
		ipres.ips[i].address = ep->ips[i];
		for (j = 0; j < ep->n_gateways; j++)
			if (ep->gateways[j].family == ep->ips[i].addr.family) {
				ipres.ips[i].gateway = ep->gateways[j];
				break;
			}
		ipres.n_ips++;
	}
	for (i = 0; i < ep->n_routes && i < CNI_MAX_ROUTES; i++) {
		ipres.routes[i].dst = ep->routes[i].dst;
		ipres.routes[i].gw = ep->routes[i].gw;
		ipres.routes[i].scope = -1;
		ipres.n_routes++;
	}
	netstate_dns_get(&ep->dns, &dns);
	fill_record(w, &ipres, &dns, ep->hns_network_id, ep->hns_id, NULL, &copy, ret);
	dns_from_props(props, &ret->dns);
	if (ep->has_mac)
		mac_format(ep->mac, MAC_COLON_LOWER, ret->interfaces[0].mac,
			   sizeof(ret->interfaces[0].mac));
}

/* The network @w->conf->name in @st, or code 104 when it vanished (network_ensure recorded it
 * earlier in this ADD). */
static struct netstate_network *own_network(struct win *w, struct netstate *st,
					    struct cni_error *err)
{
	struct netstate_network *net = netstate_find_network(st, w->conf->name, NULL);

	if (!net)
		cni_error_set(err, -ENOENT, CNI_CODE_STATE, "network %s vanished from %s during ADD",
			      w->conf->name, platform_path(PLATFORM_PATH_NET_STATE));
	return net;
}

struct put_arg {
	struct win *w;
	const struct netstate_endpoint *ep;
};

static int put_endpoint(struct netstate *st, void *arg, struct cni_error *err)
{
	struct put_arg *a = arg;
	struct netstate_network *net = own_network(a->w, st, err);

	if (!net)
		return -ENOENT;
	if (netstate_endpoint_put(net, a->ep) < 0)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	return 1;
}

/* Add or replace @ep in network @w->conf->name (which network_ensure recorded). */
static int state_put_endpoint(struct win *w, const struct netstate_endpoint *ep,
			      struct cni_error *err)
{
	struct put_arg a = { w, ep };

	return state_update(put_endpoint, &a, err);
}

struct reserve_arg {
	struct win *w;
	const char *net_id;
};

static int reserve(struct netstate *st, void *arg, struct cni_error *err)
{
	struct reserve_arg *ra = arg;
	struct win *w = ra->w;
	const struct cni_args *a = &w->ctx->env.args;
	struct netstate_network *net = own_network(w, st, err);
	struct netstate_endpoint *ep, *other, rec;

	if (!net)
		return -ENOENT;
	ep = find_ep(w, net);
	if (ep) {
		snprintf(w->ep_name, sizeof(w->ep_name), "%s", ep->id);
	} else {
		other = netstate_find_endpoint(net, w->epid);
		memcpy(w->ep_name, other ? w->full : w->epid, sizeof(w->ep_name));
	}
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.id, sizeof(rec.id), "%s", w->ep_name);
	snprintf(rec.hns_network_id, sizeof(rec.hns_network_id), "%s", ra->net_id);
	snprintf(rec.sandbox_key, sizeof(rec.sandbox_key), "%s", w->ctx->env.netns);
	snprintf(rec.netns, sizeof(rec.netns), "%s", w->ctx->env.netns);
	snprintf(rec.ifname, sizeof(rec.ifname), "%s", w->ctx->env.ifname);
	snprintf(rec.container_id, sizeof(rec.container_id), "%s", w->ctx->env.container_id);
	snprintf(rec.pod_name, sizeof(rec.pod_name), "%s", a->pod_name);
	snprintf(rec.pod_namespace, sizeof(rec.pod_namespace), "%s", a->pod_namespace);
	if (netstate_endpoint_put(net, &rec) < 0)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	return 1;
}

/* Reserve this owner's record ID (= HCN endpoint name) before HNS sees the name, so two owners
 * with the same first 8 characters never share an endpoint name: the owner's record keeps its
 * ID; a new owner gets the Go-style ID unless another owner's record holds it, then
 * "<cid>-<ifname>" (as on Linux). The record is written as a placeholder (no HnsId: an ADD in
 * progress or one that did not finish; DEL, GC and the next ADD remove its endpoint by name).
 * Sets w->ep_name. Returns 0 or negative errno. */
static int state_reserve(struct win *w, const char *net_id, struct cni_error *err)
{
	struct reserve_arg a = { w, net_id };

	return state_update(reserve, &a, err);
}

static int remove_endpoint(struct netstate *st, void *arg, struct cni_error *err)
{
	struct win *w = arg;
	struct netstate_network *net = netstate_find_network(st, w->conf->name, NULL);
	struct netstate_endpoint *ep = find_ep(w, net);

	(void)err;
	return ep && netstate_endpoint_remove(net, ep->id) > 0 ? 1 : 0;
}

/* Drop this attachment's record (absent = done). */
static int state_remove_endpoint(struct win *w, struct cni_error *err)
{
	return state_update(remove_endpoint, w, err);
}

static bool ipam_ours(const struct conf *c)
{
	return strcmp(c->ipam.type, "azure-vnet-ipam") == 0;
}

/* Checks that need no HCN call and no address: so a bad config fails before anything changes. */
static int validate(struct win *w, struct cni_error *err)
{
	struct cni_dns dns;
	cJSON *pols = NULL;
	int r;

	if (!w->netns[0])
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
				     "CNI_NETNS must be an HCN namespace GUID (containerd); got \"%s\" "
				     "(HNS v1 / dockershim is not supported)", w->ctx->env.netns);
	if (!ipam_ours(w->conf))
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "ipam.type \"%s\" is not supported on Windows (azure-vnet-ipam)",
				     w->conf->ipam.type);
	r = hcndoc_policies(w->conf, NULL, NULL, &pols, err);
	cJSON_Delete(pols);
	if (r < 0)
		return r;
	return hcndoc_dns(w->conf, w->ctx->env.args.pod_namespace, NULL, &dns, err);
}

/* ---- commands ----
 * add_owned, del_owned and check_owned run under the owner's lock: plugin_main takes it
 * (plugin_owner_lock, ops.lock_per_owner) and removes its file after DEL. */

static int add_owned(struct plugin_ctx *ctx, struct cni_result *ret, struct cni_error *err)
{
	char net_id[HCNDOC_GUID_STRLEN], ep_id[HCNDOC_GUID_STRLEN], old_id[HCNDOC_GUID_STRLEN];
	char *doc_text = NULL, *props = NULL;
	struct netstate_endpoint ep;
	struct ipnet_prefix subnet;
	struct ipnet_addr gw;
	struct cni_result ipres;
	struct cni_dns dns;
	struct win w;
	bool fresh = false, ep_left = false;
	cJSON *pols = NULL, *doc;
	int r;

	win_init(&w, ctx);
	r = validate(&w, err);
	if (r < 0)
		return r;
	r = win_hcn(&w, err);
	if (r < 0)
		return r;

	/* A repeated ADD of a live attachment answers as before; a stale or unfinished one (no
	 * HnsId) is replaced. */
	r = state_get_endpoint(&w, &ep, err);
	if (r < 0)
		goto out;
	if (r == 1 && ep.hns_id[0] && hcndoc_guid_equal(ep.netns, w.netns) &&
	    hcn_query(w.hcn, HCN_KIND_ENDPOINT, ep.hns_id, &props, NULL) == 0) {
		result_from_record(&w, &ep, props, ret);
		r = 0;
		goto out;
	}

	memset(&ipres, 0, sizeof(ipres));
	r = ipam_run_add_owned(w.conf, ctx->env.container_id, ctx->env.ifname, &ipres, &fresh, err);
	if (r < 0)
		goto out;
	if (ipres.n_ips == 0) {
		r = cni_error_set(err, -ENOENT, CNI_CODE_NO_ADDRESS, "IPAM returned no address");
		goto release_ip;
	}
	subnet = ipnet_prefix_network(&ipres.ips[0].address);
	gw = ipres.ips[0].gateway.family ? ipres.ips[0].gateway : ipnet_prefix_first_host(&subnet);
	r = hcndoc_dns(w.conf, ctx->env.args.pod_namespace, &ipres.dns, &dns, err);
	if (r < 0)
		goto release_ip;
	r = hcndoc_policies(w.conf, &subnet, &ipres.ips[0].address.addr, &pols, err);
	if (r < 0)
		goto release_ip;

	r = network_ensure(&w, &subnet, &gw, net_id, err);
	if (r < 0)
		goto release_ip;
	r = state_reserve(&w, net_id, err);
	if (r < 0)
		goto release_ip;
	/* An endpoint of this owner's name left by an earlier attempt makes HcnCreateEndpoint fail
	 * with "already exists" (kubernetes#74766): remove it first. The name is this owner's
	 * (state_reserve), so the endpoint is too. */
	r = hcn_find_by_name(w.hcn, HCN_KIND_ENDPOINT, w.ep_name, old_id, NULL, err);
	if (r == 0)
		r = endpoint_remove(&w, old_id, err);
	if (r < 0 && r != -ENOENT)
		goto unreserve;
	{
		struct hcndoc_endpoint e = { .name = w.ep_name, .network_id = net_id, .ipam = &ipres,
					     .dns = &dns, .policies = pols };

		doc = hcndoc_endpoint(&e, err);
	}
	doc_text = doc ? hcndoc_print(doc) : NULL;
	cJSON_Delete(doc);
	if (!doc_text) {
		r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
		goto unreserve;
	}
	r = hcn_create(w.hcn, HCN_KIND_ENDPOINT, net_id, doc_text, ep_id, &props, err);
	if (r < 0) {
		/* HNS may have made it even so (the read-back of the new ID failed): by name. After
		 * a timeout HNS may still be creating it: no further call (hcn_abandoned), and the
		 * IP stays reserved with the placeholder record, so no other pod gets an address
		 * this endpoint may hold; the next ADD or DEL of this attachment removes it by
		 * name. */
		if (!hcn_abandoned(w.hcn) &&
		    hcn_find_by_name(w.hcn, HCN_KIND_ENDPOINT, w.ep_name, old_id, NULL, NULL) == 0 &&
		    endpoint_remove(&w, old_id, NULL) < 0)
			ep_left = true;
		goto unreserve;
	}
	free(doc_text);
	doc = hcndoc_namespace_modify(ep_id, true);
	doc_text = doc ? hcndoc_print(doc) : NULL;
	cJSON_Delete(doc);
	if (!doc_text) {
		r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
		goto undo_endpoint;
	}
	r = hcn_modify(w.hcn, HCN_KIND_NAMESPACE, w.netns, doc_text, err);
	if (r == -ENOENT)
		r = cni_error_set(err, r, CNI_CODE_NETWORK,
				  "HCN namespace %s (CNI_NETNS) or endpoint %s not found", w.netns,
				  ep_id);
	if (r < 0)
		goto undo_endpoint;
	fill_record(&w, &ipres, &dns, net_id, ep_id, props, &ep, ret);
	r = state_put_endpoint(&w, &ep, err);
	if (r < 0)
		goto undo_endpoint;
	platform_log("ADD %s: endpoint %s (%s) in network %s, namespace %s", w.ep_name, ep_id,
		     ctx->env.container_id, net_id, w.netns);
	goto out;

undo_endpoint:
	/* skipped (fails at once) when an HNS call of this ADD timed out */
	if (endpoint_remove(&w, ep_id, NULL) < 0)
		ep_left = true;
unreserve:
	/* after a timeout HNS may still finish what it was doing with this name */
	if (ep_left || hcn_abandoned(w.hcn)) {
		platform_log("ADD %s failed with an endpoint possibly left in HNS: keeping its IP and "
			     "placeholder record for the next DEL or ADD", w.ep_name);
		goto out;
	}
	state_remove_endpoint(&w, NULL);
release_ip:
	/* An address the owner already held belongs to its earlier attachment: keep it. */
	if (fresh)
		ipam_run_del(w.conf, ctx->env.container_id, ctx->env.ifname, NULL, NULL);
out:
	free(props);
	free(doc_text);
	cJSON_Delete(pols);
	win_fini(&w);
	return r;
}

/* DEL: detach the endpoint from the namespace recorded at ADD (CNI_NETNS may name another, or
 * none) and delete it (gone = done, case B22), release the IP whatever HNS says, drop the
 * record. Another HNS failure is reported after the IP is released, and the record stays so a
 * retried DEL can finish the endpoint. Without a record (or with an unfinished one) the
 * endpoint is found by this owner's name. */
static int del_owned(struct plugin_ctx *ctx, struct cni_error *err)
{
	char ep_id[HCNDOC_GUID_STRLEN] = "", names[2][NETSTATE_ID_MAX];
	struct netstate_endpoint ep;
	struct cni_error hns_err = { 0 };
	struct win w;
	int r, hr, n = 0, i;

	win_init(&w, ctx);
	r = state_get_endpoint(&w, &ep, err);
	if (r < 0)
		return r;
	if (r == 1) {
		char ns[HCNDOC_GUID_STRLEN];

		if (ep.hns_id[0])
			hcndoc_guid_normalize(ep.hns_id, ep_id);
		if (hcndoc_guid_normalize(ep.netns, ns) == 0)
			memcpy(w.netns, ns, sizeof(ns));
		memcpy(names[n++], w.ep_name, NETSTATE_ID_MAX);
	} else {
		n = unrecorded_names(&w, names, err);
		if (n < 0)
			return n;
	}
	hr = win_hcn(&w, &hns_err);
	if (hr == 0 && ep_id[0])
		hr = endpoint_remove(&w, ep_id, &hns_err);
	/* an unfinished ADD (killed, timed out) or a lost state: by name */
	for (i = 0; hr == 0 && !ep_id[0] && i < n; i++) {
		char found[HCNDOC_GUID_STRLEN];

		hr = hcn_find_by_name(w.hcn, HCN_KIND_ENDPOINT, names[i], found, NULL, &hns_err);
		if (hr == 0)
			hr = endpoint_remove(&w, found, &hns_err);
		if (hr == -ENOENT)
			hr = 0;
	}
	win_fini(&w);
	if (ctx->conf.ipam.type[0] && ipam_ours(&ctx->conf)) {
		r = ipam_run_del(&ctx->conf, ctx->env.container_id, ctx->env.ifname, NULL, err);
		if (r < 0)
			return r;
	}
	if (hr < 0) {
		cni_error_set(err, hr, hns_err.code, "%s", hns_err.msg);
		cni_error_details(err, "%s", hns_err.details);
		return hr;
	}
	return state_remove_endpoint(&w, err);
}

static int check_fail(struct cni_error *err, const char *fmt, const char *a, const char *b)
{
	return cni_error_set(err, -ENOENT, CNI_CODE_CHECK_FAILED, fmt, a, b);
}

/* CHECK: the recorded endpoint exists in HNS, sits in CNI_NETNS and holds the recorded IPs. */
static int check_owned(struct plugin_ctx *ctx, struct cni_error *err)
{
	char buf[IPNET_ADDR_STRLEN], *props = NULL;
	struct netstate_endpoint ep;
	const cJSON *ipcs, *ipc;
	const char *ns;
	struct win w;
	cJSON *doc = NULL;
	size_t i;
	int r;

	win_init(&w, ctx);
	r = state_get_endpoint(&w, &ep, err);
	if (r < 0)
		return r;
	if (r == 0 || !ep.hns_id[0])
		return check_fail(err, "no endpoint %s%s recorded for this container", w.ep_name, "");
	r = win_hcn(&w, err);
	if (r < 0)
		return r;
	r = hcn_query(w.hcn, HCN_KIND_ENDPOINT, ep.hns_id, &props, err);
	win_fini(&w);
	if (r == -ENOENT)
		return check_fail(err, "HCN endpoint %s (%s) does not exist", w.ep_name, ep.hns_id);
	if (r < 0)
		return r;
	doc = cJSON_Parse(props);
	free(props);
	ns = doc ? cni_json_string(doc, "HostComputeNamespace") : NULL;
	if (w.netns[0] && (!ns || !hcndoc_guid_equal(ns, w.netns))) {
		r = check_fail(err, "HCN endpoint %s is not attached to namespace %s", w.ep_name,
			       w.netns);
		goto out;
	}
	ipcs = doc ? cJSON_GetObjectItem(doc, "IpConfigurations") : NULL;
	for (i = 0; i < ep.n_ips; i++) {
		bool found = false;

		ipnet_addr_format(&ep.ips[i].addr, buf, sizeof(buf));
		cJSON_ArrayForEach(ipc, ipcs) {
			const char *a = cni_json_string(ipc, "IpAddress");

			if (a && strcmp(a, buf) == 0)
				found = true;
		}
		if (!found) {
			r = check_fail(err, "HCN endpoint %s lacks address %s", w.ep_name, buf);
			goto out;
		}
	}
	r = 0;
out:
	cJSON_Delete(doc);
	return r;
}

/* Drop the records @ids (@n of them) of network @w->conf->name (absent = done). */
static int state_remove_ids(struct win *w, const char *const *ids, size_t n, struct cni_error *err)
{
	struct platform_lock *l = NULL;
	struct netstate_network *net;
	struct netstate st;
	size_t i, removed = 0;
	int r;

	r = state_lock(&l, err);
	if (r < 0)
		return r;
	r = state_load(&st, err);
	if (r < 0)
		goto unlock;
	net = netstate_find_network(&st, w->conf->name, NULL);
	for (i = 0; net && i < n; i++)
		if (netstate_endpoint_remove(net, ids[i]) > 0)
			removed++;
	if (removed)
		r = state_save(&st, err);
	netstate_free(&st);
unlock:
	platform_lock_release(l);
	return r;
}

/* GC (CNI 1.1.0): every recorded endpoint of this network whose attachment is not in
 * "cni.dev/valid-attachments" is detached from its namespace and deleted in HNS (gone = done),
 * and its record dropped; then every IP not owned by a valid attachment is released (whatever HNS
 * said, as DEL does). An HNS failure keeps that endpoint's record (a later GC or DEL finishes it)
 * and is reported, after the IPs are released. */
static int vnet_gc(struct plugin_ctx *ctx, struct cni_error *err)
{
	struct ipam_attachment *valid = NULL;
	struct netstate_endpoint *stale = NULL;
	struct netstate_network *net;
	struct cni_error hns_err = { 0 };
	struct netstate st;
	const char **ids = NULL;
	size_t n = 0, ns = 0, nids = 0, i, j;
	struct win w;
	int r, hr = 0;

	win_init(&w, ctx);
	r = plugin_valid_attachments(ctx, &valid, &n, err);
	if (r < 0)
		return r;
	r = state_read(&st, err);
	if (r < 0)
		goto out;
	net = netstate_find_network(&st, w.conf->name, NULL);
	if (net && net->n_endpoints) {
		stale = calloc(net->n_endpoints, sizeof(*stale));
		ids = calloc(net->n_endpoints, sizeof(*ids));
		if (!stale || !ids) {
			netstate_free(&st);
			r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
			goto out;
		}
		for (i = 0; i < net->n_endpoints; i++) {
			for (j = 0; j < n; j++)
				if (strcmp(valid[j].container_id, net->endpoints[i].container_id) == 0 &&
				    (!valid[j].ifname[0] ||
				     strcmp(valid[j].ifname, net->endpoints[i].ifname) == 0))
					break;
			if (j == n)
				stale[ns++] = net->endpoints[i];
		}
	}
	netstate_free(&st);

	if (ns)
		hr = win_hcn(&w, &hns_err);
	for (i = 0; i < ns && hr == 0; i++) {
		char ep_id[HCNDOC_GUID_STRLEN] = "";
		struct cni_error one = { 0 };
		int er = 0;

		/* detach from the namespace the endpoint was attached to, not this call's */
		if (hcndoc_guid_normalize(stale[i].netns, w.netns) < 0)
			w.netns[0] = '\0';
		if (stale[i].hns_id[0] && hcndoc_guid_normalize(stale[i].hns_id, ep_id) == 0) {
			er = endpoint_remove(&w, ep_id, &one);
		} else if (!stale[i].hns_id[0]) {
			/* an ADD that did not finish: its endpoint is named by the record ID */
			er = hcn_find_by_name(w.hcn, HCN_KIND_ENDPOINT, stale[i].id, ep_id, NULL, &one);
			if (er == 0)
				er = endpoint_remove(&w, ep_id, &one);
			if (er == -ENOENT)
				er = 0;
		}
		if (er < 0) {
			platform_log("GC %s (%s): %s", stale[i].id, stale[i].container_id, one.msg);
			if (!cni_error_is_set(&hns_err))
				hns_err = one;
			continue;
		}
		platform_log("GC %s (%s): endpoint %s removed", stale[i].id, stale[i].container_id,
			     ep_id[0] ? ep_id : "(none recorded)");
		ids[nids++] = stale[i].id;
	}
	win_fini(&w);
	if (ipam_ours(w.conf))
		r = ipam_run_gc(w.conf, valid, n, err);
	if (r >= 0 && nids)
		r = state_remove_ids(&w, ids, nids, err);
	if (r >= 0 && (hr < 0 || cni_error_is_set(&hns_err))) {
		r = hr < 0 ? hr : -EIO;
		cni_error_set(err, r, hns_err.code ? hns_err.code : CNI_CODE_NETWORK, "%s",
			      hns_err.msg);
		cni_error_details(err, "%s", hns_err.details);
	}
out:
	free(valid);
	free(stale);
	free(ids);
	return r < 0 ? r : 0;
}

/* STATUS (CNI 1.1.0), as on Linux: ready when the IPAM source answers and has a free address
 * (else code 50). Another IPAM type cannot be delegated on Windows (ADD refuses it): code 7. */
static int vnet_status(struct plugin_ctx *ctx, struct cni_error *err)
{
	if (ipam_ours(&ctx->conf))
		return ipam_run_status(&ctx->conf, err);
	if (ctx->conf.ipam.type[0])
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "ipam.type \"%s\" is not supported on Windows (azure-vnet-ipam)",
				     ctx->conf.ipam.type);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct plugin_ops ops = {
		.program = "azure-vnet",
		.lock_per_owner = true,
		.add = add_owned,
		.del = del_owned,
		.check = check_owned,
		.gc = vnet_gc,
		.status = vnet_status,
	};

	int rc = plugin_main(&ops, argc, argv);

	/* never DLL_PROCESS_DETACH with an abandoned HNS worker inside computenetwork.dll */
	hcn_exit_if_abandoned(rc);
	return rc;
}
