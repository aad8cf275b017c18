/* synth.h: a synthetic stand-in for the MVTec AD "cable" category.
 *
 * Each image is a procedurally drawn cable cross-section: an outer sheath
 * around a light filler, three insulated conductors (green-yellow, blue,
 * brown, in that order counter-clockwise on screen) each filled with 19 copper strands; the
 * cable is rotated by a random angle, shifted, scaled a little, lit with a
 * random gain, tint, gradient and vignette, and overlaid with sensor noise.
 *
 * A defect image is drawn twice from the same random draw, once without and
 * once with its defect; its ground-truth mask is exactly the set of pixels
 * in which the two 8-bit renderings differ. Every image is seeded from
 * (seed, folder, index) alone, with a local xoshiro256** generator, so the
 * output does not depend on generation order, and the same options give
 * byte-identical PNGs. */
#ifndef DARKFOLD_SYNTH_H
#define DARKFOLD_SYNTH_H

#include <stdint.h>

#define SYNTH_CATEGORY "cable"
#define SYNTH_DEFAULT_SIZE 256
#define SYNTH_MIN_SIZE 32
#define SYNTH_MAX_SIZE 4096
#define SYNTH_MIN_DIFFICULTY 0.25
#define SYNTH_MAX_DIFFICULTY 4.0
#define SYNTH_MAX_ROTATION 180
#define SYNTH_DEFAULT_ROTATION 10
/* Written last into <out>/cable/: its presence means a complete set. */
#define SYNTH_MANIFEST "darkfold-synth.txt"

struct synth_options {
	uint64_t seed;
	int size;          /* image side in pixels, SYNTH_MIN_SIZE..SYNTH_MAX_SIZE */
	/* Defect sizes are multiplied by 1/difficulty and their contrast by
	 * min(1, 1/difficulty): 1 is the default, 2 is harder, 0.5 easier. */
	double difficulty;
	/* Degrees, 0..SYNTH_MAX_ROTATION: each cable is turned by an angle drawn
	 * uniformly from [-rotation, +rotation] around the upright pose (green
	 * conductor at the bottom). 180 allows any orientation. */
	double rotation;
};

/* The folders of the category, in generation order: index 0 "train/good"
 * (224 images), 1 "test/good" (58), then the eight defect types under test/
 * in alphabetical order with the counts of the real category. */
int synth_folder_count(void);
const char *synth_folder_name(int folder); /* e.g. "test/bent_wire" */
int synth_folder_images(int folder);
/* The defect type of a folder: "good" for 0 and 1. */
const char *synth_folder_defect(int folder);

/* Check ranges; returns 0 or -1 with a message. */
int synth_options_check(const struct synth_options *o);

/* Render image index of folder into rgb ((size, size, 3) bytes). mask (may
 * be NULL) receives (size, size) bytes, 255 where the defect changed the
 * pixel and 0 elsewhere (all 0 for a good folder). clean (may be NULL)
 * receives the same cable drawn without its defect, so that mask[i] == 255
 * exactly where rgb and clean differ. Returns 0, or -1 if the options are
 * invalid. */
int synth_render(const struct synth_options *o, int folder, int index, uint8_t *rgb,
		 uint8_t *mask, uint8_t *clean);

/* Write the whole category under <out_dir>/cable/ (train/, test/,
 * ground_truth/, then the manifest), creating directories, replacing files of
 * an earlier run. Prints one summary line on stdout. Returns 0 or -1 with a
 * message naming the file that could not be written. */
int synth_generate(const struct synth_options *o, const char *out_dir);

/* 1 if <out_dir>/cable/ holds a complete set generated with exactly these
 * options (per its manifest), else 0. */
int synth_is_current(const struct synth_options *o, const char *out_dir);

/* Write one PNG at path: a header row of labels, then columns good (test/good
 * image 0) and image 0 of each defect type; rows: the image, the image with
 * its mask tinted red, and the image as the network sees it after area
 * downsampling to 64x64. Each tile is 256x256. Returns 0 or -1. */
int synth_contact_sheet(const struct synth_options *o, const char *path);

#endif
