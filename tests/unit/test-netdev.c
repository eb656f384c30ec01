/* SPDX-License-Identifier: MIT */
/* netdev against the real kernel, inside network namespaces this test creates with unshare
 * (the host's own netns is never touched). Skipped when not root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cmocka.h>

#include "platform/linux/netdev.h"

static char peer_path[64];

/* The test process moves into a fresh netns ("node"); a second one ("pod") is reached through
 * the fd of a child that unshared and stays asleep until the group ends. */
static pid_t child;

static int setup(void **state)
{
	int p[2];
	char c;

	(void)state;
	if (geteuid() != 0)
		return 0;
	if (unshare(CLONE_NEWNET) < 0)
		return -1;
	if (pipe(p) < 0)
		return -1;
	child = fork();
	if (child == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	if (read(p[0], &c, 1) != 1)
		return -1;
	close(p[0]);
	close(p[1]);
	snprintf(peer_path, sizeof(peer_path), "/proc/%d/ns/net", (int)child);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	return 0;
}

#define NEED_ROOT()                                                                         \
	do {                                                                                \
		if (geteuid() != 0)                                                         \
			skip();                                                             \
	} while (0)

static void netns_check(void **state)
{
	struct cni_error err = { 0 };

	(void)state;
	NEED_ROOT();
	assert_int_equal(netdev_netns_check(peer_path, &err), 0);
	assert_int_equal(netdev_netns_check("/proc/self/ns/uts", &err), -EINVAL);
	assert_int_equal(err.code, 4);
	memset(&err, 0, sizeof(err));
	assert_int_equal(netdev_netns_check("/etc/hostname", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "/etc/hostname"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(netdev_netns_check("/nonexistent/ns", &err), -ENOENT);
	/* the test's own netns (its "node"), by any name: refused, code 4 naming the path */
	memset(&err, 0, sizeof(err));
	assert_int_equal(netdev_netns_check("/proc/self/ns/net", &err), -EINVAL);
	assert_int_equal(err.code, 4);
	assert_non_null(strstr(err.msg, "/proc/self/ns/net"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(netdev_netns_check("/proc/thread-self/ns/net", &err), -EINVAL);
	assert_int_equal(err.code, 4);
	{
		struct netdev *nd = NULL;

		memset(&err, 0, sizeof(err));
		assert_int_equal(netdev_open("/proc/self/ns/net", &nd, &err), -EINVAL);
		assert_null(nd);
		assert_int_equal(err.code, 4);
	}
}

static void veth_addr_route_neigh(void **state)
{
	static const uint8_t hmac[6] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa };
	struct cni_error err = { 0 };
	struct netdev *nd = NULL, *pod = NULL;
	struct netdev_link h, p;
	struct netdev_addr *addrs = NULL;
	struct netdev_route *routes = NULL;
	struct ipnet_prefix ip;
	struct ipnet_addr gw;
	uint8_t mac[6];
	char val[16];
	int n, i, st, found = 0;

	(void)state;
	NEED_ROOT();
	assert_int_equal(netdev_open(NULL, &nd, &err), 0);
	assert_int_equal(netdev_open(peer_path, &pod, &err), 0);
	assert_int_equal(netdev_veth_create(nd, "azvtest0", hmac, pod, "eth0", 1400, &err), 0);
	/* the same names again: -EEXIST, code 103 naming the veth */
	assert_int_equal(netdev_veth_create(nd, "azvtest0", hmac, pod, "eth0", 1400, &err),
			 -EEXIST);
	assert_int_equal(err.code, 103);
	assert_non_null(strstr(err.msg, "azvtest0"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(netdev_link_get(nd, "azvtest0", 0, &h, &err), 0);
	assert_memory_equal(h.mac, hmac, 6);
	assert_int_equal(h.mtu, 1400);
	assert_string_equal(h.kind, "veth");
	assert_int_equal(netdev_link_get(nd, "eth0", 0, &p, &err), -ENODEV); /* not in node */
	assert_int_equal(netdev_link_get(pod, "eth0", 0, &p, &err), 0);
	assert_int_equal(p.mtu, 1400);
	assert_int_equal(netdev_link_set_up(nd, "azvtest0", true, &err), 0);
	assert_int_equal(netdev_link_set_up(pod, "eth0", true, &err), 0);

	assert_int_equal(ipnet_prefix_parse("10.240.0.5/16", false, &ip), 0);
	assert_int_equal(netdev_addr_add(pod, p.ifindex, &ip, &err), 0);
	assert_int_equal(netdev_addr_add(pod, p.ifindex, &ip, &err), -EEXIST);
	memset(&err, 0, sizeof(err));
	n = netdev_addr_list(pod, p.ifindex, IPNET_AF_INET, &addrs, &err);
	assert_int_equal(n, 1);
	assert_true(ipnet_addr_equal(&addrs[0].prefix.addr, &ip.addr));
	assert_int_equal(addrs[0].prefix.len, 16);
	free(addrs);

	/* kernel subnet route deleted, link route + default via 169.254.1.1 added */
	struct netdev_route sub = { .dst = ipnet_prefix_network(&ip), .ifindex = p.ifindex };
	assert_int_equal(netdev_route_del(pod, &sub, &err), 0);
	assert_int_equal(netdev_route_del(pod, &sub, &err), -ESRCH);
	assert_int_equal(ipnet_addr_parse("169.254.1.1", &gw), 0);
	struct netdev_route link = { .dst = { gw, 32 }, .ifindex = p.ifindex, .scope = RT_SCOPE_LINK };
	struct netdev_route def = { .dst = { .addr.family = IPNET_AF_INET }, .gw = gw,
				    .ifindex = p.ifindex };
	assert_int_equal(netdev_route_add(pod, &link, &err), 0);
	assert_int_equal(netdev_route_add(pod, &def, &err), 0);
	n = netdev_route_list(pod, IPNET_AF_INET, 0, p.ifindex, &routes, &err);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++)
		if (routes[i].dst.len == 0 && ipnet_addr_equal(&routes[i].gw, &gw))
			found++;
	assert_int_equal(found, 1);
	free(routes);

	assert_int_equal(netdev_neigh_set(pod, p.ifindex, &gw, hmac, &err), 0);
	assert_int_equal(netdev_neigh_set(pod, p.ifindex, &gw, hmac, &err), 0); /* replace */
	assert_int_equal(netdev_neigh_get(pod, p.ifindex, &gw, mac, &st, &err), 0);
	assert_memory_equal(mac, hmac, 6);
	assert_true(st & NUD_PERMANENT);
	assert_int_equal(netdev_neigh_del(pod, p.ifindex, &gw, &err), 0);
	assert_int_equal(netdev_neigh_get(pod, p.ifindex, &gw, mac, &st, &err), -ENOENT);

	/* sysctl per netns */
	assert_int_equal(netdev_sysctl_write(nd, "net/ipv4/conf/azvtest0/proxy_arp", "1", &err), 0);
	assert_int_equal(netdev_sysctl_read(nd, "net/ipv4/conf/azvtest0/proxy_arp", val,
					    sizeof(val), &err), 0);
	assert_string_equal(val, "1");
	assert_int_equal(netdev_sysctl_write(pod, "net/ipv4/ip_forward", "1", &err), 0);
	assert_int_equal(netdev_sysctl_read(nd, "net/ipv4/ip_forward", val, sizeof(val), &err), 0);
	assert_string_equal(val, "0"); /* the pod's forwarding is not the node's */
	assert_int_equal(netdev_sysctl_write(nd, "net/nope/nope", "1", &err), -ENOENT);

	/* host /32 route, then deleting the veth removes both ends */
	struct netdev_route host = { .dst = { ip.addr, 32 }, .ifindex = h.ifindex };
	assert_int_equal(netdev_route_add(nd, &host, &err), 0);
	assert_int_equal(netdev_link_delete(nd, "azvtest0", &err), 0);
	assert_int_equal(netdev_link_delete(nd, "azvtest0", &err), -ENODEV);
	assert_int_equal(netdev_link_get(pod, "eth0", 0, &p, &err), -ENODEV);
	assert_int_equal(err.code, 0);
	netdev_close(pod);
	netdev_close(nd);
}

static void bridge_master_hairpin(void **state)
{
	static const uint8_t bmac[6] = { 0x00, 0x0d, 0x3a, 0x01, 0x02, 0x03 };
	struct cni_error err = { 0 };
	struct netdev *nd = NULL;
	struct netdev_link b, h;

	(void)state;
	NEED_ROOT();
	assert_int_equal(netdev_open(NULL, &nd, &err), 0);
	assert_int_equal(netdev_bridge_create(nd, "aztestbr", bmac, &err), 0);
	assert_int_equal(netdev_bridge_create(nd, "aztestbr", bmac, &err), -EEXIST);
	memset(&err, 0, sizeof(err));
	assert_int_equal(netdev_link_get(nd, "aztestbr", 0, &b, &err), 0);
	assert_string_equal(b.kind, "bridge");
	assert_memory_equal(b.mac, bmac, 6);
	assert_int_equal(netdev_veth_create(nd, "aztestv0", NULL, NULL, "aztestv1", 0, &err), 0);
	assert_int_equal(netdev_link_set_master(nd, "aztestv0", "aztestbr", &err), 0);
	assert_int_equal(netdev_link_get(nd, "aztestv0", 0, &h, &err), 0);
	assert_int_equal(h.master, b.ifindex);
	assert_int_equal(netdev_bridge_port_hairpin(nd, "aztestv0", true, &err), 0);
	assert_int_equal(netdev_link_set_master(nd, "aztestv0", NULL, &err), 0);
	assert_int_equal(netdev_link_get(nd, "aztestv0", 0, &h, &err), 0);
	assert_int_equal(h.master, 0);
	assert_int_equal(netdev_link_rename(nd, "aztestv1", "aztestv2", &err), 0);
	assert_int_equal(netdev_link_get(nd, "aztestv2", 0, &h, &err), 0);
	assert_int_equal(netdev_link_set_master(nd, "nope0", "aztestbr", &err), -ENODEV);
	assert_int_equal(err.code, 103);
	assert_int_equal(netdev_link_delete(nd, "aztestv0", NULL), 0);
	assert_int_equal(netdev_link_delete(nd, "aztestbr", NULL), 0);
	netdev_close(nd);
}

/* One address on two links (a bridge taking over its port's), and a default route on each with
 * the same metric: netdev_route_add refuses the second (IPv4), netdev_route_append adds it once. */
static void route_append_two_links(void **state)
{
	struct cni_error err = { 0 };
	struct netdev *nd = NULL;
	struct netdev_link b, v;
	struct netdev_route *routes = NULL;
	struct ipnet_prefix ip;
	struct ipnet_addr gw;
	int n, i, defaults = 0;

	(void)state;
	NEED_ROOT();
	assert_int_equal(netdev_open(NULL, &nd, &err), 0);
	assert_int_equal(netdev_bridge_create(nd, "aztestbr1", NULL, &err), 0);
	assert_int_equal(netdev_veth_create(nd, "aztestv5", NULL, NULL, "aztestv6", 0, &err), 0);
	assert_int_equal(netdev_link_get(nd, "aztestbr1", 0, &b, &err), 0);
	assert_int_equal(netdev_link_get(nd, "aztestv5", 0, &v, &err), 0);
	assert_int_equal(netdev_link_set_up(nd, "aztestv6", true, &err), 0);
	assert_int_equal(netdev_link_set_up(nd, "aztestv5", true, &err), 0);
	assert_int_equal(netdev_link_set_up(nd, "aztestbr1", true, &err), 0);
	assert_int_equal(ipnet_prefix_parse("10.77.0.4/16", false, &ip), 0);
	assert_int_equal(ipnet_addr_parse("10.77.0.1", &gw), 0);
	assert_int_equal(netdev_addr_add(nd, v.ifindex, &ip, &err), 0);
	assert_int_equal(netdev_addr_add(nd, b.ifindex, &ip, &err), 0);
	struct netdev_route dv = { .dst = { .addr.family = IPNET_AF_INET }, .gw = gw,
				   .ifindex = v.ifindex };
	struct netdev_route db = dv;

	db.ifindex = b.ifindex;
	assert_int_equal(netdev_route_add(nd, &dv, &err), 0);
	assert_int_equal(netdev_route_add(nd, &db, NULL), -EEXIST);
	assert_int_equal(netdev_route_append(nd, &db, &err), 0);
	assert_int_equal(netdev_route_append(nd, &db, &err), -EEXIST);
	assert_int_equal(err.code, 0);
	n = netdev_route_list(nd, IPNET_AF_INET, 0, 0, &routes, &err);
	for (i = 0; i < n; i++)
		if (routes[i].dst.len == 0)
			defaults++;
	free(routes);
	assert_int_equal(defaults, 2);
	/* the link's address goes: its routes go, the bridge's stay */
	assert_int_equal(netdev_addr_del(nd, v.ifindex, &ip, &err), 0);
	n = netdev_route_list(nd, IPNET_AF_INET, 0, b.ifindex, &routes, &err);
	for (i = 0, defaults = 0; i < n; i++)
		if (routes[i].dst.len == 0)
			defaults++;
	free(routes);
	assert_int_equal(defaults, 1);
	assert_int_equal(netdev_route_del(nd, &db, &err), 0);
	assert_int_equal(netdev_route_del(nd, &db, &err), -ESRCH);
	assert_int_equal(netdev_link_delete(nd, "aztestv5", NULL), 0);
	assert_int_equal(netdev_link_delete(nd, "aztestbr1", NULL), 0);
	netdev_close(nd);
}

/* /proc/sys/@key read by its full path in the test's (node) netns, trailing newline cut. */
static void read_proc_sys(const char *key, char *buf, size_t size)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, size - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	if (buf[n - 1] == '\n')
		buf[n - 1] = '\0';
}

/* Sysctls through handles whose /proc/sys/net/<proto> fds were opened before the link existed
 * (node and pod netns each see their own), past the handle's slots (by the full path), and
 * a key that does not exist (-ENOENT, no error recorded). */
static void sysctl_through_dirfds(void **state)
{
	struct cni_error err = { 0 };
	struct netdev *nd = NULL, *pod = NULL;
	char val[32];

	(void)state;
	NEED_ROOT();
	assert_int_equal(netdev_open(NULL, &nd, &err), 0);
	assert_int_equal(netdev_open(peer_path, &pod, &err), 0);
	/* both handles' /proc/sys/net/ipv4 and ipv6 fds opened now, before the links below exist */
	assert_int_equal(netdev_sysctl_read(nd, "net/ipv4/conf/all/proxy_arp", val, sizeof(val),
					    &err), 0);
	assert_int_equal(netdev_sysctl_read(pod, "net/ipv4/conf/all/proxy_arp", val, sizeof(val),
					    &err), 0);
	assert_int_equal(netdev_sysctl_read(pod, "net/ipv6/conf/all/accept_ra", val, sizeof(val),
					    &err), 0);
	assert_int_equal(netdev_sysctl_read(nd, "kernel/ostype", val, sizeof(val), &err), 0);
	assert_string_equal(val, "Linux");
	assert_int_equal(netdev_veth_create(nd, "aztestpa0", NULL, pod, "aztestpa1", 0, &err), 0);
	read_proc_sys("net/ipv4/conf/aztestpa0/proxy_arp", val, sizeof(val));
	assert_string_equal(val, "0");

	assert_int_equal(netdev_sysctl_write(nd, "net/ipv4/conf/aztestpa0/proxy_arp", "1", &err),
			 0);
	read_proc_sys("net/ipv4/conf/aztestpa0/proxy_arp", val, sizeof(val));
	assert_string_equal(val, "1");
	/* only the one entry changed */
	read_proc_sys("net/ipv4/conf/aztestpa0/forwarding", val, sizeof(val));
	assert_string_equal(val, "0");

	/* the pod's end: set in the pod netns, not the node's */
	assert_int_equal(netdev_sysctl_write(pod, "net/ipv4/conf/aztestpa1/proxy_arp", "1", &err),
			 0);
	assert_int_equal(netdev_sysctl_read(pod, "net/ipv4/conf/aztestpa1/proxy_arp", val,
					    sizeof(val), &err), 0);
	assert_string_equal(val, "1");
	assert_int_equal(netdev_sysctl_write(pod, "net/ipv6/conf/aztestpa1/accept_ra", "0", &err),
			 0);
	assert_int_equal(netdev_sysctl_read(pod, "net/ipv6/conf/aztestpa1/accept_ra", val,
					    sizeof(val), &err), 0);
	assert_string_equal(val, "0");
	assert_int_equal(netdev_sysctl_read(nd, "net/ipv4/conf/aztestpa1/proxy_arp", val,
					    sizeof(val), &err), -ENOENT);
	assert_int_equal(err.code, 0);
	/* more protocols than the handle keeps directories for (4): the fifth by its full path,
	 * still the pod's own value */
	assert_int_equal(netdev_sysctl_read(pod, "net/core/somaxconn", val, sizeof(val), &err), 0);
	assert_int_equal(netdev_sysctl_read(pod, "net/unix/max_dgram_qlen", val, sizeof(val),
					    &err), 0);
	assert_int_equal(netdev_sysctl_write(pod, "net/mptcp/enabled", "0", &err), 0);
	assert_int_equal(netdev_sysctl_read(pod, "net/mptcp/enabled", val, sizeof(val), &err), 0);
	assert_string_equal(val, "0");
	read_proc_sys("net/mptcp/enabled", val, sizeof(val));
	assert_string_equal(val, "1");
	assert_int_equal(netdev_sysctl_read(pod, "net/nosuchprotocolatall/x", val, sizeof(val),
					    &err), -ENOENT);
	assert_int_equal(netdev_sysctl_read(pod, "net/nope/x", val, sizeof(val), &err), -ENOENT);
	assert_int_equal(err.code, 0);

	assert_int_equal(netdev_link_delete(nd, "aztestpa0", NULL), 0);
	netdev_close(pod);
	netdev_close(nd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(netns_check),
		cmocka_unit_test(veth_addr_route_neigh),
		cmocka_unit_test(bridge_master_hairpin),
		cmocka_unit_test(route_append_two_links),
		cmocka_unit_test(sysctl_through_dirfds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
