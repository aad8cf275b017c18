/* slurm.h: the boundary to Slurm's sbatch: job scripts written for it and
 * jobs submitted through it. sbatch's own error messages pass through to
 * stderr; ours name the command. */
#ifndef DARKFOLD_SLURM_H
#define DARKFOLD_SLURM_H

#include <stddef.h>

/* Run argv (argv[0] is looked up in PATH, normally "sbatch", with
 * --parsable among the options) and read the job id it prints ("123" or
 * "123;cluster") into jobid. Returns 0, or -1 with an error when it cannot
 * be started, exits non-zero or prints no job id. */
int slurm_sbatch(char *const argv[], char *jobid, size_t size);

/* s quoted for a POSIX shell: 'like this', with ' written as '\'' (new
 * string). */
char *slurm_shell_quote(const char *s);

#endif
