/* SPDX-License-Identifier: MIT */
/* Linux network devices through libnl-route-3: links (veth, bridge), addresses, routes,
 * neighbours and sysctls, each bound to one network namespace. A handle is opened for a netns
 * path (the socket is created inside that netns, then the thread returns to its own), so one
 * process can drive the node's and a pod's namespace at once.
 * Errors: negative errno; err gets code 103 (CNI_CODE_NETWORK) naming the operation and object,
 * except netdev_netns_check (code 4). libnl's -NLE_* codes never leave this module. */
#ifndef AZCNI_NETDEV_H
#define AZCNI_NETDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/ipnet.h"

#define NETDEV_IFNAMSIZ 16
#define NETDEV_IFALIASZ 256     /* IFALIASZ: 255 bytes + NUL */

struct netdev;

/* netdev_netns_check - is @path a network namespace file (bind mount under /var/run/netns or
 * /proc/<pid>/ns/net) other than the plugin's own? Checks that it opens (non-blocking), lives on
 * nsfs (NSFS_MAGIC), that NS_GET_NSTYPE says CLONE_NEWNET and that it is not /proc/self/ns/net
 * (same st_dev and st_ino). Returns 0, -ENOENT (absent), -EINVAL (not a netns, or ours); err
 * code 4 naming @path. */
int netdev_netns_check(const char *path, struct cni_error *err);

/* netdev_open - a handle for the network namespace at @netns_path (NULL or "" = the caller's).
 * A @netns_path is verified as netdev_netns_check does: naming the caller's own netns is code 4.
 * Returns 0 with *ret (free with netdev_close) or negative errno (code 103, or 4 when the path is
 * not a pod's netns). The calling thread's netns is unchanged on return. */
int netdev_open(const char *netns_path, struct netdev **ret, struct cni_error *err);

/* netdev_close - free the handle; NULL allowed. Returns NULL. */
struct netdev *netdev_close(struct netdev *nd);

/* netdev_netns_fd - an fd of the handle's netns (owned by the handle, valid until close). */
int netdev_netns_fd(const struct netdev *nd);

/* ---- links ---- */
struct netdev_link {
	int ifindex;
	char name[NETDEV_IFNAMSIZ];
	char kind[32];          /* "veth", "bridge", "dummy", "" when not reported */
	unsigned mtu;
	uint8_t mac[6];
	int master;             /* ifindex of the master (bridge), 0 = none */
	int link;               /* IFLA_LINK: a veth's peer ifindex (in the peer's netns), 0 = none */
	unsigned flags;         /* IFF_* */
	char alias[NETDEV_IFALIASZ]; /* IFLA_IFALIAS, "" when none */
};

/* netdev_link_get - look up @name (or, when @name is NULL, @ifindex). Returns 0 and fills *ret,
 * -ENODEV when there is no such link (no error recorded), or another negative errno (code 103). */
int netdev_link_get(struct netdev *nd, const char *name, int ifindex, struct netdev_link *ret,
		    struct cni_error *err);

/* netdev_link_list - every link of the netns. Returns the count (>= 0) with *ret (malloc'd array,
 * caller frees) or negative errno (code 103). */
int netdev_link_list(struct netdev *nd, struct netdev_link **ret, struct cni_error *err);

/* netdev_veth_create - create a veth pair: @host_name in @nd's netns with MAC @host_mac (NULL =
 * kernel random) and @peer_name created directly inside @peer_ns's netns (NULL = same netns),
 * both with MTU @mtu (0 = kernel default), one TX and one RX queue each (the kernel's veth
 * default, but asked for at creation: no RCU grace period under rtnl). Neither end is brought up. Fails with -EEXIST (code
 * 103) when either name exists. Creation is atomic: on failure no end is left. */
int netdev_veth_create(struct netdev *nd, const char *host_name, const uint8_t *host_mac,
		       struct netdev *peer_ns, const char *peer_name, unsigned mtu,
		       struct cni_error *err);

/* netdev_bridge_create - create a bridge @name with MAC @mac (NULL = kernel's). -EEXIST if a
 * link of that name exists (the caller decides whether that is fine). */
int netdev_bridge_create(struct netdev *nd, const char *name, const uint8_t *mac,
			 struct cni_error *err);

/* netdev_link_set_up / set_down - change IFF_UP. */
int netdev_link_set_up(struct netdev *nd, const char *name, bool up, struct cni_error *err);

/* netdev_link_set_master - enslave @name to @master (NULL = release). */
int netdev_link_set_master(struct netdev *nd, const char *name, const char *master,
			   struct cni_error *err);

/* netdev_link_set_mac - set the MAC of @name. */
int netdev_link_set_mac(struct netdev *nd, const char *name, const uint8_t mac[6],
			struct cni_error *err);

/* netdev_link_set_alias - set the IFLA_IFALIAS of @name to @alias (at most
 * NETDEV_IFALIASZ - 1 bytes; "" removes it). */
int netdev_link_set_alias(struct netdev *nd, const char *name, const char *alias,
			  struct cni_error *err);

/* netdev_link_rename - rename @name to @new_name (the link must be down). */
int netdev_link_rename(struct netdev *nd, const char *name, const char *new_name,
		       struct cni_error *err);

/* netdev_link_move - move @name into @to's netns. */
int netdev_link_move(struct netdev *nd, const char *name, struct netdev *to,
		     struct cni_error *err);

/* netdev_link_delete - delete @name. Returns 0, or -ENODEV when absent (no error recorded). */
int netdev_link_delete(struct netdev *nd, const char *name, struct cni_error *err);

/* netdev_bridge_port_hairpin - set hairpin mode on bridge port @name (IFLA_BRPORT_MODE). */
int netdev_bridge_port_hairpin(struct netdev *nd, const char *name, bool on,
			       struct cni_error *err);

/* ---- addresses ---- */
struct netdev_addr {
	int ifindex;
	struct ipnet_prefix prefix;   /* the address with its prefix length */
	int scope;                    /* RT_SCOPE_* */
	unsigned flags;               /* IFA_F_* */
};

/* netdev_addr_add - add @prefix (address/len) to link @ifindex; -EEXIST when present. */
int netdev_addr_add(struct netdev *nd, int ifindex, const struct ipnet_prefix *prefix,
		    struct cni_error *err);

/* netdev_addr_del - delete @prefix from @ifindex; -EADDRNOTAVAIL/-ENOENT when absent (no error). */
int netdev_addr_del(struct netdev *nd, int ifindex, const struct ipnet_prefix *prefix,
		    struct cni_error *err);

/* netdev_addr_list - the addresses of @ifindex (0 = all) of @family (0 = both). Returns the count
 * with *ret (malloc'd, caller frees) or negative errno. */
int netdev_addr_list(struct netdev *nd, int ifindex, int family, struct netdev_addr **ret,
		     struct cni_error *err);

/* ---- routes ---- */
struct netdev_route {
	struct ipnet_prefix dst;      /* 0.0.0.0/0 = default */
	struct ipnet_addr gw;         /* family 0 = none */
	struct ipnet_addr src;        /* preferred source, family 0 = none */
	int ifindex;                  /* 0 = unset */
	int scope;                    /* RT_SCOPE_* (universe 0, link 253, host 254) */
	int table;                    /* 0 = main */
	int protocol;                 /* 0 = boot */
	unsigned priority;
};

/* netdev_route_add - add @r (NLM_F_CREATE|NLM_F_EXCL; -EEXIST when present). */
int netdev_route_add(struct netdev *nd, const struct netdev_route *r, struct cni_error *err);

/* netdev_route_append - add @r after the routes to the same destination with the same metric
 * (NLM_F_CREATE|NLM_F_APPEND, like `ip route append`): an IPv4 default route on a second link
 * with the metric of the first's, where netdev_route_add gets -EEXIST. Returns 0, -EEXIST when
 * a route with the same nexthop is there (no error recorded), or another negative errno. */
int netdev_route_append(struct netdev *nd, const struct netdev_route *r, struct cni_error *err);

/* netdev_route_del - delete the route matching @r's dst, table, and (when set) ifindex, gw and
 * priority. Returns 0, or -ESRCH when absent (no error recorded). */
int netdev_route_del(struct netdev *nd, const struct netdev_route *r, struct cni_error *err);

/* netdev_route_list - unicast routes of @family (0 = both) in @table (0 = main), optionally only
 * those via @ifindex (0 = any). Returns the count with *ret (malloc'd, caller frees). */
int netdev_route_list(struct netdev *nd, int family, int table, int ifindex,
		      struct netdev_route **ret, struct cni_error *err);

/* ---- neighbours ---- */
/* netdev_neigh_set - a PERMANENT neighbour @ip -> @mac on @ifindex (CREATE|REPLACE). */
int netdev_neigh_set(struct netdev *nd, int ifindex, const struct ipnet_addr *ip,
		     const uint8_t mac[6], struct cni_error *err);

/* netdev_neigh_del - delete the neighbour @ip on @ifindex; absent: 0. */
int netdev_neigh_del(struct netdev *nd, int ifindex, const struct ipnet_addr *ip,
		     struct cni_error *err);

/* netdev_neigh_get - the neighbour entry for @ip on @ifindex: *ret_mac and *ret_state (NUD_*).
 * Returns 0, -ENOENT when absent (no error recorded), or negative errno. */
int netdev_neigh_get(struct netdev *nd, int ifindex, const struct ipnet_addr *ip,
		     uint8_t ret_mac[6], int *ret_state, struct cni_error *err);

/* ---- sysctl ---- */
/* netdev_sysctl_write - write @value to /proc/sys/@key (e.g. "net/ipv4/ip_forward") as seen from
 * the handle's netns. A key net/<proto>/<rest> is opened as <rest> relative to an fd of
 * /proc/sys/net/<proto> the handle opens at the first such key and keeps (for up to 4
 * protocols; others by their full path): one walk of the dcache chain all namespaces' "<proto>"
 * dentries share per handle and protocol, not one per key. Returns 0, -ENOENT when the key does not exist (no error recorded; e.g.
 * br_netfilter not loaded), or another negative errno (code 103). */
int netdev_sysctl_write(struct netdev *nd, const char *key, const char *value,
			struct cni_error *err);

/* netdev_sysctl_read - read /proc/sys/@key into @buf (@size >= 2; trailing newline stripped),
 * opened as netdev_sysctl_write does. Returns 0, -ENOENT (no error recorded) or negative errno. */
int netdev_sysctl_read(struct netdev *nd, const char *key, char *buf, size_t size,
		       struct cni_error *err);

#endif
