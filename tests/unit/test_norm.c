/* test_norm.c — batchnorm and layernorm: forward values in both modes
 * against the formulas evaluated by hand, the running statistics (PyTorch's
 * momentum rule, unbiased variance), their parameters, and their argument
 * errors. (Gradients: the registry-wide check in test_ops.c.) */
#include "testutil.h"

#include <math.h>
#include <string.h>
#include "net_fixture.h"

/* x[shape] → op(x, args…), batch rows, parameters at their inits. */
static void net_build(Net *n, int op, Shape s, const Value *extra, int nextra, int batch)
{
    net_init(n);
    n->x = ir_add_source(&n->g, OP_INPUT, "x", s, SPAN_NONE, &n->d);
    Value args[4] = {tensor(n->x)};
    memcpy(args + 1, extra, (size_t)nextra * sizeof *extra);
    n->y = ir_add_node(&n->g, op, SPAN_NONE, NULL, 0, args, 1 + nextra, &n->d);
    assert_true(n->y >= 0);
    net_plan(n, batch);
    Rng r;
    rng_seed(&r, 1);
    params_init(&n->ps, &n->g, &r);
}

/* Batch of 4, 2 features: feature 0 is {1, 2, 3, 4} (mean 2.5, biased
 * variance 1.25, unbiased 5/3), feature 1 is {−1, −1, 1, 1} (0, 1, 4/3). */
static const float batch4[8] = {1, -1, 2, -1, 3, 1, 4, 1};

static void test_batchnorm_training(void **state)
{
    (void)state;
    Net n;
    Value extra[2] = {num(0.1), num(1e-5)};
    net_build(&n, OP_BATCHNORM, shape1(2), extra, 2, 4);
    static const char *const names[] = {"batchnorm1.gamma", "batchnorm1.beta",
                                        "batchnorm1.running_mean", "batchnorm1.running_var"};
    for (int k = 0; k < 4; k++) {
        const IrParam *p = &n.g.params[n.g.nodes[n.y].param[k]];
        assert_string_equal(p->name, names[k]);
        assert_int_equal(p->trainable, k < 2);
        /* gamma 1, beta 0, running mean 0, running variance 1 */
        assert_float_equal(net_param(&n, k)[1], k == 0 || k == 3 ? 1 : 0, 0);
    }
    net_param(&n, 0)[1] = 2;     /* γ₁ */
    net_param(&n, 1)[0] = 0.5f;  /* β₀ */
    memcpy(exec_source(&n.e, n.x), batch4, sizeof batch4);
    exec_forward(&n.e, EXEC_TRAIN);
    const float *y = n.e.val[n.y];
    double s0 = sqrt(1.25 + 1e-5), s1 = sqrt(1 + 1e-5);
    for (int b = 0; b < 4; b++) {
        assert_float_equal(y[2 * b], (batch4[2 * b] - 2.5) / s0 + 0.5, 1e-6);
        assert_float_equal(y[2 * b + 1], 2 * batch4[2 * b + 1] / s1, 1e-6);
    }
    /* running = 0.9·running + 0.1·batch, with the unbiased variance */
    assert_float_equal(net_param(&n, 2)[0], 0.1 * 2.5, 1e-7);
    assert_float_equal(net_param(&n, 2)[1], 0, 1e-7);
    assert_float_equal(net_param(&n, 3)[0], 0.9 + 0.1 * 5.0 / 3, 1e-6);
    assert_float_equal(net_param(&n, 3)[1], 0.9 + 0.1 * 4.0 / 3, 1e-6);
    net_free(&n);
}

/* On [C, H, W], per channel over the batch and the positions (PyTorch's
 * BatchNorm2d): x [2, 1, 2] at batch 2 holds the numbers of batch4, channel
 * 0 being {1, 2 | 3, 4} and channel 1 {−1, −1 | 1, 1}; R = 4 entries. */
static void test_batchnorm_channels(void **state)
{
    (void)state;
    static const float x[8] = {1, 2, -1, -1, 3, 4, 1, 1};
    Net n;
    Value extra[2] = {num(0.1), num(1e-5)};
    net_build(&n, OP_BATCHNORM, (Shape){3, {2, 1, 2}}, extra, 2, 2);
    for (int k = 0; k < 4; k++)
        assert_true(shape_eq(n.g.params[n.g.nodes[n.y].param[k]].shape, shape1(2)));
    net_param(&n, 0)[1] = 2;     /* γ of channel 1 */
    net_param(&n, 1)[0] = 0.5f;  /* β of channel 0 */
    memcpy(exec_source(&n.e, n.x), x, sizeof x);
    exec_forward(&n.e, EXEC_TRAIN);
    const float *y = n.e.val[n.y];
    double s0 = sqrt(1.25 + 1e-5), s1 = sqrt(1 + 1e-5);
    for (int b = 0; b < 2; b++)
        for (int p = 0; p < 2; p++) {
            assert_float_equal(y[4 * b + p], (x[4 * b + p] - 2.5) / s0 + 0.5, 1e-6);
            assert_float_equal(y[4 * b + 2 + p], 2 * x[4 * b + 2 + p] / s1, 1e-6);
        }
    assert_float_equal(net_param(&n, 2)[0], 0.1 * 2.5, 1e-7);
    assert_float_equal(net_param(&n, 3)[0], 0.9 + 0.1 * 5.0 / 3, 1e-6);
    assert_float_equal(net_param(&n, 3)[1], 0.9 + 0.1 * 4.0 / 3, 1e-6);
    net_free(&n);
}

/* Evaluating: the running statistics, which stay as they are. */
static void test_batchnorm_evaluating(void **state)
{
    (void)state;
    Net n;
    Value extra[2] = {num(0.3), num(1e-3)};
    net_build(&n, OP_BATCHNORM, shape2(2, 2), extra, 2, 2);
    net_param(&n, 2)[0] = 1, net_param(&n, 2)[1] = -2;   /* running mean */
    net_param(&n, 3)[0] = 4, net_param(&n, 3)[1] = 0.25f; /* running var */
    memcpy(exec_source(&n.e, n.x), batch4, sizeof batch4);
    exec_forward(&n.e, EXEC_EVAL);
    for (int i = 0; i < 8; i++) {
        double m = i % 2 ? -2 : 1, v = i % 2 ? 0.25 : 4;
        assert_float_equal(n.e.val[n.y][i], (batch4[i] - m) / sqrt(v + 1e-3), 1e-6);
    }
    assert_float_equal(net_param(&n, 2)[0], 1, 0);
    assert_float_equal(net_param(&n, 3)[1], 0.25, 0);
    /* on [T, F], training normalises over batch × time: the same groups
     * as the batch of 4 rows above */
    exec_forward(&n.e, EXEC_TRAIN);
    assert_float_equal(n.e.val[n.y][0], (1 - 2.5) / sqrt(1.25 + 1e-3), 1e-6);
    assert_float_equal(net_param(&n, 2)[0], 0.7 * 1 + 0.3 * 2.5, 1e-6);
    net_free(&n);
}

/* Probing (a report): the batch's own statistics, as in training, but the
 * running ones stay where they are. */
static void test_batchnorm_probing(void **state)
{
    (void)state;
    Net n;
    Value extra[2] = {num(0.1), num(1e-5)};
    net_build(&n, OP_BATCHNORM, shape1(2), extra, 2, 4);
    net_param(&n, 2)[0] = 7, net_param(&n, 3)[0] = 9;   /* running statistics far off */
    memcpy(exec_source(&n.e, n.x), batch4, sizeof batch4);
    exec_forward(&n.e, EXEC_PROBE);
    for (int b = 0; b < 4; b++)
        assert_float_equal(n.e.val[n.y][2 * b], (batch4[2 * b] - 2.5) / sqrt(1.25 + 1e-5), 1e-6);
    assert_float_equal(net_param(&n, 2)[0], 7, 0);
    assert_float_equal(net_param(&n, 3)[0], 9, 0);
    net_free(&n);
}

/* Per row over the features, the same in both modes. */
static void test_layernorm(void **state)
{
    (void)state;
    Net n;
    Value extra[1] = {num(1e-5)};
    net_build(&n, OP_LAYERNORM, shape2(2, 2), extra, 1, 2);
    net_param(&n, 0)[0] = 3;      /* γ₀ */
    net_param(&n, 1)[1] = -1;     /* β₁ */
    memcpy(exec_source(&n.e, n.x), batch4, sizeof batch4);
    for (ExecMode mode = EXEC_TRAIN; mode <= EXEC_EVAL; mode++) {
        exec_forward(&n.e, mode);
        for (int r = 0; r < 4; r++) {
            double a = batch4[2 * r], b = batch4[2 * r + 1], m = (a + b) / 2;
            double s = sqrt((a - m) * (a - m) + 1e-5);  /* biased var: ((a−m)² + (b−m)²)/2 */
            assert_float_equal(n.e.val[n.y][2 * r], 3 * (a - m) / s, 1e-5);
            assert_float_equal(n.e.val[n.y][2 * r + 1], (b - m) / s - 1, 1e-5);
        }
    }
    net_free(&n);
}

/* On a rank-3 input [C, H, W] (images), each of the C·H rows of W values
 * is normalised on its own, and γ, β are [W]. */
static void test_layernorm_rank3(void **state)
{
    (void)state;
    Net n;
    Value extra[1] = {num(1e-5)};
    Shape s = {3, {2, 3, 4}};
    net_build(&n, OP_LAYERNORM, s, extra, 1, 2);
    assert_true(shape_eq(n.g.nodes[n.y].shape, s));
    assert_true(shape_eq(n.g.params[n.g.nodes[n.y].param[0]].shape, shape1(4)));
    net_param(&n, 0)[2] = 2;      /* γ₂ */
    net_param(&n, 1)[3] = 0.5f;   /* β₃ */
    float *x = exec_source(&n.e, n.x);
    for (int i = 0; i < 48; i++)
        x[i] = (float)((i * 7) % 11) - 3;
    exec_forward(&n.e, EXEC_TRAIN);
    for (int r = 0; r < 12; r++) {  /* batch 2 × C 2 × H 3 rows */
        const float *row = x + 4 * r;
        double m = (row[0] + row[1] + row[2] + row[3]) / 4, v = 0;
        for (int k = 0; k < 4; k++)
            v += (row[k] - m) * (row[k] - m) / 4;
        for (int k = 0; k < 4; k++) {
            double want = (row[k] - m) / sqrt(v + 1e-5) * (k == 2 ? 2 : 1) + (k == 3 ? 0.5 : 0);
            assert_float_equal(n.e.val[n.y][4 * r + k], want, 1e-5);
        }
    }
    net_free(&n);
}

static void test_argument_errors(void **state)
{
    (void)state;
    static const struct {
        int op;
        Value extra[2];
        int nextra;
        const char *msg;
    } cases[] = {
        {OP_BATCHNORM, {{.kind = VAL_NUM, .num = 1.5}, {.kind = VAL_NUM, .num = 1e-5}}, 2,
         "batchnorm needs a momentum from 0 to 1, got 1.5"},
        {OP_BATCHNORM, {{.kind = VAL_NUM, .num = 0.1}, {.kind = VAL_NUM, .num = 0}}, 2,
         "batchnorm needs eps above 0, got 0"},
        {OP_LAYERNORM, {{.kind = VAL_NUM, .num = -1}}, 1, "layernorm needs eps above 0, got -1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Arena a;
        arena_init(&a);
        IrGraph g;
        ir_init(&g, &a, "t");
        DiagSink d;
        diag_init(&d, NULL);
        Value args[3] = {{.kind = VAL_TENSOR,
                          .node = ir_add_source(&g, OP_INPUT, "x", shape1(3), SPAN_NONE, &d)}};
        memcpy(args + 1, cases[i].extra, sizeof(Value) * (size_t)cases[i].nextra);
        assert_int_equal(ir_add_node(&g, cases[i].op, SPAN_NONE, NULL, 0, args,
                                     1 + cases[i].nextra, &d), -1);
        assert_int_equal(d.errors, 1);
        assert_string_equal(d.items[0].msg, cases[i].msg);
        assert_int_equal(g.nparams, 0);
        diag_free(&d);
        ir_free(&g);
        arena_free(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batchnorm_training),
        cmocka_unit_test(test_batchnorm_channels),
        cmocka_unit_test(test_batchnorm_probing),
        cmocka_unit_test(test_batchnorm_evaluating),
        cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_layernorm_rank3),
        cmocka_unit_test(test_argument_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
