/* SPDX-License-Identifier: MIT */
/* The azure-vnet / azure-vnet-ipam network configuration, parsed from the CNI stdin config with
 * keys matched case-insensitively and unknown keys ignored, as Go encoding/json does.
 * Source of the keys: ACN cni/netconfig.go (see README "Configuration"). */
#ifndef AZCNI_CONF_H
#define AZCNI_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "cni.h"
#include "error.h"
#include "ipnet.h"

#define CONF_MAX_LIST 32
#define CONF_MAX_POLICIES 32
#define CONF_MAX_PORTMAPS 64

enum conf_mode {
	CONF_MODE_TUNNEL = 0,   /* "" or "tunnel": bridge with VEPA (the Go default) */
	CONF_MODE_BRIDGE,
	CONF_MODE_TRANSPARENT,
	CONF_MODE_TRANSPARENT_VLAN, /* parsed, refused on ADD (CNS multitenancy is out of scope) */
};

enum conf_ipam_env {
	CONF_IPAM_ENV_AZURE = 0, /* NMAgent over the wireserver (default) */
	CONF_IPAM_ENV_MAS,       /* interfaces.json file ("mas"; ACN's "fileIpam" reads the same layout) */
	CONF_IPAM_ENV_NULL,      /* 0.0.0.0/0 pool with no addresses */
};

/* Default ipam.queryInterval (seconds): the Go plugin's minimum. */
#define CONF_QUERY_INTERVAL_DEFAULT_S 10

struct conf_ipam {
	char type[CNI_NAME_MAX];           /* "" when the ipam object is absent */
	enum conf_ipam_env environment;
	char address_space[CNI_NAME_MAX];  /* "local" when unset */
	char subnet[IPNET_PREFIX_STRLEN];  /* pool ID, "" = pick one */
	char ip_address[IPNET_ADDR_STRLEN];/* requested address, "" = any */
	char mode[32];                     /* ipam.mode (azure-cns): "" = pod subnet (swift),
	                                    * "v4overlay", "dualStackOverlay", "overlay" */
	int query_interval_s;              /* ipam.queryInterval in seconds (string or number;
	                                    * unset or "" = CONF_QUERY_INTERVAL_DEFAULT_S): the IPAM
	                                    * source is read again when the state's LastRefresh is
	                                    * older, across processes; 0 = read on every ADD */
};

struct conf_portmap {
	int host_port, container_port;
	char protocol[8];                  /* "tcp" | "udp" | "sctp" (lower case) */
	char host_ip[IPNET_ADDR_STRLEN];
};

/* One AdditionalArgs entry: Name (e.g. "EndpointPolicy") and the Value object (owned by the
 * request root, not by conf). */
struct conf_policy {
	char name[64];
	const cJSON *value;
};

struct conf {
	char cni_version[32];
	char name[CNI_NAME_MAX];
	char type[CNI_NAME_MAX];
	enum conf_mode mode;
	char mode_str[32];
	char master[CNI_IFNAME_MAX + 32];
	char adapter_name[CNI_NAME_MAX];
	char bridge[CNI_IFNAME_MAX + 32];
	struct conf_ipam ipam;
	char execution_mode[32];           /* "executionMode" (ACN cni/util ExecutionMode:
					    * "v4swift" on the pod-subnet conflists; "" else) */
	char cns_url[512];                 /* "cnsurl": the CNS base URL for ipam.type azure-cns
	                                    * ("" = http://localhost:10090) */
	struct cni_dns dns;                /* from "dns" (nameservers/domain/search/options) */
	char ips_to_route_via_host[CONF_MAX_LIST][IPNET_ADDR_STRLEN];
	size_t n_ips_to_route_via_host;
	/* Outbound SNAT (ours): traffic from pods to anything outside the VNet ranges (the pool
	 * subnet plus vnet_cidrs) leaves with the VM's primary IP. "vnetCidrs": string (comma
	 * separated, as the Go key) or array. "enableOutboundSnat": default true. */
	struct ipnet_prefix vnet_cidrs[CONF_MAX_LIST];
	size_t n_vnet_cidrs;
	bool outbound_snat;
	bool disable_hairpin_on_host_interface;
	bool disable_iptables_lock;
	char log_level[16];                /* "logLevel" (Go: parsed, unused): debug, info, warn,
					    * error; "" or another value = debug, as Go logs */
	char metrics_dir[CNI_NETNS_MAX];   /* "metricsDir" (ours): the node-exporter textfile
					    * directory, "" = no metrics (cni/metrics.h) */
	/* runtimeConfig */
	struct conf_portmap portmaps[CONF_MAX_PORTMAPS];
	size_t n_portmaps;
	struct cni_dns runtime_dns;        /* runtimeConfig.dns {servers, searches, options} */
	bool has_runtime_dns;              /* runtimeConfig.dns has a server, search or option */
	/* Windows */
	struct conf_policy policies[CONF_MAX_POLICIES];
	size_t n_policies;
	bool enable_loopback_dsr;
	int hns_timeout_s;                 /* windowsSettings.hnsTimeoutDurationInSeconds, 0 = default */
};

/* conf_parse - fill *ret from the request root @root (case-insensitive keys, unknown ignored).
 * Wrong JSON types, an unknown mode ("Network mode is invalid"), an unknown ipam.environment,
 * an invalid ipam.subnet/ipAddress/vnetCidrs entry, an ipam.mode other than "", "v4overlay",
 * "dualStackOverlay" or "overlay" (ACN cni/util/const.go, compared exactly), a cnsurl that is not
 * an http:// or https:// URL, a bridge name outside ^[a-zA-Z0-9._\-() ]*$
 * or over 15 bytes: code 7 naming the field. Policy values stay owned by @root. JSON null counts
 * as absent. vnetCidrs are stored with host bits cleared. A portMappings protocol is lower-cased
 * ("" -> "tcp"); ports must be 1..65535. AdditionalArgs[].Value must be an object when present.
 * *ret is written only on success.
 * Returns 0 or -EINVAL. */
int conf_parse(const cJSON *root, struct conf *ret, struct cni_error *err);

#endif
