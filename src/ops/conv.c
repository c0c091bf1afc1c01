/* conv.c — convolutions, and the ops that close a convolutional stack:
 * conv1d, conv2d, global_avg_pool, flatten.
 *
 * conv2d reads [C, H, W] examples (channels first, as PyTorch's Conv2d)
 * and writes [C', H', W']; its weight is the [C', C·k·k] matrix of
 * PyTorch's [C', C, k, k] kernel, rows flattened in (channel, row, column)
 * order.
 *
 * In float (every run) both convolutions are oneDNN's primitives
 * (src/blas_dnnl.c: 3 to 5 times faster than the GEMMs below on
 * bench/m6_cnn.vg's shapes, docs/performance.md). oneDNN has no double
 * convolution, so the float64 twin of `vg gradcheck` keeps the kernels
 * below, which the unit tests also hold the float path to.
 *
 * The float64 kernels are im2col + GEMM (Chellapilla et al. 2006): the
 * patches of a few examples become the columns of col [C·k·k, N], and one
 * GEMM, Y [C', N] = W · col, computes every output position of them. The
 * backward pass rebuilds col rather than keeping it from the forward pass
 * (k² times the input, per layer, per example), then dW += dY · colᵀ and
 * dcol = Wᵀ · dY, which col2im adds back into dX.
 *
 * conv1d reads [T, F] sequences (features last, as dense and the recurrent
 * ops) and writes [T', C']. Its patch of k consecutive steps is k·F
 * contiguous floats, so im2row lays the patches of the whole batch out as
 * rows [batch·T', k·F] (kept from forward to backward: k times the input)
 * and one GEMM gives Y [batch·T', C'] = rows · Wᵀ, with W [C', k·F] in
 * (step, feature) order: PyTorch's Conv1d weight is W viewed as [C', k, F]
 * and transposed to [C', F, k].
 *
 * Padding: "valid" (none); "same" (k − 1 zeros in all, (k − 1)/2 of them,
 * rounded down, before the first position, as PyTorch's padding="same"),
 * which gives ⌈n / stride⌉ outputs; or N zeros on each side. Outputs are
 * ⌊(n + padding − k) / stride⌋ + 1 per axis. */
#include "vg/ops.h"

#include <string.h>
#include "vg/blas.h"
#include "vg/blas_dnnl.h"

enum { CONV_X, CONV_CHANNELS, CONV_KERNEL, CONV_STRIDE, CONV_PADDING, CONV_INIT, CONV_BIAS };
enum { P_W, P_B };

static Shape in_shape(const IrGraph *g, const IrNode *n)
{
    return g->nodes[n->in[0]].shape;
}

static long arg_long(const IrNode *n, int slot)
{
    return (long)ir_arg_num(n, slot);
}

/* The zeros before the first position of an axis, for a kernel of k. */
static long pad_before(const IrNode *n, long k)
{
    const Value *v = &n->args[CONV_PADDING];
    if (v->kind == VAL_NUM)
        return (long)v->num;
    return strcmp(v->str, "same") == 0 ? (k - 1) / 2 : 0;
}

/* Checks channels, kernel, stride and padding; sets *out to the outputs
 * along each of the `axes` spatial dimensions in[] of shape x. */
static bool conv_geometry(IrNode *n, Shape x, const long *in, int axes, long *out,
                          DiagSink *d)
{
    const char *name = op_def(n->op)->name;
    static const struct { int slot; const char *what; } counts[] = {
        {CONV_CHANNELS, "a number of channels"}, {CONV_KERNEL, "a kernel size"},
        {CONV_STRIDE, "a stride"},
    };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        double v = ir_arg_num(n, counts[i].slot);
        if (v < 1 || v > IR_MAX_ELEMS)
            return diag_error(d, n->span, "%s needs %s from 1 to 2^31 - 1, got %s", name,
                              counts[i].what, DIAG_NUM(v));
    }
    long k = arg_long(n, CONV_KERNEL), s = arg_long(n, CONV_STRIDE);
    const Value *p = &n->args[CONV_PADDING];
    bool named = p->kind == VAL_STR &&
                 (strcmp(p->str, "same") == 0 || strcmp(p->str, "valid") == 0);
    if (p->kind == VAL_STR && !named)
        return diag_error(d, n->span, "%s needs padding \"same\", \"valid\" or a whole number, "
                          "got \"%s\"", name, p->str);
    if (p->kind != VAL_STR && p->kind != VAL_NUM)
        return diag_error(d, n->span, "%s needs padding \"same\", \"valid\" or a whole number, "
                          "got a %s", name, value_kind_name(p->kind));
    /* a wider border would add outputs that see only zeros */
    if (p->kind == VAL_NUM && (p->num < 0 || p->num >= (double)k || p->num != (long)p->num))
        return diag_error(d, n->span, "%s needs padding \"same\", \"valid\" or a whole number "
                          "from 0 to %ld (kernel - 1), got %s", name, k - 1, DIAG_NUM(p->num));
    char a[96];
    for (int i = 0; i < axes; i++) {
        long padded = named && strcmp(p->str, "same") == 0 ? in[i] + k - 1
                    : named ? in[i] : in[i] + 2 * (long)p->num;
        if (padded < k) {
            if (named)
                return diag_error(d, n->span, "%s kernel %ld is larger than its %s input with "
                                  "padding \"valid\"", name, k, shape_str(x, a, sizeof a));
            return diag_error(d, n->span, "%s kernel %ld is larger than its %s input padded by "
                              "%s on each side", name, k, shape_str(x, a, sizeof a),
                              DIAG_NUM(p->num));
        }
        out[i] = (padded - k) / s + 1;
    }
    return true;
}

/* Declares W [cout, fan_in] and b [cout]; fans as PyTorch counts them
 * (torch.nn.init._calculate_fan_in_and_fan_out): fan_in = C·k·k inputs
 * per output, fan_out = C'·k·k outputs per input. */
static bool conv_params(IrGraph *g, int node, long cin, long area, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    long cout = arg_long(n, CONV_CHANNELS);
    if ((double)cout * (double)cin * (double)area > IR_MAX_ELEMS)
        return diag_error(d, n->span, "%s weight [%ld, %.0f] is above the limit of 2^31 elements",
                          op_def(n->op)->name, cout, (double)cin * (double)area);
    long fan_in = cin * area;
    if (shape_size(n->shape) == 0 || shape_size(n->shape) > IR_MAX_ELEMS) {
        char a[96];
        return diag_error(d, n->span, "%s output %s is above the limit of 2^31 elements",
                          op_def(n->op)->name, shape_str(n->shape, a, sizeof a));
    }
    long fan_out = cout * area;
    ir_add_param(g, node, "W", shape2(cout, fan_in), ir_arg_spec(n, CONV_INIT), fan_in,
                 fan_out, true, true);
    if (ir_arg_bool(n, CONV_BIAS))
        ir_add_param(g, node, "b", shape1(cout), ir_default_spec(g, SPEC_ZEROS), fan_in,
                     fan_out, true, false);
    return true;
}

/* ---- conv2d(x, channels, kernel, stride = 1, padding = "same") ---- */

static bool conv2d_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    Shape x = in_shape(g, n);
    long out[2];
    if (!conv_geometry(n, x, x.dim + 1, 2, out, d))
        return false;
    long k = arg_long(n, CONV_KERNEL);
    n->shape = (Shape){3, {arg_long(n, CONV_CHANNELS), out[0], out[1]}};
    return conv_params(g, node, x.dim[0], k * k, d);
}

/* ---- conv1d(x, channels, kernel, stride = 1, padding = "same") ---- */

static bool conv1d_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    Shape x = in_shape(g, n);
    long out;
    if (!conv_geometry(n, x, x.dim, 1, &out, d))
        return false;
    n->shape = shape2(out, arg_long(n, CONV_CHANNELS));
    return conv_params(g, node, x.dim[1], arg_long(n, CONV_KERNEL), d);
}

#ifndef VG_REAL_DOUBLE
/* ---- float32: oneDNN (blas_dnnl.h) ---- */

/* The zeros after the last position of an axis: the rest of "same"'s
 * k − 1, or N; with these oneDNN's output count is vg's. */
static long pad_after(const IrNode *n, long k)
{
    const Value *v = &n->args[CONV_PADDING];
    if (v->kind == VAL_NUM)
        return (long)v->num;
    return strcmp(v->str, "same") == 0 ? k - 1 - pad_before(n, k) : 0;
}

/* conv2d: [C, H, W] → [C', H', W']; conv1d: [T, F] → [T', C']. With both
 * gradients, which sizes the work for any context. */
static BlasConvShape conv_shape(const IrGraph *g, const IrNode *n, int batch)
{
    Shape x = in_shape(g, n), y = n->shape;
    bool two = y.rank == 3;
    long k = arg_long(n, CONV_KERNEL);
    return (BlasConvShape){
        .two_d = two, .batch = batch,
        .cin = (int)(two ? x.dim[0] : x.dim[1]), .h = two ? (int)x.dim[1] : 1,
        .w = (int)(two ? x.dim[2] : x.dim[0]),
        .cout = (int)arg_long(n, CONV_CHANNELS), .oh = two ? (int)y.dim[1] : 1,
        .ow = (int)(two ? y.dim[2] : y.dim[0]),
        .k = (int)k, .stride = (int)arg_long(n, CONV_STRIDE),
        .pad_before = (int)pad_before(n, k), .pad_after = (int)pad_after(n, k),
        .bias = n->nparam > 1, .need_dx = true, .need_dw = true,
    };
}

/* oneDNN's tensors and scratchpad (blas_dnnl.c) */
static size_t conv_work(const IrNode *n, const IrGraph *g, int batch)
{
    BlasConvShape s = conv_shape(g, n, batch);
    return blas_conv_floats(&s);
}

static void *conv_prepare(const OpCtx *c)
{
    BlasConvShape s = conv_shape(c->g, c->node, c->batch);
    s.need_dx = c->din[0] != NULL;
    s.dx_overwrite = c->din_overwrite[0];
    s.need_dw = c->dparam[P_W] != NULL;
    return blas_conv_make(&s, c->work, conv_work(c->node, c->g, c->batch));
}

static void conv_release(void *state)
{
    blas_conv_free(state);
}

static void conv_forward(const OpCtx *c)
{
    blas_conv_forward(c->state, c->in[0], c->param[P_W],
                      c->node->nparam > 1 ? c->param[P_B] : NULL, c->out);
}

static void conv_backward(const OpCtx *c)
{
    blas_conv_backward(c->state, c->dout, c->din[0], c->dparam[P_W],
                       c->node->nparam > 1 ? c->dparam[P_B] : NULL);
}

#define CONV_KERNELS(op) \
    .work_floats = conv_work, .prepare = conv_prepare, .release = conv_release, \
    .forward = conv_forward, .backward = conv_backward
#else
/* ---- float64 (vg gradcheck): im2col + GEMM ---- */

/* conv2d's GEMMs take the patches of several examples together until they
 * have about this many columns: a 7×7 map alone is a GEMM of 49 columns,
 * too narrow for BLAS to reach its speed. */
enum { GEMM_COLS = 1024 };

/* One conv2d node's geometry, in ints for BLAS (infer bounds every product). */
typedef struct Conv2 {
    int cin, h, w;        /* input [cin, h, w] */
    int cout, oh, ow;     /* output [cout, oh, ow] */
    int k, s, pad_h, pad_w;
    int ckk, npos;        /* rows of col (cin·k·k), positions of a map (oh·ow) */
    int nb;               /* examples per GEMM */
} Conv2;

static Conv2 conv2_of(const IrGraph *g, const IrNode *n, int batch)
{
    Shape x = in_shape(g, n);
    Conv2 v = {
        .cin = (int)x.dim[0], .h = (int)x.dim[1], .w = (int)x.dim[2],
        .cout = (int)n->shape.dim[0], .oh = (int)n->shape.dim[1], .ow = (int)n->shape.dim[2],
        .k = (int)arg_long(n, CONV_KERNEL), .s = (int)arg_long(n, CONV_STRIDE),
    };
    v.pad_h = v.pad_w = (int)pad_before(n, v.k);
    v.ckk = v.cin * v.k * v.k;
    v.npos = v.oh * v.ow;
    v.nb = v.npos >= GEMM_COLS ? 1 : GEMM_COLS / v.npos;
    if (v.nb > batch)
        v.nb = batch;
    return v;
}

/* col [ckk, nb·npos] for the patches, then (when nb > 1) a staging block
 * [cout, nb·npos] for Y or dY in the GEMM's channel-major order. */
static size_t conv2d_work(const IrNode *n, const IrGraph *g, int batch)
{
    Conv2 v = conv2_of(g, n, batch);
    size_t cols = (size_t)v.nb * (size_t)v.npos;
    return (size_t)v.ckk * cols + (v.nb > 1 ? (size_t)v.cout * cols : 0);
}

/* The outputs [lo, hi) of an axis of n_out whose input o·s + off lies in
 * [0, n). */
static void valid_range(int off, int s, int n, int n_out, int *lo, int *hi)
{
    *lo = off >= 0 ? 0 : (-off + s - 1) / s;
    *hi = n - off <= 0 ? 0 : (n - off + s - 1) / s;
    if (*hi > n_out)
        *hi = n_out;
    if (*lo > *hi)
        *lo = *hi;
}

/* One row of col: tap (c, kh, kw) of every output position. Its outputs
 * rows [r0, r1) read input rows r·s + kh − pad_h, and in them the columns
 * [lo, hi) read input columns o·s + off; the rest lie in the padding. */
typedef struct Tap {
    int r0, r1, lo, hi, off, row_off;
} Tap;

static Tap tap_of(const Conv2 *v, int kh, int kw)
{
    Tap t = {.off = kw - v->pad_w, .row_off = kh - v->pad_h};
    valid_range(t.row_off, v->s, v->h, v->oh, &t.r0, &t.r1);
    valid_range(t.off, v->s, v->w, v->ow, &t.lo, &t.hi);
    return t;
}

/* With stride 1 and as many output as input columns ("same" padding), a
 * tap's valid rows are one block of the input shifted by off: one copy,
 * then zeros over the columns that fell into the padding (they read a
 * neighbouring row's edge, or nothing at the ends of the block). */
static bool block_copy(const Conv2 *v)
{
    return v->s == 1 && v->ow == v->w;
}

/* Examples x[0..m) [cin, h, w], in_size apart → columns e·npos.. of col
 * (row r for tap r = (c·k + kh)·k + kw; rows ld apart). */
static void im2col(const Conv2 *v, const real *x, int m, size_t in_size, real *col, size_t ld)
{
    int ow = v->ow;
    for (int c = 0; c < v->cin; c++)
        for (int kh = 0; kh < v->k; kh++)
            for (int kw = 0; kw < v->k; kw++) {
                Tap t = tap_of(v, kh, kw);
                size_t top = (size_t)t.r0 * ow, bottom = (size_t)(v->oh - t.r1) * ow;
                size_t len = (size_t)(t.r1 - t.r0) * ow;
                /* entries [a, b) of the block read inside the plane */
                size_t a = t.off < 0 ? (size_t)-t.off : 0, after = t.off > 0 ? (size_t)t.off : 0;
                size_t b = len > after ? len - after : 0;
                for (int e = 0; e < m; e++) {
                    real *row = col + (size_t)((c * v->k + kh) * v->k + kw) * ld +
                                (size_t)e * v->npos;
                    const real *plane = x + (size_t)e * in_size + (size_t)c * v->h * v->w;
                    if (top)
                        memset(row, 0, sizeof *row * top);
                    if (bottom)
                        memset(row + (size_t)t.r1 * ow, 0, sizeof *row * bottom);
                    if (block_copy(v)) {
                        real *dst = row + top;
                        const real *src = plane + (size_t)(t.r0 + t.row_off) * v->w;
                        if (b > a)
                            memcpy(dst + a, src + a + t.off, sizeof *dst * (b - a));
                        for (int r = 0; r < t.r1 - t.r0; r++) {
                            for (int o = 0; o < t.lo; o++)
                                dst[(size_t)r * ow + o] = 0;
                            for (int o = t.hi; o < ow; o++)
                                dst[(size_t)r * ow + o] = 0;
                        }
                        continue;
                    }
                    for (int r = t.r0; r < t.r1; r++) {
                        real *restrict dst = row + (size_t)r * ow;
                        const real *restrict src = plane + (size_t)(r * v->s + t.row_off) * v->w;
                        for (int o = 0; o < t.lo; o++)
                            dst[o] = 0;
#pragma omp simd
                        for (int o = t.lo; o < t.hi; o++)
                            dst[o] = src[o * v->s + t.off];
                        for (int o = t.hi; o < ow; o++)
                            dst[o] = 0;
                    }
                }
            }
}

/* The adjoint of im2col: dx of examples [0..m) += each entry of col at the
 * input position it was copied from. Overwrites col's padding entries. */
static void col2im(const Conv2 *v, real *col, size_t ld, int m, size_t in_size, real *dx)
{
    int ow = v->ow;
    for (int c = 0; c < v->cin; c++)
        for (int kh = 0; kh < v->k; kh++)
            for (int kw = 0; kw < v->k; kw++) {
                Tap t = tap_of(v, kh, kw);
                size_t len = (size_t)(t.r1 - t.r0) * ow;
                /* entries [a, b) of the block read inside the plane */
                size_t a = t.off < 0 ? (size_t)-t.off : 0, after = t.off > 0 ? (size_t)t.off : 0;
                size_t b = len > after ? len - after : 0;
                for (int e = 0; e < m; e++) {
                    real *row = col + (size_t)((c * v->k + kh) * v->k + kw) * ld +
                                (size_t)e * v->npos;
                    real *plane = dx + (size_t)e * in_size + (size_t)c * v->h * v->w;
                    if (block_copy(v)) {  /* zero the padding columns, then one sum */
                        real *restrict src = row + (size_t)t.r0 * ow;
                        for (int r = 0; r < t.r1 - t.r0; r++) {
                            for (int o = 0; o < t.lo; o++)
                                src[(size_t)r * ow + o] = 0;
                            for (int o = t.hi; o < ow; o++)
                                src[(size_t)r * ow + o] = 0;
                        }
                        real *restrict dst = plane + (size_t)(t.r0 + t.row_off) * v->w;
#pragma omp simd
                        for (size_t i = a; i < b; i++)
                            dst[(ptrdiff_t)i + t.off] += src[i];
                        continue;
                    }
                    for (int r = t.r0; r < t.r1; r++) {
                        const real *restrict src = row + (size_t)r * ow;
                        real *restrict dst = plane + (size_t)(r * v->s + t.row_off) * v->w;
#pragma omp simd
                        for (int o = t.lo; o < t.hi; o++)
                            dst[o * v->s + t.off] += src[o];
                    }
                }
            }
}

static void conv2d_forward(const OpCtx *c)
{
    Conv2 v = conv2_of(c->g, c->node, c->batch);
    size_t in_size = (size_t)v.cin * v.h * v.w, out_size = (size_t)v.cout * v.npos;
    const real *bias = c->node->nparam > 1 ? c->param[P_B] : NULL;
    real *col = c->work, *stage = col + (size_t)v.ckk * v.nb * v.npos;
    for (int b0 = 0; b0 < c->batch; b0 += v.nb) {
        int m = c->batch - b0 < v.nb ? c->batch - b0 : v.nb;
        size_t ncols = (size_t)m * v.npos;
        im2col(&v, c->in[0] + (size_t)b0 * in_size, m, in_size, col, ncols);
        real *y = m == 1 ? c->out + (size_t)b0 * out_size : stage;
        blas_gemm(false, false, v.cout, (int)ncols, v.ckk, 1, c->param[P_W], v.ckk, col,
                  (int)ncols, 0, y, (int)ncols);
        if (m == 1 && !bias)
            continue;
        /* Y [cout, m·npos] → each example's [cout, npos], plus the bias */
        for (int e = 0; e < m; e++)
            for (int ch = 0; ch < v.cout; ch++) {
                const real *src = y + (size_t)ch * ncols + (size_t)e * v.npos;
                real *dst = c->out + (size_t)(b0 + e) * out_size + (size_t)ch * v.npos;
                real add = bias ? bias[ch] : 0;
#pragma omp simd
                for (int p = 0; p < v.npos; p++)
                    dst[p] = src[p] + add;
            }
    }
}

static void conv2d_backward(const OpCtx *c)
{
    Conv2 v = conv2_of(c->g, c->node, c->batch);
    size_t in_size = (size_t)v.cin * v.h * v.w, out_size = (size_t)v.cout * v.npos;
    real *db = c->node->nparam > 1 ? c->dparam[P_B] : NULL, *dw = c->dparam[P_W];
    real *dx = c->din[0];
    real *col = c->work, *stage = col + (size_t)v.ckk * v.nb * v.npos;
    if (dx && c->din_overwrite[0])
        memset(dx, 0, sizeof *dx * (size_t)c->batch * in_size);
    for (int b0 = 0; b0 < c->batch; b0 += v.nb) {
        int m = c->batch - b0 < v.nb ? c->batch - b0 : v.nb;
        size_t ncols = (size_t)m * v.npos;
        const real *dy = c->dout + (size_t)b0 * out_size;
        if (m > 1) {  /* each example's [cout, npos] → dY [cout, m·npos] */
            for (int e = 0; e < m; e++)
                for (int ch = 0; ch < v.cout; ch++)
                    memcpy(stage + (size_t)ch * ncols + (size_t)e * v.npos,
                           dy + (size_t)e * out_size + (size_t)ch * v.npos,
                           sizeof *stage * (size_t)v.npos);
            dy = stage;
        }
        if (db)
            for (int ch = 0; ch < v.cout; ch++) {
                const real *row = dy + (size_t)ch * ncols;
                real s = 0;
#pragma omp simd reduction(+ : s)
                for (size_t p = 0; p < ncols; p++)
                    s += row[p];
                db[ch] += s;
            }
        if (dw) {  /* dW += dY · colᵀ */
            im2col(&v, c->in[0] + (size_t)b0 * in_size, m, in_size, col, ncols);
            blas_gemm(false, true, v.cout, v.ckk, (int)ncols, 1, dy, (int)ncols, col,
                      (int)ncols, 1, dw, v.ckk);
        }
        if (dx) {  /* dcol = Wᵀ · dY, added back to the positions it came from */
            blas_gemm(true, false, v.ckk, (int)ncols, v.cout, 1, c->param[P_W], v.ckk, dy,
                      (int)ncols, 0, col, (int)ncols);
            col2im(&v, col, ncols, m, in_size, dx + (size_t)b0 * in_size);
        }
    }
}

typedef struct Conv1 {
    int t, f;        /* input [t, f] */
    int ot, cout;    /* output [ot, cout] */
    int k, s, pad;
    int kf;          /* a patch: k·f */
} Conv1;

static Conv1 conv1_of(const IrGraph *g, const IrNode *n)
{
    Shape x = in_shape(g, n);
    Conv1 v = {
        .t = (int)x.dim[0], .f = (int)x.dim[1],
        .ot = (int)n->shape.dim[0], .cout = (int)n->shape.dim[1],
        .k = (int)arg_long(n, CONV_KERNEL), .s = (int)arg_long(n, CONV_STRIDE),
    };
    v.pad = (int)pad_before(n, v.k);
    v.kf = v.k * v.f;
    return v;
}

/* rows [batch·T', k·F]: the patches, then in the backward pass their gradient. */
static size_t conv1d_work(const IrNode *n, const IrGraph *g, int batch)
{
    Conv1 v = conv1_of(g, n);
    return (size_t)batch * (size_t)v.ot * (size_t)v.kf;
}

static void conv1d_forward(const OpCtx *c)
{
    Conv1 v = conv1_of(c->g, c->node);
    size_t steps = (size_t)c->batch * (size_t)v.ot;
    real *rows = c->work;
    for (int b = 0; b < c->batch; b++)
        for (int o = 0; o < v.ot; o++) {
            real *row = rows + ((size_t)b * v.ot + (size_t)o) * v.kf;
            int t0 = o * v.s - v.pad;  /* the patch's first step */
            int lo = t0 < 0 ? -t0 : 0, hi = t0 + v.k > v.t ? v.t - t0 : v.k;
            if (hi < lo)
                hi = lo;
            memset(row, 0, sizeof *row * (size_t)lo * v.f);
            memcpy(row + (size_t)lo * v.f, c->in[0] + ((size_t)b * v.t + (size_t)(t0 + lo)) * v.f,
                   sizeof *row * (size_t)(hi - lo) * v.f);
            memset(row + (size_t)hi * v.f, 0, sizeof *row * (size_t)(v.k - hi) * v.f);
        }
    real *y = c->out;
    real beta = 0;
    if (c->node->nparam > 1) {  /* Y = b broadcast, then the GEMM adds rows · Wᵀ */
        for (size_t i = 0; i < steps; i++)
            memcpy(y + i * v.cout, c->param[P_B], sizeof *y * (size_t)v.cout);
        beta = 1;
    }
    blas_gemm(false, true, (int)steps, v.cout, v.kf, 1, rows, v.kf, c->param[P_W], v.kf, beta,
              y, v.cout);
}

/* Uses the forward pass's rows for dW, then overwrites them with their
 * gradient: a backward pass runs once per forward pass. */
static void conv1d_backward(const OpCtx *c)
{
    Conv1 v = conv1_of(c->g, c->node);
    size_t steps = (size_t)c->batch * (size_t)v.ot;
    const real *dy = c->dout;
    real *rows = c->work;
    if (c->dparam[P_W])  /* dW += dYᵀ · rows */
        blas_gemm(true, false, v.cout, v.kf, (int)steps, 1, dy, v.cout, rows, v.kf, 1,
                  c->dparam[P_W], v.kf);
    if (c->node->nparam > 1 && c->dparam[P_B]) {
        real *db = c->dparam[P_B];
        for (size_t i = 0; i < steps; i++) {
            const real *row = dy + i * v.cout;
#pragma omp simd
            for (int j = 0; j < v.cout; j++)
                db[j] += row[j];
        }
    }
    real *dx = c->din[0];
    if (!dx)
        return;
    blas_gemm(false, false, (int)steps, v.kf, v.cout, 1, dy, v.cout, c->param[P_W], v.kf, 0,
              rows, v.kf);  /* drows = dY · W */
    if (c->din_overwrite[0])
        memset(dx, 0, sizeof *dx * (size_t)c->batch * v.t * v.f);
    for (int b = 0; b < c->batch; b++)
        for (int o = 0; o < v.ot; o++) {
            const real *row = rows + ((size_t)b * v.ot + (size_t)o) * v.kf;
            int t0 = o * v.s - v.pad;
            int lo = t0 < 0 ? -t0 : 0, hi = t0 + v.k > v.t ? v.t - t0 : v.k;
            if (hi <= lo)
                continue;
            real *dst = dx + ((size_t)b * v.t + (size_t)(t0 + lo)) * v.f;
            const real *src = row + (size_t)lo * v.f;
            size_t len = (size_t)(hi - lo) * v.f;
#pragma omp simd
            for (size_t i = 0; i < len; i++)
                dst[i] += src[i];
        }
}

#define CONV_KERNELS(op) \
    .work_floats = op##_work, .forward = op##_forward, .backward = op##_backward
#endif

const OpDef REAL_NAME(op_conv2d) = {
    .name = "conv2d",
    .sig = "x:T channels:I kernel:I stride:I=1 padding:?=\"same\" init:Z=xavier_uniform "
           "bias:B=true",
    .doc = "2-D convolution [C, H, W] -> [channels, H', W'], k×k kernels",
    .kind = OPK_LAYER,
    .ranks = OP_RANK(3),
    .infer = conv2d_infer,
    CONV_KERNELS(conv2d),
};

const OpDef REAL_NAME(op_conv1d) = {
    .name = "conv1d",
    .sig = "x:T channels:I kernel:I stride:I=1 padding:?=\"same\" init:Z=xavier_uniform "
           "bias:B=true",
    .doc = "1-D convolution over time [T, F] -> [T', channels], kernels of k steps",
    .kind = OPK_LAYER,
    .ranks = OP_RANK(2),
    .infer = conv1d_infer,
    CONV_KERNELS(conv1d),
};

/* ---- global_avg_pool(x): [C, H, W] → [C], [T, F] → [F] ---- */

static bool global_avg_pool_infer(IrGraph *g, int node, DiagSink *d)
{
    (void)d;
    IrNode *n = &g->nodes[node];
    Shape x = in_shape(g, n);
    n->shape = shape1(x.rank == 3 ? x.dim[0] : x.dim[1]);
    return true;
}

/* An example as [outer, inner] floats, averaged over the `over` axis: on
 * [C, H, W] each channel's H·W contiguous positions (inner = 1), on [T, F]
 * the T steps of each feature (outer = 1, inner = F). */
static void pool_dims(const OpCtx *c, size_t *chan, size_t *over, size_t *cstride,
                      size_t *ostride)
{
    Shape x = in_shape(c->g, c->node);
    *chan = (size_t)c->node->shape.dim[0];
    *over = shape_size(x) / *chan;
    *cstride = x.rank == 3 ? *over : 1;
    *ostride = x.rank == 3 ? 1 : *chan;
}

static void global_avg_pool_forward(const OpCtx *c)
{
    size_t chan, over, cs, os;
    pool_dims(c, &chan, &over, &cs, &os);
    for (size_t b = 0; b < (size_t)c->batch; b++) {
        const real *x = c->in[0] + b * chan * over;
        real *y = c->out + b * chan;
        for (size_t ch = 0; ch < chan; ch++) {
            real s = 0;
            for (size_t i = 0; i < over; i++)
                s += x[ch * cs + i * os];
            y[ch] = s / (real)over;
        }
    }
}

static void global_avg_pool_backward(const OpCtx *c)
{
    real *dx = c->din[0];
    if (!dx)
        return;
    size_t chan, over, cs, os;
    pool_dims(c, &chan, &over, &cs, &os);
    real keep = op_din_keep(c, 0);
    for (size_t b = 0; b < (size_t)c->batch; b++) {
        real *d = dx + b * chan * over;
        for (size_t ch = 0; ch < chan; ch++) {
            real g = c->dout[b * chan + ch] / (real)over;
            for (size_t i = 0; i < over; i++) {
                real *at = &d[ch * cs + i * os];
                *at = op_din_old(keep, *at) + g;
            }
        }
    }
}

const OpDef REAL_NAME(op_global_avg_pool) = {
    .name = "global_avg_pool",
    .sig = "x:T",
    .doc = "the mean over positions: [C, H, W] -> [C], [T, F] -> [F] (Lin et al. 2014)",
    .kind = OPK_TENSOR,
    .ranks = OP_RANK(2) | OP_RANK(3),
    .infer = global_avg_pool_infer,
    .forward = global_avg_pool_forward,
    .backward = global_avg_pool_backward,
};

/* ---- flatten(x): any shape → [size] ---- */

static bool flatten_infer(IrGraph *g, int node, DiagSink *d)
{
    (void)d;
    IrNode *n = &g->nodes[node];
    n->shape = shape1((long)shape_size(in_shape(g, n)));
    return true;
}

/* Row-major, an example's entries are already in flattened order. */
static void flatten_forward(const OpCtx *c)
{
    memcpy(c->out, c->in[0], sizeof *c->out * (size_t)c->batch * shape_size(c->node->shape));
}

static void flatten_backward(const OpCtx *c)
{
    real *dx = c->din[0];
    if (!dx)
        return;
    size_t n = (size_t)c->batch * shape_size(c->node->shape);
    real keep = op_din_keep(c, 0);
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        dx[i] = op_din_old(keep, dx[i]) + c->dout[i];
}

const OpDef REAL_NAME(op_flatten) = {
    .name = "flatten",
    .sig = "x:T",
    .doc = "the entries of an example in row-major order: any shape -> [size]",
    .kind = OPK_TENSOR,
    .ranks = OP_RANKS_ANY,
    .infer = flatten_infer,
    .forward = flatten_forward,
    .backward = flatten_backward,
};
