/* recurrent.c — rnn, lstm and gru over [T, F] inputs, returning [T, U].
 *
 * Fused kernels (DESIGN.md): one GEMM computes every time step's input
 * projection at once, A = X·W_ih + b over the [batch·T, F] rows, and one
 * GEMM per step adds the recurrence, S = h_{t−1}·W_hh. The node's buffers
 * stay batch-major, [batch, T, units]: the per-step GEMMs read h_{t−1} in
 * place from the output with a leading dimension of T·units, so nothing is
 * transposed. Backward runs the steps in reverse (BPTT), collects the
 * gates' pre-activation gradients dA for all steps, and ends with one GEMM
 * each for dX = dA·W_ihᵀ and dW_ih = Xᵀ·dA; per step, dh_{t−1} += dS·W_hhᵀ
 * and dW_hh += h_{t−1}ᵀ·dS. The initial state is zero.
 *
 * Parameters (G gates of U units, gate-major along the columns):
 *   W_ih [F, G·U]  init `init` with fan_in = F, fan_out = U (per gate)
 *   W_hh [U, G·U]  init `recurrent_init` with fan_in = fan_out = U; the
 *                  stacked [U, G·U] matrix is what `orthogonal` sees (rows
 *                  orthonormal), as in Keras
 *   b_<gate> [U]   one bias per gate, zeros (lstm's b_f: forget_bias)
 * Gate order: rnn (one gate); lstm i, f, g, o; gru r, z, n, plus b_hn.
 *
 *   rnn  h_t = act(x_t·W_ih + h_{t−1}·W_hh + b)             (Elman 1990)
 *   lstm i, f, o = σ(·), g = tanh(x_t·W_ih + h_{t−1}·W_hh + b per gate),
 *        c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t)
 *        (Hochreiter & Schmidhuber 1997 with the forget gate of Gers et al.
 *        2000; no peepholes; forget bias as in Jozefowicz et al. 2015)
 *   gru  r, z = σ(x_t·W_i{r,z} + b_{r,z} + h_{t−1}·W_h{r,z}),
 *        n = tanh(x_t·W_in + b_n + r ⊙ (h_{t−1}·W_hn + b_hn)),
 *        h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
 *        (Cho et al. 2014 with r applied after the hidden projection, as
 *        in PyTorch and cuDNN; b_hn is the one hidden-side bias that is not
 *        redundant with the input-side ones.)
 *
 * During a probe's backward, bptt[t] receives ‖dLoss/dh_t‖ over the batch:
 * the total gradient, from the output at step t plus what flows back from
 * step t + 1. Only reports read it, so training steps skip it. */
#include "vg/blas.h"
#include "vg/ops.h"

#include <math.h>
#include <string.h>

enum { REC_X, REC_UNITS };
enum { P_WIH, P_WHH, P_BIAS };  /* biases: P_BIAS + gate; gru's b_hn after them */
enum { LSTM_FORGET_BIAS = 2 };
enum { I, F, G, O };  /* lstm's gates */
enum { R, Z, N };     /* gru's gates */

/* The op-specific part: gate count, extra saved floats per row (lstm's
 * cell state, gru's h_{t−1}·W_hn + b_hn) and per batch row (lstm's dc),
 * where the init arguments sit, and the per-step cells. */
typedef struct Rec Rec;
typedef struct Cell {
    int gates, extra_row, extra_batch;
    int init_slot;              /* `init`; `recurrent_init` follows */
    void (*forward)(const Rec *r, const OpCtx *c, int t);
    void (*backward)(const Rec *r, const OpCtx *c, int t);
} Cell;

/* Dimensions and the regions of the work buffer. */
struct Rec {
    int b, t, f, u;
    size_t gu;          /* gates · units */
    real *a;           /* [b·t, gu]: pre-activations, then gate values */
    real *da;          /* [b·t, gu]: gradients of the gate pre-activations,
                           in the same buffer as a: the cell backward of step
                           t reads a row's gates into locals, then writes
                           their gradients over them, and nothing reads the
                           gates of step t after that — a third of an
                           LSTM's saved state */
    real *s;           /* [b, gu]: h_{t−1}·W_hh (forward), dS (backward) */
    real *dh;          /* [b, u]: dLoss/dh carried to the previous step */
    real *extra;       /* [b·t, extra_row] */
    real *dextra;      /* [b, extra_batch] */
    real *zero;        /* [u] zeros: the states before step 0 (h_{−1}, c_{−1}),
                           read like any other step's so that the cell
                           loops have no branch on t and vectorise */
};

static const Cell *cell_of(int op);

static size_t rec_floats(const Cell *cell, size_t rows, size_t batch, size_t u)
{
    size_t gu = (size_t)cell->gates * u;
    return rows * gu + batch * gu + batch * u + rows * u * (size_t)cell->extra_row +
           batch * u * (size_t)cell->extra_batch + u;
}

static Rec rec_of(const OpCtx *c)
{
    Shape x = c->g->nodes[c->node->in[REC_X]].shape;
    const Cell *cell = cell_of(c->node->op);
    Rec r = {.b = c->batch, .t = (int)x.dim[0], .f = (int)x.dim[1],
             .u = (int)c->node->shape.dim[1]};
    size_t rows = (size_t)r.b * r.t, u = (size_t)r.u;
    r.gu = (size_t)cell->gates * u;
    r.a = c->work;
    r.da = r.a;
    r.s = r.a + rows * r.gu;
    r.dh = r.s + (size_t)r.b * r.gu;
    r.extra = r.dh + (size_t)r.b * u;
    r.dextra = r.extra + rows * u * (size_t)cell->extra_row;
    r.zero = r.dextra + (size_t)r.b * u * (size_t)cell->extra_batch;
    return r;
}

static size_t rec_work(const IrNode *n, const IrGraph *g, int batch)
{
    long t = g->nodes[n->in[REC_X]].shape.dim[0];
    return rec_floats(cell_of(n->op), (size_t)batch * (size_t)t, (size_t)batch,
                      (size_t)n->shape.dim[1]);
}

/* Row (b, t) of a [batch, T, width] buffer. */
static size_t row(const Rec *r, int b, int t)
{
    return (size_t)b * (size_t)r->t + (size_t)t;
}

/* h_{t−1} of batch row b; at t = 0 the zero initial state. */
static const real *h_prev(const Rec *r, const OpCtx *c, int b, int t)
{
    return t > 0 ? c->out + row(r, b, t - 1) * (size_t)r->u : r->zero;
}

/* ---- shape inference and parameters ---- */

static const char *const gate_bias_names[][4] = {
    [1] = {"b"}, [3] = {"b_r", "b_z", "b_n"}, [4] = {"b_i", "b_f", "b_g", "b_o"},
};

static bool rec_infer(IrGraph *g, int node, DiagSink *d)
{
    IrNode *n = &g->nodes[node];
    const Cell *cell = cell_of(n->op);
    const char *name = op_def(n->op)->name;
    Shape x = g->nodes[n->in[REC_X]].shape;
    double units = ir_arg_num(n, REC_UNITS);
    if (units < 1 || units != (long)units || units > IR_MAX_ELEMS)
        return diag_error(d, n->span, "%s needs a whole number of units from 1 to 2^31 - 1, "
                          "got %s", name, DIAG_NUM(units));
    long t = x.dim[0], f = x.dim[1], u = (long)units, gu = cell->gates * u;
    /* W_ih, W_hh and one example's gates [T, G·U] must each fit BLAS's int */
    if ((double)gu * (double)(f > u ? f : u) > IR_MAX_ELEMS ||
        (double)gu * (double)t > IR_MAX_ELEMS)
        return diag_error(d, n->span, "%s with %ld units on a [%ld, %ld] input is above the "
                          "limit of 2^31 elements per tensor", name, u, t, f);
    n->shape = shape2(t, u);
    ir_add_param(g, node, "W_ih", shape2(f, gu), ir_arg_spec(n, cell->init_slot), f, u, true,
                 true);
    ir_add_param(g, node, "W_hh", shape2(u, gu), ir_arg_spec(n, cell->init_slot + 1), u, u,
                 true, true);
    for (int k = 0; k < cell->gates; k++) {
        const Spec *init = n->op == OP_LSTM && k == F
                               ? op_constant_init(g, ir_arg_num(n, LSTM_FORGET_BIAS))
                               : ir_default_spec(g, SPEC_ZEROS);
        ir_add_param(g, node, gate_bias_names[cell->gates][k], shape1(u), init, f, u, true,
                     false);
    }
    if (n->op == OP_GRU)
        ir_add_param(g, node, "b_hn", shape1(u), ir_default_spec(g, SPEC_ZEROS), u, u, true,
                     false);
    return true;
}

/* ---- the shared sweeps ---- */

static void rec_forward(const OpCtx *c)
{
    const Cell *cell = cell_of(c->node->op);
    Rec r = rec_of(c);
    int rows = r.b * r.t, gu = (int)r.gu, u = r.u;
    /* zeroed by every forward, not once: a plan of another batch over the
     * same block (exec_plan_view) may have written there since */
    memset(r.zero, 0, (size_t)u * sizeof(real));
    for (int i = 0; i < rows; i++)
        for (int k = 0; k < cell->gates; k++)
            memcpy(r.a + (size_t)i * r.gu + (size_t)k * u, c->param[P_BIAS + k],
                   (size_t)u * sizeof(real));
    /* A = X·W_ih + b, every step at once */
    blas_gemm(false, false, rows, gu, r.f, 1, c->in[REC_X], r.f, c->param[P_WIH], gu, 1, r.a,
               gu);
    for (int t = 0; t < r.t; t++) {
        if (t == 0)
            memset(r.s, 0, (size_t)r.b * r.gu * sizeof(real));
        else  /* S = H_{t−1}·W_hh, reading h_{t−1} in place (row stride T·U) */
            blas_gemm(false, false, r.b, gu, u, 1, c->out + (size_t)(t - 1) * u, r.t * u,
                       c->param[P_WHH], gu, 0, r.s, gu);
        cell->forward(&r, c, t);
    }
}

/* ‖dh_t‖ over the batch, into bptt[t]. */
static void record_bptt(const Rec *r, const OpCtx *c, int t)
{
    double s = 0;
    for (size_t i = 0, n = (size_t)r->b * (size_t)r->u; i < n; i++)
        s += (double)r->dh[i] * r->dh[i];
    c->bptt[t] = (real)sqrt(s);
}

static void rec_backward(const OpCtx *c)
{
    const Cell *cell = cell_of(c->node->op);
    Rec r = rec_of(c);
    int rows = r.b * r.t, gu = (int)r.gu, u = r.u;
    memset(r.dh, 0, (size_t)r.b * (size_t)u * sizeof(real));
    memset(r.dextra, 0, (size_t)r.b * (size_t)u * (size_t)cell->extra_batch * sizeof(real));
    for (int t = r.t - 1; t >= 0; t--) {
        /* the total dLoss/dh_t: from the output, plus from step t + 1 */
        for (int b = 0; b < r.b; b++) {
            real *dh = r.dh + (size_t)b * u;
            const real *dy = c->dout + row(&r, b, t) * (size_t)u;
#pragma omp simd  /* dh and dout never overlap, which gcc cannot prove */
            for (int j = 0; j < u; j++)
                dh[j] += dy[j];
        }
        if (c->bptt && c->mode == EXEC_PROBE)
            record_bptt(&r, c, t);
        /* fills dA at step t and dS, and leaves in dh the part of dh_{t−1}
         * that does not pass through W_hh */
        cell->backward(&r, c, t);
        if (t == 0)
            continue;
        /* dh_{t−1} += dS·W_hhᵀ */
        blas_gemm(false, true, r.b, u, gu, 1, r.s, gu, c->param[P_WHH], gu, 1, r.dh, u);
        if (c->dparam[P_WHH])  /* dW_hh += H_{t−1}ᵀ·dS, h_{t−1} read in place */
            blas_gemm(true, false, u, gu, r.b, 1, c->out + (size_t)(t - 1) * u, r.t * u, r.s,
                       gu, 1, c->dparam[P_WHH], gu);
    }
    if (c->din[REC_X])  /* dX (+)= dA·W_ihᵀ */
        blas_gemm(false, true, rows, r.f, gu, 1, r.da, gu, c->param[P_WIH], gu,
                   op_din_keep(c, REC_X), c->din[REC_X], r.f);
    if (c->dparam[P_WIH])  /* dW_ih += Xᵀ·dA */
        blas_gemm(true, false, r.f, gu, rows, 1, c->in[REC_X], r.f, r.da, gu, 1,
                   c->dparam[P_WIH], gu);
    /* db_gate += Σ_rows dA_gate, row by row; rows outside, so that dA is
     * read once, in order (gates outside read it gates times, strided) */
    for (int i = 0; i < rows; i++)
        for (int k = 0; k < cell->gates; k++) {
            real *db = c->dparam[P_BIAS + k];
            const real *da = r.da + (size_t)i * r.gu + (size_t)k * u;
            if (!db)
                continue;
#pragma omp simd
            for (int j = 0; j < u; j++)
                db[j] += da[j];
        }
}

/* ---- the parts' statistics for the report (ops.h) ---- */

enum { RNN_ACT = 2 };

static const OpDef *rnn_act(const OpCtx *c)
{
    return op_def(c->node->args[RNN_ACT].op);
}

/* How a part's values relate to its local derivative: a gate y = σ(·) has
 * σ′ = y(1 − y) (maximum 1/4), a tanh output y has 1 − y² (maximum 1), and
 * for the lstm cell the saved c_t is passed through tanh first. */
typedef enum PartKind { PART_SIGMOID, PART_TANH, PART_TANH_OF } PartKind;

/* The mean and saturated fraction of the u values at column `col` of every
 * saved row (stride floats apart), into s's entry p. */
static void part_stat(const Rec *r, const real *base, size_t stride, PartKind kind,
                      RecurrentPart p, RecurrentStats *s)
{
    size_t rows = (size_t)r->b * (size_t)r->t;
    real floor = kind == PART_SIGMOID ? 0.01f * 0.25f : 0.01f;
    double sum = 0;
    long below = 0;
    for (size_t i = 0; i < rows; i++) {
        const real *v = base + i * stride;
        for (int j = 0; j < r->u; j++) {
            real y = kind == PART_TANH_OF ? real_tanh(v[j]) : v[j];
            real d = kind == PART_SIGMOID ? y * (1 - y) : 1 - y * y;
            sum += y;
            below += d < floor;
        }
    }
    double n = (double)rows * (double)r->u;
    s->mean[p] = sum / n;
    s->saturation[p] = (double)below / n;
}

static void rec_part_stats(const OpCtx *c, RecurrentStats *s)
{
    Rec r = rec_of(c);
    for (int p = 0; p < RP_COUNT; p++)
        s->mean[p] = s->saturation[p] = NAN;
    size_t u = (size_t)r.u;
    switch (c->node->op) {
    case OP_LSTM:
        part_stat(&r, r.a + I * u, r.gu, PART_SIGMOID, RP_INPUT_GATE, s);
        part_stat(&r, r.a + F * u, r.gu, PART_SIGMOID, RP_FORGET_GATE, s);
        part_stat(&r, r.a + O * u, r.gu, PART_SIGMOID, RP_OUTPUT_GATE, s);
        part_stat(&r, r.extra, u, PART_TANH_OF, RP_CELL, s);
        break;
    case OP_GRU:
        part_stat(&r, r.a + Z * u, r.gu, PART_SIGMOID, RP_UPDATE_GATE, s);
        part_stat(&r, r.a + R * u, r.gu, PART_SIGMOID, RP_RESET_GATE, s);
        break;
    default: {  /* rnn: A holds the pre-activations z */
        const OpDef *act = rnn_act(c);
        if (!act->saturating)
            break;
        size_t rows = (size_t)r.b * (size_t)r.t;
        long below = 0;
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < u; j++)
                below += act->deriv(r.a[i * r.gu + j], c->node) < 0.01 * act->max_deriv;
        s->saturation[RP_ACTIVATION] = (double)below / ((double)rows * (double)u);
    }
    }
}

/* ---- rnn ---- */

/* z = A + S is kept in A; h = act(z) with the activation's defaults. */
static void rnn_cell_forward(const Rec *r, const OpCtx *c, int t)
{
    const OpDef *act = rnn_act(c);
    for (int b = 0; b < r->b; b++) {
        real *z = r->a + row(r, b, t) * r->gu, *h = c->out + row(r, b, t) * (size_t)r->u;
        const real *s = r->s + (size_t)b * r->gu;
        for (int j = 0; j < r->u; j++) {
            z[j] += s[j];
            h[j] = (real)act->act(z[j], c->node);
        }
    }
}

/* dz = dh ⊙ act′(z); dA_t = dS = dz; nothing bypasses W_hh */
static void rnn_cell_backward(const Rec *r, const OpCtx *c, int t)
{
    const OpDef *act = rnn_act(c);
    for (int b = 0; b < r->b; b++) {
        const real *z = r->a + row(r, b, t) * r->gu;
        real *da = r->da + row(r, b, t) * r->gu, *ds = r->s + (size_t)b * r->gu;
        real *dh = r->dh + (size_t)b * r->u;
        for (int j = 0; j < r->u; j++) {
            da[j] = ds[j] = dh[j] * (real)act->deriv(z[j], c->node);
            dh[j] = 0;
        }
    }
}

static const Cell rnn_cell = {
    .gates = 1, .init_slot = 3, .forward = rnn_cell_forward, .backward = rnn_cell_backward,
};

const OpDef REAL_NAME(op_rnn) = {
    .name = "rnn",
    .sig = "x:T units:I act:A=tanh init:Z=xavier_uniform recurrent_init:Z=orthogonal",
    .doc = "Elman recurrent layer over [T, F]: h_t = act(x_t·W_ih + h_{t-1}·W_hh + b)",
    .kind = OPK_RECURRENT,
    .ranks = OP_RANK(2),
    .infer = rec_infer,
    .work_floats = rec_work,
    .forward = rec_forward,
    .backward = rec_backward,
    .part_stats = rec_part_stats,
};

/* ---- lstm ---- */


/* A_t holds i, f, g, o after their nonlinearities; extra holds c_t. The
 * gate loops of the cells vectorise (omp simd over vmath.h's inline σ and
 * tanh): with libm's calls they were most of an LSTM step. The lstm and
 * gru cells are VMATH_WIDE: an AVX2 copy of each, picked at run time,
 * runs those compute-bound loops 8 floats wide. */
VMATH_WIDE static void lstm_cell_forward(const Rec *r, const OpCtx *c, int t)
{
    int u = r->u;
    for (int b = 0; b < r->b; b++) {
        real *a = r->a + row(r, b, t) * r->gu, *cell = r->extra + row(r, b, t) * (size_t)u;
        const real *s = r->s + (size_t)b * r->gu;
        const real *cp = t > 0 ? cell - u : r->zero;
        real *h = c->out + row(r, b, t) * (size_t)u;
#pragma omp simd
        for (int j = 0; j < u; j++) {
            real i = real_sigmoid(a[I * u + j] + s[I * u + j]);
            real f = real_sigmoid(a[F * u + j] + s[F * u + j]);
            real g = real_tanh(a[G * u + j] + s[G * u + j]);
            real o = real_sigmoid(a[O * u + j] + s[O * u + j]);
            a[I * u + j] = i, a[F * u + j] = f, a[G * u + j] = g, a[O * u + j] = o;
            cell[j] = f * cp[j] + i * g;
            h[j] = o * real_tanh(cell[j]);
        }
    }
}

/* With τ = tanh(c_t): do = dh ⊙ τ, dc += dh ⊙ o ⊙ (1 − τ²), di = dc ⊙ g,
 * dg = dc ⊙ i, df = dc ⊙ c_{t−1}, and dc_{t−1} = dc ⊙ f; each gate's
 * pre-activation gradient multiplies by σ′ = y(1 − y) or tanh′ = 1 − y². */
VMATH_WIDE static void lstm_cell_backward(const Rec *r, const OpCtx *c, int t)
{
    int u = r->u;
    (void)c;
    for (int b = 0; b < r->b; b++) {
        const real *a = r->a + row(r, b, t) * r->gu;
        const real *cell = r->extra + row(r, b, t) * (size_t)u;
        const real *cp = t > 0 ? cell - u : r->zero;
        real *da = r->da + row(r, b, t) * r->gu, *ds = r->s + (size_t)b * r->gu;
        real *dh = r->dh + (size_t)b * u, *dc = r->dextra + (size_t)b * u;
#pragma omp simd
        for (int j = 0; j < u; j++) {
            real i = a[I * u + j], f = a[F * u + j], g = a[G * u + j], o = a[O * u + j];
            real tau = real_tanh(cell[j]);
            real dcj = dc[j] + dh[j] * o * (1 - tau * tau);
            ds[I * u + j] = da[I * u + j] = dcj * g * i * (1 - i);
            ds[F * u + j] = da[F * u + j] = dcj * cp[j] * f * (1 - f);
            ds[G * u + j] = da[G * u + j] = dcj * i * (1 - g * g);
            ds[O * u + j] = da[O * u + j] = dh[j] * tau * o * (1 - o);
            dc[j] = dcj * f;
            dh[j] = 0;
        }
    }
}

static const Cell lstm_cell = {
    .gates = 4, .extra_row = 1, .extra_batch = 1, .init_slot = 3,
    .forward = lstm_cell_forward, .backward = lstm_cell_backward,
};

const OpDef REAL_NAME(op_lstm) = {
    .name = "lstm",
    .sig = "x:T units:I forget_bias:N=1 init:Z=xavier_uniform recurrent_init:Z=orthogonal",
    .doc = "long short-term memory over [T, F] with a forget gate (Hochreiter & Schmidhuber 1997)",
    .kind = OPK_RECURRENT,
    .ranks = OP_RANK(2),
    .infer = rec_infer,
    .work_floats = rec_work,
    .forward = rec_forward,
    .backward = rec_backward,
    .part_stats = rec_part_stats,
};

/* ---- gru ---- */

enum { P_BHN = P_BIAS + 3 };

/* A_t holds r, z, n after their nonlinearities; extra holds
 * hn = h_{t−1}·W_hn + b_hn. */
VMATH_WIDE static void gru_cell_forward(const Rec *r, const OpCtx *c, int t)
{
    int u = r->u;
    const real *bhn = c->param[P_BHN];
    for (int b = 0; b < r->b; b++) {
        real *a = r->a + row(r, b, t) * r->gu, *hn = r->extra + row(r, b, t) * (size_t)u;
        const real *s = r->s + (size_t)b * r->gu, *hp = h_prev(r, c, b, t);
        real *h = c->out + row(r, b, t) * (size_t)u;
#pragma omp simd
        for (int j = 0; j < u; j++) {
            real rg = real_sigmoid(a[R * u + j] + s[R * u + j]);
            real z = real_sigmoid(a[Z * u + j] + s[Z * u + j]);
            hn[j] = s[N * u + j] + bhn[j];
            real n = real_tanh(a[N * u + j] + rg * hn[j]);
            a[R * u + j] = rg, a[Z * u + j] = z, a[N * u + j] = n;
            h[j] = (1 - z) * n + z * hp[j];
        }
    }
}

/* dn = dh ⊙ (1 − z), dz = dh ⊙ (h_{t−1} − n), and dh_{t−1} gets dh ⊙ z
 * directly; dn_pre = dn ⊙ (1 − n²), dr = dn_pre ⊙ hn. The hidden side of
 * n is r ⊙ hn, so dS_n = dn_pre ⊙ r (also db_hn's share). */
VMATH_WIDE static void gru_cell_backward(const Rec *r, const OpCtx *c, int t)
{
    int u = r->u;
    real *dbhn = c->dparam[P_BHN];
    for (int b = 0; b < r->b; b++) {
        const real *a = r->a + row(r, b, t) * r->gu, *hn = r->extra + row(r, b, t) * (size_t)u;
        const real *hp = h_prev(r, c, b, t);
        real *da = r->da + row(r, b, t) * r->gu, *ds = r->s + (size_t)b * r->gu;
        real *dh = r->dh + (size_t)b * u;
#pragma omp simd
        for (int j = 0; j < u; j++) {
            real rg = a[R * u + j], z = a[Z * u + j], n = a[N * u + j];
            real dn = dh[j] * (1 - z) * (1 - n * n);
            real dz = dh[j] * (hp[j] - n) * z * (1 - z);
            real dr = dn * hn[j] * rg * (1 - rg);
            ds[R * u + j] = da[R * u + j] = dr;
            ds[Z * u + j] = da[Z * u + j] = dz;
            da[N * u + j] = dn;
            ds[N * u + j] = dn * rg;
            dh[j] *= z;
        }
        if (dbhn)  /* db_hn += dS_n */
            for (int j = 0; j < u; j++)
                dbhn[j] += ds[N * u + j];
    }
}

static const Cell gru_cell = {
    .gates = 3, .extra_row = 1, .init_slot = 2,
    .forward = gru_cell_forward, .backward = gru_cell_backward,
};

const OpDef REAL_NAME(op_gru) = {
    .name = "gru",
    .sig = "x:T units:I init:Z=xavier_uniform recurrent_init:Z=orthogonal",
    .doc = "gated recurrent unit over [T, F], PyTorch's variant (Cho et al. 2014)",
    .kind = OPK_RECURRENT,
    .ranks = OP_RANK(2),
    .infer = rec_infer,
    .work_floats = rec_work,
    .forward = rec_forward,
    .backward = rec_backward,
    .part_stats = rec_part_stats,
};

static const Cell *cell_of(int op)
{
    return op == OP_LSTM ? &lstm_cell : op == OP_GRU ? &gru_cell : &rnn_cell;
}
