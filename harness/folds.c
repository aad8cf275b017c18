/* folds.c: stratified, repeated k-fold assignment and inner splits. */
#include "folds.h"

#include "error.h"
#include "sha256.h"
#include "stats.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t folds_derive_seed(uint64_t seed, const char *what, int a, int b)
{
	char *text = xasprintf("darkfold-seed/1:%" PRIu64 ":%s:%d:%d", seed, what ? what : "", a, b);
	char hex[65];
	sha256_hex(text, strlen(text), hex);
	free(text);
	uint64_t v = 0;
	for (int i = 0; i < 16; i++) {
		char c = hex[i];
		v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return v;
}

/* Deal the shuffled members of one class round-robin, starting at fold
 * *next; *next is left where the next class continues. */
static void deal(int *fold_row, const int *members, int m, int k, int *next)
{
	for (int j = 0; j < m; j++) {
		fold_row[members[j]] = *next;
		*next = (*next + 1) % k;
	}
}

int folds_split(const int *labels, int n, int k, int repeats, uint64_t seed, int stratify,
		struct folds *out)
{
	memset(out, 0, sizeof *out);
	if (k < 2)
		return error("cannot split into %d folds: k must be at least 2", k);
	if (repeats < 1)
		return error("cannot split with %d repeats: need at least 1", repeats);
	if (k > n)
		return error("cannot split %d images into %d folds", n, k);
	int count[2] = { 0, 0 };
	for (int i = 0; i < n; i++) {
		if (labels[i] != 0 && labels[i] != 1)
			return error("image %d has label %d: expected 0 or 1", i, labels[i]);
		count[labels[i]]++;
	}
	if (stratify && (k > count[0] || k > count[1]))
		return error("cannot stratify %d normal and %d anomalous images into %d folds: "
			     "k exceeds the smaller class", count[0], count[1], k);

	out->n = n;
	out->k = k;
	out->repeats = repeats;
	out->fold = xmalloc(sizeof *out->fold * (size_t)repeats * (size_t)(n > 0 ? n : 1));
	int *members = xmalloc(sizeof *members * (size_t)(n > 0 ? n : 1));
	for (int r = 0; r < repeats; r++) {
		struct stats_rng *rng = stats_rng_new(folds_derive_seed(seed, "folds", r, 0));
		int *row = out->fold + (size_t)r * n;
		int next = 0;
		if (stratify) {
			for (int c = 0; c < 2; c++) {
				int m = 0;
				for (int i = 0; i < n; i++)
					if (labels[i] == c)
						members[m++] = i;
				stats_rng_shuffle(rng, members, m);
				deal(row, members, m, k, &next);
			}
		} else {
			for (int i = 0; i < n; i++)
				members[i] = i;
			stats_rng_shuffle(rng, members, n);
			deal(row, members, n, k, &next);
		}
		stats_rng_free(rng);
	}
	free(members);
	return 0;
}

void folds_release(struct folds *f)
{
	if (!f)
		return;
	free(f->fold);
	memset(f, 0, sizeof *f);
}

int folds_counts(const struct folds *fo, const int *labels, int r, int f, int test[2],
		 int train[2])
{
	if (r < 0 || r >= fo->repeats || f < 0 || f >= fo->k)
		return error("no unit r%d-f%d in %d repeats of %d folds", r, f, fo->repeats, fo->k);
	test[0] = test[1] = train[0] = train[1] = 0;
	const int *row = fo->fold + (size_t)r * fo->n;
	for (int i = 0; i < fo->n; i++) {
		if (row[i] == f)
			test[labels[i]]++;
		else
			train[labels[i]]++;
	}
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static void put(int **dst, int *n_dst, int *arr, int n)
{
	if (dst) {
		*dst = arr;
		*n_dst = n;
	} else {
		free(arr);
	}
}

int folds_unit(const struct folds *fo, const int *labels, int r, int f, double fraction,
	       uint64_t seed,
	       int **train, int *n_train, int **test, int *n_test,
	       int **inner_train, int *n_inner_train, int **inner_val, int *n_inner_val)
{
	int **outs[4] = { train, test, inner_train, inner_val };
	int *nouts[4] = { n_train, n_test, n_inner_train, n_inner_val };
	for (int i = 0; i < 4; i++) {
		if (outs[i])
			*outs[i] = NULL;
		if (nouts[i])
			*nouts[i] = 0;
	}
	if (r < 0 || r >= fo->repeats || f < 0 || f >= fo->k)
		return error("no unit r%d-f%d in %d repeats of %d folds", r, f, fo->repeats, fo->k);
	if (!(fraction >= 0 && fraction < 1))
		return error("inner validation fraction %g is outside [0, 1)", fraction);

	int n = fo->n;
	size_t sz = sizeof(int) * (size_t)(n > 0 ? n : 1);
	int *tr = xmalloc(sz), *te = xmalloc(sz), *itr = xmalloc(sz), *iva = xmalloc(sz);
	int ntr = 0, nte = 0, nitr = 0, niva = 0;
	const int *row = fo->fold + (size_t)r * n;
	for (int i = 0; i < n; i++) {
		if (row[i] == f)
			te[nte++] = i;
		else
			tr[ntr++] = i;
	}

	struct stats_rng *rng = stats_rng_new(folds_derive_seed(seed, "inner", r, f));
	int *members = xmalloc(sz);
	for (int c = 0; c < 2; c++) {
		int m = 0;
		for (int j = 0; j < ntr; j++)
			if (labels[tr[j]] == c)
				members[m++] = tr[j];
		stats_rng_shuffle(rng, members, m);
		int nv = (int)floor(fraction * m + 0.5);
		if (nv >= m && m > 0)
			nv = m - 1;
		for (int j = 0; j < m; j++) {
			if (j < nv)
				iva[niva++] = members[j];
			else
				itr[nitr++] = members[j];
		}
	}
	free(members);
	stats_rng_free(rng);
	qsort(itr, (size_t)nitr, sizeof *itr, cmp_int);
	qsort(iva, (size_t)niva, sizeof *iva, cmp_int);

	put(train, n_train, tr, ntr);
	put(test, n_test, te, nte);
	put(inner_train, n_inner_train, itr, nitr);
	put(inner_val, n_inner_val, iva, niva);
	return 0;
}
