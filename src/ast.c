/* ast.c — syntax tree nodes and their two printers.
 *
 * ast_print writes canonical .vg source (what `vg fmt` prints): 4-space
 * indentation, one statement per line, spaces around binary operators and
 * only the parentheses that precedence requires, so parse → print → parse
 * gives back the same tree. ast_dump writes an S-expression that shows the
 * tree's shape, for golden tests of the parser. */
#include "vg/ast.h"

#include <limits.h>
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
    case AST_OP_THEN: return "then";
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
    P_THEN = 1, P_OR, P_AND, P_NOT, P_CMP, P_SUM, P_PRODUCT, P_NEG, P_POW, P_POSTFIX, P_ATOM,
};

static int precedence(const AstNode *e)
{
    switch (e->kind) {
    case AST_UNARY:
        return e->op == AST_OP_NOT ? P_NOT : P_NEG;
    case AST_BINARY:
        switch (e->op) {
        case AST_OP_THEN: return P_THEN;
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

/* The statement-level printer. Without a source (ast_print) it writes the
 * bare layout; with one (ast_print_source) it also places the source's
 * comments and keeps single blank lines. Comments are consumed in source
 * order: before anything is printed at a position, every comment still
 * pending before that position is printed on lines of its own; when a line
 * ends, an end-of-line comment that followed the line's last token in the
 * source is printed at its end. So every comment is printed exactly once,
 * and a comment inside an expression that is printed on one line moves to
 * the line before it. */
typedef struct Printer {
    FILE *out;
    const AstComment *c;
    int nc, next;        /* comments; the first not yet printed */
    const bool *blank;   /* blank[l]: source line l holds only blanks */
    const char *text;    /* the source; line_off[l]: where its line l starts */
    const int *line_off;
    int nlines;
    int last_line;       /* the source line of what was printed last */
    bool block_start;    /* right after a '{' (or at the top): no blank line */
    bool want_blank;     /* an item that is always set apart follows */
    long line_begin;     /* output offset where the current line began */
    int name_width, call_width;  /* train items aligned as a group */
} Printer;

static void expr(const Printer *P, const AstNode *e, int min);

static void args(const Printer *P, const AstList *l)
{
    FILE *out = P->out;
    for (const AstNode *a = l->head; a; a = a->next) {
        if (a != l->head)
            fputs(", ", out);
        expr(P, a, 0);
    }
}

/* Prints e, in parentheses when it binds looser than its place needs. */
static void expr(const Printer *P, const AstNode *e, int min)
{
    FILE *out = P->out;
    if (!e) {
        fputs("<error>", out);
        return;
    }
    int p = precedence(e);
    if (p < min)
        fputc('(', out);
    switch (e->kind) {
    case AST_NUM:
        if (P->c && e->str)  /* vg fmt: "1e-3" stays "1e-3" */
            fputs(e->str, out);
        else
            ast_print_num(out, e->num);
        break;
    case AST_STR: ast_print_str(out, e->str); break;
    case AST_BOOL: fputs(e->boolean ? "true" : "false", out); break;
    case AST_NAME: fputs(e->str, out); break;
    case AST_UNARY:
        fputs(e->op == AST_OP_NOT ? "not " : "-", out);
        /* "-(-x)", not "--x", which reads like a decrement. */
        expr(P, e->a, e->op == AST_OP_NOT ? p : P_POW);
        break;
    case AST_BINARY:
        /* Left-associative operators repeat on the left, '^' on the right;
         * comparisons do not chain, so neither side may be one. */
        expr(P, e->a, e->op == AST_OP_POW ? P_POSTFIX : p == P_CMP ? p + 1 : p);
        fprintf(out, " %s ", ast_op_name(e->op));
        expr(P, e->b, e->op == AST_OP_POW ? P_NEG : p + 1);
        break;
    case AST_CALL:
        expr(P, e->a, P_POSTFIX);
        fputc('(', out);
        args(P, &e->list);
        fputc(')', out);
        break;
    case AST_KWARG:
        fprintf(out, "%s = ", e->str);
        expr(P, e->a, 0);
        break;
    case AST_MEMBER:
        expr(P, e->a, P_POSTFIX);
        fprintf(out, ".%s", e->str);
        break;
    case AST_INDEX:
        expr(P, e->a, P_POSTFIX);
        fputc('[', out);
        args(P, &e->list);
        fputc(']', out);
        break;
    case AST_STAR:
        fputc('*', out);
        break;
    case AST_LIST:
        fputc('[', out);
        args(P, &e->list);
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


static bool before(const AstComment *c, int line, int col)
{
    return c->span.first_line < line || (c->span.first_line == line && c->span.first_column < col);
}

/* Starts an output line for what begins at source line `line`. */
static void line_start(Printer *P, int line, int indent)
{
    bool blank = P->want_blank;
    if (P->blank && !P->block_start)
        for (int l = P->last_line + 1; l < line && l <= P->nlines && !blank; l++)
            blank = P->blank[l];
    if (blank && !P->block_start)
        fputc('\n', P->out);
    P->want_blank = P->block_start = false;
    P->line_begin = ftell(P->out);
    pad(P->out, indent);
}

/* Byte for byte: a comment may hold a NUL. */
static void put_comment(const Printer *P, const AstComment *c)
{
    fwrite(c->text, 1, (size_t)(c->span.last_column - c->span.first_column + 1), P->out);
}

/* Prints the pending comments that start before line:col on lines of their own. */
static void flush(Printer *P, int line, int col, int indent)
{
    for (; P->next < P->nc && before(&P->c[P->next], line, col); P->next++) {
        const AstComment *c = &P->c[P->next];
        line_start(P, c->span.first_line, indent);
        put_comment(P, c);
        fputc('\n', P->out);
        P->last_line = c->span.last_line;
    }
}

/* Ends an output line whose last token stands at line:col in the source. */
static void end_line(Printer *P, int line, int col)
{
    if (P->next < P->nc) {
        const AstComment *c = &P->c[P->next];
        if (c->after_line == line && c->after_col == col && c->span.first_line == line) {
            /* In the source's column when the token before it has not
             * moved, so that comments aligned over several lines stay
             * aligned; else two spaces after the line. */
            int at = (int)(ftell(P->out) - P->line_begin);
            int gap = at == c->after_col ? c->span.first_column - 1 - at : 2;
            fprintf(P->out, "%*s", gap >= 2 ? gap : 2, "");
            put_comment(P, c);
            P->next++;
        }
    }
    fputc('\n', P->out);
    P->last_line = line;
}

static void print_stmt(Printer *P, const AstNode *n, int indent);

/* The comments left in a block, and its "}" (no newline after it). */
static void close_block(Printer *P, const AstList *l, int indent)
{
    flush(P, l->close.first_line, l->close.first_column, indent + 1);
    P->line_begin = ftell(P->out);
    pad(P->out, indent);
    fputc('}', P->out);
    P->block_start = false;
}

/* " {", the statements, and the closing "}" (no newline after it). */
static void body(Printer *P, const AstList *l, int indent)
{
    fputs(" {", P->out);
    end_line(P, l->open.last_line, l->open.last_column);
    P->block_start = true;
    for (const AstNode *s = l->head; s; s = s->next)
        print_stmt(P, s, indent + 1);
    close_block(P, l, indent);
}

/* `key = value` lines with the '=' signs aligned, as in settings blocks. */
static void key_values(Printer *P, const AstList *l, int indent)
{
    int width = 0;
    for (const AstNode *kv = l->head; kv; kv = kv->next)
        if ((int)strlen(kv->str) > width)
            width = (int)strlen(kv->str);
    fputs(" {", P->out);
    end_line(P, l->open.last_line, l->open.last_column);
    P->block_start = true;
    for (const AstNode *kv = l->head; kv; kv = kv->next) {
        flush(P, kv->span.last_line, kv->span.last_column, indent + 1);
        line_start(P, kv->span.first_line, indent + 1);
        fprintf(P->out, "%-*s = ", width, kv->str);
        expr(P, kv->a, 0);
        end_line(P, kv->span.last_line, kv->span.last_column);
    }
    close_block(P, l, indent);
}

static void if_chain(Printer *P, const AstNode *n, int indent)
{
    fputs("if ", P->out);
    expr(P, n->a, 0);
    body(P, &n->list, indent);
    if (n->list2.n == 1 && n->list2.head->kind == AST_IF) {
        fputs(" else ", P->out);
        if_chain(P, n->list2.head, indent);
    } else if (n->list2.n > 0) {
        fputs(" else", P->out);
        body(P, &n->list2, indent);
    }
}

static void params(const Printer *P, const AstList *l)
{
    FILE *out = P->out;
    fputc('(', out);
    for (const AstNode *p = l->head; p; p = p->next) {
        if (p != l->head)
            fputs(", ", out);
        fputs(p->str, out);
        if (p->a) {
            fputs(" = ", out);
            expr(P, p->a, 0);
        }
    }
    fputc(')', out);
}

/* Where the first line of a statement or item ends: at its '{' when it has
 * a body printed over several lines, else at its end. */
static const AstList *opened(const AstNode *n)
{
    switch (n->kind) {
    case AST_LAYER: case AST_FOR: case AST_IF: case AST_SETTINGS: return &n->list;
    case AST_MODEL: case AST_DEF: return &n->list2;
    case AST_TRAIN: return n->list.n > 1 ? &n->list : NULL;
    default: return NULL;
    }
}

/* A condition the source breaks over several lines (a long expect) keeps
 * its line breaks: printed as written, when no comment is inside it. It is
 * printed only at the top level, so its continuation lines keep their
 * place. */
static bool verbatim(const Printer *P, const AstNode *e)
{
    const Span *s = &e->span;
    if (!P->line_off || s->first_line == s->last_line)
        return false;
    if (P->next < P->nc && before(&P->c[P->next], s->last_line, s->last_column))
        return false;
    const char *from = P->text + P->line_off[s->first_line] + s->first_column - 1;
    const char *to = P->text + P->line_off[s->last_line] + s->last_column;
    fwrite(from, 1, (size_t)(to - from), P->out);
    return true;
}

static void print_stmt(Printer *P, const AstNode *n, int indent)
{
    FILE *out = P->out;
    /* Comments inside a header or a one-line statement go before it. */
    const AstList *block = opened(n);
    if (block)
        flush(P, block->open.first_line, block->open.first_column, indent);
    else
        flush(P, n->span.last_line, n->span.last_column, indent);
    line_start(P, n->span.first_line, indent);
    switch (n->kind) {
    case AST_INPUT:
        fprintf(out, "input %s[", n->str);
        args(P, &n->list);
        fputc(']', out);
        break;
    case AST_ASSIGN:
        fprintf(out, "%s = ", n->str);
        expr(P, n->a, 0);
        break;
    case AST_LAYER:
        fprintf(out, "layer %s", n->str);
        if (n->b) {
            fputc('[', out);
            expr(P, n->b, 0);
            fputc(']', out);
        }
        body(P, &n->list, indent);
        break;
    case AST_FOR:
        fprintf(out, "for %s in ", n->str);
        expr(P, n->a, 0);
        fputs("..", out);
        expr(P, n->b, 0);
        body(P, &n->list, indent);
        break;
    case AST_IF:
        if_chain(P, n, indent);
        break;
    case AST_RETURN:
        fputs("return ", out);
        expr(P, n->a, 0);
        break;
    case AST_EXPR_STMT:
        expr(P, n->a, 0);
        break;
    case AST_IMPORT:
        fputs("import ", out);
        ast_print_str(out, n->str);
        break;
    case AST_LET:
        fprintf(out, "let %s = ", n->str);
        expr(P, n->a, 0);
        break;
    case AST_MODEL:
    case AST_DEF:
        fprintf(out, "%s %s", n->kind == AST_MODEL ? "model" : "def", n->str);
        if (n->boolean || n->list.n > 0)
            params(P, &n->list);
        body(P, &n->list2, indent);
        break;
    case AST_SETTINGS:
        fprintf(out, "settings %s", n->str);
        if (n->str2)
            fprintf(out, " with %s", n->str2);
        key_values(P, &n->list, indent);
        break;
    case AST_TRAIN: {
        fprintf(out, "train %s", n->str);
        if (n->list2.n) {
            fputc('[', out);
            for (const AstNode *x = n->list2.head; x; x = x->next) {
                fprintf(out, "%s%s in ", x == n->list2.head ? "" : ", ", x->str);
                expr(P, x->a, 0);
                if (x->b) {
                    fputs("..", out);
                    expr(P, x->b, 0);
                }
            }
            fputc(']', out);
        }
        int pad_name = P->name_width - (int)strlen(n->str);
        fprintf(out, "%*s = ", pad_name > 0 ? pad_name : 0, "");
        long call = ftell(out);
        expr(P, n->a, 0);
        if (n->str2)
        {
            int gap = P->call_width - (int)(ftell(out) - call);
            fprintf(out, "%*s with %s", gap > 0 ? gap : 0, "", n->str2);
        }
        if (n->list.n == 1) {
            fprintf(out, " { %s = ", n->list.head->str);
            expr(P, n->list.head->a, 0);
            fputs(" }", out);
        } else if (n->list.n > 1) {
            key_values(P, &n->list, indent);
        }
        break;
    }
    case AST_EXPECT:
        fputs("expect ", out);
        if (!verbatim(P, n->a))
            expr(P, n->a, 0);
        if (n->str2) {
            /* A message the source put on a line of its own stays there. */
            bool own_line = P->blank && n->span.last_line > n->a->span.last_line;
            fputs(own_line ? ",\n" : ", ", out);
            if (own_line) {
                P->line_begin = ftell(out);
                fputs("       ", out);
            }
            ast_print_str(out, n->str2);
        }
        break;
    default:
        fprintf(out, "<%s>", ast_kind_name(n->kind));
        break;
    }
    end_line(P, n->span.last_line, n->span.last_column);
}

/* Short items of one kind stay together; everything else is set apart. */
static bool grouped(const AstNode *a, const AstNode *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == AST_TRAIN)  /* a train with a block of overrides is long */
        return a->list.n <= 1 && b->list.n <= 1;
    return a->kind == AST_IMPORT || a->kind == AST_LET || a->kind == AST_TRAIN ||
           a->kind == AST_EXPECT;
}

static int expr_width(const Printer *P, const AstNode *e)
{
    char *buf = NULL;
    size_t len = 0;
    Printer m = *P;
    m.out = open_memstream(&buf, &len);
    if (!m.out)
        return 0;
    expr(&m, e, 0);
    fclose(m.out);
    free(buf);
    return (int)len;
}

/* Train items on consecutive lines, each on one line and none a family,
 * line up their '=' and 'with' as a table: from `first` on, sets the widths for its group
 * and returns the group's last item. */
static const AstNode *align_trains(Printer *P, const AstNode *first)
{
    P->name_width = P->call_width = 0;
    const AstNode *last = first;
    if (first->kind != AST_TRAIN || first->list.n > 1 || first->list2.n > 0)
        return first;
    for (const AstNode *t = first; t; t = t->next) {
        if (t != first && (t->kind != AST_TRAIN || t->list.n > 1 || t->list2.n > 0 ||
                           t->span.first_line != last->span.last_line + 1))
            break;
        last = t;
        int name = (int)strlen(t->str), call = expr_width(P, t->a);
        P->name_width = name > P->name_width ? name : P->name_width;
        P->call_width = call > P->call_width ? call : P->call_width;
    }
    return last;
}

static void program(Printer *P, const AstNode *n)
{
    P->block_start = true;
    const AstNode *group_end = NULL;
    for (const AstNode *it = n->list.head; it; it = it->next) {
        if (!group_end)
            group_end = align_trains(P, it);
        print_stmt(P, it, 0);
        if (it == group_end)
            group_end = NULL;
        P->want_blank = it->next && !grouped(it, it->next);
    }
    P->want_blank = false;
    flush(P, INT_MAX, INT_MAX, 0);
}

void ast_print(FILE *out, const AstNode *n, int indent)
{
    if (!n)
        return;
    Printer P = {.out = out};
    switch (n->kind) {
    case AST_PROGRAM:
        program(&P, n);
        return;
    case AST_PARAM:
        fputs(n->str, out);
        if (n->a) {
            fputs(" = ", out);
            expr(&P, n->a, 0);
        }
        return;
    case AST_NUM: case AST_STR: case AST_BOOL: case AST_NAME: case AST_UNARY:
    case AST_BINARY: case AST_CALL: case AST_KWARG: case AST_MEMBER: case AST_INDEX:
    case AST_STAR: case AST_LIST:
        expr(&P, n, 0);
        return;
    default:
        print_stmt(&P, n, indent);
        return;
    }
}

char *ast_text(const AstNode *n)
{
    MemText t;
    ast_print(mem_text_open(&t), n, 0);
    return mem_text_close(&t);
}

bool ast_all_defaults(const AstNode *fn)
{
    for (const AstNode *q = fn->list.head; q; q = q->next)
        if (!q->a)
            return false;
    return true;
}

void ast_print_source(FILE *out, const AstNode *prog, const char *text, size_t len,
                      const AstComment *comments, int ncomments)
{
    int nlines = 1;
    for (const char *s = text; s < text + len; s++)
        nlines += *s == '\n';
    bool *blank = xcalloc((size_t)nlines + 2, sizeof *blank);
    int *line_off = xcalloc((size_t)nlines + 2, sizeof *line_off);
    int line = 1;
    blank[1] = true;
    for (const char *s = text; s < text + len; s++) {
        if (*s == '\n') {
            blank[++line] = true;
            line_off[line] = (int)(s + 1 - text);
        } else if (*s != ' ' && *s != '\t' && *s != '\r') {
            blank[line] = false;
        }
    }
    Printer P = {.out = out, .c = comments, .nc = ncomments, .blank = blank, .nlines = nlines,
                 .text = text, .line_off = line_off};
    program(&P, prog);
    free(blank);
    free(line_off);
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
