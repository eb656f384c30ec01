/* SPDX-License-Identifier: MIT */
/* The azure-vnet-ipam operations, shared by the azure-vnet-ipam binary and azure-vnet's in-process
 * IPAM: fetch the source (NMAgent over HTTP or the "mas" interfaces.json) outside any lock, then
 * under the IPAM lock load the state file, refresh, change, save atomically and unlock.
 *
 * Source throttling (ipam.queryInterval, default 10 s): the state records when the source was
 * last read into it (LastRefresh, ipamstate.c). An ADD whose state was refreshed less than the
 * interval ago allocates from the state alone; it reads the source only when that allocation
 * fails for want of an address (pool exhausted for this request, ipam.ipAddress or ipam.subnet
 * not in any pool) and then retries once. queryInterval 0, a state without LastRefresh (new,
 * or saved by the Go plugin) or a LastRefresh in the future read the source first, as before.
 * The Go plugin throttles only within one long-lived process; its CNI binary runs once per call
 * and so reads NMAgent on every ADD. */
#include "ipam-run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ipamstate.h"
#include "core/netscan.h"
#include "metrics.h"
#include "platform/platform.h"
#include "recover.h"

/* NMAgent GET bound: platform_http_get caps the connect phase at 5 s, the whole GET at this. */
#define IPAM_SOURCE_TIMEOUT_MS 10000u

/* Copy @inner into @err with @prefix before its message (first error wins in @err). */
static int wrap_error(struct cni_error *err, int r, const struct cni_error *inner, const char *prefix)
{
	if (!err || cni_error_is_set(err))
		return r;
	cni_error_set(err, r, inner->code ? inner->code : CNI_CODE_INTERNAL, "%s: %s", prefix, inner->msg);
	if (inner->details[0])
		cni_error_details(err, "%s", inner->details);
	return r;
}

static int fetch_source_once(const struct conf *conf, struct ipam_source *ret,
			     struct cni_error *err);

/* Fetch and parse the source named by @conf into *ret (caller ipam_source_free).
 * Unreachable, hung or non-200: code 11 naming the source. Unusable document: code 105. Out of
 * memory (reading or parsing): -ENOMEM, code 100, and no verdict on the source. */
static int fetch_source(const struct conf *conf, struct ipam_source *ret, struct cni_error *err)
{
	int r = fetch_source_once(conf, ret, err);

	/* out of memory here is no failed read of the source */
	if (r != -ENOMEM)
		metrics_source_read(r >= 0);
	return r;
}

static int fetch_source_once(const struct conf *conf, struct ipam_source *ret,
			     struct cni_error *err)
{
	struct cni_error inner = { 0 };
	char prefix[CNI_PATH_MAX + 64];
	const char *where;
	char *body = NULL;
	size_t len = 0;
	int r;

	switch (conf->ipam.environment) {
	case CONF_IPAM_ENV_AZURE:
		where = platform_path(PLATFORM_PATH_NMAGENT_URL);
		snprintf(prefix, sizeof(prefix), "IPAM source NMAgent (%s)", where);
		r = platform_http_get(where, IPAM_SOURCE_TIMEOUT_MS, &body, &len, &inner);
		if (r < 0)
			return wrap_error(err, r, &inner, prefix);
		r = ipam_source_parse_nmagent(body, len, ret, &inner);
		break;
	case CONF_IPAM_ENV_MAS:
		where = platform_path(PLATFORM_PATH_MAS_FILE);
		snprintf(prefix, sizeof(prefix), "IPAM source mas (%s)", where);
		r = platform_file_read_follow(where, &body, &len, &inner);
		if (r == -ENOENT) {
			cni_error_set(&inner, r, CNI_CODE_TRY_AGAIN, "file does not exist");
			return wrap_error(err, r, &inner, prefix);
		}
		if (r < 0) {
			inner.code = r == -ENOMEM ? CNI_CODE_INTERNAL : CNI_CODE_TRY_AGAIN;
			return wrap_error(err, r, &inner, prefix);
		}
		r = ipam_source_parse_mas(body, len, ret, &inner);
		break;
	case CONF_IPAM_ENV_NULL:
	default:
		/* "null": a source with no addresses (Go: a 0.0.0.0/0 pool with none); the refresh drops
		 * every free address, so only in-use ones remain until released. */
		memset(ret, 0, sizeof(*ret));
		return 0;
	}
	free(body);
	if (r < 0) {
		if (!inner.code)
			inner.code = CNI_CODE_SOURCE;
		return wrap_error(err, r, &inner, prefix);
	}
	/* Pools are named by interface ("eth0") as the Go plugin names them; the MAC otherwise. */
	for (size_t i = 0; i < ret->n_ifaces; i++)
		if (platform_ifname_by_mac(ret->ifaces[i].mac, ret->ifaces[i].ifname,
					   sizeof(ret->ifaces[i].ifname)) < 0)
			ret->ifaces[i].ifname[0] = '\0';
	return 0;
}

/* An error about what the source lists (no pool of a wanted family): name the source in
 * @err's details. */
static void source_name_error(const struct conf *conf, struct cni_error *err)
{
	if (!err || err->details[0])
		return;
	if (conf->ipam.environment == CONF_IPAM_ENV_AZURE)
		cni_error_details(err, "IPAM source NMAgent (%s)",
				  platform_path(PLATFORM_PATH_NMAGENT_URL));
	else if (conf->ipam.environment == CONF_IPAM_ENV_MAS)
		cni_error_details(err, "IPAM source mas (%s)", platform_path(PLATFORM_PATH_MAS_FILE));
	else
		cni_error_details(err, "IPAM source null (no addresses)");
}

/* A locked session on the IPAM state file. */
struct ipam_session {
	struct platform_lock *lock;
	struct ipam_space space;
	bool existed;   /* the state file was present */
};

static const struct backend_ops *recovery_ops;

void ipam_run_set_recovery(const struct backend_ops *ops)
{
	recovery_ops = ops;
}

/* Mark the addresses of @a in use by its owner (RECOVER_UNTRACED + the host interface's name
 * when the OS object names no owner) in @sp, where a pool has them and no one holds them. */
static size_t rebuild_mark(struct ipam_space *sp, const struct backend_attachment *a)
{
	char text[IPNET_ADDR_STRLEN], untraced[sizeof(RECOVER_UNTRACED) + NETSTATE_IFNAME_MAX];
	size_t i, n = 0, pool, addr;

	snprintf(untraced, sizeof(untraced), RECOVER_UNTRACED "%s", a->host_ifname);
	for (i = 0; i < a->n_ips; i++) {
		struct ipam_request req = {
			.container_id = a->container_id[0] ? a->container_id : untraced,
			.ifname = a->container_id[0] ? a->ifname : "",
			.subnet = "",
			.ip_address = ipnet_addr_format(&a->ips[i], text, sizeof(text)),
			.ipv6 = a->ips[i].family == IPNET_AF_INET6,
		};

		if (req.container_id[0] && ipam_allocate(sp, &req, &pool, &addr, NULL) == 0)
			n++;
	}
	return n;
}

/* The state file @path is corrupt (@why): rebuild s->space from the source and from what the
 * node holds (recover_attachments), keep the corrupt file as <path>.corrupt-<UTC> and replace
 * it with the rebuilt state. The lock is held. When the source cannot be read the file stays
 * as it is (the next call tries again) and the call fails: an empty state would hand out
 * addresses in use. */
static int session_rebuild(struct ipam_session *s, const struct conf *conf, const char *path,
			   const struct cni_error *why, struct cni_error *err)
{
	struct ipam_source src = { 0 };
	struct backend_attachment *held = NULL;
	char aside[512], ts[64], *text;
	size_t n = 0, i, marked = 0;
	int r;

	r = fetch_source(conf, &src, err);
	if (r >= 0)
		r = ipam_space_refresh(&s->space, &src, err);
	ipam_source_free(&src);
	if (r < 0)
		return r;
	s->space.last_refresh = (long long)time(NULL);
	recover_attachments(recovery_ops, conf, &held, &n);
	for (i = 0; i < n; i++)
		marked += rebuild_mark(&s->space, &held[i]);
	free(held);
	r = platform_file_set_aside(path, "corrupt", aside, sizeof(aside), err);
	if (r < 0 && r != -ENOENT)
		return r;
	platform_timestamp(ts, sizeof(ts));
	text = ipamstate_encode(&s->space, ts);
	if (!text)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory encoding IPAM state");
	r = platform_file_replace(path, text, strlen(text), err);
	free(text);
	if (r >= 0)
		platform_log_error("%s was corrupt (%s): kept as %s; rebuilt from the IPAM source "
			     "with %zu addresses in use found on the node", path, why->msg, aside,
			     marked);
	return r;
}

/* ipam_space's text_release for a space decoded from a file's view. */
static void view_release(void *owner)
{
	platform_file_view_free(owner);
}

/* Lock and load the state; a missing or 0-byte file is an empty "local" space; a corrupt one
 * is rebuilt (session_rebuild). The file is read as a view (platform_file_view: on Linux a
 * mapped, leased one past 32 KiB), kept by the space. @prev (may be NULL) is a space an earlier
 * session of this call decoded: taken as it is when the file still holds its bytes
 * (platform_file_view_current: for a pinned view without reading the file; no second decode),
 * freed either way. */
static int session_open(struct ipam_session *s, const struct conf *conf, struct ipam_space *prev,
			struct cni_error *err)
{
	struct cni_error why = { 0 };
	const char *path = platform_path(PLATFORM_PATH_IPAM_STATE);
	struct platform_view *view = NULL;
	const char *text = NULL;
	size_t len = 0;
	long long t0;
	int r;

	memset(s, 0, sizeof(*s));
	t0 = platform_monotonic_ns();
	r = platform_lock_acquire(platform_path(PLATFORM_PATH_IPAM_LOCK), platform_lock_timeout_ms(),
				  &s->lock, err);
	metrics_lock_waited(METRICS_LOCK_IPAM, platform_monotonic_ns() - t0);
	if (r < 0) {
		ipam_space_free(prev);
		return r;
	}
	if (prev && prev->text && prev->text_release == view_release &&
	    platform_file_view_current(path, prev->text_owner) == 1) {
		s->existed = true;
		s->space = *prev;
		*prev = (struct ipam_space){ 0 };
		goto out;
	}
	r = platform_file_view(path, NETSCAN_PAD, &view, &text, &len, &why);
	if (r == -ENOENT) {
		r = 0;
	} else if (r == -EFBIG) {
		/* past any size a node's state reaches: corrupt too */
		s->existed = true;
		r = session_rebuild(s, conf, path, &why, err);
	} else if (r < 0) {
		if (err && !cni_error_is_set(err))
			*err = why;
	} else {
		s->existed = true;
		/* the view is the space's from here, whatever the decode returns */
		r = ipamstate_decode_view(text, len, path, view_release, view, &s->space, &why);
		if (r == -EINVAL) {
			ipam_space_free(&s->space);
			r = session_rebuild(s, conf, path, &why, err);
		} else if (r < 0 && err && !cni_error_is_set(err)) {
			*err = why;
		}
	}
out:
	ipam_space_free(prev);
	if (r < 0) {
		s->lock = platform_lock_release(s->lock);
		return r;
	}
	if (!s->space.id[0])
		snprintf(s->space.id, sizeof(s->space.id), "local");
	return 0;
}

/* Save the space atomically (when @save) and unlock; always frees the space. */
static int session_close(struct ipam_session *s, bool save, struct cni_error *err)
{
	char ts[64];
	char *text;
	int r = 0;

	if (save) {
		platform_timestamp(ts, sizeof(ts));
		text = ipamstate_encode(&s->space, ts);
		if (!text)
			r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory encoding IPAM state");
		else
			r = platform_file_replace(platform_path(PLATFORM_PATH_IPAM_STATE), text,
						  strlen(text), err);
		free(text);
	}
	metrics_pools(&s->space);
	ipam_space_free(&s->space);
	s->lock = platform_lock_release(s->lock);
	return r;
}

#define IPAM_HELD_MAX 16

/* The addresses (at most @max) that owner (@cid, @ifname) holds in @sp, into @out; returns
 * the count. The owner test is ipam_allocate's: an empty ifname on either side (a record the
 * Go plugin wrote) matches any ifname. */
static size_t owner_held(const struct ipam_space *sp, const char *cid, const char *ifname,
			 struct ipnet_addr *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < sp->n_pools; i++)
		for (size_t k = 0; k < sp->pools[i].n_addrs && n < max; k++) {
			const struct ipam_addr *a = &sp->pools[i].addrs[k];

			if (a->in_use && strcmp(a->id, cid) == 0 &&
			    (!a->ifname[0] || !ifname[0] || strcmp(a->ifname, ifname) == 0))
				out[n++] = a->addr;
		}
	return n;
}

/* Whether @sp's pools may be used without reading the source again at @now (Unix seconds). */
static bool source_fresh(const struct conf *conf, const struct ipam_space *sp, long long now)
{
	int iv = conf->ipam.query_interval_s;

	/* "null" costs nothing to read and must drop whatever another source left behind. */
	if (conf->ipam.environment == CONF_IPAM_ENV_NULL || iv <= 0 || sp->last_refresh <= 0)
		return false;
	return now >= sp->last_refresh && now - sp->last_refresh < iv;
}

/* In an open session: allocate the owner's addresses for @req (one per family,
 * ipam_allocate_owner) and fill @ret; on success *ret_fresh tells whether the owner held none
 * of them before. Errors as ipam_allocate_owner. */
static int session_allocate(struct ipam_session *s, const struct ipam_request *req,
			    struct cni_result *ret, bool *ret_fresh, struct cni_error *err)
{
	struct ipam_alloc allocs[IPAM_MAX_FAMILIES];
	bool fresh = true;
	int n;

	n = ipam_allocate_owner(&s->space, req, allocs, err);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		fresh = fresh && !allocs[i].held;
	ipam_result_fill_allocs(&s->space, allocs, (size_t)n, ret);
	*ret_fresh = fresh;
	return 0;
}

int ipam_run_add(const struct conf *conf, const char *container_id, const char *ifname,
		 struct cni_result *ret, struct cni_error *err)
{
	return ipam_run_add_owned(conf, container_id, ifname, IPAM_FAMILY_ANY, ret, NULL, err);
}

int ipam_run_add_owned(const struct conf *conf, const char *container_id, const char *ifname,
		       unsigned families, struct cni_result *ret, bool *ret_fresh,
		       struct cni_error *err)
{
	struct ipam_source src = { 0 };
	struct ipam_space read = { 0 };
	struct ipam_session s;
	struct ipam_request req = {
		.container_id = container_id,
		.ifname = ifname ? ifname : "",
		.subnet = conf->ipam.subnet,
		.ip_address = conf->ipam.ip_address,
		.families = families,
	};
	bool fresh = true;
	int r;

	if (!container_id || !*container_id)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV, "CNI_CONTAINERID is required");

	/* Within queryInterval of the last refresh: the state alone, unless it has no address for
	 * this request (then unlock, read the source and try once more below). */
	if (conf->ipam.query_interval_s > 0 && conf->ipam.environment != CONF_IPAM_ENV_NULL) {
		struct cni_error inner = { 0 };

		r = session_open(&s, conf, NULL, err);
		if (r < 0)
			return r;
		if (!source_fresh(conf, &s.space, (long long)time(NULL))) {
			/* untouched: the session below takes it if the file has not changed */
			read = s.space;
			s.space = (struct ipam_space){ 0 };
		} else {
			r = session_allocate(&s, &req, ret, &fresh, &inner);
			if (r == 0) {
				r = session_close(&s, true, err);
				if (r >= 0 && ret_fresh)
					*ret_fresh = fresh;
				return r;
			}
			if (r != -ENOSPC && r != -ENOENT && r != -EAFNOSUPPORT) {
				session_close(&s, false, NULL);
				if (err && !cni_error_is_set(err))
					*err = inner;
				return r;
			}
		}
		session_close(&s, false, NULL);
	}

	r = fetch_source(conf, &src, err);
	if (r < 0) {
		ipam_space_free(&read);
		return r;
	}
	r = session_open(&s, conf, &read, err);
	if (r < 0)
		goto free_src;
	r = ipam_space_refresh(&s.space, &src, err);
	if (r < 0)
		goto unlock;
	s.space.last_refresh = (long long)time(NULL);
	r = session_allocate(&s, &req, ret, &fresh, err);
	if (r == -EAFNOSUPPORT)
		source_name_error(conf, err);
	if (r < 0)
		goto unlock;
	r = session_close(&s, true, err);
	if (r >= 0 && ret_fresh)
		*ret_fresh = fresh;
	goto free_src;

unlock:
	session_close(&s, false, NULL);
free_src:
	ipam_source_free(&src);
	return r;
}

int ipam_run_del(const struct conf *conf, const char *container_id, const char *ifname,
		 const struct ipnet_addr *addr, struct cni_error *err)
{
	return ipam_run_release(conf, container_id, ifname, addr, NULL, 0, NULL, err);
}

int ipam_run_release(const struct conf *conf, const char *container_id, const char *ifname,
		     const struct ipnet_addr *addr, struct ipnet_addr *ret_released, size_t max,
		     size_t *ret_n, struct cni_error *err)
{
	struct ipnet_addr held[IPAM_HELD_MAX];
	struct ipam_session s;
	size_t n_held, i, k = 0;
	int r, n;

	if (!container_id || !*container_id)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV, "CNI_CONTAINERID is required");
	if (!ifname)
		ifname = "";
	r = session_open(&s, conf, NULL, err);
	if (r < 0)
		return r;
	n_held = owner_held(&s.space, container_id, ifname, held, IPAM_HELD_MAX);
	n = ipam_release(&s.space, container_id, ifname, addr);
	r = session_close(&s, n > 0, err);
	if (r < 0 || !ret_n)
		return r;
	for (i = 0; i < n_held && k < max; i++)
		if (!addr || ipnet_addr_equal(addr, &held[i]))
			ret_released[k++] = held[i];
	*ret_n = k;
	return r;
}

int ipam_run_owned(const struct conf *conf, const char *container_id, const char *ifname,
		   struct ipnet_addr *ret_addrs, size_t max, size_t *ret_n, struct cni_error *err)
{
	struct ipnet_addr held[IPAM_HELD_MAX];
	struct ipam_session s;
	size_t n, i;
	int r;

	if (!container_id || !*container_id)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV, "CNI_CONTAINERID is required");
	r = session_open(&s, conf, NULL, err);
	if (r < 0)
		return r;
	n = owner_held(&s.space, container_id, ifname ? ifname : "", held, IPAM_HELD_MAX);
	session_close(&s, false, NULL);
	for (i = 0; i < n && i < max; i++)
		ret_addrs[i] = held[i];
	if (ret_n)
		*ret_n = i;
	return 0;
}

int ipam_run_gc(const struct conf *conf, const struct ipam_attachment *valid, size_t n,
		bool (*keep)(const struct ipam_addr *rec, void *arg), void *arg,
		struct cni_error *err)
{
	struct ipam_session s;
	int r, released;

	r = session_open(&s, conf, NULL, err);
	if (r < 0)
		return r;
	released = ipam_gc(&s.space, valid, n, keep, arg);
	return session_close(&s, released > 0, err);
}

/* STATUS's verdict on the refreshed @sp for @families: each wanted family that has pools needs
 * a free address (an ADD takes one of each); at least one wanted family must have pools.
 * Returns 0 or -ENOSPC (code 50 naming the family). */
static int status_families(const struct ipam_space *sp, unsigned families, struct cni_error *err)
{
	static const int fam[2] = { IPNET_AF_INET, IPNET_AF_INET6 };
	static const unsigned bit[2] = { IPAM_FAMILY_V4, IPAM_FAMILY_V6 };
	bool any = false;

	for (int f = 0; f < 2; f++) {
		if (!(families & bit[f]) || !ipam_has_family(sp, fam[f]))
			continue;
		any = true;
		if (ipam_free_count_family(sp, fam[f]) == 0)
			return cni_error_set(err, -ENOSPC, CNI_CODE_PLUGIN_NOT_AVAILABLE,
					     "no available %s addresses in any pool",
					     f ? "IPv6" : "IPv4");
	}
	if (!any)
		return cni_error_set(err, -ENOSPC, CNI_CODE_PLUGIN_NOT_AVAILABLE,
				     "no available addresses in any pool");
	return 0;
}

int ipam_run_status(const struct conf *conf, struct cni_error *err)
{
	return ipam_run_status_families(conf, IPAM_FAMILY_ANY, err);
}

int ipam_run_status_families(const struct conf *conf, unsigned families, struct cni_error *err)
{
	struct ipam_source src = { 0 };
	struct cni_error inner = { 0 };
	struct ipam_session s;
	int r;

	/* A source that cannot be read means ADD cannot be served: "plugin not available". Out of
	 * memory says nothing of the source: code 100 as elsewhere. */
	r = fetch_source(conf, &src, &inner);
	if (r < 0) {
		cni_error_set(err, r, r == -ENOMEM ? CNI_CODE_INTERNAL : CNI_CODE_PLUGIN_NOT_AVAILABLE,
			      "%s", inner.msg);
		cni_error_details(err, "%s", inner.details);
		return r;
	}
	r = session_open(&s, conf, NULL, err);
	if (r < 0)
		goto free_src;
	r = ipam_space_refresh(&s.space, &src, err);
	if (r >= 0)
		r = status_families(&s.space, families, err);
	/* STATUS only reads: the refreshed view is not saved. */
	session_close(&s, false, NULL);
free_src:
	ipam_source_free(&src);
	return r;
}
