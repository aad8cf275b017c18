/* report_impl.h: what the parts of the report share (private to report*.c).
 *
 * report.c reads summary.json into struct report and renders; the tables
 * (report_tables.c), the figures (report_figures.c) and report.md
 * (report_text.c) are written from that struct alone. Every pointer in it
 * points into the parsed summary, which struct report owns. */
#ifndef DARKFOLD_REPORT_IMPL_H
#define DARKFOLD_REPORT_IMPL_H

#include "json.h"
#include "report.h"
#include "strbuf.h"

/* How a cell or label is written: plain text, Markdown or LaTeX. */
enum { CELL_PLAIN, CELL_MD, CELL_TEX };

/* One unit's times, from summary.json's models.<model>.unit_times. */
struct unit_time {
	const char *unit;   /* "r<R>-f<F>", borrowed from the summary */
	const char *status; /* as the unit file says, borrowed */
	double wall;  /* finished - started, else train_seconds; NAN if neither */
	double train; /* train_seconds, NAN if absent */
};

/* A model or baseline: a row of every table. */
struct row {
	const char *name;
	int baseline;
	const struct json *node; /* models.<name> or baselines.<name> */
	struct unit_time *units; /* (n_units), owned */
	int n_units;
};

struct report {
	const char *dir; /* results path */
	char *summary_path;
	struct json *summary;
	struct row *rows; /* (n_rows): the models, then the baselines */
	int n_rows, n_models;
	const char *positive, *other; /* "anomalous" / "normal" */
	double alpha, beta;
	int k, repeats;
	int interval;
};

/* The original study's best model (VGG16), drawn as reference marks and
 * compared in report.md. It reports no AUROC. */
struct report_study_mark {
	const char *metric;
	double value;
};
extern const struct report_study_mark report_study_vgg16[];
extern const int report_n_study; /* entries of report_study_vgg16 */

/* Figure files embedded in report.md, in order, with captions. */
struct report_figure {
	const char *name, *caption;
};
extern const struct report_figure report_figure_list[];
extern const int report_n_figures; /* entries of report_figure_list */

/* ---- report.c: reading summary.json ---- */

/* obj.key as a number, NAN when absent or not a number. */
double report_num(const struct json *obj, const char *key);

/* Column heading of a metric in format fmt (CELL_*); F-beta names follow
 * the experiment's beta. The caller frees the string. */
char *report_metric_label(const struct report *r, const char *metric, int fmt);

/* The row's metrics.<metric> object, NULL when absent. */
const struct json *report_row_metric(const struct row *row, const char *metric);

/* The metric that decides (summary.json's verdict; "auroc" when absent). */
const char *report_primary_metric(const struct report *r);

/* The significance test's name, as summary.json's verdict records it. */
const char *report_test_name(const struct report *r, int fmt);

/* ---- report_tables.c ---- */

/* summary.csv, summary.md and summary.tex in r->dir. Returns 0 or -1. */
int report_tables_write(const struct report *r);

/* The folds sentence, the legend and the main metrics table with its notes
 * (Markdown), as summary.md and report.md open their results. */
void report_md_results(const struct report *r, struct strbuf *b);

/* The "Model kinds" section of report.md: each model's kind and the
 * one-class models' pixel-level metrics. */
void report_md_kinds(const struct report *r, struct strbuf *b);

/* The provenance table and the per-unit wall times (Markdown). */
void report_md_provenance(const struct report *r, struct strbuf *b);

/* ---- report_figures.c ---- */

/* Writes the figures' data files into figdir and, when gnuplot can be run,
 * draws them. Returns 1 when every figure was drawn; else 0, with *note
 * (caller frees) saying why for report.md. */
int report_figures_draw(const struct report *r, const struct report_opts *o, const char *figdir,
			char **note);

/* ---- report_maps.c ---- */

/* figures/maps-<model>.png and .txt in figdir for each model whose
 * summary has a "maps" object (one-class models). A figure whose image,
 * mask or map file is missing or unreadable is skipped with one warning
 * line. Returns 0, or -1 when a figure cannot be written. */
int report_maps_draw(const struct report *r, const char *figdir);

/* ---- report_text.c ---- */

/* report.md at path; figures_drawn 0 puts fig_note in place of the
 * gnuplot figures; maps 1 shows the anomaly-map figure of each model with
 * a "maps" object (whether or not it could be drawn). Returns 0 or -1. */
int report_text_write(const struct report *r, const char *path, int figures_drawn, int pdf,
		      const char *fig_note, int maps);

#endif
