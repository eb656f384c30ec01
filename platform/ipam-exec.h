/* SPDX-License-Identifier: MIT */
/* Delegation to an IPAM plugin that is not ours (host-local, static, ...): exec <type> found in
 * CNI_PATH with the caller's environment, CNI_COMMAND replaced, and the network config on stdin,
 * as SPEC.md "Delegated plugins" says. No shell. Linux: platform/linux/ipam-exec.c; Windows
 * does not delegate (platform/windows/ipam-exec.c). */
#ifndef AZCNI_IPAM_EXEC_H
#define AZCNI_IPAM_EXEC_H

#include <stddef.h>

#include "core/cni.h"
#include "core/error.h"

/* ipam_exec - run IPAM plugin @type (a bare name, no '/') for @command ("ADD", "DEL", "CHECK",
 * "GC", "STATUS") with @conf_text (@len bytes) on stdin, searching the ':'-separated @cni_path.
 * ADD: the plugin's result (any version) is decoded into *ret (may be NULL for other commands).
 * A plugin error object is passed on with its code, msg and details (msg prefixed with the
 * plugin name); a plugin not found in CNI_PATH, or (Linux) found but the running program itself
 * (same inode as /proc/self/exe, under any name), is code 7, before any exec; unparsable output, or more than 1 MiB
 * of it, is code 6. Linux: the plugin runs in a process group of its own and dies with ours
 * (PR_SET_PDEATHSIG(SIGKILL)); whatever it leaves in its group is killed when it exits. The call
 * is bounded by AZURE_CNI_EXEC_TIMEOUT_MS (default 60000): a plugin still running then is killed
 * with its whole group (SIGKILL) and the call is code 11 naming the plugin. Windows:
 * DEL and GC return 0 (nothing delegated exists), other commands -EOPNOTSUPP, code 7 naming
 * ipam.type. Out of memory (reading the plugin's output included): -ENOMEM, code 100, never
 * read as output that does not parse or as no error object.
 * Returns 0 or negative errno. */
int ipam_exec(const char *type, const char *command, const char *cni_path, const char *conf_text,
	      size_t len, struct cni_result *ret, struct cni_error *err);

#endif
