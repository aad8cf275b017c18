/* metrics.h: per-fold metrics computed from per-image scores.
 *
 * A score is p_anomalous in [0,1]. A prediction is "anomalous" when
 * p >= threshold. Positive-class-dependent metrics (precision, recall, f1,
 * f_beta, auprc) are computed for the configured positive class; recall and
 * f_beta are also returned for the other class. Undefined values (0/0) are
 * NAN and come with a reason in `undefined`. */
#ifndef DARKFOLD_METRICS_H
#define DARKFOLD_METRICS_H

struct jw;

struct metrics_input {
	const int *label;   /* 0 normal, 1 anomalous */
	const double *p;    /* p_anomalous */
	const char *const *defect; /* defect type per image ("good" for normal), may be NULL */
	int n;
	/* Optional per-image thresholds (for predictions pooled over units with
	 * different thresholds); NULL: the threshold argument applies to all. */
	const double *threshold;
};

/* The scalar metrics, in the order of docs/results.md; METRICS_N of them. */
enum metrics_id {
	METRICS_LOSS,
	METRICS_ACCURACY,
	METRICS_BALANCED_ACCURACY,
	METRICS_PRECISION,
	METRICS_RECALL,
	METRICS_SPECIFICITY,
	METRICS_F1,
	METRICS_F2,
	METRICS_RECALL_OTHER,
	METRICS_F2_OTHER,
	METRICS_AUROC,
	METRICS_AUPRC,
	METRICS_N
};

struct metrics {
	double loss; /* mean cross-entropy, log clipped at 1e-15 */
	double accuracy, balanced_accuracy, precision, recall, specificity;
	double f1, fbeta;
	double recall_other, fbeta_other; /* with the other class positive */
	double auroc, auprc;
	long tp, fp, tn, fn; /* for the configured positive class */
	int n_defects;
	char **defect_names;    /* sorted */
	double *defect_recall;  /* share of that defect's images called anomalous */
	int *defect_n;
	char undefined[256];    /* "; "-joined reasons for NAN fields, or "" */
	/* Per metric (enum metrics_id): why it is NAN (a static string), or NULL. */
	const char *reason[METRICS_N];
};

/* positive: 1 = anomalous positive (default), 0 = normal positive.
 * Definitions (positive class counts tp, fp, tn, fn):
 *   accuracy (tp+tn)/n; precision tp/(tp+fp); recall tp/(tp+fn);
 *   specificity tn/(tn+fp); balanced_accuracy (recall+specificity)/2;
 *   F-beta (1+b^2)tp / ((1+b^2)tp + b^2 fn + fp) (so 0 when tp = 0 but
 *   there are positives or positive predictions); f1 with b = 1;
 *   auroc: Mann-Whitney with midranks (ties count one half), on the score
 *   for the positive class (p, or -p for normal positive), any range;
 *   auprc: average precision, sum over distinct score levels (descending,
 *   ties grouped) of (R_i - R_{i-1}) P_i.
 * defect_recall: per defect name of the anomalous images (label 1), the share
 * predicted anomalous; n_defects is 0 when in->defect is NULL.
 * Returns 0, or -1 with a message when n < 0, positive is not 0/1, beta <= 0,
 * a label is not 0/1 or a score is not finite. out is zeroed first; release
 * with metrics_release(). n == 0 gives all metrics NAN with reasons. */
int metrics_compute(const struct metrics_input *in, double threshold, int positive, double beta,
		    struct metrics *out);
void metrics_release(struct metrics *m);

/* How a unit's threshold is chosen on the inner validation split (scores
 * where higher means more anomalous, probabilities or not):
 *   FIXED            `fixed`;
 *   TUNED            maximise F-beta for the positive class;
 *   NORMAL_QUANTILE  the lowest threshold that rejects at most 1 - quantile
 *                    of the normal images (the quantile of their scores);
 *   RECALL_TARGET    lowering the threshold from the top, the first one whose
 *                    anomalous recall reaches recall_target (the highest such
 *                    threshold, so the fewest normal images rejected).
 * Candidates: each split of the sorted distinct scores, represented by the
 * centre (0.5 for scores in [0, 1], else the middle of the score range) when
 * it gives that split, else by the midpoint between the neighbouring scores;
 * the outer ends are 0 and 1 for scores in [0, 1], else one score range
 * beyond the extremes. Ties (equal F-beta) go to the candidate closest to the
 * centre. With no images, or no candidate meeting the rule (e.g. F-beta
 * undefined everywhere), the result is the centre. With no normal images every
 * candidate meets NORMAL_QUANTILE (the lowest is taken); with no anomalous
 * images every candidate meets RECALL_TARGET (the highest is taken). */
enum metrics_threshold_policy {
	METRICS_THR_FIXED = 0,
	METRICS_THR_TUNED,
	METRICS_THR_NORMAL_QUANTILE,
	METRICS_THR_RECALL_TARGET
};
struct metrics_threshold {
	enum metrics_threshold_policy policy;
	double fixed;         /* FIXED */
	int positive;         /* TUNED: 1 anomalous positive, 0 normal */
	double beta;          /* TUNED: > 0 */
	double quantile;      /* NORMAL_QUANTILE: in (0, 1) */
	double recall_target; /* RECALL_TARGET: in (0, 1] */
};
/* NULL when t's parameters are valid, else a static message. */
const char *metrics_threshold_check(const struct metrics_threshold *t);
/* The threshold t's policy picks on (label, p); the caller checks t first. */
double metrics_choose_threshold(const struct metrics_input *in, const struct metrics_threshold *t);
/* metrics_choose_threshold with TUNED. */
double metrics_tune_threshold(const struct metrics_input *in, int positive, double beta);

/* For scores that are not probabilities: the cross-entropy loss means
 * nothing, so m's loss becomes NAN with the reason "the score is not a
 * probability". */
void metrics_mark_score(struct metrics *m);

/* Name of a metric as in docs/results.md ("loss", ..., "f2",
 * "recall_other_positive", "f2_other_positive", "auroc", "auprc"), or NULL. */
const char *metrics_name(int id);
/* The metric's id by name, or -1. */
int metrics_id(const char *name);
/* Its value in m. */
double metrics_value(const struct metrics *m, int id);
/* 1 if the metric is a proportion k/n (Wilson interval applies: accuracy,
 * precision, recall, specificity, recall_other_positive); then *k and *n get
 * the counts from m. Otherwise 0 with *k = *n = 0. */
int metrics_proportion(const struct metrics *m, int id, long *k, long *n);
/* 1 if larger is better (all but loss). */
int metrics_higher_is_better(int id);

/* Write m as the unit file's `metrics` object (docs/results.md): the caller
 * has written the key (or is inside an array). */
/* Write m's recall per defect type as a JSON object
 * { "<defect>": { "recall", "n" }, ... } (used inside metrics_write_json and
 * for the pooled predictions of summary.json). */
void metrics_write_defects(struct jw *w, const struct metrics *m);
void metrics_write_json(struct jw *w, const struct metrics *m, int positive, double beta,
			double threshold);

/* ROC and precision-recall points of the scores for the positive class, one
 * per distinct score level plus the start point: ROC from (0,0) to (1,1);
 * PR as (recall, precision), starting at (0, precision of the top level).
 * Arrays are new (caller frees). Returns 0, or -1 without a message (and
 * NULL arrays, count 0) when either class is absent (ROC) or there are no
 * positives (PR). */
int metrics_roc(const struct metrics_input *in, int positive, double **x, double **y, int *n);
int metrics_pr(const struct metrics_input *in, int positive, double **x, double **y, int *n);

#endif
