/* json.c: cJSON behind our own accessors, and the JSON writer. */
#include "json.h"

#include "error.h"
#include "fsutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define C(j) ((const cJSON *)(const void *)(j))

struct json *json_parse(const char *text, const char *name)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
	if (!root) {
		int line = 1, col = 1;
		if (!end)
			end = text + strlen(text);
		for (const char *p = text; p < end && *p; p++) {
			if (*p == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		error("'%s': line %d, column %d: invalid JSON", name, line, col);
		return NULL;
	}
	return (struct json *)(void *)root;
}

struct json *json_parse_file(const char *path)
{
	char *text;
	if (fs_read_file(path, &text, NULL) != 0)
		return NULL;
	struct json *j = json_parse(text, path);
	free(text);
	return j;
}

void json_free(struct json *root)
{
	cJSON_Delete((cJSON *)(void *)root);
}

enum json_type json_type(const struct json *j)
{
	const cJSON *c = C(j);
	if (!c)
		return JSON_INVALID;
	if (cJSON_IsNull(c))
		return JSON_NULL;
	if (cJSON_IsBool(c))
		return JSON_BOOL;
	if (cJSON_IsNumber(c))
		return JSON_NUMBER;
	if (cJSON_IsString(c))
		return JSON_STRING;
	if (cJSON_IsArray(c))
		return JSON_ARRAY;
	if (cJSON_IsObject(c))
		return JSON_OBJECT;
	return JSON_INVALID;
}

const char *json_type_name(enum json_type t)
{
	static const char *names[] = { "nothing", "null", "a boolean", "a number",
				       "a string", "an array", "an object" };
	return names[t];
}

const struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || !cJSON_IsObject(C(obj)))
		return NULL;
	return (const struct json *)(const void *)cJSON_GetObjectItemCaseSensitive(C(obj), key);
}

int json_size(const struct json *j)
{
	if (!j || !(cJSON_IsArray(C(j)) || cJSON_IsObject(C(j))))
		return 0;
	return cJSON_GetArraySize(C(j));
}

const struct json *json_at(const struct json *j, int i)
{
	if (!j || !(cJSON_IsArray(C(j)) || cJSON_IsObject(C(j))) || i < 0)
		return NULL;
	return (const struct json *)(const void *)cJSON_GetArrayItem(C(j), i);
}

const char *json_key(const struct json *member)
{
	return member ? C(member)->string : NULL;
}

double json_number(const struct json *j)
{
	return j && cJSON_IsNumber(C(j)) ? C(j)->valuedouble : NAN;
}

const char *json_string(const struct json *j)
{
	return j && cJSON_IsString(C(j)) ? C(j)->valuestring : NULL;
}

int json_bool(const struct json *j)
{
	if (!j || !cJSON_IsBool(C(j)))
		return -1;
	return cJSON_IsTrue(C(j)) ? 1 : 0;
}

const char *json_library_version(void)
{
	return cJSON_Version();
}

/* ---- writer ---- */

static void put(struct jw *w, const char *s, size_t n)
{
	strbuf_add(&w->out, s, n);
}

static void puts_(struct jw *w, const char *s)
{
	put(w, s, strlen(s));
}

static void newline(struct jw *w)
{
	put(w, "\n", 1);
	for (int i = 0; i < w->depth; i++)
		put(w, "  ", 2);
}

/* Separator before a value or key at the current depth. */
static void before_item(struct jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (w->depth > 0) {
		if (!w->first)
			put(w, ",", 1);
		newline(w);
	}
	w->first = 0;
}

void jw_init(struct jw *w)
{
	memset(w, 0, sizeof *w);
	w->first = 1;
}

void jw_release(struct jw *w)
{
	strbuf_release(&w->out);
	memset(w, 0, sizeof *w);
}

static void open_(struct jw *w, const char *c)
{
	before_item(w);
	puts_(w, c);
	w->depth++;
	w->first = 1;
}

static void close_(struct jw *w, const char *c)
{
	w->depth--;
	if (!w->first)
		newline(w);
	puts_(w, c);
	w->first = 0;
}

void jw_obj_begin(struct jw *w) { open_(w, "{"); }
void jw_obj_end(struct jw *w) { close_(w, "}"); }
void jw_arr_begin(struct jw *w) { open_(w, "["); }
void jw_arr_end(struct jw *w) { close_(w, "]"); }

static void quoted(struct jw *w, const char *s)
{
	put(w, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[8];
		switch (*p) {
		case '"': puts_(w, "\\\""); break;
		case '\\': puts_(w, "\\\\"); break;
		case '\n': puts_(w, "\\n"); break;
		case '\r': puts_(w, "\\r"); break;
		case '\t': puts_(w, "\\t"); break;
		default:
			if (*p < 0x20) {
				snprintf(esc, sizeof esc, "\\u%04x", *p);
				puts_(w, esc);
			} else {
				put(w, (const char *)p, 1);
			}
		}
	}
	put(w, "\"", 1);
}

void jw_key(struct jw *w, const char *key)
{
	before_item(w);
	quoted(w, key);
	put(w, ": ", 2);
	w->after_key = 1;
}

void jw_str(struct jw *w, const char *s)
{
	before_item(w);
	if (s)
		quoted(w, s);
	else
		puts_(w, "null");
}

void jw_num(struct jw *w, double v)
{
	before_item(w);
	if (!isfinite(v)) {
		puts_(w, "null");
		return;
	}
	char b[40];
	if (v == 0)
		v = 0; /* no "-0" */
	snprintf(b, sizeof b, "%.17g", v);
	puts_(w, b);
}

void jw_int(struct jw *w, long long v)
{
	before_item(w);
	char b[32];
	snprintf(b, sizeof b, "%lld", v);
	puts_(w, b);
}

void jw_bool(struct jw *w, int v)
{
	before_item(w);
	puts_(w, v ? "true" : "false");
}

void jw_null(struct jw *w)
{
	before_item(w);
	puts_(w, "null");
}

void jw_kstr(struct jw *w, const char *key, const char *s) { jw_key(w, key); jw_str(w, s); }
void jw_knum(struct jw *w, const char *key, double v) { jw_key(w, key); jw_num(w, v); }
void jw_kint(struct jw *w, const char *key, long long v) { jw_key(w, key); jw_int(w, v); }
void jw_kbool(struct jw *w, const char *key, int v) { jw_key(w, key); jw_bool(w, v); }

int jw_write_file(struct jw *w, const char *path)
{
	put(w, "\n", 1);
	return strbuf_write_file(&w->out, path);
}
