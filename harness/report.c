/* report.c: tables (csv, md, tex), figure data and report.md from
 * summary.json; figures are drawn through plot.c. */
#include "report.h"

#include "error.h"
#include "fsutil.h"
#include "json.h"
#include "plot.h"
#include "strbuf.h"
#include "summary.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The original study's best model (VGG16), drawn as reference marks and
 * compared in report.md. It reports no AUROC. */
static const struct {
	const char *metric;
	double value;
} study_vgg16[] = { { "loss", 0.506 }, { "accuracy", 0.816 }, { "recall", 1.000 }, { "f2", 0.953 } };
#define N_STUDY (sizeof study_vgg16 / sizeof study_vgg16[0])

/* ---- what the report reads ---- */

enum { CELL_PLAIN, CELL_MD, CELL_TEX };

struct cell {
	double mean, lo, hi;
	int n;
	const char *reason;
	int best;        /* best model in its column */
	int has_test;    /* a comparison against the column's best exists */
	double p_holm;
	int significant; /* differs from the column's best (Holm-corrected) */
};

struct unit_time {
	const char *unit;   /* "r<R>-f<F>", borrowed from the summary */
	const char *status; /* as the unit file says, borrowed */
	double wall;  /* finished - started, else train_seconds; NAN if neither */
	double train; /* train_seconds, NAN if absent */
};

struct row {
	const char *name;
	int baseline;
	const struct json *node; /* models.<name> or baselines.<name> */
	struct unit_time *units;
	int n_units;
};

struct report {
	const char *dir; /* results path */
	char *summary_path;
	struct json *summary;
	struct row *rows;
	int n_rows, n_models;
	const char *positive, *other; /* "anomalous" / "normal" */
	double alpha, beta;
	int k, repeats;
	int interval;
};

/* Metrics in the tables. */
struct col {
	const char *metric;
	int lower_better;
};

static const struct col main_cols[] = {
	{ "loss", 1 }, { "accuracy", 0 }, { "precision", 0 }, { "recall", 0 },
	{ "f2", 0 },   { "auroc", 0 },    { "auprc", 0 },
};
static const struct col more_cols[] = {
	{ "balanced_accuracy", 0 }, { "specificity", 0 },       { "f1", 0 },
	{ "recall_other_positive", 0 }, { "f2_other_positive", 0 },
};
static const struct col all_cols[] = {
	{ "loss", 1 },   { "accuracy", 0 }, { "balanced_accuracy", 0 }, { "precision", 0 },
	{ "recall", 0 }, { "specificity", 0 }, { "f1", 0 }, { "f2", 0 },
	{ "recall_other_positive", 0 }, { "f2_other_positive", 0 }, { "auroc", 0 }, { "auprc", 0 },
};
#define NCOLS(a) ((int)(sizeof a / sizeof a[0]))

static double num(const struct json *obj, const char *key)
{
	return json_number(json_get(obj, key));
}

/* Column heading of a metric; fbeta names follow the experiment's beta. */
static char *metric_label(const struct report *r, const char *metric, int fmt)
{
	char fb[32];
	snprintf(fb, sizeof fb, "F%g", r->beta);
	if (!strcmp(metric, "loss"))
		return xstrdup(fmt == CELL_TEX ? "Loss $\\downarrow$" : fmt == CELL_MD ? "Loss ↓" : "Loss");
	if (!strcmp(metric, "accuracy"))
		return xstrdup("Accuracy");
	if (!strcmp(metric, "balanced_accuracy"))
		return xstrdup("Bal. accuracy");
	if (!strcmp(metric, "precision"))
		return xstrdup("Precision");
	if (!strcmp(metric, "recall"))
		return xstrdup("Recall");
	if (!strcmp(metric, "specificity"))
		return xstrdup("Specificity");
	if (!strcmp(metric, "f1"))
		return xstrdup("F1");
	if (!strcmp(metric, "f2"))
		return xstrdup(fb);
	if (!strcmp(metric, "recall_other_positive"))
		return xasprintf("Recall (%s +)", r->other);
	if (!strcmp(metric, "f2_other_positive"))
		return xasprintf("%s (%s +)", fb, r->other);
	if (!strcmp(metric, "auroc"))
		return xstrdup("AUROC");
	if (!strcmp(metric, "auprc"))
		return xstrdup("AUPRC");
	return xstrdup(metric);
}

static const struct json *row_metric(const struct row *row, const char *metric)
{
	return json_get(json_get(row->node, "metrics"), metric);
}

/* The comparison of models a and b on metric, in either order. */
static const struct json *find_comparison(const struct report *r, const char *a, const char *b,
					  const char *metric)
{
	const struct json *cs = json_get(r->summary, "comparisons");
	for (int i = 0; i < json_size(cs); i++) {
		const struct json *c = json_at(cs, i);
		const char *ca = json_string(json_get(c, "a")), *cb = json_string(json_get(c, "b"));
		const char *cm = json_string(json_get(c, "metric"));
		if (!ca || !cb || !cm || strcmp(cm, metric))
			continue;
		if ((!strcmp(ca, a) && !strcmp(cb, b)) || (!strcmp(ca, b) && !strcmp(cb, a)))
			return c;
	}
	return NULL;
}

/* Index of the best model row in a column, -1 if no model has a mean. */
static int column_best(const struct report *r, const struct col *c)
{
	int best = -1;
	double bv = NAN;
	for (int i = 0; i < r->n_rows; i++) {
		if (r->rows[i].baseline)
			continue;
		double m = num(row_metric(&r->rows[i], c->metric), "mean");
		if (!isfinite(m))
			continue;
		if (best < 0 || (c->lower_better ? m < bv : m > bv)) {
			best = i;
			bv = m;
		}
	}
	return best;
}

/* The metric that decides (summary.json's verdict; "auroc" when absent). */
static const char *primary_metric(const struct report *r)
{
	const char *p = json_string(json_get(json_get(r->summary, "verdict"), "primary"));
	return p ? p : "auroc";
}

/* The significance test's name, as summary.json's verdict records it. */
static const char *test_name(const struct report *r, int fmt)
{
	const char *t = json_string(json_get(json_get(r->summary, "verdict"), "test"));
	if (t && !strcmp(t, "corrected_repeated_kfold"))
		return fmt == CELL_TEX ? "Bouckaert--Frank corrected repeated k-fold t-test"
				       : "Bouckaert–Frank corrected repeated k-fold t-test";
	return fmt == CELL_TEX ? "Nadeau--Bengio corrected resampled t-test"
			       : "Nadeau–Bengio corrected resampled t-test";
}

static struct cell get_cell(const struct report *r, int row, const struct col *c)
{
	struct cell x;
	memset(&x, 0, sizeof x);
	const struct json *m = row_metric(&r->rows[row], c->metric);
	x.mean = num(m, "mean");
	x.lo = num(m, "ci_low");
	x.hi = num(m, "ci_high");
	x.n = (int)num(m, "n");
	x.reason = json_string(json_get(m, "reason"));
	x.p_holm = NAN;
	if (r->rows[row].baseline || !isfinite(x.mean) || strcmp(c->metric, primary_metric(r)))
		return x;
	int b = column_best(r, c);
	if (b < 0)
		return x;
	double bv = num(row_metric(&r->rows[b], c->metric), "mean");
	x.best = x.mean == bv;
	if (b == row)
		return x;
	const struct json *cmp = find_comparison(r, r->rows[b].name, r->rows[row].name, c->metric);
	if (cmp) {
		x.has_test = 1;
		x.p_holm = num(cmp, "p_holm");
		x.significant = json_bool(json_get(cmp, "significant")) == 1;
	}
	return x;
}

/* "0.936 ± 0.057", "0.936 [0.879, 0.993]", "0.936" (no interval), or the
 * undefined mark, in the given format, with best and significance marks. */
static void put_cell(struct strbuf *b, const struct report *r, const struct cell *x, int fmt)
{
	if (!isfinite(x->mean)) {
		strbuf_puts(b, fmt == CELL_TEX ? "--" : "—");
		return;
	}
	char v[64], ci[96] = "";
	snprintf(v, sizeof v, "%.3f", x->mean);
	int has_ci = isfinite(x->lo) && isfinite(x->hi);
	if (fmt == CELL_TEX) {
		const char *bo = x->best ? "\\mathbf{" : "", *bc = x->best ? "}" : "";
		if (has_ci && r->interval)
			snprintf(ci, sizeof ci, "\\ [%s%.3f%s, %s%.3f%s]", bo, x->lo, bc, bo, x->hi, bc);
		else if (has_ci)
			snprintf(ci, sizeof ci, " \\pm %s%.3f%s", bo, (x->hi - x->lo) / 2, bc);
		strbuf_printf(b, "$%s%s%s%s%s$", bo, v, bc, ci, x->significant ? "^{\\dagger}" : "");
		return;
	}
	if (has_ci && r->interval)
		snprintf(ci, sizeof ci, " [%.3f, %.3f]", x->lo, x->hi);
	else if (has_ci)
		snprintf(ci, sizeof ci, " ± %.3f", (x->hi - x->lo) / 2);
	if (fmt == CELL_MD && x->best)
		strbuf_printf(b, "**%s%s**", v, ci);
	else
		strbuf_printf(b, "%s%s", v, ci);
	if (x->significant)
		strbuf_puts(b, " †");
}

static void units_str(char *out, size_t n, const struct row *row)
{
	const struct json *u = json_get(row->node, "units");
	if (row->baseline || !u)
		snprintf(out, n, "%s", "");
	else
		snprintf(out, n, "%d/%d", (int)num(u, "ok"), (int)num(u, "total"));
}

/* ---- wall time and provenance ---- */

static void format_seconds(char *out, size_t n, double s)
{
	if (!isfinite(s))
		snprintf(out, n, "—");
	else if (s < 60)
		snprintf(out, n, "%.1f s", s);
	else if (s < 3600)
		snprintf(out, n, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60));
	else
		snprintf(out, n, "%d h %02d min", (int)(s / 3600), (int)fmod(s / 60, 60));
}

/* The per-unit times of one model, summary.json's
 * models.<model>.unit_times, in (repeat, fold) order. A summary without
 * them gives none. */
static int load_unit_times(struct report *r, struct row *row)
{
	const struct json *a = json_get(row->node, "unit_times");
	if (!a)
		return 0;
	if (json_type(a) != JSON_ARRAY)
		return error("'%s': .models.%s.unit_times: expected an array, got %s", r->summary_path,
			     row->name, json_type_name(json_type(a)));
	int n = json_size(a);
	row->units = xcalloc((size_t)(n ? n : 1), sizeof *row->units);
	for (int i = 0; i < n; i++) {
		const struct json *e = json_at(a, i);
		struct unit_time *ut = &row->units[row->n_units++];
		ut->unit = json_string(json_get(e, "unit"));
		if (!ut->unit)
			return error("'%s': .models.%s.unit_times[%d].unit: expected a string",
				     r->summary_path, row->name, i);
		ut->status = json_string(json_get(e, "status"));
		if (!ut->status)
			ut->status = "unknown";
		ut->train = num(e, "train_seconds");
		ut->wall = num(e, "wall_seconds");
		if (!isfinite(ut->wall))
			ut->wall = ut->train;
	}
	return 0;
}

/* A field of summary.json's provenance, written into out as text. */
static void prov(const struct report *r, const char *key, char *out, size_t n)
{
	const struct json *v = json_get(json_get(r->summary, "provenance"), key);
	switch (json_type(v)) {
	case JSON_STRING:
		snprintf(out, n, "%s", json_string(v));
		break;
	case JSON_NUMBER:
		snprintf(out, n, "%.17g", json_number(v));
		break;
	case JSON_BOOL:
		snprintf(out, n, "%s", json_bool(v) ? "yes" : "no");
		break;
	default:
		snprintf(out, n, "not recorded");
		break;
	}
}

static double total_wall(const struct report *r, int *from_units)
{
	double w = num(json_get(r->summary, "provenance"), "wall_seconds_total");
	*from_units = 0;
	if (isfinite(w))
		return w;
	double sum = 0;
	int any = 0;
	for (int i = 0; i < r->n_rows; i++)
		for (int j = 0; j < r->rows[i].n_units; j++)
			if (isfinite(r->rows[i].units[j].wall)) {
				sum += r->rows[i].units[j].wall;
				any = 1;
			}
	*from_units = 1;
	return any ? sum : NAN;
}

/* Markdown provenance block (a two-column table) and per-unit wall times. */
static void provenance_md(const struct report *r, struct strbuf *b)
{
	char v[512], w[512], x[512];
	strbuf_puts(b, "| Provenance | |\n|---|---|\n");
	const char *exp = json_string(json_get(r->summary, "experiment"));
	const char *sha = json_string(json_get(r->summary, "experiment_sha256"));
	strbuf_printf(b, "| Experiment | %s (file sha256 `%s`) |\n", exp ? exp : "unnamed",
		  sha ? sha : "not recorded");
	prov(r, "darkfold_version", v, sizeof v);
	prov(r, "report_darkfold_version", w, sizeof w);
	if (strcmp(w, "not recorded") && strcmp(w, v))
		strbuf_printf(b, "| darkfold | %s (units), %s (report) |\n", v, w);
	else
		strbuf_printf(b, "| darkfold | %s |\n", v);
	prov(r, "git_commit", v, sizeof v);
	prov(r, "git_dirty", w, sizeof w);
	prov(r, "mixed_commits", x, sizeof x);
	strbuf_printf(b, "| Git commit | `%s`%s%s |\n", v,
		  !strcmp(w, "yes") ? " with uncommitted changes" : !strcmp(w, "no") ? ", clean tree" : "",
		  !strcmp(x, "yes") ? "; **the units were run from different commits**" : "");
	prov(r, "darknet", v, sizeof v);
	strbuf_printf(b, "| Darknet | %s |\n", v);
	prov(r, "openblas", v, sizeof v);
	prov(r, "blas_core", w, sizeof w);
	prov(r, "blas_threads", x, sizeof x);
	strbuf_printf(b, "| OpenBLAS | %s (core %s, %s thread%s per unit) |\n", v, w, x, strcmp(x, "1") ? "s" : "");
	prov(r, "gsl", v, sizeof v);
	strbuf_printf(b, "| GSL | %s |\n", v);
	prov(r, "libpng", v, sizeof v);
	prov(r, "cjson", w, sizeof w);
	strbuf_printf(b, "| libpng, cJSON | %s, %s |\n", v, w);
	prov(r, "cpu", v, sizeof v);
	prov(r, "hostname", w, sizeof w);
	strbuf_printf(b, "| Host CPU | %s (host %s) |\n", v, w);
	int from_units;
	double tw = total_wall(r, &from_units);
	format_seconds(v, sizeof v, tw);
	prov(r, "units_total", w, sizeof w);
	if (from_units)
		strbuf_printf(b, "| Total wall time | %s (sum of the unit wall times found) |\n", v);
	else if (strcmp(w, "not recorded"))
		strbuf_printf(b, "| Total wall time | %s, summed over %s unit files (finished − started) |\n", v, w);
	else
		strbuf_printf(b, "| Total wall time | %s |\n", v);
	const char *t0 = json_string(json_get(json_get(r->summary, "provenance"), "first_started"));
	const char *t1 = json_string(json_get(json_get(r->summary, "provenance"), "last_finished"));
	if (t0 && t1) {
		format_seconds(x, sizeof x, summary_iso_seconds(t1) - summary_iso_seconds(t0));
		strbuf_printf(b, "| Study span | %s to %s (%s) |\n", t0, t1, x);
	}
	strbuf_puts(b, "\n| Model | Units | Wall time per unit (mean) | Training time per unit (mean) | Training time (all units) | Per unit (finished − started) |\n"
		   "|---|---:|---:|---:|---:|---|\n");
	for (int i = 0; i < r->n_rows; i++) {
		const struct row *row = &r->rows[i];
		if (row->baseline)
			continue;
		const struct json *t = json_get(row->node, "timing");
		double sum = 0;
		int n = 0;
		struct strbuf per = { 0 };
		for (int j = 0; j < row->n_units; j++) {
			char d[64];
			format_seconds(d, sizeof d, row->units[j].wall);
			strbuf_printf(&per, "%s%s %s%s%s", j ? ", " : "", row->units[j].unit, d,
				  strcmp(row->units[j].status, "ok") ? " " : "",
				  strcmp(row->units[j].status, "ok") ? row->units[j].status : "");
			if (isfinite(row->units[j].wall)) {
				sum += row->units[j].wall;
				n++;
			}
		}
		char u[32], a[64], bm[64], c[64];
		units_str(u, sizeof u, row);
		format_seconds(a, sizeof a, n ? sum / n : NAN);
		format_seconds(bm, sizeof bm, num(t, "train_seconds_mean"));
		format_seconds(c, sizeof c, num(t, "train_seconds_total"));
		strbuf_printf(b, "| %s | %s | %s | %s | %s | %s |\n", row->name, u, a, bm, c,
			  row->n_units ? strbuf_str(&per) : "unit files not found");
		strbuf_release(&per);
	}
}

static void tex_provenance(const struct report *r, struct strbuf *b)
{
	static const char *keys[] = { "darkfold_version", "git_commit", "git_dirty", "darknet", "openblas",
				      "blas_core", "blas_threads", "gsl", "libpng", "cjson", "cpu", "hostname" };
	char v[512];
	const char *sha = json_string(json_get(r->summary, "experiment_sha256"));
	strbuf_printf(b, "%% experiment_sha256: %s\n", sha ? sha : "not recorded");
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		prov(r, keys[i], v, sizeof v);
		strbuf_printf(b, "%% %s: %s\n", keys[i], v);
	}
	int from_units;
	format_seconds(v, sizeof v, total_wall(r, &from_units));
	strbuf_printf(b, "%% total wall time: %s%s\n", v, from_units ? " (sum over unit files)" : "");
	for (int i = 0; i < r->n_rows; i++) {
		if (r->rows[i].baseline)
			continue;
		format_seconds(v, sizeof v, num(json_get(r->rows[i].node, "timing"), "train_seconds_mean"));
		strbuf_printf(b, "%% training time per unit, %s: %s\n", r->rows[i].name, v);
	}
}

/* ---- tables ---- */

static void folds_sentence(const struct report *r, struct strbuf *b, int fmt)
{
	const char *pm = fmt == CELL_TEX ? "$\\pm$" : "±";
	strbuf_printf(b, "%d-fold cross-validation, %d repeat%s (%d planned units per model); ", r->k, r->repeats,
		  r->repeats == 1 ? "" : "s", r->k * r->repeats);
	if (r->interval)
		strbuf_printf(b, "cells: mean [%g%s confidence interval] across folds (Student t)", 100 * (1 - r->alpha),
			  fmt == CELL_TEX ? "\\,\\%" : " %");
	else
		strbuf_printf(b, "cells: mean %s half-width of the %g%s confidence interval across folds (Student t)", pm,
			  100 * (1 - r->alpha), fmt == CELL_TEX ? "\\,\\%" : " %");
	strbuf_printf(b, ". Positive class: %s.", r->positive);
}

static void legend_sentence(const struct report *r, struct strbuf *b, int fmt)
{
	const char *bold = fmt == CELL_TEX ? "Bold" : "**Bold**";
	const char *dag = fmt == CELL_TEX ? "$^{\\dagger}$" : "†";
	char *label = metric_label(r, primary_metric(r), CELL_PLAIN);
	strbuf_printf(b, "%s: best model by the primary metric, %s, in its column only (secondary metrics never mark a "
		     "model). %s: differs from that model in %s (%s, Holm-corrected across model pairs, "
		     "%s = %g). %s: undefined.",
		  bold, label, dag, label, test_name(r, fmt), fmt == CELL_TEX ? "$\\alpha$" : "α", r->alpha,
		  fmt == CELL_TEX ? "--" : "—");
	free(label);
}

/* 1 for a one-class model's row (summary.json's models.<m>.kind). */
static int row_one_class(const struct row *row)
{
	const char *kind = json_string(json_get(row->node, "kind"));
	return !row->baseline && kind && !strcmp(kind, "one_class");
}

/* "Model kinds" section of report.md: which models are supervised and which
 * one-class, and the one-class models' pixel-level metrics. */
static void kinds_md(const struct report *r, struct strbuf *b)
{
	strbuf_puts(b, "\n## Model kinds\n\nSupervised models are classifiers trained on both classes; their "
		   "score is P(anomalous). One-class models are trained on normal images only; their score "
		   "is the pooled reconstruction error, not a probability, so they have no loss and their "
		   "threshold is tuned on the inner validation split. Both kinds are scored, compared and "
		   "tested in the same way above.\n\n| Model | Kind | Pixel AUROC | PRO (FPR <= 0.3) |\n"
		   "|---|---|---:|---:|\n");
	for (int i = 0; i < r->n_models; i++) {
		const struct row *row = &r->rows[i];
		const struct json *px = json_get(row->node, "pixel_metrics");
		strbuf_printf(b, "| %s | %s |", row->name, row_one_class(row) ? "one-class" : "supervised");
		static const char *const keys[2] = { "pixel_auroc", "pro" };
		for (int k = 0; k < 2; k++) {
			const struct json *v = json_get(px, keys[k]);
			double mean = json_number(json_get(v, "mean")), lo = json_number(json_get(v, "ci_low")),
			       hi = json_number(json_get(v, "ci_high"));
			if (json_type(json_get(v, "mean")) != JSON_NUMBER)
				strbuf_puts(b, " — |");
			else if (json_type(json_get(v, "ci_low")) == JSON_NUMBER)
				strbuf_printf(b, " %.3f [%.3f, %.3f] |", mean, lo, hi);
			else
				strbuf_printf(b, " %.3f |", mean);
		}
		strbuf_puts(b, "\n");
	}
}

static void md_table(const struct report *r, struct strbuf *b, const struct col *cols, int ncols)
{
	strbuf_puts(b, "| Model | Units |");
	for (int c = 0; c < ncols; c++) {
		char *l = metric_label(r, cols[c].metric, CELL_MD);
		strbuf_printf(b, " %s |", l);
		free(l);
	}
	strbuf_puts(b, "\n|---|---:|");
	for (int c = 0; c < ncols; c++)
		strbuf_puts(b, "---:|");
	strbuf_puts(b, "\n");
	for (int i = 0; i < r->n_rows; i++) {
		char u[32];
		if (i == r->n_models) {
			strbuf_puts(b, "| *Baselines* | |");
			for (int c = 0; c < ncols; c++)
				strbuf_puts(b, " |");
			strbuf_puts(b, "\n");
		}
		units_str(u, sizeof u, &r->rows[i]);
		strbuf_printf(b, "| %s%s | %s |", r->rows[i].name, row_one_class(&r->rows[i]) ? " (one-class)" : "",
			  u);
		for (int c = 0; c < ncols; c++) {
			struct cell x = get_cell(r, i, &cols[c]);
			strbuf_puts(b, " ");
			put_cell(b, r, &x, CELL_MD);
			strbuf_puts(b, " |");
		}
		strbuf_puts(b, "\n");
	}
}

/* Notes for null or partly defined cells, one per line. */
static void md_notes(const struct report *r, struct strbuf *b, const struct col *cols, int ncols)
{
	int any = 0;
	for (int i = 0; i < r->n_rows; i++)
		for (int c = 0; c < ncols; c++) {
			struct cell x = get_cell(r, i, &cols[c]);
			if (!x.reason)
				continue;
			char *l = metric_label(r, cols[c].metric, CELL_PLAIN);
			strbuf_printf(b, "%s- %s, %s: %s.\n", any ? "" : "\nNotes:\n", r->rows[i].name, l, x.reason);
			any = 1;
			free(l);
		}
}

static int write_md(const struct report *r, const char *path)
{
	struct strbuf b = { 0 };
	const char *exp = json_string(json_get(r->summary, "experiment"));
	strbuf_printf(&b, "# %s: results\n\n", exp ? exp : "experiment");
	folds_sentence(r, &b, CELL_MD);
	strbuf_puts(&b, " ");
	legend_sentence(r, &b, CELL_MD);
	strbuf_puts(&b, "\n\n");
	md_table(r, &b, main_cols, NCOLS(main_cols));
	md_notes(r, &b, main_cols, NCOLS(main_cols));
	strbuf_printf(&b, "\nMore metrics (recall and F%g also with the %s class positive):\n\n", r->beta, r->other);
	md_table(r, &b, more_cols, NCOLS(more_cols));
	md_notes(r, &b, more_cols, NCOLS(more_cols));
	strbuf_puts(&b, "\n");
	provenance_md(r, &b);
	int rc = strbuf_write_file(&b, path);
	strbuf_release(&b);
	return rc;
}

static void tex_escape(struct strbuf *b, const char *s)
{
	for (; *s; s++) {
		if (strchr("_&%$#{}", *s))
			strbuf_printf(b, "\\%c", *s);
		else
			strbuf_printf(b, "%c", *s);
	}
}

static void tex_table(const struct report *r, struct strbuf *b, const struct col *cols, int ncols, const char *what,
		      const char *label)
{
	const char *exp = json_string(json_get(r->summary, "experiment"));
	strbuf_puts(b, "\\begin{table}[tbp]\n\\centering\n\\small\n\\caption{");
	tex_escape(b, exp ? exp : "experiment");
	strbuf_printf(b, ": %s. ", what);
	folds_sentence(r, b, CELL_TEX);
	strbuf_puts(b, " ");
	legend_sentence(r, b, CELL_TEX);
	strbuf_printf(b, "}\n\\label{tab:%s}\n\\begin{tabular}{lr", label);
	for (int c = 0; c < ncols; c++)
		strbuf_puts(b, "c");
	strbuf_puts(b, "}\n\\toprule\nModel & Units");
	for (int c = 0; c < ncols; c++) {
		char *l = metric_label(r, cols[c].metric, CELL_TEX);
		strbuf_printf(b, " & %s", l);
		free(l);
	}
	strbuf_puts(b, " \\\\\n\\midrule\n");
	for (int i = 0; i < r->n_rows; i++) {
		char u[32];
		if (i == r->n_models)
			strbuf_printf(b, "\\midrule\n\\multicolumn{%d}{l}{\\emph{Baselines}} \\\\\n", ncols + 2);
		units_str(u, sizeof u, &r->rows[i]);
		tex_escape(b, r->rows[i].name);
		strbuf_printf(b, " & %s", u);
		for (int c = 0; c < ncols; c++) {
			struct cell x = get_cell(r, i, &cols[c]);
			strbuf_puts(b, " & ");
			put_cell(b, r, &x, CELL_TEX);
		}
		strbuf_puts(b, " \\\\\n");
	}
	strbuf_puts(b, "\\bottomrule\n\\end{tabular}\n\\end{table}\n");
}

static int write_tex(const struct report *r, const char *path)
{
	struct strbuf b = { 0 };
	const char *exp = json_string(json_get(r->summary, "experiment"));
	strbuf_puts(&b, "% summary.tex: written by darkfold report from summary.json; needs \\usepackage{booktabs}.\n");
	tex_provenance(r, &b);
	strbuf_puts(&b, "\n");
	char *l1 = xasprintf("%s-summary", exp ? exp : "darkfold");
	char *l2 = xasprintf("%s-more", exp ? exp : "darkfold");
	for (char *c = l1; *c; c++)
		*c = strchr("_&%$#{}\\", *c) ? '-' : *c;
	for (char *c = l2; *c; c++)
		*c = strchr("_&%$#{}\\", *c) ? '-' : *c;
	tex_table(r, &b, main_cols, NCOLS(main_cols), "headline metrics", l1);
	strbuf_puts(&b, "\n");
	char *what = xasprintf("more metrics, recall and F%g also with the %s class positive", r->beta, r->other);
	tex_table(r, &b, more_cols, NCOLS(more_cols), what, l2);
	free(what);
	free(l1);
	free(l2);
	int rc = strbuf_write_file(&b, path);
	strbuf_release(&b);
	return rc;
}

static void csv_num(struct strbuf *b, double v)
{
	if (isfinite(v))
		strbuf_printf(b, ",%.10g", v);
	else
		strbuf_puts(b, ",");
}

static void csv_text(struct strbuf *b, const char *s)
{
	strbuf_puts(b, ",");
	if (!s)
		return;
	if (!strpbrk(s, ",\"\n")) {
		strbuf_puts(b, s);
		return;
	}
	strbuf_puts(b, "\"");
	for (; *s; s++)
		strbuf_puts(b, *s == '"' ? "\"\"" : (char[2]){ *s, '\0' });
	strbuf_puts(b, "\"");
}

/* One line per (row, metric): tidy, so every column has one meaning. */
static int write_csv(const struct report *r, const char *path)
{
	struct strbuf b = { 0 };
	strbuf_puts(&b, "model,kind,metric,mean,sd,ci_low,ci_high,n_folds,units_ok,units_total,k,repeats,positive,"
		    "best,p_holm_vs_best,significant_vs_best,reason\n");
	for (int i = 0; i < r->n_rows; i++) {
		const struct row *row = &r->rows[i];
		const struct json *u = json_get(row->node, "units");
		for (int c = 0; c < NCOLS(all_cols); c++) {
			struct cell x = get_cell(r, i, &all_cols[c]);
			strbuf_printf(&b, "%s,%s,%s", row->name, row->baseline ? "baseline" : "model", all_cols[c].metric);
			csv_num(&b, x.mean);
			csv_num(&b, num(row_metric(row, all_cols[c].metric), "sd"));
			csv_num(&b, x.lo);
			csv_num(&b, x.hi);
			strbuf_printf(&b, ",%d", x.n);
			csv_num(&b, row->baseline ? NAN : num(u, "ok"));
			csv_num(&b, row->baseline ? NAN : num(u, "total"));
			strbuf_printf(&b, ",%d,%d,%s,%d", r->k, r->repeats, r->positive, x.best);
			csv_num(&b, x.has_test ? x.p_holm : NAN);
			strbuf_printf(&b, ",%s", x.has_test ? (x.significant ? "1" : "0") : "");
			csv_text(&b, x.reason);
			strbuf_puts(&b, "\n");
		}
	}
	int rc = strbuf_write_file(&b, path);
	strbuf_release(&b);
	return rc;
}

/* ---- figures ---- */

/* gnuplot array literal of strings: array <name>[n] = ["a", "b"] */
static void gp_array(struct strbuf *v, const char *name, const char *const *items, int n)
{
	strbuf_printf(v, "array %s[%d] = [", name, n > 0 ? n : 1);
	for (int i = 0; i < n; i++) {
		char *q = plot_quote(items[i]);
		strbuf_printf(v, "%s%s", i ? ", " : "", q);
		free(q);
	}
	if (n == 0)
		strbuf_puts(v, "''");
	strbuf_puts(v, "]\n");
}

static void gp_ints(struct strbuf *v, const char *name, const int *items, int n)
{
	strbuf_printf(v, "array %s[%d] = [", name, n > 0 ? n : 1);
	for (int i = 0; i < n; i++)
		strbuf_printf(v, "%s%d", i ? ", " : "", items[i]);
	if (n == 0)
		strbuf_puts(v, "0");
	strbuf_puts(v, "]\n");
}

static void gp_string(struct strbuf *v, const char *name, const char *value)
{
	char *q = plot_quote(value);
	strbuf_printf(v, "%s = %s\n", name, q);
	free(q);
}

static void dat_num(struct strbuf *b, double v)
{
	if (isfinite(v))
		strbuf_printf(b, " %.10g", v);
	else
		strbuf_puts(b, " NaN");
}

struct figs {
	struct plot plot;
	int can_draw; /* gnuplot found */
	int failed;   /* a figure failed to draw */
	struct strbuf dat, vars;
};

static int draw(struct figs *f, const char *name, int w, int h)
{
	if (!f->can_draw)
		return 0;
	struct plot_figure pf = { name, w, h, strbuf_str(&f->vars) };
	if (plot_draw(&f->plot, &pf) != 0) {
		f->failed = 1;
		return -1;
	}
	return 0;
}

static int put_dat(struct figs *f, const char *file)
{
	return plot_write_data(&f->plot, file, strbuf_str(&f->dat), f->dat.len);
}

static const char **row_names(const struct report *r, int models_only, int *n)
{
	const char **names = xcalloc((size_t)r->n_rows + 1, sizeof *names);
	*n = 0;
	for (int i = 0; i < r->n_rows; i++)
		if (!models_only || !r->rows[i].baseline)
			names[(*n)++] = r->rows[i].name;
	return names;
}

static void common_vars(const struct report *r, struct figs *f)
{
	const char *exp = json_string(json_get(r->summary, "experiment"));
	strbuf_reset(&f->vars);
	gp_string(&f->vars, "experiment", exp ? exp : "experiment");
	strbuf_printf(&f->vars, "k = %d\nrepeats = %d\nci_level = %g\n", r->k, r->repeats, 100 * (1 - r->alpha));
	gp_string(&f->vars, "positive", r->positive);
	int n;
	const char **names = row_names(r, 1, &n);
	strbuf_printf(&f->vars, "nmodels = %d\n", n);
	gp_array(&f->vars, "models", names, n);
	free(names);
}

/* Headline metrics: mean and CI per model and baseline, the study's marks. */
static int fig_headline(const struct report *r, struct figs *f)
{
	/* the primary metric first, then the other headline metrics */
	static const char *const headline[] = { "loss", "accuracy", "recall", "f2", "auroc" };
	const char *metrics[6];
	char *labels[6];
	int nm = 0, loss_index = 0;
	metrics[nm++] = primary_metric(r);
	for (int m = 0; m < 5; m++)
		if (strcmp(headline[m], metrics[0]))
			metrics[nm++] = headline[m];
	for (int m = 0; m < nm; m++) {
		if (!strcmp(metrics[m], "loss"))
			loss_index = m;
		if (!strcmp(metrics[m], "recall"))
			labels[m] = xasprintf("Recall (%s +)", r->positive);
		else if (!strcmp(metrics[m], "f2"))
			labels[m] = xasprintf("F%g (%s +)", r->beta, r->positive);
		else
			labels[m] = metric_label(r, metrics[m], CELL_PLAIN);
	}
	strbuf_reset(&f->dat);
	strbuf_puts(&f->dat, "# headline metrics: one block per model, then per baseline\n# metric_index mean ci_low ci_high (metric");
	for (int m = 0; m < nm; m++)
		strbuf_printf(&f->dat, "%s %d %s", m ? "," : "", m, metrics[m]);
	strbuf_puts(&f->dat, "; 0 is the primary metric)\n");
	for (int i = 0; i < r->n_rows; i++) {
		strbuf_printf(&f->dat, "%s# %s\n", i ? "\n\n" : "", r->rows[i].name);
		for (int m = 0; m < nm; m++) {
			const struct json *j = row_metric(&r->rows[i], metrics[m]);
			double mean = num(j, "mean"), lo = num(j, "ci_low"), hi = num(j, "ci_high");
			if (!isfinite(lo) || !isfinite(hi))
				lo = hi = mean;
			strbuf_printf(&f->dat, "%d", m);
			dat_num(&f->dat, mean);
			dat_num(&f->dat, lo);
			dat_num(&f->dat, hi);
			strbuf_puts(&f->dat, "\n");
		}
	}
	int rc = put_dat(f, "headline.dat");
	strbuf_reset(&f->dat);
	strbuf_puts(&f->dat, "# the original study's VGG16: metric_index value\n");
	int ref_primary = 0;
	for (int m = 0; m < nm; m++)
		for (size_t s = 0; s < N_STUDY; s++)
			if (!strcmp(study_vgg16[s].metric, metrics[m])) {
				strbuf_printf(&f->dat, "%d %.3f\n", m, study_vgg16[s].value);
				ref_primary |= m == 0;
			}
	if (rc == 0)
		rc = put_dat(f, "headline_ref.dat");
	common_vars(r, f);
	int n;
	const char **names = row_names(r, 0, &n);
	strbuf_printf(&f->vars, "nseries = %d\nnmetrics = %d\nloss_index = %d\nref_primary = %d\n", n, nm,
		  loss_index, ref_primary);
	gp_array(&f->vars, "series", names, n);
	gp_array(&f->vars, "metric_labels", (const char *const *)labels, nm);
	free(names);
	for (int m = 0; m < nm; m++)
		free(labels[m]);
	if (rc == 0)
		rc = draw(f, "headline", 1400, 650);
	return rc;
}

static int fig_learning(const struct report *r, struct figs *f)
{
	strbuf_reset(&f->dat);
	strbuf_puts(&f->dat, "# learning curves across folds: one block per model\n"
			 "# epoch n_folds train_loss_mean train_loss_sd val_loss_mean val_loss_sd\n");
	int nm = 0, *has = xcalloc((size_t)r->n_models + 1, sizeof *has);
	double ymax = 0, emax = 1;
	for (int i = 0; i < r->n_models; i++) {
		const struct json *c = json_get(r->rows[i].node, "curve");
		strbuf_printf(&f->dat, "%s# %s\n", nm++ ? "\n\n" : "", r->rows[i].name);
		for (int e = 0; e < json_size(c); e++) {
			const struct json *p = json_at(c, e);
			double tsd = num(p, "train_loss_sd"), vsd = num(p, "val_loss_sd");
			double hi[2] = { num(p, "train_loss_mean") + (isfinite(tsd) ? tsd : 0),
					 num(p, "val_loss_mean") + (isfinite(vsd) ? vsd : 0) };
			for (int q = 0; q < 2; q++)
				if (isfinite(hi[q])) {
					has[i] = 1;
					ymax = hi[q] > ymax ? hi[q] : ymax;
				}
			if (num(p, "epoch") > emax)
				emax = num(p, "epoch");
			strbuf_printf(&f->dat, "%d %d", (int)num(p, "epoch"), (int)num(p, "n"));
			dat_num(&f->dat, num(p, "train_loss_mean"));
			dat_num(&f->dat, isfinite(tsd) ? tsd : 0);
			dat_num(&f->dat, num(p, "val_loss_mean"));
			dat_num(&f->dat, isfinite(vsd) ? vsd : 0);
			strbuf_puts(&f->dat, "\n");
		}
		if (json_size(c) == 0)
			strbuf_puts(&f->dat, "NaN NaN NaN NaN NaN NaN\n");
	}
	int rc = put_dat(f, "learning_curves.dat");
	common_vars(r, f);
	int cols = r->n_models <= 2 ? r->n_models : r->n_models <= 4 ? 2 : 3;
	if (cols < 1)
		cols = 1;
	int rows = (r->n_models + cols - 1) / cols;
	if (rows < 1)
		rows = 1;
	strbuf_printf(&f->vars, "cols = %d\nrows = %d\n", cols, rows);
	strbuf_printf(&f->vars, "ymax = %.6g\nemax = %.6g\n", ymax > 0 ? ymax * 1.08 : 1.0, emax > 1 ? emax : 2.0);
	gp_ints(&f->vars, "has_curve", has, r->n_models);
	free(has);
	if (rc == 0)
		rc = draw(f, "learning_curves", cols * 600, 90 + rows * 360);
	return rc;
}

/* ROC (which = "roc") or PR ("pr") curves of every model, pooled. */
/* roc_points.dat: each curve's operating point at the units' thresholds
 * (summary.json's operating_point), as false and true positive rate for the
 * positive class; color[i] - 1 is curve i's model row. */
static int roc_points(const struct report *r, struct figs *f, const int *color, int nc)
{
	struct strbuf *d = &f->dat;
	int anomalous = !strcmp(r->positive, "anomalous");
	int *curve = xcalloc((size_t)nc + 1, sizeof *curve), n = 0;
	strbuf_reset(d);
	strbuf_puts(d, "# operating points at the chosen thresholds, one line per curve that has one: fpr tpr\n");
	for (int i = 0; i < nc; i++) {
		const struct json *op = json_get(r->rows[color[i] - 1].node, "operating_point");
		double gr = num(op, "good_rejected_share"), dp = num(op, "defective_passed_share");
		if (!isfinite(gr) || !isfinite(dp))
			continue;
		dat_num(d, anomalous ? gr : dp);
		dat_num(d, anomalous ? 1 - dp : 1 - gr);
		strbuf_printf(d, " # %s\n", r->rows[color[i] - 1].name);
		curve[n++] = i + 1;
	}
	strbuf_printf(&f->vars, "npoints = %d\n", n);
	gp_ints(&f->vars, "point_curve", curve, n);
	free(curve);
	return put_dat(f, "roc_points.dat");
}

static int fig_curves(const struct report *r, struct figs *f, const char *which)
{
	int roc = !strcmp(which, "roc");
	strbuf_reset(&f->dat);
	strbuf_printf(&f->dat, "# pooled out-of-fold %s curves: one block per model\n# %s\n",
		  roc ? "ROC" : "precision-recall", roc ? "fpr tpr" : "recall precision");
	/* only models with a curve get a block; curve_color maps block to model */
	char **titles = xcalloc((size_t)r->n_models + 1, sizeof *titles);
	int *color = xcalloc((size_t)r->n_models + 1, sizeof *color), nc = 0;
	for (int i = 0; i < r->n_models; i++) {
		const struct json *pooled = json_get(r->rows[i].node, "pooled");
		const struct json *pts = json_get(pooled, which);
		int valid = 0;
		for (int p = 0; p < json_size(pts); p++)
			valid += isfinite(json_number(json_at(json_at(pts, p), 0))) &&
				 isfinite(json_number(json_at(json_at(pts, p), 1)));
		if (!valid)
			continue;
		double area = num(json_get(pooled, roc ? "auroc" : "auprc"), "value");
		titles[nc] = isfinite(area) ? xasprintf("%s (%s %.3f)", r->rows[i].name, roc ? "AUROC" : "AP", area)
					    : xstrdup(r->rows[i].name);
		color[nc] = i + 1;
		strbuf_printf(&f->dat, "%s# %s\n", nc++ ? "\n\n" : "", r->rows[i].name);
		for (int p = 0; p < json_size(pts); p++) {
			const struct json *xy = json_at(pts, p);
			dat_num(&f->dat, json_number(json_at(xy, 0)));
			dat_num(&f->dat, json_number(json_at(xy, 1)));
			strbuf_puts(&f->dat, "\n");
		}
	}
	char *file = xasprintf("%s.dat", which);
	int rc = put_dat(f, file);
	free(file);
	common_vars(r, f);
	if (roc && rc == 0)
		rc = roc_points(r, f, color, nc);
	strbuf_printf(&f->vars, "ncurves = %d\n", nc);
	gp_array(&f->vars, "curve_titles", (const char *const *)titles, nc);
	gp_ints(&f->vars, "curve_color", color, nc);
	for (int i = 0; i < nc; i++)
		free(titles[i]);
	free(titles);
	free(color);
	if (!roc) {
		/* share of positives: the precision of a random ranking */
		double prev = NAN;
		for (int i = 0; i < r->n_models && !isfinite(prev); i++) {
			const struct json *c = json_get(json_get(r->rows[i].node, "pooled"), "confusion");
			double tp = num(c, "tp"), fp = num(c, "fp"), tn = num(c, "tn"), fn = num(c, "fn");
			if (tp + fp + tn + fn > 0)
				prev = (tp + fn) / (tp + fp + tn + fn);
		}
		strbuf_printf(&f->vars, "prevalence = %.10g\n", isfinite(prev) ? prev : 0.0);
	}
	if (rc == 0)
		rc = draw(f, which, 800, roc ? 700 : 820);
	return rc;
}

static int fig_confusion(const struct report *r, struct figs *f)
{
	strbuf_reset(&f->dat);
	strbuf_puts(&f->dat, "# pooled confusion matrices: one block per model\n"
			 "# predicted(0 normal, 1 anomalous) actual(0 normal, 1 anomalous) count share_of_actual\n");
	int pos_anom = strcmp(r->positive, "normal") != 0;
	for (int i = 0; i < r->n_models; i++) {
		const struct json *c = json_get(json_get(r->rows[i].node, "pooled"), "confusion");
		double tp = num(c, "tp"), fp = num(c, "fp"), tn = num(c, "tn"), fn = num(c, "fn");
		/* m[actual][predicted], class 1 = anomalous */
		double m[2][2];
		if (pos_anom) {
			m[1][1] = tp, m[0][1] = fp, m[0][0] = tn, m[1][0] = fn;
		} else {
			m[0][0] = tp, m[1][0] = fp, m[1][1] = tn, m[0][1] = fn;
		}
		strbuf_printf(&f->dat, "%s# %s\n", i ? "\n\n" : "", r->rows[i].name);
		for (int a = 0; a < 2; a++)
			for (int p = 0; p < 2; p++) {
				double tot = m[a][0] + m[a][1];
				strbuf_printf(&f->dat, "%d %d", p, a);
				dat_num(&f->dat, m[a][p]);
				dat_num(&f->dat, tot > 0 ? m[a][p] / tot : NAN);
				strbuf_puts(&f->dat, "\n");
			}
	}
	int rc = put_dat(f, "confusion.dat");
	common_vars(r, f);
	int cols = r->n_models < 4 ? (r->n_models > 0 ? r->n_models : 1) : 4;
	int rows = (r->n_models + cols - 1) / cols;
	if (rows < 1)
		rows = 1;
	strbuf_printf(&f->vars, "cols = %d\nrows = %d\n", cols, rows);
	if (rc == 0)
		rc = draw(f, "confusion", 140 + cols * 340, 90 + rows * 330);
	return rc;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int fig_defects(const struct report *r, struct figs *f)
{
	const char **defs = NULL;
	int nd = 0;
	for (int i = 0; i < r->n_models; i++) {
		const struct json *d = json_get(r->rows[i].node, "defect_recall");
		for (int j = 0; j < json_size(d); j++) {
			const char *key = json_key(json_at(d, j));
			int seen = 0;
			for (int q = 0; q < nd && !seen; q++)
				seen = !strcmp(defs[q], key);
			if (!seen) {
				defs = xrealloc(defs, (size_t)(nd + 1) * sizeof *defs);
				defs[nd++] = key;
			}
		}
	}
	if (nd > 1)
		qsort(defs, (size_t)nd, sizeof *defs, str_cmp);
	strbuf_reset(&f->dat);
	strbuf_puts(&f->dat, "# pooled recall per defect type (share called anomalous)\n"
			 "# defect_index model_index recall n_images\n");
	for (int i = 0; i < r->n_models; i++) {
		const struct json *d = json_get(r->rows[i].node, "defect_recall");
		for (int q = 0; q < nd; q++) {
			const struct json *e = json_get(d, defs[q]);
			strbuf_printf(&f->dat, "%d %d", q, i);
			dat_num(&f->dat, num(e, "recall"));
			dat_num(&f->dat, num(e, "n"));
			strbuf_puts(&f->dat, "\n");
		}
		strbuf_puts(&f->dat, "\n");
	}
	int rc = put_dat(f, "defect_recall.dat");
	common_vars(r, f);
	if (nd == 0) {
		/* one placeholder column keeps the axes valid */
		static const char *none[] = { "none recorded" };
		strbuf_puts(&f->vars, "ndefects = 1\nhas_defects = 0\n");
		gp_array(&f->vars, "defects", none, 1);
	} else {
		strbuf_printf(&f->vars, "ndefects = %d\nhas_defects = 1\n", nd);
		gp_array(&f->vars, "defects", defs, nd);
	}
	free(defs);
	if (rc == 0)
		rc = draw(f, "defect_recall", 1200, 260 + 60 * (r->n_models > 0 ? r->n_models : 1));
	return rc;
}

static int fig_cost(const struct report *r, struct figs *f)
{
	double tmax = 0, ips_min = INFINITY, ips_max = 0;
	strbuf_reset(&f->dat);
	strbuf_puts(&f->dat, "# training cost per model\n"
			 "# model_index images_per_second_mean train_seconds_mean train_seconds_total\n");
	for (int i = 0; i < r->n_models; i++) {
		const struct json *t = json_get(r->rows[i].node, "timing");
		strbuf_printf(&f->dat, "%d", i);
		dat_num(&f->dat, num(t, "images_per_second_mean"));
		dat_num(&f->dat, num(t, "train_seconds_mean"));
		dat_num(&f->dat, num(t, "train_seconds_total"));
		strbuf_puts(&f->dat, "\n");
		if (num(t, "train_seconds_mean") > tmax)
			tmax = num(t, "train_seconds_mean");
		double ips = num(t, "images_per_second_mean");
		if (ips > 0) {
			ips_min = ips < ips_min ? ips : ips_min;
			ips_max = ips > ips_max ? ips : ips_max;
		}
	}
	int rc = put_dat(f, "cost.dat");
	strbuf_reset(&f->dat);
	strbuf_puts(&f->dat, "# training time of each unit (from the unit files)\n# model_index train_seconds\n");
	int any = 0;
	for (int i = 0; i < r->n_models; i++)
		for (int j = 0; j < r->rows[i].n_units; j++)
			if (isfinite(r->rows[i].units[j].train)) {
				strbuf_printf(&f->dat, "%d %.10g\n", i, r->rows[i].units[j].train);
				if (r->rows[i].units[j].train > tmax)
					tmax = r->rows[i].units[j].train;
				any = 1;
			}
	if (!any)
		strbuf_puts(&f->dat, "NaN NaN\n");
	if (rc == 0)
		rc = put_dat(f, "cost_units.dat");
	common_vars(r, f);
	strbuf_printf(&f->vars, "have_units = %d\n", any);
	double scale = tmax >= 7200 ? 3600 : tmax >= 120 ? 60 : 1;
	strbuf_printf(&f->vars, "time_unit = '%s'\ntime_scale = %g\n", scale == 3600 ? "h" : scale == 60 ? "min" : "s",
		  scale);
	/* axis ranges: log throughput with room for the value labels */
	if (!(ips_max > 0))
		ips_min = 1, ips_max = 10;
	strbuf_printf(&f->vars, "ips_low = %.6g\nips_high = %.6g\ntime_high = %.6g\n", ips_min / 3, ips_max * 4,
		  tmax > 0 ? tmax / scale * 1.15 : 1.0);
	if (rc == 0)
		rc = draw(f, "cost", 1200, 550);
	return rc;
}

/* Figure files embedded in report.md, in order, with captions. */
static const struct {
	const char *name, *caption;
} figure_list[] = {
	{ "headline", "Headline metrics per model with confidence intervals, baselines, and the original study's VGG16" },
	{ "learning_curves", "Training and inner-validation loss per epoch (mean across folds, band ± 1 SD)" },
	{ "roc", "Pooled out-of-fold ROC curves" },
	{ "pr", "Pooled out-of-fold precision-recall curves" },
	{ "confusion", "Pooled confusion matrices" },
	{ "defect_recall", "Recall per defect type" },
	{ "cost", "Training cost" },
};
#define N_FIGURES ((int)(sizeof figure_list / sizeof figure_list[0]))

/* ---- report.md ---- */

static int lower_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if ((*a | 0x20) != (*b | 0x20))
			return 0;
	return !*a && !*b;
}

static int contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++) {
		size_t i = 0;
		while (i < n && hay[i] && (hay[i] | 0x20) == (needle[i] | 0x20))
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

static int row_index(const struct report *r, const char *name)
{
	for (int i = 0; name && i < r->n_models; i++)
		if (!strcmp(r->rows[i].name, name))
			return i;
	return -1;
}

static void mean_ci(struct strbuf *b, const struct json *m)
{
	double mean = num(m, "mean"), lo = num(m, "ci_low"), hi = num(m, "ci_high");
	if (!isfinite(mean))
		strbuf_puts(b, "undefined");
	else if (isfinite(lo) && isfinite(hi))
		strbuf_printf(b, "%.3f [%.3f, %.3f]", mean, lo, hi);
	else
		strbuf_printf(b, "%.3f (no interval)", mean);
}

/* "name 0.975 [0.932, 1.018]" of a verdict ranking entry. */
static void ranked_model(struct strbuf *b, const struct json *e)
{
	strbuf_printf(b, "%s ", json_string(json_get(e, "model")));
	mean_ci(b, e);
}

static const struct json *ranking_entry(const struct json *v, const char *model)
{
	const struct json *rk = json_get(v, "ranking");
	for (int i = 0; model && i < json_size(rk); i++)
		if (!strcmp(json_string(json_get(json_at(rk, i), "model")), model))
			return json_at(rk, i);
	return NULL;
}

/* The models tied at the top and what more repeats would separate them. */
static void tied_sentences(const struct report *r, struct strbuf *b, const struct json *v, const char *label)
{
	const struct json *models = json_get(v, "models");
	int nt = json_size(models);
	strbuf_printf(b, " Tied at the top by %s, as estimated from %d folds: ", label, r->k * r->repeats);
	for (int i = 0; i < nt; i++) {
		strbuf_puts(b, i == 0 ? "" : i < nt - 1 ? ", " : " and ");
		ranked_model(b, ranking_entry(v, json_string(json_at(models, i))));
	}
	strbuf_puts(b, ".");
	const char *top = json_string(json_at(models, 0));
	for (int i = 1; i < nt; i++) {
		const struct json *e = ranking_entry(v, json_string(json_at(models, i)));
		const struct json *vs = json_get(e, "vs_top");
		double d = num(vs, "diff_mean"), need = num(vs, "repeats_needed");
		strbuf_printf(b, " %s leads %s by %.3f (Holm-corrected p = %.3g).", top,
			  json_string(json_get(e, "model")), fabs(d), num(vs, "p_holm"));
		if (isfinite(need))
			strbuf_printf(b, " If that difference and its spread across folds held, about %d repeat%s of %d-fold "
				     "cross-validation would separate them; this is an estimate from the observed effect "
				     "size and variance, not a promise.",
				  (int)need, need == 1 ? "" : "s", r->k);
		else if (isfinite(d) && d != 0)
			strbuf_printf(b, " At that difference and spread, no number of repeats of %d-fold cross-validation "
				     "(up to 100) would separate them: the corrected test's variance does not fall below "
				     "n_test/n_train times the variance of the differences, so only a larger effect or "
				     "more data would (an estimate from the observed effect size and variance).",
				  r->k);
	}
}

/* The first paragraph: the primary metric, the decision rule and its
 * outcome (summary.json's `verdict`). */
static void verdict_paragraph(const struct report *r, struct strbuf *b)
{
	const struct json *v = json_get(r->summary, "verdict");
	const char *metric = primary_metric(r), *outcome = json_string(json_get(v, "outcome"));
	char *label = metric_label(r, metric, CELL_PLAIN);
	int higher = json_bool(json_get(v, "higher_is_better")) != 0;
	strbuf_printf(b, "**Primary metric: %s** (`metrics.primary`; the other metrics are reported but never decide). "
		     "**Decision rule:** a model is named best only if it beats every other model in %s "
		     "significantly (%s across folds, Holm-corrected across model pairs, α = %g) and its "
		     "%g %% interval lies %s the best baseline's %s; otherwise no model is named best.\n\n",
		  label, label, test_name(r, CELL_MD), r->alpha, 100 * (1 - r->alpha),
		  higher ? "above" : "below", label);
	const struct json *bb = json_get(v, "best_baseline");
	const char *bname = json_string(json_get(bb, "name"));
	const struct json *first = json_at(json_get(v, "ranking"), 0);
	if (!outcome || !strcmp(outcome, "no_ranked_model")) {
		strbuf_printf(b, "**Outcome: no verdict.** No model has %s in at least two folds.\n\n", label);
	} else if (!strcmp(outcome, "no_model_beats_baseline")) {
		strbuf_printf(b, "**Outcome: no model beats the best baseline.** %s scores %.3f in %s, and no model's "
			     "interval lies %s that.",
			  bname ? bname : "the best baseline", num(bb, "value"), label,
			  higher ? "above" : "below");
		tied_sentences(r, b, v, label);
		strbuf_puts(b, "\n\n");
	} else if (!strcmp(outcome, "clear_winner")) {
		strbuf_printf(b, "**Outcome: %s is the best model.** ", json_string(json_get(first, "model")));
		strbuf_printf(b, "%s = ", label);
		mean_ci(b, first);
		double worst = NAN;
		const struct json *rk = json_get(v, "ranking");
		for (int i = 1; i < json_size(rk); i++) {
			double p = num(json_get(json_at(rk, i), "vs_top"), "p_holm");
			if (isfinite(p) && !(p <= worst))
				worst = p;
		}
		strbuf_printf(b, " over %d folds; it beats every other model", (int)num(first, "n"));
		if (isfinite(worst))
			strbuf_printf(b, " (largest Holm-corrected p = %.3g)", worst);
		strbuf_printf(b, ", and its interval lies %s the best baseline, %s (%.3f).\n\n",
			  higher ? "above" : "below", bname ? bname : "none", num(bb, "value"));
	} else {
		strbuf_puts(b, "**Outcome: no model is separated.**");
		tied_sentences(r, b, v, label);
		if (!json_bool(json_get(first, "beats_baseline")))
			strbuf_printf(b, " The top model's interval does not lie %s the best baseline, %s (%.3f).",
				  higher ? "above" : "below", bname ? bname : "none", num(bb, "value"));
		strbuf_puts(b, "\n\n");
	}
	free(label);
}

/* Operating points at each model's chosen thresholds (summary.json's
 * `operating_point` and `fixed_threshold`). */
static void operating_table(const struct report *r, struct strbuf *b)
{
	const char *policy = json_string(json_get(r->summary, "threshold_policy"));
	strbuf_puts(b, "## Operating points\n\n");
	strbuf_printf(b, "Each unit's threshold was chosen by the `%s` policy on its inner validation split (docs/experiments.md); "
		     "the pooled held-out images are judged with it. Cost per inspected part: %g per good part rejected, "
		     "%g per defective part passed (`metrics.cost_fp`, `metrics.cost_fn`). The last column gives F%g at "
		     "the fixed threshold 0.5 of the original study, for comparison only.\n\n",
		  policy ? policy : "fixed", num(json_get(r->summary, "costs"), "fp"),
		  num(json_get(r->summary, "costs"), "fn"), r->beta);
	strbuf_printf(b, "| Model | Threshold (mean) | Good parts rejected | Defective parts passed | Cost per part | F%g here | "
		     "F%g at 0.5 |\n|---|---:|---:|---:|---:|---:|---:|\n",
		  r->beta, r->beta);
	for (int i = 0; i < r->n_rows; i++) {
		const struct row *row = &r->rows[i];
		if (i == r->n_models)
			strbuf_puts(b, "| *Baselines* | | | | | | |\n");
		const struct json *op = json_get(row->node, "operating_point");
		strbuf_printf(b, "| %s | %.3g | %.1f %% (%d/%d) | %.1f %% (%d/%d) | %.3f | ", row->name,
			  num(op, "threshold_mean"), 100 * num(op, "good_rejected_share"),
			  (int)num(op, "good_rejected"), (int)num(op, "good"),
			  100 * num(op, "defective_passed_share"), (int)num(op, "defective_passed"),
			  (int)num(op, "defective"), num(op, "cost_per_part"));
		mean_ci(b, row_metric(row, "f2"));
		strbuf_puts(b, " | ");
		mean_ci(b, json_get(json_get(row->node, "fixed_threshold"), "f2"));
		strbuf_puts(b, " |\n");
	}
	strbuf_puts(b, "\n");
}

static void study_paragraph(const struct report *r, struct strbuf *b)
{
	int ref = -1;
	for (int i = 0; i < r->n_models && ref < 0; i++)
		if (lower_eq(r->rows[i].name, "vgg16"))
			ref = i;
	for (int i = 0; i < r->n_models && ref < 0; i++)
		if (contains_ci(r->rows[i].name, "vgg"))
			ref = i;
	const char *why = "";
	if (ref < 0) {
		ref = row_index(r, json_string(json_get(json_get(r->summary, "best"), "model")));
		why = " (no VGG model in this experiment: the top model by the primary metric is compared)";
	}
	if (ref < 0)
		return;
	const char *name = r->rows[ref].name;
	strbuf_puts(b, "## Against the original study\n\n");
	strbuf_printf(b, "The original study's best model, VGG16, reached loss 0.506, accuracy 0.816, recall 1.000 and "
		     "F2 0.953. Recall and F-beta depend on which class counts as positive: darkfold's `recall` and "
		     "`f%g` take the %s class as positive, and `recall_other_positive` and `f%g_other_positive` take "
		     "the %s class as positive. The study's recall and F2 are set against both conventions below, "
		     "for %s%s.",
		  r->beta, r->positive, r->beta, r->other, name, why);
	if (r->beta != 2)
		strbuf_printf(b, " This experiment uses β = %g, so its F-beta is not the study's F2.", r->beta);
	strbuf_puts(b, "\n\n");
	struct {
		const char *metric, *study_metric;
		const char *what;
	} lines[] = {
		{ "loss", "loss", "Loss (cross-entropy)" },
		{ "accuracy", "accuracy", "Accuracy" },
		{ "recall", "recall", NULL },
		{ "recall_other_positive", "recall", NULL },
		{ "f2", "f2", NULL },
		{ "f2_other_positive", "f2", NULL },
	};
	strbuf_printf(b, "| Metric | Original VGG16 | %s here: mean [%g %% CI] | Original inside the CI? |\n"
		     "|---|---:|---:|---|\n",
		  name, 100 * (1 - r->alpha));
	for (size_t l = 0; l < sizeof lines / sizeof lines[0]; l++) {
		double sv = NAN;
		for (size_t s = 0; s < N_STUDY; s++)
			if (!strcmp(study_vgg16[s].metric, lines[l].study_metric))
				sv = study_vgg16[s].value;
		const struct json *m = row_metric(&r->rows[ref], lines[l].metric);
		double mean = num(m, "mean"), lo = num(m, "ci_low"), hi = num(m, "ci_high");
		const char *pos = strstr(lines[l].metric, "other") ? r->other : r->positive;
		if (lines[l].what)
			strbuf_printf(b, "| %s |", lines[l].what);
		else
			strbuf_printf(b, "| %s, %s positive (`%s`) |", !strncmp(lines[l].metric, "recall", 6) ? "Recall" : "F2",
				  pos, lines[l].metric);
		strbuf_printf(b, " %.3f | ", sv);
		mean_ci(b, m);
		if (!isfinite(mean))
			strbuf_puts(b, " | — |\n");
		else if (!isfinite(lo) || !isfinite(hi))
			strbuf_printf(b, " | no interval; %s here |\n", mean < sv ? "lower" : mean > sv ? "higher" : "equal");
		else if (lo <= sv && sv <= hi)
			strbuf_puts(b, " | yes |\n");
		else
			strbuf_printf(b, " | no: %s here |\n", hi < sv ? "lower" : "higher");
	}
	strbuf_puts(b, "\n");
}

static int write_report_md(const struct report *r, const char *path, int figures_drawn, int pdf,
			   const char *fig_note)
{
	struct strbuf b = { 0 };
	const char *exp = json_string(json_get(r->summary, "experiment"));
	strbuf_printf(&b, "# %s: report\n\n", exp ? exp : "experiment");
	verdict_paragraph(r, &b);
	operating_table(r, &b);
	study_paragraph(r, &b);
	strbuf_puts(&b, "## Results\n\n");
	folds_sentence(r, &b, CELL_MD);
	strbuf_puts(&b, " ");
	legend_sentence(r, &b, CELL_MD);
	strbuf_puts(&b, "\n\n");
	md_table(r, &b, main_cols, NCOLS(main_cols));
	md_notes(r, &b, main_cols, NCOLS(main_cols));
	kinds_md(r, &b);
	strbuf_puts(&b, "\nAll metrics and the provenance: [summary.md](summary.md); the same numbers as "
		    "[summary.csv](summary.csv) and [summary.tex](summary.tex).\n\n## Figures\n\n");
	if (figures_drawn) {
		for (int i = 0; i < N_FIGURES; i++) {
			strbuf_printf(&b, "![%s](figures/%s.png)\n\n*%s.*", figure_list[i].caption, figure_list[i].name,
				  figure_list[i].caption);
			if (pdf)
				strbuf_printf(&b, " PDF: [figures/%s.pdf](figures/%s.pdf)", figure_list[i].name,
					  figure_list[i].name);
			strbuf_puts(&b, "\n\n");
		}
	} else {
		strbuf_printf(&b, "Figures were not drawn: %s. Their data files are in figures/ when the figure step ran; "
			      "rerun `darkfold report` to draw them.\n\n",
			  fig_note);
	}
	strbuf_puts(&b, "## Provenance\n\n");
	provenance_md(r, &b);
	int rc = strbuf_write_file(&b, path);
	strbuf_release(&b);
	return rc;
}

/* ---- entry point ---- */

static void report_release(struct report *r)
{
	for (int i = 0; i < r->n_rows; i++) {
		free(r->rows[i].units);
	}
	free(r->rows);
	json_free(r->summary);
	free(r->summary_path);
	memset(r, 0, sizeof *r);
}

static int report_load(struct report *r, const struct experiment *e)
{
	r->summary_path = fs_join(r->dir, "summary.json");
	r->summary = json_parse_file(r->summary_path);
	if (!r->summary)
		return -1;
	const char *fmtag = json_string(json_get(r->summary, "format"));
	if (!fmtag || strcmp(fmtag, "darkfold-summary/1"))
		return error("'%s': not a darkfold summary (format '%s', expected 'darkfold-summary/1')",
			     r->summary_path, fmtag ? fmtag : "(none)");
	const struct json *models = json_get(r->summary, "models");
	if (json_type(models) != JSON_OBJECT || json_size(models) == 0)
		return error("'%s': .models: expected an object naming at least one model", r->summary_path);
	const struct json *bases = json_get(r->summary, "baselines");
	if (bases && json_type(bases) != JSON_OBJECT)
		return error("'%s': .baselines: expected an object, got %s", r->summary_path,
			     json_type_name(json_type(bases)));
	const char *sha = json_string(json_get(r->summary, "experiment_sha256"));
	if (e && sha && strcmp(sha, e->sha256))
		warning("'%s' was computed from another version of '%s' (sha256 %.12s…, the file now has %.12s…)",
			r->summary_path, e->path, sha, e->sha256);
	const char *pos = json_string(json_get(r->summary, "positive"));
	r->positive = pos && !strcmp(pos, "normal") ? "normal" : "anomalous";
	r->other = !strcmp(r->positive, "normal") ? "anomalous" : "normal";
	r->alpha = num(r->summary, "alpha");
	if (!(r->alpha > 0 && r->alpha < 1))
		r->alpha = 0.05;
	r->beta = num(r->summary, "beta");
	if (!(r->beta > 0))
		r->beta = 2;
	r->k = (int)num(r->summary, "k");
	r->repeats = (int)num(r->summary, "repeats");
	if (r->k < 2)
		return error("'%s': .k: expected an integer >= 2", r->summary_path);
	if (r->repeats < 1)
		r->repeats = 1;
	r->n_models = json_size(models);
	r->n_rows = r->n_models + json_size(bases);
	r->rows = xcalloc((size_t)r->n_rows, sizeof *r->rows);
	for (int i = 0; i < r->n_rows; i++) {
		int base = i >= r->n_models;
		const struct json *m = base ? json_at(bases, i - r->n_models) : json_at(models, i);
		r->rows[i].name = json_key(m);
		r->rows[i].baseline = base;
		r->rows[i].node = m;
		if (json_type(json_get(m, "metrics")) != JSON_OBJECT)
			return error("'%s': .%s.%s.metrics: expected an object", r->summary_path,
				     base ? "baselines" : "models", r->rows[i].name);
	}
	for (int i = 0; i < r->n_models; i++)
		if (load_unit_times(r, &r->rows[i]) != 0)
			return -1;
	return 0;
}

int report_render(const struct experiment *e, const char *results_path, const struct report_opts *o)
{
	struct report_opts defaults = { 1, NULL, NULL, 0, 1 };
	if (!o)
		o = &defaults;
	struct report r;
	memset(&r, 0, sizeof r);
	r.dir = results_path;
	r.interval = o->interval;
	struct figs f;
	memset(&f, 0, sizeof f);
	char *csv = fs_join(results_path, "summary.csv"), *md = fs_join(results_path, "summary.md");
	char *tex = fs_join(results_path, "summary.tex"), *rep = fs_join(results_path, "report.md");
	char *figdir = fs_join(results_path, "figures");
	char *note = NULL;
	int rc = -1, drawn = 0;

	if (report_load(&r, e) != 0)
		goto out;
	if (write_csv(&r, csv) != 0 || write_md(&r, md) != 0 || write_tex(&r, tex) != 0)
		goto out;
	if (!o->figures) {
		note = xstrdup("figures were not asked for");
	} else {
		int init = plot_init(&f.plot, figdir, o->plots_dir, o->gnuplot);
		f.plot.pdf = o->pdf;
		f.can_draw = init == 0;
		if (f.plot.fig_dir) {
			/* data files are written even when gnuplot is missing */
			int frc = fig_headline(&r, &f);
			if (frc == 0)
				frc = fig_learning(&r, &f);
			if (frc == 0)
				frc = fig_curves(&r, &f, "roc");
			if (frc == 0)
				frc = fig_curves(&r, &f, "pr");
			if (frc == 0)
				frc = fig_confusion(&r, &f);
			if (frc == 0)
				frc = fig_defects(&r, &f);
			if (frc == 0)
				frc = fig_cost(&r, &f);
			drawn = frc == 0 && f.can_draw;
			if (!drawn)
				note = xstrdup(!f.can_draw ? "gnuplot was not available when the report was written"
							   : "gnuplot failed (see the figures/*.log files)");
		} else {
			note = xstrdup("the figures folder could not be created");
		}
	}
	if (write_report_md(&r, rep, drawn, o->pdf, note) != 0)
		goto out;
	if (o->figures && !drawn) {
		warning("tables and report.md were written to '%s'; figures are missing", results_path);
		goto out;
	}
	rc = 0;
out:
	plot_release(&f.plot);
	strbuf_release(&f.dat);
	strbuf_release(&f.vars);
	report_release(&r);
	free(note);
	free(csv);
	free(md);
	free(tex);
	free(rep);
	free(figdir);
	return rc;
}
