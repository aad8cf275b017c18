/* plot.c: runs gnuplot on the scripts in plots/ (the only gnuplot door). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "plot.h"

#include "error.h"
#include "fsutil.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *absolute(const char *path)
{
	char *r = realpath(path, NULL);
	if (!r)
		return NULL;
	char *copy = xstrdup(r); /* our allocator, so callers free uniformly */
	free(r);
	return copy;
}

static int is_executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Resolve prog like execvp would; new string or NULL. */
static char *find_program(const char *prog)
{
	if (strchr(prog, '/'))
		return is_executable(prog) ? absolute(prog) : NULL;
	const char *path = getenv("PATH");
	if (!path || !*path)
		return NULL;
	const char *s = path;
	for (;;) {
		const char *end = strchr(s, ':');
		size_t n = end ? (size_t)(end - s) : strlen(s);
		char *dir = n ? xasprintf("%.*s", (int)n, s) : xstrdup(".");
		char *cand = fs_join(dir, prog);
		free(dir);
		if (is_executable(cand)) {
			char *r = absolute(cand);
			free(cand);
			return r;
		}
		free(cand);
		if (!end)
			return NULL;
		s = end + 1;
	}
}

static char *find_scripts(const char *scripts_dir)
{
	if (scripts_dir) {
		char *r = fs_is_dir(scripts_dir) ? absolute(scripts_dir) : NULL;
		if (!r)
			error("cannot find the plot scripts folder '%s'", scripts_dir);
		return r;
	}
	const char *cands[] = { "plots", DARKFOLD_SOURCE_DIR "/plots" };
	for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
		char *common = fs_join(cands[i], "common.gp");
		int ok = fs_is_file(common);
		free(common);
		if (ok)
			return absolute(cands[i]);
	}
	error("cannot find the plot scripts: neither './plots' nor '%s' holds common.gp",
	      DARKFOLD_SOURCE_DIR "/plots");
	return NULL;
}

int plot_init(struct plot *p, const char *fig_dir, const char *scripts_dir, const char *gnuplot)
{
	memset(p, 0, sizeof *p);
	p->pdf = 1;
	if (fs_mkdir_p(fig_dir) != 0)
		return -1;
	p->fig_dir = absolute(fig_dir);
	if (!p->fig_dir)
		return error("cannot resolve '%s': %s", fig_dir, strerror(errno));
	p->scripts_dir = find_scripts(scripts_dir);
	if (!p->scripts_dir)
		return -1;
	const char *prog = gnuplot ? gnuplot : "gnuplot";
	p->gnuplot = find_program(prog);
	if (!p->gnuplot) {
		if (strchr(prog, '/'))
			return error("gnuplot not found: '%s' is not an executable file: figures not drawn",
				     prog);
		return error("%s not found on PATH: figures not drawn (install gnuplot-nox)", prog);
	}
	return 0;
}

void plot_release(struct plot *p)
{
	if (!p)
		return;
	free(p->fig_dir);
	free(p->scripts_dir);
	free(p->gnuplot);
	memset(p, 0, sizeof *p);
}

int plot_write_data(const struct plot *p, const char *file, const char *text, size_t len)
{
	char *path = fs_join(p->fig_dir, file);
	int rc = fs_write_atomic(path, text, len);
	free(path);
	return rc;
}

char *plot_quote(const char *s)
{
	size_t n = 2;
	for (const char *c = s; *c; c++)
		n += *c == '\'' ? 2 : 1;
	char *r = xmalloc(n + 1), *o = r;
	*o++ = '\'';
	for (const char *c = s; *c; c++) {
		*o++ = *c;
		if (*c == '\'')
			*o++ = '\'';
	}
	*o++ = '\'';
	*o = '\0';
	return r;
}

/* The last two meaningful lines of the log, joined by "; ": gnuplot prints
 * the error last, often after a warning that names its cause (a missing
 * data file). Lines of only carets and blanks (its pointers) are skipped. */
static char *log_tail(const char *log)
{
	char *text = NULL;
	if (fs_read_file(log, &text, NULL) != 0)
		return xstrdup("(no output)");
	char *last[2] = { NULL, NULL };
	for (char *s = strtok(text, "\n"); s; s = strtok(NULL, "\n")) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s && strspn(s, "^ \t") != strlen(s)) {
			last[0] = last[1];
			last[1] = s;
		}
	}
	char *r = !last[1] ? xstrdup("(no output)")
		  : last[0] ? xasprintf("%s; %s", last[0], last[1])
			    : xstrdup(last[1]);
	free(text);
	return r;
}

/* Run gnuplot -e <setfmt> <header> inside fig_dir, output to log. */
static int run_gnuplot(const struct plot *p, const char *setfmt, const char *header,
		       const char *log, int append)
{
	int fd = open(log, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC) | O_CLOEXEC, 0644);
	if (fd < 0)
		return error("cannot write '%s': %s", log, strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(fd);
		return error("cannot start '%s': %s", p->gnuplot, strerror(errno));
	}
	if (pid == 0) {
		if (chdir(p->fig_dir) != 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		char *argv[] = { p->gnuplot, (char *)"-e", (char *)setfmt, (char *)header, NULL };
		execv(p->gnuplot, argv);
		_exit(127);
	}
	close(fd);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return error("cannot wait for '%s': %s", p->gnuplot, strerror(errno));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	char *tail = log_tail(log);
	int rc;
	if (WIFEXITED(status))
		rc = error("gnuplot failed on '%s/%s' (exit status %d): %s", p->fig_dir, header,
			   WEXITSTATUS(status), tail);
	else
		rc = error("gnuplot killed by signal %d on '%s/%s'", WTERMSIG(status), p->fig_dir, header);
	free(tail);
	return rc;
}

/* cairo stamps each PDF with the time of drawing ("/CreationDate
 * (D:YYYYMMDDHHMMSSZ)"), the only byte that differs between two drawings
 * of the same figure. Replace it, in place and at the same length (the
 * cross-reference offsets stay valid), with SOURCE_DATE_EPOCH when set, as
 * reproducible builds do, else 1970-01-01. A PDF without such a stamp is
 * left as it is. */
int plot_pdf_pin_date(const char *path)
{
	static const char key[] = "/CreationDate (D:";
	char *data;
	size_t len;
	if (fs_read_file(path, &data, &len) != 0)
		return -1;
	char *at = NULL;
	for (size_t i = 0; i + sizeof key - 1 + 14 <= len && !at; i++)
		if (!memcmp(data + i, key, sizeof key - 1))
			at = data + i + sizeof key - 1;
	int digits = 0;
	while (at && digits < 14 && at[digits] >= '0' && at[digits] <= '9')
		digits++;
	int rc = 0;
	if (digits == 14) {
		time_t t = 0;
		const char *env = getenv("SOURCE_DATE_EPOCH");
		char *end;
		long long e = env ? strtoll(env, &end, 10) : 0;
		if (env && *env && !*end && e >= 0 && e <= 253402300799LL) /* up to year 9999 */
			t = (time_t)e;
		struct tm tm;
		char stamp[15];
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
		memcpy(at, stamp, 14);
		rc = fs_write_atomic(path, data, len);
	}
	free(data);
	return rc;
}

int plot_draw(const struct plot *p, const struct plot_figure *f)
{
	int rc = -1;
	char *script = xasprintf("%s/%s.gp", p->scripts_dir, f->name);
	char *header = xasprintf("%s.gp", f->name);
	char *header_path = fs_join(p->fig_dir, header);
	char *log = xasprintf("%s/%s.log", p->fig_dir, f->name);
	char *png = xasprintf("%s/%s.png", p->fig_dir, f->name);
	char *qscript = plot_quote(script), *qcommon = NULL, *qname = plot_quote(f->name);
	char *common = xasprintf("%s/common.gp", p->scripts_dir);
	qcommon = plot_quote(common);
	struct strbuf text = STRBUF_INIT;

	if (!fs_is_file(script)) {
		error("cannot find the plot script '%s'", script);
		goto out;
	}
	strbuf_printf(&text,
		      "# %s.gp: inputs of the figure '%s', then its script.\n"
		      "# Redraw: gnuplot %s.gp (PNG) or gnuplot -e \"fmt='pdf'\" %s.gp (PDF, or 'svg').\n"
		      "if (!exists(\"fmt\")) fmt = 'png'\n"
		      "name = %s\n"
		      "if (!exists(\"width\")) width = %d\n"
		      "if (!exists(\"height\")) height = %d\n"
		      "common = %s\n",
		      f->name, f->name, f->name, f->name, qname, f->width, f->height, qcommon);
	if (f->vars && *f->vars) {
		strbuf_puts(&text, f->vars);
		if (f->vars[strlen(f->vars) - 1] != '\n')
			strbuf_putc(&text, '\n');
	}
	strbuf_printf(&text, "load %s\n", qscript);
	if (strbuf_write_file(&text, header_path) != 0)
		goto out;
	if (run_gnuplot(p, "fmt='png'", header, log, 0) != 0)
		goto out;
	int w = 0, h = 0;
	if (plot_png_size(png, &w, &h) != 0)
		goto out;
	if (w != f->width || h != f->height) {
		error("'%s': gnuplot drew %dx%d pixels, expected %dx%d", png, w, h, f->width, f->height);
		goto out;
	}
	if (p->pdf) {
		char *pdf = xasprintf("%s/%s.pdf", p->fig_dir, f->name);
		int prc = run_gnuplot(p, "fmt='pdf'", header, log, 1);
		if (prc == 0)
			prc = plot_pdf_pin_date(pdf);
		free(pdf);
		if (prc != 0 || run_gnuplot(p, "fmt='svg'", header, log, 1) != 0)
			goto out;
	}
	rc = 0;
out:
	strbuf_release(&text);
	free(common);
	free(qcommon);
	free(qname);
	free(qscript);
	free(png);
	free(log);
	free(header_path);
	free(header);
	free(script);
	return rc;
}

int plot_png_size(const char *path, int *width, int *height)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	unsigned char b[24];
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return error("cannot read '%s': %s", path, strerror(errno));
	size_t n = fread(b, 1, sizeof b, fp);
	fclose(fp);
	/* signature (8), IHDR length (4), "IHDR" (4), width (4), height (4), big-endian */
	if (n < sizeof b || memcmp(b, sig, 8) != 0 || memcmp(b + 12, "IHDR", 4) != 0)
		return error("'%s': not a PNG file (no IHDR chunk)", path);
	unsigned long wv = (unsigned long)b[16] << 24 | (unsigned long)b[17] << 16 | (unsigned long)b[18] << 8 | b[19];
	unsigned long hv = (unsigned long)b[20] << 24 | (unsigned long)b[21] << 16 | (unsigned long)b[22] << 8 | b[23];
	if (wv == 0 || hv == 0 || wv > INT_MAX || hv > INT_MAX)
		return error("'%s': invalid PNG size %lux%lu", path, wv, hv);
	*width = (int)wv;
	*height = (int)hv;
	return 0;
}
