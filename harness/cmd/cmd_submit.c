/* cmd_submit.c: `darkfold submit`: the pending units of an experiment as
 * one Slurm job array, and its report as a job that waits for the array. */
#include "commands.h"

#include "cost.h"
#include "dataset.h"
#include "error.h"
#include "experiment.h"
#include "fsutil.h"
#include "slurm.h"
#include "study.h"
#include "unitlock.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cmd_submit_usage[] =
	"usage: darkfold submit EXPERIMENT [--partition P] [--time T] [--mem M]\n"
	"                       [--account A] [--max-running N] [--dry-run]\n"
	"\n"
	"Submit the experiment's pending units to Slurm with sbatch: one job array,\n"
	"one task per unit that is neither done nor running (a failed or interrupted\n"
	"unit resumes from its checkpoint), each with --cpus-per-task from\n"
	"training.threads; then the report as a job that starts when every task has\n"
	"ended, whatever its outcome (--dependency=afterany). The dataset and the\n"
	"image cache are made first, here, so that tasks never race to make them.\n"
	"Run it from the project folder, on a filesystem the nodes share.\n"
	"\n"
	"  --partition P    sbatch --partition\n"
	"  --time T         sbatch --time for each task and the report (e.g. 02:00:00)\n"
	"  --mem M          sbatch --mem per task (e.g. 4G); default: estimated for\n"
	"                   the largest pending model by building its network\n"
	"                   (docs/scaling.md)\n"
	"  --account A      sbatch --account\n"
	"  --max-running N  at most N tasks at once (--array=...%N)\n"
	"  --dry-run        write the job scripts and print the sbatch commands\n"
	"                   without running them\n"
	"\n"
	"Job scripts and Slurm logs go to <results>/<experiment>/slurm/. Prints the\n"
	"job ids. Follow the study with `darkfold plan EXPERIMENT`.";

struct submit_opts {
	const char *path, *partition, *time, *mem, *account;
	int max_running, dry_run;
};

/* --partition, --time, --mem, --account: passed to sbatch as --name=value,
 * so a value may be neither empty nor hold a space. */
static int set_word(const struct cmd_option *opt, const char *v)
{
	if (!*v || strpbrk(v, " \t\n")) {
		usage_error("submit: --%s needs a value without spaces", opt->name);
		return -1;
	}
	*(const char **)opt->value = v;
	return 0;
}

/* Parse argv into o. Returns 0 to go on, or -1 to stop with exit status
 * *status (2 for a usage error, 0 after --help). */
static int parse_args(int argc, char **argv, struct submit_opts *o, int *status)
{
	*o = (struct submit_opts){ 0 };
	const struct cmd_option opts[] = {
		OPT_CALLBACK("partition", 0, &o->partition, set_word),
		OPT_CALLBACK("time", 0, &o->time, set_word),
		OPT_CALLBACK("mem", 0, &o->mem, set_word),
		OPT_CALLBACK("account", 0, &o->account, set_word),
		OPT_INT("max-running", 0, &o->max_running, 1, INT_MAX),
		OPT_FLAG("dry-run", 0, &o->dry_run),
		OPT_END(),
	};
	*status = cmd_parse_one(argc, argv, opts, cmd_submit_usage, "experiment", &o->path);
	return *status >= 0 ? -1 : 0;
}

/* The pending units: neither done nor locked by a running process. */
static int pending_units(const struct experiment *e, struct study_unit **out, int *n_out,
			 int *n_all)
{
	struct study_unit *all;
	if (study_units(e, NULL, -1, -1, &all, n_all) != 0)
		return -1;
	int n = 0;
	for (int i = 0; i < *n_all; i++) {
		const struct study_unit *u = &all[i];
		if (study_unit_state(e, u, NULL) != STUDY_DONE &&
		    !unitlock_is_held(e, e->models[u->model].name, u->repeat, u->fold))
			all[n++] = *u;
	}
	*out = all;
	*n_out = n;
	return 0;
}

/* The largest memory estimate over the pending units' models, in MiB,
 * printed per model. */
static int estimate_memory(const struct experiment *e, const struct study_unit *units, int n,
			   long *mib)
{
	struct dataset d;
	if (study_scan(e, &d) != 0)
		return -1;
	int n_images = d.n;
	dataset_release(&d);
	*mib = 0;
	printf("submit: memory per task, estimated from each model's network and %d images:",
	       n_images);
	for (int m = 0; m < e->n_models; m++) {
		int used = 0;
		for (int i = 0; i < n && !used; i++)
			used = units[i].model == m;
		long x;
		if (!used)
			continue;
		if (cost_memory_mib(e, m, n_images, &x) != 0) {
			printf("\n");
			return -1;
		}
		printf(" %s %ldM", e->models[m].name, x);
		*mib = x > *mib ? x : *mib;
	}
	printf("\n");
	return 0;
}

/* A file of text written atomically and made executable. */
static int write_script(const char *path, const char *text)
{
	if (fs_write_atomic(path, text, strlen(text)) != 0)
		return -1;
	if (chmod(path, 0755) != 0)
		return error("cannot make '%s' executable: %s", path, strerror(errno));
	return 0;
}

/* "sbatch a b c" as one line (for --dry-run and messages). */
static void print_command(char *const argv[])
{
	printf("  ");
	for (int i = 0; argv[i]; i++) {
		char *q = slurm_shell_quote(argv[i]);
		int plain = !strpbrk(argv[i], " \t'\"$&;|<>()*?[]\\`");
		printf("%s%s", i ? " " : "", plain ? argv[i] : q);
		free(q);
	}
	printf("\n");
}

/* The first N >= 1 for which <dir>/units-N.sh does not exist. */
static int next_serial(const char *dir)
{
	for (int k = 1;; k++) {
		char *p = xasprintf("%s/units-%d.sh", dir, k);
		int taken = fs_is_file(p);
		free(p);
		if (!taken)
			return k;
	}
}

/* Append the pass-through options to argv at *k. */
static void add_common(const struct submit_opts *o, char **argv, int *k, char **owned, int *n_owned)
{
	if (o->partition)
		argv[(*k)++] = owned[(*n_owned)++] = xasprintf("--partition=%s", o->partition);
	if (o->time)
		argv[(*k)++] = owned[(*n_owned)++] = xasprintf("--time=%s", o->time);
	if (o->account)
		argv[(*k)++] = owned[(*n_owned)++] = xasprintf("--account=%s", o->account);
}

/* What submit() makes and the quoted words its scripts use. */
struct submission {
	const struct experiment *e;
	const struct submit_opts *o;
	const struct study_unit *units;
	int n, n_all;
	long mib;                      /* --mem per task when o->mem is NULL */
	char *results, *dir;           /* <results>/<experiment>, and its slurm/ */
	char *units_sh, *report_sh;    /* the job scripts */
	char *q_cwd, *q_exe, *q_exp;   /* shell-quoted folder, darkfold and experiment */
	char *owned[16];               /* sbatch arguments to free */
	int n_owned;
	char array_id[32], report_id[32];
};

/* The array task script: task i runs the i-th pending unit. Returns 0 or -1. */
static int write_units_script(const struct submission *s)
{
	const struct experiment *e = s->e;
	size_t cap = 1024 + (size_t)s->n * 64 + strlen(s->q_cwd) + strlen(s->q_exe) +
		     strlen(s->q_exp);
	char *text = xmalloc(cap);
	size_t at = (size_t)snprintf(text, cap,
				     "#!/bin/sh\n"
				     "# Written by darkfold submit %s: array task i trains the i-th\n"
				     "# unit that was pending then.\n"
				     "cd %s || exit 1\n"
				     "export OPENBLAS_NUM_THREADS=%d\n"
				     "case \"$SLURM_ARRAY_TASK_ID\" in\n",
				     e->path, s->q_cwd, e->training.threads);
	for (int i = 0; i < s->n; i++)
		at += (size_t)snprintf(text + at, cap - at, "%d) set -- %s %d %d ;;\n", i,
				       e->models[s->units[i].model].name, s->units[i].repeat,
				       s->units[i].fold);
	snprintf(text + at, cap - at,
		 "*) echo \"darkfold: no unit for array task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\n"
		 "esac\n"
		 "echo \"darkfold: task $SLURM_ARRAY_TASK_ID: unit $1 r$2-f$3 on $(hostname)\"\n"
		 "exec %s run %s --model \"$1\" --repeat \"$2\" --fold \"$3\"\n",
		 s->q_exe, s->q_exp);
	int rc = write_script(s->units_sh, text);
	free(text);
	return rc;
}

/* The report's script. Returns 0 or -1. */
static int write_report_script(const struct submission *s)
{
	char *text = xasprintf("#!/bin/sh\n"
			       "# Written by darkfold submit %s: the report, once every unit has "
			       "ended.\n"
			       "cd %s || exit 1\n"
			       "exec %s report %s\n",
			       s->e->path, s->q_cwd, s->q_exe, s->q_exp);
	int rc = write_script(s->report_sh, text);
	free(text);
	return rc;
}

/* An sbatch argument that s frees. */
static char *owned(struct submission *s, char *arg)
{
	s->owned[s->n_owned++] = arg;
	return arg;
}

/* Submit the job array (or print its command). Returns 0 or -1. */
static int submit_array(struct submission *s)
{
	const struct submit_opts *o = s->o;
	char *argv[16];
	int k = 0;
	argv[k++] = "sbatch";
	argv[k++] = "--parsable";
	argv[k++] = owned(s, xasprintf("--job-name=darkfold-%s", s->e->name));
	argv[k++] = owned(s, o->max_running ? xasprintf("--array=0-%d%%%d", s->n - 1, o->max_running)
					    : xasprintf("--array=0-%d", s->n - 1));
	argv[k++] = owned(s, xasprintf("--cpus-per-task=%d", s->e->training.threads));
	argv[k++] = owned(s, o->mem ? xasprintf("--mem=%s", o->mem) : xasprintf("--mem=%ldM", s->mib));
	argv[k++] = owned(s, xasprintf("--output=%s/%%A_%%a.out", s->dir));
	add_common(o, argv, &k, s->owned, &s->n_owned);
	argv[k++] = s->units_sh;
	argv[k] = NULL;
	printf("submit: %s: %d of %d units pending: job array of %d task%s (%s)\n", s->e->name, s->n,
	       s->n_all, s->n, s->n == 1 ? "" : "s", s->units_sh);
	if (o->dry_run) {
		print_command(argv);
		return 0;
	}
	return slurm_sbatch(argv, s->array_id, sizeof s->array_id) == 0 ? 0 : -1;
}

/* Submit the report's job (or print its command). Returns 0 or -1. */
static int submit_report(struct submission *s)
{
	char *argv[12];
	int r = 0;
	argv[r++] = "sbatch";
	argv[r++] = "--parsable";
	argv[r++] = owned(s, xasprintf("--job-name=darkfold-%s-report", s->e->name));
	argv[r++] = owned(s, xasprintf("--dependency=afterany:%s", s->array_id));
	argv[r++] = "--cpus-per-task=1";
	argv[r++] = "--mem=1G";
	argv[r++] = owned(s, xasprintf("--output=%s/%%j-report.out", s->dir));
	add_common(s->o, argv, &r, s->owned, &s->n_owned);
	argv[r++] = s->report_sh;
	argv[r] = NULL;
	if (s->o->dry_run) {
		print_command(argv);
		return 0;
	}
	if (slurm_sbatch(argv, s->report_id, sizeof s->report_id) == 0)
		return 0;
	return error("submit: the units were submitted as job %s but the report was not; run "
		     "'darkfold report %s' when they have ended",
		     s->array_id, s->e->path);
}

/* The closing lines: the job ids, logs and where the results go. */
static void print_submitted(const struct submission *s)
{
	if (s->o->dry_run) {
		printf("submit: dry run: nothing submitted\n");
		return;
	}
	const char *a = s->array_id;
	printf("submit: units: job %s, tasks %s_0 to %s_%d; logs %s/%s_<task>.out\n", a, a, a,
	       s->n - 1, s->dir, a);
	printf("submit: report: job %s, after every task of job %s has ended (afterany); "
	       "log %s/%s-report.out\n",
	       s->report_id, a, s->dir, s->report_id);
	printf("submit: results in %s/, the report in %s/report.md; follow with: darkfold "
	       "plan %s\n",
	       s->results, s->results, s->e->path);
}

static void submission_release(struct submission *s)
{
	for (int i = 0; i < s->n_owned; i++)
		free(s->owned[i]);
	free(s->q_cwd);
	free(s->q_exe);
	free(s->q_exp);
	free(s->units_sh);
	free(s->report_sh);
	free(s->dir);
	free(s->results);
}

static int submit(const struct experiment *e, const struct submit_opts *o,
		  const struct study_unit *units, int n, int n_all)
{
	char exe[PATH_MAX], cwd[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len <= 0)
		return error("submit: cannot find darkfold's own path: %s", strerror(errno));
	exe[len] = '\0';
	if (!getcwd(cwd, sizeof cwd))
		return error("submit: cannot read the current folder: %s", strerror(errno));
	struct submission s = { .e = e, .o = o, .units = units, .n = n, .n_all = n_all,
				.array_id = "ARRAY", .report_id = "REPORT" };
	if (!o->mem && estimate_memory(e, units, n, &s.mib) != 0)
		return -1;
	s.results = experiment_results_path(e);
	s.dir = xasprintf("%s/slurm", s.results);
	int serial = fs_mkdir_p(s.dir) == 0 ? next_serial(s.dir) : -1;
	s.units_sh = xasprintf("%s/units-%d.sh", s.dir, serial);
	s.report_sh = xasprintf("%s/report-%d.sh", s.dir, serial);
	s.q_cwd = slurm_shell_quote(cwd);
	s.q_exe = slurm_shell_quote(exe);
	s.q_exp = slurm_shell_quote(e->path);
	int rc = -1;
	if (serial < 0)
		error("submit: cannot create '%s': %s", s.dir, strerror(errno));
	else if (write_units_script(&s) == 0 && write_report_script(&s) == 0 &&
		 submit_array(&s) == 0 && submit_report(&s) == 0)
		rc = 0;
	if (rc == 0)
		print_submitted(&s);
	submission_release(&s);
	return rc;
}

int cmd_submit(int argc, char **argv)
{
	struct submit_opts o;
	int status;
	if (parse_args(argc, argv, &o, &status) != 0)
		return status;
	struct experiment e;
	if (experiment_load(o.path, &e) != 0)
		return 1;
	struct study_unit *units = NULL;
	int n = 0, n_all = 0, rc = 1;
	if (study_prepare_data(&e) != 0 || study_prepare_cache(&e) != 0 ||
	    pending_units(&e, &units, &n, &n_all) != 0)
		goto out;
	if (n == 0) {
		printf("submit: %s: no pending unit (all %d done or running); nothing submitted\n",
		       e.name, n_all);
		rc = 0;
		goto out;
	}
	rc = submit(&e, &o, units, n, n_all) == 0 ? 0 : 1;
out:
	free(units);
	experiment_release(&e);
	return rc;
}
