/* experiment.h: an experiment file (JSON), read and validated.
 *
 * experiment_load() checks every key and type and reports the first problem
 * with its JSON path, e.g.
 *   error: experiments/cable.json: .cv.k: expected an integer from 2 to 1000, got "five"
 * Every field below has a default (the settings table in experiment.c,
 * shown in docs/experiments.md), so a minimal file names only what differs. Relative paths in the file are resolved
 * against the current directory (the project root when run through make). */
#ifndef DARKFOLD_EXPERIMENT_H
#define DARKFOLD_EXPERIMENT_H

#include <stdint.h>

enum exp_optimizer { EXP_OPT_CFG = 0, EXP_OPT_SGD, EXP_OPT_ADAM };
/* How training balances the classes (train.h says how each maps onto
 * Darknet). */
enum exp_imbalance { EXP_IMB_NONE = 0, EXP_IMB_OVERSAMPLE, EXP_IMB_WEIGHTED };
enum exp_threshold { EXP_THR_FIXED = 0, EXP_THR_TUNED, EXP_THR_NORMAL_QUANTILE, EXP_THR_RECALL_TARGET };
enum exp_positive { EXP_POS_ANOMALOUS = 0, EXP_POS_NORMAL };
/* The precision of training's matrix products (accel.h, accel_set_precision). */
enum exp_precision { EXP_PREC_FP32 = 0, EXP_PREC_BF16 };
/* supervised: a classifier ending in a 2-way [softmax], trained on both
 * classes; one_class: a reconstruction network (output shape = input shape,
 * [cost] last) trained on normal images only, scored by its error map;
 * knn: the k-nearest-neighbour baseline (knn.h), a one-class model with no
 * cfg and no training. */
enum exp_kind { EXP_KIND_SUPERVISED = 0, EXP_KIND_ONE_CLASS, EXP_KIND_KNN };

struct exp_model {
	char *name;       /* key in "models"; [A-Za-z0-9_.-]+ */
	char *cfg;        /* path to the .cfg; NULL for a knn model */
	char *weights;    /* optional pretrained .weights, or NULL */
	int weights_upto; /* load layers [0, weights_upto); -1: all */
	enum exp_kind kind; /* default supervised */
	int score_pool;   /* one_class: enum anomaly_pool (anomaly.h), default max_local */
	int score_k;      /* one_class: window side of max_local, default 4 */
	int epochs;       /* 0: training.epochs; else this model's own */
	int neighbours;   /* knn: k, default 1 */
	int downsample;   /* knn: feature downsampling factor, default 1 */
};

/* 1 when m is scored by an anomaly map (one_class and knn models). */
int exp_model_one_class(const struct exp_model *m);

struct experiment {
	char *path;      /* the file it was read from */
	char sha256[65]; /* hash of the file's bytes */
	char *name;      /* results go to <results_dir>/<name>/ */
	char *results_dir; /* default "results" */

	struct {
		char *root;     /* MVTec AD root (holds <category>/) */
		char *category; /* default "cable" */
		char **normal;  /* folders relative to <root>/<category>, default {"train/good"} */
		int n_normal;
		char **anomalous; /* default {"test/ *"} (without the space): every test/<defect> but good */
		int n_anomalous;
		int width, height, channels; /* network input, default 64x64x3 */
		int synthetic;     /* 1: fall back to the synthetic set when root is absent */
		char *synth_dir;   /* where the synthetic set is generated, default "data/synth" */
		uint64_t synth_seed;
		int synth_size;    /* PNG side length, default 256 */
		double synth_difficulty; /* default 1.0 */
		double synth_rotation;   /* degrees, default SYNTH_DEFAULT_ROTATION */
		char *cache_dir;   /* default "<results_dir>/cache" */
	} dataset;

	struct exp_model *models;
	int n_models;

	struct {
		int k;        /* folds, default 5 */
		int repeats;  /* default 1 */
		uint64_t seed;
		int stratify; /* default 1 */
		double inner_fraction; /* share of the training folds held out as inner validation, default 0.2 */
	} cv;

	struct exp_training {
		int epochs;
		int batch;             /* 0: keep the cfg's */
		double learning_rate;  /* <= 0: keep the cfg's */
		double momentum;       /* < 0: keep the cfg's */
		double decay;          /* < 0: keep the cfg's */
		enum exp_optimizer optimizer;
		int augment_flip, augment_rot90; /* 0/1 */
		double augment_jitter;           /* brightness/contrast amplitude, 0 = off */
		enum exp_imbalance imbalance;
		int early_stopping; /* 0/1 */
		int patience;       /* epochs without improvement */
		char *lr_policy;    /* NULL: keep the cfg's; else "constant", "steps" or "poly" */
		double lr_power;    /* for poly */
		int *lr_steps;      /* epochs at which the rate is multiplied by lr_scale */
		int n_lr_steps;
		double lr_scale;
		int threads;        /* BLAS threads inside a unit, default 1 */
		enum exp_precision precision; /* default fp32 */
	} training;

	struct {
		enum exp_positive positive;
		double beta;      /* default 2 */
		enum exp_threshold threshold_policy;
		double threshold; /* fixed threshold, default 0.5 */
		double quantile;      /* normal_quantile: q in (0, 1), default 0.95 */
		double recall_target; /* recall_target: in (0, 1], default 0.95 */
		char *primary;    /* metric that decides the verdict, default "auroc" */
		double cost_fp, cost_fn; /* cost of a good part rejected / a defective part passed, default 1 */
		double alpha;     /* significance level, default 0.05 */
		int bootstrap;    /* bootstrap resamples, default 2000 */
		int pixel;        /* 1: pixel AUROC and PRO of one-class models (needs masks) */
	} metrics;
};

/* Read, validate and fill defaults. On error prints one line and returns -1
 * with *out zeroed. Release with experiment_release(). Whether this CPU can
 * train with the settings is not checked here (a study is planned, reported
 * and drawn on any machine), but before units run (preflight_check). */
int experiment_load(const char *path, struct experiment *out);
struct blas_cpu;
/* 0 if a CPU with the features *cpu describes can run e's settings, else
 * -1 with an error naming e's file and the setting's JSON path
 * (training.precision "bf16" needs AVX512_BF16). */
int experiment_check_cpu(const struct experiment *e, const struct blas_cpu *cpu);
void experiment_release(struct experiment *e);

/* Index of the model called name, or -1. */
int experiment_model(const struct experiment *e, const char *name);

/* Name of a threshold policy ("fixed", "tuned", "normal_quantile",
 * "recall_target"); static string. */
const char *experiment_threshold_name(enum exp_threshold t);
/* Names of an optimizer ("cfg", "sgd", "adam") and of an imbalance
 * treatment ("none", "oversample", "weighted"); static strings, NULL for a
 * value out of range. */
const char *experiment_optimizer_name(enum exp_optimizer o);
const char *experiment_imbalance_name(enum exp_imbalance i);

/* <results_dir>/<name>, new string. */
char *experiment_results_path(const struct experiment *e);

/* The settings that go into a unit's inputs hash (unit.c), in three groups
 * written at their place in it: the data and folds (dataset, cv), the
 * training and threshold settings, and those only a one-class model uses. */
enum exp_hash_group { EXP_HASH_DATA = 1, EXP_HASH_TRAINING, EXP_HASH_ONE_CLASS };

struct jw;
/* Write group g's settings of e as members "key": value of the open JSON
 * object in w, in table order, each under the last part of its path. */
void experiment_hash_write(struct jw *w, const struct experiment *e, enum exp_hash_group g);

/* The settings table, as docs/experiments.md shows it: the count of rows,
 * row i's JSON path without the leading '.' ("training.augment.flip"), and
 * its markdown table row (a new string; NULL for a key parsed by its own
 * code, such as "models"). */
int experiment_settings_count(void);
const char *experiment_setting_path(int i);
char *experiment_setting_doc(int i);

#endif
