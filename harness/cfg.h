/* cfg.h: Darknet .cfg files, read and checked by darkfold before Darknet
 * ever sees them, and rewritten as the "effective cfg" of a unit.
 *
 * cfg_load() accepts LF or CRLF line endings and a UTF-8 BOM, and reports the
 * first problem as "error: <path>:<line>: <problem>". The checks follow what
 * Darknet's parser (pjreddie/darknet as packaged by Debian, September 2018)
 * reads; docs/adding-a-model.md lists them. The text written by cfg_write()
 * is plain LF without BOM or comments, so Darknet reads exactly what was
 * checked. */
#ifndef DARKFOLD_CFG_H
#define DARKFOLD_CFG_H

#include <stddef.h>

struct cfg_option {
	char *key, *value;
	int line;
};

struct cfg_section {
	char *name; /* without brackets, e.g. "convolutional" */
	int line;
	struct cfg_option *opts;
	int n_opts;
};

struct cfg {
	char *path;
	struct cfg_section *sections; /* sections[0] is [net] */
	int n;
};

/* Parse and check (see docs/adding-a-model.md for the list of checks).
 * classes > 0 additionally requires the final layer to produce exactly that
 * many outputs. Returns 0 or -1 with one error line; on failure *out is left
 * empty (cfg_release on it is harmless). The caller owns *out and releases
 * it with cfg_release(). */
int cfg_load(const char *path, int classes, struct cfg *out);
/* Parse and check text already in memory; path is only used in messages and
 * stored as c->path. Same contract as cfg_load(). */
int cfg_parse(const char *path, const char *text, size_t len, int classes, struct cfg *out);
/* Free everything cfg_load() allocated and empty *c. NULL-safe. */
void cfg_release(struct cfg *c);

/* Re-run every check of cfg_load() on c as it is now (for example after
 * cfg_set_net/cfg_set_classes). Lines in messages are those of the original
 * file; a key added by cfg_set_net reports the line of the [net] header.
 * Returns 0 or -1 with one error line. */
int cfg_check(const struct cfg *c, int classes);

/* Set [net] key to value (adding it at the end of [net] if absent). Copies
 * both strings. Nothing is checked here: call cfg_check() afterwards. */
void cfg_set_net(struct cfg *c, const char *key, const char *value);
/* cfg_set_net with an integer, or with a double written in the shortest
 * decimal form that reads back to the same double (deterministic). */
void cfg_set_net_int(struct cfg *c, const char *key, long value);
void cfg_set_net_double(struct cfg *c, const char *key, double value);
/* The [net] value of key, or NULL if absent. The string belongs to c. */
const char *cfg_net_get(const struct cfg *c, const char *key);
/* [net] key as a number; dflt if absent. Values were checked by cfg_load,
 * so a present value always parses. */
int cfg_net_int(const struct cfg *c, const char *key, int dflt);
double cfg_net_double(const struct cfg *c, const char *key, double dflt);

/* Rewrite the last layer producing class scores (the last [connected]'s
 * output or the last [convolutional]'s filters before softmax) to produce
 * classes outputs. Only layers that keep the channel count ([softmax],
 * [avgpool], [dropout], [cost], [activation], [logistic], [batchnorm], ...)
 * may follow it. Returns 0, or -1 with an error if there is no such layer or
 * the network's final output would then not be exactly classes. */
int cfg_set_classes(struct cfg *c, int classes);

/* A reconstruction network (a one_class model in an experiment): check c
 * (cfg_check with classes 0), then require no [softmax], a last section
 * [cost] with type sse (Darknet's default), at least one layer before it,
 * and a final output of exactly the [net] input's width x height x
 * channels. Layers whose shape is not modelled ([deconvolutional], ...) are
 * an error here. Returns 0 or -1 with one error line naming the file and
 * line. */
int cfg_check_reconstruction(const struct cfg *c);
/* 1 when c looks like a reconstruction network: it ends in [cost] and has
 * no [softmax]; 0 otherwise. No message. */
int cfg_is_reconstruction(const struct cfg *c);

/* Number of layers (sections after [net]); Darknet's net->n. */
int cfg_n_layers(const struct cfg *c);
/* Number of values the network outputs per image (Darknet's output layer:
 * the last layer that is not [cost]), worked out from the layer shapes.
 * Returns it; 0 (no message) if a layer whose size is not modelled (recurrent,
 * [local], [deconvolutional], detection layers) comes first; -1 with an error
 * if c does not pass cfg_check(). */
long cfg_outputs(const struct cfg *c);

/* Output shape of one layer as Darknet sizes it: an image has h, w, c > 0;
 * a flat output has h = w = c = 0. outputs is the values per image, or -1
 * when the layer's size is not modelled (see cfg_outputs). */
struct cfg_shape {
	long h, w, c, outputs;
};
/* Fill shapes[0 .. cfg_n_layers(c) - 1] with each layer's output shape.
 * Returns 0, or -1 with an error if c does not pass cfg_check(). */
int cfg_layer_shapes(const struct cfg *c, struct cfg_shape *shapes);
/* Integer value of key in section s (checked by cfg_load), or dflt if
 * absent. */
long cfg_section_int(const struct cfg_section *s, const char *key, long dflt);

/* Serialise to text (new string, caller frees): sections in order, one
 * "key=value" per line, a blank line between sections, LF line ends, no
 * comments except a fixed first line. Same cfg -> same bytes. */
char *cfg_to_text(const struct cfg *c);
/* Check c (cfg_check with classes 0), then write cfg_to_text() atomically to
 * path and put its SHA-256 in hex into sha256. Returns 0 or -1 with an error
 * (nothing is written if the check fails). */
int cfg_write(const struct cfg *c, const char *path, char sha256[65]);

#endif
