/* test_mapfig.c: the anomaly-map figure: outlines of a known mask, the
 * colour map's fixed points, the choice of cells on a case worked out by
 * hand, the outline pixels of a whole figure counted by hand, determinism,
 * and bad figures and paths. */
#include "mapfig.h"

#include "fsutil.h"
#include "helpers.h"
#include "image.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void mapfig_outline_should_keep_the_boundary_pixels(void **state)
{
	(void)state;
	/* a 3x3 block, and a bar touching the right and bottom edges; the
	 * outline worked out by hand on the right */
	static const char *const picture[5] = {
		"......  ......",
		".###..  .###..",
		".###..  .#.#..",
		".###.#  .###.#",
		".....#  .....#",
	};
	unsigned char mask[5 * 6], want[5 * 6];
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 6; j++) {
			mask[i * 6 + j] = picture[i][j] == '#';
			want[i * 6 + j] = picture[i][8 + j] == '#';
		}
	unsigned char edge[5 * 6];
	mapfig_outline(mask, 5, 6, edge);
	assert_memory_equal(edge, want, sizeof want);
	/* a full mask: only the image's border */
	unsigned char full[4 * 4], e2[4 * 4];
	memset(full, 1, sizeof full);
	mapfig_outline(full, 4, 4, e2);
	for (int p = 0; p < 16; p++)
		assert_int_equal(e2[p], !(p == 5 || p == 6 || p == 9 || p == 10));
}

static void expect_colour(double v, int r, int g, int b)
{
	uint8_t rgb[3];
	mapfig_colour(v, rgb);
	assert_int_equal(rgb[0], r);
	assert_int_equal(rgb[1], g);
	assert_int_equal(rgb[2], b);
}

static void mapfig_colour_should_run_from_black_to_white(void **state)
{
	(void)state;
	expect_colour(0, 0, 0, 0);
	expect_colour(1.0 / 3, 255, 0, 0);
	expect_colour(0.5, 255, 128, 0); /* 3 * 0.5 - 1 = 0.5 -> 127.5 rounds up */
	expect_colour(2.0 / 3, 255, 255, 0);
	expect_colour(1, 255, 255, 255);
	expect_colour(-0.5, 0, 0, 0);
	expect_colour(2, 255, 255, 255);
	expect_colour(NAN, 0, 0, 0);
}

static void mapfig_pick_should_choose_by_margin_with_ties_to_the_first(void **state)
{
	(void)state;
	/* margins (score - threshold), exact in binary: */
	const struct mapfig_item items[] = {
		{ 0, 1, 0.875, 0.5 },    /* 0: 0.375 */
		{ 0, 1, 0.75, 0.25 },    /* 1: 0.5, best though not the top score */
		{ 0, 1, 0.625, 0.125 },  /* 2: 0.5, ties with 1: 1 stays */
		{ 0, 1, 0.25, 0.5 },     /* 3: -0.25, worst */
		{ 0, 1, 0.125, 0.375 },  /* 4: -0.25, ties with 3: 3 stays */
		{ 1, 1, 0.375, 0.5 },    /* 5: the only image of type 1 */
		{ 0, 0, 5.0, 0.0 },      /* 6: normal, never picked */
		{ 2, 0, 0.0, 1.0 },      /* 7: type 2 has no anomalous image */
		{ 3, 1, 9.0, 0.0 },      /* 8: type outside the rows */
		{ 1, 1, NAN, 0.5 },      /* 9: no score */
		{ -1, 1, 9.0, 0.0 },     /* 10: type outside the rows */
	};
	int best[3], worst[3];
	assert_int_equal(mapfig_pick(items, 11, 3, best, worst), 2);
	assert_int_equal(best[0], 1);
	assert_int_equal(worst[0], 3);
	assert_int_equal(best[1], 5);
	assert_int_equal(worst[1], 5);
	assert_int_equal(best[2], -1);
	assert_int_equal(worst[2], -1);
	/* no anomalous image at all */
	assert_int_equal(mapfig_pick(items + 6, 2, 3, best, worst), 0);
	for (int d = 0; d < 3; d++)
		assert_true(best[d] == -1 && worst[d] == -1);
}

/* A figure of 4x4 RGB images at scale 3, two rows:
 *   row 0 best: a 2x2 mask at rows/columns 1-2, and one map pixel (1, 1)
 *     at the threshold: green traces the 6x6 upscaled block (20 pixels),
 *     magenta the 3x3 block in its corner (8 pixels), 5 of which cover
 *     green: 15 green, 8 magenta;
 *   row 0 worst: no mask, one map pixel (3, 3) above the threshold, in the
 *     corner of the image: 8 magenta;
 *   row 1: no image in either column.
 * The images are grey and the heat map's colours are never pure green or
 * magenta, so the figure holds 15 green and 16 magenta pixels. */
struct fig_data {
	float image[3 * 16];
	double map0[16], map1[16];
	unsigned char mask[16];
	struct mapfig_cell cells[4];
	const char *names[2];
	struct mapfig fig;
	char *dir, *png, *txt; /* a fresh directory; maps.png and maps.txt in it */
};

static int fig_setup(void **state)
{
	struct fig_data *d = calloc(1, sizeof *d);
	assert_non_null(d);
	for (int p = 0; p < 3 * 16; p++)
		d->image[p] = 0.5f;
	for (int p = 0; p < 16; p++) {
		d->map0[p] = d->map1[p] = 0.01 * p;
		d->mask[p] = (p / 4 == 1 || p / 4 == 2) && (p % 4 == 1 || p % 4 == 2);
	}
	d->map0[5] = 0.25;
	d->map1[15] = 0.375;
	d->cells[0] = (struct mapfig_cell){ "a.png", d->image, d->map0, d->mask, 0.5, 0.25 };
	d->cells[1] = (struct mapfig_cell){ "b.png", d->image, d->map1, NULL, 0.125, 0.25 };
	d->names[0] = "cut_inner_insulation";
	d->names[1] = "poke";
	d->fig = (struct mapfig){ .c = 3, .h = 4, .w = 4, .scale = 3, .rows = 2,
				  .row_names = d->names, .cells = d->cells };
	d->dir = test_tmpdir();
	d->png = fs_join(d->dir, "maps.png");
	d->txt = fs_join(d->dir, "maps.txt");
	*state = d;
	return 0;
}

static int fig_teardown(void **state)
{
	struct fig_data *d = *state;
	test_rm_rf(d->dir);
	free(d->png);
	free(d->txt);
	free(d->dir);
	free(d);
	return 0;
}

static void count_colours(const char *png, long *green, long *magenta)
{
	struct image im;
	assert_int_equal(image_png_read(png, 3, &im, NULL), 0);
	size_t plane = (size_t)im.w * im.h;
	*green = *magenta = 0;
	for (size_t p = 0; p < plane; p++) {
		int r = image_to_u8(im.data[p]), g = image_to_u8(im.data[plane + p]),
		    b = image_to_u8(im.data[2 * plane + p]);
		*green += r == 0 && g == 255 && b == 0;
		*magenta += r == 255 && g == 0 && b == 255;
	}
	image_release(&im);
}

static void mapfig_write_should_draw_both_outlines(void **state)
{
	struct fig_data *d = *state;
	assert_int_equal(mapfig_write(&d->fig, d->png, d->txt), 0);
	long green, magenta;
	count_colours(d->png, &green, &magenta);
	assert_int_equal(green, 15);
	assert_int_equal(magenta, 16);
	char *cap;
	assert_int_equal(fs_read_file(d->txt, &cap, NULL), 0);
	assert_non_null(strstr(cap, "white 0.375 "));
	assert_non_null(strstr(cap, "row 1: cut_inner_insulation\n  best: a.png score 0.5 "
				    "threshold 0.25 margin 0.25\n  worst: b.png"));
	assert_non_null(strstr(cap, "row 2: poke\n  best: none\n  worst: none\n"));
	assert_non_null(strstr(cap, "upscaled 3x"));
	free(cap);
}

static void mapfig_write_should_give_the_same_bytes_twice(void **state)
{
	struct fig_data *d = *state;
	char *first[2], *again[2], *second_png = fs_join(d->dir, "again.png");
	size_t len[2], len2[2];
	assert_int_equal(mapfig_write(&d->fig, d->png, d->txt), 0);
	assert_int_equal(fs_read_file(d->png, &first[0], &len[0]), 0);
	assert_int_equal(fs_read_file(d->txt, &first[1], &len[1]), 0);
	/* again, the caption over the first one */
	assert_int_equal(mapfig_write(&d->fig, second_png, d->txt), 0);
	assert_int_equal(fs_read_file(second_png, &again[0], &len2[0]), 0);
	assert_int_equal(fs_read_file(d->txt, &again[1], &len2[1]), 0);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(len[k], len2[k]);
		assert_memory_equal(first[k], again[k], len[k]);
		free(first[k]);
		free(again[k]);
	}
	free(second_png);
}

/* mapfig_write() must fail with one error line containing what and leave
 * neither file. */
static void expect_write_error(const struct mapfig *f, const char *png, const char *txt,
			       const char *what)
{
	test_stderr_begin();
	int rc = mapfig_write(f, png, txt);
	char *msg = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(msg, what));
	assert_ptr_equal(strchr(msg, '\n'), msg + strlen(msg) - 1);
	assert_false(fs_is_file(png));
	assert_false(fs_is_file(txt));
	free(msg);
}

static void mapfig_write_should_reject_bad_figures_and_paths(void **state)
{
	struct fig_data *d = *state;
	const char *png = d->png, *txt = d->txt;
	char *bad = fs_join(d->dir, "missing/maps.png");
	char *badtxt = fs_join(d->dir, "missing/maps.txt");
	struct mapfig *f = &d->fig;
	const struct {
		int *field, bad;
		const char *what;
	} cases[] = {
		{ &f->c, 2, "maps.png': figure images have 2 channels" },
		{ &f->scale, 0, "maps.png': figure scale 0 is not in 1..16" },
		{ &f->scale, 17, "figure scale 17 is not in 1..16" },
		{ &f->rows, 0, "figure has no rows" },
		{ &f->w, 0, "figure images are 0x4" },
		{ &f->h, -1, "figure images are 4x-1 (1 to 8192 a side)" },
		{ &f->w, 9000, "figure images are 9000x4" },
		/* 1500-pixel panels: cells 3 * 1500 + 2 * 2 = 4504 wide, the grid
		 * 2 * 4504 + 12, the labels 8 + 20 * 12 + 8 and the margin 8 make
		 * 9284; rows of max(12, 16) + 12, the titles 8 + 16 + 2 and the bar
		 * 12 + 2 + 16 + 8 make 26 + 56 + 38 = 120 */
		{ &f->w, 500, "maps.png': the figure would be 9284x120 pixels (at most 8192 a side)" },
		{ &f->rows, 257, "figure has 257 rows (at most 256 defect types)" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int keep = *cases[i].field;
		*cases[i].field = cases[i].bad;
		expect_write_error(f, png, txt, cases[i].what);
		*cases[i].field = keep;
	}
	expect_write_error(f, bad, txt, "missing/maps.png");
	/* the caption cannot be written: the figure goes too */
	expect_write_error(f, png, badtxt, "missing/maps.txt");
	free(bad);
	free(badtxt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mapfig_outline_should_keep_the_boundary_pixels),
		cmocka_unit_test(mapfig_colour_should_run_from_black_to_white),
		cmocka_unit_test(mapfig_pick_should_choose_by_margin_with_ties_to_the_first),
		cmocka_unit_test_setup_teardown(mapfig_write_should_draw_both_outlines, fig_setup,
						fig_teardown),
		cmocka_unit_test_setup_teardown(mapfig_write_should_give_the_same_bytes_twice, fig_setup,
						fig_teardown),
		cmocka_unit_test_setup_teardown(mapfig_write_should_reject_bad_figures_and_paths, fig_setup,
						fig_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
