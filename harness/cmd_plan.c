/* cmd_plan.c: `darkfold plan`. */
#include "commands.h"

const char cmd_plan_usage[] = "usage: darkfold plan [options]\n"
			      "\n"
			      "Not built yet.";

int cmd_plan(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_not_built("plan");
}
