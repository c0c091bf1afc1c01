/* norm.c — normalisation layers: batchnorm and layernorm.
 *
 * Both standardise groups of their input, x̂ = (x − μ)/√(σ² + ε), and apply
 * a learnable gain and shift per feature, y = γ ⊙ x̂ + β (γ initialised to 1,
 * β to 0). They differ in the groups:
 *   batchnorm (Ioffe & Szegedy 2015, Alg. 1): per feature, over the batch
 *     and, on a [T, F] input, the time steps too (every row of [batch·T, F]);
 *   layernorm (Ba et al. 2016, eq. 4): per row (one example, one time step),
 *     over its F features.
 * σ² is the biased (population) variance of the group. Both save x̂ and
 * 1/√(σ² + ε) in work for the backward pass, whose gradient through the
 * statistics is, per group of n values (the same references):
 *   dx = (1/√(σ² + ε)) · (g − mean(g) − x̂ · mean(g ⊙ x̂)),   g = γ ⊙ dy. */
#include "vg/ops.h"

#include <math.h>

enum { NORM_X };
enum { BN_MOMENTUM = 1, BN_EPS };
enum { LN_EPS = 1 };
enum { P_GAMMA, P_BETA, P_RUNNING_MEAN, P_RUNNING_VAR };

static Shape in_shape(const IrGraph *g, const IrNode *n)
{
    return g->nodes[n->in[NORM_X]].shape;
}

/* Rows (batch × time steps) and features of the node's input. */
static void dims(const OpCtx *c, size_t *rows, size_t *feat)
{
    Shape x = in_shape(c->g, c->node);
    *feat = (size_t)x.dim[x.rank - 1];
    *rows = (size_t)c->batch * (shape_size(x) / *feat);
}

/* Checks eps, declares γ and β over the last dimension, sets the shape. */
static bool norm_infer_common(IrGraph *g, int node, int eps_slot, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    const char *name = op_def(n->op)->name;
    Shape x = in_shape(g, n);
    double eps = ir_arg_num(n, eps_slot);
    if (!(eps > 0))
        return diag_error(d, n->span, "%s needs eps above 0, got %g", name, eps);
    long f = x.dim[x.rank - 1];
    n->shape = x;
    ir_add_param(g, node, "gamma", shape1(f), op_constant_init(g, 1), f, f, true, false);
    ir_add_param(g, node, "beta", shape1(f), ir_default_spec(g, SPEC_ZEROS), f, f, true, false);
    return true;
}

/* Mean and biased variance of n values x[0], x[stride], …, in double. */
static void moments(const real *x, size_t n, size_t stride, double *mean, double *var)
{
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i * stride];
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++) {
        double dev = x[i * stride] - *mean;
        s2 += dev * dev;
    }
    *var = s2 / (double)n;
}

/* x̂ = (x − mean)·inv, y = γ x̂ + β over one group (γ, β advance by gstride). */
static void standardise(const real *x, real *xhat, real *y, size_t n, size_t stride,
                        double mean, double inv, const real *gamma, const real *beta,
                        size_t gstride)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = i * stride;
        xhat[k] = (real)((x[k] - mean) * inv);
        y[k] = gamma[i * gstride] * xhat[k] + beta[i * gstride];
    }
}

/* The backward pass of one group of n values at off, stride apart, whose
 * γ and β are at goff + i·gstride: dγ += dy ⊙ x̂, dβ += dy, and dx +=
 * inv · (g − mean(g) − x̂ · mean(g ⊙ x̂)) with g = γ ⊙ dy — or dx += inv · g
 * when the statistics are constants (batchnorm evaluating). */
static void group_backward(const OpCtx *c, size_t off, size_t n, size_t stride, size_t goff,
                           size_t gstride, double inv, bool through_stats)
{
    const real *dy = c->dout + off, *xhat = c->work + off, *gamma = c->param[P_GAMMA] + goff;
    real *dgamma = c->dparam[P_GAMMA], *dbeta = c->dparam[P_BETA];
    double sg = 0, sgx = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = i * stride;
        double g = (double)gamma[i * gstride] * dy[k];
        sg += g;
        sgx += g * xhat[k];
        if (dgamma)
            dgamma[goff + i * gstride] += dy[k] * xhat[k];
        if (dbeta)
            dbeta[goff + i * gstride] += dy[k];
    }
    real *dx = c->din[NORM_X];
    if (!dx)
        return;
    real keep = op_din_keep(c, NORM_X);
    double mg = through_stats ? sg / (double)n : 0, mgx = through_stats ? sgx / (double)n : 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = i * stride;
        double g = (double)gamma[i * gstride] * dy[k];
        dx[off + k] = op_din_old(keep, dx[off + k]) + (real)(inv * (g - mg - xhat[k] * mgx));
    }
}

/* ---- batchnorm(x, momentum = 0.1, eps = 1e-5) ---- */

static bool batchnorm_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    double m = ir_arg_num(n, BN_MOMENTUM);
    if (!(m >= 0 && m <= 1))
        return diag_error(d, n->span, "batchnorm needs a momentum from 0 to 1, got %g", m);
    if (!norm_infer_common(g, node, BN_EPS, d))
        return false;
    long f = n->shape.dim[n->shape.rank - 1];
    ir_add_param(g, node, "running_mean", shape1(f), ir_default_spec(g, SPEC_ZEROS), f, f,
                 false, false);
    ir_add_param(g, node, "running_var", shape1(f), op_constant_init(g, 1), f, f, false, false);
    return true;
}

/* x̂ [rows, F], then 1/√(σ² + ε) per feature [F]. */
static size_t batchnorm_work(const IrNode *n, const IrGraph *g, int batch)
{
    (void)g;
    return (size_t)batch * shape_size(n->shape) + (size_t)n->shape.dim[n->shape.rank - 1];
}

/* Training: batch statistics, and the running estimates move towards them
 * as in PyTorch: running = (1 − m)·running + m·batch, with the unbiased
 * variance σ²·R/(R − 1) for the running one (R rows; σ² itself when R = 1).
 * Probing: batch statistics, running ones untouched — the gradient a report
 * measures is the one training sees. Evaluating: the running statistics. */
static void batchnorm_forward(const OpCtx *c)
{
    size_t rows, feat;
    dims(c, &rows, &feat);
    double m = ir_arg_num(c->node, BN_MOMENTUM), eps = ir_arg_num(c->node, BN_EPS);
    real *inv = c->work + rows * feat;
    real *rmean = c->param[P_RUNNING_MEAN], *rvar = c->param[P_RUNNING_VAR];
    for (size_t f = 0; f < feat; f++) {
        double mean = rmean[f], var = rvar[f];
        if (c->mode != EXEC_EVAL)
            moments(c->in[NORM_X] + f, rows, feat, &mean, &var);
        if (c->mode == EXEC_TRAIN) {
            double unbiased = rows > 1 ? var * (double)rows / (double)(rows - 1) : var;
            rmean[f] = (real)((1 - m) * rmean[f] + m * mean);
            rvar[f] = (real)((1 - m) * rvar[f] + m * unbiased);
        }
        inv[f] = (real)(1 / sqrt(var + eps));
        standardise(c->in[NORM_X] + f, c->work + f, c->out + f, rows, feat, mean, inv[f],
                    c->param[P_GAMMA] + f, c->param[P_BETA] + f, 0);
    }
}

static void batchnorm_backward(const OpCtx *c)
{
    size_t rows, feat;
    dims(c, &rows, &feat);
    const real *inv = c->work + rows * feat;
    for (size_t f = 0; f < feat; f++)
        group_backward(c, f, rows, feat, f, 0, inv[f], c->mode != EXEC_EVAL);
}

const OpDef REAL_NAME(op_batchnorm) = {
    .name = "batchnorm",
    .sig = "x:T momentum:N=0.1 eps:N=1e-5",
    .doc = "batch normalisation per feature, with running statistics (Ioffe & Szegedy 2015)",
    .kind = OPK_LAYER,
    .ranks = OP_RANKS_ANY,
    .infer = batchnorm_infer,
    .work_floats = batchnorm_work,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
};

/* ---- layernorm(x, eps = 1e-5) ---- */

static bool layernorm_infer(IrGraph *g, int node, DiagSink *d)
{
    return norm_infer_common(g, node, LN_EPS, d);
}

/* x̂ [rows, F], then 1/√(σ² + ε) per row [rows]. */
static size_t layernorm_work(const IrNode *n, const IrGraph *g, int batch)
{
    (void)g;
    size_t size = shape_size(n->shape);
    return (size_t)batch * (size + size / (size_t)n->shape.dim[n->shape.rank - 1]);
}

/* The same in training and evaluation: no batch statistics. A row's
 * entries are contiguous, so unlike batchnorm's strided groups every loop
 * here is a vector loop: the sums in double, as moments' are, and x̂ and y
 * in real. (A Transformer normalises every token twice per block.) */
static void layernorm_forward(const OpCtx *c)
{
    size_t rows, feat;
    dims(c, &rows, &feat);
    double eps = ir_arg_num(c->node, LN_EPS);
    real *inv = c->work + rows * feat;
    const real *gamma = c->param[P_GAMMA], *beta = c->param[P_BETA];
    for (size_t r = 0; r < rows; r++) {
        const real *x = c->in[NORM_X] + r * feat;
        real *xhat = c->work + r * feat, *y = c->out + r * feat;
        double s = 0, s2 = 0;
#pragma omp simd reduction(+ : s)
        for (size_t i = 0; i < feat; i++)
            s += x[i];
        double mean = s / (double)feat;
#pragma omp simd reduction(+ : s2)
        for (size_t i = 0; i < feat; i++)
            s2 += (x[i] - mean) * (x[i] - mean);
        inv[r] = (real)(1 / sqrt(s2 / (double)feat + eps));
        real m = (real)mean, k = inv[r];
#pragma omp simd
        for (size_t i = 0; i < feat; i++) {
            xhat[i] = (x[i] - m) * k;
            y[i] = gamma[i] * xhat[i] + beta[i];
        }
    }
}

/* group_backward's formula over each row, in vector loops. */
static void layernorm_backward(const OpCtx *c)
{
    size_t rows, feat;
    dims(c, &rows, &feat);
    const real *inv = c->work + rows * feat, *gamma = c->param[P_GAMMA];
    real *dgamma = c->dparam[P_GAMMA], *dbeta = c->dparam[P_BETA], *dx = c->din[NORM_X];
    real keep = op_din_keep(c, NORM_X);
    for (size_t r = 0; r < rows; r++) {
        const real *dy = c->dout + r * feat, *xhat = c->work + r * feat;
        if (dgamma)
#pragma omp simd
            for (size_t i = 0; i < feat; i++)
                dgamma[i] += dy[i] * xhat[i];
        if (dbeta)
#pragma omp simd
            for (size_t i = 0; i < feat; i++)
                dbeta[i] += dy[i];
        if (!dx)
            continue;
        double sg = 0, sgx = 0;
#pragma omp simd reduction(+ : sg, sgx)
        for (size_t i = 0; i < feat; i++) {
            double g = (double)gamma[i] * dy[i];
            sg += g;
            sgx += g * xhat[i];
        }
        real mg = (real)(sg / (double)feat), mgx = (real)(sgx / (double)feat), k = inv[r];
        real *dxr = dx + r * feat;
#pragma omp simd
        for (size_t i = 0; i < feat; i++)
            dxr[i] = op_din_old(keep, dxr[i]) + k * (gamma[i] * dy[i] - mg - xhat[i] * mgx);
    }
}

const OpDef REAL_NAME(op_layernorm) = {
    .name = "layernorm",
    .sig = "x:T eps:N=1e-5",
    .doc = "normalisation over the features of each row (Ba et al. 2016)",
    .kind = OPK_LAYER,
    .ranks = OP_RANKS_ANY,
    .infer = layernorm_infer,
    .work_floats = layernorm_work,
    .forward = layernorm_forward,
    .backward = layernorm_backward,
};
