/* SPDX-License-Identifier: MIT */
/* azure-vnet (azure-vnet.exe): attaches a pod's sandbox to the VM's virtual network, on every OS,
 * through the network backend of platform/backend.h (Linux: netlink, iptables, ebtables;
 * Windows: HCN). This file holds the policy once: ADD with rollback and the "fresh" rule,
 * repeated ADD, DEL, CHECK, GC with owner locks, STATUS, the endpoint-ID rule, the record's
 * portable fields and the CNI result. IPAM runs in-process (azure-vnet-ipam), asks CNS over
 * HTTP (azure-cns, cni/ipam-cns.c) or runs by exec (any other ipam.type; Linux only). State:
 * azure-vnet.json in the Go layout (cni/state.c), locked only around read-modify-write and the
 * one-time network creation. ADD, DEL and CHECK of one owner (container ID + ifname) run under
 * its own lock, taken by plugin_main. */
#include "azure-vnet.h"
#include "ipam-cns.h"
#include "ipam-run.h"
#include "plugin.h"
#include "recover.h"
#include "state.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mac.h"
#include "core/netstate.h"
#include "platform/backend.h"
#include "platform/ipam-exec.h"
#include "platform/platform.h"

/* The backend of this process: backend_native(), or a test's (azure_vnet_main). */
static const struct backend_ops *backend;

/* What one call works with. */
struct gc;

struct vnet {
	struct plugin_ctx *ctx;
	const struct conf *conf;
	struct backend_call call;
	struct backend *be;                /* opened on first need (vnet_open) */
	char goid[NETSTATE_ID_MAX];        /* the Go endpoint ID <cid[:8]>-<ifname> */
	struct state_snap snap;            /* the state as last read by this call */
	bool net_found;                    /* the network is recorded: net is its copy */
	bool net_created;                  /* this ADD made the network (network_put) */
	unsigned net_extended;             /* the families (enum ipam_family) this ADD added to
					    * the network (network_extend_put) */
	bool has_rec;                      /* this owner's record exists: rec is its copy */
	bool fresh;                        /* ADD: the owner did not hold ipres's address before */
	char cns_id[NETSTATE_ID_MAX];      /* azure-cns: the podInterfaceID this ADD asked for */
	struct gc *gc;                     /* GC: its lists */
	struct platform_lock *gone_lock;   /* ADD: a gone owner's lock (vnet_owner_gone) */
	/* Large parts (some 40 KB), written before they are read, so vnet_init leaves them. */
	struct backend_network net;        /* valid when net_found */
	struct netstate_endpoint rec;      /* when has_rec, else the record ADD builds or DEL's
					    * unrecorded one */
	struct cni_result ipres;           /* ADD: what the IPAM gave (ipam_add) */
	struct cni_dns dns;                /* ADD: the new attachment's DNS (attach_dns) */
};

static int vnet_owner_gone(void *arg, const char *cid, const char *ifname,
			   struct cni_error *err);
static bool ipam_ours(const struct conf *c);

static void vnet_init(struct vnet *v, struct plugin_ctx *ctx)
{
	memset(v, 0, offsetof(struct vnet, net));
	v->ctx = ctx;
	v->conf = &ctx->conf;
	v->call.env = &ctx->env;
	v->call.conf = &ctx->conf;
	v->call.prev = ctx->has_prev ? &ctx->prev : NULL;
	v->call.owner_gone = vnet_owner_gone;
	v->call.owner_arg = v;
	netstate_endpoint_id(ctx->env.container_id, ctx->env.ifname, v->goid, sizeof(v->goid));
}

static int vnet_open(struct vnet *v, unsigned need, struct cni_error *err)
{
	if (v->be)
		return 0;
	return backend->open(&v->call, need, &v->be, err);
}

static void vnet_fini(struct vnet *v)
{
	v->gone_lock = platform_lock_release_unlink(v->gone_lock);
	v->be = backend->close(v->be);
	state_snap_free(&v->snap);
}

/* backend_call.owner_gone: owner (@cid, @ifname), not this call's, has no record in this
 * network, holds no address in our IPAM, and no call of it runs (its lock is taken without
 * waiting and held until this call ends): 1. One per call. Without our IPAM nothing is proven,
 * nor when a look-up fails: 0. Out of memory in a look-up (never read as "no record", "no
 * address"): -ENOMEM, code 100. */
static int vnet_owner_gone(void *arg, const char *cid, const char *ifname,
			   struct cni_error *err)
{
	struct vnet *v = arg;
	struct ipnet_addr held[NETSTATE_MAX_IPS];
	struct cni_error lerr = { 0 };
	struct state_snap snap;
	struct netstate_network *net = NULL;
	const struct netstate_endpoint *ep = NULL;
	size_t n = 0;
	int r;

	if (v->gone_lock || !ipam_ours(v->conf) ||
	    (strcmp(cid, v->ctx->env.container_id) == 0 && strcmp(ifname, v->ctx->env.ifname) == 0))
		return 0;
	memset(&snap, 0, sizeof(snap));
	r = state_snap_read(&snap, &lerr);
	if (r == 0)
		net = netstate_find_network(&snap.st, v->conf->name, NULL);
	errno = 0;
	if (net)
		ep = netstate_find_endpoint_by_owner(net, cid, ifname);
	if (net && !ep && errno == ENOMEM)
		r = -ENOMEM;
	state_snap_free(&snap);
	if (r == 0 && !ep)
		r = ipam_run_owned(v->conf, cid, ifname, held, NETSTATE_MAX_IPS, &n, &lerr);
	if (r == -ENOMEM)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	if (r < 0 || ep || n > 0)
		return 0;
	return plugin_owner_lock(cid, ifname, 0, &v->gone_lock, NULL) == 0;
}

/* ---- records and the endpoint-ID rule ---- */

static bool same_owner(const struct netstate_endpoint_head *ep, const char *cid,
		       const char *ifname)
{
	return strcmp(ep->container_id, cid) == 0 && strcmp(ep->ifname, ifname) == 0;
}

/* The record of this call's owner in @net (NULL allowed): found by owner, since the Go-style ID
 * is shared by containers whose IDs start alike (cnitool-..., default-...); a record without a
 * container ID (hand-written or very old) matches by the Go ID. NULL also when decoding it ran
 * out of memory: errno ENOMEM then (0 when there is none). */
static struct netstate_endpoint *owner_record(const struct vnet *v, struct netstate_network *net)
{
	struct netstate_endpoint *ep;

	errno = 0;
	if (!net)
		return NULL;
	ep = netstate_find_endpoint_by_owner(net, v->ctx->env.container_id, v->ctx->env.ifname);
	if (ep || errno == ENOMEM)
		return ep;
	ep = netstate_find_endpoint(net, v->goid);
	return ep && !ep->container_id[0] ? ep : NULL;
}

/* Is @id held by a record of @net (NULL allowed) other than @owner (this call's owner's,
 * owner_record, found once by the caller: NULL when it has none)? 1 yes, 0 no, -ENOMEM when
 * the look-up ran out of memory (decoding the record: it may be another owner's). */
static int id_taken(struct netstate_network *net, const char *id,
		    const struct netstate_endpoint *owner)
{
	const struct netstate_endpoint *ep;

	errno = 0;
	ep = net ? netstate_find_endpoint(net, id) : NULL;
	if (!ep && errno == ENOMEM)
		return -ENOMEM;
	return ep && ep != owner;
}

/* The endpoint-ID rule (both OSes): the owner's existing record keeps its ID; a new owner gets
 * the first candidate of netstate_endpoint_key (the Go ID <cid[:8]>-<ifname>, then
 * <cid>:<ifname>, then <cid>:<ifname>/<k>) that no record of @net holds. At most
 * n_endpoints candidates are held, so the walk ends; put_record applies it under the state
 * lock, so no record is ever keyed like another owner's. Writes the ID to @ret. Returns 0, or
 * -ENOMEM with code 100 when a look-up ran out of memory (a record that could not be read is
 * never taken for a free ID; @ret then undefined). */
static int record_id(const struct vnet *v, struct netstate_network *net,
		     char ret[NETSTATE_ID_MAX], struct cni_error *err)
{
	const struct netstate_endpoint *ep = owner_record(v, net);
	unsigned k;
	int r;

	if (ep) {
		memcpy(ret, ep->id, NETSTATE_ID_MAX);
		return 0;
	}
	if (errno == ENOMEM)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	for (k = 0;; k++) {
		netstate_endpoint_key(v->ctx->env.container_id, v->ctx->env.ifname, k, ret,
				      NETSTATE_ID_MAX);
		r = id_taken(net, ret, NULL);
		if (r < 0)
			return cni_error_set(err, r, CNI_CODE_INTERNAL, "out of memory");
		if (r == 0)
			return 0;
	}
}

/* The IDs under which an unrecorded endpoint of this owner may exist (by name: HCN endpoint
 * names), none held by another owner's record: the candidates of the endpoint-ID rule up to the
 * first free one past the Go ID (what an ADD on this state would take at the latest), and
 * <cid>-<ifname>, which our earlier versions gave when the Go ID was held. */
struct unrecorded_ids {
	char ids[3][NETSTATE_ID_MAX];
	const char *names[3];
	size_t n;
};

/* Returns 0, or -ENOMEM with code 100 when a look-up ran out of memory (a name whose record
 * could not be read is never taken for free: it may be another owner's). */
static int unrecorded_ids(const struct vnet *v, struct netstate_network *net,
			  struct unrecorded_ids *ret, struct cni_error *err)
{
	const struct cni_env *env = &v->ctx->env;
	const struct netstate_endpoint *owner = owner_record(v, net);
	char *id;
	unsigned k;
	int r;

	ret->n = 0;
	if (!owner && errno == ENOMEM)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	for (k = 0;; k++) {
		id = ret->ids[ret->n];
		netstate_endpoint_key(env->container_id, env->ifname, k, id, NETSTATE_ID_MAX);
		r = id_taken(net, id, owner);
		if (r < 0)
			return cni_error_set(err, r, CNI_CODE_INTERNAL, "out of memory");
		if (r > 0)
			continue;
		ret->names[ret->n++] = id;
		if (k > 0)
			break;
	}
	id = ret->ids[ret->n];
	snprintf(id, NETSTATE_ID_MAX, "%.*s-%.*s", NETSTATE_ID_MAX - CNI_IFNAME_MAX - 2,
		 env->container_id, CNI_IFNAME_MAX, env->ifname);
	r = strcmp(id, v->goid) != 0 ? id_taken(net, id, owner) : 1;
	if (r < 0)
		return cni_error_set(err, r, CNI_CODE_INTERNAL, "out of memory");
	if (r == 0)
		ret->names[ret->n++] = id;
	return 0;
}

/* A placeholder record (add_new reserves the ID before endpoint_add) not yet completed: an ADD
 * in progress, or one that did not finish. Only backends that reserve names write them, with no
 * HNS ID yet. */
static bool record_unfinished(const struct netstate_endpoint *ep)
{
	return backend->reserve_name && !ep->hns_id[0];
}

/* Read-only look-up under the lock: v->net_found/net, v->has_rec/rec. The parsed state stays in
 * v->snap, so the call's later locked steps parse the file again only if another call saved
 * it. Returns 0 or negative errno. */
static int vnet_lookup(struct vnet *v, struct cni_error *err)
{
	struct netstate_network *net;
	struct netstate_extif *x = NULL;
	struct netstate_endpoint *ep;
	int r;

	r = state_snap_read(&v->snap, err);
	if (r < 0)
		return r;
	net = netstate_find_network(&v->snap.st, v->conf->name, &x);
	v->net_found = net != NULL;
	if (net)
		backend_network_of(net, x, &v->net);
	ep = owner_record(v, net);
	if (!ep && errno == ENOMEM)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	v->has_rec = ep != NULL;
	if (ep)
		v->rec = *ep;
	return 0;
}

/* ADD and CHECK work in the mode the network was created in: a config naming another mode is a
 * config error, not a missing bridge. */
static int mode_matches(const struct vnet *v, struct cni_error *err)
{
	const char *want = backend->mode ? backend->mode(v->conf) : NULL;
	const char *have = v->net.net.mode;

	if (!v->net_found || !want || !have[0] || strcmp(have, want) == 0)
		return 0;
	return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
			     "network %s exists in mode %s, the config says mode %s",
			     v->conf->name, have, want);
}

/* ---- state changes (each one state_update: lock, load, change, save) ---- */

/* The network @v->conf->name in @st, or code 104 when it vanished (this ADD saw it). */
static struct netstate_network *own_network(const struct vnet *v, struct netstate *st,
					    struct cni_error *err)
{
	struct netstate_network *net = netstate_find_network(st, v->conf->name, NULL);

	if (!net)
		cni_error_set(err, -ENOENT, CNI_CODE_STATE, "network %s vanished from %s during ADD",
			      v->conf->name, platform_path(PLATFORM_PATH_NET_STATE));
	return net;
}

/* state_update callback: put v->rec under its ID by the endpoint-ID rule (the ID this owner
 * already has, e.g. its placeholder's). */
static int put_record(struct netstate *st, void *arg, struct cni_error *err)
{
	struct vnet *v = arg;
	struct netstate_network *net = own_network(v, st, err);

	if (!net)
		return -ENOENT;
	if (record_id(v, net, v->rec.id, err) < 0)
		return -ENOMEM;
	if (netstate_endpoint_put(net, &v->rec) < 0)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	return 1;
}

/* state_update callback: remove this owner's record, if any. */
static int remove_record(struct netstate *st, void *arg, struct cni_error *err)
{
	struct vnet *v = arg;
	struct netstate_network *net = netstate_find_network(st, v->conf->name, NULL);
	struct netstate_endpoint *ep = owner_record(v, net);

	if (!ep && errno == ENOMEM)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	return ep ? netstate_endpoint_remove(net, ep->id) : 0;
}

/* state_update callback: the network of this ADD, found or made under the state lock, so first
 * ADDs on a new node never race to make it. A record another call wrote since our look-up
 * (or re-made, for a network found gone) is used as it is. */
static int network_put(struct netstate *st, void *arg, struct cni_error *err)
{
	struct vnet *v = arg;
	struct netstate_extif *x = NULL;
	struct netstate_network *net = netstate_find_network(st, v->conf->name, &x);
	int r;

	if (net && (!v->net_found || strcmp(net->hns_id, v->net.net.hns_id) != 0)) {
		backend_network_of(net, x, &v->net);
		v->net_found = true;
		return 0;
	}
	r = backend->network_create(v->be, &v->call, &v->ipres, st, net, err);
	if (r < 0)
		return r;
	net = netstate_find_network(st, v->conf->name, &x);
	if (!net)
		return cni_error_set(err, -EIO, CNI_CODE_INTERNAL,
				     "the %s backend recorded no network %s", backend->name,
				     v->conf->name);
	backend_network_of(net, x, &v->net);
	v->net_found = v->net_created = true;
	return 1;
}

/* state_update_undo callback: network_put made a network whose record could not be saved.
 * Undone before the state lock is released: after it, another ADD would make the network
 * again, adopting what it finds in the OS (the bridge, the rules), and could be using it. */
static void network_put_undo(void *arg)
{
	struct vnet *v = arg;

	if (!v->net_created)
		return;
	if (backend->network_undo)
		backend->network_undo(v->be, &v->call, &v->net);
	v->net_created = v->net_found = false;
}

/* The network exists (in the OS and the state) when this returns 0: recorded and alive, else
 * made by the backend and recorded. A made network whose record cannot be saved is undone. */
static int network_ensure(struct vnet *v, struct cni_error *err)
{
	int r = 1;

	if (v->net_found && backend->network_alive)
		r = backend->network_alive(v->be, &v->call, &v->net, err);
	if (r < 0 || (r > 0 && v->net_found))
		return r < 0 ? r : 0;
	return state_update_undo(&v->snap, network_put, network_put_undo, v, err);
}

/* The families (enum ipam_family bits) of network record @net's subnets; 0 without subnets. */
static unsigned network_families(const struct netstate_network *net)
{
	unsigned have = 0;

	for (size_t i = 0; i < net->n_subnets; i++)
		have |= net->subnets[i].prefix.addr.family == IPNET_AF_INET6 ? IPAM_FAMILY_V6 :
									       IPAM_FAMILY_V4;
	return have;
}

/* The families (enum ipam_family bits) of @ipres's addresses that network record @net lacks;
 * 0 for a record without subnets (its families are unknown: left as it is). */
static unsigned network_missing(const struct netstate_network *net, const struct cni_result *ipres)
{
	unsigned have = network_families(net), want = 0;
	size_t i;

	if (!have)
		return 0;
	for (i = 0; i < ipres->n_ips; i++)
		want |= ipres->ips[i].address.addr.family == IPNET_AF_INET6 ? IPAM_FAMILY_V6 :
									     IPAM_FAMILY_V4;
	return want & ~have;
}

/* state_update callback: the network extended by the backend with the families of v->ipres
 * its record lacks, under the state lock; a record another call extended since our look-up is
 * used as it is. */
static int network_extend_put(struct netstate *st, void *arg, struct cni_error *err)
{
	struct vnet *v = arg;
	struct netstate_extif *x = NULL;
	struct netstate_network *net = own_network(v, st, err);
	unsigned missing;
	int r;

	if (!net)
		return -ENOENT;
	net = netstate_find_network(st, v->conf->name, &x);
	missing = network_missing(net, &v->ipres);
	if (!missing) {
		backend_network_of(net, x, &v->net);
		return 0;
	}
	r = backend->network_extend(v->be, &v->call, &v->ipres, st, net, err);
	if (r < 0)
		return r;
	net = netstate_find_network(st, v->conf->name, &x);
	backend_network_of(net, x, &v->net);
	v->net_extended = missing;
	return 1;
}

/* state_update_undo callback: network_extend_put extended the network but its record could
 * not be saved. Undone before the state lock is released: after it, another ADD would extend
 * the network again, adopting the pieces in the OS, and an undo then would pull them from
 * under its record. */
static void network_extend_put_undo(void *arg)
{
	struct vnet *v = arg;

	if (!v->net_extended)
		return;
	if (backend->network_extend_undo)
		backend->network_extend_undo(v->be, &v->call, &v->net, v->net_extended);
	v->net_extended = 0;
}

/* A recorded network made while the NIC had fewer address families (the VNet made dual-stack
 * later) gets the ones of this ADD's addresses (backend network_extend), so its pods get
 * their node-level pieces (the IPv6 SNAT). An extension whose record cannot be saved is
 * undone under the lock. Nothing to do for a network this ADD made, or with a backend that
 * cannot extend. */
static int network_extend(struct vnet *v, struct cni_error *err)
{
	if (!backend->network_extend || v->net_created || !network_missing(&v->net.net, &v->ipres))
		return 0;
	return state_update_undo(&v->snap, network_extend_put, network_extend_put_undo, v, err);
}

/* ---- IPAM ---- */

static bool ipam_ours(const struct conf *c)
{
	return strcmp(c->ipam.type, "azure-vnet-ipam") == 0;
}

/* Run the delegated IPAM plugin (ipam.type, found in CNI_PATH) with this call's request. */
static int ipam_delegate(struct vnet *v, const char *cmd, struct cni_result *ret,
			 struct cni_error *err)
{
	char *text;
	int r;

	/* it would run this plugin again, which waits on the locks this call holds */
	if (strcmp(v->conf->ipam.type, v->ctx->program) == 0)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "ipam.type \"%s\" names this plugin itself", v->conf->ipam.type);
	text = cJSON_PrintUnformatted(v->ctx->req.root);
	if (!text)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	r = ipam_exec(v->conf->ipam.type, cmd, v->ctx->env.path, text, strlen(text), ret, err);
	free(text);
	return r;
}

/* The address families the backend configures for this call's config (enum ipam_family). */
static unsigned vnet_families(const struct vnet *v)
{
	return backend->families ? backend->families(v->conf) : IPAM_FAMILY_V4;
}

static bool family_wanted(unsigned families, int family)
{
	return (families & (family == IPNET_AF_INET6 ? IPAM_FAMILY_V6 : IPAM_FAMILY_V4)) != 0;
}

/* Drop from @res the addresses and routes of families not in @families (a delegated IPAM may
 * answer with both; the pod gets only what the backend configures, and the result reports only
 * that). The delegated plugin's DEL releases them all. */
static void ipres_keep_families(struct cni_result *res, unsigned families)
{
	size_t i, k = 0;

	for (i = 0; i < res->n_ips; i++)
		if (family_wanted(families, res->ips[i].address.addr.family))
			res->ips[k++] = res->ips[i];
		else
			platform_log("IPAM address of a family this mode does not configure: dropped");
	res->n_ips = k;
	for (i = k = 0; i < res->n_routes; i++)
		if (family_wanted(families, res->routes[i].dst.addr.family))
			res->routes[k++] = res->routes[i];
	res->n_routes = k;
}

/* The CNS request for this owner: podInterfaceID @id (the endpoint ID: the Go plugin's
 * <cid[:8]>-<ifname> unless another owner's record holds it, so owners never share a CNS key),
 * the pod's identity from CNI_ARGS, and the addresses @rec records (may be NULL). */
static void cns_request_of(const struct vnet *v, const char *id,
			   const struct netstate_endpoint *rec, struct cns_request *ret)
{
	const struct cni_env *env = &v->ctx->env;
	size_t i;

	memset(ret, 0, sizeof(*ret));
	ret->pod_name = env->args.pod_name;
	ret->pod_namespace = env->args.pod_namespace;
	ret->pod_interface_id = id;
	ret->infra_container_id = env->container_id;
	ret->ifname = env->ifname;
	for (i = 0; rec && i < rec->n_ips && ret->n_desired < CNS_MAX_DESIRED; i++)
		ret->desired[ret->n_desired++] = rec->ips[i].addr;
}

/* The CNS key of owner (@cid, @ifname) when it has no record in @net (NULL allowed): the first
 * candidate of the endpoint-ID rule that no other owner's record holds (what its ADD asked
 * with on this state), so a DEL or GC never releases another owner's addresses in CNS.
 * Returns 0, or -ENOMEM with code 100 when a look-up ran out of memory (a record that could not
 * be read is never taken for an absent one: it may be another owner's). */
static int cns_unrecorded_key(struct netstate_network *net, const char *cid, const char *ifname,
			      char id[NETSTATE_ID_MAX], struct cni_error *err)
{
	const struct netstate_endpoint *ep;
	unsigned k;

	for (k = 0;; k++) {
		netstate_endpoint_key(cid, ifname, k, id, NETSTATE_ID_MAX);
		errno = 0;
		ep = net ? netstate_find_endpoint(net, id) : NULL;
		if (!ep && errno == ENOMEM)
			return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
		if (!ep || same_owner(&ep->head, cid, ifname))
			return 0;
	}
}

/* azure-cns ADD: the owner's endpoint ID (on the snapshot) is its CNS key. CNS answers a known
 * key with the addresses it already holds, so only an owner without a record is fresh. */
static int ipam_cns_add_owner(struct vnet *v, struct cni_error *err)
{
	struct cns_request req;
	int r;

	r = record_id(v, netstate_find_network(&v->snap.st, v->conf->name, NULL), v->cns_id, err);
	if (r < 0)
		return r;
	cns_request_of(v, v->cns_id, NULL, &req);
	r = ipam_cns_add(v->conf, &req, !v->has_rec, &v->ipres,
			 ipam_cns_overlay(v->conf) ? NULL : &v->call.cns_swift, err);
	v->fresh = r >= 0 && !v->has_rec;
	return r;
}

/* Allocate into v->ipres, one address per family the backend configures (IPv4 only when it
 * configures only IPv4, even on a dual-stack NIC); azure-cns: what CNS gives for the owner's
 * key. v->fresh: the owner held none of the addresses before (a rollback may release them). A
 * delegated plugin cannot say; host-local refuses a second allocation for the same owner, so
 * its successful ADD is fresh. An answer without an address (of a family the backend
 * configures) is code 101. */
static int ipam_add(struct vnet *v, struct cni_error *err)
{
	unsigned families = vnet_families(v);
	int r;

	memset(&v->ipres, 0, sizeof(v->ipres));
	v->fresh = false;
	if (ipam_cns_is(v->conf)) {
		r = ipam_cns_add_owner(v, err);
	} else if (ipam_ours(v->conf)) {
		r = ipam_run_add_owned(v->conf, v->ctx->env.container_id, v->ctx->env.ifname,
				       families, &v->ipres, &v->fresh, err);
	} else {
		r = ipam_delegate(v, "ADD", &v->ipres, err);
		v->fresh = r >= 0;
		if (r >= 0)
			ipres_keep_families(&v->ipres, families);
	}
	if (r >= 0 && v->ipres.n_ips == 0)
		r = cni_error_set(err, -ENOENT, CNI_CODE_NO_ADDRESS, "IPAM %s returned no address%s",
				  v->conf->ipam.type, families == IPAM_FAMILY_ANY ? "" :
				  " of the family this network mode configures");
	return r;
}

/* Release what this owner holds (ours: in-process; azure-cns: by the CNS key this ADD used,
 * else the record's ID, else the Go ID; else the delegated plugin's DEL). */
static int ipam_del(struct vnet *v, struct cni_error *err)
{
	if (ipam_cns_is(v->conf)) {
		struct cns_request req;
		char id[NETSTATE_ID_MAX];
		size_t i;

		if (v->cns_id[0]) {  /* an ADD's rollback: what CNS gave it */
			cns_request_of(v, v->cns_id, NULL, &req);
			for (i = 0; i < v->ipres.n_ips && req.n_desired < CNS_MAX_DESIRED; i++)
				req.desired[req.n_desired++] = v->ipres.ips[i].address.addr;
			return ipam_cns_del(v->conf, &req, err);
		}
		/* DEL: v->rec is the record or what unrecorded_fill learnt */
		if (v->has_rec)
			memcpy(id, v->rec.id, sizeof(id));
		else if (cns_unrecorded_key(netstate_find_network(&v->snap.st, v->conf->name,
								  NULL),
					    v->ctx->env.container_id, v->ctx->env.ifname, id,
					    err) < 0)
			return -ENOMEM;
		cns_request_of(v, id, &v->rec, &req);
		return ipam_cns_del(v->conf, &req, err);
	}
	if (ipam_ours(v->conf))
		return ipam_run_del(v->conf, v->ctx->env.container_id, v->ctx->env.ifname, NULL,
				    err);
	return ipam_delegate(v, "DEL", NULL, err);
}

/* ---- records and results ---- */

/* The DNS of a new attachment, or of a repeated ADD's result (@ipres NULL: false and *ret
 * untouched when the config has none): runtimeConfig.dns, else the config's dns, else the
 * IPAM's. */
static bool pick_dns(const struct conf *c, const struct cni_result *ipres, struct cni_dns *ret)
{
	if (c->has_runtime_dns)
		*ret = c->runtime_dns;
	else if (c->dns.n_nameservers || c->dns.domain[0] || c->dns.n_search)
		*ret = c->dns;
	else if (ipres)
		*ret = ipres->dns;
	else
		return false;
	return true;
}

/* v->dns for the new attachment: the backend's choice, else pick_dns. */
static int attach_dns(struct vnet *v, struct cni_error *err)
{
	if (backend->dns)
		return backend->dns(&v->call, &v->ipres.dns, &v->dns, err);
	pick_dns(v->conf, &v->ipres, &v->dns);
	return 0;
}

/* The portable fields of this owner's new record, from the call and v->ipres, v->dns; the ID
 * follows the endpoint-ID rule on the snapshot (put_record applies it again under the lock).
 * Returns 0 or record_id's -ENOMEM (err set). */
static int record_fill(struct vnet *v, struct cni_error *err)
{
	const struct cni_env *env = &v->ctx->env;
	struct netstate_endpoint *ep = &v->rec;
	size_t i;
	int r;

	memset(ep, 0, sizeof(*ep));
	r = record_id(v, netstate_find_network(&v->snap.st, v->conf->name, NULL), ep->id, err);
	if (r < 0)
		return r;
	snprintf(ep->sandbox_key, sizeof(ep->sandbox_key), "%s", env->netns);
	snprintf(ep->netns, sizeof(ep->netns), "%s", env->netns);
	snprintf(ep->ifname, sizeof(ep->ifname), "%s", env->ifname);
	snprintf(ep->container_id, sizeof(ep->container_id), "%s", env->container_id);
	snprintf(ep->pod_name, sizeof(ep->pod_name), "%s", env->args.pod_name);
	snprintf(ep->pod_namespace, sizeof(ep->pod_namespace), "%s", env->args.pod_namespace);
	for (i = 0; i < v->ipres.n_ips && i < NETSTATE_MAX_IPS; i++) {
		ep->ips[ep->n_ips++] = v->ipres.ips[i].address;
		if (v->ipres.ips[i].gateway.family)
			ep->gateways[ep->n_gateways++] = v->ipres.ips[i].gateway;
	}
	for (i = 0; i < v->ipres.n_routes && i < NETSTATE_MAX_ROUTES; i++) {
		ep->routes[ep->n_routes].dst = v->ipres.routes[i].dst;
		ep->routes[ep->n_routes].gw = v->ipres.routes[i].gw;
		ep->n_routes++;
	}
	netstate_dns_set(&ep->dns, &v->dns);
	return 0;
}

/* The CNI result of record @ep: the backend's interfaces, the IPs with the gateway of their
 * family, the routes, and the DNS: @dns when given (this ADD's, or the live endpoint's), else
 * (backends without a DNS rule of their own) the config's, else the record's. */
static void result_build(struct vnet *v, const struct netstate_endpoint *ep,
			 const struct cni_dns *dns, struct cni_result *ret)
{
	int iface;
	size_t i, j;

	cni_mem_update(ret, NULL, sizeof(*ret)); /* plugin_main's is zero: its pages stay unused */
	iface = backend->result_interfaces(v->be, &v->call, ep, ret);
	for (i = 0; i < ep->n_ips && i < CNI_MAX_IPS; i++) {
		struct cni_ipconfig *ip = &ret->ips[ret->n_ips++];

		ip->address = ep->ips[i];
		ip->iface = iface;
		for (j = 0; j < ep->n_gateways; j++)
			if (ep->gateways[j].family == ep->ips[i].addr.family) {
				ip->gateway = ep->gateways[j];
				break;
			}
	}
	for (i = 0; i < ep->n_routes && i < CNI_MAX_ROUTES; i++) {
		struct cni_route *rt = &ret->routes[ret->n_routes++];

		rt->dst = ep->routes[i].dst;
		rt->gw = ep->routes[i].gw;
		rt->scope = -1;
	}
	if (dns)
		cni_mem_update(&ret->dns, dns, sizeof(ret->dns));
	else if (backend->dns || !pick_dns(v->conf, NULL, &ret->dns))
		netstate_dns_get(&ep->dns, &ret->dns);
}

/* ---- ADD ---- */

/* A repeated ADD of a live attachment answers as before and touches nothing: 1 with *ret
 * filled. 0: make a new attachment (no record, an unfinished one, or a dead one). Negative
 * errno: something blocks a new attachment. */
static int add_repeat(struct vnet *v, struct cni_result *ret, struct cni_error *err)
{
	const struct netstate_endpoint *rec =
		v->has_rec && !record_unfinished(&v->rec) ? &v->rec : NULL;
	const struct backend_network *net = v->net_found ? &v->net : NULL;
	struct cni_dns dns;
	bool has_dns = false;
	int r;

	memset(&dns, 0, sizeof(dns));
	r = backend->endpoint_alive(v->be, &v->call, net, rec, &dns, &has_dns, err);
	if (r <= 0)
		return r;
	result_build(v, rec, has_dns ? &dns : NULL, ret);
	return 1;
}

/* The endpoint of a new attachment. A network that went away under it (-EIDRM: HNS lost it
 * between network_ensure and the endpoint, e.g. a restart, or a first ADD's network deleted
 * out of band) is re-made once, as network_ensure does for a recorded network found gone
 * (network_put under the state lock: another call's new network is used as it is), and the
 * endpoint tried again. */
static int endpoint_make(struct vnet *v, bool *left, struct cni_error *err)
{
	struct cni_error gone = { 0 };
	int r;

	v->call.dns = &v->dns;
	r = backend->endpoint_add(v->be, &v->call, &v->net, &v->ipres, &v->rec, left, &gone);
	if (r == -EIDRM && !*left && backend->network_alive) {
		platform_log("ADD %s: network %s (%s) went away (%s): re-creating it once", v->rec.id,
			     v->conf->name, v->net.net.hns_id, gone.msg);
		r = state_update_undo(&v->snap, network_put, network_put_undo, v, err);
		if (r >= 0)
			r = backend->endpoint_add(v->be, &v->call, &v->net, &v->ipres, &v->rec, left,
						  err);
	} else if (r < 0 && err && !cni_error_is_set(err)) {
		*err = gone;
	}
	v->call.dns = NULL;
	return r;
}

/* network_extend failed with -EADDRNOTAVAIL (@err): the node has no address of the family this
 * ADD's addresses would add to the network, for its outbound SNAT (the VNet made dual-stack, and
 * NMAgent lists the VM's IPv6 secondaries before the VM has configured its own IPv6 address).
 * Failing every ADD until it does would stop a working node's pods; the pod instead gets the
 * families the network has: the owner's addresses of the other families are released one by
 * one (our IPAM) and dropped from v->ipres with their routes; a later ADD, once the node has
 * the address, extends the network. The owner has no live attachment (add_repeat answered
 * those), so an address it held before (an earlier ADD killed after its IPAM step, a dead
 * attachment) is used by nothing either: a retried ADD falls back the same way. v->fresh is
 * left as it was, for the addresses kept. azure-cns and a delegated IPAM release by owner
 * only, and keep the error, as does an answer with no address of the network's families.
 * Returns 0, -EADDRNOTAVAIL with @err as it was, or a release's error (@err set; the owner may
 * still hold the address, which the caller's rollback or the next DEL releases). */
static int add_network_families(struct vnet *v, struct cni_error *err)
{
	unsigned have = network_families(&v->net.net) & vnet_families(v);
	size_t i, k;
	int r;

	if (!have || !ipam_ours(v->conf))
		return -EADDRNOTAVAIL;
	for (i = 0; i < v->ipres.n_ips; i++)
		if (family_wanted(have, v->ipres.ips[i].address.addr.family))
			break;
	if (i == v->ipres.n_ips)  /* e.g. ipam.ipAddress of the new family: nothing to fall back to */
		return -EADDRNOTAVAIL;
	platform_log("ADD %s: %s; the pod gets the network's own address families this time",
		     v->ctx->env.container_id, err ? err->msg : "");
	if (err)
		memset(err, 0, sizeof(*err));
	for (i = k = 0; i < v->ipres.n_ips; i++) {
		if (family_wanted(have, v->ipres.ips[i].address.addr.family)) {
			v->ipres.ips[k++] = v->ipres.ips[i];
			continue;
		}
		r = ipam_run_del(v->conf, v->ctx->env.container_id, v->ctx->env.ifname,
				 &v->ipres.ips[i].address.addr, err);
		if (r < 0)
			return r;
	}
	v->ipres.n_ips = k;
	ipres_keep_families(&v->ipres, have);  /* the routes: the addresses are all kept now */
	return 0;
}

/* A new attachment: IPAM, the network, the record (reserved first when the backend names
 * endpoints by ID), the endpoint, the result. Rollback in reverse: the endpoint, the reserved
 * record, the address when fresh; an endpoint the backend cannot be sure it removed keeps its
 * address and placeholder record for the next DEL or ADD. */
static int add_new(struct vnet *v, struct cni_result *ret, struct cni_error *err)
{
	bool left = false, reserved = false;
	int r;

	r = ipam_add(v, err);
	platform_fault_point("ADD ipam");
	if (r >= 0)
		r = network_ensure(v, err);
	platform_fault_point("ADD network");
	if (r >= 0)
		r = network_extend(v, err);
	if (r == -EADDRNOTAVAIL)
		r = add_network_families(v, err);
	if (r >= 0)
		r = attach_dns(v, err);
	if (r >= 0)
		r = record_fill(v, err);
	if (r < 0)
		goto release_ip;
	if (backend->reserve_name) {
		r = state_update(&v->snap, put_record, v, err);
		if (r < 0)
			goto release_ip;
		reserved = true;
		platform_fault_point("ADD reserved");
	}
	r = endpoint_make(v, &left, err);
	platform_fault_point("ADD endpoint");
	if (r < 0)
		goto unreserve;
	/* the answer rendered before the record is: a failure to print it can still roll back */
	result_build(v, &v->rec, &v->dns, ret);
	r = plugin_result_render(v->ctx, ret, err);
	if (r >= 0)
		r = state_update(&v->snap, put_record, v, err);
	platform_fault_point("ADD record");
	if (r < 0)
		goto undo_endpoint;
	return 0;

undo_endpoint:
	if (backend->endpoint_del(v->be, &v->call, &v->net, &v->rec, true, NULL, 0, NULL) < 0)
		left = true;
unreserve:
	if (left) {
		platform_log("ADD %s failed with an endpoint possibly left: keeping its IP%s for "
			     "the next DEL or ADD", v->rec.id, reserved ? " and placeholder record" : "");
		return r;
	}
	if (reserved)
		state_update(&v->snap, remove_record, v, NULL);
release_ip:
	/* An address the owner already held belongs to its earlier attachment: keep it. */
	if (v->fresh)
		ipam_del(v, NULL);
	return r;
}

static int vnet_add(struct plugin_ctx *ctx, struct cni_result *ret, struct cni_error *err)
{
	struct vnet v;
	int r;

	if (!ctx->conf.ipam.type[0])
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "the config has no ipam (ipam.type is required)");
	vnet_init(&v, ctx);
	r = backend->validate(&v.call, err);
	if (r >= 0 && ipam_cns_is(v.conf))
		r = ipam_cns_validate(&ctx->env, err);
	if (r >= 0)
		r = vnet_open(&v, BACKEND_NEED_SANDBOX, err);
	if (r >= 0)
		r = vnet_lookup(&v, err);
	if (r >= 0)
		r = mode_matches(&v, err);
	if (r >= 0)
		r = add_repeat(&v, ret, err);
	if (r == 0)
		r = add_new(&v, ret, err);
	vnet_fini(&v);
	return r < 0 ? r : 0;
}

/* ---- DEL ---- */

/* What is known of an attachment this owner has no record of (an ADD killed before its
 * record was saved, or a DEL repeated after one removed it): prevResult's addresses and the
 * MAC of its sandbox interface; else, when the backend needs the addresses, those the IPAM
 * holds for the owner (read before the release). Fills v->rec. */
static void unrecorded_fill(struct vnet *v)
{
	const struct plugin_ctx *ctx = v->ctx;
	const struct cni_result *prev = v->call.prev;
	struct netstate_endpoint *ep = &v->rec;
	struct ipnet_addr held[NETSTATE_MAX_IPS];
	size_t i, n = 0;

	memset(ep, 0, sizeof(*ep));
	snprintf(ep->container_id, sizeof(ep->container_id), "%s", ctx->env.container_id);
	snprintf(ep->ifname, sizeof(ep->ifname), "%s", ctx->env.ifname);
	snprintf(ep->netns, sizeof(ep->netns), "%s", ctx->env.netns);
	for (i = 0; prev && i < prev->n_ips && ep->n_ips < NETSTATE_MAX_IPS; i++) {
		const struct cni_ipconfig *c = &prev->ips[i];

		ep->ips[ep->n_ips++] = c->address;
		if (!ep->has_mac && c->iface >= 0 && (size_t)c->iface < prev->n_interfaces &&
		    mac_parse(prev->interfaces[c->iface].mac, ep->mac) == 0)
			ep->has_mac = true;
	}
	for (i = 0; prev && !ep->has_mac && i < prev->n_interfaces; i++)
		if (prev->interfaces[i].sandbox[0] &&
		    strcmp(prev->interfaces[i].name, ctx->env.ifname) == 0 &&
		    mac_parse(prev->interfaces[i].mac, ep->mac) == 0)
			ep->has_mac = true;
	if (ep->n_ips || !ipam_ours(v->conf) || !backend->del_needs_ips ||
	    !backend->del_needs_ips(v->net_found ? &v->net : NULL, v->conf))
		return;
	if (ipam_run_owned(v->conf, ctx->env.container_id, ctx->env.ifname, held,
			   NETSTATE_MAX_IPS, &n, NULL) < 0)
		return;
	for (i = 0; i < n; i++)
		ep->ips[ep->n_ips++] = (struct ipnet_prefix){ held[i], ipnet_addr_len(&held[i]) * 8 };
}

/* DEL: remove the endpoint (by its record, else by what prevResult and the IPAM tell and by
 * the names it may have), release the address, drop the record. Gone counts as removed, so a
 * repeated DEL succeeds. When the backend cannot remove an object the DEL fails and the record
 * stays, so a retried DEL or a GC finishes the endpoint; the address is released all the same
 * unless the object left is keyed by it (-EADDRINUSE: a rule, neighbour or route that would
 * act for the next pod given the address), then the owner keeps it too. */
static int vnet_del(struct plugin_ctx *ctx, struct cni_error *err)
{
	struct unrecorded_ids u;
	const char *const *names = u.names;
	size_t n_names;
	struct cni_error berr = { 0 };
	struct vnet v;
	int r, rb;

	vnet_init(&v, ctx);
	r = vnet_lookup(&v, err);
	if (r < 0)
		goto out;
	if (v.has_rec) {
		u.names[0] = v.rec.id;
		n_names = 1;
	} else {
		r = unrecorded_ids(&v, netstate_find_network(&v.snap.st, v.conf->name, NULL), &u,
				   err);
		if (r < 0)
			goto out;
		n_names = u.n;
		unrecorded_fill(&v);
	}
	rb = vnet_open(&v, 0, &berr);
	if (rb >= 0)
		rb = backend->endpoint_del(v.be, &v.call, v.net_found ? &v.net : NULL, &v.rec,
					   v.has_rec, names, n_names, &berr);
	platform_fault_point("DEL endpoint");
	if (ctx->conf.ipam.type[0] && rb != -EADDRINUSE) {
		r = ipam_del(&v, err);
		platform_fault_point("DEL ipam");
		if (r < 0)
			goto out;
	}
	if (rb < 0) {
		*err = berr;
		r = rb;
	} else if (v.has_rec) {
		r = state_update(&v.snap, remove_record, &v, err);
	}
out:
	vnet_fini(&v);
	return r < 0 ? r : 0;
}

/* ---- CHECK: a list of small named validators, run in order; the first failure answers ---- */

static int check_network_recorded(struct vnet *v, struct cni_error *err)
{
	if (v->net_found)
		return 0;
	return cni_error_check_fail(err, "network %s is not in the state", v->conf->name);
}

static int check_endpoint_recorded(struct vnet *v, struct cni_error *err)
{
	if (v->has_rec && !record_unfinished(&v->rec))
		return 0;
	return cni_error_check_fail(err, "endpoint %s of container %s is not in the state",
				    v->has_rec ? v->rec.id : v->goid, v->ctx->env.container_id);
}

/* Every prevResult address is one of the record's. */
static int check_prev_addresses(struct vnet *v, struct cni_error *err)
{
	const struct cni_result *prev = v->call.prev;
	char buf[IPNET_PREFIX_STRLEN];
	size_t i, j;

	for (i = 0; prev && i < prev->n_ips; i++) {
		for (j = 0; j < v->rec.n_ips; j++)
			if (ipnet_addr_equal(&prev->ips[i].address.addr, &v->rec.ips[j].addr))
				break;
		if (j == v->rec.n_ips)
			return cni_error_check_fail(err, "prevResult address %s is not this endpoint's",
						    ipnet_prefix_format(&prev->ips[i].address, buf,
									sizeof(buf)));
	}
	return 0;
}

/* The OS objects are as endpoint_add left them (the backend's own validators). */
static int check_os_objects(struct vnet *v, struct cni_error *err)
{
	int r = vnet_open(v, BACKEND_NEED_SANDBOX, err);

	if (r < 0)
		return r;
	return backend->endpoint_check(v->be, &v->call, &v->net, &v->rec, err);
}

/* The network is in the mode the config names. */
static int check_mode(struct vnet *v, struct cni_error *err)
{
	return mode_matches(v, err);
}

static int (*const check_steps[])(struct vnet *v, struct cni_error *err) = {
	check_network_recorded,
	check_mode,
	check_endpoint_recorded,
	check_prev_addresses,
	check_os_objects,
};

static int vnet_check(struct plugin_ctx *ctx, struct cni_error *err)
{
	struct vnet v;
	size_t i;
	int r;

	vnet_init(&v, ctx);
	r = vnet_lookup(&v, err);
	for (i = 0; r >= 0 && i < sizeof(check_steps) / sizeof(check_steps[0]); i++)
		r = check_steps[i](&v, err);
	vnet_fini(&v);
	return r < 0 ? r : 0;
}

/* ---- GC ---- */

/* How long GC waits for a removed owner's lock: a held lock means a call of that owner is
 * running, and GC leaves the owner to it (or to the next GC). */
#define GC_OWNER_LOCK_MS 200u

/* An owner with only addresses (no stale record) and whether the IPAM GC keeps them: asked
 * once per owner, so that its second address (dual-stack) gets the first one's answer. */
struct gc_owner {
	char id[IPAM_OWNER_MAX];
	char ifname[CNI_IFNAME_MAX];
	bool keep;
};

/* One GC's working lists, each with room for every record of the network. */
struct gc {
	struct ipam_attachment *valid;     /* the request's, then the busy owners (kept) */
	size_t n_valid;
	struct netstate_endpoint *stale;   /* records to remove, their owners' locks held */
	size_t n_stale;
	struct platform_lock **locks;      /* n_stale of them */
	const struct netstate_endpoint **removed; /* stale records whose endpoint is gone */
	size_t n_removed;
	struct platform_lock **held;       /* owners with only an address, locked for the IPAM GC */
	size_t n_held;
	struct gc_owner *decided;          /* gc_keep_busy's answer per owner (n_decided) */
	size_t n_decided;
	struct backend_attachment *found;  /* what the backend traced in the OS (gc_orphans) */
	size_t n_found;
	bool traced;                       /* found holds the backend's trace */
	struct vnet *v;
};

static bool gc_owner_valid(const struct gc *g, size_t n, const char *cid, const char *ifname)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (strcmp(g->valid[j].container_id, cid) == 0 &&
		    (!g->valid[j].ifname[0] || strcmp(g->valid[j].ifname, ifname) == 0))
			return true;
	return false;
}

static bool gc_is_valid(const struct gc *g, size_t n, const struct netstate_endpoint *ep)
{
	return gc_owner_valid(g, n, ep->container_id, ep->ifname);
}

/* Sort the network's records into stale (owner lock taken) and busy (kept valid). */
static int gc_collect(struct vnet *v, struct gc *g, struct cni_error *err)
{
	struct netstate_network *net = netstate_find_network(&v->snap.st, v->conf->name, NULL);
	size_t i, n = g->n_valid, room = net ? net->n_endpoints + 1 : 1;
	struct ipam_attachment *grown = realloc(g->valid, (n + room) * sizeof(*g->valid));

	if (grown)
		g->valid = grown;
	g->stale = calloc(room, sizeof(*g->stale));
	g->locks = calloc(room, sizeof(*g->locks));
	g->removed = calloc(room, sizeof(*g->removed));
	if (!grown || !g->stale || !g->locks || !g->removed)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	/* every record is read whole below (a record that does not decode keeps its owner) */
	if (net && netstate_network_load(net, NULL) < 0)
		platform_log_error("azure-vnet GC: a record of network %s does not decode",
				   v->conf->name);
	for (i = 0; net && i < net->n_endpoints; i++) {
		const struct netstate_endpoint *ep = netstate_endpoint_at(net, i);
		struct cni_error lerr = { 0 };

		if (!ep)
			return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
		if (gc_is_valid(g, n, ep))
			continue;
		if (plugin_owner_lock(ep->container_id, ep->ifname, GC_OWNER_LOCK_MS,
				      &g->locks[g->n_stale], &lerr) < 0) {
			platform_log("azure-vnet GC: keeping endpoint %s for now: %s", ep->id, lerr.msg);
			g->valid[g->n_valid].container_id = ep->container_id;
			g->valid[g->n_valid].ifname = ep->ifname;
			g->n_valid++;
			continue;
		}
		g->stale[g->n_stale++] = *ep;
	}
	return 0;
}

/* Make room for @more entries in the stale, lock and removed lists (and the valid list). */
static int gc_grow(struct gc *g, size_t more, struct cni_error *err)
{
	size_t room = g->n_stale + more + 1, vroom = g->n_valid + g->n_stale + more + 1;
	struct ipam_attachment *valid = realloc(g->valid, vroom * sizeof(*g->valid));
	struct netstate_endpoint *stale;
	struct platform_lock **locks;
	const struct netstate_endpoint **removed;

	if (valid)
		g->valid = valid;
	stale = realloc(g->stale, room * sizeof(*g->stale));
	if (stale)
		g->stale = stale;
	locks = realloc(g->locks, room * sizeof(*g->locks));
	if (locks)
		g->locks = locks;
	removed = realloc(g->removed, room * sizeof(*g->removed));
	if (removed)
		g->removed = removed;
	if (!valid || !stale || !locks || !removed)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	return 0;
}

/* Orphan @a (its owner lock held) onto the stale list: its addresses are the OS's, else the
 * IPAM's for the owner (bridge mode has no host route). */
static void gc_orphan_add(struct vnet *v, struct gc *g, const struct backend_attachment *a)
{
	struct netstate_endpoint *ep = &g->stale[g->n_stale++];
	struct ipnet_addr held[NETSTATE_MAX_IPS];
	size_t i, n = a->n_ips;

	memset(ep, 0, sizeof(*ep));
	snprintf(ep->container_id, sizeof(ep->container_id), "%s", a->container_id);
	snprintf(ep->ifname, sizeof(ep->ifname), "%s", a->ifname);
	snprintf(ep->host_ifname, sizeof(ep->host_ifname), "%s", a->host_ifname);
	memcpy(held, a->ips, n * sizeof(*held));
	if (!n && ipam_ours(v->conf) &&
	    ipam_run_owned(v->conf, a->container_id, a->ifname, held, NETSTATE_MAX_IPS, &n,
			   NULL) < 0)
		n = 0;
	for (i = 0; i < n; i++)
		ep->ips[ep->n_ips++] = (struct ipnet_prefix){ held[i], ipnet_addr_len(&held[i]) * 8 };
	platform_log("azure-vnet GC: %s of %s/%s has no record: removing it", a->host_ifname,
		     a->container_id, a->ifname);
}

/* Add what the backend traces in the OS to an owner of this network that neither a record nor
 * a valid attachment claims (an ADD killed before it saved its record, a record lost with a
 * corrupt state file) to the stale list, under the owner's lock; a busy owner is kept valid.
 * A failed look is logged and GC goes on with the records. */
static void gc_orphans(struct vnet *v, struct gc *g)
{
	struct netstate_network *net = netstate_find_network(&v->snap.st, v->conf->name, NULL);
	struct cni_error lerr = { 0 };
	size_t i, n;

	if (!backend->attachments || vnet_open(v, 0, &lerr) < 0 ||
	    backend->attachments(v->be, &v->call, &g->found, &g->n_found, &lerr) < 0 ||
	    gc_grow(g, g->n_found, &lerr) < 0) {
		if (cni_error_is_set(&lerr))
			platform_log("azure-vnet GC: no orphan sweep: %s", lerr.msg);
		return;
	}
	g->traced = true;
	n = g->n_valid;
	for (i = 0; i < g->n_found; i++) {
		const struct backend_attachment *a = &g->found[i];
		size_t k;

		if (!a->this_network || !a->container_id[0] ||
		    gc_owner_valid(g, n, a->container_id, a->ifname))
			continue;
		for (k = 0; net && k < net->n_endpoints; k++)
			if (same_owner(net->endpoints[k], a->container_id, a->ifname))
				break;
		if (net && k < net->n_endpoints)
			continue;  /* recorded: gc_collect sorted it */
		if (plugin_owner_lock(a->container_id, a->ifname, GC_OWNER_LOCK_MS,
				      &g->locks[g->n_stale], &lerr) < 0) {
			g->valid[g->n_valid].container_id = a->container_id;
			g->valid[g->n_valid].ifname = a->ifname;
			g->n_valid++;
			continue;
		}
		gc_orphan_add(v, g, a);
	}
}

/* Keep stale record @ep's address: it goes on the valid list of the IPAM GC. */
static void gc_keep_address(struct gc *g, const struct netstate_endpoint *ep)
{
	g->valid[g->n_valid].container_id = ep->container_id;
	g->valid[g->n_valid].ifname = ep->ifname;
	g->n_valid++;
}

/* Remove the stale endpoints; the first failure is copied to @berr. A record whose endpoint
 * could not be removed is kept; its address is released all the same (as DEL does) unless
 * what is left is keyed by it (-EADDRINUSE), or nothing could be tried (no session). */
static void gc_remove(struct vnet *v, struct gc *g, struct cni_error *berr)
{
	const struct backend_network *net = v->net_found ? &v->net : NULL;
	size_t i;
	int r;

	if (!g->n_stale)
		return;
	r = vnet_open(v, 0, berr);
	for (i = 0; r < 0 && i < g->n_stale; i++)
		gc_keep_address(g, &g->stale[i]);
	for (i = 0; r >= 0 && i < g->n_stale; i++) {
		bool recorded = g->stale[i].id[0] != '\0';  /* else an orphan (gc_orphans) */
		/* an orphan's name: the OS object's (an HCN endpoint is deleted by name) */
		const char *name = recorded ? g->stale[i].id : g->stale[i].host_ifname;
		struct cni_error one = { 0 };
		int rd = backend->endpoint_del(v->be, &v->call, net, &g->stale[i], recorded, &name,
					       name[0] ? 1 : 0, &one);

		if (rd < 0) {
			platform_log("GC %s (%s): %s", name, g->stale[i].container_id, one.msg);
			if (!cni_error_is_set(berr))
				*berr = one;
			if (rd == -EADDRINUSE)
				gc_keep_address(g, &g->stale[i]);
			continue;
		}
		platform_fault_point("GC endpoint");
		platform_log("GC %s (%s): endpoint removed", name, g->stale[i].container_id);
		g->removed[g->n_removed++] = &g->stale[i];
	}
}

/* What an owner with only address @rec (an ADD killed before it saved its record) left in the
 * OS, removed as its DEL would (endpoint_del of an unrecorded endpoint) before the address is
 * released. Returns endpoint_del's result (-EADDRINUSE: keep the address); 0 without a
 * session. */
static int gc_unrecorded_del(struct vnet *v, const struct ipam_addr *rec)
{
	struct netstate_endpoint *ep = &v->rec;
	struct cni_error one = { 0 };
	int r;

	if (vnet_open(v, 0, NULL) < 0)
		return 0;
	memset(ep, 0, sizeof(*ep));
	snprintf(ep->container_id, sizeof(ep->container_id), "%s", rec->id);
	snprintf(ep->ifname, sizeof(ep->ifname), "%s", rec->ifname);
	/* No address: what an ADD keys by address comes after it tagged its objects (those go
	 * through gc_orphans), and the IPAM's owner may be another network's, whose rules this
	 * GC must not touch. */
	r = backend->endpoint_del(v->be, &v->call, v->net_found ? &v->net : NULL, ep, false, NULL,
				  0, &one);
	if (r < 0)
		platform_log("azure-vnet GC: %s (%s) keeps its address: %s", rec->id,
			     ipnet_addr_format(&rec->addr, (char[IPNET_ADDR_STRLEN]){ 0 },
					       IPNET_ADDR_STRLEN), one.msg);
	return r;
}

/* An address a rebuild gave an untagged OS object (RECOVER_UNTRACED + its name): kept while
 * the object still routes it, or when the OS cannot be traced. */
static bool gc_untraced_live(const struct gc *g, const struct ipam_addr *rec)
{
	const char *host = rec->id + strlen(RECOVER_UNTRACED);
	size_t i, k;

	if (!g->traced)
		return true;
	for (i = 0; i < g->n_found; i++)
		if (strcmp(g->found[i].host_ifname, host) == 0)
			for (k = 0; k < g->found[i].n_ips; k++)
				if (ipnet_addr_equal(&g->found[i].ips[k], &rec->addr))
					return true;
	return false;
}

/* Whether to keep the addresses of owner @rec (no stale record of it): yes while a call of it
 * runs (its lock is busy) or its unrecorded endpoint could not be removed; else its lock is
 * held (g->held) until the GC is over. */
static bool gc_owner_keep(struct gc *g, const struct ipam_addr *rec)
{
	struct platform_lock *l = NULL, **grown;

	if (plugin_owner_lock(rec->id, rec->ifname, 0, &l, NULL) < 0) {
		platform_log("azure-vnet GC: keeping %s's address for now: a call of it runs", rec->id);
		return true;
	}
	if (gc_unrecorded_del(g->v, rec) == -EADDRINUSE) {
		platform_lock_release(l);
		return true;
	}
	grown = realloc(g->held, (g->n_held + 1) * sizeof(*g->held));
	if (!grown) {
		platform_lock_release(l);
		return true;
	}
	g->held = grown;
	g->held[g->n_held++] = l;
	return false;
}

/* The answer for the owner of @rec: the one given for an earlier address of it, or, the first
 * time, gc_owner_keep's, remembered (out of memory: not remembered, kept). */
static bool gc_keep_decided(struct gc *g, const struct ipam_addr *rec)
{
	struct gc_owner *grown;
	bool keep;
	size_t i;

	for (i = 0; i < g->n_decided; i++)
		if (strcmp(g->decided[i].id, rec->id) == 0 &&
		    strcmp(g->decided[i].ifname, rec->ifname) == 0)
			return g->decided[i].keep;
	keep = gc_owner_keep(g, rec);
	grown = realloc(g->decided, (g->n_decided + 1) * sizeof(*grown));
	if (!grown)
		return true;
	g->decided = grown;
	memset(&grown[g->n_decided], 0, sizeof(*grown));
	snprintf(grown[g->n_decided].id, sizeof(grown->id), "%s", rec->id);
	snprintf(grown[g->n_decided].ifname, sizeof(grown->ifname), "%s", rec->ifname);
	grown[g->n_decided++].keep = keep;
	return keep;
}

/* ipam_gc's keep: an address whose owner has no stale record here is kept while a call of
 * that owner runs (its ADD may be between the allocation and saving its record); otherwise
 * its owner lock is taken (without waiting: the IPAM lock is held) and held until the GC is
 * over, so no ADD of that owner starts on an address being released. Asked once per owner
 * (gc_keep_decided): a dual-stack owner's second address found the lock this GC took for its
 * first one "busy" and was kept for ever. */
static bool gc_keep_busy(const struct ipam_addr *rec, void *arg)
{
	struct gc *g = arg;
	size_t i;

	for (i = 0; i < g->n_stale; i++)
		if (strcmp(g->stale[i].container_id, rec->id) == 0 &&
		    (!rec->ifname[0] || strcmp(g->stale[i].ifname, rec->ifname) == 0))
			return false;  /* this GC holds the owner and removed its endpoint */
	if (strncmp(rec->id, RECOVER_UNTRACED, strlen(RECOVER_UNTRACED)) == 0)
		return gc_untraced_live(g, rec);
	return gc_keep_decided(g, rec);
}

/* state_update callback: drop the records gc_remove emptied. By owner, not by ID alone: the
 * stale owner's DEL may have dropped its record since the look-up, and a new owner whose
 * container ID starts alike then holds the same Go ID. */
static int gc_forget(struct netstate *st, void *arg, struct cni_error *err)
{
	struct vnet *v = arg;
	struct gc *g = v->gc;
	struct netstate_network *net = netstate_find_network(st, v->conf->name, NULL);
	size_t i;
	int n = 0;

	for (i = 0; net && i < g->n_removed; i++) {
		const struct netstate_endpoint *gone = g->removed[i];
		const struct netstate_endpoint *ep;

		errno = 0;
		ep = netstate_find_endpoint(net, gone->id);
		if (!ep && errno == ENOMEM) /* nothing saved: a later GC or DEL drops them */
			return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
		if (ep && same_owner(&ep->head, gone->container_id, gone->ifname))
			n += netstate_endpoint_remove(net, gone->id);
	}
	return n;
}

/* azure-cns GC: release in CNS what each removed endpoint's owner holds, by its record's ID
 * (an orphan, which has none: by the key its ADD asked with, cns_unrecorded_key).
 * A release that fails keeps that record (dropped from the removed list), so a later GC or DEL
 * releases it; the first failure is copied to @berr. */
static void gc_cns_release(struct vnet *v, struct gc *g, struct cni_error *berr)
{
	char id[NETSTATE_ID_MAX];
	size_t i, k = 0;

	for (i = 0; i < g->n_removed; i++) {
		const struct netstate_endpoint *ep = g->removed[i];
		struct cni_error one = { 0 };
		struct cns_request req;
		size_t j;

		if (ep->id[0]) {
			memcpy(id, ep->id, sizeof(id));
		} else if (cns_unrecorded_key(netstate_find_network(&v->snap.st, v->conf->name,
									NULL),
					      ep->container_id, ep->ifname, id, &one) < 0) {
			platform_log("GC (%s): record kept: %s", ep->container_id, one.msg);
			if (!cni_error_is_set(berr))
				*berr = one;
			continue;
		}
		memset(&req, 0, sizeof(req));
		req.pod_name = ep->pod_name;
		req.pod_namespace = ep->pod_namespace;
		req.pod_interface_id = id;
		req.infra_container_id = ep->container_id;
		req.ifname = ep->ifname;
		for (j = 0; j < ep->n_ips && j < CNS_MAX_DESIRED; j++)
			req.desired[req.n_desired++] = ep->ips[j].addr;
		if (ipam_cns_del(v->conf, &req, &one) < 0) {
			platform_log("GC %s (%s): CNS release failed, record kept: %s", id,
				     ep->container_id, one.msg);
			if (!cni_error_is_set(berr))
				*berr = one;
			continue;
		}
		g->removed[k++] = ep;
	}
	g->n_removed = k;
}

/* GC (CNI 1.1.0): every recorded endpoint of this network whose attachment is not in
 * "cni.dev/valid-attachments" is removed under its owner's lock (whose file goes with it), its
 * record dropped; then every address not held by a valid or busy owner is released. An owner
 * whose lock is busy (a call of it runs) is kept whole, whether it has a record or only an
 * address. A backend failure keeps that record (a later GC or DEL finishes it) and is reported
 * after the addresses are released. */
static int vnet_gc(struct plugin_ctx *ctx, struct cni_error *err)
{
	struct cni_error berr = { 0 };
	struct gc g;
	struct vnet v;
	size_t i;
	int r;

	memset(&g, 0, sizeof(g));
	vnet_init(&v, ctx);
	v.gc = &g;
	g.v = &v;
	r = plugin_valid_attachments(ctx, &g.valid, &g.n_valid, err);
	if (r >= 0)
		r = vnet_lookup(&v, err);
	if (r >= 0)
		r = gc_collect(&v, &g, err);
	if (r >= 0)
		gc_orphans(&v, &g);
	if (r >= 0)
		gc_remove(&v, &g, &berr);
	if (r >= 0 && ipam_cns_is(v.conf))
		gc_cns_release(&v, &g, &berr);
	else if (r >= 0 && ipam_ours(v.conf))
		r = ipam_run_gc(v.conf, g.valid, g.n_valid, gc_keep_busy, &g, err);
	else if (r >= 0 && v.conf->ipam.type[0])
		r = ipam_delegate(&v, "GC", NULL, err);
	platform_fault_point("GC ipam");
	if (r >= 0 && g.n_removed)
		r = state_update(&v.snap, gc_forget, &v, err);
	if (r >= 0 && cni_error_is_set(&berr)) {
		*err = berr;
		r = -EIO;
	}
	/* the owners are gone (or a failed GC is retried and takes new files) */
	for (i = 0; i < g.n_stale; i++)
		platform_lock_release_unlink(g.locks[i]);
	for (i = 0; i < g.n_held; i++)
		platform_lock_release_unlink(g.held[i]);
	free(g.held);
	free(g.decided);
	free(g.found);
	/* and the files a killed DEL or GC left */
	if (r >= 0)
		plugin_owner_lock_sweep();
	vnet_fini(&v);
	free(g.valid);
	free(g.stale);
	free(g.locks);
	free(g.removed);
	return r < 0 ? r : 0;
}

/* ---- STATUS ---- */

/* STATUS (CNI 1.1.0): ready when the IPAM can hand out an address (ours: the source answers
 * and has a free address, else code 50; azure-cns: ready, CNS is not asked, as its contract has
 * no request that tells without allocating; another type: its own STATUS). */
static int vnet_status(struct plugin_ctx *ctx, struct cni_error *err)
{
	struct vnet v;
	int r = 0;

	vnet_init(&v, ctx);
	if (ipam_ours(v.conf))
		r = ipam_run_status_families(v.conf, vnet_families(&v), err);
	else if (v.conf->ipam.type[0] && !ipam_cns_is(v.conf))
		r = ipam_delegate(&v, "STATUS", NULL, err);
	vnet_fini(&v);
	return r;
}

/* ---- the program ---- */

static const struct plugin_ops vnet_ops = {
	.program = "azure-vnet",
	.lock_per_owner = true,
	.add = vnet_add,
	.del = vnet_del,
	.check = vnet_check,
	.gc = vnet_gc,
	.status = vnet_status,
};

int azure_vnet_main(const struct backend_ops *ops, int argc, char **argv)
{
	backend = ops;
	ipam_run_set_recovery(ops);
	return plugin_main(&vnet_ops, argc, argv);
}

#ifndef AZCNI_NO_MAIN
int main(int argc, char **argv)
{
	const struct backend_ops *ops = backend_native();
	int rc = azure_vnet_main(ops, argc, argv);

	if (ops->finish)
		ops->finish(rc);
	return rc;
}
#endif
