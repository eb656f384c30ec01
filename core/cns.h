/* SPDX-License-Identifier: MIT */
/* The Azure Container Networking Service (CNS) IPAM contract, as the plugin speaks it: the
 * request that asks CNS for a pod's IP configurations or releases them, CNS's answers, and the
 * CNI result an answer makes. Portable: the HTTP exchange is the caller's (cni/ipam-cns.c).
 * Source of every shape: Azure/azure-container-networking (ACN) at cbd7560,
 * cns/NetworkContainerContract.go (IPConfigsRequest, IPConfigRequest, IPConfigsResponse,
 * IPConfigResponse, PodIpInfo, IPConfiguration, IPSubnet, HostIPInfo, Route), cns/api.go
 * (Response) and cns/types/codes.go (ResponseCode). Keys are the Go JSON names (a json tag where
 * the struct has one, else the field name); answers are decoded case-insensitively, as Go's
 * encoding/json does, and unknown keys are ignored. */
#ifndef AZCNI_CNS_H
#define AZCNI_CNS_H

#include <stdbool.h>
#include <stddef.h>

#include "cni.h"
#include "error.h"
#include "ipnet.h"

/* Paths under the CNS base URL (cns/NetworkContainerContract.go). The singular ones are the
 * older API a CNS answers when it lacks the plural (HTTP 404: cns/client/client.go). */
#define CNS_PATH_REQUEST_IPS "/network/requestipconfigs"
#define CNS_PATH_REQUEST_IP "/network/requestipconfig"
#define CNS_PATH_RELEASE_IPS "/network/releaseipconfigs"
#define CNS_PATH_RELEASE_IP "/network/releaseipconfig"

/* The CNS address when the config has no "cnsurl" (cns/client/client.go defaultBaseURL). */
#define CNS_DEFAULT_URL "http://localhost:10090"

/* Response codes the plugin acts on (cns/types/codes.go); cns_code_name names them all. */
enum cns_code {
	CNS_CODE_SUCCESS = 0,
	CNS_CODE_UNREACHABLE_HOST = 4,
	CNS_CODE_NOT_FOUND = 14,
	CNS_CODE_CALL_TO_HOST_FAILED = 17,
	CNS_CODE_INVALID_REQUEST = 23,
	CNS_CODE_FAILED_TO_ALLOCATE_IP_CONFIG = 32,
	CNS_CODE_EMPTY_ORCHESTRATOR_CONTEXT = 33,
	CNS_CODE_UNSUPPORTED_ORCHESTRATOR_CONTEXT = 34,
	CNS_CODE_CONNECTION_ERROR = 45,
	CNS_CODE_UNEXPECTED_ERROR = 99,
};

#define CNS_MAX_IPS 4        /* PodIPInfo entries in one answer (CNS: one per NC and family) */
#define CNS_MAX_ROUTES 16    /* PodIpInfo.Routes */
#define CNS_MAX_DESIRED 4
#define CNS_MESSAGE_MAX 512

/* What the plugin sends (IPConfigsRequest; the singular IPConfigRequest for the older API).
 * Every string is the caller's, NUL-terminated; "" is sent as "". */
struct cns_request {
	const char *pod_name;            /* orchestratorContext.podName (K8S_POD_NAME) */
	const char *pod_namespace;       /* orchestratorContext.podNamespace (K8S_POD_NAMESPACE) */
	const char *pod_interface_id;    /* podInterfaceID: the CNS key of the pod interface */
	const char *infra_container_id;  /* infraContainerID (CNI_CONTAINERID) */
	const char *ifname;              /* ifname (CNI_IFNAME) */
	struct ipnet_addr desired[CNS_MAX_DESIRED]; /* desiredIPAddresses (release: the pod's) */
	size_t n_desired;
};

struct cns_route {
	struct ipnet_prefix dst;         /* Route.IPAddress, a CIDR */
	struct ipnet_addr gw;            /* Route.GatewayIPAddress, family 0 when "" */
};

/* One PodIpInfo. Addresses CNS left "" (or absent) have family 0. */
struct cns_pod_ip {
	struct ipnet_prefix pod;         /* PodIPConfig {IPAddress, PrefixLength} */
	struct ipnet_prefix nc_subnet;   /* NetworkContainerPrimaryIPConfig.IPSubnet */
	struct ipnet_prefix nc_subnet6;  /* NetworkContainerPrimaryIPConfig.IPSubnetV6 */
	struct ipnet_addr nc_gateway;    /* NetworkContainerPrimaryIPConfig.GatewayIPAddress */
	struct ipnet_addr nc_gateway6;   /* NetworkContainerPrimaryIPConfig.GatewayIPv6Address */
	struct ipnet_addr host_primary;  /* HostPrimaryIPInfo.PrimaryIP */
	struct ipnet_addr host_gateway;  /* HostPrimaryIPInfo.Gateway */
	struct ipnet_prefix host_subnet; /* HostPrimaryIPInfo.Subnet */
	char nic_type[32];               /* NICType: "" or "InfraNIC" for the pod's own interface */
	bool skip_default_routes;        /* SkipDefaultRoutes */
	struct cns_route routes[CNS_MAX_ROUTES];
	size_t n_routes;
};

/* An answer: Response {ReturnCode, Message} and, on success, the pod's IP configurations. */
struct cns_response {
	int return_code;                 /* Response.ReturnCode (enum cns_code, or another) */
	char message[CNS_MESSAGE_MAX];   /* Response.Message, cut to fit */
	struct cns_pod_ip ips[CNS_MAX_IPS];
	size_t n_ips;
};

/* cns_request_encode - @req as the JSON body of a request: @singular false gives IPConfigsRequest
 * {desiredIPAddresses, podInterfaceID, infraContainerID, orchestratorContext {podName,
 * podNamespace}, ifname, secondaryInterfacesExist, BackendInterfaceExist,
 * BacknendInterfaceMacAddress} (the tags, misspelling included); true gives IPConfigRequest
 * {DesiredIPAddress, PodInterfaceID, InfraContainerID, OrchestratorContext, Ifname} (no tags: the
 * field names; the first desired address or ""). Returns a malloc'd NUL-terminated string
 * (caller frees), or NULL when out of memory. */
char *cns_request_encode(const struct cns_request *req, bool singular);

/* cns_response_decode - parse the body of a request's answer (@text, @len bytes; anything after
 * the first JSON value is ignored, as Go's json.Decoder does) into *ret: IPConfigsResponse
 * {podIPInfo: [PodIpInfo], response: Response} or, from the older API, IPConfigResponse
 * {PodIpInfo: PodIpInfo, Response: Response} (the same keys under Go's case-insensitive match).
 * PodIPInfo is decoded only when ReturnCode is 0. A body that is not a JSON object, a missing
 * Response, a known key of the wrong JSON type, an address that does not parse, a prefix length
 * outside its family's, or more than CNS_MAX_IPS entries (CNS_MAX_ROUTES routes) is -EBADMSG with
 * code 105 naming the field (e.g. "podIPInfo[0].PodIPConfig.IPAddress"). Returns 0 (whatever the
 * ReturnCode: the caller judges it), -EBADMSG, or -ENOMEM (code 100 "out of memory") when an
 * allocation failed, cJSON's included: never read as a malformed answer. *ret is written in
 * full on success only. */
int cns_response_decode(const char *text, size_t len, struct cns_response *ret,
			struct cni_error *err);

/* cns_release_decode - the ReturnCode and Message of a release's answer (@text, @len) into
 * *ret_code and @msg (@msg_size bytes, may be NULL/0). CNS answers releaseipconfigs with an
 * IPConfigsResponse ({"response": {...}}, cns/restserver/ipam.go ReleaseIPConfigsHandler) and
 * a request it cannot decode with a bare Response ({"ReturnCode", "Message"}); both are read.
 * Neither: -EBADMSG with code 105. Returns 0, -EBADMSG, or -ENOMEM (code 100) when cJSON ran
 * out of memory. */
int cns_release_decode(const char *text, size_t len, int *ret_code, char *msg, size_t msg_size,
		       struct cni_error *err);

/* cns_code_name - the Go name of ResponseCode @code ("FailedToAllocateIpConfig"), "UnknownError"
 * for one codes.go does not name (its String()). Static storage. */
const char *cns_code_name(int code);

/* Which pods a CNS answer is for, and so what gateway a pod gets when CNS gives none. */
enum cns_mode {
	CNS_POD_SUBNETS = 0,      /* dynamic pod IP allocation: CNS's gateway is required */
	CNS_OVERLAY_LINUX,        /* Azure CNI Overlay on Linux: CNS_OVERLAY_GATEWAY4 (ACN
				   * cni/network/network_linux.go getOverlayGateway) */
	CNS_OVERLAY_WINDOWS,      /* on Windows: the first address after the pod CIDR's network
				   * address (network_windows.go getOverlayGateway) */
};

/* IPv4 and (both OSes) IPv6 gateways of an Overlay pod when CNS gives none: ACN
 * cni/network/network_linux.go getOverlayGateway and cni/network/invoker_cns.go
 * overlayGatewayV6IP. They are the gateways the Linux transparent data plane gives every pod. */
#define CNS_OVERLAY_GATEWAY4 "169.254.1.1"
#define CNS_OVERLAY_GATEWAY6 "fe80::1234:5678:9abc"

/* cns_result_fill - the CNI result of a successful answer @resp into *ret (cleared first;
 * interfaces are left to the backend): for each PodIpInfo of the pod's own interface (NICType ""
 * or "InfraNIC"), the address PodIPConfig.IPAddress with the prefix length of
 * NetworkContainerPrimaryIPConfig.IPSubnet (IPSubnetV6 for IPv6; PodIPConfig's when that is 0;
 * in Overlay that is the cluster's pod CIDR, cns/kubecontroller/nodenetworkconfig
 * CreateNCRequestFromStaticNC), the gateway GatewayIPAddress (GatewayIPv6Address for IPv6, when
 * set; in an Overlay @mode and none given, the Overlay gateway of the OS (enum cns_mode), as
 * invoker_cns.go configureDefaultAddResult does), and the routes CNS gave,
 * else a default route of the address's family via the gateway (ACN cni/network/invoker_cns.go
 * configureDefaultAddResult). The IPv4 address comes first, then the IPv6 one, whatever CNS's
 * order (it has none: cns/restserver/ipam.go AssignAvailableIPConfigs ranges over a map).
 * Errors, -EBADMSG with code 105 naming the field: no address, a prefix length of 0 (both
 * NetworkContainerPrimaryIPConfig.IPSubnet's and PodIPConfig's), an address without a gateway,
 * another NICType (SwiftV2 NICs: not supported), or not exactly one interface with default
 * routes; and what no CNS gives but a hostile or broken answer could: a second address of a
 * family, a pod address that is not unicast (0/8, loopback, link-local, multicast, reserved;
 * IPv6 ::/8, fe80::/10, ff00::/8), a gateway that is not unicast (link-local allowed) or is the
 * pod's own address, a route whose gateway is not of its destination's family. Returns 0 or
 * -EBADMSG. */
int cns_result_fill(const struct cns_response *resp, enum cns_mode mode, struct cni_result *ret,
		    struct cni_error *err);

/* cns_swift_addrs - what pod subnets SNAT Azure DNS and IMDS to (ACN invoker_cns.go
 * configureDefaultAddResult and setHostOptions, pod subnets only): the IPv4 network
 * container's primary IP of @resp into ret->nc_primary (NetworkContainerPrimaryIPConfig.IPSubnet.IPAddress of the
 * first PodIpInfo where it is IPv4, wherever CNS lists it: a dual-stack answer's order is not
 * fixed), and into ret->host_primary that PodIpInfo's HostPrimaryIPInfo.PrimaryIP (the node's address as
 * CNS knows it, not whatever the NIC lists first). Both family 0 when no PodIpInfo has an IPv4 NC
 * primary (there are no SWIFT rules then). The Go plugin fails the ADD when that host address
 * does not parse (setHostOptions), so its absence, or an IPv6 one (the rule is iptables', IPv4),
 * is -EBADMSG with code 105 naming "podIPInfo[i].HostPrimaryIPInfo.PrimaryIP"; *ret is then
 * all family 0. Returns 0 or -EBADMSG. */
struct cns_swift {
	struct ipnet_addr nc_primary;    /* NetworkContainerPrimaryIPConfig.IPSubnet.IPAddress */
	struct ipnet_addr host_primary;  /* HostPrimaryIPInfo.PrimaryIP of the same PodIpInfo */
};

int cns_swift_addrs(const struct cns_response *resp, struct cns_swift *ret,
		    struct cni_error *err);

#endif
