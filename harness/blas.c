/* blas.c: OpenBLAS queries. */
#include "blas.h"

#include <cblas.h>

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
