/* norm.c — normalisation layers: batchnorm and layernorm.
 *
 * Both standardise groups of their input, x̂ = (x − μ)/√(σ² + ε), and apply
 * a learnable gain and shift per feature, y = γ ⊙ x̂ + β (γ initialised to 1,
 * β to 0). They differ in the groups:
 *   batchnorm (Ioffe & Szegedy 2015, Alg. 1): per feature, over the batch
 *     and, on a [T, F] input, the time steps too (every row of [batch·T, F]);
 *     on a [C, H, W] input per channel, over the batch and the H·W positions
 *     (Ioffe & Szegedy §3.2, PyTorch's BatchNorm2d);
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

/* Checks eps, declares γ (starting at 1) and β (at 0) over f features. */
static bool gain_shift(IrGraph *g, int node, int eps_slot, long f, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    double eps = ir_arg_num(n, eps_slot);
    if (!(eps > 0))
        return diag_error(d, n->span, "%s needs eps above 0, got %s", op_def(n->op)->name,
                          DIAG_NUM(eps));
    ir_add_param(g, node, "gamma", shape1(f), op_constant_init(g, 1), f, f, true, false);
    ir_add_param(g, node, "beta", shape1(f), ir_default_spec(g, SPEC_ZEROS), f, f, true, false);
    return true;
}

/* A batchnorm group, the entries normalised together: `runs` runs of `len`
 * contiguous entries, the first at off and each run_stride after the
 * previous one, sharing γ and β at index f. A feature of [rows, F] is rows
 * runs of 1, F apart; a channel of [C, H, W] batch runs of H·W, C·H·W
 * apart. */
typedef struct Group {
    size_t off, runs, len, run_stride, f;
} Group;

static double group_size(Group gr)
{
    return (double)gr.runs * (double)gr.len;
}

/* Mean and biased variance of a group of x, in double. */
static void moments(const real *x, Group gr, double *mean, double *var)
{
    double s = 0, s2 = 0;
    for (size_t r = 0; r < gr.runs; r++) {
        const real *run = x + gr.off + r * gr.run_stride;
        for (size_t i = 0; i < gr.len; i++)
            s += run[i];
    }
    *mean = s / group_size(gr);
    for (size_t r = 0; r < gr.runs; r++) {
        const real *run = x + gr.off + r * gr.run_stride;
        for (size_t i = 0; i < gr.len; i++) {
            double dev = run[i] - *mean;
            s2 += dev * dev;
        }
    }
    *var = s2 / group_size(gr);
}

/* x̂ = (x − mean)·inv into work, y = γ x̂ + β, over a group. */
static void standardise(const OpCtx *c, Group gr, double mean, double inv)
{
    real gamma = c->param[P_GAMMA][gr.f], beta = c->param[P_BETA][gr.f];
    for (size_t r = 0; r < gr.runs; r++) {
        size_t at = gr.off + r * gr.run_stride;
        const real *x = c->in[NORM_X] + at;
        real *xhat = c->work + at, *y = c->out + at;
        for (size_t i = 0; i < gr.len; i++) {
            xhat[i] = (real)((x[i] - mean) * inv);
            y[i] = gamma * xhat[i] + beta;
        }
    }
}

/* The backward pass of a group: dγ += dy ⊙ x̂, dβ += dy, and dx +=
 * inv · (g − mean(g) − x̂ · mean(g ⊙ x̂)) with g = γ ⊙ dy — or dx += inv · g
 * when the statistics are constants (batchnorm evaluating). */
static void group_backward(const OpCtx *c, Group gr, double inv, bool through_stats)
{
    double gamma = c->param[P_GAMMA][gr.f];
    real *dgamma = c->dparam[P_GAMMA], *dbeta = c->dparam[P_BETA];
    double sg = 0, sgx = 0;
    for (size_t r = 0; r < gr.runs; r++) {
        size_t at = gr.off + r * gr.run_stride;
        const real *dy = c->dout + at, *xhat = c->work + at;
        for (size_t i = 0; i < gr.len; i++) {
            double g = gamma * dy[i];
            sg += g;
            sgx += g * xhat[i];
            if (dgamma)
                dgamma[gr.f] += dy[i] * xhat[i];
            if (dbeta)
                dbeta[gr.f] += dy[i];
        }
    }
    real *dx = c->din[NORM_X];
    if (!dx)
        return;
    real keep = op_din_keep(c, NORM_X);
    double mg = through_stats ? sg / group_size(gr) : 0;
    double mgx = through_stats ? sgx / group_size(gr) : 0;
    for (size_t r = 0; r < gr.runs; r++) {
        size_t at = gr.off + r * gr.run_stride;
        const real *dy = c->dout + at, *xhat = c->work + at;
        real *d = dx + at;
        for (size_t i = 0; i < gr.len; i++)
            d[i] = op_din_old(keep, d[i]) + (real)(inv * (gamma * dy[i] - mg - xhat[i] * mgx));
    }
}

/* ---- batchnorm(x, momentum = 0.1, eps = 1e-5) ---- */

/* The normalised axis: a [C, H, W] input's channels, else the last. */
static long bn_features(Shape x)
{
    return x.rank == 3 ? x.dim[0] : x.dim[x.rank - 1];
}

static bool batchnorm_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    double m = ir_arg_num(n, BN_MOMENTUM);
    if (!(m >= 0 && m <= 1))
        return diag_error(d, n->span, "batchnorm needs a momentum from 0 to 1, got %s",
                          DIAG_NUM(m));
    long f = bn_features(in_shape(g, n));
    n->shape = in_shape(g, n);
    if (!gain_shift(g, node, BN_EPS, f, d))
        return false;
    ir_add_param(g, node, "running_mean", shape1(f), ir_default_spec(g, SPEC_ZEROS), f, f,
                 false, false);
    ir_add_param(g, node, "running_var", shape1(f), op_constant_init(g, 1), f, f, false, false);
    return true;
}

/* x̂ [batch, shape], then 1/√(σ² + ε) per feature. */
static size_t batchnorm_work(const IrNode *n, const IrGraph *g, int batch)
{
    (void)g;
    return (size_t)batch * shape_size(n->shape) + (size_t)bn_features(n->shape);
}

/* Feature f's group: on [C, H, W] the channel's H·W positions in every
 * example, else the feature's column of [rows, F]. */
static Group bn_group(const OpCtx *c, size_t f)
{
    Shape x = in_shape(c->g, c->node);
    size_t size = shape_size(x), feat = (size_t)bn_features(x);
    if (x.rank == 3)
        return (Group){.off = f * (size / feat), .runs = (size_t)c->batch, .len = size / feat,
                       .run_stride = size, .f = f};
    return (Group){.off = f, .runs = (size_t)c->batch * (size / feat), .len = 1,
                   .run_stride = feat, .f = f};
}

/* Training: batch statistics, and the running estimates move towards them
 * as in PyTorch: running = (1 − m)·running + m·batch, with the unbiased
 * variance σ²·R/(R − 1) for the running one (R entries in the group; σ²
 * itself when R = 1). Probing: batch statistics, running ones untouched —
 * the gradient a report measures is the one training sees. Evaluating:
 * the running statistics. */
static void batchnorm_forward(const OpCtx *c)
{
    size_t feat = (size_t)bn_features(c->node->shape);
    double m = ir_arg_num(c->node, BN_MOMENTUM), eps = ir_arg_num(c->node, BN_EPS);
    real *inv = c->work + (size_t)c->batch * shape_size(c->node->shape);
    real *rmean = c->param[P_RUNNING_MEAN], *rvar = c->param[P_RUNNING_VAR];
    for (size_t f = 0; f < feat; f++) {
        Group gr = bn_group(c, f);
        double mean = rmean[f], var = rvar[f];
        if (c->mode != EXEC_EVAL)
            moments(c->in[NORM_X], gr, &mean, &var);
        if (c->mode == EXEC_TRAIN) {
            double r = group_size(gr);
            double unbiased = r > 1 ? var * r / (r - 1) : var;
            rmean[f] = (real)((1 - m) * rmean[f] + m * mean);
            rvar[f] = (real)((1 - m) * rvar[f] + m * unbiased);
        }
        inv[f] = (real)(1 / sqrt(var + eps));
        standardise(c, gr, mean, inv[f]);
    }
}

static void batchnorm_backward(const OpCtx *c)
{
    size_t feat = (size_t)bn_features(c->node->shape);
    const real *inv = c->work + (size_t)c->batch * shape_size(c->node->shape);
    for (size_t f = 0; f < feat; f++)
        group_backward(c, bn_group(c, f), inv[f], c->mode != EXEC_EVAL);
}

const OpDef REAL_NAME(op_batchnorm) = {
    .name = "batchnorm",
    .sig = "x:T momentum:N=0.1 eps:N=1e-5",
    .doc = "batch normalisation per feature (per channel on [C, H, W]), with running statistics "
           "(Ioffe & Szegedy 2015)",
    .kind = OPK_LAYER,
    .ranks = OP_RANKS_ANY,
    .infer = batchnorm_infer,
    .work_floats = batchnorm_work,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
};

/* ---- layernorm(x, eps = 1e-5) ---- */

/* Features: the last dimension; rows: the batch times the others. */
static size_t ln_features(Shape x)
{
    return (size_t)x.dim[x.rank - 1];
}

static bool layernorm_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    n->shape = in_shape(g, n);
    return gain_shift(g, node, LN_EPS, (long)ln_features(n->shape), d);
}

/* x̂ [rows, F], then 1/√(σ² + ε) per row [rows]. */
static size_t layernorm_work(const IrNode *n, const IrGraph *g, int batch)
{
    (void)g;
    size_t size = shape_size(n->shape);
    return (size_t)batch * (size + size / ln_features(n->shape));
}

static size_t ln_rows(const OpCtx *c)
{
    return (size_t)c->batch * (shape_size(c->node->shape) / ln_features(c->node->shape));
}

/* The same in training and evaluation: no batch statistics. A row's
 * entries are contiguous, so unlike batchnorm's strided groups every loop
 * here is a vector loop: the sums in double, as moments' are, and x̂ and y
 * in real. (A Transformer normalises every token twice per block.) */
static void layernorm_forward(const OpCtx *c)
{
    size_t rows = ln_rows(c), feat = ln_features(c->node->shape);
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
    size_t rows = ln_rows(c), feat = ln_features(c->node->shape);
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
