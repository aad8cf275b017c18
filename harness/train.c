/* train.c: the epoch loop, augmentation, class balancing, validation,
 * early stopping, divergence and checkpoints (see train.h; the checkpoint
 * file itself: checkpoint.h). */
#include "train.h"

#include "accel.h"
#include "checkpoint.h"
#include "prng.h"

#include "error.h"
#include "json.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Batches used to recompute batch-norm statistics after each epoch. */
enum { TRAIN_RECAL_BATCHES = 8 };

static int gcd(int a, int b)
{
	while (b) {
		int t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* ---- the unit's PRNG (prng.h) ---- */

static void shuffle(int *a, int n, struct prng *r)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)prng_below(r, (uint64_t)i + 1);
		int t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

/* Darknet's rand() seed for epoch e (0-based). */
static unsigned epoch_srand(uint64_t seed, int e)
{
	uint64_t x = seed ^ (0xd1b54a32d192ed03ULL * (uint64_t)(e + 1));
	return (unsigned)(prng_splitmix64(&x) >> 32);
}

/* ---- schedule, figures ---- */

double train_schedule_rate(const struct train_options *o, int e)
{
	const struct exp_training *t = o->training;
	if (!t->lr_policy)
		return NAN;
	if (!strcmp(t->lr_policy, "steps")) {
		int k = 0;
		for (int i = 0; i < t->n_lr_steps; i++)
			if (t->lr_steps[i] <= e + 1)
				k++;
		return o->lr_base * pow(t->lr_scale, k);
	}
	if (!strcmp(t->lr_policy, "poly"))
		return o->lr_base * pow(1.0 - (double)e / o->epochs, t->lr_power);
	return o->lr_base;
}

void train_val_figures(const double *p, const int *label, int n, const double *class_weight,
		       double *loss, double *accuracy)
{
	double sum = 0;
	int right = 0;
	for (int i = 0; i < n; i++) {
		double pt = label[i] ? p[i] : 1.0 - p[i];
		if (pt < 1e-15)
			pt = 1e-15;
		double w = class_weight ? class_weight[label[i]] : 1.0;
		sum += w * -log(pt);
		if ((p[i] >= 0.5) == (label[i] == 1))
			right++;
		if (isnan(p[i]))
			sum = NAN;
	}
	*loss = n > 0 ? sum / n : NAN;
	*accuracy = n > 0 ? (double)right / n : NAN;
}

/* Mean over n images (n, in) of the summed squared difference between X
 * and its reconstruction R: the sse cost per image. */
static double sse_per_image(const float *X, const float *R, int n, size_t in)
{
	double sum = 0;
	for (size_t i = 0; i < (size_t)n * in; i++) {
		double d = (double)X[i] - (double)R[i];
		sum += d * d;
	}
	return sum / n;
}

/* ---- augmentation ---- */

void train_transform(float *x, float *tmp, int c, int h, int w, int flip_h, int flip_v, int rot,
		     double brightness, double contrast)
{
	if (h != w)
		rot = 0;
	rot &= 3;
	size_t plane = (size_t)h * (size_t)w;
	if (flip_h || flip_v || rot) {
		memcpy(tmp, x, (size_t)c * plane * sizeof(float));
		for (int k = 0; k < c; k++)
			for (int i = 0; i < h; i++)
				for (int j = 0; j < w; j++) {
					/* destination (i, j) reads source (si, sj) */
					int si = i, sj = j;
					if (flip_h)
						sj = w - 1 - sj;
					if (flip_v)
						si = h - 1 - si;
					for (int q = 0; q < rot; q++) { /* quarter turn clockwise */
						int t = si;
						si = w - 1 - sj;
						sj = t;
					}
					x[k * plane + (size_t)i * w + j] = tmp[k * plane + (size_t)si * w + sj];
				}
	}
	if (brightness != 0 || contrast != 1) {
		size_t m = (size_t)c * plane;
		for (size_t i = 0; i < m; i++) {
			double v = (x[i] - 0.5) * contrast + 0.5 + brightness;
			x[i] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
		}
	}
}

/* Draw one image's augmentation from r and apply it. */
static void augment(float *x, float *tmp, int c, int h, int w, const struct train_options *o,
		    struct prng *r)
{
	const struct exp_training *t = o->training;
	int fh = t->augment_flip && prng_uniform(r) < 0.5;
	int fv = t->augment_flip && prng_uniform(r) < 0.5;
	int rot = t->augment_rot90 && h == w ? (int)prng_below(r, 4) : 0;
	double b = 0, ct = 1;
	if (t->augment_jitter > 0) {
		b = (2 * prng_uniform(r) - 1) * t->augment_jitter;
		ct = 1 + (2 * prng_uniform(r) - 1) * t->augment_jitter;
	}
	train_transform(x, tmp, c, h, w, fh, fv, rot, b, ct);
}

void train_curve_write(struct jw *w, const struct train_epoch *curve, int n)
{
	jw_arr_begin(w);
	for (int e = 0; e < n; e++) {
		const struct train_epoch *c = &curve[e];
		jw_obj_begin(w);
		jw_kint(w, "epoch", c->epoch);
		jw_knum(w, "train_loss", c->train_loss);
		jw_knum(w, "val_loss", c->val_loss);
		jw_knum(w, "val_accuracy", c->val_accuracy);
		jw_knum(w, "learning_rate", c->learning_rate);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* ---- the loop ---- */

/* Set from a signal handler: the one mutable global, as signals need. */
static volatile sig_atomic_t stop_signal;

void train_interrupt(int sig)
{
	stop_signal = sig;
}

int train_interrupted(void)
{
	return stop_signal;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void format_hms(double s, char out[32])
{
	if (!(s >= 0) || s > 1e8) {
		snprintf(out, 32, "?");
		return;
	}
	long t = (long)(s + 0.5);
	snprintf(out, 32, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

/* The epoch's list of positions into train[]: every image once, the
 * minority class topped up when oversampling; shuffled. Returns its length. */
static int epoch_order(const int *train, int n_train, const int *labels,
		       enum exp_imbalance imb, struct prng *r, int **order)
{
	int cnt[2] = { 0, 0 };
	for (int i = 0; i < n_train; i++)
		cnt[labels[train[i]] ? 1 : 0]++;
	int minority = cnt[1] < cnt[0] ? 1 : 0;
	int extra = 0;
	if (imb == EXP_IMB_OVERSAMPLE && cnt[minority] > 0)
		extra = cnt[1 - minority] - cnt[minority];
	int *o = xmalloc(((size_t)n_train + (size_t)extra + 1) * sizeof(int));
	int m = 0;
	for (int i = 0; i < n_train; i++)
		o[m++] = i;
	if (extra > 0) {
		int nmin = cnt[minority];
		int *mins = xmalloc((size_t)nmin * sizeof(int));
		int k = 0;
		for (int i = 0; i < n_train; i++)
			if ((labels[train[i]] ? 1 : 0) == minority)
				mins[k++] = i;
		for (int c = 0; c < extra / nmin; c++)
			for (int i = 0; i < nmin; i++)
				o[m++] = mins[i];
		int rest = extra % nmin;
		for (int i = 0; i < rest; i++) { /* partial Fisher-Yates */
			int j = i + (int)prng_below(r, (uint64_t)(nmin - i));
			int t = mins[i];
			mins[i] = mins[j];
			mins[j] = t;
			o[m++] = mins[i];
		}
		free(mins);
	}
	shuffle(o, m, r);
	*order = o;
	return m;
}

/* One run of train_run: its inputs, buffers and state. */
struct run {
	struct net *n;
	const struct cache *cc;
	const int *labels;           /* per cache image: 1 anomalous */
	const int *train, *val;      /* (n_train), (n_val) cache indices */
	int n_train, n_val;
	const struct train_options *o;
	int B;                       /* batch size */
	size_t in;                   /* C*H*W */
	double cw[2];                /* class loss weights */
	int weighted;                /* 1: cw applies to the losses */
	float *X;                    /* (B, C*H*W) the batch */
	float *Y;                    /* (B, 2) one-hot truths */
	float *W;                    /* (B) sample loss weights */
	float *tmp;                  /* (C*H*W) augmentation scratch */
	float *VX;                   /* (n_val, C*H*W) validation images */
	float *VR;                   /* (n_val, C*H*W) their reconstructions; one-class only */
	double *vp;                  /* (n_val) validation P(anomalous) */
	int *vl;                     /* (n_val) validation labels */
	float *RX;                   /* (n_recal, C*H*W) batch-norm recalibration images */
	int n_recal;
	struct progress p;
	double run_epoch_seconds;    /* this run's epochs, for the ETA */
	int run_epochs;
};

/* One epoch's figures while it runs. */
struct epoch_step {
	int e;          /* 0-based */
	double t0;      /* start time */
	double rate;    /* learning rate */
	int m;          /* images in the epoch's list */
	double loss;    /* summed batch losses */
	double step;    /* seconds in training steps */
};

static int check_inputs(const struct run *r)
{
	const struct cache *cc = r->cc;
	if (cc->w != net_width(r->n) || cc->h != net_height(r->n) || cc->c != net_channels(r->n))
		return error("image cache holds %dx%dx%d images, the network takes %dx%dx%d",
			     cc->w, cc->h, cc->c, net_width(r->n), net_height(r->n),
			     net_channels(r->n));
	if (r->n_train < 1 || r->o->epochs < 1)
		return error("nothing to train: %d images, %d epochs", r->n_train, r->o->epochs);
	for (int i = 0; r->o->reconstruct && i < r->n_train; i++)
		if (r->labels[r->train[i]])
			return error("one-class training takes normal images only, but training "
				     "image %d (image %d of the set) is anomalous", i, r->train[i]);
	return 0;
}

/* Class weights n / (2 n_c) when imbalance is weighted and both classes
 * are present; else 1. */
static void class_weights(struct run *r)
{
	int cnt[2] = { 0, 0 };
	for (int i = 0; i < r->n_train; i++)
		cnt[r->labels[r->train[i]] ? 1 : 0]++;
	r->cw[0] = r->cw[1] = 1;
	r->weighted = r->o->training->imbalance == EXP_IMB_WEIGHTED && cnt[0] > 0 && cnt[1] > 0;
	if (r->weighted) {
		r->cw[0] = (double)r->n_train / (2.0 * cnt[0]);
		r->cw[1] = (double)r->n_train / (2.0 * cnt[1]);
	}
}

/* The batch, validation and recalibration buffers, filled where they hold
 * fixed images. Batch-norm recalibration set: up to TRAIN_RECAL_BATCHES
 * full batches of distinct training images, unaugmented, taken with a
 * stride coprime with the training set's size, so that each batch spreads
 * over the whole set (which is in path order, hence grouped by class and
 * defect type) instead of holding neighbours. */
static void train_buffers_alloc(struct run *r)
{
	int B = r->B, n_val = r->n_val, n_train = r->n_train;
	size_t in = r->in;
	r->X = xmalloc((size_t)B * in * sizeof(float));
	r->Y = xmalloc((size_t)B * NET_CLASSES * sizeof(float));
	r->W = xmalloc((size_t)B * sizeof(float));
	r->tmp = xmalloc(in * sizeof(float));
	r->VX = xmalloc(((size_t)n_val + 1) * in * sizeof(float));
	r->VR = r->o->reconstruct ? xmalloc(((size_t)n_val + 1) * in * sizeof(float)) : NULL;
	r->vp = xmalloc(((size_t)n_val + 1) * sizeof(double));
	r->vl = xmalloc(((size_t)n_val + 1) * sizeof(int));
	r->n_recal = n_train / B < TRAIN_RECAL_BATCHES ? (n_train / B) * B : TRAIN_RECAL_BATCHES * B;
	r->RX = xmalloc(((size_t)r->n_recal + 1) * in * sizeof(float));
	int stride = n_train / B > 1 ? n_train / B : 1;
	while (gcd(stride, n_train) != 1)
		stride++;
	for (int i = 0; i < r->n_recal; i++)
		memcpy(r->RX + (size_t)i * in,
		       cache_image(r->cc, r->train[(size_t)i * stride % n_train]), in * sizeof(float));
	for (int i = 0; i < n_val; i++) {
		memcpy(r->VX + (size_t)i * in, cache_image(r->cc, r->val[i]), in * sizeof(float));
		r->vl[i] = r->labels[r->val[i]] ? 1 : 0;
	}
}

static void train_buffers_free(struct run *r)
{
	free(r->X);
	free(r->Y);
	free(r->W);
	free(r->tmp);
	free(r->VX);
	free(r->VR);
	free(r->RX);
	free(r->vp);
	free(r->vl);
}

/* Batch rows 0..B from order[s..s+real), augmented; rows past real repeat
 * the batch's own images at weight 0. */
static void fill_batch(struct run *r, const int *order, int s, int real)
{
	for (int b = 0; b < r->B; b++) {
		int pos = order[s + (b < real ? b : b % real)];
		int img = r->train[pos];
		int y = r->labels[img] ? 1 : 0;
		float *x = r->X + (size_t)b * r->in;
		memcpy(x, cache_image(r->cc, img), r->in * sizeof(float));
		if (b < real)
			augment(x, r->tmp, r->cc->c, r->cc->h, r->cc->w, r->o, &r->p.rng);
		r->Y[b * 2 + 0] = (float)(1 - y);
		r->Y[b * 2 + 1] = (float)y;
		r->W[b] = b < real ? (float)r->cw[y] : 0.0f;
	}
}

/* Seed the epoch, set its rate and train on its batches (until a stop
 * signal). */
static void run_batches(struct run *r, struct epoch_step *es)
{
	const struct train_options *o = r->o;
	net_srand(epoch_srand(o->seed, es->e));
	double lr = train_schedule_rate(o, es->e);
	if (!isnan(lr))
		net_set_rate(r->n, lr);
	es->rate = net_rate(r->n);
	int *order;
	es->m = epoch_order(r->train, r->n_train, r->labels, o->training->imbalance, &r->p.rng,
			    &order);
	es->loss = es->step = 0;
	/* The training steps' products in the experiment's precision; batch-norm
	 * recalibration and validation (end_epoch) measure the network as
	 * inference runs it, in FP32. */
	enum accel_precision saved = accel_precision();
	accel_set_precision(o->training->precision == EXP_PREC_BF16 ? ACCEL_BF16 : ACCEL_FP32);
	for (int s = 0; s < es->m && !stop_signal; s += r->B) {
		fill_batch(r, order, s, es->m - s < r->B ? es->m - s : r->B);
		double ls, ts = now_seconds();
		if (o->reconstruct)
			net_train_reconstruct(r->n, r->X, r->W, &ls);
		else
			net_train_batch(r->n, r->X, r->Y, r->W, &ls);
		es->step += now_seconds() - ts;
		es->loss += ls;
	}
	accel_set_precision(saved);
	free(order);
}

/* The epoch's curve point: training loss, batch-norm recalibration, then
 * the validation figures. */
static void end_epoch(struct run *r, const struct epoch_step *es)
{
	struct progress *p = &r->p;
	p->images += es->m;
	p->step_seconds += es->step;
	struct train_epoch *c = &p->curve[es->e];
	c->epoch = es->e + 1;
	c->train_loss = es->loss / es->m;
	c->learning_rate = es->rate;
	c->val_loss = c->val_accuracy = NAN;
	if (r->n_recal > 0)
		net_recalibrate(r->n, r->RX, r->n_recal);
	if (r->n_val > 0 && r->o->reconstruct) {
		net_reconstruct(r->n, r->VX, r->n_val, r->VR);
		c->val_loss = sse_per_image(r->VX, r->VR, r->n_val, r->in);
	} else if (r->n_val > 0) {
		net_predict(r->n, r->VX, r->n_val, r->vp);
		train_val_figures(r->vp, r->vl, r->n_val, r->weighted ? r->cw : NULL, &c->val_loss,
				  &c->val_accuracy);
	}
	p->epoch = es->e + 1;
}

/* Early stopping after epoch e: keep the best weights, count the epochs
 * since. -1 when the best weights cannot be written. */
static int early_stop(struct run *r, int e)
{
	const struct exp_training *t = r->o->training;
	struct progress *p = &r->p;
	double val_loss = p->curve[e].val_loss;
	if (!t->early_stopping || r->n_val <= 0)
		return 0;
	if (val_loss < p->best_val) {
		p->best_val = val_loss;
		p->best_epoch = e + 1;
		p->since_best = 0;
		if (r->o->best_weights && net_save_weights(r->n, r->o->best_weights) < 0)
			return -1;
	} else if (++p->since_best >= t->patience) {
		p->stopped = 1;
	}
	return 0;
}

/* The progress line of epoch e, with the unit's and the study's ETA. */
static void print_progress(const struct run *r, const struct epoch_step *es)
{
	const struct train_options *o = r->o;
	const struct progress *p = &r->p;
	const struct train_epoch *c = &p->curve[es->e];
	int done = p->stopped || p->epoch == o->epochs;
	double per = r->run_epoch_seconds / r->run_epochs;
	double unit_left = done ? 0 : per * (o->epochs - p->epoch);
	double study_left = unit_left + o->study_other_seconds + o->study_same_pending * per * o->epochs;
	char u[32], st[32];
	format_hms(unit_left, u);
	format_hms(study_left, st);
	printf("%s  epoch %d/%d  loss %.4f  val_loss %.4f  val_acc %.3f  %.1f img/s"
	       "  ETA unit %s  study %s%s\n",
	       o->label, es->e + 1, o->epochs, c->train_loss, c->val_loss, c->val_accuracy,
	       es->step > 0 ? es->m / es->step : 0.0, u, st, p->stopped ? "  (early stop)" : "");
	fflush(stdout);
}

/* The epochs from the checkpoint's (or the first) to the end, an early
 * stop, a divergence or a stop signal. Returns -1 on an I/O error. */
static int train_epochs(struct run *r, struct train_result *out)
{
	const struct train_options *o = r->o;
	struct progress *p = &r->p;
	while (!p->stopped && p->epoch < o->epochs) {
		if (stop_signal) {
			out->status = TRAIN_INTERRUPTED;
			return 0;
		}
		struct epoch_step es = { .e = p->epoch, .t0 = now_seconds() };
		run_batches(r, &es);
		if (stop_signal) {
			out->status = TRAIN_INTERRUPTED;
			return 0;
		}
		end_epoch(r, &es);
		const struct train_epoch *c = &p->curve[es.e];
		if (!isfinite(c->train_loss) || (r->n_val > 0 && !isfinite(c->val_loss))) {
			out->status = TRAIN_DIVERGED;
			out->diverged_epoch = es.e + 1;
			p->seconds += now_seconds() - es.t0;
			if (o->label)
				printf("%s  epoch %d/%d  loss %g: diverged\n", o->label, es.e + 1,
				       o->epochs, c->train_loss);
			return 0;
		}
		if (early_stop(r, es.e) < 0)
			return -1;
		double dt = now_seconds() - es.t0;
		p->seconds += dt;
		r->run_epoch_seconds += dt;
		r->run_epochs++;
		if (o->checkpoint && ckpt_write(o->checkpoint, o->checkpoint_key, p, r->n) < 0)
			return -1;
		if (o->label)
			print_progress(r, &es);
	}
	return 0;
}

/* After a whole run: the network takes the chosen epoch's weights. */
static int choose_epoch(struct run *r, struct train_result *out)
{
	const struct progress *p = &r->p;
	out->chosen_epoch = p->epoch;
	if (r->o->training->early_stopping && r->n_val > 0 && p->best_epoch > 0 &&
	    p->best_epoch != p->epoch) {
		out->chosen_epoch = p->best_epoch;
		if (!r->o->best_weights)
			return error("early stopping needs a file for the best weights");
		return net_load_weights(r->n, r->o->best_weights, -1);
	}
	return 0;
}

int train_run(struct net *n, const struct cache *cc, const int *labels,
	      const int *train, int n_train, const int *val, int n_val,
	      const struct train_options *o, struct train_result *out)
{
	memset(out, 0, sizeof *out);
	struct run r = { .n = n, .cc = cc, .labels = labels, .train = train, .val = val,
			 .n_train = n_train, .n_val = n_val, .o = o };
	if (check_inputs(&r) != 0)
		return -1;
	r.B = net_batch(n);
	r.in = (size_t)net_inputs(n);
	class_weights(&r);

	r.p.curve = xcalloc((size_t)o->epochs, sizeof *r.p.curve);
	r.p.best_val = INFINITY;
	prng_seed(&r.p.rng, o->seed);
	int rc = o->checkpoint ? ckpt_read(o->checkpoint, o->checkpoint_key, o->epochs, &r.p, n) : 0;
	if (rc < 0) {
		free(r.p.curve);
		return -1;
	}
	out->resumed_epoch = rc == 1 ? r.p.epoch : 0;

	train_buffers_alloc(&r);
	out->status = TRAIN_OK;
	rc = train_epochs(&r, out);
	if (rc == 0 && out->status == TRAIN_OK)
		rc = choose_epoch(&r, out);
	out->curve = r.p.curve;
	out->epochs_run = r.p.epoch;
	out->train_seconds = r.p.seconds;
	out->images = r.p.images;
	out->images_per_second = r.p.step_seconds > 0 ? r.p.images / r.p.step_seconds : 0;
	train_buffers_free(&r);
	if (rc < 0) {
		train_result_release(out);
		return -1;
	}
	return 0;
}

void train_result_release(struct train_result *r)
{
	free(r->curve);
	r->curve = NULL;
}
