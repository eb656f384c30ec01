/* SPDX-License-Identifier: MIT */
/* IPAM delegation on Windows: not supported (azure-vnet.exe runs azure-vnet-ipam in-process, as
 * the Go plugin's Windows conflists do). ADD, CHECK and STATUS are a clear config error; DEL and
 * GC succeed with nothing to do, since no delegated plugin can have allocated anything (the
 * backend's validate refuses such an ADD before any call), so a DEL of a pod whose config names
 * another IPAM still cleans up the endpoint. */
#include "platform/ipam-exec.h"

#include <errno.h>
#include <string.h>

int ipam_exec(const char *type, const char *command, const char *cni_path, const char *conf_text,
	      size_t len, struct cni_result *ret, struct cni_error *err)
{
	(void)cni_path, (void)conf_text, (void)len, (void)ret;
	if (strcmp(command, "DEL") == 0 || strcmp(command, "GC") == 0)
		return 0;
	return cni_error_set(err, -EOPNOTSUPP, CNI_CODE_INVALID_CONFIG,
			     "ipam.type \"%s\" is not supported on Windows (azure-vnet-ipam)", type);
}
