/* accel_winograd.c: Winograd convolution F(m x m, 3x3), m = 2 or 4, forward
 * and both gradients, and the rule that picks it (see accel.h). Transformed
 * arrays are element-major: for each of the a x a elements e of a
 * transformed tile (a = m + 2), a (channels, P) matrix whose column p is
 * tile p of the chunk (image j, tile row ty, tile column tx at p = (j*th +
 * ty)*tw + tx), so that each element is one GEMM; the matrices lie
 * plane_stride() floats apart.
 *
 * One code serves both algorithms: the functions below take the output
 * tile m and differ only in the 1-D transforms (tf_*), which hold each
 * algorithm's matrices. Each public entry point calls them through
 * WITH_TILE, which passes m as a constant, so that the compiler makes one
 * copy per algorithm with its transforms inlined and its loops unrolled. */
#include "accel_darknet.h"

#include "error.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Tile columns per product: images of a chunk are joined until their tiles
 * reach about this many (as the im2col path joins images' columns). */
#define WINOGRAD_COLUMNS 512

/* The largest output tile (F(4x4, 3x3)) and its input tile. */
#define MAX_M 4
#define MAX_A (MAX_M + 2)

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* fn(m, ...) for output tile m, m a constant in each branch (see the top). */
#define WITH_TILE(m, fn, ...) ((m) == 4 ? fn(4, __VA_ARGS__) : fn(2, __VA_ARGS__))

static int forced;
static enum accel_conv_algo forced_algo;

const char *accel_conv_algo_name(enum accel_conv_algo a)
{
	switch (a) {
	case ACCEL_CONV_WINOGRAD:
		return "winograd";
	case ACCEL_CONV_WINOGRAD4:
		return "winograd4";
	default:
		return "gemm";
	}
}

int accel_winograd_possible(int size, int stride, int groups, int special, int pad, int h, int w)
{
	return size == 3 && stride == 1 && groups <= 1 && !special && pad >= 0 && pad <= 2 &&
	       h + 2 * pad - 2 >= 1 && w + 2 * pad - 2 >= 1;
}

/* Winograd where a layer has at least WINOGRAD_MIN_CHANNELS input channels
 * and filters and channels x filters x output pixels of at least
 * WINOGRAD_MIN_WORK: F(4x4, 3x3) from WINOGRAD4_MIN_AREA output pixels
 * (16x16) on, F(2x2, 3x3) below (its 2x2 tiles still fill the products of
 * an 8x8 or 4x4 output; F(4x4)'s 4x4 tiles leave them a quarter as wide,
 * and it lost there). Below the channel and work bounds the products
 * (inner dimension c against 9c for the im2col GEMM) are too thin for
 * OpenBLAS to run near its peak and the transforms weigh more than the
 * multiplications saved: the RGB input layer, all of ResNet50's 3x3 layers
 * (2^20 at 64x64, 2^22 at 128x128) and the small CNN's. From `darkfold
 * bench --conv-algos` (each layer alone with the GEMM and both algorithms)
 * and whole-network runs of VGG16 at 64x64 and 128x128, batch 16, in
 * training and inference (docs/performance.md, "Winograd convolution").
 * The rule reads the shape only, not the batch, so that an image is
 * computed the same way whatever the batch it is scored in, and inference
 * follows it too: with frozen weights (transformed once, forward_kernels)
 * Winograd is faster there at batch 1 as at batch 64. */
#define WINOGRAD_MIN_CHANNELS 64
#define WINOGRAD4_MIN_AREA 256
#define WINOGRAD_MIN_WORK ((double)(1 << 23))
enum accel_conv_algo accel_conv_choose(int size, int stride, int groups, int special, int pad,
				       int c, int n, int h, int w)
{
	if (!accel_winograd_possible(size, stride, groups, special, pad, h, w))
		return ACCEL_CONV_GEMM;
	double area = (double)(h + 2 * pad - 2) * (w + 2 * pad - 2);
	if (c < WINOGRAD_MIN_CHANNELS || n < WINOGRAD_MIN_CHANNELS ||
	    (double)c * n * area < WINOGRAD_MIN_WORK)
		return ACCEL_CONV_GEMM;
	return area >= WINOGRAD4_MIN_AREA ? ACCEL_CONV_WINOGRAD4 : ACCEL_CONV_WINOGRAD;
}

void accel_conv_force(int force, enum accel_conv_algo a)
{
	forced = force;
	forced_algo = a;
}

/* F(4x4, 3x3)'s transforms amplify the rounding of its operands about a
 * hundred times: in BF16 (2^-9 relative rounding) that is an error of up
 * to about 0.4 S (test_winograd), so while the precision is BF16 its
 * layers run F(2x2, 3x3) instead. */
enum accel_conv_algo accel_conv_algo_of(const layer *l)
{
	int special = l->xnor || l->binary;
	enum accel_conv_algo a;
	if (forced && (forced_algo == ACCEL_CONV_GEMM ||
		       accel_winograd_possible(l->size, l->stride, l->groups, special, l->pad,
					       l->h, l->w)))
		a = forced_algo;
	else
		a = accel_conv_choose(l->size, l->stride, l->groups, special, l->pad, l->c, l->n,
				      l->h, l->w);
	if (a == ACCEL_CONV_WINOGRAD4 && accel_precision() == ACCEL_BF16)
		return ACCEL_CONV_WINOGRAD;
	return a;
}

/* Images per chunk when an image has `tiles` tiles and the widest
 * transformed array has `channels` rows per element of an a x a tile. */
static int chunk_images(int a, int channels, int tiles, int batch)
{
	return accel_chunk((size_t)a * a * channels, (size_t)tiles, WINOGRAD_COLUMNS, batch);
}

/* row (pw) = row yy of im (h, w) at columns x_lo .. x_hi - 1, zeros
 * around it (and everywhere if yy is outside the image). */
static void padded_row(const float *im, int h, int w, int yy, int x_lo, int x_hi, int pw,
		       float *row)
{
	if (yy < 0 || yy >= h) {
		memset(row, 0, sizeof(float) * pw);
		return;
	}
	memset(row, 0, sizeof(float) * x_lo);
	memcpy(row + x_lo, im + (size_t)yy * w, sizeof(float) * (x_hi - x_lo));
	memset(row + x_hi, 0, sizeof(float) * (pw - x_hi));
}

/* Floats from one element's (rows, cols) matrix of a transformed array to
 * the next: one cache line more than the matrix. The transforms read or
 * write all a x a matrices together, and their sizes are often multiples
 * of 4 KiB: laid end to end, they would all fall in the same cache sets
 * (36 of them, for F(4x4), more than a set holds). */
static size_t plane_stride(size_t rows, size_t cols)
{
	return rows * cols + 16;
}

/* The output tile of Winograd algorithm a (2 for F(2x2, 3x3), 4 for
 * F(4x4, 3x3)). */
static int tile_of(enum accel_conv_algo a)
{
	return a == ACCEL_CONV_WINOGRAD4 ? 4 : 2;
}

/* The 1-D transforms: each maps one vector, read with stride s, to one
 * vector written with stride t. F(2x2, 3x3) (points 0, 1, -1, infinity):
 *     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 *     G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 *     A^T = [1 1 1 0; 0 1 -1 -1].
 * F(4x4, 3x3) (points 0, 1, -1, 2, -2, infinity; Lavin and Gray 2016):
 *     B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
 *            0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
 *     G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
 *            1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1],
 *     A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
 * Common sums are shared. */

/* v (a) = B^T d (a). */
ALWAYS_INLINE void tf_bt(int m, const float *d, ptrdiff_t s, float *v, ptrdiff_t t)
{
	const float d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s];
	if (m == 2) {
		v[0] = d0 - d2, v[t] = d1 + d2, v[2 * t] = d2 - d1, v[3 * t] = d1 - d3;
		return;
	}
	const float d4 = d[4 * s], d5 = d[5 * s];
	v[0] = 4 * d0 - 5 * d2 + d4;
	v[t] = (d3 + d4) - 4 * (d1 + d2);
	v[2 * t] = (d4 - d3) + 4 * (d1 - d2);
	v[3 * t] = (d4 - d2) + 2 * (d3 - d1);
	v[4 * t] = (d4 - d2) - 2 * (d3 - d1);
	v[5 * t] = 4 * d1 - 5 * d3 + d5;
}

/* y (m) = A^T x (a). */
ALWAYS_INLINE void tf_at(int m, const float *x, ptrdiff_t s, float *y, ptrdiff_t t)
{
	const float x0 = x[0], x1 = x[s], x2 = x[2 * s], x3 = x[3 * s];
	if (m == 2) {
		y[0] = x0 + x1 + x2, y[t] = x1 - x2 - x3;
		return;
	}
	const float x4 = x[4 * s], x5 = x[5 * s];
	const float s12 = x1 + x2, d12 = x1 - x2, s34 = x3 + x4, d34 = x3 - x4;
	y[0] = x0 + s12 + s34;
	y[t] = d12 + 2 * d34;
	y[2 * t] = s12 + 4 * s34;
	y[3 * t] = d12 + 8 * d34 + x5;
}

/* u (a) = G g (3). */
ALWAYS_INLINE void tf_g(int m, const float *g, ptrdiff_t s, float *u, ptrdiff_t t)
{
	const float g0 = g[0], g1 = g[s], g2 = g[2 * s];
	if (m == 2) {
		u[0] = g0, u[t] = 0.5f * (g0 + g1 + g2), u[2 * t] = 0.5f * (g0 - g1 + g2);
		u[3 * t] = g2;
		return;
	}
	const float s02 = g0 + g2, q = g0 + 4 * g2;
	u[0] = 0.25f * g0;
	u[t] = -(s02 + g1) * (1.0f / 6);
	u[2 * t] = -(s02 - g1) * (1.0f / 6);
	u[3 * t] = (q + 2 * g1) * (1.0f / 24);
	u[4 * t] = (q - 2 * g1) * (1.0f / 24);
	u[5 * t] = g2;
}

/* z (a) = A y (m), the adjoint of tf_at. */
ALWAYS_INLINE void tf_a(int m, const float *y, ptrdiff_t s, float *z, ptrdiff_t t)
{
	const float y0 = y[0], y1 = y[s];
	if (m == 2) {
		z[0] = y0, z[t] = y0 + y1, z[2 * t] = y0 - y1, z[3 * t] = -y1;
		return;
	}
	const float y2 = y[2 * s], y3 = y[3 * s];
	const float e = y0 + y2, o = y1 + y3, e4 = y0 + 4 * y2, o4 = 2 * y1 + 8 * y3;
	z[0] = y0, z[t] = e + o, z[2 * t] = e - o;
	z[3 * t] = e4 + o4, z[4 * t] = e4 - o4, z[5 * t] = y3;
}

/* g (3) = G^T u (a), the adjoint of tf_g. */
ALWAYS_INLINE void tf_gt(int m, const float *u, ptrdiff_t s, float *g, ptrdiff_t t)
{
	const float u0 = u[0], u1 = u[s], u2 = u[2 * s], u3 = u[3 * s];
	if (m == 2) {
		const float hs = 0.5f * (u1 + u2);
		g[0] = u0 + hs, g[t] = 0.5f * (u1 - u2), g[2 * t] = hs + u3;
		return;
	}
	const float u4 = u[4 * s], u5 = u[5 * s];
	const float s12 = u1 + u2, s34 = u3 + u4;
	g[0] = 0.25f * u0 - s12 * (1.0f / 6) + s34 * (1.0f / 24);
	g[t] = (u2 - u1) * (1.0f / 6) + (u3 - u4) * (1.0f / 12);
	g[2 * t] = (s34 - s12) * (1.0f / 6) + u5;
}

/* V (a*a, c, P) = B^T d B for every a x a input patch d of cb images of in
 * (cb, c, h, w); the patch of tile (ty, tx) starts at row m ty - pad, column
 * m tx - pad, zero outside the image. The vertical half of the transform
 * runs along whole padded rows, the horizontal half per tile (vectorised
 * along a row of tiles). */
ALWAYS_INLINE void input_transform_m(int m, const float *in, int cb, int c, int h, int w,
				     int pad, int th, int tw, float *V, size_t P)
{
	const int a = m + 2;
	const size_t plane = plane_stride(c, P);
	const int pw = m * tw + 2; /* padded row: columns -pad .. m tw + 1 - pad */
	float *d = accel_scratch(ACCEL_SCRATCH_ROWS, (size_t)2 * a * pw); /* (a, pw) */
	float *t = d + (size_t)a * pw;                                    /* (a, pw): B^T d */
	const int x_lo = pad, x_hi = pad + w < pw ? pad + w : pw; /* image columns in a row */
	for (int j = 0; j < cb; j++)
		for (int ci = 0; ci < c; ci++) {
			const float *im = in + ((size_t)j * c + ci) * h * w; /* (h, w) */
			float *v = V + (size_t)ci * P + (size_t)j * th * tw;
			for (int ty = 0; ty < th; ty++) {
				for (int y = 0; y < a; y++)
					padded_row(im, h, w, m * ty - pad + y, x_lo, x_hi, pw,
						   d + (size_t)y * pw);
				for (int x = 0; x < pw; x++)
					tf_bt(m, d + x, pw, t + x, pw);
				float *vt = v + (size_t)ty * tw;
				for (int y = 0; y < a; y++)
					for (int tx = 0; tx < tw; tx++)
						tf_bt(m, t + (size_t)y * pw + m * tx, 1,
						      vt + (size_t)a * y * plane + tx, (ptrdiff_t)plane);
			}
		}
}

ACCEL_CLONES
static void input_transform(int m, const float *in, int cb, int c, int h, int w, int pad, int th,
			    int tw, float *V, size_t P)
{
	WITH_TILE(m, input_transform_m, in, cb, c, h, w, pad, th, tw, V, P);
}

/* y (m, m, tw) = A^T x A for the tiles x at column tx of X (a*a planes
 * `plane` apart) in one tile row: element (i, jj) of tile tx at y[(m i +
 * jj) tw + tx], so that the loops over tx run along memory. */
ALWAYS_INLINE void output_tiles(int m, const float *x, size_t plane, int tw, float *y)
{
	const int a = m + 2;
	for (int tx = 0; tx < tw; tx++) {
		float r[MAX_M][MAX_A]; /* A^T x */
		for (int col = 0; col < a; col++)
			tf_at(m, x + (size_t)col * plane + tx, (ptrdiff_t)(a * plane), &r[0][col],
			      MAX_A);
		for (int i = 0; i < m; i++)
			tf_at(m, r[i], 1, y + (size_t)m * i * tw + tx, tw);
	}
}

/* out (cb, n, oh, ow) = (or +=, if accumulate) A^T x A for every tile x of
 * X (a*a, n, P), clipped to the output: a row of tiles at a time, then
 * interleaved into its m output rows. */
ALWAYS_INLINE void output_transform_m(int m, const float *X, size_t P, int cb, int n, int oh,
				      int ow, int th, int tw, float *out, int accumulate)
{
	const size_t plane = plane_stride(n, P);
	float *y = accel_scratch(ACCEL_SCRATCH_ROWS, (size_t)m * m * tw); /* (m, m, tw) */
	for (int j = 0; j < cb; j++)
		for (int k = 0; k < n; k++) {
			float *o = out + ((size_t)j * n + k) * oh * ow; /* (oh, ow) */
			for (int ty = 0; ty < th; ty++) {
				output_tiles(m, X + (size_t)k * P + ((size_t)j * th + ty) * tw, plane,
					     tw, y);
				for (int i = 0; i < m && m * ty + i < oh; i++) {
					float *row = o + (size_t)(m * ty + i) * ow;
					const float *e = y + (size_t)m * i * tw; /* (m, tw) */
					if (accumulate)
						for (int xx = 0; xx < ow; xx++)
							row[xx] += e[(xx % m) * tw + xx / m];
					else
						for (int xx = 0; xx < ow; xx++)
							row[xx] = e[(xx % m) * tw + xx / m];
				}
			}
		}
}

ACCEL_CLONES
static void output_transform(int m, const float *X, size_t P, int cb, int n, int oh, int ow,
			     int th, int tw, float *out, int accumulate)
{
	WITH_TILE(m, output_transform_m, X, P, cb, n, oh, ow, th, tw, out, accumulate);
}

/* u (a, a) = G g G^T for a 3x3 kernel g read with strides (gs_row, gs_col)
 * from g0. */
ALWAYS_INLINE void kernel_transform(int m, const float *g0, int gs_row, int gs_col,
				    float u[MAX_A][MAX_A])
{
	float t[MAX_A][3]; /* G g */
	for (int x = 0; x < 3; x++)
		tf_g(m, g0 + x * gs_col, gs_row, &t[0][x], 3);
	for (int y = 0; y < m + 2; y++)
		tf_g(m, t[y], 1, u[y], 1);
}

/* U (a*a, rows, cols) from the 3x3 kernels: with flip 0, kernel (r, q) is
 * weights[r][q] of weights (rows, cols, 3, 3); with flip 1 it is
 * weights[q][r] of weights (cols, rows, 3, 3) rotated by 180 degrees (the
 * input gradient's kernels). */
ALWAYS_INLINE void transform_kernels_m(int m, const float *weights, int rows, int cols, int flip,
				       float *U)
{
	const int a = m + 2;
	const size_t plane = plane_stride(rows, cols);
	for (int r = 0; r < rows; r++)
		for (int q = 0; q < cols; q++) {
			float u[MAX_A][MAX_A];
			if (flip)
				kernel_transform(m, weights + ((size_t)q * rows + r) * 9 + 8, -3, -1, u);
			else
				kernel_transform(m, weights + ((size_t)r * cols + q) * 9, 3, 1, u);
			for (int e = 0; e < a * a; e++)
				U[e * plane + (size_t)r * cols + q] = u[e / a][e % a];
		}
}

ACCEL_CLONES
static void transform_kernels(int m, const float *weights, int rows, int cols, int flip, float *U)
{
	WITH_TILE(m, transform_kernels_m, weights, rows, cols, flip, U);
}

/* The correlation of cin-channel images in (batch, cin, h, w) with the
 * transformed kernels U (a*a, cout, cin), padding pad, into out (batch, cout,
 * oh, ow), oh = h + 2 pad - 2: overwritten, or added to if accumulate. */
static void convolve(int m, const float *in, int batch, int cin, int h, int w, int pad,
		     const float *U, int cout, float *out, int accumulate)
{
	const int a = m + 2, ee = a * a;
	const int oh = h + 2 * pad - 2, ow = w + 2 * pad - 2;
	const int th = (oh + m - 1) / m, tw = (ow + m - 1) / m;
	const int cb_max = chunk_images(a, cin > cout ? cin : cout, th * tw, batch);
	for (int b0 = 0; b0 < batch; b0 += cb_max) {
		int cb = batch - b0 < cb_max ? batch - b0 : cb_max;
		size_t P = (size_t)cb * th * tw;
		const size_t us = plane_stride(cout, cin), vs = plane_stride(cin, P),
			     ms = plane_stride(cout, P);
		float *V = accel_scratch(ACCEL_SCRATCH_COL, ee * vs);     /* (ee, cin, P) */
		float *M = accel_scratch(ACCEL_SCRATCH_PRODUCT, ee * ms); /* (ee, cout, P) */
		input_transform(m, in + (size_t)b0 * cin * h * w, cb, cin, h, w, pad, th, tw, V, P);
		for (int e = 0; e < ee; e++)
			accel_product(0, 0, cout, (int)P, cin, U + e * us, cin, V + e * vs, (int)P, 0,
				      M + e * ms, (int)P);
		output_transform(m, M, P, cb, cout, oh, ow, th, tw, out + (size_t)b0 * cout * oh * ow,
				 accumulate);
	}
}

/* Transformed kernels of frozen weights (accel_freeze), made on first use
 * and kept, themselves frozen, until accel_thaw(): the values
 * transform_kernels() would write at every call, so the same bits. Keyed by
 * the output tile m too: a layer's weights may be run by either algorithm. */
struct kept {
	const float *weights;
	int n, c, m;
	float *U;
};
static struct kept *kept;
static size_t nkept, kept_cap;

void accel_winograd_thaw(void)
{
	for (size_t i = 0; i < nkept; i++)
		free(kept[i].U);
	nkept = 0;
}

/* U (a*a, n, c) for the forward pass of tile m with weights (n, c, 3, 3). */
static const float *forward_kernels(int m, const float *weights, int n, int c)
{
	const size_t len = (size_t)(m + 2) * (m + 2) * plane_stride(n, c);
	if (!accel_is_frozen(weights, (size_t)n * c * 9)) {
		float *U = accel_scratch(ACCEL_SCRATCH_KERNEL, len);
		transform_kernels(m, weights, n, c, 0, U);
		return U;
	}
	for (size_t i = 0; i < nkept; i++)
		if (kept[i].weights == weights && kept[i].n == n && kept[i].c == c && kept[i].m == m)
			return kept[i].U;
	if (nkept == kept_cap) {
		kept_cap = kept_cap ? 2 * kept_cap : 16;
		kept = xrealloc(kept, kept_cap * sizeof *kept);
	}
	float *U = xmalloc(sizeof(float) * len);
	transform_kernels(m, weights, n, c, 0, U);
	accel_freeze(U, len);
	kept[nkept++] = (struct kept){ weights, n, c, m, U };
	return U;
}

void accel_winograd_forward(enum accel_conv_algo algo, const float *in, int batch, int c, int h,
			    int w, int pad, const float *weights, int n, float *out)
{
	const int m = tile_of(algo);
	convolve(m, in, batch, c, h, w, pad, forward_kernels(m, weights, n, c), n, out, 0);
}

void accel_winograd_backward_data(enum accel_conv_algo algo, const float *delta, int batch, int c,
				  int h, int w, int pad, const float *weights, int n,
				  float *in_delta)
{
	const int m = tile_of(algo);
	const int oh = h + 2 * pad - 2, ow = w + 2 * pad - 2;
	float *U = accel_scratch(ACCEL_SCRATCH_KERNEL,
				 (size_t)(m + 2) * (m + 2) * plane_stride(c, n)); /* (a*a, c, n) */
	transform_kernels(m, weights, c, n, 1, U);
	convolve(m, delta, batch, n, oh, ow, 2 - pad, U, c, in_delta, 1);
}

/* Z (a*a, n, P) = A y A^T for every m x m tile y of delta (cb, n, oh, ow),
 * zero beyond the output. Vertically along the m rows of a row of tiles,
 * then per tile. */
ALWAYS_INLINE void delta_transform_m(int m, const float *delta, int cb, int n, int oh, int ow,
				     int th, int tw, float *Z, size_t P)
{
	const int a = m + 2;
	const size_t plane = plane_stride(n, P);
	const int pw = m * tw;
	float *d = accel_scratch(ACCEL_SCRATCH_ROWS, (size_t)(m + a) * pw); /* (m, pw) */
	float *t = d + (size_t)m * pw;                                      /* (a, pw): A y */
	for (int j = 0; j < cb; j++)
		for (int k = 0; k < n; k++) {
			const float *dy = delta + ((size_t)j * n + k) * oh * ow; /* (oh, ow) */
			float *z = Z + (size_t)k * P + (size_t)j * th * tw;
			for (int ty = 0; ty < th; ty++) {
				for (int i = 0; i < m; i++) {
					float *di = d + (size_t)i * pw;
					memset(di, 0, sizeof(float) * pw);
					if (m * ty + i < oh)
						memcpy(di, dy + (size_t)(m * ty + i) * ow, sizeof(float) * ow);
				}
				for (int x = 0; x < pw; x++)
					tf_a(m, d + x, pw, t + x, pw);
				float *zt = z + (size_t)ty * tw;
				for (int i = 0; i < a; i++)
					for (int tx = 0; tx < tw; tx++)
						tf_a(m, t + (size_t)i * pw + m * tx, 1,
						     zt + (size_t)a * i * plane + tx, (ptrdiff_t)plane);
			}
		}
}

ACCEL_CLONES
static void delta_transform(int m, const float *delta, int cb, int n, int oh, int ow, int th,
			    int tw, float *Z, size_t P)
{
	WITH_TILE(m, delta_transform_m, delta, cb, n, oh, ow, th, tw, Z, P);
}

/* weight_updates (n, c, 3, 3) += G^T u G for the tile u (a, a) of each
 * kernel (k, ci) in dU (a*a, n, c). */
ALWAYS_INLINE void kernel_grads_m(int m, const float *dU, int n, int c, float *weight_updates)
{
	const int a = m + 2;
	const size_t plane = plane_stride(n, c);
	for (int k = 0; k < n; k++)
		for (int ci = 0; ci < c; ci++) {
			float u[MAX_A * MAX_A], s[3][MAX_A], r[3]; /* u, G^T u, a row of G^T u G */
			for (int e = 0; e < a * a; e++)
				u[e] = dU[e * plane + (size_t)k * c + ci];
			for (int x = 0; x < a; x++)
				tf_gt(m, u + x, a, &s[0][x], MAX_A);
			float *g = weight_updates + ((size_t)k * c + ci) * 9;
			for (int y = 0; y < 3; y++) {
				tf_gt(m, s[y], 1, r, 1);
				g[3 * y] += r[0], g[3 * y + 1] += r[1], g[3 * y + 2] += r[2];
			}
		}
}

ACCEL_CLONES
static void kernel_grads(int m, const float *dU, int n, int c, float *weight_updates)
{
	WITH_TILE(m, kernel_grads_m, dU, n, c, weight_updates);
}

void accel_winograd_backward_weights(enum accel_conv_algo algo, const float *in,
				     const float *delta, int batch, int c, int h, int w, int pad,
				     int n, float *weight_updates)
{
	const int m = tile_of(algo), a = m + 2, ee = a * a;
	const int oh = h + 2 * pad - 2, ow = w + 2 * pad - 2;
	const int th = (oh + m - 1) / m, tw = (ow + m - 1) / m;
	const int cb_max = chunk_images(a, c > n ? c : n, th * tw, batch);
	const size_t us = plane_stride(n, c);
	float *dU = accel_scratch(ACCEL_SCRATCH_KERNEL_GRAD, ee * us); /* (ee, n, c) */
	for (int b0 = 0; b0 < batch; b0 += cb_max) {
		int cb = batch - b0 < cb_max ? batch - b0 : cb_max;
		size_t P = (size_t)cb * th * tw;
		const size_t vs = plane_stride(c, P), zs = plane_stride(n, P);
		float *V = accel_scratch(ACCEL_SCRATCH_COL, ee * vs);     /* (ee, c, P) */
		float *Z = accel_scratch(ACCEL_SCRATCH_PRODUCT, ee * zs); /* (ee, n, P) */
		input_transform(m, in + (size_t)b0 * c * h * w, cb, c, h, w, pad, th, tw, V, P);
		delta_transform(m, delta + (size_t)b0 * n * oh * ow, cb, n, oh, ow, th, tw, Z, P);
		for (int e = 0; e < ee; e++)
			accel_product(0, 1, n, c, (int)P, Z + e * zs, (int)P, V + e * vs, (int)P,
				      b0 > 0, dU + e * us, c);
	}
	kernel_grads(m, dU, n, c, weight_updates);
}
