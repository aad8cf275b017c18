/* blas.h: the OpenBLAS boundary: which CPU core's kernels run, the thread
 * count, and the library's version.
 *
 * Debian's OpenBLAS is built with DYNAMIC_ARCH: when it loads, it picks one
 * of its kernel sets ("cores") from the CPU it finds, or from the
 * environment variable OPENBLAS_CORETYPE if set. Its own detection does not
 * know every CPU (it falls back to the SSE3 "Prescott" kernels on some AVX-512
 * Xeons), so darkfold chooses the core itself from CPUID and XGETBV and hands
 * it to OpenBLAS through OPENBLAS_CORETYPE before the library is loaded. */
#ifndef DARKFOLD_BLAS_H
#define DARKFOLD_BLAS_H

/* What the core choice depends on: the CPU vendor and the instruction-set
 * features that are both present (CPUID) and enabled by the OS (XGETBV). */
struct blas_cpu {
	int amd;       /* AuthenticAMD or HygonGenuine */
	int sse3, ssse3, sse4_2;
	int avx;       /* AVX, with the YMM state enabled by the OS */
	int avx2_fma;  /* AVX2 and FMA, with the YMM state enabled */
	int avx512;    /* AVX-512 F, CD, BW, DQ, VL with opmask/ZMM state enabled */
	int avx512_bf16;
};

/* Fill *cpu from this CPU (all zero on a non-x86-64 build). */
void blas_cpu_detect(struct blas_cpu *cpu);
/* The OpenBLAS core name (as OPENBLAS_CORETYPE spells it) whose kernels
 * suit *cpu: "Cooperlake" or "SkylakeX" with AVX-512, "Zen" (AMD) or
 * "Haswell" with AVX2+FMA, "Sandybridge" with AVX, then "Nehalem", "Core2",
 * "Prescott"; NULL if the CPU lacks even SSE3. Pure function; static string. */
const char *blas_core_for(const struct blas_cpu *cpu);

/* Called first thing in main(), before anything else has run. If the user
 * has not set OPENBLAS_CORETYPE, set it to blas_core_for(this CPU) and, if
 * unset, OPENBLAS_NUM_THREADS to 1 (a unit is one single-threaded process by
 * default), then re-execute the program (/proc/self/exe, same argv) so that
 * OpenBLAS, which reads them when it is loaded, sees them. Returns only if
 * no re-exec was needed or it failed (then with a warning on stderr); a
 * value the user set is never overridden. */
void blas_prepare_process(char **argv);

/* C = alpha * op(A) op(B) + beta * C, row-major, op = transpose if ta/tb,
 * computed by OpenBLAS's cblas_sgemm. The function is looked up in
 * libopenblas.so.0 itself: a plain call to cblas_sgemm could bind to another
 * CBLAS loaded earlier (GSL's libgslcblas, a naive implementation). Requires
 * M, N, K >= 1 and valid leading dimensions. */
void blas_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
		const float *B, int ldb, float beta, float *C, int ldc);
/* The path of the shared object whose cblas_sgemm blas_sgemm() calls, e.g.
 * "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0" (static
 * string owned by the loader), or "unknown". */
const char *blas_sgemm_library(void);

/* OpenBLAS's build configuration string, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ...". */
const char *blas_config(void);
/* The core whose kernels are in use, e.g. "SkylakeX" or "Prescott"
 * (what results record as provenance). */
const char *blas_corename(void);
/* Threads OpenBLAS uses for one call. */
int blas_threads(void);
/* Use n >= 1 threads inside each OpenBLAS call from now on. */
void blas_set_threads(int n);

#endif
