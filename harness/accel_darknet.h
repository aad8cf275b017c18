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

/* 1 if the replacement of the convolutional layer passes does l's batch
 * norm and activation itself (accel_bn_act, accel_bn_act_backward): then
 * it does not need l's x_norm (accel_memory_share() frees it). */
int accel_conv_fuses_bn(const layer *l);

#endif
