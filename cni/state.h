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
#include "platform/platform.h"

/* The file is PLATFORM_PATH_NET_STATE, its lock PLATFORM_PATH_NET_LOCK (taken with the
 * platform's lock timeout: code 11 when it runs out). A missing or empty file is an empty state;
 * I/O errors are code 5, a corrupt file code 6 naming the field. Saves replace the file
 * atomically (Version "v<our version>", TimeStamp now). */

/* A parsed state kept across the locked steps of one call, with the text it came from. */
struct state_snap {
	struct netstate st;   /* the model of text (an empty state when len is 0) */
	char *text;           /* st.text: view's bytes; NULL for a missing file */
	size_t len;
	struct platform_view *view; /* the file's bytes (platform_file_view), owned */
	bool valid;           /* st is the decode of text, unchanged since */
};

/* state_snap_read - make snap->st the file's model (a read-only look; its records lazy, see
 * netstate_decode_lazy), decoding only when the file's bytes differ from snap's (other calls
 * saved in between) or when snap is zeroed or was changed by state_update. Without the lock
 * where platform_file_read_unlocked_ok (saves replace the file at once), but a missing, empty
 * or corrupt file is read under it. @snap starts zeroed; free with
 * state_snap_free; on failure it is unchanged or empty. Returns 0 or negative errno. */
int state_snap_read(struct state_snap *snap, struct cni_error *err);

/* state_update - one read-modify-write of the state file under its lock, on @snap: lock, load
 * (as state_snap_read), @fn(&snap->st, @arg, err), save when @fn returned > 0 (it changed the
 * model), unlock. @fn returns > 0 (changed), 0 (nothing to save) or a negative errno (nothing
 * saved; it sets err). Afterwards snap->st is the model @fn left (the file holds it when 0 is
 * returned). Every write of azure-vnet.json by azure-vnet goes through here. Returns 0 or
 * negative errno (the codes above, or @fn's). */
int state_update(struct state_snap *snap,
		 int (*fn)(struct netstate *st, void *arg, struct cni_error *err), void *arg,
		 struct cni_error *err);

/* state_update_undo - state_update, and when @fn changed the model (> 0) but it could not be
 * saved, @undo(@arg) runs before the lock is released: @fn may have made OS objects that
 * another call, once it holds the lock, could find and start using. Returns as state_update. */
int state_update_undo(struct state_snap *snap,
		      int (*fn)(struct netstate *st, void *arg, struct cni_error *err),
		      void (*undo)(void *arg), void *arg, struct cni_error *err);

/* state_snap_free - free the model and the text and zero *snap; safe on a zeroed snap. */
void state_snap_free(struct state_snap *snap);

#endif
