/* fuzz_checkpoint.c: the checkpoint reader (ckpt_read) for fuzz_small_net():
 * the raw input as a checkpoint file, then the input with its SHA-256
 * appended (the checkpoint's last 64 bytes), so that the fuzzer gets past the
 * checksum to the lengths, the JSON header, its fields and the network
 * state. The seeds are checkpoints of this network, key "fuzz", without
 * their checksum. */
#include "checkpoint.h"
#include "fuzz_common.h"
#include "sha256.h"

#include <string.h>

enum { EPOCHS = 4 };

static void read_checkpoint(struct net *n, const char *path, const void *data, size_t size)
{
	fuzz_write(path, data, size);
	struct train_epoch curve[EPOCHS];
	struct progress p = { .curve = curve };
	ckpt_read(path, "fuzz", EPOCHS, &p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net *n = fuzz_small_net();
	const char *path = fuzz_path("checkpoint");
	read_checkpoint(n, path, data, size);
	char *sealed = malloc(size + 65);
	if (!sealed)
		abort();
	if (size)
		memcpy(sealed, data, size);
	sha256_hex(sealed, size, sealed + size);
	read_checkpoint(n, path, sealed, size + 64);
	free(sealed);
	unlink(path);
	return 0;
}
