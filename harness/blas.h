/* blas.h: the OpenBLAS boundary: version, the CPU core whose kernels run,
 * and the thread count. */
#ifndef DARKFOLD_BLAS_H
#define DARKFOLD_BLAS_H

/* OpenBLAS's build configuration string, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ...". */
const char *blas_config(void);
/* The core whose kernels are in use, e.g. "SkylakeX" or "Prescott". */
const char *blas_corename(void);
int blas_threads(void);

#endif
