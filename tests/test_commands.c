/* test_commands.c: the option parser and usage errors shared by the
 * subcommands (commands.c). Every expected value is written out by hand.
 * That usage_error() is printf-checked needs no test here: it is declared
 * with DF_PRINTF, so under -Werror a call whose arguments do not match its
 * format (usage_error("%d", "x")) does not compile. */
#include "commands.h"

#include "helpers.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static const char usage[] = "usage: darkfold demo [options] FILE...";

/* The destinations of the demo table, reset for each parse. */
struct demo {
	int flag, count, format, calls;
	double ratio;
	const char *name, *last;
};

static int remember(const struct cmd_option *opt, const char *arg)
{
	struct demo *d = opt->value;
	if (!strcmp(arg, "bad")) {
		usage_error("--note: refused '%s'", arg);
		return -1;
	}
	d->calls++;
	d->last = arg;
	return 0;
}

static const char *const formats[] = { "table", "list", "make", NULL };

/* Parse the NULL-terminated words after "demo" with the demo table; the
 * operands end up in args[0..returned-1]. stderr goes to *err (freed by the
 * caller) when err is not NULL. */
static int parse(struct demo *d, char **args, int flags, char **err, ...)
{
	*d = (struct demo){ .count = 7, .ratio = -1, .format = -1 };
	const struct cmd_option opts[] = {
		OPT_FLAG("verbose", 'v', &d->flag),
		OPT_INT("count", 'n', &d->count, 1, 10),
		OPT_DOUBLE("ratio", 0, &d->ratio, 0.25, 4),
		OPT_STRING("name", 0, &d->name),
		OPT_CHOICE("format", 0, &d->format, formats),
		OPT_CALLBACK("note", 0, d, remember),
		OPT_END(),
	};
	va_list ap;
	va_start(ap, err);
	int argc = 0;
	args[argc++] = "demo";
	for (const char *w; (w = va_arg(ap, const char *)) != NULL;)
		args[argc++] = (char *)w;
	va_end(ap);
	args[argc] = NULL;
	test_stderr_begin();
	int n = cmd_parse_options(argc, args, opts, usage, flags);
	char *e = test_stderr_end();
	if (err)
		*err = e;
	else
		free(e);
	return n;
}

static void parser_should_fill_every_type_and_keep_operands_in_order(void **state)
{
	(void)state;
	struct demo d;
	char *a[32], *err;
	int n = parse(&d, a, 0, &err, "one", "--verbose", "--count", "3", "two", "--ratio", "0.5",
		      "--name", "x y", "--format", "make", "--note", "p", "--note", "q", "-", NULL);
	assert_int_equal(n, 3);
	assert_string_equal(a[0], "one");
	assert_string_equal(a[1], "two");
	assert_string_equal(a[2], "-");
	assert_int_equal(d.flag, 1);
	assert_int_equal(d.count, 3);
	assert_true(d.ratio == 0.5);
	assert_string_equal(d.name, "x y");
	assert_int_equal(d.format, 2);
	assert_int_equal(d.calls, 2);
	assert_string_equal(d.last, "q");
	assert_string_equal(err, "");
	free(err);
}

static void parser_should_leave_defaults_of_options_not_given(void **state)
{
	(void)state;
	struct demo d;
	char *a[8];
	assert_int_equal(parse(&d, a, 0, NULL, NULL), 0);
	assert_int_equal(d.flag, 0);
	assert_int_equal(d.count, 7);
	assert_true(d.ratio == -1);
	assert_null(d.name);
	assert_int_equal(d.format, -1);
}

static void parser_should_take_equals_and_short_forms(void **state)
{
	(void)state;
	struct demo d;
	char *a[16];
	int n = parse(&d, a, 0, NULL, "--count=10", "--ratio=4", "--name=", "--format=list", "-v",
		      NULL);
	assert_int_equal(n, 0);
	assert_int_equal(d.count, 10);
	assert_true(d.ratio == 4);
	assert_string_equal(d.name, "");
	assert_int_equal(d.format, 1);
	assert_int_equal(d.flag, 1);
	assert_int_equal(parse(&d, a, 0, NULL, "-n", "1", "--name=a=b", NULL), 0);
	assert_int_equal(d.count, 1);
	assert_string_equal(d.name, "a=b");
}

/* parse() must fail with exactly the stderr want. */
static void expect_error(const char *want, ...)
{
	struct demo d;
	char *a[16], *err;
	const char *w[8];
	int k = 0;
	va_list ap;
	va_start(ap, want);
	while (k < 7 && (w[k] = va_arg(ap, const char *)) != NULL)
		k++;
	va_end(ap);
	w[k] = NULL;
	int n = parse(&d, a, 0, &err, w[0], w[1], w[2], w[3], w[4], w[5], w[6]);
	if (n != OPT_ERROR || strcmp(err, want))
		fail_msg("got %d and '%s', want OPT_ERROR and '%s'", n, err, want);
	free(err);
}

static void parser_should_reject_numbers_out_of_range(void **state)
{
	(void)state;
	expect_error("error: --count: expected an integer 1..10, got '0'\n", "--count", "0", NULL);
	expect_error("error: --count: expected an integer 1..10, got '11'\n", "--count=11", NULL);
	expect_error("error: --count: expected an integer 1..10, got '5x'\n", "--count", "5x", NULL);
	expect_error("error: --count: expected an integer 1..10, got ''\n", "--count=", NULL);
	expect_error("error: -n: expected an integer 1..10, got '99999999999999999999'\n", "-n",
		     "99999999999999999999", NULL);
	expect_error("error: --ratio: expected a number 0.25..4, got '0.2'\n", "--ratio", "0.2",
		     NULL);
	expect_error("error: --ratio: expected a number 0.25..4, got 'nan'\n", "--ratio", "nan",
		     NULL);
	expect_error("error: --ratio: expected a number 0.25..4, got '4.5'\n", "--ratio=4.5", NULL);
	expect_error("error: --format: expected table, list or make, got 'yaml'\n", "--format",
		     "yaml", NULL);
}

static void parser_should_name_unknown_options_and_missing_values(void **state)
{
	(void)state;
	expect_error("error: unknown option '--nope'\nusage: darkfold demo [options] FILE...\n",
		     "a", "--nope", NULL);
	expect_error("error: unknown option '--nope'\nusage: darkfold demo [options] FILE...\n",
		     "--nope=3", NULL);
	expect_error("error: unknown option '-x'\nusage: darkfold demo [options] FILE...\n", "-x",
		     NULL);
	expect_error("error: unknown option '-vn'\nusage: darkfold demo [options] FILE...\n", "-vn",
		     NULL);
	expect_error("error: option '--count' needs a value\n", "--count", NULL);
	expect_error("error: option '--verbose' takes no value\n", "--verbose=1", NULL);
	expect_error("error: --note: refused 'bad'\n", "--note", "bad", NULL);
}

static void double_dash_should_end_the_options(void **state)
{
	(void)state;
	struct demo d;
	char *a[16];
	int n = parse(&d, a, 0, NULL, "--count", "2", "--", "--count", "-v", NULL);
	assert_int_equal(n, 2);
	assert_string_equal(a[0], "--count");
	assert_string_equal(a[1], "-v");
	assert_int_equal(d.count, 2);
	assert_int_equal(d.flag, 0);
}

static void stop_at_operand_should_keep_later_options_as_operands(void **state)
{
	(void)state;
	struct demo d;
	char *a[16];
	int n = parse(&d, a, OPT_STOP_AT_OPERAND, NULL, "-v", "model", "--count", "3", NULL);
	assert_int_equal(n, 3);
	assert_string_equal(a[0], "model");
	assert_string_equal(a[1], "--count");
	assert_string_equal(a[2], "3");
	assert_int_equal(d.flag, 1);
	assert_int_equal(d.count, 7);
}

/* Run cmd_parse_options on "demo" followed by word with stdout captured;
 * returns what it printed (caller frees) and its result in *rc. */
static char *parse_capturing_stdout(const char *word, int *rc)
{
	struct demo d;
	char *a[8];
	fflush(stdout);
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	int saved = dup(1);
	dup2(fileno(tmp), 1);
	*rc = parse(&d, a, 0, NULL, "--count", "2", word, "--nope", NULL);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	long len = ftell(tmp);
	char *buf = calloc(1, (size_t)(len > 0 ? len : 0) + 1);
	rewind(tmp);
	if (len > 0 && fread(buf, 1, (size_t)len, tmp) != (size_t)len)
		fail_msg("cannot read the captured stdout");
	fclose(tmp);
	return buf;
}

static void help_should_print_usage_on_stdout_and_exit_0(void **state)
{
	(void)state;
	const char *words[] = { "-h", "--help" };
	for (int i = 0; i < 2; i++) {
		int rc;
		char *out = parse_capturing_stdout(words[i], &rc);
		assert_int_equal(rc, OPT_HELP);
		assert_string_equal(out, "usage: darkfold demo [options] FILE...\n");
		assert_int_equal(cmd_options_status(rc), 0);
		free(out);
	}
	assert_int_equal(cmd_options_status(OPT_ERROR), 2);
}

static void parse_int_should_say_which_range(void **state)
{
	(void)state;
	long v = -5;
	test_stderr_begin();
	assert_int_equal(parse_int("--a", "-1", 0, INT_MAX, &v), -1);
	assert_int_equal(parse_int("--b", "0", 1, INT_MAX, &v), -1);
	assert_int_equal(parse_int("--c", "2", 3, INT_MAX, &v), -1);
	assert_int_equal(parse_int("--d", "+12", 0, INT_MAX, &v), 0);
	char *err = test_stderr_end();
	assert_string_equal(err, "error: --a: expected a non-negative integer, got '-1'\n"
				 "error: --b: expected a positive integer, got '0'\n"
				 "error: --c: expected an integer >= 3, got '2'\n");
	assert_int_equal(v, 12);
	free(err);
	double x = 0;
	test_stderr_begin();
	assert_int_equal(parse_double("--e", "1e400", 0, 1e300, &x), -1);
	assert_int_equal(parse_double("--f", "-0.125", -1, 1, &x), 0);
	err = test_stderr_end();
	assert_string_equal(err, "error: --e: expected a number 0..1e+300, got '1e400'\n");
	assert_true(x == -0.125);
	free(err);
}

static void usage_error_should_return_2_with_one_line(void **state)
{
	(void)state;
	test_stderr_begin();
	int rc = usage_error("%s: %d of %.1f", "x", 3, 0.5);
	char *err = test_stderr_end();
	assert_int_equal(rc, 2);
	assert_string_equal(err, "error: x: 3 of 0.5\n");
	free(err);
}

/* cmd_parse_one() on "demo" and the words; stderr into *err. */
static int parse_one_operand(char **err, const char **operand, const char *w1, const char *w2)
{
	const struct cmd_option opts[] = { OPT_END() };
	char *a[] = { "demo", (char *)w1, (char *)w2, NULL };
	int argc = w1 ? (w2 ? 3 : 2) : 1;
	test_stderr_begin();
	int rc = cmd_parse_one(argc, a, opts, usage, "experiment", operand);
	*err = test_stderr_end();
	return rc;
}

static void one_operand_should_want_exactly_one(void **state)
{
	(void)state;
	const char *path = NULL;
	char *err;
	assert_int_equal(parse_one_operand(&err, &path, "e.json", NULL), -1);
	assert_string_equal(path, "e.json");
	assert_string_equal(err, "");
	free(err);
	assert_int_equal(parse_one_operand(&err, &path, NULL, NULL), 2);
	assert_string_equal(err, "error: no experiment given\nusage: darkfold demo [options] FILE...\n");
	free(err);
	assert_int_equal(parse_one_operand(&err, &path, "a", "b"), 2);
	assert_string_equal(err, "error: one experiment at a time ('a' and 'b')\n");
	free(err);
	assert_int_equal(parse_one_operand(&err, &path, "--x", NULL), 2);
	assert_string_equal(err, "error: unknown option '--x'\nusage: darkfold demo [options] FILE...\n");
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parser_should_fill_every_type_and_keep_operands_in_order),
		cmocka_unit_test(parser_should_leave_defaults_of_options_not_given),
		cmocka_unit_test(parser_should_take_equals_and_short_forms),
		cmocka_unit_test(parser_should_reject_numbers_out_of_range),
		cmocka_unit_test(parser_should_name_unknown_options_and_missing_values),
		cmocka_unit_test(double_dash_should_end_the_options),
		cmocka_unit_test(stop_at_operand_should_keep_later_options_as_operands),
		cmocka_unit_test(help_should_print_usage_on_stdout_and_exit_0),
		cmocka_unit_test(parse_int_should_say_which_range),
		cmocka_unit_test(usage_error_should_return_2_with_one_line),
		cmocka_unit_test(one_operand_should_want_exactly_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
