/* cmd_plan.c: `darkfold plan`: the units of an experiment, as a table for
 * people, a list for job arrays, or make rules for Makefile.bench. */
#include "commands.h"

#include "cost.h"
#include "dataset.h"
#include "error.h"
#include "experiment.h"
#include "folds.h"
#include "study.h"
#include "unit.h"
#include "unitlock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_plan_usage[] =
	"usage: darkfold plan EXPERIMENT [--format table|list|make]\n"
	"\n"
	"List the units (model, repeat, fold) of an experiment.\n"
	"\n"
	"  --format table  (default) each unit with its fold sizes and class counts\n"
	"                  (normal/anomalous) and its state: pending (no current\n"
	"                  result), running (a process holds its lock), done or\n"
	"                  failed\n"
	"  --format list   one unit per line: EXPERIMENT-NAME MODEL REPEAT FOLD,\n"
	"                  for farming units out (e.g. a Slurm job array)\n"
	"  --format make   make variables and one rule per unit whose target is the\n"
	"                  unit's result file (Makefile.bench includes this)\n"
	"\n"
	"The table and make formats scan the dataset, generating the synthetic set\n"
	"first when the experiment falls back to it; the make format also builds the\n"
	"image cache, so that units started together find it ready.";

enum plan_format { PLAN_TABLE, PLAN_LIST, PLAN_MAKE };

struct counts {
	int n, normal, anomalous;
};

static struct counts count(const int *idx, int n, const int *labels)
{
	struct counts c = { n, 0, 0 };
	for (int i = 0; i < n; i++) {
		if (labels[idx[i]] == LABEL_NORMAL)
			c.normal++;
		else
			c.anomalous++;
	}
	return c;
}

/* The study's estimated CPU time (see cost_unit_seconds) and the models
 * without a measured cost. */
static void print_cost(const struct experiment *e, double seconds, int n_costed,
		       unsigned long long uncosted)
{
	if (n_costed == 0) {
		printf("estimated cost: unknown (no measured cost for any model in costs.json beside "
		       "its cfg)\n");
		return;
	}
	printf("estimated cost: %.1f CPU hours for all units (one core each, %d epochs each, or the "
	       "model's own%s), from the per-image costs in costs.json beside each cfg",
	       seconds / 3600, e->training.epochs,
	       e->training.early_stopping ? ": an upper bound with early stopping" : "");
	for (int m = 0; m < e->n_models; m++)
		if (e->models[m].kind == EXP_KIND_KNN)
			printf("; knn model %s: %.1f s per unit, fixed", e->models[m].name,
			       COST_KNN_UNIT_SECONDS);
	if (uncosted) {
		printf("; not counted, no measured cost:");
		for (int m = 0; m < e->n_models; m++)
			if (uncosted & (1ull << (m < 63 ? m : 63)))
				printf(" %s", e->models[m].name);
	}
	printf("\n");
}

/* The header of the table: the experiment, its data, folds and units. */
static void print_header(const struct experiment *e, const struct dataset *d)
{
	printf("experiment %s (%s)\n", e->name, e->path);
	printf("  dataset  %s: %d images, %d normal, %d anomalous; input %dx%dx%d\n", d->dir, d->n,
	       d->n_normal, d->n_anomalous, e->dataset.width, e->dataset.height, e->dataset.channels);
	printf("  cv       %d folds%s, %d repeat%s, seed %llu; inner validation %.0f%% of the "
	       "training folds\n",
	       e->cv.k, e->cv.stratify ? ", stratified" : "", e->cv.repeats,
	       e->cv.repeats == 1 ? "" : "s", (unsigned long long)e->cv.seed,
	       100 * e->cv.inner_fraction);
	printf("  units    %d model%s x %d repeat%s x %d folds = %d\n", e->n_models,
	       e->n_models == 1 ? "" : "s", e->cv.repeats, e->cv.repeats == 1 ? "" : "s", e->cv.k,
	       e->n_models * e->cv.repeats * e->cv.k);
	if (e->training.precision == EXP_PREC_BF16) /* fp32 plans print what they always did */
		printf("  precision bf16: training's products in bfloat16 (the costs below are "
		       "fp32's)\n");
	printf("  results  %s/%s/\n\n", e->results_dir, e->name);
	printf("%-12s %-8s %14s %14s %14s %14s  %s\n", "model", "unit", "train (n/a)",
	       "inner (n/a)", "val (n/a)", "test (n/a)", "result");
}

/* What the table's rows add up to. */
struct plan_totals {
	int done, running, failed;
	double cost;                     /* estimated single-core seconds of the units with a cost */
	int n_costed;
	unsigned long long uncosted;     /* bit m: model m has no measured cost */
};

/* Print the row of unit u and add it to t. Returns 0 or -1. */
static int print_row(const struct experiment *e, const struct folds *fo, const int *labels,
		     const struct study_unit *u, struct plan_totals *t)
{
	int *tr, *te, *itr, *iva, ntr, nte, nitr, niva;
	if (folds_unit(fo, labels, u->repeat, u->fold, e->cv.inner_fraction, e->cv.seed, &tr, &ntr,
		       &te, &nte, &itr, &nitr, &iva, &niva) != 0)
		return -1;
	struct counts c[4] = { count(tr, ntr, labels), count(itr, nitr, labels),
			       count(iva, niva, labels), count(te, nte, labels) };
	free(tr);
	free(te);
	free(itr);
	free(iva);
	char name[32], cell[4][32];
	study_unit_name(u, name, sizeof name);
	for (int j = 0; j < 4; j++)
		snprintf(cell[j], sizeof cell[j], "%d (%d/%d)", c[j].n, c[j].normal, c[j].anomalous);
	double sec;
	int crc = cost_unit_seconds(e, u->model, ntr, &sec);
	if (crc < 0)
		return -1;
	if (crc == 0) {
		t->cost += sec;
		t->n_costed++;
	} else
		t->uncosted |= 1ull << (u->model < 63 ? u->model : 63);
	enum study_state st = study_unit_state(e, u, NULL);
	int running = st != STUDY_DONE &&
		      unitlock_is_held(e, e->models[u->model].name, u->repeat, u->fold);
	t->done += st == STUDY_DONE;
	t->running += running;
	t->failed += !running && st == STUDY_FAILED;
	printf("%-12s %-8s %14s %14s %14s %14s  %s\n", e->models[u->model].name, name, cell[0],
	       cell[1], cell[2], cell[3], running ? "running" : study_state_name(st));
	return 0;
}

static int print_table(const struct experiment *e, const struct study_unit *units, int n_units)
{
	struct dataset d;
	if (study_prepare_data(e) != 0 || study_scan(e, &d) != 0)
		return -1;
	int *labels = xmalloc(sizeof *labels * (size_t)(d.n ? d.n : 1));
	for (int i = 0; i < d.n; i++)
		labels[i] = d.items[i].label;
	struct folds fo;
	if (folds_split(labels, d.n, e->cv.k, e->cv.repeats, e->cv.seed, e->cv.stratify, &fo) != 0) {
		error("%s: cannot build the folds of '%s'", e->path, d.dir);
		free(labels);
		dataset_release(&d);
		return -1;
	}
	print_header(e, &d);
	struct plan_totals t = { 0 };
	int rc = 0;
	for (int i = 0; i < n_units && rc == 0; i++)
		rc = print_row(e, &fo, labels, &units[i], &t);
	if (rc == 0) {
		printf("\n%d of %d units up to date; %d running, %d failed, %d pending\n", t.done,
		       n_units, t.running, t.failed, n_units - t.done - t.running - t.failed);
		print_cost(e, t.cost, t.n_costed, t.uncosted);
	}
	folds_release(&fo);
	free(labels);
	dataset_release(&d);
	return rc;
}

static void print_list(const struct experiment *e, const struct study_unit *units, int n_units)
{
	for (int i = 0; i < n_units; i++)
		printf("%s %s %d %d\n", e->name, e->models[units[i].model].name, units[i].repeat,
		       units[i].fold);
}

/* Paths written into make rules may not hold characters make treats
 * specially. */
static int make_safe(const struct experiment *e, const char *what, const char *path)
{
	if (strpbrk(path, " \t\n:#$%=\\;|'\"*?[]()"))
		return error("%s: %s '%s' cannot appear in a make rule (it holds a space or one of "
			     ":#$%%=\\;|'\"*?[]()); rename it or use --format list",
			     e->path, what, path);
	return 0;
}

/* The make variables: the experiment, its data and each model's units. */
static void print_make_vars(const struct experiment *e, const struct study_unit *units,
			    int n_units, const struct dataset *d, const char *sig,
			    const char *results)
{
	printf("# The units of %s as make targets, each made by training the unit;\n", e->path);
	printf("# written by: darkfold plan %s --format make\n", e->path);
	printf("# A unit is remade when its experiment file, cfg, weights, the data\n");
	printf("# (DF_DATA_STAMP) or DF_BINARY is newer than its result file; darkfold run\n");
	printf("# then retrains it only if its inputs really changed (unit_is_current).\n");
	printf("DARKFOLD ?= darkfold\n");
	printf("DF_EXP := %s\n", e->path);
	printf("DF_NAME := %s\n", e->name);
	printf("DF_RESULTS := %s\n", results);
	printf("DF_DATA_DIR := %s\n", d->dir);
	printf("DF_DATA_SIG := %s\n", sig);
	printf("DF_DATA_STAMP := %s/data.sig\n", results);
	printf("DF_MODELS :=");
	for (int i = 0; i < e->n_models; i++)
		printf(" %s", e->models[i].name);
	printf("\n");
	for (int m = 0; m < e->n_models; m++) {
		printf("DF_UNITS_%s :=", e->models[m].name);
		for (int i = 0; i < n_units; i++) {
			if (units[i].model != m)
				continue;
			char *p = unit_result_path(e, e->models[m].name, units[i].repeat, units[i].fold);
			printf(" \\\n  %s", p);
			free(p);
		}
		printf("\n");
	}
	printf("DF_UNITS :=");
	for (int m = 0; m < e->n_models; m++)
		printf(" $(DF_UNITS_%s)", e->models[m].name);
	printf("\n\n");
}

/* The targets: the phony groups, the data stamp and one rule per unit. */
static void print_make_rules(const struct experiment *e, const struct study_unit *units,
			     int n_units)
{
	printf(".PHONY: df-units df-force");
	for (int m = 0; m < e->n_models; m++)
		printf(" df-units-%s", e->models[m].name);
	printf("\ndf-units: $(DF_UNITS)\n");
	for (int m = 0; m < e->n_models; m++)
		printf("df-units-%s: $(DF_UNITS_%s)\n", e->models[m].name, e->models[m].name);
	printf("df-force:\n\n");
	printf("# Rewritten only when the data signature changes, so its date is the\n"
	       "# date the data last changed.\n");
	printf("$(DF_DATA_STAMP): df-force\n");
	printf("\t@mkdir -p $(@D) && echo '$(DF_DATA_SIG)' > $@.tmp && "
	       "if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi\n\n");
	for (int i = 0; i < n_units; i++) {
		const struct exp_model *m = &e->models[units[i].model];
		char *p = unit_result_path(e, m->name, units[i].repeat, units[i].fold);
		printf("%s: %s%s%s%s%s $(DF_DATA_STAMP) $(DF_BINARY)\n", p, e->path,
		       m->cfg ? " " : "", m->cfg ? m->cfg : "", m->weights ? " " : "",
		       m->weights ? m->weights : "");
		/* On success the file is current: touch it so make agrees. On
		 * failure keep the file (it says why) but date it 1970 so the
		 * next make retries the unit. */
		printf("\t@$(DARKFOLD) run %s --model %s --repeat %d --fold %d && touch -c $@ || "
		       "{ touch -c -d @0 $@; exit 1; }\n",
		       e->path, m->name, units[i].repeat, units[i].fold);
		free(p);
	}
}

static int print_make(const struct experiment *e, const struct study_unit *units, int n_units)
{
	if (make_safe(e, "experiment path", e->path) || make_safe(e, "results folder", e->results_dir))
		return -1;
	for (int i = 0; i < e->n_models; i++)
		if ((e->models[i].cfg && make_safe(e, "cfg", e->models[i].cfg)) ||
		    (e->models[i].weights && make_safe(e, "weights", e->models[i].weights)))
			return -1;
	struct dataset d;
	if (study_prepare_data(e) != 0 || study_prepare_cache(e) != 0 || study_scan(e, &d) != 0)
		return -1;
	char sig[65];
	study_data_signature(&d, sig);
	char *results = experiment_results_path(e);

	print_make_vars(e, units, n_units, &d, sig, results);
	print_make_rules(e, units, n_units);
	free(results);
	dataset_release(&d);
	return 0;
}

static const char *const format_names[] = { "table", "list", "make", NULL };

int cmd_plan(int argc, char **argv)
{
	const char *path = NULL;
	int fmt = PLAN_TABLE;
	const struct cmd_option opts[] = {
		OPT_CHOICE("format", 0, &fmt, format_names),
		OPT_END(),
	};
	int status = cmd_parse_one(argc, argv, opts, cmd_plan_usage, "experiment", &path);
	if (status >= 0)
		return status;
	struct experiment e;
	if (experiment_load(path, &e) != 0)
		return 1;
	struct study_unit *units;
	int n_units, rc = 0;
	if (study_units(&e, NULL, -1, -1, &units, &n_units) != 0) {
		experiment_release(&e);
		return 1;
	}
	if (fmt == PLAN_LIST)
		print_list(&e, units, n_units);
	else if (fmt == PLAN_MAKE)
		rc = print_make(&e, units, n_units);
	else
		rc = print_table(&e, units, n_units);
	if (fflush(stdout) != 0)
		rc = error("plan: cannot write the output");
	free(units);
	experiment_release(&e);
	return rc == 0 ? 0 : 1;
}
