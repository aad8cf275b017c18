/* test_result.c: the unit result file: status words, paths, writing and
 * reading back, and the errors of files that are not valid unit files. */
#include "result.h"

#include "checksum.h"
#include "error.h"
#include "fsutil.h"
#include "helpers.h"
#include "json.h"
#include "sha256.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* What a fixture file holds; NULL strings and NAN numbers are left out. */
struct fixture {
	const char *format;
	const char *status;
	double threshold;
	int n;                 /* predictions */
	int drop_label;        /* index of a prediction written without "label", or -1 */
	double map_scale;      /* pixel_metrics.map_scale; 0: no pixel_metrics */
};

static const char *const image[3] = { "good/000.png", "cut/001.png", "bent/002.png" };
static const int label[3] = { 0, 1, 1 };
static const double score[3] = { 0.125, 0.875, 0.5 };

/* The body of a fixture unit file, from "experiment" to "timing". */
static void write_body(struct jw *w, const struct fixture *fx)
{
	jw_kstr(w, "experiment", "exp");
	jw_kstr(w, "inputs_sha256", "abc");
	jw_kstr(w, "model", "net");
	jw_kint(w, "repeat", 1);
	jw_kint(w, "fold", 2);
	jw_kstr(w, "kind", "one_class");
	jw_key(w, "score");
	jw_obj_begin(w);
	jw_kstr(w, "pooling", "mean");
	jw_kint(w, "k", 3);
	jw_obj_end(w);
	if (fx->status)
		jw_kstr(w, "status", fx->status);
	jw_kstr(w, "reason", NULL);
	jw_key(w, "data");
	jw_obj_begin(w);
	jw_kint(w, "n_train", 12);
	jw_kint(w, "n_test", 3);
	jw_obj_end(w);
	jw_key(w, "curve");
	jw_arr_begin(w);
	jw_obj_begin(w);
	jw_kint(w, "epoch", 1);
	jw_knum(w, "train_loss", 0.75);
	jw_key(w, "val_loss"), jw_null(w);
	jw_obj_end(w);
	jw_arr_end(w);
	jw_key(w, "threshold");
	jw_obj_begin(w);
	if (!isnan(fx->threshold))
		jw_knum(w, "value", fx->threshold);
	jw_obj_end(w);
	jw_key(w, "predictions");
	jw_arr_begin(w);
	for (int i = 0; i < fx->n; i++) {
		jw_obj_begin(w);
		jw_kstr(w, "path", image[i]);
		if (i != fx->drop_label)
			jw_kint(w, "label", label[i]);
		if (i != 2)
			jw_kstr(w, "defect", label[i] ? "cut" : "good");
		jw_knum(w, "p_anomalous", score[i]);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	if (fx->map_scale != 0) {
		jw_key(w, "pixel_metrics");
		jw_obj_begin(w);
		jw_knum(w, "map_scale", fx->map_scale);
		jw_obj_end(w);
	}
	jw_key(w, "timing");
	jw_obj_begin(w);
	jw_knum(w, "train_seconds", 42.5);
	jw_obj_end(w);
}

/* A fixture file at path, with a valid checksum, written without result.c. */
static void write_fixture(const char *path, const struct fixture *fx)
{
	struct jw w;
	jw_init(&w);
	jw_obj_begin(&w);
	jw_kstr(&w, "format", fx->format);
	write_body(&w, fx);
	checksum_append(&w);
	jw_obj_end(&w);
	char *dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(fs_mkdir_p(dir), 0);
	assert_int_equal(jw_write_file(&w, path), 0);
	free(dir);
	jw_release(&w);
}

static const struct fixture ok_unit = { "darkfold-unit/2", "ok", 0.5, 3, -1, 0 };

/* result_read's message on path, which it must refuse. */
static char *read_error(const char *path)
{
	struct unit_result r;
	test_stderr_begin();
	int rc = result_read(path, &r);
	char *msg = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_null(r.doc);
	return msg;
}

/* msg is exactly "error: '<path>': <rest>" plus its newline. */
static void assert_message(const char *msg, const char *path, const char *rest)
{
	char *want = xasprintf("error: '%s': %s\n", path, rest);
	assert_string_equal(msg, want);
	free(want);
}

static void status_words_should_map_both_ways(void **state)
{
	(void)state;
	static const char *const words[] = { "ok", "diverged", "failed", "interrupted" };
	assert_int_equal(UNIT_N_STATUS, 4);
	for (int i = 0; i < 4; i++) {
		enum unit_status s = UNIT_N_STATUS;
		assert_int_equal(result_status_parse(words[i], &s), 0);
		assert_string_equal(result_status_name(s), words[i]);
	}
	enum unit_status s;
	assert_int_equal(result_status_parse("ok", &s), 0);
	assert_int_equal(s, UNIT_STATUS_OK);
	assert_int_equal(result_status_parse("interrupted", &s), 0);
	assert_int_equal(s, UNIT_STATUS_INTERRUPTED);
	assert_int_equal(result_status_parse("OK", &s), -1);
	assert_int_equal(result_status_parse("ok ", &s), -1);
	assert_int_equal(result_status_parse("", &s), -1);
	assert_int_equal(result_status_parse(NULL, &s), -1);
	assert_null(result_status_name(UNIT_N_STATUS));
}

static void result_path_should_name_each_file_of_a_unit(void **state)
{
	(void)state;
	static const struct {
		enum result_file which;
		const char *want;
	} cases[] = {
		{ RESULT_FILE, "results/exp/net/r1-f12.json" },
		{ RESULT_FAILED_FILE, "results/exp/net/r1-f12.failed.json" },
		{ RESULT_WORK_DIR, "results/exp/net/r1-f12" },
		{ RESULT_LOCK_FILE, "results/exp/net/r1-f12.lock" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *p = result_path("results/exp", "net", 1, 12, cases[i].which);
		assert_string_equal(p, cases[i].want);
		free(p);
	}
}

/* Write a unit file through result_begin/result_write. */
static int write_unit(const char *results, const char *status)
{
	struct fixture fx = ok_unit;
	fx.status = status;
	fx.n = strcmp(status, "ok") ? 0 : 3;
	struct jw w;
	jw_init(&w);
	result_begin(&w);
	write_body(&w, &fx);
	enum unit_status s;
	assert_int_equal(result_status_parse(status, &s), 0);
	char *dir = fs_join(results, "net");
	assert_int_equal(fs_mkdir_p(dir), 0);
	free(dir);
	int rc = result_write(&w, results, "net", 1, 2, s);
	jw_release(&w);
	return rc;
}

static void result_should_read_back_what_it_wrote(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	assert_int_equal(write_unit(root, "ok"), 0);
	char *path = xasprintf("%s/net/r1-f2.json", root);

	/* The file starts with the format tag and ends with a checksum of the
	 * bytes before it (docs/results.md). */
	char *text;
	size_t len;
	assert_int_equal(fs_read_file(path, &text, &len), 0);
	const char *head = "{\n  \"format\": \"darkfold-unit/2\",\n";
	assert_memory_equal(text, head, strlen(head));
	char *tail = strstr(text, ",\n  \"checksum\": \"");
	assert_non_null(tail);
	char hex[65];
	sha256_hex(text, (size_t)(tail - text), hex);
	assert_memory_equal(tail + strlen(",\n  \"checksum\": \""), hex, 64);
	assert_string_equal(tail + strlen(",\n  \"checksum\": \"") + 64, "\"\n}\n");
	free(text);

	struct unit_result r;
	assert_int_equal(result_read(path, &r), 0);
	assert_int_equal(r.status, UNIT_STATUS_OK);
	assert_string_equal(r.experiment, "exp");
	assert_string_equal(r.inputs_sha256, "abc");
	assert_string_equal(r.model, "net");
	assert_int_equal(r.repeat, 1);
	assert_int_equal(r.fold, 2);
	assert_null(r.reason);
	assert_null(r.weights);
	assert_int_equal(r.one_class, 1);
	assert_string_equal(r.score_pooling, "mean");
	assert_true(r.score_k == 3);
	assert_true(r.threshold == 0.5);
	assert_true(r.n_train == 12 && r.n_test == 3);
	assert_true(r.train_seconds == 42.5);
	assert_true(isnan(r.images_per_second) && isnan(r.pixel_auroc));
	assert_int_equal(r.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(r.image[i], image[i]);
		assert_int_equal(r.label[i], label[i]);
		assert_true(r.p[i] == score[i]);
	}
	assert_string_equal(r.defect[0], "good");
	assert_string_equal(r.defect[1], "cut");
	assert_string_equal(r.defect[2], "unknown"); /* anomalous, no defect recorded */
	assert_int_equal(r.n_epochs, 1);
	assert_true(r.train_loss[0] == 0.75 && isnan(r.val_loss[0]));
	const struct json *pv = json_get(r.doc, "provenance");
	assert_string_equal(json_string(json_get(pv, "darkfold_version")), DARKFOLD_VERSION);
	assert_non_null(json_get(r.doc, "host"));
	result_release(&r);
	assert_null(r.doc);
	free(path);
	test_rm_rf(root);
	free(root);
}

/* A failure never replaces an ok result: it goes beside it; an ok or
 * diverged result removes what was put beside. */
static void result_write_should_keep_an_ok_result(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	char *path = xasprintf("%s/net/r1-f2.json", root);
	char *beside = xasprintf("%s/net/r1-f2.failed.json", root);
	struct unit_result r;
	assert_int_equal(write_unit(root, "ok"), 0);
	test_stderr_begin();
	assert_int_equal(write_unit(root, "interrupted"), 0);
	char *msg = test_stderr_end();
	assert_non_null(strstr(msg, "net r1-f2: keeping the ok result"));
	free(msg);
	assert_int_equal(result_read(path, &r), 0);
	assert_int_equal(r.status, UNIT_STATUS_OK);
	result_release(&r);
	assert_int_equal(result_read(beside, &r), 0);
	assert_int_equal(r.status, UNIT_STATUS_INTERRUPTED);
	assert_int_equal(r.n, 0);
	result_release(&r);

	assert_int_equal(write_unit(root, "diverged"), 0);
	assert_false(fs_is_file(beside));
	assert_int_equal(result_read(path, &r), 0);
	assert_int_equal(r.status, UNIT_STATUS_DIVERGED);
	result_release(&r);
	/* with no ok result, a failure takes its place */
	assert_int_equal(write_unit(root, "failed"), 0);
	assert_false(fs_is_file(beside));
	assert_int_equal(result_read(path, &r), 0);
	assert_int_equal(r.status, UNIT_STATUS_FAILED);
	result_release(&r);
	free(path);
	free(beside);
	test_rm_rf(root);
	free(root);
}

static void result_read_should_refuse_another_format(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	char *path = fs_join(root, "r0-f0.json");
	struct fixture fx = ok_unit;
	fx.format = "darkfold-unit/1";
	write_fixture(path, &fx);
	char *msg = read_error(path);
	assert_message(msg, path, ".format: expected \"darkfold-unit/2\", found "
				  "\"darkfold-unit/1\": not a unit file of this darkfold version");
	free(msg);
	test_rm_rf(root);
	free(path);
	free(root);
}

static void result_read_should_refuse_a_bad_checksum(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	char *path = fs_join(root, "r0-f0.json");
	write_fixture(path, &ok_unit);
	char *text;
	size_t len;
	assert_int_equal(fs_read_file(path, &text, &len), 0);
	char *p = strstr(text, "0.875");
	assert_non_null(p);
	p[4] = '6'; /* 0.876: one byte of a score */
	test_write_file(path, text, len);
	char *msg = read_error(path);
	assert_message(msg, path, "checksum mismatch: the file is corrupt or was edited");
	free(msg);
	p[4] = '5';
	test_write_file(path, text, len - 10);
	msg = read_error(path);
	assert_message(msg, path, "no checksum at the end: the file was cut short or edited");
	free(msg);
	test_write_file(path, text, len);
	struct unit_result r;
	assert_int_equal(result_read(path, &r), 0);
	result_release(&r);
	free(text);
	test_rm_rf(root);
	free(path);
	free(root);
}

static void result_read_should_name_a_missing_key(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	char *path = fs_join(root, "r0-f0.json");
	static const struct {
		struct fixture fx;
		const char *rest;
	} cases[] = {
		{ { "darkfold-unit/2", NULL, 0.5, 3, -1, 0 }, ".status: expected a string" },
		{ { "darkfold-unit/2", "done", 0.5, 3, -1, 0 },
		  ".status: expected \"ok\", \"diverged\", \"failed\" or \"interrupted\"" },
		{ { "darkfold-unit/2", "ok", NAN, 3, -1, 0 }, ".threshold.value: expected a number" },
		{ { "darkfold-unit/2", "ok", 0.5, 3, 1, 0 }, ".predictions[1].label: expected 0 or 1" },
		{ { "darkfold-unit/2", "ok", 0.5, 3, -1, -0.5 },
		  ".pixel_metrics.map_scale: expected a positive number or null" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		write_fixture(path, &cases[i].fx);
		char *msg = read_error(path);
		assert_message(msg, path, cases[i].rest);
		free(msg);
	}
	/* a map scale is read back; null means the unit kept no map */
	struct unit_result r;
	struct fixture maps = { "darkfold-unit/2", "ok", 0.5, 3, -1, 0.25 };
	write_fixture(path, &maps);
	assert_int_equal(result_read(path, &r), 0);
	assert_true(r.map_scale == 0.25);
	result_release(&r);
	maps.map_scale = NAN;
	write_fixture(path, &maps);
	assert_int_equal(result_read(path, &r), 0);
	assert_true(isnan(r.map_scale));
	result_release(&r);
	/* a unit that did not finish has no threshold or predictions to check */
	struct fixture fx = { "darkfold-unit/2", "failed", NAN, 0, -1, 0 };
	write_fixture(path, &fx);
	assert_int_equal(result_read(path, &r), 0);
	assert_int_equal(r.status, UNIT_STATUS_FAILED);
	assert_int_equal(r.n, 0);
	assert_true(isnan(r.threshold));
	result_release(&r);
	test_rm_rf(root);
	free(path);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_words_should_map_both_ways),
		cmocka_unit_test(result_path_should_name_each_file_of_a_unit),
		cmocka_unit_test(result_should_read_back_what_it_wrote),
		cmocka_unit_test(result_write_should_keep_an_ok_result),
		cmocka_unit_test(result_read_should_refuse_another_format),
		cmocka_unit_test(result_read_should_refuse_a_bad_checksum),
		cmocka_unit_test(result_read_should_name_a_missing_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
