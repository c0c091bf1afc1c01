/* test_lexer.c — token kinds, values and exact line:column positions, and
 * the lexer's own error messages (one per bad token, with its position). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vg/parse.h"

typedef struct Fx {
    SourceSet ss;
    DiagSink d;
    Arena a;
    Token *toks;
    int n;
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
    free(f->toks);
    diag_free(&f->d);
    arena_free(&f->a);
    source_set_free(&f->ss);
    free(f);
    return 0;
}

static void lex_len(Fx *f, const char *text, size_t len)
{
    int id = source_add(&f->ss, "t.vg", text, len);
    free(f->toks);
    f->toks = lex_all(&f->a, &f->d, id, &f->n);
}

static void lex(Fx *f, const char *text)
{
    lex_len(f, text, strlen(text));
}

static char *render(const Fx *f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    diag_render_all(out, &f->d, false);
    fclose(out);
    return buf;
}

static void assert_diags(const Fx *f, const char *want)
{
    char *got = render(f);
    assert_string_equal(got, want);
    free(got);
}

static void assert_kinds(const Fx *f, const int *kinds, int n)
{
    assert_int_equal(f->n, n);
    for (int i = 0; i < n; i++) {
        if (f->toks[i].kind != kinds[i])
            fail_msg("token %d: got %s, want %s", i, lex_token_name(f->toks[i].kind),
                     lex_token_name(kinds[i]));
    }
}

static void assert_at(const Token *t, int line, int col, int last_col)
{
    if (t->span.first_line != line || t->span.first_column != col ||
        t->span.last_line != line || t->span.last_column != last_col)
        fail_msg("%s at %d:%d-%d:%d, want %d:%d-%d:%d", lex_token_name(t->kind),
                 t->span.first_line, t->span.first_column, t->span.last_line,
                 t->span.last_column, line, col, line, last_col);
}

static void test_keywords(void **state)
{
    Fx *f = *state;
    lex(f, "import model def settings train with input layer for in if else return "
           "expect let true false and or not then");
    static const int want[] = {
        T_IMPORT, T_MODEL, T_DEF, T_SETTINGS, T_TRAIN, T_WITH, T_INPUT, T_LAYER,
        T_FOR, T_IN, T_IF, T_ELSE, T_RETURN, T_EXPECT, T_LET, T_TRUE, T_FALSE,
        T_AND, T_OR, T_NOT, T_THEN, T_EOF,
    };
    assert_kinds(f, want, (int)(sizeof want / sizeof want[0]));
    assert_int_equal(lex_keyword_count, 21);
    for (int i = 0; i < lex_keyword_count; i++) {
        char quoted[32];
        snprintf(quoted, sizeof quoted, "'%s'", lex_keywords[i]);
        assert_string_equal(lex_token_name(f->toks[i].kind), quoted);
    }
    assert_int_equal(f->d.errors, 0);
}

static void test_identifiers_are_not_keywords(void **state)
{
    Fx *f = *state;
    lex(f, "models in_ _x iff Layer2 notable thence");
    static const char *const names[] = { "models", "in_", "_x", "iff", "Layer2", "notable",
                                         "thence" };
    assert_int_equal(f->n, 8);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(f->toks[i].kind, T_IDENT);
        assert_string_equal(f->toks[i].text, names[i]);
    }
    assert_string_equal(lex_token_name(T_IDENT), "identifier");
    assert_string_equal(lex_token_name(T_EOF), "end of file");
}

static void test_punctuation(void **state)
{
    Fx *f = *state;
    lex(f, "( ) { } [ ] , ; . .. = + - * / ^ < <= > >= == !=");
    static const int want[] = {
        T_LPAREN, T_RPAREN, T_LBRACE, T_RBRACE, T_LBRACKET, T_RBRACKET, T_COMMA,
        T_SEMI, T_DOT, T_DOTDOT, T_ASSIGN, T_PLUS, T_MINUS, T_STAR, T_SLASH, T_CARET,
        T_LT, T_LE, T_GT, T_GE, T_EQ, T_NE, T_EOF,
    };
    assert_kinds(f, want, (int)(sizeof want / sizeof want[0]));
    assert_string_equal(lex_token_name(T_DOTDOT), "'..'");
    assert_string_equal(lex_token_name(T_NE), "'!='");
}

static void test_numbers(void **state)
{
    Fx *f = *state;
    lex(f, "12 0.5 1e-3 .5 2.5E+2 007");
    static const double want[] = { 12, 0.5, 1e-3, 0.5, 250, 7 };
    assert_int_equal(f->n, 7);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(f->toks[i].kind, T_NUMBER);
        assert_true(f->toks[i].num == want[i]);
    }
    assert_at(&f->toks[2], 1, 8, 11);
    assert_at(&f->toks[3], 1, 13, 14);
}

static void test_ranges_and_members(void **state)
{
    Fx *f = *state;
    /* "1..3" is 1 .. 3, never 1. .3; a dot after a name is a member. */
    lex(f, "1..3 a..b fc[1].ratio x.y 1e");
    static const int want[] = {
        T_NUMBER, T_DOTDOT, T_NUMBER, T_IDENT, T_DOTDOT, T_IDENT,
        T_IDENT, T_LBRACKET, T_NUMBER, T_RBRACKET, T_DOT, T_IDENT,
        T_IDENT, T_DOT, T_IDENT, T_NUMBER, T_IDENT, T_EOF,
    };
    assert_kinds(f, want, (int)(sizeof want / sizeof want[0]));
    assert_true(f->toks[0].num == 1 && f->toks[2].num == 3);
    assert_at(&f->toks[1], 1, 2, 3);
    assert_string_equal(f->toks[16].text, "e");
}

static void test_positions_comments_and_tabs(void **state)
{
    Fx *f = *state;
    lex(f, "# header comment\n"
           "model m( # trailing\n"
           "\tx = 1.5;\n"
           "\n"
           "   ) \"s\"  # end\n");
    static const int want[] = {
        T_MODEL, T_IDENT, T_LPAREN, T_IDENT, T_ASSIGN, T_NUMBER, T_SEMI,
        T_RPAREN, T_STRING, T_EOF,
    };
    assert_kinds(f, want, (int)(sizeof want / sizeof want[0]));
    assert_at(&f->toks[0], 2, 1, 5);
    assert_at(&f->toks[1], 2, 7, 7);
    assert_at(&f->toks[2], 2, 8, 8);
    assert_at(&f->toks[3], 3, 2, 2);  /* a tab is one column */
    assert_at(&f->toks[4], 3, 4, 4);
    assert_at(&f->toks[5], 3, 6, 8);
    assert_at(&f->toks[6], 3, 9, 9);
    assert_at(&f->toks[7], 5, 4, 4);
    assert_at(&f->toks[8], 5, 6, 8);
    /* End of file after a final newline is the end of the last line. */
    assert_at(&f->toks[9], 5, 16, 15);
    assert_int_equal(f->toks[0].span.file, 0);
}

static void test_eof_positions(void **state)
{
    Fx *f = *state;
    lex(f, "");
    assert_at(&f->toks[0], 1, 1, 0);
    lex(f, "ab");
    assert_at(&f->toks[1], 1, 3, 2);
    lex(f, "ab\r\n");
    assert_at(&f->toks[1], 1, 3, 2);
    lex(f, "a\n\n");
    assert_at(&f->toks[1], 2, 1, 0);
}

static void test_string_escapes(void **state)
{
    Fx *f = *state;
    lex(f, "\"a\\\"b\\\\c\\nd\" \"\" \"caf\xc3\xa9 \ttab\"");
    assert_int_equal(f->n, 4);
    assert_int_equal(f->toks[0].kind, T_STRING);
    assert_string_equal(f->toks[0].text, "a\"b\\c\nd");
    assert_at(&f->toks[0], 1, 1, 12);
    assert_string_equal(f->toks[1].text, "");
    assert_string_equal(f->toks[2].text, "caf\xc3\xa9 \ttab");
    assert_int_equal(f->d.errors, 0);
}

static void test_unterminated_string_at_newline(void **state)
{
    Fx *f = *state;
    lex(f, "let s = \"abc\nx \"ok\"\n");
    static const int want[] = {
        T_LET, T_IDENT, T_ASSIGN, T_ERROR, T_IDENT, T_STRING, T_EOF,
    };
    assert_kinds(f, want, (int)(sizeof want / sizeof want[0]));
    assert_at(&f->toks[3], 1, 9, 12);
    assert_at(&f->toks[4], 2, 1, 1);  /* lines still count after the error */
    assert_at(&f->toks[5], 2, 3, 6);
    assert_diags(f,
        "t.vg:1:9: error: unterminated string\n"
        "    1 | let s = \"abc\n"
        "      |         ^~~~\n"
        "note: strings end on the line they start; write \\n for a line break\n");
}

static void test_unterminated_string_at_eof(void **state)
{
    Fx *f = *state;
    lex(f, "x\n  \"abc");
    static const int want[] = { T_IDENT, T_ERROR, T_EOF };
    assert_kinds(f, want, 3);
    assert_diags(f,
        "t.vg:2:3: error: unterminated string at end of file\n"
        "    2 |   \"abc\n"
        "      |   ^~~~\n");
}

static void test_bad_escape(void **state)
{
    Fx *f = *state;
    lex(f, "a = \"x\\qy\\t\" b");
    static const int want[] = { T_IDENT, T_ASSIGN, T_ERROR, T_IDENT, T_EOF };
    assert_kinds(f, want, 5);
    assert_at(&f->toks[2], 1, 5, 12);
    assert_int_equal(f->d.errors, 1);  /* one message per bad string */
    assert_diags(f,
        "t.vg:1:7: error: unknown escape '\\q' in string\n"
        "    1 | a = \"x\\qy\\t\" b\n"
        "      |       ^~\n"
        "note: a string may contain \\\", \\\\ and \\n\n");
}

static void test_stray_characters(void **state)
{
    Fx *f = *state;
    lex_len(f, "a @ b\n\x00 c \xff\n\xe2\x88\x9a d !", 19);
    static const int want[] = {
        T_IDENT, T_ERROR, T_IDENT, T_ERROR, T_IDENT, T_ERROR, T_ERROR, T_IDENT,
        T_ERROR, T_EOF,
    };
    assert_kinds(f, want, (int)(sizeof want / sizeof want[0]));
    assert_at(&f->toks[3], 2, 1, 1);
    assert_at(&f->toks[5], 2, 5, 5);
    assert_at(&f->toks[6], 3, 1, 3);  /* one error for one UTF-8 character */
    assert_at(&f->toks[7], 3, 5, 5);
    assert_diags(f,
        "t.vg:1:3: error: unexpected character '@'\n"
        "    1 | a @ b\n"
        "      |   ^\n"
        "t.vg:2:1: error: unexpected character 0x00\n"
        "    2 | ? c \xff\n"
        "      | ^\n"
        "t.vg:2:5: error: unexpected character 0xff\n"
        "    2 | ? c \xff\n"
        "      |     ^\n"
        "t.vg:3:1: error: unexpected character '\xe2\x88\x9a'\n"
        "    3 | \xe2\x88\x9a d !\n"
        "      | ^\n"
        "t.vg:3:7: error: unexpected character '!'\n"
        "    3 | \xe2\x88\x9a d !\n"
        "      |     ^\n"
        "note: use 'not' for negation and '!=' for inequality\n");
}

static void test_nul_in_string_and_comment(void **state)
{
    Fx *f = *state;
    lex_len(f, "# a\x00 comment\n\"a\x00" "b\" x", 20);
    static const int want[] = { T_ERROR, T_IDENT, T_EOF };
    assert_kinds(f, want, 3);
    assert_int_equal(f->d.errors, 1);
    assert_string_equal(f->d.items[0].msg, "NUL byte in string");
    assert_int_equal(f->d.items[0].span.first_line, 2);
    assert_int_equal(f->d.items[0].span.first_column, 3);
}

static void test_number_out_of_range(void **state)
{
    Fx *f = *state;
    lex(f, "x = 1e999 1e-999");
    static const int want[] = { T_IDENT, T_ASSIGN, T_ERROR, T_NUMBER, T_EOF };
    assert_kinds(f, want, 5);
    assert_string_equal(f->d.items[0].msg, "number out of range");
    assert_true(f->toks[3].num == 0);
}

static void test_errors_then_positions_on_later_lines(void **state)
{
    Fx *f = *state;
    lex(f, "\"a\\z\"\n\"b\n\t\"c\" $\n  d");
    static const int want[] = { T_ERROR, T_ERROR, T_STRING, T_ERROR, T_IDENT, T_EOF };
    assert_kinds(f, want, 6);
    assert_at(&f->toks[1], 2, 1, 2);
    assert_at(&f->toks[2], 3, 2, 4);
    assert_at(&f->toks[3], 3, 6, 6);
    assert_at(&f->toks[4], 4, 3, 3);
    assert_int_equal(f->d.errors, 3);
    assert_string_equal(f->d.items[2].msg, "unexpected character '$'");
}

static void test_incremental_lexer_tracks_brackets(void **state)
{
    Fx *f = *state;
    int id = source_add(&f->ss, "t.vg", "f(a[1], {", 9);
    Lexer lx;
    Token t;
    lex_init(&lx, &f->a, &f->d, id);
    while (lex_next(&lx, &t) != T_EOF)
        ;
    assert_int_equal(lx.depth, 2);
    assert_int_equal(lx.open_char[1], '{');
    assert_int_equal(lx.open[1].first_column, 9);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_keywords),
        T(test_identifiers_are_not_keywords),
        T(test_punctuation),
        T(test_numbers),
        T(test_ranges_and_members),
        T(test_positions_comments_and_tabs),
        T(test_eof_positions),
        T(test_string_escapes),
        T(test_unterminated_string_at_newline),
        T(test_unterminated_string_at_eof),
        T(test_bad_escape),
        T(test_stray_characters),
        T(test_nul_in_string_and_comment),
        T(test_number_out_of_range),
        T(test_errors_then_positions_on_later_lines),
        T(test_incremental_lexer_tracks_brackets),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
