/* bench.h: training throughput of a Darknet cfg on random data.
 *
 * The network is built from the cfg with its [net] batch, subdivisions,
 * width and height replaced, trained on random images and one-hot labels
 * (from a seeded generator; Darknet's weight init uses rand(), seeded with
 * srand(seed) before the build), and timed layer by layer. Darknet's
 * forward, backward and update passes are run as forward_network,
 * backward_network and train_network_datum run them, with a clock around
 * each layer's forward and backward call. */
#ifndef DARKFOLD_BENCH_H
#define DARKFOLD_BENCH_H

#include <stddef.h>

/* Each convolution by darkfold's rule (accel_conv_choose), or by one
 * algorithm wherever it can run (for comparisons). */
enum bench_conv { BENCH_CONV_RULE, BENCH_CONV_GEMM, BENCH_CONV_WINOGRAD, BENCH_CONV_WINOGRAD4 };

struct bench_options {
	const char *cfg;     /* path of the Darknet .cfg */
	int size;            /* input width and height */
	int batch;           /* images per batch */
	int warmup;          /* untimed batches first (>= 0) */
	int iters;           /* timed batches (>= 1) */
	int threads;         /* OpenBLAS threads (>= 1) */
	int stock;           /* 1: darkfold's replacements off (Darknet as shipped) */
	int conv_algo;       /* enum bench_conv: how convolutions are computed */
	int bf16;            /* 1: training's products in BF16 (accel_set_precision) */
	unsigned long seed;  /* weights (srand) and data */
};

#define BENCH_MAX_TYPES 16

/* CPU time and work of all layers of one type, summed over the timed
 * batches. */
struct bench_type {
	char name[16];       /* "convolutional", "maxpool", ... */
	int layers;          /* layers of this type in the network */
	double forward_s;    /* process CPU seconds */
	double backward_s;
	double gflop;        /* GEMM work, forward + backward, per batch */
};

/* Wall-clock figures count the time other programs held the CPU too; the
 * CPU-time figures (process CPU time, all threads) do not, and are the ones
 * to compare on a shared machine when running one thread. */
struct bench_result {
	int iters, batch, size;
	double seconds;          /* wall clock, all timed batches (fwd + bwd + update) */
	double cpu_seconds;      /* process CPU time of the same */
	double update_s;         /* CPU time of the weight updates */
	double gflop_per_batch;  /* GEMM work of one training batch */
	double images_per_s;     /* per wall-clock second */
	double images_per_cpu_s; /* per CPU second */
	double ms_per_batch;     /* wall clock */
	double gflops;           /* gflop_per_batch * iters / seconds */
	double cpu_gflops;       /* gflop_per_batch * iters / cpu_seconds */
	float first_loss, last_loss;
	double max_rss_mib;      /* the process's peak resident set so far, MiB */
	struct bench_type types[BENCH_MAX_TYPES];
	int n_types;
};

/* Build the network, run o->warmup then o->iters training batches and fill
 * *r. Darknet's parser output is discarded. Returns 0, or -1 with an error
 * naming the cfg if it cannot be read or Darknet cannot build it. Sets the
 * replacement switch (accel_set_enabled(!o->stock)), the products'
 * precision (o->bf16) and the OpenBLAS thread count for the rest of the
 * process. */
int bench_run(const struct bench_options *o, struct bench_result *r);

/* Build the network as bench_run does (srand(o->seed) first) and train n
 * batches of the same random data without timing; losses[i] is the loss
 * Darknet reports for batch i (its net->cost). Returns 0 or -1. */
int bench_losses(const struct bench_options *o, int n, float *losses);

/* GEMM rates: C (n, n) = A (n, n) B (n, n), one untimed call then `iters`
 * timed ones on values from a fixed generator, 2 n^3 FLOP per call: through
 * blas_sgemm (OpenBLAS, with its current thread count), through
 * accel_gemm_ordered (what inference runs; one thread) and, on a CPU with
 * AVX512_BF16, through accel_gemm_bf16 (what training runs with precision
 * bf16; one thread; bf16_measured 0 and its rate zero otherwise). */
struct bench_gemm_rate {
	double seconds, cpu_seconds; /* wall clock and process CPU time, timed calls */
	double gflops, cpu_gflops;   /* 2 n^3 iters / seconds, / cpu_seconds, in 1e9 */
};
struct bench_gemm_result {
	int n, iters;
	struct bench_gemm_rate blas, ordered, bf16;
	int bf16_measured;
};

/* Run the sgemm benchmark; n >= 1, iters >= 1, threads >= 1 (sets the
 * OpenBLAS thread count for the rest of the process). Returns 0, or -1 with
 * an error if the matrices cannot be allocated. */
int bench_gemm(int n, int iters, int threads, struct bench_gemm_result *r);

/* Inference speed: batch-1 latency over BENCH_PREDICT_RUNS forward passes
 * (after o->warmup untimed ones), then the throughput of o->iters forward
 * passes at each batch of BENCH_PREDICT_BATCHES, all in inference mode
 * (network_predict) on random images. o->batch is not used. */
#define BENCH_PREDICT_RUNS 100
#define BENCH_PREDICT_NBATCH 7 /* batches 1, 2, 4, ..., 64 */
struct bench_predict_result {
	int runs;
	double median_ms, p99_ms;                    /* batch-1 latency, wall clock */
	int batch[BENCH_PREDICT_NBATCH];
	double images_per_s[BENCH_PREDICT_NBATCH];   /* wall clock */
	int best;                                    /* index of the highest images_per_s */
};

/* Run the inference benchmark; sets the switches as bench_run does.
 * Returns 0, or -1 with an error naming the cfg. */
int bench_predict(const struct bench_options *o, struct bench_predict_result *r);

/* One convolutional layer of a network, timed with each algorithm. */
struct bench_conv_layer {
	int index;             /* in the network */
	int c, h, w;           /* input channels, height, width */
	int n, size, stride, pad; /* filters, kernel size, stride, padding */
	int rule;              /* enum accel_conv_algo the rule picks */
	int winograd_possible; /* 0: ms[ACCEL_CONV_WINOGRAD*] not measured (NAN) */
	double gflop;          /* direct convolution's work, forward + backward, per batch */
	double ms[3][2];       /* [enum accel_conv_algo][0 forward, 1 backward]: CPU ms per batch */
};

/* Build the network as bench_run does, train one batch, then time each
 * convolutional layer's forward and backward pass alone, o->iters times
 * each (after one untimed pass), with the im2col GEMM and, where possible,
 * with Winograd F(2x2, 3x3) and F(4x4, 3x3); the layer's delta is restored before each backward pass.
 * Fills layers[0 .. *count - 1] (at most max). Returns 0 or -1 with an
 * error. Leaves the choice of algorithm as o->conv_algo says. */
int bench_conv_algos(const struct bench_options *o, struct bench_conv_layer *layers, int max,
		     int *count);

/* The process's peak resident set size so far, in MiB (getrusage). */
double bench_max_rss_mib(void);

#endif
