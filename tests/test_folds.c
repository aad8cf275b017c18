/* test_folds.c: stratified repeated k-fold and the inner split. */
#include "folds.h"

#include "error.h"
#include "helpers.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The study's scale: 224 normal and 92 anomalous images, interleaved. */
#define N_STUDY 316
static void study_labels(int *labels)
{
	for (int i = 0; i < N_STUDY; i++)
		labels[i] = (i * 92) / N_STUDY != ((i + 1) * 92) / N_STUDY;
}

static void count_classes(const int *labels, int n, int c[2])
{
	c[0] = c[1] = 0;
	for (int i = 0; i < n; i++)
		c[labels[i]]++;
}

static void folds_should_keep_class_ratio(void **state)
{
	(void)state;
	int labels[N_STUDY];
	study_labels(labels);
	int c[2];
	count_classes(labels, N_STUDY, c);
	assert_int_equal(c[0], 224);
	assert_int_equal(c[1], 92);
	struct folds fo;
	assert_int_equal(folds_split(labels, N_STUDY, 5, 3, 42, 1, &fo), 0);
	assert_int_equal(fo.n, N_STUDY);
	for (int r = 0; r < 3; r++) {
		int total = 0;
		for (int f = 0; f < 5; f++) {
			int test[2], train[2];
			assert_int_equal(folds_counts(&fo, labels, r, f, test, train), 0);
			/* within one image of n_class / k: 224/5 = 44.8, 92/5 = 18.4 */
			assert_true(fabs(test[0] - 224.0 / 5) < 1);
			assert_true(fabs(test[1] - 92.0 / 5) < 1);
			assert_int_equal(test[0] + train[0], 224);
			assert_int_equal(test[1] + train[1], 92);
			int size = test[0] + test[1];
			/* 316 / 5 = 63.2: sizes 63 or 64 */
			assert_true(size == 63 || size == 64);
			total += size;
		}
		assert_int_equal(total, N_STUDY);
	}
	folds_release(&fo);
}

static void folds_should_put_each_image_in_one_test_fold_per_repeat(void **state)
{
	(void)state;
	int labels[N_STUDY];
	study_labels(labels);
	struct folds fo;
	assert_int_equal(folds_split(labels, N_STUDY, 4, 2, 7, 1, &fo), 0);
	for (int r = 0; r < 2; r++) {
		int seen[N_STUDY] = { 0 };
		for (int f = 0; f < 4; f++) {
			int *te, nte;
			assert_int_equal(folds_unit(&fo, labels, r, f, 0.2, 7, NULL, NULL, &te, &nte,
						    NULL, NULL, NULL, NULL), 0);
			for (int j = 0; j < nte; j++) {
				seen[te[j]]++;
				if (j > 0)
					assert_true(te[j] > te[j - 1]);
			}
			free(te);
		}
		for (int i = 0; i < N_STUDY; i++)
			assert_int_equal(seen[i], 1);
	}
	folds_release(&fo);
}

static void folds_should_be_deterministic_from_the_seed(void **state)
{
	(void)state;
	int labels[N_STUDY];
	study_labels(labels);
	struct folds a, b, c;
	assert_int_equal(folds_split(labels, N_STUDY, 5, 2, 123, 1, &a), 0);
	assert_int_equal(folds_split(labels, N_STUDY, 5, 2, 123, 1, &b), 0);
	assert_int_equal(folds_split(labels, N_STUDY, 5, 2, 124, 1, &c), 0);
	assert_memory_equal(a.fold, b.fold, sizeof(int) * 2 * N_STUDY);
	assert_true(memcmp(a.fold, c.fold, sizeof(int) * 2 * N_STUDY) != 0);
	/* the two repeats differ from each other */
	assert_true(memcmp(a.fold, a.fold + N_STUDY, sizeof(int) * N_STUDY) != 0);
	folds_release(&a);
	folds_release(&b);
	folds_release(&c);
}

static void folds_should_derive_seeds_from_sha256(void **state)
{
	(void)state;
	/* python3: int(hashlib.sha256(b"darkfold-seed/1:42:folds:0:0").hexdigest()[:16], 16) */
	assert_true(folds_derive_seed(42, "folds", 0, 0) == UINT64_C(7322646341529782996));
	assert_true(folds_derive_seed(UINT64_MAX, "unit", 3, 4) == UINT64_C(14780785040555922808));
}

static void folds_should_split_without_stratification(void **state)
{
	(void)state;
	int labels[10] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct folds fo;
	assert_int_equal(folds_split(labels, 10, 3, 1, 1, 0, &fo), 0);
	int size[3] = { 0, 0, 0 };
	for (int i = 0; i < 10; i++) {
		assert_true(fo.fold[i] >= 0 && fo.fold[i] < 3);
		size[fo.fold[i]]++;
	}
	/* 10 / 3: sizes 4, 3, 3 */
	assert_int_equal(size[0], 4);
	assert_int_equal(size[1], 3);
	assert_int_equal(size[2], 3);
	folds_release(&fo);
}

static void folds_inner_split_should_use_training_images_only(void **state)
{
	(void)state;
	int labels[N_STUDY];
	study_labels(labels);
	struct folds fo;
	assert_int_equal(folds_split(labels, N_STUDY, 5, 2, 99, 1, &fo), 0);
	for (int r = 0; r < 2; r++) {
		for (int f = 0; f < 5; f++) {
			int *tr, *te, *itr, *iva, ntr, nte, nitr, niva;
			assert_int_equal(folds_unit(&fo, labels, r, f, 0.2, 99, &tr, &ntr, &te, &nte,
						    &itr, &nitr, &iva, &niva), 0);
			char *where = xcalloc(N_STUDY, 1); /* 't' test, 'r' train */
			for (int j = 0; j < nte; j++)
				where[te[j]] = 't';
			for (int j = 0; j < ntr; j++) {
				assert_int_equal(where[tr[j]], 0);
				where[tr[j]] = 'r';
			}
			int got[N_STUDY] = { 0 };
			int vc[2] = { 0, 0 }, trc[2] = { 0, 0 };
			for (int j = 0; j < nitr; j++) {
				assert_int_equal(where[itr[j]], 'r'); /* never a test image */
				got[itr[j]]++;
			}
			for (int j = 0; j < niva; j++) {
				assert_int_equal(where[iva[j]], 'r');
				got[iva[j]]++;
				vc[labels[iva[j]]]++;
				if (j > 0)
					assert_true(iva[j] > iva[j - 1]);
			}
			for (int j = 0; j < ntr; j++) {
				assert_int_equal(got[tr[j]], 1); /* partition of train */
				trc[labels[tr[j]]]++;
			}
			assert_int_equal(nitr + niva, ntr);
			/* round(0.2 * class count) of each class */
			assert_int_equal(vc[0], (int)floor(0.2 * trc[0] + 0.5));
			assert_int_equal(vc[1], (int)floor(0.2 * trc[1] + 0.5));
			free(where);
			free(tr);
			free(te);
			free(itr);
			free(iva);
		}
	}
	folds_release(&fo);
}

/* A class is never moved to inner validation entirely. 6 normal and 2
 * anomalous images in 2 folds: each unit trains on 3 normal and 1 anomalous;
 * at fraction 0.5, round(1.5) = 2 normal go to validation, and round(0.5) = 1
 * anomalous would be all of them, so none does. */
static void folds_inner_split_should_leave_each_class_in_training(void **state)
{
	(void)state;
	int labels[8] = { 0, 0, 0, 0, 0, 0, 1, 1 };
	struct folds fo;
	assert_int_equal(folds_split(labels, 8, 2, 1, 3, 1, &fo), 0);
	for (int f = 0; f < 2; f++) {
		int *itr, *iva, nitr, niva, tc[2] = { 0, 0 }, vc[2] = { 0, 0 };
		assert_int_equal(folds_unit(&fo, labels, 0, f, 0.5, 3, NULL, NULL, NULL, NULL, &itr,
					    &nitr, &iva, &niva), 0);
		for (int j = 0; j < nitr; j++)
			tc[labels[itr[j]]]++;
		for (int j = 0; j < niva; j++)
			vc[labels[iva[j]]]++;
		assert_int_equal(vc[0], 2);
		assert_int_equal(vc[1], 0);
		assert_int_equal(tc[0], 1);
		assert_int_equal(tc[1], 1);
		free(itr);
		free(iva);
	}
	folds_release(&fo);
}

static void folds_inner_split_should_be_seeded(void **state)
{
	(void)state;
	int labels[N_STUDY];
	study_labels(labels);
	struct folds fo;
	assert_int_equal(folds_split(labels, N_STUDY, 5, 1, 5, 1, &fo), 0);
	int *a, *b, *c, na, nb, nc;
	assert_int_equal(folds_unit(&fo, labels, 0, 1, 0.25, 5, NULL, NULL, NULL, NULL, NULL, NULL,
				    &a, &na), 0);
	assert_int_equal(folds_unit(&fo, labels, 0, 1, 0.25, 5, NULL, NULL, NULL, NULL, NULL, NULL,
				    &b, &nb), 0);
	assert_int_equal(folds_unit(&fo, labels, 0, 1, 0.25, 6, NULL, NULL, NULL, NULL, NULL, NULL,
				    &c, &nc), 0);
	assert_int_equal(na, nb);
	assert_int_equal(na, nc);
	assert_memory_equal(a, b, sizeof(int) * (size_t)na);
	assert_true(memcmp(a, c, sizeof(int) * (size_t)na) != 0);
	free(a);
	free(b);
	free(c);
	folds_release(&fo);
}

static void folds_should_reject_impossible_splits(void **state)
{
	(void)state;
	int labels[6] = { 0, 0, 0, 0, 1, 1 };
	struct folds fo;
	test_stderr_begin();
	assert_int_equal(folds_split(labels, 6, 1, 1, 1, 1, &fo), -1);
	assert_int_equal(folds_split(labels, 6, 7, 1, 1, 0, &fo), -1);
	assert_int_equal(folds_split(labels, 6, 3, 1, 1, 1, &fo), -1); /* 2 anomalous < 3 */
	labels[0] = 2;
	assert_int_equal(folds_split(labels, 6, 2, 1, 1, 1, &fo), -1);
	char *msg = test_stderr_end();
	assert_non_null(strstr(msg, "error: cannot split into 1 folds"));
	assert_non_null(strstr(msg, "error: cannot split 6 images into 7 folds"));
	assert_non_null(strstr(msg, "k exceeds the smaller class"));
	assert_non_null(strstr(msg, "image 0 has label 2"));
	free(msg);
	assert_null(fo.fold);
	folds_release(&fo);
	labels[0] = 0;
	/* without stratification 3 folds are possible */
	assert_int_equal(folds_split(labels, 6, 3, 1, 1, 0, &fo), 0);
	int *te, nte;
	test_stderr_begin();
	assert_int_equal(folds_unit(&fo, labels, 0, 3, 0.2, 1, NULL, NULL, &te, &nte, NULL, NULL,
				    NULL, NULL), -1);
	assert_int_equal(folds_unit(&fo, labels, 0, 0, 1.0, 1, NULL, NULL, &te, &nte, NULL, NULL,
				    NULL, NULL), -1);
	msg = test_stderr_end();
	assert_non_null(strstr(msg, "no unit r0-f3"));
	assert_non_null(strstr(msg, "fraction 1 is outside"));
	assert_null(te);
	free(msg);
	folds_release(&fo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(folds_should_keep_class_ratio),
		cmocka_unit_test(folds_should_put_each_image_in_one_test_fold_per_repeat),
		cmocka_unit_test(folds_should_be_deterministic_from_the_seed),
		cmocka_unit_test(folds_should_derive_seeds_from_sha256),
		cmocka_unit_test(folds_should_split_without_stratification),
		cmocka_unit_test(folds_inner_split_should_use_training_images_only),
		cmocka_unit_test(folds_inner_split_should_leave_each_class_in_training),
		cmocka_unit_test(folds_inner_split_should_be_seeded),
		cmocka_unit_test(folds_should_reject_impossible_splits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
