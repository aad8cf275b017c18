/* cmd_run.c: `darkfold run`. */
#include "commands.h"

const char cmd_run_usage[] = "usage: darkfold run [options]\n"
			      "\n"
			      "Not built yet.";

int cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_not_built("run");
}
