/* summary.c: summary.json from unit result files. */
#include "summary.h"

#include "error.h"
#include "folds.h"
#include "fsutil.h"
#include "json.h"
#include "mapfig.h"
#include "metrics.h"
#include "stats.h"
#include "result.h"
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const summary_compared[SUMMARY_N_COMPARED] = {
	"f2", "accuracy", "recall", "auroc", "loss",
};

/* How a unit counts in summary.json: "failed" includes interrupted units. */
enum unit_state { UNIT_MISSING, UNIT_OK, UNIT_DIVERGED, UNIT_FAILED };

/* One unit file, read. Strings point into doc. */
struct unit {
	enum unit_state status;
	int stale;           /* made for another experiment or other inputs */
	struct json *doc;
	int n;               /* predictions */
	int *label;          /* (n) */
	double *p;           /* (n) p_anomalous */
	const char **defect; /* (n) */
	const char **path;   /* (n) */
	double threshold;
	double test_train;   /* n_test / n_train, NAN when not recorded */
	int n_epochs;
	double *train_loss, *val_loss; /* (n_epochs), NAN when absent */
	double train_seconds, images_per_second;
	struct metrics m;    /* per-fold metrics (ok units) */
	int one_class;       /* kind "one_class" or "knn": p is an anomaly score */
	int knn;             /* kind "knn" */
	double pixel[2];     /* pixel_auroc, pro; NAN when absent */
	double map_scale;    /* scale of the maps under <work>/maps; NAN: no maps */
};

/* The per-unit values of one model (or baseline). */
struct group {
	const char *name;
	struct unit *u; /* (repeats * k), unit (r, f) at r * k + f */
};

static void unit_release(struct unit *u)
{
	json_free(u->doc);
	free(u->label);
	free(u->p);
	free(u->defect);
	free(u->path);
	free(u->train_loss);
	free(u->val_loss);
	metrics_release(&u->m);
	memset(u, 0, sizeof *u);
}

/* A unit file that names another experiment, or whose inputs hash is not
 * expected (when expected is not NULL), is stale: an error, or with
 * allow_stale a warning and u->stale. */
static int check_stale(const struct summary_config *c, const char *file, const char *expected,
		       struct unit *u)
{
	const char *exp = json_string(json_get(u->doc, "experiment"));
	const char *inputs = json_string(json_get(u->doc, "inputs_sha256"));
	char why[256];
	if (!exp || strcmp(exp, c->experiment))
		snprintf(why, sizeof why, "it belongs to experiment '%.64s', not '%.64s'",
			 exp ? exp : "(none)", c->experiment);
	else if (expected && (inputs ? strcmp(inputs, expected) != 0 : u->status != UNIT_FAILED))
		snprintf(why, sizeof why, "its inputs hash is not the current one (the experiment, "
			 "cfg or data changed since it was made)");
	else
		return 0;
	if (!c->allow_stale)
		return error("'%s': stale unit file: %s; rerun it with 'darkfold run' or report it "
			     "marked stale with --allow-stale", file, why);
	warning("'%s': stale unit file, reported marked stale: %s", file, why);
	u->stale = 1;
	return 0;
}

/* The pixel-level metrics of one-class units, in struct unit's order. */
static const char *const pixel_names[2] = { "pixel_auroc", "pro" };

/* 1 when the group's ok units are one-class models' (scores, not
 * probabilities). */
static int group_one_class(const struct group *g, int units)
{
	for (int i = 0; i < units; i++)
		if (g->u[i].status == UNIT_OK && g->u[i].one_class)
			return 1;
	return 0;
}

/* summary.json's models.<m>.kind: "knn", "one_class" or "supervised", by
 * the group's ok units. */
static const char *group_kind(const struct group *g, int units)
{
	for (int i = 0; i < units; i++)
		if (g->u[i].status == UNIT_OK && g->u[i].knn)
			return "knn";
	return group_one_class(g, units) ? "one_class" : "supervised";
}

static int read_unit(const char *file, const char *model, int r, int f, struct unit *u)
{
	static const enum unit_state state[UNIT_N_STATUS] = {
		[UNIT_STATUS_OK] = UNIT_OK,
		[UNIT_STATUS_DIVERGED] = UNIT_DIVERGED,
		[UNIT_STATUS_FAILED] = UNIT_FAILED,
		[UNIT_STATUS_INTERRUPTED] = UNIT_FAILED,
	};
	memset(u, 0, sizeof *u);
	if (!fs_is_file(file)) {
		u->status = UNIT_MISSING;
		return 0;
	}
	struct unit_result res;
	if (result_read_unit(file, model, r, f, &res) < 0)
		return -1;
	u->doc = res.doc;
	u->n = res.n;
	u->label = res.label;
	u->p = res.p;
	u->defect = res.defect;
	u->path = res.image;
	u->n_epochs = res.n_epochs;
	u->train_loss = res.train_loss;
	u->val_loss = res.val_loss;
	u->threshold = res.threshold;
	u->test_train = res.n_test > 0 && res.n_train > 0 ? res.n_test / res.n_train : NAN;
	u->train_seconds = res.train_seconds;
	u->images_per_second = res.images_per_second;
	u->one_class = res.one_class;
	u->knn = res.knn;
	u->pixel[0] = res.pixel_auroc;
	u->pixel[1] = res.pro;
	u->map_scale = res.map_scale;
	u->status = state[res.status];
	return 0;
}

/* The pooled out-of-fold predictions of a group's ok units. */
struct pool {
	int n;
	int *label;
	double *p, *threshold;
	const char **defect;
};

static void pool_init(struct pool *pl, const struct group *g, int units)
{
	memset(pl, 0, sizeof *pl);
	int n = 0;
	for (int i = 0; i < units; i++)
		if (g->u[i].status == UNIT_OK)
			n += g->u[i].n;
	size_t cap = (size_t)(n > 0 ? n : 1);
	pl->label = xmalloc(sizeof *pl->label * cap);
	pl->p = xmalloc(sizeof *pl->p * cap);
	pl->threshold = xmalloc(sizeof *pl->threshold * cap);
	pl->defect = xmalloc(sizeof *pl->defect * cap);
	for (int i = 0; i < units; i++) {
		const struct unit *u = &g->u[i];
		if (u->status != UNIT_OK)
			continue;
		for (int j = 0; j < u->n; j++) {
			pl->label[pl->n] = u->label[j];
			pl->p[pl->n] = u->p[j];
			pl->threshold[pl->n] = u->threshold;
			pl->defect[pl->n] = u->defect[j];
			pl->n++;
		}
	}
}

static void pool_release(struct pool *pl)
{
	free(pl->label);
	free(pl->p);
	free(pl->threshold);
	free(pl->defect);
}

struct boot_ctx {
	const struct pool *pl;
	int positive;
	double beta;
	int *label;
	double *p, *threshold;
};

static void boot_metrics(const int *idx, int n, void *vctx, double *values)
{
	struct boot_ctx *c = vctx;
	for (int i = 0; i < n; i++) {
		c->label[i] = c->pl->label[idx[i]];
		c->p[i] = c->pl->p[idx[i]];
		c->threshold[i] = c->pl->threshold[idx[i]];
	}
	struct metrics_input in = { c->label, c->p, NULL, n, c->threshold };
	struct metrics m;
	if (metrics_compute(&in, 0.5, c->positive, c->beta, &m) < 0) {
		for (int id = 0; id < METRICS_N; id++)
			values[id] = NAN;
		return;
	}
	for (int id = 0; id < METRICS_N; id++)
		values[id] = metrics_value(&m, id);
	metrics_release(&m);
}

static void write_points(struct jw *w, const char *key, const double *x, const double *y, int n)
{
	jw_key(w, key);
	jw_arr_begin(w);
	for (int i = 0; i < n; i++) {
		jw_arr_begin(w);
		jw_num(w, x[i]);
		jw_num(w, y[i]);
		jw_arr_end(w);
	}
	jw_arr_end(w);
}

/* "pooled" object and, after it, "defect_recall". */
static int write_pooled(struct jw *w, const struct summary_config *c, const struct group *g,
			int units)
{
	struct pool pl;
	pool_init(&pl, g, units);
	struct metrics_input in = { pl.label, pl.p, pl.defect, pl.n, pl.threshold };
	struct metrics m;
	if (metrics_compute(&in, 0.5, c->positive, c->beta, &m) < 0) {
		pool_release(&pl);
		return -1;
	}
	double blo[METRICS_N], bhi[METRICS_N];
	struct boot_ctx bc = { &pl, c->positive, c->beta, xmalloc(sizeof(int) * (size_t)(pl.n + 1)),
			       xmalloc(sizeof(double) * (size_t)(pl.n + 1)),
			       xmalloc(sizeof(double) * (size_t)(pl.n + 1)) };
	char *what = xasprintf("bootstrap/%s", g->name);
	stats_bootstrap(pl.n, c->bootstrap, folds_derive_seed(c->seed, what, 0, 0), c->alpha,
			METRICS_N, boot_metrics, &bc, blo, bhi);
	if (group_one_class(g, units)) {
		metrics_mark_score(&m);
		blo[METRICS_LOSS] = bhi[METRICS_LOSS] = NAN;
	}
	free(what);
	free(bc.label);
	free(bc.p);
	free(bc.threshold);

	jw_key(w, "pooled");
	jw_obj_begin(w);
	jw_kint(w, "n", pl.n);
	for (int id = 0; id < METRICS_N; id++) {
		jw_key(w, metrics_name(id));
		jw_obj_begin(w);
		jw_knum(w, "value", metrics_value(&m, id));
		long k, n;
		double wlo = NAN, whi = NAN;
		if (metrics_proportion(&m, id, &k, &n))
			stats_wilson(k, n, c->alpha, &wlo, &whi);
		jw_knum(w, "wilson_low", wlo);
		jw_knum(w, "wilson_high", whi);
		jw_knum(w, "boot_low", blo[id]);
		jw_knum(w, "boot_high", bhi[id]);
		const char *reason = m.reason[id];
		if (pl.n == 0)
			reason = "no completed units";
		jw_kstr(w, "reason", reason);
		jw_obj_end(w);
	}
	jw_key(w, "confusion");
	jw_obj_begin(w);
	jw_kint(w, "tp", m.tp);
	jw_kint(w, "fp", m.fp);
	jw_kint(w, "tn", m.tn);
	jw_kint(w, "fn", m.fn);
	jw_obj_end(w);
	double *x, *y;
	int np;
	metrics_roc(&in, c->positive, &x, &y, &np);
	write_points(w, "roc", x, y, np);
	free(x);
	free(y);
	metrics_pr(&in, c->positive, &x, &y, &np);
	write_points(w, "pr", x, y, np);
	free(x);
	free(y);
	jw_obj_end(w);

	jw_key(w, "defect_recall");
	metrics_write_defects(w, &m);
	metrics_release(&m);
	pool_release(&pl);
	return 0;
}

/* "<name>": { mean, sd, ci_low, ci_high, n, folds, reason } of the values
 * v[0..n_ok) of the ok units, n_undef of them NAN (first_reason: why). */
static void write_across(struct jw *w, const struct summary_config *c, const char *name,
			 const double *v, int n_ok, int n_undef, const char *first_reason)
{
	double mean, sd, lo, hi;
	int n;
	stats_mean_sd(v, n_ok, &mean, &sd, &n);
	stats_t_interval(v, n_ok, c->alpha, &lo, &hi);
	char *reason = NULL;
	if (n_ok == 0) {
		reason = xstrdup("no completed units");
	} else {
		if (n_undef)
			reason = xasprintf("undefined in %d of %d folds: %s", n_undef, n_ok,
					   first_reason ? first_reason : "0/0");
		if (n == 1) {
			char *r2 = xasprintf("%s%sone fold with a value: no sd or interval",
					     reason ? reason : "", reason ? "; " : "");
			free(reason);
			reason = r2;
		}
	}
	jw_key(w, name);
	jw_obj_begin(w);
	jw_knum(w, "mean", mean);
	jw_knum(w, "sd", sd);
	jw_knum(w, "ci_low", lo);
	jw_knum(w, "ci_high", hi);
	jw_kint(w, "n", n);
	jw_key(w, "folds");
	jw_arr_begin(w);
	for (int i = 0; i < n_ok; i++)
		jw_num(w, v[i]);
	jw_arr_end(w);
	jw_kstr(w, "reason", reason);
	jw_obj_end(w);
	free(reason);
}

/* "pixel_metrics": pixel AUROC and PRO across folds, like "metrics"; null
 * when no ok unit recorded them (supervised models, metrics.pixel off). */
static void write_pixel_metrics(struct jw *w, const struct summary_config *c,
				const struct group *g, int units)
{
	jw_key(w, "pixel_metrics");
	int any = 0;
	for (int i = 0; i < units; i++)
		any |= g->u[i].status == UNIT_OK &&
		       (!isnan(g->u[i].pixel[0]) || !isnan(g->u[i].pixel[1]));
	if (!any) {
		jw_null(w);
		return;
	}
	double *v = xmalloc(sizeof *v * (size_t)units);
	jw_obj_begin(w);
	for (int k = 0; k < 2; k++) {
		int n_ok = 0, n_undef = 0;
		for (int i = 0; i < units; i++)
			if (g->u[i].status == UNIT_OK) {
				v[n_ok++] = g->u[i].pixel[k];
				n_undef += isnan(g->u[i].pixel[k]);
			}
		write_across(w, c, pixel_names[k], v, n_ok, n_undef,
			     "a fold without a defect or a defect-free pixel");
	}
	jw_obj_end(w);
	free(v);
}

/* An anomalous test image of the first repeat whose unit kept its map. */
struct map_item {
	const char *path, *defect;
	double score, threshold, scale;
	int fold, index; /* its unit (repeat 0) and its place in the predictions */
};

static int map_item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct map_item *)a)->path, ((const struct map_item *)b)->path);
}

/* The anomalous images of the group's first repeat (units 0 .. k-1) whose
 * unit kept its maps, in dataset order (by path) (new array, *n). */
static struct map_item *map_items(const struct group *g, int k, int *n)
{
	int total = 0;
	for (int f = 0; f < k; f++)
		if (g->u[f].status == UNIT_OK && isfinite(g->u[f].map_scale))
			total += g->u[f].n;
	struct map_item *it = xmalloc(((size_t)total + 1) * sizeof *it);
	*n = 0;
	for (int f = 0; f < k; f++) {
		const struct unit *u = &g->u[f];
		for (int j = 0; u->status == UNIT_OK && isfinite(u->map_scale) && j < u->n; j++)
			if (u->label[j] == 1)
				it[(*n)++] = (struct map_item){ u->path[j], u->defect[j], u->p[j],
								u->threshold, u->map_scale, f, j };
	}
	qsort(it, (size_t)*n, sizeof *it, map_item_cmp);
	return it;
}

/* The mask of an image <dir>/test/<defect>/<stem>.png in the dataset
 * layout, <dir>/ground_truth/<defect>/<stem>_mask.png (new string), or
 * NULL when the path has another form. */
static char *mask_path(const char *image, const char *defect)
{
	char *tail = xasprintf("/test/%s/", defect);
	const char *at = NULL;
	for (const char *q = strstr(image, tail); q; q = strstr(q + 1, tail))
		at = q;
	size_t len = strlen(image);
	char *m = NULL;
	if (at && len > 4 && !strcmp(image + len - 4, ".png") && !strchr(at + strlen(tail), '/')) {
		const char *stem = at + strlen(tail);
		m = xasprintf("%.*s/ground_truth/%s/%.*s_mask.png", (int)(at - image), image, defect,
			      (int)(image + len - 4 - stem), stem);
	}
	free(tail);
	return m;
}

/* One cell of "maps": the image it and where its unit's files are. */
static void write_map_cell(struct jw *w, const struct summary_config *c, const char *model,
			   const struct map_item *it)
{
	char unit[32], name[32];
	snprintf(unit, sizeof unit, "r0-f%d", it->fold);
	snprintf(name, sizeof name, "maps/%d.png", it->index);
	char *work = result_path(c->results_path, model, 0, it->fold, RESULT_WORK_DIR);
	char *map = fs_join(work, name);
	char *mask = mask_path(it->path, it->defect);
	jw_obj_begin(w);
	jw_kstr(w, "unit", unit);
	jw_kstr(w, "image", it->path);
	jw_kstr(w, "mask", mask);
	jw_knum(w, "score", it->score);
	jw_knum(w, "threshold", it->threshold);
	jw_kstr(w, "map", map);
	jw_knum(w, "map_scale", it->scale);
	jw_obj_end(w);
	free(mask);
	free(map);
	free(work);
}

/* "maps" of a one-class model: per defect type (in dataset order, as the
 * dataset's test/<defect> folders are), the best and worst anomalous image
 * of the first repeat (mapfig_pick), for the anomaly-map figure; null when
 * no unit of that repeat kept its maps. */
static void write_maps(struct jw *w, const struct summary_config *c, const struct group *g)
{
	int n, nd = 0;
	struct map_item *it = map_items(g, c->k, &n);
	jw_key(w, "maps");
	if (n == 0) {
		jw_null(w);
		free(it);
		return;
	}
	const char **defects = xmalloc((size_t)n * sizeof *defects); /* first seen first */
	struct mapfig_item *mi = xmalloc((size_t)n * sizeof *mi);
	for (int i = 0; i < n; i++) {
		int d = 0;
		while (d < nd && strcmp(defects[d], it[i].defect))
			d++;
		if (d == nd)
			defects[nd++] = it[i].defect;
		mi[i] = (struct mapfig_item){ d, 1, it[i].score, it[i].threshold };
	}
	int *best = xmalloc((size_t)nd * sizeof(int)), *worst = xmalloc((size_t)nd * sizeof(int));
	mapfig_pick(mi, n, nd, best, worst);
	const struct json *data = json_get(g->u[it[0].fold].doc, "data");
	jw_obj_begin(w);
	jw_kint(w, "repeat", 0);
	jw_knum(w, "width", json_number(json_get(data, "width")));
	jw_knum(w, "height", json_number(json_get(data, "height")));
	jw_knum(w, "channels", json_number(json_get(data, "channels")));
	jw_key(w, "rows");
	jw_arr_begin(w);
	for (int d = 0; d < nd; d++) {
		jw_obj_begin(w);
		jw_kstr(w, "defect", defects[d]);
		jw_key(w, "best");
		write_map_cell(w, c, g->name, &it[best[d]]);
		jw_key(w, "worst");
		write_map_cell(w, c, g->name, &it[worst[d]]);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
	free(best);
	free(worst);
	free(mi);
	free(defects);
	free(it);
}

/* "metrics": mean, sd, t interval and per-fold values of each metric. */
static void write_fold_metrics(struct jw *w, const struct summary_config *c, const struct group *g,
			       int units)
{
	double *v = xmalloc(sizeof *v * (size_t)units);
	jw_key(w, "metrics");
	jw_obj_begin(w);
	for (int id = 0; id < METRICS_N; id++) {
		int n_ok = 0, n_undef = 0;
		const char *first_reason = NULL;
		for (int i = 0; i < units; i++) {
			if (g->u[i].status != UNIT_OK)
				continue;
			double x = metrics_value(&g->u[i].m, id);
			v[n_ok++] = x;
			if (isnan(x)) {
				n_undef++;
				if (!first_reason)
					first_reason = g->u[i].m.reason[id];
			}
		}
		write_across(w, c, metrics_name(id), v, n_ok, n_undef, first_reason);
	}
	jw_obj_end(w);
	free(v);
}

static void write_fold_units(struct jw *w, const struct summary_config *c, const struct group *g)
{
	jw_key(w, "fold_units");
	jw_arr_begin(w);
	for (int r = 0; r < c->repeats; r++)
		for (int f = 0; f < c->k; f++)
			if (g->u[r * c->k + f].status == UNIT_OK) {
				char name[48];
				snprintf(name, sizeof name, "r%d-f%d", r, f);
				jw_str(w, name);
			}
	jw_arr_end(w);
}

static void write_curve(struct jw *w, const struct group *g, int units)
{
	int epochs = 0;
	for (int i = 0; i < units; i++)
		if (g->u[i].status == UNIT_OK && g->u[i].n_epochs > epochs)
			epochs = g->u[i].n_epochs;
	double *tl = xmalloc(sizeof *tl * (size_t)(units + 1));
	double *vl = xmalloc(sizeof *vl * (size_t)(units + 1));
	jw_key(w, "curve");
	jw_arr_begin(w);
	for (int e = 0; e < epochs; e++) {
		int n = 0;
		for (int i = 0; i < units; i++) {
			const struct unit *u = &g->u[i];
			if (u->status != UNIT_OK || e >= u->n_epochs)
				continue;
			tl[n] = u->train_loss[e];
			vl[n] = u->val_loss[e];
			n++;
		}
		double m1, s1, m2, s2;
		stats_mean_sd(tl, n, &m1, &s1, NULL);
		stats_mean_sd(vl, n, &m2, &s2, NULL);
		jw_obj_begin(w);
		jw_kint(w, "epoch", e + 1);
		jw_kint(w, "n", n);
		jw_knum(w, "train_loss_mean", m1);
		jw_knum(w, "train_loss_sd", s1);
		jw_knum(w, "val_loss_mean", m2);
		jw_knum(w, "val_loss_sd", s2);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	free(tl);
	free(vl);
}

/* Training cost of every unit that left a file (diverged and failed units
 * spent their time too). */
static void write_timing(struct jw *w, const struct group *g, int units)
{
	double *ts = xmalloc(sizeof *ts * (size_t)(units + 1));
	double *ips = xmalloc(sizeof *ips * (size_t)(units + 1));
	int n = 0;
	double total = 0;
	for (int i = 0; i < units; i++) {
		const struct unit *u = &g->u[i];
		if (u->status == UNIT_MISSING)
			continue;
		ts[n] = u->train_seconds;
		ips[n] = u->images_per_second;
		if (isfinite(u->train_seconds))
			total += u->train_seconds;
		n++;
	}
	double m1, s1, m2, s2;
	int n1;
	stats_mean_sd(ts, n, &m1, &s1, &n1);
	stats_mean_sd(ips, n, &m2, &s2, NULL);
	jw_key(w, "timing");
	jw_obj_begin(w);
	jw_knum(w, "train_seconds_mean", m1);
	jw_knum(w, "train_seconds_total", n1 > 0 ? total : NAN);
	jw_knum(w, "images_per_second_mean", m2);
	jw_obj_end(w);
	free(ts);
	free(ips);
}

/* Every unit that left a file, in (repeat, fold) order: its status as
 * written, its wall time (finished - started, NAN when either is missing) and
 * its training time. */
static void write_unit_times(struct jw *w, const struct summary_config *c, const struct group *g,
			     int units)
{
	jw_key(w, "unit_times");
	jw_arr_begin(w);
	for (int i = 0; i < units; i++) {
		const struct unit *u = &g->u[i];
		if (u->status == UNIT_MISSING)
			continue;
		const struct json *t = json_get(u->doc, "timing");
		char name[64];
		snprintf(name, sizeof name, "r%d-f%d", i / c->k, i % c->k);
		jw_obj_begin(w);
		jw_kstr(w, "unit", name);
		jw_kstr(w, "status", json_string(json_get(u->doc, "status")));
		jw_knum(w, "wall_seconds", summary_iso_seconds(json_string(json_get(t, "finished"))) -
						   summary_iso_seconds(json_string(json_get(t, "started"))));
		jw_knum(w, "train_seconds", u->train_seconds);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* Is unit prediction j called correctly? */
static int correct(const struct unit *u, int j)
{
	return (u->p[j] >= u->threshold) == u->label[j];
}

/* McNemar counts over the units both groups completed, matching images by
 * path within a unit. */
static void mcnemar_counts(const struct group *a, const struct group *b, int units, long *nb,
			   long *nc)
{
	*nb = *nc = 0;
	for (int i = 0; i < units; i++) {
		const struct unit *ua = &a->u[i], *ub = &b->u[i];
		if (ua->status != UNIT_OK || ub->status != UNIT_OK)
			continue;
		for (int x = 0; x < ua->n; x++) {
			int y = -1;
			if (x < ub->n && !strcmp(ua->path[x], ub->path[x])) {
				y = x;
			} else {
				for (int t = 0; t < ub->n; t++)
					if (!strcmp(ua->path[x], ub->path[t])) {
						y = t;
						break;
					}
			}
			if (y < 0)
				continue;
			int ca = correct(ua, x), cb = correct(ub, y);
			*nb += ca && !cb;
			*nc += !ca && cb;
		}
	}
}

struct comparison {
	int a, b, metric;
	double ratio; /* mean n_test / n_train of the paired units */
	struct stats_ttest t;
	double p_holm;
	struct stats_mcnemar mc;
};

static void compare(const struct summary_config *c, const struct group *g, int units,
		    struct comparison *cmp)
{
	const struct group *ga = &g[cmp->a], *gb = &g[cmp->b];
	double *d = xmalloc(sizeof *d * (size_t)units);
	int n = 0, nr = 0;
	double ratio = 0;
	for (int i = 0; i < units; i++) {
		const struct unit *ua = &ga->u[i], *ub = &gb->u[i];
		if (ua->status != UNIT_OK || ub->status != UNIT_OK)
			continue;
		double x = metrics_value(&ua->m, cmp->metric) - metrics_value(&ub->m, cmp->metric);
		if (isnan(x))
			continue;
		d[n++] = x;
		if (isfinite(ua->test_train)) {
			ratio += ua->test_train;
			nr++;
		}
	}
	/* without recorded sizes, k-fold gives n_test / n_train = 1 / (k - 1) */
	ratio = nr > 0 ? ratio / nr : 1.0 / (c->k - 1);
	cmp->ratio = ratio;
	stats_nb_ttest(d, n, ratio, &cmp->t);
	free(d);
	long nb, nc;
	mcnemar_counts(ga, gb, units, &nb, &nc);
	stats_mcnemar(nb, nc, &cmp->mc);
}

/* Mean, t interval and count of the finite per-fold values of metric id
 * over the ok units of g (NAN where undefined). */
static void fold_stats(const struct summary_config *c, const struct group *g, int units, int id,
		       double *mean, double *lo, double *hi, int *n)
{
	double *v = xmalloc(sizeof *v * (size_t)(units + 1));
	int m = 0;
	for (int i = 0; i < units; i++)
		if (g->u[i].status == UNIT_OK)
			v[m++] = metrics_value(&g->u[i].m, id);
	double sd;
	stats_mean_sd(v, m, mean, &sd, n);
	stats_t_interval(v, m, c->alpha, lo, hi);
	free(v);
}

/* "operating_point": the pooled predictions judged with each unit's own
 * threshold, counted by class (whatever the positive class). */
static void write_operating_point(struct jw *w, const struct summary_config *c,
				  const struct group *g, int units)
{
	long good = 0, bad = 0, rejected = 0, passed = 0;
	double tsum = 0;
	int nt = 0;
	for (int i = 0; i < units; i++) {
		const struct unit *u = &g->u[i];
		if (u->status != UNIT_OK)
			continue;
		tsum += u->threshold;
		nt++;
		for (int j = 0; j < u->n; j++) {
			int called = u->p[j] >= u->threshold;
			if (u->label[j]) {
				bad++;
				passed += !called;
			} else {
				good++;
				rejected += called;
			}
		}
	}
	long n = good + bad;
	jw_key(w, "operating_point");
	jw_obj_begin(w);
	jw_knum(w, "threshold_mean", nt > 0 ? tsum / nt : NAN);
	jw_kint(w, "good", good);
	jw_kint(w, "good_rejected", rejected);
	jw_knum(w, "good_rejected_share", good > 0 ? (double)rejected / good : NAN);
	jw_kint(w, "defective", bad);
	jw_kint(w, "defective_passed", passed);
	jw_knum(w, "defective_passed_share", bad > 0 ? (double)passed / bad : NAN);
	jw_knum(w, "cost_per_part",
		n > 0 ? (c->cost_fp * (double)rejected + c->cost_fn * (double)passed) / (double)n : NAN);
	jw_obj_end(w);
}

/* "fixed_threshold": F-beta and recall across folds at the fixed threshold
 * 0.5, for comparison with studies that used it. */
static void write_fixed_threshold(struct jw *w, const struct summary_config *c,
				  const struct group *g, int units)
{
	static const int ids[] = { METRICS_F2, METRICS_RECALL };
	struct group g5 = { g->name, xcalloc((size_t)units, sizeof *g5.u) };
	for (int i = 0; i < units; i++) {
		const struct unit *u = &g->u[i];
		if (u->status != UNIT_OK)
			continue;
		struct metrics_input in = { u->label, u->p, NULL, u->n, NULL };
		if (metrics_compute(&in, 0.5, c->positive, c->beta, &g5.u[i].m) == 0)
			g5.u[i].status = UNIT_OK;
	}
	jw_key(w, "fixed_threshold");
	jw_obj_begin(w);
	jw_knum(w, "threshold", 0.5);
	for (size_t q = 0; q < sizeof ids / sizeof ids[0]; q++) {
		double mean, lo, hi;
		int n;
		fold_stats(c, &g5, units, ids[q], &mean, &lo, &hi, &n);
		jw_key(w, metrics_name(ids[q]));
		jw_obj_begin(w);
		jw_knum(w, "mean", mean);
		jw_knum(w, "ci_low", lo);
		jw_knum(w, "ci_high", hi);
		jw_kint(w, "n", n);
		jw_obj_end(w);
	}
	jw_obj_end(w);
	for (int i = 0; i < units; i++)
		metrics_release(&g5.u[i].m);
	free(g5.u);
}

static void write_group(struct jw *w, const struct summary_config *c, const struct group *g,
			int units, int is_model, int *rc)
{
	jw_key(w, g->name);
	jw_obj_begin(w);
	if (is_model)
		jw_kstr(w, "kind", group_kind(g, units));
	if (is_model) {
		int cnt[4] = { 0, 0, 0, 0 }, stale = 0;
		for (int i = 0; i < units; i++) {
			cnt[g->u[i].status]++;
			stale += g->u[i].stale;
		}
		jw_key(w, "units");
		jw_obj_begin(w);
		jw_kint(w, "total", units);
		jw_kint(w, "ok", cnt[UNIT_OK]);
		jw_kint(w, "diverged", cnt[UNIT_DIVERGED]);
		jw_kint(w, "failed", cnt[UNIT_FAILED]);
		jw_kint(w, "missing", cnt[UNIT_MISSING]);
		jw_kint(w, "stale", stale);
		jw_obj_end(w);
	}
	write_fold_units(w, c, g);
	write_fold_metrics(w, c, g, units);
	if (is_model)
		write_pixel_metrics(w, c, g, units);
	if (is_model && group_one_class(g, units))
		write_maps(w, c, g);
	if (write_pooled(w, c, g, units) < 0)
		*rc = -1;
	write_operating_point(w, c, g, units);
	write_fixed_threshold(w, c, g, units);
	if (is_model) {
		write_curve(w, g, units);
		write_timing(w, g, units);
		write_unit_times(w, c, g, units);
	}
	jw_obj_end(w);
}

/* The baselines, in summary.json's order, run on the labels of the first
 * model that completed each unit: a constant score, or (random) anomalous
 * with the pooled prevalence from a generator seeded per unit. */
static const struct baseline {
	const char *name;
	int random;
	double p; /* the constant score */
} baselines[] = {
	{ "always_anomalous", 0, 1 },
	{ "always_normal", 0, 0 },
	{ "stratified_random", 1, 0 },
};
#define N_BASELINES ((int)(sizeof baselines / sizeof baselines[0]))

/* For each unit the first model's ok unit (NULL when none), into ref
 * (units); returns the share of anomalous images over them. */
static double reference_units(const struct summary_config *c, const struct group *models, int units,
			      const struct unit **ref)
{
	long anomalous = 0, total = 0;
	for (int i = 0; i < units; i++) {
		for (int m = 0; m < c->n_models && !ref[i]; m++)
			if (models[m].u[i].status == UNIT_OK)
				ref[i] = &models[m].u[i];
		for (int j = 0; ref[i] && j < ref[i]->n; j++) {
			anomalous += ref[i]->label[j];
			total++;
		}
	}
	return total > 0 ? (double)anomalous / total : 0;
}

/* Baseline bl's unit i on the images of r; strings are borrowed from r. */
static void baseline_unit(const struct summary_config *c, const struct baseline *bl, int i,
			  const struct unit *r, double prevalence, struct unit *u)
{
	u->status = UNIT_OK;
	u->n = r->n;
	size_t cap = (size_t)(r->n > 0 ? r->n : 1);
	u->label = xmalloc(sizeof *u->label * cap);
	u->p = xmalloc(sizeof *u->p * cap);
	u->defect = xmalloc(sizeof *u->defect * cap);
	u->path = xmalloc(sizeof *u->path * cap);
	u->threshold = 0.5;
	u->test_train = r->test_train;
	struct stats_rng *rng = NULL;
	if (bl->random) {
		char *what = xasprintf("baseline/%s", bl->name);
		rng = stats_rng_new(folds_derive_seed(c->seed, what, i / c->k, i % c->k));
		free(what);
	}
	for (int j = 0; j < r->n; j++) {
		u->label[j] = r->label[j];
		u->defect[j] = r->defect[j];
		u->path[j] = r->path[j];
		u->p[j] = rng ? (stats_rng_uniform(rng) < prevalence ? 1 : 0) : bl->p;
	}
	stats_rng_free(rng);
}

/* Every baseline's units (base: N_BASELINES groups) and their metrics. */
static int make_baselines(const struct summary_config *c, const struct group *models, int units,
			  struct group *base)
{
	const struct unit **ref = xcalloc((size_t)units, sizeof *ref);
	double prevalence = reference_units(c, models, units, ref);
	int rc = 0;
	for (int b = 0; b < N_BASELINES; b++) {
		base[b].name = baselines[b].name;
		base[b].u = xcalloc((size_t)units, sizeof *base[b].u);
		for (int i = 0; i < units; i++) {
			struct unit *u = &base[b].u[i];
			if (!ref[i])
				continue;
			baseline_unit(c, &baselines[b], i, ref[i], prevalence, u);
			struct metrics_input in = { u->label, u->p, u->defect, u->n, NULL };
			if (metrics_compute(&in, u->threshold, c->positive, c->beta, &u->m) < 0)
				rc = -1;
		}
	}
	free(ref);
	return rc;
}

/* Frees the baselines' units; their strings are borrowed from the models'. */
static void release_baselines(struct group *base, int units)
{
	for (int b = 0; b < N_BASELINES; b++) {
		for (int i = 0; base[b].u && i < units; i++) {
			struct unit *u = &base[b].u[i];
			free(u->label);
			free(u->p);
			free(u->defect);
			free(u->path);
			metrics_release(&u->m);
		}
		free(base[b].u);
	}
}

static void copy_json(struct jw *w, const struct json *j)
{
	switch (json_type(j)) {
	case JSON_BOOL: jw_bool(w, json_bool(j)); break;
	case JSON_NUMBER: jw_num(w, json_number(j)); break;
	case JSON_STRING: jw_str(w, json_string(j)); break;
	case JSON_ARRAY:
		jw_arr_begin(w);
		for (int i = 0; i < json_size(j); i++)
			copy_json(w, json_at(j, i));
		jw_arr_end(w);
		break;
	case JSON_OBJECT:
		jw_obj_begin(w);
		for (int i = 0; i < json_size(j); i++) {
			jw_key(w, json_key(json_at(j, i)));
			copy_json(w, json_at(j, i));
		}
		jw_obj_end(w);
		break;
	default: jw_null(w); break;
	}
}

double summary_iso_seconds(const char *s)
{
	int y, mo, d, h, mi;
	double sec;
	char z = 0;
	if (!s || sscanf(s, "%d-%d-%dT%d:%d:%lf%c", &y, &mo, &d, &h, &mi, &sec, &z) != 7 || z != 'Z' ||
	    mo < 1 || mo > 12)
		return NAN;
	/* days from 1970-01-01 to y-mo-d, proleptic Gregorian (March-based year) */
	long yy = y - (mo <= 2);
	long era = (yy >= 0 ? yy : yy - 399) / 400;
	long yoe = yy - era * 400;
	long doy = (153L * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
	long days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
	return (double)days * 86400.0 + h * 3600.0 + mi * 60.0 + sec;
}

/* Whether two recorded strings differ (one missing counts). */
static int differ(const char *a, const char *b)
{
	return (a && b && strcmp(a, b)) || (!a != !b);
}

/* Flat provenance: the first unit file's `provenance` and `host` fields,
 * whether units disagree on the git commit or the OpenBLAS core, the span and sum of unit wall
 * times, and the reporting program's own versions. */
static void write_provenance(struct jw *w, const struct summary_config *c, const struct group *g,
			     int units)
{
	static const char *const keys[] = { "darkfold_version", "git_commit", "git_dirty", "darknet",
					     "openblas", "gsl", "libpng", "cjson" };
	static const char *const host_keys[] = { "blas_core", "blas_threads", "cpu", "hostname" };
	const struct json *first = NULL, *host = NULL;
	const char *started = NULL, *finished = NULL, *commit = NULL, *core = NULL;
	int mixed = 0, mixed_cores = 0, files = 0;
	double wall = 0;
	for (int m = 0; m < c->n_models; m++) {
		for (int i = 0; i < units; i++) {
			const struct unit *u = &g[m].u[i];
			if (u->status == UNIT_MISSING)
				continue;
			files++;
			const struct json *pv = json_get(u->doc, "provenance");
			const char *gc = json_string(json_get(pv, "git_commit"));
			const char *bc = json_string(json_get(json_get(u->doc, "host"), "blas_core"));
			if (!first) {
				first = pv;
				host = json_get(u->doc, "host");
				commit = gc;
				core = bc;
			} else {
				mixed |= differ(gc, commit);
				mixed_cores |= differ(bc, core);
			}
			const struct json *t = json_get(u->doc, "timing");
			const char *s = json_string(json_get(t, "started"));
			const char *f = json_string(json_get(t, "finished"));
			double span = summary_iso_seconds(f) - summary_iso_seconds(s);
			if (isfinite(span) && span >= 0)
				wall += span;
			if (s && (!started || strcmp(s, started) < 0))
				started = s;
			if (f && (!finished || strcmp(f, finished) > 0))
				finished = f;
		}
	}
	jw_key(w, "provenance");
	jw_obj_begin(w);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		jw_key(w, keys[i]);
		copy_json(w, json_get(first, keys[i]));
	}
	for (size_t i = 0; i < sizeof host_keys / sizeof host_keys[0]; i++) {
		jw_key(w, host_keys[i]);
		copy_json(w, json_get(host, host_keys[i]));
	}
	jw_knum(w, "wall_seconds_total", files > 0 ? wall : NAN);
	jw_kint(w, "units_total", files);
	jw_kstr(w, "first_started", started);
	jw_kstr(w, "last_finished", finished);
	jw_kbool(w, "mixed_commits", mixed);
	jw_kbool(w, "mixed_blas_cores", mixed_cores);
	jw_kstr(w, "report_darkfold_version", DARKFOLD_VERSION);
	jw_kstr(w, "report_gsl", stats_gsl_version());
	jw_obj_end(w);
}

/* The comparison of models a and b in one metric's row (either order). */
static const struct comparison *find_pair(const struct comparison *row, int pairs, int a, int b)
{
	for (int i = 0; i < pairs; i++)
		if ((row[i].a == a && row[i].b == b) || (row[i].a == b && row[i].b == a))
			return &row[i];
	return NULL;
}

/* Is x better than y in a metric where higher (or lower) is better? */
static int better(double x, double y, int higher)
{
	return higher ? x > y : x < y;
}

#define VERDICT_MAX_REPEATS 100

/* The models ranked by the primary metric, and how they stand against the
 * best baseline and the top model (docs/report.md, "The verdict"). Arrays
 * are (n_models), indexed by model. */
struct ranking {
	int id, hib;          /* primary metric, higher is better */
	const struct comparison *row; /* (pairs) comparisons in that metric */
	int pairs;
	double *mean, *lo, *hi;
	int *n;
	int *order;           /* (ranked) models with two or more fold values, best first */
	int ranked, top, second; /* top and second: models, -1 when absent */
	int bb;               /* best baseline, -1 when none has a mean */
	double bv;            /* its mean, NAN when none */
	int family;           /* comparisons with a p value (Holm family size) */
	int *beats;           /* interval on the better side of the best baseline's mean */
	int *sep;             /* significantly behind the top model after Holm */
	int any_beats, separated;
};

static void ranking_init(struct ranking *v, int nm, int id, const struct comparison *row, int pairs)
{
	memset(v, 0, sizeof *v);
	v->id = id;
	v->hib = metrics_higher_is_better(id);
	v->row = row;
	v->pairs = pairs;
	v->mean = xmalloc(sizeof *v->mean * (size_t)(nm + 1));
	v->lo = xmalloc(sizeof *v->lo * (size_t)(nm + 1));
	v->hi = xmalloc(sizeof *v->hi * (size_t)(nm + 1));
	v->n = xmalloc(sizeof *v->n * (size_t)(nm + 1));
	v->order = xmalloc(sizeof *v->order * (size_t)(nm + 1));
	v->beats = xcalloc((size_t)nm + 1, sizeof *v->beats);
	v->sep = xcalloc((size_t)nm + 1, sizeof *v->sep);
}

static void ranking_release(struct ranking *v)
{
	free(v->mean);
	free(v->lo);
	free(v->hi);
	free(v->n);
	free(v->order);
	free(v->beats);
	free(v->sep);
	memset(v, 0, sizeof *v);
}

/* Models with at least two fold values, best mean first (stable). */
static void rank_models(const struct summary_config *c, const struct group *g, int units,
			struct ranking *v)
{
	double *mean = v->mean;
	int *n = v->n, *order = v->order, hib = v->hib;
	for (int m = 0; m < c->n_models; m++) {
		fold_stats(c, &g[m], units, v->id, &mean[m], &v->lo[m], &v->hi[m], &n[m]);
		if (n[m] < 2)
			continue;
		int at = v->ranked++;
		while (at > 0 && better(mean[m], mean[order[at - 1]], hib)) {
			order[at] = order[at - 1];
			at--;
		}
		order[at] = m;
	}
	v->top = v->ranked > 0 ? order[0] : -1;
	v->second = v->ranked > 1 ? order[1] : -1;
}

/* The baseline with the best mean in the primary metric. */
static void best_baseline(const struct summary_config *c, const struct group *base, int units,
			  struct ranking *v)
{
	double bmean[N_BASELINES];
	v->bb = -1;
	for (int b = 0; b < N_BASELINES; b++) {
		double l, h;
		int bn;
		fold_stats(c, &base[b], units, v->id, &bmean[b], &l, &h, &bn);
		if (isfinite(bmean[b]) && (v->bb < 0 || better(bmean[b], bmean[v->bb], v->hib)))
			v->bb = b;
	}
	v->bv = v->bb >= 0 ? bmean[v->bb] : NAN;
}

/* The top model's lead over model m in the primary metric (NAN without a
 * comparison), and the comparison into *x. */
static double lead_over(const struct ranking *v, int m, const struct comparison **x)
{
	*x = find_pair(v->row, v->pairs, v->top, m);
	return *x ? ((*x)->a == v->top ? (*x)->t.mean : -(*x)->t.mean) : NAN;
}

/* beats the best baseline: its interval lies on the better side of the
 * baseline's mean; separated: significantly better than the top model's
 * rival after Holm, in the top model's favour */
static void judge_models(const struct summary_config *c, struct ranking *v)
{
	const double *lo = v->lo, *hi = v->hi, bv = v->bv;
	int *sep = v->sep, hib = v->hib;
	for (int i = 0; i < v->pairs; i++)
		v->family += isfinite(v->row[i].t.p);
	v->separated = v->top >= 0;
	for (int r = 0; r < v->ranked; r++) {
		int m = v->order[r];
		v->beats[m] = isfinite(bv) && better(hib ? lo[m] : hi[m], bv, hib);
		v->any_beats |= v->beats[m];
		if (m == v->top)
			continue;
		const struct comparison *x;
		double d = lead_over(v, m, &x);
		sep[m] = x && x->p_holm < c->alpha && better(d, 0, hib);
		v->separated &= sep[m];
	}
}

/* "best": the top model and its lead over the runner-up. */
static void write_best(struct jw *w, const struct summary_config *c, const struct group *g,
		       const struct ranking *v)
{
	int top = v->top, second = v->second;
	const struct comparison *top_vs_second = top >= 0 && second >= 0
							 ? find_pair(v->row, v->pairs, top, second)
							 : NULL;
	double ph = top_vs_second ? top_vs_second->p_holm : NAN;
	jw_key(w, "best");
	jw_obj_begin(w);
	jw_kstr(w, "metric", metrics_name(v->id));
	jw_kstr(w, "model", top >= 0 ? g[top].name : NULL);
	jw_knum(w, "value", top >= 0 ? v->mean[top] : NAN);
	jw_kstr(w, "runner_up", second >= 0 ? g[second].name : NULL);
	jw_knum(w, "lead", second >= 0 ? v->mean[top] - v->mean[second] : NAN);
	jw_knum(w, "p_holm", ph);
	jw_kbool(w, "significant", ph < c->alpha);
	jw_obj_end(w);
}

/* A ranking entry's "vs_top": the difference to the top model, its test,
 * and the repeats that would separate them. */
static void write_vs_top(struct jw *w, const struct summary_config *c, const struct ranking *v, int m)
{
	const struct comparison *x = NULL;
	double d = m != v->top && v->n[m] >= 2 ? lead_over(v, m, &x) : NAN;
	jw_key(w, "vs_top");
	if (!x) {
		jw_null(w);
		return;
	}
	jw_obj_begin(w);
	jw_knum(w, "diff_mean", d);
	jw_knum(w, "diff_sd", x->t.sd);
	jw_knum(w, "test_train_ratio", x->ratio);
	jw_knum(w, "p_holm", x->p_holm);
	jw_kbool(w, "separated", v->sep[m]);
	int need = -1;
	if (!v->sep[m] && better(d, 0, v->hib) && v->family > 0)
		need = stats_repeats_needed(d, x->t.sd, x->ratio, c->k, c->alpha / v->family,
					    VERDICT_MAX_REPEATS);
	if (need > 0)
		jw_kint(w, "repeats_needed", need);
	else
		jw_key(w, "repeats_needed"), jw_null(w);
	jw_obj_end(w);
}

/* "ranking": ranked models first, then the others in experiment order. */
static void write_ranking(struct jw *w, const struct summary_config *c, const struct group *g,
			  const struct ranking *v)
{
	jw_key(w, "ranking");
	jw_arr_begin(w);
	for (int r = 0; r < c->n_models; r++) {
		int m = r < v->ranked ? v->order[r] : -1;
		if (m < 0) {
			int skip = r - v->ranked;
			for (int x = 0; x < c->n_models; x++)
				if (v->n[x] < 2 && skip-- == 0)
					m = x;
		}
		jw_obj_begin(w);
		jw_kstr(w, "model", g[m].name);
		jw_kbool(w, "ranked", v->n[m] >= 2);
		jw_knum(w, "mean", v->mean[m]);
		jw_knum(w, "ci_low", v->lo[m]);
		jw_knum(w, "ci_high", v->hi[m]);
		jw_kint(w, "n", v->n[m]);
		jw_kbool(w, "beats_baseline", v->beats[m]);
		write_vs_top(w, c, v, m);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* "best" and "verdict" by the primary metric id (docs/report.md, "The
 * verdict"): row holds the pairs' comparisons in that metric. */
static void write_verdict(struct jw *w, const struct summary_config *c, const struct group *g,
			  const struct group *base, int units, const struct comparison *row,
			  int pairs, int id)
{
	struct ranking v;
	ranking_init(&v, c->n_models, id, row, pairs);
	rank_models(c, g, units, &v);
	best_baseline(c, base, units, &v);
	judge_models(c, &v);
	write_best(w, c, g, &v);
	const char *outcome = v.top < 0		? "no_ranked_model"
			      : !v.any_beats	? "no_model_beats_baseline"
			      : v.separated && v.beats[v.top] ? "clear_winner"
							      : "tie";
	jw_key(w, "verdict");
	jw_obj_begin(w);
	jw_kstr(w, "primary", metrics_name(id));
	jw_kbool(w, "higher_is_better", v.hib);
	jw_knum(w, "alpha", c->alpha);
	jw_kstr(w, "test", c->repeats > 1 ? "corrected_repeated_kfold" : "corrected_resampled");
	jw_kstr(w, "outcome", outcome);
	jw_key(w, "models");
	jw_arr_begin(w);
	for (int r = 0; r < v.ranked; r++)
		if (v.order[r] == v.top || !v.sep[v.order[r]])
			jw_str(w, g[v.order[r]].name);
	jw_arr_end(w);
	jw_key(w, "best_baseline");
	jw_obj_begin(w);
	jw_kstr(w, "name", v.bb >= 0 ? base[v.bb].name : NULL);
	jw_knum(w, "value", v.bv);
	jw_obj_end(w);
	write_ranking(w, c, g, &v);
	jw_obj_end(w);
	ranking_release(&v);
}

/* Reads unit i of model m into u, checks it is current and computes its
 * metrics. */
static int read_model_unit(const struct summary_config *c, int m, int i, struct unit *u)
{
	int units = c->k * c->repeats;
	char *file = result_path(c->results_path, c->models[m], i / c->k, i % c->k, RESULT_FILE);
	int rc = read_unit(file, c->models[m], i / c->k, i % c->k, u);
	if (rc == 0 && u->status != UNIT_MISSING)
		rc = check_stale(c, file, c->inputs_sha256 ? c->inputs_sha256[m * units + i] : NULL, u);
	if (rc == 0 && u->status == UNIT_OK) {
		struct metrics_input in = { u->label, u->p, u->defect, u->n, NULL };
		if (metrics_compute(&in, u->threshold, c->positive, c->beta, &u->m) < 0)
			rc = error("'%s': cannot compute its metrics", file);
		else if (u->one_class)
			metrics_mark_score(&u->m);
	}
	free(file);
	return rc;
}

/* Every unit of every model into g (n_models groups); stops at the first
 * error. */
static int read_models(const struct summary_config *c, struct group *g, int units)
{
	int rc = 0;
	for (int m = 0; m < c->n_models && rc == 0; m++) {
		g[m].name = c->models[m];
		g[m].u = xcalloc((size_t)units, sizeof *g[m].u);
		for (int i = 0; i < units && rc == 0; i++)
			rc = read_model_unit(c, m, i, &g[m].u[i]);
	}
	return rc;
}

static void release_models(const struct summary_config *c, struct group *g, int units)
{
	for (int m = 0; m < c->n_models; m++) {
		for (int i = 0; g[m].u && i < units; i++)
			unit_release(&g[m].u[i]);
		free(g[m].u);
	}
	free(g);
}

/* The settings that summary.json repeats, at its top. */
static void write_settings(struct jw *w, const struct summary_config *c, int primary)
{
	jw_kstr(w, "format", "darkfold-summary/1");
	jw_kstr(w, "experiment", c->experiment);
	jw_kstr(w, "experiment_sha256", c->experiment_sha256);
	jw_kint(w, "k", c->k);
	jw_kint(w, "repeats", c->repeats);
	jw_kstr(w, "positive", c->positive ? "anomalous" : "normal");
	jw_knum(w, "beta", c->beta);
	jw_knum(w, "alpha", c->alpha);
	jw_kstr(w, "threshold_policy", c->threshold_policy);
	jw_kstr(w, "primary", metrics_name(primary));
	jw_key(w, "costs");
	jw_obj_begin(w);
	jw_knum(w, "fp", c->cost_fp);
	jw_knum(w, "fn", c->cost_fn);
	jw_obj_end(w);
	jw_kint(w, "bootstrap", c->bootstrap);
}

/* The metrics compared, into compared (SUMMARY_N_COMPARED + 1): the
 * primary metric too when it is not among summary_compared. Returns their
 * count, and the primary metric's row into *primary_row. */
static int compared_metrics(int primary, int *compared, int *primary_row)
{
	int nq = 0;
	*primary_row = -1;
	for (int q = 0; q < SUMMARY_N_COMPARED; q++) {
		compared[nq] = metrics_id(summary_compared[q]);
		if (compared[nq] == primary)
			*primary_row = nq;
		nq++;
	}
	if (*primary_row < 0) {
		*primary_row = nq;
		compared[nq++] = primary;
	}
	return nq;
}

/* (nq, pairs) comparisons of every model pair in each compared metric,
 * Holm-corrected across pairs per metric. The caller frees the array. */
static struct comparison *compare_all(const struct summary_config *c, const struct group *g,
				      int units, const int *compared, int nq, int pairs)
{
	struct comparison *cmp = xcalloc((size_t)(pairs * nq + 1), sizeof *cmp);
	double *p = xmalloc(sizeof *p * (size_t)(pairs + 1));
	for (int q = 0; q < nq; q++) {
		struct comparison *row = cmp + q * pairs;
		int i = 0;
		for (int a = 0; a < c->n_models; a++)
			for (int b = a + 1; b < c->n_models; b++, i++) {
				row[i].a = a;
				row[i].b = b;
				row[i].metric = compared[q];
				compare(c, g, units, &row[i]);
				p[i] = row[i].t.p;
			}
		stats_holm(p, pairs, p);
		for (i = 0; i < pairs; i++)
			row[i].p_holm = p[i];
	}
	free(p);
	return cmp;
}

static void write_comparison(struct jw *w, const struct summary_config *c, const struct group *g,
			     const struct comparison *x)
{
	jw_obj_begin(w);
	jw_kstr(w, "a", g[x->a].name);
	jw_kstr(w, "b", g[x->b].name);
	jw_kstr(w, "metric", metrics_name(x->metric));
	jw_kstr(w, "test", c->repeats > 1 ? "corrected_repeated_kfold" : "corrected_resampled");
	jw_knum(w, "diff_mean", x->t.mean);
	jw_knum(w, "t", x->t.t);
	jw_knum(w, "df", x->t.df);
	jw_knum(w, "p", x->t.p);
	jw_knum(w, "p_holm", x->p_holm);
	jw_kbool(w, "significant", x->p_holm < c->alpha);
	jw_kstr(w, "reason", x->t.reason);
	jw_key(w, "mcnemar");
	jw_obj_begin(w);
	jw_kint(w, "b", x->mc.b);
	jw_kint(w, "c", x->mc.c);
	jw_knum(w, "statistic", x->mc.statistic);
	jw_knum(w, "p", x->mc.p);
	jw_kstr(w, "method", x->mc.method);
	jw_obj_end(w);
	jw_obj_end(w);
}

/* "comparisons", then "best" and "verdict" by the primary metric. */
static void write_comparisons(struct jw *w, const struct summary_config *c, const struct group *g,
			      const struct group *base, int units, int primary)
{
	int compared[SUMMARY_N_COMPARED + 1], primary_row;
	int nq = compared_metrics(primary, compared, &primary_row);
	int pairs = c->n_models * (c->n_models - 1) / 2;
	struct comparison *cmp = compare_all(c, g, units, compared, nq, pairs);
	jw_key(w, "comparisons");
	jw_arr_begin(w);
	for (int i = 0; i < pairs * nq; i++)
		write_comparison(w, c, g, &cmp[i]);
	jw_arr_end(w);
	write_verdict(w, c, g, base, units, cmp + primary_row * pairs, pairs, primary);
	free(cmp);
}

static int check_config(const struct summary_config *c)
{
	if (c->k < 2 || c->repeats < 1 || c->n_models < 0)
		return error("summary of '%s': need k >= 2 and repeats >= 1", c->experiment);
	if (!(c->alpha > 0 && c->alpha < 1) || !(c->beta > 0))
		return error("summary of '%s': alpha must be in (0, 1) and beta positive",
			     c->experiment);
	return 0;
}

int summary_build(const struct summary_config *c, struct jw *w)
{
	if (check_config(c) != 0)
		return -1;
	int units = c->k * c->repeats, rc = 0;
	struct group *g = xcalloc((size_t)c->n_models + 1, sizeof *g);
	struct group base[N_BASELINES];
	memset(base, 0, sizeof base);
	int primary = metrics_id(c->primary ? c->primary : "auroc");
	if (read_models(c, g, units) < 0 || make_baselines(c, g, units, base) < 0) {
		rc = -1;
		goto out;
	}
	if (primary < 0) {
		rc = error("summary of '%s': unknown primary metric '%s'", c->experiment, c->primary);
		goto out;
	}
	jw_obj_begin(w);
	write_settings(w, c, primary);
	jw_key(w, "models");
	jw_obj_begin(w);
	for (int m = 0; m < c->n_models; m++)
		write_group(w, c, &g[m], units, 1, &rc);
	jw_obj_end(w);
	jw_key(w, "baselines");
	jw_obj_begin(w);
	for (int b = 0; b < N_BASELINES; b++)
		write_group(w, c, &base[b], units, 0, &rc);
	jw_obj_end(w);
	write_comparisons(w, c, g, base, units, primary);
	write_provenance(w, c, g, units);
	jw_obj_end(w);
out:
	release_models(c, g, units);
	release_baselines(base, units);
	return rc;
}

int summary_write(const struct summary_config *c, const char *path)
{
	struct jw w;
	jw_init(&w);
	int rc = summary_build(c, &w);
	if (rc == 0)
		rc = jw_write_file(&w, path);
	jw_release(&w);
	return rc;
}
