/* cmd_run.c: `darkfold run`: train the units of an experiment that are not
 * up to date, each in a process of its own, and report progress. */
#include "commands.h"

#include "error.h"
#include "experiment.h"
#include "fsutil.h"
#include "json.h"
#include "preflight.h"
#include "result.h"
#include "study.h"
#include "train.h"
#include "unit.h"
#include "unitlock.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char cmd_run_usage[] =
	"usage: darkfold run EXPERIMENT [--model M] [--repeat R] [--fold F] [--force]\n"
	"\n"
	"Train and evaluate the units (model, repeat, fold) of an experiment, one\n"
	"process per unit, one after the other. A unit whose result file is up to\n"
	"date (same cfg, experiment, data and darkfold version) is skipped; an\n"
	"interrupted unit resumes from its checkpoint.\n"
	"\n"
	"  --model M    only the units of model M\n"
	"  --repeat R   only repeat R (0-based)\n"
	"  --fold F     only fold F (0-based)\n"
	"  --force      retrain the selected units from scratch even if up to date\n"
	"\n"
	"A unit holds an exclusive lock (a .lock file beside its result) while it\n"
	"trains. A unit whose lock another process holds is not run: run says so\n"
	"and goes on with the other units.\n"
	"\n"
	"Prints one line per unit as it starts and as it finishes, with the study's\n"
	"units done/total and an estimate of the time left (from the finished\n"
	"units' timing.train_seconds; under make -jN divided among N jobs).\n"
	"Exit status 1 if any unit failed, else 3 if a unit was locked by another\n"
	"process, else 0.";

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Parallel jobs when run by make -jN (read from MAKEFLAGS), else 1. */
static int make_jobs(int n_units)
{
	const char *mf = getenv("MAKEFLAGS");
	if (!mf)
		return 1;
	for (const char *p = mf; (p = strstr(p, "-j")) != NULL; p += 2) {
		if (p != mf && p[-1] != ' ')
			continue;
		if (p[2] >= '0' && p[2] <= '9')
			return atoi(p + 2) > 0 ? atoi(p + 2) : 1;
		if (p[2] == '\0' || p[2] == ' ')
			return n_units > 0 ? n_units : 1; /* -j without a limit */
	}
	return 1;
}

struct progress {
	const struct experiment *e;
	struct study_unit *all; /* every unit of the study */
	int n_all;
	double *seconds;          /* (n_all) train_seconds of a finished unit, else -1 */
	int *remaining;           /* (n_all) 1 if not done */
	enum study_state *state;  /* (n_all) */
	long long *stamp;         /* (n_all) result file's mtime and size when state was read */
	int jobs;
	int done;
};

/* A cheap fingerprint of a result file: changes when it is rewritten. */
static long long file_stamp(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec + st.st_size;
}

/* Re-read the state of every unit whose result file changed since the last
 * scan: other processes (make -j) finish units too. Reading a state checks
 * the unit's inputs, which is not free, so unchanged files are not re-read. */
static void progress_scan(struct progress *p)
{
	p->done = 0;
	for (int i = 0; i < p->n_all; i++) {
		const struct study_unit *u = &p->all[i];
		char *path = unit_result_path(p->e, p->e->models[u->model].name, u->repeat, u->fold);
		long long stamp = file_stamp(path);
		free(path);
		if (stamp != p->stamp[i]) {
			p->seconds[i] = -1;
			p->state[i] = study_unit_state(p->e, u, &p->seconds[i]);
			p->stamp[i] = stamp;
		}
		p->remaining[i] = p->state[i] != STUDY_DONE;
		p->done += p->state[i] == STUDY_DONE;
	}
}

/* Index of unit u in p->all. */
static int progress_index(const struct progress *p, const struct study_unit *u)
{
	for (int i = 0; i < p->n_all; i++)
		if (p->all[i].model == u->model && p->all[i].repeat == u->repeat &&
		    p->all[i].fold == u->fold)
			return i;
	return -1;
}

/* "12/20 done, study ETA 14m07s" */
static void progress_text(const struct progress *p, char *buf, size_t size)
{
	int complete;
	double eta = study_eta(p->all, p->n_all, p->seconds, p->remaining, p->jobs, &complete);
	char d[32];
	study_format_duration(eta, d, sizeof d);
	if (p->done == p->n_all)
		snprintf(buf, size, "%d/%d done", p->done, p->n_all);
	else if (isnan(eta))
		snprintf(buf, size, "%d/%d done, study ETA after the first unit", p->done, p->n_all);
	else
		snprintf(buf, size, "%d/%d done, study ETA %s%s", p->done, p->n_all,
			 complete ? "" : ">= ", d);
}

/* status and reason of a unit result file, for the finish line. */
static void read_outcome(const struct experiment *e, const struct study_unit *u, int urc,
			 char *status, size_t n_status, char *reason, size_t n_reason)
{
	snprintf(status, n_status, "no result file");
	reason[0] = '\0';
	const char *model = e->models[u->model].name;
	char *path = unit_failed_path(e, model, u->repeat, u->fold);
	if (urc == 0 || !fs_is_file(path)) {
		free(path);
		path = unit_result_path(e, model, u->repeat, u->fold);
	}
	struct unit_result res;
	if (fs_is_file(path) && result_read(path, &res) == 0) {
		snprintf(status, n_status, "%s", result_status_name(res.status));
		if (res.reason)
			snprintf(reason, n_reason, "%s", res.reason);
		result_release(&res);
	}
	free(path);
}

/* SIGTERM and SIGINT while a unit runs: the parent passes the signal on to
 * the unit's process (which stops after its current batch, keeping its last
 * checkpoint) and starts no further unit. Set by signal handlers only. */
static volatile sig_atomic_t child_pid, stop_signal;

static void forward_signal(int sig)
{
	stop_signal = sig;
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

static void on_signals(void (*handler)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* Train one unit in a child process. Returns 0 when the child reported
 * success, -1 otherwise (with a message saying how it ended). */
static int run_child(const struct experiment *e, const struct study_unit *u, const char *label)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return error("%s: cannot start a process: %s", label, strerror(errno));
	if (pid == 0) {
		on_signals(train_interrupt);
		if (stop_signal)
			train_interrupt(stop_signal);
		int rc = unit_run(e, e->models[u->model].name, u->repeat, u->fold);
		fflush(stdout);
		fflush(stderr);
		_exit(rc == 0 ? 0 : 1);
	}
	child_pid = pid;
	if (stop_signal) /* came between the check and the fork */
		kill(pid, stop_signal);
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return error("%s: cannot wait for process %ld: %s", label, (long)pid,
				     strerror(errno));
	}
	child_pid = 0;
	if (WIFEXITED(st))
		return WEXITSTATUS(st) == 0 ? 0 : -1;
	if (WIFSIGNALED(st))
		return error("%s: the unit's process was killed by signal %d (%s)", label,
			     WTERMSIG(st), strsignal(WTERMSIG(st)));
	return -1;
}

/* The refusal of a unit that another process is training. */
static void report_busy(const struct experiment *e, const struct study_unit *u, const char *label)
{
	char *path = unitlock_path(e, e->models[u->model].name, u->repeat, u->fold);
	fprintf(stderr, "run: %s: not run: another process is training it (it holds '%s')\n", label,
		path);
	free(path);
}

struct run_opts {
	const char *path, *model;
	int repeat, fold, force;
};

/* --model: a non-empty model name. */
static int set_model(const struct cmd_option *opt, const char *v)
{
	if (!*v) {
		usage_error("run: --model needs a model name");
		return -1;
	}
	*(const char **)opt->value = v;
	return 0;
}

/* Parse argv into o. Returns 0 to go on, or -1 to stop with exit status
 * *status (2 for a usage error, 0 after --help). */
static int parse_args(int argc, char **argv, struct run_opts *o, int *status)
{
	*o = (struct run_opts){ NULL, NULL, -1, -1, 0 };
	const struct cmd_option opts[] = {
		OPT_CALLBACK("model", 0, &o->model, set_model),
		OPT_INT("repeat", 0, &o->repeat, 0, INT_MAX),
		OPT_INT("fold", 0, &o->fold, 0, INT_MAX),
		OPT_FLAG("force", 0, &o->force),
		OPT_END(),
	};
	*status = cmd_parse_one(argc, argv, opts, cmd_run_usage, "experiment", &o->path);
	return *status >= 0 ? -1 : 0;
}

/* The synthetic set and the image cache, created once under a lock when
 * several units start together. */
static int prepare(const struct experiment *e)
{
	int lock = preflight_lock(e);
	if (lock < 0)
		return -1;
	int rc = study_prepare_data(e) != 0 || study_prepare_cache(e) != 0 ? -1 : 0;
	preflight_unlock(lock);
	return rc;
}

/* Allocate p's per-unit arrays for its n_all units; no state read yet. */
static void progress_init(struct progress *p)
{
	p->seconds = xcalloc((size_t)p->n_all, sizeof *p->seconds);
	p->remaining = xcalloc((size_t)p->n_all, sizeof *p->remaining);
	p->state = xcalloc((size_t)p->n_all, sizeof *p->state);
	p->stamp = xcalloc((size_t)p->n_all, sizeof *p->stamp);
	for (int i = 0; i < p->n_all; i++)
		p->stamp[i] = -2; /* never read */
	p->jobs = make_jobs(p->n_all);
}

static void progress_release(struct progress *p)
{
	free(p->all);
	free(p->seconds);
	free(p->remaining);
	free(p->state);
	free(p->stamp);
}

/* What the units of one run came to. */
struct run_counts {
	int trained, skipped, failed, busy;
};

/* Rescan and set *st to u's state. If u is done and not forced, say it is
 * up to date and return 1; else return 0. */
static int up_to_date(struct progress *p, const struct study_unit *u, int force,
		      const char *label, enum study_state *st)
{
	char prog[160];
	progress_scan(p);
	*st = p->state[progress_index(p, u)];
	if (*st != STUDY_DONE || force)
		return 0;
	progress_text(p, prog, sizeof prog);
	printf("run: %s: up to date (%s)\n", label, prog);
	return 1;
}

/* Train unit u, whose lock the caller holds, in a child process and print
 * how it ended; releases the lock. st is its state before. */
static void train_unit(struct progress *p, const struct study_unit *u, const char *label,
		       enum study_state st, int lock, struct run_counts *c)
{
	char prog[160], status[32], reason[256], took[32];
	progress_text(p, prog, sizeof prog);
	printf("run: %s: started%s (%s)\n", label,
	       st == STUDY_OUTDATED ? ", its result was outdated" :
	       st == STUDY_FAILED   ? ", retrying after a failure" :
				      "",
	       prog);
	double t = now_seconds();
	int urc = run_child(p->e, u, label);
	unitlock_release(lock);
	double wall = now_seconds() - t;
	read_outcome(p->e, u, urc, status, sizeof status, reason, sizeof reason);
	study_format_duration(wall, took, sizeof took);
	progress_scan(p);
	progress_text(p, prog, sizeof prog);
	if (urc == 0) {
		c->trained++;
		printf("run: %s: %s in %s%s%s (%s)\n", label, status, took, reason[0] ? ": " : "",
		       reason, prog);
	} else {
		c->failed++;
		printf("run: %s: FAILED after %s: %s (%s)\n", label, took, reason[0] ? reason : status,
		       prog);
	}
	fflush(stdout);
}

/* Run unit u unless it is up to date or another process holds its lock;
 * count the outcome in c. */
static void run_unit(struct progress *p, const struct run_opts *o, const struct study_unit *u,
		     struct run_counts *c)
{
	const struct experiment *e = p->e;
	char unit[32], label[128];
	enum study_state st;
	study_unit_name(u, unit, sizeof unit);
	snprintf(label, sizeof label, "%s %s %s", e->name, e->models[u->model].name, unit);
	if (up_to_date(p, u, o->force, label, &st)) {
		c->skipped++;
		return;
	}
	int lock;
	int lrc = unitlock_acquire(e, e->models[u->model].name, u->repeat, u->fold, &lock);
	if (lrc != 0) {
		if (lrc > 0)
			report_busy(e, u, label);
		c->busy += lrc > 0;
		c->failed += lrc < 0;
		return;
	}
	/* Another process may have finished the unit before we took the lock. */
	if (up_to_date(p, u, o->force, label, &st)) {
		unitlock_release(lock);
		c->skipped++;
		return;
	}
	if (o->force && study_forget_unit(e, u) != 0) {
		unitlock_release(lock);
		c->failed++;
		return;
	}
	train_unit(p, u, label, st, lock, c);
}

/* The closing lines of a run of n_sel units that started at t0. */
static void print_totals(const struct experiment *e, int n_sel, const struct run_counts *c,
			 double t0)
{
	char took[32];
	study_format_duration(now_seconds() - t0, took, sizeof took);
	if (n_sel > 1 || c->failed)
		printf("run: %s: %d unit%s: %d trained, %d up to date, %d failed, in %s\n", e->name,
		       n_sel, n_sel == 1 ? "" : "s", c->trained, c->skipped, c->failed, took);
	if (c->busy)
		printf("run: %s: %d unit%s not run: locked by another process\n", e->name, c->busy,
		       c->busy == 1 ? "" : "s");
	if (stop_signal)
		printf("run: %s: interrupted by signal %d (%s); rerun to resume\n", e->name,
		       (int)stop_signal, strsignal(stop_signal));
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	int status;
	if (parse_args(argc, argv, &o, &status) != 0)
		return status;
	struct experiment e;
	if (experiment_load(o.path, &e) != 0)
		return 1;
	struct study_unit *sel = NULL;
	struct progress p = { .e = &e };
	int n_sel = 0, rc = 1;
	if (study_units(&e, o.model, o.repeat, o.fold, &sel, &n_sel) != 0 ||
	    study_units(&e, NULL, -1, -1, &p.all, &p.n_all) != 0 || prepare(&e) != 0 ||
	    preflight_check(&e, n_sel) != 0)
		goto out;
	progress_init(&p);
	struct run_counts c = { 0, 0, 0, 0 };
	double t0 = now_seconds();
	on_signals(forward_signal);
	for (int i = 0; i < n_sel && !stop_signal; i++)
		run_unit(&p, &o, &sel[i], &c);
	print_totals(&e, n_sel, &c, t0);
	rc = c.failed || stop_signal ? 1 : c.busy ? UNITLOCK_EXIT_BUSY : 0;
out:
	free(sel);
	progress_release(&p);
	experiment_release(&e);
	return rc;
}
