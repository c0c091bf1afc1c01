/* parser.y — the .vg grammar (Bison 3.8; generated into build/gen/parser.c).
 *
 * Actions only build AST nodes: no name resolution, no shapes (elab.c does
 * that). Files use the pull parser; REPL entries use the push parser, whose
 * "end of input where more was needed" becomes PARSE_MORE. A leading
 * pseudo-token selects the start: a whole file, or one REPL entry.
 *
 * Error recovery resynchronises at statement, item and block boundaries
 * (`stmts error`, `items error`, `KEYWORD error block`, and `KEYWORD error`
 * to resume at the next item keyword); Bison's rule that
 * three tokens must be shifted before the next report keeps one slip from
 * producing a cascade. Every value is an arena pointer, so symbols discarded
 * during recovery need no %destructor: freeing the arena frees them. */

%require "3.8"

/* Reentrant: all state is in the Parser passed to yyparse and yylex. */
%define api.pure full
/* A pull parser for files and a push parser for the REPL. */
%define api.push-pull both
/* TOK_EOF and friends cannot clash with <stdio.h>. */
%define api.token.prefix {TOK_}
%define api.value.type union
%locations
%define api.location.type {Span}
/* One message of our own ("unexpected X, expected A or B"). */
%define parse.error custom
/* Exact expected-token lists, even after default reductions. */
%define parse.lac full
%expect 0
%param {Parser *ctx}

%code requires {
#include "vg/ast.h"
#include "vg/parse.h"
typedef struct Parser Parser;
}

%code {
#include <string.h>

/* The parser's stack bounds how deep the AST can nest, and with it the
 * recursion of every walker over it (the evaluator, vg fmt) — under ASan,
 * Bison's default of 10000 let 5000 nested minus signs overflow the C
 * stack. 2000 states are hundreds of nesting levels. */
#define YYMAXDEPTH 2000

struct Parser {
    Lexer lx;
    Arena *arena;
    DiagSink *diag;
    int base_errors;  /* diag->errors when this parse began */
    int start;        /* pseudo-token yylex returns first, then 0 */
    bool entry;       /* a REPL entry: end of input may just mean "more" */
    bool more;
    bool gave_up;
    AstNode *result;
};

/* Span also carries the file, which Bison's default would leave unset. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                   \
    do {                                                              \
        if (N) {                                                      \
            (Cur).file = YYRHSLOC(Rhs, 1).file;                       \
            (Cur).first_line = YYRHSLOC(Rhs, 1).first_line;           \
            (Cur).first_column = YYRHSLOC(Rhs, 1).first_column;       \
            (Cur).last_line = YYRHSLOC(Rhs, N).last_line;             \
            (Cur).last_column = YYRHSLOC(Rhs, N).last_column;         \
        } else {                                                      \
            (Cur).file = YYRHSLOC(Rhs, 0).file;                       \
            (Cur).first_line = (Cur).last_line = YYRHSLOC(Rhs, 0).last_line; \
            (Cur).first_column = (Cur).last_column = YYRHSLOC(Rhs, 0).last_column; \
        }                                                             \
    } while (0)

static int yylex(YYSTYPE *val, Span *loc, Parser *ctx);
static void yyerror(const Span *loc, Parser *ctx, const char *msg);
static AstNode *node(Parser *ctx, AstKind kind, Span at);
static AstNode *named(Parser *ctx, AstKind kind, const char *name, Span at);
static AstNode *unary(Parser *ctx, int op, AstNode *a, Span at);
static AstNode *binary(Parser *ctx, int op, AstNode *a, AstNode *b, Span at);
static AstList list1(AstNode *n);
static AstList braced(AstList l, Span open, Span close);
static AstList append(AstList l, AstNode *n);
static AstList append_arg(Parser *ctx, AstList l, AstNode *arg);
}

%token START_FILE "start of file" START_ENTRY "start of entry"
%token YYEOF 0 "end of file"
%token
    IMPORT "'import'" MODEL "'model'" DEF "'def'" SETTINGS "'settings'"
    TRAIN "'train'" WITH "'with'" INPUT "'input'" LAYER "'layer'" FOR "'for'"
    IN "'in'" IF "'if'" ELSE "'else'" RETURN "'return'" EXPECT "'expect'"
    LET "'let'" TRUE "'true'" FALSE "'false'" AND "'and'" OR "'or'" NOT "'not'"
    THEN "'then'"
    DOTDOT "'..'" LE "'<='" GE "'>='" EQ "'=='" NE "'!='"
%token <const char *> IDENT "identifier" STRING "string"
%token <Token> NUMBER "number"

%nterm <AstNode *> program entry item stmt if_stmt expr primary arg param kv axis index
%nterm <AstList> items stmts block settings_body params param_list args arg_list dims exprs kvs overrides
%nterm <AstList> opt_axes axes indices
%nterm <const char *> opt_with opt_message

/* Loosest first. Comparisons do not chain; '^' is right-associative and
 * binds tighter than unary minus, so -2^2 is -(2^2). `then` joins
 * learning-rate schedules, whole expressions each, so it binds loosest. */
%left THEN
%left OR
%left AND
%precedence NOT
%nonassoc '<' '>' LE GE EQ NE
%left '+' '-'
%left '*' '/'
%precedence NEG
%right '^'
%precedence '(' '[' '.'

%%

start
    : START_FILE program    { ctx->result = $program; }
    | START_ENTRY entry     { ctx->result = $entry; }
    ;

program
    : items
        {
            /* The whole file, wherever its first and last items are. */
            const Lexer *lx = &ctx->lx;
            Span all = { lx->file, 1, 1, lx->line, (int)(lx->cur - lx->line_start) };
            $$ = node(ctx, AST_PROGRAM, all);
            $$->list = $items;
        }
    ;

items
    : %empty                { $$ = (AstList){ 0 }; }
    | items item            { $$ = append($1, $item); }
    | items ';'
    | items error
    ;

/* One REPL entry: an item, a statement or an expression; or nothing, for
 * a line that holds only a comment. */
entry
    : %empty                { $$ = NULL; }
    | item opt_semi
    | stmt opt_semi
    | expr opt_semi         { $$ = node(ctx, AST_EXPR_STMT, @expr); $$->a = $expr; }
    ;

opt_semi: %empty | ';' ;

/* ---- items ---- */

item
    : IMPORT STRING
        { $$ = node(ctx, AST_IMPORT, @$); $$->str = $STRING; }
    | LET IDENT '=' expr
        { $$ = named(ctx, AST_LET, $IDENT, @$); $$->a = $expr; }
    | MODEL IDENT '(' params ')' block
        {
            $$ = named(ctx, AST_MODEL, $IDENT, @$);
            $$->list = $params;
            $$->list2 = $block;
            $$->boolean = true;
        }
    /* Without parameters the list may be left out: `model net { ... }`. */
    | MODEL IDENT block
        { $$ = named(ctx, AST_MODEL, $IDENT, @$); $$->list2 = $block; }
    | DEF IDENT '(' params ')' block
        {
            $$ = named(ctx, AST_DEF, $IDENT, @$);
            $$->list = $params;
            $$->list2 = $block;
            $$->boolean = true;
        }
    | DEF IDENT block
        { $$ = named(ctx, AST_DEF, $IDENT, @$); $$->list2 = $block; }
    | SETTINGS IDENT[name] opt_with settings_body
        { $$ = named(ctx, AST_SETTINGS, $name, @$); $$->str2 = $opt_with; $$->list = $settings_body; }
    | TRAIN IDENT[run] opt_axes '=' IDENT[model] '(' args ')'[close] opt_with overrides
        {
            $$ = named(ctx, AST_TRAIN, $run, @$);
            $$->list2 = $opt_axes;
            $$->a = node(ctx, AST_CALL, span_join(@model, @close));
            $$->a->a = named(ctx, AST_NAME, $model, @model);
            $$->a->list = $args;
            $$->str2 = $opt_with;
            $$->list = $overrides;
        }
    | EXPECT expr opt_message
        { $$ = node(ctx, AST_EXPECT, @$); $$->a = $expr; $$->str2 = $opt_message; }
    /* A broken header: skip to its block and still check the body. */
    | MODEL error block     { $$ = NULL; }
    | DEF error block       { $$ = NULL; }
    | SETTINGS error settings_body { $$ = NULL; }
    /* ... unless no block follows at once (`settings more = base`): then
     * the item ends there, and recovery resumes at the next item keyword
     * instead of taking a later item's block for this one's. */
    | MODEL error           { $$ = NULL; }
    | DEF error             { $$ = NULL; }
    | SETTINGS error        { $$ = NULL; }
    ;

settings_body
    : '{' kvs '}'           { $$ = braced($kvs, @1, @3); }
    ;

params
    : %empty                { $$ = (AstList){ 0 }; }
    | param_list
    | param_list ','
    ;

param_list
    : param                 { $$ = list1($param); }
    | param_list ',' param  { $$ = append($1, $param); }
    ;

param
    : IDENT                 { $$ = named(ctx, AST_PARAM, $IDENT, @$); }
    | IDENT '=' expr        { $$ = named(ctx, AST_PARAM, $IDENT, @$); $$->a = $expr; }
    ;

kvs
    : %empty                { $$ = (AstList){ 0 }; }
    | kvs kv                { $$ = append($1, $kv); }
    | kvs ';'
    | kvs error
    ;

kv
    : IDENT '=' expr        { $$ = named(ctx, AST_KWARG, $IDENT, @$); $$->a = $expr; }
    ;

/* A run family's axes: `train grid[d in [10, 20], s in 1..3] = …`. */
opt_axes
    : %empty                { $$ = (AstList){ 0 }; }
    | '[' axes ']'          { $$ = $axes; }
    | '[' axes ',' ']'      { $$ = $axes; }
    ;

axes
    : axis                  { $$ = list1($axis); }
    | axes ',' axis         { $$ = append($1, $axis); }
    ;

axis
    : IDENT IN expr
        { $$ = named(ctx, AST_AXIS, $IDENT, @$); $$->a = $expr; }
    | IDENT IN expr[lo] DOTDOT expr[hi]
        { $$ = named(ctx, AST_AXIS, $IDENT, @$); $$->a = $lo; $$->b = $hi; }
    ;

opt_with
    : %empty                { $$ = NULL; }
    | WITH IDENT            { $$ = $IDENT; }
    ;

overrides
    : %empty                { $$ = (AstList){ 0 }; }
    | settings_body
    ;

opt_message
    : %empty                { $$ = NULL; }
    | ',' STRING            { $$ = $STRING; }
    ;

/* ---- statements ---- */

block
    : '{' stmts '}'         { $$ = braced($stmts, @1, @3); }
    ;

stmts
    : %empty                { $$ = (AstList){ 0 }; }
    | stmts stmt            { $$ = append($1, $stmt); }
    | stmts ';'
    | stmts error
    ;

stmt
    : INPUT IDENT '[' dims ']'
        { $$ = named(ctx, AST_INPUT, $IDENT, @$); $$->list = $dims; }
    | IDENT '=' expr
        { $$ = named(ctx, AST_ASSIGN, $IDENT, @$); $$->a = $expr; }
    | LAYER IDENT block
        { $$ = named(ctx, AST_LAYER, $IDENT, @$); $$->list = $block; }
    | LAYER IDENT '[' expr ']' block
        { $$ = named(ctx, AST_LAYER, $IDENT, @$); $$->b = $expr; $$->list = $block; }
    | FOR IDENT IN expr[lo] DOTDOT expr[hi] block
        {
            $$ = named(ctx, AST_FOR, $IDENT, @$);
            $$->a = $lo;
            $$->b = $hi;
            $$->list = $block;
        }
    | if_stmt
    | RETURN expr
        { $$ = node(ctx, AST_RETURN, @$); $$->a = $expr; }
    | LAYER error block     { $$ = NULL; }
    | FOR error block       { $$ = NULL; }
    | IF error block        { $$ = NULL; }
    ;

if_stmt
    : IF expr block
        { $$ = node(ctx, AST_IF, @$); $$->a = $expr; $$->list = $block; }
    | IF expr block[then] ELSE block[else]
        { $$ = node(ctx, AST_IF, @$); $$->a = $expr; $$->list = $then; $$->list2 = $else; }
    | IF expr block ELSE if_stmt[chain]
        {
            $$ = node(ctx, AST_IF, @$);
            $$->a = $expr;
            $$->list = $block;
            $$->list2 = list1($chain);
        }
    ;

/* ---- expressions ---- */

expr
    : primary
    | expr[l] THEN expr[r]  { $$ = binary(ctx, AST_OP_THEN, $l, $r, @$); }
    | expr[l] OR expr[r]    { $$ = binary(ctx, AST_OP_OR, $l, $r, @$); }
    | expr[l] AND expr[r]   { $$ = binary(ctx, AST_OP_AND, $l, $r, @$); }
    | NOT expr[r]           { $$ = unary(ctx, AST_OP_NOT, $r, @$); }
    | expr[l] '<' expr[r]   { $$ = binary(ctx, AST_OP_LT, $l, $r, @$); }
    | expr[l] '>' expr[r]   { $$ = binary(ctx, AST_OP_GT, $l, $r, @$); }
    | expr[l] LE expr[r]    { $$ = binary(ctx, AST_OP_LE, $l, $r, @$); }
    | expr[l] GE expr[r]    { $$ = binary(ctx, AST_OP_GE, $l, $r, @$); }
    | expr[l] EQ expr[r]    { $$ = binary(ctx, AST_OP_EQ, $l, $r, @$); }
    | expr[l] NE expr[r]    { $$ = binary(ctx, AST_OP_NE, $l, $r, @$); }
    | expr[l] '+' expr[r]   { $$ = binary(ctx, AST_OP_ADD, $l, $r, @$); }
    | expr[l] '-' expr[r]   { $$ = binary(ctx, AST_OP_SUB, $l, $r, @$); }
    | expr[l] '*' expr[r]   { $$ = binary(ctx, AST_OP_MUL, $l, $r, @$); }
    | expr[l] '/' expr[r]   { $$ = binary(ctx, AST_OP_DIV, $l, $r, @$); }
    | '-' expr[r] %prec NEG { $$ = unary(ctx, '-', $r, @$); }
    | expr[l] '^' expr[r]   { $$ = binary(ctx, AST_OP_POW, $l, $r, @$); }
    | expr[f] '(' args ')'
        { $$ = node(ctx, AST_CALL, @$); $$->a = $f; $$->list = $args; }
    | expr[obj] '.' IDENT
        { $$ = named(ctx, AST_MEMBER, $IDENT, @$); $$->a = $obj; }
    | expr[obj] '[' indices ']'
        { $$ = node(ctx, AST_INDEX, @$); $$->a = $obj; $$->list = $indices; }
    ;

/* `*` ranges over one axis of a run family: grid[*, 0.5]. */
indices
    : index                 { $$ = list1($index); }
    | indices ',' index     { $$ = append($1, $index); }
    ;

index
    : expr
    | '*'                   { $$ = node(ctx, AST_STAR, @$); }
    ;

primary
    : NUMBER
        { $$ = node(ctx, AST_NUM, @$); $$->num = $NUMBER.num; $$->str = $NUMBER.text; }
    | STRING                { $$ = node(ctx, AST_STR, @$); $$->str = $STRING; }
    | TRUE                  { $$ = node(ctx, AST_BOOL, @$); $$->boolean = true; }
    | FALSE                 { $$ = node(ctx, AST_BOOL, @$); $$->boolean = false; }
    | IDENT                 { $$ = named(ctx, AST_NAME, $IDENT, @$); }
    | '(' expr ')'          { $$ = $expr; }
    | '[' ']'               { $$ = node(ctx, AST_LIST, @$); }
    | '[' dims ']'          { $$ = node(ctx, AST_LIST, @$); $$->list = $dims; }
    ;

args
    : %empty                { $$ = (AstList){ 0 }; }
    | arg_list
    | arg_list ','
    ;

/* Any order parses, so that a positional after a keyword gets a message of
 * its own instead of a bare "unexpected". */
arg_list
    : arg                   { $$ = list1($arg); }
    | arg_list ',' arg      { $$ = append_arg(ctx, $1, $arg); }
    ;

arg
    : expr
    | IDENT '=' expr        { $$ = named(ctx, AST_KWARG, $IDENT, @$); $$->a = $expr; }
    ;

dims
    : exprs
    | exprs ','
    ;

exprs
    : expr                  { $$ = list1($expr); }
    | exprs ',' expr        { $$ = append($1, $expr); }
    ;

%%

/* ---- helpers for the actions ---- */

static AstNode *node(Parser *ctx, AstKind kind, Span at)
{
    return ast_new(ctx->arena, kind, at);
}

static AstNode *named(Parser *ctx, AstKind kind, const char *name, Span at)
{
    AstNode *n = node(ctx, kind, at);
    n->str = name;
    return n;
}

static AstNode *unary(Parser *ctx, int op, AstNode *a, Span at)
{
    AstNode *n = node(ctx, AST_UNARY, at);
    n->op = op;
    n->a = a;
    return n;
}

static AstNode *binary(Parser *ctx, int op, AstNode *a, AstNode *b, Span at)
{
    AstNode *n = node(ctx, AST_BINARY, at);
    n->op = op;
    n->a = a;
    n->b = b;
    return n;
}

static AstList list1(AstNode *n)
{
    AstList l = { 0 };
    ast_list_append(&l, n);
    return l;
}

static AstList braced(AstList l, Span open, Span close)
{
    l.open = open;
    l.close = close;
    return l;
}

/* Recovery productions yield NULL: nothing to keep. */
static AstList append(AstList l, AstNode *n)
{
    if (n)
        ast_list_append(&l, n);
    return l;
}

/* Whether another error may still be reported (PARSE_MAX_ERRORS per parse). */
static bool room(const Parser *ctx)
{
    return ctx->diag->errors - ctx->base_errors < PARSE_MAX_ERRORS;
}

static AstList append_arg(Parser *ctx, AstList l, AstNode *arg)
{
    if (arg->kind != AST_KWARG && l.tail && l.tail->kind == AST_KWARG && room(ctx)) {
        diag_error(ctx->diag, arg->span, "positional argument after keyword argument '%s'",
                   l.tail->str);
        diag_note(ctx->diag, "positional arguments come first: f(x, 2, name = value)");
    }
    return append(l, arg);
}

/* ---- the lexer seen from Bison ---- */

static const int token_of[] = {
    [T_EOF] = TOK_YYEOF, [T_ERROR] = TOK_YYerror, [T_IDENT] = TOK_IDENT,
    [T_NUMBER] = TOK_NUMBER, [T_STRING] = TOK_STRING,
    [T_IMPORT] = TOK_IMPORT, [T_MODEL] = TOK_MODEL, [T_DEF] = TOK_DEF,
    [T_SETTINGS] = TOK_SETTINGS, [T_TRAIN] = TOK_TRAIN, [T_WITH] = TOK_WITH,
    [T_INPUT] = TOK_INPUT, [T_LAYER] = TOK_LAYER, [T_FOR] = TOK_FOR, [T_IN] = TOK_IN,
    [T_IF] = TOK_IF, [T_ELSE] = TOK_ELSE, [T_RETURN] = TOK_RETURN,
    [T_EXPECT] = TOK_EXPECT, [T_LET] = TOK_LET, [T_TRUE] = TOK_TRUE,
    [T_FALSE] = TOK_FALSE, [T_AND] = TOK_AND, [T_OR] = TOK_OR, [T_NOT] = TOK_NOT,
    [T_THEN] = TOK_THEN,
    [T_LPAREN] = '(', [T_RPAREN] = ')', [T_LBRACE] = '{', [T_RBRACE] = '}',
    [T_LBRACKET] = '[', [T_RBRACKET] = ']', [T_COMMA] = ',', [T_SEMI] = ';',
    [T_DOT] = '.', [T_DOTDOT] = TOK_DOTDOT, [T_ASSIGN] = '=', [T_PLUS] = '+',
    [T_MINUS] = '-', [T_STAR] = '*', [T_SLASH] = '/', [T_CARET] = '^',
    [T_LT] = '<', [T_LE] = TOK_LE, [T_GT] = '>', [T_GE] = TOK_GE,
    [T_EQ] = TOK_EQ, [T_NE] = TOK_NE,
};

static int yylex(YYSTYPE *val, Span *loc, Parser *ctx)
{
    if (ctx->start) {
        int t = ctx->start;
        ctx->start = 0;
        *loc = (Span){ ctx->lx.file, 1, 1, 1, 0 };
        return t;
    }
    if (!room(ctx)) {
        /* Stop reading: end of input ends error recovery without a report. */
        if (!ctx->gave_up)
            diag_note(ctx->diag, "too many errors, stopping here");
        ctx->gave_up = true;
        *loc = (Span){ ctx->lx.file, ctx->lx.line, 1, ctx->lx.line, 0 };
        return TOK_YYEOF;
    }
    Token t;
    lex_next(&ctx->lx, &t);
    *loc = t.span;
    if (t.kind == T_IDENT)
        val->TOK_IDENT = t.text;
    else if (t.kind == T_STRING)
        val->TOK_STRING = t.text;
    else if (t.kind == T_NUMBER)
        val->TOK_NUMBER = t;
    return token_of[t.kind];
}

/* ---- syntax errors ---- */

/* Bison calls this only when its stack is full (YYMAXDEPTH states):
 * syntax errors go through yyreport_syntax_error. */
static void yyerror(const Span *loc, Parser *ctx, const char *msg)
{
    (void)msg;
    if (room(ctx))
        diag_error(ctx->diag, *loc, "input nested too deeply: the parser holds at most %d "
                   "open constructs", YYMAXDEPTH);
}

/* Expected tokens that read better as one phrase when all of them are
 * expected ("expected an expression"). */
typedef struct Group {
    const char *label;
    int tokens[9];
    int n;
} Group;

enum { G_EXPRESSION, G_STATEMENT, G_ITEM, G_COUNT };

static const Group groups[G_COUNT] = {
    [G_EXPRESSION] = { "an expression",
      { TOK_IDENT, TOK_NUMBER, TOK_STRING, TOK_TRUE, TOK_FALSE, TOK_NOT, '-', '(', '[' }, 9 },
    [G_STATEMENT] = { "a statement",
      { TOK_INPUT, TOK_IDENT, TOK_LAYER, TOK_FOR, TOK_IF, TOK_RETURN }, 6 },
    [G_ITEM] = { "an item",
      { TOK_IMPORT, TOK_LET, TOK_MODEL, TOK_DEF, TOK_SETTINGS, TOK_TRAIN, TOK_EXPECT }, 7 },
};

/* After a complete expression every operator could follow; listing them
 * would hide the one token that is missing (a ')' or a ','). */
static const int operators[] = {
    TOK_THEN, TOK_OR, TOK_AND, '<', '>', TOK_LE, TOK_GE, TOK_EQ, TOK_NE,
    '+', '-', '*', '/', '^', '(', '[', '.',
};

enum { MAX_EXPECTED = 5, MAX_LEXEME = 30 };

static bool in_group(const Group *g, yysymbol_kind_t sym)
{
    for (int i = 0; i < g->n; i++)
        if (YYTRANSLATE(g->tokens[i]) == sym)
            return true;
    return false;
}

/* The phrases after "expected", in a fixed order: groups, then tokens. */
static int expected_phrases(const yysymbol_kind_t *syms, int n, const char **out)
{
    bool set[YYNTOKENS] = { false };
    for (int i = 0; i < n; i++)
        set[syms[i]] = true;
    if (set[YYTRANSLATE('+')])
        for (size_t i = 0; i < sizeof operators / sizeof operators[0]; i++)
            set[YYTRANSLATE(operators[i])] = false;
    int count = 0;
    bool whole[G_COUNT];
    for (int g = 0; g < G_COUNT; g++) {
        whole[g] = true;
        for (int i = 0; i < groups[g].n; i++)
            whole[g] = whole[g] && set[YYTRANSLATE(groups[g].tokens[i])];
    }
    for (int g = 0; g < G_COUNT; g++) {
        if (!whole[g])
            continue;
        out[count++] = groups[g].label;
        for (int i = 0; i < groups[g].n; i++)
            set[YYTRANSLATE(groups[g].tokens[i])] = false;
    }
    int semi = YYTRANSLATE(';');
    for (int s = 0; s < YYNTOKENS; s++)
        if (set[s] && s != semi)
            out[count++] = yysymbol_name((yysymbol_kind_t)s);
    /* ';' is always optional: name it only when nothing else fits. */
    if (count == 0 && set[semi])
        out[count++] = yysymbol_name((yysymbol_kind_t)semi);
    return count;
}

/* "identifier "foo"", "number "64"", "'}'": the lookahead as a reader sees it. */
static void describe(char *buf, size_t size, yysymbol_kind_t sym, const Lexer *lx)
{
    if (sym == YYSYMBOL_IDENT || sym == YYSYMBOL_NUMBER || sym == YYSYMBOL_STRING) {
        int len = (int)(lx->cur - lx->tok);
        const char *q = sym == YYSYMBOL_STRING ? "" : "\"";
        if (len > MAX_LEXEME)
            snprintf(buf, size, "%s %s%.*s...%s", yysymbol_name(sym), q, MAX_LEXEME,
                     (const char *)lx->tok, q);
        else
            snprintf(buf, size, "%s %s%.*s%s", yysymbol_name(sym), q, len,
                     (const char *)lx->tok, q);
    } else {
        snprintf(buf, size, "%s", yysymbol_name(sym));
    }
}

/* A hint for the slips the expected-token list alone explains badly. */
static void add_note(Parser *ctx, yysymbol_kind_t got, const yysymbol_kind_t *syms, int n)
{
    bool top = false, body = false, after_expr = false;
    for (int i = 0; i < n; i++) {
        top = top || syms[i] == YYSYMBOL_MODEL;
        body = body || syms[i] == YYSYMBOL_INPUT;
        after_expr = after_expr || syms[i] == YYTRANSLATE('+');
    }
    const Lexer *lx = &ctx->lx;
    bool comparison = got == YYTRANSLATE('<') || got == YYTRANSLATE('>') ||
                      got == YYSYMBOL_LE || got == YYSYMBOL_GE || got == YYSYMBOL_EQ ||
                      got == YYSYMBOL_NE;
    if (after_expr && comparison)
        diag_note(ctx->diag, "comparisons do not chain: write 'a < b and b < c'");
    else if (top && got == YYSYMBOL_IDENT)
        diag_note(ctx->diag, "statements belong inside a 'model' or 'def' body; "
                             "a file-level constant is written 'let NAME = expr'");
    else if (top && in_group(&groups[G_STATEMENT], got))
        diag_note(ctx->diag, "statements such as %s belong inside a 'model' or 'def' body",
                  yysymbol_name(got));
    else if (body && in_group(&groups[G_ITEM], got))
        diag_note(ctx->diag, "items such as %s belong at the top level, outside "
                             "'model' and 'def' bodies", yysymbol_name(got));
    else if (got == YYSYMBOL_YYEOF && lx->depth > 0) {
        int i = (lx->depth < LEX_MAX_OPEN ? lx->depth : LEX_MAX_OPEN) - 1;
        diag_note(ctx->diag, "the '%c' at %d:%d is not closed", lx->open_char[i],
                  lx->open[i].first_line, lx->open[i].first_column);
    }
}

static int yyreport_syntax_error(const yypcontext_t *pc, Parser *ctx)
{
    yysymbol_kind_t got = yypcontext_token(pc);
    if (ctx->entry && got == YYSYMBOL_YYEOF) {
        ctx->more = true;
        return 0;
    }
    if (!room(ctx))
        return 0;
    yysymbol_kind_t syms[YYNTOKENS];
    int nsyms = yypcontext_expected_tokens(pc, syms, YYNTOKENS);
    if (nsyms < 0)
        return nsyms == YYENOMEM ? 2 : 0;
    const char *phrases[YYNTOKENS];
    int n = expected_phrases(syms, nsyms, phrases);
    char what[MAX_LEXEME + 40], msg[512];
    describe(what, sizeof what, got, &ctx->lx);
    size_t len = (size_t)snprintf(msg, sizeof msg, "unexpected %s", what);
    if (n > 0 && n <= MAX_EXPECTED) {
        for (int i = 0; i < n && len < sizeof msg; i++) {
            const char *sep = i == 0 ? ", expected " : i == n - 1 ? " or " : ", ";
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s", sep, phrases[i]);
        }
    }
    diag_error(ctx->diag, *yypcontext_location(pc), "%s", msg);
    add_note(ctx, got, syms, nsyms);
    return 0;
}

/* ---- entry points ---- */

static void setup(Parser *ctx, Arena *arena, DiagSink *diag, int file, int start)
{
    memset(ctx, 0, sizeof *ctx);
    lex_init(&ctx->lx, arena, diag, file);
    ctx->arena = arena;
    ctx->diag = diag;
    ctx->base_errors = diag->errors;
    ctx->start = start;
}

AstNode *parse_file(Arena *arena, DiagSink *diag, int file)
{
    Parser ctx;
    setup(&ctx, arena, diag, file, TOK_START_FILE);
    int rc = yyparse(&ctx);
    if (rc != 0 || diag->errors > ctx.base_errors)
        return NULL;
    return ctx.result;
}

ParseStatus parse_entry(Arena *arena, DiagSink *diag, int file, AstNode **out)
{
    Parser ctx;
    setup(&ctx, arena, diag, file, TOK_START_ENTRY);
    ctx.entry = true;
    *out = NULL;
    yypstate *ps = yypstate_new();
    if (!ps)
        return diag_error(diag, SPAN_NONE, "out of memory"), PARSE_ERROR;
    int status;
    do {
        YYSTYPE val;
        Span loc;
        int tok = yylex(&val, &loc, &ctx);
        status = yypush_parse(ps, tok, &val, &loc, &ctx);
    } while (status == YYPUSH_MORE);
    yypstate_delete(ps);
    if (diag->errors > ctx.base_errors)
        return PARSE_ERROR;
    if (ctx.more)
        return PARSE_MORE;
    if (status != 0)
        return PARSE_ERROR;
    *out = ctx.result;
    return PARSE_OK;
}
