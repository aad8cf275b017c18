/* accel.c: ELF interposers for libdarknet's hot functions (see accel.h).
 *
 * The exported functions below carry Darknet's names and C signatures
 * exactly (Darknet's ACTIVATION enum is passed as int). Each one counts the
 * call and runs a kernel written so that the compiler vectorises it; the
 * kernels are compiled for several instruction sets (target_clones) and the
 * best one for the running CPU is picked at load time, so the binary runs on
 * any x86-64. When the switch is off, each function calls libdarknet's
 * original instead. */
#include "accel.h"

#include "blas.h"
#include "error.h"

#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Darknet's ACTIVATION enum (darknet.h): LOGISTIC, RELU, RELIE, LINEAR, RAMP,
 * TANH, PLSE, LEAKY, ... */
enum { DN_LOGISTIC = 0, DN_RELU = 1, DN_LINEAR = 3, DN_LEAKY = 7 };

/* Mutable globals: libdarknet calls the functions below with its own fixed
 * signatures, so the switch and the counters cannot be passed as context. */
static int accel_off;
static size_t accel_counts[ACCEL_NFUNCTIONS];
static void *accel_originals[ACCEL_NFUNCTIONS];
static int ordered_products;
static enum accel_precision product_precision; /* training's products: ACCEL_FP32 or ACCEL_BF16 */

#define ACCEL_NAME(name) #name,
static const char *const accel_names[ACCEL_NFUNCTIONS] = { ACCEL_FUNCTIONS(ACCEL_NAME) };
#undef ACCEL_NAME

const char *accel_name(enum accel_fn f)
{
	return (unsigned)f < ACCEL_NFUNCTIONS ? accel_names[f] : "?";
}

static void *darknet_handle(void)
{
	static void *handle;
	if (!handle) {
#ifdef DARKFOLD_DARKNET_LIBRARY
		handle = dlopen(DARKFOLD_DARKNET_LIBRARY, RTLD_LAZY);
#endif
		if (!handle)
			handle = dlopen("libdarknet.so", RTLD_LAZY);
	}
	return handle;
}

void *accel_original(enum accel_fn f)
{
	if ((unsigned)f >= ACCEL_NFUNCTIONS) {
		error("no replaced function number %d", (int)f);
		return NULL;
	}
	if (accel_originals[f])
		return accel_originals[f];
	void *h = darknet_handle();
	if (!h) {
		error("cannot open libdarknet.so: %s", dlerror());
		return NULL;
	}
	/* dlsym on the library's handle searches libdarknet itself first, so
	 * this is its own definition, not the executable's replacement. */
	void *p = dlsym(h, accel_names[f]);
	if (!p) {
		error("libdarknet.so has no symbol '%s'", accel_names[f]);
		return NULL;
	}
	accel_originals[f] = p;
	return p;
}

int accel_set_enabled(int on)
{
	if (!on && accel_memory_networks() > 0)
		return error("cannot turn the replacements off: %d network(s) built to use them "
			     "(accel_memory_share) are still in use", accel_memory_networks());
	if (!on) {
		for (int f = 0; f < ACCEL_NFUNCTIONS; f++)
			if (!accel_original((enum accel_fn)f))
				return -1;
	}
	accel_off = !on;
	return 0;
}

int accel_enabled(void)
{
	return !accel_off;
}

size_t accel_count(enum accel_fn f)
{
	return (unsigned)f < ACCEL_NFUNCTIONS ? accel_counts[f] : 0;
}

void accel_note_call(enum accel_fn f)
{
	if ((unsigned)f < ACCEL_NFUNCTIONS)
		accel_counts[f]++;
}

void accel_reset_counts(void)
{
	memset(accel_counts, 0, sizeof accel_counts);
}

/* Call libdarknet's original of `name` (a function of type `type`) with the
 * given arguments and return from the enclosing function. The original was
 * resolved by accel_set_enabled(0) before the switch went off. */
#define CALL_ORIGINAL(name, type, ...)                                             \
	do {                                                                       \
		type fn_;                                                          \
		void *p_ = accel_originals[ACCEL_##name];                          \
		memcpy(&fn_, &p_, sizeof fn_);                                     \
		fn_(__VA_ARGS__);                                                  \
		return;                                                            \
	} while (0)

/* ---- Darknet's prototypes (gemm.h, im2col.h, col2im.h, blas.h,
 * activations.h, convolutional_layer.h, batchnorm_layer.h) ---- */
void gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B,
	  int ldb, float BETA, float *C, int ldc);
void gemm_cpu(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda,
	      float *B, int ldb, float BETA, float *C, int ldc);
void im2col_cpu(float *data_im, int channels, int height, int width, int ksize, int stride,
		int pad, float *data_col);
void col2im_cpu(float *data_col, int channels, int height, int width, int ksize, int stride,
		int pad, float *data_im);
void add_bias(float *output, float *biases, int batch, int n, int size);
void scale_bias(float *output, float *scales, int batch, int n, int size);
void backward_bias(float *bias_updates, float *delta, int batch, int n, int size);
void backward_scale_cpu(float *x_norm, float *delta, int batch, int n, int size,
			float *scale_updates);
void mean_cpu(float *x, int batch, int filters, int spatial, float *mean);
void variance_cpu(float *x, float *mean, int batch, int filters, int spatial, float *variance);
void normalize_cpu(float *x, float *mean, float *variance, int batch, int filters, int spatial);
void mean_delta_cpu(float *delta, float *variance, int batch, int filters, int spatial,
		    float *mean_delta);
void variance_delta_cpu(float *x, float *delta, float *mean, float *variance, int batch,
			int filters, int spatial, float *variance_delta);
void normalize_delta_cpu(float *x, float *mean, float *variance, float *mean_delta,
			 float *variance_delta, int batch, int filters, int spatial,
			 float *delta);
void shortcut_cpu(int batch, int w1, int h1, int c1, float *add, int w2, int h2, int c2,
		  float s1, float s2, float *out);
void activate_array(float *x, const int n, const int a);
void gradient_array(const float *x, const int n, const int a, float *delta);
void axpy_cpu(int N, float ALPHA, float *X, int INCX, float *Y, int INCY);
void copy_cpu(int N, float *X, int INCX, float *Y, int INCY);
void fill_cpu(int N, float ALPHA, float *X, int INCX);
void scal_cpu(int N, float ALPHA, float *X, int INCX);

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

/* ---- GEMM ---- */

/* C = ALPHA * op(A) op(B) + BETA * C, row-major, as Darknet's gemm_cpu. */
static void sgemm(int TA, int TB, int M, int N, int K, float ALPHA, const float *A, int lda,
		  const float *B, int ldb, float BETA, float *C, int ldc)
{
	if (M <= 0 || N <= 0)
		return;
	int plain = ALPHA == 1 && (BETA == 0 || BETA == 1); /* C = op(A) op(B) (+ C) */
	if (plain && accel_ordered()) {
		accel_gemm_ordered(TA, TB, M, N, K, A, lda, B, ldb, BETA == 1, C, ldc);
		return;
	}
	if (plain && product_precision == ACCEL_BF16) {
		accel_gemm_bf16(TA, TB, M, N, K, A, lda, B, ldb, BETA == 1, C, ldc);
		return;
	}
	if (K <= 0) {
		for (int i = 0; i < M; i++)
			for (int j = 0; j < N; j++)
				C[(size_t)i * ldc + j] *= BETA;
		return;
	}
	blas_sgemm(TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
}

void accel_product(int ta, int tb, int M, int N, int K, const float *A, int lda,
		   const float *B, int ldb, int accumulate, float *C, int ldc)
{
	sgemm(ta, tb, M, N, K, 1, A, lda, B, ldb, accumulate ? 1 : 0, C, ldc);
}

void accel_set_ordered(int on)
{
	ordered_products = on;
}

int accel_ordered(void)
{
	return ordered_products;
}

void accel_set_precision(enum accel_precision p)
{
	product_precision = p;
}

enum accel_precision accel_precision(void)
{
	return product_precision;
}

void gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B,
	  int ldb, float BETA, float *C, int ldc)
{
	if (accel_off)
		CALL_ORIGINAL(gemm, gemm_fn, TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
	accel_counts[ACCEL_gemm]++;
	sgemm(TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
}

void gemm_cpu(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B,
	      int ldb, float BETA, float *C, int ldc)
{
	if (accel_off)
		CALL_ORIGINAL(gemm_cpu, gemm_fn, TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C,
			      ldc);
	accel_counts[ACCEL_gemm_cpu]++;
	sgemm(TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
}

/* ---- im2col / col2im ----
 *
 * Column matrix row r = (c * ksize + ki) * ksize + kj holds, for each output
 * position (oh, ow), the input pixel (oh*stride - pad + ki,
 * ow*stride - pad + kj) of channel c, or 0 outside the image. For one
 * (ki, kj) the output columns with an input column inside the image form
 * the range [lo, hi). */
struct col_range {
	int lo, hi;
};

static struct col_range col_range(int width, int out_w, int k, int stride, int pad)
{
	struct col_range r;
	r.lo = pad - k > 0 ? (pad - k + stride - 1) / stride : 0;
	if (r.lo > out_w)
		r.lo = out_w;
	int last = width - 1 + pad - k; /* ow*stride <= last */
	r.hi = last < 0 ? 0 : last / stride + 1;
	if (r.hi > out_w)
		r.hi = out_w;
	if (r.hi < r.lo)
		r.hi = r.lo;
	return r;
}

ACCEL_CLONES
void accel_adam(float *restrict w, float *restrict d, float *restrict m, float *restrict v,
		size_t n, float decay_batch, float rate, float b1, float b2, float c1, float c2,
		float eps)
{
	for (size_t i = 0; i < n; i++) {
		float g = d[i] - decay_batch * w[i];
		float mi = b1 * m[i] + (1 - b1) * g;
		float vi = b2 * v[i] + (1 - b2) * g * g;
		m[i] = mi;
		v[i] = vi;
		w[i] += rate * (mi / c1) / (sqrtf(vi / c2) + eps);
		d[i] = 0;
	}
}

ACCEL_CLONES
static void im2col_kernel(const float *restrict im, int channels, int height, int width,
			  int ksize, int stride, int pad, float *restrict col, size_t plane)
{
	const int out_h = (height + 2 * pad - ksize) / stride + 1;
	const int out_w = (width + 2 * pad - ksize) / stride + 1;
	for (int c = 0; c < channels; c++) {
		const float *src = im + (size_t)c * height * width; /* (H, W) */
		for (int ki = 0; ki < ksize; ki++) {
			for (int kj = 0; kj < ksize; kj++) {
				float *dst = col + ((size_t)(c * ksize + ki) * ksize + kj) * plane;
				struct col_range r = col_range(width, out_w, kj, stride, pad);
				for (int oh = 0; oh < out_h; oh++) {
					float *d = dst + (size_t)oh * out_w; /* (out_w) */
					int ih = oh * stride - pad + ki;
					if (ih < 0 || ih >= height) {
						memset(d, 0, sizeof *d * out_w);
						continue;
					}
					const float *s = src + (size_t)ih * width +
							 (r.lo * stride - pad + kj);
					for (int ow = 0; ow < r.lo; ow++)
						d[ow] = 0;
					float *dd = d + r.lo;
					int len = r.hi - r.lo;
					if (stride == 1)
						memcpy(dd, s, sizeof *dd * len);
					else
						for (int t = 0; t < len; t++)
							dd[t] = s[t * stride];
					for (int ow = r.hi; ow < out_w; ow++)
						d[ow] = 0;
				}
			}
		}
	}
}

ACCEL_CLONES
static void col2im_kernel(const float *restrict col, size_t plane, int channels, int height,
			  int width, int ksize, int stride, int pad, float *restrict im)
{
	const int out_h = (height + 2 * pad - ksize) / stride + 1;
	const int out_w = (width + 2 * pad - ksize) / stride + 1;
	/* Same row order as Darknet's loop, so each pixel receives its sums
	 * in the same order. */
	for (int c = 0; c < channels; c++) {
		float *dst = im + (size_t)c * height * width; /* (H, W) */
		for (int ki = 0; ki < ksize; ki++) {
			for (int kj = 0; kj < ksize; kj++) {
				const float *src =
					col + ((size_t)(c * ksize + ki) * ksize + kj) * plane;
				struct col_range r = col_range(width, out_w, kj, stride, pad);
				int len = r.hi - r.lo;
				for (int oh = 0; oh < out_h; oh++) {
					int ih = oh * stride - pad + ki;
					if (ih < 0 || ih >= height)
						continue;
					const float *s = src + (size_t)oh * out_w + r.lo;
					float *d = dst + (size_t)ih * width + (r.lo * stride - pad + kj);
					if (stride == 1)
						for (int t = 0; t < len; t++)
							d[t] += s[t];
					else
						for (int t = 0; t < len; t++)
							d[t * stride] += s[t];
				}
			}
		}
	}
}

void im2col_cpu(float *data_im, int channels, int height, int width, int ksize, int stride,
		int pad, float *data_col)
{
	if (accel_off)
		CALL_ORIGINAL(im2col_cpu, im2col_fn, data_im, channels, height, width, ksize,
			      stride, pad, data_col);
	accel_counts[ACCEL_im2col_cpu]++;
	int out_h = (height + 2 * pad - ksize) / stride + 1;
	int out_w = (width + 2 * pad - ksize) / stride + 1;
	im2col_kernel(data_im, channels, height, width, ksize, stride, pad, data_col,
		      (size_t)out_h * out_w);
}

void col2im_cpu(float *data_col, int channels, int height, int width, int ksize, int stride,
		int pad, float *data_im)
{
	if (accel_off)
		CALL_ORIGINAL(col2im_cpu, im2col_fn, data_col, channels, height, width, ksize,
			      stride, pad, data_im);
	accel_counts[ACCEL_col2im_cpu]++;
	int out_h = (height + 2 * pad - ksize) / stride + 1;
	int out_w = (width + 2 * pad - ksize) / stride + 1;
	col2im_kernel(data_col, (size_t)out_h * out_w, channels, height, width, ksize, stride, pad,
		      data_im);
}

void accel_im2col(const float *im, int channels, int height, int width, int ksize,
		  int stride, int pad, float *col, size_t ldcol)
{
	im2col_kernel(im, channels, height, width, ksize, stride, pad, col, ldcol);
}

void accel_col2im(const float *col, size_t ldcol, int channels, int height, int width,
		  int ksize, int stride, int pad, float *im)
{
	col2im_kernel(col, ldcol, channels, height, width, ksize, stride, pad, im);
}

/* ---- reductions: 16 partial sums, combined pairwise ---- */

#define NACC 16

static float combine(float acc[NACC])
{
	for (int w = NACC / 2; w > 0; w /= 2)
		for (int k = 0; k < w; k++)
			acc[k] += acc[k + w];
	return acc[0];
}

/* sum of p[0..n) */
ACCEL_CLONES
static float sum_kernel(const float *restrict p, int n)
{
	float acc[NACC] = { 0 };
	int i = 0;
	for (; i + NACC <= n; i += NACC)
		for (int k = 0; k < NACC; k++)
			acc[k] += p[i + k];
	for (; i < n; i++)
		acc[i % NACC] += p[i];
	return combine(acc);
}

/* sum of a[i] * b[i] */
ACCEL_CLONES
static float dot_kernel(const float *restrict a, const float *restrict b, int n)
{
	float acc[NACC] = { 0 };
	int i = 0;
	for (; i + NACC <= n; i += NACC)
		for (int k = 0; k < NACC; k++)
			acc[k] += a[i + k] * b[i + k];
	for (; i < n; i++)
		acc[i % NACC] += a[i] * b[i];
	return combine(acc);
}

/* sum of (p[i] - m)^2 */
ACCEL_CLONES
static float sumsq_kernel(const float *restrict p, float m, int n)
{
	float acc[NACC] = { 0 };
	int i = 0;
	for (; i + NACC <= n; i += NACC)
		for (int k = 0; k < NACC; k++) {
			float d = p[i + k] - m;
			acc[k] += d * d;
		}
	for (; i < n; i++) {
		float d = p[i] - m;
		acc[i % NACC] += d * d;
	}
	return combine(acc);
}

/* sum of a[i] * (b[i] - m) */
ACCEL_CLONES
static float dotdev_kernel(const float *restrict a, const float *restrict b, float m, int n)
{
	float acc[NACC] = { 0 };
	int i = 0;
	for (; i + NACC <= n; i += NACC)
		for (int k = 0; k < NACC; k++)
			acc[k] += a[i + k] * (b[i + k] - m);
	for (; i < n; i++)
		acc[i % NACC] += a[i] * (b[i] - m);
	return combine(acc);
}

/* ---- bias, scale, batch normalisation. Layout (batch, n, size). ---- */

ACCEL_CLONES
static void add_kernel(float *restrict p, float v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] += v;
}

ACCEL_CLONES
static void mul_kernel(float *restrict p, float v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] *= v;
}

void add_bias(float *output, float *biases, int batch, int n, int size)
{
	if (accel_off)
		CALL_ORIGINAL(add_bias, bias_fn, output, biases, batch, n, size);
	accel_counts[ACCEL_add_bias]++;
	for (int b = 0; b < batch; b++)
		for (int i = 0; i < n; i++)
			add_kernel(output + ((size_t)b * n + i) * size, biases[i], size);
}

void scale_bias(float *output, float *scales, int batch, int n, int size)
{
	if (accel_off)
		CALL_ORIGINAL(scale_bias, bias_fn, output, scales, batch, n, size);
	accel_counts[ACCEL_scale_bias]++;
	for (int b = 0; b < batch; b++)
		for (int i = 0; i < n; i++)
			mul_kernel(output + ((size_t)b * n + i) * size, scales[i], size);
}

void backward_bias(float *bias_updates, float *delta, int batch, int n, int size)
{
	if (accel_off)
		CALL_ORIGINAL(backward_bias, bias_fn, bias_updates, delta, batch, n, size);
	accel_counts[ACCEL_backward_bias]++;
	for (int b = 0; b < batch; b++)
		for (int i = 0; i < n; i++)
			bias_updates[i] += sum_kernel(delta + ((size_t)b * n + i) * size, size);
}

void backward_scale_cpu(float *x_norm, float *delta, int batch, int n, int size,
			float *scale_updates)
{
	if (accel_off)
		CALL_ORIGINAL(backward_scale_cpu, bscale_fn, x_norm, delta, batch, n, size,
			      scale_updates);
	accel_counts[ACCEL_backward_scale_cpu]++;
	for (int f = 0; f < n; f++) {
		float sum = 0;
		for (int b = 0; b < batch; b++) {
			size_t off = ((size_t)b * n + f) * size;
			sum += dot_kernel(delta + off, x_norm + off, size);
		}
		scale_updates[f] += sum;
	}
}

void mean_cpu(float *x, int batch, int filters, int spatial, float *mean)
{
	if (accel_off)
		CALL_ORIGINAL(mean_cpu, mean_fn, x, batch, filters, spatial, mean);
	accel_counts[ACCEL_mean_cpu]++;
	float scale = 1. / (batch * spatial);
	for (int f = 0; f < filters; f++) {
		float sum = 0;
		for (int b = 0; b < batch; b++)
			sum += sum_kernel(x + ((size_t)b * filters + f) * spatial, spatial);
		mean[f] = sum * scale;
	}
}

void variance_cpu(float *x, float *mean, int batch, int filters, int spatial, float *variance)
{
	if (accel_off)
		CALL_ORIGINAL(variance_cpu, var_fn, x, mean, batch, filters, spatial, variance);
	accel_counts[ACCEL_variance_cpu]++;
	float scale = 1. / (batch * spatial - 1);
	for (int f = 0; f < filters; f++) {
		float sum = 0;
		for (int b = 0; b < batch; b++)
			sum += sumsq_kernel(x + ((size_t)b * filters + f) * spatial, mean[f],
					    spatial);
		variance[f] = sum * scale;
	}
}

/* x = (x - m) / d, the quotient taken in double as in Darknet. */
ACCEL_CLONES
static void normalize_kernel(float *restrict x, float m, double d, int n)
{
	for (int i = 0; i < n; i++)
		x[i] = (double)(x[i] - m) / d;
}

void normalize_cpu(float *x, float *mean, float *variance, int batch, int filters, int spatial)
{
	if (accel_off)
		CALL_ORIGINAL(normalize_cpu, norm_fn, x, mean, variance, batch, filters, spatial);
	accel_counts[ACCEL_normalize_cpu]++;
	for (int b = 0; b < batch; b++)
		for (int f = 0; f < filters; f++)
			normalize_kernel(x + ((size_t)b * filters + f) * spatial, mean[f],
					 sqrt(variance[f]) + .000001f, spatial);
}

void mean_delta_cpu(float *delta, float *variance, int batch, int filters, int spatial,
		    float *mean_delta)
{
	if (accel_off)
		CALL_ORIGINAL(mean_delta_cpu, mdelta_fn, delta, variance, batch, filters, spatial,
			      mean_delta);
	accel_counts[ACCEL_mean_delta_cpu]++;
	for (int f = 0; f < filters; f++) {
		float sum = 0;
		for (int b = 0; b < batch; b++)
			sum += sum_kernel(delta + ((size_t)b * filters + f) * spatial, spatial);
		mean_delta[f] = sum * (-1. / sqrt(variance[f] + .00001f));
	}
}

void variance_delta_cpu(float *x, float *delta, float *mean, float *variance, int batch,
			int filters, int spatial, float *variance_delta)
{
	if (accel_off)
		CALL_ORIGINAL(variance_delta_cpu, vdelta_fn, x, delta, mean, variance, batch,
			      filters, spatial, variance_delta);
	accel_counts[ACCEL_variance_delta_cpu]++;
	for (int f = 0; f < filters; f++) {
		float sum = 0;
		for (int b = 0; b < batch; b++) {
			size_t off = ((size_t)b * filters + f) * spatial;
			sum += dotdev_kernel(delta + off, x + off, mean[f], spatial);
		}
		variance_delta[f] = sum * (-.5 * pow(variance[f] + .00001f, (float)(-3. / 2.)));
	}
}

/* delta = delta / sd + vd2 * (x - m) / nsb + t3, in double as in Darknet. */
ACCEL_CLONES
static void normalize_delta_kernel(float *restrict delta, const float *restrict x, float m,
				   double sd, double vd2, double nsb, float t3, int n)
{
	for (int i = 0; i < n; i++)
		delta[i] = (double)delta[i] / sd + vd2 * (double)(x[i] - m) / nsb + t3;
}

void normalize_delta_cpu(float *x, float *mean, float *variance, float *mean_delta,
			 float *variance_delta, int batch, int filters, int spatial, float *delta)
{
	if (accel_off)
		CALL_ORIGINAL(normalize_delta_cpu, ndelta_fn, x, mean, variance, mean_delta,
			      variance_delta, batch, filters, spatial, delta);
	accel_counts[ACCEL_normalize_delta_cpu]++;
	const int nsb = spatial * batch;
	for (int b = 0; b < batch; b++)
		for (int f = 0; f < filters; f++) {
			size_t off = ((size_t)b * filters + f) * spatial;
			normalize_delta_kernel(delta + off, x + off, mean[f],
					       sqrt(variance[f] + .00001f),
					       variance_delta[f] * 2., nsb,
					       mean_delta[f] / nsb, spatial);
		}
}

/* ---- residual connections ---- */

/* out = s1 * out + s2 * add over n elements (add read with a stride). */
ACCEL_CLONES
static void shortcut_kernel(float *restrict out, int out_step, const float *restrict add,
			    int add_step, float s1, float s2, int n)
{
	if (out_step == 1 && add_step == 1)
		for (int i = 0; i < n; i++)
			out[i] = s1 * out[i] + s2 * add[i];
	else
		for (int i = 0; i < n; i++)
			out[(size_t)i * out_step] =
				s1 * out[(size_t)i * out_step] + s2 * add[(size_t)i * add_step];
}

/* out (batch, c2, h2, w2) = s1 * out + s2 * add (batch, c1, h1, w1) on the
 * common channels, add subsampled or out strided when the sizes differ. */
void shortcut_cpu(int batch, int w1, int h1, int c1, float *add, int w2, int h2, int c2,
		  float s1, float s2, float *out)
{
	if (accel_off)
		CALL_ORIGINAL(shortcut_cpu, shortcut_fn, batch, w1, h1, c1, add, w2, h2, c2, s1, s2,
			      out);
	accel_counts[ACCEL_shortcut_cpu]++;
	int stride = w1 / w2, sample = w2 / w1;
	if (stride < 1)
		stride = 1;
	if (sample < 1)
		sample = 1;
	int minw = w1 < w2 ? w1 : w2, minh = h1 < h2 ? h1 : h2, minc = c1 < c2 ? c1 : c2;
	for (int b = 0; b < batch; b++)
		for (int k = 0; k < minc; k++)
			for (int j = 0; j < minh; j++) {
				size_t oi = (size_t)w2 * (j * sample + (size_t)h2 * (k + (size_t)c2 * b));
				size_t ai = (size_t)w1 * (j * stride + (size_t)h1 * (k + (size_t)c1 * b));
				shortcut_kernel(out + oi, sample, add + ai, stride, s1, s2, minw);
			}
}

/* ---- activations ---- */

ACCEL_CLONES
static void relu_kernel(float *restrict x, int n)
{
	for (int i = 0; i < n; i++)
		x[i] = x[i] > 0 ? x[i] : 0.0f; /* as Debian's build: +0 for -0 */
}

ACCEL_CLONES
static void leaky_kernel(float *restrict x, int n)
{
	for (int i = 0; i < n; i++)
		x[i] = x[i] > 0 ? x[i] : (float)(.1 * x[i]);
}

static void logistic_kernel(float *restrict x, int n)
{
	for (int i = 0; i < n; i++)
		x[i] = 1. / (1. + exp(-x[i]));
}

ACCEL_CLONES
static void relu_gradient_kernel(const float *restrict x, int n, float *restrict delta)
{
	for (int i = 0; i < n; i++)
		delta[i] *= (float)(x[i] > 0);
}

ACCEL_CLONES
static void leaky_gradient_kernel(const float *restrict x, int n, float *restrict delta)
{
	for (int i = 0; i < n; i++)
		delta[i] *= x[i] > 0 ? 1.0f : 0.1f;
}

ACCEL_CLONES
static void logistic_gradient_kernel(const float *restrict x, int n, float *restrict delta)
{
	for (int i = 0; i < n; i++)
		delta[i] *= (1 - x[i]) * x[i];
}

/* ---- batch norm and activation in one pass (accel_bn_act) ---- */

/* Darknet's activations as its passes compute them (see the kernels above). */
#define ACT_LINEAR(t) (t)
#define ACT_RELU(t) ((t) > 0 ? (t) : 0.0f)
#define ACT_LEAKY(t) ((t) > 0 ? (t) : (float)(.1 * (t)))

/* Per element, as normalize_cpu, scale_bias, add_bias and activate_array
 * do it in turn: t = (double)(v - m) / d rounded to float, t * s, + b, the
 * activation. The _train kernels also keep v in x and the normalised value
 * in xn, as Darknet's copies do. (-std=c11: no contraction into FMAs.) */
#define BN_ACT_KERNELS(name, ACT)                                                         \
	ACCEL_CLONES                                                                      \
	static void name##_train(float *restrict o, float *restrict x, float *restrict xn, \
				 float m, double d, float s, float b, int n)              \
	{                                                                                 \
		for (int i = 0; i < n; i++) {                                             \
			float v = o[i];                                                   \
			x[i] = v;                                                         \
			float t = (double)(v - m) / d;                                    \
			xn[i] = t;                                                        \
			t = t * s;                                                        \
			t = t + b;                                                        \
			o[i] = ACT(t);                                                    \
		}                                                                         \
	}                                                                                 \
	ACCEL_CLONES                                                                      \
	static void name##_infer(float *restrict o, float m, double d, float s, float b,   \
				 int n)                                                   \
	{                                                                                 \
		for (int i = 0; i < n; i++) {                                             \
			float t = (double)(o[i] - m) / d;                                 \
			t = t * s;                                                        \
			t = t + b;                                                        \
			o[i] = ACT(t);                                                    \
		}                                                                         \
	}
BN_ACT_KERNELS(bn_linear, ACT_LINEAR)
BN_ACT_KERNELS(bn_relu, ACT_RELU)
BN_ACT_KERNELS(bn_leaky, ACT_LEAKY)
#undef BN_ACT_KERNELS

typedef void (*bn_train_fn)(float *restrict, float *restrict, float *restrict, float, double,
			    float, float, int);
typedef void (*bn_infer_fn)(float *restrict, float, double, float, float, int);

int accel_bn_act_fusable(int act)
{
	return act == DN_LINEAR || act == DN_RELU || act == DN_LEAKY;
}

/* The divisor of channel f's normalisation, as normalize_cpu computes it. */
static double bn_divisor(const float *var, int f)
{
	return sqrt(var[f]) + .000001f;
}

/* One plane's normalised values xn from its values x before normalisation,
 * as the _train kernels compute them: the same bits. */
ACCEL_CLONES
static void bn_x_norm_kernel(float *restrict xn, const float *restrict x, float m, double d, int n)
{
	for (int i = 0; i < n; i++)
		xn[i] = (double)(x[i] - m) / d;
}

void accel_bn_act(float *out, float *x, float *x_norm, const float *mean, const float *var,
		  const float *scales, const float *biases, int batch, int channels,
		  int spatial, int act)
{
	bn_train_fn train = act == DN_RELU ? bn_relu_train
			    : act == DN_LEAKY ? bn_leaky_train
					      : bn_linear_train;
	bn_infer_fn infer = act == DN_RELU ? bn_relu_infer
			    : act == DN_LEAKY ? bn_leaky_infer
					      : bn_linear_infer;
	/* without x_norm, each plane's normalised values go to one plane of
	 * scratch, overwritten by the next */
	float *plane = x && !x_norm ? xmalloc(sizeof *plane * spatial) : NULL; /* (spatial) */
	for (int b = 0; b < batch; b++)
		for (int f = 0; f < channels; f++) {
			size_t off = ((size_t)b * channels + f) * spatial;
			double d = bn_divisor(var, f);
			if (x)
				train(out + off, x + off, plane ? plane : x_norm + off, mean[f], d,
				      scales[f], biases[f], spatial);
			else
				infer(out + off, mean[f], d, scales[f], biases[f], spatial);
		}
	free(plane);
}

/* The backward pass of accel_bn_act: per plane (one image, one channel),
 * in one loop, what gradient_array, backward_bias, backward_scale_cpu,
 * scale_bias, mean_delta_cpu and variance_delta_cpu compute on it, with
 * their accumulators (NACC of them, used in the same order, combined the
 * same way), so the same bits: g = delta * act'(out); the plane's sums of
 * g and g * x_norm; delta = g * scale; the sums of delta and
 * delta * (x - mean). */
struct bn_sums {
	float bias, scale, mean, var;
};

#define GRAD_LINEAR(d, o) ((void)(o), (d))
#define GRAD_RELU(d, o) ((d) * (float)((o) > 0))
#define GRAD_LEAKY(d, o) ((d) * ((o) > 0 ? 1.0f : 0.1f))

#define BN_BACK_STEP(GRAD, k, i)                 \
	do {                                     \
		float g = GRAD(d[i], o[i]);      \
		ab[k] += g;                      \
		as[k] += g * xn[i];              \
		g = g * s;                       \
		d[i] = g;                        \
		am[k] += g;                      \
		av[k] += g * (x[i] - m);         \
	} while (0)

#define BN_BACK_KERNEL(name, GRAD)                                                           \
	ACCEL_CLONES                                                                         \
	static struct bn_sums name(float *restrict d, const float *restrict o,               \
				   const float *restrict xn, const float *restrict x, float m,  \
				   float s, int n)                                           \
	{                                                                                    \
		float ab[NACC] = { 0 }, as[NACC] = { 0 }, am[NACC] = { 0 }, av[NACC] = { 0 }; \
		int i = 0;                                                                   \
		for (; i + NACC <= n; i += NACC)                                             \
			for (int k = 0; k < NACC; k++)                                       \
				BN_BACK_STEP(GRAD, k, i + k);                                \
		for (; i < n; i++)                                                           \
			BN_BACK_STEP(GRAD, i % NACC, i);                                     \
		return (struct bn_sums){ combine(ab), combine(as), combine(am), combine(av) }; \
	}
BN_BACK_KERNEL(bn_back_linear, GRAD_LINEAR)
BN_BACK_KERNEL(bn_back_relu, GRAD_RELU)
BN_BACK_KERNEL(bn_back_leaky, GRAD_LEAKY)
#undef BN_BACK_KERNEL
#undef BN_BACK_STEP

typedef struct bn_sums (*bn_back_fn)(float *restrict, const float *restrict,
				     const float *restrict, const float *restrict, float, float,
				     int);

void accel_bn_act_backward(const struct accel_bn_back *a, int batch, int channels, int spatial,
			   int act)
{
	bn_back_fn k = act == DN_RELU ? bn_back_relu : act == DN_LEAKY ? bn_back_leaky : bn_back_linear;
	const int nsb = spatial * batch;
	/* without x_norm, each plane's normalised values are worked out again
	 * from x, as the forward pass did, into one plane of scratch */
	float *plane = a->x_norm ? NULL : xmalloc(sizeof *plane * spatial); /* (spatial) */
	for (int f = 0; f < channels; f++) {
		float ss = 0, sm = 0, sv = 0;
		for (int b = 0; b < batch; b++) {
			size_t off = ((size_t)b * channels + f) * spatial;
			if (plane)
				bn_x_norm_kernel(plane, a->x + off, a->mean[f], bn_divisor(a->var, f),
						 spatial);
			const float *xn = plane ? plane : a->x_norm + off;
			struct bn_sums t = k(a->delta + off, a->out + off, xn, a->x + off, a->mean[f],
					     a->scales[f], spatial);
			a->bias_updates[f] += t.bias;
			ss += t.scale;
			sm += t.mean;
			sv += t.var;
		}
		a->scale_updates[f] += ss;
		a->mean_delta[f] = sm * (-1. / sqrt(a->var[f] + .00001f));
		a->variance_delta[f] = sv * (-.5 * pow(a->var[f] + .00001f, (float)(-3. / 2.)));
		for (int b = 0; b < batch; b++) {
			size_t off = ((size_t)b * channels + f) * spatial;
			normalize_delta_kernel(a->delta + off, a->x + off, a->mean[f],
					       sqrt(a->var[f] + .00001f), a->variance_delta[f] * 2.,
					       nsb, a->mean_delta[f] / nsb, spatial);
		}
	}
	free(plane);
}

/* ---- residual sum and activation in one pass (accel_shortcut_act) ---- */

/* out = ACT(s1 * in + s2 * add), as copy_cpu, shortcut_cpu and
 * activate_array compute it in turn. in and add may be the same array. */
#define SHORTCUT_KERNELS(name, ACT, GRAD)                                                 \
	ACCEL_CLONES                                                                      \
	static void name##_fwd(float *restrict out, const float *in, const float *add,   \
			       float s1, float s2, size_t n)                              \
	{                                                                                 \
		for (size_t i = 0; i < n; i++) {                                          \
			float t = s1 * in[i] + s2 * add[i];                               \
			out[i] = ACT(t);                                                  \
		}                                                                         \
	}                                                                                 \
	ACCEL_CLONES                                                                      \
	static void name##_back(float *restrict delta, const float *restrict out,        \
				float *in_delta, float *add_delta, float s1, float s2,    \
				size_t n)                                                 \
	{                                                                                 \
		for (size_t i = 0; i < n; i++) {                                          \
			float d = GRAD(delta[i], out[i]);                                 \
			delta[i] = d;                                                     \
			in_delta[i] += s1 * d;                                            \
			add_delta[i] = 1.0f * add_delta[i] + s2 * d;                      \
		}                                                                         \
	}
SHORTCUT_KERNELS(sc_linear, ACT_LINEAR, GRAD_LINEAR)
SHORTCUT_KERNELS(sc_relu, ACT_RELU, GRAD_RELU)
SHORTCUT_KERNELS(sc_leaky, ACT_LEAKY, GRAD_LEAKY)
#undef SHORTCUT_KERNELS

void accel_shortcut_act(float *out, const float *in, const float *add, float s1, float s2,
			size_t n, int act)
{
	if (act == DN_RELU)
		sc_relu_fwd(out, in, add, s1, s2, n);
	else if (act == DN_LEAKY)
		sc_leaky_fwd(out, in, add, s1, s2, n);
	else
		sc_linear_fwd(out, in, add, s1, s2, n);
}

void accel_shortcut_act_backward(float *delta, const float *out, float *in_delta,
				 float *add_delta, float s1, float s2, size_t n, int act)
{
	if (act == DN_RELU)
		sc_relu_back(delta, out, in_delta, add_delta, s1, s2, n);
	else if (act == DN_LEAKY)
		sc_leaky_back(delta, out, in_delta, add_delta, s1, s2, n);
	else
		sc_linear_back(delta, out, in_delta, add_delta, s1, s2, n);
}

void activate_array(float *x, const int n, const int a)
{
	if (accel_off || (a != DN_LINEAR && a != DN_RELU && a != DN_LEAKY && a != DN_LOGISTIC)) {
		if (!accel_original(ACCEL_activate_array))
			return;
		CALL_ORIGINAL(activate_array, act_fn, x, n, a);
	}
	accel_counts[ACCEL_activate_array]++;
	if (a == DN_RELU)
		relu_kernel(x, n);
	else if (a == DN_LEAKY)
		leaky_kernel(x, n);
	else if (a == DN_LOGISTIC)
		logistic_kernel(x, n);
	/* LINEAR: x = x. */
}

void gradient_array(const float *x, const int n, const int a, float *delta)
{
	if (accel_off || (a != DN_LINEAR && a != DN_RELU && a != DN_LEAKY && a != DN_LOGISTIC)) {
		if (!accel_original(ACCEL_gradient_array))
			return;
		CALL_ORIGINAL(gradient_array, grad_fn, x, n, a, delta);
	}
	accel_counts[ACCEL_gradient_array]++;
	if (a == DN_RELU)
		relu_gradient_kernel(x, n, delta);
	else if (a == DN_LEAKY)
		leaky_gradient_kernel(x, n, delta);
	else if (a == DN_LOGISTIC)
		logistic_gradient_kernel(x, n, delta);
	/* LINEAR: delta *= 1. */
}

/* ---- level-1 helpers ---- */

ACCEL_CLONES
static void axpy_kernel(int n, float alpha, const float *restrict x, float *restrict y)
{
	for (int i = 0; i < n; i++)
		y[i] += alpha * x[i];
}

void axpy_cpu(int N, float ALPHA, float *X, int INCX, float *Y, int INCY)
{
	if (accel_off)
		CALL_ORIGINAL(axpy_cpu, axpy_fn, N, ALPHA, X, INCX, Y, INCY);
	accel_counts[ACCEL_axpy_cpu]++;
	if (INCX == 1 && INCY == 1 && (X + N <= Y || Y + N <= X)) {
		axpy_kernel(N, ALPHA, X, Y);
		return;
	}
	for (int i = 0; i < N; i++)
		Y[(size_t)i * INCY] += ALPHA * X[(size_t)i * INCX];
}

void copy_cpu(int N, float *X, int INCX, float *Y, int INCY)
{
	if (accel_off)
		CALL_ORIGINAL(copy_cpu, copy_fn, N, X, INCX, Y, INCY);
	accel_counts[ACCEL_copy_cpu]++;
	if (INCX == 1 && INCY == 1 && N > 0 && (X + N <= Y || Y + N <= X)) {
		memcpy(Y, X, sizeof *Y * N);
		return;
	}
	for (int i = 0; i < N; i++)
		Y[(size_t)i * INCY] = X[(size_t)i * INCX];
}

ACCEL_CLONES
static void fill_kernel(int n, float alpha, float *restrict x)
{
	for (int i = 0; i < n; i++)
		x[i] = alpha;
}

void fill_cpu(int N, float ALPHA, float *X, int INCX)
{
	if (accel_off)
		CALL_ORIGINAL(fill_cpu, fill_fn, N, ALPHA, X, INCX);
	accel_counts[ACCEL_fill_cpu]++;
	if (INCX == 1) {
		fill_kernel(N, ALPHA, X);
		return;
	}
	for (int i = 0; i < N; i++)
		X[(size_t)i * INCX] = ALPHA;
}

void scal_cpu(int N, float ALPHA, float *X, int INCX)
{
	if (accel_off)
		CALL_ORIGINAL(scal_cpu, fill_fn, N, ALPHA, X, INCX);
	accel_counts[ACCEL_scal_cpu]++;
	if (INCX == 1) {
		mul_kernel(X, ALPHA, N);
		return;
	}
	for (int i = 0; i < N; i++)
		X[(size_t)i * INCX] *= ALPHA;
}
