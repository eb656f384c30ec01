/* SPDX-License-Identifier: MIT */
/* The network state file azure-vnet.json (core/netstate.h layout) for azure-vnet on every OS:
 * its lock, loading, atomic saving, one read-modify-write helper, and a snapshot that lets one
 * call parse the file once when nobody changed it between two locked steps. */
#ifndef AZCNI_STATE_H
#define AZCNI_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "core/netstate.h"

struct platform_lock;

/* The file is PLATFORM_PATH_NET_STATE, its lock PLATFORM_PATH_NET_LOCK. */

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

/* state_update - one read-modify-write of the state file under its lock, on @snap: state_lock,
 * state_snap_load, @fn(&snap->st, @arg, err), state_save when @fn returned > 0 (it changed the
 * model), unlock. @fn returns > 0 (changed), 0 (nothing to save) or a negative errno (nothing
 * saved; it sets err). Afterwards snap->st is the model @fn left (the file holds it when 0 is
 * returned). Every write of azure-vnet.json by azure-vnet goes through here. Returns 0 or
 * negative errno (codes as state_lock, state_snap_load, state_save, @fn). */
int state_update(struct state_snap *snap,
		 int (*fn)(struct netstate *st, void *arg, struct cni_error *err), void *arg,
		 struct cni_error *err);

/* state_snap_changed - mark snap->st as modified by the caller (the next load decodes). */
void state_snap_changed(struct state_snap *snap);

/* state_snap_free - free the model and the text and zero *snap; safe on a zeroed snap. */
void state_snap_free(struct state_snap *snap);

#endif
