/* report.h: tables, figures and the one-page report, computed only from
 * an experiment's summary.json. */
#ifndef DARKFOLD_REPORT_H
#define DARKFOLD_REPORT_H

#include "experiment.h"

struct report_opts {
	int figures;         /* 0: tables and report.md only */
	const char *gnuplot; /* gnuplot program, NULL for "gnuplot" on PATH */
	const char *plots_dir; /* folder of the .gp scripts, NULL: ./plots, else the source tree's */
	int interval;        /* 1: cells show [ci_low, ci_high]; 0: mean ± half-width */
	int pdf;             /* 1: a PDF beside each PNG figure */
};

/* Read <results_path>/summary.json (and no unit file) and write
 * summary.csv, summary.md, summary.tex, figures/ (PNG and PDF figures, their .dat data files and
 * gnuplot headers) and report.md there. Nothing is recomputed from
 * predictions: every number comes from summary.json. e may be NULL; when
 * given, a summary built from another version of the experiment file
 * (different sha256) draws a warning. o may be NULL (all defaults: figures,
 * PDF, ± cells). When gnuplot is missing or fails, the tables and report.md
 * are still written, the error says what is missing, and -1 is returned.
 * Output is byte-identical for identical input files (but for the PDFs'
 * creation dates). Returns 0 or -1. */
int report_render(const struct experiment *e, const char *results_path,
		  const struct report_opts *o);

#endif
