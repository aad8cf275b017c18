/* score.c: image scores, anomaly maps and masks (see score.h). */
#include "score.h"

#include "cache.h"
#include "dataset.h"
#include "error.h"
#include "fsutil.h"
#include "image.h"
#include "net.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void score_images(struct net *n, const struct score_spec *sp, const float *X, int count, int c,
		  int h, int w, double *score, double *maps)
{
	if (!sp->one_class) {
		net_predict(n, X, count, score);
		return;
	}
	size_t in = (size_t)c * h * w, plane = (size_t)h * w;
	float *R = xmalloc(((size_t)count + 1) * in * sizeof(float)); /* (count, C*H*W) */
	double *map = xmalloc(plane * sizeof(double));                 /* (H, W) */
	net_reconstruct(n, X, count, R);
	for (int i = 0; i < count; i++) {
		double *m = maps ? maps + (size_t)i * plane : map;
		anomaly_map(X + (size_t)i * in, R + (size_t)i * in, c, h, w, m);
		score[i] = anomaly_pool(m, h, w, sp->pool, sp->k);
	}
	free(map);
	free(R);
}

void score_cached(struct net *n, const struct score_spec *sp, const struct cache *cc,
		  const int *idx, int count, double *score, double *maps)
{
	size_t in = (size_t)cc->c * cc->h * cc->w;
	float *X = xmalloc(((size_t)count + 1) * in * sizeof(float)); /* (count, C*H*W) */
	for (int i = 0; i < count; i++)
		memcpy(X + (size_t)i * in, cache_image(cc, idx[i]), in * sizeof(float));
	score_images(n, sp, X, count, cc->c, cc->h, cc->w, score, maps);
	free(X);
}

int score_masks(const struct dataset *d, const int *idx, int count, int w, int h,
		unsigned char *masks)
{
	size_t plane = (size_t)h * w;
	memset(masks, 0, (size_t)count * plane);
	for (int i = 0; i < count; i++) {
		const struct dataset_item *it = &d->items[idx[i]];
		if (it->label != LABEL_ANOMALOUS)
			continue;
		if (!it->mask)
			return error("'%s': anomalous image without a ground-truth mask "
				     "(pixel metrics need one for every anomalous image)", it->path);
		struct image full, small;
		if (image_png_read(it->mask, 1, &full, NULL) < 0)
			return -1;
		int rc = image_resize(&full, w, h, &small);
		image_release(&full);
		if (rc < 0)
			return error("'%s': cannot resize the mask to %dx%d", it->mask, w, h);
		for (size_t j = 0; j < plane; j++)
			masks[(size_t)i * plane + j] = small.data[j] >= 0.5f;
		image_release(&small);
	}
	return 0;
}

int score_write_map(const char *path, const double *map, int h, int w, double max_value)
{
	size_t plane = (size_t)h * w;
	uint8_t *px = xmalloc(plane);
	for (size_t j = 0; j < plane; j++)
		px[j] = image_to_u8((float)(map[j] / max_value));
	int rc = image_png_write(path, px, w, h, 1);
	free(px);
	return rc;
}

int score_write_maps(const struct dataset *d, const int *idx, int count, const double *maps,
		     int h, int w, const char *dir, double *scale)
{
	size_t plane = (size_t)h * w;
	double top = 0;
	int any = 0;
	for (int i = 0; i < count; i++) {
		if (d->items[idx[i]].label != LABEL_ANOMALOUS)
			continue;
		any = 1;
		for (size_t j = 0; j < plane; j++)
			if (isfinite(maps[(size_t)i * plane + j]) && maps[(size_t)i * plane + j] > top)
				top = maps[(size_t)i * plane + j];
	}
	*scale = any ? (top > 0 ? top : 1) : NAN;
	if (!any)
		return 0;
	if (fs_mkdir_p(dir) < 0)
		return -1;
	for (int i = 0; i < count; i++) {
		if (d->items[idx[i]].label != LABEL_ANOMALOUS)
			continue;
		char name[32];
		snprintf(name, sizeof name, "%d.png", i);
		char *path = fs_join(dir, name);
		int rc = score_write_map(path, maps + (size_t)i * plane, h, w, *scale);
		free(path);
		if (rc < 0)
			return -1;
	}
	return 0;
}
