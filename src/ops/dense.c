/* dense.c — the fully connected layer, Y = X·W + b.
 *
 * Shapes (row-major, batch-major): X [M, F], W [F, U], b [U], Y [M, U],
 * where M = batch rows times any leading dimensions of the input: on a
 * [T, F] input dense applies the same W and b at every time step, giving
 * [T, U]. Parameters: W with fan_in = F and fan_out = U, initialised by the
 * `init` argument; b (when bias = true) initialised with zeros. Both GEMMs
 * of the backward pass read the forward operands in place, through BLAS
 * transposes: no copies, no scratch. */
#include <string.h>

#include "vg/blas.h"
#include "vg/ops.h"

enum { DENSE_X, DENSE_UNITS, DENSE_INIT, DENSE_BIAS };

static bool dense_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    Shape x = g->nodes[n->in[0]].shape;
    double units = ir_arg_num(n, DENSE_UNITS);
    if (units < 1 || units != (long)units || units > IR_MAX_ELEMS)
        return diag_error(d, n->span, "dense needs a whole number of units from 1 to 2^31 - 1, "
                          "got %s", DIAG_NUM(units));
    long f = x.dim[x.rank - 1], u = (long)units;
    if ((double)f * (double)u > IR_MAX_ELEMS)
        return diag_error(d, n->span, "dense weight [%ld, %ld] is above the limit of 2^31 elements",
                          f, u);
    n->shape = x;
    n->shape.dim[x.rank - 1] = u;
    ir_add_param(g, node, "W", shape2(f, u), ir_arg_spec(n, DENSE_INIT), f, u, true, true);
    if (ir_arg_bool(n, DENSE_BIAS))
        ir_add_param(g, node, "b", shape1(u), ir_default_spec(g, SPEC_ZEROS), f, u, true, false);
    return true;
}

/* Rows M and features F of the input, units U. */
static void dims(const OpCtx *c, int *m, int *f, int *u)
{
    Shape x = c->g->nodes[c->node->in[0]].shape;
    *f = (int)x.dim[x.rank - 1];
    *u = (int)c->node->shape.dim[x.rank - 1];
    *m = c->batch * (int)(shape_size(x) / (size_t)*f);
}

static void dense_forward(const OpCtx *c)
{
    int m, f, u;
    dims(c, &m, &f, &u);
    const real *x = c->in[0], *w = c->param[0];
    real *y = c->out;
    real beta = 0;
    if (c->node->nparam > 1) {  /* Y = b broadcast, then the GEMM adds X·W in place */
        const real *b = c->param[1];
        for (int i = 0; i < m; i++)
            memcpy(y + (size_t)i * u, b, sizeof *y * (size_t)u);
        beta = 1;
    }
    blas_gemm(false, false, m, u, f, 1, x, f, w, u, beta, y, u);  /* Y (+)= X·W */
}

static void dense_backward(const OpCtx *c)
{
    int m, f, u;
    dims(c, &m, &f, &u);
    const real *x = c->in[0], *w = c->param[0], *dy = c->dout;
    if (c->din[0])  /* dX (+)= dY·Wᵀ; a first dense on the input has no dX */
        blas_gemm(false, true, m, f, u, 1, dy, u, w, u, op_din_keep(c, 0), c->din[0], f);
    if (c->dparam[0])
        blas_gemm(true, false, f, u, m, 1, x, f, dy, u, 1, c->dparam[0], u);  /* dW += Xᵀ·dY */
    if (c->node->nparam > 1 && c->dparam[1]) {
        real *db = c->dparam[1];
        for (int i = 0; i < m; i++) {  /* db += Σ_rows dY */
            const real *row = dy + (size_t)i * u;
#pragma omp simd
            for (int j = 0; j < u; j++)
                db[j] += row[j];
        }
    }
}

const OpDef REAL_NAME(op_dense) = {
    .name = "dense",
    .sig = "x:T units:I init:Z=xavier_uniform bias:B=true",
    .doc = "fully connected layer y = x·W + b, W from init; [F] -> [units], per step on [T, F]",
    .kind = OPK_LAYER,
    .ranks = OP_RANKS_ANY,
    .infer = dense_infer,
    .forward = dense_forward,
    .backward = dense_backward,
};
