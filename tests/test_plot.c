/* test_plot.c: the figures drawn from the fixture result set by gnuplot
 * (where it is installed), what happens without gnuplot, and plot.c's
 * error paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "error.h"
#include "fsutil.h"
#include "helpers.h"
#include "plot.h"
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FIXTURE DARKFOLD_SOURCE_DIR "/tests/data/report/fixture"
#define PLOTS DARKFOLD_SOURCE_DIR "/plots"

static char *fixture_copy(void)
{
	char *dir = test_tmpdir();
	char *cmd = xasprintf("cp -r '%s/.' '%s/'", FIXTURE, dir);
	if (system(cmd) != 0)
		abort();
	free(cmd);
	return dir;
}

static long file_size(const char *dir, const char *file)
{
	char *path = fs_join(dir, file);
	struct stat st;
	long n = stat(path, &st) == 0 ? (long)st.st_size : -1;
	free(path);
	return n;
}

static int have_gnuplot(void)
{
	char *out = NULL;
	int rc = test_run("command -v gnuplot", &out);
	free(out);
	return rc == 0;
}

/* Expected PNG sizes, from the layout rules in report.c for the fixture's
 * 4 models: learning curves 2 x 2 panels of 600 x 360 plus 90 for the
 * title; confusion 4 panels of 340 x 330 plus 140 x 90; defect heatmap
 * 260 + 60 per model. */
static const struct {
	const char *name;
	int w, h;
} expected[] = {
	{ "headline", 1400, 650 }, { "learning_curves", 1200, 810 }, { "roc", 800, 700 },
	{ "pr", 800, 820 },         { "confusion", 1500, 420 },       { "defect_recall", 1200, 500 },
	{ "cost", 1200, 550 },
};
#define N_EXPECTED (sizeof expected / sizeof expected[0])

static const char *data_files[] = { "headline.dat", "headline_ref.dat", "learning_curves.dat", "roc.dat", "pr.dat",
				    "confusion.dat", "defect_recall.dat", "cost.dat", "cost_units.dat" };

static void figures_should_be_drawn_at_expected_size_without_gnuplot_messages(void **state)
{
	(void)state;
	if (!have_gnuplot())
		skip();
	char *dir = fixture_copy();
	struct report_opts o = { 1, NULL, PLOTS, 0, 1 };
	assert_int_equal(report_render(NULL, dir, &o), 0);
	char *fig = fs_join(dir, "figures");
	for (size_t i = 0; i < N_EXPECTED; i++) {
		char *png = xasprintf("%s/%s.png", fig, expected[i].name);
		char *pdf = xasprintf("%s.pdf", expected[i].name);
		char *log = xasprintf("%s.log", expected[i].name);
		char *hdr = xasprintf("%s.gp", expected[i].name);
		int w = 0, h = 0;
		assert_int_equal(plot_png_size(png, &w, &h), 0);
		if (w != expected[i].w || h != expected[i].h)
			fail_msg("%s: %dx%d, expected %dx%d", png, w, h, expected[i].w, expected[i].h);
		/* a blank PNG of that size is a few kB; a drawn figure is larger */
		char *pngname = xasprintf("%s.png", expected[i].name);
		assert_true(file_size(fig, pngname) > 20000);
		assert_true(file_size(fig, pdf) > 5000);
		/* gnuplot printed no warning or error */
		assert_int_equal(file_size(fig, log), 0);
		assert_true(file_size(fig, hdr) > 0);
		free(pngname);
		free(png);
		free(pdf);
		free(log);
		free(hdr);
	}
	for (size_t i = 0; i < sizeof data_files / sizeof data_files[0]; i++)
		assert_true(file_size(fig, data_files[i]) > 0);
	/* the header carries the legend text: pooled AUROC 0.99761 */
	char *roc = fs_join(fig, "roc.gp"), *hdr = NULL;
	assert_int_equal(fs_read_file(roc, &hdr, NULL), 0);
	assert_non_null(strstr(hdr, "'vgg16 (AUROC 0.998)'"));
	free(hdr);
	free(roc);
	/* report.md embeds every figure */
	char *rep = fs_join(dir, "report.md"), *text = NULL;
	assert_int_equal(fs_read_file(rep, &text, NULL), 0);
	for (size_t i = 0; i < N_EXPECTED; i++) {
		char *img = xasprintf("](figures/%s.png)", expected[i].name);
		assert_non_null(strstr(text, img));
		free(img);
	}
	free(text);
	free(rep);
	free(fig);
	test_rm_rf(dir);
	free(dir);
}

static void figure_should_redraw_by_hand_from_its_header(void **state)
{
	(void)state;
	if (!have_gnuplot())
		skip();
	char *dir = fixture_copy();
	struct report_opts o = { 1, NULL, PLOTS, 0, 0 };
	assert_int_equal(report_render(NULL, dir, &o), 0);
	char *fig = fs_join(dir, "figures");
	/* no PDF asked for: none drawn, none linked */
	assert_int_equal(file_size(fig, "roc.pdf"), -1);
	char *rep = fs_join(dir, "report.md"), *text = NULL;
	assert_int_equal(fs_read_file(rep, &text, NULL), 0);
	assert_non_null(strstr(text, "](figures/roc.png)"));
	assert_null(strstr(text, ".pdf"));
	free(text);
	free(rep);
	char *cmd = xasprintf("cd '%s' && rm roc.png && gnuplot roc.gp && gnuplot -e \"fmt='pdf'\" roc.gp", fig);
	char *out = NULL;
	assert_int_equal(test_run(cmd, &out), 0);
	assert_string_equal(out, "");
	int w = 0, h = 0;
	char *png = fs_join(fig, "roc.png");
	assert_int_equal(plot_png_size(png, &w, &h), 0);
	assert_int_equal(w, 800);
	assert_int_equal(h, 700);
	assert_true(file_size(fig, "roc.pdf") > 5000);
	free(png);
	free(out);
	free(cmd);
	free(fig);
	test_rm_rf(dir);
	free(dir);
}

static void without_gnuplot_tables_should_be_written_and_error_name_it(void **state)
{
	(void)state;
	char *dir = fixture_copy();
	char *empty = test_tmpdir();
	char *old = getenv("PATH") ? xstrdup(getenv("PATH")) : NULL;
	setenv("PATH", empty, 1);
	struct report_opts o = { 1, NULL, PLOTS, 0, 1 };
	test_stderr_begin();
	int rc = report_render(NULL, dir, &o);
	char *err = test_stderr_end();
	if (old)
		setenv("PATH", old, 1);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "error: gnuplot not found on PATH: figures not drawn (install gnuplot-nox)\n"));
	assert_non_null(strstr(err, "tables and report.md were written to '"));
	assert_true(file_size(dir, "summary.csv") > 0);
	assert_true(file_size(dir, "summary.md") > 0);
	assert_true(file_size(dir, "summary.tex") > 0);
	assert_true(file_size(dir, "report.md") > 0);
	/* the data files are there to draw from later; no figure is */
	assert_true(file_size(dir, "figures/headline.dat") > 0);
	assert_int_equal(file_size(dir, "figures/headline.png"), -1);
	char *rep = fs_join(dir, "report.md"), *text = NULL;
	assert_int_equal(fs_read_file(rep, &text, NULL), 0);
	assert_non_null(strstr(text, "Figures were not drawn: gnuplot was not available"));
	assert_null(strstr(text, "!["));
	free(text);
	free(rep);
	free(err);
	free(old);
	test_rm_rf(empty);
	free(empty);
	test_rm_rf(dir);
	free(dir);
}

static char *read_text(const char *dir, const char *file)
{
	char *path = fs_join(dir, file), *text = NULL;
	assert_int_equal(fs_read_file(path, &text, NULL), 0);
	free(path);
	return text;
}

/* The data files hold summary.json's numbers (vgg16 values read from the
 * fixture with Python). Drawn without gnuplot, so this runs everywhere. */
static void figure_data_should_hold_the_summary_numbers(void **state)
{
	(void)state;
	char *dir = fixture_copy();
	char *empty = test_tmpdir();
	char *old = getenv("PATH") ? xstrdup(getenv("PATH")) : NULL;
	setenv("PATH", empty, 1);
	struct report_opts o = { 1, NULL, PLOTS, 0, 1 };
	test_stderr_begin();
	int rc = report_render(NULL, dir, &o);
	free(test_stderr_end());
	if (old)
		setenv("PATH", old, 1);
	assert_int_equal(rc, -1);
	char *fig = fs_join(dir, "figures");
	char *t = read_text(fig, "headline.dat");
	/* the fixture's summary names no verdict: the primary metric is AUROC,
	 * drawn first (index 0), then loss (1), accuracy, recall, F-beta; vgg16
	 * is the first block: AUROC 0.99790 [0.99617, 0.99963], loss 0.14687
	 * [0.13085, 0.16289] */
	assert_non_null(strstr(t, "# vgg16\n0 0.9978999033 0.9961666419 0.9996331646\n"
				  "1 0.1468702434 0.130849225 0.1628912617\n"));
	assert_non_null(strstr(t, "\n\n\n# always_anomalous\n"));
	free(t);
	t = read_text(fig, "headline_ref.dat");
	assert_non_null(strstr(t, "\n1 0.506\n2 0.816\n3 1.000\n4 0.953\n"));
	free(t);
	/* anomalous positive: tp 86, fp 5, tn 277, fn 6 as predicted x actual */
	t = read_text(fig, "confusion.dat");
	assert_non_null(strstr(t, "# vgg16\n0 0 277 0.9822695035\n1 0 5 0.01773049645\n0 1 6 0.0652173913\n"
				  "1 1 86 0.9347826087\n"));
	free(t);
	t = read_text(fig, "learning_curves.dat");
	assert_non_null(strstr(t, "# vgg16\n1 5 0.4389182137 0.01043793553 0.5051676576 0.03313388864\n"));
	free(t);
	t = read_text(fig, "defect_recall.dat");
	assert_non_null(strstr(t, "\n0 0 0.9230769231 13\n"));
	free(t);
	t = read_text(fig, "cost.dat");
	assert_non_null(strstr(t, "\n0 41.7410153 577.9426418 2889.713209\n"));
	free(t);
	free(fig);
	free(old);
	test_rm_rf(empty);
	free(empty);
	test_rm_rf(dir);
	free(dir);
}

static void named_gnuplot_that_is_not_executable_should_fail(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	struct plot p;
	test_stderr_begin();
	int rc = plot_init(&p, dir, PLOTS, "/nonexistent/bin/gnuplot");
	char *err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "'/nonexistent/bin/gnuplot' is not an executable file"));
	/* the figure folder is usable for data files */
	assert_non_null(p.fig_dir);
	assert_int_equal(plot_write_data(&p, "x.dat", "1 2\n", 4), 0);
	plot_release(&p);
	free(err);
	test_rm_rf(dir);
	free(dir);
}

static void missing_scripts_folder_should_fail_naming_it(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char *fig = fs_join(dir, "figures");
	struct plot p;
	test_stderr_begin();
	int rc = plot_init(&p, fig, "/nonexistent/plots", NULL);
	char *err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "'/nonexistent/plots'"));
	plot_release(&p);
	plot_release(NULL);
	free(err);
	free(fig);
	test_rm_rf(dir);
	free(dir);
}

static void gnuplot_error_should_fail_with_script_status_and_message(void **state)
{
	(void)state;
	if (!have_gnuplot())
		skip();
	char *dir = test_tmpdir();
	char *scripts = fs_join(dir, "plots");
	char *fig = fs_join(dir, "figures");
	char *common = fs_join(scripts, "common.gp"), *bad = fs_join(scripts, "bad.gp");
	const char *c = "set terminal pngcairo size width, height\nset output name . '.png'\n";
	const char *b = "load common\nplot 'missing.dat' using 1:2 with lines\n";
	test_write_file(common, c, strlen(c));
	test_write_file(bad, b, strlen(b));
	struct plot p;
	assert_int_equal(plot_init(&p, fig, scripts, NULL), 0);
	p.pdf = 0;
	struct plot_figure f = { "bad", 300, 200, NULL };
	test_stderr_begin();
	int rc = plot_draw(&p, &f);
	char *err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "error: gnuplot failed on '"));
	assert_non_null(strstr(err, "/figures/bad.gp' (exit status 1)"));
	assert_non_null(strstr(err, "missing.dat"));
	/* a working script through the same header, with the caller's variables */
	const char *g = "load common\nplot x title label\n";
	char *good = fs_join(scripts, "good.gp");
	test_write_file(good, g, strlen(g));
	struct plot_figure f2 = { "good", 321, 123, "label = 'it''s x'" };
	assert_int_equal(plot_draw(&p, &f2), 0);
	char *png = fs_join(fig, "good.png");
	int w = 0, h = 0;
	assert_int_equal(plot_png_size(png, &w, &h), 0);
	assert_int_equal(w, 321);
	assert_int_equal(h, 123);
	plot_release(&p);
	free(png);
	free(good);
	free(err);
	free(common);
	free(bad);
	free(scripts);
	free(fig);
	test_rm_rf(dir);
	free(dir);
}

static void png_size_should_read_ihdr_and_reject_other_files(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	/* signature, IHDR length 13, "IHDR", width 640, height 480 */
	static const unsigned char png[24] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
					       'I', 'H', 'D', 'R', 0, 0, 0x02, 0x80, 0, 0, 0x01, 0xe0 };
	char *ok = fs_join(dir, "ok.png"), *txt = fs_join(dir, "text.png");
	test_write_file(ok, png, sizeof png);
	test_write_file(txt, "not a png at all, but long enough", 33);
	int w = 0, h = 0;
	assert_int_equal(plot_png_size(ok, &w, &h), 0);
	assert_int_equal(w, 640);
	assert_int_equal(h, 480);
	test_stderr_begin();
	int rc = plot_png_size(txt, &w, &h);
	char *err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "text.png': not a PNG file"));
	free(err);
	free(ok);
	free(txt);
	test_rm_rf(dir);
	free(dir);
}

static void pdf_date_should_be_pinned_in_place(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char *pdf = fs_join(dir, "a.pdf"), *plain = fs_join(dir, "b.pdf");
	static const char text[] = "%PDF-1.5\n<< /Producer (cairo)\n   /CreationDate (D:20261128235411Z)\n>>\n";
	static const char none[] = "%PDF-1.5\n<< /Producer (other) >>\n";
	test_write_file(pdf, text, sizeof text - 1);
	test_write_file(plain, none, sizeof none - 1);
	assert_int_equal(unsetenv("SOURCE_DATE_EPOCH"), 0);
	assert_int_equal(plot_pdf_pin_date(pdf), 0);
	assert_int_equal(plot_pdf_pin_date(plain), 0);
	char *got;
	size_t len;
	assert_int_equal(fs_read_file(pdf, &got, &len), 0);
	assert_int_equal(len, sizeof text - 1); /* same length: offsets stay valid */
	assert_non_null(strstr(got, "/CreationDate (D:19700101000000Z)\n>>"));
	free(got);
	/* 2000-02-29 12:34:56 UTC */
	assert_int_equal(setenv("SOURCE_DATE_EPOCH", "951827696", 1), 0);
	test_write_file(pdf, text, sizeof text - 1);
	assert_int_equal(plot_pdf_pin_date(pdf), 0);
	assert_int_equal(fs_read_file(pdf, &got, &len), 0);
	assert_non_null(strstr(got, "(D:20000229123456Z)"));
	free(got);
	assert_int_equal(unsetenv("SOURCE_DATE_EPOCH"), 0);
	assert_int_equal(fs_read_file(plain, &got, &len), 0);
	assert_int_equal(len, sizeof none - 1);
	assert_memory_equal(got, none, len);
	free(got);
	char *missing = fs_join(dir, "missing.pdf");
	test_stderr_begin();
	int rc = plot_pdf_pin_date(missing);
	char *err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "missing.pdf"));
	free(err);
	free(missing);
	free(pdf);
	free(plain);
	test_rm_rf(dir);
	free(dir);
}

static void quote_should_double_single_quotes(void **state)
{
	(void)state;
	char *q = plot_quote("it's");
	assert_string_equal(q, "'it''s'");
	free(q);
	q = plot_quote("");
	assert_string_equal(q, "''");
	free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(figures_should_be_drawn_at_expected_size_without_gnuplot_messages),
		cmocka_unit_test(figure_should_redraw_by_hand_from_its_header),
		cmocka_unit_test(without_gnuplot_tables_should_be_written_and_error_name_it),
		cmocka_unit_test(figure_data_should_hold_the_summary_numbers),
		cmocka_unit_test(named_gnuplot_that_is_not_executable_should_fail),
		cmocka_unit_test(missing_scripts_folder_should_fail_naming_it),
		cmocka_unit_test(gnuplot_error_should_fail_with_script_status_and_message),
		cmocka_unit_test(png_size_should_read_ihdr_and_reject_other_files),
		cmocka_unit_test(pdf_date_should_be_pinned_in_place),
		cmocka_unit_test(quote_should_double_single_quotes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
