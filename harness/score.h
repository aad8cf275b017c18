/* score.h: per-image scores of a trained network, and the anomaly maps and
 * ground-truth masks of one-class models at the network's input size.
 *
 * A supervised network's score is its P(anomalous) (net_predict). A
 * one-class network's score is its reconstruction error map (anomaly.h)
 * pooled as the model says: not a probability, higher = more anomalous. */
#ifndef DARKFOLD_SCORE_H
#define DARKFOLD_SCORE_H

#include "anomaly.h"

struct net;
struct cache;
struct dataset;

struct score_spec {
	int one_class;          /* 0: P(anomalous) from a [softmax]; 1: pooled error map */
	enum anomaly_pool pool; /* one_class only */
	int k;                  /* window side of ANOMALY_POOL_MAX_LOCAL */
};

/* Scores of count images X (count, C*H*W) of size (c, h, w) into score
 * (count). For a one-class network, maps (count, h, w) receives the
 * anomaly maps when not NULL. */
void score_images(struct net *n, const struct score_spec *sp, const float *X, int count, int c,
		  int h, int w, double *score, double *maps);

/* The same for the images idx[0..count) of the cache cc. */
void score_cached(struct net *n, const struct score_spec *sp, const struct cache *cc,
		  const int *idx, int count, double *score, double *maps);

/* Ground-truth masks (count, h, w) of the images idx[0..count) of d: a
 * normal image's mask is all 0; an anomalous image's mask PNG is read as
 * grey, box-resized to w x h like the images, and a pixel is a defect
 * pixel when the resized value is >= 0.5. Returns 0, or -1 with one error
 * line naming the first anomalous image without a mask or an unreadable
 * mask. */
int score_masks(const struct dataset *d, const int *idx, int count, int w, int h,
		unsigned char *masks);

/* Write a map (h, w) as an 8-bit grey PNG at path, scaled so that 0 is
 * black and max_value (> 0) or more is white. Returns 0 or -1. */
int score_write_map(const char *path, const double *map, int h, int w, double max_value);

/* Write the map of each anomalous image idx[i] of d from maps (count, h, w)
 * as dir/<i>.png (score_write_map), all on one scale: the largest finite
 * value of those maps, or 1 when it is not above 0. *scale receives that
 * scale, or NAN when no image is anomalous (nothing is written then). dir
 * is created when needed. Returns 0, or -1 with one error line naming the
 * file that cannot be written. */
int score_write_maps(const struct dataset *d, const int *idx, int count, const double *maps,
		     int h, int w, const char *dir, double *scale);

#endif
