/* fuzz_weights.c: the weights-size check and loader (net_load_weights) of a
 * small network, for all layers and for the first one. */
#include "fuzz_common.h"
#include "net.h"

static const char CFG[] = "[net]\nbatch=1\nwidth=4\nheight=4\nchannels=1\n"
			  "[convolutional]\nbatch_normalize=1\nfilters=2\nsize=3\npad=1\n"
			  "activation=relu\n[connected]\noutput=2\nactivation=linear\n"
			  "[softmax]\ngroups=1\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct net *n;
	if (!n) {
		const char *cfg = fuzz_path("net.cfg");
		fuzz_write(cfg, CFG, sizeof CFG - 1);
		if (net_build(cfg, 1, fuzz_path("darknet.log"), &n) < 0)
			abort();
	}
	const char *path = fuzz_path("in.weights");
	fuzz_write(path, data, size);
	net_load_weights(n, path, -1);
	net_load_weights(n, path, 1);
	unlink(path);
	return 0;
}
