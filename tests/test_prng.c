/* test_prng.c: the generator's stream against independent values. */
#include "prng.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* splitmix64 from state 0: the first outputs of Vigna's reference
 * implementation (also used to seed java.util.SplittableRandom). */
static void prng_splitmix64_should_match_the_reference(void **state)
{
	(void)state;
	uint64_t x = 0;
	assert_true(prng_splitmix64(&x) == 0xe220a8397b1dcdafULL);
	assert_true(prng_splitmix64(&x) == 0x6e789e6aa1b965f4ULL);
	assert_true(prng_splitmix64(&x) == 0x06c45d188009454fULL);
}

/* xoshiro256** with state {1, 2, 3, 4}: out = rotl(s1 * 5, 7) * 9, worked out
 * by hand for the first step (s1 = 2: rotl(10, 7) = 1280, * 9 = 11520). */
static void prng_next_should_follow_xoshiro256starstar(void **state)
{
	(void)state;
	struct prng r = { { 1, 2, 3, 4 } };
	assert_true(prng_next(&r) == 11520);
	/* after one step: s2 = 3^1 ^ (2<<17), s3 = rotl(4^2, 45), s1 = 2^(3^1), s0 = 1^(4^2) */
	assert_true(r.s[0] == 7);
	assert_true(r.s[1] == 0);
	assert_true(r.s[2] == (2ULL ^ (2ULL << 17)));
	assert_true(r.s[3] == (6ULL << 45));
}

static void prng_should_be_deterministic_and_in_range(void **state)
{
	(void)state;
	struct prng a, b;
	prng_seed(&a, 42);
	prng_seed(&b, 42);
	int hist[7] = { 0 };
	for (int i = 0; i < 70000; i++) {
		double u = prng_uniform(&a);
		assert_true(u == prng_uniform(&b));
		assert_true(u >= 0.0 && u < 1.0);
		uint64_t k = prng_below(&a, 7);
		assert_true(k == prng_below(&b, 7));
		assert_true(k < 7);
		hist[k]++;
	}
	/* 10000 expected per bin; 5 standard deviations is about 480 */
	for (int k = 0; k < 7; k++)
		assert_true(hist[k] > 9500 && hist[k] < 10500);
	prng_seed(&b, 43);
	assert_true(prng_next(&a) != prng_next(&b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prng_splitmix64_should_match_the_reference),
		cmocka_unit_test(prng_next_should_follow_xoshiro256starstar),
		cmocka_unit_test(prng_should_be_deterministic_and_in_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
