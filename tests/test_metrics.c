/* test_metrics.c: per-fold metrics against values worked out by hand. */
#include "metrics.h"

#include "error.h"
#include "helpers.h"
#include "json.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define TOL 1e-12
#define near(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

/* Six images with tied scores:
 *   label  0    0    1    1    0    1
 *   p     .1   .4   .4   .8   .8   .9 */
static const int tie_label[6] = { 0, 0, 1, 1, 0, 1 };
static const double tie_p[6] = { 0.1, 0.4, 0.4, 0.8, 0.8, 0.9 };

static void metrics_should_count_ties_as_one_half_in_auroc(void **state)
{
	(void)state;
	struct metrics_input in = { tie_label, tie_p, NULL, 6, NULL };
	struct metrics m;
	assert_int_equal(metrics_compute(&in, 0.35, 1, 2.0, &m), 0);
	/* pairs (positive, negative): .4 vs {.1 win, .4 tie, .8 loss} = 1.5,
	 * .8 vs {1, 1, .5} = 2.5, .9 vs all = 3: 7 of 9 */
	near(m.auroc, 7.0 / 9, TOL);
	/* AP: levels .9 (R 1/3, P 1), .8 (R 2/3, P 2/3), .4 (R 1, P 3/5):
	 * 1/3 + 2/9 + 1/5 = 34/45 */
	near(m.auprc, 34.0 / 45, TOL);
	/* p >= .35: five called anomalous: tp 3, fp 2, tn 1, fn 0 */
	assert_int_equal(m.tp, 3);
	assert_int_equal(m.fp, 2);
	assert_int_equal(m.tn, 1);
	assert_int_equal(m.fn, 0);
	near(m.accuracy, 4.0 / 6, TOL);
	near(m.precision, 3.0 / 5, TOL);
	near(m.recall, 1.0, TOL);
	near(m.specificity, 1.0 / 3, TOL);
	near(m.balanced_accuracy, 2.0 / 3, TOL);
	near(m.f1, 6.0 / 8, TOL);    /* 2tp / (2tp + fp + fn) */
	near(m.fbeta, 15.0 / 17, TOL); /* 5tp / (5tp + 4fn + fp) */
	near(m.recall_other, 1.0 / 3, TOL);
	near(m.fbeta_other, 5.0 / 13, TOL); /* tp'=1 fn'=2 fp'=0 */
	/* python3: mean of -log(p or 1-p) = 0.5784031417840181 */
	near(m.loss, 0.5784031417840181, 1e-12);
	assert_string_equal(m.undefined, "");
	metrics_release(&m);

	/* normal positive: the Mann-Whitney statistic is symmetric */
	assert_int_equal(metrics_compute(&in, 0.35, 0, 2.0, &m), 0);
	near(m.auroc, 7.0 / 9, TOL);
	assert_int_equal(m.tp, 1);
	assert_int_equal(m.fn, 2);
	near(m.recall, 1.0 / 3, TOL);
	near(m.recall_other, 1.0, TOL);
	near(m.fbeta_other, 15.0 / 17, TOL);
	/* AP for normal (scores -p): levels -.1 (tp1: R1/3 P1), -.4 (tp2 fp1:
	 * R2/3 P2/3), -.8 (tp3 fp2: R1 P3/5): 34/45 as well */
	near(m.auprc, 34.0 / 45, TOL);
	metrics_release(&m);
}

static void metrics_should_accept_any_score_range_for_ranking(void **state)
{
	(void)state;
	double p[6];
	for (int i = 0; i < 6; i++)
		p[i] = 10 * tie_p[i] - 7; /* -6 .. 2 */
	struct metrics_input in = { tie_label, p, NULL, 6, NULL };
	struct metrics m;
	assert_int_equal(metrics_compute(&in, 0.5, 1, 2.0, &m), 0);
	near(m.auroc, 7.0 / 9, TOL);
	near(m.auprc, 34.0 / 45, TOL);
	metrics_release(&m);
}

static void metrics_should_give_null_with_reason_for_a_one_class_fold(void **state)
{
	(void)state;
	int label[3] = { 0, 0, 0 };
	double p[3] = { 0.1, 0.2, 0.3 };
	struct metrics_input in = { label, p, NULL, 3, NULL };
	struct metrics m;
	assert_int_equal(metrics_compute(&in, 0.5, 1, 2.0, &m), 0);
	near(m.accuracy, 1.0, TOL);
	near(m.specificity, 1.0, TOL);
	assert_true(isnan(m.recall));
	assert_true(isnan(m.precision));
	assert_true(isnan(m.auroc));
	assert_true(isnan(m.auprc));
	assert_true(isnan(m.fbeta));
	assert_true(isnan(m.balanced_accuracy));
	near(m.fbeta_other, 1.0, TOL);
	assert_string_equal(m.reason[METRICS_RECALL], "no anomalous images");
	assert_string_equal(m.reason[METRICS_AUROC], "only one class in the fold");
	assert_string_equal(m.reason[METRICS_PRECISION], "no positive predictions");
	assert_null(m.reason[METRICS_ACCURACY]);
	assert_non_null(strstr(m.undefined, "recall: no anomalous images"));
	assert_non_null(strstr(m.undefined, "auroc: only one class in the fold"));

	/* written as JSON: null values and the reasons, never NaN */
	struct jw w;
	jw_init(&w);
	metrics_write_json(&w, &m, 1, 2.0, 0.5);
	assert_null(strstr(w.buf, "nan"));
	struct json *j = json_parse(w.buf, "metrics");
	assert_non_null(j);
	assert_int_equal(json_type(json_get(j, "recall")), JSON_NULL);
	assert_int_equal(json_type(json_get(j, "auroc")), JSON_NULL);
	assert_true(json_number(json_get(j, "accuracy")) == 1.0);
	assert_string_equal(json_string(json_get(json_get(j, "undefined"), "auroc")),
			    "only one class in the fold");
	assert_string_equal(json_string(json_get(j, "positive")), "anomalous");
	assert_true(json_number(json_get(json_get(j, "confusion"), "tn")) == 3);
	json_free(j);
	jw_release(&w);
	metrics_release(&m);

	/* no images at all */
	in.n = 0;
	assert_int_equal(metrics_compute(&in, 0.5, 1, 2.0, &m), 0);
	assert_true(isnan(m.accuracy));
	assert_true(isnan(m.loss));
	assert_string_equal(m.reason[METRICS_ACCURACY], "no images");
	metrics_release(&m);
}

static void metrics_should_score_perfect_and_all_wrong_predictors(void **state)
{
	(void)state;
	int label[4] = { 1, 1, 0, 0 };
	double perfect[4] = { 1, 1, 0, 0 };
	double wrong[4] = { 0.1, 0.2, 0.8, 0.9 };
	double inverse[4] = { 0, 0, 1, 1 };
	struct metrics_input in = { label, perfect, NULL, 4, NULL };
	struct metrics m;
	assert_int_equal(metrics_compute(&in, 0.5, 1, 2.0, &m), 0);
	for (int id = METRICS_ACCURACY; id < METRICS_N; id++)
		near(metrics_value(&m, id), 1.0, TOL);
	near(m.loss, 0.0, TOL);
	metrics_release(&m);

	in.p = wrong;
	assert_int_equal(metrics_compute(&in, 0.5, 1, 2.0, &m), 0);
	for (int id = METRICS_ACCURACY; id <= METRICS_AUROC; id++)
		near(metrics_value(&m, id), 0.0, TOL);
	/* AP: .9 neg, .8 neg (R 0), .2 pos (R 1/2, P 1/3), .1 pos (R 1, P 1/2) */
	near(m.auprc, 1.0 / 6 + 1.0 / 4, TOL);
	assert_int_equal(m.tp, 0);
	assert_int_equal(m.fp, 2);
	metrics_release(&m);

	/* p exactly wrong: the log is clipped at 1e-15, -log(1e-15) = 34.538776394910684 */
	in.p = inverse;
	assert_int_equal(metrics_compute(&in, 0.5, 1, 2.0, &m), 0);
	near(m.loss, 34.538776394910684, 1e-9);
	metrics_release(&m);
}

/* 224 normal (p .1), 92 anomalous of which `missed` have p .2, the rest .9;
 * or the mirror with normal images called anomalous. */
static void study(int *label, double *p, int anomalous_missed, int normal_flagged)
{
	for (int i = 0; i < 224; i++) {
		label[i] = 0;
		p[i] = i < normal_flagged ? 0.7 : 0.1;
	}
	for (int i = 0; i < 92; i++) {
		label[224 + i] = 1;
		p[224 + i] = i < anomalous_missed ? 0.2 : 0.9;
	}
}

static void metrics_should_reproduce_the_study_scale(void **state)
{
	(void)state;
	int label[316];
	double p[316];
	struct metrics_input in = { label, p, NULL, 316, NULL };
	struct metrics m;

	/* 58 anomalous called normal, normal positive: tp 224, fp 58, fn 0:
	 * accuracy 258/316 = 0.8165, recall 1, F2 = 1120/1178 = 0.9508 */
	study(label, p, 58, 0);
	assert_int_equal(metrics_compute(&in, 0.5, 0, 2.0, &m), 0);
	near(m.accuracy, 0.8165, 5e-5);
	near(m.recall, 1.000, TOL);
	near(m.fbeta, 0.9508, 5e-5);
	near(m.fbeta, 1120.0 / 1178, TOL);
	metrics_release(&m);
	/* same predictions, anomalous positive: recall 34/92, and the normal-positive
	 * figures as the "other" ones */
	assert_int_equal(metrics_compute(&in, 0.5, 1, 2.0, &m), 0);
	near(m.recall, 34.0 / 92, TOL);
	near(m.recall_other, 1.0, TOL);
	near(m.fbeta_other, 0.9508, 5e-5);
	metrics_release(&m);

	/* 58 normal called anomalous, anomalous positive: tp 92, fp 58:
	 * recall 1, F2 = 460/518 = 0.8880 */
	study(label, p, 0, 58);
	assert_int_equal(metrics_compute(&in, 0.5, 1, 2.0, &m), 0);
	near(m.accuracy, 0.8165, 5e-5);
	near(m.recall, 1.000, TOL);
	near(m.fbeta, 0.8880, 5e-5);
	near(m.fbeta, 460.0 / 518, TOL);
	metrics_release(&m);
}

static void metrics_should_report_recall_per_defect_type(void **state)
{
	(void)state;
	int label[5] = { 0, 1, 1, 1, 0 };
	double p[5] = { 0.1, 0.9, 0.2, 0.6, 0.7 };
	const char *defect[5] = { "good", "cut", "bent", "bent", "good" };
	struct metrics_input in = { label, p, defect, 5, NULL };
	struct metrics m;
	/* normal positive: defect recall is still "called anomalous" */
	assert_int_equal(metrics_compute(&in, 0.5, 0, 2.0, &m), 0);
	assert_int_equal(m.n_defects, 2);
	assert_string_equal(m.defect_names[0], "bent");
	assert_string_equal(m.defect_names[1], "cut");
	assert_int_equal(m.defect_n[0], 2);
	near(m.defect_recall[0], 0.5, TOL);
	assert_int_equal(m.defect_n[1], 1);
	near(m.defect_recall[1], 1.0, TOL);
	metrics_release(&m);
}

static void metrics_should_apply_per_image_thresholds(void **state)
{
	(void)state;
	int label[4] = { 1, 1, 0, 0 };
	double p[4] = { 0.3, 0.6, 0.4, 0.7 };
	double thr[4] = { 0.2, 0.5, 0.5, 0.8 };
	struct metrics_input in = { label, p, NULL, 4, thr };
	struct metrics m;
	assert_int_equal(metrics_compute(&in, 0.99, 1, 2.0, &m), 0);
	assert_int_equal(m.tp, 2);
	assert_int_equal(m.tn, 2);
	metrics_release(&m);
}

/* p >= threshold is anomalous: a score equal to the threshold counts as a
 * positive call (anomalous positive: tp and fp), and as a negative one with
 * normal positive. */
static void metrics_should_call_a_score_at_the_threshold_anomalous(void **state)
{
	(void)state;
	int label[2] = { 1, 0 };
	double p[2] = { 0.25, 0.25 };
	struct metrics_input in = { label, p, NULL, 2, NULL };
	struct metrics m;
	assert_int_equal(metrics_compute(&in, 0.25, 1, 2.0, &m), 0);
	assert_int_equal(m.tp, 1);
	assert_int_equal(m.fp, 1);
	metrics_release(&m);
	assert_int_equal(metrics_compute(&in, 0.25, 0, 2.0, &m), 0);
	assert_int_equal(m.fn, 1);
	assert_int_equal(m.tn, 1);
	metrics_release(&m);
}

static void metrics_should_tune_the_threshold_for_f_beta(void **state)
{
	(void)state;
	int label[4] = { 0, 1, 0, 1 };
	double p[4] = { 0.1, 0.2, 0.3, 0.4 };
	struct metrics_input in = { label, p, NULL, 4, NULL };
	/* F2 by split (anomalous positive): all 10/12, p>=.2 10/11, p>=.3 1/2,
	 * p>=.4 5/9, none 0: best between .1 and .2 */
	near(metrics_tune_threshold(&in, 1, 2.0), 0.15, TOL);
	/* normal positive (called normal below t): best with p < .4 (10/11) */
	near(metrics_tune_threshold(&in, 0, 2.0), 0.35, TOL);

	/* a separable set is split at 0.5 when 0.5 separates it */
	int l2[4] = { 0, 0, 1, 1 };
	double p2[4] = { 0.1, 0.3, 0.6, 0.8 };
	in.label = l2;
	in.p = p2;
	near(metrics_tune_threshold(&in, 1, 2.0), 0.5, TOL);
	double p3[4] = { 0.1, 0.2, 0.3, 0.4 };
	in.p = p3;
	near(metrics_tune_threshold(&in, 1, 2.0), 0.25, TOL);

	/* a tie in F1 (2/3 for "all anomalous" and for p >= .9): the split holding
	 * 0.5 wins over the one at .05 */
	int l4[4] = { 1, 0, 0, 1 };
	double p4[4] = { 0.1, 0.2, 0.3, 0.9 };
	in.label = l4;
	in.p = p4;
	near(metrics_tune_threshold(&in, 1, 1.0), 0.5, TOL);
	in.n = 0;
	near(metrics_tune_threshold(&in, 1, 2.0), 0.5, TOL);
}

static double choose(const int *label, const double *p, int n, enum metrics_threshold_policy policy,
		     double param)
{
	struct metrics_input in = { label, p, NULL, n, NULL };
	struct metrics_threshold t = { .policy = policy, .fixed = 0.5, .positive = 1, .beta = 2.0,
				       .quantile = param, .recall_target = param };
	assert_null(metrics_threshold_check(&t));
	return metrics_choose_threshold(&in, &t);
}

static void metrics_should_pick_the_normal_quantile_threshold(void **state)
{
	(void)state;
	/* ten normal scores .1 ... .9, .95 and two anomalous ones, .85 and .97 */
	int label[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1 };
	double p[12] = { .1, .2, .3, .4, .5, .6, .7, .8, .9, .95, .85, .97 };
	/* q .8: at most 2 of 10 normal images rejected; p >= .85 rejects .9 and
	 * .95 only, p >= .8 three: the lowest such split lies in (.8, .85] */
	near(choose(label, p, 12, METRICS_THR_NORMAL_QUANTILE, 0.8), 0.825, TOL);
	/* q .95: at most 0.5 normal images, so none: (.95, .97] */
	near(choose(label, p, 12, METRICS_THR_NORMAL_QUANTILE, 0.95), 0.96, TOL);
	/* scores that are not probabilities: 10 p - 3, the same split (5, 5.5] */
	double u[12];
	for (int i = 0; i < 12; i++)
		u[i] = 10 * p[i] - 3;
	near(choose(label, u, 12, METRICS_THR_NORMAL_QUANTILE, 0.8), 5.25, TOL);
}

static void metrics_should_pick_the_recall_target_threshold(void **state)
{
	(void)state;
	int label[8] = { 1, 1, 1, 1, 0, 0, 0, 0 };
	double p[8] = { .3, .6, .7, .9, .1, .4, .5, .8 };
	/* recall .75 needs 3 of 4 anomalous: p >= .6 holds .6, .7, .9, p >= .7
	 * two: the highest split reaching it lies in (.5, .6] (0.5 itself gives
	 * another split) */
	near(choose(label, p, 8, METRICS_THR_RECALL_TARGET, 0.75), 0.55, TOL);
	/* recall .5: p >= .7 (two of four), in (.6, .7] */
	near(choose(label, p, 8, METRICS_THR_RECALL_TARGET, 0.5), 0.65, TOL);
	/* recall 1: every anomalous image, p >= .3, in (.1, .3] */
	near(choose(label, p, 8, METRICS_THR_RECALL_TARGET, 1.0), 0.2, TOL);
	/* unbounded scores, the lowest one anomalous: recall 1 needs every image
	 * called anomalous; the outer end is one score range (3) below -1 */
	int l2[4] = { 1, 0, 0, 1 };
	double u[4] = { -1, 0, 1, 2 };
	near(choose(l2, u, 4, METRICS_THR_RECALL_TARGET, 1.0), -2.5, TOL);
	/* 25 anomalous images (scores .51, .52, ... .75) and 4 normal ones
	 * (.1 ... .4), target .28: exactly 7 of 25, though .28 * 25 is
	 * 7.000000000000001 in double. The 7th highest anomalous score is .69,
	 * so the split lies in (.68, .69]; demanding an 8th image would give
	 * (.67, .68] */
	int l3[29];
	double p3[29];
	for (int i = 0; i < 25; i++) {
		l3[i] = 1;
		p3[i] = 0.51 + 0.01 * i;
	}
	for (int i = 25; i < 29; i++) {
		l3[i] = 0;
		p3[i] = 0.1 * (i - 24);
	}
	near(choose(l3, p3, 29, METRICS_THR_RECALL_TARGET, 0.28), 0.685, TOL);
}

static void metrics_should_tune_unbounded_scores(void **state)
{
	(void)state;
	/* separable anomaly scores: F2 is 1 for any split in (-1, 2]; the middle
	 * of the score range, 1, lies inside it */
	int label[4] = { 0, 0, 1, 1 };
	double u[4] = { -3, -1, 2, 5 };
	near(choose(label, u, 4, METRICS_THR_TUNED, 0), 1.0, TOL);
	/* shifted by +100: the same split, the centre moves with the scores */
	double v[4] = { 97, 99, 102, 105 };
	near(choose(label, v, 4, METRICS_THR_TUNED, 0), 101.0, TOL);
	/* the fixed policy ignores the scores */
	near(choose(label, v, 4, METRICS_THR_FIXED, 0), 0.5, TOL);
}

static void metrics_should_reject_bad_threshold_parameters(void **state)
{
	(void)state;
	struct metrics_threshold t = { .policy = METRICS_THR_NORMAL_QUANTILE, .quantile = 1.0 };
	assert_non_null(metrics_threshold_check(&t));
	t.quantile = 0;
	assert_non_null(metrics_threshold_check(&t));
	t.policy = METRICS_THR_RECALL_TARGET;
	t.recall_target = 1.0;
	assert_null(metrics_threshold_check(&t));
	t.recall_target = 1.01;
	assert_non_null(metrics_threshold_check(&t));
	t.recall_target = 0;
	assert_non_null(metrics_threshold_check(&t));
	t.policy = METRICS_THR_TUNED;
	t.beta = 0;
	assert_non_null(metrics_threshold_check(&t));
}

static void metrics_should_trace_roc_and_pr_points(void **state)
{
	(void)state;
	struct metrics_input in = { tie_label, tie_p, NULL, 6, NULL };
	double *x, *y;
	int n;
	assert_int_equal(metrics_roc(&in, 1, &x, &y, &n), 0);
	/* levels .9 .8 .4 .1 after the origin */
	double rx[5] = { 0, 0, 1.0 / 3, 2.0 / 3, 1 }, ry[5] = { 0, 1.0 / 3, 2.0 / 3, 1, 1 };
	assert_int_equal(n, 5);
	for (int i = 0; i < 5; i++) {
		near(x[i], rx[i], TOL);
		near(y[i], ry[i], TOL);
	}
	free(x);
	free(y);
	assert_int_equal(metrics_pr(&in, 1, &x, &y, &n), 0);
	double px[5] = { 0, 1.0 / 3, 2.0 / 3, 1, 1 }, py[5] = { 1, 1, 2.0 / 3, 3.0 / 5, 0.5 };
	assert_int_equal(n, 5);
	for (int i = 0; i < 5; i++) {
		near(x[i], px[i], TOL);
		near(y[i], py[i], TOL);
	}
	free(x);
	free(y);
	int one[2] = { 0, 0 };
	double p[2] = { 0.1, 0.2 };
	struct metrics_input single = { one, p, NULL, 2, NULL };
	assert_int_equal(metrics_roc(&single, 1, &x, &y, &n), -1);
	assert_null(x);
	assert_int_equal(n, 0);
}

static void metrics_should_reject_bad_input(void **state)
{
	(void)state;
	int label[2] = { 0, 2 };
	double p[2] = { 0.1, 0.2 };
	struct metrics_input in = { label, p, NULL, 2, NULL };
	struct metrics m;
	test_stderr_begin();
	assert_int_equal(metrics_compute(&in, 0.5, 1, 2.0, &m), -1);
	label[1] = 1;
	p[0] = NAN;
	assert_int_equal(metrics_compute(&in, 0.5, 1, 2.0, &m), -1);
	p[0] = 0.1;
	assert_int_equal(metrics_compute(&in, 0.5, 3, 2.0, &m), -1);
	assert_int_equal(metrics_compute(&in, 0.5, 1, 0.0, &m), -1);
	char *msg = test_stderr_end();
	assert_non_null(strstr(msg, "error: image 1 has label 2"));
	assert_non_null(strstr(msg, "error: image 0 has a non-finite score"));
	assert_non_null(strstr(msg, "positive class 3"));
	assert_non_null(strstr(msg, "beta 0"));
	free(msg);
	metrics_release(&m);
}

static void metrics_should_name_metrics_as_documented(void **state)
{
	(void)state;
	assert_string_equal(metrics_name(METRICS_F2), "f2");
	assert_string_equal(metrics_name(METRICS_F2_OTHER), "f2_other_positive");
	assert_string_equal(metrics_name(METRICS_RECALL_OTHER), "recall_other_positive");
	assert_int_equal(metrics_id("auprc"), METRICS_AUPRC);
	assert_int_equal(metrics_id("nope"), -1);
	assert_null(metrics_name(METRICS_N));
	assert_false(metrics_higher_is_better(METRICS_LOSS));
	assert_true(metrics_higher_is_better(METRICS_F2));
}

/* Scores of any range: labels 0 0 1 1, scores 2 5 5 9, beta 2. Splits:
 * t = 2 (all anomalous) F2 = 10/12; t = 3.5 (5, 5, 9) F2 = 10/11;
 * t = 7 (9) F2 = 5/9; above 9: 0. The best is the midpoint 3.5. */
static void score_threshold_should_split_scores_of_any_range(void **state)
{
	(void)state;
	const int label[4] = { 0, 0, 1, 1 };
	const double p[4] = { 2.0, 5.0, 5.0, 9.0 };
	struct metrics_input in = { label, p, NULL, 4, NULL };
	near(metrics_tune_threshold(&in, 1, 2.0), 3.5, 1e-12);
	struct metrics m;
	assert_int_equal(metrics_compute(&in, 3.5, 1, 2.0, &m), 0);
	near(m.fbeta, 10.0 / 11, 1e-12);
	metrics_mark_score(&m);
	assert_true(isnan(m.loss));
	assert_string_equal(m.reason[METRICS_LOSS], "the score is not a probability");
	metrics_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(score_threshold_should_split_scores_of_any_range),
		cmocka_unit_test(metrics_should_count_ties_as_one_half_in_auroc),
		cmocka_unit_test(metrics_should_accept_any_score_range_for_ranking),
		cmocka_unit_test(metrics_should_give_null_with_reason_for_a_one_class_fold),
		cmocka_unit_test(metrics_should_score_perfect_and_all_wrong_predictors),
		cmocka_unit_test(metrics_should_reproduce_the_study_scale),
		cmocka_unit_test(metrics_should_report_recall_per_defect_type),
		cmocka_unit_test(metrics_should_apply_per_image_thresholds),
		cmocka_unit_test(metrics_should_call_a_score_at_the_threshold_anomalous),
		cmocka_unit_test(metrics_should_tune_the_threshold_for_f_beta),
		cmocka_unit_test(metrics_should_pick_the_normal_quantile_threshold),
		cmocka_unit_test(metrics_should_pick_the_recall_target_threshold),
		cmocka_unit_test(metrics_should_tune_unbounded_scores),
		cmocka_unit_test(metrics_should_reject_bad_threshold_parameters),
		cmocka_unit_test(metrics_should_trace_roc_and_pr_points),
		cmocka_unit_test(metrics_should_reject_bad_input),
		cmocka_unit_test(metrics_should_name_metrics_as_documented),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
