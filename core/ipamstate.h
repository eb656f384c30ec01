/* SPDX-License-Identifier: MIT */
/* The IPAM state document (/var/run/azure-vnet-ipam.json, C:\k\azure-vnet-ipam.json) in the Go
 * plugin's layout, so a node can switch between the two plugins either way; the network state
 * file's counterpart is netstate.h. This module converts between text and the ipam.h model, and
 * holds the RFC 3339 times the document carries; reading, locking and atomic replacement of the
 * file are the platform's job (platform.h).
 * Source: ACN store/json.go, ipam/manager.go, ipam/pool.go (see README "State files"). */
#ifndef AZCNI_IPAMSTATE_H
#define AZCNI_IPAMSTATE_H

#include <stddef.h>

#include "error.h"
#include "ipam.h"

/* ipamstate_records_layout - what netscan indexes in this file (core/netscan.h): the "local"
 * space's address records and of each ID, Addr, InUse, IfName, Unhealthy (lenient, trailing
 * bytes not looked at); the tests' reference scanner runs the same layout. */
struct netscan_layout;
extern const struct netscan_layout ipamstate_records_layout;

/* ipamstate_decode - parse azure-vnet-ipam.json text (@len bytes) into *ret:
 * {"IPAM":{"Version","TimeStamp","AddressSpaces":{"local":{"Id","Scope","Pools":{"<cidr>":
 * {"Id","IfName","Subnet","Gateway","Addresses":{"<ip>":{"ID","Addr","InUse"}},"IsIPv6",
 * "Priority","RefCount"}}}}}}. Subnet is {"IP":"a.b.c.d","Mask":"<base64>"} as Go net.IPNet
 * marshals it. 0 bytes (or only whitespace) = empty store. Anything else unparsable: code 6
 * naming @path (used only in the message). The text is checked as RFC 8259 JSON (as Go reads
 * it; bytes after the top-level value are not looked at, as cJSON did not) and the address
 * records of the local pools are read from their bytes (core/netscan.h), not through a parse
 * tree: *ret keeps a copy of the text, and each record's src its bytes there. Returns 0
 * (caller ipam_space_free), -EINVAL, or -ENOMEM (code 100). */
int ipamstate_decode(const char *text, size_t len, const char *path, struct ipam_space *ret,
		     struct cni_error *err);

/* ipamstate_decode_view - ipamstate_decode of @text (@len bytes, then NETSCAN_PAD zero bytes;
 * read-only: nothing is written to it), which stays @owner's: the space keeps @text without a
 * copy and calls @release(@owner) when it is freed; whatever it returns, @owner is taken (on
 * failure released before the return). For a file's mapped view (cni/ipam-run.c). Same returns. */
int ipamstate_decode_view(const char *text, size_t len, const char *path,
			  void (*release)(void *owner), void *owner, struct ipam_space *ret,
			  struct cni_error *err);

/* ipamstate_encode - the text of the IPAM state (tab-indented as Go's store), with @timestamp
 * (RFC 3339, e.g. "2026-11-29T08:49:31Z") in TimeStamp. An address record that still holds
 * what its bytes in the decoded text say (struct ipam_addr_src) is written as those bytes (so
 * a record the Go plugin wrote stays as it wrote it, unknown keys included); every other one
 * from its fields. Records are written in the byte order of their keys, as Go writes a map.
 * Returns malloc'd text (caller frees) or NULL on out of memory. */
char *ipamstate_encode(const struct ipam_space *sp, const char *timestamp);

/* ipamstate_rfc3339_parse - an RFC 3339 date-time ("2026-11-29T08:49:31Z", fractional seconds
 * and a "+hh:mm"/"-hh:mm" offset allowed) as Unix seconds (UTC) into *ret. Returns 0 or -EINVAL. */
int ipamstate_rfc3339_parse(const char *s, long long *ret);

/* ipamstate_rfc3339_format - Unix seconds @t as "YYYY-MM-DDTHH:MM:SSZ" (UTC, 20 characters + NUL)
 * into @buf of @size bytes. Returns 0, -EINVAL outside years 1..9999, -ENOSPC if @size is short. */
int ipamstate_rfc3339_format(long long t, char *buf, size_t size);

#endif
