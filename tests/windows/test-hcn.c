/* SPDX-License-Identifier: MIT */
/* Windows-only unit tests, run under wine by ctest: platform/windows/hcn.c against the HCN test
 * double (AZCNI_FAKE_HCN_DLL): create/find/query/modify/delete, "not found" as -ENOENT with no
 * error recorded, HRESULT + ErrorRecord -> code 103, a hung call -> code 11, a DLL without the
 * functions or no DLL -> "unsupported"; every string HCN returns freed with CoTaskMemFree (an
 * IMallocSpy counts them); and the UTF-8/UTF-16 edges of platform/windows/os.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <windows.h>
#include <objbase.h>
#include <objidl.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hcndoc.h"
#include "platform/platform.h"
#include "platform/windows/hcn.h"
#include "platform/windows/winutil.h"

static char scratch[MAX_PATH];

/* The build passes a Unix path; wine maps it through drive Z:. */
static void set_fake_dll(void)
{
	char path[MAX_PATH];
	size_t i;

	snprintf(path, sizeof(path), "%s%s", AZCNI_FAKE_HCN_DLL[0] == '/' ? "Z:" : "", AZCNI_FAKE_HCN_DLL);
	for (i = 0; path[i]; i++)
		if (path[i] == '/')
			path[i] = '\\';
	_putenv_s("AZURE_CNI_HCN_DLL", path);
}

static int setup(void **state)
{
	char tmp[MAX_PATH], path[MAX_PATH];

	(void)state;
	GetTempPathA(sizeof(tmp), tmp);
	snprintf(scratch, sizeof(scratch), "%sazcni-test-hcn-%lu", tmp, (unsigned long)GetCurrentProcessId());
	CreateDirectoryA(scratch, NULL);
	snprintf(path, sizeof(path), "%s\\fake-hcn.json", scratch);
	DeleteFileA(path);
	_putenv_s("FAKE_HCN_STATE", path);
	snprintf(path, sizeof(path), "%s\\hcn-calls.log", scratch);
	_putenv_s("FAKE_HCN_LOG", path);
	_putenv_s("FAKE_HCN_FAIL", "");
	set_fake_dll();
	return 0;
}

static const char *net_doc(void)
{
	return "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Name\":\"azure\",\"Type\":\"L2Bridge\","
	       "\"Flags\":8,\"Ipams\":[{\"Type\":\"Static\",\"Subnets\":[{\"IpAddressPrefix\":"
	       "\"10.240.0.0/16\",\"Routes\":[{\"NextHop\":\"10.240.0.1\",\"DestinationPrefix\":"
	       "\"0.0.0.0/0\"}]}]}]}";
}

static void test_lifecycle(void **state)
{
	char net[HCNDOC_GUID_STRLEN], found[HCNDOC_GUID_STRLEN], ep[HCNDOC_GUID_STRLEN];
	char ns[HCNDOC_GUID_STRLEN], settings[512], *props = NULL;
	struct cni_error err = { 0 };
	struct hcn *h = NULL;

	(void)state;
	assert_int_equal(hcn_open(5000, &h, &err), 0);
	assert_int_equal(hcn_find_by_name(h, HCN_KIND_NETWORK, "azure", found, NULL, &err), -ENOENT);
	assert_int_equal(hcn_create(h, HCN_KIND_NETWORK, NULL, net_doc(), net, &props, &err), 0);
	assert_non_null(strstr(props, "\"L2Bridge\""));
	free(props);
	assert_int_equal(hcn_find_by_name(h, HCN_KIND_NETWORK, "azure", found, &props, &err), 0);
	assert_string_equal(found, net); /* both normalized to lower case */
	free(props);

	snprintf(settings, sizeof(settings),
		 "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Name\":\"c1-eth0\",\"HostComputeNetwork\":\"%s\","
		 "\"IpConfigurations\":[{\"IpAddress\":\"10.240.0.5\",\"PrefixLength\":16}],\"Policies\":[]}", net);
	assert_int_equal(hcn_create(h, HCN_KIND_ENDPOINT, net, settings, ep, NULL, &err), 0);
	assert_int_equal(hcn_create(h, HCN_KIND_NAMESPACE, NULL, "{\"Type\":\"HostDefault\"}", ns, NULL, &err), 0);

	snprintf(settings, sizeof(settings),
		 "{\"ResourceType\":\"Endpoint\",\"RequestType\":\"Add\",\"Settings\":{\"EndpointId\":\"%s\"}}", ep);
	assert_int_equal(hcn_modify(h, HCN_KIND_NAMESPACE, ns, settings, &err), 0);
	assert_int_equal(hcn_query(h, HCN_KIND_ENDPOINT, ep, &props, &err), 0);
	assert_non_null(strstr(props, "HostComputeNamespace"));
	free(props);
	snprintf(settings, sizeof(settings),
		 "{\"ResourceType\":\"Endpoint\",\"RequestType\":\"Remove\",\"Settings\":{\"EndpointId\":\"%s\"}}", ep);
	assert_int_equal(hcn_modify(h, HCN_KIND_NAMESPACE, ns, settings, &err), 0);
	/* gone things: -ENOENT and nothing recorded */
	assert_int_equal(hcn_modify(h, HCN_KIND_NAMESPACE, ns, settings, &err), -ENOENT);
	assert_int_equal(hcn_delete(h, HCN_KIND_ENDPOINT, ep, &err), 0);
	assert_int_equal(hcn_delete(h, HCN_KIND_ENDPOINT, ep, &err), -ENOENT);
	assert_int_equal(hcn_query(h, HCN_KIND_ENDPOINT, ep, NULL, &err), -ENOENT);
	assert_int_equal(hcn_modify(h, HCN_KIND_NAMESPACE, "11111111-2222-3333-4444-555555555555",
				    settings, &err), -ENOENT);
	assert_true(hcn_hresult_not_found(hcn_last_hresult(h)));
	assert_int_equal(err.code, 0);
	h = hcn_close(h);
}

static void test_hresult_to_error(void **state)
{
	char id[HCNDOC_GUID_STRLEN];
	struct cni_error err = { 0 };
	struct hcn *h = NULL;

	(void)state;
	_putenv_s("FAKE_HCN_FAIL", "HcnCreateNetwork:0x80070057");
	assert_int_equal(hcn_open(5000, &h, &err), 0);
	assert_int_equal(hcn_create(h, HCN_KIND_NETWORK, NULL, net_doc(), id, NULL, &err), -EIO);
	assert_int_equal(err.code, CNI_CODE_NETWORK);
	assert_non_null(strstr(err.msg, "HcnCreateNetwork azure"));
	assert_non_null(strstr(err.msg, "The parameter is incorrect"));
	assert_non_null(strstr(err.msg, "0x80070057"));
	assert_non_null(strstr(err.details, "\"ErrorCode\":2147942487"));
	assert_int_equal(hcn_last_hresult(h), 0x80070057UL);
	_putenv_s("FAKE_HCN_FAIL", "");
	h = hcn_close(h);
}

static void test_hung_call_times_out(void **state)
{
	char id[HCNDOC_GUID_STRLEN];
	struct cni_error err = { 0 };
	struct hcn *h = NULL;

	(void)state;
	_putenv_s("FAKE_HCN_FAIL", "HcnEnumerateNetworks:hang");
	assert_int_equal(hcn_open(300, &h, &err), 0);
	assert_int_equal(hcn_find_by_name(h, HCN_KIND_NETWORK, "azure", id, NULL, &err), -ETIMEDOUT);
	assert_int_equal(err.code, CNI_CODE_TRY_AGAIN);
	assert_non_null(strstr(err.msg, "timed out"));
	_putenv_s("FAKE_HCN_FAIL", "");
	h = hcn_close(h); /* the hung worker keeps the DLL loaded: no crash here */
}

static void test_unsupported(void **state)
{
	char id[HCNDOC_GUID_STRLEN];
	struct cni_error err = { 0 };
	struct hcn *h = NULL;

	(void)state;
	_putenv_s("AZURE_CNI_HCN_DLL", "kernel32.dll"); /* loads, but has no Hcn* function */
	assert_int_equal(hcn_open(5000, &h, &err), 0);
	assert_int_equal(hcn_find_by_name(h, HCN_KIND_NETWORK, "azure", id, NULL, &err), -ENOSYS);
	assert_int_equal(err.code, CNI_CODE_NETWORK);
	assert_non_null(strstr(err.msg, "HcnEnumerateNetworks is unsupported on this Windows build"));
	h = hcn_close(h);

	memset(&err, 0, sizeof(err));
	_putenv_s("AZURE_CNI_HCN_DLL", "C:\\nowhere\\computenetwork.dll");
	assert_int_equal(hcn_open(5000, &h, &err), -ENOSYS);
	assert_null(h);
	assert_non_null(strstr(err.msg, "unsupported on this Windows build"));
	set_fake_dll();
}

/* ---- an IMallocSpy: counts CoTaskMemAlloc'd blocks (PostAlloc) and their CoTaskMemFree
 * (PreFree of a spied block), process-wide, so the fake DLL's allocations are seen too ---- */
static volatile LONG spy_allocs, spy_frees;

static HRESULT STDMETHODCALLTYPE spy_qi(IMallocSpy *self, REFIID riid, void **ret)
{
	if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IMallocSpy)) {
		*ret = self;
		return S_OK;
	}
	*ret = NULL;
	return E_NOINTERFACE;
}
static ULONG STDMETHODCALLTYPE spy_addref(IMallocSpy *self) { (void)self; return 2; }
static ULONG STDMETHODCALLTYPE spy_release(IMallocSpy *self) { (void)self; return 1; }
static SIZE_T STDMETHODCALLTYPE spy_prealloc(IMallocSpy *self, SIZE_T n) { (void)self; return n; }
static void *STDMETHODCALLTYPE spy_postalloc(IMallocSpy *self, void *p)
{
	(void)self;
	if (p)
		InterlockedIncrement(&spy_allocs);
	return p;
}
static void *STDMETHODCALLTYPE spy_prefree(IMallocSpy *self, void *p, BOOL spied)
{
	(void)self;
	if (p && spied)
		InterlockedIncrement(&spy_frees);
	return p;
}
static void STDMETHODCALLTYPE spy_postfree(IMallocSpy *self, BOOL spied) { (void)self; (void)spied; }
static SIZE_T STDMETHODCALLTYPE spy_prerealloc(IMallocSpy *self, void *p, SIZE_T n, void **ret,
					       BOOL spied)
{
	(void)self;
	(void)spied;
	*ret = p;
	return n;
}
static void *STDMETHODCALLTYPE spy_postrealloc(IMallocSpy *self, void *p, BOOL spied)
{
	(void)self;
	(void)spied;
	return p;
}
static void *STDMETHODCALLTYPE spy_pregetsize(IMallocSpy *self, void *p, BOOL spied)
{
	(void)self;
	(void)spied;
	return p;
}
static SIZE_T STDMETHODCALLTYPE spy_postgetsize(IMallocSpy *self, SIZE_T n, BOOL spied)
{
	(void)self;
	(void)spied;
	return n;
}
static void *STDMETHODCALLTYPE spy_predidalloc(IMallocSpy *self, void *p, BOOL spied)
{
	(void)self;
	(void)spied;
	return p;
}
static int STDMETHODCALLTYPE spy_postdidalloc(IMallocSpy *self, void *p, BOOL spied, int r)
{
	(void)self;
	(void)p;
	(void)spied;
	return r;
}
static void STDMETHODCALLTYPE spy_heapmin(IMallocSpy *self) { (void)self; }

static IMallocSpyVtbl spy_vtbl = {
	spy_qi, spy_addref, spy_release, spy_prealloc, spy_postalloc, spy_prefree, spy_postfree,
	spy_prerealloc, spy_postrealloc, spy_pregetsize, spy_postgetsize, spy_predidalloc,
	spy_postdidalloc, spy_heapmin, spy_heapmin,
};
static IMallocSpy spy = { &spy_vtbl };

/* Every hcn.c path that receives strings (properties, ID lists, ErrorRecords on success, on
 * HRESULT failures and on "not found") frees each one: allocations == frees afterwards. */
static void test_every_returned_string_freed(void **state)
{
	char net[HCNDOC_GUID_STRLEN], ep[HCNDOC_GUID_STRLEN], id[HCNDOC_GUID_STRLEN];
	char settings[512], *props = NULL;
	struct cni_error err = { 0 };
	struct hcn *h = NULL;

	(void)state;
	assert_int_equal(CoRegisterMallocSpy(&spy), S_OK);
	spy_allocs = spy_frees = 0;
	assert_int_equal(hcn_open(5000, &h, &err), 0);
	assert_int_equal(hcn_create(h, HCN_KIND_NETWORK, NULL, net_doc(), net, &props, &err), 0);
	free(props);
	assert_int_equal(hcn_find_by_name(h, HCN_KIND_NETWORK, "azure", id, &props, &err), 0);
	free(props);
	snprintf(settings, sizeof(settings),
		 "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Name\":\"spy-eth0\",\"HostComputeNetwork\":\"%s\","
		 "\"IpConfigurations\":[{\"IpAddress\":\"10.240.0.9\",\"PrefixLength\":16}],\"Policies\":[]}", net);
	assert_int_equal(hcn_create(h, HCN_KIND_ENDPOINT, net, settings, ep, NULL, &err), 0);
	assert_int_equal(hcn_query(h, HCN_KIND_ENDPOINT, ep, &props, &err), 0);
	free(props);
	/* not found, and failures with an ErrorRecord */
	assert_int_equal(hcn_modify(h, HCN_KIND_NAMESPACE, "11111111-2222-3333-4444-555555555555",
				    "{}", &err), -ENOENT);
	_putenv_s("FAKE_HCN_FAIL", "HcnQueryEndpointProperties:0x80004005,HcnCreateNetwork:0x80070057");
	assert_int_equal(hcn_query(h, HCN_KIND_ENDPOINT, ep, &props, &err), -EIO);
	assert_int_equal(hcn_create(h, HCN_KIND_NETWORK, NULL, net_doc(), id, NULL, &err), -EIO);
	_putenv_s("FAKE_HCN_FAIL", "");
	assert_int_equal(hcn_delete(h, HCN_KIND_ENDPOINT, ep, &err), 0);
	assert_int_equal(hcn_delete(h, HCN_KIND_ENDPOINT, ep, &err), -ENOENT);
	assert_int_equal(hcn_find_by_name(h, HCN_KIND_ENDPOINT, "spy-eth0", id, NULL, &err), -ENOENT);
	assert_int_equal(hcn_delete(h, HCN_KIND_NETWORK, net, &err), 0);
	h = hcn_close(h);
	/* the fake hands out an ID list, properties or an ErrorRecord on most of these calls */
	assert_true(spy_allocs >= 8);
	assert_int_equal(spy_frees, spy_allocs);
	/* (COM refuses the revoke, E_ACCESSDENIED, while a spied block is still allocated) */
	assert_int_equal(CoRevokeMallocSpy(), S_OK);
}

static void test_utf8_paths(void **state)
{
	const char *name = "Ethernet \xc3\xa9\xe2\x82\xac"; /* "Ethernet é€" */
	char path[MAX_PATH], *back, *data = NULL;
	struct platform_lock *l1 = NULL, *l2 = NULL;
	struct cni_error err = { 0 };
	wchar_t *w;
	size_t len;

	(void)state;
	w = win_wide(name);
	assert_non_null(w);
	assert_int_equal(w[9], 0x00e9);
	assert_int_equal(w[10], 0x20ac);
	back = win_utf8(w);
	assert_string_equal(back, name);
	free(back);
	free(w);
	assert_null(win_wide("\xff\xfe bad"));

	/* atomic replace into a new non-ASCII directory, read back byte for byte */
	snprintf(path, sizeof(path), "%s\\d\xc3\xa9j\xc3\xa0\\state.json", scratch);
	assert_int_equal(platform_file_replace(path, "{\"a\":1}\n", 8, &err), 0);
	assert_int_equal(platform_file_replace(path, "{\"a\":2}\n", 8, &err), 0);
	assert_int_equal(platform_file_read(path, &data, &len, &err), 0);
	assert_int_equal(len, 8);
	assert_memory_equal(data, "{\"a\":2}\n", 8);
	free(data);

	/* a held lock makes a second taker time out with code 11 */
	snprintf(path, sizeof(path), "%s\\locks\\azure-vnet.json.lock", scratch);
	assert_int_equal(platform_lock_acquire(path, 1000, &l1, &err), 0);
	assert_int_equal(platform_lock_acquire(path, 100, &l2, &err), -ETIMEDOUT);
	assert_int_equal(err.code, CNI_CODE_TRY_AGAIN);
	l1 = platform_lock_release(l1);
	memset(&err, 0, sizeof(err));
	assert_int_equal(platform_lock_acquire(path, 1000, &l2, &err), 0);
	l2 = platform_lock_release(l2);
}

/* The HCN double's address rules (tests/windows/fake-hcn/fake_hcn.c, its file comment gives
 * their sources): a dual-stack network and an endpoint with an address and a default route per
 * family are taken; each broken rule is 0x80070057 (code 103) and creates nothing. */
static void test_fake_address_rules(void **state)
{
	static const char ds_net[] =
		"{\"Name\":\"ds\",\"Type\":\"L2Bridge\",\"Ipams\":[{\"Type\":\"Static\",\"Subnets\":["
		"{\"IpAddressPrefix\":\"10.240.0.0/16\",\"Routes\":[{\"NextHop\":\"10.240.0.1\","
		"\"DestinationPrefix\":\"0.0.0.0/0\"}]},{\"IpAddressPrefix\":\"fd00:db8:1::/64\","
		"\"Routes\":[{\"NextHop\":\"fe80::1234:5678:9abc\",\"DestinationPrefix\":\"::/0\"}]}]}]}";
	static const char bad_net[] =
		"{\"Name\":\"bad\",\"Type\":\"L2Bridge\",\"Ipams\":[{\"Type\":\"Static\",\"Subnets\":["
		"{\"IpAddressPrefix\":\"10.240.0.0/16\",\"Routes\":[{\"NextHop\":\"fe80::1\","
		"\"DestinationPrefix\":\"::/0\"}]}]}]}";
	static const char v4_route[] = "{\"NextHop\":\"10.240.0.1\",\"DestinationPrefix\":\"0.0.0.0/0\"}";
	static const char v6_route[] = "{\"NextHop\":\"fe80::1234:5678:9abc\",\"DestinationPrefix\":\"::/0\"}";
	static const struct {
		bool v4_net;             /* on the IPv4-only network (else the dual-stack one) */
		const char *ipcs, *routes;
		bool ok;
	} cases[] = {
		{ false, "{\"IpAddress\":\"10.240.0.5\",\"PrefixLength\":16},"
			 "{\"IpAddress\":\"fd00:db8:1::5\",\"PrefixLength\":64}", "V4,V6", true },
		{ false, "{\"IpAddress\":\"fd00:db8:1::6\",\"PrefixLength\":64}", "V6", true },
		/* a v6 IpConfiguration on a network without a v6 subnet */
		{ true, "{\"IpAddress\":\"fd00:db8:1::5\",\"PrefixLength\":64}", "", false },
		/* outside the network's v6 subnet */
		{ false, "{\"IpAddress\":\"fd00:db8:2::5\",\"PrefixLength\":64}", "", false },
		/* two of one family */
		{ false, "{\"IpAddress\":\"10.240.0.7\",\"PrefixLength\":16},"
			 "{\"IpAddress\":\"10.240.0.8\",\"PrefixLength\":16}", "", false },
		/* a v6 route on an endpoint (and network) with IPv4 only */
		{ true, "{\"IpAddress\":\"10.240.0.9\",\"PrefixLength\":16}", "V4,V6", false },
		/* a prefix length past the family's */
		{ false, "{\"IpAddress\":\"fd00:db8:1::7\",\"PrefixLength\":129}", "", false },
	};
	char v4net[HCNDOC_GUID_STRLEN], dsnet[HCNDOC_GUID_STRLEN], ep[HCNDOC_GUID_STRLEN];
	char doc[1024], routes[256];
	struct cni_error err = { 0 };
	struct hcn *h = NULL;

	(void)state;
	assert_int_equal(hcn_open(5000, &h, &err), 0);
	assert_int_equal(hcn_create(h, HCN_KIND_NETWORK, NULL, net_doc(), v4net, NULL, &err), 0);
	assert_int_equal(hcn_create(h, HCN_KIND_NETWORK, NULL, ds_net, dsnet, NULL, &err), 0);
	assert_int_equal(hcn_create(h, HCN_KIND_NETWORK, NULL, bad_net, ep, NULL, &err), -EIO);
	assert_int_equal(hcn_last_hresult(h), 0x80070057UL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *net = cases[i].v4_net ? v4net : dsnet;

		snprintf(routes, sizeof(routes), "%s%s%s", strstr(cases[i].routes, "V4") ? v4_route : "",
			 strstr(cases[i].routes, "V4,V6") ? "," : "",
			 strstr(cases[i].routes, "V6") ? v6_route : "");
		snprintf(doc, sizeof(doc), "{\"Name\":\"ep%zu\",\"HostComputeNetwork\":\"%s\","
			 "\"IpConfigurations\":[%s],\"Routes\":[%s]}", i, net, cases[i].ipcs, routes);
		memset(&err, 0, sizeof(err));
		print_message("case %zu: %s\n", i, doc);
		assert_int_equal(hcn_create(h, HCN_KIND_ENDPOINT, net, doc, ep, NULL, &err),
				 cases[i].ok ? 0 : -EIO);
		if (!cases[i].ok) {
			assert_int_equal(hcn_last_hresult(h), 0x80070057UL);
			snprintf(doc, sizeof(doc), "ep%zu", i);
			assert_int_equal(hcn_find_by_name(h, HCN_KIND_ENDPOINT, doc, ep, NULL, &err),
					 -ENOENT);
		}
	}
	h = hcn_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_hresult_to_error),
		cmocka_unit_test(test_hung_call_times_out),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_every_returned_string_freed),
		cmocka_unit_test(test_utf8_paths),
		cmocka_unit_test(test_fake_address_rules),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
