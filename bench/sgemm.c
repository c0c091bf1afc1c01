/* sgemm.c — the speed of the BLAS underneath vg, for bench/run.sh.
 *
 * Times blas_sgemm (the same door vg's kernels use) on one row-major shape
 * and prints "GFLOP/s" of the best of several repetitions: the ceiling the
 * benchmark table compares each model's achieved GFLOP/s against. A GEMM of
 * m×k by k×n does 2·m·n·k floating-point operations.
 *
 *   sgemm [M N K [THREADS]]      default 1024 1024 1024, 1 thread */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vg/blas.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int arg(int argc, char **argv, int i, int fallback)
{
    if (i >= argc)
        return fallback;
    int v = atoi(argv[i]);
    if (v < 1) {
        fprintf(stderr, "sgemm: '%s' is not a positive integer\n", argv[i]);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    int m = arg(argc, argv, 1, 1024), n = arg(argc, argv, 2, 1024), k = arg(argc, argv, 3, 1024);
    blas_set_threads(arg(argc, argv, 4, 1));
    float *a = malloc(sizeof(float) * (size_t)m * (size_t)k);
    float *b = malloc(sizeof(float) * (size_t)k * (size_t)n);
    float *c = malloc(sizeof(float) * (size_t)m * (size_t)n);
    if (!a || !b || !c) {
        fputs("sgemm: out of memory\n", stderr);
        return 3;
    }
    for (size_t i = 0; i < (size_t)m * (size_t)k; i++)
        a[i] = (float)(i % 7) * 0.25f - 0.75f;
    for (size_t i = 0; i < (size_t)k * (size_t)n; i++)
        b[i] = (float)(i % 5) * 0.25f - 0.5f;
    double flop = 2.0 * m * n * k, best = 0;
    /* The first call pays for OpenBLAS's buffers and page faults; repeat
     * until at least 0.3 s has passed and keep the fastest call. */
    double start = now();
    for (int rep = 0; rep < 3 || now() - start < 0.3; rep++) {
        double t = now();
        blas_sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n);
        t = now() - t;
        if (rep > 0 && flop / t > best)
            best = flop / t;
    }
    printf("%.1f GFLOP/s (sgemm %dx%dx%d, %d thread%s)\n", best * 1e-9, m, n, k,
           blas_threads(), blas_threads() == 1 ? "" : "s");
    free(a);
    free(b);
    free(c);
    return 0;
}
