/* cmd_check.c: `darkfold check`: validate Darknet .cfg files before Darknet
 * reads them. */
#include "commands.h"

#include "cfg.h"
#include "error.h"
#include "memory.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
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

/* --memory-limit: a size such as 512M into the double at opt->value. */
static int parse_limit(const struct cmd_option *opt, const char *v)
{
	if (memory_parse_size(v, opt->value) == 0)
		return 0;
	usage_error("--memory-limit needs a positive size such as 512M or 8G, got '%s'", v);
	return -1;
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

struct check_opts {
	int classes, one_class, show_memory;
	double limit;       /* bytes */
	const char *source; /* where limit comes from, for messages */
};

/* Check one cfg file against o; print its "ok:" line when it is valid.
 * Returns 0 valid, -1 invalid. */
static int check_file(const char *file, const struct check_opts *o)
{
	struct cfg c;
	if (cfg_load(file, 0, &c))
		return -1;
	int bad = 0;
	if (o->one_class)
		bad = cfg_check_reconstruction(&c) < 0;
	else if (o->classes && cfg_is_reconstruction(&c))
		bad = error("%s: ends in [cost] without [softmax], so it reconstructs its "
			    "input rather than giving %d classes; check it with --one-class",
			    file, o->classes);
	else if (o->classes)
		bad = cfg_check(&c, o->classes) < 0;
	if (!bad)
		bad = check_memory(&c, o->limit, o->source, o->show_memory) < 0;
	long outputs = bad ? -1 : cfg_outputs(&c);
	if (outputs > 0)
		printf("ok: %s: %d layers, %ld outputs\n", file, cfg_n_layers(&c), outputs);
	else if (outputs == 0)
		printf("ok: %s: %d layers\n", file, cfg_n_layers(&c));
	cfg_release(&c);
	return outputs < 0 ? -1 : 0;
}

int cmd_check(int argc, char **argv)
{
	struct check_opts o = { .limit = -1, .source = "--memory-limit" };
	const struct cmd_option opts[] = {
		OPT_INT("classes", 0, &o.classes, 1, INT_MAX),
		OPT_FLAG("one-class", 0, &o.one_class),
		OPT_FLAG("memory", 0, &o.show_memory),
		OPT_CALLBACK("memory-limit", 0, &o.limit, parse_limit),
		OPT_END(),
	};
	int nfiles = cmd_parse_options(argc, argv, opts, cmd_check_usage, 0);
	if (nfiles < 0)
		return cmd_options_status(nfiles);
	if (nfiles == 0) {
		usage_error("no cfg file given");
		fprintf(stderr, "%s\n", cmd_check_usage);
		return 2;
	}
	if (o.one_class && o.classes)
		return usage_error("--classes and --one-class exclude each other");
	if (o.limit < 0) {
		o.source = "MemAvailable; --memory-limit to change";
		if (memory_available(&o.limit) < 0) {
			o.limit = HUGE_VAL;
			warning("cannot read MemAvailable from /proc/meminfo: no memory limit; "
				"give one with --memory-limit");
		}
	}
	int failed = 0;
	for (int i = 0; i < nfiles; i++)
		failed |= check_file(argv[i], &o) != 0;
	return failed;
}
