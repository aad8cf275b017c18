/* checkpoint.h: a training unit's checkpoint file, the one owner of its
 * format. Written after every epoch, read back when the unit resumes.
 *
 * Layout ("DFCKPT02"; integers in the machine's byte order):
 *   8 bytes   magic "DFCKPT02"
 *   u64       length J of the JSON header
 *   J bytes   JSON: key (the unit's inputs hash), epoch, stopped, rng (four
 *             16-digit hex words), best_epoch, best_val_loss, since_best,
 *             seconds, step_seconds, images, curve (one object per epoch)
 *   u64       length S of the network state (net_state_save)
 *   S bytes   network state
 *   64 bytes  SHA-256, in hex, of every byte before it
 *
 * A checkpoint is used only when all of it checks out; anything else is
 * discarded with a warning and the unit starts again from epoch 0. */
#ifndef DARKFOLD_CHECKPOINT_H
#define DARKFOLD_CHECKPOINT_H

#include "net.h"
#include "prng.h"
#include "train.h"

/* The training progress a checkpoint holds, besides the network state. */
struct progress {
	int epoch;       /* epochs done */
	int stopped;     /* 1: early stopping ended training */
	struct prng rng;
	struct train_epoch *curve; /* (epochs); caller owns it, epoch entries used */
	int best_epoch;  /* 0: none yet */
	double best_val;
	int since_best;
	double seconds, step_seconds;
	long long images;
};

/* Write p, n's full training state and key (NULL reads as "") to path
 * atomically (temporary file and rename). Returns 0, or -1 with an error
 * naming the file. */
int ckpt_write(const char *path, const char *key, const struct progress *p,
	       const struct net *n);

/* Resume from path. p->curve must have room for `epochs` entries. Returns 1
 * when resumed (*p and n hold the checkpoint's state); 0 when there is no
 * checkpoint at path, or it is unusable (wrong magic, checksum, lengths or
 * JSON, another key, a field missing or out of range, above all an epoch
 * count outside 1..epochs): then a warning "'<path>': <why>: discarding the
 * checkpoint, restarting the unit" is printed and *p and n are unchanged;
 * -1 with an error when the file cannot be read or its network state does
 * not fit n. */
int ckpt_read(const char *path, const char *key, int epochs, struct progress *p,
	      struct net *n);

#endif
