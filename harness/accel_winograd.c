/* accel_winograd.c: F(2x2, 3x3) Winograd convolution, forward and both
 * gradients, and the rule that picks it (see accel.h). Transformed arrays
 * are element-major: for each of the 16 elements e of a transformed 4x4
 * tile, a (channels, P) matrix whose column p is tile p of the chunk (image
 * j, tile row ty, tile column tx at p = (j*th + ty)*tw + tx), so that each
 * element is one GEMM. */
#include "accel_darknet.h"

#include "error.h"

#include <stdlib.h>
#include <string.h>

/* Tile columns per product: images of a chunk are joined until their tiles
 * reach about this many (as the im2col path joins images' columns). */
#define WINOGRAD_COLUMNS 512

static int forced;
static enum accel_conv_algo forced_algo;

const char *accel_conv_algo_name(enum accel_conv_algo a)
{
	return a == ACCEL_CONV_WINOGRAD ? "winograd" : "gemm";
}

int accel_winograd_possible(int size, int stride, int groups, int special, int pad, int h, int w)
{
	return size == 3 && stride == 1 && groups <= 1 && !special && pad >= 0 && pad <= 2 &&
	       h + 2 * pad - 2 >= 1 && w + 2 * pad - 2 >= 1;
}

/* Winograd where a layer has at least WINOGRAD_MIN_CHANNELS input channels
 * and filters, at least WINOGRAD_MIN_AREA output pixels, and channels x
 * filters x output pixels of at least WINOGRAD_MIN_WORK (each of its 16
 * products is then, per image, at least a 2^19-multiply-add share of a
 * GEMM). Below, its products (inner dimension c against 9c for the im2col
 * GEMM, one column per 2x2 tile) are too thin for OpenBLAS to run near its
 * peak, and the transforms (of the weights on every call, of the patches
 * and tiles) weigh more than the multiplications saved. From `darkfold
 * bench --conv-algos` and whole-network runs of VGG16 and ResNet50 at
 * 64x64 and 128x128, batch 16 (docs/performance.md, "Winograd
 * convolution"). The rule reads the shape only, not the batch, so that an
 * image is computed the same way whatever the batch it is scored in, and
 * inference follows it too: with frozen weights (transformed once,
 * forward_kernels) Winograd is faster there at batch 1 as at batch 64. */
#define WINOGRAD_MIN_CHANNELS 64
#define WINOGRAD_MIN_AREA 256
#define WINOGRAD_MIN_WORK ((double)(1 << 23))
enum accel_conv_algo accel_conv_choose(int size, int stride, int groups, int special, int pad,
				       int c, int n, int h, int w)
{
	if (!accel_winograd_possible(size, stride, groups, special, pad, h, w))
		return ACCEL_CONV_GEMM;
	double area = (double)(h + 2 * pad - 2) * (w + 2 * pad - 2);
	if (c >= WINOGRAD_MIN_CHANNELS && n >= WINOGRAD_MIN_CHANNELS &&
	    area >= WINOGRAD_MIN_AREA && (double)c * n * area >= WINOGRAD_MIN_WORK)
		return ACCEL_CONV_WINOGRAD;
	return ACCEL_CONV_GEMM;
}

void accel_conv_force(int force, enum accel_conv_algo a)
{
	forced = force;
	forced_algo = a;
}

enum accel_conv_algo accel_conv_algo_of(const layer *l, int train)
{
	int special = l->xnor || l->binary;
	if (forced && (forced_algo == ACCEL_CONV_GEMM ||
		       accel_winograd_possible(l->size, l->stride, l->groups, special, l->pad,
					       l->h, l->w)))
		return forced_algo;
	(void)train;
	return accel_conv_choose(l->size, l->stride, l->groups, special, l->pad, l->c, l->n,
				 l->h, l->w);
}

/* Images per chunk when an image has `tiles` tiles and the widest
 * transformed array has `channels` rows per element. */
static int chunk_images(int channels, int tiles, int batch)
{
	return accel_chunk((size_t)16 * channels, (size_t)tiles, WINOGRAD_COLUMNS, batch);
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

/* V (16, c, P) = B^T d B for every 4x4 input patch d of cb images of in
 * (cb, c, h, w); the patch of tile (ty, tx) starts at row 2 ty - pad, column
 * 2 tx - pad, zero outside the image. The vertical half of the transform
 * runs along whole padded rows (vectorised), the horizontal half per tile. */
ACCEL_CLONES
static void input_transform(const float *in, int cb, int c, int h, int w, int pad, int th,
			    int tw, float *V, size_t P)
{
	const size_t plane = (size_t)c * P;
	const int pw = 2 * tw + 2; /* padded row: columns -pad .. 2 tw + 1 - pad */
	float *buf = accel_scratch(ACCEL_SCRATCH_ROWS, (size_t)8 * pw);
	float *d[4] = { buf, buf + pw, buf + 2 * pw, buf + 3 * pw };
	float *t[4] = { buf + 4 * pw, buf + 5 * pw, buf + 6 * pw, buf + 7 * pw };
	const int x_lo = pad, x_hi = pad + w < pw ? pad + w : pw; /* image columns in a row */
	for (int j = 0; j < cb; j++)
		for (int ci = 0; ci < c; ci++) {
			const float *im = in + ((size_t)j * c + ci) * h * w; /* (h, w) */
			float *v = V + (size_t)ci * P + (size_t)j * th * tw;
			for (int ty = 0; ty < th; ty++) {
				for (int y = 0; y < 4; y++)
					padded_row(im, h, w, 2 * ty - pad + y, x_lo, x_hi, pw, d[y]);
				for (int x = 0; x < pw; x++) {
					t[0][x] = d[0][x] - d[2][x];
					t[1][x] = d[1][x] + d[2][x];
					t[2][x] = d[2][x] - d[1][x];
					t[3][x] = d[1][x] - d[3][x];
				}
				float *vt = v + (size_t)ty * tw;
				for (int y = 0; y < 4; y++) {
					const float *r = t[y];
					float *v0 = vt + (4 * y) * plane, *v1 = v0 + plane,
					      *v2 = v1 + plane, *v3 = v2 + plane;
					for (int tx = 0; tx < tw; tx++) {
						const float *q = r + 2 * tx;
						v0[tx] = q[0] - q[2];
						v1[tx] = q[1] + q[2];
						v2[tx] = q[2] - q[1];
						v3[tx] = q[1] - q[3];
					}
				}
			}
		}
}

/* y (4, tw) = the two output rows of each tile of one tile row, A^T m A for
 * the tiles m at column tx of M (16 planes `plane` apart), row i of a tile
 * at y[2 i], its even and odd columns in y[2 i] and y[2 i + 1]. */
ACCEL_CLONES
static void output_tiles(const float *m, size_t plane, int tw, float *y)
{
	for (int tx = 0; tx < tw; tx++) {
		float r[2][4];
		for (int x = 0; x < 4; x++) {
			float m0 = m[x * plane + tx], m1 = m[(4 + x) * plane + tx],
			      m2 = m[(8 + x) * plane + tx], m3 = m[(12 + x) * plane + tx];
			r[0][x] = m0 + m1 + m2;
			r[1][x] = m1 - m2 - m3;
		}
		for (int i = 0; i < 2; i++) {
			y[(2 * i) * tw + tx] = r[i][0] + r[i][1] + r[i][2];
			y[(2 * i + 1) * tw + tx] = r[i][1] - r[i][2] - r[i][3];
		}
	}
}

/* out (cb, n, oh, ow) = (or +=, if accumulate) A^T m A for every tile m of
 * M (16, n, P), clipped to the output: a row of tiles at a time, then
 * interleaved into the two output rows. */
ACCEL_CLONES
static void output_transform(const float *M, size_t P, int cb, int n, int oh, int ow, int th,
			     int tw, float *out, int accumulate)
{
	const size_t plane = (size_t)n * P;
	float *y = accel_scratch(ACCEL_SCRATCH_ROWS, (size_t)4 * tw);
	for (int j = 0; j < cb; j++)
		for (int k = 0; k < n; k++) {
			float *o = out + ((size_t)j * n + k) * oh * ow; /* (oh, ow) */
			for (int ty = 0; ty < th; ty++) {
				output_tiles(M + (size_t)k * P + ((size_t)j * th + ty) * tw, plane,
					     tw, y);
				for (int i = 0; i < 2 && 2 * ty + i < oh; i++) {
					float *row = o + (size_t)(2 * ty + i) * ow;
					const float *e0 = y + 2 * i * tw, *e1 = e0 + tw;
					if (accumulate)
						for (int xx = 0; xx < ow; xx++)
							row[xx] += (xx & 1 ? e1 : e0)[xx >> 1];
					else
						for (int xx = 0; xx < ow; xx++)
							row[xx] = (xx & 1 ? e1 : e0)[xx >> 1];
				}
			}
		}
}

/* u (4, 4) = G g G^T for a 3x3 kernel g read with strides (gs_row, gs_col)
 * from g0. */
static void kernel_transform(const float *g0, int gs_row, int gs_col, float u[4][4])
{
	float t[4][3];
	for (int x = 0; x < 3; x++) {
		float a = g0[x * gs_col], b = g0[gs_row + x * gs_col], c = g0[2 * gs_row + x * gs_col];
		t[0][x] = a;
		t[1][x] = 0.5f * (a + b + c);
		t[2][x] = 0.5f * (a - b + c);
		t[3][x] = c;
	}
	for (int y = 0; y < 4; y++) {
		u[y][0] = t[y][0];
		u[y][1] = 0.5f * (t[y][0] + t[y][1] + t[y][2]);
		u[y][2] = 0.5f * (t[y][0] - t[y][1] + t[y][2]);
		u[y][3] = t[y][2];
	}
}

/* U (16, rows, cols) from the 3x3 kernels: with flip 0, kernel (r, q) is
 * weights[r][q] of weights (rows, cols, 3, 3); with flip 1 it is
 * weights[q][r] of weights (cols, rows, 3, 3) rotated by 180 degrees (the
 * input gradient's kernels). */
ACCEL_CLONES
static void transform_kernels(const float *weights, int rows, int cols, int flip, float *U)
{
	const size_t plane = (size_t)rows * cols;
	for (int r = 0; r < rows; r++)
		for (int q = 0; q < cols; q++) {
			float u[4][4];
			if (flip)
				kernel_transform(weights + ((size_t)q * rows + r) * 9 + 8, -3, -1, u);
			else
				kernel_transform(weights + ((size_t)r * cols + q) * 9, 3, 1, u);
			for (int e = 0; e < 16; e++)
				U[e * plane + (size_t)r * cols + q] = u[e / 4][e % 4];
		}
}

/* The correlation of cin-channel images in (batch, cin, h, w) with the
 * transformed kernels U (16, cout, cin), padding pad, into out (batch, cout,
 * oh, ow), oh = h + 2 pad - 2: overwritten, or added to if accumulate. */
static void convolve(const float *in, int batch, int cin, int h, int w, int pad, const float *U,
		     int cout, float *out, int accumulate)
{
	const int oh = h + 2 * pad - 2, ow = w + 2 * pad - 2;
	const int th = (oh + 1) / 2, tw = (ow + 1) / 2;
	const int cb_max = chunk_images(cin > cout ? cin : cout, th * tw, batch);
	for (int b0 = 0; b0 < batch; b0 += cb_max) {
		int cb = batch - b0 < cb_max ? batch - b0 : cb_max;
		size_t P = (size_t)cb * th * tw;
		float *V = accel_scratch(ACCEL_SCRATCH_COL, 16 * (size_t)cin * P);      /* (16, cin, P) */
		float *M = accel_scratch(ACCEL_SCRATCH_PRODUCT, 16 * (size_t)cout * P); /* (16, cout, P) */
		input_transform(in + (size_t)b0 * cin * h * w, cb, cin, h, w, pad, th, tw, V, P);
		for (int e = 0; e < 16; e++)
			accel_product(0, 0, cout, (int)P, cin, U + (size_t)e * cout * cin, cin,
				      V + (size_t)e * cin * P, (int)P, 0, M + (size_t)e * cout * P,
				      (int)P);
		output_transform(M, P, cb, cout, oh, ow, th, tw, out + (size_t)b0 * cout * oh * ow,
				 accumulate);
	}
}

/* Transformed kernels of frozen weights (accel_freeze), made on first use
 * and kept, themselves frozen, until accel_thaw(): the values
 * transform_kernels() would write at every call, so the same bits. */
struct kept {
	const float *weights;
	int n, c;
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

/* U (16, n, c) for the forward pass with weights (n, c, 3, 3). */
static const float *forward_kernels(const float *weights, int n, int c)
{
	const size_t len = 16 * (size_t)n * c;
	if (!accel_is_frozen(weights, (size_t)n * c * 9)) {
		float *U = accel_scratch(ACCEL_SCRATCH_KERNEL, len);
		transform_kernels(weights, n, c, 0, U);
		return U;
	}
	for (size_t i = 0; i < nkept; i++)
		if (kept[i].weights == weights && kept[i].n == n && kept[i].c == c)
			return kept[i].U;
	if (nkept == kept_cap) {
		kept_cap = kept_cap ? 2 * kept_cap : 16;
		kept = xrealloc(kept, kept_cap * sizeof *kept);
	}
	float *U = xmalloc(sizeof(float) * len);
	transform_kernels(weights, n, c, 0, U);
	accel_freeze(U, len);
	kept[nkept++] = (struct kept){ weights, n, c, U };
	return U;
}

void accel_winograd_forward(const float *in, int batch, int c, int h, int w, int pad,
			    const float *weights, int n, float *out)
{
	convolve(in, batch, c, h, w, pad, forward_kernels(weights, n, c), n, out, 0);
}

void accel_winograd_backward_data(const float *delta, int batch, int c, int h, int w, int pad,
				  const float *weights, int n, float *in_delta)
{
	const int oh = h + 2 * pad - 2, ow = w + 2 * pad - 2;
	float *U = accel_scratch(ACCEL_SCRATCH_KERNEL, 16 * (size_t)c * n); /* (16, c, n) */
	transform_kernels(weights, c, n, 1, U);
	convolve(delta, batch, n, oh, ow, 2 - pad, U, c, in_delta, 1);
}

/* Z (16, n, P) = A y A^T for every 2x2 tile y of delta (cb, n, oh, ow), zero
 * beyond the output; A = [1 0; 1 1; 1 -1; 0 -1]. Vertically along the two
 * rows of a row of tiles, then per tile. */
ACCEL_CLONES
static void delta_transform(const float *delta, int cb, int n, int oh, int ow, int th, int tw,
			    float *Z, size_t P)
{
	const size_t plane = (size_t)n * P;
	const int pw = 2 * tw;
	float *buf = accel_scratch(ACCEL_SCRATCH_ROWS, (size_t)6 * pw);
	float *d[2] = { buf, buf + pw };
	float *t[4] = { buf + 2 * pw, buf + 3 * pw, buf + 4 * pw, buf + 5 * pw };
	for (int j = 0; j < cb; j++)
		for (int k = 0; k < n; k++) {
			const float *dy = delta + ((size_t)j * n + k) * oh * ow; /* (oh, ow) */
			float *z = Z + (size_t)k * P + (size_t)j * th * tw;
			for (int ty = 0; ty < th; ty++) {
				for (int i = 0; i < 2; i++) {
					int yy = 2 * ty + i;
					memset(d[i], 0, sizeof(float) * pw);
					if (yy < oh)
						memcpy(d[i], dy + (size_t)yy * ow, sizeof(float) * ow);
				}
				for (int x = 0; x < pw; x++) {
					t[0][x] = d[0][x];
					t[1][x] = d[0][x] + d[1][x];
					t[2][x] = d[0][x] - d[1][x];
					t[3][x] = -d[1][x];
				}
				float *zt = z + (size_t)ty * tw;
				for (int i = 0; i < 4; i++) {
					const float *r = t[i];
					float *z0 = zt + (4 * i) * plane, *z1 = z0 + plane,
					      *z2 = z1 + plane, *z3 = z2 + plane;
					for (int tx = 0; tx < tw; tx++) {
						const float *q = r + 2 * tx;
						z0[tx] = q[0];
						z1[tx] = q[0] + q[1];
						z2[tx] = q[0] - q[1];
						z3[tx] = -q[1];
					}
				}
			}
		}
}

/* g (3, 3) += G^T u G, with G^T = [1 1/2 1/2 0; 0 1/2 -1/2 0; 0 1/2 1/2 1]. */
ACCEL_CLONES
static void kernel_grad_transform(float u[4][4], float *g)
{
	float s[3][4];
	for (int x = 0; x < 4; x++) {
		float hs = 0.5f * (u[1][x] + u[2][x]);
		s[0][x] = u[0][x] + hs;
		s[1][x] = 0.5f * (u[1][x] - u[2][x]);
		s[2][x] = hs + u[3][x];
	}
	for (int y = 0; y < 3; y++) {
		float hs = 0.5f * (s[y][1] + s[y][2]);
		g[3 * y + 0] += s[y][0] + hs;
		g[3 * y + 1] += 0.5f * (s[y][1] - s[y][2]);
		g[3 * y + 2] += hs + s[y][3];
	}
}

void accel_winograd_backward_weights(const float *in, const float *delta, int batch, int c,
				     int h, int w, int pad, int n, float *weight_updates)
{
	const int oh = h + 2 * pad - 2, ow = w + 2 * pad - 2;
	const int th = (oh + 1) / 2, tw = (ow + 1) / 2;
	const int cb_max = chunk_images(c > n ? c : n, th * tw, batch);
	float *dU = accel_scratch(ACCEL_SCRATCH_KERNEL_GRAD, 16 * (size_t)n * c); /* (16, n, c) */
	for (int b0 = 0; b0 < batch; b0 += cb_max) {
		int cb = batch - b0 < cb_max ? batch - b0 : cb_max;
		size_t P = (size_t)cb * th * tw;
		float *V = accel_scratch(ACCEL_SCRATCH_COL, 16 * (size_t)c * P);     /* (16, c, P) */
		float *Z = accel_scratch(ACCEL_SCRATCH_PRODUCT, 16 * (size_t)n * P); /* (16, n, P) */
		input_transform(in + (size_t)b0 * c * h * w, cb, c, h, w, pad, th, tw, V, P);
		delta_transform(delta + (size_t)b0 * n * oh * ow, cb, n, oh, ow, th, tw, Z, P);
		for (int e = 0; e < 16; e++)
			accel_product(0, 1, n, c, (int)P, Z + (size_t)e * n * P, (int)P,
				      V + (size_t)e * c * P, (int)P, b0 > 0, dU + (size_t)e * n * c, c);
	}
	const size_t plane = (size_t)n * c;
	for (int k = 0; k < n; k++)
		for (int ci = 0; ci < c; ci++) {
			float u[4][4];
			for (int e = 0; e < 16; e++)
				u[e / 4][e % 4] = dU[e * plane + (size_t)k * c + ci];
			kernel_grad_transform(u, weight_updates + ((size_t)k * c + ci) * 9);
		}
}
