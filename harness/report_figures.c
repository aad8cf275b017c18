/* report_figures.c: the figures' data files (figures/<name>.dat) and their
 * drawing through plot.c. */
#include "report_impl.h"

#include "error.h"
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	metrics[nm++] = report_primary_metric(r);
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
			labels[m] = report_metric_label(r, metrics[m], CELL_PLAIN);
	}
	strbuf_reset(&f->dat);
	strbuf_puts(&f->dat, "# headline metrics: one block per model, then per baseline\n# metric_index mean ci_low ci_high (metric");
	for (int m = 0; m < nm; m++)
		strbuf_printf(&f->dat, "%s %d %s", m ? "," : "", m, metrics[m]);
	strbuf_puts(&f->dat, "; 0 is the primary metric)\n");
	for (int i = 0; i < r->n_rows; i++) {
		strbuf_printf(&f->dat, "%s# %s\n", i ? "\n\n" : "", r->rows[i].name);
		for (int m = 0; m < nm; m++) {
			const struct json *j = report_row_metric(&r->rows[i], metrics[m]);
			double mean = report_num(j, "mean"), lo = report_num(j, "ci_low"), hi = report_num(j, "ci_high");
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
		for (int s = 0; s < report_n_study; s++)
			if (!strcmp(report_study_vgg16[s].metric, metrics[m])) {
				strbuf_printf(&f->dat, "%d %.3f\n", m, report_study_vgg16[s].value);
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
			double tsd = report_num(p, "train_loss_sd"), vsd = report_num(p, "val_loss_sd");
			double hi[2] = { report_num(p, "train_loss_mean") + (isfinite(tsd) ? tsd : 0),
					 report_num(p, "val_loss_mean") + (isfinite(vsd) ? vsd : 0) };
			for (int q = 0; q < 2; q++)
				if (isfinite(hi[q])) {
					has[i] = 1;
					ymax = hi[q] > ymax ? hi[q] : ymax;
				}
			if (report_num(p, "epoch") > emax)
				emax = report_num(p, "epoch");
			strbuf_printf(&f->dat, "%d %d", (int)report_num(p, "epoch"), (int)report_num(p, "n"));
			dat_num(&f->dat, report_num(p, "train_loss_mean"));
			dat_num(&f->dat, isfinite(tsd) ? tsd : 0);
			dat_num(&f->dat, report_num(p, "val_loss_mean"));
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
		double gr = report_num(op, "good_rejected_share"), dp = report_num(op, "defective_passed_share");
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
		double area = report_num(json_get(pooled, roc ? "auroc" : "auprc"), "value");
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
			double tp = report_num(c, "tp"), fp = report_num(c, "fp"), tn = report_num(c, "tn"), fn = report_num(c, "fn");
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
		double tp = report_num(c, "tp"), fp = report_num(c, "fp"), tn = report_num(c, "tn"), fn = report_num(c, "fn");
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
			dat_num(&f->dat, report_num(e, "recall"));
			dat_num(&f->dat, report_num(e, "n"));
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
		dat_num(&f->dat, report_num(t, "images_per_second_mean"));
		dat_num(&f->dat, report_num(t, "train_seconds_mean"));
		dat_num(&f->dat, report_num(t, "train_seconds_total"));
		strbuf_puts(&f->dat, "\n");
		if (report_num(t, "train_seconds_mean") > tmax)
			tmax = report_num(t, "train_seconds_mean");
		double ips = report_num(t, "images_per_second_mean");
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

const struct report_figure report_figure_list[] = {
	{ "headline", "Headline metrics per model with confidence intervals, baselines, and the original study's VGG16" },
	{ "learning_curves", "Training and inner-validation loss per epoch (mean across folds, band ± 1 SD)" },
	{ "roc", "Pooled out-of-fold ROC curves" },
	{ "pr", "Pooled out-of-fold precision-recall curves" },
	{ "confusion", "Pooled confusion matrices" },
	{ "defect_recall", "Recall per defect type" },
	{ "cost", "Training cost" },
};
const int report_n_figures = (int)(sizeof report_figure_list / sizeof report_figure_list[0]);

/* Every figure's data files, then (when gnuplot is there) its drawing;
 * the first failure stops. */
static int all_figures(const struct report *r, struct figs *f)
{
	int rc = fig_headline(r, f);
	if (rc == 0)
		rc = fig_learning(r, f);
	if (rc == 0)
		rc = fig_curves(r, f, "roc");
	if (rc == 0)
		rc = fig_curves(r, f, "pr");
	if (rc == 0)
		rc = fig_confusion(r, f);
	if (rc == 0)
		rc = fig_defects(r, f);
	if (rc == 0)
		rc = fig_cost(r, f);
	return rc;
}

int report_figures_draw(const struct report *r, const struct report_opts *o, const char *figdir,
			char **note)
{
	struct figs f;
	memset(&f, 0, sizeof f);
	int init = plot_init(&f.plot, figdir, o->plots_dir, o->gnuplot);
	int drawn = 0;
	f.plot.pdf = o->pdf;
	f.can_draw = init == 0;
	if (f.plot.fig_dir) {
		/* data files are written even when gnuplot is missing */
		drawn = all_figures(r, &f) == 0 && f.can_draw;
		if (!drawn)
			*note = xstrdup(!f.can_draw ? "gnuplot was not available when the report was written"
						    : "gnuplot failed (see the figures/*.log files)");
	} else {
		*note = xstrdup("the figures folder could not be created");
	}
	plot_release(&f.plot);
	strbuf_release(&f.dat);
	strbuf_release(&f.vars);
	return drawn;
}
