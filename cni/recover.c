/* SPDX-License-Identifier: MIT */
/* What the node holds, for rebuilding a corrupt state file: azure-vnet.json's records and the
 * backend's own trace of the OS. Talks to platform.h (files), core/netstate and the backend. */
#include "recover.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"

/* Append @n entries of @more to *@all (*@n_all); frees @more. */
static void append(struct backend_attachment **all, size_t *n_all, struct backend_attachment *more,
		   size_t n)
{
	struct backend_attachment *grown;

	if (!n || !more) {
		free(more);
		return;
	}
	if (!*all) {
		*all = more;
		*n_all = n;
		return;
	}
	grown = realloc(*all, (*n_all + n) * sizeof(**all));
	if (grown) {
		memcpy(grown + *n_all, more, n * sizeof(*more));
		*all = grown;
		*n_all += n;
	}
	free(more);
}

/* The records of azure-vnet.json as attachments into *ret (*ret_n). */
static void recorded(struct backend_attachment **ret, size_t *ret_n)
{
	const char *path = platform_path(PLATFORM_PATH_NET_STATE);
	struct cni_error err = { 0 };
	struct netstate st = { 0 };
	char *text = NULL;
	size_t len = 0, n = 0, i, j, k, m;
	struct backend_attachment *out;

	if (platform_file_read(path, &text, &len, &err) < 0 ||
	    netstate_decode(text, len, path, &st, &err) < 0) {
		if (cni_error_is_set(&err))
			platform_log("recovery: no records from %s: %s", path, err.msg);
		free(text);
		return;
	}
	free(text);
	for (i = 0; i < st.n_extifs; i++)
		for (j = 0; j < st.extifs[i].n_networks; j++)
			n += st.extifs[i].networks[j].n_endpoints;
	out = n ? calloc(n, sizeof(*out)) : NULL;
	for (i = 0, m = 0; out && i < st.n_extifs; i++)
		for (j = 0; j < st.extifs[i].n_networks; j++)
			for (k = 0; k < st.extifs[i].networks[j].n_endpoints; k++, m++) {
				const struct netstate_endpoint *ep =
					netstate_endpoint_of(st.extifs[i].networks[j].endpoints[k]);
				struct backend_attachment *a = &out[m];
				size_t x;

				if (!ep)
					continue; /* netstate_decode leaves none lazy */
				snprintf(a->container_id, sizeof(a->container_id), "%s", ep->container_id);
				snprintf(a->ifname, sizeof(a->ifname), "%s", ep->ifname);
				snprintf(a->host_ifname, sizeof(a->host_ifname), "%s", ep->host_ifname);
				for (x = 0; x < ep->n_ips && x < NETSTATE_MAX_IPS; x++)
					a->ips[a->n_ips++] = ep->ips[x].addr;
			}
	netstate_free(&st);
	if (out) {
		*ret = out;
		*ret_n = n;
	}
}

void recover_attachments(const struct backend_ops *ops, const struct conf *conf,
			 struct backend_attachment **ret, size_t *ret_n)
{
	const struct cni_env env = { 0 };
	const struct backend_call call = { .env = &env, .conf = conf };
	struct backend_attachment *found = NULL;
	struct cni_error err = { 0 };
	struct backend *be = NULL;
	size_t n = 0;

	*ret = NULL;
	*ret_n = 0;
	recorded(ret, ret_n);
	if (!ops || !ops->attachments)
		return;
	if (ops->open(&call, 0, &be, &err) < 0 || ops->attachments(be, &call, &found, &n, &err) < 0)
		platform_log("recovery: nothing traced in the OS: %s", err.msg);
	else
		append(ret, ret_n, found, n);
	ops->close(be);
}
