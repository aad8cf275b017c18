/* mapfig.h: the figure of anomaly-map examples of a one-class model.
 *
 * The figure is a grid: one row per defect type, two columns, "best" and
 * "worst": the anomalous test image of that type that the model scores
 * furthest above its threshold, and the one furthest below it (or least
 * above), as mapfig_pick() chooses them. Each cell shows three panels side
 * by side, each upscaled by an integer factor (nearest neighbour):
 *   1. the test image;
 *   2. its anomaly map as a heat map (mapfig_colour), 0 black, the largest
 *      map value of the whole figure white;
 *   3. the image with two 1-pixel outlines (mapfig_outline, traced at the
 *      upscaled size): the ground-truth mask in green (0, 255, 0), then the
 *      map pixels at or above the threshold in magenta (255, 0, 255), which
 *      covers the green where both lie.
 * Row labels (the defect types, in capitals) stand on the left, "best" and
 * "worst" above the columns, and under the grid a colour bar from 0 to the
 * figure's largest map value, labelled with both. A caption file states the
 * same in words and names every cell's image, score and threshold.
 * Same inputs, same bytes. */
#ifndef DARKFOLD_MAPFIG_H
#define DARKFOLD_MAPFIG_H

#include <stdint.h>

/* One scored test image, for mapfig_pick(). */
struct mapfig_item {
	int defect;       /* defect type: row 0 .. n_defects-1 */
	int anomalous;    /* 1 for an anomalous image; others are never picked */
	double score;     /* the model's image score */
	double threshold; /* the threshold of the unit that scored it */
};

/* Choose the cells: for each defect type d, best[d] gets the index of the
 * anomalous item of type d with the largest margin score - threshold and
 * worst[d] the one with the smallest; equal margins go to the lower index.
 * A type with one anomalous image has it in both columns; a type with none
 * gets -1 in both. Items whose type is outside [0, n_defects) or whose
 * margin is NaN are ignored. Returns the number of types with an image. */
int mapfig_pick(const struct mapfig_item *items, int n, int n_defects, int *best, int *worst);

/* The heat-map colour of v: rgb = (3v, 3v - 1, 3v - 2) clamped to [0, 1],
 * as bytes (image_to_u8): 0 black, 1/3 red, 2/3 yellow, 1 white. Values
 * below 0 and NaN are black, above 1 white. */
void mapfig_colour(double v, uint8_t rgb[3]);

/* The outline of mask (h, w): edge (h, w) gets 1 on each mask pixel
 * (non-zero) with a 4-neighbour outside the mask or outside the image, 0
 * everywhere else. */
void mapfig_outline(const unsigned char *mask, int h, int w, unsigned char *edge);

/* One cell of the figure. */
struct mapfig_cell {
	const char *name;          /* the image, for the caption; NULL: empty cell */
	const float *image;        /* (C, H, W) in [0, 1] */
	const double *map;         /* (H, W) anomaly map */
	const unsigned char *mask; /* (H, W), non-zero on defect pixels; NULL: none */
	double score;              /* the image score */
	double threshold;          /* map pixels >= threshold are outlined */
};

struct mapfig {
	int c, h, w;                       /* image shape; C is 1 or 3 */
	int scale;                         /* upscaling factor, 1 .. 16 */
	int rows;                          /* defect types, 1 .. 256 */
	const char *const *row_names;      /* (rows) */
	const struct mapfig_cell *cells;   /* (rows, 2): best, then worst */
};

/* Draw the figure as an RGB PNG at png_path and write its caption (plain
 * text) at txt_path, each atomically. Returns 0, or -1 with one error line
 * naming the file that cannot be written, or the figure's bad field
 * (shape, scale, rows, or a figure over IMAGE_MAX_SIDE pixels a side);
 * neither file is left then (a figure whose caption fails is removed). */
int mapfig_write(const struct mapfig *f, const char *png_path, const char *txt_path);

#endif
