/* unit.c: one (model, repeat, fold) unit from data to result file (see
 * unit.h and docs/results.md). */
#include "unit.h"

#include "blas.h"
#include "cache.h"
#include "cfg.h"
#include "checksum.h"
#include "dataset.h"
#include "error.h"
#include "folds.h"
#include "fsutil.h"
#include "image.h"
#include "json.h"
#include "metrics.h"
#include "net.h"
#include "score.h"
#include "sha256.h"
#include "stats.h"
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *unit_result_path(const struct experiment *e, const char *model, int repeat, int fold)
{
	char *root = experiment_results_path(e);
	char *p = xasprintf("%s/%s/r%d-f%d.json", root, model, repeat, fold);
	free(root);
	return p;
}

char *unit_failed_path(const struct experiment *e, const char *model, int repeat, int fold)
{
	char *root = experiment_results_path(e);
	char *p = xasprintf("%s/%s/r%d-f%d.failed.json", root, model, repeat, fold);
	free(root);
	return p;
}

char *unit_work_dir(const struct experiment *e, const char *model, int repeat, int fold)
{
	char *root = experiment_results_path(e);
	char *p = xasprintf("%s/%s/r%d-f%d", root, model, repeat, fold);
	free(root);
	return p;
}

/* PRO is integrated up to this false-positive rate (MVTec AD's choice). */
#define UNIT_PRO_MAX_FPR 0.3

/* ---- inputs: effective cfg, data, settings ---- */

/* The model's cfg with the experiment's overrides: input size, batch,
 * optimiser settings, subdivisions 1 and 2 classes. */
static int effective_cfg(const struct experiment *e, const struct exp_model *m, struct cfg *c)
{
	if (cfg_load(m->cfg, 0, c) < 0)
		return -1;
	if (m->kind != EXP_KIND_ONE_CLASS && cfg_is_reconstruction(c)) {
		error("%s: ends in [cost] without [softmax], so it reconstructs its input: declare "
		      "model '%s' \"kind\": \"one_class\"", m->cfg, m->name);
		cfg_release(c);
		return -1;
	}
	cfg_set_net_int(c, "width", e->dataset.width);
	cfg_set_net_int(c, "height", e->dataset.height);
	cfg_set_net_int(c, "channels", e->dataset.channels);
	if (e->training.batch > 0)
		cfg_set_net_int(c, "batch", e->training.batch);
	cfg_set_net_int(c, "subdivisions", 1);
	if (e->training.learning_rate > 0)
		cfg_set_net_double(c, "learning_rate", e->training.learning_rate);
	if (e->training.momentum >= 0)
		cfg_set_net_double(c, "momentum", e->training.momentum);
	if (e->training.decay >= 0)
		cfg_set_net_double(c, "decay", e->training.decay);
	if (e->training.optimizer == EXP_OPT_SGD)
		cfg_set_net_int(c, "adam", 0);
	else if (e->training.optimizer == EXP_OPT_ADAM)
		cfg_set_net_int(c, "adam", 1);
	if (m->kind == EXP_KIND_ONE_CLASS) {
		if (cfg_check_reconstruction(c) < 0) {
			cfg_release(c);
			return -1;
		}
		return 0;
	}
	if (cfg_set_classes(c, NET_CLASSES) < 0 || cfg_check(c, NET_CLASSES) < 0) {
		cfg_release(c);
		return -1;
	}
	return 0;
}

int unit_effective_cfg(const struct experiment *e, const struct exp_model *m, struct cfg *c)
{
	return effective_cfg(e, m, c);
}

static const char *optimizer_name(enum exp_optimizer o)
{
	return experiment_optimizer_name(o);
}

static const char *imbalance_name(enum exp_imbalance i)
{
	return experiment_imbalance_name(i);
}

/* SHA-256 of everything that determines the unit's result: darkfold's
 * version, the effective cfg, the data (cache key), and the experiment
 * settings this unit uses (not other models' entries, not report-only
 * settings such as alpha or bootstrap). */
static void inputs_hash(const struct experiment *e, const struct exp_model *m, int r, int f,
			const char *cfg_sha, const char *cache_key, char hex[65])
{
	struct jw w;
	jw_init(&w);
	jw_obj_begin(&w);
	jw_kstr(&w, "darkfold_version", DARKFOLD_VERSION);
	jw_kstr(&w, "cfg_sha256", cfg_sha);
	jw_kstr(&w, "cache_key", cache_key);
	experiment_hash_write(&w, e, EXP_HASH_DATA);
	jw_kint(&w, "repeat", r);
	jw_kint(&w, "fold", f);
	experiment_hash_write(&w, e, EXP_HASH_TRAINING);
	jw_kstr(&w, "model", m->name);
	jw_kstr(&w, "cfg", m->cfg);
	jw_kstr(&w, "weights", m->weights);
	jw_kint(&w, "weights_upto", m->weights_upto);
	if (m->kind == EXP_KIND_ONE_CLASS) {
		jw_kstr(&w, "kind", "one_class");
		jw_kstr(&w, "score", anomaly_pool_name(m->score_pool));
		jw_kint(&w, "score_k", m->score_k);
		experiment_hash_write(&w, e, EXP_HASH_ONE_CLASS);
	}
	if (m->epochs > 0)
		jw_kint(&w, "model_epochs", m->epochs);
	if (m->weights) {
		struct stat st;
		jw_kint(&w, "weights_size", stat(m->weights, &st) == 0 ? (long long)st.st_size : -1);
		jw_kint(&w, "weights_mtime", stat(m->weights, &st) == 0 ? (long long)st.st_mtime : -1);
	}
	jw_obj_end(&w);
	sha256_hex(w.buf, w.len, hex);
	jw_release(&w);
}

static int load_data(const struct experiment *e, struct dataset *d, struct cache *cc)
{
	if (dataset_scan(e->dataset.root, e->dataset.category, e->dataset.normal,
			 e->dataset.n_normal, e->dataset.anomalous, e->dataset.n_anomalous, d) < 0)
		return -1;
	if (cache_load(d, e->dataset.width, e->dataset.height, e->dataset.channels,
		       e->dataset.cache_dir, cc) < 0) {
		dataset_release(d);
		return -1;
	}
	return 0;
}

/* SHA-256 of the model's effective cfg text; -1 when the cfg is invalid. */
static int effective_cfg_sha(const struct experiment *e, const struct exp_model *m, char hex[65])
{
	struct cfg c;
	if (effective_cfg(e, m, &c) < 0)
		return -1;
	char *text = cfg_to_text(&c);
	sha256_hex(text, strlen(text), hex);
	free(text);
	cfg_release(&c);
	return 0;
}

int unit_is_current(const struct experiment *e, const char *model, int repeat, int fold)
{
	int mi = experiment_model(e, model);
	if (mi < 0)
		return 0;
	char *path = unit_result_path(e, model, repeat, fold);
	int current = 0;
	struct json *j = fs_is_file(path) ? unit_file_parse(path) : NULL;
	free(path);
	const char *status = json_string(json_get(j, "status"));
	const char *recorded = json_string(json_get(j, "inputs_sha256"));
	if (!status || !recorded || !(strcmp(status, "ok") == 0 || strcmp(status, "diverged") == 0))
		goto out;
	char cfg_sha[65];
	if (effective_cfg_sha(e, &e->models[mi], cfg_sha) < 0)
		goto out;
	struct dataset d;
	struct cache cc;
	if (load_data(e, &d, &cc) < 0)
		goto out;
	char hex[65];
	inputs_hash(e, &e->models[mi], repeat, fold, cfg_sha, cc.key, hex);
	current = strcmp(hex, recorded) == 0;
	cache_release(&cc);
	dataset_release(&d);
out:
	json_free(j);
	return current;
}

_Static_assert((int)EXP_THR_FIXED == (int)METRICS_THR_FIXED &&
		       (int)EXP_THR_TUNED == (int)METRICS_THR_TUNED &&
		       (int)EXP_THR_NORMAL_QUANTILE == (int)METRICS_THR_NORMAL_QUANTILE &&
		       (int)EXP_THR_RECALL_TARGET == (int)METRICS_THR_RECALL_TARGET,
	       "threshold policies in experiment.h and metrics.h agree");

/* ---- the result file ---- */

struct unit_run_state {
	const struct experiment *e;
	const struct exp_model *m;
	int repeat, fold;
	const char *status, *reason;
	char inputs_sha[65];
	uint64_t unit_seed;
	unsigned darknet_seed;
	char *work, *eff_path, *log_path, *weights_path, *ckpt_path, *best_path;
	char cfg_sha[65];
	int have_cfg;
	struct dataset d;
	struct cache cc;
	int have_data;
	int n_train, n_test, n_inner_train, n_inner_val;
	int *test;
	struct net_info info;
	int have_net;
	struct train_result tr;
	int have_train;
	double threshold;
	const char *chosen_on;
	double *p; /* (n_test) p_anomalous */
	struct metrics met;
	int have_metrics;
	double pixel_auroc, pro; /* one_class with metrics.pixel; NAN otherwise */
	unsigned char *masks;    /* (n_test, H, W) ground truth, or NULL */
	char started[32];
	char why[256]; /* reason text built at run time */
};

static void iso_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
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

static void write_training(struct jw *w, const struct unit_run_state *s)
{
	const struct experiment *e = s->e;
	jw_obj_begin(w);
	jw_kint(w, "epochs", s->m->epochs > 0 ? s->m->epochs : e->training.epochs);
	if (s->have_net) {
		jw_kint(w, "batch", s->info.batch);
		jw_knum(w, "learning_rate", (float)s->info.learning_rate);
		jw_knum(w, "momentum", (float)s->info.momentum);
		jw_knum(w, "decay", (float)s->info.decay);
		jw_kstr(w, "optimizer", s->info.adam ? "adam" : "sgd");
		jw_kstr(w, "lr_policy", e->training.lr_policy ? e->training.lr_policy : s->info.policy);
	} else {
		jw_key(w, "batch"), jw_null(w);
		jw_key(w, "learning_rate"), jw_null(w);
		jw_key(w, "momentum"), jw_null(w);
		jw_key(w, "decay"), jw_null(w);
		jw_kstr(w, "optimizer", optimizer_name(e->training.optimizer));
		jw_kstr(w, "lr_policy", e->training.lr_policy ? e->training.lr_policy : "cfg");
	}
	jw_kstr(w, "imbalance", imbalance_name(e->training.imbalance));
	jw_key(w, "augment");
	jw_obj_begin(w);
	jw_kbool(w, "flip", e->training.augment_flip);
	jw_kbool(w, "rot90", e->training.augment_rot90);
	jw_knum(w, "jitter", e->training.augment_jitter);
	jw_obj_end(w);
	jw_kbool(w, "early_stopping", e->training.early_stopping);
	jw_kint(w, "patience", e->training.patience);
	if (s->have_train) {
		jw_kint(w, "epochs_run", s->tr.epochs_run);
		if (s->tr.status == TRAIN_OK)
			jw_kint(w, "chosen_epoch", s->tr.chosen_epoch);
		else
			jw_key(w, "chosen_epoch"), jw_null(w);
	} else {
		jw_key(w, "epochs_run"), jw_null(w);
		jw_key(w, "chosen_epoch"), jw_null(w);
	}
	jw_obj_end(w);
}

/* 1 if path holds a valid unit result file with status ok. */
static int result_is_ok(const char *path)
{
	if (!fs_is_file(path))
		return 0;
	struct json *j = unit_file_parse(path);
	const char *st = json_string(json_get(j, "status"));
	int ok = st && !strcmp(st, "ok");
	json_free(j);
	return ok;
}

/* "kind" and "score": what the model is and what its p_anomalous means. */
static void write_kind(struct jw *w, const struct unit_run_state *s)
{
	int oc = s->m->kind == EXP_KIND_ONE_CLASS;
	jw_kstr(w, "kind", oc ? "one_class" : "supervised");
	jw_key(w, "score");
	jw_obj_begin(w);
	jw_kstr(w, "type", oc ? "anomaly_score" : "probability");
	jw_kstr(w, "map", oc ? "squared_error" : NULL);
	jw_kstr(w, "pooling", oc ? anomaly_pool_name((enum anomaly_pool)s->m->score_pool) : NULL);
	if (oc && s->m->score_pool == ANOMALY_POOL_MAX_LOCAL)
		jw_kint(w, "k", s->m->score_k);
	else
		jw_key(w, "k"), jw_null(w);
	jw_obj_end(w);
}

/* "pixel_metrics": pixel AUROC and PRO of the test fold, or null. */
static void write_pixel_metrics(struct jw *w, const struct unit_run_state *s, int ok)
{
	jw_key(w, "pixel_metrics");
	if (!ok || !s->e->metrics.pixel || s->m->kind != EXP_KIND_ONE_CLASS) {
		jw_null(w);
		return;
	}
	jw_obj_begin(w);
	jw_knum(w, "pixel_auroc", s->pixel_auroc);
	jw_knum(w, "pro", s->pro);
	jw_knum(w, "pro_max_fpr", UNIT_PRO_MAX_FPR);
	jw_obj_end(w);
}

/* The threshold policy a unit applies: the experiment's, except that a
 * one-class model's score is no probability, so a fixed threshold on it
 * would mean nothing: it is tuned instead. */
static enum exp_threshold unit_threshold_policy(const struct experiment *e,
						 const struct exp_model *m)
{
	if (m->kind == EXP_KIND_ONE_CLASS && e->metrics.threshold_policy == EXP_THR_FIXED)
		return EXP_THR_TUNED;
	return e->metrics.threshold_policy;
}

static int write_result(struct unit_run_state *s)
{
	const struct experiment *e = s->e;
	char unit[64];
	snprintf(unit, sizeof unit, "r%d-f%d", s->repeat, s->fold);
	int ok = strcmp(s->status, "ok") == 0;
	struct jw w;
	jw_init(&w);
	jw_obj_begin(&w);
	jw_kstr(&w, "format", UNIT_FORMAT);
	jw_kstr(&w, "experiment", e->name);
	jw_kstr(&w, "experiment_sha256", e->sha256);
	jw_kstr(&w, "inputs_sha256", s->inputs_sha[0] ? s->inputs_sha : NULL);
	jw_kstr(&w, "model", s->m->name);
	jw_kint(&w, "repeat", s->repeat);
	jw_kint(&w, "fold", s->fold);
	jw_kstr(&w, "unit", unit);
	write_kind(&w, s);
	jw_kstr(&w, "status", s->status);
	jw_kstr(&w, "reason", s->reason);
	if (s->have_train && s->tr.status == TRAIN_DIVERGED)
		jw_kint(&w, "diverged_epoch", s->tr.diverged_epoch);
	else
		jw_key(&w, "diverged_epoch"), jw_null(&w);

	jw_key(&w, "seeds");
	jw_obj_begin(&w);
	jw_knum(&w, "experiment", (double)e->cv.seed);
	jw_knum(&w, "unit", (double)s->unit_seed);
	jw_kint(&w, "darknet_srand", s->darknet_seed);
	jw_obj_end(&w);

	jw_key(&w, "cfg");
	jw_obj_begin(&w);
	jw_kstr(&w, "path", s->m->cfg);
	jw_kstr(&w, "effective", s->have_cfg ? s->eff_path : NULL);
	jw_kstr(&w, "sha256", s->have_cfg ? s->cfg_sha : NULL);
	jw_kstr(&w, "weights", s->m->weights);
	jw_kint(&w, "weights_upto", s->m->weights_upto);
	jw_obj_end(&w);

	jw_key(&w, "data");
	jw_obj_begin(&w);
	jw_kstr(&w, "root", e->dataset.root);
	jw_kstr(&w, "category", e->dataset.category);
	jw_kstr(&w, "cache_key", s->have_data ? s->cc.key : NULL);
	jw_kint(&w, "width", e->dataset.width);
	jw_kint(&w, "height", e->dataset.height);
	jw_kint(&w, "channels", e->dataset.channels);
	jw_kint(&w, "n_train", s->n_train);
	jw_kint(&w, "n_test", s->n_test);
	jw_kint(&w, "n_inner_train", s->n_inner_train);
	jw_kint(&w, "n_inner_val", s->n_inner_val);
	jw_obj_end(&w);

	jw_key(&w, "training");
	write_training(&w, s);

	jw_key(&w, "curve");
	train_curve_write(&w, s->tr.curve, s->have_train ? s->tr.epochs_run : 0);

	jw_key(&w, "threshold");
	jw_obj_begin(&w);
	if (ok)
		jw_knum(&w, "value", s->threshold);
	else
		jw_key(&w, "value"), jw_null(&w);
	enum exp_threshold pol = unit_threshold_policy(e, s->m);
	jw_kstr(&w, "policy", experiment_threshold_name(pol));
	if (pol == EXP_THR_NORMAL_QUANTILE)
		jw_knum(&w, "quantile", e->metrics.quantile);
	if (pol == EXP_THR_RECALL_TARGET)
		jw_knum(&w, "recall_target", e->metrics.recall_target);
	jw_kstr(&w, "chosen_on", ok ? s->chosen_on : NULL);
	jw_obj_end(&w);

	jw_key(&w, "predictions");
	jw_arr_begin(&w);
	for (int i = 0; ok && i < s->n_test; i++) {
		const struct dataset_item *it = &s->d.items[s->test[i]];
		jw_obj_begin(&w);
		jw_kstr(&w, "path", it->path);
		jw_kint(&w, "label", it->label);
		jw_kstr(&w, "defect", it->defect);
		jw_knum(&w, "p_anomalous", s->p[i]);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);

	jw_key(&w, "metrics");
	if (ok && s->have_metrics)
		metrics_write_json(&w, &s->met, e->metrics.positive == EXP_POS_ANOMALOUS,
				   e->metrics.beta, s->threshold);
	else
		jw_null(&w);
	write_pixel_metrics(&w, s, ok);
	jw_kstr(&w, "weights", ok ? s->weights_path : NULL);
	jw_kstr(&w, "darknet_log", s->log_path);

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	char finished[32];
	iso_now(finished);
	jw_key(&w, "timing");
	jw_obj_begin(&w);
	jw_knum(&w, "train_seconds", s->have_train ? s->tr.train_seconds : NAN);
	jw_knum(&w, "images_per_second", s->have_train ? s->tr.images_per_second : NAN);
	jw_kint(&w, "peak_rss_kb", ru.ru_maxrss);
	jw_knum(&w, "max_rss_mib", ru.ru_maxrss / 1024.0);
	jw_kstr(&w, "started", s->started);
	jw_kstr(&w, "finished", finished);
	jw_obj_end(&w);

	char host[256] = "";
	gethostname(host, sizeof host - 1);
	char *cpu = cpu_model();
	jw_key(&w, "host");
	jw_obj_begin(&w);
	jw_kstr(&w, "hostname", host);
	jw_kstr(&w, "cpu", cpu);
	jw_kstr(&w, "blas_core", blas_corename());
	jw_kint(&w, "blas_threads", blas_threads());
	jw_obj_end(&w);
	free(cpu);

	int dirty;
	char *commit = git_commit(&dirty);
	jw_key(&w, "provenance");
	jw_obj_begin(&w);
	jw_kstr(&w, "darkfold_version", DARKFOLD_VERSION);
	jw_kstr(&w, "git_commit", commit);
	if (dirty < 0)
		jw_key(&w, "git_dirty"), jw_null(&w);
	else
		jw_kbool(&w, "git_dirty", dirty);
	jw_kstr(&w, "darknet", DARKNET_PKG_VERSION);
	jw_kstr(&w, "openblas", blas_config());
	jw_kstr(&w, "gsl", stats_gsl_version());
	jw_kstr(&w, "libpng", image_libpng_version());
	jw_kstr(&w, "cjson", json_library_version());
	jw_obj_end(&w);
	free(commit);
	checksum_append(&w);
	jw_obj_end(&w);

	char *path = unit_result_path(e, s->m->name, s->repeat, s->fold);
	char *beside = unit_failed_path(e, s->m->name, s->repeat, s->fold);
	int good = !strcmp(s->status, "ok") || !strcmp(s->status, "diverged");
	if (!good && result_is_ok(path)) {
		fprintf(stderr, "%s r%d-f%d: keeping the ok result '%s'; this run's result goes to "
			"'%s'\n", s->m->name, s->repeat, s->fold, path, beside);
		char *t = path;
		path = beside;
		beside = t;
	}
	int rc = jw_write_file(&w, path);
	if (rc == 0 && good)
		unlink(beside);
	free(path);
	free(beside);
	jw_release(&w);
	return rc;
}

/* ---- study ETA from the other units' result files ---- */

static double result_seconds(const char *path)
{
	struct json *j = fs_is_file(path) ? unit_file_parse(path) : NULL;
	double s = NAN;
	const char *status = json_string(json_get(j, "status"));
	if (status && strcmp(status, "failed"))
		s = json_number(json_get(json_get(j, "timing"), "train_seconds"));
	json_free(j);
	return s;
}

/* Seconds the other units without a result file will take, estimated from
 * the finished units of their model (else of all models); units of this
 * model with no finished one are counted in *same_pending instead. */
static double study_estimate(const struct experiment *e, int self_model, int r0, int f0,
			     int *same_pending)
{
	int nm = e->n_models, units = e->cv.repeats * e->cv.k;
	double *sum = xcalloc((size_t)nm, sizeof(double));
	int *done = xcalloc((size_t)nm, sizeof(int)), *pending = xcalloc((size_t)nm, sizeof(int));
	double all = 0;
	int all_n = 0;
	for (int m = 0; m < nm; m++)
		for (int u = 0; u < units; u++) {
			int r = u / e->cv.k, f = u % e->cv.k;
			if (m == self_model && r == r0 && f == f0)
				continue;
			char *p = unit_result_path(e, e->models[m].name, r, f);
			double s = result_seconds(p);
			free(p);
			if (isfinite(s)) {
				sum[m] += s, done[m]++;
				all += s, all_n++;
			} else {
				pending[m]++;
			}
		}
	double est = 0;
	*same_pending = 0;
	for (int m = 0; m < nm; m++) {
		if (done[m] > 0)
			est += pending[m] * sum[m] / done[m];
		else if (m == self_model || all_n == 0)
			*same_pending += pending[m];
		else
			est += pending[m] * all / all_n;
	}
	free(sum);
	free(done);
	free(pending);
	return est;
}

/* ---- the unit ---- */

static void state_release(struct unit_run_state *s)
{
	free(s->work);
	free(s->eff_path);
	free(s->log_path);
	free(s->weights_path);
	free(s->ckpt_path);
	free(s->best_path);
	if (s->have_data) {
		cache_release(&s->cc);
		dataset_release(&s->d);
	}
	free(s->test);
	if (s->have_train)
		train_result_release(&s->tr);
	free(s->p);
	free(s->masks);
	if (s->have_metrics)
		metrics_release(&s->met);
}

static int fail(struct unit_run_state *s, const char *reason)
{
	s->status = "failed";
	s->reason = reason;
	write_result(s);
	fprintf(stderr, "%s r%d-f%d: failed: %s\n", s->m->name, s->repeat, s->fold, reason);
	return -1;
}

/* 1 when a score of p[0..n) is NaN or infinite: then the unit has diverged,
 * s says why (naming the images, what), and label's line says so. */
static int nonfinite_scores(struct unit_run_state *s, const double *p, int n, const char *what,
			    const char *label)
{
	int i = 0;
	while (i < n && isfinite(p[i]))
		i++;
	if (i == n)
		return 0;
	s->status = "diverged";
	snprintf(s->why, sizeof s->why, "the network gave a NaN or infinite score on the %s", what);
	s->reason = s->why;
	printf("%s: diverged: non-finite score on the %s\n", label, what);
	return 1;
}

/* The entries of idx[0..n) whose label is normal (new array, *out_n). */
static int *normal_only(const int *idx, int n, const int *labels, int *out_n)
{
	int *o = xmalloc(((size_t)n + 1) * sizeof(int));
	int k = 0;
	for (int i = 0; i < n; i++)
		if (!labels[idx[i]])
			o[k++] = idx[i];
	*out_n = k;
	return o;
}

/* A one-class unit's test scores with its maps, and the pixel AUROC and PRO
 * of those maps against the ground-truth masks. */
static void pixel_scores(struct unit_run_state *s, struct net *n, const struct score_spec *sp)
{
	int h = s->cc.h, w = s->cc.w;
	size_t plane = (size_t)h * w, total = (size_t)s->n_test * plane;
	double *maps = xmalloc((total + 1) * sizeof(double)); /* (n_test, H, W) */
	score_cached(n, sp, &s->cc, s->test, s->n_test, s->p, maps);
	s->pixel_auroc = anomaly_pixel_auroc(maps, s->masks, (long)total);
	s->pro = anomaly_pro(maps, s->masks, s->n_test, h, w, UNIT_PRO_MAX_FPR);
	free(maps);
}

static int run(struct unit_run_state *s)
{
	const struct experiment *e = s->e;
	const struct exp_model *m = s->m;
	if (load_data(e, &s->d, &s->cc) < 0)
		return fail(s, "cannot load the images");
	s->have_data = 1;

	int *labels = xmalloc((size_t)s->d.n * sizeof(int));
	for (int i = 0; i < s->d.n; i++)
		labels[i] = s->d.items[i].label;
	struct folds fo;
	int *train = NULL, *inner_train = NULL, *inner_val = NULL;
	int rc = folds_split(labels, s->d.n, e->cv.k, e->cv.repeats, e->cv.seed, e->cv.stratify, &fo);
	if (rc == 0) {
		rc = folds_unit(&fo, labels, s->repeat, s->fold, e->cv.inner_fraction, e->cv.seed,
				&train, &s->n_train, &s->test, &s->n_test, &inner_train,
				&s->n_inner_train, &inner_val, &s->n_inner_val);
		folds_release(&fo);
	}
	if (rc < 0) {
		free(labels);
		return fail(s, "cannot split the images into folds");
	}
	free(train);

	struct cfg c;
	struct net *n = NULL;
	int one_class = m->kind == EXP_KIND_ONE_CLASS;
	int *fit = inner_train, n_fit = s->n_inner_train, *fit_val = inner_val,
	    n_fit_val = s->n_inner_val;
	if (effective_cfg(e, m, &c) < 0) {
		rc = fail(s, "the model's cfg is invalid");
		goto out;
	}
	if (one_class && e->metrics.pixel) {
		s->masks = xmalloc((size_t)s->n_test * s->cc.h * s->cc.w + 1);
		if (score_masks(&s->d, s->test, s->n_test, s->cc.w, s->cc.h, s->masks) < 0) {
			cfg_release(&c);
			rc = fail(s, "metrics.pixel needs a ground-truth mask for every anomalous image");
			goto out;
		}
	}
	rc = cfg_write(&c, s->eff_path, s->cfg_sha);
	cfg_release(&c);
	if (rc < 0) {
		rc = fail(s, "cannot write the effective cfg");
		goto out;
	}
	s->have_cfg = 1;
	inputs_hash(e, m, s->repeat, s->fold, s->cfg_sha, s->cc.key, s->inputs_sha);

	if (one_class) { /* normal images only, for training and its validation loss */
		fit = normal_only(inner_train, s->n_inner_train, labels, &n_fit);
		fit_val = normal_only(inner_val, s->n_inner_val, labels, &n_fit_val);
		s->n_inner_train = n_fit;
	}
	if ((one_class ? net_build_reconstruction : net_build)(s->eff_path, s->darknet_seed,
							     s->log_path, &n) < 0) {
		rc = fail(s, "cannot build the network from the effective cfg");
		goto out;
	}
	net_info(n, &s->info);
	s->have_net = 1;
	if (m->weights && net_load_weights(n, m->weights, m->weights_upto) < 0) {
		rc = fail(s, "the pretrained weights do not fit the network");
		goto out;
	}

	struct train_options o = { 0 };
	o.training = &e->training;
	o.epochs = m->epochs > 0 ? m->epochs : e->training.epochs;
	o.reconstruct = one_class;
	o.lr_base = s->info.learning_rate;
	o.seed = s->unit_seed;
	o.checkpoint = s->ckpt_path;
	o.checkpoint_key = s->inputs_sha;
	o.best_weights = s->best_path;
	char label[256];
	snprintf(label, sizeof label, "%s r%d-f%d", m->name, s->repeat, s->fold);
	o.label = label;
	o.study_other_seconds = study_estimate(e, (int)(m - e->models), s->repeat, s->fold,
					       &o.study_same_pending);
	printf("%s: training on %d images (%d more for validation), testing on %d\n", label,
	       s->n_inner_train, s->n_inner_val, s->n_test);
	fflush(stdout);
	if (train_run(n, &s->cc, labels, fit, n_fit, fit_val, n_fit_val, &o, &s->tr) < 0) {
		rc = fail(s, "training stopped on an I/O error");
		goto out;
	}
	s->have_train = 1;

	if (s->tr.status == TRAIN_INTERRUPTED) {
		int sig = train_interrupted();
		snprintf(s->why, sizeof s->why, "interrupted by signal %d (%s) after epoch %d of %d; "
			 "rerun the unit to resume from its checkpoint", sig, strsignal(sig),
			 s->tr.epochs_run, e->training.epochs);
		s->status = "interrupted";
		s->reason = s->why;
		write_result(s);
		printf("%s: %s\n", label, s->why);
		rc = -1;
		goto out;
	}
	if (s->tr.status == TRAIN_DIVERGED) {
		s->status = "diverged";
		s->reason = "the training loss became NaN or Inf";
		rc = write_result(s);
		printf("%s: diverged in epoch %d\n", label, s->tr.diverged_epoch);
		goto cleanup;
	}

	int positive = e->metrics.positive == EXP_POS_ANOMALOUS;
	struct score_spec sp = { one_class, (enum anomaly_pool)m->score_pool, m->score_k };
	s->threshold = e->metrics.threshold;
	s->chosen_on = "fixed";
	if (unit_threshold_policy(e, m) != EXP_THR_FIXED) {
		int nv = s->n_inner_val;
		double *p = xmalloc(((size_t)nv + 1) * sizeof(double));
		int *l = xmalloc(((size_t)nv + 1) * sizeof(int));
		for (int i = 0; i < nv; i++)
			l[i] = labels[inner_val[i]];
		score_cached(n, &sp, &s->cc, inner_val, nv, p, NULL);
		if (nonfinite_scores(s, p, nv, "inner validation images", label)) {
			free(p);
			free(l);
			rc = write_result(s);
			goto cleanup;
		}
		struct metrics_input mi = { .label = l, .p = p, .n = nv };
		struct metrics_threshold policy = {
			.policy = (enum metrics_threshold_policy)unit_threshold_policy(e, m),
			.fixed = e->metrics.threshold,
			.positive = positive,
			.beta = e->metrics.beta,
			.quantile = e->metrics.quantile,
			.recall_target = e->metrics.recall_target,
		};
		s->threshold = metrics_choose_threshold(&mi, &policy);
		s->chosen_on = "inner_val";
		free(p);
		free(l);
	}

	int *l = xmalloc(((size_t)s->n_test + 1) * sizeof(int));
	const char **defect = xmalloc(((size_t)s->n_test + 1) * sizeof(char *));
	s->p = xmalloc(((size_t)s->n_test + 1) * sizeof(double));
	for (int i = 0; i < s->n_test; i++) {
		l[i] = labels[s->test[i]];
		defect[i] = s->d.items[s->test[i]].defect;
	}
	s->pixel_auroc = s->pro = NAN;
	if (s->masks)
		pixel_scores(s, n, &sp);
	else
		score_cached(n, &sp, &s->cc, s->test, s->n_test, s->p, NULL);
	if (nonfinite_scores(s, s->p, s->n_test, "held-out images", label)) {
		free(l);
		free(defect);
		rc = write_result(s);
		goto cleanup;
	}
	struct metrics_input mi = { .label = l, .p = s->p, .defect = defect, .n = s->n_test };
	rc = metrics_compute(&mi, s->threshold, positive, e->metrics.beta, &s->met);
	if (rc == 0 && one_class)
		metrics_mark_score(&s->met);
	free(l);
	free(defect);
	if (rc < 0) {
		rc = fail(s, "cannot compute the metrics");
		goto out;
	}
	s->have_metrics = 1;
	if (net_save_weights(n, s->weights_path) < 0) {
		rc = fail(s, "cannot save the trained weights");
		goto out;
	}
	s->status = "ok";
	s->reason = NULL;
	rc = write_result(s);
	if (rc == 0)
		printf("%s: ok, epoch %d chosen, threshold %.3g, accuracy %.3f, recall %.3f, "
		       "f2 %.3f (%.1f s, %.1f img/s)\n",
		       label, s->tr.chosen_epoch, s->threshold, s->met.accuracy, s->met.recall,
		       s->met.fbeta, s->tr.train_seconds, s->tr.images_per_second);
cleanup:
	/* The unit is complete: the checkpoint and best-epoch weights have done
	 * their job (final.weights holds the chosen epoch). */
	if (rc == 0) {
		unlink(s->ckpt_path);
		unlink(s->best_path);
	}
out:
	net_free(n);
	free(labels);
	if (fit != inner_train)
		free(fit);
	if (fit_val != inner_val)
		free(fit_val);
	free(inner_train);
	free(inner_val);
	return rc;
}

int unit_run(const struct experiment *e, const char *model, int repeat, int fold)
{
	int mi = experiment_model(e, model);
	if (mi < 0)
		return error("'%s': no model called '%s'", e->path, model);
	if (repeat < 0 || repeat >= e->cv.repeats || fold < 0 || fold >= e->cv.k)
		return error("'%s': no unit r%d-f%d (repeats %d, folds %d)", e->path, repeat, fold,
			     e->cv.repeats, e->cv.k);
	struct unit_run_state s = { 0 };
	s.e = e;
	s.m = &e->models[mi];
	s.repeat = repeat;
	s.fold = fold;
	iso_now(s.started);
	s.unit_seed = folds_derive_seed(e->cv.seed, model, repeat, fold) & ((1ULL << 53) - 1);
	s.darknet_seed = (unsigned)(folds_derive_seed(s.unit_seed, "darknet", 0, 0) & 0xffffffffu);
	s.work = unit_work_dir(e, model, repeat, fold);
	s.eff_path = fs_join(s.work, "effective.cfg");
	s.log_path = fs_join(s.work, "darknet.log");
	s.weights_path = fs_join(s.work, "final.weights");
	s.ckpt_path = fs_join(s.work, "checkpoint");
	s.best_path = fs_join(s.work, "best.weights");
	int rc;
	if (fs_mkdir_p(s.work) < 0)
		rc = -1;
	else {
		blas_set_threads(e->training.threads);
		rc = run(&s);
	}
	state_release(&s);
	return rc;
}

struct json *unit_file_parse(const char *path)
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

char **unit_inputs_all(const struct experiment *e, int *failed)
{
	*failed = 0;
	if (!fs_is_dir(e->dataset.root)) {
		warning("dataset folder '%s' does not exist: the unit files' inputs hashes "
			"cannot be checked", e->dataset.root);
		return NULL;
	}
	struct dataset d;
	struct cache cc;
	if (load_data(e, &d, &cc) < 0) {
		*failed = 1;
		return NULL;
	}
	int per = e->cv.repeats * e->cv.k;
	char **list = xcalloc((size_t)e->n_models * per + 1, sizeof *list);
	for (int m = 0; m < e->n_models; m++) {
		char cfg_sha[65];
		if (effective_cfg_sha(e, &e->models[m], cfg_sha) < 0)
			continue;
		for (int i = 0; i < per; i++) {
			list[m * per + i] = xmalloc(65);
			inputs_hash(e, &e->models[m], i / e->cv.k, i % e->cv.k, cfg_sha, cc.key,
				    list[m * per + i]);
		}
	}
	cache_release(&cc);
	dataset_release(&d);
	return list;
}

void unit_inputs_free(char **list, const struct experiment *e)
{
	if (!list)
		return;
	for (int i = 0; i < e->n_models * e->cv.repeats * e->cv.k; i++)
		free(list[i]);
	free(list);
}
