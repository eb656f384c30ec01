/* SPDX-License-Identifier: MIT */
/* azure-vnet (Linux): attaches a pod's netns to the VM's virtual network.
 * transparent: a veth with host MAC aa:aa:aa:aa:aa:aa, a host /32 route and proxy ARP; in the pod
 * the VNet IP, 169.254.1.1 as a link-scope gateway with a permanent neighbour entry.
 * bridge/tunnel: the NIC enslaved to a bridge holding its addresses, per-pod ebtables ARP reply
 * and MAC DNAT. Once per network: ip_forward, (bridge) bridge-nf-call-iptables, and the outbound
 * SNAT chain. IPAM in-process (azure-vnet-ipam) or by exec (any other ipam.type).
 * State: azure-vnet.json in the Go layout, locked only around read-modify-write (and around the
 * one-time network creation). Every ADD step is undone on failure. */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "core/mac.h"
#include "core/netstate.h"
#include "core/sha1.h"
#include "platform/linux/fw.h"
#include "platform/linux/ipam-exec.h"
#include "platform/linux/netdev.h"
#include "platform/platform.h"

#define SNAT_CHAIN "AZURE-VNET-SNAT"
#define GW4_TEXT "169.254.1.1"
#define GW6_TEXT "fe80::1234:5678:9abc"

static const uint8_t host_veth_mac[6] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa };
static const uint8_t vepa_mac[6] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc };

/* What one call knows about the network (from state or just created). */
struct netinfo {
	char master[NETSTATE_IFNAME_MAX];
	char bridge[NETSTATE_IFNAME_MAX];  /* "" in transparent mode */
	struct ipnet_prefix subnet;        /* the pool subnet (network address) */
	struct ipnet_addr primary;         /* the VM's primary IP (SNAT source) */
	uint8_t nic_mac[6];
	unsigned mtu;
	char mode[32];                     /* the network's recorded mode ("" = unknown) */
};

struct vnet {
	struct plugin_ctx *ctx;
	const struct conf *conf;
	char epid[NETSTATE_ID_MAX];
	char host_if[NETDEV_IFNAMSIZ];
	bool bridged;                      /* bridge or tunnel */
	bool tunnel;
	struct fw_opts fw;
	struct state_snap snap;            /* the state as last read by this call */
};

static void vnet_init(struct vnet *v, struct plugin_ctx *ctx)
{
	char key[1024], hex[41];

	memset(v, 0, sizeof(*v));
	v->ctx = ctx;
	v->conf = &ctx->conf;
	netstate_endpoint_id(ctx->env.container_id, ctx->env.ifname, v->epid, sizeof(v->epid));
	/* Go hashes "<ns>.<pod>" in transparent mode, so two sandboxes of one pod collide and the
	 * second ADD deletes the first one's veth; we always hash network+container+ifname. */
	snprintf(key, sizeof(key), "%s%s%s", ctx->conf.name, ctx->env.container_id,
		 ctx->env.ifname);
	sha1_hex(key, hex, sizeof(hex));
	snprintf(v->host_if, sizeof(v->host_if), "azv%.11s", hex);
	v->bridged = ctx->conf.mode == CONF_MODE_BRIDGE || ctx->conf.mode == CONF_MODE_TUNNEL;
	v->tunnel = ctx->conf.mode == CONF_MODE_TUNNEL;
	v->fw.wait = !ctx->conf.disable_iptables_lock;
}

static const char *mode_name(const struct conf *c)
{
	switch (c->mode) {
	case CONF_MODE_BRIDGE: return "bridge";
	case CONF_MODE_TRANSPARENT: return "transparent";
	case CONF_MODE_TRANSPARENT_VLAN: return "transparent-vlan";
	default: return "tunnel";
	}
}

/* ADD and CHECK work in the mode the network was created in: a config naming another mode is
 * a config error, not a missing bridge. */
static int mode_matches(const struct vnet *v, const struct netinfo *ni, struct cni_error *err)
{
	if (!ni->mode[0] || strcmp(ni->mode, mode_name(v->conf)) == 0)
		return 0;
	return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
			     "network %s exists in mode %s, the config says mode %s",
			     v->conf->name, ni->mode, mode_name(v->conf));
}

/* ---- state file ---- */

/* The endpoint record of this call's owner (container ID + ifname). Endpoint IDs are the Go
 * plugin's cid[:8]-ifname, which two containers can share (cnitool-..., default-... IDs), so the
 * owner decides; a record without a container ID (hand-written or very old) matches by ID. */
static struct netstate_endpoint *endpoint_of_owner(struct netstate_network *net,
						   const struct vnet *v)
{
	struct netstate_endpoint *ep;

	ep = netstate_find_endpoint_by_owner(net, v->ctx->env.container_id, v->ctx->env.ifname);
	if (ep)
		return ep;
	ep = netstate_find_endpoint(net, v->epid);
	return ep && !ep->container_id[0] ? ep : NULL;
}

/* What the state records of network @net on external interface @x, into *ni. */
static void netinfo_from_state(const struct netstate_network *net,
			       const struct netstate_extif *x, struct netinfo *ni)
{
	memset(ni, 0, sizeof(*ni));
	snprintf(ni->master, sizeof(ni->master), "%s", x->name);
	snprintf(ni->bridge, sizeof(ni->bridge), "%s", x->bridge_name);
	if (net->n_subnets) {
		ni->subnet = net->subnets[0].prefix;
		ni->primary = net->subnets[0].primary_ip;
	}
	if (x->has_mac)
		memcpy(ni->nic_mac, x->mac, 6);
	snprintf(ni->mode, sizeof(ni->mode), "%s", net->mode);
}

/* Read-only look-up of the network and endpoint under the lock. *ret_net_found tells whether
 * the network exists (then *ret_ni, when not NULL, is filled from the state); *ret_ep is filled
 * when this owner's endpoint exists (return 1), else return 0. The parsed state stays in
 * v->snap, so the call's later locked steps parse the file again only if another call saved it. */
static int state_lookup(struct vnet *v, bool *ret_net_found, struct netinfo *ret_ni,
			struct netstate_endpoint *ret_ep, struct cni_error *err)
{
	struct netstate_network *net;
	struct netstate_extif *x = NULL;
	struct netstate_endpoint *ep;
	int r;

	r = state_snap_read(&v->snap, err);
	if (r < 0)
		return r;
	*ret_net_found = false;
	net = netstate_find_network(&v->snap.st, v->conf->name, &x);
	if (net) {
		*ret_net_found = true;
		if (ret_ni)
			netinfo_from_state(net, x, ret_ni);
		ep = endpoint_of_owner(net, v);
		if (ep)
			snprintf(v->epid, sizeof(v->epid), "%s", ep->id);
		if (ep && ret_ep) {
			*ret_ep = *ep;
			r = 1;
		}
	}
	return r;
}

/* ---- IPAM ---- */

static bool ipam_ours(const struct conf *c)
{
	return strcmp(c->ipam.type, "azure-vnet-ipam") == 0;
}

static int ipam_delegate(struct vnet *v, const char *cmd, struct cni_result *ret,
			 struct cni_error *err)
{
	char *text = cJSON_PrintUnformatted(v->ctx->req.root);
	int r;

	if (!text)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	r = ipam_exec(v->conf->ipam.type, cmd, v->ctx->env.path, text, strlen(text), ret, err);
	free(text);
	return r;
}

/* *ret_fresh: the owner did not hold the address before (a rollback may release it). A
 * delegated plugin cannot say; host-local refuses a second allocation for the same owner, so its
 * successful ADD is fresh. */
static int ipam_add(struct vnet *v, struct cni_result *ret, bool *ret_fresh,
		    struct cni_error *err)
{
	memset(ret, 0, sizeof(*ret));
	if (ipam_ours(v->conf))
		return ipam_run_add_owned(v->conf, v->ctx->env.container_id, v->ctx->env.ifname,
					  ret, ret_fresh, err);
	*ret_fresh = true;
	return ipam_delegate(v, "ADD", ret, err);
}

static int ipam_del(struct vnet *v, struct cni_error *err)
{
	if (ipam_ours(v->conf))
		return ipam_run_del(v->conf, v->ctx->env.container_id, v->ctx->env.ifname, NULL,
				    err);
	return ipam_delegate(v, "DEL", NULL, err);
}

/* ---- firewall rules ---- */

/* The outbound SNAT: nat POSTROUTING -s <subnet> -j AZURE-VNET-SNAT; in the chain a RETURN for
 * each VNet range, then SNAT to the primary IP. */
static int snat_install(struct vnet *v, const struct netinfo *ni, struct cni_error *err)
{
	char sub[IPNET_PREFIX_STRLEN], cidr[IPNET_PREFIX_STRLEN], prim[IPNET_ADDR_STRLEN];
	size_t i;
	int r;

	if (!v->conf->outbound_snat)
		return 0;
	ipnet_prefix_format(&ni->subnet, sub, sizeof(sub));
	ipnet_addr_format(&ni->primary, prim, sizeof(prim));
	r = fw_ipt_chain_ensure(&v->fw, "nat", SNAT_CHAIN, err);
	if (r < 0)
		return r;
	/* Rebuilt from scratch: the order (RETURNs before SNAT) matters. */
	r = fw_ipt_chain_flush(&v->fw, "nat", SNAT_CHAIN, err);
	if (r < 0)
		return r;
	r = fw_ipt_rule_ensure(&v->fw, "nat", SNAT_CHAIN, true,
			       (const char *const[]){ "-d", sub, "-j", "RETURN", NULL }, err);
	for (i = 0; r >= 0 && i < v->conf->n_vnet_cidrs; i++) {
		ipnet_prefix_format(&v->conf->vnet_cidrs[i], cidr, sizeof(cidr));
		r = fw_ipt_rule_ensure(&v->fw, "nat", SNAT_CHAIN, true,
				       (const char *const[]){ "-d", cidr, "-j", "RETURN", NULL },
				       err);
	}
	if (r >= 0)
		r = fw_ipt_rule_ensure(&v->fw, "nat", SNAT_CHAIN, true,
				       (const char *const[]){ "-j", "SNAT", "--to-source", prim,
							      NULL }, err);
	if (r >= 0)
		r = fw_ipt_rule_ensure(&v->fw, "nat", "POSTROUTING", false,
				       (const char *const[]){ "-s", sub, "-j", SNAT_CHAIN, NULL },
				       err);
	return r < 0 ? r : 0;
}

/* Undo snat_install (best effort): the jump for this subnet, then the chain. */
static void snat_remove(struct vnet *v, const struct netinfo *ni)
{
	char sub[IPNET_PREFIX_STRLEN];

	if (!v->conf->outbound_snat)
		return;
	ipnet_prefix_format(&ni->subnet, sub, sizeof(sub));
	fw_ipt_rule_delete(&v->fw, "nat", "POSTROUTING",
			   (const char *const[]){ "-s", sub, "-j", SNAT_CHAIN, NULL }, NULL);
	fw_ipt_chain_delete(&v->fw, "nat", SNAT_CHAIN, NULL);
}

/* 1 when the jump and the SNAT rule are present, 0 when not, negative on failure. */
/* Is @line one whole line of @text? */
static bool has_line(const char *text, const char *line)
{
	size_t len = strlen(line);
	const char *p;

	for (p = text; (p = strstr(p, line)); p += len)
		if ((p == text || p[-1] == '\n') && (p[len] == '\n' || p[len] == '\0'))
			return true;
	return false;
}

/* 1 when the POSTROUTING jump and the SNAT rule are both there, 0 when one is missing. One
 * `iptables -t nat -S` listing; two -C checks only when the table is too large to list. */
static int snat_present(struct vnet *v, const struct netinfo *ni, struct cni_error *err)
{
	char sub[IPNET_PREFIX_STRLEN], prim[IPNET_ADDR_STRLEN], jump[128], snat[128], *text;
	bool full = false;
	int r;

	ipnet_prefix_format(&ni->subnet, sub, sizeof(sub));
	ipnet_addr_format(&ni->primary, prim, sizeof(prim));
	r = fw_ipt_list(&v->fw, "nat", &text, &full, err);
	if (r < 0)
		return r;
	if (!full) {
		snprintf(jump, sizeof(jump), "-A POSTROUTING -s %s -j %s", sub, SNAT_CHAIN);
		snprintf(snat, sizeof(snat), "-A %s -j SNAT --to-source %s", SNAT_CHAIN, prim);
		r = has_line(text, jump) && has_line(text, snat);
		free(text);
		return r;
	}
	free(text);
	r = fw_ipt_rule_check(&v->fw, "nat", "POSTROUTING",
			      (const char *const[]){ "-s", sub, "-j", SNAT_CHAIN, NULL }, err);
	if (r <= 0)
		return r;
	return fw_ipt_rule_check(&v->fw, "nat", SNAT_CHAIN,
				 (const char *const[]){ "-j", "SNAT", "--to-source", prim, NULL },
				 err);
}

/* Per-pod ebtables rules (bridge/tunnel): ARP reply for the pod IP and MAC DNAT from the NIC. */
static int ebt_pod(struct vnet *v, const struct netinfo *ni, const struct ipnet_addr *ip,
		   const uint8_t mac[6], bool add, struct cni_error *err)
{
	char ips[IPNET_ADDR_STRLEN], macs[18], rmacs[18];
	int r;

	if (ip->family != IPNET_AF_INET)
		return 0;
	ipnet_addr_format(ip, ips, sizeof(ips));
	mac_format(mac, MAC_COLON_LOWER, macs, sizeof(macs));
	mac_format(v->tunnel ? vepa_mac : mac, MAC_COLON_LOWER, rmacs, sizeof(rmacs));
	const char *const arp[] = { "-p", "ARP", "--arp-op", "Request", "--arp-ip-dst", ips, "-j",
				    "arpreply", "--arpreply-mac", rmacs, NULL };
	const char *const dnat[] = { "-p", "IPv4", "-i", ni->master, "--ip-dst", ips, "-j",
				     "dnat", "--to-dst", macs, "--dnat-target", "ACCEPT", NULL };
	if (!add) {
		r = fw_ebt_rule_delete("nat", "PREROUTING", arp, err);
		if (r >= 0)
			r = fw_ebt_rule_delete("nat", "PREROUTING", dnat, err);
		return r < 0 ? r : 0;
	}
	r = fw_ebt_rule_ensure("nat", "PREROUTING", arp, err);
	if (r >= 0)
		r = fw_ebt_rule_ensure("nat", "PREROUTING", dnat, err);
	if (r < 0)
		ebt_pod(v, ni, ip, mac, false, NULL);
	return r;
}

/* In ebtables -L text @list, the line matching "<@key> <@ip> " whose "<@target> <MAC>" follows:
 * the MAC into @mac. ebtables prints MAC bytes with or without leading zeros. */
static bool ebt_find(const char *list, const char *key, const char *ip, const char *target,
		     uint8_t mac[6])
{
	char pat[96];
	const char *line = list;

	snprintf(pat, sizeof(pat), "%s %s ", key, ip);
	while (line && *line) {
		const char *end = strchr(line, '\n'), *k = strstr(line, pat), *t;
		unsigned b[6];

		if (k && (!end || k < end) && (t = strstr(k, target)) && (!end || t < end) &&
		    sscanf(t + strlen(target), " %2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2],
			   &b[3], &b[4], &b[5]) == 6) {
			for (int i = 0; i < 6; i++)
				mac[i] = (uint8_t)b[i];
			return true;
		}
		line = end ? end + 1 : NULL;
	}
	return false;
}

/* Add (@add) or remove one ebtables rule; removal is best effort (an undo). */
static int ebt_rule(bool add, const char *table, const char *chain, const char *const rule[],
		    struct cni_error *err)
{
	if (add)
		return fw_ebt_rule_ensure(table, chain, rule, err);
	fw_ebt_rule_delete(table, chain, rule, NULL);
	return 0;
}

/* ipsToRouteViaHost in bridge mode: broute those IPs to the host stack. */
static int ebt_route_via_host(struct vnet *v, bool add, struct cni_error *err)
{
	size_t i;
	int r = 0;

	for (i = 0; r >= 0 && i < v->conf->n_ips_to_route_via_host; i++)
		r = ebt_rule(add, "broute", "BROUTING",
			     (const char *const[]){ "-p", "IPv4", "--ip-dst",
						    v->conf->ips_to_route_via_host[i], "-j",
						    "redirect", "--redirect-target", "ACCEPT", NULL },
			     err);
	return r;
}

/* The network-wide ebtables rules of bridge mode (ACN ebtables/ebtables.go): installed when
 * @add, else removed (best effort, every rule tried). */
static int ebt_network(struct vnet *v, const struct netinfo *ni, bool add, struct cni_error *err)
{
	char mac[18], prim[IPNET_ADDR_STRLEN], vmac[18];
	int r;

	mac_format(ni->nic_mac, MAC_COLON_LOWER, mac, sizeof(mac));
	mac_format(vepa_mac, MAC_COLON_LOWER, vmac, sizeof(vmac));
	ipnet_addr_format(&ni->primary, prim, sizeof(prim));
	r = ebt_rule(add, "nat", "POSTROUTING",
		     (const char *const[]){ "-s", "Unicast", "-o", ni->master, "-j", "snat",
					    "--to-src", mac, "--snat-arp", "--snat-target",
					    "ACCEPT", NULL }, err);
	if (r >= 0 && ni->primary.family)
		r = ebt_rule(add, "nat", "PREROUTING",
			     (const char *const[]){ "-p", "ARP", "--arp-op", "Request",
						    "--arp-ip-dst", prim, "-j", "arpreply",
						    "--arpreply-mac", mac, "--arpreply-target",
						    "DROP", NULL }, err);
	if (r >= 0)
		r = ebt_rule(add, "nat", "PREROUTING",
			     (const char *const[]){ "-p", "ARP", "-i", ni->master, "--arp-op",
						    "Reply", "-j", "dnat", "--to-dst",
						    "ff:ff:ff:ff:ff:ff", "--dnat-target", "ACCEPT",
						    NULL }, err);
	if (r >= 0 && v->tunnel)
		r = ebt_rule(add, "nat", "PREROUTING",
			     (const char *const[]){ "-i", ni->bridge, "-j", "dnat", "--to-dst", vmac,
						    "--dnat-target", "ACCEPT", NULL }, err);
	if (r >= 0)
		r = ebt_route_via_host(v, add, err);
	return r < 0 ? r : 0;
}

/* ---- network creation ---- */

/* The NIC enslaved to bridge @br: the port with the bridge's MAC (bridge_setup pins it), else
 * the first port that is not a pod's host veth. Returns its ifindex, 0 when none. */
static int bridge_port(struct netdev *nd, const struct netdev_link *br, struct cni_error *err)
{
	struct netdev_link *links = NULL;
	int n, i, found = 0;

	n = netdev_link_list(nd, &links, err);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++)
		if (links[i].master == br->ifindex && memcmp(links[i].mac, br->mac, 6) == 0) {
			found = links[i].ifindex;
			break;
		}
	for (i = 0; !found && i < n; i++)
		if (links[i].master == br->ifindex && strncmp(links[i].name, "azv", 3) != 0)
			found = links[i].ifindex;
	free(links);
	return found;
}

/* The master NIC: conf.master, else the link holding an address inside @pod's subnet, else the
 * link of the default route. When that link is a bridge with the NIC enslaved (a bridge-mode
 * network of a lost state), the NIC is the master and ni->bridge names the bridge to adopt.
 * Fills ni->master/mtu/nic_mac/primary (and ni->bridge) and returns the master's link. */
static int find_master(struct netdev *nd, const struct conf *conf, const struct ipnet_prefix *pod,
		       struct netinfo *ni, struct netdev_link *ret, struct cni_error *err)
{
	struct ipnet_prefix subnet = ipnet_prefix_network(pod);
	struct netdev_addr *addrs = NULL;
	struct netdev_route *routes = NULL;
	int n, i, ifindex = 0, addr_if, r;

	n = netdev_addr_list(nd, 0, IPNET_AF_INET, &addrs, err);
	if (n < 0)
		return n;
	if (conf->master[0]) {
		r = netdev_link_get(nd, conf->master, 0, ret, err);
		if (r == -ENODEV)
			r = cni_error_set(err, r, CNI_CODE_INVALID_CONFIG,
					  "master interface %s not found", conf->master);
		if (r < 0)
			goto out;
		ifindex = ret->ifindex;
	}
	for (i = 0; !ifindex && i < n; i++)
		if (addrs[i].scope == RT_SCOPE_UNIVERSE &&
		    ipnet_prefix_contains(&subnet, &addrs[i].prefix.addr))
			ifindex = addrs[i].ifindex;
	if (!ifindex) {
		int m = netdev_route_list(nd, IPNET_AF_INET, 0, 0, &routes, err);

		for (i = 0; i < m; i++)
			if (routes[i].dst.len == 0 && routes[i].ifindex) {
				ifindex = routes[i].ifindex;
				break;
			}
	}
	if (!ifindex) {
		r = cni_error_set(err, -ENODEV, CNI_CODE_NETWORK,
				  "no master interface: none has an address in the pod subnet and "
				  "there is no default route (set \"master\")");
		goto out;
	}
	r = netdev_link_get(nd, NULL, ifindex, ret, err);
	if (r < 0)
		goto out;
	addr_if = ifindex;
	if (strcmp(ret->kind, "bridge") == 0) {
		/* A bridge holds the address: an earlier bridge-mode network whose state is gone
		 * (or a failed one). Its port is the NIC; adopt the bridge. */
		r = bridge_port(nd, ret, err);
		if (r < 0)
			goto out;
		if (r > 0) {
			snprintf(ni->bridge, sizeof(ni->bridge), "%s", ret->name);
			r = netdev_link_get(nd, NULL, r, ret, err);
			if (r < 0)
				goto out;
			ifindex = ret->ifindex;
		}
	}
	snprintf(ni->master, sizeof(ni->master), "%s", ret->name);
	ni->mtu = ret->mtu;
	memcpy(ni->nic_mac, ret->mac, 6);
	ni->subnet = subnet;
	/* Primary IP: the master's address inside the subnet, else its first global one. */
	for (i = 0; i < n; i++)
		if (addrs[i].ifindex == addr_if && addrs[i].scope == RT_SCOPE_UNIVERSE &&
		    ipnet_prefix_contains(&subnet, &addrs[i].prefix.addr)) {
			ni->primary = addrs[i].prefix.addr;
			break;
		}
	for (i = 0; !ni->primary.family && i < n; i++)
		if (addrs[i].ifindex == addr_if && addrs[i].scope == RT_SCOPE_UNIVERSE)
			ni->primary = addrs[i].prefix.addr;
	if (!ni->primary.family && conf->outbound_snat)
		r = cni_error_set(err, -EADDRNOTAVAIL, CNI_CODE_NETWORK,
				  "master %s has no IPv4 address for the outbound SNAT", ret->name);
out:
	free(addrs);
	free(routes);
	return r;
}

/* Write @val to the per-interface sysctl @key (a format with one %s for @ifname); best effort. */
static void ignore_sysctl(struct netdev *nd, const char *ifname, const char *key, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), key, ifname);
	netdev_sysctl_write(nd, path, val, NULL);
}

/* br_netfilter: load it when the sysctl is missing; tolerate its absence. */
static void bridge_nf(struct netdev *nd)
{
	const char *const modprobe[] = { "modprobe", "br_netfilter", NULL };
	int r;

	r = netdev_sysctl_write(nd, "net/bridge/bridge-nf-call-iptables", "1", NULL);
	if (r == -ENOENT) {
		fw_exec(modprobe, NULL, 0, NULL);
		r = netdev_sysctl_write(nd, "net/bridge/bridge-nf-call-iptables", "1", NULL);
	}
	if (r < 0)
		platform_log("warning: cannot set bridge-nf-call-iptables=1 (%s): bridged pod "
			     "traffic will bypass the outbound SNAT", strerror(-r));
}

/* Bridge mode: create the bridge with the NIC's MAC, move the NIC's addresses and routes to it,
 * enslave the NIC. On failure puts everything back. */
static int bridge_setup(struct vnet *v, struct netdev *nd, struct netinfo *ni,
			const struct netdev_link *nic, struct netstate_extif *x,
			struct cni_error *err)
{
	struct netdev_addr *addrs = NULL;
	struct netdev_route *routes = NULL;
	struct netdev_link br;
	int na, nr = 0, i, r;
	bool created = false;

	if (!ni->bridge[0])
		snprintf(ni->bridge, sizeof(ni->bridge), "%s", v->conf->bridge);
	if (!ni->bridge[0])
		snprintf(ni->bridge, sizeof(ni->bridge), "azure%d", nic->ifindex);
	if (strcmp(ni->bridge, nic->name) == 0)
		return cni_error_set(err, -EINVAL, CNI_CODE_NETWORK,
				     "the master interface %s is the bridge itself and has no port "
				     "to adopt (set \"master\")", nic->name);
	r = netdev_link_get(nd, ni->bridge, 0, &br, err);
	if (r == 0 && nic->master == br.ifindex)
		return 0; /* already set up (state lost); adopt it */
	if (r == 0 && strcmp(br.kind, "bridge") != 0)
		return cni_error_set(err, -EEXIST, CNI_CODE_NETWORK,
				     "%s exists and is not a bridge", ni->bridge);
	if (r == -ENODEV) {
		r = netdev_bridge_create(nd, ni->bridge, ni->nic_mac, err);
		if (r < 0)
			return r;
		created = true;
	} else if (r < 0) {
		return r;
	}
	/* The bridge only (best effort, as Go does for its interfaces): "all" would turn router
	 * advertisements off node-wide. */
	ignore_sysctl(nd, ni->bridge, "net/ipv6/conf/%s/accept_ra", "0");
	na = netdev_addr_list(nd, nic->ifindex, 0, &addrs, err);
	if (na < 0) {
		r = na;
		goto undo_bridge;
	}
	nr = netdev_route_list(nd, 0, 0, nic->ifindex, &routes, err);
	if (nr < 0) {
		r = nr;
		goto undo_bridge;
	}
	for (i = 0, x->n_ips = 0; i < na; i++) {
		if (addrs[i].scope != RT_SCOPE_UNIVERSE)
			continue;
		if (x->n_ips < NETSTATE_MAX_IPS)
			x->ips[x->n_ips++] = addrs[i].prefix;
		netdev_addr_del(nd, nic->ifindex, &addrs[i].prefix, NULL);
	}
	x->n_routes = 0;
	r = netdev_link_set_up(nd, nic->name, false, err);
	if (r >= 0)
		r = netdev_link_set_master(nd, nic->name, ni->bridge, err);
	if (r >= 0)
		r = netdev_link_set_up(nd, nic->name, true, err);
	if (r >= 0)
		r = netdev_link_set_up(nd, ni->bridge, true, err);
	if (r >= 0) {
		r = netdev_link_get(nd, ni->bridge, 0, &br, err);
		for (i = 0; r >= 0 && i < na; i++) {
			if (addrs[i].scope != RT_SCOPE_UNIVERSE)
				continue;
			r = netdev_addr_add(nd, br.ifindex, &addrs[i].prefix, err);
			if (r == -EEXIST)
				r = 0;
		}
	}
	for (i = 0; r >= 0 && i < nr; i++) {
		struct netdev_route rt = routes[i];

		if (rt.protocol == RTPROT_KERNEL)
			continue;
		if (x->n_routes < NETSTATE_MAX_ROUTES) {
			struct netstate_route *s = &x->routes[x->n_routes++];

			memset(s, 0, sizeof(*s));
			s->dst = rt.dst, s->gw = rt.gw, s->src = rt.src;
			s->protocol = rt.protocol, s->scope = rt.scope;
			s->priority = (int)rt.priority;
			snprintf(s->dev, sizeof(s->dev), "%s", nic->name);
		}
		rt.ifindex = br.ifindex;
		r = netdev_route_add(nd, &rt, NULL);
		if (r == -EEXIST)
			r = 0;
		if (r < 0) {
			char d[IPNET_PREFIX_STRLEN];

			r = cni_error_set(err, r, CNI_CODE_NETWORK, "move route %s to %s failed",
					  ipnet_prefix_format(&rt.dst, d, sizeof(d)), ni->bridge);
		}
	}
	if (r >= 0 && !v->conf->disable_hairpin_on_host_interface)
		r = netdev_bridge_port_hairpin(nd, nic->name, true, err);
	if (r >= 0) {
		snprintf(x->bridge_name, sizeof(x->bridge_name), "%s", ni->bridge);
		goto out;
	}
	/* Put the NIC back as it was. */
	netdev_link_set_master(nd, nic->name, NULL, NULL);
	netdev_link_set_up(nd, nic->name, true, NULL);
	for (i = 0; i < na; i++)
		if (addrs[i].scope == RT_SCOPE_UNIVERSE)
			netdev_addr_add(nd, nic->ifindex, &addrs[i].prefix, NULL);
	for (i = 0; i < nr; i++)
		if (routes[i].protocol != RTPROT_KERNEL)
			netdev_route_add(nd, &routes[i], NULL);
undo_bridge:
	if (created)
		netdev_link_delete(nd, ni->bridge, NULL);
out:
	free(addrs);
	free(routes);
	return r;
}

/* Undo bridge_setup: the NIC out of the bridge, the bridge deleted (its addresses and routes go
 * with it), the addresses and routes recorded in @x put back on the NIC. Best effort. */
static void bridge_restore(struct netdev *nd, const struct netinfo *ni,
			   const struct netstate_extif *x)
{
	struct netdev_link nic;
	size_t i;

	netdev_link_set_master(nd, ni->master, NULL, NULL);
	netdev_link_delete(nd, ni->bridge, NULL);
	netdev_link_set_up(nd, ni->master, true, NULL);
	if (netdev_link_get(nd, ni->master, 0, &nic, NULL) < 0)
		return;
	for (i = 0; i < x->n_ips; i++)
		netdev_addr_add(nd, nic.ifindex, &x->ips[i], NULL);
	for (i = 0; i < x->n_routes; i++) {
		const struct netstate_route *s = &x->routes[i];
		struct netdev_route rt = { .dst = s->dst, .gw = s->gw, .src = s->src,
					   .ifindex = nic.ifindex, .scope = s->scope,
					   .table = s->table, .protocol = s->protocol,
					   .priority = (unsigned)s->priority };

		netdev_route_add(nd, &rt, NULL);
	}
}

/* Undo a network_create that did not reach the state file: SNAT, the network's ebtables rules,
 * and the bridge when this call moved the NIC into it (@x->bridge_name set; an adopted bridge is
 * left as found). */
static void network_undo(struct vnet *v, struct netdev *nd, const struct netinfo *ni,
			 const struct netstate_extif *x)
{
	snat_remove(v, ni);
	if (!v->bridged)
		return;
	ebt_network(v, ni, false, NULL);
	if (x->bridge_name[0])
		bridge_restore(nd, ni, x);
}

/* Create the network once: called with the state lock held and @st loaded. Adds the network to
 * @st (the caller saves). On failure undoes every step (network_undo). */
static int network_create(struct vnet *v, struct netdev *nd, struct netstate *st,
			  const struct ipnet_prefix *pod, const struct ipnet_addr *gw,
			  struct netinfo *ni, struct cni_error *err)
{
	struct netstate_network net;
	struct netstate_extif *x, xtmp;
	struct netdev_link nic;
	int r;

	if (v->conf->mode == CONF_MODE_TRANSPARENT_VLAN)
		return cni_error_set(err, -EOPNOTSUPP, CNI_CODE_INVALID_CONFIG,
				     "mode transparent-vlan (CNS multitenancy) is not supported");
	memset(ni, 0, sizeof(*ni));
	r = find_master(nd, v->conf, pod, ni, &nic, err);
	if (r < 0)
		return r;
	memset(&xtmp, 0, sizeof(xtmp));
	r = netdev_sysctl_write(nd, "net/ipv4/ip_forward", "1", err);
	if (r < 0)
		return r;
	if (v->bridged) {
		r = bridge_setup(v, nd, ni, &nic, &xtmp, err);
		if (r < 0)
			return r;
		bridge_nf(nd);
		r = ebt_network(v, ni, true, err);
		if (r < 0)
			goto undo;
	}
	r = snat_install(v, ni, err);
	if (r < 0)
		goto undo;

	x = netstate_extif_get(st, ni->master);
	if (!x) {
		r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
		goto undo;
	}
	if (v->bridged) {
		snprintf(x->bridge_name, sizeof(x->bridge_name), "%s", ni->bridge);
		memcpy(x->ips, xtmp.ips, sizeof(x->ips));
		x->n_ips = xtmp.n_ips;
		memcpy(x->routes, xtmp.routes, sizeof(x->routes));
		x->n_routes = xtmp.n_routes;
	}
	memcpy(x->mac, ni->nic_mac, 6);
	x->has_mac = true;
	if (x->n_subnets < NETSTATE_MAX_SUBNETS)
		x->subnets[x->n_subnets++] = ni->subnet;
	if (gw->family == IPNET_AF_INET)
		x->ipv4_gateway = *gw;
	memset(&net, 0, sizeof(net));
	snprintf(net.id, sizeof(net.id), "%s", v->conf->name);
	snprintf(net.mode, sizeof(net.mode), "%s", mode_name(v->conf));
	net.n_subnets = 1;
	net.subnets[0].family = ni->subnet.addr.family;
	net.subnets[0].prefix = ni->subnet;
	net.subnets[0].gateway = *gw;
	net.subnets[0].primary_ip = ni->primary;
	netstate_dns_set(&net.dns, &v->conf->dns);
	if (!netstate_network_add(x, &net)) {
		r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
		goto undo;
	}
	return 0;
undo:
	network_undo(v, nd, ni, &xtmp);
	return r;
}

/* Make sure the network exists (once, under the lock) and fill @ni. @net_found: state_lookup
 * found the network and filled @ni; networks are never removed from the state, so then neither
 * the lock nor the file is needed. */
static int network_ensure(struct vnet *v, struct netdev *nd, const struct cni_result *ipres,
			  bool net_found, struct netinfo *ni, struct cni_error *err)
{
	struct platform_lock *l = NULL;
	struct netstate_network *net;
	struct netstate_extif *x = NULL;
	int r = 0;

	if (net_found)
		goto mtu;
	r = state_lock(&l, err);
	if (r < 0)
		return r;
	r = state_snap_load(&v->snap, err);
	if (r < 0)
		goto out;
	net = netstate_find_network(&v->snap.st, v->conf->name, &x);
	if (net) {
		netinfo_from_state(net, x, ni);
	} else {
		state_snap_changed(&v->snap);
		r = network_create(v, nd, &v->snap.st, &ipres->ips[0].address,
				   &ipres->ips[0].gateway, ni, err);
		if (r >= 0) {
			r = state_save(&v->snap.st, err);
			if (r < 0 && (x = netstate_extif_get(&v->snap.st, ni->master)))
				network_undo(v, nd, ni, x);
		}
	}
out:
	platform_lock_release(l);
mtu:
	if (r >= 0 && !ni->mtu) {
		struct netdev_link m;

		if (netdev_link_get(nd, ni->master, 0, &m, NULL) == 0)
			ni->mtu = m.mtu;
	}
	return r;
}

/* ---- endpoint ---- */

/* Remove what endpoint_create made (also DEL's work). Missing pieces are skipped. */
static void endpoint_teardown(struct vnet *v, struct netdev *nd, const struct netinfo *ni,
			      const struct netstate_endpoint *ep, const char *host_if,
			      struct cni_error *err)
{
	struct netdev_link br;
	size_t i;

	if (v->bridged && ep) {
		bool have_br = ni->bridge[0] && netdev_link_get(nd, ni->bridge, 0, &br, NULL) == 0;

		for (i = 0; i < ep->n_ips; i++) {
			if (ep->has_mac)
				ebt_pod(v, ni, &ep->ips[i].addr, ep->mac, false, err);
			if (have_br && !v->tunnel)
				netdev_neigh_del(nd, br.ifindex, &ep->ips[i].addr, NULL);
		}
	}
	/* transparent: the host /32 routes and proxy ARP go with the veth */
	netdev_link_delete(nd, host_if, NULL);
}

static void route_to_state(const struct cni_route *c, struct netstate_route *s, const char *dev)
{
	memset(s, 0, sizeof(*s));
	s->dst = c->dst;
	s->gw = c->gw;
	snprintf(s->dev, sizeof(s->dev), "%s", dev);
}

/* The DNS reported: runtimeConfig.dns, else the config's dns, else the IPAM's (@ipres, NULL when
 * there was no IPAM call: then false and *ret untouched). */
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

/* Create the veth and configure both ends; *ep is its record and *dns the DNS to report. On
 * failure removes everything it made. */
static int endpoint_create(struct vnet *v, struct netdev *nd, struct netdev *pod,
			   const struct netinfo *ni, const struct cni_result *ipres,
			   struct netstate_endpoint *ep, struct cni_dns *dns, struct cni_error *err)
{
	const struct cni_env *env = &v->ctx->env;
	struct netdev_link h, p, br;
	struct ipnet_addr gw4, gw6;
	char key[128];
	size_t i;
	int r;

	ipnet_addr_parse(GW4_TEXT, &gw4);
	ipnet_addr_parse(GW6_TEXT, &gw6);
	memset(ep, 0, sizeof(*ep));
	snprintf(ep->id, sizeof(ep->id), "%s", v->epid);
	snprintf(ep->sandbox_key, sizeof(ep->sandbox_key), "%s", env->netns);
	snprintf(ep->netns, sizeof(ep->netns), "%s", env->netns);
	snprintf(ep->ifname, sizeof(ep->ifname), "%s", env->ifname);
	snprintf(ep->host_ifname, sizeof(ep->host_ifname), "%s", v->host_if);
	snprintf(ep->container_id, sizeof(ep->container_id), "%s", env->container_id);
	snprintf(ep->pod_name, sizeof(ep->pod_name), "%s", env->args.pod_name);
	snprintf(ep->pod_namespace, sizeof(ep->pod_namespace), "%s", env->args.pod_namespace);
	for (i = 0; i < ipres->n_ips && i < NETSTATE_MAX_IPS; i++) {
		ep->ips[ep->n_ips++] = ipres->ips[i].address;
		if (ipres->ips[i].gateway.family)
			ep->gateways[ep->n_gateways++] = ipres->ips[i].gateway;
	}
	for (i = 0; i < ipres->n_routes && i < NETSTATE_MAX_ROUTES; i++)
		route_to_state(&ipres->routes[i], &ep->routes[ep->n_routes++], env->ifname);
	pick_dns(v->conf, ipres, dns);
	netstate_dns_set(&ep->dns, dns);

	/* A stale host veth of this owner (a killed earlier ADD) would block the name. */
	netdev_link_delete(nd, v->host_if, NULL);
	r = netdev_veth_create(nd, v->host_if, v->bridged ? NULL : host_veth_mac, pod, env->ifname,
			       ni->mtu, err);
	if (r < 0)
		return r;
	r = netdev_link_get(nd, v->host_if, 0, &h, err);
	if (r < 0)
		goto undo;
	ignore_sysctl(nd, v->host_if, "net/ipv6/conf/%s/accept_ra", "0");
	if (v->bridged) {
		r = netdev_link_set_master(nd, v->host_if, ni->bridge, err);
	} else {
		snprintf(key, sizeof(key), "net/ipv4/conf/%s/proxy_arp", v->host_if);
		r = netdev_sysctl_write(nd, key, "1", err);
	}
	if (r >= 0)
		r = netdev_link_set_up(nd, v->host_if, true, err);
	if (r >= 0 && v->bridged)
		r = netdev_bridge_port_hairpin(nd, v->host_if, true, err);
	if (r < 0)
		goto undo;

	/* The pod end (created in the pod netns under its final name). */
	r = netdev_link_get(pod, env->ifname, 0, &p, err);
	if (r == -ENODEV)
		r = cni_error_set(err, r, CNI_CODE_NETWORK, "%s vanished from netns %s",
				  env->ifname, env->netns);
	if (r < 0)
		goto undo;
	memcpy(ep->mac, p.mac, 6);
	ep->has_mac = true;
	ignore_sysctl(pod, env->ifname, "net/ipv6/conf/%s/accept_ra", "0");
	for (i = 0; r >= 0 && i < ep->n_ips; i++)
		r = netdev_addr_add(pod, p.ifindex, &ep->ips[i], err);
	if (r >= 0)
		r = netdev_link_set_up(pod, env->ifname, true, err);
	if (r < 0)
		goto undo;

	if (!v->bridged) {
		bool v4 = false, v6 = false;

		for (i = 0; r >= 0 && i < ep->n_ips; i++) {
			struct netdev_route sub = { .dst = ipnet_prefix_network(&ep->ips[i]),
						    .ifindex = p.ifindex };
			struct netdev_route host = { .dst = { ep->ips[i].addr,
							      ipnet_addr_len(&ep->ips[i].addr) * 8 },
						     .ifindex = h.ifindex };

			/* Everything goes through the host: drop the kernel's subnet route. */
			if (ep->ips[i].len < ipnet_addr_len(&ep->ips[i].addr) * 8)
				netdev_route_del(pod, &sub, NULL);
			r = netdev_route_add(nd, &host, err);
			if (ep->ips[i].addr.family == IPNET_AF_INET)
				v4 = true;
			else
				v6 = true;
		}
		if (r >= 0 && v4) {
			struct netdev_route link = { .dst = { gw4, 32 }, .ifindex = p.ifindex,
						     .scope = RT_SCOPE_LINK };
			struct netdev_route def = { .dst = { .addr.family = IPNET_AF_INET },
						    .gw = gw4, .ifindex = p.ifindex };

			r = netdev_route_add(pod, &link, err);
			if (r >= 0)
				r = netdev_route_add(pod, &def, err);
			if (r >= 0)
				r = netdev_neigh_set(pod, p.ifindex, &gw4, h.mac, err);
			for (i = 0; r >= 0 && i < v->conf->n_ips_to_route_via_host; i++) {
				struct netdev_route via = { .gw = gw4, .ifindex = p.ifindex };

				if (ipnet_addr_parse(v->conf->ips_to_route_via_host[i],
						     &via.dst.addr) < 0 ||
				    via.dst.addr.family != IPNET_AF_INET)
					continue;
				via.dst.len = 32;
				r = netdev_route_add(pod, &via, err);
				if (r == -EEXIST)
					r = 0;
			}
		}
		if (r >= 0 && v6) {
			struct netdev_route def6 = { .dst = { .addr.family = IPNET_AF_INET6 },
						     .gw = gw6, .ifindex = p.ifindex };

			r = netdev_neigh_set(pod, p.ifindex, &gw6, h.mac, err);
			if (r >= 0)
				r = netdev_route_add(pod, &def6, err);
		}
	} else {
		for (i = 0; r >= 0 && i < ipres->n_routes; i++) {
			struct netdev_route rt = { .dst = ipres->routes[i].dst,
						   .gw = ipres->routes[i].gw,
						   .ifindex = p.ifindex };

			r = netdev_route_add(pod, &rt, err);
			if (r == -EEXIST)
				r = 0;
		}
		if (r >= 0 && !v->tunnel) {
			r = netdev_link_get(nd, ni->bridge, 0, &br, err);
			for (i = 0; r >= 0 && i < ep->n_ips; i++)
				if (ep->ips[i].addr.family == IPNET_AF_INET)
					r = netdev_neigh_set(nd, br.ifindex, &ep->ips[i].addr,
							     ep->mac, err);
		}
		for (i = 0; r >= 0 && i < ep->n_ips; i++)
			r = ebt_pod(v, ni, &ep->ips[i].addr, ep->mac, true, err);
	}
	if (r >= 0)
		return 0;
undo:
	endpoint_teardown(v, nd, ni, ep, v->host_if, NULL);
	return r;
}

/* The CNI result of an endpoint: host veth and pod interface, the IPs with the IPAM gateway
 * (as the Go plugin reports it; the pod actually routes via 169.254.1.1 in transparent mode),
 * the IPAM routes, and the DNS: @dns when given (chosen by this ADD), else the config's, else
 * the record's (which has no search list). */
static void result_build(struct vnet *v, struct netdev *nd, const struct netstate_endpoint *ep,
			 const struct cni_dns *dns, struct cni_result *ret)
{
	struct netdev_link h;
	size_t i, j;

	memset(ret, 0, sizeof(*ret));
	snprintf(ret->interfaces[0].name, sizeof(ret->interfaces[0].name), "%s", ep->host_ifname);
	if (netdev_link_get(nd, ep->host_ifname, 0, &h, NULL) == 0)
		mac_format(h.mac, MAC_COLON_LOWER, ret->interfaces[0].mac,
			   sizeof(ret->interfaces[0].mac));
	snprintf(ret->interfaces[1].name, sizeof(ret->interfaces[1].name), "%s", ep->ifname);
	if (ep->has_mac)
		mac_format(ep->mac, MAC_COLON_LOWER, ret->interfaces[1].mac,
			   sizeof(ret->interfaces[1].mac));
	snprintf(ret->interfaces[1].sandbox, sizeof(ret->interfaces[1].sandbox), "%s",
		 v->ctx->env.netns[0] ? v->ctx->env.netns : ep->sandbox_key);
	ret->n_interfaces = 2;
	for (i = 0; i < ep->n_ips && i < CNI_MAX_IPS; i++) {
		struct cni_ipconfig *ip = &ret->ips[ret->n_ips++];

		ip->address = ep->ips[i];
		ip->iface = 1;
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
		ret->dns = *dns;
	else if (!pick_dns(v->conf, NULL, &ret->dns))
		netstate_dns_get(&ep->dns, &ret->dns);
}

/* Add or replace @ep in the state (network @v->conf->name must exist). */
static int state_put_endpoint(struct vnet *v, const struct netstate_endpoint *ep,
			      struct cni_error *err)
{
	struct platform_lock *l = NULL;
	struct netstate_network *net;
	struct netstate_endpoint *other, copy;
	int r;

	r = state_lock(&l, err);
	if (r < 0)
		return r;
	r = state_snap_load(&v->snap, err);
	if (r < 0)
		goto out;
	net = netstate_find_network(&v->snap.st, v->conf->name, NULL);
	if (!net) {
		r = cni_error_set(err, -ENOENT, CNI_CODE_STATE,
				  "network %s vanished from %s during ADD", v->conf->name,
				  platform_path(PLATFORM_PATH_NET_STATE));
		goto out;
	}
	/* The Go-style ID may belong to another container with the same first 8 characters:
	 * then this owner's record is keyed by its whole container ID. */
	other = netstate_find_endpoint(net, ep->id);
	if (other && other->container_id[0] &&
	    (strcmp(other->container_id, ep->container_id) != 0 ||
	     strcmp(other->ifname, ep->ifname) != 0)) {
		snprintf(v->epid, sizeof(v->epid), "%.*s-%.15s", (int)(sizeof(v->epid) - CNI_IFNAME_MAX - 2),
			 ep->container_id, ep->ifname);
		copy = *ep;
		snprintf(copy.id, sizeof(copy.id), "%s", v->epid);
		ep = &copy;
	}
	state_snap_changed(&v->snap);
	r = netstate_endpoint_put(net, ep);
	if (r < 0) {
		cni_error_set(err, r, CNI_CODE_INTERNAL, "out of memory");
		goto out;
	}
	r = state_save(&v->snap.st, err);
out:
	platform_lock_release(l);
	return r;
}

/* Remove the endpoints with the given IDs from the state. */
static int state_remove_endpoints(struct vnet *v, const char *const *ids, size_t n,
				  struct cni_error *err)
{
	struct platform_lock *l = NULL;
	struct netstate_network *net;
	size_t i;
	int r, removed = 0;

	r = state_lock(&l, err);
	if (r < 0)
		return r;
	r = state_snap_load(&v->snap, err);
	if (r < 0)
		goto out;
	net = netstate_find_network(&v->snap.st, v->conf->name, NULL);
	state_snap_changed(&v->snap);
	for (i = 0; net && i < n; i++)
		removed += netstate_endpoint_remove(net, ids[i]);
	if (removed)
		r = state_save(&v->snap.st, err);
out:
	platform_lock_release(l);
	return r;
}

static void mode_from_state(struct vnet *v, const char *mode)
{
	if (!mode[0])
		return;
	v->tunnel = strcmp(mode, "tunnel") == 0;
	v->bridged = v->tunnel || strcmp(mode, "bridge") == 0;
}

/* ---- commands ----
 * add_owned, del_owned and check_owned run under the owner's lock: plugin_main takes it
 * (plugin_owner_lock, ops.lock_per_owner) and removes its file after DEL. */

static int add_owned(struct plugin_ctx *ctx, struct cni_result *ret, struct cni_error *err)
{
	struct netdev *nd = NULL, *pod = NULL;
	struct netstate_endpoint ep;
	struct cni_result ipres;
	struct cni_dns dns;
	struct netinfo ni;
	struct netdev_link l;
	struct vnet v;
	bool net_found = false, fresh = false;
	int r;

	vnet_init(&v, ctx);
	if (!ctx->conf.ipam.type[0])
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "the config has no ipam (ipam.type is required)");
	if (ctx->conf.mode == CONF_MODE_TRANSPARENT_VLAN)
		return cni_error_set(err, -EOPNOTSUPP, CNI_CODE_INVALID_CONFIG,
				     "mode transparent-vlan (CNS multitenancy) is not supported");
	r = netdev_open(NULL, &nd, err);
	if (r < 0)
		return r;
	r = netdev_open(ctx->env.netns, &pod, err);
	if (r < 0)
		goto out;
	r = state_lookup(&v, &net_found, &ni, &ep, err);
	if (r < 0)
		goto out;
	if (net_found) {
		int rm = mode_matches(&v, &ni, err);

		if (rm < 0) {
			r = rm;
			goto out;
		}
	}
	if (r == 1 && strcmp(ep.container_id, ctx->env.container_id) == 0 &&
	    strcmp(ep.ifname, ctx->env.ifname) == 0 &&
	    netdev_link_get(nd, ep.host_ifname, 0, &l, NULL) == 0 &&
	    netdev_link_get(pod, ctx->env.ifname, 0, &l, NULL) == 0) {
		/* Repeated ADD of a healthy attachment: the same result, nothing touched. */
		result_build(&v, nd, &ep, NULL, ret);
		r = 0;
		goto out;
	}
	r = netdev_link_get(pod, ctx->env.ifname, 0, &l, err);
	if (r == 0) {
		r = cni_error_set(err, -EEXIST, CNI_CODE_NETWORK,
				  "interface %s already exists in netns %s", ctx->env.ifname,
				  ctx->env.netns);
		goto out;
	}
	if (r != -ENODEV)
		goto out;

	r = ipam_add(&v, &ipres, &fresh, err);
	if (r < 0)
		goto out;
	if (ipres.n_ips == 0) {
		r = cni_error_set(err, -ENOENT, CNI_CODE_NO_ADDRESS,
				  "IPAM %s returned no address", ctx->conf.ipam.type);
		goto release_ip;
	}
	r = network_ensure(&v, nd, &ipres, net_found, &ni, err);
	if (r < 0)
		goto release_ip;
	r = endpoint_create(&v, nd, pod, &ni, &ipres, &ep, &dns, err);
	if (r < 0)
		goto release_ip;
	r = state_put_endpoint(&v, &ep, err);
	if (r < 0)
		goto undo_endpoint;
	result_build(&v, nd, &ep, &dns, ret);
	goto out;

undo_endpoint:
	endpoint_teardown(&v, nd, &ni, &ep, v.host_if, NULL);
release_ip:
	/* An address the owner already held belongs to its earlier attachment: keep it. */
	if (fresh)
		ipam_del(&v, NULL);
out:
	state_snap_free(&v.snap);
	netdev_close(pod);
	netdev_close(nd);
	return r;
}

/* The pod of a bridge/tunnel DEL that has no endpoint record (killed between creating the
 * endpoint and saving the state): its ebtables rules are keyed by its MAC. prevResult's pod
 * interface gives IPs and MAC; else the IPs the IPAM holds for the owner (before the release)
 * and the MAC of their MAC-DNAT rule (one ebtables listing). Fills *ep; false when nothing is
 * known. */
static bool unrecorded_pod(struct vnet *v, struct netstate_endpoint *ep)
{
	const struct plugin_ctx *ctx = v->ctx;
	struct ipnet_addr held[NETSTATE_MAX_IPS];
	char ip[IPNET_ADDR_STRLEN], *list = NULL;
	size_t i, n = 0;

	memset(ep, 0, sizeof(*ep));
	if (ctx->has_prev) {
		for (i = 0; i < ctx->prev.n_ips && ep->n_ips < NETSTATE_MAX_IPS; i++) {
			const struct cni_ipconfig *c = &ctx->prev.ips[i];

			ep->ips[ep->n_ips++] = c->address;
			if (!ep->has_mac && c->iface >= 0 && (size_t)c->iface < ctx->prev.n_interfaces &&
			    mac_parse(ctx->prev.interfaces[c->iface].mac, ep->mac) == 0)
				ep->has_mac = true;
		}
		for (i = 0; !ep->has_mac && i < ctx->prev.n_interfaces; i++)
			if (ctx->prev.interfaces[i].sandbox[0] &&
			    strcmp(ctx->prev.interfaces[i].name, ctx->env.ifname) == 0 &&
			    mac_parse(ctx->prev.interfaces[i].mac, ep->mac) == 0)
				ep->has_mac = true;
		if (ep->n_ips && ep->has_mac)
			return true;
	}
	if (!ep->n_ips && ipam_ours(v->conf) &&
	    ipam_run_owned(v->conf, ctx->env.container_id, ctx->env.ifname, held,
			   NETSTATE_MAX_IPS, &n, NULL) == 0)
		for (i = 0; i < n; i++)
			ep->ips[ep->n_ips++] = (struct ipnet_prefix){ held[i],
								     ipnet_addr_len(&held[i]) * 8 };
	if (!ep->n_ips || fw_ebt_list("nat", "PREROUTING", &list, NULL) < 0)
		return false;
	for (i = 0; !ep->has_mac && i < ep->n_ips; i++)
		if (ep->ips[i].addr.family == IPNET_AF_INET &&
		    ebt_find(list, "--ip-dst", ipnet_addr_format(&ep->ips[i].addr, ip, sizeof(ip)),
			     "--to-dst", ep->mac))
			ep->has_mac = true;
	free(list);
	return ep->has_mac;
}

static int del_owned(struct plugin_ctx *ctx, struct cni_error *err)
{
	struct netdev *nd = NULL;
	struct netstate_endpoint ep;
	struct netinfo ni;
	struct vnet v;
	bool net_found = false, has_ep, unrecorded = false;
	const char *id;
	int r;

	vnet_init(&v, ctx);
	memset(&ni, 0, sizeof(ni));
	r = state_lookup(&v, &net_found, &ni, &ep, err);
	if (r < 0)
		goto out;
	has_ep = r == 1;
	r = netdev_open(NULL, &nd, err);
	if (r < 0)
		goto out;
	/* The network's recorded mode wins over the config's (the Go plugin's DEL used "", so its
	 * tunnel rules leaked); state_lookup read it with the rest, so the state is parsed once. */
	if (net_found)
		mode_from_state(&v, ni.mode);
	if (!has_ep && net_found && v.bridged && unrecorded_pod(&v, &ep))
		has_ep = unrecorded = true;
	endpoint_teardown(&v, nd, &ni, has_ep ? &ep : NULL,
			  has_ep && ep.host_ifname[0] ? ep.host_ifname : v.host_if, NULL);
	netdev_close(nd);
	if (ctx->conf.ipam.type[0]) {
		r = ipam_del(&v, err);
		if (r < 0)
			goto out;
	}
	if (has_ep && !unrecorded) {
		id = v.epid;
		r = state_remove_endpoints(&v, &id, 1, err);
	}
out:
	state_snap_free(&v.snap);
	return r < 0 ? r : 0;
}

static int check_fail(struct cni_error *err, const char *fmt, const char *a, const char *b)
{
	return cni_error_set(err, -ENOENT, CNI_CODE_CHECK_FAILED, fmt, a, b);
}

/* CHECK of a bridge/tunnel pod beyond its veth's master: the IPAM routes in the pod (@routes,
 * @m entries, IPv4), the bridge's neighbour entry for each pod IP (bridge mode) and the pod's
 * ebtables ARP reply and MAC DNAT. */
static int check_bridge_pod(struct vnet *v, struct netdev *nd, const struct netinfo *ni,
			    const struct netstate_endpoint *ep, const struct netdev_link *br,
			    const struct netdev_route *routes, int m, struct cni_error *err)
{
	char buf[IPNET_PREFIX_STRLEN], *list = NULL;
	uint8_t mac[6];
	size_t i;
	int j, r, state;

	for (i = 0; i < ep->n_routes; i++) {
		const struct netstate_route *want = &ep->routes[i];

		if (want->dst.addr.family != IPNET_AF_INET)
			continue;
		for (j = 0; j < m; j++)
			if (routes[j].dst.len == want->dst.len &&
			    ipnet_addr_equal(&routes[j].dst.addr, &want->dst.addr) &&
			    (!want->gw.family || ipnet_addr_equal(&routes[j].gw, &want->gw)))
				break;
		if (j == m)
			return check_fail(err, "route %s is missing in netns %s",
					  ipnet_prefix_format(&want->dst, buf, sizeof(buf)),
					  v->ctx->env.netns);
	}
	for (i = 0; !v->tunnel && i < ep->n_ips; i++) {
		if (ep->ips[i].addr.family != IPNET_AF_INET)
			continue;
		r = netdev_neigh_get(nd, br->ifindex, &ep->ips[i].addr, mac, &state, err);
		if (r == -ENOENT || (r == 0 && memcmp(mac, ep->mac, 6) != 0))
			return check_fail(err, "neighbour %s -> pod MAC is missing on bridge %s",
					  ipnet_addr_format(&ep->ips[i].addr, buf, sizeof(buf)),
					  ni->bridge);
		if (r < 0)
			return r;
	}
	r = fw_ebt_list("nat", "PREROUTING", &list, err);
	if (r < 0)
		return r;
	for (i = 0; r >= 0 && i < ep->n_ips; i++) {
		if (ep->ips[i].addr.family != IPNET_AF_INET)
			continue;
		ipnet_addr_format(&ep->ips[i].addr, buf, sizeof(buf));
		if (!ebt_find(list, "--arp-ip-dst", buf, "--arpreply-mac", mac) ||
		    memcmp(mac, v->tunnel ? vepa_mac : ep->mac, 6) != 0)
			r = check_fail(err, "ebtables ARP reply for %s is missing (nat %s)", buf,
				       "PREROUTING");
		else if (!ebt_find(list, "--ip-dst", buf, "--to-dst", mac) ||
			 memcmp(mac, ep->mac, 6) != 0)
			r = check_fail(err, "ebtables MAC DNAT for %s is missing (nat %s)", buf,
				       "PREROUTING");
	}
	free(list);
	return r < 0 ? r : 0;
}

static int check_owned(struct plugin_ctx *ctx, struct cni_error *err)
{
	struct netdev *nd = NULL, *pod = NULL;
	struct netstate_endpoint ep;
	struct netdev_addr *addrs = NULL;
	struct netdev_route *routes = NULL;
	struct netdev_link h, p;
	struct netinfo ni;
	struct vnet v;
	bool net_found = false;
	char buf[IPNET_PREFIX_STRLEN];
	size_t i, j;
	int r, n, m;

	vnet_init(&v, ctx);
	r = state_lookup(&v, &net_found, &ni, &ep, err);
	state_snap_free(&v.snap);
	if (r < 0)
		return r;
	if (!net_found)
		return check_fail(err, "network %s%s is not in the state", ctx->conf.name, "");
	if (mode_matches(&v, &ni, err) < 0)
		return -EINVAL;
	if (r != 1)
		return check_fail(err, "endpoint %s of container %s is not in the state", v.epid,
				  ctx->env.container_id);
	r = netdev_open(NULL, &nd, err);
	if (r < 0)
		return r;
	r = netdev_open(ctx->env.netns, &pod, err);
	if (r < 0)
		goto out;
	r = netdev_link_get(nd, ep.host_ifname, 0, &h, err);
	if (r == -ENODEV)
		r = check_fail(err, "host interface %s is missing%s", ep.host_ifname, "");
	if (r < 0)
		goto out;
	r = netdev_link_get(pod, ctx->env.ifname, 0, &p, err);
	if (r == -ENODEV)
		r = check_fail(err, "interface %s is missing in netns %s", ctx->env.ifname,
			       ctx->env.netns);
	if (r < 0)
		goto out;
	if (!(p.flags & IFF_UP)) {
		r = check_fail(err, "interface %s in netns %s is down", ctx->env.ifname,
			       ctx->env.netns);
		goto out;
	}
	n = netdev_addr_list(pod, p.ifindex, 0, &addrs, err);
	if (n < 0) {
		r = n;
		goto out;
	}
	for (i = 0; i < ep.n_ips; i++) {
		for (j = 0; j < (size_t)n; j++)
			if (ipnet_addr_equal(&addrs[j].prefix.addr, &ep.ips[i].addr))
				break;
		if (j == (size_t)n) {
			r = check_fail(err, "address %s is missing on %s",
				       ipnet_prefix_format(&ep.ips[i], buf, sizeof(buf)),
				       ctx->env.ifname);
			goto out;
		}
	}
	if (ctx->has_prev) {
		for (i = 0; i < ctx->prev.n_ips; i++) {
			for (j = 0; j < ep.n_ips; j++)
				if (ipnet_addr_equal(&ctx->prev.ips[i].address.addr, &ep.ips[j].addr))
					break;
			if (j == ep.n_ips) {
				r = check_fail(err, "prevResult address %s is not this endpoint's%s",
					       ipnet_prefix_format(&ctx->prev.ips[i].address, buf,
								   sizeof(buf)), "");
				goto out;
			}
		}
	}
	m = netdev_route_list(pod, IPNET_AF_INET, 0, p.ifindex, &routes, err);
	if (m < 0) {
		r = m;
		goto out;
	}
	if (!v.bridged) {
		struct ipnet_addr gw4;
		uint8_t mac[6];
		bool link = false, def = false;
		int state = 0;

		ipnet_addr_parse(GW4_TEXT, &gw4);
		for (j = 0; j < (size_t)m; j++) {
			if (routes[j].dst.len == 32 && ipnet_addr_equal(&routes[j].dst.addr, &gw4))
				link = true;
			if (routes[j].dst.len == 0 && ipnet_addr_equal(&routes[j].gw, &gw4))
				def = true;
		}
		if (!link || !def) {
			r = check_fail(err, "route %s is missing in netns %s",
				       !link ? GW4_TEXT "/32 dev eth" : "default via " GW4_TEXT,
				       ctx->env.netns);
			goto out;
		}
		r = netdev_neigh_get(pod, p.ifindex, &gw4, mac, &state, err);
		if (r == -ENOENT || (r == 0 && (memcmp(mac, h.mac, 6) != 0 ||
						!(state & NUD_PERMANENT)))) {
			r = check_fail(err, "permanent neighbour %s -> host veth is missing in %s",
				       GW4_TEXT, ctx->env.netns);
			goto out;
		}
		if (r < 0)
			goto out;
		free(routes);
		routes = NULL;
		m = netdev_route_list(nd, 0, 0, h.ifindex, &routes, err);
		if (m < 0) {
			r = m;
			goto out;
		}
		for (i = 0; i < ep.n_ips; i++) {
			for (j = 0; j < (size_t)m; j++)
				if (ipnet_addr_equal(&routes[j].dst.addr, &ep.ips[i].addr))
					break;
			if (j == (size_t)m) {
				r = check_fail(err, "host route to %s via %s is missing",
					       ipnet_addr_format(&ep.ips[i].addr, buf, sizeof(buf)),
					       ep.host_ifname);
				goto out;
			}
		}
	} else {
		struct netdev_link br;

		r = netdev_link_get(nd, ni.bridge, 0, &br, err);
		if (r == -ENODEV || (r == 0 && h.master != br.ifindex)) {
			r = check_fail(err, "host interface %s is not attached to bridge %s",
				       ep.host_ifname, ni.bridge);
			goto out;
		}
		if (r < 0)
			goto out;
		r = check_bridge_pod(&v, nd, &ni, &ep, &br, routes, m, err);
		if (r < 0)
			goto out;
	}
	if (ctx->conf.outbound_snat && ni.primary.family) {
		r = snat_present(&v, &ni, err);
		if (r == 0)
			r = check_fail(err, "outbound SNAT rule (nat %s to %s) is missing",
				       SNAT_CHAIN, ipnet_addr_format(&ni.primary, buf, sizeof(buf)));
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	free(addrs);
	free(routes);
	netdev_close(pod);
	netdev_close(nd);
	return r;
}

/* How long GC waits for a removed owner's lock: a held lock means a call of that owner is
 * running, and GC leaves the owner to it (or to the next GC). */
#define GC_OWNER_LOCK_MS 200u

/* GC (CNI 1.1.0): remove endpoints (and their IPs) not in "cni.dev/valid-attachments", each
 * under its owner's lock, whose file goes with it. An owner whose lock is busy is kept whole
 * (endpoint and IP: it is passed to the IPAM GC as valid). */
static int vnet_gc(struct plugin_ctx *ctx, struct cni_error *err)
{
	struct ipam_attachment *valid = NULL;
	struct netstate_endpoint *stale = NULL;
	struct platform_lock **owner_locks = NULL;
	const char **ids = NULL;
	struct netstate_network *net;
	struct netstate_extif *x = NULL;
	struct netinfo ni;
	struct netdev *nd = NULL;
	size_t n = 0, nv, ns = 0, nk = 0, i, j;
	struct vnet v;
	int r;

	vnet_init(&v, ctx);
	r = plugin_valid_attachments(ctx, &valid, &n, err);
	if (r < 0)
		return r;
	nv = n;
	memset(&ni, 0, sizeof(ni));
	r = state_snap_read(&v.snap, err);
	if (r < 0)
		goto out;
	net = netstate_find_network(&v.snap.st, ctx->conf.name, &x);
	if (net) {
		struct ipam_attachment *grown;

		mode_from_state(&v, net->mode);
		netinfo_from_state(net, x, &ni);
		stale = calloc(net->n_endpoints + 1, sizeof(*stale));
		ids = calloc(net->n_endpoints + 1, sizeof(*ids));
		owner_locks = calloc(net->n_endpoints + 1, sizeof(*owner_locks));
		/* room for the busy owners, kept valid for the IPAM GC */
		grown = realloc(valid, (n + net->n_endpoints + 1) * sizeof(*valid));
		if (grown)
			valid = grown;
		if (!stale || !ids || !owner_locks || !grown) {
			r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
			goto out;
		}
		for (i = 0; i < net->n_endpoints; i++) {
			const struct netstate_endpoint *ep = &net->endpoints[i];
			struct cni_error lerr = { 0 };

			for (j = 0; j < n; j++)
				if (strcmp(valid[j].container_id, ep->container_id) == 0 &&
				    (!valid[j].ifname[0] || strcmp(valid[j].ifname, ep->ifname) == 0))
					break;
			if (j < n)
				continue;
			if (plugin_owner_lock(ep->container_id, ep->ifname, GC_OWNER_LOCK_MS,
					      &owner_locks[nk], &lerr) < 0) {
				platform_log("azure-vnet GC: keeping endpoint %s for now: %s", ep->id,
					     lerr.msg);
				valid[nv].container_id = ep->container_id;
				valid[nv].ifname = ep->ifname;
				nv++;
				continue;
			}
			nk++;
			stale[ns++] = *ep;
		}
	}
	if (ns) {
		r = netdev_open(NULL, &nd, err);
		if (r < 0)
			goto out;
		for (i = 0; i < ns; i++) {
			endpoint_teardown(&v, nd, &ni, &stale[i], stale[i].host_ifname, NULL);
			ids[i] = stale[i].id;
		}
		netdev_close(nd);
	}
	if (ipam_ours(&ctx->conf))
		r = ipam_run_gc(&ctx->conf, valid, nv, err);
	else if (ctx->conf.ipam.type[0])
		r = ipam_delegate(&v, "GC", NULL, err);
	if (r >= 0 && ns)
		r = state_remove_endpoints(&v, ids, ns, err);
out:
	/* the owners are gone (or a failed GC is retried and takes new files) */
	for (i = 0; i < nk; i++)
		platform_lock_release_unlink(owner_locks[i]);
	state_snap_free(&v.snap);
	free(owner_locks);
	free(valid);
	free(stale);
	free(ids);
	return r < 0 ? r : 0;
}

static int vnet_status(struct plugin_ctx *ctx, struct cni_error *err)
{
	struct vnet v;

	vnet_init(&v, ctx);
	if (ipam_ours(&ctx->conf))
		return ipam_run_status(&ctx->conf, err);
	if (ctx->conf.ipam.type[0])
		return ipam_delegate(&v, "STATUS", NULL, err);
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

	return plugin_main(&ops, argc, argv);
}
