/* cmd_check.c: `darkfold check`. */
#include "commands.h"

const char cmd_check_usage[] = "usage: darkfold check [options]\n"
			      "\n"
			      "Not built yet.";

int cmd_check(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_not_built("check");
}
