/* test_elab.c — loading and elaboration: imports (relative, VG_PATH,
 * stdlib, once-only), the one namespace, scoping of blocks, loops, ifs,
 * defs, layers and their outputs, constants, and settings. Programs are
 * written to a temporary folder by the tests themselves. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vg/elab.h"
#include "vg/ops.h"
#include "vg/program.h"
#include "vg/settings.h"

static char dir[64];

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/vg-test-elab-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char sub[128];
    snprintf(sub, sizeof sub, "%s/lib", dir);
    mkdir(sub, 0755);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Loads dir/main.vg into p; returns whether it loaded. */
static bool load(Program *p, const char *text)
{
    write_file("main.vg", text);
    char path[256];
    snprintf(path, sizeof path, "%s/main.vg", dir);
    program_init(p);
    return program_load(p, path, SPAN_NONE);
}

static const char *first_message(const Program *p)
{
    return p->diag.n ? p->diag.items[0].msg : "";
}

/* Elaborates the model of the first train into g. */
static bool elab_first(Program *p, IrGraph *g)
{
    assert_true(p->ntrains > 0);
    ir_init(g, &p->arena, "m");
    return elab_model(p, p->trains[0]->a, g);
}

static void test_imports_relative_vgpath_and_once(void **state)
{
    (void)state;
    write_file("lib/a.vg", "import \"b\"\ndef twice(x) { return x + x }\n");
    write_file("lib/b.vg", "let width = 3\n");
    char vgpath[128];
    snprintf(vgpath, sizeof vgpath, "/nonexistent:%s/lib", dir);
    setenv("VG_PATH", vgpath, 1);
    Program p;
    /* "a" is found through VG_PATH; "lib/b" relative to main.vg is the same
     * file that a.vg imports as "b", so it loads once and defines once. */
    bool ok = load(&p, "import \"a\"\nimport \"lib/b\"\nimport \"std/blocks\"\n"
                       "model m() { input x[2] layer l { h = twice(dense(x, width)) } return h }\n"
                       "train r = m() { data = xor(points = 4) loss = mse "
                       "optimizer = sgd(lr = 1) batch = 1 steps = 1 }\n");
    unsetenv("VG_PATH");
    assert_true(ok);
    assert_non_null(program_lookup(&p, "twice"));
    assert_non_null(program_lookup(&p, "width"));
    assert_non_null(program_lookup(&p, "resblock"));
    assert_int_equal(p.nloaded, 4);
    IrGraph g;
    assert_true(elab_first(&p, &g));
    assert_int_equal(g.nodes[g.output].shape.dim[0], 3);
    ir_free(&g);
    program_free(&p);
}

/* The REPL's :load of a file it has read: forgotten, the file is read
 * again, replacing its items, and its expects are not counted twice. */
static void test_forget_file_reads_it_anew(void **state)
{
    (void)state;
    Program p;
    assert_true(load(&p, "let a = 1\nexpect a == 1\n"));
    p.allow_redefine = true;
    char path[256];
    snprintf(path, sizeof path, "%s/main.vg", dir);
    assert_true(program_load(&p, path, SPAN_NONE));  /* loaded already: nothing new */
    assert_int_equal(p.nexpects, 1);
    write_file("main.vg", "let a = 2\nexpect a == 2\n");
    program_forget_file(&p, path);
    assert_int_equal(p.nexpects, 0);
    assert_true(program_load(&p, path, SPAN_NONE));
    assert_int_equal(p.nexpects, 1);
    assert_int_equal(p.expects[0]->a->b->num, 2);
    program_forget_file(&p, "/no/such/file.vg");  /* a no-op */
    assert_int_equal(p.nloaded, 1);
    program_free(&p);
}

static void test_redefinition_is_an_error(void **state)
{
    (void)state;
    Program p;
    assert_false(load(&p, "let a = 1\nlet a = 2\n"));
    assert_string_equal(first_message(&p), "'a' is already defined");
    const char *note = p.diag.items[0].note;
    assert_non_null(note);
    assert_true(strncmp(note, "the constant 'a' is defined at ", 31) == 0);
    assert_string_equal(note + strlen(note) - 11, "main.vg:1:1");
    program_free(&p);
}

static void test_blocks_share_scope_but_loop_variables_end(void **state)
{
    (void)state;
    Program p;
    assert_true(load(&p,
        "model m(depth = 3) {\n"
        "    input x[2]\n"
        "    h = x\n"
        "    for i in 1..depth {\n"
        "        layer fc[i] { h = tanh(dense(h, 4)) }\n"
        "        last_i = i\n"
        "    }\n"
        "    if last_i == depth { layer out { y = dense(h, 2) } } else { layer out { y = h } }\n"
        "    return y\n"
        "}\n"
        "train r = m() { data = xor(points = 4) loss = cross_entropy "
        "optimizer = sgd(lr = 1) batch = 1 steps = 1 }\n"));
    IrGraph g;
    assert_true(elab_first(&p, &g));
    assert_int_equal(g.nlayers, 4);
    assert_string_equal(g.layers[0].name, "fc[1]");
    assert_string_equal(g.layers[2].name, "fc[3]");
    assert_string_equal(g.layers[3].name, "out");
    /* a layer's output is the last tensor bound inside it */
    assert_int_equal(g.nodes[g.layers[0].output].op, OP_TANH);
    assert_int_equal(g.nodes[g.layers[3].output].op, OP_DENSE);
    ir_free(&g);
    program_free(&p);

    assert_true(load(&p,
        "model m() {\n"
        "    input x[2]\n"
        "    for i in 1..2 { layer fc[i] { h = dense(x, 2) } }\n"
        "    layer out { y = dense(h, i) }\n"
        "    return y\n"
        "}\n"
        "train r = m() { data = xor(points = 4) loss = mse optimizer = sgd(lr = 1) "
        "batch = 1 steps = 1 }\n"));
    assert_false(elab_first(&p, &g));
    assert_string_equal(first_message(&p), "unknown name 'i'");
    ir_free(&g);
    program_free(&p);
}

static void test_def_parameters_belong_to_the_enclosing_layer(void **state)
{
    (void)state;
    Program p;
    assert_true(load(&p,
        "def block(x, width, act = relu) { h = act(dense(x, width)) return dense(h, width) }\n"
        "model m() { input x[2] layer a { y = block(x, 3, act = tanh) } return y }\n"
        "train r = m() { data = xor(points = 4) loss = mse optimizer = sgd(lr = 1) "
        "batch = 1 steps = 1 }\n"));
    IrGraph g;
    assert_true(elab_first(&p, &g));
    assert_int_equal(g.nlayers, 1);
    assert_int_equal(g.nparams, 4);
    for (int i = 0; i < g.nparams; i++)
        assert_int_equal(g.params[i].layer, 0);
    /* the def's internal binding h does not become the layer's output */
    assert_int_equal(g.layers[0].output, g.output);
    assert_int_equal(g.nodes[g.nodes[g.output].in[0]].op, OP_TANH);
    ir_free(&g);
    program_free(&p);
}

/* The index of parameter name in op's signature. */
static int sig_slot(int op, const char *name)
{
    const Sig *sig = op_sig(op);
    for (int i = 0; i < sig->n; i++)
        if (strcmp(sig->p[i].name, name) == 0)
            return i;
    fail_msg("%s has no parameter '%s'", op_def(op)->name, name);
    return -1;
}

/* A signature's defaults are the built-ins they name, whatever a program
 * defines under those names. */
static void test_defaults_are_builtins(void **state)
{
    (void)state;
    Program p;
    assert_true(load(&p,
        "let tanh = relu\nlet xavier_uniform = 3\n"
        "model m() { input x[3, 2] layer a { h = rnn(dense(x, 4), 5) } return last(h) }\n"
        "train r = m() { data = xor(points = 4) loss = mse optimizer = sgd(lr = 1) "
        "batch = 1 steps = 1 }\n"));
    IrGraph g;
    assert_true(elab_first(&p, &g));
    const IrNode *rnn = &g.nodes[g.nodes[g.output].in[0]], *dense = &g.nodes[rnn->in[0]];
    assert_int_equal(rnn->op, OP_RNN);
    assert_int_equal(rnn->args[sig_slot(OP_RNN, "act")].op, OP_TANH);
    assert_int_equal(ir_arg_spec(dense, sig_slot(OP_DENSE, "init"))->id, SPEC_XAVIER_UNIFORM);
    ir_free(&g);
    program_free(&p);
}

static void test_constants_and_values(void **state)
{
    (void)state;
    Program p;
    assert_true(load(&p, "let b = a * 2 + 1\nlet a = 2 ^ 3\nlet s = \"x\" + \"y\"\n"
                         "let loop = loop + 1\n"));
    Value v;
    AstNode *name = ast_new(&p.arena, AST_NAME, SPAN_NONE);
    name->str = "b";
    assert_true(elab_eval(&p, NULL, name, &v));
    assert_int_equal(v.kind, VAL_NUM);
    assert_true(v.num == 17);
    name->str = "s";
    assert_true(elab_eval(&p, NULL, name, &v));
    assert_string_equal(v.str, "xy");
    name->str = "loop";
    assert_false(elab_eval(&p, NULL, name, &v));
    assert_string_equal(first_message(&p), "the constant 'loop' is defined in terms of itself");
    program_free(&p);
}

/* A family's members: one per combination, the last axis fastest, named
 * by their values' canonical source; axis variables reach the arguments
 * and the overrides. */
static void test_family_members(void **state)
{
    (void)state;
    Program p;
    assert_true(load(&p,
        "let widths = [2, 4]\n"
        "model m(w = 2) { input x[2] layer out { y = dense(x, w) } return y }\n"
        "settings base { data = xor(points = 4) loss = cross_entropy optimizer = sgd(lr = 1)\n"
        "                batch = 2 steps = 1 }\n"
        "train g[w in widths, s in 3..4, a in [sigmoid, \"x\", 0.25]] = m(w = w) with base\n"
        "    { seed = s * 10 }\n"));
    Member *ms;
    int n;
    assert_true(elab_members(&p, p.trains[0], &ms, &n));
    assert_int_equal(n, 12);
    assert_string_equal(ms[0].name, "g[2, 3, sigmoid]");
    assert_string_equal(ms[1].name, "g[2, 3, \"x\"]");
    assert_string_equal(ms[2].name, "g[2, 3, 0.25]");
    assert_string_equal(ms[3].name, "g[2, 4, sigmoid]");
    assert_string_equal(ms[11].name, "g[4, 4, 0.25]");
    assert_int_equal(ms[11].index, 11);
    assert_int_equal(ms[11].naxes, 3);
    assert_string_equal(ms[11].vars[1], "s");
    assert_true(ms[11].vals[1].num == 4);
    Settings set;
    assert_true(settings_of(&p, &ms[11], NULL, 0, -1, &set));
    assert_int_equal(set.seed, 40);
    IrGraph g;
    ir_init(&g, &p.arena, "m");
    assert_true(elab_member_model(&p, &ms[11], &g));
    assert_int_equal(g.nodes[g.output].shape.dim[0], 4);
    ir_free(&g);
    program_free(&p);
}

/* Loads `let e = expr` into p and evaluates e. */
static bool eval_let(Program *p, const char *expr, Value *v);

/* Axis values as member names spell them: built-in values with only the
 * arguments that differ from their defaults. */
static void test_member_value_texts(void **state)
{
    (void)state;
    Program p;
    Value v;
    assert_true(eval_let(&p, "[he_normal, normal(std = 0.1), he_normal(gain = 2), tanh, "
                             "\"a b\", 1e-3, true]", &v));
    static const char *const want[] = {"he_normal", "normal(std = 0.1)",
                                       "he_normal(gain = 2)", "tanh", "\"a b\"", "0.001",
                                       "true"};
    assert_int_equal(v.len, 7);
    for (int i = 0; i < v.len; i++) {
        const char *text;
        assert_true(elab_value_text(&p, &v.items[i], SPAN_NONE, &text));
        assert_string_equal(text, want[i]);
    }
    program_free(&p);
}

static bool eval_let(Program *p, const char *expr, Value *v)
{
    char text[128];
    snprintf(text, sizeof text, "let e = %s\n", expr);
    assert_true(load(p, text));
    AstNode *name = ast_new(&p->arena, AST_NAME, SPAN_NONE);
    name->str = "e";
    return elab_eval(p, NULL, name, v);
}

/* Lists: elementwise arithmetic and comparisons with broadcasting, the
 * aggregates, and the errors of each. */
static void test_lists_and_aggregates(void **state)
{
    (void)state;
    static const struct {
        const char *expr;
        double want;
    } cases[] = {
        {"mean([1, 2, 3] * 2 + [0, 0, 3])", 5},
        {"median([5, 1, 4, 2])", 3},
        {"median([5, 1, 4])", 4},
        {"min([3, -1, 2])", -1},
        {"max([3, -1, 2])", 3},
        {"std([2, 4, 4, 4, 5, 5, 7, 9])", 2.138089935299395},
        {"fraction([1, 2, 3, 4] > 2.5)", 0.5},
        {"count([1, 2, 3] != 2)", 2},
        {"mean(abs([-1, 1]))", 1},
        {"min(1, 2)", 1},
        {"max(0 * [1, 2] + [7, 8])", 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Program p;
        Value v;
        if (!eval_let(&p, cases[i].expr, &v))
            fail_msg("%s: %s", cases[i].expr, first_message(&p));
        assert_int_equal(v.kind, VAL_NUM);
        if (fabs(v.num - cases[i].want) > 1e-12)
            fail_msg("%s = %g, want %g", cases[i].expr, v.num, cases[i].want);
        program_free(&p);
    }
    static const struct {
        const char *expr, *msg;
    } errors[] = {
        {"[1, 2] + [1, 2, 3]", "'+' on lists of different lengths, 2 and 3"},
        {"median([])", "median of an empty list"},
        {"all([1, 2])", "all needs a list of booleans, got a list of numbers"},
        {"mean([true])", "mean needs a list of numbers, got a list of booleans"},
        {"std([1])", "std needs at least two values, got a list of one"},
        {"fraction(1)", "fraction needs a list, got a number"},
        {"min([1], 2)", "min takes one list or several numbers, not a list among 2 arguments"},
        {"[1, 2][0]", "indexing a list indexes each of its elements, and a number cannot be "
                      "indexed"},
    };
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++) {
        Program p;
        Value v;
        assert_false(eval_let(&p, errors[i].expr, &v));
        assert_string_equal(first_message(&p), errors[i].msg);
        program_free(&p);
    }
}

static void test_settings_layering(void **state)
{
    (void)state;
    Program p;
    assert_true(load(&p,
        "model m() { input x[2] layer out { y = dense(x, 2) } return y }\n"
        "settings base { data = xor(points = 4) loss = cross_entropy optimizer = sgd(lr = 1)\n"
        "                batch = 2 steps = 10 seed = 1 probe = all }\n"
        "train r = m() with base { steps = 20; clip = norm(max = 1) }\n"));
    Settings s;
    SettingOverride cli[] = {{"batch", "3"}};
    Member m = elab_plain_member(p.trains[0]);
    assert_true(settings_of(&p, &m, cli, 1, 9, &s));
    assert_int_equal(s.steps, 20);    /* the block overrides the bundle */
    assert_int_equal(s.batch, 3);     /* the command line overrides both */
    assert_int_equal(s.seed, 9);
    assert_int_equal(s.probe, 0);     /* all */
    assert_int_equal(s.report, 0);    /* default */
    assert_int_equal(s.clip->id, SPEC_CLIP_NORM);
    assert_int_equal(s.loss, OP_CROSS_ENTROPY);
    assert_true(spec_num(s.optimizer, "lr") == 1);
    assert_true(spec_num(s.optimizer, "momentum") == 0);  /* default filled */
    program_free(&p);
}

static void test_setting_errors(void **state)
{
    (void)state;
    Program p;
    assert_true(load(&p,
        "model m() { input x[2] layer out { y = dense(x, 2) } return y }\n"
        "train r = m() { data = sgd(lr = 1) loss = cross_entropy batch = 0 steps = 1 }\n"));
    Settings s;
    Member m = elab_plain_member(p.trains[0]);
    assert_false(settings_of(&p, &m, NULL, 0, -1, &s));
    assert_int_equal(p.diag.n, 3);
    assert_string_equal(p.diag.items[0].msg, "'data' must be a data set, got 'sgd'");
    assert_string_equal(p.diag.items[1].msg, "'batch' must be at least 1, got 0");
    assert_string_equal(p.diag.items[2].msg, "run 'r' has no 'optimizer' setting");
    program_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_imports_relative_vgpath_and_once),
        cmocka_unit_test(test_forget_file_reads_it_anew),
        cmocka_unit_test(test_redefinition_is_an_error),
        cmocka_unit_test(test_blocks_share_scope_but_loop_variables_end),
        cmocka_unit_test(test_def_parameters_belong_to_the_enclosing_layer),
        cmocka_unit_test(test_defaults_are_builtins),
        cmocka_unit_test(test_constants_and_values),
        cmocka_unit_test(test_family_members),
        cmocka_unit_test(test_lists_and_aggregates),
        cmocka_unit_test(test_member_value_texts),
        cmocka_unit_test(test_settings_layering),
        cmocka_unit_test(test_setting_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
