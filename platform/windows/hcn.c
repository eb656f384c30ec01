/* SPDX-License-Identifier: MIT */
/* computenetwork.dll through GetProcAddress, each call on a worker thread bounded by a timeout,
 * HRESULT + ErrorRecord turned into cni_error, every returned string CoTaskMemFree'd. */
#include <windows.h>
#include <objbase.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "platform/windows/hcn.h"
#include "platform/windows/winutil.h"

enum hcn_op { OP_ENUM, OP_CREATE, OP_OPEN, OP_MODIFY, OP_QUERY, OP_DELETE, OP_CLOSE, OP_COUNT };

static const char *const fn_names[3][OP_COUNT] = {
	{ "HcnEnumerateNetworks", "HcnCreateNetwork", "HcnOpenNetwork", "HcnModifyNetwork",
	  "HcnQueryNetworkProperties", "HcnDeleteNetwork", "HcnCloseNetwork" },
	{ "HcnEnumerateEndpoints", "HcnCreateEndpoint", "HcnOpenEndpoint", "HcnModifyEndpoint",
	  "HcnQueryEndpointProperties", "HcnDeleteEndpoint", "HcnCloseEndpoint" },
	{ "HcnEnumerateNamespaces", "HcnCreateNamespace", "HcnOpenNamespace", "HcnModifyNamespace",
	  "HcnQueryNamespaceProperties", "HcnDeleteNamespace", "HcnCloseNamespace" },
};

/* The computenetwork.h signatures, by shape. */
typedef HRESULT(WINAPI *enum_fn)(PCWSTR query, PWSTR *ids, PWSTR *record);
typedef HRESULT(WINAPI *create_fn)(const GUID *id, PCWSTR settings, void **obj, PWSTR *record);
typedef HRESULT(WINAPI *create_ep_fn)(void *net, const GUID *id, PCWSTR settings, void **obj,
				      PWSTR *record);
typedef HRESULT(WINAPI *open_fn)(const GUID *id, void **obj, PWSTR *record);
typedef HRESULT(WINAPI *modify_fn)(void *obj, PCWSTR settings, PWSTR *record);
typedef HRESULT(WINAPI *query_fn)(void *obj, PCWSTR query, PWSTR *props, PWSTR *record);
typedef HRESULT(WINAPI *delete_fn)(const GUID *id, PWSTR *record);
typedef HRESULT(WINAPI *close_fn)(void *obj);

struct hcn {
	HMODULE dll;
	unsigned timeout_ms;
	FARPROC fns[3][OP_COUNT];
	bool resolved[3][OP_COUNT];
	bool abandoned;        /* a worker may still be inside the DLL: never unload, never
				* close a handle, make no further call (hcn_abandoned) */
	unsigned long last_hr;
};

/* Set once any call of the process was abandoned (hcn_abandoned). */
static volatile LONG any_abandoned;

/* One call, shared by the caller and its worker thread; the last of the two frees it. */
struct call {
	volatile LONG refs;
	enum hcn_kind kind;
	enum hcn_op op;
	FARPROC fn;
	GUID id;
	wchar_t *text;         /* settings or query */
	void *obj;             /* input handle */
	HRESULT hr;
	PWSTR out;             /* enumerate ids / query properties (CoTaskMem) */
	PWSTR record;          /* ErrorRecord (CoTaskMem) */
	void *out_obj;         /* created/opened handle */
};

static void call_unref(struct call *c)
{
	if (InterlockedDecrement(&c->refs) != 0)
		return;
	if (c->out)
		CoTaskMemFree(c->out);
	if (c->record)
		CoTaskMemFree(c->record);
	free(c->text);
	free(c);
}

/* GetProcAddress gives a generic FARPROC: go through void (*)(void) to the real type. */
#define AS(type, fp) ((type)(void (*)(void))(fp))

static void call_invoke(struct call *c)
{
	switch (c->op) {
	case OP_ENUM:
		c->hr = AS(enum_fn, c->fn)(c->text, &c->out, &c->record);
		break;
	case OP_CREATE:
		if (c->kind == HCN_KIND_ENDPOINT)
			c->hr = AS(create_ep_fn, c->fn)(c->obj, &c->id, c->text, &c->out_obj, &c->record);
		else
			c->hr = AS(create_fn, c->fn)(&c->id, c->text, &c->out_obj, &c->record);
		break;
	case OP_OPEN:
		c->hr = AS(open_fn, c->fn)(&c->id, &c->out_obj, &c->record);
		break;
	case OP_MODIFY:
		c->hr = AS(modify_fn, c->fn)(c->obj, c->text, &c->record);
		break;
	case OP_QUERY:
		c->hr = AS(query_fn, c->fn)(c->obj, c->text, &c->out, &c->record);
		break;
	case OP_DELETE:
		c->hr = AS(delete_fn, c->fn)(&c->id, &c->record);
		break;
	case OP_CLOSE:
		c->hr = AS(close_fn, c->fn)(c->obj);
		break;
	default:
		c->hr = E_NOTIMPL;
	}
}

static DWORD WINAPI call_worker(LPVOID arg)
{
	struct call *c = arg;

	call_invoke(c);
	call_unref(c);
	return 0;
}

bool hcn_hresult_not_found(unsigned long hr)
{
	return hr == HCN_E_ELEMENT_NOT_FOUND || hr == HCN_E_NETWORK_NOT_FOUND ||
	       hr == HCN_E_ENDPOINT_NOT_FOUND;
}

unsigned long hcn_last_hresult(const struct hcn *h)
{
	return h ? h->last_hr : 0;
}

bool hcn_abandoned(const struct hcn *h)
{
	return h ? h->abandoned : InterlockedCompareExchange(&any_abandoned, 0, 0) != 0;
}

void hcn_exit_if_abandoned(int rc)
{
	if (!hcn_abandoned(NULL))
		return;
	/* stdout (the CNI result) and the log are written by now: flush the CRT's buffers, then
	 * end without running DLL_PROCESS_DETACH (ExitProcess would, under a live worker). */
	fflush(NULL);
	TerminateProcess(GetCurrentProcess(), (UINT)rc);
}

int hcn_open(unsigned timeout_ms, struct hcn **ret, struct cni_error *err)
{
	const char *override = getenv("AZURE_CNI_HCN_DLL");
	char msg[256];
	struct hcn *h;
	HMODULE dll;
	DWORD e;

	if (override && override[0]) {
		wchar_t *w = win_wide(override);

		/* the test double (and its own imports) from the named file */
		dll = w ? LoadLibraryExW(w, NULL, LOAD_WITH_ALTERED_SEARCH_PATH) : NULL;
		free(w);
	} else {
		/* System32 only: never a computenetwork.dll planted next to the program */
		dll = LoadLibraryExW(L"computenetwork.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
	}
	if (!dll) {
		e = GetLastError();
		cni_error_set(err, -ENOSYS, CNI_CODE_NETWORK,
			      "HCN (computenetwork.dll) is unsupported on this Windows build: cannot "
			      "load %s", override && override[0] ? override : "computenetwork.dll");
		cni_error_details(err, "%s (error %lu); HCN needs Windows Server 2019 / Windows 10 "
				  "1809 or later", win_error_text(e, msg, sizeof(msg)), (unsigned long)e);
		return -ENOSYS;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		FreeLibrary(dll);
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	}
	h->dll = dll;
	h->timeout_ms = timeout_ms ? timeout_ms : HCN_DEFAULT_TIMEOUT_MS;
	*ret = h;
	return 0;
}

struct hcn *hcn_close(struct hcn *h)
{
	if (!h)
		return NULL;
	if (!h->abandoned)
		FreeLibrary(h->dll);
	free(h);
	return NULL;
}

static FARPROC resolve(struct hcn *h, enum hcn_kind kind, enum hcn_op op, struct cni_error *err)
{
	if (!h->resolved[kind][op]) {
		h->fns[kind][op] = GetProcAddress(h->dll, fn_names[kind][op]);
		h->resolved[kind][op] = true;
	}
	if (!h->fns[kind][op])
		cni_error_set(err, -ENOSYS, CNI_CODE_NETWORK,
			      "%s is unsupported on this Windows build (computenetwork.dll lacks it)",
			      fn_names[kind][op]);
	return h->fns[kind][op];
}

static bool parse_guid(const char *text, GUID *ret)
{
	char g[HCNDOC_GUID_STRLEN];
	unsigned char b[16];
	int i, j = 0;

	if (hcndoc_guid_normalize(text, g) < 0)
		return false;
	for (i = 0; i < 36 && j < 16; i++) {
		int hi, lo;

		if (g[i] == '-')
			continue;
		hi = g[i] <= '9' ? g[i] - '0' : g[i] - 'a' + 10;
		lo = g[i + 1] <= '9' ? g[i + 1] - '0' : g[i + 1] - 'a' + 10;
		b[j++] = (unsigned char)(hi << 4 | lo);
		i++;
	}
	ret->Data1 = (unsigned long)b[0] << 24 | (unsigned long)b[1] << 16 | (unsigned long)b[2] << 8 | b[3];
	ret->Data2 = (unsigned short)(b[4] << 8 | b[5]);
	ret->Data3 = (unsigned short)(b[6] << 8 | b[7]);
	memcpy(ret->Data4, b + 8, 8);
	return true;
}

/* 1 when the ErrorRecord text reports a failure (non-empty and not {"Success":true}), else 0;
 * -ENOMEM when cJSON ran out of memory reading it (no verdict). */
static int record_failed(const char *rec)
{
	cJSON *doc;
	bool oom;
	int failed;

	if (!rec || !rec[strspn(rec, " \t\r\n")])
		return 0;
	doc = json_parse(rec, strlen(rec), NULL, &oom);
	if (oom)
		return -ENOMEM;
	failed = !doc || !cJSON_IsTrue(cJSON_GetObjectItem(doc, "Success"));
	cJSON_Delete(doc);
	return failed;
}

static int oom(struct cni_error *err)
{
	return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory calling HCN");
}

/* Runs @c (prepared by the caller, refs 1) on a worker bounded by the timeout, then checks its
 * outcome. Returns 0 (the caller reads c's outputs, then call_unref), -ENOENT (not found, nothing
 * recorded), or another negative errno with err set; on error @c is already released. */
static int call_run(struct hcn *h, struct call *c, const char *what, struct cni_error *err)
{
	const char *fn = fn_names[c->kind][c->op];
	char text[512], *rec;
	HANDLE thread;
	DWORD w;
	unsigned long hr;
	int failed;

	/* One timeout bounds the whole command: HNS is hung, and every further call (a rollback
	 * included) would wait as long again. The next DEL or ADD cleans up by name. */
	if (h->abandoned) {
		call_unref(c);
		return cni_error_set(err, -ETIMEDOUT, CNI_CODE_TRY_AGAIN,
				     "HNS call %s%s%s skipped: an earlier HNS call of this command "
				     "timed out", fn, what[0] ? " " : "", what);
	}
	c->fn = resolve(h, c->kind, c->op, err);
	if (!c->fn) {
		call_unref(c);
		return -ENOSYS;
	}
	c->refs = 2;
	thread = CreateThread(NULL, 0, call_worker, c, 0, NULL);
	if (!thread) {
		/* no thread to spare: run unbounded rather than not at all */
		c->refs = 1;
		call_invoke(c);
	} else {
		w = WaitForSingleObject(thread, h->timeout_ms);
		CloseHandle(thread);
		if (w != WAIT_OBJECT_0) {
			/* The worker keeps its reference to @c (and c->obj, the caller's handle) and
			 * may still finish: nothing it uses is freed or closed from here on. */
			h->abandoned = true;
			InterlockedExchange(&any_abandoned, 1);
			h->last_hr = (unsigned long)HRESULT_FROM_WIN32(ERROR_TIMEOUT);
			call_unref(c);
			return cni_error_set(err, -ETIMEDOUT, CNI_CODE_TRY_AGAIN,
					     "HNS call %s%s%s timed out after %u s (windowsSettings."
					     "hnsTimeoutDurationInSeconds)", fn,
					     what[0] ? " " : "", what, (h->timeout_ms + 999) / 1000);
		}
	}
	rec = win_utf8(c->record);
	hr = (unsigned long)c->hr;
	/* HNS's answer cannot be read for want of memory: out of memory, not HNS's failure (what
	 * HNS did stays done; the caller undoes by name, as after any failed call) */
	failed = SUCCEEDED(c->hr) ? (c->record && !rec ? -ENOMEM : record_failed(rec)) : 1;
	if (failed == 0) {
		free(rec);
		return 0;
	}
	if (failed < 0) {
		free(rec);
		call_unref(c);
		return oom(err);
	}
	if (SUCCEEDED(c->hr))
		hr = (unsigned long)E_FAIL;
	h->last_hr = hr;
	if (hcn_hresult_not_found(hr)) {
		free(rec);
		call_unref(c);
		return -ENOENT;
	}
	if (rec && rec[0])
		hcndoc_error_record(rec, text, sizeof(text));
	else
		win_error_text(hr, text, sizeof(text));
	cni_error_set(err, -EIO, CNI_CODE_NETWORK, "%s%s%s: %s (0x%08lx)", fn_names[c->kind][c->op],
		      what[0] ? " " : "", what, text, hr);
	cni_error_details(err, "%s", rec && rec[0] ? rec : text);
	free(rec);
	call_unref(c);
	return -EIO;
}

/* A new call (refs 1) of @op on @kind with the UTF-8 document @text (may be NULL) into *ret.
 * A @text that is not UTF-8 (a config string with stray bytes ends up in the settings) is code
 * 7 naming the function, not "out of memory". Returns 0 or negative errno. */
static int call_new(enum hcn_kind kind, enum hcn_op op, const char *text, struct call **ret,
		    struct cni_error *err)
{
	struct call *c = calloc(1, sizeof(*c));

	if (!c)
		return oom(err);
	c->refs = 1;
	c->kind = kind;
	c->op = op;
	if (text) {
		c->text = win_wide(text);
		if (!c->text) {
			free(c);
			if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text, -1, NULL, 0) <= 0)
				return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
						     "the %s document is not valid UTF-8 (check the "
						     "strings of the network configuration)",
						     fn_names[kind][op]);
			return oom(err);
		}
	}
	*ret = c;
	return 0;
}

/* A call on the object with GUID text @id (Open, Delete): call_new plus the ID, or code 103
 * "not an HCN ID" when @id is not a GUID. */
static int call_new_id(enum hcn_kind kind, enum hcn_op op, const char *id, struct call **ret,
		       struct cni_error *err)
{
	struct call *c = NULL;
	int r;

	r = call_new(kind, op, NULL, &c, err);
	if (r < 0)
		return r;
	if (!parse_guid(id, &c->id)) {
		call_unref(c);
		return cni_error_set(err, -EINVAL, CNI_CODE_NETWORK, "not an HCN ID: %s", id);
	}
	*ret = c;
	return 0;
}

/* Open @id; *ret_obj to be closed with close_obj. */
static int open_obj(struct hcn *h, enum hcn_kind kind, const char *id, void **ret_obj,
		    struct cni_error *err)
{
	struct call *c = NULL;
	int r;

	r = call_new_id(kind, OP_OPEN, id, &c, err);
	if (r < 0)
		return r;
	r = call_run(h, c, id, err);
	if (r < 0)
		return r;
	*ret_obj = c->out_obj;
	call_unref(c);
	return 0;
}

/* Close @obj (NULL allowed). After any timeout of this command the handle is leaked on
 * purpose: an abandoned worker may still be inside HCN with this very handle (a hung Modify of
 * the namespace, a hung CreateEndpoint in the network), and closing it under that call is a
 * use-after-close in computenetwork.dll. The process ends soon and takes the handle with it. */
static void close_obj(struct hcn *h, enum hcn_kind kind, void *obj)
{
	struct call *c = NULL;

	if (!obj || h->abandoned)
		return;
	if (call_new(kind, OP_CLOSE, NULL, &c, NULL) < 0)
		return;
	c->obj = obj;
	/* a failing close leaks one handle in a short-lived process: nothing to report */
	if (call_run(h, c, "", NULL) == 0)
		call_unref(c);
}

/* Query the open @obj: properties (malloc'd UTF-8, the caller frees) into *ret_props. */
static int query_obj(struct hcn *h, enum hcn_kind kind, void *obj, const char *what,
		     char **ret_props, struct cni_error *err)
{
	cJSON *q = hcndoc_query_all();
	char *qtext = q ? hcndoc_print(q) : NULL, *props;
	struct call *c = NULL;
	int r;

	cJSON_Delete(q);
	r = qtext ? call_new(kind, OP_QUERY, qtext, &c, err) : oom(err);
	free(qtext);
	if (r < 0)
		return r;
	c->obj = obj;
	r = call_run(h, c, what, err);
	if (r < 0)
		return r;
	props = win_utf8(c->out ? c->out : L"");
	call_unref(c);
	if (!props)
		return oom(err);
	*ret_props = props;
	return 0;
}

int hcn_query(struct hcn *h, enum hcn_kind kind, const char *id, char **ret_props,
	      struct cni_error *err)
{
	void *obj = NULL;
	char *props = NULL;
	int r;

	r = open_obj(h, kind, id, &obj, err);
	if (r < 0)
		return r;
	if (ret_props) {
		r = query_obj(h, kind, obj, id, &props, err);
		if (r == 0)
			*ret_props = props;
	}
	close_obj(h, kind, obj);
	return r;
}

/* The IDs of the objects of @kind that query document @q matches (consumed). */
static int list_by_query(struct hcn *h, enum hcn_kind kind, cJSON *q, const char *what,
			 char (**ret_ids)[HCNDOC_GUID_STRLEN], size_t *ret_n, struct cni_error *err)
{
	char *qtext = q ? hcndoc_print(q) : NULL, *list;
	struct call *c = NULL;
	int r;

	cJSON_Delete(q);
	r = qtext ? call_new(kind, OP_ENUM, qtext, &c, err) : oom(err);
	free(qtext);
	if (r < 0)
		return r;
	r = call_run(h, c, what, err);
	if (r < 0)
		return r;
	list = win_utf8(c->out ? c->out : L"");
	call_unref(c);
	if (!list)
		return oom(err);
	r = hcndoc_id_list(list, ret_ids, ret_n);
	free(list);
	if (r == -ENOMEM)
		return oom(err);
	if (r < 0)
		return cni_error_set(err, r, CNI_CODE_NETWORK, "%s %s: unexpected answer",
				     fn_names[kind][OP_ENUM], what);
	return 0;
}

int hcn_list(struct hcn *h, enum hcn_kind kind, char (**ret_ids)[HCNDOC_GUID_STRLEN],
	     size_t *ret_n, struct cni_error *err)
{
	return list_by_query(h, kind, hcndoc_query_all(), "(all)", ret_ids, ret_n, err);
}

int hcn_find_by_name(struct hcn *h, enum hcn_kind kind, const char *name,
		     char ret_id[HCNDOC_GUID_STRLEN], char **ret_props, struct cni_error *err)
{
	char (*ids)[HCNDOC_GUID_STRLEN] = NULL, *props = NULL;
	size_t n = 0, i;
	int r;

	r = list_by_query(h, kind, hcndoc_query_name(name), name, &ids, &n, err);
	if (r < 0)
		return r;
	/* an object deleted between the enumeration and the open is skipped */
	for (i = 0, r = -ENOENT; i < n && r == -ENOENT; i++) {
		r = hcn_query(h, kind, ids[i], ret_props ? &props : NULL, err);
		if (r == 0) {
			memcpy(ret_id, ids[i], HCNDOC_GUID_STRLEN);
			if (ret_props)
				*ret_props = props;
		}
	}
	free(ids);
	return r;
}

int hcn_create(struct hcn *h, enum hcn_kind kind, const char *network_id, const char *settings,
	       char ret_id[HCNDOC_GUID_STRLEN], char **ret_props, struct cni_error *err)
{
	char id[HCNDOC_GUID_STRLEN], what[128], *props = NULL;
	void *net = NULL, *obj;
	struct call *c = NULL;
	int r;

	if (kind == HCN_KIND_ENDPOINT) {
		r = open_obj(h, HCN_KIND_NETWORK, network_id ? network_id : "", &net, err);
		if (r == -ENOENT)
			return cni_error_set(err, -EIDRM, CNI_CODE_NETWORK,
					     "HCN network %s not found", network_id ? network_id : "");
		if (r < 0)
			return r;
	}
	r = call_new(kind, OP_CREATE, settings, &c, err);
	if (r < 0)
		goto close_net;
	c->obj = net; /* the all-zero c->id lets HNS assign the ID */
	{
		bool no_mem = false;
		cJSON *doc = settings ? json_parse(settings, strlen(settings), NULL, &no_mem) : NULL;
		const char *name = doc ? cni_json_string(doc, "Name") : NULL;

		snprintf(what, sizeof(what), "%s", name ? name : "");
		cJSON_Delete(doc);
		if (no_mem) { /* before HNS is asked anything */
			call_unref(c);
			r = oom(err);
			goto close_net;
		}
	}
	r = call_run(h, c, what, err);
	if (r == -ENOENT && kind == HCN_KIND_ENDPOINT && h->last_hr == HCN_E_NETWORK_NOT_FOUND)
		r = -EIDRM;
	if (r == -ENOENT || r == -EIDRM)
		r = cni_error_set(err, r, CNI_CODE_NETWORK, "%s: 0x%08lx (not found)",
				  fn_names[kind][OP_CREATE], h->last_hr);
	if (r < 0)
		goto close_net;
	obj = c->out_obj;
	call_unref(c);
	/* Create returns a handle, not the ID: read the object back */
	r = query_obj(h, kind, obj, what, &props, err);
	close_obj(h, kind, obj);
	if (r < 0)
		goto close_net;
	r = hcndoc_object_id(props, id);
	if (r < 0) {
		free(props);
		r = r == -ENOMEM ? oom(err) :
				   cni_error_set(err, -EIO, CNI_CODE_NETWORK, "%s: no ID in the answer",
						 fn_names[kind][OP_CREATE]);
		goto close_net;
	}
	memcpy(ret_id, id, sizeof(id));
	if (ret_props)
		*ret_props = props;
	else
		free(props);

close_net:
	if (net)
		close_obj(h, HCN_KIND_NETWORK, net);
	return r;
}

int hcn_delete(struct hcn *h, enum hcn_kind kind, const char *id, struct cni_error *err)
{
	struct call *c = NULL;
	int r;

	r = call_new_id(kind, OP_DELETE, id, &c, err);
	if (r < 0)
		return r;
	r = call_run(h, c, id, err);
	if (r == 0)
		call_unref(c);
	return r;
}

int hcn_modify(struct hcn *h, enum hcn_kind kind, const char *id, const char *settings,
	       struct cni_error *err)
{
	struct call *c = NULL;
	void *obj = NULL;
	int r;

	r = open_obj(h, kind, id, &obj, err);
	if (r < 0)
		return r;
	r = call_new(kind, OP_MODIFY, settings, &c, err);
	if (r < 0)
		goto close;
	c->obj = obj;
	r = call_run(h, c, id, err);
	if (r == 0)
		call_unref(c);
close:
	close_obj(h, kind, obj);
	return r;
}
