/* report.h: tables, figures and the one-page report, computed only from
 * summary.json and the unit result files of an experiment. */
#ifndef DARKFOLD_REPORT_H
#define DARKFOLD_REPORT_H

#include "experiment.h"

struct report_opts {
	int figures;         /* 0: tables and report.md only */
	const char *gnuplot; /* gnuplot program, NULL for "gnuplot" on PATH */
};

/* Read <results_path>/summary.json (and the unit files it names) and write
 * summary.csv, summary.md, summary.tex, figures/ and report.md there.
 * When gnuplot is missing the tables and report.md are still written, and
 * the error says what is missing. Returns 0 or -1. */
int report_render(const struct experiment *e, const char *results_path,
		  const struct report_opts *o);

#endif
