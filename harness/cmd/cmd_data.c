/* cmd_data.c: `darkfold data`: inventory and validation of one category. */
#include "commands.h"

#include "cache.h"
#include "dataset.h"
#include "error.h"
#include "fsutil.h"
#include "image.h"

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

static void tally_release(struct tally *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->key[i]);
	t->n = 0;
}

static void tally_print(const char *title, struct tally *t)
{
	printf("%s:", title);
	for (int i = 0; i < t->n; i++)
		printf("%s %s (%d)", i ? "," : "", t->key[i], t->count[i]);
	if (t->other)
		printf(", %d other", t->other);
	printf("\n");
	tally_release(t);
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

/* What the inventory has seen so far. */
struct inventory {
	struct tally sizes, formats, defects;
	int counts[3]; /* images per class, CLASS_NORMAL..CLASS_UNUSED */
	int nmasks, ndefect;
	double cov_sum, cov_min, cov_max; /* masked share of a defect image */
};

/* Decode the mask of it, an image of f's size, and count its coverage.
 * Returns the covered share, or -1 when the mask does not decode. */
static double inventory_mask(struct inventory *s, const struct dataset_item *it,
			     const struct image_png_format *f)
{
	struct image_png_format mf;
	long nz;
	if (image_png_count_nonzero(it->mask, &mf, &nz) != 0)
		return -1;
	if (mf.width != f->width || mf.height != f->height)
		warning("mask '%s' is %dx%d but its image is %dx%d", it->mask, mf.width, mf.height,
			f->width, f->height);
	if (nz == 0)
		warning("mask '%s' marks no pixel", it->mask);
	double cov = (double)nz / ((double)mf.width * mf.height);
	s->cov_sum += cov;
	s->cov_min = cov < s->cov_min ? cov : s->cov_min;
	s->cov_max = cov > s->cov_max ? cov : s->cov_max;
	s->nmasks++;
	return cov;
}

/* Decode the image of e and its mask, if any; count them. Adds the mask's
 * coverage to *fcov and counts it in *fmasks. Returns 0 or -1. */
static int inventory_item(struct inventory *s, const struct entry *e, int *fmasks, double *fcov)
{
	const struct dataset_item *it = e->it;
	struct image im;
	struct image_png_format f;
	char buf[64];
	if (image_png_read(it->path, 3, &im, &f) != 0)
		return -1;
	image_release(&im);
	snprintf(buf, sizeof buf, "%dx%d", f.width, f.height);
	tally_add(&s->sizes, buf);
	tally_add(&s->formats, image_png_format_name(&f, buf, sizeof buf));
	s->counts[e->cls]++;
	tally_add(&s->defects, it->defect);
	if (strcmp(it->defect, "good"))
		s->ndefect++;
	if (!it->mask)
		return 0;
	double cov = inventory_mask(s, it, &f);
	if (cov < 0)
		return -1;
	*fcov += cov;
	(*fmasks)++;
	return 0;
}

/* Inventory the folder of e[i] (the entries from i on that share it) and
 * print its line. Returns the index after the folder, or -1. */
static int inventory_folder(struct inventory *s, const struct entry *e, int i, int n)
{
	size_t fl = folder_len(e[i].it->rel);
	int j = i, fmasks = 0;
	double fcov = 0;
	for (; j < n && folder_len(e[j].it->rel) == fl && !strncmp(e[j].it->rel, e[i].it->rel, fl);
	     j++)
		if (inventory_item(s, &e[j], &fmasks, &fcov) != 0)
			return -1;
	char mcol[32] = "-", acol[32] = "-";
	int good = !strcmp(e[i].it->defect, "good");
	if (!good || fmasks)
		snprintf(mcol, sizeof mcol, "%d/%d", fmasks, j - i);
	if (fmasks)
		snprintf(acol, sizeof acol, "%.2f%%", 100.0 * fcov / fmasks);
	printf("%-28.*s %-10s %6d %7s %9s\n", (int)fl, e[i].it->rel, class_names[e[i].cls], j - i,
	       mcol, acol);
	return j;
}

/* The totals after the folder lines; frees the tallies. */
static void inventory_print(struct inventory *s, int n)
{
	printf("classes: %d normal, %d anomalous", s->counts[CLASS_NORMAL],
	       s->counts[CLASS_ANOMALOUS]);
	if (s->counts[CLASS_UNUSED])
		printf(", %d images in unused folders", s->counts[CLASS_UNUSED]);
	printf("\n");
	tally_print("defect types", &s->defects);
	tally_print("image sizes", &s->sizes);
	tally_print("png formats", &s->formats);
	if (s->nmasks)
		printf("masks: %d of %d defect images; defect area per image: mean %.2f%%, "
		       "min %.2f%%, max %.2f%%\n",
		       s->nmasks, s->ndefect, 100.0 * s->cov_sum / s->nmasks, 100.0 * s->cov_min,
		       100.0 * s->cov_max);
	else
		printf("masks: none of %d defect images\n", s->ndefect);
	printf("decoded: %d images and %d masks, all readable\n", n, s->nmasks);
}

/* Decode everything, print the inventory. Returns 0 or -1. */
static int inventory(const struct dataset *sel, struct entry *e, int n)
{
	struct inventory s = { .cov_min = 1, .cov_max = 0 };
	printf("dataset '%s': root '%s', category '%s'\n", sel->dir, sel->root, sel->category);
	printf("%-28s %-10s %6s %7s %9s\n", "folder", "class", "images", "masks", "mask area");
	for (int i = 0; i < n;) {
		i = inventory_folder(&s, e, i, n);
		if (i < 0) {
			tally_release(&s.sizes);
			tally_release(&s.formats);
			tally_release(&s.defects);
			return -1;
		}
	}
	inventory_print(&s, n);
	return 0;
}

/* The folders that form the classes. */
struct folders {
	const char **v;
	int n;
};

/* --normal, --anomalous: one more folder; v has room for every argument. */
static int add_folder(const struct cmd_option *opt, const char *v)
{
	struct folders *f = opt->value;
	f->v[f->n++] = v;
	return 0;
}

/* DIR = <root>/<category>: split a copy of dir in place, set *root and
 * *category into it, and return the copy (the caller frees it). */
static char *split_dir(const char *dir, const char **root, const char **category)
{
	char *copy = xstrdup(dir);
	size_t len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	char *slash = strrchr(copy, '/');
	*root = ".";
	*category = copy;
	if (slash == copy) {
		*root = "/";
		*category = copy + 1;
	} else if (slash) {
		*slash = '\0';
		*root = copy;
		*category = slash + 1;
	}
	return copy;
}

/* The selected images with their class, and the images of the standard
 * folders the selection leaves out as CLASS_UNUSED, sorted by path.
 * Returns the array (the caller frees it) and its length in *n. */
static struct entry *entries(const struct dataset *sel, const struct dataset *all, int *n)
{
	struct entry *e = xmalloc(sizeof(struct entry) * (size_t)(sel->n + (all ? all->n : 0) + 1));
	int k = 0;
	for (int i = 0; i < sel->n; i++)
		e[k++] = (struct entry){ &sel->items[i], sel->items[i].label };
	for (int i = 0; all && i < all->n; i++) {
		struct entry key = { &all->items[i], 0 };
		struct entry *hit = sel->n ? bsearch(&key, e, (size_t)sel->n, sizeof *e, cmp_entry)
					   : NULL;
		if (!hit)
			e[k++] = (struct entry){ &all->items[i], CLASS_UNUSED };
	}
	qsort(e, (size_t)k, sizeof *e, cmp_entry);
	*n = k;
	return e;
}

/* Load (building if needed) the cache of sel at w x h x c in cache_dir and
 * say how long it took. Returns 0 or -1. */
static int load_cache(const struct dataset *sel, int w, int h, int c, const char *cache_dir)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct cache cc;
	if (cache_load(sel, w, h, c, cache_dir, &cc) != 0)
		return -1;
	char *p = cache_path(sel, w, h, c, cache_dir);
	printf("cache: '%s' holds %d images at %dx%dx%d (ready in %.2f s)\n", p, cc.n, w, h, c,
	       seconds_since(&t0));
	free(p);
	cache_release(&cc);
	return 0;
}

struct data_opts {
	const char *dir, *cache_dir;
	struct folders normal, anomalous;
	int with_test_good, w, h, c;
};

/* Inventory o->dir, then load its cache if asked. Returns 0 or -1. */
static int data(const struct data_opts *o)
{
	const char *root, *category;
	char *copy = split_dir(o->dir, &root, &category);
	struct dataset sel, all;
	memset(&all, 0, sizeof all);
	int rc = -1;
	if (dataset_scan(root, category, (char **)o->normal.v, o->normal.n, (char **)o->anomalous.v,
			 o->anomalous.n, &sel) != 0) {
		free(copy);
		return -1;
	}
	int have_all = dataset_scan_all(root, category, &all) == 0, n;
	struct entry *e = entries(&sel, have_all ? &all : NULL, &n);
	if (inventory(&sel, e, n) == 0 &&
	    (!o->cache_dir || load_cache(&sel, o->w, o->h, o->c, o->cache_dir) == 0))
		rc = 0;
	free(e);
	dataset_release(&sel);
	dataset_release(&all);
	free(copy);
	return rc;
}

int cmd_data(int argc, char **argv)
{
	struct data_opts o = { .w = 64, .h = 64, .c = 3 };
	o.normal.v = xcalloc((size_t)argc + 2, sizeof(char *));
	o.anomalous.v = xcalloc((size_t)argc + 2, sizeof(char *));
	const struct cmd_option opts[] = {
		OPT_CALLBACK("normal", 0, &o.normal, add_folder),
		OPT_CALLBACK("anomalous", 0, &o.anomalous, add_folder),
		OPT_FLAG("with-test-good", 0, &o.with_test_good),
		OPT_STRING("cache-dir", 0, &o.cache_dir),
		OPT_INT("width", 0, &o.w, 1, IMAGE_MAX_SIDE),
		OPT_INT("height", 0, &o.h, 1, IMAGE_MAX_SIDE),
		OPT_INT("channels", 0, &o.c, 1, 3),
		OPT_END(),
	};
	int status = cmd_parse_one(argc, argv, opts, cmd_data_usage, "DIR (<root>/<category>)",
				   &o.dir);
	if (status < 0 && o.c == 2)
		status = usage_error("--channels: expected 1 or 3, got '2'");
	if (status < 0) {
		if (o.normal.n == 0)
			o.normal.v[o.normal.n++] = "train/good";
		if (o.with_test_good)
			o.normal.v[o.normal.n++] = "test/good";
		if (o.anomalous.n == 0)
			o.anomalous.v[o.anomalous.n++] = "test/*";
		status = data(&o) == 0 ? 0 : 1;
	}
	free(o.normal.v);
	free(o.anomalous.v);
	return status;
}
