/* image.c: libpng boundary. */
#include "image.h"

#include <png.h>

const char *image_libpng_version(void)
{
	return png_get_libpng_ver(NULL);
}
