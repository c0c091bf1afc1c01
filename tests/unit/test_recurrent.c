/* test_recurrent.c — rnn, lstm and gru: forward values against the cell
 * equations written out by hand for tiny sizes, the per-step gradient
 * norms (bptt) against a manual unrolled backward pass, the parameters
 * they declare, and their shape errors. (The gradients themselves are
 * checked against finite differences with every other op in test_ops.c.) */
#include "testutil.h"

#include <math.h>
#include <string.h>
#include "net_fixture.h"

/* x[t, f] → op(x, units) → mse against a [t, units] target, batch rows. */
static void net_build(Net *n, int op, long t, long f, long units, int batch)
{
    net_init(n);
    n->x = ir_add_source(&n->g, OP_INPUT, "x", shape2(t, f), SPAN_NONE, &n->d);
    Value args[2] = {tensor(n->x), num((double)units)};
    n->y = ir_add_node(&n->g, op, SPAN_NONE, NULL, 0, args, 2, &n->d);
    assert_true(n->y >= 0);
    n->g.output = n->y;
    assert_true(ir_add_loss(&n->g, OP_MSE, shape2(t, units), SPAN_NONE, &n->d));
    net_plan(n, batch);
}

static const char *param_name(Net *n, int k)
{
    return n->g.params[n->g.nodes[n->y].param[k]].name;
}

static double sigm(double z)
{
    return 1 / (1 + exp(-z));
}

/* One unit, one feature, two steps: the gates written out. */
static void test_lstm_steps(void **state)
{
    (void)state;
    Net n;
    net_build(&n, OP_LSTM, 2, 1, 1, 1);
    static const char *const names[] = {"lstm1.W_ih", "lstm1.W_hh", "lstm1.b_i", "lstm1.b_f",
                                        "lstm1.b_g", "lstm1.b_o"};
    for (int k = 0; k < 6; k++)
        assert_string_equal(param_name(&n, k), names[k]);
    /* gate order i, f, g, o */
    const float wi[4] = {0.5f, -0.5f, 1.0f, 0.25f}, wh[4] = {0.1f, 0.2f, -0.3f, 0.4f};
    const float b[4] = {0.1f, 1.0f, -0.1f, 0};
    memcpy(net_param(&n, 0), wi, sizeof wi);
    memcpy(net_param(&n, 1), wh, sizeof wh);
    for (int k = 0; k < 4; k++)
        net_param(&n, 2 + k)[0] = b[k];
    const float x[2] = {1, -2};
    memcpy(exec_source(&n.e, n.x), x, sizeof x);
    exec_forward(&n.e, EXEC_EVAL);
    double h = 0, c = 0;
    for (int t = 0; t < 2; t++) {
        double i = sigm(wi[0] * x[t] + wh[0] * h + b[0]);
        double f = sigm(wi[1] * x[t] + wh[1] * h + b[1]);
        double g = tanh(wi[2] * x[t] + wh[2] * h + b[2]);
        double o = sigm(wi[3] * x[t] + wh[3] * h + b[3]);
        c = f * c + i * g;
        h = o * tanh(c);
        assert_float_equal(n.e.val[n.y][t], h, 1e-6);
    }
    /* step 1 by hand: i = σ(0.6), g = tanh(0.9), o = σ(0.25), c = i·g */
    double c1 = sigm(0.6) * tanh(0.9);
    assert_float_equal(n.e.val[n.y][0], sigm(0.25) * tanh(c1), 1e-6);
    net_free(&n);
}

/* GRU (the PyTorch form: r applied to h·W_hn + b_hn). */
static void test_gru_steps(void **state)
{
    (void)state;
    Net n;
    net_build(&n, OP_GRU, 2, 1, 1, 1);
    static const char *const names[] = {"gru1.W_ih", "gru1.W_hh", "gru1.b_r", "gru1.b_z",
                                        "gru1.b_n", "gru1.b_hn"};
    for (int k = 0; k < 6; k++)
        assert_string_equal(param_name(&n, k), names[k]);
    /* gate order r, z, n */
    const float wi[3] = {0.5f, -1.0f, 0.8f}, wh[3] = {0.3f, 0.6f, -0.7f};
    const float b[3] = {0.2f, 0.1f, -0.3f}, bhn = 0.25f;
    memcpy(net_param(&n, 0), wi, sizeof wi);
    memcpy(net_param(&n, 1), wh, sizeof wh);
    for (int k = 0; k < 3; k++)
        net_param(&n, 2 + k)[0] = b[k];
    net_param(&n, 5)[0] = bhn;
    const float x[2] = {1.5f, 0.5f};
    memcpy(exec_source(&n.e, n.x), x, sizeof x);
    exec_forward(&n.e, EXEC_EVAL);
    double h = 0;
    for (int t = 0; t < 2; t++) {
        double r = sigm(wi[0] * x[t] + b[0] + wh[0] * h);
        double z = sigm(wi[1] * x[t] + b[1] + wh[1] * h);
        double nn = tanh(wi[2] * x[t] + b[2] + r * (wh[2] * h + bhn));
        h = (1 - z) * nn + z * h;
        assert_float_equal(n.e.val[n.y][t], h, 1e-6);
    }
    /* step 1 by hand: h0 = 0, so h1 = (1 − σ(−1.4))·tanh(0.9 + σ(0.95)·0.25) */
    assert_float_equal(n.e.val[n.y][0], (1 - sigm(-1.4)) * tanh(0.9 + sigm(0.95) * 0.25),
                       1e-6);
    net_free(&n);
}

static void test_rnn_step_and_params(void **state)
{
    (void)state;
    Net n;
    net_build(&n, OP_RNN, 1, 2, 1, 2);
    assert_int_equal(n.g.nodes[n.y].nparam, 3);
    const IrParam *wih = &n.g.params[n.g.nodes[n.y].param[0]];
    const IrParam *whh = &n.g.params[n.g.nodes[n.y].param[1]];
    assert_int_equal(wih->fan_in, 2);
    assert_int_equal(wih->fan_out, 1);
    assert_int_equal(whh->fan_in, 1);
    assert_int_equal(whh->fan_out, 1);
    assert_int_equal(whh->init->id, SPEC_ORTHOGONAL);
    assert_int_equal(wih->init->id, SPEC_XAVIER_UNIFORM);
    net_param(&n, 0)[0] = 0.5f, net_param(&n, 0)[1] = -1;
    net_param(&n, 2)[0] = 0.1f;
    const float x[4] = {1, 2, -1, 0.5f};
    memcpy(exec_source(&n.e, n.x), x, sizeof x);
    exec_forward(&n.e, EXEC_EVAL);
    assert_float_equal(n.e.val[n.y][0], tanh(0.5 - 2 + 0.1), 1e-6);
    assert_float_equal(n.e.val[n.y][1], tanh(-0.5 - 0.5 + 0.1), 1e-6);
    net_free(&n);
}

/* The LSTM's forget-gate bias starts at forget_bias, the others at 0. */
static void test_lstm_forget_bias(void **state)
{
    (void)state;
    Net n;
    net_build(&n, OP_LSTM, 3, 2, 4, 1);
    Rng r;
    rng_seed(&r, 1);
    params_init(&n.ps, &n.g, &r);
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 4; j++)
            assert_float_equal(net_param(&n, 2 + k)[j], k == 1 ? 1 : 0, 0);
    net_free(&n);
}

/* bptt[t] = ‖dL/dh_t‖ over the batch, the total gradient: for tanh,
 * g_T = d_T and g_t = d_t + (g_{t+1} ⊙ (1 − h_{t+1}²))·W_hhᵀ, with d_t the
 * gradient from the output at step t — unrolled here in double. */
static void test_bptt_norms(void **state)
{
    (void)state;
    enum { T = 5, F = 2, U = 3, B = 2 };
    Net n;
    net_build(&n, OP_RNN, T, F, U, B);
    Rng r;
    rng_seed(&r, 4);
    params_init(&n.ps, &n.g, &r);
    float *x = exec_source(&n.e, n.x), *tg = exec_source(&n.e, n.g.target);
    for (int i = 0; i < B * T * F; i++)
        x[i] = (float)rng_normal(&r);
    for (int i = 0; i < B * T * U; i++)
        tg[i] = (float)rng_normal(&r);
    exec_forward(&n.e, EXEC_PROBE);
    exec_backward(&n.e, EXEC_PROBE);
    const float *h = n.e.val[n.y], *whh = net_param(&n, 1), *bptt = n.e.bptt[n.y];
    assert_non_null(bptt);
    double g[B][U] = {{0}};
    for (int t = T - 1; t >= 0; t--) {
        double next[B][U] = {{0}}, norm = 0;
        for (int b = 0; b < B; b++) {
            for (int j = 0; j < U; j++) {
                double d = 2.0 * (h[(b * T + t) * U + j] - tg[(b * T + t) * U + j]) / (B * T * U);
                if (t < T - 1)
                    for (int k = 0; k < U; k++) {
                        double hk = h[(b * T + t + 1) * U + k];
                        d += g[b][k] * (1 - hk * hk) * whh[j * U + k];
                    }
                next[b][j] = d;
                norm += d * d;
            }
        }
        memcpy(g, next, sizeof g);
        assert_float_equal(bptt[t], sqrt(norm), 1e-5 * sqrt(norm) + 1e-9);
    }
    /* at t = T the total is the direct gradient */
    double direct = 0;
    for (int b = 0; b < B; b++)
        for (int j = 0; j < U; j++) {
            double d = n.e.grad[n.y][(b * T + T - 1) * U + j];
            direct += d * d;
        }
    assert_float_equal(bptt[T - 1], sqrt(direct), 1e-6);
    /* the earlier steps carry more than their direct share */
    double d0 = 0;
    for (int b = 0; b < B; b++)
        for (int j = 0; j < U; j++)
            d0 += pow(n.e.grad[n.y][(b * T) * U + j], 2);
    assert_true(fabs(bptt[0] - sqrt(d0)) > 1e-4);
    /* a training step's backward leaves the curve alone: only reports
     * read it */
    float kept[T];
    memcpy(kept, bptt, sizeof kept);
    for (int i = 0; i < B * T * F; i++)
        x[i] = -x[i];
    exec_forward(&n.e, EXEC_TRAIN);
    exec_backward(&n.e, EXEC_TRAIN);
    assert_memory_equal(bptt, kept, sizeof kept);
    net_free(&n);
}

static void test_rank1_errors(void **state)
{
    (void)state;
    static const int ops[] = {OP_RNN, OP_LSTM, OP_GRU};
    static const char *const msgs[] = {
        "rnn needs a [time, features] input, got [4]",
        "lstm needs a [time, features] input, got [4]",
        "gru needs a [time, features] input, got [4]",
    };
    for (int i = 0; i < 3; i++) {
        Arena a;
        arena_init(&a);
        IrGraph g;
        ir_init(&g, &a, "t");
        DiagSink d;
        diag_init(&d, NULL);
        int x = ir_add_source(&g, OP_INPUT, "x", shape1(4), SPAN_NONE, &d);
        Value args[2] = {{.kind = VAL_TENSOR, .node = x}, {.kind = VAL_NUM, .num = 3}};
        assert_int_equal(ir_add_node(&g, ops[i], SPAN_NONE, NULL, 0, args, 2, &d), -1);
        assert_int_equal(d.errors, 1);
        assert_string_equal(d.items[0].msg, msgs[i]);
        assert_int_equal(g.nparams, 0);
        diag_free(&d);
        ir_free(&g);
        arena_free(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lstm_steps),
        cmocka_unit_test(test_gru_steps),
        cmocka_unit_test(test_rnn_step_and_params),
        cmocka_unit_test(test_lstm_forget_bias),
        cmocka_unit_test(test_bptt_norms),
        cmocka_unit_test(test_rank1_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
