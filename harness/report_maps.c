/* report_maps.c: the anomaly-map figures of the one-class models,
 * figures/maps-<model>.png and .txt (docs/results.md), drawn by mapfig.c
 * from summary.json's models.<model>.maps and the image, mask and map files
 * its cells name. */
#include "report_impl.h"

#include "error.h"
#include "fsutil.h"
#include "image.h"
#include "mapfig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Panels are upscaled to about this many pixels a side. */
#define MAPS_PANEL_SIDE 128

/* What one cell of the figure is drawn from. */
struct maps_cell {
	float *image;        /* (C, H, W) */
	double *map;         /* (H, W) */
	unsigned char *mask; /* (H, W), or NULL */
};

static void cell_release(struct maps_cell *c)
{
	free(c->image);
	free(c->map);
	free(c->mask);
	memset(c, 0, sizeof *c);
}

/* Decode the PNG at path with ch channels at w x h, resized as the image
 * cache does (only when its size differs), into *out. Returns 0, or -1 with
 * why (n bytes) saying what is wrong with the file. */
static int read_resized(const char *path, int ch, int w, int h, struct image *out, char *why,
			size_t n)
{
	struct image im;
	if (!fs_is_file(path)) {
		snprintf(why, n, "'%s' is missing", path);
		return -1;
	}
	if (image_png_read_quiet(path, ch, &im, NULL, why, n) != 0)
		return -1;
	if (im.w == w && im.h == h) {
		*out = im;
		return 0;
	}
	int rc = image_resize(&im, w, h, out);
	image_release(&im);
	if (rc < 0)
		snprintf(why, n, "'%s': cannot resize it to %dx%d", path, w, h);
	return rc;
}

/* The anomaly map of a cell: its 8-bit grey PNG (score_write_map), which
 * must be w x h, times the cell's map_scale. */
static int read_map(const struct json *cell, int w, int h, double *map, char *why, size_t n)
{
	const char *path = json_string(json_get(cell, "map"));
	double scale = report_num(cell, "map_scale");
	if (!path || !(scale > 0) || !isfinite(scale)) {
		snprintf(why, n, "a cell has no map file or no positive map_scale");
		return -1;
	}
	struct image im;
	if (!fs_is_file(path)) {
		snprintf(why, n, "'%s' is missing", path);
		return -1;
	}
	if (image_png_read_quiet(path, 1, &im, NULL, why, n) != 0)
		return -1;
	int rc = 0;
	if (im.w != w || im.h != h)
		rc = -1, snprintf(why, n, "'%s': the map is %dx%d, not %dx%d", path, im.w, im.h, w, h);
	for (size_t j = 0; rc == 0 && j < (size_t)w * h; j++)
		map[j] = im.data[j] * scale;
	image_release(&im);
	return rc;
}

/* Read the image, mask and map a cell of summary.json names into *out. The
 * mask is box-resized and cut at 0.5 as score_masks() does. Returns 0, or
 * -1 with why saying which file is missing or unreadable. */
static int load_cell(const struct json *cell, int ch, int w, int h, struct maps_cell *out,
		     char *why, size_t n)
{
	size_t plane = (size_t)w * h;
	memset(out, 0, sizeof *out);
	out->map = xmalloc(plane * sizeof(double));
	struct image im;
	const char *path = json_string(json_get(cell, "image"));
	if (!path) {
		snprintf(why, n, "a cell names no image");
		return -1;
	}
	if (read_resized(path, ch, w, h, &im, why, n) < 0)
		return -1;
	out->image = im.data; /* the pixels change owner */
	if (read_map(cell, w, h, out->map, why, n) < 0)
		return -1;
	const char *mask = json_string(json_get(cell, "mask"));
	if (!mask)
		return 0;
	if (read_resized(mask, 1, w, h, &im, why, n) < 0)
		return -1;
	out->mask = xmalloc(plane);
	for (size_t j = 0; j < plane; j++)
		out->mask[j] = im.data[j] >= 0.5f;
	image_release(&im);
	return 0;
}

/* The figure's shape from a "maps" object: rows, image shape. Returns 0, or
 * -1 with why. */
static int maps_shape(const struct json *maps, struct mapfig *f, char *why, size_t n)
{
	const struct json *rows = json_get(maps, "rows");
	f->rows = json_type(rows) == JSON_ARRAY ? json_size(rows) : 0;
	f->c = (int)report_num(maps, "channels");
	f->w = (int)report_num(maps, "width");
	f->h = (int)report_num(maps, "height");
	if (f->rows < 1 || (f->c != 1 && f->c != 3) || f->w < 1 || f->h < 1 ||
	    f->w > IMAGE_MAX_SIDE || f->h > IMAGE_MAX_SIDE) {
		snprintf(why, n, "its rows, channels, width or height are missing or out of range");
		return -1;
	}
	int side = f->w > f->h ? f->w : f->h;
	f->scale = side >= MAPS_PANEL_SIDE ? 1 : MAPS_PANEL_SIDE / side;
	if (f->scale > 16)
		f->scale = 16;
	return 0;
}

/* Draw figures/maps-<model>.png and .txt from the model's "maps" object.
 * Returns 0 when drawn, 1 when skipped with a warning (a file it needs is
 * missing or unreadable; an older figure of the model is removed then), -1
 * when the figure cannot be written. */
static int draw_model(const char *model, const struct json *maps, const char *figdir)
{
	char why[512] = "";
	struct mapfig f = { 0 };
	int rc = maps_shape(maps, &f, why, sizeof why) < 0 ? 1 : 0;
	int cells = rc == 0 ? 2 * f.rows : 0;
	struct maps_cell *data = xcalloc((size_t)cells + 1, sizeof *data);
	struct mapfig_cell *cell = xcalloc((size_t)cells + 1, sizeof *cell);
	const char **names = xcalloc((size_t)f.rows + 1, sizeof *names);
	const struct json *rows = json_get(maps, "rows");
	for (int i = 0; rc == 0 && i < cells; i++) {
		const struct json *row = json_at(rows, i / 2);
		const struct json *cj = json_get(row, i % 2 ? "worst" : "best");
		names[i / 2] = json_string(json_get(row, "defect"));
		if (!names[i / 2] || load_cell(cj, f.c, f.w, f.h, &data[i], why, sizeof why) < 0) {
			rc = 1;
			break;
		}
		cell[i] = (struct mapfig_cell){ json_string(json_get(cj, "image")), data[i].image,
						data[i].map, data[i].mask, report_num(cj, "score"),
						report_num(cj, "threshold") };
	}
	char *png = xasprintf("%s/maps-%s.png", figdir, model);
	char *txt = xasprintf("%s/maps-%s.txt", figdir, model);
	if (rc == 0) {
		f.row_names = names;
		f.cells = cell;
		rc = mapfig_write(&f, png, txt);
	} else {
		/* an older figure would no longer match the summary */
		remove(png);
		remove(txt);
		warning("anomaly-map figure of '%s' not drawn: %s", model, why);
	}
	free(png);
	free(txt);
	for (int i = 0; i < cells; i++)
		cell_release(&data[i]);
	free(data);
	free(cell);
	free(names);
	return rc;
}

int report_maps_draw(const struct report *r, const char *figdir)
{
	int rc = 0;
	for (int i = 0; i < r->n_models; i++) {
		const struct json *maps = json_get(r->rows[i].node, "maps");
		if (json_type(maps) != JSON_OBJECT)
			continue;
		if (fs_mkdir_p(figdir) < 0 || draw_model(r->rows[i].name, maps, figdir) < 0)
			rc = -1;
	}
	return rc;
}
