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

static int parse_args(int argc, char **argv, struct submit_opts *o)
{
	*o = (struct submit_opts){ 0 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;
		const char **slot = !strcmp(a, "--partition") ? &o->partition :
				    !strcmp(a, "--time")      ? &o->time :
				    !strcmp(a, "--mem")       ? &o->mem :
				    !strcmp(a, "--account")   ? &o->account :
								NULL;
		if (slot || !strcmp(a, "--max-running")) {
			if (!next || !*next || strpbrk(next, " \t\n")) {
				fprintf(stderr, "error: submit: %s needs a value without spaces\n", a);
				return -1;
			}
			i++;
			if (slot) {
				*slot = next;
				continue;
			}
			char *end;
			long n = strtol(next, &end, 10);
			if (*end || n < 1 || n > INT_MAX) {
				fprintf(stderr,
					"error: submit: --max-running: expected a positive integer, got '%s'\n",
					next);
				return -1;
			}
			o->max_running = (int)n;
		} else if (!strcmp(a, "--dry-run")) {
			o->dry_run = 1;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "error: submit: unknown option '%s'\n%s\n", a, cmd_submit_usage);
			return -1;
		} else if (!o->path) {
			o->path = a;
		} else {
			fprintf(stderr, "error: submit: one experiment at a time ('%s' and '%s')\n",
				o->path, a);
			return -1;
		}
	}
	if (!o->path) {
		fprintf(stderr, "error: submit: no experiment given\n%s\n", cmd_submit_usage);
		return -1;
	}
	return 0;
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

	long mib = 0;
	if (!o->mem && estimate_memory(e, units, n, &mib) != 0)
		return -1;
	char *results = experiment_results_path(e);
	char *dir = xasprintf("%s/slurm", results);
	int serial = fs_mkdir_p(dir) == 0 ? next_serial(dir) : -1;
	char *units_sh = xasprintf("%s/units-%d.sh", dir, serial);
	char *report_sh = xasprintf("%s/report-%d.sh", dir, serial);
	char *q_cwd = slurm_shell_quote(cwd), *q_exe = slurm_shell_quote(exe);
	char *q_exp = slurm_shell_quote(e->path);
	char *owned[16] = { 0 };
	int n_owned = 0, rc = -1;
	if (serial < 0) {
		error("submit: cannot create '%s': %s", dir, strerror(errno));
		goto out;
	}

	/* The array task script: task i runs the i-th pending unit. */
	size_t cap = 1024 + (size_t)n * 64 + strlen(q_cwd) + strlen(q_exe) + strlen(q_exp);
	char *text = xmalloc(cap);
	size_t at = (size_t)snprintf(text, cap,
				     "#!/bin/sh\n"
				     "# Written by darkfold submit %s: array task i trains the i-th\n"
				     "# unit that was pending then.\n"
				     "cd %s || exit 1\n"
				     "export OPENBLAS_NUM_THREADS=%d\n"
				     "case \"$SLURM_ARRAY_TASK_ID\" in\n",
				     e->path, q_cwd, e->training.threads);
	for (int i = 0; i < n; i++)
		at += (size_t)snprintf(text + at, cap - at, "%d) set -- %s %d %d ;;\n", i,
				       e->models[units[i].model].name, units[i].repeat, units[i].fold);
	snprintf(text + at, cap - at,
		 "*) echo \"darkfold: no unit for array task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\n"
		 "esac\n"
		 "echo \"darkfold: task $SLURM_ARRAY_TASK_ID: unit $1 r$2-f$3 on $(hostname)\"\n"
		 "exec %s run %s --model \"$1\" --repeat \"$2\" --fold \"$3\"\n",
		 q_exe, q_exp);
	int wrc = write_script(units_sh, text);
	free(text);
	if (wrc != 0)
		goto out;
	text = xasprintf("#!/bin/sh\n"
			 "# Written by darkfold submit %s: the report, once every unit has ended.\n"
			 "cd %s || exit 1\n"
			 "exec %s report %s\n",
			 e->path, q_cwd, q_exe, q_exp);
	wrc = write_script(report_sh, text);
	free(text);
	if (wrc != 0)
		goto out;

	char *argv[16];
	int k = 0;
	argv[k++] = "sbatch";
	argv[k++] = "--parsable";
	argv[k++] = owned[n_owned++] = xasprintf("--job-name=darkfold-%s", e->name);
	argv[k++] = owned[n_owned++] =
		o->max_running ? xasprintf("--array=0-%d%%%d", n - 1, o->max_running)
			       : xasprintf("--array=0-%d", n - 1);
	argv[k++] = owned[n_owned++] = xasprintf("--cpus-per-task=%d", e->training.threads);
	argv[k++] = owned[n_owned++] = o->mem ? xasprintf("--mem=%s", o->mem)
					       : xasprintf("--mem=%ldM", mib);
	argv[k++] = owned[n_owned++] = xasprintf("--output=%s/%%A_%%a.out", dir);
	add_common(o, argv, &k, owned, &n_owned);
	argv[k++] = units_sh;
	argv[k] = NULL;

	char array_id[32] = "ARRAY", report_id[32] = "REPORT";
	printf("submit: %s: %d of %d units pending: job array of %d task%s (%s)\n", e->name, n,
	       n_all, n, n == 1 ? "" : "s", units_sh);
	if (o->dry_run)
		print_command(argv);
	else if (slurm_sbatch(argv, array_id, sizeof array_id) != 0)
		goto out;

	char *rargv[12];
	int r = 0;
	rargv[r++] = "sbatch";
	rargv[r++] = "--parsable";
	rargv[r++] = owned[n_owned++] = xasprintf("--job-name=darkfold-%s-report", e->name);
	rargv[r++] = owned[n_owned++] = xasprintf("--dependency=afterany:%s", array_id);
	rargv[r++] = "--cpus-per-task=1";
	rargv[r++] = "--mem=1G";
	rargv[r++] = owned[n_owned++] = xasprintf("--output=%s/%%j-report.out", dir);
	add_common(o, rargv, &r, owned, &n_owned);
	rargv[r++] = report_sh;
	rargv[r] = NULL;
	if (o->dry_run)
		print_command(rargv);
	else if (slurm_sbatch(rargv, report_id, sizeof report_id) != 0) {
		error("submit: the units were submitted as job %s but the report was not; run "
		      "'darkfold report %s' when they have ended",
		      array_id, e->path);
		goto out;
	}
	if (o->dry_run) {
		printf("submit: dry run: nothing submitted\n");
	} else {
		printf("submit: units: job %s, tasks %s_0 to %s_%d; logs %s/%s_<task>.out\n", array_id,
		       array_id, array_id, n - 1, dir, array_id);
		printf("submit: report: job %s, after every task of job %s has ended (afterany); "
		       "log %s/%s-report.out\n",
		       report_id, array_id, dir, report_id);
		printf("submit: results in %s/, the report in %s/report.md; follow with: darkfold "
		       "plan %s\n",
		       results, results, e->path);
	}
	rc = 0;
out:
	for (int i = 0; i < n_owned; i++)
		free(owned[i]);
	free(q_cwd);
	free(q_exe);
	free(q_exp);
	free(units_sh);
	free(report_sh);
	free(dir);
	free(results);
	return rc;
}

int cmd_submit(int argc, char **argv)
{
	struct submit_opts o;
	if (parse_args(argc, argv, &o) != 0)
		return 2;
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
