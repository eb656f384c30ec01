/* SPDX-License-Identifier: MIT */
/* The Host Compute Network (HCN, HNS v2) API of computenetwork.dll, loaded at run time:
 * LoadLibraryExW from System32 only (as hcsshim does), or the DLL named by AZURE_CNI_HCN_DLL
 * (absolute path; the test double under wine). Each function is looked up with GetProcAddress
 * on first use; one the DLL lacks is an "unsupported on this Windows build" error, never a crash.
 * Every call runs on a worker thread and is bounded by the timeout given to hcn_open
 * (windowsSettings.hnsTimeoutDurationInSeconds): a hung HNS gives -ETIMEDOUT, code 11.
 * Documents are UTF-8 JSON here (core/hcndoc.h builds them); UTF-16 stays inside hcn.c.
 * Source of the API: mingw-w64 computenetwork.h, ../shared/reference/windows-hcn.md §A1. */
#ifndef AZCNI_HCN_H
#define AZCNI_HCN_H

#include <stdbool.h>

#include "core/error.h"
#include "core/hcndoc.h"

/* HRESULTs HNS returns that mingw's winerror.h lacks, and the "not found" family. */
#define HCN_E_NETWORK_NOT_FOUND 0x803b0001UL
#define HCN_E_ENDPOINT_NOT_FOUND 0x803b0002UL
#define HCN_E_INVALID_ENDPOINT 0x803b000cUL
#define HCN_E_INVALID_POLICY 0x803b000dUL
#define HCN_E_NETWORK_ALREADY_EXISTS 0x803b0010UL
#define HCN_E_PORT_ALREADY_EXISTS 0x803b0013UL
#define HCN_E_INVALID_JSON 0x803b001bUL
#define HCN_E_ELEMENT_NOT_FOUND 0x80070490UL   /* HRESULT_FROM_WIN32(ERROR_NOT_FOUND) */
#define HCN_E_ALREADY_EXISTS 0x80071392UL      /* HRESULT_FROM_WIN32(ERROR_OBJECT_ALREADY_EXISTS) */

/* Default bound of one HCN call when the config gives none (the Go plugin's default is
 * 120 s for hnsTimeoutDurationInSeconds). */
#define HCN_DEFAULT_TIMEOUT_MS 120000u

enum hcn_kind {
	HCN_KIND_NETWORK,
	HCN_KIND_ENDPOINT,
	HCN_KIND_NAMESPACE,
};

struct hcn;

/* hcn_open - load computenetwork.dll (see the file comment). @timeout_ms bounds each call
 * (0 = HCN_DEFAULT_TIMEOUT_MS). A missing DLL is code 103 "HCN (computenetwork.dll) is
 * unsupported on this Windows build". Returns 0 with *ret (free with hcn_close) or negative errno. */
int hcn_open(unsigned timeout_ms, struct hcn **ret, struct cni_error *err);

/* hcn_close - unload; NULL allowed. Returns NULL. A call abandoned on timeout keeps the DLL
 * loaded (its thread may still run) and its handles open (leaked on purpose). */
struct hcn *hcn_close(struct hcn *h);

/* hcn_hresult_not_found - true for the HRESULTs that mean the object is gone
 * (0x80070490, 0x803b0001, 0x803b0002). */
bool hcn_hresult_not_found(unsigned long hr);

/* hcn_last_hresult - the HRESULT of the last failed call on @h (0 when none failed). */
unsigned long hcn_last_hresult(const struct hcn *h);

/* hcn_abandoned - true when a call on @h (or, with @h NULL, any call of this process) timed
 * out and its worker was abandoned. From then on every call on @h fails at once with
 * -ETIMEDOUT (code 11, "skipped") and no handle is closed (the worker may still use it), so one
 * hnsTimeoutDurationInSeconds bounds a whole command. With a worker possibly inside
 * computenetwork.dll the process must not run DLL_PROCESS_DETACH: main ends it with
 * TerminateProcess after its output is flushed. */
bool hcn_abandoned(const struct hcn *h);

/* hcn_exit_if_abandoned - when any call of this process was abandoned (hcn_abandoned(NULL)),
 * flush stdio and end the process with TerminateProcess(GetCurrentProcess(), @rc), so no DLL
 * detach code runs while a worker may be inside computenetwork.dll; else return. Call last,
 * after the CNI output was printed. */
void hcn_exit_if_abandoned(int rc);

/* Errors of every call below: an HCN failure is code 103 with msg "<HcnFunction> <what>:
 * <HNS message> (0x<hr>)" and the ErrorRecord text in details; a non-empty ErrorRecord counts as
 * a failure even when the HRESULT succeeded (as hcsshim does). A function the DLL lacks:
 * -ENOSYS, code 103. A call over the timeout: -ETIMEDOUT, code 11. Not found (per
 * hcn_hresult_not_found): -ENOENT and NOTHING recorded in @err, so callers may treat it as done.
 * Out of memory, ours or cJSON's while reading what HCN answered (an ErrorRecord, an ID list,
 * the new object's ID): -ENOMEM, code 100, never an HCN failure or "not found"; what HNS did
 * stays done (a create's object then exists under its Name). */

/* hcn_find_by_name - the first object of @kind named @name: its ID into @ret_id and, when
 * @ret_props is non-NULL, its properties JSON (malloc'd, caller frees). -ENOENT when none. */
int hcn_find_by_name(struct hcn *h, enum hcn_kind kind, const char *name,
		     char ret_id[HCNDOC_GUID_STRLEN], char **ret_props, struct cni_error *err);

/* hcn_list - the IDs of every object of @kind (HcnEnumerate* with an empty filter) into
 * *ret_ids (malloc'd array of *ret_n, caller frees). */
int hcn_list(struct hcn *h, enum hcn_kind kind, char (**ret_ids)[HCNDOC_GUID_STRLEN],
	     size_t *ret_n, struct cni_error *err);

/* hcn_query - Open + Query (schema 2.0) + Close of the object @id. When @ret_props is
 * non-NULL, *ret_props gets the properties JSON (malloc'd UTF-8, the caller frees; written only
 * on success); NULL only tests existence. -ENOENT when it does not exist. */
int hcn_query(struct hcn *h, enum hcn_kind kind, const char *id, char **ret_props,
	      struct cni_error *err);

/* hcn_create - create an object of @kind from @settings (JSON) with an HNS-assigned ID; for an
 * endpoint, @network_id is the network to open first (else NULL). Writes the new ID to @ret_id
 * and, when @ret_props is non-NULL, the properties HCN returns for it into *ret_props (malloc'd
 * UTF-8, the caller frees; both written only on success). -ETIMEDOUT: HNS may still finish the
 * create after this returns (the object then exists under its Name). -EIDRM (code 103): the
 * endpoint's network is gone, at the open or at the create (HCN_E_NETWORK_NOT_FOUND, what HNS
 * answers once it lost the network: hcsshim hcn/hcnerrors.go); nothing was made. */
int hcn_create(struct hcn *h, enum hcn_kind kind, const char *network_id, const char *settings,
	       char ret_id[HCNDOC_GUID_STRLEN], char **ret_props, struct cni_error *err);

/* hcn_delete - delete the object @id. -ENOENT when it does not exist. */
int hcn_delete(struct hcn *h, enum hcn_kind kind, const char *id, struct cni_error *err);

/* hcn_modify - Open + Modify(@settings) + Close of the object @id (for a namespace: the
 * hcndoc_namespace_modify document). -ENOENT when the object (or, for a namespace request, the
 * endpoint it names) does not exist. */
int hcn_modify(struct hcn *h, enum hcn_kind kind, const char *id, const char *settings,
	       struct cni_error *err);

#endif
