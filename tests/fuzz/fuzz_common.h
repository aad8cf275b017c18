/* fuzz_common.h: shared by the libFuzzer targets: inputs that darkfold reads
 * from a path are written to a per-process temporary file first; a small
 * network for the readers that need one. */
#ifndef DARKFOLD_FUZZ_COMMON_H
#define DARKFOLD_FUZZ_COMMON_H

#include "net.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A path under $TMPDIR (or /tmp) unique to this process and suffix. */
static inline const char *fuzz_path(const char *suffix)
{
	static char buf[4][256];
	static int next;
	char *p = buf[next++ % 4];
	const char *tmp = getenv("TMPDIR");
	snprintf(p, sizeof buf[0], "%s/darkfold-fuzz-%ld-%s", tmp && *tmp ? tmp : "/tmp",
		 (long)getpid(), suffix);
	return p;
}

/* Write data to path; aborts on failure (a broken harness, not a finding). */
static inline void fuzz_write(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
		abort();
}

/* The small network of the weights and checkpoint targets (4x4x1 input,
 * a batch-normalised convolution, a dense layer, softmax), built once per
 * process; aborts on failure. */
static inline struct net *fuzz_small_net(void)
{
	static const char cfg[] = "[net]\nbatch=1\nwidth=4\nheight=4\nchannels=1\n"
				  "[convolutional]\nbatch_normalize=1\nfilters=2\nsize=3\npad=1\n"
				  "activation=relu\n[connected]\noutput=2\nactivation=linear\n"
				  "[softmax]\ngroups=1\n";
	static struct net *n;
	if (!n) {
		const char *path = fuzz_path("net.cfg");
		fuzz_write(path, cfg, sizeof cfg - 1);
		if (net_build(path, 1, fuzz_path("darknet.log"), &n) < 0)
			abort();
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
