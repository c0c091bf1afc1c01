/* test_attention.c — the attention op's forward pass, and the entropy of
 * its weights a probe keeps, against a plain loop over the formula of
 * Vaswani et al. (2017, §3.2), with and without the causal mask;
 * hand-computed cases (uniform attention averages the values,
 * causal uniform attention averages the prefix); the entropy of its
 * weights; and its shape errors. The backward pass is checked against
 * finite differences by test_ops.c (every op) and tests/gradcheck. */
#include "testutil.h"

#include <math.h>
#include "net_fixture.h"
#include "vg/rng.h"

enum { P_WQ, P_WK, P_WV, P_WO, P_BQ, P_BK, P_BV, P_BO };

/* attention(x, heads, causal) on an input [t, d]; n->x, n->y set. */
static void build(Net *n, long t, long d, int heads, bool causal, int batch)
{
    net_init(n);
    n->x = ir_add_source(&n->g, OP_INPUT, "x", shape2(t, d), SPAN_NONE, &n->d);
    Value args[3] = {tensor(n->x), num(heads), {.kind = VAL_BOOL, .num = causal}};
    n->y = ir_add_node(&n->g, OP_ATTENTION, SPAN_NONE, NULL, 0, args, 3, &n->d);
    assert_true(n->y >= 0);
    assert_int_equal(n->g.nodes[n->y].nparam, 8);
    net_plan(n, batch);
}

/* y = x·W + b for one row of d. */
static void row_affine(const float *x, const float *w, const float *b, int d, double *y)
{
    for (int j = 0; j < d; j++) {
        y[j] = b[j];
        for (int k = 0; k < d; k++)
            y[j] += (double)x[k] * w[k * d + j];
    }
}

/* The formula, one example at a time, in double; *entropy gets the sum
 * over every (example, head, query) of −Σ_j p_j ln p_j. */
static void reference(Net *n, int t, int d, int heads, bool causal, int batch, double *out,
                      double *entropy)
{
    *entropy = 0;
    int dh = d / heads;
    double q[8][8], k[8][8], v[8][8], ctx[8][8];
    const float *x = exec_source(&n->e, n->x);
    for (int b = 0; b < batch; b++) {
        for (int i = 0; i < t; i++) {
            const float *xi = x + ((size_t)b * t + i) * d;
            row_affine(xi, net_param(n, P_WQ), net_param(n, P_BQ), d, q[i]);
            row_affine(xi, net_param(n, P_WK), net_param(n, P_BK), d, k[i]);
            row_affine(xi, net_param(n, P_WV), net_param(n, P_BV), d, v[i]);
        }
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < t; i++) {
                double s[8], max = -INFINITY, sum = 0;
                int keys = causal ? i + 1 : t;
                for (int j = 0; j < keys; j++) {
                    s[j] = 0;
                    for (int c = h * dh; c < (h + 1) * dh; c++)
                        s[j] += q[i][c] * k[j][c];
                    s[j] /= sqrt(dh);
                    max = fmax(max, s[j]);
                }
                for (int j = 0; j < keys; j++)
                    sum += s[j] = exp(s[j] - max);
                for (int j = 0; j < keys; j++)
                    *entropy -= s[j] / sum * log(s[j] / sum);
                for (int c = h * dh; c < (h + 1) * dh; c++) {
                    ctx[i][c] = 0;
                    for (int j = 0; j < keys; j++)
                        ctx[i][c] += s[j] / sum * v[j][c];
                }
            }
        const float *wo = net_param(n, P_WO), *bo = net_param(n, P_BO);
        for (int i = 0; i < t; i++)
            for (int j = 0; j < d; j++) {
                double y = bo[j];
                for (int c = 0; c < d; c++)
                    y += ctx[i][c] * wo[c * d + j];
                out[((size_t)b * t + i) * d + j] = y;
            }
    }
}

static void test_attention_matches_the_formula(void **state)
{
    (void)state;
    Rng r;
    rng_seed(&r, 11);
    static const struct { int t, d, heads; bool causal; } cases[] = {
        {5, 6, 2, false}, {5, 6, 3, true}, {4, 8, 1, false}, {7, 8, 4, true},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int t = cases[c].t, d = cases[c].d, batch = 3;
        Net n;
        build(&n, t, d, cases[c].heads, cases[c].causal, batch);
        for (size_t i = 0; i < n.ps.n; i++)
            n.ps.value[i] = (float)rng_range(&r, -1, 1);
        float *x = exec_source(&n.e, n.x);
        for (int i = 0; i < batch * t * d; i++)
            x[i] = (float)rng_range(&r, -2, 2);
        exec_forward(&n.e, EXEC_PROBE);
        double want[3 * 8 * 8], entropy;
        reference(&n, t, d, cases[c].heads, cases[c].causal, batch, want, &entropy);
        for (int i = 0; i < batch * t * d; i++)
            if (fabs(n.e.val[n.y][i] - want[i]) > 1e-5 * fmax(1, fabs(want[i])))
                fail_msg("case %zu, entry %d: %g, the formula gives %g", c, i,
                         n.e.val[n.y][i], want[i]);
        double sum;
        long rows;
        op_def(OP_ATTENTION)->attention_entropy(&n.e.ctxs[n.y], &sum, &rows);
        assert_int_equal(rows, batch * cases[c].heads * t);
        assert_float_equal(sum, entropy, 1e-5 * entropy);
        /* evaluating and training give the same output */
        exec_forward(&n.e, EXEC_EVAL);
        for (int i = 0; i < batch * t * d; i++)
            assert_float_equal(n.e.val[n.y][i], want[i], 1e-5 * fmax(1, fabs(want[i])));
        net_free(&n);
    }
}

/* W_q = W_k = 0 gives every score 0, so every query attends uniformly:
 * with W_v = W_o = I each output row is the mean of the input rows (of
 * rows 1..i when causal), and the weights' entropy is ln T per row (ln i
 * for query i when causal). */
static void test_uniform_attention(void **state)
{
    (void)state;
    enum { T = 4, D = 2, B = 2 };
    for (int causal = 0; causal <= 1; causal++) {
        Net n;
        build(&n, T, D, 2, causal, B);
        for (int k = 0; k < D; k++) {
            net_param(&n, P_WV)[k * D + k] = 1;
            net_param(&n, P_WO)[k * D + k] = 1;
        }
        float *x = exec_source(&n.e, n.x);
        for (int i = 0; i < B * T * D; i++)
            x[i] = (float)(i * i % 7) - 2;
        exec_forward(&n.e, EXEC_PROBE);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < T; i++)
                for (int j = 0; j < D; j++) {
                    int keys = causal ? i + 1 : T;
                    double mean = 0;
                    for (int s = 0; s < keys; s++)
                        mean += x[(b * T + s) * D + j] / (double)keys;
                    assert_float_equal(n.e.val[n.y][(b * T + i) * D + j], mean, 1e-6);
                }
        double sum;
        long rows;
        op_def(OP_ATTENTION)->attention_entropy(&n.e.ctxs[n.y], &sum, &rows);
        assert_int_equal(rows, B * 2 * T);  /* examples × heads × queries */
        double want = causal ? (log(1) + log(2) + log(3) + log(4)) / T : log(T);
        assert_float_equal(sum / (double)rows, want, 1e-6);
        net_free(&n);
    }
}

/* A query that puts all its weight on one key has entropy 0: scores of
 * ±1e4 saturate the softmax to one-hot rows. */
static void test_collapsed_attention(void **state)
{
    (void)state;
    Net n;
    build(&n, 3, 1, 1, false, 1);
    net_param(&n, P_WQ)[0] = 100;
    net_param(&n, P_WK)[0] = 100;
    float *x = exec_source(&n.e, n.x);
    x[0] = 1, x[1] = -1, x[2] = 0.5f;
    exec_forward(&n.e, EXEC_PROBE);
    double sum;
    long rows;
    op_def(OP_ATTENTION)->attention_entropy(&n.e.ctxs[n.y], &sum, &rows);
    /* queries 1 and 3 score key 1 highest, query 2 key 2; query 3's
     * margin over key 3 is 1e4·0.5·0.5 = 2500: one-hot in float too */
    assert_int_equal(rows, 3);
    assert_float_equal(sum, 0, 1e-12);
    net_free(&n);
}

static void test_attention_errors(void **state)
{
    (void)state;
    static const struct { Shape x; double heads; const char *want; } cases[] = {
        {{1, {6}}, 2, "attention needs a [time, features] input, got [6]"},
        {{3, {2, 3, 4}}, 2, "attention needs a [time, features] input, got [2, 3, 4]"},
        {{2, {5, 6}}, 4, "attention needs features divisible by heads, got 6 features and 4 heads"},
        {{2, {5, 6}}, 7, "attention needs a whole number of heads from 1 to the 6 features, got 7"},
        {{2, {5, 6}}, 0, "attention needs a whole number of heads from 1 to the 6 features, got 0"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        Net n;
        net_init(&n);
        int x = ir_add_source(&n.g, OP_INPUT, "x", cases[c].x, SPAN_NONE, &n.d);
        Value args[2] = {tensor(x), num(cases[c].heads)};
        assert_int_equal(ir_add_node(&n.g, OP_ATTENTION, SPAN_NONE, NULL, 0, args, 2, &n.d), -1);
        assert_string_equal(n.d.items[n.d.n - 1].msg, cases[c].want);
        net_free(&n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attention_matches_the_formula),
        cmocka_unit_test(test_uniform_attention),
        cmocka_unit_test(test_collapsed_attention),
        cmocka_unit_test(test_attention_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
