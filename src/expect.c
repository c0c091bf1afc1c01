/* expect.c — evaluating and printing `expect` lines.
 *
 * A failing expect prints the expression, both sides' measured values and
 * the author's message, so a claim that stopped holding explains itself. */
#include "vg/expect.h"

#include <string.h>

#include "vg/report.h"

const char *expect_outcome_name(ExpectOutcome o)
{
    static const char *const names[] = {
        [EXPECT_PASS] = "PASS", [EXPECT_FAIL] = "FAIL", [EXPECT_SKIP] = "SKIP",
        [EXPECT_ERROR] = "ERROR",
    };
    return names[o];
}

static bool untrained(const RunSet *rs, const Value *v)
{
    if (v->kind == VAL_RUN)
        return rs->runs[v->run]->nreports == 0;
    for (int i = 0; v->kind == VAL_LIST && i < v->len; i++)
        if (untrained(rs, &v->items[i]))
            return true;
    return false;
}

/* True if the expression names a run that has not trained: a run, a
 * member of a family (grid[20, 0.5]), or a family whose selected members
 * (sig[*], grid[*, 1]) or any member (a bare family name) did not. */
static bool names_untrained_run(Program *p, const AstNode *n, const RunSet *rs)
{
    if (!n)
        return false;
    if (n->kind == AST_NAME) {
        int r = runset_find(rs, n->str);
        if (r >= 0)
            return rs->runs[r]->nreports == 0;
        const AstNode *family = runset_find_family(rs, n->str);
        for (int i = 0; family && i < rs->n; i++)
            if (rs->runs[i]->ast == family && rs->runs[i]->nreports == 0)
                return true;
        return false;
    }
    if (n->kind == AST_INDEX && n->a->kind == AST_NAME && runset_find_family(rs, n->a->str)) {
        Value v;
        bool skip = false;
        for (const AstNode *c = n->list.head; c; c = c->next)
            skip |= names_untrained_run(p, c, rs);
        /* a selection that does not evaluate is reported by the check itself */
        return skip || (elab_eval(p, rs, n, &v) && untrained(rs, &v));
    }
    if (names_untrained_run(p, n->a, rs) || names_untrained_run(p, n->b, rs))
        return true;
    for (const AstNode *c = n->list.head; c; c = c->next)
        if (names_untrained_run(p, c, rs))
            return true;
    return false;
}

static bool is_comparison(const AstNode *n)
{
    if (n->kind != AST_BINARY)
        return false;
    switch (n->op) {
    case AST_OP_LT: case AST_OP_GT: case AST_OP_LE: case AST_OP_GE:
    case AST_OP_EQ: case AST_OP_NE:
        return true;
    default:
        return false;
    }
}

static ExpectOutcome check_one(Program *p, const RunSet *rs, const AstNode *item,
                               ExpectResult *res)
{
    const AstNode *cond = item->a;
    if (names_untrained_run(p, cond, rs))
        return EXPECT_SKIP;
    if (is_comparison(cond)) {
        if (!elab_eval(p, rs, cond->a, &res->lhs) || !elab_eval(p, rs, cond->b, &res->rhs))
            return EXPECT_ERROR;
        res->has_sides = true;
    }
    Value v;
    if (!elab_eval(p, rs, cond, &v))
        return EXPECT_ERROR;
    if (v.kind == VAL_LIST) {
        diag_error(&p->diag, cond->span, "an expect must be true or false, got a list of %d",
                   v.len);
        diag_note(&p->diag, "reduce it: all(...), any(...), or fraction(...) >= 0.9");
        return EXPECT_ERROR;
    }
    if (v.kind != VAL_BOOL) {
        diag_error(&p->diag, cond->span, "an expect must be true or false, got a %s",
                   value_kind_name(v.kind));
        return EXPECT_ERROR;
    }
    return v.num ? EXPECT_PASS : EXPECT_FAIL;
}

static int status_of(ExpectOutcome o)
{
    return o == EXPECT_ERROR ? 2 : o == EXPECT_FAIL ? 1 : 0;
}

int expect_check_one(Program *p, const RunSet *rs, const AstNode *item, ExpectResult *res)
{
    memset(res, 0, sizeof *res);
    res->ast = item;
    res->outcome = check_one(p, rs, item, res);
    return status_of(res->outcome);
}

int expect_check_all(Program *p, const RunSet *rs, ExpectResult *results)
{
    int status = 0;
    for (int i = 0; i < p->nexpects; i++) {
        int s = expect_check_one(p, rs, p->expects[i], &results[i]);
        status = s > status ? s : status;
    }
    return status;
}

static void print_side(FILE *out, const Value *v)
{
    char buf[32];
    if (v->kind == VAL_NUM)
        fputs(report_num(v->num, buf, sizeof buf), out);
    else
        value_print(out, v);
}

void expect_print(FILE *out, const Program *p, const ExpectResult *results, int n, bool color)
{
    if (n == 0)
        return;
    fputs("expect\n", out);
    for (int i = 0; i < n; i++) {
        const ExpectResult *r = &results[i];
        const Span *s = &r->ast->span;
        const char *col = r->outcome == EXPECT_PASS ? "\033[32m"
                        : r->outcome == EXPECT_SKIP ? "\033[33m" : "\033[31m";
        fprintf(out, "  %s%s%s  ", color ? col : "", expect_outcome_name(r->outcome),
                color ? "\033[0m" : "");
        fprintf(out, "%s:%d: ", p->sources.files[s->file].path, s->first_line);
        ast_print(out, r->ast->a, 0);
        if (r->has_sides && r->outcome != EXPECT_ERROR) {
            fputs("  [", out);
            print_side(out, &r->lhs);
            fprintf(out, " %s ", ast_op_name(r->ast->a->op));
            print_side(out, &r->rhs);
            fputc(']', out);
        }
        if (r->outcome == EXPECT_SKIP)
            fputs("  (its run was not trained)", out);
        if (r->ast->str2)
            fprintf(out, "  %s", r->ast->str2);
        fputc('\n', out);
    }
}
