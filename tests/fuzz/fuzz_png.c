/* fuzz_png.c: the PNG decoder (image_png_read, 3 channels) on a file. */
#include "fuzz_common.h"
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_path("in.png");
	fuzz_write(path, data, size);
	struct image im;
	if (image_png_read(path, 3, &im, NULL) == 0)
		image_release(&im);
	unlink(path);
	return 0;
}
