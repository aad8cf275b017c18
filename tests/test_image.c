/* test_image.c: PNG decoding of every colour type and depth, encoding, and
 * area resampling.
 *
 * The PNG files are written by a minimal encoder in this file (stored
 * deflate blocks, filter 0, its own CRC-32 and Adler-32), independent of
 * libpng, so decoded values are checked against the samples put in. */
#include "image.h"

#include "error.h"
#include "helpers.h"

#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- a minimal PNG encoder ---------------------------------------------- */

struct buf {
	unsigned char *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void put8(struct buf *b, unsigned v)
{
	unsigned char c = (unsigned char)v;
	put(b, &c, 1);
}

static void put32be(struct buf *b, uint32_t v)
{
	unsigned char c[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 8), (unsigned char)v };
	put(b, c, 4);
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return c ^ 0xffffffffu;
}

static void chunk(struct buf *png, const char *type, const unsigned char *data, size_t n)
{
	put32be(png, (uint32_t)n);
	struct buf c = { 0 };
	put(&c, type, 4);
	if (n)
		put(&c, data, n);
	put(png, c.p, c.n);
	put32be(png, crc32_of(c.p, c.n));
	free(c.p);
}

static int channels_of(int ctype)
{
	return ctype == 0 ? 1 : ctype == 2 ? 3 : ctype == 3 ? 1 : ctype == 4 ? 2 : 4;
}

/* Append the scanlines (filter 0) of the w x h sub-image whose pixel (x, y)
 * is sample block s[((y0 + y*dy) * W + x0 + x*dx) * nch ...]. */
static void scanlines(struct buf *raw, const uint16_t *s, int W, int x0, int y0, int dx, int dy,
		      int w, int h, int depth, int nch)
{
	for (int y = 0; y < h; y++) {
		put8(raw, 0);
		unsigned acc = 0;
		int bits = 0;
		for (int x = 0; x < w; x++)
			for (int c = 0; c < nch; c++) {
				unsigned v = s[((size_t)(y0 + y * dy) * W + x0 + x * dx) * nch + c];
				if (depth == 16) {
					put8(raw, v >> 8);
					put8(raw, v & 0xff);
				} else if (depth == 8) {
					put8(raw, v);
				} else {
					acc = (acc << depth) | v;
					bits += depth;
					if (bits == 8) {
						put8(raw, acc);
						acc = 0;
						bits = 0;
					}
				}
			}
		if (bits)
			put8(raw, acc << (8 - bits));
	}
}

/* Write a PNG: samples are (h, w, channels_of(ctype)) raw sample values. */
static void write_png(const char *path, int w, int h, int depth, int ctype, int interlace,
		      const uint16_t *s, const unsigned char *plte, int nplte,
		      const unsigned char *trns, int ntrns)
{
	int nch = channels_of(ctype);
	struct buf raw = { 0 }, png = { 0 }, z = { 0 };
	if (!interlace) {
		scanlines(&raw, s, w, 0, 0, 1, 1, w, h, depth, nch);
	} else {
		static const int pass[7][4] = { { 0, 0, 8, 8 }, { 4, 0, 8, 8 }, { 0, 4, 4, 8 },
						{ 2, 0, 4, 4 }, { 0, 2, 2, 4 }, { 1, 0, 2, 2 },
						{ 0, 1, 1, 2 } };
		for (int p = 0; p < 7; p++) {
			int pw = (w - pass[p][0] + pass[p][2] - 1) / pass[p][2];
			int ph = (h - pass[p][1] + pass[p][3] - 1) / pass[p][3];
			if (pw > 0 && ph > 0)
				scanlines(&raw, s, w, pass[p][0], pass[p][1], pass[p][2], pass[p][3],
					  pw, ph, depth, nch);
		}
	}
	/* zlib stream of stored blocks */
	put8(&z, 0x78);
	put8(&z, 0x01);
	size_t off = 0;
	do {
		size_t n = raw.n - off > 65535 ? 65535 : raw.n - off;
		put8(&z, off + n == raw.n ? 1 : 0);
		put8(&z, n & 0xff);
		put8(&z, n >> 8);
		put8(&z, ~n & 0xff);
		put8(&z, (~n >> 8) & 0xff);
		put(&z, raw.p + off, n);
		off += n;
	} while (off < raw.n);
	uint32_t a = 1, b = 0;
	for (size_t i = 0; i < raw.n; i++) {
		a = (a + raw.p[i]) % 65521;
		b = (b + a) % 65521;
	}
	put32be(&z, (b << 16) | a);
	static const unsigned char sig[8] = { 137, 80, 78, 71, 13, 10, 26, 10 };
	put(&png, sig, 8);
	struct buf ihdr = { 0 };
	put32be(&ihdr, (uint32_t)w);
	put32be(&ihdr, (uint32_t)h);
	put8(&ihdr, (unsigned)depth);
	put8(&ihdr, (unsigned)ctype);
	put8(&ihdr, 0);
	put8(&ihdr, 0);
	put8(&ihdr, (unsigned)interlace);
	chunk(&png, "IHDR", ihdr.p, ihdr.n);
	if (plte)
		chunk(&png, "PLTE", plte, (size_t)nplte * 3);
	if (trns)
		chunk(&png, "tRNS", trns, (size_t)ntrns);
	chunk(&png, "IDAT", z.p, z.n);
	chunk(&png, "IEND", NULL, 0);
	test_write_file(path, png.p, png.n);
	free(ihdr.p);
	free(raw.p);
	free(z.p);
	free(png.p);
}

/* ---- helpers -------------------------------------------------------------- */

struct fixture {
	char *dir;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	f->dir = test_tmpdir();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	test_rm_rf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static char *path_in(void **state, const char *name)
{
	return xasprintf("%s/%s", ((struct fixture *)*state)->dir, name);
}

static float px(const struct image *im, int c, int x, int y)
{
	return im->data[((size_t)c * im->h + y) * im->w + x];
}

/* ---- decoding ------------------------------------------------------------- */

static void png_should_decode_8bit_gray_replicated_to_rgb(void **state)
{
	char *p = path_in(state, "g8.png");
	const uint16_t s[6] = { 0, 51, 102, 153, 204, 255 };
	write_png(p, 3, 2, 8, 0, 0, s, NULL, 0, NULL, 0);
	struct image im;
	struct image_png_format f;
	assert_int_equal(image_png_read(p, 3, &im, &f), 0);
	assert_int_equal(im.w, 3);
	assert_int_equal(im.h, 2);
	assert_int_equal(im.c, 3);
	assert_int_equal(f.color_type, IMAGE_GRAY);
	assert_int_equal(f.bit_depth, 8);
	for (int y = 0; y < 2; y++)
		for (int x = 0; x < 3; x++)
			for (int c = 0; c < 3; c++)
				assert_float_equal(px(&im, c, x, y), s[y * 3 + x] / 255.0, 1e-7);
	image_release(&im);
	assert_int_equal(image_png_read(p, 1, &im, NULL), 0);
	assert_int_equal(im.c, 1);
	assert_float_equal(px(&im, 0, 1, 1), 204 / 255.0, 1e-7);
	image_release(&im);
	free(p);
}

static void png_should_keep_16bit_precision(void **state)
{
	char *p = path_in(state, "g16.png");
	const uint16_t s[4] = { 0, 1, 32768, 65535 };
	write_png(p, 2, 2, 16, 0, 0, s, NULL, 0, NULL, 0);
	struct image im;
	struct image_png_format f;
	assert_int_equal(image_png_read(p, 1, &im, &f), 0);
	assert_int_equal(f.bit_depth, 16);
	for (int i = 0; i < 4; i++)
		assert_float_equal(im.data[i], s[i] / 65535.0, 1e-7);
	/* 1/65535 is not representable at 8 bits: precision was kept */
	assert_true(im.data[1] > 0.0f);
	image_release(&im);
	free(p);
}

static void png_should_scale_low_bit_depth_gray_to_full_range(void **state)
{
	char *p1 = path_in(state, "g1.png"), *p4 = path_in(state, "g4.png");
	const uint16_t s1[10] = { 0, 1, 1, 0, 1, 0, 0, 0, 1, 1 };
	write_png(p1, 10, 1, 1, 0, 0, s1, NULL, 0, NULL, 0);
	const uint16_t s4[3] = { 0, 5, 15 };
	write_png(p4, 3, 1, 4, 0, 0, s4, NULL, 0, NULL, 0);
	struct image im;
	assert_int_equal(image_png_read(p1, 1, &im, NULL), 0);
	for (int i = 0; i < 10; i++)
		assert_float_equal(im.data[i], (double)s1[i], 1e-7);
	image_release(&im);
	assert_int_equal(image_png_read(p4, 1, &im, NULL), 0);
	assert_float_equal(im.data[1], 5.0 / 15.0, 1e-6);
	assert_float_equal(im.data[2], 1.0, 1e-7);
	image_release(&im);
	free(p1);
	free(p4);
}

static void png_should_drop_alpha_of_gray_alpha(void **state)
{
	char *p = path_in(state, "ga.png");
	/* (gray, alpha): a transparent pixel keeps its stored gray */
	const uint16_t s[4] = { 100, 0, 200, 255 };
	write_png(p, 2, 1, 8, 4, 0, s, NULL, 0, NULL, 0);
	struct image im;
	struct image_png_format f;
	assert_int_equal(image_png_read(p, 3, &im, &f), 0);
	assert_int_equal(f.color_type, IMAGE_GRAY_ALPHA);
	assert_int_equal(im.c, 3);
	assert_float_equal(px(&im, 0, 0, 0), 100 / 255.0, 1e-7);
	assert_float_equal(px(&im, 2, 0, 0), 100 / 255.0, 1e-7);
	assert_float_equal(px(&im, 1, 1, 0), 200 / 255.0, 1e-7);
	image_release(&im);
	free(p);
}

static void png_should_expand_palette_and_ignore_trns(void **state)
{
	char *p = path_in(state, "pal.png");
	const unsigned char plte[9] = { 255, 0, 0, 10, 20, 30, 0, 128, 255 };
	const unsigned char trns[1] = { 0 }; /* entry 0 fully transparent */
	const uint16_t s[4] = { 2, 0, 1, 2 };
	write_png(p, 2, 2, 4, 3, 0, s, plte, 3, trns, 1);
	struct image im;
	struct image_png_format f;
	assert_int_equal(image_png_read(p, 3, &im, &f), 0);
	assert_int_equal(f.color_type, IMAGE_PALETTE);
	assert_int_equal(f.has_trns, 1);
	for (int i = 0; i < 4; i++)
		for (int c = 0; c < 3; c++)
			assert_float_equal(px(&im, c, i % 2, i / 2), plte[s[i] * 3 + c] / 255.0, 1e-7);
	image_release(&im);
	free(p);
}

static void png_should_decode_rgb_and_compute_luma(void **state)
{
	char *p8 = path_in(state, "rgb8.png"), *p16 = path_in(state, "rgba16.png");
	const uint16_t s8[6] = { 255, 0, 0, 10, 200, 30 };
	write_png(p8, 2, 1, 8, 2, 0, s8, NULL, 0, NULL, 0);
	const uint16_t s16[8] = { 65535, 32768, 0, 1000, 1, 2, 3, 65535 };
	write_png(p16, 2, 1, 16, 6, 0, s16, NULL, 0, NULL, 0);
	struct image im;
	assert_int_equal(image_png_read(p8, 3, &im, NULL), 0);
	for (int x = 0; x < 2; x++)
		for (int c = 0; c < 3; c++)
			assert_float_equal(px(&im, c, x, 0), s8[x * 3 + c] / 255.0, 1e-7);
	image_release(&im);
	assert_int_equal(image_png_read(p8, 1, &im, NULL), 0);
	assert_float_equal(im.data[0], 0.2126, 1e-6);
	assert_float_equal(im.data[1], (0.2126 * 10 + 0.7152 * 200 + 0.0722 * 30) / 255.0, 1e-6);
	image_release(&im);
	struct image_png_format f;
	assert_int_equal(image_png_read(p16, 3, &im, &f), 0);
	assert_int_equal(f.color_type, IMAGE_RGBA);
	assert_int_equal(im.c, 3);
	assert_float_equal(px(&im, 0, 0, 0), 1.0, 1e-7);
	assert_float_equal(px(&im, 1, 0, 0), 32768 / 65535.0, 1e-7);
	assert_float_equal(px(&im, 0, 1, 0), 1 / 65535.0, 1e-9);
	assert_float_equal(px(&im, 2, 1, 0), 3 / 65535.0, 1e-9);
	image_release(&im);
	free(p8);
	free(p16);
}

static void png_should_decode_interlaced_like_progressive(void **state)
{
	enum { W = 11, H = 9 };
	uint16_t s[W * H * 3];
	for (int i = 0; i < W * H * 3; i++)
		s[i] = (uint16_t)((i * 37 + 11) % 256);
	char *pi = path_in(state, "adam7.png"), *pp = path_in(state, "plain.png");
	write_png(pi, W, H, 8, 2, 1, s, NULL, 0, NULL, 0);
	write_png(pp, W, H, 8, 2, 0, s, NULL, 0, NULL, 0);
	struct image a, b;
	struct image_png_format f;
	assert_int_equal(image_png_read(pi, 3, &a, &f), 0);
	assert_int_equal(f.interlaced, 1);
	assert_int_equal(image_png_read(pp, 3, &b, NULL), 0);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			for (int c = 0; c < 3; c++)
				assert_float_equal(px(&a, c, x, y), s[(y * W + x) * 3 + c] / 255.0, 1e-7);
	assert_memory_equal(a.data, b.data, sizeof(float) * W * H * 3);
	image_release(&a);
	image_release(&b);
	/* 16-bit gray interlaced too */
	uint16_t g[W * H];
	for (int i = 0; i < W * H; i++)
		g[i] = (uint16_t)(i * 601);
	write_png(pi, W, H, 16, 0, 1, g, NULL, 0, NULL, 0);
	assert_int_equal(image_png_read(pi, 1, &a, NULL), 0);
	for (int i = 0; i < W * H; i++)
		assert_float_equal(a.data[i], g[i] / 65535.0, 1e-7);
	image_release(&a);
	free(pi);
	free(pp);
}

/* ---- bad input ------------------------------------------------------------ */

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void expect_failure(const char *path, const char *needle)
{
	struct image im = { 1, 1, 1, NULL };
	test_stderr_begin();
	int rc = image_png_read(path, 3, &im, NULL);
	char *msg = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_null(im.data);
	assert_int_equal(im.w, 0);
	assert_non_null(strstr(msg, path));
	assert_non_null(strstr(msg, needle));
	assert_int_equal(count_lines(msg), 1);
	free(msg);
}

static void png_should_reject_truncated_file_naming_it(void **state)
{
	char *p = path_in(state, "trunc.png");
	enum { W = 40, H = 40 };
	uint16_t s[W * H * 3];
	for (int i = 0; i < W * H * 3; i++)
		s[i] = (uint16_t)(i % 251);
	write_png(p, W, H, 8, 2, 0, s, NULL, 0, NULL, 0);
	char *data;
	size_t len;
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	data = xmalloc(1 << 16);
	len = fread(data, 1, 1 << 16, f);
	fclose(f);
	test_write_file(p, data, len / 2);
	expect_failure(p, "truncated file");
	test_write_file(p, data, 20); /* inside IHDR */
	expect_failure(p, "truncated file");
	free(data);
	free(p);
}

static void png_should_reject_non_png_naming_it(void **state)
{
	char *p = path_in(state, "text.png");
	test_write_file(p, "hello, world\n", 13);
	expect_failure(p, "not a PNG file");
	test_write_file(p, "", 0);
	expect_failure(p, "not a PNG file");
	char *missing = path_in(state, "missing.png");
	expect_failure(missing, "cannot open");
	free(missing);
	free(p);
}

static void png_should_reject_absurd_dimensions_before_allocating(void **state)
{
	/* a 100000 x 100000 RGB header followed by a tiny IDAT: decoding it would
	 * need 30 GB; libpng's user limits stop it at the header */
	char *p = path_in(state, "huge.png");
	struct buf png = { 0 };
	static const unsigned char sig[8] = { 137, 80, 78, 71, 13, 10, 26, 10 };
	put(&png, sig, 8);
	struct buf ihdr = { 0 };
	put32be(&ihdr, 100000);
	put32be(&ihdr, 100000);
	const unsigned char rest[5] = { 8, 2, 0, 0, 0 };
	put(&ihdr, rest, 5);
	chunk(&png, "IHDR", ihdr.p, ihdr.n);
	const unsigned char idat[8] = { 0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0 };
	chunk(&png, "IDAT", idat, 7);
	chunk(&png, "IEND", NULL, 0);
	test_write_file(p, png.p, png.n);
	expect_failure(p, "exceeds user limit");
	struct image_png_format f;
	test_stderr_begin();
	assert_int_equal(image_png_info(p, &f), -1);
	free(test_stderr_end());
	free(ihdr.p);
	free(png.p);
	free(p);
}

/* A PNG whose tEXt chunk declares 2 GiB - 1 bytes and holds 1000 is
 * refused, and decoding it (in a child) peaks far below the declared size:
 * the text is skipped, never allocated. */
static void png_should_not_allocate_a_declared_text_chunk(void **state)
{
	char *p = path_in(state, "text.png");
	struct buf png = { 0 };
	static const unsigned char sig[8] = { 137, 80, 78, 71, 13, 10, 26, 10 };
	put(&png, sig, 8);
	const unsigned char ihdr[13] = { 0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0 };
	chunk(&png, "IHDR", ihdr, sizeof ihdr);
	put32be(&png, 0x7fffffffu);
	put(&png, "tEXt", 4);
	for (int i = 0; i < 1000; i++)
		put8(&png, 'x');
	test_write_file(p, png.p, png.n);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct image im;
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 2);
		_exit(image_png_read(p, 1, &im, NULL) == -1 ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	struct rusage ru;
	assert_int_equal(getrusage(RUSAGE_CHILDREN, &ru), 0);
	assert_true(ru.ru_maxrss < 256 * 1024); /* KiB; the old reader took 2 GiB */
	free(png.p);
	free(p);
}

/* ---- encoding ------------------------------------------------------------- */

static void png_write_should_round_trip_exactly(void **state)
{
	char *p = path_in(state, "out.png"), *g = path_in(state, "mask.png");
	enum { W = 5, H = 3 };
	uint8_t rgb[W * H * 3], gray[W * H];
	for (int i = 0; i < W * H * 3; i++)
		rgb[i] = (uint8_t)(i * 17);
	for (int i = 0; i < W * H; i++)
		gray[i] = i % 3 ? 0 : 255;
	assert_int_equal(image_png_write(p, rgb, W, H, 3), 0);
	assert_int_equal(image_png_write(g, gray, W, H, 1), 0);
	struct image im;
	struct image_png_format f;
	assert_int_equal(image_png_read(p, 3, &im, &f), 0);
	char name[64];
	assert_string_equal(image_png_format_name(&f, name, sizeof name), "RGB 8-bit");
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			for (int c = 0; c < 3; c++)
				assert_int_equal(image_to_u8(px(&im, c, x, y)), rgb[(y * W + x) * 3 + c]);
	image_release(&im);
	long nz = 0;
	assert_int_equal(image_png_count_nonzero(g, &f, &nz), 0);
	assert_int_equal(nz, 5); /* i = 0, 3, 6, 9, 12 */
	assert_int_equal(f.color_type, IMAGE_GRAY);
	/* no temporary file left behind */
	assert_int_equal(count_entries(((struct fixture *)*state)->dir), 2);
	/* an invalid image is refused and nothing is written */
	char *bad = path_in(state, "bad.png");
	test_stderr_begin();
	assert_int_equal(image_png_write(bad, gray, W, H, 2), -1);
	free(test_stderr_end());
	assert_int_equal(count_entries(((struct fixture *)*state)->dir), 2);
	free(bad);
	free(p);
	free(g);
}

static void to_u8_should_round_half_up_and_clamp(void **state)
{
	(void)state;
	assert_int_equal(image_to_u8(0.0f), 0);
	assert_int_equal(image_to_u8(1.0f), 255);
	assert_int_equal(image_to_u8(-0.5f), 0);
	assert_int_equal(image_to_u8(2.0f), 255);
	assert_int_equal(image_to_u8(NAN), 0);
	assert_int_equal(image_to_u8(0.5f), 128);   /* 127.5 rounds up */
	assert_int_equal(image_to_u8(100.4f / 255.0f), 100);
}

/* ---- resampling ------------------------------------------------------------ */

static void resize_should_average_blocks_when_halving(void **state)
{
	(void)state;
	struct image in, out;
	image_init(&in, 4, 4, 1);
	for (int i = 0; i < 16; i++)
		in.data[i] = (float)i;
	assert_int_equal(image_resize(&in, 2, 2, &out), 0);
	/* by hand: (0+1+4+5)/4, (2+3+6+7)/4, (8+9+12+13)/4, (10+11+14+15)/4 */
	assert_float_equal(out.data[0], 2.5, 1e-6);
	assert_float_equal(out.data[1], 4.5, 1e-6);
	assert_float_equal(out.data[2], 10.5, 1e-6);
	assert_float_equal(out.data[3], 12.5, 1e-6);
	image_release(&in);
	image_release(&out);
}

static void resize_should_weight_partly_covered_pixels(void **state)
{
	(void)state;
	struct image in, out;
	image_init(&in, 3, 1, 2);
	const float v[6] = { 3, 6, 9, 1, 0, 1 };
	memcpy(in.data, v, sizeof v);
	assert_int_equal(image_resize(&in, 2, 1, &out), 0);
	/* output 0 covers input [0, 1.5): (1 * 3 + 0.5 * 6) / 1.5 = 4 */
	assert_float_equal(out.data[0], 4.0, 1e-6);
	assert_float_equal(out.data[1], 8.0, 1e-6);  /* (0.5*6 + 1*9)/1.5 */
	assert_float_equal(out.data[2], 2.0 / 3, 1e-6); /* channel 2: (1 + 0)/1.5 */
	assert_float_equal(out.data[3], 2.0 / 3, 1e-6);
	image_release(&out);
	/* enlarging 3 -> 4: output 1 covers [0.75, 1.5) = 0.25 of px0 + 0.5 of px1 */
	assert_int_equal(image_resize(&in, 4, 1, &out), 0);
	assert_float_equal(out.data[0], 3.0, 1e-6);
	assert_float_equal(out.data[1], (0.25 * 3 + 0.5 * 6) / 0.75, 1e-6);
	assert_float_equal(out.data[2], (0.5 * 6 + 0.25 * 9) / 0.75, 1e-6);
	assert_float_equal(out.data[3], 9.0, 1e-6);
	image_release(&out);
	image_release(&in);
}

static void resize_should_stretch_non_square_per_axis(void **state)
{
	(void)state;
	struct image in, out;
	image_init(&in, 4, 2, 1);
	const float v[8] = { 0, 2, 4, 6, 10, 10, 20, 20 };
	memcpy(in.data, v, sizeof v);
	assert_int_equal(image_resize(&in, 2, 2, &out), 0);
	assert_float_equal(out.data[0], 1.0, 1e-6);
	assert_float_equal(out.data[1], 5.0, 1e-6);
	assert_float_equal(out.data[2], 10.0, 1e-6);
	assert_float_equal(out.data[3], 20.0, 1e-6);
	image_release(&out);
	image_release(&in);
}

static void resize_should_not_alias_a_fine_checkerboard(void **state)
{
	(void)state;
	/* 1024 -> 64: nearest-neighbour would pick all-black or all-white */
	struct image in, out;
	image_init(&in, 1024, 1024, 1);
	for (int y = 0; y < 1024; y++)
		for (int x = 0; x < 1024; x++)
			in.data[y * 1024 + x] = (float)((x + y) & 1);
	assert_int_equal(image_resize(&in, 64, 64, &out), 0);
	for (int i = 0; i < 64 * 64; i++)
		assert_float_equal(out.data[i], 0.5, 1e-5);
	image_release(&out);
	test_stderr_begin();
	assert_int_equal(image_resize(&in, 0, 64, &out), -1);
	free(test_stderr_end());
	image_release(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(png_should_decode_8bit_gray_replicated_to_rgb, setup, teardown),
		cmocka_unit_test_setup_teardown(png_should_not_allocate_a_declared_text_chunk, setup, teardown),
		cmocka_unit_test_setup_teardown(png_should_keep_16bit_precision, setup, teardown),
		cmocka_unit_test_setup_teardown(png_should_scale_low_bit_depth_gray_to_full_range, setup, teardown),
		cmocka_unit_test_setup_teardown(png_should_drop_alpha_of_gray_alpha, setup, teardown),
		cmocka_unit_test_setup_teardown(png_should_expand_palette_and_ignore_trns, setup, teardown),
		cmocka_unit_test_setup_teardown(png_should_decode_rgb_and_compute_luma, setup, teardown),
		cmocka_unit_test_setup_teardown(png_should_decode_interlaced_like_progressive, setup, teardown),
		cmocka_unit_test_setup_teardown(png_should_reject_truncated_file_naming_it, setup, teardown),
		cmocka_unit_test_setup_teardown(png_should_reject_non_png_naming_it, setup, teardown),
		cmocka_unit_test_setup_teardown(png_should_reject_absurd_dimensions_before_allocating, setup, teardown),
		cmocka_unit_test_setup_teardown(png_write_should_round_trip_exactly, setup, teardown),
		cmocka_unit_test(to_u8_should_round_half_up_and_clamp),
		cmocka_unit_test(resize_should_average_blocks_when_halving),
		cmocka_unit_test(resize_should_weight_partly_covered_pixels),
		cmocka_unit_test(resize_should_stretch_non_square_per_axis),
		cmocka_unit_test(resize_should_not_alias_a_fine_checkerboard),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
