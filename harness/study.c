/* study.c: units of an experiment, their state and timings, the shared data,
 * and the time left. */
#include "study.h"

#include "cache.h"
#include "error.h"
#include "fsutil.h"
#include "json.h"
#include "result.h"
#include "sha256.h"
#include "synth.h"
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int study_units(const struct experiment *e, const char *model, int repeat, int fold,
		struct study_unit **out, int *n)
{
	*out = NULL;
	*n = 0;
	int m = -1;
	if (model) {
		m = experiment_model(e, model);
		if (m < 0) {
			char list[512] = "";
			size_t len = 0;
			for (int i = 0; i < e->n_models && len < sizeof list; i++)
				len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
							e->models[i].name);
			return error("%s: no model '%s' (models: %s)", e->path, model, list);
		}
	}
	if (repeat >= e->cv.repeats)
		return error("%s: no repeat %d (repeats are 0 to %d)", e->path, repeat, e->cv.repeats - 1);
	if (fold >= e->cv.k)
		return error("%s: no fold %d (folds are 0 to %d)", e->path, fold, e->cv.k - 1);
	struct study_unit *u = xcalloc((size_t)e->n_models * (size_t)e->cv.repeats * (size_t)e->cv.k,
				       sizeof *u);
	int count = 0;
	for (int i = 0; i < e->n_models; i++) {
		if (m >= 0 && i != m)
			continue;
		for (int r = 0; r < e->cv.repeats; r++) {
			if (repeat >= 0 && r != repeat)
				continue;
			for (int f = 0; f < e->cv.k; f++) {
				if (fold >= 0 && f != fold)
					continue;
				u[count++] = (struct study_unit){ i, r, f };
			}
		}
	}
	*out = u;
	*n = count;
	return 0;
}

void study_unit_name(const struct study_unit *u, char *buf, unsigned size)
{
	snprintf(buf, size, "r%d-f%d", u->repeat, u->fold);
}

enum study_state study_unit_state(const struct experiment *e, const struct study_unit *u,
				  double *seconds)
{
	const char *model = e->models[u->model].name;
	char *path = unit_result_path(e, model, u->repeat, u->fold);
	enum study_state st = STUDY_TODO;
	if (!fs_is_file(path))
		goto done;
	/* A result file that does not read (its error is printed) is outdated. */
	struct unit_result res;
	int have = result_read(path, &res) == 0;
	int failed = have && res.status == UNIT_STATUS_FAILED;
	if (seconds && have && !failed && isfinite(res.train_seconds))
		*seconds = res.train_seconds;
	if (failed)
		st = STUDY_FAILED;
	else if (unit_is_current(e, model, u->repeat, u->fold))
		st = STUDY_DONE;
	else
		st = STUDY_OUTDATED;
	if (have)
		result_release(&res);
done:
	free(path);
	return st;
}

const char *study_state_name(enum study_state s)
{
	switch (s) {
	case STUDY_DONE:
		return "done";
	case STUDY_OUTDATED:
		return "pending (outdated)";
	case STUDY_FAILED:
		return result_status_name(UNIT_STATUS_FAILED);
	default:
		return "pending";
	}
}

static int remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : error("cannot remove '%s': %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (!d)
			return error("cannot remove '%s': %s", path, strerror(errno));
		struct dirent *de;
		int rc = 0;
		while (rc == 0 && (de = readdir(d)) != NULL) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char *child = fs_join(path, de->d_name);
			rc = remove_tree(child);
			free(child);
		}
		closedir(d);
		if (rc != 0)
			return -1;
	}
	if (remove(path) != 0 && errno != ENOENT)
		return error("cannot remove '%s': %s", path, strerror(errno));
	return 0;
}

int study_forget_unit(const struct experiment *e, const struct study_unit *u)
{
	const char *model = e->models[u->model].name;
	char *path = unit_result_path(e, model, u->repeat, u->fold);
	char *dir = unit_work_dir(e, model, u->repeat, u->fold);
	int rc = remove_tree(path);
	if (rc == 0)
		rc = remove_tree(dir);
	free(path);
	free(dir);
	return rc;
}

int study_prepare_data(const struct experiment *e)
{
	/* Only the synthetic fallback is ours to create; a missing real root
	 * is reported by the scan. */
	if (strcmp(e->dataset.root, e->dataset.synth_dir) != 0)
		return 0;
	struct synth_options o = { e->dataset.synth_seed, e->dataset.synth_size,
				   e->dataset.synth_difficulty, e->dataset.synth_rotation };
	if (synth_is_current(&o, e->dataset.synth_dir))
		return 0;
	printf("data: generating the synthetic cable set in '%s/" SYNTH_CATEGORY "'\n",
	       e->dataset.synth_dir);
	fflush(stdout);
	return synth_generate(&o, e->dataset.synth_dir);
}

int study_prepare_cache(const struct experiment *e)
{
	struct dataset d;
	struct cache cc;
	if (study_scan(e, &d) != 0)
		return -1;
	int rc = cache_load(&d, e->dataset.width, e->dataset.height, e->dataset.channels,
			    e->dataset.cache_dir, &cc);
	if (rc == 0)
		cache_release(&cc);
	dataset_release(&d);
	return rc;
}

int study_scan(const struct experiment *e, struct dataset *out)
{
	return dataset_scan(e->dataset.root, e->dataset.category, e->dataset.normal,
			    e->dataset.n_normal, e->dataset.anomalous, e->dataset.n_anomalous, out);
}

void study_data_signature(const struct dataset *d, char hex[65])
{
	struct sha256 s;
	sha256_init(&s);
	for (int i = 0; i < d->n; i++) {
		const struct dataset_item *it = &d->items[i];
		char line[64];
		snprintf(line, sizeof line, "\t%d\t%" PRId64 "\t%" PRId64 "\n", it->label, it->size,
			 it->mtime_ns);
		sha256_update(&s, it->rel, strlen(it->rel));
		sha256_update(&s, line, strlen(line));
	}
	sha256_final_hex(&s, hex);
}

double study_eta(const struct study_unit *units, int n, const double *seconds,
		 const int *remaining, int jobs, int *complete)
{
	*complete = 1;
	int n_models = 0;
	for (int i = 0; i < n; i++)
		if (units[i].model + 1 > n_models)
			n_models = units[i].model + 1;
	double *sum = xcalloc((size_t)(n_models ? n_models : 1), sizeof *sum);
	int *cnt = xcalloc((size_t)(n_models ? n_models : 1), sizeof *cnt);
	double all = 0;
	int n_all = 0, n_left = 0;
	for (int i = 0; i < n; i++) {
		if (seconds[i] >= 0) {
			sum[units[i].model] += seconds[i];
			cnt[units[i].model]++;
			all += seconds[i];
			n_all++;
		}
		if (remaining[i])
			n_left++;
	}
	double total = 0;
	for (int i = 0; i < n && n_all > 0; i++) {
		if (!remaining[i])
			continue;
		int m = units[i].model;
		if (cnt[m] > 0) {
			total += sum[m] / cnt[m];
		} else {
			total += all / n_all;
			*complete = 0;
		}
	}
	free(sum);
	free(cnt);
	if (n_left == 0)
		return 0;
	if (n_all == 0) {
		*complete = 0;
		return NAN;
	}
	int workers = jobs < 1 ? 1 : jobs;
	if (workers > n_left)
		workers = n_left;
	return total / workers;
}

void study_format_duration(double seconds, char *buf, unsigned size)
{
	if (!isfinite(seconds) || seconds < 0) {
		snprintf(buf, size, "?");
		return;
	}
	long s = lround(seconds);
	if (seconds < 9.95)
		snprintf(buf, size, "%.1fs", seconds);
	else if (s < 60)
		snprintf(buf, size, "%lds", s);
	else if (s < 3600)
		snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
	else
		snprintf(buf, size, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
}
