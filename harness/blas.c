/* blas.c: OpenBLAS core selection and queries. */
#define _GNU_SOURCE /* dladdr */
#include "blas.h"

#include "error.h"

#include <cblas.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>

static unsigned long long xgetbv0(void)
{
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((unsigned long long)hi << 32) | lo;
}

void blas_cpu_detect(struct blas_cpu *cpu)
{
	unsigned a, b, c, d;
	memset(cpu, 0, sizeof *cpu);
	if (!__get_cpuid(0, &a, &b, &c, &d))
		return;
	unsigned max_leaf = a;
	char vendor[13];
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	vendor[12] = 0;
	cpu->amd = !strcmp(vendor, "AuthenticAMD") || !strcmp(vendor, "HygonGenuine");

	__cpuid(1, a, b, c, d);
	cpu->sse3 = !!(c & bit_SSE3);
	cpu->ssse3 = !!(c & bit_SSSE3);
	cpu->sse4_2 = !!(c & bit_SSE4_2);
	int has_avx = !!(c & bit_AVX), has_fma = !!(c & bit_FMA);
	unsigned long long xcr0 = (c & bit_OSXSAVE) ? xgetbv0() : 0;
	int ymm_on = (xcr0 & 0x6) == 0x6;           /* SSE and AVX state */
	int zmm_on = ymm_on && (xcr0 & 0xe0) == 0xe0; /* opmask, ZMM_Hi256, Hi16_ZMM */
	cpu->avx = has_avx && ymm_on;
	if (max_leaf < 7)
		return;
	__cpuid_count(7, 0, a, b, c, d);
	unsigned max_sub = a;
	cpu->avx2_fma = cpu->avx && (b & bit_AVX2) && has_fma;
	unsigned need512 = bit_AVX512F | bit_AVX512CD | bit_AVX512BW | bit_AVX512DQ | bit_AVX512VL;
	cpu->avx512 = zmm_on && (b & need512) == need512 && cpu->avx2_fma;
	if (max_sub >= 1) {
		__cpuid_count(7, 1, a, b, c, d);
		cpu->avx512_bf16 = cpu->avx512 && (a & (1u << 5));
	}
}
#else
void blas_cpu_detect(struct blas_cpu *cpu)
{
	memset(cpu, 0, sizeof *cpu);
}
#endif

const char *blas_core_for(const struct blas_cpu *cpu)
{
	if (cpu->avx512)
		return cpu->avx512_bf16 ? "Cooperlake" : "SkylakeX";
	if (cpu->avx2_fma)
		return cpu->amd ? "Zen" : "Haswell";
	if (cpu->avx)
		return "Sandybridge";
	if (cpu->sse4_2)
		return "Nehalem";
	if (cpu->ssse3)
		return "Core2";
	if (cpu->sse3)
		return "Prescott";
	return NULL;
}

/* Set in the environment of the re-executed process: its
 * OPENBLAS_CORETYPE is darkfold's own choice, not the user's. */
static const char chosen_mark[] = "DARKFOLD_BLAS_CORE_CHOSEN";

void blas_prepare_process(char **argv)
{
	struct blas_cpu cpu;
	blas_cpu_detect(&cpu);
	const char *core = blas_core_for(&cpu);
	const char *user = getenv("OPENBLAS_CORETYPE");
	if (user) {
		if (core && !getenv(chosen_mark) && strcasecmp(user, core))
			warning("OPENBLAS_CORETYPE=%s from the environment replaces darkfold's "
				"choice for this CPU, %s: its kernels round differently, so "
				"results differ from runs with %s", user, core, core);
		return;
	}
	if (!core)
		return;
	if (setenv("OPENBLAS_CORETYPE", core, 0) || setenv(chosen_mark, core, 1))
		return;
	if (!getenv("OPENBLAS_NUM_THREADS") && !getenv("OMP_NUM_THREADS") &&
	    !getenv("GOTO_NUM_THREADS"))
		setenv("OPENBLAS_NUM_THREADS", "1", 0);
	execv("/proc/self/exe", argv);
	warning("cannot re-execute /proc/self/exe to select OpenBLAS core %s; "
		"set OPENBLAS_CORETYPE=%s yourself", core, core);
}

typedef void (*sgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE,
			 blasint, blasint, blasint, float, const float *, blasint,
			 const float *, blasint, float, float *, blasint);

static const char openblas_soname[] = "libopenblas.so.0";

/* OpenBLAS's own cblas_sgemm, looked up once (a cache, not state). */
static sgemm_fn openblas_sgemm(void)
{
	static sgemm_fn fn;
	if (fn)
		return fn;
	void *h = dlopen(openblas_soname, RTLD_LAZY);
	void *p = h ? dlsym(h, "cblas_sgemm") : NULL;
	if (p) {
		memcpy(&fn, &p, sizeof fn);
	} else {
		warning("cannot find cblas_sgemm in %s; using the first CBLAS loaded",
			openblas_soname);
		fn = cblas_sgemm;
	}
	return fn;
}

void blas_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
		const float *B, int ldb, float beta, float *C, int ldc)
{
	openblas_sgemm()(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
			 tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C,
			 ldc);
}

const char *blas_sgemm_library(void)
{
	sgemm_fn fn = openblas_sgemm();
	void *p;
	memcpy(&p, &fn, sizeof p);
	Dl_info info;
	if (!dladdr(p, &info) || !info.dli_fname)
		return "unknown";
	return info.dli_fname;
}

const char *blas_config(void)
{
	return openblas_get_config();
}

const char *blas_corename(void)
{
	return openblas_get_corename();
}

int blas_threads(void)
{
	return openblas_get_num_threads();
}

void blas_set_threads(int n)
{
	openblas_set_num_threads(n < 1 ? 1 : n);
}
