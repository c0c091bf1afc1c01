/* blas.h — the BLAS underneath: GEMM, threads, and what to print about it.
 *
 * Only src/blas.c includes <cblas.h>. Every report header names the BLAS
 * library, its kernel (core type), oneDNN's instruction set (it runs the
 * convolutions, blas_dnnl.h) and the thread count, because results are
 * reproducible only for the same kernels and thread count. */
#ifndef VG_BLAS_H
#define VG_BLAS_H

#include <stdbool.h>
#include <stddef.h>

/* Row-major C = alpha·op(A)·op(B) + beta·C, op(X) = Xᵀ when tX; C is m×n,
 * the inner dimension k. The one door to cblas_sgemm (src/blas.c). */
void blas_sgemm(bool ta, bool tb, int m, int n, int k, float alpha,
                const float *a, int lda, const float *b, int ldb, float beta,
                float *c, int ldc);
/* The same in double, for the kernels' float64 twin (real.h). */
void blas_dgemm(bool ta, bool tb, int m, int n, int k, double alpha,
                const double *a, int lda, const double *b, int ldb, double beta,
                double *c, int ldc);

/* OpenBLAS's threads and OpenMP's, which oneDNN runs on */
void blas_set_threads(int n);
int blas_threads(void);
/* "OpenBLAS 0.3.21, core Haswell, oneDNN 2.6.3 avx2, 1 thread" into buf;
 * returns buf. */
char *blas_describe(char *buf, size_t n);
/* The same in parts, for machine-readable report headers. */
typedef struct BlasInfo {
    char library[64];   /* "OpenBLAS 0.3.21" */
    char core[64];      /* "Haswell" */
    char dnnl[32];      /* "oneDNN 2.6.3" */
    char isa[32];       /* "avx2": oneDNN's kernels (blas_dnnl_isa) */
    int threads;
} BlasInfo;
void blas_info(BlasInfo *out);

#endif
