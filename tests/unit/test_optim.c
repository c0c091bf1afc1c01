/* test_optim.c — each optimizer against steps worked out by hand.
 *
 * Every case starts from w = (1, −2) and applies the same three gradients
 * g1 = (0.5, −1), g2 = (0.25, 0.5), g3 = (−0.5, 0.125); the expected weights
 * after each step and the returned Σ(Δw)² follow from the update rule
 * written beside each case. */
#include "testutil.h"
#include "spec_fixture.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vg/optim.h"

static const float GRADS[3][2] = {{0.5f, -1.0f}, {0.25f, 0.5f}, {-0.5f, 0.125f}};

/* Weights are float32, so expected values hold to about 1e-7 absolute, and
 * Σ(Δw)² — differences of float weights — to a relative 1e-4. */
static void near(double got, double want, double tol, int line)
{
    if (!(fabs(got - want) <= tol)) {
        print_error("line %d: got %.9g, expected %.9g (tolerance %g)\n", line, got, want, tol);
        fail();
    }
}

typedef struct Step {
    double w0, w1, sq;
} Step;

static void check_steps(const Spec *spec, const Step want[3])
{
    Optim o;
    float w[2] = {1.0f, -2.0f};
    optim_init(&o, spec, 2);
    for (int s = 0; s < 3; s++) {
        optim_begin_step(&o);
        double sq = optim_update(&o, w, GRADS[s], 0, 2);
        near(w[0], want[s].w0, 1e-6, __LINE__);
        near(w[1], want[s].w1, 1e-6, __LINE__);
        near(sq, want[s].sq, 1e-4 * want[s].sq, __LINE__);
    }
    assert_int_equal(o.t, 3);
    optim_free(&o);
}

/* w ← w − lr·g: 1 − 0.1·0.5 = 0.95, −2 + 0.1 = −1.9, … */
static void test_sgd(void **state)
{
    (void)state;
    TSpec t;
    const Step want[3] = {{0.95, -1.9, 0.0125}, {0.925, -1.95, 0.003125}, {0.975, -1.9625, 0.00265625}};
    check_steps(make(&t, "sgd", "lr=0.1"), want);
}

/* b ← 0.9·b + g; w ← w − 0.1·b: b2 = 0.9·0.5 + 0.25 = 0.7, w = 0.95 − 0.07 = 0.88 */
static void test_sgd_momentum(void **state)
{
    (void)state;
    TSpec t;
    const Step want[3] = {{0.95, -1.9, 0.0125}, {0.88, -1.86, 0.0065}, {0.867, -1.8365, 0.00072125}};
    check_steps(make(&t, "sgd", "lr=0.1 momentum=0.9"), want);
}

/* step = g + 0.9·b: b1 = 0.5, step = 0.5 + 0.45 = 0.95, w = 1 − 0.095 = 0.905 */
static void test_sgd_nesterov(void **state)
{
    (void)state;
    TSpec t;
    const Step want[3] = {{0.905, -1.81, 0.045125}, {0.817, -1.824, 0.00794}, {0.8553, -1.81535, 0.0015417125}};
    check_steps(make(&t, "sgd", "lr=0.1 momentum=0.9 nesterov=true"), want);
}

/* g ← g + 0.01·w: 0.5 + 0.01 = 0.51, w = 1 − 0.051 = 0.949 */
static void test_sgd_weight_decay(void **state)
{
    (void)state;
    TSpec t;
    const Step want[3] = {{0.949, -1.898, 0.013005},
                          {0.923051, -1.946102, 0.00298715301},
                          {0.972127949, -1.9566559, 0.00251993169}};
    check_steps(make(&t, "sgd", "lr=0.1 weight_decay=0.01"), want);
}

/* Step 1: m̂ = g, v̂ = g², so w moves by lr·g/(|g| + eps) ≈ lr·sign(g). */
static void test_adam(void **state)
{
    (void)state;
    TSpec t;
    const Step want[3] = {{0.900000002, -1.9, 0.0199999994},
                          {0.80678204, -1.8733663, 0.00939894252},
                          {0.795703734, -1.86001032, 0.000301111034}};
    check_steps(make(&t, "adam", "lr=0.1"), want);
}

/* v1 = 0.1·0.25 = 0.025, w = 1 − 0.01·0.5/√0.025 = 0.968377 */
static void test_rmsprop(void **state)
{
    (void)state;
    TSpec t;
    const Step want[3] = {{0.968377225, -1.96837722, 0.00199999981},
                          {0.953633031, -1.98312142, 0.00043478257},
                          {0.975800585, -1.98697786, 0.000506272547}};
    check_steps(make(&t, "rmsprop", "lr=0.01"), want);
}

/* G1 = 0.25, w = 1 − 0.1·0.5/0.5 = 0.9; G2 = 0.3125, w = 0.9 − 0.1·0.25/√0.3125 */
static void test_adagrad(void **state)
{
    (void)state;
    TSpec t;
    const Step want[3] = {{0.9, -1.9, 0.02}, {0.85527864, -1.94472136, 0.004},
                          {0.921945307, -1.95583247, 0.00456790123}};
    check_steps(make(&t, "adagrad", "lr=0.1"), want);
}

/* Updating the block in slices, each with its own slice of gradient,
 * gives the same weights and state as one call, for every rule. */
static void test_slices(void **state)
{
    (void)state;
    static const char *const rules[][2] = {
        {"sgd", "lr=0.1 momentum=0.9"}, {"adam", "lr=0.1"}, {"rmsprop", "lr=0.1"},
        {"adagrad", "lr=0.1"},
    };
    for (int k = 0; k < 4; k++) {
        TSpec t;
        const Spec *spec = make(&t, rules[k][0], rules[k][1]);
        Optim whole, parts;
        float a[2] = {1.0f, -2.0f}, b[2] = {1.0f, -2.0f};
        optim_init(&whole, spec, 2);
        optim_init(&parts, spec, 2);
        for (int s = 0; s < 3; s++) {
            optim_begin_step(&whole);
            optim_begin_step(&parts);
            double sq = optim_update(&whole, a, GRADS[s], 0, 2);
            double sq0 = optim_update(&parts, b, GRADS[s], 0, 1);
            double sq1 = optim_update(&parts, b, GRADS[s] + 1, 1, 1);
            near(sq, sq0 + sq1, 1e-12, __LINE__);
        }
        assert_memory_equal(a, b, sizeof a);
        if (whole.m)
            assert_memory_equal(whole.m, parts.m, 2 * sizeof *whole.m);
        if (whole.v)
            assert_memory_equal(whole.v, parts.v, 2 * sizeof *whole.v);
        assert_true(whole.m || whole.v);
        optim_free(&whole);
        optim_free(&parts);
    }
}

/* Plain SGD keeps no state. */
static void test_sgd_stateless(void **state)
{
    (void)state;
    TSpec t;
    Optim o;
    optim_init(&o, make(&t, "sgd", "lr=0.1"), 1000);
    assert_null(o.m);
    assert_null(o.v);
    optim_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd),
        cmocka_unit_test(test_sgd_momentum),
        cmocka_unit_test(test_sgd_nesterov),
        cmocka_unit_test(test_sgd_weight_decay),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_rmsprop),
        cmocka_unit_test(test_adagrad),
        cmocka_unit_test(test_slices),
        cmocka_unit_test(test_sgd_stateless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
