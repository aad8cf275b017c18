/* test_unit.c: unit paths and when a unit's result counts as up to date
 * (one unit trained in this process). */
#include "unit.h"

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

#include <cmocka.h>

struct fixture {
	char *dir;
	struct experiment e;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	*state = f;
	char *dir = f->dir = test_tmpdir();
	const char *d = getenv("DARKFOLD");
	assert_non_null(d);
	char *out, *cmd = xasprintf("'%s' synth --seed 4 --size 32 --out '%s/synth'", d, dir);
	int rc = test_run(cmd, &out);
	if (rc != 0)
		fprintf(stderr, "%s\n", out);
	assert_int_equal(rc, 0);
	free(out);
	free(cmd);
	char *json = xasprintf(
		"{ \"name\": \"cur\", \"results_dir\": \"%s/results\",\n"
		"  \"dataset\": { \"root\": \"%s/synth\", \"normal\": [\"test/good\"],\n"
		"    \"anomalous\": [\"test/combined\"], \"width\": 16, \"height\": 16,\n"
		"    \"synthetic\": false },\n"
		"  \"models\": { \"dense\": \"%s/cfg/dense.cfg\", \"cnn\": \"%s/cfg/cnn.cfg\" },\n"
		"  \"cv\": { \"k\": 2, \"seed\": 9 },\n"
		"  \"training\": { \"epochs\": 1, \"batch\": 8 } }\n",
		dir, dir, DARKFOLD_SOURCE_DIR, DARKFOLD_SOURCE_DIR);
	char *path = fs_join(dir, "cur.json");
	test_write_file(path, json, strlen(json));
	assert_int_equal(experiment_load(path, &f->e), 0);
	free(path);
	free(json);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	experiment_release(&f->e);
	test_rm_rf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void unit_paths_should_follow_the_results_layout(void **state)
{
	struct fixture *f = *state;
	struct experiment *e = &f->e;
	char *p = unit_result_path(e, "cnn", 1, 3);
	char *want = xasprintf("%s/results/cur/cnn/r1-f3.json", f->dir);
	assert_string_equal(p, want);
	free(p);
	free(want);
	p = unit_work_dir(e, "cnn", 1, 3);
	want = xasprintf("%s/results/cur/cnn/r1-f3", f->dir);
	assert_string_equal(p, want);
	free(p);
	free(want);
}

static void unit_run_should_refuse_unknown_units(void **state)
{
	struct fixture *f = *state;
	struct experiment *e = &f->e;
	test_stderr_begin();
	int rc = unit_run(e, "nosuch", 0, 0);
	char *err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "nosuch"));
	free(err);
	test_stderr_begin();
	rc = unit_run(e, "dense", 0, 2);
	err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "r0-f2"));
	free(err);
	assert_int_equal(unit_is_current(e, "dense", 0, 1), 0);
}

static void swap_str(char **slot, const char *v, char **old)
{
	*old = *slot;
	*slot = xstrdup(v);
}

static void unit_should_be_current_only_for_the_same_inputs(void **state)
{
	struct fixture *f = *state;
	struct experiment *e = &f->e;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0); /* no file yet */
	assert_int_equal(unit_run(e, "dense", 0, 0), 0);
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);

	/* Another model's entry and report-only settings do not matter. */
	char *old;
	swap_str(&e->models[1].cfg, DARKFOLD_SOURCE_DIR "/cfg/vgg16.cfg", &old);
	e->metrics.alpha = 0.01;
	e->metrics.bootstrap = 10;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);
	free(e->models[1].cfg);
	e->models[1].cfg = old;

	/* Training settings, the effective cfg and the input size do. */
	e->training.epochs = 2;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	e->training.epochs = 1;
	e->training.learning_rate = 0.05; /* changes the effective cfg */
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	e->training.learning_rate = 0;
	e->metrics.threshold = 0.4;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	e->metrics.threshold = 0.5;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);
	assert_int_equal(unit_is_current(e, "dense", 0, 1), 0); /* another fold */

	/* The threshold policy does, and only its own parameter: the other
	 * policies' parameters, the primary metric and the costs do not. */
	assert_int_equal(e->metrics.threshold_policy, EXP_THR_TUNED);
	e->metrics.quantile = 0.5;
	e->metrics.recall_target = 0.5;
	e->metrics.cost_fp = 9;
	e->metrics.cost_fn = 3;
	swap_str(&e->metrics.primary, "f2", &old);
	free(old);
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);
	e->metrics.threshold_policy = EXP_THR_RECALL_TARGET;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	e->metrics.threshold_policy = EXP_THR_NORMAL_QUANTILE;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	assert_int_equal(unit_run(e, "dense", 0, 0), 0);
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);
	char *rp = unit_result_path(e, "dense", 0, 0), *rt;
	assert_int_equal(fs_read_file(rp, &rt, NULL), 0);
	assert_non_null(strstr(rt, "\"policy\": \"normal_quantile\""));
	assert_non_null(strstr(rt, "\"quantile\": 0.5"));
	free(rt);
	free(rp);
	e->metrics.recall_target = 0.9;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 1);
	e->metrics.quantile = 0.9;
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	e->metrics.quantile = 0.5;

	/* A failed result is never current. */
	char *path = unit_result_path(e, "dense", 0, 0), *text;
	assert_int_equal(fs_read_file(path, &text, NULL), 0);
	char *s = strstr(text, "\"status\": \"ok\"");
	assert_non_null(s);
	char *edited = xasprintf("%.*s\"status\": \"failed\"%s", (int)(s - text), text,
				 s + strlen("\"status\": \"ok\""));
	assert_int_equal(fs_write_atomic(path, edited, strlen(edited)), 0);
	assert_int_equal(unit_is_current(e, "dense", 0, 0), 0);
	free(edited);
	free(text);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unit_paths_should_follow_the_results_layout),
		cmocka_unit_test(unit_run_should_refuse_unknown_units),
		cmocka_unit_test(unit_should_be_current_only_for_the_same_inputs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
