/* net.c: Darknet networks built, trained, saved and loaded on darkfold's
 * terms (see net.h). Darknet's failures (exit, crash, silent garbage) are
 * prevented by checking inputs before Darknet sees them. */
#include "net.h"

#include "accel.h"
#include "cfg.h"

/* darknet.h declares its own void error(const char *), which would clash
 * with ours; hide it while the header is read. */
#define error darknet_error
#include <darknet.h>
#undef error

#include "error.h"
#include "memory.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct net {
	network *dn;
	int log_fd;             /* Darknet's stdout/stderr go here */
	int saved_out, saved_err; /* the real fds while redirected, else -1 */
	float *pad;             /* (B, C*H*W) staging buffer for prediction */
	char *cfg_path;
	int frozen;             /* weights frozen for the ordered GEMM (net_freeze) */
};

/* Darknet writes to stdout and stderr freely; send both to the log. */
static void quiet_begin(struct net *n)
{
	fflush(stdout);
	fflush(stderr);
	n->saved_out = dup(STDOUT_FILENO);
	n->saved_err = dup(STDERR_FILENO);
	dup2(n->log_fd, STDOUT_FILENO);
	dup2(n->log_fd, STDERR_FILENO);
}

static void quiet_end(struct net *n)
{
	fflush(stdout);
	fflush(stderr);
	if (n->saved_out >= 0) {
		dup2(n->saved_out, STDOUT_FILENO);
		close(n->saved_out);
	}
	if (n->saved_err >= 0) {
		dup2(n->saved_err, STDERR_FILENO);
		close(n->saved_err);
	}
	n->saved_out = n->saved_err = -1;
}

static const char *layer_type_name(LAYER_TYPE t)
{
	switch (t) {
	case CONVOLUTIONAL: return "convolutional";
	case DECONVOLUTIONAL: return "deconvolutional";
	case CONNECTED: return "connected";
	case MAXPOOL: return "maxpool";
	case SOFTMAX: return "softmax";
	case DETECTION: return "detection";
	case DROPOUT: return "dropout";
	case CROP: return "crop";
	case ROUTE: return "route";
	case COST: return "cost";
	case NORMALIZATION: return "normalization";
	case AVGPOOL: return "avgpool";
	case LOCAL: return "local";
	case SHORTCUT: return "shortcut";
	case ACTIVE: return "activation";
	case RNN: return "rnn";
	case GRU: return "gru";
	case LSTM: return "lstm";
	case CRNN: return "crnn";
	case BATCHNORM: return "batchnorm";
	case REGION: return "region";
	case YOLO: return "yolo";
	case REORG: return "reorg";
	case UPSAMPLE: return "upsample";
	case L2NORM: return "l2norm";
	default: return "other";
	}
}

/* Layer types darkfold trains: those without parameters, plus the three
 * whose parameters (and optimiser state) it knows how to size. */
static int layer_supported(LAYER_TYPE t)
{
	switch (t) {
	case CONVOLUTIONAL: case CONNECTED: case BATCHNORM:
	case MAXPOOL: case SOFTMAX: case DROPOUT: case CROP: case ROUTE:
	case NORMALIZATION: case AVGPOOL: case SHORTCUT: case ACTIVE:
	case REORG: case UPSAMPLE: case L2NORM: case COST:
		return 1;
	default:
		return 0;
	}
}

/* Parameter counts of a layer: nw weights, nb per-output values (biases,
 * scales, batch-norm statistics). */
static void layer_sizes(const layer *l, size_t *nw, size_t *nb)
{
	*nw = *nb = 0;
	if (l->type == CONVOLUTIONAL) {
		*nw = (size_t)l->nweights;
		*nb = (size_t)l->n;
	} else if (l->type == CONNECTED) {
		*nw = (size_t)l->inputs * (size_t)l->outputs;
		*nb = (size_t)l->outputs;
	} else if (l->type == BATCHNORM) {
		*nb = (size_t)l->c;
	}
}

struct farray {
	float *p;
	size_t n;
};

/* Every float array of a layer that carries state from one update to the
 * next, in a fixed order; absent arrays (NULL) are skipped. Returns count. */
static int layer_state_arrays(const layer *l, struct farray a[14])
{
	size_t nw, nb;
	layer_sizes(l, &nw, &nb);
	struct farray all[14] = {
		{ l->weights, nw }, { l->weight_updates, nw }, { l->m, nw }, { l->v, nw },
		{ l->biases, nb }, { l->bias_updates, nb }, { l->bias_m, nb }, { l->bias_v, nb },
		{ l->scales, nb }, { l->scale_updates, nb }, { l->scale_m, nb }, { l->scale_v, nb },
		{ l->rolling_mean, nb }, { l->rolling_variance, nb },
	};
	int k = 0;
	if (nw == 0 && nb == 0)
		return 0;
	for (int i = 0; i < 14; i++)
		if (all[i].p && all[i].n > 0)
			a[k++] = all[i];
	return k;
}

/* The layers with weights that Adam updates. */
static int adam_layer(const layer *l)
{
	return l->type == CONVOLUTIONAL || l->type == CONNECTED;
}

/* Darknet's CPU update functions ignore adam=1 (only its GPU code applies
 * Adam), so darkfold does the Adam step itself, in the form of Darknet's
 * GPU code (Kingma and Ba, with bias correction; weight decay added to
 * the gradient, as L2, for the weights only). Darknet's *_updates buffers
 * hold the negative gradient summed over the batch; Adam's ratio
 * m / sqrt(v) does not depend on that scale. The buffers are cleared
 * afterwards, as Darknet does. Layers without weights keep their own
 * update function. */
static void adam_update(network *dn)
{
	update_args a = { 0 };
	a.batch = dn->batch * dn->subdivisions;
	a.learning_rate = get_current_rate(dn);
	a.momentum = dn->momentum;
	a.decay = dn->decay;
	a.adam = 1;
	a.B1 = dn->B1;
	a.B2 = dn->B2;
	a.eps = dn->eps;
	a.t = ++*dn->t;
	float c1 = 1 - powf(a.B1, (float)a.t), c2 = 1 - powf(a.B2, (float)a.t);
	for (int i = 0; i < dn->n; i++) {
		layer *l = &dn->layers[i];
		if (!adam_layer(l)) {
			if (l->update)
				l->update(*l, a);
			continue;
		}
		size_t nw, nb;
		layer_sizes(l, &nw, &nb);
		float rate = a.learning_rate * l->learning_rate_scale;
		accel_adam(l->weights, l->weight_updates, l->m, l->v, nw, a.decay * a.batch, rate,
			   a.B1, a.B2, c1, c2, a.eps);
		accel_adam(l->biases, l->bias_updates, l->bias_m, l->bias_v, nb, 0, rate, a.B1,
			   a.B2, c1, c2, a.eps);
		if (l->batch_normalize)
			accel_adam(l->scales, l->scale_updates, l->scale_m, l->scale_v, nb, 0, rate,
				   a.B1, a.B2, c1, c2, a.eps);
	}
}

void net_update(struct network *dn)
{
	if (dn->adam)
		adam_update(dn);
	else
		update_network(dn);
}

/* Backward pass from the cost layer's deltas, then the optimiser step,
 * Darknet's chatter kept off the terminal. */
static void backward_and_update(struct net *n)
{
	quiet_begin(n);
	backward_network(n->dn);
	net_update(n->dn);
	quiet_end(n);
}


void net_srand(unsigned seed)
{
	srand(seed);
}

/* net_build and net_build_reconstruction: reconstruct selects the second. */
static int build(const char *cfg_path, unsigned seed, const char *log_path, int reconstruct,
		 struct net **out)
{
	*out = NULL;
	struct cfg c;
	if (cfg_load(cfg_path, reconstruct ? 0 : NET_CLASSES, &c) < 0)
		return -1;
	int bad = (reconstruct && cfg_check_reconstruction(&c) < 0) || memory_check_available(&c) < 0;
	cfg_release(&c);
	if (bad)
		return -1;

	struct net *n = xcalloc(1, sizeof *n);
	n->saved_out = n->saved_err = -1;
	n->log_fd = open(log_path ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (n->log_fd < 0) {
		int e = errno;
		free(n);
		return error("cannot open Darknet log '%s': %s", log_path, strerror(e));
	}
	n->cfg_path = xstrdup(cfg_path);

	quiet_begin(n);
	fprintf(stderr, "darkfold: building '%s' with srand(%u)\n", cfg_path, seed);
	srand(seed);
	n->dn = parse_network_cfg(n->cfg_path);
	quiet_end(n);

	network *dn = n->dn;
	int rc = 0;
	for (int i = 0; i < dn->n && rc == 0; i++)
		if (!layer_supported(dn->layers[i].type))
			rc = error("'%s': layer %d: darkfold cannot train [%s] layers", cfg_path, i,
				   layer_type_name(dn->layers[i].type));
	for (int i = 0; i < dn->n && rc == 0 && dn->adam; i++) {
		const layer *l = &dn->layers[i];
		if (adam_layer(l) && (!l->m || !l->v || !l->bias_m || !l->bias_v ||
				      (l->batch_normalize && (!l->scale_m || !l->scale_v))))
			rc = error("'%s': layer %d: out of memory allocating Darknet's Adam state "
				   "(%ld weights)", cfg_path, i, (long)l->nweights);
	}
	if (rc == 0 && dn->subdivisions != 1)
		rc = error("'%s': subdivisions must be 1 (got %d)", cfg_path, dn->subdivisions);
	if (reconstruct) {
		if (rc == 0 && (dn->n < 1 || dn->layers[dn->n - 1].type != COST ||
				dn->outputs != dn->inputs || dn->truths != dn->inputs))
			rc = error("'%s': a reconstruction network must end in [cost] and output "
				   "as many values as it takes (%d in, %d out)", cfg_path, dn->inputs,
				   dn->outputs);
	} else if (rc == 0 && (dn->n < 1 || dn->layers[dn->n - 1].type != SOFTMAX))
		rc = error("'%s': the last layer must be [softmax]", cfg_path);
	if (rc == 0 && !reconstruct && dn->outputs != NET_CLASSES)
		rc = error("'%s': the network has %d outputs, expected %d", cfg_path, dn->outputs,
			   NET_CLASSES);
	if (rc == 0 && dn->inputs != dn->w * dn->h * dn->c)
		rc = error("'%s': input layer has %d values, expected width*height*channels = %d",
			   cfg_path, dn->inputs, dn->w * dn->h * dn->c);
	if (rc < 0) {
		net_free(n);
		return -1;
	}
	n->pad = try_calloc((size_t)dn->batch * (size_t)dn->inputs, sizeof(float), "the input batch");
	if (!n->pad || accel_memory_share(dn) < 0) {
		net_free(n);
		return -1;
	}
	*out = n;
	return 0;
}

int net_build(const char *cfg_path, unsigned seed, const char *log_path, struct net **out)
{
	return build(cfg_path, seed, log_path, 0, out);
}

int net_build_reconstruction(const char *cfg_path, unsigned seed, const char *log_path,
			     struct net **out)
{
	return build(cfg_path, seed, log_path, 1, out);
}

void net_freeze(struct net *n)
{
	accel_freeze_network(n->dn);
	n->frozen = 1;
}

/* Before n's weights change or are freed: drop what net_freeze kept. */
static void thaw(struct net *n)
{
	if (n->frozen)
		accel_thaw();
	n->frozen = 0;
}

void net_free(struct net *n)
{
	if (!n)
		return;
	thaw(n);
	if (n->dn) {
		accel_memory_release(n->dn);
		quiet_begin(n);
		free_network(n->dn);
		quiet_end(n);
	}
	if (n->log_fd >= 0)
		close(n->log_fd);
	free(n->pad);
	free(n->cfg_path);
	free(n);
}

int net_batch(const struct net *n) { return n->dn->batch; }
int net_inputs(const struct net *n) { return n->dn->inputs; }
int net_width(const struct net *n) { return n->dn->w; }
int net_height(const struct net *n) { return n->dn->h; }
int net_channels(const struct net *n) { return n->dn->c; }

static const char *policy_name(learning_rate_policy p)
{
	switch (p) {
	case CONSTANT: return "constant";
	case STEP: return "step";
	case EXP: return "exp";
	case POLY: return "poly";
	case STEPS: return "steps";
	case SIG: return "sig";
	case RANDOM: return "random";
	}
	return "unknown";
}

void net_info(const struct net *n, struct net_info *out)
{
	const network *dn = n->dn;
	out->learning_rate = dn->learning_rate;
	out->momentum = dn->momentum;
	out->decay = dn->decay;
	out->adam = dn->adam;
	out->policy = policy_name(dn->policy);
	out->batch = dn->batch;
	out->n_layers = dn->n;
}

void net_set_rate(struct net *n, double lr)
{
	n->dn->policy = CONSTANT;
	n->dn->burn_in = 0;
	n->dn->learning_rate = (float)lr;
}

double net_rate(const struct net *n)
{
	return get_current_rate(n->dn);
}

int net_train_batch(struct net *n, const float *X, const float *Y, const float *weight,
		    double *loss_sum)
{
	network *dn = n->dn;
	int B = dn->batch;
	memcpy(dn->input, X, (size_t)B * (size_t)dn->inputs * sizeof(float));
	memcpy(dn->truth, Y, (size_t)B * NET_CLASSES * sizeof(float));
	dn->train = 1;
	*dn->seen += (size_t)B;

	quiet_begin(n);
	forward_network(dn);
	quiet_end(n);

	/* The softmax layer left p in output and (truth - p) in delta, both
	 * (B, 2). Weight each sample's gradient and loss. */
	layer *sm = &dn->layers[dn->n - 1];
	double sum = 0;
	for (int b = 0; b < B; b++) {
		double w = weight ? weight[b] : 1.0;
		int t = Y[b * NET_CLASSES + 1] > 0.5f ? 1 : 0;
		if (w != 0.0)
			sum += w * -log((double)sm->output[b * NET_CLASSES + t]);
		if (weight)
			for (int j = 0; j < NET_CLASSES; j++)
				sm->delta[b * NET_CLASSES + j] *= (float)w;
	}
	*loss_sum = sum;

	backward_and_update(n);
	return 0;
}

int net_train_reconstruct(struct net *n, const float *X, const float *weight, double *loss_sum)
{
	network *dn = n->dn;
	int B = dn->batch;
	size_t in = (size_t)dn->inputs;
	memcpy(dn->input, X, (size_t)B * in * sizeof(float));
	memcpy(dn->truth, X, (size_t)B * in * sizeof(float)); /* the target is the input */
	dn->train = 1;
	*dn->seen += (size_t)B;

	quiet_begin(n);
	forward_network(dn);
	quiet_end(n);

	/* The [cost] layer holds (truth - output) in delta, (B, C*H*W). Weigh
	 * each sample's gradient; the loss is summed here in double. */
	layer *cost = &dn->layers[dn->n - 1];
	const float *out = dn->layers[dn->n - 2].output;
	double sum = 0;
	for (int b = 0; b < B; b++) {
		double w = weight ? weight[b] : 1.0, s = 0;
		for (size_t j = 0; j < in; j++) {
			double d = (double)X[b * in + j] - (double)out[b * in + j];
			s += d * d;
		}
		if (w != 0.0)
			sum += w * s;
		if (weight)
			for (size_t j = 0; j < in; j++)
				cost->delta[b * in + j] *= (float)w;
	}
	*loss_sum = sum;

	backward_and_update(n);
	return 0;
}

/* The network's output for images X[s .. s+m) (m <= batch), the rest of
 * the batch zero: Darknet's output buffer, (batch, outputs). */
static float *forward_batch(struct net *n, const float *X, int s, int m)
{
	network *dn = n->dn;
	size_t in = (size_t)dn->inputs;
	memset(n->pad, 0, (size_t)dn->batch * in * sizeof(float));
	memcpy(n->pad, X + (size_t)s * in, (size_t)m * in * sizeof(float));
	quiet_begin(n);
	float *out = network_predict(dn, n->pad);
	quiet_end(n);
	return out;
}

void net_reconstruct(struct net *n, const float *X, int count, float *R)
{
	int B = n->dn->batch;
	size_t in = (size_t)n->dn->inputs;
	for (int s = 0; s < count; s += B) {
		int m = count - s < B ? count - s : B;
		float *out = forward_batch(n, X, s, m); /* (B, C*H*W) */
		memcpy(R + (size_t)s * in, out, (size_t)m * in * sizeof(float));
	}
}

/* Batch-normalised layers: whether l normalises, and over how many channels. */
static int bn_channels(const layer *l)
{
	if (l->type == BATCHNORM)
		return l->out_c;
	if ((l->type == CONVOLUTIONAL || l->type == CONNECTED) && l->batch_normalize)
		return l->out_c;
	return 0;
}

int net_recalibrate(struct net *n, const float *X, int count)
{
	network *dn = n->dn;
	int B = dn->batch;
	int batches = count / B;
	if (batches == 0)
		return 0;
	size_t total = 0;
	for (int i = 0; i < dn->n; i++)
		total += (size_t)bn_channels(&dn->layers[i]);
	if (total == 0)
		return 0;
	/* Per channel: the sum of the batch means, of their squares, and of
	 * the batch variances (Darknet's, with divisor N_b - 1, where N_b is
	 * the batch size times the positions per channel). */
	double *sum = xcalloc(total, sizeof *sum), *sq = xcalloc(total, sizeof *sq);
	double *var = xcalloc(total, sizeof *var);
	for (int b = 0; b < batches; b++) {
		memcpy(dn->input, X + (size_t)b * B * dn->inputs,
		       (size_t)B * (size_t)dn->inputs * sizeof(float));
		dn->train = 1;
		quiet_begin(n);
		forward_network(dn);
		quiet_end(n);
		size_t at = 0;
		for (int i = 0; i < dn->n; i++) {
			const layer *l = &dn->layers[i];
			int c = bn_channels(l);
			for (int j = 0; j < c; j++) {
				sum[at + j] += l->mean[j];
				sq[at + j] += (double)l->mean[j] * l->mean[j];
				var[at + j] += l->variance[j];
			}
			at += (size_t)c;
		}
	}
	/* The statistics of all the images together (law of total variance):
	 * within-batch sum of squares plus between-batch sum of squares, over
	 * N - 1. Averaging the batch variances alone would miss the second
	 * term, large when batches differ (e.g. one class per batch). */
	size_t at = 0;
	for (int i = 0; i < dn->n; i++) {
		layer *l = &dn->layers[i];
		int c = bn_channels(l);
		double nb = (double)B * (l->type == CONNECTED ? 1 : (double)l->out_h * l->out_w);
		double N = nb * batches;
		for (int j = 0; j < c; j++) {
			double mean = sum[at + j] / batches;
			double between = nb * (sq[at + j] - batches * mean * mean);
			double within = (nb - 1) * var[at + j];
			l->rolling_mean[j] = (float)mean;
			l->rolling_variance[j] = (float)((within + (between > 0 ? between : 0)) / (N - 1));
		}
		at += (size_t)c;
	}
	free(sum);
	free(sq);
	free(var);
	return batches;
}

void net_predict(struct net *n, const float *X, int count, double *p)
{
	int B = n->dn->batch;
	for (int s = 0; s < count; s += B) {
		int m = count - s < B ? count - s : B;
		float *out = forward_batch(n, X, s, m); /* (B, 2) */
		for (int b = 0; b < m; b++)
			p[s + b] = out[b * NET_CLASSES + 1];
	}
}

/* Darknet's .weights header: major, minor, revision (int32) and the count
 * of images seen (size_t since version 0.2). */
enum { WEIGHTS_HEADER = 3 * 4 + 8 };

long long net_weights_bytes(const struct net *n, int upto)
{
	const network *dn = n->dn;
	if (upto < 0 || upto > dn->n)
		upto = dn->n;
	long long floats = 0;
	for (int i = 0; i < upto; i++) {
		const layer *l = &dn->layers[i];
		if (l->dontsave)
			continue;
		size_t nw, nb;
		layer_sizes(l, &nw, &nb);
		if (l->type == CONVOLUTIONAL || l->type == CONNECTED)
			floats += (long long)nw + (long long)nb * (l->batch_normalize ? 4 : 1);
		else if (l->type == BATCHNORM)
			floats += 3LL * (long long)nb;
	}
	return WEIGHTS_HEADER + 4 * floats;
}

int net_save_weights(struct net *n, const char *path)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	FILE *probe = fopen(tmp, "wb"); /* Darknet exits when it cannot open */
	if (!probe) {
		int e = errno;
		free(tmp);
		return error("cannot write '%s': %s", path, strerror(e));
	}
	fclose(probe);
	quiet_begin(n);
	save_weights(n->dn, tmp);
	quiet_end(n);
	int rc = 0;
	int fd = open(tmp, O_RDONLY);
	if (fd < 0 || fsync(fd) != 0)
		rc = error("cannot write '%s': %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	struct stat st;
	if (rc == 0 && (stat(tmp, &st) != 0 || st.st_size != net_weights_bytes(n, -1)))
		rc = error("cannot write '%s': short write", path);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = error("cannot write '%s': %s", path, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* 0 if every parameter of layers [0, upto) is finite, else -1 naming the
 * first layer holding NaN or Inf. */
static int weights_finite(const network *dn, int upto, const char *path)
{
	for (int i = 0; i < upto; i++) {
		struct farray a[14];
		int k = layer_state_arrays(&dn->layers[i], a);
		for (int j = 0; j < k; j++)
			for (size_t q = 0; q < a[j].n; q++)
				if (!isfinite(a[j].p[q]))
					return error("weights '%s': layer %d holds NaN or Inf", path, i);
	}
	return 0;
}

int net_load_weights(struct net *n, const char *path, int upto)
{
	network *dn = n->dn;
	thaw(n);
	int all = upto < 0 || upto >= dn->n;
	FILE *f = fopen(path, "rb");
	if (!f)
		return error("cannot open weights '%s': %s", path, strerror(errno));
	int32_t hdr[3] = { 0, 0, 0 };
	size_t got = fread(hdr, sizeof hdr[0], 3, f);
	struct stat st;
	int st_ok = fstat(fileno(f), &st) == 0;
	fclose(f);
	if (!st_ok)
		return error("cannot stat weights '%s'", path);
	if (got != 3)
		return error("weights '%s' do not match '%s': expected %lld bytes, got %lld",
			     path, n->cfg_path, net_weights_bytes(n, upto), (long long)st.st_size);
	long long expected = net_weights_bytes(n, upto);
	/* Files before version 0.2 store the image count as a 32-bit int. */
	int old = !((long long)hdr[0] * 10 + hdr[1] >= 2 && hdr[0] < 1000 && hdr[1] < 1000);
	if (old)
		expected -= 4;
	long long actual = (long long)st.st_size;
	if (all && actual != expected)
		return error("weights '%s' do not match '%s': expected %lld bytes, got %lld", path,
			     n->cfg_path, expected, actual);
	if (!all && actual < expected)
		return error("weights '%s' are too small for layers 0-%d of '%s': expected at "
			     "least %lld bytes, got %lld", path, upto - 1, n->cfg_path, expected,
			     actual);
	char *p = xstrdup(path);
	size_t seen = *dn->seen; /* Darknet would take the file's image count */
	quiet_begin(n);
	load_weights_upto(dn, p, 0, all ? dn->n : upto);
	quiet_end(n);
	*dn->seen = seen;
	free(p);
	return weights_finite(dn, all ? dn->n : upto, path);
}

/* Training state blob: "DFNETST1", u64 seen, i64 t, u32 layers, then per
 * layer u32 array count, and per array u64 length and the floats. */
static const char STATE_MAGIC[8] = { 'D', 'F', 'N', 'E', 'T', 'S', 'T', '1' };

void net_state_save(const struct net *n, char **buf, size_t *len)
{
	const network *dn = n->dn;
	size_t total = 8 + 8 + 8 + 4;
	for (int i = 0; i < dn->n; i++) {
		struct farray a[14];
		int k = layer_state_arrays(&dn->layers[i], a);
		total += 4;
		for (int j = 0; j < k; j++)
			total += 8 + a[j].n * sizeof(float);
	}
	char *b = xmalloc(total), *p = b;
	uint64_t seen = *dn->seen;
	int64_t t = *dn->t;
	uint32_t nl = (uint32_t)dn->n;
	memcpy(p, STATE_MAGIC, 8), p += 8;
	memcpy(p, &seen, 8), p += 8;
	memcpy(p, &t, 8), p += 8;
	memcpy(p, &nl, 4), p += 4;
	for (int i = 0; i < dn->n; i++) {
		struct farray a[14];
		uint32_t k = (uint32_t)layer_state_arrays(&dn->layers[i], a);
		memcpy(p, &k, 4), p += 4;
		for (uint32_t j = 0; j < k; j++) {
			uint64_t m = a[j].n;
			memcpy(p, &m, 8), p += 8;
			memcpy(p, a[j].p, a[j].n * sizeof(float)), p += a[j].n * sizeof(float);
		}
	}
	*buf = b;
	*len = total;
}

int net_state_load(struct net *n, const char *buf, size_t len, const char *name)
{
	network *dn = n->dn;
	thaw(n);
	const char *p = buf, *end = buf + len;
#define NEED(k)                                                                       \
	do {                                                                          \
		if ((size_t)(end - p) < (size_t)(k))                                  \
			return error("'%s': training state does not match '%s'", name, \
				     n->cfg_path);                                    \
	} while (0)
	NEED(28);
	if (memcmp(p, STATE_MAGIC, 8))
		return error("'%s': not a darkfold training state", name);
	uint64_t seen;
	int64_t t;
	uint32_t nl;
	memcpy(&seen, p + 8, 8);
	memcpy(&t, p + 16, 8);
	memcpy(&nl, p + 24, 4);
	p += 28;
	if (nl != (uint32_t)dn->n)
		return error("'%s': training state has %u layers, '%s' has %d", name, nl,
			     n->cfg_path, dn->n);
	/* Check the whole shape before touching the network. */
	const char *q = p;
	for (int i = 0; i < dn->n; i++) {
		struct farray a[14];
		uint32_t k = (uint32_t)layer_state_arrays(&dn->layers[i], a), kk;
		p = q;
		NEED(4);
		memcpy(&kk, p, 4);
		if (kk != k)
			return error("'%s': training state does not match '%s' at layer %d", name,
				     n->cfg_path, i);
		p += 4;
		for (uint32_t j = 0; j < k; j++) {
			uint64_t m;
			NEED(8);
			memcpy(&m, p, 8);
			if (m != a[j].n)
				return error("'%s': training state does not match '%s' at layer %d",
					     name, n->cfg_path, i);
			p += 8;
			NEED(m * sizeof(float));
			p += m * sizeof(float);
		}
		q = p;
	}
	if (p != end)
		return error("'%s': training state has %zu extra bytes", name, (size_t)(end - p));
#undef NEED
	p = buf + 28;
	for (int i = 0; i < dn->n; i++) {
		struct farray a[14];
		int k = layer_state_arrays(&dn->layers[i], a);
		p += 4;
		for (int j = 0; j < k; j++) {
			p += 8;
			memcpy(a[j].p, p, a[j].n * sizeof(float));
			p += a[j].n * sizeof(float);
		}
	}
	*dn->seen = (size_t)seen;
	*dn->t = (int)t;
	return 0;
}
