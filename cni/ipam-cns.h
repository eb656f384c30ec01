/* SPDX-License-Identifier: MIT */
/* ipam.type "azure-cns": the pod's IP configuration from the Container Networking Service (CNS)
 * on the node, over its HTTP API (core/cns.h has the shapes; platform_http_post the transport).
 * CNS keeps the allocations, keyed by the pod interface ID; the plugin keeps no IPAM state. */
#ifndef AZCNI_IPAM_CNS_H
#define AZCNI_IPAM_CNS_H

#include <stdbool.h>

#include "core/cni.h"
#include "core/cns.h"
#include "core/conf.h"
#include "core/error.h"

#define IPAM_CNS_TYPE "azure-cns"

/* CNS call bound: ACN cni/network/network.go defaultRequestTimeout (15 s); the environment
 * variable AZURE_CNI_CNS_TIMEOUT_MS (1..600000) overrides it. */
#define IPAM_CNS_TIMEOUT_MS 15000u

/* ipam_cns_is - whether @conf's ipam.type is "azure-cns". */
bool ipam_cns_is(const struct conf *conf);

/* ipam_cns_overlay - whether @conf is Azure CNI Overlay: ipam.type "azure-cns" with an
 * ipam.mode ("overlay", "v4overlay" or "dualStackOverlay": conf_parse admits no other; ACN
 * cni/util/const.go IpamMode). "" is pod subnets (dynamic pod IP allocation, "swift"). */
bool ipam_cns_overlay(const struct conf *conf);

/* ipam_cns_validate - refuse, before anything is made, an ADD CNS cannot serve: a CNI_ARGS
 * without K8S_POD_NAME or K8S_POD_NAMESPACE (code 4 naming them: CNS keys the pod by them).
 * Changes nothing. Returns 0 or -EINVAL. */
int ipam_cns_validate(const struct cni_env *env, struct cni_error *err);

/* ipam_cns_add - ask CNS (POST <cnsurl>/network/requestipconfigs; on HTTP 404 the older
 * /network/requestipconfig) for the IP configuration of the pod interface @req names, and fill
 * *ret (addresses with CNS's prefix length, gateway, routes; no interfaces) as cns_result_fill
 * does. CNS answers a repeated request of the same podInterfaceID with the same addresses
 * (cns/restserver/ipam.go requestIPConfigsHelper, GetExistingIPConfig). When CNS answered but
 * the answer cannot be used (a ReturnCode other than 0, a malformed body) and @release_on_fail
 * is set, the interface's allocation is released again (best effort), as ACN's client does
 * (cns/client/client.go RequestIPs). Errors: CNS unreachable, hung past the bound or answering
 * a status other than 200: code 11 naming CNS and its URL; ReturnCode not 0: code 11 naming
 * the code (100 for the codes that mean our request was malformed); an unusable answer: 105
 * naming the field. With @ret_swift (pod subnets; may be NULL) on success *ret_swift is the
 * IPv4 network container's primary IP and the node's primary IP CNS gave with it
 * (cns_swift_addrs: what the Go plugin SNATs Azure DNS and IMDS to; both family 0 when no NC
 * primary is IPv4); an answer with that NC primary but no IPv4 HostPrimaryIPInfo.PrimaryIP is
 * 105 (and released as above). The Overlay gateway rule is this OS's (enum cns_mode). Returns
 * 0 or negative errno. */
int ipam_cns_add(const struct conf *conf, const struct cns_request *req, bool release_on_fail,
		 struct cni_result *ret, struct cns_swift *ret_swift, struct cni_error *err);

/* ipam_cns_del - release what the pod interface @req names holds (POST
 * <cnsurl>/network/releaseipconfigs, on 404 /network/releaseipconfig). ReturnCode 0 or
 * NotFound (14): done (an unknown interface is released). CNS unreachable, hung, a status other
 * than 200, another ReturnCode: code 11 (the runtime retries the DEL); an answer that is not a
 * CNS Response: 105. Returns 0 or negative errno. */
int ipam_cns_del(const struct conf *conf, const struct cns_request *req, struct cni_error *err);

#endif
