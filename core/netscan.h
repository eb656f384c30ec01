/* SPDX-License-Identifier: MIT */
/* A one-pass JSON checker for azure-vnet.json (netstate.h layout) that indexes the byte spans of
 * its endpoint records, so that netstate decodes and re-encodes only the records a call touches
 * and copies every other record's bytes verbatim. Syntax is RFC 8259's (as Go's encoding/json
 * reads it); portable, no allocation beyond its own tables. Used by netstate.c only. */
#ifndef AZCNI_NETSCAN_H
#define AZCNI_NETSCAN_H

#include <stddef.h>

/* The record members captured for a lazy record (netstate: "Id", "ContainerID", "IfName"),
 * matched as cJSON_GetObjectItem matches keys (case-insensitively, the first one wins). */
#define NETSCAN_FIELDS 3
extern const char *const netscan_field_names[NETSCAN_FIELDS];

enum netscan_type {
	NETSCAN_ABSENT = 0,
	NETSCAN_STRING,  /* off/len: the text between the quotes, escapes as read */
	NETSCAN_NULL,
	NETSCAN_OTHER,   /* a number, boolean, object or array */
};

struct netscan_field {
	size_t off, len;
	enum netscan_type type;
};

/* One member of an Endpoints object: its key (between the quotes, escapes as read) and its
 * value, an object, as bytes of the text. */
struct netscan_record {
	size_t key_off, key_len;
	size_t off, len;
	struct netscan_field f[NETSCAN_FIELDS];
};

/* One Endpoints object (at Network.ExternalInterfaces.<x>.Networks.<n>.Endpoints, keys as Go
 * writes them, exact case), its records in the text's order. */
struct netscan_map {
	struct netscan_record *recs; /* owned */
	size_t n, cap;
};

/* The result: @skel is the text with each indexed Endpoints object replaced by the JSON string
 * NETSCAN_MARK followed by its map index in decimal ("\u0001azcni-endpoints:<k>"). */
#define NETSCAN_MARK "\001azcni-endpoints:"
struct netscan {
	char *skel;                  /* owned, NUL-terminated */
	size_t skel_len;
	struct netscan_map *maps;    /* owned */
	size_t n_maps;
};

/* Zero bytes that must follow the text given to netscan_run (it reads words past a string's
 * end and stops at the first NUL). */
#define NETSCAN_PAD 16

/* netscan_run - check that @text (@len bytes, then NETSCAN_PAD zero bytes) is one JSON value
 * (whitespace around allowed), index its Endpoints objects' records into *ret (zeroed first)
 * and build the skeleton. An Endpoints value there that is not an object or null, or a member
 * of one that is not an object, is refused too (netstate would refuse it). Returns 0 (caller
 * netscan_free), -EINVAL with *field and *why static phrases ("content", "is not valid JSON";
 * "Endpoints", "is not an object"; ...), or -ENOMEM. */
int netscan_run(const char *text, size_t len, struct netscan *ret, const char **field,
		const char **why);

/* netscan_free - free every part and zero *s; safe on a zeroed one. */
void netscan_free(struct netscan *s);

/* netscan_unescape - the JSON string body @s (@len bytes, escapes as in the text, checked by
 * netscan_run) decoded to UTF-8 into @buf of @size bytes, NUL-terminated. Returns the length,
 * or -ENOSPC when it does not fit (or holds a NUL). */
int netscan_unescape(const char *s, size_t len, char *buf, size_t size);

#endif
