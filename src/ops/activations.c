/* activations.c — elementwise y = φ(z): sigmoid, tanh, relu, identity,
 * leaky_relu, elu, selu, gelu, softsign, softplus, swish, hard_tanh.
 *
 * Each op has a kernel pair with the loop written out, so the compiler can
 * vectorise it (no call through a pointer per element); the four classic
 * ones are stamped by FROM_OUTPUT and their loops carry `omp simd`, because gcc's -O2 does not
 * vectorise loops of unknown length by itself, and sigmoid and tanh use
 * vmath.h's inline e^x instead of libm's calls. The four classic
 * ones compute φ′ from the saved output y: σ′ = y(1 − y), tanh′ = 1 − y²,
 * relu′ = [y > 0]; the others evaluate φ′(z) from the saved input. The
 * scalar act/deriv functions in double serve the report (saturation, dead
 * units, the mean-field `predicted`) and the recurrent ops' `act`.
 *
 * `saturating` marks activations whose φ′ tends to 0 on both sides
 * (sigmoid, tanh, softsign, hard_tanh); `relu_family` marks those whose
 * output is exactly zero on a half-line (relu only: leaky_relu, elu, selu,
 * gelu, softplus and swish are nonzero there). docs/language.md lists the
 * choice per activation. */
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

/* ---- the four classic ones ---- */

/* The vector kernels of an activation whose gradient is a function of its
 * output: forward y = FWD(z); backward dz (+)= DZ(y, dy), the incoming
 * gradient through φ′ written in terms of y; deriv_y the same with dy = 1.
 * DZ may select rather than multiply (relu), so that dy is loaded
 * unconditionally and a non-finite dy is not turned into NaN by 0·∞.
 * VMATH_WIDE gives each kernel an AVX2 copy, picked at run time: the
 * sigmoid and tanh loops are compute-bound (vmath.h says why the results
 * do not change). */
#define FROM_OUTPUT(name, FWD, DZ)                                             \
    VMATH_WIDE                                                                 \
    static void name##_forward(const OpCtx *c)                                 \
    {                                                                          \
        const real *z = c->in[0];                                             \
        real *y = c->out;                                                     \
        size_t n = elems(c);                                                   \
        _Pragma("omp simd")                                                    \
        for (size_t i = 0; i < n; i++)                                         \
            y[i] = FWD(z[i]);                                                  \
    }                                                                          \
    VMATH_WIDE                                                                 \
    static void name##_backward(const OpCtx *c)                                \
    {                                                                          \
        const real *y = c->out, *dy = c->dout;                                \
        real *dz = c->din[0];                                                 \
        if (!dz)                                                               \
            return;                                                            \
        real keep = op_din_keep(c, 0);                                        \
        size_t n = elems(c);                                                   \
        _Pragma("omp simd")                                                    \
        for (size_t i = 0; i < n; i++)                                         \
            dz[i] = op_din_old(keep, dz[i]) + DZ(y[i], dy[i]);                 \
    }                                                                          \
    VMATH_WIDE                                                                 \
    static void name##_deriv_y(const real *y, real *d, size_t n)             \
    {                                                                          \
        _Pragma("omp simd")                                                    \
        for (size_t k = 0; k < n; k++)                                         \
            d[k] = DZ(y[k], 1.0f);                                             \
    }

/* σ(z) = 1 / (1 + e^−z), through e^−|z| so that it never overflows
 * (real.h: vmath_sigmoidf in float); σ′ = y(1 − y). */
#define SIGMOID_DZ(y, g) ((g) * (y) * (1 - (y)))
FROM_OUTPUT(sigmoid, real_sigmoid, SIGMOID_DZ)
/* tanh′ = 1 − y² */
#define TANH_DZ(y, g) ((g) * (1 - (y) * (y)))
FROM_OUTPUT(tanh, real_tanh, TANH_DZ)
/* relu′ = [y > 0]; the subgradient at 0 is 0, as in most frameworks */
#define RELU(z) ((z) > 0 ? (z) : 0)
#define RELU_DZ(y, g) ((y) > 0 ? (g) : 0)
FROM_OUTPUT(relu, RELU, RELU_DZ)
#define IDENTITY(z) (z)
#define IDENTITY_DZ(y, g) ((void)(y), (g))
FROM_OUTPUT(identity, IDENTITY, IDENTITY_DZ)

/* ---- sigmoid ---- */

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

const OpDef REAL_NAME(op_sigmoid) = {
    .name = "sigmoid",
    .sig = "x:T",
    .doc = "logistic sigmoid 1/(1 + e^-x), elementwise; saturates on both sides (sup of the derivative 1/4)",
    .kind = OPK_ACTIVATION,
    .ranks = OP_RANKS_ANY,
    .infer = act_infer,
    .forward = sigmoid_forward,
    .backward = sigmoid_backward,
    .act = sigmoid_act,
    .deriv = sigmoid_deriv,
    .deriv_y = sigmoid_deriv_y,
    .max_deriv = 0.25,
    .saturating = true,
};

/* ---- tanh ---- */

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

const OpDef REAL_NAME(op_tanh) = {
    .name = "tanh",
    .sig = "x:T",
    .doc = "hyperbolic tangent, elementwise; saturates on both sides",
    .kind = OPK_ACTIVATION,
    .ranks = OP_RANKS_ANY,
    .infer = act_infer,
    .forward = tanh_forward,
    .backward = tanh_backward,
    .act = tanh_act,
    .deriv = tanh_deriv,
    .deriv_y = tanh_deriv_y,
    .max_deriv = 1,
    .saturating = true,
};

/* ---- relu ---- */

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

const OpDef REAL_NAME(op_relu) = {
    .name = "relu",
    .sig = "x:T",
    .doc = "rectifier max(x, 0), elementwise (Nair & Hinton 2010)",
    .kind = OPK_ACTIVATION,
    .ranks = OP_RANKS_ANY,
    .infer = act_infer,
    .forward = relu_forward,
    .backward = relu_backward,
    .act = relu_act,
    .deriv = relu_deriv,
    .deriv_y = relu_deriv_y,
    .max_deriv = 1,
    .relu_family = true,
};

/* ---- identity ---- */

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

const OpDef REAL_NAME(op_identity) = {
    .name = "identity",
    .sig = "x:T",
    .doc = "y = x: no nonlinearity",
    .kind = OPK_ACTIVATION,
    .ranks = OP_RANKS_ANY,
    .infer = act_infer,
    .forward = identity_forward,
    .backward = identity_backward,
    .act = identity_act,
    .deriv = identity_deriv,
    .deriv_y = identity_deriv_y,
    .max_deriv = 1,
};

/* ---- the parametric and smooth activations ----
 *
 * Each is a scalar function f(z, k) and its derivative f′(z, k) in double,
 * k the activation's one parameter (slope, alpha; unused by the others).
 * ACTIVATION() writes the kernel pair around them, with the loop calling
 * the static functions directly, and the act/deriv entries the report
 * uses. Backward reads the saved input z (the input node's buffer), since
 * not every f′ is a function of y. The parameter comes from the node when
 * the node is that activation, else it is the signature's default: an
 * activation passed as a value (`rnn(x, 8, act = elu)`) takes its
 * defaults, and the recurrent op's node is not the activation's. */

#define STR(x) #x
#define XSTR(x) STR(x)

#define LEAKY_SLOPE 0.01
#define ELU_ALPHA 1
/* Klambauer et al. 2017, eq. 14: the fixed point (mean 0, variance 1) */
#define SELU_LAMBDA 1.0507009873554804934193349852946
#define SELU_ALPHA 1.6732632423543772848170429916717

static double param_of(const IrNode *n, int op, double dflt)
{
    return n && n->op == op ? ir_arg_num(n, 1) : dflt;
}

static double no_param(const IrNode *n)
{
    (void)n;
    return 0;
}

static double slope_of(const IrNode *n)
{
    return param_of(n, OP_LEAKY_RELU, LEAKY_SLOPE);
}

static double alpha_of(const IrNode *n)
{
    return param_of(n, OP_ELU, ELU_ALPHA);
}

#define ACTIVATION(name, param)                                                 \
    static double name##_act(double z, const IrNode *n)                         \
    {                                                                           \
        return name##_f(z, param(n));                                           \
    }                                                                           \
    static double name##_deriv(double z, const IrNode *n)                       \
    {                                                                           \
        return name##_df(z, param(n));                                          \
    }                                                                           \
    static void name##_forward(const OpCtx *c)                                  \
    {                                                                           \
        double k = param(c->node);                                              \
        const real *z = c->in[0];                                              \
        real *y = c->out;                                                      \
        for (size_t i = 0, n = elems(c); i < n; i++)                            \
            y[i] = (real)name##_f(z[i], k);                                    \
    }                                                                           \
    static void name##_backward(const OpCtx *c)                                 \
    {                                                                           \
        double k = param(c->node);                                              \
        const real *z = c->in[0], *dy = c->dout;                               \
        real *dz = c->din[0];                                                  \
        if (!dz)                                                                \
            return;                                                             \
        real keep = op_din_keep(c, 0);                                          \
        for (size_t i = 0, n = elems(c); i < n; i++)                            \
            dz[i] = op_din_old(keep, dz[i]) + dy[i] * (real)name##_df(z[i], k);  \
    }

#define ACTIVATION_FIELDS(name)                                                 \
    .kind = OPK_ACTIVATION, .ranks = OP_RANKS_ANY, .infer = act_infer,          \
    .forward = name##_forward, .backward = name##_backward, .act = name##_act,  \
    .deriv = name##_deriv

/* leaky_relu: z for z > 0, slope·z otherwise (Maas et al. 2013). Its
 * output is zero only at z = 0, so it is not in the relu family (no dead
 * units) and, with a slope above 0, never saturates. */
static double leaky_relu_f(double z, double slope)
{
    return z > 0 ? z : slope * z;
}

static double leaky_relu_df(double z, double slope)
{
    return z > 0 ? 1 : slope;
}

ACTIVATION(leaky_relu, slope_of)

const OpDef REAL_NAME(op_leaky_relu) = {
    .name = "leaky_relu",
    .sig = "x:T slope:N=" XSTR(LEAKY_SLOPE),
    .doc = "x for x > 0, else slope·x, elementwise (Maas et al. 2013)",
    ACTIVATION_FIELDS(leaky_relu),
    .max_deriv = 1,  /* max(1, slope): 1 at the default */
};

/* elu: z for z > 0, α(e^z − 1) otherwise (Clevert et al. 2016, eq. 1).
 * f′ → 0 only as z → −∞ (on one side), so not saturating; outputs tend to
 * −α, not to zero, so no dead units. */
static double elu_f(double z, double alpha)
{
    return z > 0 ? z : alpha * expm1(z);
}

static double elu_df(double z, double alpha)
{
    return z > 0 ? 1 : alpha * exp(z);
}

ACTIVATION(elu, alpha_of)

const OpDef REAL_NAME(op_elu) = {
    .name = "elu",
    .sig = "x:T alpha:N=" XSTR(ELU_ALPHA),
    .doc = "x for x > 0, else alpha·(e^x - 1), elementwise (Clevert et al. 2016)",
    ACTIVATION_FIELDS(elu),
    .max_deriv = 1,  /* max(1, α): 1 at the default */
};

/* selu: λ·elu(z, α) with λ ≈ 1.0507, α ≈ 1.6733 (Klambauer et al. 2017,
 * eq. 2). sup f′ = λα, approached from z < 0. One-sided like elu. */
static double selu_f(double z, double k)
{
    (void)k;
    return SELU_LAMBDA * elu_f(z, SELU_ALPHA);
}

static double selu_df(double z, double k)
{
    (void)k;
    return SELU_LAMBDA * elu_df(z, SELU_ALPHA);
}

ACTIVATION(selu, no_param)

const OpDef REAL_NAME(op_selu) = {
    .name = "selu",
    .sig = "x:T",
    .doc = "scaled ELU with the self-normalising constants (Klambauer et al. 2017)",
    ACTIVATION_FIELDS(selu),
    .max_deriv = SELU_LAMBDA * SELU_ALPHA,
};

/* gelu: z·Φ(z), Φ the standard normal CDF, in its exact erf form
 * (Hendrycks & Gimpel 2016): f = z/2·(1 + erf(z/√2)), f′ = Φ(z) + z·φ(z).
 * sup f′ = Φ(√2) + √2·φ(√2) (where f″ = φ(z)(2 − z²) = 0). One-sided. */
static double gelu_f(double z, double k)
{
    (void)k;
    return 0.5 * z * (1 + erf(z * M_SQRT1_2));
}

static double gelu_df(double z, double k)
{
    (void)k;
    return 0.5 * (1 + erf(z * M_SQRT1_2)) + z * exp(-0.5 * z * z) * (0.5 * M_2_SQRTPI * M_SQRT1_2);
}

ACTIVATION(gelu, no_param)

const OpDef REAL_NAME(op_gelu) = {
    .name = "gelu",
    .sig = "x:T",
    .doc = "x·Φ(x), the exact Gaussian error linear unit (Hendrycks & Gimpel 2016)",
    ACTIVATION_FIELDS(gelu),
    .max_deriv = 1.1289041451851548,
};

/* softsign: z / (1 + |z|), f′ = 1/(1 + |z|)² (Bergstra et al. 2009; the
 * comparison in Glorot & Bengio 2010). f′ → 0 on both sides: saturating. */
static double softsign_f(double z, double k)
{
    (void)k;
    return z / (1 + fabs(z));
}

static double softsign_df(double z, double k)
{
    (void)k;
    return 1 / ((1 + fabs(z)) * (1 + fabs(z)));
}

ACTIVATION(softsign, no_param)

const OpDef REAL_NAME(op_softsign) = {
    .name = "softsign",
    .sig = "x:T",
    .doc = "x/(1 + |x|), elementwise; saturates on both sides",
    ACTIVATION_FIELDS(softsign),
    .max_deriv = 1,
    .saturating = true,
};

/* softplus: log(1 + e^z) (Dugas et al. 2001; Glorot et al. 2011), written
 * max(z, 0) + log1p(e^−|z|) so that e^z never overflows; f′ = σ(z).
 * One-sided (f′ → 1 as z → ∞), never exactly zero. */
static double softplus_f(double z, double k)
{
    (void)k;
    return fmax(z, 0) + log1p(exp(-fabs(z)));
}

static double softplus_df(double z, double k)
{
    (void)k;
    return sigmoid_act(z, NULL);
}

ACTIVATION(softplus, no_param)

const OpDef REAL_NAME(op_softplus) = {
    .name = "softplus",
    .sig = "x:T",
    .doc = "log(1 + e^x), elementwise, a smooth relu",
    ACTIVATION_FIELDS(softplus),
    .max_deriv = 1,  /* the supremum, approached as z → ∞ */
};

/* swish: z·σ(z) (Ramachandran et al. 2017, with β = 1; also SiLU),
 * f′ = σ(z)(1 + z(1 − σ(z))). sup f′ ≈ 1.0998 near z ≈ 2.40. One-sided. */
static double swish_f(double z, double k)
{
    (void)k;
    return z * sigmoid_act(z, NULL);
}

static double swish_df(double z, double k)
{
    (void)k;
    double s = sigmoid_act(z, NULL);
    return s * (1 + z * (1 - s));
}

ACTIVATION(swish, no_param)

const OpDef REAL_NAME(op_swish) = {
    .name = "swish",
    .sig = "x:T",
    .doc = "x·sigmoid(x), also SiLU (Ramachandran et al. 2017)",
    ACTIVATION_FIELDS(swish),
    .max_deriv = 1.0998393201289,  /* rounded up from 1.09983932012887 */
};

/* hard_tanh: z clipped to [−1, 1] (Collobert 2004); f′ = 1 inside, 0
 * outside (0 at the corners, as for relu). f′ is 0 on both sides:
 * saturating. Its outputs are ±1 there, not zero: no dead units. */
static double hard_tanh_f(double z, double k)
{
    (void)k;
    return z > 1 ? 1 : z < -1 ? -1 : z;
}

static double hard_tanh_df(double z, double k)
{
    (void)k;
    return z > -1 && z < 1;
}

ACTIVATION(hard_tanh, no_param)

const OpDef REAL_NAME(op_hard_tanh) = {
    .name = "hard_tanh",
    .sig = "x:T",
    .doc = "x clipped to [-1, 1], elementwise",
    ACTIVATION_FIELDS(hard_tanh),
    .max_deriv = 1,
    .saturating = true,
};
