/* activations.c — elementwise y = φ(z): sigmoid, tanh, relu, identity.
 *
 * Each op has a kernel pair with the loop written out, so the compiler can
 * vectorise it (no call through a pointer per element), and the backward
 * pass computes φ′ from the saved output y where it can: σ′ = y(1 − y),
 * tanh′ = 1 − y², relu′ = [y > 0]. The scalar act/deriv functions in double
 * serve the report (saturation, dead units, the mean-field `predicted`). */
#include "vg/ops.h"

#include <math.h>

static bool act_infer(IrGraph *g, int node, DiagSink *d)
{
    (void)d;
    IrNode *n = &g->nodes[node];
    n->shape = g->nodes[n->in[0]].shape;
    return true;
}

static size_t elems(const OpCtx *c)
{
    return (size_t)c->batch * shape_size(c->node->shape);
}

/* ---- sigmoid ---- */

/* σ(z) = 1 / (1 + e^−z), evaluated as e^z / (1 + e^z) for z < 0 so that e^−z
 * never overflows. */
static void sigmoid_forward(const OpCtx *c)
{
    const float *z = c->in[0];
    float *y = c->out;
    for (size_t i = 0, n = elems(c); i < n; i++) {
        float e = expf(-fabsf(z[i]));
        y[i] = z[i] >= 0 ? 1 / (1 + e) : e / (1 + e);
    }
}

/* dz += dy · y(1 − y) */
static void sigmoid_backward(const OpCtx *c)
{
    const float *y = c->out, *dy = c->dout;
    float *dz = c->din[0];
    if (!dz)
        return;
    for (size_t i = 0, n = elems(c); i < n; i++)
        dz[i] += dy[i] * y[i] * (1 - y[i]);
}

static double sigmoid_act(double z, const IrNode *n)
{
    (void)n;
    return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
}

static double sigmoid_deriv(double z, const IrNode *n)
{
    double y = sigmoid_act(z, n);
    return y * (1 - y);
}

const OpDef op_sigmoid = {
    .name = "sigmoid",
    .sig = "x:T",
    .kind = OPK_ACTIVATION,
    .infer = act_infer,
    .forward = sigmoid_forward,
    .backward = sigmoid_backward,
    .act = sigmoid_act,
    .deriv = sigmoid_deriv,
    .max_deriv = 0.25,
    .saturating = true,
};

/* ---- tanh ---- */

static void tanh_forward(const OpCtx *c)
{
    const float *z = c->in[0];
    float *y = c->out;
    for (size_t i = 0, n = elems(c); i < n; i++)
        y[i] = tanhf(z[i]);
}

/* dz += dy · (1 − y²) */
static void tanh_backward(const OpCtx *c)
{
    const float *y = c->out, *dy = c->dout;
    float *dz = c->din[0];
    if (!dz)
        return;
    for (size_t i = 0, n = elems(c); i < n; i++)
        dz[i] += dy[i] * (1 - y[i] * y[i]);
}

static double tanh_act(double z, const IrNode *n)
{
    (void)n;
    return tanh(z);
}

static double tanh_deriv(double z, const IrNode *n)
{
    (void)n;
    double y = tanh(z);
    return 1 - y * y;
}

const OpDef op_tanh = {
    .name = "tanh",
    .sig = "x:T",
    .kind = OPK_ACTIVATION,
    .infer = act_infer,
    .forward = tanh_forward,
    .backward = tanh_backward,
    .act = tanh_act,
    .deriv = tanh_deriv,
    .max_deriv = 1,
    .saturating = true,
};

/* ---- relu ---- */

static void relu_forward(const OpCtx *c)
{
    const float *z = c->in[0];
    float *y = c->out;
    for (size_t i = 0, n = elems(c); i < n; i++)
        y[i] = z[i] > 0 ? z[i] : 0;
}

/* dz += dy · [y > 0]; the subgradient at 0 is 0, as in most frameworks */
static void relu_backward(const OpCtx *c)
{
    const float *y = c->out, *dy = c->dout;
    float *dz = c->din[0];
    if (!dz)
        return;
    for (size_t i = 0, n = elems(c); i < n; i++)
        dz[i] += y[i] > 0 ? dy[i] : 0;
}

static double relu_act(double z, const IrNode *n)
{
    (void)n;
    return z > 0 ? z : 0;
}

static double relu_deriv(double z, const IrNode *n)
{
    (void)n;
    return z > 0;
}

const OpDef op_relu = {
    .name = "relu",
    .sig = "x:T",
    .kind = OPK_ACTIVATION,
    .infer = act_infer,
    .forward = relu_forward,
    .backward = relu_backward,
    .act = relu_act,
    .deriv = relu_deriv,
    .max_deriv = 1,
    .relu_family = true,
};

/* ---- identity ---- */

static void identity_forward(const OpCtx *c)
{
    const float *z = c->in[0];
    float *y = c->out;
    for (size_t i = 0, n = elems(c); i < n; i++)
        y[i] = z[i];
}

/* dz += dy */
static void identity_backward(const OpCtx *c)
{
    const float *dy = c->dout;
    float *dz = c->din[0];
    if (!dz)
        return;
    for (size_t i = 0, n = elems(c); i < n; i++)
        dz[i] += dy[i];
}

static double identity_act(double z, const IrNode *n)
{
    (void)n;
    return z;
}

static double identity_deriv(double z, const IrNode *n)
{
    (void)z, (void)n;
    return 1;
}

const OpDef op_identity = {
    .name = "identity",
    .sig = "x:T",
    .kind = OPK_ACTIVATION,
    .infer = act_infer,
    .forward = identity_forward,
    .backward = identity_backward,
    .act = identity_act,
    .deriv = identity_deriv,
    .max_deriv = 1,
};
