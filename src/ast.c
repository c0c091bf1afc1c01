/* ast.c — syntax tree nodes and their two printers.
 *
 * ast_print writes canonical .vg source (what `vg fmt` prints): 4-space
 * indentation, one statement per line, spaces around binary operators and
 * only the parentheses that precedence requires, so parse → print → parse
 * gives back the same tree. ast_dump writes an S-expression that shows the
 * tree's shape, for golden tests of the parser. */
#include "vg/ast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

AstNode *ast_new(Arena *a, AstKind kind, Span span)
{
    AstNode *n = arena_alloc(a, sizeof *n);
    n->kind = kind;
    n->span = span;
    return n;
}

void ast_list_append(AstList *l, AstNode *n)
{
    n->next = NULL;
    if (l->tail)
        l->tail->next = n;
    else
        l->head = n;
    l->tail = n;
    l->n++;
}

static const char *const kind_names[] = {
    [AST_NUM] = "num", [AST_STR] = "str", [AST_BOOL] = "bool", [AST_NAME] = "name",
    [AST_UNARY] = "unary", [AST_BINARY] = "binary", [AST_CALL] = "call",
    [AST_KWARG] = "kwarg", [AST_MEMBER] = "member", [AST_INDEX] = "index",
    [AST_STAR] = "*", [AST_LIST] = "list", [AST_AXIS] = "axis",
    [AST_INPUT] = "input", [AST_ASSIGN] = "assign", [AST_LAYER] = "layer",
    [AST_FOR] = "for", [AST_IF] = "if", [AST_RETURN] = "return",
    [AST_EXPR_STMT] = "expr", [AST_IMPORT] = "import", [AST_LET] = "let",
    [AST_MODEL] = "model", [AST_DEF] = "def", [AST_PARAM] = "param",
    [AST_SETTINGS] = "settings", [AST_TRAIN] = "train", [AST_EXPECT] = "expect",
    [AST_PROGRAM] = "program",
};

const char *ast_kind_name(AstKind k)
{
    if ((unsigned)k >= sizeof kind_names / sizeof kind_names[0] || !kind_names[k])
        return "?";
    return kind_names[k];
}

const char *ast_op_name(int op)
{
    switch (op) {
    case AST_OP_ADD: return "+";
    case AST_OP_SUB: case AST_OP_NEG: return "-";
    case AST_OP_MUL: return "*";
    case AST_OP_DIV: return "/";
    case AST_OP_POW: return "^";
    case AST_OP_LT: return "<";
    case AST_OP_GT: return ">";
    case AST_OP_LE: return "<=";
    case AST_OP_GE: return ">=";
    case AST_OP_EQ: return "==";
    case AST_OP_NE: return "!=";
    case AST_OP_AND: return "and";
    case AST_OP_OR: return "or";
    case AST_OP_NOT: return "not";
    default: return "?";
    }
}

/* ---- shared pieces ---- */

/* Integers as integers; anything else in the fewest digits that read back
 * to the same double, with C's "e-05" shortened to "e-5". */
void ast_print_num(FILE *out, double v)
{
    char buf[40];
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, sizeof buf, "%.0f", v);
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
    }
    char *e = strchr(buf, 'e');
    if (e) {
        char *digits = e + 1;
        if (*digits == '+')
            memmove(digits, digits + 1, strlen(digits));
        else if (*digits == '-')
            digits++;
        while (digits[0] == '0' && digits[1])
            memmove(digits, digits + 1, strlen(digits));
    }
    fputs(buf, out);
}

void ast_print_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", out);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

/* ---- canonical source ---- */

/* Binding strength, loosest first; the grammar's %left/%right lines. */
enum {
    P_OR = 1, P_AND, P_NOT, P_CMP, P_SUM, P_PRODUCT, P_NEG, P_POW, P_POSTFIX, P_ATOM,
};

static int precedence(const AstNode *e)
{
    switch (e->kind) {
    case AST_UNARY:
        return e->op == AST_OP_NOT ? P_NOT : P_NEG;
    case AST_BINARY:
        switch (e->op) {
        case AST_OP_OR: return P_OR;
        case AST_OP_AND: return P_AND;
        case AST_OP_ADD: case AST_OP_SUB: return P_SUM;
        case AST_OP_MUL: case AST_OP_DIV: return P_PRODUCT;
        case AST_OP_POW: return P_POW;
        default: return P_CMP;
        }
    case AST_CALL: case AST_MEMBER: case AST_INDEX:
        return P_POSTFIX;
    default:
        return P_ATOM;
    }
}

static void expr(FILE *out, const AstNode *e, int min);

static void args(FILE *out, const AstList *l)
{
    for (const AstNode *a = l->head; a; a = a->next) {
        if (a != l->head)
            fputs(", ", out);
        expr(out, a, 0);
    }
}

/* Prints e, in parentheses when it binds looser than its place needs. */
static void expr(FILE *out, const AstNode *e, int min)
{
    if (!e) {
        fputs("<error>", out);
        return;
    }
    int p = precedence(e);
    if (p < min)
        fputc('(', out);
    switch (e->kind) {
    case AST_NUM: ast_print_num(out, e->num); break;
    case AST_STR: ast_print_str(out, e->str); break;
    case AST_BOOL: fputs(e->boolean ? "true" : "false", out); break;
    case AST_NAME: fputs(e->str, out); break;
    case AST_UNARY:
        fputs(e->op == AST_OP_NOT ? "not " : "-", out);
        /* "-(-x)", not "--x", which reads like a decrement. */
        expr(out, e->a, e->op == AST_OP_NOT ? p : P_POW);
        break;
    case AST_BINARY:
        /* Left-associative operators repeat on the left, '^' on the right;
         * comparisons do not chain, so neither side may be one. */
        expr(out, e->a, e->op == AST_OP_POW ? P_POSTFIX : p == P_CMP ? p + 1 : p);
        fprintf(out, " %s ", ast_op_name(e->op));
        expr(out, e->b, e->op == AST_OP_POW ? P_NEG : p + 1);
        break;
    case AST_CALL:
        expr(out, e->a, P_POSTFIX);
        fputc('(', out);
        args(out, &e->list);
        fputc(')', out);
        break;
    case AST_KWARG:
        fprintf(out, "%s = ", e->str);
        expr(out, e->a, 0);
        break;
    case AST_MEMBER:
        expr(out, e->a, P_POSTFIX);
        fprintf(out, ".%s", e->str);
        break;
    case AST_INDEX:
        expr(out, e->a, P_POSTFIX);
        fputc('[', out);
        args(out, &e->list);
        fputc(']', out);
        break;
    case AST_STAR:
        fputc('*', out);
        break;
    case AST_LIST:
        fputc('[', out);
        args(out, &e->list);
        fputc(']', out);
        break;
    default:
        fprintf(out, "<%s>", ast_kind_name(e->kind));
        break;
    }
    if (p < min)
        fputc(')', out);
}

static void pad(FILE *out, int indent)
{
    fprintf(out, "%*s", 4 * indent, "");
}

static void body(FILE *out, const AstList *l, int indent)
{
    fputs(" {\n", out);
    for (const AstNode *s = l->head; s; s = s->next)
        ast_print(out, s, indent + 1);
    pad(out, indent);
    fputc('}', out);
}

/* `key = value` lines with the '=' signs aligned, as in settings blocks. */
static void key_values(FILE *out, const AstList *l, int indent)
{
    int width = 0;
    for (const AstNode *kv = l->head; kv; kv = kv->next)
        if ((int)strlen(kv->str) > width)
            width = (int)strlen(kv->str);
    fputs(" {\n", out);
    for (const AstNode *kv = l->head; kv; kv = kv->next) {
        pad(out, indent + 1);
        fprintf(out, "%-*s = ", width, kv->str);
        expr(out, kv->a, 0);
        fputc('\n', out);
    }
    pad(out, indent);
    fputc('}', out);
}

static void if_chain(FILE *out, const AstNode *n, int indent)
{
    fputs("if ", out);
    expr(out, n->a, 0);
    body(out, &n->list, indent);
    if (n->list2.n == 1 && n->list2.head->kind == AST_IF) {
        fputs(" else ", out);
        if_chain(out, n->list2.head, indent);
    } else if (n->list2.n > 0) {
        fputs(" else", out);
        body(out, &n->list2, indent);
    }
}

static void params(FILE *out, const AstList *l)
{
    fputc('(', out);
    for (const AstNode *p = l->head; p; p = p->next) {
        if (p != l->head)
            fputs(", ", out);
        fputs(p->str, out);
        if (p->a) {
            fputs(" = ", out);
            expr(out, p->a, 0);
        }
    }
    fputc(')', out);
}

/* Short items of one kind stay together; everything else is set apart. */
static bool grouped(const AstNode *a, const AstNode *b)
{
    if (a->kind != b->kind)
        return false;
    return a->kind == AST_IMPORT || a->kind == AST_LET || a->kind == AST_TRAIN ||
           a->kind == AST_EXPECT;
}

static void program(FILE *out, const AstNode *n)
{
    for (const AstNode *it = n->list.head; it; it = it->next) {
        ast_print(out, it, 0);
        if (it->next && !grouped(it, it->next))
            fputc('\n', out);
    }
}

void ast_print(FILE *out, const AstNode *n, int indent)
{
    if (!n)
        return;
    switch (n->kind) {
    case AST_PROGRAM:
        program(out, n);
        return;
    case AST_PARAM:
        fputs(n->str, out);
        if (n->a) {
            fputs(" = ", out);
            expr(out, n->a, 0);
        }
        return;
    case AST_NUM: case AST_STR: case AST_BOOL: case AST_NAME: case AST_UNARY:
    case AST_BINARY: case AST_CALL: case AST_KWARG: case AST_MEMBER: case AST_INDEX:
    case AST_STAR: case AST_LIST:
        expr(out, n, 0);
        return;
    default:
        break;
    }
    pad(out, indent);
    switch (n->kind) {
    case AST_INPUT:
        fprintf(out, "input %s[", n->str);
        args(out, &n->list);
        fputc(']', out);
        break;
    case AST_ASSIGN:
        fprintf(out, "%s = ", n->str);
        expr(out, n->a, 0);
        break;
    case AST_LAYER:
        fprintf(out, "layer %s", n->str);
        if (n->b) {
            fputc('[', out);
            expr(out, n->b, 0);
            fputc(']', out);
        }
        body(out, &n->list, indent);
        break;
    case AST_FOR:
        fprintf(out, "for %s in ", n->str);
        expr(out, n->a, 0);
        fputs("..", out);
        expr(out, n->b, 0);
        body(out, &n->list, indent);
        break;
    case AST_IF:
        if_chain(out, n, indent);
        break;
    case AST_RETURN:
        fputs("return ", out);
        expr(out, n->a, 0);
        break;
    case AST_EXPR_STMT:
        expr(out, n->a, 0);
        break;
    case AST_IMPORT:
        fputs("import ", out);
        ast_print_str(out, n->str);
        break;
    case AST_LET:
        fprintf(out, "let %s = ", n->str);
        expr(out, n->a, 0);
        break;
    case AST_MODEL:
    case AST_DEF:
        fprintf(out, "%s %s", n->kind == AST_MODEL ? "model" : "def", n->str);
        params(out, &n->list);
        body(out, &n->list2, indent);
        break;
    case AST_SETTINGS:
        fprintf(out, "settings %s", n->str);
        key_values(out, &n->list, indent);
        break;
    case AST_TRAIN:
        fprintf(out, "train %s", n->str);
        if (n->list2.n) {
            fputc('[', out);
            for (const AstNode *x = n->list2.head; x; x = x->next) {
                fprintf(out, "%s%s in ", x == n->list2.head ? "" : ", ", x->str);
                expr(out, x->a, 0);
                if (x->b) {
                    fputs("..", out);
                    expr(out, x->b, 0);
                }
            }
            fputc(']', out);
        }
        fputs(" = ", out);
        expr(out, n->a, 0);
        if (n->str2)
            fprintf(out, " with %s", n->str2);
        if (n->list.n == 1) {
            fprintf(out, " { %s = ", n->list.head->str);
            expr(out, n->list.head->a, 0);
            fputs(" }", out);
        } else if (n->list.n > 1) {
            key_values(out, &n->list, indent);
        }
        break;
    case AST_EXPECT:
        fputs("expect ", out);
        expr(out, n->a, 0);
        if (n->str2) {
            fputs(", ", out);
            ast_print_str(out, n->str2);
        }
        break;
    default:
        fprintf(out, "<%s>", ast_kind_name(n->kind));
        break;
    }
    fputc('\n', out);
}

/* ---- S-expression dump ---- */

static void dump_list(FILE *out, const AstList *l)
{
    for (const AstNode *n = l->head; n; n = n->next) {
        fputc(' ', out);
        ast_dump(out, n);
    }
}

void ast_dump(FILE *out, const AstNode *n)
{
    if (!n) {
        fputs("<error>", out);
        return;
    }
    switch (n->kind) {
    case AST_NUM: ast_print_num(out, n->num); return;
    case AST_STR: ast_print_str(out, n->str); return;
    case AST_BOOL: fputs(n->boolean ? "true" : "false", out); return;
    case AST_NAME: fputs(n->str, out); return;
    case AST_STAR: fputc('*', out); return;
    case AST_PROGRAM:
        fputs("(program", out);
        for (const AstNode *it = n->list.head; it; it = it->next) {
            fputs("\n  ", out);
            ast_dump(out, it);
        }
        fputc(')', out);
        return;
    default:
        break;
    }
    fputc('(', out);
    switch (n->kind) {
    case AST_UNARY:
        fprintf(out, "%s ", ast_op_name(n->op));
        ast_dump(out, n->a);
        break;
    case AST_BINARY:
        fprintf(out, "%s ", ast_op_name(n->op));
        ast_dump(out, n->a);
        fputc(' ', out);
        ast_dump(out, n->b);
        break;
    case AST_CALL:
        fputs("call ", out);
        ast_dump(out, n->a);
        dump_list(out, &n->list);
        break;
    case AST_KWARG:
        fprintf(out, "= %s ", n->str);
        ast_dump(out, n->a);
        break;
    case AST_MEMBER:
        fputs(". ", out);
        ast_dump(out, n->a);
        fprintf(out, " %s", n->str);
        break;
    case AST_INDEX:
        fputs("[] ", out);
        ast_dump(out, n->a);
        dump_list(out, &n->list);
        break;
    case AST_LIST:
        fputs("list", out);
        dump_list(out, &n->list);
        break;
    case AST_AXIS:
        fprintf(out, "in %s ", n->str);
        ast_dump(out, n->a);
        if (n->b) {
            fputc(' ', out);
            ast_dump(out, n->b);
        }
        break;
    case AST_INPUT:
        fprintf(out, "input %s", n->str);
        dump_list(out, &n->list);
        break;
    case AST_ASSIGN:
    case AST_LET:
        fprintf(out, "%s %s ", ast_kind_name(n->kind), n->str);
        ast_dump(out, n->a);
        break;
    case AST_LAYER:
        fprintf(out, "layer %s", n->str);
        if (n->b) {
            fputs(" [", out);
            ast_dump(out, n->b);
            fputc(']', out);
        }
        dump_list(out, &n->list);
        break;
    case AST_FOR:
        fprintf(out, "for %s ", n->str);
        ast_dump(out, n->a);
        fputc(' ', out);
        ast_dump(out, n->b);
        dump_list(out, &n->list);
        break;
    case AST_IF:
        fputs("if ", out);
        ast_dump(out, n->a);
        fputs(" (then", out);
        dump_list(out, &n->list);
        fputc(')', out);
        if (n->list2.n > 0) {
            fputs(" (else", out);
            dump_list(out, &n->list2);
            fputc(')', out);
        }
        break;
    case AST_RETURN:
    case AST_EXPR_STMT:
        fprintf(out, "%s ", ast_kind_name(n->kind));
        ast_dump(out, n->a);
        break;
    case AST_IMPORT:
        fputs("import ", out);
        ast_print_str(out, n->str);
        break;
    case AST_MODEL:
    case AST_DEF:
        fprintf(out, "%s %s (params", ast_kind_name(n->kind), n->str);
        dump_list(out, &n->list);
        fputc(')', out);
        dump_list(out, &n->list2);
        break;
    case AST_PARAM:
        fputs(n->str, out);
        if (n->a) {
            fputc(' ', out);
            ast_dump(out, n->a);
        }
        break;
    case AST_SETTINGS:
        fprintf(out, "settings %s", n->str);
        dump_list(out, &n->list);
        break;
    case AST_TRAIN:
        fprintf(out, "train %s ", n->str);
        if (n->list2.n) {
            fputs("(axes", out);
            dump_list(out, &n->list2);
            fputs(") ", out);
        }
        ast_dump(out, n->a);
        if (n->str2)
            fprintf(out, " (with %s)", n->str2);
        dump_list(out, &n->list);
        break;
    case AST_EXPECT:
        fputs("expect ", out);
        ast_dump(out, n->a);
        if (n->str2) {
            fputc(' ', out);
            ast_print_str(out, n->str2);
        }
        break;
    default:
        fputs(ast_kind_name(n->kind), out);
        break;
    }
    fputc(')', out);
}
