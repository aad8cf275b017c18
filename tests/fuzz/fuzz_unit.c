/* fuzz_unit.c: the unit result file readers: the checksum check on the raw
 * input, then (with a valid checksum appended, so that the fuzzer reaches the
 * parser) summary_build reading it as unit r0-f0 of a one-model study. */
#include "checksum.h"
#include "fsutil.h"
#include "fuzz_common.h"
#include "json.h"
#include "sha256.h"
#include "summary.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	checksum_verify((const char *)data, size, "fuzz.json");

	const char *root = fuzz_path("results");
	char *dir = fs_join(root, "a");
	fs_mkdir_p(dir);
	char *path = fs_join(dir, "r0-f0.json");
	char hex[65];
	sha256_hex(data, size, hex);
	static const char intro[] = ",\n  \"checksum\": \"", outro[] = "\"\n}\n";
	size_t len = size + sizeof intro - 1 + 64 + sizeof outro - 1;
	char *text = malloc(len);
	memcpy(text, data, size);
	memcpy(text + size, intro, sizeof intro - 1);
	memcpy(text + size + sizeof intro - 1, hex, 64);
	memcpy(text + len - (sizeof outro - 1), outro, sizeof outro - 1);
	fuzz_write(path, text, len);
	free(text);

	static const char *const models[1] = { "a" };
	struct summary_config c = {
		.experiment = "fuzz", .experiment_sha256 = "00", .results_path = root,
		.models = models, .n_models = 1, .k = 2, .repeats = 1, .positive = 1,
		.beta = 2.0, .alpha = 0.05, .threshold_policy = "fixed", .bootstrap = 10,
		.seed = 1,
	};
	struct jw w;
	jw_init(&w);
	summary_build(&c, &w);
	jw_release(&w);
	unlink(path);
	free(path);
	free(dir);
	return 0;
}
