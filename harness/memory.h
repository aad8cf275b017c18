/* memory.h: the memory a Darknet network needs, worked out from its cfg
 * before Darknet allocates it, and the limit it is checked against.
 *
 * The figures follow the buffers Debian's libdarknet (pjreddie, September
 * 2018) allocates when it builds a network for training on the CPU, with
 * batch = [net] batch / subdivisions images:
 *   - outputs: each layer's output and its gradient (delta), plus the
 *     batch-sized buffers some layers add (batch-norm x and x_norm, maxpool
 *     indexes, softmax loss, dropout mask), and the network's input and
 *     truth;
 *   - workspace: im2col of a convolution (one buffer, shared by all layers:
 *     the network needs the largest);
 *   - weights: weights, biases and batch-norm parameters with their updates;
 *   - adam: Adam's two moments per weight, bias and scale when adam=1.
 * All arithmetic is in double, so no size overflows.
 *
 * Darknet allocates all of this while it parses the cfg. With the
 * replacements on, darkfold then frees what they do not need before any of
 * it is touched (accel_memory_share: most layers' deltas go into a few
 * shared buffers, and the batch-normalised convolutions' x_norm goes), so
 * training holds less: the figure stays an upper bound, which is what the
 * check before building needs. */
#ifndef DARKFOLD_MEMORY_H
#define DARKFOLD_MEMORY_H

#include "cfg.h"

#include <stdio.h>

struct memory_layer {
	int section; /* index into cfg.sections */
	double outputs, workspace, weights, adam; /* bytes */
};

struct memory {
	struct memory_layer *layers; /* one per layer whose size is modelled */
	int n;
	long batch;		/* images per Darknet batch */
	double outputs;		/* all layers' outputs and the network's input and truth */
	double workspace;	/* the largest layer workspace */
	double weights, adam;	/* sums over the layers */
	double total;
	int unmodelled;		/* section from which sizes are unknown, or 0 */
};

/* Work out the memory of c, which must pass cfg_check(). Layers from the
 * first whose size is not modelled (see cfg_outputs) on are left out and
 * m->unmodelled names that section. Returns 0 or -1 with an error. The
 * caller releases *m with memory_release(). */
int memory_estimate(const struct cfg *c, struct memory *m);
/* Free what memory_estimate allocated. NULL-safe. */
void memory_release(struct memory *m);

/* MemAvailable of /proc/meminfo in bytes. Returns 0, or -1 (no message)
 * when it cannot be read. */
int memory_available(double *bytes);
/* Parse a size: a positive number with an optional unit K, M, G, T (powers
 * of 1024, an optional "iB" or "B" after it) or no unit for bytes. Returns 0
 * or -1 (no message). */
int memory_parse_size(const char *s, double *bytes);
/* Write bytes in the largest binary unit below it, e.g. "23.1 GiB", into
 * buf. Returns buf. */
char *memory_format(double bytes, char *buf, size_t n);

/* -1 with one error line if m->total is above limit bytes, naming c's file
 * and the line to change: the [net] batch line when the batch-sized buffers
 * alone exceed the limit, otherwise the layer needing the most, or the
 * [net] section. source says where the limit comes from (e.g.
 * "MemAvailable"). 0 if it fits. */
int memory_check(const struct cfg *c, const struct memory *m, double limit, const char *source);
/* memory_estimate and memory_check against MemAvailable; 0 when
 * MemAvailable cannot be read. For code about to build a network. */
int memory_check_available(const struct cfg *c);

/* Print the per-layer table and the totals of m to f. */
void memory_print(const struct cfg *c, const struct memory *m, FILE *f);

#endif
