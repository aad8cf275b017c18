/* result.c: the unit result file (see result.h and docs/results.md). */
#include "result.h"

#include "blas.h"
#include "checksum.h"
#include "error.h"
#include "fsutil.h"
#include "image.h"
#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const status_words[UNIT_N_STATUS] = {
	[UNIT_STATUS_OK] = "ok",
	[UNIT_STATUS_DIVERGED] = "diverged",
	[UNIT_STATUS_FAILED] = "failed",
	[UNIT_STATUS_INTERRUPTED] = "interrupted",
};

const char *result_status_name(enum unit_status s)
{
	return (unsigned)s < UNIT_N_STATUS ? status_words[s] : NULL;
}

int result_status_parse(const char *word, enum unit_status *s)
{
	for (int i = 0; word && i < UNIT_N_STATUS; i++)
		if (!strcmp(word, status_words[i])) {
			*s = (enum unit_status)i;
			return 0;
		}
	return -1;
}

char *result_path(const char *results, const char *model, int repeat, int fold,
		  enum result_file which)
{
	static const char *const suffix[] = {
		[RESULT_FILE] = ".json",
		[RESULT_FAILED_FILE] = ".failed.json",
		[RESULT_WORK_DIR] = "",
		[RESULT_LOCK_FILE] = ".lock",
	};
	return xasprintf("%s/%s/r%d-f%d%s", results, model, repeat, fold, suffix[which]);
}

/* ---- reading ---- */

static int bad(const char *file, const char *where, const char *what)
{
	return error("'%s': %s: %s", file, where, what);
}

static double number_or_nan(const struct json *j)
{
	return json_type(j) == JSON_NUMBER ? json_number(j) : NAN;
}

/* An integer member of obj, or -1. */
static int int_or_minus_one(const struct json *obj, const char *key)
{
	double v = number_or_nan(json_get(obj, key));
	return v >= 0 && v <= 1e9 && v == floor(v) ? (int)v : -1;
}

struct json *result_parse(const char *path)
{
	struct json *j = checksum_parse_file(path);
	const char *fmt = json_string(json_get(j, "format"));
	if (j && (!fmt || strcmp(fmt, UNIT_FORMAT))) {
		error("'%s': .format: expected \"%s\", found %s%s%s: not a unit file of this "
		      "darkfold version", path, UNIT_FORMAT, fmt ? "\"" : "", fmt ? fmt : "none",
		      fmt ? "\"" : "");
		json_free(j);
		return NULL;
	}
	return j;
}

/* "status", checked against the status words. */
static int read_status(const char *path, struct unit_result *r)
{
	const char *st = json_string(json_get(r->doc, "status"));
	if (!st)
		return bad(path, ".status", "expected a string");
	if (result_status_parse(st, &r->status) == 0)
		return 0;
	char words[128] = "";
	size_t len = 0;
	for (int i = 0; i < UNIT_N_STATUS; i++)
		len += (size_t)snprintf(words + len, sizeof words - len, "%s\"%s\"",
					i == 0 ? "" : i == UNIT_N_STATUS - 1 ? " or " : ", ",
					status_words[i]);
	char *what = xasprintf("expected %s", words);
	bad(path, ".status", what);
	free(what);
	return -1;
}

/* The values every unit file has, whatever its status. */
static void read_common(struct unit_result *r)
{
	const struct json *d = r->doc;
	r->reason = json_string(json_get(d, "reason"));
	r->experiment = json_string(json_get(d, "experiment"));
	r->experiment_sha256 = json_string(json_get(d, "experiment_sha256"));
	r->inputs_sha256 = json_string(json_get(d, "inputs_sha256"));
	r->model = json_string(json_get(d, "model"));
	r->repeat = int_or_minus_one(d, "repeat");
	r->fold = int_or_minus_one(d, "fold");
	const char *kind = json_string(json_get(d, "kind"));
	r->knn = kind && !strcmp(kind, "knn");
	r->one_class = r->knn || (kind && !strcmp(kind, "one_class"));
	const struct json *score = json_get(d, "score");
	r->score_pooling = json_string(json_get(score, "pooling"));
	r->score_k = number_or_nan(json_get(score, "k"));
	r->effective_cfg = json_string(json_get(json_get(d, "cfg"), "effective"));
	r->weights = json_string(json_get(d, "weights"));
	r->threshold = number_or_nan(json_get(json_get(d, "threshold"), "value"));
	const struct json *data = json_get(d, "data");
	r->n_train = number_or_nan(json_get(data, "n_train"));
	r->n_test = number_or_nan(json_get(data, "n_test"));
	const struct json *pm = json_get(d, "pixel_metrics");
	r->pixel_auroc = number_or_nan(json_get(pm, "pixel_auroc"));
	r->map_scale = number_or_nan(json_get(pm, "map_scale"));
	r->pro = number_or_nan(json_get(pm, "pro"));
	const struct json *timing = json_get(d, "timing");
	r->train_seconds = number_or_nan(json_get(timing, "train_seconds"));
	r->images_per_second = number_or_nan(json_get(timing, "images_per_second"));
}

/* "curve": the train and validation loss of each epoch. */
static void read_curve(struct unit_result *r)
{
	const struct json *curve = json_get(r->doc, "curve");
	r->n_epochs = json_type(curve) == JSON_ARRAY ? json_size(curve) : 0;
	size_t ce = (size_t)(r->n_epochs > 0 ? r->n_epochs : 1);
	r->train_loss = xmalloc(sizeof *r->train_loss * ce);
	r->val_loss = xmalloc(sizeof *r->val_loss * ce);
	for (int e = 0; e < r->n_epochs; e++) {
		r->train_loss[e] = number_or_nan(json_get(json_at(curve, e), "train_loss"));
		r->val_loss[e] = number_or_nan(json_get(json_at(curve, e), "val_loss"));
	}
}

/* One element of "predictions" into entry i. */
static int read_prediction(const char *path, const struct json *e, int i, struct unit_result *r)
{
	char where[64];
	double lab = number_or_nan(json_get(e, "label"));
	if (lab != 0 && lab != 1) {
		snprintf(where, sizeof where, ".predictions[%d].label", i);
		return bad(path, where, "expected 0 or 1");
	}
	r->label[i] = (int)lab;
	r->p[i] = number_or_nan(json_get(e, "p_anomalous"));
	if (!isfinite(r->p[i])) {
		snprintf(where, sizeof where, ".predictions[%d].p_anomalous", i);
		return bad(path, where, "expected a number");
	}
	r->image[i] = json_string(json_get(e, "path"));
	if (!r->image[i]) {
		snprintf(where, sizeof where, ".predictions[%d].path", i);
		return bad(path, where, "expected a string");
	}
	r->defect[i] = json_string(json_get(e, "defect"));
	if (!r->defect[i])
		r->defect[i] = r->label[i] ? "unknown" : "good";
	return 0;
}

/* What an ok unit must have: a threshold and its predictions (and a usable
 * map scale when it records one). */
static int read_ok(const char *path, struct unit_result *r)
{
	if (!isfinite(r->threshold))
		return bad(path, ".threshold.value", "expected a number");
	const struct json *scale = json_get(json_get(r->doc, "pixel_metrics"), "map_scale");
	if (scale && json_type(scale) != JSON_NULL && !(r->map_scale > 0 && isfinite(r->map_scale)))
		return bad(path, ".pixel_metrics.map_scale", "expected a positive number or null");
	const struct json *preds = json_get(r->doc, "predictions");
	if (json_type(preds) != JSON_ARRAY)
		return bad(path, ".predictions", "expected an array");
	int n = json_size(preds);
	size_t cap = (size_t)(n > 0 ? n : 1);
	r->label = xmalloc(sizeof *r->label * cap);
	r->p = xmalloc(sizeof *r->p * cap);
	r->image = xmalloc(sizeof *r->image * cap);
	r->defect = xmalloc(sizeof *r->defect * cap);
	for (int i = 0; i < n; i++)
		if (read_prediction(path, json_at(preds, i), i, r) < 0)
			return -1;
	r->n = n;
	return 0;
}

/* The unit the file names is (model, repeat, fold). */
static int check_unit(const char *path, const struct unit_result *r, const char *model,
		      int repeat, int fold)
{
	if (!r->model || strcmp(r->model, model))
		return bad(path, ".model", "does not name the model of its folder");
	if (r->repeat != repeat || r->fold != fold)
		return bad(path, ".repeat/.fold", "do not match the file name");
	return 0;
}

int result_read(const char *path, struct unit_result *r)
{
	return result_read_unit(path, NULL, -1, -1, r);
}

int result_read_unit(const char *path, const char *model, int repeat, int fold,
		     struct unit_result *r)
{
	memset(r, 0, sizeof *r);
	r->doc = result_parse(path);
	if (!r->doc)
		return -1;
	read_common(r);
	int rc = model ? check_unit(path, r, model, repeat, fold) : 0;
	if (rc == 0)
		rc = read_status(path, r);
	if (rc == 0 && r->status == UNIT_STATUS_OK)
		rc = read_ok(path, r);
	if (rc == 0)
		read_curve(r);
	if (rc < 0)
		result_release(r);
	return rc;
}

void result_release(struct unit_result *r)
{
	json_free(r->doc);
	free(r->label);
	free(r->p);
	free(r->image);
	free(r->defect);
	free(r->train_loss);
	free(r->val_loss);
	memset(r, 0, sizeof *r);
}

/* ---- writing ---- */

void result_begin(struct jw *w)
{
	jw_obj_begin(w);
	jw_kstr(w, "format", UNIT_FORMAT);
}

static char *cpu_model(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	char *out = NULL;
	while (f && !out && fgets(line, sizeof line, f)) {
		if (strncmp(line, "model name", 10))
			continue;
		char *v = strchr(line, ':');
		if (!v)
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\n")] = '\0';
		out = xstrdup(v);
	}
	if (f)
		fclose(f);
	return out;
}

/* The source tree's commit and whether tracked files differ from it, or
 * NULL / -1 when the program does not run from a git checkout. */
static char *git_commit(int *dirty)
{
	*dirty = -1;
	char *cmd = xasprintf("git -C '%s' rev-parse HEAD 2>/dev/null", DARKFOLD_SOURCE_DIR);
	FILE *p = popen(cmd, "r");
	free(cmd);
	char buf[128] = "";
	if (!p)
		return NULL;
	if (!fgets(buf, sizeof buf, p))
		buf[0] = '\0';
	int rc = pclose(p);
	buf[strcspn(buf, "\n")] = '\0';
	if (rc != 0 || strlen(buf) != 40)
		return NULL;
	cmd = xasprintf("git -C '%s' status --porcelain --untracked-files=no 2>/dev/null",
			DARKFOLD_SOURCE_DIR);
	p = popen(cmd, "r");
	free(cmd);
	if (p) {
		char tmp[256];
		*dirty = fgets(tmp, sizeof tmp, p) != NULL;
		if (pclose(p) != 0)
			*dirty = -1;
	}
	return xstrdup(buf);
}

/* "host" and "provenance": where and with what the unit ran. */
static void write_host_provenance(struct jw *w)
{
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	char *cpu = cpu_model();
	jw_key(w, "host");
	jw_obj_begin(w);
	jw_kstr(w, "hostname", host);
	jw_kstr(w, "cpu", cpu);
	jw_kstr(w, "blas_core", blas_corename());
	jw_kint(w, "blas_threads", blas_threads());
	jw_obj_end(w);
	free(cpu);

	int dirty;
	char *commit = git_commit(&dirty);
	jw_key(w, "provenance");
	jw_obj_begin(w);
	jw_kstr(w, "darkfold_version", DARKFOLD_VERSION);
	jw_kstr(w, "git_commit", commit);
	if (dirty < 0)
		jw_key(w, "git_dirty"), jw_null(w);
	else
		jw_kbool(w, "git_dirty", dirty);
	jw_kstr(w, "darknet", DARKNET_PKG_VERSION);
	jw_kstr(w, "openblas", blas_config());
	jw_kstr(w, "gsl", stats_gsl_version());
	jw_kstr(w, "libpng", image_libpng_version());
	jw_kstr(w, "cjson", json_library_version());
	jw_obj_end(w);
	free(commit);
}

/* 1 if path holds a valid unit result file with status ok. */
static int result_is_ok(const char *path)
{
	if (!fs_is_file(path))
		return 0;
	struct json *j = result_parse(path);
	enum unit_status st;
	int ok = result_status_parse(json_string(json_get(j, "status")), &st) == 0 &&
		 st == UNIT_STATUS_OK;
	json_free(j);
	return ok;
}

int result_write(struct jw *w, const char *results, const char *model, int repeat, int fold,
		 enum unit_status status)
{
	write_host_provenance(w);
	checksum_append(w);
	jw_obj_end(w);

	char *path = result_path(results, model, repeat, fold, RESULT_FILE);
	char *beside = result_path(results, model, repeat, fold, RESULT_FAILED_FILE);
	int good = status == UNIT_STATUS_OK || status == UNIT_STATUS_DIVERGED;
	if (!good && result_is_ok(path)) {
		fprintf(stderr, "%s r%d-f%d: keeping the ok result '%s'; this run's result goes to "
			"'%s'\n", model, repeat, fold, path, beside);
		char *t = path;
		path = beside;
		beside = t;
	}
	int rc = jw_write_file(w, path);
	if (rc == 0 && good)
		unlink(beside);
	free(path);
	free(beside);
	return rc;
}
