/* loss.c — training losses: (prediction, target) -> one number, the mean.
 *
 * cross_entropy: softmax over the last dimension of the logits, against
 * class indices stored as floats; logits [C] take targets [1], logits
 * [T, C] (a sequence) take targets [T], and the loss is the mean over the
 * batch and the time steps of −log softmax(z)_y. mse: the mean over every
 * element (batch, time and features) of (y − t)². Targets are data: no
 * gradient flows into them. */
#include "vg/ops.h"

#include <math.h>

enum { LOSS_PRED, LOSS_TARGET };

static Shape in_shape(const IrGraph *g, const IrNode *n, int i)
{
    return g->nodes[n->in[i]].shape;
}

static bool cross_entropy_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    Shape z = in_shape(g, n, LOSS_PRED), t = in_shape(g, n, LOSS_TARGET);
    char a[96], b[96], c[96];
    Shape want = shape1(z.rank == 1 ? 1 : z.dim[0]);
    if (!shape_eq(t, want))
        return diag_error(d, n->span,
                          "cross_entropy on logits %s needs class targets %s, got %s",
                          shape_str(z, a, sizeof a), shape_str(want, b, sizeof b),
                          shape_str(t, c, sizeof c));
    n->shape = (Shape){.rank = 0};
    return true;
}

/* The softmax probabilities, saved by forward for backward. */
static size_t cross_entropy_work(const IrNode *n, const IrGraph *g, int batch)
{
    return (size_t)batch * shape_size(in_shape(g, n, LOSS_PRED));
}

/* Rows (batch × time steps) and classes. */
static void ce_dims(const OpCtx *c, size_t *rows, int *classes)
{
    Shape z = in_shape(c->g, c->node, LOSS_PRED);
    *classes = (int)z.dim[z.rank - 1];
    *rows = (size_t)c->batch * (z.rank == 2 ? (size_t)z.dim[0] : 1);
}

/* A target that is not a class index gives NaN, which training reports as
 * a non-finite loss instead of reading out of bounds. */
static int class_of(real t, int classes)
{
    return t >= 0 && t < classes && t == (int)t ? (int)t : -1;
}

/* L = (1/R) Σ_r [log Σ_k e^{z_rk} − z_ry], with the log-sum-exp shifted by
 * max_k z_rk so that no exponential overflows; p_rk = e^{z_rk − lse_r}. */
static void cross_entropy_forward(const OpCtx *c)
{
    size_t rows;
    int classes;
    ce_dims(c, &rows, &classes);
    double total = 0;
    for (size_t r = 0; r < rows; r++) {
        const real *z = c->in[LOSS_PRED] + r * classes;
        real *p = c->work + r * classes;
        real max = z[0];
        for (int k = 1; k < classes; k++)
            max = z[k] > max ? z[k] : max;
        double sum = 0;
        for (int k = 0; k < classes; k++)
            sum += p[k] = real_exp(z[k] - max);
        for (int k = 0; k < classes; k++)
            p[k] = (real)(p[k] / sum);
        int y = class_of(c->in[LOSS_TARGET][r], classes);
        total += y < 0 ? NAN : max + log(sum) - z[y];
    }
    c->out[0] = (real)(total / (double)rows);
}

/* dz_rk += dL · (p_rk − [k = y_r]) / R */
static void cross_entropy_backward(const OpCtx *c)
{
    size_t rows;
    int classes;
    ce_dims(c, &rows, &classes);
    real *dz = c->din[LOSS_PRED];
    if (!dz)
        return;
    real scale = c->dout[0] / (real)rows;
    real keep = op_din_keep(c, LOSS_PRED);
    for (size_t r = 0; r < rows; r++) {
        const real *p = c->work + r * classes;
        real *dzr = dz + r * classes;
        for (int k = 0; k < classes; k++)
            dzr[k] = op_din_old(keep, dzr[k]) + scale * p[k];
        int y = class_of(c->in[LOSS_TARGET][r], classes);
        if (y >= 0)
            dzr[y] -= scale;
    }
}

const OpDef REAL_NAME(op_cross_entropy) = {
    .name = "cross_entropy",
    .sig = "logits:T target:T",
    .doc = "softmax cross-entropy of logits against class targets, averaged over the batch",
    .kind = OPK_LOSS,
    .ranks = OP_RANK(1) | OP_RANK(2),
    .infer = cross_entropy_infer,
    .work_floats = cross_entropy_work,
    .forward = cross_entropy_forward,
    .backward = cross_entropy_backward,
};

/* ---- mse ---- */
/* (mse_elems is shared with bce: both average over every element.) */

static bool mse_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    Shape y = in_shape(g, n, LOSS_PRED), t = in_shape(g, n, LOSS_TARGET);
    if (!shape_eq(y, t)) {
        char a[96], b[96];
        return diag_error(d, n->span, "mse needs targets of the output's shape %s, got %s",
                          shape_str(y, a, sizeof a), shape_str(t, b, sizeof b));
    }
    n->shape = (Shape){.rank = 0};
    return true;
}

static size_t mse_elems(const OpCtx *c)
{
    return (size_t)c->batch * shape_size(in_shape(c->g, c->node, LOSS_PRED));
}

/* L = (1/N) Σ_i (y_i − t_i)² over all N elements of the batch */
static void mse_forward(const OpCtx *c)
{
    const real *y = c->in[LOSS_PRED], *t = c->in[LOSS_TARGET];
    size_t n = mse_elems(c);
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += (double)(y[i] - t[i]) * (y[i] - t[i]);
    c->out[0] = (real)(total / (double)n);
}

/* dy_i += dL · 2(y_i − t_i) / N */
static void mse_backward(const OpCtx *c)
{
    const real *y = c->in[LOSS_PRED], *t = c->in[LOSS_TARGET];
    real *dy = c->din[LOSS_PRED];
    if (!dy)
        return;
    size_t n = mse_elems(c);
    real scale = 2 * c->dout[0] / (real)n;
    real keep = op_din_keep(c, LOSS_PRED);
    for (size_t i = 0; i < n; i++)
        dy[i] = op_din_old(keep, dy[i]) + scale * (y[i] - t[i]);
}

const OpDef REAL_NAME(op_mse) = {
    .name = "mse",
    .sig = "prediction:T target:T",
    .doc = "mean squared error of the prediction against real-valued targets",
    .kind = OPK_LOSS,
    .ranks = OP_RANKS_ANY,
    .infer = mse_infer,
    .forward = mse_forward,
    .backward = mse_backward,
};

/* ---- bce ---- */

static bool bce_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    Shape z = in_shape(g, n, LOSS_PRED), t = in_shape(g, n, LOSS_TARGET);
    if (!shape_eq(z, t)) {
        char a[96], b[96];
        return diag_error(d, n->span, "bce needs one target in [0, 1] per logit: "
                          "targets of shape %s, got %s",
                          shape_str(z, a, sizeof a), shape_str(t, b, sizeof b));
    }
    n->shape = (Shape){.rank = 0};
    return true;
}

/* Binary cross-entropy on logits, L = (1/N) Σ_i [max(z,0) − z·t + log(1 + e^{−|z|})],
 * the form of −t·log σ(z) − (1−t)·log(1−σ(z)) that neither overflows nor
 * loses precision for large |z|. */
static void bce_forward(const OpCtx *c)
{
    const real *z = c->in[LOSS_PRED], *t = c->in[LOSS_TARGET];
    size_t n = mse_elems(c);
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += fmax(z[i], 0) - (double)z[i] * t[i] + log1p(exp(-fabs((double)z[i])));
    c->out[0] = (real)(total / (double)n);
}

/* dz_i += dL · (σ(z_i) − t_i) / N */
static void bce_backward(const OpCtx *c)
{
    const real *z = c->in[LOSS_PRED], *t = c->in[LOSS_TARGET];
    real *dz = c->din[LOSS_PRED];
    if (!dz)
        return;
    size_t n = mse_elems(c);
    real scale = c->dout[0] / (real)n;
    real keep = op_din_keep(c, LOSS_PRED);
    for (size_t i = 0; i < n; i++)
        dz[i] = op_din_old(keep, dz[i]) + scale * (1.0f / (1.0f + real_exp(-z[i])) - t[i]);
}

const OpDef REAL_NAME(op_bce) = {
    .name = "bce",
    .sig = "logits:T target:T",
    .doc = "binary cross-entropy of logits against 0/1 targets, averaged",
    .kind = OPK_LOSS,
    .ranks = OP_RANKS_ANY,
    .infer = bce_infer,
    .forward = bce_forward,
    .backward = bce_backward,
};
