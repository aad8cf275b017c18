/* mapfig.c: the figure of anomaly-map examples (see mapfig.h). */
#include "mapfig.h"

#include "error.h"
#include "fsutil.h"
#include "image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- choosing the cells ---- */

int mapfig_pick(const struct mapfig_item *items, int n, int n_defects, int *best, int *worst)
{
	for (int d = 0; d < n_defects; d++)
		best[d] = worst[d] = -1;
	for (int i = 0; i < n; i++) {
		const struct mapfig_item *it = &items[i];
		double m = it->score - it->threshold;
		if (!it->anomalous || it->defect < 0 || it->defect >= n_defects || isnan(m))
			continue;
		int d = it->defect;
		/* strict comparisons: on equal margins the earlier index stays */
		if (best[d] < 0 || m > items[best[d]].score - items[best[d]].threshold)
			best[d] = i;
		if (worst[d] < 0 || m < items[worst[d]].score - items[worst[d]].threshold)
			worst[d] = i;
	}
	int filled = 0;
	for (int d = 0; d < n_defects; d++)
		filled += best[d] >= 0;
	return filled;
}

/* ---- colours and outlines ---- */

static double clamp01(double v)
{
	return v > 0 ? (v < 1 ? v : 1) : 0; /* NaN -> 0 */
}

void mapfig_colour(double v, uint8_t rgb[3])
{
	for (int ch = 0; ch < 3; ch++)
		rgb[ch] = image_to_u8((float)clamp01(3 * v - ch));
}

void mapfig_outline(const unsigned char *mask, int h, int w, unsigned char *edge)
{
	for (int i = 0; i < h; i++)
		for (int j = 0; j < w; j++) {
			size_t p = (size_t)i * w + j;
			edge[p] = mask[p] && (i == 0 || i == h - 1 || j == 0 || j == w - 1 ||
					      !mask[p - w] || !mask[p + w] || !mask[p - 1] ||
					      !mask[p + 1]);
		}
}

/* ---- drawing ---- */

/* 5x7 glyphs, one byte per row, bit 4 the leftmost pixel; letters are
 * drawn as capitals, a character not listed as '?'. */
static const char font_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789_.-+?";
static const uint8_t font[][7] = {
	{ 0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11 }, /* a */
	{ 0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e }, /* b */
	{ 0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e }, /* c */
	{ 0x1e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1e }, /* d */
	{ 0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f }, /* e */
	{ 0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10 }, /* f */
	{ 0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f }, /* g */
	{ 0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11 }, /* h */
	{ 0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e }, /* i */
	{ 0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c }, /* j */
	{ 0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11 }, /* k */
	{ 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f }, /* l */
	{ 0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11 }, /* m */
	{ 0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11 }, /* n */
	{ 0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e }, /* o */
	{ 0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10 }, /* p */
	{ 0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d }, /* q */
	{ 0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11 }, /* r */
	{ 0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e }, /* s */
	{ 0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04 }, /* t */
	{ 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e }, /* u */
	{ 0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04 }, /* v */
	{ 0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a }, /* w */
	{ 0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11 }, /* x */
	{ 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04, 0x04 }, /* y */
	{ 0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f }, /* z */
	{ 0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e }, /* 0 */
	{ 0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e }, /* 1 */
	{ 0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f }, /* 2 */
	{ 0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e }, /* 3 */
	{ 0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02 }, /* 4 */
	{ 0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e }, /* 5 */
	{ 0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e }, /* 6 */
	{ 0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08 }, /* 7 */
	{ 0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e }, /* 8 */
	{ 0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c }, /* 9 */
	{ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f }, /* _ */
	{ 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c }, /* . */
	{ 0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00 }, /* - */
	{ 0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00 }, /* + */
	{ 0x0e, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04 }, /* ? */
};

enum {
	FONT_SCALE = 2,               /* each glyph pixel is 2x2 */
	GLYPH_W = 6 * FONT_SCALE,     /* advance, with one column of space */
	LINE_H = 8 * FONT_SCALE,      /* a line of text */
	LABEL_MAX = 32,               /* characters drawn of a row label */
	MARGIN = 8,                   /* around the figure */
	PANEL_GAP = 2,                /* between the panels of a cell */
	CELL_GAP = 12,                /* between cells and rows */
	BAR_H = 12,                   /* the colour bar */
	SCALE_MAX = 16,
	ROWS_MAX = 256,
};

static const uint8_t BACKGROUND[3] = { 255, 255, 255 }, INK[3] = { 0, 0, 0 },
		     EMPTY[3] = { 224, 224, 224 }, TRUTH[3] = { 0, 255, 0 },
		     PREDICTED[3] = { 255, 0, 255 };

struct canvas {
	int w, h;
	uint8_t *px; /* (h, w, 3) */
};

static void put(struct canvas *cv, int x, int y, const uint8_t rgb[3])
{
	if (x < 0 || y < 0 || x >= cv->w || y >= cv->h)
		return;
	memcpy(cv->px + ((size_t)y * cv->w + x) * 3, rgb, 3);
}

static void fill(struct canvas *cv, int x0, int y0, int w, int h, const uint8_t rgb[3])
{
	for (int y = y0; y < y0 + h; y++)
		for (int x = x0; x < x0 + w; x++)
			put(cv, x, y, rgb);
}

/* Draw at most max characters of s with its top left corner at (x0, y0). */
static void text(struct canvas *cv, int x0, int y0, const char *s, int max)
{
	for (int n = 0; s[n] && n < max; n++) {
		int ch = s[n] >= 'A' && s[n] <= 'Z' ? s[n] - 'A' + 'a' : s[n];
		if (ch == ' ')
			continue;
		const char *at = strchr(font_chars, ch);
		if (!at)
			at = strchr(font_chars, '?');
		const uint8_t *g = font[at - font_chars];
		for (int r = 0; r < 7; r++)
			for (int c = 0; c < 5; c++)
				if (g[r] >> (4 - c) & 1)
					fill(cv, x0 + n * GLYPH_W + c * FONT_SCALE,
					     y0 + r * FONT_SCALE, FONT_SCALE, FONT_SCALE, INK);
	}
}

/* Where things go, in output pixels. */
struct layout {
	int s;          /* upscaling factor */
	int pw, ph;     /* one panel */
	int cell_w;     /* three panels and their gaps */
	int row_h;      /* a row of cells, gap included */
	int x0;         /* left edge of the first column, after the labels */
	int y0;         /* top of the first row, after the column titles */
	int bar_w;      /* the colour bar */
};

static struct layout plan(const struct mapfig *f, struct canvas *cv)
{
	struct layout L = { .s = f->scale };
	L.pw = f->w * f->scale;
	L.ph = f->h * f->scale;
	L.cell_w = 3 * L.pw + 2 * PANEL_GAP;
	L.row_h = (L.ph > LINE_H ? L.ph : LINE_H) + CELL_GAP;
	size_t longest = 0;
	for (int r = 0; r < f->rows; r++) {
		size_t len = strlen(f->row_names[r]);
		longest = len > longest ? len : longest;
	}
	if (longest > LABEL_MAX)
		longest = LABEL_MAX;
	L.x0 = MARGIN + (int)longest * GLYPH_W + (longest ? MARGIN : 0);
	L.y0 = MARGIN + LINE_H + PANEL_GAP;
	L.bar_w = L.cell_w > 12 * GLYPH_W ? L.cell_w : 12 * GLYPH_W;
	int grid_w = 2 * L.cell_w + CELL_GAP;
	cv->w = L.x0 + (grid_w > L.bar_w ? grid_w : L.bar_w) + MARGIN;
	cv->h = L.y0 + f->rows * L.row_h + BAR_H + PANEL_GAP + LINE_H + MARGIN;
	return L;
}

/* The image (C, H, W) upscaled, its top left at (x0, y0). */
static void draw_image(struct canvas *cv, const struct mapfig *f, const struct layout *L,
		       const float *im, int x0, int y0)
{
	size_t plane = (size_t)f->h * f->w;
	for (int y = 0; y < L->ph; y++)
		for (int x = 0; x < L->pw; x++) {
			size_t p = (size_t)(y / L->s) * f->w + x / L->s;
			uint8_t rgb[3];
			for (int ch = 0; ch < 3; ch++)
				rgb[ch] = image_to_u8(im[(f->c == 3 ? (size_t)ch : 0) * plane + p]);
			put(cv, x0 + x, y0 + y, rgb);
		}
}

static void draw_heat(struct canvas *cv, const struct mapfig *f, const struct layout *L,
		      const double *map, double top, int x0, int y0)
{
	for (int y = 0; y < L->ph; y++)
		for (int x = 0; x < L->pw; x++) {
			uint8_t rgb[3];
			mapfig_colour(map[(size_t)(y / L->s) * f->w + x / L->s] / top, rgb);
			put(cv, x0 + x, y0 + y, rgb);
		}
}

/* The outline of region (H, W) traced at the upscaled size, in rgb. */
static void draw_outline(struct canvas *cv, const struct mapfig *f, const struct layout *L,
			 const unsigned char *region, const uint8_t rgb[3], int x0, int y0)
{
	size_t big = (size_t)L->ph * L->pw;
	unsigned char *up = xmalloc(big), *edge = xmalloc(big); /* (PH, PW) */
	for (int y = 0; y < L->ph; y++)
		for (int x = 0; x < L->pw; x++)
			up[(size_t)y * L->pw + x] = region[(size_t)(y / L->s) * f->w + x / L->s];
	mapfig_outline(up, L->ph, L->pw, edge);
	for (size_t p = 0; p < big; p++)
		if (edge[p])
			put(cv, x0 + (int)(p % (size_t)L->pw), y0 + (int)(p / (size_t)L->pw), rgb);
	free(edge);
	free(up);
}

static void draw_cell(struct canvas *cv, const struct mapfig *f, const struct layout *L,
		      const struct mapfig_cell *cell, double top, int x0, int y0)
{
	if (!cell->name) {
		fill(cv, x0, y0, L->cell_w, L->ph, EMPTY);
		return;
	}
	int step = L->pw + PANEL_GAP;
	draw_image(cv, f, L, cell->image, x0, y0);
	draw_heat(cv, f, L, cell->map, top, x0 + step, y0);
	draw_image(cv, f, L, cell->image, x0 + 2 * step, y0);
	size_t plane = (size_t)f->h * f->w;
	unsigned char *hot = xmalloc(plane); /* (H, W) map >= threshold */
	for (size_t p = 0; p < plane; p++)
		hot[p] = cell->map[p] >= cell->threshold;
	if (cell->mask)
		draw_outline(cv, f, L, cell->mask, TRUTH, x0 + 2 * step, y0);
	draw_outline(cv, f, L, hot, PREDICTED, x0 + 2 * step, y0);
	free(hot);
}

/* The largest map value of the figure's cells; 1 when none is positive. */
static double figure_top(const struct mapfig *f)
{
	double top = 0;
	size_t plane = (size_t)f->h * f->w;
	for (int i = 0; i < 2 * f->rows; i++)
		for (size_t p = 0; f->cells[i].name && p < plane; p++)
			if (f->cells[i].map[p] > top)
				top = f->cells[i].map[p];
	return top > 0 ? top : 1;
}

static void draw_figure(struct canvas *cv, const struct mapfig *f, const struct layout *L,
			double top)
{
	fill(cv, 0, 0, cv->w, cv->h, BACKGROUND);
	static const char *const titles[2] = { "best", "worst" };
	for (int col = 0; col < 2; col++)
		text(cv, L->x0 + col * (L->cell_w + CELL_GAP), MARGIN, titles[col], LABEL_MAX);
	for (int r = 0; r < f->rows; r++) {
		int y = L->y0 + r * L->row_h;
		text(cv, MARGIN, y + (L->row_h - CELL_GAP - LINE_H) / 2, f->row_names[r], LABEL_MAX);
		for (int col = 0; col < 2; col++)
			draw_cell(cv, f, L, &f->cells[2 * r + col], top,
				  L->x0 + col * (L->cell_w + CELL_GAP), y);
	}
	int yb = L->y0 + f->rows * L->row_h;
	for (int x = 0; x < L->bar_w; x++) {
		uint8_t rgb[3];
		mapfig_colour(L->bar_w > 1 ? (double)x / (L->bar_w - 1) : 1, rgb);
		fill(cv, L->x0 + x, yb, 1, BAR_H, rgb);
	}
	char label[32];
	snprintf(label, sizeof label, "%.3g", top);
	text(cv, L->x0, yb + BAR_H + PANEL_GAP, "0", 1);
	text(cv, L->x0 + L->bar_w - (int)strlen(label) * GLYPH_W, yb + BAR_H + PANEL_GAP, label,
	     LABEL_MAX);
}

/* ---- the caption and the files ---- */

static void caption_cell(FILE *out, const char *column, const struct mapfig_cell *cell)
{
	if (!cell->name) {
		fprintf(out, "  %s: none\n", column);
		return;
	}
	fprintf(out, "  %s: %s score %.17g threshold %.17g margin %.17g\n", column, cell->name,
		cell->score, cell->threshold, cell->score - cell->threshold);
}

static void out_of_memory(void)
{
	error("out of memory writing a figure caption (%s:%d)", __FILE__, __LINE__);
	exit(1);
}

/* The caption as a new string (caller frees); *len gets its length. */
static char *caption(const struct mapfig *f, double top, size_t *len)
{
	char *buf = NULL;
	FILE *out = open_memstream(&buf, len);
	if (!out)
		out_of_memory();
	fprintf(out,
		"anomaly-map examples: one row per defect type, two columns:\n"
		"  best: the anomalous image scored furthest above its threshold;\n"
		"  worst: the one scored furthest below it (or least above).\n"
		"each cell, left to right: the image; its anomaly map; the image with\n"
		"outlines: green = ground-truth mask, magenta = map >= threshold.\n"
		"heat map: black 0, red, yellow, white %.17g (the largest map value\n"
		"of the figure; the same scale in every cell); the bar under the grid.\n"
		"panels upscaled %dx (nearest neighbour) from %dx%d.\n",
		top, f->scale, f->w, f->h);
	for (int r = 0; r < f->rows; r++) {
		fprintf(out, "row %d: %s\n", r + 1, f->row_names[r]);
		caption_cell(out, "best", &f->cells[2 * r]);
		caption_cell(out, "worst", &f->cells[2 * r + 1]);
	}
	if (fclose(out) != 0)
		out_of_memory();
	return buf;
}

static int check_figure(const struct mapfig *f, const char *png_path)
{
	if (f->c != 1 && f->c != 3)
		return error("'%s': figure images have %d channels (1 or 3 are drawn)", png_path,
			     f->c);
	if (f->h < 1 || f->w < 1 || f->h > IMAGE_MAX_SIDE || f->w > IMAGE_MAX_SIDE)
		return error("'%s': figure images are %dx%d (1 to %d a side)", png_path, f->w, f->h,
			     IMAGE_MAX_SIDE);
	if (f->scale < 1 || f->scale > SCALE_MAX)
		return error("'%s': figure scale %d is not in 1..%d", png_path, f->scale, SCALE_MAX);
	if (f->rows < 1)
		return error("'%s': figure has no rows (no defect type)", png_path);
	if (f->rows > ROWS_MAX)
		return error("'%s': figure has %d rows (at most %d defect types)", png_path, f->rows,
			     ROWS_MAX);
	return 0;
}

int mapfig_write(const struct mapfig *f, const char *png_path, const char *txt_path)
{
	if (check_figure(f, png_path) < 0)
		return -1;
	struct canvas cv;
	struct layout L = plan(f, &cv);
	if (cv.w > IMAGE_MAX_SIDE || cv.h > IMAGE_MAX_SIDE)
		return error("'%s': the figure would be %dx%d pixels (at most %d a side): lower "
			     "its scale", png_path, cv.w, cv.h, IMAGE_MAX_SIDE);
	cv.px = xmalloc((size_t)cv.w * cv.h * 3);
	double top = figure_top(f);
	draw_figure(&cv, f, &L, top);
	size_t len;
	char *text_buf = caption(f, top, &len);
	int rc = image_png_write(png_path, cv.px, cv.w, cv.h, 3);
	if (rc == 0 && fs_write_atomic(txt_path, text_buf, len) < 0) {
		remove(png_path); /* no figure without its caption */
		rc = -1;
	}
	free(text_buf);
	free(cv.px);
	return rc;
}
