/* plot.h: figures drawn by gnuplot (the only module that runs it).
 *
 * A figure is a script plots/<name>.gp plus data files that the caller
 * writes into the figure folder with plot_write_data(). plot_draw() writes a
 * small header <fig_dir>/<name>.gp that sets the script's inputs (output
 * name, format, size in pixels, and the caller's variables) and loads
 * plots/<name>.gp, then runs gnuplot on it inside <fig_dir> once per format
 * (png, then pdf and svg). The header is kept, so
 *     cd <fig_dir> && gnuplot <name>.gp                   (PNG)
 *     cd <fig_dir> && gnuplot -e "fmt='pdf'" <name>.gp    (PDF; 'svg' for SVG)
 * redraws a figure by hand. gnuplot's messages go to <fig_dir>/<name>.log. */
#ifndef DARKFOLD_PLOT_H
#define DARKFOLD_PLOT_H

#include <stddef.h>

struct plot {
	char *fig_dir;     /* absolute path of the figure folder */
	char *scripts_dir; /* absolute path of the folder holding <name>.gp */
	char *gnuplot;     /* resolved path of the gnuplot program */
	int pdf;           /* 1: draw a PDF and an SVG beside each PNG */
};

/* One figure to draw. */
struct plot_figure {
	const char *name; /* script plots/<name>.gp; outputs <name>.png, .pdf and .svg */
	int width, height; /* PNG and SVG size in pixels; the PDF is width/150 x height/150 inches */
	const char *vars;  /* gnuplot statements setting the script's inputs (may be NULL) */
};

/* Prepare drawing into fig_dir (created if missing). scripts_dir: folder of
 * the .gp scripts, or NULL to look for "plots" in the current directory and
 * then in the source tree darkfold was built from. gnuplot: the program (a
 * path, or a name searched on PATH), NULL for "gnuplot". Returns 0, or -1
 * with a message: the scripts folder not found, fig_dir not creatable, or
 * gnuplot not found ("gnuplot not found on PATH ..."). On -1, fig_dir and
 * scripts_dir are still set when they were found, so data files can be
 * written. Release with plot_release() in every case. */
int plot_init(struct plot *p, const char *fig_dir, const char *scripts_dir, const char *gnuplot);
void plot_release(struct plot *p);

/* Write text to <fig_dir>/<file> atomically. Returns 0 or -1. */
int plot_write_data(const struct plot *p, const char *file, const char *text, size_t len);

/* Write the header and run gnuplot for each format. Returns 0, or -1 with a
 * message naming the script, gnuplot's exit status and the first error line
 * it printed. Requires a successful plot_init(). */
int plot_draw(const struct plot *p, const struct plot_figure *f);

/* Read the width and height from a PNG file's IHDR chunk. Returns 0, or -1
 * with a message when the file is missing or not a PNG. */
int plot_png_size(const char *path, int *width, int *height);

/* Quote s as a gnuplot single-quoted string (doubling inner quotes) and
 * append it to a new string: returns malloc'd "'<s>'". */
char *plot_quote(const char *s);

/* Set the time stamp cairo writes into a PDF ("/CreationDate") to
 * SOURCE_DATE_EPOCH, or 1970-01-01 without it, so that the same figure
 * gives the same bytes. Returns 0, or -1 if path cannot be read or
 * rewritten. */
int plot_pdf_pin_date(const char *path);

#endif
