/* cmd_synth.c: `darkfold synth`. */
#include "commands.h"

#include "error.h"
#include "synth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_synth_usage[] =
	"usage: darkfold synth --seed N (--out DIR | --contact-sheet FILE) [options]\n"
	"\n"
	"Write a synthetic stand-in for the MVTec AD 'cable' category to DIR/cable/,\n"
	"in the MVTec layout: train/good (224 images), test/good (58), eight defect\n"
	"folders under test/ (92 images) and a ground-truth mask for every defect\n"
	"image in ground_truth/<defect>/NNN_mask.png. The same options give\n"
	"byte-identical files.\n"
	"\n"
	"options:\n"
	"  --out DIR             write the dataset under DIR/cable/\n"
	"  --seed N              random seed, an integer 0..18446744073709551615\n"
	"  --size PX             image side in pixels, 32..4096 (default 256)\n"
	"  --difficulty D        0.25..4 (default 1): defect size is divided by D and,\n"
	"                        for D > 1, defect contrast too\n"
	"  --rotation DEG        0..180 (default 10): each cable is turned by a uniform\n"
	"                        random angle within +-DEG of upright; 180 = any angle\n"
	"  --contact-sheet FILE  also write one PNG showing test/good/000 and image 000\n"
	"                        of each defect type: as written, with the mask in red,\n"
	"                        and as seen after area downsampling to 64x64\n"
	"\n"
	"See docs/datasets.md.";

/* The value of --seed, and whether it was given. */
struct seed {
	uint64_t value;
	int given;
};

/* --seed: a whole uint64_t, written without a sign. */
static int parse_seed(const struct cmd_option *opt, const char *v)
{
	char *end;
	errno = 0;
	unsigned long long s = strtoull(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-' || v[0] == '+')
	{
		usage_error("--seed: expected a non-negative integer, got '%s'", v);
		return -1;
	}
	struct seed *seed = opt->value;
	seed->value = (uint64_t)s;
	seed->given = 1;
	return 0;
}

int cmd_synth(int argc, char **argv)
{
	struct synth_options o = { .seed = 0, .size = SYNTH_DEFAULT_SIZE, .difficulty = 1.0,
				   .rotation = SYNTH_DEFAULT_ROTATION };
	const char *out = NULL, *sheet = NULL;
	struct seed seed = { 0, 0 };
	const struct cmd_option opts[] = {
		OPT_STRING("out", 0, &out),
		OPT_STRING("contact-sheet", 0, &sheet),
		OPT_CALLBACK("seed", 0, &seed, parse_seed),
		OPT_INT("size", 0, &o.size, SYNTH_MIN_SIZE, SYNTH_MAX_SIZE),
		OPT_DOUBLE("rotation", 0, &o.rotation, 0, SYNTH_MAX_ROTATION),
		OPT_DOUBLE("difficulty", 0, &o.difficulty, SYNTH_MIN_DIFFICULTY,
			   SYNTH_MAX_DIFFICULTY),
		OPT_END(),
	};
	int n = cmd_parse_options(argc, argv, opts, cmd_synth_usage, 0);
	if (n < 0)
		return cmd_options_status(n);
	if (n > 0)
		return usage_error("unexpected argument '%s': synth takes options only", argv[0]);
	if (!seed.given)
		return usage_error("--seed is required");
	if (!out && !sheet)
		return usage_error("nothing to write: give --out DIR and/or --contact-sheet FILE");
	o.seed = seed.value;
	if (out && synth_generate(&o, out) != 0)
		return 1;
	if (sheet) {
		if (synth_contact_sheet(&o, sheet) != 0)
			return 1;
		printf("synth: wrote contact sheet '%s'\n", sheet);
	}
	return 0;
}
