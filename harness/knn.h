/* knn.h: the k-nearest-neighbour one-class baseline, a reconstruction
 * model without training.
 *
 * Fitting keeps the normal training images (C, H, W) as the network would
 * see them, and their feature vectors: each image box-downsampled by an
 * integer factor f (the mean of every f x f block, per channel), so a
 * feature is (C, H/f, W/f) floats; f = 1 uses the pixels themselves.
 * A test image's k nearest neighbours are the k training images whose
 * features are closest to its own by squared L2 distance (equal distances:
 * lower training index first), and its reconstruction is the pixel-wise
 * mean of those k images at full size. Its anomaly map and image score
 * are then those of any reconstruction model (anomaly_map, anomaly_pool).
 *
 * The search is brute force: O(count * n * C*H*W / f^2) per scoring call. */
#ifndef DARKFOLD_KNN_H
#define DARKFOLD_KNN_H

#include "anomaly.h"

struct cache;

struct knn {
	int c, h, w;   /* image shape */
	int n;         /* training images */
	int k;         /* neighbours averaged, 1..n */
	int factor;    /* box-downsampling factor of the features */
	int fdim;      /* C * (H/factor) * (W/factor) */
	float *images; /* (n, C, H, W), owned */
	float *feat;   /* (n, fdim), owned; equals images when factor is 1 */
};

/* A new model keeping copies of the n images X (n, C*H*W) of shape
 * (c, h, w) as the normal training set (X stays the caller's). Returns
 * the model (free with knn_free()), or NULL with one error line when k is
 * not in [1, n], a shape is not positive, or factor is not a positive
 * divisor of both h and w. */
struct knn *knn_fit(const float *X, int n, int c, int h, int w, int k, int factor);

/* The same for the images idx[0..n) of the cache cc (a unit's normal
 * inner training images). */
struct knn *knn_fit_cached(const struct cache *cc, const int *idx, int n, int k, int factor);

/* Free a model; NULL is fine. */
void knn_free(struct knn *m);

/* The m->k nearest training images of x (C, H, W) in order, nearest
 * first: idx (k) gets their indices and dist (k, may be NULL) their
 * squared feature distances. */
void knn_neighbours(const struct knn *m, const float *x, int *idx, double *dist);

/* The reconstruction of x (C, H, W): out (C, H, W) gets the mean of its
 * k nearest training images. out may not alias x. */
void knn_reconstruct(const struct knn *m, const float *x, float *out);

/* Scores of count images X (count, C*H*W) of shape (c, h, w): score
 * (count) gets each image's anomaly map pooled by pool (window side
 * pool_k for ANOMALY_POOL_MAX_LOCAL), maps (count, h, w) the maps when
 * not NULL. Returns 0, or -1 with one error line when (c, h, w) is not the
 * shape the model was fitted on. */
int knn_score(const struct knn *m, const float *X, int count, int c, int h, int w,
	      enum anomaly_pool pool, int pool_k, double *score, double *maps);

/* The same for the images idx[0..count) of the cache cc. */
int knn_score_cached(const struct knn *m, const struct cache *cc, const int *idx, int count,
		     enum anomaly_pool pool, int pool_k, double *score, double *maps);

#endif
