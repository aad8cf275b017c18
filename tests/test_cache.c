/* test_cache.c: the decode-once cache: values, hit, miss, invalidation by
 * changed sources and by damage, and failures that leave no file. */
#include "cache.h"

#include "error.h"
#include "fsutil.h"
#include "helpers.h"
#include "image.h"

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char *normal[] = { "train/good" };
static char *anomalous[] = { "test/*" };

struct fixture {
	char *root, *cache_dir;
	struct dataset d;
};

/* Image k: 4x4 RGB, pixel (x, y) channel c = 10*k + 40*c + x + 4*y. */
static uint8_t sample(int k, int x, int y, int c)
{
	return (uint8_t)(10 * k + 40 * c + x + 4 * y);
}

static void write_image(const char *root, const char *rel, int k)
{
	uint8_t px[4 * 4 * 3];
	for (int y = 0; y < 4; y++)
		for (int x = 0; x < 4; x++)
			for (int c = 0; c < 3; c++)
				px[(y * 4 + x) * 3 + c] = sample(k, x, y, c);
	char *p = xasprintf("%s/%s", root, rel);
	char *dir = xstrdup(p);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(fs_mkdir_p(dir), 0);
	assert_int_equal(image_png_write(p, px, 4, 4, 3), 0);
	free(dir);
	free(p);
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	f->root = test_tmpdir();
	f->cache_dir = xasprintf("%s/cache", f->root);
	write_image(f->root, "part/train/good/000.png", 0);
	write_image(f->root, "part/train/good/001.png", 1);
	write_image(f->root, "part/test/cut/000.png", 2);
	assert_int_equal(dataset_scan(f->root, "part", normal, 1, anomalous, 1, &f->d), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	dataset_release(&f->d);
	test_rm_rf(f->root);
	free(f->root);
	free(f->cache_dir);
	free(f);
	return 0;
}

static int saved_stdout = -1;
static FILE *out_capture;

static void stdout_begin(void)
{
	fflush(stdout);
	out_capture = tmpfile();
	assert_non_null(out_capture);
	saved_stdout = dup(1);
	dup2(fileno(out_capture), 1);
}

static char *stdout_end(void)
{
	fflush(stdout);
	dup2(saved_stdout, 1);
	close(saved_stdout);
	long n = ftell(out_capture);
	char *buf = xmalloc((size_t)n + 1);
	rewind(out_capture);
	size_t got = fread(buf, 1, (size_t)n, out_capture);
	buf[got] = '\0';
	fclose(out_capture);
	return buf;
}

/* cache_load with stdout captured; returns what it printed. */
static char *load(struct fixture *f, int w, int h, int c, struct cache *cc)
{
	stdout_begin();
	int rc = cache_load(&f->d, w, h, c, f->cache_dir, cc);
	char *msg = stdout_end();
	assert_int_equal(rc, 0);
	return msg;
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The expected 2x2 value: mean of the 2x2 block of image k, by hand. */
static double block_mean(int k, int bx, int by, int c)
{
	double s = 0;
	for (int y = 2 * by; y < 2 * by + 2; y++)
		for (int x = 2 * bx; x < 2 * bx + 2; x++)
			s += sample(k, x, y, c);
	return s / 4.0 / 255.0;
}

static void check_values(const struct cache *cc, const int *ks)
{
	for (int i = 0; i < cc->n; i++) {
		const float *im = cache_image(cc, i); /* (3, 2, 2) */
		for (int c = 0; c < 3; c++)
			for (int y = 0; y < 2; y++)
				for (int x = 0; x < 2; x++)
					assert_float_equal(im[(c * 2 + y) * 2 + x],
							   block_mean(ks[i], x, y, c), 1e-6);
	}
}

/* Items are sorted: test/cut/000 (image 2), train/good/000 (0), 001 (1). */
static const int order[] = { 2, 0, 1 };

static void cache_should_build_once_then_hit(void **state)
{
	struct fixture *f = *state;
	struct cache cc;
	char *msg = load(f, 2, 2, 3, &cc);
	assert_non_null(strstr(msg, "cache: building"));
	assert_non_null(strstr(msg, "(missing)"));
	free(msg);
	assert_int_equal(cc.n, 3);
	check_values(&cc, order);
	char *path = cache_path(&f->d, 2, 2, 3, f->cache_dir);
	struct stat st1, st2;
	assert_int_equal(stat(path, &st1), 0);
	cache_release(&cc);

	msg = load(f, 2, 2, 3, &cc);
	assert_string_equal(msg, ""); /* a hit prints nothing and decodes nothing */
	free(msg);
	check_values(&cc, order);
	assert_int_equal(stat(path, &st2), 0);
	assert_true(st1.st_mtim.tv_sec == st2.st_mtim.tv_sec &&
		    st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec);
	assert_int_equal(count_files(f->cache_dir), 1); /* no temporary left */
	cache_release(&cc);
	free(path);
}

static void cache_should_keep_other_sizes_in_other_files(void **state)
{
	struct fixture *f = *state;
	struct cache a, b, l;
	free(load(f, 2, 2, 3, &a));
	char *msg = load(f, 4, 4, 3, &b); /* same size as the sources: a miss, not a hit */
	assert_non_null(strstr(msg, "(missing)"));
	free(msg);
	assert_int_equal(b.w, 4);
	assert_float_equal(cache_image(&b, 1)[5], sample(0, 1, 1, 0) / 255.0, 1e-7);
	msg = load(f, 2, 2, 1, &l);
	assert_non_null(strstr(msg, "(missing)"));
	free(msg);
	assert_int_equal(l.c, 1);
	/* luma of the 2x2 block means (the filter is linear) */
	double y = 0.2126 * block_mean(0, 1, 0, 0) + 0.7152 * block_mean(0, 1, 0, 1) +
		   0.0722 * block_mean(0, 1, 0, 2);
	assert_float_equal(cache_image(&l, 1)[1], y, 1e-6);
	assert_int_equal(count_files(f->cache_dir), 3);
	char *pa = cache_path(&f->d, 2, 2, 3, f->cache_dir), *pb = cache_path(&f->d, 4, 4, 3, f->cache_dir);
	assert_string_not_equal(pa, pb);
	free(pa);
	free(pb);
	/* the first is still a hit */
	cache_release(&a);
	msg = load(f, 2, 2, 3, &a);
	assert_string_equal(msg, "");
	free(msg);
	cache_release(&a);
	cache_release(&b);
	cache_release(&l);
}

/* Set the modification time of image rel to t seconds, then rescan. */
static void touch_and_rescan(struct fixture *f, const char *rel, time_t t)
{
	char *p = xasprintf("%s/%s", f->root, rel);
	struct timespec times[2] = { { t, 0 }, { t, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, p, times, 0), 0);
	free(p);
	dataset_release(&f->d);
	assert_int_equal(dataset_scan(f->root, "part", normal, 1, anomalous, 1, &f->d), 0);
}

static void cache_should_rebuild_when_a_source_changes(void **state)
{
	struct fixture *f = *state;
	struct cache cc;
	free(load(f, 2, 2, 3, &cc));
	cache_release(&cc);
	/* rewrite train/good/001.png with other pixels and an older mtime */
	write_image(f->root, "part/train/good/001.png", 5);
	touch_and_rescan(f, "part/train/good/001.png", 1000000000);
	char *msg = load(f, 2, 2, 3, &cc);
	assert_non_null(strstr(msg, "stale: source files or preprocessing changed"));
	free(msg);
	const int now[] = { 2, 0, 5 };
	check_values(&cc, now);
	cache_release(&cc);
	/* only touching a file (same bytes, new mtime) also invalidates */
	touch_and_rescan(f, "part/train/good/000.png", 1100000000);
	msg = load(f, 2, 2, 3, &cc);
	assert_non_null(strstr(msg, "stale"));
	free(msg);
	cache_release(&cc);
	msg = load(f, 2, 2, 3, &cc);
	assert_string_equal(msg, "");
	free(msg);
	cache_release(&cc);
}

/* The data key of the dataset under root, cached in cache_dir. */
static void key_of_copy(const char *root, const char *cache_dir, char key[65])
{
	struct dataset d;
	struct cache cc;
	assert_int_equal(dataset_scan(root, "part", normal, 1, anomalous, 1, &d), 0);
	stdout_begin();
	assert_int_equal(cache_load(&d, 2, 2, 3, cache_dir, &cc), 0);
	free(stdout_end());
	memcpy(key, cc.data_key, 65);
	cache_release(&cc);
	dataset_release(&d);
}

/* data_key names what the images are: the same after the files are touched
 * (the cache is rebuilt) and for a copy of the dataset in another folder
 * with its own cache; another key when a pixel changes. */
static void data_key_should_follow_content_not_place_or_time(void **state)
{
	struct fixture *f = *state;
	struct cache cc;
	free(load(f, 2, 2, 3, &cc));
	char first[65];
	memcpy(first, cc.data_key, sizeof first);
	assert_int_equal((int)strlen(first), 64);
	cache_release(&cc);

	touch_and_rescan(f, "part/train/good/000.png", 1100000000);
	char *msg = load(f, 2, 2, 3, &cc);
	assert_non_null(strstr(msg, "stale")); /* the file key follows mtimes */
	free(msg);
	assert_string_equal(cc.data_key, first);
	cache_release(&cc);

	char *other = xasprintf("%s/elsewhere", f->root), *cache2 = xasprintf("%s/c2", f->root);
	char key[65];
	write_image(other, "part/train/good/000.png", 0);
	write_image(other, "part/train/good/001.png", 1);
	write_image(other, "part/test/cut/000.png", 2);
	key_of_copy(other, cache2, key);
	assert_string_equal(key, first);
	write_image(other, "part/test/cut/000.png", 3); /* other pixels */
	key_of_copy(other, cache2, key);
	assert_string_not_equal(key, first);
	free(other);
	free(cache2);
}

/* Damage the cache file at offset off (or truncate it if off < 0). */
static void damage(const char *path, long off)
{
	char *data;
	size_t len;
	assert_int_equal(fs_read_file(path, &data, &len), 0);
	if (off < 0) {
		len = len + (size_t)off;
	} else {
		data[off] ^= 0x40;
	}
	test_write_file(path, data, len);
	free(data);
}

static void cache_should_rebuild_a_damaged_file(void **state)
{
	struct fixture *f = *state;
	struct cache cc;
	free(load(f, 2, 2, 3, &cc));
	cache_release(&cc);
	char *path = cache_path(&f->d, 2, 2, 3, f->cache_dir);
	const struct {
		long off;
		const char *why;
	} cases[] = {
		{ 0, "corrupt: bad magic" },
		{ 100 + 4 * 17, "corrupt: checksum mismatch" },
		{ -4, "corrupt: wrong file length" },
		{ 8, "stale: other format version" },
		{ 12, "stale: other dimensions" },
		{ 40, "stale: source files or preprocessing changed" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		damage(path, cases[i].off);
		char *msg = load(f, 2, 2, 3, &cc);
		assert_non_null(strstr(msg, cases[i].why));
		free(msg);
		check_values(&cc, order);
		cache_release(&cc);
	}
	test_write_file(path, "", 0);
	char *msg = load(f, 2, 2, 3, &cc);
	assert_non_null(strstr(msg, "corrupt: short header"));
	free(msg);
	cache_release(&cc);
	msg = load(f, 2, 2, 3, &cc);
	assert_string_equal(msg, "");
	free(msg);
	cache_release(&cc);
	free(path);
}

static void cache_should_fail_on_a_bad_image_and_write_nothing(void **state)
{
	struct fixture *f = *state;
	char *p = xasprintf("%s/part/train/good/001.png", f->root);
	test_write_file(p, "not a png", 9);
	struct cache cc;
	test_stderr_begin();
	stdout_begin();
	int rc = cache_load(&f->d, 2, 2, 3, f->cache_dir, &cc);
	free(stdout_end());
	char *msg = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_null(cc.data);
	assert_non_null(strstr(msg, p));
	assert_non_null(strstr(msg, "not a PNG file"));
	assert_int_equal(count_files(f->cache_dir), 0);
	free(msg);
	test_stderr_begin();
	assert_int_equal(cache_load(&f->d, 0, 2, 3, f->cache_dir, &cc), -1);
	assert_int_equal(cache_load(&f->d, 2, 2, 2, f->cache_dir, &cc), -1);
	free(test_stderr_end());
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(cache_should_build_once_then_hit, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_should_keep_other_sizes_in_other_files, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_should_rebuild_when_a_source_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(data_key_should_follow_content_not_place_or_time, setup,
						teardown),
		cmocka_unit_test_setup_teardown(cache_should_rebuild_a_damaged_file, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_should_fail_on_a_bad_image_and_write_nothing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
