/* train.c: the epoch loop, augmentation, class balancing, validation,
 * early stopping, divergence and checkpoints (see train.h; the checkpoint
 * file itself: checkpoint.h). */
#include "train.h"

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
	if (!o->lr_policy)
		return NAN;
	if (!strcmp(o->lr_policy, "steps")) {
		int k = 0;
		for (int i = 0; i < o->n_lr_steps; i++)
			if (o->lr_steps[i] <= e + 1)
				k++;
		return o->lr_base * pow(o->lr_scale, k);
	}
	if (!strcmp(o->lr_policy, "poly"))
		return o->lr_base * pow(1.0 - (double)e / o->epochs, o->lr_power);
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
	int fh = o->flip && prng_uniform(r) < 0.5;
	int fv = o->flip && prng_uniform(r) < 0.5;
	int rot = o->rot90 && h == w ? (int)prng_below(r, 4) : 0;
	double b = 0, ct = 1;
	if (o->jitter > 0) {
		b = (2 * prng_uniform(r) - 1) * o->jitter;
		ct = 1 + (2 * prng_uniform(r) - 1) * o->jitter;
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
		       enum train_imbalance imb, struct prng *r, int **order)
{
	int cnt[2] = { 0, 0 };
	for (int i = 0; i < n_train; i++)
		cnt[labels[train[i]] ? 1 : 0]++;
	int minority = cnt[1] < cnt[0] ? 1 : 0;
	int extra = 0;
	if (imb == TRAIN_IMB_OVERSAMPLE && cnt[minority] > 0)
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

int train_run(struct net *n, const struct cache *cc, const int *labels,
	      const int *train, int n_train, const int *val, int n_val,
	      const struct train_options *o, struct train_result *out)
{
	memset(out, 0, sizeof *out);
	if (cc->w != net_width(n) || cc->h != net_height(n) || cc->c != net_channels(n))
		return error("image cache holds %dx%dx%d images, the network takes %dx%dx%d",
			     cc->w, cc->h, cc->c, net_width(n), net_height(n), net_channels(n));
	if (n_train < 1 || o->epochs < 1)
		return error("nothing to train: %d images, %d epochs", n_train, o->epochs);
	for (int i = 0; o->reconstruct && i < n_train; i++)
		if (labels[train[i]])
			return error("one-class training takes normal images only, but training "
				     "image %d (image %d of the set) is anomalous", i, train[i]);

	int B = net_batch(n);
	size_t in = (size_t)net_inputs(n);
	double cw[2] = { 1, 1 };
	int cnt[2] = { 0, 0 };
	for (int i = 0; i < n_train; i++)
		cnt[labels[train[i]] ? 1 : 0]++;
	int weighted = o->imbalance == TRAIN_IMB_WEIGHTED && cnt[0] > 0 && cnt[1] > 0;
	if (weighted) {
		cw[0] = (double)n_train / (2.0 * cnt[0]);
		cw[1] = (double)n_train / (2.0 * cnt[1]);
	}

	struct progress p = { 0 };
	p.curve = xcalloc((size_t)o->epochs, sizeof *p.curve);
	p.best_val = INFINITY;
	prng_seed(&p.rng, o->seed);
	int rc = o->checkpoint ? ckpt_read(o->checkpoint, o->checkpoint_key, o->epochs, &p, n) : 0;
	if (rc < 0) {
		free(p.curve);
		return -1;
	}
	out->resumed_epoch = rc == 1 ? p.epoch : 0;

	float *X = xmalloc((size_t)B * in * sizeof(float));   /* (B, C*H*W) */
	float *Y = xmalloc((size_t)B * NET_CLASSES * sizeof(float)); /* (B, 2) */
	float *W = xmalloc((size_t)B * sizeof(float));        /* (B) */
	float *tmp = xmalloc(in * sizeof(float));
	float *VX = xmalloc(((size_t)n_val + 1) * in * sizeof(float)); /* (n_val, C*H*W) */
	/* reconstructions of VX, (n_val, C*H*W); one-class training only */
	float *VR = o->reconstruct ? xmalloc(((size_t)n_val + 1) * in * sizeof(float)) : NULL;
	double *vp = xmalloc(((size_t)n_val + 1) * sizeof(double));
	int *vl = xmalloc(((size_t)n_val + 1) * sizeof(int));
	/* Batch-norm recalibration set: up to TRAIN_RECAL_BATCHES full batches of
	 * distinct training images, unaugmented, taken with a stride coprime
	 * with the training set's size, so that each batch spreads over the
	 * whole set (which is in path order, hence grouped by class and defect
	 * type) instead of holding neighbours. */
	int n_recal = n_train / B < TRAIN_RECAL_BATCHES ? (n_train / B) * B : TRAIN_RECAL_BATCHES * B;
	float *RX = xmalloc(((size_t)n_recal + 1) * in * sizeof(float)); /* (n_recal, C*H*W) */
	int stride = n_train / B > 1 ? n_train / B : 1;
	while (gcd(stride, n_train) != 1)
		stride++;
	for (int i = 0; i < n_recal; i++)
		memcpy(RX + (size_t)i * in, cache_image(cc, train[(size_t)i * stride % n_train]),
		       in * sizeof(float));
	for (int i = 0; i < n_val; i++) {
		memcpy(VX + (size_t)i * in, cache_image(cc, val[i]), in * sizeof(float));
		vl[i] = labels[val[i]] ? 1 : 0;
	}

	enum train_status status = TRAIN_OK;
	int diverged_epoch = 0;
	double run_epoch_seconds = 0;
	int run_epochs = 0;
	rc = 0;
	while (!p.stopped && p.epoch < o->epochs) {
		if (stop_signal) {
			status = TRAIN_INTERRUPTED;
			break;
		}
		int e = p.epoch; /* 0-based index of this epoch */
		double t0 = now_seconds();
		net_srand(epoch_srand(o->seed, e));
		double lr = train_schedule_rate(o, e);
		if (!isnan(lr))
			net_set_rate(n, lr);
		double rate = net_rate(n);

		int *order;
		int m = epoch_order(train, n_train, labels, o->imbalance, &p.rng, &order);
		double loss = 0, step = 0;
		for (int s = 0; s < m && !stop_signal; s += B) {
			int real = m - s < B ? m - s : B;
			for (int b = 0; b < B; b++) {
				int pos = order[s + (b < real ? b : b % real)];
				int img = train[pos];
				int y = labels[img] ? 1 : 0;
				float *x = X + (size_t)b * in;
				memcpy(x, cache_image(cc, img), in * sizeof(float));
				if (b < real)
					augment(x, tmp, cc->c, cc->h, cc->w, o, &p.rng);
				Y[b * 2 + 0] = (float)(1 - y);
				Y[b * 2 + 1] = (float)y;
				W[b] = b < real ? (float)cw[y] : 0.0f;
			}
			double ls, ts = now_seconds();
			if (o->reconstruct)
				net_train_reconstruct(n, X, W, &ls);
			else
				net_train_batch(n, X, Y, W, &ls);
			step += now_seconds() - ts;
			loss += ls;
		}
		free(order);
		if (stop_signal) {
			status = TRAIN_INTERRUPTED;
			break;
		}
		p.images += m;
		p.step_seconds += step;
		struct train_epoch *c = &p.curve[e];
		c->epoch = e + 1;
		c->train_loss = loss / m;
		c->learning_rate = rate;
		c->val_loss = c->val_accuracy = NAN;
		if (n_recal > 0)
			net_recalibrate(n, RX, n_recal);
		if (n_val > 0 && o->reconstruct) {
			net_reconstruct(n, VX, n_val, VR);
			c->val_loss = sse_per_image(VX, VR, n_val, in);
		} else if (n_val > 0) {
			net_predict(n, VX, n_val, vp);
			train_val_figures(vp, vl, n_val, weighted ? cw : NULL, &c->val_loss,
					  &c->val_accuracy);
		}
		p.epoch = e + 1;
		if (!isfinite(c->train_loss) || (n_val > 0 && !isfinite(c->val_loss))) {
			status = TRAIN_DIVERGED;
			diverged_epoch = e + 1;
			p.seconds += now_seconds() - t0;
			if (o->label)
				printf("%s  epoch %d/%d  loss %g: diverged\n", o->label, e + 1,
				       o->epochs, c->train_loss);
			break;
		}
		if (o->early_stopping && n_val > 0) {
			if (c->val_loss < p.best_val) {
				p.best_val = c->val_loss;
				p.best_epoch = e + 1;
				p.since_best = 0;
				if (o->best_weights && net_save_weights(n, o->best_weights) < 0) {
					rc = -1;
					break;
				}
			} else if (++p.since_best >= o->patience) {
				p.stopped = 1;
			}
		}
		int done = p.stopped || p.epoch == o->epochs;
		double dt = now_seconds() - t0;
		p.seconds += dt;
		run_epoch_seconds += dt;
		run_epochs++;
		if (o->checkpoint && ckpt_write(o->checkpoint, o->checkpoint_key, &p, n) < 0) {
			rc = -1;
			break;
		}
		if (o->label) {
			double per = run_epoch_seconds / run_epochs;
			double unit_left = done ? 0 : per * (o->epochs - p.epoch);
			double study_left = unit_left + o->study_other_seconds +
					    o->study_same_pending * per * o->epochs;
			char u[32], st[32];
			format_hms(unit_left, u);
			format_hms(study_left, st);
			printf("%s  epoch %d/%d  loss %.4f  val_loss %.4f  val_acc %.3f  %.1f img/s"
			       "  ETA unit %s  study %s%s\n",
			       o->label, e + 1, o->epochs, c->train_loss, c->val_loss,
			       c->val_accuracy, step > 0 ? m / step : 0.0, u, st,
			       p.stopped ? "  (early stop)" : "");
			fflush(stdout);
		}
	}

	if (rc == 0 && status == TRAIN_OK) {
		int chosen = p.epoch;
		if (o->early_stopping && n_val > 0 && p.best_epoch > 0 && p.best_epoch != p.epoch) {
			chosen = p.best_epoch;
			if (!o->best_weights)
				rc = error("early stopping needs a file for the best weights");
			else
				rc = net_load_weights(n, o->best_weights, -1);
		}
		out->chosen_epoch = chosen;
	}
	out->status = status;
	out->diverged_epoch = diverged_epoch;
	out->curve = p.curve;
	out->epochs_run = p.epoch;
	out->train_seconds = p.seconds;
	out->images = p.images;
	out->images_per_second = p.step_seconds > 0 ? p.images / p.step_seconds : 0;
	free(X);
	free(Y);
	free(W);
	free(tmp);
	free(VX);
	free(VR);
	free(RX);
	free(vp);
	free(vl);
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
