/* helpers.c: temporary directories, files and commands for tests. */
#include "helpers.h"

#include "error.h"
#include "fsutil.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *tmpl = xasprintf("%s/darkfold-test-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		abort();
	}
	return tmpl;
}

void test_rm_rf(const char *path)
{
	char *cmd = xasprintf("rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
	free(cmd);
}

void test_write_file(const char *path, const void *data, size_t len)
{
	char *copy = xstrdup(path);
	if (fs_mkdir_p(dirname(copy)) != 0)
		abort();
	free(copy);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

int test_run(const char *cmd, char **out)
{
	char *full = xasprintf("(%s) 2>&1", cmd);
	FILE *p = popen(full, "r");
	free(full);
	if (!p)
		abort();
	size_t cap = 4096, n = 0;
	char *buf = xmalloc(cap);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
		n += got;
		if (n + 1 >= cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	buf[n] = '\0';
	int st = pclose(p);
	if (out)
		*out = buf;
	else
		free(buf);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return -1;
}

static int saved_fd = -1;
static FILE *capture;

void test_stderr_begin(void)
{
	fflush(stderr);
	capture = tmpfile();
	if (!capture)
		abort();
	saved_fd = dup(2);
	dup2(fileno(capture), 2);
}

char *test_stderr_end(void)
{
	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	saved_fd = -1;
	long n = ftell(capture);
	char *buf = xmalloc((size_t)(n > 0 ? n : 0) + 1);
	rewind(capture);
	size_t got = n > 0 ? fread(buf, 1, (size_t)n, capture) : 0;
	buf[got] = '\0';
	fclose(capture);
	capture = NULL;
	return buf;
}

float test_frand(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (float)((*state >> 40) * (2.0 / 16777216.0) - 1.0);
}

float *test_rand_floats(uint64_t *state, size_t n)
{
	float *p = xmalloc(sizeof *p * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		p[i] = test_frand(state);
	return p;
}

float *test_dup_floats(const float *p, size_t n)
{
	float *q = xmalloc(sizeof *q * (n ? n : 1));
	memcpy(q, p, sizeof *q * n);
	return q;
}
