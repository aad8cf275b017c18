/* preflight.h: what `darkfold run` checks before it starts any unit, so that
 * an impossible study stops at once instead of after writing failed result
 * files: the folds can be built (k against the class counts), the number of
 * units is bounded, and the results folder's filesystem has room. Also the
 * lock under which the synthetic set and the image cache are created once. */
#ifndef DARKFOLD_PREFLIGHT_H
#define DARKFOLD_PREFLIGHT_H

#include "experiment.h"

/* Most units one experiment may have (models x repeats x k). */
#define PREFLIGHT_MAX_UNITS 10000

/* Bytes a unit's result file and work folder take at least, besides the
 * weights: the JSON (one prediction costs about 200 bytes) and the log. */
long long preflight_unit_bytes(int n_test, int epochs);

/* Check the whole study of e before anything runs: that this CPU can train
 * with its settings (experiment_check_cpu), the unit count, the folds
 * (scanning the dataset), and free space for n_pending units' result files
 * under the results folder. Returns 0 or -1 with one error line naming the
 * experiment file. */
int preflight_check(const struct experiment *e, int n_pending);

/* Take an exclusive lock (flock) on <cache_dir>/.prepare.lock, creating the
 * folder if needed; blocks while another darkfold holds it. Returns the
 * lock's descriptor (release with preflight_unlock) or -1 with a message. */
int preflight_lock(const struct experiment *e);
void preflight_unlock(int fd);

#endif
