/* SPDX-License-Identifier: MIT */
/* The CNI main loop shared by azure-vnet and azure-vnet-ipam (Linux and Windows): env, stdin,
 * version negotiation, dispatch to a program's ops, exactly one JSON object on stdout, one log
 * line; the per-owner lock and the GC request's valid attachments.
 * Source: containernetworking/cni SPEC.md 1.1.0 "Execution Protocol" and "Version". */
#ifndef AZCNI_PLUGIN_H
#define AZCNI_PLUGIN_H

#include <stddef.h>

#include "core/cni.h"
#include "core/conf.h"
#include "core/error.h"
#include "core/ipam.h"

struct platform_lock;

/* What one invocation knows: filled by plugin_main before it calls an op. */
struct plugin_ctx {
	const char *program;        /* "azure-vnet" or "azure-vnet-ipam" */
	struct cni_env env;
	struct cni_request req;     /* req.root owns the config JSON */
	struct conf conf;
	struct cni_result prev;     /* decoded prevResult (valid when has_prev) */
	bool has_prev;
	char *result_text;          /* ADD: the answer rendered ahead (plugin_result_render) */
};

/* The commands a program implements. NULL members are refused with code 2 ("not supported").
 * add fills *ret (the result to print); check/del/gc/status print nothing on success. */
struct plugin_ops {
	const char *program;
	/* Optional (false = none): plugin_main holds the owner's lock (plugin_owner_lock) across
	 * add, del and check, and removes its file after del. */
	bool lock_per_owner;
	int (*add)(struct plugin_ctx *ctx, struct cni_result *ret, struct cni_error *err);
	int (*del)(struct plugin_ctx *ctx, struct cni_error *err);
	int (*check)(struct plugin_ctx *ctx, struct cni_error *err);
	int (*gc)(struct plugin_ctx *ctx, struct cni_error *err);
	int (*status)(struct plugin_ctx *ctx, struct cni_error *err);
};

/* plugin_result_render - encode and print @result (an ADD's answer, in the request's version)
 * now into ctx->result_text, which plugin_main prints instead of encoding the add's *ret: an
 * add renders before its last commit, so that running out of memory while encoding its answer
 * fails the call while it can still roll back (after the commit a failed print would leave the
 * attachment made and the call failed). Returns 0 or negative errno (code 100 out of memory,
 * code 1 for a version without a result form). */
int plugin_result_render(struct plugin_ctx *ctx, const struct cni_result *result,
			 struct cni_error *err);

/* plugin_main - run one CNI invocation: -v/--version prints "Azure CNI Version <v>"; VERSION
 * answers from stdin alone; otherwise reads CNI_* and stdin, parses the request and conf,
 * refuses CHECK below 0.4.0 and GC/STATUS below 1.1.0 (code 1), calls the op and prints the
 * result in the request's version, or the error object. Returns the process exit code (0/1). */
int plugin_main(const struct plugin_ops *ops, int argc, char **argv);

/* plugin_owner_lock - the per-owner lock <runtime>/azure-vnet/<sha1 hex of
 * "<container_id>/<ifname>">.lock (platform_lock_path), held across a whole ADD, DEL or CHECK of that
 * owner: a runtime's retried ADD running beside the first one would otherwise delete the
 * other's new interface or endpoint (same name), and its rollback would release the IP the
 * other call hands out. Other owners take other files, so pods still run in parallel. Waits up
 * to @timeout_ms. Release *ret with platform_lock_release, or platform_lock_release_unlink once
 * the owner is gone (the next call of the owner makes a new file). Returns 0 or negative errno
 * (code 11 on timeout, 5 on I/O). */
int plugin_owner_lock(const char *container_id, const char *ifname, unsigned timeout_ms,
		      struct platform_lock **ret, struct cni_error *err);

/* plugin_owner_lock_sweep - remove the idle owner lock files (platform_lock_sweep of every
 * "<40 hex digits>.lock"): those of owners whose DEL or GC was killed before removing them, and
 * of idle live owners (harmless: their next call makes the file again). Called by GC. Returns
 * the number removed. */
int plugin_owner_lock_sweep(void);

/* plugin_valid_attachments - the GC request's "cni.dev/valid-attachments" (SPEC 1.1.0 "GC"),
 * an array of {"containerID", "ifname"} objects, as *ret (calloc'd, caller frees; the strings
 * point into ctx->req.root) with *ret_n entries (ifname "" when absent). A missing or non-array
 * list, or an entry that is not an object with a non-empty containerID, is code 7: guessing
 * "nothing is valid" would free every IP. Returns 0 or negative errno. */
int plugin_valid_attachments(const struct plugin_ctx *ctx, struct ipam_attachment **ret,
			     size_t *ret_n, struct cni_error *err);

#endif
