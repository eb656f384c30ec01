/* SPDX-License-Identifier: MIT */
/* The HCN (Host Compute Network, computenetwork.dll, schema 2.0) JSON documents azure-vnet.exe
 * sends and reads: HostComputeNetwork, HostComputeEndpoint, the namespace modify request, query
 * filters, the endpoint policies translated from the conflist's AdditionalArgs, the per-ADD DNS
 * settings, and parsers for what HCN returns (object IDs, ErrorRecord). Portable: no windows.h,
 * natively unit-tested. Sources: ../shared/reference/windows-hcn.md §A2 (schema) and
 * ../shared/reference/azure-vnet.md §6 (what the Go plugin puts in them). */
#ifndef AZCNI_HCNDOC_H
#define AZCNI_HCNDOC_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "cni.h"
#include "conf.h"
#include "error.h"
#include "ipnet.h"

#define HCNDOC_GUID_STRLEN 37 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL */

/* HCN network flag EnableNonPersistent: the Go plugin always sets it, so HNS forgets the
 * network on reboot (why ADD must re-create it). */
#define HCNDOC_NETWORK_FLAG_NON_PERSISTENT 8

/* HCN PortMapping flags and protocol numbers (IANA). */
#define HCNDOC_NAT_FLAG_LOCAL_ROUTED_VIP 1
#define HCNDOC_NAT_FLAG_IPV6 2
#define HCNDOC_PROTO_TCP 6
#define HCNDOC_PROTO_UDP 17

/* What the HostComputeNetwork document holds. */
struct hcndoc_network {
	const char *name;                  /* HCN network name = conf "name" */
	struct ipnet_prefix subnet;        /* the IPAM pool subnet (host bits ignored), v4 or v6 */
	struct ipnet_addr gateway;         /* next hop of the subnet's default route */
	struct ipnet_prefix subnet6;       /* dual-stack: the IPv6 subnet beside an IPv4 @subnet;
					    * family 0 = none */
	struct ipnet_addr gateway6;        /* next hop of @subnet6's default route */
	const char *adapter_name;          /* NetAdapterName policy; NULL or "" = omitted */
};

/* hcndoc_network - {SchemaVersion 2.0, Name, Type "L2Bridge", Flags 8, Ipams [{Type "Static",
 * Subnets [{IpAddressPrefix, Routes [{NextHop gw, DestinationPrefix 0.0.0.0/0 (::/0 for v6)}]}]}],
 * Policies [NetAdapterName {NetworkAdapterName}]}. Dual-stack: one Static Ipam with a Subnet per
 * family, IPv4 first (ACN network/network_windows.go: Ipams[0].Subnets, the default route per
 * family; HNS 11.10+, hcsshim hcn/hcnglobals.go IPv6DualStackVersion). A missing name, subnet or
 * gateway, a gateway outside its subnet (an IPv6 gateway may be link-local: Azure's
 * fe80::1234:5678:9abc), an IPv6 subnet longer than /64, or a @subnet6 that is not IPv6 beside
 * an IPv4 @subnet is code 7. Returns a new object (caller cJSON_Delete) or NULL with err set
 * (code 100 on out of memory). */
cJSON *hcndoc_network(const struct hcndoc_network *n, struct cni_error *err);

/* What the HostComputeEndpoint document holds. */
struct hcndoc_endpoint {
	const char *name;                  /* hcndoc_endpoint_name() */
	const char *network_id;            /* HCN network GUID the endpoint joins */
	const struct cni_result *ipam;     /* ips (address/len) and routes (dst via gw) */
	const struct cni_dns *dns;         /* Dns {Search, ServerList, Options}; may be NULL */
	const cJSON *policies;             /* array from hcndoc_policies(); may be NULL */
};

/* hcndoc_endpoint - {SchemaVersion 2.0, Name, HostComputeNetwork, IpConfigurations
 * [{IpAddress, PrefixLength}], Routes [{NextHop, DestinationPrefix}], Dns {Domain, Search,
 * ServerList, Options}, Policies}. Routes without a gateway, or whose gateway and destination
 * are of different families, are left out (HCN needs a NextHop of the route's family). A family
 * of the IPs with a gateway but no route gets its default route (0.0.0.0/0, ::/0) via that
 * gateway. No IP address, no network ID, or two addresses of one family (HNS takes one IPv4 and
 * one IPv6 address per endpoint: ACN network/endpoint_windows.go): code 7. Returns a new object
 * (caller cJSON_Delete) or NULL. */
cJSON *hcndoc_endpoint(const struct hcndoc_endpoint *e, struct cni_error *err);

/* hcndoc_policies - the endpoint's v2 policy array for one ADD:
 *  - every AdditionalArgs entry whose Name contains "EndpointPolicy" (any case), in order:
 *    a Value with a "Settings" object is v2 and passed through ({Type, Settings});
 *    otherwise the v1 shape is translated by Value.Type (keys any case):
 *      OutBoundNAT {ExceptionList}      -> OutBoundNAT {Settings {Exceptions: every entry}}
 *      ROUTE {DestinationPrefix, NeedEncap, NextHop} -> SDNRoute {Settings {same}}
 *      ACL (or any Value with Action) {Protocols|Protocol, Action, Direction, LocalAddresses,
 *          RemoteAddresses, LocalPorts, RemotePorts, RuleType, Priority} -> ACL {Settings}
 *      LoopbackDSR {IPAddress}          -> OutBoundNAT {Settings {Destinations [IPAddress]}}
 *      L4WFPPROXY {...}                 -> L4WFPPROXY {Settings: the Value minus Type}
 *  - conf->portmaps (runtimeConfig.portMappings) -> PortMapping {InternalPort, ExternalPort,
 *    Protocol 6|17, VIP (hostIP, when set), Flags 1};
 *  - windowsSettings.enableLoopbackDSR -> OutBoundNAT {Destinations [@pod_ip]};
 *  - an OutBoundNAT with Exceptions is always present when conf->outbound_snat: the first
 *    OutBoundNAT-with-exceptions of @subnet's family (IPv4: one whose Exceptions hold an IPv4
 *    range or no IPv6 one) gets each VNet range of that family (@subnet, conf->vnet_cidrs)
 *    appended unless an exception already covers it; without one, a new OutBoundNAT is appended.
 * Malformed entries (Value not an object, missing Type, unknown v1 Type, a field of the wrong
 * type, an invalid CIDR or address, a port outside 1..65535, a protocol other than tcp/udp):
 * code 7 naming the entry (index from 0), before any HCN call. @pod_ip may be NULL when DSR is
 * off. Returns 0 with *ret_policies (a new array, caller cJSON_Delete) or -EINVAL / -ENOMEM. */
int hcndoc_policies(const struct conf *conf, const struct ipnet_prefix *subnet,
		    const struct ipnet_addr *pod_ip, cJSON **ret_policies, struct cni_error *err);

/* hcndoc_policies_v6 - append to @policies (an array from hcndoc_policies, built for the
 * pod's IPv4 side or, IPv6-only, with @subnet NULL there) what a pod with an IPv6 address in
 * @subnet6 needs:
 *  - conf->outbound_snat: an OutBoundNAT of its own {Settings {Exceptions [@subnet6 and the
 *    IPv6 conf->vnet_cidrs]}} (ACN cni/network/network_windows.go getIPV6EndpointPolicy: the v6
 *    exceptions in a second OutBoundNAT, never mixed into the IPv4 one), unless an existing
 *    OutBoundNAT's Exceptions already hold an IPv6 range: then the ranges are appended there;
 *  - each conf->portmaps entry without hostIP: the same PortMapping with Flags 2 (IPv6)
 *    (ACN getPoliciesFromRuntimeCfg; hcsshim hcn/hcnpolicy.go NatFlagsIPv6).
 * Returns 0 or -ENOMEM (code 100 in @err). */
int hcndoc_policies_v6(const struct conf *conf, const struct ipnet_prefix *subnet6,
		       cJSON *policies, struct cni_error *err);

/* Azure's DNS and instance metadata service (ACN network/networkutils AzureDNS, AzureIMDS). */
#define HCNDOC_AZURE_DNS "168.63.129.16"
#define HCNDOC_AZURE_IMDS "169.254.169.254"

/* hcndoc_swift_nat - append to @policies (an array from hcndoc_policies) what the Go plugin adds
 * for a pod-subnet pod on Windows (ACN cni/network/network_windows.go getNATInfo with
 * executionMode "v4swift", network/policy/policy_windows.go AddNATPolicyV2; hcsshim
 * OutboundNatPolicySetting): OutBoundNAT {Settings {VirtualIP @nc_primary, Destinations
 * ["168.63.129.16"]}} (Azure DNS seen from the network container's primary IP) and OutBoundNAT
 * {Settings {Destinations ["169.254.169.254"]}} (IMDS from the node's). Returns 0 or -ENOMEM
 * (@policies may then hold the first). */
int hcndoc_swift_nat(cJSON *policies, const struct ipnet_addr *nc_primary);

/* hcndoc_dns - the endpoint DNS for one ADD (ACN cni/network/network_windows.go):
 * runtimeConfig.dns wins when it has servers or searches (Go getEndpointDNSSettings over
 * getCustomDNS: Servers non-empty or the joined Searches suffix non-empty): its servers,
 * searches and options as given, no domain; one with options alone is ignored.
 * Otherwise the config "dns": Nameservers and Search must both be set or both empty (else code
 * 7 "Wrong DNS configuration"); the Go suffix is "<pod_namespace>." + Search joined with ',' and
 * the endpoint search list is that suffix split at ',' (so only the first entry gets the
 * namespace). With neither set, @ipam_dns (may be NULL) gives servers and searches. The config's
 * Options are kept in both cases. An empty @pod_namespace leaves Search unprefixed.
 * Returns 0 and fills *ret (zeroed first) or -EINVAL. */
int hcndoc_dns(const struct conf *conf, const char *pod_namespace, const struct cni_dns *ipam_dns,
	       struct cni_dns *ret, struct cni_error *err);

/* hcndoc_namespace_modify - {ResourceType "Endpoint", RequestType "Add"|"Remove", Settings
 * {EndpointId}} for HcnModifyNamespace. Returns a new object or NULL on out of memory. */
cJSON *hcndoc_namespace_modify(const char *endpoint_id, bool add);

/* hcndoc_query_name - {SchemaVersion 2.0, Flags 0, Filter "{\"Name\":\"<name>\"}"} (Filter is a
 * JSON string inside the JSON) for HcnEnumerate*. Returns a new object or NULL. */
cJSON *hcndoc_query_name(const char *name);

/* hcndoc_query_all - {SchemaVersion 2.0, Flags 0} for HcnQuery*Properties. New object or NULL. */
cJSON *hcndoc_query_all(void);

/* hcndoc_endpoint_name - the Go endpoint name: the first 8 characters of @container_id, '-',
 * @ifname ("3f813b02-eth0"); a container ID of 8 characters or fewer is used whole. Writes at
 * most @size bytes to @buf; returns @buf. */
char *hcndoc_endpoint_name(const char *container_id, const char *ifname, char *buf, size_t size);

/* hcndoc_guid_normalize - accept a GUID as text with or without braces, any case; write the
 * lower-case, brace-less form to @ret (HCNDOC_GUID_STRLEN bytes). Returns 0 or -EINVAL. */
int hcndoc_guid_normalize(const char *s, char ret[HCNDOC_GUID_STRLEN]);

/* hcndoc_guid_equal - true when two GUID texts name the same GUID (HNS prints upper case,
 * containerd lower case; braces ignored). */
bool hcndoc_guid_equal(const char *a, const char *b);

/* hcndoc_object_id - the "ID" (or "Id") of an HCN object's properties JSON @props, normalized
 * with hcndoc_guid_normalize. Returns 0, -EINVAL (not JSON, no ID, not a GUID) or -ENOMEM
 * (cJSON ran out of memory: no verdict on the document). */
int hcndoc_object_id(const char *props, char ret[HCNDOC_GUID_STRLEN]);

/* hcndoc_id_list - parse an HcnEnumerate* answer (a JSON array of GUID strings; NULL or "" is
 * empty) into *ret_ids (malloc'd array of @*ret_n entries, caller frees). Returns 0 or -EINVAL /
 * -ENOMEM. */
int hcndoc_id_list(const char *json, char (**ret_ids)[HCNDOC_GUID_STRLEN], size_t *ret_n);

/* hcndoc_error_record - the human text of an HCN ErrorRecord ({"Success":false,"Error":"...",
 * "ErrorCode":n}) into @buf: its "Error" member, else the raw text (trimmed). NULL/"" -> "".
 * Returns @buf. */
char *hcndoc_error_record(const char *record, char *buf, size_t size);

/* hcndoc_print - compact text of @obj (malloc'd, caller frees) or NULL on out of memory. */
char *hcndoc_print(const cJSON *obj);

#endif
