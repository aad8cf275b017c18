/* accel_darknet.h: what the replacements of whole Darknet layer passes
 * (accel_conv.c, accel_pool.c, accel_layers.c) share: Darknet's header,
 * whose error() is renamed so that it does not clash with darkfold's, and
 * the call of Darknet's own definition of a replaced pass. */
#ifndef DARKFOLD_ACCEL_DARKNET_H
#define DARKFOLD_ACCEL_DARKNET_H

#include "accel.h"

#define error darknet_error
#include <darknet.h>
#undef error

/* Run libdarknet's own definition of the layer pass f (see
 * accel_original()) on l and net; aborts, naming f, if it cannot be found:
 * a replacement cannot return without doing the layer's work. */
void accel_call_original(enum accel_fn f, layer l, network net);

/* Scratch matrices of the convolution passes (accel_conv.c,
 * accel_winograd.c), grown on demand and kept for the life of the process
 * (libdarknet calls the replacements without any context to hold them).
 * The im2col path and the Winograd path share the two large ones: a layer
 * runs one or the other. */
enum accel_scratch {
	ACCEL_SCRATCH_COL,      /* im2col columns; Winograd's transformed input */
	ACCEL_SCRATCH_PRODUCT,  /* im2col product; Winograd's transformed output */
	ACCEL_SCRATCH_KERNEL,   /* Winograd's transformed weights, or their gradient
				 * (one pass holds one or the other) */
	ACCEL_SCRATCH_ROWS,     /* Winograd's rows of one tile row */
	ACCEL_NSCRATCH
};
/* Scratch buffer `which` with room for at least n floats; its contents are
 * undefined, and it stays valid until the next call for the same buffer. */
float *accel_scratch(enum accel_scratch which, size_t n);
/* At most this many floats per large scratch matrix (16 MiB), unless a
 * single image needs more. */
#define ACCEL_SCRATCH_FLOATS ((size_t)1 << 22)
/* Images per product out of batch: enough for about `want` columns when an
 * image has `cols` of them, but no more than ACCEL_SCRATCH_FLOATS / (rows
 * cols), and at least 1. */
int accel_chunk(size_t rows, size_t cols, size_t want, int batch);

/* Which algorithm darkfold's convolution replacement uses for layer l, in
 * training and inference passes alike: the one bench or a test has forced
 * where it can run, if any; else accel_conv_choose() on its shape. F(4x4,
 * 3x3) becomes F(2x2, 3x3) while the precision is ACCEL_BF16. */
enum accel_conv_algo accel_conv_algo_of(const layer *l);

/* 1 if the replacement of the convolutional layer passes does l's batch
 * norm and activation itself (accel_bn_act, accel_bn_act_backward): then
 * it does not need l's x_norm (accel_memory_share() frees it). */
int accel_conv_fuses_bn(const layer *l);

#endif
