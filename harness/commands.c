/* commands.c: helpers shared by the subcommands. */
#include "commands.h"

#include <stdio.h>
#include <string.h>

int cmd_not_built(const char *name)
{
	fprintf(stderr, "error: 'darkfold %s' is not built yet\n", name);
	return 1;
}

int cmd_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	}
	return 0;
}
