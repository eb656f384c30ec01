/* SPDX-License-Identifier: MIT */
/* The CNI main loop shared by azure-vnet and azure-vnet-ipam: -v, VERSION from stdin alone,
 * CNI_* and stdin parsing, version gates per command, dispatch to the program's ops, exactly one
 * JSON object on stdout (result or error) and one log line per call.
 * Source: containernetworking/cni SPEC.md 1.1.0 "Execution Protocol" and "Version". */
#include "plugin.h"

#include "metrics.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sha1.h"
#include "platform/platform.h"

#ifndef AZCNI_VERSION
#define AZCNI_VERSION "0.0.0"
#endif
/* The version as the Go plugin prints it (its Makefile's `git describe --tags`, "v1.6.21"): -v,
 * each call's log record, and the Version of both state files (cni/state.c, core/ipamstate.c). */
#define PLUGIN_VERSION "v" AZCNI_VERSION

#define STDIN_MAX (16u * 1024u * 1024u)

/* Read all of stdin into a malloc'd NUL-terminated buffer. Returns 0 or negative errno. */
static int read_stdin(char **ret_text, size_t *ret_len, struct cni_error *err)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap + 1);

	if (!buf)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	for (;;) {
		size_t n;

		if (len == cap) {
			char *p;

			if (cap >= STDIN_MAX) {
				free(buf);
				return cni_error_set(err, -EFBIG, CNI_CODE_IO,
						     "network configuration on stdin is larger than %u bytes",
						     STDIN_MAX);
			}
			cap *= 2;
			p = realloc(buf, cap + 1);
			if (!p) {
				free(buf);
				return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len, stdin);
		len += n;
		if (n == 0) {
			if (ferror(stdin)) {
				free(buf);
				return cni_error_set(err, -EIO, CNI_CODE_IO, "cannot read stdin");
			}
			break;
		}
	}
	buf[len] = '\0';
	*ret_text = buf;
	*ret_len = len;
	return 0;
}

/* The cniVersion string of @text when it is a JSON object holding a known version, else "".
 * Used only to echo the version in an error object when the request itself did not parse. */
static void sniff_version(const char *text, char *buf, size_t size)
{
	cJSON *root;
	const char *v;

	buf[0] = '\0';
	if (!text)
		return;
	root = cJSON_Parse(text);
	if (!root)
		return;
	v = cni_json_string(root, "cniVersion");
	if (v && cni_version_parse(v) != CNI_VERSION_UNKNOWN)
		snprintf(buf, size, "%s", v);
	cJSON_Delete(root);
}

/* Print @text and a newline on stdout as the single object of this call. */
static void emit(const char *text)
{
	fputs(text, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

static void emit_error(const struct cni_error *e, const char *version_str)
{
	char *text = cni_error_encode(e, version_str);

	if (text) {
		emit(text);
		free(text);
	} else {
		/* Out of memory: still one well-formed object. */
		emit("{\"code\":100,\"msg\":\"out of memory\"}");
	}
}

/* Short text of the IPs of @r for the log line. */
static void ips_text(const struct cni_result *r, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < r->n_ips && off < size; i++) {
		char p[IPNET_PREFIX_STRLEN];
		int n;

		ipnet_prefix_format(&r->ips[i].address, p, sizeof(p));
		n = snprintf(buf + off, size - off, "%s%s", i ? "," : "", p);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

static int run_version(const struct plugin_ops *ops, const char *text, size_t len)
{
	struct cni_request req = { 0 };
	struct cni_error err = { 0 };
	char *reply;
	int r;

	r = cni_request_parse(text, len, true, false, &req, &err);
	if (r < 0) {
		emit_error(&err, "");
		platform_log("%s VERSION error code=%d msg=%s", ops->program, err.code, err.msg);
		return 1;
	}
	reply = cni_version_reply(req.version_str);
	cni_request_free(&req);
	if (!reply) {
		cni_error_set(&err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
		emit_error(&err, "");
		return 1;
	}
	emit(reply);
	free(reply);
	platform_log("%s VERSION ok", ops->program);
	return 0;
}

/* The op of @cmd, or NULL (refused with code 2). */
static bool op_available(const struct plugin_ops *ops, enum cni_command cmd)
{
	switch (cmd) {
	case CNI_CMD_ADD: return ops->add != NULL;
	case CNI_CMD_DEL: return ops->del != NULL;
	case CNI_CMD_CHECK: return ops->check != NULL;
	case CNI_CMD_GC: return ops->gc != NULL;
	case CNI_CMD_STATUS: return ops->status != NULL;
	default: return false;
	}
}

/* conf_parse of a copy of @root without the members only ADD and CHECK use (AdditionalArgs,
 * dns, runtimeConfig; keys compared case-insensitively, as conf_parse does). ctx->conf keeps
 * no pointer into the copy (the policies are gone with it). */
static int conf_parse_for_del(const cJSON *root, struct conf *ret, struct cni_error *err)
{
	static const char *const unused[] = { "AdditionalArgs", "dns", "runtimeConfig" };
	cJSON *copy = cJSON_Duplicate(root, true);
	size_t i;
	int r;

	if (!copy)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	for (i = 0; i < sizeof(unused) / sizeof(unused[0]); i++)
		while (cJSON_GetObjectItem(copy, unused[i]))
			cJSON_DeleteItemFromObject(copy, unused[i]);
	r = conf_parse(copy, ret, err);
	cJSON_Delete(copy);
	return r;
}

int plugin_owner_lock(const char *container_id, const char *ifname, unsigned timeout_ms,
		      struct platform_lock **ret, struct cni_error *err)
{
	size_t klen = strlen(container_id) + strlen(ifname) + 2;
	char hex[41], name[48], path[4096], *key;
	long long t0;
	int r;

	key = malloc(klen);
	if (!key)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	snprintf(key, klen, "%s/%s", container_id, ifname);
	sha1_hex(key, hex, sizeof(hex));
	free(key);
	snprintf(name, sizeof(name), "%s.lock", hex);
	if (platform_lock_path(name, path, sizeof(path)) < 0)
		return cni_error_set(err, -ENAMETOOLONG, CNI_CODE_IO,
				     "the lock directory path (AZURE_CNI_RUNTIME_DIR) is too long");
	t0 = platform_monotonic_ns();
	r = platform_lock_acquire(path, timeout_ms, ret, err);
	metrics_lock_waited(METRICS_LOCK_OWNER, platform_monotonic_ns() - t0);
	return r;
}

/* ops->add/del/check, under the owner's lock when ops->lock_per_owner. */
static int run_owned_op(const struct plugin_ops *ops, struct plugin_ctx *ctx,
			struct cni_result *result, struct cni_error *err)
{
	struct platform_lock *l = NULL;
	int r;

	if (ops->lock_per_owner) {
		r = plugin_owner_lock(ctx->env.container_id, ctx->env.ifname,
				      platform_lock_timeout_ms(), &l, err);
		if (r < 0)
			return r;
	}
	switch (ctx->env.command) {
	case CNI_CMD_ADD:
		r = ops->add(ctx, result, err);
		break;
	case CNI_CMD_DEL:
		r = ops->del(ctx, err);
		break;
	default:
		r = ops->check(ctx, err);
		break;
	}
	if (ctx->env.command == CNI_CMD_DEL || (ctx->env.command == CNI_CMD_ADD && r < 0))
		/* The owner is gone, or its failed ADD undid everything: remove its lock file so
		 * that they do not pile up on a long-lived node (unlinking is always safe: a waiter
		 * re-opens the path when the inode it locked was unlinked). */
		platform_lock_release_unlink(l);
	else
		platform_lock_release(l);
	return r;
}

/* The command's version gate (SPEC "Version": CHECK from 0.4.0, GC and STATUS from 1.1.0) and
 * whether @ops implements it. Returns 0 or negative errno (code 1 or 2). */
static int command_allowed(const struct plugin_ops *ops, const struct plugin_ctx *ctx,
			   struct cni_error *err)
{
	if (ctx->env.command == CNI_CMD_CHECK && ctx->req.version < CNI_VERSION_0_4_0)
		return cni_error_set(err, -EINVAL, CNI_CODE_INCOMPATIBLE_VERSION,
				     "CHECK needs cniVersion 0.4.0 or later, config has %s",
				     cni_version_string(ctx->req.version));
	if ((ctx->env.command == CNI_CMD_GC || ctx->env.command == CNI_CMD_STATUS) &&
	    ctx->req.version < CNI_VERSION_1_1_0)
		return cni_error_set(err, -EINVAL, CNI_CODE_INCOMPATIBLE_VERSION,
				     "%s needs cniVersion 1.1.0 or later, config has %s",
				     ctx->env.command_str, cni_version_string(ctx->req.version));
	if (!op_available(ops, ctx->env.command))
		return cni_error_set(err, -ENOTSUP, CNI_CODE_UNSUPPORTED_FIELD,
				     "%s does not support %s", ops->program, ctx->env.command_str);
	return 0;
}

/* ctx->conf from the request; DEL falls back to a parse without the parts only ADD and CHECK
 * use, so a config error there cannot keep a pod's IP. "name" is required (SPEC "Network
 * configuration"; the network state is keyed by it). Returns 0 or negative errno (code 7). */
static int conf_read(const struct plugin_ops *ops, struct plugin_ctx *ctx, struct cni_error *err)
{
	int r = conf_parse(ctx->req.root, &ctx->conf, err);

	if (r < 0 && ctx->env.command == CNI_CMD_DEL) {
		struct cni_error strict = *err;

		memset(err, 0, sizeof(*err));
		r = conf_parse_for_del(ctx->req.root, &ctx->conf, err);
		if (r < 0)
			*err = strict;
		else
			platform_log("%s DEL container=%s: ignoring a config error DEL does not depend "
				     "on: %s", ops->program, ctx->env.container_id, strict.msg);
	}
	if (r < 0)
		return r;
	if (!ctx->conf.name[0])
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "the network configuration has no \"name\" (required)");
	return 0;
}

/* ctx->prev from the request's prevResult: undecodable is an error except on DEL, which must
 * clean up whatever it can (a bad prevResult only loses a hint). Returns 0 or negative errno. */
static int prev_read(const struct plugin_ops *ops, struct plugin_ctx *ctx, struct cni_error *err)
{
	struct cni_error perr = { 0 };

	if (!ctx->req.prev_result)
		return 0;
	if (cni_result_decode(ctx->req.prev_result, &ctx->prev, &perr) == 0) {
		ctx->has_prev = true;
		return 0;
	}
	if (ctx->env.command != CNI_CMD_DEL) {
		*err = perr;
		return -EINVAL;
	}
	platform_log("%s DEL container=%s ignoring prevResult: %s", ops->program,
		     ctx->env.container_id, perr.msg);
	return 0;
}

/* Fill @ctx from the environment and the stdin @text (@len bytes). @version_echo (@vsize bytes)
 * gets the request's cniVersion as soon as it is known, for the error object. */
static int ctx_read(const struct plugin_ops *ops, struct plugin_ctx *ctx, const char *text,
		    size_t len, char *version_echo, size_t vsize, struct cni_error *err)
{
	int r;

	sniff_version(text, version_echo, vsize);
	r = cni_env_read(&ctx->env, err);
	if (r >= 0)
		r = cni_request_parse(text, len, false, true, &ctx->req, err);
	if (r < 0)
		return r;
	snprintf(version_echo, vsize, "%s", ctx->req.version_str);
	r = command_allowed(ops, ctx, err);
	if (r >= 0)
		r = conf_read(ops, ctx, err);
	if (r >= 0)
		r = prev_read(ops, ctx, err);
	return r;
}

/* Run the command's op. */
static int dispatch(const struct plugin_ops *ops, struct plugin_ctx *ctx,
		    struct cni_result *result, struct cni_error *err)
{
	int r;

	switch (ctx->env.command) {
	case CNI_CMD_ADD:
	case CNI_CMD_DEL:
	case CNI_CMD_CHECK:
		r = run_owned_op(ops, ctx, result, err);
		break;
	case CNI_CMD_GC:
		r = ops->gc(ctx, err);
		break;
	case CNI_CMD_STATUS:
		r = ops->status(ctx, err);
		break;
	default:
		r = cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV, "unknown CNI_COMMAND");
		break;
	}
	if (r < 0 && !cni_error_is_set(err))
		cni_error_set(err, r, CNI_CODE_INTERNAL, "%s failed: %s", ctx->env.command_str,
			      platform_errno_text(-r));
	return r;
}

int plugin_result_render(struct plugin_ctx *ctx, const struct cni_result *result,
			 struct cni_error *err)
{
	cJSON *obj = cni_result_encode(result, ctx->req.version, err);
	char *out;

	if (!obj)
		return -EINVAL; /* err says why: code 100 or 1 */
	cni_json_ints_raw(obj);
	out = cJSON_Print(obj);
	cJSON_Delete(obj);
	if (!out)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	free(ctx->result_text);
	ctx->result_text = out;
	return 0;
}

/* Print the ADD result in the request's version (as rendered ahead by the add, else now); its
 * IPs into @ips (@size bytes) for the log. */
static int print_result(struct plugin_ctx *ctx, const struct cni_result *result, char *ips,
			size_t size, struct cni_error *err)
{
	int r = 0;

	if (!ctx->result_text)
		r = plugin_result_render(ctx, result, err);
	if (r < 0)
		return r;
	emit(ctx->result_text);
	free(ctx->result_text);
	ctx->result_text = NULL;
	ips_text(result, ips, size);
	return 0;
}

int plugin_main(const struct plugin_ops *ops, int argc, char **argv)
{
	/* Large (the env and conf hold path-sized buffers, the results 8 sandbox paths): static,
	 * one call per process, zero from the start (a repeated call clears them below), so what
	 * a call leaves unused (prevResult, most interface slots) is never touched: peak RSS. */
	static struct plugin_ctx ctx;
	static struct cni_result result;
	static bool called;
	struct cni_error err = { 0 };
	char version_echo[32] = "", ips[256] = "";
	const char *command;
	char *text = NULL;
	size_t len = 0;
	long long t0 = platform_monotonic_ns();
	enum logline_level level;
	int r, rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("Azure CNI Version %s\n", PLUGIN_VERSION);
			return 0;
		}
	}
	platform_log_open(ops->program);
	if (called) {
		memset(&ctx, 0, sizeof(ctx));
		memset(&result, 0, sizeof(result));
	}
	called = true;
	ctx.program = ops->program;

	r = read_stdin(&text, &len, &err);
	command = getenv("CNI_COMMAND");
	if (r == 0 && command && strcmp(command, "VERSION") == 0) {
		/* VERSION needs nothing but stdin: runtimes probe it without any other CNI_* */
		rc = run_version(ops, text, len);
		goto out;
	}
	if (r >= 0)
		r = ctx_read(ops, &ctx, text, len, version_echo, sizeof(version_echo), &err);
	metrics_configure(ctx.conf.metrics_dir);
	if (ctx.conf.log_level[0] && logline_level_parse(ctx.conf.log_level, &level) == 0)
		platform_log_set_level(level);
	if (r >= 0)
		r = dispatch(ops, &ctx, &result, &err);
	if (r >= 0 && ctx.env.command == CNI_CMD_ADD)
		r = print_result(&ctx, &result, ips, sizeof(ips), &err);
	if (r < 0) {
		if (!cni_error_is_set(&err))
			cni_error_set(&err, -EINVAL, CNI_CODE_INTERNAL, "internal error");
		emit_error(&err, version_echo);
		platform_log_error("%s %s container=%s ifname=%s error code=%d msg=%s details=%s "
				   "version=%s", ops->program, command ? command : "(unset)",
				   ctx.env.container_id, ctx.env.ifname, err.code, err.msg, err.details,
				   PLUGIN_VERSION);
		goto out;
	}
	platform_log("%s %s container=%s ifname=%s result=ok%s%s version=%s", ops->program,
		     ctx.env.command_str, ctx.env.container_id, ctx.env.ifname, ips[0] ? " ips=" : "",
		     ips, PLUGIN_VERSION);
	rc = 0;
out:
	free(ctx.result_text);
	ctx.result_text = NULL;
	if (ctx.env.command_str[0] && ctx.env.command != CNI_CMD_VERSION)
		metrics_flush(ops->program, ctx.env.command_str, rc ? err.code : 0,
			      platform_monotonic_ns() - t0);
	cni_request_free(&ctx.req);
	free(text);
	platform_log_close();
	return rc;
}

static bool owner_lock_name(const char *name)
{
	size_t i;

	for (i = 0; i < 40; i++)
		if (!isxdigit((unsigned char)name[i]))
			return false;
	return strcmp(name + 40, ".lock") == 0;
}

int plugin_owner_lock_sweep(void)
{
	return platform_lock_sweep(owner_lock_name);
}

int plugin_valid_attachments(const struct plugin_ctx *ctx, struct ipam_attachment **ret,
			     size_t *ret_n, struct cni_error *err)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(ctx->req.root,
							     "cni.dev/valid-attachments");
	struct ipam_attachment *valid;
	const cJSON *it;
	size_t n = 0;

	if (!cJSON_IsArray(list))
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "GC needs the array \"cni.dev/valid-attachments\"");
	valid = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*valid));
	if (!valid)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	cJSON_ArrayForEach(it, list) {
		const char *id = cJSON_IsObject(it) ? cni_json_string(it, "containerID") : NULL;
		const char *ifname = cJSON_IsObject(it) ? cni_json_string(it, "ifname") : NULL;

		if (!id || !id[0]) {
			free(valid);
			return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
					     "cni.dev/valid-attachments[%zu] is not an object with a "
					     "containerID", n);
		}
		valid[n].container_id = id;
		valid[n].ifname = ifname ? ifname : "";
		n++;
	}
	*ret = valid;
	*ret_n = n;
	return 0;
}
