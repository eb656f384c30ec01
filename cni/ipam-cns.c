/* SPDX-License-Identifier: MIT */
/* ipam.type "azure-cns": requests to and answers from CNS over HTTP (see ipam-cns.h). The
 * plural APIs first, the singular ones when CNS answers 404 (ACN cns/client/client.go, and
 * cni/network/invoker_cns.go Add and Delete, which fall back on IsUnsupportedAPI). */
#include "ipam-cns.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/env-ms.h"
#include "platform/platform.h"

#define CNS_URL_MAX 640

bool ipam_cns_is(const struct conf *conf)
{
	return strcmp(conf->ipam.type, IPAM_CNS_TYPE) == 0;
}

bool ipam_cns_overlay(const struct conf *conf)
{
	return ipam_cns_is(conf) && conf->ipam.mode[0];
}

int ipam_cns_validate(const struct cni_env *env, struct cni_error *err)
{
	if (!env->args.pod_name[0] || !env->args.pod_namespace[0])
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_ENV,
				     "CNI_ARGS needs K8S_POD_NAME and K8S_POD_NAMESPACE for ipam.type "
				     "azure-cns (CNS keys the pod by them)");
	return 0;
}

/* <scheme>://<host>[:port] of the configured CNS URL, then @path, into @buf: CNS's client
 * keeps only those parts of its base URL (cns/client/client.go buildRoutes). */
static void cns_url(const struct conf *conf, const char *path, char *buf, size_t size)
{
	const char *base = conf->cns_url[0] ? conf->cns_url : CNS_DEFAULT_URL;
	const char *host = strstr(base, "://");
	size_t n = strlen(base);

	if (host && strchr(host + 3, '/'))
		n = (size_t)(strchr(host + 3, '/') - base);
	snprintf(buf, size, "%.*s%s", (int)n, base, path);
}

static unsigned cns_timeout_ms(void)
{
	return platform_env_ms("AZURE_CNI_CNS_TIMEOUT_MS", IPAM_CNS_TIMEOUT_MS, 1, 600000ul);
}

/* POST @body to CNS's @path: 0 with *ret_status and *ret_answer (caller frees), or code 11
 * naming CNS when it cannot be reached or does not answer within the bound. */
static int cns_post(const struct conf *conf, const char *path, const char *body, long *ret_status,
		    char **ret_answer, char *url, struct cni_error *err)
{
	struct cni_error inner = { 0 };
	size_t len = 0;
	int r;

	cns_url(conf, path, url, CNS_URL_MAX);
	r = platform_http_post(url, body, strlen(body), cns_timeout_ms(), ret_status, ret_answer,
			       &len, &inner);
	if (r == -ENOMEM)
		cni_error_set(err, r, CNI_CODE_INTERNAL, "CNS (ipam.type azure-cns): %s", inner.msg);
	else if (r < 0)
		cni_error_set(err, r, inner.code == CNI_CODE_SOURCE ? CNI_CODE_SOURCE : CNI_CODE_TRY_AGAIN,
			      "CNS (ipam.type azure-cns) did not answer: %s", inner.msg);
	return r;
}

/* POST @req to the plural @path, or on 404 in the singular shape to @path1. */
static int cns_exchange(const struct conf *conf, const struct cns_request *req, const char *path,
			const char *path1, long *ret_status, char **ret_answer, char *url,
			struct cni_error *err)
{
	bool singular = false;
	char *body;
	int r;

	for (;;) {
		body = cns_request_encode(req, singular);
		if (!body)
			return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
		r = cns_post(conf, singular ? path1 : path, body, ret_status, ret_answer, url, err);
		free(body);
		if (r < 0 || *ret_status != 404 || singular)
			break;
		free(*ret_answer);
		*ret_answer = NULL;
		singular = true;
	}
	if (r == 0 && *ret_status != 200) {
		r = cni_error_set(err, -EAGAIN, CNI_CODE_TRY_AGAIN, "CNS %s answered HTTP status %ld",
				  url, *ret_status);
		cni_error_details(err, "%.400s", *ret_answer);
		free(*ret_answer);
		*ret_answer = NULL;
	}
	return r;
}

/* A ReturnCode other than 0 as a CNI error: the codes that say our request was malformed are
 * internal errors (100), every other one is worth a retry (11). */
static int refused(const char *url, int code, const char *msg, struct cni_error *err)
{
	bool ours = code == CNS_CODE_INVALID_REQUEST || code == 2 ||
		    code == CNS_CODE_EMPTY_ORCHESTRATOR_CONTEXT ||
		    code == CNS_CODE_UNSUPPORTED_ORCHESTRATOR_CONTEXT;

	return cni_error_set(err, ours ? -EINVAL : -EAGAIN,
			     ours ? CNI_CODE_INTERNAL : CNI_CODE_TRY_AGAIN,
			     "CNS %s refused: %s (%d): %s", url, cns_code_name(code), code, msg);
}

/* The answer @text of a request as a CNI result into @ret. */
static int use_answer(const char *url, const char *text, enum cns_mode mode,
		      struct cni_result *ret, struct cns_swift *ret_swift,
		      struct cni_error *err)
{
	struct cni_error inner = { 0 };
	struct cns_response *resp = calloc(1, sizeof(*resp));
	int r;

	if (!resp)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	r = cns_response_decode(text, strlen(text), resp, &inner);
	if (r == 0 && resp->return_code != CNS_CODE_SUCCESS)
		r = refused(url, resp->return_code, resp->message, err);
	else if (r == 0)
		r = cns_result_fill(resp, mode, ret, &inner);
	if (r == 0 && ret_swift) /* invoker_cns.go ncPrimaryIP, hostPrimaryIP */
		r = cns_swift_addrs(resp, ret_swift, &inner);
	if (r < 0 && cni_error_is_set(&inner))
		cni_error_set(err, r, inner.code, "CNS %s: %s", url, inner.msg);
	free(resp);
	return r;
}

int ipam_cns_add(const struct conf *conf, const struct cns_request *req, bool release_on_fail,
		 struct cni_result *ret, struct cns_swift *ret_swift, struct cni_error *err)
{
	char url[CNS_URL_MAX], *answer = NULL;
	long status = 0;
	int r;

	r = cns_exchange(conf, req, CNS_PATH_REQUEST_IPS, CNS_PATH_REQUEST_IP, &status, &answer,
			 url, err);
	if (r < 0)
		return r;
	r = use_answer(url, answer, !ipam_cns_overlay(conf) ? CNS_POD_SUBNETS :
#ifdef _WIN32
		       CNS_OVERLAY_WINDOWS,
#else
		       CNS_OVERLAY_LINUX,
#endif
		       ret, ret_swift, err);
	free(answer);
	if (r < 0 && release_on_fail && ipam_cns_del(conf, req, NULL) < 0)
		platform_log("azure-cns: releasing %s after an unusable answer failed",
			     req->pod_interface_id);
	return r;
}

int ipam_cns_del(const struct conf *conf, const struct cns_request *req, struct cni_error *err)
{
	char url[CNS_URL_MAX], msg[CNS_MESSAGE_MAX], *answer = NULL;
	struct cni_error inner = { 0 };
	long status = 0;
	int r, code = 0;

	r = cns_exchange(conf, req, CNS_PATH_RELEASE_IPS, CNS_PATH_RELEASE_IP, &status, &answer,
			 url, err);
	if (r < 0)
		return r;
	r = cns_release_decode(answer, strlen(answer), &code, msg, sizeof(msg), &inner);
	free(answer);
	if (r < 0)
		return cni_error_set(err, r, inner.code, "CNS %s: %s", url, inner.msg);
	if (code == CNS_CODE_SUCCESS || code == CNS_CODE_NOT_FOUND)
		return 0;
	return cni_error_set(err, -EAGAIN, CNI_CODE_TRY_AGAIN, "CNS %s refused the release: %s "
			     "(%d): %s", url, cns_code_name(code), code, msg);
}
