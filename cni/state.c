/* SPDX-License-Identifier: MIT */
/* The network/endpoint state file (azure-vnet.json) for both azure-vnet programs: its lock,
 * loading, atomic saving, and a snapshot that lets one call parse the file once when nobody
 * changed it between two locked steps. Talks to platform.h (files, locks) and core/netstate. */
#include "state.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/netscan.h"
#include "metrics.h"
#include "platform/platform.h"

static int state_lock(struct platform_lock **ret, struct cni_error *err)
{
	long long t0 = platform_monotonic_ns();
	int r = platform_lock_acquire(platform_path(PLATFORM_PATH_NET_LOCK),
				      platform_lock_timeout_ms(), ret, err);

	metrics_lock_waited(METRICS_LOCK_STATE, platform_monotonic_ns() - t0);
	return r;
}

static int state_save(const struct netstate *st, struct cni_error *err);

/* The file at @path does not decode (@why): keep it as <path>.corrupt-<UTC>, replace it with an
 * empty state and log at error level. Nothing is lost that the node cannot tell again: a next
 * ADD finds or makes the network again (backend network_create adopts what is there), a DEL of
 * a pod without a record removes it by what its owner names (the host veth, the IPAM's
 * addresses), a GC removes the OS objects of owners it is not given as valid, and the IPAM state
 * keeps every address in use. The lock is held. */
static int state_rebuild(struct state_snap *snap, const char *path, const struct cni_error *why,
			 struct cni_error *err)
{
	char aside[512];
	int r;

	r = platform_file_set_aside(path, "corrupt", aside, sizeof(aside), err);
	if (r < 0 && r != -ENOENT)
		return r;
	r = state_save(&snap->st, err);
	if (r < 0)
		return r;
	platform_log_error("%s was corrupt (%s): kept as %s; started again from an empty state",
		     path, why->msg, aside);
	/* the saved bytes differ from any snapshot's: the next load decodes them */
	return 0;
}

/* Is @text (@len bytes) the text @snap's model came from? The model is a function of the text
 * alone: the same bytes need no second parse. The model's own bytes are compared only while
 * they are stable (a mapped view whose lease was broken may be cut short under us). */
static bool snap_same(const struct state_snap *snap, const char *text, size_t len)
{
	return snap->valid && len == snap->len &&
	       (len == 0 || (platform_file_view_stable(snap->view) &&
			     memcmp(text, snap->text, len) == 0));
}

/* Does the file still hold the bytes @snap's model came from? Without reading it where the
 * model's view is pinned (platform_file_view_current). */
static bool snap_current(const struct state_snap *snap, const char *path)
{
	return snap->valid && snap->len && platform_file_view_current(path, snap->view) == 1;
}

/* @snap's model becomes @st, decoded (netstate_decode_lazy_view) from @view's bytes (@len;
 * @view NULL for a missing file), both now owned by @snap. */
static void snap_take(struct state_snap *snap, struct netstate *st, size_t len,
		      struct platform_view *view)
{
	state_snap_free(snap);
	snap->st = *st;
	snap->text = st->text;
	snap->len = len;
	snap->view = view;
	snap->valid = true;
}

static int state_snap_load(struct state_snap *snap, struct cni_error *err)
{
	const char *path = platform_path(PLATFORM_PATH_NET_STATE);
	struct platform_view *view = NULL;
	struct cni_error why = { 0 };
	const char *text = NULL;
	struct netstate st;
	size_t len = 0;
	int r;

	/* unchanged since @snap was read (the common case): no read, or compared without a copy */
	if (snap_current(snap, path))
		return 0;
	r = platform_file_view(path, NETSCAN_PAD, &view, &text, &len, &why);
	if (r == -EFBIG) {
		/* past any size a node's state reaches: corrupt too */
		state_snap_free(snap);
		return state_rebuild(snap, path, &why, err);
	}
	if (r < 0 && r != -ENOENT) {
		if (err && !cni_error_is_set(err))
			*err = why;
		return r;
	}
	if (r == -ENOENT)
		len = 0;
	if (snap_same(snap, text, len)) {
		platform_file_view_free(view);
		return 0;
	}
	/* records left lazy: a call decodes and re-encodes only the records it touches; the
	 * view's bytes are the model's (no copy) */
	memset(&st, 0, sizeof(st));
	r = 0;
	if (len)
		r = netstate_decode_lazy_view(text, len, path, &st, &why);
	if (r < 0)
		platform_file_view_free(view);
	if (r == -EINVAL) {
		state_snap_free(snap);
		return state_rebuild(snap, path, &why, err);
	}
	if (r < 0) {
		state_snap_free(snap);
		if (err && !cni_error_is_set(err))
			*err = why;
		return r;
	}
	snap_take(snap, &st, len, view);
	return 0;
}

/* @st encoded and written: its unchanged records straight from the text they were read from
 * (netstate_encode_parts), not copied. */
static int state_save(const struct netstate *st, struct cni_error *err)
{
	struct platform_part *parts;
	struct netstate_text t;
	char ts[64];
	size_t i;
	int r;

	platform_timestamp(ts, sizeof(ts));
	if (netstate_encode_parts(st, "v" AZCNI_VERSION, ts, &t) < 0)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	parts = malloc((t.n ? t.n : 1) * sizeof(*parts));
	if (!parts) {
		netstate_text_free(&t);
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	}
	for (i = 0; i < t.n; i++)
		parts[i] = (struct platform_part){ t.parts[i].data, t.parts[i].len };
	r = platform_file_replace_parts(platform_path(PLATFORM_PATH_NET_STATE), parts, t.n, err);
	free(parts);
	netstate_text_free(&t);
	return r;
}

static void state_snap_changed(struct state_snap *snap)
{
	snap->valid = false;
}

/* The file's model into @snap without the lock, where the platform allows it: every save
 * replaces the file at once (ours: platform_file_replace; Go's store: temp file and rename), so
 * an unlocked read sees one whole save. A missing, empty or undecodable file
 * is read again under the lock (a corrupt one is rebuilt under it). Returns true when done. */
static bool state_snap_unlocked(struct state_snap *snap)
{
	const char *path = platform_path(PLATFORM_PATH_NET_STATE);
	struct platform_view *view = NULL;
	const char *text = NULL;
	struct netstate st;
	size_t len = 0;

	if (!platform_file_read_unlocked_ok())
		return false;
	if (snap_current(snap, path))
		return true;
	if (platform_file_view(path, NETSCAN_PAD, &view, &text, &len, NULL) < 0 || len == 0) {
		platform_file_view_free(view);
		return false;
	}
	if (snap_same(snap, text, len)) {
		platform_file_view_free(view);
		return true;
	}
	if (netstate_decode_lazy_view(text, len, NULL, &st, NULL) < 0) {
		platform_file_view_free(view);
		return false;
	}
	snap_take(snap, &st, len, view);
	return true;
}

int state_snap_read(struct state_snap *snap, struct cni_error *err)
{
	struct platform_lock *l = NULL;
	int r;

	if (state_snap_unlocked(snap))
		return 0;
	r = state_lock(&l, err);
	if (r < 0)
		return r;
	r = state_snap_load(snap, err);
	platform_lock_release(l);
	return r;
}

int state_update_undo(struct state_snap *snap,
		      int (*fn)(struct netstate *st, void *arg, struct cni_error *err),
		      void (*undo)(void *arg), void *arg, struct cni_error *err)
{
	struct platform_lock *l = NULL;
	int r;

	r = state_lock(&l, err);
	if (r < 0)
		return r;
	r = state_snap_load(snap, err);
	if (r >= 0)
		r = fn(&snap->st, arg, err);
	if (r != 0)
		state_snap_changed(snap);  /* @fn may have changed the model, saved or not */
	if (r > 0) {
		r = state_save(&snap->st, err);
		if (r < 0 && undo)
			undo(arg);
	}
	platform_lock_release(l);
	return r < 0 ? r : 0;
}

int state_update(struct state_snap *snap,
		 int (*fn)(struct netstate *st, void *arg, struct cni_error *err), void *arg,
		 struct cni_error *err)
{
	return state_update_undo(snap, fn, NULL, arg, err);
}

void state_snap_free(struct state_snap *snap)
{
	netstate_free(&snap->st); /* snap->text is snap->st.text, @view's bytes */
	platform_file_view_free(snap->view);
	memset(snap, 0, sizeof(*snap));
}
