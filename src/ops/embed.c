/* embed.c — token embeddings and position encodings: the first ops of a
 * sequence model on discrete symbols.
 *
 * embedding(tokens, vocab, dim): tokens [T] holds integer ids stored as
 * floats (the model's input, data and never a computed tensor, so no
 * gradient flows into it); the output [T, dim] holds row id of the table
 * E [vocab, dim] at every step. Ids are checked against vocab when the data
 * set is loaded (op_token_limit in registry.c, used by training); a kernel that meets an
 * id that is not one anyway writes NaN for that step, which training
 * reports as a non-finite value instead of reading outside the table.
 *
 * positional(x): x + PE on [T, F], the fixed sinusoids of Vaswani et al.
 * 2017 §3.5: PE[t, 2i] = sin(t / 10000^(2i/F)), PE[t, 2i+1] =
 * cos(t / 10000^(2i/F)), t counted from 0. learned_positional(x): x + P
 * with a trained table P [T, F]. */
#include "vg/ops.h"

#include <math.h>
#include <string.h>

enum { EMB_TOKENS, EMB_VOCAB, EMB_DIM, EMB_INIT };
enum { POS_X, POS_INIT };

/* A whole number in 1..2^31 − 1 for argument i, else a diagnostic. */
static bool count_arg(const IrNode *n, int i, const char *what, long *out, DiagSink *d)
{
    double v = ir_arg_num(n, i);
    if (!(v >= 1 && v <= IR_MAX_ELEMS && v == (long)v))
        return diag_error(d, n->span, "%s needs a whole number %s from 1 to 2^31 - 1, got %s",
                          op_def(n->op)->name, what, DIAG_NUM(v));
    *out = (long)v;
    return true;
}

static bool embedding_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    const IrNode *in = &g->nodes[n->in[EMB_TOKENS]];
    if (in->op != OP_INPUT)
        return diag_error(d, n->span, "embedding needs the model's input, whose token ids come "
                          "from the data set; got a computed tensor");
    long vocab, dim;
    if (!count_arg(n, EMB_VOCAB, "vocab", &vocab, d) || !count_arg(n, EMB_DIM, "dim", &dim, d))
        return false;
    if ((double)vocab * (double)dim > IR_MAX_ELEMS ||
        (double)in->shape.dim[0] * (double)dim > IR_MAX_ELEMS)
        return diag_error(d, n->span, "embedding of %ld ids into %ld dimensions is above the "
                          "limit of 2^31 elements", vocab, dim);
    n->shape = shape2(in->shape.dim[0], dim);
    /* A one-hot input selects one row, so each output is one weight: fan_in
     * 1, and lecun_normal (the default) is N(0, 1), torch.nn.Embedding's. */
    ir_add_param(g, node, "E", shape2(vocab, dim), ir_arg_spec(n, EMB_INIT), 1, dim, true, false);
    return true;
}

/* The table row of token id t, or -1 for a value that is not an id. */
static long token_row(real t, long vocab)
{
    return t >= 0 && t < (real)vocab && t == (real)(long)t ? (long)t : -1;
}

static void embedding_forward(const OpCtx *c)
{
    const IrParam *e = &c->g->params[c->node->param[0]];
    long vocab = e->shape.dim[0];
    size_t dim = (size_t)e->shape.dim[1];
    size_t steps = (size_t)c->batch * (size_t)c->node->shape.dim[0];
    for (size_t s = 0; s < steps; s++) {
        long row = token_row(c->in[EMB_TOKENS][s], vocab);
        real *y = c->out + s * dim;
        if (row >= 0)
            memcpy(y, c->param[0] + (size_t)row * dim, dim * sizeof *y);
        else
            for (size_t j = 0; j < dim; j++)
                y[j] = (real)NAN;
    }
}

/* dE[id] += dY at every step that reads row id; the ids get no gradient. */
static void embedding_backward(const OpCtx *c)
{
    if (!c->dparam[0])
        return;
    const IrParam *e = &c->g->params[c->node->param[0]];
    long vocab = e->shape.dim[0];
    size_t dim = (size_t)e->shape.dim[1];
    size_t steps = (size_t)c->batch * (size_t)c->node->shape.dim[0];
    for (size_t s = 0; s < steps; s++) {
        long row = token_row(c->in[EMB_TOKENS][s], vocab);
        if (row < 0)
            continue;
        real *de = c->dparam[0] + (size_t)row * dim;
        const real *dy = c->dout + s * dim;
#pragma omp simd
        for (size_t j = 0; j < dim; j++)
            de[j] += dy[j];
    }
}

const OpDef REAL_NAME(op_embedding) = {
    .name = "embedding",
    .sig = "tokens:T vocab:I dim:I init:Z=lecun_normal",
    .doc = "token ids [T] -> rows of a table E [vocab, dim] from init: [T, dim]",
    .kind = OPK_LAYER,
    .ranks = OP_RANK(1),
    .tokens = true,
    .infer = embedding_infer,
    .forward = embedding_forward,
    .backward = embedding_backward,
};

/* ---- position encodings ---- */

static bool sequence_infer(IrGraph *g, int node, DiagSink *d)
{
    (void)d;  /* the rank, [time, features], is all there is to check */
    IrNode *n = &g->nodes[node];
    n->shape = g->nodes[n->in[POS_X]].shape;
    return true;
}

/* The T·F encodings, computed into work by each forward: less than one
 * pass over the batch's rows, and no state between runs. */
static size_t positional_work(const IrNode *n, const IrGraph *g, int batch)
{
    (void)g;
    (void)batch;
    return shape_size(n->shape);
}

static void positional_forward(const OpCtx *c)
{
    long steps = c->node->shape.dim[0], f = c->node->shape.dim[1];
    real *pe = c->work;
    for (long t = 0; t < steps; t++)
        for (long i = 0; i < f; i += 2) {
            double angle = (double)t / pow(10000.0, (double)i / (double)f);
            pe[t * f + i] = (real)sin(angle);
            if (i + 1 < f)
                pe[t * f + i + 1] = (real)cos(angle);
        }
    size_t per = (size_t)(steps * f);
    for (int b = 0; b < c->batch; b++) {
        const real *x = c->in[POS_X] + (size_t)b * per;
        real *y = c->out + (size_t)b * per;
#pragma omp simd
        for (size_t k = 0; k < per; k++)
            y[k] = x[k] + pe[k];
    }
}

/* dx (+)= dy, for both encodings */
static void pass_back(const OpCtx *c)
{
    real *dx = c->din[POS_X];
    if (!dx)
        return;
    real keep = op_din_keep(c, POS_X);
    size_t n = (size_t)c->batch * shape_size(c->node->shape);
#pragma omp simd
    for (size_t k = 0; k < n; k++)
        dx[k] = op_din_old(keep, dx[k]) + c->dout[k];
}

const OpDef REAL_NAME(op_positional) = {
    .name = "positional",
    .sig = "x:T",
    .doc = "x + the sinusoidal position encodings of Vaswani et al. 2017 on [T, F]",
    .kind = OPK_TENSOR,
    .ranks = OP_RANK(2),
    .infer = sequence_infer,
    .work_floats = positional_work,
    .forward = positional_forward,
    .backward = pass_back,
};

static bool learned_positional_infer(IrGraph *g, int node, DiagSink *d)
{
    if (!sequence_infer(g, node, d))
        return false;
    IrNode *n = &g->nodes[node];
    /* Added to each step like a bias: one weight per output, fan_in 1. */
    ir_add_param(g, node, "P", n->shape, ir_arg_spec(n, POS_INIT), 1, n->shape.dim[1], true,
                 false);
    return true;
}

static void learned_positional_forward(const OpCtx *c)
{
    size_t per = shape_size(c->node->shape);
    const real *p = c->param[0];
    for (int b = 0; b < c->batch; b++) {
        const real *x = c->in[POS_X] + (size_t)b * per;
        real *y = c->out + (size_t)b * per;
#pragma omp simd
        for (size_t k = 0; k < per; k++)
            y[k] = x[k] + p[k];
    }
}

/* dx (+)= dy; dP += Σ_batch dy */
static void learned_positional_backward(const OpCtx *c)
{
    pass_back(c);
    if (!c->dparam[0])
        return;
    size_t per = shape_size(c->node->shape);
    real *dp = c->dparam[0];
    for (int b = 0; b < c->batch; b++) {
        const real *dy = c->dout + (size_t)b * per;
#pragma omp simd
        for (size_t k = 0; k < per; k++)
            dp[k] += dy[k];
    }
}

const OpDef REAL_NAME(op_learned_positional) = {
    .name = "learned_positional",
    .sig = "x:T init:Z=zeros",
    .doc = "x + a trained table P [T, F] of position encodings, P from init",
    .kind = OPK_LAYER,
    .ranks = OP_RANK(2),
    .infer = learned_positional_infer,
    .forward = learned_positional_forward,
    .backward = learned_positional_backward,
};
