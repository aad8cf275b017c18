/* test_experiment.c: experiment files: defaults, every key, and one-line
 * errors that name the file and the JSON path of the problem. */
#include "experiment.h"

#include "anomaly.h"
#include "blas.h"
#include "error.h"
#include "fsutil.h"
#include "helpers.h"
#include "json.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* Each test runs in a fresh directory holding cfg/a.cfg and cfg/b.cfg
 * (experiment_load only checks that a model's cfg exists). */
struct fixture {
	char *dir;
	char *old_cwd;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	f->old_cwd = getcwd(NULL, 0);
	f->dir = test_tmpdir();
	if (chdir(f->dir) != 0)
		return -1;
	test_write_file("cfg/b.cfg", "[net]\n", 6);
	test_write_file("cfg/a.cfg", "[net]\n", 6);
	unsetenv("MVTEC_ROOT");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (chdir(f->old_cwd) != 0)
		return -1;
	test_rm_rf(f->dir);
	free(f->dir);
	free(f->old_cwd);
	free(f);
	unsetenv("MVTEC_ROOT");
	return 0;
}

static void write_text(const char *path, const char *text)
{
	test_write_file(path, text, strlen(text));
}

/* Load path and return everything written to stderr (caller frees). */
static char *load_capture(const char *path, struct experiment *e, int *rc)
{
	test_stderr_begin();
	*rc = experiment_load(path, e);
	return test_stderr_end();
}

static void experiment_should_fill_defaults_for_a_minimal_file(void **state)
{
	(void)state;
	/* sha256 of these exact bytes, from sha256sum(1) */
	write_text("mini.json", "{\"models\": {\"a\": \"cfg/a.cfg\"}}\n");
	struct experiment e;
	int rc;
	char *err = load_capture("mini.json", &e, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(e.sha256, "6ee6dde7804b2a9ef3eaf462806dbe237f0b90b6851041038b760fe465f43758");
	assert_string_equal(e.path, "mini.json");
	assert_string_equal(e.name, "mini");
	assert_string_equal(e.results_dir, "results");
	/* data/mvtec is absent here: the synthetic set is used, and said so */
	assert_string_equal(e.dataset.root, "data/synth");
	assert_non_null(strstr(err, "note: mini.json: dataset 'data/mvtec/cable' not found; "
				    "using the synthetic cable set in 'data/synth'"));
	assert_string_equal(e.dataset.category, "cable");
	assert_int_equal(e.dataset.n_normal, 1);
	assert_string_equal(e.dataset.normal[0], "train/good");
	assert_int_equal(e.dataset.n_anomalous, 1);
	assert_string_equal(e.dataset.anomalous[0], "test/*");
	assert_int_equal(e.dataset.width, 64);
	assert_int_equal(e.dataset.height, 64);
	assert_int_equal(e.dataset.channels, 3);
	assert_int_equal(e.dataset.synthetic, 1);
	assert_string_equal(e.dataset.synth_dir, "data/synth");
	assert_true(e.dataset.synth_seed == 1);
	assert_int_equal(e.dataset.synth_size, 256);
	assert_true(e.dataset.synth_difficulty == 1.0);
	assert_true(e.dataset.synth_rotation == 10.0);
	assert_string_equal(e.dataset.cache_dir, "results/cache");
	assert_int_equal(e.n_models, 1);
	assert_string_equal(e.models[0].name, "a");
	assert_string_equal(e.models[0].cfg, "cfg/a.cfg");
	assert_null(e.models[0].weights);
	assert_int_equal(e.models[0].weights_upto, -1);
	assert_int_equal(e.cv.k, 5);
	assert_int_equal(e.cv.repeats, 1);
	assert_true(e.cv.seed == 1);
	assert_int_equal(e.cv.stratify, 1);
	assert_true(e.cv.inner_fraction == 0.2);
	assert_int_equal(e.training.epochs, 10);
	assert_int_equal(e.training.batch, 0);
	assert_true(e.training.learning_rate == 0);
	assert_true(e.training.momentum == -1);
	assert_true(e.training.decay == -1);
	assert_int_equal(e.training.optimizer, EXP_OPT_CFG);
	assert_int_equal(e.training.augment_flip, 0);
	assert_int_equal(e.training.augment_rot90, 0);
	assert_true(e.training.augment_jitter == 0);
	assert_int_equal(e.training.imbalance, EXP_IMB_NONE);
	assert_int_equal(e.training.early_stopping, 0);
	assert_int_equal(e.training.patience, 5);
	assert_null(e.training.lr_policy);
	assert_true(e.training.lr_power == 4);
	assert_int_equal(e.training.n_lr_steps, 0);
	assert_true(e.training.lr_scale == 0.1);
	assert_int_equal(e.training.threads, 1);
	assert_int_equal(e.training.precision, EXP_PREC_FP32);
	assert_int_equal(e.metrics.positive, EXP_POS_ANOMALOUS);
	assert_true(e.metrics.beta == 2);
	assert_int_equal(e.metrics.threshold_policy, EXP_THR_TUNED);
	assert_true(e.metrics.threshold == 0.5);
	assert_true(e.metrics.quantile == 0.95);
	assert_true(e.metrics.recall_target == 0.95);
	assert_string_equal(e.metrics.primary, "auroc");
	assert_true(e.metrics.cost_fp == 1 && e.metrics.cost_fn == 1);
	assert_true(e.metrics.alpha == 0.05);
	assert_int_equal(e.metrics.bootstrap, 2000);
	char *rp = experiment_results_path(&e);
	assert_string_equal(rp, "results/mini");
	free(rp);
	free(err);
	experiment_release(&e);
}

static void experiment_should_read_every_key(void **state)
{
	(void)state;
	test_write_file("real/cable/train/good/000.png", "x", 1);
	write_text("full.json",
		   "{\n"
		   "  \"name\": \"study-1\",\n"
		   "  \"results_dir\": \"out\",\n"
		   "  \"dataset\": {\"root\": \"real\", \"category\": \"cable\",\n"
		   "    \"normal\": [\"train/good\", \"test/good\"], \"anomalous\": [\"test/cut\"],\n"
		   "    \"width\": 32, \"height\": 16, \"channels\": 1, \"synthetic\": false,\n"
		   "    \"synth_dir\": \"s\", \"synth_seed\": 9007199254740991, \"synth_size\": 64,\n"
		   "    \"synth_difficulty\": 0.25, \"synth_rotation\": 180, \"cache_dir\": \"cc\"},\n"
		   "  \"models\": {\"zeta\": {\"cfg\": \"cfg/b.cfg\", \"weights\": \"cfg/a.cfg\", \"weights_upto\": 3},\n"
		   "             \"alpha\": \"cfg/a.cfg\"},\n"
		   "  \"cv\": {\"k\": 3, \"repeats\": 2, \"seed\": 42, \"stratify\": false, \"inner_fraction\": 0.5},\n"
		   "  \"training\": {\"epochs\": 7, \"batch\": 8, \"learning_rate\": 0.01, \"momentum\": 0.9,\n"
		   "    \"decay\": 0.0005, \"optimizer\": \"adam\", \"augment\": {\"flip\": true, \"rot90\": true,\n"
		   "    \"jitter\": 0.1}, \"imbalance\": \"weighted\", \"early_stopping\": true, \"patience\": 3,\n"
		   "    \"lr_policy\": \"steps\", \"lr_power\": 2, \"lr_steps\": [3, 5], \"lr_scale\": 0.5,\n"
		   "    \"threads\": 2},\n"
		   "  \"metrics\": {\"positive\": \"normal\", \"beta\": 0.5,\n"
		   "    \"threshold_policy\": \"recall_target\", \"quantile\": 0.9, \"recall_target\": 1,\n"
		   "    \"primary\": \"f2\", \"cost_fp\": 0, \"cost_fn\": 12.5,\n"
		   "    \"threshold\": 0.3, \"alpha\": 0.01, \"bootstrap\": 0}\n"
		   "}\n");
	struct experiment e;
	int rc;
	char *err = load_capture("full.json", &e, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(err, ""); /* the root exists: no fallback note */
	assert_string_equal(e.name, "study-1");
	assert_string_equal(e.results_dir, "out");
	assert_string_equal(e.dataset.root, "real");
	assert_int_equal(e.dataset.n_normal, 2);
	assert_string_equal(e.dataset.normal[1], "test/good");
	assert_int_equal(e.dataset.n_anomalous, 1);
	assert_string_equal(e.dataset.anomalous[0], "test/cut");
	assert_int_equal(e.dataset.width, 32);
	assert_int_equal(e.dataset.height, 16);
	assert_int_equal(e.dataset.channels, 1);
	assert_int_equal(e.dataset.synthetic, 0);
	assert_string_equal(e.dataset.synth_dir, "s");
	assert_true(e.dataset.synth_seed == 9007199254740991ULL);
	assert_int_equal(e.dataset.synth_size, 64);
	assert_true(e.dataset.synth_difficulty == 0.25);
	assert_true(e.dataset.synth_rotation == 180.0);
	assert_string_equal(e.dataset.cache_dir, "cc");
	/* models keep the file's order */
	assert_int_equal(e.n_models, 2);
	assert_string_equal(e.models[0].name, "zeta");
	assert_string_equal(e.models[0].cfg, "cfg/b.cfg");
	assert_string_equal(e.models[0].weights, "cfg/a.cfg");
	assert_int_equal(e.models[0].weights_upto, 3);
	assert_string_equal(e.models[1].name, "alpha");
	assert_int_equal(experiment_model(&e, "alpha"), 1);
	assert_int_equal(experiment_model(&e, "zeta"), 0);
	assert_int_equal(experiment_model(&e, "beta"), -1);
	assert_int_equal(e.cv.k, 3);
	assert_int_equal(e.cv.repeats, 2);
	assert_true(e.cv.seed == 42);
	assert_int_equal(e.cv.stratify, 0);
	assert_true(e.cv.inner_fraction == 0.5);
	assert_int_equal(e.training.epochs, 7);
	assert_int_equal(e.training.batch, 8);
	assert_true(e.training.learning_rate == 0.01);
	assert_true(e.training.momentum == 0.9);
	assert_true(e.training.decay == 0.0005);
	assert_int_equal(e.training.optimizer, EXP_OPT_ADAM);
	assert_int_equal(e.training.augment_flip, 1);
	assert_int_equal(e.training.augment_rot90, 1);
	assert_true(e.training.augment_jitter == 0.1);
	assert_int_equal(e.training.imbalance, EXP_IMB_WEIGHTED);
	assert_int_equal(e.training.early_stopping, 1);
	assert_int_equal(e.training.patience, 3);
	assert_string_equal(e.training.lr_policy, "steps");
	assert_true(e.training.lr_power == 2);
	assert_int_equal(e.training.n_lr_steps, 2);
	assert_int_equal(e.training.lr_steps[0], 3);
	assert_int_equal(e.training.lr_steps[1], 5);
	assert_true(e.training.lr_scale == 0.5);
	assert_int_equal(e.training.threads, 2);
	assert_int_equal(e.metrics.positive, EXP_POS_NORMAL);
	assert_true(e.metrics.beta == 0.5);
	assert_int_equal(e.metrics.threshold_policy, EXP_THR_RECALL_TARGET);
	assert_true(e.metrics.quantile == 0.9);
	assert_true(e.metrics.recall_target == 1);
	assert_string_equal(e.metrics.primary, "f2");
	assert_true(e.metrics.cost_fp == 0 && e.metrics.cost_fn == 12.5);
	assert_true(e.metrics.threshold == 0.3);
	assert_true(e.metrics.alpha == 0.01);
	assert_int_equal(e.metrics.bootstrap, 0);
	char *rp = experiment_results_path(&e);
	assert_string_equal(rp, "out/study-1");
	free(rp);
	free(err);
	experiment_release(&e);
}

static void experiment_should_discover_models_when_none_are_listed(void **state)
{
	(void)state;
	test_write_file("cfg/not a name.cfg", "x", 1);
	test_write_file("cfg/notes.txt", "x", 1);
	write_text("auto.json", "{\"dataset\": {\"synthetic\": false}}");
	struct experiment e;
	int rc;
	char *err = load_capture("auto.json", &e, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(err, "");
	/* sorted by name, whatever the directory order */
	assert_int_equal(e.n_models, 2);
	assert_string_equal(e.models[0].name, "a");
	assert_string_equal(e.models[0].cfg, "cfg/a.cfg");
	assert_string_equal(e.models[1].name, "b");
	assert_string_equal(e.models[1].cfg, "cfg/b.cfg");
	/* synthetic off: the absent root is kept for the dataset scan to report */
	assert_string_equal(e.dataset.root, "data/mvtec");
	free(err);
	experiment_release(&e);
}

static void experiment_should_read_a_knn_model(void **state)
{
	(void)state;
	write_text("knn.json", "{\"models\": {\"a\": \"cfg/a.cfg\", "
			       "\"k1\": {\"kind\": \"knn\"}, "
			       "\"k2\": {\"kind\": \"knn\", \"neighbours\": 3, \"downsample\": 4, "
			       "\"score\": \"mean\", \"score_k\": 2}}}");
	struct experiment e;
	int rc;
	char *err = load_capture("knn.json", &e, &rc);
	assert_int_equal(rc, 0);
	assert_null(strstr(err, "error"));
	assert_int_equal(e.n_models, 3);
	const struct exp_model *a = &e.models[0], *k1 = &e.models[1], *k2 = &e.models[2];
	assert_int_equal(a->kind, EXP_KIND_SUPERVISED);
	assert_false(exp_model_one_class(a));
	/* the defaults: one neighbour, the pixels themselves, max_local 4x4 */
	assert_int_equal(k1->kind, EXP_KIND_KNN);
	assert_true(exp_model_one_class(k1));
	assert_null(k1->cfg);
	assert_null(k1->weights);
	assert_int_equal(k1->neighbours, 1);
	assert_int_equal(k1->downsample, 1);
	assert_int_equal(k1->score_pool, ANOMALY_POOL_MAX_LOCAL);
	assert_int_equal(k1->score_k, 4);
	assert_int_equal(k2->neighbours, 3);
	assert_int_equal(k2->downsample, 4);
	assert_int_equal(k2->score_pool, ANOMALY_POOL_MEAN);
	assert_int_equal(k2->score_k, 2);
	free(err);
	experiment_release(&e);
}

static void experiment_should_take_the_root_from_mvtec_root(void **state)
{
	(void)state;
	test_write_file("elsewhere/cable/train/good/000.png", "x", 1);
	write_text("env.json", "{\"models\": {\"a\": \"cfg/a.cfg\"}}");
	setenv("MVTEC_ROOT", "elsewhere", 1);
	struct experiment e;
	int rc;
	char *err = load_capture("env.json", &e, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(err, "");
	assert_string_equal(e.dataset.root, "elsewhere");
	free(err);
	experiment_release(&e);

	/* an explicit root that is not there is an error, never a fallback */
	setenv("MVTEC_ROOT", "nowhere", 1);
	err = load_capture("env.json", &e, &rc);
	assert_int_equal(rc, -1);
	assert_string_equal(err, "error: MVTEC_ROOT='nowhere' has no folder 'cable'\n");
	assert_null(e.path);
	free(err);
}

struct bad_case {
	const char *text;
	const char *message; /* after "error: bad.json: " */
};

/* Loading c->text fails with exactly c->message, and leaves *out zeroed. */
static void expect_error(const struct bad_case *c)
{
	write_text("bad.json", c->text);
	struct experiment e;
	int rc;
	char *err = load_capture("bad.json", &e, &rc);
	char *want = xasprintf("error: bad.json: %s\n", c->message);
	if (strcmp(err, want) != 0)
		print_error("case: %s\n", c->text);
	assert_string_equal(err, want);
	assert_int_equal(rc, -1);
	/* *out is zeroed: releasing it is harmless */
	assert_null(e.path);
	assert_int_equal(e.n_models, 0);
	experiment_release(&e);
	free(want);
	free(err);
}

static void experiment_should_name_the_json_path_of_each_error(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
		{ "[1]", ".: expected an object, got an array" },
		{ "{\"nmae\": \"x\"}",
		  ".nmae: unknown key (known keys here: name, results_dir, dataset, models, cv, "
		  "training, metrics)" },
		{ "{\"name\": \"a\", \"name\": \"b\"}", ".: duplicate key \"name\"" },
		{ "{\"name\": \"a/b\"}",
		  ".name: expected a name of letters, digits, '_', '.' and '-' (at most 64, not "
		  "starting with '.'), got \"a/b\"" },
		{ "{\"name\": 3}", ".name: expected a non-empty string, got 3" },
		{ "{\"results_dir\": \"\"}", ".results_dir: expected a non-empty string, got \"\"" },
		{ "{\"cv\": {\"k\": \"five\"}}",
		  ".cv.k: expected an integer from 2 to 1000, got \"five\"" },
		{ "{\"cv\": {\"k\": 1}}",
		  ".cv.k: expected an integer from 2 to 1000, got 1" },
		{ "{\"cv\": {\"k\": 2.5}}",
		  ".cv.k: expected an integer from 2 to 1000, got 2.5" },
		{ "{\"cv\": {\"repeats\": 0}}",
		  ".cv.repeats: expected an integer from 1 to 1000, got 0" },
		{ "{\"cv\": {\"seed\": -1}}",
		  ".cv.seed: expected an integer from 0 to 9007199254740991, got -1" },
		{ "{\"cv\": {\"stratify\": \"yes\"}}", ".cv.stratify: expected true or false, got \"yes\"" },
		{ "{\"cv\": {\"inner_fraction\": 0}}",
		  ".cv.inner_fraction: expected a number in (0, 0.5], got 0" },
		{ "{\"cv\": {\"folds\": 5}}",
		  ".cv.folds: unknown key (known keys here: k, repeats, seed, stratify, "
		  "inner_fraction)" },
		{ "{\"cv\": 5}", ".cv: expected an object, got 5" },
		{ "{\"dataset\": {\"width\": 4}}",
		  ".dataset.width: expected an integer from 8 to 2048, got 4" },
		{ "{\"dataset\": {\"height\": 4096}}",
		  ".dataset.height: expected an integer from 8 to 2048, got 4096" },
		{ "{\"dataset\": {\"channels\": 2}}", ".dataset.channels: expected 1 or 3, got 2" },
		{ "{\"dataset\": {\"category\": \"a/b\"}}",
		  ".dataset.category: expected a folder name without '/', got \"a/b\"" },
		{ "{\"dataset\": {\"normal\": []}}",
		  ".dataset.normal: expected a non-empty array of strings, got an array" },
		{ "{\"dataset\": {\"anomalous\": [\"test/cut\", 7]}}",
		  ".dataset.anomalous[1]: expected a non-empty string, got 7" },
		{ "{\"dataset\": {\"synthetic\": 1}}", ".dataset.synthetic: expected true or false, got 1" },
		{ "{\"dataset\": {\"synth_difficulty\": 0.2}}",
		  ".dataset.synth_difficulty: expected a number from 0.25 to 4, got 0.2" },
		{ "{\"dataset\": {\"synth_rotation\": -5}}",
		  ".dataset.synth_rotation: expected a number from 0 to 180, got -5" },
		{ "{\"dataset\": {\"synth_rotation\": \"ten\"}}",
		  ".dataset.synth_rotation: expected a number from 0 to 180, got \"ten\"" },
		{ "{\"dataset\": {\"synth_size\": 31}}",
		  ".dataset.synth_size: expected an integer from 32 to 4096, got 31" },
		{ "{\"models\": {}}", ".models: expected at least one model, got an object" },
		{ "{\"models\": [\"cfg/a.cfg\"]}", ".models: expected an object, got an array" },
		{ "{\"models\": {\"a\": 1}}", ".models.a: expected a cfg path or an object, got 1" },
		{ "{\"models\": {\"a\": {\"weights\": \"w\"}}}", ".models.a: missing key \"cfg\"" },
		{ "{\"models\": {\"a\": {\"cfg\": \"cfg/a.cfg\", \"wieghts\": \"w\"}}}",
		  ".models.a.wieghts: unknown key (known keys here: cfg, weights, weights_upto, kind, score, score_k, epochs, "
		  "neighbours, downsample)" },
		{ "{\"models\": {\"a\": {\"cfg\": \"cfg/a.cfg\", \"kind\": \"oneclass\"}}}",
		  ".models.a.kind: expected one of \"supervised\", \"one_class\", or \"knn\", got "
		  "\"oneclass\"" },
		{ "{\"models\": {\"k\": {\"kind\": \"knn\", \"cfg\": \"cfg/a.cfg\"}}}",
		  ".models.k.cfg: a knn model has no network and no training: its model is its normal "
		  "training images" },
		{ "{\"models\": {\"k\": {\"kind\": \"knn\", \"epochs\": 3}}}",
		  ".models.k.epochs: a knn model has no network and no training: its model is its "
		  "normal training images" },
		{ "{\"models\": {\"k\": {\"kind\": \"knn\", \"neighbours\": 0}}}",
		  ".models.k.neighbours: expected an integer >= 1, got 0" },
		{ "{\"models\": {\"k\": {\"kind\": \"knn\", \"downsample\": 0}}}",
		  ".models.k.downsample: expected an integer >= 1, got 0" },
		{ "{\"models\": {\"k\": {\"kind\": \"knn\", \"downsample\": 3}}}",
		  ".models.k.downsample: 3 does not divide the input size 64x64 (dataset.width x "
		  "dataset.height)" },
		{ "{\"dataset\": {\"height\": 48}, \"models\": {\"k\": {\"kind\": \"knn\", "
		  "\"downsample\": 32}}}",
		  ".models.k.downsample: 32 does not divide the input size 64x48 (dataset.width x "
		  "dataset.height)" },
		{ "{\"models\": {\"a\": {\"cfg\": \"cfg/a.cfg\", \"kind\": \"one_class\", "
		  "\"neighbours\": 2}}}",
		  ".models.a.neighbours: only a knn model has this key (add \"kind\": \"knn\")" },
		{ "{\"models\": {\"a\": {\"cfg\": \"cfg/a.cfg\", \"downsample\": 2}}}",
		  ".models.a.downsample: only a knn model has this key (add \"kind\": \"knn\")" },
		{ "{\"models\": {\"a\": {\"cfg\": \"cfg/a.cfg\", \"kind\": \"one_class\", \"score_k\": 0}}}",
		  ".models.a.score_k: expected an integer from 1 to 1024, got 0" },
		{ "{\"models\": {\"a\": {\"cfg\": \"cfg/a.cfg\", \"score_k\": 3}}}",
		  ".models.a.score_k: only a one_class model has a score pooling (add \"kind\": \"one_class\")" },
		{ "{\"models\": {\"a\": {\"cfg\": \"cfg/a.cfg\", \"epochs\": 0}}}",
		  ".models.a.epochs: expected an integer >= 1, got 0" },
		{ "{\"metrics\": {\"pixel\": \"yes\"}}", ".metrics.pixel: expected true or false, got \"yes\"" },
		{ "{\"models\": {\"a\": {\"cfg\": \"cfg/a.cfg\", \"weights_upto\": -2}}}",
		  ".models.a.weights_upto: expected an integer >= -1, got -2" },
		{ "{\"models\": {\"a\": {\"cfg\": \"cfg/a.cfg\", \"weights\": \"none.weights\"}}}",
		  ".models.a.weights: no such file 'none.weights'" },
		{ "{\"models\": {\"a\": \"cfg/missing.cfg\"}}", ".models.a: no such cfg file 'cfg/missing.cfg'" },
		{ "{\"models\": {\"a b\": \"cfg/a.cfg\"}}",
		  ".models.a b: model name \"a b\" is not a name of letters, digits, '_', '.' and '-' "
		  "(at most 64, not starting with '.')" },
		{ "{\"models\": {\"figures\": \"cfg/a.cfg\"}}",
		  ".models.figures: model name \"figures\" is reserved for the report's figures" },
		{ "{\"training\": {\"epochs\": 0}}",
		  ".training.epochs: expected an integer from 1 to 100000, got 0" },
		{ "{\"training\": {\"batch\": -1}}",
		  ".training.batch: expected an integer from 0 to 4096 (0: the cfg's), got -1" },
		{ "{\"training\": {\"learning_rate\": \"fast\"}}",
		  ".training.learning_rate: expected a number from 0 to 10 (0: the cfg's), got "
		  "\"fast\"" },
		{ "{\"training\": {\"momentum\": -0.5}}",
		  ".training.momentum: expected a number in [0, 1), or -1 (the cfg's), got -0.5" },
		{ "{\"training\": {\"decay\": 1}}",
		  ".training.decay: expected a number in [0, 1), or -1 (the cfg's), got 1" },
		{ "{\"training\": {\"optimizer\": \"rmsprop\"}}",
		  ".training.optimizer: expected one of \"cfg\", \"sgd\", or \"adam\", got \"rmsprop\"" },
		{ "{\"training\": {\"imbalance\": true}}",
		  ".training.imbalance: expected one of \"none\", \"oversample\", or \"weighted\", got true" },
		{ "{\"training\": {\"augment\": {\"flip\": true, \"mirror\": true}}}",
		  ".training.augment.mirror: unknown key (known keys here: flip, rot90, jitter)" },
		{ "{\"training\": {\"augment\": {\"jitter\": 2}}}",
		  ".training.augment.jitter: expected a number from 0 to 1, got 2" },
		{ "{\"training\": {\"early_stopping\": null}}",
		  ".training.early_stopping: expected true or false, got null" },
		{ "{\"training\": {\"patience\": 0}}",
		  ".training.patience: expected an integer from 1 to 100000, got 0" },
		{ "{\"training\": {\"lr_policy\": \"cosine\"}}",
		  ".training.lr_policy: expected one of \"cfg\", \"constant\", \"steps\", or \"poly\", got "
		  "\"cosine\"" },
		{ "{\"training\": {\"lr_policy\": \"steps\"}}",
		  ".training.lr_policy: \"steps\" needs a non-empty .training.lr_steps" },
		{ "{\"training\": {\"lr_steps\": [5, 3]}}",
		  ".training.lr_steps[1]: expected an epoch > 5 (steps ascending), got 3" },
		{ "{\"training\": {\"lr_steps\": 5}}", ".training.lr_steps: expected an array of epochs, got 5" },
		{ "{\"training\": {\"lr_scale\": 0}}",
		  ".training.lr_scale: expected a number in (0, 1000], got 0" },
		{ "{\"training\": {\"threads\": 0}}",
		  ".training.threads: expected an integer from 1 to 256, got 0" },
		{ "{\"metrics\": {\"positive\": \"defective\"}}",
		  ".metrics.positive: expected one of \"anomalous\" or \"normal\", got \"defective\"" },
		{ "{\"metrics\": {\"beta\": 0}}",
		  ".metrics.beta: expected a number in (0, 100], got 0" },
		{ "{\"metrics\": {\"threshold_policy\": \"best\"}}",
		  ".metrics.threshold_policy: expected one of \"fixed\", \"tuned\", \"normal_quantile\", "
		  "or \"recall_target\", got \"best\"" },
		{ "{\"metrics\": {\"primary\": \"auc\"}}",
		  ".metrics.primary: expected a metric name: \"loss\", \"accuracy\", "
		  "\"balanced_accuracy\", \"precision\", \"recall\", \"specificity\", \"f1\", "
		  "\"f2\", \"recall_other_positive\", \"f2_other_positive\", \"auroc\", or "
		  "\"auprc\", got \"auc\"" },
		{ "{\"metrics\": {\"primary\": 3}}",
		  ".metrics.primary: expected a metric name: \"loss\", \"accuracy\", "
		  "\"balanced_accuracy\", \"precision\", \"recall\", \"specificity\", \"f1\", "
		  "\"f2\", \"recall_other_positive\", \"f2_other_positive\", \"auroc\", or "
		  "\"auprc\", got 3" },
		{ "{\"metrics\": {\"quantile\": 0}}",
		  ".metrics.quantile: expected a number in (0, 1), got 0" },
		{ "{\"metrics\": {\"quantile\": 1}}",
		  ".metrics.quantile: expected a number in (0, 1), got 1" },
		{ "{\"metrics\": {\"recall_target\": 0}}",
		  ".metrics.recall_target: expected a number in (0, 1], got 0" },
		{ "{\"metrics\": {\"recall_target\": 1.5}}",
		  ".metrics.recall_target: expected a number in (0, 1], got 1.5" },
		{ "{\"metrics\": {\"cost_fp\": -1}}",
		  ".metrics.cost_fp: expected a number from 0 to 1000000000000, got -1" },
		{ "{\"metrics\": {\"cost_fn\": -0.5}}",
		  ".metrics.cost_fn: expected a number from 0 to 1000000000000, got -0.5" },
		{ "{\"metrics\": {\"threshold\": 1}}",
		  ".metrics.threshold: expected a number in (0, 1), got 1" },
		{ "{\"metrics\": {\"alpha\": 0.9}}",
		  ".metrics.alpha: expected a number in (0, 0.5], got 0.9" },
		{ "{\"metrics\": {\"bootstrap\": -5}}",
		  ".metrics.bootstrap: expected an integer from 0 to 1000000, got -5" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expect_error(&cases[i]);
}

/* Closed range ends and the values that keep the cfg's load; open ends
 * are refused with the range the table states. */
static void experiment_should_apply_the_range_ends_of_the_table(void **state)
{
	(void)state;
	static const char *const good[] = {
		"{\"cv\": {\"k\": 1000, \"inner_fraction\": 0.5}}",
		"{\"training\": {\"batch\": 4096, \"momentum\": -1, \"decay\": 0}}",
		"{\"training\": {\"batch\": 0, \"learning_rate\": 10, \"threads\": 256}}",
		"{\"metrics\": {\"alpha\": 0.5, \"recall_target\": 1, \"bootstrap\": 1000000}}",
		"{\"dataset\": {\"channels\": 1, \"synth_difficulty\": 0.25, \"synth_rotation\": 180}}",
		"{\"cv\": {\"seed\": 9007199254740991}}",
	};
	static const struct bad_case bad[] = {
		{ "{\"cv\": {\"k\": 1001}}", ".cv.k: expected an integer from 2 to 1000, got 1001" },
		{ "{\"training\": {\"momentum\": 1}}",
		  ".training.momentum: expected a number in [0, 1), or -1 (the cfg's), got 1" },
		{ "{\"training\": {\"batch\": 4097}}",
		  ".training.batch: expected an integer from 0 to 4096 (0: the cfg's), got 4097" },
		{ "{\"metrics\": {\"threshold\": 0}}",
		  ".metrics.threshold: expected a number in (0, 1), got 0" },
		{ "{\"dataset\": {\"channels\": 4}}", ".dataset.channels: expected 1 or 3, got 4" },
		{ "{\"cv\": {\"seed\": 9007199254740992}}",
		  ".cv.seed: expected an integer from 0 to 9007199254740991, got 9007199254740992" },
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		write_text("ok.json", good[i]);
		struct experiment e;
		int rc;
		char *err = load_capture("ok.json", &e, &rc);
		assert_null(strstr(err, "error"));
		assert_int_equal(rc, 0);
		free(err);
		experiment_release(&e);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_error(&bad[i]);
}

static void experiment_should_report_bad_json_with_its_position(void **state)
{
	(void)state;
	write_text("syntax.json", "{\n  \"cv\": {\"k\": tru}\n}\n");
	struct experiment e;
	int rc;
	char *err = load_capture("syntax.json", &e, &rc);
	assert_int_equal(rc, -1);
	assert_string_equal(err, "error: 'syntax.json': line 2, column 15: invalid JSON\n");
	assert_null(e.path);
	free(err);
}

static void experiment_should_report_a_missing_file(void **state)
{
	(void)state;
	struct experiment e;
	int rc;
	char *err = load_capture("experiments/none.json", &e, &rc);
	assert_int_equal(rc, -1);
	assert_string_equal(err, "error: cannot open 'experiments/none.json': No such file or directory\n");
	assert_null(e.path);
	free(err);
}

static void experiment_should_fall_back_only_for_the_cable_category(void **state)
{
	(void)state;
	write_text("screw.json", "{\"dataset\": {\"category\": \"screw\"}}");
	struct experiment e;
	int rc;
	char *err = load_capture("screw.json", &e, &rc);
	assert_int_equal(rc, -1);
	assert_string_equal(err, "error: screw.json: dataset 'data/mvtec/screw' not found, and the "
				 "synthetic set only has the category 'cable'\n");
	free(err);
}

static void experiment_should_not_discover_without_cfg_folder(void **state)
{
	(void)state;
	test_rm_rf("cfg");
	write_text("nocfg.json", "{}");
	struct experiment e;
	int rc;
	char *err = load_capture("nocfg.json", &e, &rc);
	assert_int_equal(rc, -1);
	assert_string_equal(err, "error: nocfg.json: no \"models\" given and no folder 'cfg' to "
				 "discover them in\n");
	free(err);
}

/* The training settings' part of the unit inputs hash of e, as JSON text
 * (caller frees). */
static char *training_hash_text(const struct experiment *e)
{
	struct jw w;
	jw_init(&w);
	jw_obj_begin(&w);
	experiment_hash_write(&w, e, EXP_HASH_TRAINING);
	jw_obj_end(&w);
	char *text = xasprintf("%.*s", (int)w.len, w.buf);
	jw_release(&w);
	return text;
}

/* A precision other than "fp32" or "bf16" is refused; "bf16" is read on
 * any CPU (a bf16 study is planned and reported anywhere), and the check a
 * unit makes before training refuses it with one line naming the file and
 * the JSON path where the CPU lacks AVX512_BF16; the inputs hash holds the
 * precision only when it is not the default, so fp32 units keep their
 * hashes. */
static void experiment_should_read_precision_and_check_the_cpu(void **state)
{
	(void)state;
	static const struct bad_case bad[] = {
		{ "{\"training\": {\"precision\": \"fp16\"}}",
		  ".training.precision: expected one of \"fp32\" or \"bf16\", got \"fp16\"" },
		{ "{\"training\": {\"precision\": 16}}",
		  ".training.precision: expected one of \"fp32\" or \"bf16\", got 16" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_error(&bad[i]);
	write_text("bf.json", "{\"models\": {\"a\": \"cfg/a.cfg\"}, \"dataset\": {\"root\": "
			      "\"real\"}, \"training\": {\"precision\": \"bf16\"}}\n");
	test_write_file("real/cable/train/good/000.png", "x", 1);
	struct blas_cpu cpu;
	struct experiment e;
	int rc;
	char *err = load_capture("bf.json", &e, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(err, "");
	assert_int_equal(e.training.precision, EXP_PREC_BF16);
	char *hashed = training_hash_text(&e);
	assert_non_null(strstr(hashed, "\"precision\""));
	assert_non_null(strstr(hashed, "\"bf16\""));
	free(hashed);
	free(err);
	experiment_release(&e);

	/* the check itself, for both kinds of CPU */
	struct experiment x = { .path = "x.json" };
	x.training.precision = EXP_PREC_BF16;
	memset(&cpu, 0, sizeof cpu);
	test_stderr_begin();
	assert_int_equal(experiment_check_cpu(&x, &cpu), -1);
	err = test_stderr_end();
	assert_string_equal(err, "error: x.json: .training.precision: \"bf16\" needs a CPU with "
				 "AVX512_BF16\n");
	free(err);
	cpu.avx512_bf16 = 1;
	assert_int_equal(experiment_check_cpu(&x, &cpu), 0);
	x.training.precision = EXP_PREC_FP32;
	memset(&cpu, 0, sizeof cpu);
	assert_int_equal(experiment_check_cpu(&x, &cpu), 0);
	char *text = training_hash_text(&x);
	assert_null(strstr(text, "precision"));
	assert_non_null(strstr(text, "\"threads\":"));
	free(text);
}

/* The section of docs/experiments.md a "## " heading opens: "" for "Top
 * level", "cv" for "`cv`"; NULL for a heading without a settings table. */
static const char *doc_section(const char *line, char *buf, size_t n)
{
	if (!strncmp(line, "## Top level", 12))
		return "";
	if (strncmp(line, "## `", 4) != 0)
		return NULL;
	snprintf(buf, n, "%.*s", (int)strcspn(line + 4, "`"), line + 4);
	return buf;
}

/* The index of the setting at path, or -1. */
static int setting_index(const char *path)
{
	for (int i = 0; i < experiment_settings_count(); i++)
		if (!strcmp(experiment_setting_path(i), path))
			return i;
	return -1;
}

/* 1 when path is an object that holds settings ("training.augment"). */
static int is_section(const char *path)
{
	size_t len = strlen(path);
	for (int i = 0; i < experiment_settings_count(); i++)
		if (!strncmp(experiment_setting_path(i), path, len) &&
		    experiment_setting_path(i)[len] == '.')
			return 1;
	return 0;
}

/* One settings row of the docs: a setting's row must be the one the table
 * makes; any other key must be an object of settings. */
static void check_doc_row(const char *section, const char *line, int *seen)
{
	char path[128];
	int klen = (int)strcspn(line + 3, "`");
	snprintf(path, sizeof path, "%s%s%.*s", section, section[0] ? "." : "", klen, line + 3);
	int i = setting_index(path);
	if (i < 0) {
		if (!is_section(path))
			fail_msg("docs/experiments.md documents .%s, which is no setting", path);
		return;
	}
	seen[i] = 1;
	char *want = experiment_setting_doc(i);
	if (want && strcmp(line, want) != 0)
		fail_msg("docs/experiments.md, .%s:\n  docs: %s\n  code: %s", path, line, want);
	free(want);
}

static void experiment_settings_should_match_the_docs_tables(void **state)
{
	(void)state;
	const char *src = getenv("SRCDIR");
	assert_non_null(src);
	char *path = fs_join(src, "docs/experiments.md"), *text;
	size_t len;
	assert_int_equal(fs_read_file(path, &text, &len), 0);
	int n = experiment_settings_count();
	assert_true(n > 40);
	int *seen = xcalloc((size_t)n, sizeof *seen);
	const char *section = NULL;
	char buf[64];
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strncmp(line, "## ", 3))
			section = doc_section(line, buf, sizeof buf);
		else if (section && !strncmp(line, "| `", 3))
			check_doc_row(section, line, seen);
	}
	for (int i = 0; i < n; i++) {
		char *row = experiment_setting_doc(i);
		if (!seen[i])
			fail_msg("setting .%s is missing from docs/experiments.md; its row:\n%s",
				 experiment_setting_path(i), row ? row : "(any)");
		free(row);
	}
	free(seen);
	free(text);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(experiment_should_fill_defaults_for_a_minimal_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(experiment_should_read_every_key, setup, teardown),
		cmocka_unit_test_setup_teardown(experiment_should_discover_models_when_none_are_listed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(experiment_should_read_a_knn_model, setup, teardown),
		cmocka_unit_test_setup_teardown(experiment_should_take_the_root_from_mvtec_root, setup,
						teardown),
		cmocka_unit_test_setup_teardown(experiment_should_name_the_json_path_of_each_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(experiment_should_apply_the_range_ends_of_the_table, setup,
						teardown),
		cmocka_unit_test_setup_teardown(experiment_should_report_bad_json_with_its_position, setup,
						teardown),
		cmocka_unit_test_setup_teardown(experiment_should_report_a_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(experiment_should_fall_back_only_for_the_cable_category,
						setup, teardown),
		cmocka_unit_test_setup_teardown(experiment_should_not_discover_without_cfg_folder, setup,
						teardown),
		cmocka_unit_test_setup_teardown(experiment_should_read_precision_and_check_the_cpu,
						setup, teardown),
		cmocka_unit_test(experiment_settings_should_match_the_docs_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
