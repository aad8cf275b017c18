/* fsutil.h: files written so that a crash or a full disk never leaves a
 * half-written result behind, and small filesystem helpers. */
#ifndef DARKFOLD_FSUTIL_H
#define DARKFOLD_FSUTIL_H

#include <stddef.h>

/* Read a whole file into a new NUL-terminated buffer (*data, caller frees);
 * *len (if not NULL) gets its length without the NUL. Returns 0 or -1 with a
 * message naming the path. */
int fs_read_file(const char *path, char **data, size_t *len);

/* Write len bytes to path atomically: a temporary file in the same directory,
 * fsync, then rename over path. On any failure (ENOSPC included) the
 * temporary is removed, path is untouched, and -1 is returned with a message
 * naming path. */
int fs_write_atomic(const char *path, const void *data, size_t len);

/* The same for data in several pieces written one after another
 * (parts[i] of lens[i] bytes), with fsync only when sync is 1: without it a
 * reader still never sees a partial file, but a power cut may lose the file
 * (for many files regenerated as a batch, which sync once at the end). */
int fs_write_atomic_parts(const char *path, const void *const *parts, const size_t *lens,
			  int n, int sync);

/* mkdir -p. Returns 0 when the directory exists afterwards. */
int fs_mkdir_p(const char *path);

/* 1 if path names an existing directory / regular file, else 0. */
int fs_is_dir(const char *path);
int fs_is_file(const char *path);

/* Join two path components with one '/'; returns a new string. */
char *fs_join(const char *a, const char *b);

#endif
