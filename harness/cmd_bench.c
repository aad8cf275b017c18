/* cmd_bench.c: `darkfold bench`: training throughput of a cfg, with
 * darkfold's replacements, without them (--stock), or both (--compare). */
#include "commands.h"

#include "bench.h"
#include "blas.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_bench_usage[] =
	"usage: darkfold bench --cfg F [--size N] [--batch B] [--iters I] [--warmup W]\n"
	"                      [--threads T] [--seed S] [--stock | --compare]\n"
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
	"  --compare     run darkfold, then stock, and print the speed-up";

static int parse_int(const char *opt, const char *s, long min, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > INT_MAX) {
		fprintf(stderr, "error: %s: expected an integer >= %ld, got '%s'\n", opt, min, s);
		return -1;
	}
	*out = v;
	return 0;
}

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
	(void)o;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_options o = { .size = 64, .batch = 16, .warmup = 1, .iters = 5,
				   .threads = 1, .seed = 1 };
	int compare = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		long v = 0;
		if (!strcmp(a, "--stock")) {
			o.stock = 1;
			continue;
		}
		if (!strcmp(a, "--compare")) {
			compare = 1;
			continue;
		}
		static const char *const valued[] = { "--cfg", "--size", "--batch", "--iters",
						      "--warmup", "--threads", "--seed" };
		int known = 0;
		for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
			known |= !strcmp(a, valued[k]);
		if (!known) {
			fprintf(stderr, "error: bench: unknown option '%s'\n%s\n", a, cmd_bench_usage);
			return 2;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "error: bench: %s needs a value\n", a);
			return 2;
		}
		const char *val = argv[++i];
		if (!strcmp(a, "--cfg")) {
			o.cfg = val;
			continue;
		}
		long min = !strcmp(a, "--warmup") || !strcmp(a, "--seed") ? 0 : 1;
		if (parse_int(a, val, min, &v))
			return 2;
		if (!strcmp(a, "--size"))
			o.size = (int)v;
		else if (!strcmp(a, "--batch"))
			o.batch = (int)v;
		else if (!strcmp(a, "--iters"))
			o.iters = (int)v;
		else if (!strcmp(a, "--warmup"))
			o.warmup = (int)v;
		else if (!strcmp(a, "--threads"))
			o.threads = (int)v;
		else
			o.seed = (unsigned long)v;
	}
	if (!o.cfg) {
		fprintf(stderr, "error: bench: --cfg is required\n%s\n", cmd_bench_usage);
		return 2;
	}
	if (compare && o.stock) {
		fprintf(stderr, "error: bench: --stock and --compare exclude each other\n");
		return 2;
	}

	printf("bench: %s, %dx%d, batch %d, %d warm-up + %d timed batches, %d thread%s, "
	       "OpenBLAS core %s\n",
	       o.cfg, o.size, o.size, o.batch, o.warmup, o.iters, o.threads,
	       o.threads == 1 ? "" : "s", blas_corename());
	fflush(stdout);
	struct bench_result fast, stock;
	if (bench_run(&o, &fast))
		return 1;
	print_result(o.stock ? "stock" : "darkfold", &o, &fast);
	if (!compare)
		return 0;
	fflush(stdout);
	o.stock = 1;
	if (bench_run(&o, &stock))
		return 1;
	print_result("stock", &o, &stock);
	printf("speed-up: %.2fx in CPU time (darkfold %.2f, stock %.2f images/s), "
	       "%.2fx in wall-clock time (darkfold %.2f, stock %.2f images/s)\n",
	       fast.images_per_cpu_s / stock.images_per_cpu_s, fast.images_per_cpu_s,
	       stock.images_per_cpu_s, fast.images_per_s / stock.images_per_s,
	       fast.images_per_s, stock.images_per_s);
	return 0;
}
