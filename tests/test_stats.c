/* test_stats.c: GSL statistics against values worked out independently
 * (python3 with the math module only; formulas and integrals noted). */
#include "stats.h"

#include "helpers.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define near(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

static int setup(void **state)
{
	(void)state;
	stats_init();
	return 0;
}

static void stats_rng_should_match_the_reference_mt19937(void **state)
{
	(void)state;
	/* C++ std::mt19937(42): first outputs 1608637542, 3421126067 */
	struct stats_rng *r = stats_rng_new(42);
	near(stats_rng_uniform(r), 1608637542.0 / 4294967296.0, 1e-15);
	near(stats_rng_uniform(r), 3421126067.0 / 4294967296.0, 1e-15);
	stats_rng_free(r);
	/* the high word is folded in: 42 | 1 << 32 seeds 43 */
	struct stats_rng *a = stats_rng_new(UINT64_C(42) | UINT64_C(1) << 32);
	struct stats_rng *b = stats_rng_new(43);
	assert_true(stats_rng_uniform(a) == stats_rng_uniform(b));
	stats_rng_free(a);
	stats_rng_free(b);
	stats_rng_free(NULL);
}

static void stats_should_give_mean_sd_and_t_interval(void **state)
{
	(void)state;
	double x[6] = { 1, 2, NAN, 3, 4, 5 };
	double mean, sd, lo, hi;
	int n;
	stats_mean_sd(x, 6, &mean, &sd, &n);
	assert_int_equal(n, 5);
	near(mean, 3.0, 1e-15);
	near(sd, sqrt(2.5), 1e-15);
	/* 3 -/+ t_{0.975,4} sd / sqrt(5), t_{0.975,4} = 2.776445105 */
	assert_int_equal(stats_t_interval(x, 6, 0.05, &lo, &hi), 0);
	near(lo, 1.036756838662304, 1e-8);
	near(hi, 4.9632431613376955, 1e-8);
	/* one value: sd and the interval are undefined */
	assert_int_equal(stats_t_interval(x, 1, 0.05, &lo, &hi), -1);
	assert_true(isnan(lo) && isnan(hi));
	stats_mean_sd(x + 2, 1, &mean, &sd, &n);
	assert_int_equal(n, 0);
	assert_true(isnan(mean) && isnan(sd));
}

static void stats_should_give_the_wilson_interval(void **state)
{
	(void)state;
	double lo, hi;
	/* (k + z^2/2)/(n + z^2) -/+ z/(n + z^2) sqrt(k(n-k)/n + z^2/4), z = 1.959963984540054 */
	assert_int_equal(stats_wilson(8, 10, 0.05, &lo, &hi), 0);
	near(lo, 0.4901624715366418, 1e-9);
	near(hi, 0.9433178485456248, 1e-9);
	/* k = n: upper end 1, lower end n/(n + z^2) = 10/13.8414588 */
	assert_int_equal(stats_wilson(10, 10, 0.05, &lo, &hi), 0);
	near(hi, 1.0, 1e-12);
	near(lo, 10 / (10 + 1.959963984540054 * 1.959963984540054), 1e-9);
	assert_int_equal(stats_wilson(0, 0, 0.05, &lo, &hi), -1);
	assert_true(isnan(lo) && isnan(hi));
}

static void stats_nb_test_should_inflate_the_variance(void **state)
{
	(void)state;
	double d[5] = { 0.02, 0.05, -0.01, 0.03, 0.04 };
	struct stats_ttest t;
	/* k = 5: n_test / n_train = 1/4; t = mean / sqrt((1/5 + 1/4) s^2) */
	stats_nb_ttest(d, 5, 0.25, &t);
	near(t.mean, 0.026, 1e-15);
	near(t.t, 1.683562161419258, 1e-9);
	near(t.df, 4, 0);
	/* p = 2 (1/2 - integral_0^t of the t(4) density), Simpson with 2e5 steps */
	near(t.p, 0.1675532214789277, 1e-8);
	assert_null(t.reason);

	double same[3] = { 0.1, 0.1, 0.1 };
	stats_nb_ttest(same, 3, 0.25, &t);
	assert_true(isnan(t.p));
	assert_string_equal(t.reason, "paired differences have zero variance");
	double zero[3] = { 0, 0, 0 };
	stats_nb_ttest(zero, 3, 0.25, &t);
	near(t.p, 1.0, 0);
	stats_nb_ttest(d, 1, 0.25, &t);
	assert_true(isnan(t.t));
	assert_string_equal(t.reason, "fewer than 2 paired folds");
}

static void stats_should_correct_repeated_k_fold_differences(void **state)
{
	(void)state;
	/* two repeats of 5-fold (r k = 10 paired differences), n_test/n_train
	 * 1/4. Bouckaert and Frank: sigma^2 (n - 1 denominator)
	 * 0.0005344444444444446, mean 0.027, t = mean / sqrt((1/10 + 1/4)
	 * sigma^2) = 1.9741423193979448, df 9, two-sided p (Simpson on the t(9)
	 * density, Python standard library) 0.07980847994373752 */
	const double d[10] = { 0.05, 0.02, -0.01, 0.04, 0.03, 0.06, 0.00, 0.02, 0.05, 0.01 };
	struct stats_ttest t;
	stats_nb_ttest(d, 10, 0.25, &t);
	near(t.mean, 0.027, 1e-15);
	near(t.sd * t.sd, 0.0005344444444444446, 1e-15);
	near(t.t, 1.9741423193979448, 1e-9);
	near(t.df, 9, 0);
	near(t.p, 0.07980847994373752, 1e-8);
}

static void stats_should_estimate_the_repeats_a_difference_needs(void **state)
{
	(void)state;
	/* found independently by the same search with Python's t(df) tail by
	 * Simpson's rule: mean .06, sd .05, ratio 1/4, k 5: p 0.0512 at 3
	 * repeats (df 14), 0.0411 at 4 (df 19) */
	assert_int_equal(stats_repeats_needed(0.06, 0.05, 0.25, 5, 0.05, 100), 4);
	/* mean .05, sd .05: p 0.05009 at 31 repeats, 0.04995 at 32 */
	assert_int_equal(stats_repeats_needed(0.05, 0.05, 0.25, 5, 0.05, 100), 32);
	/* a negative difference is judged by its size */
	assert_int_equal(stats_repeats_needed(-0.06, 0.05, 0.25, 5, 0.05, 100), 4);
	/* mean .03, sd .05: t never exceeds .03 / (.05 sqrt(1/4)) = 1.2, below
	 * the critical value whatever the repeats: none */
	assert_int_equal(stats_repeats_needed(0.03, 0.05, 0.25, 5, 0.05, 100), -1);
	/* .05 / .05 at alpha .01: t tends to 2, below 2.58 */
	assert_int_equal(stats_repeats_needed(0.05, 0.05, 0.25, 5, 0.01, 100), -1);
	assert_int_equal(stats_repeats_needed(0, 0.05, 0.25, 5, 0.05, 100), -1);
	/* capped: 32 needed, 10 allowed */
	assert_int_equal(stats_repeats_needed(0.05, 0.05, 0.25, 5, 0.05, 10), -1);
}

static void stats_holm_should_step_down(void **state)
{
	(void)state;
	/* sorted .005 .01 .03 .04 times 4 3 2 1: .02 .03 .06 .04 -> running max .06 */
	double p[4] = { 0.01, 0.04, 0.03, 0.005 }, adj[4];
	stats_holm(p, 4, adj);
	near(adj[0], 0.03, 1e-15);
	near(adj[1], 0.06, 1e-15);
	near(adj[2], 0.06, 1e-15);
	near(adj[3], 0.02, 1e-15);
	/* NAN is left out of the family: m' = 2; in place; capped at 1 */
	double q[3] = { 0.01, NAN, 0.7 };
	stats_holm(q, 3, q);
	near(q[0], 0.02, 1e-15);
	assert_true(isnan(q[1]));
	near(q[2], 0.7, 1e-15);
	double r[2] = { 0.6, 0.9 };
	stats_holm(r, 2, r);
	near(r[0], 1.0, 0);
	near(r[1], 1.0, 0);
}

static void stats_mcnemar_should_use_exact_or_corrected_chi2(void **state)
{
	(void)state;
	struct stats_mcnemar m;
	/* b + c = 7 < 25: exact, 2 P(X <= 1), X ~ Bin(7, 1/2) = 2 (1 + 7) / 128 */
	stats_mcnemar(1, 6, &m);
	assert_string_equal(m.method, "exact");
	near(m.statistic, 1, 0);
	near(m.p, 0.125, 1e-12);
	/* b + c = 35: (|10 - 25| - 1)^2 / 35 = 5.6, p = erfc(sqrt(5.6 / 2)) */
	stats_mcnemar(10, 25, &m);
	assert_string_equal(m.method, "chi2_cc");
	near(m.statistic, 5.6, 1e-12);
	near(m.p, 0.017960477526078766, 1e-10);
	stats_mcnemar(0, 0, &m);
	near(m.p, 1.0, 0);
	stats_mcnemar(3, 3, &m); /* 2 P(X <= 3), X ~ Bin(6, 1/2) = 2 * 42/64 > 1 */
	near(m.p, 1.0, 0);
}

static void stats_mcnemar_should_switch_to_chi2_at_25(void **state)
{
	(void)state;
	struct stats_mcnemar m;
	/* b + c = 24: exact, 2 * sum(comb(24, k), k = 0..8) / 2^24 */
	stats_mcnemar(8, 16, &m);
	assert_string_equal(m.method, "exact");
	near(m.statistic, 8, 0);
	near(m.p, 0.15158963203430176, 1e-12);
	/* b + c = 25: chi-square, (|9 - 16| - 1)^2 / 25 = 1.44, p = erfc(sqrt(1.44 / 2)) */
	stats_mcnemar(9, 16, &m);
	assert_string_equal(m.method, "chi2_cc");
	near(m.statistic, 1.44, 1e-12);
	near(m.p, 0.23013934044341655, 1e-10);
}

struct mean_ctx {
	const double *x;
};

static void boot_mean(const int *idx, int n, void *ctx, double *values)
{
	const struct mean_ctx *c = ctx;
	double s = 0;
	for (int i = 0; i < n; i++)
		s += c->x[idx[i]];
	values[0] = s / n;
	values[1] = NAN; /* a statistic that is never defined */
}

static void stats_bootstrap_should_be_seeded_and_plausible(void **state)
{
	(void)state;
	double x[100];
	for (int i = 0; i < 100; i++)
		x[i] = i;
	struct mean_ctx c = { x };
	double lo[2], hi[2], lo2[2], hi2[2], lo3[2], hi3[2];
	stats_bootstrap(100, 1000, 7, 0.05, 2, boot_mean, &c, lo, hi);
	stats_bootstrap(100, 1000, 7, 0.05, 2, boot_mean, &c, lo2, hi2);
	stats_bootstrap(100, 1000, 8, 0.05, 2, boot_mean, &c, lo3, hi3);
	assert_true(lo[0] == lo2[0] && hi[0] == hi2[0]);
	assert_true(lo[0] != lo3[0] || hi[0] != hi3[0]);
	/* normal approximation: 49.5 -/+ 1.96 * 28.87 / 10 = 43.8 .. 55.2 */
	near(lo[0], 43.8, 1.5);
	near(hi[0], 55.2, 1.5);
	assert_true(isnan(lo[1]) && isnan(hi[1]));
}

/* Resamples of 0..99: the mean's bootstrap distribution is close to normal
 * with sd 28.866 / 10 (population sd of 0..99 over sqrt(100)), so the
 * percentile interval is 49.5 -/+ z(1 - alpha/2) * 2.8866 (python3:
 * statistics.NormalDist().inv_cdf). With 20000 resamples the quantiles are
 * within about 0.06 of that; 0.3 still tells 95 % (half-width 5.66) from
 * 90 % (4.75) and 80 % (3.70). */
static void stats_bootstrap_should_give_the_asked_level(void **state)
{
	(void)state;
	double x[100];
	for (int i = 0; i < 100; i++)
		x[i] = i;
	struct mean_ctx c = { x };
	double lo[2], hi[2];
	stats_bootstrap(100, 20000, 11, 0.05, 2, boot_mean, &c, lo, hi);
	near(lo[0], 43.84235423312543, 0.3);
	near(hi[0], 55.15764576687457, 0.3);
	stats_bootstrap(100, 20000, 11, 0.2, 2, boot_mean, &c, lo, hi);
	near(lo[0], 45.80066427392216, 0.3);
	near(hi[0], 53.19933572607784, 0.3);
}

static void boot_count_last(const int *idx, int n, void *ctx, double *values)
{
	(void)ctx;
	int k = 0;
	for (int i = 0; i < n; i++)
		k += idx[i] == n - 1;
	values[0] = k;
	values[1] = NAN;
}

/* How often a resample of 100 picks the last item is Binomial(100, 1/100):
 * P(X <= 2) = 0.9206 and P(X <= 3) = 0.9816, so the 97.5 % quantile over
 * many resamples is 3; the 2.5 % quantile is 0 (P(X = 0) = 0.366). */
static void stats_bootstrap_should_reach_the_last_item(void **state)
{
	(void)state;
	double lo[2], hi[2];
	stats_bootstrap(100, 5000, 3, 0.05, 2, boot_count_last, NULL, lo, hi);
	near(lo[0], 0, 0);
	near(hi[0], 3, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stats_rng_should_match_the_reference_mt19937),
		cmocka_unit_test(stats_should_give_mean_sd_and_t_interval),
		cmocka_unit_test(stats_should_give_the_wilson_interval),
		cmocka_unit_test(stats_nb_test_should_inflate_the_variance),
		cmocka_unit_test(stats_should_correct_repeated_k_fold_differences),
		cmocka_unit_test(stats_should_estimate_the_repeats_a_difference_needs),
		cmocka_unit_test(stats_holm_should_step_down),
		cmocka_unit_test(stats_mcnemar_should_use_exact_or_corrected_chi2),
		cmocka_unit_test(stats_mcnemar_should_switch_to_chi2_at_25),
		cmocka_unit_test(stats_bootstrap_should_be_seeded_and_plausible),
		cmocka_unit_test(stats_bootstrap_should_give_the_asked_level),
		cmocka_unit_test(stats_bootstrap_should_reach_the_last_item),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
