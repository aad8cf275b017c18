/* unitlock.c: a unit's flock(2) lock file (see unitlock.h). */
#include "unitlock.h"

#include "error.h"
#include "fsutil.h"
#include "result.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

char *unitlock_path(const struct experiment *e, const char *model, int repeat, int fold)
{
	char *results = experiment_results_path(e);
	char *p = result_path(results, model, repeat, fold, RESULT_LOCK_FILE);
	free(results);
	return p;
}

int unitlock_acquire(const struct experiment *e, const char *model, int repeat, int fold,
		     int *fd)
{
	*fd = -1;
	char *path = unitlock_path(e, model, repeat, fold);
	char *dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	int rc = -1;
	if (fs_mkdir_p(dir) != 0) {
		error("cannot create the folder of lock file '%s': %s", path, strerror(errno));
		goto out;
	}
	int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (f < 0) {
		error("cannot open lock file '%s': %s", path, strerror(errno));
		goto out;
	}
	/* O_CLOEXEC: the lock passes to forked children (the unit's process)
	 * but not to programs they exec. */
	for (int attempt = 0;; attempt++) {
		if (flock(f, LOCK_EX | LOCK_NB) == 0) {
			*fd = f;
			rc = 0;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			error("cannot lock '%s': %s", path, strerror(errno));
			close(f);
			break;
		}
		if (attempt == 5) {
			close(f);
			rc = 1;
			break;
		}
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
out:
	free(dir);
	free(path);
	return rc;
}

void unitlock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}

int unitlock_is_held(const struct experiment *e, const char *model, int repeat, int fold)
{
	char *path = unitlock_path(e, model, repeat, fold);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (f < 0)
		return 0;
	int held = 0;
	if (flock(f, LOCK_SH | LOCK_NB) != 0)
		held = errno == EWOULDBLOCK;
	close(f);
	return held;
}
