/* report_tables.c: summary.csv, summary.md and summary.tex (every metric of
 * every model and baseline, best and significance marks, provenance). */
#include "report_impl.h"

#include "error.h"
#include "fsutil.h"
#include "summary.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One table cell: a metric's mean and interval, with its marks. */
struct cell {
	double mean, lo, hi;
	int n;
	const char *reason;
	int best;        /* best model in its column */
	int has_test;    /* a comparison against the column's best exists */
	double p_holm;
	int significant; /* differs from the column's best (Holm-corrected) */
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
		double m = report_num(report_row_metric(&r->rows[i], c->metric), "mean");
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

static struct cell get_cell(const struct report *r, int row, const struct col *c)
{
	struct cell x;
	memset(&x, 0, sizeof x);
	const struct json *m = report_row_metric(&r->rows[row], c->metric);
	x.mean = report_num(m, "mean");
	x.lo = report_num(m, "ci_low");
	x.hi = report_num(m, "ci_high");
	x.n = (int)report_num(m, "n");
	x.reason = json_string(json_get(m, "reason"));
	x.p_holm = NAN;
	if (r->rows[row].baseline || !isfinite(x.mean) || strcmp(c->metric, report_primary_metric(r)))
		return x;
	int b = column_best(r, c);
	if (b < 0)
		return x;
	double bv = report_num(report_row_metric(&r->rows[b], c->metric), "mean");
	x.best = x.mean == bv;
	if (b == row)
		return x;
	const struct json *cmp = find_comparison(r, r->rows[b].name, r->rows[row].name, c->metric);
	if (cmp) {
		x.has_test = 1;
		x.p_holm = report_num(cmp, "p_holm");
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
		snprintf(out, n, "%d/%d", (int)report_num(u, "ok"), (int)report_num(u, "total"));
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
	double w = report_num(json_get(r->summary, "provenance"), "wall_seconds_total");
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

/* Per model: mean wall time per unit, training times, and each unit's wall
 * time with its status when not ok. */
static void unit_times_md(const struct report *r, struct strbuf *b)
{
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
		format_seconds(bm, sizeof bm, report_num(t, "train_seconds_mean"));
		format_seconds(c, sizeof c, report_num(t, "train_seconds_total"));
		strbuf_printf(b, "| %s | %s | %s | %s | %s | %s |\n", row->name, u, a, bm, c,
			  row->n_units ? strbuf_str(&per) : "unit files not found");
		strbuf_release(&per);
	}
}

/* Markdown provenance block (a two-column table) and per-unit wall times. */
void report_md_provenance(const struct report *r, struct strbuf *b)
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
	char y[64];
	prov(r, "mixed_blas_cores", y, sizeof y);
	strbuf_printf(b, "| OpenBLAS | %s (core %s, %s thread%s per unit)%s |\n", v, w, x,
		      strcmp(x, "1") ? "s" : "",
		      !strcmp(y, "yes") ? "; **the units ran with different cores, whose kernels "
					  "round differently**" : "");
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
	unit_times_md(r, b);
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
		format_seconds(v, sizeof v, report_num(json_get(r->rows[i].node, "timing"), "train_seconds_mean"));
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
	char *label = report_metric_label(r, report_primary_metric(r), CELL_PLAIN);
	strbuf_printf(b, "%s: best model by the primary metric, %s, in its column only (secondary metrics never mark a "
		     "model). %s: differs from that model in %s (%s, Holm-corrected across model pairs, "
		     "%s = %g). %s: undefined.",
		  bold, label, dag, label, report_test_name(r, fmt), fmt == CELL_TEX ? "$\\alpha$" : "α", r->alpha,
		  fmt == CELL_TEX ? "--" : "—");
	free(label);
}

/* A row's kind (summary.json's models.<m>.kind): ROW_ONE_CLASS,
 * ROW_KNN for the k-nearest-neighbour baseline (a one-class model without
 * training), else ROW_SUPERVISED (baselines too). */
enum row_kind { ROW_SUPERVISED = 0, ROW_ONE_CLASS, ROW_KNN };
static enum row_kind row_kind(const struct row *row)
{
	const char *kind = json_string(json_get(row->node, "kind"));
	if (row->baseline || !kind)
		return ROW_SUPERVISED;
	return !strcmp(kind, "knn") ? ROW_KNN : !strcmp(kind, "one_class") ? ROW_ONE_CLASS : ROW_SUPERVISED;
}

/* "Model kinds" section of report.md: which models are supervised and which
 * one-class, and the one-class models' pixel-level metrics. */
void report_md_kinds(const struct report *r, struct strbuf *b)
{
	strbuf_puts(b, "\n## Model kinds\n\nSupervised models are classifiers trained on both classes; their "
		   "score is P(anomalous). One-class models are trained on normal images only; their score "
		   "is the pooled reconstruction error, not a probability, so they have no loss and their "
		   "threshold is tuned on the inner validation split. Both kinds are scored, compared and "
		   "tested in the same way above.");
	int knn = 0;
	for (int i = 0; i < r->n_models; i++)
		knn |= row_kind(&r->rows[i]) == ROW_KNN;
	if (knn)
		strbuf_puts(b, " A one-class (kNN) model is not trained: it keeps the normal training images "
			   "and reconstructs an image as the mean of its nearest ones.");
	strbuf_puts(b, "\n\n| Model | Kind | Pixel AUROC | PRO (FPR <= 0.3) |\n|---|---|---:|---:|\n");
	static const char *const kinds[] = { "supervised", "one-class", "one-class (kNN)" };
	for (int i = 0; i < r->n_models; i++) {
		const struct row *row = &r->rows[i];
		const struct json *px = json_get(row->node, "pixel_metrics");
		strbuf_printf(b, "| %s | %s |", row->name, kinds[row_kind(row)]);
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

/* Each column's heading in format fmt, between pre and post. */
static void put_labels(const struct report *r, struct strbuf *b, const struct col *cols, int ncols,
		       int fmt, const char *pre, const char *post)
{
	for (int c = 0; c < ncols; c++) {
		char *l = report_metric_label(r, cols[c].metric, fmt);
		strbuf_printf(b, "%s%s%s", pre, l, post);
		free(l);
	}
}

/* s, n times. */
static void put_times(struct strbuf *b, const char *s, int n)
{
	for (int i = 0; i < n; i++)
		strbuf_puts(b, s);
}

static void md_table(const struct report *r, struct strbuf *b, const struct col *cols, int ncols)
{
	strbuf_puts(b, "| Model | Units |");
	put_labels(r, b, cols, ncols, CELL_MD, " ", " |");
	strbuf_puts(b, "\n|---|---:|");
	put_times(b, "---:|", ncols);
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
		static const char *const tags[] = { "", " (one-class)", " (one-class, kNN)" };
		strbuf_printf(b, "| %s%s | %s |", r->rows[i].name, tags[row_kind(&r->rows[i])], u);
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
			char *l = report_metric_label(r, cols[c].metric, CELL_PLAIN);
			strbuf_printf(b, "%s- %s, %s: %s.\n", any ? "" : "\nNotes:\n", r->rows[i].name, l, x.reason);
			any = 1;
			free(l);
		}
}

void report_md_results(const struct report *r, struct strbuf *b)
{
	folds_sentence(r, b, CELL_MD);
	strbuf_puts(b, " ");
	legend_sentence(r, b, CELL_MD);
	strbuf_puts(b, "\n\n");
	md_table(r, b, main_cols, NCOLS(main_cols));
	md_notes(r, b, main_cols, NCOLS(main_cols));
}

static int write_md(const struct report *r, const char *path)
{
	struct strbuf b = { 0 };
	const char *exp = json_string(json_get(r->summary, "experiment"));
	strbuf_printf(&b, "# %s: results\n\n", exp ? exp : "experiment");
	report_md_results(r, &b);
	strbuf_printf(&b, "\nMore metrics (recall and F%g also with the %s class positive):\n\n", r->beta, r->other);
	md_table(r, &b, more_cols, NCOLS(more_cols));
	md_notes(r, &b, more_cols, NCOLS(more_cols));
	strbuf_puts(&b, "\n");
	report_md_provenance(r, &b);
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
	put_times(b, "c", ncols);
	strbuf_puts(b, "}\n\\toprule\nModel & Units");
	put_labels(r, b, cols, ncols, CELL_TEX, " & ", "");
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
			csv_num(&b, report_num(report_row_metric(row, all_cols[c].metric), "sd"));
			csv_num(&b, x.lo);
			csv_num(&b, x.hi);
			strbuf_printf(&b, ",%d", x.n);
			csv_num(&b, row->baseline ? NAN : report_num(u, "ok"));
			csv_num(&b, row->baseline ? NAN : report_num(u, "total"));
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


int report_tables_write(const struct report *r)
{
	char *csv = fs_join(r->dir, "summary.csv"), *md = fs_join(r->dir, "summary.md");
	char *tex = fs_join(r->dir, "summary.tex");
	int rc = write_csv(r, csv) != 0 || write_md(r, md) != 0 || write_tex(r, tex) != 0 ? -1 : 0;
	free(csv);
	free(md);
	free(tex);
	return rc;
}
