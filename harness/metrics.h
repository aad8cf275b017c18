/* metrics.h: per-fold metrics computed from per-image scores.
 *
 * A score is p_anomalous in [0,1]. A prediction is "anomalous" when
 * p >= threshold. Positive-class-dependent metrics (precision, recall, f1,
 * f_beta, auprc) are computed for the configured positive class; recall and
 * f_beta are also returned for the other class. Undefined values (0/0) are
 * NAN and come with a reason in `undefined`. */
#ifndef DARKFOLD_METRICS_H
#define DARKFOLD_METRICS_H

struct metrics_input {
	const int *label;   /* 0 normal, 1 anomalous */
	const double *p;    /* p_anomalous */
	const char *const *defect; /* defect type per image ("good" for normal), may be NULL */
	int n;
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
};

/* positive: 1 = anomalous positive (default), 0 = normal positive. */
int metrics_compute(const struct metrics_input *in, double threshold, int positive, double beta,
		    struct metrics *out);
void metrics_release(struct metrics *m);

/* The threshold in (0,1) maximising F-beta on (label, p) for the positive
 * class; ties go to the threshold closest to 0.5. Used on the inner split. */
double metrics_tune_threshold(const struct metrics_input *in, int positive, double beta);

#endif
