/* unitlock.h: the lock a unit holds while it trains, so that one unit is
 * never trained by two processes at once (a scheduler's requeue, make and a
 * job array together, two users on a shared filesystem).
 *
 * The lock is an exclusive flock(2) on <results>/<exp>/<model>/r<R>-f<F>.lock,
 * beside the unit's result file. The kernel drops it when the holder exits,
 * however it ends, so a killed unit never leaves a stale lock; the empty lock
 * file itself stays. */
#ifndef DARKFOLD_UNITLOCK_H
#define DARKFOLD_UNITLOCK_H

#include "experiment.h"

/* Exit status of `darkfold run` when a selected unit was skipped because
 * another process holds its lock (and no unit failed). */
enum { UNITLOCK_EXIT_BUSY = 3 };

/* <results>/<exp>/<model>/r<R>-f<F>.lock (new string). */
char *unitlock_path(const struct experiment *e, const char *model, int repeat, int fold);

/* Take the unit's lock without waiting (creating the lock file and its
 * folder if needed). A holder found busy is retried for about half a second,
 * so that a probe by unitlock_is_held() never turns a start away. Returns 0
 * with *fd holding the lock (release with unitlock_release), 1 when another
 * process holds it (*fd = -1, no message), -1 on error (message naming the
 * lock file). The descriptor is inherited by children, which keep the lock
 * until they exit too. */
int unitlock_acquire(const struct experiment *e, const char *model, int repeat, int fold,
		     int *fd);

/* Drop the lock: close fd. fd < 0 is a no-op. */
void unitlock_release(int fd);

/* 1 if some process holds the unit's lock right now, else 0 (also when the
 * lock file does not exist or cannot be read). Probes with a shared lock
 * held for microseconds; does not create the lock file. */
int unitlock_is_held(const struct experiment *e, const char *model, int repeat, int fold);

#endif
