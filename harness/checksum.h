/* checksum.h: the self-check carried by the JSON files darkfold reads back
 * (unit result files): the top-level object's last key is "checksum", the
 * SHA-256 of every byte of the file before the ",\n  \"checksum\"" that
 * introduces it. A file whose checksum is missing or wrong was cut short or
 * edited, and is never read as valid. */
#ifndef DARKFOLD_CHECKSUM_H
#define DARKFOLD_CHECKSUM_H

#include "json.h"

#include <stddef.h>

/* Append the "checksum" key to w's top-level object (call it last, before
 * the final jw_obj_end; the object must already hold a key). */
void checksum_append(struct jw *w);

/* 0 if text (len bytes, a whole file) carries a valid checksum as its last
 * key, else -1 with "error: '<name>': ..." saying what is wrong. */
int checksum_verify(const char *text, size_t len, const char *name);

/* Read path, verify its checksum and parse it. Returns the document (free
 * with json_free) or NULL with a message naming the file. */
struct json *checksum_parse_file(const char *path);

#endif
