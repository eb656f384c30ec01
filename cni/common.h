/* SPDX-License-Identifier: MIT */
/* Glue shared by azure-vnet and azure-vnet-ipam (Linux and Windows): the CNI main loop
 * (env, stdin, version negotiation, dispatch, exactly one JSON object on stdout, one log line),
 * and the in-process azure-vnet-ipam (same lock, same state file, same results as the binary). */
#ifndef AZCNI_COMMON_H
#define AZCNI_COMMON_H

#include <stddef.h>

#include "core/cni.h"
#include "core/conf.h"
#include "core/error.h"
#include "core/ipam.h"
#include "core/netstate.h"

struct platform_lock;

/* What one invocation knows: filled by plugin_main before it calls an op. */
struct plugin_ctx {
	const char *program;        /* "azure-vnet" or "azure-vnet-ipam" */
	struct cni_env env;
	struct cni_request req;     /* req.root owns the config JSON */
	struct conf conf;
	struct cni_result prev;     /* decoded prevResult (valid when has_prev) */
	bool has_prev;
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

/* plugin_main - run one CNI invocation: -v/--version prints "Azure CNI Version <v>"; VERSION
 * answers from stdin alone; otherwise reads CNI_* and stdin, parses the request and conf,
 * refuses CHECK below 0.4.0 and GC/STATUS below 1.1.0 (code 1), calls the op and prints the
 * result in the request's version, or the error object. Returns the process exit code (0/1). */
int plugin_main(const struct plugin_ops *ops, int argc, char **argv);

/* plugin_owner_lock - the per-owner lock <runtime>/azure-vnet/<sha1 hex of
 * "<container_id>/<ifname>">.lock (Windows: <runtime>\\azure-vnet\\...; the directory of
 * PLATFORM_PATH_NET_STATE plus "azure-vnet"), held across a whole ADD, DEL or CHECK of that
 * owner: a runtime's retried ADD running beside the first one would otherwise delete the
 * other's new interface or endpoint (same name), and its rollback would release the IP the
 * other call hands out. Other owners take other files, so pods still run in parallel. Waits up
 * to @timeout_ms. Release *ret with platform_lock_release, or platform_lock_release_unlink once
 * the owner is gone (the next call of the owner makes a new file). Returns 0 or negative errno
 * (code 11 on timeout, 5 on I/O). */
int plugin_owner_lock(const char *container_id, const char *ifname, unsigned timeout_ms,
		      struct platform_lock **ret, struct cni_error *err);

/* plugin_valid_attachments - the GC request's "cni.dev/valid-attachments" (SPEC 1.1.0 "GC"),
 * an array of {"containerID", "ifname"} objects, as *ret (calloc'd, caller frees; the strings
 * point into ctx->req.root) with *ret_n entries (ifname "" when absent). A missing or non-array
 * list, or an entry that is not an object with a non-empty containerID, is code 7: guessing
 * "nothing is valid" would free every IP. Returns 0 or negative errno. */
int plugin_valid_attachments(const struct plugin_ctx *ctx, struct ipam_attachment **ret,
			     size_t *ret_n, struct cni_error *err);

/* ---- in-process azure-vnet-ipam ----
 * Each call: fetch the source (NMAgent or the mas file) outside any lock, then lock
 * PLATFORM_PATH_IPAM_LOCK, load PLATFORM_PATH_IPAM_STATE, refresh, change, save atomically, unlock. */

/* ipam_run_add - allocate for (container_id, ifname) per conf->ipam; fill *ret with the IPAM
 * result (ips, routes, dns; no interfaces). Errors: 11 source unreachable or lock timeout,
 * 105 broken source, 101 exhausted, 102 address in use, 6 corrupt state file, 5 I/O. */
int ipam_run_add(const struct conf *conf, const char *container_id, const char *ifname,
		 struct cni_result *ret, struct cni_error *err);

/* ipam_run_add_owned - ipam_run_add that also tells whether the address is new to the owner:
 * *ret_fresh (may be NULL; written only on success) is true when the owner held no address
 * before this call (a rollback may release it), false when an earlier ADD of the same owner
 * already held it (releasing it would take the address from a live attachment). */
int ipam_run_add_owned(const struct conf *conf, const char *container_id, const char *ifname,
		       struct cni_result *ret, bool *ret_fresh, struct cni_error *err);

/* ipam_run_del - release what (container_id, ifname) owns (only @addr when non-NULL).
 * Missing state, unknown owner or address: success. Does not contact the source. */
int ipam_run_del(const struct conf *conf, const char *container_id, const char *ifname,
		 const struct ipnet_addr *addr, struct cni_error *err);

/* ipam_run_release - ipam_run_del that also reports the addresses it released: at most @max
 * into @ret_released (caller's array) and their count in *ret_n (both may be NULL/0; written
 * only on success). Used by a DEL that has no other record of the pod's address. */
int ipam_run_release(const struct conf *conf, const char *container_id, const char *ifname,
		     const struct ipnet_addr *addr, struct ipnet_addr *ret_released, size_t max,
		     size_t *ret_n, struct cni_error *err);

/* ipam_run_owned - the addresses (at most @max into @ret_addrs, count in *ret_n) that
 * (container_id, ifname) holds, read under the IPAM lock; nothing changes. Missing state: 0
 * addresses. Does not contact the source. */
int ipam_run_owned(const struct conf *conf, const char *container_id, const char *ifname,
		   struct ipnet_addr *ret_addrs, size_t max, size_t *ret_n, struct cni_error *err);

/* ipam_run_gc - release every allocation not in @valid (@n entries). Does not contact the source. */
int ipam_run_gc(const struct conf *conf, const struct ipam_attachment *valid, size_t n,
		struct cni_error *err);

/* ipam_run_status - 0 when an address is free (refreshing from the source), else code 50. */
int ipam_run_status(const struct conf *conf, struct cni_error *err);

/* ---- the network state file (cni/common-state.c) ----
 * PLATFORM_PATH_NET_STATE (azure-vnet.json, core/netstate.h layout) under PLATFORM_PATH_NET_LOCK. */

/* state_lock - take the state file's lock (platform_lock_acquire with the platform's timeout;
 * code 11 on timeout). Release *ret with platform_lock_release. Returns 0 or negative errno. */
int state_lock(struct platform_lock **ret, struct cni_error *err);

/* state_load - read and decode the state file into *ret (zeroed first; caller netstate_free,
 * also on failure). A missing or empty file is an empty state. Errors: code 5 (I/O) or 6
 * (corrupt, naming the field). Call under state_lock. Returns 0 or negative errno. */
int state_load(struct netstate *ret, struct cni_error *err);

/* state_read - state_lock, state_load, unlock: a consistent read for callers that will not
 * write back. On success *ret holds the state (caller netstate_free); on failure *ret is empty
 * (nothing to free). Returns 0 or negative errno (codes as state_lock and state_load). */
int state_read(struct netstate *ret, struct cni_error *err);

/* state_update - one read-modify-write of the state file under its lock: state_lock,
 * state_load, @fn(st, @arg, err), state_save when @fn returned > 0 (it changed @st), unlock.
 * @fn returns > 0 (changed), 0 (nothing to save) or a negative errno (nothing saved; it sets
 * err). Returns 0 or negative errno (codes as state_lock, state_load, state_save, @fn). */
int state_update(int (*fn)(struct netstate *st, void *arg, struct cni_error *err), void *arg,
		 struct cni_error *err);

/* state_save - encode @st (Version "v<our version>", TimeStamp now) and replace the file
 * atomically. Call under state_lock. Returns 0 or negative errno (code 5; 100 out of memory). */
int state_save(const struct netstate *st, struct cni_error *err);

/* A parsed state kept across the locked steps of one call, with the text it came from. */
struct state_snap {
	struct netstate st;   /* the model of text (an empty state when len is 0) */
	char *text;           /* owned; NULL for a missing file */
	size_t len;
	bool valid;           /* st is the decode of text, unchanged since */
};

/* state_snap_load - make snap->st the current file's model, as state_load does, decoding only
 * when the file's bytes differ from snap's (other calls saved in between) or when snap is
 * zeroed or marked changed. Call under state_lock; @snap starts zeroed; free with
 * state_snap_free. On failure snap is unchanged or empty. Returns 0 or negative errno. */
int state_snap_load(struct state_snap *snap, struct cni_error *err);

/* state_snap_read - state_lock, state_snap_load, unlock (a read-only look at the file).
 * Returns 0 or negative errno as state_snap_load. */
int state_snap_read(struct state_snap *snap, struct cni_error *err);

/* state_snap_changed - mark snap->st as modified by the caller (the next load decodes). */
void state_snap_changed(struct state_snap *snap);

/* state_snap_free - free the model and the text and zero *snap; safe on a zeroed snap. */
void state_snap_free(struct state_snap *snap);

#endif
