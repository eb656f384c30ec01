/* SPDX-License-Identifier: MIT */
/* The error record every fallible function fills: a CNI error code, a message and details.
 * The first error set wins, so the deepest, most precise cause reaches the runtime. */
#ifndef AZCNI_ERROR_H
#define AZCNI_ERROR_H

#include <stdbool.h>

/* CNI error codes: SPEC.md "Result Types > Error" (1-11, 50/51 from 1.1.0 STATUS)
 * and our own (>= 100, listed in README.md "Error codes"). */
enum cni_code {
	CNI_CODE_OK = 0,
	CNI_CODE_INCOMPATIBLE_VERSION = 1,
	CNI_CODE_UNSUPPORTED_FIELD = 2,
	CNI_CODE_UNKNOWN_CONTAINER = 3,
	CNI_CODE_INVALID_ENV = 4,
	CNI_CODE_IO = 5,
	CNI_CODE_DECODE = 6,
	CNI_CODE_INVALID_CONFIG = 7,
	CNI_CODE_TRY_AGAIN = 11,
	CNI_CODE_PLUGIN_NOT_AVAILABLE = 50,
	CNI_CODE_LIMITED_CONNECTIVITY = 51,
	/* ours */
	CNI_CODE_INTERNAL = 100,       /* unexpected failure (out of memory, bug) */
	CNI_CODE_NO_ADDRESS = 101,     /* IPAM pool exhausted */
	CNI_CODE_ADDRESS_IN_USE = 102, /* ipam.ipAddress held by another owner */
	CNI_CODE_NETWORK = 103,        /* netlink, iptables or HNS operation failed */
	CNI_CODE_STATE = 104,          /* state file unreadable or not in the expected layout */
	CNI_CODE_SOURCE = 105,         /* IPAM source (NMAgent, interfaces.json) answered but is unusable */
	CNI_CODE_CHECK_FAILED = 106,   /* CHECK found the attachment not as ADD left it */
};

#define CNI_ERROR_MSG_MAX 512
#define CNI_ERROR_DETAILS_MAX 1024

/* An error: code 0 means unset. Embedded by value, never freed. */
struct cni_error {
	int code;
	char msg[CNI_ERROR_MSG_MAX];
	char details[CNI_ERROR_DETAILS_MAX];
};

/* cni_error_set - record an error unless one is already recorded (first error wins).
 * @err: may be NULL (then nothing is recorded). @code: enum cni_code. @fmt: printf format of msg.
 * Returns -EINVAL-free convenience: always returns @ret so callers write
 * `return cni_error_set(err, -ENOENT, CNI_CODE_IO, "...")`. */
int cni_error_set(struct cni_error *err, int ret, int code, const char *fmt, ...)
	__attribute__((format(gnu_printf, 4, 5)));

/* cni_error_check_fail - record a CHECK finding (code 106, "CHECK found the attachment not as ADD left
 * it") with the printf message @fmt naming what is missing, first error wins as cni_error_set.
 * @err may be NULL. Returns -ENOENT, so validators write `return cni_error_check_fail(err, ...)`. */
int cni_error_check_fail(struct cni_error *err, const char *fmt, ...)
	__attribute__((format(gnu_printf, 2, 3)));

/* cni_error_details - set the details of the recorded error, if details are still empty.
 * @err may be NULL. */
void cni_error_details(struct cni_error *err, const char *fmt, ...)
	__attribute__((format(gnu_printf, 2, 3)));

/* cni_error_is_set - true when @err holds an error. */
static inline bool cni_error_is_set(const struct cni_error *err) { return err && err->code != 0; }

#endif
