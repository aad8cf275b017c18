/* cmd_data.c: `darkfold data`. */
#include "commands.h"

const char cmd_data_usage[] = "usage: darkfold data [options]\n"
			      "\n"
			      "Not built yet.";

int cmd_data(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_not_built("data");
}
