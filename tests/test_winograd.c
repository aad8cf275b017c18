/* test_winograd.c: the F(2x2, 3x3) convolution against a direct convolution
 * computed here in double precision (forward, input gradient, weight
 * gradient), and Darknet's convolutional layer run through darkfold's
 * replacement (which uses it) against Darknet's original.
 *
 * Tolerance. Every value is compared with |got - want| <= 1e-5 S + 1e-6,
 * where S is the sum of the absolute products that make up that value
 * (sum |w||x| for an output). The direct convolution in float has a
 * worst-case error of about (9c) eps S (eps = 2^-24, about 6e-8); the
 * F(2x2, 3x3) transforms add and halve at most four values per stage over
 * four stages (input, kernel, output transform, 2 dimensions each), which
 * multiplies the rounding of each product by a small constant (their
 * matrices' entries are 0, 1/2 or 1; Lavin and Gray 2016; Barabasz et al.
 * 2020 measure F(2x2, 3x3)'s error within a few times the direct one's).
 * With c <= 67 here, 1e-5 S is about 170 eps S: above the error either way,
 * and ten thousand times below the error of a wrong tap or tile. */
#include "winograd.h"

#include "accel.h"
#include "helpers.h"

/* darknet.h declares its own error(const char *); see harness/bench.c. */
#define error darknet_error
#include <darknet.h>
#undef error

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

static uint64_t rng_state = 99;
static float frand(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (float)((rng_state >> 40) * (2.0 / 16777216.0) - 1.0);
}

static float *rand_array(size_t n)
{
	float *p = malloc(sizeof *p * n);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = frand();
	return p;
}

static double *dzeros(size_t n)
{
	double *p = calloc(n, sizeof *p);
	assert_non_null(p);
	return p;
}

static void check(const float *got, const double *want, const double *scale, size_t n,
		  const char *what)
{
	for (size_t i = 0; i < n; i++) {
		double tol = 1e-5 * scale[i] + 1e-6;
		if (!(fabs(got[i] - want[i]) <= tol))
			fail_msg("%s: element %zu: %.9g, want %.9g (tolerance %.3g)", what, i,
				 got[i], want[i], tol);
	}
}

/* Shapes: batch, channels, height, width, filters, padding. Odd and even
 * sizes, one-pixel and one-tile outputs, padding 0, 1 and 2, channel counts
 * that are not multiples of a vector. */
static const int shapes[][6] = {
	{ 2, 16, 7, 5, 16, 1 }, { 1, 17, 6, 6, 19, 0 }, { 3, 16, 5, 9, 16, 2 },
	{ 2, 33, 3, 3, 16, 1 }, { 1, 16, 3, 4, 21, 0 }, { 4, 20, 1, 1, 18, 1 },
	{ 2, 67, 8, 7, 24, 1 },
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

/* Direct convolution in double: want/scale for the forward output (b, n,
 * oh, ow), the input gradient (b, c, h, w) and the weight gradient (n, c,
 * 3, 3), with the sums of absolute products as scales. */
struct direct {
	double *out, *out_s, *din, *din_s, *dw, *dw_s;
};

static void direct(const float *x, const float *wt, const float *dy, int B, int C, int H, int W,
		   int N, int pad, struct direct *d)
{
	int OH = H + 2 * pad - 2, OW = W + 2 * pad - 2;
	d->out = dzeros((size_t)B * N * OH * OW), d->out_s = dzeros((size_t)B * N * OH * OW);
	d->din = dzeros((size_t)B * C * H * W), d->din_s = dzeros((size_t)B * C * H * W);
	d->dw = dzeros((size_t)N * C * 9), d->dw_s = dzeros((size_t)N * C * 9);
	for (int b = 0; b < B; b++)
		for (int k = 0; k < N; k++)
			for (int oy = 0; oy < OH; oy++)
				for (int ox = 0; ox < OW; ox++) {
					size_t o = (((size_t)b * N + k) * OH + oy) * OW + ox;
					for (int c = 0; c < C; c++)
						for (int r = 0; r < 3; r++)
							for (int s = 0; s < 3; s++) {
								int y = oy + r - pad, xx = ox + s - pad;
								if (y < 0 || y >= H || xx < 0 || xx >= W)
									continue;
								size_t i = (((size_t)b * C + c) * H + y) * W + xx;
								size_t wi = (((size_t)k * C + c) * 3 + r) * 3 + s;
								d->out[o] += (double)wt[wi] * x[i];
								d->out_s[o] += fabs((double)wt[wi] * x[i]);
								d->din[i] += (double)wt[wi] * dy[o];
								d->din_s[i] += fabs((double)wt[wi] * dy[o]);
								d->dw[wi] += (double)dy[o] * x[i];
								d->dw_s[wi] += fabs((double)dy[o] * x[i]);
							}
				}
}

static void direct_free(struct direct *d)
{
	free(d->out), free(d->out_s), free(d->din), free(d->din_s), free(d->dw), free(d->dw_s);
}

static void all_three_passes_should_match_a_direct_convolution(void **state)
{
	(void)state;
	for (size_t s = 0; s < NSHAPES; s++) {
		const int B = shapes[s][0], C = shapes[s][1], H = shapes[s][2], W = shapes[s][3],
			  N = shapes[s][4], pad = shapes[s][5];
		const int OH = H + 2 * pad - 2, OW = W + 2 * pad - 2;
		assert_true(winograd_applies(3, 1, pad, 1, C, N, H, W));
		size_t nx = (size_t)B * C * H * W, nw = (size_t)N * C * 9,
		       ny = (size_t)B * N * OH * OW;
		float *x = rand_array(nx), *wt = rand_array(nw), *dy = rand_array(ny);
		struct direct d;
		direct(x, wt, dy, B, C, H, W, N, pad, &d);

		float *out = rand_array(ny); /* overwritten */
		winograd_forward(x, B, C, H, W, pad, wt, N, out);
		check(out, d.out, d.out_s, ny, "forward");

		/* the gradients are added to what the arrays hold */
		float *din = rand_array(nx), *dw = rand_array(nw);
		for (size_t i = 0; i < nx; i++)
			d.din[i] += din[i], d.din_s[i] += fabs(din[i]);
		for (size_t i = 0; i < nw; i++)
			d.dw[i] += dw[i], d.dw_s[i] += fabs(dw[i]);
		winograd_backward_data(dy, B, C, H, W, pad, wt, N, din);
		check(din, d.din, d.din_s, nx, "input gradient");
		winograd_backward_weights(x, dy, B, C, H, W, pad, N, dw);
		check(dw, d.dw, d.dw_s, nw, "weight gradient");

		direct_free(&d);
		free(x), free(wt), free(dy), free(out), free(din), free(dw);
	}
}

static void rule_should_pick_only_3x3_stride_1_layers_with_enough_channels(void **state)
{
	(void)state;
	assert_true(winograd_applies(3, 1, 1, 1, 64, 64, 32, 32));
	assert_true(winograd_applies(3, 1, 1, 0, 16, 16, 1, 1)); /* Darknet's groups may be 0 */
	assert_false(winograd_applies(3, 2, 1, 1, 64, 64, 32, 32));  /* stride 2 */
	assert_false(winograd_applies(1, 1, 0, 1, 64, 64, 32, 32));  /* 1x1 */
	assert_false(winograd_applies(5, 1, 2, 1, 64, 64, 32, 32));  /* 5x5 */
	assert_false(winograd_applies(3, 1, 1, 2, 64, 64, 32, 32));  /* groups */
	assert_false(winograd_applies(3, 1, 3, 1, 64, 64, 32, 32));  /* pad 3 */
	assert_false(winograd_applies(3, 1, 1, 1, 3, 64, 32, 32));   /* RGB input */
	assert_false(winograd_applies(3, 1, 1, 1, 64, 15, 32, 32));  /* few filters */
	assert_false(winograd_applies(3, 1, 0, 1, 64, 64, 2, 8));    /* no output row */
}

/* Darknet's convolutional layer, forward and backward, through darkfold's
 * replacement (Winograd for these shapes) and through Darknet's original. */
static void darknet_layer_should_match_the_original(void **state)
{
	(void)state;
	assert_int_equal(accel_set_enabled(1), 0);
	for (size_t s = 0; s < NSHAPES; s++) {
		const int B = shapes[s][0], C = shapes[s][1], H = shapes[s][2], W = shapes[s][3],
			  N = shapes[s][4], pad = shapes[s][5];
		/* make_convolutional_layer's padding is the pixel count */
		layer l = make_convolutional_layer(B, H, W, C, N, 1, 3, 1, pad, LINEAR, 0, 0, 0, 0);
		size_t nx = (size_t)B * C * H * W, ny = (size_t)l.outputs * B, nw = (size_t)N * C * 9;
		float *x = rand_array(nx), *dy = rand_array(ny);
		for (int i = 0; i < N; i++)
			l.biases[i] = frand();
		network net;
		memset(&net, 0, sizeof net);
		net.input = x;
		net.train = 1;
		net.batch = B;
		net.workspace = calloc(l.workspace_size / sizeof(float) + 1, sizeof(float));
		assert_non_null(net.workspace);

		void (*orig_fwd)(layer, network), (*orig_bwd)(layer, network);
		void *pf = accel_original(ACCEL_forward_convolutional_layer),
		     *pb = accel_original(ACCEL_backward_convolutional_layer);
		assert_non_null(pf);
		assert_non_null(pb);
		memcpy(&orig_fwd, &pf, sizeof pf);
		memcpy(&orig_bwd, &pb, sizeof pb);

		/* reference: Darknet's own passes */
		orig_fwd(l, net);
		float *out_ref = malloc(sizeof *out_ref * ny);
		memcpy(out_ref, l.output, sizeof *out_ref * ny);
		memcpy(l.delta, dy, sizeof *dy * ny);
		float *din_ref = calloc(nx, sizeof *din_ref);
		net.delta = din_ref;
		memset(l.weight_updates, 0, sizeof(float) * nw);
		orig_bwd(l, net);
		float *dw_ref = malloc(sizeof *dw_ref * nw);
		memcpy(dw_ref, l.weight_updates, sizeof *dw_ref * nw);

		/* darkfold's */
		accel_reset_counts();
		forward_convolutional_layer(l, net);
		assert_int_equal(accel_count(ACCEL_forward_convolutional_layer), 1);
		memcpy(l.delta, dy, sizeof *dy * ny);
		float *din = calloc(nx, sizeof *din);
		net.delta = din;
		memset(l.weight_updates, 0, sizeof(float) * nw);
		backward_convolutional_layer(l, net);

		/* scales from double-precision direct sums of absolute products */
		struct direct d;
		direct(x, l.weights, dy, B, C, H, W, N, pad, &d);
		for (size_t i = 0; i < ny; i++)
			d.out[i] = out_ref[i], d.out_s[i] += fabs(l.biases[(i / (ny / B / N)) % N]);
		for (size_t i = 0; i < nx; i++)
			d.din[i] = din_ref[i];
		for (size_t i = 0; i < nw; i++)
			d.dw[i] = dw_ref[i];
		check(l.output, d.out, d.out_s, ny, "darknet layer forward");
		check(din, d.din, d.din_s, nx, "darknet layer input gradient");
		check(l.weight_updates, d.dw, d.dw_s, nw, "darknet layer weight gradient");

		direct_free(&d);
		free(x), free(dy), free(out_ref), free(din_ref), free(dw_ref), free(din);
		free(net.workspace);
		free_layer(l);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(all_three_passes_should_match_a_direct_convolution),
		cmocka_unit_test(rule_should_pick_only_3x3_stride_1_layers_with_enough_channels),
		cmocka_unit_test(darknet_layer_should_match_the_original),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
