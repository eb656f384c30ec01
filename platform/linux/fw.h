/* SPDX-License-Identifier: MIT */
/* iptables and ebtables by argv exec (fork + execvp, never a shell), in the caller's network
 * namespace. Rules are NULL-terminated argv fragments after the chain name, e.g.
 * {"-s", "10.240.0.0/16", "-j", "AZURE-VNET-SNAT", NULL}. Adds are idempotent: iptables checks
 * with -C before -I/-A; ebtables (whose nft flavour cannot -C targets such as arpreply) deletes
 * any copy first and then appends. Deletes treat "does not exist" as success.
 * Errors: negative errno, code 103 naming the command and quoting its stderr. */
#ifndef AZCNI_FW_H
#define AZCNI_FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/ipnet.h"

/* Options shared by every call. wait: pass "-w 10" to iptables (below the 30 s network lock) (conf disableIPTableLock turns
 * it off). ipv6: the fw_ipt_* calls run ip6tables (same arguments) instead of iptables. The
 * binaries can be renamed with AZURE_CNI_IPTABLES / AZURE_CNI_IP6TABLES / AZURE_CNI_EBTABLES. */
struct fw_opts {
	bool wait;
	bool ipv6;
};

/* fw_exec - run @argv (argv[0] looked up in PATH) with stdin /dev/null; stdout and stderr are
 * captured into @out (NUL-terminated, truncated to @size; may be NULL). The child runs in its
 * own process group, dies with the plugin (PR_SET_PDEATHSIG), and its group is killed when it
 * ends (spawn.h). Returns the exit status (>= 0), or a negative errno when it could not run or
 * died by a signal (code 103), or -ETIMEDOUT when it ran longer than AZURE_CNI_EXEC_TIMEOUT_MS
 * (default 60 s; then its group is killed: code 11 naming argv[0]). */
int fw_exec(const char *const argv[], char *out, size_t size, struct cni_error *err);

/* fw_ipt_chain_ensure - create @chain in @table (-N) unless it exists. Returns 1 when created,
 * 0 when it existed, or -EIO. */
int fw_ipt_chain_ensure(const struct fw_opts *o, const char *table, const char *chain,
			struct cni_error *err);

/* fw_ipt_rule_check - is @rule in @table/@chain? Returns 1 present, 0 absent (or no such chain),
 * negative errno when iptables itself failed. */
int fw_ipt_rule_check(const struct fw_opts *o, const char *table, const char *chain,
		      const char *const rule[], struct cni_error *err);

/* fw_ipt_rule_ensure - add @rule unless present: appended (-A) when @append, else inserted
 * first (-I chain 1). Returns 1 when added, 0 when already present, or -EIO. */
int fw_ipt_rule_ensure(const struct fw_opts *o, const char *table, const char *chain,
		       bool append, const char *const rule[], struct cni_error *err);

/* fw_ipt_rule_delete - delete every copy of @rule; absent (or no chain) is success.
 * Returns the number deleted or -EIO. */
int fw_ipt_rule_delete(const struct fw_opts *o, const char *table, const char *chain,
		       const char *const rule[], struct cni_error *err);

/* fw_ipt_rule_delete_one - delete the first copy of @rule (-D once); absent (or no chain) is
 * success. Returns 1 deleted, 0 absent, or -EIO. */
int fw_ipt_rule_delete_one(const struct fw_opts *o, const char *table, const char *chain,
			   const char *const rule[], struct cni_error *err);

/* fw_ipt_chain_flush - remove every rule of @chain (-F); absent is success. */
int fw_ipt_chain_flush(const struct fw_opts *o, const char *table, const char *chain,
		       struct cni_error *err);

/* fw_ipt_chain_delete - flush and delete @chain; absent is success. */
int fw_ipt_chain_delete(const struct fw_opts *o, const char *table, const char *chain,
			struct cni_error *err);

/* fw_ebt_rule_ensure - exactly one copy of @rule at the end of @table/@chain (delete copies,
 * then -A). Returns 0 or -EIO. */
int fw_ebt_rule_ensure(const char *table, const char *chain, const char *const rule[],
		       struct cni_error *err);

/* fw_ebt_rule_delete - delete every copy of @rule; absent is success. Returns count or -EIO. */
int fw_ebt_rule_delete(const char *table, const char *chain, const char *const rule[],
		       struct cni_error *err);

/* fw_ebt_list - the rules of @table/@chain as ebtables -L prints them, one per line, into *ret
 * (malloc'd, NUL-terminated, caller frees; at most 1 MiB). MACs may be printed without leading
 * zeros (legacy ebtables) or with them (nft). Returns 0, or -EIO (code 103 quoting ebtables). */
int fw_ebt_list(const char *table, const char *chain, char **ret, struct cni_error *err);

/* fw_ipt_list - every rule of @table as `iptables -t <table> -S` prints them ("-A <chain>
 * <rule>", one per line), into *ret (malloc'd, NUL-terminated, caller frees; at most 1 MiB:
 * *ret_full is true when the listing filled that, so a rule may be missing from it). Returns 0,
 * or -EIO (code 103 quoting iptables). */
int fw_ipt_list(const struct fw_opts *o, const char *table, char **ret, bool *ret_full,
		struct cni_error *err);

/* A batch of ebtables rule commands for fw_ebt_batch, filled by fw_script_rule/fw_script_line
 * (zero-initialise it: struct fw_script sc = { 0 }). @bad: a line did not fit in @buf or holds
 * what ebtables-restore cannot read (white space or quotes inside a token). */
struct fw_script {
	char buf[4096];
	size_t len;
	unsigned n;
	bool bad;
};

/* fw_script_rule - append "-A|-D <chain> <rule...>" (@add: -A) to @sc; @rule as in fw.h's
 * argv fragments, so the line is the same rule fw_ebt_rule_ensure/delete would run. */
void fw_script_rule(struct fw_script *sc, bool add, const char *chain, const char *const rule[]);

/* fw_script_line - append "-A|-D <chain> <text>" to @sc; @text a rule as fw_ebt_list prints it
 * (one line of `ebtables -L`, which ebtables reads back as the same rule). */
void fw_script_line(struct fw_script *sc, bool add, const char *chain, const char *text);

/* fw_ebt_batch - apply every command of @sc to @table in one run of `ebtables-restore --noflush`
 * (AZURE_CNI_EBTABLES_RESTORE renames it), the script on its stdin: one exec instead of one per
 * rule, and with the nft backend one transaction, all or nothing (a -D of an absent rule fails
 * the whole batch). The rules are the ones the per-rule calls make, so ebtables -D (the Go
 * plugin's, ACN ebtables/ebtables.go) finds them. Returns 0 (nothing to do when @sc is empty),
 * -ENOTSUP when no batch can be run (@sc->bad, no restore program, or AZURE_CNI_EBTABLES is set
 * without AZURE_CNI_EBTABLES_RESTORE: a renamed ebtables is obeyed rule by rule), or -EIO
 * (code 103 quoting ebtables-restore) when the batch failed. Callers fall back to the per-rule
 * calls on any error. */
int fw_ebt_batch(const char *table, const struct fw_script *sc, struct cni_error *err);

/* fw_ebt_nft_holding - how many rules of the nf_tables bridge table @table, chain @chain (where
 * ebtables-nft keeps `ebtables -t <table>`'s rules), hold the @len bytes @needle anywhere in
 * their netlink attributes (an address in network order: ebtables-nft keeps --ip-dst,
 * --ip6-dst and --arp-ip-dst as raw bytes, in a native comparison or the xt match's info). One
 * NFT_MSG_GETRULE dump on a NETLINK_NETFILTER socket of the caller's netns: no exec. It may
 * count a rule that only happens to hold those bytes, never misses one that matches them.
 * Returns the count with *ret_total the chain's rule count, -ENOTSUP when the ebtables in use
 * is not ebtables-nft (AZURE_CNI_EBTABLES set, or ebtables-restore not a link to
 * xtables-nft-multi), -ENOENT when there is no such table or chain, or another negative errno. */
int fw_ebt_nft_holding(const char *table, const char *chain, const void *needle, size_t len,
		       unsigned *ret_total);

/* One pod rule of the two kinds the bridge modes make, for fw_ebt_nft_append:
 *   ARP reply (@dnat false, @ip IPv4): -p ARP --arp-op Request --arp-ip-dst <ip>
 *                                      -j arpreply --arpreply-mac <mac>
 *   MAC DNAT (@dnat true):             -p IPv4|IPv6 -i <iif> --ip-dst|--ip6-dst <ip>
 *                                      -j dnat --to-dst <mac> --dnat-target ACCEPT
 * @iif (DNAT only; NULL for none) is borrowed, at most IFNAMSIZ - 1 bytes. */
struct fw_ebt_nft_rule {
	bool dnat;
	struct ipnet_addr ip;
	uint8_t mac[6];
	const char *iif;
};

/* fw_ebt_nft_append - append @n rules to the nf_tables bridge table @table, chain @chain, in one
 * nf_tables transaction (one sendmsg on a NETLINK_NETFILTER socket of the caller's netns: no
 * exec), encoded exactly as ebtables-nft 1.8.9 (iptables 1.8.9, nft-bridge.c) encodes the same
 * rules given to ebtables -A: the protocol as a payload comparison of the Ethernet type, -i as a
 * meta iifname comparison, --arp-op, --arp-ip-dst, --ip-dst, --ip6-dst as the xtables "arp"/"ip"/"ip6" match
 * (struct ebt_arp_info, ebt_ip_info, ebt_ip6_info of <linux/netfilter_bridge/>), a counter, the
 * "arpreply"/"dnat" target (ebt_arpreply_info, ebt_nat_info) and NFTA_RULE_COMPAT carrying the
 * Ethernet type; so `ebtables -L` prints them as the text rules and `ebtables -D` (the Go
 * plugin's) deletes them. Returns 0 when every rule was added, -ENOTSUP when the ebtables in use
 * is not ebtables-nft (as fw_ebt_nft_holding) or a rule is not of the forms above, or another
 * negative errno (the kernel's answer, e.g. -ENOENT without the table or chain) with nothing
 * added: the transaction is all or nothing. Callers fall back to fw_ebt_batch on any error. */
int fw_ebt_nft_append(const char *table, const char *chain, const struct fw_ebt_nft_rule *rules,
		      size_t n);
#endif
