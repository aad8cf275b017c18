/* accel_pool.c: replacements for Darknet's max-pool passes (see accel.h).
 *
 * Darknet's forward pass scans each size x size window row by row from
 * (-pad/2 + i*stride, -pad/2 + j*stride), positions outside the input
 * reading -FLT_MAX, starting from max = -FLT_MAX and index -1. Debian builds
 * libdarknet with -Ofast; its machine code moves the index when a value is
 * strictly greater than the running maximum (comiss) and takes the new
 * maximum with maxss, i.e. max = max > val ? max : val, which keeps val on
 * ties (-0 after +0, +0 after -0) and when either is NaN. tap() does the same
 * operations, so the outputs and the indexes are the same bits, NaN and
 * signed zeros included.
 *
 * Here the windows that lie wholly inside the input are scanned without
 * bounds checks, by kernels that the compiler vectorises across neighbouring
 * outputs (each output still sees its taps in Darknet's order); 2x2 stride 2
 * (VGG16) and 3x3 stride 2 (ResNet50's stem) have their own kernels. Windows
 * at the border take Darknet's checked scan. */
#include "accel_darknet.h"


#include <float.h>

/* AVX2 at most: pooled rows are short (16 outputs after ResNet50's stem at
 * 64x64, 32 down to 2 in VGG16), too short for 16-float vectors, and the
 * AVX-512 build ran the 3x3 kernel slower. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
	!defined(__SANITIZE_ADDRESS__)
#define POOL_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define POOL_CLONES
#endif

/* Darknet's (maxpool_layer.h); not in darknet.h. */
void forward_maxpool_layer(const layer l, network net);
void backward_maxpool_layer(const layer l, network net);


/* One window position as Debian's build scans it (see the top). */
static inline void tap(float *max, int *max_i, float val, int index)
{
	*max_i = val > *max ? index : *max_i;
	*max = *max > val ? *max : val;
}

/* Outputs lo .. hi-1 of one axis whose windows lie wholly inside the input
 * (extent n): off + lo*stride >= 0 and off + (hi-1)*stride + size <= n. */
struct span {
	int lo, hi;
};

static struct span inside(int n, int out_n, int size, int stride, int off)
{
	struct span s = { off >= 0 ? 0 : (-off + stride - 1) / stride, 0 };
	if (n - size - off >= 0)
		s.hi = (n - size - off) / stride + 1;
	if (s.hi > out_n)
		s.hi = out_n;
	if (s.lo > s.hi)
		s.lo = s.hi;
	return s;
}

/* Darknet's checked scan of the window of output (i, j) in plane p (channel
 * k of image b is plane k + b*c). Indexes are computed for positions
 * outside the input too, as Darknet does: after a NaN the running maximum
 * can fall to -inf, and then a -FLT_MAX outside moves the index there. */
static void border_cell(const layer *l, const float *in, int p, int i, int j, float *out,
			int *idx)
{
	const int off = -l->pad / 2;
	float max = -FLT_MAX;
	int max_i = -1;
	for (int n = 0; n < l->size; n++)
		for (int m = 0; m < l->size; m++) {
			int y = off + i * l->stride + n, x = off + j * l->stride + m;
			int index = x + l->w * (y + l->h * p);
			int valid = y >= 0 && y < l->h && x >= 0 && x < l->w;
			tap(&max, &max_i, valid ? in[index] : -FLT_MAX, index);
		}
	*out = max;
	*idx = max_i;
}

/* n outputs of 2x2 stride 2 windows: rows a and a + w, a[0] is input
 * index at. */
POOL_CLONES
static void pool_2x2s2(const float *restrict a, int w, int at, float *restrict out,
		       int *restrict idx, int n)
{
	const float *restrict b = a + w;
	for (int j = 0; j < n; j++) {
		float max = -FLT_MAX;
		int max_i = -1, x = 2 * j;
		tap(&max, &max_i, a[x], at + x);
		tap(&max, &max_i, a[x + 1], at + x + 1);
		tap(&max, &max_i, b[x], at + w + x);
		tap(&max, &max_i, b[x + 1], at + w + x + 1);
		out[j] = max;
		idx[j] = max_i;
	}
}

/* n outputs of 3x3 stride 2 windows: rows a, a + w, a + 2w. */
POOL_CLONES
static void pool_3x3s2(const float *restrict a, int w, int at, float *restrict out,
		       int *restrict idx, int n)
{
	const float *restrict b = a + w, *restrict c = a + 2 * w;
	for (int j = 0; j < n; j++) {
		float max = -FLT_MAX;
		int max_i = -1, x = 2 * j;
		tap(&max, &max_i, a[x], at + x);
		tap(&max, &max_i, a[x + 1], at + x + 1);
		tap(&max, &max_i, a[x + 2], at + x + 2);
		tap(&max, &max_i, b[x], at + w + x);
		tap(&max, &max_i, b[x + 1], at + w + x + 1);
		tap(&max, &max_i, b[x + 2], at + w + x + 2);
		tap(&max, &max_i, c[x], at + 2 * w + x);
		tap(&max, &max_i, c[x + 1], at + 2 * w + x + 1);
		tap(&max, &max_i, c[x + 2], at + 2 * w + x + 2);
		out[j] = max;
		idx[j] = max_i;
	}
}

/* n outputs of any other window wholly inside the input. */
static void pool_inside(const float *a, int w, int at, int size, int stride, float *out,
			int *idx, int n)
{
	for (int j = 0; j < n; j++) {
		float max = -FLT_MAX;
		int max_i = -1, x = j * stride;
		for (int r = 0; r < size; r++)
			for (int m = 0; m < size; m++)
				tap(&max, &max_i, a[r * w + x + m], at + r * w + x + m);
		out[j] = max;
		idx[j] = max_i;
	}
}

/* Outputs cols.lo .. cols.hi-1 of row i of plane p, windows all inside. */
static void inside_row(const layer *l, const float *in, int p, int i, struct span cols,
		       float *out, int *idx)
{
	const int off = -l->pad / 2, n = cols.hi - cols.lo;
	int at = off + cols.lo * l->stride + l->w * (off + i * l->stride + l->h * p);
	const float *a = in + at;
	out += cols.lo, idx += cols.lo;
	if (l->size == 2 && l->stride == 2)
		pool_2x2s2(a, l->w, at, out, idx, n);
	else if (l->size == 3 && l->stride == 2)
		pool_3x3s2(a, l->w, at, out, idx, n);
	else
		pool_inside(a, l->w, at, l->size, l->stride, out, idx, n);
}

static void pool_plane(const layer *l, const float *in, int p)
{
	const int oh = l->out_h, ow = l->out_w, off = -l->pad / 2;
	const struct span rows = inside(l->h, oh, l->size, l->stride, off);
	const struct span cols = inside(l->w, ow, l->size, l->stride, off);
	float *out = l->output + (size_t)p * oh * ow;
	int *idx = l->indexes + (size_t)p * oh * ow;
	for (int i = 0; i < oh; i++, out += ow, idx += ow) {
		int whole = i < rows.lo || i >= rows.hi;
		for (int j = 0; j < (whole ? ow : cols.lo); j++)
			border_cell(l, in, p, i, j, out + j, idx + j);
		if (whole)
			continue;
		inside_row(l, in, p, i, cols, out, idx);
		for (int j = cols.hi; j < ow; j++)
			border_cell(l, in, p, i, j, out + j, idx + j);
	}
}

void forward_maxpool_layer(const layer l, network net)
{
	if (!accel_enabled() || l.size < 1 || l.stride < 1 || !l.indexes) {
		accel_call_original(ACCEL_forward_maxpool_layer, l, net);
		return;
	}
	accel_note_call(ACCEL_forward_maxpool_layer);
	for (int p = 0; p < l.batch * l.c; p++)
		pool_plane(&l, net.input, p);
}

/* Darknet's order: output by output, each delta added onto the input
 * position its index names, so an input that is the maximum of several
 * overlapping windows receives their deltas in the same order. A scatter
 * through indexes that may repeat: it cannot be reordered or vectorised, so
 * this is Darknet's loop, counted and switchable with the others. */
void backward_maxpool_layer(const layer l, network net)
{
	if (!accel_enabled() || !net.delta) {
		accel_call_original(ACCEL_backward_maxpool_layer, l, net);
		return;
	}
	accel_note_call(ACCEL_backward_maxpool_layer);
	const int n = l.out_h * l.out_w * l.c * l.batch;
	const int *idx = l.indexes;
	const float *d = l.delta;
	float *in = net.delta;
	for (int i = 0; i < n; i++)
		in[idx[i]] += d[i];
}
