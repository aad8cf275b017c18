/* test_synth.c: the synthetic cable set: counts, masks, difficulty, rotation,
 * determinism, and the files it writes. Small image sizes keep it fast. */
#include "synth.h"

#include "dataset.h"
#include "error.h"
#include "fsutil.h"
#include "helpers.h"
#include "image.h"
#include "sha256.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void folders_should_have_the_real_cable_counts(void **state)
{
	(void)state;
	const struct {
		const char *name;
		int n;
	} want[] = { { "train/good", 224 }, { "test/good", 58 },
		     { "test/bent_wire", 13 }, { "test/cable_swap", 12 },
		     { "test/combined", 11 }, { "test/cut_inner_insulation", 14 },
		     { "test/cut_outer_insulation", 10 }, { "test/missing_cable", 12 },
		     { "test/missing_wire", 10 }, { "test/poke_insulation", 10 } };
	assert_int_equal(synth_folder_count(), 10);
	int defects = 0;
	for (int f = 0; f < 10; f++) {
		assert_string_equal(synth_folder_name(f), want[f].name);
		assert_int_equal(synth_folder_images(f), want[f].n);
		assert_string_equal(synth_folder_defect(f), f < 2 ? "good" : want[f].name + 5);
		if (f >= 2)
			defects += want[f].n;
	}
	assert_int_equal(defects, 92);
	assert_null(synth_folder_name(10));
}

static void options_should_be_range_checked(void **state)
{
	(void)state;
	struct synth_options ok = { 1, 64, 1.0, 10 }, small = { 1, 16, 1.0, 10 }, easy = { 1, 64, 0.1, 10 },
			     nan = { 1, 64, NAN, 10 }, neg = { 1, 64, 1.0, -1 },
			     wide = { 1, 64, 1.0, 180.5 }, nanrot = { 1, 64, 1.0, NAN };
	assert_int_equal(synth_options_check(&ok), 0);
	test_stderr_begin();
	assert_int_equal(synth_options_check(&small), -1);
	assert_int_equal(synth_options_check(&easy), -1);
	assert_int_equal(synth_options_check(&nan), -1);
	assert_int_equal(synth_options_check(&neg), -1);
	assert_int_equal(synth_options_check(&wide), -1);
	assert_int_equal(synth_options_check(&nanrot), -1);
	char *msg = test_stderr_end();
	assert_non_null(strstr(msg, "invalid synthetic image size 16"));
	assert_non_null(strstr(msg, "invalid synthetic difficulty"));
	assert_non_null(strstr(msg, "invalid synthetic rotation -1: expected 0..180 degrees"));
	assert_non_null(strstr(msg, "invalid synthetic rotation 180.5"));
	free(msg);
}

static long count_mask(const uint8_t *mask, size_t n)
{
	long c = 0;
	for (size_t i = 0; i < n; i++) {
		assert_true(mask[i] == 0 || mask[i] == 255);
		c += mask[i] != 0;
	}
	return c;
}

static void masks_should_mark_exactly_the_changed_pixels(void **state)
{
	(void)state;
	enum { N = 64 };
	struct synth_options o = { 11, N, 1.0, 10 };
	uint8_t rgb[N * N * 3], clean[N * N * 3], mask[N * N];
	for (int f = 0; f < synth_folder_count(); f++)
		for (int i = 0; i < 3; i++) {
			assert_int_equal(synth_render(&o, f, i, rgb, mask, clean), 0);
			long area = count_mask(mask, N * N);
			if (f < 2) {
				assert_int_equal(area, 0);
				assert_memory_equal(rgb, clean, sizeof rgb);
				continue;
			}
			assert_true(area > 0);
			for (int p = 0; p < N * N; p++) {
				int differs = memcmp(rgb + 3 * p, clean + 3 * p, 3) != 0;
				assert_int_equal(differs, mask[p] == 255);
			}
			/* a defect is local: it never covers half the image */
			assert_true(area < N * N / 2);
		}
}

static void clean_rendering_should_be_a_plausible_good_cable(void **state)
{
	(void)state;
	/* the defect image's clean twin is drawn like a good image: the same
	 * layout statistics (the centre pixel lies inside the cable: brighter
	 * than the dark background in the corner) */
	enum { N = 64 };
	struct synth_options o = { 3, N, 1.0, 10 };
	uint8_t rgb[N * N * 3], clean[N * N * 3];
	for (int f = 0; f < synth_folder_count(); f++) {
		assert_int_equal(synth_render(&o, f, 0, rgb, NULL, clean), 0);
		int corner = clean[0] + clean[1] + clean[2];
		int centre = 0;
		for (int c = 0; c < 3; c++)
			centre += clean[((N / 2) * N + N / 2) * 3 + c];
		assert_true(corner < 3 * 60);
		assert_true(centre > corner + 60);
	}
}

/* Direction, in degrees clockwise from "straight down" (image y grows
 * downwards), of the green conductor's insulation as seen from the cable's
 * centre: the centroid of the clearly green pixels relative to the centroid
 * of all pixels brighter than the dark background. */
static double green_angle(const uint8_t *rgb, int n)
{
	double gx = 0, gy = 0, cx = 0, cy = 0;
	long green = 0, cable = 0;
	for (int y = 0; y < n; y++)
		for (int x = 0; x < n; x++) {
			const uint8_t *p = rgb + ((size_t)y * n + x) * 3;
			if (p[1] > 60 && p[1] > 1.5 * p[0] && p[1] > 1.5 * p[2]) {
				gx += x;
				gy += y;
				green++;
			}
			if (p[0] + p[1] + p[2] > 3 * 60) {
				cx += x;
				cy += y;
				cable++;
			}
		}
	assert_true(green > n * n / 100);
	assert_true(cable > n * n / 4);
	return atan2(-(gx / green - cx / cable), gy / green - cy / cable) * 180.0 /
	       3.14159265358979323846;
}

/* a - b in degrees, wrapped to (-180, 180] */
static double angle_diff(double a, double b)
{
	double d = fmod(a - b, 360.0);
	if (d > 180.0)
		d -= 360.0;
	if (d <= -180.0)
		d += 360.0;
	return d;
}

static void rotation_should_bound_the_cable_orientation(void **state)
{
	(void)state;
	/* An image's random draws do not depend on the rotation setting: the
	 * same image at rotation R is the one at rotation 0 turned by R * u,
	 * with one u in [-1, 1] per image. The measured angle of one image is
	 * off by up to about 12 degrees (each conductor's angle is jittered by
	 * +-3 degrees and the yellow stripe, not green, pulls the centroid
	 * sideways), but that error nearly cancels in the difference between
	 * two rotations of the same image. */
	enum { N = 96, IMAGES = 24 };
	static uint8_t rgb[N * N * 3];
	const double rot[3] = { 0, 10, 180 };
	double angle[3][IMAGES];
	for (int k = 0; k < 3; k++) {
		struct synth_options o = { 4, N, 1.0, rot[k] };
		for (int i = 0; i < IMAGES; i++) {
			assert_int_equal(synth_render(&o, 0, i, rgb, NULL, NULL), 0);
			angle[k][i] = green_angle(rgb, N);
		}
	}
	double widest[3] = { 0, 0, 0 };
	for (int i = 0; i < IMAGES; i++) {
		assert_true(fabs(angle[0][i]) < 15.0); /* upright */
		for (int k = 1; k < 3; k++) {
			double d = fabs(angle_diff(angle[k][i], angle[0][i]));
			if (d > widest[k])
				widest[k] = d;
		}
	}
	assert_true(widest[1] <= 10.0 + 2.0);
	assert_true(widest[1] >= 7.0); /* the range is used */
	assert_true(widest[2] > 120.0); /* any orientation: some turned far away */
}

static long total_area(double difficulty, int folder)
{
	enum { N = 96 };
	struct synth_options o = { 5, N, difficulty, 10 };
	static uint8_t rgb[N * N * 3], mask[N * N];
	long sum = 0;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(synth_render(&o, folder, i, rgb, mask, NULL), 0);
		sum += count_mask(mask, N * N);
	}
	return sum;
}

static void difficulty_should_shrink_defects(void **state)
{
	(void)state;
	const int sized[] = { 2, 5, 6, 9 }; /* bent_wire, cut_inner, cut_outer, poke */
	for (int k = 0; k < 4; k++) {
		long easy = total_area(0.5, sized[k]), normal = total_area(1.0, sized[k]),
		     hard = total_area(2.0, sized[k]);
		assert_true(easy > normal);
		assert_true(normal > hard);
		assert_true(hard > 0);
	}
}

static void difficulty_should_lower_contrast(void **state)
{
	(void)state;
	/* cable_swap changes a whole conductor's colour: its size is fixed, so
	 * the mean absolute change inside the mask measures contrast */
	enum { N = 64 };
	double mean[2];
	const double d[2] = { 1.0, 3.0 };
	for (int k = 0; k < 2; k++) {
		struct synth_options o = { 9, N, d[k], 10 };
		static uint8_t rgb[N * N * 3], clean[N * N * 3], mask[N * N];
		double s = 0;
		long n = 0;
		for (int i = 0; i < 4; i++) {
			assert_int_equal(synth_render(&o, 3, i, rgb, mask, clean), 0);
			for (int p = 0; p < N * N; p++)
				if (mask[p])
					for (int c = 0; c < 3; c++, n++)
						s += fabs((double)rgb[3 * p + c] - clean[3 * p + c]);
		}
		mean[k] = s / (double)n;
	}
	assert_true(mean[1] < 0.6 * mean[0]);
}

static void render_should_be_deterministic_per_seed(void **state)
{
	(void)state;
	enum { N = 48 };
	struct synth_options a = { 42, N, 1.0, 10 }, b = { 43, N, 1.0, 10 };
	static uint8_t x[N * N * 3], y[N * N * 3], mx[N * N], my[N * N];
	for (int f = 0; f < synth_folder_count(); f++) {
		assert_int_equal(synth_render(&a, f, 1, x, mx, NULL), 0);
		assert_int_equal(synth_render(&a, f, 1, y, my, NULL), 0);
		assert_memory_equal(x, y, sizeof x);
		assert_memory_equal(mx, my, sizeof mx);
		assert_int_equal(synth_render(&b, f, 1, y, NULL, NULL), 0);
		assert_memory_not_equal(x, y, sizeof x);
		/* images of one folder differ from each other */
		assert_int_equal(synth_render(&a, f, 2, y, NULL, NULL), 0);
		assert_memory_not_equal(x, y, sizeof x);
	}
}

static char *hash_tree(const char *dir)
{
	char *cmd = xasprintf("cd '%s' && find . -type f | LC_ALL=C sort | xargs sha256sum", dir);
	char *out;
	assert_int_equal(test_run(cmd, &out), 0);
	free(cmd);
	return out;
}

static void generate_should_write_the_mvtec_layout_identically(void **state)
{
	(void)state;
	char *a = test_tmpdir(), *b = test_tmpdir(), *c = test_tmpdir();
	struct synth_options o = { 7, 32, 1.0, 10 }, other = { 8, 32, 1.0, 10 };
	assert_int_equal(synth_is_current(&o, a), 0);
	assert_int_equal(synth_generate(&o, a), 0);
	assert_int_equal(synth_generate(&o, b), 0);
	assert_int_equal(synth_generate(&other, c), 0);
	assert_int_equal(synth_is_current(&o, a), 1);
	assert_int_equal(synth_is_current(&other, a), 0);
	struct synth_options turned = o, harder = o;
	turned.rotation = 20;
	harder.difficulty = 2;
	assert_int_equal(synth_is_current(&turned, a), 0);
	assert_int_equal(synth_is_current(&harder, a), 0);
	char *ha = hash_tree(a), *hb = hash_tree(b), *hc = hash_tree(c);
	assert_string_equal(ha, hb);
	assert_string_not_equal(ha, hc);
	/* the loader sees the real category's counts, masks only for defects */
	char *normal[] = { "train/good", "test/good" }, *anomalous[] = { "test/*" };
	struct dataset d;
	assert_int_equal(dataset_scan(a, "cable", normal, 2, anomalous, 1, &d), 0);
	assert_int_equal(d.n_normal, 224 + 58);
	assert_int_equal(d.n_anomalous, 92);
	int masks = 0;
	for (int i = 0; i < d.n; i++) {
		assert_int_equal(d.items[i].mask != NULL, d.items[i].label == LABEL_ANOMALOUS);
		masks += d.items[i].mask != NULL;
	}
	assert_int_equal(masks, 92);
	struct image_png_format f;
	long nz;
	assert_int_equal(image_png_count_nonzero(d.items[0].mask, &f, &nz), 0);
	assert_true(nz > 0);
	assert_int_equal(f.width, 32);
	assert_int_equal(f.color_type, IMAGE_GRAY);
	dataset_release(&d);
	/* a regenerated set replaces the old files */
	assert_int_equal(synth_generate(&other, a), 0);
	char *ha2 = hash_tree(a);
	assert_string_equal(ha2, hc);
	free(ha);
	free(hb);
	free(hc);
	free(ha2);
	test_rm_rf(a);
	test_rm_rf(b);
	test_rm_rf(c);
	free(a);
	free(b);
	free(c);
}

static void contact_sheet_should_tile_nine_columns(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char *p = xasprintf("%s/sheet.png", dir);
	struct synth_options o = { 7, 48, 1.0, 10 };
	assert_int_equal(synth_contact_sheet(&o, p), 0);
	struct image_png_format f;
	assert_int_equal(image_png_info(p, &f), 0);
	assert_int_equal(f.width, 9 * (256 + 4) + 4);
	assert_int_equal(f.height, 18 + 3 * (256 + 4) + 4);
	assert_int_equal(f.color_type, IMAGE_RGB);
	free(p);
	test_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(folders_should_have_the_real_cable_counts),
		cmocka_unit_test(options_should_be_range_checked),
		cmocka_unit_test(masks_should_mark_exactly_the_changed_pixels),
		cmocka_unit_test(clean_rendering_should_be_a_plausible_good_cable),
		cmocka_unit_test(rotation_should_bound_the_cable_orientation),
		cmocka_unit_test(difficulty_should_shrink_defects),
		cmocka_unit_test(difficulty_should_lower_contrast),
		cmocka_unit_test(render_should_be_deterministic_per_seed),
		cmocka_unit_test(generate_should_write_the_mvtec_layout_identically),
		cmocka_unit_test(contact_sheet_should_tile_nine_columns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
