/* accel.h: faster replacements for libdarknet's hot functions.
 *
 * libdarknet calls its numeric kernels (gemm, im2col_cpu, col2im_cpu, the
 * bias/batch-norm helpers, the residual sum shortcut_cpu, the activations,
 * axpy/copy/fill/scal) through the
 * PLT. accel.c defines functions with the same names and signatures in the
 * darkfold executable, which exports them (-rdynamic), so the dynamic linker
 * binds libdarknet's calls to them (ELF symbol interposition). Darknet's code
 * is not changed.
 *
 * Every replacement computes what Darknet's original computes:
 *   - gemm, gemm_cpu: OpenBLAS's sgemm (blas_sgemm()), or during an
 *     inference pass the ordered GEMM (accel_gemm_ordered()); differ from
 *     the original only by the order of the floating-point sums; with the
 *     precision set to ACCEL_BF16 (accel_set_precision), the BF16 GEMM
 *     outside inference passes;
 *   - im2col_cpu, col2im_cpu, fill_cpu, copy_cpu, axpy_cpu, scal_cpu,
 *     add_bias, scale_bias, normalize_cpu, shortcut_cpu, activate_array,
 *     gradient_array, forward_shortcut_layer, backward_shortcut_layer,
 *     forward_maxpool_layer, backward_maxpool_layer:
 *     bit-identical results to Debian's build of the original;
 *   - forward_network: bit-identical outputs; in inference only, the layers'
 *     deltas are left as they were instead of zeroed (see below);
 *   - normalize_delta_cpu: the original's formula evaluated as C defines it
 *     (in double); Debian's build rounds differently in the last bit;
 *   - backward_bias, backward_scale_cpu, mean_cpu, variance_cpu,
 *     mean_delta_cpu, variance_delta_cpu: sums split over several
 *     accumulators (vectorisable), so results differ from the original by
 *     rounding only.
 * Activations other than LOGISTIC, LINEAR, RELU and LEAKY are passed to the
 * original.
 *
 * accel_conv.c replaces forward_convolutional_layer and
 * backward_convolutional_layer (reached by libdarknet through its GOT, from
 * the layer's function pointers): Darknet runs one im2col + GEMM per image;
 * the replacement lays out the columns of several images side by side and
 * runs one GEMM for all of them (the same sums, larger matrices, which
 * OpenBLAS runs much faster when a layer's output is small). Grouped, XNOR
 * and binary convolutions are passed to the original. 3x3 stride-1 layers
 * with enough channels and output pixels (accel_conv_choose(), a fixed rule
 * on the shape) run by Winograd's F(2x2, 3x3) instead, in training and
 * inference (accel_winograd.c): 2.25 times fewer multiplications, results
 * that differ from the GEMM's by rounding only. Winograd's F(4x4, 3x3)
 * (4 times fewer, about ten times F(2x2)'s rounding error) is there for
 * `darkfold bench --conv-algo winograd4` and comparisons: the rule does not
 * pick it.
 *
 * accel_layers.c replaces forward_network (called through the PLT by
 * libdarknet's network_predict and train_network_datum, and by darkfold):
 * Darknet's loop over the layers and its calc_network_cost, bit for bit the
 * same; it only changes inference (net->train == 0), where the layers'
 * deltas are not zeroed first: only the backward pass reads them, and a
 * training step's forward pass zeroes them. Of a network changed by
 * accel_memory_share() it zeroes only the deltas that are not shared; the
 * replacement of backward_network (Darknet's loop, bit for bit) zeroes the
 * shared ones just before they become live. It also replaces
 * forward_shortcut_layer and backward_shortcut_layer (ResNet's residual
 * sum, reached through the GOT): between equal shapes with a LINEAR, RELU
 * or LEAKY activation, Darknet's three passes each way in one
 * (accel_shortcut_act), bit-identical; other shapes and activations go to
 * the original.
 *
 * accel_pool.c replaces forward_maxpool_layer and backward_maxpool_layer
 * (reached the same way): the forward pass scans the windows wholly inside
 * the input with vectorised kernels, doing per window position what
 * Debian's -Ofast build does, so the maxima and indexes are the same bits
 * (ties, signed zeros, NaN included); the backward pass adds the deltas in
 * Darknet's order.
 *
 * A process-wide switch turns all replacements off: each replacement then
 * calls libdarknet's own definition, found with dlsym() on the library's
 * handle. The switch and the call counters are process-global because the
 * callers (libdarknet) cannot pass any context. Not thread-safe: Darknet
 * calls these from one thread. */
#ifndef DARKFOLD_ACCEL_H
#define DARKFOLD_ACCEL_H

#include <stddef.h>

/* Marks a kernel to be compiled for AVX-512, AVX2 and baseline x86-64, the
 * best one for the running CPU picked at load time (GCC's target_clones),
 * so that the binary runs on any x86-64. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
	!defined(__SANITIZE_ADDRESS__)
#define ACCEL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ACCEL_CLONES
#endif

#define ACCEL_FUNCTIONS(X)    \
	X(gemm)               \
	X(gemm_cpu)           \
	X(im2col_cpu)         \
	X(col2im_cpu)         \
	X(add_bias)           \
	X(scale_bias)         \
	X(backward_bias)      \
	X(backward_scale_cpu) \
	X(mean_cpu)           \
	X(variance_cpu)       \
	X(normalize_cpu)      \
	X(mean_delta_cpu)     \
	X(variance_delta_cpu) \
	X(normalize_delta_cpu) \
	X(shortcut_cpu)       \
	X(activate_array)     \
	X(gradient_array)     \
	X(axpy_cpu)           \
	X(copy_cpu)           \
	X(fill_cpu)           \
	X(scal_cpu)           \
	X(forward_convolutional_layer) \
	X(backward_convolutional_layer) \
	X(forward_network)    \
	X(forward_shortcut_layer) \
	X(backward_shortcut_layer) \
	X(forward_maxpool_layer) \
	X(backward_maxpool_layer) \
	X(backward_network)

#define ACCEL_ENUM(name) ACCEL_##name,
enum accel_fn { ACCEL_FUNCTIONS(ACCEL_ENUM) ACCEL_NFUNCTIONS };
#undef ACCEL_ENUM

/* Column matrix of one image (channels, height, width) for a ksize x ksize
 * convolution: row (c*ksize + ki)*ksize + kj, column oh*out_w + ow holds the
 * input pixel under that kernel tap, 0 in the padding. Rows are ldcol >=
 * out_h*out_w floats apart. Same values as Darknet's im2col_cpu. */
void accel_im2col(const float *im, int channels, int height, int width, int ksize,
		  int stride, int pad, float *col, size_t ldcol);
/* The adjoint: adds each column entry back onto its input pixel of im, in
 * the same order as Darknet's col2im_cpu. */
void accel_col2im(const float *col, size_t ldcol, int channels, int height, int width,
		  int ksize, int stride, int pad, float *im);
/* One Adam step over n parameters w with accumulated update d (Darknet's
 * negative gradient summed over the batch), moments m and v; clears d.
 * Per element, in this order: g = d - decay_batch * w;
 * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g g;
 * w += rate * (m / c1) / (sqrtf(v / c2) + eps). Vectorised; the same
 * IEEE operations in every instruction-set version, so the same bits. */
void accel_adam(float *w, float *d, float *m, float *v, size_t n, float decay_batch, float rate,
		float b1, float b2, float c1, float c2, float eps);
/* Darknet's batch norm of a convolutional layer's output (normalize_cpu,
 * scale_bias, add_bias) and then its activation, in one pass instead of
 * four (six in training): per channel f of each image,
 *     out = act((out - mean_f) / (sqrt(var_f) + 1e-6) * scale_f + bias_f),
 * the same IEEE operations in the same order as Darknet's passes, so the
 * same bits. With x and x_norm (training), each element's value before
 * normalisation goes to x and its normalised value to x_norm, as Darknet's
 * copies do; both NULL in inference; x_norm alone may be NULL (training
 * without it, see accel_memory_share). act is Darknet's LINEAR, RELU or LEAKY
 * (accel_bn_act_fusable() says which). */
void accel_bn_act(float *out, float *x, float *x_norm, const float *mean, const float *var,
		  const float *scales, const float *biases, int batch, int channels,
		  int spatial, int act);
int accel_bn_act_fusable(int act);
/* The backward pass of a convolution's batch norm and activation:
 * Darknet's gradient_array, then backward_batchnorm_layer (backward_bias,
 * backward_scale_cpu, scale_bias, mean_delta_cpu, variance_delta_cpu,
 * normalize_delta_cpu), in two passes instead of seven, with the same
 * bits as those replacements give one after another (the same operations
 * and the same accumulators in the same order). Arrays are Darknet's
 * layer fields; delta is updated in place, bias_updates and scale_updates
 * accumulated, mean_delta and variance_delta set. x_norm may be NULL: the
 * normalised values are then worked out again from x, mean and var as
 * accel_bn_act computes them (the same bits). */
struct accel_bn_back {
	float *delta;
	const float *out, *x, *x_norm, *mean, *var, *scales;
	float *bias_updates, *scale_updates, *mean_delta, *variance_delta;
};
void accel_bn_act_backward(const struct accel_bn_back *a, int batch, int channels, int spatial,
			   int act);
/* A residual layer between equal shapes (Darknet's copy_cpu, shortcut_cpu
 * and activate_array) in one pass: out = act(s1 * in + s2 * add) over n
 * elements, the same IEEE operations in the same order, so the same bits.
 * in and add may be the same array. act as for accel_bn_act. */
void accel_shortcut_act(float *out, const float *in, const float *add, float s1, float s2,
			size_t n, int act);
/* Its backward pass (Darknet's gradient_array, axpy_cpu, shortcut_cpu) in
 * one pass: per element d = delta * act'(out), delta = d,
 * in_delta += s1 * d, add_delta = 1 * add_delta + s2 * d, in that order (so
 * the same bits also when in_delta and add_delta are the same array). */
void accel_shortcut_act_backward(float *delta, const float *out, float *in_delta,
				 float *add_delta, float s1, float s2, size_t n, int act);
/* The ordered GEMM: C (M, N) = op(A) (M, K) op(B) (K, N), row-major as
 * Darknet's gemm, op transposing when ta or tb is set, plus C's own values
 * if accumulate. Each element is one chain of fused multiply-adds in k
 * order,
 *     c = accumulate ? C[i][j] : 0;  c = fma(op(A)[i][k], op(B)[k][j], c), k = 0 .. K-1,
 * so its bits depend on its row of op(A), its column of op(B) and its start
 * value only: not on M, N, its position, the instruction set or the
 * product's other elements (accel_gemm.c). Inference uses it so that an
 * image's scores do not depend on which images share its batch. Not
 * thread-safe (it keeps its packing buffers). */
void accel_gemm_ordered(int ta, int tb, int M, int N, int K, const float *A, int lda,
			const float *B, int ldb, int accumulate, float *C, int ldc);
/* The BF16 GEMM: C (M, N) = op(A) op(B) (+ C's own values if accumulate),
 * arguments as for accel_gemm_ordered, with op(A) and op(B) rounded to
 * bfloat16 (to nearest even; NaN stays NaN; subnormals become zero) and the
 * products summed in FP32 by vdpbf16ps (AVX512_BF16): per element, its
 * chain over the pairs of k in k order from 0 (or C's value), each pair
 * adding the odd step's product, then the even one's, each addition
 * rounded to nearest even and subnormal results taken as zero; an odd K
 * ends with a pair whose missing step adds nothing. Like the ordered GEMM,
 * an element's bits depend only on its row of op(A), its column of op(B)
 * and its start value, so the same inputs give the same bits. Each product
 * is exact, so an element differs from the double-precision product of the
 * rounded inputs by at most K * 2^-24 * sum |a||b| (FP32 accumulation), and
 * from the product of the unrounded inputs by up to 2 * 2^-8 * sum |a||b|
 * more (rounding the inputs). On a CPU without AVX512_BF16 a scalar kernel
 * computes the same bits, slowly. Not thread-safe (packing buffers). */
void accel_gemm_bf16(int ta, int tb, int M, int N, int K, const float *A, int lda,
		     const float *B, int ldb, int accumulate, float *C, int ldc);
/* 1 if this CPU has AVX512_BF16 (with AVX-512 enabled by the OS): the BF16
 * GEMM runs in hardware. */
int accel_bf16_native(void);
/* For tests: the BF16 GEMM's kernel "avx512bf16" (-1 if this CPU lacks it)
 * or "scalar" from now on, or the best one again with NULL. */
int accel_gemm_bf16_force_kernel(const char *isa);
/* The precision of training's products. While ACCEL_BF16 is set, every
 * product the replacements compute with OpenBLAS (gemm, gemm_cpu, the
 * convolution's forward and backward GEMMs, Winograd's 16 products each
 * way) runs accel_gemm_bf16 instead, when it can (ALPHA 1, BETA 0 or 1; the
 * others stay FP32). Products of inference passes (accel_ordered()) stay
 * in the ordered GEMM, FP32. Everything else (weights, their updates,
 * batch norm, activations, losses) is FP32 anyway. ACCEL_FP32 (the
 * default) computes exactly what darkfold computed before the switch
 * existed. */
enum accel_precision { ACCEL_FP32 = 0, ACCEL_BF16 };
void accel_set_precision(enum accel_precision p);
enum accel_precision accel_precision(void);
/* Use the kernel for isa ("avx512f", "avx2" or "scalar") from now on, or
 * the best one for this CPU again with NULL; -1 if this CPU lacks isa. For
 * tests: every kernel must give the same bits. */
int accel_gemm_force_kernel(const char *isa);
/* While set, the replacements run every product of a layer's forward pass
 * (gemm, gemm_cpu and the convolutional layer's) with accel_gemm_ordered
 * when it can (ALPHA 1, BETA 0 or 1), else with OpenBLAS. forward_network
 * sets it for the length of an inference pass (net->train == 0). */
void accel_set_ordered(int on);
int accel_ordered(void);
/* C = op(A) op(B) (+ C if accumulate) with accel_gemm_ordered while
 * accel_ordered() is set, else with accel_gemm_bf16 while the precision is
 * ACCEL_BF16, else with OpenBLAS. */
void accel_product(int ta, int tb, int M, int N, int K, const float *A, int lda,
		   const float *B, int ldb, int accumulate, float *C, int ldc);
/* Frozen weights: accel_freeze() promises that the n floats at base stay
 * unchanged until the next accel_thaw(). While they do, the ordered GEMM
 * packs an operand lying wholly inside them once and reuses the packing
 * (the same values, so the same bits): at batch 1 packing the weights is
 * a fifth of the work. A change to frozen memory before accel_thaw()
 * gives products of the old values. accel_thaw() forgets every region and
 * frees the packings; forward_network calls it at every training pass.
 * accel_freeze_network() freezes the weights of net's convolutional and
 * connected layers. */
void accel_freeze(const float *base, size_t n);
void accel_thaw(void);
/* How many regions are frozen now. */
size_t accel_frozen_regions(void);
/* 1 if the n floats at base lie in one frozen region. */
int accel_is_frozen(const float *base, size_t n);
struct network;
void accel_freeze_network(const struct network *net);
/* How darkfold's replacement computes a convolutional layer. */
enum accel_conv_algo {
	ACCEL_CONV_GEMM,      /* im2col and one GEMM per chunk of images */
	ACCEL_CONV_WINOGRAD,  /* Winograd F(2x2, 3x3), below */
	ACCEL_CONV_WINOGRAD4, /* Winograd F(4x4, 3x3), below */
	ACCEL_CONV_NALGOS
};
/* Winograd's minimal filtering F(m x m, 3x3), m = 2 or 4, for 3x3
 * stride-1 convolutions (accel_winograd.c; Lavin and Gray, "Fast
 * Algorithms for Convolutional Neural Networks", 2016). The output is cut
 * into m x m tiles, each of which needs an a x a input patch d, a = m + 2;
 * a tile of output channel k is A^T [sum_c (G g_kc G^T) . (B^T d_c B)] A
 * ("." element by element): per element e of the a x a transformed tile,
 * the sum over c is one product of a (filters, channels) matrix by a
 * (channels, tiles) matrix, tiles of all images of a chunk side by side.
 * F(2x2, 3x3) (ACCEL_CONV_WINOGRAD) runs 16 products with 2.25 times fewer
 * multiply-adds than the direct convolution, with
 *     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 *     G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 *     A^T = [1 1 1 0; 0 1 -1 -1];
 * F(4x4, 3x3) (ACCEL_CONV_WINOGRAD4) runs 36 products with 4 times fewer,
 * with Lavin and Gray's matrices for the points 0, 1, -1, 2, -2 and
 * infinity (entries up to 8 in A^T, 5 in B^T, down to 1/24 in G; listed in
 * accel_winograd.c). The weight gradient is the forward pass's exact
 * adjoint,
 *     dg_kc = G^T [sum over tiles (A dy_k A^T) . (B^T d_c B)] G,
 * and the input gradient is the forward algorithm applied to the output
 * gradient with each kernel rotated by 180 degrees and the channel axes
 * swapped, padding 2 - pad. Results differ from the direct convolution by
 * rounding only; F(4x4)'s larger entries make its rounding error about ten
 * times F(2x2)'s (tests/test_winograd.c states the bounds the tests use).
 * algo is ACCEL_CONV_WINOGRAD or ACCEL_CONV_WINOGRAD4. Arrays are
 * row-major and do not alias; scratch as for the convolution.
 *
 * out (batch, n, oh, ow) = in (batch, c, h, w) correlated with weights
 * (n, c, 3, 3), zero padding pad (0 to 2), oh = h + 2 pad - 2 >= 1,
 * ow = w + 2 pad - 2 >= 1 (tiles reaching beyond the output are clipped);
 * overwrites out. Its products run through accel_product (so inference
 * keeps its batch invariance: the transforms are per image, and each
 * product's element depends only on its tile). Frozen weights' transformed
 * kernels are made once per algorithm and kept (frozen, so packed once too)
 * until accel_thaw(), which calls accel_winograd_thaw(). */
void accel_winograd_forward(enum accel_conv_algo algo, const float *in, int batch, int c, int h,
			    int w, int pad, const float *weights, int n, float *out);
/* in_delta (batch, c, h, w) += the input gradient of that convolution for
 * the output gradient delta (batch, n, oh, ow). */
void accel_winograd_backward_data(enum accel_conv_algo algo, const float *delta, int batch, int c,
				  int h, int w, int pad, const float *weights, int n,
				  float *in_delta);
void accel_winograd_thaw(void);
/* weight_updates (n, c, 3, 3) += sum over the batch of delta (batch, n, oh,
 * ow) correlated with in (batch, c, h, w): the weight gradient (with
 * Darknet's sign: delta is the negative gradient). */
void accel_winograd_backward_weights(enum accel_conv_algo algo, const float *in,
				     const float *delta, int batch, int c, int h, int w, int pad,
				     int n, float *weight_updates);

/* "gemm", "winograd" or "winograd4". */
const char *accel_conv_algo_name(enum accel_conv_algo a);
/* 1 if Winograd (either) can compute a layer of this shape: kernel size 3, stride
 * 1, groups <= 1, not binary or XNOR (special 0), pad 0 to 2, an output of
 * at least 1x1 from input h x w. */
int accel_winograd_possible(int size, int stride, int groups, int special, int pad, int h,
			    int w);
/* The fixed rule: the algorithm for a training pass of a layer of this
 * shape (c input channels, n filters, input h x w). Winograd where it is
 * possible and measured faster (docs/performance.md, "Winograd
 * convolution"), else the GEMM. A pure function of the shape, never of
 * timings, so a network computes the same way in every run and results are
 * reproducible; inference passes follow it too. Never
 * ACCEL_CONV_WINOGRAD4. */
enum accel_conv_algo accel_conv_choose(int size, int stride, int groups, int special, int pad,
				       int c, int n, int h, int w);
/* For `darkfold bench` and tests only: use algorithm a for every layer
 * where it is possible, in training and inference (force 1), or the rule
 * again (force 0). The rule never picks ACCEL_CONV_WINOGRAD4 (not measured
 * faster yet): only this forces it. */
void accel_conv_force(int force, enum accel_conv_algo a);
/* Count one call of replacement f (for the replacements outside accel.c). */
void accel_note_call(enum accel_fn f);

/* Less memory for training net with the replacements on (accel_memory.c),
 * the same bits computed:
 *   - layers whose gradients (delta) are never live at the same time in the
 *     backward pass share one buffer. Each buffer is zeroed just before its
 *     layer's gradient becomes live (accel_backward_step) instead of in the
 *     forward pass (accel_delta_forward), so the same writers add into the
 *     same zeros in the same order. Only for networks whose layers are all
 *     convolutional, connected, batchnorm, maxpool, avgpool, dropout,
 *     shortcut, route, softmax or cost (without stopbackward); others keep
 *     Darknet's buffers. The last layer and those whose forward pass writes
 *     their delta (softmax, cost) keep their own;
 *   - the convolutional layers whose batch norm the replacement does keep
 *     no x_norm: their backward pass works it out again from x, the same
 *     bits.
 * Call it right after parse_network_cfg(), with the replacements on (else it
 * does nothing), and accel_memory_release() before free_network(). While
 * such a network exists the replacements cannot be turned off. Returns 0, or
 * -1 with an error if memory ran out (the deltas then stay Darknet's). */
struct network;
int accel_memory_share(struct network *net);
/* Undo what accel_memory_share did to net (frees the shared buffers, which
 * free_network must not see); NULL and networks never shared: no-op. */
void accel_memory_release(struct network *net);
/* How many networks accel_memory_share changed and have not been released. */
int accel_memory_networks(void);
/* Training's zeroing of layer i's delta in the forward pass, as Darknet's
 * forward_network does it, except for the shared buffers. */
void accel_delta_forward(const struct network *net, int i);
/* Backward step `step` (layer step's backward pass) of Darknet's
 * backward_network, made ready: *net becomes a copy of *netp whose input
 * and delta are layer step-1's output and delta (for step 0, netp's own)
 * and whose index is step; and the shared buffers whose layer's gradient
 * becomes live at this step are zeroed. */
void accel_backward_step(const struct network *netp, struct network *net, int step);

/* Turn the replacements on (1, the default) or off (0). Turning them off
 * resolves libdarknet's originals first; returns 0, or -1 with an error
 * message if libdarknet or one of its symbols cannot be found, or while a
 * network changed by accel_memory_share() exists (the switch then stays
 * on). */
int accel_set_enabled(int on);
/* 1 if the replacements are in use. */
int accel_enabled(void);

/* Name of a replaced function, e.g. "im2col_cpu". */
const char *accel_name(enum accel_fn f);
/* libdarknet's own definition of f (not the replacement), or NULL with an
 * error message if it cannot be found. The pointer stays valid for the life
 * of the process. */
void *accel_original(enum accel_fn f);
/* How often the replacement of f did its own work (not counting calls it
 * passed on to the original) since the last accel_reset_counts(). */
size_t accel_count(enum accel_fn f);
void accel_reset_counts(void);

#endif
