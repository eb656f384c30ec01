/* SPDX-License-Identifier: MIT */
/* Links, addresses, routes, neighbours and sysctls of one network namespace through
 * libnl-route-3 (see netdev.h). The netlink socket is created inside the target netns and the
 * thread returns to its own netns at once; sysctls are opened the same way, relative to
 * directory fds of the netns's /proc/sys/net/<proto> the handle keeps. */
#define _GNU_SOURCE
#include "netdev.h"
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

struct netdev {
	struct nl_sock *sk;
	int nsfd;
	bool own;    /* nsfd is the thread's own netns (opened without a path): no setns needed */
	struct {     /* O_PATH fds of /proc/sys/net/<proto> opened inside the netns; fd -1 = free */
		char proto[16];
		int fd;
	} sysdir[4];
};

/* -NLE_* -> negative errno. */
static int nle_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_EXIST: return -EEXIST;
	case NLE_OBJ_NOTFOUND: return -ENOENT;
	case NLE_NODEV: return -ENODEV;
	case NLE_PERM: return -EPERM;
	case NLE_NOACCESS: return -EACCES;
	case NLE_NOMEM: return -ENOMEM;
	case NLE_BUSY: return -EBUSY;
	case NLE_INVAL: return -EINVAL;
	case NLE_RANGE: return -ERANGE;
	case NLE_NOADDR: return -EADDRNOTAVAIL;
	case NLE_OPNOTSUPP: return -EOPNOTSUPP;
	case NLE_AGAIN: return -EAGAIN;
	case NLE_AF_NOSUPPORT: return -EAFNOSUPPORT;
	case NLE_MSGSIZE: return -EMSGSIZE;
	default: return -EIO;
	}
}

/* Record "<what>: <libnl message>" with code 103; returns the errno. */
static int nlfail(struct cni_error *err, int nle, const char *fmt, ...)
	__attribute__((format(gnu_printf, 3, 4)));
static int nlfail(struct cni_error *err, int nle, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return cni_error_set(err, nle_errno(nle), CNI_CODE_NETWORK, "%s: %s", what,
			     nl_geterror(nle));
}

static int af_of(int family)
{
	return family == IPNET_AF_INET6 ? AF_INET6 : AF_INET;
}

static struct nl_addr *nladdr_of(const struct ipnet_addr *a, int prefixlen)
{
	struct nl_addr *n = nl_addr_build(af_of(a->family), a->bytes, (size_t)ipnet_addr_len(a));

	if (n && prefixlen >= 0)
		nl_addr_set_prefixlen(n, prefixlen);
	return n;
}

static int ipnet_of(struct nl_addr *n, struct ipnet_addr *ret)
{
	int fam = nl_addr_get_family(n);
	unsigned len = nl_addr_get_len(n);

	memset(ret, 0, sizeof(*ret));
	if (fam == AF_INET && len == 4)
		ret->family = IPNET_AF_INET;
	else if (fam == AF_INET6 && len == 16)
		ret->family = IPNET_AF_INET6;
	else if (len == 0)
		return 0;
	else
		return -EAFNOSUPPORT;
	memcpy(ret->bytes, nl_addr_get_binary_addr(n), len);
	return 0;
}

/* ---- namespaces ---- */

/* Open @path once and verify that fd: nsfs (fstatfs magic), a network namespace
 * (NS_GET_NSTYPE), and not the plugin's own (st_dev/st_ino of /proc/self/ns/net). Returns the fd (O_CLOEXEC, caller closes) or negative errno (code 4). The
 * caller keeps this fd: re-opening the path would let it be swapped between check and use. */
static int netns_open_verified(const char *path, struct cni_error *err)
{
	struct stat st, self;
	struct statfs sfs;
	int fd, type, r;

	if (!path || !path[0])
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV, "netns path is empty");
	/* O_NONBLOCK: a FIFO put at the path answers at once (then fails the nsfs check) */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		return cni_error_set(err, r, CNI_CODE_INVALID_ENV, "netns %s: %s", path,
				     strerror(-r));
	}
	if (fstatfs(fd, &sfs) < 0 || (unsigned long)sfs.f_type != NSFS_MAGIC) {
		r = cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
				  "netns %s is not a namespace file (nsfs)", path);
		goto fail;
	}
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type >= 0 && type != CLONE_NEWNET) {
		r = cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
				  "netns %s is a namespace but not a network namespace", path);
		goto fail;
	}
	/* The node's own namespace as the pod's would move node interfaces and routes. */
	if (fstat(fd, &st) == 0 && stat("/proc/self/ns/net", &self) == 0 &&
	    st.st_dev == self.st_dev && st.st_ino == self.st_ino) {
		r = cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
				  "CNI_NETNS %s is the plugin's own network namespace, not a pod's",
				  path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return r;
}

int netdev_netns_check(const char *path, struct cni_error *err)
{
	int fd = netns_open_verified(path, err);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* Run @fn(@arg) with the thread inside @nsfd's netns, then return. */
static int in_netns(int nsfd, int (*fn)(void *), void *arg, struct cni_error *err)
{
	int self, r;

	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return cni_error_set(err, -errno, CNI_CODE_NETWORK, "open own netns: %s",
				     strerror(errno));
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		r = -errno;
		close(self);
		return cni_error_set(err, r, CNI_CODE_NETWORK, "enter netns: %s", strerror(-r));
	}
	r = fn(arg);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* We cannot continue in the wrong namespace. */
		fprintf(stderr, "azure-vnet: cannot return to own netns: %s\n", strerror(errno));
		abort();
	}
	close(self);
	return r;
}

/* Run @fn(@arg) inside @nd's netns: at once when that is the thread's own (two setns and an
 * open fewer per sysctl of the host side), else through in_netns. */
static int nd_run(struct netdev *nd, int (*fn)(void *), void *arg, struct cni_error *err)
{
	return nd->own ? fn(arg) : in_netns(nd->nsfd, fn, arg, err);
}

static int connect_fn(void *arg)
{
	struct netdev *nd = arg;
	int r;

	nd->sk = nl_socket_alloc();
	if (!nd->sk)
		return -NLE_NOMEM;
	r = nl_connect(nd->sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(nd->sk);
		nd->sk = NULL;
		return r;
	}
	/* One recvmsg per answer, not a MSG_PEEK for its size first: a buffer any answer fits
	 * (a dump's skb is at most the reader's buffer, and single answers are small). */
	r = nl_socket_set_msg_buf_size(nd->sk, 32768);
	if (r >= 0)
		nl_socket_disable_msg_peek(nd->sk);
	return 0;
}

int netdev_open(const char *netns_path, struct netdev **ret, struct cni_error *err)
{
	struct netdev *nd;
	int r;

	nd = calloc(1, sizeof(*nd));
	if (!nd)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	nd->nsfd = -1;
	for (size_t i = 0; i < sizeof(nd->sysdir) / sizeof(nd->sysdir[0]); i++)
		nd->sysdir[i].fd = -1;
	if (netns_path && netns_path[0]) {
		nd->nsfd = netns_open_verified(netns_path, err);
		if (nd->nsfd < 0) {
			r = nd->nsfd;
			nd->nsfd = -1;
			goto fail;
		}
	} else {
		nd->nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		nd->own = true;
	}
	if (nd->nsfd < 0) {
		r = cni_error_set(err, -errno, CNI_CODE_NETWORK, "open netns %s: %s",
				  netns_path ? netns_path : "(own)", strerror(errno));
		goto fail;
	}
	r = nd_run(nd, connect_fn, nd, err);
	if (r < 0 && !cni_error_is_set(err))
		r = nlfail(err, r, "netlink socket in netns %s", netns_path ? netns_path : "(own)");
	if (r < 0)
		goto fail;
	*ret = nd;
	return 0;
fail:
	netdev_close(nd);
	return r < 0 ? r : -EIO;
}

struct netdev *netdev_close(struct netdev *nd)
{
	if (!nd)
		return NULL;
	if (nd->sk)
		nl_socket_free(nd->sk);
	if (nd->nsfd >= 0)
		close(nd->nsfd);
	for (size_t i = 0; i < sizeof(nd->sysdir) / sizeof(nd->sysdir[0]); i++)
		if (nd->sysdir[i].fd >= 0)
			close(nd->sysdir[i].fd);
	free(nd);
	return NULL;
}

int netdev_netns_fd(const struct netdev *nd)
{
	return nd->nsfd;
}

/* ---- links ---- */

static void link_fill(struct rtnl_link *l, struct netdev_link *ret)
{
	struct nl_addr *a = rtnl_link_get_addr(l);
	const char *kind = rtnl_link_get_type(l);

	memset(ret, 0, sizeof(*ret));
	ret->ifindex = rtnl_link_get_ifindex(l);
	snprintf(ret->name, sizeof(ret->name), "%s", rtnl_link_get_name(l));
	snprintf(ret->kind, sizeof(ret->kind), "%s", kind ? kind : "");
	ret->mtu = rtnl_link_get_mtu(l);
	if (a && nl_addr_get_len(a) == 6)
		memcpy(ret->mac, nl_addr_get_binary_addr(a), 6);
	ret->master = rtnl_link_get_master(l);
	ret->link = rtnl_link_get_link(l);
	ret->flags = rtnl_link_get_flags(l);
	snprintf(ret->alias, sizeof(ret->alias), "%s",
		 rtnl_link_get_ifalias(l) ? rtnl_link_get_ifalias(l) : "");
}

int netdev_link_get(struct netdev *nd, const char *name, int ifindex, struct netdev_link *ret,
		    struct cni_error *err)
{
	struct rtnl_link *l = NULL;
	int r;

	r = rtnl_link_get_kernel(nd->sk, name ? 0 : ifindex, name, &l);
	if (r == -NLE_NODEV || r == -NLE_OBJ_NOTFOUND)
		return -ENODEV;
	if (r < 0) {
		if (name)
			return nlfail(err, r, "look up link %s", name);
		return nlfail(err, r, "look up link #%d", ifindex);
	}
	link_fill(l, ret);
	rtnl_link_put(l);
	return 0;
}

int netdev_link_list(struct netdev *nd, struct netdev_link **ret, struct cni_error *err)
{
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	struct netdev_link *arr;
	int r, n = 0;

	r = rtnl_link_alloc_cache(nd->sk, AF_UNSPEC, &cache);
	if (r < 0)
		return nlfail(err, r, "list links");
	arr = calloc((size_t)nl_cache_nitems(cache) + 1, sizeof(*arr));
	if (!arr) {
		nl_cache_free(cache);
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	}
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o))
		link_fill((struct rtnl_link *)o, &arr[n++]);
	nl_cache_free(cache);
	*ret = arr;
	return n;
}

static struct nl_addr *mac_addr(const uint8_t mac[6])
{
	return nl_addr_build(AF_LLC, mac, 6);
}

int netdev_veth_create(struct netdev *nd, const char *host_name, const uint8_t *host_mac,
		       struct netdev *peer_ns, const char *peer_name, unsigned mtu,
		       struct cni_error *err)
{
	struct rtnl_link *l, *peer;
	struct nl_addr *a = NULL;
	int r;

	l = rtnl_link_veth_alloc();
	if (!l)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	peer = rtnl_link_veth_get_peer(l);
	rtnl_link_set_name(l, host_name);
	rtnl_link_set_name(peer, peer_name);
	/* One TX and one RX queue per end, asked for: what the kernel would leave anyway, but told
	 * at creation. Without them veth_newlink makes one queue per possible CPU and then cuts
	 * them to one on the registered device (veth_init_queues), which waits for an expedited
	 * RCU grace period (synchronize_net) per end while holding rtnl: every other netlink
	 * change on the node, all parallel ADDs' included, queues behind it. */
	rtnl_link_set_num_tx_queues(l, 1);
	rtnl_link_set_num_rx_queues(l, 1);
	rtnl_link_set_num_tx_queues(peer, 1);
	rtnl_link_set_num_rx_queues(peer, 1);
	if (mtu) {
		rtnl_link_set_mtu(l, mtu);
		rtnl_link_set_mtu(peer, mtu);
	}
	if (host_mac) {
		a = mac_addr(host_mac);
		if (!a) {
			r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
			goto out;
		}
		rtnl_link_set_addr(l, a);
	}
	if (peer_ns && peer_ns != nd)
		rtnl_link_set_ns_fd(peer, peer_ns->nsfd);
	r = rtnl_link_add(nd->sk, l, NLM_F_CREATE | NLM_F_EXCL);
	platform_fault_point("netlink link add");
	if (r < 0)
		r = nlfail(err, r, "create veth %s (peer %s)", host_name, peer_name);
out:
	nl_addr_put(a);
	rtnl_link_put(peer);
	rtnl_link_put(l);
	return r;
}

int netdev_bridge_create(struct netdev *nd, const char *name, const uint8_t *mac,
			 struct cni_error *err)
{
	struct rtnl_link *l = rtnl_link_alloc();
	struct nl_addr *a = NULL;
	int r;

	if (!l)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	rtnl_link_set_name(l, name);
	r = rtnl_link_set_type(l, "bridge");
	if (r >= 0 && mac) {
		a = mac_addr(mac);
		if (a)
			rtnl_link_set_addr(l, a);
	}
	if (r >= 0) {
		r = rtnl_link_add(nd->sk, l, NLM_F_CREATE | NLM_F_EXCL);
		platform_fault_point("netlink link add");
	}
	if (r < 0)
		r = nlfail(err, r, "create bridge %s", name);
	nl_addr_put(a);
	rtnl_link_put(l);
	return r;
}

/* Apply @changes to link @name (RTM_NEWLINK without NLM_F_CREATE). Unless @changes renames it,
 * the request names the link (IFLA_IFNAME, ifindex 0: the kernel looks it up) and carries only
 * the changed flags (ifi_change), so no RTM_GETLINK of the link comes first. */
static int link_change(struct netdev *nd, const char *name, struct rtnl_link *changes,
		       const char *what, struct cni_error *err)
{
	struct rtnl_link *orig = NULL;
	int r;

	if (!rtnl_link_get_name(changes)) {
		orig = rtnl_link_alloc();
		if (!orig) {
			r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
			goto out;
		}
		rtnl_link_set_name(changes, name);
		r = 0;
	} else {
		r = rtnl_link_get_kernel(nd->sk, 0, name, &orig);
	}
	if (r < 0) {
		r = nlfail(err, r, "%s %s", what, name);
		goto out;
	}
	r = rtnl_link_change(nd->sk, orig, changes, 0);
	platform_fault_point("netlink link change");
	if (r < 0)
		r = nlfail(err, r, "%s %s", what, name);
out:
	if (orig)
		rtnl_link_put(orig);
	rtnl_link_put(changes);
	return r;
}

int netdev_link_set_up(struct netdev *nd, const char *name, bool up, struct cni_error *err)
{
	struct rtnl_link *c = rtnl_link_alloc();

	if (!c)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	if (up)
		rtnl_link_set_flags(c, IFF_UP);
	else
		rtnl_link_unset_flags(c, IFF_UP);
	return link_change(nd, name, c, up ? "set up link" : "set down link", err);
}

int netdev_link_set_master(struct netdev *nd, const char *name, const char *master,
			   struct cni_error *err)
{
	struct netdev_link l, m;
	int r;

	r = netdev_link_get(nd, name, 0, &l, err);
	if (r == -ENODEV)
		return cni_error_set(err, r, CNI_CODE_NETWORK, "link %s not found", name);
	if (r < 0)
		return r;
	if (!master) {
		r = rtnl_link_release_ifindex(nd->sk, l.ifindex);
		return r < 0 ? nlfail(err, r, "release link %s from its master", name) : 0;
	}
	r = netdev_link_get(nd, master, 0, &m, err);
	if (r == -ENODEV)
		return cni_error_set(err, r, CNI_CODE_NETWORK, "bridge %s not found", master);
	if (r < 0)
		return r;
	r = rtnl_link_enslave_ifindex(nd->sk, m.ifindex, l.ifindex);
	return r < 0 ? nlfail(err, r, "enslave %s to %s", name, master) : 0;
}

int netdev_link_set_mac(struct netdev *nd, const char *name, const uint8_t mac[6],
			struct cni_error *err)
{
	struct rtnl_link *c = rtnl_link_alloc();
	struct nl_addr *a = mac_addr(mac);

	if (!c || !a) {
		nl_addr_put(a);
		if (c)
			rtnl_link_put(c);
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	}
	rtnl_link_set_addr(c, a);
	nl_addr_put(a);
	return link_change(nd, name, c, "set MAC of link", err);
}

int netdev_link_set_alias(struct netdev *nd, const char *name, const char *alias,
			  struct cni_error *err)
{
	struct rtnl_link *c = rtnl_link_alloc();

	if (!c)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	rtnl_link_set_ifalias(c, alias);
	return link_change(nd, name, c, "set alias of link", err);
}

int netdev_link_rename(struct netdev *nd, const char *name, const char *new_name,
		       struct cni_error *err)
{
	struct rtnl_link *c = rtnl_link_alloc();

	if (!c)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	rtnl_link_set_name(c, new_name);
	return link_change(nd, name, c, "rename link", err);
}

int netdev_link_move(struct netdev *nd, const char *name, struct netdev *to,
		     struct cni_error *err)
{
	struct rtnl_link *c = rtnl_link_alloc();

	if (!c)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	rtnl_link_set_ns_fd(c, to->nsfd);
	return link_change(nd, name, c, "move link to netns", err);
}

int netdev_link_delete(struct netdev *nd, const char *name, struct cni_error *err)
{
	struct rtnl_link *l = rtnl_link_alloc();
	int r;

	if (!l)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	rtnl_link_set_name(l, name);
	r = rtnl_link_delete(nd->sk, l);
	platform_fault_point("netlink link delete");
	rtnl_link_put(l);
	if (r == -NLE_NODEV || r == -NLE_OBJ_NOTFOUND)
		return -ENODEV;
	return r < 0 ? nlfail(err, r, "delete link %s", name) : 0;
}

int netdev_bridge_port_hairpin(struct netdev *nd, const char *name, bool on,
			       struct cni_error *err)
{
	struct ifinfomsg ifi = { .ifi_family = AF_BRIDGE };
	struct netdev_link l;
	struct nl_msg *msg;
	struct nlattr *nest;
	int r;

	r = netdev_link_get(nd, name, 0, &l, err);
	if (r == -ENODEV)
		return cni_error_set(err, r, CNI_CODE_NETWORK, "link %s not found", name);
	if (r < 0)
		return r;
	ifi.ifi_index = l.ifindex;
	msg = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST);
	if (!msg)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    !(nest = nla_nest_start(msg, IFLA_PROTINFO | NLA_F_NESTED)) ||
	    nla_put_u8(msg, IFLA_BRPORT_MODE, on ? 1 : 0) < 0) {
		nlmsg_free(msg);
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	}
	nla_nest_end(msg, nest);
	r = nl_send_sync(nd->sk, msg); /* frees msg */
	platform_fault_point("netlink send");
	return r < 0 ? nlfail(err, r, "set hairpin on %s", name) : 0;
}

/* ---- addresses ---- */

static struct rtnl_addr *addr_obj(int ifindex, const struct ipnet_prefix *p)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local = nladdr_of(&p->addr, p->len);

	if (!a || !local) {
		nl_addr_put(local);
		if (a)
			rtnl_addr_put(a);
		return NULL;
	}
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_family(a, af_of(p->addr.family));
	rtnl_addr_set_local(a, local);
	rtnl_addr_set_prefixlen(a, p->len);
	nl_addr_put(local);
	return a;
}

int netdev_addr_add(struct netdev *nd, int ifindex, const struct ipnet_prefix *prefix,
		    struct cni_error *err)
{
	struct rtnl_addr *a = addr_obj(ifindex, prefix);
	char buf[IPNET_PREFIX_STRLEN];
	int r;

	if (!a)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	if (prefix->addr.family == IPNET_AF_INET6)
		rtnl_addr_set_flags(a, IFA_F_NODAD);
	r = rtnl_addr_add(nd->sk, a, NLM_F_EXCL);
	platform_fault_point("netlink addr add");
	rtnl_addr_put(a);
	return r < 0 ? nlfail(err, r, "add address %s to link #%d",
			      ipnet_prefix_format(prefix, buf, sizeof(buf)), ifindex) : 0;
}

int netdev_addr_del(struct netdev *nd, int ifindex, const struct ipnet_prefix *prefix,
		    struct cni_error *err)
{
	struct rtnl_addr *a = addr_obj(ifindex, prefix);
	char buf[IPNET_PREFIX_STRLEN];
	int r;

	if (!a)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	r = rtnl_addr_delete(nd->sk, a, 0);
	platform_fault_point("netlink addr delete");
	rtnl_addr_put(a);
	if (r == -NLE_NOADDR || r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)
		return nle_errno(r);
	return r < 0 ? nlfail(err, r, "delete address %s from link #%d",
			      ipnet_prefix_format(prefix, buf, sizeof(buf)), ifindex) : 0;
}

int netdev_addr_list(struct netdev *nd, int ifindex, int family, struct netdev_addr **ret,
		     struct cni_error *err)
{
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	struct netdev_addr *arr;
	int r, n = 0;

	r = rtnl_addr_alloc_cache(nd->sk, &cache);
	if (r < 0)
		return nlfail(err, r, "list addresses");
	arr = calloc((size_t)nl_cache_nitems(cache) + 1, sizeof(*arr));
	if (!arr) {
		nl_cache_free(cache);
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	}
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct netdev_addr *x = &arr[n];

		if (ifindex && rtnl_addr_get_ifindex(a) != ifindex)
			continue;
		if (!rtnl_addr_get_local(a) || ipnet_of(rtnl_addr_get_local(a), &x->prefix.addr) < 0 ||
		    x->prefix.addr.family == 0)
			continue;
		if (family && x->prefix.addr.family != family)
			continue;
		x->ifindex = rtnl_addr_get_ifindex(a);
		x->prefix.len = rtnl_addr_get_prefixlen(a);
		x->scope = rtnl_addr_get_scope(a);
		x->flags = rtnl_addr_get_flags(a);
		n++;
	}
	nl_cache_free(cache);
	*ret = arr;
	return n;
}

/* ---- routes ---- */

static struct rtnl_route *route_obj(const struct netdev_route *r, bool for_delete)
{
	struct rtnl_route *rt = rtnl_route_alloc();
	struct rtnl_nexthop *nh = NULL;
	struct nl_addr *dst = NULL, *gw = NULL, *src = NULL;

	if (!rt)
		return NULL;
	dst = nladdr_of(&r->dst.addr, r->dst.len);
	if (!dst)
		goto fail;
	rtnl_route_set_family(rt, af_of(r->dst.addr.family));
	rtnl_route_set_dst(rt, dst);
	rtnl_route_set_table(rt, r->table ? (uint32_t)r->table : RT_TABLE_MAIN);
	rtnl_route_set_type(rt, RTN_UNICAST);
	if (for_delete) {
		/* wildcards for the kernel's match (fib_table_delete) */
		rtnl_route_set_scope(rt, RT_SCOPE_NOWHERE);
		rtnl_route_set_protocol(rt, RTPROT_UNSPEC);
		if (r->priority)
			rtnl_route_set_priority(rt, r->priority);
	} else {
		rtnl_route_set_protocol(rt, r->protocol ? (uint8_t)r->protocol : RTPROT_BOOT);
		if (r->scope)
			rtnl_route_set_scope(rt, (uint8_t)r->scope);
		if (r->priority)
			rtnl_route_set_priority(rt, r->priority);
		if (r->src.family) {
			src = nladdr_of(&r->src, -1);
			if (!src)
				goto fail;
			rtnl_route_set_pref_src(rt, src);
		}
	}
	if (r->ifindex || r->gw.family) {
		nh = rtnl_route_nh_alloc();
		if (!nh)
			goto fail;
		if (r->ifindex)
			rtnl_route_nh_set_ifindex(nh, r->ifindex);
		if (r->gw.family) {
			gw = nladdr_of(&r->gw, -1);
			if (!gw) {
				rtnl_route_nh_free(nh);
				goto fail;
			}
			rtnl_route_nh_set_gateway(nh, gw);
		}
		rtnl_route_add_nexthop(rt, nh);
	}
	nl_addr_put(dst);
	nl_addr_put(gw);
	nl_addr_put(src);
	return rt;
fail:
	nl_addr_put(dst);
	nl_addr_put(gw);
	nl_addr_put(src);
	rtnl_route_put(rt);
	return NULL;
}

static char *route_text(const struct netdev_route *r, char *buf, size_t size)
{
	char d[IPNET_PREFIX_STRLEN], g[IPNET_ADDR_STRLEN];

	ipnet_prefix_format(&r->dst, d, sizeof(d));
	if (r->gw.family)
		snprintf(buf, size, "%s via %s dev #%d", d, ipnet_addr_format(&r->gw, g, sizeof(g)),
			 r->ifindex);
	else
		snprintf(buf, size, "%s dev #%d", d, r->ifindex);
	return buf;
}

int netdev_route_add(struct netdev *nd, const struct netdev_route *r, struct cni_error *err)
{
	struct rtnl_route *rt = route_obj(r, false);
	char buf[160];
	int rc;

	if (!rt)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	rc = rtnl_route_add(nd->sk, rt, NLM_F_EXCL);
	platform_fault_point("netlink route add");
	rtnl_route_put(rt);
	return rc < 0 ? nlfail(err, rc, "add route %s", route_text(r, buf, sizeof(buf))) : 0;
}

int netdev_route_append(struct netdev *nd, const struct netdev_route *r, struct cni_error *err)
{
	struct rtnl_route *rt = route_obj(r, false);
	char buf[160];
	int rc;

	if (!rt)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	/* no NLM_F_EXCL: the kernel refuses only a route with the same nexthop (fib_table_insert,
	 * fib6_add_rt2) */
	rc = rtnl_route_add(nd->sk, rt, NLM_F_APPEND);
	rtnl_route_put(rt);
	if (rc == -NLE_EXIST)
		return -EEXIST;
	return rc < 0 ? nlfail(err, rc, "add route %s", route_text(r, buf, sizeof(buf))) : 0;
}

int netdev_route_del(struct netdev *nd, const struct netdev_route *r, struct cni_error *err)
{
	struct rtnl_route *rt = route_obj(r, true);
	char buf[160];
	int rc;

	if (!rt)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	rc = rtnl_route_delete(nd->sk, rt, 0);
	platform_fault_point("netlink route delete");
	rtnl_route_put(rt);
	if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV)
		return -ESRCH;
	return rc < 0 ? nlfail(err, rc, "delete route %s", route_text(r, buf, sizeof(buf))) : 0;
}

/* One RTM_GETROUTE dump, kept whole: libnl's route cache merges routes that differ only in
 * their nexthop (its object ID is family, tos, table, dst, priority), so of two same-metric
 * default routes on two links it would list one. */
struct route_dump {
	int table, ifindex;
	struct netdev_route *arr;
	int n, cap, err;
};

static int route_dump_msg(struct nl_msg *msg, void *arg)
{
	struct route_dump *d = arg;
	struct rtnl_route *rt = NULL;
	struct netdev_route x = { 0 };
	struct rtnl_nexthop *nh;
	struct nl_addr *dst;
	int r;

	r = rtnl_route_parse(nlmsg_hdr(msg), &rt);
	if (r < 0) {
		d->err = r;
		return NL_STOP;
	}
	dst = rtnl_route_get_dst(rt);
	if (rtnl_route_get_type(rt) != RTN_UNICAST ||
	    rtnl_route_get_table(rt) != (uint32_t)(d->table ? d->table : RT_TABLE_MAIN) ||
	    !dst || ipnet_of(dst, &x.dst.addr) < 0)
		goto out;
	if (x.dst.addr.family == 0) {
		/* default route: libnl reports an empty address */
		x.dst.addr.family = rtnl_route_get_family(rt) == AF_INET6 ? IPNET_AF_INET6
									 : IPNET_AF_INET;
	}
	x.dst.len = nl_addr_get_prefixlen(dst);
	x.table = (int)rtnl_route_get_table(rt);
	x.scope = rtnl_route_get_scope(rt);
	x.protocol = rtnl_route_get_protocol(rt);
	x.priority = rtnl_route_get_priority(rt);
	if (rtnl_route_get_nnexthops(rt) > 0) {
		nh = rtnl_route_nexthop_n(rt, 0);
		x.ifindex = rtnl_route_nh_get_ifindex(nh);
		if (rtnl_route_nh_get_gateway(nh))
			ipnet_of(rtnl_route_nh_get_gateway(nh), &x.gw);
	}
	if (rtnl_route_get_pref_src(rt))
		ipnet_of(rtnl_route_get_pref_src(rt), &x.src);
	if (d->ifindex && x.ifindex != d->ifindex)
		goto out;
	if (d->n == d->cap) {
		int cap = d->cap ? 2 * d->cap : 16;
		struct netdev_route *a = realloc(d->arr, (size_t)cap * sizeof(*a));

		if (!a) {
			d->err = -NLE_NOMEM;
			rtnl_route_put(rt);
			return NL_STOP;
		}
		d->arr = a;
		d->cap = cap;
	}
	d->arr[d->n++] = x;
out:
	rtnl_route_put(rt);
	return NL_OK;
}

int netdev_route_list(struct netdev *nd, int family, int table, int ifindex,
		      struct netdev_route **ret, struct cni_error *err)
{
	struct rtmsg rtm = { .rtm_family = (unsigned char)(family ? af_of(family) : AF_UNSPEC) };
	struct route_dump d = { .table = table, .ifindex = ifindex };
	struct nl_cb *base = nl_socket_get_cb(nd->sk), *cb;
	int r;

	cb = base ? nl_cb_clone(base) : NULL;
	nl_cb_put(base);
	if (!cb)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, route_dump_msg, &d);
	r = nl_send_simple(nd->sk, RTM_GETROUTE, NLM_F_DUMP, &rtm, sizeof(rtm));
	if (r >= 0)
		r = nl_recvmsgs(nd->sk, cb);
	nl_cb_put(cb);
	if (r >= 0 && d.err)
		r = d.err;
	if (r < 0) {
		free(d.arr);
		return d.err == -NLE_NOMEM ? cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL,
							   "out of memory")
					   : nlfail(err, r, "list routes");
	}
	*ret = d.arr ? d.arr : calloc(1, sizeof(*d.arr));
	if (!*ret)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	return d.n;
}

/* ---- neighbours ---- */

static struct rtnl_neigh *neigh_obj(int ifindex, const struct ipnet_addr *ip)
{
	struct rtnl_neigh *n = rtnl_neigh_alloc();
	struct nl_addr *dst = nladdr_of(ip, -1);

	if (!n || !dst) {
		nl_addr_put(dst);
		if (n)
			rtnl_neigh_put(n);
		return NULL;
	}
	rtnl_neigh_set_ifindex(n, ifindex);
	rtnl_neigh_set_family(n, af_of(ip->family));
	rtnl_neigh_set_dst(n, dst);
	nl_addr_put(dst);
	return n;
}

int netdev_neigh_set(struct netdev *nd, int ifindex, const struct ipnet_addr *ip,
		     const uint8_t mac[6], struct cni_error *err)
{
	struct rtnl_neigh *n = neigh_obj(ifindex, ip);
	struct nl_addr *ll = mac_addr(mac);
	char buf[IPNET_ADDR_STRLEN];
	int r;

	if (!n || !ll) {
		nl_addr_put(ll);
		if (n)
			rtnl_neigh_put(n);
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	}
	rtnl_neigh_set_lladdr(n, ll);
	rtnl_neigh_set_state(n, NUD_PERMANENT);
	r = rtnl_neigh_add(nd->sk, n, NLM_F_CREATE | NLM_F_REPLACE);
	platform_fault_point("netlink neigh add");
	nl_addr_put(ll);
	rtnl_neigh_put(n);
	return r < 0 ? nlfail(err, r, "set neighbour %s on link #%d",
			      ipnet_addr_format(ip, buf, sizeof(buf)), ifindex) : 0;
}

int netdev_neigh_del(struct netdev *nd, int ifindex, const struct ipnet_addr *ip,
		     struct cni_error *err)
{
	struct rtnl_neigh *n = neigh_obj(ifindex, ip);
	char buf[IPNET_ADDR_STRLEN];
	int r;

	if (!n)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	r = rtnl_neigh_delete(nd->sk, n, 0);
	platform_fault_point("netlink neigh delete");
	rtnl_neigh_put(n);
	if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV || r == -NLE_NOADDR)
		return 0;
	return r < 0 ? nlfail(err, r, "delete neighbour %s on link #%d",
			      ipnet_addr_format(ip, buf, sizeof(buf)), ifindex) : 0;
}

int netdev_neigh_get(struct netdev *nd, int ifindex, const struct ipnet_addr *ip,
		     uint8_t ret_mac[6], int *ret_state, struct cni_error *err)
{
	struct nl_cache *cache = NULL;
	struct rtnl_neigh *n;
	struct nl_addr *dst = nladdr_of(ip, -1), *ll;
	int r;

	if (!dst)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	r = rtnl_neigh_alloc_cache(nd->sk, &cache);
	if (r < 0) {
		nl_addr_put(dst);
		return nlfail(err, r, "list neighbours");
	}
	n = rtnl_neigh_get(cache, ifindex, dst);
	nl_addr_put(dst);
	if (!n) {
		nl_cache_free(cache);
		return -ENOENT;
	}
	ll = rtnl_neigh_get_lladdr(n);
	memset(ret_mac, 0, 6);
	if (ll && nl_addr_get_len(ll) == 6)
		memcpy(ret_mac, nl_addr_get_binary_addr(ll), 6);
	*ret_state = rtnl_neigh_get_state(n);
	rtnl_neigh_put(n);
	nl_cache_free(cache);
	return 0;
}

/* ---- sysctl ---- */

struct sysctl_op {
	struct netdev *nd;
	const char *key;
	const char *value;   /* write when non-NULL */
	char *buf;           /* read */
	size_t size;
};

/* The handle's fd of /proc/sys/net/<@proto> (@len bytes), opened at the first call and kept;
 * a failed open is not kept. Runs inside the handle's netns. Returns the fd (owned by the
 * handle), -ENOSPC when every slot holds another protocol's or @proto is longer than a slot
 * holds, or negative errno. */
static int sysdir_fd(struct netdev *nd, const char *proto, size_t len)
{
	char path[64];
	size_t i;

	if (len >= sizeof(nd->sysdir[0].proto))
		return -ENOSPC;
	for (i = 0; i < sizeof(nd->sysdir) / sizeof(nd->sysdir[0]); i++) {
		if (nd->sysdir[i].fd < 0)
			break;
		if (strncmp(nd->sysdir[i].proto, proto, len) == 0 && !nd->sysdir[i].proto[len])
			return nd->sysdir[i].fd;
	}
	if (i == sizeof(nd->sysdir) / sizeof(nd->sysdir[0]))
		return -ENOSPC;
	snprintf(path, sizeof(path), "/proc/sys/net/%.*s", (int)len, proto);
	nd->sysdir[i].fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (nd->sysdir[i].fd < 0)
		return -errno;
	memcpy(nd->sysdir[i].proto, proto, len);
	nd->sysdir[i].proto[len] = '\0';
	return nd->sysdir[i].fd;
}

/* Runs inside the handle's netns (nd_run). A key net/<proto>/<rest> is opened as <rest>
 * relative to the handle's /proc/sys/net/<proto> fd: /proc/sys/net is one dentry for every
 * netns, but each netns that touched /proc/sys has its own "ipv4", "ipv6", "core" ... under it,
 * all on one dcache hash chain per name (same parent, same name) that proc_sys_compare walks
 * rejecting the other namespaces' ones: tens of us per open on a node with hundreds of pods,
 * where the components below hash per netns. The relative open still runs in the netns:
 * proc_sys_compare decides visibility by the opener's netns. Other keys: the full path. */
static int sysctl_fn(void *arg)
{
	struct sysctl_op *op = arg;
	const char *proto = op->key + 4, *slash;
	int flags = (op->value ? O_WRONLY : O_RDONLY) | O_CLOEXEC, dirfd = -ENOSPC, fd, r = 0;
	char path[512];
	ssize_t n;

	slash = strncmp(op->key, "net/", 4) == 0 ? strchr(proto, '/') : NULL;
	if (slash && slash > proto && slash[1])
		dirfd = sysdir_fd(op->nd, proto, (size_t)(slash - proto));
	if (dirfd >= 0) {
		fd = openat(dirfd, slash + 1, flags);
	} else if (dirfd == -ENOSPC) {
		snprintf(path, sizeof(path), "/proc/sys/%s", op->key);
		fd = open(path, flags);
	} else {
		return dirfd;
	}
	if (fd < 0)
		return -errno;
	if (op->value) {
		n = write(fd, op->value, strlen(op->value));
		if (n < 0)
			r = -errno;
	} else {
		n = read(fd, op->buf, op->size - 1);
		if (n < 0) {
			r = -errno;
		} else {
			op->buf[n] = '\0';
			while (n > 0 && (op->buf[n - 1] == '\n' || op->buf[n - 1] == ' '))
				op->buf[--n] = '\0';
		}
	}
	close(fd);
	return r;
}

int netdev_sysctl_write(struct netdev *nd, const char *key, const char *value,
			struct cni_error *err)
{
	struct sysctl_op op = { .nd = nd, .key = key, .value = value };
	int r = nd_run(nd, sysctl_fn, &op, err);

	platform_fault_point("sysctl write");
	if (r == -ENOENT || cni_error_is_set(err))
		return r;
	return r < 0 ? cni_error_set(err, r, CNI_CODE_NETWORK, "sysctl %s=%s: %s", key, value,
				     strerror(-r)) : 0;
}

int netdev_sysctl_read(struct netdev *nd, const char *key, char *buf, size_t size,
		       struct cni_error *err)
{
	struct sysctl_op op = { .nd = nd, .key = key, .buf = buf, .size = size };
	int r;

	if (size < 2)
		return -EINVAL;
	r = nd_run(nd, sysctl_fn, &op, err);
	if (r == -ENOENT || cni_error_is_set(err))
		return r;
	return r < 0 ? cni_error_set(err, r, CNI_CODE_NETWORK, "read sysctl %s: %s", key,
				     strerror(-r)) : 0;
}
