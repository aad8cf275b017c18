/* summary.h: statistics across folds from an experiment's unit result files
 * (docs/results.md): summary.json with per-fold means and Student-t
 * intervals, pooled values with Wilson and bootstrap intervals, ROC and PR
 * points, baselines, and pairwise model comparisons.
 *
 * A pure function of the unit files and the settings below: the same files
 * and settings give the same bytes, apart from the `provenance` object and
 * the models' `timing` and `unit_times` (which the unit files' timing
 * feeds). */
#ifndef DARKFOLD_SUMMARY_H
#define DARKFOLD_SUMMARY_H

#include <stdint.h>

struct jw;

struct summary_config {
	const char *experiment;        /* experiment name */
	const char *experiment_sha256; /* hash of its file, may be NULL */
	const char *results_path;      /* folder holding <model>/r<R>-f<F>.json */
	const char *const *models;     /* model names, in experiment order */
	int n_models;
	int k, repeats;
	int positive;                 /* 1 anomalous (default), 0 normal */
	double beta;                  /* F-beta */
	double alpha;                 /* significance level and 1 - interval level */
	const char *threshold_policy; /* "fixed", "tuned", ... (as recorded) */
	const char *primary;          /* metric that decides the verdict; NULL: "auroc" */
	double cost_fp, cost_fn;      /* cost of a good part rejected / a defective part passed */
	int bootstrap;                /* bootstrap resamples of the pooled predictions */
	uint64_t seed;                /* experiment seed: bootstrap and random baseline */
	/* The current inputs hash of each unit, (n_models * repeats * k), unit
	 * (m, r, f) at (m * repeats + r) * k + f; NULL (or a NULL entry): not
	 * checked. A unit file naming another experiment, or another inputs hash,
	 * is stale: an error, unless allow_stale, which reads it and counts it in
	 * units.stale. */
	char *const *inputs_sha256;
	int allow_stale;
};

/* Read every unit file of the experiment and write summary.json's object
 * into w (an empty writer). Missing unit files are counted as missing;
 * a unit file that cannot be parsed, has the wrong format tag, names another
 * unit, or has a malformed prediction is an error naming the file and the
 * JSON path. Returns 0 or -1. */
int summary_build(const struct summary_config *c, struct jw *w);

/* summary_build, then write it atomically to path. Returns 0 or -1 (path
 * untouched on failure). */
int summary_write(const struct summary_config *c, const char *path);

/* Seconds since 1970-01-01 of a UTC timestamp "YYYY-MM-DDTHH:MM:SS[.fff]Z"
 * (unit files' timing.started and .finished); NAN for NULL or any other
 * text. */
double summary_iso_seconds(const char *s);

/* Metrics compared between every pair of models, in summary order; the
 * primary metric is compared too when it is not among them. */
#define SUMMARY_N_COMPARED 5
extern const char *const summary_compared[SUMMARY_N_COMPARED];

#endif
