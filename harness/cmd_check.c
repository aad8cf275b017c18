/* cmd_check.c: `darkfold check`: validate Darknet .cfg files before Darknet
 * reads them. */
#include "commands.h"

#include "cfg.h"
#include "error.h"
#include "memory.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_check_usage[] =
	"usage: darkfold check FILE... [--classes N | --one-class] [--memory]\n"
	"                      [--memory-limit SIZE]\n"
	"\n"
	"Checks each Darknet .cfg file the way darkfold reads it before training:\n"
	"the first section is [net], every section and key is one Darknet reads,\n"
	"numbers parse completely, no key repeats, [shortcut]/[route] references\n"
	"point at earlier layers, sizes and strides are positive, batch is\n"
	"divisible by subdivisions, and the layer shapes work out. It works out the\n"
	"memory Darknet allocates to train the network at the cfg's batch (outputs\n"
	"and gradients, im2col workspace, weights and updates, Adam state) and\n"
	"rejects a cfg needing more than the limit.\n"
	"\n"
	"  --classes N   also require the network's final output to be exactly N\n"
	"  --one-class   check a reconstruction network (a one_class model): no\n"
	"                [softmax], [cost] type=sse last, output shape = input shape\n"
	"  --memory      also print each layer's memory and the totals\n"
	"  --memory-limit SIZE  the limit (bytes, or with a unit K, M, G, T: powers\n"
	"                of 1024); default: MemAvailable of /proc/meminfo\n"
	"\n"
	"Prints one line per valid file; each problem is reported as\n"
	"'error: FILE:LINE: problem'. Exit status: 0 all valid, 1 any invalid,\n"
	"2 usage error.";

static int parse_classes(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v <= 0 || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

/* Work out c's memory, print its table if show, and check it against limit. */
static int check_memory(const struct cfg *c, double limit, const char *source, int show)
{
	struct memory m;
	if (memory_estimate(c, &m) < 0)
		return -1;
	if (show)
		memory_print(c, &m, stdout);
	int rc = memory_check(c, &m, limit, source);
	memory_release(&m);
	return rc;
}

int cmd_check(int argc, char **argv)
{
	if (cmd_wants_help(argc, argv)) {
		puts(cmd_check_usage);
		return 0;
	}
	int classes = 0, nfiles = 0, one_class = 0;
	const char **files = calloc((size_t)argc, sizeof *files);
	if (!files)
		return 1;
	int only_files = 0, show_memory = 0;
	double limit = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		if (!only_files && !strcmp(a, "--")) {
			only_files = 1;
			continue;
		}
		if (!only_files && !strcmp(a, "--one-class")) {
			one_class = 1;
			continue;
		}
		if (!only_files && !strcmp(a, "--memory")) {
			show_memory = 1;
			continue;
		}
		if (!only_files && (!strcmp(a, "--memory-limit") || !strncmp(a, "--memory-limit=", 15))) {
			const char *v = a[14] == '=' ? a + 15 : i + 1 < argc ? argv[++i] : NULL;
			if (!v || memory_parse_size(v, &limit) < 0) {
				fprintf(stderr, "error: --memory-limit needs a positive size such as 512M or "
						"8G, got '%s'\n", v ? v : "");
				free(files);
				return 2;
			}
			continue;
		}
		if (!only_files && !strcmp(a, "--classes")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "error: --classes needs a value\n%s\n", cmd_check_usage);
				free(files);
				return 2;
			}
			val = argv[++i];
		} else if (!only_files && !strncmp(a, "--classes=", 10)) {
			val = a + 10;
		} else if (!only_files && a[0] == '-' && a[1]) {
			fprintf(stderr, "error: unknown option '%s'\n%s\n", a, cmd_check_usage);
			free(files);
			return 2;
		} else {
			files[nfiles++] = a;
			continue;
		}
		if (parse_classes(val, &classes)) {
			fprintf(stderr, "error: --classes must be a positive integer, got '%s'\n", val);
			free(files);
			return 2;
		}
	}
	if (nfiles == 0) {
		fprintf(stderr, "error: no cfg file given\n%s\n", cmd_check_usage);
		free(files);
		return 2;
	}
	if (one_class && classes) {
		fprintf(stderr, "error: --classes and --one-class exclude each other\n%s\n",
			cmd_check_usage);
		free(files);
		return 2;
	}
	const char *source = "--memory-limit";
	if (limit < 0) {
		source = "MemAvailable; --memory-limit to change";
		if (memory_available(&limit) < 0) {
			limit = HUGE_VAL;
			warning("cannot read MemAvailable from /proc/meminfo: no memory limit; "
				"give one with --memory-limit");
		}
	}
	int failed = 0;
	for (int i = 0; i < nfiles; i++) {
		struct cfg c;
		if (cfg_load(files[i], 0, &c)) {
			failed = 1;
			continue;
		}
		int bad = 0;
		if (one_class)
			bad = cfg_check_reconstruction(&c) < 0;
		else if (classes && cfg_is_reconstruction(&c))
			bad = error("%s: ends in [cost] without [softmax], so it reconstructs its "
				    "input rather than giving %d classes; check it with --one-class",
				    files[i], classes);
		else if (classes)
			bad = cfg_check(&c, classes) < 0;
		if (!bad)
			bad = check_memory(&c, limit, source, show_memory) < 0;
		if (bad) {
			failed = 1;
			cfg_release(&c);
			continue;
		}
		long outputs = cfg_outputs(&c);
		if (outputs < 0)
			failed = 1;
		else if (outputs > 0)
			printf("ok: %s: %d layers, %ld outputs\n", files[i], cfg_n_layers(&c), outputs);
		else
			printf("ok: %s: %d layers\n", files[i], cfg_n_layers(&c));
		cfg_release(&c);
	}
	free(files);
	return failed;
}
