/* test_summary.c: summary.json from fixture unit files, checked against
 * values worked out by hand (python3 with the math module for the t
 * quantiles and tail probabilities; noted at each check). */
#include "summary.h"

#include "checksum.h"
#include "error.h"
#include "fsutil.h"
#include "helpers.h"
#include "json.h"
#include "sha256.h"
#include "stats.h"
#include "unit.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define near(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

/* 13 images in 4 folds (k = 4, one repeat):
 *   f0: n1 n2 a1(bent) a2(cut)   f1: n3 n4 a3(bent) a4(cut)
 *   f2: n5 n6 a5(bent)           f3: n7 n8 (normal only) */
static const int fold_n[4] = { 4, 4, 3, 2 };
static const char *const fold_path[4][4] = {
	{ "good/n1.png", "good/n2.png", "bent/a1.png", "cut/a2.png" },
	{ "good/n3.png", "good/n4.png", "bent/a3.png", "cut/a4.png" },
	{ "good/n5.png", "good/n6.png", "bent/a5.png", NULL },
	{ "good/n7.png", "good/n8.png", NULL, NULL },
};
static const int fold_label[4][4] = { { 0, 0, 1, 1 }, { 0, 0, 1, 1 }, { 0, 0, 1, 0 }, { 0, 0, 0, 0 } };
static const char *const fold_defect[4][4] = {
	{ "good", "good", "bent", "cut" },
	{ "good", "good", "bent", "cut" },
	{ "good", "good", "bent", NULL },
	{ "good", "good", NULL, NULL },
};
static const double p_a[4][4] = { { .1, .2, .9, .8 }, { .3, .6, .7, .4 }, { .1, .7, .9, 0 }, { .2, .3, 0, 0 } };
static const double p_b[4][4] = { { .6, .2, .9, .3 }, { .3, .2, .7, .8 }, { .6, .7, .4, 0 }, { .6, .1, 0, 0 } };
/* learning curves of model a: (fold, epoch); NAN = absent */
static const double a_train[4][2] = { { 1.0, 0.5 }, { 0.8, 0.4 }, { 0.9, 0.3 }, { 1.1, NAN } };
static const double a_val[4][2] = { { 1.2, 0.7 }, { 1.0, NAN }, { 0.8, 0.6 }, { 0.9, NAN } };

/* The OpenBLAS core unit b r0-f3 records (the others: Cooperlake). */
static const char *b3_core = "Cooperlake";

static void write_unit_r(const char *root, const char *model, int r, int f, const char *status,
			 const double p[4][4])
{
	struct jw w;
	jw_init(&w);
	jw_obj_begin(&w);
	jw_kstr(&w, "format", UNIT_FORMAT);
	jw_kstr(&w, "experiment", "fixture");
	char inputs[64];
	snprintf(inputs, sizeof inputs, "inputs-%s-r%d-f%d", model, r, f);
	jw_kstr(&w, "inputs_sha256", inputs);
	jw_kstr(&w, "model", model);
	jw_kint(&w, "repeat", r);
	jw_kint(&w, "fold", f);
	jw_kstr(&w, "status", status);
	jw_key(&w, "data");
	jw_obj_begin(&w);
	jw_kint(&w, "n_train", 13 - fold_n[f]);
	jw_kint(&w, "n_test", fold_n[f]);
	jw_obj_end(&w);
	jw_key(&w, "curve");
	jw_arr_begin(&w);
	for (int e = 0; e < 2 && !isnan(a_train[f][e]); e++) {
		jw_obj_begin(&w);
		jw_kint(&w, "epoch", e + 1);
		jw_knum(&w, "train_loss", a_train[f][e]);
		jw_knum(&w, "val_loss", a_val[f][e]);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "threshold");
	jw_obj_begin(&w);
	jw_knum(&w, "value", 0.5);
	jw_kstr(&w, "policy", "fixed");
	jw_obj_end(&w);
	jw_key(&w, "predictions");
	jw_arr_begin(&w);
	for (int i = 0; p && i < fold_n[f]; i++) {
		jw_obj_begin(&w);
		jw_kstr(&w, "path", fold_path[f][i]);
		jw_kint(&w, "label", fold_label[f][i]);
		jw_kstr(&w, "defect", fold_defect[f][i]);
		jw_knum(&w, "p_anomalous", p[f][i]);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "timing");
	jw_obj_begin(&w);
	jw_knum(&w, "train_seconds", 10.0 * (f + 1));
	jw_knum(&w, "images_per_second", 100.0);
	jw_kstr(&w, "started", f == 1 ? "2026-01-01T00:00:00Z" : "2026-01-02T00:00:00Z");
	jw_kstr(&w, "finished", "2026-01-03T00:00:00Z");
	jw_obj_end(&w);
	jw_key(&w, "host");
	jw_obj_begin(&w);
	jw_kstr(&w, "blas_core", !strcmp(model, "b") && f == 3 ? b3_core : "Cooperlake");
	jw_obj_end(&w);
	jw_key(&w, "provenance");
	jw_obj_begin(&w);
	jw_kstr(&w, "git_commit", "abc");
	jw_obj_end(&w);
	checksum_append(&w);
	jw_obj_end(&w);
	char *dir = fs_join(root, model);
	assert_int_equal(fs_mkdir_p(dir), 0);
	char *path = xasprintf("%s/r%d-f%d.json", dir, r, f);
	assert_int_equal(jw_write_file(&w, path), 0);
	free(path);
	free(dir);
	jw_release(&w);
}

static void write_unit(const char *root, const char *model, int f, const char *status,
		       const double p[4][4])
{
	write_unit_r(root, model, 0, f, status, p);
}

static const char *const model_names[3] = { "a", "b", "c" };

static struct summary_config fixture(const char *root)
{
	for (int f = 0; f < 4; f++) {
		write_unit(root, "a", f, "ok", p_a);
		write_unit(root, "b", f, "ok", p_b);
	}
	/* c: one ok unit (perfect on f0), one failed, one diverged, one missing */
	static const double p_c[4][4] = { { 0, 0, 1, 1 } };
	write_unit(root, "c", 0, "ok", p_c);
	write_unit(root, "c", 1, "failed", NULL);
	write_unit(root, "c", 2, "diverged", NULL);
	struct summary_config c = {
		.experiment = "fixture", .experiment_sha256 = "00", .results_path = root,
		.models = model_names, .n_models = 3, .k = 4, .repeats = 1, .positive = 1,
		.beta = 2.0, .alpha = 0.05, .threshold_policy = "fixed", .bootstrap = 200,
		.seed = 42,
	};
	return c;
}

static struct json *build(const struct summary_config *c, char **text)
{
	struct jw w;
	jw_init(&w);
	assert_int_equal(summary_build(c, &w), 0);
	struct json *j = json_parse(w.buf, "summary");
	assert_non_null(j);
	if (text)
		*text = xstrdup(w.buf);
	jw_release(&w);
	return j;
}

static const struct json *at(const struct json *j, const char *a, const char *b, const char *c,
			     const char *d)
{
	j = json_get(j, a);
	if (b)
		j = json_get(j, b);
	if (c)
		j = json_get(j, c);
	if (d)
		j = json_get(j, d);
	return j;
}

static double num(const struct json *j, const char *a, const char *b, const char *c, const char *d)
{
	return json_number(at(j, a, b, c, d));
}

static void summary_should_give_fold_means_and_t_intervals(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	struct summary_config c = fixture(root);
	struct json *j = build(&c, NULL);
	const struct json *a = at(j, "models", "a", NULL, NULL);
	assert_null(json_get(a, "maps")); /* a supervised model has no anomaly maps */
	/* f2 of a: folds 1, 1/2, 5/6, null (fold 3 has no anomalous image):
	 * mean 7/9, sd 0.2545875386086578, t_{0.975,2} = 4.302652729911275 */
	near(num(a, "metrics", "f2", "mean", NULL), 7.0 / 9, 1e-12);
	near(num(a, "metrics", "f2", "sd", NULL), 0.2545875386086578, 1e-12);
	near(num(a, "metrics", "f2", "ci_low", NULL), 0.14534727215453347, 1e-8);
	near(num(a, "metrics", "f2", "ci_high", NULL), 1.4102082834010221, 1e-8);
	assert_true(num(a, "metrics", "f2", "n", NULL) == 3);
	const struct json *folds = at(a, "metrics", "f2", "folds", NULL);
	assert_int_equal(json_size(folds), 4);
	near(json_number(json_at(folds, 2)), 5.0 / 6, 1e-12);
	assert_int_equal(json_type(json_at(folds, 3)), JSON_NULL);
	assert_string_equal(json_string(at(a, "metrics", "recall", "reason", NULL)),
			    "undefined in 1 of 4 folds: no anomalous images");
	/* accuracy of a: 1, 1/2, 2/3, 1 */
	near(num(a, "metrics", "accuracy", "mean", NULL), (1 + 0.5 + 2.0 / 3 + 1) / 4, 1e-12);
	assert_int_equal(json_type(at(a, "metrics", "accuracy", "reason", NULL)), JSON_NULL);
	/* units of a and c */
	assert_true(num(a, "units", "ok", NULL, NULL) == 4);
	const struct json *cm = at(j, "models", "c", NULL, NULL);
	assert_true(num(cm, "units", "total", NULL, NULL) == 4);
	assert_true(num(cm, "units", "ok", NULL, NULL) == 1);
	assert_true(num(cm, "units", "failed", NULL, NULL) == 1);
	assert_true(num(cm, "units", "diverged", NULL, NULL) == 1);
	assert_true(num(cm, "units", "missing", NULL, NULL) == 1);
	near(num(cm, "metrics", "accuracy", "mean", NULL), 1.0, 0);
	assert_int_equal(json_type(at(cm, "metrics", "accuracy", "sd", NULL)), JSON_NULL);
	assert_int_equal(json_type(at(cm, "metrics", "accuracy", "ci_low", NULL)), JSON_NULL);
	assert_string_equal(json_string(at(cm, "metrics", "accuracy", "reason", NULL)),
			    "one fold with a value: no sd or interval");
	assert_string_equal(json_string(json_at(json_get(cm, "fold_units"), 0)), "r0-f0");
	/* curve of a: epoch 1 from 4 units, epoch 2 from 3 */
	const struct json *e1 = json_at(json_get(a, "curve"), 0), *e2 = json_at(json_get(a, "curve"), 1);
	assert_true(num(e1, "n", NULL, NULL, NULL) == 4);
	near(num(e1, "train_loss_mean", NULL, NULL, NULL), 0.95, 1e-12);
	near(num(e1, "train_loss_sd", NULL, NULL, NULL), 0.12909944487358058, 1e-12);
	assert_true(num(e2, "n", NULL, NULL, NULL) == 3);
	near(num(e2, "train_loss_mean", NULL, NULL, NULL), 0.4, 1e-12);
	near(num(e2, "val_loss_mean", NULL, NULL, NULL), 0.65, 1e-12);
	/* timing: 10 20 30 40 s */
	near(num(a, "timing", "train_seconds_mean", NULL, NULL), 25, 1e-12);
	near(num(a, "timing", "train_seconds_total", NULL, NULL), 100, 1e-12);
	/* c: the failed (20 s) and diverged (30 s) units cost time too */
	near(num(cm, "timing", "train_seconds_mean", NULL, NULL), 20, 1e-12);
	near(num(cm, "timing", "train_seconds_total", NULL, NULL), 60, 1e-12);
	json_free(j);
	test_rm_rf(root);
	free(root);
}

static void summary_should_pool_predictions_with_intervals(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	struct summary_config c = fixture(root);
	struct json *j = build(&c, NULL);
	const struct json *pa = at(j, "models", "a", "pooled", NULL);
	/* pooled a: tp 4 (a1 a2 a3 a5), fn 1 (a4), fp 2 (n4 n6), tn 6 */
	assert_true(num(pa, "confusion", "tp", NULL, NULL) == 4);
	assert_true(num(pa, "confusion", "fn", NULL, NULL) == 1);
	assert_true(num(pa, "confusion", "fp", NULL, NULL) == 2);
	assert_true(num(pa, "confusion", "tn", NULL, NULL) == 6);
	near(num(pa, "accuracy", "value", NULL, NULL), 10.0 / 13, 1e-12);
	/* Wilson 10 of 13: python3 (k + z^2/2)/(n + z^2) -/+ ... */
	near(num(pa, "accuracy", "wilson_low", NULL, NULL), 0.497436240532725, 1e-9);
	near(num(pa, "accuracy", "wilson_high", NULL, NULL), 0.9182047128150144, 1e-9);
	near(num(pa, "f2", "value", NULL, NULL), 20.0 / 26, 1e-12);
	assert_int_equal(json_type(at(pa, "f2", "wilson_low", NULL, NULL)), JSON_NULL);
	/* the bootstrap interval holds the pooled value */
	double lo = num(pa, "accuracy", "boot_low", NULL, NULL), hi = num(pa, "accuracy", "boot_high", NULL, NULL);
	assert_true(lo <= 10.0 / 13 && 10.0 / 13 <= hi && lo < hi);
	/* pooled AUROC: positive/negative pairs won 37.5 of 40 (one tie at .7) */
	near(num(pa, "auroc", "value", NULL, NULL), 37.5 / 40, 1e-12);
	const struct json *roc = json_get(pa, "roc");
	assert_true(json_size(roc) >= 2);
	near(json_number(json_at(json_at(roc, 0), 0)), 0, 0);
	near(json_number(json_at(json_at(roc, json_size(roc) - 1), 1)), 1, 0);
	assert_true(json_size(json_get(pa, "pr")) >= 2);
	/* defect recall pooled: bent 3 of 3, cut 1 of 2 */
	const struct json *dr = at(j, "models", "a", "defect_recall", NULL);
	near(num(dr, "bent", "recall", NULL, NULL), 1.0, 0);
	near(num(dr, "cut", "recall", NULL, NULL), 0.5, 0);
	assert_true(num(dr, "cut", "n", NULL, NULL) == 2);
	json_free(j);
	test_rm_rf(root);
	free(root);
}

static void summary_should_run_baselines_on_the_same_labels(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	struct summary_config c = fixture(root);
	char *text1, *text2;
	struct json *j = build(&c, &text1);
	const struct json *b = json_get(j, "baselines");
	/* 5 anomalous of 13 */
	near(num(b, "always_anomalous", "pooled", "recall", "value"), 1.0, 0);
	near(num(b, "always_anomalous", "pooled", "specificity", "value"), 0.0, 0);
	near(num(b, "always_anomalous", "pooled", "accuracy", "value"), 5.0 / 13, 1e-12);
	near(num(b, "always_normal", "pooled", "accuracy", "value"), 8.0 / 13, 1e-12);
	near(num(b, "always_normal", "pooled", "recall", "value"), 0.0, 0);
	assert_int_equal(json_type(at(b, "always_normal", "pooled", "precision", NULL)), JSON_OBJECT);
	const struct json *prec = at(b, "always_normal", "pooled", "precision", NULL);
	assert_int_equal(json_type(json_get(prec, "value")), JSON_NULL);
	assert_string_equal(json_string(json_get(prec, "reason")), "no positive predictions");
	/* per-fold: always anomalous has recall 1 in the three folds with anomalies */
	near(num(b, "always_anomalous", "metrics", "recall", "mean"), 1.0, 0);
	assert_true(num(b, "always_anomalous", "metrics", "recall", "n") == 3);
	const struct json *sr = at(b, "stratified_random", "pooled", "accuracy", "value");
	assert_int_equal(json_type(sr), JSON_NUMBER);
	/* the random baseline is seeded: the same bytes again */
	struct json *j2 = build(&c, &text2);
	assert_string_equal(text1, text2);
	/* non-finite values are null (and cJSON would not have parsed them) */
	assert_null(strstr(text1, "nan,"));
	assert_null(strstr(text1, "nan\n"));
	assert_null(strstr(text1, "inf,"));
	assert_null(strstr(text1, "inf\n"));
	json_free(j2);
	free(text2);
	free(text1);
	json_free(j);
	test_rm_rf(root);
	free(root);
}

static const struct json *find_comparison(const struct json *j, const char *a, const char *b,
					  const char *metric)
{
	const struct json *cs = json_get(j, "comparisons");
	for (int i = 0; i < json_size(cs); i++) {
		const struct json *x = json_at(cs, i);
		if (!strcmp(json_string(json_get(x, "a")), a) && !strcmp(json_string(json_get(x, "b")), b) &&
		    !strcmp(json_string(json_get(x, "metric")), metric))
			return x;
	}
	return NULL;
}

static void summary_should_compare_models_with_corrected_tests(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	struct summary_config c = fixture(root);
	c.primary = "f2";
	struct json *j = build(&c, NULL);
	/* f2 a - b over folds where both are defined: .5, -.5, 5/6;
	 * n_test/n_train averaged over those units: (4/9 + 4/9 + 3/10) / 3;
	 * t = mean / sqrt((1/3 + ratio) s^2) = 0.468658474078987, df 2,
	 * p = 1 - |t| / sqrt(2 + t^2) = 0.6854315749392341 (t(2) closed form) */
	const struct json *x = find_comparison(j, "a", "b", "f2");
	assert_non_null(x);
	near(num(x, "diff_mean", NULL, NULL, NULL), 0.2777777777777778, 1e-12);
	near(num(x, "t", NULL, NULL, NULL), 0.468658474078987, 1e-9);
	near(num(x, "df", NULL, NULL, NULL), 2, 0);
	near(num(x, "p", NULL, NULL, NULL), 0.6854315749392341, 1e-9);
	/* a-c and b-c have one paired fold: left out of Holm's family */
	near(num(x, "p_holm", NULL, NULL, NULL), 0.6854315749392341, 1e-9);
	assert_int_equal(json_bool(json_get(x, "significant")), 0);
	/* McNemar a vs b: a right b wrong on n1 a2 n5 a5 n7 (5), a wrong b right on
	 * n4 a4 (2): exact, 2 P(X <= 2), X ~ Bin(7, 1/2) = 58/128 */
	near(num(x, "mcnemar", "b", NULL, NULL), 5, 0);
	near(num(x, "mcnemar", "c", NULL, NULL), 2, 0);
	near(num(x, "mcnemar", "p", NULL, NULL), 58.0 / 128, 1e-12);
	assert_string_equal(json_string(at(x, "mcnemar", "method", NULL, NULL)), "exact");
	/* accuracy a - b: .5, -.5, 2/3, .5; ratio (4/9 + 4/9 + 3/10 + 2/11) / 4;
	 * t = 0.7100144119312745, df 3, p (Simpson on the t(3) density) 0.5289092709070593 */
	x = find_comparison(j, "a", "b", "accuracy");
	near(num(x, "t", NULL, NULL, NULL), 0.7100144119312745, 1e-9);
	near(num(x, "p", NULL, NULL, NULL), 0.5289092709070593, 1e-8);
	x = find_comparison(j, "a", "c", "f2");
	assert_int_equal(json_type(json_get(x, "p")), JSON_NULL);
	assert_int_equal(json_type(json_get(x, "p_holm")), JSON_NULL);
	assert_string_equal(json_string(json_get(x, "reason")), "fewer than 2 paired folds");
	/* best by mean f2 (the primary metric here): a 7/9 over b 3/8 (c has a
	 * single fold and cannot win) */
	const struct json *best = json_get(j, "best");
	assert_string_equal(json_string(json_get(best, "metric")), "f2");
	assert_string_equal(json_string(json_get(best, "model")), "a");
	assert_string_equal(json_string(json_get(best, "runner_up")), "b");
	near(num(best, "lead", NULL, NULL, NULL), 7.0 / 9 - 3.0 / 8, 1e-12);
	near(num(best, "p_holm", NULL, NULL, NULL), 0.6854315749392341, 1e-9);
	assert_int_equal(json_bool(json_get(best, "significant")), 0);
	/* provenance: the earliest start and latest finish; wall time summed over
	 * the 11 unit files: f1 units ran 2 days (3 of them), the rest 1 day (8) */
	const struct json *pv = json_get(j, "provenance");
	assert_string_equal(json_string(json_get(pv, "first_started")), "2026-01-01T00:00:00Z");
	assert_string_equal(json_string(json_get(pv, "git_commit")), "abc");
	assert_true(num(pv, "units_total", NULL, NULL, NULL) == 11);
	near(num(pv, "wall_seconds_total", NULL, NULL, NULL), (3 * 2 + 8 * 1) * 86400.0, 1e-6);
	assert_int_equal(json_bool(json_get(pv, "mixed_commits")), 0);
	assert_int_equal(json_bool(json_get(pv, "mixed_blas_cores")), 0);
	assert_string_equal(json_string(json_get(pv, "blas_core")), "Cooperlake");
	json_free(j);
	test_rm_rf(root);
	free(root);
}

static void units_with_different_blas_cores_should_be_flagged(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	b3_core = "Haswell";
	struct summary_config c = fixture(root);
	b3_core = "Cooperlake";
	struct json *j = build(&c, NULL);
	const struct json *pv = json_get(j, "provenance");
	assert_int_equal(json_bool(json_get(pv, "mixed_blas_cores")), 1);
	assert_int_equal(json_bool(json_get(pv, "mixed_commits")), 0);
	json_free(j);
	test_rm_rf(root);
	free(root);
}

static void summary_should_list_the_times_of_each_unit(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	struct summary_config c = fixture(root);
	struct json *j = build(&c, NULL);
	/* c: units f0 (ok), f1 (failed), f2 (diverged) left files, f3 is missing;
	 * train_seconds 10 (f + 1); f1 ran 2026-01-01 to -03 (2 days), the
	 * others 2026-01-02 to -03 (1 day) */
	const struct json *ut = at(j, "models", "c", "unit_times", NULL);
	assert_int_equal(json_type(ut), JSON_ARRAY);
	assert_int_equal(json_size(ut), 3);
	static const char *const unit[3] = { "r0-f0", "r0-f1", "r0-f2" };
	static const char *const status[3] = { "ok", "failed", "diverged" };
	static const double days[3] = { 1, 2, 1 };
	for (int i = 0; i < 3; i++) {
		const struct json *e = json_at(ut, i);
		assert_string_equal(json_string(json_get(e, "unit")), unit[i]);
		assert_string_equal(json_string(json_get(e, "status")), status[i]);
		near(num(e, "wall_seconds", NULL, NULL, NULL), days[i] * 86400.0, 1e-9);
		near(num(e, "train_seconds", NULL, NULL, NULL), 10.0 * (i + 1), 1e-12);
	}
	assert_int_equal(json_size(at(j, "models", "a", "unit_times", NULL)), 4);
	/* baselines take no time */
	assert_null(at(j, "baselines", "always_normal", "unit_times", NULL));
	json_free(j);
	test_rm_rf(root);
	free(root);
}

/* Write body + the checksum line + "}\n" (docs/results.md). */
static void write_checksummed(const char *path, const char *body)
{
	char hex[65];
	sha256_hex(body, strlen(body), hex);
	char *text = xasprintf("%s,\n  \"checksum\": \"%s\"\n}\n", body, hex);
	test_write_file(path, text, strlen(text));
	free(text);
}

/* Run summary_write expecting failure; returns stderr (caller frees). */
static char *summary_error(const struct summary_config *c, const char *out)
{
	test_stderr_begin();
	assert_int_equal(summary_write(c, out), -1);
	assert_false(fs_is_file(out));
	return test_stderr_end();
}

static void summary_should_refuse_corrupt_and_stale_units(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	struct summary_config c = fixture(root);
	char *file = xasprintf("%s/a/r0-f1.json", root);
	char *out = xasprintf("%s/summary.json", root);
	char *text;
	size_t len;
	assert_int_equal(fs_read_file(file, &text, &len), 0);

	/* one byte changed in a prediction */
	char *p = strstr(text, "\"p_anomalous\": 0.");
	assert_non_null(p);
	char keep = p[17];
	p[17] = keep == '9' ? '1' : keep + 1;
	test_write_file(file, text, len);
	char *msg = summary_error(&c, out);
	char *want = xasprintf("error: '%s': checksum mismatch", file);
	assert_non_null(strstr(msg, want));
	free(want);
	free(msg);
	/* cut short */
	p[17] = keep;
	test_write_file(file, text, len / 2);
	msg = summary_error(&c, out);
	want = xasprintf("error: '%s': no checksum at the end", file);
	assert_non_null(strstr(msg, want));
	free(want);
	free(msg);
	test_write_file(file, text, len);
	assert_int_equal(summary_write(&c, out), 0);
	unlink(out);

	/* the current inputs hashes: a's r0-f1 no longer matches */
	char *cur[12];
	for (int i = 0; i < 12; i++)
		cur[i] = xasprintf("inputs-%s-r0-f%d", model_names[i / 4], i % 4);
	cur[1][0] = 'X';
	c.inputs_sha256 = cur;
	msg = summary_error(&c, out);
	want = xasprintf("error: '%s': stale unit file: its inputs hash is not the current one", file);
	assert_non_null(strstr(msg, want));
	free(want);
	free(msg);
	c.allow_stale = 1;
	struct json *j = build(&c, NULL);
	assert_int_equal(num(j, "models", "a", "units", "stale"), 1);
	assert_int_equal(num(j, "models", "b", "units", "stale"), 0);
	json_free(j);
	c.allow_stale = 0;
	cur[1][0] = 'i';
	assert_int_equal(summary_write(&c, out), 0);
	unlink(out);

	/* a file copied in from another experiment */
	c.experiment = "other";
	msg = summary_error(&c, out);
	assert_non_null(strstr(msg, "stale unit file: it belongs to experiment 'fixture', not 'other'"));
	free(msg);
	for (int i = 0; i < 12; i++)
		free(cur[i]);
	free(text);
	free(file);
	free(out);
	test_rm_rf(root);
	free(root);
}

/* Give unit (model, fold) another threshold in its result file, with the
 * checksum made anew. */
static void set_unit_threshold(const char *root, const char *model, int f, const char *value)
{
	char *path = xasprintf("%s/%s/r0-f%d.json", root, model, f), *text;
	assert_int_equal(fs_read_file(path, &text, NULL), 0);
	char *end = strstr(text, ",\n  \"checksum\": \"");
	assert_non_null(end);
	*end = '\0';
	const char *old = "\"value\": 0.5";
	char *s = strstr(text, old);
	assert_non_null(s);
	char *edited = xasprintf("%.*s\"value\": %s%s", (int)(s - text), text, value, s + strlen(old));
	write_checksummed(path, edited);
	free(edited);
	free(text);
	free(path);
}

/* Each unit's predictions are judged at that unit's threshold, in the
 * pooled confusion matrix and in McNemar's counts. With b's units at 0.65:
 * b calls a1 a3 a4 n6 anomalous, so pooled tp 3, fn 2 (a2 a5), fp 1 (n6),
 * tn 7; a (at 0.5) right and b wrong on a2 a5, a wrong and b right on n4 a4:
 * b = c = 2, exact p = min(1, 2 * 11/16) = 1. */
static void summary_should_judge_each_unit_at_its_threshold(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	struct summary_config c = fixture(root);
	for (int f = 0; f < 4; f++)
		set_unit_threshold(root, "b", f, "0.65");
	struct json *j = build(&c, NULL);
	const struct json *pb = at(j, "models", "b", "pooled", "confusion");
	assert_true(num(pb, "tp", NULL, NULL, NULL) == 3);
	assert_true(num(pb, "fn", NULL, NULL, NULL) == 2);
	assert_true(num(pb, "fp", NULL, NULL, NULL) == 1);
	assert_true(num(pb, "tn", NULL, NULL, NULL) == 7);
	const struct json *x = find_comparison(j, "a", "b", "f2");
	assert_non_null(x);
	near(num(x, "mcnemar", "b", NULL, NULL), 2, 0);
	near(num(x, "mcnemar", "c", NULL, NULL), 2, 0);
	near(num(x, "mcnemar", "p", NULL, NULL), 1, 0);
	json_free(j);
	test_rm_rf(root);
	free(root);
}

/* The pooled bootstrap interval follows alpha: at alpha 0.5 (quartiles) it
 * lies within the one at alpha 0.05, and is narrower. */
static void summary_bootstrap_should_follow_alpha(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	struct summary_config c = fixture(root);
	struct json *j95 = build(&c, NULL);
	c.alpha = 0.5;
	struct json *j50 = build(&c, NULL);
	const struct json *a95 = at(j95, "models", "a", "pooled", "accuracy");
	const struct json *a50 = at(j50, "models", "a", "pooled", "accuracy");
	double lo95 = num(a95, "boot_low", NULL, NULL, NULL), hi95 = num(a95, "boot_high", NULL, NULL, NULL);
	double lo50 = num(a50, "boot_low", NULL, NULL, NULL), hi50 = num(a50, "boot_high", NULL, NULL, NULL);
	assert_true(lo95 <= lo50 && hi50 <= hi95);
	assert_true(hi50 - lo50 < hi95 - lo95);
	json_free(j95);
	json_free(j50);
	test_rm_rf(root);
	free(root);
}

static void summary_should_name_the_file_of_a_bad_unit(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	struct summary_config c = fixture(root);
	char *bad = xasprintf("%s/b/r0-f2.json", root);
	const char *text = "{\"format\": \"darkfold-unit/2\", \"experiment\": \"fixture\", \"model\": \"b\", \"repeat\": 0, \"fold\": 2,\n"
			   " \"status\": \"ok\", \"threshold\": {\"value\": 0.5},\n"
			   " \"predictions\": [{\"path\": \"x\", \"label\": 1, \"p_anomalous\": \"high\"}]";
	write_checksummed(bad, text);
	char *out = xasprintf("%s/summary.json", root);
	test_stderr_begin();
	assert_int_equal(summary_write(&c, out), -1);
	char *msg = test_stderr_end();
	char *want = xasprintf("error: '%s': .predictions[0].p_anomalous: expected a number\n", bad);
	assert_string_equal(msg, want);
	assert_false(fs_is_file(out));
	free(want);
	free(msg);
	/* invalid JSON under a valid checksum: the parser's line and column */
	char *cut = xstrdup(text);
	cut[40] = '\0';
	write_checksummed(bad, cut);
	free(cut);
	test_stderr_begin();
	assert_int_equal(summary_write(&c, out), -1);
	msg = test_stderr_end();
	assert_non_null(strstr(msg, bad));
	assert_non_null(strstr(msg, "line "));
	free(msg);
	/* a unit file naming another model */
	const char *other = "{\"format\": \"darkfold-unit/2\", \"experiment\": \"fixture\", \"model\": \"a\", \"repeat\": 0, \"fold\": 2, \"status\": \"ok\"";
	write_checksummed(bad, other);
	test_stderr_begin();
	assert_int_equal(summary_write(&c, out), -1);
	msg = test_stderr_end();
	assert_non_null(strstr(msg, "': .model: does not name the model of its folder"));
	assert_false(fs_is_file(out));
	free(msg);
	/* restored, the summary is written */
	write_unit(root, "b", 2, "ok", p_b);
	assert_int_equal(summary_write(&c, out), 0);
	assert_true(fs_is_file(out));
	free(out);
	free(bad);
	test_rm_rf(root);
	free(root);
}

static void summary_should_follow_the_positive_class(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	struct summary_config c = fixture(root);
	c.positive = 0;
	struct json *j = build(&c, NULL);
	assert_string_equal(json_string(json_get(j, "positive")), "normal");
	const struct json *pa = at(j, "models", "a", "pooled", NULL);
	/* normal positive: recall = 6 of 8 normal images called normal,
	 * recall_other_positive = 4 of 5 anomalous called anomalous */
	near(num(pa, "recall", "value", NULL, NULL), 6.0 / 8, 1e-12);
	near(num(pa, "recall_other_positive", "value", NULL, NULL), 4.0 / 5, 1e-12);
	assert_true(num(pa, "confusion", "tp", NULL, NULL) == 6);
	/* always_normal now has recall 1 */
	near(num(at(j, "baselines", "always_normal", "pooled", "recall"), "value", NULL, NULL, NULL), 1.0, 0);
	json_free(j);
	test_rm_rf(root);
	free(root);
}

static void summary_should_pool_repeats(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	struct summary_config c = fixture(root);
	for (int f = 0; f < 4; f++) {
		write_unit_r(root, "a", 1, f, "ok", p_a);
		write_unit_r(root, "b", 1, f, "ok", p_b);
	}
	c.repeats = 2;
	struct json *j = build(&c, NULL);
	const struct json *a = at(j, "models", "a", NULL, NULL);
	assert_true(num(a, "units", "total", NULL, NULL) == 8);
	assert_true(num(a, "units", "ok", NULL, NULL) == 8);
	assert_true(num(a, "pooled", "n", NULL, NULL) == 26);
	assert_string_equal(json_string(json_at(json_get(a, "fold_units"), 4)), "r1-f0");
	/* the same four folds twice: the same mean, n 6 */
	near(num(a, "metrics", "f2", "mean", NULL), 7.0 / 9, 1e-12);
	assert_true(num(a, "metrics", "f2", "n", NULL) == 6);
	/* c's repeat 1 is missing altogether */
	assert_true(num(j, "models", "c", "units", "missing") == 5);
	/* McNemar doubles: b 10, c 4 */
	const struct json *x = json_at(json_get(j, "comparisons"), 0);
	assert_true(num(x, "mcnemar", "b", NULL, NULL) == 10);
	assert_true(num(x, "mcnemar", "c", NULL, NULL) == 4);
	json_free(j);
	test_rm_rf(root);
	free(root);
}

/* A one-class unit (repeat r, fold f) for the anomaly-map pick: its
 * predictions (n, sorted by path, under /d/c/test/), its threshold and the
 * scale of its maps (NAN: it kept none). */
struct oc_pred {
	const char *path;
	int label;
	const char *defect;
	double p;
};

static void write_oc_unit(const char *root, int r, int f, double threshold, double scale,
			  const struct oc_pred *pr, int n)
{
	struct jw w;
	jw_init(&w);
	jw_obj_begin(&w);
	jw_kstr(&w, "format", UNIT_FORMAT);
	jw_kstr(&w, "experiment", "fixture");
	jw_kstr(&w, "model", "oc");
	jw_kint(&w, "repeat", r);
	jw_kint(&w, "fold", f);
	jw_kstr(&w, "kind", "one_class");
	jw_kstr(&w, "status", "ok");
	jw_key(&w, "data");
	jw_obj_begin(&w);
	jw_kint(&w, "width", 8);
	jw_kint(&w, "height", 4);
	jw_kint(&w, "channels", 1);
	jw_obj_end(&w);
	jw_key(&w, "threshold");
	jw_obj_begin(&w);
	jw_knum(&w, "value", threshold);
	jw_obj_end(&w);
	jw_key(&w, "predictions");
	jw_arr_begin(&w);
	for (int i = 0; i < n; i++) {
		jw_obj_begin(&w);
		jw_kstr(&w, "path", pr[i].path);
		jw_kint(&w, "label", pr[i].label);
		jw_kstr(&w, "defect", pr[i].defect);
		jw_knum(&w, "p_anomalous", pr[i].p);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "pixel_metrics");
	jw_obj_begin(&w);
	jw_knum(&w, "map_scale", scale);
	jw_obj_end(&w);
	checksum_append(&w);
	jw_obj_end(&w);
	char *path = xasprintf("%s/oc/r%d-f%d.json", root, r, f);
	char *dir = fs_join(root, "oc");
	assert_int_equal(fs_mkdir_p(dir), 0);
	assert_int_equal(jw_write_file(&w, path), 0);
	free(dir);
	free(path);
	jw_release(&w);
}

/* cell is { unit, image, mask, score, threshold, map <root>/oc/<unit>/maps/<index>.png,
 * map_scale }. */
static void assert_cell(const struct json *cell, const char *root, const char *unit,
			const char *image, const char *mask, double score, double threshold,
			int index, double scale)
{
	assert_string_equal(json_string(json_get(cell, "unit")), unit);
	assert_string_equal(json_string(json_get(cell, "image")), image);
	assert_string_equal(json_string(json_get(cell, "mask")), mask);
	assert_true(json_number(json_get(cell, "score")) == score);
	assert_true(json_number(json_get(cell, "threshold")) == threshold);
	char *map = xasprintf("%s/oc/%s/maps/%d.png", root, unit, index);
	assert_string_equal(json_string(json_get(cell, "map")), map);
	free(map);
	assert_true(json_number(json_get(cell, "map_scale")) == scale);
}

/* The anomaly-map cells: the anomalous images of repeat 0 only, per defect
 * type in dataset order the largest and smallest margin score - threshold,
 * equal margins to the image first in path order (whatever its fold). */
static void summary_should_pick_the_anomaly_map_cells(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	static const char *const models[1] = { "oc" };
	struct summary_config c = {
		.experiment = "fixture", .results_path = root, .models = models, .n_models = 1,
		.k = 2, .repeats = 2, .positive = 1, .beta = 2.0, .alpha = 0.05,
		.threshold_policy = "tuned", .bootstrap = 20, .seed = 1,
	};
	/* margins: f0 (threshold 0.5) bent/001 0.375, cut/002 -0.25;
	 * f1 (threshold 0.25) bent/000 0.375, bent/002 -0.125, cut/001 0.5 */
	static const struct oc_pred f0[3] = {
		{ "/d/c/test/bent/001.png", 1, "bent", 0.875 },
		{ "/d/c/test/cut/002.png", 1, "cut", 0.25 },
		{ "/d/c/test/good/000.png", 0, "good", 0.9375 },
	};
	static const struct oc_pred f1[3] = {
		{ "/d/c/test/bent/000.png", 1, "bent", 0.625 },
		{ "/d/c/test/bent/002.png", 1, "bent", 0.125 },
		{ "/d/c/test/cut/001.png", 1, "cut", 0.75 },
	};
	/* repeat 1 would win every cell, and has maps, but is not drawn */
	static const struct oc_pred r1[2] = {
		{ "/d/c/test/bent/000.png", 1, "bent", 8 },
		{ "/d/c/test/cut/001.png", 1, "cut", -8 },
	};
	write_oc_unit(root, 0, 0, 0.5, 2.0, f0, 3);
	write_oc_unit(root, 0, 1, 0.25, 4.0, f1, 3);
	write_oc_unit(root, 1, 0, 0.5, 1.0, r1, 2);
	write_oc_unit(root, 1, 1, 0.5, 1.0, r1, 2);
	struct json *j = build(&c, NULL);
	const struct json *maps = at(j, "models", "oc", "maps", NULL);
	assert_true(num(maps, "repeat", NULL, NULL, NULL) == 0);
	assert_true(num(maps, "width", NULL, NULL, NULL) == 8);
	assert_true(num(maps, "height", NULL, NULL, NULL) == 4);
	assert_true(num(maps, "channels", NULL, NULL, NULL) == 1);
	const struct json *rows = json_get(maps, "rows");
	assert_int_equal(json_size(rows), 2);
	const struct json *bent = json_at(rows, 0), *cut = json_at(rows, 1);
	assert_string_equal(json_string(json_get(bent, "defect")), "bent");
	assert_string_equal(json_string(json_get(cut, "defect")), "cut");
	assert_cell(json_get(bent, "best"), root, "r0-f1", "/d/c/test/bent/000.png",
		    "/d/c/ground_truth/bent/000_mask.png", 0.625, 0.25, 0, 4.0);
	assert_cell(json_get(bent, "worst"), root, "r0-f1", "/d/c/test/bent/002.png",
		    "/d/c/ground_truth/bent/002_mask.png", 0.125, 0.25, 1, 4.0);
	assert_cell(json_get(cut, "best"), root, "r0-f1", "/d/c/test/cut/001.png",
		    "/d/c/ground_truth/cut/001_mask.png", 0.75, 0.25, 2, 4.0);
	assert_cell(json_get(cut, "worst"), root, "r0-f0", "/d/c/test/cut/002.png",
		    "/d/c/ground_truth/cut/002_mask.png", 0.25, 0.5, 1, 2.0);
	json_free(j);

	/* no unit of repeat 0 kept its maps: null */
	write_oc_unit(root, 0, 0, 0.5, NAN, f0, 3);
	write_oc_unit(root, 0, 1, 0.25, NAN, f1, 3);
	j = build(&c, NULL);
	assert_int_equal(json_type(at(j, "models", "oc", "maps", NULL)), JSON_NULL);
	json_free(j);
	test_rm_rf(root);
	free(root);
}

/* The verdict on the unit files of tests/data/verdict/<scenario>, against
 * the outcome make_verdict.py worked out there. */
static void check_verdict(const char *scenario)
{
	static const char *const names[3] = { "w", "x", "y" };
	char *root = xasprintf("%s/tests/data/verdict/%s", DARKFOLD_SOURCE_DIR, scenario);
	char *exp_path = xasprintf("%s/expected.json", root);
	struct json *want = json_parse_file(exp_path);
	assert_non_null(want);
	struct summary_config c = {
		.experiment = "verdict", .results_path = root, .models = names, .n_models = 3,
		.k = 5, .repeats = 1, .positive = 1, .beta = 2.0, .alpha = 0.05,
		.threshold_policy = "fixed", .primary = "auroc", .cost_fp = 1, .cost_fn = 1,
		.bootstrap = 0, .seed = 1,
	};
	struct json *j = build(&c, NULL);
	const struct json *v = json_get(j, "verdict");
	assert_string_equal(json_string(json_get(v, "primary")), "auroc");
	assert_string_equal(json_string(json_get(v, "outcome")), json_string(json_get(want, "outcome")));
	const struct json *wm = json_get(want, "models"), *gm = json_get(v, "models");
	assert_int_equal(json_size(gm), json_size(wm));
	for (int i = 0; i < json_size(wm); i++)
		assert_string_equal(json_string(json_at(gm, i)), json_string(json_at(wm, i)));
	/* the best baseline: the highest of the three baselines' mean AUROC */
	const struct json *bb = json_get(v, "best_baseline");
	double best_base = -1;
	static const char *const bases[3] = { "always_anomalous", "always_normal", "stratified_random" };
	for (int b = 0; b < 3; b++) {
		double m = json_number(json_get(at(j, "baselines", bases[b], "metrics", "auroc"), "mean"));
		if (m > best_base)
			best_base = m;
	}
	near(num(bb, "value", NULL, NULL, NULL), best_base, 1e-12);
	assert_true(best_base >= 0.5);
	const struct json *wr = json_get(want, "ranking"), *gr = json_get(v, "ranking");
	assert_int_equal(json_size(gr), 3);
	for (int i = 0; i < 3; i++) {
		const struct json *a = json_at(gr, i), *b = json_at(wr, i);
		assert_string_equal(json_string(json_get(a, "model")), json_string(json_get(b, "model")));
		near(num(a, "mean", NULL, NULL, NULL), num(b, "mean", NULL, NULL, NULL), 1e-12);
		near(num(a, "ci_low", NULL, NULL, NULL), num(b, "ci_low", NULL, NULL, NULL), 1e-9);
		near(num(a, "ci_high", NULL, NULL, NULL), num(b, "ci_high", NULL, NULL, NULL), 1e-9);
		const struct json *av = json_get(a, "vs_top"), *bv = json_get(b, "vs_top");
		if (json_type(bv) == JSON_NULL) {
			assert_int_equal(json_type(av), JSON_NULL);
			continue;
		}
		near(num(av, "diff_mean", NULL, NULL, NULL), num(bv, "diff_mean", NULL, NULL, NULL), 1e-12);
		near(num(av, "p_holm", NULL, NULL, NULL), num(bv, "p_holm", NULL, NULL, NULL), 1e-7);
		/* the raw p of the same pair (a before b in model order: w, x, y) */
		const char *top = json_string(json_get(json_at(wr, 0), "model"));
		const char *me = json_string(json_get(b, "model"));
		const struct json *x = strcmp(top, me) < 0 ? find_comparison(j, top, me, "auroc")
							  : find_comparison(j, me, top, "auroc");
		near(num(x, "p", NULL, NULL, NULL), num(bv, "p", NULL, NULL, NULL), 1e-7);
		assert_int_equal(json_bool(json_get(av, "separated")), json_bool(json_get(bv, "separated")));
		const struct json *need = json_get(bv, "repeats_needed");
		if (json_type(need) == JSON_NULL)
			assert_int_equal(json_type(json_get(av, "repeats_needed")), JSON_NULL);
		else
			assert_true(num(av, "repeats_needed", NULL, NULL, NULL) == json_number(need));
	}
	/* best follows the primary metric */
	assert_string_equal(json_string(at(j, "best", "metric", NULL, NULL)), "auroc");
	assert_string_equal(json_string(at(j, "best", "model", NULL, NULL)),
			    json_string(json_get(json_at(wr, 0), "model")));
	json_free(j);
	json_free(want);
	free(exp_path);
	free(root);
}

static void summary_verdict_should_name_a_clear_winner(void **state)
{
	(void)state;
	check_verdict("clear_winner");
}

static void summary_verdict_should_report_a_tie_at_the_top(void **state)
{
	(void)state;
	check_verdict("tie");
}

static void summary_verdict_should_say_when_nothing_beats_the_baseline(void **state)
{
	(void)state;
	check_verdict("no_model_beats_baseline");
}

/* w's lead over x has a raw p of 0.0349, below alpha, but a Holm-adjusted p
 * of 0.0698 across the three pairs, above it: x is not separated from w */
static void summary_verdict_should_separate_by_holm_adjusted_p(void **state)
{
	(void)state;
	check_verdict("holm_tie");
}

/* w's mean AUROC, 0.825, is far above the best baseline's, but its interval
 * reaches down to 0.339, below it: no model beats the baseline */
static void summary_verdict_should_judge_the_baseline_by_the_interval(void **state)
{
	(void)state;
	check_verdict("wide_interval");
}

int main(void)
{
	stats_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(summary_should_give_fold_means_and_t_intervals),
		cmocka_unit_test(units_with_different_blas_cores_should_be_flagged),
		cmocka_unit_test(summary_should_list_the_times_of_each_unit),
		cmocka_unit_test(summary_should_pool_predictions_with_intervals),
		cmocka_unit_test(summary_should_run_baselines_on_the_same_labels),
		cmocka_unit_test(summary_should_compare_models_with_corrected_tests),
		cmocka_unit_test(summary_should_judge_each_unit_at_its_threshold),
		cmocka_unit_test(summary_bootstrap_should_follow_alpha),
		cmocka_unit_test(summary_should_name_the_file_of_a_bad_unit),
		cmocka_unit_test(summary_should_refuse_corrupt_and_stale_units),
		cmocka_unit_test(summary_should_follow_the_positive_class),
		cmocka_unit_test(summary_should_pool_repeats),
		cmocka_unit_test(summary_should_pick_the_anomaly_map_cells),
		cmocka_unit_test(summary_verdict_should_name_a_clear_winner),
		cmocka_unit_test(summary_verdict_should_report_a_tie_at_the_top),
		cmocka_unit_test(summary_verdict_should_say_when_nothing_beats_the_baseline),
		cmocka_unit_test(summary_verdict_should_separate_by_holm_adjusted_p),
		cmocka_unit_test(summary_verdict_should_judge_the_baseline_by_the_interval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
