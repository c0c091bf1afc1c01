/* gradcheck.c — every parameter gradient against central differences, in
 * float64.
 *
 * Why float64: in float32 a loss carries rounding of 2^-24·|L|, so a
 * central difference with a step large enough to rise above it (1e-3) is
 * good only to about 1e-4·max(1, |L|) — and that is above the gradients of
 * a deep vanishing net, and across the many kinks of a deep relu stack a
 * step of 1e-3 crosses corners. So the check runs on the float64 twin of
 * the executor and the kernels (the same source, compiled with
 * VG_REAL_DOUBLE: include/vg/real.h), as PyTorch's gradcheck asks for
 * double: the parameters are initialised in float, as a run's are, and
 * widened; the analytic gradient is the twin's backward pass, and the
 * numeric one a central difference of its loss with a step of
 * h = GRADCHECK_STEP·max(1, |θ|), Richardson-extrapolated from the
 * differences D(h) and D(2h): (4·D(h) − D(2h))/3, whose truncation error is
 * O(h⁴). |D(h) − D(2h)| estimates the error of the difference itself: the
 * check prints the worst such estimate as its own precision.
 *
 * An entry's error is |analytic − numeric| / max(|analytic|, |numeric|,
 * GRADCHECK_FLOOR·max(1, |L|)): gradients below the floor, where float64
 * rounding of L (about 1e-16·|L| per operation, divided by h) is of their
 * order, are compared absolutely. The quotients use the steps actually
 * taken ((θ ± h) − θ), not the nominal ones.
 *
 * Kinks: relu, leaky_relu, hard_tanh and elu (α ≠ 1) have corners, and a
 * step that crosses one makes the difference wrong while the backward pass
 * is right. An entry above the tolerance is tried again with a tenth of
 * the step, where a corner is ten times less likely to fall and a wrong
 * formula still fails. If both fail and, at either step, the one-sided
 * differences (L(θ+h) − L(θ))/h and (L(θ) − L(θ−h))/h disagree by more than
 * the error, or D(h) and D(2h) disagree by more than the tolerance — the
 * signatures of a corner inside ±2h — the entry is counted as a kink and
 * skipped. A wrong formula on a smooth loss leaves both in agreement (to
 * the precision the check prints) and is reported.
 *
 * Dropout draws the same masks on every forward pass (the executor's
 * generator is reset before each), and batchnorm uses batch statistics, as
 * in training. */
#define VG_REAL_DOUBLE  /* this file works on the float64 twin (real.h) */
#include "vg/gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "vg/exec.h"
#include "vg/init.h"
#include "vg/ops.h"
#include "vg/rng.h"

enum { DEFAULT_BATCH = 4, DEFAULT_ENTRIES = 64 };

bool gradcheck_attach_loss(IrGraph *g, int loss, DiagSink *d)
{
    if (g->output < 0)
        return diag_error(d, SPAN_NONE, "model '%s' has no output", g->name);
    Shape out = g->nodes[g->output].shape;
    if (loss < 0)
        loss = out.rank == 1 && out.dim[0] >= 2 ? OP_CROSS_ENTROPY : OP_MSE;
    Shape target = out;
    if (loss == OP_CROSS_ENTROPY)
        target = shape1(out.rank == 1 ? 1 : out.dim[0]);
    return ir_add_loss(g, loss, target, SPAN_NONE, d);
}

/* Inputs N(0, 1), or uniform token ids when an embedding reads them;
 * targets: class indices for cross_entropy, U[0, 1] for bce, N(0, 1) for
 * mse. */
static void fill_batch(Exec *e, uint64_t seed)
{
    const IrGraph *g = e->g;
    Rng r;
    rng_derive(&r, seed, RNG_DATA);
    real *x = exec_source(e, g->input);
    long vocab = op_token_limit(g, g->input, NULL);
    for (size_t i = 0, n = (size_t)e->batch * shape_size(g->nodes[g->input].shape); i < n; i++)
        x[i] = vocab > 0 ? (float)rng_below(&r, (uint64_t)vocab)
                         : (float)rng_normal(&r);  /* the inputs a float run would see */
    Shape out = g->nodes[g->output].shape;
    int loss = g->nodes[g->loss].op;
    real *t = exec_source(e, g->target);
    for (size_t i = 0, n = (size_t)e->batch * shape_size(g->nodes[g->target].shape); i < n; i++)
        t[i] = loss == OP_CROSS_ENTROPY ? (float)rng_below(&r, (uint64_t)out.dim[out.rank - 1])
             : loss == OP_BCE ? (float)rng_uniform(&r)
             : (float)rng_normal(&r);
}

/* The training-mode loss, with the dropout masks of `masks`. */
static double loss_at(Exec *e, Rng masks)
{
    e->rng = masks;
    exec_forward(e, EXEC_TRAIN);
    return exec_loss(e);
}

/* Parameters initialised in float from their inits, as a run's are, and
 * widened to the twin's doubles. */
static void init_params(ParamStore *ps, const IrGraph *g, Rng *rng)
{
    size_t most = 1;
    for (int i = 0; i < g->nparams; i++)
        if (shape_size(g->params[i].shape) > most)
            most = shape_size(g->params[i].shape);
    float *w = xmalloc(most * sizeof *w);
    for (int i = 0; i < g->nparams; i++) {
        const IrParam *p = &g->params[i];
        init_fill(p, w, rng);
        for (size_t k = 0; k < shape_size(p->shape); k++)
            ps->value[p->offset + k] = w[k];
    }
    free(w);
}

/* One entry at step h·max(1, |θ|): its error, the estimated error of the
 * difference on the same scale, and whether the one-sided differences
 * disagree by more than the error (see the top of the file). */
typedef struct Entry {
    double err, precision;
    bool kink;
} Entry;

/* L(θ + d) − L(θ) for entry i, and the step d actually taken. */
static double loss_moved(Exec *e, real *v, size_t i, double d, Rng masks, double l0,
                         double *taken)
{
    real keep = v[i];
    v[i] = keep + d;
    *taken = v[i] - keep;
    double l = loss_at(e, masks);
    v[i] = keep;
    return l - l0;
}

static Entry entry_at(Exec *e, real *v, size_t i, double analytic, double l0, Rng masks,
                      double step)
{
    double h = step * fmax(1, fabs(v[i])), up, down, up2, down2;
    double dp = loss_moved(e, v, i, h, masks, l0, &up);
    double dm = loss_moved(e, v, i, -h, masks, l0, &down);
    double dp2 = loss_moved(e, v, i, 2 * h, masks, l0, &up2);
    double dm2 = loss_moved(e, v, i, -2 * h, masks, l0, &down2);
    double d1 = (dp - dm) / (up - down), d2 = (dp2 - dm2) / (up2 - down2);
    double numeric = (4 * d1 - d2) / 3;
    double diff = fabs(numeric - analytic);
    double scale = fmax(GRADCHECK_FLOOR * fmax(1, fabs(l0)), fmax(fabs(numeric), fabs(analytic)));
    double asym = fabs(dp / up - dm / down);
    double precision = fabs(d1 - d2) / scale;
    return (Entry){diff / scale, precision, asym > diff || precision > GRADCHECK_TOLERANCE};
}

/* An entry's result: its error (−1 for a kink) and the precision of the
 * difference it was judged by. An entry above the tolerance, or whose
 * difference is not good to the tolerance, is tried again with a tenth of
 * the step, where a kink is ten times less likely to fall, while a wrong
 * formula fails at both. */
static Entry entry_error(Exec *e, real *v, size_t i, double analytic, double l0, Rng masks)
{
    Entry a = entry_at(e, v, i, analytic, l0, masks, GRADCHECK_STEP);
    if (a.err <= GRADCHECK_TOLERANCE && a.precision <= GRADCHECK_TOLERANCE)
        return a;
    Entry b = entry_at(e, v, i, analytic, l0, masks, GRADCHECK_STEP / 10);
    if (b.err <= GRADCHECK_TOLERANCE && b.precision <= GRADCHECK_TOLERANCE)
        return b;
    if (a.kink || b.kink)
        return (Entry){-1, 0, true};
    return a.err <= b.err ? a : b;
}

/* Folds an entry into a row: the largest error wins, and NaN beats any
 * number; the precision is the worst over the row. */
static void record(GradcheckLayer *row, Entry en, const char *param)
{
    if (en.err < 0) {
        row->kinks++;
        return;
    }
    row->entries++;
    if (!(en.precision <= row->precision))
        row->precision = en.precision;
    if (!row->worst_param || isnan(en.err) || (!isnan(row->worst) && en.err > row->worst)) {
        row->worst = en.err;
        row->worst_param = param;
    }
}

/* Checks one parameter tensor: every entry, or m of them, one drawn from
 * each of m equal stretches of the tensor. */
static void check_param(Exec *e, const IrParam *p, int max_entries, double l0, Rng masks,
                        Rng *pick, GradcheckLayer *row)
{
    real *v = e->ps->value + p->offset;
    const real *grad = e->ps->grad + p->offset;
    size_t n = shape_size(p->shape), m = n < (size_t)max_entries ? n : (size_t)max_entries;
    row->params++;
    for (size_t k = 0; k < m; k++) {
        size_t lo = k * n / m, hi = (k + 1) * n / m;
        size_t i = m == n ? k : lo + (size_t)rng_below(pick, hi - lo);
        record(row, entry_error(e, v, i, grad[i], l0, masks), p->name);
    }
}

bool gradcheck_run(const IrGraph *g, const GradcheckOptions *o, GradcheckResult *out,
                   DiagSink *d)
{
    memset(out, 0, sizeof *out);
    int batch = o->batch > 0 ? o->batch : DEFAULT_BATCH;
    int max_entries = o->max_entries > 0 ? o->max_entries : DEFAULT_ENTRIES;
    ParamStore ps;
    params_alloc(&ps, g);
    Exec e;
    if (!exec_plan(&e, g, &ps, batch, 0, d)) {
        params_free(&ps);
        return false;
    }
    if (o->ops)
        e.ops = o->ops;
    Rng init, pick, masks;
    rng_derive(&init, o->seed, RNG_INIT);
    rng_derive(&pick, o->seed, RNG_PROBE);
    rng_derive(&masks, o->seed, RNG_DROPOUT);
    init_params(&ps, g, &init);
    fill_batch(&e, o->seed);

    double l0 = loss_at(&e, masks);
    exec_backward(&e, EXEC_TRAIN);

    out->model = g->name;
    out->batch = batch;
    out->seed = o->seed;
    out->nlayers = g->nlayers + 1;
    out->layers = xcalloc((size_t)out->nlayers, sizeof *out->layers);
    for (int l = 0; l < out->nlayers; l++)
        out->layers[l].name = l < g->nlayers ? g->layers[l].name : "-";
    for (int i = 0; i < g->nparams; i++) {
        const IrParam *p = &g->params[i];
        if (p->trainable)
            check_param(&e, p, max_entries, l0, masks, &pick,
                        &out->layers[p->layer >= 0 ? p->layer : g->nlayers]);
    }
    out->loss = g->nodes[g->loss].op;
    out->loss_value = l0;
    out->worst = out->precision = 0;
    for (int l = 0; l < out->nlayers; l++)
        if (out->layers[l].precision > out->precision)
            out->precision = out->layers[l].precision;
    for (int l = 0; l < out->nlayers && !isnan(out->worst); l++)
        if (out->layers[l].worst_param && !(out->layers[l].worst <= out->worst))
            out->worst = out->layers[l].worst;  /* a NaN ends the search */
    out->passed = out->worst <= GRADCHECK_TOLERANCE;
    exec_free(&e);
    params_free(&ps);
    return true;
}

void gradcheck_print(FILE *out, const GradcheckResult *r)
{
    fprintf(out, "gradcheck of model '%s': batch %d, seed %llu, loss %s, in float64\n",
            r->model, r->batch, (unsigned long long)r->seed, op_def(r->loss)->name);
    fprintf(out, "%-16s %6s %8s %6s %12s  %s\n", "layer", "params", "entries", "kinks",
            "worst error", "in");
    for (int l = 0; l < r->nlayers; l++) {
        const GradcheckLayer *row = &r->layers[l];
        if (l == r->nlayers - 1 && row->params == 0)
            continue;  /* no parameters outside the layers */
        if (row->worst_param)
            fprintf(out, "%-16s %6d %8d %6d %12.1e  %s\n", row->name, row->params, row->entries,
                    row->kinks, row->worst, row->worst_param);
        else
            fprintf(out, "%-16s %6d %8d %6d %12s\n", row->name, row->params, row->entries,
                    row->kinks, "-");
    }
    fprintf(out, "differences: h = %.0e·max(1, |θ|), Richardson from h and 2h; their own "
            "error at most %.1e\n", GRADCHECK_STEP, r->precision);
    fprintf(out, "loss %.6g; worst relative error %.1e, tolerance %.0e: %s\n", r->loss_value,
            r->worst, GRADCHECK_TOLERANCE, r->passed ? "ok" : "FAILED");
}

void gradcheck_free(GradcheckResult *r)
{
    free(r->layers);
    memset(r, 0, sizeof *r);
}
