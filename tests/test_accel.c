/* test_accel.c: each replacement of a libdarknet function against Darknet's
 * own definition (reached with dlsym on libdarknet's handle), proof that the
 * replacements are the ones Darknet calls, and training losses with and
 * without them. */
#include "accel.h"

#include "bench.h"
#include "blas.h"
#include "error.h"
#include "helpers.h"

#include <dlfcn.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* darknet.h declares its own error(const char *); see bench.c. */
#define error darknet_error
#include <darknet.h>
#undef error

/* Darknet's prototypes (the replacements have the same ones). */
void gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B,
	  int ldb, float BETA, float *C, int ldc);
void gemm_cpu(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda,
	      float *B, int ldb, float BETA, float *C, int ldc);
typedef void (*gemm_fn)(int, int, int, int, int, float, float *, int, float *, int, float,
			float *, int);
typedef void (*im2col_fn)(float *, int, int, int, int, int, int, float *);
typedef void (*bias_fn)(float *, float *, int, int, int);
typedef void (*bscale_fn)(float *, float *, int, int, int, float *);
typedef void (*mean_fn)(float *, int, int, int, float *);
typedef void (*var_fn)(float *, float *, int, int, int, float *);
typedef void (*norm_fn)(float *, float *, float *, int, int, int);
typedef void (*mdelta_fn)(float *, float *, int, int, int, float *);
typedef void (*vdelta_fn)(float *, float *, float *, float *, int, int, int, float *);
typedef void (*ndelta_fn)(float *, float *, float *, float *, float *, int, int, int, float *);
typedef void (*shortcut_fn)(int, int, int, int, float *, int, int, int, float, float,
			    float *);
typedef void (*act_fn)(float *, const int, const int);
typedef void (*grad_fn)(const float *, const int, const int, float *);
typedef void (*axpy_fn)(int, float, float *, int, float *, int);
typedef void (*copy_fn)(int, float *, int, float *, int);
typedef void (*fill_fn)(int, float, float *, int);
typedef void (*network_fn)(network *);
typedef void (*layer_fn)(layer, network);
/* Darknet's (shortcut_layer.h); not in darknet.h. */
layer make_shortcut_layer(int batch, int index, int w, int h, int c, int w2, int h2, int c2);
void forward_shortcut_layer(const layer l, network net);
void backward_shortcut_layer(const layer l, network net);
/* Darknet's (maxpool_layer.h); not in darknet.h. */
layer make_maxpool_layer(int batch, int h, int w, int c, int size, int stride, int padding);

/* The replacement (what the program resolves the name to) and Darknet's
 * original of function f, as function pointers of type T. */
#define MINE(T, f) ((T)fnptr(dlsym(RTLD_DEFAULT, accel_name(ACCEL_##f))))
#define ORIG(T, f) ((T)fnptr(accel_original(ACCEL_##f)))

typedef void (*any_fn)(void);
static any_fn fnptr(void *p)
{
	assert_non_null(p);
	any_fn f;
	memcpy(&f, &p, sizeof f);
	return f;
}

static uint64_t rng_state = 12345;
static float frand(float lo, float hi)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return lo + (hi - lo) * ((z >> 40) * (1.0f / 16777216.0f));
}

static float *rand_array(size_t n, float lo, float hi)
{
	float *p = xmalloc(sizeof *p * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		p[i] = frand(lo, hi);
	return p;
}

static float *dup_array(const float *p, size_t n)
{
	float *q = xmalloc(sizeof *q * (n ? n : 1));
	memcpy(q, p, sizeof *q * n);
	return q;
}

/* Bit-identical, element by element (reports the first difference). */
static void assert_same_bits(const float *a, const float *b, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(&a[i], &b[i], sizeof a[i])) {
			fail_msg("%s: element %zu: %.9g != %.9g", what, i, a[i], b[i]);
		}
}

/* |a - b| <= rel * scale[i] + 1e-7 (scale: the sum of magnitudes that went
 * into the element, so the bound is on rounding, not on the value). */
static void assert_close(const float *a, const float *b, const float *scale, size_t n,
			 double rel, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		double tol = rel * fabs(scale[i]) + 1e-7;
		if (!(fabs((double)a[i] - b[i]) <= tol))
			fail_msg("%s: element %zu: %.9g vs %.9g (tolerance %.3g)", what, i, a[i], b[i],
				 tol);
	}
}

/* Convolution shapes: channels, height, width, ksize, stride, pad: odd
 * sizes, stride 2 and 3, padding, 1x1, kernels larger than the padding. */
static const int conv_shapes[][6] = {
	{ 3, 7, 5, 3, 1, 1 }, { 2, 9, 8, 3, 2, 1 }, { 4, 6, 6, 1, 1, 0 },
	{ 1, 5, 7, 5, 2, 2 }, { 3, 8, 8, 2, 2, 0 }, { 2, 11, 13, 7, 3, 3 },
	{ 5, 4, 3, 3, 1, 0 }, { 2, 3, 3, 3, 2, 2 },
};
#define NSHAPES (sizeof conv_shapes / sizeof conv_shapes[0])

static void im2col_should_match_darknet_bit_for_bit(void **state)
{
	(void)state;
	for (size_t s = 0; s < NSHAPES; s++) {
		const int *c = conv_shapes[s];
		int oh = (c[1] + 2 * c[5] - c[3]) / c[4] + 1, ow = (c[2] + 2 * c[5] - c[3]) / c[4] + 1;
		size_t ncol = (size_t)c[0] * c[3] * c[3] * oh * ow;
		float *im = rand_array((size_t)c[0] * c[1] * c[2], -1, 1);
		float *a = rand_array(ncol, 5, 6), *b = dup_array(a, ncol);
		MINE(im2col_fn, im2col_cpu)(im, c[0], c[1], c[2], c[3], c[4], c[5], a);
		ORIG(im2col_fn, im2col_cpu)(im, c[0], c[1], c[2], c[3], c[4], c[5], b);
		assert_same_bits(a, b, ncol, "im2col_cpu");
		free(im), free(a), free(b);
	}
}

static void col2im_should_match_darknet_bit_for_bit(void **state)
{
	(void)state;
	for (size_t s = 0; s < NSHAPES; s++) {
		const int *c = conv_shapes[s];
		int oh = (c[1] + 2 * c[5] - c[3]) / c[4] + 1, ow = (c[2] + 2 * c[5] - c[3]) / c[4] + 1;
		size_t ncol = (size_t)c[0] * c[3] * c[3] * oh * ow, nim = (size_t)c[0] * c[1] * c[2];
		float *col = rand_array(ncol, -1, 1);
		float *a = rand_array(nim, -1, 1), *b = dup_array(a, nim); /* accumulates */
		MINE(im2col_fn, col2im_cpu)(col, c[0], c[1], c[2], c[3], c[4], c[5], a);
		ORIG(im2col_fn, col2im_cpu)(col, c[0], c[1], c[2], c[3], c[4], c[5], b);
		assert_same_bits(a, b, nim, "col2im_cpu");
		free(col), free(a), free(b);
	}
}

/* Both GEMM entry points, all transpositions, odd sizes, leading dimensions
 * wider than the matrices, BETA 0, 1 and in between. Tolerance: 1e-5 of
 * |BETA C| + |ALPHA| sum_k |A||B| (summation order differs). */
static void gemm_should_match_darknet_within_rounding(void **state)
{
	(void)state;
	static const int dims[][3] = { { 1, 1, 1 }, { 7, 13, 5 }, { 33, 17, 65 }, { 64, 3, 27 } };
	static const float betas[] = { 0, 1, 0.3f }, alphas[] = { 1, 0.5f };
	for (int which = 0; which < 2; which++)
		for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
			for (int ta = 0; ta < 2; ta++)
				for (int tb = 0; tb < 2; tb++)
					for (int ab = 0; ab < 6; ab++) {
		int M = dims[d][0], N = dims[d][1], K = dims[d][2];
		float alpha = alphas[ab % 2], beta = betas[ab / 2];
		int lda = (ta ? M : K) + 2, ldb = (tb ? K : N) + 1, ldc = N + 3;
		size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb;
		size_t nc = (size_t)M * ldc;
		float *A = rand_array(na, -1, 1), *B = rand_array(nb, -1, 1);
		float *c0 = rand_array(nc, -1, 1), *c1 = dup_array(c0, nc);
		float *scale = xcalloc(nc, sizeof *scale);
		for (int i = 0; i < M; i++)
			for (int j = 0; j < N; j++) {
				double s = fabs(beta * c0[(size_t)i * ldc + j]);
				for (int k = 0; k < K; k++)
					s += fabs(alpha * (ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
						  (tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]));
				scale[(size_t)i * ldc + j] = (float)s;
			}
		if (which == 0) {
			MINE(gemm_fn, gemm)(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, c0, ldc);
			ORIG(gemm_fn, gemm)(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, c1, ldc);
		} else {
			MINE(gemm_fn, gemm_cpu)(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, c0, ldc);
			ORIG(gemm_fn, gemm_cpu)(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, c1, ldc);
		}
		assert_close(c0, c1, scale, nc, 1e-5, which ? "gemm_cpu" : "gemm");
		free(A), free(B), free(c0), free(c1), free(scale);
					}
}

/* accel_gemm_ordered's definition, written out: each element one fmaf()
 * chain in k order from 0 (or from C's value when accumulating). */
static void ordered_reference(int ta, int tb, int M, int N, int K, const float *A, int lda,
			      const float *B, int ldb, int acc, float *C, int ldc)
{
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++) {
			float c = acc ? C[(size_t)i * ldc + j] : 0.0f;
			for (int k = 0; k < K; k++)
				c = fmaf(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k],
					 tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j], c);
			C[(size_t)i * ldc + j] = c;
		}
}

/* The ordered GEMM equals its definition bit for bit (tolerance 0: a
 * fused multiply-add is rounded once, so the chain has one exact result),
 * with every kernel this CPU has, every transposition, with and without
 * accumulation, on shapes that cut the 12 x 32 tiles, the 1152-step blocks
 * of k and the 128-wide blocks at odd places, and on shapes that make it
 * run its vectors along the rows (few columns, many rows). */
static void ordered_gemm_should_be_one_fma_chain_per_element(void **state)
{
	(void)state;
	static const int dims[][3] = { { 1, 1, 1 },      { 5, 7, 3 },    { 12, 32, 1152 },
				       { 13, 33, 1153 }, { 25, 487, 7 }, { 64, 4, 2400 },
				       { 100, 3, 17 },   { 2, 70, 1 },   { 30, 9, 0 },
				       { 3, 130, 5 } };
	static const char *const isas[] = { "avx512f", "avx2", "scalar" };
	int kernels = 0;
	for (size_t s = 0; s < sizeof isas / sizeof isas[0]; s++) {
		if (accel_gemm_force_kernel(isas[s]) != 0)
			continue; /* not on this CPU */
		kernels++;
		for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
			for (int v = 0; v < 8; v++) {
				int ta = v & 1, tb = v >> 1 & 1, acc = v >> 2;
				int M = dims[d][0], N = dims[d][1], K = dims[d][2];
				int lda = (ta ? M : K) + 2, ldb = (tb ? K : N) + 1, ldc = N + 3;
				size_t na = (size_t)(ta ? K : M) * lda + 1;
				size_t nb = (size_t)(tb ? N : K) * ldb + 1, nc = (size_t)M * ldc;
				float *A = rand_array(na, -1, 1), *B = rand_array(nb, -1, 1);
				float *c0 = rand_array(nc, -1, 1), *c1 = dup_array(c0, nc);
				accel_gemm_ordered(ta, tb, M, N, K, A, lda, B, ldb, acc, c0, ldc);
				ordered_reference(ta, tb, M, N, K, A, lda, B, ldb, acc, c1, ldc);
				assert_same_bits(c0, c1, nc, isas[s]);
				free(A), free(B), free(c0), free(c1);
			}
	}
	accel_gemm_force_kernel(NULL);
	assert_true(kernels >= 1);
}

/* What inference relies on: one column of B, and one row of A, give the
 * same bits whether they are multiplied alone or inside a larger product,
 * at any position, whichever way the larger one runs its vectors. */
static void ordered_gemm_should_not_depend_on_the_rest_of_the_product(void **state)
{
	(void)state;
	const int M = 70, K = 300, N = 150;
	float *A = rand_array((size_t)M * K, -1, 1), *B = rand_array((size_t)K * N, -1, 1);
	float *all = xmalloc(sizeof(float) * M * N), *one = xmalloc(sizeof(float) * M * N);
	float *col = xmalloc(sizeof(float) * K);
	accel_gemm_ordered(0, 0, M, N, K, A, K, B, N, 0, all, N);
	for (int j = 0; j < N; j += 37) { /* column j alone: N = 1 */
		for (int k = 0; k < K; k++)
			col[k] = B[(size_t)k * N + j];
		accel_gemm_ordered(0, 0, M, 1, K, A, K, col, 1, 0, one, 1);
		for (int i = 0; i < M; i++)
			assert_same_bits(&all[(size_t)i * N + j], &one[i], 1, "a column alone");
	}
	for (int i = 0; i < M; i += 23) { /* row i alone: M = 1 */
		accel_gemm_ordered(0, 0, 1, N, K, A + (size_t)i * K, K, B, N, 0, one, N);
		assert_same_bits(&all[(size_t)i * N], one, N, "a row alone");
	}
	/* 3 columns from the middle: the vectors run along the rows. */
	accel_gemm_ordered(0, 0, M, 3, K, A, K, B + 61, N, 0, one, 3);
	for (int i = 0; i < M; i++)
		assert_same_bits(&all[(size_t)i * N + 61], &one[(size_t)i * 3], 3, "3 columns");
	free(A), free(B), free(all), free(one), free(col);
}

/* One product of test_frozen: which operand is frozen and how. */
struct frozen_case {
	int ta, tb, M, N, K, freeze_b;
};

/* A product whose frozen operand (A, or B if freeze_b) is used again
 * after it changed: the same bits as before the change (its packing is
 * kept), until accel_thaw(), and then the new values' bits. With `part`,
 * only half of the operand is frozen: nothing is kept. */
static void frozen_case(const struct frozen_case *c, int part)
{
	int lda = c->ta ? c->M : c->K, ldb = c->tb ? c->K : c->N;
	size_t na = (size_t)(c->ta ? c->K : c->M) * lda, nb = (size_t)(c->tb ? c->N : c->K) * ldb;
	size_t nc = (size_t)c->M * c->N;
	float *A = rand_array(na, -1, 1), *B = rand_array(nb, -1, 1);
	float *want = xmalloc(sizeof(float) * nc), *got = xmalloc(sizeof(float) * nc);
	float *f = c->freeze_b ? B : A;
	size_t nf = c->freeze_b ? nb : na;
	accel_gemm_ordered(c->ta, c->tb, c->M, c->N, c->K, A, lda, B, ldb, 0, want, c->N);
	accel_freeze(f, part ? nf / 2 : nf);
	for (int r = 0; r < 2; r++) { /* packs, then reuses */
		accel_gemm_ordered(c->ta, c->tb, c->M, c->N, c->K, A, lda, B, ldb, 0, got, c->N);
		assert_same_bits(got, want, nc, "frozen operand");
	}
	for (size_t i = 0; i < nf; i++)
		f[i] = -f[i];
	accel_gemm_ordered(c->ta, c->tb, c->M, c->N, c->K, A, lda, B, ldb, 0, got, c->N);
	if (!part)
		assert_same_bits(got, want, nc, "kept packing");
	for (size_t i = 0; i < nc; i++)
		want[i] = -want[i];
	if (part)
		assert_same_bits(got, want, nc, "half frozen: not kept");
	accel_thaw();
	accel_gemm_ordered(c->ta, c->tb, c->M, c->N, c->K, A, lda, B, ldb, 0, got, c->N);
	assert_same_bits(got, want, nc, "after accel_thaw");
	free(A), free(B), free(want), free(got);
}

/* Frozen weights as a convolution uses them (A, with many filters: 3100
 * rows cut the 3072-row blocks; and along the rows with few positions) and
 * as a connected layer does (B transposed, one image), over several
 * 1152-step blocks of k. Negating an operand negates the product exactly. */
static void frozen_operands_should_be_packed_once(void **state)
{
	(void)state;
	static const struct frozen_case cases[] = {
		{ 0, 0, 3100, 20, 1200, 0 }, { 0, 0, 70, 3, 2500, 0 }, { 0, 1, 1, 70, 1300, 1 },
		{ 0, 1, 5, 40, 33, 1 },      { 1, 0, 13, 50, 40, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		frozen_case(&cases[i], 0);
		frozen_case(&cases[i], 1);
	}
}

/* (batch, n, size) shapes for the bias and normalisation helpers. */
static const int bns[][3] = { { 1, 1, 1 }, { 3, 5, 7 }, { 2, 4, 33 }, { 4, 3, 64 }, { 1, 2, 101 } };
#define NBN (sizeof bns / sizeof bns[0])

static void bias_and_scale_should_match_darknet_bit_for_bit(void **state)
{
	(void)state;
	for (size_t s = 0; s < NBN; s++) {
		int batch = bns[s][0], n = bns[s][1], size = bns[s][2];
		size_t len = (size_t)batch * n * size;
		float *v = rand_array(n, -2, 2);
		for (int which = 0; which < 2; which++) {
			float *a = rand_array(len, -1, 1), *b = dup_array(a, len);
			if (which == 0) {
				MINE(bias_fn, add_bias)(a, v, batch, n, size);
				ORIG(bias_fn, add_bias)(b, v, batch, n, size);
			} else {
				MINE(bias_fn, scale_bias)(a, v, batch, n, size);
				ORIG(bias_fn, scale_bias)(b, v, batch, n, size);
			}
			assert_same_bits(a, b, len, which ? "scale_bias" : "add_bias");
			free(a), free(b);
		}
		free(v);
	}
}

/* Per-filter sums of |terms| over (batch, size), the scale of the rounding
 * error of a reduction. */
static float *abs_sums(const float *x, const float *y, const float *m, int batch, int n,
		       int size)
{
	float *s = xcalloc((size_t)n, sizeof *s);
	for (int b = 0; b < batch; b++)
		for (int f = 0; f < n; f++)
			for (int i = 0; i < size; i++) {
				size_t k = ((size_t)b * n + f) * size + i;
				double t = y ? x[k] * (double)(m ? y[k] - m[f] : y[k]) : x[k];
				s[f] += (float)fabs(m && !y ? (x[k] - m[f]) * (x[k] - m[f]) : t);
			}
	return s;
}

/* darkfold's Adam step (no Darknet original on the CPU): the vectorised
 * kernel must give the bits of the plain loop it documents, for an odd
 * length (vector tails) and across steps (t = 1 and 7). */
static void adam_should_match_the_scalar_formula_bit_for_bit(void **state)
{
	(void)state;
	enum { N = 1003 };
	float *w = rand_array(N, -1, 1), *d = rand_array(N, -0.1f, 0.1f);
	float *m = rand_array(N, -0.01f, 0.01f), *v = rand_array(N, 0, 0.001f);
	float *w2 = dup_array(w, N), *d2 = dup_array(d, N), *m2 = dup_array(m, N),
	      *v2 = dup_array(v, N);
	const float b1 = 0.9f, b2 = 0.999f, eps = 1e-7f, rate = 0.001f, decay = 0.008f;
	const int steps[2] = { 1, 7 };
	for (int k = 0; k < 2; k++) {
		float c1 = 1 - powf(b1, (float)steps[k]), c2 = 1 - powf(b2, (float)steps[k]);
		accel_adam(w, d, m, v, N, decay, rate, b1, b2, c1, c2, eps);
		for (size_t i = 0; i < N; i++) {
			float g = d2[i] - decay * w2[i];
			m2[i] = b1 * m2[i] + (1 - b1) * g;
			v2[i] = b2 * v2[i] + (1 - b2) * g * g;
			w2[i] += rate * (m2[i] / c1) / (sqrtf(v2[i] / c2) + eps);
			d2[i] = 0;
		}
		assert_same_bits(w, w2, N, "adam weights");
		assert_same_bits(m, m2, N, "adam m");
		assert_same_bits(v, v2, N, "adam v");
		assert_same_bits(d, d2, N, "adam cleared updates");
		for (size_t i = 0; i < N; i++) /* the next step has a gradient again */
			d[i] = d2[i] = frand(-0.1f, 0.1f);
	}
	float *all[8] = { w, d, m, v, w2, d2, m2, v2 };
	for (int k = 0; k < 8; k++)
		free(all[k]);
}

/* Reductions sum in a different order: 1e-5 of the sum of magnitudes. */
static void reductions_should_match_darknet_within_rounding(void **state)
{
	(void)state;
	for (size_t s = 0; s < NBN; s++) {
		int batch = bns[s][0], n = bns[s][1], size = bns[s][2];
		size_t len = (size_t)batch * n * size;
		float *x = rand_array(len, -1, 2), *d = rand_array(len, -1, 1);
		float *mean = rand_array(n, -0.5f, 0.5f), *var = rand_array(n, 0.1f, 2);
		float *a = rand_array(n, -1, 1), *b = dup_array(a, n);

		float *sc = abs_sums(d, NULL, NULL, batch, n, size);
		MINE(bias_fn, backward_bias)(a, d, batch, n, size);
		ORIG(bias_fn, backward_bias)(b, d, batch, n, size);
		assert_close(a, b, sc, n, 1e-5, "backward_bias");
		free(sc);

		sc = abs_sums(d, x, NULL, batch, n, size);
		MINE(bscale_fn, backward_scale_cpu)(x, d, batch, n, size, a);
		ORIG(bscale_fn, backward_scale_cpu)(x, d, batch, n, size, b);
		assert_close(a, b, sc, n, 1e-5, "backward_scale_cpu");
		free(sc);

		/* mean: sum / (batch size), so scale the tolerance likewise */
		sc = abs_sums(x, NULL, NULL, batch, n, size);
		for (int f = 0; f < n; f++)
			sc[f] /= batch * size;
		MINE(mean_fn, mean_cpu)(x, batch, n, size, a);
		ORIG(mean_fn, mean_cpu)(x, batch, n, size, b);
		assert_close(a, b, sc, n, 1e-5, "mean_cpu");
		free(sc);

		if (batch * size > 1) {
			sc = abs_sums(x, NULL, mean, batch, n, size);
			for (int f = 0; f < n; f++)
				sc[f] /= batch * size - 1;
			MINE(var_fn, variance_cpu)(x, mean, batch, n, size, a);
			ORIG(var_fn, variance_cpu)(x, mean, batch, n, size, b);
			assert_close(a, b, sc, n, 1e-5, "variance_cpu");
			free(sc);
		}

		sc = abs_sums(d, NULL, NULL, batch, n, size);
		for (int f = 0; f < n; f++)
			sc[f] /= sqrtf(var[f] + .00001f);
		MINE(mdelta_fn, mean_delta_cpu)(d, var, batch, n, size, a);
		ORIG(mdelta_fn, mean_delta_cpu)(d, var, batch, n, size, b);
		assert_close(a, b, sc, n, 1e-5, "mean_delta_cpu");
		free(sc);

		sc = abs_sums(d, x, mean, batch, n, size);
		for (int f = 0; f < n; f++)
			sc[f] *= 0.5f * powf(var[f] + .00001f, -1.5f);
		MINE(vdelta_fn, variance_delta_cpu)(x, d, mean, var, batch, n, size, a);
		ORIG(vdelta_fn, variance_delta_cpu)(x, d, mean, var, batch, n, size, b);
		assert_close(a, b, sc, n, 1e-5, "variance_delta_cpu");
		free(sc);

		free(x), free(d), free(mean), free(var), free(a), free(b);
	}
}

static void normalize_should_match_darknet(void **state)
{
	(void)state;
	for (size_t s = 0; s < NBN; s++) {
		int batch = bns[s][0], n = bns[s][1], size = bns[s][2];
		size_t len = (size_t)batch * n * size;
		float *mean = rand_array(n, -0.5f, 0.5f), *var = rand_array(n, 0.1f, 2);
		float *md = rand_array(n, -1, 1), *vd = rand_array(n, -1, 1);
		float *x = rand_array(len, -1, 2);
		float *a = dup_array(x, len), *b = dup_array(x, len);
		MINE(norm_fn, normalize_cpu)(a, mean, var, batch, n, size);
		ORIG(norm_fn, normalize_cpu)(b, mean, var, batch, n, size);
		assert_same_bits(a, b, len, "normalize_cpu");
		free(a), free(b);
		float *d = rand_array(len, -1, 1);
		a = dup_array(d, len), b = dup_array(d, len);
		MINE(ndelta_fn, normalize_delta_cpu)(x, mean, var, md, vd, batch, n, size, a);
		ORIG(ndelta_fn, normalize_delta_cpu)(x, mean, var, md, vd, batch, n, size, b);
		/* Debian's build evaluates this formula with other roundings (it is
		 * not bit-for-bit C semantics): 1e-6 of the terms' magnitudes. */
		float *sc = xmalloc(sizeof *sc * len);
		for (int bb = 0; bb < batch; bb++)
			for (int f = 0; f < n; f++)
				for (int i = 0; i < size; i++) {
					size_t k = ((size_t)bb * n + f) * size + i;
					sc[k] = fabsf(d[k]) / sqrtf(var[f] + .00001f) +
						fabsf(2 * vd[f] * (x[k] - mean[f])) / (batch * size) +
						fabsf(md[f]) / (batch * size);
				}
		assert_close(a, b, sc, len, 1e-6, "normalize_delta_cpu");
		free(sc);
		free(a), free(b), free(d), free(x), free(mean), free(var), free(md), free(vd);
	}
}

/* accel_bn_act against Darknet's own passes: copy, normalize_cpu, copy,
 * scale_bias, add_bias, activate_array (training), or normalize_cpu,
 * scale_bias, add_bias, activate_array (inference), for linear, ReLU and
 * leaky, with negative and zero outputs. */
static void bn_act_should_match_darknets_passes_bit_for_bit(void **state)
{
	(void)state;
	static const int acts[] = { 3, 1, 7 }; /* LINEAR, RELU, LEAKY */
	for (size_t s = 0; s < NBN; s++) {
		int batch = bns[s][0], n = bns[s][1], size = bns[s][2];
		size_t len = (size_t)batch * n * size;
		float *mean = rand_array(n, -0.5f, 0.5f), *var = rand_array(n, 0.01f, 2);
		float *scales = rand_array(n, -2, 2), *biases = rand_array(n, -1, 1);
		for (size_t k = 0; k < sizeof acts / sizeof *acts; k++)
			for (int train = 0; train < 2; train++) {
				float *out = rand_array(len, -3, 3);
				out[len / 2] = 0;
				float *ref = dup_array(out, len), *got = dup_array(out, len);
				float *x = xcalloc(len, sizeof *x), *xn = xcalloc(len, sizeof *xn);
				ORIG(norm_fn, normalize_cpu)(ref, mean, var, batch, n, size);
				float *ref_xn = dup_array(ref, len);
				ORIG(bias_fn, scale_bias)(ref, scales, batch, n, size);
				ORIG(bias_fn, add_bias)(ref, biases, batch, n, size);
				ORIG(act_fn, activate_array)(ref, (int)len, acts[k]);
				accel_bn_act(got, train ? x : NULL, train ? xn : NULL, mean, var,
					     scales, biases, batch, n, size, acts[k]);
				assert_true(accel_bn_act_fusable(acts[k]));
				assert_same_bits(got, ref, len, "accel_bn_act output");
				if (train) {
					assert_same_bits(x, out, len, "accel_bn_act x");
					assert_same_bits(xn, ref_xn, len, "accel_bn_act x_norm");
				}
				free(out), free(ref), free(got), free(x), free(xn), free(ref_xn);
			}
		free(mean), free(var), free(scales), free(biases);
	}
	assert_false(accel_bn_act_fusable(0)); /* LOGISTIC goes through Darknet's passes */
}

/* accel_bn_act_backward against the replacements Darknet's backward pass
 * calls one after another: gradient_array, backward_bias,
 * backward_scale_cpu, scale_bias, mean_delta_cpu, variance_delta_cpu,
 * normalize_delta_cpu. Sizes cover whole accumulator rounds and tails. */
static void bn_act_backward_should_match_the_separate_passes_bit_for_bit(void **state)
{
	(void)state;
	static const int acts[] = { 3, 1, 7 }; /* LINEAR, RELU, LEAKY */
	for (size_t s = 0; s < NBN; s++) {
		int batch = bns[s][0], n = bns[s][1], size = bns[s][2];
		size_t len = (size_t)batch * n * size;
		float *mean = rand_array(n, -0.5f, 0.5f), *var = rand_array(n, 0.01f, 2);
		float *scales = rand_array(n, -2, 2);
		float *out = rand_array(len, -1, 1), *x = rand_array(len, -2, 2);
		float *xn = rand_array(len, -2, 2), *delta = rand_array(len, -1, 1);
		out[0] = 0;
		for (size_t k = 0; k < sizeof acts / sizeof *acts; k++) {
			float *v[2][5]; /* delta, bias_updates, scale_updates, mean_delta, variance_delta */
			for (int w = 0; w < 2; w++) {
				v[w][0] = dup_array(delta, len);
				for (int j = 1; j < 5; j++)
					v[w][j] = rand_array(n, -1, 1);
			}
			for (int j = 1; j < 5; j++)
				memcpy(v[1][j], v[0][j], sizeof(float) * n);
			MINE(grad_fn, gradient_array)(out, (int)len, acts[k], v[0][0]);
			MINE(bias_fn, backward_bias)(v[0][1], v[0][0], batch, n, size);
			MINE(bscale_fn, backward_scale_cpu)(xn, v[0][0], batch, n, size, v[0][2]);
			MINE(bias_fn, scale_bias)(v[0][0], scales, batch, n, size);
			MINE(mdelta_fn, mean_delta_cpu)(v[0][0], var, batch, n, size, v[0][3]);
			MINE(vdelta_fn, variance_delta_cpu)(x, v[0][0], mean, var, batch, n, size,
							    v[0][4]);
			MINE(ndelta_fn, normalize_delta_cpu)(x, mean, var, v[0][3], v[0][4], batch, n,
							     size, v[0][0]);
			struct accel_bn_back a = { v[1][0], out, x, xn, mean, var, scales,
						   v[1][1], v[1][2], v[1][3], v[1][4] };
			accel_bn_act_backward(&a, batch, n, size, acts[k]);
			static const char *const what[5] = { "delta", "bias_updates", "scale_updates",
							     "mean_delta", "variance_delta" };
			for (int j = 0; j < 5; j++)
				assert_same_bits(v[1][j], v[0][j], j ? (size_t)n : len, what[j]);
			for (int w = 0; w < 2; w++)
				for (int j = 0; j < 5; j++)
					free(v[w][j]);
		}
		free(mean), free(var), free(scales), free(out), free(x), free(xn), free(delta);
	}
}

/* Residual sums between equal shapes, a 2x smaller and a 2x larger output,
 * and different channel counts. */
static void shortcut_should_match_darknet_bit_for_bit(void **state)
{
	(void)state;
	static const int sh[][6] = { /* w1 h1 c1 w2 h2 c2 */
		{ 5, 5, 3, 5, 5, 3 }, { 8, 8, 4, 4, 4, 6 }, { 3, 3, 5, 6, 6, 2 }, { 7, 7, 2, 7, 7, 5 },
	};
	static const float sc[][2] = { { 1, 1 }, { 0.5f, -1.25f } };
	for (size_t s = 0; s < sizeof sh / sizeof sh[0]; s++)
		for (int k = 0; k < 2; k++) {
			const int *d = sh[s];
			int batch = 2;
			size_t nadd = (size_t)batch * d[0] * d[1] * d[2];
			size_t nout = (size_t)batch * d[3] * d[4] * d[5];
			float *add = rand_array(nadd, -1, 1), *a = rand_array(nout, -1, 1);
			float *b = dup_array(a, nout);
			MINE(shortcut_fn, shortcut_cpu)(batch, d[0], d[1], d[2], add, d[3], d[4], d[5],
							sc[k][0], sc[k][1], a);
			ORIG(shortcut_fn, shortcut_cpu)(batch, d[0], d[1], d[2], add, d[3], d[4], d[5],
							sc[k][0], sc[k][1], b);
			assert_same_bits(a, b, nout, "shortcut_cpu");
			free(add), free(a), free(b);
		}
}

/* One residual layer's forward and backward pass, by the replacements or
 * by Darknet's originals: layer 0 is the earlier layer (w2, h2, c2), the
 * layer's input is (w, h, c), and with `alias` the input's delta is the
 * earlier layer's delta (as for from=-1; equal shapes only). Returns output, delta, input
 * delta and earlier delta side by side. */
static float *shortcut_pass(const int *d, int act, const float *ab, int alias, int orig)
{
	const int batch = 2;
	size_t n = (size_t)batch * d[0] * d[1] * d[2], n2 = (size_t)batch * d[3] * d[4] * d[5];
	rng_state = 99;
	layer ls[2] = { { 0 } };
	ls[0].output = rand_array(n2, -1, 1);
	ls[0].delta = rand_array(n2, -1, 1);
	ls[1] = make_shortcut_layer(batch, 0, d[0], d[1], d[2], d[3], d[4], d[5]);
	layer *l = &ls[1];
	l->activation = act, l->alpha = ab[0], l->beta = ab[1];
	network net = { 0 };
	net.n = 2, net.layers = ls, net.index = 1, net.train = 1;
	net.input = rand_array(n, -1, 1);
	float *in_delta = rand_array(n, -1, 1);
	net.delta = alias ? ls[0].delta : in_delta;
	(orig ? ORIG(layer_fn, forward_shortcut_layer) : forward_shortcut_layer)(*l, net);
	float *ld = rand_array(n, -1, 1);
	memcpy(l->delta, ld, sizeof *ld * n);
	(orig ? ORIG(layer_fn, backward_shortcut_layer) : backward_shortcut_layer)(*l, net);
	float *r = xmalloc(sizeof *r * (3 * n + n2));
	memcpy(r, l->output, sizeof *r * n);
	memcpy(r + n, l->delta, sizeof *r * n);
	memcpy(r + 2 * n, in_delta, sizeof *r * n);
	memcpy(r + 3 * n, ls[0].delta, sizeof *r * n2);
	free(ls[0].output), free(ls[0].delta), free(l->output), free(l->delta);
	free(net.input), free(in_delta), free(ld);
	return r;
}

/* Layers made by Darknet's make_shortcut_layer: equal shapes (one pass),
 * a smaller and a larger earlier layer and other activations (Darknet's
 * original): output and every delta bit for bit as Darknet's. */
static void shortcut_layer_should_match_darknet_bit_for_bit(void **state)
{
	(void)state;
	static const int sh[][6] = { /* w h c w2 h2 c2 */
		{ 6, 5, 4, 6, 5, 4 }, { 4, 4, 3, 8, 8, 3 }, { 8, 8, 3, 4, 4, 5 },
	};
	static const int acts[] = { 3, 1, 7, 0 }; /* LINEAR RELU LEAKY LOGISTIC */
	static const float ab[][2] = { { 1, 1 }, { 0.5f, -1.25f } };
	for (size_t s = 0; s < sizeof sh / sizeof sh[0]; s++)
		for (int a = 0; a < 4; a++)
			for (int k = 0; k < 4; k++) {
				const int *d = sh[s];
				int alias = k / 2;
				if (alias && s > 0)
					continue; /* from=-1: the input is the earlier layer */
				size_t n = (size_t)2 * d[0] * d[1] * d[2];
				size_t n2 = (size_t)2 * d[3] * d[4] * d[5];
				accel_reset_counts();
				float *mine = shortcut_pass(d, acts[a], ab[k % 2], alias, 0);
				size_t fused = s == 0 && a < 3;
				assert_true(accel_count(ACCEL_forward_shortcut_layer) == fused);
				assert_true(accel_count(ACCEL_backward_shortcut_layer) == fused);
				float *orig = shortcut_pass(d, acts[a], ab[k % 2], alias, 1);
				assert_same_bits(mine, orig, n, "shortcut output");
				assert_same_bits(mine + n, orig + n, n, "shortcut delta");
				assert_same_bits(mine + 2 * n, orig + 2 * n, n, "input delta");
				assert_same_bits(mine + 3 * n, orig + 3 * n, n2, "earlier delta");
				free(mine), free(orig);
			}
}

/* Darknet's ACTIVATION values: LOGISTIC 0, RELU 1, LINEAR 3, LEAKY 7 are
 * replaced; TANH 5 and ELU 8 pass through to the original. */
static const int activations[] = { 0, 1, 3, 7, 5, 8 };

static void activations_should_match_darknet_bit_for_bit(void **state)
{
	(void)state;
	const int n = 37;
	for (size_t k = 0; k < sizeof activations / sizeof activations[0]; k++) {
		int act = activations[k];
		float *x = rand_array(n, -3, 3);
		x[0] = 0.0f, x[1] = -0.0f, x[2] = 1e-30f, x[3] = -1e-30f;
		float *a = dup_array(x, n), *b = dup_array(x, n);
		MINE(act_fn, activate_array)(a, n, act);
		ORIG(act_fn, activate_array)(b, n, act);
		assert_same_bits(a, b, n, "activate_array");
		/* gradients are taken at activated values */
		float *d = rand_array(n, -1, 1);
		float *ga = dup_array(d, n), *gb = dup_array(d, n);
		MINE(grad_fn, gradient_array)(b, n, act, ga);
		ORIG(grad_fn, gradient_array)(b, n, act, gb);
		assert_same_bits(ga, gb, n, "gradient_array");
		free(x), free(a), free(b), free(d), free(ga), free(gb);
	}
}

static void level1_helpers_should_match_darknet_bit_for_bit(void **state)
{
	(void)state;
	static const int sizes[] = { 0, 1, 7, 16, 33, 1001 };
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
		for (int incx = 1; incx <= 2; incx++)
			for (int incy = 1; incy <= 3; incy += 2) {
				int N = sizes[s];
				size_t lx = (size_t)N * incx + 1, ly = (size_t)N * incy + 1;
				float *x = rand_array(lx, -1, 1), *y = rand_array(ly, -1, 1);
				float *a = dup_array(y, ly), *b = dup_array(y, ly);
				MINE(axpy_fn, axpy_cpu)(N, 0.37f, x, incx, a, incy);
				ORIG(axpy_fn, axpy_cpu)(N, 0.37f, x, incx, b, incy);
				assert_same_bits(a, b, ly, "axpy_cpu");
				MINE(copy_fn, copy_cpu)(N, x, incx, a, incy);
				ORIG(copy_fn, copy_cpu)(N, x, incx, b, incy);
				assert_same_bits(a, b, ly, "copy_cpu");
				MINE(fill_fn, fill_cpu)(N, -0.25f, a, incy);
				ORIG(fill_fn, fill_cpu)(N, -0.25f, b, incy);
				assert_same_bits(a, b, ly, "fill_cpu");
				MINE(fill_fn, fill_cpu)(N, 0.0f, a, incy);
				ORIG(fill_fn, fill_cpu)(N, 0.0f, b, incy);
				assert_same_bits(a, b, ly, "fill_cpu zero");
				memcpy(a, y, sizeof *a * ly), memcpy(b, y, sizeof *b * ly);
				MINE(fill_fn, scal_cpu)(N, 0.9f, a, incy);
				ORIG(fill_fn, scal_cpu)(N, 0.9f, b, incy);
				assert_same_bits(a, b, ly, "scal_cpu");
				free(x), free(y), free(a), free(b);
			}
}

/* Max-pool shapes: batch, height, width, channels, size, stride, padding
 * (Darknet's window starts at -padding/2): VGG16's 2x2/2 and ResNet50's
 * 3x3/2 (padding 2) on even and odd inputs, rows long enough for the
 * vector kernels, overlapping windows (stride 1), stride 3, windows larger
 * than the input's border and a window larger than the input. */
static const int pool_shapes[][7] = {
	{ 2, 8, 8, 3, 2, 2, 0 },   { 2, 9, 7, 2, 2, 2, 1 },  { 1, 6, 37, 2, 2, 2, 1 },
	{ 1, 7, 9, 3, 3, 2, 2 },   { 2, 10, 41, 2, 3, 2, 2 }, { 1, 9, 40, 2, 3, 2, 0 },
	{ 3, 5, 6, 2, 3, 1, 2 },   { 1, 11, 8, 2, 3, 3, 0 },  { 2, 6, 7, 2, 2, 1, 1 },
	{ 1, 9, 9, 1, 5, 2, 4 },   { 1, 4, 5, 1, 2, 2, 2 },   { 2, 7, 34, 2, 2, 3, 1 },
	{ 1, 3, 3, 2, 5, 1, 4 },   { 2, 5, 19, 1, 1, 1, 0 },
};

/* Pool inputs: 0 continuous negative values (the -FLT_MAX outside must
 * lose), 1 small integers with many ties and zeros of both signs, 2 the
 * same with NaN, infinities and -FLT_MAX. */
static float *pool_input(size_t n, int kind)
{
	float *p = rand_array(n, -3.5f, 3.5f);
	for (size_t i = 0; i < n; i++) {
		if (kind == 0) {
			p[i] = -1.5f + p[i] / 7;
			continue;
		}
		p[i] = (float)(int)p[i];
		if (p[i] == 0 && frand(0, 1) < 0.5f)
			p[i] = -0.0f;
		float r = frand(0, 1);
		if (kind == 2 && r < 0.2f)
			p[i] = r < 0.05f ? NAN : r < 0.1f ? -INFINITY : r < 0.15f ? -FLT_MAX : INFINITY;
	}
	return p;
}

/* Output, indexes and the input delta of Darknet's passes and of the
 * replacements on the same input, bit for bit. The backward pass adds
 * deltas of different magnitudes, so a different order of the sums onto an
 * input that several windows share shows in the bits. */
static void pool_case(const int *s, int kind)
{
	int batch = s[0], h = s[1], w = s[2], c = s[3];
	layer a = make_maxpool_layer(batch, h, w, c, s[4], s[5], s[6]);
	layer b = make_maxpool_layer(batch, h, w, c, s[4], s[5], s[6]);
	size_t nin = (size_t)batch * h * w * c, nout = (size_t)a.outputs * batch;
	float *in = pool_input(nin, kind);
	network net = { 0 };
	net.input = in;
	net.train = 1;
	ORIG(layer_fn, forward_maxpool_layer)(a, net);
	MINE(layer_fn, forward_maxpool_layer)(b, net);
	assert_same_bits(b.output, a.output, nout, "forward_maxpool_layer output");
	for (size_t i = 0; i < nout; i++)
		if (a.indexes[i] != b.indexes[i])
			fail_msg("forward_maxpool_layer index %zu: %d != %d", i, b.indexes[i],
				 a.indexes[i]);
	int inside = 1;
	for (size_t i = 0; i < nout; i++)
		inside &= a.indexes[i] >= 0 && (size_t)a.indexes[i] < nin;
	assert_true(inside || kind == 2); /* NaN can leave a window without an index */
	if (inside) {
		for (size_t i = 0; i < nout; i++)
			a.delta[i] = b.delta[i] = frand(-1, 1) * (i % 3 ? 1e-4f : 1e3f);
		float *da = rand_array(nin, -1, 1), *db = dup_array(da, nin);
		net.delta = da;
		ORIG(layer_fn, backward_maxpool_layer)(a, net);
		net.delta = db;
		MINE(layer_fn, backward_maxpool_layer)(b, net);
		assert_same_bits(db, da, nin, "backward_maxpool_layer delta");
		free(da), free(db);
	}
	free(in);
	free_layer(a), free_layer(b);
}

static void maxpool_should_match_darknet_bit_for_bit(void **state)
{
	(void)state;
	size_t before = accel_count(ACCEL_forward_maxpool_layer);
	for (size_t s = 0; s < sizeof pool_shapes / sizeof pool_shapes[0]; s++)
		for (int kind = 0; kind < 3; kind++)
			pool_case(pool_shapes[s], kind);
	/* the replacement did the work, not a pass to Darknet's */
	assert_true(accel_count(ACCEL_forward_maxpool_layer) - before ==
		    3 * sizeof pool_shapes / sizeof pool_shapes[0]);
}

/* The name resolves to darkfold's definition everywhere in the process (so
 * libdarknet's PLT calls land there), and it is not libdarknet's. */
static void darknet_names_should_resolve_to_the_replacements(void **state)
{
	(void)state;
	for (int f = 0; f < ACCEL_NFUNCTIONS; f++) {
		void *global = dlsym(RTLD_DEFAULT, accel_name((enum accel_fn)f));
		void *orig = accel_original((enum accel_fn)f);
		assert_non_null(global);
		assert_non_null(orig);
		if (global == orig)
			fail_msg("%s resolves to libdarknet's own definition",
				 accel_name((enum accel_fn)f));
	}
	/* and a direct reference from this program is the same object */
	void *p = dlsym(RTLD_DEFAULT, "im2col_cpu");
	any_fn mine = fnptr(p);
	assert_true(mine == fnptr(dlsym(RTLD_DEFAULT, "im2col_cpu")));
}

static const char tiny_cfg[] =
	"[net]\nbatch=2\nsubdivisions=1\nwidth=9\nheight=9\nchannels=3\n"
	"learning_rate=0.05\nmomentum=0.9\ndecay=0.0005\n\n"
	"[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nactivation=leaky\n\n"
	"[convolutional]\nbatch_normalize=1\nfilters=6\nsize=3\nstride=1\npad=1\n"
	"activation=relu\n\n"
	"[convolutional]\nbatch_normalize=1\nfilters=6\nsize=3\nstride=1\npad=1\ngroups=2\n"
	"activation=leaky\n\n"
	"[convolutional]\nfilters=6\nsize=1\nstride=1\npad=1\nactivation=linear\n\n"
	"[shortcut]\nfrom=-2\nactivation=leaky\n\n"
	"[maxpool]\nsize=2\nstride=2\n\n"
	"[shortcut]\nfrom=-2\nactivation=linear\n\n"
	"[connected]\noutput=8\nactivation=logistic\n\n"
	"[connected]\noutput=3\nactivation=linear\n\n"
	"[softmax]\n";

/* At 20x20 and batch 5: 3x3 and 1x1 layers with 400 output pixels (one
 * image per GEMM, 1x1 without copies), then with 100 output pixels (images
 * joined 3 + 2 per GEMM). */
static const char chunked_cfg[] =
	"[net]\nbatch=5\nsubdivisions=1\nwidth=20\nheight=20\nchannels=3\n"
	"learning_rate=0.001\nmomentum=0.9\ndecay=0.0005\n\n"
	"[convolutional]\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=relu\n\n"
	"[convolutional]\nfilters=6\nsize=1\nstride=1\npad=1\nactivation=leaky\n\n"
	"[maxpool]\nsize=2\nstride=2\n\n"
	"[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\n"
	"activation=leaky\n\n"
	"[convolutional]\nfilters=4\nsize=1\nstride=1\npad=1\nactivation=relu\n\n"
	"[connected]\noutput=2\nactivation=linear\n\n"
	"[softmax]\n";

static char *write_cfg(char **dir, const char *text)
{
	*dir = test_tmpdir();
	char *path = xasprintf("%s/net.cfg", *dir);
	test_write_file(path, text, strlen(text));
	return path;
}

static char *write_tiny_cfg(char **dir)
{
	return write_cfg(dir, tiny_cfg);
}

/* conv, residual sum, max pool, connected and softmax layers; batch 2. */
static const char layers_cfg[] =
	"[net]\nbatch=2\nsubdivisions=1\nwidth=8\nheight=8\nchannels=3\n"
	"learning_rate=0.05\nmomentum=0.9\ndecay=0.0005\n\n"
	"[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\nstride=1\npad=1\n"
	"activation=leaky\n\n"
	"[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\nstride=1\npad=1\n"
	"activation=relu\n\n"
	"[shortcut]\nfrom=-2\nactivation=relu\n\n"
	"[maxpool]\nsize=2\nstride=2\n\n"
	"[convolutional]\nfilters=6\nsize=1\nstride=1\npad=1\nactivation=linear\n\n"
	"[shortcut]\nfrom=-3\nactivation=linear\n\n"
	"[connected]\noutput=3\nactivation=linear\n\n"
	"[softmax]\n";

static network *load_layers_cfg(char **dir)
{
	char *cfg = write_cfg(dir, layers_cfg);
	srand(3);
	network *net = parse_network_cfg(cfg);
	assert_non_null(net);
	free(cfg);
	return net;
}

static void fill_deltas(network *net, float v)
{
	for (int i = 0; i < net->n; i++)
		for (size_t j = 0; j < (size_t)net->layers[i].outputs * net->layers[i].batch; j++)
			net->layers[i].delta[j] = v;
}

/* Every layer's output and delta, one after another. */
static float *layer_state(const network *net, size_t *len)
{
	size_t n = 0;
	for (int i = 0; i < net->n; i++)
		n += 2 * (size_t)net->layers[i].outputs * net->layers[i].batch;
	float *s = xmalloc(sizeof *s * n), *p = s;
	for (int i = 0; i < net->n; i++) {
		size_t k = (size_t)net->layers[i].outputs * net->layers[i].batch;
		memcpy(p, net->layers[i].output, sizeof *p * k);
		memcpy(p + k, net->layers[i].delta, sizeof *p * k);
		p += 2 * k;
	}
	*len = n;
	return s;
}

/* Large enough that OpenBLAS picks different kernels for 1 and 6 images. */
static const char batch_cfg[] =
	"[net]\nbatch=6\nsubdivisions=1\nwidth=32\nheight=32\nchannels=3\n\n"
	"[convolutional]\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
	"[maxpool]\nsize=2\nstride=2\n\n"
	"[convolutional]\nbatch_normalize=1\nfilters=32\nsize=3\nstride=1\npad=1\n"
	"activation=relu\n\n"
	"[maxpool]\nsize=2\nstride=2\n\n"
	"[convolutional]\nfilters=64\nsize=3\nstride=1\npad=1\nactivation=relu\n\n"
	"[maxpool]\nsize=2\nstride=2\n\n"
	"[convolutional]\nfilters=64\nsize=3\nstride=1\npad=1\nactivation=relu\n\n"
	"[convolutional]\nfilters=24\nsize=1\nstride=1\npad=1\nactivation=linear\n\n"
	"[connected]\noutput=64\nactivation=relu\n\n"
	"[connected]\noutput=2\nactivation=linear\n\n"
	"[softmax]\n";

/* 3x3 stride-1 layers with pad 1 and pad 0, for Winograd (forced: the
 * rule leaves layers this small, and inference, to the GEMM); large enough
 * that OpenBLAS picks different kernels for one image's Winograd products
 * and six images' (its small-matrix path below 10^6 multiply-adds). */
static const char winograd_batch_cfg[] =
	"[net]\nbatch=6\nsubdivisions=1\nwidth=16\nheight=16\nchannels=3\n\n"
	"[convolutional]\nfilters=64\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
	"[convolutional]\nbatch_normalize=1\nfilters=64\nsize=3\nstride=1\npad=1\n"
	"activation=relu\n\n"
	"[convolutional]\nfilters=64\nsize=3\nstride=1\npad=0\nactivation=linear\n\n"
	"[connected]\noutput=2\nactivation=linear\n\n"
	"[softmax]\n";

/* What `predict` promises, for the network of cfg text: an image's
 * outputs, in every layer, have the same bits whether it is scored alone or
 * fifth of six images. */
static void check_batch_invariance(const char *text)
{
	char *dir, *cfg = write_cfg(&dir, text);
	srand(5);
	network *net = parse_network_cfg(cfg);
	assert_non_null(net);
	const int B = 6, at = 4;
	size_t in = (size_t)net->inputs;
	float *x = rand_array((size_t)B * in, 0, 1);
	network_predict(net, x);
	float **six = xcalloc((size_t)net->n, sizeof *six);
	for (int i = 0; i < net->n; i++) /* image `at` in each layer's output */
		six[i] = dup_array(net->layers[i].output + (size_t)at * net->layers[i].outputs,
				   (size_t)net->layers[i].outputs);
	set_batch_network(net, 1);
	network_predict(net, x + (size_t)at * in);
	for (int i = 0; i < net->n; i++) {
		assert_same_bits(net->layers[i].output, six[i], (size_t)net->layers[i].outputs,
				 "an image alone and in a batch");
		free(six[i]);
	}
	free(six), free(x), free(cfg);
	free_network(net);
	test_rm_rf(dir);
	free(dir);
}

static void inference_should_not_depend_on_the_batch(void **state)
{
	(void)state;
	check_batch_invariance(batch_cfg);
}

/* The same with every 3x3 stride-1 layer by Winograd F(2x2, 3x3), then
 * F(4x4, 3x3) (bench --conv-algo winograd, winograd4): their products go
 * through the ordered GEMM too. */
static void inference_should_not_depend_on_the_batch_with_winograd(void **state)
{
	(void)state;
	accel_conv_force(1, ACCEL_CONV_WINOGRAD);
	check_batch_invariance(winograd_batch_cfg);
	accel_conv_force(1, ACCEL_CONV_WINOGRAD4);
	check_batch_invariance(winograd_batch_cfg);
	accel_conv_force(0, ACCEL_CONV_GEMM);
}

/* Winograd's forward pass with frozen weights (their transformed kernels
 * made once and kept, per algorithm) against the same weights unfrozen: the
 * same bits, with the ordered products and with OpenBLAS's, both
 * algorithms in turn on the same weights (kept kernels of one must not
 * serve the other). A change to the frozen weights is not seen until
 * accel_thaw(); then negated weights give the negated output exactly. */
static void winograd_kept_kernels_should_give_the_same_bits(void **state)
{
	(void)state;
	const int B = 2, C = 5, H = 9, W = 7, N = 6, pad = 1, OH = H, OW = W;
	const enum accel_conv_algo algos[2] = { ACCEL_CONV_WINOGRAD, ACCEL_CONV_WINOGRAD4 };
	size_t nx = (size_t)B * C * H * W, nw = (size_t)N * C * 9, ny = (size_t)B * N * OH * OW;
	float *x = rand_array(nx, -1, 1), *w = rand_array(nw, -1, 1);
	float *want[2][2], *got = xmalloc(sizeof *got * ny); /* [ordered][algorithm] */
	for (int o = 0; o < 2; o++)
		for (int a = 0; a < 2; a++) {
			accel_set_ordered(o);
			want[o][a] = xmalloc(sizeof(float) * ny);
			accel_winograd_forward(algos[a], x, B, C, H, W, pad, w, N, want[o][a]);
		}
	accel_freeze(w, nw);
	for (int r = 0; r < 2; r++) /* makes the kept kernels, then uses them */
		for (int o = 0; o < 2; o++)
			for (int a = 0; a < 2; a++) {
				accel_set_ordered(o);
				accel_winograd_forward(algos[a], x, B, C, H, W, pad, w, N, got);
				assert_same_bits(got, want[o][a], ny, "frozen weights");
			}
	for (size_t i = 0; i < nw; i++)
		w[i] = -w[i];
	accel_winograd_forward(algos[1], x, B, C, H, W, pad, w, N, got);
	assert_same_bits(got, want[1][1], ny, "frozen weights changed: kept kernels");
	accel_thaw();
	for (int a = 0; a < 2; a++) {
		accel_winograd_forward(algos[a], x, B, C, H, W, pad, w, N, got);
		for (size_t i = 0; i < ny; i++)
			got[i] = -got[i];
		assert_same_bits(got, want[1][a], ny, "after accel_thaw: the new weights");
	}
	accel_set_ordered(0);
	for (int o = 0; o < 2; o++)
		free(want[o][0]), free(want[o][1]);
	free(x), free(w), free(got);
}

/* network_predict (Darknet's, calling the replacement) against its steps
 * with Darknet's own forward_network, both with the ordered products (which
 * the replacement turns on for an inference pass, and off after it): the
 * same outputs in every layer; the replacement leaves the deltas alone (the
 * original zeroes them). */
static void forward_network_should_match_darknet_in_inference(void **state)
{
	(void)state;
	char *dir;
	network *net = load_layers_cfg(&dir);
	size_t nin = (size_t)net->batch * net->inputs, len, len2;
	float *x = rand_array(nin, 0, 1);
	fill_deltas(net, 7);
	accel_reset_counts();
	network_predict(net, x);
	assert_true(accel_count(ACCEL_forward_network) == 1);
	float *mine = layer_state(net, &len);
	for (int i = 0; i < net->n; i++) /* deltas untouched */
		for (int j = 0; j < net->layers[i].outputs * net->layers[i].batch; j++)
			assert_true(net->layers[i].delta[j] == 7);

	assert_false(accel_ordered()); /* only for the length of the pass */
	network saved = *net;
	net->input = x, net->truth = 0, net->train = 0, net->delta = 0;
	accel_set_ordered(1); /* Darknet's loop, with the same products */
	ORIG(network_fn, forward_network)(net);
	accel_set_ordered(0);
	*net = saved;
	float *orig = layer_state(net, &len2);
	assert_true(len == len2);
	fill_deltas(net, 0);
	float *zero = layer_state(net, &len2);
	for (size_t i = 0, k = 0; i < (size_t)net->n; i++) {
		size_t n = (size_t)net->layers[i].outputs * net->layers[i].batch;
		assert_same_bits(mine + k, orig + k, n, "layer output");
		assert_same_bits(orig + k + n, zero + k + n, n, "Darknet's delta");
		k += 2 * n;
	}
	free(x), free(mine), free(orig), free(zero);
	free_network(net);
	test_rm_rf(dir);
	free(dir);
}

/* In training the replacement zeroes the deltas as Darknet does: outputs,
 * deltas and cost bit for bit the same as Darknet's forward_network. */
static void forward_network_should_match_darknet_in_training(void **state)
{
	(void)state;
	char *dir;
	network *net = load_layers_cfg(&dir);
	size_t nin = (size_t)net->batch * net->inputs, len, len2;
	float *x = rand_array(nin, 0, 1);
	memcpy(net->input, x, sizeof *x * nin);
	for (int b = 0; b < net->batch; b++)
		for (int j = 0; j < net->truths; j++)
			net->truth[b * net->truths + j] = j == b % net->truths;
	net->train = 1;
	fill_deltas(net, 7);
	accel_reset_counts();
	forward_network(net);
	assert_true(accel_count(ACCEL_forward_network) == 1);
	float *mine = layer_state(net, &len), cost = *net->cost;
	fill_deltas(net, 7);
	ORIG(network_fn, forward_network)(net);
	float *orig = layer_state(net, &len2);
	assert_true(len == len2);
	assert_same_bits(mine, orig, len, "outputs and deltas");
	assert_same_bits(&cost, net->cost, 1, "cost");
	assert_true(isfinite(cost) && cost > 0);
	/* the first layer's delta (nothing but the zeroing writes it) */
	assert_true(net->layers[0].delta[0] == 0);
	free(x), free(mine), free(orig);
	free_network(net);
	test_rm_rf(dir);
	free(dir);
}

static void training_should_call_every_replacement(void **state)
{
	(void)state;
	char *dir, *cfg = write_tiny_cfg(&dir);
	struct bench_options o = { .cfg = cfg, .size = 11, .batch = 3, .iters = 1, .threads = 1,
				   .seed = 5 };
	float loss;
	accel_reset_counts();
	assert_int_equal(bench_losses(&o, 1, &loss), 0);
	assert_true(isfinite(loss));
	for (int f = 0; f < ACCEL_NFUNCTIONS; f++) {
		if (f == ACCEL_gemm_cpu)
			continue; /* Darknet's layers call gemm */
		if (f == ACCEL_forward_network || f == ACCEL_backward_network)
			continue; /* bench runs the layers itself; see the forward_network
				   * tests and test_accel_memory */
		if (accel_count((enum accel_fn)f) == 0)
			fail_msg("one training batch never ran the replacement of %s",
				 accel_name((enum accel_fn)f));
	}
	/* gemm_cpu is reached through Darknet's own gemm */
	accel_reset_counts();
	float A[6] = { 1, 2, 3, 4, 5, 6 }, B[6] = { 1, 0, 0, 1, 1, 1 }, C[4] = { 0 };
	ORIG(gemm_fn, gemm)(0, 0, 2, 2, 3, 1, A, 3, B, 2, 0, C, 2);
	assert_true(accel_count(ACCEL_gemm_cpu) == 1);
	assert_true(accel_count(ACCEL_gemm) == 0);
	/* A (2x3) B (3x2) worked out by hand: [[4, 5], [10, 11]] */
	assert_true(C[0] == 4 && C[1] == 5 && C[2] == 10 && C[3] == 11);

	/* switched off: Darknet's originals run, nothing is counted */
	o.stock = 1;
	accel_reset_counts();
	assert_int_equal(bench_losses(&o, 1, &loss), 0);
	for (int f = 0; f < ACCEL_NFUNCTIONS; f++)
		assert_true(accel_count((enum accel_fn)f) == 0);
	assert_int_equal(accel_set_enabled(1), 0);
	assert_int_equal(accel_enabled(), 1);
	test_rm_rf(dir);
	free(dir), free(cfg);
}

/* Losses of the first batches from a fresh network, in a child process
 * (Darknet's rand()-based init and rand_normal's cached value are then the
 * same for both runs). */
static void losses_in_child(const char *cfg, int size, int batch, int stock, int n,
			    float *losses)
{
	int fd[2];
	assert_int_equal(pipe(fd), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fd[0]);
		struct bench_options o = { .cfg = cfg, .size = size, .batch = batch, .iters = 1,
					   .threads = 1, .stock = stock, .seed = 7 };
		int rc = bench_losses(&o, n, losses);
		ssize_t w = rc ? -1 : write(fd[1], losses, sizeof *losses * n);
		_exit(w == (ssize_t)(sizeof *losses * n) ? 0 : 1);
	}
	close(fd[1]);
	size_t got = 0;
	while (got < sizeof *losses * n) {
		ssize_t r = read(fd[0], (char *)losses + got, sizeof *losses * n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd[0]);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(got == sizeof *losses * n);
}

static void check_losses_agree(const char *text, int size, int batch)
{
	char *dir, *cfg = write_cfg(&dir, text);
	enum { N = 6 };
	float fast[N], stock[N];
	losses_in_child(cfg, size, batch, 0, N, fast);
	losses_in_child(cfg, size, batch, 1, N, stock);
	for (int i = 0; i < N; i++) {
		assert_true(isfinite(fast[i]) && fast[i] > 0);
		/* the first two losses see one forward pass and one update: only
		 * rounding separates them; later, training amplifies it */
		float rel = i < 2 ? 1e-5f : 1e-3f;
		if (!(fabsf(fast[i] - stock[i]) <= rel * fabsf(stock[i])))
			fail_msg("batch %d: loss %.9g with replacements, %.9g without", i, fast[i],
				 stock[i]);
	}
	/* the network learns: the losses are not all the same number */
	int varied = 0;
	for (int i = 1; i < N; i++)
		varied |= stock[i] != stock[0];
	assert_true(varied);
	test_rm_rf(dir);
	free(dir), free(cfg);
}

static void losses_should_agree_with_and_without_replacements(void **state)
{
	(void)state;
	check_losses_agree(tiny_cfg, 13, 4);
}

static void losses_should_agree_for_every_way_of_joining_images(void **state)
{
	(void)state;
	check_losses_agree(chunked_cfg, 20, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(im2col_should_match_darknet_bit_for_bit),
		cmocka_unit_test(col2im_should_match_darknet_bit_for_bit),
		cmocka_unit_test(gemm_should_match_darknet_within_rounding),
		cmocka_unit_test(ordered_gemm_should_be_one_fma_chain_per_element),
		cmocka_unit_test(ordered_gemm_should_not_depend_on_the_rest_of_the_product),
		cmocka_unit_test(frozen_operands_should_be_packed_once),
		cmocka_unit_test(bias_and_scale_should_match_darknet_bit_for_bit),
		cmocka_unit_test(reductions_should_match_darknet_within_rounding),
		cmocka_unit_test(adam_should_match_the_scalar_formula_bit_for_bit),
		cmocka_unit_test(normalize_should_match_darknet),
		cmocka_unit_test(bn_act_should_match_darknets_passes_bit_for_bit),
		cmocka_unit_test(bn_act_backward_should_match_the_separate_passes_bit_for_bit),
		cmocka_unit_test(shortcut_should_match_darknet_bit_for_bit),
		cmocka_unit_test(shortcut_layer_should_match_darknet_bit_for_bit),
		cmocka_unit_test(activations_should_match_darknet_bit_for_bit),
		cmocka_unit_test(level1_helpers_should_match_darknet_bit_for_bit),
		cmocka_unit_test(maxpool_should_match_darknet_bit_for_bit),
		cmocka_unit_test(darknet_names_should_resolve_to_the_replacements),
		cmocka_unit_test(forward_network_should_match_darknet_in_inference),
		cmocka_unit_test(inference_should_not_depend_on_the_batch),
		cmocka_unit_test(inference_should_not_depend_on_the_batch_with_winograd),
		cmocka_unit_test(winograd_kept_kernels_should_give_the_same_bits),
		cmocka_unit_test(forward_network_should_match_darknet_in_training),
		cmocka_unit_test(training_should_call_every_replacement),
		cmocka_unit_test(losses_should_agree_with_and_without_replacements),
		cmocka_unit_test(losses_should_agree_for_every_way_of_joining_images),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
