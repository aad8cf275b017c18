/* cfg.c: reading, checking and writing Darknet .cfg files.
 *
 * The tables below list, per section type, exactly the keys that Darknet's
 * parser of September 2018 (src/parser.c, parse_<type>() plus the keys read
 * for every layer in parse_network_cfg()) looks up, with the type it reads
 * them as. The section table adds, per type, its shape rule (shape_<type>(),
 * which repeats the output-size arithmetic of the corresponding
 * make_<type>_layer()) and its traits; cfg_walk() applies them layer by
 * layer. */
#include "cfg.h"

#include "error.h"
#include "fsutil.h"
#include "sha256.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind {
	K_NET,
	K_CONV,
	K_DECONV,
	K_LOCAL,
	K_ACTIVATION,
	K_LOGISTIC,
	K_L2NORM,
	K_RNN,
	K_GRU,
	K_LSTM,
	K_CRNN,
	K_CONNECTED,
	K_CROP,
	K_COST,
	K_REGION,
	K_YOLO,
	K_ISEG,
	K_DETECTION,
	K_SOFTMAX,
	K_NORMALIZATION,
	K_BATCHNORM,
	K_MAXPOOL,
	K_REORG,
	K_AVGPOOL,
	K_ROUTE,
	K_UPSAMPLE,
	K_SHORTCUT,
	K_DROPOUT
};

/* How Darknet reads a value (atoi, atof, a string it matches, a list). */
enum vtype { T_INT, T_FLOAT, T_STR, T_INTS, T_FLOATS, T_ACT, T_POLICY, T_COST };
/* What we additionally require of a number. */
enum vcons { C_ANY, C_POS, C_NONNEG, C_PROB, C_NONZERO };

struct keydef {
	const char *key;
	enum vtype type;
	enum vcons cons;
};

#define END { NULL, T_INT, C_ANY }

static const struct keydef net_keys[] = {
	{ "batch", T_INT, C_POS },	     { "learning_rate", T_FLOAT, C_NONNEG },
	{ "momentum", T_FLOAT, C_NONNEG },   { "decay", T_FLOAT, C_NONNEG },
	{ "subdivisions", T_INT, C_POS },    { "time_steps", T_INT, C_POS },
	{ "notruth", T_INT, C_ANY },	     { "random", T_INT, C_ANY },
	{ "adam", T_INT, C_ANY },	     { "B1", T_FLOAT, C_NONNEG },
	{ "B2", T_FLOAT, C_NONNEG },	     { "eps", T_FLOAT, C_POS },
	{ "height", T_INT, C_NONNEG },	     { "width", T_INT, C_NONNEG },
	{ "channels", T_INT, C_NONNEG },     { "inputs", T_INT, C_NONNEG },
	{ "max_crop", T_INT, C_NONNEG },     { "min_crop", T_INT, C_NONNEG },
	{ "max_ratio", T_FLOAT, C_NONNEG },  { "min_ratio", T_FLOAT, C_NONNEG },
	{ "center", T_INT, C_ANY },	     { "clip", T_FLOAT, C_ANY },
	{ "angle", T_FLOAT, C_ANY },	     { "aspect", T_FLOAT, C_NONNEG },
	{ "saturation", T_FLOAT, C_NONNEG }, { "exposure", T_FLOAT, C_NONNEG },
	{ "hue", T_FLOAT, C_ANY },	     { "policy", T_POLICY, C_ANY },
	{ "burn_in", T_INT, C_NONNEG },	     { "power", T_FLOAT, C_ANY },
	{ "step", T_INT, C_POS },	     { "scale", T_FLOAT, C_ANY },
	{ "steps", T_INTS, C_ANY },	     { "scales", T_FLOATS, C_ANY },
	{ "gamma", T_FLOAT, C_ANY },	     { "max_batches", T_INT, C_NONNEG },
	END
};

/* Read by parse_network_cfg() for every layer section. */
static const struct keydef common_keys[] = {
	{ "truth", T_INT, C_ANY },	   { "onlyforward", T_INT, C_ANY },
	{ "stopbackward", T_INT, C_ANY },  { "dontsave", T_INT, C_ANY },
	{ "dontload", T_INT, C_ANY },	   { "numload", T_INT, C_NONNEG },
	{ "dontloadscales", T_INT, C_ANY }, { "learning_rate", T_FLOAT, C_NONNEG },
	{ "smooth", T_FLOAT, C_ANY },	   END
};

static const struct keydef conv_keys[] = {
	{ "filters", T_INT, C_POS },	   { "size", T_INT, C_POS },
	{ "stride", T_INT, C_POS },	   { "pad", T_INT, C_NONNEG },
	{ "padding", T_INT, C_NONNEG },	   { "groups", T_INT, C_POS },
	{ "activation", T_ACT, C_ANY },	   { "batch_normalize", T_INT, C_ANY },
	{ "binary", T_INT, C_ANY },	   { "xnor", T_INT, C_ANY },
	{ "flipped", T_INT, C_ANY },	   { "dot", T_FLOAT, C_ANY },
	END
};

static const struct keydef deconv_keys[] = {
	{ "filters", T_INT, C_POS },	  { "size", T_INT, C_POS },
	{ "stride", T_INT, C_POS },	  { "activation", T_ACT, C_ANY },
	{ "batch_normalize", T_INT, C_ANY }, { "pad", T_INT, C_NONNEG },
	{ "padding", T_INT, C_NONNEG },	  END
};

static const struct keydef local_keys[] = {
	{ "filters", T_INT, C_POS }, { "size", T_INT, C_POS },	 { "stride", T_INT, C_POS },
	{ "pad", T_INT, C_NONNEG },  { "activation", T_ACT, C_ANY }, END
};

static const struct keydef activation_keys[] = { { "activation", T_ACT, C_ANY }, END };
static const struct keydef no_keys[] = { END };

static const struct keydef rnn_keys[] = {
	{ "output", T_INT, C_POS },	   { "activation", T_ACT, C_ANY },
	{ "batch_normalize", T_INT, C_ANY }, { "shortcut", T_INT, C_ANY },
	END
};

static const struct keydef gru_keys[] = {
	{ "output", T_INT, C_POS }, { "batch_normalize", T_INT, C_ANY }, { "tanh", T_INT, C_ANY }, END
};

static const struct keydef lstm_keys[] = {
	{ "output", T_INT, C_POS }, { "batch_normalize", T_INT, C_ANY }, END
};

static const struct keydef crnn_keys[] = {
	{ "output_filters", T_INT, C_POS }, { "hidden_filters", T_INT, C_POS },
	{ "activation", T_ACT, C_ANY },	    { "batch_normalize", T_INT, C_ANY },
	{ "shortcut", T_INT, C_ANY },	    END
};

static const struct keydef connected_keys[] = {
	{ "output", T_INT, C_POS }, { "activation", T_ACT, C_ANY }, { "batch_normalize", T_INT, C_ANY }, END
};

static const struct keydef crop_keys[] = {
	{ "crop_height", T_INT, C_POS }, { "crop_width", T_INT, C_POS },
	{ "flip", T_INT, C_ANY },	 { "angle", T_FLOAT, C_ANY },
	{ "saturation", T_FLOAT, C_NONNEG }, { "exposure", T_FLOAT, C_NONNEG },
	{ "noadjust", T_INT, C_ANY },	 { "shift", T_FLOAT, C_ANY },
	END
};

static const struct keydef cost_keys[] = {
	{ "type", T_COST, C_ANY }, { "scale", T_FLOAT, C_ANY }, { "ratio", T_FLOAT, C_ANY },
	{ "noobj", T_FLOAT, C_ANY }, { "thresh", T_FLOAT, C_ANY }, END
};

static const struct keydef region_keys[] = {
	{ "coords", T_INT, C_NONNEG },	     { "classes", T_INT, C_NONNEG },
	{ "num", T_INT, C_POS },	     { "log", T_INT, C_ANY },
	{ "sqrt", T_INT, C_ANY },	     { "softmax", T_INT, C_ANY },
	{ "background", T_INT, C_ANY },	     { "max", T_INT, C_NONNEG },
	{ "jitter", T_FLOAT, C_ANY },	     { "rescore", T_INT, C_ANY },
	{ "thresh", T_FLOAT, C_ANY },	     { "classfix", T_INT, C_ANY },
	{ "absolute", T_INT, C_ANY },	     { "random", T_INT, C_ANY },
	{ "coord_scale", T_FLOAT, C_ANY },   { "object_scale", T_FLOAT, C_ANY },
	{ "noobject_scale", T_FLOAT, C_ANY }, { "mask_scale", T_FLOAT, C_ANY },
	{ "class_scale", T_FLOAT, C_ANY },   { "bias_match", T_INT, C_ANY },
	{ "tree", T_STR, C_ANY },	     { "map", T_STR, C_ANY },
	{ "anchors", T_FLOATS, C_ANY },	     END
};

static const struct keydef yolo_keys[] = {
	{ "classes", T_INT, C_NONNEG },	    { "num", T_INT, C_POS },
	{ "mask", T_INTS, C_NONNEG },	    { "max", T_INT, C_NONNEG },
	{ "jitter", T_FLOAT, C_ANY },	    { "ignore_thresh", T_FLOAT, C_ANY },
	{ "truth_thresh", T_FLOAT, C_ANY }, { "random", T_INT, C_ANY },
	{ "map", T_STR, C_ANY },	    { "anchors", T_FLOATS, C_ANY },
	END
};

static const struct keydef iseg_keys[] = {
	{ "classes", T_INT, C_NONNEG }, { "ids", T_INT, C_NONNEG }, END
};

static const struct keydef detection_keys[] = {
	{ "coords", T_INT, C_NONNEG },	     { "classes", T_INT, C_NONNEG },
	{ "rescore", T_INT, C_ANY },	     { "num", T_INT, C_POS },
	{ "side", T_INT, C_POS },	     { "softmax", T_INT, C_ANY },
	{ "sqrt", T_INT, C_ANY },	     { "max", T_INT, C_NONNEG },
	{ "coord_scale", T_FLOAT, C_ANY },   { "forced", T_INT, C_ANY },
	{ "object_scale", T_FLOAT, C_ANY },  { "noobject_scale", T_FLOAT, C_ANY },
	{ "class_scale", T_FLOAT, C_ANY },   { "jitter", T_FLOAT, C_ANY },
	{ "random", T_INT, C_ANY },	     { "reorg", T_INT, C_ANY },
	END
};

static const struct keydef softmax_keys[] = {
	{ "groups", T_INT, C_POS }, { "temperature", T_FLOAT, C_POS }, { "tree", T_STR, C_ANY },
	{ "spatial", T_FLOAT, C_ANY }, { "noloss", T_INT, C_ANY }, END
};

static const struct keydef normalization_keys[] = {
	{ "alpha", T_FLOAT, C_ANY }, { "beta", T_FLOAT, C_ANY }, { "kappa", T_FLOAT, C_ANY },
	{ "size", T_INT, C_POS }, END
};

static const struct keydef maxpool_keys[] = {
	{ "stride", T_INT, C_POS }, { "size", T_INT, C_POS }, { "padding", T_INT, C_NONNEG }, END
};

static const struct keydef reorg_keys[] = {
	{ "stride", T_INT, C_POS }, { "reverse", T_INT, C_ANY }, { "flatten", T_INT, C_ANY },
	{ "extra", T_INT, C_ANY }, END
};

static const struct keydef route_keys[] = { { "layers", T_INTS, C_ANY }, END };

static const struct keydef upsample_keys[] = {
	{ "stride", T_INT, C_NONZERO }, { "scale", T_FLOAT, C_ANY }, END
};

static const struct keydef shortcut_keys[] = {
	{ "from", T_INT, C_ANY }, { "activation", T_ACT, C_ANY }, { "alpha", T_FLOAT, C_ANY },
	{ "beta", T_FLOAT, C_ANY }, END
};

static const struct keydef dropout_keys[] = { { "probability", T_FLOAT, C_PROB }, END };

/* ---- the section table ------------------------------------------------ */

struct shape;
struct walk;

/* Layer i's output shape *o from its input *in (the shape rules, defined
 * with the walk below): 0, or -1 with an error, or LAYER_UNMODELLED. */
typedef int shape_rule(const struct walk *w, int i, const struct shape *in, struct shape *o);
static shape_rule shape_conv, shape_maxpool, shape_avgpool, shape_crop, shape_connected,
	shape_softmax, shape_flat, shape_shortcut, shape_route, shape_upsample, shape_reorg;

/* What a layer does to the shape, beyond its rule. */
enum trait {
	NEEDS_IMAGE = 1 << 0, /* refuses a flat input */
	KEEPS_SHAPE = 1 << 1, /* outputs its input as it is (no rule) */
	OWN_COUNT = 1 << 2,   /* the rule sets the output count: no h x w x c check */
	CLASS_TAIL = 1 << 3,  /* may follow the layer whose outputs are the classes */
};

struct secdef {
	const char *name;
	enum kind kind;
	const struct keydef *keys;
	shape_rule *rule;      /* NULL, unless KEEPS_SHAPE: sizes not modelled */
	unsigned traits;       /* enum trait */
	const char *class_key; /* the key that sets the class count, when it can */
};

/* Section names as Darknet's string_to_layer_type() spells them. Recurrent,
 * local, deconvolutional and detection layers have no rule: their sizes
 * are not modelled. */
static const struct secdef sections[] = {
	{ "net", K_NET, net_keys, NULL, 0, NULL },
	{ "network", K_NET, net_keys, NULL, 0, NULL },
	{ "shortcut", K_SHORTCUT, shortcut_keys, shape_shortcut, NEEDS_IMAGE, NULL },
	{ "crop", K_CROP, crop_keys, shape_crop, NEEDS_IMAGE, NULL },
	{ "cost", K_COST, cost_keys, shape_flat, OWN_COUNT | CLASS_TAIL, NULL },
	{ "detection", K_DETECTION, detection_keys, NULL, 0, NULL },
	{ "region", K_REGION, region_keys, NULL, 0, NULL },
	{ "yolo", K_YOLO, yolo_keys, NULL, 0, NULL },
	{ "iseg", K_ISEG, iseg_keys, NULL, 0, NULL },
	{ "local", K_LOCAL, local_keys, NULL, 0, NULL },
	{ "conv", K_CONV, conv_keys, shape_conv, NEEDS_IMAGE, "filters" },
	{ "convolutional", K_CONV, conv_keys, shape_conv, NEEDS_IMAGE, "filters" },
	{ "deconv", K_DECONV, deconv_keys, NULL, 0, NULL },
	{ "deconvolutional", K_DECONV, deconv_keys, NULL, 0, NULL },
	{ "activation", K_ACTIVATION, activation_keys, NULL, KEEPS_SHAPE | OWN_COUNT | CLASS_TAIL, NULL },
	{ "logistic", K_LOGISTIC, no_keys, NULL, KEEPS_SHAPE | OWN_COUNT | CLASS_TAIL, NULL },
	{ "l2norm", K_L2NORM, no_keys, NULL, KEEPS_SHAPE | OWN_COUNT | CLASS_TAIL, NULL },
	{ "crnn", K_CRNN, crnn_keys, NULL, 0, NULL },
	{ "gru", K_GRU, gru_keys, NULL, 0, NULL },
	{ "lstm", K_LSTM, lstm_keys, NULL, 0, NULL },
	{ "rnn", K_RNN, rnn_keys, NULL, 0, NULL },
	{ "conn", K_CONNECTED, connected_keys, shape_connected, 0, "output" },
	{ "connected", K_CONNECTED, connected_keys, shape_connected, 0, "output" },
	{ "max", K_MAXPOOL, maxpool_keys, shape_maxpool, NEEDS_IMAGE, NULL },
	{ "maxpool", K_MAXPOOL, maxpool_keys, shape_maxpool, NEEDS_IMAGE, NULL },
	{ "reorg", K_REORG, reorg_keys, shape_reorg, NEEDS_IMAGE, NULL },
	{ "avg", K_AVGPOOL, no_keys, shape_avgpool, NEEDS_IMAGE | CLASS_TAIL, NULL },
	{ "avgpool", K_AVGPOOL, no_keys, shape_avgpool, NEEDS_IMAGE | CLASS_TAIL, NULL },
	{ "dropout", K_DROPOUT, dropout_keys, NULL, KEEPS_SHAPE | OWN_COUNT | CLASS_TAIL, NULL },
	{ "lrn", K_NORMALIZATION, normalization_keys, NULL, NEEDS_IMAGE | KEEPS_SHAPE | CLASS_TAIL, NULL },
	{ "normalization", K_NORMALIZATION, normalization_keys, NULL,
	  NEEDS_IMAGE | KEEPS_SHAPE | CLASS_TAIL, NULL },
	{ "batchnorm", K_BATCHNORM, no_keys, NULL, NEEDS_IMAGE | KEEPS_SHAPE | CLASS_TAIL, NULL },
	{ "soft", K_SOFTMAX, softmax_keys, shape_softmax, OWN_COUNT | CLASS_TAIL, NULL },
	{ "softmax", K_SOFTMAX, softmax_keys, shape_softmax, OWN_COUNT | CLASS_TAIL, NULL },
	{ "route", K_ROUTE, route_keys, shape_route, OWN_COUNT, NULL },
	{ "upsample", K_UPSAMPLE, upsample_keys, shape_upsample, NEEDS_IMAGE, NULL },
};

/* get_activation(), get_policy() and get_cost_type() names. */
static const char *const activations[] = { "logistic", "loggy", "relu",	  "elu",    "selu",
					   "relie",    "plse",	"hardtan", "lhtan", "linear",
					   "ramp",     "leaky", "tanh",	  "stair",  NULL };
static const char *const policies[] = { "random", "poly", "constant", "step",
					"exp",	  "sigmoid", "steps",  NULL };
static const char *const cost_types[] = { "seg", "sse", "masked", "smooth", "L1", "wgan", NULL };

static const struct secdef *find_secdef(const char *name)
{
	for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
		if (!strcmp(sections[i].name, name))
			return &sections[i];
	return NULL;
}

static const struct keydef *find_key(const struct keydef *keys, const char *key)
{
	for (; keys->key; keys++)
		if (!strcmp(keys->key, key))
			return keys;
	return NULL;
}

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return 1;
	return 0;
}

/* ---- numbers -------------------------------------------------------- */

static int parse_long(const char *s, long *out)
{
	if (!*s)
		return -1;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*end || errno || v < INT_MIN || v > INT_MAX)
		return -1;
	*out = v;
	return 0;
}

static int parse_double(const char *s, double *out)
{
	if (!*s)
		return -1;
	/* strtod also reads hex floats, "inf" and "nan": Darknet's atof does too,
	 * but none of them belongs in a cfg. */
	for (const char *p = s; *p; p++)
		if (!strchr("0123456789+-.eE", *p))
			return -1;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (*end || errno == ERANGE || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

static const char *cons_text(enum vcons c)
{
	switch (c) {
	case C_POS:
		return "positive";
	case C_NONNEG:
		return "zero or more";
	case C_PROB:
		return "in [0, 1)";
	case C_NONZERO:
		return "non-zero";
	default:
		return "";
	}
}

static int cons_ok(enum vcons c, double v)
{
	switch (c) {
	case C_POS:
		return v > 0;
	case C_NONNEG:
		return v >= 0;
	case C_PROB:
		return v >= 0 && v < 1;
	case C_NONZERO:
		return v != 0;
	default:
		return 1;
	}
}

/* Split a comma list; returns the number of elements (>= 1). */
static int list_count(const char *s)
{
	int n = 1;
	for (; *s; s++)
		n += *s == ',';
	return n;
}

/* The comma list element starting at *s into buf (room for strlen(*s)+1);
 * *s moves past it and its comma, so that walking a list is linear. */
static void list_next(const char **s, char *buf)
{
	size_t n = strcspn(*s, ",");
	memcpy(buf, *s, n);
	buf[n] = '\0';
	*s += n + ((*s)[n] == ',');
}

static int check_value(const struct cfg *c, const struct cfg_section *sec, const struct cfg_option *o,
		       const struct keydef *kd)
{
	const char *v = o->value;
	long l = 0;
	double d = 0;
	switch (kd->type) {
	case T_INT:
		if (parse_long(v, &l))
			return error("%s:%d: '%s' must be an integer, got '%s'", c->path, o->line, o->key, v);
		if (!cons_ok(kd->cons, (double)l))
			return error("%s:%d: '%s' must be %s, got %ld", c->path, o->line, o->key,
				     cons_text(kd->cons), l);
		return 0;
	case T_FLOAT:
		if (parse_double(v, &d))
			return error("%s:%d: '%s' must be a number, got '%s'", c->path, o->line, o->key, v);
		if (!cons_ok(kd->cons, d))
			return error("%s:%d: '%s' must be %s, got %s", c->path, o->line, o->key,
				     cons_text(kd->cons), v);
		return 0;
	case T_INTS:
	case T_FLOATS: {
		int n = list_count(v);
		char *buf = xmalloc(strlen(v) + 1);
		int rc = 0;
		const char *at = v;
		for (int i = 0; i < n && !rc; i++) {
			list_next(&at, buf);
			int bad = kd->type == T_INTS ? parse_long(buf, &l) : parse_double(buf, &d);
			if (kd->type == T_INTS)
				d = (double)l;
			if (bad)
				rc = error("%s:%d: '%s' element %d must be %s, got '%s'", c->path, o->line,
					   o->key, i + 1, kd->type == T_INTS ? "an integer" : "a number",
					   buf);
			else if (!cons_ok(kd->cons, d))
				rc = error("%s:%d: '%s' element %d must be %s, got '%s'", c->path, o->line,
					   o->key, i + 1, cons_text(kd->cons), buf);
		}
		free(buf);
		return rc;
	}
	case T_ACT:
		if (!in_list(activations, v))
			return error("%s:%d: unknown activation '%s' in [%s]", c->path, o->line, v, sec->name);
		return 0;
	case T_POLICY:
		if (!in_list(policies, v))
			return error("%s:%d: unknown learning-rate policy '%s'", c->path, o->line, v);
		return 0;
	case T_COST:
		if (!in_list(cost_types, v))
			return error("%s:%d: unknown cost type '%s'", c->path, o->line, v);
		return 0;
	case T_STR:
		return 0;
	}
	return 0;
}

/* ---- option lookup --------------------------------------------------- */

static const struct cfg_option *sec_find(const struct cfg_section *s, const char *key)
{
	for (int i = 0; i < s->n_opts; i++)
		if (!strcmp(s->opts[i].key, key))
			return &s->opts[i];
	return NULL;
}

/* Values were checked before these are used. */
static long sec_int(const struct cfg_section *s, const char *key, long dflt)
{
	const struct cfg_option *o = sec_find(s, key);
	long v;
	return o && !parse_long(o->value, &v) ? v : dflt;
}

static double sec_double(const struct cfg_section *s, const char *key, double dflt)
{
	const struct cfg_option *o = sec_find(s, key);
	double v;
	return o && !parse_double(o->value, &v) ? v : dflt;
}

static int sec_line(const struct cfg_section *s, const char *key)
{
	const struct cfg_option *o = sec_find(s, key);
	return o ? o->line : s->line;
}

/* ---- the walk through the network ------------------------------------ */

/* Output of one layer as Darknet sizes it. An "image" has h, w, c > 0; a
 * flat output (after [connected], [softmax], ...) has h = w = c = 0. */
struct shape {
	long h, w, c, outputs;
};

/* A shape rule's answer for a layer whose sizes are not modelled here. */
enum { LAYER_UNMODELLED = 1 };

/* The state of one walk through c. */
struct walk {
	const struct cfg *c;
	const char *path;
	const struct secdef **defs; /* (c->n) each section's table row */
	struct shape *out;          /* (layers) each layer's output, while known */
	int layers;                 /* c->n - 1 */
	int unknown_sec;            /* 0, or the first section whose sizes are not modelled */
};

static int is_image(const struct shape *s)
{
	return s->h > 0 && s->w > 0 && s->c > 0;
}

/* a * b * c if it fits Darknet's int sizes, else -1. */
static long product(long a, long b, long c)
{
	double p = (double)a * (double)b * (double)c;
	return p > INT_MAX || p < INT_MIN ? -1 : a * b * c;
}

/* "only layers 0..i-1 come before it", for a reference from layer i. */
static const char *before_text(int i, char *buf, size_t n)
{
	if (i == 0)
		return "no layer comes before it";
	if (i == 1)
		snprintf(buf, n, "only layer 0 comes before it");
	else
		snprintf(buf, n, "only layers 0..%d come before it", i - 1);
	return buf;
}

/* Resolve a Darknet layer reference (negative: relative to layer index). */
static long resolve_ref(long ref, int index)
{
	return ref < 0 ? index + ref : ref;
}

/* Section names, keys, values and duplicates; fills w->defs. */
static int check_keys(struct walk *w)
{
	const struct cfg *c = w->c;
	for (int i = 0; i < c->n; i++) {
		const struct cfg_section *s = &c->sections[i];
		const struct secdef *d = w->defs[i] = find_secdef(s->name);
		if (!d)
			return error("%s:%d: unknown section [%s]", w->path, s->line, s->name);
		if (i == 0 && d->kind != K_NET)
			return error("%s:%d: first section must be [net] or [network], not [%s]", w->path,
				     s->line, s->name);
		if (i > 0 && d->kind == K_NET)
			return error("%s:%d: [%s] may only be the first section", w->path, s->line,
				     s->name);
		for (int j = 0; j < s->n_opts; j++) {
			const struct cfg_option *o = &s->opts[j];
			for (int k = 0; k < j; k++)
				if (!strcmp(s->opts[k].key, o->key))
					return error("%s:%d: duplicate key '%s' in [%s] (first at line %d)",
						     w->path, o->line, o->key, s->name, s->opts[k].line);
			const struct keydef *kd = find_key(d->keys, o->key);
			if (!kd && i > 0)
				kd = find_key(common_keys, o->key);
			if (!kd)
				return error("%s:%d: unknown key '%s' in [%s]", w->path, o->line, o->key,
					     s->name);
			if (check_value(c, s, o, kd))
				return -1;
		}
	}
	return 0;
}

/* [net]: batch and subdivisions, the steps policy, and the input *in. */
static int check_net(const struct walk *w, struct shape *in)
{
	const struct cfg_section *net = &w->c->sections[0];
	long batch = sec_int(net, "batch", 1), subdivs = sec_int(net, "subdivisions", 1);
	if (batch % subdivs)
		return error("%s:%d: batch %ld is not divisible by subdivisions %ld", w->path,
			     sec_line(net, "batch"), batch, subdivs);
	const char *policy = sec_find(net, "policy") ? sec_find(net, "policy")->value : "constant";
	if (!strcmp(policy, "steps")) {
		const struct cfg_option *st = sec_find(net, "steps"), *sc = sec_find(net, "scales");
		if (!st || !sc)
			return error("%s:%d: policy=steps needs both steps= and scales=", w->path,
				     sec_line(net, "policy"));
		if (list_count(st->value) != list_count(sc->value))
			return error("%s:%d: steps has %d values but scales has %d", w->path, sc->line,
				     list_count(st->value), list_count(sc->value));
	}
	*in = (struct shape){ sec_int(net, "height", 0), sec_int(net, "width", 0),
			      sec_int(net, "channels", 0), 0 };
	in->outputs = sec_int(net, "inputs", product(in->h, in->w, in->c));
	if (product(in->h, in->w, in->c) < 0)
		return error("%s:%d: input size %ldx%ldx%ld is too large", w->path, net->line, in->w,
			     in->h, in->c);
	if (in->outputs <= 0)
		return error("%s:%d: no input size: set width, height and channels in [%s]", w->path,
			     net->line, net->name);
	if (w->layers == 0)
		return error("%s:%d: no layers after [%s]", w->path, net->line, net->name);
	return 0;
}

/* [shortcut] from= and [route] layers= of layer i name layers before it.
 * Checked whether or not the shapes are known. */
static int check_refs(const struct walk *w, int i)
{
	const struct cfg_section *s = &w->c->sections[i + 1];
	enum kind k = w->defs[i + 1]->kind;
	char before[64];
	if (k == K_SHORTCUT) {
		const struct cfg_option *f = sec_find(s, "from");
		if (!f)
			return error("%s:%d: [shortcut] needs from=", w->path, s->line);
		long r = resolve_ref(sec_int(s, "from", 0), i);
		if (r < 0 || r >= i)
			return error("%s:%d: shortcut from=%s refers to layer %ld, but %s", w->path,
				     f->line, f->value, r, before_text(i, before, sizeof before));
	}
	if (k != K_ROUTE)
		return 0;
	const struct cfg_option *f = sec_find(s, "layers");
	if (!f)
		return error("%s:%d: [route] needs layers=", w->path, s->line);
	int n = list_count(f->value), rc = 0;
	char *buf = xmalloc(strlen(f->value) + 1);
	const char *at = f->value;
	for (int j = 0; j < n && !rc; j++) {
		long v = 0;
		list_next(&at, buf);
		parse_long(buf, &v);
		long r = resolve_ref(v, i);
		if (r < 0 || r >= i)
			rc = error("%s:%d: route layers= element %d (%ld) refers to layer %ld, but %s",
				   w->path, f->line, j + 1, v, r, before_text(i, before, sizeof before));
	}
	free(buf);
	return rc;
}

/* ---- shape rules: the output-size arithmetic of Darknet's make_<type>_layer().
 * Each starts from *o = { 0, 0, 0, in->outputs }. */

static int shape_conv(const struct walk *w, int i, const struct shape *in, struct shape *o)
{
	const struct cfg_section *s = &w->c->sections[i + 1];
	if (!is_image(in))
		return 0;
	long size = sec_int(s, "size", 1), stride = sec_int(s, "stride", 1);
	long filters = sec_int(s, "filters", 1), groups = sec_int(s, "groups", 1);
	long padding = sec_int(s, "pad", 0) ? size / 2 : sec_int(s, "padding", 0);
	if (in->c % groups || filters % groups)
		return error("%s:%d: groups=%ld must divide both the input channels (%ld) and filters (%ld)",
			     w->path, sec_line(s, "groups"), groups, in->c, filters);
	o->h = (in->h + 2 * padding - size) / stride + 1;
	o->w = (in->w + 2 * padding - size) / stride + 1;
	o->c = filters;
	if (product(in->c / groups * filters, size, size) < 0)
		return error("%s:%d: [%s] would have too many weights", w->path, s->line, s->name);
	return 0;
}

static int shape_maxpool(const struct walk *w, int i, const struct shape *in, struct shape *o)
{
	const struct cfg_section *s = &w->c->sections[i + 1];
	if (!is_image(in))
		return 0;
	long stride = sec_int(s, "stride", 1);
	long size = sec_int(s, "size", stride);
	long padding = sec_int(s, "padding", size - 1);
	o->h = (in->h + padding - size) / stride + 1;
	o->w = (in->w + padding - size) / stride + 1;
	o->c = in->c;
	return 0;
}

static int shape_avgpool(const struct walk *w, int i, const struct shape *in, struct shape *o)
{
	(void)w, (void)i;
	o->h = o->w = 1;
	o->c = in->c;
	return 0;
}

static int shape_crop(const struct walk *w, int i, const struct shape *in, struct shape *o)
{
	const struct cfg_section *s = &w->c->sections[i + 1];
	o->h = sec_int(s, "crop_height", 1);
	o->w = sec_int(s, "crop_width", 1);
	o->c = in->c;
	return 0;
}

static int shape_connected(const struct walk *w, int i, const struct shape *in, struct shape *o)
{
	const struct cfg_section *s = &w->c->sections[i + 1];
	o->h = o->w = 1;
	o->c = sec_int(s, "output", 1);
	if (product(in->outputs, o->c, 1) < 0)
		return error("%s:%d: [%s] would have too many weights (%ld inputs x %ld outputs)",
			     w->path, s->line, s->name, in->outputs, o->c);
	return 0;
}

/* Flat, as many outputs as inputs: Darknet leaves out_h/w/c at 0. */
static int shape_flat(const struct walk *w, int i, const struct shape *in, struct shape *o)
{
	(void)w, (void)i, (void)in, (void)o;
	return 0;
}

static int shape_softmax(const struct walk *w, int i, const struct shape *in, struct shape *o)
{
	const struct cfg_section *s = &w->c->sections[i + 1];
	long groups = sec_int(s, "groups", 1);
	if (in->outputs % groups)
		return error("%s:%d: softmax groups=%ld does not divide its %ld inputs", w->path,
			     sec_line(s, "groups"), groups, in->outputs);
	return shape_flat(w, i, in, o);
}

static int shape_shortcut(const struct walk *w, int i, const struct shape *in, struct shape *o)
{
	const struct cfg_section *s = &w->c->sections[i + 1];
	if (!is_image(in))
		return 0;
	const struct shape *f = &w->out[resolve_ref(sec_int(s, "from", 0), i)];
	if (!is_image(f))
		return error("%s:%d: shortcut from=%s refers to a layer that does not output an image",
			     w->path, sec_line(s, "from"), sec_find(s, "from")->value);
	if ((in->w % f->w && f->w % in->w) || (in->h % f->h && f->h % in->h) ||
	    in->w * f->h != in->h * f->w)
		return error("%s:%d: shortcut from=%s joins %ldx%ld to %ldx%ld, which Darknet cannot scale",
			     w->path, sec_line(s, "from"), sec_find(s, "from")->value, f->w, f->h,
			     in->w, in->h);
	*o = *in;
	return 0;
}

/* Layers of one width and height are concatenated along channels; any
 * other mix is flat to Darknet. */
static int shape_route(const struct walk *w, int i, const struct shape *in, struct shape *o)
{
	(void)in;
	const char *v = sec_find(&w->c->sections[i + 1], "layers")->value;
	int n = list_count(v);
	char *buf = xmalloc(strlen(v) + 1);
	o->outputs = 0;
	struct shape first = { 0, 0, 0, 0 };
	const char *at = v;
	for (int j = 0; j < n; j++) {
		long ref = 0;
		list_next(&at, buf);
		parse_long(buf, &ref);
		const struct shape *f = &w->out[resolve_ref(ref, i)];
		o->outputs += f->outputs;
		if (j == 0) {
			first = *f;
			o->h = f->h;
			o->w = f->w;
			o->c = f->c;
		} else if (f->w == first.w && f->h == first.h) {
			o->c += f->c;
		} else {
			o->h = o->w = o->c = 0;
		}
	}
	free(buf);
	return 0;
}

static int shape_upsample(const struct walk *w, int i, const struct shape *in, struct shape *o)
{
	const struct cfg_section *s = &w->c->sections[i + 1];
	long st = sec_int(s, "stride", 2);
	if (st > 0) {
		o->h = product(in->h, st, 1);
		o->w = product(in->w, st, 1);
	} else {
		o->h = in->h / -st;
		o->w = in->w / -st;
	}
	o->c = in->c;
	if (o->h < 0 || o->w < 0)
		return error("%s:%d: [%s] would output too many values", w->path, s->line, s->name);
	return 0;
}

static int shape_reorg(const struct walk *w, int i, const struct shape *in, struct shape *o)
{
	const struct cfg_section *s = &w->c->sections[i + 1];
	long st = sec_int(s, "stride", 1);
	if (sec_int(s, "extra", 0) || sec_int(s, "flatten", 0))
		return LAYER_UNMODELLED;
	if (product(st, st, 1) < 0)
		return error("%s:%d: [reorg] stride %ld is too large", w->path, s->line, st);
	if (sec_int(s, "reverse", 0)) {
		o->h = product(in->h, st, 1);
		o->w = product(in->w, st, 1);
		o->c = in->c / (st * st);
	} else {
		o->h = in->h / st;
		o->w = in->w / st;
		o->c = product(in->c, st, st);
	}
	if (o->h < 0 || o->w < 0 || o->c < 0)
		return error("%s:%d: [%s] would output too many values", w->path, s->line, s->name);
	return 0;
}

/* Layer i's output *o from its input *in: its rule, then the checks its
 * traits ask for. 0, -1 with an error, or LAYER_UNMODELLED. */
static int layer_shape(const struct walk *w, int i, const struct shape *in, struct shape *o)
{
	const struct cfg_section *s = &w->c->sections[i + 1];
	const struct secdef *d = w->defs[i + 1];
	*o = (struct shape){ 0, 0, 0, in->outputs };
	if (d->traits & KEEPS_SHAPE) {
		*o = *in;
	} else if (!d->rule) {
		return LAYER_UNMODELLED;
	} else {
		int rc = d->rule(w, i, in, o);
		if (rc)
			return rc;
	}
	if ((d->traits & NEEDS_IMAGE) && !is_image(in))
		return error("%s:%d: [%s] needs an image input, but the layer before it outputs %ld flat values",
			     w->path, s->line, s->name, in->outputs);
	if (!(d->traits & OWN_COUNT)) {
		if (o->h <= 0 || o->w <= 0 || o->c <= 0)
			return error("%s:%d: [%s] would output %ldx%ldx%ld from a %ldx%ldx%ld input",
				     w->path, s->line, s->name, o->w, o->h, o->c, in->w, in->h, in->c);
		o->outputs = product(o->h, o->w, o->c);
	}
	if (o->outputs < 0 || o->outputs > INT_MAX)
		return error("%s:%d: [%s] would output too many values", w->path, s->line, s->name);
	return 0;
}

/* Every layer in order: its references, then (while the sizes are modelled)
 * its output shape into w->out, from the network's input. */
static int check_layers(struct walk *w, struct shape in)
{
	for (int i = 0; i < w->layers; i++) {
		if (check_refs(w, i))
			return -1;
		if (w->unknown_sec)
			continue;
		int rc = layer_shape(w, i, &in, &w->out[i]);
		if (rc < 0)
			return -1;
		if (rc == LAYER_UNMODELLED)
			w->unknown_sec = i + 1;
		else
			in = w->out[i];
	}
	return 0;
}

/* The network's output: the last layer that is not [cost]. */
static int last_layer(const struct walk *w)
{
	int last = w->layers - 1;
	while (last > 0 && w->defs[last + 1]->kind == K_COST)
		last--;
	return last;
}

/* classes > 0: the network must output that many values. */
static int check_classes(const struct walk *w, int classes)
{
	if (classes <= 0)
		return 0;
	const struct cfg_section *s = &w->c->sections[last_layer(w) + 1];
	if (w->unknown_sec)
		return error("%s:%d: cannot work out the output size past [%s] to check --classes",
			     w->path, w->c->sections[w->unknown_sec].line,
			     w->c->sections[w->unknown_sec].name);
	long result = w->out[last_layer(w)].outputs;
	if (result != classes)
		return error("%s:%d: the network outputs %ld values per image (final layer [%s]), not %d classes",
			     w->path, s->line, result, s->name, classes);
	return 0;
}

/* All checks past the syntax. classes > 0: the final output must be that.
 * *final (if not NULL) receives the final output count, or -1 when some layer
 * makes it impossible to work out (then *unknown_at gets that section);
 * *final_shape the final layer's shape; all[] (if not NULL, one per layer)
 * each layer's shape, outputs -1 from the first that is not modelled. */
static int cfg_walk(const struct cfg *c, int classes, long *final, int *unknown_at,
		    struct shape *final_shape, struct cfg_shape *all)
{
	if (c->n < 1)
		return error("%s:1: first section must be [net] or [network]", c->path);
	struct walk w = { c, c->path, xcalloc((size_t)c->n, sizeof *w.defs),
			  xcalloc((size_t)(c->n > 1 ? c->n - 1 : 1), sizeof *w.out), c->n - 1, 0 };
	struct shape in;
	int rc = -1;
	if (check_keys(&w) || check_net(&w, &in) || check_layers(&w, in) ||
	    check_classes(&w, classes))
		goto out;
	int known = !w.unknown_sec, last = last_layer(&w);
	if (final)
		*final = known ? w.out[last].outputs : -1;
	if (final_shape)
		*final_shape = known ? w.out[last] : (struct shape){ 0, 0, 0, -1 };
	if (unknown_at)
		*unknown_at = w.unknown_sec;
	for (int i = 0; all && i < w.layers; i++) {
		int modelled = known || i + 1 < w.unknown_sec;
		all[i] = (struct cfg_shape){ w.out[i].h, w.out[i].w, w.out[i].c,
					     modelled ? w.out[i].outputs : -1 };
	}
	rc = 0;
out:
	free(w.out);
	free(w.defs);
	return rc;
}

int cfg_check(const struct cfg *c, int classes)
{
	return cfg_walk(c, classes, NULL, NULL, NULL, NULL);
}

int cfg_layer_shapes(const struct cfg *c, struct cfg_shape *shapes)
{
	return cfg_walk(c, 0, NULL, NULL, NULL, shapes);
}

long cfg_section_int(const struct cfg_section *s, const char *key, long dflt)
{
	return sec_int(s, key, dflt);
}

long cfg_outputs(const struct cfg *c)
{
	long n;
	if (cfg_walk(c, 0, &n, NULL, NULL, NULL))
		return -1;
	return n < 0 ? 0 : n;
}

/* The first section called name, or NULL. */
static const struct cfg_section *find_section(const struct cfg *c, const char *name)
{
	for (int i = 1; i < c->n; i++)
		if (!strcmp(c->sections[i].name, name))
			return &c->sections[i];
	return NULL;
}

int cfg_is_reconstruction(const struct cfg *c)
{
	return c->n > 2 && !strcmp(c->sections[c->n - 1].name, "cost") && !find_section(c, "softmax");
}

int cfg_check_reconstruction(const struct cfg *c)
{
	struct shape fin;
	int unknown_at;
	long n;
	if (cfg_walk(c, 0, &n, &unknown_at, &fin, NULL))
		return -1;
	const struct cfg_section *sm = find_section(c, "softmax");
	if (sm)
		return error("%s:%d: [softmax] makes this a classifier; a one_class model must "
			     "reconstruct its input (declare this cfg a supervised model)",
			     c->path, sm->line);
	const struct cfg_section *last = &c->sections[c->n - 1];
	if (c->n < 3 || strcmp(last->name, "cost"))
		return error("%s:%d: a one_class model must end in [cost] (type=sse), after at "
			     "least one layer; the last section is [%s]",
			     c->path, last->line, last->name);
	const struct cfg_option *type = NULL;
	for (int j = 0; j < last->n_opts; j++)
		if (!strcmp(last->opts[j].key, "type"))
			type = &last->opts[j];
	if (type && strcmp(type->value, "sse"))
		return error("%s:%d: a one_class model's [cost] must be type=sse, not '%s'", c->path,
			     type->line, type->value);
	if (unknown_at)
		return error("%s:%d: cannot work out the output shape past [%s]; darkfold checks "
			     "reconstruction networks built from [upsample] and [convolutional]",
			     c->path, c->sections[unknown_at].line, c->sections[unknown_at].name);
	long w = cfg_net_int(c, "width", 0), h = cfg_net_int(c, "height", 0),
	     ch = cfg_net_int(c, "channels", 0);
	if (fin.w != w || fin.h != h || fin.c != ch)
		return error("%s:%d: the network outputs %ldx%ldx%ld per image, but a one_class "
			     "model must reproduce its %ldx%ldx%ld input",
			     c->path, last->line, fin.w, fin.h, fin.c, w, h, ch);
	return 0;
}

int cfg_n_layers(const struct cfg *c)
{
	return c->n > 0 ? c->n - 1 : 0;
}

/* ---- syntax ----------------------------------------------------------- */

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Trim in place; returns the start. */
static char *trim(char *s)
{
	while (is_blank(*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && is_blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Darknet deletes every blank in a line before reading it. Blanks next to a
 * ',' are harmless; any other inner blank would silently glue two words
 * together (e.g. an inline comment onto a number), so it is an error.
 * Removes the harmless ones in place; returns -1 on a harmful one. */
static int squeeze_value(char *v)
{
	char *w = v;
	for (char *p = v; *p; p++) {
		if (is_blank(*p)) {
			char prev = w > v ? w[-1] : ',';
			char *q = p;
			while (is_blank(*q))
				q++;
			if (prev != ',' && *q != ',')
				return -1;
			p = q - 1;
			continue;
		}
		*w++ = *p;
	}
	*w = '\0';
	return 0;
}

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

static void add_section(struct cfg *c, const char *name, int line)
{
	c->sections = xrealloc(c->sections, (size_t)(c->n + 1) * sizeof *c->sections);
	struct cfg_section *s = &c->sections[c->n++];
	s->name = xstrdup(name);
	s->line = line;
	s->opts = NULL;
	s->n_opts = 0;
}

static void add_option(struct cfg_section *s, const char *key, const char *value, int line)
{
	s->opts = xrealloc(s->opts, (size_t)(s->n_opts + 1) * sizeof *s->opts);
	struct cfg_option *o = &s->opts[s->n_opts++];
	o->key = xstrdup(key);
	o->value = xstrdup(value);
	o->line = line;
}

static int parse_line(struct cfg *c, char *raw, int line)
{
	char *s = trim(raw);
	if (!*s || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		/* Darknet strips blanks, so "[ net ]" is [net]. */
		char *w = s;
		for (char *p = s; *p; p++)
			if (!is_blank(*p))
				*w++ = *p;
		*w = '\0';
		size_t n = strlen(s);
		if (n < 3 || s[n - 1] != ']')
			return error("%s:%d: malformed section header '%s'", c->path, line, s);
		s[n - 1] = '\0';
		if (!valid_name(s + 1))
			return error("%s:%d: malformed section header '%s]'", c->path, line, s);
		add_section(c, s + 1, line);
		return 0;
	}
	char *eq = strchr(s, '=');
	if (!eq)
		return error("%s:%d: expected key=value or [section], got '%s'", c->path, line, s);
	*eq = '\0';
	char *key = trim(s), *value = trim(eq + 1);
	if (!valid_name(key))
		return error("%s:%d: malformed key '%s'", c->path, line, key);
	if (!*value)
		return error("%s:%d: '%s' has no value", c->path, line, key);
	char *orig = xstrdup(value);
	if (squeeze_value(value)) {
		error("%s:%d: value '%s' of '%s' contains a blank (Darknet has no inline comments and would read it glued together)",
		      c->path, line, orig, key);
		free(orig);
		return -1;
	}
	free(orig);
	if (c->n == 0)
		return error("%s:%d: '%s' comes before the first section", c->path, line, key);
	add_option(&c->sections[c->n - 1], key, value, line);
	return 0;
}

int cfg_parse(const char *path, const char *text, size_t len, int classes, struct cfg *out)
{
	struct cfg c = { xstrdup(path), NULL, 0 };
	memset(out, 0, sizeof *out);
	size_t pos = 0;
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
		pos = 3;
	int line = 0;
	char *buf = xmalloc(len + 1);
	while (pos < len) {
		line++;
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		pos += n + (nl ? 1 : 0);
		if (n > 0 && start[n - 1] == '\r')
			n--;
		memcpy(buf, start, n);
		buf[n] = '\0';
		if (strlen(buf) != n) {
			error("%s:%d: NUL byte in line", path, line);
			goto fail;
		}
		if (strchr(buf, '\r')) {
			error("%s:%d: carriage return inside a line (only LF or CRLF line ends are read)",
			      path, line);
			goto fail;
		}
		if (parse_line(&c, buf, line))
			goto fail;
	}
	free(buf);
	buf = NULL;
	if (c.n == 0) {
		error("%s:%d: no sections; the first section must be [net] or [network]", path,
		      line > 0 ? line : 1);
		goto fail;
	}
	if (cfg_walk(&c, classes, NULL, NULL, NULL, NULL))
		goto fail;
	*out = c;
	return 0;
fail:
	free(buf);
	cfg_release(&c);
	return -1;
}

int cfg_load(const char *path, int classes, struct cfg *out)
{
	char *text;
	size_t len;
	memset(out, 0, sizeof *out);
	if (fs_read_file(path, &text, &len))
		return -1;
	int rc = cfg_parse(path, text, len, classes, out);
	free(text);
	return rc;
}

void cfg_release(struct cfg *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->n; i++) {
		struct cfg_section *s = &c->sections[i];
		for (int j = 0; j < s->n_opts; j++) {
			free(s->opts[j].key);
			free(s->opts[j].value);
		}
		free(s->opts);
		free(s->name);
	}
	free(c->sections);
	free(c->path);
	memset(c, 0, sizeof *c);
}

/* ---- edits --------------------------------------------------------------- */

static void sec_set(struct cfg_section *s, const char *key, const char *value)
{
	for (int i = 0; i < s->n_opts; i++)
		if (!strcmp(s->opts[i].key, key)) {
			free(s->opts[i].value);
			s->opts[i].value = xstrdup(value);
			return;
		}
	add_option(s, key, value, s->line);
}

void cfg_set_net(struct cfg *c, const char *key, const char *value)
{
	if (c->n == 0)
		add_section(c, "net", 1);
	sec_set(&c->sections[0], key, value);
}

void cfg_set_net_int(struct cfg *c, const char *key, long value)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%ld", value);
	cfg_set_net(c, key, buf);
}

void cfg_set_net_double(struct cfg *c, const char *key, double value)
{
	char buf[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, value);
		if (strtod(buf, NULL) == value)
			break;
	}
	cfg_set_net(c, key, buf);
}

const char *cfg_net_get(const struct cfg *c, const char *key)
{
	if (c->n == 0)
		return NULL;
	const struct cfg_option *o = sec_find(&c->sections[0], key);
	return o ? o->value : NULL;
}

int cfg_net_int(const struct cfg *c, const char *key, int dflt)
{
	return c->n ? (int)sec_int(&c->sections[0], key, dflt) : dflt;
}

double cfg_net_double(const struct cfg *c, const char *key, double dflt)
{
	return c->n ? sec_double(&c->sections[0], key, dflt) : dflt;
}

int cfg_set_classes(struct cfg *c, int classes)
{
	if (classes <= 0)
		return error("%s: class count must be positive, got %d", c->path, classes);
	int i = c->n - 1;
	for (; i > 0; i--) {
		const struct secdef *d = find_secdef(c->sections[i].name);
		if (!d)
			return error("%s:%d: unknown section [%s]", c->path, c->sections[i].line,
				     c->sections[i].name);
		if (d->class_key)
			break;
		if (!(d->traits & CLASS_TAIL))
			return error("%s:%d: cannot set the class count: [%s] follows the last [convolutional] or [connected] layer",
				     c->path, c->sections[i].line, c->sections[i].name);
	}
	if (i <= 0)
		return error("%s: cannot set the class count: no [convolutional] or [connected] layer",
			     c->path);
	struct cfg_section *s = &c->sections[i];
	const char *key = find_secdef(s->name)->class_key;
	const struct cfg_option *o = sec_find(s, key);
	char *old = o ? xstrdup(o->value) : NULL;
	char buf[32];
	snprintf(buf, sizeof buf, "%d", classes);
	sec_set(s, key, buf);
	if (cfg_check(c, classes)) {
		/* Put the file back as it was. */
		if (old) {
			sec_set(s, key, old);
		} else {
			free(s->opts[s->n_opts - 1].key);
			free(s->opts[s->n_opts - 1].value);
			s->n_opts--;
		}
		free(old);
		return -1;
	}
	free(old);
	return 0;
}

/* ---- output ---------------------------------------------------------------- */

static const char effective_header[] = "# effective cfg written by darkfold: edit the model's cfg, not this file\n";

char *cfg_to_text(const struct cfg *c)
{
	size_t cap = sizeof effective_header;
	for (int i = 0; i < c->n; i++) {
		cap += strlen(c->sections[i].name) + 4;
		for (int j = 0; j < c->sections[i].n_opts; j++)
			cap += strlen(c->sections[i].opts[j].key) + strlen(c->sections[i].opts[j].value) + 2;
	}
	char *text = xmalloc(cap + 1);
	size_t n = 0;
	memcpy(text, effective_header, sizeof effective_header - 1);
	n += sizeof effective_header - 1;
	for (int i = 0; i < c->n; i++) {
		const struct cfg_section *s = &c->sections[i];
		n += (size_t)sprintf(text + n, "%s[%s]\n", i ? "\n" : "", s->name);
		for (int j = 0; j < s->n_opts; j++)
			n += (size_t)sprintf(text + n, "%s=%s\n", s->opts[j].key, s->opts[j].value);
	}
	return text;
}

int cfg_write(const struct cfg *c, const char *path, char sha256[65])
{
	if (cfg_check(c, 0))
		return error("not writing '%s': the effective cfg is invalid", path);
	char *text = cfg_to_text(c);
	size_t len = strlen(text);
	int rc = fs_write_atomic(path, text, len);
	if (!rc)
		sha256_hex(text, len, sha256);
	free(text);
	return rc;
}
