/* commands.h: the subcommands of the darkfold program.
 *
 * Each cmd_<name>() receives argv with argv[0] == "<name>" and returns the
 * process exit status: 0 success, 1 failure, 2 usage error. Each
 * cmd_<name>_usage is its --help text (without a trailing newline). */
#ifndef DARKFOLD_COMMANDS_H
#define DARKFOLD_COMMANDS_H

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

/* Shared by not-yet-built commands: prints that and returns 1. */
int cmd_not_built(const char *name);

/* 1 if argv[1..] holds -h or --help (before any "--"). */
int cmd_wants_help(int argc, char **argv);

#endif
