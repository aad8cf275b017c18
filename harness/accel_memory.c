/* accel_memory.c: less memory for a network trained with the replacements
 * (see accel.h): shared gradient buffers and no x_norm, with the same bits.
 *
 * Darknet gives every layer its own delta (batch*outputs floats) for the
 * life of the network, zeroes them all in forward_network and fills them
 * in backward_network. A layer's delta is live only from the first
 * backward step that writes into it (the layer after it, or a later
 * shortcut or route layer reading it) down to its own backward step, so
 * layers whose live ranges do not meet can use one buffer. The buffer is
 * zeroed just before its layer's range starts instead of in the forward
 * pass: it then holds the same zeros when the same writers add into it in
 * the same order, so every sum gives the same bits.
 *
 * The registry of shared networks is process-global because
 * forward_network and backward_network are called by libdarknet, which
 * passes no context. Not thread-safe, as the other replacements. */
#include "accel_darknet.h"

#include "error.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* Darknet's (blas.h); not in darknet.h. */
void fill_cpu(int N, float ALPHA, float *X, int INCX);

/* One network whose deltas share buffers. */
struct shared {
	const layer *layers; /* identifies the network: its layer array */
	int n;
	char *pooled;        /* (n) layer i's delta is in a shared buffer */
	int *zero_at;        /* (n) backward step before which layer i's delta
			      * is zeroed; -1 if none (not pooled, or an alias) */
	int *zero_first;     /* (n) the first layer zeroed at step j, -1 if none */
	int *zero_next;      /* (n) the next layer zeroed at the same step, -1 */
	float **pool;        /* the shared buffers */
	int npool;
};

static struct shared *registry;
static int nregistry;

static struct shared *find(const network *net)
{
	for (int k = 0; k < nregistry; k++)
		if (registry[k].layers == net->layers)
			return &registry[k];
	return NULL;
}

int accel_memory_networks(void)
{
	return nregistry;
}

/* Layer types whose passes touch deltas only as described above: a layer's
 * backward step reads its own delta and adds into (or sets) the deltas of
 * the layer before it and of the layers it references. */
static int type_known(LAYER_TYPE t)
{
	switch (t) {
	case CONVOLUTIONAL: case CONNECTED: case BATCHNORM: case MAXPOOL: case AVGPOOL:
	case DROPOUT: case SHORTCUT: case ROUTE: case SOFTMAX: case COST:
		return 1;
	default:
		return 0;
	}
}

/* Layers whose forward pass writes their delta (the loss's gradient). */
static int writes_delta_forward(LAYER_TYPE t)
{
	return t == SOFTMAX || t == COST;
}

/* owner[i]: the first layer using layer i's delta array (a dropout layer
 * uses the one before it); -1 when layer i has none. */
static void find_owners(const network *net, int *owner)
{
	for (int i = 0; i < net->n; i++) {
		owner[i] = net->layers[i].delta ? i : -1;
		for (int j = 0; j < i && owner[i] == i; j++)
			if (net->layers[j].delta == net->layers[i].delta)
				owner[i] = owner[j];
	}
}

static void note_writer(int *end, const int *owner, int target, int step)
{
	if (target >= 0 && owner[target] >= 0 && end[owner[target]] < step)
		end[owner[target]] = step;
}

/* end[o]: the first backward step (the highest index) that writes into or
 * reads owner o's delta array, -1 for none. */
static void find_ends(const network *net, const int *owner, int *end)
{
	for (int i = 0; i < net->n; i++)
		end[i] = -1;
	for (int k = 0; k < net->n; k++) {
		const layer *l = &net->layers[k];
		note_writer(end, owner, k, k); /* its own backward step reads it */
		if (k > 0)
			note_writer(end, owner, k - 1, k);
		if (l->type == SHORTCUT)
			note_writer(end, owner, l->index, k);
		if (l->type == ROUTE)
			for (int r = 0; r < l->n; r++)
				note_writer(end, owner, l->input_layers[r], k);
	}
}

/* Whether owner o's array may be shared: no user of it writes it in the
 * forward pass, and the last layer (whose delta darkfold reads after the
 * forward pass) is not a user. */
static int shareable(const network *net, const int *owner, int o)
{
	for (int i = o; i < net->n; i++)
		if (owner[i] == o && (writes_delta_forward(net->layers[i].type) || i == net->n - 1))
			return 0;
	return 1;
}

/* The buffer for a range ending at step `end` that needs `need` floats:
 * among the buffers free for it (their last range started above end), the
 * smallest big enough, else the largest (to be grown); -1 if none is free. */
static int pick_buffer(const int *free_below, const size_t *cap, int npool, int end, size_t need)
{
	int best = -1;
	for (int b = 0; b < npool; b++) {
		if (free_below[b] <= end)
			continue;
		int fits = cap[b] >= need, best_fits = best >= 0 && cap[best] >= need;
		if (best < 0 || (fits && (!best_fits || cap[b] < cap[best])) ||
		    (!fits && !best_fits && cap[b] > cap[best]))
			best = b;
	}
	return best;
}

/* The shared buffers: slot[o] for each shareable owner o (else -1), and
 * each buffer's size in floats in cap (npool of them, returned). Owners are
 * placed in the order their ranges [o, end[o]] start in the backward pass
 * (highest end first), each into pick_buffer's choice or a new buffer. */
static int plan(const network *net, const int *owner, const int *end, int *slot, size_t *cap)
{
	int npool = 0;
	int *free_below = xmalloc(sizeof *free_below * net->n); /* (npool) */
	for (int i = 0; i < net->n; i++)
		slot[i] = -1;
	for (int s = net->n - 1; s >= 0; s--)
		for (int o = 0; o < net->n; o++) {
			if (owner[o] != o || end[o] != s || s == o || !shareable(net, owner, o))
				continue;
			size_t need = (size_t)net->layers[o].outputs * net->layers[o].batch;
			int b = pick_buffer(free_below, cap, npool, s, need);
			if (b < 0) {
				b = npool++;
				cap[b] = 0;
			}
			if (cap[b] < need)
				cap[b] = need;
			free_below[b] = o;
			slot[o] = b;
		}
	free(free_below);
	return npool;
}

/* Whether darkfold knows how every layer of net treats deltas. */
static int topology_known(const network *net)
{
	for (int i = 0; i < net->n; i++)
		if (!type_known(net->layers[i].type) || net->layers[i].stopbackward)
			return 0;
	return 1;
}

/* Allocate the planned buffers into s and move the deltas into them;
 * -1 (nothing changed) if memory runs out. */
static int move_deltas(network *net, const int *owner, const int *end, const int *slot,
		       const size_t *cap, struct shared *s)
{
	for (int b = 0; b < s->npool; b++) {
		s->pool[b] = try_calloc(cap[b], sizeof(float), "a shared gradient buffer");
		if (!s->pool[b]) {
			while (b-- > 0)
				free(s->pool[b]);
			return -1;
		}
	}
	for (int o = 0; o < net->n; o++) {
		if (owner[o] != o || slot[o] < 0)
			continue;
		free(net->layers[o].delta);
		s->zero_at[o] = end[o];
		for (int u = o; u < net->n; u++)
			if (owner[u] == o) {
				net->layers[u].delta = s->pool[slot[o]];
				s->pooled[u] = 1;
			}
	}
	return 0;
}

/* Plan and share net's deltas into s (s->npool buffers, maybe none). */
static int share_deltas(network *net, struct shared *s)
{
	int n = net->n, rc = 0;
	int *owner = xmalloc(sizeof *owner * n), *end = xmalloc(sizeof *end * n);
	int *slot = xmalloc(sizeof *slot * n);
	size_t *cap = xmalloc(sizeof *cap * n);
	s->npool = 0;
	if (topology_known(net)) {
		find_owners(net, owner);
		find_ends(net, owner, end);
		s->npool = plan(net, owner, end, slot, cap);
		s->pool = xcalloc((size_t)s->npool + 1, sizeof *s->pool);
		rc = move_deltas(net, owner, end, slot, cap, s);
		if (rc < 0)
			s->npool = 0;
	}
	free(owner), free(end), free(slot), free(cap);
	return rc;
}

/* Free x_norm of the convolutional layers whose batch norm the
 * replacement does (accel_conv_fuses_bn): it works their normalised values
 * out again from x. Returns how many. */
static int drop_x_norm(network *net)
{
	int k = 0;
	for (int i = 0; i < net->n; i++) {
		layer *l = &net->layers[i];
		if (l->type == CONVOLUTIONAL && l->x_norm && accel_conv_fuses_bn(l)) {
			free(l->x_norm);
			l->x_norm = NULL;
			k++;
		}
	}
	return k;
}

/* s's zero_at as lists per step (ascending layer order), so that a
 * backward step finds its layers without scanning them all. */
static void zero_lists(struct shared *s)
{
	for (int j = 0; j < s->n; j++)
		s->zero_first[j] = -1;
	for (int o = s->n - 1; o >= 0; o--) {
		s->zero_next[o] = -1;
		if (s->zero_at[o] >= 0) {
			s->zero_next[o] = s->zero_first[s->zero_at[o]];
			s->zero_first[s->zero_at[o]] = o;
		}
	}
}

static void free_shared(struct shared *s)
{
	free(s->pool), free(s->pooled), free(s->zero_at), free(s->zero_first), free(s->zero_next);
}

/* glibc serves large blocks with mmap and, by default, raises that
 * threshold to the size of any mapped block freed (up to 32 MiB). Freeing
 * Darknet's deltas and x_norm would raise it so far that the replacements'
 * scratch matrices (up to 16 MiB) then come from the heap, where freed
 * space stays in the process: VGG16 at 128x128 peaked at 1306 MiB with the
 * moving threshold and at 1278 MiB with it fixed (bench, batch 16). Fixing
 * it (at glibc's starting value) stops the adjustment; where blocks come
 * from does not change any value computed. */
static void fix_mmap_threshold(void)
{
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

int accel_memory_share(struct network *net)
{
	if (!accel_enabled() || find(net))
		return 0;
	fix_mmap_threshold();
	const size_t n = (size_t)net->n;
	struct shared s = { net->layers, net->n, xcalloc(n, 1), xmalloc(sizeof(int) * n),
			    xmalloc(sizeof(int) * n), xmalloc(sizeof(int) * n), NULL, 0 };
	for (int i = 0; i < net->n; i++)
		s.zero_at[i] = -1;
	if (share_deltas(net, &s) < 0) {
		free_shared(&s);
		return -1;
	}
	zero_lists(&s);
	drop_x_norm(net);
	registry = xrealloc(registry, sizeof *registry * (nregistry + 1));
	registry[nregistry++] = s;
	return 0;
}

void accel_memory_release(struct network *net)
{
	struct shared *s = net ? find(net) : NULL;
	if (!s)
		return;
	for (int i = 0; i < net->n; i++)
		if (s->pooled[i])
			net->layers[i].delta = NULL;
	for (int b = 0; b < s->npool; b++)
		free(s->pool[b]);
	free_shared(s);
	*s = registry[--nregistry];
	if (nregistry == 0) {
		free(registry);
		registry = NULL;
	}
}

void accel_delta_forward(const struct network *net, int i)
{
	const layer *l = &net->layers[i];
	const struct shared *s = find(net);
	if (l->delta && !(s && s->pooled[i]))
		fill_cpu(l->outputs * l->batch, 0, l->delta, 1);
}

void accel_backward_step(const struct network *netp, struct network *net, int step)
{
	*net = *netp;
	if (step > 0) {
		net->input = netp->layers[step - 1].output;
		net->delta = netp->layers[step - 1].delta;
	}
	net->index = step;
	const struct shared *s = find(netp);
	for (int o = s ? s->zero_first[step] : -1; o >= 0; o = s->zero_next[o])
		fill_cpu(netp->layers[o].outputs * netp->layers[o].batch, 0,
			 netp->layers[o].delta, 1);
}
