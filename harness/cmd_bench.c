/* cmd_bench.c: `darkfold bench`. */
#include "commands.h"

const char cmd_bench_usage[] = "usage: darkfold bench [options]\n"
			      "\n"
			      "Not built yet.";

int cmd_bench(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_not_built("bench");
}
