/* commands.h: the subcommands of the darkfold program, and the helpers they
 * share: a table-driven option parser and its usage errors.
 *
 * Each cmd_<name>() receives argv with argv[0] == "<name>" and returns the
 * process exit status: 0 success, 1 failure, 2 usage error. Each
 * cmd_<name>_usage is its --help text (without a trailing newline). */
#ifndef DARKFOLD_COMMANDS_H
#define DARKFOLD_COMMANDS_H

#include "error.h"

#define DARKFOLD_COMMANDS(X)                                                      \
	X(synth, "write a synthetic MVTec-layout cable dataset")                  \
	X(data, "inventory and validate one dataset category")                    \
	X(check, "validate Darknet .cfg files")                                   \
	X(plan, "list the units of an experiment")                                \
	X(run, "train and evaluate units of an experiment")                       \
	X(report, "statistics, tables and figures from unit results")             \
	X(submit, "submit pending units and the report to Slurm")                 \
	X(predict, "score images with a trained model")                           \
	X(bench, "measure training throughput of a cfg")

#define DF_DECLARE(name, summary)                  \
	int cmd_##name(int argc, char **argv);     \
	extern const char cmd_##name##_usage[];
DARKFOLD_COMMANDS(DF_DECLARE)
#undef DF_DECLARE

/* 1 if argv[1..] holds -h or --help (before any "--"). */
int cmd_wants_help(int argc, char **argv);

/* Print "error: <message>" and a newline on stderr; returns 2, the exit
 * status of a usage error, so that a command can `return usage_error(...)`. */
int usage_error(const char *fmt, ...) DF_PRINTF(1, 2);

/* Parse s, the value of option opt, as a whole decimal integer in
 * [min, max] into *out. Returns 0, or -1 after a usage error such as
 * "--size: expected an integer 32..4096, got 'x'". */
int parse_int(const char *opt, const char *s, long min, long max, long *out);

/* The same for a finite number in [min, max]. */
int parse_double(const char *opt, const char *s, double min, double max, double *out);

/* The option parser. A command describes its options in a table ending in
 * OPT_END; cmd_parse_options() walks argv, stores each option's value where
 * its entry points and leaves the other arguments (operands) in order.
 *
 * Accepted forms: --name VALUE, --name=VALUE, -x VALUE for an option with a
 * short name, -h and --help; "--" ends the options (what follows is an
 * operand even if it starts with '-'); "-" alone is an operand. */
enum opt_type {
	OPT_END,      /* ends the table */
	OPT_FLAG,     /* no value; sets the int at value to 1 */
	OPT_INT,      /* int at value, in [min, max] */
	OPT_DOUBLE,   /* double at value, in [min, max] */
	OPT_STRING,   /* const char * at value: the argument itself, not copied */
	OPT_CHOICE,   /* int at value: the index of the argument in choices */
	OPT_CALLBACK, /* callback(option, argument) */
};

struct cmd_option {
	enum opt_type type;
	const char *name;   /* long name without "--" */
	char short_name;    /* -x, or 0 */
	void *value;        /* where the value goes (see enum opt_type) */
	double min, max;    /* OPT_INT, OPT_DOUBLE: the allowed range */
	const char *const *choices; /* OPT_CHOICE: the words, NULL-terminated */
	/* OPT_CALLBACK: called with the option's entry and its argument;
	 * returns 0, or -1 after printing its own error. */
	int (*callback)(const struct cmd_option *opt, const char *arg);
};

#define OPT_FLAG(n, s, v) { OPT_FLAG, n, s, v, 0, 0, NULL, NULL }
#define OPT_INT(n, s, v, lo, hi) { OPT_INT, n, s, v, lo, hi, NULL, NULL }
#define OPT_DOUBLE(n, s, v, lo, hi) { OPT_DOUBLE, n, s, v, lo, hi, NULL, NULL }
#define OPT_STRING(n, s, v) { OPT_STRING, n, s, v, 0, 0, NULL, NULL }
#define OPT_CHOICE(n, s, v, words) { OPT_CHOICE, n, s, v, 0, 0, words, NULL }
#define OPT_CALLBACK(n, s, v, fn) { OPT_CALLBACK, n, s, v, 0, 0, NULL, fn }
#define OPT_END() { OPT_END, NULL, 0, NULL, 0, 0, NULL, NULL }

/* Options may come anywhere among the operands unless this flag is given:
 * then the first operand ends the options (darkfold predict MODEL IMAGE...). */
enum { OPT_STOP_AT_OPERAND = 1 };

/* What cmd_parse_options() returns besides a count of operands. */
enum { OPT_HELP = -1, OPT_ERROR = -2 };

/* Parse argv[1..argc-1] (argv[0] is the command's name) against opts.
 * Moves the operands to argv[0..n-1] and returns n >= 0. On -h or --help
 * prints usage on stdout and returns OPT_HELP. On an unknown option prints
 * the error and usage on stderr; on a missing or bad value the one-line
 * error; both return OPT_ERROR. cmd_options_status() turns OPT_HELP and
 * OPT_ERROR into the exit status (0 and 2). */
int cmd_parse_options(int argc, char **argv, const struct cmd_option *opts, const char *usage,
		      int flags);
int cmd_options_status(int rc);

/* cmd_parse_options() for a command that takes exactly one operand, named
 * what ("experiment"), and sets *operand to it. Two operands or none are a
 * usage error: "one experiment at a time ('a' and 'b')", "no experiment
 * given" (followed by usage). Returns -1 when the command goes on, else
 * the exit status to return: 0 after --help, 2 after a usage error. */
int cmd_parse_one(int argc, char **argv, const struct cmd_option *opts, const char *usage,
		  const char *what, const char **operand);

#endif
