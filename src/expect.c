/* expect.c — evaluating and printing `expect` lines.
 *
 * A failing expect prints the expression, both sides' measured values and
 * the author's message, so a claim that stopped holding explains itself. */
#include "vg/expect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vg/exit.h"
#include "vg/metrics.h"
#include "vg/runval.h"

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
        return skip || (runs_eval(p, rs, n, &v) && untrained(rs, &v));
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

/* Evaluates an expect's condition into v, which must be a boolean; false,
 * with a diagnostic, if it does not evaluate or is anything else. */
static bool eval_condition(Program *p, const RunSet *rs, const AstNode *cond, bool every_branch,
                           Value *v)
{
    RunValues runs = run_values(rs);
    if (!(every_branch ? elab_eval_every_branch : elab_eval)(p, &runs, cond, v))
        return false;
    if (v->kind == VAL_LIST) {
        diag_error(&p->diag, cond->span, "an expect must be true or false, got a list of %d",
                   v->len);
        diag_note(&p->diag, "reduce it: all(...), any(...), or fraction(...) >= 0.9");
        return false;
    }
    if (v->kind != VAL_BOOL)
        return diag_error(&p->diag, cond->span, "an expect must be true or false, got a %s",
                          value_kind_name(v->kind));
    return true;
}

static ExpectOutcome check_one(Program *p, const RunSet *rs, const AstNode *item,
                               ExpectResult *res)
{
    const AstNode *cond = item->a;
    if (names_untrained_run(p, cond, rs))
        return EXPECT_SKIP;
    if (is_comparison(cond)) {
        if (!runs_eval(p, rs, cond->a, &res->lhs) || !runs_eval(p, rs, cond->b, &res->rhs))
            return EXPECT_ERROR;
        res->has_sides = true;
    }
    Value v;
    if (!eval_condition(p, rs, cond, false, &v))
        return EXPECT_ERROR;
    return v.num ? EXPECT_PASS : EXPECT_FAIL;
}

bool expect_check_static(Program *p, RunSet *rs, const AstNode *const *items, int n)
{
    /* every prepared run that has no report yet gets a placeholder one */
    bool *placed = xcalloc((size_t)rs->n + 1, sizeof *placed);
    for (int i = 0; i < rs->n; i++) {
        Run *r = rs->runs[i];
        if (!r->ready || r->nreports > 0)
            continue;
        if (r->repcap < 1) {
            r->reports = xrealloc(r->reports, sizeof *r->reports);
            r->repcap = 1;
        }
        metrics_placeholder(&r->g, &r->reports[0]);
        r->nreports = placed[i] = 1;
    }
    bool ok = true;
    for (int i = 0; i < n; i++) {
        Value v;
        /* a run that was not prepared (vg run --run) has no layers to
         * resolve: its expects are skipped after the runs too */
        ok &= names_untrained_run(p, items[i]->a, rs) ||
              eval_condition(p, rs, items[i]->a, true, &v);
    }
    for (int i = 0; i < rs->n; i++)
        if (placed[i]) {
            report_free(&rs->runs[i]->reports[0], rs->runs[i]->g.nlayers);
            rs->runs[i]->nreports = 0;
        }
    free(placed);
    return ok;
}

/* ---- the lists an expect's aggregates reduce ---- */

static bool summarize(const Value *v, const AstNode *expr, int holds, ListSummary *out)
{
    if (v->kind != VAL_LIST)
        return false;
    *out = (ListSummary){.expr = expr, .n = v->len, .holds = holds, .min = NAN,
                         .median = NAN, .max = NAN};
    double *xs = malloc(sizeof *xs * (size_t)(v->len ? v->len : 1));
    int n = 0;
    for (int i = 0; i < v->len; i++) {
        const Value *x = &v->items[i];
        out->booleans = x->kind == VAL_BOOL;
        if (x->kind == VAL_BOOL)
            out->trues += x->num != 0;
        else if (x->kind == VAL_NUM && isnan(x->num))
            out->nans++;
        else if (x->kind == VAL_NUM && xs)
            xs[n++] = x->num;
    }
    if (n > 0) {
        out->median = elab_median(xs, n);  /* sorts xs */
        out->min = xs[0];
        out->max = xs[n - 1];
    }
    free(xs);
    return true;
}

static bool is_comparison(const AstNode *n);

/* For every aggregate of one list in n (fraction(xs > 0.9), median(xs)),
 * the list's summary; for a comparison inside, the side that is a list
 * of numbers and how many of its elements hold. */
static void collect_lists(Program *p, const RunSet *rs, const AstNode *n, ExpectResult *res)
{
    if (!n)
        return;
    static const char *const aggregates[] = {"all", "any", "count", "fraction", "mean",
                                             "median", "min", "max", "std"};
    bool aggregate = false;
    if (n->kind == AST_CALL && n->a->kind == AST_NAME && n->list.n == 1 &&
        n->list.head->kind != AST_KWARG && !program_lookup(p, n->a->str))
        for (size_t i = 0; i < sizeof aggregates / sizeof *aggregates; i++)
            aggregate |= strcmp(n->a->str, aggregates[i]) == 0;
    if (aggregate) {
        const AstNode *arg = n->list.head;
        Value v, side;
        ListSummary s;
        bool found = false;
        if (is_comparison(arg) && runs_eval(p, rs, arg, &v) && v.kind == VAL_LIST) {
            int holds = 0;
            for (int i = 0; i < v.len; i++)
                holds += v.items[i].kind == VAL_BOOL && v.items[i].num != 0;
            const AstNode *sides[] = {arg->a, arg->b};
            for (int k = 0; k < 2 && !found; k++)
                found = runs_eval(p, rs, sides[k], &side) && side.len == v.len &&
                        side.len > 0 && side.items[0].kind == VAL_NUM &&
                        summarize(&side, sides[k], holds, &s);
        }
        if (!found)
            found = runs_eval(p, rs, arg, &v) && summarize(&v, arg, -1, &s);
        for (int i = 0; found && i < res->nlists; i++) {
            char *a = ast_text(res->lists[i].expr), *b = ast_text(s.expr);
            found = strcmp(a, b) != 0 || res->lists[i].holds != s.holds;
            free(a);
            free(b);
        }
        if (found) {
            ListSummary *grown = arena_alloc(&p->arena, sizeof *grown * (size_t)(res->nlists + 1));
            if (res->nlists)
                memcpy(grown, res->lists, sizeof *grown * (size_t)res->nlists);
            grown[res->nlists++] = s;
            res->lists = grown;
        }
    }
    collect_lists(p, rs, n->a, res);
    collect_lists(p, rs, n->b, res);
    for (const AstNode *c = n->list.head; c; c = c->next)
        collect_lists(p, rs, c, res);
}

static int status_of(ExpectOutcome o)
{
    return o == EXPECT_ERROR ? EXIT_USAGE : o == EXPECT_FAIL ? EXIT_EXPECT : 0;
}

int expect_check_one(Program *p, const RunSet *rs, const AstNode *item, ExpectResult *res)
{
    memset(res, 0, sizeof *res);
    res->ast = item;
    res->outcome = check_one(p, rs, item, res);
    if (res->outcome == EXPECT_PASS || res->outcome == EXPECT_FAIL)
        collect_lists(p, rs, item->a, res);
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
