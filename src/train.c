/* train.c — preparing and training runs.
 *
 * Randomness is split into independent streams derived from the run's seed
 * (data, init, split, probe, batch order, dropout), so changing, say, the
 * probe size never changes the initial weights. A training step is: fill
 * the batch, forward, backward, global norm, clip, update — without
 * clipping, the update of each node's parameters runs inside the backward
 * pass (node_done); it allocates nothing. Reports are measured before the
 * step that follows them, on the probe batch. */
#include "vg/train.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vg/exit.h"
#include "vg/ops.h"
#include "vg/pretrain.h"
#include "vg/schedule.h"

/* An embedding reads its ids from the data: every input value must be one,
 * checked once here rather than met as NaN in the middle of training. */
static bool check_token_ids(Program *p, const Run *r)
{
    int node = -1;
    long vocab = op_token_limit(&r->g, r->g.input, &node);
    if (vocab == 0)
        return true;
    size_t width = shape_size(r->data.x_shape), n = (size_t)r->data.n * width;
    for (size_t i = 0; i < n; i++) {
        float t = r->data.x[i];
        if (t >= 0 && t < (float)vocab && t == floorf(t))
            continue;
        diag_error(&p->diag, r->set.data_span, "run '%s': the data set holds %s at row %zu, "
                   "step %zu, but embedding takes token ids 0..%ld (vocab = %ld)", r->name,
                   DIAG_NUM(t), i / width + 1, i % width + 1, vocab - 1, vocab);
        diag_note_at(&p->diag, r->g.nodes[node].span, "the embedding that reads them");
        return false;
    }
    return true;
}

static bool check_data_fits(Program *p, Run *r)
{
    const IrGraph *g = &r->g;
    Shape in = g->nodes[g->input].shape;
    char a[64], b[64];
    if (!data_fits(r->data.x_shape, in)) {
        diag_error(&p->diag, r->set.data_span,
                   "the data set yields inputs of shape %s, but model '%s' takes input "
                   "'%s' of shape %s",
                   shape_str(r->data.x_shape, a, sizeof a), g->name,
                   g->nodes[g->input].binding, shape_str(in, b, sizeof b));
        size_t n = shape_size(r->data.x_shape);
        if (n == shape_size(in))
            diag_note(&p->diag, "the sizes agree: `input %s%s` takes the data set's shape, "
                      "`input %s[%zu]` its %zu values flattened", g->nodes[g->input].binding,
                      a, g->nodes[g->input].binding, n, n);
        return false;
    }
    if (r->data.n < 1)
        return diag_error(&p->diag, r->set.data_span, "the data set is empty");
    return check_token_ids(p, r);
}

/* Splits rows into training and test, and draws the probe batch from the
 * training rows. */
static void split_rows(Run *r, int **probe_rows, int *nprobe)
{
    int n = r->data.n;
    r->order = xmalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++)
        r->order[i] = i;
    Rng split;
    rng_derive(&split, r->set.seed, RNG_SPLIT);
    int ntest = (int)floor(r->set.test * n + 0.5);
    if (ntest > 0)
        rng_shuffle(&split, r->order, n);
    r->ntrain = n - ntest;
    if (r->ntrain < 1)
        r->ntrain = 1;
    r->norder = r->ntrain;
    int *pr = xmalloc(sizeof(int) * (size_t)r->ntrain);
    memcpy(pr, r->order, sizeof(int) * (size_t)r->ntrain);
    Rng prng;
    rng_derive(&prng, r->set.seed, RNG_PROBE);
    rng_shuffle(&prng, pr, r->ntrain);
    *nprobe = r->set.probe == 0 || r->set.probe > r->ntrain ? r->ntrain : (int)r->set.probe;
    *probe_rows = pr;
    rng_derive(&r->batch_rng, r->set.seed, RNG_BATCH);
    rng_shuffle(&r->batch_rng, r->order, r->ntrain);
    r->cursor = 0;
}

/* Test rows are measured in chunks of at least this many rows (or the
 * training batch, if larger), so a big test split needs no big plan. */
enum { TEST_CHUNK = 256 };

/* Rows per test chunk; 0 without a test split or without class labels. */
static int test_rows(const Run *r)
{
    int ntest = r->data.n - r->ntrain;
    if (ntest < 1 || r->data.classes <= 0)
        return 0;
    long chunk = r->set.batch > TEST_CHUNK ? r->set.batch : TEST_CHUNK;
    return ntest < chunk ? ntest : (int)chunk;
}

/* The training, probe and test plans: the one with the most rows owns the
 * block, the others are views of it (exec_plan_view), since a step, a
 * probe and a test chunk never run at once. */
static bool plan_passes(Program *p, Run *r, int nprobe, size_t max_bytes)
{
    Exec *plan[3] = {&r->train, &r->probe, &r->test};
    int rows[3] = {(int)r->set.batch, nprobe, test_rows(r)};
    int host = 0;
    for (int k = 1; k < 3; k++)
        if (rows[k] > rows[host])
            host = k;
    if (!exec_plan(plan[host], &r->g, &r->ps, rows[host], max_bytes, &p->diag)) {
        if (host == 1)
            diag_note(&p->diag, "batch %d is the probe's, larger than the training batch "
                      "(%ld); `probe` sets it", rows[host], r->set.batch);
        else if (host == 2)
            diag_note(&p->diag, "batch %d is the test split's chunk, larger than the "
                      "training batch (%ld)", rows[host], r->set.batch);
        return false;
    }
    for (int k = 0; k < 3; k++)
        if (k != host && rows[k] > 0)
            exec_plan_view(plan[k], plan[host], rows[k]);
    return true;
}

static bool check_bce_targets(Program *p, const Run *r)
{
    if (r->data.classes > 2)
        return diag_error(&p->diag, r->set.span, "run '%s': bce needs targets in [0, 1], but "
                          "the data set has %d classes; use cross_entropy", r->name,
                          r->data.classes);
    size_t n = (size_t)r->data.n * shape_size(r->data.y_shape);
    for (size_t i = 0; i < n; i++)
        if (!(r->data.y[i] >= 0 && r->data.y[i] <= 1))
            return diag_error(&p->diag, r->set.span, "run '%s': bce needs targets in [0, 1], "
                              "but the data set has the target %s (row %zu)", r->name,
                              DIAG_NUM(r->data.y[i]), i / shape_size(r->data.y_shape) + 1);
    return true;
}

/* Whether the loss suits the data's targets and the model's output. */
static bool check_loss_fits(Program *p, const Run *r)
{
    if (r->set.loss == OP_BCE)
        return check_bce_targets(p, r);
    if (r->data.classes > 0 && r->set.loss == OP_MSE)
        return diag_error(&p->diag, r->set.span, "run '%s': mse needs real-valued targets, "
                          "but the data set has class labels; use cross_entropy", r->name);
    if (r->data.classes == 0)
        return r->set.loss != OP_CROSS_ENTROPY ||
               diag_error(&p->diag, r->set.span, "run '%s': cross_entropy needs class labels, "
                          "but the data set has real-valued targets; use mse", r->name);
    Shape out = r->g.nodes[r->g.output].shape;
    size_t per_step = shape_size(out) / shape_size(r->data.y_shape);
    if ((long)per_step >= r->data.classes)
        return true;
    if (shape_size(r->data.y_shape) == 1)
        return diag_error(&p->diag, r->set.data_span, "run '%s': the data set has %d "
                          "classes, but model '%s' outputs %zu logit%s", r->name,
                          r->data.classes, r->model, per_step, per_step == 1 ? "" : "s");
    /* A target per time step ([T]) is scored against a row of logits per step. */
    long steps = r->data.y_shape.dim[0];
    char want[64], got[64];
    shape_str(shape2(steps, r->data.classes), want, sizeof want);
    shape_str(out, got, sizeof got);
    diag_error(&p->diag, r->set.data_span, "run '%s': the data set's targets are [T] = [%ld], "
               "one of %d classes per time step, so model '%s' must output [T, classes] = %s "
               "logits; it outputs %s", r->name, steps, r->data.classes, r->model, want, got);
    diag_note(&p->diag, "a recurrent layer's output [T, units] keeps a row per step: apply the "
              "output layer to it rather than to last(...)");
    return false;
}

/* ---- undoing a step that turns non-finite (Run.undo) ---- */

static size_t stats_floats(const IrGraph *g)
{
    size_t n = 0;
    for (int i = 0; i < g->nparams; i++)
        n += g->params[i].trainable ? 0 : shape_size(g->params[i].shape);
    return n;
}

static void undo_alloc(Run *r)
{
    if (!r->set.clip) {
        r->undo.trained = xmalloc((r->ps.n ? r->ps.n : 1) * sizeof *r->undo.trained);
        r->undo.updated = xmalloc(((size_t)r->g.nparams + 1) * sizeof *r->undo.updated);
    }
    r->undo.stats = xmalloc((stats_floats(&r->g) + 1) * sizeof *r->undo.stats);
    r->undo.update_sq = xcalloc((size_t)r->g.nlayers, sizeof *r->undo.update_sq);
}

/* Copies the non-trainable values to stats (save) or back. */
static void undo_stats(Run *r, bool save)
{
    float *at = r->undo.stats;
    for (int i = 0; i < r->g.nparams; i++) {
        const IrParam *pp = &r->g.params[i];
        if (pp->trainable)
            continue;
        size_t n = shape_size(pp->shape);
        float *v = r->ps.value + pp->offset;
        memcpy(save ? at : v, save ? v : at, n * sizeof *at);
        at += n;
    }
}

/* Before a step: what it may change. */
static void undo_begin(Run *r)
{
    undo_stats(r, true);
    r->undo.nupdated = 0;
    memcpy(r->undo.update_sq, r->update_sq, sizeof(double) * (size_t)r->g.nlayers);
    r->undo.global_norm = r->last_global_norm;
    r->undo.loss = r->last_loss;
}

/* Puts back what the step changed. */
static void undo_step(Run *r)
{
    undo_stats(r, false);
    for (int k = 0; k < r->undo.nupdated; k++) {
        const IrParam *pp = &r->g.params[r->undo.updated[k]];
        memcpy(r->ps.value + pp->offset, r->undo.trained + pp->offset,
               shape_size(pp->shape) * sizeof(float));
    }
    memcpy(r->update_sq, r->undo.update_sq, sizeof(double) * (size_t)r->g.nlayers);
    r->last_global_norm = r->undo.global_norm;
    r->last_loss = r->undo.loss;
}

bool run_prepare(Program *p, const Member *m, const TrainOptions *o, Run *r)
{
    const AstNode *train = m->train;
    memset(r, 0, sizeof *r);
    r->ast = train;
    r->member = m;
    r->name = m->name;
    r->model = train->a->a->str;
    ir_init(&r->g, &p->arena, r->model);
    if (!settings_of(p, m, o->sets, o->nsets, o->seed, &r->set))
        return false;
    if (o->seed_offset) {
        if (r->set.seed > UINT64_MAX - (uint64_t)o->seed_offset)
            return diag_error(&p->diag, train->span, "run '%s': seed %llu plus --seed-offset "
                              "%lld is above 2^64 - 1", r->name,
                              (unsigned long long)r->set.seed, o->seed_offset);
        r->set.seed += (uint64_t)o->seed_offset;
    }
    if (!elab_member_model(p, m, &r->g))
        return false;
    if (r->g.nlayers == 0)
        return diag_error(&p->diag, train->span, "model '%s' declares no layer: "
                          "reports are per `layer`", r->model);
    size_t param_bytes;
    if (!params_check(&r->g, o->max_memory, &param_bytes, &p->diag))
        return false;
    if (r->set.batch > IR_MAX_ELEMS)
        return diag_error(&p->diag, r->set.span, "run '%s': batch %ld is above the limit "
                          "of 2^31 - 1", r->name, r->set.batch);
    if (!data_load(&r->data, r->set.data, r->set.seed, program_dir_of(p, train->span.file),
                   &p->diag))
        return false;
    if (!check_data_fits(p, r))
        return false;
    if (!check_loss_fits(p, r) ||
        !ir_add_loss(&r->g, r->set.loss, r->data.y_shape, r->set.span, &p->diag))
        return false;
    if (r->set.clip)  /* clipping needs every gradient before any update */
        params_alloc(&r->ps, &r->g);
    else
        params_alloc_values(&r->ps, &r->g);
    Rng init;
    rng_derive(&init, r->set.seed, RNG_INIT);
    params_init(&r->ps, &r->g, &init);
    int nprobe;
    split_rows(r, &r->probe_rows, &nprobe);
    r->baseline = metrics_baseline(&r->data, r->set.loss, r->probe_rows, nprobe);
    /* One memory limit for the parameters and the plans together. */
    if (!plan_passes(p, r, nprobe, o->max_memory ? o->max_memory - param_bytes : 0))
        return false;
    rng_derive(&r->train.rng, r->set.seed, RNG_DROPOUT);
    optim_init(&r->opt, r->set.optimizer, r->ps.n);
    schedule_init(&r->schedule, r->set.schedule, r->opt.lr);
    r->update_sq = xcalloc((size_t)r->g.nlayers, sizeof *r->update_sq);
    r->grad_bad = xcalloc((size_t)r->g.nlayers, sizeof *r->grad_bad);
    undo_alloc(r);
    r->ready = true;
    return true;
}

static void fill_batch(Run *r)
{
    Exec *e = &r->train;
    size_t xw = shape_size(r->data.x_shape), yw = shape_size(r->data.y_shape);
    float *x = exec_source(e, r->g.input), *y = exec_source(e, r->g.target);
    for (int i = 0; i < e->batch; i++) {
        int row = data_next_row(r->order, r->norder, &r->cursor, &r->batch_rng);
        memcpy(x + (size_t)i * xw, r->data.x + (size_t)row * xw, xw * sizeof *x);
        memcpy(y + (size_t)i * yw, r->data.y + (size_t)row * yw, yw * sizeof *y);
    }
}

/* The first layer, in backward order, whose output gradient or parameter
 * gradient is not finite: where a NaN or an infinity entered. */
static int first_nonfinite_layer(const Run *r)
{
    const IrGraph *g = &r->g;
    const Exec *e = &r->train;
    for (int l = g->nlayers - 1; l >= 0; l--) {
        int node = g->layers[l].output;
        size_t n = (size_t)e->batch * shape_size(g->nodes[node].shape);
        for (size_t i = 0; e->grad[node] && i < n; i++)
            if (!isfinite(e->grad[node][i]) || !isfinite(e->val[node][i]))
                return l;
        if (r->grad_bad[l])
            return l;
    }
    return -1;
}

/* clip = norm(max) rescales the whole gradient when its global norm exceeds
 * max (Pascanu, Mikolov & Bengio 2013, Algorithm 1); clip = value(max)
 * clamps each component. Returns whether anything was clipped. */
static bool clip_grads(Run *r, double norm)
{
    const Spec *c = r->set.clip;
    if (!c)
        return false;
    double max = spec_num(c, "max");
    ParamStore *ps = &r->ps;
    if (c->id == SPEC_CLIP_NORM) {
        if (norm <= max)
            return false;
        float k = (float)(max / norm);
        for (size_t i = 0; i < ps->n; i++)
            ps->grad[i] *= k;
        return true;
    }
    bool any = false;
    for (size_t i = 0; i < ps->n; i++) {
        if (ps->grad[i] > max) {
            ps->grad[i] = (float)max;
            any = true;
        } else if (ps->grad[i] < -max) {
            ps->grad[i] = (float)-max;
            any = true;
        }
    }
    return any;
}

static void update_param(Run *r, const IrParam *pp, const float *grad)
{
    double sq = optim_update(&r->opt, r->ps.value, grad, pp->offset, shape_size(pp->shape));
    if (pp->layer >= 0)
        r->update_sq[pp->layer] += sq;
}

/* A training step's backward pass, as exec_backward_each sees it. */
typedef struct StepPass {
    Run *r;
    double grad_sq;  /* Σg² over the parameters whose backward is done */
    bool fused;      /* update each node's parameters as soon as it is done */
    bool held;       /* something was not finite: no more updates this step */
} StepPass;

/* Without clipping, which needs the global norm first, a node's parameters
 * are updated right after its backward kernel: their gradients are final,
 * nothing later reads them, and they are still in cache — a separate
 * update after the pass streams every weight and gradient through memory
 * once more (in bench/ it cost 6–9% of a step). Such a run keeps no
 * gradient block: the plan's scratch holds one node's gradients at a time
 * (params_alloc_values). Each element's arithmetic is the same either way.
 * Once a loss or gradient is not finite no further node is updated; the
 * layers above it have taken the step (docs/language.md). */
static void node_done(void *ctx, int node)
{
    StepPass *s = ctx;
    Run *r = s->r;
    const IrNode *n = &r->g.nodes[node];
    for (int k = 0; k < n->nparam; k++) {
        const IrParam *pp = &r->g.params[n->param[k]];
        if (!pp->trainable)
            continue;
        const float *grad = exec_param_grad(&r->train, node, k);
        double sq = metrics_sum_sq(grad, shape_size(pp->shape));
        s->grad_sq += sq;
        if (!isfinite(sq) && pp->layer >= 0)
            r->grad_bad[pp->layer] = true;
        s->held |= !isfinite(s->grad_sq);
        if (s->fused && !s->held) {
            /* the values before the update, while they are in cache */
            memcpy(r->undo.trained + pp->offset, r->ps.value + pp->offset,
                   shape_size(pp->shape) * sizeof(float));
            r->undo.updated[r->undo.nupdated++] = n->param[k];
            update_param(r, pp, grad);
        }
    }
}

/* Accuracy on the held-out rows (r->order[ntrain..n), which batches never
 * shuffle), run through the test plan in evaluation mode chunk by chunk.
 * Rows are independent in evaluation mode, so the stale rows after a short
 * last chunk change nothing that is counted. NaN without a test plan. */
static MeasureInput measure_input(Run *r, Exec *e)
{
    return (MeasureInput){.g = &r->g, .params = r->ps.value, .probe = e, .set = &r->set,
                          .data = &r->data, .step = r->step, .update_sq = r->update_sq,
                          .last_global_norm = r->last_global_norm,
                          .clipped_steps = r->clipped_steps};
}

static double test_accuracy(Run *r)
{
    Exec *e = &r->test;
    if (e->batch == 0)
        return NAN;
    const int *rows = r->order + r->ntrain;
    int ntest = r->data.n - r->ntrain;
    MeasureInput in = measure_input(r, e);
    double right = 0;
    for (int at = 0; at < ntest; at += e->batch) {
        int k = ntest - at < e->batch ? ntest - at : e->batch;
        data_fill(&r->data, e, rows + at, k);
        exec_forward(e, EXEC_EVAL);
        right += metrics_accuracy(&in, e->val[r->g.output], e->val[r->g.target], k) * k;
    }
    return right / ntest;
}

static void add_report(Run *r, const TrainOptions *o)
{
    Report rep;
    /* a training step since has overwritten the probe's rows */
    data_fill(&r->data, &r->probe, r->probe_rows, r->probe.batch);
    MeasureInput in = measure_input(r, &r->probe);
    metrics_measure(&in, &rep);
    rep.test_accuracy = test_accuracy(r);
    VEC_PUSH(r->reports, r->nreports, r->repcap, rep);
    if (o->on_report)
        o->on_report(r, o->report_ctx);
}

static bool report_due(const Run *r, long step, long last)
{
    if (step == 0 || step == last)
        return true;
    return r->set.report > 0 && step % r->set.report == 0;
}

/* Room in the step log for the next step: doubling, but never past the
 * steps the run still plans (an interrupted 10^8-step run holds only what
 * it did). */
static void log_reserve(StepLog *lg, long remaining)
{
    if (lg->n < lg->cap)
        return;
    long cap = lg->cap ? 2 * lg->cap : 4096;
    if (cap > lg->n + remaining)
        cap = lg->n + remaining;
    lg->loss = xrealloc(lg->loss, sizeof *lg->loss * (size_t)cap);
    lg->norm = xrealloc(lg->norm, sizeof *lg->norm * (size_t)cap);
    lg->lr = xrealloc(lg->lr, sizeof *lg->lr * (size_t)cap);
    lg->clipped = xrealloc(lg->clipped, sizeof *lg->clipped * (size_t)cap);
    lg->cap = cap;
}

void step_log_free(StepLog *lg)
{
    free(lg->loss);
    free(lg->norm);
    free(lg->lr);
    free(lg->clipped);
    memset(lg, 0, sizeof *lg);
}

static void log_step(StepLog *lg, float loss, double norm, bool clipped, double lr)
{
    lg->loss[lg->n] = loss;
    lg->norm[lg->n] = (float)norm;
    lg->clipped[lg->n] = clipped;
    lg->lr[lg->n] = lr;
    lg->n++;
}

/* One training step. On a non-finite loss or gradient, returns false with
 * r->diverged set and `why` describing where it appeared. */
static bool step_once(Run *r, char *why, size_t n)
{
    fill_batch(r);
    undo_begin(r);
    exec_forward(&r->train, EXEC_TRAIN);
    float loss = exec_loss(&r->train);
    StepPass pass = {.r = r, .fused = !r->set.clip, .held = !isfinite(loss)};
    memset(r->update_sq, 0, sizeof(double) * (size_t)r->g.nlayers);
    memset(r->grad_bad, 0, sizeof(bool) * (size_t)r->g.nlayers);
    r->opt.lr = schedule_at(&r->schedule, r->step);
    optim_begin_step(&r->opt);
    exec_backward_each(&r->train, EXEC_TRAIN, node_done, &pass);
    double norm = sqrt(pass.grad_sq);
    r->last_global_norm = norm;
    r->last_loss = loss;
    if (!isfinite(loss) || !isfinite(norm)) {
        int l = first_nonfinite_layer(r);
        snprintf(why, n, "run '%s': the %s became %s at step %ld%s%s%s", r->name,
                 isfinite(loss) ? "gradient" : "loss",
                 isnan(isfinite(loss) ? norm : loss) ? "NaN" : "infinite", r->step + 1,
                 l >= 0 ? " (first in layer '" : "", l >= 0 ? r->g.layers[l].name : "",
                 l >= 0 ? "', in backward order)" : "");
        r->diverged = true;
        r->diverged_at = r->step + 1;
        log_step(&r->log, loss, norm, false, r->opt.lr);
        return false;
    }
    bool clipped = false;
    if (!pass.fused) {
        clipped = clip_grads(r, norm);
        r->clipped_steps += clipped;
        for (int k = 0; k < r->g.nparams; k++) {
            const IrParam *pp = &r->g.params[k];
            if (pp->trainable)
                update_param(r, pp, r->ps.grad + pp->offset);
        }
    }
    log_step(&r->log, loss, norm, clipped, r->opt.lr);
    r->step++;
    return true;
}

volatile sig_atomic_t train_interrupted;

static double seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Times the steps since `first` began at (wall, cpu); called once, before
 * the report that ends the run unless `report` scheduled it anyway. */
static void stop_clock(Run *r, long first, double wall, double cpu)
{
    r->timing = (RunTiming){.wall = seconds(CLOCK_MONOTONIC) - wall,
                            .cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu,
                            .steps = r->step - first};
}

/* A non-finite value: with on_nonfinite = fail an error and exit status
 * 3; with stop a warning, and the run ends (the next one goes on). */
static int nonfinite(Program *p, const Run *r, const char *why)
{
    if (!r->set.stop_on_nonfinite) {
        diag_error(&p->diag, r->set.span, "%s", why);
        return EXIT_RUNTIME;
    }
    diag_warning(&p->diag, r->set.span, "%s", why);
    diag_note(&p->diag, "on_nonfinite = stop: the run is marked diverged and the next "
              "run goes on");
    return 0;
}

int run_train(Program *p, Run *r, long steps, const TrainOptions *o)
{
    long last = steps < 0 ? r->set.steps : r->step + steps;
    if (r->set.pretrain && !r->pretrain) {
        char why[256];
        PretrainStatus st = pretrain_run(p, r, o, why, sizeof why);
        if (st != PRETRAIN_OK) {
            add_report(r, o);
            return st == PRETRAIN_FAILED ? 3 : nonfinite(p, r, why);
        }
    }
    /* the initial report; a run resumed from a checkpoint has its reports */
    if (r->nreports == 0)
        add_report(r, o);
    exec_ready(&r->train);
    if (r->log.n == 0)
        r->log.first = r->step;
    long first = r->step;
    double wall = seconds(CLOCK_MONOTONIC), cpu = seconds(CLOCK_PROCESS_CPUTIME_ID);
    r->timing = (RunTiming){0};
    while (r->step < last && !train_interrupted) {
        char why[256];
        log_reserve(&r->log, last - r->step);
        if (!step_once(r, why, sizeof why)) {
            /* the final report: the parameters before the step that
             * failed, numbered with the steps done */
            undo_step(r);
            if (r->reports[r->nreports - 1].step != r->step)
                add_report(r, o);
            return nonfinite(p, r, why);
        }
        if (r->step == last && !(r->set.report > 0 && r->step % r->set.report == 0))
            stop_clock(r, first, wall, cpu);
        if (report_due(r, r->step, last))
            add_report(r, o);
        if (o->on_step && !o->on_step(r, o->step_ctx))
            return EXIT_RUNTIME;
        if (o->progress)
            o->progress(r, o->progress_ctx);
    }
    if (r->timing.steps == 0)
        stop_clock(r, first, wall, cpu);
    if (train_interrupted && r->reports[r->nreports - 1].step != r->step)
        add_report(r, o);  /* the report so far, at the step where it stopped */
    return 0;
}

void run_free(Run *r)
{
    for (int i = 0; i < r->nreports; i++)
        report_free(&r->reports[i], r->g.nlayers);
    free(r->reports);
    step_log_free(&r->log);
    free(r->order);
    free(r->update_sq);
    free(r->grad_bad);
    free(r->undo.trained);
    free(r->undo.stats);
    free(r->undo.updated);
    free(r->undo.update_sq);
    free(r->pretrain);
    free(r->probe_rows);
    exec_free(&r->train);
    exec_free(&r->probe);
    exec_free(&r->test);
    optim_free(&r->opt);
    schedule_free(&r->schedule);
    params_free(&r->ps);
    data_free(&r->data);
    ir_free(&r->g);
    memset(r, 0, sizeof *r);
}

const Report *run_report(const Run *r, ReportAt which)
{
    if (r->nreports == 0)
        return NULL;
    return which == REPORT_INITIAL ? &r->reports[0] : &r->reports[r->nreports - 1];
}

int runset_find(const RunSet *rs, const char *name)
{
    for (int i = 0; i < rs->n; i++)
        if (strcmp(rs->runs[i]->name, name) == 0)
            return i;
    return -1;
}

const AstNode *runset_find_family(const RunSet *rs, const char *name)
{
    for (int i = 0; i < rs->n; i++)
        if (rs->runs[i]->ast && rs->runs[i]->ast->list2.n &&
            strcmp(rs->runs[i]->ast->str, name) == 0)
            return rs->runs[i]->ast;
    return NULL;
}

void runset_push(RunSet *rs, Run *run)
{
    VEC_PUSH(rs->runs, rs->n, rs->cap, run);
}

void runset_free(RunSet *rs)
{
    for (int i = 0; i < rs->n; i++) {
        run_free(rs->runs[i]);
        free(rs->runs[i]);
    }
    free(rs->runs);
    rs->runs = NULL;
    rs->n = rs->cap = 0;
}
