/* anomaly.c: anomaly maps, pooling, pixel AUROC and PRO (see anomaly.h). */
#include "anomaly.h"

#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void anomaly_map(const float *x, const float *r, int c, int h, int w, double *map)
{
	size_t plane = (size_t)h * (size_t)w;
	for (size_t i = 0; i < plane; i++) {
		double s = 0;
		for (int k = 0; k < c; k++) {
			double d = (double)x[(size_t)k * plane + i] - (double)r[(size_t)k * plane + i];
			s += d * d;
		}
		map[i] = s / c;
	}
}

double anomaly_pool(const double *map, int h, int w, enum anomaly_pool pool, int k)
{
	size_t plane = (size_t)h * (size_t)w;
	if (pool == ANOMALY_POOL_MEAN) {
		double s = 0;
		for (size_t i = 0; i < plane; i++)
			s += map[i];
		return s / (double)plane;
	}
	if (k > h)
		k = h;
	if (k > w)
		k = w;
	if (k < 1)
		k = 1;
	/* Summed-area table S (h+1, w+1): S[i][j] = sum of map[<i][<j]. */
	size_t sw = (size_t)w + 1;
	double *S = xcalloc(((size_t)h + 1) * sw, sizeof *S);
	for (int i = 0; i < h; i++)
		for (int j = 0; j < w; j++)
			S[(i + 1) * sw + j + 1] = map[(size_t)i * w + j] + S[i * sw + j + 1] +
						  S[(i + 1) * sw + j] - S[i * sw + j];
	double best = -INFINITY;
	for (int i = 0; i + k <= h; i++)
		for (int j = 0; j + k <= w; j++) {
			double s = S[(i + k) * sw + j + k] - S[i * sw + j + k] - S[(i + k) * sw + j] +
				   S[i * sw + j];
			if (s > best)
				best = s;
		}
	free(S);
	return best / ((double)k * k);
}

const char *anomaly_pool_name(enum anomaly_pool pool)
{
	return pool == ANOMALY_POOL_MAX_LOCAL ? "max_local" : "mean";
}

/* ---- pixel metrics ---- */

struct px {
	double s;
	long i; /* pixel index into maps */
};

static int cmp_px_desc(const void *a, const void *b)
{
	const struct px *x = a, *y = b;
	if (x->s != y->s)
		return x->s > y->s ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* All pixels sorted by score, highest first (new array). */
static struct px *sorted_pixels(const double *maps, long n)
{
	struct px *p = xmalloc(((size_t)n + 1) * sizeof *p);
	for (long i = 0; i < n; i++) {
		p[i].s = maps[i];
		p[i].i = i;
	}
	qsort(p, (size_t)n, sizeof *p, cmp_px_desc);
	return p;
}

double anomaly_pixel_auroc(const double *maps, const unsigned char *masks, long n_pixels)
{
	long npos = 0;
	for (long i = 0; i < n_pixels; i++)
		npos += masks[i] != 0;
	long nneg = n_pixels - npos;
	if (npos == 0 || nneg == 0)
		return NAN;
	struct px *p = sorted_pixels(maps, n_pixels);
	/* Walking down the scores: each tie group's positives beat the
	 * negatives below it and tie with the negatives inside it. */
	double wins = 0;
	long neg_above = 0;
	for (long a = 0; a < n_pixels;) {
		long b = a, pos = 0, neg = 0;
		while (b < n_pixels && p[b].s == p[a].s) {
			if (masks[p[b].i])
				pos++;
			else
				neg++;
			b++;
		}
		/* positives here beat the negatives not yet seen below: */
		wins += (double)pos * (double)(nneg - neg_above - neg) + 0.5 * (double)pos * neg;
		neg_above += neg;
		a = b;
	}
	free(p);
	return wins / ((double)npos * (double)nneg);
}

/* Label the 8-connected components of mask (h, w) into lab (0 outside),
 * numbering from first; returns the next free number. stack: h*w longs. */
static int label_regions(const unsigned char *mask, int h, int w, int *lab, int first, long *stack)
{
	int next = first;
	for (long s = 0; s < (long)h * w; s++) {
		if (!mask[s] || lab[s])
			continue;
		long top = 0;
		stack[top++] = s;
		lab[s] = next;
		while (top > 0) {
			long q = stack[--top];
			int qi = (int)(q / w), qj = (int)(q % w);
			for (int di = -1; di <= 1; di++)
				for (int dj = -1; dj <= 1; dj++) {
					int i = qi + di, j = qj + dj;
					if (i < 0 || i >= h || j < 0 || j >= w)
						continue;
					long t = (long)i * w + j;
					if (mask[t] && !lab[t]) {
						lab[t] = next;
						stack[top++] = t;
					}
				}
		}
		next++;
	}
	return next;
}

double anomaly_pro(const double *maps, const unsigned char *masks, int n, int h, int w,
		   double max_fpr)
{
	long plane = (long)h * w, total = plane * n;
	int *lab = xcalloc((size_t)total + 1, sizeof *lab);
	long *stack = xmalloc(((size_t)plane + 1) * sizeof *stack);
	int regions = 1; /* region numbers start at 1 */
	for (int k = 0; k < n; k++)
		regions = label_regions(masks + k * plane, h, w, lab + k * plane, regions, stack);
	free(stack);
	int nreg = regions - 1;
	long *size = xcalloc((size_t)regions, sizeof *size);
	long nneg = 0;
	for (long i = 0; i < total; i++) {
		if (lab[i])
			size[lab[i]]++;
		else
			nneg++;
	}
	double result = NAN;
	if (nreg == 0 || nneg == 0)
		goto out;
	struct px *p = sorted_pixels(maps, total);
	double area = 0, fpr0 = 0, pro0 = 0, overlap = 0; /* overlap: sum over regions of share */
	long fp = 0;
	for (long a = 0; a < total;) {
		long b = a;
		while (b < total && p[b].s == p[a].s) {
			int r = lab[p[b].i];
			if (r)
				overlap += 1.0 / (double)size[r];
			else
				fp++;
			b++;
		}
		double fpr = (double)fp / (double)nneg, pro = overlap / nreg;
		if (fpr >= max_fpr) {
			/* the last piece, up to max_fpr, interpolated linearly */
			double y = fpr > fpr0 ? pro0 + (pro - pro0) * (max_fpr - fpr0) / (fpr - fpr0) : pro;
			area += (max_fpr - fpr0) * (pro0 + y) / 2;
			fpr0 = max_fpr;
			break;
		}
		area += (fpr - fpr0) * (pro0 + pro) / 2;
		fpr0 = fpr;
		pro0 = pro;
		a = b;
	}
	free(p);
	result = area / max_fpr;
out:
	free(lab);
	free(size);
	return result;
}
