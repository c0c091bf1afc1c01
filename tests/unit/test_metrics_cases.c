/* test_metrics_cases.c — the `predicted` column against its closed forms,
 * and the edge cases docs/report.md decides.
 *
 * Closed forms (Glorot & Bengio 2010 eq. 14; Schoenholz et al. 2017): for a
 * chain of dense layers with identity activations, predicted(l) =
 * √∏_{k>l} fan_in_k·Var(W_k); with tanh, each factor also holds
 * E[tanh′(z_k)²] over the probe batch's pre-activations, which this file
 * computes by its own forward pass in double precision. Edge cases: a layer
 * cut off by dead units above it (zero gradient: ratio 0, `vanishing`), a
 * layer whose output is the input (no gradient: absent, not `exploding`), a
 * last layer with a zero gradient (no ratio at all), and a residual layer
 * (no prediction below it). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vg/metrics.h"
#include "vg/program.h"
#include "vg/train.h"

#define assert_close(got, want) \
    assert_true(fabs((got) - (want)) <= 1e-4 * fmax(1, fabs(want)))

typedef struct Case {
    Program prog;
    Run run;
    char path[64];
} Case;

/* Loads a program from text (written to a temporary .vg file), prepares
 * its first run and returns it; the run has not measured anything yet. */
static Case *load(const char *text)
{
    Case *c = calloc(1, sizeof *c);
    strcpy(c->path, "/tmp/vg-test-cases-XXXXXX");
    int fd = mkstemp(c->path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    char vg[80];
    snprintf(vg, sizeof vg, "%s.vg", c->path);
    assert_int_equal(rename(c->path, vg), 0);
    program_init(&c->prog);
    bool ok = program_load(&c->prog, vg, SPAN_NONE);
    TrainOptions o = {.seed = -1};
    Member *ms;
    int nm;
    ok = ok && elab_members(&c->prog, c->prog.trains[0], &ms, &nm) &&
         run_prepare(&c->prog, &ms[0], &o, &c->run);
    if (!ok)
        diag_render_all(stderr, &c->prog.diag, false);
    remove(vg);
    assert_true(ok);
    return c;
}

static void done(Case *c)
{
    run_free(&c->run);
    program_free(&c->prog);
    free(c);
}

static const IrParam *param(const Run *r, int layer, bool weight)
{
    for (int k = 0; k < r->g.nparams; k++)
        if (r->g.params[k].layer == layer && r->g.params[k].is_weight == weight)
            return &r->g.params[k];
    fail_msg("layer %d has no %s", layer, weight ? "weight" : "bias");
    return NULL;
}

/* Deterministic, uneven weights: W_k[i] = scale·sin(1.7·i + k). */
static void set_weights(Run *r, int layer, double scale)
{
    const IrParam *p = param(r, layer, true);
    for (size_t i = 0; i < shape_size(p->shape); i++)
        r->ps.value[p->offset + i] = (float)(scale * sin(1.7 * (double)i + layer));
}

static void set_bias(Run *r, int layer, double v)
{
    const IrParam *p = param(r, layer, false);
    for (size_t i = 0; i < shape_size(p->shape); i++)
        r->ps.value[p->offset + i] = (float)v;
}

static const Report *measure(Case *c)
{
    TrainOptions o = {.seed = -1};
    assert_int_equal(run_train(&c->prog, &c->run, 0, &o), 0);
    assert_int_equal(c->run.nreports, 1);
    return &c->run.reports[0];
}

/* fan_in·Var(W) of a layer's weights, Var the population variance. */
static double sigma_w2(const Run *r, int layer)
{
    const IrParam *p = param(r, layer, true);
    size_t n = shape_size(p->shape);
    const float *w = r->ps.value + p->offset;
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++)
        s += w[i];
    for (size_t i = 0; i < n; i++)
        s2 += (w[i] - s / (double)n) * (w[i] - s / (double)n);
    return (double)p->fan_in * s2 / (double)n;
}

static const char chain_text[] =
    "model chain(act = identity) {\n"
    "    input x[2]\n"
    "    layer a { h = act(dense(x, 3)) }\n"
    "    layer b { h = act(dense(h, 4)) }\n"
    "    layer c { h = act(dense(h, 3)) }\n"
    "    layer out { y = dense(h, 2) }\n"
    "    return y\n"
    "}\n"
    "train t = chain(act = %s) {\n"
    "    data = spirals(points = 24)  loss = cross_entropy  optimizer = sgd(lr = 0.1)\n"
    "    batch = 8  steps = 0  probe = all  seed = 3\n"
    "}\n";

static Case *chain(const char *act)
{
    char text[sizeof chain_text + 16];
    snprintf(text, sizeof text, chain_text, act);
    Case *c = load(text);
    for (int l = 0; l < 4; l++) {
        set_weights(&c->run, l, 0.4 + 0.3 * l);
        set_bias(&c->run, l, 0.1 * l);
    }
    return c;
}

static void test_linear_chain(void **state)
{
    (void)state;
    Case *c = chain("identity");
    const Report *rep = measure(c);
    double f[4];
    for (int l = 1; l < 4; l++)
        f[l] = sigma_w2(&c->run, l);
    /* σw² alone: the identity's derivative is 1 everywhere */
    assert_close(rep->layers[3].predicted, 1.0);
    assert_close(rep->layers[2].predicted, sqrt(f[3]));
    assert_close(rep->layers[1].predicted, sqrt(f[3] * f[2]));
    assert_close(rep->layers[0].predicted, sqrt(f[3] * f[2] * f[1]));
    /* and not trivially: the factors differ from 1 */
    assert_true(fabs(f[1] - 1) > 0.05 && fabs(f[2] - 1) > 0.05 && fabs(f[3] - 1) > 0.05);
    done(c);
}

/* E[tanh′(z)²] of every layer by a forward pass in double precision over
 * the probe rows, with the weights as set (float, as vg stores them). */
static void tanh_factors(Run *r, double ephi[4])
{
    const float *x = exec_source(&r->probe, r->g.input);
    int rows = r->probe.batch;
    static const int width[5] = {2, 3, 4, 3, 2};
    for (int l = 0; l < 3; l++)
        ephi[l] = 0;
    for (int b = 0; b < rows; b++) {
        double h[4] = {x[2 * b], x[2 * b + 1]}, z[4];
        for (int l = 0; l < 3; l++) {
            const float *w = r->ps.value + param(r, l, true)->offset;
            const float *bias = r->ps.value + param(r, l, false)->offset;
            for (int j = 0; j < width[l + 1]; j++) {
                z[j] = bias[j];
                for (int i = 0; i < width[l]; i++)
                    z[j] += h[i] * w[i * width[l + 1] + j];  /* W is fan_in × units */
            }
            for (int j = 0; j < width[l + 1]; j++) {
                h[j] = tanh(z[j]);
                double d = 1 - h[j] * h[j];
                ephi[l] += d * d / (rows * width[l + 1]);
            }
        }
    }
}

static void test_tanh_chain(void **state)
{
    (void)state;
    Case *c = chain("tanh");
    const Report *rep = measure(c);
    double e[4], f[4];
    tanh_factors(&c->run, e);
    for (int l = 1; l < 4; l++)
        f[l] = sigma_w2(&c->run, l);
    /* the output layer is linear (φ′ = 1); layers b and c are tanh */
    double out = f[3], lc = f[2] * e[2], lb = f[1] * e[1];
    assert_close(rep->layers[2].predicted, sqrt(out));
    assert_close(rep->layers[1].predicted, sqrt(out * lc));
    assert_close(rep->layers[0].predicted, sqrt(out * lc * lb));
    /* tanh shrinks the factor: E[tanh′²] < 1 unless every z is 0 */
    assert_true(e[1] < 0.99 && e[2] < 0.99);
    done(c);
}

static void test_dead_layer_cuts_the_gradient(void **state)
{
    (void)state;
    Case *c = load("model m() {\n"
                   "    input x[2]\n"
                   "    layer a { h = tanh(dense(x, 3)) }\n"
                   "    layer b { h = relu(dense(h, 3)) }\n"
                   "    layer out { y = dense(h, 2) }\n"
                   "    return y\n"
                   "}\n"
                   "train t = m() {\n"
                   "    data = spirals(points = 24)  loss = cross_entropy  optimizer = sgd(lr = 0.1)\n"
                   "    batch = 8  steps = 0  probe = all\n"
                   "}\n");
    for (int l = 0; l < 3; l++)
        set_weights(&c->run, l, 0.5);
    set_bias(&c->run, 1, -100);  /* every relu unit of b is off for every example */
    const Report *rep = measure(c);
    const LayerMetrics *a = &rep->layers[0], *b = &rep->layers[1];
    assert_true(b->dead == 1.0);
    assert_true(b->ratio > 1e-3);           /* b's own output still gets a gradient */
    assert_int_equal(b->verdict, VERDICT_DEAD);
    assert_true(a->act_grad_norm == 0.0);   /* nothing passes the dead units */
    assert_true(a->grad_norm == 0.0);
    assert_true(a->ratio == 0.0);
    assert_int_equal(a->verdict, VERDICT_VANISHING);
    done(c);
}

static void test_layer_output_is_the_input(void **state)
{
    (void)state;
    Case *c = load("model m() {\n"
                   "    input x[2]\n"
                   "    layer inp { h = x }\n"
                   "    layer out { y = dense(h, 2) }\n"
                   "    return y\n"
                   "}\n"
                   "train t = m() {\n"
                   "    data = spirals(points = 24)  loss = cross_entropy  optimizer = sgd(lr = 0.1)\n"
                   "    batch = 8  steps = 0  probe = all\n"
                   "}\n");
    const Report *rep = measure(c);
    const LayerMetrics *m = &rep->layers[0];
    const float *x = exec_source(&c->run.probe, c->run.g.input);
    double s = 0;
    for (int i = 0; i < 2 * c->run.probe.batch; i++)
        s += x[i];
    assert_close(m->act_mean, s / (2 * c->run.probe.batch));
    assert_true(isnan(m->act_grad_norm));   /* no gradient is taken w.r.t. data */
    assert_true(isnan(m->ratio));
    assert_true(isnan(m->grad_norm));       /* no parameters */
    assert_true(isnan(m->weight_norm));
    assert_int_equal(m->verdict, VERDICT_HEALTHY);
    done(c);
}

static void test_zero_gradient_at_the_top(void **state)
{
    (void)state;
    char csv[64];
    strcpy(csv, "/tmp/vg-test-cases-XXXXXX");
    int fd = mkstemp(csv);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("x1,x2,t\n1,-1,0.5\n2,0.5,0.5\n-1,0.25,0.5\n", f);
    fclose(f);
    char text[1024];
    snprintf(text, sizeof text,
             "model m() {\n"
             "    input x[2]\n"
             "    layer a { h = tanh(dense(x, 3)) }\n"
             "    layer out { y = dense(h, 1) }\n"
             "    return y\n"
             "}\n"
             "train t = m() {\n"
             "    data = csv(\"%s\", target = \"t\")\n"
             "    loss = mse  optimizer = sgd(lr = 0.1)  batch = 3  steps = 0  probe = all\n"
             "}\n", csv);
    Case *c = load(text);
    set_weights(&c->run, 0, 0.3);
    set_weights(&c->run, 1, 0);
    set_bias(&c->run, 1, 0.5);   /* y = 0.5 = t: the loss is at its minimum */
    const Report *rep = measure(c);
    remove(csv);
    assert_true(rep->loss == 0.0);
    for (int l = 0; l < 2; l++) {
        assert_true(rep->layers[l].act_grad_norm == 0.0);
        assert_true(isnan(rep->layers[l].ratio));   /* 0/0: no reference to compare to */
        assert_int_equal(rep->layers[l].verdict, VERDICT_HEALTHY);
    }
    done(c);
}

static void test_residual_has_no_prediction_below(void **state)
{
    (void)state;
    Case *c = load("model m() {\n"
                   "    input x[2]\n"
                   "    layer a { h = tanh(dense(x, 3)) }\n"
                   "    layer r { h = h + tanh(dense(h, 3)) }\n"
                   "    layer c { h = tanh(dense(h, 3)) }\n"
                   "    layer out { y = dense(h, 2) }\n"
                   "    return y\n"
                   "}\n"
                   "train t = m() {\n"
                   "    data = spirals(points = 24)  loss = cross_entropy  optimizer = sgd(lr = 0.1)\n"
                   "    batch = 8  steps = 0  probe = all\n"
                   "}\n");
    const Report *rep = measure(c);
    assert_close(rep->layers[3].predicted, 1.0);
    assert_close(rep->layers[2].predicted, sqrt(sigma_w2(&c->run, 3)));
    assert_true(isfinite(rep->layers[1].predicted));   /* r itself: c and out are a chain */
    assert_true(isnan(rep->layers[0].predicted));      /* below the residual sum */
    assert_true(isfinite(rep->layers[0].ratio));       /* the measurement still exists */
    done(c);
}

/* A recurrent layer on the adding problem (length T), its weights set by
 * the test. */
static Case *recurrent(const char *cell)
{
    char text[1024];
    snprintf(text, sizeof text,
             "model m() {\n"
             "    input x[12, 2]\n"
             "    layer rec { h = %s }\n"
             "    layer out { y = dense(last(h), 1) }\n"
             "    return y\n"
             "}\n"
             "train t = m() {\n"
             "    data = adding(length = 12, points = 16)  loss = mse  optimizer = sgd(lr = 0.1)\n"
             "    batch = 4  steps = 0  probe = all\n"
             "}\n", cell);
    return load(text);
}

/* Sets every entry of the parameter named NAME ("rec.W_hh"), or the
 * diagonal only (the rest 0) when diagonal is set. */
static void set_param(Run *r, const char *name, double v, bool diagonal)
{
    for (int k = 0; k < r->g.nparams; k++) {
        const IrParam *p = &r->g.params[k];
        if (strcmp(p->name, name) != 0)
            continue;
        size_t n = shape_size(p->shape), cols = p->shape.rank == 2 ? (size_t)p->shape.dim[1] : 1;
        for (size_t i = 0; i < n; i++)
            r->ps.value[p->offset + i] = !diagonal || i / cols == i % cols ? (float)v : 0.0f;
        return;
    }
    fail_msg("no parameter '%s'", name);
}

/* h_t = h_{t−1}·2I with no input: dLoss/dh_t = 2^(T−t)·dLoss/dh_T, so
 * bptt[1]/bptt[12] = 2^11 = 2048, above exploding_above = 1e3 while ratio
 * (through depth) is unremarkable: exploding by bptt_ratio. With W_hh = 0
 * nothing reaches step 1 from step 12: bptt_ratio 0, vanishing by it. */
static void test_bptt_ratio_verdicts(void **state)
{
    (void)state;
    Case *c = recurrent("rnn(x, 3, act = identity)");
    set_param(&c->run, "rec.W_ih", 0, false);
    set_param(&c->run, "rec.W_hh", 2, true);
    set_param(&c->run, "rec.b", 0.5, false);
    const Report *rep = measure(c);
    const LayerMetrics *m = &rep->layers[0];
    assert_int_equal(m->bptt_len, 12);
    assert_close(m->bptt_ratio, 2048.0);
    assert_close(m->bptt_ratio, m->bptt[0] / m->bptt[11]);
    assert_true(m->ratio > 1e-3 && m->ratio < 1e3);
    assert_int_equal(m->verdict, VERDICT_EXPLODING);
    assert_int_equal(m->verdict_by, M_BPTT_RATIO);
    assert_true(isnan(rep->layers[1].bptt_ratio));   /* no recurrent op */
    assert_int_equal(rep->layers[1].verdict_by, -1);
    done(c);

    c = recurrent("rnn(x, 3, act = identity)");
    set_param(&c->run, "rec.W_hh", 0, false);
    rep = measure(c);
    m = &rep->layers[0];
    assert_true(m->bptt[0] == 0.0f && m->bptt[11] > 0);
    assert_true(m->bptt_ratio == 0.0);
    assert_int_equal(m->verdict, VERDICT_VANISHING);
    assert_int_equal(m->verdict_by, M_BPTT_RATIO);
    assert_true(isnan(m->saturation));   /* identity does not saturate */
    done(c);
}

/* With no weights, an rnn's pre-activation is its bias: tanh′(3) = 0.00987
 * is below 1% of tanh′'s maximum, tanh′(2.9) = 0.0121 is not; the layer's
 * `saturation` counts it. */
static void test_rnn_activation_saturation(void **state)
{
    (void)state;
    const double bias[] = {3.0, 2.9}, want[] = {1.0, 0.0};
    for (int k = 0; k < 2; k++) {
        Case *c = recurrent("rnn(x, 3)");
        set_param(&c->run, "rec.W_ih", 0, false);
        set_param(&c->run, "rec.W_hh", 0, false);
        set_param(&c->run, "rec.b", bias[k], false);
        const LayerMetrics *m = &measure(c)->layers[0];
        assert_true(m->saturation == want[k]);
        /* nothing passes W_hh = 0: through time, vanishing comes first */
        assert_int_equal(m->verdict, VERDICT_VANISHING);
        assert_int_equal(m->verdict_by, M_BPTT_RATIO);
        assert_true(isnan(m->forget_gate) && isnan(m->update_gate));
        done(c);
    }
}

static double sigmoid(double z) { return 1 / (1 + exp(-z)); }

/* With no weights, the lstm's gates are σ(b) at every step: i = σ(0) =
 * 0.5, f = σ(7) (σ′ = 9.1e-4 < 0.0025: saturated), o = σ(−1); the cell
 * follows c_t = f·c_{t−1} + i·tanh(b_g), and tanh(c_t) saturates once
 * |c_t| > atanh(√0.99) = 2.993, which this test counts in double. */
static void test_lstm_gates(void **state)
{
    (void)state;
    Case *c = recurrent("lstm(x, 3)");
    set_param(&c->run, "rec.W_ih", 0, false);
    set_param(&c->run, "rec.W_hh", 0, false);
    set_param(&c->run, "rec.b_i", 0, false);
    set_param(&c->run, "rec.b_f", 7, false);
    set_param(&c->run, "rec.b_g", 1, false);
    set_param(&c->run, "rec.b_o", -1, false);
    const LayerMetrics *m = &measure(c)->layers[0];
    assert_close(m->input_gate, 0.5);
    assert_close(m->forget_gate, sigmoid(7));
    assert_close(m->output_gate, sigmoid(-1));
    assert_true(m->input_gate_saturation == 0.0);
    assert_true(m->forget_gate_saturation == 1.0);
    assert_true(m->output_gate_saturation == 0.0);
    double cell = 0;
    int saturated = 0;
    for (int t = 0; t < 12; t++) {
        cell = sigmoid(7) * cell + 0.5 * tanh(1);
        saturated += 1 - tanh(cell) * tanh(cell) < 0.01;
    }
    assert_true(saturated > 0 && saturated < 12);   /* the case tests the count */
    assert_close(m->cell_saturation, saturated / 12.0);
    assert_true(isnan(m->update_gate) && isnan(m->reset_gate_saturation));
    assert_true(isnan(m->saturation));   /* the gates are not the layer's activations */
    done(c);
}

/* The gru's update gate z = σ(2), reset gate r = σ(−8) (σ′ = 3.4e-4:
 * saturated). */
static void test_gru_gates(void **state)
{
    (void)state;
    Case *c = recurrent("gru(x, 3)");
    set_param(&c->run, "rec.W_ih", 0, false);
    set_param(&c->run, "rec.W_hh", 0, false);
    set_param(&c->run, "rec.b_z", 2, false);
    set_param(&c->run, "rec.b_r", -8, false);
    const LayerMetrics *m = &measure(c)->layers[0];
    assert_close(m->update_gate, sigmoid(2));
    assert_close(m->reset_gate, sigmoid(-8));
    assert_true(m->update_gate_saturation == 0.0);
    assert_true(m->reset_gate_saturation == 1.0);
    assert_true(isnan(m->forget_gate) && isnan(m->cell_saturation));
    done(c);
}

/* A convolution's units are its channels, over every position: conv1d
 * (kernel 3, "same") on the adding problem's [12, 2] sequences, with
 * channel 0 passing x0[t] ~ U(0, 1) (alive), channel 1 a constant −1
 * (dead everywhere) and channel 2 2·x0[t − 1] − 0.01, which is −0.01 at
 * t = 0, where it reads the padding, and positive almost everywhere else:
 * one dead channel of three (counting (step, channel) entries would give
 * 13 of 36). */
static void test_conv_units_are_channels(void **state)
{
    (void)state;
    Case *c = load("model m() {\n"
                   "    input x[12, 2]\n"
                   "    layer conv { h = relu(conv1d(x, 3, 3)) }\n"
                   "    layer out { y = dense(global_avg_pool(h), 1) }\n"
                   "    return y\n"
                   "}\n"
                   "train t = m() {\n"
                   "    data = adding(length = 12, points = 16)  loss = mse\n"
                   "    optimizer = sgd(lr = 0.1)  batch = 4  steps = 0  probe = all\n"
                   "}\n");
    const IrParam *w = param(&c->run, 0, true), *b = param(&c->run, 0, false);
    float *wv = c->run.ps.value + w->offset, *bv = c->run.ps.value + b->offset;
    memset(wv, 0, sizeof *wv * shape_size(w->shape));
    wv[0 * 6 + 1 * 2 + 0] = 1;  /* channel 0, tap 1 (step t), feature 0 */
    wv[2 * 6 + 0 * 2 + 0] = 2;  /* channel 2, tap 0 (step t − 1), feature 0 */
    bv[0] = 0, bv[1] = -1, bv[2] = -0.01f;
    const Report *rep = measure(c);
    assert_close(rep->layers[0].dead, 1.0 / 3);
    assert_true(isnan(rep->layers[0].saturation));
    done(c);
}

/* predicted on a chain of convolutions, fan_in = F·k as for dense:
 * conv1d layers on copy_memory's [8, 10] one-hot sequences, the last
 * giving 10 logits per step. */
static void test_conv_chain_predicted(void **state)
{
    (void)state;
    Case *c = load("model m() {\n"
                   "    input x[8, 10]\n"
                   "    layer a { h = conv1d(x, 3, 3) }\n"
                   "    layer b { h = identity(conv1d(h, 4, 3)) }\n"
                   "    layer c { h = conv1d(h, 5, 5, padding = 2) }\n"
                   "    layer out { y = conv1d(h, 10, 1) }\n"
                   "    return y\n"
                   "}\n"
                   "train t = m() {\n"
                   "    data = copy_memory(length = 2, delay = 3, points = 16)\n"
                   "    loss = cross_entropy  optimizer = sgd(lr = 0.1)  batch = 4  steps = 0\n"
                   "    probe = all\n"
                   "}\n");
    for (int l = 0; l < 4; l++)
        set_weights(&c->run, l, 0.3 + 0.2 * l);
    assert_int_equal(param(&c->run, 1, true)->fan_in, 3 * 3);
    assert_int_equal(param(&c->run, 2, true)->fan_in, 4 * 5);
    assert_int_equal(param(&c->run, 3, true)->fan_in, 5 * 1);
    const Report *rep = measure(c);
    double f[4];
    for (int l = 1; l < 4; l++)
        f[l] = sigma_w2(&c->run, l);
    assert_close(rep->layers[3].predicted, 1.0);
    assert_close(rep->layers[2].predicted, sqrt(f[3]));
    assert_close(rep->layers[1].predicted, sqrt(f[3] * f[2]));
    assert_close(rep->layers[0].predicted, sqrt(f[3] * f[2] * f[1]));
    assert_true(fabs(f[1] - 1) > 0.05 && fabs(f[2] - 1) > 0.05 && fabs(f[3] - 1) > 0.05);
    done(c);
}

/* relu(x·W + b) on the adding problem's [12, 2] sequences, whose first
 * input is U(0, 1): feature 0 (no weights, bias −1) is 0 everywhere, dead;
 * feature 1, relu(x₀ − 0.97), is 0 at most (example, step) entries, so
 * that at several steps every probe example has it 0 — but not at every
 * step, so it is alive, as feature 2, relu(x₀), is: a dead unit is a
 * feature that is 0 at every position, and `dead` is 1/3, where counting
 * (step, feature) entries would give more. */
static void test_dead_over_positions(void **state)
{
    (void)state;
    Case *c = recurrent("relu(dense(x, 3))");
    set_param(&c->run, "rec.W", 0, false);
    set_param(&c->run, "rec.b", 0, false);
    for (int k = 0; k < c->run.g.nparams; k++) {
        const IrParam *p = &c->run.g.params[k];
        float *v = c->run.ps.value + p->offset;
        if (strcmp(p->name, "rec.W") == 0)
            v[0 * 3 + 1] = v[0 * 3 + 2] = 1;  /* W [2, 3]: x₀ feeds features 1 and 2 */
        else if (strcmp(p->name, "rec.b") == 0)
            v[0] = -1, v[1] = -0.97f;
    }
    const Report *rep = measure(c);
    const Exec *e = &c->run.probe;
    int relu = -1;
    for (int i = 0; i < c->run.g.n; i++)
        relu = c->run.g.nodes[i].op == OP_RELU ? i : relu;
    int steps_all_zero = 0;  /* steps at which feature 1 is 0 for every example */
    for (int t = 0; t < 12; t++) {
        int b = 0;
        while (b < e->batch && e->val[relu][((size_t)b * 12 + t) * 3 + 1] == 0.0f)
            b++;
        steps_all_zero += b == e->batch;
    }
    assert_true(steps_all_zero > 0 && steps_all_zero < 12);  /* the case tests the rule */
    assert_true(rep->layers[0].dead == 1.0 / 3);
    done(c);
}

/* W_q = W_k = 0 makes every score 0: each query attends uniformly to the
 * keys it sees, with entropy ln 12 over all 12 steps, or ln t over the
 * first t when causal. Two attention ops in one layer average over all
 * their rows (examples × heads × queries): 2 heads at ln 12 and 1 causal
 * head. A layer without attention has none. */
static void test_attention_entropy(void **state)
{
    (void)state;
    double causal = 0;
    for (int t = 1; t <= 12; t++)
        causal += log(t) / 12;
    static const struct { const char *layer; double want_heads[2]; } cases[] = {
        {"attention(x, 2)", {2, 0}},
        {"attention(x, 1, causal = true)", {0, 1}},
        {"attention(x, 2) + attention(x, 1, causal = true)", {2, 1}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        Case *c = recurrent(cases[k].layer);
        for (int i = 0; i < c->run.g.nparams; i++) {
            const char *name = c->run.g.params[i].name;
            if (strncmp(name, "rec.W_q", 7) == 0 || strncmp(name, "rec.W_k", 7) == 0)
                set_param(&c->run, name, 0, false);
        }
        const Report *rep = measure(c);
        double full = cases[k].want_heads[0], masked = cases[k].want_heads[1];
        assert_close(rep->layers[0].attention_entropy,
                     (full * log(12) + masked * causal) / (full + masked));
        assert_true(isnan(rep->layers[1].attention_entropy));
        done(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_chain),
        cmocka_unit_test(test_tanh_chain),
        cmocka_unit_test(test_dead_layer_cuts_the_gradient),
        cmocka_unit_test(test_layer_output_is_the_input),
        cmocka_unit_test(test_zero_gradient_at_the_top),
        cmocka_unit_test(test_residual_has_no_prediction_below),
        cmocka_unit_test(test_bptt_ratio_verdicts),
        cmocka_unit_test(test_rnn_activation_saturation),
        cmocka_unit_test(test_lstm_gates),
        cmocka_unit_test(test_gru_gates),
        cmocka_unit_test(test_conv_units_are_channels),
        cmocka_unit_test(test_conv_chain_predicted),
        cmocka_unit_test(test_attention_entropy),
        cmocka_unit_test(test_dead_over_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
