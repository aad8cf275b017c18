/* net.h: the training boundary to Debian's libdarknet (the only training
 * module that includes darknet.h). A `struct net` is one Darknet network
 * built from an effective cfg, trained one mini-batch at a time from float
 * arrays, and asked for P(anomalous).
 *
 * Conventions at this boundary:
 * - Images are (C, H, W) floats in [0,1], one after another: X is (B, C*H*W).
 * - Two classes: index 0 normal, index 1 anomalous. Y is one-hot (B, 2).
 * - The network must end in a [softmax] layer with 2 outputs. Darknet's
 *   softmax layer computes the cross-entropy and its gradient (truth - p);
 *   net_train_batch() scales that gradient per sample by a weight before the
 *   backward pass, which is how the class-weighted loss is realised.
 * - Darknet's own output (layer table, "Using default" lines, ...) goes to a
 *   log file: stdout and stderr are redirected (dup2) around every Darknet
 *   call, so darkfold's own messages stay on the terminal.
 *
 * Randomness: Darknet initialises weights with rand() and rand_normal() (which
 * keeps a static spare value). net_build() calls srand(seed) immediately
 * before parsing, so a process that builds one network gets the same initial
 * weights every time. During training Darknet uses rand() only in [dropout],
 * [crop] and the "random" rate policy; net_srand() re-seeds it so the trainer
 * can make every epoch start from a known state (exact resume). */
#ifndef DARKFOLD_NET_H
#define DARKFOLD_NET_H

#include <stddef.h>

struct net;

enum { NET_CLASSES = 2 };

/* Build the network described by the cfg at cfg_path. The cfg is first
 * checked with cfg_load() (Darknet exits or crashes on bad cfgs), then
 * srand(seed) is called and Darknet parses it. The batch size is the cfg's
 * `batch` (its `subdivisions` must be 1). log_path (may be NULL: discard)
 * receives Darknet's output; it is opened for appending. Returns 0 and
 * *out (release with net_free), or -1 with one error line. */
int net_build(const char *cfg_path, unsigned seed, const char *log_path, struct net **out);
/* The same for a reconstruction network (a one-class model): the cfg must
 * pass cfg_check_reconstruction() (output shape = input shape, [cost] last),
 * and the network is trained with net_train_reconstruct() and run with
 * net_reconstruct() instead of net_train_batch() and net_predict(). */
int net_build_reconstruction(const char *cfg_path, unsigned seed, const char *log_path,
			     struct net **out);
void net_free(struct net *n);

/* Darknet's rand(): srand(seed). */
void net_srand(unsigned seed);

int net_batch(const struct net *n);
/* C*H*W of one input image, and its parts. */
int net_inputs(const struct net *n);
int net_width(const struct net *n);
int net_height(const struct net *n);
int net_channels(const struct net *n);

/* The optimiser settings Darknet read from the cfg. */
struct net_info {
	double learning_rate, momentum, decay;
	int adam;
	const char *policy; /* "constant", "step", "exp", "poly", "steps", "sig", "random" */
	int batch;
	int n_layers;
};
void net_info(const struct net *n, struct net_info *out);

/* Use a constant learning rate lr from now on (the trainer's own schedule
 * calls this once per epoch). Without it the cfg's policy applies, driven by
 * the count of images seen. */
void net_set_rate(struct net *n, double lr);
/* The learning rate the next update will use. */
double net_rate(const struct net *n);

/* One SGD/Adam step on one mini-batch. X (B, C*H*W), Y (B, 2) one-hot,
 * weight (B) per-sample loss weights or NULL for all 1 (a weight of 0 removes
 * a sample from the gradient, used to pad the last batch of an epoch).
 * *loss_sum gets sum_b weight_b * -log p_b(true class), in double; a NaN or
 * Inf there means the network diverged. Returns 0. */
int net_train_batch(struct net *n, const float *X, const float *Y, const float *weight,
		    double *loss_sum);

/* One step of a reconstruction network on one mini-batch X (B, C*H*W): the
 * target is X itself. weight (B) as for net_train_batch. *loss_sum gets
 * sum_b weight_b * sum_j (x_bj - output_bj)^2 (Darknet's sse cost per
 * image), in double. Returns 0. */
int net_train_reconstruct(struct net *n, const float *X, const float *weight, double *loss_sum);

/* The reconstructions R (count, C*H*W) of count images X (count, C*H*W), in
 * inference mode; any count, as net_predict. */
void net_reconstruct(struct net *n, const float *X, int count, float *R);

/* Set every batch-norm layer's running mean and variance to the mean and
 * variance of its inputs over all the full batches of X (count, C*H*W)
 * together, run forward in training mode (no update): the batch means
 * averaged, the variance pooled within and between batches. Darknet's running statistics start at zero
 * and move 1 % per batch, so after the few hundred batches a small data set
 * gives they are still far from the data; inference with them misclassifies
 * even training images. Returns the number of batches used (0 when count < B
 * or the network has no batch norm, which leaves it unchanged). */
int net_recalibrate(struct net *n, const float *X, int count);

/* P(anomalous) for count images X (count, C*H*W) into p (count), in
 * inference mode (batch norm uses its running statistics). Any count: the
 * images go through in chunks of the batch size, the last chunk zero-padded;
 * each image's score does not depend on the others. */
void net_predict(struct net *n, const float *X, int count, double *p);

/* Promise that n's weights stay as they are until net_load_weights,
 * net_state_load, a training step or net_free: inference then packs each
 * layer's weights for the ordered GEMM once instead of at every call
 * (accel_freeze; the same scores, faster). Those four undo it. For
 * inference-only networks (predict). */
void net_freeze(struct net *n);

/* Bytes a Darknet .weights file holds for layers [0, upto) of this network
 * (upto < 0 or >= the layer count: all layers), header included. */
long long net_weights_bytes(const struct net *n, int upto);

/* Save all weights in Darknet's format, atomically (temporary + rename). */
int net_save_weights(struct net *n, const char *path);
/* Load Darknet .weights for layers [0, upto) (upto < 0: all). The file size is
 * checked first: for all layers it must equal net_weights_bytes(), for a
 * prefix it must be at least that; otherwise the error gives the expected and
 * actual sizes and nothing is loaded. The network's count of images seen
 * (which drives the cfg's rate policy) is kept, not taken from the file. */
int net_load_weights(struct net *n, const char *path, int upto);

/* The full training state: weights, batch-norm statistics, the optimiser's
 * momentum / Adam buffers, Darknet's image and update counters. Serialised
 * into a new buffer (*buf, caller frees); restored by net_state_load, which
 * checks that the buffer was made by a network of the same shape. */
void net_state_save(const struct net *n, char **buf, size_t *len);
int net_state_load(struct net *n, const char *buf, size_t len, const char *name);

/* The parameter update after backward_network, as darkfold trains: Adam
 * (darkfold's own; Debian's CPU Darknet ignores adam=1) when the network
 * says adam, else Darknet's update_network. For the benchmark, which drives
 * a Darknet network directly. */
struct network;
void net_update(struct network *dn);

#endif
