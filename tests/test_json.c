/* test_json.c: parsing with positioned errors, and exact, stable writing. */
#include "json.h"

#include "error.h"
#include "fsutil.h"
#include "helpers.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void json_should_read_nested_values(void **state)
{
	(void)state;
	struct json *j = json_parse("{\"cv\": {\"k\": 5, \"name\": \"x\", \"on\": true}, \"a\": [1, 2.5]}", "t");
	assert_non_null(j);
	assert_int_equal(json_type(j), JSON_OBJECT);
	assert_true(json_number(json_get(json_get(j, "cv"), "k")) == 5.0);
	assert_string_equal(json_string(json_get(json_get(j, "cv"), "name")), "x");
	assert_int_equal(json_bool(json_get(json_get(j, "cv"), "on")), 1);
	assert_int_equal(json_size(json_get(j, "a")), 2);
	assert_true(json_number(json_at(json_get(j, "a"), 1)) == 2.5);
	assert_string_equal(json_key(json_at(j, 1)), "a");
	/* absent paths answer "absent", never crash */
	assert_null(json_get(json_get(j, "nope"), "k"));
	assert_true(isnan(json_number(json_get(j, "nope"))));
	json_free(j);
}

static void json_should_report_line_and_column_of_syntax_errors(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char *path = xasprintf("%s/bad.json", dir);
	const char *text = "{\n  \"a\": 1,\n  \"b\": [1, 2,,]\n}\n";
	test_write_file(path, text, strlen(text));
	test_stderr_begin();
	assert_null(json_parse_file(path));
	char *msg = test_stderr_end();
	char *want = xasprintf("error: '%s': line 3, column 14: invalid JSON\n", path);
	assert_string_equal(msg, want);
	free(want);
	free(msg);
	char *missing = xasprintf("%s/missing.json", dir);
	test_stderr_begin();
	assert_null(json_parse_file(missing));
	assert_null(json_parse("{\"a\": 1} trailing", "t"));
	msg = test_stderr_end();
	assert_non_null(strstr(msg, "missing.json"));
	assert_non_null(strstr(msg, "'t': line 1, column 10"));
	free(msg);
	free(missing);
	free(path);
	test_rm_rf(dir);
	free(dir);
}

static void json_writer_should_round_trip_doubles_exactly(void **state)
{
	(void)state;
	const double v[] = { 0.1, 1.0 / 3.0, 1e-300, -2.5e17, 0.8164556962025317 };
	struct jw w;
	jw_init(&w);
	jw_arr_begin(&w);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		jw_num(&w, v[i]);
	jw_num(&w, NAN);
	jw_num(&w, INFINITY);
	jw_arr_end(&w);
	struct json *j = json_parse(w.buf, "w");
	assert_non_null(j);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		assert_true(json_number(json_at(j, (int)i)) == v[i]);
	assert_int_equal(json_type(json_at(j, 5)), JSON_NULL);
	assert_int_equal(json_type(json_at(j, 6)), JSON_NULL);
	json_free(j);
	jw_release(&w);
}

static void json_writer_should_format_stably_and_escape(void **state)
{
	(void)state;
	struct jw w;
	jw_init(&w);
	jw_obj_begin(&w);
	jw_kstr(&w, "s", "a\"b\\c\n");
	jw_kint(&w, "n", -3);
	jw_key(&w, "e");
	jw_arr_begin(&w);
	jw_arr_end(&w);
	jw_kbool(&w, "t", 1);
	jw_key(&w, "z");
	jw_null(&w);
	jw_obj_end(&w);
	assert_string_equal(w.buf, "{\n  \"s\": \"a\\\"b\\\\c\\n\",\n  \"n\": -3,\n  \"e\": [],\n"
				   "  \"t\": true,\n  \"z\": null\n}");
	jw_release(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_should_read_nested_values),
		cmocka_unit_test(json_should_report_line_and_column_of_syntax_errors),
		cmocka_unit_test(json_writer_should_round_trip_doubles_exactly),
		cmocka_unit_test(json_writer_should_format_stably_and_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
