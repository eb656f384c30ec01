/* SPDX-License-Identifier: MIT */
/* The parsers of what others answer, under allocation failure: the IPAM sources (NMAgent XML,
 * interfaces.json), CNS answers and HCN documents, with the k-th allocation failed for every k
 * a parse makes (the core's, cJSON's and expat's: oom.h). Out of memory must be told as such
 * (-ENOMEM, code 100), never as a document that is broken (code 105 "invalid JSON", an HCN
 * answer without an ID): the caller acts on that. Each parse gives the result it gives without
 * failure, or -ENOMEM, and leaves nothing allocated. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures.h"
#include "oom.h"

#include "core/cns.h"
#include "core/hcndoc.h"
#include "core/ipam.h"

#define OUT_MAX 16384

/* A parse of @len bytes at @text: its return, and what it read as text into @out (@size
 * bytes; the error's code and message on failure). Frees what it parsed. */
typedef int (*parse_fn)(const char *text, size_t len, char *out, size_t size,
			struct cni_error *err);

/* Appends to @out (@size bytes, NUL-terminated) without allocating. */
static void put(char *out, size_t size, const char *fmt, ...)
{
	size_t n = strlen(out);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out + n, size - n, fmt, ap);
	va_end(ap);
}

static void put_error(int r, const struct cni_error *err, char *out, size_t size)
{
	put(out, size, "error %d code %d: %s", r, err->code, err->msg);
}

/* @what (@len bytes at @text) through @parse with each allocation failed in turn: the result
 * of a parse without failure, or -ENOMEM (code 100 when the parse sets an error), and no
 * allocation left behind. Returns how many allocations a parse makes. */
static long sweep(const char *what, parse_fn parse, const char *text, size_t len)
{
	static char want[OUT_MAX], got[OUT_MAX];
	struct cni_error werr = { 0 };
	int want_r;
	long k;

	want[0] = '\0';
	want_r = parse(text, len, want, sizeof(want), &werr);
	for (k = 1;; k++) {
		struct cni_error err = { 0 };
		size_t live;
		int r;

		got[0] = '\0';
		oom_track();
		oom_arm(k);
		r = parse(text, len, got, sizeof(got), &err);
		oom_disarm();
		live = oom_live();
		if (live)
			fail_msg("%s: allocation %ld failed: %zu allocations left", what, k, live);
		if (r == -ENOMEM && want_r != -ENOMEM) {
			assert_true(oom_failed());
			if (err.code && err.code != CNI_CODE_INTERNAL)
				fail_msg("%s: allocation %ld failed: -ENOMEM with code %d: %s", what,
					 k, err.code, err.msg);
		} else if (r != want_r || strcmp(got, want) != 0) {
			fail_msg("%s: allocation %ld failed: %d \"%s\", without failure %d \"%s\"",
				 what, k, r, got, want_r, want);
		}
		if (!oom_failed())
			break;
	}
	return k - 1;
}

/* ---- IPAM sources ---- */

static void put_source(const struct ipam_source *src, char *out, size_t size)
{
	char a[IPNET_PREFIX_STRLEN];

	for (size_t i = 0; i < src->n_ifaces; i++) {
		const struct ipam_source_iface *it = &src->ifaces[i];

		put(out, size, "iface %s%s\n", it->mac, it->is_primary ? " primary" : "");
		for (size_t j = 0; j < it->n_subnets; j++) {
			const struct ipam_source_subnet *sn = &it->subnets[j];

			put(out, size, " subnet %s", ipnet_prefix_format(&sn->prefix, a, sizeof(a)));
			if (sn->primary.family)
				put(out, size, " primary %s",
				    ipnet_addr_format(&sn->primary, a, sizeof(a)));
			for (size_t n = 0; n < sn->n_addrs; n++)
				put(out, size, " %s", ipnet_addr_format(&sn->addrs[n], a, sizeof(a)));
			put(out, size, "\n");
		}
	}
}

static int source_out(int r, struct ipam_source *src, char *out, size_t size,
		      const struct cni_error *err)
{
	if (r == 0)
		put_source(src, out, size);
	else
		put_error(r, err, out, size);
	ipam_source_free(src);
	return r;
}

static int parse_nmagent(const char *text, size_t len, char *out, size_t size,
			 struct cni_error *err)
{
	struct ipam_source src = { 0 };

	return source_out(ipam_source_parse_nmagent(text, len, &src, err), &src, out, size, err);
}

static int parse_mas(const char *text, size_t len, char *out, size_t size, struct cni_error *err)
{
	struct ipam_source src = { 0 };

	return source_out(ipam_source_parse_mas(text, len, &src, err), &src, out, size, err);
}

static int parse_mas_tree(const char *text, size_t len, char *out, size_t size,
			  struct cni_error *err)
{
	struct ipam_source src = { 0 };

	return source_out(ipam_source_parse_mas_tree(text, len, &src, err), &src, out, size, err);
}

static void sweep_file(const char *name, parse_fn parse, long min)
{
	size_t len;
	char *text = fixture_read(name, &len);

	assert_true(sweep(name, parse, text, len) >= min);
	free(text);
}

/* NMAgent's XML (expat's allocations and ours); interfaces.json read in one pass (the node
 * agent's documents), through cJSON (any other: one with an escape), and through cJSON
 * directly. Bad documents
 * keep their own error (code 105) or are out of memory. */
static void source_oom(void **state)
{
	/* an escape: the one-pass reader hands it to cJSON */
	static const char escaped[] =
		"{\"Interfaces\":[{\"MacAddress\":\"00:0d:3a:6e:18:2\\u0035\",\"IsPrimary\":true,"
		"\"IPSubnets\":[{\"Prefix\":\"10.240.0.0/16\",\"IPAddresses\":[{\"Address\":"
		"\"10.240.0.4\",\"IsPrimary\":true},{\"Address\":\"10.240.0.5\"}]}]}]}";

	(void)state;
	assert_true(sweep("interfaces.json with an escape", parse_mas, escaped,
			  strlen(escaped)) >= 3);
	sweep_file("two-nics.xml", parse_nmagent, 3);
	sweep_file("nmagent-dualstack.xml", parse_nmagent, 3);
	sweep_file("nmagent-bad-mac.xml", parse_nmagent, 1);
	sweep_file("interfaces.json", parse_mas, 2);
	sweep_file("interfaces-dualstack.json", parse_mas, 2);
	sweep_file("interfaces-oddcase.json", parse_mas, 2);
	sweep_file("interfaces.json", parse_mas_tree, 3);
	sweep_file("interfaces-wrong-type.json", parse_mas, 1);
}

/* ---- CNS answers ---- */

static void put_prefix(const struct ipnet_prefix *p, char *out, size_t size)
{
	char a[IPNET_PREFIX_STRLEN];

	put(out, size, " %s", p->addr.family ? ipnet_prefix_format(p, a, sizeof(a)) : "-");
}

static void put_addr(const struct ipnet_addr *p, char *out, size_t size)
{
	char a[IPNET_ADDR_STRLEN];

	put(out, size, " %s", p->family ? ipnet_addr_format(p, a, sizeof(a)) : "-");
}

static int parse_cns_response(const char *text, size_t len, char *out, size_t size,
			      struct cni_error *err)
{
	struct cns_response *resp = calloc(1, sizeof(*resp));
	int r;

	if (!resp)
		return -ENOMEM;
	r = cns_response_decode(text, len, resp, err);
	if (r < 0) {
		put_error(r, err, out, size);
		free(resp);
		return r;
	}
	put(out, size, "%d %s\n", resp->return_code, resp->message);
	for (size_t i = 0; i < resp->n_ips; i++) {
		const struct cns_pod_ip *ip = &resp->ips[i];

		put_prefix(&ip->pod, out, size);
		put_prefix(&ip->nc_subnet, out, size);
		put_prefix(&ip->nc_subnet6, out, size);
		put_addr(&ip->nc_gateway, out, size);
		put_addr(&ip->nc_gateway6, out, size);
		put_addr(&ip->host_primary, out, size);
		put_addr(&ip->host_gateway, out, size);
		put_prefix(&ip->host_subnet, out, size);
		put(out, size, " %s %d", ip->nic_type, ip->skip_default_routes);
		for (size_t k = 0; k < ip->n_routes; k++) {
			put_prefix(&ip->routes[k].dst, out, size);
			put_addr(&ip->routes[k].gw, out, size);
		}
		put(out, size, "\n");
	}
	free(resp);
	return 0;
}

static int parse_cns_release(const char *text, size_t len, char *out, size_t size,
			     struct cni_error *err)
{
	char msg[CNS_MESSAGE_MAX];
	int code = -1, r;

	r = cns_release_decode(text, len, &code, msg, sizeof(msg), err);
	if (r < 0)
		put_error(r, err, out, size);
	else
		put(out, size, "%d %s", code, msg);
	return r;
}

/* Answers to a request (pod subnet, dual stack, overlay, with routes, the older singular API)
 * and to a release; a malformed answer keeps its own error (code 105) or is out of memory. */
static void cns_oom(void **state)
{
	static const char *const answers[] = {
		"cns/request-ok.json", "cns/request-dualstack.json", "cns/request-overlay.json",
		"cns/request-routes.json", "cns/request-singular.json", "cns/request-refused.json",
		"cns/request-wrong-type.json",
	};
	static const char *const releases[] = { "cns/release-ok.json", "cns/release-bare.json" };

	(void)state;
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++)
		sweep_file(answers[i], parse_cns_response, 2);
	for (size_t i = 0; i < sizeof(releases) / sizeof(releases[0]); i++)
		sweep_file(releases[i], parse_cns_release, 2);
}

/* ---- HCN documents ---- */

static int parse_object_id(const char *text, size_t len, char *out, size_t size,
			   struct cni_error *err)
{
	char id[HCNDOC_GUID_STRLEN];
	int r;

	(void)len, (void)err;
	r = hcndoc_object_id(text, id);
	put(out, size, "%d %s", r, r == 0 ? id : "");
	return r;
}

static int parse_id_list(const char *text, size_t len, char *out, size_t size,
			 struct cni_error *err)
{
	char (*ids)[HCNDOC_GUID_STRLEN] = NULL;
	size_t n = 0;
	int r;

	(void)len, (void)err;
	r = hcndoc_id_list(text, &ids, &n);
	put(out, size, "%d", r);
	for (size_t i = 0; r == 0 && i < n; i++)
		put(out, size, " %s", ids[i]);
	free(ids);
	return r;
}

/* An object's properties (its ID read back after a create) and an HcnEnumerate* answer; a
 * document without an ID or with a non-GUID entry keeps its -EINVAL or is out of memory. */
static void hcndoc_oom(void **state)
{
	static const char props[] =
		"{\"ID\":\"{8F3A7C2E-51D4-4B6A-9E0F-3C2B1A0D9E8F}\",\"Name\":\"3f813b02:eth0\","
		"\"HostComputeNetwork\":\"5a6b7c8d-0000-4000-8000-000000000001\","
		"\"IpConfigurations\":[{\"IpAddress\":\"10.240.0.7\",\"PrefixLength\":16}],"
		"\"Dns\":{\"Domain\":\"svc.cluster.local\",\"ServerList\":[\"10.0.0.10\"]}}";
	static const char no_id[] = "{\"Name\":\"3f813b02:eth0\",\"Flags\":0}";
	static const char list[] =
		"[\"8f3a7c2e-51d4-4b6a-9e0f-3c2b1a0d9e8f\",\"{5A6B7C8D-0000-4000-8000-000000000001}\","
		"\"0f0e0d0c-0b0a-4908-8706-050403020100\"]";
	static const char bad_list[] = "[\"8f3a7c2e-51d4-4b6a-9e0f-3c2b1a0d9e8f\",\"eth0\"]";

	(void)state;
	assert_true(sweep("properties", parse_object_id, props, strlen(props)) >= 3);
	assert_true(sweep("properties without ID", parse_object_id, no_id, strlen(no_id)) >= 1);
	assert_true(sweep("ID list", parse_id_list, list, strlen(list)) >= 3);
	assert_true(sweep("bad ID list", parse_id_list, bad_list, strlen(bad_list)) >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(source_oom),
		cmocka_unit_test(cns_oom),
		cmocka_unit_test(hcndoc_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
