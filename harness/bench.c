/* bench.c: `darkfold bench`'s engine: build a Darknet network from a cfg,
 * train it on random data and time it layer by layer. */
#include "bench.h"

#include "accel.h"
#include "blas.h"
#include "net.h"

/* darknet.h declares its own error(const char *), which darkfold's error()
 * replaces in the process; hide the declaration from this file. */
#define error darknet_error
#include <darknet.h>
#undef error

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU time of the whole process (all threads): on a shared machine the
 * wall clock also counts the time other programs had the CPU. */
static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* splitmix64: the data generator (never rand(), which Darknet owns). */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static float rng_uniform(uint64_t *s)
{
	return (rng_next(s) >> 40) * (1.0f / 16777216.0f);
}

static int is_override_key(const char *line)
{
	static const char *const keys[] = { "batch", "subdivisions", "width", "height" };
	while (*line == ' ' || *line == '\t')
		line++;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		size_t n = strlen(keys[i]);
		if (strncmp(line, keys[i], n))
			continue;
		const char *p = line + n;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '=')
			return 1;
	}
	return 0;
}

/* The cfg's text with batch/subdivisions/width/height of its first section
 * ([net]) replaced, written to a new temporary file whose path is returned
 * (caller unlinks and frees), or NULL with an error. */
static char *write_effective_cfg(const char *path, int size, int batch)
{
	FILE *in = fopen(path, "r");
	if (!in) {
		error("cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	const char *dir = getenv("TMPDIR");
	char *tmp = xasprintf("%s/darkfold-bench-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(tmp);
	FILE *out = fd < 0 ? NULL : fdopen(fd, "w");
	if (!out) {
		error("cannot create '%s': %s", tmp, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		fclose(in);
		free(tmp);
		return NULL;
	}
	char line[4096];
	int section = 0, lineno = 0, ok = 1;
	while (fgets(line, sizeof line, in)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(in)) {
			error("'%s': line %d: longer than %zu characters", path, lineno,
			      sizeof line - 2);
			ok = 0;
			break;
		}
		if (line[0] == '[') {
			section++;
			fputs(line, out);
			if (section == 1)
				fprintf(out, "batch=%d\nsubdivisions=1\nwidth=%d\nheight=%d\n", batch,
					size, size);
			continue;
		}
		if (section == 1 && is_override_key(line))
			continue;
		fputs(line, out);
	}
	if (ok && ferror(in)) {
		error("cannot read '%s': %s", path, strerror(errno));
		ok = 0;
	}
	if (ok && section == 0) {
		error("'%s': no [net] section", path);
		ok = 0;
	}
	fclose(in);
	if (fclose(out) && ok) {
		error("cannot write '%s': %s", tmp, strerror(errno));
		ok = 0;
	}
	if (!ok) {
		unlink(tmp);
		free(tmp);
		return NULL;
	}
	return tmp;
}

static network *build(const struct bench_options *o)
{
	char *tmp = write_effective_cfg(o->cfg, o->size, o->batch);
	if (!tmp)
		return NULL;
	srand((unsigned)o->seed);
	/* Darknet prints its layer table and "Using default" lines. */
	fflush(stderr);
	int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
	if (saved >= 0 && devnull >= 0)
		dup2(devnull, 2);
	network *net = parse_network_cfg(tmp);
	fflush(stderr);
	if (saved >= 0 && devnull >= 0)
		dup2(saved, 2);
	if (saved >= 0)
		close(saved);
	if (devnull >= 0)
		close(devnull);
	unlink(tmp);
	free(tmp);
	if (!net || net->n < 1 || net->batch != o->batch || net->w != o->size ||
	    net->h != o->size || net->inputs < 1 || net->truths < 1) {
		error("'%s': darknet could not build the network at %dx%d, batch %d", o->cfg,
		      o->size, o->size, o->batch);
		return NULL;
	}
	if (accel_memory_share(net) < 0) {
		free_network(net);
		return NULL;
	}
	return net;
}

/* Free a network build() made. */
static void release(network *net)
{
	accel_memory_release(net);
	free_network(net);
}

/* One random batch: images uniform in [0, 1), one-hot labels. */
static void fill_batch(network *net, uint64_t *rng)
{
	for (size_t i = 0; i < (size_t)net->inputs * net->batch; i++)
		net->input[i] = rng_uniform(rng);
	memset(net->truth, 0, sizeof *net->truth * net->truths * net->batch);
	for (int b = 0; b < net->batch; b++)
		net->truth[(size_t)b * net->truths + rng_next(rng) % net->truths] = 1;
}

static const char *type_name(LAYER_TYPE t)
{
	switch (t) {
	case CONVOLUTIONAL: return "convolutional";
	case CONNECTED: return "connected";
	case MAXPOOL: return "maxpool";
	case AVGPOOL: return "avgpool";
	case SOFTMAX: return "softmax";
	case COST: return "cost";
	case DROPOUT: return "dropout";
	case ROUTE: return "route";
	case SHORTCUT: return "shortcut";
	case BATCHNORM: return "batchnorm";
	case ACTIVE: return "activation";
	default: return "other";
	}
}

/* GEMM work of layer i for one training batch (forward, backward). */
static void layer_gflop(const network *net, int i, double *fwd, double *bwd)
{
	const layer *l = &net->layers[i];
	double f = 0;
	if (l->type == CONVOLUTIONAL)
		f = 2.0 * l->n * ((double)l->size * l->size * l->c / l->groups) * l->out_h *
		    l->out_w * l->batch;
	else if (l->type == CONNECTED)
		f = 2.0 * l->inputs * l->outputs * l->batch;
	*fwd = f * 1e-9;
	/* weight gradient, and the input gradient unless it is the first layer */
	*bwd = (i > 0 ? 2 * f : f) * 1e-9;
}

/* Slot in r->types for layer type t (added if new). */
static struct bench_type *type_slot(struct bench_result *r, LAYER_TYPE t)
{
	const char *name = type_name(t);
	for (int k = 0; k < r->n_types; k++)
		if (!strcmp(r->types[k].name, name))
			return &r->types[k];
	if (r->n_types == BENCH_MAX_TYPES)
		return &r->types[BENCH_MAX_TYPES - 1];
	struct bench_type *s = &r->types[r->n_types++];
	snprintf(s->name, sizeof s->name, "%s", name);
	return s;
}

/* One training batch as train_network_datum runs it (forward_network,
 * calc_network_cost, backward_network, update_network; darkfold's side
 * updates as the trainer does, with Adam when the cfg says so), with each layer's
 * forward and backward timed into r's slots if r is not NULL. Returns the
 * loss. */
static float train_batch(network *netp, struct bench_result *r)
{
	*netp->seen += netp->batch;
	netp->train = 1;

	network net = *netp;
	for (int i = 0; i < net.n; i++) {
		net.index = i;
		layer l = net.layers[i];
		accel_delta_forward(netp, i);
		double t0 = cpu_s();
		l.forward(l, net);
		if (r)
			type_slot(r, l.type)->forward_s += cpu_s() - t0;
		net.input = l.output;
		if (l.truth)
			net.truth = l.output;
	}
	float sum = 0;
	int count = 0;
	for (int i = 0; i < netp->n; i++)
		if (netp->layers[i].cost) {
			sum += netp->layers[i].cost[0];
			count++;
		}
	*netp->cost = sum / count;

	for (int i = netp->n - 1; i >= 0; i--) {
		layer l = netp->layers[i];
		if (l.stopbackward)
			break;
		accel_backward_step(netp, &net, i);
		double t0 = cpu_s();
		l.backward(l, net);
		if (r)
			type_slot(r, l.type)->backward_s += cpu_s() - t0;
	}

	float loss = *netp->cost;
	if ((*netp->seen / netp->batch) % netp->subdivisions == 0) {
		double t0 = cpu_s();
		if (accel_enabled())
			net_update(netp);
		else
			update_network(netp);
		if (r)
			r->update_s += cpu_s() - t0;
	}
	return loss;
}

static int check_options(const struct bench_options *o)
{
	if (o->size < 1 || o->batch < 1 || o->iters < 1 || o->warmup < 0 || o->threads < 1)
		return error("bench: size, batch, iters and threads must be >= 1, warmup >= 0");
	return 0;
}

/* The convolutions' algorithm as o->conv_algo says. */
static void set_conv_algo(const struct bench_options *o)
{
	static const enum accel_conv_algo algo[] = {
		[BENCH_CONV_RULE] = ACCEL_CONV_GEMM, /* unused: not forced */
		[BENCH_CONV_GEMM] = ACCEL_CONV_GEMM,
		[BENCH_CONV_WINOGRAD] = ACCEL_CONV_WINOGRAD,
		[BENCH_CONV_WINOGRAD4] = ACCEL_CONV_WINOGRAD4,
	};
	accel_conv_force(o->conv_algo != BENCH_CONV_RULE, algo[o->conv_algo]);
}

static int prepare(const struct bench_options *o)
{
	if (check_options(o))
		return -1;
	if (accel_set_enabled(!o->stock))
		return -1;
	accel_set_precision(o->bf16 ? ACCEL_BF16 : ACCEL_FP32);
	set_conv_algo(o);
	blas_set_threads(o->threads);
	return 0;
}

/* prepare() then build(): the network to measure, or NULL after an error. */
static network *prepare_and_build(const struct bench_options *o)
{
	return prepare(o) ? NULL : build(o);
}

int bench_run(const struct bench_options *o, struct bench_result *r)
{
	memset(r, 0, sizeof *r);
	network *net = prepare_and_build(o);
	if (!net)
		return -1;
	uint64_t rng = o->seed;
	for (int i = 0; i < o->warmup; i++) {
		fill_batch(net, &rng);
		train_batch(net, NULL);
	}
	for (int i = 0; i < net->n; i++) {
		double f, b;
		layer_gflop(net, i, &f, &b);
		struct bench_type *s = type_slot(r, net->layers[i].type);
		s->layers++;
		s->gflop += f + b;
		r->gflop_per_batch += f + b;
	}
	/* The timed loop includes everything a training step does except
	 * making the random batch. */
	double data_s = 0, data_cpu = 0;
	double t0 = now_s(), c0 = cpu_s();
	for (int i = 0; i < o->iters; i++) {
		double d0 = now_s(), dc0 = cpu_s();
		fill_batch(net, &rng);
		data_s += now_s() - d0;
		data_cpu += cpu_s() - dc0;
		float loss = train_batch(net, r);
		if (i == 0)
			r->first_loss = loss;
		r->last_loss = loss;
	}
	r->seconds = now_s() - t0 - data_s;
	r->cpu_seconds = cpu_s() - c0 - data_cpu;
	r->iters = o->iters;
	r->batch = o->batch;
	r->size = o->size;
	r->ms_per_batch = 1e3 * r->seconds / o->iters;
	r->images_per_s = o->iters * (double)o->batch / r->seconds;
	r->gflops = r->gflop_per_batch * o->iters / r->seconds;
	r->images_per_cpu_s = o->iters * (double)o->batch / r->cpu_seconds;
	r->cpu_gflops = r->gflop_per_batch * o->iters / r->cpu_seconds;
	r->max_rss_mib = bench_max_rss_mib();
	release(net);
	return 0;
}

int bench_losses(const struct bench_options *o, int n, float *losses)
{
	network *net = prepare_and_build(o);
	if (!net)
		return -1;
	uint64_t rng = o->seed;
	for (int i = 0; i < n; i++) {
		fill_batch(net, &rng);
		losses[i] = train_batch(net, NULL);
	}
	release(net);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Wall-clock seconds of each of n forward passes of net in inference mode
 * on the random batch already in net->input, into t (n). */
static void time_predictions(network *net, int n, double *t)
{
	for (int i = 0; i < n; i++) {
		double t0 = now_s();
		network_predict(net, net->input);
		t[i] = now_s() - t0;
	}
}

int bench_predict(const struct bench_options *o, struct bench_predict_result *r)
{
	memset(r, 0, sizeof *r);
	if (prepare(o))
		return -1;
	struct bench_options b = *o;
	uint64_t rng = o->seed;
	double *t = xmalloc(sizeof(double) * (BENCH_PREDICT_RUNS + (size_t)o->iters));
	for (int k = 0; k < BENCH_PREDICT_NBATCH; k++) {
		b.batch = 1 << k;
		network *net = build(&b);
		if (!net) {
			free(t);
			return -1;
		}
		fill_batch(net, &rng);
		accel_freeze_network(net); /* as predict does: weights packed once */
		time_predictions(net, o->warmup, t);
		if (k == 0) {
			/* (runs) sorted: the median and the nearest-rank 99th percentile */
			time_predictions(net, BENCH_PREDICT_RUNS, t);
			qsort(t, BENCH_PREDICT_RUNS, sizeof *t, cmp_double);
			r->runs = BENCH_PREDICT_RUNS;
			r->median_ms = 1e3 * (t[(BENCH_PREDICT_RUNS - 1) / 2] + t[BENCH_PREDICT_RUNS / 2]) / 2;
			r->p99_ms = 1e3 * t[(99 * BENCH_PREDICT_RUNS + 99) / 100 - 1];
		}
		time_predictions(net, o->iters, t);
		double sum = 0;
		for (int i = 0; i < o->iters; i++)
			sum += t[i];
		r->batch[k] = b.batch;
		r->images_per_s[k] = o->iters * (double)b.batch / sum;
		if (r->images_per_s[k] > r->images_per_s[r->best])
			r->best = k;
		accel_thaw();
		release(net);
	}
	free(t);
	return 0;
}

/* CPU ms per call of l's forward (pass 0) or backward (pass 1) pass with
 * algorithm a, mean of iters calls after one untimed call; l's delta is
 * restored from saved (n floats) before each backward call. */
static double time_conv_pass(layer l, network net, enum accel_conv_algo a, int pass, int iters,
			     const float *saved, size_t n)
{
	accel_conv_force(1, a);
	double sum = 0;
	for (int i = 0; i <= iters; i++) {
		if (pass)
			memcpy(l.delta, saved, sizeof *saved * n);
		double t0 = cpu_s();
		if (pass)
			l.backward(l, net);
		else
			l.forward(l, net);
		if (i > 0)
			sum += cpu_s() - t0;
	}
	return 1e3 * sum / iters;
}

_Static_assert(sizeof ((struct bench_conv_layer *)0)->ms /
			       sizeof ((struct bench_conv_layer *)0)->ms[0] ==
		       ACCEL_CONV_NALGOS,
	       "bench_conv_layer.ms has a row per algorithm");

/* Layer i of net (a convolution) timed with each algorithm into *c. */
static void time_conv_layer(network *netp, int i, int iters, struct bench_conv_layer *c)
{
	layer l = netp->layers[i];
	network net = *netp;
	net.index = i;
	net.train = 1;
	net.input = i ? netp->layers[i - 1].output : netp->input;
	net.delta = i ? netp->layers[i - 1].delta : NULL;
	double fwd, bwd;
	layer_gflop(netp, i, &fwd, &bwd);
	*c = (struct bench_conv_layer){ .index = i, .c = l.c, .h = l.h, .w = l.w, .n = l.n,
					.size = l.size, .stride = l.stride, .pad = l.pad,
					.gflop = fwd + bwd };
	int special = l.xnor || l.binary;
	c->rule = accel_conv_choose(l.size, l.stride, l.groups, special, l.pad, l.c, l.n, l.h, l.w);
	c->winograd_possible = accel_winograd_possible(l.size, l.stride, l.groups, special, l.pad,
						       l.h, l.w);
	size_t n = (size_t)l.outputs * l.batch;
	float *saved = xmalloc(sizeof *saved * n);
	memcpy(saved, l.delta, sizeof *saved * n);
	for (int a = 0; a < ACCEL_CONV_NALGOS; a++)
		for (int pass = 0; pass < 2; pass++)
			c->ms[a][pass] = a != ACCEL_CONV_GEMM && !c->winograd_possible
						 ? NAN
						 : time_conv_pass(l, net, (enum accel_conv_algo)a, pass,
								  iters, saved, n);
	memcpy(l.delta, saved, sizeof *saved * n);
	free(saved);
}

int bench_conv_algos(const struct bench_options *o, struct bench_conv_layer *layers, int max,
		     int *count)
{
	*count = 0;
	network *net = prepare_and_build(o);
	if (!net)
		return -1;
	uint64_t rng = o->seed;
	fill_batch(net, &rng);
	train_batch(net, NULL);
	for (int i = 0; i < net->n && *count < max; i++)
		if (net->layers[i].type == CONVOLUTIONAL)
			time_conv_layer(net, i, o->iters, &layers[(*count)++]);
	set_conv_algo(o);
	release(net);
	return 0;
}

double bench_max_rss_mib(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru))
		return NAN;
	return ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

/* The GEMMs bench_gemm times. */
enum bench_gemm_kind { GEMM_BLAS, GEMM_ORDERED, GEMM_BF16 };

/* Times `iters` calls of C = A B (n x n) after one untimed call, with
 * OpenBLAS, the ordered GEMM or the BF16 GEMM; the rates go to *t. */
static void time_gemm(enum bench_gemm_kind kind, int n, int iters, const float *a,
		      const float *b, float *c, struct bench_gemm_rate *t)
{
	for (int i = 0; i <= iters; i++) {
		if (i == 1) {
			t->seconds = now_s();
			t->cpu_seconds = cpu_s();
		}
		if (kind == GEMM_ORDERED)
			accel_gemm_ordered(0, 0, n, n, n, a, n, b, n, 0, c, n);
		else if (kind == GEMM_BF16)
			accel_gemm_bf16(0, 0, n, n, n, a, n, b, n, 0, c, n);
		else
			blas_sgemm(0, 0, n, n, n, 1, a, n, b, n, 0, c, n);
	}
	t->seconds = now_s() - t->seconds;
	t->cpu_seconds = cpu_s() - t->cpu_seconds;
	double flop = 2.0 * n * (double)n * n * iters;
	t->gflops = flop / t->seconds * 1e-9;
	t->cpu_gflops = flop / t->cpu_seconds * 1e-9;
}

int bench_gemm(int n, int iters, int threads, struct bench_gemm_result *r)
{
	memset(r, 0, sizeof *r);
	if (n < 1 || iters < 1 || threads < 1)
		return error("bench: --gemm size, iters and threads must be >= 1");
	size_t nn = (size_t)n * n;
	float *a = malloc(sizeof *a * nn), *b = malloc(sizeof *b * nn), *c = malloc(sizeof *c * nn);
	if (!a || !b || !c) {
		free(a);
		free(b);
		free(c);
		return error("bench: cannot allocate three %dx%d matrices", n, n);
	}
	uint64_t rng = 1;
	for (size_t i = 0; i < nn; i++) {
		a[i] = rng_uniform(&rng) - 0.5f;
		b[i] = rng_uniform(&rng) - 0.5f;
	}
	blas_set_threads(threads);
	r->n = n;
	r->iters = iters;
	time_gemm(GEMM_BLAS, n, iters, a, b, c, &r->blas);
	time_gemm(GEMM_ORDERED, n, iters, a, b, c, &r->ordered);
	r->bf16_measured = accel_bf16_native(); /* the scalar kernel is no rate to show */
	if (r->bf16_measured)
		time_gemm(GEMM_BF16, n, iters, a, b, c, &r->bf16);
	free(a);
	free(b);
	free(c);
	return 0;
}
