/* test_init.c — every init's empirical mean and variance against its
 * formula, orthogonality of `orthogonal`, and reproducibility by seed. */
#include "testutil.h"
#include "spec_fixture.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vg/arena.h"
#include "vg/init.h"

static IrParam weight(const Spec *init, long fan_in, long fan_out)
{
    return (IrParam){.name = "W", .shape = shape2(fan_in, fan_out), .layer = -1, .init = init,
                     .fan_in = fan_in, .fan_out = fan_out, .trainable = true, .is_weight = true};
}

static float *fill(const IrParam *p, uint64_t seed)
{
    Rng r;
    rng_seed(&r, seed);
    float *w = xmalloc(shape_size(p->shape) * sizeof *w);
    init_fill(p, w, &r);
    return w;
}

typedef struct Case {
    const char *name, *args;
    long fan_in, fan_out;
    double mean, var;      /* of the distribution, from its formula */
    double bound;          /* > 0: |w − mean| must stay within it (uniforms) */
} Case;

/* 256×256 unless a case needs fan_in ≠ fan_out to tell formulas apart. */
static const Case CASES[] = {
    {"zeros", "", 256, 256, 0, 0, 0},
    {"constant", "c=0.5 gain=2", 256, 256, 1.0, 0, 0},
    {"normal", "mean=1 std=0.5 gain=2", 256, 256, 1.0, 1.0, 0},
    /* U[0, 1] widened about its centre by gain 2: U[−0.5, 1.5], Var 2²/12 */
    {"uniform", "low=0 high=1 gain=2", 256, 256, 0.5, 4.0 / 12, 1.0},
    /* U[±1/√256]: Var = (1/16)²/3 */
    {"fanin_uniform", "", 256, 256, 0, 1.0 / (3 * 256), 1.0 / 16},
    {"fanin_uniform", "gain=3", 256, 256, 0, 9.0 / (3 * 256), 3.0 / 16},
    /* Var = 2/(fan_in + fan_out), bound √(6/(fan_in + fan_out)) */
    {"xavier_uniform", "", 256, 256, 0, 2.0 / 512, 0.10825317547305482},
    {"xavier_uniform", "", 256, 64, 0, 2.0 / 320, 0.13693063937629152},
    {"xavier_normal", "", 256, 64, 0, 2.0 / 320, 0},
    {"xavier_normal", "gain=0.5", 256, 256, 0, 0.25 * 2.0 / 512, 0},
    {"he_normal", "", 256, 64, 0, 2.0 / 256, 0},
    {"he_normal", "gain=2", 256, 256, 0, 4 * 2.0 / 256, 0},
    {"he_uniform", "", 256, 64, 0, 2.0 / 256, 0.15309310892394862},
    {"lecun_normal", "", 256, 64, 0, 1.0 / 256, 0},
    {"orthogonal", "", 256, 256, 0, 1.0 / 256, 0},
    {"orthogonal", "gain=2", 256, 256, 0, 4.0 / 256, 0},
};

/* n = 65536 draws: the sample mean's standard error is σ/256 and the sample
 * variance's relative error √(2/n) ≈ 0.55% for a normal, so 5σ/256 and 3%
 * leave room without hiding a wrong formula (the closest pair above differ
 * by 25%). */
static void test_moments(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof CASES / sizeof *CASES; c++) {
        const Case *k = &CASES[c];
        TSpec t;
        IrParam p = weight(make(&t, k->name, k->args), k->fan_in, k->fan_out);
        size_t n = shape_size(p.shape);
        float *w = fill(&p, 1);
        double sum = 0, sq = 0, worst = 0;
        for (size_t i = 0; i < n; i++) {
            sum += w[i];
            double dev = fabs(w[i] - k->mean);
            worst = dev > worst ? dev : worst;
        }
        double mean = sum / (double)n;
        for (size_t i = 0; i < n; i++)
            sq += (w[i] - mean) * (w[i] - mean);
        double var = sq / (double)(n - 1), sd = sqrt(k->var);
        print_message("%-15s %-22s mean %+.5f var %.6g (formula %.6g)\n", k->name, k->args, mean,
                      var, k->var);
        assert_true(fabs(mean - k->mean) <= 5 * sd / 256 + 1e-7);
        assert_true(fabs(var - k->var) <= 0.03 * k->var + 1e-12);
        assert_true(fabs(init_variance(&p) - k->var) <= 1e-9 * k->var + 1e-15);
        if (k->bound > 0)
            assert_true(worst <= k->bound * (1 + 1e-6));
        free(w);
    }
}

/* max |A − gain²·I| over the Gram matrix A of W's rows (wide: W·Wᵀ) or
 * columns (tall: Wᵀ·W). */
static double gram_error(const float *w, long rows, long cols, double gain)
{
    bool wide = rows <= cols;
    long k = wide ? rows : cols, len = wide ? cols : rows;
    double worst = 0;
    for (long a = 0; a < k; a++)
        for (long b = 0; b < k; b++) {
            double dot = 0;
            for (long i = 0; i < len; i++)
                dot += wide ? (double)w[a * cols + i] * w[b * cols + i]
                            : (double)w[i * cols + a] * w[i * cols + b];
            double err = fabs(dot - (a == b ? gain * gain : 0));
            worst = err > worst ? err : worst;
        }
    return worst;
}

static void test_orthogonal(void **state)
{
    (void)state;
    const struct {
        long rows, cols;
        double gain;
    } shapes[] = {{64, 64, 1.5}, {32, 96, 1}, {96, 32, 1}, {1, 10, 2}, {200, 200, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        TSpec t;
        char args[32];
        snprintf(args, sizeof args, "gain=%g", shapes[s].gain);
        IrParam p = weight(make(&t, "orthogonal", args), shapes[s].rows, shapes[s].cols);
        float *w = fill(&p, 3);
        double err = gram_error(w, shapes[s].rows, shapes[s].cols, shapes[s].gain);
        print_message("orthogonal %ldx%ld gain %g: max |Gram - gain^2 I| = %.3g\n",
                      shapes[s].rows, shapes[s].cols, shapes[s].gain, err);
        assert_true(err < 1e-5 * shapes[s].gain * shapes[s].gain);
        long big = shapes[s].rows > shapes[s].cols ? shapes[s].rows : shapes[s].cols;
        assert_true(fabs(init_variance(&p) - shapes[s].gain * shapes[s].gain / (double)big) < 1e-12);
        free(w);
    }
}

/* The sign correction makes Q Haar-distributed; without it Q's diagonal
 * would be biased. Its mean over many draws must be near 0. */
static void test_orthogonal_unbiased(void **state)
{
    (void)state;
    TSpec t;
    IrParam p = weight(make(&t, "orthogonal", ""), 8, 8);
    Rng r;
    rng_seed(&r, 11);
    float w[64];
    double diag = 0;
    int draws = 2000;
    for (int k = 0; k < draws; k++) {
        init_fill(&p, w, &r);
        for (int i = 0; i < 8; i++)
            diag += w[i * 8 + i];
    }
    /* each diagonal entry has variance 1/8: the mean of 16000 has sd ≈ 0.0028 */
    assert_true(fabs(diag / (draws * 8)) < 0.015);
}

static void test_vector_shape(void **state)
{
    (void)state;
    TSpec t;
    IrParam p = {.name = "b", .shape = shape1(300), .layer = -1,
                 .init = make(&t, "constant", "c=0.25"), .fan_in = 300, .fan_out = 300};
    float *w = fill(&p, 1);
    for (int i = 0; i < 300; i++)
        assert_true(w[i] == 0.25f);
    free(w);
}

static void test_same_seed_same_numbers(void **state)
{
    (void)state;
    const char *names[] = {"normal", "uniform", "xavier_uniform", "he_normal", "orthogonal"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        TSpec t;
        IrParam p = weight(make(&t, names[k], "std=1 low=-1 high=1"), 48, 80);
        size_t bytes = shape_size(p.shape) * sizeof(float);
        float *a = fill(&p, 42), *b = fill(&p, 42), *c = fill(&p, 43);
        assert_memory_equal(a, b, bytes);
        assert_memory_not_equal(a, c, bytes);
        free(a);
        free(b);
        free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moments),
        cmocka_unit_test(test_orthogonal),
        cmocka_unit_test(test_orthogonal_unbiased),
        cmocka_unit_test(test_vector_shape),
        cmocka_unit_test(test_same_seed_same_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
