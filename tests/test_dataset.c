/* test_dataset.c: scanning the MVTec AD layout: labels, defect types,
 * masks, sorted order, and every missing-or-empty error. */
#include "dataset.h"

#include "error.h"
#include "helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

static char *normal_default[] = { "train/good" };
static char *anomalous_default[] = { "test/*" };

static void touch(const char *root, const char *rel, size_t size)
{
	char *p = xasprintf("%s/%s", root, rel);
	char *data = xcalloc(size + 1, 1);
	test_write_file(p, data, size);
	free(data);
	free(p);
}

/* <tmp>/mvtec/widget with files created in a deliberately unsorted order. */
static int setup(void **state)
{
	char *dir = test_tmpdir();
	const char *files[] = {
		"widget/train/good/010.png", "widget/train/good/002.png", "widget/train/good/001.png",
		"widget/test/scratch/001.png", "widget/test/good/000.png", "widget/test/scratch/000.png",
		"widget/test/bent/000.png", "widget/test/good/001.png",
	};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		touch(dir, files[i], 10 + i);
	touch(dir, "widget/ground_truth/scratch/001_mask.png", 5);
	touch(dir, "widget/ground_truth/bent/000_mask.png", 5);
	touch(dir, "widget/train/good/notes.txt", 3);       /* not a .png: ignored */
	touch(dir, "widget/train/good/.hidden.png", 3);     /* hidden: ignored */
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	test_rm_rf(*state);
	free(*state);
	return 0;
}

static void scan_should_label_folders_and_sort_by_path(void **state)
{
	struct dataset d;
	assert_int_equal(dataset_scan(*state, "widget", normal_default, 1, anomalous_default, 1, &d), 0);
	assert_int_equal(d.n, 6);
	assert_int_equal(d.n_normal, 3);
	assert_int_equal(d.n_anomalous, 3);
	const char *rel[] = { "test/bent/000.png", "test/scratch/000.png", "test/scratch/001.png",
			      "train/good/001.png", "train/good/002.png", "train/good/010.png" };
	const char *defect[] = { "bent", "scratch", "scratch", "good", "good", "good" };
	const int label[] = { 1, 1, 1, 0, 0, 0 };
	const char *split[] = { "test", "test", "test", "train", "train", "train" };
	const int has_mask[] = { 1, 0, 1, 0, 0, 0 };
	for (int i = 0; i < 6; i++) {
		assert_string_equal(d.items[i].rel, rel[i]);
		assert_string_equal(d.items[i].defect, defect[i]);
		assert_int_equal(d.items[i].label, label[i]);
		assert_string_equal(d.items[i].split, split[i]);
		char *path = xasprintf("%s/widget/%s", (char *)*state, rel[i]);
		assert_string_equal(d.items[i].path, path);
		free(path);
		assert_int_equal(d.items[i].mask != NULL, has_mask[i]);
		assert_true(d.items[i].mtime_ns > 0);
	}
	char *mask = xasprintf("%s/widget/ground_truth/bent/000_mask.png", (char *)*state);
	assert_string_equal(d.items[0].mask, mask);
	free(mask);
	/* sizes come from the files: train/good/010.png was written with 10 bytes */
	assert_int_equal(d.items[5].size, 10);
	assert_int_equal(d.items[0].size, 16);
	char *dir = xasprintf("%s/widget", (char *)*state);
	assert_string_equal(d.dir, dir);
	assert_string_equal(d.category, "widget");
	free(dir);
	dataset_release(&d);
	dataset_release(&d); /* released twice is harmless */
}

static void scan_should_add_test_good_as_normal_when_asked(void **state)
{
	char *normal[] = { "train/good", "test/good" };
	struct dataset d;
	assert_int_equal(dataset_scan(*state, "widget", normal, 2, anomalous_default, 1, &d), 0);
	assert_int_equal(d.n, 8);
	assert_int_equal(d.n_normal, 5);
	assert_string_equal(d.items[1].rel, "test/good/000.png");
	assert_int_equal(d.items[1].label, LABEL_NORMAL);
	assert_string_equal(d.items[1].split, "test");
	assert_string_equal(d.items[1].defect, "good");
	for (int i = 1; i < d.n; i++)
		assert_true(strcmp(d.items[i - 1].rel, d.items[i].rel) < 0);
	dataset_release(&d);
}

static void scan_should_accept_explicit_defect_folders(void **state)
{
	char *anomalous[] = { "test/scratch", "test/scratch" }; /* duplicates count once */
	struct dataset d;
	assert_int_equal(dataset_scan(*state, "widget", normal_default, 1, anomalous, 2, &d), 0);
	assert_int_equal(d.n_anomalous, 2);
	assert_string_equal(d.items[0].rel, "test/scratch/000.png");
	dataset_release(&d);
}

static void scan_all_should_list_every_standard_folder(void **state)
{
	struct dataset d;
	assert_int_equal(dataset_scan_all(*state, "widget", &d), 0);
	assert_int_equal(d.n, 8);
	assert_int_equal(d.n_normal, 5);
	assert_int_equal(d.n_anomalous, 3);
	dataset_release(&d);
}

/* Run a scan expected to fail; return its stderr (one line). */
static char *scan_error(const char *root, const char *category, char **normal, int nn,
			char **anomalous, int na)
{
	struct dataset d;
	test_stderr_begin();
	int rc = dataset_scan(root, category, normal, nn, anomalous, na, &d);
	char *msg = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_int_equal(d.n, 0);
	assert_null(d.items);
	int lines = 0;
	for (const char *s = msg; *s; s++)
		lines += *s == '\n';
	assert_int_equal(lines, 1);
	return msg;
}

static void scan_should_name_missing_root_category_and_folder(void **state)
{
	char *root = *state;
	char *missing = xasprintf("%s/nope", root);
	char *msg = scan_error(missing, "widget", normal_default, 1, anomalous_default, 1);
	assert_non_null(strstr(msg, missing));
	assert_non_null(strstr(msg, "dataset root"));
	free(msg);
	msg = scan_error(root, "cable", normal_default, 1, anomalous_default, 1);
	char *cat = xasprintf("'%s/cable'", root);
	assert_non_null(strstr(msg, cat));
	assert_non_null(strstr(msg, "expected train/ and test/"));
	free(cat);
	free(msg);
	char *normal[] = { "train/okay" };
	msg = scan_error(root, "widget", normal, 1, anomalous_default, 1);
	char *folder = xasprintf("missing folder '%s/widget/train/okay'", root);
	assert_non_null(strstr(msg, folder));
	free(folder);
	free(msg);
	char *test = xasprintf("%s/widget/test", root);
	test_rm_rf(test);
	free(test);
	msg = scan_error(root, "widget", normal_default, 1, anomalous_default, 1);
	folder = xasprintf("missing folder '%s/widget/test'", root);
	assert_non_null(strstr(msg, folder));
	assert_non_null(strstr(msg, "test/*"));
	free(folder);
	free(msg);
	free(missing);
}

static void scan_should_reject_an_empty_class_naming_its_folder(void **state)
{
	char *root = *state;
	char *cmd = xasprintf("%s/widget/train/good", root);
	char *rm = xasprintf("rm -f '%s'/*.png", cmd);
	assert_int_equal(system(rm), 0);
	char *msg = scan_error(root, "widget", normal_default, 1, anomalous_default, 1);
	assert_non_null(strstr(msg, "no normal images"));
	assert_non_null(strstr(msg, cmd));
	free(msg);
	free(rm);
	free(cmd);
	/* anomalous: test/ holds only good */
	char *anomalous[] = { "test/good" };
	char *normal[] = { "test/good" };
	msg = scan_error(root, "widget", normal, 1, anomalous, 1);
	assert_non_null(strstr(msg, "both normal and anomalous"));
	free(msg);
	char *bad[] = { "../widget/test/good" };
	msg = scan_error(root, "widget", bad, 1, anomalous_default, 1);
	assert_non_null(strstr(msg, "invalid normal folder"));
	free(msg);
}

static void scan_should_not_depend_on_creation_order(void **state)
{
	/* the same names created in the opposite order give the same list */
	char *a = test_tmpdir();
	const char *names[] = { "c/train/good/b.png", "c/train/good/a.png", "c/train/good/c.png",
				"c/test/y/2.png", "c/test/x/1.png" };
	for (int i = 4; i >= 0; i--)
		touch(a, names[i], 1);
	char *b = test_tmpdir();
	for (int i = 0; i < 5; i++)
		touch(b, names[i], 1);
	struct dataset da, db;
	assert_int_equal(dataset_scan(a, "c", normal_default, 1, anomalous_default, 1, &da), 0);
	assert_int_equal(dataset_scan(b, "c", normal_default, 1, anomalous_default, 1, &db), 0);
	assert_int_equal(da.n, 5);
	assert_int_equal(db.n, 5);
	for (int i = 0; i < 5; i++)
		assert_string_equal(da.items[i].rel, db.items[i].rel);
	assert_string_equal(da.items[0].rel, "test/x/1.png");
	assert_string_equal(da.items[4].rel, "train/good/c.png");
	dataset_release(&da);
	dataset_release(&db);
	test_rm_rf(a);
	test_rm_rf(b);
	free(a);
	free(b);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(scan_should_label_folders_and_sort_by_path, setup, teardown),
		cmocka_unit_test_setup_teardown(scan_should_add_test_good_as_normal_when_asked, setup, teardown),
		cmocka_unit_test_setup_teardown(scan_should_accept_explicit_defect_folders, setup, teardown),
		cmocka_unit_test_setup_teardown(scan_all_should_list_every_standard_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(scan_should_name_missing_root_category_and_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(scan_should_reject_an_empty_class_naming_its_folder, setup, teardown),
		cmocka_unit_test(scan_should_not_depend_on_creation_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
