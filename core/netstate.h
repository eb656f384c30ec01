/* SPDX-License-Identifier: MIT */
/* The network/endpoint state document (/var/run/azure-vnet.json, C:\k\azure-vnet.json) in the Go
 * plugin's layout, as a model plus text conversion. Reading, locking and atomic replacement of the
 * file are the platform's job (platform.h); this module is portable.
 * Source of the layout: ACN store/json.go, network/manager.go, network/network.go,
 * network/endpoint.go (see ../shared/reference/azure-vnet.md §4):
 *   {"Network":{"Version","TimeStamp","CnsClient":null,"ExternalInterfaces":{"<ifname>":{
 *     "Name","Networks":{"<id>":{"Id","HnsId","Mode","VlanId","Subnets":[{"Family","Prefix":
 *     {"IP","Mask"},"Gateway","PrimaryIP"}],"Endpoints":{"<epid>":{"Id","HnsId","HNSNetworkID",
 *     "SandboxKey","IfName","HostIfName","MacAddress","IPAddresses":[{"IP","Mask"}],"Gateways",
 *     "DNS":{"Suffix","Servers","Options"},"Routes":[{"Dst","Src","Gw","Protocol","DevName",
 *     "Scope","Priority","Table"}],"ContainerID","PODName","PODNameSpace","NetNs",...}},
 *     "DNS","EnableSnatOnHost","NetNs","SnatBridgeIP"}},"Subnets":["<cidr>"],"BridgeName",
 *     "DNSInfo","MacAddress","IPAddresses","Routes","IPv4Gateway","IPv6Gateway"}}}}
 * Masks and MACs are base64 (Go []byte); IPs are text; a nil IP is "".
 * Keys we do not model (Go's NICType, SecondaryInterfaces, the multitenancy fields, a route's
 * Tos/Type/Flags, other top-level keys, ...) are kept: a decoded state holds its text and the
 * parse tree of everything but the endpoint records (core/netscan.h indexes those by byte
 * span), each decoded object remembers its source there, and netstate_encode writes our fields
 * over it, every other key at its place with its value as read. A record nobody decoded
 * (netstate_decode_lazy) is written as its bytes. New objects get Go's defaults. */
#ifndef AZCNI_NETSTATE_H
#define AZCNI_NETSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cni.h"
#include "error.h"
#include "ipnet.h"

#define NETSTATE_ID_MAX 256
#define NETSTATE_MAX_IPS 8
#define NETSTATE_MAX_ROUTES 32
#define NETSTATE_MAX_SUBNETS 8
#define NETSTATE_IFNAME_MAX 48     /* IFNAMSIZ plus room; Windows adapter names can be longer */

#define NETSTATE_DNS_OPTIONS_MAX 512 /* bytes of resolver options per record, NULs included */

/* DNS as the Go plugin records it (network.DNSInfo: Suffix, Servers, Options; it has no search
 * list), compact: a record is held once per endpoint, so every state parse pays for its size. */
struct netstate_dns {
	char suffix[CNI_NAME_MAX];
	char servers[CNI_MAX_DNS][IPNET_ADDR_STRLEN];
	size_t n_servers;
	char options[NETSTATE_DNS_OPTIONS_MAX]; /* n_options NUL-terminated strings back to back */
	size_t n_options;
};

/* A route as the Go plugin records it: an endpoint's as network.RouteInfo (Dst, Src, Gw,
 * Protocol, DevName, Scope, Priority, Table), an external interface's as netlink.Route (ACN
 * netlink/ip_linux.go: Family, Dst (null = default), Src, Gw, Tos, Table, Protocol, Scope, Type,
 * Flags, Priority, LinkIndex, ILinkIndex; no DevName). Unset addresses have family 0. */
struct netstate_route {
	struct ipnet_prefix dst;
	struct ipnet_addr src, gw;
	int protocol, scope, priority, table;
	int link_index;                     /* netlink.Route LinkIndex (external interface only) */
	char dev[NETSTATE_IFNAME_MAX];      /* RouteInfo DevName (endpoint only) */
};

/* Under which key an endpoint's netns path is written: Go on Linux puts it in
 * "NetworkNameSpace" (network/endpoint_linux.go), on Windows in "NetNs" (endpoint_windows.go). */
enum netstate_netns_key {
	NETSTATE_NETNS_KEY_NETNS = 0,
	NETSTATE_NETNS_KEY_NNS,
};

/* The decoded source of a model object (see the top of this file): valid only while @gen
 * equals its state's gen; a copy into another state is matched again by key. Networks and
 * external interfaces have a cJSON object; endpoint records have their bytes as read. */
struct netstate_src {
	const void *obj;                    /* a cJSON object inside struct netstate's doc */
	const char *raw;                    /* an endpoint record's text, inside struct netstate's
					     * text (raw_len bytes) */
	size_t raw_len;
	const char *key;                    /* its member key as read, escapes kept (key_len) */
	size_t key_len;
	unsigned long gen;
};

/* The fields every endpoint record has, lazy or not (see struct netstate_endpoint). A network
 * holds its records as pointers to heads: a lazy record is a head alone (in the network's heads
 * array, ~620 bytes, so a full node's lazy records are a few pages), a decoded one the head of a
 * whole struct netstate_endpoint. */
struct netstate_endpoint_head {
	char id[NETSTATE_ID_MAX];           /* the key: netstate_endpoint_key, unique per network */
	char container_id[NETSTATE_ID_MAX];
	char ifname[NETSTATE_IFNAME_MAX];   /* in the sandbox (CNI_IFNAME) */
	bool lazy;
	struct netstate_src src;
};

/* One endpoint (network/endpoint.go "endpoint"). MACs are 6 bytes; has_mac false = null. */
/* A record read by netstate_decode_lazy is "lazy" until a look-up (netstate_find_endpoint,
 * netstate_find_endpoint_by_owner, netstate_endpoint_at) or netstate_network_load decodes it
 * into a whole struct: till then only its head exists. The head's fields are also members of
 * the struct by name (ep->id is ep->head.id: the union's two members have the same members in
 * the same order, a common initial sequence). */
struct netstate_endpoint {
	union {
		struct netstate_endpoint_head head;
		struct {
			char id[NETSTATE_ID_MAX];
			char container_id[NETSTATE_ID_MAX];
			char ifname[NETSTATE_IFNAME_MAX];
			bool lazy;
			struct netstate_src src;
		};
	};
	char hns_id[NETSTATE_ID_MAX];       /* Windows HCN endpoint GUID, "" on Linux */
	char hns_network_id[NETSTATE_ID_MAX];
	char sandbox_key[CNI_NETNS_MAX];    /* netns path given at ADD */
	char host_ifname[NETSTATE_IFNAME_MAX]; /* host side veth ("azv..."), "" on Windows */
	uint8_t mac[6];                     /* the sandbox interface's MAC */
	bool has_mac;
	struct ipnet_prefix ips[NETSTATE_MAX_IPS];  /* address with its subnet length */
	size_t n_ips;
	struct ipnet_addr gateways[NETSTATE_MAX_IPS];
	size_t n_gateways;
	struct netstate_dns dns;            /* Go DNSInfo */
	struct netstate_route routes[NETSTATE_MAX_ROUTES];
	size_t n_routes;
	char pod_name[CNI_NAME_MAX];
	char pod_namespace[CNI_NAME_MAX];
	char netns[CNI_NETNS_MAX];          /* the netns path, written under netns_key */
	enum netstate_netns_key netns_key;
	int vlan_id;
};

/* A network subnet (network.SubnetInfo). */
struct netstate_subnet {
	int family;                         /* IPNET_AF_INET (2) or IPNET_AF_INET6 (10) */
	struct ipnet_prefix prefix;
	struct ipnet_addr gateway;          /* family 0 = "" */
	struct ipnet_addr primary_ip;       /* family 0 = "" */
};

/* One network (network/network.go "network"). */
struct netstate_network {
	char id[NETSTATE_ID_MAX];           /* the conf "name" */
	char hns_id[NETSTATE_ID_MAX];       /* Windows HCN network GUID */
	char mode[32];                      /* "transparent", "bridge", "tunnel", "l2bridge" */
	int vlan_id;
	struct netstate_subnet subnets[NETSTATE_MAX_SUBNETS];
	size_t n_subnets;
	/* the records in file order: heap array of n_endpoints pointers, owned; each the head of a
	 * lazy record (inside @heads) or of a decoded one (a malloc'd struct netstate_endpoint,
	 * owned: netstate_endpoint_of) */
	struct netstate_endpoint_head **endpoints;
	size_t n_endpoints;
	struct netstate_endpoint_head *heads; /* lazy records' heads, one heap array, owned */
	struct netstate_dns dns;
	bool enable_snat_on_host;
	char netns[CNI_NETNS_MAX];
	char snat_bridge_ip[IPNET_PREFIX_STRLEN];
	struct netstate_src src;
};

/* One external interface (the master NIC, network.externalInterface). */
struct netstate_extif {
	char name[NETSTATE_IFNAME_MAX];
	struct netstate_network *networks;  /* heap array, owned */
	size_t n_networks;
	struct ipnet_prefix subnets[NETSTATE_MAX_SUBNETS]; /* Go "Subnets": ["10.240.0.0/16"] */
	size_t n_subnets;
	char bridge_name[NETSTATE_IFNAME_MAX];
	struct netstate_dns dns;            /* Go "DNSInfo" */
	uint8_t mac[6];
	bool has_mac;
	struct ipnet_prefix ips[NETSTATE_MAX_IPS]; /* addresses moved to the bridge (bridge mode) */
	size_t n_ips;
	struct netstate_route routes[NETSTATE_MAX_ROUTES];
	size_t n_routes;
	struct ipnet_addr ipv4_gateway, ipv6_gateway;
	struct netstate_src src;
};

/* The whole document. Zero-initialise, then netstate_decode or fill; free with netstate_free. */
struct netstate {
	char version[64];
	char timestamp[64];
	struct netstate_extif *extifs;      /* heap array, owned */
	size_t n_extifs;
	void *doc;                          /* the cJSON tree decoded, owned; NULL = none (its
					     * Endpoints objects are markers: see netscan.h) */
	char *text;                         /* the text decoded, owned unless text_borrowed:
					     * lazy records' bytes */
	size_t text_len;
	bool text_borrowed;                 /* text is the caller's (netstate_decode_lazy_view) */
	unsigned long gen;                  /* distinct per decode in this process */
};

/* netstate_endpoints_layout - what netscan indexes in this file (core/netscan.h): the endpoint
 * records (keys as Go writes them, exact case) and of each Id, ContainerID and IfName; the
 * tests' reference scanner runs the same layout. */
struct netscan_layout;
extern const struct netscan_layout netstate_endpoints_layout;

/* netstate_decode - parse the state file text (@len bytes, need not be NUL-terminated) into
 * *ret (zeroed first), every record decoded. 0 bytes or whitespace only = an empty state (the
 * Go plugin's rule). Invalid JSON, a missing "Network" object or a field of the wrong type:
 * code 6 naming @path (used only in the message) and the field. Unknown keys are kept for
 * netstate_encode. Returns 0 (caller netstate_free) or -EINVAL / -ENOMEM (code 100). */
int netstate_decode(const char *text, size_t len, const char *path, struct netstate *ret,
		    struct cni_error *err);

/* netstate_decode_lazy - netstate_decode with the endpoint records left lazy (see struct
 * netstate_endpoint): the whole text is checked as JSON, the networks and external interfaces
 * decoded, and each record's Id, ContainerID and IfName read (a record whose other fields have
 * the wrong type is found out when it is looked up: see netstate_find_endpoint). Its cost
 * grows with the file's bytes only by a scan, so a call on a full node decodes and encodes what
 * it touches. Same returns and ownership. */
int netstate_decode_lazy(const char *text, size_t len, const char *path, struct netstate *ret,
			 struct cni_error *err);

/* netstate_decode_lazy_view - netstate_decode_lazy of @text (@len bytes, then NETSCAN_PAD zero
 * bytes; read-only) without a copy and without taking it: ret->text is @text, which the caller
 * keeps valid and unchanged until netstate_free(ret) (a file's mapped view: state.c). Nothing is
 * written to @text. Same returns. */
int netstate_decode_lazy_view(const char *text, size_t len, const char *path,
			      struct netstate *ret, struct cni_error *err);

/* netstate_network_load - decode every lazy record of @net (before reading all of its records'
 * fields). Returns 0, or -EINVAL (code 6 naming the record and field: that record is then left
 * as netstate_find_endpoint leaves an undecodable one) / -ENOMEM. */
int netstate_network_load(struct netstate_network *net, struct cni_error *err);

/* netstate_encode - the document text, tab-indented as Go's store, with @timestamp (RFC 3339)
 * written to TimeStamp and @version (e.g. "v0.1.0") to Version. Our fields as Go's json tags
 * write them (omitempty honoured); every key of the decoded document we do not model, at its
 * place and as read (an endpoint's only while its ContainerID is still the record's). Returns malloc'd text (caller
 * frees) or NULL on out of memory. */
char *netstate_encode(const struct netstate *st, const char *version, const char *timestamp);

/* A byte range of an encoded text (netstate_encode_parts). */
struct netstate_part {
	const char *data;
	size_t len;
};

/* An encoded text as byte ranges in order: its parts (heap array of @n, owned) point into @own
 * (heap, owned) or into the encoded state's text (records written as read, not copied). */
struct netstate_text {
	struct netstate_part *parts;
	size_t n;
	size_t len;                         /* bytes in all */
	char *own;
};

/* netstate_encode_parts - netstate_encode's text as parts into *ret (zeroed first), for a
 * writer that writes them in order (writev): a full node's records are not copied. The parts
 * that refer to @st's text are valid while @st is neither changed nor freed. Returns 0 (free
 * *ret with netstate_text_free) or -ENOMEM. */
int netstate_encode_parts(const struct netstate *st, const char *version, const char *timestamp,
			  struct netstate_text *ret);

/* netstate_text_free - free what *t owns and zero it; safe on a zeroed one. */
void netstate_text_free(struct netstate_text *t);

/* netstate_free - free every heap part and zero *st; safe on a zeroed state. */
void netstate_free(struct netstate *st);

/* netstate_endpoint_id - the Go endpoint ID: container_id[:8] + "-" + ifname (ACN
 * network/manager.go GetEndpointID). Where Go gives "" (container ID of 8 characters or fewer,
 * so every such pod would share one record), we use the whole container ID + "-" + ifname.
 * Writes at most @size bytes (NUL included) to @buf and returns @buf. */
char *netstate_endpoint_id(const char *container_id, const char *ifname, char *buf, size_t size);

/* netstate_endpoint_key - candidate @k (0, 1, 2, ...) of the record key of owner
 * (@container_id, @ifname), the endpoint-ID rule's sequence: 0 is the Go ID
 * (netstate_endpoint_id), 1 is "<container ID>:<ifname>", k >= 2 is
 * "<container ID>:<ifname>/<k>". An ifname never holds ':' or '/' (cni_env_read), so the text
 * after the last ':' tells ifname and k apart and the rest is the container ID: candidates 1
 * and up are injective in (container ID, ifname, k), and distinct for distinct k. A container
 * ID longer than NETSTATE_KEY_CID_MAX bytes is cut there (keys stay distinct per k, so the
 * orchestrator's walk still ends). Writes at most @size (>= NETSTATE_ID_MAX) bytes to @buf
 * and returns @buf. */
#define NETSTATE_KEY_CID_MAX (NETSTATE_ID_MAX - CNI_IFNAME_MAX - 13)
char *netstate_endpoint_key(const char *container_id, const char *ifname, unsigned k, char *buf,
			    size_t size);

/* netstate_find_network - the network with @id in any external interface, or NULL. When
 * @ret_extif is non-NULL and found, *ret_extif is set to its external interface. */
struct netstate_network *netstate_find_network(struct netstate *st, const char *id,
					       struct netstate_extif **ret_extif);

/* netstate_endpoint_of - the whole record whose head is @h (an element of a network's
 * endpoints array), or NULL while it is lazy (netstate_endpoint_at decodes it). Owned by that
 * network, as @h is; valid until the record is removed or the network freed. */
static inline struct netstate_endpoint *netstate_endpoint_of(struct netstate_endpoint_head *h)
{
	return h->lazy ? NULL : (struct netstate_endpoint *)(void *)h; /* the head is at offset 0 */
}

/* netstate_endpoint_at - record @i (< net->n_endpoints) of @net, decoded when it was lazy (as
 * netstate_find_endpoint decodes it). Owned by @net; valid until the record is removed or @net
 * freed. NULL only when out of memory (errno ENOMEM). */
struct netstate_endpoint *netstate_endpoint_at(struct netstate_network *net, size_t i);

/* netstate_find_endpoint - the endpoint with @epid in @net, or NULL; decoded when it was lazy.
 * A lazy record whose fields do not decode is returned with only its id, container_id and
 * ifname (every other field zero; netstate_encode then writes ours over its bytes as read).
 * Decoding allocates: NULL with errno ENOMEM when out of memory, with errno 0 when absent.
 * Owned by @net; valid until the record is removed or @net freed. */
struct netstate_endpoint *netstate_find_endpoint(struct netstate_network *net, const char *epid);

/* netstate_find_endpoint_by_owner - the endpoint whose container_id and ifname equal the given
 * ones, or NULL; decoded as netstate_find_endpoint decodes it. The Go-style endpoint ID
 * (cid[:8]-ifname) can be shared by two containers whose IDs start alike, so the owner, not the
 * ID, identifies a pod's record. NULL with errno ENOMEM as netstate_find_endpoint. */
struct netstate_endpoint *netstate_find_endpoint_by_owner(struct netstate_network *net,
							  const char *container_id,
							  const char *ifname);

/* netstate_extif_get - the external interface named @name, created empty if absent.
 * Returns it (owned by @st) or NULL on out of memory. Pointers to other external interfaces of
 * @st may move. */
struct netstate_extif *netstate_extif_get(struct netstate *st, const char *name);

/* netstate_network_add - append a copy of @net (its endpoints array is NOT copied: pass a
 * network with endpoints NULL) to @ext. Returns the stored network or NULL (out of memory,
 * or a network with that id already in @ext). Earlier network pointers of @ext may move. */
struct netstate_network *netstate_network_add(struct netstate_extif *ext,
					      const struct netstate_network *net);

/* netstate_endpoint_put - add a copy of @ep to @net, replacing an endpoint with the same id
 * (whose decoded source @ep takes when @ep's own is from another decode and both record the
 * same container, so its unknown keys are kept). @ep is not lazy. Returns 0 or -ENOMEM.
 * Earlier pointers to @net's records stay valid (a replaced record is overwritten in place). */
int netstate_endpoint_put(struct netstate_network *net, const struct netstate_endpoint *ep);

/* netstate_dns_set - *ret from a CNI dns: domain as Suffix, nameservers as Servers, options
 * as Options (those past NETSTATE_DNS_OPTIONS_MAX bytes in all are dropped); the search list is
 * not recorded (Go's DNSInfo has none). */
void netstate_dns_set(struct netstate_dns *ret, const struct cni_dns *dns);

/* netstate_dns_get - *ret (zeroed first) as a CNI dns from @d: Suffix as domain, Servers as
 * nameservers, Options as options; no search list. */
void netstate_dns_get(const struct netstate_dns *d, struct cni_dns *ret);

/* netstate_endpoint_netns - the netns path recorded for @ep: NetworkNameSpace / NetNs, else a
 * SandboxKey that is a path (our earlier files); "" when none. Points into @ep. */
const char *netstate_endpoint_netns(const struct netstate_endpoint *ep);

/* netstate_endpoint_remove - remove the endpoint with @epid (a pointer to it is then invalid).
 * Returns 1 if removed, 0 if absent. */
int netstate_endpoint_remove(struct netstate_network *net, const char *epid);

#endif
