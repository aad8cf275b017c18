/* fuzz_cfg.c: the cfg parser and checker (cfg_parse), then the canonical
 * writer on what it accepts. */
#include "cfg.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg c;
	if (cfg_parse("fuzz.cfg", (const char *)data, size, 2, &c) == 0)
		free(cfg_to_text(&c));
	cfg_release(&c);
	return 0;
}
