/* SPDX-License-Identifier: MIT */
/* azure-vnet-ipam: the IPAM plugin. Hands out the VM NIC's secondary IPs, one per owner
 * (CNI_CONTAINERID + CNI_IFNAME), persisted in the IPAM state file; see cni/common-ipam.c. */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"

static int ipam_add(struct plugin_ctx *ctx, struct cni_result *ret, struct cni_error *err)
{
	return ipam_run_add(&ctx->conf, ctx->env.container_id, ctx->env.ifname, ret, err);
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

/* GC: keep only the owners listed in "cni.dev/valid-attachments" [{containerID, ifname}]
 * (SPEC 1.1.0 "GC"). A missing list is code 7: guessing "nothing is valid" would free every IP. */
static int ipam_gc_op(struct plugin_ctx *ctx, struct cni_error *err)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(ctx->req.root, "cni.dev/valid-attachments");
	struct ipam_attachment *valid = NULL;
	const cJSON *it;
	size_t n = 0;
	int r;

	if (!cJSON_IsArray(list))
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "GC needs the array \"cni.dev/valid-attachments\"");
	valid = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*valid));
	if (!valid)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	cJSON_ArrayForEach(it, list) {
		const char *id = cni_json_string(it, "containerID");
		const char *ifname = cni_json_string(it, "ifname");

		if (!cJSON_IsObject(it) || !id) {
			r = cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
					  "cni.dev/valid-attachments[%zu] has no containerID", n);
			goto out;
		}
		valid[n].container_id = id;
		valid[n].ifname = ifname ? ifname : "";
		n++;
	}
	r = ipam_run_gc(&ctx->conf, valid, n, err);
out:
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

	return plugin_main(&ops, argc, argv);
}
