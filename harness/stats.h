/* stats.h: statistics across folds through GSL (the only module that
 * includes GSL headers): a seeded random generator, Student-t and Wilson
 * intervals, a seeded percentile bootstrap, the Nadeau-Bengio corrected
 * resampled t-test, Holm's correction and McNemar's test.
 *
 * Undefined results are NAN (never Inf); callers write them as null. */
#ifndef DARKFOLD_STATS_H
#define DARKFOLD_STATS_H

#include <stdint.h>

/* Turn off GSL's aborting error handler; every GSL status is checked by the
 * caller instead. Call once at start-up; idempotent. */
void stats_init(void);
/* The GSL version linked at run time, e.g. "2.7.1". */
const char *stats_gsl_version(void);

/* A seeded random generator (GSL mt19937). The 64-bit seed is folded to 32
 * bits (low XOR high word) before seeding, so the stream is the same on every
 * platform whatever the width of unsigned long. Never returns NULL (aborts on
 * out-of-memory); stats_rng_free(NULL) is a no-op. */
struct stats_rng;
struct stats_rng *stats_rng_new(uint64_t seed);
void stats_rng_free(struct stats_rng *r);
/* Uniform integer in [0, n), n >= 1 (n == 0 returns 0). */
unsigned long stats_rng_int(struct stats_rng *r, unsigned long n);
/* Uniform double in [0, 1). */
double stats_rng_uniform(struct stats_rng *r);
/* Fisher-Yates shuffle of a[0..n) with stats_rng_int. */
void stats_rng_shuffle(struct stats_rng *r, int *a, int n);

/* Mean and sample standard deviation (n - 1 denominator) of x[0..n),
 * skipping NAN entries; *n_used gets the count of finite values (may be NULL).
 * With no finite values both are NAN; with one, sd is NAN. */
void stats_mean_sd(const double *x, int n, double *mean, double *sd, int *n_used);

/* Two-sided (1 - alpha) Student-t interval for the mean of the finite values
 * of x: mean -/+ t_{1-alpha/2, m-1} * sd / sqrt(m), t from
 * gsl_cdf_tdist_Pinv. Fewer than 2 finite values: *lo = *hi = NAN and -1.
 * Returns 0 when the interval is defined. */
int stats_t_interval(const double *x, int n, double alpha, double *lo, double *hi);

/* Wilson score interval for k successes out of n at level 1 - alpha
 * (z = gsl_cdf_ugaussian_Pinv(1 - alpha/2)). n == 0: NAN and -1. */
int stats_wilson(long k, long n, double alpha, double *lo, double *hi);

/* Percentile bootstrap. Draws `resamples` resamples of n indices with
 * replacement from a generator seeded with `seed`; for each calls
 * stat(idx, n, ctx, values) which fills values[0..n_stats) (NAN allowed).
 * For each statistic s, lo[s]/hi[s] are the alpha/2 and 1 - alpha/2
 * quantiles of its finite values (NAN when fewer than half the resamples
 * gave a finite value). Deterministic for a given seed. */
typedef void (*stats_boot_fn)(const int *idx, int n, void *ctx, double *values);
void stats_bootstrap(int n, int resamples, uint64_t seed, double alpha, int n_stats,
		     stats_boot_fn stat, void *ctx, double *lo, double *hi);

/* Nadeau-Bengio corrected resampled t-test on paired differences d[0..n)
 * from n train/test resamples with test/train size ratio
 * `test_train_ratio`: variance sigma^2 (n - 1 denominator) is multiplied by
 * (1/n + test_train_ratio), t = mean / sqrt(that), df = n - 1, two-sided p
 * from Student-t. With the n = r * k folds of r repeats of k-fold
 * cross-validation this is Bouckaert and Frank's corrected repeated k-fold
 * t-test (variance factor 1/(r k) + n_test/n_train, df = r k - 1). */
struct stats_ttest {
	double mean, sd, t, df, p;
	const char *reason; /* why t and p are NAN, or NULL */
};
void stats_nb_ttest(const double *d, int n, double test_train_ratio, struct stats_ttest *out);

/* Repeats of k-fold cross-validation at which the corrected repeated k-fold
 * t-test would call paired differences with this mean and sd (n - 1
 * denominator) significant at level alpha (two-sided p < alpha,
 * df = r k - 1), assuming the mean and sd stay as observed: the smallest
 * r in [1, max_repeats], or -1 when none (mean 0, or the correction's
 * floor sd^2 * test_train_ratio keeps t below the critical value). */
int stats_repeats_needed(double mean, double sd, double test_train_ratio, int k, double alpha,
			 int max_repeats);

/* Holm's step-down correction of p[0..m) into p_adj[0..m) (p_adj may be p):
 * sorted ascending, p_adj_(i) = max over j <= i of min(1, (m' - j) p_(j)),
 * i, j from 0, m' the number of finite p-values. NAN p-values are left out
 * of the family and stay NAN. */
void stats_holm(const double *p, int m, double *p_adj);

/* McNemar's test on the discordant counts b (first right, second wrong) and
 * c (first wrong, second right). When b + c < STATS_MCNEMAR_EXACT_BELOW the
 * exact two-sided binomial test is used (statistic = min(b, c)); otherwise
 * the chi-square test with continuity correction,
 * (|b - c| - 1)^2 / (b + c), 1 degree of freedom. b + c == 0 gives p = 1. */
#define STATS_MCNEMAR_EXACT_BELOW 25
struct stats_mcnemar {
	long b, c;
	double statistic, p;
	const char *method; /* "exact" or "chi2_cc" */
};
void stats_mcnemar(long b, long c, struct stats_mcnemar *out);

#endif
