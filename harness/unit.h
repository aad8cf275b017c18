/* unit.h: one (model, repeat, fold) unit: train on the unit's training
 * folds, score its held-out fold, and write the unit result file
 * (docs/results.md). Runs in the calling process: Darknet leaks and keeps
 * hidden random state, so the caller gives each unit a process of its own. */
#ifndef DARKFOLD_UNIT_H
#define DARKFOLD_UNIT_H

#include "experiment.h"

/* <results>/<exp>/<model>/r<R>-f<F>.json (new string). */
char *unit_result_path(const struct experiment *e, const char *model, int repeat, int fold);
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
