/* image.h: PNG decoding and encoding through libpng (the only module that
 * includes png.h), and image resampling.
 *
 * An image in memory is planar float: data[(ch * h + y) * w + x], values in
 * [0,1], the layout Darknet's layers consume. Decoding rules:
 *   - every PNG colour type (gray, gray+alpha, palette, RGB, RGBA), bit
 *     depths 1..16 and Adam7 interlacing are read; 16-bit samples keep their
 *     precision (v / 65535), lower depths are scaled to full range (v / (2^d-1));
 *   - alpha (an alpha channel or a tRNS chunk) is discarded: the colour
 *     samples are used as stored, without compositing on any background;
 *   - channels = 3: gray is replicated to R, G and B;
 *     channels = 1: gray is used as is, colour becomes luma
 *     Y = 0.2126 R + 0.7152 G + 0.0722 B (Rec. 709 weights, no gamma handling);
 *   - headers wider or taller than IMAGE_MAX_SIDE are rejected by libpng's
 *     user limits before any pixel memory is allocated. */
#ifndef DARKFOLD_IMAGE_H
#define DARKFOLD_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* Largest accepted width or height of a PNG, in pixels. */
#define IMAGE_MAX_SIDE 8192

struct image {
	int w, h, c;
	float *data; /* (c, h, w), owned */
};

/* What a PNG file's header says. */
struct image_png_format {
	int width, height;
	int bit_depth;  /* 1, 2, 4, 8 or 16 */
	int color_type; /* IMAGE_GRAY ... IMAGE_RGBA */
	int interlaced; /* 1 for Adam7 */
	int has_trns;   /* 1 if a tRNS chunk gives transparency */
};

enum { IMAGE_GRAY = 0, IMAGE_GRAY_ALPHA, IMAGE_PALETTE, IMAGE_RGB, IMAGE_RGBA };

/* The libpng version linked at run time, e.g. "1.6.39". */
const char *image_libpng_version(void);

/* Allocate a zeroed w x h x c image. Returns 0, or -1 if a dimension is not
 * positive. Release with image_release(). */
int image_init(struct image *im, int w, int h, int c);
/* Free the pixels and zero *im; NULL and an already released image are fine. */
void image_release(struct image *im);

/* Human-readable format, e.g. "RGB 8-bit", "gray+alpha 16-bit interlaced".
 * Writes at most n bytes (NUL included) into buf and returns buf. */
char *image_png_format_name(const struct image_png_format *f, char *buf, size_t n);

/* Read the header of the PNG at path into *fmt without decoding pixels.
 * Returns 0, or -1 with a message naming path (not a PNG, truncated header,
 * dimensions over IMAGE_MAX_SIDE). */
int image_png_info(const char *path, struct image_png_format *fmt);

/* Decode the PNG at path into *out with channels (1 or 3) channels, following
 * the rules at the top of this file. fmt (may be NULL) receives the header.
 * Returns 0, or -1 with a message naming path (not a PNG, truncated or
 * corrupt data, absurd dimensions); *out is then zeroed. */
int image_png_read(const char *path, int channels, struct image *out,
		   struct image_png_format *fmt);

/* Like image_png_read(), but the message (without "error: ") goes into
 * err (errn bytes) instead of stderr: for decoding in several threads,
 * where the caller picks which failure to report. */
int image_png_read_quiet(const char *path, int channels, struct image *out,
			 struct image_png_format *fmt, char *err, size_t errn);

/* Decode the PNG at path and count its non-zero pixels (a pixel is non-zero
 * when any stored colour sample is). For ground-truth masks. Returns 0 or -1
 * with a message naming path. */
int image_png_count_nonzero(const char *path, struct image_png_format *fmt, long *nonzero);

/* Encode 8-bit interleaved pixels (h, w, c) with c = 1 (gray) or 3 (RGB) as a
 * non-interlaced PNG at a fixed compression level and write it to path
 * through a temporary file and rename (no fsync), so path never holds a
 * partial PNG. The bytes depend only on the pixels (no time stamp). Returns 0 or -1 with a message naming path. */
int image_png_write(const char *path, const uint8_t *pixels, int w, int h, int c);

/* Resample in to out_w x out_h (same channels) with an area filter: each
 * output pixel is the average of the input area it covers, input pixels cut
 * by the output grid weighted by the covered fraction. Shrinking by an
 * integer factor k is the plain mean of k x k blocks, so 1024 -> 64 does not
 * alias. Each axis is scaled independently: a non-square input is stretched
 * to the output shape, never cropped. Enlarging replicates pixels, blending
 * the two neighbours where an output pixel straddles them. Returns 0, or -1
 * for a non-positive size. */
int image_resize(const struct image *in, int out_w, int out_h, struct image *out);

/* Convert a float value in [0,1] to 8 bits: round half up, clamped. */
uint8_t image_to_u8(float v);

#endif
