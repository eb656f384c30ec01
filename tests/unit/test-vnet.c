/* SPDX-License-Identifier: MIT */
/* The azure-vnet orchestrator (cni/azure-vnet.c) over an in-memory fake network backend: no
 * root, no kernel, no HNS, so it runs natively and under wine. The real state files, locks and
 * in-process IPAM (the "mas" source from tests/data/interfaces.json: 10.240.0.5-.8 free) are
 * used in a scratch runtime directory; each invocation goes through plugin_main as the program
 * would (CNI_* in the environment, the config on stdin, one JSON object on stdout).
 *
 * The fake records every backend call and fails the Nth call of a named operation on demand.
 * Two tables: one like Linux (endpoints named by the backend), one like Windows (reserve_name:
 * endpoints named by their record ID). Pinned here: each failing ADD step leaves no record and
 * no address (except one the owner held before), a repeated ADD, DEL with and without a record,
 * GC with a busy owner, the endpoint-ID collision rule, and CHECK. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include <fcntl.h>

#include <cmocka.h>

#include "oom.h"

#include "cni/azure-vnet.h"
#include "cni/ipam-run.h"
#include "cni/plugin.h"
#include "core/conf.h"
#include "core/netstate.h"
#include "platform/platform.h"

#ifdef _WIN32
#include <direct.h>
#include <io.h>
#define setenv(name, value, overwrite) _putenv_s(name, value)
#define unsetenv(name) _putenv_s(name, "")
#define mkdir(path, mode) _mkdir(path)
#endif

#define NET "azure"
#define CONF_TEXT "{\"cniVersion\":\"1.1.0\",\"name\":\"" NET "\",\"type\":\"azure-vnet\"," \
	"\"mode\":\"transparent\",\"ipam\":{\"type\":\"azure-vnet-ipam\",\"environment\":\"mas\"}"

static char dir[512], state_path[600], ipam_path[600], stdin_path[600], stdout_path[600];
static char mas_path[600];  /* AZURE_CNI_MAS_FILE: a copy of a tests/data document */

/* ---- the fake backend ---- */

#define FAKE_MAX 16

struct fake_ep {
	bool used;
	struct ipnet_addr ip;       /* the first of its record's addresses */
	char name[NETSTATE_ID_MAX];
	char cid[NETSTATE_ID_MAX];
	char ifname[NETSTATE_IFNAME_MAX];
};

static struct {
	struct fake_ep eps[FAKE_MAX];
	int networks;               /* networks made and not undone */
	char log[2048];             /* the operations called, space-separated */
	const char *fail_op;        /* fail the fail_nth call of this operation */
	int fail_nth, seen;
	bool add_left;              /* a failing endpoint_add says it may have left the endpoint */
	int add_gone;               /* this many endpoint_adds find the network gone (-EIDRM) */
	bool del_addr_busy;         /* a failing endpoint_del says the address is still in use */
	bool sabotage_state;        /* endpoint_add turns azure-vnet.json into a directory */
	bool sabotage_network;      /* network_create turns azure-vnet.json into a directory */
	int undo_locked;            /* network_undo found the state lock: 1 held, -1 free */
	bool sabotage_extend;       /* so does network_extend */
	int extended;               /* network extensions made and not undone */
	bool del_recorded;          /* the last endpoint_del's @recorded */
	size_t del_n_names;
	char del_names[3][NETSTATE_ID_MAX];
	const char *ask_gone[2];    /* endpoint_add asks call->owner_gone of this owner (cid, ifname) */
	bool said_gone;             /* and was told it is gone */
} fake;

struct backend {
	int unused;
};

static int step(const char *op, struct cni_error *err)
{
	size_t n = strlen(fake.log);

	snprintf(fake.log + n, sizeof(fake.log) - n, "%s%s", n ? " " : "", op);
	if (!fake.fail_op || strcmp(fake.fail_op, op) != 0 || ++fake.seen != fake.fail_nth)
		return 0;
	return cni_error_set(err, -EIO, CNI_CODE_NETWORK, "fake: injected failure in %s", op);
}

static struct fake_ep *fake_find(const char *name)
{
	for (int i = 0; i < FAKE_MAX; i++)
		if (fake.eps[i].used && strcmp(fake.eps[i].name, name) == 0)
			return &fake.eps[i];
	return NULL;
}

static int fake_count(void)
{
	int n = 0;

	for (int i = 0; i < FAKE_MAX; i++)
		n += fake.eps[i].used;
	return n;
}

static int f_validate(const struct backend_call *call, struct cni_error *err)
{
	(void)call;
	return step("validate", err);
}

static const char *f_mode(const struct conf *conf)
{
	(void)conf;
	return "transparent";
}

static int f_open(const struct backend_call *call, unsigned need, struct backend **ret,
		  struct cni_error *err)
{
	int r = step("open", err);

	(void)call, (void)need;
	if (r < 0)
		return r;
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

static struct backend *f_close(struct backend *be)
{
	free(be);
	return NULL;
}

static int f_network_create(struct backend *be, const struct backend_call *call,
			    const struct cni_result *ipres, struct netstate *st,
			    struct netstate_network *stale, struct cni_error *err)
{
	struct netstate_network net;
	struct netstate_extif *x;
	int r = step("network_create", err);

	(void)be;
	if (r < 0 || stale)  /* a network found gone is made again under its record */
		return r;
	memset(&net, 0, sizeof(net));
	snprintf(net.id, sizeof(net.id), "%s", call->conf->name);
	snprintf(net.mode, sizeof(net.mode), "transparent");
	for (size_t i = 0; i < ipres->n_ips && i < 2; i++) {
		net.subnets[net.n_subnets].family = ipres->ips[i].address.addr.family;
		net.subnets[net.n_subnets++].prefix = ipnet_prefix_network(&ipres->ips[i].address);
	}
	x = netstate_extif_get(st, "eth0");
	assert_non_null(x);
	assert_non_null(netstate_network_add(x, &net));
	fake.networks++;
	if (fake.sabotage_network) {
		/* the network's save fails: the state file's path is a directory */
		remove(state_path);
		assert_int_equal(mkdir(state_path, 0700), 0);
	}
	return 0;
}

static void f_network_undo(struct backend *be, const struct backend_call *call,
			   const struct backend_network *net)
{
	struct platform_lock *l = NULL;

	(void)be, (void)call, (void)net;
	/* taken by another ADD the moment it is free: an undo must not run then */
	if (platform_lock_acquire(platform_path(PLATFORM_PATH_NET_LOCK), 0, &l, NULL) == 0) {
		fake.undo_locked = -1;
		platform_lock_release(l);
	} else {
		fake.undo_locked = 1;
	}
	fake.networks--;
}

/* The subnets of @ipres's families @net lacks, appended (the fake does not order them). */
static int f_network_extend(struct backend *be, const struct backend_call *call,
			    const struct cni_result *ipres, struct netstate *st,
			    struct netstate_network *net, struct cni_error *err)
{
	int r = step("network_extend", err);

	(void)be, (void)call, (void)st;
	if (r < 0)
		return r;
	for (size_t i = 0; i < ipres->n_ips; i++) {
		size_t k;

		for (k = 0; k < net->n_subnets; k++)
			if (net->subnets[k].family == ipres->ips[i].address.addr.family)
				break;
		if (k < net->n_subnets)
			continue;
		net->subnets[net->n_subnets].family = ipres->ips[i].address.addr.family;
		net->subnets[net->n_subnets++].prefix = ipnet_prefix_network(&ipres->ips[i].address);
	}
	fake.extended++;
	if (fake.sabotage_extend) {
		assert_int_equal(remove(state_path), 0);
		assert_int_equal(mkdir(state_path, 0700), 0);
	}
	return 0;
}

static void f_network_extend_undo(struct backend *be, const struct backend_call *call,
				  const struct backend_network *net, unsigned families)
{
	struct platform_lock *l = NULL;

	(void)be, (void)call, (void)net;
	step("network_extend_undo", NULL);
	assert_int_equal(families, 2);  /* IPAM_FAMILY_V6 */
	/* under the state lock, as network_undo: another ADD would extend again once it is free */
	if (platform_lock_acquire(platform_path(PLATFORM_PATH_NET_LOCK), 0, &l, NULL) == 0) {
		fake.undo_locked = -1;
		platform_lock_release(l);
	} else {
		fake.undo_locked = 1;
	}
	fake.extended--;
}

static int f_endpoint_alive(struct backend *be, const struct backend_call *call,
			    const struct backend_network *net, const struct netstate_endpoint *rec,
			    struct cni_dns *ret_dns, bool *ret_has_dns, struct cni_error *err)
{
	int r = step("endpoint_alive", err);

	(void)be, (void)call, (void)net, (void)ret_dns, (void)ret_has_dns;
	if (r < 0)
		return r;
	return rec && fake_find(rec->id) ? 1 : 0;
}

static int f_endpoint_add(struct backend *be, const struct backend_call *call,
			  const struct backend_network *net, const struct cni_result *ipres,
			  struct netstate_endpoint *rec, bool *ret_left, struct cni_error *err)
{
	struct fake_ep *ep = fake_find(rec->id);
	int r;

	(void)be, (void)net, (void)ipres;
	assert_non_null(call->dns);
	if (fake.ask_gone[0]) {
		r = call->owner_gone(call->owner_arg, fake.ask_gone[0], fake.ask_gone[1], err);
		if (r < 0)
			return r;
		fake.said_gone = fake.said_gone || r > 0;
	}
	if (ep)  /* a leftover of this name: removed first */
		ep->used = false;
	r = step("endpoint_add", err);
	if (r >= 0 && fake.add_gone > 0) {
		fake.add_gone--;
		return cni_error_set(err, -EIDRM, CNI_CODE_NETWORK, "fake: the network is gone");
	}
	for (ep = fake.eps; ep->used; ep++)
		;
	if (r >= 0 || fake.add_left) {
		ep->used = true;
		snprintf(ep->name, sizeof(ep->name), "%s", rec->id);
		snprintf(ep->cid, sizeof(ep->cid), "%s", rec->container_id);
		snprintf(ep->ifname, sizeof(ep->ifname), "%s", rec->ifname);
		ep->ip = rec->ips[0].addr;
	}
	if (r < 0) {
		*ret_left = fake.add_left;
		return r;
	}
	snprintf(rec->host_ifname, sizeof(rec->host_ifname), "fake%d", (int)(ep - fake.eps));
	snprintf(rec->hns_id, sizeof(rec->hns_id), "fake-id-%d", (int)(ep - fake.eps));
	rec->has_mac = true;
	memcpy(rec->mac, "\x02\x00\x00\x00\x00\x01", 6);
	if (fake.sabotage_state) {
		/* the record's save fails: the state file's path is a directory */
		assert_int_equal(remove(state_path), 0);
		assert_int_equal(mkdir(state_path, 0700), 0);
	}
	return 0;
}

static int f_endpoint_del(struct backend *be, const struct backend_call *call,
			  const struct backend_network *net, const struct netstate_endpoint *rec,
			  bool recorded, const char *const *names, size_t n_names,
			  struct cni_error *err)
{
	struct fake_ep *ep;
	int r = step("endpoint_del", err);

	(void)be, (void)call, (void)net;
	fake.del_recorded = recorded;
	fake.del_n_names = n_names;
	for (size_t i = 0; i < n_names && i < 3; i++)
		snprintf(fake.del_names[i], sizeof(fake.del_names[i]), "%s", names[i]);
	if (r < 0)
		return fake.del_addr_busy ? -EADDRINUSE : r;
	if (recorded && (ep = fake_find(rec->id)))
		ep->used = false;
	/* unrecorded: by what the owner names (as Linux finds a host veth by its owner) */
	for (int i = 0; !recorded && i < FAKE_MAX; i++)
		if (fake.eps[i].used && strcmp(fake.eps[i].cid, rec->container_id) == 0 &&
		    strcmp(fake.eps[i].ifname, rec->ifname) == 0)
			fake.eps[i].used = false;
	for (size_t i = 0; i < n_names; i++)
		if ((ep = fake_find(names[i])))
			ep->used = false;
	return 0;
}

static int f_endpoint_check(struct backend *be, const struct backend_call *call,
			    const struct backend_network *net, const struct netstate_endpoint *rec,
			    struct cni_error *err)
{
	int r = step("endpoint_check", err);

	(void)be, (void)call, (void)net;
	if (r < 0)
		return r;
	if (!fake_find(rec->id))
		return cni_error_check_fail(err, "fake endpoint %s is missing", rec->id);
	return 0;
}

static int f_result_interfaces(struct backend *be, const struct backend_call *call,
			       const struct netstate_endpoint *rec, struct cni_result *ret)
{
	(void)be;
	snprintf(ret->interfaces[0].name, sizeof(ret->interfaces[0].name), "%s", rec->ifname);
	snprintf(ret->interfaces[0].sandbox, sizeof(ret->interfaces[0].sandbox), "%s",
		 call->env->netns);
	ret->n_interfaces = 1;
	return 0;
}

static bool f_del_needs_ips(const struct backend_network *net, const struct conf *conf)
{
	(void)net, (void)conf;
	return true;
}

/* Every fake endpoint, traced to its owner (as Linux's host veth tags). */
static int f_attachments(struct backend *be, const struct backend_call *call,
			 struct backend_attachment **ret, size_t *ret_n, struct cni_error *err)
{
	struct backend_attachment *a = calloc(FAKE_MAX, sizeof(*a));
	size_t n = 0;
	int r = step("attachments", err);

	(void)be, (void)call;
	if (r < 0 || !a) {
		free(a);
		return r < 0 ? r : -ENOMEM;
	}
	for (int i = 0; i < FAKE_MAX; i++)
		if (fake.eps[i].used) {
			snprintf(a[n].container_id, sizeof(a[n].container_id), "%s", fake.eps[i].cid);
			snprintf(a[n].ifname, sizeof(a[n].ifname), "%s", fake.eps[i].ifname);
			snprintf(a[n].host_ifname, sizeof(a[n].host_ifname), "fake%d", i);
			a[n].ips[a[n].n_ips++] = fake.eps[i].ip;
			a[n++].this_network = true;
		}
	*ret = a;
	*ret_n = n;
	return 0;
}

/* Linux-like: the backend names its objects; no reservation. */
static const struct backend_ops fake_plain = {
	.name = "fake",
	.validate = f_validate,
	.mode = f_mode,
	.open = f_open,
	.close = f_close,
	.network_create = f_network_create,
	.network_undo = f_network_undo,
	.endpoint_alive = f_endpoint_alive,
	.endpoint_add = f_endpoint_add,
	.endpoint_del = f_endpoint_del,
	.del_needs_ips = f_del_needs_ips,
	.endpoint_check = f_endpoint_check,
	.result_interfaces = f_result_interfaces,
};

/* Windows-like: endpoints are named by their record ID, reserved before endpoint_add. */
static struct backend_ops fake_named;

/* fake_named whose networks can be lost (backend_ops.network_alive; HNS-like). */
static struct backend_ops fake_lossy;

static int f_network_alive(struct backend *be, const struct backend_call *call,
			   const struct backend_network *net, struct cni_error *err)
{
	int r = step("network_alive", err);

	(void)be, (void)call, (void)net;
	return r < 0 ? r : 1;
}

/* Linux-like, and it traces its endpoints to their owners (backend_ops.attachments). */
static struct backend_ops fake_traced;

/* ---- running the program ---- */

static char out[8192];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static bool read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return true;
}

/* Run azure-vnet @cmd for owner (@cid, @ifname) over @ops with config @extra appended to
 * CONF_TEXT's object (e.g. ",\"prevResult\":{...}"); the output lands in out. Returns the
 * exit code. */
static long run_oom_k; /* run: its call's run_oom_k-th allocation fails (oom.h); 0: none */

static int run(const struct backend_ops *ops, const char *cmd, const char *cid,
	       const char *ifname, const char *extra)
{
	char conf[4096];
	char *argv[] = { (char *)"azure-vnet", NULL };
	int saved_out, fd, rc;

	snprintf(conf, sizeof(conf), CONF_TEXT "%s}", extra ? extra : "");
	write_file(stdin_path, conf);
	setenv("CNI_COMMAND", cmd, 1);
	setenv("CNI_CONTAINERID", cid ? cid : "", 1);
	setenv("CNI_IFNAME", ifname ? ifname : "", 1);
	setenv("CNI_NETNS", "/var/run/netns/fake-pod", 1);
	setenv("CNI_PATH", "/nonexistent", 1);
	assert_non_null(freopen(stdin_path, "rb", stdin));
	fflush(stdout);
	saved_out = dup(1);
	fd = open(stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved_out >= 0 && fd >= 0);
	dup2(fd, 1);
	close(fd);
	if (run_oom_k)
		oom_arm(run_oom_k);
	rc = azure_vnet_main(ops, 1, argv);
	if (run_oom_k)
		oom_disarm();
	fflush(stdout);
	dup2(saved_out, 1);
	close(saved_out);
	assert_true(read_file(stdout_path, out, sizeof(out)));
	return rc;
}

/* The mas source (mas_path) becomes a copy of tests/data/@name. */
static void mas_use(const char *name)
{
	static char text[1 << 14];
	char path[700];

	snprintf(path, sizeof(path), "%s/%s", AZCNI_TEST_DATA, name);
	assert_true(read_file(path, text, sizeof(text)));
	write_file(mas_path, text);
}

/* Does the state record an endpoint of (@cid, @ifname)? Its ID into @id_ret (may be NULL). */
static bool recorded(const char *cid, const char *ifname, char *id_ret)
{
	static char text[1 << 16];
	struct netstate st;
	struct netstate_network *net;
	struct netstate_endpoint *ep;
	struct cni_error err = { 0 };
	bool found;

	if (!read_file(state_path, text, sizeof(text)))
		return false;
	assert_int_equal(netstate_decode(text, strlen(text), state_path, &st, &err), 0);
	net = netstate_find_network(&st, NET, NULL);
	ep = net ? netstate_find_endpoint_by_owner(net, cid, ifname) : NULL;
	found = ep != NULL;
	if (ep && id_ret)
		snprintf(id_ret, NETSTATE_ID_MAX, "%s", ep->id);
	netstate_free(&st);
	return found;
}

/* The addresses the IPAM state gives (@cid, @ifname), as a count; the first into @ip. */
static size_t held(const char *cid, const char *ifname, char *ip)
{
	struct ipnet_addr a[4];
	struct cni_error err = { 0 };
	struct conf c;
	cJSON *root = cJSON_Parse(CONF_TEXT "}");
	size_t n = 0;

	assert_non_null(root);
	assert_int_equal(conf_parse(root, &c, &err), 0);
	assert_int_equal(ipam_run_owned(&c, cid, ifname, a, 4, &n, &err), 0);
	cJSON_Delete(root);
	if (n && ip)
		ipnet_addr_format(&a[0], ip, IPNET_ADDR_STRLEN);
	return n;
}

static int reset(void **state)
{
	char path[900];
	struct dirent *de;
	DIR *d = opendir(dir);

	(void)state;
	remove(state_path);
	rmdir(state_path);
	remove(ipam_path);
	/* the copies of corrupt files an earlier case left */
	while (d && (de = readdir(d)))
		if (strstr(de->d_name, ".corrupt-")) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			remove(path);
		}
	if (d)
		closedir(d);
	memset(&fake, 0, sizeof(fake));
	return 0;
}

/* ---- the tests ---- */

static void add_del_cycle(const struct backend_ops *ops)
{
	char ip[IPNET_ADDR_STRLEN];

	assert_int_equal(run(ops, "ADD", "c0ffee0000000001", "eth0", NULL), 0);
	assert_non_null(strstr(out, "\"10.240.0.5/16\""));
	assert_int_equal(fake_count(), 1);
	assert_true(recorded("c0ffee0000000001", "eth0", NULL));
	assert_int_equal(held("c0ffee0000000001", "eth0", ip), 1);
	assert_string_equal(ip, "10.240.0.5");
	assert_int_equal(fake.networks, 1);

	assert_int_equal(run(ops, "DEL", "c0ffee0000000001", "eth0", NULL), 0);
	assert_int_equal(fake_count(), 0);
	assert_false(recorded("c0ffee0000000001", "eth0", NULL));
	assert_int_equal(held("c0ffee0000000001", "eth0", NULL), 0);
}

static void test_add_del(void **state)
{
	(void)state;
	add_del_cycle(&fake_plain);
	reset(NULL);
	add_del_cycle(&fake_named);
}

/* Each ADD step that can fail, failed: no record, no address, no endpoint; then an ADD works. */
static void failing_steps(const struct backend_ops *ops)
{
	static const char *const ops_to_fail[] = { "validate", "open", "endpoint_alive",
						   "network_create", "endpoint_add", "state" };

	for (size_t i = 0; i < sizeof(ops_to_fail) / sizeof(ops_to_fail[0]); i++) {
		reset(NULL);
		if (strcmp(ops_to_fail[i], "state") == 0) {
			fake.sabotage_state = true;
		} else {
			fake.fail_op = ops_to_fail[i];
			fake.fail_nth = 1;
		}
		assert_int_equal(run(ops, "ADD", "deadbeef00000001", "eth0", NULL), 1);
		assert_non_null(strstr(out, "\"code\""));
		if (fake.sabotage_state) {
			/* the save failed; the endpoint was removed before the address */
			assert_true(strstr(fake.log, "endpoint_add endpoint_del") != NULL);
			rmdir(state_path);
		}
		assert_int_equal(fake_count(), 0);
		assert_false(recorded("deadbeef00000001", "eth0", NULL));
		assert_int_equal(held("deadbeef00000001", "eth0", NULL), 0);

		memset(&fake, 0, sizeof(fake));
		assert_int_equal(run(ops, "ADD", "deadbeef00000001", "eth0", NULL), 0);
		assert_non_null(strstr(out, "\"10.240.0.5/16\""));
		assert_true(recorded("deadbeef00000001", "eth0", NULL));
	}
}

static void test_failing_add_leaves_nothing(void **state)
{
	(void)state;
	failing_steps(&fake_plain);
	failing_steps(&fake_named);
}

/* The address an owner held before a failed ADD stays its own. */
/* A network whose record cannot be saved is undone under the state lock: once the lock is free
 * another ADD may find (and start using) the same network in the OS, which an undo after the
 * unlock would then pull from under it. */
static void test_network_undone_under_lock(void **state)
{
	(void)state;
	fake.sabotage_network = true;
	assert_int_equal(run(&fake_plain, "ADD", "deadbeef00000001", "eth0", NULL), 1);
	assert_non_null(strstr(out, "\"code\""));
	assert_int_equal(fake.networks, 0);
	assert_int_equal(fake.undo_locked, 1);
	assert_int_equal(fake_count(), 0);
	rmdir(state_path);
	assert_false(recorded("deadbeef00000001", "eth0", NULL));
	assert_int_equal(held("deadbeef00000001", "eth0", NULL), 0);
	fake.sabotage_network = false;
	assert_int_equal(run(&fake_plain, "ADD", "deadbeef00000001", "eth0", NULL), 0);
	assert_int_equal(fake.networks, 1);
}

static void test_failing_add_keeps_address_held_before(void **state)
{
	char ip[IPNET_ADDR_STRLEN];

	(void)state;
	assert_int_equal(run(&fake_plain, "ADD", "abc0000000000001", "eth0", NULL), 0);
	memset(&fake, 0, sizeof(fake));  /* the endpoint died (a reboot): ADD makes it again */
	fake.fail_op = "endpoint_add";
	fake.fail_nth = 1;
	assert_int_equal(run(&fake_plain, "ADD", "abc0000000000001", "eth0", NULL), 1);
	assert_int_equal(held("abc0000000000001", "eth0", ip), 1);
	assert_string_equal(ip, "10.240.0.5");
}

/* The number of times @op is in the fake's log. */
static int logged(const char *op)
{
	int n = 0;

	for (const char *p = fake.log; (p = strstr(p, op)); p += strlen(op))
		n++;
	return n;
}

/* An endpoint_add that finds the network gone (-EIDRM) has the network made again once and is
 * tried again; a second loss fails the ADD leaving nothing; a backend that cannot lose its
 * networks (no network_alive) is not retried. */
static void test_network_gone_at_endpoint(void **state)
{
	(void)state;
	fake.add_gone = 1;
	assert_int_equal(run(&fake_lossy, "ADD", "9a0e000000000001", "eth0", NULL), 0);
	assert_non_null(strstr(fake.log, "network_create endpoint_add network_create endpoint_add"));
	assert_int_equal(fake_count(), 1);
	assert_true(recorded("9a0e000000000001", "eth0", NULL));
	assert_int_equal(held("9a0e000000000001", "eth0", NULL), 1);

	fake.log[0] = '\0';
	fake.add_gone = 2;
	assert_int_equal(run(&fake_lossy, "ADD", "9a0e000000000002", "eth0", NULL), 1);
	assert_non_null(strstr(out, "\"code\":103"));
	assert_int_equal(logged("network_create"), 1);
	assert_int_equal(logged("endpoint_add"), 2);
	assert_false(recorded("9a0e000000000002", "eth0", NULL));
	assert_int_equal(held("9a0e000000000002", "eth0", NULL), 0);

	reset(NULL);
	fake.add_gone = 1;
	assert_int_equal(run(&fake_named, "ADD", "9a0e000000000003", "eth0", NULL), 1);
	assert_int_equal(logged("network_create"), 1);
	assert_int_equal(logged("endpoint_add"), 1);
	assert_int_equal(fake_count(), 0);
	assert_int_equal(held("9a0e000000000003", "eth0", NULL), 0);
}

/* A repeated ADD of a live attachment answers the same and makes nothing. */
static void test_repeated_add(void **state)
{
	char first[8192];

	(void)state;
	assert_int_equal(run(&fake_named, "ADD", "feed000000000001", "eth0", NULL), 0);
	snprintf(first, sizeof(first), "%s", out);
	fake.log[0] = '\0';
	assert_int_equal(run(&fake_named, "ADD", "feed000000000001", "eth0", NULL), 0);
	assert_string_equal(out, first);
	assert_null(strstr(fake.log, "endpoint_add"));
	assert_int_equal(fake_count(), 1);
	assert_int_equal(held("feed000000000001", "eth0", NULL), 1);
}

/* A named endpoint whose ADD may have left it (an HNS timeout) keeps its address and
 * placeholder record; the next DEL removes the endpoint by name and frees both. */
static void test_left_endpoint_kept_for_del(void **state)
{
	(void)state;
	fake.fail_op = "endpoint_add";
	fake.fail_nth = 1;
	fake.add_left = true;
	assert_int_equal(run(&fake_named, "ADD", "1eff000000000001", "eth0", NULL), 1);
	assert_int_equal(fake_count(), 1);
	assert_true(recorded("1eff000000000001", "eth0", NULL));
	assert_int_equal(held("1eff000000000001", "eth0", NULL), 1);
	memset(&fake, 0, sizeof(fake));
	assert_int_equal(run(&fake_named, "DEL", "1eff000000000001", "eth0", NULL), 0);
	assert_false(recorded("1eff000000000001", "eth0", NULL));
	assert_int_equal(held("1eff000000000001", "eth0", NULL), 0);
}

/* DEL with a record, again without one (done), and of an endpoint nobody recorded. */
static void test_del_idempotent(void **state)
{
	struct fake_ep *ep;

	(void)state;
	assert_int_equal(run(&fake_named, "DEL", "0dd0000000000001", "eth0", NULL), 0);
	assert_int_equal(run(&fake_named, "ADD", "0dd0000000000001", "eth0", NULL), 0);
	assert_int_equal(run(&fake_named, "DEL", "0dd0000000000001", "eth0", NULL), 0);
	assert_true(fake.del_recorded);
	assert_int_equal(run(&fake_named, "DEL", "0dd0000000000001", "eth0", NULL), 0);
	assert_false(fake.del_recorded);
	assert_string_equal(fake.del_names[0], "0dd00000-eth0");
	/* an ADD killed after the endpoint was made, before its record was saved */
	ep = &fake.eps[0];
	ep->used = true;
	snprintf(ep->name, sizeof(ep->name), "0dd00000-eth0");
	assert_int_equal(run(&fake_named, "DEL", "0dd0000000000001", "eth0", NULL), 0);
	assert_int_equal(fake_count(), 0);
}

/* A DEL whose endpoint removal fails: the error is reported, the address released (as the Go
 * plugin does), the record kept; a retried DEL finishes. */
static void test_del_failure_keeps_record(void **state)
{
	(void)state;
	assert_int_equal(run(&fake_plain, "ADD", "0ff0000000000001", "eth0", NULL), 0);
	fake.fail_op = "endpoint_del";
	fake.fail_nth = 1;
	assert_int_equal(run(&fake_plain, "DEL", "0ff0000000000001", "eth0", NULL), 1);
	assert_non_null(strstr(out, "injected failure in endpoint_del"));
	assert_true(recorded("0ff0000000000001", "eth0", NULL));
	assert_int_equal(held("0ff0000000000001", "eth0", NULL), 0);
	assert_int_equal(fake_count(), 1);
	assert_int_equal(run(&fake_plain, "DEL", "0ff0000000000001", "eth0", NULL), 0);
	assert_false(recorded("0ff0000000000001", "eth0", NULL));
	assert_int_equal(fake_count(), 0);
}

/* A DEL that leaves an object keyed by the address keeps the address with the record. */
static void test_del_failure_keeps_busy_address(void **state)
{
	(void)state;
	assert_int_equal(run(&fake_plain, "ADD", "0ff0000000000002", "eth0", NULL), 0);
	fake.fail_op = "endpoint_del";
	fake.fail_nth = 1;
	fake.del_addr_busy = true;
	assert_int_equal(run(&fake_plain, "DEL", "0ff0000000000002", "eth0", NULL), 1);
	assert_true(recorded("0ff0000000000002", "eth0", NULL));
	assert_int_equal(held("0ff0000000000002", "eth0", NULL), 1);
	assert_int_equal(run(&fake_plain, "DEL", "0ff0000000000002", "eth0", NULL), 0);
	assert_false(recorded("0ff0000000000002", "eth0", NULL));
	assert_int_equal(held("0ff0000000000002", "eth0", NULL), 0);
}

/* GC keeps the address of an owner with no record whose call is running (an ADD between its
 * allocation and its record), and releases it once the owner is idle. */
static void test_gc_keeps_address_of_running_add(void **state)
{
	struct platform_lock *busy = NULL;
	struct cni_error err = { 0 };
	struct cni_result res;
	struct conf c;
	cJSON *root = cJSON_Parse(CONF_TEXT "}");
	const char *gc = ",\"cni.dev/valid-attachments\":[]";

	(void)state;
	assert_non_null(root);
	assert_int_equal(conf_parse(root, &c, &err), 0);
	assert_int_equal(plugin_owner_lock("add0000000000001", "eth0", 1000, &busy, &err), 0);
	memset(&res, 0, sizeof(res));
	assert_int_equal(ipam_run_add(&c, "add0000000000001", "eth0", &res, &err), 0);
	assert_int_equal(run(&fake_plain, "GC", NULL, NULL, gc), 0);
	assert_int_equal(held("add0000000000001", "eth0", NULL), 1);
	platform_lock_release(busy);
	assert_int_equal(run(&fake_plain, "GC", NULL, NULL, gc), 0);
	assert_int_equal(held("add0000000000001", "eth0", NULL), 0);
	cJSON_Delete(root);
}

/* A GC whose endpoint removal leaves the address in use keeps record and address. */
static void test_gc_failure_keeps_busy_address(void **state)
{
	(void)state;
	assert_int_equal(run(&fake_plain, "ADD", "cccc000000000002", "eth0", NULL), 0);
	fake.fail_op = "endpoint_del";
	fake.fail_nth = 1;
	fake.del_addr_busy = true;
	assert_int_equal(run(&fake_plain, "GC", NULL, NULL, ",\"cni.dev/valid-attachments\":[]"),
			 1);
	assert_true(recorded("cccc000000000002", "eth0", NULL));
	assert_int_equal(held("cccc000000000002", "eth0", NULL), 1);
}

/* Owners whose container IDs share 8 characters: the second gets <cid>:<ifname>. */
static void test_endpoint_id_collision(void **state)
{
	char id1[NETSTATE_ID_MAX], id2[NETSTATE_ID_MAX];

	(void)state;
	assert_int_equal(run(&fake_named, "ADD", "abcdefgh-1111", "eth0", NULL), 0);
	assert_int_equal(run(&fake_named, "ADD", "abcdefgh-2222", "eth0", NULL), 0);
	assert_true(recorded("abcdefgh-1111", "eth0", id1));
	assert_true(recorded("abcdefgh-2222", "eth0", id2));
	assert_string_equal(id1, "abcdefgh-eth0");
	assert_string_equal(id2, "abcdefgh-2222:eth0");
	assert_non_null(fake_find(id1));
	assert_non_null(fake_find(id2));
	/* DEL of the first leaves the second; a third owner may then take the short ID */
	assert_int_equal(run(&fake_named, "DEL", "abcdefgh-1111", "eth0", NULL), 0);
	assert_true(recorded("abcdefgh-2222", "eth0", id2));
	assert_string_equal(id2, "abcdefgh-2222:eth0");
	assert_non_null(fake_find("abcdefgh-2222:eth0"));
	assert_int_equal(run(&fake_named, "ADD", "abcdefgh-3333", "eth0", NULL), 0);
	assert_true(recorded("abcdefgh-3333", "eth0", id1));
	assert_string_equal(id1, "abcdefgh-eth0");
	/* a repeated DEL of the first (no record now) must not take the third's endpoint */
	assert_int_equal(run(&fake_named, "DEL", "abcdefgh-1111", "eth0", NULL), 0);
	assert_non_null(fake_find("abcdefgh-eth0"));
	assert_true(recorded("abcdefgh-3333", "eth0", NULL));
}

/* Owners ADDed in order, each recorded under its own key with its own endpoint (@ops names
 * endpoints by record ID or not); their IDs into @ids. */
static void add_owners(const struct backend_ops *ops, const char *const (*owners)[2], size_t n,
		       char (*ids)[NETSTATE_ID_MAX])
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(run(ops, "ADD", owners[i][0], owners[i][1], NULL), 0);
		for (size_t j = 0; j <= i; j++)
			assert_true(recorded(owners[j][0], owners[j][1], ids[j]));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
		assert_int_equal(fake_count(), (int)i + 1);
	}
}

/* Adversarial owner pairs whose keys collide under the Go rule and under "<cid>-<ifname>":
 * ("abcdefgh-y","eth0") and ("abcdefgh","y-eth0") both give "abcdefgh-y-eth0" (a container ID
 * of 8 characters has no shorter Go ID); ("ab","cdefg-eth0") meets ("ab-cdefg-r","eth0") on its
 * Go ID and ("ab:cdefg-q","eth0") on "<cid>:<ifname>", so it walks on to "ab:cdefg-eth0/2".
 * Every owner keeps its own record; the DEL of one never touches another's record or endpoint. */
static void adversarial_owners(const struct backend_ops *ops, const char *const (*owners)[2],
			       size_t n, const char *last_id)
{
	char ids[4][NETSTATE_ID_MAX], id[NETSTATE_ID_MAX];

	add_owners(ops, owners, n, ids);
	assert_string_equal(ids[n - 1], last_id);
	/* the last one's DEL, then repeated without its record: the others stay whole */
	for (int again = 0; again < 2; again++) {
		assert_int_equal(run(ops, "DEL", owners[n - 1][0], owners[n - 1][1], NULL), 0);
		assert_false(recorded(owners[n - 1][0], owners[n - 1][1], NULL));
		assert_int_equal(fake_count(), (int)n - 1);
		for (size_t j = 0; j + 1 < n; j++) {
			assert_true(recorded(owners[j][0], owners[j][1], id));
			assert_string_equal(id, ids[j]);
			assert_int_equal(held(owners[j][0], owners[j][1], NULL), 1);
			if (ops == &fake_named)
				assert_non_null(fake_find(ids[j]));
		}
	}
	for (size_t j = 0; j + 1 < n; j++)
		assert_int_equal(run(ops, "DEL", owners[j][0], owners[j][1], NULL), 0);
	assert_int_equal(fake_count(), 0);
}

static void test_adversarial_owner_ids(void **state)
{
	static const char *const pair1[][2] = {
		{ "abcdefgh-x", "eth0" }, { "abcdefgh-y", "eth0" }, { "abcdefgh", "y-eth0" } };
	static const char *const pair2[][2] = {
		{ "abcdefgh", "y-eth0" }, { "abcdefgh-x", "eth0" }, { "abcdefgh-y", "eth0" } };
	static const char *const walk[][2] = {
		{ "ab-cdefg-r", "eth0" }, { "ab:cdefg-q", "eth0" }, { "ab", "cdefg-eth0" } };
	const struct backend_ops *ops[] = { &fake_plain, &fake_named };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		reset(NULL);
		adversarial_owners(ops[i], pair1, 3, "abcdefgh-y-eth0");
		reset(NULL);
		adversarial_owners(ops[i], pair2, 3, "abcdefgh-y:eth0");
		reset(NULL);
		adversarial_owners(ops[i], walk, 3, "ab:cdefg-eth0/2");
	}
}

/* An unrecorded DEL tries only names no other owner's record holds: ("abcdefgh-y","eth0")
 * never added, while ("abcdefgh","y-eth0") holds "abcdefgh-y-eth0", the name our earlier
 * versions would have given the first. */
static void test_unrecorded_del_spares_other_owner(void **state)
{
	(void)state;
	assert_int_equal(run(&fake_named, "ADD", "abcdefgh", "y-eth0", NULL), 0);
	assert_non_null(fake_find("abcdefgh-y-eth0"));
	assert_int_equal(run(&fake_named, "DEL", "abcdefgh-y", "eth0", NULL), 0);
	assert_false(fake.del_recorded);
	assert_non_null(fake_find("abcdefgh-y-eth0"));
	assert_true(recorded("abcdefgh", "y-eth0", NULL));
	assert_int_equal(held("abcdefgh", "y-eth0", NULL), 1);
}

/* Endpoints named by our earlier versions' "<cid>-<ifname>" (the Go ID held by another owner):
 * a record so keyed is found by owner for CHECK and DEL; an unrecorded one by that name. */
static void test_earlier_fallback_names(void **state)
{
	static char text[1 << 16];
	struct netstate st;
	struct netstate_network *net;
	struct cni_error err = { 0 };
	struct fake_ep *ep;
	char id[NETSTATE_ID_MAX], *enc;

	(void)state;
	assert_int_equal(run(&fake_named, "ADD", "abcdefgh-1111", "eth0", NULL), 0);
	assert_int_equal(run(&fake_named, "ADD", "abcdefgh-2222", "eth0", NULL), 0);
	assert_true(recorded("abcdefgh-2222", "eth0", id));
	/* re-key the second as the earlier versions did, its endpoint too */
	assert_true(read_file(state_path, text, sizeof(text)));
	assert_int_equal(netstate_decode(text, strlen(text), state_path, &st, &err), 0);
	net = netstate_find_network(&st, NET, NULL);
	snprintf(netstate_find_endpoint_by_owner(net, "abcdefgh-2222", "eth0")->id,
		 NETSTATE_ID_MAX, "abcdefgh-2222-eth0");
	enc = netstate_encode(&st, "v0.1.0", "2024-01-01T00:00:00Z");
	write_file(state_path, enc);
	free(enc);
	netstate_free(&st);
	ep = fake_find(id);
	assert_non_null(ep);
	snprintf(ep->name, sizeof(ep->name), "abcdefgh-2222-eth0");
	assert_int_equal(run(&fake_named, "CHECK", "abcdefgh-2222", "eth0", NULL), 0);
	assert_int_equal(run(&fake_named, "DEL", "abcdefgh-2222", "eth0", NULL), 0);
	assert_true(fake.del_recorded);
	assert_null(fake_find("abcdefgh-2222-eth0"));
	assert_non_null(fake_find("abcdefgh-eth0"));
	/* an unrecorded endpoint of that name (an earlier version's ADD, its record lost) */
	ep = &fake.eps[FAKE_MAX - 1];
	ep->used = true;
	snprintf(ep->name, sizeof(ep->name), "abcdefgh-2222-eth0");
	assert_int_equal(run(&fake_named, "DEL", "abcdefgh-2222", "eth0", NULL), 0);
	assert_false(fake.del_recorded);
	assert_null(fake_find("abcdefgh-2222-eth0"));
	assert_non_null(fake_find("abcdefgh-eth0"));
	assert_true(recorded("abcdefgh-1111", "eth0", NULL));
}

/* GC removes stale owners, but not one whose lock is held (a call of it is running). */
static void gc_busy_owner(const struct backend_ops *ops)
{
	struct platform_lock *busy = NULL;
	struct cni_error err = { 0 };
	const char *gc = ",\"cni.dev/valid-attachments\":[]";

	assert_int_equal(run(ops, "ADD", "aaaa000000000001", "eth0", NULL), 0);
	assert_int_equal(run(ops, "ADD", "bbbb000000000002", "eth0", NULL), 0);
	assert_int_equal(plugin_owner_lock("bbbb000000000002", "eth0", 1000, &busy, &err), 0);
	assert_int_equal(run(ops, "GC", NULL, NULL, gc), 0);
	assert_false(recorded("aaaa000000000001", "eth0", NULL));
	assert_int_equal(held("aaaa000000000001", "eth0", NULL), 0);
	assert_true(recorded("bbbb000000000002", "eth0", NULL));
	assert_int_equal(held("bbbb000000000002", "eth0", NULL), 1);
	assert_int_equal(fake_count(), 1);
	platform_lock_release(busy);
	assert_int_equal(run(ops, "GC", NULL, NULL, gc), 0);
	assert_false(recorded("bbbb000000000002", "eth0", NULL));
	assert_int_equal(held("bbbb000000000002", "eth0", NULL), 0);
	assert_int_equal(fake_count(), 0);
}

static void test_gc_busy_owner(void **state)
{
	(void)state;
	gc_busy_owner(&fake_plain);
	reset(NULL);
	gc_busy_owner(&fake_named);
}

/* A GC whose endpoint removal fails keeps that record and says so; valid owners stay. */
static void test_gc_failure_keeps_record(void **state)
{
	(void)state;
	assert_int_equal(run(&fake_plain, "ADD", "cccc000000000001", "eth0", NULL), 0);
	assert_int_equal(run(&fake_plain, "ADD", "dddd000000000001", "eth0", NULL), 0);
	fake.fail_op = "endpoint_del";
	fake.fail_nth = 1;
	assert_int_equal(run(&fake_plain, "GC", NULL, NULL,
			     ",\"cni.dev/valid-attachments\":[{\"containerID\":\"dddd000000000001\","
			     "\"ifname\":\"eth0\"}]"), 1);
	assert_non_null(strstr(out, "injected failure in endpoint_del"));
	assert_true(recorded("cccc000000000001", "eth0", NULL));
	assert_true(recorded("dddd000000000001", "eth0", NULL));
	assert_int_equal(held("dddd000000000001", "eth0", NULL), 1);
}

/* An ADD killed after its allocation and endpoint but before its record: GC (the owner not
 * valid) removes the endpoint before it releases the address, with or without a backend that
 * traces endpoints; with one, also when the IPAM no longer holds the address. */
static void test_gc_removes_unrecorded_endpoint(void **state)
{
	const char *none = ",\"cni.dev/valid-attachments\":[]";
	const struct backend_ops *ops[] = { &fake_plain, &fake_traced };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		reset(NULL);
		assert_int_equal(run(ops[i], "ADD", "0bad000000000001", "eth0", NULL), 0);
		assert_int_equal(remove(state_path), 0);  /* the record never saved */
		assert_int_equal(run(ops[i], "GC", NULL, NULL, none), 0);
		assert_int_equal(fake_count(), 0);
		assert_int_equal(held("0bad000000000001", "eth0", NULL), 0);
	}
	reset(NULL);
	assert_int_equal(run(&fake_traced, "ADD", "0bad000000000002", "eth0", NULL), 0);
	assert_int_equal(run(&fake_traced, "ADD", "0bad000000000003", "eth0", NULL), 0);
	assert_int_equal(remove(state_path), 0);
	assert_int_equal(remove(ipam_path), 0);   /* the address, too, forgotten */
	assert_int_equal(run(&fake_traced, "GC", NULL, NULL,
			     ",\"cni.dev/valid-attachments\":[{\"containerID\":\"0bad000000000003\","
			     "\"ifname\":\"eth0\"}]"), 0);
	assert_int_equal(fake_count(), 1);       /* the valid owner's stays */
}

/* Is there a "<base>.corrupt-<UTC>" file in the runtime directory? */
static bool corrupt_copy(const char *base)
{
	char want[128];
	struct dirent *de;
	DIR *d = opendir(dir);
	bool found = false;

	assert_non_null(d);
	snprintf(want, sizeof(want), "%s.corrupt-", base);
	while ((de = readdir(d)))
		if (strncmp(de->d_name, want, strlen(want)) == 0 &&
		    strlen(de->d_name) == strlen(want) + 16)
			found = true;
	closedir(d);
	return found;
}

/* A corrupt azure-vnet-ipam.json is kept aside and rebuilt keeping the recorded pods'
 * addresses (from azure-vnet.json, or from what the backend traces when that is corrupt too):
 * the next ADD gets another address, and every pod is deleted with nothing left. */
static void test_corrupt_ipam_state_rebuilt(void **state)
{
	const struct backend_ops *ops[] = { &fake_plain, &fake_traced };
	char ip1[IPNET_ADDR_STRLEN], ip2[IPNET_ADDR_STRLEN];

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		reset(NULL);
		assert_int_equal(run(ops[i], "ADD", "c0de000000000001", "eth0", NULL), 0);
		write_file(ipam_path, "{\"IPAM\":{\"AddressSpaces\":{\"local\":{\"Pools\":[1,");
		if (i == 1)  /* both files: only the backend's trace is left */
			write_file(state_path, "\x01 not json");
		assert_int_equal(run(ops[i], "ADD", "c0de000000000002", "eth0", NULL), 0);
		assert_true(corrupt_copy("azure-vnet-ipam.json"));
		assert_int_equal(held("c0de000000000001", "eth0", ip1), 1);
		assert_int_equal(held("c0de000000000002", "eth0", ip2), 1);
		assert_string_not_equal(ip1, ip2);
		assert_int_equal(run(ops[i], "DEL", "c0de000000000001", "eth0", NULL), 0);
		assert_int_equal(run(ops[i], "DEL", "c0de000000000002", "eth0", NULL), 0);
		assert_int_equal(fake_count(), 0);
		assert_int_equal(held("c0de000000000001", "eth0", NULL), 0);
		assert_int_equal(held("c0de000000000002", "eth0", NULL), 0);
	}
}

/* A corrupt azure-vnet.json is kept aside and started again: the next ADD works, and a pod
 * whose record went with it is still deleted (its endpoint and its address). */
static void test_corrupt_net_state(void **state)
{
	(void)state;
	assert_int_equal(run(&fake_plain, "ADD", "c0de000000000003", "eth0", NULL), 0);
	write_file(state_path, "{\"Network\":{\"ExternalInterfaces\":");
	assert_int_equal(run(&fake_plain, "ADD", "c0de000000000004", "eth0", NULL), 0);
	assert_true(corrupt_copy("azure-vnet.json"));
	assert_true(recorded("c0de000000000004", "eth0", NULL));
	assert_int_equal(run(&fake_plain, "DEL", "c0de000000000003", "eth0", NULL), 0);
	assert_int_equal(run(&fake_plain, "DEL", "c0de000000000004", "eth0", NULL), 0);
	assert_int_equal(fake_count(), 0);
	assert_int_equal(held("c0de000000000003", "eth0", NULL), 0);
	assert_int_equal(held("c0de000000000004", "eth0", NULL), 0);
}

/* The owners of the ID walk (test_adversarial_owner_ids): ("ab-cdefg-r","eth0") holds the Go ID
 * ab-cdefg-eth0, ("ab:cdefg-q","eth0") holds ab:cdefg-eth0, the first two candidates of owner
 * ("ab","cdefg-eth0"), whose ADD walks on to ab:cdefg-eth0/2. */
static const char *const walk_owners[2][3] = {
	{ "ab-cdefg-r", "eth0", "ab-cdefg-eth0" }, { "ab:cdefg-q", "eth0", "ab:cdefg-eth0" } };

/* Both walk_owners hold their record, endpoint (the fake names it by the record's ID) and
 * address as they ADDed them; no state file was set aside as corrupt. */
static void walk_owners_intact(void)
{
	char id[NETSTATE_ID_MAX];
	struct fake_ep *ep;

	for (size_t j = 0; j < 2; j++) {
		assert_true(recorded(walk_owners[j][0], walk_owners[j][1], id));
		assert_string_equal(id, walk_owners[j][2]);
		assert_int_equal(held(walk_owners[j][0], walk_owners[j][1], NULL), 1);
		ep = fake_find(walk_owners[j][2]);
		assert_non_null(ep);
		assert_string_equal(ep->cid, walk_owners[j][0]);
	}
	assert_false(corrupt_copy("azure-vnet.json"));
	assert_false(corrupt_copy("azure-vnet-ipam.json"));
}

/* Out of memory at each allocation of a call in turn (oom.h): the call succeeds or fails (code
 * 100, leaving nothing), but a record that could not be read for want of memory is never taken
 * for an absent one, nor a state file for corrupt. Owner ("ab","cdefg-eth0") after walk_owners:
 * its ADD (the endpoint-ID rule must not hand it a held ID), then its DEL without a record (the
 * names it tries must not include one another owner's record holds). */
static void test_oom_spares_other_owner(void **state)
{
	const struct backend_ops *ops[] = { &fake_plain, &fake_named };
	char id[NETSTATE_ID_MAX];

	(void)state;
#ifdef _WIN32
	/* mingw's statically linked runtime crashes on a failed allocation (test-netstate-oom) */
	skip();
#endif
	for (size_t i = 0; i < 2; i++) {
		long k, failures = 0;
		int rc;

		reset(NULL);
		for (size_t j = 0; j < 2; j++)
			assert_int_equal(run(ops[i], "ADD", walk_owners[j][0], walk_owners[j][1],
					     NULL), 0);
		for (k = 1;; k++) {
			run_oom_k = k;
			rc = run(ops[i], "ADD", "ab", "cdefg-eth0", NULL);
			run_oom_k = 0;
			walk_owners_intact();
			if (rc == 0) {
				assert_true(recorded("ab", "cdefg-eth0", id));
				assert_string_equal(id, "ab:cdefg-eth0/2");
				assert_int_equal(fake_count(), 3);
				assert_int_equal(run(ops[i], "DEL", "ab", "cdefg-eth0", NULL), 0);
			} else {
				assert_true(oom_failed());
				if (!strstr(out, "\"code\":100"))
					fail_msg("ADD, allocation %ld failed: %s", k, out);
				assert_false(recorded("ab", "cdefg-eth0", NULL));
				assert_int_equal(held("ab", "cdefg-eth0", NULL), 0);
				failures++;
			}
			assert_int_equal(fake_count(), 2);
			if (!oom_failed())
				break;
		}
		assert_true(failures > 0);
		for (k = 1;; k++) {
			run_oom_k = k;
			rc = run(ops[i], "DEL", "ab", "cdefg-eth0", NULL);
			run_oom_k = 0;
			walk_owners_intact();
			assert_int_equal(fake_count(), 2);
			if (rc != 0 && !strstr(out, "\"code\":100"))
				fail_msg("DEL, allocation %ld failed: %s", k, out);
			if (!oom_failed())
				break;
		}
		assert_int_equal(rc, 0);
	}
}

/* backend_call.owner_gone under out of memory at each allocation of an ADD in turn (oom.h): an
 * owner whose record could not be read for want of memory is not proven gone (a backend would
 * remove its objects); the ADD fails with code 100 or goes on. The owner asked about has its
 * record but no address in the IPAM, so the record alone keeps it. */
static void test_oom_owner_not_gone(void **state)
{
	struct cni_error err = { 0 };
	struct conf c;
	cJSON *root = cJSON_Parse(CONF_TEXT "}");
	long k, failures = 0;
	int rc;

	(void)state;
#ifdef _WIN32
	skip(); /* as test_oom_spares_other_owner */
#endif
	assert_non_null(root);
	assert_int_equal(conf_parse(root, &c, &err), 0);
	assert_int_equal(run(&fake_plain, "ADD", "c0ffee0000000007", "eth0", NULL), 0);
	assert_int_equal(ipam_run_del(&c, "c0ffee0000000007", "eth0", NULL, &err), 0);
	cJSON_Delete(root);
	assert_int_equal(held("c0ffee0000000007", "eth0", NULL), 0);
	fake.ask_gone[0] = "c0ffee0000000007";
	fake.ask_gone[1] = "eth0";
	for (k = 1;; k++) {
		run_oom_k = k;
		rc = run(&fake_plain, "ADD", "c0ffee0000000008", "eth0", NULL);
		run_oom_k = 0;
		if (fake.said_gone)
			fail_msg("ADD, allocation %ld failed: an owner with a record was said gone", k);
		if (rc == 0) {
			assert_int_equal(run(&fake_plain, "DEL", "c0ffee0000000008", "eth0", NULL), 0);
		} else {
			assert_true(oom_failed());
			if (!strstr(out, "\"code\":100"))
				fail_msg("ADD, allocation %ld failed: %s", k, out);
			failures++;
		}
		assert_true(recorded("c0ffee0000000007", "eth0", NULL));
		assert_int_equal(fake_count(), 1);
		if (!oom_failed())
			break;
	}
	assert_true(failures > 0);
}

/* The in-process IPAM (cni/ipam-run.c) under out of memory at each allocation of an ADD in turn
 * (oom.h): a call that fails leaves azure-vnet-ipam.json as it was, never set aside as corrupt
 * and rebuilt (out of memory while decoding it is not corruption). */
static void test_oom_ipam_state_kept(void **state)
{
	static char before[1 << 16], after[1 << 16];
	struct cni_error err = { 0 };
	struct cni_result res;
	struct conf c;
	cJSON *root = cJSON_Parse(CONF_TEXT "}");
	long k, failures = 0;

	(void)state;
	assert_non_null(root);
	assert_int_equal(conf_parse(root, &c, &err), 0);
	assert_int_equal(run(&fake_plain, "ADD", "c0ffee0000000009", "eth0", NULL), 0);
	assert_true(read_file(ipam_path, before, sizeof(before)));
	for (k = 1;; k++) {
		int r;

		memset(&err, 0, sizeof(err));
		oom_arm(k);
		r = ipam_run_add_owned(&c, "c0ffee000000000a", "eth0", IPAM_FAMILY_ANY, &res, NULL,
				       &err);
		oom_disarm();
		assert_false(corrupt_copy("azure-vnet-ipam.json"));
		if (r == 0) {
			assert_int_equal(held("c0ffee000000000a", "eth0", NULL), 1);
			assert_int_equal(ipam_run_del(&c, "c0ffee000000000a", "eth0", NULL, &err), 0);
			assert_int_equal(held("c0ffee000000000a", "eth0", NULL), 0);
			assert_true(read_file(ipam_path, before, sizeof(before)));
		} else {
			assert_true(oom_failed());
#ifdef _WIN32
			/* platform/windows reads a path it could not convert for want of memory as
			 * a bad path (code 5): known, not this test's */
			if (err.code != CNI_CODE_INTERNAL && err.code != CNI_CODE_IO)
#else
			if (err.code != CNI_CODE_INTERNAL)
#endif
				fail_msg("allocation %ld failed: code %d: %s", k, err.code, err.msg);
			assert_true(read_file(ipam_path, after, sizeof(after)));
			assert_string_equal(after, before);
			failures++;
		}
		if (!oom_failed())
			break;
	}
	assert_true(failures > 0);
	assert_int_equal(held("c0ffee0000000009", "eth0", NULL), 1);
	cJSON_Delete(root);
}

/* An in-process IPAM ADD that reads the source (queryInterval 0: interfaces.json, parsed in one
 * pass and with cJSON) and a STATUS, each allocation failed in turn: an ADD that fails is code
 * 100 and leaves azure-vnet-ipam.json as it was (never code 105, the source found broken); a
 * STATUS that fails is code 100, not 50 'plugin not available'. */
static void test_oom_ipam_source(void **state)
{
	static char before[1 << 16], after[1 << 16];
	struct cni_error err = { 0 };
	struct cni_result res;
	struct conf c;
	cJSON *root = cJSON_Parse("{\"cniVersion\":\"1.1.0\",\"name\":\"" NET "\","
				  "\"type\":\"azure-vnet\",\"mode\":\"transparent\",\"ipam\":{"
				  "\"type\":\"azure-vnet-ipam\",\"environment\":\"mas\","
				  "\"queryInterval\":\"0\"}}");
	long k, add_failures = 0, status_failures = 0;

	(void)state;
	assert_non_null(root);
	assert_int_equal(conf_parse(root, &c, &err), 0);
	assert_int_equal(c.ipam.query_interval_s, 0);
	assert_int_equal(run(&fake_plain, "ADD", "c0ffee000000000b", "eth0", NULL), 0);
	assert_true(read_file(ipam_path, before, sizeof(before)));
	for (k = 1;; k++) {
		int r;

		memset(&err, 0, sizeof(err));
		oom_arm(k);
		r = ipam_run_add_owned(&c, "c0ffee000000000c", "eth0", IPAM_FAMILY_ANY, &res, NULL,
				       &err);
		oom_disarm();
		assert_false(corrupt_copy("azure-vnet-ipam.json"));
		if (r == 0) {
			assert_int_equal(ipam_run_del(&c, "c0ffee000000000c", "eth0", NULL, &err), 0);
			assert_true(read_file(ipam_path, before, sizeof(before)));
		} else {
			assert_true(oom_failed());
#ifdef _WIN32
			/* platform/windows: a path it could not convert is code 5 (test above) */
			if (err.code != CNI_CODE_INTERNAL && err.code != CNI_CODE_IO)
#else
			if (err.code != CNI_CODE_INTERNAL)
#endif
				fail_msg("ADD: allocation %ld failed: code %d: %s", k, err.code, err.msg);
			assert_true(read_file(ipam_path, after, sizeof(after)));
			assert_string_equal(after, before);
			add_failures++;
		}
		if (!oom_failed())
			break;
	}
	for (k = 1;; k++) {
		int r;

		memset(&err, 0, sizeof(err));
		oom_arm(k);
		r = ipam_run_status(&c, &err);
		oom_disarm();
		if (r < 0) {
			assert_true(oom_failed());
#ifdef _WIN32
			if (err.code != CNI_CODE_INTERNAL && err.code != CNI_CODE_IO)
#else
			if (err.code != CNI_CODE_INTERNAL)
#endif
				fail_msg("STATUS: allocation %ld failed: code %d: %s", k, err.code,
					 err.msg);
			status_failures++;
		}
		if (!oom_failed())
			break;
	}
	assert_true(add_failures > 0);
	assert_true(status_failures > 0);
	assert_int_equal(held("c0ffee000000000b", "eth0", NULL), 1);
	assert_int_equal(held("c0ffee000000000c", "eth0", NULL), 0);
	cJSON_Delete(root);
}

/* CHECK passes on a live attachment and fails (code 106) when its endpoint is gone. */
static void test_check(void **state)
{
	(void)state;
	assert_int_equal(run(&fake_plain, "CHECK", "eeee000000000001", "eth0", NULL), 1);
	assert_non_null(strstr(out, "\"code\":106"));
	assert_int_equal(run(&fake_plain, "ADD", "eeee000000000001", "eth0", NULL), 0);
	assert_int_equal(run(&fake_plain, "CHECK", "eeee000000000001", "eth0", NULL), 0);
	memset(fake.eps, 0, sizeof(fake.eps));
	assert_int_equal(run(&fake_plain, "CHECK", "eeee000000000001", "eth0", NULL), 1);
	assert_non_null(strstr(out, "fake endpoint"));
}

/* Remove directory @path and everything in it (the scratch runtime directory). */
static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[1024];
	struct stat sb;

	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
			remove_tree(sub);
		else
			remove(sub);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

/* Address families (issue 10): the orchestrator asks the IPAM for the families the backend
 * configures. A dual-stack NIC gives an IPv4-only backend (families NULL: Windows, and Linux
 * modes whose IPv6 data plane is not done) its IPv4 address only, and a dual-stack one both;
 * a failed ADD returns both; an IPv6-only NIC with an IPv4-only backend is code 101 naming the
 * IPAM source, with nothing allocated or made. */
static unsigned f_families_any(const struct conf *conf)
{
	(void)conf;
	return 3; /* IPAM_FAMILY_V4 | IPAM_FAMILY_V6 */
}

static void test_families(void **state)
{
	struct backend_ops dual = fake_plain;

	(void)state;
	dual.families = f_families_any;
	mas_use("interfaces-dualstack.json");
	assert_int_equal(run(&fake_plain, "ADD", "d0000001", "eth0", NULL), 0);
	assert_non_null(strstr(out, "\"10.240.0.5/16\""));
	assert_null(strstr(out, "fd00:db8:1::"));
	assert_int_equal(held("d0000001", "eth0", NULL), 1);

	assert_int_equal(run(&dual, "ADD", "d0000002", "eth0", NULL), 0);
	assert_non_null(strstr(out, "\"10.240.0.6/16\""));
	assert_non_null(strstr(out, "\"fd00:db8:1::5/64\""));
	assert_non_null(strstr(out, "\"::/0\""));
	assert_int_equal(held("d0000002", "eth0", NULL), 2);
	assert_int_equal(run(&dual, "DEL", "d0000002", "eth0", NULL), 0);
	assert_int_equal(held("d0000002", "eth0", NULL), 0);

	fake.fail_op = "endpoint_add";
	fake.fail_nth = 1;
	assert_int_not_equal(run(&dual, "ADD", "d0000003", "eth0", NULL), 0);
	assert_int_equal(held("d0000003", "eth0", NULL), 0);
	assert_false(recorded("d0000003", "eth0", NULL));
	fake.fail_op = NULL;

	/* a node whose NIC has IPv6 only (a new IPAM state: no IPv4 pool left from above) */
	assert_int_equal(run(&fake_plain, "DEL", "d0000001", "eth0", NULL), 0);
	remove(ipam_path);
	write_file(mas_path, "{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IsPrimary\":true,"
		   "\"IPSubnets\":[{\"Prefix\":\"fd00:5::/64\",\"IPAddresses\":["
		   "{\"Address\":\"fd00:5::4\",\"IsPrimary\":true},{\"Address\":\"fd00:5::5\"}]}]}]}");
	assert_int_not_equal(run(&fake_plain, "ADD", "d0000004", "eth0", NULL), 0);
	assert_non_null(strstr(out, "\"code\":101"));
	assert_non_null(strstr(out, "no IPv4 address pool"));
	assert_non_null(strstr(out, mas_path));
	assert_int_equal(held("d0000004", "eth0", NULL), 0);
	assert_false(recorded("d0000004", "eth0", NULL));
	assert_int_equal(fake_count(), 0);
	assert_int_equal(run(&dual, "ADD", "d0000004", "eth0", NULL), 0);
	assert_non_null(strstr(out, "\"fd00:5::5/64\""));
	assert_null(strstr(out, "10.240."));
	mas_use("interfaces.json");
}

/* The subnet families of network NET as recorded, e.g. "2 10". */
static const char *net_families(void)
{
	static char text[1 << 16], fams[32];
	struct netstate st;
	struct netstate_network *net;
	struct cni_error err = { 0 };
	size_t n = 0;

	fams[0] = '\0';
	assert_true(read_file(state_path, text, sizeof(text)));
	assert_int_equal(netstate_decode(text, strlen(text), state_path, &st, &err), 0);
	net = netstate_find_network(&st, NET, NULL);
	assert_non_null(net);
	for (size_t i = 0; i < net->n_subnets; i++)
		n += (size_t)snprintf(fams + n, sizeof(fams) - n, "%s%d", i ? " " : "",
				      net->subnets[i].family);
	netstate_free(&st);
	return fams;
}

/* The IPAM state reads the source again at the next ADD (its LastRefresh made old). */
static void ipam_source_stale(void)
{
	static char text[1 << 16];
	char *p;

	assert_true(read_file(ipam_path, text, sizeof(text)));
	p = strstr(text, "\"LastRefresh\"");
	assert_non_null(p);
	p = strstr(p, "\"20");  /* its value: an RFC 3339 time of this century */
	assert_non_null(p);
	memcpy(p + 1, "2001", 4);
	write_file(ipam_path, text);
}

/* A network recorded while the NIC had IPv4 only is extended by the first ADD given IPv6 (not
 * by later ones, nor when this ADD made the network); a failed extension fails the ADD with
 * nothing held, and one whose record cannot be saved is undone. */
static void test_network_extend(void **state)
{
	static char saved[1 << 16];
	struct backend_ops ext = fake_plain;

	(void)state;
	ext.families = f_families_any;
	ext.network_extend = f_network_extend;
	ext.network_extend_undo = f_network_extend_undo;
	mas_use("interfaces.json");
	assert_int_equal(run(&ext, "ADD", "e0000001", "eth0", NULL), 0);
	assert_string_equal(net_families(), "2");
	assert_null(strstr(fake.log, "network_extend"));

	mas_use("interfaces-dualstack.json");
	ipam_source_stale();
	fake.fail_op = "network_extend";
	fake.fail_nth = 1;
	assert_int_not_equal(run(&ext, "ADD", "e0000002", "eth0", NULL), 0);
	assert_non_null(strstr(out, "injected failure in network_extend"));
	assert_int_equal(held("e0000002", "eth0", NULL), 0);
	assert_false(recorded("e0000002", "eth0", NULL));
	assert_int_equal(fake_count(), 1);
	assert_string_equal(net_families(), "2");
	fake.fail_op = NULL;

	assert_true(read_file(state_path, saved, sizeof(saved)));
	fake.sabotage_extend = true;
	fake.log[0] = '\0';
	assert_int_not_equal(run(&ext, "ADD", "e0000002", "eth0", NULL), 0);
	assert_non_null(strstr(fake.log, "network_extend network_extend_undo"));
	assert_int_equal(fake.extended, 0);
	assert_int_equal(fake.undo_locked, 1);
	assert_int_equal(held("e0000002", "eth0", NULL), 0);
	assert_int_equal(fake_count(), 1);
	fake.sabotage_extend = false;
	rmdir(state_path);
	write_file(state_path, saved);

	fake.log[0] = '\0';
	assert_int_equal(run(&ext, "ADD", "e0000002", "eth0", NULL), 0);
	assert_non_null(strstr(out, "\"fd00:db8:1::5/64\""));
	assert_non_null(strstr(fake.log, "network_extend"));
	assert_int_equal(fake.extended, 1);
	assert_string_equal(net_families(), "2 10");
	assert_int_equal(run(&ext, "DEL", "e0000002", "eth0", NULL), 0);
	fake.log[0] = '\0';
	assert_int_equal(run(&ext, "ADD", "e0000003", "eth0", NULL), 0);
	assert_null(strstr(fake.log, "network_extend"));
	assert_int_equal(fake.extended, 1);
	assert_int_equal(run(&ext, "CHECK", "e0000001", "eth0", NULL), 0);

	/* a new node's first dual-stack ADD makes the network with both: nothing to extend */
	reset(NULL);
	assert_int_equal(run(&ext, "ADD", "e0000004", "eth0", NULL), 0);
	assert_string_equal(net_families(), "2 10");
	assert_null(strstr(fake.log, "network_extend"));
	mas_use("interfaces.json");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_add_del, reset),
		cmocka_unit_test_setup(test_failing_add_leaves_nothing, reset),
		cmocka_unit_test_setup(test_failing_add_keeps_address_held_before, reset),
		cmocka_unit_test_setup(test_network_undone_under_lock, reset),
		cmocka_unit_test_setup(test_repeated_add, reset),
		cmocka_unit_test_setup(test_network_gone_at_endpoint, reset),
		cmocka_unit_test_setup(test_left_endpoint_kept_for_del, reset),
		cmocka_unit_test_setup(test_del_idempotent, reset),
		cmocka_unit_test_setup(test_del_failure_keeps_record, reset),
		cmocka_unit_test_setup(test_del_failure_keeps_busy_address, reset),
		cmocka_unit_test_setup(test_gc_keeps_address_of_running_add, reset),
		cmocka_unit_test_setup(test_gc_failure_keeps_busy_address, reset),
		cmocka_unit_test_setup(test_endpoint_id_collision, reset),
		cmocka_unit_test_setup(test_adversarial_owner_ids, reset),
		cmocka_unit_test_setup(test_unrecorded_del_spares_other_owner, reset),
		cmocka_unit_test_setup(test_earlier_fallback_names, reset),
		cmocka_unit_test_setup(test_gc_busy_owner, reset),
		cmocka_unit_test_setup(test_gc_failure_keeps_record, reset),
		cmocka_unit_test_setup(test_check, reset),
		cmocka_unit_test_setup(test_gc_removes_unrecorded_endpoint, reset),
		cmocka_unit_test_setup(test_corrupt_ipam_state_rebuilt, reset),
		cmocka_unit_test_setup(test_corrupt_net_state, reset),
		cmocka_unit_test_setup(test_families, reset),
		cmocka_unit_test_setup(test_network_extend, reset),
		cmocka_unit_test_setup(test_oom_spares_other_owner, reset),
		cmocka_unit_test_setup(test_oom_owner_not_gone, reset),
		cmocka_unit_test_setup(test_oom_ipam_state_kept, reset),
		cmocka_unit_test_setup(test_oom_ipam_source, reset),
	};
	const char *tmp = getenv("TMPDIR");
	int rc;

	fake_named = fake_plain;
	fake_named.name = "fake-named";
	fake_named.reserve_name = true;
	fake_lossy = fake_named;
	fake_lossy.name = "fake-lossy";
	fake_lossy.network_alive = f_network_alive;
	fake_traced = fake_plain;
	fake_traced.name = "fake-traced";
	fake_traced.attachments = f_attachments;
	snprintf(dir, sizeof(dir), "%s/azcni-test-vnet-%ld", tmp && *tmp ? tmp : "/tmp",
		 (long)getpid());
	mkdir(dir, 0700);
	snprintf(state_path, sizeof(state_path), "%s/azure-vnet.json", dir);
	snprintf(ipam_path, sizeof(ipam_path), "%s/azure-vnet-ipam.json", dir);
	snprintf(stdin_path, sizeof(stdin_path), "%s/stdin.json", dir);
	snprintf(stdout_path, sizeof(stdout_path), "%s/stdout.json", dir);
	/* paths are read once per process: set the overrides before the first call */
	setenv("AZURE_CNI_RUNTIME_DIR", dir, 1);
	setenv("AZURE_CNI_LOG_DIR", dir, 1);
	snprintf(mas_path, sizeof(mas_path), "%s/interfaces.json", dir);
	mas_use("interfaces.json");
	setenv("AZURE_CNI_MAS_FILE", mas_path, 1);
	setenv("AZURE_CNI_LOCK_TIMEOUT_MS", "2000", 1);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (!getenv("AZCNI_TEST_KEEP"))  /* set it to read the scratch directory after a failure */
		remove_tree(dir);
	return rc;
}
