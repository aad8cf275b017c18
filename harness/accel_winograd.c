/* accel_winograd.c: Winograd convolution F(m x m, 3x3), m = 2 or 4, forward
 * and both gradients, and the rule that picks it (see accel.h). Transformed
 * arrays are element-major: for each of the a x a elements e of a
 * transformed tile (a = m + 2), a (channels, P) matrix whose column p is
 * tile p of the chunk (a chunk is tile rows g0 .. g0 + rows - 1 of the
 * batch, tile row g = j*th + ty being row ty of image j; tile column tx of
 * tile row g at p = (g - g0)*tw + tx), so that each element is one GEMM;
 * the matrices lie plane_stride() floats apart. The transforms gather a
 * channel's tiles and run along the P columns, vectorised.
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

/* Tile columns per product. The weight gradient joins whole images until
 * their tiles reach about WINOGRAD_COLUMNS (as the im2col path joins
 * images' columns): its products sum over the columns, so the chunks set
 * its bits. The forward pass and the input gradient (convolve) cut the
 * batch's tile rows into chunks of about 2 x channels columns (the wider
 * of input and output), but no fewer than WINOGRAD_CONV_COLUMNS: the
 * products' columns are independent, so any chunking gives the same bits,
 * and narrow chunks keep the transformed arrays in cache between the
 * transforms and the products (VGG16's 64-channel layers at 64x64 went from
 * 25 to 15 ms forward, docs/performance.md). */
#define WINOGRAD_COLUMNS 512
#define WINOGRAD_CONV_COLUMNS 128

/* The largest output tile (F(4x4, 3x3)) and its input tile. */
#define MAX_M 4
#define MAX_A (MAX_M + 2)

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Before a loop whose iterations GCC may treat as independent (they are:
 * the loops it marks write other arrays than they read), so that it
 * vectorises them without checking for overlap. Other compilers (clang
 * builds the fuzz targets) go without. */
#if defined(__GNUC__) && !defined(__clang__)
#define IVDEP _Pragma("GCC ivdep")
#else
#define IVDEP
#endif

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

/* Units (images, or tile rows) per chunk when a unit has `tiles` tiles,
 * the widest transformed array has `channels` rows per element of an a x a
 * tile, and there are `units` in all. */
static int chunk_units(int a, int channels, int tiles, size_t want, int units)
{
	return accel_chunk((size_t)a * a * channels, (size_t)tiles, want, units);
}

/* A row split by phase: column x at (x % m) L + x / m, L columns per phase,
 * so that the columns x = m tx + k of a row's tiles tx are contiguous for
 * each k, ready to be gathered tile by tile (copy_tiles). row (m, L) = src
 * (n) at columns x0 .. x0 + n - 1, zero elsewhere. */
static void phase_row(const float *restrict src, int n, int x0, int m, int L, float *restrict row)
{
	memset(row, 0, sizeof(float) * m * L);
	int x = x0;
	for (; x < x0 + n && x % m; x++)
		row[(size_t)(x % m) * L + x / m] = src[x - x0];
	const int i0 = x / m, groups = (x0 + n - x) / m; /* whole groups of m, vectorised */
	const float *s = src + (x - x0);
	for (int i = 0; i < groups; i++)
		for (int p = 0; p < m; p++)
			row[(size_t)p * L + i0 + i] = s[m * i + p];
	x += m * groups;
	for (; x < x0 + n; x++)
		row[(size_t)(x % m) * L + x / m] = src[x - x0];
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

/* The image of tile row g (th tile rows per image) and its tile rows ty0
 * .. ty1 - 1 among g .. end - 1: the transforms walk a chunk's tile rows
 * image by image (a chunk may start or end inside an image). */
static int image_span(int g, int end, int th, int *ty0, int *ty1)
{
	*ty0 = g % th;
	*ty1 = *ty0 + (end - g) < th ? *ty0 + (end - g) : th;
	return g / th;
}

/* B^T or (adjoint 1) A applied to a vector: tf_bt or tf_a. */
ALWAYS_INLINE void tf_in(int m, int adjoint, const float *x, ptrdiff_t s, float *y, ptrdiff_t t)
{
	if (adjoint)
		tf_a(m, x, s, y, t);
	else
		tf_bt(m, x, s, y, t);
}

/* out (a, a, P) at plane stride `plane` = the 2-D transform tf_in of the P
 * tiles in D (n, n, P) (element (y, x) of tile p at D[(y n + x) P + p], n =
 * a for B^T, m for A): vertically into T (a, n, P), then horizontally, each
 * half along the tiles, vectorised. */
ALWAYS_INLINE void both_halves(int m, int adjoint, int n, const float *D, float *T, size_t P,
			       float *out, size_t plane)
{
	const int a = m + 2;
	const size_t np = (size_t)n * P;
	for (int x = 0; x < n; x++)
		IVDEP
		for (size_t p = 0; p < P; p++)
			tf_in(m, adjoint, D + x * P + p, (ptrdiff_t)np, T + x * P + p, (ptrdiff_t)np);
	for (int i = 0; i < a; i++)
		IVDEP
		for (size_t p = 0; p < P; p++)
			tf_in(m, adjoint, T + i * np + p, (ptrdiff_t)P, out + a * i * plane + p,
			      (ptrdiff_t)plane);
}

/* dst[tx] = src[tx] for tx < n (n small: a tile row's tiles). */
ALWAYS_INLINE void copy_tiles(float *restrict dst, const float *restrict src, int n)
{
	for (int tx = 0; tx < n; tx++)
		dst[tx] = src[tx];
}

/* V (a*a, c, P) = B^T d B for every a x a input patch d of tile rows g0 ..
 * g0 + rows - 1 of in (batch, c, h, w), tile row g being row ty = g % th of
 * image g / th; the patch of tile (ty, tx) starts at row m ty - pad, column
 * m tx - pad, zero outside the image. A channel at a time: its patches are
 * gathered into D (a, a, P) (element (y, k) of tile p at D[(y a + k) P +
 * p], from rows split by phase: phase_row), then both halves of the
 * transform run along the P tiles, vectorised: vertically (over y) into T,
 * then horizontally (over k) into V. */
ALWAYS_INLINE void input_transform_m(int m, const float *in, int g0, int rows, int c, int h, int w,
				     int pad, int th, int tw, float *V, size_t P)
{
	const int a = m + 2, L = tw + 1; /* a phase-split padded row: columns -pad .. m L - 1 - pad */
	const size_t plane = plane_stride(c, P), ap = (size_t)a * P;
	float *row = accel_scratch(ACCEL_SCRATCH_ROWS, (size_t)m * L + 2 * a * ap); /* (m, L) */
	float *D = row + (size_t)m * L;                                             /* (a, a, P) */
	float *T = D + a * ap;                                       /* (a, a, P): B^T d */
	const int cols = w < m * tw + 2 - pad ? w : m * tw + 2 - pad; /* image columns used */
	for (int ci = 0; ci < c; ci++) {
		for (int g = g0, ty0, ty1; g < g0 + rows; g += ty1 - ty0) {
			const int j = image_span(g, g0 + rows, th, &ty0, &ty1);
			const float *im = in + ((size_t)j * c + ci) * h * w; /* (h, w) */
			for (int ty = ty0; ty < ty1; ty++) {
				const size_t p0 = (size_t)(g - g0 + ty - ty0) * tw;
				for (int y = 0; y < a; y++) {
					int yy = m * ty - pad + y, in_image = yy >= 0 && yy < h;
					phase_row(in_image ? im + (size_t)yy * w : im,
						  in_image ? cols : 0, pad, m, L, row);
					for (int k = 0; k < a; k++)
						copy_tiles(D + (y * a + k) * P + p0,
							   row + (k % m) * L + k / m, tw);
				}
			}
		}
		both_halves(m, 0, a, D, T, P, V + (size_t)ci * P, plane);
	}
}

ACCEL_CLONES
static void input_transform(int m, const float *in, int g0, int rows, int c, int h, int w, int pad,
			    int th, int tw, float *V, size_t P)
{
	WITH_TILE(m, input_transform_m, in, g0, rows, c, h, w, pad, th, tw, V, P);
}

/* y (m, m, cols) = A^T x A for the tiles x at columns 0 .. cols - 1 of X
 * (a*a planes `plane` apart): element (i, jj) of tile p at y[(m i + jj)
 * cols + p], so that the loops over p run along memory, vectorised. r (m,
 * a, cols) is scratch for A^T x. */
ALWAYS_INLINE void output_tiles(int m, const float *x, size_t plane, size_t cols, float *r,
				float *y)
{
	const int a = m + 2;
	for (int col = 0; col < a; col++) {
		const float *xc = x + (size_t)col * plane;
		IVDEP
		for (size_t p = 0; p < cols; p++)
			tf_at(m, xc + p, (ptrdiff_t)(a * plane), r + col * cols + p,
			      (ptrdiff_t)(a * cols));
	}
	for (int i = 0; i < m; i++) {
		const float *ri = r + i * a * cols;
		IVDEP
		for (size_t p = 0; p < cols; p++)
			tf_at(m, ri + p, (ptrdiff_t)cols, y + m * i * cols + p, (ptrdiff_t)cols);
	}
}

/* row (ow) = (or +=, if accumulate) e interleaved: row[m tx + jj] = e[jj es
 * + tx], the whole tiles as groups of m (vectorised), then the clipped
 * one's columns. */
ALWAYS_INLINE void interleave(int m, const float *restrict e, size_t es, int ow,
			      float *restrict row, int accumulate)
{
	const int whole = ow / m;
	for (int tx = 0; tx < whole; tx++)
		for (int jj = 0; jj < m; jj++) {
			float v = e[jj * es + tx];
			row[m * tx + jj] = accumulate ? row[m * tx + jj] + v : v;
		}
	for (int xx = m * whole; xx < ow; xx++) {
		float v = e[(xx % m) * es + xx / m];
		row[xx] = accumulate ? row[xx] + v : v;
	}
}

/* Tile rows g0 .. g0 + rows - 1 of out (batch, n, oh, ow) = (or +=, if
 * accumulate) A^T x A for every tile x of X (a*a, n, P), clipped to the
 * output: an output channel's P tiles at a time, then interleaved into the
 * m output rows of each of their tile rows. */
ALWAYS_INLINE void output_transform_m(int m, const float *X, size_t P, int g0, int rows, int n,
				      int oh, int ow, int th, int tw, float *out, int accumulate)
{
	const int a = m + 2;
	const size_t plane = plane_stride(n, P);
	float *y = accel_scratch(ACCEL_SCRATCH_ROWS, (size_t)(m + a) * m * P); /* (m, m, P) */
	float *r = y + (size_t)m * m * P;                                      /* (m, a, P) */
	for (int k = 0; k < n; k++) {
		output_tiles(m, X + (size_t)k * P, plane, P, r, y);
		for (int g = g0, ty0, ty1; g < g0 + rows; g += ty1 - ty0) {
			const int j = image_span(g, g0 + rows, th, &ty0, &ty1);
			float *o = out + ((size_t)j * n + k) * oh * ow; /* (oh, ow) */
			for (int ty = ty0; ty < ty1; ty++) {
				const float *e = y + (size_t)(g - g0 + ty - ty0) * tw;
				for (int i = 0; i < m && m * ty + i < oh; i++)
					interleave(m, e + m * i * P, P, ow,
						   o + (size_t)(m * ty + i) * ow, accumulate);
			}
		}
	}
}

ACCEL_CLONES
static void output_transform(int m, const float *X, size_t P, int g0, int rows, int n, int oh,
			     int ow, int th, int tw, float *out, int accumulate)
{
	WITH_TILE(m, output_transform_m, X, P, g0, rows, n, oh, ow, th, tw, out, accumulate);
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

/* u (a*a, cols) at plane stride `plane` from the cols 3x3 kernels at k,
 * k + step, ..., each rotated by 180 degrees if flip: G g G^T kernel by
 * kernel, vectorised along the kernels. */
ALWAYS_INLINE void kernel_row(int m, const float *k, size_t step, int flip, int cols,
			      size_t plane, float *u)
{
	const int a = m + 2;
	IVDEP
	for (int q = 0; q < cols; q++) {
		float g[9], v[MAX_A][MAX_A];
		for (int i = 0; i < 9; i++)
			g[i] = k[q * step + (flip ? 8 - i : i)];
		kernel_transform(m, g, 3, 1, v);
		for (int e = 0; e < a * a; e++)
			u[e * plane + q] = v[e / a][e % a];
	}
}

/* U (a*a, rows, cols) from the 3x3 kernels: with flip 0, kernel (r, q) is
 * weights[r][q] of weights (rows, cols, 3, 3); with flip 1 it is
 * weights[q][r] of weights (cols, rows, 3, 3) rotated by 180 degrees (the
 * input gradient's kernels). */
ALWAYS_INLINE void transform_kernels_m(int m, const float *weights, int rows, int cols, int flip,
				       float *U)
{
	const size_t plane = plane_stride(rows, cols);
	for (int r = 0; r < rows; r++)
		if (flip)
			kernel_row(m, weights + (size_t)r * 9, (size_t)rows * 9, 1, cols, plane,
				   U + (size_t)r * cols);
		else
			kernel_row(m, weights + (size_t)r * cols * 9, 9, 0, cols, plane,
				   U + (size_t)r * cols);
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
	const int all = batch * th;
	const int wide = cin > cout ? cin : cout;
	const size_t want =
		2 * (size_t)wide > WINOGRAD_CONV_COLUMNS ? 2 * (size_t)wide : WINOGRAD_CONV_COLUMNS;
	const int rows_max = chunk_units(a, wide, tw, want, all);
	for (int g0 = 0; g0 < all; g0 += rows_max) {
		int rows = all - g0 < rows_max ? all - g0 : rows_max;
		size_t P = (size_t)rows * tw;
		const size_t us = plane_stride(cout, cin), vs = plane_stride(cin, P),
			     ms = plane_stride(cout, P);
		float *V = accel_scratch(ACCEL_SCRATCH_COL, ee * vs);     /* (ee, cin, P) */
		float *M = accel_scratch(ACCEL_SCRATCH_PRODUCT, ee * ms); /* (ee, cout, P) */
		input_transform(m, in, g0, rows, cin, h, w, pad, th, tw, V, P);
		for (int e = 0; e < ee; e++)
			accel_product(0, 0, cout, (int)P, cin, U + e * us, cin, V + e * vs, (int)P,
				      0, M + e * ms, (int)P);
		output_transform(m, M, P, g0, rows, cout, oh, ow, th, tw, out, accumulate);
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

/* Z (a*a, n, P) = A y A^T for every m x m tile y of tile rows g0 .. g0 +
 * rows - 1 of delta (batch, n, oh, ow) (as input_transform), zero beyond
 * the output. A channel at a time, as input_transform: the tiles gathered
 * into D (m, m, P), then vertically into T (a, m, P) and horizontally into
 * Z, along the P tiles. */
ALWAYS_INLINE void delta_transform_m(int m, const float *delta, int g0, int rows, int n, int oh,
				     int ow, int th, int tw, float *Z, size_t P)
{
	const int a = m + 2;
	const size_t plane = plane_stride(n, P), mp = (size_t)m * P;
	float *row = accel_scratch(ACCEL_SCRATCH_ROWS, (size_t)m * tw + (m + a) * mp); /* (m, tw) */
	float *D = row + (size_t)m * tw;                                               /* (m, m, P) */
	float *T = D + m * mp; /* (a, m, P): A y */
	for (int k = 0; k < n; k++) {
		for (int g = g0, ty0, ty1; g < g0 + rows; g += ty1 - ty0) {
			const int j = image_span(g, g0 + rows, th, &ty0, &ty1);
			const float *dy = delta + ((size_t)j * n + k) * oh * ow; /* (oh, ow) */
			for (int ty = ty0; ty < ty1; ty++) {
				const size_t p0 = (size_t)(g - g0 + ty - ty0) * tw;
				for (int y = 0; y < m; y++) {
					int yy = m * ty + y;
					phase_row(yy < oh ? dy + (size_t)yy * ow : dy,
						  yy < oh ? ow : 0, 0, m, tw, row);
					for (int x = 0; x < m; x++)
						copy_tiles(D + (y * m + x) * P + p0, row + x * tw, tw);
				}
			}
		}
		both_halves(m, 1, m, D, T, P, Z + (size_t)k * P, plane);
	}
}

ACCEL_CLONES
static void delta_transform(int m, const float *delta, int g0, int rows, int n, int oh, int ow,
			    int th, int tw, float *Z, size_t P)
{
	WITH_TILE(m, delta_transform_m, delta, g0, rows, n, oh, ow, th, tw, Z, P);
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
	const int cb_max = chunk_units(a, c > n ? c : n, th * tw, WINOGRAD_COLUMNS, batch);
	const size_t us = plane_stride(n, c);
	float *dU = accel_scratch(ACCEL_SCRATCH_KERNEL, ee * us); /* (ee, n, c) */
	for (int b0 = 0; b0 < batch; b0 += cb_max) {
		int cb = batch - b0 < cb_max ? batch - b0 : cb_max;
		size_t P = (size_t)cb * th * tw;
		const size_t vs = plane_stride(c, P), zs = plane_stride(n, P);
		float *V = accel_scratch(ACCEL_SCRATCH_COL, ee * vs);     /* (ee, c, P) */
		float *Z = accel_scratch(ACCEL_SCRATCH_PRODUCT, ee * zs); /* (ee, n, P) */
		input_transform(m, in, b0 * th, cb * th, c, h, w, pad, th, tw, V, P);
		delta_transform(m, delta, b0 * th, cb * th, n, oh, ow, th, tw, Z, P);
		for (int e = 0; e < ee; e++)
			accel_product(0, 1, n, c, (int)P, Z + e * zs, (int)P, V + e * vs, (int)P,
				      b0 > 0, dU + e * us, c);
	}
	kernel_grads(m, dU, n, c, weight_updates);
}
