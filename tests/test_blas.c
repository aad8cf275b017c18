/* test_blas.c: OpenBLAS core choice from CPU features, and the sgemm that
 * darkfold's GEMM uses. */
#include "blas.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void core_should_follow_the_widest_usable_instruction_set(void **state)
{
	(void)state;
	struct blas_cpu c;
	memset(&c, 0, sizeof c);
	assert_null(blas_core_for(&c));
	c.sse3 = 1;
	assert_string_equal(blas_core_for(&c), "Prescott");
	c.ssse3 = 1;
	assert_string_equal(blas_core_for(&c), "Core2");
	c.sse4_2 = 1;
	assert_string_equal(blas_core_for(&c), "Nehalem");
	c.avx = 1;
	assert_string_equal(blas_core_for(&c), "Sandybridge");
	c.avx2_fma = 1;
	assert_string_equal(blas_core_for(&c), "Haswell");
	c.amd = 1;
	assert_string_equal(blas_core_for(&c), "Zen");
	/* AVX-512 (e.g. Zen 4) takes the AVX-512 kernels, whatever the vendor */
	c.avx512 = 1;
	assert_string_equal(blas_core_for(&c), "SkylakeX");
	c.avx512_bf16 = 1;
	assert_string_equal(blas_core_for(&c), "Cooperlake");
	c.amd = 0;
	assert_string_equal(blas_core_for(&c), "Cooperlake");
	c.avx512_bf16 = 0;
	assert_string_equal(blas_core_for(&c), "SkylakeX");
}

/* 1 if /proc/cpuinfo's first flags line lists flag (the kernel lists a
 * feature only when it also enabled its register state). */
static int cpuinfo_has(const char *flag)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return -1;
	char line[8192];
	int found = -1;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "flags", 5))
			continue;
		found = 0;
		for (char *t = strtok(strchr(line, ':') + 1, " \n"); t; t = strtok(NULL, " \n"))
			if (!strcmp(t, flag))
				found = 1;
		break;
	}
	fclose(f);
	return found;
}

static void detection_should_agree_with_the_kernel(void **state)
{
	(void)state;
	if (cpuinfo_has("sse3") < 0 && cpuinfo_has("pni") < 0)
		skip();
	struct blas_cpu c;
	blas_cpu_detect(&c);
	assert_int_equal(c.sse3, cpuinfo_has("pni") == 1);
	assert_int_equal(c.avx2_fma, cpuinfo_has("avx2") == 1 && cpuinfo_has("fma") == 1);
	int k512 = cpuinfo_has("avx512f") == 1 && cpuinfo_has("avx512bw") == 1 &&
		   cpuinfo_has("avx512dq") == 1 && cpuinfo_has("avx512vl") == 1 &&
		   cpuinfo_has("avx512cd") == 1;
	assert_int_equal(c.avx512, k512);
	assert_int_equal(c.avx512_bf16, k512 && cpuinfo_has("avx512_bf16") == 1);
}

static void sgemm_should_be_openblas_and_correct(void **state)
{
	(void)state;
	const char *lib = blas_sgemm_library();
	if (!strstr(lib, "openblas"))
		fail_msg("darkfold's sgemm comes from '%s', not OpenBLAS", lib);
	/* A (2x3) * B^T where B (2x3), worked out by hand, plus 2 C */
	float A[6] = { 1, 2, 3, 4, 5, 6 }, B[6] = { 1, 0, -1, 2, 1, 0 };
	float C[4] = { 1, 1, 1, 1 };
	blas_sgemm(0, 1, 2, 2, 3, 1, A, 3, B, 3, 2, C, 2);
	assert_true(C[0] == -2 + 2 && C[1] == 4 + 2 && C[2] == -2 + 2 && C[3] == 13 + 2);
	blas_set_threads(1);
	assert_int_equal(blas_threads(), 1);
	assert_true(strlen(blas_corename()) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(core_should_follow_the_widest_usable_instruction_set),
		cmocka_unit_test(detection_should_agree_with_the_kernel),
		cmocka_unit_test(sgemm_should_be_openblas_and_correct),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
