/* SPDX-License-Identifier: MIT */
/* A test double of computenetwork.dll (HCN v2) for running azure-vnet.exe under wine.
 * Networks, endpoints and namespaces live in a JSON file so they survive between processes:
 *   FAKE_HCN_STATE  state file (default fake-hcn-state.json in the cwd):
 *                   {"Networks":{"<ID>":{doc}},"Endpoints":{"<ID>":{doc}},
 *                    "Namespaces":{"<ID>":{"ID","Type","Resources":[{"Type":"Endpoint","Data":{"ID"}}]}}}
 *                   IDs are upper case as HNS prints them. A test seeds namespaces (containerd
 *                   creates them) by writing the file or by HcnCreateNamespace.
 *   FAKE_HCN_LOG    every call appended as one JSON line {"fn","id","network","doc","hr"}
 *                   ("doc": the JSON document received, parsed; absent when none; "rule": the
 *                   address rule below a refused document broke).
 *   FAKE_HCN_FAIL   "<function>:<hresult|hang|lose-networks>[,...]": that function returns the
 *                   HRESULT (hex or decimal) with an ErrorRecord, or never returns ("hang"), or
 *                   ("lose-networks", the first such call of the process only) runs after HNS
 *                   lost every network and every endpoint (as an HNS restart does to
 *                   non-persistent networks), so it meets what HNS answers then: a network
 *                   handle opened before now names a network that is gone (0x803b0001).
 *   FAKE_HCN_SUCCESS_RECORD  when set, a create that succeeds gives the ErrorRecord
 *                   {"Success":true} (as HCS answers some calls) instead of none.
 *   FAKE_HCN_EXIT_LOG  a probe of how the process ends: the DLL pins itself (FreeLibrary no
 *                   longer unloads it), registers an msvcrt _onexit handler appending
 *                   "<pid> atexit", and appends "<pid> detach" at DLL_PROCESS_DETACH. A process
 *                   that returns from main writes both lines; one killed (TerminateProcess)
 *                   writes neither.
 * Handles are tracked for the life of the process (never freed): HcnClose* is logged as
 * {"fn","id","hr"}, and a misuse adds "problem": "double close", "close while in use" (another
 * thread is inside a call on that handle, e.g. a hung HcnModifyNamespace), "use after close"
 * or "unknown handle" (also logged for a call given a closed or foreign handle). A test
 * asserts no "problem" line.
 * Addresses (HcnCreateNetwork/HcnCreateEndpoint refuse with 0x80070057 "The parameter is
 * incorrect", the broken rule in the log line's "rule"):
 *   - a network Subnet's IpAddressPrefix must be an address/length of one family, each of its
 *     Routes a NextHop and DestinationPrefix of that family (hcsshim hcn/hcnnetwork.go Subnet
 *     and Route; ACN network_windows.go picks the default route per subnet family);
 *   - an endpoint holds at most one IpConfiguration per family (ACN network/endpoint_windows.go:
 *     "HNS currently supports one IP address and one IPv6 address per endpoint");
 *   - each IpConfiguration lies in a Subnet of its network of the same family with a
 *     PrefixLength <= 32 (128) (hcsshim: Ipams are "the address space(s) of a network"; HNS's
 *     Static IPAM hands endpoint addresses from them): so an IPv6 IpConfiguration on a network
 *     without an IPv6 subnet, or outside its IPv6 subnet, is refused;
 *   - each endpoint Route's NextHop and DestinationPrefix are of one family, one the endpoint
 *     has an IpConfiguration of (a default route ::/0 needs an IPv6 address: an IPv6 route in a
 *     v4-only network is refused).
 * These come from the schema and the Go plugin's comments, not from a run against real HNS.
 * Like HNS it rejects v1-shaped or unknown endpoint policies with 0x803b000d, an endpoint name
 * in use with 0x80071392, unknown objects with 0x803b0001 (network), 0x803b0002 (endpoint) and
 * 0x80070490 (namespace). Returned strings are CoTaskMemAlloc'd UTF-16, as the real DLL's. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <objbase.h>
#include <computenetwork.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#define E_NET_NOT_FOUND ((HRESULT)0x803b0001L)
#define E_EP_NOT_FOUND ((HRESULT)0x803b0002L)
#define E_INVALID_POLICY ((HRESULT)0x803b000dL)
#define E_INVALID_JSON ((HRESULT)0x803b001bL)
#define E_NOT_FOUND ((HRESULT)0x80070490L)
#define E_EXISTS ((HRESULT)0x80071392L)

enum kind { KIND_NETWORK, KIND_ENDPOINT, KIND_NAMESPACE };
static const char *const kind_key[] = { "Networks", "Endpoints", "Namespaces" };

struct handle {
	enum kind kind;
	char id[40];
	volatile LONG busy;    /* calls inside the DLL using this handle now */
	volatile LONG closed;
};

#define MAX_HANDLES 1024
static struct handle *handles[MAX_HANDLES];
static volatile LONG n_handles;

static void log_problem(const char *fn, const char *id, const char *problem);

/* ---- exit probe (FAKE_HCN_EXIT_LOG) ---- */
/* Appends "<pid> @what" to the probe log with Win32 calls only: at process exit the CRT may be
 * half gone. */
static void exit_note(const char *what)
{
	char path[MAX_PATH], line[64];
	DWORD n = GetEnvironmentVariableA("FAKE_HCN_EXIT_LOG", path, sizeof(path)), put;
	HANDLE f;
	int len;

	if (n == 0 || n >= sizeof(path))
		return;
	f = CreateFileA(path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
			OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
	if (f == INVALID_HANDLE_VALUE)
		return;
	len = snprintf(line, sizeof(line), "%lu %s\n", (unsigned long)GetCurrentProcessId(), what);
	WriteFile(f, line, (DWORD)len, &put, NULL);
	CloseHandle(f);
}

static int __cdecl exit_atexit(void)
{
	exit_note("atexit");
	return 0;
}

BOOL WINAPI DllMain(HINSTANCE dll, DWORD reason, LPVOID reserved)
{
	typedef _onexit_t(__cdecl * onexit_fn)(_onexit_t);
	HMODULE self, crt;
	onexit_fn reg;

	(void)reserved;
	if (!GetEnvironmentVariableA("FAKE_HCN_EXIT_LOG", NULL, 0))
		return TRUE;
	if (reason == DLL_PROCESS_ATTACH) {
		/* stay loaded past the plugin's FreeLibrary, so detach means the process ends; the
		 * handler goes into msvcrt's own table, which the program's exit() runs */
		GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
				   GET_MODULE_HANDLE_EX_FLAG_PIN, (LPCWSTR)(void *)dll, &self);
		crt = GetModuleHandleW(L"msvcrt.dll");
		reg = crt ? (onexit_fn)(void *)GetProcAddress(crt, "_onexit") : NULL;
		if (reg)
			reg(exit_atexit);
	} else if (reason == DLL_PROCESS_DETACH) {
		exit_note("detach");
	}
	return TRUE;
}

static struct handle *handle_new(enum kind k, const char *id)
{
	struct handle *h = calloc(1, sizeof(*h));
	LONG i;

	if (!h)
		return NULL;
	h->kind = k;
	snprintf(h->id, sizeof(h->id), "%s", id);
	i = InterlockedIncrement(&n_handles) - 1;
	if (i < MAX_HANDLES)
		handles[i] = h;
	return h;
}

static bool handle_known(const void *p)
{
	LONG i, n = n_handles < MAX_HANDLES ? n_handles : MAX_HANDLES;

	for (i = 0; i < n; i++)
		if (handles[i] == p)
			return true;
	return false;
}

/* Start a call of @fn on @h: false (logged as a problem) when @h is not a live handle. */
static bool handle_enter(const char *fn, struct handle *h)
{
	if (!h || !handle_known(h)) {
		log_problem(fn, NULL, "unknown handle");
		return false;
	}
	if (h->closed) {
		log_problem(fn, h->id, "use after close");
		return false;
	}
	InterlockedIncrement(&h->busy);
	return true;
}

static void handle_leave(struct handle *h)
{
	InterlockedDecrement(&h->busy);
}

static char *utf8(PCWSTR w)
{
	int n;
	char *s;

	if (!w)
		return NULL;
	n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
	s = malloc(n > 0 ? (size_t)n : 1);
	if (s && n > 0)
		WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
	else if (s)
		s[0] = '\0';
	return s;
}

/* A CoTaskMemAlloc'd UTF-16 copy of @s for an out parameter. */
static PWSTR wide_out(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
	PWSTR w = CoTaskMemAlloc((size_t)(n > 0 ? n : 1) * sizeof(WCHAR));

	if (w && n > 0)
		MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
	else if (w)
		w[0] = 0;
	return w;
}

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && v[0] ? v : dflt;
}

static void guid_text(const GUID *g, char out[40])
{
	snprintf(out, 40, "%08lX-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
		 (unsigned long)g->Data1, g->Data2, g->Data3, g->Data4[0], g->Data4[1], g->Data4[2],
		 g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
}

static bool guid_zero(const GUID *g)
{
	static const GUID zero;

	return !g || memcmp(g, &zero, sizeof(zero)) == 0;
}

static void upper(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z')
			*s -= 'a' - 'A';
}

/* ---- log ---- */
/* The address rule (see the file comment) the document of the call being logged broke, logged
 * as its "rule" and cleared; NULL = none. */
static const char *broken_rule;

static void log_call(const char *fn, const char *id, const char *network, const char *doc,
		     HRESULT hr)
{
	cJSON *line = cJSON_CreateObject(), *parsed = doc ? cJSON_Parse(doc) : NULL;
	char *text;
	FILE *f;

	cJSON_AddStringToObject(line, "fn", fn);
	if (id)
		cJSON_AddStringToObject(line, "id", id);
	if (network)
		cJSON_AddStringToObject(line, "network", network);
	if (parsed)
		cJSON_AddItemToObject(line, "doc", parsed);
	else if (doc)
		cJSON_AddStringToObject(line, "doc", doc);
	{
		char hrbuf[16];

		snprintf(hrbuf, sizeof(hrbuf), "0x%08lx", (unsigned long)hr);
		cJSON_AddStringToObject(line, "hr", hrbuf);
	}
	if (broken_rule)
		cJSON_AddStringToObject(line, "rule", broken_rule);
	broken_rule = NULL;
	text = cJSON_PrintUnformatted(line);
	f = fopen(env_or("FAKE_HCN_LOG", "hcn_calls.log"), "ab");
	if (f && text) {
		fprintf(f, "%s\n", text);
		fclose(f);
	} else if (f) {
		fclose(f);
	}
	cJSON_free(text);
	cJSON_Delete(line);
}

static void log_problem(const char *fn, const char *id, const char *problem)
{
	cJSON *line = cJSON_CreateObject();
	char *text;
	FILE *f;

	cJSON_AddStringToObject(line, "fn", fn);
	if (id)
		cJSON_AddStringToObject(line, "id", id);
	cJSON_AddStringToObject(line, "problem", problem);
	text = cJSON_PrintUnformatted(line);
	f = fopen(env_or("FAKE_HCN_LOG", "hcn_calls.log"), "ab");
	if (f && text)
		fprintf(f, "%s\n", text);
	if (f)
		fclose(f);
	cJSON_free(text);
	cJSON_Delete(line);
}

/* HcnClose*: logged; a second close, or a close while another call uses the handle, is a
 * problem. The handle stays allocated so a later misuse is seen, not a crash. */
static HRESULT close_handle(const char *fn, void *p)
{
	struct handle *h = p;

	if (!h || !handle_known(h)) {
		log_problem(fn, NULL, "unknown handle");
		return E_HANDLE;
	}
	if (InterlockedExchange(&h->closed, 1)) {
		log_problem(fn, h->id, "double close");
		return E_HANDLE;
	}
	if (h->busy)
		log_problem(fn, h->id, "close while in use");
	log_call(fn, h->id, NULL, NULL, S_OK);
	return S_OK;
}

/* ---- failure injection ---- */
/* The injected result for @fn: S_OK when none; never returns for "hang". */
static void lose_networks(void);

static HRESULT injected(const char *fn)
{
	const char *spec = getenv("FAKE_HCN_FAIL");
	size_t n = strlen(fn);

	while (spec && *spec) {
		const char *end = strchr(spec, ',');
		size_t len = end ? (size_t)(end - spec) : strlen(spec);

		if (len > n + 1 && strncmp(spec, fn, n) == 0 && spec[n] == ':') {
			char val[32];

			snprintf(val, sizeof(val), "%.*s", (int)(len - n - 1), spec + n + 1);
			if (strcmp(val, "lose-networks") == 0) {
				lose_networks();
				return S_OK;
			}
			if (strcmp(val, "hang") == 0) {
				log_call(fn, NULL, NULL, NULL, 0);
				for (;;)
					Sleep(INFINITE);
			}
			return (HRESULT)strtoul(val, NULL, 0);
		}
		spec = end ? end + 1 : NULL;
	}
	return S_OK;
}

/* HNS's own (English) text for the codes tests inject, else @what. */
static const char *hns_text(HRESULT hr, const char *what)
{
	switch ((unsigned long)hr) {
	case 0x803b000dUL: return "The policy configuration is invalid.";
	case 0x803b0001UL: return "The network was not found.";
	case 0x803b0002UL: return "The endpoint was not found.";
	case 0x80070490UL: return "Element not found.";
	case 0x80071392UL: return "The object already exists.";
	case 0x80070057UL: return "The parameter is incorrect.";
	default: return what;
	}
}

static HRESULT fail(HRESULT hr, const char *what, PWSTR *record)
{
	char buf[512];

	what = hns_text(hr, what);
	if (record) {
		snprintf(buf, sizeof(buf),
			 "{\"Success\":false,\"Error\":\"%s\",\"ErrorCode\":%lu}", what,
			 (unsigned long)hr);
		*record = wide_out(buf);
	}
	return hr;
}

/* ---- state file, under an exclusive lock held for one call ---- */
static HANDLE state_lock(void)
{
	char path[MAX_PATH];
	OVERLAPPED ov = { 0 };
	HANDLE h;

	snprintf(path, sizeof(path), "%s.lock", env_or("FAKE_HCN_STATE", "fake-hcn-state.json"));
	h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
			OPEN_ALWAYS, 0, NULL);
	if (h != INVALID_HANDLE_VALUE)
		LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ov);
	return h;
}

static void state_unlock(HANDLE h)
{
	OVERLAPPED ov = { 0 };

	if (h == INVALID_HANDLE_VALUE)
		return;
	UnlockFileEx(h, 0, 1, 0, &ov);
	CloseHandle(h);
}

static cJSON *state_load(void)
{
	FILE *f = fopen(env_or("FAKE_HCN_STATE", "fake-hcn-state.json"), "rb");
	cJSON *st = NULL;
	size_t i;

	if (f) {
		char *buf;
		long n;

		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fseek(f, 0, SEEK_SET);
		buf = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
		if (buf && n > 0 && fread(buf, 1, (size_t)n, f) == (size_t)n)
			st = cJSON_Parse(buf);
		free(buf);
		fclose(f);
	}
	if (!cJSON_IsObject(st)) {
		cJSON_Delete(st);
		st = cJSON_CreateObject();
	}
	for (i = 0; i < 3; i++)
		if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(st, kind_key[i])))
			cJSON_AddItemToObject(st, kind_key[i], cJSON_CreateObject());
	return st;
}

static void state_save(cJSON *st)
{
	char *text = cJSON_Print(st);
	FILE *f = fopen(env_or("FAKE_HCN_STATE", "fake-hcn-state.json"), "wb");

	if (f && text)
		fputs(text, f);
	if (f)
		fclose(f);
	cJSON_free(text);
}

/* FAKE_HCN_FAIL "<fn>:lose-networks": every network and endpoint goes, and each namespace's
 * endpoint resources with them; once per process (the retry after it meets a working HNS). */
static void lose_networks(void)
{
	static bool done;
	HANDLE lock;
	cJSON *st, *ns;

	if (done)
		return;
	done = true;
	lock = state_lock();
	st = state_load();
	cJSON_ReplaceItemInObjectCaseSensitive(st, "Networks", cJSON_CreateObject());
	cJSON_ReplaceItemInObjectCaseSensitive(st, "Endpoints", cJSON_CreateObject());
	cJSON_ArrayForEach(ns, cJSON_GetObjectItemCaseSensitive(st, "Namespaces"))
		cJSON_ReplaceItemInObjectCaseSensitive(ns, "Resources", cJSON_CreateArray());
	state_save(st);
	cJSON_Delete(st);
	state_unlock(lock);
	log_call("lose-networks", NULL, NULL, NULL, 0);
}

static cJSON *find(cJSON *st, enum kind k, const char *id)
{
	cJSON *objs = cJSON_GetObjectItemCaseSensitive(st, kind_key[k]), *o;

	/* IDs compare case-insensitively: callers may send lower case */
	cJSON_ArrayForEach(o, objs)
		if (_stricmp(o->string, id) == 0)
			return o;
	return NULL;
}

static HRESULT not_found(enum kind k)
{
	return k == KIND_NETWORK ? E_NET_NOT_FOUND : k == KIND_ENDPOINT ? E_EP_NOT_FOUND : E_NOT_FOUND;
}

/* Does @doc match the query's Filter (a JSON object in a string): every member equal. */
static bool matches(const cJSON *doc, const char *query)
{
	cJSON *q = query ? cJSON_Parse(query) : NULL, *filter = NULL, *m;
	const cJSON *fs = q ? cJSON_GetObjectItem(q, "Filter") : NULL;
	bool ok = true;

	if (cJSON_IsString(fs) && fs->valuestring[0])
		filter = cJSON_Parse(fs->valuestring);
	cJSON_ArrayForEach(m, filter) {
		const cJSON *v = cJSON_GetObjectItem(doc, m->string);

		if (!v || !cJSON_Compare(v, m, true))
			ok = false;
	}
	cJSON_Delete(filter);
	cJSON_Delete(q);
	return ok;
}

/* ---- the calls ---- */
static HRESULT enumerate(const char *fn, enum kind k, PCWSTR query, PWSTR *out, PWSTR *record)
{
	char *q = utf8(query);
	HRESULT hr = injected(fn);
	HANDLE lock;
	cJSON *st, *arr, *o;
	char *text;

	if (record)
		*record = NULL;
	if (FAILED(hr)) {
		log_call(fn, NULL, NULL, q, hr);
		free(q);
		return fail(hr, "injected failure", record);
	}
	lock = state_lock();
	st = state_load();
	arr = cJSON_CreateArray();
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(st, kind_key[k]))
		if (matches(o, q))
			cJSON_AddItemToArray(arr, cJSON_CreateString(o->string));
	state_unlock(lock);
	text = cJSON_PrintUnformatted(arr);
	*out = wide_out(text ? text : "[]");
	log_call(fn, NULL, NULL, q, S_OK);
	cJSON_free(text);
	cJSON_Delete(arr);
	cJSON_Delete(st);
	free(q);
	return S_OK;
}

static HRESULT open_obj(const char *fn, enum kind k, REFGUID id, void **ret, PWSTR *record)
{
	char ids[40];
	HRESULT hr = injected(fn);
	HANDLE lock;
	cJSON *st;
	struct handle *h;

	if (record)
		*record = NULL;
	guid_text(id, ids);
	if (SUCCEEDED(hr)) {
		lock = state_lock();
		st = state_load();
		if (!find(st, k, ids))
			hr = not_found(k);
		state_unlock(lock);
		cJSON_Delete(st);
	}
	log_call(fn, ids, NULL, NULL, hr);
	if (FAILED(hr))
		return fail(hr, "object not found or injected failure", record);
	h = handle_new(k, ids);
	if (!h)
		return fail(E_OUTOFMEMORY, "out of memory", record);
	*ret = h;
	return S_OK;
}

static HRESULT query_obj_in(const char *fn, struct handle *h, PCWSTR query, PWSTR *props,
			    PWSTR *record)
{
	char *q = utf8(query), *text;
	HRESULT hr = injected(fn);
	HANDLE lock;
	cJSON *st, *o;

	if (record)
		*record = NULL;
	if (FAILED(hr)) {
		log_call(fn, h->id, NULL, q, hr);
		free(q);
		return fail(hr, "injected failure", record);
	}
	lock = state_lock();
	st = state_load();
	o = find(st, h->kind, h->id);
	state_unlock(lock);
	if (!o) {
		hr = not_found(h->kind);
		log_call(fn, h->id, NULL, q, hr);
		cJSON_Delete(st);
		free(q);
		return fail(hr, "object vanished", record);
	}
	text = cJSON_PrintUnformatted(o);
	*props = wide_out(text);
	log_call(fn, h->id, NULL, q, S_OK);
	cJSON_free(text);
	cJSON_Delete(st);
	free(q);
	return S_OK;
}

static HRESULT query_obj(const char *fn, struct handle *h, PCWSTR query, PWSTR *props,
			 PWSTR *record)
{
	HRESULT hr;

	if (record)
		*record = NULL;
	if (!handle_enter(fn, h))
		return fail(E_HANDLE, "bad handle", record);
	hr = query_obj_in(fn, h, query, props, record);
	handle_leave(h);
	return hr;
}

static HRESULT delete_obj(const char *fn, enum kind k, REFGUID id, PWSTR *record)
{
	char ids[40];
	HRESULT hr = injected(fn);
	HANDLE lock;
	cJSON *st, *o;

	if (record)
		*record = NULL;
	guid_text(id, ids);
	if (FAILED(hr)) {
		log_call(fn, ids, NULL, NULL, hr);
		return fail(hr, "injected failure", record);
	}
	lock = state_lock();
	st = state_load();
	o = find(st, k, ids);
	if (o) {
		cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(st, kind_key[k]),
							o->string);
		state_save(st);
	} else {
		hr = not_found(k);
	}
	state_unlock(lock);
	cJSON_Delete(st);
	log_call(fn, ids, NULL, NULL, hr);
	return FAILED(hr) ? fail(hr, "object not found", record) : S_OK;
}

static bool known_policy(const char *type)
{
	static const char *const types[] = { "OutBoundNAT", "SDNRoute", "ACL", "PortMapping",
					     "L4Proxy", "L4WFPPROXY", "PortName", "EncapOverhead",
					     "IOV", "VLAN", "VSID", "ProviderAddress", NULL };
	size_t i;

	for (i = 0; type && types[i]; i++)
		if (strcmp(type, types[i]) == 0)
			return true;
	return false;
}

/* HNS's policy check: known v2 types with a Settings object, none of the v1 fields. */
static bool policies_valid(const cJSON *doc)
{
	const cJSON *pols = cJSON_GetObjectItemCaseSensitive(doc, "Policies"), *p;

	if (!pols)
		return true;
	if (!cJSON_IsArray(pols))
		return false;
	cJSON_ArrayForEach(p, pols) {
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "Type");
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(p, "Settings");

		if (!cJSON_IsString(type) || !known_policy(type->valuestring) || !cJSON_IsObject(s))
			return false;
		if (cJSON_GetObjectItemCaseSensitive(p, "ExceptionList") ||
		    cJSON_GetObjectItemCaseSensitive(s, "ExceptionList"))
			return false;
	}
	return true;
}

/* ---- addresses ---- */

struct addr {
	int family;                 /* AF_INET, AF_INET6; 0 = not an address */
	unsigned char b[16];
};

/* "a.b.c.d" or an IPv6 text into *a; with @len non-NULL "addr/len" (len within the family).
 * false when it does not parse. */
static bool parse_addr(const char *text, struct addr *a, int *len)
{
	char buf[64], *slash;
	int max;

	memset(a, 0, sizeof(*a));
	if (!text || strlen(text) >= sizeof(buf))
		return false;
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if ((slash != NULL) != (len != NULL))
		return false;
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, a->b) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a->b) == 1)
		a->family = AF_INET6;
	else
		return false;
	if (!len)
		return true;
	max = a->family == AF_INET ? 32 : 128;
	*len = atoi(slash + 1);
	return slash[1] >= '0' && slash[1] <= '9' && *len <= max;
}

static bool in_prefix(const struct addr *p, int len, const struct addr *a)
{
	int i;

	if (p->family != a->family)
		return false;
	for (i = 0; i < len; i++)
		if (((p->b[i / 8] ^ a->b[i / 8]) >> (7 - i % 8)) & 1)
			return false;
	return true;
}

/* A Route {NextHop, DestinationPrefix} of one family: that family, else 0. */
static int route_family(const cJSON *rt)
{
	struct addr hop, dst;
	int len;

	if (!parse_addr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rt, "NextHop")), &hop,
			NULL) ||
	    !parse_addr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rt,
									    "DestinationPrefix")),
			&dst, &len) || hop.family != dst.family)
		return 0;
	return hop.family;
}

/* Every Subnet of the network @doc's Ipams, in order, for each_subnet callers. */
#define FOR_EACH_SUBNET(ipam, sn, doc)                                                       \
	cJSON_ArrayForEach(ipam, cJSON_GetObjectItemCaseSensitive(doc, "Ipams"))               \
		cJSON_ArrayForEach(sn, cJSON_GetObjectItemCaseSensitive(ipam, "Subnets"))

/* NULL when the network @doc's subnets are valid, else the rule it breaks. */
static const char *network_addresses_invalid(const cJSON *doc)
{
	const cJSON *ipam, *sn, *rt;
	struct addr p;
	int len;

	FOR_EACH_SUBNET(ipam, sn, doc) {
		if (!parse_addr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sn,
									     "IpAddressPrefix")),
				&p, &len))
			return "a Subnet's IpAddressPrefix is not a prefix";
		cJSON_ArrayForEach(rt, cJSON_GetObjectItemCaseSensitive(sn, "Routes"))
			if (route_family(rt) != p.family)
				return "a Subnet's Route is not of the subnet's family";
	}
	return NULL;
}

/* true when @a lies in a Subnet of network @net of its family. */
static bool in_network(const cJSON *net, const struct addr *a)
{
	const cJSON *ipam, *sn;
	struct addr p;
	int len;

	FOR_EACH_SUBNET(ipam, sn, net)
		if (parse_addr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sn,
									    "IpAddressPrefix")),
			       &p, &len) && in_prefix(&p, len, a))
			return true;
	return false;
}

/* NULL when endpoint @doc's IpConfigurations and Routes suit network @net, else the rule. */
static const char *endpoint_addresses_invalid(const cJSON *doc, const cJSON *net)
{
	const cJSON *ipc, *rt;
	bool has[2] = { false, false };
	struct addr a;

	cJSON_ArrayForEach(ipc, cJSON_GetObjectItemCaseSensitive(doc, "IpConfigurations")) {
		const cJSON *pl = cJSON_GetObjectItemCaseSensitive(ipc, "PrefixLength");
		int k;

		if (!parse_addr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ipc,
									     "IpAddress")),
				&a, NULL))
			return "an IpConfiguration's IpAddress is not an address";
		k = a.family == AF_INET6;
		if (has[k])
			return "more than one IpConfiguration of a family";
		has[k] = true;
		if (pl && (!cJSON_IsNumber(pl) || pl->valuedouble < 0 ||
			   pl->valuedouble > (k ? 128 : 32)))
			return "an IpConfiguration's PrefixLength is out of range";
		if (!in_network(net, &a))
			return "an IpConfiguration's address is in no subnet of the network";
	}
	cJSON_ArrayForEach(rt, cJSON_GetObjectItemCaseSensitive(doc, "Routes")) {
		int f = route_family(rt);

		if (!f || !has[f == AF_INET6])
			return "a Route is not of a family the endpoint has an address of";
	}
	return NULL;
}

HRESULT WINAPI HcnEnumerateNetworks(PCWSTR Query, PWSTR *Networks, PWSTR *ErrorRecord)
{
	return enumerate("HcnEnumerateNetworks", KIND_NETWORK, Query, Networks, ErrorRecord);
}

HRESULT WINAPI HcnEnumerateEndpoints(PCWSTR Query, PWSTR *Endpoints, PWSTR *ErrorRecord)
{
	return enumerate("HcnEnumerateEndpoints", KIND_ENDPOINT, Query, Endpoints, ErrorRecord);
}

HRESULT WINAPI HcnEnumerateNamespaces(PCWSTR Query, PWSTR *Namespaces, PWSTR *ErrorRecord)
{
	return enumerate("HcnEnumerateNamespaces", KIND_NAMESPACE, Query, Namespaces, ErrorRecord);
}

/* What HNS answers to an endpoint create @doc on network @net (state @st): S_OK (and @doc gets
 * its MacAddress, its HostComputeNetwork in upper case), E_NET_NOT_FOUND, E_INVALIDARG (*why
 * names an address rule it breaks, when one), E_INVALID_POLICY or E_EXISTS (a name taken). */
static HRESULT endpoint_admit(cJSON *st, const struct handle *net, cJSON *doc,
			      const char *ids, const char **why)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "Name");
	const cJSON *hcnet = cJSON_GetObjectItemCaseSensitive(doc, "HostComputeNetwork");
	const cJSON *o;
	HRESULT hr = S_OK;
	char mac[24];

	if (!net || !find(st, KIND_NETWORK, net->id))
		hr = E_NET_NOT_FOUND;
	else if (!cJSON_IsString(hcnet) || _stricmp(hcnet->valuestring, net->id) != 0)
		hr = E_INVALIDARG;
	else if (!policies_valid(doc))
		hr = E_INVALID_POLICY;
	else if ((*why = endpoint_addresses_invalid(doc, find(st, KIND_NETWORK, net->id))))
		hr = E_INVALIDARG;
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(st, "Endpoints")) {
		const cJSON *n2 = cJSON_GetObjectItemCaseSensitive(o, "Name");

		if (SUCCEEDED(hr) && cJSON_IsString(name) && cJSON_IsString(n2) &&
		    strcmp(name->valuestring, n2->valuestring) == 0)
			hr = E_EXISTS;
	}
	if (FAILED(hr))
		return hr;
	snprintf(mac, sizeof(mac), "00-15-5D-%02X-%02X-%02X", (unsigned)(GetTickCount() & 0xff),
		 (unsigned)(ids[0] & 0xff), (unsigned)(ids[1] & 0xff));
	cJSON_AddStringToObject(doc, "MacAddress", mac);
	upper(hcnet->valuestring);
	return S_OK;
}

/* Create a network, endpoint (in @net) or namespace from @settings. */
static HRESULT create_obj(const char *fn, enum kind k, struct handle *net, REFGUID id,
			  PCWSTR settings, void **ret, PWSTR *record)
{
	char *text = utf8(settings), ids[40];
	const char *why = NULL;      /* the address rule a document breaks */
	HRESULT hr = injected(fn);
	HANDLE lock;
	cJSON *st, *doc = NULL;
	GUID g;

	if (record)
		*record = NULL;
	if (FAILED(hr)) {
		log_call(fn, NULL, net ? net->id : NULL, text, hr);
		free(text);
		return fail(hr, "injected failure", record);
	}
	doc = text ? cJSON_Parse(text) : NULL;
	if (!cJSON_IsObject(doc)) {
		log_call(fn, NULL, net ? net->id : NULL, text, E_INVALID_JSON);
		cJSON_Delete(doc);
		free(text);
		return fail(E_INVALID_JSON, "invalid JSON", record);
	}
	if (guid_zero(id)) {
		CoCreateGuid(&g);
		guid_text(&g, ids);
	} else {
		guid_text(id, ids);
	}
	lock = state_lock();
	st = state_load();
	if (k == KIND_ENDPOINT)
		hr = endpoint_admit(st, net, doc, ids, &why);
	if (k == KIND_NETWORK && (why = network_addresses_invalid(doc)))
		hr = E_INVALIDARG;
	if (find(st, k, ids))
		hr = E_EXISTS;
	if (SUCCEEDED(hr)) {
		cJSON_DeleteItemFromObjectCaseSensitive(doc, "ID");
		cJSON_AddStringToObject(doc, "ID", ids);
		if (k == KIND_NAMESPACE && !cJSON_GetObjectItemCaseSensitive(doc, "Resources"))
			cJSON_AddItemToObject(doc, "Resources", cJSON_CreateArray());
		cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(st, kind_key[k]), ids, doc);
		doc = NULL;
		state_save(st);
	}
	state_unlock(lock);
	broken_rule = why;
	log_call(fn, SUCCEEDED(hr) ? ids : NULL, net ? net->id : NULL, text, hr);
	cJSON_Delete(doc);
	cJSON_Delete(st);
	free(text);
	if (FAILED(hr))
		return fail(hr, hr == E_INVALID_POLICY ? "The policy configuration is invalid"
			    : hr == E_EXISTS ? "The object already exists"
			    : why ? why : "create failed", record);
	*ret = handle_new(k, ids);
	if (!*ret)
		return fail(E_OUTOFMEMORY, "out of memory", record);
	if (record && getenv("FAKE_HCN_SUCCESS_RECORD") && *getenv("FAKE_HCN_SUCCESS_RECORD"))
		*record = wide_out("{\"Success\":true}");
	return S_OK;
}

HRESULT WINAPI HcnCreateNetwork(REFGUID Id, PCWSTR Settings, PHCN_NETWORK Network,
				PWSTR *ErrorRecord)
{
	return create_obj("HcnCreateNetwork", KIND_NETWORK, NULL, Id, Settings, Network, ErrorRecord);
}

HRESULT WINAPI HcnOpenNetwork(REFGUID Id, PHCN_NETWORK Network, PWSTR *ErrorRecord)
{
	return open_obj("HcnOpenNetwork", KIND_NETWORK, Id, Network, ErrorRecord);
}

HRESULT WINAPI HcnModifyNetwork(HCN_NETWORK Network, PCWSTR Settings, PWSTR *ErrorRecord)
{
	char *text = utf8(Settings);
	struct handle *h = Network;

	log_call("HcnModifyNetwork", h ? h->id : NULL, NULL, text, S_OK);
	free(text);
	if (ErrorRecord)
		*ErrorRecord = NULL;
	return S_OK;
}

HRESULT WINAPI HcnQueryNetworkProperties(HCN_NETWORK Network, PCWSTR Query, PWSTR *Properties,
					 PWSTR *ErrorRecord)
{
	return query_obj("HcnQueryNetworkProperties", Network, Query, Properties, ErrorRecord);
}

HRESULT WINAPI HcnDeleteNetwork(REFGUID Id, PWSTR *ErrorRecord)
{
	return delete_obj("HcnDeleteNetwork", KIND_NETWORK, Id, ErrorRecord);
}

HRESULT WINAPI HcnCloseNetwork(HCN_NETWORK Network)
{
	return close_handle("HcnCloseNetwork", Network);
}

HRESULT WINAPI HcnCreateEndpoint(HCN_NETWORK Network, REFGUID Id, PCWSTR Settings,
				 PHCN_ENDPOINT Endpoint, PWSTR *ErrorRecord)
{
	struct handle *net = Network;
	HRESULT hr;

	if (!handle_enter("HcnCreateEndpoint", net)) {
		if (ErrorRecord)
			*ErrorRecord = NULL;
		return fail(E_HANDLE, "bad handle", ErrorRecord);
	}
	hr = create_obj("HcnCreateEndpoint", KIND_ENDPOINT, Network, Id, Settings, Endpoint,
			ErrorRecord);
	handle_leave(net);
	return hr;
}

HRESULT WINAPI HcnOpenEndpoint(REFGUID Id, PHCN_ENDPOINT Endpoint, PWSTR *ErrorRecord)
{
	return open_obj("HcnOpenEndpoint", KIND_ENDPOINT, Id, Endpoint, ErrorRecord);
}

HRESULT WINAPI HcnModifyEndpoint(HCN_ENDPOINT Endpoint, PCWSTR Settings, PWSTR *ErrorRecord)
{
	char *text = utf8(Settings);
	struct handle *h = Endpoint;

	log_call("HcnModifyEndpoint", h ? h->id : NULL, NULL, text, S_OK);
	free(text);
	if (ErrorRecord)
		*ErrorRecord = NULL;
	return S_OK;
}

HRESULT WINAPI HcnQueryEndpointProperties(HCN_ENDPOINT Endpoint, PCWSTR Query, PWSTR *Properties,
					  PWSTR *ErrorRecord)
{
	return query_obj("HcnQueryEndpointProperties", Endpoint, Query, Properties, ErrorRecord);
}

HRESULT WINAPI HcnDeleteEndpoint(REFGUID Id, PWSTR *ErrorRecord)
{
	char ids[40];
	HRESULT hr = delete_obj("HcnDeleteEndpoint", KIND_ENDPOINT, Id, ErrorRecord);
	HANDLE lock;
	cJSON *st, *ns;

	if (FAILED(hr))
		return hr;
	/* HNS drops a deleted endpoint from the namespace that held it */
	guid_text(Id, ids);
	lock = state_lock();
	st = state_load();
	cJSON_ArrayForEach(ns, cJSON_GetObjectItemCaseSensitive(st, "Namespaces")) {
		cJSON *res = cJSON_GetObjectItemCaseSensitive(ns, "Resources");
		int i;

		for (i = cJSON_GetArraySize(res) - 1; i >= 0; i--) {
			const cJSON *d = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(res, i), "Data");
			const cJSON *rid = cJSON_GetObjectItemCaseSensitive(d, "ID");

			if (cJSON_IsString(rid) && _stricmp(rid->valuestring, ids) == 0)
				cJSON_DeleteItemFromArray(res, i);
		}
	}
	state_save(st);
	state_unlock(lock);
	cJSON_Delete(st);
	return hr;
}

HRESULT WINAPI HcnCloseEndpoint(HCN_ENDPOINT Endpoint)
{
	return close_handle("HcnCloseEndpoint", Endpoint);
}

HRESULT WINAPI HcnCreateNamespace(REFGUID Id, PCWSTR Settings, PHCN_NAMESPACE Namespace,
				  PWSTR *ErrorRecord)
{
	return create_obj("HcnCreateNamespace", KIND_NAMESPACE, NULL, Id, Settings, Namespace,
			  ErrorRecord);
}

HRESULT WINAPI HcnOpenNamespace(REFGUID Id, PHCN_NAMESPACE Namespace, PWSTR *ErrorRecord)
{
	return open_obj("HcnOpenNamespace", KIND_NAMESPACE, Id, Namespace, ErrorRecord);
}

/* {ResourceType "Endpoint", RequestType "Add"|"Remove", Settings {EndpointId}}. */
static HRESULT modify_namespace(HCN_NAMESPACE Namespace, PCWSTR Settings, PWSTR *ErrorRecord);

HRESULT WINAPI HcnModifyNamespace(HCN_NAMESPACE Namespace, PCWSTR Settings, PWSTR *ErrorRecord)
{
	HRESULT hr;

	if (!handle_enter("HcnModifyNamespace", Namespace)) {
		if (ErrorRecord)
			*ErrorRecord = NULL;
		return fail(E_HANDLE, "bad handle", ErrorRecord);
	}
	hr = modify_namespace(Namespace, Settings, ErrorRecord);
	handle_leave(Namespace);
	return hr;
}

static HRESULT modify_namespace(HCN_NAMESPACE Namespace, PCWSTR Settings, PWSTR *ErrorRecord)
{
	struct handle *h = Namespace;
	char *text = utf8(Settings), epid[40] = "";
	HRESULT hr = injected("HcnModifyNamespace");
	cJSON *doc = NULL, *st = NULL, *ns, *res, *ep;
	const cJSON *rt, *req, *s, *eid;
	HANDLE lock = INVALID_HANDLE_VALUE;
	int i, found = -1;

	if (ErrorRecord)
		*ErrorRecord = NULL;
	if (FAILED(hr))
		goto out;
	doc = text ? cJSON_Parse(text) : NULL;
	rt = cJSON_GetObjectItemCaseSensitive(doc, "ResourceType");
	req = cJSON_GetObjectItemCaseSensitive(doc, "RequestType");
	s = cJSON_GetObjectItemCaseSensitive(doc, "Settings");
	eid = cJSON_GetObjectItemCaseSensitive(s, "EndpointId");
	if (!h || !cJSON_IsString(rt) || strcmp(rt->valuestring, "Endpoint") != 0 ||
	    !cJSON_IsString(req) || !cJSON_IsString(eid) || strlen(eid->valuestring) >= sizeof(epid)) {
		hr = E_INVALIDARG;
		goto out;
	}
	snprintf(epid, sizeof(epid), "%s", eid->valuestring);
	upper(epid);
	lock = state_lock();
	st = state_load();
	ns = find(st, KIND_NAMESPACE, h->id);
	ep = find(st, KIND_ENDPOINT, epid);
	if (!ns) {
		hr = E_NOT_FOUND;
		goto out;
	}
	res = cJSON_GetObjectItemCaseSensitive(ns, "Resources");
	if (!cJSON_IsArray(res)) {
		cJSON_DeleteItemFromObjectCaseSensitive(ns, "Resources");
		res = cJSON_AddArrayToObject(ns, "Resources");
	}
	for (i = 0; i < cJSON_GetArraySize(res); i++) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(res, i), "Data");
		const cJSON *rid = cJSON_GetObjectItemCaseSensitive(d, "ID");

		if (cJSON_IsString(rid) && _stricmp(rid->valuestring, epid) == 0)
			found = i;
	}
	if (strcmp(req->valuestring, "Add") == 0) {
		if (!ep) {
			hr = E_EP_NOT_FOUND;
		} else if (found >= 0) {
			hr = E_EXISTS;
		} else {
			cJSON *r = cJSON_CreateObject(), *d;

			cJSON_AddStringToObject(r, "Type", "Endpoint");
			d = cJSON_AddObjectToObject(r, "Data");
			cJSON_AddStringToObject(d, "ID", epid);
			cJSON_AddItemToArray(res, r);
			cJSON_DeleteItemFromObjectCaseSensitive(ep, "HostComputeNamespace");
			cJSON_AddStringToObject(ep, "HostComputeNamespace", h->id);
		}
	} else if (strcmp(req->valuestring, "Remove") == 0) {
		if (found < 0) {
			hr = E_NOT_FOUND;
		} else {
			cJSON_DeleteItemFromArray(res, found);
			if (ep)
				cJSON_DeleteItemFromObjectCaseSensitive(ep, "HostComputeNamespace");
		}
	} else {
		hr = E_INVALIDARG;
	}
	if (SUCCEEDED(hr))
		state_save(st);
out:
	state_unlock(lock);
	log_call("HcnModifyNamespace", h ? h->id : NULL, NULL, text, hr);
	cJSON_Delete(st);
	cJSON_Delete(doc);
	free(text);
	return FAILED(hr) ? fail(hr, "namespace modify failed", ErrorRecord) : S_OK;
}

HRESULT WINAPI HcnQueryNamespaceProperties(HCN_NAMESPACE Namespace, PCWSTR Query,
					   PWSTR *Properties, PWSTR *ErrorRecord)
{
	return query_obj("HcnQueryNamespaceProperties", Namespace, Query, Properties, ErrorRecord);
}

HRESULT WINAPI HcnDeleteNamespace(REFGUID Id, PWSTR *ErrorRecord)
{
	return delete_obj("HcnDeleteNamespace", KIND_NAMESPACE, Id, ErrorRecord);
}

HRESULT WINAPI HcnCloseNamespace(HCN_NAMESPACE Namespace)
{
	return close_handle("HcnCloseNamespace", Namespace);
}
