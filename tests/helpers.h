/* helpers.h: shared by the cmocka test programs. */
#ifndef DARKFOLD_TEST_HELPERS_H
#define DARKFOLD_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>

/* A fresh empty directory under $TMPDIR (or /tmp); caller frees the string
 * and may remove the tree with test_rm_rf(). Aborts on failure. */
char *test_tmpdir(void);
/* rm -rf path. */
void test_rm_rf(const char *path);
/* Write a file (creating parent directories); aborts on failure. */
void test_write_file(const char *path, const void *data, size_t len);
/* Run a shell command, capturing stdout+stderr into *out (caller frees);
 * returns the exit status, or -1 if it was killed by a signal. */
int test_run(const char *cmd, char **out);

/* Redirect stderr (fd 2) into a buffer between begin and end; end returns
 * what was written (caller frees) and restores stderr. Not nestable. */
void test_stderr_begin(void);
char *test_stderr_end(void);

/* Uniform in [-1, 1), a multiple of 2^-23, from a 64-bit linear
 * congruential generator whose state the caller keeps (never rand(), which
 * Darknet owns). */
float test_frand(uint64_t *state);
/* n values of test_frand in a new array (caller frees); aborts when memory
 * runs out. */
float *test_rand_floats(uint64_t *state, size_t n);
/* A new copy of the n floats at p (caller frees). */
float *test_dup_floats(const float *p, size_t n);

#endif
