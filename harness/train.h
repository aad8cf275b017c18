/* train.h: the epoch loop of one unit around a struct net (net.h).
 *
 * Every epoch visits every training image once (more with oversampling) in
 * an order shuffled by the unit's own PRNG (xoshiro256**, seeded from the
 * unit seed; its state is part of the checkpoint), in mini-batches of the
 * network's batch size taken from the image cache. The last batch of an
 * epoch is filled up with copies of its own images at loss weight 0, so they
 * add nothing to the gradient.
 *
 * Class imbalance, as it maps onto Darknet:
 * - none: one-hot truths, every sample weight 1.
 * - oversample: the minority class is repeated in the epoch's list (whole
 *   copies, then a PRNG-chosen remainder without replacement) until both
 *   classes have the same count; weights stay 1.
 * - weighted: class c gets weight n / (2 n_c) (over the training images);
 *   net_train_batch() scales the softmax layer's gradient (truth - p) of each
 *   sample by it before the backward pass, which is exactly the gradient of
 *   the weighted cross-entropy. Training and validation losses are then
 *   weighted the same way.
 *
 * Augmentation (training batches only): horizontal and vertical flips (each
 * with probability 1/2), a rotation by a multiple of 90 degrees (square
 * inputs only), and brightness b and contrast c drawn uniformly from
 * [-jitter, jitter] and [1-jitter, 1+jitter]: x' = clamp((x-0.5)c + 0.5 + b).
 *
 * Darknet's rand() (dropout, crop) is re-seeded at the start of every epoch
 * from (unit seed, epoch), after the network was built; together with the
 * checkpointed PRNG state and optimiser state this makes a resumed unit end
 * with exactly the result of an uninterrupted one. */
#ifndef DARKFOLD_TRAIN_H
#define DARKFOLD_TRAIN_H

#include "cache.h"
#include "experiment.h"
#include "net.h"

#include <stdint.h>

/* The experiment's training settings (read, never copied: augmentation,
 * imbalance, early stopping, the learning-rate schedule) and what a run
 * adds to them. */
struct train_options {
	/* Learning-rate schedule (training->lr_policy): NULL, the cfg's own
	 * policy, which Darknet evaluates from the count of images seen.
	 * Otherwise the rate of epoch e (0-based) is, from lr_base:
	 *   "constant": lr_base
	 *   "steps":    lr_base * lr_scale^k, k = how many lr_steps (1-based
	 *               epoch numbers) are <= e+1
	 *   "poly":     lr_base * (1 - e/epochs)^lr_power */
	const struct exp_training *training;
	int epochs;              /* the model's own, else training->epochs */
	double lr_base;          /* the network's learning rate */
	/* 1: a one-class reconstruction network (net_build_reconstruction):
	 * each image is its own target, every training image must be normal
	 * (an anomalous one is an error), and the validation loss is the mean
	 * sse per image of the validation images (val_accuracy NAN); the
	 * caller passes the normal validation images. */
	int reconstruct;
	uint64_t seed;           /* the unit seed */
	const char *checkpoint;  /* checkpoint file, or NULL for none */
	const char *checkpoint_key; /* a checkpoint with another key is not resumed */
	const char *best_weights;   /* where the best epoch's weights are kept */
	const char *label;       /* progress line prefix, e.g. "cnn r0-f1"; NULL: silent */
	/* Study ETA: seconds the other pending units are expected to take, plus
	 * the count of other pending units of this model without an estimate
	 * (each counted at this unit's projected duration). */
	double study_other_seconds;
	int study_same_pending;
};

struct train_epoch {
	int epoch; /* 1-based */
	double train_loss, val_loss, val_accuracy, learning_rate;
};

struct jw;
/* Write curve[0..n) as a JSON array of {epoch, train_loss, val_loss,
 * val_accuracy, learning_rate} (the checkpoint's and the result file's form). */
void train_curve_write(struct jw *w, const struct train_epoch *curve, int n);

enum train_status { TRAIN_OK = 0, TRAIN_DIVERGED, TRAIN_INTERRUPTED };

/* A signal handler (SIGTERM, SIGINT): asks train_run to stop. The batch
 * running finishes, the epoch is abandoned, and train_run returns with
 * status TRAIN_INTERRUPTED; the checkpoint of the last whole epoch (written
 * completely, even when the signal came while it was being written) is kept
 * for a resume. Async-signal-safe. */
void train_interrupt(int sig);
/* The signal train_interrupt received, or 0. */
int train_interrupted(void);

struct train_result {
	enum train_status status;
	int diverged_epoch;       /* 1-based, when diverged */
	struct train_epoch *curve; /* (epochs_run) */
	int epochs_run;
	int chosen_epoch;         /* whose weights the network holds at the end */
	int resumed_epoch;        /* epochs restored from the checkpoint (0: fresh) */
	double train_seconds;     /* over all runs of this unit */
	long long images;         /* training images processed, over all runs */
	double images_per_second; /* images / seconds spent in training steps */
};

/* The epoch schedule rate for epoch e (0-based) under o's own policy;
 * NAN when lr_policy is NULL (the cfg's policy applies). */
double train_schedule_rate(const struct train_options *o, int e);

/* Train n on the images train[0..n_train) of cc (labels indexed like cc),
 * validating on val[0..n_val) after every epoch (n_val may be 0: no early
 * stopping, val figures NAN). Resumes from o->checkpoint when it exists with
 * the same key, and writes it atomically after every epoch. At the end the
 * network holds the chosen epoch's weights (the best val loss with early
 * stopping, else the last epoch). Returns 0 (status ok, diverged or
 * interrupted in *out;
 * release with train_result_release) or -1 on an I/O or shape error. */
int train_run(struct net *n, const struct cache *cc, const int *labels,
	      const int *train, int n_train, const int *val, int n_val,
	      const struct train_options *o, struct train_result *out);
void train_result_release(struct train_result *r);

/* Mean weighted cross-entropy and accuracy (p >= 0.5 means anomalous) of
 * scores p against labels; class_weight (2) may be NULL for weight 1. The
 * log is clipped at 1e-15. */
void train_val_figures(const double *p, const int *label, int n, const double *class_weight,
		       double *loss, double *accuracy);

/* The deterministic part of augmentation, on one (C, H, W) image x in place
 * (tmp: scratch of the same size): mirror left-right (flip_h), then
 * top-bottom (flip_v), then rot quarter turns clockwise (square images only;
 * ignored otherwise): out(i, j) = in(W-1-j, i) per turn; then
 * x' = clamp((x - 0.5) * contrast + 0.5 + brightness, 0, 1). */
void train_transform(float *x, float *tmp, int c, int h, int w, int flip_h, int flip_v, int rot,
		     double brightness, double contrast);

#endif
