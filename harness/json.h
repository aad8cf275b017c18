/* json.h: the only door to cJSON (reading) and a deterministic JSON writer.
 *
 * Reading: a parsed document is a tree of opaque `struct json` nodes owned by
 * the root; free the root with json_free(). Accessors take NULL and return
 * the "absent" answer (NULL, 0, NAN), so chains like
 * json_get(json_get(root, "cv"), "k") are safe.
 *
 * Writing: struct jw builds text in memory with stable formatting (two-space
 * indent, keys in call order) so that equal data gives equal bytes. Doubles are
 * written with %.17g so they read back exactly; NaN and Inf become null. */
#ifndef DARKFOLD_JSON_H
#define DARKFOLD_JSON_H

#include "strbuf.h"

#include <stddef.h>

struct json;

enum json_type { JSON_INVALID, JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

/* Parse a file. On a syntax error prints
 * "error: '<path>': line L, column C: invalid JSON" and returns NULL. */
struct json *json_parse_file(const char *path);
/* Parse text; name is used in messages. */
struct json *json_parse(const char *text, const char *name);
void json_free(struct json *root);

enum json_type json_type(const struct json *j);
const char *json_type_name(enum json_type t);
/* Object member by key (case-sensitive), or NULL. */
const struct json *json_get(const struct json *obj, const char *key);
/* Number of elements of an array or members of an object; 0 otherwise. */
int json_size(const struct json *j);
/* i-th element of an array or member of an object, or NULL. */
const struct json *json_at(const struct json *j, int i);
/* Key of an object member (from json_at on an object), or NULL. */
const char *json_key(const struct json *member);
double json_number(const struct json *j);      /* NAN unless a number */
const char *json_string(const struct json *j); /* NULL unless a string */
int json_bool(const struct json *j);           /* 1 true, 0 false, -1 other */

/* The linked cJSON version, e.g. "1.7.15". */
const char *json_library_version(void);

struct jw {
	union {
		struct strbuf out; /* the text written so far, owned */
		struct {           /* the same text, to read: buf[0 .. len) */
			char *buf;
			size_t len;
		};
	};
	int depth;
	int first;     /* nothing written yet at the current depth */
	int after_key; /* a key was just written */
};

void jw_init(struct jw *w);
void jw_release(struct jw *w);
void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s); /* NULL writes null */
void jw_num(struct jw *w, double v);      /* non-finite writes null */
void jw_int(struct jw *w, long long v);
void jw_bool(struct jw *w, int v);
void jw_null(struct jw *w);
/* Convenience: key followed by a value. */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_knum(struct jw *w, const char *key, double v);
void jw_kint(struct jw *w, const char *key, long long v);
void jw_kbool(struct jw *w, const char *key, int v);
/* Finish (adds a final newline) and write atomically to path. */
int jw_write_file(struct jw *w, const char *path);

#endif
