/* error.h: how darkfold reports failure.
 *
 * Library code never exits: it calls error() and returns its result (-1),
 * so a caller writes `return error("cannot read '%s': %s", path, strerror(errno));`.
 * Messages are lowercase, problem first, subject quoted. Only main() picks an
 * exit status. Out-of-memory in the x-allocators prints one error line with
 * the size, file and line and exits with status 1 (no abort, no core dump);
 * big buffers use try_calloc() so that the caller can fail cleanly.
 */
#ifndef DARKFOLD_ERROR_H
#define DARKFOLD_ERROR_H

#include <stddef.h>

#if defined(__GNUC__)
#define DF_PRINTF(f, a) __attribute__((format(printf, f, a)))
/* libdarknet exports its own error(), which never returns. The program is
 * linked with exported symbols (so accel.c can replace Darknet's hot
 * functions), so ours must stay hidden or Darknet would call it. */
#define DF_HIDDEN __attribute__((visibility("hidden")))
#else
#define DF_PRINTF(f, a)
#define DF_HIDDEN
#endif

/* Print "error: <message>\n" to stderr and return -1. */
DF_HIDDEN int error(const char *fmt, ...) DF_PRINTF(1, 2);
/* Print "warning: <message>\n" to stderr. */
DF_HIDDEN void warning(const char *fmt, ...) DF_PRINTF(1, 2);

/* Allocation that aborts with file and line on failure; never returns NULL.
 * xmalloc(0) returns a unique non-NULL pointer. */
#define xmalloc(n) xmalloc_at((n), __FILE__, __LINE__)
#define xcalloc(n, s) xcalloc_at((n), (s), __FILE__, __LINE__)
#define xrealloc(p, n) xrealloc_at((p), (n), __FILE__, __LINE__)
#define xstrdup(s) xstrdup_at((s), __FILE__, __LINE__)
void *xmalloc_at(size_t n, const char *file, int line);
void *xcalloc_at(size_t n, size_t size, const char *file, int line);
void *xrealloc_at(void *p, size_t n, const char *file, int line);
char *xstrdup_at(const char *s, const char *file, int line);
/* calloc that returns NULL after "error: out of memory allocating <what>
 * (<size>)" instead of exiting. */
void *try_calloc(size_t n, size_t size, const char *what);
/* printf into a new heap string (caller frees). */
char *xasprintf(const char *fmt, ...) DF_PRINTF(1, 2);

#endif
