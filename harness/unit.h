/* unit.h: one (model, repeat, fold) unit: train on the unit's training
 * folds, score its held-out fold, and write the unit result file
 * (docs/results.md). Runs in the calling process: Darknet leaks and keeps
 * hidden random state, so the caller gives each unit a process of its own. */
#ifndef DARKFOLD_UNIT_H
#define DARKFOLD_UNIT_H

#include "experiment.h"
#include "json.h"
#include "result.h"

/* The current inputs hash (the result file's inputs_sha256) of every unit:
 * n_models * repeats * k new strings, unit (m, r, f) at (m * repeats + r) * k
 * + f, NULL for a model whose cfg is invalid. Returns NULL with a warning
 * when the dataset folder does not exist (nothing to compare with), NULL
 * with *failed set and an error when the data cannot be read. Free with
 * unit_inputs_free(list, e). */
char **unit_inputs_all(const struct experiment *e, int *failed);
void unit_inputs_free(char **list, const struct experiment *e);

/* The unit's files under experiment_results_path(e) (result_path()):
 * <results>/<exp>/<model>/r<R>-f<F>.json (new string). */
char *unit_result_path(const struct experiment *e, const char *model, int repeat, int fold);
/* <results>/<exp>/<model>/r<R>-f<F>.failed.json (new string): where a
 * failed (or interrupted) run's result file goes when the unit already has a
 * result with status ok, which is never replaced by a failure. */
char *unit_failed_path(const struct experiment *e, const char *model, int repeat, int fold);

/* <results>/<exp>/<model>/r<R>-f<F>/ (new string): effective cfg, log,
 * checkpoint, weights. */
char *unit_work_dir(const struct experiment *e, const char *model, int repeat, int fold);

/* 1 if the unit's result file exists and was produced from the same inputs
 * (effective cfg, the experiment settings that affect this unit, the data,
 * and darkfold's version), else 0. */
int unit_is_current(const struct experiment *e, const char *model, int repeat, int fold);

struct cfg;
/* The model's cfg with the experiment's overrides (input size, batch,
 * optimiser, subdivisions 1, 2 classes), checked. Returns 0 with *c filled
 * (caller releases it with cfg_release), or -1 with an error. */
int unit_effective_cfg(const struct experiment *e, const struct exp_model *m, struct cfg *c);

/* Train and evaluate the unit, resuming from its checkpoint if one exists,
 * and write its result file atomically. Returns 0 when a result file with
 * status ok or diverged was written, -1 on failure (a result file with status
 * failed and the reason is written when possible). */
int unit_run(const struct experiment *e, const char *model, int repeat, int fold);

#endif
