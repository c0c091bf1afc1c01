/* test_pool.c — max_pool and avg_pool: forward values and the gradients
 * their backward kernels route, on hand-worked cases in 1-D ([T, F]) and
 * 2-D ([C, H, W]), ties, overlapping windows, the overwrite contract of
 * ops.h, and the exact text of their shape errors; and the kernels, which
 * run a row of outputs at a time with paths for 2-wide windows and for
 * tiling ones, against a window-at-a-time reference, bit for bit, on
 * shapes that take each path. (Gradients against finite differences: the
 * registry-wide check in test_ops.c and tests/gradcheck/pool.vg.) */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include "net_fixture.h"

/* x[shape] → op(x, size, stride); the node id, or -1 with a diagnostic. */
static int pool(Net *n, int op, Shape s, double size, double stride)
{
    net_init(n);
    n->x = ir_add_source(&n->g, OP_INPUT, "x", s, SPAN_NONE, &n->d);
    assert_true(n->x >= 0);
    Value args[3] = {tensor(n->x), num(size), num(stride)};
    return n->y = ir_add_node(&n->g, op, SPAN_NONE, NULL, 0, args, 3, &n->d);
}

/* Runs the node's kernels directly on one example: forward x → out, then
 * backward dout → dx, dx first filled with `fill` and overwritten or added
 * to as `overwrite` says. */
typedef struct Run {
    float out[64], work[64], dx[64];
} Run;

static void run_kernels(Net *n, const float *x, const float *dout, bool overwrite, float fill,
                        Run *r)
{
    const OpDef *def = op_def(n->g.nodes[n->y].op);
    size_t nx = shape_size(n->g.nodes[n->x].shape);
    assert_true(nx <= 64 && shape_size(n->g.nodes[n->y].shape) <= 64);
    for (size_t i = 0; i < 64; i++)
        r->out[i] = r->work[i] = NAN, r->dx[i] = fill;
    OpCtx c = {.g = &n->g, .node = &n->g.nodes[n->y], .batch = 1, .mode = EXEC_TRAIN};
    c.in[0] = x;
    c.out = r->out;
    c.work = r->work;
    c.dout = (float *)dout;
    c.din[0] = r->dx;
    c.din_overwrite[0] = overwrite;
    def->forward(&c);
    def->backward(&c);
}

static void assert_floats(const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fabsf(got[i] - want[i]) > 1e-6f)
            fail_msg("element %zu: got %g, expected %g", i, got[i], want[i]);
}

/* [2, 3, 5], size 2: windows at rows 0..1 and columns 0..1, 2..3; row 2 and
 * column 4 lie past the last whole window and get no gradient. Channel 1's
 * second window is a tie of 7s: the first in row-major order wins. */
static void test_max_pool_2d(void **state)
{
    (void)state;
    static const float x[30] = {
        1, 5, 2, 0, 9,   3, 4, 8, 1, 9,   9, 9, 9, 9, 9,   /* channel 0 */
        -1, -2, 7, 6, 0, -3, -4, 7, 7, 0, 0, 0, 0, 0, 0,  /* channel 1 */
    };
    static const float dout[4] = {10, 20, 30, 40};
    Net n;
    assert_true(pool(&n, OP_MAX_POOL, (Shape){3, {2, 3, 5}}, 2, 0) >= 0);
    assert_true(shape_eq(n.g.nodes[n.y].shape, (Shape){3, {2, 1, 2}}));
    Run r;
    run_kernels(&n, x, dout, true, NAN, &r);
    assert_floats(r.out, (const float[]){5, 8, -1, 7}, 4);
    float dx[30] = {0};
    dx[1] = 10;       /* 5 at (0, 0, 1) */
    dx[7] = 20;       /* 8 at (0, 1, 2) */
    dx[15] = 30;      /* -1 at (1, 0, 0) */
    dx[17] = 40;      /* the first 7, at (1, 0, 2) */
    assert_floats(r.dx, dx, 30);
    /* not first: the kernel adds to what is there */
    run_kernels(&n, x, dout, false, 1, &r);
    for (int i = 0; i < 30; i++)
        dx[i] += 1;
    assert_floats(r.dx, dx, 30);
    net_free(&n);
}

/* [5, 2] over time, size 2, stride 1: out[t] = max(x[t], x[t + 1]) per
 * feature; a step that wins two windows gathers both gradients. */
static void test_max_pool_1d(void **state)
{
    (void)state;
    static const float x[10] = {0, 4, 3, 1, 2, 2, 5, 0, 1, 3};
    static const float dout[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    Net n;
    assert_true(pool(&n, OP_MAX_POOL, shape2(5, 2), 2, 1) >= 0);
    assert_true(shape_eq(n.g.nodes[n.y].shape, shape2(4, 2)));
    Run r;
    run_kernels(&n, x, dout, true, NAN, &r);
    assert_floats(r.out, (const float[]){3, 4, 3, 2, 5, 2, 5, 3}, 8);
    /* feature 0: 3 wins windows 0, 1; 5 wins 2, 3. Feature 1: 4 wins 0;
     * the tie 2, 2 of window 2 goes to step 2, which also wins window 1 */
    assert_floats(r.dx, (const float[]){0, 2, 1 + 3, 0, 0, 4 + 6, 5 + 7, 0, 0, 8}, 10);
    net_free(&n);
}

/* A NaN is its window's maximum, as in PyTorch: a non-finite value is never
 * pooled away. */
static void test_max_pool_nan(void **state)
{
    (void)state;
    const float x[3] = {1, NAN, 2}, dout[1] = {5};
    Net n;
    assert_true(pool(&n, OP_MAX_POOL, shape2(3, 1), 3, 0) >= 0);
    Run r;
    run_kernels(&n, x, dout, true, NAN, &r);
    assert_true(isnan(r.out[0]));
    assert_floats(r.dx, (const float[]){0, 5, 0}, 3);
    net_free(&n);
}

/* [1, 3, 3], size 2, stride 1: four overlapping windows; the centre is in
 * all four and gathers a quarter of each output's gradient. */
static void test_avg_pool_2d(void **state)
{
    (void)state;
    static const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const float dout[4] = {4, 8, 12, 16};
    Net n;
    assert_true(pool(&n, OP_AVG_POOL, (Shape){3, {1, 3, 3}}, 2, 1) >= 0);
    assert_true(shape_eq(n.g.nodes[n.y].shape, (Shape){3, {1, 2, 2}}));
    Run r;
    run_kernels(&n, x, dout, true, NAN, &r);
    assert_floats(r.out, (const float[]){3, 4, 6, 7}, 4);
    assert_floats(r.dx, (const float[]){1, 3, 2, 4, 10, 6, 3, 7, 4}, 9);
    net_free(&n);
}

/* [5, 1] over time, size 2 (stride 2): the fifth step is in no window. */
static void test_avg_pool_1d(void **state)
{
    (void)state;
    static const float x[5] = {1, 3, -2, 6, 100};
    static const float dout[2] = {2, -4};
    Net n;
    assert_true(pool(&n, OP_AVG_POOL, shape2(5, 1), 2, 0) >= 0);
    assert_true(shape_eq(n.g.nodes[n.y].shape, shape2(2, 1)));
    Run r;
    run_kernels(&n, x, dout, true, NAN, &r);
    assert_floats(r.out, (const float[]){2, 2}, 2);
    assert_floats(r.dx, (const float[]){1, 1, -2, -2, 0}, 5);
    net_free(&n);
}

/* The reference: each output's window scanned place by place in
 * row-major order, as docs/language.md defines max_pool and avg_pool (a
 * max tie to the first place, a NaN wins), and the gradient scattered
 * window by window into a zeroed or kept dx. Geometry as pool.c's: planes
 * of h × w, windows kh × kw at strides sh × sw. */
typedef struct Geo {
    long planes, h, w, kh, kw, sh, sw, oh, ow;
} Geo;

static void reference(int op, const Geo *p, const float *x, const float *dout, bool overwrite,
                      float *out, float *at, float *dx)
{
    if (overwrite)
        memset(dx, 0, (size_t)(p->planes * p->h * p->w) * sizeof *dx);
    for (long q = 0; q < p->planes; q++)
        for (long oi = 0; oi < p->oh; oi++)
            for (long oj = 0; oj < p->ow; oj++) {
                long o = (q * p->oh + oi) * p->ow, corner = (q * p->h + oi * p->sh) * p->w + oj * p->sw;
                const float *win = x + corner;
                float best = win[0], sum = 0;
                long arg = 0;
                for (long i = 0; i < p->kh; i++)
                    for (long j = 0; j < p->kw; j++) {
                        float v = win[i * p->w + j];
                        sum += v;
                        if (v > best || isnan(v))
                            best = v, arg = i * p->kw + j;
                    }
                float scale = 1.0f / (float)(p->kh * p->kw);
                if (op == OP_MAX_POOL) {
                    out[o + oj] = best;
                    at[o + oj] = (float)arg;
                    dx[corner + arg / p->kw * p->w + arg % p->kw] += dout[o + oj];
                } else {
                    out[o + oj] = sum * scale;
                    for (long i = 0; i < p->kh; i++)
                        for (long j = 0; j < p->kw; j++)
                            dx[corner + i * p->w + j] += dout[o + oj] * scale;
                }
            }
}

static void assert_same_bits(const float *got, const float *want, size_t n, const char *what,
                             const char *shape)
{
    if (memcmp(got, want, n * sizeof *got) != 0)
        for (size_t i = 0; i < n; i++)
            if (memcmp(got + i, want + i, sizeof *got) != 0)
                fail_msg("%s, %s element %zu: got %.9g, reference %.9g", shape, what, i,
                         got[i], want[i]);
}

/* Draws from {-2, …, 2} so that windows tie often (relu outputs tie at 0
 * the same way), with a NaN or an infinity now and then; avg_pool gets
 * fractions, so that a different summation order would round apart. */
static float draw(int op)
{
    int r = rand() % 64;
    if (op == OP_MAX_POOL)
        return r == 0 ? NAN : r == 1 ? -INFINITY : r == 2 ? INFINITY : (float)(r % 5 - 2);
    return (float)rand() / (float)RAND_MAX - 0.3f;
}

static void test_pool_kernels_match_reference(void **state)
{
    (void)state;
    static const struct {
        Shape x;
        double size, stride;
    } cases[] = {
        {{3, {3, 8, 6}}, 2, 0},   /* 2×2 tiles: the paired columns */
        {{3, {2, 7, 9}}, 2, 0},   /* the same, an odd row and column left over */
        {{3, {2, 7, 5}}, 2, 3},   /* 2×2 at stride 3: gaps between windows */
        {{3, {2, 6, 7}}, 2, 1},   /* overlapping */
        {{3, {2, 8, 7}}, 3, 0},   /* 3×3 tiles, two rows and a column left over */
        {{3, {2, 9, 9}}, 3, 2},   /* 3×3 overlapping */
        {{3, {2, 5, 5}}, 1, 0},   /* the identity */
        {{2, {9, 5}}, 2, 0},      /* 1-D tiles, a time step left over */
        {{2, {8, 3}}, 3, 1},      /* 1-D overlapping */
        {{2, {10, 4}}, 2, 3},     /* 1-D with gaps */
    };
    enum { BATCH = 2 };
    srand(18);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
        for (int op = OP_MAX_POOL; ; op = OP_AVG_POOL) {
            Net n;
            assert_true(pool(&n, op, cases[k].x, cases[k].size, cases[k].stride) >= 0);
            Shape s = cases[k].x, y = n.g.nodes[n.y].shape;
            long kk = (long)cases[k].size, st = cases[k].stride ? (long)cases[k].stride : kk;
            Geo p = s.rank == 2
                ? (Geo){BATCH, s.dim[0], s.dim[1], kk, 1, st, 1, y.dim[0], y.dim[1]}
                : (Geo){BATCH * s.dim[0], s.dim[1], s.dim[2], kk, kk, st, st, y.dim[1], y.dim[2]};
            size_t nx = (size_t)(p.planes * p.h * p.w), ny = (size_t)(p.planes * p.oh * p.ow);
            assert_int_equal(ny, BATCH * shape_size(y));
            float *x = malloc(nx * sizeof *x), *dout = malloc(ny * sizeof *dout);
            float *out = malloc(ny * sizeof *out), *work = malloc(ny * sizeof *work);
            float *dx = malloc(nx * sizeof *dx), *want_out = malloc(ny * sizeof *want_out);
            float *want_at = malloc(ny * sizeof *want_at), *want_dx = malloc(nx * sizeof *want_dx);
            for (size_t i = 0; i < nx; i++)
                x[i] = draw(op);
            for (size_t i = 0; i < ny; i++)
                dout[i] = (float)rand() / (float)RAND_MAX - 0.5f;
            char shape[96];
            snprintf(shape, sizeof shape, "%s size %g stride %g on %ld-D [%ld planes, %ld, %ld]",
                     op_def(op)->name, cases[k].size, cases[k].stride, (long)s.rank - 1,
                     p.planes, p.h, p.w);
            for (int overwrite = 1; overwrite >= 0; overwrite--) {
                /* dx holds NaN where the kernel must overwrite, numbers where it adds */
                for (size_t i = 0; i < nx; i++)
                    dx[i] = want_dx[i] = overwrite ? NAN : (float)(i % 7) - 3;
                OpCtx c = {.g = &n.g, .node = &n.g.nodes[n.y], .batch = BATCH,
                           .mode = EXEC_TRAIN, .out = out, .work = work, .dout = dout};
                c.in[0] = x;
                c.din[0] = dx;
                c.din_overwrite[0] = overwrite;
                op_def(op)->forward(&c);
                op_def(op)->backward(&c);
                reference(op, &p, x, dout, overwrite, want_out, want_at, want_dx);
                assert_same_bits(out, want_out, ny, "output", shape);
                if (op == OP_MAX_POOL)
                    assert_same_bits(work, want_at, ny, "argmax", shape);
                assert_same_bits(dx, want_dx, nx, overwrite ? "dx written" : "dx added to", shape);
            }
            free(x), free(dout), free(out), free(work), free(dx);
            free(want_out), free(want_at), free(want_dx);
            net_free(&n);
            if (op == OP_AVG_POOL)
                break;
        }
}

static void test_pool_errors(void **state)
{
    (void)state;
    static const struct {
        int op;
        Shape x;
        double size, stride;
        const char *msg;
    } cases[] = {
        {OP_MAX_POOL, {1, {784}}, 2, 0,
         "max_pool needs a [time, features] or [channels, height, width] input, got [784]"},
        {OP_AVG_POOL, {2, {4, 3}}, 5, 0,
         "avg_pool window 5 is larger than its [4, 3] input (4 time steps)"},
        {OP_MAX_POOL, {3, {2, 8, 3}}, 4, 0,
         "max_pool window 4×4 is larger than its [2, 8, 3] input (height 8, width 3)"},
        {OP_MAX_POOL, {2, {4, 3}}, 0, 0,
         "max_pool needs a whole-number window size from 1 to 4096, got 0"},
        {OP_AVG_POOL, {2, {4, 3}}, 2, 1.5,
         "avg_pool needs a whole-number stride from 1 to 4096 (0 for the window size), got 1.5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Net n;
        assert_int_equal(pool(&n, cases[i].op, cases[i].x, cases[i].size, cases[i].stride), -1);
        assert_int_equal(n.d.errors, 1);
        assert_string_equal(n.d.items[0].msg, cases[i].msg);
        assert_int_equal(n.g.n, 1);
        net_free(&n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_pool_2d),
        cmocka_unit_test(test_max_pool_1d),
        cmocka_unit_test(test_max_pool_nan),
        cmocka_unit_test(test_avg_pool_2d),
        cmocka_unit_test(test_avg_pool_1d),
        cmocka_unit_test(test_pool_kernels_match_reference),
        cmocka_unit_test(test_pool_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
