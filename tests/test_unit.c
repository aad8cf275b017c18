/* test_unit.c: unit paths and when a unit's result counts as up to date
 * (one unit trained in this process). */
#include "unit.h"

#include "cache.h"
#include "dataset.h"
#include "error.h"
#include "folds.h"
#include "fsutil.h"
#include "helpers.h"
#include "json.h"
#include "net.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>

struct fixture {
	char *dir;
	struct experiment e;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	*state = f;
	char *dir = f->dir = test_tmpdir();
	const char *d = getenv("DARKFOLD");
	assert_non_null(d);
	char *out, *cmd = xasprintf("'%s' synth --seed 4 --size 32 --out '%s/synth'", d, dir);
	int rc = test_run(cmd, &out);
	if (rc != 0)
		fprintf(stderr, "%s\n", out);
	assert_int_equal(rc, 0);
	free(out);
	free(cmd);
	char *json = xasprintf(
		"{ \"name\": \"cur\", \"results_dir\": \"%s/results\",\n"
		"  \"dataset\": { \"root\": \"%s/synth\", \"normal\": [\"test/good\"],\n"
		"    \"anomalous\": [\"test/combined\"], \"width\": 16, \"height\": 16,\n"
		"    \"synthetic\": false },\n"
		"  \"models\": { \"dense\": \"%s/cfg/dense.cfg\", \"cnn\": \"%s/cfg/cnn.cfg\" },\n"
		"  \"cv\": { \"k\": 2, \"seed\": 9 },\n"
		"  \"training\": { \"epochs\": 1, \"batch\": 8 } }\n",
		dir, dir, DARKFOLD_SOURCE_DIR, DARKFOLD_SOURCE_DIR);
	char *path = fs_join(dir, "cur.json");
	test_write_file(path, json, strlen(json));
	assert_int_equal(experiment_load(path, &f->e), 0);
	free(path);
	free(json);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	experiment_release(&f->e);
	test_rm_rf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void unit_paths_should_follow_the_results_layout(void **state)
{
	struct fixture *f = *state;
	struct experiment *e = &f->e;
	char *p = unit_result_path(e, "cnn", 1, 3);
	char *want = xasprintf("%s/results/cur/cnn/r1-f3.json", f->dir);
	assert_string_equal(p, want);
	free(p);
	free(want);
	p = unit_work_dir(e, "cnn", 1, 3);
	want = xasprintf("%s/results/cur/cnn/r1-f3", f->dir);
	assert_string_equal(p, want);
	free(p);
	free(want);
}

static void unit_run_should_refuse_unknown_units(void **state)
{
	struct fixture *f = *state;
	struct experiment *e = &f->e;
	test_stderr_begin();
	int rc = unit_run(e, "nosuch", 0, 0);
	char *err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "nosuch"));
	free(err);
	test_stderr_begin();
	rc = unit_run(e, "dense", 0, 2);
	err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "r0-f2"));
	free(err);
	assert_int_equal(unit_is_current(e, "dense", 0, 1), 0);
}

static void swap_str(char **slot, const char *v, char **old)
{
	*old = *slot;
	*slot = xstrdup(v);
}

/* Run the shell command cmd (freed) and require exit status 0. */
static void shell_ok(char *cmd)
{
	char *out;
	assert_int_equal(test_run(cmd, &out), 0);
	free(out);
	free(cmd);
}

/* The data counts by what it is, not when it was written: touching every
 * image keeps the unit current (the cache is rebuilt with the same
 * pixels); another image in a used folder does not. */
static void data_should_count_by_content(struct fixture *f)
{
	struct experiment *e = &f->e;
	char *synth = xasprintf("%s/synth/cable/test/good", f->dir);
	shell_ok(xasprintf("touch -d '2001-01-01' '%s'/*.png", synth));
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);
	shell_ok(xasprintf("cp '%s/000.png' '%s/999.png'", synth, synth));
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	shell_ok(xasprintf("rm '%s/999.png'", synth));
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);
	free(synth);
}

/* Pretrained weights count by their bytes too: touched, or rewritten as a
 * new file with the same bytes, they keep the unit current; one changed
 * byte does not. */
static void weights_should_count_by_content(struct fixture *f)
{
	struct experiment *e = &f->e;
	char *work = unit_work_dir(e, "dense", 0, 0), *w = xasprintf("%s/pre.weights", f->dir);
	shell_ok(xasprintf("cp '%s/final.weights' '%s'", work, w));
	char *old = e->models[0].weights;
	assert_string_equal(e->models[0].name, "dense");
	e->models[0].weights = w;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	assert_int_equal(unit_run(e, "dense", 0, 0), 0);
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);
	shell_ok(xasprintf("touch -d '2001-01-01' '%s'", w));
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);
	shell_ok(xasprintf("cp '%s' '%s.new' && mv '%s.new' '%s'", w, w, w, w));
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);
	shell_ok(xasprintf("printf 'x' | dd of='%s' bs=1 seek=100 conv=notrunc 2>/dev/null", w));
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	e->models[0].weights = old;
	assert_int_equal(unit_run(e, "dense", 0, 0), 0);
	free(w), free(work);
}

static void unit_should_be_current_only_for_the_same_inputs(void **state)
{
	struct fixture *f = *state;
	struct experiment *e = &f->e;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0); /* no file yet */
	assert_int_equal(unit_run(e, "dense", 0, 0), 0);
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);

	/* Another model's entry and report-only settings do not matter. */
	char *old;
	swap_str(&e->models[1].cfg, DARKFOLD_SOURCE_DIR "/cfg/vgg16.cfg", &old);
	e->metrics.alpha = 0.01;
	e->metrics.bootstrap = 10;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);
	free(e->models[1].cfg);
	e->models[1].cfg = old;

	/* Training settings, the effective cfg and the input size do. */
	e->training.epochs = 2;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	e->training.epochs = 1;
	e->training.learning_rate = 0.05; /* changes the effective cfg */
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	e->training.learning_rate = 0;
	e->metrics.threshold = 0.4;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	e->metrics.threshold = 0.5;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);

	/* What the threshold and metrics are chosen for: policy, beta and the
	 * positive class (each set to another value, then back). */
	enum exp_threshold policy = e->metrics.threshold_policy;
	e->metrics.threshold_policy = policy == EXP_THR_TUNED ? EXP_THR_FIXED : EXP_THR_TUNED;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	e->metrics.threshold_policy = policy;
	double beta = e->metrics.beta;
	e->metrics.beta = beta * 2;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	e->metrics.beta = beta;
	enum exp_positive positive = e->metrics.positive;
	e->metrics.positive = positive == EXP_POS_NORMAL ? EXP_POS_ANOMALOUS : EXP_POS_NORMAL;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	e->metrics.positive = positive;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);
	assert_int_equal(unit_is_current(e, "dense", 0, 1), 0); /* another fold */

	/* The threshold policy does, and only its own parameter: the other
	 * policies' parameters, the primary metric and the costs do not. */
	assert_int_equal(e->metrics.threshold_policy, EXP_THR_TUNED);
	e->metrics.quantile = 0.5;
	e->metrics.recall_target = 0.5;
	e->metrics.cost_fp = 9;
	e->metrics.cost_fn = 3;
	swap_str(&e->metrics.primary, "f2", &old);
	free(old);
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);
	e->metrics.threshold_policy = EXP_THR_RECALL_TARGET;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	e->metrics.threshold_policy = EXP_THR_NORMAL_QUANTILE;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	assert_int_equal(unit_run(e, "dense", 0, 0), 0);
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);
	char *rp = unit_result_path(e, "dense", 0, 0), *rt;
	assert_int_equal(fs_read_file(rp, &rt, NULL), 0);
	assert_non_null(strstr(rt, "\"policy\": \"normal_quantile\""));
	assert_non_null(strstr(rt, "\"quantile\": 0.5"));
	free(rt);
	free(rp);
	e->metrics.recall_target = 0.9;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);
	e->metrics.quantile = 0.9;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	e->metrics.quantile = 0.5;

	data_should_count_by_content(f);
	weights_should_count_by_content(f);

	/* A failed result is never current. */
	char *path = unit_result_path(e, "dense", 0, 0), *text;
	assert_int_equal(fs_read_file(path, &text, NULL), 0);
	char *s = strstr(text, "\"status\": \"ok\"");
	assert_non_null(s);
	char *edited = xasprintf("%.*s\"status\": \"failed\"%s", (int)(s - text), text,
				 s + strlen("\"status\": \"ok\""));
	assert_int_equal(fs_write_atomic(path, edited, strlen(edited)), 0);
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	free(edited);
	free(text);
	free(path);
}

/* F-beta of calling p >= t positive, counted image by image. */
static double fbeta_at(const double *p, const int *label, int n, double t, int positive,
		       double beta)
{
	long tp = 0, fp = 0, fn = 0;
	for (int i = 0; i < n; i++) {
		int called = (p[i] >= t) == positive, is = label[i] == positive;
		tp += called && is;
		fp += called && !is;
		fn += !called && is;
	}
	double b2 = beta * beta, den = (1 + b2) * tp + b2 * fn + fp;
	return den > 0 ? (1 + b2) * tp / den : NAN;
}

/* The tuned threshold as docs/results.md defines it, by brute force: every
 * split of the sorted distinct scores (and the splits below all and above
 * all) is a candidate, represented by 0.5 when 0.5 gives that split, else by
 * the midpoint of its neighbouring scores (0 and 1 at the ends); the best
 * F-beta wins, ties to the candidate closest to 0.5. */
static double tuned_by_hand(const double *p, const int *label, int n, int positive, double beta)
{
	double best_t = 0.5, best_f = -1;
	for (int j = -1; j < n; j++) {
		double lo = j < 0 ? 0 : p[j], hi = 1; /* split just above p[j] */
		for (int i = 0; i < n; i++)
			if (p[i] > lo && p[i] < hi)
				hi = p[i];
		if (j >= 0 && hi == 1 && lo >= 1)
			continue;
		double t = lo < 0.5 && 0.5 <= hi ? 0.5 : (lo + hi) / 2;
		double f = fbeta_at(p, label, n, t, positive, beta);
		if (isnan(f))
			continue;
		if (f > best_f + 1e-12 || (fabs(f - best_f) <= 1e-12 && fabs(t - 0.5) < fabs(best_t - 0.5))) {
			best_f = f;
			best_t = t;
		}
	}
	return best_t;
}

/* Scores of the images idx[0..n) with a trained unit's effective cfg and
 * weights, as `darkfold predict` would compute them. */
static void unit_scores(const char *work, const struct cache *cc, const int *idx, int n, double *p)
{
	char *cfg = fs_join(work, "effective.cfg"), *weights = fs_join(work, "final.weights");
	struct net *net = NULL;
	assert_int_equal(net_build(cfg, 0, NULL, &net), 0);
	assert_int_equal(net_load_weights(net, weights, -1), 0);
	size_t in = (size_t)net_inputs(net);
	float *X = xmalloc((size_t)n * in * sizeof(float));
	for (int i = 0; i < n; i++)
		memcpy(X + i * in, cache_image(cc, idx[i]), in * sizeof(float));
	net_predict(net, X, n, p);
	free(X);
	net_free(net);
	free(cfg);
	free(weights);
}

/* One unit with threshold_policy tuned and the given positive class (1
 * anomalous, 0 normal): its threshold must be the one that maximises F-beta
 * (beta 0.25, which these data set apart from F1) for the positive class on
 * its inner validation images (not on its training or test images, nor for
 * the other class or for F1), and that value must be the one applied in the
 * unit's metrics, in summary.json's pooled confusion matrix and by `darkfold
 * predict`. */
static void check_tuned_unit(const struct fixture *f, int positive)
{
	const char *name = positive ? "tuned" : "tuned-normal";
	char *json = xasprintf(
		"{ \"name\": \"%s\", \"results_dir\": \"%s/results\",\n"
		"  \"dataset\": { \"root\": \"%s/synth\", \"normal\": [\"test/good\"],\n"
		"    \"anomalous\": [\"test/*\"], \"width\": 16, \"height\": 16,\n"
		"    \"synthetic\": false },\n"
		"  \"models\": { \"dense\": \"%s/cfg/dense.cfg\" },\n"
		"  \"cv\": { \"k\": 2, \"seed\": 9, \"inner_fraction\": 0.4 },\n"
		"  \"training\": { \"epochs\": 2, \"batch\": 8, \"learning_rate\": 0.003 },\n"
		"  \"metrics\": { \"positive\": \"%s\", \"beta\": 0.25, \"threshold_policy\": \"tuned\",\n"
		"    \"threshold\": 0.5 } }\n",
		name, f->dir, f->dir, DARKFOLD_SOURCE_DIR, positive ? "anomalous" : "normal");
	char *file = xasprintf("%s.json", name);
	char *path = fs_join(f->dir, file);
	test_write_file(path, json, strlen(json));
	struct experiment e;
	assert_int_equal(experiment_load(path, &e), 0);
	assert_int_equal(unit_run(&e, "dense", 0, 0), 0);

	/* the unit's images, from the same split */
	struct dataset d;
	struct cache cc;
	assert_int_equal(dataset_scan(e.dataset.root, e.dataset.category, e.dataset.normal,
				      e.dataset.n_normal, e.dataset.anomalous, e.dataset.n_anomalous, &d), 0);
	assert_int_equal(cache_load(&d, e.dataset.width, e.dataset.height, e.dataset.channels,
				    e.dataset.cache_dir, &cc), 0);
	int *labels = xmalloc(sizeof *labels * (size_t)d.n);
	for (int i = 0; i < d.n; i++)
		labels[i] = d.items[i].label;
	struct folds fo;
	int *test, *itrain, *ival, n_test, n_itrain, n_ival;
	assert_int_equal(folds_split(labels, d.n, e.cv.k, e.cv.repeats, e.cv.seed, e.cv.stratify, &fo), 0);
	assert_int_equal(folds_unit(&fo, labels, 0, 0, e.cv.inner_fraction, e.cv.seed, NULL, NULL,
				    &test, &n_test, &itrain, &n_itrain, &ival, &n_ival), 0);
	folds_release(&fo);

	char *work = unit_work_dir(&e, "dense", 0, 0);
	double *p = xmalloc(sizeof *p * (size_t)d.n);
	int *y = xmalloc(sizeof *y * (size_t)d.n);
	unit_scores(work, &cc, ival, n_ival, p);
	for (int i = 0; i < n_ival; i++)
		y[i] = labels[ival[i]];
	double want = tuned_by_hand(p, y, n_ival, positive, 0.25);
	/* The test can tell the right choice from the plausible wrong ones. */
	assert_true(fabs(want - 0.5) > 1e-9);
	assert_true(fabs(want - tuned_by_hand(p, y, n_ival, !positive, 0.25)) > 1e-9);
	if (positive) /* with normal positive, F1 happens to pick the same split here */
		assert_true(fabs(want - tuned_by_hand(p, y, n_ival, positive, 1)) > 1e-9);
	double *pt = xmalloc(sizeof *pt * (size_t)d.n);
	int *yt = xmalloc(sizeof *yt * (size_t)d.n);
	unit_scores(work, &cc, itrain, n_itrain, pt);
	for (int i = 0; i < n_itrain; i++)
		yt[i] = labels[itrain[i]];
	assert_true(fabs(want - tuned_by_hand(pt, yt, n_itrain, positive, 0.25)) > 1e-9);
	unit_scores(work, &cc, test, n_test, pt);
	for (int i = 0; i < n_test; i++)
		yt[i] = labels[test[i]];
	assert_true(fabs(want - tuned_by_hand(pt, yt, n_test, positive, 0.25)) > 1e-9);

	/* the result file */
	char *rpath = unit_result_path(&e, "dense", 0, 0);
	struct json *r = json_parse_file(rpath);
	assert_non_null(r);
	const struct json *thr = json_get(r, "threshold");
	assert_true(fabs(json_number(json_get(thr, "value")) - want) <= 1e-12);
	assert_string_equal(json_string(json_get(thr, "policy")), "tuned");
	assert_string_equal(json_string(json_get(thr, "chosen_on")), "inner_val");
	const struct json *met = json_get(r, "metrics");
	assert_true(fabs(json_number(json_get(met, "threshold")) - want) <= 1e-12);
	const struct json *preds = json_get(r, "predictions");
	assert_int_equal(json_size(preds), n_test);
	long tp = 0, fp = 0, tn = 0, fn = 0, between = 0;
	for (int i = 0; i < n_test; i++) {
		const struct json *q = json_at(preds, i);
		double pa = json_number(json_get(q, "p_anomalous"));
		int lab = (int)json_number(json_get(q, "label")) == positive;
		int called = (pa >= want) == positive;
		tp += called && lab;
		fp += called && !lab;
		tn += !called && !lab;
		fn += !called && lab;
		between += (pa >= 0.5) != (pa >= want);
	}
	const struct json *conf = json_get(met, "confusion");
	assert_int_equal((long)json_number(json_get(conf, "tp")), tp);
	assert_int_equal((long)json_number(json_get(conf, "fp")), fp);
	assert_int_equal((long)json_number(json_get(conf, "tn")), tn);
	assert_int_equal((long)json_number(json_get(conf, "fn")), fn);
	assert_true(between > 0); /* some held-out verdicts depend on the threshold */

	/* summary.json pools the unit's predictions at its threshold */
	const char *dk = getenv("DARKFOLD");
	char *out, *cmd = xasprintf("cd '%s' && '%s' report %s --no-figures", f->dir, dk, file);
	int rc = test_run(cmd, &out);
	if (rc != 0)
		fprintf(stderr, "%s\n", out);
	assert_int_equal(rc, 0);
	free(out);
	free(cmd);
	char *spath = xasprintf("%s/results/%s/summary.json", f->dir, name);
	struct json *sj = json_parse_file(spath);
	assert_non_null(sj);
	const struct json *pc = json_get(json_get(json_get(json_get(sj, "models"), "dense"), "pooled"),
					 "confusion");
	assert_int_equal((long)json_number(json_get(pc, "tp")), tp);
	assert_int_equal((long)json_number(json_get(pc, "fp")), fp);
	assert_int_equal((long)json_number(json_get(pc, "tn")), tn);
	assert_int_equal((long)json_number(json_get(pc, "fn")), fn);
	json_free(sj);
	free(spath);

	/* darkfold predict calls each held-out image at the unit's threshold */
	size_t len = strlen(dk) + strlen(work) + 64;
	for (int i = 0; i < n_test; i++)
		len += strlen(json_string(json_get(json_at(preds, i), "path"))) + 3;
	cmd = xmalloc(len);
	int k = snprintf(cmd, len, "'%s' predict '%s'", dk, work);
	for (int i = 0; i < n_test; i++)
		k += snprintf(cmd + k, len - (size_t)k, " '%s'",
			      json_string(json_get(json_at(preds, i), "path")));
	int any_anomalous = 0; /* predict exits 3 when it calls an image anomalous */
	for (int i = 0; i < n_test; i++)
		any_anomalous |= json_number(json_get(json_at(preds, i), "p_anomalous")) >= want;
	assert_int_equal(test_run(cmd, &out), any_anomalous ? 3 : 0);
	char *line = out;
	for (int i = 0; i < n_test; i++) {
		const struct json *q = json_at(preds, i);
		char *tab = strrchr(strtok(i == 0 ? line : NULL, "\n"), '\t');
		assert_non_null(tab);
		const char *verdict = json_number(json_get(q, "p_anomalous")) >= want ? "anomalous" : "normal";
		assert_string_equal(tab + 1, verdict);
	}
	free(out);
	free(cmd);

	json_free(r);
	free(rpath);
	free(pt);
	free(yt);
	free(p);
	free(y);
	free(work);
	free(test);
	free(itrain);
	free(ival);
	free(labels);
	cache_release(&cc);
	dataset_release(&d);
	experiment_release(&e);
	free(path);
	free(file);
	free(json);
}

/* threshold_policy tuned, end to end: the unit's threshold is the one that
 * maximises F-beta for the positive class on its inner validation images,
 * and it reaches the unit's metrics, summary.json and `darkfold predict`;
 * with either class positive. */
static void tuned_threshold_should_come_from_inner_validation_and_reach_every_output(void **state)
{
	check_tuned_unit(*state, 1);
	check_tuned_unit(*state, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unit_paths_should_follow_the_results_layout),
		cmocka_unit_test(unit_run_should_refuse_unknown_units),
		cmocka_unit_test(unit_should_be_current_only_for_the_same_inputs),
		cmocka_unit_test(tuned_threshold_should_come_from_inner_validation_and_reach_every_output),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
