/* stats.c: GSL boundary. */
#include "stats.h"

#include "error.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_version.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

void stats_init(void)
{
	gsl_set_error_handler_off();
}

const char *stats_gsl_version(void)
{
	return gsl_version;
}

struct stats_rng {
	gsl_rng *g;
};

struct stats_rng *stats_rng_new(uint64_t seed)
{
	struct stats_rng *r = xmalloc(sizeof *r);
	r->g = gsl_rng_alloc(gsl_rng_mt19937);
	if (!r->g) {
		error("out of memory at %s:%d", __FILE__, __LINE__);
		abort();
	}
	gsl_rng_set(r->g, (unsigned long)((uint32_t)seed ^ (uint32_t)(seed >> 32)));
	return r;
}

void stats_rng_free(struct stats_rng *r)
{
	if (!r)
		return;
	gsl_rng_free(r->g);
	free(r);
}

unsigned long stats_rng_int(struct stats_rng *r, unsigned long n)
{
	if (n == 0)
		return 0;
	return gsl_rng_uniform_int(r->g, n);
}

double stats_rng_uniform(struct stats_rng *r)
{
	return gsl_rng_uniform(r->g);
}

void stats_rng_shuffle(struct stats_rng *r, int *a, int n)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)stats_rng_int(r, (unsigned long)i + 1);
		int t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

/* The finite values of x, in order, into a new array. */
static double *finite_values(const double *x, int n, int *m)
{
	double *v = xmalloc(sizeof *v * (size_t)(n > 0 ? n : 1));
	*m = 0;
	for (int i = 0; i < n; i++)
		if (isfinite(x[i]))
			v[(*m)++] = x[i];
	return v;
}

void stats_mean_sd(const double *x, int n, double *mean, double *sd, int *n_used)
{
	int m;
	double *v = finite_values(x, n, &m);
	*mean = m > 0 ? gsl_stats_mean(v, 1, (size_t)m) : NAN;
	*sd = m > 1 ? gsl_stats_sd_m(v, 1, (size_t)m, *mean) : NAN;
	if (n_used)
		*n_used = m;
	free(v);
}

int stats_t_interval(const double *x, int n, double alpha, double *lo, double *hi)
{
	double mean, sd;
	int m;
	*lo = *hi = NAN;
	stats_mean_sd(x, n, &mean, &sd, &m);
	if (m < 2 || !(alpha > 0 && alpha < 1))
		return -1;
	double t = gsl_cdf_tdist_Pinv(1 - alpha / 2, m - 1);
	if (!isfinite(t))
		return -1;
	double half = t * sd / sqrt(m);
	*lo = mean - half;
	*hi = mean + half;
	return 0;
}

int stats_wilson(long k, long n, double alpha, double *lo, double *hi)
{
	*lo = *hi = NAN;
	if (n <= 0 || k < 0 || k > n || !(alpha > 0 && alpha < 1))
		return -1;
	double z = gsl_cdf_ugaussian_Pinv(1 - alpha / 2);
	double p = (double)k / n, z2 = z * z, nn = (double)n;
	double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
	double half = z / (1 + z2 / nn) * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
	*lo = centre - half;
	*hi = centre + half;
	if (*lo < 0)
		*lo = 0;
	if (*hi > 1)
		*hi = 1;
	return 0;
}

void stats_bootstrap(int n, int resamples, uint64_t seed, double alpha, int n_stats,
		     stats_boot_fn stat, void *ctx, double *lo, double *hi)
{
	for (int s = 0; s < n_stats; s++)
		lo[s] = hi[s] = NAN;
	if (n <= 0 || resamples <= 0 || n_stats <= 0)
		return;
	/* (n_stats, resamples) */
	double *vals = xmalloc(sizeof *vals * (size_t)n_stats * (size_t)resamples);
	double *one = xmalloc(sizeof *one * (size_t)n_stats);
	int *idx = xmalloc(sizeof *idx * (size_t)n);
	struct stats_rng *r = stats_rng_new(seed);
	for (int b = 0; b < resamples; b++) {
		for (int i = 0; i < n; i++)
			idx[i] = (int)stats_rng_int(r, (unsigned long)n);
		stat(idx, n, ctx, one);
		for (int s = 0; s < n_stats; s++)
			vals[(size_t)s * resamples + b] = one[s];
	}
	for (int s = 0; s < n_stats; s++) {
		int m;
		double *v = finite_values(vals + (size_t)s * resamples, resamples, &m);
		if (2 * m >= resamples && m > 0) {
			gsl_sort(v, 1, (size_t)m);
			lo[s] = gsl_stats_quantile_from_sorted_data(v, 1, (size_t)m, alpha / 2);
			hi[s] = gsl_stats_quantile_from_sorted_data(v, 1, (size_t)m, 1 - alpha / 2);
		}
		free(v);
	}
	stats_rng_free(r);
	free(idx);
	free(one);
	free(vals);
}

void stats_nb_ttest(const double *d, int n, double test_train_ratio, struct stats_ttest *out)
{
	double mean, sd;
	int m;
	stats_mean_sd(d, n, &mean, &sd, &m);
	out->mean = mean;
	out->sd = sd;
	out->t = out->df = out->p = NAN;
	out->reason = NULL;
	if (m < 2) {
		out->reason = "fewer than 2 paired folds";
		return;
	}
	out->df = m - 1;
	double var = sd * sd * (1.0 / m + test_train_ratio);
	if (var <= 0) {
		if (mean == 0) {
			out->t = 0;
			out->p = 1;
		} else {
			out->reason = "paired differences have zero variance";
		}
		return;
	}
	out->t = mean / sqrt(var);
	out->p = 2 * gsl_cdf_tdist_Q(fabs(out->t), out->df);
	if (out->p > 1)
		out->p = 1;
}

int stats_repeats_needed(double mean, double sd, double test_train_ratio, int k, double alpha,
			 int max_repeats)
{
	if (!(isfinite(mean) && isfinite(sd)) || mean == 0 || k < 2 || !(alpha > 0 && alpha < 1))
		return -1;
	for (int r = 1; r <= max_repeats; r++) {
		int n = r * k;
		double se = sqrt(sd * sd * (1.0 / n + test_train_ratio));
		if (se == 0)
			return r;
		double t = fabs(mean) / se;
		if (2 * gsl_cdf_tdist_Q(t, n - 1) < alpha)
			return r;
	}
	return -1;
}

struct holm_item {
	double p;
	int i;
};

static int holm_cmp(const void *a, const void *b)
{
	const struct holm_item *x = a, *y = b;
	if (x->p < y->p)
		return -1;
	if (x->p > y->p)
		return 1;
	return (x->i > y->i) - (x->i < y->i);
}

void stats_holm(const double *p, int m, double *p_adj)
{
	struct holm_item *it = xmalloc(sizeof *it * (size_t)(m > 0 ? m : 1));
	int f = 0;
	for (int i = 0; i < m; i++)
		if (isfinite(p[i]))
			it[f++] = (struct holm_item){ p[i], i };
	for (int i = 0; i < m; i++)
		if (!isfinite(p[i]))
			p_adj[i] = NAN;
	qsort(it, (size_t)f, sizeof *it, holm_cmp);
	double run = 0;
	for (int j = 0; j < f; j++) {
		double a = (f - j) * it[j].p;
		if (a > 1)
			a = 1;
		if (a > run)
			run = a;
		p_adj[it[j].i] = run;
	}
	free(it);
}

void stats_mcnemar(long b, long c, struct stats_mcnemar *out)
{
	out->b = b;
	out->c = c;
	long s = b + c;
	if (s < STATS_MCNEMAR_EXACT_BELOW) {
		out->method = "exact";
		long lo = b < c ? b : c;
		out->statistic = (double)lo;
		if (s == 0) {
			out->p = 1;
			return;
		}
		/* two-sided: 2 P(X <= min(b, c)), X ~ Binomial(b + c, 1/2) */
		double p = 2 * gsl_cdf_binomial_P((unsigned int)lo, 0.5, (unsigned int)s);
		out->p = p > 1 ? 1 : p;
		return;
	}
	out->method = "chi2_cc";
	double d = fabs((double)(b - c)) - 1;
	if (d < 0)
		d = 0;
	out->statistic = d * d / (double)s;
	out->p = gsl_cdf_chisq_Q(out->statistic, 1);
}
