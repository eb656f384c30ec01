/* SPDX-License-Identifier: MIT */
/* The CNI protocol, shared by both programs: environment and CNI_ARGS, version negotiation,
 * the request envelope (cniVersion, name, type, prevResult, runtimeConfig), the result model
 * with its encoding in every version, and the error object.
 * Source: containernetworking/cni SPEC.md 1.1.0 ("Execution Protocol", "Result Types") and its
 * 0.1.0-0.4.0 predecessors (legacy ip4/ip6 result shape). */
#ifndef AZCNI_CNI_H
#define AZCNI_CNI_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "error.h"
#include "ipnet.h"

/* Versions in increasing order; CNI_VERSION_UNKNOWN for anything else. */
enum cni_version {
	CNI_VERSION_UNKNOWN = -1,
	CNI_VERSION_0_1_0 = 0,
	CNI_VERSION_0_2_0,
	CNI_VERSION_0_3_0,
	CNI_VERSION_0_3_1,
	CNI_VERSION_0_4_0,
	CNI_VERSION_1_0_0,
	CNI_VERSION_1_1_0,
	CNI_VERSION_COUNT,
};

/* cni_version_parse - "0.3.1" -> CNI_VERSION_0_3_1; NULL or "" -> CNI_VERSION_0_1_0
 * (SPEC: a missing cniVersion means 0.1.0); anything else -> CNI_VERSION_UNKNOWN. */
enum cni_version cni_version_parse(const char *s);

/* cni_version_string - "1.1.0" etc. for a known version, "" otherwise; static storage. */
const char *cni_version_string(enum cni_version v);

/* cni_version_list_json - newly allocated JSON array of every supported version string
 * (caller frees with cJSON_Delete). */
cJSON *cni_version_list_json(void);

enum cni_command {
	CNI_CMD_UNKNOWN = 0,
	CNI_CMD_ADD,
	CNI_CMD_DEL,
	CNI_CMD_CHECK,
	CNI_CMD_VERSION,
	CNI_CMD_GC,
	CNI_CMD_STATUS,
};

#define CNI_ID_MAX 256
#define CNI_PATH_MAX 4096
/* A netns path (CNI_NETNS, a result's sandbox): runtimes use /var/run/netns/cni-<uuid>,
 * /proc/<pid>/ns/net or an HCN namespace GUID, far below this; a longer CNI_NETNS is code 4 on
 * ADD and CHECK (DEL, which needs no netns, treats it as absent). Kept small because results and
 * endpoint records hold several of them and are cleared on every call. */
#define CNI_NETNS_MAX 512
#define CNI_IFNAME_MAX 16 /* 15 bytes + NUL: IFNAMSIZ */
#define CNI_NAME_MAX 256

/* CNI_ARGS: K=V;K=V. The K8S_* keys we understand, the rest kept for delegation. */
struct cni_args {
	bool ignore_unknown;
	char pod_namespace[CNI_NAME_MAX];
	char pod_name[CNI_NAME_MAX];
	char pod_infra_container_id[CNI_ID_MAX];
	char pod_uid[CNI_ID_MAX];
};

/* cni_args_parse - parse CNI_ARGS text (NULL or "" is empty). A pair without '=' or with an empty
 * key is code 4 (CNI_CODE_INVALID_ENV) naming the pair. Unknown keys are accepted (we never reject
 * keys meant for other plugins in the chain). Returns 0 or -EINVAL. */
int cni_args_parse(const char *s, struct cni_args *ret, struct cni_error *err);

/* The CNI_* environment of one invocation. Strings are copies (empty when unset). */
struct cni_env {
	enum cni_command command;
	char command_str[32];
	char container_id[CNI_ID_MAX];
	char netns[CNI_NETNS_MAX];
	char ifname[CNI_IFNAME_MAX + 32]; /* room to detect an over-long name */
	char path[CNI_PATH_MAX];          /* CNI_PATH; ':' on Linux, ';' on Windows */
	char args_raw[CNI_PATH_MAX];
	struct cni_args args;
};

/* cni_env_read - read CNI_* through getenv and validate them for the command:
 * CNI_COMMAND must be known (code 4); ADD/DEL/CHECK need CNI_CONTAINERID and CNI_IFNAME (code 4);
 * ADD and CHECK need CNI_NETNS (code 4); VERSION, STATUS and GC need nothing else.
 * The ifname must be 1..15 bytes without '/', ':' or whitespace, and not "." or ".." (code 4).
 * CNI_ARGS is parsed as cni_args_parse does. Returns 0 or negative errno; *ret is filled as far
 * as parsing got (so the error path still knows the command). */
int cni_env_read(struct cni_env *ret, struct cni_error *err);

/* ---- result model (a superset of every version's shape) ---- */
#define CNI_MAX_IFACES 8
#define CNI_MAX_IPS 8
#define CNI_MAX_ROUTES 32
#define CNI_MAX_DNS 16
#define CNI_MAC_STRLEN 18

struct cni_iface {
	char name[CNI_IFNAME_MAX + 32];
	char mac[CNI_MAC_STRLEN];     /* "aa:bb:cc:dd:ee:ff" or "" */
	char sandbox[CNI_NETNS_MAX];  /* "" for host-side interfaces */
	int mtu;                      /* 0 = unset (1.1.0 field) */
};

struct cni_ipconfig {
	struct ipnet_prefix address;  /* address with its subnet length */
	struct ipnet_addr gateway;    /* family 0 = none */
	int iface;                    /* index into interfaces, -1 = none */
};

struct cni_route {
	struct ipnet_prefix dst;
	struct ipnet_addr gw;         /* family 0 = none */
	int mtu, advmss, priority, table, scope; /* 0 = unset (1.1.0 fields); scope -1 = unset */
};

struct cni_dns {
	char nameservers[CNI_MAX_DNS][IPNET_ADDR_STRLEN];
	size_t n_nameservers;
	char domain[CNI_NAME_MAX];
	char search[CNI_MAX_DNS][CNI_NAME_MAX];
	size_t n_search;
	char options[CNI_MAX_DNS][CNI_NAME_MAX];
	size_t n_options;
};

/* A result of any version, held by value (no heap). */
struct cni_result {
	struct cni_iface interfaces[CNI_MAX_IFACES];
	size_t n_interfaces;
	struct cni_ipconfig ips[CNI_MAX_IPS];
	size_t n_ips;
	struct cni_route routes[CNI_MAX_ROUTES];
	size_t n_routes;
	struct cni_dns dns;
};

/* cni_result_encode - the result as a JSON object in version @v: 0.1.0/0.2.0 legacy
 * {cniVersion, ip4{ip, gateway, routes}, ip6{...}, dns}; 0.3.x/0.4.0 {cniVersion, interfaces,
 * ips[{version, address, gateway, interface}], routes, dns}; 1.0.0+ the same without "version".
 * Empty dns is omitted; ips[].interface is written only when it indexes a listed interface;
 * the 1.1.0 route fields only when > 0 and the version is 1.1.0 (scope 0, universe, is the
 * kernel default and is not written). In the legacy shape only the first address of each family
 * is kept and routes go with the family of their dst (libcni's 0.2.0 conversion).
 * Returns a new object (caller cJSON_Delete) or NULL with err set
 * (code 1 for an unknown version, 100 for out of memory). */
cJSON *cni_result_encode(const struct cni_result *r, enum cni_version v, struct cni_error *err);

/* cni_mem_update - make the @n bytes at @dst equal to those at @src (NULL: zeros), writing only
 * the 64-byte blocks that differ. For the large, mostly empty structs of a call (a config, a
 * result: fixed arrays sized for the most any request holds) kept in zero static or fresh memory:
 * reading a page never written maps the kernel's zero page, writing it costs a page of RSS, so
 * the pages of the arrays a call leaves empty stay unused. Byte for byte memcpy/memset. */
void cni_mem_update(void *dst, const void *src, size_t n);

/* cni_json_ints_raw - turn each number of @root (a tree the caller owns and prints next) that
 * holds an integer of magnitude below 1e15 into a raw node of the same text cJSON's printer
 * writes for it ("%1.15g" of such a double is its decimal integer), so printing runs no
 * sprintf/sscanf: that stdio code is a corner of libc.so an ADD touches for nothing else, 64 KiB
 * of its RSS each. The output bytes are unchanged. Reference nodes (cJSON_IsReference: a
 * subtree the caller does not own) and numbers with fractions or NaN are left as they are;
 * converted nodes are no longer cJSON_IsNumber. Without memory a node stays a number (the
 * output is the same either way). NULL is allowed. */
void cni_json_ints_raw(cJSON *root);

/* cni_result_decode - parse a result (or prevResult) of any version from @obj into *ret.
 * The shape is chosen by the object's own cniVersion (absent: by the presence of ip4/ip6 vs ips).
 * Malformed fields are code 6 (CNI_CODE_DECODE) naming the field. Returns 0 or -EINVAL. */
int cni_result_decode(const cJSON *obj, struct cni_result *ret, struct cni_error *err);

/* ---- request envelope ---- */
/* A parsed stdin config. @root owns everything; the other pointers point into it (NULL if absent). */
struct cni_request {
	cJSON *root;
	enum cni_version version;
	char version_str[32];         /* as sent ("" when absent) */
	const char *name;
	const char *type;
	const cJSON *prev_result;     /* "prevResult" */
	const cJSON *runtime_config;  /* "runtimeConfig" */
	const cJSON *capabilities;
};

/* cni_request_parse - parse the stdin config @text (@len bytes, need not be NUL-terminated).
 * Empty or whitespace-only text is allowed only when @allow_empty (VERSION) and yields an empty
 * object. Invalid JSON or a non-object is code 6; an unsupported cniVersion is code 1 whose
 * details list the supported versions. For VERSION the caller passes @check_version false so any
 * version string is accepted. Keys are looked up case-insensitively.
 * Returns 0 (caller calls cni_request_free), -EINVAL, or -ENOMEM (code 100: out of memory, never
 * read as invalid JSON). */
int cni_request_parse(const char *text, size_t len, bool allow_empty, bool check_version,
		      struct cni_request *ret, struct cni_error *err);

/* cni_request_free - release root; safe on a zeroed or already freed request. */
void cni_request_free(struct cni_request *req);

/* cni_error_encode - the SPEC error object {cniVersion, code, msg, details} as text (no trailing
 * newline); all four members are always present (details may be ""). @version_str (the
 * cniVersion the request sent) is echoed even when unsupported; NULL or "" gives "1.1.0" (why:
 * see cni.c answer_version). A NULL or unset @e gives code 100. Returns malloc'd text (caller
 * frees with free()) or NULL on out of memory. */
char *cni_error_encode(const struct cni_error *e, const char *version_str);

/* cni_version_reply - the VERSION answer {cniVersion, supportedVersions} as malloc'd text
 * (caller frees with free(); NULL on out of memory).
 * @version_str: the cniVersion the caller sent (echoed even if unknown; "" -> "1.1.0"). */
char *cni_version_reply(const char *version_str);

/* cni_json_string - case-insensitive lookup of a string member; NULL when absent or not a string. */
const char *cni_json_string(const cJSON *obj, const char *key);

#endif
