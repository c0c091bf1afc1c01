/* value.h — compile-time values of the language.
 *
 * Elaboration evaluates expressions to Values: numbers, strings, booleans,
 * tensors (IR node ids), ops used as values (`act = sigmoid`), and "specs" —
 * the result of calling a non-op built-in such as an init, a data set or an
 * optimizer (`sgd(lr = 0.1)`), its arguments bound to the built-in's
 * signature with defaults filled in. Values are plain data; anything they
 * point to lives in the program arena. */
#ifndef VG_VALUE_H
#define VG_VALUE_H

#include <stdbool.h>
#include "vg/arena.h"
#include "vg/diag.h"

typedef enum ValKind {
    VAL_NONE,     /* `none`, and unset optional arguments */
    VAL_NUM,
    VAL_BOOL,
    VAL_STR,
    VAL_TENSOR,   /* node: an IR node id in the graph being elaborated */
    VAL_OP,       /* op: an OpId used as a value (activations, losses) */
    VAL_SPEC,     /* spec: a bound call of a spec built-in */
    VAL_MODEL,    /* ast: the AST_MODEL */
    VAL_DEF,      /* ast: the AST_DEF */
    VAL_RUN,      /* run: index of a train run (expect, REPL) */
    VAL_REPORT,   /* run + report: a run's report (initial, final) */
    VAL_LAYERS,   /* run + report + str: the layer family "fc" awaiting [i] */
    VAL_LAYER,    /* run + report + str: one layer's metrics ("fc[1]") */
    VAL_SERIES,   /* run + report + str: a layer's bptt curve, indexed by time step */
    VAL_SHAPE,    /* shape of a tensor, printed by the REPL */
    VAL_LIST,     /* items, len: a list literal, a range of a family, or an
                     elementwise result over one */
    VAL_FAMILY,   /* ast + str: a run family (a train item with axes) */
} ValKind;

/* Which of a run's reports a value reads: the one at its first step or
 * the one at its last. */
typedef enum ReportAt { REPORT_INITIAL, REPORT_FINAL } ReportAt;

typedef struct Spec Spec;
typedef struct AstNode AstNode;

typedef struct Value {
    ValKind kind;
    double num;          /* VAL_NUM; VAL_BOOL uses num != 0 */
    const char *str;     /* VAL_STR, VAL_LAYERS, VAL_LAYER */
    int node;            /* VAL_TENSOR */
    int op;              /* VAL_OP */
    const Spec *spec;    /* VAL_SPEC */
    const AstNode *ast;  /* VAL_MODEL, VAL_DEF, VAL_FAMILY (the AST_TRAIN) */
    int run;             /* VAL_RUN .. VAL_LAYER */
    ReportAt report;     /* VAL_REPORT .. VAL_LAYER */
    const struct Value *items;  /* VAL_LIST: len values, in the program arena */
    int len;
} Value;

/* A spec built-in called with its arguments, in signature order, every
 * optional argument filled with its default. */
struct Spec {
    int id;        /* SpecId */
    int nargs;
    Value *args;
    Span span;     /* of the call, for errors found later (e.g. a CSV file) */
};

/* Argument types in signatures. */
typedef enum ArgType {
    ARG_TENSOR = 'T',   /* a tensor */
    ARG_TENSORS = '*',  /* one or more tensors (concat); last slot only */
    ARG_NUM = 'N',      /* any finite number */
    ARG_INT = 'I',      /* an integer */
    ARG_BOOL = 'B',
    ARG_STR = 'S',
    ARG_ACT = 'A',      /* an activation op */
    ARG_INIT = 'Z',     /* an init spec */
    ARG_ANY = '?',      /* checked by the consumer */
} ArgType;

/* A parsed signature such as "x:T units:I init:Z=xavier_uniform bias:B=true". */
typedef struct SigParam {
    const char *name;
    ArgType type;
    const char *dflt;  /* default as written, or NULL when required */
    bool dflt_is_num;  /* dflt is a number, parsed once into dflt_num */
    double dflt_num;
} SigParam;

enum { SIG_MAX = 12 };
typedef struct Sig {
    int n;
    SigParam p[SIG_MAX];
} Sig;

/* Parses a signature string once (static storage per string is the
 * caller's: ops and specs cache theirs). Aborts on a malformed table entry,
 * which is a programming error caught by the first test. */
void sig_parse(Sig *out, const char *text);
/* The signature of entry i of a table of signature strings (ops, specs),
 * parsed on first use into cache[i] (parsed[i] marks it done): a cache of
 * constant data, filled lazily, as vg elaborates on one thread. */
const Sig *sig_cached(Sig *cache, bool *parsed, int i, const char *text);

/* The value a default naming a built-in stands for ("tanh", an op, for
 * act:A=tanh; "xavier_uniform", an init, for init:Z=xavier_uniform): the
 * op table and a spec's construction are the caller's. VAL_NONE for a name
 * it does not know. */
typedef Value SigNameFn(void *ctx, const char *name);
/* A default as written in a signature, as a value: true or false, a
 * "string" (copied into arena), a number, none (VAL_NONE: an optional
 * argument left out), or a built-in's name, which name_fn resolves. Aborts on a name it does not know, a programming
 * error of a table. */
Value sig_default(const SigParam *p, Arena *arena, SigNameFn *name_fn, void *ctx);
/* Fills every unset slot of args (in signature order; unset: !set[i], or
 * VAL_NONE when set is NULL) that has a default with it. Returns the first
 * unset slot without a default, for the caller's diagnostic, or -1 when
 * every slot has a value. */
int sig_fill_defaults(const Sig *sig, Value *args, const bool *set, Arena *arena,
                      SigNameFn *name_fn, void *ctx);

/* ---- spec built-ins ---- */
typedef enum SpecKind {
    SPEC_INIT, SPEC_DATA, SPEC_OPTIM, SPEC_CLIP, SPEC_PRETRAIN, SPEC_SCHED,
} SpecKind;

#define X(id, name, kind, sig) id,
typedef enum SpecId {
#include "vg/specs.def"
    SPEC_COUNT
} SpecId;
#undef X

typedef struct SpecDef {
    const char *name;
    SpecKind kind;
    const char *sig;
} SpecDef;

extern const SpecDef spec_table[SPEC_COUNT];
int spec_lookup(const char *name);        /* SpecId or -1 */
const Sig *spec_sig(int id);
const char *spec_kind_name(SpecKind k);  /* "init", "data set", ... */

/* Argument access by name for consumers of a spec (never fails for names in
 * the signature; a misspelt name is a programming error and aborts). */
const Value *spec_arg(const Spec *s, const char *name);
double spec_num(const Spec *s, const char *name);

bool value_truthy(const Value *v);
const char *value_kind_name(ValKind k);   /* "number", "tensor", ... */

#endif
