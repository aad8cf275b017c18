/* test_train.c: the epoch loop: augmentation, schedule, validation figures,
 * learning, early stopping, divergence and exact resume from a checkpoint. */
#include "train.h"

#include "accel.h"
#include "error.h"
#include "fsutil.h"
#include "helpers.h"
#include "sha256.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* 4x4x1 input, rate %s; a dense layer to 2 outputs and softmax end each
 * network below. */
#define NET_4X4 "[net]\nbatch=4\nsubdivisions=1\nwidth=4\nheight=4\nchannels=1\n" \
		"learning_rate=%s\nmomentum=0.9\ndecay=0.0005\n\n"
#define TO_2_CLASSES "[connected]\noutput=2\nactivation=linear\n\n[softmax]\ngroups=1\n"

/* A dense net, no batch norm or dropout: two builds with one seed in one
 * process are identical. */
static const char DENSE_CFG[] =
	NET_4X4 "[connected]\noutput=8\nactivation=leaky\n\n" TO_2_CLASSES;

/* The same classification through a convolution (3x3, 8 filters, padding 1) with
 * batch norm: im2col products forward and backward, and batch-norm
 * recalibration after each epoch. */
static const char CONV_CFG[] =
	NET_4X4 "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\n"
		"activation=leaky\n\n" TO_2_CLASSES;

struct fixture {
	char *dir;
	struct cache cc;
	int labels[30];
	int train[22], val[8];
};

/* 30 images: 20 normal (dark, 0.2..0.4), 10 anomalous (a bright 2x2 patch
 * on the dark ground). Every third image goes to validation. */
static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	f->dir = test_tmpdir();
	f->cc.w = f->cc.h = 4;
	f->cc.c = 1;
	f->cc.n = 30;
	f->cc.data = xcalloc(30 * 16, sizeof(float));
	int nt = 0, nv = 0;
	for (int i = 0; i < 30; i++) {
		int y = i % 3 == 1;
		f->labels[i] = y;
		for (int k = 0; k < 16; k++)
			f->cc.data[i * 16 + k] = (float)(0.2 + 0.2 * ((i * 7 + k * 3) % 11) / 10.0);
		if (y)
			for (int r = 1; r < 3; r++)
				for (int c = 1; c < 3; c++)
					f->cc.data[i * 16 + r * 4 + c] = 0.95f;
		if (i % 4 == 0)
			f->val[nv++] = i;
		else
			f->train[nt++] = i;
	}
	assert_int_equal(nt, 22);
	assert_int_equal(nv, 8);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	test_rm_rf(f->dir);
	free(f->dir);
	free(f->cc.data);
	free(f);
	return 0;
}

static struct net *build(struct fixture *f, const char *cfg, const char *lr)
{
	char *text = xasprintf(cfg, lr);
	char *path = fs_join(f->dir, "dense.cfg");
	test_write_file(path, text, strlen(text));
	struct net *n = NULL;
	assert_int_equal(net_build(path, 42, NULL, &n), 0);
	free(text);
	free(path);
	return n;
}

static struct net *dense(struct fixture *f, const char *lr)
{
	return build(f, DENSE_CFG, lr);
}

/* Options for epochs epochs on the training settings *t, which start
 * with every setting off and the cfg's learning-rate policy. */
static struct train_options options(int epochs, struct exp_training *t)
{
	memset(t, 0, sizeof *t);
	t->epochs = epochs;
	struct train_options o = { 0 };
	o.training = t;
	o.epochs = epochs;
	o.seed = 1234;
	return o;
}

/* 3x3 planes numbered 0..8 row by row:   0 1 2
 *                                       3 4 5
 *                                       6 7 8 */
static void transform_should_flip_and_rotate_by_hand(void **state)
{
	(void)state;
	float x[9], tmp[9];
	const float hflip[9] = { 2, 1, 0, 5, 4, 3, 8, 7, 6 };
	const float vflip[9] = { 6, 7, 8, 3, 4, 5, 0, 1, 2 };
	const float rot1[9] = { 6, 3, 0, 7, 4, 1, 8, 5, 2 }; /* clockwise */
	const float rot2[9] = { 8, 7, 6, 5, 4, 3, 2, 1, 0 };
	struct {
		int fh, fv, rot;
		const float *want;
	} cases[] = { { 1, 0, 0, hflip }, { 0, 1, 0, vflip }, { 0, 0, 1, rot1 }, { 0, 0, 2, rot2 },
		      { 1, 1, 0, rot2 } };
	for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
		for (int i = 0; i < 9; i++)
			x[i] = (float)i;
		train_transform(x, tmp, 1, 3, 3, cases[t].fh, cases[t].fv, cases[t].rot, 0, 1);
		for (int i = 0; i < 9; i++)
			assert_true(x[i] == cases[t].want[i]);
	}
	/* Four quarter turns are the identity; each channel moves alike. */
	float y[18];
	for (int i = 0; i < 18; i++)
		y[i] = (float)i;
	float tmp2[18];
	train_transform(y, tmp2, 2, 3, 3, 0, 0, 1, 0, 1);
	assert_true(y[9] == 15 && y[10] == 12 && y[11] == 9);
	for (int k = 0; k < 3; k++)
		train_transform(y, tmp2, 2, 3, 3, 0, 0, 1, 0, 1);
	for (int i = 0; i < 18; i++)
		assert_true(y[i] == (float)i);
}

static void transform_should_jitter_and_clamp(void **state)
{
	(void)state;
	float x[4] = { 0.0f, 0.25f, 0.5f, 1.0f }, tmp[4];
	/* (x - 0.5) * 1.5 + 0.5 + 0.1 = -0.15 (0), 0.225, 0.6, 1.35 (1) */
	train_transform(x, tmp, 1, 2, 2, 0, 0, 0, 0.1, 1.5);
	assert_float_equal(x[0], 0.0, 1e-7);
	assert_float_equal(x[1], 0.225, 1e-6);
	assert_float_equal(x[2], 0.6, 1e-6);
	assert_float_equal(x[3], 1.0, 1e-7);
}

static void schedule_should_follow_steps_and_poly(void **state)
{
	(void)state;
	struct exp_training t;
	struct train_options o = options(10, &t);
	assert_true(isnan(train_schedule_rate(&o, 0)));
	t.lr_policy = "constant";
	o.lr_base = 0.01;
	assert_float_equal(train_schedule_rate(&o, 7), 0.01, 1e-15);
	int steps[2] = { 3, 6 };
	t.lr_policy = "steps";
	t.lr_steps = steps;
	t.n_lr_steps = 2;
	t.lr_scale = 0.1;
	/* epochs 1-2 (e = 0,1): 0.01; 3-5: 0.001; 6-: 0.0001 */
	assert_float_equal(train_schedule_rate(&o, 1), 0.01, 1e-15);
	assert_float_equal(train_schedule_rate(&o, 2), 0.001, 1e-15);
	assert_float_equal(train_schedule_rate(&o, 4), 0.001, 1e-15);
	assert_float_equal(train_schedule_rate(&o, 5), 0.0001, 1e-15);
	t.lr_policy = "poly";
	t.lr_power = 2;
	/* 0.01 * (1 - 5/10)^2 = 0.0025 */
	assert_float_equal(train_schedule_rate(&o, 5), 0.0025, 1e-15);
	assert_float_equal(train_schedule_rate(&o, 0), 0.01, 1e-15);
}

static void val_figures_should_match_hand_values(void **state)
{
	(void)state;
	double p[4] = { 0.9, 0.2, 0.6, 0.0 };
	int y[4] = { 1, 0, 0, 1 };
	double loss, acc;
	train_val_figures(p, y, 4, NULL, &loss, &acc);
	/* -(ln .9 + ln .8 + ln .4 + ln 1e-15) / 4 */
	double want = -(log(0.9) + log(0.8) + log(0.4) + log(1e-15)) / 4;
	assert_float_equal(loss, want, 1e-12);
	assert_float_equal(acc, 0.5, 1e-15);
	double w[2] = { 0.5, 2 };
	train_val_figures(p, y, 4, w, &loss, &acc);
	want = -(2 * log(0.9) + 0.5 * log(0.8) + 0.5 * log(0.4) + 2 * log(1e-15)) / 4;
	assert_float_equal(loss, want, 1e-12);
}

static void train_should_learn_a_separable_set(void **state)
{
	struct fixture *f = *state;
	struct net *n = dense(f, "0.1");
	struct exp_training t;
	struct train_options o = options(12, &t);
	struct train_result r;
	assert_int_equal(train_run(n, &f->cc, f->labels, f->train, 22, f->val, 8, &o, &r), 0);
	assert_int_equal(r.status, TRAIN_OK);
	assert_int_equal(r.epochs_run, 12);
	assert_int_equal(r.chosen_epoch, 12);
	assert_int_equal(r.images, 12 * 22);
	assert_true(r.curve[11].train_loss < 0.5 * r.curve[0].train_loss);
	assert_true(r.curve[11].val_accuracy >= 0.99);
	for (int e = 0; e < 12; e++) {
		assert_int_equal(r.curve[e].epoch, e + 1);
		assert_float_equal(r.curve[e].learning_rate, 0.1, 1e-7);
	}
	train_result_release(&r);
	net_free(n);
}

/* 12 epochs of cfg at rate 0.1 in precision p: the curve (caller frees it
 * with train_result_release). */
static struct train_result train_in(struct fixture *f, const char *cfg, enum exp_precision p)
{
	struct net *n = build(f, cfg, "0.1");
	struct exp_training t;
	struct train_options o = options(12, &t);
	t.precision = p;
	struct train_result r;
	assert_int_equal(train_run(n, &f->cc, f->labels, f->train, 22, f->val, 8, &o, &r), 0);
	assert_int_equal(r.status, TRAIN_OK);
	assert_int_equal(accel_precision(), ACCEL_FP32); /* restored after training */
	net_free(n);
	return r;
}

/* BF16 products change the bits of training but not what it learns: its
 * loss falls like the FP32 one (to within 0.1 of the first epoch's loss),
 * and it separates the validation images. FP32 after a BF16 run gives the
 * bits of FP32 before it: the switch is off again. Dense layers alone, and
 * a convolution with batch norm. */
static void precision_bf16_should_change_the_bits_but_not_the_learning(void **state)
{
	struct fixture *f = *state;
	const char *cfgs[] = { DENSE_CFG, CONV_CFG };
	for (int c = 0; c < 2; c++) {
		struct train_result a = train_in(f, cfgs[c], EXP_PREC_FP32);
		struct train_result b = train_in(f, cfgs[c], EXP_PREC_BF16);
		struct train_result again = train_in(f, cfgs[c], EXP_PREC_FP32);
		int differ = 0;
		for (int e = 0; e < 12; e++) {
			const struct train_epoch *x = &again.curve[e], *y = &a.curve[e];
			assert_memory_equal(&x->train_loss, &y->train_loss, sizeof(double));
			assert_memory_equal(&x->val_loss, &y->val_loss, sizeof(double));
			differ |= b.curve[e].train_loss != a.curve[e].train_loss;
		}
		assert_true(differ);
		double first = a.curve[0].train_loss;
		assert_true(b.curve[11].train_loss < 0.5 * b.curve[0].train_loss);
		assert_true(fabs(b.curve[11].train_loss - a.curve[11].train_loss) <= 0.1 * first);
		assert_true(fabs(b.curve[0].train_loss - first) <= 0.1 * first);
		assert_true(b.curve[11].val_accuracy >= 0.99);
		train_result_release(&a);
		train_result_release(&b);
		train_result_release(&again);
	}
}

/* With oversampling the 7 minority images of 22 (15 normal) are topped up
 * to 15: 30 images per epoch. */
static void oversampling_should_balance_each_epoch(void **state)
{
	struct fixture *f = *state;
	struct net *n = dense(f, "0.1");
	int cnt = 0;
	for (int i = 0; i < 22; i++)
		cnt += f->labels[f->train[i]];
	assert_int_equal(cnt, 7);
	struct exp_training t;
	struct train_options o = options(2, &t);
	t.imbalance = EXP_IMB_OVERSAMPLE;
	t.augment_flip = t.augment_rot90 = 1;
	t.augment_jitter = 0.1;
	struct train_result r;
	assert_int_equal(train_run(n, &f->cc, f->labels, f->train, 22, f->val, 8, &o, &r), 0);
	assert_int_equal(r.images, 2 * 30);
	train_result_release(&r);
	net_free(n);
}

/* Rate 0 keeps the network fixed, so an epoch's loss is the mean of the
 * images' losses over the epoch's list: the 22 training images once, the 7
 * anomalous ones a second time, and one more anomalous image drawn at random
 * (15 - 7 = 8 extra = 7 + 1). The drawn image is found from the loss; over
 * eight seeds it must not always be the same one. */
static void oversampling_should_repeat_minority_images_and_draw_the_rest(void **state)
{
	struct fixture *f = *state;
	struct net *n = dense(f, "0.1");
	float X[22 * 16];
	double p[22], loss[22], base = 0;
	for (int i = 0; i < 22; i++)
		memcpy(X + i * 16, cache_image(&f->cc, f->train[i]), 16 * sizeof(float));
	net_predict(n, X, 22, p);
	for (int i = 0; i < 22; i++) {
		int y = f->labels[f->train[i]];
		loss[i] = -log(y ? p[i] : 1 - p[i]);
		base += loss[i] * (y ? 2 : 1);
	}
	int drawn_first = -1, differ = 0;
	for (int seed = 1; seed <= 8; seed++) {
		struct exp_training t;
		struct train_options o = options(1, &t);
		o.seed = (uint64_t)seed;
		t.imbalance = EXP_IMB_OVERSAMPLE;
		t.lr_policy = "constant";
		o.lr_base = 0;
		struct train_result r;
		assert_int_equal(train_run(n, &f->cc, f->labels, f->train, 22, f->val, 8, &o, &r), 0);
		assert_int_equal(r.images, 30);
		double extra = 30 * r.curve[0].train_loss - base;
		int drawn = -1;
		double gap = INFINITY;
		for (int i = 0; i < 22; i++) {
			double d = fabs(extra - loss[i]);
			if (f->labels[f->train[i]] && d < gap) {
				gap = d;
				drawn = i;
			}
		}
		assert_true(gap <= 1e-5 * (base + 1));
		if (drawn_first < 0)
			drawn_first = drawn;
		differ |= drawn != drawn_first;
		train_result_release(&r);
	}
	assert_true(differ);
	net_free(n);
}

/* Rate 0 keeps the network fixed, so the weighted epoch loss can be worked
 * out from its scores beforehand: weights 22/(2*15) normal, 22/(2*7)
 * anomalous, mean over the 22 images (the padding of the last batch has
 * weight 0). */
static void weighted_loss_should_use_inverse_class_frequency(void **state)
{
	struct fixture *f = *state;
	struct net *n = dense(f, "0.1");
	float X[22 * 16];
	int y[22];
	double p[22];
	for (int i = 0; i < 22; i++) {
		memcpy(X + i * 16, cache_image(&f->cc, f->train[i]), 16 * sizeof(float));
		y[i] = f->labels[f->train[i]];
	}
	net_predict(n, X, 22, p);
	double w[2] = { 22.0 / 30.0, 22.0 / 14.0 }, want = 0;
	for (int i = 0; i < 22; i++)
		want += w[y[i]] * -log(y[i] ? p[i] : 1 - p[i]);
	want /= 22;
	struct exp_training t;
	struct train_options o = options(1, &t);
	t.imbalance = EXP_IMB_WEIGHTED;
	t.lr_policy = "constant";
	o.lr_base = 0;
	struct train_result r;
	assert_int_equal(train_run(n, &f->cc, f->labels, f->train, 22, f->val, 8, &o, &r), 0);
	assert_float_equal(r.curve[0].train_loss, want, 1e-6 * want);
	assert_int_equal(r.images, 22);
	train_result_release(&r);
	net_free(n);
}

static void early_stopping_should_keep_the_best_epoch(void **state)
{
	struct fixture *f = *state;
	/* Rate 0: the val loss never improves after epoch 1, so training stops
	 * after 1 + patience epochs and epoch 1 is chosen. */
	struct net *n = dense(f, "0.1");
	struct exp_training t;
	struct train_options o = options(10, &t);
	t.lr_policy = "constant";
	o.lr_base = 0;
	t.early_stopping = 1;
	t.patience = 2;
	char *best = fs_join(f->dir, "best.weights");
	o.best_weights = best;
	struct train_result r;
	assert_int_equal(train_run(n, &f->cc, f->labels, f->train, 22, f->val, 8, &o, &r), 0);
	assert_int_equal(r.status, TRAIN_OK);
	assert_int_equal(r.epochs_run, 3);
	assert_int_equal(r.chosen_epoch, 1);
	assert_true(fs_is_file(best));
	train_result_release(&r);
	net_free(n);

	/* A learning network: the chosen epoch has the lowest val loss and the
	 * network ends with its weights. */
	n = dense(f, "0.3");
	o = options(8, &t);
	t.early_stopping = 1;
	t.patience = 8;
	o.best_weights = best;
	assert_int_equal(train_run(n, &f->cc, f->labels, f->train, 22, f->val, 8, &o, &r), 0);
	int arg = 0;
	for (int e = 1; e < r.epochs_run; e++)
		if (r.curve[e].val_loss < r.curve[arg].val_loss)
			arg = e;
	assert_int_equal(r.chosen_epoch, arg + 1);
	double p[8], loss, acc;
	float X[8 * 16];
	int y[8];
	for (int i = 0; i < 8; i++) {
		memcpy(X + i * 16, cache_image(&f->cc, f->val[i]), 16 * sizeof(float));
		y[i] = f->labels[f->val[i]];
	}
	net_predict(n, X, 8, p);
	train_val_figures(p, y, 8, NULL, &loss, &acc);
	assert_true(loss == r.curve[arg].val_loss);
	train_result_release(&r);
	net_free(n);
	free(best);
}

static void train_should_report_divergence_with_its_epoch(void **state)
{
	struct fixture *f = *state;
	struct net *n = dense(f, "1e6");
	struct exp_training t;
	struct train_options o = options(5, &t);
	struct train_result r;
	assert_int_equal(train_run(n, &f->cc, f->labels, f->train, 22, f->val, 8, &o, &r), 0);
	assert_int_equal(r.status, TRAIN_DIVERGED);
	assert_true(r.diverged_epoch >= 1 && r.diverged_epoch <= 5);
	assert_int_equal(r.epochs_run, r.diverged_epoch);
	assert_false(isfinite(r.curve[r.diverged_epoch - 1].train_loss) &&
		     isfinite(r.curve[r.diverged_epoch - 1].val_loss));
	train_result_release(&r);
	net_free(n);
}

/* Three epochs in one go, or two epochs then (in a fresh network) a resume
 * to three: the same curve and the same final scores, bit for bit. */
/* Early stopping across a resume: at rate 0 the validation loss never
 * improves after epoch 1, so with patience 3 training stops after epoch 4
 * and chooses epoch 1, whether or not it was interrupted after epoch 2 (the
 * checkpoint carries the best loss and the epochs since). */
static void resume_should_keep_the_early_stopping_state(void **state)
{
	struct fixture *f = *state;
	char *ck = fs_join(f->dir, "es.ckpt"), *best = fs_join(f->dir, "es.weights");
	struct exp_training t;
	struct train_options o = options(2, &t);
	t.lr_policy = "constant";
	o.lr_base = 0;
	t.early_stopping = 1;
	t.patience = 3;
	o.best_weights = best;
	o.checkpoint = ck;
	o.checkpoint_key = "es";
	struct net *n = dense(f, "0.1");
	struct train_result a, b;
	assert_int_equal(train_run(n, &f->cc, f->labels, f->train, 22, f->val, 8, &o, &a), 0);
	assert_int_equal(a.epochs_run, 2);
	net_free(n);
	n = dense(f, "0.1");
	o.epochs = 10;
	assert_int_equal(train_run(n, &f->cc, f->labels, f->train, 22, f->val, 8, &o, &b), 0);
	assert_int_equal(b.resumed_epoch, 2);
	assert_int_equal(b.epochs_run, 4);
	assert_int_equal(b.chosen_epoch, 1);
	net_free(n);
	train_result_release(&a);
	train_result_release(&b);
	free(ck);
	free(best);
}

static void resume_should_equal_an_uninterrupted_run(void **state)
{
	struct fixture *f = *state;
	char *ck1 = fs_join(f->dir, "a.ckpt"), *ck2 = fs_join(f->dir, "b.ckpt");
	struct exp_training t;
	struct train_options o = options(3, &t);
	t.imbalance = EXP_IMB_OVERSAMPLE;
	t.augment_flip = t.augment_rot90 = 1;
	t.augment_jitter = 0.05;
	o.checkpoint_key = "k1";
	double pa[8], pb[8];
	float X[8 * 16];
	for (int i = 0; i < 8; i++)
		memcpy(X + i * 16, cache_image(&f->cc, f->val[i]), 16 * sizeof(float));

	struct net *n = dense(f, "0.1");
	o.checkpoint = ck1;
	struct train_result a, b, c;
	assert_int_equal(train_run(n, &f->cc, f->labels, f->train, 22, f->val, 8, &o, &a), 0);
	assert_int_equal(a.resumed_epoch, 0);
	net_predict(n, X, 8, pa);
	net_free(n);

	n = dense(f, "0.1");
	o.checkpoint = ck2;
	o.epochs = 2;
	assert_int_equal(train_run(n, &f->cc, f->labels, f->train, 22, f->val, 8, &o, &b), 0);
	net_free(n);
	n = dense(f, "0.1");
	o.epochs = 3;
	assert_int_equal(train_run(n, &f->cc, f->labels, f->train, 22, f->val, 8, &o, &c), 0);
	assert_int_equal(c.resumed_epoch, 2);
	assert_int_equal(c.epochs_run, 3);
	for (int e = 0; e < 3; e++) {
		assert_true(a.curve[e].train_loss == c.curve[e].train_loss);
		assert_true(a.curve[e].val_loss == c.curve[e].val_loss);
	}
	net_predict(n, X, 8, pb);
	for (int i = 0; i < 8; i++)
		assert_true(pa[i] == pb[i]);
	net_free(n);

	/* A checkpoint with another key is not resumed. */
	n = dense(f, "0.1");
	o.checkpoint_key = "other";
	test_stderr_begin();
	struct train_result d;
	assert_int_equal(train_run(n, &f->cc, f->labels, f->train, 22, f->val, 8, &o, &d), 0);
	char *err = test_stderr_end();
	assert_int_equal(d.resumed_epoch, 0);
	assert_non_null(strstr(err, "b.ckpt"));
	free(err);
	train_result_release(&d);
	net_free(n);

	/* A checkpoint that is empty, cut short, overwritten in the middle, from
	 * an older version, or whose header lacks a key (under a valid checksum)
	 * is discarded with a warning naming it, and the unit restarts: it ends
	 * exactly like the uninterrupted run. */
	char *good;
	size_t glen;
	assert_int_equal(fs_read_file(ck2, &good, &glen), 0);
	char *bad = xmalloc(glen);
	for (int v = 0; v < 5; v++) {
		size_t blen = glen;
		memcpy(bad, good, glen);
		if (v == 0)
			blen = 0;
		else if (v == 1)
			blen = glen / 2;
		else if (v == 2)
			memset(bad + glen / 2, 0x5a, 64);
		else if (v == 3)
			bad[7] = '1';
		else {
			char *key = strstr(bad + 24, "\"epoch\"");
			assert_non_null(key);
			key[3] = 'x';
			char hex[65];
			sha256_hex(bad, glen - 64, hex);
			memcpy(bad + glen - 64, hex, 64);
		}
		test_write_file(ck2, bad, blen);
		n = dense(f, "0.1");
		test_stderr_begin();
		int rc = train_run(n, &f->cc, f->labels, f->train, 22, f->val, 8, &o, &d);
		err = test_stderr_end();
		assert_int_equal(rc, 0);
		assert_int_equal(d.resumed_epoch, 0);
		assert_int_equal(d.epochs_run, 3);
		assert_non_null(strstr(err, "b.ckpt"));
		assert_non_null(strstr(err, "discarding the checkpoint, restarting the unit"));
		for (int e = 0; e < 3; e++)
			assert_true(a.curve[e].train_loss == d.curve[e].train_loss);
		free(err);
		train_result_release(&d);
		net_free(n);
	}
	free(bad);
	free(good);

	train_result_release(&a);
	train_result_release(&b);
	train_result_release(&c);
	free(ck1);
	free(ck2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(transform_should_flip_and_rotate_by_hand),
		cmocka_unit_test(transform_should_jitter_and_clamp),
		cmocka_unit_test(schedule_should_follow_steps_and_poly),
		cmocka_unit_test(val_figures_should_match_hand_values),
		cmocka_unit_test_setup_teardown(train_should_learn_a_separable_set, setup, teardown),
		cmocka_unit_test_setup_teardown(precision_bf16_should_change_the_bits_but_not_the_learning,
						setup, teardown),
		cmocka_unit_test_setup_teardown(oversampling_should_balance_each_epoch, setup, teardown),
		cmocka_unit_test_setup_teardown(oversampling_should_repeat_minority_images_and_draw_the_rest,
						setup, teardown),
		cmocka_unit_test_setup_teardown(weighted_loss_should_use_inverse_class_frequency, setup, teardown),
		cmocka_unit_test_setup_teardown(early_stopping_should_keep_the_best_epoch, setup, teardown),
		cmocka_unit_test_setup_teardown(train_should_report_divergence_with_its_epoch, setup, teardown),
		cmocka_unit_test_setup_teardown(resume_should_keep_the_early_stopping_state, setup,
						teardown),
		cmocka_unit_test_setup_teardown(resume_should_equal_an_uninterrupted_run, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
