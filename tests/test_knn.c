/* test_knn.c: the k-nearest-neighbour baseline against
 * tests/data/knn/cases.txt, whose neighbours, distances, reconstructions
 * and scores make_fixture.py computes independently and exactly; its
 * errors; and self-reconstruction at the shipped study's size. */
#include "knn.h"

#include "cache.h"
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

/* Reconstructions are floats: the mean of k values of [0,1] rounded once
 * to float is within 2^-24 of the exact mean; maps and scores built from
 * them are squares of differences of at most 1, so within 2 * 2^-24.
 * Distances are exact: every value is a multiple of 1/256. */
#define TOL_RECON 1e-7
#define TOL_SCORE 2e-7
#define TOL_DIST 1e-12

static void expect_word(FILE *f, const char *word)
{
	char got[64];
	assert_int_equal(fscanf(f, "%63s", got), 1);
	assert_string_equal(got, word);
}

/* n images of d values v/256, each after the word "train" or "query". */
static float *read_images(FILE *f, const char *word, int n, size_t d)
{
	float *X = malloc((size_t)n * d * sizeof *X);
	for (int i = 0; i < n; i++) {
		expect_word(f, word);
		for (size_t p = 0; p < d; p++) {
			int v;
			assert_int_equal(fscanf(f, "%d", &v), 1);
			X[(size_t)i * d + p] = (float)v / 256.0f;
		}
	}
	return X;
}

/* One query of one case: the fixture's lines against the model. */
static void check_query(FILE *f, const struct knn *m, const float *q, const char *pool, int pk)
{
	size_t d = (size_t)m->c * m->h * m->w;
	int idx[8];
	double dist[8], want;
	knn_neighbours(m, q, idx, dist);
	expect_word(f, "neighbours");
	for (int j = 0; j < m->k; j++) {
		int want_i;
		assert_int_equal(fscanf(f, "%d", &want_i), 1);
		assert_int_equal(idx[j], want_i);
	}
	expect_word(f, "dist");
	for (int j = 0; j < m->k; j++) {
		assert_int_equal(fscanf(f, "%lf", &want), 1);
		near(dist[j], want, TOL_DIST);
	}
	float *r = malloc(d * sizeof *r);
	knn_reconstruct(m, q, r);
	expect_word(f, "recon");
	for (size_t p = 0; p < d; p++) {
		assert_int_equal(fscanf(f, "%lf", &want), 1);
		near(r[p], want, TOL_RECON);
	}
	free(r);
	double score;
	enum anomaly_pool kind = strcmp(pool, "mean") ? ANOMALY_POOL_MAX_LOCAL : ANOMALY_POOL_MEAN;
	assert_int_equal(knn_score(m, q, 1, m->c, m->h, m->w, kind, pk, &score, NULL), 0);
	expect_word(f, "score");
	assert_int_equal(fscanf(f, "%lf", &want), 1);
	near(score, want, TOL_SCORE);
}

static void knn_should_match_the_fixture(void **state)
{
	(void)state;
	char path[4096];
	snprintf(path, sizeof path, "%s/tests/data/knn/cases.txt", getenv("SRCDIR"));
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int n, c, h, w, nq;
	assert_int_equal(fscanf(f, "%d %d %d %d %d", &n, &c, &h, &w, &nq), 5);
	size_t d = (size_t)c * h * w;
	float *train = read_images(f, "train", n, d);
	float *query = read_images(f, "query", nq, d);
	int cases = 0;
	char name[64], pool[16];
	int k, factor, pk;
	while (fscanf(f, " case %63s %d %d %15s %d", name, &k, &factor, pool, &pk) == 5) {
		struct knn *m = knn_fit(train, n, c, h, w, k, factor);
		assert_non_null(m);
		for (int i = 0; i < nq; i++)
			check_query(f, m, query + (size_t)i * d, pool, pk);
		knn_free(m);
		cases++;
	}
	assert_int_equal(cases, 4);
	fclose(f);
	free(train);
	free(query);
}

/* The cache entry points on a selection of the fixture's images must give
 * what the array entry points give on the same images copied out: the
 * fixture checks the latter. */
static void knn_cached_should_match_the_arrays(void **state)
{
	(void)state;
	enum { N = 6, C = 2, H = 4, W = 4, D = C * H * W };
	float data[N * D], sel[3 * D];
	for (int i = 0; i < N * D; i++)
		data[i] = (float)((i * 37) % 101) / 100.0f;
	struct cache cc = { .w = W, .h = H, .c = C, .n = N, .data = data };
	const int train_idx[3] = { 4, 1, 3 }, test_idx[4] = { 0, 2, 5, 1 };
	for (int i = 0; i < 3; i++)
		memcpy(sel + i * D, data + train_idx[i] * D, sizeof(float) * D);
	struct knn *a = knn_fit_cached(&cc, train_idx, 3, 2, 2);
	struct knn *b = knn_fit(sel, 3, C, H, W, 2, 2);
	assert_non_null(a);
	assert_non_null(b);
	double sa[4], sb[4], ma[4 * H * W], mb[4 * H * W];
	assert_int_equal(knn_score_cached(a, &cc, test_idx, 4, ANOMALY_POOL_MAX_LOCAL, 2, sa, ma), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(knn_score(b, data + test_idx[i] * D, 1, C, H, W,
					   ANOMALY_POOL_MAX_LOCAL, 2, &sb[i], mb + i * H * W), 0);
		assert_true(sa[i] == sb[i]);
	}
	assert_memory_equal(ma, mb, sizeof ma);
	/* image 1 is in the training set: its nearest neighbour is itself,
	 * at position 1 of train_idx */
	int idx[2];
	knn_neighbours(a, data + 1 * D, idx, NULL);
	assert_int_equal(idx[0], 1);
	struct cache grey = { .w = W, .h = H, .c = 1, .n = N, .data = data };
	test_stderr_begin();
	int rc = knn_score_cached(a, &grey, test_idx, 1, ANOMALY_POOL_MEAN, 1, sa, NULL);
	char *msg = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(msg, "images are 4x4x1, but the model was fitted on 4x4x2"));
	free(msg);
	test_stderr_begin();
	assert_null(knn_fit_cached(&cc, train_idx, 3, 4, 1));
	msg = test_stderr_end();
	assert_non_null(strstr(msg, "k = 4, factor = 1, 3 normal images of 4x4x2"));
	free(msg);
	knn_free(a);
	knn_free(b);
}

/* knn_fit(...) must return NULL and print one error line containing what. */
static void expect_fit_error(int n, int c, int h, int w, int k, int factor, const char *what)
{
	float X[2 * 3 * 4 * 4] = { 0 };
	test_stderr_begin();
	struct knn *m = knn_fit(X, n, c, h, w, k, factor);
	char *msg = test_stderr_end();
	assert_null(m);
	assert_non_null(strstr(msg, what));
	assert_non_null(strstr(msg, "error: knn:"));
	assert_ptr_equal(strchr(msg, '\n'), msg + strlen(msg) - 1);
	free(msg);
}

static void knn_fit_should_reject_bad_arguments(void **state)
{
	(void)state;
	expect_fit_error(2, 3, 4, 4, 3, 1, "k must be from 1 to the number of normal training images");
	expect_fit_error(2, 3, 4, 4, 0, 1, "k = 0");
	expect_fit_error(0, 3, 4, 4, 1, 1, "0 normal images");
	expect_fit_error(2, 3, 4, 4, 1, 3, "factor must divide");
	expect_fit_error(2, 3, 4, 4, 1, 0, "factor = 0");
	expect_fit_error(2, 0, 4, 4, 1, 1, "shape is not positive");
	knn_free(NULL);
}

static void knn_score_should_reject_another_shape(void **state)
{
	(void)state;
	float X[2 * 3 * 4 * 4] = { 0 };
	struct knn *m = knn_fit(X, 2, 3, 4, 4, 1, 1);
	assert_non_null(m);
	double score = -1;
	test_stderr_begin();
	int rc = knn_score(m, X, 1, 1, 4, 4, ANOMALY_POOL_MEAN, 1, &score, NULL);
	char *msg = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(msg, "images are 4x4x1, but the model was fitted on 4x4x3"));
	assert_true(score == -1);
	free(msg);
	knn_free(m);
}

/* At the shipped study's size (150 normal 64x64x3 images, 65 scored), with
 * k = 1 each training image is its own nearest neighbour, with or without
 * downsampling: its map is all 0. */
static void knn_should_find_a_training_image_itself(void **state)
{
	(void)state;
	enum { N = 150, Q = 65, C = 3, H = 64, W = 64 };
	size_t d = (size_t)C * H * W;
	float *X = malloc((size_t)N * d * sizeof *X);
	unsigned s = 12345;
	for (size_t i = 0; i < (size_t)N * d; i++) {
		s = s * 1103515245u + 12345u;
		X[i] = (float)((s >> 16) & 0xff) / 255.0f;
	}
	double *score = malloc(Q * sizeof *score), *maps = malloc((size_t)Q * H * W * sizeof *maps);
	for (int factor = 1; factor <= 4; factor *= 4) {
		struct knn *m = knn_fit(X, N, C, H, W, 1, factor);
		assert_non_null(m);
		assert_int_equal(knn_score(m, X, Q, C, H, W, ANOMALY_POOL_MAX_LOCAL, 4, score, maps), 0);
		for (int i = 0; i < Q; i++)
			assert_true(score[i] == 0.0);
		for (size_t p = 0; p < (size_t)Q * H * W; p++)
			assert_true(maps[p] == 0.0);
		knn_free(m);
	}
	free(score);
	free(maps);
	free(X);
}

int main(void)
{
	if (!getenv("SRCDIR")) {
		fprintf(stderr, "SKIP: SRCDIR is not set (run through ctest)\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(knn_should_match_the_fixture),
		cmocka_unit_test(knn_cached_should_match_the_arrays),
		cmocka_unit_test(knn_fit_should_reject_bad_arguments),
		cmocka_unit_test(knn_score_should_reject_another_shape),
		cmocka_unit_test(knn_should_find_a_training_image_itself),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
