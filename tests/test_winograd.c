/* test_winograd.c: the F(2x2, 3x3) and F(4x4, 3x3) convolutions
 * (harness/accel_winograd.c) against a direct convolution computed here in
 * double precision (forward, input gradient, weight gradient), the same
 * through Darknet's convolutional layer (darkfold's replacement with either
 * algorithm forced, with and without batch normalisation) and against
 * Darknet's original layer, the rule that picks the algorithm, and the
 * layers with their products in BF16 (accel_set_precision).
 * (tests/test_accel.c checks that inference with Winograd layers does not
 * depend on the batch, and that frozen weights' kept kernels give the same
 * bits.)
 *
 * Tolerance: per element, |got - want| <= k * eps * S, eps = 2^-24,
 * S = the sum of the absolute values of the terms that make the element
 * (sum |w||x| for an output, plus |start| for an accumulated gradient).
 * The direct convolution's rounding error in float is at most about
 * n eps S for n terms (recursive summation; about sqrt(n) eps S in
 * practice). Winograd sums c terms in the transformed domain and adds the
 * transforms' rounding, which the transform matrices amplify.
 * F(2x2, 3x3): each of its four stages adds and halves at most four values
 * (matrix entries 0, +-1/2, +-1), which multiplies the error of each
 * product by a small constant (Lavin and Gray 2016; Barabasz et al. 2020
 * measure F(2x2, 3x3) within a few times the direct convolution's error);
 * k = TOL_EPS = 128. F(4x4, 3x3), points 0, +-1, +-2, infinity: B^T has
 * entries up to 5 and rows summing to 10 in absolute value, A^T entries up
 * to 8 (row sums up to 19), G entries down to 1/24, so the transformed
 * values are up to about a hundred times larger than the terms they stand
 * for and the cancellation in A^T loses that much more; Barabasz et al.
 * measure its error about an order of magnitude above F(2x2, 3x3)'s:
 * k = TOL_EPS4 = 1024, eight times F(2x2)'s. Largest errors these cases
 * show (printed by darknet_layer_should_agree_with_the_original):
 * F(2x2) 10 eps S against the direct convolution in double, 6.5 eps S
 * against Darknet's own float layer; F(4x4) 60 and 40 eps S. Both k leave
 * a factor of more than ten for other BLAS kernels and stay far below what
 * a bug gives: a wrong tap, transform entry, tile edge or padding errs by
 * at least one product, |w x| ~ S / (9 c) >= 1e-3 S here (c <= 17, against
 * 1024 eps = 6.1e-5), and a dropped accumulation by |start|, a fixed share
 * of S. (A wrong entry of F(4x4)'s G or B^T was checked to fail them.) */
#include "accel_darknet.h"

#include "helpers.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Darknet's (convolutional_layer.h); not in darknet.h. */
layer make_convolutional_layer(int batch, int h, int w, int c, int n, int groups, int size,
			       int stride, int padding, ACTIVATION activation,
			       int batch_normalize, int binary, int xnor, int adam);
void forward_convolutional_layer(layer l, network net);
void backward_convolutional_layer(layer l, network net);

#define TOL_EPS 128.0
#define TOL_EPS4 1024.0
#define BF16_TOL 16.0

/* The tolerance of algorithm a, in units of eps S (see the top). */
static double tol_eps(enum accel_conv_algo a)
{
	return a == ACCEL_CONV_WINOGRAD4 ? TOL_EPS4 : TOL_EPS;
}

/* The two Winograd algorithms, each test runs for both. */
static const enum accel_conv_algo algos[] = { ACCEL_CONV_WINOGRAD, ACCEL_CONV_WINOGRAD4 };
#define NALGOS (sizeof algos / sizeof algos[0])

/* The largest error seen per algorithm, in units of eps S, against the
 * direct convolution in double [0] and against Darknet's layer [1]:
 * printed at the end, the figures the comment at the top quotes. */
static double worst[ACCEL_CONV_NALGOS][2];
/* The same for the BF16 layers, in units of u S (u = 2^-8). */
static double worst_bf16[ACCEL_CONV_NALGOS];

static uint64_t rng_state = 99;
static float frand(void)
{
	return test_frand(&rng_state);
}

static float *rand_array(size_t n)
{
	return test_rand_floats(&rng_state, n);
}

static double *dzeros(size_t n)
{
	double *p = calloc(n ? n : 1, sizeof *p);
	assert_non_null(p);
	return p;
}

/* |got - want| <= tol scale, element by element, for algorithm a; returns
 * the largest |got - want| / scale. */
static double check_within(enum accel_conv_algo a, const float *got, const double *want,
			   const double *scale, size_t n, double tol, const char *what,
			   size_t shape)
{
	double most = 0;
	for (size_t i = 0; i < n; i++) {
		double err = fabs(got[i] - want[i]);
		if (!(err <= tol * scale[i]))
			fail_msg("%s, shape %zu: %s: element %zu: %.9g, want %.9g (tolerance %.3g)",
				 accel_conv_algo_name(a), shape, what, i, got[i], want[i],
				 tol * scale[i]);
		if (scale[i] > 0 && err / scale[i] > most)
			most = err / scale[i];
	}
	return most;
}

/* got (n) against want within tol_eps(a) eps scale per element; the
 * largest error goes to worst[a][darknet]. */
static void check(enum accel_conv_algo a, int darknet, const float *got, const double *want,
		  const double *scale, size_t n, const char *what, size_t shape)
{
	double most = check_within(a, got, want, scale, n, tol_eps(a) * 0x1p-24, what, shape);
	if (most * 0x1p24 > worst[a][darknet])
		worst[a][darknet] = most * 0x1p24;
}

/* Shapes: batch, channels, height, width, filters, padding. Odd and even
 * sizes, 1x1 and 2x3 inputs, one-tile outputs, padding 0, 1 and 2, 1, 3
 * and 17 channels, 1, 5 and 32 filters; the last has 289 tiles per image,
 * so each image is a chunk of its own (the weight gradient is summed over
 * chunks). */
static const int shapes[][6] = {
	{ 1, 1, 5, 7, 1, 1 },  { 3, 3, 9, 9, 5, 1 },   { 3, 17, 5, 7, 32, 0 },
	{ 1, 17, 1, 1, 5, 1 }, { 3, 3, 2, 3, 32, 1 },  { 1, 1, 9, 9, 32, 0 },
	{ 3, 17, 9, 9, 1, 1 }, { 2, 17, 3, 3, 5, 0 },  { 3, 16, 5, 7, 16, 2 },
	{ 1, 3, 4, 6, 5, 0 },  { 3, 3, 33, 33, 5, 1 },
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

/* Direct convolution in double: the forward output (b, n, oh, ow), the
 * input gradient (b, c, h, w) and the weight gradient (n, c, 3, 3) for
 * output gradient dy, each with its sums of absolute terms. */
struct direct {
	double *out, *out_s, *din, *din_s, *dw, *dw_s;
};

struct shape {
	int B, C, H, W, N, pad, OH, OW;
};

static struct shape shape_of(size_t s)
{
	struct shape z = { shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3],
			   shapes[s][4], shapes[s][5], 0, 0 };
	z.OH = z.H + 2 * z.pad - 2;
	z.OW = z.W + 2 * z.pad - 2;
	return z;
}

/* Adds product p = a b with its magnitude to value v and scale vs. */
static void add_term(double *v, double *vs, double a, double b)
{
	*v += a * b;
	*vs += fabs(a * b);
}

static void direct(const float *x, const float *wt, const float *dy, const struct shape *z,
		   struct direct *d)
{
	d->out = dzeros((size_t)z->B * z->N * z->OH * z->OW);
	d->out_s = dzeros((size_t)z->B * z->N * z->OH * z->OW);
	d->din = dzeros((size_t)z->B * z->C * z->H * z->W);
	d->din_s = dzeros((size_t)z->B * z->C * z->H * z->W);
	d->dw = dzeros((size_t)z->N * z->C * 9), d->dw_s = dzeros((size_t)z->N * z->C * 9);
	for (int b = 0; b < z->B; b++)
		for (int k = 0; k < z->N; k++)
			for (int oy = 0; oy < z->OH; oy++)
				for (int ox = 0; ox < z->OW; ox++) {
					size_t o = (((size_t)b * z->N + k) * z->OH + oy) * z->OW + ox;
					for (int c = 0; c < z->C; c++)
						for (int t = 0; t < 9; t++) {
							int y = oy + t / 3 - z->pad, xx = ox + t % 3 - z->pad;
							if (y < 0 || y >= z->H || xx < 0 || xx >= z->W)
								continue;
							size_t i = (((size_t)b * z->C + c) * z->H + y) * z->W + xx;
							size_t wi = ((size_t)k * z->C + c) * 9 + t;
							add_term(&d->out[o], &d->out_s[o], wt[wi], x[i]);
							add_term(&d->din[i], &d->din_s[i], wt[wi], dy[o]);
							add_term(&d->dw[wi], &d->dw_s[wi], dy[o], x[i]);
						}
				}
}

static void direct_free(struct direct *d)
{
	free(d->out), free(d->out_s), free(d->din), free(d->din_s), free(d->dw), free(d->dw_s);
}

/* Adds the starting values start (n) to want and their magnitudes to scale:
 * what an accumulating pass must give. */
static void add_start(double *want, double *scale, const float *start, size_t n)
{
	for (size_t i = 0; i < n; i++)
		want[i] += start[i], scale[i] += fabs(start[i]);
}

static float *dup_array(const float *p, size_t n)
{
	return test_dup_floats(p, n);
}

/* The three passes of algorithm a on every shape. */
static void check_passes(enum accel_conv_algo a)
{
	for (size_t s = 0; s < NSHAPES; s++) {
		struct shape z = shape_of(s);
		assert_true(accel_winograd_possible(3, 1, 1, 0, z.pad, z.H, z.W));
		size_t nx = (size_t)z.B * z.C * z.H * z.W, nw = (size_t)z.N * z.C * 9,
		       ny = (size_t)z.B * z.N * z.OH * z.OW;
		float *x = rand_array(nx), *wt = rand_array(nw), *dy = rand_array(ny);
		struct direct d;
		direct(x, wt, dy, &z, &d);

		float *out = rand_array(ny); /* overwritten */
		accel_winograd_forward(a, x, z.B, z.C, z.H, z.W, z.pad, wt, z.N, out);
		check(a, 0, out, d.out, d.out_s, ny, "forward", s);

		/* the gradients are added to what the arrays hold */
		float *din = rand_array(nx), *dw = rand_array(nw);
		add_start(d.din, d.din_s, din, nx);
		add_start(d.dw, d.dw_s, dw, nw);
		accel_winograd_backward_data(a, dy, z.B, z.C, z.H, z.W, z.pad, wt, z.N, din);
		check(a, 0, din, d.din, d.din_s, nx, "input gradient", s);
		accel_winograd_backward_weights(a, x, dy, z.B, z.C, z.H, z.W, z.pad, z.N, dw);
		check(a, 0, dw, d.dw, d.dw_s, nw, "weight gradient", s);

		direct_free(&d);
		free(x), free(wt), free(dy), free(out), free(din), free(dw);
	}
}

static void all_three_passes_should_match_a_direct_convolution(void **state)
{
	(void)state;
	for (size_t i = 0; i < NALGOS; i++)
		check_passes(algos[i]);
}

/* A layer's input, its random state and a network around it. */
struct layer_case {
	layer l;
	network net;
	float *x, *din0, *dw0, *dy;
	size_t nx, ny, nw;
};

static void layer_case_init(struct layer_case *t, const struct shape *z, int bn)
{
	/* make_convolutional_layer's padding is the pixel count */
	t->l = make_convolutional_layer(z->B, z->H, z->W, z->C, z->N, 1, 3, 1, z->pad, LINEAR, bn,
					0, 0, 0);
	t->nx = (size_t)z->B * z->C * z->H * z->W;
	t->ny = (size_t)t->l.outputs * z->B;
	t->nw = (size_t)z->N * z->C * 9;
	t->x = rand_array(t->nx), t->dy = rand_array(t->ny);
	t->din0 = rand_array(t->nx), t->dw0 = rand_array(t->nw);
	for (int i = 0; i < z->N; i++) {
		t->l.biases[i] = frand();
		if (bn)
			t->l.scales[i] = 1 + frand() / 2;
	}
	memset(&t->net, 0, sizeof t->net);
	t->net.input = t->x;
	t->net.train = 1;
	t->net.batch = z->B;
	t->net.delta = dup_array(t->din0, t->nx);
	t->net.workspace = calloc(t->l.workspace_size / sizeof(float) + 1, sizeof(float));
	assert_non_null(t->net.workspace);
	memcpy(t->l.weight_updates, t->dw0, sizeof(float) * t->nw);
}

static void layer_case_free(struct layer_case *t)
{
	free(t->x), free(t->din0), free(t->dw0), free(t->dy);
	free(t->net.delta), free(t->net.workspace);
	free_layer(t->l);
}

/* Darknet's layer through darkfold's replacement, Winograd forced: the
 * convolution's output (l.x before batch normalisation, else l.output less
 * the bias) against the direct convolution; after the backward pass, the
 * input gradient and the weight gradient (both added to non-zero starting
 * values) against the direct convolution of the delta that reached the
 * convolution (l.delta after the activation's and batch norm's gradient). */
static void check_layer(enum accel_conv_algo a, size_t s, int bn)
{
	struct shape z = shape_of(s);
	struct layer_case t;
	layer_case_init(&t, &z, bn);
	layer l = t.l;
	accel_reset_counts();
	forward_convolutional_layer(l, t.net);
	assert_int_equal(accel_count(ACCEL_forward_convolutional_layer), 1);
	float *conv = dup_array(bn ? l.x : l.output, t.ny);
	for (size_t i = 0; !bn && i < t.ny; i++)
		conv[i] -= l.biases[(i / ((size_t)z.OH * z.OW)) % z.N];
	memcpy(l.delta, t.dy, sizeof *t.dy * t.ny);
	backward_convolutional_layer(l, t.net);

	struct direct d;
	direct(t.x, l.weights, l.delta, &z, &d);
	add_start(d.din, d.din_s, t.din0, t.nx);
	add_start(d.dw, d.dw_s, t.dw0, t.nw);
	/* less the bias: its rounding is on the scale of the output */
	for (size_t i = 0; !bn && i < t.ny; i++)
		d.out_s[i] += 2 * fabs(l.biases[(i / ((size_t)z.OH * z.OW)) % z.N]);
	check(a, 0, conv, d.out, d.out_s, t.ny,
	      bn ? "layer forward, before batch norm" : "layer forward", s);
	check(a, 0, t.net.delta, d.din, d.din_s, t.nx, "layer input gradient", s);
	check(a, 0, l.weight_updates, d.dw, d.dw_s, t.nw, "layer weight gradient", s);
	direct_free(&d);
	free(conv);
	layer_case_free(&t);
}

static void darknet_layer_should_match_a_direct_convolution(void **state)
{
	(void)state;
	assert_int_equal(accel_set_enabled(1), 0);
	for (size_t i = 0; i < NALGOS; i++) {
		accel_conv_force(1, algos[i]);
		for (size_t s = 0; s < NSHAPES; s++) {
			struct shape z = shape_of(s);
			check_layer(algos[i], s, 0);
			/* Darknet's variance divides by the values per channel less one */
			if (z.B * z.OH * z.OW > 1)
				check_layer(algos[i], s, 1);
		}
	}
	accel_conv_force(0, ACCEL_CONV_GEMM);
}

/* The layer's output and gradients with Winograd a forced against
 * Darknet's original layer (replacements off), no batch norm, for every
 * shape: the same within the tolerance of both (Darknet's float sums of 9c
 * terms and Winograd's). */
static void check_against_the_original(enum accel_conv_algo a)
{
	for (size_t s = 0; s < NSHAPES; s++) {
		struct shape z = shape_of(s);
		struct layer_case t;
		layer_case_init(&t, &z, 0);
		layer l = t.l;
		float *got[3] = { NULL, NULL, NULL }, *dy = dup_array(t.dy, t.ny);
		for (int stock = 0; stock < 2; stock++) {
			assert_int_equal(accel_set_enabled(!stock), 0);
			accel_conv_force(!stock, a);
			memcpy(t.net.delta, t.din0, sizeof(float) * t.nx);
			memcpy(l.weight_updates, t.dw0, sizeof(float) * t.nw);
			forward_convolutional_layer(l, t.net);
			memcpy(l.delta, dy, sizeof *dy * t.ny);
			backward_convolutional_layer(l, t.net);
			if (!stock) {
				got[0] = dup_array(l.output, t.ny);
				got[1] = dup_array(t.net.delta, t.nx);
				got[2] = dup_array(l.weight_updates, t.nw);
			}
		}
		assert_int_equal(accel_set_enabled(1), 0);
		accel_conv_force(0, ACCEL_CONV_GEMM);
		struct direct d; /* scales; the values are Darknet's */
		direct(t.x, l.weights, l.delta, &z, &d);
		add_start(d.din, d.din_s, t.din0, t.nx);
		add_start(d.dw, d.dw_s, t.dw0, t.nw);
		for (size_t i = 0; i < t.ny; i++)
			d.out[i] = l.output[i], d.out_s[i] += fabs(l.output[i]);
		for (size_t i = 0; i < t.nx; i++)
			d.din[i] = t.net.delta[i];
		for (size_t i = 0; i < t.nw; i++)
			d.dw[i] = l.weight_updates[i];
		check(a, 1, got[0], d.out, d.out_s, t.ny, "forward against Darknet", s);
		check(a, 1, got[1], d.din, d.din_s, t.nx, "input gradient against Darknet", s);
		check(a, 1, got[2], d.dw, d.dw_s, t.nw, "weight gradient against Darknet", s);
		direct_free(&d);
		free(got[0]), free(got[1]), free(got[2]), free(dy);
		layer_case_free(&t);
	}
}

static void darknet_layer_should_agree_with_the_original(void **state)
{
	(void)state;
	for (size_t i = 0; i < NALGOS; i++)
		check_against_the_original(algos[i]);
	for (size_t i = 0; i < NALGOS; i++)
		print_message("%s: largest error %.2f eps S against the direct convolution, "
			      "%.2f eps S against Darknet's layer\n",
			      accel_conv_algo_name(algos[i]), worst[algos[i]][0],
			      worst[algos[i]][1]);
}

static void rule_should_pick_winograd_only_where_it_can_run(void **state)
{
	(void)state;
	assert_true(accel_winograd_possible(3, 1, 0, 0, 1, 1, 1)); /* groups may be 0 */
	assert_true(accel_winograd_possible(3, 1, 1, 0, 0, 3, 3));
	assert_false(accel_winograd_possible(3, 2, 1, 0, 1, 32, 32)); /* stride 2 */
	assert_false(accel_winograd_possible(1, 1, 1, 0, 0, 32, 32)); /* 1x1 */
	assert_false(accel_winograd_possible(5, 1, 1, 0, 2, 32, 32)); /* 5x5 */
	assert_false(accel_winograd_possible(3, 1, 2, 0, 1, 32, 32)); /* groups */
	assert_false(accel_winograd_possible(3, 1, 1, 1, 1, 32, 32)); /* binary / XNOR */
	assert_false(accel_winograd_possible(3, 1, 1, 0, 3, 32, 32)); /* pad 3 */
	assert_false(accel_winograd_possible(3, 1, 1, 0, 0, 2, 8));   /* no output row */
	/* the rule never picks Winograd where it cannot run */
	assert_int_equal(accel_conv_choose(3, 2, 1, 0, 1, 256, 256, 64, 64), ACCEL_CONV_GEMM);
	assert_int_equal(accel_conv_choose(3, 1, 1, 1, 1, 256, 256, 64, 64), ACCEL_CONV_GEMM);
	/* nor for an RGB input layer */
	assert_int_equal(accel_conv_choose(3, 1, 1, 0, 1, 3, 64, 64, 64), ACCEL_CONV_GEMM);
	/* nor below 64 channels or filters */
	assert_int_equal(accel_conv_choose(3, 1, 1, 0, 1, 63, 4096, 64, 64), ACCEL_CONV_GEMM);
	assert_int_equal(accel_conv_choose(3, 1, 1, 0, 1, 4096, 63, 64, 64), ACCEL_CONV_GEMM);
	/* nor below 2^23 channels x filters x output pixels (ResNet50's 3x3
	 * layers at 128x128 and 64x64) */
	assert_int_equal(accel_conv_choose(3, 1, 1, 0, 1, 64, 64, 32, 32), ACCEL_CONV_GEMM);
	assert_int_equal(accel_conv_choose(3, 1, 1, 0, 1, 512, 512, 4, 4), ACCEL_CONV_GEMM);
	assert_int_equal(accel_conv_choose(3, 1, 1, 0, 1, 64, 64, 16, 16), ACCEL_CONV_GEMM);
	assert_int_equal(accel_conv_choose(3, 1, 1, 0, 0, 512, 511, 6, 6), ACCEL_CONV_GEMM);
	/* and does from there on: F(4x4) from 16x16 output pixels, with any
	 * padding (VGG16's 3x3 layers at 64x64 from the second layer to the
	 * 16x16 stage) */
	assert_int_equal(accel_conv_choose(3, 1, 1, 0, 1, 128, 256, 16, 16), ACCEL_CONV_WINOGRAD4);
	assert_int_equal(accel_conv_choose(3, 1, 1, 0, 0, 256, 256, 18, 18), ACCEL_CONV_WINOGRAD4);
	assert_int_equal(accel_conv_choose(3, 1, 0, 0, 1, 64, 64, 64, 64), ACCEL_CONV_WINOGRAD4);
	assert_int_equal(accel_conv_choose(3, 1, 1, 0, 1, 64, 128, 32, 32), ACCEL_CONV_WINOGRAD4);
	assert_int_equal(accel_conv_choose(3, 1, 1, 0, 2, 512, 512, 14, 14), ACCEL_CONV_WINOGRAD4);
	/* F(2x2) below (VGG16's 8x8 layers) */
	assert_int_equal(accel_conv_choose(3, 1, 1, 0, 1, 512, 512, 16, 15), ACCEL_CONV_WINOGRAD);
	assert_int_equal(accel_conv_choose(3, 1, 1, 0, 0, 512, 512, 18, 17), ACCEL_CONV_WINOGRAD);
	assert_int_equal(accel_conv_choose(3, 1, 1, 0, 1, 256, 512, 8, 8), ACCEL_CONV_WINOGRAD);
	assert_int_equal(accel_conv_choose(3, 1, 1, 0, 0, 512, 512, 10, 10), ACCEL_CONV_WINOGRAD);
	/* a layer the rule gives to Winograd runs it in training and in
	 * inference alike (accel_conv_algo_of does not know the pass), F(2x2)
	 * instead of F(4x4) while the precision is BF16 */
	layer l;
	memset(&l, 0, sizeof l);
	l.size = 3, l.stride = 1, l.pad = 1, l.c = 64, l.n = 64, l.h = 64, l.w = 64;
	assert_int_equal(accel_conv_algo_of(&l), ACCEL_CONV_WINOGRAD4);
	accel_set_precision(ACCEL_BF16);
	assert_int_equal(accel_conv_algo_of(&l), ACCEL_CONV_WINOGRAD);
	accel_set_precision(ACCEL_FP32);
	/* forcing F(2x2, 3x3) reaches the layers where it can run, only */
	accel_conv_force(1, ACCEL_CONV_WINOGRAD);
	assert_int_equal(accel_conv_algo_of(&l), ACCEL_CONV_WINOGRAD);
	l.binary = 1;
	assert_int_equal(accel_conv_algo_of(&l), ACCEL_CONV_GEMM);
	accel_conv_force(0, ACCEL_CONV_GEMM);
	assert_int_equal(accel_conv_algo_of(&l), ACCEL_CONV_GEMM);
	assert_string_equal(accel_conv_algo_name(ACCEL_CONV_WINOGRAD), "winograd");
	assert_string_equal(accel_conv_algo_name(ACCEL_CONV_WINOGRAD4), "winograd4");
	assert_string_equal(accel_conv_algo_name(ACCEL_CONV_GEMM), "gemm");
}

/* The layer's forward and backward pass on t's data (its gradients
 * starting from t's values): copies of l.output, net.delta and
 * l.weight_updates into got. */
static void layer_passes(struct layer_case *t, float *got[3])
{
	layer l = t->l;
	memcpy(t->net.delta, t->din0, sizeof(float) * t->nx);
	memcpy(l.weight_updates, t->dw0, sizeof(float) * t->nw);
	forward_convolutional_layer(l, t->net);
	got[0] = dup_array(l.output, t->ny);
	memcpy(l.delta, t->dy, sizeof(float) * t->ny);
	backward_convolutional_layer(l, t->net);
	got[1] = dup_array(t->net.delta, t->nx);
	got[2] = dup_array(l.weight_updates, t->nw);
}

/* One shape's layer with algorithm a forced, in FP32 then in BF16: each
 * BF16 result's bits differ from FP32's and stay within BF16_TOL u S of
 * the direct convolution. */
static void check_bf16_layer(enum accel_conv_algo a, size_t s)
{
	static const char *const what[3] = { "bf16 forward", "bf16 input gradient",
					     "bf16 weight gradient" };
	struct shape z = shape_of(s);
	struct layer_case t;
	layer_case_init(&t, &z, 0);
	float *fp32[3], *bf[3];
	layer_passes(&t, fp32);
	accel_set_precision(ACCEL_BF16);
	layer_passes(&t, bf);
	accel_set_precision(ACCEL_FP32);
	struct direct d;
	direct(t.x, t.l.weights, t.dy, &z, &d);
	add_start(d.din, d.din_s, t.din0, t.nx);
	add_start(d.dw, d.dw_s, t.dw0, t.nw);
	for (size_t i = 0; i < t.ny; i++) { /* the bias, LINEAR: out = conv + bias */
		float bias = t.l.biases[(i / ((size_t)z.OH * z.OW)) % z.N];
		d.out[i] += bias, d.out_s[i] += fabs(bias);
	}
	const double *want[3] = { d.out, d.din, d.dw };
	const double *scale[3] = { d.out_s, d.din_s, d.dw_s };
	const size_t n[3] = { t.ny, t.nx, t.nw };
	for (int k = 0; k < 3; k++) {
		if (!memcmp(fp32[k], bf[k], sizeof(float) * n[k]))
			fail_msg("shape %zu, %s: %s has FP32's bits", s, accel_conv_algo_name(a),
				 what[k]);
		double most = check_within(a, bf[k], want[k], scale[k], n[k], BF16_TOL * 0x1p-8,
					   what[k], s);
		if (most * 0x1p8 > worst_bf16[a])
			worst_bf16[a] = most * 0x1p8;
		free(fp32[k]), free(bf[k]);
	}
	direct_free(&d);
	layer_case_free(&t);
}

/* With the precision set to ACCEL_BF16 a convolutional layer (the im2col
 * GEMM and both Winograd algorithms, each forced) runs all three passes'
 * products in BF16. Rounding the inputs moves each term by at most 2u of
 * its size (u = 2^-8), so the GEMM stays within 2u S (plus FP32
 * rounding); F(2x2, 3x3) rounds its transformed operands, whose terms the
 * output transform sums again, so a few times more. F(4x4, 3x3)'s
 * transforms amplify that rounding about a hundred times (up to 104 u S,
 * 0.4 S, on these shapes), so in BF16 a layer forced to it runs F(2x2,
 * 3x3) (accel_conv_algo_of), and stays within the same bound. The largest
 * errors these shapes show, in u S: GEMM 0.84, F(2x2, 3x3) 4.9; BF16_TOL =
 * 16 leaves room. (This checks that the products are BF16 and sane; the
 * FP32 tests above check the convolutions to 128 and 1024 eps S, and
 * test_accel_bf16.c the BF16 GEMM.) */
static void layers_should_run_their_products_in_bf16_when_asked(void **state)
{
	(void)state;
	const enum accel_conv_algo all[3] = { ACCEL_CONV_GEMM, ACCEL_CONV_WINOGRAD,
					      ACCEL_CONV_WINOGRAD4 };
	for (int a = 0; a < 3; a++) {
		accel_conv_force(1, all[a]);
		for (size_t s = 0; s < NSHAPES; s++)
			check_bf16_layer(all[a], s);
	}
	accel_conv_force(0, ACCEL_CONV_GEMM);
	for (int a = 0; a < 3; a++)
		print_message("bf16, %s: largest error %.2f u S\n", accel_conv_algo_name(all[a]),
			      worst_bf16[all[a]]);
}

/* out (B, N, OH, OW) of the forward pass in inference (the ordered GEMM). */
static float *infer(const float *x, const float *wt, const struct shape *z)
{
	float *out = malloc(sizeof *out * (size_t)z->B * z->N * z->OH * z->OW);
	assert_non_null(out);
	accel_set_ordered(1);
	accel_winograd_forward(ACCEL_CONV_WINOGRAD, x, z->B, z->C, z->H, z->W, z->pad, wt, z->N,
			       out);
	accel_set_ordered(0);
	return out;
}

static void assert_same(const float *a, const float *b, const struct shape *z,
			const char *what)
{
	if (memcmp(a, b, sizeof *a * (size_t)z->B * z->N * z->OH * z->OW))
		fail_msg("%s: not the same bits", what);
}

/* The life of frozen weights' kept kernels (test_accel checks their bits
 * for both algorithms): kept and themselves frozen (two regions) while the
 * weights stay frozen, so a change before accel_thaw() is not seen, as
 * documented; forgotten at accel_thaw(), so freezing the changed weights
 * again gives their own result. Weights only partly frozen are not kept. */
static void frozen_weights_should_keep_their_transformed_kernels(void **state)
{
	(void)state;
	const struct shape z = shape_of(2); /* 17 channels, 32 filters, pad 0 */
	const size_t nw = (size_t)z.N * z.C * 9;
	float *x = rand_array((size_t)z.B * z.C * z.H * z.W), *wt = rand_array(nw);
	float *plain = infer(x, wt, &z);
	accel_freeze(wt, nw);
	float *got = infer(x, wt, &z);
	assert_same(got, plain, &z, "frozen");
	assert_int_equal(accel_frozen_regions(), 2); /* the weights and their kernels */
	wt[0] += 1;
	free(got), got = infer(x, wt, &z);
	assert_same(got, plain, &z, "kept kernels");
	assert_int_equal(accel_frozen_regions(), 2);
	accel_thaw();
	assert_int_equal(accel_frozen_regions(), 0);
	float *changed = infer(x, wt, &z);
	accel_freeze(wt, nw);
	free(got), got = infer(x, wt, &z);
	assert_same(got, changed, &z, "frozen again after accel_thaw");
	accel_thaw();
	accel_freeze(wt, nw - 1);
	free(got), got = infer(x, wt, &z);
	assert_same(got, changed, &z, "partly frozen");
	assert_int_equal(accel_frozen_regions(), 1);
	accel_thaw();
	free(x), free(wt), free(plain), free(got), free(changed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(all_three_passes_should_match_a_direct_convolution),
		cmocka_unit_test(darknet_layer_should_match_a_direct_convolution),
		cmocka_unit_test(darknet_layer_should_agree_with_the_original),
		cmocka_unit_test(rule_should_pick_winograd_only_where_it_can_run),
		cmocka_unit_test(frozen_weights_should_keep_their_transformed_kernels),
		cmocka_unit_test(layers_should_run_their_products_in_bf16_when_asked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
