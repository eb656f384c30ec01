/* SPDX-License-Identifier: MIT */
/* iptables/ebtables by fork + execvp with an argv array (see fw.h), each a child that dies with
 * the plugin and is bounded in time (spawn.h). */
#define _GNU_SOURCE
#include "fw.h"
#include "spawn.h"
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_bridge/ebt_arp.h>
#include <linux/netfilter_bridge/ebt_arpreply.h>
#include <linux/netfilter_bridge/ebt_ip.h>
#include <linux/netfilter_bridge/ebt_ip6.h>
#include <linux/netfilter_bridge/ebt_nat.h>
#include <linux/netfilter_bridge/ebtables.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define FW_ARGV_MAX 64
#define FW_MAX_COPIES 16   /* bound on the delete loops */
#define FW_XTABLES_WAIT_S "10" /* iptables -w, seconds */

/* Read the child's output from @fd into @out (@size bytes, *used filled so far; the rest goes
 * to a sink) until the child has exited and its output is read (@pidfd; -1: until EOF), or
 * @deadline (monotonic ms) passes. Returns 0, -ETIMEDOUT or a negative errno. */
static int collect(int fd, int pidfd, long long deadline, char *out, size_t size, size_t *used)
{
	bool exited = false, eof = false;
	char sink[256];

	for (;;) {
		char *dst = out && *used + 1 < size ? out + *used : sink;
		size_t room = out && *used + 1 < size ? size - 1 - *used : sizeof(sink);
		long long left = deadline - spawn_now_ms();
		struct pollfd p[2] = { { .fd = eof ? -1 : fd, .events = POLLIN },
				       { .fd = pidfd, .events = POLLIN } };
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(p, pidfd >= 0 && !exited ? 2 : 1,
			 exited ? 0 : left > INT_MAX ? INT_MAX : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (pidfd >= 0 && p[1].revents) {
			exited = true;
			continue;
		}
		if (n == 0 || eof) {
			if (exited)
				return 0; /* the child is gone and its output read */
			continue;
		}
		n = read(fd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			/* its stdout closed: without a pidfd that is the end; else wait (bounded)
			 * for the exit itself */
			if (pidfd < 0 || exited)
				return 0;
			eof = true;
			continue;
		}
		if (dst != sink)
			*used += (size_t)n;
	}
}

/* fw_exec with @stdin_fd as the child's stdin (-1: /dev/null). */
static int exec_in(const char *const argv[], int stdin_fd, char *out, size_t size,
		   struct cni_error *err)
{
	int pfd[2], status, r, rr, pidfd;
	unsigned timeout = spawn_timeout_ms();
	size_t used = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return cni_error_set(err, -errno, CNI_CODE_NETWORK, "pipe: %s", strerror(errno));
	r = spawn_start(&(struct spawn_opts){ .path = argv[0], .argv = argv, .search = true,
					     .stdin_fd = stdin_fd, .stdout_fd = pfd[1],
					     .stderr_fd = pfd[1] },
			CNI_CODE_NETWORK, &pid, err);
	close(pfd[1]);
	if (r < 0) {
		close(pfd[0]);
		return r;
	}
	pidfd = spawn_pidfd(pid);
	/* whatever the child left holding the pipe is killed by spawn_reap */
	r = collect(pfd[0], pidfd, spawn_now_ms() + timeout, out, size, &used);
	if (pidfd >= 0)
		close(pidfd);
	close(pfd[0]);
	if (out && size)
		out[used] = '\0';
	/* every path ends the child's whole group; a hung one is killed first */
	rr = spawn_reap(pid, r < 0, &status);
	if (rr < 0 && r == 0)
		r = rr;
	if (r == -ETIMEDOUT)
		return cni_error_set(err, r, CNI_CODE_TRY_AGAIN, "%s timed out after %u ms (killed)",
				     argv[0], timeout);
	if (r < 0)
		return cni_error_set(err, r, CNI_CODE_NETWORK, "run %s: %s", argv[0], strerror(-r));
	platform_fault_point("exec");
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return cni_error_set(err, -EINTR, CNI_CODE_NETWORK, "%s killed by signal %d", argv[0],
			     WTERMSIG(status));
}

int fw_exec(const char *const argv[], char *out, size_t size, struct cni_error *err)
{
	return exec_in(argv, -1, out, size, err);
}

static const char *bin(const char *env, const char *def)
{
	const char *v = getenv(env);

	return v && v[0] ? v : def;
}

/* argv = <bin> [-w 10] -t <table> <op> <chain> [pos] <rule...> */
static int build(const char **argv, const char *prog, bool wait, const char *table,
		 const char *op, const char *chain, const char *pos, const char *const rule[])
{
	int n = 0;

	argv[n++] = prog;
	/* Shorter than the network lock's 30 s: a caller holding that lock (one-time network
	 * creation) behind a stuck xtables lock must fail before its waiters time out. */
	if (wait) {
		argv[n++] = "-w";
		argv[n++] = FW_XTABLES_WAIT_S;
	}
	argv[n++] = "-t";
	argv[n++] = table;
	argv[n++] = op;
	argv[n++] = chain;
	if (pos)
		argv[n++] = pos;
	for (; rule && *rule; rule++) {
		if (n >= FW_ARGV_MAX - 1)
			return -E2BIG;
		argv[n++] = *rule;
	}
	argv[n] = NULL;
	return n;
}

/* Text of the command for messages. */
static void cmdline(const char *const argv[], char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (; *argv && used + 1 < size; argv++) {
		int w = snprintf(buf + used, size - used, "%s%s", used ? " " : "", *argv);

		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* Run and turn a failure into code 103 with the command and its output. */
static int run(const char *const argv[], int ok_max, struct cni_error *err)
{
	char out[1024], cmd[1024];
	int st = fw_exec(argv, out, sizeof(out), err);

	if (st < 0 || st <= ok_max)
		return st;
	chomp(out);
	cmdline(argv, cmd, sizeof(cmd));
	cni_error_set(err, -EIO, CNI_CODE_NETWORK, "%s failed (exit %d): %s", cmd, st, out);
	return -EIO;
}

/* iptables, or ip6tables for @o->ipv6 */
static const char *ipt(const struct fw_opts *o)
{
	if (o->ipv6)
		return bin("AZURE_CNI_IP6TABLES", "ip6tables");
	return bin("AZURE_CNI_IPTABLES", "iptables");
}

static const char *ebt(void)
{
	return bin("AZURE_CNI_EBTABLES", "ebtables");
}

int fw_ipt_chain_ensure(const struct fw_opts *o, const char *table, const char *chain,
			struct cni_error *err)
{
	const char *argv[FW_ARGV_MAX];
	int st;

	build(argv, ipt(o), o->wait, table, "-L", chain, NULL, (const char *const[]){ "-n", NULL });
	st = run(argv, 255, err);
	if (st < 0)
		return st;
	if (st == 0)
		return 0;
	build(argv, ipt(o), o->wait, table, "-N", chain, NULL, NULL);
	st = run(argv, 0, err);
	if (st < 0)
		return st;
	return 1;
}

int fw_ipt_rule_check(const struct fw_opts *o, const char *table, const char *chain,
		      const char *const rule[], struct cni_error *err)
{
	const char *argv[FW_ARGV_MAX];
	int st;

	if (build(argv, ipt(o), o->wait, table, "-C", chain, NULL, rule) < 0)
		return cni_error_set(err, -E2BIG, CNI_CODE_INTERNAL, "iptables rule too long");
	st = run(argv, 1, err);
	if (st < 0)
		return st;
	return st == 0 ? 1 : 0;
}

int fw_ipt_rule_ensure(const struct fw_opts *o, const char *table, const char *chain,
		       bool append, const char *const rule[], struct cni_error *err)
{
	const char *argv[FW_ARGV_MAX];
	int r;

	r = fw_ipt_rule_check(o, table, chain, rule, err);
	if (r != 0)
		return r < 0 ? r : 0;
	if (build(argv, ipt(o), o->wait, table, append ? "-A" : "-I", chain, append ? NULL : "1",
		  rule) < 0)
		return cni_error_set(err, -E2BIG, CNI_CODE_INTERNAL, "iptables rule too long");
	r = run(argv, 0, err);
	return r < 0 ? r : 1;
}

int fw_ipt_rule_delete(const struct fw_opts *o, const char *table, const char *chain,
		       const char *const rule[], struct cni_error *err)
{
	const char *argv[FW_ARGV_MAX];
	int i, st;

	if (build(argv, ipt(o), o->wait, table, "-D", chain, NULL, rule) < 0)
		return cni_error_set(err, -E2BIG, CNI_CODE_INTERNAL, "iptables rule too long");
	for (i = 0; i < FW_MAX_COPIES; i++) {
		/* exit 1: no such rule or chain (done); 2+: a real failure */
		st = run(argv, 1, err);
		if (st < 0)
			return st;
		if (st == 1)
			break;
	}
	return i;
}

int fw_ipt_rule_delete_one(const struct fw_opts *o, const char *table, const char *chain,
			   const char *const rule[], struct cni_error *err)
{
	const char *argv[FW_ARGV_MAX];
	int st;

	if (build(argv, ipt(o), o->wait, table, "-D", chain, NULL, rule) < 0)
		return cni_error_set(err, -E2BIG, CNI_CODE_INTERNAL, "iptables rule too long");
	st = run(argv, 1, err);  /* exit 1: no such rule or chain */
	return st < 0 ? st : st == 0;
}

int fw_ipt_chain_flush(const struct fw_opts *o, const char *table, const char *chain,
		       struct cni_error *err)
{
	const char *argv[FW_ARGV_MAX];
	int st;

	build(argv, ipt(o), o->wait, table, "-F", chain, NULL, NULL);
	st = run(argv, 1, err);
	return st < 0 ? st : 0;
}

int fw_ipt_chain_delete(const struct fw_opts *o, const char *table, const char *chain,
			struct cni_error *err)
{
	const char *argv[FW_ARGV_MAX];
	int st;

	build(argv, ipt(o), o->wait, table, "-F", chain, NULL, NULL);
	st = run(argv, 1, err);
	if (st < 0 || st == 1)
		return st < 0 ? st : 0;
	build(argv, ipt(o), o->wait, table, "-X", chain, NULL, NULL);
	st = run(argv, 1, err);
	return st < 0 ? st : 0;
}

int fw_ebt_rule_delete(const char *table, const char *chain, const char *const rule[],
		       struct cni_error *err)
{
	const char *argv[FW_ARGV_MAX];
	int i, st;

	if (build(argv, ebt(), false, table, "-D", chain, NULL, rule) < 0)
		return cni_error_set(err, -E2BIG, CNI_CODE_INTERNAL, "ebtables rule too long");
	for (i = 0; i < FW_MAX_COPIES; i++) {
		st = run(argv, 1, err);
		if (st < 0)
			return st;
		if (st == 1)
			break;
	}
	return i;
}

int fw_ebt_rule_ensure(const char *table, const char *chain, const char *const rule[],
		       struct cni_error *err)
{
	const char *argv[FW_ARGV_MAX];
	int r;

	r = fw_ebt_rule_delete(table, chain, rule, err);
	if (r < 0)
		return r;
	if (build(argv, ebt(), false, table, "-A", chain, NULL, rule) < 0)
		return cni_error_set(err, -E2BIG, CNI_CODE_INTERNAL, "ebtables rule too long");
	r = run(argv, 0, err);
	return r < 0 ? r : 0;
}

/* Runs a listing command into *ret (malloc'd, up to 1 MiB; *ret_full when it filled the buffer,
 * so lines may be missing). */
static int list(const char *const argv[], char **ret, bool *ret_full, struct cni_error *err)
{
	const size_t size = 1u << 20;
	char *out;
	int st;

	out = malloc(size);
	if (!out)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	st = fw_exec(argv, out, size, err);
	if (st < 0) {
		free(out);
		return st;
	}
	if (st != 0) {
		char cmd[256];

		cmdline(argv, cmd, sizeof(cmd));
		cni_error_set(err, -EIO, CNI_CODE_NETWORK, "%s failed (exit %d): %.200s", cmd, st, out);
		free(out);
		return -EIO;
	}
	if (ret_full)
		*ret_full = strlen(out) >= size - 1;
	*ret = out;
	return 0;
}

int fw_ebt_list(const char *table, const char *chain, char **ret, struct cni_error *err)
{
	const char *argv[FW_ARGV_MAX];

	build(argv, ebt(), false, table, "-L", chain, NULL, NULL);
	return list(argv, ret, NULL, err);
}

int fw_ipt_list(const struct fw_opts *o, const char *table, char **ret, bool *ret_full,
		struct cni_error *err)
{
	const char *argv[FW_ARGV_MAX];

	build(argv, ipt(o), o->wait, table, "-S", NULL, NULL, NULL);
	return list(argv, ret, ret_full, err);
}

/* Append @s to the script; false (and the script marked bad) when it does not fit. */
static bool script_put(struct fw_script *sc, const char *s)
{
	size_t n = strlen(s);

	if (sc->bad || sc->len + n + 1 > sizeof(sc->buf)) {
		sc->bad = true;
		return false;
	}
	memcpy(sc->buf + sc->len, s, n + 1);
	sc->len += n;
	return true;
}

void fw_script_rule(struct fw_script *sc, bool add, const char *chain, const char *const rule[])
{
	script_put(sc, add ? "-A " : "-D ");
	script_put(sc, chain);
	for (; rule && *rule; rule++) {
		/* restore splits its lines at white space and reads quotes: a token holding either
		 * cannot be given to it as the argv form gives it to ebtables */
		if (!**rule || strpbrk(*rule, " \t\n\r\"'\\"))
			sc->bad = true;
		script_put(sc, " ");
		script_put(sc, *rule);
	}
	script_put(sc, "\n");
	sc->n++;
}

void fw_script_line(struct fw_script *sc, bool add, const char *chain, const char *text)
{
	if (strpbrk(text, "\n\r\"'\\"))
		sc->bad = true;
	script_put(sc, add ? "-A " : "-D ");
	script_put(sc, chain);
	script_put(sc, " ");
	script_put(sc, text);
	script_put(sc, "\n");
	sc->n++;
}

int fw_ebt_batch(const char *table, const struct fw_script *sc, struct cni_error *err)
{
	const char *argv[] = { bin("AZURE_CNI_EBTABLES_RESTORE", "ebtables-restore"), "--noflush",
			       NULL };
	char head[64], out[1024], cmd[256];
	int fd, st;

	/* a renamed ebtables (AZURE_CNI_EBTABLES) is obeyed rule by rule unless its restore
	 * program is named as well */
	if (sc->bad || (getenv("AZURE_CNI_EBTABLES") && getenv("AZURE_CNI_EBTABLES")[0] &&
			!getenv("AZURE_CNI_EBTABLES_RESTORE")))
		return -ENOTSUP;
	if (!sc->n)
		return 0;
	fd = memfd_create("ebtables-restore", MFD_CLOEXEC);
	if (fd < 0)
		return -ENOTSUP;
	snprintf(head, sizeof(head), "*%s\n", table);
	if (write(fd, head, strlen(head)) != (ssize_t)strlen(head) ||
	    write(fd, sc->buf, sc->len) != (ssize_t)sc->len || write(fd, "COMMIT\n", 7) != 7 ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return -ENOTSUP;
	}
	st = exec_in(argv, fd, out, sizeof(out), err);
	close(fd);
	if (st < 0)
		return st;
	if (st == 127)
		return -ENOTSUP; /* no restore program (spawn.h: exit 127 is an exec failure) */
	if (st == 0)
		return 0;
	chomp(out);
	cmdline(argv, cmd, sizeof(cmd));
	return cni_error_set(err, -EIO, CNI_CODE_NETWORK, "%s -t %s failed (exit %d): %s", cmd,
			     table, st, out);
}

/* Is the ebtables-restore fw_ebt_batch runs the nf_tables one (a link to xtables-nft-multi)?
 * Then the kernel's nf_tables bridge family holds what ebtables lists. Looked up once per
 * process (a bridge ADD asks twice: fw_ebt_nft_holding, then fw_ebt_nft_append); a renamed
 * ebtables (AZURE_CNI_EBTABLES) is never it. */
static bool ebt_is_nft_probe(void);

static bool ebt_is_nft(void)
{
	static int known = -1;

	if (getenv("AZURE_CNI_EBTABLES") && getenv("AZURE_CNI_EBTABLES")[0])
		return false;
	if (known < 0)
		known = ebt_is_nft_probe();
	return known;
}

static bool ebt_is_nft_probe(void)
{
	const char *prog = bin("AZURE_CNI_EBTABLES_RESTORE", "ebtables-restore"), *path, *end;
	char cand[PATH_MAX], real[PATH_MAX], *base;

	path = strchr(prog, '/') ? "" : getenv("PATH");
	for (; path; path = *end ? end + 1 : NULL) {
		end = strchrnul(path, ':');
		if (snprintf(cand, sizeof(cand), "%.*s%s%s", (int)(end - path), path,
			     end > path ? "/" : "", prog) >= (int)sizeof(cand))
			continue;
		if (access(cand, X_OK) == 0) {
			if (!realpath(cand, real))
				return false;
			base = strrchr(real, '/');
			return base && strcmp(base + 1, "xtables-nft-multi") == 0;
		}
	}
	return false;
}

/* Count the rules of one nf_tables dump answer in @buf (@n bytes): *total each, *holding those
 * whose attributes hold @needle. Returns 1 at the dump's end, 0 for more, or a negative errno. */
static int nft_count(const char *buf, size_t n, const void *needle, size_t len, unsigned *total,
		     unsigned *holding)
{
	const struct nlmsghdr *h = (const struct nlmsghdr *)buf;

	for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			return e->error ? e->error : 1;
		}
		if ((h->nlmsg_type & 0xff) != NFT_MSG_NEWRULE)
			continue;
		(*total)++;
		if (memmem(NLMSG_DATA(h), h->nlmsg_len - NLMSG_HDRLEN, needle, len))
			(*holding)++;
	}
	return 0;
}

static int batch_put(char *batch, size_t cap, size_t *used, uint16_t type, uint16_t flags,
		     uint32_t seq, uint8_t family, uint16_t res_id, const char *table,
		     const char *chain, const struct fw_ebt_nft_rule *r);

int fw_ebt_nft_holding(const char *table, const char *chain, const void *needle, size_t len,
		       unsigned *ret_total)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	unsigned total = 0, holding = 0;
	char req[512], *buf;
	size_t used = 0;
	int fd, r;

	if (!ebt_is_nft())
		return -ENOTSUP;
	/* the dump of one chain (nf_tables_getrule: table and chain filter a dump) */
	r = batch_put(req, sizeof(req), &used, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE,
		      NLM_F_REQUEST | NLM_F_DUMP, 1, NFPROTO_BRIDGE, 0, table, chain, NULL);
	if (r)
		return r;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0)
		return -errno;
	buf = malloc(1u << 16);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	if (sendto(fd, req, used, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		r = -errno;
	while (r == 0) {
		ssize_t n = recv(fd, buf, 1u << 16, 0);

		if (n < 0 && errno == EINTR)
			continue;
		r = n < 0 ? -errno : n == 0 ? -EIO :
			nft_count(buf, (size_t)n, needle, len, &total, &holding);
	}
	free(buf);
	close(fd);
	if (r < 0)
		return r;
	*ret_total = total;
	return (int)holding;
}

/* ---- appending ebtables-nft rules over netlink (fw_ebt_nft_append) ---- */

/* Open an expression of @name in @m's expression list: NFTA_LIST_ELEM { NFTA_EXPR_NAME,
 * NFTA_EXPR_DATA { ... } }. *ret_elem is the element's nest; the data nest is returned (NULL when
 * @m is full). Close both with expr_end. */
static struct nlattr *expr_begin(struct nl_msg *m, const char *name, struct nlattr **ret_elem)
{
	*ret_elem = nla_nest_start(m, NFTA_LIST_ELEM | NLA_F_NESTED);
	if (!*ret_elem || nla_put_string(m, NFTA_EXPR_NAME, name) < 0)
		return NULL;
	return nla_nest_start(m, NFTA_EXPR_DATA | NLA_F_NESTED);
}

static int expr_end(struct nl_msg *m, struct nlattr *elem, struct nlattr *data)
{
	if (!data)
		return -EMSGSIZE;
	nla_nest_end(m, data);
	nla_nest_end(m, elem);
	return 0;
}

/* payload: the @len bytes at @offset of the link-layer header into register 1 */
static int expr_payload(struct nl_msg *m, uint32_t offset, uint32_t len)
{
	struct nlattr *e, *d = expr_begin(m, "payload", &e);

	if (d && (nla_put_u32(m, NFTA_PAYLOAD_DREG, htonl(NFT_REG_1)) < 0 ||
		  nla_put_u32(m, NFTA_PAYLOAD_BASE, htonl(NFT_PAYLOAD_LL_HEADER)) < 0 ||
		  nla_put_u32(m, NFTA_PAYLOAD_OFFSET, htonl(offset)) < 0 ||
		  nla_put_u32(m, NFTA_PAYLOAD_LEN, htonl(len)) < 0))
		d = NULL;
	return expr_end(m, e, d);
}

/* cmp: register 1 equals the @len bytes @v */
static int expr_cmp_eq(struct nl_msg *m, const void *v, int len)
{
	struct nlattr *e, *d = expr_begin(m, "cmp", &e), *data;

	if (d && (nla_put_u32(m, NFTA_CMP_SREG, htonl(NFT_REG_1)) < 0 ||
		  nla_put_u32(m, NFTA_CMP_OP, htonl(NFT_CMP_EQ)) < 0 ||
		  !(data = nla_nest_start(m, NFTA_CMP_DATA | NLA_F_NESTED)) ||
		  nla_put(m, NFTA_DATA_VALUE, len, v) < 0))
		d = NULL;
	if (d)
		nla_nest_end(m, data);
	return expr_end(m, e, d);
}

/* meta: the input interface's name into register 1 */
static int expr_meta_iifname(struct nl_msg *m)
{
	struct nlattr *e, *d = expr_begin(m, "meta", &e);

	if (d && (nla_put_u32(m, NFTA_META_KEY, htonl(NFT_META_IIFNAME)) < 0 ||
		  nla_put_u32(m, NFTA_META_DREG, htonl(NFT_REG_1)) < 0))
		d = NULL;
	return expr_end(m, e, d);
}

/* counter, starting at zero packets and bytes */
static int expr_counter(struct nl_msg *m)
{
	struct nlattr *e, *d = expr_begin(m, "counter", &e);

	if (d && (nla_put_u64(m, NFTA_COUNTER_BYTES, 0) < 0 ||
		  nla_put_u64(m, NFTA_COUNTER_PACKETS, 0) < 0))
		d = NULL;
	return expr_end(m, e, d);
}

/* An xtables match or target (@kind "match" or "target"; nft_compat) of @name, revision 0, its
 * info the @len bytes @info padded with zeros to XT_ALIGN(@len). NFTA_MATCH_* and NFTA_TARGET_*
 * share their numbers (NAME 1, REV 2, INFO 3). */
static int expr_xt(struct nl_msg *m, const char *kind, const char *name, const void *info,
		   size_t len)
{
	struct nlattr *e, *d = expr_begin(m, kind, &e);
	uint8_t padded[128] = { 0 };

	if (XT_ALIGN(len) > sizeof(padded))
		return -E2BIG;
	memcpy(padded, info, len);
	if (d && (nla_put_string(m, NFTA_MATCH_NAME, name) < 0 ||
		  nla_put_u32(m, NFTA_MATCH_REV, htonl(0)) < 0 ||
		  nla_put(m, NFTA_MATCH_INFO, (int)XT_ALIGN(len), padded) < 0))
		d = NULL;
	return expr_end(m, e, d);
}

/* The expressions and compat attribute of @r (fw_ebt_nft_rule's forms), as ebtables-nft makes
 * them: [meta iifname, cmp,] payload (Ethernet type), cmp, xt match, counter, xt target. */
static int rule_exprs(struct nl_msg *m, const struct fw_ebt_nft_rule *r)
{
	const bool v6 = r->ip.family == IPNET_AF_INET6;
	const uint16_t proto = !r->dnat ? ETH_P_ARP : v6 ? ETH_P_IPV6 : ETH_P_IP;
	const uint16_t be_proto = htons(proto);
	struct nlattr *list, *compat;
	int rc = 0;

	if (!(list = nla_nest_start(m, NFTA_RULE_EXPRESSIONS | NLA_F_NESTED)))
		return -EMSGSIZE;
	if (r->iif)
		rc = expr_meta_iifname(m) ?: expr_cmp_eq(m, r->iif, (int)strlen(r->iif) + 1);
	rc = rc ?: expr_payload(m, offsetof(struct ethhdr, h_proto), sizeof(be_proto)) ?:
		    expr_cmp_eq(m, &be_proto, sizeof(be_proto));
	if (!r->dnat) {
		struct ebt_arp_info a = { .opcode = htons(1), .dmsk = 0xffffffff,
					  .bitmask = EBT_ARP_OPCODE | EBT_ARP_DST_IP };
		struct ebt_arpreply_info t = { .target = EBT_DROP };

		memcpy(&a.daddr, r->ip.bytes, 4);
		memcpy(t.mac, r->mac, ETH_ALEN);
		rc = rc ?: expr_xt(m, "match", "arp", &a, sizeof(a)) ?: expr_counter(m) ?:
			    expr_xt(m, "target", EBT_ARPREPLY_TARGET, &t, sizeof(t));
	} else if (v6) {
		struct ebt_ip6_info a = { .bitmask = EBT_IP6_DEST };
		struct ebt_nat_info t = { .target = EBT_ACCEPT };

		memcpy(&a.daddr, r->ip.bytes, 16);
		memset(&a.dmsk, 0xff, 16);
		memcpy(t.mac, r->mac, ETH_ALEN);
		rc = rc ?: expr_xt(m, "match", "ip6", &a, sizeof(a)) ?: expr_counter(m) ?:
			    expr_xt(m, "target", "dnat", &t, sizeof(t));
	} else {
		struct ebt_ip_info a = { .dmsk = 0xffffffff, .bitmask = EBT_IP_DEST };
		struct ebt_nat_info t = { .target = EBT_ACCEPT };

		memcpy(&a.daddr, r->ip.bytes, 4);
		memcpy(t.mac, r->mac, ETH_ALEN);
		rc = rc ?: expr_xt(m, "match", "ip", &a, sizeof(a)) ?: expr_counter(m) ?:
			    expr_xt(m, "target", "dnat", &t, sizeof(t));
	}
	if (rc)
		return rc;
	nla_nest_end(m, list);
	/* nft_compat hands the matches the entry's Ethernet type: ntohl of this, as a __be16 */
	if (!(compat = nla_nest_start(m, NFTA_RULE_COMPAT | NLA_F_NESTED)) ||
	    nla_put_u32(m, NFTA_RULE_COMPAT_PROTO, htonl(be_proto)) < 0 ||
	    nla_put_u32(m, NFTA_RULE_COMPAT_FLAGS, 0) < 0)
		return -EMSGSIZE;
	nla_nest_end(m, compat);
	return 0;
}

/* Append one nfnetlink message (@type, @flags, sequence @seq, family @family, @res_id in network
 * order) to @batch (@cap bytes, *used so far): NFTA_RULE_TABLE @table and NFTA_RULE_CHAIN @chain
 * when @table is not NULL, then @r's expressions when @r is not NULL. 0, -ENOMEM, -EMSGSIZE or
 * -E2BIG (@batch full). */
static int batch_put(char *batch, size_t cap, size_t *used, uint16_t type, uint16_t flags,
		     uint32_t seq, uint8_t family, uint16_t res_id, const char *table,
		     const char *chain, const struct fw_ebt_nft_rule *r)
{
	struct nl_msg *m = nlmsg_alloc_size(2048);
	struct nfgenmsg g = { .nfgen_family = family, .version = NFNETLINK_V0, .res_id = res_id };
	struct nlmsghdr *h;
	int rc = 0;

	if (!m)
		return -ENOMEM;
	if (!nlmsg_put(m, 0, seq, type, 0, flags) || nlmsg_append(m, &g, sizeof(g), NLMSG_ALIGNTO) < 0)
		rc = -EMSGSIZE;
	if (!rc && table &&
	    (nla_put_string(m, NFTA_RULE_TABLE, table) < 0 ||
	     nla_put_string(m, NFTA_RULE_CHAIN, chain) < 0))
		rc = -EMSGSIZE;
	if (!rc && r)
		rc = rule_exprs(m, r);
	h = nlmsg_hdr(m);
	if (!rc && *used + NLMSG_ALIGN(h->nlmsg_len) > cap)
		rc = -E2BIG;
	if (!rc) {
		memcpy(batch + *used, h, h->nlmsg_len);
		*used += NLMSG_ALIGN(h->nlmsg_len);
	}
	nlmsg_free(m);
	return rc;
}

/* Read the answers to a batch whose @n messages asked for an ACK (sequence numbers 2 .. n+1)
 * from @fd: 0 when each was acknowledged, else the first error (negative errno). */
static int batch_acks(int fd, unsigned n)
{
	char buf[8192];
	unsigned acked = 0;
	int first = 0;

	while (acked < n) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
		size_t left;

		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			return len < 0 ? -errno : -EIO;
		for (left = (size_t)len; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq < 2 || h->nlmsg_seq > n + 1)
				continue;
			acked++;
			if (e->error && !first)
				first = e->error;
		}
		if (first)
			return first; /* the transaction was aborted: nothing was added */
	}
	return 0;
}

int fw_ebt_nft_append(const char *table, const char *chain, const struct fw_ebt_nft_rule *rules,
		      size_t n)
{
	const uint16_t newrule = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 10 };
	static char batch[16384];
	size_t used = 0, i;
	int fd, rc = 0;

	if (!ebt_is_nft())
		return -ENOTSUP;
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if ((!rules[i].dnat && (rules[i].ip.family != IPNET_AF_INET || rules[i].iif)) ||
		    (rules[i].iif && (!*rules[i].iif || strlen(rules[i].iif) >= IFNAMSIZ)))
			return -ENOTSUP;
	rc = batch_put(batch, sizeof(batch), &used, NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 1,
		       AF_UNSPEC, htons(NFNL_SUBSYS_NFTABLES), NULL, NULL, NULL);
	for (i = 0; !rc && i < n; i++)
		rc = batch_put(batch, sizeof(batch), &used, newrule,
			       NLM_F_REQUEST | NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK,
			       (uint32_t)i + 2, NFPROTO_BRIDGE, 0, table, chain, &rules[i]);
	rc = rc ?: batch_put(batch, sizeof(batch), &used, NFNL_MSG_BATCH_END, NLM_F_REQUEST,
			     (uint32_t)n + 2, AF_UNSPEC, htons(NFNL_SUBSYS_NFTABLES), NULL, NULL,
			     NULL);
	if (rc)
		return rc;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0)
		return -errno;
	/* bounded: a kernel that never answers cannot hold the ADD (the batch is all or nothing) */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(fd, batch, used, 0, (struct sockaddr *)&kernel, sizeof(kernel)) != (ssize_t)used)
		rc = -errno ?: -EIO;
	else
		rc = batch_acks(fd, (unsigned)n);
	close(fd);
	return rc;
}
