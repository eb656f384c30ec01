/* SPDX-License-Identifier: MIT */
/* The Linux network backend of azure-vnet (platform/backend.h): netlink through netdev.h,
 * iptables, ip6tables and ebtables through fw.h. transparent (IPv4, IPv6 or both): a veth with
 * host MAC aa:aa:aa:aa:aa:aa, a host /32 (/128) route and proxy ARP; in the pod the VNet IPs and
 * 169.254.1.1 (IPv6: fe80::1234:5678:9abc) as the gateway with a permanent neighbour entry.
 * bridge/tunnel (IPv4, IPv6 or both): the NIC enslaved to a bridge that takes its addresses,
 * per-pod ebtables ARP reply (IPv4) and MAC DNAT (both families); the pod's IPv6 goes through
 * Azure's gateway fe80::1234:5678:9abc (MAC 12:34:56:78:9a:bc) and never solicits beyond the
 * VM. Once per network: ip_forward, (bridge) bridge-nf-call-iptables (ip6tables), the outbound
 * SNAT chain per family (pod subnets from CNS: also the SWIFT chain for Azure DNS and IMDS);
 * IPv6 forwarding with the first IPv6 pod. Never reads the state file, never locks, never calls
 * IPAM: cni/azure-vnet.c does. */
#define _GNU_SOURCE
#include "platform/backend.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ip.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "core/ipam.h"
#include "core/mac.h"
#include "core/sha1.h"
#include "platform/linux/fw.h"
#include "platform/linux/netdev.h"
#include "platform/platform.h"

#define SNAT_CHAIN "AZURE-VNET-SNAT"
#define SWIFT_CHAIN "SWIFT"        /* ACN iptables/iptables.go Swift */
#define AZURE_DNS "168.63.129.16"  /* ACN networkutils AzureDNS */
#define AZURE_IMDS "169.254.169.254"
#define GW4_TEXT "169.254.1.1"
#define GW6_TEXT "fe80::1234:5678:9abc"

static const uint8_t host_veth_mac[6] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa };
static const uint8_t vepa_mac[6] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc };

/* One session: the node's netns, the pod's (BACKEND_NEED_SANDBOX), the iptables options. */
struct backend {
	struct netdev *host;
	struct netdev *pod;                /* NULL unless opened with BACKEND_NEED_SANDBOX */
	struct fw_opts fw;
	bool moved_nic;                    /* this session's network_create made or finished the
					    * bridge: network_undo puts the NIC back (a complete
					    * bridge adopted is left as found) */
	unsigned swift_made;               /* SWIFT_MADE_* bits: what this session's swift_install
					    * added, all a rollback may take out again */
};

/* What swift_install added (struct backend swift_made): rule i of swift_rules is bit i. */
enum {
	SWIFT_MADE_RULES = 0x7,
	SWIFT_MADE_CHAIN = 0x8,    /* the SWIFT chain did not exist */
	SWIFT_MADE_JUMP = 0x10,    /* POSTROUTING had no jump to it */
};

/* What one call knows of the network (from its record, or found by network_create). */
struct netinfo {
	char master[NETSTATE_IFNAME_MAX];
	char bridge[NETSTATE_IFNAME_MAX];  /* "" in transparent mode */
	struct ipnet_prefix subnet;        /* the pool subnet (network address) */
	struct ipnet_addr primary;         /* the VM's primary IP (SNAT source) */
	struct ipnet_prefix subnet6;       /* dual-stack: the IPv6 pool subnet (family 0 = none) */
	struct ipnet_addr primary6;        /* dual-stack: the VM's primary IPv6 (SNAT source) */
	uint8_t nic_mac[6];
	unsigned mtu;                      /* the master's, 0 = unknown (kernel default) */
};

/* One call's view: the session, the request and the mode it works in. */
struct vnet {
	struct backend *be;
	const struct backend_call *call;
	const struct conf *conf;
	const struct cni_env *env;
	bool bridged;                      /* bridge or tunnel */
	bool tunnel;
	struct netinfo ni;
};

static const char *mode_name(const struct conf *c)
{
	switch (c->mode) {
	case CONF_MODE_BRIDGE: return "bridge";
	case CONF_MODE_TRANSPARENT: return "transparent";
	case CONF_MODE_TRANSPARENT_VLAN: return "transparent-vlan";
	default: return "tunnel";
	}
}

/* The call's view of network @net (NULL: not recorded, nothing known yet). The recorded mode
 * wins over the config's, DEL included (the Go plugin's DEL used "", so its tunnel rules
 * leaked); ADD and CHECK reach here only when both agree (the orchestrator compares them). */
static void vnet_init(struct vnet *v, struct backend *be, const struct backend_call *call,
		      const struct backend_network *net)
{
	const char *mode = net && net->net.mode[0] ? net->net.mode : mode_name(call->conf);

	memset(v, 0, sizeof(*v));
	v->be = be;
	v->call = call;
	v->conf = call->conf;
	v->env = call->env;
	v->tunnel = strcmp(mode, "tunnel") == 0;
	v->bridged = v->tunnel || strcmp(mode, "bridge") == 0;
	if (!net)
		return;
	snprintf(v->ni.master, sizeof(v->ni.master), "%s", net->extif.name);
	snprintf(v->ni.bridge, sizeof(v->ni.bridge), "%s", net->extif.bridge_name);
	if (net->net.n_subnets) {
		v->ni.subnet = net->net.subnets[0].prefix;
		v->ni.primary = net->net.subnets[0].primary_ip;
	}
	if (net->net.n_subnets > 1 && net->net.subnets[1].prefix.addr.family == IPNET_AF_INET6 &&
	    v->ni.subnet.addr.family == IPNET_AF_INET) {
		v->ni.subnet6 = net->net.subnets[1].prefix;
		v->ni.primary6 = net->net.subnets[1].primary_ip;
	}
	if (net->extif.has_mac)
		memcpy(v->ni.nic_mac, net->extif.mac, 6);
}

/* Host veth names: an owner (network, container ID, ifname) has HOST_VETH_CANDIDATES names
 * "azv" + 11 hex digits of sha1("<len>:<network>,<len>:<container ID>,<len>:<ifname>,<k>"),
 * k = 0, 1, ...: the length prefixes make the hashed text injective in the owner (Go hashes
 * "<ns>.<pod>" in transparent mode, so two sandboxes of one pod collide and the second ADD
 * deletes the first one's veth; our earlier versions hashed the three parts run together). 44
 * bits of hash can still meet another owner's name, so ADD takes the first candidate that is
 * free or already this owner's, known by the host veth's alias (IFLA_IFALIAS, which the Go
 * plugin ignores): host_veth_tag. */
#define HOST_VETH_CANDIDATES 8

struct veth_owner {
	const char *network, *container_id, *ifname;
};

/* The owner of record @rec (its owner fields, else the call's: GC passes other owners'
 * records, whose owner is not the call's CNI_CONTAINERID). */
static struct veth_owner veth_owner_of(const struct backend_call *call,
				       const struct netstate_endpoint *rec)
{
	return (struct veth_owner){
		.network = call->conf->name,
		.container_id = rec && rec->container_id[0] ? rec->container_id :
							      call->env->container_id,
		.ifname = rec && rec->ifname[0] ? rec->ifname : call->env->ifname,
	};
}

/* sha1 hex (41 bytes) of the owner's unambiguous text, with ",<k>" appended when @k >= 0. */
static void veth_owner_hash(const struct veth_owner *o, long k, char hex[41])
{
	char key[1024];
	int n;

	n = snprintf(key, sizeof(key), "%zu:%s,%zu:%s,%zu:%s", strlen(o->network), o->network,
		     strlen(o->container_id), o->container_id, strlen(o->ifname), o->ifname);
	if (k >= 0 && n >= 0 && (size_t)n < sizeof(key))
		snprintf(key + n, sizeof(key) - (size_t)n, ",%ld", k);
	sha1_hex(key, hex, 41);
}

/* Host veth name candidate @k of owner @o into @buf (>= 16 bytes). */
static void host_veth_name(const struct veth_owner *o, unsigned k, char *buf, size_t size)
{
	char hex[41];

	veth_owner_hash(o, k, hex);
	snprintf(buf, size, "azv%.11s", hex);
}

/* The name our earlier versions gave: "azv" + 11 hex of sha1(network + container ID + ifname). */
static void host_veth_old_name(const struct veth_owner *o, char *buf, size_t size)
{
	char key[1024], hex[41];

	snprintf(key, sizeof(key), "%s%s%s", o->network, o->container_id, o->ifname);
	sha1_hex(key, hex, sizeof(hex));
	snprintf(buf, size, "azv%.11s", hex);
}

/* The alias that marks owner @o's host veth: "azure-vnet <sha1 of the owner's text> <container
 * ID>/<ifname>", cut at NETDEV_IFALIASZ - 1 bytes (the hash decides; the rest is for people). */
static void host_veth_tag(const struct veth_owner *o, char buf[NETDEV_IFALIASZ])
{
	char hex[41];

	veth_owner_hash(o, -1, hex);
	snprintf(buf, NETDEV_IFALIASZ, "azure-vnet %.40s %.180s/%.15s", hex, o->container_id,
		 o->ifname);
}

/* Is host link @h owner @o's veth by name alone: an untagged link (an earlier version's, or one
 * a kill left between creation and tagging) named as @o's would be? */
static bool host_veth_named_for(const struct veth_owner *o, const struct netdev_link *h)
{
	char name[NETDEV_IFNAMSIZ];
	unsigned k;

	if (h->alias[0])
		return false;
	host_veth_old_name(o, name, sizeof(name));
	for (k = 0; strcmp(name, h->name) != 0; k++) {
		if (k == HOST_VETH_CANDIDATES)
			return false;
		host_veth_name(o, k, name, sizeof(name));
	}
	return true;
}

/* Owner @o's host veth, for a DEL or GC that has no recorded name: the candidate tagged as
 * @o's, else an untagged veth of our earlier versions' name, else an untagged veth that is
 * down at a candidate name (a kill between the veth's creation and its tagging). Its name into
 * @ret (>= 16 bytes), "" when there is none. Returns 0 or negative errno (code 103). */
static int host_veth_find(struct netdev *nd, const struct veth_owner *o, char *ret, size_t size,
			  struct cni_error *err)
{
	char tag[NETDEV_IFALIASZ];
	struct netdev_link h;
	unsigned k;
	int r;

	char untagged[64] = "";

	host_veth_tag(o, tag);
	for (k = 0; k < HOST_VETH_CANDIDATES; k++) {
		host_veth_name(o, k, ret, size);
		r = netdev_link_get(nd, ret, 0, &h, err);
		if (r == 0 && strcmp(h.alias, tag) == 0)
			return 0;
		/* a kill between creation and tagging leaves the veth untagged and down; an
		 * untagged link that is up is someone else's that took the name */
		if (r == 0 && !h.alias[0] && strcmp(h.kind, "veth") == 0 && !(h.flags & IFF_UP) &&
		    !untagged[0])
			snprintf(untagged, sizeof(untagged), "%s", ret);
		if (r < 0 && r != -ENODEV)
			return r;
	}
	host_veth_old_name(o, ret, size);
	r = netdev_link_get(nd, ret, 0, &h, err);
	if (r == 0 && !h.alias[0] && strcmp(h.kind, "veth") == 0)
		return 0;
	if (r < 0 && r != -ENODEV)
		return r;
	snprintf(ret, size, "%s", untagged);
	return 0;
}

/* The name a new host veth of owner @o takes: the first candidate that is free, or tagged as
 * @o's (a leftover of a killed ADD: removed here). Into @ret (>= 16 bytes). Returns 0, or
 * -EEXIST (code 103) when other links hold every candidate, or another negative errno. */
static int host_veth_pick(struct netdev *nd, const struct veth_owner *o, char *ret, size_t size,
			  struct cni_error *err)
{
	char tag[NETDEV_IFALIASZ];
	struct netdev_link h;
	unsigned k;
	int r;

	host_veth_tag(o, tag);
	for (k = 0; k < HOST_VETH_CANDIDATES; k++) {
		host_veth_name(o, k, ret, size);
		r = netdev_link_get(nd, ret, 0, &h, err);
		if (r == -ENODEV)
			return 0;
		if (r < 0)
			return r;
		if (strcmp(h.alias, tag) == 0) {
			r = netdev_link_delete(nd, ret, err);
			return r == -ENODEV ? 0 : r;
		}
		platform_log("host veth name %s of %s/%s is another link's: trying the next", ret,
			     o->container_id, o->ifname);
	}
	return cni_error_set(err, -EEXIST, CNI_CODE_NETWORK,
			     "all %d host veth names of %s/%s are other links'",
			     HOST_VETH_CANDIDATES, o->container_id, o->ifname);
}

/* Write @val to net/<@proto>/conf/<@ifname>/<@leaf> in @nd's netns. */
static int sysctl_if(struct netdev *nd, const char *proto, const char *ifname, const char *leaf,
		     const char *val, struct cni_error *err)
{
	char key[128];

	snprintf(key, sizeof(key), "net/%s/conf/%s/%s", proto, ifname, leaf);
	return netdev_sysctl_write(nd, key, val, err);
}

static int need_sandbox(const struct backend *be, struct cni_error *err)
{
	if (be->pod)
		return 0;
	return cni_error_set(err, -EINVAL, CNI_CODE_INTERNAL,
			     "backend session opened without the pod's netns");
}

/* ---- firewall rules ---- */

/* The firewall options for rules of @family: iptables, or ip6tables for IPv6. */
static struct fw_opts fw_for(const struct vnet *v, int family)
{
	struct fw_opts o = v->be->fw;

	o.ipv6 = family == IPNET_AF_INET6;
	return o;
}

/* The outbound SNAT of one family: nat POSTROUTING -s <subnet> -j AZURE-VNET-SNAT; in the chain
 * a RETURN for the subnet and each VNet range of its family, then SNAT to @primary (iptables,
 * or ip6tables for an IPv6 subnet: the same rules, the same switch). */
static int snat_install_one(struct vnet *v, const struct ipnet_prefix *subnet,
			    const struct ipnet_addr *primary, struct cni_error *err)
{
	char sub[IPNET_PREFIX_STRLEN], cidr[IPNET_PREFIX_STRLEN], prim[IPNET_ADDR_STRLEN];
	const struct fw_opts o = fw_for(v, subnet->addr.family), *fw = &o;
	size_t i;
	int r;

	ipnet_prefix_format(subnet, sub, sizeof(sub));
	ipnet_addr_format(primary, prim, sizeof(prim));
	r = fw_ipt_chain_ensure(fw, "nat", SNAT_CHAIN, err);
	if (r < 0)
		return r;
	/* Rebuilt from scratch: the order (RETURNs before SNAT) matters. */
	r = fw_ipt_chain_flush(fw, "nat", SNAT_CHAIN, err);
	if (r < 0)
		return r;
	r = fw_ipt_rule_ensure(fw, "nat", SNAT_CHAIN, true,
			       (const char *const[]){ "-d", sub, "-j", "RETURN", NULL }, err);
	for (i = 0; r >= 0 && i < v->conf->n_vnet_cidrs; i++) {
		if (v->conf->vnet_cidrs[i].addr.family != subnet->addr.family)
			continue;
		ipnet_prefix_format(&v->conf->vnet_cidrs[i], cidr, sizeof(cidr));
		r = fw_ipt_rule_ensure(fw, "nat", SNAT_CHAIN, true,
				       (const char *const[]){ "-d", cidr, "-j", "RETURN", NULL },
				       err);
	}
	if (r >= 0)
		r = fw_ipt_rule_ensure(fw, "nat", SNAT_CHAIN, true,
				       (const char *const[]){ "-j", "SNAT", "--to-source", prim,
							      NULL }, err);
	if (r >= 0)
		r = fw_ipt_rule_ensure(fw, "nat", "POSTROUTING", false,
				       (const char *const[]){ "-s", sub, "-j", SNAT_CHAIN, NULL },
				       err);
	return r < 0 ? r : 0;
}

/* Undo snat_install_one (best effort): the jump for this subnet, then the chain. */
static void snat_remove_one(struct vnet *v, const struct ipnet_prefix *subnet)
{
	const struct fw_opts o = fw_for(v, subnet->addr.family);
	char sub[IPNET_PREFIX_STRLEN];

	ipnet_prefix_format(subnet, sub, sizeof(sub));
	fw_ipt_rule_delete(&o, "nat", "POSTROUTING",
			   (const char *const[]){ "-s", sub, "-j", SNAT_CHAIN, NULL }, NULL);
	fw_ipt_chain_delete(&o, "nat", SNAT_CHAIN, NULL);
}

/* The network's outbound SNAT, per family it has (the switch: conf enableOutboundSnat). On
 * failure what was installed is removed. */
static int snat_install(struct vnet *v, struct cni_error *err)
{
	int r;

	if (!v->conf->outbound_snat)
		return 0;
	r = snat_install_one(v, &v->ni.subnet, &v->ni.primary, err);
	if (r >= 0 && v->ni.subnet6.addr.family) {
		r = snat_install_one(v, &v->ni.subnet6, &v->ni.primary6, err);
		if (r < 0)
			snat_remove_one(v, &v->ni.subnet);
	}
	return r;
}

/* Undo snat_install (best effort). */
static void snat_remove(struct vnet *v)
{
	if (!v->conf->outbound_snat)
		return;
	snat_remove_one(v, &v->ni.subnet);
	if (v->ni.subnet6.addr.family)
		snat_remove_one(v, &v->ni.subnet6);
}

/* The three SWIFT rules of @sub (the pod subnet): Azure DNS over udp and tcp 53 SNATed to @nc,
 * IMDS over tcp 80 to @host (ACN cni/network/invoker_cns.go setHostOptions: azureDNSUDPMatch,
 * azureDNSTCPMatch, azureIMDSMatch; "--to" there is --to-source). Each NULL-terminated. */
static void swift_rules(const char *sub, const char *nc, const char *host,
			const char *ret[3][18])
{
	static const char *const proto[3] = { "udp", "tcp", "tcp" };
	static const char *const dst[3] = { AZURE_DNS, AZURE_DNS, AZURE_IMDS };
	static const char *const port[3] = { "53", "53", "80" };
	int i;

	for (i = 0; i < 3; i++) {
		const char *r[18] = { "-m", "addrtype", "!", "--dst-type", "LOCAL", "-s", sub,
				      "-d", dst[i], "-p", proto[i], "--dport", port[i], "-j",
				      "SNAT", "--to-source", i < 2 ? nc : host, NULL };
		memcpy(ret[i], r, sizeof(r));
	}
}

/* The SWIFT rules of this network into @rules (texts in @sub, @nc, @host), or false when it
 * has none: pod subnets only (ipam.type azure-cns without ipam.mode: CNS gave the network
 * container's primary IPv4 and the node's, call->cns_swift) of IPv4. */
static bool swift_of(const struct vnet *v, char sub[IPNET_PREFIX_STRLEN],
		     char nc[IPNET_ADDR_STRLEN], char host[IPNET_ADDR_STRLEN],
		     const char *rules[3][18])
{
	const struct cns_swift *s = &v->call->cns_swift;

	if (s->nc_primary.family != IPNET_AF_INET || s->host_primary.family != IPNET_AF_INET ||
	    v->ni.subnet.addr.family != IPNET_AF_INET)
		return false;
	ipnet_prefix_format(&v->ni.subnet, sub, IPNET_PREFIX_STRLEN);
	ipnet_addr_format(&s->nc_primary, nc, IPNET_ADDR_STRLEN);
	/* CNS's HostPrimaryIPInfo.PrimaryIP, as the Go plugin's setHostOptions: the NIC's first
	 * address need not be the one Azure knows the node by */
	ipnet_addr_format(&s->host_primary, host, IPNET_ADDR_STRLEN);
	swift_rules(sub, nc, host, rules);
	return true;
}

/* Pod subnets (see swift_of): the Go plugin's nat chain SWIFT, so Azure DNS sees the pod's
 * queries from the network container's primary IP and IMDS from the node's. POSTROUTING jumps
 * to it first, ahead of AZURE-VNET-SNAT (the Go plugin appends its jump: its outbound SNAT is
 * ip-masq-agent's, not in POSTROUTING itself); a jump already there (the Go plugin's, or one
 * whose state was lost) is moved first. Installed with the network, as the Go plugin does
 * (handleCommonOptions at network creation); its host route to the pod subnet via the host's
 * gateway is not added: the node's default route goes to that same gateway. What it added (not
 * what was there before, identical or not) is remembered in the session for swift_remove.
 * Returns 0 or negative errno (code 103). */
static int swift_install(struct vnet *v, struct cni_error *err)
{
	static const char *const jump[] = { "-j", SWIFT_CHAIN, NULL };
	char sub[IPNET_PREFIX_STRLEN], nc[IPNET_ADDR_STRLEN], host[IPNET_ADDR_STRLEN];
	const struct fw_opts o = fw_for(v, IPNET_AF_INET);
	const char *rules[3][18];
	int i, r;

	if (!swift_of(v, sub, nc, host, rules))
		return 0;
	r = fw_ipt_chain_ensure(&o, "nat", SWIFT_CHAIN, err);
	if (r > 0)
		v->be->swift_made |= SWIFT_MADE_CHAIN;
	for (i = 0; r >= 0 && i < 3; i++) {
		r = fw_ipt_rule_ensure(&o, "nat", SWIFT_CHAIN, false, rules[i], err);
		if (r > 0)
			v->be->swift_made |= 1u << i;
	}
	/* First, whatever jump was there: the Go plugin appends its own, which would come after
	 * the AZURE-VNET-SNAT jump snat_install has just put first (DNS then leaves as the node) */
	if (r >= 0)
		r = fw_ipt_rule_delete(&o, "nat", "POSTROUTING", jump, err);
	if (r == 0)
		v->be->swift_made |= SWIFT_MADE_JUMP;
	if (r >= 0)
		r = fw_ipt_rule_ensure(&o, "nat", "POSTROUTING", false, jump, err);
	return r < 0 ? r : 0;
}

/* Undo swift_install of this session (best effort): the rules it added; its jump and the chain
 * it made once no rule is left in the chain. A rule, jump or chain that was there before (the
 * Go plugin's, another network's) stays; a jump it moved first stays first. */
static void swift_remove(struct vnet *v)
{
	char sub[IPNET_PREFIX_STRLEN], nc[IPNET_ADDR_STRLEN], host[IPNET_ADDR_STRLEN], *text;
	const struct fw_opts o = fw_for(v, IPNET_AF_INET);
	unsigned made = v->be->swift_made;
	const char *rules[3][18];
	bool full = false;
	int i;

	v->be->swift_made = 0;
	if (!made || !swift_of(v, sub, nc, host, rules))
		return;
	/* -D takes the first match: ours was inserted first, so that is the one removed */
	for (i = 0; i < 3; i++)
		if (made & (1u << i))
			fw_ipt_rule_delete_one(&o, "nat", SWIFT_CHAIN, rules[i], NULL);
	if (!(made & (SWIFT_MADE_JUMP | SWIFT_MADE_CHAIN)) ||
	    fw_ipt_list(&o, "nat", &text, &full, NULL) < 0)
		return;
	if (!full && !strstr(text, "-A " SWIFT_CHAIN " ")) {
		if (made & SWIFT_MADE_JUMP)
			fw_ipt_rule_delete(&o, "nat", "POSTROUTING",
					   (const char *const[]){ "-j", SWIFT_CHAIN, NULL }, NULL);
		if (made & SWIFT_MADE_CHAIN)
			fw_ipt_chain_delete(&o, "nat", SWIFT_CHAIN, NULL);
	}
	free(text);
}

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

/* 1 when the POSTROUTING jump of @subnet and the SNAT rule to @primary are both there (in
 * ip6tables for IPv6), 0 when one is missing, negative errno when iptables failed. One
 * `iptables -t nat -S` listing; two -C checks only when the table is too large to list. */
static int snat_present(struct vnet *v, const struct ipnet_prefix *subnet,
			const struct ipnet_addr *primary, struct cni_error *err)
{
	char sub[IPNET_PREFIX_STRLEN], prim[IPNET_ADDR_STRLEN], jump[128], snat[128], *text;
	const struct fw_opts o = fw_for(v, subnet->addr.family);
	bool full = false;
	int r;

	ipnet_prefix_format(subnet, sub, sizeof(sub));
	ipnet_addr_format(primary, prim, sizeof(prim));
	r = fw_ipt_list(&o, "nat", &text, &full, err);
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
	r = fw_ipt_rule_check(&o, "nat", "POSTROUTING",
			      (const char *const[]){ "-s", sub, "-j", SNAT_CHAIN, NULL }, err);
	if (r <= 0)
		return r;
	return fw_ipt_rule_check(&o, "nat", SNAT_CHAIN,
				 (const char *const[]){ "-j", "SNAT", "--to-source", prim, NULL },
				 err);
}

/* Per-pod ebtables rules (bridge/tunnel): for an IPv4 address the ARP reply (with the VEPA MAC
 * in tunnel mode) and the MAC DNAT from the NIC; for an IPv6 address the MAC DNAT alone (the
 * Go plugin's SetDnatForIPAddress with --ip6-dst, ACN ebtables/ebtables.go): the fabric sends
 * a pod's traffic to the NIC's MAC and the rule hands it to the pod. @add: install them (on
 * failure none is left), else remove them (every rule tried; the first error is returned), in
 * tunnel mode also the ARP reply with the pod's own MAC: the Go plugin gives that form to the
 * pod whose ADD created the network (it records the tunnel default only then; ACN
 * network/bridge_endpointclient_linux.go getArpReplyAddress, ebtables/ebtables.go SetArpReply),
 * and a leftover would answer for the address's next pod with a dead MAC. */
static bool ebt_find(const char *list, const char *key, const char *ip, const char *target,
		     uint8_t mac[6]);
static int ebt_pod(struct vnet *v, const struct ipnet_addr *ip, const uint8_t mac[6], bool add,
		   struct cni_error *err);

/* The ebtables match of a destination address of @ip's family: --ip-dst or --ip6-dst. */
static const char *ebt_dst_key(const struct ipnet_addr *ip)
{
	return ip->family == IPNET_AF_INET6 ? "--ip6-dst" : "--ip-dst";
}

/* Remove the pod rules for @ip that point at a MAC other than @mac: leftovers of a killed ADD
 * or a failed DEL of the address's earlier pod. The address is this pod's now (the IPAM gave
 * it), and the first ARP reply in the chain is the one that answers. Best effort. */
static void ebt_pod_purge(struct vnet *v, const struct ipnet_addr *ip, const uint8_t mac[6])
{
	char ips[IPNET_ADDR_STRLEN], line[512], *list = NULL;
	const char *p, *end;
	uint8_t old[6];

	if (fw_ebt_list("nat", "PREROUTING", &list, NULL) < 0)
		return;
	ipnet_addr_format(ip, ips, sizeof(ips));
	for (p = list; p && *p; p = end ? end + 1 : NULL) {
		end = strchr(p, '\n');
		snprintf(line, sizeof(line), "%.*s", end ? (int)(end - p) : (int)strlen(p), p);
		if ((ebt_find(line, ebt_dst_key(ip), ips, "--to-dst", old) && memcmp(old, mac, 6) != 0) ||
		    (ebt_find(line, "--arp-ip-dst", ips, "--arpreply-mac", old) &&
		     memcmp(old, v->tunnel ? vepa_mac : mac, 6) != 0)) {
			char olds[MAC_STRLEN];

			platform_log("removing stale ebtables rules of %s (MAC %s)", ips,
				     mac_format(old, MAC_COLON_LOWER, olds, sizeof(olds)));
			ebt_pod(v, ip, old, false, NULL);
		}
	}
	free(list);
}

/* ebt_pod in no exec (an ADD whose address no rule holds, with ebtables-nft: @nft, the @n_nft
 * rules of @rules in structured form, appended over netlink) or one or two ebtables execs (a
 * listing, unless on ADD an nf_tables dump shows no rule holding @ip; one ebtables-restore
 * batch) instead of one per rule and copy (five for an IPv4 ADD, four for its DEL): the
 * listing's rules for @ip go in the
 * batch as -D lines (on ADD every ARP reply and MAC DNAT for @ip, the stale ones of an earlier
 * pod and any copy of this pod's, as ebt_pod_purge and fw_ebt_rule_ensure remove them; on DEL
 * those pointing at this pod's MACs, as ebt_pod's rules and the Go first pod's ARP reply do),
 * then on ADD @rules' -A lines. Returns 0 when done, else a negative errno with nothing
 * changed (the batch is one transaction), for the caller to take the per-rule path. */
static int ebt_pod_batch(struct vnet *v, const struct ipnet_addr *ip, const uint8_t mac[6],
			 bool add, const char *const *const rules[],
			 const struct fw_ebt_nft_rule *nft, size_t n_nft)
{
	char ips[IPNET_ADDR_STRLEN], line[512], *list = NULL;
	struct fw_script sc = { 0 };
	const char *p, *end;
	uint8_t old[6];
	unsigned total = 0;
	int r;

	/* An ADD whose address no rule of the chain holds (the usual case; the chain is never
	 * empty in these modes: ebt_network's rules) has nothing to purge: no listing */
	if (add && fw_ebt_nft_holding("nat", "PREROUTING", ip->bytes,
				      (size_t)ipnet_addr_len(ip), &total) == 0 && total > 0) {
		/* the same rules over netlink, no exec (ebtables-nft's own encoding) */
		if (fw_ebt_nft_append("nat", "PREROUTING", nft, n_nft) == 0)
			return 0;
		for (; *rules; rules++)
			fw_script_rule(&sc, true, "PREROUTING", *rules);
		return fw_ebt_batch("nat", &sc, NULL);
	}
	r = fw_ebt_list("nat", "PREROUTING", &list, NULL);
	if (r < 0)
		return r;
	ipnet_addr_format(ip, ips, sizeof(ips));
	for (p = list; p && *p; p = end ? end + 1 : NULL) {
		bool dnat, arp;

		end = strchr(p, '\n');
		snprintf(line, sizeof(line), "%.*s", end ? (int)(end - p) : (int)strlen(p), p);
		dnat = ebt_find(line, ebt_dst_key(ip), ips, "--to-dst", old);
		arp = !dnat && ebt_find(line, "--arp-ip-dst", ips, "--arpreply-mac", old);
		if (!dnat && !arp)
			continue;
		if (add && memcmp(old, arp && v->tunnel ? vepa_mac : mac, 6) != 0) {
			char olds[MAC_STRLEN];

			platform_log("removing stale ebtables rules of %s (MAC %s)", ips,
				     mac_format(old, MAC_COLON_LOWER, olds, sizeof(olds)));
		}
		if (add || memcmp(old, mac, 6) == 0 || (arp && v->tunnel && !memcmp(old, vepa_mac, 6)))
			fw_script_line(&sc, false, "PREROUTING", line);
	}
	free(list);
	for (; add && *rules; rules++)
		fw_script_rule(&sc, true, "PREROUTING", *rules);
	return fw_ebt_batch("nat", &sc, NULL);
}

/* A bridge-mode DEL's usual case in one exec: -D of exactly the rules ebt_pod made, in one
 * ebtables-restore batch, which fails as a whole (nothing removed) when one of them is not there
 * as made; then the caller lists (ebt_pod_batch). Not in tunnel mode, whose first pod may also
 * hold the Go plugin's form of the ARP reply. Returns 0 or a negative errno. */
static int ebt_pod_del_exact(const char *const *const rules[])
{
	struct fw_script sc = { 0 };

	for (; *rules; rules++)
		fw_script_rule(&sc, false, "PREROUTING", *rules);
	return fw_ebt_batch("nat", &sc, NULL);
}

static int ebt_pod(struct vnet *v, const struct ipnet_addr *ip, const uint8_t mac[6], bool add,
		   struct cni_error *err)
{
	char ips[IPNET_ADDR_STRLEN], macs[18], rmacs[18];
	const bool v6 = ip->family == IPNET_AF_INET6;
	int r = 0, r2;

	ipnet_addr_format(ip, ips, sizeof(ips));
	mac_format(mac, MAC_COLON_LOWER, macs, sizeof(macs));
	mac_format(v->tunnel ? vepa_mac : mac, MAC_COLON_LOWER, rmacs, sizeof(rmacs));
	const char *const arp[] = { "-p", "ARP", "--arp-op", "Request", "--arp-ip-dst", ips, "-j",
				    "arpreply", "--arpreply-mac", rmacs, NULL };
	const char *const dnat[] = { "-p", v6 ? "IPv6" : "IPv4", "-i", v->ni.master,
				     ebt_dst_key(ip), ips, "-j", "dnat", "--to-dst", macs,
				     "--dnat-target", "ACCEPT", NULL };
	const char *const go_arp[] = { "-p", "ARP", "--arp-op", "Request", "--arp-ip-dst", ips,
				       "-j", "arpreply", "--arpreply-mac", macs,
				       "--arpreply-target", "DROP", NULL };
	const char *const *const rules[] = { v6 ? dnat : arp, v6 ? NULL : dnat, NULL };
	struct fw_ebt_nft_rule nft[2] = { { .dnat = false, .ip = *ip },
					  { .dnat = true, .ip = *ip, .iif = v->ni.master } };

	memcpy(nft[0].mac, v->tunnel ? vepa_mac : mac, 6);
	memcpy(nft[1].mac, mac, 6);

	if (!add && !v->tunnel && ebt_pod_del_exact(rules) == 0)
		return 0;
	if (ebt_pod_batch(v, ip, mac, add, rules, v6 ? nft + 1 : nft, v6 ? 1 : 2) == 0)
		return 0;
	if (!add) {
		if (!v6)
			r = fw_ebt_rule_delete("nat", "PREROUTING", arp, err);
		r2 = fw_ebt_rule_delete("nat", "PREROUTING", dnat, err);
		if (r >= 0 && v->tunnel && !v6)
			r = fw_ebt_rule_delete("nat", "PREROUTING", go_arp, err);
		return r < 0 ? r : r2 < 0 ? r2 : 0;
	}
	ebt_pod_purge(v, ip, mac);
	if (!v6)
		r = fw_ebt_rule_ensure("nat", "PREROUTING", arp, err);
	if (r >= 0)
		r = fw_ebt_rule_ensure("nat", "PREROUTING", dnat, err);
	if (r < 0)
		ebt_pod(v, ip, mac, false, NULL);
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

/* The MAC of a pod known by its IPs only (an unrecorded bridge-mode endpoint: killed between
 * making the endpoint and saving the state): the target of one of its MAC DNAT rules, else (killed
 * between its two rules: ebt_pod adds the ARP reply first) of its ARP reply rule (in tunnel
 * mode the VEPA MAC, which is what that rule holds), from one ebtables listing. Best effort:
 * ep->has_mac stays false when nothing is found. */
static void ebt_pod_mac(struct netstate_endpoint *ep)
{
	char ip[IPNET_ADDR_STRLEN], *list = NULL;
	size_t i;

	if (!ep->n_ips || fw_ebt_list("nat", "PREROUTING", &list, NULL) < 0)
		return;
	for (i = 0; !ep->has_mac && i < ep->n_ips; i++)
		if (ebt_find(list, ebt_dst_key(&ep->ips[i].addr),
			     ipnet_addr_format(&ep->ips[i].addr, ip, sizeof(ip)), "--to-dst", ep->mac))
			ep->has_mac = true;
	for (i = 0; !ep->has_mac && i < ep->n_ips; i++)
		if (ep->ips[i].addr.family == IPNET_AF_INET &&
		    ebt_find(list, "--arp-ip-dst",
			     ipnet_addr_format(&ep->ips[i].addr, ip, sizeof(ip)), "--arpreply-mac",
			     ep->mac))
			ep->has_mac = true;
	free(list);
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

/* Does the network have IPv6 (dual-stack, or an IPv6-only NIC)? */
static bool ni_has_v6(const struct netinfo *ni)
{
	return ni->subnet6.addr.family == IPNET_AF_INET6 ||
	       ni->subnet.addr.family == IPNET_AF_INET6;
}

/* Bridge mode, IPv4: the ARP reply for the VM's primary IPv4 @prim with the NIC's MAC,
 * installed when @add, else removed (best effort). */
static int ebt_primary_arp(struct vnet *v, const struct ipnet_addr *prim, bool add,
			   struct cni_error *err)
{
	char mac[18], ip[IPNET_ADDR_STRLEN];

	mac_format(v->ni.nic_mac, MAC_COLON_LOWER, mac, sizeof(mac));
	ipnet_addr_format(prim, ip, sizeof(ip));
	return ebt_rule(add, "nat", "PREROUTING",
			(const char *const[]){ "-p", "ARP", "--arp-op", "Request", "--arp-ip-dst",
					       ip, "-j", "arpreply", "--arpreply-mac", mac,
					       "--arpreply-target", "DROP", NULL }, err);
}

/* Bridge mode, IPv6: neighbour solicitations are not forwarded out of the NIC (ACN
 * DropICMPv6Solicitation): a pod's would carry its own MAC, which the fabric does not know;
 * pods reach all of IPv6 through the gateway's permanent neighbour instead (bridged_pod).
 * Installed when @add, else removed (best effort). */
static int ebt_ns_drop(struct vnet *v, bool add, struct cni_error *err)
{
	return ebt_rule(add, "filter", "FORWARD",
			(const char *const[]){ "-p", "IPv6", "-o", v->ni.master, "--ip6-proto",
					       "ipv6-icmp", "--ip6-icmp-type",
					       "neighbour-solicitation", "-j", "DROP", NULL }, err);
}

/* The network-wide ebtables rules of bridge mode (ACN ebtables/ebtables.go): installed when
 * @add, else removed (best effort, every rule tried); with IPv6 also ebt_ns_drop. */
static int ebt_network(struct vnet *v, bool add, struct cni_error *err)
{
	const struct netinfo *ni = &v->ni;
	char mac[18], vmac[18];
	int r;

	mac_format(ni->nic_mac, MAC_COLON_LOWER, mac, sizeof(mac));
	mac_format(vepa_mac, MAC_COLON_LOWER, vmac, sizeof(vmac));
	r = ebt_rule(add, "nat", "POSTROUTING",
		     (const char *const[]){ "-s", "Unicast", "-o", ni->master, "-j", "snat",
					    "--to-src", mac, "--snat-arp", "--snat-target",
					    "ACCEPT", NULL }, err);
	if (r >= 0 && ni->primary.family == IPNET_AF_INET)
		r = ebt_primary_arp(v, &ni->primary, add, err);
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
	if (r >= 0 && ni_has_v6(ni))
		r = ebt_ns_drop(v, add, err);
	if (r >= 0)
		r = ebt_route_via_host(v, add, err);
	return r < 0 ? r : 0;
}

/* ---- the master NIC ---- */

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

/* A link other than bridge @br, and not a bridge, holding one of @br's global addresses in
 * @subnet (@addrs, @n: the node's IPv4 addresses): the NIC whose addresses a killed ADD had
 * copied onto the bridge before enslaving the NIC. Returns its ifindex, 0 when none. */
static int address_twin(struct netdev *nd, const struct netdev_addr *addrs, int n, int br,
			const struct ipnet_prefix *subnet, struct cni_error *err)
{
	struct netdev_link l;
	int i, j, r;

	for (i = 0; i < n; i++) {
		if (addrs[i].ifindex != br || addrs[i].scope != RT_SCOPE_UNIVERSE ||
		    !ipnet_prefix_contains(subnet, &addrs[i].prefix.addr))
			continue;
		for (j = 0; j < n; j++) {
			if (addrs[j].ifindex == br ||
			    !ipnet_addr_equal(&addrs[j].prefix.addr, &addrs[i].prefix.addr))
				continue;
			r = netdev_link_get(nd, NULL, addrs[j].ifindex, &l, err);
			if (r < 0)
				return r;
			if (strcmp(l.kind, "bridge") != 0)
				return l.ifindex;
		}
	}
	return 0;
}

/* The link of the default route of @family (0 when none), or negative errno. */
static int default_route_ifindex(struct netdev *nd, int family, struct cni_error *err)
{
	struct netdev_route *routes = NULL;
	int i, m, ifindex = 0;

	m = netdev_route_list(nd, family, 0, 0, &routes, err);
	for (i = 0; i < m; i++)
		if (routes[i].dst.len == 0 && routes[i].ifindex) {
			ifindex = routes[i].ifindex;
			break;
		}
	free(routes);
	return m < 0 ? m : ifindex;
}

/* The link that holds the node's address for pod subnet @subnet: conf.master, else the link
 * with a global address inside @subnet (@addrs, @n: the node's addresses), else the link of
 * the default route of the subnet's family, else of the IPv4 one. Returns its ifindex (> 0) or
 * negative errno: code 7 for a conf.master that does not exist, 103 when there is none. */
static int master_ifindex(struct netdev *nd, const struct conf *conf,
			  const struct ipnet_prefix *subnet, const struct netdev_addr *addrs,
			  int n, struct cni_error *err)
{
	struct netdev_link l;
	int i, r, ifindex = 0;

	if (conf->master[0]) {
		r = netdev_link_get(nd, conf->master, 0, &l, err);
		if (r == -ENODEV)
			return cni_error_set(err, r, CNI_CODE_INVALID_CONFIG,
					     "master interface %s not found", conf->master);
		return r < 0 ? r : l.ifindex;
	}
	for (i = 0; i < n; i++)
		if (addrs[i].scope == RT_SCOPE_UNIVERSE &&
		    ipnet_prefix_contains(subnet, &addrs[i].prefix.addr))
			return addrs[i].ifindex;
	ifindex = default_route_ifindex(nd, subnet->addr.family, err);
	if (ifindex == 0 && subnet->addr.family != IPNET_AF_INET)
		ifindex = default_route_ifindex(nd, IPNET_AF_INET, err);
	if (ifindex < 0)
		return ifindex;
	if (!ifindex)
		return cni_error_set(err, -ENODEV, CNI_CODE_NETWORK,
				     "no master interface: none has an address in the pod subnet "
				     "and there is no default route (set \"master\")");
	return ifindex;
}

/* The primary IP among @addrs (@n) of link @ifindex: its global address inside @subnet, else
 * its first global one of the subnet's family; family 0 when it has none. */
static struct ipnet_addr primary_ip(const struct netdev_addr *addrs, int n, int ifindex,
				    const struct ipnet_prefix *subnet)
{
	struct ipnet_addr none = { 0 };
	int i;

	for (i = 0; i < n; i++)
		if (addrs[i].ifindex == ifindex && addrs[i].scope == RT_SCOPE_UNIVERSE &&
		    ipnet_prefix_contains(subnet, &addrs[i].prefix.addr))
			return addrs[i].prefix.addr;
	for (i = 0; i < n; i++)
		if (addrs[i].ifindex == ifindex && addrs[i].scope == RT_SCOPE_UNIVERSE &&
		    addrs[i].prefix.addr.family == subnet->addr.family)
			return addrs[i].prefix.addr;
	return none;
}

/* The VM's primary address for pod subnet @subnet on the master: on link @addr_if (the one
 * holding the pod subnet's address), else on @nic's bridge master. Family 0 when none. */
static struct ipnet_addr master_primary(const struct netdev_addr *addrs, int n, int addr_if,
					const struct netdev_link *nic,
					const struct ipnet_prefix *subnet)
{
	struct ipnet_addr a = primary_ip(addrs, n, addr_if, subnet);

	if (!a.family && nic->master)
		/* conf.master names a NIC whose bridge holds its addresses */
		a = primary_ip(addrs, n, nic->master, subnet);
	return a;
}

/* The master NIC for the pod addresses @ipres (ips[0] finds it; a dual-stack result's IPv6
 * address is ips[1]) into *ret and v->ni (master, mtu, nic_mac, subnet, primary, and for
 * dual-stack subnet6, primary6). When the link holding the address is a bridge with the NIC
 * enslaved (a bridge-mode network whose state is gone, or a failed one), or a bridge that
 * shares the address with a NIC not yet enslaved (an ADD killed while making the bridge), the
 * NIC is the master and v->ni.bridge names the bridge to adopt. Returns 0 or negative errno
 * (code 103 when the SNAT of a family has no source). */
static int find_master(struct vnet *v, const struct cni_result *ipres, struct netdev_link *ret,
		       struct cni_error *err)
{
	struct netdev *nd = v->be->host;
	struct ipnet_prefix subnet = ipnet_prefix_network(&ipres->ips[0].address);
	struct netdev_addr *addrs = NULL;
	int n, addr_if, r;

	n = netdev_addr_list(nd, 0, 0, &addrs, err);
	if (n < 0)
		return n;
	r = addr_if = master_ifindex(nd, v->conf, &subnet, addrs, n, err);
	if (r > 0)
		r = netdev_link_get(nd, NULL, addr_if, ret, err);
	if (r >= 0 && strcmp(ret->kind, "bridge") == 0) {
		r = bridge_port(nd, ret, err);
		if (r == 0)
			r = address_twin(nd, addrs, n, ret->ifindex, &subnet, err);
		if (r > 0) {
			snprintf(v->ni.bridge, sizeof(v->ni.bridge), "%s", ret->name);
			r = netdev_link_get(nd, NULL, r, ret, err);
		}
	}
	if (r < 0)
		goto out;
	snprintf(v->ni.master, sizeof(v->ni.master), "%s", ret->name);
	v->ni.mtu = ret->mtu;
	memcpy(v->ni.nic_mac, ret->mac, 6);
	v->ni.subnet = subnet;
	v->ni.primary = master_primary(addrs, n, addr_if, ret, &subnet);
	if (ipres->n_ips > 1 && subnet.addr.family == IPNET_AF_INET &&
	    ipres->ips[1].address.addr.family == IPNET_AF_INET6) {
		v->ni.subnet6 = ipnet_prefix_network(&ipres->ips[1].address);
		v->ni.primary6 = master_primary(addrs, n, ret->ifindex, ret, &v->ni.subnet6);
	}
	r = 0;
	if (!v->ni.primary.family && v->conf->outbound_snat)
		r = cni_error_set(err, -EADDRNOTAVAIL, CNI_CODE_NETWORK,
				  "master %s has no %s address for the outbound SNAT", ret->name,
				  subnet.addr.family == IPNET_AF_INET6 ? "IPv6" : "IPv4");
	else if (v->ni.subnet6.addr.family && !v->ni.primary6.family && v->conf->outbound_snat)
		r = cni_error_set(err, -EADDRNOTAVAIL, CNI_CODE_NETWORK,
				  "master %s has no IPv6 address for the outbound SNAT", ret->name);
out:
	free(addrs);
	return r;
}

/* The MTU of the recorded master, 0 (kernel default) when it cannot be read. */
static unsigned master_mtu(struct vnet *v)
{
	struct netdev_link m;

	if (v->ni.master[0] && netdev_link_get(v->be->host, v->ni.master, 0, &m, NULL) == 0)
		return m.mtu;
	return 0;
}

/* ---- the bridge (bridge and tunnel mode) ---- */

/* br_netfilter: load it when the sysctl is missing; tolerate its absence. With @v6 also
 * bridge-nf-call-ip6tables (the IPv6 SNAT of bridged pod traffic). */
static void bridge_nf(struct netdev *nd, bool v6)
{
	const char *const modprobe[] = { "modprobe", "br_netfilter", NULL };
	int r;

	r = netdev_sysctl_write(nd, "net/bridge/bridge-nf-call-iptables", "1", NULL);
	if (r == -ENOENT) {
		fw_exec(modprobe, NULL, 0, NULL);
		r = netdev_sysctl_write(nd, "net/bridge/bridge-nf-call-iptables", "1", NULL);
	}
	if (r >= 0 && v6)
		r = netdev_sysctl_write(nd, "net/bridge/bridge-nf-call-ip6tables", "1", NULL);
	if (r < 0)
		platform_log("warning: cannot set bridge-nf-call-iptables=1 (%s): bridged pod "
			     "traffic will bypass the outbound SNAT", platform_errno_text(-r));
}

/* Name v->ni.bridge (the adopted one, else conf.bridge, else azure<ifindex of @nic>) and make
 * sure it exists (*ret_created: this call made it, with the NIC's MAC). Returns 0 or negative
 * errno. */
static int bridge_make(struct vnet *v, const struct netdev_link *nic, bool *ret_created,
		       struct cni_error *err)
{
	struct netinfo *ni = &v->ni;
	struct netdev_link br;
	int r;

	*ret_created = false;
	if (!ni->bridge[0])
		snprintf(ni->bridge, sizeof(ni->bridge), "%s", v->conf->bridge);
	if (!ni->bridge[0])
		snprintf(ni->bridge, sizeof(ni->bridge), "azure%d", nic->ifindex);
	if (strcmp(ni->bridge, nic->name) == 0)
		return cni_error_set(err, -EINVAL, CNI_CODE_NETWORK,
				     "the master interface %s is the bridge itself and has no port "
				     "to adopt (set \"master\")", nic->name);
	r = netdev_link_get(v->be->host, ni->bridge, 0, &br, err);
	if (r == 0 && strcmp(br.kind, "bridge") != 0)
		return cni_error_set(err, -EEXIST, CNI_CODE_NETWORK,
				     "%s exists and is not a bridge", ni->bridge);
	if (r != -ENODEV)
		return r;
	r = netdev_bridge_create(v->be->host, ni->bridge, ni->nic_mac, err);
	if (r < 0)
		return r;
	*ret_created = true;
	return 0;
}

static bool extif_has_ip(const struct netstate_extif *x, const struct ipnet_prefix *p)
{
	size_t i;

	for (i = 0; i < x->n_ips; i++)
		if (x->ips[i].len == p->len && ipnet_addr_equal(&x->ips[i].addr, &p->addr))
			return true;
	return false;
}

/* Record route @rt in @x->routes with device @dev, unless a route to the same destination
 * through the same gateway with the same metric is there. */
static void extif_route_put(struct netstate_extif *x, const struct netdev_route *rt,
			    const char *dev)
{
	struct netstate_route *s;
	size_t i;

	for (i = 0; i < x->n_routes; i++) {
		s = &x->routes[i];
		if (s->dst.len == rt->dst.len && ipnet_addr_equal(&s->dst.addr, &rt->dst.addr) &&
		    ipnet_addr_equal(&s->gw, &rt->gw) && s->priority == (int)rt->priority)
			return;
	}
	if (x->n_routes == NETSTATE_MAX_ROUTES)
		return;
	s = &x->routes[x->n_routes++];
	memset(s, 0, sizeof(*s));
	s->dst = rt->dst, s->gw = rt->gw, s->src = rt->src;
	s->protocol = rt->protocol, s->scope = rt->scope;
	s->priority = (int)rt->priority;
	s->table = rt->table ? rt->table : RT_TABLE_MAIN;  /* Go's netlink.Route reads rtm_table */
	s->link_index = rt->ifindex;
	snprintf(s->dev, sizeof(s->dev), "%s", dev);
}

static struct netdev_route route_of(const struct netstate_route *s, int ifindex)
{
	return (struct netdev_route){ .dst = s->dst, .gw = s->gw, .src = s->src,
				      .ifindex = ifindex, .scope = s->scope, .table = s->table,
				      .protocol = s->protocol, .priority = (unsigned)s->priority };
}

/* What the NIC had before it went into bridge @br, into @x (ips; routes with the NIC as their
 * device), as the record keeps it for bridge_restore and the Go plugin: the NIC's global
 * addresses and non-kernel routes, then those of the bridge the NIC lacks (a killed ADD had
 * moved them; the bridge is the network's, so its addresses are the NIC's). */
static int bridge_gather(struct vnet *v, const struct netdev_link *nic,
			 const struct netdev_link *br, struct netstate_extif *x,
			 struct cni_error *err)
{
	struct netdev_addr *addrs = NULL;
	struct netdev_route *routes = NULL;
	int na, nr, i, k, link;

	x->n_ips = x->n_routes = 0;
	na = netdev_addr_list(v->be->host, 0, 0, &addrs, err);
	if (na < 0)
		return na;
	nr = netdev_route_list(v->be->host, 0, 0, 0, &routes, err);
	if (nr < 0) {
		free(addrs);
		return nr;
	}
	for (k = 0; k < 2; k++) {
		link = k == 0 ? nic->ifindex : br->ifindex;
		for (i = 0; i < na; i++)
			if (addrs[i].ifindex == link && addrs[i].scope == RT_SCOPE_UNIVERSE &&
			    !extif_has_ip(x, &addrs[i].prefix) && x->n_ips < NETSTATE_MAX_IPS)
				x->ips[x->n_ips++] = addrs[i].prefix;
		for (i = 0; i < nr; i++)
			if (routes[i].ifindex == link && routes[i].protocol != RTPROT_KERNEL)
				extif_route_put(x, &routes[i], nic->name);
	}
	free(addrs);
	free(routes);
	return 0;
}

/* Take the NIC's global addresses (@addrs, @na: listed before it was enslaved) off it, then
 * what is left of its non-kernel routes (with its last IPv4 address the kernel drops its IPv4
 * routes, in the same request; IPv6 routes stay). *moved is set when something was there. */
static int nic_strip(struct vnet *v, const struct netdev_link *nic,
		     const struct netdev_addr *addrs, int na, bool *moved, struct cni_error *err)
{
	struct netdev *nd = v->be->host;
	struct netdev_route *routes = NULL;
	int nr = 0, i, r = 0;

	for (i = 0; r >= 0 && i < na; i++) {
		if (addrs[i].scope != RT_SCOPE_UNIVERSE)
			continue;
		r = netdev_addr_del(nd, nic->ifindex, &addrs[i].prefix, err);
		*moved |= r == 0;
		/* deleting a primary IPv4 address deletes its secondaries */
		if (r == -EADDRNOTAVAIL || r == -ENOENT)
			r = 0;
	}
	if (r >= 0)
		r = nr = netdev_route_list(nd, 0, 0, nic->ifindex, &routes, err);
	for (i = 0; r >= 0 && i < nr; i++) {
		if (routes[i].protocol == RTPROT_KERNEL)
			continue;
		r = netdev_route_del(nd, &routes[i], err);
		*moved |= r == 0;
		if (r == -ESRCH)
			r = 0;
	}
	free(routes);
	return r < 0 ? r : 0;
}

/* Undo bridge_setup (best effort) in an order that, like bridge_setup's, keeps each address and
 * route on the NIC or the bridge, with a link under the route first in use (a kill in between
 * leaves a state bridge_setup finishes): the addresses in @x back on the NIC, then its routes
 * (appended after the bridge's), then the bridge deleted (which frees the NIC; its addresses
 * and routes go with it). */
static void bridge_restore(struct vnet *v, const struct netstate_extif *x)
{
	struct netdev *nd = v->be->host;
	struct netdev_link nic;
	size_t i;

	if (netdev_link_get(nd, v->ni.master, 0, &nic, NULL) == 0) {
		for (i = 0; i < x->n_ips; i++)
			netdev_addr_add(nd, nic.ifindex, &x->ips[i], NULL);
		for (i = 0; i < x->n_routes; i++) {
			struct netdev_route rt = route_of(&x->routes[i], nic.ifindex);

			netdev_route_append(nd, &rt, NULL);
		}
	}
	netdev_link_delete(nd, v->ni.bridge, NULL);
	netdev_link_set_master(nd, v->ni.master, NULL, NULL);
	netdev_link_set_up(nd, v->ni.master, true, NULL);
}

/* Bridge mode: the NIC a port of the bridge (made with the NIC's MAC when absent), the bridge
 * holding the NIC's addresses and routes. Every step keeps each address and route on the NIC or
 * the bridge, and a run killed at any point leaves a state this finishes: the addresses are
 * added to the bridge, then the routes (appended: the NIC's, of the same metric, stay first in
 * use while the bridge has no port), then the NIC is enslaved, and only then stripped. From the
 * enslaving request to the next one, which deletes the NIC's address (with its last IPv4
 * address the kernel drops its IPv4 routes), the node keeps its addresses and routes but has no
 * traffic: the NIC's routes come first and an enslaved NIC receives nothing. @x gets what the NIC had (bridge_gather). *ret_moved is set when this call
 * changed the NIC or the bridge; a bridge found complete is adopted as it is. On failure puts
 * the NIC back when this call changed anything (a half-made bridge is undone whole). */
static int bridge_setup(struct vnet *v, const struct netdev_link *nic, struct netstate_extif *x,
			bool *ret_moved, struct cni_error *err)
{
	struct netdev *nd = v->be->host;
	char text[IPNET_PREFIX_STRLEN];
	struct netdev_addr *addrs = NULL;
	struct netdev_link br;
	bool created, moved = false;
	size_t i;
	int na = 0, r;

	*ret_moved = false;
	r = bridge_make(v, nic, &created, err);
	if (r < 0)
		return r;
	/* The bridge only (best effort, as Go does for its interfaces): "all" would turn router
	 * advertisements off node-wide. */
	sysctl_if(nd, "ipv6", v->ni.bridge, "accept_ra", "0", NULL);
	r = netdev_link_set_up(nd, v->ni.bridge, true, err);
	if (r >= 0)
		r = netdev_link_get(nd, v->ni.bridge, 0, &br, err);
	if (r >= 0)
		r = bridge_gather(v, nic, &br, x, err);
	for (i = 0; r >= 0 && i < x->n_ips; i++) {
		r = netdev_addr_add(nd, br.ifindex, &x->ips[i], NULL);
		moved |= r == 0;
		if (r == -EEXIST)
			r = 0;
		else if (r < 0)
			r = cni_error_set(err, r, CNI_CODE_NETWORK, "add address %s to %s failed",
					  ipnet_prefix_format(&x->ips[i], text, sizeof(text)),
					  br.name);
	}
	for (i = 0; r >= 0 && i < x->n_routes; i++) {
		struct netdev_route rt = route_of(&x->routes[i], br.ifindex);

		r = netdev_route_append(nd, &rt, NULL);
		moved |= r == 0;
		if (r == -EEXIST)
			r = 0;
		else if (r < 0)
			r = cni_error_set(err, r, CNI_CODE_NETWORK, "move route %s to %s failed",
					  ipnet_prefix_format(&rt.dst, text, sizeof(text)),
					  br.name);
	}
	/* listed first, so that only the enslaving request precedes the first deletion */
	if (r >= 0)
		r = na = netdev_addr_list(nd, nic->ifindex, 0, &addrs, err);
	if (r >= 0 && nic->master != br.ifindex) {
		moved = true;
		r = netdev_link_set_master(nd, nic->name, v->ni.bridge, err);
	}
	if (r >= 0)
		r = nic_strip(v, nic, addrs, na, &moved, err);
	if (r >= 0)
		r = netdev_link_set_up(nd, nic->name, true, err);
	if (r >= 0 && !v->conf->disable_hairpin_on_host_interface)
		r = netdev_bridge_port_hairpin(nd, nic->name, true, err);
	free(addrs);
	if (r >= 0)
		*ret_moved = moved || created;
	else if (moved || created)
		bridge_restore(v, x);
	return r;
}

/* ---- the network ---- */

/* Undo what network_create made (SNAT, the network's ebtables rules, the NIC moved into the
 * bridge by this session; @x: the moved addresses and routes). Best effort. */
static void network_unmake(struct vnet *v, const struct netstate_extif *x)
{
	swift_remove(v);
	snat_remove(v);
	if (!v->bridged)
		return;
	ebt_network(v, false, NULL);
	if (v->be->moved_nic)
		bridge_restore(v, x);
	v->be->moved_nic = false;
}

/* Add the network record (and its external interface's fields) to @st: @gw the IPAM gateway,
 * @gw6 the IPv6 one of a dual-stack network (NULL otherwise), @made what the NIC had before
 * the bridge (bridge_setup). Returns 0 or -ENOMEM (code 100; an external interface this call
 * added may stay, empty). */
static int network_record(struct vnet *v, struct netstate *st, const struct ipnet_addr *gw,
			  const struct ipnet_addr *gw6, const struct netstate_extif *made,
			  struct cni_error *err)
{
	struct netstate_network net;
	struct netstate_extif *x;

	memset(&net, 0, sizeof(net));
	snprintf(net.id, sizeof(net.id), "%s", v->conf->name);
	snprintf(net.mode, sizeof(net.mode), "%s", mode_name(v->conf));
	net.n_subnets = 1;
	net.subnets[0].family = v->ni.subnet.addr.family;
	net.subnets[0].prefix = v->ni.subnet;
	net.subnets[0].gateway = *gw;
	net.subnets[0].primary_ip = v->ni.primary;
	if (v->ni.subnet6.addr.family && gw6) {
		/* dual-stack: the IPv6 subnet second, as the Go layout lists them (Family 10) */
		net.n_subnets = 2;
		net.subnets[1].family = IPNET_AF_INET6;
		net.subnets[1].prefix = v->ni.subnet6;
		net.subnets[1].gateway = *gw6;
		net.subnets[1].primary_ip = v->ni.primary6;
	}
	netstate_dns_set(&net.dns, &v->conf->dns);
	x = netstate_extif_get(st, v->ni.master);
	if (!x || !netstate_network_add(x, &net))
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	if (v->bridged) {
		snprintf(x->bridge_name, sizeof(x->bridge_name), "%s", v->ni.bridge);
		memcpy(x->ips, made->ips, sizeof(x->ips));
		x->n_ips = made->n_ips;
		memcpy(x->routes, made->routes, sizeof(x->routes));
		x->n_routes = made->n_routes;
	}
	memcpy(x->mac, v->ni.nic_mac, 6);
	x->has_mac = true;
	if (x->n_subnets < NETSTATE_MAX_SUBNETS)
		x->subnets[x->n_subnets++] = v->ni.subnet;
	if (v->ni.subnet6.addr.family && x->n_subnets < NETSTATE_MAX_SUBNETS)
		x->subnets[x->n_subnets++] = v->ni.subnet6;
	if (gw->family == IPNET_AF_INET)
		x->ipv4_gateway = *gw;
	else if (gw->family == IPNET_AF_INET6)
		x->ipv6_gateway = *gw;
	if (gw6 && gw6->family == IPNET_AF_INET6)
		x->ipv6_gateway = *gw6;
	return 0;
}

/* ---- the endpoint ---- */

/* Remove what endpoint_add made for @ep (NULL: only the host veth is known) with host veth
 * @host_if: the pod's ebtables rules and bridge neighbours (bridge mode), then the veth (its
 * host routes and proxy ARP go with it; the pod end with it). Everything is tried; what is
 * already gone counts as removed. Returns 0 or the first error. */
/* The bridge's permanent neighbour entry for @ip goes only when it is the pod's (@mac): after
 * a failed DEL the address may already belong to another pod, whose entry must stay. */
static int bridge_neigh_del(struct netdev *nd, int ifindex, const struct ipnet_addr *ip,
			    const struct netstate_endpoint *ep, struct cni_error *err)
{
	uint8_t mac[6];
	int state = 0, r;

	r = netdev_neigh_get(nd, ifindex, ip, mac, &state, NULL);
	if (r == -ENOENT || (r == 0 && ep->has_mac && memcmp(mac, ep->mac, 6) != 0))
		return 0;
	return netdev_neigh_del(nd, ifindex, ip, err);
}

static int endpoint_teardown(struct vnet *v, const struct netstate_endpoint *ep,
			     const char *host_if, struct cni_error *err)
{
	struct netdev *nd = v->be->host;
	struct netdev_link br;
	bool have_br;
	size_t i;
	int r = 0, r2;

	if (v->bridged && ep) {
		have_br = v->ni.bridge[0] && netdev_link_get(nd, v->ni.bridge, 0, &br, NULL) == 0;
		for (i = 0; i < ep->n_ips; i++) {
			r2 = ep->has_mac ? ebt_pod(v, &ep->ips[i].addr, ep->mac, false, err) : 0;
			if (r2 < 0 && r >= 0)
				r = r2;
			r2 = have_br && !v->tunnel ?
				bridge_neigh_del(nd, br.ifindex, &ep->ips[i].addr, ep, err) : 0;
			if (r2 < 0 && r >= 0)
				r = r2;
		}
	}
	r2 = host_if[0] ? netdev_link_delete(nd, host_if, err) : 0;
	if (r2 < 0 && r2 != -ENODEV && r >= 0)
		r = r2;
	return r;
}

/* The host end @name: accept_ra off, DAD off (a veth's one peer is the pod: its link-local
 * address is usable at once for the pod's IPv6 neighbour discovery); bridge port with hairpin
 * (bridge mode) or proxy ARP (transparent: net.ipv4.conf.<name>.proxy_arp=1 as the Go plugin
 * writes it); up. Its link into *h. proxy_arp is written to /proc/sys, not sent over netlink
 * (IFLA_AF_SPEC/AF_INET): a setlink that changes an attribute notifies NETDEV_CHANGE, and IPv6
 * then walks every route of the node's table (rt6_sync_down_dev on a link without carrier yet),
 * a cost that grows with the node's pods; the node's net/ipv4 dentries are few. */
static int host_end_setup(struct vnet *v, const char *name, struct netdev_link *h,
			  struct cni_error *err)
{
	struct netdev *nd = v->be->host;
	int r;

	r = netdev_link_get(nd, name, 0, h, err);
	if (r < 0)
		return r;
	sysctl_if(nd, "ipv6", name, "accept_ra", "0", NULL);
	sysctl_if(nd, "ipv6", name, "accept_dad", "0", NULL);
	if (!v->bridged) {
		r = sysctl_if(nd, "ipv4", name, "proxy_arp", "1", err);
		return r < 0 ? r : netdev_link_set_up(nd, name, true, err);
	}
	r = netdev_link_set_master(nd, name, v->ni.bridge, err);
	if (r >= 0)
		r = netdev_link_set_up(nd, name, true, err);
	if (r >= 0)
		r = netdev_bridge_port_hairpin(nd, name, true, err);
	return r;
}

/* The pod end CNI_IFNAME (created in the pod netns under its final name): its MAC into @rec,
 * accept_ra off in bridge and tunnel mode, @rec's addresses, up. Its link into *p.
 * Transparent mode leaves the pod's accept_ra as the kernel sets it (the Go plugin writes 0 in
 * every mode): the pod's one link peer is the host veth, where no router advertisement comes
 * from but the node's own stack, which sends none; and any /proc/sys access in a pod netns
 * leaves a dentry of that netns beside the node's under the one /proc/sys/net dentry, which
 * the node's next /proc/sys/net/ipv6 lookup walks: with 250 pods an ADD's host-veth sysctls
 * cost ~0.25 ms more (README "Differences from the Go plugin"). Bridge and tunnel pods share
 * a segment with other pods and the VNet, so theirs is 0 as Go's. */
static int pod_end_setup(struct vnet *v, struct netstate_endpoint *rec, struct netdev_link *p,
			 struct cni_error *err)
{
	struct netdev *pod = v->be->pod;
	const char *ifname = v->env->ifname;
	size_t i;
	int r;

	r = netdev_link_get(pod, ifname, 0, p, err);
	if (r == -ENODEV)
		r = cni_error_set(err, r, CNI_CODE_NETWORK, "%s vanished from netns %s", ifname,
				  v->env->netns);
	if (r < 0)
		return r;
	memcpy(rec->mac, p->mac, 6);
	rec->has_mac = true;
	if (v->bridged)
		sysctl_if(pod, "ipv6", ifname, "accept_ra", "0", NULL);
	for (i = 0; r >= 0 && i < rec->n_ips; i++)
		r = netdev_addr_add(pod, p->ifindex, &rec->ips[i], err);
	if (r >= 0)
		r = netdev_link_set_up(pod, ifname, true, err);
	return r;
}

/* Transparent, IPv4 in the pod: 169.254.1.1 as a link route, the default route via it, a
 * permanent neighbour 169.254.1.1 -> host veth MAC, and the ipsToRouteViaHost via it. */
static int pod_gateway4(struct vnet *v, const struct netdev_link *h, const struct netdev_link *p,
			struct cni_error *err)
{
	struct netdev *pod = v->be->pod;
	struct ipnet_addr gw4;
	size_t i;
	int r;

	ipnet_addr_parse(GW4_TEXT, &gw4);
	struct netdev_route link = { .dst = { gw4, 32 }, .ifindex = p->ifindex,
				     .scope = RT_SCOPE_LINK };
	struct netdev_route def = { .dst = { .addr.family = IPNET_AF_INET }, .gw = gw4,
				    .ifindex = p->ifindex };

	r = netdev_route_add(pod, &link, err);
	if (r >= 0)
		r = netdev_route_add(pod, &def, err);
	if (r >= 0)
		r = netdev_neigh_set(pod, p->ifindex, &gw4, h->mac, err);
	for (i = 0; r >= 0 && i < v->conf->n_ips_to_route_via_host; i++) {
		struct netdev_route via = { .gw = gw4, .ifindex = p->ifindex };

		if (ipnet_addr_parse(v->conf->ips_to_route_via_host[i], &via.dst.addr) < 0 ||
		    via.dst.addr.family != IPNET_AF_INET)
			continue;
		via.dst.len = 32;
		r = netdev_route_add(pod, &via, err);
		if (r == -EEXIST)
			r = 0;
	}
	return r;
}

/* IPv6 forwarding on in the node's netns (net.ipv6.conf.all.forwarding, as the Go plugin's
 * transparent mode sets it for IPv6), once: read first, so an ADD writes nothing when it is on.
 * A forwarding node ignores router advertisements on interfaces with accept_ra 1, and the VM
 * learns its own IPv6 default route from them: the master's accept_ra 1 becomes 2 (accept
 * them while forwarding) before forwarding is turned on. */
static int ipv6_forwarding(struct vnet *v, struct cni_error *err)
{
	struct netdev *nd = v->be->host;
	char val[16] = "", key[128];

	if (netdev_sysctl_read(nd, "net/ipv6/conf/all/forwarding", val, sizeof(val), NULL) == 0 &&
	    strcmp(val, "1") == 0)
		return 0;
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/accept_ra", v->ni.master);
	if (v->ni.master[0] && netdev_sysctl_read(nd, key, val, sizeof(val), NULL) == 0 &&
	    strcmp(val, "1") == 0)
		netdev_sysctl_write(nd, key, "2", NULL);
	return netdev_sysctl_write(nd, "net/ipv6/conf/all/forwarding", "1", err);
}

/* IPv6 in the pod: a permanent neighbour fe80::1234:5678:9abc -> @mac and the default route
 * via it (the Go plugin's IPv6 gateway, defaultV6HostGw in ACN
 * network/bridge_endpointclient_linux.go); IPv6 forwarding on the node. @mac: the host veth's
 * (transparent), or Azure's gateway MAC 12:34:56:78:9a:bc (bridge/tunnel, ACN
 * defaultHostGwMac). */
static int pod_gateway6(struct vnet *v, const uint8_t mac[6], const struct netdev_link *p,
			struct cni_error *err)
{
	struct ipnet_addr gw6;
	int r;

	ipnet_addr_parse(GW6_TEXT, &gw6);
	struct netdev_route def6 = { .dst = { .addr.family = IPNET_AF_INET6 }, .gw = gw6,
				     .ifindex = p->ifindex };

	r = netdev_neigh_set(v->be->pod, p->ifindex, &gw6, mac, err);
	if (r >= 0)
		r = netdev_route_add(v->be->pod, &def6, err);
	if (r >= 0)
		r = ipv6_forwarding(v, err);
	return r;
}

static bool attachment_owner(const struct netdev_link *h, const char *network,
			     struct backend_attachment *a);

/* A host route to @want's address (host length) is there though the IPAM gave the address to
 * this owner: when it goes via a veth tagged by another owner of this network whom the
 * orchestrator proves gone (call->owner_gone: no record, no address, no call running), that
 * veth is a leftover (a pod whose DEL never came and whose address a GC released): remove it,
 * and its routes with it. Anything else (another network's veth, an untagged one, the
 * operator's) stays and the ADD fails as before. Returns 0 when it was removed (the caller
 * adds its route again), else -EEXIST, or owner_gone's -ENOMEM, with the error set. */
static int host_route_take(struct vnet *v, const struct netdev_route *want, struct cni_error *err)
{
	const struct backend_call *call = v->call;
	struct netdev *nd = v->be->host;
	struct backend_attachment a;
	struct netdev_route *rt = NULL;
	struct netdev_link l;
	char buf[IPNET_ADDR_STRLEN];
	int n, i, dev = 0, gone;

	n = netdev_route_list(nd, want->dst.addr.family, 0, 0, &rt, NULL);
	for (i = 0; i < n; i++)
		if (rt[i].dst.len == want->dst.len && ipnet_addr_equal(&rt[i].dst.addr, &want->dst.addr))
			dev = rt[i].ifindex;
	free(rt);
	ipnet_addr_format(&want->dst.addr, buf, sizeof(buf));
	memset(&a, 0, sizeof(a));
	gone = dev && dev != want->ifindex && netdev_link_get(nd, NULL, dev, &l, NULL) == 0 &&
	       strcmp(l.kind, "veth") == 0 && attachment_owner(&l, call->conf->name, &a) &&
	       a.this_network && call->owner_gone ?
		       call->owner_gone(call->owner_arg, a.container_id, a.ifname, err) : 0;
	if (gone < 0)
		return gone;
	if (!gone)
		return cni_error_set(err, -EEXIST, CNI_CODE_NETWORK,
				     "a host route to %s (the pod's address) exists via another link",
				     buf);
	platform_log("%s: removing %s (%s), a gone owner's leftover that still routes %s",
		     v->env->container_id, l.name, l.alias, buf);
	i = netdev_link_delete(nd, l.name, err);
	return i == -ENODEV ? 0 : i;
}

static bool has_family(const struct netstate_endpoint *rec, int family)
{
	for (size_t i = 0; i < rec->n_ips; i++)
		if (rec->ips[i].addr.family == family)
			return true;
	return false;
}

/* Transparent mode: everything goes through the host. Per pod address, the kernel's subnet
 * route in the pod is dropped and a host route /32 (/128) via the host veth added; then the
 * pod's gateways. */
static int transparent_routes(struct vnet *v, const struct netstate_endpoint *rec,
			      const struct netdev_link *h, const struct netdev_link *p,
			      struct cni_error *err)
{
	bool v4 = false, v6 = false;
	size_t i;
	int r = 0;

	for (i = 0; r >= 0 && i < rec->n_ips; i++) {
		const struct ipnet_prefix *ip = &rec->ips[i];
		int bits = ipnet_addr_len(&ip->addr) * 8;
		struct netdev_route sub = { .dst = ipnet_prefix_network(ip), .ifindex = p->ifindex };
		struct netdev_route host = { .dst = { ip->addr, bits }, .ifindex = h->ifindex };
		struct cni_error rerr = { 0 };

		if (ip->len < bits)
			netdev_route_del(v->be->pod, &sub, NULL);
		r = netdev_route_add(v->be->host, &host, &rerr);
		if (r == -EEXIST) {
			memset(&rerr, 0, sizeof(rerr));
			r = host_route_take(v, &host, &rerr);
			if (r >= 0)
				r = netdev_route_add(v->be->host, &host, &rerr);
		}
		if (r < 0 && err && !cni_error_is_set(err))
			*err = rerr;
		if (ip->addr.family == IPNET_AF_INET)
			v4 = true;
		else
			v6 = true;
	}
	if (r >= 0 && v4)
		r = pod_gateway4(v, h, p, err);
	if (r >= 0 && v6)
		r = pod_gateway6(v, h->mac, p, err);
	return r;
}

/* Bridge/tunnel, IPv6 in the pod: the kernel's on-link route of each IPv6 address goes (a pod
 * may not solicit its VNet neighbours: ebt_network drops that at the NIC), and all of IPv6
 * goes through Azure's gateway, a permanent neighbour to its MAC (pod_gateway6): to other
 * VMs, to the node's own addresses and to the pods of this VM alike, which the fabric hands
 * back to the NIC's MAC and the pods' MAC DNAT to them. */
static int bridged_pod6(struct vnet *v, const struct netstate_endpoint *rec,
			const struct netdev_link *p, struct cni_error *err)
{
	size_t i;

	for (i = 0; i < rec->n_ips; i++) {
		const struct ipnet_prefix *ip = &rec->ips[i];
		struct netdev_route sub = { .dst = ipnet_prefix_network(ip), .ifindex = p->ifindex };

		if (ip->addr.family == IPNET_AF_INET6 && ip->len < 128)
			netdev_route_del(v->be->pod, &sub, NULL);
	}
	return pod_gateway6(v, vepa_mac, p, err);
}

/* Bridge/tunnel mode: the IPAM's IPv4 routes in the pod (@ipres), IPv6 through the gateway
 * (bridged_pod6), the bridge's permanent neighbour pod IP -> pod MAC of each address (bridge
 * mode; the node reaches its pods without soliciting) and the pod's ebtables rules. */
static int bridged_pod(struct vnet *v, const struct cni_result *ipres,
		       const struct netstate_endpoint *rec, const struct netdev_link *p,
		       struct cni_error *err)
{
	struct netdev_link br;
	size_t i;
	int r = 0;

	for (i = 0; r >= 0 && i < ipres->n_routes; i++) {
		struct netdev_route rt = { .dst = ipres->routes[i].dst, .gw = ipres->routes[i].gw,
					   .ifindex = p->ifindex };

		if (rt.dst.addr.family != IPNET_AF_INET)
			continue;
		r = netdev_route_add(v->be->pod, &rt, err);
		if (r == -EEXIST)
			r = 0;
	}
	if (r >= 0 && has_family(rec, IPNET_AF_INET6))
		r = bridged_pod6(v, rec, p, err);
	if (r >= 0 && !v->tunnel) {
		r = netdev_link_get(v->be->host, v->ni.bridge, 0, &br, err);
		for (i = 0; r >= 0 && i < rec->n_ips; i++)
			r = netdev_neigh_set(v->be->host, br.ifindex, &rec->ips[i].addr, rec->mac,
					     err);
	}
	for (i = 0; r >= 0 && i < rec->n_ips; i++)
		r = ebt_pod(v, &rec->ips[i].addr, rec->mac, true, err);
	return r;
}

/* ---- CHECK ----
 * The kernel's side of an attachment, one small validator per object; each returns 0, -ENOENT
 * with code 106 naming what is missing (cni_error_check_fail), or another negative errno when it
 * could not look. */

struct check {
	struct vnet v;
	const struct netstate_endpoint *rec;
	struct netdev_link h;              /* host veth (check_host_link) */
	struct netdev_link p;              /* pod interface (check_pod_link) */
	struct netdev_link br;             /* the bridge (check_bridge_port) */
	struct netdev_route *routes;       /* the pod interface's IPv4 routes (pod_routes) */
	int n_routes;
	bool have_routes;
};

/* The pod interface's IPv4 routes, listed once per CHECK into c->routes. */
static int pod_routes(struct check *c, struct cni_error *err)
{
	int m;

	if (c->have_routes)
		return 0;
	m = netdev_route_list(c->v.be->pod, IPNET_AF_INET, 0, c->p.ifindex, &c->routes, err);
	if (m < 0)
		return m;
	c->n_routes = m;
	c->have_routes = true;
	return 0;
}

static int check_host_link(struct check *c, struct cni_error *err)
{
	int r = netdev_link_get(c->v.be->host, c->rec->host_ifname, 0, &c->h, err);

	if (r == -ENODEV)
		return cni_error_check_fail(err, "host interface %s is missing",
					    c->rec->host_ifname);
	return r;
}

static int check_pod_link(struct check *c, struct cni_error *err)
{
	const struct cni_env *env = c->v.env;
	int r = netdev_link_get(c->v.be->pod, env->ifname, 0, &c->p, err);

	if (r == -ENODEV)
		return cni_error_check_fail(err, "interface %s is missing in netns %s", env->ifname,
					    env->netns);
	if (r < 0)
		return r;
	if (!(c->p.flags & IFF_UP))
		return cni_error_check_fail(err, "interface %s in netns %s is down", env->ifname,
					    env->netns);
	return 0;
}

static int check_addresses(struct check *c, struct cni_error *err)
{
	struct netdev_addr *addrs = NULL;
	char buf[IPNET_PREFIX_STRLEN];
	size_t i;
	int n, j, r = 0;

	n = netdev_addr_list(c->v.be->pod, c->p.ifindex, 0, &addrs, err);
	if (n < 0)
		return n;
	for (i = 0; r >= 0 && i < c->rec->n_ips; i++) {
		for (j = 0; j < n; j++)
			if (ipnet_addr_equal(&addrs[j].prefix.addr, &c->rec->ips[i].addr))
				break;
		if (j == n)
			r = cni_error_check_fail(err, "address %s is missing on %s",
						 ipnet_prefix_format(&c->rec->ips[i], buf,
								     sizeof(buf)),
						 c->v.env->ifname);
	}
	free(addrs);
	return r;
}

/* Transparent: 169.254.1.1/32 scope link and the default route via it. */
static int check_transparent_routes(struct check *c, struct cni_error *err)
{
	struct ipnet_addr gw4;
	bool link = false, def = false;
	int j, r;

	if (!has_family(c->rec, IPNET_AF_INET))
		return 0;
	r = pod_routes(c, err);
	if (r < 0)
		return r;
	ipnet_addr_parse(GW4_TEXT, &gw4);
	for (j = 0; j < c->n_routes; j++) {
		if (c->routes[j].dst.len == 32 && ipnet_addr_equal(&c->routes[j].dst.addr, &gw4))
			link = true;
		if (c->routes[j].dst.len == 0 && ipnet_addr_equal(&c->routes[j].gw, &gw4))
			def = true;
	}
	if (!link)
		return cni_error_check_fail(err, "route " GW4_TEXT "/32 dev %s is missing in netns %s",
					    c->v.env->ifname, c->v.env->netns);
	if (!def)
		return cni_error_check_fail(err, "route default via " GW4_TEXT
					    " is missing in netns %s", c->v.env->netns);
	return 0;
}

/* The pod's permanent neighbour @gw_text -> @want, when the pod has an address of @family. */
static int gateway_neighbour(struct check *c, int family, const char *gw_text,
			     const uint8_t want[6], struct cni_error *err)
{
	struct ipnet_addr gw;
	uint8_t mac[6];
	int r, state = 0;

	if (!has_family(c->rec, family))
		return 0;
	ipnet_addr_parse(gw_text, &gw);
	r = netdev_neigh_get(c->v.be->pod, c->p.ifindex, &gw, mac, &state, err);
	if (r == -ENOENT ||
	    (r == 0 && (memcmp(mac, want, 6) != 0 || !(state & NUD_PERMANENT))))
		return cni_error_check_fail(err, "permanent neighbour %s -> %s is missing in %s",
					    gw_text, c->v.bridged ? "the gateway MAC" :
					    "host veth", c->v.env->netns);
	return r;
}

/* Transparent: the pod's permanent neighbour 169.254.1.1 -> host veth MAC. */
static int check_gateway_neighbour(struct check *c, struct cni_error *err)
{
	return gateway_neighbour(c, IPNET_AF_INET, GW4_TEXT, c->h.mac, err);
}

/* IPv6: the default route via fe80::1234:5678:9abc on the pod interface (every mode). */
static int check_routes6(struct check *c, struct cni_error *err)
{
	struct netdev_route *routes = NULL;
	struct ipnet_addr gw6;
	bool def = false;
	int j, m;

	if (!has_family(c->rec, IPNET_AF_INET6))
		return 0;
	m = netdev_route_list(c->v.be->pod, IPNET_AF_INET6, 0, c->p.ifindex, &routes, err);
	if (m < 0)
		return m;
	ipnet_addr_parse(GW6_TEXT, &gw6);
	for (j = 0; j < m; j++)
		if (routes[j].dst.len == 0 && ipnet_addr_equal(&routes[j].gw, &gw6))
			def = true;
	free(routes);
	if (!def)
		return cni_error_check_fail(err, "route default via " GW6_TEXT " dev %s is missing "
					    "in netns %s", c->v.env->ifname, c->v.env->netns);
	return 0;
}

/* IPv6: the pod's permanent neighbour fe80::1234:5678:9abc -> host veth MAC (transparent), or
 * -> Azure's gateway MAC (bridge/tunnel). */
static int check_gateway_neighbour6(struct check *c, struct cni_error *err)
{
	return gateway_neighbour(c, IPNET_AF_INET6, GW6_TEXT, c->v.bridged ? vepa_mac : c->h.mac,
				 err);
}

/* Transparent: a host route to each pod address via the host veth. */
static int check_host_routes(struct check *c, struct cni_error *err)
{
	struct netdev_route *routes = NULL;
	char buf[IPNET_ADDR_STRLEN];
	size_t i;
	int m, j, r = 0;

	m = netdev_route_list(c->v.be->host, 0, 0, c->h.ifindex, &routes, err);
	if (m < 0)
		return m;
	for (i = 0; r >= 0 && i < c->rec->n_ips; i++) {
		for (j = 0; j < m; j++)
			if (ipnet_addr_equal(&routes[j].dst.addr, &c->rec->ips[i].addr))
				break;
		if (j == m)
			r = cni_error_check_fail(err, "host route to %s via %s is missing",
						 ipnet_addr_format(&c->rec->ips[i].addr, buf,
								   sizeof(buf)),
						 c->rec->host_ifname);
	}
	free(routes);
	return r;
}

/* Bridge/tunnel: the host veth is a port of the network's bridge. */
static int check_bridge_port(struct check *c, struct cni_error *err)
{
	int r = netdev_link_get(c->v.be->host, c->v.ni.bridge, 0, &c->br, err);

	if (r == -ENODEV || (r == 0 && c->h.master != c->br.ifindex))
		return cni_error_check_fail(err, "host interface %s is not attached to bridge %s",
					    c->rec->host_ifname, c->v.ni.bridge);
	return r;
}

/* Bridge/tunnel: the recorded (IPAM) IPv4 routes in the pod. */
static int check_bridge_routes(struct check *c, struct cni_error *err)
{
	char buf[IPNET_PREFIX_STRLEN];
	size_t i;
	int j, r;

	r = pod_routes(c, err);
	if (r < 0)
		return r;
	for (i = 0; i < c->rec->n_routes; i++) {
		const struct netstate_route *want = &c->rec->routes[i];

		if (want->dst.addr.family != IPNET_AF_INET)
			continue;
		for (j = 0; j < c->n_routes; j++)
			if (c->routes[j].dst.len == want->dst.len &&
			    ipnet_addr_equal(&c->routes[j].dst.addr, &want->dst.addr) &&
			    (!want->gw.family || ipnet_addr_equal(&c->routes[j].gw, &want->gw)))
				break;
		if (j == c->n_routes)
			return cni_error_check_fail(err, "route %s is missing in netns %s",
						    ipnet_prefix_format(&want->dst, buf,
									sizeof(buf)),
						    c->v.env->netns);
	}
	return 0;
}

/* Bridge mode (not tunnel): the bridge's neighbour pod IP -> pod MAC for each address. */
static int check_bridge_neighbours(struct check *c, struct cni_error *err)
{
	char buf[IPNET_ADDR_STRLEN];
	uint8_t mac[6];
	size_t i;
	int r, state;

	for (i = 0; !c->v.tunnel && i < c->rec->n_ips; i++) {
		const struct ipnet_addr *ip = &c->rec->ips[i].addr;

		r = netdev_neigh_get(c->v.be->host, c->br.ifindex, ip, mac, &state, err);
		if (r == -ENOENT || (r == 0 && memcmp(mac, c->rec->mac, 6) != 0))
			return cni_error_check_fail(err, "neighbour %s -> pod MAC is missing on "
						    "bridge %s",
						    ipnet_addr_format(ip, buf, sizeof(buf)),
						    c->v.ni.bridge);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Bridge/tunnel: the pod's ebtables ARP reply (IPv4) and MAC DNAT (one listing). */
static int check_bridge_ebtables(struct check *c, struct cni_error *err)
{
	char buf[IPNET_ADDR_STRLEN], *list = NULL;
	const uint8_t *reply = c->v.tunnel ? vepa_mac : c->rec->mac;
	uint8_t mac[6];
	size_t i;
	int r;

	r = fw_ebt_list("nat", "PREROUTING", &list, err);
	if (r < 0)
		return r;
	for (i = 0; r >= 0 && i < c->rec->n_ips; i++) {
		const struct ipnet_addr *ip = &c->rec->ips[i].addr;

		ipnet_addr_format(ip, buf, sizeof(buf));
		if (ip->family == IPNET_AF_INET &&
		    (!ebt_find(list, "--arp-ip-dst", buf, "--arpreply-mac", mac) ||
		     memcmp(mac, reply, 6) != 0))
			r = cni_error_check_fail(err, "ebtables ARP reply for %s is missing "
						 "(nat PREROUTING)", buf);
		else if (!ebt_find(list, ebt_dst_key(ip), buf, "--to-dst", mac) ||
			 memcmp(mac, c->rec->mac, 6) != 0)
			r = cni_error_check_fail(err, "ebtables MAC DNAT for %s is missing "
						 "(nat PREROUTING)", buf);
	}
	free(list);
	return r;
}

/* The network's outbound SNAT of each family (when the config wants one and a primary IP is
 * recorded); a family of the pod's addresses the network's record lacks (made before the NIC
 * had it, never extended) has none. */
static int check_snat(struct check *c, struct cni_error *err)
{
	const struct ipnet_prefix *subs[2] = { &c->v.ni.subnet, &c->v.ni.subnet6 };
	const struct ipnet_addr *prims[2] = { &c->v.ni.primary, &c->v.ni.primary6 };
	char buf[IPNET_ADDR_STRLEN];
	int r = 0;

	for (size_t i = 0; c->v.conf->outbound_snat && i < c->rec->n_ips; i++) {
		int family = c->rec->ips[i].addr.family;

		if (subs[0]->addr.family != family && subs[1]->addr.family != family)
			return cni_error_check_fail(err, "outbound SNAT for the pod's %s (%s nat %s) "
						    "is missing: network %s is recorded without an "
						    "%s subnet",
						    family == IPNET_AF_INET6 ? "IPv6" : "IPv4",
						    family == IPNET_AF_INET6 ? "ip6tables" :
						    "iptables", SNAT_CHAIN, c->v.conf->name,
						    family == IPNET_AF_INET6 ? "IPv6" : "IPv4");
	}
	for (int f = 0; r >= 0 && f < 2; f++) {
		if (!c->v.conf->outbound_snat || !prims[f]->family || !subs[f]->addr.family)
			continue;
		r = snat_present(&c->v, subs[f], prims[f], err);
		if (r == 0)
			return cni_error_check_fail(err, "outbound SNAT rule (%s nat %s to %s) is "
						    "missing",
						    prims[f]->family == IPNET_AF_INET6 ? "ip6tables" :
						    "iptables", SNAT_CHAIN,
						    ipnet_addr_format(prims[f], buf, sizeof(buf)));
	}
	return r < 0 ? r : 0;
}

enum check_modes {
	CHECK_TRANSPARENT = 1 << 0,
	CHECK_BRIDGED = 1 << 1,
	CHECK_ANY = CHECK_TRANSPARENT | CHECK_BRIDGED,
};

/* In order: the first finding is the one reported. */
static const struct check_step {
	int (*fn)(struct check *c, struct cni_error *err);
	unsigned modes;                    /* enum check_modes */
} check_steps[] = {
	{ check_host_link, CHECK_ANY },
	{ check_pod_link, CHECK_ANY },
	{ check_addresses, CHECK_ANY },
	{ check_transparent_routes, CHECK_TRANSPARENT },
	{ check_gateway_neighbour, CHECK_TRANSPARENT },
	{ check_routes6, CHECK_ANY },
	{ check_gateway_neighbour6, CHECK_ANY },
	{ check_host_routes, CHECK_TRANSPARENT },
	{ check_bridge_port, CHECK_BRIDGED },
	{ check_bridge_routes, CHECK_BRIDGED },
	{ check_bridge_neighbours, CHECK_BRIDGED },
	{ check_bridge_ebtables, CHECK_BRIDGED },
	{ check_snat, CHECK_ANY },
};

/* ---- backend_ops ---- */

/* Refused before anything is made: an ADD in mode transparent-vlan, or with ipam.type
 * azure-cns in a mode other than transparent (code 7). DEL, CHECK and GC of such a config are
 * let through: nothing of it can exist. */
static int linux_validate(const struct backend_call *call, struct cni_error *err)
{
	const struct conf *c = call->conf;

	if (call->env->command != CNI_CMD_ADD)
		return 0;
	if (c->mode == CONF_MODE_TRANSPARENT_VLAN)
		return cni_error_set(err, -EOPNOTSUPP, CNI_CODE_INVALID_CONFIG,
				     "mode transparent-vlan (CNS multitenancy) is not supported");
	if (strcmp(c->ipam.type, "azure-cns") == 0 && c->mode != CONF_MODE_TRANSPARENT)
		return cni_error_set(err, -EOPNOTSUPP, CNI_CODE_INVALID_CONFIG,
				     "mode \"%s\" with ipam.type azure-cns is not supported (mode "
				     "transparent only)", mode_name(c));
	return 0;
}

static const char *linux_mode(const struct conf *conf)
{
	return mode_name(conf);
}

/* Every mode: IPv4 and IPv6 (dual-stack, or IPv6 alone on an IPv6-only NIC). */
static unsigned linux_families(const struct conf *conf)
{
	(void)conf;
	return IPAM_FAMILY_ANY;
}

static struct backend *linux_close(struct backend *be)
{
	if (!be)
		return NULL;
	netdev_close(be->pod);
	netdev_close(be->host);
	free(be);
	return NULL;
}

/* The node's netns always; the pod's (CNI_NETNS, which must then be set: code 4) with
 * BACKEND_NEED_SANDBOX. */
static int linux_open(const struct backend_call *call, unsigned need, struct backend **ret,
		      struct cni_error *err)
{
	struct backend *be = calloc(1, sizeof(*be));
	int r;

	if (!be)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	be->fw.wait = !call->conf->disable_iptables_lock;
	r = netdev_open(NULL, &be->host, err);
	if (r >= 0 && (need & BACKEND_NEED_SANDBOX)) {
		if (call->env->netns[0])
			r = netdev_open(call->env->netns, &be->pod, err);
		else
			r = cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
					  "CNI_NETNS is required");
	}
	if (r < 0) {
		linux_close(be);
		return r;
	}
	*ret = be;
	return 0;
}

/* Find the master, (bridge mode) move it into the bridge and install the network's ebtables
 * rules, install the SNAT, record. @stale is always NULL (no network_alive). */
static int linux_network_create(struct backend *be, const struct backend_call *call,
				const struct cni_result *ipres, struct netstate *st,
				struct netstate_network *stale, struct cni_error *err)
{
	struct netstate_extif made;
	struct netdev_link nic;
	struct vnet v;
	int r;

	(void)stale;
	if (!ipres->n_ips)
		return cni_error_set(err, -EINVAL, CNI_CODE_INTERNAL,
				     "network_create without a pod address");
	vnet_init(&v, be, call, NULL);
	memset(&made, 0, sizeof(made));
	r = find_master(&v, ipres, &nic, err);
	if (r >= 0)
		r = netdev_sysctl_write(be->host, "net/ipv4/ip_forward", "1", err);
	if (r < 0)
		return r;
	if (v.bridged) {
		r = bridge_setup(&v, &nic, &made, &be->moved_nic, err);
		if (r < 0)
			return r;
		bridge_nf(be->host, ni_has_v6(&v.ni));
		r = ebt_network(&v, true, err);
	}
	if (r >= 0)
		r = snat_install(&v, err);
	if (r >= 0)
		r = swift_install(&v, err);
	if (r >= 0)
		r = network_record(&v, st, &ipres->ips[0].gateway,
				   ipres->n_ips > 1 ? &ipres->ips[1].gateway : NULL, &made, err);
	if (r < 0)
		network_unmake(&v, &made);
	return r;
}

/* The NIC goes back into place only when this session's network_create moved it. */
static void linux_network_undo(struct backend *be, const struct backend_call *call,
			       const struct backend_network *net)
{
	struct vnet v;

	vnet_init(&v, be, call, net);
	network_unmake(&v, &net->extif);
}

/* The enum ipam_family bit of address family @family. */
static unsigned family_bit(int family)
{
	return family == IPNET_AF_INET6 ? IPAM_FAMILY_V6 : IPAM_FAMILY_V4;
}

/* The VM's primary address for pod subnet @subnet on the recorded master, else on its bridge
 * (bridge mode: the bridge holds the node's addresses), into *ret (family 0 when neither has
 * one). Returns 0 or negative errno (code 103). */
static int extend_primary(struct vnet *v, const struct ipnet_prefix *subnet,
			  struct ipnet_addr *ret, struct cni_error *err)
{
	const char *const links[2] = { v->ni.master, v->ni.bridge };
	struct netdev_addr *addrs = NULL;
	struct netdev_link l;
	int n, i;

	memset(ret, 0, sizeof(*ret));
	n = netdev_addr_list(v->be->host, 0, 0, &addrs, err);
	if (n < 0)
		return n;
	for (i = 0; i < 2 && !ret->family; i++)
		if (links[i][0] && netdev_link_get(v->be->host, links[i], 0, &l, NULL) == 0)
			*ret = primary_ip(addrs, n, l.ifindex, subnet);
	free(addrs);
	return 0;
}

/* v->ni with the new family of @s: IPv6 becomes subnet6; IPv4 added to an IPv6-only network
 * becomes subnet, the IPv6 one moving to subnet6 (as vnet_init reads the reordered record). */
static void ni_add_family(struct netinfo *ni, const struct netstate_subnet *s)
{
	if (s->family == IPNET_AF_INET6) {
		ni->subnet6 = s->prefix;
		ni->primary6 = s->primary_ip;
		return;
	}
	ni->subnet6 = ni->subnet;
	ni->primary6 = ni->primary;
	ni->subnet = s->prefix;
	ni->primary = s->primary_ip;
}

/* The node-level pieces of address family @family of network v->ni, installed when @add (on
 * failure what this call installed is removed), else removed (best effort): the family's
 * outbound SNAT (with the config's switch); bridge/tunnel mode, IPv6: bridge-nf-call-ip6tables,
 * the neighbour-solicitation drop; IPv4: the ARP reply for the primary. IPv6 forwarding is
 * turned on with IPv6 and never off (as pod_gateway6). Returns 0 or negative errno. */
static int family_pieces(struct vnet *v, int family, bool add, struct cni_error *err)
{
	const bool v6 = family == IPNET_AF_INET6;
	const struct ipnet_prefix *sub = v6 ? &v->ni.subnet6 : &v->ni.subnet;
	const struct ipnet_addr *prim = v6 ? &v->ni.primary6 : &v->ni.primary;
	int r = 0;

	if (!add) {
		if (v->conf->outbound_snat)
			snat_remove_one(v, sub);
		if (v->bridged && v6)
			ebt_ns_drop(v, false, NULL);
		else if (v->bridged && prim->family)
			ebt_primary_arp(v, prim, false, NULL);
		return 0;
	}
	if (v->conf->outbound_snat)
		r = snat_install_one(v, sub, prim, err);
	if (r >= 0 && v6)
		r = ipv6_forwarding(v, err);
	if (r >= 0 && v->bridged && v6) {
		bridge_nf(v->be->host, true);
		r = ebt_ns_drop(v, true, err);
	} else if (r >= 0 && v->bridged && prim->family) {
		r = ebt_primary_arp(v, prim, true, err);
	}
	if (r < 0)
		family_pieces(v, family, false, NULL);
	return r;
}

/* Subnet @s into network record @net (IPv4 ones first, then IPv6, as the Go layout lists
 * them) and its prefix and gateway into the external interface @x's. */
static void record_family(struct netstate_network *net, struct netstate_extif *x,
			  const struct netstate_subnet *s)
{
	size_t at = net->n_subnets, i;

	if (s->family == IPNET_AF_INET)
		for (at = 0; at < net->n_subnets && net->subnets[at].family == IPNET_AF_INET; at++)
			;
	memmove(&net->subnets[at + 1], &net->subnets[at],
		(net->n_subnets - at) * sizeof(net->subnets[0]));
	net->subnets[at] = *s;
	net->n_subnets++;
	for (i = 0; i < x->n_subnets; i++)
		if (x->subnets[i].len == s->prefix.len &&
		    ipnet_addr_equal(&x->subnets[i].addr, &s->prefix.addr))
			break;
	if (i == x->n_subnets && x->n_subnets < NETSTATE_MAX_SUBNETS)
		x->subnets[x->n_subnets++] = s->prefix;
	if (s->gateway.family == IPNET_AF_INET && !x->ipv4_gateway.family)
		x->ipv4_gateway = s->gateway;
	else if (s->gateway.family == IPNET_AF_INET6 && !x->ipv6_gateway.family)
		x->ipv6_gateway = s->gateway;
}

/* The families of @ipres that @net lacks: each one's subnet (from the pod address), IPAM
 * gateway and the VM's primary on the master (extend_primary: required with the SNAT), its
 * pieces (family_pieces), then the record (record_family). */
static int linux_network_extend(struct backend *be, const struct backend_call *call,
				const struct cni_result *ipres, struct netstate *st,
				struct netstate_network *net, struct cni_error *err)
{
	struct netstate_subnet add[2];
	struct netstate_extif *x = NULL;
	struct backend_network bn;
	char text[IPNET_PREFIX_STRLEN];
	unsigned have = 0;
	size_t i, n = 0, k;
	struct vnet v;
	int r = 0;

	if (netstate_find_network(st, net->id, &x) != net || !x)
		return cni_error_set(err, -EINVAL, CNI_CODE_INTERNAL,
				     "network_extend of a network not in the state");
	backend_network_of(net, x, &bn);
	vnet_init(&v, be, call, &bn);
	for (i = 0; i < net->n_subnets; i++)
		have |= family_bit(net->subnets[i].prefix.addr.family);
	for (i = 0; i < ipres->n_ips && n < 2; i++) {
		const struct cni_ipconfig *ip = &ipres->ips[i];
		struct netstate_subnet *s = &add[n];

		if (have & family_bit(ip->address.addr.family))
			continue;
		have |= family_bit(ip->address.addr.family);
		memset(s, 0, sizeof(*s));
		s->family = ip->address.addr.family;
		s->prefix = ipnet_prefix_network(&ip->address);
		s->gateway = ip->gateway;
		r = extend_primary(&v, &s->prefix, &s->primary_ip, err);
		if (r < 0)
			return r;
		if (!s->primary_ip.family && v.conf->outbound_snat)
			/* bridge mode: the node's addresses live on the bridge */
			return cni_error_set(err, -EADDRNOTAVAIL, CNI_CODE_NETWORK,
					     "network %s gains %s (%s) but its %s %s has no "
					     "%s address for the outbound SNAT", net->id,
					     s->family == IPNET_AF_INET6 ? "IPv6" : "IPv4",
					     ipnet_prefix_format(&s->prefix, text, sizeof(text)),
					     v.ni.bridge[0] ? "bridge" : "master",
					     v.ni.bridge[0] ? v.ni.bridge : v.ni.master,
					     s->family == IPNET_AF_INET6 ? "IPv6" : "IPv4");
		n++;
	}
	if (net->n_subnets + n > NETSTATE_MAX_SUBNETS)
		return cni_error_set(err, -E2BIG, CNI_CODE_INTERNAL,
				     "network %s has too many subnets to add one", net->id);
	for (k = 0; r >= 0 && k < n; k++) {
		ni_add_family(&v.ni, &add[k]);
		r = family_pieces(&v, add[k].family, true, err);
	}
	if (r < 0) {
		/* the failed one removed its own; the ones before it go too */
		for (i = 0; i + 1 < k; i++)
			family_pieces(&v, add[i].family, false, NULL);
		return r;
	}
	for (k = 0; k < n; k++) {
		record_family(net, x, &add[k]);
		platform_log("network %s: the NIC gained %s: subnet %s added", net->id,
			     add[k].family == IPNET_AF_INET6 ? "IPv6" : "IPv4",
			     ipnet_prefix_format(&add[k].prefix, text, sizeof(text)));
	}
	return 0;
}

/* The pieces of @families of the extended record @net go (family_pieces). */
static void linux_network_extend_undo(struct backend *be, const struct backend_call *call,
				      const struct backend_network *net, unsigned families)
{
	struct vnet v;

	vnet_init(&v, be, call, net);
	if (families & IPAM_FAMILY_V6)
		family_pieces(&v, IPNET_AF_INET6, false, NULL);
	if (families & IPAM_FAMILY_V4)
		family_pieces(&v, IPNET_AF_INET, false, NULL);
}

/* Is the sandbox interface @p the pod end of this owner's own host veth (a killed ADD of this
 * owner made the pair and never saved its record)? Then a new attachment may replace it. */
static bool leftover_pod_end(struct backend *be, const struct backend_call *call,
			     const struct netdev_link *p)
{
	const struct veth_owner o = veth_owner_of(call, NULL);
	char tag[NETDEV_IFALIASZ];
	struct netdev_link h;

	if (strcmp(p->kind, "veth") != 0 || p->link <= 0 ||
	    netdev_link_get(be->host, NULL, p->link, &h, NULL) < 0 ||
	    strcmp(h.kind, "veth") != 0 || h.link != p->ifindex || p->link != h.ifindex)
		return false;
	host_veth_tag(&o, tag);
	return strcmp(h.alias, tag) == 0 || host_veth_named_for(&o, &h);
}

static int linux_endpoint_alive(struct backend *be, const struct backend_call *call,
				const struct backend_network *net,
				const struct netstate_endpoint *rec, struct cni_dns *ret_dns,
				bool *ret_has_dns, struct cni_error *err)
{
	const struct cni_env *env = call->env;
	struct netdev_link l;
	int r;

	(void)net;
	(void)ret_dns;
	r = need_sandbox(be, err);
	if (r < 0)
		return r;
	if (rec && rec->host_ifname[0]) {
		r = netdev_link_get(be->host, rec->host_ifname, 0, &l, err);
		if (r == 0)
			r = netdev_link_get(be->pod, env->ifname, 0, &l, err);
		if (r == 0) {
			*ret_has_dns = false;
			return 1;
		}
		if (r != -ENODEV)
			return r;
	}
	r = netdev_link_get(be->pod, env->ifname, 0, &l, err);
	if (r == 0 && leftover_pod_end(be, call, &l))
		return 0;  /* endpoint_add removes the pair with this owner's host veth */
	if (r == 0)
		return cni_error_set(err, -EEXIST, CNI_CODE_NETWORK,
				     "interface %s already exists in netns %s", env->ifname,
				     env->netns);
	return r == -ENODEV ? 0 : r;
}

/* The veth pair "azv<hash>" / CNI_IFNAME with the master's MTU, both ends configured for the
 * network's mode. Fills rec->host_ifname, mac/has_mac and the routes' DevName. */
static int linux_endpoint_add(struct backend *be, const struct backend_call *call,
			      const struct backend_network *net, const struct cni_result *ipres,
			      struct netstate_endpoint *rec, bool *ret_left, struct cni_error *err)
{
	const struct cni_env *env = call->env;
	const struct veth_owner o = veth_owner_of(call, NULL);
	char tag[NETDEV_IFALIASZ];
	struct netdev_link h, p;
	struct vnet v;
	size_t i;
	int r;

	*ret_left = false;
	r = need_sandbox(be, err);
	if (r < 0)
		return r;
	if (!net)
		return cni_error_set(err, -EINVAL, CNI_CODE_INTERNAL,
				     "endpoint_add without a network");
	vnet_init(&v, be, call, net);
	v.ni.mtu = master_mtu(&v);
	for (i = 0; i < rec->n_routes; i++)
		snprintf(rec->routes[i].dev, sizeof(rec->routes[i].dev), "%s", env->ifname);
	/* as Go's Linux record (network/endpoint_linux.go): the netns path in NetworkNameSpace,
	 * SandboxKey empty (it is CNM's) */
	rec->netns_key = NETSTATE_NETNS_KEY_NNS;
	rec->sandbox_key[0] = '\0';
	rec->has_mac = false;
	/* A leftover pair of this owner (a killed earlier ADD) would block CNI_IFNAME. */
	if (netdev_link_get(be->pod, env->ifname, 0, &p, NULL) == 0 &&
	    leftover_pod_end(be, call, &p))
		netdev_link_delete(be->pod, env->ifname, NULL);
	r = host_veth_pick(be->host, &o, rec->host_ifname, sizeof(rec->host_ifname), err);
	if (r < 0)
		return r;
	host_veth_tag(&o, tag);
	r = netdev_veth_create(be->host, rec->host_ifname, v.bridged ? NULL : host_veth_mac,
			       be->pod, env->ifname, v.ni.mtu, err);
	if (r < 0)
		return r;
	r = netdev_link_set_alias(be->host, rec->host_ifname, tag, err);
	if (r >= 0)
		r = host_end_setup(&v, rec->host_ifname, &h, err);
	if (r >= 0)
		r = pod_end_setup(&v, rec, &p, err);
	if (r >= 0)
		r = v.bridged ? bridged_pod(&v, ipres, rec, &p, err) :
				transparent_routes(&v, rec, &h, &p, err);
	if (r < 0)
		endpoint_teardown(&v, rec, rec->host_ifname, NULL);
	return r;
}

/* Bridge mode without a recorded network: the bridge (the config's "bridge", else the Go
 * name "azure<ifindex of the NIC>") and the NIC enslaved to it, into v->ni. Best effort. */
static void unrecorded_bridge(struct vnet *v)
{
	struct netdev_link *l = NULL;
	int n = netdev_link_list(v->be->host, &l, NULL), i, k;
	char name[NETDEV_IFNAMSIZ + 8];

	for (i = 0; i < n; i++) {
		if (!l[i].master || strncmp(l[i].name, "azv", 3) == 0)
			continue;  /* (a pod's host veth is a port too, never the NIC) */
		snprintf(name, sizeof(name), "azure%d", l[i].ifindex);
		for (k = 0; k < n; k++)
			if (l[k].ifindex == l[i].master && strcmp(l[k].kind, "bridge") == 0 &&
			    strcmp(l[k].name, v->conf->bridge[0] ? v->conf->bridge : name) == 0) {
				snprintf(v->ni.bridge, sizeof(v->ni.bridge), "%s", l[k].name);
				snprintf(v->ni.master, sizeof(v->ni.master), "%s", l[i].name);
			}
	}
	free(l);
}

/* The host veth is the record's, else the one host_veth_find finds for the record's owner (GC
 * passes other owners' records: the call's CNI_CONTAINERID is not theirs). In bridge/tunnel
 * mode a pod without a known MAC gets it from its MAC DNAT rule. Without a recorded network only
 * the host veth can be named. @names are unused: Linux endpoints are not named by record ID. */
static int linux_endpoint_del(struct backend *be, const struct backend_call *call,
			      const struct backend_network *net, const struct netstate_endpoint *rec,
			      bool recorded, const char *const *names, size_t n_names,
			      struct cni_error *err)
{
	struct netstate_endpoint pod;
	char host_if[NETSTATE_IFNAME_MAX];
	struct vnet v;

	(void)recorded;
	(void)names;
	(void)n_names;
	if (rec)
		pod = *rec;
	else
		memset(&pod, 0, sizeof(pod));
	vnet_init(&v, be, call, net);
	if (pod.host_ifname[0]) {
		snprintf(host_if, sizeof(host_if), "%s", pod.host_ifname);
	} else {
		const struct veth_owner o = veth_owner_of(call, &pod);

		if (host_veth_find(be->host, &o, host_if, sizeof(host_if), err) < 0)
			return -EADDRINUSE;
	}
	/* Without a recorded network (azure-vnet.json lost or rebuilt) the config's mode and
	 * the bridge found on the node stand in, so a bridge pod's rules and neighbour still go
	 * with it. */
	if (!net && v.bridged)
		unrecorded_bridge(&v);
	if (v.bridged && !pod.has_mac)
		ebt_pod_mac(&pod);
	/* everything it removes is keyed by the pod's address (rules, the bridge neighbour, the
	 * veth that carries the host route): what is left would act for the address's next pod */
	return endpoint_teardown(&v, v.bridged || net ? &pod : NULL, host_if, err) < 0 ?
		       -EADDRINUSE : 0;
}

/* Bridge and tunnel rules are keyed by IP; a network recorded without a mode may have them. */
static bool linux_del_needs_ips(const struct backend_network *net, const struct conf *conf)
{
	const char *mode = net ? net->net.mode : mode_name(conf);

	return !mode[0] || strcmp(mode, "bridge") == 0 || strcmp(mode, "tunnel") == 0;
}

static int linux_endpoint_check(struct backend *be, const struct backend_call *call,
				const struct backend_network *net,
				const struct netstate_endpoint *rec, struct cni_error *err)
{
	struct check c;
	size_t i;
	int r;

	r = need_sandbox(be, err);
	if (r < 0)
		return r;
	if (!net || !rec)
		return cni_error_set(err, -EINVAL, CNI_CODE_INTERNAL,
				     "endpoint_check without a network or a record");
	memset(&c, 0, sizeof(c));
	vnet_init(&c.v, be, call, net);
	c.rec = rec;
	for (i = 0; r >= 0 && i < sizeof(check_steps) / sizeof(check_steps[0]); i++)
		if (check_steps[i].modes & (c.v.bridged ? CHECK_BRIDGED : CHECK_TRANSPARENT))
			r = check_steps[i].fn(&c, err);
	free(c.routes);
	return r < 0 ? r : 0;
}

/* interfaces[0] the host veth (MAC read from the kernel), interfaces[1] the pod interface with
 * the recorded MAC and its sandbox; returns 1. */
static int linux_result_interfaces(struct backend *be, const struct backend_call *call,
				   const struct netstate_endpoint *rec, struct cni_result *ret)
{
	struct cni_iface *host = &ret->interfaces[0], *pod = &ret->interfaces[1];
	const struct cni_env *env = call->env;
	struct netdev_link h;

	memset(host, 0, sizeof(*host));
	memset(pod, 0, sizeof(*pod));
	snprintf(host->name, sizeof(host->name), "%s", rec->host_ifname);
	if (be && be->host && rec->host_ifname[0] &&
	    netdev_link_get(be->host, rec->host_ifname, 0, &h, NULL) == 0)
		mac_format(h.mac, MAC_COLON_LOWER, host->mac, sizeof(host->mac));
	snprintf(pod->name, sizeof(pod->name), "%s", env->ifname[0] ? env->ifname : rec->ifname);
	if (rec->has_mac)
		mac_format(rec->mac, MAC_COLON_LOWER, pod->mac, sizeof(pod->mac));
	snprintf(pod->sandbox, sizeof(pod->sandbox), "%s",
		 env->netns[0] ? env->netns : netstate_endpoint_netns(rec));
	ret->n_interfaces = 2;
	return 1;
}

/* Host veth @h's owner from its tag (host_veth_tag's form) into @a; false when @h is not
 * tagged by us. this_network when the tag's hash is of (network @network, the named owner):
 * a tag cut short (a container ID past its 180 bytes) proves nothing. */
static bool attachment_owner(const struct netdev_link *h, const char *network,
			     struct backend_attachment *a)
{
	static const char pfx[] = "azure-vnet ";
	const char *hash = h->alias + sizeof(pfx) - 1, *owner, *slash;
	char hex[41];

	if (strncmp(h->alias, pfx, sizeof(pfx) - 1) != 0 || strlen(hash) < 42 || hash[40] != ' ')
		return false;
	owner = hash + 41;
	slash = strrchr(owner, '/');
	if (!slash || slash == owner || (size_t)(slash - owner) >= sizeof(a->container_id) ||
	    strlen(slash + 1) >= sizeof(a->ifname))
		return false;
	snprintf(a->container_id, sizeof(a->container_id), "%.*s", (int)(slash - owner), owner);
	snprintf(a->ifname, sizeof(a->ifname), "%s", slash + 1);
	const struct veth_owner o = { network, a->container_id, a->ifname };

	veth_owner_hash(&o, -1, hex);
	a->this_network = strncmp(hex, hash, 40) == 0;
	return true;
}

/* The host routes (/32, /128) of main-table list @rt (@n) via @ifindex into @a. */
static void attachment_ips(const struct netdev_route *rt, int n, int ifindex,
			   struct backend_attachment *a)
{
	for (int i = 0; i < n && a->n_ips < NETSTATE_MAX_IPS; i++)
		if (rt[i].ifindex == ifindex && !rt[i].gw.family &&
		    rt[i].dst.len == ipnet_addr_len(&rt[i].dst.addr) * 8)
			a->ips[a->n_ips++] = rt[i].dst.addr;
}

/* Tagged host veths (owner from the tag) and untagged "azv" veths (an earlier version's or the
 * Go plugin's: owner ""), with the host routes via each. */
static int linux_attachments(struct backend *be, const struct backend_call *call,
			     struct backend_attachment **ret, size_t *ret_n, struct cni_error *err)
{
	struct backend_attachment *out = NULL;
	struct netdev_link *links = NULL;
	struct netdev_route *rt = NULL;
	int nl, nr, i;
	size_t n = 0;

	nl = netdev_link_list(be->host, &links, err);
	nr = nl < 0 ? nl : netdev_route_list(be->host, 0, 0, 0, &rt, err);
	if (nr >= 0 && nl > 0 && !(out = calloc((size_t)nl, sizeof(*out))))
		nr = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	for (i = 0; nr >= 0 && i < nl; i++) {
		struct backend_attachment *a = &out[n];

		if (strcmp(links[i].kind, "veth") != 0)
			continue;
		memset(a, 0, sizeof(*a));
		if (!attachment_owner(&links[i], call->conf->name, a) &&
		    (links[i].alias[0] || strncmp(links[i].name, "azv", 3) != 0))
			continue;
		snprintf(a->host_ifname, sizeof(a->host_ifname), "%s", links[i].name);
		attachment_ips(rt, nr, links[i].ifindex, a);
		n++;
	}
	free(links);
	free(rt);
	if (nr < 0) {
		free(out);
		return nr;
	}
	if (!n) {
		free(out);
		out = NULL;
	}
	*ret = out;
	*ret_n = n;
	return 0;
}

static const struct backend_ops linux_ops = {
	.name = "linux",
	.reserve_name = false,
	.validate = linux_validate,
	.mode = linux_mode,
	.families = linux_families,
	.open = linux_open,
	.close = linux_close,
	.network_alive = NULL,
	.network_create = linux_network_create,
	.network_undo = linux_network_undo,
	.network_extend = linux_network_extend,
	.network_extend_undo = linux_network_extend_undo,
	.endpoint_alive = linux_endpoint_alive,
	.dns = NULL,
	.endpoint_add = linux_endpoint_add,
	.endpoint_del = linux_endpoint_del,
	.del_needs_ips = linux_del_needs_ips,
	.attachments = linux_attachments,
	.endpoint_check = linux_endpoint_check,
	.result_interfaces = linux_result_interfaces,
	.finish = NULL,
};

const struct backend_ops *backend_native(void)
{
	return &linux_ops;
}
