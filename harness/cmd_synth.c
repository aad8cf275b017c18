/* cmd_synth.c: `darkfold synth`. */
#include "commands.h"

const char cmd_synth_usage[] = "usage: darkfold synth [options]\n"
			      "\n"
			      "Not built yet.";

int cmd_synth(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_not_built("synth");
}
