/* result.h: the unit result file, results/<exp>/<model>/r<R>-f<F>.json
 * (docs/results.md). This module owns the format: its tag, the status
 * words, the paths of a unit's files, reading a file back (checksum and tag
 * checked, the values the readers use pulled out) and writing one
 * atomically (host, provenance and checksum last). The unit's own content
 * (settings, curve, threshold, predictions, metrics) is written by unit.c
 * between result_begin() and result_write(). */
#ifndef DARKFOLD_RESULT_H
#define DARKFOLD_RESULT_H

#include "json.h"

/* Format tag of the unit result file. */
#define UNIT_FORMAT "darkfold-unit/2"

/* A unit's status, as its result file's "status" word says. */
enum unit_status {
	UNIT_STATUS_OK,          /* "ok": trained, scored, metrics computed */
	UNIT_STATUS_DIVERGED,    /* "diverged": a loss or score became NaN or Inf */
	UNIT_STATUS_FAILED,      /* "failed": could not run; "reason" says why */
	UNIT_STATUS_INTERRUPTED, /* "interrupted": a signal stopped it */
	UNIT_N_STATUS
};

/* The word of status s ("ok", ...); NULL for a value out of range. */
const char *result_status_name(enum unit_status s);
/* The status named by word (exact match) into *s: 0, or -1 when word is
 * NULL or no status word (no message). */
int result_status_parse(const char *word, enum unit_status *s);

/* The files of one unit under a results folder (results/<exp>). */
enum result_file {
	RESULT_FILE,        /* <model>/r<R>-f<F>.json: the result */
	RESULT_FAILED_FILE, /* <model>/r<R>-f<F>.failed.json: a failure kept beside an ok result */
	RESULT_WORK_DIR,    /* <model>/r<R>-f<F>: effective cfg, log, checkpoint, weights */
	RESULT_LOCK_FILE,   /* <model>/r<R>-f<F>.lock: held while a process trains the unit */
};

/* Path of file `which` of unit (model, repeat, fold) under results (new
 * string, caller frees). */
char *result_path(const char *results, const char *model, int repeat, int fold,
		  enum result_file which);

/* A unit result file, read. Strings and the prediction paths and defects
 * point into doc; absent values are NULL, NAN, or -1 (repeat, fold). */
struct unit_result {
	struct json *doc; /* the whole file, for values not pulled out below */
	enum unit_status status;
	const char *reason;
	const char *experiment, *experiment_sha256, *inputs_sha256;
	const char *model;
	int repeat, fold;            /* -1 unless an integer */
	int one_class;               /* "kind" is "one_class" or "knn" */
	int knn;                     /* "kind" is "knn" (no weights kept) */
	const char *score_pooling;   /* score.pooling */
	double score_k;              /* score.k */
	const char *effective_cfg;   /* cfg.effective */
	const char *weights;         /* trained weights */
	double threshold;            /* threshold.value */
	double n_train, n_test;      /* data.n_train, data.n_test */
	double pixel_auroc, pro;     /* pixel_metrics */
	double map_scale;            /* pixel_metrics.map_scale: the maps under <work>/maps */
	double train_seconds, images_per_second; /* timing */
	int n;                       /* predictions (ok units; 0 otherwise) */
	int *label;                  /* (n) 0 normal, 1 anomalous */
	double *p;                   /* (n) p_anomalous */
	const char **image;          /* (n) path */
	const char **defect;         /* (n) defect, "good" / "unknown" when absent */
	int n_epochs;                /* curve entries */
	double *train_loss, *val_loss; /* (n_epochs), NAN where absent */
};

/* Read the unit result file at path into *r: its checksum is verified, its
 * format tag and status word checked, and for an ok unit its threshold and
 * predictions too. Returns 0, or -1 with "error: '<path>': <json path>:
 * ..." (nothing to release). Release *r with result_release. */
int result_read(const char *path, struct unit_result *r);
/* The same for the file of unit (model, repeat, fold), which must name that
 * unit: checked first, with "'<path>': .model: does not name the model of its
 * folder" or "... .repeat/.fold: do not match the file name". */
int result_read_unit(const char *path, const char *model, int repeat, int fold,
		     struct unit_result *r);
/* Free what result_read allocated, doc included; r is zeroed. */
void result_release(struct unit_result *r);

/* Read path as result_read does, checking only the checksum and the format
 * tag. Returns the document (free with json_free) or NULL with a message
 * naming the file. */
struct json *result_parse(const char *path);

/* Start a result document in w (initialised, empty): the object and its
 * format tag. */
void result_begin(struct jw *w);
/* Finish the document begun with result_begin: append the host and
 * provenance objects and the checksum, close it and write it atomically as
 * unit (model, repeat, fold)'s result under results. A failed or
 * interrupted result never replaces an ok one: it goes to the unit's
 * .failed.json instead (with a note on stderr); an ok or diverged result
 * removes a .failed.json left beside it. Returns 0 or -1 with an error.
 * w is left for the caller to release. */
int result_write(struct jw *w, const char *results, const char *model, int repeat, int fold,
		 enum unit_status status);

#endif
