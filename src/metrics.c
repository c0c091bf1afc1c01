/* metrics.c — per-layer gradient-flow metrics on the probe batch.
 *
 * Every metric is a plain reduction over planned buffers: the layer's
 * parameter gradients and values, its output's value and gradient, and the
 * pre-activations of its activation nodes. Sums run in double precision so
 * norms of large layers do not lose digits. */
#include "vg/metrics.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "vg/ops.h"

const char *verdict_name(Verdict v)
{
    static const char *const names[] = {
        [VERDICT_HEALTHY] = "healthy", [VERDICT_VANISHING] = "vanishing",
        [VERDICT_EXPLODING] = "exploding", [VERDICT_SATURATED] = "saturated",
        [VERDICT_DEAD] = "dead",
    };
    return names[v];
}

const char *const report_value_names[RV_COUNT] = {
    [RV_LOSS] = "loss", [RV_ACCURACY] = "accuracy", [RV_TEST_ACCURACY] = "test_accuracy",
    [RV_GLOBAL_NORM] = "global_norm", [RV_CLIPPED] = "clipped",
};

static const size_t report_value_offsets[RV_COUNT] = {
    [RV_LOSS] = offsetof(Report, loss), [RV_ACCURACY] = offsetof(Report, accuracy),
    [RV_TEST_ACCURACY] = offsetof(Report, test_accuracy),
    [RV_GLOBAL_NORM] = offsetof(Report, global_norm), [RV_CLIPPED] = offsetof(Report, clipped),
};

double report_value(const Report *rep, RunValueId id)
{
    return *(const double *)((const char *)rep + report_value_offsets[id]);
}

void report_value_set(Report *rep, RunValueId id, double v)
{
    *(double *)((char *)rep + report_value_offsets[id]) = v;
}

#define METRIC_NAME(id, field) [M_##id] = #field,
const char *const metric_names[M_COUNT] = {METRIC_LIST(METRIC_NAME)};
#undef METRIC_NAME

#define METRIC_OFFSET(id, field) [M_##id] = offsetof(LayerMetrics, field),
static const size_t metric_offsets[M_COUNT] = {METRIC_LIST(METRIC_OFFSET)};
#undef METRIC_OFFSET

double metric_get(const LayerMetrics *m, MetricId id)
{
    return *(const double *)((const char *)m + metric_offsets[id]);
}

bool metric_recurrent(MetricId id)
{
    return id == M_BPTT_RATIO || (id >= M_INPUT_GATE && id <= M_RESET_GATE_SATURATION);
}

bool metric_attention(MetricId id)
{
    return id == M_ATTENTION_ENTROPY;
}

static bool gru_metric(MetricId id)
{
    return id == M_UPDATE_GATE || id == M_RESET_GATE || id == M_UPDATE_GATE_SATURATION ||
           id == M_RESET_GATE_SATURATION;
}

/* Whether op measures metric id, one of the metrics only some ops measure:
 * the gru's gates, or else the lstm's gates and cell. */
static bool op_measures(const OpDef *op, int opid, MetricId id)
{
    if (metric_attention(id))
        return op->attention_entropy != NULL;
    if (id == M_BPTT_RATIO)
        return op->kind == OPK_RECURRENT;
    return opid == (gru_metric(id) ? OP_GRU : OP_LSTM);
}

bool metrics_layer_has(const IrGraph *g, int layer, MetricId id, const char **needs)
{
    if (!metric_attention(id) && !metric_recurrent(id))
        return true;
    for (int i = 0; i < g->n; i++)
        if (g->nodes[i].layer == layer && op_measures(op_def(g->nodes[i].op), g->nodes[i].op, id))
            return true;
    *needs = metric_attention(id) ? "attention op"
             : id == M_BPTT_RATIO ? "recurrent op"
             : gru_metric(id)     ? "gru"
                                  : "lstm";
    return false;
}

static double *metric_at(LayerMetrics *m, MetricId id)
{
    return (double *)((char *)m + metric_offsets[id]);
}

void metric_set(LayerMetrics *m, MetricId id, double v)
{
    *metric_at(m, id) = v;
}

int metric_lookup(const char *name)
{
    for (int i = 0; i < M_COUNT; i++)
        if (strcmp(metric_names[i], name) == 0)
            return i;
    return -1;
}

double metrics_sum_sq(const float *x, size_t n)
{
    double s = 0;
#pragma omp simd reduction(+ : s)  /* several accumulators, not one add chain */
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return s;
}

static size_t node_floats(const Exec *e, int node)
{
    return (size_t)e->batch * shape_size(e->g->nodes[node].shape);
}

/* The probe's backward pass: Σg² of each layer's trainable parameters,
 * taken as each node finishes (without a gradient block, a node's
 * gradients last only until the next node's backward: exec.h). */
typedef struct ProbePass {
    const MeasureInput *in;
    double *g2;  /* per layer */
} ProbePass;

static void probe_node_done(void *ctx, int node)
{
    ProbePass *pp = ctx;
    const IrGraph *g = pp->in->g;
    const IrNode *n = &g->nodes[node];
    for (int k = 0; k < n->nparam; k++) {
        const IrParam *p = &g->params[n->param[k]];
        if (p->trainable && p->layer >= 0)
            pp->g2[p->layer] += metrics_sum_sq(exec_param_grad(pp->in->probe, node, k),
                                       shape_size(p->shape));
    }
}

static void param_norms(const MeasureInput *in, int layer, double g2, LayerMetrics *m)
{
    double w2 = 0;
    int count = 0;
    for (int i = 0; i < in->g->nparams; i++) {
        const IrParam *p = &in->g->params[i];
        if (p->layer != layer || !p->trainable)
            continue;
        w2 += metrics_sum_sq(in->params + p->offset, shape_size(p->shape));
        count++;
    }
    m->grad_norm = count ? sqrt(g2) : NAN;
    m->weight_norm = count ? sqrt(w2) : NAN;
    m->update_ratio = count && in->step > 0 ? sqrt(in->update_sq[layer]) / m->weight_norm : NAN;
}

/* The mean of x[0..n) into *mean, and the (population) variance, in two
 * passes: the second sums squares about the mean, which stays accurate
 * where Σx²/n − mean² would cancel. */
static double mean_var(const float *x, size_t n, double *mean)
{
    double s = 0, s2 = 0;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < n; i++)
        s += x[i];
    double mu = s / (double)n;
#pragma omp simd reduction(+ : s2)
    for (size_t i = 0; i < n; i++)
        s2 += (x[i] - mu) * (x[i] - mu);
    *mean = mu;
    return s2 / (double)n;
}

static void output_stats(const Exec *e, int node, LayerMetrics *m)
{
    size_t n = node_floats(e, node);
    m->act_std = sqrt(mean_var(e->val[node], n, &m->act_mean));
    /* a layer whose output is the model input itself has no gradient buffer */
    m->act_grad_norm = e->grad[node] ? sqrt(metrics_sum_sq(e->grad[node], n)) : NAN;
}

/* One pass over activation node i's probe entries: how many have φ′ below
 * `floor`, and Σ φ′². φ′ comes from the output in float where the op
 * defines deriv_y (no exp per entry: with the double deriv these loops
 * cost more than a training step), else from the pre-activation. */
typedef struct DerivStats {
    long below;
    double sq;
} DerivStats;

static DerivStats deriv_stats(const Exec *e, int i, double floor)
{
    enum { CHUNK = 256 };
    const IrNode *nd = &e->g->nodes[i];
    const OpDef *op = op_def(nd->op);
    size_t n = node_floats(e, i);
    const float *z = e->val[nd->in[0]], *y = e->val[i];
    DerivStats st = {0, 0};
    float d[CHUNK];
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t m = n - at < CHUNK ? n - at : CHUNK;
        if (op->deriv_y)
            op->deriv_y(y + at, d, m);
        else
            for (size_t k = 0; k < m; k++)
                d[k] = (float)op->deriv(z[at + k], nd);
        long below = 0;
        double sq = 0;
#pragma omp simd reduction(+ : below, sq)
        for (size_t k = 0; k < m; k++) {
            below += d[k] < floor;
            sq += (double)d[k] * d[k];
        }
        st.below += below;
        st.sq += sq;
    }
    return st;
}

/* Saturated entries of a layer: below 1% of φ′'s maximum, and all. */
typedef struct SatCount {
    double below, total;
} SatCount;

/* The parts of the layer's recurrent ops (ops.h), measured after the
 * probe's forward pass and before its backward, which overwrites the saved
 * gates: each gate's mean and saturation, weighted by entries when a layer
 * has several recurrent ops; an rnn's activation counts towards the
 * layer's `saturation` (into sat). */
static void recurrent_parts(const Exec *e, int layer, LayerMetrics *m, SatCount *sat)
{
    static const struct { RecurrentPart part; MetricId mean, saturation; } parts[] = {
        {RP_INPUT_GATE, M_INPUT_GATE, M_INPUT_GATE_SATURATION},
        {RP_FORGET_GATE, M_FORGET_GATE, M_FORGET_GATE_SATURATION},
        {RP_OUTPUT_GATE, M_OUTPUT_GATE, M_OUTPUT_GATE_SATURATION},
        {RP_UPDATE_GATE, M_UPDATE_GATE, M_UPDATE_GATE_SATURATION},
        {RP_RESET_GATE, M_RESET_GATE, M_RESET_GATE_SATURATION},
        {RP_CELL, M_COUNT, M_CELL_SATURATION},
    };
    enum { NPARTS = sizeof parts / sizeof parts[0] };
    double mean[NPARTS] = {0}, satur[NPARTS] = {0}, count[NPARTS] = {0};
    for (int i = 0; i < e->g->n; i++) {
        const IrNode *nd = &e->g->nodes[i];
        const OpDef *op = op_def(nd->op);
        if (nd->layer != layer || !op->part_stats)
            continue;
        RecurrentStats st;
        op->part_stats(&e->ctxs[i], &st);
        double n = (double)node_floats(e, i);
        for (int k = 0; k < NPARTS; k++)
            if (!isnan(st.saturation[parts[k].part])) {
                mean[k] += n * st.mean[parts[k].part];
                satur[k] += n * st.saturation[parts[k].part];
                count[k] += n;
            }
        if (!isnan(st.saturation[RP_ACTIVATION])) {
            sat->below += n * st.saturation[RP_ACTIVATION];
            sat->total += n;
        }
    }
    for (int k = 0; k < NPARTS; k++) {
        *metric_at(m, parts[k].saturation) = count[k] ? satur[k] / count[k] : NAN;
        if (parts[k].mean != M_COUNT)
            *metric_at(m, parts[k].mean) = count[k] ? mean[k] / count[k] : NAN;
    }
}

/* The mean entropy −Σ_j p_j ln p_j of the attention weights of the layer's
 * attention ops over every (example, head, query) row, which their
 * kernels keep during the probe's forward pass:
 * ln T for a query that attends to all T keys alike, 0 for one that looks
 * at a single key — attention collapse, where the softmax passes almost no
 * gradient to its scores. */
static void attention_parts(const Exec *e, int layer, LayerMetrics *m)
{
    double sum = 0;
    long rows = 0;
    for (int i = 0; i < e->g->n; i++) {
        const IrNode *nd = &e->g->nodes[i];
        const OpDef *op = op_def(nd->op);
        if (nd->layer != layer || !op->attention_entropy)
            continue;
        double s;
        long r;
        op->attention_entropy(&e->ctxs[i], &s, &r);
        sum += s;
        rows += r;
    }
    m->attention_entropy = rows ? sum / (double)rows : NAN;
}

/* How many of the units of relu-family activation node i are exactly 0
 * for every probe example — at every time step, on a [T, F] sequence,
 * whose units are its F features (the same weights make feature f at
 * every step, as `dense`, conv1d and the recurrent ops do), and at every
 * position on a [C, H, W] feature map, whose units are its C channels
 * (a convolution's filters) — and the number of units. Entry
 * (r·n + u)·inner + j of the batch belongs to unit u of n. */
static void dead_units(const Exec *e, int i, long *dead, long *units)
{
    const IrNode *nd = &e->g->nodes[i];
    const float *y = e->val[i];
    size_t size = shape_size(nd->shape);
    size_t n = nd->shape.rank == 3 ? (size_t)nd->shape.dim[0]
             : nd->shape.rank == 2 ? (size_t)nd->shape.dim[1] : size;
    size_t inner = nd->shape.rank == 3 ? size / n : 1;
    size_t rows = (size_t)e->batch * (size / (n * inner));
    bool *alive = xcalloc(n, sizeof *alive);
    for (size_t r = 0; r < rows; r++)
        for (size_t u = 0; u < n; u++) {
            const float *at = y + (r * n + u) * inner;
            for (size_t j = 0; j < inner; j++)
                alive[u] |= at[j] != 0.0f;
        }
    for (size_t u = 0; u < n; u++)
        *dead += !alive[u];
    *units += (long)n;
    free(alive);
}

/* Saturation: entries (example × position × unit) of saturating
 * activations, and of an rnn's activation (sat, from recurrent_parts),
 * whose local derivative is below 1% of its maximum. Dead: dead_units. */
static void activation_stats(const Exec *e, int layer, LayerMetrics *m, SatCount rec)
{
    double sat = rec.below, sat_total = rec.total;
    long dead = 0, dead_total = 0;
    for (int i = 0; i < e->g->n; i++) {
        const IrNode *nd = &e->g->nodes[i];
        const OpDef *op = op_def(nd->op);
        if (nd->layer != layer || op->kind != OPK_ACTIVATION)
            continue;
        if (op->saturating) {
            sat += (double)deriv_stats(e, i, 0.01 * op->max_deriv).below;
            sat_total += (double)node_floats(e, i);
        }
        if (op->relu_family)
            dead_units(e, i, &dead, &dead_total);
    }
    m->saturation = sat_total ? sat / sat_total : NAN;
    m->dead = dead_total ? (double)dead / (double)dead_total : NAN;
}

/* bptt: the per-step norms ‖dLoss/dh_t‖ the layer's last recurrent op
 * recorded during the probe's backward pass (exec plans T floats for it);
 * bptt_ratio = bptt[1] / bptt[T], the gradient's change through time as
 * `ratio` is its change through depth (absent when bptt[T] is 0). */
int metrics_bptt_node(const IrGraph *g, int layer)
{
    for (int i = g->n - 1; i >= 0; i--)
        if (g->nodes[i].layer == layer && op_def(g->nodes[i].op)->kind == OPK_RECURRENT)
            return i;
    return -1;
}

static void bptt_curve(const Exec *e, int layer, LayerMetrics *m)
{
    int i = metrics_bptt_node(e->g, layer);
    if (i < 0)
        return;
    m->bptt_len = (int)e->g->nodes[i].shape.dim[0];
    m->bptt = xmalloc((size_t)m->bptt_len * sizeof *m->bptt);
    memcpy(m->bptt, e->bptt[i], (size_t)m->bptt_len * sizeof *m->bptt);
    double last = m->bptt[m->bptt_len - 1];
    m->bptt_ratio = last == 0 ? NAN : m->bptt[0] / last;
}

/* A layer's one weight op, whose W scales the signal as mean-field theory
 * counts it: a dense or a convolution. */
static bool weight_op(int op)
{
    return op == OP_DENSE || op == OP_CONV1D || op == OP_CONV2D;
}

/* The factor by which mean-field theory says layer `layer` scales the
 * squared gradient norm on its way down: σw²·E[φ′(z)²], σw² = fan_in·Var(W)
 * (Schoenholz et al. 2017; Glorot & Bengio 2010 eq. 14). A convolution's
 * fan_in is C·k², the inputs of one output (He et al. 2015 §2.2): each
 * input position receives C′·k² products, so with stride 1 and "same"
 * padding ‖dx‖² = Var(W)·C·k²·‖dy‖² away from the borders, as for a dense
 * layer. Applies only to a layer that is one dense or convolution op
 * (optionally followed by one activation) fed by the previous layer's
 * output; NaN otherwise. */
static double chain_factor(const MeasureInput *in, const Exec *e, int layer)
{
    const IrGraph *g = in->g;
    int lin = -1, act = -1, other = 0;
    for (int i = 0; i < g->n; i++) {
        if (g->nodes[i].layer != layer)
            continue;
        const OpDef *op = op_def(g->nodes[i].op);
        if (weight_op(g->nodes[i].op) && lin < 0)
            lin = i;
        else if (op->kind == OPK_ACTIVATION && act < 0 && lin >= 0 && g->nodes[i].in[0] == lin)
            act = i;
        else
            other++;
    }
    if (lin < 0 || other || layer == 0)
        return NAN;
    if (g->nodes[lin].in[0] != g->layers[layer - 1].output)
        return NAN;
    int out = act >= 0 ? act : lin;
    if (g->layers[layer].output != out)
        return NAN;
    const IrParam *w = NULL;
    for (int k = 0; k < g->nodes[lin].nparam; k++)
        if (g->params[g->nodes[lin].param[k]].is_weight)
            w = &g->params[g->nodes[lin].param[k]];
    if (!w)
        return NAN;
    double mean;
    double sigma_w2 = (double)w->fan_in *
                      mean_var(in->params + w->offset, shape_size(w->shape), &mean);
    double ephi = 1.0;
    if (act >= 0)
        ephi = deriv_stats(e, act, 0).sq / (double)node_floats(e, act);
    return sigma_w2 * ephi;
}

static void predictions(const MeasureInput *in, const Exec *e, Report *rep)
{
    int L = in->g->nlayers;
    double prod = 1.0;
    rep->layers[L - 1].predicted = 1.0;
    for (int l = L - 2; l >= 0; l--) {
        prod *= chain_factor(in, e, l + 1);
        rep->layers[l].predicted = sqrt(prod);
    }
}

/* The first rule of docs/report.md that applies, and in *by the metric
 * whose threshold decided it (-1 for healthy). An absent act_grad_norm
 * (the layer's output is the input data, which has no gradient) or an
 * absent ratio (the last layer's gradient is zero) skips the rules that
 * need it rather than reading as a non-finite value; the through-time
 * rules read bptt_ratio, absent for a layer without a recurrent op. */
static Verdict verdict(const Settings *s, const LayerMetrics *m, bool has_grad, int *by)
{
    double above = s->exploding_above, below = s->vanishing_below;
    *by = has_grad && !isfinite(m->act_grad_norm) ? M_ACT_GRAD_NORM
        : has_grad && (isinf(m->ratio) || m->ratio > above) ? M_RATIO
        : isinf(m->bptt_ratio) || m->bptt_ratio > above ? M_BPTT_RATIO : -1;
    if (*by >= 0)
        return VERDICT_EXPLODING;
    *by = m->ratio < below ? M_RATIO : m->bptt_ratio < below ? M_BPTT_RATIO : -1;
    if (*by >= 0)
        return VERDICT_VANISHING;
    *by = m->saturation > 0.5 ? M_SATURATION : m->dead > 0.5 ? M_DEAD : -1;
    return *by == M_SATURATION ? VERDICT_SATURATED
         : *by == M_DEAD ? VERDICT_DEAD : VERDICT_HEALTHY;
}

/* bce: a logit above 0 predicts 1; targets of 0.5 and above count as 1. */
static double binary_accuracy(const MeasureInput *in, const float *logits, const float *targets,
                              int rows)
{
    size_t n = (size_t)rows * shape_size(in->g->nodes[in->g->output].shape);
    long right = 0;
    for (size_t i = 0; i < n; i++)
        right += (logits[i] > 0) == (targets[i] >= 0.5f);
    return (double)right / (double)n;
}

double metrics_accuracy(const MeasureInput *in, const float *logits, const float *targets,
                        int rows)
{
    if (in->set->loss == OP_BCE)
        return binary_accuracy(in, logits, targets, rows);
    int classes = in->data->classes;
    if (classes <= 0)
        return NAN;
    size_t width = shape_size(in->g->nodes[in->g->output].shape);
    size_t steps = shape_size(in->data->y_shape);  /* one label per time step */
    size_t c = width / steps;
    long right = 0;
    for (int b = 0; b < rows; b++)
        for (size_t t = 0; t < steps; t++) {
            const float *z = logits + (size_t)b * width + t * c;
            size_t best = 0;
            for (size_t k = 1; k < c; k++)
                if (z[k] > z[best])
                    best = k;
            right += (float)best == targets[(size_t)b * steps + t];
        }
    return (double)right / ((double)rows * (double)steps);
}

void metrics_measure(const MeasureInput *in, Report *rep)
{
    Exec *e = in->probe;
    const IrGraph *g = in->g;
    exec_forward(e, EXEC_PROBE);
    rep->layers = xcalloc((size_t)g->nlayers, sizeof *rep->layers);
    SatCount *rec = xcalloc((size_t)g->nlayers, sizeof *rec);
    for (int l = 0; l < g->nlayers; l++) {
        rep->layers[l].bptt_ratio = NAN;
        recurrent_parts(e, l, &rep->layers[l], &rec[l]);
        attention_parts(e, l, &rep->layers[l]);
    }
    ProbePass pass = {.in = in, .g2 = xcalloc((size_t)g->nlayers, sizeof *pass.g2)};
    exec_backward_each(e, EXEC_PROBE, probe_node_done, &pass);
    rep->step = in->step;
    rep->loss = exec_loss(e);
    rep->accuracy = metrics_accuracy(in, e->val[g->output], e->val[g->target], e->batch);
    rep->global_norm = in->step > 0 ? in->last_global_norm : NAN;
    rep->clipped = in->step > 0 ? (double)in->clipped_steps / (double)in->step : 0;
    rep->test_accuracy = NAN;
    for (int l = 0; l < g->nlayers; l++) {
        LayerMetrics *m = &rep->layers[l];
        param_norms(in, l, pass.g2[l], m);
        output_stats(e, g->layers[l].output, m);
        activation_stats(e, l, m, rec[l]);
        bptt_curve(e, l, m);
    }
    free(rec);
    free(pass.g2);
    if (g->nlayers == 0)
        return;
    double top = rep->layers[g->nlayers - 1].act_grad_norm;
    for (int l = 0; l < g->nlayers; l++)
        rep->layers[l].ratio = top == 0 ? NAN : rep->layers[l].act_grad_norm / top;
    predictions(in, e, rep);
    for (int l = 0; l < g->nlayers; l++)
        rep->layers[l].verdict = verdict(in->set, &rep->layers[l],
                                         e->grad[g->layers[l].output] != NULL,
                                         &rep->layers[l].verdict_by);
}

/* p·log p, 0 at p = 0 (the limit): a class no probe row has adds nothing. */
static double plogp(double p)
{
    return p > 0 ? p * log(p) : 0;
}

double metrics_baseline(const Dataset *d, int loss, const int *rows, int n)
{
    size_t width = shape_size(d->y_shape);
    if (n < 1 || width == 0)
        return NAN;
    double *counts = loss == OP_CROSS_ENTROPY ? xmalloc(sizeof *counts * (size_t)d->classes)
                                              : NULL;
    double total = 0;
    /* one output (a target position) at a time: the best constant is chosen
     * per position, and every loss averages over the positions */
    for (size_t j = 0; j < width; j++) {
        if (counts) {
            memset(counts, 0, sizeof *counts * (size_t)d->classes);
            for (int i = 0; i < n; i++)
                counts[(int)d->y[(size_t)rows[i] * width + j]]++;
            for (int k = 0; k < d->classes; k++)
                total -= plogp(counts[k] / n);
            continue;
        }
        double sum = 0;
        for (int i = 0; i < n; i++)
            sum += d->y[(size_t)rows[i] * width + j];
        double mean = sum / n;
        if (loss == OP_BCE) {
            total -= plogp(mean) + plogp(1 - mean);
            continue;
        }
        double sq = 0;
        for (int i = 0; i < n; i++) {
            double dev = d->y[(size_t)rows[i] * width + j] - mean;
            sq += dev * dev;
        }
        total += sq / n;
    }
    free(counts);
    return total / (double)width;
}

void metrics_placeholder(const IrGraph *g, Report *rep)
{
    *rep = (Report){.loss = NAN, .accuracy = NAN, .test_accuracy = NAN, .global_norm = NAN,
                    .clipped = NAN};
    rep->layers = xcalloc((size_t)g->nlayers + 1, sizeof *rep->layers);
    for (int l = 0; l < g->nlayers; l++) {
        LayerMetrics *m = &rep->layers[l];
        for (int k = 0; k < M_COUNT; k++)
            metric_set(m, (MetricId)k, NAN);
        m->verdict_by = -1;
        int node = metrics_bptt_node(g, l);
        if (node < 0)
            continue;
        m->bptt_len = (int)g->nodes[node].shape.dim[0];
        m->bptt = xmalloc((size_t)m->bptt_len * sizeof *m->bptt);
        for (int t = 0; t < m->bptt_len; t++)
            m->bptt[t] = NAN;
    }
}

void report_free(Report *rep, int nlayers)
{
    for (int l = 0; rep->layers && l < nlayers; l++)
        free(rep->layers[l].bptt);
    free(rep->layers);
    rep->layers = NULL;
}
