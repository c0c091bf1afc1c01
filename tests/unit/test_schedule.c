/* test_schedule.c — each learning-rate schedule against values worked out
 * by hand from the formulas in schedule.h (cos π/4 = 0.70710678), and the
 * step at which `then` hands over to its second schedule. */
#include "testutil.h"
#include "spec_fixture.h"

#include <math.h>

#include "vg/schedule.h"

static void near(double got, double want, long t, int line)
{
    if (!(fabs(got - want) <= 1e-8)) {
        print_error("line %d, step %ld: got %.10g, expected %.10g\n", line, t, got, want);
        fail();
    }
}

/* The lr of step t under the schedule s with the optimizer's lr. */
static double lr_of(const Spec *s, double lr, long t)
{
    Schedule sched;
    schedule_init(&sched, s, lr);
    double at = schedule_at(&sched, t);
    schedule_free(&sched);
    return at;
}

/* want[t] is the lr of step t, for t = 0 .. n−1. */
static void check_lrs(const Spec *s, double lr, const double *want, long n, int line)
{
    for (long t = 0; t < n; t++)
        near(lr_of(s, lr, t), want[t], t, line);
}

/* `first then second`, as the evaluator builds it. */
static const Spec *then(Spec *out, Value args[2], const Spec *first, const Spec *second)
{
    args[0] = (Value){.kind = VAL_SPEC, .spec = first};
    args[1] = (Value){.kind = VAL_SPEC, .spec = second};
    *out = (Spec){.id = SPEC_THEN, .nargs = 2, .args = args};
    return out;
}

static void test_constant(void **state)
{
    (void)state;
    near(lr_of(NULL, 0.3, 0), 0.3, 0, __LINE__);
    near(lr_of(NULL, 0.3, 123456), 0.3, 123456, __LINE__);
}

/* (t+1)/N of the lr, then the lr itself. */
static void test_warmup(void **state)
{
    (void)state;
    TSpec t;
    const double want[] = {0.05, 0.1, 0.15, 0.2, 0.2, 0.2};
    const Spec *s = make(&t, "warmup", "steps=4");
    check_lrs(s, 0.2, want, 6, __LINE__);
    near(lr_of(s, 0.2, 1000000), 0.2, 1000000, __LINE__);
    assert_int_equal(schedule_length(s), 4);
}

/* min + (lr − min)(1 + cos(πt/N))/2 with lr 0.2, min 0.02, N 4: the lr at
 * t = 0, min from t = N on. */
static void test_cosine(void **state)
{
    (void)state;
    TSpec t;
    const double want[] = {0.2, 0.02 + 0.18 * 0.85355339059, 0.11,
                           0.02 + 0.18 * 0.14644660941, 0.02, 0.02};
    const Spec *s = make(&t, "cosine", "steps=4 min=0.02");
    check_lrs(s, 0.2, want, 6, __LINE__);
    near(lr_of(s, 0.2, 5000), 0.02, 5000, __LINE__);
    assert_int_equal(schedule_length(s), 4);
}

/* lr · f^⌊t/k⌋; it never ends. */
static void test_step(void **state)
{
    (void)state;
    TSpec t;
    const double want[] = {0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05};
    const Spec *s = make(&t, "step", "every=3 factor=0.5");
    check_lrs(s, 0.2, want, 7, __LINE__);
    assert_int_equal(schedule_length(s), -1);
}

/* warmup(2) then cosine(4): step 1 is the warm-up's last (the full lr),
 * step 2 the cosine's first (the full lr again), step 6 its end. */
static void test_then_boundary(void **state)
{
    (void)state;
    TSpec w, c;
    Spec s;
    Value args[2];
    const Spec *ws = make(&w, "warmup", "steps=2");
    const Spec *cs = make(&c, "cosine", "steps=4");
    const double want[] = {0.5, 1, 1, 0.85355339059, 0.5, 0.14644660941, 0, 0};
    check_lrs(then(&s, args, ws, cs), 1, want, 8, __LINE__);
    assert_int_equal(schedule_length(&s), 6);
}

/* (warmup(2) then cosine(2)) then step(1, 0.5): the step counter of each
 * phase starts at 0 where the previous one ends, at steps 2 and 4. */
static void test_then_three(void **state)
{
    (void)state;
    TSpec w, c, st;
    Spec inner, outer;
    Value a1[2], a2[2];
    then(&inner, a1, make(&w, "warmup", "steps=2"), make(&c, "cosine", "steps=2"));
    then(&outer, a2, &inner, make(&st, "step", "every=1 factor=0.5"));
    const double want[] = {0.5, 1, 1, 0.5, 1, 0.5, 0.25};
    check_lrs(&outer, 1, want, 7, __LINE__);
    assert_int_equal(schedule_length(&inner), 4);
    assert_int_equal(schedule_length(&outer), -1);
}

/* The schedule reads its spec once: what the spec holds later does not
 * change the lr of a step (a step looks up no argument by name). */
static void test_read_once(void **state)
{
    (void)state;
    TSpec w, c;
    Spec s;
    Value args[2];
    then(&s, args, make(&w, "warmup", "steps=2"), make(&c, "cosine", "steps=4 min=0.1"));
    Schedule sched;
    schedule_init(&sched, &s, 1);
    w.a[0].num = 1000;
    c.a[1].num = 0.5;
    near(schedule_at(&sched, 0), 0.5, 0, __LINE__);
    near(schedule_at(&sched, 6), 0.1, 6, __LINE__);
    assert_int_equal(sched.n, 2);
    assert_int_equal(sched.phase[1].start, 2);
    schedule_free(&sched);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant),
        cmocka_unit_test(test_warmup),
        cmocka_unit_test(test_cosine),
        cmocka_unit_test(test_step),
        cmocka_unit_test(test_then_boundary),
        cmocka_unit_test(test_then_three),
        cmocka_unit_test(test_read_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
