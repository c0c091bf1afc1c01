/* test_ops.c — the op table: every backward kernel against central finite
 * differences, forward values against hand-computed cases, and the exact
 * text of shape errors.
 *
 * The gradient check builds x → dense → op → loss for every op that has a
 * backward, with random sizes, at every rank the op declares (OpDef.ranks:
 * [F], [T, F], [C, H, W]), under both losses. Finite differences perturb parameters only (sources carry
 * no gradient), so the gradient an op passes to its inputs is checked
 * through the weights of the dense layer that feeds it. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "net_fixture.h"

static int add_input(Net *n, Shape s)
{
    int id = ir_add_source(&n->g, OP_INPUT, "x", s, SPAN_NONE, &n->d);
    assert_true(id >= 0);
    return id;
}

/* dense(x, units) with the default init and bias. */
static int dense(Net *n, int x, long units)
{
    Value args[2] = {tensor(x), num((double)units)};
    return ir_add_node(&n->g, OP_DENSE, SPAN_NONE, NULL, 0, args, 2, &n->d);
}

static int unary(Net *n, int op, int x)
{
    Value args[1] = {tensor(x)};
    return ir_add_node(&n->g, op, SPAN_NONE, NULL, 0, args, 1, &n->d);
}

/* Output shape → target shape for a loss. */
static Shape target_shape(int loss, Shape out)
{
    if (loss == OP_MSE || loss == OP_BCE)
        return out;
    return shape1(out.rank == 1 ? 1 : out.dim[0]);
}

static float uniform(Rng *r, double lo, double hi)
{
    return (float)rng_range(r, lo, hi);
}

/* Whether the model input feeds an op's token slot (OpDef.tokens). */
static bool input_is_tokens(const IrGraph *g, const OpDef *const *ops)
{
    for (int i = 0; i < g->n; i++)
        if (ops[g->nodes[i].op]->tokens && g->nodes[i].in[0] == g->input)
            return true;
    return false;
}

/* Random inputs, parameters and targets (class indices for cross_entropy);
 * token ids 0 and 1 for an input that holds tokens, below any vocabulary
 * a case declares (required integers are at least 2). */
static void fill_random(Net *n, Rng *r, const OpDef *const *ops)
{
    for (size_t i = 0; i < n->ps.n; i++)
        n->ps.value[i] = uniform(r, -1, 1);
    const IrGraph *g = &n->g;
    bool tokens = input_is_tokens(g, ops);
    size_t nx = (size_t)n->e.batch * shape_size(g->nodes[g->input].shape);
    float *x = exec_source(&n->e, g->input);
    for (size_t i = 0; i < nx; i++)
        x[i] = tokens ? (float)rng_below(r, 2) : uniform(r, -2, 2);
    const IrNode *out = &g->nodes[g->output];
    size_t nt = (size_t)n->e.batch * shape_size(g->nodes[g->target].shape);
    float *t = exec_source(&n->e, g->target);
    for (size_t i = 0; i < nt; i++)
        t[i] = g->nodes[g->loss].op == OP_MSE   ? uniform(r, -1, 1)
             : g->nodes[g->loss].op == OP_BCE   ? uniform(r, 0, 1)
             : (float)rng_below(r, (uint64_t)out->shape.dim[out->shape.rank - 1]);
}

/* The loss of a training-mode forward; dropout draws the same mask every
 * time because the executor's generator is reset to rng first. */
static float loss_at(Exec *e, Rng rng)
{
    e->rng = rng;
    exec_forward(e, EXEC_TRAIN);
    return exec_loss(e);
}

/* The largest error of backward's parameter gradients against central
 * differences (L(θ+ε) − L(θ−ε)) / 2ε, relative to the larger magnitude
 * with a floor of 0.05: float32 losses near 1 with ε = 1e-3 are good to a
 * few 1e-5 absolute, so smaller gradients are compared absolutely. */
static double gradcheck(Exec *e)
{
    const float eps = 1e-3f;
    ParamStore *ps = e->ps;
    Rng rng = e->rng;
    /* Twice: the second pass finds the node gradients of the first in
     * place, so a kernel that adds where it should overwrite (ops.h) gets
     * them wrong. */
    for (int pass = 0; pass < 2; pass++) {
        loss_at(e, rng);
        exec_backward(e, EXEC_TRAIN);
    }
    double worst = 0;
    for (size_t i = 0; i < ps->n; i++) {
        float keep = ps->value[i];
        ps->value[i] = keep + eps;
        double up = loss_at(e, rng);
        ps->value[i] = keep - eps;
        double down = loss_at(e, rng);
        ps->value[i] = keep;
        double fd = (up - down) / (2 * (double)eps), an = ps->grad[i];
        double scale = fmax(0.05, fmax(fabs(fd), fabs(an)));
        worst = fmax(worst, fabs(fd - an) / scale);
    }
    return worst;
}

static const double TOLERANCE = 1e-2;

/* A case's input at rank 1, 2 or 3: [f], [t, f] or [c, h, w]. The
 * leading dimensions are at least 3, so that a kernel or window of a
 * required size (2 or 3, below) fits. */
static Shape case_shape(Rng *r, int rank)
{
    Shape s = {.rank = rank};
    for (int i = 0; i < rank; i++)
        s.dim[i] = i < rank - 1 ? 3 + (long)rng_below(r, 2) : 2 + (long)rng_below(r, 4);
    return s;
}

/* x → dense → op → loss, x of the given rank, where each tensor slot of op
 * gets its own dense (a variadic slot two or three of different widths), a
 * required integer (units, a kernel size, heads) a random 2 or 3 and a
 * required number (a rate, a factor) a random value in (0.2, 0.8). An op
 * whose first input holds tokens (ops[op]->tokens) reads x itself, as no
 * gradient flows there. The dense layers' width, 6, is divisible by any
 * required integer (attention's heads must divide the features). False
 * when loss cannot read the op's output (cross_entropy on a rank-3
 * output). */
static bool build_case(Net *n, Rng *r, const OpDef *const *ops, int op, int rank, int loss)
{
    int x = add_input(n, case_shape(r, rank));
    int out = x;
    if (ops[op]->kind == OPK_LOSS) {
        loss = op;
        out = dense(n, x, 2 + (long)rng_below(r, 4));
    } else {
        const Sig *sig = op_sig(op);
        Value args[SIG_MAX];
        int in[IR_MAX_IN], nin = 0;
        for (int i = 0; i < sig->n; i++) {
            args[i] = (Value){.kind = VAL_NONE};
            int copies = sig->p[i].type == ARG_TENSORS ? 2 + (int)rng_below(r, 2)
                         : sig->p[i].type == ARG_TENSOR ? 1 : 0;
            for (int k = 0; k < copies; k++) {
                in[nin] = nin == 0 && ops[op]->tokens ? x
                          : dense(n, x, copies > 1 ? 1 + (long)rng_below(r, 4) : 6);
                if (k == 0)
                    args[i] = tensor(in[nin]);
                nin++;
            }
            if (!sig->p[i].dflt && sig->p[i].type == ARG_INT)
                args[i] = num(2 + (double)rng_below(r, 2));
            else if (!sig->p[i].dflt && sig->p[i].type == ARG_NUM)
                args[i] = num(uniform(r, 0.2, 0.8));
        }
        out = ir_add_node(&n->g, op, SPAN_NONE, in, nin, args, sig->n, &n->d);
    }
    if (out < 0)
        fail_msg("%s on %d-rank input: %s", ops[op]->name, rank,
                 n->d.errors ? n->d.items[0].msg : "?");
    if (!(op_ranks(loss) & OP_RANK(n->g.nodes[out].shape.rank)))
        return false;
    n->g.output = out;
    assert_true(ir_add_loss(&n->g, loss, target_shape(loss, n->g.nodes[out].shape),
                            SPAN_NONE, &n->d));
    return true;
}

/* The gradient check of op at every rank it declares, under both losses
 * (a loss op is itself the loss: one case per rank), each case on up to
 * three random draws; false if no case could be built. */
static bool gradcheck_op(Rng *r, const OpDef *const *ops, int op)
{
    static const int losses[2] = {OP_CROSS_ENTROPY, OP_MSE};
    int nloss = ops[op]->kind == OPK_LOSS ? 1 : 2, cases = 0;
    for (int rank = 1; rank <= IR_MAX_RANK; rank++) {
        if (!(op_ranks(op) & OP_RANK(rank)))
            continue;
        for (int k = 0; k < nloss; k++) {
            Net n;
            net_init(&n);
            if (build_case(&n, r, ops, op, rank, losses[k])) {
                net_plan(&n, 3);
                n.e.ops = ops;
                /* a corner of relu or hard_tanh within ε of an entry spoils
                 * a draw; a wrong kernel fails every one */
                double err = INFINITY;
                for (int draw = 0; draw < 3 && err > TOLERANCE; draw++) {
                    fill_random(&n, r, ops);
                    err = gradcheck(&n.e);
                }
                if (err > TOLERANCE)
                    fail_msg("%s, rank %d, %s: max relative error %g", ops[op]->name, rank,
                             op_def(n.g.nodes[n.g.loss].op)->name, err);
                cases++;
            }
            net_free(&n);
        }
    }
    return cases > 0;
}

static void test_gradcheck_every_op(void **state)
{
    (void)state;
    Rng r;
    rng_seed(&r, 7);
    int checked = 0;
    for (int op = 0; op < OP_COUNT; op++) {
        if (op_def(op)->kind == OPK_SOURCE)
            continue;
        assert_non_null(op_def(op)->backward);
        if (!gradcheck_op(&r, op_table, op))
            fail_msg("%s: no case could be built", op_def(op)->name);
        checked++;
    }
    assert_int_equal(checked, OP_COUNT - 2);
}

/* op_table with op's definition replaced by def. */
static void table_with(const OpDef *table[OP_COUNT], int op, const OpDef *def)
{
    memcpy(table, op_table, OP_COUNT * sizeof *table);
    table[op] = def;
}

/* An op that reads token ids gets the model input itself, filled with
 * integer ids, and the check still covers its parameters: dense marked as
 * such here, so that the mechanism is tested apart from embedding. */
static void test_gradcheck_token_input(void **state)
{
    (void)state;
    Rng r;
    rng_seed(&r, 13);
    OpDef reads_tokens = *op_table[OP_DENSE];
    reads_tokens.tokens = true;
    const OpDef *table[OP_COUNT];
    table_with(table, OP_DENSE, &reads_tokens);
    Net n;
    net_init(&n);
    assert_true(build_case(&n, &r, table, OP_DENSE, 1, OP_MSE));
    assert_int_equal(n.g.nodes[n.g.output].in[0], n.g.input);
    net_plan(&n, 3);
    n.e.ops = table;
    fill_random(&n, &r, table);
    const float *x = exec_source(&n.e, n.g.input);
    for (size_t i = 0; i < 3 * shape_size(n.g.nodes[n.g.input].shape); i++)
        assert_true(x[i] == 0 || x[i] == 1);
    assert_true(gradcheck(&n.e) < TOLERANCE);
    net_free(&n);
    assert_true(gradcheck_op(&r, table, OP_DENSE));
}

/* At every rank, the check passes sigmoid and fails it with the backward
 * kernel wrong. */
static void assert_caught_at_every_rank(Rng *r, void (*wrong)(const OpCtx *c))
{
    OpDef bad = *op_table[OP_SIGMOID];
    bad.backward = wrong;
    const OpDef *table[OP_COUNT];
    table_with(table, OP_SIGMOID, &bad);
    for (int rank = 1; rank <= IR_MAX_RANK; rank++) {
        Net n;
        net_init(&n);
        assert_true(build_case(&n, r, op_table, OP_SIGMOID, rank, OP_MSE));
        net_plan(&n, 3);
        fill_random(&n, r, op_table);
        assert_true(gradcheck(&n.e) < TOLERANCE);
        n.e.ops = table;
        assert_true(gradcheck(&n.e) > 10 * TOLERANCE);
        net_free(&n);
    }
}

/* sigmoid's backward without the (1 − y) factor. */
static void wrong_sigmoid_backward(const OpCtx *c)
{
    size_t n = (size_t)c->batch * shape_size(c->node->shape);
    for (size_t i = 0; i < n; i++)
        c->din[0][i] += c->dout[i] * c->out[i];
}

static void test_gradcheck_catches_a_wrong_backward(void **state)
{
    (void)state;
    Rng r;
    rng_seed(&r, 3);
    assert_caught_at_every_rank(&r, wrong_sigmoid_backward);
}

/* sigmoid's backward as it was before the overwrite contract: right, but
 * always adding to dz. */
static void accumulating_sigmoid_backward(const OpCtx *c)
{
    size_t n = (size_t)c->batch * shape_size(c->node->shape);
    for (size_t i = 0; i < n; i++)
        c->din[0][i] += c->dout[i] * c->out[i] * (1 - c->out[i]);
}

/* A kernel that ignores din_overwrite doubles the gradient it passes down
 * on the second backward, and the gradient check sees it. */
static void test_gradcheck_catches_an_accumulating_backward(void **state)
{
    (void)state;
    Rng r;
    rng_seed(&r, 5);
    assert_caught_at_every_rank(&r, accumulating_sigmoid_backward);
}

/* h = relu(dense(x)); out = dense(h + dense(h)) + h·h: h has three
 * consumers (one of them reads it twice), so only its first writer
 * overwrites and the others add; a residual sum must come out right. */
static void test_gradcheck_several_consumers(void **state)
{
    (void)state;
    Rng r;
    rng_seed(&r, 11);
    for (int loss = 0; loss < 2; loss++) {
        Net n;
        net_init(&n);
        int x = add_input(&n, shape1(3));
        int h = unary(&n, OP_RELU, dense(&n, x, 4));
        Value sum[2] = {tensor(h), tensor(dense(&n, h, 4))};
        int res = ir_add_node(&n.g, OP_ADD, SPAN_NONE, NULL, 0, sum, 2, &n.d);
        Value sq[2] = {tensor(h), tensor(h)};
        int hh = ir_add_node(&n.g, OP_MUL, SPAN_NONE, NULL, 0, sq, 2, &n.d);
        Value out[2] = {tensor(dense(&n, res, 4)), tensor(hh)};
        n.g.output = ir_add_node(&n.g, OP_ADD, SPAN_NONE, NULL, 0, out, 2, &n.d);
        assert_true(n.g.output >= 0);
        int lop = loss ? OP_MSE : OP_CROSS_ENTROPY;
        assert_true(ir_add_loss(&n.g, lop, target_shape(lop, n.g.nodes[n.g.output].shape),
                                SPAN_NONE, &n.d));
        net_plan(&n, 3);
        /* h is zeroed and accumulated: the mul reads it twice */
        assert_true(n.e.grad_zero[h]);
        assert_false(n.e.grad_zero[res]);
        fill_random(&n, &r, op_table);
        double err = gradcheck(&n.e);
        if (err > TOLERANCE)
            fail_msg("residual, %s: max relative error %g", op_def(lop)->name, err);
        net_free(&n);
    }
}

/* φ′ against differences of φ, and max_deriv as the sup of φ′ on a grid
 * fine enough (step 1e-3, missing every kink) to come within 1% of a
 * supremum approached at a kink (selu's λα at 0⁻). */
static void test_activation_derivatives(void **state)
{
    (void)state;
    for (int op = 0; op < OP_COUNT; op++) {
        const OpDef *def = op_def(op);
        if (def->kind != OPK_ACTIVATION)
            continue;
        assert_non_null(def->act);
        double sup = 0;
        for (int k = 0; k < 12000; k++) {
            double z = -6.0005 + 1e-3 * k, h = 1e-5;
            double fd = (def->act(z + h, NULL) - def->act(z - h, NULL)) / (2 * h);
            if (fabs(fd - def->deriv(z, NULL)) > 1e-6)
                fail_msg("%s: φ′(%g) = %g, differences give %g", def->name, z,
                         def->deriv(z, NULL), fd);
            sup = fmax(sup, def->deriv(z, NULL));
        }
        if (!(sup <= def->max_deriv + 1e-12 && sup > 0.99 * def->max_deriv))
            fail_msg("%s: sup φ′ on the grid is %.15g, max_deriv %.15g", def->name, sup,
                     def->max_deriv);
    }
}

/* ---- forward values ---- */

static void test_dense_forward(void **state)
{
    (void)state;
    Net n;
    net_init(&n);
    int x = add_input(&n, shape1(2));
    int y = dense(&n, x, 3);
    net_plan(&n, 2);
    /* W = [[1, 2, 3], [4, 5, 6]], b = [0.5, −1, 0] */
    static const float wb[] = {1, 2, 3, 4, 5, 6, 0.5f, -1, 0};
    memcpy(n.ps.value, wb, sizeof wb);
    static const float in[] = {1, 2, 0, -1};
    memcpy(exec_source(&n.e, x), in, sizeof in);
    exec_forward(&n.e, EXEC_EVAL);
    static const float want[] = {9.5f, 11, 15, -3.5f, -6, -6};
    for (int i = 0; i < 6; i++)
        assert_float_equal(n.e.val[y][i], want[i], 1e-6);
    net_free(&n);
}

/* Forward of op on the values in, batch 1. */
static void unary_forward(int op, const float *in, float *out, int count)
{
    Net n;
    net_init(&n);
    int x = add_input(&n, shape1(count));
    int y = unary(&n, op, x);
    net_plan(&n, 1);
    memcpy(exec_source(&n.e, x), in, (size_t)count * sizeof *in);
    exec_forward(&n.e, EXEC_EVAL);
    memcpy(out, n.e.val[y], (size_t)count * sizeof *out);
    net_free(&n);
}

static void test_activation_forward(void **state)
{
    (void)state;
    const float z[4] = {0, 2, -2, -100};
    float y[4];
    unary_forward(OP_SIGMOID, z, y, 4);
    assert_float_equal(y[0], 0.5, 1e-7);
    assert_float_equal(y[1], 1 / (1 + exp(-2)), 1e-7);
    assert_float_equal(y[2], 1 / (1 + exp(2)), 1e-7);
    assert_float_equal(y[3], 0, 1e-40);
    unary_forward(OP_TANH, z, y, 4);
    assert_float_equal(y[0], 0, 0);
    assert_float_equal(y[1], tanh(2), 1e-7);
    assert_float_equal(y[3], -1, 0);
    unary_forward(OP_RELU, z, y, 4);
    assert_float_equal(y[1], 2, 0);
    assert_float_equal(y[2], 0, 0);
    unary_forward(OP_IDENTITY, z, y, 4);
    assert_float_equal(y[3], -100, 0);
}

/* The new activations at a few points, against their formulas. */
static void test_more_activations(void **state)
{
    (void)state;
    const float z[3] = {-2, 0.5f, 3};
    float y[3];
    unary_forward(OP_LEAKY_RELU, z, y, 3);
    assert_float_equal(y[0], -0.02, 1e-7);
    assert_float_equal(y[2], 3, 0);
    unary_forward(OP_ELU, z, y, 3);
    assert_float_equal(y[0], exp(-2) - 1, 1e-7);
    unary_forward(OP_SELU, z, y, 3);
    assert_float_equal(y[0], 1.0507009873554805 * 1.6732632423543772 * (exp(-2) - 1), 1e-6);
    assert_float_equal(y[1], 1.0507009873554805 * 0.5, 1e-7);
    unary_forward(OP_GELU, z, y, 3);
    assert_float_equal(y[0], -2 * 0.5 * erfc(2 / sqrt(2)), 1e-7);
    assert_float_equal(y[2], 3 * 0.5 * (1 + erf(3 / sqrt(2))), 1e-6);
    unary_forward(OP_SOFTSIGN, z, y, 3);
    assert_float_equal(y[0], -2.0 / 3, 1e-7);
    unary_forward(OP_SOFTPLUS, z, y, 3);
    assert_float_equal(y[1], log(1 + exp(0.5)), 1e-7);
    unary_forward(OP_SWISH, z, y, 3);
    assert_float_equal(y[2], 3 / (1 + exp(-3)), 1e-6);
    unary_forward(OP_HARD_TANH, z, y, 3);
    assert_float_equal(y[0], -1, 0);
    assert_float_equal(y[1], 0.5, 0);
    assert_float_equal(y[2], 1, 0);
    unary_forward(OP_SOFTMAX, z, y, 3);
    double sum = exp(-2) + exp(0.5) + exp(3);
    for (int i = 0; i < 3; i++)
        assert_float_equal(y[i], exp(z[i]) / sum, 1e-7);
    /* the parameter from the node, and the default without one */
    Net n;
    net_init(&n);
    int x = add_input(&n, shape1(1));
    Value args[2] = {tensor(x), num(0.3)};
    int lr = ir_add_node(&n.g, OP_LEAKY_RELU, SPAN_NONE, NULL, 0, args, 2, &n.d);
    assert_float_equal(op_def(OP_LEAKY_RELU)->act(-1, &n.g.nodes[lr]), -0.3, 1e-12);
    assert_float_equal(op_def(OP_LEAKY_RELU)->act(-1, NULL), -0.01, 1e-12);
    assert_float_equal(op_def(OP_LEAKY_RELU)->act(-1, &n.g.nodes[x]), -0.01, 1e-12);
    net_free(&n);
}

/* softmax along each axis of a [2, 3, 2] input, batch 2: every lane along
 * the axis sums to 1 and holds e^z / Σ e^z; axis -1 is the last (the
 * default), -3 the first; an axis outside the rank is an error. */
static void test_softmax_axes(void **state)
{
    (void)state;
    Shape s = {3, {2, 3, 2}};
    for (int axis = -3; axis <= 2; axis++) {
        Net n;
        net_init(&n);
        int x = add_input(&n, s);
        Value args[2] = {tensor(x), num(axis)};
        int y = ir_add_node(&n.g, OP_SOFTMAX, SPAN_NONE, NULL, 0, args, 2, &n.d);
        net_plan(&n, 2);
        float *in = exec_source(&n.e, x);
        for (int i = 0; i < 24; i++)
            in[i] = (float)((i * 5) % 7) * 0.5f - 1;
        exec_forward(&n.e, EXEC_EVAL);
        int a = axis < 0 ? axis + 3 : axis;
        long stride = a == 0 ? 6 : a == 1 ? 2 : 1;
        for (int i = 0; i < 24; i++) {
            int within = (int)(i % 12 / stride % s.dim[a]);  /* i's index along the axis */
            int first = i - within * (int)stride;
            double sum = 0;
            for (int j = 0; j < s.dim[a]; j++)
                sum += exp(in[first + j * stride]);
            assert_float_equal(n.e.val[y][i], exp(in[i]) / sum, 1e-6);
        }
        net_free(&n);
    }
    static const double bad[] = {3, -4};
    static const char *const msg[] = {
        "softmax needs an axis from -3 to 2 for a [2, 3, 2] input, got 3",
        "softmax needs an axis from -3 to 2 for a [2, 3, 2] input, got -4",
    };
    for (int k = 0; k < 2; k++) {
        Net n;
        net_init(&n);
        Value args[2] = {tensor(add_input(&n, s)), num(bad[k])};
        assert_int_equal(ir_add_node(&n.g, OP_SOFTMAX, SPAN_NONE, NULL, 0, args, 2, &n.d), -1);
        assert_string_equal(n.d.items[n.d.n - 1].msg, msg[k]);
        net_free(&n);
    }
}

/* concat and last on a [2, ·] input, batch 2. */
static void test_concat_last(void **state)
{
    (void)state;
    Net n;
    net_init(&n);
    int a = add_input(&n, shape2(2, 2));
    int b = unary(&n, OP_SOFTSIGN, a);
    Value args[1] = {tensor(a)};
    int in[3] = {a, b, a};
    int c = ir_add_node(&n.g, OP_CONCAT, SPAN_NONE, in, 3, args, 1, &n.d);
    assert_true(shape_eq(n.g.nodes[c].shape, shape2(2, 6)));
    int l = unary(&n, OP_LAST, c);
    assert_true(shape_eq(n.g.nodes[l].shape, shape1(6)));
    net_plan(&n, 2);
    const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    memcpy(exec_source(&n.e, a), x, sizeof x);
    exec_forward(&n.e, EXEC_EVAL);
    /* row (batch 1, step 1): [7, 8, 7/8, 8/9, 7, 8] */
    const float want[6] = {7, 8, 7.0f / 8, 8.0f / 9, 7, 8};
    for (int i = 0; i < 6; i++) {
        assert_float_equal(n.e.val[c][18 + i], want[i], 1e-6);
        assert_float_equal(n.e.val[l][6 + i], want[i], 1e-6);
    }
    assert_float_equal(n.e.val[l][0], 3, 0);
    net_free(&n);
}

/* embedding picks the row of each id (NaN for a value that is not one),
 * positional adds PE[t, 2i] = sin(t/10000^(2i/F)), PE[t, 2i+1] = cos(…),
 * learned_positional its table; batch 2. */
static void test_embedding_positional(void **state)
{
    (void)state;
    Net n;
    net_init(&n);
    int x = add_input(&n, shape1(3));
    Value ea[3] = {tensor(x), num(4), num(5)};
    int e = ir_add_node(&n.g, OP_EMBEDDING, SPAN_NONE, NULL, 0, ea, 3, &n.d);
    int p = unary(&n, OP_POSITIONAL, e);
    int q = unary(&n, OP_LEARNED_POSITIONAL, p);
    assert_true(shape_eq(n.g.nodes[q].shape, shape2(3, 5)));
    assert_int_equal(op_token_limit(&n.g, x, NULL), 4);
    net_plan(&n, 2);
    for (int k = 0; k < 4 * 5; k++)  /* E[v, j] = 10·v + j */
        n.ps.value[k] = (float)(10 * (k / 5) + k % 5);
    float *table = n.ps.value + n.g.params[n.g.nodes[q].param[0]].offset;
    for (int k = 0; k < 3 * 5; k++)
        table[k] = 0.5f;
    const float ids[6] = {3, 0, 2, 1, 4, 1.5f};
    memcpy(exec_source(&n.e, x), ids, sizeof ids);
    exec_forward(&n.e, EXEC_EVAL);
    for (int s = 0; s < 6; s++)
        for (int j = 0; j < 5; j++) {
            float got = n.e.val[e][s * 5 + j];
            if (s < 4)
                assert_float_equal(got, 10 * ids[s] + (float)j, 0);
            else
                assert_true(isnan(got));
        }
    for (int t = 0; t < 3; t++)
        for (int j = 0; j < 5; j++) {
            double angle = t / pow(10000, (double)(j - j % 2) / 5);
            double pe = j % 2 ? cos(angle) : sin(angle);
            assert_float_equal(n.e.val[p][t * 5 + j], n.e.val[e][t * 5 + j] + pe, 1e-5);
            assert_float_equal(n.e.val[q][t * 5 + j], n.e.val[p][t * 5 + j] + 0.5, 1e-5);
        }
    net_free(&n);
}

/* Training: a mask of 0 and 1/(1 − rate) from the executor's generator, the
 * same for the same generator state; evaluating: the identity. */
static void test_dropout_modes(void **state)
{
    (void)state;
    enum { N = 4000 };
    Net n;
    net_init(&n);
    int x = add_input(&n, shape1(N));
    Value args[2] = {tensor(x), num(0.25)};
    int y = ir_add_node(&n.g, OP_DROPOUT, SPAN_NONE, NULL, 0, args, 2, &n.d);
    net_plan(&n, 1);
    float *in = exec_source(&n.e, x);
    for (int i = 0; i < N; i++)
        in[i] = 1 + (float)i / N;
    exec_forward(&n.e, EXEC_EVAL);
    assert_memory_equal(n.e.val[y], in, N * sizeof(float));
    Rng start = n.e.rng;
    exec_forward(&n.e, EXEC_TRAIN);
    int dropped = 0;
    for (int i = 0; i < N; i++) {
        float v = n.e.val[y][i];
        if (v == 0)
            dropped++;
        else
            assert_float_equal(v, in[i] / 0.75f, 1e-6);
    }
    assert_true(abs(dropped - N / 4) < 4 * 28);  /* 4σ of a binomial(4000, 1/4) */
    /* the same generator state gives the same mask; the next draw another */
    float mask[N];
    memcpy(mask, n.e.val[y], sizeof mask);
    n.e.rng = start;
    exec_forward(&n.e, EXEC_TRAIN);
    assert_memory_equal(n.e.val[y], mask, sizeof mask);
    exec_forward(&n.e, EXEC_TRAIN);
    assert_memory_not_equal(n.e.val[y], mask, sizeof mask);
    net_free(&n);
}

/* A loss on the model output identity(x), batch rows, and its value. */
static float loss_value(int loss, Shape out, const float *x, const float *t, int batch)
{
    Net n;
    net_init(&n);
    int in = add_input(&n, out);
    n.g.output = unary(&n, OP_IDENTITY, in);
    assert_true(ir_add_loss(&n.g, loss, target_shape(loss, out), SPAN_NONE, &n.d));
    net_plan(&n, batch);
    memcpy(exec_source(&n.e, in), x, (size_t)batch * shape_size(out) * sizeof *x);
    memcpy(exec_source(&n.e, n.g.target), t,
           (size_t)batch * shape_size(target_shape(loss, out)) * sizeof *t);
    float value = loss_at(&n.e, n.e.rng);
    net_free(&n);
    return value;
}

static void test_loss_values(void **state)
{
    (void)state;
    /* uniform logits: −log(1/C) = ln C, whatever the class */
    const float zeros[8] = {0}, classes[2] = {3, 1};
    assert_float_equal(loss_value(OP_CROSS_ENTROPY, shape1(4), zeros, classes, 2), log(4), 1e-6);
    /* [T, C] logits: the mean over batch and time of ln(1 + e^{-3}) and ln(1 + e^3) */
    const float z[4] = {3, 0, 3, 0}, steps[2] = {0, 1};
    double want = (log(1 + exp(-3)) + log(1 + exp(3))) / 2;
    assert_float_equal(loss_value(OP_CROSS_ENTROPY, shape2(2, 2), z, steps, 1), want, 1e-6);
    /* logits far beyond expf's range stay finite (log-sum-exp) */
    const float big[2] = {1000, -1000}, first[1] = {0};
    assert_float_equal(loss_value(OP_CROSS_ENTROPY, shape1(2), big, first, 1), 0, 1e-6);
    /* a target that is no class index gives NaN, not an out-of-bounds read */
    const float bad[1] = {2};
    assert_true(isnan(loss_value(OP_CROSS_ENTROPY, shape1(2), zeros, bad, 1)));
    /* mse: ((1 − 0)² + (2 − 0)² + (0 − 1)² + (0 − 0)²) / 4 */
    const float y[4] = {1, 2, 0, 0}, t[4] = {0, 0, 1, 0};
    assert_float_equal(loss_value(OP_MSE, shape1(2), y, t, 2), 1.5, 1e-7);
    /* bce: −log σ(0) = log 2 whatever the target; a confident right answer costs ~0 */
    float half[2] = {0, 1}, sure[2] = {30, -30}, hit[2] = {1, 0};
    assert_float_equal(loss_value(OP_BCE, shape1(2), zeros, half, 1), log(2), 1e-6);
    assert_float_equal(loss_value(OP_BCE, shape1(2), sure, hit, 1), 0, 1e-6);
    assert_float_equal(loss_value(OP_BCE, shape1(2), sure, half, 1), 30, 1e-4);
}

/* ---- shape errors ---- */

static void assert_error(Net *n, const char *msg)
{
    assert_int_equal(n->d.errors, 1);
    assert_string_equal(n->d.items[0].msg, msg);
}

static void test_add_shape_error(void **state)
{
    (void)state;
    Net n;
    net_init(&n);
    int x = add_input(&n, shape1(4));
    int y = dense(&n, x, 3);
    int nodes = n.g.n, params = n.g.nparams;
    Value args[2] = {tensor(x), tensor(y)};
    assert_int_equal(ir_add_node(&n.g, OP_ADD, SPAN_NONE, NULL, 0, args, 2, &n.d), -1);
    assert_error(&n, "'+' needs equal shapes, got [4] and [3]");
    assert_int_equal(n.g.n, nodes);
    assert_int_equal(n.g.nparams, params);
    net_free(&n);
}

static void test_tensor_op_errors(void **state)
{
    (void)state;
    Net n;
    net_init(&n);
    int a = add_input(&n, shape2(3, 4));
    int b = unary(&n, OP_LAST, a);
    Value args[1] = {tensor(a)};
    int in[2] = {a, b};
    assert_int_equal(ir_add_node(&n.g, OP_CONCAT, SPAN_NONE, in, 2, args, 1, &n.d), -1);
    assert_error(&n, "concat needs shapes that differ only in the last dimension, "
                     "got [3, 4] and [4]");
    diag_clear(&n.d);
    Value mul[2] = {tensor(a), tensor(b)};
    assert_int_equal(ir_add_node(&n.g, OP_MUL, SPAN_NONE, NULL, 0, mul, 2, &n.d), -1);
    assert_error(&n, "'*' needs equal shapes, got [3, 4] and [4]");
    diag_clear(&n.d);
    Value last[1] = {tensor(b)};
    assert_int_equal(ir_add_node(&n.g, OP_LAST, SPAN_NONE, NULL, 0, last, 1, &n.d), -1);
    assert_error(&n, "last needs a [time, features] input, got [4]");
    diag_clear(&n.d);
    Value drop[2] = {tensor(a), num(1)};
    assert_int_equal(ir_add_node(&n.g, OP_DROPOUT, SPAN_NONE, NULL, 0, drop, 2, &n.d), -1);
    assert_error(&n, "dropout needs a rate of at least 0 and below 1, got 1");
    net_free(&n);
}

static void test_rank_names(void **state)
{
    (void)state;
    char buf[128];
    assert_string_equal(op_ranks_str(OP_RANK(2), buf, sizeof buf), "[time, features]");
    assert_string_equal(op_ranks_str(OP_RANK(1) | OP_RANK(2), buf, sizeof buf),
                        "[features] or [time, features]");
    assert_string_equal(op_ranks_str(OP_RANKS_ANY, buf, sizeof buf),
                        "[features], [time, features] or [channels, height, width]");
    assert_int_equal(op_ranks(OP_LSTM), OP_RANK(2));
    assert_int_equal(op_ranks(OP_RELU), OP_RANKS_ANY);
    assert_string_equal(op_input_str(OP_LSTM, buf, sizeof buf), "a [time, features] input");
    assert_string_equal(op_input_str(OP_EMBEDDING, buf, sizeof buf), "token ids [time]");
}

/* Every op, given a first input of a rank it does not declare, is refused
 * with the one message, before its shape inference runs, and the graph
 * is left as it was. */
static void test_every_op_rejects_other_ranks(void **state)
{
    (void)state;
    Rng r;
    rng_seed(&r, 17);
    int refused = 0;
    for (int op = 0; op < OP_COUNT; op++) {
        if (op_def(op)->kind == OPK_SOURCE)
            continue;
        for (int rank = 1; rank <= IR_MAX_RANK; rank++) {
            if (op_ranks(op) & OP_RANK(rank))
                continue;
            Net n;
            net_init(&n);
            Shape s = case_shape(&r, rank);
            int x = add_input(&n, s);
            const Sig *sig = op_sig(op);
            Value args[SIG_MAX];
            for (int i = 0; i < sig->n; i++)
                args[i] = sig->p[i].type == ARG_TENSOR || sig->p[i].type == ARG_TENSORS
                              ? tensor(x)
                          : sig->p[i].dflt ? (Value){.kind = VAL_NONE} : num(2);
            int in[2] = {x, x};
            assert_int_equal(ir_add_node(&n.g, op, SPAN_NONE, in, 2, args, sig->n, &n.d), -1);
            char want[256], input[128], shape[96];
            snprintf(want, sizeof want, "%s needs %s, got %s", op_def(op)->name,
                     op_input_str(op, input, sizeof input), shape_str(s, shape, sizeof shape));
            assert_error(&n, want);
            assert_int_equal(n.g.n, 1);
            assert_int_equal(n.g.nparams, 0);
            net_free(&n);
            refused++;
        }
    }
    /* rnn, lstm, gru and last at ranks 1 and 3, cross_entropy at 3 */
    assert_true(refused >= 9);
}

static void test_embedding_errors(void **state)
{
    (void)state;
    Net n;
    net_init(&n);
    int x = add_input(&n, shape1(3)), seq = unary(&n, OP_POSITIONAL, x);
    assert_int_equal(seq, -1);
    assert_error(&n, "positional needs a [time, features] input, got [3]");
    diag_clear(&n.d);
    Value bad_vocab[3] = {tensor(x), num(2.5), num(4)};
    assert_int_equal(ir_add_node(&n.g, OP_EMBEDDING, SPAN_NONE, NULL, 0, bad_vocab, 3, &n.d), -1);
    assert_error(&n, "embedding needs a whole number vocab from 1 to 2^31 - 1, got 2.5");
    diag_clear(&n.d);
    int twice = unary(&n, OP_SOFTSIGN, x);
    Value computed[3] = {tensor(twice), num(4), num(4)};
    assert_int_equal(ir_add_node(&n.g, OP_EMBEDDING, SPAN_NONE, NULL, 0, computed, 3, &n.d), -1);
    assert_error(&n, "embedding needs the model's input, whose token ids come from the data "
                     "set; got a computed tensor");
    diag_clear(&n.d);
    Value emb[3] = {tensor(x), num(4), num(6)};
    int e = ir_add_node(&n.g, OP_EMBEDDING, SPAN_NONE, NULL, 0, emb, 3, &n.d);
    Value again[3] = {tensor(e), num(4), num(6)};
    assert_int_equal(ir_add_node(&n.g, OP_EMBEDDING, SPAN_NONE, NULL, 0, again, 3, &n.d), -1);
    assert_error(&n, "embedding needs token ids [time], got [3, 6]");
    net_free(&n);
}

static void test_dense_errors(void **state)
{
    (void)state;
    static const struct {
        double units;
        const char *msg;
    } cases[] = {
        {0, "dense needs a whole number of units from 1 to 2^31 - 1, got 0"},
        {2.5, "dense needs a whole number of units from 1 to 2^31 - 1, got 2.5"},
        {1 << 30, "dense weight [4, 1073741824] is above the limit of 2^31 elements"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Net n;
        net_init(&n);
        int x = add_input(&n, shape1(4));
        Value args[2] = {tensor(x), num(cases[i].units)};
        assert_int_equal(ir_add_node(&n.g, OP_DENSE, SPAN_NONE, NULL, 0, args, 2, &n.d), -1);
        assert_error(&n, cases[i].msg);
        assert_int_equal(n.g.n, 1);
        assert_int_equal(n.g.nparams, 0);
        assert_int_equal(n.g.param_floats, 0);
        net_free(&n);
    }
}

static void test_missing_argument(void **state)
{
    (void)state;
    Net n;
    net_init(&n);
    Value args[1] = {tensor(add_input(&n, shape1(4)))};
    assert_int_equal(ir_add_node(&n.g, OP_DENSE, SPAN_NONE, NULL, 0, args, 1, &n.d), -1);
    assert_error(&n, "dense needs argument 'units'");
    net_free(&n);
}

static void test_loss_shape_errors(void **state)
{
    (void)state;
    static const struct {
        int loss;
        Shape out, target;
        const char *msg;
    } cases[] = {
        {OP_CROSS_ENTROPY, {1, {3}}, {1, {3}},
         "cross_entropy on logits [3] needs class targets [1], got [3]"},
        {OP_CROSS_ENTROPY, {2, {5, 3}}, {1, {1}},
         "cross_entropy on logits [5, 3] needs class targets [5], got [1]"},
        {OP_CROSS_ENTROPY, {3, {2, 2, 2}}, {1, {1}},
         "cross_entropy needs a [features] or [time, features] input, got [2, 2, 2]"},
        {OP_MSE, {1, {2}}, {1, {3}}, "mse needs targets of the output's shape [2], got [3]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Net n;
        net_init(&n);
        n.g.output = add_input(&n, cases[i].out);
        assert_false(ir_add_loss(&n.g, cases[i].loss, cases[i].target, SPAN_NONE, &n.d));
        assert_error(&n, cases[i].msg);
        assert_int_equal(n.g.n, 1);
        assert_int_equal(n.g.loss, -1);
        assert_int_equal(n.g.target, -1);
        net_free(&n);
    }
}

static void test_source_errors(void **state)
{
    (void)state;
    Net n;
    net_init(&n);
    assert_int_equal(ir_add_source(&n.g, OP_INPUT, "x", shape1(0), SPAN_NONE, &n.d), -1);
    assert_error(&n, "input needs 1 to 3 dimensions of at least 1, got [0]");
    diag_clear(&n.d);
    assert_int_equal(ir_add_source(&n.g, OP_INPUT, "x", shape2(1 << 16, 1 << 16), SPAN_NONE,
                                   &n.d), -1);
    assert_error(&n, "input gives a tensor of shape [65536, 65536], "
                     "above the limit of 2^31 elements per example");
    assert_int_equal(n.g.n, 0);
    assert_int_equal(n.g.input, -1);
    net_free(&n);
}

static void test_registry(void **state)
{
    (void)state;
    assert_int_equal(op_lookup("dense"), OP_DENSE);
    assert_int_equal(op_lookup("+"), OP_ADD);
    assert_int_equal(op_lookup("softmax2"), -1);
    for (int op = 0; op < OP_COUNT; op++) {
        assert_non_null(op_table[op]);
        assert_int_equal(op_lookup(op_def(op)->name), op);
        assert_ptr_equal(op_sig(op), op_sig(op));
    }
    const Sig *s = op_sig(OP_DENSE);
    assert_int_equal(s->n, 4);
    assert_string_equal(s->p[2].name, "init");
    assert_string_equal(s->p[2].dflt, "xavier_uniform");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradcheck_every_op),
        cmocka_unit_test(test_gradcheck_token_input),
        cmocka_unit_test(test_gradcheck_catches_a_wrong_backward),
        cmocka_unit_test(test_gradcheck_catches_an_accumulating_backward),
        cmocka_unit_test(test_gradcheck_several_consumers),
        cmocka_unit_test(test_activation_derivatives),
        cmocka_unit_test(test_dense_forward),
        cmocka_unit_test(test_activation_forward),
        cmocka_unit_test(test_loss_values),
        cmocka_unit_test(test_more_activations),
        cmocka_unit_test(test_concat_last),
        cmocka_unit_test(test_embedding_positional),
        cmocka_unit_test(test_embedding_errors),
        cmocka_unit_test(test_softmax_axes),
        cmocka_unit_test(test_dropout_modes),
        cmocka_unit_test(test_add_shape_error),
        cmocka_unit_test(test_tensor_op_errors),
        cmocka_unit_test(test_rank_names),
        cmocka_unit_test(test_every_op_rejects_other_ranks),
        cmocka_unit_test(test_dense_errors),
        cmocka_unit_test(test_missing_argument),
        cmocka_unit_test(test_loss_shape_errors),
        cmocka_unit_test(test_source_errors),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
