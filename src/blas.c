/* blas.c — the only file that includes <cblas.h>.
 *
 * Kernels call blas_sgemm with row-major operands, so the rest of vg never
 * sees CBLAS enums and a different BLAS would change only this file. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>

#include "vg/blas.h"
#include "vg/blas_dnnl.h"

void blas_sgemm(bool ta, bool tb, int m, int n, int k, float alpha,
                const float *a, int lda, const float *b, int ldb, float beta,
                float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
                beta, c, ldc);
}

void blas_dgemm(bool ta, bool tb, int m, int n, int k, double alpha,
                const double *a, int lda, const double *b, int ldb, double beta,
                double *c, int ldc)
{
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
                beta, c, ldc);
}

/* oneDNN (blas_dnnl.h) runs on OpenMP's threads, as many as
 * omp_get_max_threads() when a primitive executes: the same count as
 * OpenBLAS, so that --threads decides both, and with them the bytes of a
 * run. Nothing here starts a thread: oneDNN runs on one thread without a
 * parallel region, and a sweep's workers (sweep.c) fork before any
 * convolution runs, so no OpenMP thread pool is copied into a fork. */
void blas_set_threads(int n)
{
    openblas_set_num_threads(n);
    omp_set_num_threads(n);
}

int blas_threads(void)
{
    return openblas_get_num_threads();
}

/* openblas_get_config() reads "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Haswell
 * MAX_THREADS=64"; its first two words are the library and version. */
void blas_info(BlasInfo *out)
{
    const char *cfg = openblas_get_config();
    int len = 0;
    for (int words = 0; cfg[len] && !(cfg[len] == ' ' && ++words == 2); len++)
        ;
    snprintf(out->library, sizeof out->library, "%.*s", len, cfg);
    snprintf(out->core, sizeof out->core, "%s", openblas_get_corename());
    snprintf(out->dnnl, sizeof out->dnnl, "%s", blas_dnnl_version());
    snprintf(out->isa, sizeof out->isa, "%s", blas_dnnl_isa());
    out->threads = openblas_get_num_threads();
}

char *blas_describe(char *buf, size_t n)
{
    BlasInfo b;
    blas_info(&b);
    snprintf(buf, n, "%s, core %s, %s %s, %d thread%s", b.library, b.core, b.dnnl, b.isa,
             b.threads, b.threads == 1 ? "" : "s");
    return buf;
}
