/* SPDX-License-Identifier: MIT */
/* azure-vnet's entry point with its network backend as a parameter, so a test can run the one
 * orchestrator (cni/azure-vnet.c) over an in-memory backend (tests/unit/test-vnet.c). */
#ifndef AZCNI_AZURE_VNET_H
#define AZCNI_AZURE_VNET_H

#include "platform/backend.h"

/* azure_vnet_main - run one azure-vnet invocation (plugin_main: CNI_* from the environment,
 * the request on stdin, one JSON object on stdout) over backend @ops (static storage, kept for
 * the process). Returns the exit code (0 or 1). The program's main is azure_vnet_main with
 * backend_native(), then ops->finish. */
int azure_vnet_main(const struct backend_ops *ops, int argc, char **argv);

#endif
