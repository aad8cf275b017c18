/* dataset.h: an image set in the MVTec AD layout, scanned into a sorted,
 * labelled list:
 *   <root>/<category>/train/good/NNN.png
 *   <root>/<category>/test/good/NNN.png
 *   <root>/<category>/test/<defect_type>/NNN.png
 *   <root>/<category>/ground_truth/<defect_type>/NNN_mask.png
 * The order is sorted by path (bytewise), independent of readdir order. */
#ifndef DARKFOLD_DATASET_H
#define DARKFOLD_DATASET_H

#include <stdint.h>

enum { LABEL_NORMAL = 0, LABEL_ANOMALOUS = 1 };

struct dataset_item {
	char *path;   /* full path of the PNG */
	char *rel;    /* path relative to <root>/<category>, e.g. "test/cut/003.png" */
	int label;    /* LABEL_NORMAL or LABEL_ANOMALOUS */
	char *defect; /* "good" or the defect folder name */
	char *split;  /* "train" or "test" */
	char *mask;   /* ground-truth mask path, or NULL */
	int64_t size; /* file size, bytes */
	int64_t mtime_ns;
};

struct dataset {
	char *root, *category, *dir; /* dir = <root>/<category> */
	struct dataset_item *items;
	int n;
	int n_normal, n_anomalous;
};

/* Scan <root>/<category>. normal and anomalous list folders relative to the
 * category directory ("train/good", "test/good"); the pattern "test/ *"
 * (without the space) means every test/<defect> except test/good. A missing
 * root, category or folder and an empty class are errors naming the path.
 * Returns 0 or -1. Release with dataset_release(). */
int dataset_scan(const char *root, const char *category,
		 char *const *normal, int n_normal,
		 char *const *anomalous, int n_anomalous,
		 struct dataset *out);
void dataset_release(struct dataset *d);

/* Scan every standard folder that exists: train/good and test/good as
 * normal, each test/<defect> as anomalous. Unlike dataset_scan() a missing
 * folder or an empty class is not an error (the inventory shows it); a
 * missing root or category still is. Returns 0 or -1. */
int dataset_scan_all(const char *root, const char *category, struct dataset *out);

#endif
