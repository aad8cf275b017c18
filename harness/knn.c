/* knn.c: the k-nearest-neighbour baseline (see knn.h). */
#include "knn.h"

#include "cache.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

/* Box-downsample x (C, H, W) by f into y (C, H/f, W/f): each output value
 * is the mean of its f x f block, summed in double. */
static void box_down(const float *x, int c, int h, int w, int f, float *y)
{
	int oh = h / f, ow = w / f;
	for (int ch = 0; ch < c; ch++)
		for (int i = 0; i < oh; i++)
			for (int j = 0; j < ow; j++) {
				double s = 0;
				for (int a = 0; a < f; a++) {
					const float *row = x + ((size_t)ch * h + (size_t)i * f + a) * w;
					for (int b = 0; b < f; b++)
						s += row[(size_t)j * f + b];
				}
				y[((size_t)ch * oh + i) * ow + j] = (float)(s / ((double)f * f));
			}
}

/* Squared L2 distance of two vectors of n floats. Eight independent
 * partial sums in a fixed order: the compiler may vectorise the loop
 * without reassociating, and the result does not depend on it. */
static double sq_dist(const float *a, const float *b, int n)
{
	enum { LANES = 8 };
	double acc[LANES] = { 0 };
	int i = 0;
	for (; i + LANES <= n; i += LANES)
		for (int l = 0; l < LANES; l++) {
			double d = (double)a[i + l] - (double)b[i + l];
			acc[l] += d * d;
		}
	for (; i < n; i++) {
		double d = (double)a[i] - (double)b[i];
		acc[0] += d * d;
	}
	double s = 0;
	for (int l = 0; l < LANES; l++)
		s += acc[l];
	return s;
}

static int check_fit(int n, int c, int h, int w, int k, int factor)
{
	const char *bad = NULL;
	if (c < 1 || h < 1 || w < 1)
		bad = "the image shape is not positive";
	else if (n < 1 || k < 1 || k > n)
		bad = "k must be from 1 to the number of normal training images";
	else if (factor < 1 || h % factor || w % factor)
		bad = "the downsampling factor must divide the image width and height";
	if (!bad)
		return 0;
	return error("knn: k = %d, factor = %d, %d normal images of %dx%dx%d: %s", k, factor, n, w,
		     h, c, bad);
}

/* The model of the n images im[0..n), each (C, H, W) of shape (c, h, w);
 * the arguments are valid (check_fit). */
static struct knn *fit(const float *const *im, int n, int c, int h, int w, int k, int factor)
{
	struct knn *m = xcalloc(1, sizeof *m);
	*m = (struct knn){ .c = c, .h = h, .w = w, .n = n, .k = k, .factor = factor };
	size_t in = (size_t)c * h * w;
	m->fdim = c * (h / factor) * (w / factor);
	m->images = xmalloc((size_t)n * in * sizeof(float));
	for (int i = 0; i < n; i++)
		memcpy(m->images + (size_t)i * in, im[i], in * sizeof(float));
	if (factor == 1) {
		m->feat = m->images;
		return m;
	}
	m->feat = xmalloc((size_t)n * m->fdim * sizeof(float));
	for (int i = 0; i < n; i++)
		box_down(im[i], c, h, w, factor, m->feat + (size_t)i * m->fdim);
	return m;
}

/* An array for n >= 0 image pointers (caller frees). */
static const float **image_list(int n)
{
	return xmalloc(((size_t)n + 1) * sizeof(const float *));
}

struct knn *knn_fit(const float *X, int n, int c, int h, int w, int k, int factor)
{
	if (check_fit(n, c, h, w, k, factor) < 0)
		return NULL;
	const float **im = image_list(n);
	for (int i = 0; i < n; i++)
		im[i] = X + (size_t)i * c * h * w;
	struct knn *m = fit(im, n, c, h, w, k, factor);
	free(im);
	return m;
}

struct knn *knn_fit_cached(const struct cache *cc, const int *idx, int n, int k, int factor)
{
	if (check_fit(n, cc->c, cc->h, cc->w, k, factor) < 0)
		return NULL;
	const float **im = image_list(n);
	for (int i = 0; i < n; i++)
		im[i] = cache_image(cc, idx[i]);
	struct knn *m = fit(im, n, cc->c, cc->h, cc->w, k, factor);
	free(im);
	return m;
}

void knn_free(struct knn *m)
{
	if (!m)
		return;
	if (m->feat != m->images)
		free(m->feat);
	free(m->images);
	free(m);
}

void knn_neighbours(const struct knn *m, const float *x, int *idx, double *dist)
{
	float *q = NULL; /* (fdim) features of x */
	const float *fx = x;
	if (m->factor > 1) {
		q = xmalloc((size_t)m->fdim * sizeof *q);
		box_down(x, m->c, m->h, m->w, m->factor, q);
		fx = q;
	}
	double *best = dist ? dist : xmalloc((size_t)m->k * sizeof *best); /* (k) ascending */
	int found = 0;
	for (int i = 0; i < m->n; i++) {
		double d = sq_dist(fx, m->feat + (size_t)i * m->fdim, m->fdim);
		/* Insert after every kept distance <= d: equal distances keep
		 * the lower index first, as i increases. */
		int pos = found;
		while (pos > 0 && best[pos - 1] > d)
			pos--;
		if (pos >= m->k)
			continue;
		int last = found < m->k ? found : m->k - 1;
		for (int j = last; j > pos; j--) {
			best[j] = best[j - 1];
			idx[j] = idx[j - 1];
		}
		best[pos] = d;
		idx[pos] = i;
		if (found < m->k)
			found++;
	}
	if (best != dist)
		free(best);
	free(q);
}

void knn_reconstruct(const struct knn *m, const float *x, float *out)
{
	size_t in = (size_t)m->c * m->h * m->w;
	int *idx = xmalloc((size_t)m->k * sizeof *idx);
	double *sum = xcalloc(in, sizeof *sum); /* (C, H, W) */
	knn_neighbours(m, x, idx, NULL);
	for (int j = 0; j < m->k; j++) {
		const float *im = m->images + (size_t)idx[j] * in;
		for (size_t p = 0; p < in; p++)
			sum[p] += im[p];
	}
	for (size_t p = 0; p < in; p++)
		out[p] = (float)(sum[p] / m->k);
	free(sum);
	free(idx);
}

static int check_shape(const struct knn *m, int c, int h, int w)
{
	if (c != m->c || h != m->h || w != m->w)
		return error("knn: images are %dx%dx%d, but the model was fitted on %dx%dx%d", w, h,
			     c, m->w, m->h, m->c);
	return 0;
}

/* Score the count images im[0..count), each (C, H, W). */
static void score_list(const struct knn *m, const float *const *im, int count,
		       enum anomaly_pool pool, int pool_k, double *score, double *maps)
{
	size_t plane = (size_t)m->h * m->w;
	float *r = xmalloc((size_t)m->c * plane * sizeof *r); /* (C, H, W) reconstruction */
	double *map = xmalloc(plane * sizeof *map);           /* (H, W) */
	for (int i = 0; i < count; i++) {
		double *mp = maps ? maps + (size_t)i * plane : map;
		knn_reconstruct(m, im[i], r);
		anomaly_map(im[i], r, m->c, m->h, m->w, mp);
		score[i] = anomaly_pool(mp, m->h, m->w, pool, pool_k);
	}
	free(map);
	free(r);
}

int knn_score(const struct knn *m, const float *X, int count, int c, int h, int w,
	      enum anomaly_pool pool, int pool_k, double *score, double *maps)
{
	if (check_shape(m, c, h, w) < 0)
		return -1;
	const float **im = image_list(count);
	for (int i = 0; i < count; i++)
		im[i] = X + (size_t)i * c * h * w;
	score_list(m, im, count, pool, pool_k, score, maps);
	free(im);
	return 0;
}

int knn_score_cached(const struct knn *m, const struct cache *cc, const int *idx, int count,
		     enum anomaly_pool pool, int pool_k, double *score, double *maps)
{
	if (check_shape(m, cc->c, cc->h, cc->w) < 0)
		return -1;
	const float **im = image_list(count);
	for (int i = 0; i < count; i++)
		im[i] = cache_image(cc, idx[i]);
	score_list(m, im, count, pool, pool_k, score, maps);
	free(im);
	return 0;
}
