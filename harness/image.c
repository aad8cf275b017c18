/* image.c: libpng boundary (decode, encode) and area resampling.
 *
 * libpng reports errors by longjmp. Each entry point that calls libpng does
 * so from one function holding the setjmp; everything it allocates lives in
 * a context struct reached through a pointer, so nothing depends on the
 * values of automatic variables after the jump. */
#include "image.h"

#include "error.h"
#include "fsutil.h"
#include "strbuf.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* zlib level for written PNGs: fixed so that output bytes are stable. */
#define IMAGE_PNG_LEVEL 3

const char *image_libpng_version(void)
{
	return png_get_libpng_ver(NULL);
}

int image_init(struct image *im, int w, int h, int c)
{
	memset(im, 0, sizeof *im);
	if (w <= 0 || h <= 0 || c <= 0)
		return error("invalid image size %dx%dx%d", w, h, c);
	im->w = w;
	im->h = h;
	im->c = c;
	im->data = xcalloc((size_t)w * (size_t)h * (size_t)c, sizeof(float));
	return 0;
}

void image_release(struct image *im)
{
	if (!im)
		return;
	free(im->data);
	memset(im, 0, sizeof *im);
}

char *image_png_format_name(const struct image_png_format *f, char *buf, size_t n)
{
	static const char *const names[] = { "gray", "gray+alpha", "palette", "RGB", "RGBA" };
	const char *t = f->color_type >= 0 && f->color_type <= IMAGE_RGBA ? names[f->color_type] : "?";
	snprintf(buf, n, "%s %d-bit%s%s", t, f->bit_depth, f->has_trns ? " +tRNS" : "",
		 f->interlaced ? " interlaced" : "");
	return buf;
}

/* ---- reading ---------------------------------------------------------- */

struct png_reader {
	const char *path;
	FILE *f;
	png_structp png;
	png_infop info;
	unsigned char *pixels; /* (h, rowbytes) after transformations */
	png_bytep *rows;
	char msg[200];
	char warn[120]; /* the last warning: libpng often explains an error in one */
	char *err;      /* where the failure is described, errn bytes */
	size_t errn;
};

/* Describe the failure in r->err and return -1 (nothing is printed here). */
static int reader_fail(struct png_reader *r, const char *fmt, ...) DF_PRINTF(2, 3);
static int reader_fail(struct png_reader *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err, r->errn, fmt, ap);
	va_end(ap);
	return -1;
}

static void reader_on_error(png_structp png, png_const_charp msg)
{
	struct png_reader *r = png_get_error_ptr(png);
	if (r->warn[0])
		snprintf(r->msg, sizeof r->msg, "%s (%s)", msg, r->warn);
	else
		snprintf(r->msg, sizeof r->msg, "%s", msg);
	png_longjmp(png, 1);
}

static void reader_on_warning(png_structp png, png_const_charp msg)
{
	struct png_reader *r = png_get_error_ptr(png);
	snprintf(r->warn, sizeof r->warn, "%s", msg);
}

static void reader_close(struct png_reader *r)
{
	if (r->png)
		png_destroy_read_struct(&r->png, r->info ? &r->info : NULL, NULL);
	if (r->f)
		fclose(r->f);
	free(r->pixels);
	free(r->rows);
	r->png = NULL;
	r->info = NULL;
	r->f = NULL;
	r->pixels = NULL;
	r->rows = NULL;
}

static int color_type_ours(int png_type)
{
	switch (png_type) {
	case PNG_COLOR_TYPE_GRAY: return IMAGE_GRAY;
	case PNG_COLOR_TYPE_GRAY_ALPHA: return IMAGE_GRAY_ALPHA;
	case PNG_COLOR_TYPE_PALETTE: return IMAGE_PALETTE;
	case PNG_COLOR_TYPE_RGB: return IMAGE_RGB;
	default: return IMAGE_RGBA;
	}
}

/* Open path, check the signature, set limits, read the header. */
static int reader_open(struct png_reader *r, const char *path, struct image_png_format *fmt,
		       char *err, size_t errn)
{
	memset(r, 0, sizeof *r);
	r->path = path;
	r->err = err;
	r->errn = errn;
	r->f = fopen(path, "rb");
	if (!r->f)
		return reader_fail(r, "cannot open '%s': %s", path, strerror(errno));
	unsigned char sig[8];
	size_t got = fread(sig, 1, sizeof sig, r->f);
	if (got < sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0) {
		reader_close(r);
		return reader_fail(r, "cannot decode '%s': not a PNG file", path);
	}
	r->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, r, reader_on_error,
					reader_on_warning);
	if (!r->png) {
		reader_close(r);
		return reader_fail(r, "cannot decode '%s': out of memory in libpng", path);
	}
	r->info = png_create_info_struct(r->png);
	if (!r->info) {
		reader_close(r);
		return reader_fail(r, "cannot decode '%s': out of memory in libpng", path);
	}
	if (setjmp(png_jmpbuf(r->png))) {
		int truncated = r->f && feof(r->f);
		reader_close(r);
		return reader_fail(r, "cannot decode '%s': %s%s", path,
				   truncated ? "truncated file: " : "", r->msg);
	}
	png_set_user_limits(r->png, IMAGE_MAX_SIDE, IMAGE_MAX_SIDE);
	png_set_chunk_malloc_max(r->png, 64u << 20);
	/* Text and other metadata chunks are never used: skip them unread, so
	 * that their declared length costs no memory whatever it is. */
	static const png_byte skipped[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT\0eXIf\0";
	png_set_keep_unknown_chunks(r->png, PNG_HANDLE_CHUNK_NEVER, skipped,
				    (int)(sizeof skipped / 5));
	png_init_io(r->png, r->f);
	png_set_sig_bytes(r->png, (int)sizeof sig);
	png_read_info(r->png, r->info);
	memset(fmt, 0, sizeof *fmt);
	fmt->width = (int)png_get_image_width(r->png, r->info);
	fmt->height = (int)png_get_image_height(r->png, r->info);
	fmt->bit_depth = png_get_bit_depth(r->png, r->info);
	fmt->color_type = color_type_ours(png_get_color_type(r->png, r->info));
	fmt->interlaced = png_get_interlace_type(r->png, r->info) != PNG_INTERLACE_NONE;
	fmt->has_trns = png_get_valid(r->png, r->info, PNG_INFO_tRNS) != 0;
	return 0;
}

int image_png_info(const char *path, struct image_png_format *fmt)
{
	struct png_reader r;
	char err[400];
	if (reader_open(&r, path, fmt, err, sizeof err) != 0)
		return error("%s", err);
	reader_close(&r);
	return 0;
}

/* Decode all rows into r->pixels as 8- or 16-bit gray or RGB (alpha
 * stripped). *nch and *depth receive the sample layout. */
static int reader_decode(struct png_reader *r, int *nch, int *depth, size_t *rowbytes)
{
	if (setjmp(png_jmpbuf(r->png))) {
		int truncated = r->f && feof(r->f);
		reader_close(r);
		return reader_fail(r, "cannot decode '%s': %s%s", r->path,
				   truncated ? "truncated file: " : "", r->msg);
	}
	png_set_expand(r->png);       /* palette -> RGB, gray < 8 bits -> 8, tRNS -> alpha */
	png_set_strip_alpha(r->png);  /* alpha is discarded, see image.h */
	png_set_interlace_handling(r->png);
	png_read_update_info(r->png, r->info);
	png_uint_32 h = png_get_image_height(r->png, r->info);
	*rowbytes = png_get_rowbytes(r->png, r->info);
	*nch = png_get_channels(r->png, r->info);
	*depth = png_get_bit_depth(r->png, r->info);
	r->pixels = xmalloc(*rowbytes * h);
	r->rows = xmalloc(sizeof(png_bytep) * h);
	for (png_uint_32 y = 0; y < h; y++)
		r->rows[y] = r->pixels + (size_t)y * *rowbytes;
	png_read_image(r->png, r->rows);
	png_read_end(r->png, NULL);
	return 0;
}

int image_png_read(const char *path, int channels, struct image *out,
		   struct image_png_format *fmt)
{
	char err[400];
	if (image_png_read_quiet(path, channels, out, fmt, err, sizeof err) != 0)
		return error("%s", err);
	return 0;
}

int image_png_read_quiet(const char *path, int channels, struct image *out,
			 struct image_png_format *fmt, char *err, size_t errn)
{
	memset(out, 0, sizeof *out);
	if (channels != 1 && channels != 3) {
		snprintf(err, errn, "cannot decode '%s': %d channels requested (1 or 3 supported)",
			 path, channels);
		return -1;
	}
	struct image_png_format f;
	struct png_reader r;
	if (reader_open(&r, path, &f, err, errn) != 0)
		return -1;
	int nch, depth;
	size_t rowbytes;
	if (reader_decode(&r, &nch, &depth, &rowbytes) != 0)
		return -1;
	int w = f.width, h = f.height;
	if (nch != 1 && nch != 3) {
		reader_close(&r);
		return reader_fail(&r, "cannot decode '%s': unexpected %d channels after expansion",
				   path, nch);
	}
	image_init(out, w, h, channels);
	size_t plane = (size_t)w * (size_t)h;
	float lut[256];
	for (int i = 0; i < 256; i++)
		lut[i] = (float)i / 255.0f;
	float *s[3];
	float *tmp = NULL;
	/* decode into the source channel count first */
	if (nch == channels) {
		for (int c = 0; c < nch; c++)
			s[c] = out->data + (size_t)c * plane;
	} else {
		tmp = xmalloc(plane * (size_t)nch * sizeof(float));
		for (int c = 0; c < nch; c++)
			s[c] = tmp + (size_t)c * plane;
	}
	for (int y = 0; y < h; y++) {
		const unsigned char *row = r.rows[y];
		size_t o = (size_t)y * (size_t)w;
		if (depth == 16) {
			for (int x = 0; x < w; x++)
				for (int c = 0; c < nch; c++) {
					const unsigned char *p = row + ((size_t)x * nch + c) * 2;
					s[c][o + x] = (float)((p[0] << 8) | p[1]) / 65535.0f;
				}
		} else if (nch == 3) {
			for (int x = 0; x < w; x++) {
				s[0][o + x] = lut[row[3 * x]];
				s[1][o + x] = lut[row[3 * x + 1]];
				s[2][o + x] = lut[row[3 * x + 2]];
			}
		} else {
			for (int x = 0; x < w; x++)
				s[0][o + x] = lut[row[x]];
		}
	}
	if (nch == 1 && channels == 3) {
		for (int c = 0; c < 3; c++)
			memcpy(out->data + (size_t)c * plane, tmp, plane * sizeof(float));
	} else if (nch == 3 && channels == 1) {
		for (size_t i = 0; i < plane; i++)
			out->data[i] = 0.2126f * s[0][i] + 0.7152f * s[1][i] + 0.0722f * s[2][i];
	}
	free(tmp);
	reader_close(&r);
	if (fmt)
		*fmt = f;
	return 0;
}

int image_png_count_nonzero(const char *path, struct image_png_format *fmt, long *nonzero)
{
	struct image im;
	if (image_png_read(path, 1, &im, fmt) != 0)
		return -1;
	long n = 0;
	size_t plane = (size_t)im.w * (size_t)im.h;
	for (size_t i = 0; i < plane; i++)
		n += im.data[i] > 0.0f;
	*nonzero = n;
	image_release(&im);
	return 0;
}

/* ---- writing ---------------------------------------------------------- */

struct png_writer {
	const char *path;
	png_structp png;
	png_infop info;
	struct strbuf out; /* the encoded PNG */
	png_bytep *rows;
	char msg[200];
};

static void writer_on_error(png_structp png, png_const_charp msg)
{
	struct png_writer *wr = png_get_error_ptr(png);
	snprintf(wr->msg, sizeof wr->msg, "%s", msg);
	png_longjmp(png, 1);
}

static void writer_write(png_structp png, png_bytep data, size_t n)
{
	struct png_writer *wr = png_get_io_ptr(png);
	strbuf_add(&wr->out, data, n);
}

static void writer_flush(png_structp png)
{
	(void)png;
}

static void writer_close(struct png_writer *wr)
{
	if (wr->png)
		png_destroy_write_struct(&wr->png, wr->info ? &wr->info : NULL);
	strbuf_release(&wr->out);
	free(wr->rows);
	wr->png = NULL;
	wr->info = NULL;
	wr->rows = NULL;
}

/* Encode into wr->out; on failure the caller closes wr. */
static int writer_encode(struct png_writer *wr, const uint8_t *pixels, int w, int h, int c)
{
	if (setjmp(png_jmpbuf(wr->png)))
		return error("cannot encode '%s': %s", wr->path, wr->msg);
	png_set_write_fn(wr->png, wr, writer_write, writer_flush);
	png_set_compression_level(wr->png, IMAGE_PNG_LEVEL);
	png_set_IHDR(wr->png, wr->info, (png_uint_32)w, (png_uint_32)h, 8,
		     c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(wr->png, wr->info);
	wr->rows = xmalloc(sizeof(png_bytep) * (size_t)h);
	for (int y = 0; y < h; y++)
		wr->rows[y] = (png_bytep)(pixels + (size_t)y * (size_t)w * (size_t)c);
	png_write_image(wr->png, wr->rows);
	png_write_end(wr->png, NULL);
	return 0;
}

/* Write to a temporary file next to path, then rename it over path: readers
 * never see a partial file. No fsync: callers that need durability sync once
 * after a batch (see synth_generate). */
static int write_replace(const char *path, const void *data, size_t len)
{
	const void *parts[1] = { data };
	return fs_write_atomic_parts(path, parts, &len, 1, 0);
}

int image_png_write(const char *path, const uint8_t *pixels, int w, int h, int c)
{
	if (w <= 0 || h <= 0 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE || (c != 1 && c != 3))
		return error("cannot write '%s': invalid image %dx%dx%d", path, w, h, c);
	struct png_writer wr;
	memset(&wr, 0, sizeof wr);
	wr.path = path;
	wr.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &wr, writer_on_error, NULL);
	if (wr.png)
		wr.info = png_create_info_struct(wr.png);
	if (!wr.png || !wr.info) {
		writer_close(&wr);
		return error("cannot encode '%s': out of memory in libpng", path);
	}
	int rc = writer_encode(&wr, pixels, w, h, c);
	if (rc == 0)
		rc = write_replace(path, wr.out.buf, wr.out.len);
	writer_close(&wr);
	return rc;
}

/* ---- resampling --------------------------------------------------------- */

/* Area weights of one axis: output j averages input [first[j], first[j]+count[j]). */
struct axis_weights {
	int *first, *count;
	float *w; /* (out, maxcount) */
	int maxcount;
};

static void axis_weights_init(struct axis_weights *a, int in, int out)
{
	double scale = (double)in / out;
	a->maxcount = (int)ceil(scale) + 2;
	a->first = xmalloc(sizeof(int) * (size_t)out);
	a->count = xmalloc(sizeof(int) * (size_t)out);
	a->w = xcalloc((size_t)out * (size_t)a->maxcount, sizeof(float));
	for (int j = 0; j < out; j++) {
		/* exact in rationals: output j covers input [j*in/out, (j+1)*in/out) */
		double lo = (double)j * in / out, hi = (double)(j + 1) * in / out;
		int i0 = (int)floor(lo), i1 = (int)ceil(hi);
		if (i1 > in)
			i1 = in;
		a->first[j] = i0;
		a->count[j] = 0;
		for (int i = i0; i < i1; i++) {
			double a0 = i > lo ? i : lo, a1 = i + 1 < hi ? i + 1 : hi;
			if (a1 <= a0)
				continue;
			a->w[(size_t)j * a->maxcount + (i - i0)] = (float)((a1 - a0) / scale);
			a->count[j] = i - i0 + 1;
		}
	}
}

static void axis_weights_release(struct axis_weights *a)
{
	free(a->first);
	free(a->count);
	free(a->w);
}

int image_resize(const struct image *in, int out_w, int out_h, struct image *out)
{
	if (out_w <= 0 || out_h <= 0)
		return error("invalid resize target %dx%d", out_w, out_h);
	image_init(out, out_w, out_h, in->c);
	struct axis_weights ax, ay;
	axis_weights_init(&ax, in->w, out_w);
	axis_weights_init(&ay, in->h, out_h);
	/* horizontal pass: (c, in_h, out_w) */
	float *tmp = xmalloc(sizeof(float) * (size_t)in->c * (size_t)in->h * (size_t)out_w);
	for (int c = 0; c < in->c; c++)
		for (int y = 0; y < in->h; y++) {
			const float *src = in->data + ((size_t)c * in->h + y) * in->w;
			float *dst = tmp + ((size_t)c * in->h + y) * out_w;
			for (int j = 0; j < out_w; j++) {
				const float *wt = ax.w + (size_t)j * ax.maxcount;
				const float *s = src + ax.first[j];
				float acc = 0.0f;
				for (int k = 0; k < ax.count[j]; k++)
					acc += wt[k] * s[k];
				dst[j] = acc;
			}
		}
	/* vertical pass: rows of tmp weighted into rows of out */
	for (int c = 0; c < in->c; c++)
		for (int i = 0; i < out_h; i++) {
			float *dst = out->data + ((size_t)c * out_h + i) * out_w;
			const float *wt = ay.w + (size_t)i * ay.maxcount;
			for (int k = 0; k < ay.count[i]; k++) {
				const float *src = tmp + ((size_t)c * in->h + ay.first[i] + k) * out_w;
				float wk = wt[k];
				for (int x = 0; x < out_w; x++)
					dst[x] += wk * src[x];
			}
		}
	free(tmp);
	axis_weights_release(&ax);
	axis_weights_release(&ay);
	return 0;
}

uint8_t image_to_u8(float v)
{
	if (!(v > 0.0f))
		return 0;
	if (v >= 1.0f)
		return 255;
	return (uint8_t)(v * 255.0f + 0.5f);
}
