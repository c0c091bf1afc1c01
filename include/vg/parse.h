/* parse.h — from source text to an AST.
 *
 * The lexer (grammar/lexer.re) and the parser (grammar/parser.y) are
 * generated into build/. A parse never stops at the first syntax error: the
 * parser resynchronises at statement and block boundaries and reports every
 * error (at most PARSE_MAX_ERRORS per file) into the sink. Everything it
 * allocates lives in the given arena, so a failed parse leaks nothing. */
#ifndef VG_PARSE_H
#define VG_PARSE_H

#include "vg/ast.h"
#include "vg/diag.h"

enum { PARSE_MAX_ERRORS = 20 };

/* Parses a whole file (source index `file` in the sink's SourceSet) into an
 * AST_PROGRAM node. Returns NULL when any error was reported. */
AstNode *parse_file(Arena *arena, DiagSink *diag, int file);

/* REPL: parses exactly one entry — an item, a statement or an expression
 * (then an AST_EXPR_STMT) — from a source. Returns PARSE_OK with *out set
 * (NULL when the text holds only blanks and comments),
 * PARSE_MORE when the text ends inside an open '{', '(' or '[' or after a
 * token that needs more (the REPL then reads another line and retries with
 * the longer text), or PARSE_ERROR with diagnostics in the sink. */
typedef enum { PARSE_OK, PARSE_MORE, PARSE_ERROR } ParseStatus;
ParseStatus parse_entry(Arena *arena, DiagSink *diag, int file, AstNode **out);

/* The lexer on its own, for tests and the REPL's completion. */
typedef struct Token {
    int kind;          /* a TokKind (T_*) */
    Span span;
    const char *text;  /* identifier, decoded string or a number as written,
                          in the arena */
    double num;
} Token;

/* Stable token kinds for tests, independent of Bison's numbering. */
typedef enum TokKind {
    T_EOF, T_ERROR, T_IDENT, T_NUMBER, T_STRING,
    T_IMPORT, T_MODEL, T_DEF, T_SETTINGS, T_TRAIN, T_WITH, T_INPUT, T_LAYER,
    T_FOR, T_IN, T_IF, T_ELSE, T_RETURN, T_EXPECT, T_LET, T_TRUE, T_FALSE,
    T_AND, T_OR, T_NOT, T_THEN,
    T_LPAREN, T_RPAREN, T_LBRACE, T_RBRACE, T_LBRACKET, T_RBRACKET,
    T_COMMA, T_SEMI, T_DOT, T_DOTDOT, T_ASSIGN,
    T_PLUS, T_MINUS, T_STAR, T_SLASH, T_CARET,
    T_LT, T_LE, T_GT, T_GE, T_EQ, T_NE,
} TokKind;

/* The lexer's whole state: the parser pulls one token at a time from it, so
 * lexical and syntax errors reach the sink in source order. It reads the
 * source in place (the text must stay alive) and allocates identifiers and
 * decoded strings in the arena. It remembers the innermost unclosed
 * brackets so that "unexpected end of file" can say which one is open. */
enum { LEX_MAX_OPEN = 32 };

typedef struct Lexer {
    const unsigned char *cur, *lim;  /* lim points at the source's final NUL */
    const unsigned char *tok;        /* start of the last token */
    const unsigned char *line_start; /* of the line holding cur */
    int line, file;
    Arena *arena;
    DiagSink *diag;
    int depth;                       /* open brackets, possibly > LEX_MAX_OPEN */
    Span open[LEX_MAX_OPEN];         /* the innermost ones */
    char open_char[LEX_MAX_OPEN];
    int prev_line, prev_col;         /* the last column of the last token */
    bool keep_comments;              /* record comments (lex_comments) */
    AstComment *comments;            /* malloc'd */
    int ncomments, comments_cap;
} Lexer;

void lex_init(Lexer *lx, Arena *arena, DiagSink *diag, int file);
/* Scans the next token into *out and returns its kind. A lexical error is
 * reported to the sink once and comes back as T_ERROR. */
int lex_next(Lexer *lx, Token *out);

/* Tokenises a whole source into a malloc'd array ending with T_EOF; lexical
 * errors go to the sink and appear as T_ERROR tokens. */
Token *lex_all(Arena *arena, DiagSink *diag, int file, int *count);
const char *lex_token_name(int kind);  /* "'model'", "identifier", ... */
/* Every comment of a source, in order, as a malloc'd array (for `vg fmt`,
 * which reads a file that already parsed, so no error is reported twice). */
AstComment *lex_comments(Arena *arena, DiagSink *diag, int file, int *count);

/* The language's keywords, for completion and "did you mean". */
extern const char *const lex_keywords[];
extern const int lex_keyword_count;

#endif
