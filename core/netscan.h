/* SPDX-License-Identifier: MIT */
/* A one-pass JSON checker for the state files (azure-vnet.json, netstate.h; azure-vnet-ipam.json,
 * ipamstate.h) that indexes the byte spans of their records (endpoints, address records), so
 * that a call decodes and re-encodes only the records it touches and copies every other
 * record's bytes verbatim. Which objects hold the records is the caller's struct netscan_layout.
 * Syntax is RFC 8259's (as Go's encoding/json reads it); portable, no allocation beyond its own
 * tables. A record shaped as one read before is checked against it (netscan.c); the result is
 * the same as reading it whole (test-netscan, fuzz-netscan). Used by netstate.c and
 * ipamstate.c. */
#ifndef AZCNI_NETSCAN_H
#define AZCNI_NETSCAN_H

#include <stddef.h>

#include <stdbool.h>

#define NETSCAN_FIELDS_MAX 5
#define NETSCAN_PATH_MAX 8

/* What netscan_run indexes: the objects ("maps") at @path, keys from the top-level object down
 * matched exactly as written (escapes as read; "*" = any key), whose members are the records
 * (netstate: {"Network", "ExternalInterfaces", "*", "Networks", "*", "Endpoints"}); of each
 * record, the members @fields, matched as cJSON_GetObjectItem matches keys (case-insensitively,
 * ASCII letters only, the first one wins). Static storage, the caller's. */
struct netscan_layout {
	const char *path[NETSCAN_PATH_MAX];
	size_t depth;                    /* entries of path, 1..NETSCAN_PATH_MAX */
	const char *fields[NETSCAN_FIELDS_MAX]; /* letters only */
	size_t n_fields;                 /* 0..NETSCAN_FIELDS_MAX */
	const char *what, *what_entry;   /* names in messages: "Endpoints", "Endpoints entry" */
	/* false: a value at @path other than an object or null, or a member of a map that is not
	 * an object, fails netscan_run. true: that map is left in the skeleton as it is (the
	 * caller's decoder judges it), and a string there that begins with NETSCAN_MARK's escaped
	 * form is replaced by NETSCAN_MARK "-", which names no map. */
	bool lenient;
	/* true: bytes after the top-level value are not looked at and not in the skeleton (as
	 * cJSON_ParseWithLengthOpts without require_null_terminated reads a text) */
	bool trailing;
};

enum netscan_type {
	NETSCAN_ABSENT = 0,
	NETSCAN_STRING,  /* off/len: the text between the quotes, escapes as read */
	NETSCAN_NULL,
	NETSCAN_TRUE,
	NETSCAN_FALSE,
	NETSCAN_OTHER,   /* a number, object or array */
};

struct netscan_field {
	size_t off, len;
	enum netscan_type type;
};

/* One member of a map: its key (between the quotes, escapes as read) and its value, an object,
 * as bytes of the text; f[i] is the layout's fields[i]. escaped_key: one of the record's own
 * member keys has an escape, so it may be a field the fast compare did not see (read the
 * record with a JSON parser then). */
struct netscan_record {
	size_t key_off, key_len;
	size_t off, len;
	struct netscan_field f[NETSCAN_FIELDS_MAX];
	bool escaped_key;
};

/* One map (an object at the layout's path), its records in the text's order; the object is
 * bytes off..off+len of the text, its marker bytes skel_off..skel_off+skel_len of the
 * skeleton. */
struct netscan_map {
	struct netscan_record *recs; /* owned */
	size_t n, cap;
	size_t off, len, skel_off, skel_len;
};

/* The result: @skel is the text with each map replaced by the JSON string NETSCAN_MARK
 * followed by its map index in decimal ("\u0001azcni-endpoints:<k>"). */
#define NETSCAN_MARK "\001azcni-endpoints:"
struct netscan {
	char *skel;                  /* owned, NUL-terminated */
	size_t skel_len;
	struct netscan_map *maps;    /* owned */
	size_t n_maps;
};

/* Zero bytes that must follow the text given to netscan_run (it reads 16-byte blocks past a
 * string's or a record's end and stops at the first NUL). */
#define NETSCAN_PAD 16

/* netscan_run - check that @text (@len bytes, then NETSCAN_PAD zero bytes) is one JSON value
 * (whitespace around allowed), index the records of the maps @lo names into *ret (zeroed
 * first) and build the skeleton. Unless @lo->lenient, a value at the path that is not an
 * object or null, or a member of a map that is not an object, is refused too. Returns 0
 * (caller netscan_free), -EINVAL with *field and *why static phrases ("content", "is not valid
 * JSON"; lo->what or lo->what_entry, "is not an object"; ...) and the text offset where the
 * scan stopped in *at (may be NULL), or -ENOMEM. */
int netscan_run(const struct netscan_layout *lo, const char *text, size_t len,
		struct netscan *ret, const char **field, const char **why, size_t *at);

/* netscan_text_offset - the text offset of skeleton offset @skel_off of @s (outside every
 * marker; inside one, the map's start). For messages about the skeleton. */
size_t netscan_text_offset(const struct netscan *s, size_t skel_off);

/* netscan_free - free every part and zero *s; safe on a zeroed one. */
void netscan_free(struct netscan *s);

/* netscan_unescape - the JSON string body @s (@len bytes, escapes as in the text, checked by
 * netscan_run) decoded to UTF-8 into @buf of @size bytes, NUL-terminated. Returns the length,
 * or -ENOSPC when it does not fit (or holds a NUL). */
int netscan_unescape(const char *s, size_t len, char *buf, size_t size);

#endif
