/* metrics.c: per-fold metrics from per-image scores. */
#include "metrics.h"

#include "error.h"
#include "json.h"
#include "strutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_CLIP 1e-15

static const char *const names[METRICS_N] = {
	"loss", "accuracy", "balanced_accuracy", "precision", "recall", "specificity",
	"f1", "f2", "recall_other_positive", "f2_other_positive", "auroc", "auprc",
};

const char *metrics_name(int id)
{
	return id >= 0 && id < METRICS_N ? names[id] : NULL;
}

int metrics_id(const char *name)
{
	for (int i = 0; name && i < METRICS_N; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

double metrics_value(const struct metrics *m, int id)
{
	switch (id) {
	case METRICS_LOSS: return m->loss;
	case METRICS_ACCURACY: return m->accuracy;
	case METRICS_BALANCED_ACCURACY: return m->balanced_accuracy;
	case METRICS_PRECISION: return m->precision;
	case METRICS_RECALL: return m->recall;
	case METRICS_SPECIFICITY: return m->specificity;
	case METRICS_F1: return m->f1;
	case METRICS_F2: return m->fbeta;
	case METRICS_RECALL_OTHER: return m->recall_other;
	case METRICS_F2_OTHER: return m->fbeta_other;
	case METRICS_AUROC: return m->auroc;
	case METRICS_AUPRC: return m->auprc;
	default: return NAN;
	}
}

int metrics_proportion(const struct metrics *m, int id, long *k, long *n)
{
	*k = *n = 0;
	switch (id) {
	case METRICS_ACCURACY: *k = m->tp + m->tn; *n = m->tp + m->tn + m->fp + m->fn; return 1;
	case METRICS_PRECISION: *k = m->tp; *n = m->tp + m->fp; return 1;
	case METRICS_RECALL: *k = m->tp; *n = m->tp + m->fn; return 1;
	case METRICS_SPECIFICITY: *k = m->tn; *n = m->tn + m->fp; return 1;
	case METRICS_RECALL_OTHER: *k = m->tn; *n = m->tn + m->fp; return 1;
	default: return 0;
	}
}

int metrics_higher_is_better(int id)
{
	return id != METRICS_LOSS;
}

static double ratio(long a, long b)
{
	return b > 0 ? (double)a / (double)b : NAN;
}

static double fbeta_counts(long tp, long fp, long fn, double beta)
{
	double b2 = beta * beta;
	double den = (1 + b2) * tp + b2 * fn + fp;
	return den > 0 ? (1 + b2) * tp / den : NAN;
}

/* Is image i predicted to be of the positive class? */
static int predicted_positive(const struct metrics_input *in, int i, double threshold, int positive)
{
	double t = in->threshold ? in->threshold[i] : threshold;
	int anomalous = in->p[i] >= t;
	return positive ? anomalous : !anomalous;
}

/* Sort context: scores for the positive class. */
struct scored {
	double s;
	int pos; /* 1 if of the positive class */
};

static int cmp_desc(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;
	return (x->s < y->s) - (x->s > y->s);
}

/* (n) scores for the positive class sorted by descending score; *np gets the
 * count of positives. */
static struct scored *sorted_scores(const struct metrics_input *in, int positive, long *np)
{
	struct scored *v = xmalloc(sizeof *v * (size_t)(in->n > 0 ? in->n : 1));
	*np = 0;
	for (int i = 0; i < in->n; i++) {
		v[i].s = positive ? in->p[i] : -in->p[i];
		v[i].pos = in->label[i] == positive;
		*np += v[i].pos;
	}
	qsort(v, (size_t)in->n, sizeof *v, cmp_desc);
	return v;
}

/* Mann-Whitney AUROC with midranks. */
static double auroc(const struct scored *v, int n, long np)
{
	long nn = n - np;
	if (np == 0 || nn == 0)
		return NAN;
	/* v is descending: rank (ascending, 1-based) of position i is n - i */
	double rsum = 0;
	for (int i = 0; i < n;) {
		int j = i;
		long pos = 0;
		while (j < n && v[j].s == v[i].s)
			pos += v[j++].pos;
		/* positions i..j-1 have ascending ranks n-j+1 .. n-i */
		double mid = ((double)(n - j + 1) + (double)(n - i)) / 2;
		rsum += mid * pos;
		i = j;
	}
	return (rsum - (double)np * (np + 1) / 2) / ((double)np * nn);
}

/* Average precision over distinct score levels. */
static double average_precision(const struct scored *v, int n, long np)
{
	if (np == 0)
		return NAN;
	long tp = 0, fp = 0;
	double ap = 0, rprev = 0;
	for (int i = 0; i < n;) {
		int j = i;
		while (j < n && v[j].s == v[i].s) {
			tp += v[j].pos;
			fp += !v[j].pos;
			j++;
		}
		double r = (double)tp / np;
		ap += (r - rprev) * ((double)tp / (tp + fp));
		rprev = r;
		i = j;
	}
	return ap;
}

static void defect_recall(const struct metrics_input *in, double threshold, struct metrics *out)
{
	if (!in->defect)
		return;
	const char **all = xmalloc(sizeof *all * (size_t)(in->n > 0 ? in->n : 1));
	int m = 0;
	for (int i = 0; i < in->n; i++)
		if (in->label[i] == 1 && in->defect[i])
			all[m++] = in->defect[i];
	qsort(all, (size_t)m, sizeof *all, cmp_str);
	int u = 0;
	for (int i = 0; i < m; i++)
		if (i == 0 || strcmp(all[i], all[i - 1]))
			all[u++] = all[i];
	out->n_defects = u;
	out->defect_names = xcalloc((size_t)(u > 0 ? u : 1), sizeof *out->defect_names);
	out->defect_recall = xcalloc((size_t)(u > 0 ? u : 1), sizeof *out->defect_recall);
	out->defect_n = xcalloc((size_t)(u > 0 ? u : 1), sizeof *out->defect_n);
	long *hit = xcalloc((size_t)(u > 0 ? u : 1), sizeof *hit);
	for (int d = 0; d < u; d++)
		out->defect_names[d] = xstrdup(all[d]);
	for (int i = 0; i < in->n; i++) {
		if (in->label[i] != 1 || !in->defect[i])
			continue;
		const char *key = in->defect[i];
		char **found = bsearch(&key, out->defect_names, (size_t)u, sizeof *out->defect_names,
				       cmp_str);
		int d = (int)(found - out->defect_names);
		out->defect_n[d]++;
		hit[d] += predicted_positive(in, i, threshold, 1);
	}
	for (int d = 0; d < u; d++)
		out->defect_recall[d] = ratio(hit[d], out->defect_n[d]);
	free(hit);
	free(all);
}

static void set_reason(struct metrics *m, int id, const char *why)
{
	m->reason[id] = why;
	size_t len = strlen(m->undefined);
	snprintf(m->undefined + len, sizeof m->undefined - len, "%s%s: %s", len ? "; " : "",
		 names[id], why);
}

/* -1 with an error unless n >= 0, positive is 0 or 1, beta > 0 and every
 * image has label 0 or 1 and a finite score. */
static int check_input(const struct metrics_input *in, int positive, double beta)
{
	if (in->n < 0)
		return error("metrics of %d images: the count is negative", in->n);
	if (positive != 0 && positive != 1)
		return error("positive class %d: expected 0 (normal) or 1 (anomalous)", positive);
	if (!(beta > 0) || !isfinite(beta))
		return error("beta %g: expected a positive number", beta);
	for (int i = 0; i < in->n; i++) {
		if (in->label[i] != 0 && in->label[i] != 1)
			return error("image %d has label %d: expected 0 or 1", i, in->label[i]);
		if (!isfinite(in->p[i]))
			return error("image %d has a non-finite score", i);
	}
	return 0;
}

/* The mean log loss and the confusion counts at threshold. */
static void count_outcomes(const struct metrics_input *in, double threshold, int positive,
			   struct metrics *out)
{
	int n = in->n;
	double loss = 0;
	for (int i = 0; i < n; i++) {
		double q = in->label[i] ? in->p[i] : 1 - in->p[i];
		if (q < LOG_CLIP)
			q = LOG_CLIP;
		if (q > 1)
			q = 1;
		loss -= log(q);
		int pred = predicted_positive(in, i, threshold, positive);
		int act = in->label[i] == positive;
		if (pred && act)
			out->tp++;
		else if (pred)
			out->fp++;
		else if (act)
			out->fn++;
		else
			out->tn++;
	}
	out->loss = n > 0 ? loss / n : NAN;
}

/* The rates of n images from the confusion counts. */
static void rates_from_counts(int n, double beta, struct metrics *out)
{
	long tp = out->tp, fp = out->fp, tn = out->tn, fn = out->fn;
	out->accuracy = ratio(tp + tn, n);
	out->precision = ratio(tp, tp + fp);
	out->recall = ratio(tp, tp + fn);
	out->specificity = ratio(tn, tn + fp);
	out->balanced_accuracy = (out->recall + out->specificity) / 2;
	out->f1 = fbeta_counts(tp, fp, fn, 1);
	out->fbeta = fbeta_counts(tp, fp, fn, beta);
	/* other class positive: tn <-> tp, fn <-> fp */
	out->recall_other = out->specificity;
	out->fbeta_other = fbeta_counts(tn, fn, fp, beta);
}

/* Why each metric of n images that came out NAN is undefined. */
static void explain_undefined(int n, int positive, struct metrics *out)
{
	const char *none = "no images";
	const char *no_pos = positive ? "no anomalous images" : "no normal images";
	const char *no_neg = positive ? "no normal images" : "no anomalous images";
	const char *one_class = "only one class in the fold";
	for (int id = 0; id < METRICS_N; id++) {
		if (!isnan(metrics_value(out, id)))
			continue;
		const char *why = none;
		if (n > 0) {
			switch (id) {
			case METRICS_PRECISION: why = "no positive predictions"; break;
			case METRICS_RECALL: why = no_pos; break;
			case METRICS_SPECIFICITY: case METRICS_RECALL_OTHER: why = no_neg; break;
			case METRICS_BALANCED_ACCURACY: case METRICS_AUROC: why = one_class; break;
			case METRICS_F1: case METRICS_F2:
				why = "no positive images and no positive predictions"; break;
			case METRICS_F2_OTHER:
				why = "no negative images and no negative predictions"; break;
			case METRICS_AUPRC: why = no_pos; break;
			default: break;
			}
		}
		set_reason(out, id, why);
	}
}

int metrics_compute(const struct metrics_input *in, double threshold, int positive, double beta,
		    struct metrics *out)
{
	memset(out, 0, sizeof *out);
	if (check_input(in, positive, beta))
		return -1;
	int n = in->n;
	count_outcomes(in, threshold, positive, out);
	rates_from_counts(n, beta, out);

	long np;
	struct scored *v = sorted_scores(in, positive, &np);
	out->auroc = auroc(v, n, np);
	out->auprc = average_precision(v, n, np);
	free(v);
	defect_recall(in, threshold, out);
	explain_undefined(n, positive, out);
	return 0;
}

void metrics_release(struct metrics *m)
{
	if (!m)
		return;
	for (int d = 0; d < m->n_defects; d++)
		free(m->defect_names[d]);
	free(m->defect_names);
	free(m->defect_recall);
	free(m->defect_n);
	memset(m, 0, sizeof *m);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

const char *metrics_threshold_check(const struct metrics_threshold *t)
{
	switch (t->policy) {
	case METRICS_THR_FIXED:
		return isfinite(t->fixed) ? NULL : "the fixed threshold is not finite";
	case METRICS_THR_TUNED:
		return t->beta > 0 ? NULL : "beta must be > 0";
	case METRICS_THR_NORMAL_QUANTILE:
		return t->quantile > 0 && t->quantile < 1 ? NULL : "the quantile must be in (0, 1)";
	case METRICS_THR_RECALL_TARGET:
		return t->recall_target > 0 && t->recall_target <= 1
			       ? NULL
			       : "the recall target must be in (0, 1]";
	}
	return "unknown threshold policy";
}

/* The n scores of in, ascending, without repeats, in a new array (caller
 * frees); *m receives their count. */
static double *distinct_scores(const struct metrics_input *in, int *m)
{
	int n = in->n;
	double *s = xmalloc(sizeof *s * (size_t)n);
	for (int i = 0; i < n; i++)
		s[i] = in->p[i];
	qsort(s, (size_t)n, sizeof *s, cmp_double);
	*m = 0;
	for (int i = 0; i < n; i++)
		if (*m == 0 || s[i] != s[*m - 1])
			s[(*m)++] = s[i];
	return s;
}

/* Counts of each class at or above each distinct level s[j] (m levels):
 * above[j][c] = images of class c with p >= s[j]; above is (m + 1, 2),
 * zeroed, and above[m] stays 0. total[c] (zeroed) counts class c. */
static void count_above(const struct metrics_input *in, const double *s, int m, long (*above)[2],
			long total[2])
{
	for (int i = 0; i < in->n; i++) {
		total[in->label[i]]++;
		double *at = bsearch(&in->p[i], s, (size_t)m, sizeof *s, cmp_double);
		above[at - s][in->label[i]]++;
	}
	for (int j = m - 1; j >= 0; j--) {
		above[j][0] += above[j + 1][0];
		above[j][1] += above[j + 1][1];
	}
}

/* How good the policy finds the j-th candidate threshold, which calls a0
 * normal and a1 anomalous images anomalous (higher is better); NAN when
 * the policy rules it out. */
static double policy_value(const struct metrics_threshold *t, int j, long a0, long a1,
			   const long total[2])
{
	double f = NAN;
	switch (t->policy) {
	case METRICS_THR_TUNED:
		f = t->positive ? fbeta_counts(a1, a0, total[1] - a1, t->beta)
				: fbeta_counts(total[0] - a0, total[1] - a1, a0, t->beta);
		break;
	case METRICS_THR_NORMAL_QUANTILE:
		/* at most 1 - q of the normal images rejected; lowest such threshold */
		if (a0 <= (1 - t->quantile) * (double)total[0] + 1e-9)
			f = -j;
		break;
	case METRICS_THR_RECALL_TARGET:
		/* anomalous recall reached; highest such threshold */
		if (a1 >= t->recall_target * (double)total[1] - 1e-9)
			f = j;
		break;
	default:
		break;
	}
	return f;
}

double metrics_choose_threshold(const struct metrics_input *in, const struct metrics_threshold *t)
{
	int n = in->n;
	if (t->policy == METRICS_THR_FIXED)
		return t->fixed;
	if (n <= 0)
		return 0.5;
	int m;
	double *s = distinct_scores(in, &m);
	/* Scores in [0, 1] are probabilities: candidates stay in (0, 1) and
	 * ties go to the one closest to 0.5. Other scores (unbounded anomaly
	 * scores) get outer ends one score range beyond the extremes and ties go
	 * to the candidate closest to the middle of the range. */
	int bounded = s[0] >= 0 && s[m - 1] <= 1;
	double span = s[m - 1] > s[0] ? s[m - 1] - s[0] : 1;
	double lo_end = bounded ? 0 : s[0] - span, hi_end = bounded ? 1 : s[m - 1] + span;
	double centre = bounded ? 0.5 : (s[0] + s[m - 1]) / 2;
	long total[2] = { 0, 0 };
	long (*above)[2] = xcalloc((size_t)m + 1, sizeof *above); /* (m + 1, 2) */
	count_above(in, s, m, above, total);
	double best_t = centre, best_f = -INFINITY;
	int found = 0;
	for (int j = 0; j <= m; j++) {
		/* thresholds in (lo, hi] predict "anomalous" for p >= s[j] */
		double lo = j == 0 ? lo_end : s[j - 1], hi = j == m ? hi_end : s[j];
		if (lo < lo_end)
			lo = lo_end;
		if (hi > hi_end)
			hi = hi_end;
		if (!(lo < hi))
			continue;
		double c = (lo < centre && centre <= hi) ? centre : (lo + hi) / 2;
		double f = policy_value(t, j, above[j][0], above[j][1], total);
		if (isnan(f))
			continue;
		if (!found || f > best_f + 1e-12 ||
		    (fabs(f - best_f) <= 1e-12 && fabs(c - centre) < fabs(best_t - centre))) {
			best_f = f;
			best_t = c;
			found = 1;
		}
	}
	free(above);
	free(s);
	return best_t;
}

double metrics_tune_threshold(const struct metrics_input *in, int positive, double beta)
{
	struct metrics_threshold t = { .policy = METRICS_THR_TUNED, .positive = positive, .beta = beta };
	return metrics_choose_threshold(in, &t);
}

void metrics_mark_score(struct metrics *m)
{
	if (isnan(m->loss))
		return;
	m->loss = NAN;
	set_reason(m, METRICS_LOSS, "the score is not a probability");
}

static int curve_points(const struct metrics_input *in, int positive, int pr, double **x,
			double **y, int *npts)
{
	*x = *y = NULL;
	*npts = 0;
	long np;
	struct scored *v = sorted_scores(in, positive, &np);
	long nn = in->n - np;
	if (np == 0 || (!pr && nn == 0)) {
		free(v);
		return -1;
	}
	double *px = xmalloc(sizeof *px * ((size_t)in->n + 1));
	double *py = xmalloc(sizeof *py * ((size_t)in->n + 1));
	int k = 1;
	long tp = 0, fp = 0;
	for (int i = 0; i < in->n;) {
		int j = i;
		while (j < in->n && v[j].s == v[i].s) {
			tp += v[j].pos;
			fp += !v[j].pos;
			j++;
		}
		if (pr) {
			px[k] = (double)tp / np;
			py[k] = (double)tp / (tp + fp);
			if (i == 0)
				py[0] = py[k];
		} else {
			px[k] = (double)fp / nn;
			py[k] = (double)tp / np;
		}
		k++;
		i = j;
	}
	px[0] = 0;
	if (!pr)
		py[0] = 0;
	free(v);
	*x = px;
	*y = py;
	*npts = k;
	return 0;
}

int metrics_roc(const struct metrics_input *in, int positive, double **x, double **y, int *n)
{
	return curve_points(in, positive, 0, x, y, n);
}

int metrics_pr(const struct metrics_input *in, int positive, double **x, double **y, int *n)
{
	return curve_points(in, positive, 1, x, y, n);
}

void metrics_write_defects(struct jw *w, const struct metrics *m)
{
	jw_obj_begin(w);
	for (int d = 0; d < m->n_defects; d++) {
		jw_key(w, m->defect_names[d]);
		jw_obj_begin(w);
		jw_knum(w, "recall", m->defect_recall[d]);
		jw_kint(w, "n", m->defect_n[d]);
		jw_obj_end(w);
	}
	jw_obj_end(w);
}

void metrics_write_json(struct jw *w, const struct metrics *m, int positive, double beta,
			double threshold)
{
	jw_obj_begin(w);
	jw_kstr(w, "positive", positive ? "anomalous" : "normal");
	jw_knum(w, "beta", beta);
	jw_knum(w, "threshold", threshold);
	for (int id = 0; id < METRICS_N; id++)
		jw_knum(w, names[id], metrics_value(m, id));
	jw_key(w, "confusion");
	jw_obj_begin(w);
	jw_kint(w, "tp", m->tp);
	jw_kint(w, "fp", m->fp);
	jw_kint(w, "tn", m->tn);
	jw_kint(w, "fn", m->fn);
	jw_obj_end(w);
	jw_key(w, "defect_recall");
	metrics_write_defects(w, m);
	jw_key(w, "undefined");
	jw_obj_begin(w);
	for (int id = 0; id < METRICS_N; id++)
		if (m->reason[id])
			jw_kstr(w, names[id], m->reason[id]);
	jw_obj_end(w);
	jw_obj_end(w);
}
