/* fuzz_experiment.c: the experiment reader (experiment_load) on a file. */
#include "experiment.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_path("exp.json");
	fuzz_write(path, data, size);
	struct experiment e;
	if (experiment_load(path, &e) == 0)
		experiment_release(&e);
	unlink(path);
	return 0;
}
