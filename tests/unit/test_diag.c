/* test_diag.c — sources, the diagnostic sink, rendering and suggestions.
 * Rendered text is compared whole: it is what users read. */
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vg/diag.h"

typedef struct Fx {
    SourceSet ss;
    DiagSink d;
} Fx;

static int setup(void **state)
{
    Fx *f = calloc(1, sizeof *f);
    diag_init(&f->d, &f->ss);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fx *f = *state;
    diag_free(&f->d);
    source_set_free(&f->ss);
    free(f);
    return 0;
}

static int add(Fx *f, const char *text)
{
    return source_add(&f->ss, "t.vg", text, strlen(text));
}

/* Everything in the sink as the CLI prints it; the caller frees. */
static char *render(const Fx *f, bool color)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    diag_render_all(out, &f->d, color);
    fclose(out);
    return buf;
}

static Span at(int file, int line, int col, int last_col)
{
    return (Span){ file, line, col, line, last_col };
}

static void test_render_gnu_style(void **state)
{
    Fx *f = *state;
    int id = add(f, "model m() {\n    h =\n    }\n");
    assert_false(diag_error(&f->d, at(id, 3, 5, 5), "unexpected '%c', expected an expression", '}'));
    char *s = render(f, false);
    assert_string_equal(s,
        "t.vg:3:5: error: unexpected '}', expected an expression\n"
        "    3 |     }\n"
        "      |     ^\n");
    free(s);
    assert_int_equal(f->d.errors, 1);
}

static void test_render_span_underlined(void **state)
{
    Fx *f = *state;
    int id = add(f, "let x = sigmiod(2)\n");
    diag_error(&f->d, at(id, 1, 9, 15), "unknown name 'sigmiod'");
    diag_note(&f->d, "did you mean '%s'?", "sigmoid");
    char *s = render(f, false);
    assert_string_equal(s,
        "t.vg:1:9: error: unknown name 'sigmiod'\n"
        "    1 | let x = sigmiod(2)\n"
        "      |         ^~~~~~~\n"
        "note: did you mean 'sigmoid'?\n");
    free(s);
}

static void test_render_keeps_tabs_aligned(void **state)
{
    Fx *f = *state;
    int id = add(f, "model m() {\n\th = @\n}\n");
    diag_error(&f->d, at(id, 2, 6, 6), "unexpected character '@'");
    char *s = render(f, false);
    assert_string_equal(s,
        "t.vg:2:6: error: unexpected character '@'\n"
        "    2 | \th = @\n"
        "      | \t    ^\n");
    free(s);
}

static void test_render_multiline_span_and_line_end(void **state)
{
    Fx *f = *state;
    int id = add(f, "abc\ndef");
    diag_error(&f->d, (Span){ id, 1, 2, 2, 1 }, "spans lines");
    diag_error(&f->d, at(id, 2, 4, 3), "after the end");
    char *s = render(f, false);
    assert_string_equal(s,
        "t.vg:1:2: error: spans lines\n"
        "    1 | abc\n"
        "      |  ^~\n"
        "t.vg:2:4: error: after the end\n"
        "    2 | def\n"
        "      |    ^\n");
    free(s);
}

static void test_render_utf8_and_control_bytes(void **state)
{
    Fx *f = *state;
    int id = source_add(&f->ss, "u.vg", "\"\xc3\xa9\" \x01 x\r\n", 10);
    diag_error(&f->d, at(id, 1, 8, 8), "bad");
    char *s = render(f, false);
    assert_string_equal(s,
        "u.vg:1:8: error: bad\n"
        "    1 | \"\xc3\xa9\" ? x\n"
        "      |       ^\n");
    free(s);
}

static void test_render_without_location(void **state)
{
    Fx *f = *state;
    diag_error(&f->d, SPAN_NONE, "no such file '%s'", "x.vg");
    diag_warning(&f->d, SPAN_NONE, "just a warning");
    char *s = render(f, false);
    assert_string_equal(s, "vg: error: no such file 'x.vg'\nvg: warning: just a warning\n");
    free(s);
    assert_int_equal(f->d.errors, 1);
    assert_int_equal(f->d.n, 2);
}

static void test_duplicates_are_dropped(void **state)
{
    Fx *f = *state;
    int id = add(f, "x = 1\n");
    diag_error(&f->d, at(id, 1, 1, 1), "twice");
    diag_note(&f->d, "kept");
    diag_error(&f->d, at(id, 1, 1, 1), "twice");
    diag_note(&f->d, "dropped with its copy");
    diag_error(&f->d, at(id, 1, 5, 5), "twice");
    assert_int_equal(f->d.n, 2);
    assert_string_equal(f->d.items[0].note, "kept");
    assert_null(f->d.items[1].note);
}

static void test_render_color_only_when_asked(void **state)
{
    Fx *f = *state;
    int id = add(f, "x\n");
    diag_error(&f->d, at(id, 1, 1, 1), "oops");
    char *plain = render(f, false), *color = render(f, true);
    assert_null(strchr(plain, '\033'));
    assert_non_null(strstr(color, "\033[1;31merror:\033[0m oops"));
    free(plain);
    free(color);
}

static void test_two_notes(void **state)
{
    Fx *f = *state;
    diag_error(&f->d, SPAN_NONE, "first");
    diag_note(&f->d, "one");
    diag_note(&f->d, "two");
    char *s = render(f, false);
    assert_string_equal(s, "vg: error: first\nnote: one\nnote: two\n");
    free(s);
}

/* A note with a place of its own is rendered as a diagnostic of its own,
 * and is dropped with an error that was dropped. */
static void test_note_at(void **state)
{
    Fx *f = *state;
    int id = add(f, "m(w = \"16\")\nh = dense(x, w)\n");
    diag_error(&f->d, at(id, 1, 7, 10), "bad");
    diag_note_at(&f->d, at(id, 2, 14, 14), "'%s' is used here", "w");
    diag_error(&f->d, at(id, 1, 7, 10), "bad");
    diag_note_at(&f->d, at(id, 2, 14, 14), "dropped with its copy");
    char *s = render(f, false);
    assert_string_equal(s,
        "t.vg:1:7: error: bad\n"
        "    1 | m(w = \"16\")\n"
        "      |       ^~~~\n"
        "t.vg:2:14: note: 'w' is used here\n"
        "    2 | h = dense(x, w)\n"
        "      |              ^\n");
    free(s);
    assert_int_equal(f->d.errors, 2);
}

static void test_max_errors_counts_but_drops(void **state)
{
    Fx *f = *state;
    f->d.max_errors = 2;
    for (int i = 0; i < 4; i++) {
        diag_error(&f->d, SPAN_NONE, "error %d", i);
        diag_note(&f->d, "note %d", i);
    }
    assert_int_equal(f->d.errors, 4);
    assert_int_equal(f->d.n, 2);
    assert_string_equal(f->d.items[1].note, "note 1");
    diag_clear(&f->d);
    assert_int_equal(f->d.errors, 0);
    assert_int_equal(f->d.n, 0);
}

static void test_source_load(void **state)
{
    Fx *f = *state;
    char path[] = "/tmp/vg-test-diag-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "let a = 1\n", 10), 10);
    close(fd);
    int id = source_load(&f->ss, path);
    unlink(path);
    assert_int_equal(id, 0);
    assert_int_equal(f->ss.files[id].len, 10);
    assert_string_equal(f->ss.files[id].text, "let a = 1\n");
    assert_string_equal(f->ss.files[id].path, path);

    errno = 0;
    assert_int_equal(source_load(&f->ss, "/nonexistent/dir/x.vg"), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(f->ss.n, 1);
}

static void test_source_add_keeps_nuls(void **state)
{
    Fx *f = *state;
    int id = source_add(&f->ss, "n.vg", "a\0b", 3);
    assert_int_equal(f->ss.files[id].len, 3);
    assert_memory_equal(f->ss.files[id].text, "a\0b", 4);
}

static void test_span_join(void **state)
{
    (void)state;
    Span s = span_join((Span){ 2, 1, 5, 1, 7 }, (Span){ 2, 3, 1, 3, 9 });
    assert_int_equal(s.file, 2);
    assert_int_equal(s.first_line, 1);
    assert_int_equal(s.first_column, 5);
    assert_int_equal(s.last_line, 3);
    assert_int_equal(s.last_column, 9);
}

/* Numbers in messages: whole numbers in full, so that one past a limit
 * does not read as the limit; the rest as %g; NaN one way everywhere. */
static void test_num(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {2147483648.0, "2147483648"}, {10000001, "10000001"}, {-3, "-3"}, {0, "0"},
        {1.5, "1.5"}, {1e-5, "1e-05"}, {0.1, "0.1"}, {1e20, "1e+20"}, {NAN, "NaN"},
        {-INFINITY, "-inf"},
    };
    char buf[DIAG_NUM_LEN];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_string_equal(diag_num(cases[i].v, buf, sizeof buf), cases[i].text);
    assert_string_equal(DIAG_NUM(1e12), "1000000000000");
}

static void test_suggest(void **state)
{
    (void)state;
    const char *const acts[] = { "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu" };
    int n = (int)(sizeof acts / sizeof acts[0]);
    assert_string_equal(diag_suggest("sigmiod", acts, n), "sigmoid");  /* transposition */
    assert_string_equal(diag_suggest("sigmod", acts, n), "sigmoid");
    assert_string_equal(diag_suggest("tnah", acts, n), "tanh");
    assert_string_equal(diag_suggest("leaky_rel", acts, n), "leaky_relu");
    assert_null(diag_suggest("softmax", acts, n));  /* nothing close */
    assert_null(diag_suggest("elux", acts, 0));
    /* "celu" is one edit from elu, selu and gelu: no unique best. */
    assert_null(diag_suggest("celu", acts, n));
    /* At most (|name| + |candidate| + 3) / 6 edits: one for short names,
     * none for one letter changed whole. */
    const char *const opt[] = { "sgd", "adam" };
    assert_string_equal(diag_suggest("sdg", opt, 2), "sgd");
    assert_null(diag_suggest("xyz", opt, 2));
    const char *const one[] = { "a", "m" };
    assert_null(diag_suggest("b", one, 2));
    assert_string_equal(diag_suggest("mm", one, 2), "m");
    const char *const two[] = { "lr" };
    assert_string_equal(diag_suggest("l", two, 1), "lr");
    assert_null(diag_suggest("xy", two, 1));
    /* Equally close: the one sharing the longer start wins. */
    const char *const params[] = { "x", "units", "init", "bias" };
    assert_string_equal(diag_suggest("unit", params, 4), "units");
    const char *const dup[] = { "relu", "relu" };
    assert_string_equal(diag_suggest("rel", dup, 2), "relu");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_render_gnu_style, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_span_underlined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_keeps_tabs_aligned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_multiline_span_and_line_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_utf8_and_control_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_without_location, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_color_only_when_asked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_are_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_notes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_note_at, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_errors_counts_but_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_add_keeps_nuls, setup, teardown),
        cmocka_unit_test(test_span_join),
        cmocka_unit_test(test_suggest),
        cmocka_unit_test(test_num),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
