/* SPDX-License-Identifier: MIT */
/* fw's nf_tables path against the real kernel and the real ebtables-nft, inside a network
 * namespace this test makes with unshare (the host's own is never touched): rules appended by
 * fw_ebt_nft_append must be the rules ebtables itself makes from the same text (listed as that
 * text, deleted by ebtables -D with it, as the Go plugin deletes them). Skipped when not root or
 * when the ebtables in use is not ebtables-nft. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/linux/fw.h"

static bool usable;

static int setup(void **state)
{
	char *list = NULL;
	unsigned total;

	(void)state;
	if (geteuid() != 0)
		return 0;
	if (unshare(CLONE_NEWNET) < 0)
		return -1;
	/* ebtables-nft makes the nat table and its chain on the first change (a policy, here),
	 * as the network's own rules make them on a node */
	{
		const char *const policy[] = { "ebtables", "-t", "nat", "-P", "PREROUTING", "ACCEPT",
					       NULL };

		if (fw_exec(policy, NULL, 0, NULL) != 0)
			return 0;
	}
	if (fw_ebt_list("nat", "PREROUTING", &list, NULL) < 0)
		return 0;
	free(list);
	usable = fw_ebt_nft_holding("nat", "PREROUTING", "x", 1, &total) >= 0;
	return 0;
}

#define NEED_NFT()                                                                          \
	do {                                                                                \
		if (!usable)                                                                \
			skip();                                                             \
	} while (0)

static struct ipnet_addr addr(const char *s)
{
	struct ipnet_addr a;

	assert_int_equal(ipnet_addr_parse(s, &a), 0);
	return a;
}

/* The chain's listing, without its header lines */
static char *rules_listed(void)
{
	char *list = NULL;

	assert_int_equal(fw_ebt_list("nat", "PREROUTING", &list, NULL), 0);
	return list;
}

static void same_rules_as_ebtables(void **state)
{
	const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x05 };
	struct fw_ebt_nft_rule r[3] = {
		{ .dnat = false, .ip = addr("10.240.0.5"), .iif = NULL },
		{ .dnat = true, .ip = addr("10.240.0.5"), .iif = "azure0" },
		{ .dnat = true, .ip = addr("fd00:10:240::5"), .iif = "azure0" },
	};
	const char *const arp[] = { "-p", "ARP", "--arp-op", "Request", "--arp-ip-dst",
				    "10.240.0.5", "-j", "arpreply", "--arpreply-mac",
				    "02:11:22:33:44:05", NULL };
	const char *const dnat[] = { "-p", "IPv4", "-i", "azure0", "--ip-dst", "10.240.0.5", "-j",
				     "dnat", "--to-dst", "02:11:22:33:44:05", "--dnat-target",
				     "ACCEPT", NULL };
	const char *const dnat6[] = { "-p", "IPv6", "-i", "azure0", "--ip6-dst", "fd00:10:240::5",
				      "-j", "dnat", "--to-dst", "02:11:22:33:44:05",
				      "--dnat-target", "ACCEPT", NULL };
	struct ipnet_addr v4 = addr("10.240.0.5");
	unsigned total = 0;
	char *list;

	(void)state;
	NEED_NFT();
	for (int i = 0; i < 3; i++)
		memcpy(r[i].mac, mac, 6);
	assert_int_equal(fw_ebt_nft_append("nat", "PREROUTING", r, 3), 0);
	list = rules_listed();
	assert_non_null(strstr(list, "-p ARP --arp-op Request --arp-ip-dst 10.240.0.5 -j arpreply "
				     "--arpreply-mac 02:11:22:33:44:05\n"));
	assert_non_null(strstr(list, "-p IPv4 -i azure0 --ip-dst 10.240.0.5 -j dnat --to-dst "
				     "02:11:22:33:44:05 --dnat-target ACCEPT\n"));
	assert_non_null(strstr(list, "-p IPv6 -i azure0 --ip6-dst fd00:10:240::5 -j dnat --to-dst "
				     "02:11:22:33:44:05 --dnat-target ACCEPT\n"));
	free(list);
	assert_int_equal(fw_ebt_nft_holding("nat", "PREROUTING", v4.bytes, 4, &total), 2);
	assert_int_equal(total, 3);
	/* ebtables -D with the text finds each: the same rule, byte for byte as ebtables compares */
	assert_int_equal(fw_ebt_rule_delete("nat", "PREROUTING", arp, NULL), 1);
	assert_int_equal(fw_ebt_rule_delete("nat", "PREROUTING", dnat, NULL), 1);
	assert_int_equal(fw_ebt_rule_delete("nat", "PREROUTING", dnat6, NULL), 1);
	assert_int_equal(fw_ebt_nft_holding("nat", "PREROUTING", v4.bytes, 4, &total), 0);
	assert_int_equal(total, 0);
}

static void all_or_nothing(void **state)
{
	struct fw_ebt_nft_rule r = { .dnat = true, .ip = addr("10.240.0.6"), .iif = "azure0" };
	struct fw_ebt_nft_rule bad = { .dnat = false, .ip = addr("fd00::6") };
	unsigned total = 0;

	(void)state;
	NEED_NFT();
	/* no such chain: the kernel's answer, nothing made */
	assert_int_equal(fw_ebt_nft_append("nat", "AZURE-NOPE", &r, 1), -ENOENT);
	assert_int_equal(fw_ebt_nft_holding("nat", "AZURE-NOPE", "x", 1, &total), 0);
	assert_int_equal(total, 0);
	/* a form it does not encode (an ARP reply for an IPv6 address), an over-long name */
	assert_int_equal(fw_ebt_nft_append("nat", "PREROUTING", &bad, 1), -ENOTSUP);
	r.iif = "a-name-longer-than-ifnamsiz";
	assert_int_equal(fw_ebt_nft_append("nat", "PREROUTING", &r, 1), -ENOTSUP);
	assert_int_equal(fw_ebt_nft_holding("nat", "PREROUTING", "x", 1, &total), 0);
	assert_int_equal(total, 0);
	/* a renamed ebtables is obeyed by exec, rule by rule: not this path */
	r.iif = "azure0";
	setenv("AZURE_CNI_EBTABLES", "ebtables-legacy", 1);
	assert_int_equal(fw_ebt_nft_append("nat", "PREROUTING", &r, 1), -ENOTSUP);
	unsetenv("AZURE_CNI_EBTABLES");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_rules_as_ebtables),
		cmocka_unit_test(all_or_nothing),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
