/* conv_dnnl.c — a 3×3 convolution's training step (forward, dX, dW and db)
 * on the shapes of bench/m6_cnn.vg, two ways, one thread each:
 *
 *   im2col    the patches of a few examples as the columns of col [C·9, N]
 *             (N about GEMM_COLS), then OpenBLAS sgemm: Y = W·col,
 *             dW += dY·colᵀ, dcol = Wᵀ·dY and col2im — what src/ops/conv.c
 *             does;
 *   oneDNN    Debian's libdnnl (the library PyTorch's CPU convolutions
 *             call): its convolution primitives for forward training,
 *             backward data and backward weights, on plain NCHW tensors
 *             (what vg's other kernels read and write), and with the
 *             layouts oneDNN prefers (`any`, blocked by channels), the
 *             upper bound a whole network kept in those layouts could reach.
 *
 *   build/bench/conv_dnnl [REPS]        (built by `make bench` when
 *                                       libdnnl-dev is installed)
 *
 * Prints per layer the median of REPS (default 20) steps in ms of process
 * CPU time (steadier than wall time on a shared machine; it counts every
 * thread, and OMP_NUM_THREADS=1, which bench/run.sh sets, keeps oneDNN's
 * OpenMP to one), each way: im2col; oneDNN on NCHW; oneDNN in its own
 * layouts; the same with the reorders from and to NCHW. The GEMM work of
 * the step is in GFLOP; docs/performance.md has the numbers and the
 * decision. */
#include <cblas.h>
#include <dnnl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { BATCH = 64, K = 3, PAD = 1, GEMM_COLS = 1024, MAX_REPS = 1000 };

typedef struct Shape {
    int c, oc, h, w;
} Shape;

/* the four convolutions of bench/m6_cnn.vg */
static const Shape layers[] = {{1, 16, 28, 28}, {16, 16, 28, 28}, {16, 32, 14, 14}, {32, 32, 14, 14}};

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *filled(size_t n)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        perror("conv_dnnl");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((double)((i * 2654435761u) % 1000) / 1000.0 - 0.5);
    return p;
}

/* ---- im2col + sgemm ---- */

/* col [c·9, nb·hw]: column e·hw + (y·w + x) holds example e's patch at (y, x). */
static void im2col(const float *x, const Shape *s, int nb, float *col)
{
    int hw = s->h * s->w, n = nb * hw;
    for (int c = 0; c < s->c; c++)
        for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++) {
                float *row = col + (size_t)((c * K + ky) * K + kx) * (size_t)n;
                for (int e = 0; e < nb; e++) {
                    const float *plane = x + ((size_t)e * (size_t)s->c + (size_t)c) * (size_t)hw;
                    for (int y = 0; y < s->h; y++) {
                        int sy = y + ky - PAD;
                        float *r = row + e * hw + y * s->w;
                        for (int xx = 0; xx < s->w; xx++) {
                            int sx = xx + kx - PAD;
                            r[xx] = sy >= 0 && sy < s->h && sx >= 0 && sx < s->w
                                        ? plane[sy * s->w + sx] : 0.0f;
                        }
                    }
                }
            }
}

static void col2im(const float *col, const Shape *s, int nb, float *dx)
{
    int hw = s->h * s->w, n = nb * hw;
    memset(dx, 0, (size_t)nb * (size_t)s->c * (size_t)hw * sizeof *dx);
    for (int c = 0; c < s->c; c++)
        for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++) {
                const float *row = col + (size_t)((c * K + ky) * K + kx) * (size_t)n;
                for (int e = 0; e < nb; e++) {
                    float *plane = dx + ((size_t)e * (size_t)s->c + (size_t)c) * (size_t)hw;
                    for (int y = 0; y < s->h; y++) {
                        int sy = y + ky - PAD;
                        if (sy < 0 || sy >= s->h)
                            continue;
                        const float *r = row + e * hw + y * s->w;
                        for (int xx = 0; xx < s->w; xx++) {
                            int sx = xx + kx - PAD;
                            if (sx >= 0 && sx < s->w)
                                plane[sy * s->w + sx] += r[xx];
                        }
                    }
                }
            }
}

/* One training step of the layer over the batch, nb examples per GEMM:
 * Y [oc, nb·hw] = W [oc, c·9] · col, scattered to NCHW with the bias;
 * dW += dY·colᵀ, db += Σ dY, dcol = Wᵀ·dY, col2im into dX (not for the
 * first layer, whose input is the data). */
static void im2col_step(const Shape *s, bool need_dx, const float *x, const float *w,
                        const float *b, float *y, const float *dy, float *dw, float *db,
                        float *dx, float *col, float *ybuf)
{
    int hw = s->h * s->w, kk = s->c * K * K;
    int nb = (GEMM_COLS + hw - 1) / hw;
    memset(dw, 0, (size_t)s->oc * (size_t)kk * sizeof *dw);
    memset(db, 0, (size_t)s->oc * sizeof *db);
    for (int e0 = 0; e0 < BATCH; e0 += nb) {
        int m = BATCH - e0 < nb ? BATCH - e0 : nb, n = m * hw;
        const float *xe = x + (size_t)e0 * (size_t)s->c * (size_t)hw;
        im2col(xe, s, m, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->oc, n, kk, 1.0f, w, kk, col, n,
                    0.0f, ybuf, n);
        for (int e = 0; e < m; e++)
            for (int o = 0; o < s->oc; o++) {
                float *yo = y + ((size_t)(e0 + e) * (size_t)s->oc + (size_t)o) * (size_t)hw;
                const float *src = ybuf + (size_t)o * (size_t)n + (size_t)e * (size_t)hw;
                for (int i = 0; i < hw; i++)
                    yo[i] = src[i] + b[o];
            }
    }
    for (int e0 = 0; e0 < BATCH; e0 += nb) {
        int m = BATCH - e0 < nb ? BATCH - e0 : nb, n = m * hw;
        const float *xe = x + (size_t)e0 * (size_t)s->c * (size_t)hw;
        for (int e = 0; e < m; e++)
            for (int o = 0; o < s->oc; o++) {
                const float *src = dy + ((size_t)(e0 + e) * (size_t)s->oc + (size_t)o) * (size_t)hw;
                float *dst = ybuf + (size_t)o * (size_t)n + (size_t)e * (size_t)hw;
                float acc = 0;
                for (int i = 0; i < hw; i++) {
                    dst[i] = src[i];
                    acc += src[i];
                }
                db[o] += acc;
            }
        im2col(xe, s, m, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->oc, kk, n, 1.0f, ybuf, n, col, n,
                    1.0f, dw, kk);
        if (need_dx) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kk, n, s->oc, 1.0f, w, kk, ybuf,
                        n, 0.0f, col, n);
            col2im(col, s, m, dx + (size_t)e0 * (size_t)s->c * (size_t)hw);
        }
    }
}

static double time_im2col(const Shape *s, bool need_dx, int reps)
{
    size_t hw = (size_t)s->h * (size_t)s->w, kk = (size_t)s->c * K * K;
    size_t nb = (GEMM_COLS + hw - 1) / hw;
    float *x = filled(BATCH * s->c * hw), *w = filled((size_t)s->oc * kk), *b = filled(s->oc);
    float *y = filled(BATCH * s->oc * hw), *dy = filled(BATCH * s->oc * hw);
    float *dw = filled((size_t)s->oc * kk), *db = filled(s->oc), *dx = filled(BATCH * s->c * hw);
    float *col = filled(kk * nb * hw), *ybuf = filled((size_t)s->oc * nb * hw);
    double t[MAX_REPS];
    for (int r = -2; r < reps; r++) {
        double t0 = now_ms();
        im2col_step(s, need_dx, x, w, b, y, dy, dw, db, dx, col, ybuf);
        if (r >= 0)
            t[r] = now_ms() - t0;
    }
    free(x), free(w), free(b), free(y), free(dy), free(dw), free(db), free(dx), free(col),
        free(ybuf);
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    return t[reps / 2];
}

/* ---- oneDNN ---- */

#define CHECK(call)                                                                   \
    do {                                                                              \
        dnnl_status_t st_ = (call);                                                   \
        if (st_ != dnnl_success) {                                                    \
            fprintf(stderr, "conv_dnnl: %s failed: status %d\n", #call, (int)st_);    \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

/* Memory holds small numbers, never what malloc left (denormals or NaNs
 * would slow the arithmetic down). */
static void fill(dnnl_memory_t m)
{
    const dnnl_memory_desc_t *md;
    CHECK(dnnl_memory_get_memory_desc(m, &md));
    void *p;
    CHECK(dnnl_memory_get_data_handle(m, &p));
    size_t n = dnnl_memory_desc_get_size(md);
    float *f = filled(n / sizeof(float));
    memcpy(p, f, n);
    free(f);
}

static dnnl_memory_t memory_of(dnnl_engine_t eng, const_dnnl_primitive_desc_t pd,
                               dnnl_query_t what)
{
    dnnl_memory_t m;
    CHECK(dnnl_memory_create(&m, dnnl_primitive_desc_query_md(pd, what, 0), eng,
                             DNNL_MEMORY_ALLOCATE));
    fill(m);
    return m;
}

/* A reorder between a tensor in the primitive's layout and the same
 * tensor in NCHW (OIHW for weights), the layout vg's other kernels use. */
typedef struct Reorder {
    dnnl_primitive_t p;
    dnnl_memory_t plain;
    bool to_plain;
} Reorder;

static Reorder reorder_make(dnnl_engine_t eng, dnnl_memory_t m, dnnl_format_tag_t tag,
                            bool to_plain)
{
    const dnnl_memory_desc_t *md;
    CHECK(dnnl_memory_get_memory_desc(m, &md));
    dnnl_memory_desc_t pmd;
    CHECK(dnnl_memory_desc_init_by_tag(&pmd, md->ndims, md->dims, dnnl_f32, tag));
    Reorder r = {.to_plain = to_plain};
    CHECK(dnnl_memory_create(&r.plain, &pmd, eng, DNNL_MEMORY_ALLOCATE));
    fill(r.plain);
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_reorder_primitive_desc_create(&pd, to_plain ? md : &pmd, eng,
                                             to_plain ? &pmd : md, eng, NULL));
    CHECK(dnnl_primitive_create(&r.p, pd));
    dnnl_primitive_desc_destroy(pd);
    return r;
}

static void reorder_run(const Reorder *r, dnnl_stream_t str, dnnl_memory_t m)
{
    dnnl_exec_arg_t a[] = {{DNNL_ARG_FROM, r->to_plain ? m : r->plain},
                           {DNNL_ARG_TO, r->to_plain ? r->plain : m}};
    CHECK(dnnl_primitive_execute(r->p, str, 2, a));
}

/* The three primitives of a training step; plain: NCHW/OIHW tensors,
 * else the layouts oneDNN chooses, timed alone (as if the whole network
 * kept them) and with the reorders from and to vg's layouts around them
 * (*reordered): the input, the weights and the output gradient into
 * oneDNN's layouts, the output, dX and dW out of them. */
static double time_dnnl(dnnl_engine_t eng, dnnl_stream_t str, const Shape *s, bool need_dx,
                        bool plain, int reps, char *impl, size_t impl_size, double *reordered)
{
    dnnl_format_tag_t act = plain ? dnnl_nchw : dnnl_format_tag_any;
    dnnl_format_tag_t wt = plain ? dnnl_oihw : dnnl_format_tag_any;
    dnnl_memory_desc_t src, wei, bia, dst;
    dnnl_dims_t sd = {BATCH, s->c, s->h, s->w}, wd = {s->oc, s->c, K, K}, bd = {s->oc},
                dd = {BATCH, s->oc, s->h, s->w};
    CHECK(dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_f32, act));
    CHECK(dnnl_memory_desc_init_by_tag(&wei, 4, wd, dnnl_f32, wt));
    CHECK(dnnl_memory_desc_init_by_tag(&bia, 1, bd, dnnl_f32, dnnl_x));
    CHECK(dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32, act));
    dnnl_dims_t strides = {1, 1}, pad = {PAD, PAD};
    dnnl_convolution_desc_t fd, bdd, bwd;
    CHECK(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct,
                                             &src, &wei, &bia, &dst, strides, pad, pad));
    CHECK(dnnl_convolution_backward_data_desc_init(&bdd, dnnl_convolution_direct, &src, &wei,
                                                   &dst, strides, pad, pad));
    CHECK(dnnl_convolution_backward_weights_desc_init(&bwd, dnnl_convolution_direct, &src, &wei,
                                                      &bia, &dst, strides, pad, pad));
    dnnl_primitive_desc_t fpd, dpd, wpd;
    CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
    CHECK(dnnl_primitive_desc_create(&dpd, &bdd, NULL, eng, fpd));
    CHECK(dnnl_primitive_desc_create(&wpd, &bwd, NULL, eng, fpd));
    dnnl_memory_t m_src = memory_of(eng, fpd, dnnl_query_src_md),
                  m_wei = memory_of(eng, fpd, dnnl_query_weights_md),
                  m_dst = memory_of(eng, fpd, dnnl_query_dst_md),
                  m_ddst = memory_of(eng, wpd, dnnl_query_diff_dst_md),
                  m_dsrc = memory_of(eng, dpd, dnnl_query_diff_src_md),
                  m_dwei = memory_of(eng, wpd, dnnl_query_diff_weights_md),
                  m_bia, m_dbia;
    {
        dnnl_memory_desc_t b1;
        CHECK(dnnl_memory_desc_init_by_tag(&b1, 1, bd, dnnl_f32, dnnl_x));
        CHECK(dnnl_memory_create(&m_bia, &b1, eng, DNNL_MEMORY_ALLOCATE));
        CHECK(dnnl_memory_create(&m_dbia, &b1, eng, DNNL_MEMORY_ALLOCATE));
        fill(m_bia);
    }
    dnnl_primitive_t fwd, bwd_d, bwd_w;
    CHECK(dnnl_primitive_create(&fwd, fpd));
    CHECK(dnnl_primitive_create(&bwd_d, dpd));
    CHECK(dnnl_primitive_create(&bwd_w, wpd));
    dnnl_exec_arg_t fa[] = {{DNNL_ARG_SRC, m_src}, {DNNL_ARG_WEIGHTS, m_wei},
                            {DNNL_ARG_BIAS, m_bia}, {DNNL_ARG_DST, m_dst}};
    dnnl_exec_arg_t da[] = {{DNNL_ARG_DIFF_DST, m_ddst}, {DNNL_ARG_WEIGHTS, m_wei},
                            {DNNL_ARG_DIFF_SRC, m_dsrc}};
    dnnl_exec_arg_t wa[] = {{DNNL_ARG_SRC, m_src}, {DNNL_ARG_DIFF_DST, m_ddst},
                            {DNNL_ARG_DIFF_WEIGHTS, m_dwei}, {DNNL_ARG_DIFF_BIAS, m_dbia}};
    Reorder in[] = {reorder_make(eng, m_src, dnnl_nchw, false),
                    reorder_make(eng, m_wei, dnnl_oihw, false),
                    reorder_make(eng, m_ddst, dnnl_nchw, false)};
    Reorder out[] = {reorder_make(eng, m_dst, dnnl_nchw, true),
                     reorder_make(eng, m_dwei, dnnl_oihw, true),
                     reorder_make(eng, m_dsrc, dnnl_nchw, true)};
    dnnl_memory_t in_m[] = {m_src, m_wei, m_ddst}, out_m[] = {m_dst, m_dwei, m_dsrc};
    double t[MAX_REPS], tr[MAX_REPS];
    for (int with = 0; with < (plain ? 1 : 2); with++)
        for (int r = -2; r < reps; r++) {
            double t0 = now_ms();
            for (int k = 0; with && k < 3; k++)
                reorder_run(&in[k], str, in_m[k]);
            CHECK(dnnl_primitive_execute(fwd, str, 4, fa));
            CHECK(dnnl_primitive_execute(bwd_w, str, 4, wa));
            if (need_dx)
                CHECK(dnnl_primitive_execute(bwd_d, str, 3, da));
            for (int k = 0; with && k < (need_dx ? 3 : 2); k++)
                reorder_run(&out[k], str, out_m[k]);
            CHECK(dnnl_stream_wait(str));
            if (r >= 0)
                (with ? tr : t)[r] = now_ms() - t0;
        }
    for (int k = 0; k < 3; k++) {
        dnnl_primitive_destroy(in[k].p), dnnl_memory_destroy(in[k].plain);
        dnnl_primitive_destroy(out[k].p), dnnl_memory_destroy(out[k].plain);
    }
    const char *name = NULL;
    CHECK(dnnl_primitive_desc_query(fpd, dnnl_query_impl_info_str, 0, &name));
    snprintf(impl, impl_size, "%s", name);
    dnnl_primitive_destroy(fwd), dnnl_primitive_destroy(bwd_d), dnnl_primitive_destroy(bwd_w);
    dnnl_primitive_desc_destroy(fpd), dnnl_primitive_desc_destroy(dpd),
        dnnl_primitive_desc_destroy(wpd);
    dnnl_memory_t ms[] = {m_src, m_wei, m_bia, m_dst, m_ddst, m_dsrc, m_dwei, m_dbia};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        dnnl_memory_destroy(ms[i]);
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    qsort(tr, (size_t)reps, sizeof *tr, cmp_double);
    *reordered = plain ? t[reps / 2] : tr[reps / 2];
    return t[reps / 2];
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    if (reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "usage: conv_dnnl [REPS from 1 to %d]\n", MAX_REPS);
        return 2;
    }
    openblas_set_num_threads(1);
    dnnl_engine_t eng;
    dnnl_stream_t str;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&str, eng, dnnl_stream_default_flags));
    const dnnl_version_t *v = dnnl_version();
    printf("conv 3×3, batch %d, one thread; oneDNN %d.%d.%d (%s); median of %d steps "
           "(forward, dW and db, and dX but for the first layer)\n\n",
           BATCH, v->major, v->minor, v->patch, v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP"
                                                 : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential"
                                                                                      : "other",
           reps);
    printf("%-18s %10s %10s %10s %10s %7s  %s\n", "layer", "im2col ms", "dnnl ms", "any ms",
           "any+r ms", "GFLOP", "oneDNN's forward kernels (plain, any)");
    double tot[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        const Shape *s = &layers[i];
        bool need_dx = i > 0;
        double gemm = 2.0 * BATCH * s->oc * s->c * K * K * s->h * s->w * (need_dx ? 3 : 2) / 1e9;
        double a = time_im2col(s, need_dx, reps);
        char ib[64], ic[64], name[64];
        double d, b = time_dnnl(eng, str, s, need_dx, true, reps, ib, sizeof ib, &d);
        double c = time_dnnl(eng, str, s, need_dx, false, reps, ic, sizeof ic, &d);
        tot[0] += a, tot[1] += b, tot[2] += c, tot[3] += d;
        snprintf(name, sizeof name, "%d→%d, %d×%d", s->c, s->oc, s->h, s->w);
        printf("%-18s %10.3f %10.3f %10.3f %10.3f %7.3f  %s, %s\n", name, a, b, c, d, gemm, ib,
               ic);
    }
    printf("%-18s %10.3f %10.3f %10.3f %10.3f\n", "all four", tot[0], tot[1], tot[2], tot[3]);
    dnnl_stream_destroy(str);
    dnnl_engine_destroy(eng);
    return 0;
}
