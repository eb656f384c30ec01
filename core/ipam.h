/* SPDX-License-Identifier: MIT */
/* IPAM: the VM NIC's secondary IPs as pools of addresses, allocation keyed by owner
 * (container ID + ifname), release, GC, and the merge of a refreshed source into the pools.
 * Also parses the two sources: the NMAgent interface-info XML (wireserver
 * getinterfaceinfov1) and the interfaces.json file ("mas").
 * Model and rules: ACN ipam/pool.go, ipam/azure.go, ipam/fileIpam.go (see README "IPAM"). */
#ifndef AZCNI_IPAM_H
#define AZCNI_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cni.h"
#include "error.h"
#include "ipnet.h"

/* ---- source documents ---- */
struct ipam_source_subnet {
	struct ipnet_prefix prefix;
	struct ipnet_addr *addrs;          /* secondary (non-primary) addresses, heap */
	size_t n_addrs;
	struct ipnet_addr primary;         /* the NIC's primary IP in this subnet, family 0 = none */
};

struct ipam_source_iface {
	char mac[13];                      /* 12 upper-case hex digits, no separators; or "*",
	                                    * the Go plugin's wildcard (any interface) */
	char ifname[CNI_IFNAME_MAX];       /* host interface with that MAC, "" = unknown. The parsers
	                                    * leave it empty; the caller may fill it (platform lookup
	                                    * by MAC) before ipam_space_refresh, which then records it
	                                    * as the pool's IfName ("eth0", as the Go plugin does)
	                                    * instead of the MAC. */
	bool is_primary;
	struct ipam_source_subnet *subnets; /* heap */
	size_t n_subnets;
};

struct ipam_source {
	struct ipam_source_iface *ifaces;  /* heap */
	size_t n_ifaces;
};

/* ipam_source_parse_nmagent - parse the NMAgent interface-info XML (@len bytes):
 * <Interfaces><Interface MacAddress IsPrimary><IPSubnet Prefix><IPAddress Address IsPrimary/>.
 * MacAddress is "*" or a MAC as mac_parse (mac.h) takes it: "000D3A6E1825", "00:0d:3a:6e:18:25"
 * or "00-0D-3A-6E-18-25", any case. Truncated or malformed XML, a wrong root element, a DOCTYPE,
 * a bad MacAddress, IsPrimary, Prefix or Address, or an Address outside its Prefix: code 105
 * (CNI_CODE_SOURCE) naming what is wrong and where (line; expat's own message for malformed
 * XML). An IPv6 Prefix longer than /64 (Azure's IPv6 subnets are /64s), or a Prefix that is no
 * unicast VNet range (IPv6: overlapping ::/8, fe80::/10, ff00::/8; IPv4: 0.0.0.0/8,
 * 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/3) is code 105 too; IPv6
 * subnets and addresses are otherwise read as IPv4 ones are (dual-stack NICs list both).
 * Unknown elements and attributes are ignored, as Go's encoding/xml does; duplicate addresses
 * are merged. Primary addresses are recorded in .primary, never in .addrs.
 * Returns 0 (caller calls ipam_source_free), -EINVAL, or -ENOMEM (code 100 "out of memory")
 * when an allocation failed, expat's or cJSON's included: never read as a broken document. */
int ipam_source_parse_nmagent(const char *xml, size_t len, struct ipam_source *ret, struct cni_error *err);

/* ipam_source_parse_mas - parse interfaces.json ({"Interfaces":[{"MacAddress","IsPrimary",
 * "IPSubnets":[{"Prefix","IPAddresses":[{"Address","IsPrimary"}]}]}]}); same rules and errors. */
int ipam_source_parse_mas(const char *json, size_t len, struct ipam_source *ret, struct cni_error *err);

/* ipam_source_parse_mas_tree - ipam_source_parse_mas through a cJSON tree of the whole
 * document. ipam_source_parse_mas reads the node agent's documents (strict JSON, no escapes)
 * in one pass without a tree and hands every other one to this reader; the two must give the
 * same source (test-nmagent and fuzz-mas compare them). Same returns. */
int ipam_source_parse_mas_tree(const char *json, size_t len, struct ipam_source *ret,
			       struct cni_error *err);

/* ipam_source_free - free the heap parts; safe on a zeroed source. */
void ipam_source_free(struct ipam_source *src);

/* ---- pools (the state model, persisted by ipamstate.h in the Go layout) ---- */
#define IPAM_OWNER_MAX 256

/* Where an address record came from in the state text ipamstate_decode read (ipamstate.c's
 * business): a save copies its bytes verbatim while the record still holds what they say.
 * raw NULL = none (a new record, or one the save writes from its fields); the other members
 * are then undefined. Pointers are into the decoding space's text (struct ipam_space). */
struct ipam_addr_src {
	const char *raw;                   /* the record object's bytes (raw_len) */
	const char *key;                   /* its member key, the address's text (key_len) */
	const char *id, *ifname;           /* ID and IfName as read ("" when absent), no escapes */
	uint32_t raw_len, pos;             /* pos: its place among its pool's records there */
	uint16_t key_len, id_len, ifname_len;
	bool in_use, unhealthy;            /* InUse and Unhealthy as read */
};

struct ipam_addr {
	struct ipnet_addr addr;
	char id[IPAM_OWNER_MAX];           /* owner container ID ("" = never owned); Go "ID" */
	char ifname[CNI_IFNAME_MAX];       /* owner ifname (ours, "IfName"; "" from the Go plugin) */
	bool in_use;
	bool unhealthy;                    /* vanished from the source while in use */
	struct ipam_addr_src src;          /* set by ipamstate_decode; new records: src.raw NULL */
};

struct ipam_pool {
	char id[IPNET_PREFIX_STRLEN];      /* = subnet CIDR text */
	char ifname[CNI_IFNAME_MAX + 32];  /* interface (MAC) the pool came from */
	struct ipnet_prefix subnet;
	struct ipnet_addr gateway;         /* first host of the subnet */
	struct ipnet_addr primary;         /* the NIC's primary IP (never handed out), family 0 = unknown */
	bool is_ipv6;
	int priority;                      /* 1 for non-primary NICs */
	int refcount;                      /* = in-use addresses (Go counts pool requests; to
	                                    * both plugins > 0 means the pool is in use) */
	struct ipam_addr *addrs;           /* heap, sorted by address */
	size_t n_addrs;
};

struct ipam_space {
	char id[32];                       /* "local" */
	int scope;
	struct ipam_pool *pools;           /* heap */
	size_t n_pools;
	long long last_refresh;            /* Unix seconds of the last successful source refresh
	                                    * that was saved (ours, "LastRefresh"; the callers set
	                                    * it), 0 = unknown: throttles source fetches across
	                                    * processes (ipam.queryInterval) */
	void *doc;                         /* the cJSON tree ipamstate_decode read, owned (NULL =
	                                    * none): the keys and address spaces we do not model
	                                    * are written back from it. Its local pools' Addresses
	                                    * are markers (core/netscan.h): the records are text */
	char *text;                        /* the text ipamstate_decode read, owned (NULL = none):
	                                    * what the records' src point into */
	size_t text_len;
	void (*text_release)(void *owner); /* NULL: text is malloc'd (free); else text is
	                                    * text_owner's bytes, released with this
	                                    * (ipamstate_decode_view) */
	void *text_owner;
};

/* ipam_space_free - free pools, addresses and the decoded document; safe on a zeroed space. */
void ipam_space_free(struct ipam_space *sp);

/* ipam_space_refresh - merge a fresh @src into @sp: new pools and addresses are added;
 * vanished free addresses dropped; vanished in-use ones kept and marked unhealthy (dropped on
 * release); empty unused pools removed. Never changes an in-use record's owner. A pool's IfName
 * is the source interface's ifname if set, else its MAC; Priority is 1 for non-primary NICs.
 * An address that became the pool's primary counts as vanished (never handed out again).
 * Returns 0 or -ENOMEM (code 100; @sp is then half-merged and must be discarded, not saved). */
int ipam_space_refresh(struct ipam_space *sp, const struct ipam_source *src, struct cni_error *err);

/* Address families a request wants (bits of ipam_request.families). */
enum ipam_family {
	IPAM_FAMILY_V4 = 1 << 0,
	IPAM_FAMILY_V6 = 1 << 1,
	IPAM_FAMILY_ANY = IPAM_FAMILY_V4 | IPAM_FAMILY_V6,
};

/* At most one address per family per owner: IPv4 and IPv6. */
#define IPAM_MAX_FAMILIES 2

/* An allocation request. */
struct ipam_request {
	const char *container_id;          /* owner; required */
	const char *ifname;                /* owner; may be "" */
	const char *subnet;                /* pool ID or "" to pick */
	const char *ip_address;            /* a specific address or "" */
	bool ipv6;                         /* ipam_allocate: family wanted when neither subnet
					    * nor ip_address names one */
	unsigned families;                 /* ipam_allocate_owner: enum ipam_family bits the
					    * caller can use, 0 = both */
};

/* ipam_allocate - the address for the owner: an existing record of the same owner is returned
 * again (idempotent); else the requested ip_address (code 102 when held by another owner,
 * code 7 when not in the pool or one of the reserved below); else the lowest free address.
 * Never newly handed out: the pool's primary IP, its subnet's network address and (IPv4, prefix
 * up to /30) broadcast address, even when the source lists them; a record of one that the Go
 * plugin handed out is still returned to its owner and released as any other.
 * No free address: code 101 "no available addresses in pool <id>".
 * On success writes the pool and address indexes to *ret_pool, *ret_addr.
 * Returns 0, or -ENOENT (unknown subnet, code 7), -ENOSPC (exhausted), -EBUSY (in use). */
int ipam_allocate(struct ipam_space *sp, const struct ipam_request *req,
		  size_t *ret_pool, size_t *ret_addr, struct cni_error *err);

/* One address of an owner's allocation: indexes into the space (valid until it changes) and
 * whether the owner held that address before the call. */
struct ipam_alloc {
	size_t pool;
	size_t addr;
	bool held;
};

/* ipam_allocate_owner - the owner's addresses, one per family (dual-stack), as ipam_allocate
 * takes each:
 * - req->ip_address or req->subnet given: that one address, of their family, which must be one
 *   of req->families (else code 7 naming the field); both given must be of one family (code 7
 *   naming both). IPv6: ipam.subnet longer than /64 is code 7 (Azure subnets are /64).
 * - else one address of each family of req->families that has a pool on this node, IPv4
 *   first: both when the NIC has both, IPv6 only when it has only IPv6 pools. A family that
 *   has pools but no free address fails the whole request (code 101 naming the pool).
 *   No pool of any wanted family: -EAFNOSUPPORT, code 101 naming the families.
 * Never hands out what ipam_allocate never does (primary, network address, which for IPv6 is
 * the subnet-router anycast address, IPv4 broadcast).
 * Writes up to IPAM_MAX_FAMILIES entries to @ret (IPv4 before IPv6) and returns their count
 * (1 or 2), or a negative errno as ipam_allocate; on failure @sp is as it was before the call. */
int ipam_allocate_owner(struct ipam_space *sp, const struct ipam_request *req,
			struct ipam_alloc ret[IPAM_MAX_FAMILIES], struct cni_error *err);

/* ipam_release - release every address owned by (container_id, ifname); a record with an
 * empty ifname (written by the Go plugin) matches any ifname. When @addr is non-NULL only that
 * address is released, and only if owned by the owner. Unknown owners or addresses are not an
 * error. Returns the number of addresses released (>= 0). */
int ipam_release(struct ipam_space *sp, const char *container_id, const char *ifname,
		 const struct ipnet_addr *addr);

/* An attachment that GC must keep (CNI 1.1.0 cni.dev/valid-attachments entry). */
struct ipam_attachment {
	const char *container_id;
	const char *ifname;
};

/* ipam_gc - release every in-use address whose owner is not in @valid (@n entries) unless
 * @keep (may be NULL) says to keep it: @keep(@rec, @arg) is asked once per such in-use record
 * (e.g. "a call of that owner is running"). Returns the number released. */
int ipam_gc(struct ipam_space *sp, const struct ipam_attachment *valid, size_t n,
	    bool (*keep)(const struct ipam_addr *rec, void *arg), void *arg);

/* ipam_free_count - number of free, healthy addresses across pools that ipam_allocate would
 * hand out (STATUS). */
size_t ipam_free_count(const struct ipam_space *sp);

/* ipam_pool_free_count - ipam_free_count of one pool. */
size_t ipam_pool_free_count(const struct ipam_pool *pool);

/* ipam_free_count_family - ipam_free_count over the pools of @family (IPNET_AF_INET or
 * IPNET_AF_INET6) only; 0 = every pool. */
size_t ipam_free_count_family(const struct ipam_space *sp, int family);

/* ipam_has_family - true when @sp has a pool of @family (IPNET_AF_INET or IPNET_AF_INET6). */
bool ipam_has_family(const struct ipam_space *sp, int family);

/* ipam_result_fill - the IPAM result for pool @pool, address @addr: ips[{address/len, gateway}],
 * routes [{0.0.0.0/0 (or ::/0) via gateway}], dns.nameservers ["168.63.129.16"], no interfaces. */
void ipam_result_fill(const struct ipam_space *sp, size_t pool, size_t addr, struct cni_result *ret);

/* ipam_result_fill_allocs - the IPAM result of an owner's @n allocations (ipam_allocate_owner):
 * ips in the order of @allocs, each with its pool's gateway; a default route per family
 * (0.0.0.0/0, ::/0) via that family's gateway; dns.nameservers ["168.63.129.16"]. */
void ipam_result_fill_allocs(const struct ipam_space *sp, const struct ipam_alloc *allocs,
			     size_t n, struct cni_result *ret);

#endif
