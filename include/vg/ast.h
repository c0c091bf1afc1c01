/* ast.h — the syntax tree the parser builds.
 *
 * One node type for every construct keeps the grammar's actions trivial
 * (they only call ast_new and link children) and makes printers and walkers
 * one switch each. Nodes live in the parse arena; nothing is freed one by one.
 * The AST records what was written, nothing more: names are not resolved and
 * no shapes exist here (see elab.h). */
#ifndef VG_AST_H
#define VG_AST_H

#include <stdbool.h>
#include <stdio.h>
#include "vg/arena.h"
#include "vg/diag.h"

typedef enum AstKind {
    /* expressions */
    AST_NUM,      /* num; str = as written ("1e-3"), NULL when made by vg */
    AST_STR,      /* str (escapes already decoded) */
    AST_BOOL,     /* boolean */
    AST_NAME,     /* str: identifier */
    AST_UNARY,    /* op: '-' or AST_OP_NOT; a = operand */
    AST_BINARY,   /* op: see AstOp; a, b = operands */
    AST_CALL,     /* a = callee; list = arguments (AST_KWARG for keywords) */
    AST_KWARG,    /* str = keyword; a = value */
    AST_MEMBER,   /* a = object; str = member name */
    AST_INDEX,    /* a = object; list = indices (expressions or AST_STAR) */
    AST_STAR,     /* `*` in an index: every value of a family's axis */
    AST_LIST,     /* list = elements: a list literal [a, b, …] */
    /* statements (model and def bodies) */
    AST_INPUT,    /* str = name; list = dimension expressions */
    AST_ASSIGN,   /* str = name; a = value */
    AST_LAYER,    /* str = name; b = index expression or NULL; list = body */
    AST_FOR,      /* str = variable; a = low, b = high; list = body */
    AST_IF,       /* a = condition; list = then; list2 = else (may be empty);
                     an `else if` is an else list holding one AST_IF */
    AST_RETURN,   /* a = value */
    AST_EXPR_STMT,/* a = expression (REPL entries only) */
    /* items (top level; AST_LET, AST_EXPECT also usable in the REPL) */
    AST_IMPORT,   /* str = path */
    AST_LET,      /* str = name; a = value */
    AST_MODEL,    /* str = name; list = params (AST_PARAM); list2 = body;
                     boolean: the parameter list was written, even as "()" */
    AST_DEF,      /* same layout as AST_MODEL */
    AST_PARAM,    /* str = name; a = default or NULL */
    AST_SETTINGS, /* str = name; list = AST_KWARG entries (key = value);
                     str2 = the bundle it extends (`with`) or NULL */
    AST_TRAIN,    /* str = run name; a = AST_CALL of the model (callee AST_NAME);
                     str2 = settings bundle name or NULL;
                     list = AST_KWARG overrides;
                     list2 = AST_AXIS entries of a run family (empty: one run) */
    AST_AXIS,     /* str = variable; a = low, b = high of a range a..b;
                     or a = a list expression and b = NULL */
    AST_EXPECT,   /* a = condition; str2 = message or NULL */
    AST_PROGRAM,  /* list = items */
} AstKind;

typedef enum AstOp {
    AST_OP_ADD = '+', AST_OP_SUB = '-', AST_OP_MUL = '*', AST_OP_DIV = '/',
    AST_OP_POW = '^', AST_OP_LT = '<', AST_OP_GT = '>',
    AST_OP_LE = 256, AST_OP_GE, AST_OP_EQ, AST_OP_NE, AST_OP_AND, AST_OP_OR,
    AST_OP_NOT, AST_OP_NEG, AST_OP_THEN,
} AstOp;

typedef struct AstNode AstNode;

/* A singly linked list through AstNode.next. A body or a block of
 * settings also records where its braces are, for vg fmt's comments. */
typedef struct AstList {
    AstNode *head, *tail;
    int n;
    Span open, close;  /* '{' and '}'; zero for lists without braces */
} AstList;

/* A '#' comment, which the lexer records for vg fmt (the parser never sees
 * comments). */
typedef struct AstComment {
    Span span;                  /* '#' to the end of its line */
    int after_line, after_col;  /* the last column of the token before it;
                                   0, 0 when nothing precedes it */
    const char *text;           /* trailing blanks removed */
} AstComment;

struct AstNode {
    AstKind kind;
    Span span;
    AstNode *next;   /* sibling in the list that holds this node */
    const char *str; /* identifier, string value, keyword, name */
    const char *str2;
    double num;
    bool boolean;
    int op;          /* AstOp */
    AstNode *a, *b;
    AstList list, list2;
};

AstNode *ast_new(Arena *a, AstKind kind, Span span);
void ast_list_append(AstList *l, AstNode *n);

/* Names of kinds and operators, for printers and messages ("+", "and"). */
const char *ast_kind_name(AstKind k);
const char *ast_op_name(int op);

/* Prints a node in canonical .vg layout (used by `vg fmt`, the REPL and
 * messages); indent is the nesting depth. */
void ast_print(FILE *out, const AstNode *n, int indent);
/* What ast_print writes at indent 0, as a malloc'd string to free. */
char *ast_text(const AstNode *n);
/* Whether every parameter of a model or def (AST_MODEL, AST_DEF) has a
 * default, so that it can be called with no arguments. */
bool ast_all_defaults(const AstNode *fn);
/* Prints a whole program (AST_PROGRAM) in the same layout, with the
 * comments of its source where they were: an own-line comment before what
 * follows it, an end-of-line comment after the line of the token it
 * follows; one blank line where the source had one or more between items
 * or statements. `text` (len bytes) is the source the program was parsed
 * from. */
void ast_print_source(FILE *out, const AstNode *prog, const char *text, size_t len,
                      const AstComment *comments, int ncomments);
/* A number and a string as .vg source writes them: integers as integers,
 * other numbers in the fewest digits that read back to the same double;
 * strings quoted, with escapes. */
void ast_print_num(FILE *out, double v);
void ast_print_str(FILE *out, const char *s);
/* Prints an S-expression dump for golden tests of the parser. */
void ast_dump(FILE *out, const AstNode *n);

#endif
