/* cli.c: the darkfold program's entry point. It parses the top-level
 * options and dispatches to a subcommand; nothing else happens here. */
#include "blas.h"
#include "commands.h"
#include "image.h"
#include "json.h"
#include "stats.h"

#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	const char *summary;
	int (*fn)(int, char **);
	const char *usage;
};

#define DF_ENTRY(name, summary) { #name, summary, cmd_##name, cmd_##name##_usage },
static const struct command commands[] = { DARKFOLD_COMMANDS(DF_ENTRY) };
#undef DF_ENTRY
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
	fprintf(out, "usage: darkfold [--version] [--help] <command> [<args>]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-8s  %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nRun 'darkfold <command> --help' for a command's options.\n");
}

static void version(void)
{
	printf("darkfold %s\n", DARKFOLD_VERSION);
	printf("darknet %s (Debian package, libdarknet)\n", DARKNET_PKG_VERSION);
	printf("libpng %s\n", image_libpng_version());
	printf("GSL %s\n", stats_gsl_version());
	printf("cJSON %s\n", json_library_version());
	printf("%s (core %s, %d thread%s)\n", blas_config(), blas_corename(), blas_threads(),
	       blas_threads() == 1 ? "" : "s");
}

int main(int argc, char **argv)
{
	/* Must come first: may re-execute the program so that OpenBLAS loads
	 * with the right kernels. */
	blas_prepare_process(argv);
	stats_init();
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *arg = argv[1];
	if (!strcmp(arg, "--help") || !strcmp(arg, "-h") || !strcmp(arg, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(arg, "--version") || !strcmp(arg, "version")) {
		version();
		return 0;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(arg, commands[i].name))
			continue;
		if (cmd_wants_help(argc - 1, argv + 1)) {
			printf("%s\n", commands[i].usage);
			return 0;
		}
		return commands[i].fn(argc - 1, argv + 1);
	}
	if (arg[0] == '-')
		fprintf(stderr, "error: unknown option '%s'\n", arg);
	else
		fprintf(stderr, "error: unknown command '%s'\n", arg);
	usage(stderr);
	return 2;
}
