/* SPDX-License-Identifier: MIT */
/* First-error-wins error records. */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

int cni_error_set(struct cni_error *err, int ret, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->code != 0)
		return ret;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->details[0] = '\0';
	return ret;
}

int cni_error_check_fail(struct cni_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->code != 0)
		return -ENOENT;
	err->code = CNI_CODE_CHECK_FAILED;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->details[0] = '\0';
	return -ENOENT;
}

void cni_error_details(struct cni_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->details[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(err->details, sizeof(err->details), fmt, ap);
	va_end(ap);
}
