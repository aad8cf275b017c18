/* test_accel_bf16.c: the BF16 GEMM (accel_gemm_bf16, harness/accel_gemm.c)
 * against products worked out here in double precision, its bits (repeat,
 * kernels, rounding, NaN), and the precision switch that routes training's
 * products to it.
 *
 * Tolerances, per element of C = C0 + sum_k a_k b_k (C0 = 0 without
 * accumulation), with eps = 2^-24 (FP32) and u = 2^-8 (bfloat16's unit
 * roundoff, 8 significant bits):
 *   - against the double-precision product of the bfloat16-rounded inputs
 *     a', b': each product a' b' is exact in FP32, so only the K additions
 *     of the chain round (the padding of an odd K adds -0, exactly), each by
 *     at most eps times the partial sum: |got - want| <= K eps (|C0| +
 *     sum |a'||b'|);
 *   - against the FP32 product of the unrounded inputs (the ordered GEMM):
 *     rounding a and b moves each product by at most 2u |a||b|, and both
 *     chains round K times: |got - want| <= 2u sum |a||b| + 2 K eps (|C0| +
 *     sum |a'||b'| + sum |a||b|).
 * A wrong pairing, dropped step or lost start value errs by a whole term,
 * far beyond both. */
#include "accel.h"

#include "blas.h"
#include "error.h"
#include "helpers.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Darknet's prototype (darkfold's replacement has the same one). */
void gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B,
	  int ldb, float BETA, float *C, int ldc);

static uint64_t rng_state = 7;

static float *rand_array(size_t n)
{
	return test_rand_floats(&rng_state, n);
}

static float *dup_array(const float *p, size_t n)
{
	return test_dup_floats(p, n);
}

/* x rounded to bfloat16 to nearest even, written independently of the
 * GEMM: the nearest multiple of 2^(e-7) for x in [2^e, 2^(e+1)) (ties to
 * the even multiple), by rint in double (x normal and finite here). */
static double bf16(float x)
{
	if (x == 0)
		return x;
	int e;
	frexp(x, &e); /* |x| in [2^(e-1), 2^e) */
	return ldexp(rint(ldexp(x, 8 - e)), e - 8);
}

static void assert_same_bits(const float *a, const float *b, size_t n, const char *what)
{
	if (memcmp(a, b, sizeof *a * n) == 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (memcmp(&a[i], &b[i], sizeof *a))
			fail_msg("%s: element %zu: %a against %a", what, i, a[i], b[i]);
}

/* One product: shapes, transpositions, accumulation, its operands. */
struct product {
	int ta, tb, M, N, K, acc, lda, ldb, ldc;
	float *A, *B, *C0;
};

static void product_init(struct product *p, int ta, int tb, int M, int N, int K, int acc)
{
	*p = (struct product){ .ta = ta, .tb = tb, .M = M, .N = N, .K = K, .acc = acc };
	p->lda = (ta ? M : K) + 2, p->ldb = (tb ? K : N) + 1, p->ldc = N + 3;
	p->A = rand_array((size_t)(ta ? K : M) * p->lda + 1);
	p->B = rand_array((size_t)(tb ? N : K) * p->ldb + 1);
	p->C0 = rand_array((size_t)M * p->ldc);
}

static void product_free(struct product *p)
{
	free(p->A), free(p->B), free(p->C0);
}

static float a_at(const struct product *p, int i, int k)
{
	return p->ta ? p->A[(size_t)k * p->lda + i] : p->A[(size_t)i * p->lda + k];
}

static float b_at(const struct product *p, int k, int j)
{
	return p->tb ? p->B[(size_t)j * p->ldb + k] : p->B[(size_t)k * p->ldb + j];
}

/* C = C0 (a copy) after op: the BF16 GEMM, or the ordered (FP32) one. */
static float *run(const struct product *p, int bf)
{
	float *C = dup_array(p->C0, (size_t)p->M * p->ldc);
	if (bf)
		accel_gemm_bf16(p->ta, p->tb, p->M, p->N, p->K, p->A, p->lda, p->B, p->ldb, p->acc,
				C, p->ldc);
	else
		accel_gemm_ordered(p->ta, p->tb, p->M, p->N, p->K, p->A, p->lda, p->B, p->ldb,
				   p->acc, C, p->ldc);
	return C;
}

/* Element (i, j) of got against both references (header comment). */
static void check_element(const struct product *p, const float *got, const float *fp32, int i,
			  int j)
{
	double c0 = p->acc ? p->C0[(size_t)i * p->ldc + j] : 0;
	double want = c0, sum = 0, sum_exact = 0;
	for (int k = 0; k < p->K; k++) {
		double a = bf16(a_at(p, i, k)), b = bf16(b_at(p, k, j));
		want += a * b, sum += fabs(a * b);
		sum_exact += fabs((double)a_at(p, i, k) * b_at(p, k, j));
	}
	double g = got[(size_t)i * p->ldc + j], f = fp32[(size_t)i * p->ldc + j];
	double tol = p->K * ldexp(fabs(c0) + sum, -24);
	if (!(fabs(g - want) <= tol))
		fail_msg("%dx%dx%d ta %d tb %d acc %d: (%d, %d): %.9g, rounded inputs' product "
			 "%.9g (tolerance %.3g)", p->M, p->N, p->K, p->ta, p->tb, p->acc, i, j, g,
			 want, tol);
	double tol32 = ldexp(sum_exact, -7) + 2 * p->K * ldexp(fabs(c0) + sum + sum_exact, -24);
	if (!(fabs(g - f) <= tol32))
		fail_msg("%dx%dx%d ta %d tb %d acc %d: (%d, %d): %.9g, FP32 product %.9g "
			 "(tolerance %.3g)", p->M, p->N, p->K, p->ta, p->tb, p->acc, i, j, g, f,
			 tol32);
}

/* Every transposition, with and without accumulation, on shapes with odd
 * M, N and K, K = 1, shapes that cut the 12 x 32 tiles and the 1152-step
 * blocks of k (an odd last block), and shapes that run the vectors along
 * the rows; with every kernel this CPU has. Columns beyond N are left
 * alone. */
static void bf16_gemm_should_stay_within_both_bounds(void **state)
{
	(void)state;
	static const int dims[][3] = { { 1, 1, 1 },     { 5, 7, 3 },     { 13, 33, 1 },
				       { 12, 32, 2 },   { 13, 33, 1153 }, { 25, 45, 7 },
				       { 64, 4, 2401 }, { 100, 3, 17 },   { 3, 130, 5 } };
	static const char *const isas[] = { "avx512bf16", "scalar" };
	for (size_t s = 0; s < 2; s++) {
		if (accel_gemm_bf16_force_kernel(isas[s]) != 0)
			continue; /* not on this CPU */
		for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
			for (int v = 0; v < 8; v++) {
				struct product p;
				product_init(&p, v & 1, v >> 1 & 1, dims[d][0], dims[d][1],
					     dims[d][2], v >> 2);
				float *got = run(&p, 1), *fp32 = run(&p, 0);
				for (int i = 0; i < p.M; i++) {
					for (int j = 0; j < p.N; j++)
						check_element(&p, got, fp32, i, j);
					for (int j = p.N; j < p.ldc; j++)
						assert_same_bits(&got[(size_t)i * p.ldc + j],
								 &p.C0[(size_t)i * p.ldc + j], 1,
								 "past column N");
				}
				free(got), free(fp32);
				product_free(&p);
			}
	}
	accel_gemm_bf16_force_kernel(NULL);
}

/* The same inputs give the same bits: again, with the other kernel, and
 * for a row of A or a column of B multiplied alone. And the rounding is
 * real: a product of many terms differs from the FP32 one. */
static void bf16_gemm_should_give_the_same_bits_every_time(void **state)
{
	(void)state;
	struct product p;
	product_init(&p, 0, 1, 70, 150, 301, 1);
	float *first = run(&p, 1), *again = run(&p, 1), *fp32 = run(&p, 0);
	assert_same_bits(again, first, (size_t)p.M * p.ldc, "repeat");
	assert_true(memcmp(first, fp32, sizeof *fp32 * p.M * p.ldc) != 0);
	assert_int_equal(accel_gemm_bf16_force_kernel("scalar"), 0);
	float *scalar = run(&p, 1);
	assert_same_bits(scalar, first, (size_t)p.M * p.ldc, "scalar kernel");
	accel_gemm_bf16_force_kernel(NULL);
	float *row = xmalloc(sizeof *row * p.N);
	for (int i = 0; i < p.M; i += 23) {
		memcpy(row, p.C0 + (size_t)i * p.ldc, sizeof *row * p.N);
		accel_gemm_bf16(0, 1, 1, p.N, p.K, p.A + (size_t)i * p.lda, p.lda, p.B, p.ldb, 1,
				row, p.N);
		assert_same_bits(row, first + (size_t)i * p.ldc, p.N, "a row alone");
	}
	free(first), free(again), free(fp32), free(scalar), free(row);
	product_free(&p);
}

/* Hand-worked roundings, K = 1, B = 1 (so C = a' exactly): ties go to the
 * even neighbour (1 + 2^-8 lies half-way between 1 and 1 + 2^-7), others
 * to the nearest; Inf stays Inf; a subnormal becomes 0. With every kernel. */
static void bf16_gemm_should_round_to_nearest_even(void **state)
{
	(void)state;
	static const float in[] = { 1.00390625f,  /* 1 + 2^-8: tie, to 1 */
				    1.01171875f,  /* 1 + 3 2^-8: tie, to 1 + 2^-6 */
				    1.005859375f, /* 1 + 1.5 2^-8: to 1 + 2^-7 */
				    -3.0078125f,  /* -(3 + 2^-7): tie, to -3 */
				    INFINITY,     0x1p-130f, 65535.0f };
	static const float want[] = { 1.0f, 1.015625f, 1.0078125f, -3.0f, INFINITY, 0.0f, 65536.0f };
	enum { N = sizeof in / sizeof in[0] };
	static const char *const isas[] = { "avx512bf16", "scalar" };
	float one = 1.0f, got[N];
	for (size_t s = 0; s < 2; s++) {
		if (accel_gemm_bf16_force_kernel(isas[s]) != 0)
			continue;
		accel_gemm_bf16(0, 0, N, 1, 1, in, 1, &one, 1, 0, got, 1);
		for (int i = 0; i < N; i++)
			if (got[i] != want[i])
				fail_msg("%s: %a rounds to %a, want %a", isas[s], in[i], got[i],
					 want[i]);
	}
	accel_gemm_bf16_force_kernel(NULL);
}

/* A NaN in A makes its row of C NaN and no other; a NaN in B its column. */
static void bf16_gemm_should_propagate_nan(void **state)
{
	(void)state;
	static const char *const isas[] = { "avx512bf16", "scalar" };
	for (size_t s = 0; s < 2; s++) {
		if (accel_gemm_bf16_force_kernel(isas[s]) != 0)
			continue;
		struct product p;
		product_init(&p, 0, 0, 17, 35, 9, 0);
		p.A[3 * p.lda + 4] = NAN;
		p.B[6 * p.ldb + 30] = NAN;
		float *C = run(&p, 1);
		for (int i = 0; i < p.M; i++)
			for (int j = 0; j < p.N; j++)
				if ((i == 3 || j == 30) != isnan(C[(size_t)i * p.ldc + j]))
					fail_msg("%s: (%d, %d) is %g", isas[s], i, j,
						 C[(size_t)i * p.ldc + j]);
		free(C);
		product_free(&p);
	}
	accel_gemm_bf16_force_kernel(NULL);
}

/* The switch: with ACCEL_BF16 the gemm replacement gives the BF16 GEMM's
 * bits (ALPHA 1, BETA 0 or 1), OpenBLAS's for other ALPHA; during an
 * inference pass the ordered GEMM's; with ACCEL_FP32 OpenBLAS's again. */
static void precision_should_route_the_products(void **state)
{
	(void)state;
	assert_int_equal(accel_precision(), ACCEL_FP32);
	struct product p;
	product_init(&p, 0, 0, 20, 40, 50, 1);
	size_t nc = (size_t)p.M * p.ldc;
	float *bf = run(&p, 1), *ord = run(&p, 0), *blas = dup_array(p.C0, nc);
	float *twice = dup_array(p.C0, nc), *got = dup_array(p.C0, nc);
	blas_sgemm(0, 0, p.M, p.N, p.K, 1, p.A, p.lda, p.B, p.ldb, 1, blas, p.ldc);
	blas_sgemm(0, 0, p.M, p.N, p.K, 2, p.A, p.lda, p.B, p.ldb, 1, twice, p.ldc);
	accel_set_precision(ACCEL_BF16);
	gemm(0, 0, p.M, p.N, p.K, 1, p.A, p.lda, p.B, p.ldb, 1, got, p.ldc);
	assert_same_bits(got, bf, nc, "bf16");
	memcpy(got, p.C0, sizeof *got * nc);
	gemm(0, 0, p.M, p.N, p.K, 2, p.A, p.lda, p.B, p.ldb, 1, got, p.ldc);
	assert_same_bits(got, twice, nc, "ALPHA 2: OpenBLAS");
	memcpy(got, p.C0, sizeof *got * nc);
	accel_set_ordered(1);
	accel_product(0, 0, p.M, p.N, p.K, p.A, p.lda, p.B, p.ldb, 1, got, p.ldc);
	accel_set_ordered(0);
	assert_same_bits(got, ord, nc, "inference: ordered");
	accel_set_precision(ACCEL_FP32);
	memcpy(got, p.C0, sizeof *got * nc);
	gemm(0, 0, p.M, p.N, p.K, 1, p.A, p.lda, p.B, p.ldb, 1, got, p.ldc);
	assert_same_bits(got, blas, nc, "fp32: OpenBLAS");
	free(bf), free(ord), free(blas), free(twice), free(got);
	product_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bf16_gemm_should_stay_within_both_bounds),
		cmocka_unit_test(bf16_gemm_should_give_the_same_bits_every_time),
		cmocka_unit_test(bf16_gemm_should_round_to_nearest_even),
		cmocka_unit_test(bf16_gemm_should_propagate_nan),
		cmocka_unit_test(precision_should_route_the_products),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
