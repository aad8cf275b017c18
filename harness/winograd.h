/* winograd.h: 3x3 stride-1 convolutions by Winograd's minimal filtering
 * algorithm F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional
 * Neural Networks", 2016): forward, input gradient and weight gradient.
 *
 * The output is cut into 2x2 tiles; each tile needs a 4x4 input patch. With
 * B, G, A the F(2x2, 3x3) transform matrices, a tile of one output channel k
 * is A^T [ sum_c (G g_kc G^T) . (B^T d_c B) ] A, where . multiplies element
 * by element. For each of the 16 elements e of the transformed tile, the sum
 * over c is one product of a (K, C) by a (C, P) matrix, P = tiles of all
 * images in a chunk: 16 GEMMs per chunk (OpenBLAS), 2.25 times fewer
 * multiply-adds than the direct convolution. The weight gradient uses the
 * same transforms: dL/dg_kc = G^T [ sum_tiles (A dY_k A^T) . (B^T d_c B) ] G,
 * which is the exact adjoint of the forward pass; the input gradient is the
 * forward algorithm applied to the output gradient with the kernel rotated by
 * 180 degrees and its channel axes swapped, padding 2 - pad.
 *
 * Results differ from the direct convolution by rounding only (the
 * transforms add and halve values; see docs/performance.md for the bound
 * the tests use). Buffers: all arrays row-major, no aliasing between inputs
 * and outputs. Scratch memory is kept by the module for the life of the
 * process (about 16 MiB per buffer at most, more for a single huge image). */
#ifndef DARKFOLD_WINOGRAD_H
#define DARKFOLD_WINOGRAD_H

/* 1 if a convolution of this shape runs by Winograd: 3x3 kernel, stride 1,
 * one group, padding 0 to 2, input channels c >= WINOGRAD_MIN_CHANNELS and
 * filters n >= WINOGRAD_MIN_CHANNELS, output at least 1x1. A fixed rule on
 * the shape (never on timings), so the same network always computes the
 * same way and results are reproducible. */
#define WINOGRAD_MIN_CHANNELS 16
int winograd_applies(int size, int stride, int pad, int groups, int c, int n, int h, int w);

/* out (batch, n, oh, ow) = conv(in (batch, c, h, w), weights (n, c, 3, 3)),
 * zero padding pad, oh = h + 2 pad - 2, ow = w + 2 pad - 2; overwrites out. */
void winograd_forward(const float *in, int batch, int c, int h, int w, int pad,
		      const float *weights, int n, float *out);

/* in_delta (batch, c, h, w) += gradient of the loss with respect to the
 * forward pass's input, given delta (batch, n, oh, ow), the gradient with
 * respect to its output. Requires pad <= 2. */
void winograd_backward_data(const float *delta, int batch, int c, int h, int w, int pad,
			    const float *weights, int n, float *in_delta);

/* weight_updates (n, c, 3, 3) += sum over the batch of delta (batch, n, oh,
 * ow) correlated with in (batch, c, h, w): the weight gradient of the
 * forward pass (Darknet's sign convention: delta is the negative gradient). */
void winograd_backward_weights(const float *in, const float *delta, int batch, int c, int h,
			       int w, int pad, int n, float *weight_updates);

#endif
