/* tensor.c — tensor ops without parameters: x + y, x - y, x * y, scale
 * (number * x), concat, softmax, dropout, last.
 *
 * The elementwise binary ops take operands of the op's shape; there is no
 * broadcasting, so a shape mismatch (a residual sum around a layer that
 * changed the width) is an error at elaboration, not a silent broadcast.
 * concat works on the last dimension, every leading dimension (time)
 * being rows like the batch; softmax on any axis, the last by default. */
#include "vg/ops.h"

#include <math.h>
#include <string.h>
#include "vg/rng.h"

static Shape in_shape(const IrGraph *g, const IrNode *n, int i)
{
    return g->nodes[n->in[i]].shape;
}

static size_t elems(const OpCtx *c)
{
    return (size_t)c->batch * shape_size(c->node->shape);
}

/* Rows (batch times leading dimensions) and the last dimension of shape s. */
static void rows_cols(const OpCtx *c, Shape s, size_t *rows, size_t *cols)
{
    *cols = (size_t)s.dim[s.rank - 1];
    *rows = (size_t)c->batch * (shape_size(s) / *cols);
}

/* ---- elementwise: +, -, * ---- */

static bool same_shape_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    Shape x = in_shape(g, n, 0), y = in_shape(g, n, 1);
    if (!shape_eq(x, y)) {
        char a[96], b[96];
        return diag_error(d, n->span, "'%s' needs equal shapes, got %s and %s",
                          op_def(n->op)->name, shape_str(x, a, sizeof a),
                          shape_str(y, b, sizeof b));
    }
    n->shape = x;
    return true;
}

/* out = x + y */
static void add_forward(const OpCtx *c)
{
    const real *x = c->in[0], *y = c->in[1];
    real *out = c->out;
    size_t n = elems(c);
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        out[i] = x[i] + y[i];
}

/* dx += s·dout for operand k (s = ±1); x + x accumulates twice into the
 * same buffer, as it must. */
static void pass_grad(const OpCtx *c, int k, real s)
{
    real *dx = c->din[k];
    if (!dx)
        return;
    const real *dout = c->dout;
    real keep = op_din_keep(c, k);
    size_t n = elems(c);
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        dx[i] = op_din_old(keep, dx[i]) + s * dout[i];
}

/* dx += dout, dy += dout */
static void add_backward(const OpCtx *c)
{
    pass_grad(c, 0, 1);
    pass_grad(c, 1, 1);
}

const OpDef REAL_NAME(op_add) = {
    .name = "+",
    .sig = "x:T y:T",
    .doc = "elementwise sum of two tensors of one shape",
    .kind = OPK_TENSOR,
    .ranks = OP_RANKS_ANY,
    .infer = same_shape_infer,
    .forward = add_forward,
    .backward = add_backward,
};

/* out = x − y */
static void sub_forward(const OpCtx *c)
{
    const real *x = c->in[0], *y = c->in[1];
    real *out = c->out;
    size_t n = elems(c);
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        out[i] = x[i] - y[i];
}

/* dx += dout, dy −= dout */
static void sub_backward(const OpCtx *c)
{
    pass_grad(c, 0, 1);
    pass_grad(c, 1, -1);
}

const OpDef REAL_NAME(op_sub) = {
    .name = "-",
    .sig = "x:T y:T",
    .doc = "elementwise difference of two tensors of one shape",
    .kind = OPK_TENSOR,
    .ranks = OP_RANKS_ANY,
    .infer = same_shape_infer,
    .forward = sub_forward,
    .backward = sub_backward,
};

/* out = x ⊙ y (gates) */
static void mul_forward(const OpCtx *c)
{
    const real *x = c->in[0], *y = c->in[1];
    real *out = c->out;
    size_t n = elems(c);
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        out[i] = x[i] * y[i];
}

/* dx += dout ⊙ y, dy += dout ⊙ x (x * x gives 2x·dout) */
static void mul_backward(const OpCtx *c)
{
    for (int k = 0; k < 2; k++) {
        real *dx = c->din[k];
        const real *other = c->in[1 - k];
        if (!dx)
            continue;
        const real *dout = c->dout;
        real keep = op_din_keep(c, k);
        size_t n = elems(c);
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            dx[i] = op_din_old(keep, dx[i]) + dout[i] * other[i];
    }
}

const OpDef REAL_NAME(op_mul) = {
    .name = "*",
    .sig = "x:T y:T",
    .doc = "elementwise product of two tensors of one shape",
    .kind = OPK_TENSOR,
    .ranks = OP_RANKS_ANY,
    .infer = same_shape_infer,
    .forward = mul_forward,
    .backward = mul_backward,
};

/* ---- scale: number * x, x / number, -x ---- */

enum { SCALE_X, SCALE_FACTOR };

static bool unary_infer(IrGraph *g, int node, DiagSink *d)
{
    (void)d;
    IrNode *n = &g->nodes[node];
    n->shape = in_shape(g, n, 0);
    return true;
}

/* out = k·x */
static void scale_forward(const OpCtx *c)
{
    real k = (real)ir_arg_num(c->node, SCALE_FACTOR);
    const real *x = c->in[0];
    for (size_t i = 0, n = elems(c); i < n; i++)
        c->out[i] = k * x[i];
}

/* dx += k·dout */
static void scale_backward(const OpCtx *c)
{
    pass_grad(c, 0, (real)ir_arg_num(c->node, SCALE_FACTOR));
}

const OpDef REAL_NAME(op_scale) = {
    .name = "scale",
    .sig = "x:T factor:N",
    .doc = "a tensor times a number",
    .kind = OPK_TENSOR,
    .ranks = OP_RANKS_ANY,
    .infer = unary_infer,
    .forward = scale_forward,
    .backward = scale_backward,
};

/* ---- concat(a, b, …) along the last dimension ---- */

static bool concat_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    Shape first = in_shape(g, n, 0), out = first;
    out.dim[out.rank - 1] = 0;
    for (int k = 0; k < n->nin; k++) {
        Shape s = in_shape(g, n, k), lead = s, lead0 = first;
        lead.dim[s.rank - 1] = lead0.dim[first.rank - 1] = 1;
        if (s.rank != first.rank || !shape_eq(lead, lead0)) {
            char a[96], b[96];
            return diag_error(d, n->span, "concat needs shapes that differ only in the last "
                              "dimension, got %s and %s", shape_str(first, a, sizeof a),
                              shape_str(s, b, sizeof b));
        }
        out.dim[out.rank - 1] += s.dim[s.rank - 1];
    }
    n->shape = out;  /* ir_add_node checks the size */
    return true;
}

/* Copies each input's rows into its column block of the output (forward),
 * or accumulates the output gradient's blocks into the inputs' (backward). */
static void concat_blocks(const OpCtx *c, bool backward)
{
    size_t rows, width;
    rows_cols(c, c->node->shape, &rows, &width);
    size_t off = 0;
    for (int k = 0; k < c->node->nin; k++) {
        size_t w = (size_t)in_shape(c->g, c->node, k).dim[c->node->shape.rank - 1];
        for (size_t r = 0; r < rows; r++) {
            if (!backward) {
                memcpy(c->out + r * width + off, c->in[k] + r * w, w * sizeof(real));
            } else if (c->din[k]) {
                real *dx = c->din[k] + r * w;
                for (size_t j = 0; j < w; j++)
                    dx[j] = op_din_old(op_din_keep(c, k), dx[j]) + c->dout[r * width + off + j];
            }
        }
        off += w;
    }
}

static void concat_forward(const OpCtx *c)
{
    concat_blocks(c, false);
}

/* dx_k += the k-th column block of dout */
static void concat_backward(const OpCtx *c)
{
    concat_blocks(c, true);
}

const OpDef REAL_NAME(op_concat) = {
    .name = "concat",
    .sig = "x:*",
    .doc = "joins tensors along their last axis",
    .kind = OPK_TENSOR,
    .ranks = OP_RANKS_ANY,
    .infer = concat_infer,
    .forward = concat_forward,
    .backward = concat_backward,
};

/* ---- softmax(x, axis = -1) ---- */

enum { SOFTMAX_X, SOFTMAX_AXIS };

/* The axis as an index from 0, for a shape of rank r. */
static int softmax_axis(const IrNode *n)
{
    int axis = (int)ir_arg_num(n, SOFTMAX_AXIS);
    return axis < 0 ? n->shape.rank + axis : axis;
}

static bool softmax_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    Shape x = in_shape(g, n, 0);
    double axis = ir_arg_num(n, SOFTMAX_AXIS);
    if (axis < -x.rank || axis >= x.rank) {
        char a[96];
        return diag_error(d, n->span, "softmax needs an axis from %d to %d for a %s input, "
                          "got %s", -x.rank, x.rank - 1, shape_str(x, a, sizeof a),
                          DIAG_NUM(axis));
    }
    n->shape = x;
    return true;
}

/* The node's entries as groups along the axis: `groups` of `len` entries,
 * `stride` apart; group k starts at (k / stride)·len·stride + k % stride
 * (the dimensions before the axis, the batch included, times those after). */
typedef struct Lanes {
    size_t groups, len, stride;
} Lanes;

static Lanes softmax_lanes(const OpCtx *c)
{
    Shape s = c->node->shape;
    int axis = softmax_axis(c->node);
    Lanes l = {.len = (size_t)s.dim[axis], .stride = 1};
    for (int i = axis + 1; i < s.rank; i++)
        l.stride *= (size_t)s.dim[i];
    l.groups = elems(c) / l.len;
    return l;
}

static size_t lane_start(Lanes l, size_t k)
{
    return k / l.stride * l.len * l.stride + k % l.stride;
}

/* y_k = e^{z_k − max z} / Σ_j e^{z_j − max z}: shifting by the maximum keeps
 * every exponential ≤ 1 and changes nothing else. */
static void softmax_forward(const OpCtx *c)
{
    Lanes l = softmax_lanes(c);
    size_t k = l.len, st = l.stride;
    for (size_t r = 0; r < l.groups; r++) {
        const real *z = c->in[0] + lane_start(l, r);
        real *y = c->out + lane_start(l, r);
        real max = z[0];
        for (size_t j = 1; j < k; j++)
            max = z[j * st] > max ? z[j * st] : max;
        double sum = 0;
        for (size_t j = 0; j < k; j++)
            sum += y[j * st] = real_exp(z[j * st] - max);
        for (size_t j = 0; j < k; j++)
            y[j * st] = (real)(y[j * st] / sum);
    }
}

/* dz_k += y_k (dy_k − Σ_j dy_j y_j), the softmax Jacobian diag(y) − y·yᵀ */
static void softmax_backward(const OpCtx *c)
{
    real *dz = c->din[0];
    if (!dz)
        return;
    real keep = op_din_keep(c, 0);
    Lanes l = softmax_lanes(c);
    size_t k = l.len, st = l.stride;
    for (size_t r = 0; r < l.groups; r++) {
        size_t at = lane_start(l, r);
        const real *y = c->out + at, *dy = c->dout + at;
        real *dzr = dz + at;
        double dot = 0;
        for (size_t j = 0; j < k; j++)
            dot += (double)dy[j * st] * y[j * st];
        for (size_t j = 0; j < k; j++)
            dzr[j * st] = op_din_old(keep, dzr[j * st]) + y[j * st] * (dy[j * st] - (real)dot);
    }
}

const OpDef REAL_NAME(op_softmax) = {
    .name = "softmax",
    .sig = "x:T axis:I=-1",
    .doc = "softmax along an axis (default the last)",
    .kind = OPK_TENSOR,
    .ranks = OP_RANKS_ANY,
    .infer = softmax_infer,
    .forward = softmax_forward,
    .backward = softmax_backward,
};

/* ---- dropout(x, rate): inverted dropout (Srivastava et al. 2014) ---- */

enum { DROPOUT_X, DROPOUT_RATE };

static bool dropout_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    double rate = ir_arg_num(n, DROPOUT_RATE);
    if (!(rate >= 0 && rate < 1))
        return diag_error(d, n->span, "dropout needs a rate of at least 0 and below 1, got %s",
                          DIAG_NUM(rate));
    n->shape = in_shape(g, n, 0);
    return true;
}

/* The mask, kept from forward to backward. */
static size_t dropout_work(const IrNode *n, const IrGraph *g, int batch)
{
    (void)g;
    return (size_t)batch * shape_size(n->shape);
}

/* Training: each unit is kept with probability p = 1 − rate and scaled by
 * 1/p, so that E[out] = x and evaluation needs no rescaling; the mask m ∈
 * {0, 1/p} comes from the executor's dropout stream. Evaluating: out = x. */
static void dropout_forward(const OpCtx *c)
{
    const real *x = c->in[0];
    size_t n = elems(c);
    if (c->mode != EXEC_TRAIN) {
        memcpy(c->out, x, n * sizeof *x);
        return;
    }
    double keep = 1 - ir_arg_num(c->node, DROPOUT_RATE);
    real scale = (real)(1 / keep);
    for (size_t i = 0; i < n; i++) {
        c->work[i] = rng_uniform(c->rng) < keep ? scale : 0;
        c->out[i] = x[i] * c->work[i];
    }
}

/* dx += dout ⊙ m (training), dx += dout (probing, evaluating) */
static void dropout_backward(const OpCtx *c)
{
    real *dx = c->din[0];
    if (!dx)
        return;
    real keep = op_din_keep(c, 0);
    for (size_t i = 0, n = elems(c); i < n; i++)
        dx[i] = op_din_old(keep, dx[i]) +
                (c->mode == EXEC_TRAIN ? c->dout[i] * c->work[i] : c->dout[i]);
}

const OpDef REAL_NAME(op_dropout) = {
    .name = "dropout",
    .sig = "x:T rate:N",
    .doc = "inverted dropout: keeps each unit with probability 1 - rate while training",
    .kind = OPK_TENSOR,
    .ranks = OP_RANKS_ANY,
    .infer = dropout_infer,
    .work_floats = dropout_work,
    .forward = dropout_forward,
    .backward = dropout_backward,
};

/* ---- last(x): the final time step, [T, F] → [F] ---- */

/* The input is [T, F] (ir_add_node checks the rank). */
static bool last_infer(IrGraph *g, int node, DiagSink *d)
{
    (void)d;
    IrNode *n = &g->nodes[node];
    n->shape = shape1(in_shape(g, n, 0).dim[1]);
    return true;
}

/* out[b] = x[b, T − 1] */
static void last_forward(const OpCtx *c)
{
    size_t step = shape_size(c->node->shape), t = (size_t)in_shape(c->g, c->node, 0).dim[0];
    for (size_t b = 0; b < (size_t)c->batch; b++)
        memcpy(c->out + b * step, c->in[0] + (b * t + t - 1) * step, step * sizeof(real));
}

/* dx[b, T − 1] += dout[b]; the other steps get nothing (zeros, when this
 * kernel writes dx first) */
static void last_backward(const OpCtx *c)
{
    real *dx = c->din[0];
    if (!dx)
        return;
    size_t step = shape_size(c->node->shape), t = (size_t)in_shape(c->g, c->node, 0).dim[0];
    if (c->din_overwrite[0])
        memset(dx, 0, (size_t)c->batch * t * step * sizeof *dx);
    for (size_t b = 0; b < (size_t)c->batch; b++)
        for (size_t j = 0; j < step; j++)
            dx[(b * t + t - 1) * step + j] += c->dout[b * step + j];
}

const OpDef REAL_NAME(op_last) = {
    .name = "last",
    .sig = "x:T",
    .doc = "the last time step of a sequence: [T, F] -> [F]",
    .kind = OPK_TENSOR,
    .ranks = OP_RANK(2),
    .infer = last_infer,
    .forward = last_forward,
    .backward = last_backward,
};
