/* test_net.c: the Darknet boundary: building, one training step, weighting,
 * prediction, weights files and their size check, training state. */
#include "net.h"

#include "accel.h"

#include "error.h"
#include "fsutil.h"
#include "helpers.h"

#include <math.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

/* 4x4x1 input, one hidden dense layer of 3, 2 outputs, softmax; no batch
 * norm or dropout, so two builds with one seed are identical (connected
 * layers draw their weights with rand() only). */
static const char DENSE_CFG[] = "[net]\n"
				"batch=4\n"
				"subdivisions=1\n"
				"width=4\n"
				"height=4\n"
				"channels=1\n"
				"learning_rate=%s\n"
				"momentum=%s\n"
				"decay=0\n"
				"\n"
				"[connected]\n"
				"output=3\n"
				"activation=leaky\n"
				"\n"
				"[connected]\n"
				"output=2\n"
				"activation=linear\n"
				"\n"
				"[softmax]\n"
				"groups=1\n";

/* 8x8x3 input: a batch-normalised 3x3 conv of 4 filters, 2x2 max pool, a
 * dense layer to 2 outputs. */
static const char CONV_CFG[] = "[net]\n"
			       "batch=4\n"
			       "subdivisions=1\n"
			       "width=8\n"
			       "height=8\n"
			       "channels=3\n"
			       "learning_rate=0.1\n"
			       "momentum=0.9\n"
			       "decay=0.0005\n"
			       "\n"
			       "[convolutional]\n"
			       "batch_normalize=1\n"
			       "filters=4\n"
			       "size=3\n"
			       "stride=1\n"
			       "pad=1\n"
			       "activation=relu\n"
			       "\n"
			       "[maxpool]\n"
			       "size=2\n"
			       "stride=2\n"
			       "\n"
			       "[connected]\n"
			       "output=2\n"
			       "activation=linear\n"
			       "\n"
			       "[softmax]\n"
			       "groups=1\n";

struct fixture {
	char *dir;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	f->dir = test_tmpdir();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	test_rm_rf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static char *write_cfg(const char *dir, const char *name, const char *text)
{
	char *path = fs_join(dir, name);
	test_write_file(path, text, strlen(text));
	return path;
}

static char *dense_cfg(const char *dir, const char *name, const char *lr, const char *momentum)
{
	char *text = xasprintf(DENSE_CFG, lr, momentum);
	char *path = write_cfg(dir, name, text);
	free(text);
	return path;
}

static struct net *build(const char *cfg, unsigned seed, const char *log)
{
	struct net *n = NULL;
	assert_int_equal(net_build(cfg, seed, log, &n), 0);
	assert_non_null(n);
	return n;
}

/* A batch of 4 images 4x4x1: one dark (normal), three bright (anomalous). */
static void dense_batch(float X[4 * 16], float Y[4 * 2])
{
	for (int b = 0; b < 4; b++) {
		int y = b >= 1;
		for (int i = 0; i < 16; i++)
			X[b * 16 + i] = (float)((y ? 0.7 : 0.2) + 0.01 * ((i + b) % 5));
		Y[b * 2 + 0] = (float)(1 - y);
		Y[b * 2 + 1] = (float)y;
	}
}

static long file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (long)st.st_size;
}

static void net_should_send_darknet_output_to_the_log(void **state)
{
	struct fixture *f = *state;
	char *cfg = write_cfg(f->dir, "conv.cfg", CONV_CFG);
	char *log = fs_join(f->dir, "darknet.log");
	test_stderr_begin();
	struct net *n = build(cfg, 1, log);
	char *err = test_stderr_end();
	assert_string_equal(err, "");
	char *text;
	assert_int_equal(fs_read_file(log, &text, NULL), 0);
	/* Darknet prints its layer table while parsing. */
	assert_non_null(strstr(text, "conv"));
	assert_non_null(strstr(text, "connected"));
	assert_int_equal(net_batch(n), 4);
	assert_int_equal(net_inputs(n), 8 * 8 * 3);
	free(text);
	free(err);
	net_free(n);
	free(cfg);
	free(log);
}

static void net_should_reject_a_network_without_two_outputs(void **state)
{
	struct fixture *f = *state;
	char *text = xasprintf(DENSE_CFG, "0.1", "0");
	char *p = strstr(text, "output=2");
	p[7] = '3';
	char *cfg = write_cfg(f->dir, "three.cfg", text);
	struct net *n = NULL;
	test_stderr_begin();
	int rc = net_build(cfg, 1, NULL, &n);
	char *err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_null(n);
	assert_non_null(strstr(err, "outputs 3 values"));
	assert_non_null(strstr(err, "three.cfg:"));
	free(err);
	free(cfg);
	free(text);
}

/* The conv cfg by hand: conv 3*3*3*4 = 108 weights + 4 biases + 3*4 batch
 * norm values (scales, rolling mean, rolling variance) = 124 floats; dense
 * 4*4*4 = 64 inputs * 2 + 2 biases = 130 floats; header 3*4 + 8 bytes. */
static void net_weights_bytes_should_match_the_layer_shapes(void **state)
{
	struct fixture *f = *state;
	char *cfg = write_cfg(f->dir, "conv.cfg", CONV_CFG);
	struct net *n = build(cfg, 1, NULL);
	assert_int_equal(net_weights_bytes(n, -1), 20 + 4 * (124 + 130));
	assert_int_equal(net_weights_bytes(n, 1), 20 + 4 * 124);
	assert_int_equal(net_weights_bytes(n, 0), 20);
	char *w = fs_join(f->dir, "conv.weights");
	assert_int_equal(net_save_weights(n, w), 0);
	assert_int_equal(file_size(w), 20 + 4 * (124 + 130));
	net_free(n);
	free(w);
	free(cfg);
}

static void net_should_reject_weights_of_the_wrong_size(void **state)
{
	struct fixture *f = *state;
	char *cfg = write_cfg(f->dir, "conv.cfg", CONV_CFG);
	struct net *n = build(cfg, 1, NULL);
	char *w = fs_join(f->dir, "conv.weights");
	assert_int_equal(net_save_weights(n, w), 0);
	char *data;
	size_t len;
	assert_int_equal(fs_read_file(w, &data, &len), 0);
	assert_int_equal(len, 1036);

	/* 8 bytes short of the full network: rejected with both sizes. */
	char *shorter = fs_join(f->dir, "short.weights");
	test_write_file(shorter, data, len - 8);
	test_stderr_begin();
	int rc = net_load_weights(n, shorter, -1);
	char *err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "expected 1036 bytes, got 1028"));
	assert_non_null(strstr(err, "short.weights"));
	free(err);

	/* Longer than the network: also rejected when loading all layers. */
	char *longer = fs_join(f->dir, "long.weights");
	char *big = xcalloc(len + 4, 1);
	memcpy(big, data, len);
	test_write_file(longer, big, len + 4);
	test_stderr_begin();
	rc = net_load_weights(n, longer, -1);
	err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "expected 1036 bytes, got 1040"));
	free(err);

	/* For the first layer only, a longer file is fine (a pretrained net
	 * with another head); a file too short for that prefix is not. */
	assert_int_equal(net_load_weights(n, longer, 1), 0);
	char *tiny = fs_join(f->dir, "tiny.weights");
	test_write_file(tiny, data, 100);
	test_stderr_begin();
	rc = net_load_weights(n, tiny, 1);
	err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "expected at least 516 bytes, got 100"));
	free(err);

	/* A missing file is an error, not Darknet's exit. */
	test_stderr_begin();
	rc = net_load_weights(n, "/nonexistent/x.weights", -1);
	err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "/nonexistent/x.weights"));
	free(err);

	free(big);
	free(data);
	free(tiny);
	free(longer);
	free(shorter);
	free(w);
	net_free(n);
	free(cfg);
}

/* A header whose major version is INT32_MAX is read without overflow (as
 * Darknet's pre-0.2 layout, 4 bytes shorter); a NaN or an Inf among the
 * weights is refused naming the file and the layer. */
static void net_should_reject_hostile_and_non_finite_weights(void **state)
{
	struct fixture *f = *state;
	char *cfg = write_cfg(f->dir, "conv.cfg", CONV_CFG);
	struct net *n = build(cfg, 1, NULL);
	char *w = fs_join(f->dir, "conv.weights");
	assert_int_equal(net_save_weights(n, w), 0);
	char *data;
	size_t len;
	assert_int_equal(fs_read_file(w, &data, &len), 0);
	assert_int_equal(len, 1036);

	int32_t major = INT32_MAX;
	memcpy(data, &major, 4);
	test_write_file(w, data, len);
	test_stderr_begin();
	int rc = net_load_weights(n, w, -1);
	char *err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "expected 1032 bytes, got 1036"));
	free(err);

	memset(data, 0, 4);
	const float bad[2] = { NAN, INFINITY };
	for (int i = 0; i < 2; i++) {
		memcpy(data + len - 4, &bad[i], 4); /* a weight of [connected], layer 2 */
		test_write_file(w, data, len);
		test_stderr_begin();
		rc = net_load_weights(n, w, -1);
		err = test_stderr_end();
		assert_int_equal(rc, -1);
		assert_non_null(strstr(err, "conv.weights': layer 2 holds NaN or Inf"));
		free(err);
	}
	free(data);
	free(w);
	net_free(n);
	free(cfg);
}

static void net_should_round_trip_weights_through_a_file(void **state)
{
	struct fixture *f = *state;
	char *cfg = write_cfg(f->dir, "conv.cfg", CONV_CFG);
	struct net *a = build(cfg, 1, NULL);
	float X[4 * 192];
	for (int i = 0; i < 4 * 192; i++)
		X[i] = (float)((i * 37 % 101) / 100.0);
	float Y[8] = { 1, 0, 0, 1, 1, 0, 0, 1 };
	double loss;
	for (int s = 0; s < 3; s++)
		net_train_batch(a, X, Y, NULL, &loss);
	double pa[4], pb[4];
	net_predict(a, X, 4, pa);
	char *w = fs_join(f->dir, "trained.weights");
	assert_int_equal(net_save_weights(a, w), 0);
	struct net *b = build(cfg, 99, NULL);
	assert_int_equal(net_load_weights(b, w, -1), 0);
	net_predict(b, X, 4, pb);
	for (int i = 0; i < 4; i++)
		assert_true(pa[i] == pb[i]);
	net_free(a);
	net_free(b);
	free(w);
	free(cfg);
}

/* Before a step, the loss Darknet reports must be the cross-entropy of the
 * probabilities the network predicts for the same images. */
static void net_train_batch_should_report_the_cross_entropy(void **state)
{
	struct fixture *f = *state;
	char *cfg = dense_cfg(f->dir, "dense.cfg", "0.1", "0");
	struct net *n = build(cfg, 7, NULL);
	float X[64], Y[8];
	dense_batch(X, Y);
	double p[4];
	net_predict(n, X, 4, p);
	double expect = 0;
	for (int b = 0; b < 4; b++)
		expect += -log(Y[b * 2 + 1] > 0.5f ? p[b] : 1 - p[b]);
	double loss;
	net_train_batch(n, X, Y, NULL, &loss);
	assert_true(fabs(loss - expect) < 1e-5 * expect);

	/* Weights scale each sample's loss. */
	float w[4] = { 2, 0, 1, 0.5f };
	net_predict(n, X, 4, p);
	expect = 0;
	for (int b = 0; b < 4; b++)
		expect += w[b] * -log(Y[b * 2 + 1] > 0.5f ? p[b] : 1 - p[b]);
	net_train_batch(n, X, Y, w, &loss);
	assert_true(fabs(loss - expect) < 1e-5 * expect);
	net_free(n);
	free(cfg);
}

/* With momentum and decay 0, one step with every sample weighted 2 equals a
 * step at twice the learning rate: the weight scales the gradient. */
static void net_sample_weights_should_scale_the_gradient(void **state)
{
	struct fixture *f = *state;
	char *c1 = dense_cfg(f->dir, "a.cfg", "0.5", "0");
	char *c2 = dense_cfg(f->dir, "b.cfg", "1", "0");
	struct net *a = build(c1, 5, NULL);
	struct net *b = build(c2, 5, NULL);
	float X[64], Y[8], w[4] = { 2, 2, 2, 2 };
	dense_batch(X, Y);
	double pa[4], pb[4], before[4], la, lb;
	net_predict(a, X, 4, before);
	net_predict(b, X, 4, pb);
	for (int i = 0; i < 4; i++)
		assert_true(before[i] == pb[i]); /* same seed, same start */
	net_train_batch(a, X, Y, w, &la);
	net_train_batch(b, X, Y, NULL, &lb);
	assert_true(fabs(la - 2 * lb) < 1e-6);
	net_predict(a, X, 4, pa);
	net_predict(b, X, 4, pb);
	int moved = 0;
	for (int i = 0; i < 4; i++) {
		assert_true(fabs(pa[i] - pb[i]) < 1e-6);
		if (fabs(pa[i] - before[i]) > 1e-3)
			moved = 1;
	}
	assert_true(moved);
	net_free(a);
	net_free(b);
	free(c1);
	free(c2);
}

/* Three more training steps on a and on b (4 images of X) give the same
 * losses, and then the same predictions, bit for bit. */
static void assert_same_steps(struct net *a, struct net *b, const float *X, const float *Y)
{
	double la, lb, pa[4], pb[4];
	for (int s = 0; s < 3; s++) {
		net_train_batch(a, X, Y, NULL, &la);
		net_train_batch(b, X, Y, NULL, &lb);
		assert_true(la == lb);
	}
	net_predict(a, X, 4, pa);
	net_predict(b, X, 4, pb);
	for (int i = 0; i < 4; i++)
		assert_true(pa[i] == pb[i]);
}

static float *read_floats(const char *path, size_t count)
{
	long size = file_size(path);
	assert_true(size >= (long)(count * sizeof(float)));
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	float *v = xcalloc(count, sizeof(float));
	assert_int_equal(fseek(f, size - (long)(count * sizeof(float)), SEEK_SET), 0);
	assert_int_equal(fread(v, sizeof(float), count, f), count);
	fclose(f);
	return v;
}

/* weights_upto: only the first layers take the file's values, the others
 * keep their own. The dense net's weights file ends with layer 0 (3 biases,
 * 3 x 16 weights: 51 floats) and layer 1 (2 biases, 2 x 3 weights: 8). */
static void net_load_weights_should_load_only_the_first_layers(void **state)
{
	struct fixture *f = *state;
	char *cfg = dense_cfg(f->dir, "upto.cfg", "0.1", "0.9");
	struct net *a = build(cfg, 1, NULL), *b = build(cfg, 2, NULL);
	char *wa = fs_join(f->dir, "a.weights"), *wb = fs_join(f->dir, "b.weights");
	char *wm = fs_join(f->dir, "mixed.weights");
	assert_int_equal(net_save_weights(a, wa), 0);
	assert_int_equal(net_save_weights(b, wb), 0);
	assert_int_equal(net_load_weights(b, wa, 1), 0);
	assert_int_equal(net_save_weights(b, wm), 0);
	float *va = read_floats(wa, 59), *vb = read_floats(wb, 59), *vm = read_floats(wm, 59);
	int differ0 = 0, differ1 = 0;
	for (int i = 0; i < 59; i++) {
		if (i < 51) {
			differ0 |= va[i] != vb[i];
			assert_true(vm[i] == va[i]);
		} else {
			differ1 |= va[i] != vb[i];
			assert_true(vm[i] == vb[i]);
		}
	}
	assert_true(differ0 && differ1); /* the two seeds give other weights */
	free(va);
	free(vb);
	free(vm);
	free(wa);
	free(wb);
	free(wm);
	net_free(a);
	net_free(b);
	free(cfg);
}

/* Darknet's CPU code ignores adam=1; darkfold's own Adam step must apply.
 * Adam's first step moves every parameter whose gradient is not tiny by
 * the learning rate exactly (m/sqrt(v) = g/|g| after bias correction),
 * which plain SGD with momentum would not. Later steps, with the Adam
 * state carried through a saved training state, must match bit for bit. */
static void net_adam_should_move_each_parameter_by_the_rate(void **state)
{
	struct fixture *f = *state;
	char *text = xasprintf(DENSE_CFG, "0.01", "0.9");
	char *at = strstr(text, "decay=0\n");
	assert_non_null(at);
	char *adam_text = xasprintf("%.*sdecay=0\nadam=1\n%s", (int)(at - text), text,
				    at + strlen("decay=0\n"));
	char *cfg = write_cfg(f->dir, "adam.cfg", adam_text);
	struct net *n = build(cfg, 5, NULL);
	struct net_info info;
	net_info(n, &info);
	assert_int_equal(info.adam, 1);
	enum { PARAMS = 3 + 16 * 3 + 2 + 3 * 2 };
	char *w0 = fs_join(f->dir, "before.weights"), *w1 = fs_join(f->dir, "after.weights");
	assert_int_equal(net_save_weights(n, w0), 0);
	float X[64], Y[8];
	dense_batch(X, Y);
	double loss;
	net_train_batch(n, X, Y, NULL, &loss);
	assert_int_equal(net_save_weights(n, w1), 0);
	float *a = read_floats(w0, PARAMS), *b = read_floats(w1, PARAMS);
	int exact = 0;
	for (int i = 0; i < PARAMS; i++) {
		double d = fabs((double)b[i] - a[i]);
		assert_true(d <= 0.01 * (1 + 1e-5));
		exact += fabs(d - 0.01) < 1e-5;
	}
	assert_true(exact >= PARAMS - 2); /* a dead unit may leave a few at 0 */

	char *buf;
	size_t len;
	net_state_save(n, &buf, &len);
	struct net *m = build(cfg, 11, NULL);
	assert_int_equal(net_state_load(m, buf, len, "mem"), 0);
	assert_same_steps(n, m, X, Y);
	free(buf);
	free(a);
	free(b);
	free(w0);
	free(w1);
	net_free(n);
	net_free(m);
	free(cfg);
	free(adam_text);
	free(text);
}

/* Saving the training state and loading it into a fresh network must carry
 * the momentum too: the next steps are then bit-identical. */
static void net_state_should_resume_training_exactly(void **state)
{
	struct fixture *f = *state;
	char *cfg = dense_cfg(f->dir, "m.cfg", "0.05", "0.9");
	struct net *a = build(cfg, 3, NULL);
	float X[64], Y[8];
	dense_batch(X, Y);
	double loss;
	for (int s = 0; s < 3; s++)
		net_train_batch(a, X, Y, NULL, &loss);
	char *buf;
	size_t len;
	net_state_save(a, &buf, &len);
	struct net *b = build(cfg, 11, NULL);
	assert_int_equal(net_state_load(b, buf, len, "mem"), 0);
	assert_same_steps(a, b, X, Y);
	assert_true(net_rate(a) == net_rate(b));

	/* A state of another shape is refused, naming it. */
	char *conv = write_cfg(f->dir, "conv.cfg", CONV_CFG);
	struct net *c = build(conv, 1, NULL);
	test_stderr_begin();
	int rc = net_state_load(c, buf, len, "other-state");
	char *err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "other-state"));
	free(err);
	test_stderr_begin();
	rc = net_state_load(b, buf, len - 4, "cut-state");
	err = test_stderr_end();
	assert_int_equal(rc, -1);
	free(err);
	free(buf);
	net_free(a);
	net_free(b);
	net_free(c);
	free(conv);
	free(cfg);
}

static void net_predict_should_not_depend_on_the_other_images(void **state)
{
	struct fixture *f = *state;
	char *cfg = write_cfg(f->dir, "conv.cfg", CONV_CFG);
	struct net *n = build(cfg, 2, NULL);
	float X[6 * 192];
	for (int i = 0; i < 6 * 192; i++)
		X[i] = (float)((i * 13 % 97) / 96.0);
	float Y[8] = { 1, 0, 0, 1, 1, 0, 0, 1 };
	double all[6], one, loss;
	for (int s = 0; s < 3; s++) /* batch-norm running statistics settle */
		net_train_batch(n, X, Y, NULL, &loss);
	net_predict(n, X, 6, all); /* a full batch of 4 and a padded one of 2 */
	for (int i = 0; i < 6; i++) {
		net_predict(n, X + i * 192, 1, &one);
		assert_true(one == all[i]);
		assert_true(one > 0 && one < 1);
	}
	net_free(n);
	free(cfg);
}

/* Weights trained from seed for steps steps on X, Y, saved to dir/name. */
static char *trained_weights(const char *cfg, unsigned seed, int steps, const float *X,
			     const float *Y, const char *dir, const char *name)
{
	struct net *n = build(cfg, seed, NULL);
	double loss;
	for (int s = 0; s < steps; s++)
		net_train_batch(n, X, Y, NULL, &loss);
	char *w = fs_join(dir, name);
	assert_int_equal(net_save_weights(n, w), 0);
	net_free(n);
	return w;
}

/* What an unfrozen network with the weights w predicts for X (4 images). */
static void reference_predict(const char *cfg, const char *w, const float *X, double p[4])
{
	struct net *r = build(cfg, 7, NULL);
	assert_int_equal(net_load_weights(r, w, -1), 0);
	net_predict(r, X, 4, p);
	net_free(r);
}

static void assert_same_scores(const double *a, const double *b, int n, int same)
{
	for (int i = 0; i < n; i++)
		if (same)
			assert_true(a[i] == b[i]);
	if (!same)
		assert_false(a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3]);
}

/* A frozen network's packed weights are dropped whenever its weights
 * change or it is freed: loading other weights, a training step, a state
 * restore and a new network in the freed one's memory all predict what an
 * unfrozen network with the same weights predicts. */
static void net_freeze_should_end_when_the_weights_change(void **state)
{
	struct fixture *f = *state;
	char *cfg = write_cfg(f->dir, "conv.cfg", CONV_CFG);
	float X[4 * 192], Y[8] = { 1, 0, 0, 1, 1, 0, 0, 1 };
	for (int i = 0; i < 4 * 192; i++)
		X[i] = (float)((i * 37 % 101) / 100.0);
	char *wa = trained_weights(cfg, 1, 3, X, Y, f->dir, "a.weights");
	char *wb = trained_weights(cfg, 2, 5, X, Y, f->dir, "b.weights");
	double pa[4], pb[4], p[4], q[4], loss;
	reference_predict(cfg, wa, X, pa);
	reference_predict(cfg, wb, X, pb);
	assert_same_scores(pa, pb, 4, 0);

	struct net *n = build(cfg, 3, NULL);
	assert_int_equal(net_load_weights(n, wa, -1), 0);
	net_freeze(n);
	net_predict(n, X, 4, p);
	assert_same_scores(p, pa, 4, 1);
	assert_int_equal(net_load_weights(n, wb, -1), 0); /* other weights */
	net_predict(n, X, 4, p);
	assert_same_scores(p, pb, 4, 1);

	char *buf; /* a training step, against an unfrozen network's */
	size_t len;
	net_state_save(n, &buf, &len);
	net_freeze(n);
	net_predict(n, X, 4, p);
	net_train_batch(n, X, Y, NULL, &loss);
	net_predict(n, X, 4, q);
	struct net *r = build(cfg, 3, NULL);
	assert_int_equal(net_load_weights(r, wb, -1), 0);
	net_train_batch(r, X, Y, NULL, &loss);
	net_predict(r, X, 4, p);
	net_free(r);
	assert_same_scores(q, p, 4, 1);
	net_freeze(n); /* then a state restore */
	net_predict(n, X, 4, q);
	assert_int_equal(net_state_load(n, buf, len, "mem"), 0);
	net_predict(n, X, 4, q);
	assert_same_scores(q, pb, 4, 1);
	net_freeze(n);
	net_predict(n, X, 4, q);
	assert_true(accel_frozen_regions() > 0);
	net_free(n);
	assert_true(accel_frozen_regions() == 0);

	struct net *m = build(cfg, 3, NULL); /* likely in n's memory */
	assert_int_equal(net_load_weights(m, wa, -1), 0);
	net_predict(m, X, 4, p);
	assert_same_scores(p, pa, 4, 1);
	net_free(m);
	free(buf), free(wa), free(wb), free(cfg);
}

static double cross_entropy(const double *p, const float *Y, int count)
{
	double sum = 0;
	for (int b = 0; b < count; b++)
		sum += -log(Y[b * 2 + 1] > 0.5f ? p[b] : 1.0 - p[b]);
	return sum;
}

/* After recalibration, inference (running statistics) on a batch gives the
 * same loss as the training-mode forward pass (batch statistics) on it. */
static void net_recalibrate_should_make_inference_agree_with_training_mode(void **state)
{
	struct fixture *f = *state;
	char *cfg = write_cfg(f->dir, "conv.cfg", CONV_CFG);
	struct net *n = build(cfg, 3, NULL);
	float X[4 * 192];
	for (int i = 0; i < 4 * 192; i++)
		X[i] = (float)(0.3 + 0.5 * ((i * 7 % 31) / 30.0));
	float Y[8] = { 1, 0, 0, 1, 1, 0, 0, 1 };
	double loss, p[4];
	for (int s = 0; s < 2; s++)
		net_train_batch(n, X, Y, NULL, &loss);
	net_set_rate(n, 0.0); /* from here on a step changes no weight */

	/* Darknet's own running statistics after 2 batches: far off. */
	net_predict(n, X, 4, p);
	double before = cross_entropy(p, Y, 4);
	assert_int_equal(net_recalibrate(n, X, 3), 0); /* fewer than one batch */
	assert_int_equal(net_recalibrate(n, X, 4), 1);
	net_predict(n, X, 4, p);
	double after = cross_entropy(p, Y, 4);
	net_train_batch(n, X, Y, NULL, &loss); /* training mode, batch statistics */
	assert_true(fabs(after - loss) <= 1e-4 * fabs(loss) + 1e-6);
	assert_true(fabs(before - loss) > 1e-3 * fabs(loss));
	net_free(n);
	free(cfg);
}

/* Recalibrating over batches that differ (here: one class per batch) must
 * give the statistics of all the images together, not the average of the
 * batch statistics, which misses the difference between the batches. Then
 * inference on a batch that mixes the two agrees with training mode on it
 * (up to the variance divisors, N - 1 of 4 or of 8 images). */
static void net_recalibrate_should_pool_batches_that_differ(void **state)
{
	struct fixture *f = *state;
	char *cfg = write_cfg(f->dir, "conv.cfg", CONV_CFG);
	struct net *n = build(cfg, 3, NULL);
	float A[192], Bimg[192], X[8 * 192], M[4 * 192];
	for (int i = 0; i < 192; i++) {
		A[i] = (float)(0.1 + 0.2 * ((i * 7 % 31) / 30.0));
		Bimg[i] = (float)(0.7 + 0.2 * ((i * 11 % 29) / 28.0));
	}
	for (int k = 0; k < 8; k++) /* batch 1: A A A A, batch 2: B B B B */
		memcpy(X + k * 192, k < 4 ? A : Bimg, sizeof A);
	for (int k = 0; k < 4; k++) /* mixed: A B A B */
		memcpy(M + k * 192, k % 2 ? Bimg : A, sizeof A);
	float Y[8] = { 1, 0, 0, 1, 1, 0, 0, 1 };
	double loss, p[4];
	net_train_batch(n, M, Y, NULL, &loss);
	net_set_rate(n, 0.0);
	assert_int_equal(net_recalibrate(n, X, 8), 2);
	net_predict(n, M, 4, p);
	double inference = cross_entropy(p, Y, 4);
	net_train_batch(n, M, Y, NULL, &loss);
	assert_true(fabs(inference - loss) <= 0.005 * fabs(loss)); /* averaging: 1.02 vs 1.45 */
	net_free(n);
	free(cfg);
}

static void net_should_report_divergence_as_a_non_finite_loss(void **state)
{
	struct fixture *f = *state;
	char *cfg = dense_cfg(f->dir, "huge.cfg", "1e6", "0.9");
	struct net *n = build(cfg, 1, NULL);
	float X[64], Y[8];
	dense_batch(X, Y);
	double loss = 0;
	int finite = 1;
	for (int s = 0; s < 20 && finite; s++) {
		net_train_batch(n, X, Y, NULL, &loss);
		finite = isfinite(loss);
	}
	assert_false(finite);
	net_free(n);
	free(cfg);
}

static void net_set_rate_should_override_the_cfg_policy(void **state)
{
	struct fixture *f = *state;
	char *cfg = dense_cfg(f->dir, "r.cfg", "0.1", "0.9");
	struct net *n = build(cfg, 1, NULL);
	struct net_info info;
	net_info(n, &info);
	assert_true(fabs(info.learning_rate - 0.1) < 1e-7);
	assert_true(fabs(info.momentum - 0.9) < 1e-7);
	assert_string_equal(info.policy, "constant");
	assert_int_equal(info.batch, 4);
	assert_true(fabs(net_rate(n) - 0.1) < 1e-7);
	net_set_rate(n, 0.025);
	assert_true(fabs(net_rate(n) - 0.025) < 1e-9);
	net_free(n);
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(net_should_send_darknet_output_to_the_log, setup, teardown),
		cmocka_unit_test_setup_teardown(net_should_reject_a_network_without_two_outputs, setup, teardown),
		cmocka_unit_test_setup_teardown(net_weights_bytes_should_match_the_layer_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(net_should_reject_weights_of_the_wrong_size, setup, teardown),
		cmocka_unit_test_setup_teardown(net_load_weights_should_load_only_the_first_layers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(net_should_round_trip_weights_through_a_file, setup, teardown),
		cmocka_unit_test_setup_teardown(net_should_reject_hostile_and_non_finite_weights, setup,
						teardown),
		cmocka_unit_test_setup_teardown(net_train_batch_should_report_the_cross_entropy, setup, teardown),
		cmocka_unit_test_setup_teardown(net_sample_weights_should_scale_the_gradient, setup, teardown),
		cmocka_unit_test_setup_teardown(net_adam_should_move_each_parameter_by_the_rate, setup,
						teardown),
		cmocka_unit_test_setup_teardown(net_state_should_resume_training_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(net_predict_should_not_depend_on_the_other_images, setup, teardown),
		cmocka_unit_test_setup_teardown(net_freeze_should_end_when_the_weights_change, setup,
						teardown),
		cmocka_unit_test_setup_teardown(net_recalibrate_should_make_inference_agree_with_training_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(net_recalibrate_should_pool_batches_that_differ, setup,
						teardown),
		cmocka_unit_test_setup_teardown(net_should_report_divergence_as_a_non_finite_loss, setup, teardown),
		cmocka_unit_test_setup_teardown(net_set_rate_should_override_the_cfg_policy, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
