/* test_accel_memory.c: accel_memory_share() (shared gradient buffers, no
 * x_norm) changes no bit of what training computes. */
#include "accel.h"
#include "net.h"

#include "helpers.h"

#define error darknet_error
#include <darknet.h>
#undef error

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Every layer type whose deltas are shared: convolutions with batch norm
 * (3x3 and 1x1, several activations), max pool, a residual sum, a route
 * joining two layers (both read again later), connected layers, dropout
 * (whose delta is the previous layer's) and softmax; Adam, as darkfold
 * trains. */
static const char memory_cfg[] =
	"[net]\nbatch=4\nsubdivisions=1\nwidth=12\nheight=12\nchannels=3\n"
	"learning_rate=0.01\nmomentum=0.9\ndecay=0.0005\nadam=1\npolicy=constant\n"
	"[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\n"
	"activation=leaky\n"                                            /* 0: 12x12x8 */
	"[maxpool]\nsize=2\nstride=2\n"                                 /* 1: 6x6x8 */
	"[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\n"
	"activation=relu\n"                                             /* 2 */
	"[convolutional]\nbatch_normalize=1\nfilters=8\nsize=1\nstride=1\npad=0\n"
	"activation=linear\n"                                           /* 3 */
	"[shortcut]\nfrom=-3\nactivation=leaky\n"                       /* 4: 3 + 1 */
	"[route]\nlayers=-1,-4\n"                                       /* 5: 6x6x16 */
	"[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=2\npad=1\n"
	"activation=leaky\n"                                            /* 6: 3x3x8 */
	"[connected]\noutput=16\nactivation=leaky\n"                    /* 7 */
	"[dropout]\nprobability=.5\n"                                   /* 8 */
	"[connected]\noutput=2\nactivation=linear\n"                    /* 9 */
	"[softmax]\n";                                                  /* 10 */

enum { TRAIN_STEPS = 3 };

static void put(FILE *f, const void *p, size_t n)
{
	if (p && n)
		fwrite(p, 1, n, f);
}

/* What training computed, into f: every layer's output and parameters,
 * Adam's moments and the batch-norm statistics. */
static void dump(const network *net, FILE *f)
{
	for (int i = 0; i < net->n; i++) {
		const layer *l = &net->layers[i];
		size_t nw = l->type == CONNECTED ? (size_t)l->inputs * l->outputs : (size_t)l->nweights;
		size_t nb = l->type == CONNECTED ? (size_t)l->outputs : (size_t)l->n;
		int params = l->type == CONVOLUTIONAL || l->type == CONNECTED;
		put(f, l->output, sizeof(float) * l->outputs * l->batch);
		if (!params)
			continue;
		put(f, l->weights, sizeof(float) * nw);
		put(f, l->m, sizeof(float) * nw);
		put(f, l->v, sizeof(float) * nw);
		put(f, l->biases, sizeof(float) * nb);
		if (l->batch_normalize) {
			put(f, l->scales, sizeof(float) * nb);
			put(f, l->rolling_mean, sizeof(float) * nb);
			put(f, l->rolling_variance, sizeof(float) * nb);
		}
	}
	put(f, net->layers[net->n - 1].delta, sizeof(float) * net->outputs * net->batch);
}

/* Distinct delta arrays of net (dropout's is its input's). */
static int distinct_deltas(const network *net)
{
	int k = 0;
	for (int i = 0; i < net->n; i++) {
		int seen = !net->layers[i].delta;
		for (int j = 0; j < i && !seen; j++)
			seen = net->layers[j].delta == net->layers[i].delta;
		k += !seen;
	}
	return k;
}

/* In this (child) process: build the network from cfg, with the memory
 * saving if share, train TRAIN_STEPS batches and dump the result to f. */
static int train_and_dump(const char *cfg, int share, FILE *f)
{
	srand(7);
	network *net = parse_network_cfg((char *)cfg);
	int before = distinct_deltas(net);
	if (share && (accel_memory_share(net) < 0 || distinct_deltas(net) >= before ||
		      accel_memory_networks() != 1 || net->layers[0].x_norm))
		return -1; /* nothing was saved */
	accel_reset_counts();
	uint32_t s = 12345;
	for (int step = 0; step < TRAIN_STEPS; step++) {
		for (int i = 0; i < net->inputs * net->batch; i++) {
			s = s * 1664525u + 1013904223u;
			net->input[i] = (float)(s >> 8) / 16777216.0f;
		}
		memset(net->truth, 0, sizeof(float) * net->truths * net->batch);
		for (int b = 0; b < net->batch; b++)
			net->truth[b * net->truths + (b + step) % 2] = 1;
		net->train = 1;
		*net->seen += (size_t)net->batch;
		forward_network(net);
		backward_network(net);
		net_update(net);
	}
	if (accel_count(ACCEL_backward_network) != TRAIN_STEPS)
		return -1; /* Darknet's own backward pass ran */
	dump(net, f);
	accel_memory_release(net);
	free_network(net);
	return 0;
}

static char *path_in(const char *dir, const char *name)
{
	char *p = malloc(strlen(dir) + strlen(name) + 2);
	assert_non_null(p);
	sprintf(p, "%s/%s", dir, name);
	return p;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	size_t r;
	while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0)
		if ((n += r) == cap)
			buf = realloc(buf, cap *= 2);
	fclose(f);
	assert_non_null(buf);
	*len = n;
	return buf;
}

/* The dump of train_and_dump(cfg, share) run in a child process (a fresh
 * rand() state and Darknet's rand_normal spare); *len bytes, caller frees. */
static char *dump_in_child(const char *cfg, int share, size_t *len)
{
	char *dir = test_tmpdir(), *path = path_in(dir, "dump");
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr)) /* Darknet's layer table */
			_exit(1);
		FILE *f = fopen(path, "wb");
		int rc = f ? train_and_dump(cfg, share, f) : -1;
		_exit(f && fclose(f) == 0 && rc == 0 ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	char *buf = read_all(path, len);
	test_rm_rf(dir);
	free(dir), free(path);
	return buf;
}

static void shared_deltas_should_give_the_same_bits(void **state)
{
	(void)state;
	char *dir = test_tmpdir(), *cfg = path_in(dir, "memory.cfg");
	test_write_file(cfg, memory_cfg, strlen(memory_cfg));
	size_t n0, n1;
	char *plain = dump_in_child(cfg, 0, &n0), *shared = dump_in_child(cfg, 1, &n1);
	assert_true(n0 == n1 && n0 > 0);
	if (memcmp(plain, shared, n0) != 0)
		fail_msg("training with shared gradient buffers gave other bits");
	test_rm_rf(dir);
	free(plain), free(shared), free(dir), free(cfg);
}

static void replacements_should_stay_on_while_a_network_shares(void **state)
{
	(void)state;
	char *dir = test_tmpdir(), *cfg = path_in(dir, "memory.cfg");
	test_write_file(cfg, memory_cfg, strlen(memory_cfg));
	network *net = parse_network_cfg(cfg);
	assert_int_equal(accel_memory_share(net), 0);
	test_stderr_begin();
	int rc = accel_set_enabled(0);
	free(test_stderr_end());
	assert_int_equal(rc, -1);
	assert_int_equal(accel_enabled(), 1);
	accel_memory_release(net);
	assert_int_equal(accel_memory_networks(), 0);
	free_network(net);
	test_rm_rf(dir);
	free(dir), free(cfg);
}

/* Bytes the allocator holds in mmapped blocks. */
static size_t mapped(void)
{
	return mallinfo2().hblkhd;
}

/* In a child: with a network sharing its buffers first if share (which
 * fixes the threshold), free an 8 MiB block (glibc's moving threshold
 * would rise to 8 MiB), then take a 2 MiB one. Exit status 0 when that
 * block was mapped, 1 when it came from the heap, 3 on an error. */
static int block_in_child(const char *cfg, int share)
{
	enum { BIG = 8 << 20, BLOCK = 2 << 20 };
	if (share) {
		network *net = parse_network_cfg((char *)cfg);
		if (accel_memory_share(net) < 0)
			return 3;
	}
	char *volatile big = malloc(BIG); /* volatile: kept, not optimised away */
	if (!big)
		return 3;
	memset(big, 1, BIG);
	free(big);
	size_t h0 = mapped();
	void *volatile p = malloc(BLOCK);
	size_t h1 = mapped();
	free(p);
	return h1 >= h0 + BLOCK ? 0 : 1;
}

/* block_in_child in a new process running this program (a forked child
 * would inherit a threshold fixed by an earlier test). */
static int block_status(const char *cfg, int share)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr)) /* Darknet's layer table */
			_exit(3);
		execl("/proc/self/exe", "test_accel_memory", "--block", cfg, share ? "1" : "0",
		      (char *)NULL);
		_exit(3);
	}
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 3);
	return WEXITSTATUS(status);
}

/* accel_memory_share fixes glibc's mmap threshold, so that blocks as large
 * as the convolution scratch stay mapped (and are given back when freed)
 * however large the blocks freed before them: without it, freeing an 8 MiB
 * block puts the next 2 MiB one on the heap. AddressSanitizer has its own
 * allocator: skipped there. */
static void sharing_should_fix_the_mmap_threshold(void **state)
{
	(void)state;
#ifdef __SANITIZE_ADDRESS__
	skip();
#endif
	char *dir = test_tmpdir(), *cfg = path_in(dir, "memory.cfg");
	test_write_file(cfg, memory_cfg, strlen(memory_cfg));
	int plain = block_status(cfg, 0), shared = block_status(cfg, 1);
	test_rm_rf(dir);
	free(dir), free(cfg);
	if (plain != 1)
		skip(); /* this C library does not move its threshold */
	if (shared != 0)
		fail_msg("a 2 MiB block came from the heap after accel_memory_share");
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--block"))
		return block_in_child(argv[2], argv[3][0] == '1');
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shared_deltas_should_give_the_same_bits),
		cmocka_unit_test(replacements_should_stay_on_while_a_network_shares),
		cmocka_unit_test(sharing_should_fix_the_mmap_threshold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
