/* SPDX-License-Identifier: MIT */
/* Linux test of platform_ifname_by_mac against the kernel, in a network namespace (with its own
 * sysfs, as ip netns exec mounts it) that a forked child creates: bridges are skipped, the MAC
 * matches in any case, malformed MACs and short buffers are -ENOENT. Root only; skipped
 * otherwise. The child reports through its exit status. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/platform.h"

#define CHILD_SKIP 77

static int ifname_child(void)
{
	char buf[32] = "";

	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0 ||
	    mount("", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    umount2("/sys", MNT_DETACH) < 0 || mount("sysfs", "/sys", "sysfs", 0, NULL) < 0)
		return CHILD_SKIP;
	/* The bridge comes first (the lower ifindex) and carries the MAC too. */
	if (system("ip link add azt-br0 address 02:a1:b2:c3:d4:e5 type bridge && "
		   "ip link add azt-v0 address 02:a1:b2:c3:d4:e5 type veth peer name azt-v1 && "
		   "ip link set azt-br0 address 02:a1:b2:c3:d4:e5") != 0)
		return CHILD_SKIP;
	if (platform_ifname_by_mac("02A1B2C3D4E5", buf, sizeof(buf)) != 0)
		return 1;
	if (strcmp(buf, "azt-v0") != 0)
		return 2;
	if (platform_ifname_by_mac("02a1b2c3d4e5", buf, sizeof(buf)) != 0 ||
	    strcmp(buf, "azt-v0") != 0)
		return 3;
	if (platform_ifname_by_mac("02a1b2c3d4e5", buf, 4) != -ENOENT)
		return 4;
	if (platform_ifname_by_mac("02A1B2C3D4EX", buf, sizeof(buf)) != -ENOENT)
		return 5;
	return 0;
}

static void test_ifname_by_mac_skips_bridge(void **state)
{
	int status = 0;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(ifname_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == CHILD_SKIP)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ifname_by_mac_skips_bridge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
