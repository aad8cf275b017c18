/* study.h: the units of an experiment seen as a whole: which units there
 * are, which are done, how long the finished ones took, the data they share,
 * and an estimate of the time left. Used by `darkfold plan` and `darkfold run`.
 *
 * A unit is (model, repeat, fold); units are ordered by model (in the
 * experiment's order), then repeat, then fold. */
#ifndef DARKFOLD_STUDY_H
#define DARKFOLD_STUDY_H

#include "dataset.h"
#include "experiment.h"

struct study_unit {
	int model; /* index into e->models */
	int repeat, fold;
};

enum study_state {
	STUDY_TODO = 0,   /* no result file */
	STUDY_DONE,       /* result file current (status ok or diverged) */
	STUDY_OUTDATED,   /* result file from other inputs (cfg, experiment, data, code) */
	STUDY_FAILED      /* result file with status failed */
};

/* The units matching the filters (model NULL, repeat -1, fold -1: any), as
 * a new array in study order (caller frees). A model, repeat or fold outside
 * the experiment is an error naming it, so on success *n >= 1. Returns 0 or
 * -1 (then *out is NULL). */
int study_units(const struct experiment *e, const char *model, int repeat, int fold,
		struct study_unit **out, int *n);

/* "r<R>-f<F>" into buf. */
void study_unit_name(const struct study_unit *u, char *buf, unsigned size);

/* State of a unit from its result file; *seconds (may be NULL) gets its
 * timing.train_seconds when the file holds one, else stays untouched. */
enum study_state study_unit_state(const struct experiment *e, const struct study_unit *u,
				  double *seconds);
const char *study_state_name(enum study_state s);

/* Remove a unit's result file and its work folder (checkpoint, logs), so
 * that it trains from scratch. Missing files are fine. Returns 0 or -1. */
int study_forget_unit(const struct experiment *e, const struct study_unit *u);

/* Make sure the experiment's dataset is on disk: when the synthetic fallback
 * is in effect (dataset.root is dataset.synth_dir) and the set there is
 * missing, incomplete or made with other synth settings, generate it (one
 * line on stdout). Returns 0 or -1. */
int study_prepare_data(const struct experiment *e);

/* Build the experiment's image cache if it is missing or stale, so that
 * units started together do not each decode every image. Returns 0 or -1. */
int study_prepare_cache(const struct experiment *e);

/* Scan the experiment's dataset (see dataset_scan). Returns 0 or -1. */
int study_scan(const struct experiment *e, struct dataset *out);

/* SHA-256 over the scanned list (relative path, label, size, mtime of each
 * image): changes whenever an image is added, removed, relabelled or
 * rewritten. */
void study_data_signature(const struct dataset *d, char hex[65]);

/* Estimated seconds of training left. seconds[i] is unit i's
 * timing.train_seconds when it has finished, else < 0; remaining[i] != 0
 * marks unit i as still to run. Each remaining unit counts the mean of its
 * model's finished units; a model with none counts the mean over all
 * finished units and clears *complete (the estimate is then a guess).
 * The sum is divided among min(jobs, remaining units) workers. Returns NAN
 * when no unit has finished yet, 0 when nothing remains. */
double study_eta(const struct study_unit *units, int n, const double *seconds,
		 const int *remaining, int jobs, int *complete);

/* Format a duration as "4.2s", "42s", "5m07s" or "1h02m" into buf ("?" if
 * not finite). */
void study_format_duration(double seconds, char *buf, unsigned size);

#endif
