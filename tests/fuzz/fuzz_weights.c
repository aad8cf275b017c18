/* fuzz_weights.c: the weights-size check and loader (net_load_weights) of a
 * small network, for all layers and for the first one. */
#include "fuzz_common.h"
#include "net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net *n = fuzz_small_net();
	const char *path = fuzz_path("in.weights");
	fuzz_write(path, data, size);
	net_load_weights(n, path, -1);
	net_load_weights(n, path, 1);
	unlink(path);
	return 0;
}
