/* expect.h — checking a program's `expect` lines after its runs.
 *
 * Each expect is evaluated against the runs' reports. A comparison also
 * records both sides' values, so a failure can say what was measured. An
 * expect that names a run which did not train (`vg run --run NAME`) is
 * skipped, not failed. */
#ifndef VG_EXPECT_H
#define VG_EXPECT_H

#include <stdbool.h>
#include <stdio.h>
#include "vg/train.h"

typedef enum ExpectOutcome { EXPECT_PASS, EXPECT_FAIL, EXPECT_SKIP, EXPECT_ERROR } ExpectOutcome;

/* A list an aggregate of the expect reduced (sig[*].final.loss in
 * fraction(sig[*].final.loss < 0.9)), summarised for the reader. */
typedef struct ListSummary {
    const AstNode *expr;     /* the list's expression */
    int n;                   /* elements */
    bool booleans;           /* a list of booleans: trues counts them */
    int trues;
    int holds;               /* the list is one side of a comparison the
                                aggregate reduces: how many elements hold
                                it; else -1 */
    int nans;                /* numbers that are NaN */
    double min, median, max; /* numbers, over those not NaN (NaN if none) */
} ListSummary;

typedef struct ExpectResult {
    const AstNode *ast;      /* the AST_EXPECT item */
    ExpectOutcome outcome;
    bool has_sides;          /* the condition is a comparison */
    Value lhs, rhs;
    const ListSummary *lists;  /* program arena; after a PASS or FAIL */
    int nlists;
} ExpectResult;

/* Checks every expect of p into results (p->nexpects entries). Returns the
 * exit status they imply: 0 all held or were skipped, 1 one failed, 2 one
 * could not be evaluated (its diagnostic is in p->diag). */
int expect_check_all(Program *p, const RunSet *rs, ExpectResult *results);
/* Checks one AST_EXPECT item (the REPL's, as it is entered); the same
 * status for it alone. */
int expect_check_one(Program *p, const RunSet *rs, const AstNode *item, ExpectResult *res);
/* Checks, before any training, that items[0..n) (AST_EXPECT) resolve:
 * every run, family member, layer, metric, `bptt` (recurrent layers only)
 * and time step, list and family index, aggregate and type, against
 * placeholder reports of the prepared runs (metrics_placeholder), `and`
 * and `or` evaluating both sides. false, with a diagnostic at each mistake,
 * if one does not; the runs are left as they were. Expects naming a run
 * that was not prepared are left to expect_check_all. */
bool expect_check_static(Program *p, RunSet *rs, const AstNode *const *items, int n);
const char *expect_outcome_name(ExpectOutcome o);

#endif
