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
        return diag_error(d, n->span, "%s needs a whole-number window size from 1 to %d, got %g",
                          name, POOL_MAX_SIZE, size);
    if (!(stride >= 0 && stride <= POOL_MAX_SIZE) || stride != (long)stride)
        return diag_error(d, n->span, "%s needs a whole-number stride from 1 to %d "
                          "(0 for the window size), got %g", name, POOL_MAX_SIZE, stride);
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

/* ---- max_pool ---- */

/* The argmax of each output, kept from forward to backward. */
static size_t max_pool_work(const IrNode *n, const IrGraph *g, int batch)
{
    (void)g;
    return (size_t)batch * shape_size(n->shape);
}

/* out = the window's maximum, work = its place (first of equals) */
static void max_pool_forward(const OpCtx *c)
{
    Pool p = node_pool(c->g, c->node);
    long planes = c->batch * p.planes;
    for (long q = 0; q < planes; q++) {
        const real *x = c->in[0] + q * p.h * p.w;
        real *out = c->out + q * p.oh * p.ow, *at = c->work + q * p.oh * p.ow;
        for (long oi = 0; oi < p.oh; oi++)
            for (long oj = 0; oj < p.ow; oj++) {
                const real *win = x + oi * p.sh * p.w + oj * p.sw;
                real best = win[0];
                long arg = 0;
                for (long i = 0; i < p.kh; i++)
                    for (long j = 0; j < p.kw; j++) {
                        real v = win[i * p.w + j];
                        if (v > best || isnan(v)) {
                            best = v;
                            arg = i * p.kw + j;
                        }
                    }
                out[oi * p.ow + oj] = best;
                at[oi * p.ow + oj] = (real)arg;
            }
    }
}

/* dx[argmax] += dout; every other place gets nothing (zeros, when this
 * kernel writes dx first) */
static void max_pool_backward(const OpCtx *c)
{
    real *dx = c->din[0];
    if (!dx)
        return;
    Pool p = node_pool(c->g, c->node);
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

/* out = the window's mean */
static void avg_pool_forward(const OpCtx *c)
{
    Pool p = node_pool(c->g, c->node);
    long planes = c->batch * p.planes;
    real scale = (real)1 / (real)(p.kh * p.kw);
    for (long q = 0; q < planes; q++) {
        const real *x = c->in[0] + q * p.h * p.w;
        real *out = c->out + q * p.oh * p.ow;
        for (long oi = 0; oi < p.oh; oi++)
            for (long oj = 0; oj < p.ow; oj++) {
                const real *win = x + oi * p.sh * p.w + oj * p.sw;
                real sum = 0;
                for (long i = 0; i < p.kh; i++)
                    for (long j = 0; j < p.kw; j++)
                        sum += win[i * p.w + j];
                out[oi * p.ow + oj] = sum * scale;
            }
    }
}

/* dx[window] += dout/(kh·kw) */
static void avg_pool_backward(const OpCtx *c)
{
    real *dx = c->din[0];
    if (!dx)
        return;
    Pool p = node_pool(c->g, c->node);
    long planes = c->batch * p.planes;
    real scale = (real)1 / (real)(p.kh * p.kw);
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
