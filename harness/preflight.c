/* preflight.c: checks of a whole study before it runs (see preflight.h). */
#include "preflight.h"

#include "blas.h"
#include "dataset.h"
#include "error.h"
#include "folds.h"
#include "fsutil.h"
#include "study.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

long long preflight_unit_bytes(int n_test, int epochs)
{
	return 16384LL + 200LL * n_test + 160LL * epochs;
}

/* Free bytes on the filesystem of path or of its nearest existing parent;
 * -1 when none can be queried. */
static long long free_bytes(const char *path)
{
	char *p = xstrdup(path);
	long long avail = -1;
	for (;;) {
		struct statvfs sv;
		if (statvfs(p, &sv) == 0) {
			avail = (long long)sv.f_bavail * (long long)sv.f_frsize;
			break;
		}
		char *slash = strrchr(p, '/');
		if (!slash || slash == p) {
			if (statvfs(slash == p ? "/" : ".", &sv) == 0)
				avail = (long long)sv.f_bavail * (long long)sv.f_frsize;
			break;
		}
		*slash = '\0';
	}
	free(p);
	return avail;
}

int preflight_check(const struct experiment *e, int n_pending)
{
	struct blas_cpu cpu;
	blas_cpu_detect(&cpu);
	if (experiment_check_cpu(e, &cpu) != 0)
		return -1;
	long long units = (long long)e->n_models * e->cv.repeats * e->cv.k;
	if (units > PREFLIGHT_MAX_UNITS)
		return error("'%s': %d models x %d repeats x %d folds = %lld units, more than the "
			     "%d a study may have", e->path, e->n_models, e->cv.repeats, e->cv.k,
			     units, PREFLIGHT_MAX_UNITS);
	struct dataset d;
	if (study_scan(e, &d) != 0)
		return -1;
	int *labels = xmalloc(sizeof *labels * (size_t)(d.n ? d.n : 1));
	for (int i = 0; i < d.n; i++)
		labels[i] = d.items[i].label;
	struct folds fo;
	int rc = folds_split(labels, d.n, e->cv.k, e->cv.repeats, e->cv.seed, e->cv.stratify, &fo);
	if (rc == 0)
		folds_release(&fo);
	else
		error("'%s': the study cannot start: no unit was run", e->path);
	free(labels);
	int n_test = d.n / e->cv.k + 1;
	dataset_release(&d);
	if (rc != 0)
		return -1;
	char *results = experiment_results_path(e);
	long long need = (long long)n_pending * preflight_unit_bytes(n_test, e->training.epochs);
	long long avail = free_bytes(results);
	if (avail >= 0 && avail < need)
		rc = error("'%s': %d units need at least %lld MB for their result files, but only "
			   "%lld MB are free under '%s'", e->path, n_pending, (need >> 20) + 1,
			   avail >> 20, results);
	free(results);
	return rc;
}

int preflight_lock(const struct experiment *e)
{
	if (fs_mkdir_p(e->dataset.cache_dir) < 0)
		return -1;
	char *path = fs_join(e->dataset.cache_dir, ".prepare.lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	int rc = fd;
	if (fd < 0)
		error("cannot open the lock '%s': %s", path, strerror(errno));
	else {
		while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
			;
		if (rc != 0) {
			error("cannot lock '%s': %s", path, strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	free(path);
	return fd;
}

void preflight_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
