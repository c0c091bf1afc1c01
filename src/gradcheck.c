/* gradcheck.c — every parameter gradient against central differences.
 *
 * The numbers: the executor computes in float32 and the loss is one float,
 * so L carries rounding of about 2^-24·|L|, and a central difference
 * (L(θ+h) − L(θ−h))/2h with h = 1e-3·max(1, |θ|) is good to about 1e-4
 * times max(1, |L|) in absolute terms (measured: differences come in steps
 * of ulp(L)/2h). Hence the floor under the relative error's denominator,
 * 3e-2·max(1, |L|): gradients below it are compared absolutely, and the
 * tolerance of 5e-2 then allows 1.5e-3·max(1, |L|) of absolute error. The
 * quotients are formed in double, with the steps actually taken
 * ((float)(θ ± h) − θ), not the nominal ones. Measured on the models of
 * tests/gradcheck at 30 seeds each, the worst error stays below the
 * tolerance; a backward that is 10% off in any op exceeds it (the tests).
 *
 * Kinks: relu, leaky_relu, hard_tanh and elu (α ≠ 1) have corners, and a
 * step that crosses one makes the difference wrong while the backward pass
 * is right. An entry above the tolerance is tried again with a tenth of
 * the step, where a corner is ten times less likely to fall and a wrong
 * formula still fails. If both fail and, at either step, the one-sided
 * differences (L(θ+h) − L(θ))/h and (L(θ) − L(θ−h))/h disagree by more than
 * the error — the signature of a corner inside the step, which makes them
 * differ by twice the central difference's error — the entry is counted as
 * a kink and skipped. A wrong formula on a smooth loss leaves them in
 * agreement and is reported.
 *
 * Dropout draws the same masks on every forward pass (the executor's
 * generator is reset before each), and batchnorm uses batch statistics, as
 * in training. */
#include "vg/gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "vg/exec.h"
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

/* Inputs N(0, 1); targets: class indices for cross_entropy, U[0, 1] for
 * bce, N(0, 1) for mse. */
static void fill_batch(Exec *e, uint64_t seed)
{
    const IrGraph *g = e->g;
    Rng r;
    rng_derive(&r, seed, RNG_DATA);
    float *x = exec_source(e, g->input);
    for (size_t i = 0, n = (size_t)e->batch * shape_size(g->nodes[g->input].shape); i < n; i++)
        x[i] = (float)rng_normal(&r);
    Shape out = g->nodes[g->output].shape;
    int loss = g->nodes[g->loss].op;
    float *t = exec_source(e, g->target);
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

/* One entry's error at step h·max(1, |θ|), and whether the one-sided
 * differences disagree by more than it (see the top of the file). */
typedef struct Entry {
    double err;
    bool kink;
} Entry;

static Entry entry_at(Exec *e, float *v, size_t i, double analytic, double l0, Rng masks,
                      double step)
{
    float keep = v[i];
    double h = step * fmax(1, fabs(keep));
    float up = (float)(keep + h), down = (float)(keep - h);
    v[i] = up;
    double lp = loss_at(e, masks);
    v[i] = down;
    double lm = loss_at(e, masks);
    v[i] = keep;
    double hu = (double)up - keep, hd = (double)keep - down;
    double numeric = (lp - lm) / (hu + hd);
    double diff = fabs(numeric - analytic);
    double floor = GRADCHECK_FLOOR * fmax(1, fabs(l0));
    double asym = fabs((lp - l0) / hu - (l0 - lm) / hd);
    return (Entry){diff / fmax(floor, fmax(fabs(numeric), fabs(analytic))), asym > diff};
}

/* The error of one entry, or −1 for a kink: an entry above the tolerance
 * is tried again with a tenth of the step, where a kink is ten times less
 * likely to fall, while a wrong formula fails at both. */
static double entry_error(Exec *e, float *v, size_t i, double analytic, double l0, Rng masks)
{
    Entry a = entry_at(e, v, i, analytic, l0, masks, GRADCHECK_STEP);
    if (a.err <= GRADCHECK_TOLERANCE)
        return a.err;
    Entry b = entry_at(e, v, i, analytic, l0, masks, GRADCHECK_STEP / 10);
    if (b.err <= GRADCHECK_TOLERANCE)
        return b.err;
    return a.kink || b.kink ? -1 : fmin(a.err, b.err);
}

/* Folds err into a row: the largest wins, and NaN beats any number. */
static void record(GradcheckLayer *row, double err, const char *param)
{
    if (err < 0) {
        row->kinks++;
        return;
    }
    row->entries++;
    if (!row->worst_param || isnan(err) || (!isnan(row->worst) && err > row->worst)) {
        row->worst = err;
        row->worst_param = param;
    }
}

/* Checks one parameter tensor: every entry, or m of them, one drawn from
 * each of m equal stretches of the tensor. */
static void check_param(Exec *e, const IrParam *p, int max_entries, double l0, Rng masks,
                        Rng *pick, GradcheckLayer *row)
{
    float *v = e->ps->value + p->offset;
    const float *grad = e->ps->grad + p->offset;
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
    params_init(&ps, g, &init);
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
    out->worst = 0;
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
    fprintf(out, "gradcheck of model '%s': batch %d, seed %llu, loss %s\n", r->model, r->batch,
            (unsigned long long)r->seed, op_def(r->loss)->name);
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
    fprintf(out, "loss %.6g; worst relative error %.1e, tolerance %.0e: %s\n", r->loss_value,
            r->worst, GRADCHECK_TOLERANCE, r->passed ? "ok" : "FAILED");
}

void gradcheck_free(GradcheckResult *r)
{
    free(r->layers);
    memset(r, 0, sizeof *r);
}
