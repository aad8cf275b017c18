/* accel_layers.c: replacements for Darknet's forward_network and its
 * residual (shortcut) layer passes (see accel.h). libdarknet's
 * network_predict and train_network_datum call forward_network through the
 * PLT, so they reach this definition; darkfold calls it directly. The
 * shortcut layer's functions are reached through libdarknet's GOT, from
 * the layer's function pointers. */
#include "accel_darknet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Darknet's (network.h); not in darknet.h. */
void calc_network_cost(network *net);

void forward_shortcut_layer(const layer l, network net);
void backward_shortcut_layer(const layer l, network net);

typedef void (*network_fn)(network *);
typedef void (*layer_fn)(layer, network);

static void *original_or_abort(enum accel_fn f)
{
	void *p = accel_original(f);
	if (!p) {
		fprintf(stderr, "error: cannot run Darknet's %s\n", accel_name(f));
		abort();
	}
	return p;
}

void accel_call_original(enum accel_fn f, layer l, network net)
{
	layer_fn fn;
	void *p = original_or_abort(f);
	memcpy(&fn, &p, sizeof fn);
	fn(l, net);
}

static void call_network_original(enum accel_fn f, network *netp)
{
	network_fn fn;
	void *p = original_or_abort(f);
	memcpy(&fn, &p, sizeof fn);
	fn(netp);
}

/* A residual layer whose input, earlier layer and output have the same
 * shape and whose activation accel_shortcut_act handles; Darknet's
 * original does the others. */
static int shortcut_handled(const layer *l)
{
	return accel_enabled() && l->w == l->out_w && l->h == l->out_h && l->c == l->out_c &&
	       accel_bn_act_fusable(l->activation);
}

/* Darknet: copy_cpu(input -> output), shortcut_cpu (output = alpha *
 * output + beta * earlier output), activate_array; here in one pass. */
void forward_shortcut_layer(const layer l, network net)
{
	if (!shortcut_handled(&l)) {
		accel_call_original(ACCEL_forward_shortcut_layer, l, net);
		return;
	}
	accel_note_call(ACCEL_forward_shortcut_layer);
	accel_shortcut_act(l.output, net.input, net.layers[l.index].output, l.alpha, l.beta,
			   (size_t)l.outputs * l.batch, l.activation);
}

/* Darknet: gradient_array (delta *= act'(output)), axpy_cpu (input's delta
 * += alpha * delta), shortcut_cpu (earlier layer's delta = 1 * its delta +
 * beta * delta); here in one pass. */
void backward_shortcut_layer(const layer l, network net)
{
	if (!shortcut_handled(&l) || !net.delta) {
		accel_call_original(ACCEL_backward_shortcut_layer, l, net);
		return;
	}
	accel_note_call(ACCEL_backward_shortcut_layer);
	accel_shortcut_act_backward(l.delta, l.output, net.delta, net.layers[l.index].delta,
				    l.alpha, l.beta, (size_t)l.outputs * l.batch, l.activation);
}

/* Darknet's forward_network: each layer's forward pass in turn, each one
 * reading the previous one's output (and a layer marked `truth` giving the
 * truth of the next ones), then the network's cost. Darknet zeroes every
 * layer's delta first; only the backward pass reads the deltas, and a
 * training step's forward pass zeroes them again, so this does it only in
 * training (net->train), and not the shared ones (accel_delta_forward). */
void forward_network(network *netp)
{
	if (!accel_enabled()) {
		call_network_original(ACCEL_forward_network, netp);
		return;
	}
	accel_note_call(ACCEL_forward_network);
	network net = *netp;
	if (net.train) /* a training step changes the weights after this pass */
		accel_thaw();
	accel_set_ordered(!net.train);
	for (int i = 0; i < net.n; i++) {
		net.index = i;
		layer l = net.layers[i];
		if (net.train)
			accel_delta_forward(netp, i);
		l.forward(l, net);
		net.input = l.output;
		if (l.truth)
			net.truth = l.output;
	}
	accel_set_ordered(0);
	calc_network_cost(netp);
}

void accel_freeze_network(const network *net)
{
	for (int i = 0; i < net->n; i++) {
		const layer *l = &net->layers[i];
		if (l->type == CONVOLUTIONAL && l->weights)
			accel_freeze(l->weights, (size_t)l->nweights);
		else if (l->type == CONNECTED && l->weights)
			accel_freeze(l->weights, (size_t)l->inputs * l->outputs);
	}
}

/* Darknet's backward_network: from the last layer down, each layer's
 * backward pass with the previous layer's output and delta as the
 * network's input and delta (the first layer gets the network's own),
 * stopping at a layer marked stopbackward; here with the zeroing of the
 * shared gradient buffers due before each step (accel_backward_step). */
void backward_network(network *netp)
{
	if (!accel_enabled()) {
		call_network_original(ACCEL_backward_network, netp);
		return;
	}
	accel_note_call(ACCEL_backward_network);
	network net;
	for (int i = netp->n - 1; i >= 0; i--) {
		layer l = netp->layers[i];
		if (l.stopbackward)
			break;
		accel_backward_step(netp, &net, i);
		l.backward(l, net);
	}
}
