/* sha256.h: SHA-256 (FIPS 180-4), for the hashes that tie results to their
 * inputs: effective cfgs, experiment files, cache keys. */
#ifndef DARKFOLD_SHA256_H
#define DARKFOLD_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t nbytes;
	unsigned char buf[64];
	size_t nbuf;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Finish and write the digest as 64 lowercase hex digits plus NUL. */
void sha256_final_hex(struct sha256 *s, char hex[65]);
/* One-shot helpers. sha256_file returns 0 or -1 with a message. */
void sha256_hex(const void *data, size_t len, char hex[65]);
int sha256_file(const char *path, char hex[65]);

#endif
