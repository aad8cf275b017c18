/* anomaly.h: anomaly maps of one-class models, their pooling into an image
 * score, and the pixel-level metrics computed from maps and ground-truth
 * masks (pixel AUROC and PRO, as MVTec AD defines them).
 *
 * A map is (H, W) doubles, row-major; higher means more anomalous. A mask is
 * (H, W) bytes, non-zero on defect pixels. Several images' maps and masks
 * lie one after another: (N, H, W). Nothing here allocates what it returns
 * except where a function says so. */
#ifndef DARKFOLD_ANOMALY_H
#define DARKFOLD_ANOMALY_H

enum anomaly_pool { ANOMALY_POOL_MEAN = 0, ANOMALY_POOL_MAX_LOCAL };

/* The reconstruction error map of one image: x and r are (C, H, W), the
 * input and the network's reconstruction; map (H, W) gets, per pixel, the
 * squared difference averaged over the C channels. */
void anomaly_map(const float *x, const float *r, int c, int h, int w, double *map);

/* The image score of a map (H, W):
 *   ANOMALY_POOL_MEAN: the mean of all pixels;
 *   ANOMALY_POOL_MAX_LOCAL: the largest mean over a k x k window, over every
 *   window position that lies wholly inside the map (stride 1). k is clamped
 *   to [1, min(h, w)]; k = 1 is the map's maximum. */
double anomaly_pool(const double *map, int h, int w, enum anomaly_pool pool, int k);

/* Name of a pooling as written in experiments ("mean", "max_local"). */
const char *anomaly_pool_name(enum anomaly_pool pool);

/* Pixel AUROC over all n_pixels pixels of maps against masks (every image
 * of a fold together): the Mann-Whitney statistic with midranks, defect
 * pixels positive. NAN when either class has no pixel. */
double anomaly_pixel_auroc(const double *maps, const unsigned char *masks, long n_pixels);

/* PRO (per-region overlap) of n images (H, W), integrated over the
 * false-positive rate from 0 to max_fpr and divided by max_fpr, as MVTec AD
 * defines it:
 *   - regions are the 8-connected components of each mask;
 *   - at a threshold t, a pixel is called anomalous when its score >= t;
 *     the FPR is the share of all defect-free pixels called anomalous and
 *     PRO the mean, over all regions, of the share of the region's pixels
 *     called anomalous;
 *   - the curve (FPR, PRO) has one point per distinct score, from (0, 0);
 *     the area under it up to max_fpr is taken by the trapezoid rule,
 *     interpolating linearly at max_fpr.
 * NAN when there is no region or no defect-free pixel. */
double anomaly_pro(const double *maps, const unsigned char *masks, int n, int h, int w,
		   double max_fpr);

#endif
