/* cost.h: what one unit costs, before it runs: the memory its process needs
 * (estimated by building its network) and its training time (from per-image
 * costs measured on a reference machine). Used by `darkfold plan` (CPU
 * hours of a study) and `darkfold submit` (memory per Slurm task).
 *
 * Measured costs live in costs.json beside the model's cfg:
 *   { "models": { "vgg16.cfg": { "seconds_per_image_epoch": 0.134,
 *                                "width": 64, "height": 64 }, ... } }
 * keyed by the cfg's file name; seconds_per_image_epoch is a unit's
 * timing.train_seconds divided by its epochs and its training-fold images,
 * at that input size with one BLAS thread (docs/scaling.md).
 * A knn model (no cfg, no training) has a fixed estimate instead. */
#ifndef DARKFOLD_COST_H
#define DARKFOLD_COST_H

#include "experiment.h"

/* The estimated seconds of one knn unit (fit and scoring): a unit of the
 * shipped study took 0.18 s (docs/experiments.md), rounded up. */
#define COST_KNN_UNIT_SECONDS 0.2

/* Estimated training seconds (one core) of one unit of model `model` (index
 * into e->models) whose training folds hold n_train images: the measured
 * seconds per image and epoch, times n_train, times the epochs (the model's
 * own, else training.epochs; an upper bound under early stopping), times
 * the ratio of the experiment's input pixels to the measured ones; for a knn
 * model, COST_KNN_UNIT_SECONDS whatever n_train. Returns
 * 0 with *seconds, 1 when costs.json or the cfg's entry is missing (no
 * message), -1 when costs.json is malformed (message naming the file and
 * the JSON path). */
int cost_unit_seconds(const struct experiment *e, int model, int n_train, double *seconds);

/* Estimated peak memory in MiB of a unit's process for model `model` on a
 * dataset of n_images images: measured in a child process, the resident
 * size of darkfold before building the unit's network (effective cfg,
 * training batch) plus twice what the build allocates (weights, updates,
 * Adam moments, activations and their gradients for the batch, workspace;
 * and as much again for checkpoint and best-epoch copies), plus the images
 * as floats (n_images x C x H x W x 4 bytes, twice: the decoded set and the
 * training copy); all plus a quarter, rounded up to a multiple of 64 MiB.
 * Checked against measured peaks in docs/scaling.md. A knn model has no
 * network: darkfold's resident size plus the images as floats four times
 * (the decoded set, the cache, the model's images and features), plus a
 * quarter, rounded up the same way. Returns 0 with *mib,
 * or -1 with an error. */
int cost_memory_mib(const struct experiment *e, int model, int n_images, long *mib);

#endif
