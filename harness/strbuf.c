/* strbuf.c: the growable byte buffer. */
#include "strbuf.h"

#include "fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *b)
{
	memset(b, 0, sizeof *b);
}

void strbuf_release(struct strbuf *b)
{
	if (!b)
		return;
	free(b->buf);
	strbuf_init(b);
}

void strbuf_reset(struct strbuf *b)
{
	b->len = 0;
	if (b->buf)
		b->buf[0] = '\0';
}

/* Room for n more bytes and the terminating '\0'. */
static void grow(struct strbuf *b, size_t n)
{
	if (b->len + n + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (b->len + n + 1 > cap)
		cap *= 2;
	b->buf = xrealloc(b->buf, cap);
	b->cap = cap;
}

void strbuf_add(struct strbuf *b, const void *data, size_t n)
{
	grow(b, n);
	if (n)
		memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

void strbuf_puts(struct strbuf *b, const char *s)
{
	strbuf_add(b, s, strlen(s));
}

void strbuf_putc(struct strbuf *b, char c)
{
	strbuf_add(b, &c, 1);
}

void strbuf_vprintf(struct strbuf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	grow(b, (size_t)n);
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strbuf_vprintf(b, fmt, ap);
	va_end(ap);
}

const char *strbuf_str(const struct strbuf *b)
{
	return b->buf ? b->buf : "";
}

size_t strbuf_len(const struct strbuf *b)
{
	return b->len;
}

int strbuf_write_file(const struct strbuf *b, const char *path)
{
	return fs_write_atomic(path, strbuf_str(b), b->len);
}
