/* test_conv.c — conv1d, conv2d, global_avg_pool and flatten: hand-worked
 * cases that pin the orientation (cross-correlation, as PyTorch), the
 * padding and the weight layout; the kernels against a direct loop over
 * the definition on random geometries (several examples per GEMM, and one
 * example per GEMM); the overwrite contract of ops.h; fans for the inits.
 * (Gradients against finite differences: tests/gradcheck/conv*.vg.) */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "net_fixture.h"
#include "vg/rng.h"

/* x[s] → op(x, channels, kernel, stride, padding, bias = bias); the node,
 * or -1 with a diagnostic. */
static int conv(Net *n, int op, Shape s, long channels, long kernel, long stride, Value padding,
                bool bias)
{
    net_init(n);
    n->x = ir_add_source(&n->g, OP_INPUT, "x", s, SPAN_NONE, &n->d);
    assert_true(n->x >= 0);
    Value args[7] = {tensor(n->x), num((double)channels), num((double)kernel), num((double)stride),
                     padding, {.kind = VAL_NONE}, {.kind = VAL_BOOL, .num = bias}};
    return n->y = ir_add_node(&n->g, op, SPAN_NONE, NULL, 0, args, 7, &n->d);
}

static Value str(const char *s)
{
    return (Value){.kind = VAL_STR, .str = s};
}

/* The node's kernels on batch examples: forward x → out, then backward
 * dout → dx (dx holding `fill` first, overwritten or added to as
 * `overwrite` says), dW and db (zeroed first). Buffers are malloc'd. */
typedef struct Run {
    float *out, *dx, *dparam[2];
} Run;

static void run_kernels(Net *n, int batch, const float *x, const float *dout, bool overwrite,
                        float fill, Run *r)
{
    const IrNode *node = &n->g.nodes[n->y];
    const OpDef *def = op_def(node->op);
    size_t nx = (size_t)batch * shape_size(n->g.nodes[n->x].shape);
    size_t ny = (size_t)batch * shape_size(node->shape);
    size_t nw = def->work_floats ? def->work_floats(node, &n->g, batch) : 0;
    float *work = aligned_alloc(64, (sizeof *work * (nw + 1) + 63) / 64 * 64);
    for (size_t i = 0; i < nw; i++)
        work[i] = NAN;  /* the kernels must not read scratch they did not write */
    r->out = malloc(sizeof *r->out * ny);
    r->dx = malloc(sizeof *r->dx * nx);
    for (size_t i = 0; i < nx; i++)
        r->dx[i] = fill;
    OpCtx c = {.g = &n->g, .node = node, .batch = batch, .mode = EXEC_TRAIN};
    for (int k = 0; k < node->nparam; k++) {
        const IrParam *p = &n->g.params[node->param[k]];
        c.param[k] = n->ps.value + p->offset;
        c.dparam[k] = r->dparam[k] = calloc(shape_size(p->shape), sizeof(float));
    }
    c.in[0] = x;
    c.out = r->out;
    c.work = work;
    c.dout = (float *)dout;
    c.din[0] = r->dx;
    c.din_overwrite[0] = overwrite;
    if (def->prepare) {  /* oneDNN's primitives, made for this context */
        c.state = def->prepare(&c);
        /* a pass must write whatever it reads of its work, even after
         * another pass (a run's probe, over the same block) wrote there */
        for (size_t i = 0; i < nw; i++)
            work[i] = NAN;
    }
    def->forward(&c);
    def->backward(&c);
    if (def->release)
        def->release(c.state);
    free(work);
}

static void run_free(Net *n, Run *r)
{
    free(r->out);
    free(r->dx);
    for (int k = 0; k < n->g.nodes[n->y].nparam; k++)
        free(r->dparam[k]);
}

static void assert_floats(const float *got, const float *want, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= tol))
            fail_msg("element %zu: got %.7g, expected %.7g", i, got[i], want[i]);
}

/* x = 1..9 as one 3×3 channel; W = [[1, 0], [0, −1]]: y = x[i][j] −
 * x[i+1][j+1] + b. "same" with an even kernel pads after, as PyTorch. */
static void test_conv2d_hand(void **state)
{
    (void)state;
    static const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const float dout[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    Net n;
    assert_true(conv(&n, OP_CONV2D, (Shape){3, {1, 3, 3}}, 1, 2, 1, str("valid"), true) >= 0);
    assert_true(shape_eq(n.g.nodes[n.y].shape, (Shape){3, {1, 2, 2}}));
    params_alloc(&n.ps, &n.g);
    memcpy(net_param(&n, 0), (const float[]){1, 0, 0, -1}, 4 * sizeof(float));
    net_param(&n, 1)[0] = 0.5f;
    Run r;
    run_kernels(&n, 1, x, dout, true, NAN, &r);
    assert_floats(r.out, (const float[]){-3.5f, -3.5f, -3.5f, -3.5f}, 4, 0);
    /* dW[kh][kw] = Σ over the 4 outputs of the input under tap (kh, kw) */
    assert_floats(r.dparam[0], (const float[]){1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8,
                                               5 + 6 + 8 + 9}, 4, 0);
    assert_floats(r.dparam[1], (const float[]){4}, 1, 0);
    /* dx: +1 from each output whose top-left tap is there, −1 from the
     * bottom-right ones */
    assert_floats(r.dx, (const float[]){1, 1, 0, 1, 0, -1, 0, -1, -1}, 9, 0);
    run_free(&n, &r);
    net_free(&n);

    assert_true(conv(&n, OP_CONV2D, (Shape){3, {1, 3, 3}}, 1, 2, 1, str("same"), true) >= 0);
    assert_true(shape_eq(n.g.nodes[n.y].shape, (Shape){3, {1, 3, 3}}));
    params_alloc(&n.ps, &n.g);
    memcpy(net_param(&n, 0), (const float[]){1, 0, 0, -1}, 4 * sizeof(float));
    net_param(&n, 1)[0] = 0.5f;
    run_kernels(&n, 1, x, dout, true, NAN, &r);
    assert_floats(r.out, (const float[]){-3.5f, -3.5f, 3.5f, -3.5f, -3.5f, 6.5f, 7.5f, 8.5f, 9.5f},
                  9, 0);
    run_free(&n, &r);
    net_free(&n);
}

/* Kernel 3, stride 2, padding 1 on 3×3, all-ones weights: each output sums
 * the 2×2 corner of x its window overlaps; dx counts the windows over each
 * input (1, 2, 1 per axis); and the kernel adds to a dx it does not own. */
static void test_conv2d_strided(void **state)
{
    (void)state;
    static const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const float dout[4] = {1, 1, 1, 1};
    Net n;
    assert_true(conv(&n, OP_CONV2D, (Shape){3, {1, 3, 3}}, 1, 3, 2, num(1), false) >= 0);
    assert_true(shape_eq(n.g.nodes[n.y].shape, (Shape){3, {1, 2, 2}}));
    assert_int_equal(n.g.nodes[n.y].nparam, 1);
    params_alloc(&n.ps, &n.g);
    for (int i = 0; i < 9; i++)
        net_param(&n, 0)[i] = 1;
    Run r;
    run_kernels(&n, 1, x, dout, false, 10, &r);
    assert_floats(r.out, (const float[]){12, 16, 24, 28}, 4, 0);
    assert_floats(r.dx, (const float[]){11, 12, 11, 12, 14, 12, 11, 12, 11}, 9, 0);
    /* the centre tap sees the corners, the top-left one only x[1][1] */
    assert_floats(r.dparam[0], (const float[]){5, 4 + 6, 5, 2 + 8, 20, 2 + 8, 5, 4 + 6, 5},
                  9, 0);
    run_free(&n, &r);
    net_free(&n);
}

/* x [4, 2] (steps × features); W [1, 2·2] in (step, feature) order, here
 * x[t][0] − x[t+1][1]. */
static void test_conv1d_hand(void **state)
{
    (void)state;
    static const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const float dout[4] = {1, 2, 3, 4};
    Net n;
    assert_true(conv(&n, OP_CONV1D, shape2(4, 2), 1, 2, 1, str("same"), false) >= 0);
    assert_true(shape_eq(n.g.nodes[n.y].shape, shape2(4, 1)));
    params_alloc(&n.ps, &n.g);
    memcpy(net_param(&n, 0), (const float[]){1, 0, 0, -1}, 4 * sizeof(float));
    Run r;
    run_kernels(&n, 1, x, dout, true, NAN, &r);
    assert_floats(r.out, (const float[]){-3, -3, -3, 7}, 4, 0);
    /* dx[t][0] = dout[t], dx[t][1] = −dout[t − 1] */
    assert_floats(r.dx, (const float[]){1, 0, 2, -1, 3, -2, 4, -3}, 8, 0);
    assert_floats(r.dparam[0], (const float[]){1 + 6 + 15 + 28, 2 + 8 + 18 + 32,
                                               3 + 10 + 21, 4 + 12 + 24}, 4, 0);
    run_free(&n, &r);
    net_free(&n);
}

/* The definition, one multiply-add at a time, on [batch, cin, h, w] (2-D)
 * or [batch, t, cin] (1-D, h = 1, w = t): y, and given dy the gradients. */
typedef struct Geo {
    bool two_d;
    int cin, h, w, cout, oh, ow, k, s, pad;
} Geo;

static size_t xi(const Geo *g, int b, int c, int i, int j)
{
    return g->two_d ? (((size_t)b * g->cin + c) * g->h + i) * g->w + j
                    : ((size_t)b * g->w + j) * g->cin + c;
}

static size_t yi(const Geo *g, int b, int c, int i, int j)
{
    return g->two_d ? (((size_t)b * g->cout + c) * g->oh + i) * g->ow + j
                    : ((size_t)b * g->ow + j) * g->cout + c;
}

static size_t wi(const Geo *g, int o, int c, int kh, int kw)
{
    return g->two_d ? (((size_t)o * g->cin + c) * g->k + kh) * g->k + kw
                    : ((size_t)o * g->k + kw) * g->cin + c;
}

static void reference(const Geo *g, int batch, const float *x, const float *w, const float *b,
                      const float *dy, double *y, double *dx, double *dw, double *db)
{
    int kh_n = g->two_d ? g->k : 1;
    for (int n = 0; n < batch; n++)
        for (int o = 0; o < g->cout; o++)
            for (int i = 0; i < g->oh; i++)
                for (int j = 0; j < g->ow; j++) {
                    size_t at = yi(g, n, o, i, j);
                    y[at] = b[o];
                    db[o] += dy[at];
                    for (int c = 0; c < g->cin; c++)
                        for (int kh = 0; kh < kh_n; kh++)
                            for (int kw = 0; kw < g->k; kw++) {
                                int ii = g->two_d ? i * g->s + kh - g->pad : 0;
                                int jj = j * g->s + kw - g->pad;
                                if (ii < 0 || ii >= g->h || jj < 0 || jj >= g->w)
                                    continue;
                                size_t xa = xi(g, n, c, ii, jj), wa = wi(g, o, c, kh, kw);
                                y[at] += (double)w[wa] * x[xa];
                                dx[xa] += (double)w[wa] * dy[at];
                                dw[wa] += (double)x[xa] * dy[at];
                            }
                }
}

static void check_against_reference(int op, Shape in, long cout, long k, long s, Value pad,
                                    int batch, Rng *rng)
{
    Net n;
    assert_true(conv(&n, op, in, cout, k, s, pad, true) >= 0);
    Shape out = n.g.nodes[n.y].shape;
    bool two_d = op == OP_CONV2D;
    Geo g = {.two_d = two_d, .cout = (int)cout, .k = (int)k, .s = (int)s};
    if (two_d) {
        g.cin = (int)in.dim[0], g.h = (int)in.dim[1], g.w = (int)in.dim[2];
        g.oh = (int)out.dim[1], g.ow = (int)out.dim[2];
    } else {
        g.cin = (int)in.dim[1], g.h = 1, g.w = (int)in.dim[0];
        g.oh = 1, g.ow = (int)out.dim[0];
    }
    g.pad = pad.kind == VAL_NUM ? (int)pad.num : strcmp(pad.str, "same") == 0 ? (g.k - 1) / 2 : 0;
    params_alloc(&n.ps, &n.g);
    for (size_t i = 0; i < n.ps.n; i++)
        n.ps.value[i] = (float)rng_range(rng, -1, 1);
    size_t nx = (size_t)batch * shape_size(in), ny = (size_t)batch * shape_size(out);
    size_t nw = (size_t)cout * (size_t)(g.cin * k * (two_d ? k : 1));
    float *x = malloc(sizeof *x * nx), *dy = malloc(sizeof *dy * ny);
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)rng_range(rng, -2, 2);
    for (size_t i = 0; i < ny; i++)
        dy[i] = (float)rng_range(rng, -1, 1);
    double *y = calloc(ny, sizeof *y), *dx = calloc(nx, sizeof *dx);
    double *dw = calloc(nw, sizeof *dw), *db = calloc((size_t)cout, sizeof *db);
    reference(&g, batch, x, net_param(&n, 0), net_param(&n, 1), dy, y, dx, dw, db);
    Run r;
    run_kernels(&n, batch, x, dy, true, NAN, &r);
    const float *got[4] = {r.out, r.dx, r.dparam[0], r.dparam[1]};
    const double *want[4] = {y, dx, dw, db};
    size_t len[4] = {ny, nx, nw, (size_t)cout};
    for (int v = 0; v < 4; v++)
        for (size_t i = 0; i < len[v]; i++)
            if (!(fabs(got[v][i] - want[v][i]) <= 1e-4 * fmax(1, fabs(want[v][i]))))
                fail_msg("%s %s, batch %d, %s %zu: got %.7g, expected %.7g",
                         op_def(op)->name, pad.kind == VAL_STR ? pad.str : "N", batch,
                         (const char *[]){"y", "dx", "dW", "db"}[v], i, got[v][i], want[v][i]);
    run_free(&n, &r);
    free(x), free(dy), free(y), free(dx), free(dw), free(db);
    net_free(&n);
}

static void test_conv_reference(void **state)
{
    (void)state;
    Rng rng;
    rng_seed(&rng, 11);
    /* 7×5 maps: 35 positions, many examples per GEMM, the last group short */
    check_against_reference(OP_CONV2D, (Shape){3, {3, 7, 5}}, 4, 3, 1, str("same"), 5, &rng);
    check_against_reference(OP_CONV2D, (Shape){3, {2, 7, 5}}, 3, 2, 2, str("same"), 3, &rng);
    check_against_reference(OP_CONV2D, (Shape){3, {2, 7, 5}}, 3, 3, 2, num(2), 4, &rng);
    check_against_reference(OP_CONV2D, (Shape){3, {2, 6, 6}}, 2, 4, 1, str("valid"), 2, &rng);
    check_against_reference(OP_CONV2D, (Shape){3, {3, 6, 6}}, 5, 1, 1, str("valid"), 2, &rng);
    /* 40×30 = 1200 positions: one example per GEMM */
    check_against_reference(OP_CONV2D, (Shape){3, {2, 40, 30}}, 3, 3, 1, str("same"), 3, &rng);
    /* oneDNN's blocked layouts hold channels in blocks of 8 (AVX2) or 16
     * (AVX-512): counts that fill no block, a partial last block, 1×1
     * kernels, stride 2 on odd maps, batch 1 */
    check_against_reference(OP_CONV2D, (Shape){3, {17, 9, 9}}, 20, 3, 1, str("same"), 1, &rng);
    check_against_reference(OP_CONV2D, (Shape){3, {16, 11, 7}}, 33, 3, 2, str("same"), 3, &rng);
    check_against_reference(OP_CONV2D, (Shape){3, {5, 8, 8}}, 24, 1, 1, str("same"), 7, &rng);
    check_against_reference(OP_CONV2D, (Shape){3, {24, 9, 9}}, 9, 1, 2, str("valid"), 2, &rng);
    check_against_reference(OP_CONV2D, (Shape){3, {1, 13, 13}}, 16, 5, 2, str("valid"), 5, &rng);
    check_against_reference(OP_CONV2D, (Shape){3, {32, 6, 6}}, 32, 3, 1, num(1), 3, &rng);
    check_against_reference(OP_CONV1D, shape2(9, 3), 4, 3, 1, str("same"), 3, &rng);
    check_against_reference(OP_CONV1D, shape2(15, 17), 20, 3, 2, str("same"), 1, &rng);
    check_against_reference(OP_CONV1D, shape2(12, 16), 8, 1, 1, str("valid"), 5, &rng);
    check_against_reference(OP_CONV1D, shape2(9, 3), 2, 4, 2, str("same"), 2, &rng);
    check_against_reference(OP_CONV1D, shape2(9, 2), 3, 5, 3, num(2), 3, &rng);
    check_against_reference(OP_CONV1D, shape2(9, 2), 3, 9, 1, str("valid"), 2, &rng);
}

/* fan_in = channels in · kernel area, fan_out = channels out · kernel area
 * (PyTorch's convention); W is [channels out, fan_in]. */
static void test_conv_fans(void **state)
{
    (void)state;
    Net n;
    assert_true(conv(&n, OP_CONV2D, (Shape){3, {3, 8, 8}}, 5, 3, 1, str("same"), true) >= 0);
    const IrParam *w = &n.g.params[n.g.nodes[n.y].param[0]];
    assert_true(shape_eq(w->shape, shape2(5, 27)));
    assert_int_equal(w->fan_in, 27);
    assert_int_equal(w->fan_out, 45);
    assert_true(w->is_weight);
    net_free(&n);
    assert_true(conv(&n, OP_CONV1D, shape2(10, 4), 6, 3, 1, str("same"), true) >= 0);
    w = &n.g.params[n.g.nodes[n.y].param[0]];
    assert_true(shape_eq(w->shape, shape2(6, 12)));
    assert_int_equal(w->fan_in, 12);
    assert_int_equal(w->fan_out, 18);
    net_free(&n);
}

/* The inits read those fans: he_normal draws Var = 2/(C·k²), and
 * orthogonal makes the [channels, C·k·k] matrix's rows orthonormal. */
static void test_conv_inits(void **state)
{
    (void)state;
    Net n;
    net_init(&n);
    n.x = ir_add_source(&n.g, OP_INPUT, "x", (Shape){3, {8, 6, 6}}, SPAN_NONE, &n.d);
    Value he[7] = {tensor(n.x), num(64), num(3), num(1), str("same"),
                   {.kind = VAL_SPEC, .spec = ir_default_spec(&n.g, SPEC_HE_NORMAL)}};
    Value orth[7] = {tensor(n.x), num(5), num(3), num(1), str("same"),
                     {.kind = VAL_SPEC, .spec = ir_default_spec(&n.g, SPEC_ORTHOGONAL)}};
    int a = ir_add_node(&n.g, OP_CONV2D, SPAN_NONE, NULL, 0, he, 6, &n.d);
    int b = ir_add_node(&n.g, OP_CONV2D, SPAN_NONE, NULL, 0, orth, 6, &n.d);
    assert_true(a >= 0 && b >= 0);
    params_alloc(&n.ps, &n.g);
    Rng r;
    rng_seed(&r, 5);
    params_init(&n.ps, &n.g, &r);
    const IrParam *wa = &n.g.params[n.g.nodes[a].param[0]];
    const float *w = n.ps.value + wa->offset;
    size_t m = shape_size(wa->shape);  /* 64 × 72 */
    double s2 = 0;
    for (size_t i = 0; i < m; i++)
        s2 += (double)w[i] * w[i];
    /* 4608 draws: the sample variance is within 10% of 2/72 (1 sd is 2.1%) */
    assert_true(fabs(s2 / (double)m / (2.0 / 72) - 1) < 0.1);
    const IrParam *wb = &n.g.params[n.g.nodes[b].param[0]];
    w = n.ps.value + wb->offset;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) {
            double dot = 0;
            for (int k = 0; k < 72; k++)
                dot += (double)w[i * 72 + k] * w[j * 72 + k];
            assert_true(fabs(dot - (i == j)) < 1e-5);
        }
    net_free(&n);
}

static int unary(Net *n, int op, Shape s)
{
    net_init(n);
    n->x = ir_add_source(&n->g, OP_INPUT, "x", s, SPAN_NONE, &n->d);
    assert_true(n->x >= 0);
    Value args[1] = {tensor(n->x)};
    return n->y = ir_add_node(&n->g, op, SPAN_NONE, NULL, 0, args, 1, &n->d);
}

/* [2, 1, 3] → per-channel means; [3, 2] → per-feature means over time;
 * each input gets dout/positions. */
static void test_global_avg_pool(void **state)
{
    (void)state;
    static const float x[6] = {1, 2, 6, -1, 0, 4};
    Net n;
    assert_true(unary(&n, OP_GLOBAL_AVG_POOL, (Shape){3, {2, 1, 3}}) >= 0);
    assert_true(shape_eq(n.g.nodes[n.y].shape, shape1(2)));
    Run r;
    run_kernels(&n, 1, x, (const float[]){3, 6}, true, NAN, &r);
    assert_floats(r.out, (const float[]){3, 1}, 2, 1e-6);
    assert_floats(r.dx, (const float[]){1, 1, 1, 2, 2, 2}, 6, 1e-6);
    run_free(&n, &r);
    net_free(&n);
    assert_true(unary(&n, OP_GLOBAL_AVG_POOL, shape2(3, 2)) >= 0);
    assert_true(shape_eq(n.g.nodes[n.y].shape, shape1(2)));
    run_kernels(&n, 1, x, (const float[]){3, 6}, false, 1, &r);
    assert_floats(r.out, (const float[]){(1 + 6 + 0) / 3.0f, (2 - 1 + 4) / 3.0f}, 2, 1e-6);
    assert_floats(r.dx, (const float[]){2, 3, 2, 3, 2, 3}, 6, 1e-6);
    run_free(&n, &r);
    net_free(&n);
}

static void test_flatten(void **state)
{
    (void)state;
    static const float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    Net n;
    assert_true(unary(&n, OP_FLATTEN, (Shape){3, {2, 3, 2}}) >= 0);
    assert_true(shape_eq(n.g.nodes[n.y].shape, shape1(12)));
    Run r;
    run_kernels(&n, 1, x, x, false, 1, &r);
    assert_floats(r.out, x, 12, 0);
    for (int i = 0; i < 12; i++)
        assert_float_equal(r.dx[i], x[i] + 1, 0);
    run_free(&n, &r);
    net_free(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv2d_hand),
        cmocka_unit_test(test_conv2d_strided),
        cmocka_unit_test(test_conv1d_hand),
        cmocka_unit_test(test_conv_reference),
        cmocka_unit_test(test_conv_fans),
        cmocka_unit_test(test_conv_inits),
        cmocka_unit_test(test_global_avg_pool),
        cmocka_unit_test(test_flatten),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
