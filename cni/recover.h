/* SPDX-License-Identifier: MIT */
/* What the node holds, found without trusting a state file: the endpoint records of
 * azure-vnet.json and what the network backend traces in the OS itself. Used to rebuild a state
 * file found corrupt (issue 9 item 7), so that no address in use is handed out again. */
#ifndef AZCNI_RECOVER_H
#define AZCNI_RECOVER_H

#include <stddef.h>

#include "core/conf.h"
#include "platform/backend.h"

/* recover_attachments - every endpoint record of azure-vnet.json, of any network (read without
 * its lock: the file is only ever replaced whole; left out when absent or itself corrupt), then
 * what @ops traces in the OS (backend_ops.attachments, any network; @ops NULL or without it:
 * nothing). One entry per record or OS object, so an owner may appear twice. @conf is the
 * call's (the backend session's options). *ret is a malloc'd array of *ret_n (caller frees;
 * NULL when 0). Never fails: what cannot be read is logged and left out. */
void recover_attachments(const struct backend_ops *ops, const struct conf *conf,
			 struct backend_attachment **ret, size_t *ret_n);

#endif
