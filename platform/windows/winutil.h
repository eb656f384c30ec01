/* SPDX-License-Identifier: MIT */
/* Helpers shared inside platform/windows only: UTF-8 <-> UTF-16 (the rest of the code is UTF-8),
 * Win32 error text, and the Win32 error -> negative errno mapping. */
#ifndef AZCNI_WINUTIL_H
#define AZCNI_WINUTIL_H

#include <stddef.h>
#include <wchar.h>

/* win_wide - UTF-16 copy of the UTF-8 @s (malloc'd, caller frees) or NULL (out of memory or
 * invalid UTF-8). */
wchar_t *win_wide(const char *s);

/* win_utf8 - UTF-8 copy of the UTF-16 @w (malloc'd, caller frees); NULL @w gives NULL. NULL also
 * on out of memory. */
char *win_utf8(const wchar_t *w);

/* win_error_text - the system message for Win32 error (or HRESULT) @code, UTF-8, one line,
 * into @buf; "error 0x<code>" when the system has none. Returns @buf. */
char *win_error_text(unsigned long code, char *buf, size_t size);

/* win_errno - a negative errno for Win32 error @code (ENOENT, EACCES, EEXIST, EBUSY, ENOMEM,
 * ETIMEDOUT, else EIO). */
int win_errno(unsigned long code);

/* win_adapter_for_prefix - the FriendlyName (UTF-8) of the first adapter holding an address inside
 * the prefix (@family 2 or 10, network bytes @net, @len bits) into @buf. Returns 0 or -ENOENT. */
int win_adapter_for_prefix(int family, const unsigned char *net, int len, char *buf, size_t size);

#endif
