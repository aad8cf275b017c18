/* test_anomaly.c: anomaly maps and pooling against values worked out by
 * hand; pixel AUROC and PRO against tests/data/anomaly/pixels.txt, whose
 * reference values make_fixture.py computes independently. */
#include "anomaly.h"

#include "helpers.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define near(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

static void anomaly_map_should_average_squared_error_over_channels(void **state)
{
	(void)state;
	/* (C=2, H=1, W=2): pixel 0 differs by .5 and .25, pixel 1 by 0 and 1 */
	const float x[4] = { 1.0f, 0.0f, 0.5f, 1.0f };
	const float r[4] = { 0.5f, 0.0f, 0.25f, 0.0f };
	double map[2];
	anomaly_map(x, r, 2, 1, 2, map);
	near(map[0], (0.25 + 0.0625) / 2, 1e-12);
	near(map[1], (0.0 + 1.0) / 2, 1e-12);
}

/* 3x4 map:
 *   1 2 0 0
 *   3 4 0 8
 *   0 0 0 0 */
static const double map34[12] = { 1, 2, 0, 0, 3, 4, 0, 8, 0, 0, 0, 0 };

static void anomaly_pool_should_take_mean_and_best_box(void **state)
{
	(void)state;
	near(anomaly_pool(map34, 3, 4, ANOMALY_POOL_MEAN, 4), 18.0 / 12, 1e-12);
	/* 2x2 boxes: (1+2+3+4)/4 = 2.5 beats (0+0+0+8)/4 = 2 */
	near(anomaly_pool(map34, 3, 4, ANOMALY_POOL_MAX_LOCAL, 2), 2.5, 1e-12);
	/* 1x1 is the maximum */
	near(anomaly_pool(map34, 3, 4, ANOMALY_POOL_MAX_LOCAL, 1), 8.0, 1e-12);
	/* 3x3 boxes: columns 0-2 sum 10, columns 1-3 sum 14 */
	near(anomaly_pool(map34, 3, 4, ANOMALY_POOL_MAX_LOCAL, 3), 14.0 / 9, 1e-12);
	/* k larger than the map is clamped to 3 */
	near(anomaly_pool(map34, 3, 4, ANOMALY_POOL_MAX_LOCAL, 9), 14.0 / 9, 1e-12);
	assert_string_equal(anomaly_pool_name(ANOMALY_POOL_MAX_LOCAL), "max_local");
	assert_string_equal(anomaly_pool_name(ANOMALY_POOL_MEAN), "mean");
}

static void anomaly_pixel_metrics_should_match_the_fixture(void **state)
{
	(void)state;
	const char *src = getenv("SRCDIR");
	if (!src)
		skip();
	char path[4096];
	snprintf(path, sizeof path, "%s/tests/data/anomaly/pixels.txt", src);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int n, h, w, regions;
	assert_int_equal(fscanf(f, "%d %d %d", &n, &h, &w), 3);
	long total = (long)n * h * w;
	double *maps = malloc((size_t)total * sizeof *maps);
	unsigned char *masks = malloc((size_t)total);
	for (long i = 0; i < total; i++)
		assert_int_equal(fscanf(f, "%lf", &maps[i]), 1);
	for (long i = 0; i < total; i++) {
		int m;
		assert_int_equal(fscanf(f, "%d", &m), 1);
		masks[i] = (unsigned char)m;
	}
	double want_auroc, want_pro;
	assert_int_equal(fscanf(f, " regions %d pixel_auroc %lf pro %lf", &regions, &want_auroc,
				&want_pro), 3);
	fclose(f);
	near(anomaly_pixel_auroc(maps, masks, total), want_auroc, 1e-12);
	near(anomaly_pro(maps, masks, n, h, w, 0.3), want_pro, 1e-12);
	free(maps);
	free(masks);
}

static void anomaly_pro_should_reward_a_perfect_map(void **state)
{
	(void)state;
	/* 1x4 image: defect pixels scored above every clean pixel. The curve
	 * rises to PRO 1 at FPR 0 and stays: area 0.3, normalised 1. */
	const double maps[4] = { 0.9, 0.8, 0.1, 0.2 };
	const unsigned char masks[4] = { 1, 1, 0, 0 };
	near(anomaly_pro(maps, masks, 1, 1, 4, 0.3), 1.0, 1e-12);
	near(anomaly_pixel_auroc(maps, masks, 4), 1.0, 1e-12);
	/* reversed: defect pixels lowest; PRO stays 0 until FPR 1 */
	const double rev[4] = { 0.1, 0.2, 0.9, 0.8 };
	near(anomaly_pro(rev, masks, 1, 1, 4, 0.3), 0.0, 1e-12);
	near(anomaly_pixel_auroc(rev, masks, 4), 0.0, 1e-12);
}

static void anomaly_pixel_metrics_should_be_undefined_without_both_classes(void **state)
{
	(void)state;
	const double maps[4] = { 0.9, 0.8, 0.1, 0.2 };
	const unsigned char none[4] = { 0, 0, 0, 0 }, all[4] = { 1, 1, 1, 1 };
	assert_true(isnan(anomaly_pixel_auroc(maps, none, 4)));
	assert_true(isnan(anomaly_pixel_auroc(maps, all, 4)));
	assert_true(isnan(anomaly_pro(maps, none, 1, 2, 2, 0.3)));
	assert_true(isnan(anomaly_pro(maps, all, 1, 2, 2, 0.3)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(anomaly_map_should_average_squared_error_over_channels),
		cmocka_unit_test(anomaly_pool_should_take_mean_and_best_box),
		cmocka_unit_test(anomaly_pixel_metrics_should_match_the_fixture),
		cmocka_unit_test(anomaly_pro_should_reward_a_perfect_map),
		cmocka_unit_test(anomaly_pixel_metrics_should_be_undefined_without_both_classes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
