/* cmd_bench.c: `darkfold bench`: training throughput of a cfg, with
 * darkfold's replacements, without them (--stock), or both (--compare). */
#include "commands.h"

#include "accel.h"
#include "bench.h"
#include "blas.h"
#include "error.h"

#include <errno.h>
#include <stdlib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

const char cmd_bench_usage[] =
	"usage: darkfold bench --cfg F [--size N] [--batch B] [--iters I] [--warmup W]\n"
	"                      [--threads T] [--seed S] [--stock | --compare] [--torch M]\n"
	"                      [--conv-algo A] [--precision P]\n"
	"       darkfold bench --conv-algos --cfg F [--size N] [--batch B] [--iters I]\n"
	"       darkfold bench --predict --cfg F [--size N] [--iters I] [--warmup W]\n"
	"                      [--threads T] [--seed S] [--stock]\n"
	"       darkfold bench --gemm N [--iters I] [--threads T]\n"
	"\n"
	"Trains the network of cfg F on random N x N images (3 channels as the cfg\n"
	"says) and one-hot labels, W untimed batches then I timed ones, and prints\n"
	"images/s, ms per batch, the GFLOP/s of the convolutional and connected\n"
	"layers' GEMM work, and the time per layer type.\n"
	"\n"
	"  --cfg F       Darknet .cfg (its [net] batch/width/height are replaced)\n"
	"  --size N      input width and height (default 64)\n"
	"  --batch B     images per batch (default 16)\n"
	"  --iters I     timed batches (default 5)\n"
	"  --warmup W    untimed batches first (default 1)\n"
	"  --threads T   OpenBLAS threads inside each GEMM (default 1)\n"
	"  --seed S      weights and data seed (default 1)\n"
	"  --stock       run Darknet as shipped: all of darkfold's replacements off\n"
	"  --compare     run darkfold, then stock, and print the speed-up\n"
	"  --torch M     also run bench/torch_reference.py's model M (vgg16,\n"
	"                resnet50, cnn, dense, ae) at the same size, batch, iters and\n"
	"                threads, and print both speeds and peak RSS side by side\n"
	"  --conv-algo A how convolutions are computed: rule (default: darkfold's fixed\n"
	"                rule per layer shape), gemm (im2col and GEMM everywhere),\n"
	"                winograd or winograd4 (Winograd F(2x2,3x3) or F(4x4,3x3)\n"
	"                wherever it can run: 3x3, stride 1, one group); for\n"
	"                comparisons, not for training\n"
	"  --precision P training's matrix products in fp32 (default) or bf16\n"
	"                (bfloat16 inputs, FP32 sums; needs AVX512_BF16), as the\n"
	"                experiment setting training.precision does\n"
	"  --conv-algos  time each convolutional layer's forward and backward pass\n"
	"                alone with the GEMM, Winograd F(2x2,3x3) and F(4x4,3x3) (I\n"
	"                passes each) and print which one the rule picks\n"
	"  --predict     measure inference instead: batch-1 latency (median and p99\n"
	"                of 100 forward passes, wall clock) and the images/s of I\n"
	"                forward passes at batch 1, 2, 4, ..., 64, and the best batch\n"
	"  --gemm N      measure OpenBLAS's sgemm on N x N matrices instead (I calls,\n"
	"                default 5), the peak rate a convolution's GEMMs can reach,\n"
	"                the ordered GEMM that inference runs and the BF16 GEMM\n"
	"                that training runs with --precision bf16";

static void print_result(const char *label, const struct bench_options *o,
			 const struct bench_result *r)
{
	printf("%s: %.2f images/s, %.1f ms/batch, %.1f GFLOP/s (wall clock); "
	       "%.2f images/s, %.1f GFLOP/s (CPU time); %.2f GFLOP/batch; "
	       "loss %.4f -> %.4f over %d batches\n",
	       label, r->images_per_s, r->ms_per_batch, r->gflops, r->images_per_cpu_s,
	       r->cpu_gflops, r->gflop_per_batch, r->first_loss, r->last_loss, r->iters);
	printf("  %-14s %6s %12s %12s %7s %9s\n", "layer type", "layers", "fwd cpu ms",
	       "bwd cpu ms", "share", "GFLOP/s");
	for (int k = 0; k < r->n_types; k++) {
		const struct bench_type *t = &r->types[k];
		double s = t->forward_s + t->backward_s;
		printf("  %-14s %6d %12.2f %12.2f %6.1f%%", t->name, t->layers,
		       1e3 * t->forward_s / r->iters, 1e3 * t->backward_s / r->iters,
		       100 * s / r->cpu_seconds);
		if (t->gflop > 0 && s > 0)
			printf(" %9.1f", t->gflop * r->iters / s);
		printf("\n");
	}
	printf("  %-14s %6s %12.2f %12s %6.1f%%\n", "update", "", 1e3 * r->update_s / r->iters,
	       "", 100 * r->update_s / r->cpu_seconds);
	printf("  peak RSS of the process so far: %.0f MiB\n", r->max_rss_mib);
	(void)o;
}

/* Model names the reference script knows: plain words, safe in a command. */
static int valid_model(const char *m)
{
	if (!*m || strlen(m) > 32)
		return 0;
	for (const char *p = m; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return 0;
	return 1;
}

/* Run the PyTorch reference for one model with o's settings, echo its
 * output and print it beside r. Returns 0, or -1 with an error if the
 * script fails or prints no figures for the model. */
static int run_torch(const char *model, const struct bench_options *o,
		     const struct bench_result *r)
{
	static const char script[] = DARKFOLD_SOURCE_DIR "/bench/torch_reference.py";
	if (strchr(script, '\''))
		return error("bench: cannot quote the path '%s'", script);
	char cmd[sizeof script + 256];
	snprintf(cmd, sizeof cmd,
		 "/usr/bin/python3 '%s' --models %s --size %d --batch %d --iters %d --threads %d",
		 script, model, o->size, o->batch, o->iters, o->threads);
	fflush(stdout);
	FILE *p = popen(cmd, "r");
	if (!p)
		return error("bench: cannot run '%s': %s", script, strerror(errno));
	char line[1024], prefix[48];
	snprintf(prefix, sizeof prefix, "%s: ", model);
	double wall = 0, cpu = 0, gflop = 0, gflops = 0, rss = 0;
	int found = 0;
	while (fgets(line, sizeof line, p)) {
		printf("torch: %s", line);
		if (!strncmp(line, prefix, strlen(prefix)) &&
		    sscanf(line + strlen(prefix),
			   "%lf images/s (wall clock), %lf images/s (CPU time), %lf GFLOP/batch, "
			   "%lf GFLOP/s (CPU time), peak RSS %lf MiB",
			   &wall, &cpu, &gflop, &gflops, &rss) == 5)
			found = 1;
	}
	int status = pclose(p);
	if (status != 0 || !found)
		return error("bench: '%s' failed or printed no figures for '%s' (are Debian's "
			     "python3-torch and, for resnet50, python3-torchvision installed?)",
			     script, model);
	printf("against PyTorch: %.2fx in CPU time (darkfold %.2f, PyTorch %.2f images/s), "
	       "%.2fx in wall-clock time; peak RSS darkfold %.0f MiB, PyTorch %.0f MiB\n",
	       r->images_per_cpu_s / cpu, r->images_per_cpu_s, cpu, r->images_per_s / wall,
	       r->max_rss_mib, rss);
	return 0;
}

static void print_gemm_rate(const char *label, const struct bench_gemm_rate *r, int iters)
{
	printf("%s: %.1f GFLOP/s (wall clock), %.1f GFLOP/s (CPU time), %.1f ms per call\n",
	       label, r->gflops, r->cpu_gflops, 1e3 * r->seconds / iters);
}

static int run_gemm(int n, int iters, int threads)
{
	struct bench_gemm_result g;
	printf("bench: sgemm %dx%d times %dx%d, %d timed calls, %d thread%s, OpenBLAS core %s\n",
	       n, n, n, n, iters, threads, threads == 1 ? "" : "s", blas_corename());
	fflush(stdout);
	if (bench_gemm(n, iters, threads, &g))
		return 1;
	print_gemm_rate("sgemm", &g.blas, g.iters);
	print_gemm_rate("ordered GEMM (inference, 1 thread)", &g.ordered, g.iters);
	if (g.bf16_measured)
		print_gemm_rate("BF16 GEMM (training with --precision bf16, 1 thread)", &g.bf16,
				g.iters);
	else
		printf("BF16 GEMM: not measured, this CPU lacks AVX512_BF16\n");
	return 0;
}

static int run_predict(const struct bench_options *o)
{
	printf("bench --predict: %s, %dx%d, %d warm-up passes, %d timed passes per batch, "
	       "%d thread%s, OpenBLAS core %s%s\n",
	       o->cfg, o->size, o->size, o->warmup, o->iters, o->threads,
	       o->threads == 1 ? "" : "s", blas_corename(), o->stock ? ", stock" : "");
	fflush(stdout);
	struct bench_predict_result r;
	if (bench_predict(o, &r))
		return 1;
	printf("latency, batch 1: median %.3f ms, p99 %.3f ms over %d runs\n", r.median_ms,
	       r.p99_ms, r.runs);
	for (int k = 0; k < BENCH_PREDICT_NBATCH; k++)
		printf("throughput, batch %d: %.2f images/s\n", r.batch[k], r.images_per_s[k]);
	printf("best: batch %d, %.2f images/s\n", r.batch[r.best], r.images_per_s[r.best]);
	return 0;
}

/* ms of algorithm a for layer c, forward + backward, printed into buf. */
static const char *algo_ms(const struct bench_conv_layer *c, int a, char *buf, size_t len)
{
	double ms = c->ms[a][0] + c->ms[a][1];
	if (ms != ms)
		snprintf(buf, len, "%s", "-");
	else
		snprintf(buf, len, "%.2f + %.2f", c->ms[a][0], c->ms[a][1]);
	return buf;
}

/* --conv-algos: per convolutional layer, CPU ms with each algorithm. */
static int run_conv_algos(const struct bench_options *o)
{
	enum { MAX_LAYERS = 1024 };
	printf("bench --conv-algos: %s, %dx%d, batch %d, %d timed passes per layer and "
	       "algorithm, %d thread%s, OpenBLAS core %s\n",
	       o->cfg, o->size, o->size, o->batch, o->iters, o->threads,
	       o->threads == 1 ? "" : "s", blas_corename());
	fflush(stdout);
	struct bench_conv_layer *c = xcalloc(MAX_LAYERS, sizeof *c);
	int n;
	if (bench_conv_algos(o, c, MAX_LAYERS, &n)) {
		free(c);
		return 1;
	}
	printf("%5s %-22s %20s %20s %20s %6s %6s %9s  %s\n", "layer", "shape (c h w > n k/s/p)",
	       "gemm ms fwd + bwd", "winograd ms fwd+bwd", "winograd4 ms fwd+bwd", "w2 x", "w4 x",
	       "GFLOP/s", "rule");
	printf("(CPU ms per batch; w2 x, w4 x: speed-up of winograd, winograd4 over gemm; "
	       "GFLOP/s: the direct convolution's work over the fastest one's time)\n");
	for (int i = 0; i < n; i++) {
		char shape[64], t[3][32], up[2][16] = { "-", "-" };
		snprintf(shape, sizeof shape, "%d %dx%d > %d %d/%d/%d", c[i].c, c[i].h, c[i].w,
			 c[i].n, c[i].size, c[i].stride, c[i].pad);
		double best = c[i].ms[0][0] + c[i].ms[0][1];
		for (int a = 1; a < 3 && c[i].winograd_possible; a++) {
			double ms = c[i].ms[a][0] + c[i].ms[a][1];
			snprintf(up[a - 1], sizeof up[a - 1], "%.2f", (c[i].ms[0][0] + c[i].ms[0][1]) / ms);
			if (ms < best)
				best = ms;
		}
		printf("%5d %-22s %20s %20s %20s %6s %6s %9.1f  %s\n", c[i].index, shape,
		       algo_ms(&c[i], 0, t[0], sizeof t[0]), algo_ms(&c[i], 1, t[1], sizeof t[1]),
		       algo_ms(&c[i], 2, t[2], sizeof t[2]), up[0], up[1], 1e3 * c[i].gflop / best,
		       accel_conv_algo_name((enum accel_conv_algo)c[i].rule));
	}
	free(c);
	return 0;
}

/* --torch: a model name the reference script knows. */
static int set_torch(const struct cmd_option *opt, const char *v)
{
	if (!valid_model(v)) {
		usage_error("bench: --torch: not a model name: '%s'", v);
		return -1;
	}
	*(const char **)opt->value = v;
	return 0;
}

struct bench_args {
	struct bench_options o;
	int compare, predict, gemm, seed, conv_algos;
	const char *torch;
};

/* What is wrong with the combination of options in a, or NULL. */
static const char *check_args(const struct bench_args *a)
{
	if (a->gemm && (a->o.cfg || a->compare || a->o.stock || a->torch || a->o.bf16))
		return "--gemm takes only --iters and --threads";
	if (a->gemm)
		return NULL;
	if (!a->o.cfg)
		return "--cfg is required";
	if (a->compare && a->o.stock)
		return "--stock and --compare exclude each other";
	if (a->predict && (a->compare || a->torch || a->o.bf16))
		return "--predict takes none of --compare, --torch, --precision bf16 (inference "
		       "is FP32)";
	if (a->o.stock && a->o.bf16)
		return "--stock and --precision bf16 exclude each other (stock Darknet is FP32)";
	if (a->conv_algos && (a->predict || a->compare || a->torch || a->o.stock ||
			      a->o.conv_algo != BENCH_CONV_RULE))
		return "--conv-algos takes none of --predict, --compare, --torch, --stock, --conv-algo";
	return NULL;
}

/* Parse argv into a. Returns 0 to go on, or -1 to stop with exit status
 * *status (2 for a usage error, 0 after --help). */
static int parse_args(int argc, char **argv, struct bench_args *a, int *status)
{
	static const char *const algos[] = { "rule", "gemm", "winograd", "winograd4", NULL };
	static const char *const precisions[] = { "fp32", "bf16", NULL };
	const struct cmd_option opts[] = {
		OPT_STRING("cfg", 0, &a->o.cfg),
		OPT_INT("size", 0, &a->o.size, 1, INT_MAX),
		OPT_INT("batch", 0, &a->o.batch, 1, INT_MAX),
		OPT_INT("iters", 0, &a->o.iters, 1, INT_MAX),
		OPT_INT("warmup", 0, &a->o.warmup, 0, INT_MAX),
		OPT_INT("threads", 0, &a->o.threads, 1, INT_MAX),
		OPT_INT("seed", 0, &a->seed, 0, INT_MAX),
		OPT_INT("gemm", 0, &a->gemm, 1, INT_MAX),
		OPT_CALLBACK("torch", 0, &a->torch, set_torch),
		OPT_FLAG("stock", 0, &a->o.stock),
		OPT_FLAG("compare", 0, &a->compare),
		OPT_FLAG("predict", 0, &a->predict),
		OPT_CHOICE("conv-algo", 0, &a->o.conv_algo, algos),
		OPT_FLAG("conv-algos", 0, &a->conv_algos),
		OPT_CHOICE("precision", 0, &a->o.bf16, precisions),
		OPT_END(),
	};
	int n = cmd_parse_options(argc, argv, opts, cmd_bench_usage, 0);
	*status = 2;
	if (n < 0) {
		*status = cmd_options_status(n);
		return -1;
	}
	if (n > 0) {
		usage_error("bench: unexpected argument '%s': bench takes options only", argv[0]);
		return -1;
	}
	const char *wrong = check_args(a);
	if (wrong) {
		usage_error("bench: %s", wrong);
		if (!strcmp(wrong, "--cfg is required"))
			fprintf(stderr, "%s\n", cmd_bench_usage);
		return -1;
	}
	a->o.seed = (unsigned long)a->seed;
	return 0;
}

/* Train with o (darkfold's layers, or stock), then PyTorch's model torch
 * if given, then stock if compare; print the figures. Returns 0 or 1. */
static int run_train(struct bench_options *o, const char *torch, int compare)
{
	if (o->bf16 && !accel_bf16_native()) {
		error("bench: --precision bf16 needs a CPU with AVX512_BF16");
		return 1;
	}
	printf("bench: %s, %dx%d, batch %d, %d warm-up + %d timed batches, %d thread%s, "
	       "OpenBLAS core %s, precision %s\n",
	       o->cfg, o->size, o->size, o->batch, o->warmup, o->iters, o->threads,
	       o->threads == 1 ? "" : "s", blas_corename(), o->bf16 ? "bf16" : "fp32");
	fflush(stdout);
	struct bench_result fast, stock;
	if (bench_run(o, &fast))
		return 1;
	print_result(o->stock ? "stock" : o->bf16 ? "darkfold bf16" : "darkfold", o, &fast);
	if (torch && run_torch(torch, o, &fast))
		return 1;
	if (!compare)
		return 0;
	fflush(stdout);
	o->stock = 1;
	o->bf16 = 0; /* stock Darknet is FP32 */
	if (bench_run(o, &stock))
		return 1;
	print_result("stock", o, &stock);
	printf("speed-up: %.2fx in CPU time (darkfold %.2f, stock %.2f images/s), "
	       "%.2fx in wall-clock time (darkfold %.2f, stock %.2f images/s)\n",
	       fast.images_per_cpu_s / stock.images_per_cpu_s, fast.images_per_cpu_s,
	       stock.images_per_cpu_s, fast.images_per_s / stock.images_per_s,
	       fast.images_per_s, stock.images_per_s);
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_args a = { .o = { .size = 64, .batch = 16, .warmup = 1, .iters = 5,
				       .threads = 1, .seed = 1 },
				.seed = 1 };
	int status;
	if (parse_args(argc, argv, &a, &status) != 0)
		return status;
	if (a.gemm)
		return run_gemm(a.gemm, a.o.iters, a.o.threads);
	if (a.predict)
		return run_predict(&a.o);
	if (a.conv_algos)
		return run_conv_algos(&a.o);
	return run_train(&a.o, a.torch, a.compare);
}
