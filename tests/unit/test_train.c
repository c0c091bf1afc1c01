/* test_train.c — the training loop through the Run API: clipping (against
 * an unclipped twin run: same seed, same first batch, same gradient), test
 * accuracy (against an argmax computed here over all held-out rows at
 * once), pre-training (losses fall, the right layers change, the reasons
 * for skipping), non-finite values in pre-training, and reproducibility of
 * whole runs across processes. */
#include "testutil.h"

#include <math.h>

#include "fixture.h"
#include "vg/pretrain.h"

typedef struct Ctx {
    char vg[512];
} Ctx;

static const char CLIP_SRC[] =
    "model net() {\n"
    "    input x[2]\n"
    "    layer fc { h = tanh(dense(x, 16)) }\n"
    "    layer out { y = dense(h, 2) }\n"
    "    return y\n"
    "}\n"
    "train a = net() {\n"
    "    data = blobs(points = 64, classes = 2)  loss = cross_entropy\n"
    "    optimizer = sgd(lr = 1)  batch = 64  steps = 1  seed = 3  %s\n"
    "}\n";

/* One step of the clip test's run with the given clip setting: the update
 * Δθ (n floats, malloc'd) and the final report's global norm and clipped
 * fraction. */
static float *one_step(const char *clip, size_t *n, double *global_norm, double *clipped)
{
    char src[1024];
    snprintf(src, sizeof src, CLIP_SRC, clip);
    Program p;
    Run r;
    fixture_run(&p, &r, src, 0);
    *n = r.ps.n;
    float *d = malloc(*n * sizeof *d);
    memcpy(d, r.ps.value, *n * sizeof *d);
    TrainOptions o = {.seed = -1};
    assert_int_equal(run_train(&p, &r, -1, &o), 0);
    assert_int_equal(r.step, 1);
    for (size_t i = 0; i < *n; i++)
        d[i] = r.ps.value[i] - d[i];
    *global_norm = r.reports[r.nreports - 1].global_norm;
    *clipped = r.reports[r.nreports - 1].clipped;
    run_free(&r);
    program_free(&p);
    return d;
}

static double norm(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return sqrt(s);
}

/* clip = norm(0.5): the update is the unclipped one scaled to norm lr·0.5;
 * the report keeps the pre-clip norm and counts the step as clipped. */
static void test_clip_norm(void **state)
{
    (void)state;
    size_t n, m;
    double gn_free, gn_clip, c_free, c_clip;
    float *free_d = one_step("", &n, &gn_free, &c_free);
    float *clip_d = one_step("clip = norm(0.5)", &m, &gn_clip, &c_clip);
    assert_int_equal(n, m);
    assert_true(gn_free > 0.5);               /* else nothing would be clipped */
    assert_true(fabs(norm(free_d, n) - gn_free) < 1e-4 * gn_free);   /* lr = 1 */
    assert_true(fabs(norm(clip_d, n) - 0.5) < 1e-4);
    for (size_t i = 0; i < n; i++)
        assert_true(fabs(clip_d[i] - free_d[i] * 0.5 / gn_free) < 1e-6);
    assert_true(gn_clip == gn_free);
    assert_true(c_free == 0 && c_clip == 1);
    free(free_d);
    free(clip_d);
}

/* clip = value(0.05): each component of the update is the unclipped one
 * clamped to ±lr·0.05, and some but not all were. */
static void test_clip_value(void **state)
{
    (void)state;
    size_t n, m;
    double gn_free, gn_clip, c_free, c_clip;
    float *free_d = one_step("", &n, &gn_free, &c_free);
    float *clip_d = one_step("clip = value(0.05)", &m, &gn_clip, &c_clip);
    assert_int_equal(n, m);
    size_t over = 0;
    for (size_t i = 0; i < n; i++) {
        double want = fmax(-0.05, fmin(0.05, free_d[i]));
        over += fabs(free_d[i]) > 0.05;
        assert_true(fabs(clip_d[i] - want) < 1e-6);
    }
    assert_true(over > 0 && over < n);
    assert_true(c_clip == 1 && gn_clip == gn_free);
    free(free_d);
    free(clip_d);
}

/* A bound above the norm clips nothing. */
static void test_clip_not_needed(void **state)
{
    (void)state;
    size_t n, m;
    double gn_free, gn_clip, c_free, c_clip;
    float *free_d = one_step("", &n, &gn_free, &c_free);
    float *clip_d = one_step("clip = norm(1e6)", &m, &gn_clip, &c_clip);
    assert_memory_equal(free_d, clip_d, n * sizeof *free_d);
    assert_true(c_clip == 0);
    free(free_d);
    free(clip_d);
}

static const char TEST_SRC[] =
    "model net() {\n"
    "    input x[3]\n"
    "    layer fc { h = relu(dense(x, 8)) }\n"
    "    layer out { y = dense(h, 3) }\n"
    "    return y\n"
    "}\n"
    "train a = net() {\n"
    "    data = blobs(points = 1000, classes = 3, dims = 3, spread = 4)\n"
    "    loss = cross_entropy  optimizer = adam(lr = 0.01)  batch = 50  steps = 40\n"
    "    seed = 5  test = 0.4  report = 20\n"
    "}\n";

/* Accuracy over the 400 held-out rows in one forward pass, argmax here. */
static double held_out_accuracy(Run *r)
{
    int ntest = r->data.n - r->ntrain;
    Exec e;
    DiagSink d = {0};
    assert_true(exec_plan(&e, &r->g, &r->ps, ntest, 0, &d));
    data_fill(&r->data, &e, r->order + r->ntrain, ntest);
    exec_forward(&e, EXEC_EVAL);
    const float *z = e.val[r->g.output];
    int right = 0;
    for (int b = 0; b < ntest; b++) {
        int best = 0;
        for (int k = 1; k < 3; k++)
            if (z[b * 3 + k] > z[b * 3 + best])
                best = k;
        right += best == (int)r->data.y[r->order[r->ntrain + b]];
    }
    exec_free(&e);
    return (double)right / ntest;
}

/* Test accuracy at each report is the accuracy on exactly the held-out
 * rows (400: a chunk of 256 and one of 144), which training never sees. */
static void test_test_accuracy(void **state)
{
    (void)state;
    Program p;
    Run r;
    fixture_run(&p, &r, TEST_SRC, 0);
    assert_int_equal(r.ntrain, 600);
    for (int i = r.ntrain; i < r.data.n; i++)      /* held-out rows: never in a batch */
        for (int k = 0; k < r.ntrain; k++)
            assert_int_not_equal(r.order[i], r.order[k]);
    TrainOptions o = {.seed = -1};
    assert_int_equal(run_train(&p, &r, 0, &o), 0);
    assert_true(r.reports[0].test_accuracy == held_out_accuracy(&r));
    assert_int_equal(run_train(&p, &r, -1, &o), 0);
    const Report *last = &r.reports[r.nreports - 1];
    assert_int_equal(last->step, 40);
    assert_true(last->test_accuracy == held_out_accuracy(&r));
    assert_true(last->test_accuracy != r.reports[0].test_accuracy);
    run_free(&r);
    program_free(&p);
}

/* Without a test split the value does not apply. */
static void test_no_test_split(void **state)
{
    (void)state;
    char src[1024];
    snprintf(src, sizeof src, CLIP_SRC, "");
    Program p;
    Run r;
    fixture_run(&p, &r, src, 0);
    TrainOptions o = {.seed = -1};
    assert_int_equal(run_train(&p, &r, -1, &o), 0);
    assert_true(isnan(r.reports[0].test_accuracy));
    run_free(&r);
    program_free(&p);
}

static const char PRE_SRC[] =
    "model deep() {\n"
    "    input x[2]\n"
    "    h = x\n"
    "    for i in 1..2 {\n"
    "        layer fc[i] { h = sigmoid(dense(h, 16, init = fanin_uniform)) }\n"
    "    }\n"
    "    layer res { h = h + tanh(dense(h, 16)) }\n"
    "    layer out { y = dense(h, 2) }\n"
    "    return y\n"
    "}\n"
    "settings s {\n"
    "    data = spirals(points = 256)  loss = cross_entropy  optimizer = sgd(lr = 0.1)\n"
    "    batch = 32  steps = 0  seed = 2  %s\n"
    "}\n"
    "train a = deep() with s\n";

static void pre_run(Program *p, Run *r, const char *extra)
{
    char src[2048];
    snprintf(src, sizeof src, PRE_SRC, extra);
    fixture_run(p, r, src, 0);
}

static bool layer_params_equal(const Run *a, const Run *b, int layer)
{
    for (int k = 0; k < a->g.nparams; k++) {
        const IrParam *pp = &a->g.params[k];
        if (pp->layer == layer &&
            memcmp(a->ps.value + pp->offset, b->ps.value + pp->offset,
                   shape_size(pp->shape) * sizeof(float)) != 0)
            return false;
    }
    return true;
}

/* Dense+activation layers are pre-trained (their loss falls, their
 * parameters change); the residual and the output layer are skipped with
 * their reasons and keep their initial parameters. */
static void test_pretrain(void **state)
{
    (void)state;
    Program p, q;
    Run r, plain;
    pre_run(&p, &r, "pretrain = autoencoder(steps = 300, lr = 0.1)");
    pre_run(&q, &plain, "");
    TrainOptions o = {.seed = -1};
    assert_int_equal(run_train(&p, &r, -1, &o), 0);
    assert_int_equal(run_train(&q, &plain, -1, &o), 0);
    assert_null(plain.pretrain);
    assert_non_null(r.pretrain);
    for (int l = 0; l < 2; l++) {
        assert_null(r.pretrain[l].skipped);
        assert_true(r.pretrain[l].last < r.pretrain[l].first / 4);
        assert_false(layer_params_equal(&r, &plain, l));
    }
    assert_string_equal(r.pretrain[2].skipped,
                        "not a chain of dense and activations (residual, normalisation and "
                        "recurrent layers are not pre-trained)");
    assert_string_equal(r.pretrain[3].skipped, "the output layer is trained with the network");
    assert_true(isnan(r.pretrain[3].first));
    assert_true(layer_params_equal(&r, &plain, 2));
    assert_true(layer_params_equal(&r, &plain, 3));
    /* the initial report is measured after pre-training */
    assert_true(r.reports[0].layers[0].weight_norm != plain.reports[0].layers[0].weight_norm);
    run_free(&r);
    run_free(&plain);
    program_free(&p);
    program_free(&q);
}

/* With lr = 0 nothing changes and the loss stays where it started. */
static void test_pretrain_lr_zero(void **state)
{
    (void)state;
    Program p, q;
    Run r, plain;
    pre_run(&p, &r, "pretrain = autoencoder(steps = 1, lr = 0)");
    pre_run(&q, &plain, "");
    TrainOptions o = {.seed = -1};
    assert_int_equal(run_train(&p, &r, -1, &o), 0);
    for (int l = 0; l < 4; l++)
        assert_true(layer_params_equal(&r, &plain, l));
    assert_true(r.pretrain[0].first == r.pretrain[0].last);
    run_free(&r);
    run_free(&plain);
    program_free(&p);
    program_free(&q);
}

/* A diverging pre-training is a non-finite value like any other: exit 3
 * with on_nonfinite = fail, a diverged run with stop. */
static void test_pretrain_nonfinite(void **state)
{
    (void)state;
    Program p;
    Run r;
    pre_run(&p, &r, "pretrain = autoencoder(steps = 50, lr = 1e30)");
    TrainOptions o = {.seed = -1};
    assert_int_equal(run_train(&p, &r, -1, &o), 3);
    assert_true(r.diverged);
    assert_int_equal(r.diverged_at, 0);
    assert_int_equal(p.diag.n, 1);
    assert_string_equal(p.diag.items[0].msg,
                        "run 'a': pre-training layer 'fc[1]': the reconstruction loss became "
                        "infinite at pre-training step 2");
    assert_int_equal(r.nreports, 1);   /* the report so far stays valid */
    run_free(&r);
    program_free(&p);
    pre_run(&p, &r, "pretrain = autoencoder(steps = 50, lr = 1e30)  on_nonfinite = stop");
    assert_int_equal(run_train(&p, &r, -1, &o), 0);
    assert_true(r.diverged);
    run_free(&r);
    program_free(&p);
}

/* ---- a diverged run's final report (docs/report.md) ---- */

/* Prepares a run of a model with input x[1] whose layers are `layers`,
 * on the rows (x, t) = (1, ½), (2, 1), (−1, −½) (t = x/2) with mse, all
 * three in every batch and in the probe, on_nonfinite = stop, and the
 * given optimizer and steps. */
static void line_run(Program *p, Run *r, const char *layers, const char *train)
{
    char csv[64], src[1024];
    snprintf(csv, sizeof csv, "/tmp/vg-test-line-XXXXXX");
    int fd = mkstemp(csv);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("x,t\n1,0.5\n2,1\n-1,-0.5\n", f);
    fclose(f);
    snprintf(src, sizeof src,
             "model line() {\n"
             "    input x[1]\n"
             "    %s\n"
             "    return y\n"
             "}\n"
             "train a = line() {\n"
             "    data = csv(\"%s\", target = \"t\")  loss = mse  batch = 3  probe = all\n"
             "    on_nonfinite = stop  %s\n"
             "}\n", layers, csv, train);
    fixture_run(p, r, src, 0);
    remove(csv);
}

static void set_param(Run *r, const char *name, float v)
{
    for (int i = 0; i < r->g.nparams; i++)
        if (strcmp(r->g.params[i].name, name) == 0) {
            r->ps.value[r->g.params[i].offset] = v;
            return;
        }
    fail_msg("no parameter '%s'", name);
}

/* y = w·x on the rows above with mse and sgd(lr = 1): L = mean (wx − t)²,
 * ∂L/∂w = 2·mean(x²)·(w − ½) = 4(w − ½), so e = w − ½ becomes −3e each
 * step: from w = 1, e_k = ½·(−3)^k. The loss overflows float once
 * (2e)² > 3.4e38, i.e. at k = 41 (3^40 = 1.2e19, 3^41 = 3.6e19): the 42nd
 * step turns non-finite. With report = 0 the final report is then at step
 * 41 — not the step-0 report — measured on w_41 = ½ + ½·(−3)^41. */
static void test_diverged_final_report(void **state)
{
    (void)state;
    Program p;
    Run r;
    line_run(&p, &r, "layer out { y = dense(x, 1, bias = false) }",
             "optimizer = sgd(lr = 1)  steps = 100  report = 0");
    set_param(&r, "out.W", 1);
    TrainOptions o = {.seed = -1};
    assert_int_equal(run_train(&p, &r, -1, &o), 0);
    assert_true(r.diverged);
    assert_int_equal(r.diverged_at, 42);
    assert_int_equal(r.step, 41);
    assert_int_equal(r.nreports, 2);
    const Report *fin = &r.reports[1];
    assert_int_equal(fin->step, 41);
    double w41 = 0.5 + 0.5 * -pow(3, 41);
    assert_true(fabs(fin->layers[0].weight_norm - fabs(w41)) <= 1e-4 * fabs(w41));
    assert_true(fabs(r.ps.value[0] - w41) <= 1e-4 * fabs(w41));
    assert_true(isinf(fin->loss));   /* the probe is the batch that overflowed */
    assert_true(isfinite(fin->global_norm));   /* step 41's, not the failed one's */
    run_free(&r);
    program_free(&p);
}

/* Without clip, a step updates each node's parameters inside the backward
 * pass, so the layers above a non-finite gradient have taken the step when
 * it is found. Here out's weight 1e38 turns a's gradient infinite (Σx²·1e38
 * = 6e38), while out's bias gradient Σ ∂L/∂y = Σ x = 2 is finite and
 * updated first: the diverged run must still hold every parameter as it
 * was before the step. */
static void test_diverged_step_is_undone(void **state)
{
    (void)state;
    Program p;
    Run r;
    line_run(&p, &r, "layer a { h = dense(x, 1, bias = false) }  layer out { y = dense(h, 1) }",
             "optimizer = sgd(lr = 0.1)  steps = 5");
    set_param(&r, "a.W", 2e-38f);   /* y = 1e38·2e-38·x = 2x */
    set_param(&r, "out.W", 1e38f);
    set_param(&r, "out.b", 0);
    float *before = malloc(r.ps.n * sizeof *before);
    memcpy(before, r.ps.value, r.ps.n * sizeof *before);
    TrainOptions o = {.seed = -1};
    assert_int_equal(run_train(&p, &r, -1, &o), 0);
    assert_true(r.diverged);
    assert_int_equal(r.diverged_at, 1);
    assert_int_equal(r.nreports, 1);   /* step 0 is the final report */
    assert_memory_equal(r.ps.value, before, r.ps.n * sizeof *before);
    free(before);
    run_free(&r);
    program_free(&p);
}

/* The training, probe and test passes share one block of buffers
 * (exec_plan_view), so each must leave nothing the others read: the
 * weights after training are bit for bit the same whatever the probe size
 * and however often it runs, and the probe measures what a plan of its
 * own would, for every recurrent cell (whose initial-state row lives in
 * that block). */
static const char PROBE_SRC[] =
    "model net() {\n"
    "    input x[6, 2]\n"
    "    layer rec { h = %s(x, 8) }\n"
    "    layer out { y = dense(last(h), 1) }\n"
    "    return y\n"
    "}\n"
    "train a = net() {\n"
    "    data = adding(length = 6, points = 200)  loss = mse\n"
    "    optimizer = adam(lr = 0.01)  batch = 16  steps = 12  seed = 4\n"
    "    probe = %d  report = %d\n"
    "}\n";

static float *trained(const char *cell, int probe, int report, size_t *n)
{
    char src[1024];
    snprintf(src, sizeof src, PROBE_SRC, cell, probe, report);
    Program p;
    Run r;
    fixture_run(&p, &r, src, 0);
    TrainOptions o = {.seed = -1};
    assert_int_equal(run_train(&p, &r, -1, &o), 0);
    assert_int_equal(r.probe.batch, probe);
    /* the last report's probe loss, against a plan of the probe's own */
    Exec e;
    DiagSink d = {0};
    assert_true(exec_plan(&e, &r.g, &r.ps, probe, 0, &d));
    data_fill(&r.data, &e, r.probe_rows, probe);
    exec_forward(&e, EXEC_PROBE);
    assert_float_equal(r.reports[r.nreports - 1].loss, exec_loss(&e), 0);
    exec_free(&e);
    *n = r.ps.n;
    float *w = malloc(*n * sizeof *w);
    memcpy(w, r.ps.value, *n * sizeof *w);
    run_free(&r);
    program_free(&p);
    return w;
}

static void test_probe_leaves_training_alone(void **state)
{
    (void)state;
    static const char *const cells[] = {"rnn", "lstm", "gru"};
    for (int k = 0; k < 3; k++) {
        size_t n1, n2, n3;
        float *quiet = trained(cells[k], 16, 0, &n1);
        float *big = trained(cells[k], 100, 1, &n2);
        float *small = trained(cells[k], 5, 1, &n3);
        assert_int_equal(n1, n2);
        assert_int_equal(n1, n3);
        assert_memory_equal(quiet, big, n1 * sizeof *quiet);
        assert_memory_equal(quiet, small, n1 * sizeof *quiet);
        free(quiet);
        free(big);
        free(small);
    }
}

/* Same file, seed and thread count: the same bytes, in two processes; a
 * different seed: different numbers. */
static void test_reproducible(void **state)
{
    const Ctx *c = *state;
    char cmd[1024];
    char *a = NULL, *b = NULL, *d = NULL;
    snprintf(cmd, sizeof cmd, "NO_COLOR=1 %s run tests/golden/optimizers.vg --threads 1", c->vg);
    assert_int_equal(fixture_capture(cmd, &a), 0);
    assert_int_equal(fixture_capture(cmd, &b), 0);
    assert_true(strlen(a) > 1000);
    assert_string_equal(a, b);
    snprintf(cmd, sizeof cmd, "NO_COLOR=1 %s run tests/golden/optimizers.vg --seed 2", c->vg);
    assert_true(fixture_capture(cmd, &d) >= 0);
    assert_string_not_equal(a, d);
    free(a);
    free(b);
    free(d);
}

int main(int argc, char **argv)
{
    (void)argc;
    Ctx ctx;
    fixture_vg_path(argv[0], ctx.vg, sizeof ctx.vg);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clip_norm),
        cmocka_unit_test(test_clip_value),
        cmocka_unit_test(test_clip_not_needed),
        cmocka_unit_test(test_test_accuracy),
        cmocka_unit_test(test_no_test_split),
        cmocka_unit_test(test_pretrain),
        cmocka_unit_test(test_pretrain_lr_zero),
        cmocka_unit_test(test_pretrain_nonfinite),
        cmocka_unit_test(test_diverged_final_report),
        cmocka_unit_test(test_diverged_step_is_undone),
        cmocka_unit_test(test_probe_leaves_training_alone),
        cmocka_unit_test_prestate(test_reproducible, &ctx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
