/* test_exec.c — the buffer plan (sizes, layout, batch changes, the memory
 * limit) and the contract of the sweeps (gradients zeroed per node,
 * accumulated per parameter, dLoss seeded to 1).
 *
 * The graph is x[2] → dense(3) → sigmoid → mse against a [3] target:
 * nodes %0 input, %1 dense, %2 sigmoid, %3 target, %4 mse. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "vg/exec.h"
#include "vg/ops.h"

typedef struct Fixture {
    Arena arena;
    IrGraph g;
    DiagSink d;
    ParamStore ps;
} Fixture;

static int setup(void **state)
{
    Fixture *f = calloc(1, sizeof *f);
    arena_init(&f->arena);
    ir_init(&f->g, &f->arena, "t");
    diag_init(&f->d, NULL);
    int x = ir_add_source(&f->g, OP_INPUT, "x", shape1(2), SPAN_NONE, &f->d);
    Value dense[2] = {{.kind = VAL_TENSOR, .node = x}, {.kind = VAL_NUM, .num = 3}};
    int h = ir_add_node(&f->g, OP_DENSE, SPAN_NONE, NULL, 0, dense, 2, &f->d);
    Value act[1] = {{.kind = VAL_TENSOR, .node = h}};
    f->g.output = ir_add_node(&f->g, OP_SIGMOID, SPAN_NONE, NULL, 0, act, 1, &f->d);
    if (f->g.output != 2 || !ir_add_loss(&f->g, OP_MSE, shape1(3), SPAN_NONE, &f->d))
        return -1;
    params_alloc(&f->ps, &f->g);
    Rng r;
    rng_seed(&r, 1);
    params_init(&f->ps, &f->g, &r);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;
    params_free(&f->ps);
    ir_free(&f->g);
    diag_free(&f->d);
    arena_free(&f->arena);
    free(f);
    return 0;
}

static void test_plan_layout(void **state)
{
    Fixture *f = *state;
    Exec e;
    assert_true(exec_plan(&e, &f->g, &f->ps, 4, 0, &f->d));
    /* values: 8, 12, 12, 12 and 1 floats, each padded to 16; gradients for
     * the three non-sources; no work or bptt buffers */
    assert_int_equal(e.floats, 5 * 16 + 3 * 16);
    for (int i = 0; i < 5; i++)
        assert_ptr_equal(e.val[i], e.block + 16 * i);
    assert_null(e.grad[0]);
    assert_null(e.grad[3]);
    assert_ptr_equal(e.grad[1], e.block + 80);
    assert_ptr_equal(e.grad[2], e.block + 96);
    assert_ptr_equal(e.grad[4], e.block + 112);
    for (int i = 0; i < 5; i++) {
        assert_null(e.work[i]);
        assert_null(e.bptt[i]);
    }
    assert_ptr_equal(exec_source(&e, 0), e.val[0]);
    exec_free(&e);
}

static void test_plan_cross_entropy_work(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a);
    IrGraph g;
    ir_init(&g, &a, "ce");
    DiagSink d;
    diag_init(&d, NULL);
    g.output = ir_add_source(&g, OP_INPUT, "x", shape2(5, 3), SPAN_NONE, &d);
    assert_true(ir_add_loss(&g, OP_CROSS_ENTROPY, shape1(5), SPAN_NONE, &d));
    ParamStore ps;
    params_alloc(&ps, &g);
    Exec e;
    assert_true(exec_plan(&e, &g, &ps, 2, 0, &d));
    /* the softmax is saved: batch × 5 × 3 = 30 floats, padded to 32 */
    assert_non_null(e.work[2]);
    assert_int_equal(e.floats, (32 + 16 + 16) + 16 + 32);
    exec_free(&e);
    params_free(&ps);
    ir_free(&g);
    diag_free(&d);
    arena_free(&a);
}

/* Two plans of one graph share the parameters: the same example gives the
 * same output at batch 4 and at batch 100. */
static void test_batch_change(void **state)
{
    Fixture *f = *state;
    Exec small, big;
    assert_true(exec_plan(&small, &f->g, &f->ps, 4, 0, &f->d));
    assert_true(exec_plan(&big, &f->g, &f->ps, 100, 0, &f->d));
    assert_int_equal(big.floats, (208 + 304 * 3 + 16) + (304 + 304 + 16));
    const float x[2] = {0.25f, -1.5f};
    memcpy(exec_source(&small, 0), x, sizeof x);
    memcpy(exec_source(&big, 0) + 2 * 99, x, sizeof x);
    exec_forward(&small, EXEC_EVAL);
    exec_forward(&big, EXEC_EVAL);
    for (int j = 0; j < 3; j++)
        assert_float_equal(small.val[2][j], big.val[2][3 * 99 + j], 0);
    exec_free(&small);
    exec_free(&big);
}

static void test_max_bytes(void **state)
{
    Fixture *f = *state;
    Exec e;
    /* 5 nodes × 4 tables × 8 bytes + 128 floats × 4 bytes = 672 */
    assert_true(exec_plan(&e, &f->g, &f->ps, 4, 672, &f->d));
    exec_free(&e);
    assert_false(exec_plan(&e, &f->g, &f->ps, 4, 671, &f->d));
    assert_int_equal(f->d.errors, 1);
    assert_string_equal(f->d.items[0].msg,
                        "buffers for model 't' at batch 4 need 672 bytes, "
                        "above the 671 bytes the memory limit leaves them");
    assert_null(e.block);
    diag_clear(&f->d);
    assert_false(exec_plan(&e, &f->g, &f->ps, 100, 4096, &f->d));
    assert_string_equal(f->d.items[0].msg,
                        "buffers for model 't' at batch 100 need 7.0 KiB (7200 bytes), "
                        "above the 4.0 KiB (4096 bytes) the memory limit leaves them");
    diag_clear(&f->d);
    assert_false(exec_plan(&e, &f->g, &f->ps, 0, 0, &f->d));
    assert_string_equal(f->d.items[0].msg, "batch must be at least 1, got 0");
    diag_clear(&f->d);
}

static void test_tensor_too_large_for_batch(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a);
    IrGraph g;
    ir_init(&g, &a, "wide");
    DiagSink d;
    diag_init(&d, NULL);
    assert_int_equal(ir_add_source(&g, OP_INPUT, "x", shape1(1L << 30), SPAN_NONE, &d), 0);
    ParamStore ps;
    params_alloc(&ps, &g);
    Exec e;
    assert_false(exec_plan(&e, &g, &ps, 2, 0, &d));
    assert_string_equal(d.items[0].msg, "at batch 2, the input (shape [1073741824] per "
                                        "example) exceeds 2^31 elements");
    params_free(&ps);
    ir_free(&g);
    diag_free(&d);
    arena_free(&a);
}

/* Copies batch rows of inputs x [2] and targets t [3] into e's sources. */
static void feed(Exec *e, const Fixture *f, const float *x, const float *t)
{
    memcpy(exec_source(e, 0), x, sizeof *x * 2 * (size_t)e->batch);
    memcpy(exec_source(e, f->g.target), t, sizeof *t * 3 * (size_t)e->batch);
}

/* Two rows of inputs and targets the backward tests share. */
static const float X2[4] = {1, 2, -1, 0.5f}, T2[6] = {0, 1, 0, 1, 0, 1};

/* A training pass of e on X2 and T2: its loss, and the 9 parameter
 * gradients copied into grads. */
static float pass_on_x2(Exec *e, const Fixture *f, float grads[9])
{
    feed(e, f, X2, T2);
    exec_forward(e, EXEC_TRAIN);
    exec_backward(e, EXEC_TRAIN);
    memcpy(grads, f->ps.grad, 9 * sizeof *grads);
    return exec_loss(e);
}

/* Every backward gives the gradients of its pass alone: node gradients
 * and parameter gradients are overwritten, not added to, even when the
 * buffers hold garbage before it. */
static void test_backward_overwrites(void **state)
{
    Fixture *f = *state;
    Exec e;
    assert_true(exec_plan(&e, &f->g, &f->ps, 2, 0, &f->d));
    feed(&e, f, X2, T2);
    for (size_t i = 0; i < f->ps.n; i++)
        f->ps.grad[i] = NAN;
    exec_forward(&e, EXEC_TRAIN);
    exec_backward(&e, EXEC_TRAIN);
    assert_float_equal(e.grad[f->g.loss][0], 1, 0);
    assert_int_equal(f->ps.n, 9);
    float once[9], dh[6];
    memcpy(once, f->ps.grad, sizeof once);
    memcpy(dh, e.grad[2], sizeof dh);
    for (int i = 0; i < 9; i++)
        assert_true(isfinite(once[i]));
    exec_forward(&e, EXEC_TRAIN);
    exec_backward(&e, EXEC_TRAIN);
    for (int i = 0; i < 9; i++)
        assert_float_equal(f->ps.grad[i], once[i], 0);
    for (int i = 0; i < 6; i++)
        assert_float_equal(e.grad[2][i], dh[i], 0);
    /* the loss is the mean: dL/dy = 2(y − t)/6 */
    for (int i = 0; i < 6; i++)
        assert_float_equal(dh[i], 2 * (e.val[2][i] - T2[i]) / 6, 1e-7);
    exec_free(&e);
}

/* exec_backward_each calls its hook once per node with a backward kernel,
 * from the loss down, after that node's parameter gradients are final. */
typedef struct Seen {
    const ParamStore *ps;
    int nodes[8], n;
    float w_grad0;  /* ps->grad[0] (node 1's W) when node 1 was done */
} Seen;

static void note_done(void *ctx, int node)
{
    Seen *s = ctx;
    if (s->n < 8)
        s->nodes[s->n++] = node;
    if (node == 1)
        s->w_grad0 = s->ps->grad[0];
}

static void test_backward_each(void **state)
{
    Fixture *f = *state;
    Exec e;
    assert_true(exec_plan(&e, &f->g, &f->ps, 2, 0, &f->d));
    feed(&e, f, X2, T2);
    exec_forward(&e, EXEC_TRAIN);
    Seen s = {.ps = &f->ps};
    exec_backward_each(&e, EXEC_TRAIN, note_done, &s);
    int want = 0;
    for (int i = f->g.loss; i >= 0; i--)
        if (op_def(f->g.nodes[i].op)->backward) {
            assert_true(want < s.n);
            assert_int_equal(s.nodes[want++], i);
        }
    assert_int_equal(s.n, want);
    assert_float_equal(s.w_grad0, f->ps.grad[0], 0);
    assert_true(f->ps.grad[0] != 0);
    exec_free(&e);
}

/* A view (exec_plan_view) of a larger plan computes what a plan of its
 * own batch does, after the host has filled the shared block with another
 * batch's values; and a view allocates no buffers of its own. */
static void test_plan_view(void **state)
{
    Fixture *f = *state;
    Exec host, view, alone;
    assert_true(exec_plan(&host, &f->g, &f->ps, 4, 0, &f->d));
    exec_plan_view(&view, &host, 2);
    assert_true(exec_plan(&alone, &f->g, &f->ps, 2, 0, &f->d));
    assert_ptr_equal(view.block, host.block);
    assert_false(view.owns_block);
    const float hx[8] = {3, -2, 5, 1, -4, 2, 0.5f, 7}, ht[12] = {1, 1, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0};
    feed(&host, f, hx, ht);
    exec_forward(&host, EXEC_TRAIN);
    exec_backward(&host, EXEC_TRAIN);
    float want[9], got[9];
    float want_loss = pass_on_x2(&alone, f, want);
    assert_float_equal(pass_on_x2(&view, f, got), want_loss, 0);
    for (int i = 0; i < 9; i++)
        assert_float_equal(got[i], want[i], 0);
    exec_free(&view);
    exec_free(&alone);
    exec_free(&host);
}

/* After exec_release a plan computes what it did before: its kernels'
 * contexts are rebuilt and its block reads as zeros again. */
static void test_release(void **state)
{
    Fixture *f = *state;
    Exec e;
    assert_true(exec_plan(&e, &f->g, &f->ps, 2, 0, &f->d));
    float before[9], after[9];
    float loss = pass_on_x2(&e, f, before);
    exec_release(&e);
    assert_null(e.ctxs);
    for (size_t i = 0; i < e.floats; i++)
        assert_float_equal(e.block[i], 0, 0);
    assert_float_equal(pass_on_x2(&e, f, after), loss, 0);
    assert_memory_equal(after, before, sizeof before);
    exec_free(&e);
}

/* params_init follows each parameter's init: W drawn, b zeros; and a seed
 * gives the same weights twice. */
static void test_params_init(void **state)
{
    Fixture *f = *state;
    ParamStore again;
    params_alloc(&again, &f->g);
    Rng r;
    rng_seed(&r, 1);
    params_init(&again, &f->g, &r);
    assert_memory_equal(again.value, f->ps.value, f->ps.n * sizeof(float));
    const IrParam *w = &f->g.params[0], *b = &f->g.params[1];
    int nonzero = 0;
    for (size_t i = 0; i < 6; i++)
        nonzero += f->ps.value[w->offset + i] != 0;
    assert_int_equal(nonzero, 6);
    for (size_t i = 0; i < 3; i++)
        assert_float_equal(f->ps.value[b->offset + i], 0, 0);
    params_free(&again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plan_layout, setup, teardown),
        cmocka_unit_test(test_plan_cross_entropy_work),
        cmocka_unit_test_setup_teardown(test_batch_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_bytes, setup, teardown),
        cmocka_unit_test(test_tensor_too_large_for_batch),
        cmocka_unit_test_setup_teardown(test_backward_overwrites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backward_each, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_params_init, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
