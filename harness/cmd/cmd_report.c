/* cmd_report.c: `darkfold report`: summary.json from an experiment's unit
 * result files, then tables, figures and the one-page report. */
#include "commands.h"

#include "error.h"
#include "experiment.h"
#include "fsutil.h"
#include "report.h"
#include "summary.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

const char cmd_report_usage[] =
	"usage: darkfold report EXPERIMENT [--no-figures] [--gnuplot PROGRAM] [--allow-stale]\n"
	"\n"
	"Reads the unit result files results/<name>/<model>/r<R>-f<F>.json of the\n"
	"experiment file EXPERIMENT and writes results/<name>/summary.json:\n"
	"per metric the mean, sd and Student-t interval across folds, pooled values\n"
	"with Wilson and bootstrap intervals, ROC and PR points, the baselines\n"
	"(always_anomalous, always_normal, stratified_random), Nadeau-Bengio tests\n"
	"between every pair of models with Holm-corrected p-values, McNemar's test,\n"
	"and the best model by F-beta (docs/results.md). Then it writes the tables\n"
	"(summary.csv, .md, .tex), the figures and report.md beside it.\n"
	"Missing units are counted, not fatal; nothing is trained. A unit file made\n"
	"for another experiment or from other inputs (stale) is an error.\n"
	"\n"
	"  --allow-stale      report stale unit files, counted as stale\n"
	"  --no-figures       tables and report.md only (no gnuplot)\n"
	"  --gnuplot PROGRAM  the gnuplot to run (default: gnuplot on PATH)\n"
	"\n"
	"Exit status: 0 done, 1 failure (a bad or stale unit file, no finished\n"
	"unit, gnuplot failing),\n"
	"2 usage error.";

/* 1 if the summary at path counts an ok unit for some model. */
static int any_finished(const char *path)
{
	struct json *s = json_parse_file(path);
	const struct json *m = json_get(s, "models");
	int any = 0;
	for (int i = 0; i < json_size(m); i++)
		any |= json_number(json_get(json_get(json_at(m, i), "units"), "ok")) > 0;
	json_free(s);
	return any;
}

/* Write summary.json of e's unit results to out. Returns 0 or -1. */
static int write_summary(const struct experiment *e, const char *results, const char *out,
			 int allow_stale)
{
	int failed;
	char **inputs = unit_inputs_all(e, &failed);
	if (failed) {
		unit_inputs_free(inputs, e);
		return -1;
	}
	const char **models = xcalloc((size_t)e->n_models + 1, sizeof *models);
	for (int i = 0; i < e->n_models; i++)
		models[i] = e->models[i].name;
	struct summary_config c = {
		.experiment = e->name,
		.experiment_sha256 = e->sha256,
		.results_path = results,
		.models = models,
		.n_models = e->n_models,
		.k = e->cv.k,
		.repeats = e->cv.repeats,
		.positive = e->metrics.positive == EXP_POS_ANOMALOUS,
		.beta = e->metrics.beta,
		.alpha = e->metrics.alpha,
		.threshold_policy = experiment_threshold_name(e->metrics.threshold_policy),
		.primary = e->metrics.primary,
		.cost_fp = e->metrics.cost_fp,
		.cost_fn = e->metrics.cost_fn,
		.bootstrap = e->metrics.bootstrap,
		.seed = e->cv.seed,
		.inputs_sha256 = inputs,
		.allow_stale = allow_stale,
	};
	int rc = summary_write(&c, out);
	unit_inputs_free(inputs, e);
	free(models);
	return rc;
}

/* summary.json, then the tables, figures and report of experiment e loaded
 * from path. Returns 0 or -1. */
static int make_report(const struct experiment *e, const char *path, const struct report_opts *o,
		       int allow_stale)
{
	int rc = -1;
	char *results = experiment_results_path(e);
	char *out = fs_join(results, "summary.json");
	if (!fs_is_dir(results)) {
		error("no results folder '%s' for '%s': run 'darkfold run %s' first", results, path,
		      path);
		goto out;
	}
	if (write_summary(e, results, out, allow_stale) != 0)
		goto out;
	printf("wrote %s\n", out);
	if (!any_finished(out)) {
		error("nothing has finished: no unit of '%s' has status ok; run 'darkfold run %s' "
		      "first", path, path);
		goto out;
	}
	if (report_render(e, results, o) != 0)
		goto out;
	printf("wrote the tables%s and report.md in %s\n", o->figures ? ", figures" : "", results);
	rc = 0;
out:
	free(out);
	free(results);
	return rc;
}

int cmd_report(int argc, char **argv)
{
	const char *path = NULL, *gnuplot = NULL;
	int no_figures = 0, allow_stale = 0;
	const struct cmd_option opts[] = {
		OPT_FLAG("no-figures", 0, &no_figures),
		OPT_FLAG("allow-stale", 0, &allow_stale),
		OPT_STRING("gnuplot", 0, &gnuplot),
		OPT_END(),
	};
	int status = cmd_parse_one(argc, argv, opts, cmd_report_usage, "experiment", &path);
	if (status >= 0)
		return status;
	struct experiment e;
	if (experiment_load(path, &e) != 0)
		return 1;
	struct report_opts o = { .figures = !no_figures, .gnuplot = gnuplot, .pdf = 1 };
	int rc = make_report(&e, path, &o, allow_stale) == 0 ? 0 : 1;
	experiment_release(&e);
	return rc;
}
