/* test_train_oneclass.c: one-class (reconstruction) training: the input is
 * the target, training takes normal images only, and the cfg checks of
 * reconstruction networks. */
#include "train.h"

#include "cfg.h"
#include "error.h"
#include "fsutil.h"
#include "helpers.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* 4x4x1 input, a 1x1 linear convolution (output = a x + b per pixel) and
 * an sse cost: it can learn the identity exactly. */
static const char RECON_CFG[] = "[net]\n"
				"batch=4\n"
				"subdivisions=1\n"
				"width=4\n"
				"height=4\n"
				"channels=1\n"
				"learning_rate=0.02\n"
				"momentum=0.9\n"
				"decay=0\n"
				"\n"
				"[convolutional]\n"
				"filters=1\n"
				"size=1\n"
				"stride=1\n"
				"pad=0\n"
				"activation=linear\n"
				"\n"
				"[cost]\n"
				"type=sse\n";

struct fixture {
	char *dir;
	char *cfg;
	struct cache cc;
	int labels[12];
};

/* 12 images of 4x4 in (0.1, 0.9); images 9..11 are anomalous. */
static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	f->dir = test_tmpdir();
	f->cfg = fs_join(f->dir, "recon.cfg");
	test_write_file(f->cfg, RECON_CFG, strlen(RECON_CFG));
	f->cc.w = f->cc.h = 4;
	f->cc.c = 1;
	f->cc.n = 12;
	f->cc.data = xcalloc(12 * 16, sizeof(float));
	for (int i = 0; i < 12; i++) {
		f->labels[i] = i >= 9;
		for (int k = 0; k < 16; k++)
			f->cc.data[i * 16 + k] = (float)(0.1 + 0.8 * ((i * 5 + k * 7) % 13) / 12.0);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	test_rm_rf(f->dir);
	free(f->dir);
	free(f->cfg);
	free(f->cc.data);
	free(f);
	return 0;
}

/* The loss of a step is the sse between the batch and the network's output
 * for it (measured before the step): the target is the input itself. */
static void reconstruction_should_target_the_input(void **state)
{
	struct fixture *f = *state;
	struct net *n = NULL;
	assert_int_equal(net_build_reconstruction(f->cfg, 7, NULL, &n), 0);
	const float *X = f->cc.data; /* the first batch: images 0..3, (4, 16) */
	float R[64];
	net_reconstruct(n, X, 4, R);
	double want = 0, zero_target = 0;
	for (int i = 0; i < 64; i++) {
		want += ((double)X[i] - R[i]) * ((double)X[i] - R[i]);
		zero_target += (double)R[i] * R[i];
	}
	double loss;
	assert_int_equal(net_train_reconstruct(n, X, NULL, &loss), 0);
	assert_true(fabs(loss - want) <= 1e-4 * want);
	assert_true(fabs(loss - zero_target) > 1e-3 * want); /* not some other target */
	/* a weight of 0 removes a sample from the loss */
	float w[4] = { 1, 0, 1, 0 };
	net_reconstruct(n, X, 4, R);
	double half = 0;
	for (int b = 0; b < 4; b += 2)
		for (int j = 0; j < 16; j++)
			half += ((double)X[b * 16 + j] - R[b * 16 + j]) *
				((double)X[b * 16 + j] - R[b * 16 + j]);
	assert_int_equal(net_train_reconstruct(n, X, w, &loss), 0);
	assert_true(fabs(loss - half) <= 1e-4 * half);
	net_free(n);
}

/* Trained on its normal images, the network learns to reproduce them: the
 * per-image sse falls by two orders of magnitude. */
static void reconstruction_training_should_learn_the_identity(void **state)
{
	struct fixture *f = *state;
	struct net *n = NULL;
	assert_int_equal(net_build_reconstruction(f->cfg, 7, NULL, &n), 0);
	int train[7] = { 0, 1, 2, 3, 4, 5, 6 }, val[2] = { 7, 8 };
	struct exp_training t = { 0 };
	struct train_options o = { 0 };
	o.training = &t;
	o.epochs = 150;
	o.seed = 99;
	o.reconstruct = 1;
	struct train_result r;
	assert_int_equal(train_run(n, &f->cc, f->labels, train, 7, val, 2, &o, &r), 0);
	assert_int_equal(r.status, TRAIN_OK);
	assert_true(r.curve[149].val_loss < 0.01 * r.curve[0].val_loss);
	assert_true(isnan(r.curve[0].val_accuracy));
	train_result_release(&r);
	net_free(n);
}

static void reconstruction_training_should_refuse_an_anomalous_image(void **state)
{
	struct fixture *f = *state;
	struct net *n = NULL;
	assert_int_equal(net_build_reconstruction(f->cfg, 7, NULL, &n), 0);
	int train[5] = { 0, 1, 2, 9, 3 }; /* image 9 is anomalous */
	struct exp_training t = { 0 };
	struct train_options o = { 0 };
	o.training = &t;
	o.epochs = 1;
	o.seed = 99;
	o.reconstruct = 1;
	struct train_result r;
	assert_int_equal(train_run(n, &f->cc, f->labels, train, 5, NULL, 0, &o, &r), -1);
	net_free(n);
}

static void check_cfg(const char *text, int want)
{
	struct cfg c;
	int rc = cfg_parse("t.cfg", text, strlen(text), 0, &c);
	assert_int_equal(rc, 0);
	assert_int_equal(cfg_check_reconstruction(&c), want);
	cfg_release(&c);
}

static void reconstruction_cfgs_should_be_checked(void **state)
{
	(void)state;
	check_cfg(RECON_CFG, 0);
	/* a classifier declared one_class */
	check_cfg("[net]\nwidth=4\nheight=4\nchannels=1\n[connected]\noutput=2\n[softmax]\n", -1);
	/* output 4x4x2 for a 4x4x1 input */
	check_cfg("[net]\nwidth=4\nheight=4\nchannels=1\n[convolutional]\nfilters=2\nsize=1\n"
		  "[cost]\ntype=sse\n", -1);
	/* downsampled and not brought back */
	check_cfg("[net]\nwidth=4\nheight=4\nchannels=1\n[convolutional]\nfilters=1\nsize=3\n"
		  "stride=2\npad=1\n[cost]\n", -1);
	/* the same brought back with [upsample] */
	check_cfg("[net]\nwidth=4\nheight=4\nchannels=1\n[convolutional]\nfilters=1\nsize=3\n"
		  "stride=2\npad=1\n[upsample]\nstride=2\n[cost]\n", 0);
	/* no [cost] */
	check_cfg("[net]\nwidth=4\nheight=4\nchannels=1\n[convolutional]\nfilters=1\nsize=1\n", -1);
	/* a cost other than sse */
	check_cfg("[net]\nwidth=4\nheight=4\nchannels=1\n[convolutional]\nfilters=1\nsize=1\n"
		  "[cost]\ntype=L1\n", -1);
	struct cfg c;
	const char *sup = "[net]\nwidth=4\nheight=4\nchannels=1\n[connected]\noutput=2\n[softmax]\n";
	assert_int_equal(cfg_parse("s.cfg", sup, strlen(sup), 0, &c), 0);
	assert_int_equal(cfg_is_reconstruction(&c), 0);
	cfg_release(&c);
	assert_int_equal(cfg_parse("r.cfg", RECON_CFG, strlen(RECON_CFG), 0, &c), 0);
	assert_int_equal(cfg_is_reconstruction(&c), 1);
	cfg_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reconstruction_should_target_the_input, setup, teardown),
		cmocka_unit_test_setup_teardown(reconstruction_training_should_learn_the_identity, setup,
						teardown),
		cmocka_unit_test_setup_teardown(reconstruction_training_should_refuse_an_anomalous_image,
						setup, teardown),
		cmocka_unit_test(reconstruction_cfgs_should_be_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
