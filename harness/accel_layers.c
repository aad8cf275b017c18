/* accel_layers.c: replacements for Darknet's forward_network (see accel.h).
 * libdarknet's network_predict and train_network_datum call forward_network
 * through the PLT, so they reach this definition; darkfold calls it
 * directly. */
#include "accel.h"

/* darknet.h declares its own error(const char *); see bench.c. */
#define error darknet_error
#include <darknet.h>
#undef error

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Darknet's (blas.h, network.h); not in darknet.h. */
void fill_cpu(int N, float ALPHA, float *X, int INCX);
void calc_network_cost(network *net);

typedef void (*network_fn)(network *);

static void *original_or_abort(enum accel_fn f)
{
	void *p = accel_original(f);
	if (!p) {
		fprintf(stderr, "error: cannot run Darknet's %s\n", accel_name(f));
		abort();
	}
	return p;
}

/* Darknet's forward_network: each layer's forward pass in turn, each one
 * reading the previous one's output (and a layer marked `truth` giving the
 * truth of the next ones), then the network's cost. Darknet zeroes every
 * layer's delta first; only the backward pass reads the deltas, and a
 * training step's forward pass zeroes them again, so this does it only in
 * training (net->train). */
void forward_network(network *netp)
{
	if (!accel_enabled()) {
		network_fn fn;
		void *p = original_or_abort(ACCEL_forward_network);
		memcpy(&fn, &p, sizeof fn);
		fn(netp);
		return;
	}
	accel_note_call(ACCEL_forward_network);
	network net = *netp;
	for (int i = 0; i < net.n; i++) {
		net.index = i;
		layer l = net.layers[i];
		if (l.delta && net.train)
			fill_cpu(l.outputs * l.batch, 0, l.delta, 1);
		l.forward(l, net);
		net.input = l.output;
		if (l.truth)
			net.truth = l.output;
	}
	calc_network_cost(netp);
}
