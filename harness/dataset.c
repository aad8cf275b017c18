/* dataset.c: scanning an MVTec AD category into a sorted, labelled list. */
#include "dataset.h"

#include "error.h"
#include "fsutil.h"
#include "strutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

struct strlist {
	char **v;
	int n, cap;
};

static void strlist_push(struct strlist *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = xrealloc(l->v, sizeof(char *) * (size_t)l->cap);
	}
	l->v[l->n++] = s;
}

static void strlist_release(struct strlist *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int has_png_suffix(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && !strcasecmp(name + n - 4, ".png");
}

/* Names in dir (without "." entries and hidden files) that are directories
 * (want_dirs) or regular .png files (!want_dirs), sorted bytewise. */
static int list_dir(const char *dir, int want_dirs, struct strlist *out)
{
	DIR *d = opendir(dir);
	if (!d)
		return error("cannot list '%s': %s", dir, strerror(errno));
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (!want_dirs && !has_png_suffix(e->d_name))
			continue;
		char *p = fs_join(dir, e->d_name);
		int ok = want_dirs ? fs_is_dir(p) : fs_is_file(p);
		free(p);
		if (ok)
			strlist_push(out, xstrdup(e->d_name));
	}
	closedir(d);
	if (out->n > 1)
		qsort(out->v, (size_t)out->n, sizeof(char *), cmp_str);
	return 0;
}

static int valid_spec(const char *s)
{
	if (!*s || s[0] == '/' || strstr(s, ".."))
		return 0;
	size_t n = strlen(s);
	return s[n - 1] != '/';
}

static int in_list(const struct strlist *l, const char *s);
static void strlist_push_unique(struct strlist *l, char *s);

/* Expand the folder specs of one class into folder paths relative to dir. */
static int expand_specs(const char *dir, char *const *specs, int n, const char *cls,
			struct strlist *folders)
{
	for (int i = 0; i < n; i++) {
		const char *s = specs[i];
		if (!valid_spec(s))
			return error("invalid %s folder '%s' for '%s': expected a path inside the "
				     "category such as 'train/good' or 'test/*'",
				     cls, s, dir);
		size_t len = strlen(s);
		if (len >= 2 && !strcmp(s + len - 2, "/*")) {
			char *prefix = xstrdup(s);
			prefix[len - 2] = '\0';
			char *pdir = fs_join(dir, prefix);
			if (!fs_is_dir(pdir)) {
				error("missing folder '%s' (expected by %s folders '%s')", pdir, cls, s);
				free(pdir);
				free(prefix);
				return -1;
			}
			struct strlist subs = { 0 };
			int rc = list_dir(pdir, 1, &subs);
			for (int k = 0; rc == 0 && k < subs.n; k++)
				if (strcmp(subs.v[k], "good"))
					strlist_push_unique(folders,
							    xasprintf("%s/%s", prefix, subs.v[k]));
			strlist_release(&subs);
			free(pdir);
			free(prefix);
			if (rc != 0)
				return -1;
		} else {
			char *p = fs_join(dir, s);
			int ok = fs_is_dir(p);
			if (!ok)
				error("missing folder '%s' (expected by %s folders '%s')", p, cls, s);
			free(p);
			if (!ok)
				return -1;
			strlist_push_unique(folders, xstrdup(s));
		}
	}
	return 0;
}

static int in_list(const struct strlist *l, const char *s)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return 1;
	return 0;
}

static void strlist_push_unique(struct strlist *l, char *s)
{
	if (in_list(l, s))
		free(s);
	else
		strlist_push(l, s);
}

static int cmp_item(const void *a, const void *b)
{
	return strcmp(((const struct dataset_item *)a)->rel, ((const struct dataset_item *)b)->rel);
}

/* Append the .png files of one folder as items with the given label. */
static int add_folder(struct dataset *d, int *cap, const char *folder, int label)
{
	char *fdir = fs_join(d->dir, folder);
	struct strlist files = { 0 };
	if (list_dir(fdir, 0, &files) != 0) {
		free(fdir);
		return -1;
	}
	const char *slash = strrchr(folder, '/');
	const char *defect = slash ? slash + 1 : folder;
	size_t split_len = strcspn(folder, "/");
	for (int i = 0; i < files.n; i++) {
		if (d->n == *cap) {
			*cap = *cap ? 2 * *cap : 256;
			d->items = xrealloc(d->items, sizeof(struct dataset_item) * (size_t)*cap);
		}
		struct dataset_item *it = &d->items[d->n];
		memset(it, 0, sizeof *it);
		it->path = fs_join(fdir, files.v[i]);
		it->rel = xasprintf("%s/%s", folder, files.v[i]);
		it->label = label;
		it->defect = xstrdup(defect);
		it->split = xstrdup(folder);
		it->split[split_len] = '\0';
		struct stat st;
		if (stat(it->path, &st) != 0) {
			int e = errno;
			d->n++;
			strlist_release(&files);
			free(fdir);
			return error("cannot stat '%s': %s", it->path, strerror(e));
		}
		it->size = (int64_t)st.st_size;
		it->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		if (strcmp(defect, "good")) {
			char *stem = xstrdup(files.v[i]);
			stem[strlen(stem) - 4] = '\0';
			char *m = xasprintf("%s/ground_truth/%s/%s_mask.png", d->dir, defect, stem);
			free(stem);
			if (fs_is_file(m))
				it->mask = m;
			else
				free(m);
		}
		d->n++;
		if (label == LABEL_NORMAL)
			d->n_normal++;
		else
			d->n_anomalous++;
	}
	strlist_release(&files);
	free(fdir);
	return 0;
}

static char *class_paths(const char *dir, char *const *specs, int n)
{
	char *s = xstrdup("");
	for (int i = 0; i < n; i++) {
		char *t = xasprintf("%s%s'%s/%s'", s, i ? ", " : "", dir, specs[i]);
		free(s);
		s = t;
	}
	return s;
}

static int scan(const char *root, const char *category, char *const *normal, int n_normal,
		char *const *anomalous, int n_anomalous, int allow_empty, struct dataset *out)
{
	memset(out, 0, sizeof *out);
	struct stat st;
	if (stat(root, &st) != 0)
		return error("dataset root '%s' does not exist: %s (expected a directory holding "
			     "'%s/')", root, strerror(errno), category);
	if (!S_ISDIR(st.st_mode))
		return error("dataset root '%s' is not a directory (expected a directory holding "
			     "'%s/')", root, category);
	if (!*category || strchr(category, '/') || !strcmp(category, ".") ||
	    !strcmp(category, ".."))
		return error("invalid category '%s' under '%s': expected a folder name such as "
			     "'cable'", category, root);
	out->root = xstrdup(root);
	out->category = xstrdup(category);
	out->dir = fs_join(root, category);
	if (!fs_is_dir(out->dir)) {
		error("category '%s' not found: '%s' is not a directory (expected train/ and "
		      "test/ in it)", category, out->dir);
		goto fail;
	}
	if (!allow_empty && (n_normal <= 0 || n_anomalous <= 0)) {
		error("dataset '%s': no %s folders given", out->dir,
		      n_normal <= 0 ? "normal" : "anomalous");
		goto fail;
	}
	struct strlist nf = { 0 }, af = { 0 };
	int rc = expand_specs(out->dir, normal, n_normal, "normal", &nf);
	if (rc == 0)
		rc = expand_specs(out->dir, anomalous, n_anomalous, "anomalous", &af);
	for (int i = 0; rc == 0 && i < nf.n; i++)
		if (in_list(&af, nf.v[i])) {
			char *p = fs_join(out->dir, nf.v[i]);
			error("folder '%s' is listed as both normal and anomalous", p);
			free(p);
			rc = -1;
		}
	int cap = 0;
	for (int i = 0; rc == 0 && i < nf.n; i++)
		rc = add_folder(out, &cap, nf.v[i], LABEL_NORMAL);
	for (int i = 0; rc == 0 && i < af.n; i++)
		rc = add_folder(out, &cap, af.v[i], LABEL_ANOMALOUS);
	strlist_release(&nf);
	strlist_release(&af);
	if (rc != 0)
		goto fail;
	if (!allow_empty && (out->n_normal == 0 || out->n_anomalous == 0)) {
		int nrm = out->n_normal == 0;
		char *paths = nrm ? class_paths(out->dir, normal, n_normal)
				  : class_paths(out->dir, anomalous, n_anomalous);
		error("no %s images: no .png files in %s", nrm ? "normal" : "anomalous", paths);
		free(paths);
		goto fail;
	}
	if (out->n > 1)
		qsort(out->items, (size_t)out->n, sizeof *out->items, cmp_item);
	return 0;
fail:
	dataset_release(out);
	return -1;
}

int dataset_scan(const char *root, const char *category,
		 char *const *normal, int n_normal,
		 char *const *anomalous, int n_anomalous,
		 struct dataset *out)
{
	return scan(root, category, normal, n_normal, anomalous, n_anomalous, 0, out);
}

int dataset_scan_all(const char *root, const char *category, struct dataset *out)
{
	char *dir = fs_join(root, category);
	char *tr = fs_join(dir, "train/good"), *tg = fs_join(dir, "test/good");
	char *te = fs_join(dir, "test");
	char *normal[2], *anomalous[1] = { "test/*" };
	int nn = 0, na = fs_is_dir(te);
	if (fs_is_dir(tr))
		normal[nn++] = "train/good";
	if (fs_is_dir(tg))
		normal[nn++] = "test/good";
	free(dir);
	free(tr);
	free(tg);
	free(te);
	return scan(root, category, normal, nn, anomalous, na, 1, out);
}

void dataset_release(struct dataset *d)
{
	if (!d)
		return;
	for (int i = 0; i < d->n; i++) {
		free(d->items[i].path);
		free(d->items[i].rel);
		free(d->items[i].defect);
		free(d->items[i].split);
		free(d->items[i].mask);
	}
	free(d->items);
	free(d->root);
	free(d->category);
	free(d->dir);
	memset(d, 0, sizeof *d);
}
