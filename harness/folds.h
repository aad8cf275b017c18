/* folds.h: stratified k-fold assignment (optionally repeated) and the inner
 * validation split carved from a unit's training folds only.
 *
 * Deterministic from the seed: the same labels, k, repeats and seed give the
 * same assignment on every machine (a gsl_rng of type mt19937 is seeded with
 * a value derived from seed and the repeat index). */
#ifndef DARKFOLD_FOLDS_H
#define DARKFOLD_FOLDS_H

#include <stdint.h>

struct folds {
	int n, k, repeats;
	int *fold; /* (repeats, n): test fold of image i in repeat r = fold[r*n + i] */
};

/* Split n images with labels (0/1) into k folds, repeats times. With stratify,
 * each fold's count of each class is within one of n_class/k (the images of
 * each class are shuffled and dealt round-robin, the second class continuing
 * where the first stopped, so fold sizes also differ by at most one). Repeat
 * r shuffles with folds_derive_seed(seed, "folds", r, 0). Returns 0, or -1
 * with a message when k < 2, k > n, a label is not 0/1, or (with stratify)
 * k > the smaller class. *out is zeroed on failure; release it with
 * folds_release() (which accepts a zeroed struct). */
int folds_split(const int *labels, int n, int k, int repeats, uint64_t seed, int stratify,
		struct folds *out);
void folds_release(struct folds *f);

/* The unit (repeat r, fold f): indices of training images (not in fold f) and
 * test images (in fold f), in ascending order. Arrays are new (caller frees).
 * Then an inner split of the training images: a stratified `fraction` of them
 * goes to *inner_val, the rest to *inner_train, seeded by
 * folds_derive_seed(seed, "inner", r, f): of each class with c training
 * images, round(fraction * c) go to inner_val, but never all c when c > 0.
 * fraction must be in [0, 1). Nothing from the test fold is ever in
 * inner_train or inner_val. Returns 0, or -1 (arguments out of range, all
 * outputs NULL/0). Any output pair may be NULL when not wanted. */
int folds_unit(const struct folds *fo, const int *labels, int r, int f, double fraction,
	       uint64_t seed,
	       int **train, int *n_train, int **test, int *n_test,
	       int **inner_train, int *n_inner_train, int **inner_val, int *n_inner_val);

/* A 64-bit seed derived from the experiment seed and a string and integers,
 * stable across platforms (SHA-256 based). Used for unit seeds. */
uint64_t folds_derive_seed(uint64_t seed, const char *what, int a, int b);

/* Class counts of the unit (repeat r, fold f), for plans and checks:
 * test[c] / train[c] = images of class c (0 normal, 1 anomalous) in / out of
 * fold f. Returns 0, or -1 when r or f is out of range. */
int folds_counts(const struct folds *fo, const int *labels, int r, int f, int test[2],
		 int train[2]);

#endif
