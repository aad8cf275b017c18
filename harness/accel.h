/* accel.h: faster replacements for libdarknet's hot functions.
 *
 * libdarknet calls its numeric kernels (gemm, im2col_cpu, col2im_cpu, the
 * bias/batch-norm helpers, the activations, axpy/copy/fill/scal) through the
 * PLT. accel.c defines functions with the same names and signatures in the
 * darkfold executable, which exports them (-rdynamic), so the dynamic linker
 * binds libdarknet's calls to them (ELF symbol interposition). Darknet's code
 * is not changed.
 *
 * Every replacement computes what Darknet's original computes:
 *   - gemm, gemm_cpu: OpenBLAS's sgemm (blas_sgemm()); differs from the original
 *     only by the order of the floating-point sums;
 *   - im2col_cpu, col2im_cpu, fill_cpu, copy_cpu, axpy_cpu, scal_cpu,
 *     add_bias, scale_bias, normalize_cpu, activate_array, gradient_array:
 *     bit-identical results to Debian's build of the original;
 *   - normalize_delta_cpu: the original's formula evaluated as C defines it
 *     (in double); Debian's build rounds differently in the last bit;
 *   - backward_bias, backward_scale_cpu, mean_cpu, variance_cpu,
 *     mean_delta_cpu, variance_delta_cpu: sums split over several
 *     accumulators (vectorisable), so results differ from the original by
 *     rounding only.
 * Activations other than LINEAR, RELU and LEAKY are passed to the original.
 *
 * A process-wide switch turns all replacements off: each replacement then
 * calls libdarknet's own definition, found with dlsym() on the library's
 * handle. The switch and the call counters are process-global because the
 * callers (libdarknet) cannot pass any context. Not thread-safe: Darknet
 * calls these from one thread. */
#ifndef DARKFOLD_ACCEL_H
#define DARKFOLD_ACCEL_H

#include <stddef.h>

#define ACCEL_FUNCTIONS(X)    \
	X(gemm)               \
	X(gemm_cpu)           \
	X(im2col_cpu)         \
	X(col2im_cpu)         \
	X(add_bias)           \
	X(scale_bias)         \
	X(backward_bias)      \
	X(backward_scale_cpu) \
	X(mean_cpu)           \
	X(variance_cpu)       \
	X(normalize_cpu)      \
	X(mean_delta_cpu)     \
	X(variance_delta_cpu) \
	X(normalize_delta_cpu) \
	X(activate_array)     \
	X(gradient_array)     \
	X(axpy_cpu)           \
	X(copy_cpu)           \
	X(fill_cpu)           \
	X(scal_cpu)

#define ACCEL_ENUM(name) ACCEL_##name,
enum accel_fn { ACCEL_FUNCTIONS(ACCEL_ENUM) ACCEL_NFUNCTIONS };
#undef ACCEL_ENUM

/* Turn the replacements on (1, the default) or off (0). Turning them off
 * resolves libdarknet's originals first; returns 0, or -1 with an error
 * message if libdarknet or one of its symbols cannot be found (the switch
 * then stays on). */
int accel_set_enabled(int on);
/* 1 if the replacements are in use. */
int accel_enabled(void);

/* Name of a replaced function, e.g. "im2col_cpu". */
const char *accel_name(enum accel_fn f);
/* libdarknet's own definition of f (not the replacement), or NULL with an
 * error message if it cannot be found. The pointer stays valid for the life
 * of the process. */
void *accel_original(enum accel_fn f);
/* How often the replacement of f did its own work (not counting calls it
 * passed on to the original) since the last accel_reset_counts(). */
size_t accel_count(enum accel_fn f);
void accel_reset_counts(void);

#endif
