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

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s\n", cmd_synth_usage);
	return 2;
}

int cmd_synth(int argc, char **argv)
{
	struct synth_options o = { .seed = 0, .size = SYNTH_DEFAULT_SIZE, .difficulty = 1.0,
				   .rotation = SYNTH_DEFAULT_ROTATION };
	const char *out = NULL, *sheet = NULL;
	int have_seed = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int known = !strcmp(a, "--out") || !strcmp(a, "--seed") || !strcmp(a, "--size") ||
			    !strcmp(a, "--difficulty") || !strcmp(a, "--rotation") ||
			    !strcmp(a, "--contact-sheet");
		if (!known)
			return usage_error("unknown argument '%s'", a);
		if (i + 1 >= argc)
			return usage_error("option '%s' needs a value", a);
		const char *v = argv[++i];
		char *end;
		errno = 0;
		if (!strcmp(a, "--out")) {
			out = v;
		} else if (!strcmp(a, "--contact-sheet")) {
			sheet = v;
		} else if (!strcmp(a, "--seed")) {
			unsigned long long s = strtoull(v, &end, 10);
			if (!*v || *end || errno || v[0] == '-' || v[0] == '+')
				return usage_error("--seed: expected a non-negative integer, got '%s'",
						   v);
			o.seed = (uint64_t)s;
			have_seed = 1;
		} else if (!strcmp(a, "--size")) {
			long s = strtol(v, &end, 10);
			if (!*v || *end || errno || s < SYNTH_MIN_SIZE || s > SYNTH_MAX_SIZE)
				return usage_error("--size: expected an integer 32..4096, got '%s'", v);
			o.size = (int)s;
		} else if (!strcmp(a, "--rotation")) {
			double d = strtod(v, &end);
			if (!*v || *end || errno || !(d >= 0) || !(d <= SYNTH_MAX_ROTATION))
				return usage_error("--rotation: expected a number of degrees 0..180, "
						   "got '%s'",
						   v);
			o.rotation = d;
		} else {
			double d = strtod(v, &end);
			if (!*v || *end || errno || !(d >= SYNTH_MIN_DIFFICULTY) ||
			    !(d <= SYNTH_MAX_DIFFICULTY))
				return usage_error("--difficulty: expected a number 0.25..4, got '%s'",
						   v);
			o.difficulty = d;
		}
	}
	if (!have_seed)
		return usage_error("%s", "--seed is required");
	if (!out && !sheet)
		return usage_error("%s", "nothing to write: give --out DIR and/or --contact-sheet FILE");
	if (out && synth_generate(&o, out) != 0)
		return 1;
	if (sheet) {
		if (synth_contact_sheet(&o, sheet) != 0)
			return 1;
		printf("synth: wrote contact sheet '%s'\n", sheet);
	}
	return 0;
}
