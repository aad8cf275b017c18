/* cost.c: unit cost estimates (see cost.h). */
#include "cost.h"

#include "cfg.h"
#include "error.h"
#include "fsutil.h"
#include "json.h"
#include "net.h"
#include "unit.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* <dir of path>/costs.json and the file name of path (new strings). */
static void cost_file(const char *cfg_path, char **costs, char **base)
{
	const char *slash = strrchr(cfg_path, '/');
	*base = xstrdup(slash ? slash + 1 : cfg_path);
	*costs = slash ? xasprintf("%.*s/costs.json", (int)(slash - cfg_path), cfg_path)
		       : xstrdup("costs.json");
}

/* A positive number at key of obj, or -1 with an error naming path.key. */
static int positive(const struct json *obj, const char *file, const char *where, const char *key,
		    double *out)
{
	double v = json_number(json_get(obj, key));
	if (!(v > 0) || !isfinite(v))
		return error("%s: .models.\"%s\".%s: expected a positive number", file, where, key);
	*out = v;
	return 0;
}

int cost_unit_seconds(const struct experiment *e, int model, int n_train, double *seconds)
{
	if (e->models[model].kind == EXP_KIND_KNN) {
		*seconds = COST_KNN_UNIT_SECONDS;
		return 0;
	}
	char *file, *base;
	cost_file(e->models[model].cfg, &file, &base);
	int rc = 1;
	struct json *j = NULL;
	if (!fs_is_file(file))
		goto out;
	rc = -1;
	j = json_parse_file(file);
	if (!j)
		goto out;
	const struct json *models = json_get(j, "models");
	if (json_type(models) != JSON_OBJECT) {
		error("%s: .models: expected an object", file);
		goto out;
	}
	const struct json *m = json_get(models, base);
	if (!m) {
		rc = 1;
		goto out;
	}
	double s = 0, w = 0, h = 0;
	if (positive(m, file, base, "seconds_per_image_epoch", &s) || positive(m, file, base, "width", &w) ||
	    positive(m, file, base, "height", &h))
		goto out;
	double pixels = (double)e->dataset.width * e->dataset.height / (w * h);
	int epochs = e->models[model].epochs > 0 ? e->models[model].epochs : e->training.epochs;
	*seconds = s * n_train * epochs * pixels;
	rc = 0;
out:
	json_free(j);
	free(file);
	free(base);
	return rc;
}

/* In a child process: build the network from cfg_path and write to fd the
 * peak resident size before building (KiB: the program and its libraries)
 * plus twice the bytes the build allocated (KiB): the network's buffers,
 * and as much again for the checkpoint and best-epoch copies of its state.
 * Darknet allocates with calloc, so its buffers become resident only as
 * training touches them: the allocation count, not the resident size after
 * the build, is what training will use. Never returns. */
static void measure_child(const char *cfg_path, int fd)
{
	struct net *n = NULL;
	long kib = -1;
	struct rusage ru;
	struct mallinfo2 before = mallinfo2();
	if (getrusage(RUSAGE_SELF, &ru) == 0 && net_build(cfg_path, 1, NULL, &n) == 0) {
		struct mallinfo2 after = mallinfo2();
		size_t used = (after.uordblks + after.hblkhd) - (before.uordblks + before.hblkhd);
		kib = ru.ru_maxrss + 2 * (long)(used / 1024);
	}
	int ok = write(fd, &kib, sizeof kib) == (ssize_t)sizeof kib;
	_exit(ok && kib > 0 ? 0 : 1);
}

/* The images of a dataset of n_images images as floats, in MiB. */
static double images_mib(const struct experiment *e, int n_images)
{
	return (double)n_images * e->dataset.width * e->dataset.height * e->dataset.channels *
	       sizeof(float) / (1024.0 * 1024.0);
}

/* A quarter more than est MiB, rounded up to a multiple of 64 MiB. */
static long round_mib(double est)
{
	return ((long)ceil(1.25 * est / 64.0)) * 64;
}

/* A knn unit's memory: darkfold's resident size now (the program and its
 * libraries) plus the images four times: the decoded set, the cache copy,
 * and the model's copies of its training images and their features. */
static int knn_memory_mib(const struct experiment *e, int n_images, long *mib)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return error("%s: cannot estimate memory: getrusage: %s", e->path, strerror(errno));
	*mib = round_mib(ru.ru_maxrss / 1024.0 + 4.0 * images_mib(e, n_images));
	return 0;
}

int cost_memory_mib(const struct experiment *e, int model, int n_images, long *mib)
{
	const struct exp_model *m = &e->models[model];
	if (m->kind == EXP_KIND_KNN)
		return knn_memory_mib(e, n_images, mib);
	char *results = experiment_results_path(e);
	char *path = xasprintf("%s/.memory-%s.cfg", results, m->name);
	free(results);
	struct cfg c;
	char sha[65];
	int rc = -1, fds[2] = { -1, -1 };
	if (unit_effective_cfg(e, m, &c) < 0)
		goto out;
	char *dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	int made = fs_mkdir_p(dir);
	free(dir);
	rc = made == 0 ? cfg_write(&c, path, sha) : error("cannot create the folder of '%s'", path);
	cfg_release(&c);
	if (rc < 0)
		goto out;
	rc = -1;
	if (pipe(fds) != 0) {
		error("%s: cannot estimate memory: pipe: %s", m->name, strerror(errno));
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		error("%s: cannot estimate memory: fork: %s", m->name, strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(fds[0]);
		measure_child(path, fds[1]);
	}
	close(fds[1]);
	fds[1] = -1;
	long kib = -1;
	ssize_t got = read(fds[0], &kib, sizeof kib);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (got != (ssize_t)sizeof kib || kib <= 0) {
		error("%s: cannot estimate memory: building the network from '%s' failed", m->name, path);
		goto out;
	}
	*mib = round_mib(kib / 1024.0 + 2.0 * images_mib(e, n_images));
	rc = 0;
out:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	unlink(path);
	free(path);
	return rc;
}
