/* experiment.c: the experiment file, read through json.h, validated key by
 * key, with defaults for everything it leaves out. */
#include "experiment.h"

#include "anomaly.h"
#include "error.h"
#include "fsutil.h"
#include "json.h"
#include "metrics.h"
#include "sha256.h"
#include "strutil.h"
#include "synth.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* JSON numbers are doubles: integers beyond 2^53 are not exact. */
#define EXP_MAX_EXACT 9007199254740991.0

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

static int get_seed(struct ctx *c, const struct json *obj, const char *key, uint64_t *out)
{
	long long v = (long long)*out;
	if (get_int(c, obj, key, 0, (long long)EXP_MAX_EXACT,
		    "an integer between 0 and 9007199254740991", &v) != 0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

/* A number in [lo, hi]; lo_open/hi_open make that end exclusive. */
static int get_num(struct ctx *c, const struct json *obj, const char *key, double lo, int lo_open,
		   double hi, int hi_open, const char *what, double *out)
{
	const struct json *v = json_get(obj, key);
	if (!v)
		return 0;
	size_t old = ctx_push_key(c, key);
	double d = json_number(v);
	int rc = 0;
	if (json_type(v) != JSON_NUMBER || !isfinite(d) || (lo_open ? d <= lo : d < lo) ||
	    (hi_open ? d >= hi : d > hi))
		rc = fail_expected(c, v, what);
	else
		*out = d;
	ctx_pop(c, old);
	return rc;
}

static int get_bool(struct ctx *c, const struct json *obj, const char *key, int *out)
{
	const struct json *v = json_get(obj, key);
	if (!v)
		return 0;
	size_t old = ctx_push_key(c, key);
	int rc = 0;
	if (json_type(v) != JSON_BOOL)
		rc = fail_expected(c, v, "true or false");
	else
		*out = json_bool(v);
	ctx_pop(c, old);
	return rc;
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

/* A non-empty array of non-empty strings. */
static int get_str_array(struct ctx *c, const struct json *obj, const char *key, char ***out,
			 int *n_out)
{
	const struct json *v = json_get(obj, key);
	if (!v)
		return 0;
	size_t old = ctx_push_key(c, key);
	int n = json_size(v);
	if (json_type(v) != JSON_ARRAY || n == 0) {
		fail_expected(c, v, "a non-empty array of strings");
		ctx_pop(c, old);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const struct json *s = json_at(v, i);
		if (json_type(s) != JSON_STRING || !json_string(s)[0]) {
			ctx_push_index(c, i);
			fail_expected(c, s, "a non-empty string");
			ctx_pop(c, old);
			return -1;
		}
	}
	for (int i = 0; i < *n_out; i++)
		free((*out)[i]);
	free(*out);
	*out = xcalloc((size_t)n, sizeof **out);
	for (int i = 0; i < n; i++)
		(*out)[i] = xstrdup(json_string(json_at(v, i)));
	*n_out = n;
	ctx_pop(c, old);
	return 0;
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

/* ---- defaults ---- */

static char **str_list1(const char *s, int *n)
{
	char **v = xcalloc(1, sizeof *v);
	v[0] = xstrdup(s);
	*n = 1;
	return v;
}

static void set_defaults(struct experiment *e)
{
	e->results_dir = xstrdup("results");
	e->dataset.root = xstrdup("data/mvtec");
	e->dataset.category = xstrdup("cable");
	e->dataset.normal = str_list1("train/good", &e->dataset.n_normal);
	e->dataset.anomalous = str_list1("test/*", &e->dataset.n_anomalous);
	e->dataset.width = 64;
	e->dataset.height = 64;
	e->dataset.channels = 3;
	e->dataset.synthetic = 1;
	e->dataset.synth_dir = xstrdup("data/synth");
	e->dataset.synth_seed = 1;
	e->dataset.synth_size = 256;
	e->dataset.synth_difficulty = 1.0;
	e->dataset.synth_rotation = SYNTH_DEFAULT_ROTATION;

	e->cv.k = 5;
	e->cv.repeats = 1;
	e->cv.seed = 1;
	e->cv.stratify = 1;
	e->cv.inner_fraction = 0.2;

	e->training.epochs = 10;
	e->training.batch = 0;
	e->training.learning_rate = 0;
	e->training.momentum = -1;
	e->training.decay = -1;
	e->training.optimizer = EXP_OPT_CFG;
	e->training.augment_flip = 0;
	e->training.augment_rot90 = 0;
	e->training.augment_jitter = 0;
	e->training.imbalance = EXP_IMB_NONE;
	e->training.early_stopping = 0;
	e->training.patience = 5;
	e->training.lr_policy = NULL;
	e->training.lr_power = 4;
	e->training.lr_scale = 0.1;
	e->training.threads = 1;

	e->metrics.positive = EXP_POS_ANOMALOUS;
	e->metrics.beta = 2;
	e->metrics.threshold_policy = EXP_THR_TUNED;
	e->metrics.threshold = 0.5;
	e->metrics.quantile = 0.95;
	e->metrics.recall_target = 0.95;
	e->metrics.primary = xstrdup("auroc");
	e->metrics.cost_fp = 1;
	e->metrics.cost_fn = 1;
	e->metrics.alpha = 0.05;
	e->metrics.bootstrap = 2000;
}

/* ---- sections ---- */

#define STR_(x) #x
#define STR(x) STR_(x)
static const char synth_size_rule[] =
	"an integer between " STR(SYNTH_MIN_SIZE) " and " STR(SYNTH_MAX_SIZE);
static const char synth_difficulty_rule[] =
	"a number between " STR(SYNTH_MIN_DIFFICULTY) " and " STR(SYNTH_MAX_DIFFICULTY);
static const char synth_rotation_rule[] = "a number of degrees between 0 and " STR(SYNTH_MAX_ROTATION);

static int parse_dataset(struct ctx *c, const struct json *d, struct experiment *e)
{
	static const char *const keys[] = { "root", "category", "normal", "anomalous", "width",
					    "height", "channels", "synthetic", "synth_dir",
					    "synth_seed", "synth_size", "synth_difficulty",
					    "synth_rotation", "cache_dir", NULL };
	if (check_object(c, d, keys) != 0)
		return -1;
	if (get_str(c, d, "root", &e->dataset.root) || get_str(c, d, "category", &e->dataset.category) ||
	    get_str_array(c, d, "normal", &e->dataset.normal, &e->dataset.n_normal) ||
	    get_str_array(c, d, "anomalous", &e->dataset.anomalous, &e->dataset.n_anomalous) ||
	    get_i(c, d, "width", 8, 2048, "an integer between 8 and 2048", &e->dataset.width) ||
	    get_i(c, d, "height", 8, 2048, "an integer between 8 and 2048", &e->dataset.height) ||
	    get_i(c, d, "channels", 1, 3, "1 or 3", &e->dataset.channels) ||
	    get_bool(c, d, "synthetic", &e->dataset.synthetic) ||
	    get_str(c, d, "synth_dir", &e->dataset.synth_dir) ||
	    get_seed(c, d, "synth_seed", &e->dataset.synth_seed) ||
	    get_i(c, d, "synth_size", SYNTH_MIN_SIZE, SYNTH_MAX_SIZE, synth_size_rule,
		  &e->dataset.synth_size) ||
	    get_num(c, d, "synth_difficulty", SYNTH_MIN_DIFFICULTY, 0, SYNTH_MAX_DIFFICULTY, 0,
		    synth_difficulty_rule, &e->dataset.synth_difficulty) ||
	    get_num(c, d, "synth_rotation", 0, 0, SYNTH_MAX_ROTATION, 0, synth_rotation_rule,
		    &e->dataset.synth_rotation) ||
	    get_str(c, d, "cache_dir", &e->dataset.cache_dir))
		return -1;
	if (e->dataset.channels == 2) {
		size_t old = ctx_push_key(c, "channels");
		fail_expected(c, json_get(d, "channels"), "1 or 3");
		ctx_pop(c, old);
		return -1;
	}
	if (strchr(e->dataset.category, '/')) {
		size_t old = ctx_push_key(c, "category");
		fail_expected(c, json_get(d, "category"), "a folder name without '/'");
		ctx_pop(c, old);
		return -1;
	}
	return 0;
}

static int add_model(struct experiment *e, const char *name, const char *cfg, const char *weights,
		     int upto)
{
	e->models = xrealloc(e->models, (size_t)(e->n_models + 1) * sizeof *e->models);
	struct exp_model *m = &e->models[e->n_models++];
	memset(m, 0, sizeof *m);
	m->score_pool = ANOMALY_POOL_MAX_LOCAL;
	m->score_k = 4;
	m->name = xstrdup(name);
	m->cfg = xstrdup(cfg);
	m->weights = weights ? xstrdup(weights) : NULL;
	m->weights_upto = upto;
	return 0;
}

/* The keys of a model object that say what kind of model it is. */
static int parse_model_kind(struct ctx *c, const struct json *v, struct exp_model *m)
{
	static const char *const kinds[] = { "supervised", "one_class", NULL };
	static const char *const pools[] = { "mean", "max_local", NULL };
	int kind = EXP_KIND_SUPERVISED, pool = ANOMALY_POOL_MAX_LOCAL;
	if (get_enum(c, v, "kind", kinds, &kind) || get_enum(c, v, "score", pools, &pool) ||
	    get_i(c, v, "score_k", 1, 1024, "an integer from 1 to 1024", &m->score_k) ||
	    get_i(c, v, "epochs", 1, 1000000, "an integer >= 1", &m->epochs))
		return -1;
	m->kind = (enum exp_kind)kind;
	m->score_pool = pool;
	static const char *const one_class_only[] = { "score", "score_k", NULL };
	for (int i = 0; m->kind != EXP_KIND_ONE_CLASS && one_class_only[i]; i++)
		if (json_get(v, one_class_only[i])) {
			size_t old = ctx_push_key(c, one_class_only[i]);
			error("%s: %s: only a one_class model has a score pooling (add \"kind\": \"one_class\")",
			      c->file, ctx_where(c));
			ctx_pop(c, old);
			return -1;
		}
	return 0;
}

static int parse_model(struct ctx *c, const struct json *v, const char *name, struct experiment *e)
{
	static const char *const keys[] = { "cfg", "weights", "weights_upto", "kind", "score",
					    "score_k", "epochs", NULL };
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
	if (check_object(c, v, keys) != 0)
		return -1;
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
	if (add_model(e, name, cfg, weights, upto) == 0 &&
	    parse_model_kind(c, v, &e->models[e->n_models - 1]) == 0)
		rc = 0;
done:
	free(cfg);
	free(weights);
	return rc;
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

static int parse_cv(struct ctx *c, const struct json *v, struct experiment *e)
{
	static const char *const keys[] = { "k", "repeats", "seed", "stratify", "inner_fraction",
					    NULL };
	if (check_object(c, v, keys) != 0)
		return -1;
	return get_i(c, v, "k", 2, 1000, "an integer >= 2", &e->cv.k) ||
			       get_i(c, v, "repeats", 1, 1000, "an integer >= 1", &e->cv.repeats) ||
			       get_seed(c, v, "seed", &e->cv.seed) ||
			       get_bool(c, v, "stratify", &e->cv.stratify) ||
			       get_num(c, v, "inner_fraction", 0, 1, 0.5, 0,
				       "a number > 0 and <= 0.5", &e->cv.inner_fraction)
		       ? -1
		       : 0;
}

static int parse_augment(struct ctx *c, const struct json *v, struct experiment *e)
{
	static const char *const keys[] = { "flip", "rot90", "jitter", NULL };
	if (check_object(c, v, keys) != 0)
		return -1;
	return get_bool(c, v, "flip", &e->training.augment_flip) ||
			       get_bool(c, v, "rot90", &e->training.augment_rot90) ||
			       get_num(c, v, "jitter", 0, 0, 1, 0, "a number between 0 and 1",
				       &e->training.augment_jitter)
		       ? -1
		       : 0;
}

static int parse_lr_steps(struct ctx *c, const struct json *v, struct experiment *e)
{
	int n = json_size(v);
	if (json_type(v) != JSON_ARRAY)
		return fail_expected(c, v, "an array of epochs");
	int *steps = xcalloc((size_t)(n ? n : 1), sizeof *steps);
	for (int i = 0; i < n; i++) {
		const struct json *s = json_at(v, i);
		double d = json_number(s);
		int prev = i ? steps[i - 1] : 0;
		if (json_type(s) != JSON_NUMBER || d != floor(d) || d <= prev || d > 1000000) {
			size_t old = ctx_push_index(c, i);
			char what[64];
			snprintf(what, sizeof what, "an epoch > %d (steps ascending)", prev);
			fail_expected(c, s, what);
			ctx_pop(c, old);
			free(steps);
			return -1;
		}
		steps[i] = (int)d;
	}
	free(e->training.lr_steps);
	e->training.lr_steps = steps;
	e->training.n_lr_steps = n;
	return 0;
}

static int parse_training(struct ctx *c, const struct json *v, struct experiment *e)
{
	static const char *const keys[] = { "epochs", "batch", "learning_rate", "momentum", "decay",
					    "optimizer", "augment", "imbalance", "early_stopping",
					    "patience", "lr_policy", "lr_power", "lr_steps",
					    "lr_scale", "threads", NULL };
	static const char *const optimizers[] = { "cfg", "sgd", "adam", NULL };
	static const char *const imbalances[] = { "none", "oversample", "weighted", NULL };
	static const char *const policies[] = { "cfg", "constant", "steps", "poly", NULL };
	if (check_object(c, v, keys) != 0)
		return -1;
	int opt = (int)e->training.optimizer, imb = (int)e->training.imbalance;
	int policy = 0;
	if (get_i(c, v, "epochs", 1, 100000, "an integer >= 1", &e->training.epochs) ||
	    get_i(c, v, "batch", 0, 4096, "an integer between 0 and 4096 (0: the cfg's)",
		  &e->training.batch) ||
	    get_num(c, v, "learning_rate", 0, 0, 10, 0, "a number between 0 and 10 (0: the cfg's)",
		    &e->training.learning_rate) ||
	    get_num(c, v, "momentum", -1, 0, 1, 1, "a number in [0, 1) or -1 (the cfg's)",
		    &e->training.momentum) ||
	    get_num(c, v, "decay", -1, 0, 1, 1, "a number in [0, 1) or -1 (the cfg's)",
		    &e->training.decay) ||
	    get_enum(c, v, "optimizer", optimizers, &opt) ||
	    get_enum(c, v, "imbalance", imbalances, &imb) ||
	    get_bool(c, v, "early_stopping", &e->training.early_stopping) ||
	    get_i(c, v, "patience", 1, 100000, "an integer >= 1", &e->training.patience) ||
	    get_enum(c, v, "lr_policy", policies, &policy) ||
	    get_num(c, v, "lr_power", 0, 1, 100, 0, "a number > 0 and <= 100",
		    &e->training.lr_power) ||
	    get_num(c, v, "lr_scale", 0, 1, 1000, 0, "a number > 0 and <= 1000",
		    &e->training.lr_scale) ||
	    get_i(c, v, "threads", 1, 256, "an integer >= 1", &e->training.threads))
		return -1;
	/* momentum and decay: -1 exactly, or [0, 1). */
	static const char *const signed_keys[] = { "momentum", "decay" };
	for (int i = 0; i < 2; i++) {
		const struct json *s = json_get(v, signed_keys[i]);
		double d = json_number(s);
		if (s && d < 0 && d != -1) {
			size_t old = ctx_push_key(c, signed_keys[i]);
			fail_expected(c, s, "a number in [0, 1) or -1 (the cfg's)");
			ctx_pop(c, old);
			return -1;
		}
	}
	e->training.optimizer = (enum exp_optimizer)opt;
	e->training.imbalance = (enum exp_imbalance)imb;
	if (policy > 0)
		e->training.lr_policy = xstrdup(policies[policy]);
	const struct json *a = json_get(v, "augment");
	if (a) {
		size_t old = ctx_push_key(c, "augment");
		int rc = parse_augment(c, a, e);
		ctx_pop(c, old);
		if (rc != 0)
			return -1;
	}
	const struct json *steps = json_get(v, "lr_steps");
	if (steps) {
		size_t old = ctx_push_key(c, "lr_steps");
		int rc = parse_lr_steps(c, steps, e);
		ctx_pop(c, old);
		if (rc != 0)
			return -1;
	}
	if (policy == 2 && e->training.n_lr_steps == 0)
		return error("%s: .training.lr_policy: \"steps\" needs a non-empty .training.lr_steps",
			     c->file);
	return 0;
}

static const char *const threshold_names[] = { "fixed", "tuned", "normal_quantile",
					      "recall_target", NULL };

const char *experiment_threshold_name(enum exp_threshold t)
{
	return (int)t >= 0 && (int)t <= EXP_THR_RECALL_TARGET ? threshold_names[t] : NULL;
}

static int parse_metrics(struct ctx *c, const struct json *v, struct experiment *e)
{
	static const char *const keys[] = { "positive", "beta", "threshold_policy", "threshold",
					    "quantile", "recall_target", "primary", "cost_fp",
					    "cost_fn", "alpha", "bootstrap", "pixel", NULL };
	static const char *const positives[] = { "anomalous", "normal", NULL };
	if (check_object(c, v, keys) != 0)
		return -1;
	int pos = (int)e->metrics.positive, thr = (int)e->metrics.threshold_policy;
	if (get_enum(c, v, "positive", positives, &pos) ||
	    get_num(c, v, "beta", 0, 1, 100, 0, "a number > 0 and <= 100", &e->metrics.beta) ||
	    get_enum(c, v, "threshold_policy", threshold_names, &thr) ||
	    get_num(c, v, "threshold", 0, 1, 1, 1, "a number > 0 and < 1", &e->metrics.threshold) ||
	    get_num(c, v, "quantile", 0, 1, 1, 1, "a number > 0 and < 1", &e->metrics.quantile) ||
	    get_num(c, v, "recall_target", 0, 1, 1, 0, "a number > 0 and <= 1",
		    &e->metrics.recall_target) ||
	    get_num(c, v, "cost_fp", 0, 0, 1e12, 0, "a number >= 0", &e->metrics.cost_fp) ||
	    get_num(c, v, "cost_fn", 0, 0, 1e12, 0, "a number >= 0", &e->metrics.cost_fn) ||
	    get_num(c, v, "alpha", 0, 1, 0.5, 0, "a number > 0 and <= 0.5", &e->metrics.alpha) ||
	    get_i(c, v, "bootstrap", 0, 1000000, "an integer between 0 and 1000000",
		  &e->metrics.bootstrap) ||
	    get_bool(c, v, "pixel", &e->metrics.pixel))
		return -1;
	const struct json *pm = json_get(v, "primary");
	if (pm) {
		size_t old = ctx_push_key(c, "primary");
		int rc = 0;
		const char *s = json_string(pm);
		if (!s || metrics_id(s) < 0)
			rc = fail_expected(c, pm, "a metric name: \"auroc\", \"auprc\", \"f2\", \"loss\", "
						  "\"accuracy\", \"balanced_accuracy\", \"precision\", "
						  "\"recall\", \"specificity\", \"f1\", "
						  "\"recall_other_positive\" or \"f2_other_positive\"");
		ctx_pop(c, old);
		if (rc != 0)
			return -1;
		free(e->metrics.primary);
		e->metrics.primary = xstrdup(s);
	}
	e->metrics.positive = (enum exp_positive)pos;
	e->metrics.threshold_policy = (enum exp_threshold)thr;
	return 0;
}

/* Run a section parser at ".<key>" when the key is present. */
static int section(struct ctx *c, const struct json *root, const char *key,
		   int (*fn)(struct ctx *, const struct json *, struct experiment *),
		   struct experiment *e)
{
	const struct json *v = json_get(root, key);
	if (!v)
		return 0;
	size_t old = ctx_push_key(c, key);
	int rc = fn(c, v, e);
	ctx_pop(c, old);
	return rc;
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
	set_defaults(&e);

	static const char *const keys[] = { "name", "results_dir", "dataset", "models", "cv",
					    "training", "metrics", NULL };
	if (check_object(&c, root, keys) != 0 || get_str(&c, root, "name", &e.name) ||
	    get_str(&c, root, "results_dir", &e.results_dir) ||
	    section(&c, root, "dataset", parse_dataset, &e) ||
	    section(&c, root, "cv", parse_cv, &e) || section(&c, root, "training", parse_training, &e) ||
	    section(&c, root, "metrics", parse_metrics, &e) ||
	    section(&c, root, "models", parse_models, &e))
		goto fail;
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
	for (int i = 0; i < e.n_models; i++) {
		if (!fs_is_file(e.models[i].cfg)) {
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
