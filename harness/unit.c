/* unit.c: one (model, repeat, fold) unit from data to result file (see
 * unit.h and docs/results.md). */
#include "unit.h"

#include "blas.h"
#include "cache.h"
#include "cfg.h"
#include "dataset.h"
#include "error.h"
#include "folds.h"
#include "fsutil.h"
#include "image.h"
#include "json.h"
#include "knn.h"
#include "metrics.h"
#include "net.h"
#include "result.h"
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

/* File `which` of a unit under the experiment's results folder. */
static char *unit_path(const struct experiment *e, const char *model, int repeat, int fold,
		       enum result_file which)
{
	char *root = experiment_results_path(e);
	char *p = result_path(root, model, repeat, fold, which);
	free(root);
	return p;
}

char *unit_result_path(const struct experiment *e, const char *model, int repeat, int fold)
{
	return unit_path(e, model, repeat, fold, RESULT_FILE);
}

char *unit_failed_path(const struct experiment *e, const char *model, int repeat, int fold)
{
	return unit_path(e, model, repeat, fold, RESULT_FAILED_FILE);
}

char *unit_work_dir(const struct experiment *e, const char *model, int repeat, int fold)
{
	return unit_path(e, model, repeat, fold, RESULT_WORK_DIR);
}

/* PRO is integrated up to this false-positive rate (MVTec AD's choice). */
#define UNIT_PRO_MAX_FPR 0.3

/* ---- inputs: effective cfg, data, settings ---- */

/* The model's cfg with the experiment's overrides: input size, batch,
 * optimiser settings, subdivisions 1 and 2 classes. */
static int effective_cfg(const struct experiment *e, const struct exp_model *m, struct cfg *c)
{
	if (!m->cfg)
		return error("model '%s' is a knn model: it has no cfg", m->name);
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

/* SHA-256 of the bytes of the pretrained weights file at path into hex, ""
 * when it cannot be read (the unit then fails when it loads them). The
 * last file's digest is kept with its size, inode and modification time,
 * so that checking a study's units reads a large file once. */
static void weights_sha(const char *path, char hex[65])
{
	static char *last_path, last_hex[65];
	static struct stat last;
	struct stat st;
	hex[0] = '\0';
	if (stat(path, &st) != 0)
		return;
	if (last_path && !strcmp(last_path, path) && st.st_size == last.st_size &&
	    st.st_ino == last.st_ino && st.st_mtim.tv_sec == last.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == last.st_mtim.tv_nsec) {
		memcpy(hex, last_hex, sizeof last_hex);
		return;
	}
	if (sha256_file(path, hex) < 0) {
		hex[0] = '\0';
		return;
	}
	free(last_path);
	last_path = xstrdup(path);
	last = st;
	memcpy(last_hex, hex, sizeof last_hex);
}

/* SHA-256 of everything that determines the unit's result: darkfold's
 * version, the effective cfg, the data (the cache's data_key: what the images
 * are, not where or when they were written), and the experiment
 * settings this unit uses (not other models' entries, not report-only
 * settings such as alpha or bootstrap). */
static void inputs_hash(const struct experiment *e, const struct exp_model *m, int r, int f,
			const char *cfg_sha, const char *data_key, char hex[65])
{
	struct jw w;
	jw_init(&w);
	jw_obj_begin(&w);
	jw_kstr(&w, "darkfold_version", DARKFOLD_VERSION);
	jw_kstr(&w, "cfg_sha256", cfg_sha[0] ? cfg_sha : NULL);
	jw_kstr(&w, "data_key", data_key);
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
	if (m->kind == EXP_KIND_KNN) {
		jw_kstr(&w, "kind", "knn");
		jw_kstr(&w, "score", anomaly_pool_name(m->score_pool));
		jw_kint(&w, "score_k", m->score_k);
		jw_kint(&w, "neighbours", m->neighbours);
		jw_kint(&w, "downsample", m->downsample);
		experiment_hash_write(&w, e, EXP_HASH_ONE_CLASS);
	}
	if (m->epochs > 0)
		jw_kint(&w, "model_epochs", m->epochs);
	if (m->weights) {
		char sha[65];
		weights_sha(m->weights, sha);
		jw_kstr(&w, "weights_sha256", sha[0] ? sha : NULL);
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

/* SHA-256 of the model's effective cfg text ("" for a knn model, which has
 * none); -1 when the cfg is invalid. */
static int effective_cfg_sha(const struct experiment *e, const struct exp_model *m, char hex[65])
{
	hex[0] = '\0';
	if (m->kind == EXP_KIND_KNN)
		return 0;
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
	struct unit_result res;
	int current = 0, have = fs_is_file(path) && result_read(path, &res) == 0;
	free(path);
	if (!have)
		return 0;
	if (!res.inputs_sha256 ||
	    !(res.status == UNIT_STATUS_OK || res.status == UNIT_STATUS_DIVERGED))
		goto out;
	char cfg_sha[65];
	if (effective_cfg_sha(e, &e->models[mi], cfg_sha) < 0)
		goto out;
	struct dataset d;
	struct cache cc;
	if (load_data(e, &d, &cc) < 0)
		goto out;
	char hex[65];
	inputs_hash(e, &e->models[mi], repeat, fold, cfg_sha, cc.data_key, hex);
	current = strcmp(hex, res.inputs_sha256) == 0;
	cache_release(&cc);
	dataset_release(&d);
out:
	result_release(&res);
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
	char label[256]; /* "<model> r<R>-f<F>", for progress lines */
	enum unit_status status;
	const char *reason;
	int rc; /* unit_run's return value, once the unit has ended */
	char inputs_sha[65];
	uint64_t unit_seed;
	unsigned darknet_seed;
	char *work, *eff_path, *log_path, *weights_path, *ckpt_path, *best_path;
	char cfg_sha[65];
	int have_cfg;
	struct dataset d;
	struct cache cc;
	int have_data;
	int *labels; /* (d.n) */
	int n_train, n_test, n_inner_train, n_inner_val;
	int *test, *inner_train, *inner_val;
	int *fit, n_fit, *fit_val, n_fit_val; /* what the network trains and validates on */
	int positive;                         /* the anomalous class is positive */
	struct score_spec sp;
	struct net *net;
	struct knn *knn;     /* a knn model, fitted; NULL for a network */
	double fit_seconds;  /* the knn model's fit */
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
	double map_scale;        /* scale of the maps written with the pixel metrics */
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

static void write_training(struct jw *w, const struct unit_run_state *s)
{
	const struct experiment *e = s->e;
	if (s->m->kind == EXP_KIND_KNN) {
		jw_null(w); /* fitted, not trained: no epochs, no curve, no weights */
		return;
	}
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
	if (e->training.precision != EXP_PREC_FP32) /* fp32 files keep their old bytes */
		jw_kstr(w, "precision", "bf16");
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

/* "kind" and "score": what the model is and what its p_anomalous means. */
static void write_kind(struct jw *w, const struct unit_run_state *s)
{
	int oc = exp_model_one_class(s->m);
	jw_kstr(w, "kind", s->m->kind == EXP_KIND_KNN ? "knn" : oc ? "one_class" : "supervised");
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
	if (s->m->kind != EXP_KIND_KNN)
		return;
	jw_key(w, "knn");
	jw_obj_begin(w);
	jw_kint(w, "neighbours", s->m->neighbours);
	jw_kint(w, "downsample", s->m->downsample);
	if (s->knn)
		jw_kint(w, "fit_images", s->knn->n);
	else
		jw_key(w, "fit_images"), jw_null(w);
	jw_obj_end(w);
}

/* "pixel_metrics": pixel AUROC and PRO of the test fold, or null. */
static void write_pixel_metrics(struct jw *w, const struct unit_run_state *s, int ok)
{
	jw_key(w, "pixel_metrics");
	if (!ok || !s->e->metrics.pixel || !exp_model_one_class(s->m)) {
		jw_null(w);
		return;
	}
	jw_obj_begin(w);
	jw_knum(w, "pixel_auroc", s->pixel_auroc);
	jw_knum(w, "pro", s->pro);
	jw_knum(w, "pro_max_fpr", UNIT_PRO_MAX_FPR);
	jw_knum(w, "map_scale", s->map_scale);
	jw_obj_end(w);
}

/* The threshold policy a unit applies: the experiment's, except that a
 * one-class model's score is no probability, so a fixed threshold on it
 * would mean nothing: it is tuned instead. */
static enum exp_threshold unit_threshold_policy(const struct experiment *e,
						 const struct exp_model *m)
{
	if (exp_model_one_class(m) && e->metrics.threshold_policy == EXP_THR_FIXED)
		return EXP_THR_TUNED;
	return e->metrics.threshold_policy;
}

/* The unit, what it is and how it ended: the keys before "seeds". */
static void write_head(struct jw *w, const struct unit_run_state *s)
{
	const struct experiment *e = s->e;
	char unit[64];
	snprintf(unit, sizeof unit, "r%d-f%d", s->repeat, s->fold);
	jw_kstr(w, "experiment", e->name);
	jw_kstr(w, "experiment_sha256", e->sha256);
	jw_kstr(w, "inputs_sha256", s->inputs_sha[0] ? s->inputs_sha : NULL);
	jw_kstr(w, "model", s->m->name);
	jw_kint(w, "repeat", s->repeat);
	jw_kint(w, "fold", s->fold);
	jw_kstr(w, "unit", unit);
	write_kind(w, s);
	jw_kstr(w, "status", result_status_name(s->status));
	jw_kstr(w, "reason", s->reason);
	if (s->have_train && s->tr.status == TRAIN_DIVERGED)
		jw_kint(w, "diverged_epoch", s->tr.diverged_epoch);
	else
		jw_key(w, "diverged_epoch"), jw_null(w);
}

/* "seeds", "cfg" and "data": what the unit was made from. */
static void write_sources(struct jw *w, const struct unit_run_state *s)
{
	const struct experiment *e = s->e;
	jw_key(w, "seeds");
	jw_obj_begin(w);
	jw_knum(w, "experiment", (double)e->cv.seed);
	jw_knum(w, "unit", (double)s->unit_seed);
	jw_kint(w, "darknet_srand", s->darknet_seed);
	jw_obj_end(w);

	jw_key(w, "cfg");
	jw_obj_begin(w);
	jw_kstr(w, "path", s->m->cfg);
	jw_kstr(w, "effective", s->have_cfg ? s->eff_path : NULL);
	jw_kstr(w, "sha256", s->have_cfg ? s->cfg_sha : NULL);
	jw_kstr(w, "weights", s->m->weights);
	jw_kint(w, "weights_upto", s->m->weights_upto);
	jw_obj_end(w);

	jw_key(w, "data");
	jw_obj_begin(w);
	jw_kstr(w, "root", e->dataset.root);
	jw_kstr(w, "category", e->dataset.category);
	jw_kstr(w, "data_key", s->have_data ? s->cc.data_key : NULL);
	jw_kint(w, "width", e->dataset.width);
	jw_kint(w, "height", e->dataset.height);
	jw_kint(w, "channels", e->dataset.channels);
	jw_kint(w, "n_train", s->n_train);
	jw_kint(w, "n_test", s->n_test);
	jw_kint(w, "n_inner_train", s->n_inner_train);
	jw_kint(w, "n_inner_val", s->n_inner_val);
	jw_obj_end(w);
}

/* "threshold": its value (ok units) and the policy that chose it. */
static void write_threshold(struct jw *w, const struct unit_run_state *s, int ok)
{
	const struct experiment *e = s->e;
	jw_key(w, "threshold");
	jw_obj_begin(w);
	if (ok)
		jw_knum(w, "value", s->threshold);
	else
		jw_key(w, "value"), jw_null(w);
	enum exp_threshold pol = unit_threshold_policy(e, s->m);
	jw_kstr(w, "policy", experiment_threshold_name(pol));
	if (pol == EXP_THR_NORMAL_QUANTILE)
		jw_knum(w, "quantile", e->metrics.quantile);
	if (pol == EXP_THR_RECALL_TARGET)
		jw_knum(w, "recall_target", e->metrics.recall_target);
	jw_kstr(w, "chosen_on", ok ? s->chosen_on : NULL);
	jw_obj_end(w);
}

/* "predictions" (ok units) and "metrics". */
static void write_predictions(struct jw *w, const struct unit_run_state *s, int ok)
{
	jw_key(w, "predictions");
	jw_arr_begin(w);
	for (int i = 0; ok && i < s->n_test; i++) {
		const struct dataset_item *it = &s->d.items[s->test[i]];
		jw_obj_begin(w);
		jw_kstr(w, "path", it->path);
		jw_kint(w, "label", it->label);
		jw_kstr(w, "defect", it->defect);
		jw_knum(w, "p_anomalous", s->p[i]);
		jw_obj_end(w);
	}
	jw_arr_end(w);

	jw_key(w, "metrics");
	if (ok && s->have_metrics)
		metrics_write_json(w, &s->met, s->e->metrics.positive == EXP_POS_ANOMALOUS,
				   s->e->metrics.beta, s->threshold);
	else
		jw_null(w);
}

/* "timing": training time and speed, peak memory, start and end. */
static void write_timing(struct jw *w, const struct unit_run_state *s)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	char finished[32];
	iso_now(finished);
	jw_key(w, "timing");
	jw_obj_begin(w);
	jw_knum(w, "train_seconds", s->have_train ? s->tr.train_seconds
				   : s->knn      ? s->fit_seconds
						 : NAN);
	jw_knum(w, "images_per_second", s->have_train ? s->tr.images_per_second : NAN);
	jw_kint(w, "peak_rss_kb", ru.ru_maxrss);
	jw_knum(w, "max_rss_mib", ru.ru_maxrss / 1024.0);
	jw_kstr(w, "started", s->started);
	jw_kstr(w, "finished", finished);
	jw_obj_end(w);
}

/* The unit's result file (docs/results.md), in file order. */
static int write_result(struct unit_run_state *s)
{
	int ok = s->status == UNIT_STATUS_OK;
	struct jw w;
	jw_init(&w);
	result_begin(&w);
	write_head(&w, s);
	write_sources(&w, s);
	jw_key(&w, "training");
	write_training(&w, s);
	jw_key(&w, "curve");
	train_curve_write(&w, s->tr.curve, s->have_train ? s->tr.epochs_run : 0);
	write_threshold(&w, s, ok);
	write_predictions(&w, s, ok);
	write_pixel_metrics(&w, s, ok);
	jw_kstr(&w, "weights", ok && !s->knn ? s->weights_path : NULL);
	jw_kstr(&w, "darknet_log", s->m->kind == EXP_KIND_KNN ? NULL : s->log_path);
	write_timing(&w, s);
	char *results = experiment_results_path(s->e);
	int rc = result_write(&w, results, s->m->name, s->repeat, s->fold, s->status);
	free(results);
	jw_release(&w);
	return rc;
}

/* ---- study ETA from the other units' result files ---- */

/* train_seconds of the unit result file at path, NAN when the unit has none
 * (no file, or a failed unit). */
static double result_seconds(const char *path)
{
	struct unit_result res;
	if (!fs_is_file(path) || result_read(path, &res) < 0)
		return NAN;
	double s = res.status != UNIT_STATUS_FAILED ? res.train_seconds : NAN;
	result_release(&res);
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
	net_free(s->net);
	knn_free(s->knn);
	free(s->labels);
	if (s->fit != s->inner_train)
		free(s->fit);
	if (s->fit_val != s->inner_val)
		free(s->fit_val);
	free(s->inner_train);
	free(s->inner_val);
	free(s->test);
	if (s->have_train)
		train_result_release(&s->tr);
	free(s->p);
	free(s->masks);
	if (s->have_metrics)
		metrics_release(&s->met);
}

/* The steps of run() return 0 to go on, or 1 when the unit has ended: its
 * result file is written (when possible) and s->rc is unit_run's value. */

/* The unit has ended with the result file write's value rc. */
static int end_unit(struct unit_run_state *s, int rc)
{
	s->rc = rc;
	return 1;
}

/* The unit has failed: its result file says why. */
static int fail(struct unit_run_state *s, const char *reason)
{
	s->status = UNIT_STATUS_FAILED;
	s->reason = reason;
	write_result(s);
	fprintf(stderr, "%s r%d-f%d: failed: %s\n", s->m->name, s->repeat, s->fold, reason);
	return end_unit(s, -1);
}

/* 1 when a score of p[0..n) is NaN or infinite: then the unit has diverged,
 * s says why (naming the images, what), and its progress line says so. */
static int nonfinite_scores(struct unit_run_state *s, const double *p, int n, const char *what)
{
	int i = 0;
	while (i < n && isfinite(p[i]))
		i++;
	if (i == n)
		return 0;
	s->status = UNIT_STATUS_DIVERGED;
	snprintf(s->why, sizeof s->why, "the network gave a NaN or infinite score on the %s", what);
	s->reason = s->why;
	printf("%s: diverged: non-finite score on the %s\n", s->label, what);
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

/* Scores p (n) of the images idx[0..n) of the unit's cache, by its network
 * or its knn model; maps (n, H, W) gets a one-class model's anomaly maps
 * when not NULL. */
static void unit_score(const struct unit_run_state *s, const int *idx, int n, double *p,
		       double *maps)
{
	/* The knn model was fitted on this cache: its shape always matches. */
	if (s->knn)
		(void)knn_score_cached(s->knn, &s->cc, idx, n, s->sp.pool, s->sp.k, p, maps);
	else
		score_cached(s->net, &s->sp, &s->cc, idx, n, p, maps);
}

/* A one-class unit's test scores with its maps, and the pixel AUROC and PRO
 * of those maps against the ground-truth masks; the maps of the anomalous
 * images are written under maps/ in the work folder (docs/results.md).
 * Returns 0, or -1 when a map cannot be written. */
static int pixel_scores(struct unit_run_state *s)
{
	int h = s->cc.h, w = s->cc.w;
	size_t plane = (size_t)h * w, total = (size_t)s->n_test * plane;
	double *maps = xmalloc((total + 1) * sizeof(double)); /* (n_test, H, W) */
	unit_score(s, s->test, s->n_test, s->p, maps);
	s->pixel_auroc = anomaly_pixel_auroc(maps, s->masks, (long)total);
	s->pro = anomaly_pro(maps, s->masks, s->n_test, h, w, UNIT_PRO_MAX_FPR);
	char *dir = fs_join(s->work, "maps");
	int rc = score_write_maps(&s->d, s->test, s->n_test, maps, h, w, dir, &s->map_scale);
	free(dir);
	free(maps);
	return rc;
}

/* Load the images and split them: the unit's training, test, inner training
 * and inner validation images. */
static int split_data(struct unit_run_state *s)
{
	const struct experiment *e = s->e;
	if (load_data(e, &s->d, &s->cc) < 0)
		return fail(s, "cannot load the images");
	s->have_data = 1;

	s->labels = xmalloc((size_t)s->d.n * sizeof(int));
	for (int i = 0; i < s->d.n; i++)
		s->labels[i] = s->d.items[i].label;
	struct folds fo;
	int *train = NULL;
	int rc = folds_split(s->labels, s->d.n, e->cv.k, e->cv.repeats, e->cv.seed, e->cv.stratify,
			     &fo);
	if (rc == 0) {
		rc = folds_unit(&fo, s->labels, s->repeat, s->fold, e->cv.inner_fraction, e->cv.seed,
				&train, &s->n_train, &s->test, &s->n_test, &s->inner_train,
				&s->n_inner_train, &s->inner_val, &s->n_inner_val);
		folds_release(&fo);
	}
	free(train);
	if (rc < 0)
		return fail(s, "cannot split the images into folds");
	s->fit = s->inner_train, s->n_fit = s->n_inner_train;
	s->fit_val = s->inner_val, s->n_fit_val = s->n_inner_val;
	return 0;
}

/* Read the test fold's masks when a one-class model's pixel metrics are
 * wanted. */
static int read_masks(struct unit_run_state *s)
{
	if (!s->sp.one_class || !s->e->metrics.pixel)
		return 0;
	s->masks = xmalloc((size_t)s->n_test * s->cc.h * s->cc.w + 1);
	if (score_masks(&s->d, s->test, s->n_test, s->cc.w, s->cc.h, s->masks) < 0)
		return fail(s, "metrics.pixel needs a ground-truth mask for every anomalous image");
	return 0;
}

/* Write the effective cfg (and read the test fold's masks when pixel
 * metrics are wanted); then the unit's inputs hash is known. A knn model
 * has no cfg. */
static int write_cfg(struct unit_run_state *s)
{
	const struct experiment *e = s->e;
	const struct exp_model *m = s->m;
	if (m->kind == EXP_KIND_KNN) {
		if (read_masks(s))
			return 1;
		inputs_hash(e, m, s->repeat, s->fold, "", s->cc.data_key, s->inputs_sha);
		return 0;
	}
	struct cfg c;
	if (effective_cfg(e, m, &c) < 0)
		return fail(s, "the model's cfg is invalid");
	if (read_masks(s)) {
		cfg_release(&c);
		return 1;
	}
	int rc = cfg_write(&c, s->eff_path, s->cfg_sha);
	cfg_release(&c);
	if (rc < 0)
		return fail(s, "cannot write the effective cfg");
	s->have_cfg = 1;
	inputs_hash(e, m, s->repeat, s->fold, s->cfg_sha, s->cc.data_key, s->inputs_sha);
	return 0;
}

/* Fit a knn model on the normal images of the inner training set, those a
 * one-class network would train on. */
static int fit_knn(struct unit_run_state *s)
{
	const struct exp_model *m = s->m;
	if (m->neighbours > s->n_fit) {
		snprintf(s->why, sizeof s->why, "\"neighbours\" is %d, more than the %d normal "
			 "images of the inner training set", m->neighbours, s->n_fit);
		return fail(s, s->why);
	}
	printf("%s: fitting on %d normal images, testing on %d\n", s->label, s->n_fit, s->n_test);
	fflush(stdout);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	s->knn = knn_fit_cached(&s->cc, s->fit, s->n_fit, m->neighbours, m->downsample);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!s->knn)
		return fail(s, "cannot fit the knn model");
	s->fit_seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	return 0;
}

/* Build the network, with its pretrained weights, or fit the knn model. A
 * one-class model trains (fits) and validates on normal images only. */
static int build_net(struct unit_run_state *s)
{
	const struct exp_model *m = s->m;
	int one_class = s->sp.one_class;
	if (one_class) {
		s->fit = normal_only(s->inner_train, s->n_inner_train, s->labels, &s->n_fit);
		s->fit_val = normal_only(s->inner_val, s->n_inner_val, s->labels, &s->n_fit_val);
		s->n_inner_train = s->n_fit;
	}
	if (m->kind == EXP_KIND_KNN)
		return fit_knn(s);
	if ((one_class ? net_build_reconstruction : net_build)(s->eff_path, s->darknet_seed,
							     s->log_path, &s->net) < 0)
		return fail(s, "cannot build the network from the effective cfg");
	net_info(s->net, &s->info);
	s->have_net = 1;
	if (m->weights && net_load_weights(s->net, m->weights, m->weights_upto) < 0)
		return fail(s, "the pretrained weights do not fit the network");
	return 0;
}

/* The training options: the experiment's settings for this unit. */
static struct train_options unit_train_options(const struct unit_run_state *s)
{
	const struct experiment *e = s->e;
	const struct exp_model *m = s->m;
	int one_class = s->sp.one_class;
	struct train_options o = { 0 };
	o.training = &e->training;
	o.epochs = m->epochs > 0 ? m->epochs : e->training.epochs;
	o.reconstruct = one_class;
	o.lr_base = s->info.learning_rate;
	o.seed = s->unit_seed;
	o.checkpoint = s->ckpt_path;
	o.checkpoint_key = s->inputs_sha;
	o.best_weights = s->best_path;
	o.label = s->label;
	o.study_other_seconds = study_estimate(e, (int)(m - e->models), s->repeat, s->fold,
					       &o.study_same_pending);
	return o;
}

/* Train; a training that was interrupted or diverged ends the unit. */
static int train_unit(struct unit_run_state *s)
{
	const struct experiment *e = s->e;
	if (s->knn)
		return 0;
	struct train_options o = unit_train_options(s);
	printf("%s: training on %d images (%d more for validation), testing on %d\n", s->label,
	       s->n_inner_train, s->n_inner_val, s->n_test);
	fflush(stdout);
	if (train_run(s->net, &s->cc, s->labels, s->fit, s->n_fit, s->fit_val, s->n_fit_val, &o,
		      &s->tr) < 0)
		return fail(s, "training stopped on an I/O error");
	s->have_train = 1;

	if (s->tr.status == TRAIN_INTERRUPTED) {
		int sig = train_interrupted();
		snprintf(s->why, sizeof s->why, "interrupted by signal %d (%s) after epoch %d of %d; "
			 "rerun the unit to resume from its checkpoint", sig, strsignal(sig),
			 s->tr.epochs_run, e->training.epochs);
		s->status = UNIT_STATUS_INTERRUPTED;
		s->reason = s->why;
		write_result(s);
		printf("%s: %s\n", s->label, s->why);
		return end_unit(s, -1);
	}
	if (s->tr.status == TRAIN_DIVERGED) {
		s->status = UNIT_STATUS_DIVERGED;
		s->reason = "the training loss became NaN or Inf";
		int rc = write_result(s);
		printf("%s: diverged in epoch %d\n", s->label, s->tr.diverged_epoch);
		return end_unit(s, rc);
	}
	return 0;
}

/* The unit's threshold: the experiment's fixed one, or chosen by its policy
 * on the inner validation images. Non-finite scores end the unit. */
static int choose_threshold(struct unit_run_state *s)
{
	const struct experiment *e = s->e;
	const struct exp_model *m = s->m;
	const int *inner_val = s->inner_val;
	s->threshold = e->metrics.threshold;
	s->chosen_on = "fixed";
	if (unit_threshold_policy(e, m) != EXP_THR_FIXED) {
		int nv = s->n_inner_val;
		double *p = xmalloc(((size_t)nv + 1) * sizeof(double));
		int *l = xmalloc(((size_t)nv + 1) * sizeof(int));
		for (int i = 0; i < nv; i++)
			l[i] = s->labels[inner_val[i]];
		unit_score(s, inner_val, nv, p, NULL);
		if (nonfinite_scores(s, p, nv, "inner validation images")) {
			free(p);
			free(l);
			return end_unit(s, write_result(s));
		}
		struct metrics_input mi = { .label = l, .p = p, .n = nv };
		struct metrics_threshold policy = {
			.policy = (enum metrics_threshold_policy)unit_threshold_policy(e, m),
			.fixed = e->metrics.threshold,
			.positive = s->positive,
			.beta = e->metrics.beta,
			.quantile = e->metrics.quantile,
			.recall_target = e->metrics.recall_target,
		};
		s->threshold = metrics_choose_threshold(&mi, &policy);
		s->chosen_on = "inner_val";
		free(p);
		free(l);
	}
	return 0;
}

/* Score the test fold and compute its metrics. Non-finite scores end the
 * unit. */
static int score_test(struct unit_run_state *s)
{
	int *l = xmalloc(((size_t)s->n_test + 1) * sizeof(int));
	const char **defect = xmalloc(((size_t)s->n_test + 1) * sizeof(char *));
	s->p = xmalloc(((size_t)s->n_test + 1) * sizeof(double));
	for (int i = 0; i < s->n_test; i++) {
		l[i] = s->labels[s->test[i]];
		defect[i] = s->d.items[s->test[i]].defect;
	}
	s->pixel_auroc = s->pro = s->map_scale = NAN;
	if (s->masks && pixel_scores(s) < 0) {
		free(l);
		free(defect);
		return fail(s, "cannot write the anomaly maps");
	}
	if (!s->masks)
		unit_score(s, s->test, s->n_test, s->p, NULL);
	if (nonfinite_scores(s, s->p, s->n_test, "held-out images")) {
		free(l);
		free(defect);
		return end_unit(s, write_result(s));
	}
	struct metrics_input mi = { .label = l, .p = s->p, .defect = defect, .n = s->n_test };
	int rc = metrics_compute(&mi, s->threshold, s->positive, s->e->metrics.beta, &s->met);
	if (rc == 0 && s->sp.one_class)
		metrics_mark_score(&s->met);
	free(l);
	free(defect);
	if (rc < 0)
		return fail(s, "cannot compute the metrics");
	s->have_metrics = 1;
	return 0;
}

/* Write a knn unit's ok result: it keeps no weights. */
static int finish_knn(struct unit_run_state *s)
{
	s->status = UNIT_STATUS_OK;
	s->reason = NULL;
	int rc = write_result(s);
	if (rc == 0)
		printf("%s: ok, threshold %.3g, accuracy %.3f, recall %.3f, f2 %.3f (fit %.2f s)\n",
		       s->label, s->threshold, s->met.accuracy, s->met.recall, s->met.fbeta,
		       s->fit_seconds);
	return end_unit(s, rc);
}

/* Save the trained weights and write the ok result. */
static int finish_ok(struct unit_run_state *s)
{
	if (s->knn)
		return finish_knn(s);
	if (net_save_weights(s->net, s->weights_path) < 0)
		return fail(s, "cannot save the trained weights");
	s->status = UNIT_STATUS_OK;
	s->reason = NULL;
	int rc = write_result(s);
	if (rc == 0)
		printf("%s: ok, epoch %d chosen, threshold %.3g, accuracy %.3f, recall %.3f, "
		       "f2 %.3f (%.1f s, %.1f img/s)\n",
		       s->label, s->tr.chosen_epoch, s->threshold, s->met.accuracy, s->met.recall,
		       s->met.fbeta, s->tr.train_seconds, s->tr.images_per_second);
	return end_unit(s, rc);
}

static int run(struct unit_run_state *s)
{
	const struct experiment *e = s->e;
	const struct exp_model *m = s->m;
	s->positive = e->metrics.positive == EXP_POS_ANOMALOUS;
	s->sp = (struct score_spec){ exp_model_one_class(m), (enum anomaly_pool)m->score_pool,
				     m->score_k };
	/* Each step runs when the ones before it went on; the first to end the
	 * unit (failed, diverged, interrupted or ok) stops the chain. */
	(void)(split_data(s) || write_cfg(s) || build_net(s) || train_unit(s) ||
	       choose_threshold(s) || score_test(s) || finish_ok(s));
	/* The unit is complete: the checkpoint and best-epoch weights have done
	 * their job (final.weights holds the chosen epoch). */
	if (s->rc == 0) {
		unlink(s->ckpt_path);
		unlink(s->best_path);
	}
	return s->rc;
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
	snprintf(s.label, sizeof s.label, "%s r%d-f%d", model, repeat, fold);
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
			inputs_hash(e, &e->models[m], i / e->cv.k, i % e->cv.k, cfg_sha, cc.data_key,
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
