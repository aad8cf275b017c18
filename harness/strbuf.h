/* strbuf.h: one growable byte buffer for building text (tables, JSON,
 * figure data, gnuplot headers) in memory before it is written out whole.
 *
 * The bytes are buf[0 .. len); after any append buf[len] is '\0', so buf is
 * a C string when no '\0' was appended. A zeroed struct (STRBUF_INIT) is an
 * empty buffer that owns nothing. Appending never fails: out of memory
 * aborts with file and line (xrealloc). */
#ifndef DARKFOLD_STRBUF_H
#define DARKFOLD_STRBUF_H

#include "error.h"

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;  /* owned; NULL until the first append */
	size_t len; /* bytes in use, the terminating '\0' not counted */
	size_t cap; /* bytes allocated */
};

#define STRBUF_INIT { NULL, 0, 0 }

/* An empty buffer owning nothing. */
void strbuf_init(struct strbuf *b);

/* Frees the bytes and leaves an empty buffer; b may be NULL. */
void strbuf_release(struct strbuf *b);

/* Empties the buffer and keeps its allocation for reuse. */
void strbuf_reset(struct strbuf *b);

/* Appends n bytes of data (which may hold '\0'). */
void strbuf_add(struct strbuf *b, const void *data, size_t n);

/* Appends the string s, or the character c. */
void strbuf_puts(struct strbuf *b, const char *s);
void strbuf_putc(struct strbuf *b, char c);

/* Appends printf-formatted text. */
void strbuf_printf(struct strbuf *b, const char *fmt, ...) DF_PRINTF(2, 3);
void strbuf_vprintf(struct strbuf *b, const char *fmt, va_list ap) DF_PRINTF(2, 0);

/* The text, borrowed: "" for an empty buffer, never NULL. Valid until the
 * next append, reset or release. */
const char *strbuf_str(const struct strbuf *b);

/* Bytes in use. */
size_t strbuf_len(const struct strbuf *b);

/* Writes the bytes to path atomically (fs_write_atomic): the file holds all
 * of them or is left as it was. Returns 0, or -1 with a message naming
 * path. */
int strbuf_write_file(const struct strbuf *b, const char *path);

#endif
