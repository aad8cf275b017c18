/* report.c: the report's core: summary.json read into struct report, then
 * the tables (report_tables.c), the figures (report_figures.c) and report.md
 * (report_text.c) written from it. */
#include "report.h"

#include "error.h"
#include "fsutil.h"
#include "json.h"
#include "report_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct report_study_mark report_study_vgg16[] = {
	{ "loss", 0.506 }, { "accuracy", 0.816 }, { "recall", 1.000 }, { "f2", 0.953 },
};
const int report_n_study = (int)(sizeof report_study_vgg16 / sizeof report_study_vgg16[0]);

/* ---- what the report reads ---- */

double report_num(const struct json *obj, const char *key)
{
	return json_number(json_get(obj, key));
}

/* Column heading of a metric; fbeta names follow the experiment's beta. */
char *report_metric_label(const struct report *r, const char *metric, int fmt)
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

const struct json *report_row_metric(const struct row *row, const char *metric)
{
	return json_get(json_get(row->node, "metrics"), metric);
}

/* The comparison of models a and b on metric, in either order. */

const char *report_primary_metric(const struct report *r)
{
	const char *p = json_string(json_get(json_get(r->summary, "verdict"), "primary"));
	return p ? p : "auroc";
}

/* The significance test's name, as summary.json's verdict records it. */
const char *report_test_name(const struct report *r, int fmt)
{
	const char *t = json_string(json_get(json_get(r->summary, "verdict"), "test"));
	if (t && !strcmp(t, "corrected_repeated_kfold"))
		return fmt == CELL_TEX ? "Bouckaert--Frank corrected repeated k-fold t-test"
				       : "Bouckaert–Frank corrected repeated k-fold t-test";
	return fmt == CELL_TEX ? "Nadeau--Bengio corrected resampled t-test"
			       : "Nadeau–Bengio corrected resampled t-test";
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
		ut->train = report_num(e, "train_seconds");
		ut->wall = report_num(e, "wall_seconds");
		if (!isfinite(ut->wall))
			ut->wall = ut->train;
	}
	return 0;
}

/* ---- entry point ---- */

static void report_release(struct report *r)
{
	for (int i = 0; i < r->n_rows; i++)
		free(r->rows[i].units);
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
	r->alpha = report_num(r->summary, "alpha");
	if (!(r->alpha > 0 && r->alpha < 1))
		r->alpha = 0.05;
	r->beta = report_num(r->summary, "beta");
	if (!(r->beta > 0))
		r->beta = 2;
	r->k = (int)report_num(r->summary, "k");
	r->repeats = (int)report_num(r->summary, "repeats");
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
	char *rep = fs_join(results_path, "report.md");
	char *figdir = fs_join(results_path, "figures");
	char *note = NULL;
	int rc = -1, drawn = 0;

	if (report_load(&r, e) != 0 || report_tables_write(&r) != 0)
		goto out;
	if (o->figures)
		drawn = report_figures_draw(&r, o, figdir, &note);
	else
		note = xstrdup("figures were not asked for");
	if (report_text_write(&r, rep, drawn, o->pdf, note, o->figures) != 0)
		goto out;
	if (o->figures && report_maps_draw(&r, figdir) != 0)
		goto out;
	if (o->figures && !drawn) {
		warning("tables and report.md were written to '%s'; figures are missing", results_path);
		goto out;
	}
	rc = 0;
out:
	report_release(&r);
	free(note);
	free(rep);
	free(figdir);
	return rc;
}
