/* test_memory.c: the memory a network needs, worked out from its cfg.
 *
 * The tiny network's figures are worked out by hand in the comments; the
 * study models' totals are compared with what libdarknet itself allocates
 * when it builds them (glibc's mallinfo2 before and after). */
#include "memory.h"

#include "cfg.h"
#include "error.h"
#include "helpers.h"
#include "net.h"

#define error darknet_error
#include <darknet.h>
#undef error

#include <malloc.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MODELS DARKFOLD_SOURCE_DIR "/cfg/"

static const char tiny[] = "[net]\n"		  /* 1 */
			   "batch=2\n"		  /* 2 */
			   "width=4\n"		  /* 3 */
			   "height=4\n"		  /* 4 */
			   "channels=1\n"	  /* 5 */
			   "adam=1\n"		  /* 6 */
			   "[convolutional]\n"	  /* 7 */
			   "filters=2\n"	  /* 8 */
			   "size=3\n"		  /* 9 */
			   "pad=1\n"		  /* 10 */
			   "activation=linear\n"  /* 11 */
			   "[connected]\n"	  /* 12 */
			   "output=2\n"		  /* 13 */
			   "[softmax]\n";	  /* 14 */

/* By hand, batch 2, 4 bytes a float:
 *   conv 4x4x1 -> 4x4x2 (32 values): output + delta 2 * 32 * 2 = 128 floats
 *     = 512 B; weights 1*2*3*3 = 18 and 2 biases, each with its update:
 *     (36 + 4) * 4 = 160 B; Adam m and v: 160 B; im2col 4*4 * 3*3*1 = 144
 *     floats = 576 B.
 *   connected 32 -> 2: output + delta 2 * 2 * 2 = 8 floats = 32 B; weights
 *     64 and 2 biases with updates: (128 + 4) * 4 = 528 B; Adam 528 B.
 *   softmax 2: output, delta, loss 3 * 2 * 2 = 12 floats = 48 B.
 *   network input 16 * 2 and truth 2 * 2: 36 floats = 144 B.
 * Outputs 512 + 32 + 48 + 144 = 736, weights 688, Adam 688, workspace 576:
 * 2688 B in all. */
static void memory_should_match_a_hand_worked_tiny_network(void **state)
{
	(void)state;
	struct cfg c;
	struct memory m;
	assert_int_equal(cfg_parse("t.cfg", tiny, strlen(tiny), 0, &c), 0);
	assert_int_equal(memory_estimate(&c, &m), 0);
	assert_int_equal(m.batch, 2);
	assert_int_equal(m.n, 3);
	assert_int_equal(m.unmodelled, 0);
	assert_float_equal(m.layers[0].outputs, 512, 0);
	assert_float_equal(m.layers[0].workspace, 576, 0);
	assert_float_equal(m.layers[0].weights, 160, 0);
	assert_float_equal(m.layers[0].adam, 160, 0);
	assert_float_equal(m.layers[1].outputs, 32, 0);
	assert_float_equal(m.layers[1].weights, 528, 0);
	assert_float_equal(m.layers[1].adam, 528, 0);
	assert_float_equal(m.layers[2].outputs, 48, 0);
	assert_float_equal(m.outputs, 736, 0);
	assert_float_equal(m.weights, 688, 0);
	assert_float_equal(m.adam, 688, 0);
	assert_float_equal(m.workspace, 576, 0);
	assert_float_equal(m.total, 2688, 0);
	memory_release(&m);

	/* adam=0: no moments; the rest is unchanged. */
	cfg_set_net(&c, "adam", "0");
	assert_int_equal(memory_estimate(&c, &m), 0);
	assert_float_equal(m.adam, 0, 0);
	assert_float_equal(m.total, 2688 - 688, 0);
	memory_release(&m);
	cfg_release(&c);
}

/* check against limit; expect rc and exactly msg on stderr ("" for none). */
static void expect_limit(const struct cfg *c, double limit, int rc, const char *msg)
{
	struct memory m;
	assert_int_equal(memory_estimate(c, &m), 0);
	test_stderr_begin();
	int got = memory_check(c, &m, limit, "test");
	char *err = test_stderr_end();
	memory_release(&m);
	if (got != rc || strcmp(err, msg) != 0)
		fail_msg("limit %.0f: expected rc %d and '%s', got rc %d and '%s'", limit, rc, msg, got,
			 err);
	free(err);
}

static void memory_check_should_name_the_line_to_change(void **state)
{
	(void)state;
	struct cfg c;
	assert_int_equal(cfg_parse("t.cfg", tiny, strlen(tiny), 0, &c), 0);
	expect_limit(&c, 2688, 0, "");
	/* the conv layer needs 512 + 576 + 160 + 160 = 1408 B, the most */
	expect_limit(&c, 2687, -1,
		     "error: 't.cfg': line 7: [convolutional] (layer 0) needs 1.4 KiB (576 bytes for its "
		     "im2col workspace), the network 2.6 KiB in all, above the limit of 2.6 KiB (test)\n");
	/* the batch-sized buffers alone (736 B) are above the limit */
	expect_limit(&c, 700, -1,
		     "error: 't.cfg': line 2: batch=2 needs 736 bytes for outputs and gradients (2.6 KiB "
		     "in all), above the limit of 700 bytes (test)\n");
	cfg_release(&c);
}

static void memory_should_not_overflow_with_a_huge_batch(void **state)
{
	(void)state;
	struct cfg c;
	assert_int_equal(cfg_parse("t.cfg", tiny, strlen(tiny), 0, &c), 0);
	cfg_set_net(&c, "batch", "2147483647");
	struct memory m;
	assert_int_equal(memory_estimate(&c, &m), 0);
	/* 736 - 144 - 48 = 544 B of outputs plus 144 + 48 B per 2 images, by
	 * hand: 368 B per image, times 2147483647 */
	assert_float_equal(m.outputs, 368.0 * 2147483647.0, 1);
	assert_true(m.total > 7.9e11);
	memory_release(&m);
	cfg_release(&c);
}

static void memory_parse_size_should_read_binary_units(void **state)
{
	(void)state;
	double b = 0;
	assert_int_equal(memory_parse_size("512", &b), 0);
	assert_float_equal(b, 512, 0);
	assert_int_equal(memory_parse_size("1.5K", &b), 0);
	assert_float_equal(b, 1536, 0);
	assert_int_equal(memory_parse_size("8G", &b), 0);
	assert_float_equal(b, 8.0 * 1024 * 1024 * 1024, 0);
	assert_int_equal(memory_parse_size("2MiB", &b), 0);
	assert_float_equal(b, 2.0 * 1024 * 1024, 0);
	assert_int_equal(memory_parse_size("1TB", &b), 0);
	assert_float_equal(b, 1024.0 * 1024 * 1024 * 1024, 0);
	const char *bad[] = { "", "0", "-1", "1X", "G", "1GG", "nan", "inf", "1 G" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (memory_parse_size(bad[i], &b) == 0)
			fail_msg("'%s' was accepted", bad[i]);
	double avail = 0;
	if (memory_available(&avail) == 0)
		assert_true(avail > 0);
}

/* Bytes allocated (as mallinfo2 counts them) between two snapshots. */
static double allocated(const struct mallinfo2 *before, const struct mallinfo2 *after)
{
	return (double)((after->uordblks + after->hblkhd) - (before->uordblks + before->hblkhd));
}

/* Darknet's own allocations when it builds the network (plus darkfold's
 * input buffer of batch x inputs floats) must match the estimate within
 * 5 %; a network darkfold built (net_build, which then frees what the
 * replacements do not need: accel_memory_share) holds no more, within the
 * same 5 %. */
static void memory_should_match_what_darknet_allocates(void **state)
{
	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	skip(); /* ASan's allocator does not fill in mallinfo2 */
#endif
	const char *models[] = { MODELS "cnn.cfg", MODELS "dense.cfg" };
	for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
		struct cfg c;
		struct memory m;
		assert_int_equal(cfg_load(models[i], 0, &c), 0);
		assert_int_equal(memory_estimate(&c, &m), 0);
		cfg_release(&c);
		struct mallinfo2 before = mallinfo2();
		test_stderr_begin();
		network *dn = parse_network_cfg((char *)models[i]);
		free(test_stderr_end());
		struct mallinfo2 after = mallinfo2();
		double used = allocated(&before, &after) +
			      sizeof(float) * (double)dn->batch * dn->inputs;
		free_network(dn);
		if (fabs(used / m.total - 1) > 0.05)
			fail_msg("%s: estimated %.0f bytes, Darknet allocated %.0f", models[i], m.total, used);
		before = mallinfo2();
		struct net *n = NULL;
		assert_int_equal(net_build(models[i], 1, "/dev/null", &n), 0);
		after = mallinfo2();
		double held = allocated(&before, &after);
		net_free(n);
		if (held > 1.05 * m.total)
			fail_msg("%s: estimated %.0f bytes, the network holds %.0f", models[i], m.total, held);
		memory_release(&m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(memory_should_match_a_hand_worked_tiny_network),
		cmocka_unit_test(memory_check_should_name_the_line_to_change),
		cmocka_unit_test(memory_should_not_overflow_with_a_huge_batch),
		cmocka_unit_test(memory_parse_size_should_read_binary_units),
		cmocka_unit_test(memory_should_match_what_darknet_allocates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
