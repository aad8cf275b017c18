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

/* The threshold in (0,1) maximising F-beta on (label, p) for the positive
 * class; ties go to the threshold closest to 0.5. Used on the inner split.
 * Each candidate split of the sorted distinct scores is represented by 0.5
 * when 0.5 already gives it, else by the midpoint between the neighbouring
 * scores (with 0 and 1 as outer ends). Returns 0.5 when n == 0 or F-beta is
 * undefined everywhere. */
double metrics_tune_threshold(const struct metrics_input *in, int positive, double beta);

/* The same for an anomaly score of any range (higher = more anomalous; a
 * one-class model's): the candidates are the lowest score, the midpoints
 * between neighbouring distinct scores and the next double above the
 * highest; ties go to the lowest threshold. Returns 0.5 when n == 0. */
double metrics_tune_score_threshold(const struct metrics_input *in, int positive, double beta);

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
