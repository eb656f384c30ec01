/* SPDX-License-Identifier: MIT */
/* The network backend: what azure-vnet's one orchestrator (cni/azure-vnet.c) asks of an OS to
 * attach a pod to the VM's virtual network. Linux (platform/linux/backend-linux.c) drives
 * netlink, iptables and ebtables; Windows (platform/windows/backend-windows.c) drives HCN. Tests
 * link an in-memory fake (tests/unit/test-vnet.c). In the manner of Open vSwitch's
 * lib/netdev-provider.h: a table of documented function pointers, one instance per OS.
 *
 * The orchestrator owns the policy: the state files and their locks, the owner lock, IPAM
 * (allocation, the "fresh" rule, release), the endpoint-ID rule, the common fields of a record,
 * the CNI result, rollback order and GC. A backend owns the kernel or HNS objects: it never
 * reads or writes a state file, never calls IPAM, never takes a lock.
 *
 * Records: endpoints and networks are described by core/netstate.h records, as they are (or will
 * be) stored in azure-vnet.json. The orchestrator fills the portable fields of an endpoint record
 * (ID, owner, netns, pod name, IPs, gateways, routes, DNS); a backend fills its own (host
 * interface, MAC, HNS IDs). Every pointer passed in is owned by the caller and valid for the
 * call only; a backend keeps none of them.
 *
 * Errors: every int member returns 0 (or the count / boolean it documents) on success and a
 * negative errno on failure, with @err set (code 103 for an OS operation, 11 for a timeout,
 * 4 or 7 for bad input); the first error set wins. */
#ifndef AZCNI_BACKEND_H
#define AZCNI_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "core/cni.h"
#include "core/cns.h"
#include "core/conf.h"
#include "core/error.h"
#include "core/netstate.h"

/* What one call asks of the backend: the CNI request as parsed (env, conf, prevResult). */
struct backend_call {
	const struct cni_env *env;
	const struct conf *conf;
	const struct cni_result *prev;  /* prevResult, NULL when none (or undecodable on DEL) */
	const struct cni_dns *dns;      /* endpoint_add only: the new attachment's whole DNS (the
					 * record keeps only the Go fields), else NULL */
	/* endpoint_add only: may the backend remove an object of owner (@cid, @ifname), another
	 * owner of this network, that stands in the new attachment's way (a host route to the
	 * address IPAM just gave)? 1 only when the orchestrator proved that owner gone: no
	 * record, no address in the IPAM, no call of it running (its lock, taken, is then held
	 * until this call ends); 0 when not proven; -ENOMEM (code 100 in @err) when a look-up ran
	 * out of memory (the call fails). NULL: never. */
	int (*owner_gone)(void *arg, const char *cid, const char *ifname, struct cni_error *err);
	void *owner_arg;
	/* network_create, network_undo and endpoint_add: with ipam.type azure-cns for pod subnets
	 * (no ipam.mode), the network container's primary IPv4 CNS gave (ACN invoker_cns.go
	 * ncPrimaryIP) and the node's primary IPv4 it gave with it (HostPrimaryIPInfo.PrimaryIP:
	 * hostPrimaryIP, IMDS's SNAT source), else family 0 (cns_swift_addrs) */
	struct cns_swift cns_swift;
};

/* A network as recorded: copies of its record and of its external interface's (the endpoints,
 * heads and networks arrays are not copied: NULL, count 0). */
struct backend_network {
	struct netstate_network net;
	struct netstate_extif extif;
};

/* backend_network_of - *ret as a copy of network @net's record and of its external interface
 * @x's, without their endpoint, head and network arrays (NULL, count 0): nothing in *ret is
 * owned. */
static inline void backend_network_of(const struct netstate_network *net,
				      const struct netstate_extif *x, struct backend_network *ret)
{
	ret->net = *net;
	ret->net.endpoints = NULL;
	ret->net.heads = NULL;
	ret->net.n_endpoints = 0;
	ret->extif = *x;
	ret->extif.networks = NULL;
	ret->extif.n_networks = 0;
}

/* One attachment found in the OS itself, traced to its owner without the state files
 * (backend_ops.attachments). */
struct backend_attachment {
	char container_id[NETSTATE_ID_MAX];  /* the owner; "" when the OS object does not name one */
	char ifname[NETSTATE_IFNAME_MAX];    /* the owner's CNI_IFNAME, "" when not named */
	char host_ifname[NETSTATE_IFNAME_MAX]; /* the object (Linux: the host veth) */
	struct ipnet_addr ips[NETSTATE_MAX_IPS]; /* the pod addresses it serves (Linux: the host
						  * /32 and /128 routes via it; none in bridge mode) */
	size_t n_ips;
	bool this_network;                   /* proven to be network call->conf->name's */
};

/* One OS session (netlink sockets, the HCN library): opaque, made by ops.open. */
struct backend;

/* Bits of backend_ops.open's @need. */
enum backend_need {
	BACKEND_NEED_SANDBOX = 1 << 0,  /* the pod's network namespace (CNI_NETNS) too */
};

struct backend_ops {
	const char *name;                  /* "linux", "windows", "fake" */

	/* reserve_name - true when the endpoint's name in the OS is its record ID (HCN endpoint
	 * names): the orchestrator then reserves the ID in azure-vnet.json (a placeholder record,
	 * netstate_endpoint.hns_id "") before endpoint_add, so two owners never race for a name,
	 * and a DEL, GC or ADD that finds the placeholder removes the endpoint by that name. */
	bool reserve_name;

	/* validate - refuse what this OS cannot do with this request before anything is made:
	 * no handle is open yet, nothing is read or changed. Code 4 (env) or 7 (config) naming the
	 * field. Called by ADD only. Idempotent. Required. */
	int (*validate)(const struct backend_call *call, struct cni_error *err);

	/* mode - the network mode this backend records for @conf and requires of an existing
	 * network ("transparent", "bridge", "tunnel"), or NULL when it does not compare modes.
	 * The orchestrator refuses ADD and CHECK (code 7) when a recorded network's mode differs.
	 * Optional (NULL: no comparison). */
	const char *(*mode)(const struct conf *conf);

	/* families - the address families (enum ipam_family bits of core/ipam.h: IPAM_FAMILY_V4,
	 * IPAM_FAMILY_V6) this backend's data plane configures on a pod for @conf: the
	 * orchestrator asks the IPAM for those only (one address of each the NIC has) and drops
	 * other families from a delegated IPAM's answer, so a result never reports an address the
	 * pod does not have. Optional (NULL: IPv4 only). */
	unsigned (*families)(const struct conf *conf);

	/* open - make an OS session for @call into *ret (free with close). @need: enum
	 * backend_need bits; endpoint_alive, endpoint_add and endpoint_check need a session
	 * opened with BACKEND_NEED_SANDBOX (ADD and CHECK open so; DEL and GC do not). With it, a
	 * CNI_NETNS that is empty or not a network namespace (Windows: not a GUID) is code 4.
	 * Leaves nothing behind on failure. Required. */
	int (*open)(const struct backend_call *call, unsigned need, struct backend **ret,
		    struct cni_error *err);

	/* close - free the session; NULL allowed. Returns NULL. Required. */
	struct backend *(*close)(struct backend *be);

	/* network_alive - is the recorded network @net still there? 1 yes, 0 gone (the OS lost
	 * it: HNS after a reboot), negative errno when that cannot be told. Changes nothing.
	 * Called without any lock. Optional (NULL: a recorded network is always there). */
	int (*network_alive)(struct backend *be, const struct backend_call *call,
			     const struct backend_network *net, struct cni_error *err);

	/* network_create - make the network @call->conf->name exist for the pod addresses of
	 * @ipres (ips[0] is the first one; its gateway may be unset) and add its record to @st
	 * (network and external interface; the orchestrator saves @st). @stale is the record of a
	 * network network_alive found gone (update it in place), else NULL. May adopt what an
	 * earlier, forgotten run left (a bridge, an HNS network of that name), and finishes what
	 * a run killed half-way left: a kill at any point leaves the node its addresses and
	 * routes. Called under the network state lock, so first ADDs on a new node never race.
	 * On failure undoes what it made or finished (the NIC as it was) and leaves @st without
	 * the network. Not idempotent on its own:
	 * the orchestrator calls it only when no live network is recorded. Required. */
	int (*network_create)(struct backend *be, const struct backend_call *call,
			      const struct cni_result *ipres, struct netstate *st,
			      struct netstate_network *stale, struct cni_error *err);

	/* network_undo - undo a network_create whose record could not be saved: @net is what it
	 * recorded; called on the same session as that network_create (which may remember what
	 * it changed, e.g. whether it moved the NIC's addresses itself). Best effort, no error.
	 * Optional (NULL: the network stays, found again by network_create next time). */
	void (*network_undo)(struct backend *be, const struct backend_call *call,
			     const struct backend_network *net);

	/* network_extend - network @net (its record in @st, changed in place), made while the NIC
	 * had fewer address families, gets the families of @ipres's addresses it lacks (the NIC
	 * gained them: the VNet was made dual-stack): their node-level pieces (Linux: the
	 * family's outbound SNAT; bridge/tunnel also IPv6's neighbour-solicitation drop and
	 * bridge-nf-call-ip6tables, or IPv4's ARP reply for the primary) and their subnets in the
	 * record, in the Go layout (Subnets IPv4 first, then IPv6 with Family 10; the external
	 * interface's Subnets and IPv4Gateway/IPv6Gateway). Called under the network state lock,
	 * only when the record lacks a family of @ipres. Idempotent: what a run killed half-way
	 * installed is adopted. On failure removes what it installed and leaves @net as it was
	 * (code 103 naming what failed, e.g. a master without an address of the family for the
	 * SNAT). Optional (NULL: the record stays as made). */
	int (*network_extend)(struct backend *be, const struct backend_call *call,
			      const struct cni_result *ipres, struct netstate *st,
			      struct netstate_network *net, struct cni_error *err);

	/* network_extend_undo - undo a network_extend whose record could not be saved: @net is
	 * the record it extended, @families (enum ipam_family bits) the families it added. Called
	 * under the network state lock, on the same session. Best effort, no error. Optional
	 * (NULL: the pieces stay; the next extension adopts them). */
	void (*network_extend_undo)(struct backend *be, const struct backend_call *call,
				    const struct backend_network *net, unsigned families);

	/* endpoint_alive - is @rec (this owner's record, NULL when none) a live attachment that a
	 * repeated ADD may report unchanged? 1 yes (then *ret_dns holds the live endpoint's DNS
	 * and *ret_has_dns is true when the OS keeps one, else false), 0 no and nothing blocks a
	 * new attachment, negative errno when something does (Linux: CNI_IFNAME already exists in
	 * the sandbox; code 103 naming it) or when it cannot be told (an HNS timeout, code 11).
	 * *ret_dns is written only when *ret_has_dns is set. @net may be NULL (not recorded).
	 * Changes nothing. Required. */
	int (*endpoint_alive)(struct backend *be, const struct backend_call *call,
			      const struct backend_network *net, const struct netstate_endpoint *rec,
			      struct cni_dns *ret_dns, bool *ret_has_dns, struct cni_error *err);

	/* dns - the DNS of a new attachment from the config and the IPAM's (@ipam_dns): all of
	 * *ret is written on success. Optional (NULL: runtimeConfig.dns, else the config's dns, else the IPAM's). */
	int (*dns)(const struct backend_call *call, const struct cni_dns *ipam_dns,
		   struct cni_dns *ret, struct cni_error *err);

	/* endpoint_add - attach the sandbox: make the endpoint for @rec (portable fields filled:
	 * id, ips, gateways, routes, dns, owner) in network @net, with @ipres as IPAM gave it, and
	 * fill the backend's fields of @rec (host_ifname, mac, hns_id, hns_network_id). A leftover
	 * of this owner (same host interface or endpoint name, from a killed earlier ADD) is
	 * removed first. On failure removes what it made; *ret_left is set true when it cannot be
	 * sure nothing is left (an HNS call timed out and may still finish): the orchestrator then
	 * keeps the IP and the reserved record for the next DEL or ADD. -EIDRM (backends with
	 * network_alive): @net itself went away after network_alive (HNS lost it:
	 * HCN_E_NETWORK_NOT_FOUND), nothing made; the orchestrator re-creates the network once
	 * and calls again. Required. */
	int (*endpoint_add)(struct backend *be, const struct backend_call *call,
			    const struct backend_network *net, const struct cni_result *ipres,
			    struct netstate_endpoint *rec, bool *ret_left, struct cni_error *err);

	/* endpoint_del - remove the attachment @rec: the owner's record, or when @recorded is
	 * false what is known of an unrecorded one (container_id, ifname and netns of the call,
	 * IPs from prevResult or the IPAM, MAC from prevResult; host_ifname "" and hns_id "").
	 * Only @rec's owner fields name the owner: in a GC the call's CNI_CONTAINERID is not it.
	 * @names (@n_names, may be 0) are the record IDs under which the endpoint may exist in
	 * the OS (by name: HCN endpoints); @net is NULL when the network is not recorded. Tries
	 * every removal; anything already gone counts as removed (idempotent). Returns 0, or a
	 * negative errno when an object could not be removed: the orchestrator then fails the
	 * call and keeps the record, so a later DEL or GC finishes the endpoint. -EADDRINUSE
	 * says an object keyed by the pod's address is left (Linux: every object it removes is),
	 * and the owner then keeps the address too; after any other error the address is
	 * released (Windows: HNS endpoints are keyed by ID). Required. */
	int (*endpoint_del)(struct backend *be, const struct backend_call *call,
			    const struct backend_network *net, const struct netstate_endpoint *rec,
			    bool recorded, const char *const *names, size_t n_names,
			    struct cni_error *err);

	/* attachments - every pod attachment the OS holds that names its owner, of any network,
	 * found without the state files (Linux: host veths with our owner tag, IFLA_IFALIAS, with
	 * the host routes via them; untagged "azv" veths too, owner ""):
	 * what GC removes when no record and no valid owner claim it, and what a rebuilt IPAM state
	 * keeps in use. *ret is a malloc'd array of *ret_n (caller frees; NULL when 0). Changes
	 * nothing. Returns 0 or negative errno (code 103). Optional (NULL: nothing is traced). */
	int (*attachments)(struct backend *be, const struct backend_call *call,
			   struct backend_attachment **ret, size_t *ret_n, struct cni_error *err);

	/* del_needs_ips - true when endpoint_del of an unrecorded endpoint in @net needs its IPs
	 * (rules keyed by IP: Linux bridge and tunnel modes, and a network of unknown mode; @net
	 * NULL, the network not recorded (a state file lost or rebuilt): the mode @conf names):
	 * the orchestrator then asks the IPAM which addresses the owner holds before releasing
	 * them. Optional (NULL: false). */
	bool (*del_needs_ips)(const struct backend_network *net, const struct conf *conf);

	/* endpoint_check - verify the OS objects of @rec are as endpoint_add left them (CHECK):
	 * 0 when they are, code 106 naming the first thing missing, or another code when the
	 * check itself failed. Changes nothing. Required. */
	int (*endpoint_check)(struct backend *be, const struct backend_call *call,
			      const struct backend_network *net, const struct netstate_endpoint *rec,
			      struct cni_error *err);

	/* result_interfaces - the CNI result's interfaces for @rec into @ret->interfaces (and
	 * n_interfaces); returns the index of the sandbox interface (the one ips[].interface
	 * names). Never fails (what the OS cannot tell is left empty). Required. */
	int (*result_interfaces)(struct backend *be, const struct backend_call *call,
				 const struct netstate_endpoint *rec, struct cni_result *ret);

	/* finish - called once by main with the process exit code @rc just before it returns,
	 * after every session is closed (Windows: a process with an HCN call abandoned on timeout
	 * exits without unloading computenetwork.dll). May not return. Optional. */
	void (*finish)(int rc);
};

/* backend_native - this OS's backend (platform/linux or platform/windows). Static storage. */
const struct backend_ops *backend_native(void);

#endif
