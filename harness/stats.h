/* stats.h: statistics across folds through GSL (the only module that
 * includes GSL headers). */
#ifndef DARKFOLD_STATS_H
#define DARKFOLD_STATS_H

/* Turn off GSL's aborting error handler; every GSL status is checked by the
 * caller instead. Call once at start-up; idempotent. */
void stats_init(void);
/* The GSL version linked at run time, e.g. "2.7.1". */
const char *stats_gsl_version(void);

#endif
