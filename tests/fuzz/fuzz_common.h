/* fuzz_common.h: shared by the libFuzzer targets: inputs that darkfold reads
 * from a path are written to a per-process temporary file first. */
#ifndef DARKFOLD_FUZZ_COMMON_H
#define DARKFOLD_FUZZ_COMMON_H

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
