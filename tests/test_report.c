/* test_report.c: tables and report.md rendered from the fixture result set
 * tests/data/report/fixture (written by make_fixture.py there): 4 models
 * (dense2 with one diverged unit), 3 baselines, k = 5, 1 repeat.
 *
 * Expected cells were worked out from summary.json's numbers with Python
 * ("%.3f" of mean, and of (ci_high - ci_low) / 2), not with darkfold, e.g.
 * vgg16 loss: mean 0.14687, ci [0.13085, 0.16289] -> "0.147 ± 0.016". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "error.h"
#include "experiment.h"
#include "fsutil.h"
#include "helpers.h"
#include "image.h"
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURE DARKFOLD_SOURCE_DIR "/tests/data/report/fixture"

/* A copy of the fixture in a fresh directory (caller frees, removes). */
static char *fixture_copy(void)
{
	char *dir = test_tmpdir();
	char *cmd = xasprintf("cp -r '%s/.' '%s/'", FIXTURE, dir);
	if (system(cmd) != 0)
		abort();
	free(cmd);
	return dir;
}

static char *slurp(const char *dir, const char *file)
{
	char *path = fs_join(dir, file);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot read %s", path);
	size_t cap = 1 << 16, n = 0;
	char *buf = xmalloc(cap);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (n + 1 >= cap)
			buf = xrealloc(buf, cap *= 2);
	}
	buf[n] = '\0';
	fclose(f);
	free(path);
	return buf;
}

static int exists(const char *dir, const char *file)
{
	char *path = fs_join(dir, file);
	int r = fs_is_file(path);
	free(path);
	return r;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("missing: %s", needle);
}

static void assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle))
		fail_msg("unexpected: %s", needle);
}

/* In dir/file, replace the first occurrence of old after anchor. */
static void edit(const char *dir, const char *file, const char *anchor, const char *old, const char *new_text)
{
	char *text = slurp(dir, file);
	char *a = strstr(text, anchor);
	char *o = a ? strstr(a, old) : NULL;
	if (!o)
		fail_msg("%s: no '%s' after '%s'", file, old, anchor);
	char *out = xasprintf("%.*s%s%s", (int)(o - text), text, new_text, o + strlen(old));
	char *path = fs_join(dir, file);
	test_write_file(path, out, strlen(out));
	free(path);
	free(out);
	free(text);
}

static const struct report_opts tables_only = { 0, NULL, NULL, 0, 0 };

/* A verdict by loss (lower is better) on the fixture's numbers: vgg16 and
 * resnet50 tied at the top, every model's interval below always_normal's
 * loss. Written before the fixture's "best" object. */
#define VERDICT_HEAD \
	"\"verdict\": {\"primary\": \"loss\", \"higher_is_better\": false, \"alpha\": 0.05, " \
	"\"test\": \"corrected_resampled\", "
#define VERDICT_TAIL \
	"\"best_baseline\": {\"name\": \"always_normal\", \"value\": 8.495}, \"ranking\": [" \
	"{\"model\": \"vgg16\", \"ranked\": true, \"mean\": 0.1468702434, \"ci_low\": 0.130849225, " \
	"\"ci_high\": 0.1628912617, \"n\": 5, \"beats_baseline\": true, \"vs_top\": null}, " \
	"{\"model\": \"resnet50\", \"ranked\": true, \"mean\": 0.171, \"ci_low\": 0.146, " \
	"\"ci_high\": 0.196, \"n\": 5, \"beats_baseline\": true, \"vs_top\": {\"diff_mean\": -0.024, " \
	"\"diff_sd\": 0.03, \"test_train_ratio\": 0.25, \"p_holm\": 0.5, \"separated\": false, " \
	"\"repeats_needed\": 7}}]}, \"best\": {"
static const char verdict_tie[] = VERDICT_HEAD "\"outcome\": \"tie\", \"models\": [\"vgg16\", \"resnet50\"], "
					       VERDICT_TAIL;
static const char verdict_winner[] = VERDICT_HEAD "\"outcome\": \"clear_winner\", \"models\": [\"vgg16\"], "
						  VERDICT_TAIL;
static const char verdict_none[] = VERDICT_HEAD "\"outcome\": \"no_model_beats_baseline\", "
						"\"models\": [\"vgg16\", \"resnet50\"], " VERDICT_TAIL;

static void render_with(char **dir, const struct report_opts *o, const char *verdict)
{
	*dir = fixture_copy();
	edit(*dir, "summary.json", "\"comparisons\"", "\"best\": {", verdict);
	assert_int_equal(report_render(NULL, *dir, o), 0);
}

/* Renders the fixture's tables into *dir (caller frees and removes). */
static void render(char **dir, const struct report_opts *o)
{
	render_with(dir, o, verdict_tie);
}

static void md_should_show_mean_and_ci_halfwidth_with_best_and_significance(void **state)
{
	(void)state;
	char *dir;
	render(&dir, &tables_only);
	char *md = slurp(dir, "summary.md");
	/* primary metric loss: only its column marks a model: vgg16 lowest;
	 * vgg16 vs small_cnn on loss is significant (Holm p = 0.0405). Other
	 * columns (accuracy best resnet50, AUROC vgg16, ...) mark nothing. */
	assert_contains(md, "| Model | Units | Loss ↓ | Accuracy | Precision | Recall | F2 | AUROC | AUPRC |\n");
	assert_contains(md, "| vgg16 | 5/5 | **0.147 ± 0.016** | 0.971 ± 0.014 | 0.947 ± 0.046 | "
			    "0.935 ± 0.076 | 0.936 ± 0.057 | 0.998 ± 0.002 | 0.994 ± 0.005 |\n");
	assert_contains(md, "| resnet50 | 5/5 | 0.171 ± 0.025 | 0.973 ± 0.017 | 0.930 ± 0.067 | "
			    "0.968 ± 0.058 | 0.959 ± 0.041 | 0.995 ± 0.011 | 0.989 ± 0.020 |\n");
	assert_contains(md, "| small_cnn | 5/5 | 0.331 ± 0.068 † | 0.877 ± 0.067 | 0.735 ± 0.126 | "
			    "0.771 ± 0.221 | 0.761 ± 0.192 | 0.932 ± 0.061 | 0.846 ± 0.168 |\n");
	/* small_cnn vs dense2 on F2 is significant, but neither is the best:
	 * no marker on dense2's F2. dense2 has 4 ok units of 5. */
	assert_contains(md, "| dense2 | 4/5 | 0.617 ± 0.206 | 0.710 ± 0.180 | 0.443 ± 0.300 | "
			    "0.485 ± 0.239 | 0.475 ± 0.253 | 0.667 ± 0.205 | 0.458 ± 0.233 |\n");
	/* second table: small_cnn differs significantly from vgg16 in
	 * specificity (p 0.026), but that is not the primary metric: no marker */
	assert_contains(md, "| small_cnn | 5/5 | 0.841 ± 0.117 | 0.911 ± 0.035 | 0.749 ± 0.158 | "
			    "0.911 ± 0.035 | 0.914 ± 0.035 |\n");
	assert_contains(md, "**Bold**: best model by the primary metric, Loss, in its column only");
	free(md);
	test_rm_rf(dir);
	free(dir);
}

static void tables_should_include_baselines_and_undefined_cells(void **state)
{
	(void)state;
	char *dir;
	render(&dir, &tables_only);
	char *md = slurp(dir, "summary.md"), *csv = slurp(dir, "summary.csv"), *tex = slurp(dir, "summary.tex");
	assert_contains(md, "| *Baselines* |");
	/* baselines are never marked best, even where they beat every model
	 * (always_anomalous recall 1.000 > resnet50's 0.968) */
	assert_contains(md, "| always_anomalous |  | 26.044 ± 0.159 | 0.246 ± 0.005 | 0.246 ± 0.005 | "
			    "1.000 ± 0.000 | 0.620 ± 0.006 | 0.500 ± 0.000 | 0.246 ± 0.005 |\n");
	assert_contains(md, "| always_normal |  | 8.495 ± 0.159 | 0.754 ± 0.005 | — | 0.000 ± 0.000 | — | "
			    "0.500 ± 0.000 | 0.246 ± 0.005 |\n");
	assert_contains(md, "| stratified_random |");
	assert_contains(md, "- always_normal, Precision: undefined in every fold: no positive predictions.\n");
	assert_contains(csv, "\nalways_normal,baseline,precision,,,,,0,,,5,1,anomalous,0,,,"
			     "undefined in every fold: no positive predictions\n");
	assert_contains(csv, "\nstratified_random,baseline,loss,");
	assert_contains(tex, "\\midrule\n\\multicolumn{9}{l}{\\emph{Baselines}} \\\\\n");
	assert_contains(tex, "always\\_normal &  & $8.495 \\pm 0.159$ & $0.754 \\pm 0.005$ & -- &");
	free(md);
	free(csv);
	free(tex);
	test_rm_rf(dir);
	free(dir);
}

static void csv_should_hold_every_metric_with_best_and_holm_p(void **state)
{
	(void)state;
	char *dir;
	render(&dir, &tables_only);
	char *csv = slurp(dir, "summary.csv");
	assert_true(!strncmp(csv, "model,kind,metric,mean,sd,ci_low,ci_high,n_folds,units_ok,units_total,k,repeats,"
				  "positive,best,p_holm_vs_best,significant_vs_best,reason\n",
			     130));
	/* 7 rows x 12 metrics + header */
	int lines = 0;
	for (const char *c = csv; *c; c++)
		lines += *c == '\n';
	assert_int_equal(lines, 1 + 7 * 12);
	/* exact values (%.10g) from summary.json */
	assert_contains(csv, "\nvgg16,model,loss,0.1468702434,0.01290286132,0.130849225,0.1628912617,5,5,5,5,1,"
			     "anomalous,1,,,\n");
	assert_contains(csv, "\nsmall_cnn,model,loss,");
	assert_contains(csv, ",anomalous,0,0.04053124562,1,\n");
	/* dense2: 4 folds */
	assert_contains(csv, "\ndense2,model,f2,");
	const char *d = strstr(csv, "\ndense2,model,f2,");
	assert_non_null(d);
	assert_non_null(strstr(d, ",4,4,5,5,1,anomalous,0,"));
	/* one best model in the primary metric's column (loss), none elsewhere */
	static const char *metrics[] = { "loss", "accuracy", "balanced_accuracy", "precision", "recall", "specificity",
					 "f1", "f2", "recall_other_positive", "f2_other_positive", "auroc", "auprc" };
	for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++) {
		int best = 0;
		char *needle = xasprintf(",model,%s,", metrics[m]);
		for (const char *p = strstr(csv, needle); p; p = strstr(p + 1, needle)) {
			const char *eol = strchr(p, '\n');
			/* the best flag follows ",anomalous," */
			const char *a = strstr(p, ",anomalous,");
			assert_true(a && a < eol);
			best += a[11] == '1';
		}
		assert_int_equal(best, m == 0 ? 1 : 0);
		free(needle);
	}
	free(csv);
	test_rm_rf(dir);
	free(dir);
}

static void tex_should_be_booktabs_with_bold_best_and_dagger(void **state)
{
	(void)state;
	char *dir;
	render(&dir, &tables_only);
	char *tex = slurp(dir, "summary.tex");
	assert_contains(tex, "needs \\usepackage{booktabs}");
	assert_contains(tex, "\\toprule\nModel & Units & Loss $\\downarrow$ & Accuracy & Precision & Recall & F2 & AUROC & "
			     "AUPRC \\\\\n\\midrule\n");
	assert_contains(tex, "vgg16 & 5/5 & $\\mathbf{0.147} \\pm \\mathbf{0.016}$ & $0.971 \\pm 0.014$ &");
	assert_contains(tex, "small\\_cnn & 5/5 & $0.331 \\pm 0.068^{\\dagger}$ &");
	assert_contains(tex, "\\bottomrule\n\\end{tabular}\n");
	assert_contains(tex, "5-fold cross-validation, 1 repeat");
	assert_contains(tex, "\\label{tab:cable5-summary}");
	assert_lacks(tex, "±"); /* LaTeX gets \pm, not the UTF-8 sign */
	free(tex);
	test_rm_rf(dir);
	free(dir);
}

static void tables_should_state_fold_count_and_provenance(void **state)
{
	(void)state;
	char *dir;
	render(&dir, &tables_only);
	char *md = slurp(dir, "summary.md"), *tex = slurp(dir, "summary.tex");
	assert_contains(md, "5-fold cross-validation, 1 repeat (5 planned units per model)");
	assert_contains(md, "| Experiment | cable5 (file sha256 "
			    "`5f2c8a1e9b7d3c4a6e0f1b2d3c4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a`) |\n");
	assert_contains(md, "| darkfold | 0.1.0 |\n");
	assert_contains(md, "| Git commit | `3e1f0c9a2b4d6e8f0a1c3e5b7d9f1a2c4e6b8d0f` with uncommitted changes |\n");
	assert_contains(md, "| Darknet | 0.0.0+git20180914.61c9d02e-2+b4 |\n");
	assert_contains(md, "| OpenBLAS | 0.3.21 (core Haswell, 1 thread per unit) |\n");
	assert_contains(md, "| GSL | 2.7.1 |\n");
	assert_contains(md, "| Host CPU | Intel(R) Xeon(R) CPU E5-2680 v3 @ 2.50GHz (host bench01) |\n");
	/* wall_seconds_total 7475 s = 2 h 04 min 35 s over 20 unit files;
	 * 08:00:00 to 09:35:16 is 1 h 35 min 16 s */
	assert_contains(md, "| Total wall time | 2 h 04 min, summed over 20 unit files (finished − started) |\n");
	assert_contains(md, "| Study span | 2026-11-28T08:00:00Z to 2026-11-28T09:35:16Z (1 h 35 min) |\n");
	/* per unit: summary.json's unit_times of dense2 (wall 18, 19, 19, 6, 16 s);
	 * training mean 13.22 s and total 66.1 s from summary.json */
	assert_contains(md, "| dense2 | 4/5 | 15.6 s | 13.2 s | 1 min 06 s | r0-f0 18.0 s, r0-f1 19.0 s, "
			    "r0-f2 19.0 s, r0-f3 6.0 s diverged, r0-f4 16.0 s |\n");
	/* the fixture's summary has no unit_times for resnet50: its timing only */
	assert_contains(md, "| resnet50 | 5/5 | — | 13 min 51 s | 1 h 09 min | unit files not found |\n");
	assert_contains(tex, "% git_dirty: yes\n");
	assert_contains(tex, "% blas_core: Haswell\n");
	assert_contains(tex, "% total wall time: 2 h 04 min\n");
	free(md);
	free(tex);
	test_rm_rf(dir);
	free(dir);
}

static void summary_without_provenance_should_say_not_recorded(void **state)
{
	(void)state;
	char *dir = fixture_copy();
	/* a summary without provenance: nothing is looked up elsewhere, and the
	 * total wall time is the sum of the unit_times wall times */
	edit(dir, "summary.json", "{", "\"provenance\":", "\"no_provenance\":");
	assert_int_equal(report_render(NULL, dir, &tables_only), 0);
	char *md = slurp(dir, "summary.md");
	assert_contains(md, "| Git commit | `not recorded` |\n");
	assert_contains(md, "| OpenBLAS | not recorded (core not recorded, not recorded threads per unit) |\n");
	/* finished - started summed over the 15 units with times (vgg16,
	 * small_cnn, dense2), by Python: 3304 s = 55 min 04 s */
	assert_contains(md, "| Total wall time | 55 min 04 s (sum of the unit wall times found) |\n");
	assert_lacks(md, "| Study span |");
	free(md);
	test_rm_rf(dir);
	free(dir);
}

static void report_should_not_read_unit_files(void **state)
{
	(void)state;
	char *dir = fixture_copy();
	char *unit = fs_join(dir, "small_cnn/r0-f2.json");
	test_write_file(unit, "{\"format\": \"darkfold-unit/1\", \"timing\": [", 41);
	char *cmd = xasprintf("rm -r '%s/dense2'", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(report_render(NULL, dir, &tables_only), 0);
	char *md = slurp(dir, "summary.md");
	assert_contains(md, "| dense2 | 4/5 | 15.6 s | 13.2 s | 1 min 06 s | r0-f0 18.0 s, r0-f1 19.0 s, "
			    "r0-f2 19.0 s, r0-f3 6.0 s diverged, r0-f4 16.0 s |\n");
	free(md);
	free(cmd);
	free(unit);
	test_rm_rf(dir);
	free(dir);
}

static void units_from_different_commits_should_be_flagged(void **state)
{
	(void)state;
	char *dir = fixture_copy();
	edit(dir, "summary.json", "\"provenance\": {", "\"mixed_commits\": false", "\"mixed_commits\": true");
	edit(dir, "summary.json", "\"provenance\": {", "\"report_darkfold_version\": \"0.1.0\"",
	     "\"report_darkfold_version\": \"0.2.0\"");
	assert_int_equal(report_render(NULL, dir, &tables_only), 0);
	char *md = slurp(dir, "summary.md");
	assert_contains(md, "with uncommitted changes; **the units were run from different commits** |\n");
	assert_false(strstr(md, "different cores"));
	free(md);
	edit(dir, "summary.json", "\"provenance\": {", "\"mixed_commits\": true",
	     "\"mixed_commits\": true, \"mixed_blas_cores\": true");
	assert_int_equal(report_render(NULL, dir, &tables_only), 0);
	md = slurp(dir, "summary.md");
	assert_contains(md, "; **the units ran with different cores, whose kernels round differently** |\n");
	assert_contains(md, "| darkfold | 0.1.0 (units), 0.2.0 (report) |\n");
	free(md);
	test_rm_rf(dir);
	free(dir);
}

static void normal_positive_should_relabel_the_other_class(void **state)
{
	(void)state;
	char *dir = fixture_copy();
	edit(dir, "summary.json", "{", "\"positive\": \"anomalous\"", "\"positive\": \"normal\"");
	assert_int_equal(report_render(NULL, dir, &tables_only), 0);
	char *md = slurp(dir, "summary.md"), *rep = slurp(dir, "report.md");
	assert_contains(md, "Positive class: normal.");
	assert_contains(md, "| Model | Units | Bal. accuracy | Specificity | F1 | Recall (anomalous +) | F2 (anomalous +) |\n");
	assert_contains(rep, "darkfold's `recall` and `f2` take the normal class as positive");
	assert_contains(rep, "| Recall, anomalous positive (`recall_other_positive`) |");
	free(md);
	free(rep);
	test_rm_rf(dir);
	free(dir);
}

static void interval_cells_should_show_ci_bounds(void **state)
{
	(void)state;
	char *dir;
	struct report_opts o = tables_only;
	o.interval = 1;
	render(&dir, &o);
	char *md = slurp(dir, "summary.md");
	/* vgg16 loss ci [0.13085, 0.16289] */
	assert_contains(md, "| vgg16 | 5/5 | **0.147 [0.131, 0.163]** |");
	assert_contains(md, "cells: mean [95 % confidence interval] across folds");
	free(md);
	test_rm_rf(dir);
	free(dir);
}

static void report_md_should_name_best_lead_significance_and_study(void **state)
{
	(void)state;
	char *dir;
	render(&dir, &tables_only);
	char *rep = slurp(dir, "report.md");
	/* the rule in words, then the outcome: a tie at the top */
	assert_contains(rep, "**Primary metric: Loss** (`metrics.primary`; the other metrics are reported but "
			     "never decide). **Decision rule:** a model is named best only if it beats every other "
			     "model in Loss significantly (Nadeau–Bengio corrected resampled t-test across folds, "
			     "Holm-corrected across model pairs, α = 0.05) and its 95 % interval lies below the best "
			     "baseline's Loss; otherwise no model is named best.\n\n");
	assert_contains(rep, "**Outcome: no model is separated.** Tied at the top by Loss, as estimated from 5 "
			     "folds: vgg16 0.147 [0.131, 0.163] and resnet50 0.171 [0.146, 0.196]. vgg16 leads "
			     "resnet50 by 0.024 (Holm-corrected p = 0.5). If that difference and its spread across "
			     "folds held, about 7 repeats of 5-fold cross-validation would separate them; this is an "
			     "estimate from the observed effect size and variance, not a promise.");
	assert_lacks(rep, "is the best model");
	/* operating points from summary.json's operating_point and fixed_threshold */
	assert_contains(rep, "## Operating points");
	/* the study's VGG16 against this vgg16, both positive-class conventions */
	assert_contains(rep, "take the anomalous class as positive");
	assert_contains(rep, "`recall_other_positive` and `f2_other_positive` take the normal class as positive");
	assert_contains(rep, "| Loss (cross-entropy) | 0.506 | 0.147 [0.131, 0.163] | no: lower here |\n");
	assert_contains(rep, "| Accuracy | 0.816 | 0.971 [0.956, 0.985] | no: higher here |\n");
	assert_contains(rep, "| Recall, anomalous positive (`recall`) | 1.000 | 0.935 [0.859, 1.010] | yes |\n");
	assert_contains(rep, "| F2, normal positive (`f2_other_positive`) | 0.953 | 0.982 [0.971, 0.992] | no: higher here |\n");
	/* tables embedded; figures not asked for */
	assert_contains(rep, "| vgg16 | 5/5 | **0.147 ± 0.016** |");
	assert_contains(rep, "Figures were not drawn: figures were not asked for.");
	assert_lacks(rep, "![");
	free(rep);
	test_rm_rf(dir);
	free(dir);
}

static void verdict_should_name_a_winner_or_say_nothing_beats_the_baseline(void **state)
{
	(void)state;
	char *dir;
	render_with(&dir, &tables_only, verdict_winner);
	char *rep = slurp(dir, "report.md");
	assert_contains(rep, "**Outcome: vgg16 is the best model.** Loss = 0.147 [0.131, 0.163] over 5 folds; it "
			     "beats every other model (largest Holm-corrected p = 0.5), and its interval lies below "
			     "the best baseline, always_normal (8.495).");
	free(rep);
	test_rm_rf(dir);
	free(dir);
	render_with(&dir, &tables_only, verdict_none);
	rep = slurp(dir, "report.md");
	/* said first, right after the rule */
	assert_contains(rep, "baseline's Loss; otherwise no model is named best.\n\n**Outcome: no model beats the "
			     "best baseline.** always_normal scores 8.495 in Loss, and no model's interval lies below "
			     "that. Tied at the top by Loss");
	assert_lacks(rep, "is the best model");
	free(rep);
	test_rm_rf(dir);
	free(dir);
}

static void output_should_be_byte_identical_when_rendered_twice(void **state)
{
	(void)state;
	char *dir;
	render(&dir, &tables_only);
	static const char *files[] = { "summary.csv", "summary.md", "summary.tex", "report.md" };
	char *first[4];
	for (int i = 0; i < 4; i++)
		first[i] = slurp(dir, files[i]);
	assert_int_equal(report_render(NULL, dir, &tables_only), 0);
	for (int i = 0; i < 4; i++) {
		char *again = slurp(dir, files[i]);
		assert_string_equal(first[i], again);
		free(again);
		free(first[i]);
	}
	test_rm_rf(dir);
	free(dir);
}

static void missing_summary_should_fail_naming_the_file(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	test_stderr_begin();
	int rc = report_render(NULL, dir, &tables_only);
	char *err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_contains(err, "error: cannot open '");
	assert_contains(err, "/summary.json'");
	assert_false(exists(dir, "summary.md"));
	assert_false(exists(dir, "report.md"));
	free(err);
	test_rm_rf(dir);
	free(dir);
}

static void bad_summary_should_fail_without_writing_tables(void **state)
{
	(void)state;
	static const struct {
		const char *json, *message;
	} cases[] = {
		{ "{\n  \"format\": \"darkfold-summary/1\",\n  \"k\": 5,,\n}\n", "line 3" },
		{ "{\"format\": \"darkfold-unit/1\"}", "not a darkfold summary (format 'darkfold-unit/1'" },
		{ "{\"format\": \"darkfold-summary/1\", \"k\": 5, \"models\": {}}", ".models: expected an object" },
		{ "{\"format\": \"darkfold-summary/1\", \"k\": 5, \"models\": {\"a\": {\"metrics\": 3}}}",
		  ".models.a.metrics: expected an object" },
		{ "{\"format\": \"darkfold-summary/1\", \"models\": {\"a\": {\"metrics\": {}}}}", ".k: expected an integer" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *dir = test_tmpdir();
		char *path = fs_join(dir, "summary.json");
		test_write_file(path, cases[i].json, strlen(cases[i].json));
		test_stderr_begin();
		int rc = report_render(NULL, dir, &tables_only);
		char *err = test_stderr_end();
		assert_int_equal(rc, -1);
		assert_contains(err, path);
		assert_contains(err, cases[i].message);
		assert_false(exists(dir, "summary.csv"));
		assert_false(exists(dir, "summary.md"));
		assert_false(exists(dir, "summary.tex"));
		free(err);
		free(path);
		test_rm_rf(dir);
		free(dir);
	}
}

static void bad_unit_times_should_fail_naming_the_json_path(void **state)
{
	(void)state;
	char *dir = fixture_copy();
	/* the first "r0-f2" entry is vgg16's third unit */
	edit(dir, "summary.json", "\"unit_times\"", "\"unit\": \"r0-f2\"", "\"unit\": 2");
	test_stderr_begin();
	int rc = report_render(NULL, dir, &tables_only);
	char *err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_contains(err, "summary.json': .models.vgg16.unit_times[2].unit: expected a string");
	assert_false(exists(dir, "summary.md"));
	free(err);
	test_rm_rf(dir);
	free(dir);
}

static void summary_of_another_experiment_version_should_warn(void **state)
{
	(void)state;
	char *dir = fixture_copy();
	struct experiment e;
	memset(&e, 0, sizeof e);
	e.path = (char *)"experiments/cable5.json";
	memset(e.sha256, 'a', 64);
	test_stderr_begin();
	int rc = report_render(&e, dir, &tables_only);
	char *err = test_stderr_end();
	assert_int_equal(rc, 0);
	assert_contains(err, "warning: '");
	assert_contains(err, "was computed from another version of 'experiments/cable5.json'");
	free(err);
	test_rm_rf(dir);
	free(dir);
}

/* An 8x4 grey PNG at dir/name: value v, the left half 255 when half. */
static char *grey_png(const char *dir, const char *name, uint8_t v, int half)
{
	uint8_t px[32]; /* (4, 8) */
	for (int i = 0; i < 32; i++)
		px[i] = half && i % 8 < 4 ? 255 : v;
	char *path = fs_join(dir, name);
	assert_int_equal(image_png_write(path, px, 8, 4, 1), 0);
	return path;
}

/* The anomaly-map figure of a model with a "maps" object is drawn from the
 * files its cells name, without gnuplot, and shown in report.md; a missing
 * map file skips it with one warning and leaves report.md as it was. */
static void maps_figure_should_be_drawn_from_the_files_the_cells_name(void **state)
{
	(void)state;
	char *dir = fixture_copy();
	char *img = grey_png(dir, "img.png", 100, 0), *mask = grey_png(dir, "mask.png", 0, 1);
	char *map = grey_png(dir, "map.png", 128, 0);
	char *cell = xasprintf("{\"unit\": \"r0-f0\", \"image\": \"%s\", \"mask\": \"%s\", \"score\": 0.75, "
			       "\"threshold\": 0.5, \"map\": \"%s\", \"map_scale\": 2}", img, mask, map);
	char *maps = xasprintf("{\n      \"maps\": {\"repeat\": 0, \"width\": 8, \"height\": 4, "
			       "\"channels\": 1, \"rows\": [{\"defect\": \"cut\", \"best\": %s, "
			       "\"worst\": %s}]},", cell, cell);
	edit(dir, "summary.json", "\"vgg16\": ", "{", maps);
	/* gnuplot cannot run: its figures are missing (-1), the maps figure is not */
	struct report_opts o = { 1, "/nonexistent/gnuplot", NULL, 0, 0 };
	test_stderr_begin();
	assert_int_equal(report_render(NULL, dir, &o), -1);
	free(test_stderr_end());
	/* panels 8x4 upscaled 128 / 8 = 16x: 128x64; label "CUT" 3 glyphs of 12 px:
	 * width 8 + 36 + 8 + 2 * (3 * 128 + 2 * 2) + 12 + 8 = 848,
	 * height 8 + 16 + 2 + (64 + 12) + 12 + 2 + 16 + 8 = 140 */
	char *png = fs_join(dir, "figures/maps-vgg16.png");
	struct image_png_format fmt;
	assert_int_equal(image_png_info(png, &fmt), 0);
	assert_int_equal(fmt.width, 848);
	assert_int_equal(fmt.height, 140);
	char *cap = slurp(dir, "figures/maps-vgg16.txt");
	assert_contains(cap, "panels upscaled 16x (nearest neighbour) from 8x4");
	assert_contains(cap, "row 1: cut");
	char *md = slurp(dir, "report.md");
	assert_contains(md, "![Anomaly maps of vgg16](figures/maps-vgg16.png)");
	assert_lacks(md, "maps-resnet50");

	remove(map);
	test_stderr_begin();
	assert_int_equal(report_render(NULL, dir, &o), -1);
	char *err = test_stderr_end();
	char *want = xasprintf("warning: anomaly-map figure of 'vgg16' not drawn: '%s' is missing\n", map);
	assert_contains(err, want);
	assert_false(exists(dir, "figures/maps-vgg16.png") || exists(dir, "figures/maps-vgg16.txt"));
	char *md2 = slurp(dir, "report.md");
	assert_string_equal(md2, md);
	free(want);
	free(err);
	free(md2);
	free(md);
	free(cap);
	free(png);
	free(maps);
	free(cell);
	free(img);
	free(mask);
	free(map);
	test_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(md_should_show_mean_and_ci_halfwidth_with_best_and_significance),
		cmocka_unit_test(maps_figure_should_be_drawn_from_the_files_the_cells_name),
		cmocka_unit_test(tables_should_include_baselines_and_undefined_cells),
		cmocka_unit_test(csv_should_hold_every_metric_with_best_and_holm_p),
		cmocka_unit_test(tex_should_be_booktabs_with_bold_best_and_dagger),
		cmocka_unit_test(tables_should_state_fold_count_and_provenance),
		cmocka_unit_test(summary_without_provenance_should_say_not_recorded),
		cmocka_unit_test(report_should_not_read_unit_files),
		cmocka_unit_test(units_from_different_commits_should_be_flagged),
		cmocka_unit_test(normal_positive_should_relabel_the_other_class),
		cmocka_unit_test(interval_cells_should_show_ci_bounds),
		cmocka_unit_test(report_md_should_name_best_lead_significance_and_study),
		cmocka_unit_test(verdict_should_name_a_winner_or_say_nothing_beats_the_baseline),
		cmocka_unit_test(output_should_be_byte_identical_when_rendered_twice),
		cmocka_unit_test(missing_summary_should_fail_naming_the_file),
		cmocka_unit_test(bad_summary_should_fail_without_writing_tables),
		cmocka_unit_test(bad_unit_times_should_fail_naming_the_json_path),
		cmocka_unit_test(summary_of_another_experiment_version_should_warn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
