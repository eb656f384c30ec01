/* SPDX-License-Identifier: MIT */
/* azure-vnet-ipam: the IPAM plugin. Hands out the VM NIC's secondary IPs, one per owner
 * (CNI_CONTAINERID + CNI_IFNAME), persisted in the IPAM state file; see cni/ipam-run.c. */
#include "ipam-run.h"
#include "plugin.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"

/* The answer is rendered before the call returns (plugin_result_render): when that runs out of
 * memory, an address this call handed out is released again, so a failed ADD holds nothing new. */
static int ipam_add(struct plugin_ctx *ctx, struct cni_result *ret, struct cni_error *err)
{
	bool fresh = false;
	int r;

	r = ipam_run_add_owned(&ctx->conf, ctx->env.container_id, ctx->env.ifname,
			       IPAM_FAMILY_ANY, ret, &fresh, err);
	if (r < 0)
		return r;
	r = plugin_result_render(ctx, ret, err);
	if (r < 0 && fresh)
		ipam_run_del(&ctx->conf, ctx->env.container_id, ctx->env.ifname, NULL, NULL);
	return r;
}

/* DEL releases by owner: an unknown owner or missing state is success with no output. */
static int ipam_del(struct plugin_ctx *ctx, struct cni_error *err)
{
	return ipam_run_del(&ctx->conf, ctx->env.container_id, ctx->env.ifname, NULL, err);
}

/* IPAM CHECK has nothing to verify (the Go plugin's Get is a no-op for IPAM too). */
static int ipam_check(struct plugin_ctx *ctx, struct cni_error *err)
{
	(void)ctx;
	(void)err;
	return 0;
}

/* GC: keep only the owners listed in "cni.dev/valid-attachments" (plugin_valid_attachments). */
static int ipam_gc_op(struct plugin_ctx *ctx, struct cni_error *err)
{
	struct ipam_attachment *valid = NULL;
	size_t n = 0;
	int r;

	r = plugin_valid_attachments(ctx, &valid, &n, err);
	if (r < 0)
		return r;
	r = ipam_run_gc(&ctx->conf, valid, n, NULL, NULL, err);
	free(valid);
	return r;
}

static int ipam_status(struct plugin_ctx *ctx, struct cni_error *err)
{
	return ipam_run_status(&ctx->conf, err);
}

int main(int argc, char **argv)
{
	static const struct plugin_ops ops = {
		.program = "azure-vnet-ipam",
		.add = ipam_add,
		.del = ipam_del,
		.check = ipam_check,
		.gc = ipam_gc_op,
		.status = ipam_status,
	};

	/* a corrupt state is rebuilt keeping what the node's pods hold (cni/recover.h) */
	ipam_run_set_recovery(backend_native());
	return plugin_main(&ops, argc, argv);
}
