/* attention.c — multi-head scaled dot-product self-attention over [T, d]
 * (Vaswani et al. 2017, §3.2):
 *
 *   Q = X·W_q + b_q,  K = X·W_k + b_k,  V = X·W_v + b_v        [T, d] each
 *   head h (columns h·d_h … (h+1)·d_h − 1 of Q, K, V; d_h = d/H):
 *     P_h = softmax(Q_h·K_hᵀ/√d_h) over the keys (row-wise), with the
 *           keys after the query masked out (−∞) when causal
 *     O_h = P_h·V_h
 *   Y = concat_h(O_h)·W_o + b_o                                 [T, d]
 *
 * Parameters W_q, W_k, W_v, W_o [d, d] from `init` (fan_in = fan_out = d,
 * each projection on its own, so `orthogonal` makes each one orthogonal),
 * and with bias = true b_q, b_k, b_v, b_o [d], zeros (PyTorch's
 * nn.MultiheadAttention has the same biases).
 *
 * Kernels: three GEMMs over the [batch·T, d] rows write Q, K and V side by
 * side into one [batch·T, 3d] buffer, so that every head's operands are
 * read in place with a leading dimension of 3d; per (example, head) one
 * GEMM gives the scores and one the head's output, which lands in its
 * column block of the [batch·T, d] context; one GEMM applies W_o. The
 * backward pass runs the same GEMMs transposed. The scale 1/√d_h rides in
 * the GEMMs' alpha. Saved from forward to backward (work): QKV, every
 * head's weights P and the context; the backward reuses the context's
 * memory for its gradient once dW_o is taken, and needs besides one
 * [batch·T, 3d] block for dQKV and one [T, T] block for a head's dP.
 * A probe's forward also keeps each row's entropy, for the report. */
#include "vg/blas.h"
#include "vg/ops.h"

#include <math.h>
#include <string.h>

enum { ATT_X, ATT_HEADS, ATT_CAUSAL, ATT_INIT, ATT_BIAS };
enum { P_WQ, P_WK, P_WV, P_WO, P_BQ, P_BK, P_BV, P_BO };

/* Dimensions and the regions of the work buffer. */
typedef struct Att {
    int b, t, d, heads, dh;
    int rows;          /* b·t */
    bool causal;
    real scale;        /* 1/√d_h */
    real *qkv;         /* [rows, 3d]: Q | K | V */
    real *p;           /* [b, heads, t, t]: the attention weights */
    real *ctx;         /* [rows, d]: the heads' outputs side by side;
                          dLoss/dctx in the backward pass */
    real *dqkv;        /* [rows, 3d] */
    real *dp;          /* [t, t]: one head's dP, then dS; in a probe's
                          forward, a row's exponentials */
    real *entropy;     /* [b, heads, t]: each row's entropy, after a probe */
} Att;

static Att att_of(const OpCtx *c)
{
    const IrNode *n = c->node;
    Att a = {.b = c->batch, .t = (int)n->shape.dim[0], .d = (int)n->shape.dim[1],
             .heads = (int)ir_arg_num(n, ATT_HEADS), .causal = ir_arg_bool(n, ATT_CAUSAL)};
    a.dh = a.d / a.heads;
    a.rows = a.b * a.t;
    a.scale = (real)(1 / sqrt((double)a.dh));
    size_t rows = (size_t)a.rows, d = (size_t)a.d, tt = (size_t)a.t * (size_t)a.t;
    a.qkv = c->work;
    a.p = a.qkv + rows * 3 * d;
    a.ctx = a.p + (size_t)a.b * (size_t)a.heads * tt;
    a.dqkv = a.ctx + rows * d;
    a.dp = a.dqkv + rows * 3 * d;
    a.entropy = a.dp + tt;
    return a;
}

static size_t attention_work(const IrNode *n, const IrGraph *g, int batch)
{
    (void)g;
    size_t t = (size_t)n->shape.dim[0], d = (size_t)n->shape.dim[1];
    size_t heads = (size_t)ir_arg_num(n, ATT_HEADS), rows = (size_t)batch * t;
    return rows * 3 * d + (size_t)batch * heads * t * t + rows * d + rows * 3 * d + t * t +
           (size_t)batch * heads * t;
}

static bool attention_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    Shape x = g->nodes[n->in[ATT_X]].shape;  /* [T, d]: the op's ranks */
    char buf[96];
    double heads = ir_arg_num(n, ATT_HEADS);
    long t = x.dim[0], f = x.dim[1];
    if (heads < 1 || heads != (long)heads || heads > f)
        return diag_error(d, n->span, "attention needs a whole number of heads from 1 to the "
                          "%ld features, got %s", f, DIAG_NUM(heads));
    long h = (long)heads;
    if (f % h != 0)
        return diag_error(d, n->span, "attention needs features divisible by heads, got %ld "
                          "features and %ld heads", f, h);
    /* W [d, d], Q|K|V [T, 3d] and one example's weights [heads, T, T] must
     * each fit BLAS's int */
    if ((double)f * (double)f > IR_MAX_ELEMS || 3.0 * (double)t * (double)f > IR_MAX_ELEMS ||
        (double)h * (double)t * (double)t > IR_MAX_ELEMS)
        return diag_error(d, n->span, "attention with %ld heads on a %s input is above the "
                          "limit of 2^31 elements per tensor", h, shape_str(x, buf, sizeof buf));
    n->shape = x;
    static const char *const weights[] = {"W_q", "W_k", "W_v", "W_o"};
    static const char *const biases[] = {"b_q", "b_k", "b_v", "b_o"};
    for (int k = 0; k < 4; k++)
        ir_add_param(g, node, weights[k], shape2(f, f), ir_arg_spec(n, ATT_INIT), f, f, true,
                     true);
    if (ir_arg_bool(n, ATT_BIAS))
        for (int k = 0; k < 4; k++)
            ir_add_param(g, node, biases[k], shape1(f), ir_default_spec(g, SPEC_ZEROS), f, f,
                         true, false);
    return true;
}

/* Y = X·W + b into columns of a [rows, ldy] buffer (b NULL: no bias). */
static void project(int rows, int d, const real *x, const real *w, const real *b, real *y,
                    int ldy)
{
    if (b)
        for (int i = 0; i < rows; i++)
            memcpy(y + (size_t)i * ldy, b, (size_t)d * sizeof *y);
    blas_gemm(false, false, rows, d, d, 1, x, d, w, d, b ? 1 : 0, y, ldy);
}

/* db += Σ_rows dY over a [rows, ldy] buffer's first d columns. */
static void bias_grad(int rows, int d, const real *dy, int ldy, real *db)
{
    for (int i = 0; i < rows; i++) {
        const real *row = dy + (size_t)i * ldy;
#pragma omp simd
        for (int j = 0; j < d; j++)
            db[j] += row[j];
    }
}

/* e[j] = e^(s[j] − max), j < n (e may be s): elementwise, so twice as
 * wide on AVX2 with the same result (vmath.h). */
static VMATH_WIDE void exp_shifted(const real *s, real *e, int n, real max)
{
#pragma omp simd
    for (int j = 0; j < n; j++)
        e[j] = real_vexp(s[j] - max);
}

/* One row of scores into weights over its first n entries (the keys a
 * query sees), the max subtracted first; the rest of the row's t become 0.
 * With entropy non-NULL (a probe), the exponentials go to scratch first,
 * and *entropy gets −Σ p_j ln p_j = ln Σ_k e_k − Σ_j p_j (s_j − max),
 * since ln p_j = (s_j − max) − ln Σ_k e_k: one logarithm a row, not one
 * an entry. */
static void softmax_row(real *s, int n, int t, real *scratch, real *entropy)
{
    real max = s[0];
#pragma omp simd reduction(max : max)
    for (int j = 1; j < n; j++)
        max = s[j] > max ? s[j] : max;
    real *e = entropy ? scratch : s;
    exp_shifted(s, e, n, max);
    real sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < n; j++)
        sum += e[j];
    real inv = 1 / sum;
    if (entropy) {
        double ez = 0;
#pragma omp simd reduction(+ : ez)
        for (int j = 0; j < n; j++)
            ez += (double)e[j] * (s[j] - max);
        *entropy = (real)(log((double)sum) - ez / (double)sum);
    }
#pragma omp simd
    for (int j = 0; j < n; j++)
        s[j] = e[j] * inv;
    for (int j = n; j < t; j++)
        s[j] = 0;
}

static void attention_forward(const OpCtx *c)
{
    Att a = att_of(c);
    int d = a.d, d3 = 3 * d, t = a.t;
    bool bias = c->node->nparam > P_BQ;
    for (int k = 0; k < 3; k++)
        project(a.rows, d, c->in[ATT_X], c->param[P_WQ + k], bias ? c->param[P_BQ + k] : NULL,
                a.qkv + (size_t)k * d, d3);
    for (int b = 0; b < a.b; b++)
        for (int h = 0; h < a.heads; h++) {
            const real *q = a.qkv + (size_t)b * t * d3 + (size_t)h * a.dh;
            real *p = a.p + ((size_t)b * a.heads + h) * t * t;
            /* S = Q_h·K_hᵀ/√d_h, then P = softmax(S) row by row */
            blas_gemm(false, true, t, t, a.dh, a.scale, q, d3, q + d, d3, 0, p, t);
            real *entropy = c->mode == EXEC_PROBE
                                ? a.entropy + ((size_t)b * a.heads + h) * t : NULL;
            for (int i = 0; i < t; i++)
                softmax_row(p + (size_t)i * t, a.causal ? i + 1 : t, t, a.dp,
                            entropy ? entropy + i : NULL);
            /* O_h = P·V_h, into the head's columns of the context */
            blas_gemm(false, false, t, a.dh, t, 1, p, t, q + 2 * d, d3, 0,
                      a.ctx + (size_t)b * t * d + (size_t)h * a.dh, d);
        }
    project(a.rows, d, a.ctx, c->param[P_WO], bias ? c->param[P_BO] : NULL, c->out, d);
}

static void attention_backward(const OpCtx *c)
{
    Att a = att_of(c);
    int d = a.d, d3 = 3 * d, t = a.t;
    bool bias = c->node->nparam > P_BQ;
    const real *dy = c->dout;
    /* dW_o += ctxᵀ·dY and db_o, then dctx = dY·W_oᵀ over the context */
    if (c->dparam[P_WO])
        blas_gemm(true, false, d, d, a.rows, 1, a.ctx, d, dy, d, 1, c->dparam[P_WO], d);
    if (bias && c->dparam[P_BO])
        bias_grad(a.rows, d, dy, d, c->dparam[P_BO]);
    blas_gemm(false, true, a.rows, d, d, 1, dy, d, c->param[P_WO], d, 0, a.ctx, d);
    for (int b = 0; b < a.b; b++)
        for (int h = 0; h < a.heads; h++) {
            size_t at = (size_t)b * t * d3 + (size_t)h * a.dh;
            const real *q = a.qkv + at, *k = q + d, *v = q + 2 * d;
            real *dq = a.dqkv + at, *dk = dq + d, *dv = dq + 2 * d;
            const real *p = a.p + ((size_t)b * a.heads + h) * t * t;
            const real *dout = a.ctx + (size_t)b * t * d + (size_t)h * a.dh;
            /* dV_h = Pᵀ·dO_h, dP = dO_h·V_hᵀ */
            blas_gemm(true, false, t, a.dh, t, 1, p, t, dout, d, 0, dv, d3);
            blas_gemm(false, true, t, t, a.dh, 1, dout, d, v, d3, 0, a.dp, t);
            /* dS = P ⊙ (dP − Σ_j dP_j P_j) per row, the softmax Jacobian
             * (masked entries have P = 0, so their dS is 0) */
            for (int i = 0; i < t; i++) {
                real *ds = a.dp + (size_t)i * t;
                const real *pi = p + (size_t)i * t;
                real dot = 0;
#pragma omp simd reduction(+ : dot)
                for (int j = 0; j < t; j++)
                    dot += ds[j] * pi[j];
#pragma omp simd
                for (int j = 0; j < t; j++)
                    ds[j] = pi[j] * (ds[j] - dot);
            }
            /* dQ_h = dS·K_h/√d_h, dK_h = dSᵀ·Q_h/√d_h */
            blas_gemm(false, false, t, a.dh, t, a.scale, a.dp, t, k, d3, 0, dq, d3);
            blas_gemm(true, false, t, a.dh, t, a.scale, a.dp, t, q, d3, 0, dk, d3);
        }
    const real *x = c->in[ATT_X];
    for (int k = 0; k < 3; k++) {
        const real *dproj = a.dqkv + (size_t)k * d;
        if (c->dparam[P_WQ + k])  /* dW += Xᵀ·dQ (K, V) */
            blas_gemm(true, false, d, d, a.rows, 1, x, d, dproj, d3, 1, c->dparam[P_WQ + k], d);
        if (bias && c->dparam[P_BQ + k])
            bias_grad(a.rows, d, dproj, d3, c->dparam[P_BQ + k]);
        if (c->din[ATT_X])  /* dX (+)= dQ·W_qᵀ + dK·W_kᵀ + dV·W_vᵀ */
            blas_gemm(false, true, a.rows, d, d, 1, dproj, d3, c->param[P_WQ + k], d,
                      k == 0 ? op_din_keep(c, ATT_X) : 1, c->din[ATT_X], d);
    }
}

/* Σ over every (example, head, query) row of its entropy, which the
 * probe's forward kept (softmax_row). */
static void attention_entropy(const OpCtx *c, double *sum, long *rows)
{
    Att a = att_of(c);
    size_t n = (size_t)a.b * (size_t)a.heads * (size_t)a.t;
    double s = 0;
    for (size_t r = 0; r < n; r++)
        s += a.entropy[r];
    *sum = s;
    *rows = (long)n;
}

const OpDef REAL_NAME(op_attention) = {
    .name = "attention",
    .sig = "x:T heads:I causal:B=false init:Z=xavier_uniform bias:B=true",
    .doc = "multi-head scaled dot-product self-attention with Q, K, V and output projections "
           "(Vaswani et al. 2017): [T, d] -> [T, d]",
    .kind = OPK_LAYER,
    .ranks = OP_RANK(2),
    .infer = attention_infer,
    .work_floats = attention_work,
    .forward = attention_forward,
    .backward = attention_backward,
    .attention_entropy = attention_entropy,
};
