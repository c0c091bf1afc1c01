/* elab.h — evaluating the language: models to IR graphs and
 * expressions to values.
 *
 * Elaboration runs a model's body once per `train`, with that run's
 * arguments: `for` loops unroll, `if`s choose, `def` calls inline, and every
 * tensor expression appends IR nodes. Blocks do not open scopes: a name bound
 * in a layer, loop or if body stays visible to the end of the model or def;
 * only a `for` variable ends with its loop. Errors are diagnostics. */
#ifndef VG_ELAB_H
#define VG_ELAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "vg/ir.h"
#include "vg/program.h"

/* Limits that keep a bad program from running away at compile time. */
enum {
    ELAB_MAX_DEPTH = 64,               /* nested def calls */
    ELAB_MAX_ITERATIONS = 1000000,     /* loop iterations per elaboration */
    ELAB_MAX_MEMBERS = 100000,         /* members of one run family */
    ELAB_MAX_AXES = 16,                /* axes of one run family */
};


/* One run a train item declares: the item itself when it has no axes, or
 * one combination of a family's axis values. The axis variables are
 * visible in the model call's arguments and in the override block. */
typedef struct Member {
    const AstNode *train;        /* the AST_TRAIN item */
    const char *name;            /* "grid[20, 0.5]"; a plain run's name */
    int index;                   /* position in its family (row-major) */
    int naxes;                   /* 0: a plain run */
    const char *const *vars;     /* the axis variables, in axis order */
    const Value *vals;           /* this member's value of each */
    const char *const *texts;    /* each value as the name spells it */
} Member;

/* The runs an expression can name (`deep.final.fc[2].ratio`), as the
 * training layer offers them (runval.h): elaboration knows runs only
 * through this. Value.run indexes them, 0 .. n-1. */
typedef struct RunValues {
    const void *ctx;
    int n;
    /* Run i's name, and the member it is (NULL: a run the REPL retired). */
    const char *(*name)(const void *ctx, int run);
    const Member *(*member)(const void *ctx, int run);
    /* The run named name, or -1; the train item of the run family named
     * name, or NULL. */
    int (*find)(const void *ctx, const char *name);
    const AstNode *(*find_family)(const void *ctx, const char *name);
    /* Member access on a run value (run.final, report.loss, layer.ratio,
     * layer.bptt …) and indexing (run.final.fc[2], ….bptt[1]); false with
     * a message in err (n bytes) when there is no such member or index. */
    bool (*get)(const void *ctx, const Value *obj, const char *name, Value *out, char *err,
                size_t n);
    bool (*index)(const void *ctx, const Value *obj, long index, Value *out, char *err,
                  size_t n);
} RunValues;

/* The one member of a train item without axes. */
Member elab_plain_member(const AstNode *train);
/* The members of a train item, in the program arena: the item itself, or
 * one per combination of a family's axis values, the last axis varying
 * fastest (grid[10, 0.5], grid[10, 1], …, grid[20, 0.5], …). Axis values
 * are evaluated at the top level (constants are visible); false with a
 * diagnostic for an empty or non-integer range, a value that is not a
 * list, a repeated value or axis, or more than ELAB_MAX_MEMBERS members. */
bool elab_members(Program *p, const AstNode *train, Member **out, int *n);
/* The text of v in member names: its canonical .vg source ("0.5",
 * "sigmoid", "\"a\""). false, with a diagnostic at `at`, for a value
 * that cannot be an axis value (a NaN, a list, a run). */
bool elab_value_text(Program *p, const Value *v, Span at, const char **out);
/* The median of xs[0..n), n > 0 (xs is sorted in place). */
double elab_median(double *xs, int n);

/* Elaborates the model called in a train item (AST_TRAIN's a) into g. */
bool elab_model(Program *p, const AstNode *call, IrGraph *g);
/* The same for a member: its axis variables are visible in the arguments. */
bool elab_member_model(Program *p, const Member *m, IrGraph *g);
/* The call a command elaborates for a model (`vg ir`, `vg gradcheck`, and
 * `vg check` for untrained models): the first train's call of model (any
 * model when NULL), with that run's arguments; else a call of model with
 * no arguments, which takes its defaults (the first model when NULL).
 * NULL when the program defines no model. Built in p's arena. */
const AstNode *elab_model_call(Program *p, const char *model);
/* Evaluates an expression at the top level (lets, expects, the REPL); runs
 * may be NULL when no run exists yet. */
bool elab_eval(Program *p, const RunValues *runs, const AstNode *expr, Value *out);
/* The same where a family member's axis variables are visible (a train
 * item's override block; settings.h), without runs. */
bool elab_eval_member(Program *p, const Member *m, const AstNode *expr, Value *out);
/* When expr (a settings value) is a name, or a call of one, that names
 * nothing, an "unknown schedule" error listing the schedules vg has, and
 * true; false, with no diagnostic, otherwise. */
bool elab_unknown_schedule(Program *p, const Member *m, const AstNode *expr);
/* A value as diagnostics name it: "0.5", "NaN", "'sigmoid'", "a tensor". */
void elab_describe(const Value *v, char *buf, size_t n);
/* Prints a value as the REPL and `expect` messages show it. */
void value_print(FILE *out, const Value *v);
/* What value_print writes, as a malloc'd string to free. */
char *value_text(const Value *v);
/* The same, with `and` and `or` evaluating both sides whatever the left
 * one's value: checking that every name of an expect resolves, before
 * the runs give its values (expect_check_static). */
bool elab_eval_every_branch(Program *p, const RunValues *runs, const AstNode *expr,
                            Value *out);
/* Every name visible at the top level, for completion and suggestions. */
int elab_global_names(Program *p, const char **out, int max);

#endif
