/* accel_conv.c: replacements for Darknet's convolutional layer passes
 * (see accel.h). Darknet's forward pass is, per image i,
 *     output_i (n_filters, out_h*out_w) = weights (n_filters, K) * im2col(input_i) (K, out_h*out_w)
 * with K = size*size*channels; backward, per image,
 *     weight_updates += delta_i * im2col(input_i)^T,
 *     input_delta_i  += col2im(weights^T * delta_i).
 * Here the column matrices of up to `chunk` images sit side by side,
 * (K, chunk*out_h*out_w), so each of these is one GEMM per chunk instead of
 * one per image. Bias, batch normalisation and activation are Darknet's own
 * steps, called in Darknet's order. */
#include "accel_darknet.h"



#include "error.h"

#include <stdlib.h>
#include <string.h>

/* Darknet's (convolutional_layer.h, batchnorm_layer.h, blas.h,
 * activations.h); not in darknet.h. */
void forward_convolutional_layer(layer l, network net);
void backward_convolutional_layer(layer l, network net);
void forward_batchnorm_layer(layer l, network net);
void backward_batchnorm_layer(layer l, network net);
void add_bias(float *output, float *biases, int batch, int n, int size);
void backward_bias(float *bias_updates, float *delta, int batch, int n, int size);
void activate_array(float *x, const int n, const ACTIVATION a);
void mean_cpu(float *x, int batch, int filters, int spatial, float *mean);
void variance_cpu(float *x, float *mean, int batch, int filters, int spatial, float *variance);
void scal_cpu(int N, float ALPHA, float *X, int INCX);
void axpy_cpu(int N, float ALPHA, float *X, int INCX, float *Y, int INCY);
void gradient_array(const float *x, const int n, const ACTIVATION a, float *delta);


static float *scratch_buf[ACCEL_NSCRATCH];
static size_t scratch_len[ACCEL_NSCRATCH];

float *accel_scratch(enum accel_scratch which, size_t n)
{
	if (scratch_len[which] < n) {
		free(scratch_buf[which]);
		scratch_buf[which] = xmalloc(sizeof(float) * n);
		scratch_len[which] = n;
	}
	return scratch_buf[which];
}

int accel_chunk(size_t rows, size_t cols, size_t want, int batch)
{
	size_t cb = (want + cols - 1) / cols;
	size_t fit = ACCEL_SCRATCH_FLOATS / (rows * cols);
	if (cb > fit)
		cb = fit;
	if (cb < 1)
		cb = 1;
	return cb < (size_t)batch ? (int)cb : batch;
}

/* Images per GEMM: enough for about ACCEL_CONV_COLUMNS columns. OpenBLAS
 * runs products with few columns far below its peak; beyond a few hundred
 * columns, joining images gains nothing and costs copies (measured on
 * ResNet50 and VGG16 at 64x64: 128 to 512 columns equally best, 1024 and
 * more slower). */
#define ACCEL_CONV_COLUMNS 256
static int chunk_of(const layer *l, int K, int n)
{
	return accel_chunk((size_t)(K > l->n ? K : l->n), (size_t)n, ACCEL_CONV_COLUMNS, l->batch);
}

/* Darknet's forward_batchnorm_layer for a convolutional layer, then its
 * activation: in training, the batch's mean and variance (mean_cpu,
 * variance_cpu) and the running statistics' update (scal_cpu, axpy_cpu:
 * 0.99 old + 0.01 new), as Darknet does them; then normalisation, scale,
 * bias and activation in one pass (accel_bn_act). Inference skips Darknet's
 * copy of the output into l.x, which only the backward pass reads. */
static void batchnorm_and_activate(const layer *l, int train)
{
	const int C = l->out_c, S = l->out_h * l->out_w, B = l->batch;
	const float *mean = l->rolling_mean, *var = l->rolling_variance;
	if (train) {
		mean_cpu(l->output, B, C, S, l->mean);
		variance_cpu(l->output, l->mean, B, C, S, l->variance);
		scal_cpu(C, .99, l->rolling_mean, 1);
		axpy_cpu(C, .01, l->mean, 1, l->rolling_mean, 1);
		scal_cpu(C, .99, l->rolling_variance, 1);
		axpy_cpu(C, .01, l->variance, 1, l->rolling_variance, 1);
		mean = l->mean;
		var = l->variance;
	}
	accel_bn_act(l->output, train ? l->x : NULL, train ? l->x_norm : NULL, mean, var,
		     l->scales, l->biases, B, C, S, l->activation);
}

static int handled(const layer *l)
{
	return accel_enabled() && l->groups <= 1 && !l->xnor && !l->binary;
}

int accel_conv_fuses_bn(const layer *l)
{
	return handled(l) && l->batch_normalize && accel_bn_act_fusable(l->activation);
}

/* Columns of images b0 .. b0+cb-1 of input into col (K, cb*n): image j's
 * columns start at column j*n. A 1x1 layer's columns are, as in Darknet,
 * the image itself read as a (K, n) matrix. */
static void columns(const layer *l, const float *input, int b0, int cb, int K, int n,
		    float *col)
{
	size_t ld = (size_t)cb * n;
	for (int j = 0; j < cb; j++) {
		const float *im = input + (size_t)(b0 + j) * l->c * l->h * l->w; /* (c, h, w) */
		if (l->size == 1)
			for (int r = 0; r < K; r++)
				memcpy(col + r * ld + (size_t)j * n, im + (size_t)r * n,
				       sizeof *col * n);
		else
			accel_im2col(im, l->c, l->h, l->w, l->size, l->stride, l->pad,
				     col + (size_t)j * n, ld);
	}
}

/* output (batch, n, out_h, out_w) = weights * im2col(input), one GEMM per
 * chunk of images. */
static void forward_gemm(const layer *lp, float *input)
{
	const layer l = *lp;
	const int m = l.n, K = l.size * l.size * l.c, n = l.out_h * l.out_w;
	const int chunk = chunk_of(&l, K, n);
	for (int b0 = 0; b0 < l.batch; b0 += chunk) {
		int cb = l.batch - b0 < chunk ? l.batch - b0 : chunk;
		size_t N = (size_t)cb * n;
		float *out = l.output + (size_t)b0 * m * n;             /* (cb, m, n) */
		float *col;                                             /* (K, N) */
		if (cb == 1 && l.size == 1) {
			col = input + (size_t)b0 * l.c * l.h * l.w;
		} else {
			col = accel_scratch(ACCEL_SCRATCH_COL, (size_t)K * N);
			columns(&l, input, b0, cb, K, n, col);
		}
		if (cb == 1) {
			accel_product(0, 0, m, n, K, l.weights, K, col, n, 0, out, n);
			continue;
		}
		float *prod = accel_scratch(ACCEL_SCRATCH_PRODUCT, (size_t)m * N);  /* (m, N) */
		accel_product(0, 0, m, (int)N, K, l.weights, K, col, (int)N, 0, prod, (int)N);
		for (int j = 0; j < cb; j++)
			for (int r = 0; r < m; r++)
				memcpy(out + ((size_t)j * m + r) * n, prod + r * N + (size_t)j * n,
				       sizeof *out * n);
	}
}

void forward_convolutional_layer(layer l, network net)
{
	if (!handled(&l)) {
		accel_call_original(ACCEL_forward_convolutional_layer, l, net);
		return;
	}
	accel_note_call(ACCEL_forward_convolutional_layer);
	const int n = l.out_h * l.out_w;
	const enum accel_conv_algo algo = accel_conv_algo_of(&l);
	if (algo != ACCEL_CONV_GEMM)
		accel_winograd_forward(algo, net.input, l.batch, l.c, l.h, l.w, l.pad, l.weights,
				       l.n, l.output);
	else
		forward_gemm(&l, net.input);
	if (accel_conv_fuses_bn(&l)) {
		batchnorm_and_activate(&l, net.train);
		return;
	}
	if (l.batch_normalize)
		forward_batchnorm_layer(l, net);
	else
		add_bias(l.output, l.biases, l.batch, l.n, n);
	activate_array(l.output, l.outputs * l.batch, l.activation);
}

/* weight_updates += delta * im2col(input)^T and, if in_delta is not NULL,
 * in_delta += col2im(weights^T * delta), one GEMM each per chunk of
 * images. */
static void backward_gemm(const layer *l, float *input, float *in_delta)
{
	const int m = l->n, K = l->size * l->size * l->c, n = l->out_h * l->out_w;
	const int chunk = chunk_of(l, K, n);
	const size_t in_size = (size_t)l->c * l->h * l->w;
	for (int b0 = 0; b0 < l->batch; b0 += chunk) {
		int cb = l->batch - b0 < chunk ? l->batch - b0 : chunk;
		size_t N = (size_t)cb * n;
		float *col = accel_scratch(ACCEL_SCRATCH_COL, (size_t)K * N); /* (K, N) */
		float *delta = l->delta + (size_t)b0 * m * n;                  /* (cb, m, n) */
		float *d = delta;                                              /* (m, N) */
		if (cb == 1 && l->size == 1) {
			/* weight gradient straight from the input image */
			float *im = input + (size_t)b0 * in_size;
			accel_product(0, 1, m, K, n, delta, n, im, n, 1, l->weight_updates, K);
			if (in_delta) /* Darknet writes a 1x1 layer's input delta */
				accel_product(1, 0, K, n, m, l->weights, K, delta, n, 0,
					      in_delta + (size_t)b0 * in_size, n);
			continue;
		}
		columns(l, input, b0, cb, K, n, col);
		if (cb > 1) {
			d = accel_scratch(ACCEL_SCRATCH_PRODUCT, (size_t)m * N);
			for (int j = 0; j < cb; j++)
				for (int r = 0; r < m; r++)
					memcpy(d + r * N + (size_t)j * n,
					       delta + ((size_t)j * m + r) * n, sizeof *d * n);
		}
		/* weight_updates (m, K) += d (m, N) col^T (N, K) */
		accel_product(0, 1, m, K, (int)N, d, (int)N, col, (int)N, 1, l->weight_updates, K);
		if (!in_delta)
			continue;
		/* col (K, N) = weights^T (K, m) d (m, N) */
		accel_product(1, 0, K, (int)N, m, l->weights, K, d, (int)N, 0, col, (int)N);
		for (int j = 0; j < cb; j++) {
			float *imd = in_delta + (size_t)(b0 + j) * in_size; /* (c, h, w) */
			if (l->size == 1) /* Darknet writes a 1x1 layer's input delta */
				for (int r = 0; r < K; r++)
					memcpy(imd + (size_t)r * n, col + r * N + (size_t)j * n,
					       sizeof *imd * n);
			else
				accel_col2im(col + (size_t)j * n, N, l->c, l->h, l->w, l->size,
					     l->stride, l->pad, imd);
		}
	}
}

void backward_convolutional_layer(layer l, network net)
{
	if (!handled(&l)) {
		accel_call_original(ACCEL_backward_convolutional_layer, l, net);
		return;
	}
	accel_note_call(ACCEL_backward_convolutional_layer);
	const int n = l.out_h * l.out_w;
	if (accel_conv_fuses_bn(&l)) {
		struct accel_bn_back a = { l.delta, l.output, l.x, l.x_norm, l.mean, l.variance,
					   l.scales, l.bias_updates, l.scale_updates,
					   l.mean_delta, l.variance_delta };
		accel_bn_act_backward(&a, l.batch, l.out_c, n, l.activation);
	} else {
		gradient_array(l.output, l.outputs * l.batch, l.activation, l.delta);
		if (l.batch_normalize)
			backward_batchnorm_layer(l, net);
		else
			backward_bias(l.bias_updates, l.delta, l.batch, l.n, n);
	}

	const enum accel_conv_algo algo = accel_conv_algo_of(&l);
	if (algo != ACCEL_CONV_GEMM) {
		accel_winograd_backward_weights(algo, net.input, l.delta, l.batch, l.c, l.h, l.w,
						l.pad, l.n, l.weight_updates);
		if (net.delta)
			accel_winograd_backward_data(algo, l.delta, l.batch, l.c, l.h, l.w, l.pad,
						     l.weights, l.n, net.delta);
		return;
	}
	backward_gemm(&l, net.input, net.delta);
}
