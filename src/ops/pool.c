/* pool.c — max and average pooling, 1-D over time and 2-D over images.
 *
 * max_pool(x, size, stride = size) and avg_pool(x, size, stride = size):
 * on [T, F] a window of `size` time steps, per feature (1-D); on
 * [C, H, W] a size × size window, per channel (2-D). Windows start at
 * 0, stride, 2·stride, … and lie wholly inside the input (no padding, as
 * PyTorch's MaxPool1d/2d and AvgPool1d/2d with their defaults), so an
 * extent L gives ⌊(L − size)/stride⌋ + 1 outputs and the rows or columns
 * past the last whole window get no gradient. stride = 0, the default,
 * means stride = size (windows that tile the input).
 *
 * Both cases are one kernel over planes of H × W with a kh × kw window:
 * [T, F] is one plane with kh = size, kw = 1 (stride 1 across features);
 * [C, H, W] is C planes with kh = kw = size.
 *
 * max_pool saves in work, per output, the place of its maximum inside the
 * window (row-major, i·kw + j), and its backward routes the gradient there
 * alone. A tie goes to the first place in that order, as PyTorch's CPU
 * kernels do, and a NaN is a window's maximum (as there too), so pooling
 * never hides a non-finite value from the run's check. The place is an
 * exact integer in a real because size is at most 4096, so a window holds
 * at most 2^24 places. avg_pool spreads each output's gradient evenly,
 * 1/(kh·kw) to every place of its window; with overlapping windows
 * (stride < size) a place gathers from each. */
#include "vg/ops.h"

#include <math.h>
#include <string.h>
#include "vg/vmath.h"

enum { POOL_X, POOL_SIZE, POOL_STRIDE };
enum { POOL_MAX_SIZE = 4096 };

/* One example's geometry: planes of h × w in, oh × ow out. */
typedef struct Pool {
    long planes, h, w, oh, ow, kh, kw, sh, sw;
} Pool;

static Pool pool_geometry(Shape x, long size, long stride)
{
    long s = stride ? stride : size;
    if (x.rank == 2)
        return (Pool){1, x.dim[0], x.dim[1], (x.dim[0] - size) / s + 1, x.dim[1], size, 1, s, 1};
    return (Pool){x.dim[0], x.dim[1], x.dim[2], (x.dim[1] - size) / s + 1,
                  (x.dim[2] - size) / s + 1, size, size, s, s};
}

static Pool node_pool(const IrGraph *g, const IrNode *n)
{
    return pool_geometry(g->nodes[n->in[0]].shape, (long)ir_arg_num(n, POOL_SIZE),
                         (long)ir_arg_num(n, POOL_STRIDE));
}

static bool pool_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    const char *name = op_def(n->op)->name;
    Shape x = g->nodes[n->in[0]].shape;
    double size = ir_arg_num(n, POOL_SIZE), stride = ir_arg_num(n, POOL_STRIDE);
    char a[96];
    shape_str(x, a, sizeof a);  /* its rank is 2 or 3 (OpDef.ranks) */
    if (!(size >= 1 && size <= POOL_MAX_SIZE) || size != (long)size)
        return diag_error(d, n->span, "%s needs a whole-number window size from 1 to %d, got %s",
                          name, POOL_MAX_SIZE, DIAG_NUM(size));
    if (!(stride >= 0 && stride <= POOL_MAX_SIZE) || stride != (long)stride)
        return diag_error(d, n->span, "%s needs a whole-number stride from 1 to %d "
                          "(0 for the window size), got %s", name, POOL_MAX_SIZE, DIAG_NUM(stride));
    long k = (long)size;
    if (x.rank == 2 && k > x.dim[0])
        return diag_error(d, n->span, "%s window %ld is larger than its %s input (%ld time "
                          "steps)", name, k, a, x.dim[0]);
    if (x.rank == 3 && (k > x.dim[1] || k > x.dim[2]))
        return diag_error(d, n->span, "%s window %ld×%ld is larger than its %s input (height "
                          "%ld, width %ld)", name, k, k, a, x.dim[1], x.dim[2]);
    Pool p = pool_geometry(x, k, (long)stride);
    n->shape = x;
    n->shape.dim[x.rank - 2] = p.oh;
    if (x.rank == 3)
        n->shape.dim[2] = p.ow;
    return true;
}

/* The kernels run a row of outputs at a time, one window place after
 * another across the row, so that the inner loop is elementwise over the
 * row's outputs and vectorises; each output still meets its window's
 * places in row-major order, the order a window-at-a-time loop takes, so
 * max ties, NaNs and the rounding of sums come out the same. */

/* Windows two columns wide at stride 2 (the usual 2×2 pooling, and 1-D
 * pooling does not have them): both columns go in one loop, which the
 * compiler vectorises with paired loads and stores, where a loop over
 * every other element alone stays slow. */
static bool pool_pairs(const Pool *p)
{
    return p->kw == 2 && p->sw == 2;
}

/* Windows that tile their rows and columns (stride = size in each
 * direction, the default): every input place lies in at most one window,
 * so a backward pass can write each gradient element once, in order,
 * instead of scattering into a zeroed buffer; only the rows and columns
 * past the last whole window are left to zero. */
static bool pool_tiles(const Pool *p)
{
    return p->sh == p->kh && p->sw == p->kw;
}

/* Zeroes what no tiling window covers in one gradient plane: the rows
 * below the last window and the columns right of it. */
static void pool_zero_uncovered(real *dplane, const Pool *p)
{
    long rows = p->oh * p->kh, cols = p->ow * p->kw;
    if (cols < p->w)
        for (long i = 0; i < rows; i++)
            memset(dplane + i * p->w + cols, 0, (size_t)(p->w - cols) * sizeof *dplane);
    memset(dplane + rows * p->w, 0, (size_t)((p->h - rows) * p->w) * sizeof *dplane);
}

/* ---- max_pool ---- */

/* The argmax of each output, kept from forward to backward. */
static size_t max_pool_work(const IrNode *n, const IrGraph *g, int batch)
{
    (void)g;
    return (size_t)batch * shape_size(n->shape);
}

/* The window scan's step: v at place becomes the maximum if it is
 * greater (so the first of equals stays) or NaN. */
static inline void max_take(real v, real place, real *best, real *at)
{
    bool take = v > *best || isnan(v);
    *best = take ? v : *best;
    *at = take ? place : *at;
}

/* One row of outputs: best = the window's maximum, at = its place. */
VMATH_WIDE
static void max_pool_row(const real *x, const Pool *p, real *best, real *at)
{
    long ow = p->ow, sw = p->sw;
    if (pool_pairs(p)) {
#pragma omp simd
        for (long oj = 0; oj < ow; oj++) {
            real b = x[2 * oj], a = 0;
            max_take(x[2 * oj + 1], 1, &b, &a);
            best[oj] = b;
            at[oj] = a;
        }
        for (long i = 1; i < p->kh; i++) {
            const real *r = x + i * p->w;
            real place = (real)(2 * i);
#pragma omp simd
            for (long oj = 0; oj < ow; oj++) {
                real b = best[oj], a = at[oj];
                max_take(r[2 * oj], place, &b, &a);
                max_take(r[2 * oj + 1], place + 1, &b, &a);
                best[oj] = b;
                at[oj] = a;
            }
        }
        return;
    }
#pragma omp simd
    for (long oj = 0; oj < ow; oj++) {
        best[oj] = x[oj * sw];
        at[oj] = 0;
    }
    for (long i = 0; i < p->kh; i++)
        for (long j = i ? 0 : 1; j < p->kw; j++) {
            const real *r = x + i * p->w + j;
            real place = (real)(i * p->kw + j);
#pragma omp simd
            for (long oj = 0; oj < ow; oj++)
                max_take(r[oj * sw], place, best + oj, at + oj);
        }
}

static void max_pool_forward(const OpCtx *c)
{
    Pool p = node_pool(c->g, c->node);
    long planes = c->batch * p.planes;
    for (long q = 0; q < planes; q++)
        for (long oi = 0; oi < p.oh; oi++) {
            long o = (q * p.oh + oi) * p.ow;
            max_pool_row(c->in[0] + (q * p.h + oi * p.sh) * p.w, &p, c->out + o, c->work + o);
        }
}

/* What a tiling window's place gets: old + dout at the argmax, old
 * elsewhere. */
static inline real max_route(real old, real at, real place, real dout)
{
    return at == place ? old + dout : old;
}

/* Tiling windows: each dx element written once (old is 0 when this kernel
 * writes dx first). */
VMATH_WIDE
static void max_pool_backward_tiles(const OpCtx *c, const Pool *p)
{
    real keep = op_din_keep(c, 0);
    long planes = c->batch * p->planes, ow = p->ow, kw = p->kw;
    for (long q = 0; q < planes; q++) {
        real *dplane = c->din[0] + q * p->h * p->w;
        for (long oi = 0; oi < p->oh; oi++) {
            long o = (q * p->oh + oi) * ow;
            const real *dout = c->dout + o, *at = c->work + o;
            for (long i = 0; i < p->kh; i++) {
                real *d = dplane + (oi * p->kh + i) * p->w;
                real place = (real)(i * kw);
                if (pool_pairs(p)) {
#pragma omp simd
                    for (long oj = 0; oj < ow; oj++) {
                        real d0 = op_din_old(keep, d[2 * oj]), d1 = op_din_old(keep, d[2 * oj + 1]);
                        d[2 * oj] = max_route(d0, at[oj], place, dout[oj]);
                        d[2 * oj + 1] = max_route(d1, at[oj], place + 1, dout[oj]);
                    }
                } else
                    for (long j = 0; j < kw; j++) {
#pragma omp simd
                        for (long oj = 0; oj < ow; oj++)
                            d[oj * kw + j] = max_route(op_din_old(keep, d[oj * kw + j]), at[oj],
                                                       place + (real)j, dout[oj]);
                    }
            }
        }
        if (keep == 0)
            pool_zero_uncovered(dplane, p);
    }
}

/* dx[argmax] += dout; every other place gets nothing (zeros, when this
 * kernel writes dx first). Overlapping windows add in the order of their
 * outputs. */
static void max_pool_backward(const OpCtx *c)
{
    real *dx = c->din[0];
    if (!dx)
        return;
    Pool p = node_pool(c->g, c->node);
    /* Tiling windows a column (1-D) or two wide go row by row; wider ones
     * are scattered, as one place in kh·kw gets the gradient and their
     * strided stores cost more than zeroing the rest (3×3: 0.40 ms against
     * 0.57 on [64, 16, 27, 27]). */
    if (pool_tiles(&p) && p.kw <= 2) {
        max_pool_backward_tiles(c, &p);
        return;
    }
    long planes = c->batch * p.planes;
    if (c->din_overwrite[0])
        memset(dx, 0, (size_t)(planes * p.h * p.w) * sizeof *dx);
    for (long q = 0; q < planes; q++) {
        real *dplane = dx + q * p.h * p.w;
        const real *dout = c->dout + q * p.oh * p.ow, *at = c->work + q * p.oh * p.ow;
        for (long oi = 0; oi < p.oh; oi++)
            for (long oj = 0; oj < p.ow; oj++) {
                long arg = (long)at[oi * p.ow + oj];
                dplane[(oi * p.sh + arg / p.kw) * p.w + oj * p.sw + arg % p.kw] +=
                    dout[oi * p.ow + oj];
            }
    }
}

const OpDef REAL_NAME(op_max_pool) = {
    .name = "max_pool",
    .sig = "x:T size:I stride:I=0",
    .doc = "maximum over windows of size steps on [T, F], size×size on [C, H, W]; "
           "stride 0 means size",
    .kind = OPK_TENSOR,
    .ranks = OP_RANK(2) | OP_RANK(3),
    .infer = pool_infer,
    .work_floats = max_pool_work,
    .forward = max_pool_forward,
    .backward = max_pool_backward,
};

/* ---- avg_pool ---- */

/* One row of outputs: the window's sum, then the mean. */
VMATH_WIDE
static void avg_pool_row(const real *x, const Pool *p, real scale, real *out)
{
    long ow = p->ow, sw = p->sw;
#pragma omp simd
    for (long oj = 0; oj < ow; oj++)
        out[oj] = 0;
    for (long i = 0; i < p->kh; i++) {
        const real *r = x + i * p->w;
        if (pool_pairs(p)) {
#pragma omp simd
            for (long oj = 0; oj < ow; oj++)
                out[oj] = out[oj] + r[2 * oj] + r[2 * oj + 1];
        } else
            for (long j = 0; j < p->kw; j++) {
#pragma omp simd
                for (long oj = 0; oj < ow; oj++)
                    out[oj] += r[oj * sw + j];
            }
    }
#pragma omp simd
    for (long oj = 0; oj < ow; oj++)
        out[oj] *= scale;
}

static void avg_pool_forward(const OpCtx *c)
{
    Pool p = node_pool(c->g, c->node);
    long planes = c->batch * p.planes;
    real scale = (real)1 / (real)(p.kh * p.kw);
    for (long q = 0; q < planes; q++)
        for (long oi = 0; oi < p.oh; oi++)
            avg_pool_row(c->in[0] + (q * p.h + oi * p.sh) * p.w, &p, scale,
                         c->out + (q * p.oh + oi) * p.ow);
}

/* Tiling windows: dx = old + dout/(kh·kw), each element written once. */
VMATH_WIDE
static void avg_pool_backward_tiles(const OpCtx *c, const Pool *p, real scale)
{
    real keep = op_din_keep(c, 0);
    long planes = c->batch * p->planes, ow = p->ow, kw = p->kw;
    for (long q = 0; q < planes; q++) {
        real *dplane = c->din[0] + q * p->h * p->w;
        for (long oi = 0; oi < p->oh; oi++) {
            const real *dout = c->dout + (q * p->oh + oi) * ow;
            for (long i = 0; i < p->kh; i++) {
                real *d = dplane + (oi * p->kh + i) * p->w;
                if (pool_pairs(p)) {
#pragma omp simd
                    for (long oj = 0; oj < ow; oj++) {
                        real g = dout[oj] * scale;
                        d[2 * oj] = op_din_old(keep, d[2 * oj]) + g;
                        d[2 * oj + 1] = op_din_old(keep, d[2 * oj + 1]) + g;
                    }
                } else
                    for (long j = 0; j < kw; j++) {
#pragma omp simd
                        for (long oj = 0; oj < ow; oj++)
                            d[oj * kw + j] = op_din_old(keep, d[oj * kw + j]) + dout[oj] * scale;
                    }
            }
        }
        if (keep == 0)
            pool_zero_uncovered(dplane, p);
    }
}

/* dx[window] += dout/(kh·kw); overlapping windows add in the order of
 * their outputs */
static void avg_pool_backward(const OpCtx *c)
{
    real *dx = c->din[0];
    if (!dx)
        return;
    Pool p = node_pool(c->g, c->node);
    real scale = (real)1 / (real)(p.kh * p.kw);
    if (pool_tiles(&p)) {
        avg_pool_backward_tiles(c, &p, scale);
        return;
    }
    long planes = c->batch * p.planes;
    if (c->din_overwrite[0])
        memset(dx, 0, (size_t)(planes * p.h * p.w) * sizeof *dx);
    for (long q = 0; q < planes; q++) {
        real *dplane = dx + q * p.h * p.w;
        const real *dout = c->dout + q * p.oh * p.ow;
        for (long oi = 0; oi < p.oh; oi++)
            for (long oj = 0; oj < p.ow; oj++) {
                real g = dout[oi * p.ow + oj] * scale;
                real *win = dplane + oi * p.sh * p.w + oj * p.sw;
                for (long i = 0; i < p.kh; i++)
                    for (long j = 0; j < p.kw; j++)
                        win[i * p.w + j] += g;
            }
    }
}

const OpDef REAL_NAME(op_avg_pool) = {
    .name = "avg_pool",
    .sig = "x:T size:I stride:I=0",
    .doc = "mean over windows of size steps on [T, F], size×size on [C, H, W]; "
           "stride 0 means size",
    .kind = OPK_TENSOR,
    .ranks = OP_RANK(2) | OP_RANK(3),
    .infer = pool_infer,
    .forward = avg_pool_forward,
    .backward = avg_pool_backward,
};
