/* experiment.c: the experiment file, read through json.h and validated
 * key by key against the settings table below, with defaults for
 * everything it leaves out. */
#include "experiment.h"

#include "anomaly.h"
#include "blas.h"
#include "error.h"
#include "fsutil.h"
#include "json.h"
#include "metrics.h"
#include "sha256.h"
#include "strutil.h"
#include "synth.h"

#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Where we are in the document, for messages: ".cv.k", ".dataset.normal[1]". */
struct ctx {
	const char *file;
	char path[512];
};

static size_t ctx_push_key(struct ctx *c, const char *key)
{
	size_t old = strlen(c->path);
	snprintf(c->path + old, sizeof c->path - old, ".%s", key);
	return old;
}

static size_t ctx_push_index(struct ctx *c, int i)
{
	size_t old = strlen(c->path);
	snprintf(c->path + old, sizeof c->path - old, "[%d]", i);
	return old;
}

static void ctx_pop(struct ctx *c, size_t old)
{
	c->path[old] = '\0';
}

static const char *ctx_where(const struct ctx *c)
{
	return c->path[0] ? c->path : ".";
}

/* A short rendering of a value for "got ..." in messages. */
static void describe(const struct json *v, char *buf, size_t n)
{
	switch (json_type(v)) {
	case JSON_STRING: {
		const char *s = json_string(v);
		if (strlen(s) > 60)
			snprintf(buf, n, "\"%.57s...\"", s);
		else
			snprintf(buf, n, "\"%s\"", s);
		break;
	}
	case JSON_NUMBER: /* the shortest form that reads back exactly */
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(buf, n, "%.*g", prec, json_number(v));
			if (strtod(buf, NULL) == json_number(v))
				break;
		}
		break;
	case JSON_BOOL:
		snprintf(buf, n, "%s", json_bool(v) ? "true" : "false");
		break;
	case JSON_NULL:
		snprintf(buf, n, "null");
		break;
	default:
		snprintf(buf, n, "%s", json_type_name(json_type(v)));
		break;
	}
}

static int fail_expected(const struct ctx *c, const struct json *v, const char *what)
{
	char got[96];
	describe(v, got, sizeof got);
	return error("%s: %s: expected %s, got %s", c->file, ctx_where(c), what, got);
}

/* An object whose keys are all in `known` (NULL-terminated) and appear once. */
static int check_object(const struct ctx *c, const struct json *obj, const char *const *known)
{
	if (json_type(obj) != JSON_OBJECT)
		return fail_expected(c, obj, "an object");
	int n = json_size(obj);
	for (int i = 0; i < n; i++) {
		const char *key = json_key(json_at(obj, i));
		for (int j = 0; j < i; j++)
			if (!strcmp(key, json_key(json_at(obj, j))))
				return error("%s: %s: duplicate key \"%s\"", c->file, ctx_where(c), key);
		if (!known)
			continue;
		int ok = 0;
		for (int j = 0; known[j]; j++)
			if (!strcmp(key, known[j]))
				ok = 1;
		if (ok)
			continue;
		char list[512] = "";
		size_t len = 0;
		for (int j = 0; known[j] && len < sizeof list; j++)
			len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", j ? ", " : "", known[j]);
		struct ctx k = *c;
		ctx_push_key(&k, key);
		return error("%s: %s: unknown key (known keys here: %s)", c->file, ctx_where(&k), list);
	}
	return 0;
}

/* Each getter leaves *out untouched when the key is absent (the default). */

static int get_int(struct ctx *c, const struct json *obj, const char *key, long long lo,
		   long long hi, const char *what, long long *out)
{
	const struct json *v = json_get(obj, key);
	if (!v)
		return 0;
	size_t old = ctx_push_key(c, key);
	double d = json_number(v);
	int rc = 0;
	if (json_type(v) != JSON_NUMBER || d != floor(d) || d < (double)lo || d > (double)hi)
		rc = fail_expected(c, v, what);
	else
		*out = (long long)d;
	ctx_pop(c, old);
	return rc;
}

static int get_i(struct ctx *c, const struct json *obj, const char *key, int lo, int hi,
		 const char *what, int *out)
{
	long long v = *out;
	if (get_int(c, obj, key, lo, hi, what, &v) != 0)
		return -1;
	*out = (int)v;
	return 0;
}

/* A non-empty string; *out is replaced by a new copy. */
static int get_str(struct ctx *c, const struct json *obj, const char *key, char **out)
{
	const struct json *v = json_get(obj, key);
	if (!v)
		return 0;
	size_t old = ctx_push_key(c, key);
	int rc = 0;
	if (json_type(v) != JSON_STRING || !json_string(v)[0]) {
		rc = fail_expected(c, v, "a non-empty string");
	} else {
		free(*out);
		*out = xstrdup(json_string(v));
	}
	ctx_pop(c, old);
	return rc;
}

/* One of the words in `words` (NULL-terminated); *out gets its index. */
static int get_enum(struct ctx *c, const struct json *obj, const char *key,
		    const char *const *words, int *out)
{
	const struct json *v = json_get(obj, key);
	if (!v)
		return 0;
	size_t old = ctx_push_key(c, key);
	int rc = -1;
	const char *s = json_string(v);
	for (int i = 0; s && words[i]; i++) {
		if (!strcmp(s, words[i])) {
			*out = i;
			rc = 0;
		}
	}
	if (rc != 0) {
		char what[256] = "one of";
		size_t len = strlen(what);
		int n = 0;
		while (words[n])
			n++;
		for (int i = 0; i < n && len < sizeof what; i++)
			len += (size_t)snprintf(what + len, sizeof what - len, "%s \"%s\"",
						i == 0 ? "" : i < n - 1 ? "," : n == 2 ? " or" : ", or",
						words[i]);
		fail_expected(c, v, what);
	}
	ctx_pop(c, old);
	return rc;
}

static int valid_name(const char *s)
{
	if (!s[0] || s[0] == '.' || strlen(s) > 64)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '.' || *p == '-'))
			return 0;
	return 1;
}

static const char name_rule[] =
	"a name of letters, digits, '_', '.' and '-' (at most 64, not starting with '.')";

/* ---- the settings table ----
 *
 * One row per setting: where it is in the file and in struct experiment,
 * its type, range and default, whether it goes into the unit inputs hash
 * (unit.c), and its line in docs/experiments.md. Defaults, validation, the
 * "expected ..." of error messages, the allowed keys of each object, the
 * hash and the docs tables all come from these rows. "models" (an object of
 * named models) is the one key parsed by its own code (parse_models); the
 * checks that tie two settings together are in check_settings(). */

enum set_type {
	SET_INT,    /* int in [min, max], or one of words (digits) */
	SET_SEED,   /* uint64_t in [min, max] */
	SET_NUM,    /* finite double in [min, max], ends open by flag */
	SET_BOOL,   /* int 0/1 */
	SET_STR,    /* char *, non-empty */
	SET_ENUM,   /* int (an enum): the index of one of words */
	SET_WORD,   /* char *: one of words; NULL for the first (keep the cfg's) */
	SET_STRS,   /* char ** and its int count at count_off: non-empty strings */
	SET_EPOCHS, /* int * and its int count at count_off: ascending epochs */
	SET_CUSTOM, /* parsed by its own code */
};

enum set_flag {
	SF_MIN_OPEN = 1 << 0, /* SET_NUM: min itself is not allowed */
	SF_MAX_OPEN = 1 << 1, /* SET_NUM: max itself is not allowed */
	SF_KEEP = 1 << 2,     /* the value keep (inside the range or not) keeps the cfg's */
	SF_FOLDER = 1 << 3,   /* SET_STR: a folder name, without '/' */
	SF_METRIC = 1 << 4,   /* SET_STR: a metric name (metrics.h) */
	SF_PATH = 1 << 5,     /* SET_STR: a path (docs only) */
	SF_HASH_INDEX = 1 << 6, /* SET_ENUM: the hash holds the index, not the word */
};

struct setting {
	const char *path;   /* JSON path without the leading '.' */
	enum set_type type;
	size_t off;         /* into struct experiment */
	double min, max;    /* SET_INT, SET_SEED, SET_NUM */
	const char *def;    /* the default as JSON text; NULL: set by code (def_doc says how) */
	enum exp_hash_group hash; /* 0: not in the unit inputs hash */
	const char *help;   /* the docs' "meaning" */
	unsigned flags;     /* enum set_flag */
	const char *const *words; /* SET_ENUM, SET_WORD; SET_INT: the only values */
	const char *unit;   /* docs: the unit before the range, e.g. "pixels" */
	double keep;        /* SF_KEEP */
	size_t count_off;   /* SET_STRS, SET_EPOCHS */
	const char *def_doc; /* docs default when def is NULL */
	int (*hash_if)(const struct experiment *); /* NULL: always hashed */
};

#define STR_(x) #x
#define STR(x) STR_(x)
#define AT(field) offsetof(struct experiment, field)
#define MAX_EXACT 9007199254740991.0 /* JSON numbers are doubles: 2^53 - 1 */

static const char *const channel_words[] = { "1", "3", NULL };
static const char *const optimizers[] = { "cfg", "sgd", "adam", NULL };
static const char *const imbalances[] = { "none", "oversample", "weighted", NULL };
static const char *const lr_policies[] = { "cfg", "constant", "steps", "poly", NULL };
static const char *const positives[] = { "anomalous", "normal", NULL };
static const char *const threshold_names[] = { "fixed", "tuned", "normal_quantile",
					      "recall_target", NULL };
static const char *const precisions[] = { "fp32", "bf16", NULL };

/* Only a precision other than the default goes into the unit inputs hash:
 * the hashes (and so the unit files) of fp32 units stay as they were. */
static int uses_bf16(const struct experiment *e)
{
	return e->training.precision != EXP_PREC_FP32;
}

static int uses_quantile(const struct experiment *e)
{
	return e->metrics.threshold_policy == EXP_THR_NORMAL_QUANTILE;
}

static int uses_recall_target(const struct experiment *e)
{
	return e->metrics.threshold_policy == EXP_THR_RECALL_TARGET;
}

static const struct setting settings[] = {
	{ .path = "name", .type = SET_STR, .off = AT(name),
	  .def_doc = "the file name without `.json`",
	  .help = "the experiment's name; results go to `<results_dir>/<name>/`. Letters, digits, "
		  "`_`, `.`, `-`; at most 64 characters; not starting with `.`" },
	{ .path = "results_dir", .type = SET_STR, .off = AT(results_dir), .def = "\"results\"",
	  .flags = SF_PATH, .help = "where every experiment's results folder is created" },

	{ .path = "dataset.root", .type = SET_STR, .off = AT(dataset.root), .def = "\"data/mvtec\"",
	  .flags = SF_PATH, .help = "the MVTec AD root, the folder that holds `<category>/`" },
	{ .path = "dataset.category", .type = SET_STR, .off = AT(dataset.category),
	  .def = "\"cable\"", .hash = EXP_HASH_DATA, .flags = SF_FOLDER,
	  .help = "the MVTec category" },
	{ .path = "dataset.width", .type = SET_INT, .off = AT(dataset.width), .min = 8, .max = 2048,
	  .def = "64", .hash = EXP_HASH_DATA, .unit = "pixels",
	  .help = "the network input's width; every image is resized to it once and cached" },
	{ .path = "dataset.height", .type = SET_INT, .off = AT(dataset.height), .min = 8,
	  .max = 2048, .def = "64", .hash = EXP_HASH_DATA, .unit = "pixels",
	  .help = "the network input's height" },
	{ .path = "dataset.channels", .type = SET_INT, .off = AT(dataset.channels), .min = 1,
	  .max = 3, .def = "3", .hash = EXP_HASH_DATA, .words = channel_words,
	  .help = "1 converts to grey" },
	{ .path = "dataset.normal", .type = SET_STRS, .off = AT(dataset.normal),
	  .count_off = AT(dataset.n_normal), .def = "[\"train/good\"]", .hash = EXP_HASH_DATA,
	  .unit = "folders under `<root>/<category>`", .help = "images labelled normal" },
	{ .path = "dataset.anomalous", .type = SET_STRS, .off = AT(dataset.anomalous),
	  .count_off = AT(dataset.n_anomalous), .def = "[\"test/*\"]", .hash = EXP_HASH_DATA,
	  .unit = "folders under `<root>/<category>`",
	  .help = "images labelled anomalous; `test/*` means every `test/<defect>` folder except "
		  "`test/good`" },
	{ .path = "dataset.synthetic", .type = SET_BOOL, .off = AT(dataset.synthetic),
	  .def = "true",
	  .help = "when `<root>/<category>` does not exist, use the synthetic cable set instead "
		  "(below)" },
	{ .path = "dataset.synth_dir", .type = SET_STR, .off = AT(dataset.synth_dir),
	  .def = "\"data/synth\"", .flags = SF_PATH,
	  .help = "where the synthetic set lives (it holds `<category>/`)" },
	{ .path = "dataset.synth_seed", .type = SET_SEED, .off = AT(dataset.synth_seed), .min = 0,
	  .max = MAX_EXACT, .def = "1", .help = "seed of the synthetic set" },
	{ .path = "dataset.synth_size", .type = SET_INT, .off = AT(dataset.synth_size),
	  .min = SYNTH_MIN_SIZE, .max = SYNTH_MAX_SIZE, .def = STR(SYNTH_DEFAULT_SIZE),
	  .unit = "pixels", .help = "side length of the synthetic PNGs" },
	{ .path = "dataset.synth_difficulty", .type = SET_NUM, .off = AT(dataset.synth_difficulty),
	  .min = SYNTH_MIN_DIFFICULTY, .max = SYNTH_MAX_DIFFICULTY, .def = "1.0",
	  .help = "defect sizes are divided by it and their contrast multiplied by min(1, "
		  "1/difficulty): 2 is harder, 0.5 easier" },
	{ .path = "dataset.synth_rotation", .type = SET_NUM, .off = AT(dataset.synth_rotation),
	  .min = 0, .max = SYNTH_MAX_ROTATION, .def = STR(SYNTH_DEFAULT_ROTATION), .unit = "degrees",
	  .help = "each synthetic cable is turned from upright by a uniform random angle within "
		  "this many degrees either way; 180 allows any orientation" },
	{ .path = "dataset.cache_dir", .type = SET_STR, .off = AT(dataset.cache_dir),
	  .flags = SF_PATH, .def_doc = "`\"<results_dir>/cache\"`",
	  .help = "where decoded, resized images are cached" },

	{ .path = "models", .type = SET_CUSTOM },

	{ .path = "cv.k", .type = SET_INT, .off = AT(cv.k), .min = 2, .max = 1000, .def = "5",
	  .hash = EXP_HASH_DATA,
	  .help = "folds; with `stratify` it may not exceed the smaller class" },
	{ .path = "cv.repeats", .type = SET_INT, .off = AT(cv.repeats), .min = 1, .max = 1000,
	  .def = "1", .hash = EXP_HASH_DATA,
	  .help = "repetitions of the k-fold split, each with another shuffle" },
	{ .path = "cv.seed", .type = SET_SEED, .off = AT(cv.seed), .min = 0, .max = MAX_EXACT,
	  .def = "1", .hash = EXP_HASH_DATA,
	  .help = "seeds the fold assignment, the inner split and every unit's seed" },
	{ .path = "cv.stratify", .type = SET_BOOL, .off = AT(cv.stratify), .def = "true",
	  .hash = EXP_HASH_DATA, .help = "keep the normal/anomalous ratio in every fold" },
	{ .path = "cv.inner_fraction", .type = SET_NUM, .off = AT(cv.inner_fraction), .min = 0,
	  .max = 0.5, .flags = SF_MIN_OPEN, .def = "0.2", .hash = EXP_HASH_DATA, .unit = "share",
	  .help = "share of a unit's training folds held out as the inner validation set (learning "
		  "curve, early stopping, tuned threshold); the test fold is never used for any of "
		  "these" },

	{ .path = "training.epochs", .type = SET_INT, .off = AT(training.epochs), .min = 1,
	  .max = 100000, .def = "10", .hash = EXP_HASH_TRAINING, .unit = "epochs",
	  .help = "passes over the unit's inner training set" },
	{ .path = "training.batch", .type = SET_INT, .off = AT(training.batch), .min = 0,
	  .max = 4096, .flags = SF_KEEP, .keep = 0, .def = "0", .hash = EXP_HASH_TRAINING,
	  .unit = "images", .help = "batch size; `0` keeps the cfg's `batch`" },
	{ .path = "training.learning_rate", .type = SET_NUM, .off = AT(training.learning_rate),
	  .min = 0, .max = 10, .flags = SF_KEEP, .keep = 0, .def = "0", .hash = EXP_HASH_TRAINING,
	  .help = "`0` keeps the cfg's `learning_rate`" },
	{ .path = "training.momentum", .type = SET_NUM, .off = AT(training.momentum), .min = 0,
	  .max = 1, .flags = SF_MAX_OPEN | SF_KEEP, .keep = -1, .def = "-1",
	  .hash = EXP_HASH_TRAINING, .help = "`-1` keeps the cfg's" },
	{ .path = "training.decay", .type = SET_NUM, .off = AT(training.decay), .min = 0, .max = 1,
	  .flags = SF_MAX_OPEN | SF_KEEP, .keep = -1, .def = "-1", .hash = EXP_HASH_TRAINING,
	  .help = "weight decay; `-1` keeps the cfg's" },
	{ .path = "training.optimizer", .type = SET_ENUM, .off = AT(training.optimizer),
	  .words = optimizers, .def = "\"cfg\"", .hash = EXP_HASH_TRAINING,
	  .help = "`cfg` keeps what the cfg says (`adam=1` or SGD with momentum)" },
	{ .path = "training.augment.flip", .type = SET_BOOL, .off = AT(training.augment_flip),
	  .def = "false", .hash = EXP_HASH_TRAINING,
	  .help = "training images are flipped horizontally and vertically, each with probability "
		  "1/2" },
	{ .path = "training.augment.rot90", .type = SET_BOOL, .off = AT(training.augment_rot90),
	  .def = "false", .hash = EXP_HASH_TRAINING,
	  .help = "training images are rotated by a random multiple of 90 degrees (square inputs "
		  "only)" },
	{ .path = "training.augment.jitter", .type = SET_NUM, .off = AT(training.augment_jitter),
	  .min = 0, .max = 1, .def = "0", .hash = EXP_HASH_TRAINING, .unit = "amplitude",
	  .help = "brightness b from [-jitter, jitter] and contrast c from [1 - jitter, 1 + "
		  "jitter]: x' = clamp((x - 0.5) c + 0.5 + b); `0` is off" },
	{ .path = "training.imbalance", .type = SET_ENUM, .off = AT(training.imbalance),
	  .words = imbalances, .def = "\"none\"", .hash = EXP_HASH_TRAINING,
	  .help = "`oversample` repeats minority-class training images (whole copies, then a "
		  "random remainder) until both classes have the same count each epoch; "
		  "`weighted` weighs class c's loss by n / (2 n_c)" },
	{ .path = "training.early_stopping", .type = SET_BOOL, .off = AT(training.early_stopping),
	  .def = "false", .hash = EXP_HASH_TRAINING,
	  .help = "stop after `patience` epochs without a lower inner-validation loss; the unit "
		  "keeps the weights of its best epoch" },
	{ .path = "training.patience", .type = SET_INT, .off = AT(training.patience), .min = 1,
	  .max = 100000, .def = "5", .hash = EXP_HASH_TRAINING, .unit = "epochs",
	  .help = "see `early_stopping`" },
	{ .path = "training.lr_policy", .type = SET_WORD, .off = AT(training.lr_policy),
	  .words = lr_policies, .def = "\"cfg\"", .hash = EXP_HASH_TRAINING,
	  .help = "learning-rate schedule; `cfg` keeps the cfg's" },
	{ .path = "training.lr_power", .type = SET_NUM, .off = AT(training.lr_power), .min = 0,
	  .max = 100, .flags = SF_MIN_OPEN, .def = "4", .hash = EXP_HASH_TRAINING,
	  .help = "exponent of `poly`" },
	{ .path = "training.lr_scale", .type = SET_NUM, .off = AT(training.lr_scale), .min = 0,
	  .max = 1000, .flags = SF_MIN_OPEN, .def = "0.1", .hash = EXP_HASH_TRAINING,
	  .unit = "factor", .help = "see `lr_steps`" },
	{ .path = "training.lr_steps", .type = SET_EPOCHS, .off = AT(training.lr_steps),
	  .count_off = AT(training.n_lr_steps), .max = 1000000, .def = "[]",
	  .hash = EXP_HASH_TRAINING, .unit = "epochs",
	  .help = "epochs at which `steps` multiplies the rate by `lr_scale`; required by "
		  "`steps`" },
	{ .path = "training.threads", .type = SET_INT, .off = AT(training.threads), .min = 1,
	  .max = 256, .def = "1", .hash = EXP_HASH_TRAINING,
	  .help = "BLAS threads inside one unit. Keep 1 and run units in parallel instead (two "
		  "single-threaded units use both cores of a 2-core machine better than one unit "
		  "with two threads)" },
	{ .path = "training.precision", .type = SET_ENUM, .off = AT(training.precision),
	  .words = precisions, .def = "\"fp32\"", .hash = EXP_HASH_TRAINING,
	  .hash_if = uses_bf16,
	  .help = "the training steps' matrix products (convolutional and connected layers, "
		  "forward and backward): `bf16` rounds their inputs to bfloat16 and sums in "
		  "FP32 (`vdpbf16ps`; needs a CPU with AVX512_BF16); weights, updates, batch norm, "
		  "activations, losses and every inference pass stay FP32. See "
		  "docs/performance.md, \"Reduced precision (BF16)\"" },

	{ .path = "metrics.positive", .type = SET_ENUM, .off = AT(metrics.positive),
	  .words = positives, .def = "\"anomalous\"", .hash = EXP_HASH_TRAINING,
	  .flags = SF_HASH_INDEX,
	  .help = "the positive class for precision, recall, F1, F-beta and AUPRC" },
	{ .path = "metrics.beta", .type = SET_NUM, .off = AT(metrics.beta), .min = 0, .max = 100,
	  .flags = SF_MIN_OPEN, .def = "2", .hash = EXP_HASH_TRAINING,
	  .help = "β of F-beta (`f2` in the results); 2 weighs recall over precision" },
	{ .path = "metrics.primary", .type = SET_STR, .off = AT(metrics.primary), .def = "\"auroc\"",
	  .flags = SF_METRIC,
	  .help = "the metric that decides the verdict (docs/report.md, \"The verdict\"): the "
		  "headline, the best model, the bold cells and the significance markers. Declare "
		  "it before the study runs; the other metrics are reported and never crown a "
		  "model. AUROC does not depend on a threshold" },
	{ .path = "metrics.threshold_policy", .type = SET_ENUM, .off = AT(metrics.threshold_policy),
	  .words = threshold_names, .def = "\"tuned\"", .hash = EXP_HASH_TRAINING,
	  .flags = SF_HASH_INDEX,
	  .help = "how each unit's threshold is chosen on its inner validation split (below)" },
	{ .path = "metrics.threshold", .type = SET_NUM, .off = AT(metrics.threshold), .min = 0,
	  .max = 1, .flags = SF_MIN_OPEN | SF_MAX_OPEN, .def = "0.5", .hash = EXP_HASH_TRAINING,
	  .unit = "probability",
	  .help = "the `fixed` policy's threshold: an image is called anomalous when its score `>= "
		  "threshold`" },
	{ .path = "metrics.quantile", .type = SET_NUM, .off = AT(metrics.quantile), .min = 0,
	  .max = 1, .flags = SF_MIN_OPEN | SF_MAX_OPEN, .def = "0.95", .hash = EXP_HASH_TRAINING,
	  .hash_if = uses_quantile,
	  .help = "`normal_quantile`: at most 1 − `quantile` of the good parts rejected" },
	{ .path = "metrics.recall_target", .type = SET_NUM, .off = AT(metrics.recall_target),
	  .min = 0, .max = 1, .flags = SF_MIN_OPEN, .def = "0.95", .hash = EXP_HASH_TRAINING,
	  .hash_if = uses_recall_target,
	  .help = "`recall_target`: the anomalous recall to reach" },
	{ .path = "metrics.cost_fp", .type = SET_NUM, .off = AT(metrics.cost_fp), .min = 0,
	  .max = 1e12, .def = "1", .unit = "any currency",
	  .help = "cost of a good part rejected (report.md's operating points)" },
	{ .path = "metrics.cost_fn", .type = SET_NUM, .off = AT(metrics.cost_fn), .min = 0,
	  .max = 1e12, .def = "1", .unit = "same currency",
	  .help = "cost of a defective part passed" },
	{ .path = "metrics.alpha", .type = SET_NUM, .off = AT(metrics.alpha), .min = 0, .max = 0.5,
	  .flags = SF_MIN_OPEN, .def = "0.05",
	  .help = "significance level: confidence intervals are `1 - alpha`, tests are significant "
		  "below `alpha` after Holm correction" },
	{ .path = "metrics.bootstrap", .type = SET_INT, .off = AT(metrics.bootstrap), .min = 0,
	  .max = 1000000, .def = "2000", .unit = "resamples",
	  .help = "bootstrap resamples for the pooled intervals; `0` skips them" },
	{ .path = "metrics.pixel", .type = SET_BOOL, .off = AT(metrics.pixel), .def = "false",
	  .hash = EXP_HASH_ONE_CLASS,
	  .help = "one-class models also report pixel AUROC and PRO of their anomaly maps against "
		  "the ground-truth masks (below); supervised models have no maps and report "
		  "none" },
};

enum { N_SETTINGS = (int)(sizeof settings / sizeof settings[0]) };

/* The field of row s in e. */
static void *field(const struct setting *s, struct experiment *e)
{
	return (char *)e + s->off;
}

static const void *cfield(const struct setting *s, const struct experiment *e)
{
	return (const char *)e + s->off;
}

static int *count_field(const struct setting *s, struct experiment *e)
{
	return (int *)(void *)((char *)e + s->count_off);
}

/* The shortest text of x that reads back exactly. */
static void fmt_num(double x, char *buf, size_t n)
{
	snprintf(buf, n, "%.15g", x);
	for (int prec = 16; prec <= 17 && strtod(buf, NULL) != x; prec++)
		snprintf(buf, n, "%.*g", prec, x);
}

/* words joined as "a, b or c" (quoted: "\"a\", \"b\", or \"c\"", the
 * form of enum messages). */
static void join_words(const char *const *words, int quoted, char *buf, size_t n)
{
	int k = 0;
	while (words[k])
		k++;
	size_t len = 0;
	buf[0] = '\0';
	for (int i = 0; i < k && len < n; i++) {
		const char *sep = i == 0 ? "" : i < k - 1 ? ", " : quoted && k > 2 ? ", or " : " or ";
		len += (size_t)snprintf(buf + len, n - len, quoted ? "%s\"%s\"" : "%s%s", sep, words[i]);
	}
}

static const char *const *metric_words(void)
{
	static const char *words[METRICS_N + 1];
	for (int i = 0; i < METRICS_N; i++)
		words[i] = metrics_name(i);
	words[METRICS_N] = NULL;
	return words;
}

/* The allowed range of a numeric row: "8 to 2048", "(0, 0.5]", with the
 * value that keeps the cfg's when it lies outside: "[0, 1), or -1". */
static void range_text(const struct setting *s, char *buf, size_t n)
{
	char lo[32], hi[32], keep[32];
	fmt_num(s->min, lo, sizeof lo);
	fmt_num(s->max, hi, sizeof hi);
	fmt_num(s->keep, keep, sizeof keep);
	if (s->flags & (SF_MIN_OPEN | SF_MAX_OPEN))
		snprintf(buf, n, "%c%s, %s%c", s->flags & SF_MIN_OPEN ? '(' : '[', lo, hi,
			 s->flags & SF_MAX_OPEN ? ')' : ']');
	else
		snprintf(buf, n, "%s to %s", lo, hi);
	int outside = s->keep < s->min || s->keep > s->max;
	if ((s->flags & SF_KEEP) && outside) {
		size_t len = strlen(buf);
		snprintf(buf + len, n - len, ", or %s", keep);
	}
}

/* What a row accepts, for "expected ..." in messages. */
static void rule_text(const struct setting *s, char *buf, size_t n)
{
	char range[96], keep[32];
	switch (s->type) {
	case SET_INT:
	case SET_SEED:
	case SET_NUM:
		if (s->words) {
			join_words(s->words, 0, buf, n);
			return;
		}
		range_text(s, range, sizeof range);
		snprintf(buf, n, "%s %s%s", s->type == SET_NUM ? "a number" : "an integer",
			 strchr("[(", range[0]) ? "in " : "from ", range);
		if (s->flags & SF_KEEP) {
			size_t len = strlen(buf);
			fmt_num(s->keep, keep, sizeof keep);
			if (s->keep < s->min || s->keep > s->max)
				snprintf(buf + len, n - len, " (the cfg's)");
			else
				snprintf(buf + len, n - len, " (%s: the cfg's)", keep);
		}
		return;
	case SET_BOOL:
		snprintf(buf, n, "true or false");
		return;
	case SET_STR:
		if (s->flags & SF_METRIC) {
			char list[400];
			join_words(metric_words(), 1, list, sizeof list);
			snprintf(buf, n, "a metric name: %s", list);
		} else {
			snprintf(buf, n, s->flags & SF_FOLDER ? "a folder name without '/'"
							      : "a non-empty string");
		}
		return;
	case SET_ENUM:
	case SET_WORD: {
		char list[256];
		join_words(s->words, 1, list, sizeof list);
		snprintf(buf, n, "one of %s", list);
		return;
	}
	case SET_STRS:
		snprintf(buf, n, "a non-empty array of strings");
		return;
	case SET_EPOCHS:
	case SET_CUSTOM:
		snprintf(buf, n, "an array of epochs");
		return;
	}
}

/* A number of row s's type and range (or its keep value). */
static int num_ok(const struct setting *s, const struct json *v)
{
	double d = json_number(v);
	if (json_type(v) != JSON_NUMBER || !isfinite(d))
		return 0;
	if (s->type != SET_NUM && d != floor(d))
		return 0;
	if ((s->flags & SF_KEEP) && d == s->keep)
		return 1;
	if (s->words) {
		for (int i = 0; s->words[i]; i++)
			if (d == strtod(s->words[i], NULL))
				return 1;
		return 0;
	}
	return ((s->flags & SF_MIN_OPEN) ? d > s->min : d >= s->min) &&
	       ((s->flags & SF_MAX_OPEN) ? d < s->max : d <= s->max);
}

/* A non-empty string that row s accepts. */
static int str_ok(const struct setting *s, const struct json *v)
{
	const char *str = json_string(v);
	if (json_type(v) != JSON_STRING || !str[0])
		return 0;
	if ((s->flags & SF_FOLDER) && strchr(str, '/'))
		return 0;
	return !(s->flags & SF_METRIC) || metrics_id(str) >= 0;
}

/* The index of v among words, or -1. */
static int word_index(const char *const *words, const struct json *v)
{
	const char *str = json_string(v);
	for (int i = 0; str && words[i]; i++)
		if (!strcmp(str, words[i]))
			return i;
	return -1;
}

static void set_str_list(const struct setting *s, const struct json *v, struct experiment *e)
{
	char ***list = field(s, e);
	int *n = count_field(s, e);
	for (int i = 0; i < *n; i++)
		free((*list)[i]);
	free(*list);
	*n = json_size(v);
	*list = xcalloc((size_t)(*n ? *n : 1), sizeof **list);
	for (int i = 0; i < *n; i++)
		(*list)[i] = xstrdup(json_string(json_at(v, i)));
}

/* An array of non-empty strings; the index of the first bad element, -1
 * when the array itself is wrong (not an array or empty), or -2 when ok. */
static int strs_check(const struct json *v)
{
	if (json_type(v) != JSON_ARRAY || json_size(v) == 0)
		return -1;
	for (int i = 0; i < json_size(v); i++) {
		const struct json *str = json_at(v, i);
		if (json_type(str) != JSON_STRING || !json_string(str)[0])
			return i;
	}
	return -2;
}

/* Ascending epochs in [1, s->max]; the index of the first bad one, -1 when
 * v is not an array, -2 when ok. */
static int epochs_check(const struct setting *s, const struct json *v, int *prev)
{
	if (json_type(v) != JSON_ARRAY)
		return -1;
	*prev = 0;
	for (int i = 0; i < json_size(v); i++) {
		double d = json_number(json_at(v, i));
		if (json_type(json_at(v, i)) != JSON_NUMBER || d != floor(d) || d <= *prev ||
		    d > s->max)
			return i;
		*prev = (int)d;
	}
	return -2;
}

static void set_epochs(const struct setting *s, const struct json *v, struct experiment *e)
{
	int **list = field(s, e);
	int *n = count_field(s, e);
	free(*list);
	*n = json_size(v);
	*list = xcalloc((size_t)(*n ? *n : 1), sizeof **list);
	for (int i = 0; i < *n; i++)
		(*list)[i] = (int)json_number(json_at(v, i));
}

/* An array row: check v and store it; c is at the row's path. */
static int set_array(struct ctx *c, const struct setting *s, const struct json *v,
		     struct experiment *e)
{
	int prev = 0;
	int bad = s->type == SET_STRS ? strs_check(v) : epochs_check(s, v, &prev);
	char what[64];
	if (bad == -1) {
		rule_text(s, what, sizeof what);
		return fail_expected(c, v, what);
	}
	if (bad >= 0) {
		size_t old = ctx_push_index(c, bad);
		if (s->type == SET_STRS)
			snprintf(what, sizeof what, "a non-empty string");
		else
			snprintf(what, sizeof what, "an epoch > %d (steps ascending)", prev);
		fail_expected(c, json_at(v, bad), what);
		ctx_pop(c, old);
		return -1;
	}
	if (s->type == SET_STRS)
		set_str_list(s, v, e);
	else
		set_epochs(s, v, e);
	return 0;
}

/* Word i of row s: its index (SET_ENUM) or a copy of it, NULL for the
 * first (SET_WORD). */
static void set_word(const struct setting *s, int i, struct experiment *e)
{
	if (s->type == SET_ENUM) {
		*(int *)field(s, e) = i;
		return;
	}
	free(*(char **)field(s, e));
	*(char **)field(s, e) = i ? xstrdup(s->words[i]) : NULL;
}

/* Store the value v of row s in e; c is at the row's path. */
static int set_value(struct ctx *c, const struct setting *s, const struct json *v,
		     struct experiment *e)
{
	char what[512];
	rule_text(s, what, sizeof what);
	int ok = 1;
	switch (s->type) {
	case SET_INT:
	case SET_SEED:
	case SET_NUM:
		if (!(ok = num_ok(s, v)))
			break;
		if (s->type == SET_INT)
			*(int *)field(s, e) = (int)json_number(v);
		else if (s->type == SET_SEED)
			*(uint64_t *)field(s, e) = (uint64_t)json_number(v);
		else
			*(double *)field(s, e) = json_number(v);
		break;
	case SET_BOOL:
		if ((ok = json_type(v) == JSON_BOOL))
			*(int *)field(s, e) = json_bool(v);
		break;
	case SET_STR:
		if ((ok = str_ok(s, v))) {
			free(*(char **)field(s, e));
			*(char **)field(s, e) = xstrdup(json_string(v));
		}
		break;
	case SET_ENUM:
	case SET_WORD:
		if ((ok = word_index(s->words, v) >= 0))
			set_word(s, word_index(s->words, v), e);
		break;
	case SET_STRS:
	case SET_EPOCHS:
		return set_array(c, s, v, e);
	case SET_CUSTOM:
		break;
	}
	return ok ? 0 : fail_expected(c, v, what);
}

/* The defaults: each row's def, read as if the file said it (a default
 * that its own row refuses is an error on every load, which the tests see). */
static int set_defaults(struct experiment *e)
{
	struct ctx c = { .file = "experiment.c (a default)", .path = "" };
	for (int i = 0; i < N_SETTINGS; i++) {
		if (!settings[i].def)
			continue;
		struct json *v = json_parse(settings[i].def, c.file);
		snprintf(c.path, sizeof c.path, ".%s", settings[i].path);
		int rc = v ? set_value(&c, &settings[i], v, e) : -1;
		json_free(v);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* The keys allowed in the object at prefix (plen characters of a row's
 * path; 0: the top level), in table order, NULL-terminated. */
static void known_keys(const char *prefix, size_t plen, const char **out, int max)
{
	int n = 0;
	for (int i = 0; i < N_SETTINGS && n < max - 1; i++) {
		const char *p = settings[i].path;
		if (plen && (strncmp(p, prefix, plen) || p[plen] != '.'))
			continue;
		const char *key = plen ? p + plen + 1 : p;
		size_t len = strcspn(key, ".");
		int seen = 0;
		for (int j = 0; j < n; j++)
			seen |= strlen(out[j]) == len && !strncmp(out[j], key, len);
		if (!seen)
			out[n++] = xasprintf("%.*s", (int)len, key);
	}
	out[n] = NULL;
}

static void free_keys(const char **keys)
{
	for (int i = 0; keys[i]; i++)
		free((char *)keys[i]);
}

/* Check the object obj at c's path, which holds the rows under prefix. */
static int check_section(const struct ctx *c, const struct json *obj, const char *prefix,
			 size_t plen)
{
	const char *known[64];
	known_keys(prefix, plen, known, 64);
	int rc = check_object(c, obj, known);
	free_keys(known);
	return rc;
}

/* The object that holds row i's key, with c at its path; NULL when an
 * object on the way is absent, or (with *rc -1) is not an object or holds
 * a key no row knows. Each object is checked at its first row. */
static const struct json *parent_of(struct ctx *c, const struct json *root, int i, int *rc)
{
	const char *path = settings[i].path;
	const struct json *obj = root;
	*rc = 0;
	c->path[0] = '\0';
	for (const char *seg = path, *dot; (dot = strchr(seg, '.')) != NULL; seg = dot + 1) {
		char key[64];
		snprintf(key, sizeof key, "%.*s", (int)(dot - seg), seg);
		obj = json_get(obj, key);
		if (!obj)
			return NULL;
		ctx_push_key(c, key);
		size_t plen = (size_t)(dot - path);
		int first = 1;
		for (int j = 0; j < i; j++)
			first &= strncmp(settings[j].path, path, plen) || settings[j].path[plen] != '.';
		if (first && check_section(c, obj, path, plen) != 0) {
			*rc = -1;
			return NULL;
		}
	}
	return obj;
}

/* Settings that depend on each other. */
static int check_settings(const struct ctx *c, const struct experiment *e)
{
	const char *policy = e->training.lr_policy;
	if (policy && !strcmp(policy, "steps") && e->training.n_lr_steps == 0)
		return error("%s: .training.lr_policy: \"steps\" needs a non-empty .training.lr_steps",
			     c->file);
	return 0;
}

/* Every row's value from root into e (models aside). */
static int read_settings(struct ctx *c, const struct json *root, struct experiment *e)
{
	if (check_section(c, root, "", 0) != 0)
		return -1;
	for (int i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		int rc;
		const struct json *obj = parent_of(c, root, i, &rc);
		if (rc != 0)
			return -1;
		const char *key = strrchr(s->path, '.');
		key = key ? key + 1 : s->path;
		const struct json *v = obj ? json_get(obj, key) : NULL;
		if (!v || s->type == SET_CUSTOM)
			continue;
		ctx_push_key(c, key);
		if (set_value(c, s, v, e) != 0)
			return -1;
	}
	c->path[0] = '\0';
	return check_settings(c, e);
}

void experiment_hash_write(struct jw *w, const struct experiment *e, enum exp_hash_group g)
{
	for (int i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		if (s->hash != g || (s->hash_if && !s->hash_if(e)))
			continue;
		const char *key = strrchr(s->path, '.');
		key = key ? key + 1 : s->path;
		const void *f = cfield(s, e);
		int n = s->count_off ? *(const int *)(const void *)((const char *)e + s->count_off) : 0;
		switch (s->type) {
		case SET_INT:
		case SET_BOOL:
			jw_kint(w, key, *(const int *)f);
			break;
		case SET_SEED:
			jw_knum(w, key, (double)*(const uint64_t *)f);
			break;
		case SET_NUM:
			jw_knum(w, key, *(const double *)f);
			break;
		case SET_STR:
		case SET_WORD:
			jw_kstr(w, key, *(char *const *)f);
			break;
		case SET_ENUM:
			if (s->flags & SF_HASH_INDEX)
				jw_kint(w, key, *(const int *)f);
			else
				jw_kstr(w, key, s->words[*(const int *)f]);
			break;
		case SET_STRS:
			jw_key(w, key);
			jw_arr_begin(w);
			for (int k = 0; k < n; k++)
				jw_str(w, (*(char **const *)f)[k]);
			jw_arr_end(w);
			break;
		case SET_EPOCHS:
			jw_key(w, key);
			jw_arr_begin(w);
			for (int k = 0; k < n; k++)
				jw_int(w, (*(int *const *)f)[k]);
			jw_arr_end(w);
			break;
		case SET_CUSTOM:
			break;
		}
	}
}

/* Row s's "unit / range" cell of docs/experiments.md. */
static void doc_range(const struct setting *s, char *buf, size_t n)
{
	char range[512] = "";
	if (s->type == SET_ENUM || s->type == SET_WORD || (s->flags & SF_METRIC)) {
		const char *const *words = s->words ? s->words : metric_words();
		size_t len = 0;
		for (int i = 0; words[i] && len < sizeof range; i++)
			len += (size_t)snprintf(range + len, sizeof range - len, "%s`%s`",
						i ? ", " : "", words[i]);
	} else if (s->type == SET_INT && s->words) {
		join_words(s->words, 0, range, sizeof range);
	} else if (s->type == SET_INT || s->type == SET_SEED || s->type == SET_NUM) {
		range_text(s, range, sizeof range);
	} else if (s->type == SET_EPOCHS) {
		snprintf(range, sizeof range, "ascending");
	} else if (s->flags & SF_FOLDER) {
		snprintf(range, sizeof range, "folder name");
	}
	snprintf(buf, n, "%s%s%s", s->unit ? s->unit : "", s->unit && range[0] ? ", " : "", range);
}

int experiment_settings_count(void)
{
	return N_SETTINGS;
}

const char *experiment_setting_path(int i)
{
	return i >= 0 && i < N_SETTINGS ? settings[i].path : NULL;
}

char *experiment_setting_doc(int i)
{
	static const char *const types[] = {
		[SET_INT] = "integer", [SET_SEED] = "integer", [SET_NUM] = "number",
		[SET_BOOL] = "boolean", [SET_STR] = "string", [SET_ENUM] = "string",
		[SET_WORD] = "string", [SET_STRS] = "array of strings",
		[SET_EPOCHS] = "array of integers", [SET_CUSTOM] = NULL,
	};
	if (i < 0 || i >= N_SETTINGS || settings[i].type == SET_CUSTOM)
		return NULL;
	const struct setting *s = &settings[i];
	const char *key = strchr(s->path, '.');
	key = key ? key + 1 : s->path;
	char range[600], def[128];
	doc_range(s, range, sizeof range);
	if (s->def)
		snprintf(def, sizeof def, "`%s`", s->def);
	else
		snprintf(def, sizeof def, "%s", s->def_doc);
	return xasprintf("| `%s` | %s%s | %s |%s%s | %s |", key, types[s->type],
			 s->flags & SF_PATH ? " (path)" : "", def, range[0] ? " " : "", range, s->help);
}

/* ---- models ---- */

static int add_model(struct experiment *e, const char *name, const char *cfg, const char *weights,
		     int upto)
{
	e->models = xrealloc(e->models, (size_t)(e->n_models + 1) * sizeof *e->models);
	struct exp_model *m = &e->models[e->n_models++];
	memset(m, 0, sizeof *m);
	m->score_pool = ANOMALY_POOL_MAX_LOCAL;
	m->score_k = 4;
	m->neighbours = 1;
	m->downsample = 1;
	m->name = xstrdup(name);
	m->cfg = cfg ? xstrdup(cfg) : NULL;
	m->weights = weights ? xstrdup(weights) : NULL;
	m->weights_upto = upto;
	return 0;
}

int exp_model_one_class(const struct exp_model *m)
{
	return m->kind == EXP_KIND_ONE_CLASS || m->kind == EXP_KIND_KNN;
}

/* The first of keys[] present in v, or NULL. */
static const char *first_key(const struct json *v, const char *const *keys)
{
	for (int i = 0; keys[i]; i++)
		if (json_get(v, keys[i]))
			return keys[i];
	return NULL;
}

/* An error at the model's key `key`: "<file>: <path>.<key>: <why>". */
static int fail_key(struct ctx *c, const char *key, const char *why)
{
	size_t old = ctx_push_key(c, key);
	error("%s: %s: %s", c->file, ctx_where(c), why);
	ctx_pop(c, old);
	return -1;
}

/* The keys of a model object that say what kind of model it is and how it
 * scores; keys[] of the other kinds are errors. */
static int parse_model_kind(struct ctx *c, const struct json *v, struct exp_model *m)
{
	static const char *const pools[] = { "mean", "max_local", NULL };
	static const char *const one_class_only[] = { "score", "score_k", NULL };
	static const char *const knn_only[] = { "neighbours", "downsample", NULL };
	int pool = ANOMALY_POOL_MAX_LOCAL;
	if (get_enum(c, v, "score", pools, &pool) ||
	    get_i(c, v, "score_k", 1, 1024, "an integer from 1 to 1024", &m->score_k) ||
	    get_i(c, v, "epochs", 1, 1000000, "an integer >= 1", &m->epochs) ||
	    get_i(c, v, "neighbours", 1, 1000000, "an integer >= 1", &m->neighbours) ||
	    get_i(c, v, "downsample", 1, 65536, "an integer >= 1", &m->downsample))
		return -1;
	m->score_pool = pool;
	const char *k = first_key(v, one_class_only);
	if (m->kind == EXP_KIND_SUPERVISED && k)
		return fail_key(c, k, "only a one_class model has a score pooling (add \"kind\": "
				      "\"one_class\")");
	k = first_key(v, knn_only);
	if (m->kind != EXP_KIND_KNN && k)
		return fail_key(c, k, "only a knn model has this key (add \"kind\": \"knn\")");
	return 0;
}

/* A "kind": "knn" model: no cfg, no weights and no training. */
static int parse_knn_model(struct ctx *c, const struct json *v, const char *name,
			   struct experiment *e)
{
	static const char *const network_only[] = { "cfg", "weights", "weights_upto", "epochs",
						    NULL };
	const char *k = first_key(v, network_only);
	if (k)
		return fail_key(c, k, "a knn model has no network and no training: its model is "
				      "its normal training images");
	add_model(e, name, NULL, NULL, -1);
	e->models[e->n_models - 1].kind = EXP_KIND_KNN;
	return parse_model_kind(c, v, &e->models[e->n_models - 1]);
}

static int parse_model(struct ctx *c, const struct json *v, const char *name, struct experiment *e)
{
	static const char *const keys[] = { "cfg", "weights", "weights_upto", "kind", "score",
					    "score_k", "epochs", "neighbours", "downsample", NULL };
	static const char *const kinds[] = { "supervised", "one_class", "knn", NULL };
	if (!valid_name(name))
		return error("%s: %s: model name \"%s\" is not %s", c->file, ctx_where(c), name,
			     name_rule);
	if (!strcmp(name, "figures"))
		return error("%s: %s: model name \"figures\" is reserved for the report's figures",
			     c->file, ctx_where(c));
	if (json_type(v) == JSON_STRING) {
		if (!json_string(v)[0])
			return fail_expected(c, v, "a cfg path or an object");
		return add_model(e, name, json_string(v), NULL, -1);
	}
	if (json_type(v) != JSON_OBJECT)
		return fail_expected(c, v, "a cfg path or an object");
	int kind = EXP_KIND_SUPERVISED;
	if (check_object(c, v, keys) != 0 || get_enum(c, v, "kind", kinds, &kind) != 0)
		return -1;
	if (kind == EXP_KIND_KNN)
		return parse_knn_model(c, v, name, e);
	char *cfg = NULL, *weights = NULL;
	int upto = -1, rc = -1;
	if (!json_get(v, "cfg")) {
		error("%s: %s: missing key \"cfg\"", c->file, ctx_where(c));
		goto done;
	}
	if (get_str(c, v, "cfg", &cfg) ||
	    get_i(c, v, "weights_upto", -1, 100000, "an integer >= -1", &upto))
		goto done;
	const struct json *w = json_get(v, "weights");
	if (w && json_type(w) != JSON_NULL && get_str(c, v, "weights", &weights))
		goto done;
	if (weights && !fs_is_file(weights)) {
		size_t old = ctx_push_key(c, "weights");
		error("%s: %s: no such file '%s'", c->file, ctx_where(c), weights);
		ctx_pop(c, old);
		goto done;
	}
	add_model(e, name, cfg, weights, upto);
	e->models[e->n_models - 1].kind = (enum exp_kind)kind;
	if (parse_model_kind(c, v, &e->models[e->n_models - 1]) == 0)
		rc = 0;
done:
	free(cfg);
	free(weights);
	return rc;
}

/* A knn model's downsampling factor divides the input's width and height. */
static int check_knn_models(const struct experiment *e)
{
	for (int i = 0; i < e->n_models; i++) {
		const struct exp_model *m = &e->models[i];
		if (m->kind == EXP_KIND_KNN &&
		    (e->dataset.width % m->downsample || e->dataset.height % m->downsample))
			return error("%s: .models.%s.downsample: %d does not divide the input size "
				     "%dx%d (dataset.width x dataset.height)", e->path, m->name,
				     m->downsample, e->dataset.width, e->dataset.height);
	}
	return 0;
}

/* Without "models": every cfg/<name>.cfg, in name order. */
static int discover_models(const struct ctx *c, struct experiment *e)
{
	DIR *dir = opendir("cfg");
	if (!dir)
		return error("%s: no \"models\" given and no folder 'cfg' to discover them in", c->file);
	char **names = NULL;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len <= 4 || strcmp(de->d_name + len - 4, ".cfg"))
			continue;
		char *name = xstrdup(de->d_name);
		name[len - 4] = '\0';
		if (!valid_name(name)) {
			free(name);
			continue;
		}
		names = xrealloc(names, (size_t)(n + 1) * sizeof *names);
		names[n++] = name;
	}
	closedir(dir);
	if (n > 0)
		qsort(names, (size_t)n, sizeof *names, cmp_str);
	for (int i = 0; i < n; i++) {
		char *path = xasprintf("cfg/%s.cfg", names[i]);
		add_model(e, names[i], path, NULL, -1);
		free(path);
		free(names[i]);
	}
	free(names);
	if (n == 0)
		return error("%s: no \"models\" given and no cfg/*.cfg to discover", c->file);
	return 0;
}

static int parse_models(struct ctx *c, const struct json *m, struct experiment *e)
{
	if (check_object(c, m, NULL) != 0)
		return -1;
	int n = json_size(m);
	if (n == 0)
		return fail_expected(c, m, "at least one model");
	for (int i = 0; i < n; i++) {
		const struct json *v = json_at(m, i);
		size_t old = ctx_push_key(c, json_key(v));
		int rc = parse_model(c, v, json_key(v), e);
		ctx_pop(c, old);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* words[i], or NULL when i is not an index of the NULL-terminated words. */
static const char *word_at(const char *const *words, int i)
{
	for (int k = 0; words[k]; k++)
		if (k == i)
			return words[k];
	return NULL;
}

const char *experiment_threshold_name(enum exp_threshold t)
{
	return word_at(threshold_names, (int)t);
}

const char *experiment_optimizer_name(enum exp_optimizer o)
{
	return word_at(optimizers, (int)o);
}

const char *experiment_imbalance_name(enum exp_imbalance i)
{
	return word_at(imbalances, (int)i);
}

static char *default_name(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char *name = xstrdup(base);
	size_t len = strlen(name);
	if (len > 5 && !strcmp(name + len - 5, ".json"))
		name[len - 5] = '\0';
	return name;
}

/* MVTEC_ROOT, then the synthetic fallback. */
static int resolve_dataset(const struct ctx *c, struct experiment *e)
{
	const char *env = getenv("MVTEC_ROOT");
	if (env && *env) {
		free(e->dataset.root);
		e->dataset.root = xstrdup(env);
		char *dir = fs_join(env, e->dataset.category);
		int ok = fs_is_dir(dir);
		free(dir);
		if (!ok)
			return error("MVTEC_ROOT='%s' has no folder '%s'", env, e->dataset.category);
		return 0;
	}
	char *dir = fs_join(e->dataset.root, e->dataset.category);
	int present = fs_is_dir(dir);
	free(dir);
	if (present || !e->dataset.synthetic)
		return 0;
	if (strcmp(e->dataset.category, SYNTH_CATEGORY) != 0)
		return error("%s: dataset '%s/%s' not found, and the synthetic set only has the "
			     "category '" SYNTH_CATEGORY "'",
			     c->file, e->dataset.root, e->dataset.category);
	/* make sets this for the units of a study, once the plan step has said it */
	const char *said = getenv("DARKFOLD_FALLBACK_ANNOUNCED");
	if (said && !strcmp(said, "1")) {
		free(e->dataset.root);
		e->dataset.root = xstrdup(e->dataset.synth_dir);
		return 0;
	}
	fprintf(stderr,
		"note: %s: dataset '%s/%s' not found; using the synthetic cable set in '%s' "
		"(set MVTEC_ROOT or .dataset.root for the real images)\n",
		c->file, e->dataset.root, e->dataset.category, e->dataset.synth_dir);
	free(e->dataset.root);
	e->dataset.root = xstrdup(e->dataset.synth_dir);
	return 0;
}

int experiment_load(const char *path, struct experiment *out)
{
	memset(out, 0, sizeof *out);
	char *text = NULL;
	size_t len = 0;
	if (fs_read_file(path, &text, &len) != 0)
		return -1;
	struct json *root = json_parse(text, path);
	struct experiment e;
	memset(&e, 0, sizeof e);
	struct ctx c = { .file = path, .path = "" };
	if (!root) {
		free(text);
		return -1;
	}
	e.path = xstrdup(path);
	sha256_hex(text, len, e.sha256);
	free(text);
	const struct json *models = json_get(root, "models");
	if (set_defaults(&e) != 0 || read_settings(&c, root, &e) != 0)
		goto fail;
	if (models) {
		size_t old = ctx_push_key(&c, "models");
		int rc = parse_models(&c, models, &e);
		ctx_pop(&c, old);
		if (rc != 0)
			goto fail;
	}
	if (!e.name)
		e.name = default_name(path);
	if (!valid_name(e.name)) {
		const struct json *v = json_get(root, "name");
		if (v) {
			size_t old = ctx_push_key(&c, "name");
			fail_expected(&c, v, name_rule);
			ctx_pop(&c, old);
		} else {
			error("%s: the file name gives the experiment name \"%s\", which is not %s; "
			      "set .name",
			      path, e.name, name_rule);
		}
		goto fail;
	}
	if (!json_get(root, "models") && discover_models(&c, &e) != 0)
		goto fail;
	if (check_knn_models(&e) != 0)
		goto fail;
	for (int i = 0; i < e.n_models; i++) {
		if (e.models[i].cfg && !fs_is_file(e.models[i].cfg)) {
			error("%s: .models.%s: no such cfg file '%s'", path, e.models[i].name,
			      e.models[i].cfg);
			goto fail;
		}
	}
	if (!e.dataset.cache_dir)
		e.dataset.cache_dir = fs_join(e.results_dir, "cache");
	if (resolve_dataset(&c, &e) != 0)
		goto fail;
	json_free(root);
	*out = e;
	return 0;
fail:
	json_free(root);
	experiment_release(&e);
	return -1;
}

int experiment_check_cpu(const struct experiment *e, const struct blas_cpu *cpu)
{
	if (e->training.precision == EXP_PREC_BF16 && !cpu->avx512_bf16)
		return error("%s: .training.precision: \"bf16\" needs a CPU with AVX512_BF16",
			     e->path);
	return 0;
}

static void free_list(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void experiment_release(struct experiment *e)
{
	if (!e)
		return;
	free(e->path);
	free(e->name);
	free(e->results_dir);
	free(e->dataset.root);
	free(e->dataset.category);
	free_list(e->dataset.normal, e->dataset.n_normal);
	free_list(e->dataset.anomalous, e->dataset.n_anomalous);
	free(e->dataset.synth_dir);
	free(e->dataset.cache_dir);
	for (int i = 0; i < e->n_models; i++) {
		free(e->models[i].name);
		free(e->models[i].cfg);
		free(e->models[i].weights);
	}
	free(e->models);
	free(e->training.lr_policy);
	free(e->metrics.primary);
	free(e->training.lr_steps);
	memset(e, 0, sizeof *e);
}

int experiment_model(const struct experiment *e, const char *name)
{
	for (int i = 0; i < e->n_models; i++)
		if (!strcmp(e->models[i].name, name))
			return i;
	return -1;
}

char *experiment_results_path(const struct experiment *e)
{
	return fs_join(e->results_dir, e->name);
}
