/* test_error.c: out-of-memory in darkfold's allocators is one error line
 * and a clean failure, never an abort. */
#include "error.h"

#include "helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* Under ASan a too-big allocation must return NULL as glibc's does, rather
 * than stop the program. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

/* 1 PiB: more than any address space here, so malloc returns NULL. */
#define HUGE_ALLOC ((size_t)1 << 50)

static void try_calloc_should_return_null_with_one_line(void **state)
{
	(void)state;
	test_stderr_begin();
	void *p = try_calloc(HUGE_ALLOC, 1, "the test buffer");
	char *err = test_stderr_end();
	assert_null(p);
	/* ASan may print a warning line of its own first */
	const char *want = "error: out of memory allocating the test buffer (1125899906842624 bytes)\n";
	const char *at = strstr(err, "error: ");
	if (!at || strcmp(at, want))
		fail_msg("got '%s'", err);
	free(err);
	p = try_calloc(4, 2, "a small buffer");
	assert_non_null(p);
	assert_int_equal(((char *)p)[7], 0);
	free(p);
}

static void xmalloc_should_exit_1_with_size_file_and_line(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		void *p = xmalloc(HUGE_ALLOC);
		free(p);
		_exit(0);
	}
	close(fds[1]);
	char buf[1024] = { 0 };
	size_t got = 0;
	ssize_t r;
	while ((r = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0)
		got += (size_t)r;
	close(fds[0]);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(got > 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	/* ASan may print a warning line of its own first */
	const char *want = "error: out of memory allocating 1125899906842624 bytes at ";
	const char *at = strstr(buf, "error: ");
	if (!at || strncmp(at, want, strlen(want)) || !strstr(at, "test_error.c:") ||
	    strchr(at, '\n') != at + strlen(at) - 1)
		fail_msg("got '%s'", buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(try_calloc_should_return_null_with_one_line),
		cmocka_unit_test(xmalloc_should_exit_1_with_size_file_and_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
