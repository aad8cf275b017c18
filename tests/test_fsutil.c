/* test_fsutil.c: atomic writes leave either the old file or the new one,
 * never a part, and failures name the path. */
#include "fsutil.h"

#include "error.h"
#include "helpers.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void fs_write_atomic_should_replace_the_whole_file(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char *path = fs_join(dir, "r.json");
	assert_int_equal(fs_write_atomic(path, "first version, longer", 21), 0);
	assert_int_equal(fs_write_atomic(path, "second", 6), 0);
	char *text;
	size_t len;
	assert_int_equal(fs_read_file(path, &text, &len), 0);
	assert_int_equal(len, 6);
	assert_string_equal(text, "second");
	assert_int_equal(count_entries(dir), 1); /* no temporary left behind */
	free(text);
	free(path);
	test_rm_rf(dir);
	free(dir);
}

static void fs_write_atomic_should_fail_cleanly_and_name_the_path(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	/* the folder does not exist */
	char *missing = fs_join(dir, "nope/r.json");
	test_stderr_begin();
	assert_int_equal(fs_write_atomic(missing, "x", 1), -1);
	char *msg = test_stderr_end();
	char *want = xasprintf("error: cannot write '%s': No such file or directory\n", missing);
	assert_string_equal(msg, want);
	free(want);
	free(msg);
	/* a directory is in the way: the rename fails, nothing is left */
	char *busy = fs_join(dir, "busy");
	assert_int_equal(fs_mkdir_p(busy), 0);
	char *inner = fs_join(busy, "keep");
	test_write_file(inner, "k", 1);
	test_stderr_begin();
	assert_int_equal(fs_write_atomic(busy, "x", 1), -1);
	msg = test_stderr_end();
	assert_non_null(strstr(msg, busy));
	assert_int_equal(count_entries(dir), 1);
	assert_int_equal(count_entries(busy), 1);
	free(msg);
	free(inner);
	free(busy);
	free(missing);
	test_rm_rf(dir);
	free(dir);
}

static void fs_read_file_should_report_a_missing_file(void **state)
{
	(void)state;
	char *text = NULL;
	test_stderr_begin();
	assert_int_equal(fs_read_file("/nonexistent/darkfold.json", &text, NULL), -1);
	char *msg = test_stderr_end();
	assert_string_equal(msg, "error: cannot open '/nonexistent/darkfold.json': No such file or directory\n");
	assert_null(text);
	free(msg);
}

static void fs_mkdir_p_and_join_should_build_paths(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char *deep = fs_join(dir, "a/b/c");
	assert_int_equal(fs_mkdir_p(deep), 0);
	assert_true(fs_is_dir(deep));
	assert_int_equal(fs_mkdir_p(deep), 0); /* idempotent */
	char *file = fs_join(dir, "f");
	test_write_file(file, "x", 1);
	assert_true(fs_is_file(file));
	assert_false(fs_is_dir(file));
	test_stderr_begin();
	char *under = fs_join(file, "sub");
	assert_int_equal(fs_mkdir_p(under), -1);
	free(test_stderr_end());
	char *j = fs_join("results/", "/cable");
	assert_string_equal(j, "results/cable");
	free(j);
	free(under);
	free(file);
	free(deep);
	test_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fs_write_atomic_should_replace_the_whole_file),
		cmocka_unit_test(fs_write_atomic_should_fail_cleanly_and_name_the_path),
		cmocka_unit_test(fs_read_file_should_report_a_missing_file),
		cmocka_unit_test(fs_mkdir_p_and_join_should_build_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
