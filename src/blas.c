/* blas.c — the only file that includes <cblas.h>.
 *
 * Kernels call blas_sgemm with row-major operands, so the rest of vg never
 * sees CBLAS enums and a different BLAS would change only this file. */
#include <cblas.h>

#include "vg/ops.h"

void blas_sgemm(bool ta, bool tb, int m, int n, int k, float alpha,
                const float *a, int lda, const float *b, int ldb, float beta,
                float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
                beta, c, ldc);
}
