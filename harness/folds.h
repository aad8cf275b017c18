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
 * each fold's count of each class is within one of n_class/k. Returns 0, or -1
 * when k < 2 or k > the smaller class (with stratify) or k > n. */
int folds_split(const int *labels, int n, int k, int repeats, uint64_t seed, int stratify,
		struct folds *out);
void folds_release(struct folds *f);

/* The unit (repeat r, fold f): indices of training images (not in fold f) and
 * test images (in fold f), in ascending order. Arrays are new (caller frees).
 * Then an inner split of the training images: a stratified `fraction` of them
 * goes to *inner_val, the rest to *inner_train, seeded by (seed, r, f).
 * Nothing from the test fold is ever in inner_train or inner_val. */
int folds_unit(const struct folds *fo, const int *labels, int r, int f, double fraction,
	       uint64_t seed,
	       int **train, int *n_train, int **test, int *n_test,
	       int **inner_train, int *n_inner_train, int **inner_val, int *n_inner_val);

/* A 64-bit seed derived from the experiment seed and a string and integers,
 * stable across platforms (SHA-256 based). Used for unit seeds. */
uint64_t folds_derive_seed(uint64_t seed, const char *what, int a, int b);

#endif
