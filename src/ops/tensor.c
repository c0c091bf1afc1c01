/* tensor.c — elementwise tensor arithmetic: x + y.
 *
 * Both operands have the op's shape; there is no broadcasting, so a shape
 * mismatch (a residual sum around a layer that changed the width) is an
 * error at elaboration, not a silent broadcast. */
#include "vg/ops.h"

static bool add_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    Shape x = g->nodes[n->in[0]].shape, y = g->nodes[n->in[1]].shape;
    if (!shape_eq(x, y)) {
        char a[96], b[96];
        return diag_error(d, n->span, "'+' needs equal shapes, got %s and %s",
                          shape_str(x, a, sizeof a), shape_str(y, b, sizeof b));
    }
    n->shape = x;
    return true;
}

static size_t elems(const OpCtx *c)
{
    return (size_t)c->batch * shape_size(c->node->shape);
}

/* out = x + y */
static void add_forward(const OpCtx *c)
{
    const float *x = c->in[0], *y = c->in[1];
    float *out = c->out;
    for (size_t i = 0, n = elems(c); i < n; i++)
        out[i] = x[i] + y[i];
}

/* dx += dout, dy += dout (x + x accumulates twice into the same buffer) */
static void add_backward(const OpCtx *c)
{
    for (int k = 0; k < 2; k++) {
        float *dx = c->din[k];
        if (!dx)
            continue;
        for (size_t i = 0, n = elems(c); i < n; i++)
            dx[i] += c->dout[i];
    }
}

const OpDef op_add = {
    .name = "+",
    .sig = "x:T y:T",
    .kind = OPK_TENSOR,
    .infer = add_infer,
    .forward = add_forward,
    .backward = add_backward,
};
