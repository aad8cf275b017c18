/* cmd_data.c: `darkfold data`: inventory and validation of one category. */
#include "commands.h"

#include "cache.h"
#include "dataset.h"
#include "error.h"
#include "fsutil.h"
#include "image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char cmd_data_usage[] =
	"usage: darkfold data DIR [options]\n"
	"\n"
	"Inventory one category of a dataset in the MVTec AD layout, DIR =\n"
	"<root>/<category> (train/good, test/good, test/<defect>, ground_truth/<defect>):\n"
	"images per folder, class and defect type, image sizes and PNG formats, and\n"
	"how many defect images have a ground-truth mask and how much of the image\n"
	"it covers. Every image and mask is decoded; the first one that does not\n"
	"decode is named and the exit status is 1.\n"
	"\n"
	"Which folders form the two classes (as in an experiment file's dataset\n"
	"settings; folders relative to DIR, 'test/*' = every test/<defect> but good):\n"
	"  --normal FOLDER       a normal folder (repeatable; default train/good)\n"
	"  --anomalous FOLDER    an anomalous folder (repeatable; default test/*)\n"
	"  --with-test-good      add test/good to the normal folders\n"
	"\n"
	"Cache (build or check the decode-once cache the experiments use):\n"
	"  --cache-dir DIR       load the cache of the selected images from DIR,\n"
	"                        building it if missing or stale, and time it\n"
	"  --width W --height H  network input size (default 64x64)\n"
	"  --channels C          1 (luma) or 3 (RGB, default)\n"
	"\n"
	"See docs/datasets.md.";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s\n", cmd_data_usage);
	return 2;
}

enum { CLASS_NORMAL = LABEL_NORMAL, CLASS_ANOMALOUS = LABEL_ANOMALOUS, CLASS_UNUSED };
static const char *const class_names[] = { "normal", "anomalous", "unused" };

struct entry {
	const struct dataset_item *it;
	int cls;
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->it->rel, ((const struct entry *)b)->it->rel);
}

/* A tally of distinct strings. */
struct tally {
	char *key[64];
	int count[64];
	int n, other;
};

static void tally_add(struct tally *t, const char *key)
{
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->key[i], key)) {
			t->count[i]++;
			return;
		}
	if (t->n == 64) {
		t->other++;
		return;
	}
	t->key[t->n] = xstrdup(key);
	t->count[t->n++] = 1;
}

static void tally_print(const char *title, struct tally *t)
{
	printf("%s:", title);
	for (int i = 0; i < t->n; i++) {
		printf("%s %s (%d)", i ? "," : "", t->key[i], t->count[i]);
		free(t->key[i]);
	}
	if (t->other)
		printf(", %d other", t->other);
	printf("\n");
}

static size_t folder_len(const char *rel)
{
	const char *s = strrchr(rel, '/');
	return s ? (size_t)(s - rel) : 0;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

static int parse_int(const char *opt, const char *v, int lo, int hi, int *out)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (!*v || *end || errno || x < lo || x > hi) {
		fprintf(stderr, "error: %s: expected an integer %d..%d, got '%s'\n%s\n", opt, lo, hi,
			v, cmd_data_usage);
		return -1;
	}
	*out = (int)x;
	return 0;
}

/* Decode everything, print the inventory. Returns 0 or -1. */
static int inventory(const struct dataset *sel, struct entry *e, int n)
{
	struct tally sizes = { 0 }, formats = { 0 }, defects = { 0 };
	int rc = 0, nmasks = 0, ndefect = 0;
	double cov_sum = 0, cov_min = 1, cov_max = 0;
	int counts[3] = { 0, 0, 0 };
	printf("dataset '%s': root '%s', category '%s'\n", sel->dir, sel->root, sel->category);
	printf("%-28s %-10s %6s %7s %9s\n", "folder", "class", "images", "masks", "mask area");
	for (int i = 0; i < n && rc == 0;) {
		size_t fl = folder_len(e[i].it->rel);
		int j = i, fmasks = 0;
		double fcov = 0;
		for (; j < n && folder_len(e[j].it->rel) == fl &&
		       !strncmp(e[j].it->rel, e[i].it->rel, fl);
		     j++) {
			const struct dataset_item *it = e[j].it;
			struct image im;
			struct image_png_format f;
			char buf[64];
			if (image_png_read(it->path, 3, &im, &f) != 0) {
				rc = -1;
				break;
			}
			image_release(&im);
			snprintf(buf, sizeof buf, "%dx%d", f.width, f.height);
			tally_add(&sizes, buf);
			tally_add(&formats, image_png_format_name(&f, buf, sizeof buf));
			counts[e[j].cls]++;
			tally_add(&defects, it->defect);
			if (strcmp(it->defect, "good"))
				ndefect++;
			if (!it->mask)
				continue;
			struct image_png_format mf;
			long nz;
			if (image_png_count_nonzero(it->mask, &mf, &nz) != 0) {
				rc = -1;
				break;
			}
			if (mf.width != f.width || mf.height != f.height)
				warning("mask '%s' is %dx%d but its image is %dx%d", it->mask, mf.width,
					mf.height, f.width, f.height);
			if (nz == 0)
				warning("mask '%s' marks no pixel", it->mask);
			double cov = (double)nz / ((double)mf.width * mf.height);
			fcov += cov;
			cov_sum += cov;
			cov_min = cov < cov_min ? cov : cov_min;
			cov_max = cov > cov_max ? cov : cov_max;
			fmasks++;
			nmasks++;
		}
		if (rc != 0)
			break;
		char mcol[32] = "-", acol[32] = "-";
		int good = !strcmp(e[i].it->defect, "good");
		if (!good || fmasks)
			snprintf(mcol, sizeof mcol, "%d/%d", fmasks, j - i);
		if (fmasks)
			snprintf(acol, sizeof acol, "%.2f%%", 100.0 * fcov / fmasks);
		printf("%-28.*s %-10s %6d %7s %9s\n", (int)fl, e[i].it->rel, class_names[e[i].cls],
		       j - i, mcol, acol);
		i = j;
	}
	if (rc == 0) {
		printf("classes: %d normal, %d anomalous", counts[CLASS_NORMAL],
		       counts[CLASS_ANOMALOUS]);
		if (counts[CLASS_UNUSED])
			printf(", %d images in unused folders", counts[CLASS_UNUSED]);
		printf("\n");
		tally_print("defect types", &defects);
		tally_print("image sizes", &sizes);
		tally_print("png formats", &formats);
		if (nmasks)
			printf("masks: %d of %d defect images; defect area per image: mean %.2f%%, "
			       "min %.2f%%, max %.2f%%\n",
			       nmasks, ndefect, 100.0 * cov_sum / nmasks, 100.0 * cov_min,
			       100.0 * cov_max);
		else
			printf("masks: none of %d defect images\n", ndefect);
		printf("decoded: %d images and %d masks, all readable\n", n, nmasks);
	} else {
		for (int i = 0; i < sizes.n; i++)
			free(sizes.key[i]);
		for (int i = 0; i < formats.n; i++)
			free(formats.key[i]);
		for (int i = 0; i < defects.n; i++)
			free(defects.key[i]);
	}
	return rc;
}

int cmd_data(int argc, char **argv)
{
	const char *dir = NULL, *cache_dir = NULL;
	char **normal = xcalloc((size_t)argc + 2, sizeof(char *));
	char **anomalous = xcalloc((size_t)argc + 2, sizeof(char *));
	int nn = 0, na = 0, with_test_good = 0, w = 64, h = 64, c = 3, status = 0;
	for (int i = 1; i < argc && status == 0; i++) {
		const char *a = argv[i];
		int takes = !strcmp(a, "--normal") || !strcmp(a, "--anomalous") ||
			    !strcmp(a, "--cache-dir") || !strcmp(a, "--width") ||
			    !strcmp(a, "--height") || !strcmp(a, "--channels");
		if (takes && i + 1 >= argc) {
			status = usage_error("option '%s' needs a value", a);
			break;
		}
		if (!strcmp(a, "--normal"))
			normal[nn++] = argv[++i];
		else if (!strcmp(a, "--anomalous"))
			anomalous[na++] = argv[++i];
		else if (!strcmp(a, "--cache-dir"))
			cache_dir = argv[++i];
		else if (!strcmp(a, "--width"))
			status = parse_int(a, argv[++i], 1, IMAGE_MAX_SIDE, &w) ? 2 : 0;
		else if (!strcmp(a, "--height"))
			status = parse_int(a, argv[++i], 1, IMAGE_MAX_SIDE, &h) ? 2 : 0;
		else if (!strcmp(a, "--channels")) {
			status = parse_int(a, argv[++i], 1, 3, &c) ? 2 : 0;
			if (status == 0 && c == 2)
				status = usage_error("--channels: expected 1 or 3, got '%s'", "2");
		} else if (!strcmp(a, "--with-test-good"))
			with_test_good = 1;
		else if (a[0] == '-' && a[1])
			status = usage_error("unknown option '%s'", a);
		else if (dir)
			status = usage_error("unexpected argument '%s': one DIR only", a);
		else
			dir = a;
	}
	if (status == 0 && !dir)
		status = usage_error("%s", "missing DIR (<root>/<category>)");
	if (status != 0) {
		free(normal);
		free(anomalous);
		return status;
	}
	if (nn == 0)
		normal[nn++] = "train/good";
	if (with_test_good)
		normal[nn++] = "test/good";
	if (na == 0)
		anomalous[na++] = "test/*";

	/* split DIR into root and category */
	char *copy = xstrdup(dir);
	size_t len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	char *slash = strrchr(copy, '/');
	const char *root = ".", *category = copy;
	if (slash == copy) {
		root = "/";
		category = copy + 1;
	} else if (slash) {
		*slash = '\0';
		root = copy;
		category = slash + 1;
	}

	struct dataset sel, all;
	memset(&all, 0, sizeof all);
	struct entry *e = NULL;
	int n = 0;
	status = 1;
	if (dataset_scan(root, category, normal, nn, anomalous, na, &sel) != 0)
		goto out;
	/* everything in the standard folders, to show what the selection leaves out */
	int have_all = dataset_scan_all(root, category, &all) == 0;
	e = xmalloc(sizeof(struct entry) * (size_t)(sel.n + (have_all ? all.n : 0) + 1));
	for (int i = 0; i < sel.n; i++)
		e[n++] = (struct entry){ &sel.items[i], sel.items[i].label };
	for (int i = 0; have_all && i < all.n; i++) {
		struct entry key = { &all.items[i], 0 };
		struct entry *hit = sel.n ? bsearch(&key, e, (size_t)sel.n, sizeof *e, cmp_entry)
					  : NULL;
		if (!hit)
			e[n++] = (struct entry){ &all.items[i], CLASS_UNUSED };
	}
	qsort(e, (size_t)n, sizeof *e, cmp_entry);
	if (inventory(&sel, e, n) != 0)
		goto out_sel;
	if (cache_dir) {
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		struct cache cc;
		if (cache_load(&sel, w, h, c, cache_dir, &cc) != 0)
			goto out_sel;
		char *p = cache_path(&sel, w, h, c, cache_dir);
		printf("cache: '%s' holds %d images at %dx%dx%d (ready in %.2f s)\n", p, cc.n, w, h,
		       c, seconds_since(&t0));
		free(p);
		cache_release(&cc);
	}
	status = 0;
out_sel:
	dataset_release(&sel);
	dataset_release(&all);
out:
	free(e);
	free(copy);
	free(normal);
	free(anomalous);
	return status;
}
