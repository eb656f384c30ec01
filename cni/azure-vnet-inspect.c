/* SPDX-License-Identifier: MIT */
/* azure-vnet-inspect: what a node holds, for operators. Reads azure-vnet-ipam.json (the pools
 * and every allocation), azure-vnet.json (the endpoint records: owner, pod, host interface,
 * sandbox) and what the network backend traces in the OS itself (Linux: owner-tagged host veths
 * and their host routes), cross-checks them and lists leaks, orphans and mismatches. Changes
 * nothing unless asked (--repair: only what it proved orphaned, each under its owner's lock).
 *
 *   azure-vnet-inspect [--json] [--repair]
 *
 * Exit status: 0 the node is consistent, 1 problems remain (after --repair: those it could not
 * or would not repair), 2 the node could not be inspected, 3 the state files are consistent but
 * the OS's objects could not be listed (no HNS, netlink refused: "osChecked" false; leaks are
 * then not judged, as an owner's endpoint may exist). Paths: the plugin's (AZURE_CNI_*
 * overrides included). Output: text for people, or one JSON object (--json):
 *   {"pools":[{"id","interface","family","size","inUse","free"}],
 *    "allocations":[{"address","containerID","ifname","network","endpointID","podName",
 *                    "podNamespace","hostInterface","sandbox","ageSeconds"}],
 *    "problems":[{"kind","message","repairable","repaired"}], "consistent":bool}
 * hostInterface is the record's OS object: the host veth (Linux), the HNS endpoint's name
 * (Windows, where it is the record's ID).
 * Problem kinds: corrupt-state, orphan (an OS object whose owner has no record), untraced (an
 * untagged "azv" veth, or an HNS endpoint not named by an owner, that routes a pod address and
 * has no record), leak (an address held by an owner with no record and no OS object),
 * stale-record (a record whose host interface or HNS endpoint is gone),
 * sandbox-gone (a record whose netns path no longer exists: its DEL never came), mismatch (a
 * record's address not held by its owner in the IPAM, an address routed to one owner and held
 * by another). --repair removes orphans (the endpoint as its DEL would, then the owner's
 * addresses) and releases leaks, only when no call of that owner runs (its lock is free); it
 * assumes azure-vnet-ipam is used through azure-vnet (the shipped conflists), as a leak's owner
 * is then proven gone. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "core/ipamstate.h"
#include "core/netstate.h"
#include "ipam-run.h"
#include "platform/backend.h"
#include "platform/platform.h"
#include "plugin.h"

/* What the node holds. */
struct node {
	struct ipam_space ipam;
	struct netstate st;
	struct backend_attachment *found;  /* the backend's trace (any network) */
	char (*found_net)[NETSTATE_ID_MAX]; /* the recorded network each found entry is proven of */
	size_t n_found;
	bool traced;                       /* the backend can trace (found is meaningful) */
	cJSON *problems;
	size_t n_open;                     /* problems not repaired */
};

static const struct backend_ops *ops;

static void problem(struct node *n, const char *kind, bool repairable, bool repaired,
		    const char *fmt, ...) __attribute__((format(gnu_printf, 5, 6)));

static void problem(struct node *n, const char *kind, bool repairable, bool repaired,
		    const char *fmt, ...)
{
	cJSON *p = cJSON_CreateObject();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(p, "kind", kind);
	cJSON_AddStringToObject(p, "message", msg);
	cJSON_AddBoolToObject(p, "repairable", repairable);
	cJSON_AddBoolToObject(p, "repaired", repaired);
	cJSON_AddItemToArray(n->problems, p);
	if (!repaired)
		n->n_open++;
	if (repaired)
		platform_log("azure-vnet-inspect --repair: %s: %s", kind, msg);
}

/* IPAM owners: an empty ifname (a record the Go plugin wrote) matches any. */
static bool owner_eq(const char *cid, const char *ifname, const char *cid2, const char *ifname2)
{
	return strcmp(cid, cid2) == 0 && (!ifname[0] || !ifname2[0] || strcmp(ifname, ifname2) == 0);
}

/* Read and decode both state files; a file that does not decode is a problem (and an empty
 * model). Returns 0, or negative errno when a file cannot be read at all. */
static int load_states(struct node *n, struct cni_error *err)
{
	const char *ipath = platform_path(PLATFORM_PATH_IPAM_STATE);
	const char *npath = platform_path(PLATFORM_PATH_NET_STATE);
	struct cni_error why = { 0 };
	char *text = NULL;
	size_t len = 0;
	int r;

	r = platform_file_read(ipath, &text, &len, err);
	if (r == 0 && ipamstate_decode(text, len, ipath, &n->ipam, &why) < 0)
		problem(n, "corrupt-state", false, false, "%s", why.msg);
	free(text);
	if (r < 0 && r != -ENOENT)
		return r;
	text = NULL;
	memset(&why, 0, sizeof(why));
	r = platform_file_read(npath, &text, &len, err);
	if (r == 0 && netstate_decode(text, len, npath, &n->st, &why) < 0)
		problem(n, "corrupt-state", false, false, "%s", why.msg);
	free(text);
	return r < 0 && r != -ENOENT ? r : 0;
}

/* Merge trace @a (@m entries, taken for network @name) into n->found by host interface: an
 * entry proven of @name (this_network) is marked so. Frees @a. */
static int merge_trace(struct node *n, struct backend_attachment *a, size_t m, const char *name)
{
	size_t i, k;

	for (i = 0; i < m; i++) {
		for (k = 0; k < n->n_found; k++)
			if (strcmp(n->found[k].host_ifname, a[i].host_ifname) == 0)
				break;
		if (k == n->n_found) {
			struct backend_attachment *f = realloc(n->found, (k + 1) * sizeof(*f));
			char (*fn)[NETSTATE_ID_MAX] = realloc(n->found_net, (k + 1) * sizeof(*fn));

			if (f)
				n->found = f;
			if (fn)
				n->found_net = fn;
			if (!f || !fn) {
				free(a);
				return -ENOMEM;
			}
			n->found[k] = a[i];
			n->found[k].this_network = false;
			n->found_net[k][0] = '\0';
			n->n_found++;
		}
		if (a[i].this_network && !n->found_net[k][0]) {
			n->found[k].this_network = true;
			snprintf(n->found_net[k], sizeof(n->found_net[k]), "%s", name);
		}
	}
	free(a);
	return 0;
}

/* The backend's trace, taken once per recorded network so that each owner-tagged object is
 * proven of its network (the tag hashes the network name); "azure" (the shipped conflists'
 * name) when none is recorded. */
static int load_trace(struct node *n, struct cni_error *err)
{
	const struct cni_env env = { 0 };
	struct backend *be = NULL;
	size_t i, j;
	int r = 0;
	bool any = false;
	struct conf c;
	const struct backend_call call = { .env = &env, .conf = &c };

	if (!ops->attachments)
		return 0;
	memset(&c, 0, sizeof(c));
	r = ops->open(&call, 0, &be, err);
	for (i = 0; r >= 0 && i <= n->st.n_extifs; i++)
		for (j = 0; r >= 0 && (i < n->st.n_extifs ? j < n->st.extifs[i].n_networks : !any);
		     j++) {
			struct backend_attachment *a = NULL;
			size_t m = 0;

			snprintf(c.name, sizeof(c.name), "%s",
				 i < n->st.n_extifs ? n->st.extifs[i].networks[j].id : "azure");
			any = true;
			r = ops->attachments(be, &call, &a, &m, err);
			if (r >= 0)
				r = merge_trace(n, a, m, c.name);
		}
	ops->close(be);
	n->traced = r >= 0;
	return r;
}

/* ---- look-ups ---- */

/* The record of owner (@cid, @ifname) in any network, its network's ID into *ret_net. */
static const struct netstate_endpoint *record_of(const struct node *n, const char *cid,
						 const char *ifname, const char **ret_net)
{
	for (size_t i = 0; i < n->st.n_extifs; i++)
		for (size_t j = 0; j < n->st.extifs[i].n_networks; j++) {
			const struct netstate_network *net = &n->st.extifs[i].networks[j];

			for (size_t k = 0; k < net->n_endpoints; k++)
				if (owner_eq(cid, ifname, net->endpoints[k]->container_id,
					     net->endpoints[k]->ifname)) {
					if (ret_net)
						*ret_net = net->id;
					return netstate_endpoint_of(net->endpoints[k]);
				}
		}
	return NULL;
}

/* The name record @ep's OS object is traced by (backend_attachment.host_ifname): its host
 * interface (Linux veths), else its record ID where the OS names endpoints by it
 * (backend_ops.reserve_name: HCN endpoints), else "". Owned by @ep. */
static const char *object_name(const struct netstate_endpoint *ep)
{
	return ep->host_ifname[0] ? ep->host_ifname : ops->reserve_name ? ep->id : "";
}

/* The record whose OS object is named @host (object_name), or NULL. */
static const struct netstate_endpoint *record_by_host(const struct node *n, const char *host)
{
	for (size_t i = 0; host[0] && i < n->st.n_extifs; i++)
		for (size_t j = 0; j < n->st.extifs[i].n_networks; j++) {
			const struct netstate_network *net = &n->st.extifs[i].networks[j];

			for (size_t k = 0; k < net->n_endpoints; k++) {
				const struct netstate_endpoint *ep =
					netstate_endpoint_of(net->endpoints[k]);

				if (ep && strcmp(object_name(ep), host) == 0)
					return ep;
			}
		}
	return NULL;
}

/* The in-use IPAM record of address @a, or NULL. */
static const struct ipam_addr *ipam_holder(const struct node *n, const struct ipnet_addr *a)
{
	for (size_t i = 0; i < n->ipam.n_pools; i++)
		for (size_t k = 0; k < n->ipam.pools[i].n_addrs; k++) {
			const struct ipam_addr *r = &n->ipam.pools[i].addrs[k];

			if (r->in_use && ipnet_addr_equal(&r->addr, a))
				return r;
		}
	return NULL;
}

/* Does the trace hold an object of owner (@cid, @ifname)? */
static bool traced_owner(const struct node *n, const char *cid, const char *ifname)
{
	for (size_t k = 0; k < n->n_found; k++)
		if (n->found[k].container_id[0] &&
		    owner_eq(cid, ifname, n->found[k].container_id, n->found[k].ifname))
			return true;
	return false;
}

/* ---- the report ---- */

static cJSON *pools_json(const struct node *n)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < n->ipam.n_pools; i++) {
		const struct ipam_pool *p = &n->ipam.pools[i];
		cJSON *o = cJSON_CreateObject();
		size_t used = 0, free_n = ipam_pool_free_count(p);

		for (size_t k = 0; k < p->n_addrs; k++)
			used += p->addrs[k].in_use;
		cJSON_AddStringToObject(o, "id", p->id);
		cJSON_AddStringToObject(o, "interface", p->ifname);
		cJSON_AddStringToObject(o, "family", p->is_ipv6 ? "IPv6" : "IPv4");
		cJSON_AddNumberToObject(o, "size", (double)(used + free_n));
		cJSON_AddNumberToObject(o, "inUse", (double)used);
		cJSON_AddNumberToObject(o, "free", (double)free_n);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

/* One allocation with what its owner's record tells (pod, host interface, sandbox and its age:
 * the netns path's time, which is the namespace's creation). */
static cJSON *allocation_json(const struct node *n, const struct ipam_addr *r, long long now)
{
	const char *net = "";
	const struct netstate_endpoint *ep = record_of(n, r->id, r->ifname, &net);
	char ip[IPNET_ADDR_STRLEN];
	cJSON *o = cJSON_CreateObject();
	long long t;

	cJSON_AddStringToObject(o, "address", ipnet_addr_format(&r->addr, ip, sizeof(ip)));
	cJSON_AddStringToObject(o, "containerID", r->id);
	cJSON_AddStringToObject(o, "ifname", ep ? ep->ifname : r->ifname);
	cJSON_AddStringToObject(o, "network", net);
	cJSON_AddStringToObject(o, "endpointID", ep ? ep->id : "");
	cJSON_AddStringToObject(o, "podName", ep ? ep->pod_name : "");
	cJSON_AddStringToObject(o, "podNamespace", ep ? ep->pod_namespace : "");
	cJSON_AddStringToObject(o, "hostInterface", ep ? object_name(ep) : "");
	cJSON_AddStringToObject(o, "sandbox", ep ? netstate_endpoint_netns(ep) : "");
	if (ep && netstate_endpoint_netns(ep)[0] == '/' &&
	    platform_file_mtime(netstate_endpoint_netns(ep), &t) == 0)
		cJSON_AddNumberToObject(o, "ageSeconds", (double)(now > t ? now - t : 0));
	else
		cJSON_AddNullToObject(o, "ageSeconds");
	return o;
}

static cJSON *allocations_json(const struct node *n)
{
	cJSON *arr = cJSON_CreateArray();
	long long now = (long long)time(NULL);

	for (size_t i = 0; i < n->ipam.n_pools; i++)
		for (size_t k = 0; k < n->ipam.pools[i].n_addrs; k++)
			if (n->ipam.pools[i].addrs[k].in_use)
				cJSON_AddItemToArray(arr, allocation_json(n, &n->ipam.pools[i].addrs[k], now));
	return arr;
}

/* ---- checks and repairs ---- */

static bool repair;

/* Take owner (@cid, @ifname)'s lock without waiting: false when a call of it runs. */
static bool owner_idle(const char *cid, const char *ifname, struct platform_lock **ret)
{
	return plugin_owner_lock(cid, ifname, 0, ret, NULL) == 0;
}

/* Remove orphan n->found[@k] (its owner has no record) as its DEL would, then release what its
 * owner holds in the IPAM; the owner's lock @l is held (and its file removed after). */
static bool repair_orphan(struct node *n, size_t k, struct platform_lock *l)
{
	const struct backend_attachment *a = &n->found[k];
	const struct cni_env env = { 0 };
	struct netstate_extif *x = NULL;
	struct netstate_network *net;
	struct netstate_endpoint ep;
	struct backend_network bn;
	struct cni_error err = { 0 };
	struct backend *be = NULL;
	struct conf c;
	const struct backend_call call = { .env = &env, .conf = &c };
	int r;

	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "%s", n->found_net[k]);
	memset(&ep, 0, sizeof(ep));
	snprintf(ep.container_id, sizeof(ep.container_id), "%s", a->container_id);
	snprintf(ep.ifname, sizeof(ep.ifname), "%s", a->ifname);
	snprintf(ep.host_ifname, sizeof(ep.host_ifname), "%s", a->host_ifname);
	for (size_t i = 0; i < a->n_ips; i++)
		ep.ips[ep.n_ips++] = (struct ipnet_prefix){ a->ips[i], ipnet_addr_len(&a->ips[i]) * 8 };
	/* bridge mode: no host route; the rules are keyed by the addresses the owner holds */
	for (size_t i = 0; !a->n_ips && i < n->ipam.n_pools; i++)
		for (size_t j = 0; j < n->ipam.pools[i].n_addrs && ep.n_ips < NETSTATE_MAX_IPS; j++) {
			const struct ipam_addr *h = &n->ipam.pools[i].addrs[j];

			if (h->in_use && owner_eq(h->id, h->ifname, a->container_id, a->ifname))
				ep.ips[ep.n_ips++] = (struct ipnet_prefix){ h->addr,
									    ipnet_addr_len(&h->addr) * 8 };
		}
	net = netstate_find_network(&n->st, c.name, &x);
	if (net)
		backend_network_of(net, x, &bn);
	r = ops->open(&call, 0, &be, &err);
	if (r >= 0)
		r = ops->endpoint_del(be, &call, net ? &bn : NULL, &ep, false, NULL, 0, &err);
	ops->close(be);
	if (r >= 0)
		r = ipam_run_release(&c, a->container_id, a->ifname, NULL, NULL, 0, NULL, &err);
	if (r < 0)
		fprintf(stderr, "azure-vnet-inspect: cannot repair %s: %s\n", a->host_ifname, err.msg);
	if (r >= 0)
		platform_lock_release_unlink(l);
	else
		platform_lock_release(l);
	return r >= 0;
}

/* Each object the backend traced: its owner has a record (else an orphan), and the addresses
 * it routes are held in the IPAM by that owner. */
static void check_trace(struct node *n)
{
	char ip[IPNET_ADDR_STRLEN];

	for (size_t k = 0; k < n->n_found; k++) {
		const struct backend_attachment *a = &n->found[k];
		const struct netstate_endpoint *rec;
		struct platform_lock *l = NULL;

		if (a->container_id[0]) {
			rec = record_of(n, a->container_id, a->ifname, NULL);
			if (!rec && owner_idle(a->container_id, a->ifname, &l)) {
				bool can = n->found_net[k][0] != '\0';
				bool done = repair && can && repair_orphan(n, k, l);

				if (!done)
					platform_lock_release(l);
				problem(n, "orphan", can, done,
					"host interface %s of %s/%s (network %s) has no record",
					a->host_ifname, a->container_id, a->ifname,
					can ? n->found_net[k] : "unknown");
			}
			if (!rec)
				continue;
		} else {
			rec = record_by_host(n, a->host_ifname);
			if (!rec && a->n_ips) {
				problem(n, "untraced", false, false,
					"host interface %s routes %s but has no owner tag and no record",
					a->host_ifname, ipnet_addr_format(&a->ips[0], ip, sizeof(ip)));
				continue;
			}
			if (!rec)
				continue;
		}
		for (size_t i = 0; i < a->n_ips; i++) {
			const struct ipam_addr *h = ipam_holder(n, &a->ips[i]);

			if (!h || !owner_eq(h->id, h->ifname, rec->container_id, rec->ifname))
				problem(n, "mismatch", false, false,
					"%s is routed to %s of %s/%s but held in the IPAM by %s",
					ipnet_addr_format(&a->ips[i], ip, sizeof(ip)), a->host_ifname,
					rec->container_id, rec->ifname, h ? h->id : "nobody");
		}
	}
}

static bool traced_host(const struct node *n, const char *host)
{
	for (size_t k = 0; k < n->n_found; k++)
		if (strcmp(n->found[k].host_ifname, host) == 0)
			return true;
	return false;
}

/* One record: its OS object exists (when the backend traces), its sandbox's netns path
 * exists (a path runtimes remove after the pod's DEL), its addresses are its owner's. */
static void check_record(struct node *n, const struct netstate_network *net,
			 const struct netstate_endpoint *ep)
{
	const char *obj = object_name(ep);
	char ip[IPNET_ADDR_STRLEN];
	long long t;

	if (n->traced && obj[0] && !traced_host(n, obj))
		problem(n, "stale-record", false, false,
			"endpoint %s of %s/%s (network %s): host interface %s is gone", ep->id,
			ep->container_id, ep->ifname, net->id, obj);
	if (netstate_endpoint_netns(ep)[0] == '/' &&
	    platform_file_mtime(netstate_endpoint_netns(ep), &t) == -ENOENT)
		problem(n, "sandbox-gone", false, false,
			"endpoint %s of %s/%s: its netns %s no longer exists (its DEL never came?)",
			ep->id, ep->container_id, ep->ifname, netstate_endpoint_netns(ep));
	for (size_t i = 0; i < ep->n_ips; i++) {
		const struct ipam_addr *h = ipam_holder(n, &ep->ips[i].addr);

		if (!h || !owner_eq(h->id, h->ifname, ep->container_id, ep->ifname))
			problem(n, "mismatch", false, false,
				"endpoint %s of %s/%s has %s, held in the IPAM by %s", ep->id,
				ep->container_id, ep->ifname,
				ipnet_addr_format(&ep->ips[i].addr, ip, sizeof(ip)), h ? h->id : "nobody");
	}
}

static void check_records(struct node *n)
{
	for (size_t i = 0; i < n->st.n_extifs; i++)
		for (size_t j = 0; j < n->st.extifs[i].n_networks; j++) {
			const struct netstate_network *net = &n->st.extifs[i].networks[j];

			for (size_t k = 0; k < net->n_endpoints; k++)
				if (netstate_endpoint_of(net->endpoints[k]))
					check_record(n, net,
						     netstate_endpoint_of(net->endpoints[k]));
		}
}

/* Addresses held by an owner with no record and nothing in the OS, no call of it running. */
static void check_leaks(struct node *n)
{
	char ip[IPNET_ADDR_STRLEN];

	for (size_t i = 0; i < n->ipam.n_pools; i++)
		for (size_t k = 0; k < n->ipam.pools[i].n_addrs; k++) {
			const struct ipam_addr *h = &n->ipam.pools[i].addrs[k];
			struct platform_lock *l = NULL;
			struct cni_error err = { 0 };
			struct conf c;
			bool done = false;

			if (!h->in_use || record_of(n, h->id, h->ifname, NULL) ||
			    traced_owner(n, h->id, h->ifname) || !owner_idle(h->id, h->ifname, &l))
				continue;
			memset(&c, 0, sizeof(c));
			if (repair)
				done = ipam_run_release(&c, h->id, h->ifname, &h->addr, NULL, 0, NULL,
							&err) == 0;
			if (repair && !done)
				fprintf(stderr, "azure-vnet-inspect: cannot release %s: %s\n",
					ipnet_addr_format(&h->addr, ip, sizeof(ip)), err.msg);
			platform_lock_release_unlink(l);
			problem(n, "leak", true, done, "%s is held by %s/%s, which has no record and "
				"no endpoint", ipnet_addr_format(&h->addr, ip, sizeof(ip)), h->id,
				h->ifname[0] ? h->ifname : "*");
		}
}

/* ---- output ---- */

static void print_text(const cJSON *root)
{
	const cJSON *o;

	printf("pools:\n");
	cJSON_ArrayForEach(o, cJSON_GetObjectItem(root, "pools"))
		printf("  %-20s %-14s %s  size %d  in use %d  free %d\n",
		       cJSON_GetObjectItem(o, "id")->valuestring,
		       cJSON_GetObjectItem(o, "interface")->valuestring,
		       cJSON_GetObjectItem(o, "family")->valuestring,
		       cJSON_GetObjectItem(o, "size")->valueint,
		       cJSON_GetObjectItem(o, "inUse")->valueint,
		       cJSON_GetObjectItem(o, "free")->valueint);
	printf("allocations:\n");
	cJSON_ArrayForEach(o, cJSON_GetObjectItem(root, "allocations")) {
		const cJSON *age = cJSON_GetObjectItem(o, "ageSeconds");

		printf("  %-16s %s/%s  %s/%s  %s  %s",
		       cJSON_GetObjectItem(o, "address")->valuestring,
		       cJSON_GetObjectItem(o, "containerID")->valuestring,
		       cJSON_GetObjectItem(o, "ifname")->valuestring,
		       cJSON_GetObjectItem(o, "podNamespace")->valuestring,
		       cJSON_GetObjectItem(o, "podName")->valuestring,
		       cJSON_GetObjectItem(o, "hostInterface")->valuestring,
		       cJSON_GetObjectItem(o, "sandbox")->valuestring);
		if (cJSON_IsNumber(age))
			printf("  age %ds", age->valueint);
		printf("\n");
	}
	printf("problems:\n");
	cJSON_ArrayForEach(o, cJSON_GetObjectItem(root, "problems"))
		printf("  %s: %s%s\n", cJSON_GetObjectItem(o, "kind")->valuestring,
		       cJSON_GetObjectItem(o, "message")->valuestring,
		       cJSON_IsTrue(cJSON_GetObjectItem(o, "repaired")) ? " [repaired]" : "");
	printf("consistent: %s\n",
	       cJSON_IsTrue(cJSON_GetObjectItem(root, "consistent")) ? "yes" : "no");
}

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: azure-vnet-inspect [--json] [--repair]\n"
		   "  the pools, every allocation with its owner, and the node's leaks, orphans and\n"
		   "  mismatches; exit 0 consistent, 1 problems remain, 2 cannot inspect, 3 the\n"
		   "  state files are consistent but the OS's objects could not be checked\n"
		   "  --repair  remove orphans and release leaked addresses (owners with no call\n"
		   "            running); nothing else is changed\n");
	return rc;
}

int main(int argc, char **argv)
{
	struct node n;
	struct cni_error err = { 0 };
	bool json = false, corrupt, untraced;
	cJSON *root;
	char *text;
	int r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--repair") == 0)
			repair = true;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return usage(stdout, 0);
		else
			return usage(stderr, 2);
	}
	platform_log_open("azure-vnet");
	ops = backend_native();
	ipam_run_set_recovery(ops);
	memset(&n, 0, sizeof(n));
	n.problems = cJSON_CreateArray();
	r = load_states(&n, &err);
	if (r < 0) {
		fprintf(stderr, "azure-vnet-inspect: %s\n", err.msg);
		return 2;
	}
	corrupt = n.n_open > 0;
	untraced = !corrupt && load_trace(&n, &err) < 0;
	if (untraced)
		fprintf(stderr, "azure-vnet-inspect: the OS objects are not checked (the state files "
			"alone are): %s\n", err.msg);
	/* with a state file corrupt every pod would look orphaned: the plugin's next call
	 * rebuilds it (README "Reliability and security"); nothing else is judged. Without the
	 * OS's objects no address is proven leaked (its owner's endpoint may exist). */
	if (!corrupt) {
		check_trace(&n);
		check_records(&n);
		if (!untraced)
			check_leaks(&n);
	}
	root = cJSON_CreateObject();
	cJSON_AddItemToObject(root, "pools", pools_json(&n));
	cJSON_AddItemToObject(root, "allocations", allocations_json(&n));
	cJSON_AddItemToObject(root, "problems", n.problems);
	cJSON_AddBoolToObject(root, "consistent", n.n_open == 0);
	cJSON_AddBoolToObject(root, "osChecked", !corrupt && !untraced);
	if (json) {
		text = cJSON_Print(root);
		if (text)
			printf("%s\n", text);
		free(text);
	} else {
		print_text(root);
	}
	r = n.n_open ? 1 : untraced ? 3 : 0;
	cJSON_Delete(root);
	ipam_space_free(&n.ipam);
	netstate_free(&n.st);
	free(n.found);
	free(n.found_net);
	platform_log_close();
	return r;
}
