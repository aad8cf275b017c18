/* test_strbuf.c: the growable buffer keeps every byte in order, stays a C
 * string, and writes its file whole or not at all. */
#include "strbuf.h"

#include "error.h"
#include "fsutil.h"
#include "helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

static void strbuf_should_start_empty_and_read_as_empty_string(void **state)
{
	(void)state;
	struct strbuf b = STRBUF_INIT;
	assert_string_equal(strbuf_str(&b), "");
	assert_int_equal(strbuf_len(&b), 0);
	strbuf_release(&b);
	strbuf_release(NULL);
}

static void strbuf_should_append_in_order(void **state)
{
	(void)state;
	struct strbuf b;
	strbuf_init(&b);
	strbuf_puts(&b, "k = ");
	strbuf_printf(&b, "%d, %.3f, %s", 5, 0.8125, "x");
	strbuf_putc(&b, '\n');
	strbuf_add(&b, "ab", 1);
	assert_string_equal(strbuf_str(&b), "k = 5, 0.812, x\na");
	assert_int_equal(strbuf_len(&b), 17);
	strbuf_reset(&b);
	assert_string_equal(strbuf_str(&b), "");
	strbuf_puts(&b, "again");
	assert_string_equal(strbuf_str(&b), "again");
	strbuf_release(&b);
}

static void strbuf_should_grow_past_many_doublings(void **state)
{
	(void)state;
	struct strbuf b = STRBUF_INIT;
	/* lines "1\n" .. "10000\n": digits 9*1 + 90*2 + 900*3 + 9000*4 + 1*5 =
	 * 38894, plus 10,000 newlines */
	for (int i = 1; i <= 10000; i++)
		strbuf_printf(&b, "%d\n", i);
	assert_int_equal(strbuf_len(&b), 38894 + 10000);
	assert_int_equal(strlen(strbuf_str(&b)), 38894 + 10000);
	assert_memory_equal(strbuf_str(&b), "1\n2\n3\n", 6);
	assert_string_equal(strbuf_str(&b) + strbuf_len(&b) - 11, "9999\n10000\n");
	strbuf_release(&b);
}

static void strbuf_should_keep_binary_bytes(void **state)
{
	(void)state;
	struct strbuf b = STRBUF_INIT;
	const unsigned char bytes[] = { 0x89, 'P', 0, 'G', 0 };
	strbuf_add(&b, bytes, sizeof bytes);
	strbuf_add(&b, bytes, sizeof bytes);
	assert_int_equal(strbuf_len(&b), 10);
	assert_memory_equal(b.buf, bytes, 5);
	assert_memory_equal(b.buf + 5, bytes, 5);
	assert_int_equal(b.buf[10], 0);
	strbuf_release(&b);
}

static void strbuf_should_write_its_file_or_name_it_in_the_error(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char *path = xasprintf("%s/out.txt", dir);
	struct strbuf b = STRBUF_INIT;
	strbuf_puts(&b, "line 1\nline 2\n");
	assert_int_equal(strbuf_write_file(&b, path), 0);
	char *got = NULL;
	size_t len = 0;
	assert_int_equal(fs_read_file(path, &got, &len), 0);
	assert_int_equal(len, 14);
	assert_string_equal(got, "line 1\nline 2\n");
	free(got);

	/* an empty buffer writes an empty file */
	struct strbuf empty = STRBUF_INIT;
	assert_int_equal(strbuf_write_file(&empty, path), 0);
	assert_int_equal(fs_read_file(path, &got, &len), 0);
	assert_int_equal(len, 0);
	free(got);

	char *bad = xasprintf("%s/no/such/dir/out.txt", dir);
	test_stderr_begin();
	int rc = strbuf_write_file(&b, bad);
	char *err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, bad));
	struct stat st;
	assert_int_not_equal(stat(bad, &st), 0);
	free(err);
	free(bad);
	strbuf_release(&b);
	test_rm_rf(dir);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(strbuf_should_start_empty_and_read_as_empty_string),
		cmocka_unit_test(strbuf_should_append_in_order),
		cmocka_unit_test(strbuf_should_grow_past_many_doublings),
		cmocka_unit_test(strbuf_should_keep_binary_bytes),
		cmocka_unit_test(strbuf_should_write_its_file_or_name_it_in_the_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
