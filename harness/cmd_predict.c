/* cmd_predict.c: `darkfold predict`. */
#include "commands.h"

const char cmd_predict_usage[] = "usage: darkfold predict [options]\n"
			      "\n"
			      "Not built yet.";

int cmd_predict(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_not_built("predict");
}
