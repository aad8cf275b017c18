/* slurm.c: submitting jobs through sbatch (see slurm.h). */
#include "slurm.h"

#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int slurm_sbatch(char *const argv[], char *jobid, size_t size)
{
	int fds[2];
	if (pipe(fds) != 0)
		return error("cannot run '%s': pipe: %s", argv[0], strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return error("cannot run '%s': fork: %s", argv[0], strerror(errno));
	}
	if (pid == 0) {
		close(fds[0]);
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(127);
		close(fds[1]);
		execvp(argv[0], argv);
		fprintf(stderr, "error: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	char out[256];
	size_t n = 0;
	ssize_t got;
	while ((got = read(fds[0], out + n, sizeof out - 1 - n)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		n += (size_t)got;
		if (n == sizeof out - 1)
			break;
	}
	out[n] = '\0';
	close(fds[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return error("cannot wait for '%s': %s", argv[0], strerror(errno));
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return error("'%s' failed (%s %d); nothing more was submitted", argv[0],
			     WIFEXITED(st) ? "exit status" : "signal",
			     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	size_t k = 0;
	while (isdigit((unsigned char)out[k]) && k + 1 < size) {
		jobid[k] = out[k];
		k++;
	}
	jobid[k] = '\0';
	if (k == 0)
		return error("'%s' printed no job id (got '%.40s')", argv[0], out);
	return 0;
}

char *slurm_shell_quote(const char *s)
{
	size_t n = 3;
	for (const char *p = s; *p; p++)
		n += *p == '\'' ? 4 : 1;
	char *q = xmalloc(n), *o = q;
	*o++ = '\'';
	for (const char *p = s; *p; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return q;
}
