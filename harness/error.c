/* error.c: diagnostics and aborting allocation helpers. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	char buf[4096];
	vsnprintf(buf, sizeof buf, fmt, ap);
	fprintf(stderr, "%s: %s\n", prefix, buf);
}

int error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("error", fmt, ap);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("warning", fmt, ap);
	va_end(ap);
}

static void oom(size_t n, const char *file, int line)
{
	fprintf(stderr, "error: out of memory allocating %zu bytes at %s:%d\n", n, file, line);
	exit(1);
}

void *try_calloc(size_t n, size_t size, const char *what)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		error("out of memory allocating %s (%.0f bytes)", what, (double)n * (double)size);
	return p;
}

void *xmalloc_at(size_t n, const char *file, int line)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n, file, line);
	return p;
}

void *xcalloc_at(size_t n, size_t size, const char *file, int line)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size, file, line);
	return p;
}

void *xrealloc_at(void *p, size_t n, const char *file, int line)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n, file, line);
	return q;
}

char *xstrdup_at(const char *s, const char *file, int line)
{
	size_t n = strlen(s) + 1;
	char *d = xmalloc_at(n, file, line);
	memcpy(d, s, n);
	return d;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	char *s = xmalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return s;
}
