/* report_text.c: report.md, the one-page report: the verdict, the operating
 * point, the comparison with the original study, the main table, the
 * figures and the provenance. */
#include "report_impl.h"

#include "error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	double mean = report_num(m, "mean"), lo = report_num(m, "ci_low"), hi = report_num(m, "ci_high");
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
		double d = report_num(vs, "diff_mean"), need = report_num(vs, "repeats_needed");
		strbuf_printf(b, " %s leads %s by %.3f (Holm-corrected p = %.3g).", top,
			  json_string(json_get(e, "model")), fabs(d), report_num(vs, "p_holm"));
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
	const char *metric = report_primary_metric(r), *outcome = json_string(json_get(v, "outcome"));
	char *label = report_metric_label(r, metric, CELL_PLAIN);
	int higher = json_bool(json_get(v, "higher_is_better")) != 0;
	strbuf_printf(b, "**Primary metric: %s** (`metrics.primary`; the other metrics are reported but never decide). "
		     "**Decision rule:** a model is named best only if it beats every other model in %s "
		     "significantly (%s across folds, Holm-corrected across model pairs, α = %g) and its "
		     "%g %% interval lies %s the best baseline's %s; otherwise no model is named best.\n\n",
		  label, label, report_test_name(r, CELL_MD), r->alpha, 100 * (1 - r->alpha),
		  higher ? "above" : "below", label);
	const struct json *bb = json_get(v, "best_baseline");
	const char *bname = json_string(json_get(bb, "name"));
	const struct json *first = json_at(json_get(v, "ranking"), 0);
	if (!outcome || !strcmp(outcome, "no_ranked_model")) {
		strbuf_printf(b, "**Outcome: no verdict.** No model has %s in at least two folds.\n\n", label);
	} else if (!strcmp(outcome, "no_model_beats_baseline")) {
		strbuf_printf(b, "**Outcome: no model beats the best baseline.** %s scores %.3f in %s, and no model's "
			     "interval lies %s that.",
			  bname ? bname : "the best baseline", report_num(bb, "value"), label,
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
			double p = report_num(json_get(json_at(rk, i), "vs_top"), "p_holm");
			if (isfinite(p) && !(p <= worst))
				worst = p;
		}
		strbuf_printf(b, " over %d folds; it beats every other model", (int)report_num(first, "n"));
		if (isfinite(worst))
			strbuf_printf(b, " (largest Holm-corrected p = %.3g)", worst);
		strbuf_printf(b, ", and its interval lies %s the best baseline, %s (%.3f).\n\n",
			  higher ? "above" : "below", bname ? bname : "none", report_num(bb, "value"));
	} else {
		strbuf_puts(b, "**Outcome: no model is separated.**");
		tied_sentences(r, b, v, label);
		if (!json_bool(json_get(first, "beats_baseline")))
			strbuf_printf(b, " The top model's interval does not lie %s the best baseline, %s (%.3f).",
				  higher ? "above" : "below", bname ? bname : "none", report_num(bb, "value"));
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
		  policy ? policy : "fixed", report_num(json_get(r->summary, "costs"), "fp"),
		  report_num(json_get(r->summary, "costs"), "fn"), r->beta);
	strbuf_printf(b, "| Model | Threshold (mean) | Good parts rejected | Defective parts passed | Cost per part | F%g here | "
		     "F%g at 0.5 |\n|---|---:|---:|---:|---:|---:|---:|\n",
		  r->beta, r->beta);
	for (int i = 0; i < r->n_rows; i++) {
		const struct row *row = &r->rows[i];
		if (i == r->n_models)
			strbuf_puts(b, "| *Baselines* | | | | | | |\n");
		const struct json *op = json_get(row->node, "operating_point");
		strbuf_printf(b, "| %s | %.3g | %.1f %% (%d/%d) | %.1f %% (%d/%d) | %.3f | ", row->name,
			  report_num(op, "threshold_mean"), 100 * report_num(op, "good_rejected_share"),
			  (int)report_num(op, "good_rejected"), (int)report_num(op, "good"),
			  100 * report_num(op, "defective_passed_share"), (int)report_num(op, "defective_passed"),
			  (int)report_num(op, "defective"), report_num(op, "cost_per_part"));
		mean_ci(b, report_row_metric(row, "f2"));
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
		for (int s = 0; s < report_n_study; s++)
			if (!strcmp(report_study_vgg16[s].metric, lines[l].study_metric))
				sv = report_study_vgg16[s].value;
		const struct json *m = report_row_metric(&r->rows[ref], lines[l].metric);
		double mean = report_num(m, "mean"), lo = report_num(m, "ci_low"), hi = report_num(m, "ci_high");
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

/* The anomaly-map figure of each one-class model with a "maps" summary. */
static void maps_figures(const struct report *r, struct strbuf *b)
{
	for (int i = 0; i < r->n_models; i++) {
		const char *m = r->rows[i].name;
		if (json_type(json_get(r->rows[i].node, "maps")) != JSON_OBJECT)
			continue;
		strbuf_printf(b, "![Anomaly maps of %s](figures/maps-%s.png)\n\n*Anomaly maps of %s: per "
			      "defect type, the anomalous test image of the first repeat scored furthest "
			      "above its threshold (best) and the one furthest below it (worst), each with its "
			      "heat map and the outlines of the ground-truth mask (green) and of the map "
			      "at or above the threshold (magenta).* Caption and scores: "
			      "[figures/maps-%s.txt](figures/maps-%s.txt)\n\n", m, m, m, m, m);
	}
}

int report_text_write(const struct report *r, const char *path, int figures_drawn, int pdf,
		      const char *fig_note, int maps)
{
	struct strbuf b = { 0 };
	const char *exp = json_string(json_get(r->summary, "experiment"));
	strbuf_printf(&b, "# %s: report\n\n", exp ? exp : "experiment");
	verdict_paragraph(r, &b);
	operating_table(r, &b);
	study_paragraph(r, &b);
	strbuf_puts(&b, "## Results\n\n");
	report_md_results(r, &b);
	report_md_kinds(r, &b);
	strbuf_puts(&b, "\nAll metrics and the provenance: [summary.md](summary.md); the same numbers as "
		    "[summary.csv](summary.csv) and [summary.tex](summary.tex).\n\n## Figures\n\n");
	if (figures_drawn) {
		for (int i = 0; i < report_n_figures; i++) {
			strbuf_printf(&b, "![%s](figures/%s.png)\n\n*%s.*", report_figure_list[i].caption, report_figure_list[i].name,
				  report_figure_list[i].caption);
			if (pdf)
				strbuf_printf(&b, " PDF: [figures/%s.pdf](figures/%s.pdf)", report_figure_list[i].name,
					  report_figure_list[i].name);
			strbuf_puts(&b, "\n\n");
		}
	} else {
		strbuf_printf(&b, "Figures were not drawn: %s. Their data files are in figures/ when the figure step ran; "
			      "rerun `darkfold report` to draw them.\n\n",
			  fig_note);
	}
	if (maps)
		maps_figures(r, &b);
	strbuf_puts(&b, "## Provenance\n\n");
	report_md_provenance(r, &b);
	int rc = strbuf_write_file(&b, path);
	strbuf_release(&b);
	return rc;
}

