/* test_parser.c — the grammar: every construct of LANGUAGE.md, operator
 * precedence (through ast_dump), the canonical printer's fixed point, the
 * exact text of syntax diagnostics, error recovery and REPL entries. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vg/parse.h"

typedef struct Fx {
    SourceSet ss;
    DiagSink d;
    Arena a;
} Fx;

static int setup(void **state)
{
    Fx *f = calloc(1, sizeof *f);
    diag_init(&f->d, &f->ss);
    arena_init(&f->a);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fx *f = *state;
    diag_free(&f->d);
    arena_free(&f->a);
    source_set_free(&f->ss);
    free(f);
    return 0;
}

static AstNode *parse(Fx *f, const char *text)
{
    int id = source_add(&f->ss, "t.vg", text, strlen(text));
    return parse_file(&f->a, &f->d, id);
}

typedef void (*Printer)(FILE *out, const AstNode *n);

static char *capture(Printer print, const AstNode *n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    print(out, n);
    fclose(out);
    return buf;
}

static void print_top(FILE *out, const AstNode *n)
{
    ast_print(out, n, 0);
}

static char *diagnostics(const Fx *f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    diag_render_all(out, &f->d, false);
    fclose(out);
    return buf;
}

/* The dump of a whole file, or its diagnostics when it does not parse. */
static char *dump_file(Fx *f, const char *text)
{
    AstNode *p = parse(f, text);
    return p ? capture(ast_dump, p) : diagnostics(f);
}

static void assert_dump(Fx *f, const char *text, const char *want)
{
    char *got = dump_file(f, text);
    assert_string_equal(got, want);
    free(got);
}

/* The rendered diagnostics of a file that must not parse. */
static void assert_errors(Fx *f, const char *text, const char *want)
{
    diag_clear(&f->d);
    assert_null(parse(f, text));
    char *got = diagnostics(f);
    assert_string_equal(got, want);
    free(got);
}

static const char sample[] =
    "# Deep sigmoid nets: gradients vanish toward the input (Glorot & Bengio 2010).\n"
    "import \"std/blocks\"                       # stdlib/blocks.vg\n"
    "\n"
    "model deep(depth = 8, width = 64, act = sigmoid, init = fanin_uniform) {\n"
    "    input x[2]\n"
    "    h = x\n"
    "    for i in 1..depth {\n"
    "        layer fc[i] {\n"
    "            h = act(dense(h, width, init = init))\n"
    "        }\n"
    "    }\n"
    "    layer out {\n"
    "        y = dense(h, 2)\n"
    "    }\n"
    "    return y\n"
    "}\n"
    "\n"
    "settings base {\n"
    "    data      = spirals(points = 1024, classes = 2, noise = 0.1)\n"
    "    loss      = cross_entropy\n"
    "    optimizer = sgd(lr = 0.1)\n"
    "    batch     = 64\n"
    "    steps     = 500\n"
    "    seed      = 1\n"
    "    report    = 100          # a report at step 0, every 100 steps, and at the end\n"
    "}\n"
    "\n"
    "train saturating = deep(act = sigmoid) with base\n"
    "train rectified  = deep(act = relu, init = he_normal) with base { steps = 300 }\n"
    "\n"
    "expect saturating.initial.fc[1].ratio < 1e-3,\n"
    "       \"sigmoid: the first layer's gradient is a thousandth of the output's\"\n"
    "expect rectified.initial.fc[1].ratio > 0.1\n"
    "expect rectified.final.loss < saturating.final.loss\n";

static void test_sample_program(void **state)
{
    Fx *f = *state;
    assert_dump(f, sample,
        "(program\n"
        "  (import \"std/blocks\")\n"
        "  (model deep (params (depth 8) (width 64) (act sigmoid) (init fanin_uniform))"
        " (input x 2) (assign h x)"
        " (for i 1 depth (layer fc [i] (assign h (call act (call dense h width (= init init))))))"
        " (layer out (assign y (call dense h 2))) (return y))\n"
        "  (settings base (= data (call spirals (= points 1024) (= classes 2) (= noise 0.1)))"
        " (= loss cross_entropy) (= optimizer (call sgd (= lr 0.1))) (= batch 64) (= steps 500)"
        " (= seed 1) (= report 100))\n"
        "  (train saturating (call deep (= act sigmoid)) (with base))\n"
        "  (train rectified (call deep (= act relu) (= init he_normal)) (with base) (= steps 300))\n"
        "  (expect (< (. ([] (. (. saturating initial) fc) 1) ratio) 0.001)"
        " \"sigmoid: the first layer's gradient is a thousandth of the output's\")\n"
        "  (expect (> (. ([] (. (. rectified initial) fc) 1) ratio) 0.1))\n"
        "  (expect (< (. (. rectified final) loss) (. (. saturating final) loss))))");
    assert_int_equal(f->d.errors, 0);
}

static void test_print_is_a_fixed_point(void **state)
{
    Fx *f = *state;
    AstNode *first = parse(f, sample);
    assert_non_null(first);
    char *printed = capture(print_top, first);
    AstNode *second = parse(f, printed);
    assert_non_null(second);
    char *again = capture(print_top, second);
    assert_string_equal(printed, again);
    char *d1 = capture(ast_dump, first), *d2 = capture(ast_dump, second);
    assert_string_equal(d1, d2);
    assert_string_equal(printed,
        "import \"std/blocks\"\n"
        "\n"
        "model deep(depth = 8, width = 64, act = sigmoid, init = fanin_uniform) {\n"
        "    input x[2]\n"
        "    h = x\n"
        "    for i in 1..depth {\n"
        "        layer fc[i] {\n"
        "            h = act(dense(h, width, init = init))\n"
        "        }\n"
        "    }\n"
        "    layer out {\n"
        "        y = dense(h, 2)\n"
        "    }\n"
        "    return y\n"
        "}\n"
        "\n"
        "settings base {\n"
        "    data      = spirals(points = 1024, classes = 2, noise = 0.1)\n"
        "    loss      = cross_entropy\n"
        "    optimizer = sgd(lr = 0.1)\n"
        "    batch     = 64\n"
        "    steps     = 500\n"
        "    seed      = 1\n"
        "    report    = 100\n"
        "}\n"
        "\n"
        "train saturating = deep(act = sigmoid)                with base\n"
        "train rectified  = deep(act = relu, init = he_normal) with base { steps = 300 }\n"
        "\n"
        "expect saturating.initial.fc[1].ratio < 0.001, \"sigmoid: the first layer's gradient is a thousandth of the output's\"\n"
        "expect rectified.initial.fc[1].ratio > 0.1\n"
        "expect rectified.final.loss < saturating.final.loss\n");
    free(printed);
    free(again);
    free(d1);
    free(d2);
}

static const char every_construct[] =
    "import \"std/blocks\"; let n = 3\n"
    "def block(x, units = 64, act = relu) {\n"
    "    layer l {\n"
    "        h = act(dense(x, units))\n"
    "    }\n"
    "    if residual {\n"
    "        h = h + x\n"
    "    } else if n > 2 {\n"
    "        h = 0.5 * h\n"
    "    } else {\n"
    "        h = -h\n"
    "    }\n"
    "    return h\n"
    "}\n"
    "model rnn_model(steps = 10,) {\n"
    "    input seq[steps, 4,]\n"
    "    h = last(lstm(seq, 32)); ;\n"
    "    for i in 1..n - 1 { layer fc[2 * i] { h = block(h) } }\n"
    "    return dense(h, 2,)\n"
    "}\n"
    "settings s { data = xor(points = 64); loss = bce; optimizer = adam() }\n"
    "train a = rnn_model()\n"
    "train b = rnn_model(steps = 5) { steps = 10; seed = 2 }\n"
    "expect a.final.loss <= b.final.loss and not a.diverged, \"a \\\"quoted\\\"\\\\n\"\n";

static void test_every_construct(void **state)
{
    Fx *f = *state;
    assert_dump(f, every_construct,
        "(program\n"
        "  (import \"std/blocks\")\n"
        "  (let n 3)\n"
        "  (def block (params (x) (units 64) (act relu))"
        " (layer l (assign h (call act (call dense x units))))"
        " (if residual (then (assign h (+ h x)))"
        " (else (if (> n 2) (then (assign h (* 0.5 h))) (else (assign h (- h))))))"
        " (return h))\n"
        "  (model rnn_model (params (steps 10)) (input seq steps 4)"
        " (assign h (call last (call lstm seq 32)))"
        " (for i 1 (- n 1) (layer fc [(* 2 i)] (assign h (call block h))))"
        " (return (call dense h 2)))\n"
        "  (settings s (= data (call xor (= points 64))) (= loss bce) (= optimizer (call adam)))\n"
        "  (train a (call rnn_model))\n"
        "  (train b (call rnn_model (= steps 5)) (= steps 10) (= seed 2))\n"
        "  (expect (and (<= (. (. a final) loss) (. (. b final) loss)) (not (. a diverged)))"
        " \"a \\\"quoted\\\"\\\\n\"))");
}

/* p prints as want, which parses back to the same tree. */
static void assert_prints(Fx *f, AstNode *p, const char *want)
{
    assert_non_null(p);
    char *printed = capture(print_top, p);
    assert_string_equal(printed, want);
    AstNode *again = parse(f, printed);
    char *d1 = capture(ast_dump, p), *d2 = capture(ast_dump, again);
    assert_string_equal(d1, d2);
    free(printed);
    free(d1);
    free(d2);
}

static void test_every_construct_prints_canonically(void **state)
{
    Fx *f = *state;
    assert_prints(f, parse(f, every_construct),
        "import \"std/blocks\"\n"
        "\n"
        "let n = 3\n"
        "\n"
        "def block(x, units = 64, act = relu) {\n"
        "    layer l {\n"
        "        h = act(dense(x, units))\n"
        "    }\n"
        "    if residual {\n"
        "        h = h + x\n"
        "    } else if n > 2 {\n"
        "        h = 0.5 * h\n"
        "    } else {\n"
        "        h = -h\n"
        "    }\n"
        "    return h\n"
        "}\n"
        "\n"
        "model rnn_model(steps = 10) {\n"
        "    input seq[steps, 4]\n"
        "    h = last(lstm(seq, 32))\n"
        "    for i in 1..n - 1 {\n"
        "        layer fc[2 * i] {\n"
        "            h = block(h)\n"
        "        }\n"
        "    }\n"
        "    return dense(h, 2)\n"
        "}\n"
        "\n"
        "settings s {\n"
        "    data      = xor(points = 64)\n"
        "    loss      = bce\n"
        "    optimizer = adam()\n"
        "}\n"
        "\n"
        "train a = rnn_model()\n"
        "\n"
        "train b = rnn_model(steps = 5) {\n"
        "    steps = 10\n"
        "    seed  = 2\n"
        "}\n"
        "\n"
        "expect a.final.loss <= b.final.loss and not a.diverged, \"a \\\"quoted\\\"\\\\n\"\n");
}

/* Run families: axes over a range and over a list (trailing comma
 * allowed), list literals, several indices and `*` in an index. */
static void test_families_and_lists(void **state)
{
    Fx *f = *state;
    static const char text[] =
        "train grid[d in [10, 20], w in 1..n + 1,] = m(depth = d) with base { seed = w }\n"
        "expect fraction(grid[*, 2].final.loss < [1, 2][0]) >= 0.5\n"
        "let e = []\n";
    assert_dump(f, text,
        "(program\n"
        "  (train grid (axes (in d (list 10 20)) (in w 1 (+ n 1))) (call m (= depth d))"
        " (with base) (= seed w))\n"
        "  (expect (>= (call fraction (< (. (. ([] grid * 2) final) loss) ([] (list 1 2) 0)))"
        " 0.5))\n"
        "  (let e (list)))");
    assert_prints(f, parse(f, text),
        "train grid[d in [10, 20], w in 1..n + 1] = m(depth = d) with base { seed = w }\n"
        "\n"
        "expect fraction(grid[*, 2].final.loss < [1, 2][0]) >= 0.5\n"
        "\n"
        "let e = []\n");
}

static void test_error_family_axis(void **state)
{
    Fx *f = *state;
    assert_dump(f, "train g[d] = m()\n",
        "t.vg:1:10: error: unexpected ']', expected 'in'\n"
        "    1 | train g[d] = m()\n"
        "      |          ^\n");
    diag_clear(&f->d);
    assert_dump(f, "let e = x[]\n",
        "t.vg:1:11: error: unexpected ']', expected an expression or '*'\n"
        "    1 | let e = x[]\n"
        "      |           ^\n");
}

/* An expression as `let e = ...`: its dump and its canonical form. */
static void assert_expr(Fx *f, const char *text, const char *dump, const char *canon)
{
    char src[256];
    snprintf(src, sizeof src, "let e = %s\n", text);
    AstNode *p = parse(f, src);
    if (!p) {
        char *d = diagnostics(f);
        fail_msg("%s does not parse:\n%s", text, d);
    }
    char *got = capture(ast_dump, p->list.head->a);
    if (strcmp(got, dump) != 0)
        fail_msg("%s: dump %s, want %s", text, got, dump);
    free(got);
    got = capture(print_top, p->list.head->a);
    if (strcmp(got, canon) != 0)
        fail_msg("%s: printed %s, want %s", text, got, canon);
    free(got);
}

static void test_precedence(void **state)
{
    Fx *f = *state;
    static const char *const cases[][3] = {
        { "-2^2", "(- (^ 2 2))", "-2 ^ 2" },
        { "2^-2", "(^ 2 (- 2))", "2 ^ -2" },
        { "2^3^2", "(^ 2 (^ 3 2))", "2 ^ 3 ^ 2" },
        { "(-2)^2", "(^ (- 2) 2)", "(-2) ^ 2" },
        { "(2^3)^2", "(^ (^ 2 3) 2)", "(2 ^ 3) ^ 2" },
        { "a + b * c", "(+ a (* b c))", "a + b * c" },
        { "(a + b) * c", "(* (+ a b) c)", "(a + b) * c" },
        { "a - b - c", "(- (- a b) c)", "a - b - c" },
        { "a - (b - c)", "(- a (- b c))", "a - (b - c)" },
        { "a / b * c", "(* (/ a b) c)", "a / b * c" },
        { "a * -b", "(* a (- b))", "a * -b" },
        { "- -x", "(- (- x))", "-(-x)" },
        { "-a.b(c)[d]", "(- ([] (call (. a b) c) d))", "-a.b(c)[d]" },
        { "f(x)(y).z", "(. (call (call f x) y) z)", "f(x)(y).z" },
        { "(a + b).c", "(. (+ a b) c)", "(a + b).c" },
        { "x[i + 1]", "([] x (+ i 1))", "x[i + 1]" },
        { "a + b < c * d", "(< (+ a b) (* c d))", "a + b < c * d" },
        { "a <= b", "(<= a b)", "a <= b" },
        { "a >= b", "(>= a b)", "a >= b" },
        { "a == b", "(== a b)", "a == b" },
        { "a != b", "(!= a b)", "a != b" },
        { "(a < b) == c", "(== (< a b) c)", "(a < b) == c" },
        { "not a < b", "(not (< a b))", "not a < b" },
        { "not (a and b)", "(not (and a b))", "not (a and b)" },
        { "not a and b or c", "(or (and (not a) b) c)", "not a and b or c" },
        { "a or b and c", "(or a (and b c))", "a or b and c" },
        { "(a or b) and c", "(and (or a b) c)", "(a or b) and c" },
        { "a < not b", "(< a (not b))", "a < (not b)" },
        { "not not a", "(not (not a))", "not not a" },
        { "true or false", "(or true false)", "true or false" },
        { "w(5) then c(10) then s(1, 0.5)", "(then (then (call w 5) (call c 10)) (call s 1 0.5))",
          "w(5) then c(10) then s(1, 0.5)" },
        { "w then (c then s)", "(then w (then c s))", "w then (c then s)" },
        { "a or b then c and d", "(then (or a b) (and c d))", "a or b then c and d" },
        { "a or (b then c)", "(or a (then b c))", "a or (b then c)" },
        { "\"s\\n\" + .5", "(+ \"s\\n\" 0.5)", "\"s\\n\" + 0.5" },
        { "1e-5 + 1e20 + 1024", "(+ (+ 1e-5 1e20) 1024)", "1e-5 + 1e20 + 1024" },
        { "f(1, k = 2, j = x)", "(call f 1 (= k 2) (= j x))", "f(1, k = 2, j = x)" },
        { "f()", "(call f)", "f()" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_expr(f, cases[i][0], cases[i][1], cases[i][2]);
}

static void test_spans(void **state)
{
    Fx *f = *state;
    AstNode *p = parse(f, "model m() {\n    h = a +\n        f(b)\n}\n");
    assert_non_null(p);
    const AstNode *assign = p->list.head->list2.head, *sum = assign->a;
    assert_int_equal(assign->span.file, 0);
    assert_int_equal(sum->span.first_line, 2);
    assert_int_equal(sum->span.first_column, 9);
    assert_int_equal(sum->span.last_line, 3);
    assert_int_equal(sum->span.last_column, 12);
    assert_int_equal(sum->b->span.first_column, 9);
}

/* ---- diagnostics ---- */

static void test_error_unexpected_brace(void **state)
{
    assert_errors(*state, "model m() {\n    h =\n    }\n",
        "t.vg:3:5: error: unexpected '}', expected an expression\n"
        "    3 |     }\n"
        "      |     ^\n");
}

static void test_error_missing_paren(void **state)
{
    assert_errors(*state, "model m() {\n    h = dense(x, 2\n    y = 3\n}\n",
        "t.vg:3:5: error: unexpected identifier \"y\", expected ')' or ','\n"
        "    3 |     y = 3\n"
        "      |     ^\n");
}

static void test_error_unterminated_string(void **state)
{
    assert_errors(*state, "let s = \"abc\nlet t = 1\n",
        "t.vg:1:9: error: unterminated string\n"
        "    1 | let s = \"abc\n"
        "      |         ^~~~\n"
        "note: strings end on the line they start; write \\n for a line break\n");
}

static void test_error_bad_escape(void **state)
{
    assert_errors(*state, "let s = \"a\\qb\"\n",
        "t.vg:1:11: error: unknown escape '\\q' in string\n"
        "    1 | let s = \"a\\qb\"\n"
        "      |           ^~\n"
        "note: a string may contain \\\", \\\\ and \\n\n");
}

static void test_error_stray_character(void **state)
{
    assert_errors(*state, "let x = 3 @ 4\nlet y = 2\n",
        "t.vg:1:11: error: unexpected character '@'\n"
        "    1 | let x = 3 @ 4\n"
        "      |           ^\n");
    assert_errors(*state, "let x = a && b\n",
        "t.vg:1:11: error: unexpected characters '&&'\n"
        "    1 | let x = a && b\n"
        "      |           ^~\n"
        "note: use 'and'\n");
}

static void test_error_positional_after_keyword(void **state)
{
    assert_errors(*state, "model m() {\n    h = dense(h, units = 2, init)\n}\n",
        "t.vg:2:29: error: positional argument after keyword argument 'units'\n"
        "    2 |     h = dense(h, units = 2, init)\n"
        "      |                             ^~~~\n"
        "note: positional arguments come first: f(x, 2, name = value)\n");
}

static void test_error_statement_at_top_level(void **state)
{
    assert_errors(*state, "input x[2]\n",
        "t.vg:1:1: error: unexpected 'input', expected an item or end of file\n"
        "    1 | input x[2]\n"
        "      | ^~~~~\n"
        "note: statements such as 'input' belong inside a 'model' or 'def' body\n");
    assert_errors(*state, "h = x\n",
        "t.vg:1:1: error: unexpected identifier \"h\", expected an item or end of file\n"
        "    1 | h = x\n"
        "      | ^\n"
        "note: statements belong inside a 'model' or 'def' body; "
        "a file-level constant is written 'let NAME = expr'\n");
}

static void test_error_item_inside_model(void **state)
{
    assert_errors(*state, "model m() {\n    input x[2]\n    let y = 2\n}\n",
        "t.vg:3:5: error: unexpected 'let', expected a statement or '}'\n"
        "    3 |     let y = 2\n"
        "      |     ^~~\n"
        "note: items such as 'let' belong at the top level, outside 'model' and 'def' bodies\n");
}

static void test_error_for_without_in(void **state)
{
    /* The loop's body is still checked: the second error is found. */
    assert_errors(*state,
        "model m() {\n    for i 1..3 {\n        h = x\n    }\n    return h +\n}\n",
        "t.vg:2:11: error: unexpected number \"1\", expected 'in'\n"
        "    2 |     for i 1..3 {\n"
        "      |           ^\n"
        "t.vg:6:1: error: unexpected '}', expected an expression\n"
        "    6 | }\n"
        "      | ^\n");
}

static void test_error_eof_inside_block(void **state)
{
    assert_errors(*state, "model m() {\n    layer l {\n        h = x\n    }\n",
        "t.vg:4:6: error: unexpected end of file, expected a statement or '}'\n"
        "    4 |     }\n"
        "      |      ^\n"
        "note: the '{' at 1:11 is not closed\n");
}

static void test_error_chained_comparison(void **state)
{
    assert_errors(*state, "expect 1 < 2 < 3\n",
        "t.vg:1:14: error: unexpected '<', expected an item, end of file or ','\n"
        "    1 | expect 1 < 2 < 3\n"
        "      |              ^\n"
        "note: comparisons do not chain: write 'a < b and b < c'\n");
}

static void test_error_misc(void **state)
{
    assert_errors(*state, "model (x) {\n    return x\n}\n",
        "t.vg:1:7: error: unexpected '(', expected identifier\n"
        "    1 | model (x) {\n"
        "      |       ^\n");
    assert_errors(*state, "model m() {\n    input x[]\n}\n",
        "t.vg:2:13: error: unexpected ']', expected an expression\n"
        "    2 |     input x[]\n"
        "      |             ^\n");
    assert_errors(*state, "model m() {\n    if x { h = 1 } else h = 2\n}\n",
        "t.vg:2:25: error: unexpected identifier \"h\", expected 'if' or '{'\n"
        "    2 |     if x { h = 1 } else h = 2\n"
        "      |                         ^\n");
    assert_errors(*state, "train r = m(\nexpect a\n",
        "t.vg:2:1: error: unexpected 'expect', expected an expression or ')'\n"
        "    2 | expect a\n"
        "      | ^~~~~~\n");
    assert_errors(*state, "let a = f(,)\n",
        "t.vg:1:11: error: unexpected ',', expected an expression or ')'\n"
        "    1 | let a = f(,)\n"
        "      |           ^\n");
}

static void test_recovery_reports_every_error(void **state)
{
    Fx *f = *state;
    /* One error per item, per statement and per block header; no cascade
     * from the missing '}' before the second model. */
    assert_null(parse(f,
        "let a = )\n"
        "model m(x) {\n"
        "    h = dense(x,, 2)\n"
        "    layer l[ { y = 1 }\n"
        "    return h\n"
        "model n() {\n"
        "    return 1\n"
        "}\n"
        "settings s { steps = * ; seed = 1 }\n"
        "let ok = 1\n"));
    assert_int_equal(f->d.errors, 5);
    static const int lines[] = { 1, 3, 4, 6, 9 };
    for (int i = 0; i < 5; i++)
        assert_int_equal(f->d.items[i].span.first_line, lines[i]);
}

static void test_at_most_twenty_errors(void **state)
{
    Fx *f = *state;
    char text[1024] = "";
    for (int i = 0; i < 25; i++) {
        char line[32];
        snprintf(line, sizeof line, "let a%d = )\n", i);
        strcat(text, line);
    }
    assert_null(parse(f, text));
    assert_int_equal(f->d.errors, PARSE_MAX_ERRORS);
    assert_int_equal(f->d.n, 20);
    assert_int_equal(f->d.items[19].span.first_line, 20);
    assert_string_equal(f->d.items[19].note, "too many errors, stopping here");
}

static void test_garbage_does_not_crash(void **state)
{
    Fx *f = *state;
    char text[4096];
    unsigned x = 12345;
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof text - 1; i++) {
            x = x * 1103515245u + 12345u;
            /* Mostly the language's own characters, so the parser gets deep. */
            static const char alphabet[] = "model (){}[]=,.+-*^<>\"\\\n#a1 for in if layer input";
            text[i] = (x >> 16) % 8 == 0 ? (char)(x >> 8)
                                         : alphabet[(x >> 16) % (sizeof alphabet - 1)];
        }
        text[sizeof text - 1] = '\0';
        diag_clear(&f->d);
        int id = source_add(&f->ss, "g.vg", text, sizeof text - 1);
        assert_null(parse_file(&f->a, &f->d, id));
        assert_true(f->d.errors >= 1 && f->d.errors <= PARSE_MAX_ERRORS);
    }
}

static void test_deep_nesting(void **state)
{
    Fx *f = *state;
    enum { DEPTH = 20000 };
    char *text = malloc(2 * DEPTH + 16);
    strcpy(text, "let a = ");
    memset(text + 8, '(', DEPTH);
    strcpy(text + 8 + DEPTH, "1");
    assert_null(parse(f, text));
    assert_true(f->d.errors >= 1);
    free(text);
}

/* ---- REPL entries ---- */

static ParseStatus entry(Fx *f, const char *text, char **dump)
{
    int id = source_add(&f->ss, "<repl>", text, strlen(text));
    AstNode *n;
    ParseStatus st = parse_entry(&f->a, &f->d, id, &n);
    *dump = st == PARSE_OK && n ? capture(ast_dump, n) : NULL;
    return st;
}

static void assert_entry(Fx *f, const char *text, ParseStatus want, const char *dump)
{
    char *got;
    diag_clear(&f->d);
    ParseStatus st = entry(f, text, &got);
    if (st != want)
        fail_msg("\"%s\": status %d, want %d", text, st, want);
    if (dump)
        assert_string_equal(got, dump);
    else
        assert_null(got);
    free(got);
}

static void test_repl_entries(void **state)
{
    Fx *f = *state;
    assert_entry(f, "x = 1", PARSE_OK, "(assign x 1)");
    assert_entry(f, "1 + 2 * 3", PARSE_OK, "(expr (+ 1 (* 2 3)))");
    assert_entry(f, "let a = 2;", PARSE_OK, "(let a 2)");
    assert_entry(f, "rectified.final.loss  # a comment", PARSE_OK,
                 "(expr (. (. rectified final) loss))");
    assert_entry(f, "train r = m() with s", PARSE_OK, "(train r (call m) (with s))");
    assert_entry(f, "input x[2]", PARSE_OK, "(input x 2)");
    assert_entry(f, "  # only a comment", PARSE_OK, NULL);
    assert_entry(f, "", PARSE_OK, NULL);
    assert_int_equal(f->d.errors, 0);
}

static void test_repl_needs_more(void **state)
{
    Fx *f = *state;
    assert_entry(f, "model m() {\n    h = x", PARSE_MORE, NULL);
    assert_entry(f, "dense(x, ", PARSE_MORE, NULL);
    assert_entry(f, "x = 1 +", PARSE_MORE, NULL);
    assert_entry(f, "h[1", PARSE_MORE, NULL);
    assert_entry(f, "expect", PARSE_MORE, NULL);
    assert_int_equal(f->d.errors, 0);
    assert_int_equal(f->d.n, 0);
}

static void test_repl_errors(void **state)
{
    Fx *f = *state;
    assert_entry(f, "x = )", PARSE_ERROR, NULL);
    assert_int_equal(f->d.errors, 1);
    assert_string_equal(f->d.items[0].msg, "unexpected ')', expected an expression");
    assert_entry(f, "a b", PARSE_ERROR, NULL);
    assert_entry(f, "\"abc", PARSE_ERROR, NULL);
    assert_string_equal(f->d.items[0].msg, "unterminated string at end of file");
    assert_entry(f, "f(x = 1, 2)", PARSE_ERROR, NULL);
    assert_string_equal(f->d.items[0].msg, "positional argument after keyword argument 'x'");
    /* An error already made does not turn into "more" at the end. */
    assert_entry(f, "x = ) + (", PARSE_ERROR, NULL);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_sample_program),
        T(test_print_is_a_fixed_point),
        T(test_every_construct),
        T(test_every_construct_prints_canonically),
        T(test_precedence),
    T(test_families_and_lists),
    T(test_error_family_axis),
        T(test_spans),
        T(test_error_unexpected_brace),
        T(test_error_missing_paren),
        T(test_error_unterminated_string),
        T(test_error_bad_escape),
        T(test_error_stray_character),
        T(test_error_positional_after_keyword),
        T(test_error_statement_at_top_level),
        T(test_error_item_inside_model),
        T(test_error_for_without_in),
        T(test_error_eof_inside_block),
        T(test_error_chained_comparison),
        T(test_error_misc),
        T(test_recovery_reports_every_error),
        T(test_at_most_twenty_errors),
        T(test_garbage_does_not_crash),
        T(test_deep_nesting),
        T(test_repl_entries),
        T(test_repl_needs_more),
        T(test_repl_errors),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
