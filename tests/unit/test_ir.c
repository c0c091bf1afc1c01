/* test_ir.c — the graph: shapes, argument binding, parameter naming,
 * layers, and the exact text of `vg ir` (listing and DOT). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vg/ir.h"
#include "vg/ops.h"

typedef struct Fixture {
    Arena arena;
    IrGraph g;
    DiagSink d;
} Fixture;

static int setup(void **state)
{
    Fixture *f = calloc(1, sizeof *f);
    arena_init(&f->arena);
    ir_init(&f->g, &f->arena, "tiny");
    diag_init(&f->d, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;
    ir_free(&f->g);
    diag_free(&f->d);
    arena_free(&f->arena);
    free(f);
    return 0;
}

static Value tensor(int node)
{
    return (Value){.kind = VAL_TENSOR, .node = node};
}

static Value num(double x)
{
    return (Value){.kind = VAL_NUM, .num = x};
}

static int dense(Fixture *f, int x, long units)
{
    Value args[2] = {tensor(x), num((double)units)};
    return ir_add_node(&f->g, OP_DENSE, SPAN_NONE, NULL, 0, args, 2, &f->d);
}

static int op1(Fixture *f, int op, int x)
{
    Value args[1] = {tensor(x)};
    return ir_add_node(&f->g, op, SPAN_NONE, NULL, 0, args, 1, &f->d);
}

/* Everything ir_print wrote. */
static char *print(const IrGraph *g, bool dot)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (dot)
        ir_print_dot(out, g);
    else
        ir_print(out, g);
    fclose(out);
    return text;
}

static void test_shapes(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(shape_str((Shape){.rank = 0}, buf, sizeof buf), "[]");
    assert_string_equal(shape_str(shape2(50, 2), buf, sizeof buf), "[50, 2]");
    assert_string_equal(shape_str(shape2(50, 2), buf, 5), "[50,");
    assert_int_equal(shape_size((Shape){.rank = 0}), 1);
    assert_int_equal(shape_size(shape2(50, 2)), 100);
    assert_int_equal(shape_size(shape2(50, 0)), 0);
    assert_int_equal(shape_size(shape1(-3)), 0);
    Shape huge = {.rank = 3, .dim = {1L << 30, 1L << 30, 1L << 30}};
    assert_int_equal(shape_size(huge), 0);
    assert_true(shape_eq(shape1(3), shape1(3)));
    assert_false(shape_eq(shape1(3), shape2(3, 1)));
}

/* A deep net's first layers, its output layer, and the loss:
 *   input x[2]; layer fc { h = sigmoid(dense(x, 3)) }
 *   layer out { y = dense(h, 2, init = he_normal(gain = 2), bias = false) } */
static void build_tiny(Fixture *f)
{
    IrGraph *g = &f->g;
    int x = ir_add_source(g, OP_INPUT, "x", shape1(2), SPAN_NONE, &f->d);
    int fc = ir_begin_layer(g, "fc", SPAN_NONE, &f->d);
    int h = op1(f, OP_SIGMOID, dense(f, x, 3));
    g->nodes[h].binding = "h";
    ir_end_layer(g, fc, -1);
    int out = ir_begin_layer(g, "out", SPAN_NONE, &f->d);
    Spec *he = (Spec *)ir_default_spec(g, SPEC_HE_NORMAL);
    he->args[0] = num(2);
    Value args[4] = {tensor(h), num(2), {.kind = VAL_SPEC, .spec = he},
                     {.kind = VAL_BOOL, .num = 0}};
    int y = ir_add_node(g, OP_DENSE, SPAN_NONE, NULL, 0, args, 4, &f->d);
    g->nodes[y].binding = "y";
    ir_end_layer(g, out, -1);
    g->output = y;
    assert_true(ir_add_loss(g, OP_CROSS_ENTROPY, shape1(1), SPAN_NONE, &f->d));
    assert_int_equal(f->d.errors, 0);
}

static void test_print(void **state)
{
    Fixture *f = *state;
    build_tiny(f);
    char *text = print(&f->g, false);
    assert_string_equal(text,
        "model tiny: 6 nodes, 3 parameters (15 floats)\n"
        "  node op            inputs shape layer name\n"
        "  %0   input         -      [2]   -     x\n"
        "  %1   dense         %0     [3]   fc    -\n"
        "  %2   sigmoid       %1     [3]   fc    h\n"
        "  %3   dense         %2     [2]   out   y\n"
        "  %4   target        -      [1]   -     -\n"
        "  %5   cross_entropy %3 %4  []    -     -\n"
        "parameters:\n"
        "  fc.W  [2, 3] xavier_uniform    fan_in=2 fan_out=3\n"
        "  fc.b  [3]    zeros             fan_in=2 fan_out=3\n"
        "  out.W [3, 2] he_normal(gain=2) fan_in=3 fan_out=2\n");
    free(text);
}

static void test_print_dot(void **state)
{
    Fixture *f = *state;
    int x = ir_add_source(&f->g, OP_INPUT, "x", shape1(2), SPAN_NONE, &f->d);
    int a = ir_begin_layer(&f->g, "a[1]", SPAN_NONE, &f->d);
    op1(f, OP_RELU, x);
    ir_end_layer(&f->g, a, -1);
    char *text = print(&f->g, true);
    assert_string_equal(text,
        "digraph \"tiny\" {\n"
        "  rankdir=BT;\n"
        "  node [shape=box, fontname=\"monospace\"];\n"
        "  subgraph cluster_0 {\n"
        "    label=\"a[1]\";\n"
        "    n1;\n"
        "  }\n"
        "  n0 [label=\"%0 input\\n[2]\\nx\"];\n"
        "  n1 [label=\"%1 relu\\n[2]\"];\n"
        "  n0 -> n1;\n"
        "}\n");
    free(text);
}

static void test_graph_fields(void **state)
{
    Fixture *f = *state;
    build_tiny(f);
    const IrGraph *g = &f->g;
    assert_int_equal(g->input, 0);
    assert_int_equal(g->target, 4);
    assert_int_equal(g->loss, 5);
    assert_int_equal(g->nlayers, 2);
    assert_int_equal(g->layers[0].output, 2);  /* the bound node, not the dense */
    assert_int_equal(g->layers[1].output, 3);
    assert_int_equal(ir_find_layer(g, "out"), 1);
    assert_int_equal(ir_find_layer(g, "fc[1]"), -1);
    assert_int_equal(g->cur_layer, -1);
    /* parameters: offsets in declaration order, fans as dense defines them */
    const IrParam *w = &g->params[2];
    assert_string_equal(w->name, "out.W");
    assert_int_equal(w->offset, 9);
    assert_int_equal(w->layer, 1);
    assert_int_equal(w->node, 3);
    assert_true(w->is_weight && w->trainable);
    assert_false(g->params[1].is_weight);
    assert_int_equal(g->params[1].init->id, SPEC_ZEROS);
    /* arguments completed with their defaults */
    const IrNode *d = &g->nodes[1];
    assert_int_equal(d->nargs, 4);
    assert_int_equal(ir_arg_spec(d, 2)->id, SPEC_XAVIER_UNIFORM);
    assert_true(ir_arg_bool(d, 3));
    assert_int_equal(ir_arg_num(d, 1), 3);
    assert_int_equal(d->nin, 1);
    assert_int_equal(d->in[0], 0);
}

static void test_param_names(void **state)
{
    Fixture *f = *state;
    IrGraph *g = &f->g;
    int x = ir_add_source(g, OP_INPUT, "x", shape1(4), SPAN_NONE, &f->d);
    dense(f, x, 2);
    int l = ir_begin_layer(g, "fc[1]", SPAN_NONE, &f->d);
    dense(f, dense(f, x, 3), 3);
    ir_end_layer(g, l, -1);
    const char *want[] = {"dense1.W", "dense1.b", "fc[1].W", "fc[1].b", "fc[1].W2", "fc[1].b2"};
    assert_int_equal(g->nparams, 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal(g->params[i].name, want[i]);
    assert_int_equal(g->param_floats, 10 + 15 + 12);
}

/* Thousands of layers: the name indexes grow many times, every parameter
 * keeps its own name, a repeated layer is still found, and the bias inits
 * share the graph's one default 'zeros'. */
static void test_many_layers(void **state)
{
    Fixture *f = *state;
    IrGraph *g = &f->g;
    enum { N = 3000 };
    int h = ir_add_source(g, OP_INPUT, "x", shape1(2), SPAN_NONE, &f->d);
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "fc[%d]", i);
        int l = ir_begin_layer(g, arena_strdup(&f->arena, name), SPAN_NONE, &f->d);
        assert_int_equal(l, i);
        h = dense(f, h, 2);
        ir_end_layer(g, l, -1);
    }
    assert_int_equal(g->nparams, 2 * N);
    assert_string_equal(g->params[2 * 1234].name, "fc[1234].W");
    assert_string_equal(g->params[2 * 1234 + 1].name, "fc[1234].b");
    assert_ptr_equal(g->params[1].init, g->params[2 * N - 1].init);
    assert_int_equal(ir_find_layer(g, "fc[2999]"), 2999);
    assert_int_equal(ir_find_layer(g, "fc[3000]"), -1);
    assert_int_equal(ir_begin_layer(g, "fc[17]", SPAN_NONE, &f->d), -1);
    assert_int_equal(f->d.errors, 1);
}

static void test_duplicate_layer(void **state)
{
    Fixture *f = *state;
    Span first = {0, 3, 5, 3, 9}, again = {0, 7, 5, 7, 9};
    int l = ir_begin_layer(&f->g, "fc[1]", first, &f->d);
    ir_end_layer(&f->g, l, -1);
    assert_int_equal(ir_begin_layer(&f->g, "fc[1]", again, &f->d), -1);
    assert_int_equal(f->d.errors, 1);
    assert_string_equal(f->d.items[0].msg, "layer 'fc[1]' is declared twice");
    assert_string_equal(f->d.items[0].note, "first declared at line 3, column 5");
    assert_int_equal(f->d.items[0].span.first_line, 7);
    assert_int_equal(f->g.nlayers, 1);
}

/* Inputs given explicitly fill the tensor slots of the arguments. */
static void test_inputs_bind_tensor_slots(void **state)
{
    Fixture *f = *state;
    int x = ir_add_source(&f->g, OP_INPUT, "x", shape1(3), SPAN_NONE, &f->d);
    int in[2] = {x, x};
    int s = ir_add_node(&f->g, OP_ADD, SPAN_NONE, in, 2, NULL, 0, &f->d);
    assert_int_equal(s, 1);
    const IrNode *n = &f->g.nodes[s];
    assert_int_equal(n->nargs, 2);
    assert_int_equal(n->args[1].kind, VAL_TENSOR);
    assert_int_equal(n->args[1].node, x);
    assert_true(shape_eq(n->shape, shape1(3)));
}

/* `input x[T, F]` as the elaborator adds it: dimensions as numbers. */
static void test_input_from_dims(void **state)
{
    Fixture *f = *state;
    Value dims[4] = {num(5), num(2), num(1), num(1)};
    int x = ir_add_node(&f->g, OP_INPUT, SPAN_NONE, NULL, 0, dims, 2, &f->d);
    assert_int_equal(x, 0);
    assert_true(shape_eq(f->g.nodes[x].shape, shape2(5, 2)));
    assert_int_equal(f->g.input, 0);
    assert_int_equal(ir_add_node(&f->g, OP_INPUT, SPAN_NONE, NULL, 0, dims, 4, &f->d), -1);
    assert_string_equal(f->d.items[0].msg, "input needs 1 to 3 dimensions, got 4");
    dims[1] = num(0);
    assert_int_equal(ir_add_node(&f->g, OP_INPUT, SPAN_NONE, NULL, 0, dims, 2, &f->d), -1);
    assert_string_equal(f->d.items[1].msg,
                        "input needs 1 to 3 dimensions of at least 1, got [5, 0]");
    assert_int_equal(f->g.n, 1);
}

/* A layer whose nodes are all unbound has no output: the elaborator
 * reports it ("binds no tensor"). */
static void test_layer_without_binding(void **state)
{
    Fixture *f = *state;
    int x = ir_add_source(&f->g, OP_INPUT, "x", shape1(2), SPAN_NONE, &f->d);
    int l = ir_begin_layer(&f->g, "fc", SPAN_NONE, &f->d);
    op1(f, OP_RELU, x);
    ir_end_layer(&f->g, l, -1);
    assert_int_equal(f->g.layers[l].output, -1);
}

static void test_default_spec(void **state)
{
    Fixture *f = *state;
    const Spec *s = ir_default_spec(&f->g, SPEC_NORMAL);
    assert_int_equal(s->nargs, 3);
    assert_int_equal(s->args[0].kind, VAL_NUM);
    assert_int_equal(s->args[1].kind, VAL_NONE);  /* std is required */
    assert_float_equal(s->args[2].num, 1, 0);
}

static void test_loss_needs_output(void **state)
{
    Fixture *f = *state;
    assert_false(ir_add_loss(&f->g, OP_MSE, shape1(1), SPAN_NONE, &f->d));
    assert_string_equal(f->d.items[0].msg, "model 'tiny' returns no tensor to train");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        T(test_print),
        T(test_print_dot),
        T(test_graph_fields),
        T(test_param_names),
        T(test_many_layers),
        T(test_duplicate_layer),
        T(test_inputs_bind_tensor_slots),
        T(test_input_from_dims),
        T(test_layer_without_binding),
        T(test_default_spec),
        T(test_loss_needs_output),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
