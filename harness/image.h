/* image.h: PNG decoding and encoding through libpng (the only module that
 * includes png.h), and image resampling. */
#ifndef DARKFOLD_IMAGE_H
#define DARKFOLD_IMAGE_H

/* The libpng version linked at run time, e.g. "1.6.39". */
const char *image_libpng_version(void);

#endif
