/* cfg.h: Darknet .cfg files, read and checked by darkfold before Darknet
 * ever sees them, and rewritten as the "effective cfg" of a unit.
 *
 * cfg_load() accepts LF or CRLF line endings and a UTF-8 BOM, and reports the
 * first problem as "error: <path>:<line>: <problem>". */
#ifndef DARKFOLD_CFG_H
#define DARKFOLD_CFG_H

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
 * many outputs. Returns 0 or -1 with one error line. */
int cfg_load(const char *path, int classes, struct cfg *out);
void cfg_release(struct cfg *c);

/* Set [net] key to value (adding it if absent). */
void cfg_set_net(struct cfg *c, const char *key, const char *value);
/* Rewrite the last layer producing class scores (the last [connected]'s
 * output or the last [convolutional]'s filters before softmax) to produce
 * classes outputs. Returns 0 or -1 if there is no such layer. */
int cfg_set_classes(struct cfg *c, int classes);
/* Serialise to text (new string) and compute its SHA-256. */
char *cfg_to_text(const struct cfg *c);
/* Write the text atomically to path and return its SHA-256 in hex. */
int cfg_write(const struct cfg *c, const char *path, char sha256[65]);

#endif
