/* commands.c: helpers shared by the subcommands: usage errors, number
 * parsing with range errors and the table-driven option parser. */
#include "commands.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	}
	return 0;
}

int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 2;
}

int parse_int(const char *opt, const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s && !*end && !errno && v >= min && v <= max) {
		*out = v;
		return 0;
	}
	if (max < INT_MAX)
		usage_error("%s: expected an integer %ld..%ld, got '%s'", opt, min, max, s);
	else if (min == 0 || min == 1)
		usage_error("%s: expected a %s integer, got '%s'", opt,
			    min ? "positive" : "non-negative", s);
	else
		usage_error("%s: expected an integer >= %ld, got '%s'", opt, min, s);
	return -1;
}

int parse_double(const char *opt, const char *s, double min, double max, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (*s && !*end && !errno && isfinite(v) && v >= min && v <= max) {
		*out = v;
		return 0;
	}
	usage_error("%s: expected a number %g..%g, got '%s'", opt, min, max, s);
	return -1;
}

static const struct cmd_option *find_long(const struct cmd_option *opts, const char *name,
					  size_t len)
{
	for (; opts->type != OPT_END; opts++)
		if (strlen(opts->name) == len && !strncmp(opts->name, name, len))
			return opts;
	return NULL;
}

static const struct cmd_option *find_short(const struct cmd_option *opts, char c)
{
	for (; opts->type != OPT_END; opts++)
		if (opts->short_name && opts->short_name == c)
			return opts;
	return NULL;
}

/* "table, list or make" */
static void print_choices(const char *const *w)
{
	for (int i = 0; w[i]; i++)
		fprintf(stderr, "%s%s", i == 0 ? "" : w[i + 1] ? ", " : " or ", w[i]);
}

static int set_choice(const struct cmd_option *o, const char *opt, const char *arg)
{
	for (int i = 0; o->choices[i]; i++)
		if (!strcmp(o->choices[i], arg)) {
			*(int *)o->value = i;
			return 0;
		}
	fprintf(stderr, "error: %s: expected ", opt);
	print_choices(o->choices);
	fprintf(stderr, ", got '%s'\n", arg);
	return -1;
}

/* Store arg, the value given to option o as opt ("--size" or "-s"). */
static int set_value(const struct cmd_option *o, const char *opt, const char *arg)
{
	long l;
	switch (o->type) {
	case OPT_INT:
		if (parse_int(opt, arg, (long)o->min, (long)o->max, &l) != 0)
			return -1;
		*(int *)o->value = (int)l;
		return 0;
	case OPT_DOUBLE:
		return parse_double(opt, arg, o->min, o->max, (double *)o->value);
	case OPT_STRING:
		*(const char **)o->value = arg;
		return 0;
	case OPT_CHOICE:
		return set_choice(o, opt, arg);
	case OPT_CALLBACK:
		return o->callback(o, arg);
	default: /* OPT_FLAG */
		*(int *)o->value = 1;
		return 0;
	}
}

/* One option at argv[*i]; advances *i past its value. Returns 0, or
 * OPT_HELP or OPT_ERROR. */
static int parse_one(int argc, char **argv, int *i, const struct cmd_option *opts,
		     const char *usage)
{
	const char *a = argv[*i], *inline_arg = NULL;
	const struct cmd_option *o;
	if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
		puts(usage);
		return OPT_HELP;
	}
	if (a[1] == '-') {
		const char *eq = strchr(a + 2, '=');
		size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		o = find_long(opts, a + 2, len);
		inline_arg = eq ? eq + 1 : NULL;
	} else {
		o = a[2] ? NULL : find_short(opts, a[1]);
	}
	char opt[64];
	snprintf(opt, sizeof opt, "%.*s", inline_arg ? (int)(inline_arg - a - 1) : (int)strlen(a), a);
	if (!o) {
		usage_error("unknown option '%s'", opt);
		fprintf(stderr, "%s\n", usage);
		return OPT_ERROR;
	}
	const char *arg = inline_arg;
	if (o->type == OPT_FLAG && inline_arg) {
		usage_error("option '%s' takes no value", opt);
		return OPT_ERROR;
	}
	if (o->type != OPT_FLAG && !inline_arg) {
		if (*i + 1 >= argc) {
			usage_error("option '%s' needs a value", opt);
			return OPT_ERROR;
		}
		arg = argv[++*i];
	}
	return set_value(o, opt, arg) == 0 ? 0 : OPT_ERROR;
}

int cmd_parse_options(int argc, char **argv, const struct cmd_option *opts, const char *usage,
		      int flags)
{
	int n = 0, only_operands = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (only_operands || a[0] != '-' || !a[1]) {
			argv[n++] = argv[i];
			only_operands |= flags & OPT_STOP_AT_OPERAND;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_operands = 1;
			continue;
		}
		int rc = parse_one(argc, argv, &i, opts, usage);
		if (rc != 0)
			return rc;
	}
	return n;
}

int cmd_options_status(int rc)
{
	return rc == OPT_HELP ? 0 : 2;
}

int cmd_parse_one(int argc, char **argv, const struct cmd_option *opts, const char *usage,
		  const char *what, const char **operand)
{
	int n = cmd_parse_options(argc, argv, opts, usage, 0);
	if (n < 0)
		return cmd_options_status(n);
	if (n == 0) {
		usage_error("no %s given", what);
		fprintf(stderr, "%s\n", usage);
		return 2;
	}
	if (n > 1)
		return usage_error("one %s at a time ('%s' and '%s')", what, argv[0], argv[1]);
	*operand = argv[0];
	return -1;
}
