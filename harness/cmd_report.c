/* cmd_report.c: `darkfold report`. */
#include "commands.h"

const char cmd_report_usage[] = "usage: darkfold report [options]\n"
			      "\n"
			      "Not built yet.";

int cmd_report(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_not_built("report");
}
