/* test_metrics.c — every layer metric of a report against a hand-computed
 * case: a 3-layer net (tanh, relu, linear) on two examples, with weights
 * set by the test, small enough to follow on paper. The expected values are
 * computed here from the formulas, independently of vg's kernels. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vg/metrics.h"
#include "vg/ops.h"
#include "vg/program.h"
#include "vg/train.h"

static const double X[2][2] = {{1, -1}, {2, 0.5}};
static const double T[2] = {0.5, -1};
static const double Wa[2][2] = {{1, -2}, {0.5, 3}}, ba[2] = {0, 0.1};
static const double Wb[2][2] = {{1, -1}, {-2, -1}}, bb[2] = {0, -5};
static const double Wo[2] = {1, 2}, bo = 0.3;

typedef struct Expected {
    double agn[3], gn[3], wn[3], mean[3], std[3], sat_a, dead_b, pred[3], loss;
} Expected;

static double sq(double x) { return x * x; }

static void mean_std(const double *v, int n, double *mean, double *std)
{
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    *mean = s / n;
    for (int i = 0; i < n; i++)
        s2 += sq(v[i] - *mean);
    *std = sqrt(s2 / n);
}

static double variance(const double *v, int n)
{
    double m, s;
    mean_std(v, n, &m, &s);
    return s * s;
}

/* Forward and backward by hand: z = xW + b per layer, mse = mean (y − t)². */
static void expected(Expected *e)
{
    double za[2][2], h[2][2], zb[2][2], r[2][2], y[2], dy[2], dr[2][2], dzb[2][2], dh[2][2],
        dza[2][2];
    double gWa = 0, gba[2] = {0}, gWb = 0, gbb[2] = {0}, gWo[2] = {0}, gbo = 0;
    e->loss = 0;
    for (int n = 0; n < 2; n++) {
        for (int j = 0; j < 2; j++) {
            za[n][j] = X[n][0] * Wa[0][j] + X[n][1] * Wa[1][j] + ba[j];
            h[n][j] = tanh(za[n][j]);
        }
        for (int j = 0; j < 2; j++) {
            zb[n][j] = h[n][0] * Wb[0][j] + h[n][1] * Wb[1][j] + bb[j];
            r[n][j] = zb[n][j] > 0 ? zb[n][j] : 0;
        }
        y[n] = r[n][0] * Wo[0] + r[n][1] * Wo[1] + bo;
        e->loss += sq(y[n] - T[n]) / 2;
        dy[n] = 2 * (y[n] - T[n]) / 2;
        for (int j = 0; j < 2; j++) {
            dr[n][j] = dy[n] * Wo[j];
            dzb[n][j] = zb[n][j] > 0 ? dr[n][j] : 0;
        }
        for (int i = 0; i < 2; i++) {
            dh[n][i] = dzb[n][0] * Wb[i][0] + dzb[n][1] * Wb[i][1];
            dza[n][i] = dh[n][i] * (1 - sq(h[n][i]));
        }
    }
    /* parameter gradients: dW = xᵀ·dz, db = Σ dz */
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            gWa += sq(X[0][i] * dza[0][j] + X[1][i] * dza[1][j]);
            gWb += sq(h[0][i] * dzb[0][j] + h[1][i] * dzb[1][j]);
        }
    for (int j = 0; j < 2; j++) {
        gba[j] = dza[0][j] + dza[1][j];
        gbb[j] = dzb[0][j] + dzb[1][j];
        gWo[j] = r[0][j] * dy[0] + r[1][j] * dy[1];
    }
    gbo = dy[0] + dy[1];
    e->gn[0] = sqrt(gWa + sq(gba[0]) + sq(gba[1]));
    e->gn[1] = sqrt(gWb + sq(gbb[0]) + sq(gbb[1]));
    e->gn[2] = sqrt(sq(gWo[0]) + sq(gWo[1]) + sq(gbo));
    e->wn[0] = sqrt(1 + 4 + 0.25 + 9 + 0 + 0.01);
    e->wn[1] = sqrt(1 + 1 + 4 + 1 + 0 + 25);
    e->wn[2] = sqrt(1 + 4 + 0.09);
    e->agn[0] = sqrt(sq(dh[0][0]) + sq(dh[0][1]) + sq(dh[1][0]) + sq(dh[1][1]));
    e->agn[1] = sqrt(sq(dr[0][0]) + sq(dr[0][1]) + sq(dr[1][0]) + sq(dr[1][1]));
    e->agn[2] = sqrt(sq(dy[0]) + sq(dy[1]));
    double hv[4] = {h[0][0], h[0][1], h[1][0], h[1][1]};
    double rv[4] = {r[0][0], r[0][1], r[1][0], r[1][1]};
    mean_std(hv, 4, &e->mean[0], &e->std[0]);
    mean_std(rv, 4, &e->mean[1], &e->std[1]);
    mean_std(y, 2, &e->mean[2], &e->std[2]);
    /* tanh′ = 1 − tanh² < 1% of its maximum (1) only where |z| > ~2.99 */
    int sat = 0;
    for (int n = 0; n < 2; n++)
        for (int j = 0; j < 2; j++)
            sat += 1 - sq(h[n][j]) < 0.01;
    e->sat_a = sat / 4.0;
    int dead = 0;
    for (int j = 0; j < 2; j++)
        dead += r[0][j] == 0 && r[1][j] == 0;
    e->dead_b = dead / 2.0;
    /* mean field: factor_k = fan_in·Var(W_k)·E[φ′(z_k)²] */
    double wo[2] = {Wo[0], Wo[1]}, wb[4] = {Wb[0][0], Wb[0][1], Wb[1][0], Wb[1][1]};
    double relu_d2 = ((zb[0][0] > 0) + (zb[0][1] > 0) + (zb[1][0] > 0) + (zb[1][1] > 0)) / 4.0;
    double f_out = 2 * variance(wo, 2), f_b = 2 * variance(wb, 4) * relu_d2;
    e->pred[2] = 1;
    e->pred[1] = sqrt(f_out);
    e->pred[0] = sqrt(f_out * f_b);
}

static char csv_path[64];
static Program prog;
static Run run;

static void set_param(Run *r, int layer, bool weight, const double *v, int n)
{
    for (int k = 0; k < r->g.nparams; k++) {
        const IrParam *p = &r->g.params[k];
        if (p->layer == layer && p->is_weight == weight) {
            assert_int_equal(shape_size(p->shape), n);
            for (int i = 0; i < n; i++)
                r->ps.value[p->offset + i] = (float)v[i];
            return;
        }
    }
    fail_msg("layer %d has no %s", layer, weight ? "weight" : "bias");
}

static int setup(void **state)
{
    (void)state;
    strcpy(csv_path, "/tmp/vg-test-metrics-XXXXXX");
    int fd = mkstemp(csv_path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "x1,x2,t\n1,-1,0.5\n2,0.5,-1\n");
    fclose(f);
    char vgpath[96];
    snprintf(vgpath, sizeof vgpath, "%s.vg", csv_path);
    f = fopen(vgpath, "w");
    fprintf(f,
            "model m() {\n"
            "    input x[2]\n"
            "    layer a { h = tanh(dense(x, 2)) }\n"
            "    layer b { r = relu(dense(h, 2)) }\n"
            "    layer out { y = dense(r, 1) }\n"
            "    return y\n"
            "}\n"
            "train t = m() {\n"
            "    data = csv(\"%s\", target = \"t\")\n"
            "    loss = mse  optimizer = sgd(lr = 0.1)  batch = 2  steps = 0  probe = all\n"
            "}\n",
            csv_path);
    fclose(f);
    program_init(&prog);
    bool ok = program_load(&prog, vgpath, SPAN_NONE);
    remove(vgpath);
    if (!ok)
        diag_render_all(stderr, &prog.diag, false);
    assert_true(ok);
    TrainOptions o = {.seed = -1};
    Member *ms;
    int nm;
    ok = elab_members(&prog, prog.trains[0], &ms, &nm) && run_prepare(&prog, &ms[0], &o, &run);
    if (!ok)
        diag_render_all(stderr, &prog.diag, false);
    assert_true(ok);
    double wa[4] = {Wa[0][0], Wa[0][1], Wa[1][0], Wa[1][1]};
    double wb[4] = {Wb[0][0], Wb[0][1], Wb[1][0], Wb[1][1]};
    set_param(&run, 0, true, wa, 4);
    set_param(&run, 0, false, ba, 2);
    set_param(&run, 1, true, wb, 4);
    set_param(&run, 1, false, bb, 2);
    set_param(&run, 2, true, Wo, 2);
    set_param(&run, 2, false, &bo, 1);
    assert_int_equal(run_train(&prog, &run, 0, &o), 0);
    assert_int_equal(run.nreports, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    run_free(&run);
    program_free(&prog);
    remove(csv_path);
    return 0;
}

#define assert_close(got, want) \
    assert_true(fabs((got) - (want)) <= 1e-4 * fmax(1, fabs(want)))

static void test_norms(void **state)
{
    (void)state;
    Expected e;
    expected(&e);
    const Report *rep = &run.reports[0];
    assert_close(rep->loss, e.loss);
    for (int l = 0; l < 3; l++) {
        const LayerMetrics *m = &rep->layers[l];
        assert_close(m->grad_norm, e.gn[l]);
        assert_close(m->weight_norm, e.wn[l]);
        assert_close(m->act_grad_norm, e.agn[l]);
        assert_close(m->ratio, e.agn[l] / e.agn[2]);
        assert_close(m->act_mean, e.mean[l]);
        assert_close(m->act_std, e.std[l]);
        assert_true(isnan(m->update_ratio));  /* no step taken yet */
    }
}

static void test_saturation_and_dead(void **state)
{
    (void)state;
    Expected e;
    expected(&e);
    const Report *rep = &run.reports[0];
    assert_close(e.sat_a, 0.25);   /* only z = −4.9 saturates tanh */
    assert_close(rep->layers[0].saturation, e.sat_a);
    assert_true(isnan(rep->layers[0].dead));
    assert_close(e.dead_b, 0.5);   /* the second relu unit is −h1 − h2 − 5 < 0 */
    assert_close(rep->layers[1].dead, e.dead_b);
    assert_true(isnan(rep->layers[1].saturation));
    assert_true(isnan(rep->layers[2].saturation));
    assert_true(isnan(rep->layers[2].dead));
}

static void test_predicted(void **state)
{
    (void)state;
    Expected e;
    expected(&e);
    const Report *rep = &run.reports[0];
    for (int l = 0; l < 3; l++)
        assert_close(rep->layers[l].predicted, e.pred[l]);
}

static void test_verdicts(void **state)
{
    (void)state;
    const Report *rep = &run.reports[0];
    for (int l = 0; l < 3; l++) {
        const LayerMetrics *m = &rep->layers[l];
        Verdict want = m->ratio < 1e-3 ? VERDICT_VANISHING
                     : m->ratio > 1e3 ? VERDICT_EXPLODING
                     : m->saturation > 0.5 ? VERDICT_SATURATED
                     : m->dead > 0.5 ? VERDICT_DEAD : VERDICT_HEALTHY;
        assert_int_equal(m->verdict, want);
    }
    assert_int_equal(rep->layers[2].verdict, VERDICT_HEALTHY);
}

/* The run's baseline: mse of the best constant (the mean, −0.25) on the
 * two probe targets 0.5 and −1, i.e. their variance 0.75² = 0.5625. */
static void test_run_baseline(void **state)
{
    (void)state;
    assert_close(run.baseline, 0.5625);
}

/* metrics_baseline on data built here, each value worked by hand. */
static void test_baseline_cases(void **state)
{
    (void)state;
    /* mse over two outputs: column 0 is 1, 3, 5 → variance 8/3; column 1
     * is constant → 0; the mean over outputs is 4/3 */
    float mse_y[] = {1, 7, 3, 7, 5, 7};
    Dataset d = {.n = 3, .y_shape = {.rank = 1, .dim = {2}}, .y = mse_y};
    int all[] = {0, 1, 2};
    assert_close(metrics_baseline(&d, OP_MSE, all, 3), 4.0 / 3);
    /* only the rows of the probe count: rows 2 and 0 → variance 4, and 0 */
    int two[] = {2, 0};
    assert_close(metrics_baseline(&d, OP_MSE, two, 2), 2.0);

    /* cross_entropy, 3 classes, labels 0 0 1 2: H = −(½ln½ + 2·¼ln¼) =
     * 1.5 ln 2; a class no probe row has adds nothing */
    float ce_y[] = {0, 0, 1, 2};
    Dataset c = {.n = 4, .classes = 4, .y_shape = {.rank = 1, .dim = {1}}, .y = ce_y};
    int four[] = {0, 1, 2, 3};
    assert_close(metrics_baseline(&c, OP_CROSS_ENTROPY, four, 4), 1.5 * log(2));
    /* one label in the probe: a constant predicts it perfectly */
    int same[] = {0, 1};
    assert_close(metrics_baseline(&c, OP_CROSS_ENTROPY, same, 2), 0.0);
    /* labels per time step [2]: step 1 has 0, 1 (ln 2), step 2 has 1, 1 (0);
     * the mean over steps is ln 2 / 2 */
    float seq_y[] = {0, 1, 1, 1};
    Dataset q = {.n = 2, .classes = 2, .y_shape = {.rank = 1, .dim = {2}}, .y = seq_y};
    assert_close(metrics_baseline(&q, OP_CROSS_ENTROPY, all, 2), log(2) / 2);

    /* bce: output 1 has targets 1, 0, 0, 0 (mean ¼: −¼ln¼ − ¾ln¾), output 2
     * soft targets 0.5 each (ln 2) */
    float bce_y[] = {1, 0.5f, 0, 0.5f, 0, 0.5f, 0, 0.5f};
    Dataset b = {.n = 4, .y_shape = {.rank = 1, .dim = {2}}, .y = bce_y};
    double h = -0.25 * log(0.25) - 0.75 * log(0.75);
    assert_close(metrics_baseline(&b, OP_BCE, four, 4), (h + log(2)) / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_norms),
        cmocka_unit_test(test_saturation_and_dead),
        cmocka_unit_test(test_predicted),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_run_baseline),
        cmocka_unit_test(test_baseline_cases),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
