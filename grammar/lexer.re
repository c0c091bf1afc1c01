/* lexer.re — the .vg lexer (re2c 3.0; generated into build/gen/lexer.c).
 *
 * The source is NUL-terminated and its exact length is known, so re2c runs
 * without refilling and checks the limit only when it reads a NUL: NUL bytes
 * inside the text are ordinary (stray) characters. All state lives in a
 * Lexer. The lexer reports its own errors, once per bad token, and hands the
 * parser T_ERROR so that no second "unexpected" message follows. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vg/parse.h"

/*!re2c
    re2c:define:YYCTYPE = "unsigned char";
    re2c:define:YYCURSOR = "lx->cur";
    re2c:define:YYLIMIT = "lx->lim";
    re2c:define:YYMARKER = "marker";
    re2c:yyfill:enable = 0;
    re2c:eof = 0;

    digits = [0-9]+;
    exponent = [eE] [+-]? digits;
    number = (digits ("." digits)? | "." digits) exponent?;
    ident = [A-Za-z_] [A-Za-z0-9_]*;

    utf8 = [\xc2-\xdf] [\x80-\xbf]
         | "\xe0" [\xa0-\xbf] [\x80-\xbf]
         | [\xe1-\xec\xee\xef] [\x80-\xbf]{2}
         | "\xed" [\x80-\x9f] [\x80-\xbf]
         | "\xf0" [\x90-\xbf] [\x80-\xbf]{2}
         | [\xf1-\xf3] [\x80-\xbf]{3}
         | "\xf4" [\x80-\x8f] [\x80-\xbf]{2};

    // Characters that start no token. A run of them is one error, not one
    // per byte: "&&" or a pasted binary blob should not flood the output.
    junk = [$%&'?:@\\`|~] | utf8;
    bad = [\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xff];
*/

const char *const lex_keywords[] = {
    "import", "model", "def", "settings", "train", "with", "input", "layer",
    "for", "in", "if", "else", "return", "expect", "let", "true", "false",
    "and", "or", "not", "then",
};
const int lex_keyword_count = (int)(sizeof lex_keywords / sizeof lex_keywords[0]);

static const char *const token_names[] = {
    [T_EOF] = "end of file", [T_ERROR] = "invalid token",
    [T_IDENT] = "identifier", [T_NUMBER] = "number", [T_STRING] = "string",
    [T_IMPORT] = "'import'", [T_MODEL] = "'model'", [T_DEF] = "'def'",
    [T_SETTINGS] = "'settings'", [T_TRAIN] = "'train'", [T_WITH] = "'with'",
    [T_INPUT] = "'input'", [T_LAYER] = "'layer'", [T_FOR] = "'for'", [T_IN] = "'in'",
    [T_IF] = "'if'", [T_ELSE] = "'else'", [T_RETURN] = "'return'",
    [T_EXPECT] = "'expect'", [T_LET] = "'let'", [T_TRUE] = "'true'",
    [T_FALSE] = "'false'", [T_AND] = "'and'", [T_OR] = "'or'", [T_NOT] = "'not'",
    [T_THEN] = "'then'",
    [T_LPAREN] = "'('", [T_RPAREN] = "')'", [T_LBRACE] = "'{'", [T_RBRACE] = "'}'",
    [T_LBRACKET] = "'['", [T_RBRACKET] = "']'", [T_COMMA] = "','", [T_SEMI] = "';'",
    [T_DOT] = "'.'", [T_DOTDOT] = "'..'", [T_ASSIGN] = "'='", [T_PLUS] = "'+'",
    [T_MINUS] = "'-'", [T_STAR] = "'*'", [T_SLASH] = "'/'", [T_CARET] = "'^'",
    [T_LT] = "'<'", [T_LE] = "'<='", [T_GT] = "'>'", [T_GE] = "'>='",
    [T_EQ] = "'=='", [T_NE] = "'!='",
};

const char *lex_token_name(int kind)
{
    if (kind < 0 || kind >= (int)(sizeof token_names / sizeof token_names[0]))
        return "invalid token";
    return token_names[kind];
}

void lex_init(Lexer *lx, Arena *arena, DiagSink *diag, int file)
{
    const Source *src = &diag->sources->files[file];
    memset(lx, 0, sizeof *lx);
    lx->cur = lx->tok = lx->line_start = (const unsigned char *)src->text;
    lx->lim = lx->cur + src->len;
    lx->line = 1;
    lx->file = file;
    lx->arena = arena;
    lx->diag = diag;
}

/* The span from p to q (exclusive) on the current line. */
static Span span_at(const Lexer *lx, const unsigned char *p, const unsigned char *q)
{
    int col = (int)(p - lx->line_start) + 1;
    return (Span){ lx->file, lx->line, col, lx->line, col + (int)(q - p) - 1 };
}

static int emit(Lexer *lx, Token *out, int kind)
{
    out->kind = kind;
    out->span = span_at(lx, lx->tok, lx->cur);
    out->text = NULL;
    out->num = 0;
    lx->prev_line = out->span.last_line;
    lx->prev_col = out->span.last_column;
    return kind;
}

static void comment(Lexer *lx)
{
    if (!lx->keep_comments)
        return;
    const unsigned char *end = lx->cur;
    while (end > lx->tok && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    AstComment c = {
        .span = span_at(lx, lx->tok, end),
        .after_line = lx->prev_line,
        .after_col = lx->prev_col,
        .text = arena_strndup(lx->arena, (const char *)lx->tok, (size_t)(end - lx->tok)),
    };
    VEC_PUSH(lx->comments, lx->ncomments, lx->comments_cap, c);
}

/* A '//' or a slash-star is never valid vg, so they are surely a comment in another
 * language's syntax: one error, and the rest is skipped as a comment would
 * be, so that nothing further is reported about its words. */
static void foreign_comment(Lexer *lx)
{
    diag_error(lx->diag, span_at(lx, lx->tok, lx->tok + 2), "unexpected '%c%c'",
               lx->tok[0], lx->tok[1]);
    diag_note(lx->diag, "comments start with '#'");
    if (lx->tok[1] == '/')
        return;
    const unsigned char *close = NULL;
    for (const unsigned char *p = lx->cur; p + 1 < lx->lim && !close; p++)
        if (p[0] == '*' && p[1] == '/')
            close = p + 2;
    if (!close) {  /* unclosed: only its line */
        while (lx->cur < lx->lim && *lx->cur != '\n')
            lx->cur++;
        return;
    }
    for (; lx->cur < close; lx->cur++)
        if (*lx->cur == '\n') {
            lx->line++;
            lx->line_start = lx->cur + 1;
        }
}

static int open_bracket(Lexer *lx, Token *out, int kind)
{
    emit(lx, out, kind);
    if (lx->depth < LEX_MAX_OPEN) {
        lx->open[lx->depth] = out->span;
        lx->open_char[lx->depth] = (char)*lx->tok;
    }
    lx->depth++;
    return kind;
}

static int close_bracket(Lexer *lx, Token *out, int kind)
{
    if (lx->depth > 0)
        lx->depth--;
    return emit(lx, out, kind);
}


static int emit_eof(Lexer *lx, Token *out)
{
    emit(lx, out, T_EOF);
    /* After a final newline, point at the end of the last line, which is
     * where a reader looks for what is missing. */
    if (lx->cur == lx->line_start && lx->line > 1) {
        const unsigned char *text =
            (const unsigned char *)lx->diag->sources->files[lx->file].text;
        const unsigned char *end = lx->cur - 1, *p = end;
        while (p > text && p[-1] != '\n')
            p--;
        if (end > p && end[-1] == '\r')
            end--;
        int col = (int)(end - p) + 1;
        out->span = (Span){ lx->file, lx->line - 1, col, lx->line - 1, col - 1 };
    }
    return T_EOF;
}

static int error(Lexer *lx, Token *out, Span at, const char *note, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int error(Lexer *lx, Token *out, Span at, const char *note, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_error(lx->diag, at, "%s", msg);
    if (note)
        diag_note(lx->diag, "%s", note);
    return emit(lx, out, T_ERROR);
}

/* Slips from other languages get a hint, as ninja's lexer does. */
static const char *stray_hint(unsigned char c)
{
    switch (c) {
    case '!': return "use 'not' for negation and '!=' for inequality";
    case '&': return "use 'and'";
    case '|': return "use 'or'";
    case '\'': return "strings are written in double quotes";
    default: return NULL;
    }
}

enum { MAX_SHOWN = 20 };

/* printable: the run is ASCII punctuation or valid UTF-8, shown as is;
 * otherwise it holds control bytes or invalid UTF-8, shown in hex. */
static int stray(Lexer *lx, Token *out, bool printable)
{
    Span at = span_at(lx, lx->tok, lx->cur);
    int len = (int)(lx->cur - lx->tok);
    unsigned char c = *lx->tok;
    if (!printable)
        return error(lx, out, at, NULL, "unexpected character 0x%02x", c);
    int chars = 0;
    for (int i = 0; i < len; i++)
        chars += (lx->tok[i] & 0xC0) != 0x80;
    return error(lx, out, at, stray_hint(c), "unexpected character%s '%.*s%s'",
                 chars > 1 ? "s" : "", len > MAX_SHOWN ? MAX_SHOWN : len,
                 (const char *)lx->tok, len > MAX_SHOWN ? "..." : "");
}

static int number(Lexer *lx, Token *out)
{
    size_t n = (size_t)(lx->cur - lx->tok);
    char buf[64];
    const char *text = buf;
    /* strtod reads past the token unless it is cut out: "0x1p3" is not one number here. */
    if (n < sizeof buf) {
        memcpy(buf, lx->tok, n);
        buf[n] = '\0';
    } else {
        text = arena_strndup(lx->arena, (const char *)lx->tok, n);
    }
    errno = 0;
    double v = strtod(text, NULL);
    if (errno == ERANGE && v > 1.0)
        return error(lx, out, span_at(lx, lx->tok, lx->cur), NULL,
                     "number out of range");
    emit(lx, out, T_NUMBER);
    out->num = v;
    out->text = text == buf ? arena_strndup(lx->arena, buf, n) : text;
    return T_NUMBER;
}

static int identifier(Lexer *lx, Token *out)
{
    emit(lx, out, T_IDENT);
    size_t len = (size_t)(lx->cur - lx->tok);
    out->text = arena_strndup(lx->arena, (const char *)lx->tok, len);
    return T_IDENT;
}

/* Reports only the first problem of a string: one bad token, one message. */
static int string(Lexer *lx, Token *out)
{
    /* Strings end on their line, so the rest of the line bounds the decoded text. */
    const unsigned char *nl = memchr(lx->cur, '\n', (size_t)(lx->lim - lx->cur));
    char *buf = arena_alloc(lx->arena, (size_t)((nl ? nl : lx->lim) - lx->cur) + 1);
    char *o = buf;
    bool bad = false;
    for (;;) {
        const unsigned char *s = lx->cur;
        /*!re2c
            ["]        { break; }
            "\\" ["]   { *o++ = '"'; continue; }
            "\\\\"     { *o++ = '\\'; continue; }
            "\\n"      { *o++ = '\n'; continue; }
            "\\" [^\n] {
                if (!bad) {
                    Span at = span_at(lx, s, lx->cur);
                    const char *note = "a string may contain \\\", \\\\ and \\n";
                    if (s[1] > ' ' && s[1] < 0x7f)
                        diag_error(lx->diag, at, "unknown escape '\\%c' in string", s[1]);
                    else
                        diag_error(lx->diag, at, "unknown escape in string");
                    diag_note(lx->diag, "%s", note);
                }
                bad = true;
                continue;
            }
            "\n" {
                lx->cur = s;
                if (bad)
                    return emit(lx, out, T_ERROR);
                return error(lx, out, span_at(lx, lx->tok, s),
                             "strings end on the line they start; write \\n for a line break",
                             "unterminated string");
            }
            $ {
                if (bad)
                    return emit(lx, out, T_ERROR);
                return error(lx, out, span_at(lx, lx->tok, s), NULL,
                             "unterminated string at end of file");
            }
            "\x00" {
                if (!bad)
                    diag_error(lx->diag, span_at(lx, s, lx->cur), "NUL byte in string");
                bad = true;
                continue;
            }
            [^] { *o++ = (char)*s; continue; }
        */
    }
    if (bad)
        return emit(lx, out, T_ERROR);
    *o = '\0';
    emit(lx, out, T_STRING);
    out->text = buf;
    return T_STRING;
}

int lex_next(Lexer *lx, Token *out)
{
    const unsigned char *marker;
    for (;;) {
        lx->tok = lx->cur;
        /*!re2c
            $           { return emit_eof(lx, out); }
            [ \t\r]+    { continue; }
            "\n"        { lx->line++; lx->line_start = lx->cur; continue; }
            "#" [^\n]*  { comment(lx); continue; }
            "//" [^\n]* | "/*" { foreign_comment(lx); continue; }

            number      { return number(lx, out); }
            "import"    { return emit(lx, out, T_IMPORT); }
            "model"     { return emit(lx, out, T_MODEL); }
            "def"       { return emit(lx, out, T_DEF); }
            "settings"  { return emit(lx, out, T_SETTINGS); }
            "train"     { return emit(lx, out, T_TRAIN); }
            "with"      { return emit(lx, out, T_WITH); }
            "input"     { return emit(lx, out, T_INPUT); }
            "layer"     { return emit(lx, out, T_LAYER); }
            "for"       { return emit(lx, out, T_FOR); }
            "in"        { return emit(lx, out, T_IN); }
            "if"        { return emit(lx, out, T_IF); }
            "else"      { return emit(lx, out, T_ELSE); }
            "return"    { return emit(lx, out, T_RETURN); }
            "expect"    { return emit(lx, out, T_EXPECT); }
            "let"       { return emit(lx, out, T_LET); }
            "true"      { return emit(lx, out, T_TRUE); }
            "false"     { return emit(lx, out, T_FALSE); }
            "and"       { return emit(lx, out, T_AND); }
            "or"        { return emit(lx, out, T_OR); }
            "not"       { return emit(lx, out, T_NOT); }
            "then"      { return emit(lx, out, T_THEN); }
            ident       { return identifier(lx, out); }
            ["]         { return string(lx, out); }

            "("         { return open_bracket(lx, out, T_LPAREN); }
            "["         { return open_bracket(lx, out, T_LBRACKET); }
            "{"         { return open_bracket(lx, out, T_LBRACE); }
            ")"         { return close_bracket(lx, out, T_RPAREN); }
            "]"         { return close_bracket(lx, out, T_RBRACKET); }
            "}"         { return close_bracket(lx, out, T_RBRACE); }
            ","         { return emit(lx, out, T_COMMA); }
            ";"         { return emit(lx, out, T_SEMI); }
            "."         { return emit(lx, out, T_DOT); }
            ".."        { return emit(lx, out, T_DOTDOT); }
            "="         { return emit(lx, out, T_ASSIGN); }
            "+"         { return emit(lx, out, T_PLUS); }
            "-"         { return emit(lx, out, T_MINUS); }
            "*"         { return emit(lx, out, T_STAR); }
            "/"         { return emit(lx, out, T_SLASH); }
            "^"         { return emit(lx, out, T_CARET); }
            "<"         { return emit(lx, out, T_LT); }
            "<="        { return emit(lx, out, T_LE); }
            ">"         { return emit(lx, out, T_GT); }
            ">="        { return emit(lx, out, T_GE); }
            "=="        { return emit(lx, out, T_EQ); }
            "!="        { return emit(lx, out, T_NE); }

            junk+       { return stray(lx, out, true); }
            "!"         { return stray(lx, out, true); }
            bad+ | [^]  { return stray(lx, out, false); }
        */
    }
}

AstComment *lex_comments(Arena *arena, DiagSink *diag, int file, int *count)
{
    Lexer lx;
    lex_init(&lx, arena, diag, file);
    lx.keep_comments = true;
    Token t;
    while (lex_next(&lx, &t) != T_EOF)
        ;
    *count = lx.ncomments;
    return lx.comments;
}

Token *lex_all(Arena *arena, DiagSink *diag, int file, int *count)
{
    Lexer lx;
    lex_init(&lx, arena, diag, file);
    Token *toks = NULL, t;
    int n = 0, cap = 0;
    do {
        lex_next(&lx, &t);
        VEC_PUSH(toks, n, cap, t);
    } while (t.kind != T_EOF);
    *count = n;
    return toks;
}
