/* test_checkpoint.c: the checkpoint file: a round trip of the progress and
 * the network state, its byte layout, and each way a checkpoint is refused
 * (missing, wrong magic, truncated, bad checksum, inconsistent lengths,
 * another key, a field out of range, a state of another network). */
#include "checkpoint.h"

#include "error.h"
#include "fsutil.h"
#include "helpers.h"
#include "sha256.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* fuzz_small_net() of tests/fuzz/fuzz_common.h: the fuzz seed corpus holds
 * checkpoints of it made with key "fuzz". */
static const char SMALL_CFG[] = "[net]\nbatch=1\nwidth=4\nheight=4\nchannels=1\n"
				"[convolutional]\nbatch_normalize=1\nfilters=2\nsize=3\npad=1\n"
				"activation=relu\n[connected]\noutput=2\nactivation=linear\n"
				"[softmax]\ngroups=1\n";
static const char OTHER_CFG[] = "[net]\nbatch=1\nwidth=4\nheight=4\nchannels=1\n"
				"[connected]\noutput=2\nactivation=linear\n[softmax]\ngroups=1\n";

enum { EPOCHS = 4 };

struct fixture {
	char *dir, *ckpt;
	struct net *n;
	struct train_epoch curve[EPOCHS];
	struct progress p;
};

static struct net *build(const char *dir, const char *cfg, unsigned seed)
{
	char *path = fs_join(dir, "net.cfg");
	test_write_file(path, cfg, strlen(cfg));
	struct net *n = NULL;
	assert_int_equal(net_build(path, seed, NULL, &n), 0);
	free(path);
	return n;
}

/* Two epochs done, the best at epoch 1, numbers that are exact in binary. */
static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	f->dir = test_tmpdir();
	f->ckpt = fs_join(f->dir, "checkpoint");
	f->n = build(f->dir, SMALL_CFG, 7);
	for (int e = 0; e < 2; e++)
		f->curve[e] = (struct train_epoch){ e + 1, 0.5 / (e + 1), 0.75 - 0.125 * e, 0.625,
						    0.001 };
	f->curve[1].val_accuracy = NAN; /* written as null, read back as NAN */
	f->p = (struct progress){ .epoch = 2, .stopped = 1, .curve = f->curve, .best_epoch = 1,
				  .best_val = 0.75, .since_best = 1, .seconds = 12.5,
				  .step_seconds = 0.03125, .images = 44 };
	f->p.rng.s[0] = 0x0123456789abcdefULL;
	f->p.rng.s[1] = 0xfedcba9876543210ULL;
	f->p.rng.s[2] = 1;
	f->p.rng.s[3] = UINT64_MAX;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	net_free(f->n);
	test_rm_rf(f->dir);
	free(f->ckpt);
	free(f->dir);
	free(f);
	return 0;
}

/* A progress that no checkpoint holds, to see that a refusal leaves it. */
static struct progress blank(struct train_epoch *curve)
{
	memset(curve, 0, EPOCHS * sizeof *curve);
	struct progress q = { .curve = curve, .best_val = INFINITY };
	q.rng.s[0] = 99;
	return q;
}

static void checkpoint_should_round_trip_progress_and_state(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(ckpt_write(f->ckpt, "inputs-1", &f->p, f->n), 0);

	struct net *m = build(f->dir, SMALL_CFG, 8); /* other initial weights */
	struct train_epoch curve[EPOCHS];
	struct progress q = blank(curve);
	assert_int_equal(ckpt_read(f->ckpt, "inputs-1", EPOCHS, &q, m), 1);
	assert_int_equal(q.epoch, 2);
	assert_int_equal(q.stopped, 1);
	assert_int_equal(q.best_epoch, 1);
	assert_int_equal(q.since_best, 1);
	assert_int_equal(q.images, 44);
	assert_true(q.best_val == 0.75 && q.seconds == 12.5 && q.step_seconds == 0.03125);
	for (int i = 0; i < 4; i++)
		assert_true(q.rng.s[i] == f->p.rng.s[i]);
	for (int e = 0; e < 2; e++) {
		assert_int_equal(curve[e].epoch, e + 1);
		assert_true(curve[e].train_loss == 0.5 / (e + 1));
		assert_true(curve[e].val_loss == 0.75 - 0.125 * e);
		assert_true(curve[e].learning_rate == 0.001);
	}
	assert_true(curve[0].val_accuracy == 0.625);
	assert_true(isnan(curve[1].val_accuracy));

	char *s1, *s2;
	size_t l1, l2;
	net_state_save(f->n, &s1, &l1);
	net_state_save(m, &s2, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(s1, s2, l1);

	/* The layout: magic, u64 JSON length, JSON, u64 state length, the
	 * state, and the SHA-256 in hex of everything before it. */
	char *data;
	size_t len;
	assert_int_equal(fs_read_file(f->ckpt, &data, &len), 0);
	assert_memory_equal(data, "DFCKPT02", 8);
	uint64_t jl, sl;
	memcpy(&jl, data + 8, 8);
	assert_true(jl < len && data[16] == '{' && data[16 + jl - 1] == '}');
	memcpy(&sl, data + 16 + jl, 8);
	assert_int_equal(sl, l1);
	assert_int_equal(len, 24 + jl + sl + 64);
	assert_memory_equal(data + 24 + jl, s1, l1);
	char hex[65];
	sha256_hex(data, len - 64, hex);
	assert_memory_equal(data + len - 64, hex, 64);
	free(data);
	free(s1);
	free(s2);
	net_free(m);
}

static void checkpoint_without_best_epoch_should_read_an_infinite_best_loss(void **state)
{
	struct fixture *f = *state;
	f->p.best_epoch = 0;
	f->p.best_val = INFINITY; /* written as null */
	assert_int_equal(ckpt_write(f->ckpt, NULL, &f->p, f->n), 0);
	struct train_epoch curve[EPOCHS];
	struct progress q = blank(curve);
	q.best_val = 0;
	assert_int_equal(ckpt_read(f->ckpt, NULL, EPOCHS, &q, f->n), 1);
	assert_int_equal(q.best_epoch, 0);
	assert_true(isinf(q.best_val) && q.best_val > 0);
}

static void missing_checkpoint_should_read_as_none_silently(void **state)
{
	struct fixture *f = *state;
	struct train_epoch curve[EPOCHS];
	struct progress q = blank(curve);
	test_stderr_begin();
	int rc = ckpt_read(f->ckpt, "k", EPOCHS, &q, f->n);
	char *err = test_stderr_end();
	assert_int_equal(rc, 0);
	assert_string_equal(err, "");
	assert_true(q.rng.s[0] == 99 && q.epoch == 0);
	free(err);
}

/* Rewrite the checkpoint's SHA-256 so that a change gets past the checksum. */
static void reseal(char *data, size_t len)
{
	char hex[65];
	sha256_hex(data, len - 64, hex);
	memcpy(data + len - 64, hex, 64);
}

/* Write a damaged copy of the good checkpoint, read it with key, expect it
 * refused with "'<path>': <why>: discarding ..." and nothing changed. */
static void expect_refused(struct fixture *f, const char *good, size_t len, const char *key,
			   int epochs, const char *why)
{
	test_write_file(f->ckpt, good, len);
	char *before;
	size_t blen;
	net_state_save(f->n, &before, &blen);
	struct train_epoch curve[EPOCHS];
	struct progress q = blank(curve);
	test_stderr_begin();
	int rc = ckpt_read(f->ckpt, key, epochs, &q, f->n);
	char *err = test_stderr_end();
	assert_int_equal(rc, 0);
	char *want = xasprintf("warning: '%s': %s: discarding the checkpoint, restarting the unit\n",
			       f->ckpt, why);
	assert_non_null(strstr(err, want));
	assert_true(q.rng.s[0] == 99 && q.epoch == 0 && curve[0].epoch == 0);
	char *after;
	size_t alen;
	net_state_save(f->n, &after, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(want);
	free(err);
	free(before);
	free(after);
}

static void damaged_checkpoint_should_be_discarded_with_its_reason(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(ckpt_write(f->ckpt, "k", &f->p, f->n), 0);
	char *good;
	size_t len;
	assert_int_equal(fs_read_file(f->ckpt, &good, &len), 0);
	char *bad = xmalloc(len);
	uint64_t jl;
	memcpy(&jl, good + 8, 8);

	expect_refused(f, good, 0, "k", EPOCHS, "not a checkpoint of this darkfold version");
	memcpy(bad, good, len);
	bad[7] = '1'; /* DFCKPT01: an older format */
	expect_refused(f, bad, len, "k", EPOCHS, "not a checkpoint of this darkfold version");
	expect_refused(f, good, len - 1, "k", EPOCHS, "checksum mismatch (truncated or corrupt)");
	expect_refused(f, good, len / 2, "k", EPOCHS, "checksum mismatch (truncated or corrupt)");
	memcpy(bad, good, len);
	bad[len / 2] ^= 1;
	expect_refused(f, bad, len, "k", EPOCHS, "checksum mismatch (truncated or corrupt)");

	/* Under a valid checksum. */
	memcpy(bad, good, len);
	uint64_t big = len; /* the JSON would run past the end */
	memcpy(bad + 8, &big, 8);
	reseal(bad, len);
	expect_refused(f, bad, len, "k", EPOCHS, "inconsistent lengths");
	memcpy(bad, good, len);
	bad[16 + jl] ^= 1; /* the state length no longer fits */
	reseal(bad, len);
	expect_refused(f, bad, len, "k", EPOCHS, "inconsistent lengths");
	memcpy(bad, good, len);
	bad[16] = '['; /* "[" ... "}" */
	reseal(bad, len);
	expect_refused(f, bad, len, "k", EPOCHS, "its header is not valid JSON");

	expect_refused(f, good, len, "other", EPOCHS, "it was made from other inputs");
	expect_refused(f, good, len, NULL, EPOCHS, "it was made from other inputs");
	expect_refused(f, good, len, "k", 1, "a field is missing or out of range"); /* epoch 2 > 1 */
	memcpy(bad, good, len);
	char *key = strstr(bad + 24, "\"best_epoch\"");
	assert_non_null(key);
	key[1] = 'B';
	reseal(bad, len);
	expect_refused(f, bad, len, "k", EPOCHS, "a field is missing or out of range");
	free(bad);
	free(good);
}

static void state_of_another_network_should_be_an_error(void **state)
{
	struct fixture *f = *state;
	struct net *other = build(f->dir, OTHER_CFG, 7);
	assert_int_equal(ckpt_write(f->ckpt, "k", &f->p, other), 0);
	struct train_epoch curve[EPOCHS];
	struct progress q = blank(curve);
	test_stderr_begin();
	int rc = ckpt_read(f->ckpt, "k", EPOCHS, &q, f->n);
	char *err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, f->ckpt));
	assert_non_null(strstr(err, "training state has 2 layers"));
	assert_true(q.rng.s[0] == 99 && q.epoch == 0);
	free(err);
	net_free(other);
}

static void unwritable_checkpoint_should_be_an_error(void **state)
{
	struct fixture *f = *state;
	char *path = fs_join(f->dir, "no/such/dir/checkpoint");
	test_stderr_begin();
	int rc = ckpt_write(path, "k", &f->p, f->n);
	char *err = test_stderr_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, path));
	free(err);
	free(path);
}

/* The fuzz target's seed corpus stays a set of valid checkpoints of its
 * network (with the checksum that the target appends). */
static void fuzz_seed_should_be_a_valid_checkpoint(void **state)
{
	struct fixture *f = *state;
	const char *src = getenv("SRCDIR");
	if (!src)
		skip();
	char *seed = fs_join(src, "tests/fuzz/corpus/checkpoint/valid");
	char *data;
	size_t len;
	assert_int_equal(fs_read_file(seed, &data, &len), 0);
	char *full = xmalloc(len + 65);
	memcpy(full, data, len);
	sha256_hex(data, len, full + len);
	test_write_file(f->ckpt, full, len + 64);
	struct train_epoch curve[EPOCHS];
	struct progress q = blank(curve);
	assert_int_equal(ckpt_read(f->ckpt, "fuzz", EPOCHS, &q, f->n), 1);
	assert_true(q.epoch >= 1);
	free(full);
	free(data);
	free(seed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(checkpoint_should_round_trip_progress_and_state, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			checkpoint_without_best_epoch_should_read_an_infinite_best_loss, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_checkpoint_should_read_as_none_silently, setup,
						teardown),
		cmocka_unit_test_setup_teardown(damaged_checkpoint_should_be_discarded_with_its_reason,
						setup, teardown),
		cmocka_unit_test_setup_teardown(state_of_another_network_should_be_an_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(unwritable_checkpoint_should_be_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(fuzz_seed_should_be_a_valid_checkpoint, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
