/* SPDX-License-Identifier: MIT */
/* The azure-vnet-ipam operations, run in-process by both programs (the azure-vnet-ipam binary and
 * azure-vnet's built-in IPAM): same lock, same state file, same results. */
#ifndef AZCNI_IPAM_RUN_H
#define AZCNI_IPAM_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/cni.h"
#include "core/conf.h"
#include "core/error.h"
#include "core/ipam.h"
#include "platform/backend.h"

/* Each call: fetch the source (NMAgent or the mas file) outside any lock, then lock
 * PLATFORM_PATH_IPAM_LOCK, load PLATFORM_PATH_IPAM_STATE, refresh, change, save atomically, unlock.
 * A state file that does not decode (corrupt) is kept as "<file>.corrupt-<UTC>" and rebuilt under
 * the lock from the source and from what the node holds (cni/recover.h: azure-vnet.json's records
 * and what ipam_run_set_recovery's backend traces in the OS), logged at error level; when the
 * source cannot be read then, the call fails (code 11) and the file stays for the next call. */

/* ipam_run_set_recovery - the backend whose trace of the OS (backend_ops.attachments) a rebuild
 * keeps in use; set once by each program's main (NULL: the records alone). Static storage. */
void ipam_run_set_recovery(const struct backend_ops *ops);

/* ipam_run_add - allocate for (container_id, ifname) per conf->ipam, one address per family
 * the NIC has (ipam_allocate_owner with IPAM_FAMILY_ANY: IPv4 and IPv6 on a dual-stack NIC);
 * fill *ret with the IPAM result (ips IPv4 first, a default route per family, dns; no
 * interfaces). Errors: 11 source unreachable or lock timeout, 105 broken source, 101 exhausted
 * (any family with pools), 102 address in use, 7 bad ipam.subnet/ipAddress, 5 I/O. */
int ipam_run_add(const struct conf *conf, const char *container_id, const char *ifname,
		 struct cni_result *ret, struct cni_error *err);

/* ipam_run_add_owned - ipam_run_add for the address @families (enum ipam_family bits: what the
 * caller's data plane configures) that also tells whether the addresses are new to the owner:
 * *ret_fresh (may be NULL; written only on success) is true when the owner held none of them
 * before this call (a rollback may release them), false when an earlier ADD of the same owner
 * already held one (releasing it would take the address from a live attachment). A node with
 * no pool of the wanted families is code 101 with the IPAM source named in details. */
int ipam_run_add_owned(const struct conf *conf, const char *container_id, const char *ifname,
		       unsigned families, struct cni_result *ret, bool *ret_fresh,
		       struct cni_error *err);

/* ipam_run_del - release what (container_id, ifname) owns (only @addr when non-NULL).
 * Missing state, unknown owner or address: success. Does not contact the source. */
int ipam_run_del(const struct conf *conf, const char *container_id, const char *ifname,
		 const struct ipnet_addr *addr, struct cni_error *err);

/* ipam_run_release - ipam_run_del that also reports the addresses it released: at most @max
 * into @ret_released (caller's array) and their count in *ret_n (both may be NULL/0; written
 * only on success). Used by a DEL that has no other record of the pod's address. */
int ipam_run_release(const struct conf *conf, const char *container_id, const char *ifname,
		     const struct ipnet_addr *addr, struct ipnet_addr *ret_released, size_t max,
		     size_t *ret_n, struct cni_error *err);

/* ipam_run_owned - the addresses (at most @max into @ret_addrs, count in *ret_n) that
 * (container_id, ifname) holds, read under the IPAM lock; nothing changes. Missing state: 0
 * addresses. Does not contact the source. */
int ipam_run_owned(const struct conf *conf, const char *container_id, const char *ifname,
		   struct ipnet_addr *ret_addrs, size_t max, size_t *ret_n, struct cni_error *err);

/* ipam_run_gc - release every allocation not in @valid (@n entries) that @keep (may be NULL)
 * does not keep (ipam_gc; @keep runs under the IPAM lock, so it must not wait for anything
 * that waits for that lock). Does not contact the source. */
int ipam_run_gc(const struct conf *conf, const struct ipam_attachment *valid, size_t n,
		bool (*keep)(const struct ipam_addr *rec, void *arg), void *arg,
		struct cni_error *err);

/* ipam_run_status - 0 when an ADD can be served (refreshing from the source): each family
 * that has pools has a free address, else code 50 naming the family. */
int ipam_run_status(const struct conf *conf, struct cni_error *err);

/* ipam_run_status_families - ipam_run_status for the address @families (enum ipam_family
 * bits) only: what an ADD asking for those families needs. */
int ipam_run_status_families(const struct conf *conf, unsigned families, struct cni_error *err);

#endif
