/* elab.c — the evaluator: expressions to values, model bodies to IR.
 *
 * One evaluator serves models (where tensor expressions append IR nodes),
 * settings, lets, `expect` lines and the REPL (where names may also denote
 * runs and their reports). A call binds its arguments to the callee's
 * signature — an op's or a spec built-in's Sig, or a def's or model's
 * parameter list — positionals first, then keywords, then defaults. */
#include "vg/elab.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vg/ops.h"
#include "vg/parse.h"

typedef struct Binding {
    const char *name;   /* NULL once a loop variable has ended */
    Value v;
    const AstNode *arg; /* a parameter's argument at the call, while it holds its value */
} Binding;

/* One model or def invocation. Blocks inside it share the frame. */
typedef struct Frame {
    Binding *b;
    int n, cap;
    int layer;          /* layer opened in this frame, or -1 */
    const char *model;  /* the model's name in a model's frame; NULL in a def's */
} Frame;

typedef struct Elab {
    Program *p;
    DiagSink *d;
    Arena *arena;
    IrGraph *g;          /* NULL outside a model */
    const RunValues *runs;  /* NULL before any run */
    const Member *scope; /* a family member's axis variables, or NULL */
    Frame *frame;        /* NULL at the top level */
    int depth;
    long iterations;
    bool returned;
    Value ret;
    bool every_branch;   /* `and` and `or` evaluate their right side always */
    bool read_runs;      /* a name denoted a run or a family */
} Elab;

/* Identifiers that denote symbolic setting values. */
static const char *const constants[] = {"none", "all", "fail", "stop"};

static bool eval(Elab *e, const AstNode *n, Value *out);
static bool exec_block(Elab *e, const AstNode *first);
static bool int_value(Elab *e, const AstNode *n, const char *what, long lo, long *out);

static Value num_value(double x)
{
    return (Value){.kind = VAL_NUM, .num = x};
}

static Value bool_value(bool b)
{
    return (Value){.kind = VAL_BOOL, .num = b};
}

static const Member *run_member_at(const Elab *e, int run)
{
    return e->runs->member(e->runs->ctx, run);
}

/* ---- names ---- */

static Binding *frame_find(Frame *f, const char *name)
{
    if (!f)
        return NULL;
    for (int i = f->n - 1; i >= 0; i--)
        if (f->b[i].name && strcmp(f->b[i].name, name) == 0)
            return &f->b[i];
    return NULL;
}

static void frame_bind(Frame *f, const char *name, Value v)
{
    Binding *b = frame_find(f, name);
    if (b) {
        b->v = v;
        b->arg = NULL;
        return;
    }
    Binding nb = {name, v, NULL};
    VEC_PUSH(f->b, f->n, f->cap, nb);
}

/* A spec built-in used as a value: the call with no arguments. */
static bool bind_sig(Elab *e, const char *callee, const Sig *sig, const AstNode *call,
                     Span at, Value *args, int *in, int *nin);

static bool spec_value(Elab *e, int id, const AstNode *call, Span at, Value *out)
{
    const Sig *sig = spec_sig(id);
    Value *args = arena_alloc(e->arena, sizeof(Value) * (size_t)(sig->n ? sig->n : 1));
    if (!bind_sig(e, spec_table[id].name, sig, call, at, args, NULL, NULL))
        return false;
    Spec *s = arena_alloc(e->arena, sizeof *s);
    *s = (Spec){.id = id, .nargs = sig->n, .args = args, .span = at};
    *out = (Value){.kind = VAL_SPEC, .spec = s};
    return true;
}

static bool user_callable(int op)
{
    OpKind k = op_def(op)->kind;
    return k != OPK_SOURCE;
}

static bool eval_let(Elab *e, Symbol *s, Span at, Value *out);

/* Built-in names → their op and spec ids, hashed once per process (constant
 * data, as op_sig caches it; vg elaborates on one thread). A model body
 * looks up every op it calls by name, and op_lookup and spec_lookup compare
 * the name with each built-in in turn: a tenth of elaborating a deep model. */
typedef struct Builtin {
    const char *name;  /* NULL: an empty slot */
    int op, spec;      /* what op_lookup and spec_lookup return */
} Builtin;

enum { BUILTIN_SLOTS = 256 };  /* a power of two, at least twice the names */
_Static_assert(2 * (OP_COUNT + SPEC_COUNT) <= BUILTIN_SLOTS, "grow BUILTIN_SLOTS");

static Builtin *builtin_slot(Builtin *slots, const char *name)
{
    uint32_t h = 2166136261u;  /* FNV-1a, as ir.c's name index */
    for (const char *c = name; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    unsigned i = h & (BUILTIN_SLOTS - 1);
    while (slots[i].name && strcmp(slots[i].name, name) != 0)
        i = (i + 1) & (BUILTIN_SLOTS - 1);
    return &slots[i];
}

/* The first op and the first spec of each name win, as in the lookups. */
static void builtin_add(Builtin *slots, const char *name, int op, int spec)
{
    Builtin *b = builtin_slot(slots, name);
    if (!b->name)
        *b = (Builtin){name, -1, -1};
    if (b->op < 0)
        b->op = op;
    if (b->spec < 0)
        b->spec = spec;
}

static const Builtin *builtin_find(const char *name)
{
    static Builtin slots[BUILTIN_SLOTS];
    static bool built;
    if (!built) {
        for (int i = 0; i < OP_COUNT; i++)
            builtin_add(slots, op_def(i)->name, i, -1);
        for (int i = 0; i < SPEC_COUNT; i++)
            builtin_add(slots, spec_table[i].name, -1, i);
        built = true;
    }
    const Builtin *b = builtin_slot(slots, name);
    return b->name ? b : NULL;
}

/* Looks a name up: frame, then top-level items, then runs, then built-ins. */
static bool lookup(Elab *e, const char *name, Span at, Value *out, bool *found)
{
    *found = true;
    Binding *b = frame_find(e->frame, name);
    if (b) {
        *out = b->v;
        return true;
    }
    for (int i = 0; e->scope && i < e->scope->naxes; i++)
        if (strcmp(e->scope->vars[i], name) == 0) {
            *out = e->scope->vals[i];
            return true;
        }
    Symbol *s = program_lookup(e->p, name);
    if (s) {
        switch (s->kind) {
        case SYM_MODEL:
            *out = (Value){.kind = VAL_MODEL, .ast = s->ast};
            return true;
        case SYM_DEF:
            *out = (Value){.kind = VAL_DEF, .ast = s->ast};
            return true;
        case SYM_LET:
            return eval_let(e, s, at, out);
        case SYM_SETTINGS:
            return diag_error(e->d, at, "'%s' is a settings bundle; use it in a train item "
                              "(train RUN = MODEL(...) with %s)", name, name);
        }
    }
    if (e->runs) {
        int r = e->runs->find(e->runs->ctx, name);
        if (r >= 0) {
            e->read_runs = true;
            *out = (Value){.kind = VAL_RUN, .run = r};
            return true;
        }
        const AstNode *family = e->runs->find_family(e->runs->ctx, name);
        if (family) {
            e->read_runs = true;
            *out = (Value){.kind = VAL_FAMILY, .ast = family, .str = family->str};
            return true;
        }
    }
    const Builtin *builtin = builtin_find(name);
    int op = builtin ? builtin->op : -1;
    if (op >= 0 && user_callable(op)) {
        *out = (Value){.kind = VAL_OP, .op = op};
        return true;
    }
    int spec = builtin ? builtin->spec : -1;
    if (spec >= 0)
        return spec_value(e, spec, NULL, at, out);
    if (strcmp(name, "none") == 0) {
        *out = (Value){.kind = VAL_NONE};
        return true;
    }
    for (size_t i = 1; i < sizeof constants / sizeof *constants; i++)
        if (strcmp(name, constants[i]) == 0) {
            *out = (Value){.kind = VAL_STR, .str = constants[i]};
            return true;
        }
    *found = false;
    return false;
}

int elab_global_names(Program *p, const char **out, int max)
{
    int n = 0;
    for (int i = 0; i < p->nsyms && n < max; i++)
        out[n++] = p->syms[i].name;
    for (int i = 0; i < OP_COUNT && n < max; i++) {
        const char *nm = op_def(i)->name;
        if (user_callable(i) && ((nm[0] >= 'a' && nm[0] <= 'z') || nm[0] == '_'))
            out[n++] = nm;
    }
    for (int i = 0; i < SPEC_COUNT && n < max; i++)
        if (i != SPEC_THEN)  /* a keyword, not a name */
            out[n++] = spec_table[i].name;
    for (size_t i = 0; i < sizeof constants / sizeof *constants && (int)n < max; i++)
        out[n++] = constants[i];
    return n;
}

static bool unknown_name(Elab *e, const char *name, Span at)
{
    /* On the heap: inlined into the recursive evaluator, an 8 KiB array
     * would sit in every frame of a deeply nested expression. */
    enum { MAXN = 1024 };
    const char **cands = xmalloc(MAXN * sizeof *cands);
    int n = 0;
    for (int i = 0; e->frame && i < e->frame->n && n < MAXN; i++)
        if (e->frame->b[i].name)
            cands[n++] = e->frame->b[i].name;
    for (int i = 0; e->scope && i < e->scope->naxes && n < MAXN; i++)
        cands[n++] = e->scope->vars[i];
    for (int i = 0; e->runs && i < e->runs->n && n < MAXN; i++) {
        const Member *m = run_member_at(e, i);
        cands[n++] = m && m->train->list2.n ? m->train->str : e->runs->name(e->runs->ctx, i);
    }
    n += elab_global_names(e->p, cands + n, MAXN - n);
    const char *best = diag_suggest(name, cands, n);
    free(cands);
    if (best)
        return diag_error(e->d, at, "unknown name '%s'; did you mean '%s'?", name, best);
    return diag_error(e->d, at, "unknown name '%s'", name);
}

static bool eval_let(Elab *e, Symbol *s, Span at, Value *out)
{
    if (s->evaluated) {
        *out = s->value;
        return true;
    }
    if (s->evaluating)
        return diag_error(e->d, at, "the constant '%s' is defined in terms of itself", s->name);
    s->evaluating = true;
    Elab top = {.p = e->p, .d = e->d, .arena = e->arena, .runs = e->runs};
    bool ok = eval(&top, s->ast->a, out);
    s->evaluating = false;
    e->read_runs |= top.read_runs;
    if (!ok)
        return false;
    if (out->kind == VAL_TENSOR)
        return diag_error(e->d, s->ast->span, "a constant cannot hold a tensor");
    /* A constant of run values (`let l = r[*].final.loss`) changes as the
     * runs train: it is evaluated anew wherever it is read, or an expect
     * would see the values of the check made before training. */
    if (top.read_runs)
        return true;
    s->value = *out;
    s->evaluated = true;
    return true;
}

/* ---- argument binding ---- */

static const char *type_name(ArgType t)
{
    switch (t) {
    case ARG_TENSOR: case ARG_TENSORS: return "a tensor";
    case ARG_NUM: return "a finite number";
    case ARG_INT: return "an integer";
    case ARG_BOOL: return "true or false";
    case ARG_STR: return "a string";
    case ARG_ACT: return "an activation";
    case ARG_INIT: return "an initialisation";
    case ARG_ANY: return "a value";
    }
    return "a value";
}

void elab_describe(const Value *v, char *buf, size_t n)
{
    switch (v->kind) {
    case VAL_NUM:
        diag_num(v->num, buf, n);
        break;
    case VAL_OP: snprintf(buf, n, "'%s'", op_def(v->op)->name); break;
    case VAL_SPEC: snprintf(buf, n, "'%s'", spec_table[v->spec->id].name); break;
    default: snprintf(buf, n, "a %s", value_kind_name(v->kind)); break;
    }
}

static bool type_ok(const SigParam *p, const Value *v)
{
    switch (p->type) {
    case ARG_TENSOR: case ARG_TENSORS: return v->kind == VAL_TENSOR;
    case ARG_NUM: return v->kind == VAL_NUM && isfinite(v->num);
    case ARG_INT: return v->kind == VAL_NUM && v->num == floor(v->num) && fabs(v->num) < 9e15;
    case ARG_BOOL: return v->kind == VAL_BOOL;
    case ARG_STR: return v->kind == VAL_STR;
    case ARG_ACT: return v->kind == VAL_OP && op_def(v->op)->kind == OPK_ACTIVATION;
    case ARG_INIT: return v->kind == VAL_SPEC && spec_table[v->spec->id].kind == SPEC_INIT;
    default: return true;
    }
}

/* "callee: argument 'name' must be TYPE, got WHAT" at `at`. */
static bool type_error(Elab *e, const char *callee, const char *name, ArgType type,
                       const Value *v, Span at)
{
    char got[64];
    elab_describe(v, got, sizeof got);
    return diag_error(e->d, at, "%s: argument '%s' must be %s, got %s", callee, name,
                      type_name(type), got);
}

/* Whether the argument expression x (of value v) suits p; an error if not.
 * When x names a parameter, the mistake has two places: a model's argument
 * is fixed at the call, so the error is the model's, there, with a note at
 * this use; a def's is shown at this use, with a note at the call that
 * passed it. */
static bool check_arg(Elab *e, const char *callee, const SigParam *p, const Value *v,
                      const AstNode *x)
{
    if (type_ok(p, v))
        return true;
    const Binding *b = x->kind == AST_NAME ? frame_find(e->frame, x->str) : NULL;
    if (b && b->arg && e->frame->model) {
        type_error(e, e->frame->model, x->str, p->type, v, b->arg->span);
        diag_note_at(e->d, x->span, "'%s' is used here, as %s's '%s'", x->str, callee, p->name);
        return false;
    }
    type_error(e, callee, p->name, p->type, v, x->span);
    if (b && b->arg)
        diag_note_at(e->d, b->arg->span, "'%s' is given here", x->str);
    return false;
}

/* Where a signature default is resolved: at a call, in the program. */
typedef struct DefaultAt {
    Elab *e;
    Span at;
} DefaultAt;

/* A built-in a signature default names: an activation (act:A=tanh), or a
 * spec built-in called without arguments (init:Z=xavier_uniform). Only
 * built-ins: a program's `let tanh = …` does not change an op's default. */
static Value default_builtin(void *where, const char *name)
{
    const DefaultAt *w = where;
    const Builtin *b = builtin_find(name);
    Value v = {.kind = VAL_NONE};
    if (b && b->op >= 0)
        v = (Value){.kind = VAL_OP, .op = b->op};
    else if (b && b->spec >= 0) {
        Elab top = {.p = w->e->p, .d = w->e->d, .arena = w->e->arena};
        if (!spec_value(&top, b->spec, NULL, w->at, &v))
            v = (Value){.kind = VAL_NONE};
    }
    return v;
}

static int sig_find(const Sig *sig, const char *name)
{
    for (int i = 0; i < sig->n; i++)
        if (strcmp(sig->p[i].name, name) == 0)
            return i;
    return -1;
}

static bool bad_keyword(Elab *e, const char *callee, const char *const *names, int n,
                        const char *kw, Span at)
{
    const char *best = diag_suggest(kw, names, n);
    if (best)
        return diag_error(e->d, at, "%s has no parameter '%s'; did you mean '%s'?", callee,
                          kw, best);
    diag_error(e->d, at, "%s has no parameter '%s'", callee, kw);
    if (n == 0) {
        diag_note(e->d, "%s takes no arguments", callee);
        return false;
    }
    char list[512];
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", names[i]);
    diag_note(e->d, "%s's parameters are: %s", callee, list);
    return false;
}

/* Binds call's arguments (call may be NULL: no arguments) to sig, writing
 * values in signature order into args. Tensor inputs, in signature order,
 * are also appended to in[] when in is given. */
static bool bind_sig(Elab *e, const char *callee, const Sig *sig, const AstNode *call,
                     Span at, Value *args, int *in, int *nin)
{
    bool set[SIG_MAX] = {false};
    bool variadic = sig->n > 0 && sig->p[sig->n - 1].type == ARG_TENSORS;
    int extra[IR_MAX_IN], nextra = 0;
    int pos = 0;
    for (const AstNode *a = call ? call->list.head : NULL; a; a = a->next) {
        Value v;
        int slot;
        if (a->kind == AST_KWARG) {
            slot = sig_find(sig, a->str);
            if (slot < 0) {
                const char *names[SIG_MAX];
                for (int i = 0; i < sig->n; i++)
                    names[i] = sig->p[i].name;
                return bad_keyword(e, callee, names, sig->n, a->str, a->span);
            }
            if (set[slot])
                return diag_error(e->d, a->span, "%s: argument '%s' is given twice", callee,
                                  a->str);
            if (!eval(e, a->a, &v))
                return false;
        } else {
            if (!eval(e, a, &v))
                return false;
            if (pos >= sig->n && !variadic)
                return diag_error(e->d, a->span, "%s takes at most %d argument%s, got %d",
                                  callee, sig->n, sig->n == 1 ? "" : "s", call->list.n);
            slot = pos < sig->n ? pos : sig->n - 1;
            pos++;
            if (set[slot] && variadic && slot == sig->n - 1) {
                if (!check_arg(e, callee, &sig->p[slot], &v, a))
                    return false;
                if (nextra == IR_MAX_IN)
                    return diag_error(e->d, a->span, "%s takes at most %d inputs", callee,
                                      IR_MAX_IN);
                extra[nextra++] = v.node;
                continue;
            }
        }
        if (!check_arg(e, callee, &sig->p[slot], &v, a->kind == AST_KWARG ? a->a : a))
            return false;
        args[slot] = v;
        set[slot] = true;
    }
    DefaultAt where = {e, at};
    int missing = sig_fill_defaults(sig, args, set, e->arena, default_builtin, &where);
    if (missing >= 0)
        return diag_error(e->d, at, "%s: missing argument '%s'", callee, sig->p[missing].name);
    if (in) {
        *nin = 0;
        for (int i = 0; i < sig->n; i++)
            if (args[i].kind == VAL_TENSOR && *nin < IR_MAX_IN)
                in[(*nin)++] = args[i].node;
        for (int i = 0; i < nextra && *nin < IR_MAX_IN; i++)
            in[(*nin)++] = extra[i];
    }
    return true;
}

/* ---- ops, defs, models ---- */

static bool need_model(Elab *e, const char *what, Span at)
{
    if (e->g)
        return true;
    return diag_error(e->d, at, "%s needs a tensor: tensors exist only inside a model or def",
                      what);
}

static bool call_op(Elab *e, int op, const AstNode *call, Span at, Value *out)
{
    const OpDef *def = op_def(op);
    if (def->kind == OPK_LOSS)
        return diag_error(e->d, at, "'%s' is a loss: set it with `loss = %s` in the settings",
                          def->name, def->name);
    if (!need_model(e, def->name, at))
        return false;
    const Sig *sig = op_sig(op);
    Value args[SIG_MAX];  /* ir_add_node keeps its own copy */
    int in[IR_MAX_IN], nin = 0;
    if (!bind_sig(e, def->name, sig, call, at, args, in, &nin))
        return false;
    int node = ir_add_node(e->g, op, at, in, nin, args, sig->n, e->d);
    if (node < 0)
        return false;
    *out = (Value){.kind = VAL_TENSOR, .node = node};
    return true;
}

/* Binds a call's arguments to a model's or def's parameter list, evaluating
 * the arguments in the caller's context and defaults in the callee's frame
 * (so a default may use an earlier parameter). */
static bool bind_params(Elab *caller, Elab *callee, const AstNode *fn, const AstNode *call)
{
    const AstNode *params[SIG_MAX * 4];
    int np = 0;
    for (const AstNode *q = fn->list.head; q && np < SIG_MAX * 4; q = q->next)
        params[np++] = q;
    Value vals[SIG_MAX * 4];
    const AstNode *given[SIG_MAX * 4];  /* each set parameter's argument */
    bool set[SIG_MAX * 4] = {false};
    int pos = 0;
    for (const AstNode *a = call ? call->list.head : NULL; a; a = a->next) {
        int slot = -1;
        const AstNode *expr = a;
        if (a->kind == AST_KWARG) {
            for (int i = 0; i < np; i++)
                if (strcmp(params[i]->str, a->str) == 0)
                    slot = i;
            if (slot < 0) {
                const char *names[SIG_MAX * 4];
                for (int i = 0; i < np; i++)
                    names[i] = params[i]->str;
                return bad_keyword(caller, fn->str, names, np, a->str, a->span);
            }
            if (set[slot])
                return diag_error(caller->d, a->span, "%s: argument '%s' is given twice",
                                  fn->str, a->str);
            expr = a->a;
        } else {
            if (pos >= np)
                return diag_error(caller->d, a->span, "%s takes at most %d argument%s, got %d",
                                  fn->str, np, np == 1 ? "" : "s", call->list.n);
            slot = pos++;
        }
        if (!eval(caller, expr, &vals[slot]))
            return false;
        given[slot] = expr;
        set[slot] = true;
    }
    for (int i = 0; i < np; i++) {
        if (!set[i]) {
            if (!params[i]->a)
                return diag_error(caller->d, call ? call->span : fn->span,
                                  "%s: missing argument '%s'", fn->str, params[i]->str);
            if (!eval(callee, params[i]->a, &vals[i]))
                return false;
        }
        frame_bind(callee->frame, params[i]->str, vals[i]);
        if (set[i])
            frame_find(callee->frame, params[i]->str)->arg = given[i];
    }
    return true;
}

static bool call_def(Elab *e, const AstNode *fn, const AstNode *call, Span at, Value *out)
{
    if (!need_model(e, fn->str, at))
        return false;
    if (e->depth >= ELAB_MAX_DEPTH)
        return diag_error(e->d, at, "calls nest deeper than %d: does '%s' call itself without end?",
                          ELAB_MAX_DEPTH, fn->str);
    Frame frame = {.layer = -1};
    Elab inner = *e;
    inner.frame = &frame;
    inner.depth = e->depth + 1;
    inner.returned = false;
    bool ok = bind_params(e, &inner, fn, call) && exec_block(&inner, fn->list2.head);
    e->iterations = inner.iterations;
    free(frame.b);
    if (!ok)
        return false;
    if (!inner.returned)
        return diag_error(e->d, fn->span, "def '%s' ends without `return`", fn->str);
    *out = inner.ret;
    return true;
}

/* Elaborates call into g; its arguments are evaluated in e (a member's
 * axis variables are visible there), the body in a frame of its own. */
static bool model_call(Elab e, const AstNode *call, IrGraph *g)
{
    Program *p = e.p;
    if (!call || call->kind != AST_CALL || call->a->kind != AST_NAME)
        return diag_error(e.d, call ? call->span : SPAN_NONE, "expected a model call");
    Symbol *s = program_lookup(p, call->a->str);
    if (!s || s->kind != SYM_MODEL) {
        if (s)
            return diag_error(e.d, call->a->span, "'%s' is not a model", call->a->str);
        const char *models[256];
        int n = 0;
        for (int i = 0; i < p->nsyms && n < 256; i++)
            if (p->syms[i].kind == SYM_MODEL)
                models[n++] = p->syms[i].name;
        const char *best = diag_suggest(call->a->str, models, n);
        if (best)
            return diag_error(e.d, call->a->span, "unknown model '%s'; did you mean '%s'?",
                              call->a->str, best);
        return diag_error(e.d, call->a->span, "unknown model '%s'", call->a->str);
    }
    const AstNode *fn = s->ast;
    Frame frame = {.layer = -1, .model = fn->str};
    Elab inner = e;
    inner.g = g;
    inner.frame = &frame;
    inner.scope = NULL;
    g->name = fn->str;
    bool ok = bind_params(&e, &inner, fn, call) && exec_block(&inner, fn->list2.head);
    free(frame.b);
    if (!ok)
        return false;
    if (g->input < 0)
        return diag_error(e.d, fn->span, "model '%s' has no `input`", fn->str);
    if (!inner.returned)
        return diag_error(e.d, fn->span, "model '%s' ends without `return`", fn->str);
    if (inner.ret.kind != VAL_TENSOR)
        return diag_error(e.d, fn->span, "model '%s' must return a tensor, not a %s", fn->str,
                          value_kind_name(inner.ret.kind));
    g->output = inner.ret.node;
    return true;
}

bool elab_model(Program *p, const AstNode *call, IrGraph *g)
{
    /* The call of a family's train item is elaborated as its first member:
     * its arguments may use the axis variables. */
    for (int i = 0; i < p->ntrains; i++) {
        Member *ms;
        int n;
        if (p->trains[i]->a == call && p->trains[i]->list2.n)
            return elab_members(p, p->trains[i], &ms, &n) && elab_member_model(p, &ms[0], g);
    }
    return model_call((Elab){.p = p, .d = &p->diag, .arena = &p->arena}, call, g);
}

bool elab_member_model(Program *p, const Member *m, IrGraph *g)
{
    return model_call((Elab){.p = p, .d = &p->diag, .arena = &p->arena, .scope = m},
                      m->train->a, g);
}

Member elab_plain_member(const AstNode *train)
{
    return (Member){.train = train, .name = train->str};
}

const AstNode *elab_model_call(Program *p, const char *model)
{
    for (int i = 0; i < p->ntrains; i++) {
        const AstNode *call = p->trains[i]->a;
        if (!model || strcmp(call->a->str, model) == 0)
            return call;
    }
    for (int i = 0; !model && i < p->nsyms; i++)
        if (p->syms[i].kind == SYM_MODEL)
            model = p->syms[i].name;
    if (!model)
        return NULL;
    AstNode *callee = ast_new(&p->arena, AST_NAME, SPAN_NONE);
    callee->str = model;
    AstNode *call = ast_new(&p->arena, AST_CALL, SPAN_NONE);
    call->a = callee;
    return call;
}

/* ---- expressions ---- */

/* ---- lists ---- */

static Value list_value(Elab *e, int len, Value **items)
{
    *items = arena_alloc(e->arena, sizeof(Value) * (size_t)(len ? len : 1));
    return (Value){.kind = VAL_LIST, .len = len, .items = *items};
}

/* fn applied to each element of a list, giving a list: how member access,
 * indexing, unary operators and math functions reach into lists. */
typedef bool (*ElementFn)(Elab *e, const AstNode *n, const Value *v, const void *ctx,
                          Value *out);

static bool map_list(Elab *e, const AstNode *n, const Value *list, ElementFn fn,
                     const void *ctx, Value *out)
{
    Value *items;
    *out = list_value(e, list->len, &items);
    for (int i = 0; i < list->len; i++)
        if (!fn(e, n, &list->items[i], ctx, &items[i]))
            return false;
    return true;
}

static bool eval_list(Elab *e, const AstNode *n, Value *out)
{
    Value *items;
    *out = list_value(e, n->list.n, &items);
    int i = 0;
    for (const AstNode *x = n->list.head; x; x = x->next, i++) {
        if (!eval(e, x, &items[i]))
            return false;
        if (items[i].kind == VAL_TENSOR)
            return diag_error(e->d, x->span, "a list cannot hold a tensor");
    }
    return true;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double elab_median(double *xs, int n)
{
    qsort(xs, (size_t)n, sizeof *xs, cmp_double);
    return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

/* The aggregates of lists: the first four count booleans, the others take
 * numbers. */
typedef enum Aggregate {
    AGG_ALL, AGG_ANY, AGG_COUNT, AGG_FRACTION, AGG_MEAN, AGG_MEDIAN, AGG_MIN, AGG_MAX,
    AGG_STD, AGG_COUNT_
} Aggregate;
static const char *const aggregates[AGG_COUNT_] = {
    [AGG_ALL] = "all", [AGG_ANY] = "any", [AGG_COUNT] = "count",
    [AGG_FRACTION] = "fraction", [AGG_MEAN] = "mean", [AGG_MEDIAN] = "median",
    [AGG_MIN] = "min", [AGG_MAX] = "max", [AGG_STD] = "std",
};

/* Reduces a list. The first four count booleans, the others take numbers;
 * a NaN among the numbers makes the result NaN, so that a comparison with
 * it fails rather than passes on the values left. */
static bool aggregate(Elab *e, Aggregate which, const Value *list, Span at, Value *out)
{
    const char *name = aggregates[which];
    bool booleans = which <= AGG_FRACTION;
    ValKind want = booleans ? VAL_BOOL : VAL_NUM;
    for (int i = 0; i < list->len; i++)
        if (list->items[i].kind != want) {
            if (booleans)
                diag_error(e->d, at, "%s needs a list of booleans, got a list of %ss", name,
                           value_kind_name(list->items[i].kind));
            else
                diag_error(e->d, at, "%s needs a list of numbers, got a list of %ss", name,
                           value_kind_name(list->items[i].kind));
            if (booleans && list->items[i].kind == VAL_NUM)
                diag_note(e->d, "compare the numbers first: %s(xs > 0.5)", name);
            return false;
        }
    int n = list->len, trues = 0;
    if (n == 0 && which != AGG_ALL && which != AGG_ANY && which != AGG_COUNT)
        return diag_error(e->d, at, "%s of an empty list", name);
    if (which == AGG_STD && n < 2)
        return diag_error(e->d, at, "std needs at least two values, got a list of one");
    if (booleans) {
        for (int i = 0; i < n; i++)
            trues += list->items[i].num != 0;
        switch (which) {
        case AGG_ALL: *out = bool_value(trues == n); break;
        case AGG_ANY: *out = bool_value(trues > 0); break;
        case AGG_COUNT: *out = num_value(trues); break;
        default: *out = num_value((double)trues / n); break;
        }
        return true;
    }
    double *xs = xmalloc(sizeof *xs * (size_t)n), sum = 0;
    bool nan = false;
    for (int i = 0; i < n; i++) {
        xs[i] = list->items[i].num;
        nan |= isnan(xs[i]);
        sum += xs[i];
    }
    double r = sum / n;
    if (nan) {
        r = NAN;
    } else if (which == AGG_MEDIAN) {
        r = elab_median(xs, n);
    } else if (which == AGG_MIN || which == AGG_MAX) {
        r = xs[0];
        for (int i = 1; i < n; i++)
            r = which == AGG_MIN ? fmin(r, xs[i]) : fmax(r, xs[i]);
    } else if (which == AGG_STD) {
        double ss = 0;
        for (int i = 0; i < n; i++)
            ss += (xs[i] - r) * (xs[i] - r);
        r = sqrt(ss / (n - 1));
    }
    free(xs);
    *out = num_value(r);
    return true;
}

/* The aggregate of that name, or -1. */
static int aggregate_lookup(const char *name)
{
    for (int i = 0; i < AGG_COUNT_; i++)
        if (strcmp(name, aggregates[i]) == 0)
            return i;
    return -1;
}

/* ---- expressions ---- */

/* The math functions of numbers, applied to each element of a list. */
typedef struct MathFn {
    const char *name;
    double (*fn)(double);
} MathFn;

static const MathFn math_fns[] = {
    {"abs", fabs}, {"log", log}, {"log10", log10}, {"exp", exp}, {"sqrt", sqrt},
};

static const MathFn *math_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof math_fns / sizeof *math_fns; i++)
        if (strcmp(name, math_fns[i].name) == 0)
            return &math_fns[i];
    return NULL;
}

/* The function fn (a MathFn) of call's argument v. */
static bool math_value(Elab *e, const AstNode *call, const Value *v, const void *fn,
                       Value *out)
{
    if (v->kind == VAL_LIST)
        return map_list(e, call, v, math_value, fn, out);
    if (v->kind != VAL_NUM)
        return diag_error(e->d, call->span, "%s needs numbers, got a %s", call->a->str,
                          value_kind_name(v->kind));
    *out = num_value(((const MathFn *)fn)->fn(v->num));
    return true;
}

/* The math functions on numbers, and the aggregates of lists. abs, log,
 * log10, exp and sqrt apply to each element of a list; min, max and mean
 * reduce one list, or take several numbers. */
static bool math_call(Elab *e, const char *name, const AstNode *call, Value *out, bool *handled)
{
    enum { MAX_ARGS = 64 };
    *handled = false;
    const MathFn *fn = math_lookup(name);
    int agg = fn ? -1 : aggregate_lookup(name);
    if ((!fn && agg < 0) || frame_find(e->frame, name) || program_lookup(e->p, name))
        return true;
    for (int i = 0; e->scope && i < e->scope->naxes; i++)
        if (strcmp(e->scope->vars[i], name) == 0)
            return true;
    *handled = true;
    Value vs[MAX_ARGS];
    int n = 0;
    bool list = false;
    for (const AstNode *a = call->list.head; a; a = a->next) {
        if (a->kind == AST_KWARG)
            return diag_error(e->d, a->span, "%s takes no keyword arguments", name);
        if (n == MAX_ARGS)
            return diag_error(e->d, a->span, "%s takes at most %d arguments", name, MAX_ARGS);
        if (!eval(e, a, &vs[n]))
            return false;
        list |= vs[n].kind == VAL_LIST;
        if (vs[n].kind != VAL_NUM && vs[n].kind != VAL_LIST)
            return diag_error(e->d, a->span, "%s needs %s, got a %s", name,
                              fn || agg >= AGG_MEAN ? "numbers" : "a list",
                              value_kind_name(vs[n].kind));
        n++;
    }
    bool variadic = agg == AGG_MEAN || agg == AGG_MIN || agg == AGG_MAX;
    if ((fn || !variadic) && n != 1)
        return diag_error(e->d, call->span, "%s takes one argument, got %d", name, n);
    if (n == 0)
        return diag_error(e->d, call->span, "%s needs at least one argument", name);
    if (list && n > 1)
        return diag_error(e->d, call->span, "%s takes one list or several numbers, "
                          "not a list among %d arguments", name, n);
    if (fn)
        return math_value(e, call, &vs[0], fn, out);
    if (list)
        return aggregate(e, (Aggregate)agg, &vs[0], call->span, out);
    if (!variadic)
        return diag_error(e->d, call->list.head->span, "%s needs a list, got a number", name);
    double r = vs[0].num;
    for (int i = 1; i < n; i++)
        r = agg == AGG_MIN ? fmin(r, vs[i].num) : agg == AGG_MAX ? fmax(r, vs[i].num)
                                                                  : r + vs[i].num;
    *out = num_value(agg == AGG_MEAN ? r / n : r);
    return true;
}

static bool eval_call(Elab *e, const AstNode *n, Value *out)
{
    const AstNode *f = n->a;
    if (f->kind == AST_NAME) {
        bool handled;
        if (!math_call(e, f->str, n, out, &handled))
            return false;
        if (handled)
            return true;
        Binding *b = frame_find(e->frame, f->str);
        const Builtin *builtin = b || program_lookup(e->p, f->str) ? NULL
                                                                   : builtin_find(f->str);
        if (builtin && builtin->spec >= 0 && builtin->op < 0)
            return spec_value(e, builtin->spec, n, n->span, out);
    }
    Value callee;
    if (!eval(e, f, &callee))
        return false;
    switch (callee.kind) {
    case VAL_OP:
        return call_op(e, callee.op, n, n->span, out);
    case VAL_DEF:
        return call_def(e, callee.ast, n, n->span, out);
    case VAL_MODEL:
        return diag_error(e->d, n->span, "a model cannot be called here; "
                          "models are called only in `train` items");
    default: {
        char got[64];
        elab_describe(&callee, got, sizeof got);
        return diag_error(e->d, f->span, "%s is not callable", got);
    }
    }
}

/* A member of each element of a list, as a list. */
static bool member_value(Elab *e, const AstNode *n, const Value *obj, const void *unused,
                         Value *out)
{
    if (obj->kind == VAL_LIST)
        return map_list(e, n, obj, member_value, unused, out);
    if (obj->kind == VAL_FAMILY)
        return diag_error(e->d, n->span, "'%s' is a run family: select its members first, "
                          "%s[*].%s for all of them", obj->str, obj->str, n->str);
    if (obj->kind >= VAL_RUN && obj->kind <= VAL_SERIES && e->runs) {
        char err[256];
        if (e->runs->get(e->runs->ctx, obj, n->str, out, err, sizeof err))
            return true;
        return diag_error(e->d, n->span, "%s", err);
    }
    char got[64];
    elab_describe(obj, got, sizeof got);
    return diag_error(e->d, n->span, "%s has no member '%s'", got, n->str);
}

static bool eval_member(Elab *e, const AstNode *n, Value *out)
{
    Value obj;
    if (!eval(e, n->a, &obj))
        return false;
    return member_value(e, n, &obj, NULL, out);
}

enum { MAX_INDICES = ELAB_MAX_AXES };

/* The evaluated indices of an AST_INDEX; star[i] for a `*`. */
typedef struct Indices {
    int n;
    Value v[MAX_INDICES];
    bool star[MAX_INDICES];
    const AstNode *at[MAX_INDICES];
} Indices;

/* The text an axis value has in member names: its .vg source. */
static bool value_source(Elab *e, const Value *v, Span at, const char **out);

/* The values of axis k among the members of a family, for messages. */
static void axis_values_note(Elab *e, const AstNode *train, int k, const char *var)
{
    char buf[256];
    size_t len = 0;
    int shown = 0;
    for (int i = 0; i < e->runs->n && len < sizeof buf; i++) {
        const Member *m = run_member_at(e, i);
        if (!m || m->train != train)
            continue;
        bool seen = false;  /* values repeat with the other axes: list each once */
        for (int j = 0; j < i && !seen; j++) {
            const Member *o = run_member_at(e, j);
            seen = o && o->train == train && strcmp(o->texts[k], m->texts[k]) == 0;
        }
        if (seen)
            continue;
        if (shown == 12) {
            len += (size_t)snprintf(buf + len, sizeof buf - len, ", ...");
            break;
        }
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", shown ? ", " : "",
                                m->texts[k]);
        shown++;
    }
    diag_note(e->d, "'%s' is one of %s", var, buf);
}

static bool family_index(Elab *e, const AstNode *n, const Value *fam, const Indices *ix,
                         Value *out)
{
    const AstNode *train = fam->ast;
    int naxes = train->list2.n;
    if (ix->n != naxes)
        return diag_error(e->d, n->span, "run family '%s' has %d ax%s, got %d ind%s",
                          fam->str, naxes, naxes == 1 ? "is" : "es", ix->n,
                          ix->n == 1 ? "ex" : "ices");
    const char *want[MAX_INDICES];
    bool stars = false;
    for (int k = 0; k < naxes; k++) {
        want[k] = NULL;
        stars |= ix->star[k];
        if (!ix->star[k] && !value_source(e, &ix->v[k], ix->at[k]->span, &want[k]))
            return false;
    }
    int *hits = xmalloc(sizeof *hits * (size_t)(e->runs->n ? e->runs->n : 1));
    int nhits = 0, missing = -1;
    for (int k = 0; k < naxes && missing < 0; k++) {
        bool found = ix->star[k];
        for (int i = 0; i < e->runs->n && !found; i++) {
            const Member *m = run_member_at(e, i);
            found = m && m->train == train && strcmp(m->texts[k], want[k]) == 0;
        }
        if (!found)
            missing = k;
    }
    for (int i = 0; i < e->runs->n && missing < 0; i++) {
        const Member *m = run_member_at(e, i);
        bool match = m && m->train == train;
        for (int k = 0; k < naxes && match; k++)
            match = ix->star[k] || strcmp(m->texts[k], want[k]) == 0;
        if (match)
            hits[nhits++] = i;
    }
    if (missing >= 0) {
        free(hits);
        const AstNode *axis = train->list2.head;
        for (int k = 0; k < missing; k++)
            axis = axis->next;
        diag_error(e->d, ix->at[missing]->span, "run family '%s' has no member with %s = %s",
                   fam->str, axis->str, want[missing]);
        axis_values_note(e, train, missing, axis->str);
        return false;
    }
    if (nhits == 0) {  /* only a REPL session whose family was defined anew */
        free(hits);
        return diag_error(e->d, n->span, "run family '%s' has no such member", fam->str);
    }
    if (!stars) {
        *out = (Value){.kind = VAL_RUN, .run = hits[0]};
        free(hits);
        return true;
    }
    Value *items;
    *out = list_value(e, nhits, &items);
    for (int i = 0; i < nhits; i++)
        items[i] = (Value){.kind = VAL_RUN, .run = hits[i]};
    free(hits);
    return true;
}

static bool index_value(Elab *e, const AstNode *n, const Value *obj, const void *indices,
                        Value *out)
{
    const Indices *ix = indices;
    if (obj->kind == VAL_LIST) {
        ValKind k = obj->len ? obj->items[0].kind : VAL_NONE;
        if (k != VAL_LIST && k != VAL_FAMILY && k != VAL_LAYERS && k != VAL_SERIES)
            return diag_error(e->d, n->span, "indexing a list indexes each of its elements, "
                              "and a %s cannot be indexed", value_kind_name(k));
        return map_list(e, n, obj, index_value, ix, out);
    }
    if (obj->kind == VAL_FAMILY && e->runs)
        return family_index(e, n, obj, ix, out);
    char got[64];
    elab_describe(obj, got, sizeof got);
    for (int i = 0; i < ix->n; i++)
        if (ix->star[i]) {
            diag_error(e->d, ix->at[i]->span, "'*' ranges over an axis of a run family, "
                       "and %s is not one", got);
            return false;
        }
    if (ix->n != 1)
        return diag_error(e->d, n->span, "%s takes one index, got %d", got, ix->n);
    const Value *idx = &ix->v[0];
    if ((obj->kind == VAL_LAYERS || obj->kind == VAL_SERIES) && e->runs) {
        if (idx->kind != VAL_NUM || idx->num != floor(idx->num))
            return diag_error(e->d, ix->at[0]->span, "an index must be an integer");
        char err[256];
        if (e->runs->index(e->runs->ctx, obj, (long)idx->num, out, err, sizeof err))
            return true;
        return diag_error(e->d, n->span, "%s", err);
    }
    return diag_error(e->d, n->span, "%s cannot be indexed", got);
}

static bool eval_index(Elab *e, const AstNode *n, Value *out)
{
    Value obj;
    if (!eval(e, n->a, &obj))
        return false;
    Indices ix = {0};
    for (const AstNode *i = n->list.head; i; i = i->next) {
        if (ix.n == MAX_INDICES)
            return diag_error(e->d, i->span, "at most %d indices", MAX_INDICES);
        ix.at[ix.n] = i;
        ix.star[ix.n] = i->kind == AST_STAR;
        if (!ix.star[ix.n] && !eval(e, i, &ix.v[ix.n]))
            return false;
        ix.n++;
    }
    return index_value(e, n, &obj, &ix, out);
}

static bool tensor_binary(Elab *e, const AstNode *n, Value l, Value r, Value *out)
{
    const char *sym = ast_op_name(n->op);
    int op;
    int in[2];
    Value args[2];
    int nargs = 2;
    if (l.kind == VAL_TENSOR && r.kind == VAL_TENSOR) {
        op = op_lookup(sym);
        in[0] = l.node;
        in[1] = r.node;
        args[0] = l;
        args[1] = r;
    } else if (n->op == AST_OP_MUL || (n->op == AST_OP_DIV && l.kind == VAL_TENSOR)) {
        /* number * tensor (or tensor / number) is the scale op */
        Value t = l.kind == VAL_TENSOR ? l : r;
        Value k = l.kind == VAL_TENSOR ? r : l;
        if (k.kind != VAL_NUM)
            goto bad;
        op = op_lookup("scale");
        in[0] = t.node;
        args[0] = t;
        args[1] = num_value(n->op == AST_OP_DIV ? 1.0 / k.num : k.num);
        nargs = 2;
    } else {
        goto bad;
    }
    if (op < 0)
        return diag_error(e->d, n->span, "'%s' on tensors is not available", sym);
    if (!need_model(e, sym, n->span))
        return false;
    Value *stored = arena_alloc(e->arena, sizeof args);
    memcpy(stored, args, sizeof args);
    int node = ir_add_node(e->g, op, n->span, in, l.kind == VAL_TENSOR && r.kind == VAL_TENSOR ? 2 : 1,
                           stored, nargs, e->d);
    if (node < 0)
        return false;
    *out = (Value){.kind = VAL_TENSOR, .node = node};
    return true;
bad:
    return diag_error(e->d, n->span, "'%s' cannot combine a %s and a %s", sym,
                      value_kind_name(l.kind), value_kind_name(r.kind));
}

static bool compare(Elab *e, const AstNode *n, Value l, Value r, Value *out)
{
    if (l.kind == VAL_STR && r.kind == VAL_STR && (n->op == AST_OP_EQ || n->op == AST_OP_NE)) {
        bool eq = strcmp(l.str, r.str) == 0;
        *out = bool_value(n->op == AST_OP_EQ ? eq : !eq);
        return true;
    }
    if (n->op == AST_OP_EQ || n->op == AST_OP_NE) {
        bool eq;
        if (l.kind == VAL_BOOL && r.kind == VAL_BOOL)
            eq = l.num == r.num;
        else if (l.kind == VAL_OP && r.kind == VAL_OP)
            eq = l.op == r.op;  /* `if act == relu` */
        else if (l.kind == VAL_NONE || r.kind == VAL_NONE)
            eq = l.kind == r.kind;
        else
            goto numbers;
        *out = bool_value(eq == (n->op == AST_OP_EQ));
        return true;
    }
numbers:
    if (l.kind != VAL_NUM || r.kind != VAL_NUM)
        return diag_error(e->d, n->span, "'%s' compares numbers, got a %s and a %s",
                          ast_op_name(n->op), value_kind_name(l.kind), value_kind_name(r.kind));
    bool b;
    switch (n->op) {
    case AST_OP_LT: b = l.num < r.num; break;
    case AST_OP_GT: b = l.num > r.num; break;
    case AST_OP_LE: b = l.num <= r.num; break;
    case AST_OP_GE: b = l.num >= r.num; break;
    case AST_OP_EQ: b = l.num == r.num; break;
    default: b = l.num != r.num; break;
    }
    *out = bool_value(b);
    return true;
}

static bool binary_values(Elab *e, const AstNode *n, Value l, Value r, Value *out);

/* Lists combine elementwise; a value that is not a list meets every
 * element. */
static bool list_binary(Elab *e, const AstNode *n, Value l, Value r, Value *out)
{
    if (l.kind == VAL_LIST && r.kind == VAL_LIST && l.len != r.len) {
        diag_error(e->d, n->span, "'%s' on lists of different lengths, %d and %d",
                   ast_op_name(n->op), l.len, r.len);
        return diag_note(e->d, "lists combine element by element; a single value meets "
                         "every element"), false;
    }
    int len = l.kind == VAL_LIST ? l.len : r.len;
    Value *items;
    *out = list_value(e, len, &items);
    for (int i = 0; i < len; i++)
        if (!binary_values(e, n, l.kind == VAL_LIST ? l.items[i] : l,
                           r.kind == VAL_LIST ? r.items[i] : r, &items[i]))
            return false;
    return true;
}

static bool binary_values(Elab *e, const AstNode *n, Value l, Value r, Value *out)
{
    if (l.kind == VAL_LIST || r.kind == VAL_LIST)
        return list_binary(e, n, l, r, out);
    switch (n->op) {
    case AST_OP_AND:
        *out = bool_value(value_truthy(&l) && value_truthy(&r));
        return true;
    case AST_OP_OR:
        *out = bool_value(value_truthy(&l) || value_truthy(&r));
        return true;
    case AST_OP_LT: case AST_OP_GT: case AST_OP_LE: case AST_OP_GE:
    case AST_OP_EQ: case AST_OP_NE:
        return compare(e, n, l, r, out);
    default:
        break;
    }
    if (l.kind == VAL_TENSOR || r.kind == VAL_TENSOR)
        return tensor_binary(e, n, l, r, out);
    if (l.kind == VAL_STR && r.kind == VAL_STR && n->op == AST_OP_ADD) {
        *out = (Value){.kind = VAL_STR, .str = arena_printf(e->arena, "%s%s", l.str, r.str)};
        return true;
    }
    if (l.kind != VAL_NUM || r.kind != VAL_NUM)
        return diag_error(e->d, n->span, "'%s' needs numbers or tensors, got a %s and a %s",
                          ast_op_name(n->op), value_kind_name(l.kind), value_kind_name(r.kind));
    double x;
    switch (n->op) {
    case AST_OP_ADD: x = l.num + r.num; break;
    case AST_OP_SUB: x = l.num - r.num; break;
    case AST_OP_MUL: x = l.num * r.num; break;
    case AST_OP_DIV: x = l.num / r.num; break;
    default: x = pow(l.num, r.num); break;
    }
    *out = num_value(x);
    return true;
}

/* A schedule's name that names nothing (`linear(100)`): the schedules vg
 * has say more than "unknown name". */
static bool unknown_schedule(Elab *e, const AstNode *expr)
{
    const AstNode *name = expr->kind == AST_CALL ? expr->a : expr;
    if (name->kind != AST_NAME || frame_find(e->frame, name->str) ||
        program_lookup(e->p, name->str) || builtin_find(name->str))
        return false;
    for (int i = 0; e->scope && i < e->scope->naxes; i++)
        if (strcmp(e->scope->vars[i], name->str) == 0)
            return false;
    diag_error(e->d, name->span, "unknown schedule '%s'", name->str);
    diag_note(e->d, "a schedule is constant, warmup(steps), cosine(steps, min = 0), "
              "step(every, factor), or one of them then another");
    return true;
}

bool elab_unknown_schedule(Program *p, const Member *m, const AstNode *expr)
{
    Elab e = {.p = p, .d = &p->diag, .arena = &p->arena, .scope = m};
    return unknown_schedule(&e, expr);
}

/* One side of `a then b`: a schedule (warmup, cosine, step, or a `then`). */
static bool then_phase(Elab *e, const AstNode *side, const Value **out)
{
    if (unknown_schedule(e, side))
        return false;
    if (side->kind == AST_NAME && strcmp(side->str, "constant") == 0 &&
        !frame_find(e->frame, side->str) && !program_lookup(e->p, side->str))
        return diag_error(e->d, side->span, "'then' joins warmup, cosine and step schedules; "
                          "'constant' is only a whole schedule (each phase holds its last "
                          "learning rate already)");
    Value *v = arena_alloc(e->arena, sizeof *v);
    if (!eval(e, side, v))
        return false;
    if (v->kind != VAL_SPEC || spec_table[v->spec->id].kind != SPEC_SCHED) {
        char got[64];
        elab_describe(v, got, sizeof got);
        const char *kind =
            v->kind == VAL_SPEC ? spec_kind_name(spec_table[v->spec->id].kind) : NULL;
        return diag_error(e->d, side->span, "'then' joins schedules (warmup, cosine, step), "
                          "got %s%s%s", kind ? kind : "", kind ? " " : "", got);
    }
    *out = v;
    return true;
}

/* `a then b` is the spec SPEC_THEN of its two schedules. */
static bool eval_then(Elab *e, const AstNode *n, Value *out)
{
    const Value *first, *second;
    if (!then_phase(e, n->a, &first) || !then_phase(e, n->b, &second))
        return false;
    Value *args = arena_alloc(e->arena, 2 * sizeof *args);
    args[0] = *first;
    args[1] = *second;
    Spec *s = arena_alloc(e->arena, sizeof *s);
    *s = (Spec){.id = SPEC_THEN, .nargs = 2, .args = args, .span = n->span};
    *out = (Value){.kind = VAL_SPEC, .spec = s};
    return true;
}

static bool eval_binary(Elab *e, const AstNode *n, Value *out)
{
    Value l, r;
    if (n->op == AST_OP_THEN)
        return eval_then(e, n, out);
    if (!eval(e, n->a, &l))
        return false;
    /* `and` and `or` look at their right side only when they need it,
     * except over a list, whose every element needs it. */
    if ((n->op == AST_OP_AND || n->op == AST_OP_OR) && l.kind != VAL_LIST && !e->every_branch) {
        bool lv = value_truthy(&l);
        if ((n->op == AST_OP_AND && !lv) || (n->op == AST_OP_OR && lv)) {
            *out = bool_value(lv);
            return true;
        }
    }
    if (!eval(e, n->b, &r))
        return false;
    return binary_values(e, n, l, r, out);
}

static bool unary_value(Elab *e, const AstNode *n, const Value *v, const void *unused,
                        Value *out)
{
    if (v->kind == VAL_LIST)
        return map_list(e, n, v, unary_value, unused, out);
    if (n->op == AST_OP_NOT) {
        if (v->kind != VAL_BOOL && v->kind != VAL_NUM)
            return diag_error(e->d, n->span, "'not' needs a boolean, got a %s",
                              value_kind_name(v->kind));
        *out = bool_value(!value_truthy(v));
        return true;
    }
    if (v->kind == VAL_NUM) {
        *out = num_value(-v->num);
        return true;
    }
    if (v->kind == VAL_TENSOR) {
        AstNode mul = *n;
        mul.op = AST_OP_MUL;
        return tensor_binary(e, &mul, num_value(-1), *v, out);
    }
    return diag_error(e->d, n->span, "unary '-' needs a number or a tensor, got a %s",
                      value_kind_name(v->kind));
}

static bool eval_unary(Elab *e, const AstNode *n, Value *out)
{
    Value v;
    if (!eval(e, n->a, &v))
        return false;
    return unary_value(e, n, &v, NULL, out);
}

static bool eval(Elab *e, const AstNode *n, Value *out)
{
    switch (n->kind) {
    case AST_NUM:
        *out = num_value(n->num);
        return true;
    case AST_STR:
        *out = (Value){.kind = VAL_STR, .str = n->str};
        return true;
    case AST_BOOL:
        *out = bool_value(n->boolean);
        return true;
    case AST_NAME: {
        bool found;
        if (lookup(e, n->str, n->span, out, &found))
            return true;
        return found ? false : unknown_name(e, n->str, n->span);
    }
    case AST_UNARY:
        return eval_unary(e, n, out);
    case AST_BINARY:
        return eval_binary(e, n, out);
    case AST_CALL:
        return eval_call(e, n, out);
    case AST_MEMBER:
        return eval_member(e, n, out);
    case AST_INDEX:
        return eval_index(e, n, out);
    case AST_LIST:
        return eval_list(e, n, out);
    default:
        return diag_error(e->d, n->span, "a %s is not an expression", ast_kind_name(n->kind));
    }
}

bool elab_eval(Program *p, const RunValues *runs, const AstNode *expr, Value *out)
{
    Elab e = {.p = p, .d = &p->diag, .arena = &p->arena, .runs = runs};
    return eval(&e, expr, out);
}

bool elab_eval_every_branch(Program *p, const RunValues *runs, const AstNode *expr, Value *out)
{
    Elab e = {.p = p, .d = &p->diag, .arena = &p->arena, .runs = runs, .every_branch = true};
    return eval(&e, expr, out);
}

bool elab_eval_member(Program *p, const Member *m, const AstNode *expr, Value *out)
{
    Elab e = {.p = p, .d = &p->diag, .arena = &p->arena, .scope = m};
    return eval(&e, expr, out);
}

/* ---- run families ---- */

static bool value_source(Elab *e, const Value *v, Span at, const char **out);

static bool write_source(Elab *e, FILE *f, const Value *v, Span at)
{
    switch (v->kind) {
    case VAL_NUM:
        if (!isfinite(v->num))
            return diag_error(e->d, at, "a family's axis values must be finite, got %s",
                              isnan(v->num) ? "NaN" : v->num > 0 ? "inf" : "-inf");
        ast_print_num(f, v->num);
        return true;
    case VAL_BOOL: fputs(v->num ? "true" : "false", f); return true;
    case VAL_STR: ast_print_str(f, v->str); return true;
    case VAL_NONE: fputs("none", f); return true;
    case VAL_OP: fputs(op_def(v->op)->name, f); return true;
    case VAL_SPEC: {
        if (v->spec->id == SPEC_THEN)
            return write_source(e, f, &v->spec->args[0], at) && fputs(" then ", f) >= 0 &&
                   write_source(e, f, &v->spec->args[1], at);
        /* the arguments that differ from their defaults: he_normal, normal(std = 0.1) */
        const Sig *sig = spec_sig(v->spec->id);
        fputs(spec_table[v->spec->id].name, f);
        int shown = 0;
        DefaultAt where = {e, at};
        for (int i = 0; i < v->spec->nargs; i++) {
            const char *text, *dflt = NULL;
            if (!value_source(e, &v->spec->args[i], at, &text))
                return false;
            if (sig->p[i].dflt) {
                Value d = sig_default(&sig->p[i], e->arena, default_builtin, &where);
                if (!value_source(e, &d, at, &dflt))
                    return false;
            }
            if (!dflt || strcmp(text, dflt) != 0)
                fprintf(f, "%s%s = %s", shown++ ? ", " : "(", sig->p[i].name, text);
        }
        if (shown)
            fputc(')', f);
        return true;
    }
    default:
        return diag_error(e->d, at, "a %s cannot be a value of a family's axis",
                          value_kind_name(v->kind));
    }
}

static bool value_source(Elab *e, const Value *v, Span at, const char **out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return diag_error(e->d, at, "out of memory");
    bool ok = write_source(e, f, v, at);
    fclose(f);
    *out = ok ? arena_strndup(e->arena, buf, len) : NULL;
    free(buf);
    return ok;
}

bool elab_value_text(Program *p, const Value *v, Span at, const char **out)
{
    Elab e = {.p = p, .d = &p->diag, .arena = &p->arena};
    return value_source(&e, v, at, out);
}

/* The values of one axis: the integers lo..hi of a range, or a list. */
static bool axis_values(Elab *e, const AstNode *ax, const Value **vals, const char ***texts,
                        int *n)
{
    Value v;
    if (ax->b) {
        long lo, hi;
        if (!int_value(e, ax->a, "a range bound", -(1L << 40), &lo) ||
            !int_value(e, ax->b, "a range bound", -(1L << 40), &hi))
            return false;
        if (hi < lo)
            return diag_error(e->d, ax->span, "the range %ld..%ld of axis '%s' is empty", lo,
                              hi, ax->str);
        if (hi - lo >= ELAB_MAX_MEMBERS)
            return diag_error(e->d, ax->span, "the range %ld..%ld of axis '%s' has %ld "
                              "values, above the limit of %d members", lo, hi, ax->str,
                              hi - lo + 1, ELAB_MAX_MEMBERS);
        Value *items;
        v = list_value(e, (int)(hi - lo + 1), &items);
        for (long i = lo; i <= hi; i++)
            items[i - lo] = num_value((double)i);
    } else {
        if (!eval(e, ax->a, &v))
            return false;
        if (v.kind != VAL_LIST)
            return diag_error(e->d, ax->a->span, "axis '%s' takes a range a..b or a list "
                              "[x, y, ...], got a %s", ax->str, value_kind_name(v.kind));
        if (v.len == 0)
            return diag_error(e->d, ax->a->span, "axis '%s' has no values: its list is empty",
                              ax->str);
    }
    const char **t = arena_alloc(e->arena, sizeof *t * (size_t)v.len);
    for (int i = 0; i < v.len; i++) {
        Span at = ax->b ? ax->span : ax->a->kind == AST_LIST ? ax->a->span : ax->a->span;
        int j = 0;
        for (const AstNode *x = ax->b ? NULL : ax->a->kind == AST_LIST ? ax->a->list.head : NULL;
             x; x = x->next, j++)
            if (j == i)
                at = x->span;
        if (!value_source(e, &v.items[i], at, &t[i]))
            return false;
        for (int k = 0; k < i; k++)
            if (strcmp(t[k], t[i]) == 0)
                return diag_error(e->d, at, "axis '%s' has the value %s twice", ax->str, t[i]);
    }
    *vals = v.items;
    *texts = t;
    *n = v.len;
    return true;
}

bool elab_members(Program *p, const AstNode *train, Member **out, int *n)
{
    if (train->list2.n == 0) {
        *out = arena_alloc(&p->arena, sizeof **out);
        **out = elab_plain_member(train);
        *n = 1;
        return true;
    }
    Elab e = {.p = p, .d = &p->diag, .arena = &p->arena};
    int naxes = train->list2.n;
    if (naxes > MAX_INDICES)
        return diag_error(e.d, train->span, "run family '%s' has %d axes, above the limit "
                          "of %d", train->str, naxes, MAX_INDICES);
    const char **vars = arena_alloc(e.arena, sizeof *vars * (size_t)naxes);
    const Value *vals[MAX_INDICES];
    const char **texts[MAX_INDICES];
    int counts[MAX_INDICES];
    double total = 1;
    int k = 0;
    for (const AstNode *ax = train->list2.head; ax; ax = ax->next, k++) {
        for (int j = 0; j < k; j++)
            if (strcmp(vars[j], ax->str) == 0)
                return diag_error(e.d, ax->span, "run family '%s' declares the axis '%s' "
                                  "twice", train->str, ax->str);
        vars[k] = ax->str;
        if (!axis_values(&e, ax, &vals[k], &texts[k], &counts[k]))
            return false;
        total *= counts[k];
    }
    if (total > ELAB_MAX_MEMBERS)
        return diag_error(e.d, train->span, "run family '%s' has %.0f members, above the "
                          "limit of %d", train->str, total, ELAB_MAX_MEMBERS);
    Member *ms = arena_alloc(e.arena, sizeof *ms * (size_t)total);
    for (int i = 0; i < (int)total; i++) {
        Value *mv = arena_alloc(e.arena, sizeof *mv * (size_t)naxes);
        const char **mt = arena_alloc(e.arena, sizeof *mt * (size_t)naxes);
        char *name = arena_concat(e.arena, train->str, "[", (char *)NULL);
        for (int a = naxes - 1, rest = i; a >= 0; a--) {  /* the last axis varies fastest */
            mv[a] = vals[a][rest % counts[a]];
            mt[a] = texts[a][rest % counts[a]];
            rest /= counts[a];
        }
        for (int a = 0; a < naxes; a++)
            name = arena_concat(e.arena, name, a ? ", " : "", mt[a], (char *)NULL);
        ms[i] = (Member){.train = train, .name = arena_concat(e.arena, name, "]", (char *)NULL),
                         .index = i, .naxes = naxes, .vars = vars, .vals = mv, .texts = mt};
    }
    *out = ms;
    *n = (int)total;
    return true;
}

/* ---- statements ---- */

static bool int_value(Elab *e, const AstNode *n, const char *what, long lo, long *out)
{
    Value v;
    if (!eval(e, n, &v))
        return false;
    if (v.kind != VAL_NUM || v.num != floor(v.num) || fabs(v.num) > 1e15)
        return diag_error(e->d, n->span, "%s must be an integer", what);
    if (v.num < lo)
        return diag_error(e->d, n->span, "%s must be at least %ld, got %s", what, lo,
                              DIAG_NUM(v.num));
    *out = (long)v.num;
    return true;
}

static bool stmt_input(Elab *e, const AstNode *s)
{
    if (e->g->input >= 0)
        return diag_error(e->d, s->span, "a model takes one input; '%s' is a second",
                          s->str);
    if (s->list.n < 1 || s->list.n > IR_MAX_RANK)
        return diag_error(e->d, s->span, "input '%s' must have 1 to %d dimensions ([features], "
                          "[time, features] or [channels, height, width]), got %d", s->str,
                          IR_MAX_RANK, s->list.n);
    Value *dims = arena_alloc(e->arena, sizeof(Value) * IR_MAX_RANK);
    int nd = 0;
    for (const AstNode *d = s->list.head; d; d = d->next) {
        long x;
        if (!int_value(e, d, "an input dimension", 1, &x))
            return false;
        dims[nd++] = num_value((double)x);
    }
    int node = ir_add_node(e->g, OP_INPUT, s->span, NULL, 0, dims, nd, e->d);
    if (node < 0)
        return false;
    e->g->input = node;
    e->g->nodes[node].binding = s->str;
    frame_bind(e->frame, s->str, (Value){.kind = VAL_TENSOR, .node = node});
    return true;
}

static bool stmt_assign(Elab *e, const AstNode *s)
{
    Value v;
    if (!eval(e, s->a, &v))
        return false;
    frame_bind(e->frame, s->str, v);
    if (v.kind == VAL_TENSOR) {
        if (!e->g->nodes[v.node].binding)  /* `h = x` keeps the name x */
            e->g->nodes[v.node].binding = s->str;
        if (e->frame->layer >= 0)
            e->g->layers[e->frame->layer].output = v.node;
    }
    return true;
}

/* "fc[12]": without printf, which is slow in vg's process (arena.h). */
static const char *index_name(Arena *a, const char *base, long i)
{
    char digits[24], *d = digits + sizeof digits;
    unsigned long u = i < 0 ? 0UL - (unsigned long)i : (unsigned long)i;
    *--d = '\0';
    do
        *--d = (char)('0' + u % 10);
    while (u /= 10);
    if (i < 0)
        *--d = '-';
    return arena_concat(a, base, "[", d, "]", (char *)NULL);
}

static bool stmt_layer(Elab *e, const AstNode *s)
{
    if (e->g->cur_layer >= 0)
        return diag_error(e->d, s->span, "layer '%s' is inside layer '%s': layers cannot nest",
                          s->str, e->g->layers[e->g->cur_layer].name);
    const char *name = s->str;
    if (s->b) {
        long i;
        if (!int_value(e, s->b, "a layer index", -(1L << 40), &i))
            return false;
        name = index_name(e->arena, s->str, i);
    }
    int prev_frame_layer = e->frame->layer;
    int prev = e->g->cur_layer;
    int layer = ir_begin_layer(e->g, name, s->span, e->d);
    if (layer < 0)
        return false;
    e->frame->layer = layer;
    bool ok = exec_block(e, s->list.head);
    ir_end_layer(e->g, layer, prev);
    e->frame->layer = prev_frame_layer;
    if (ok && e->g->layers[layer].output < 0)
        return diag_error(e->d, s->span, "layer '%s' binds no tensor: "
                          "its output is the last tensor bound inside", name);
    return ok;
}

static bool stmt_for(Elab *e, const AstNode *s)
{
    long lo, hi;
    if (!int_value(e, s->a, "a loop bound", -(1L << 40), &lo) ||
        !int_value(e, s->b, "a loop bound", -(1L << 40), &hi))
        return false;
    VEC_PUSH(e->frame->b, e->frame->n, e->frame->cap, ((Binding){s->str, num_value(0), NULL}));
    int slot = e->frame->n - 1;
    bool ok = true;
    for (long i = lo; i <= hi && ok && !e->returned; i++) {
        if (++e->iterations > ELAB_MAX_ITERATIONS) {
            ok = diag_error(e->d, s->span, "loops run more than %d iterations in one model",
                            ELAB_MAX_ITERATIONS);
            break;
        }
        e->frame->b[slot].v = num_value((double)i);
        ok = exec_block(e, s->list.head);
    }
    e->frame->b[slot].name = NULL;  /* the loop variable ends with its loop */
    return ok;
}

static bool stmt_if(Elab *e, const AstNode *s)
{
    Value c;
    if (!eval(e, s->a, &c))
        return false;
    if (c.kind != VAL_BOOL && c.kind != VAL_NUM)
        return diag_error(e->d, s->a->span, "an `if` condition must be a boolean, got a %s",
                          value_kind_name(c.kind));
    return exec_block(e, value_truthy(&c) ? s->list.head : s->list2.head);
}

static bool exec_stmt(Elab *e, const AstNode *s)
{
    switch (s->kind) {
    case AST_INPUT:
        if (e->depth > 0)
            return diag_error(e->d, s->span, "`input` belongs in a model, not in a def");
        return stmt_input(e, s);
    case AST_ASSIGN:
        return stmt_assign(e, s);
    case AST_LAYER:
        return stmt_layer(e, s);
    case AST_FOR:
        return stmt_for(e, s);
    case AST_IF:
        return stmt_if(e, s);
    case AST_RETURN:
        if (!eval(e, s->a, &e->ret))
            return false;
        e->returned = true;
        return true;
    case AST_EXPR_STMT: {
        Value ignored;
        return eval(e, s->a, &ignored);
    }
    default:
        return diag_error(e->d, s->span, "a %s cannot stand inside a model",
                          ast_kind_name(s->kind));
    }
}

static bool exec_block(Elab *e, const AstNode *first)
{
    for (const AstNode *s = first; s && !e->returned; s = s->next)
        if (!exec_stmt(e, s))
            return false;
    return true;
}

/* ---- printing ---- */

void value_print(FILE *out, const Value *v)
{
    switch (v->kind) {
    case VAL_NONE: fputs("none", out); break;
    case VAL_NUM: fprintf(out, "%.6g", v->num); break;
    case VAL_BOOL: fputs(v->num ? "true" : "false", out); break;
    case VAL_STR: fprintf(out, "\"%s\"", v->str); break;
    case VAL_OP: fputs(op_def(v->op)->name, out); break;
    case VAL_SPEC: {
        const Spec *s = v->spec;
        if (s->id == SPEC_THEN) {
            value_print(out, &s->args[0]);
            fputs(" then ", out);
            value_print(out, &s->args[1]);
            break;
        }
        const Sig *sig = spec_sig(s->id);
        fprintf(out, "%s(", spec_table[s->id].name);
        for (int i = 0; i < s->nargs; i++) {
            fprintf(out, "%s%s = ", i ? ", " : "", sig->p[i].name);
            value_print(out, &s->args[i]);
        }
        fputc(')', out);
        break;
    }
    case VAL_MODEL: fprintf(out, "model %s", v->ast->str); break;
    case VAL_FAMILY: fprintf(out, "run family %s", v->str); break;
    case VAL_LIST:
        fputc('[', out);
        for (int i = 0; i < v->len; i++) {
            fputs(i ? ", " : "", out);
            value_print(out, &v->items[i]);
        }
        fputc(']', out);
        break;
    case VAL_DEF: fprintf(out, "def %s", v->ast->str); break;
    default: fprintf(out, "<%s>", value_kind_name(v->kind)); break;
    }
}

char *value_text(const Value *v)
{
    MemText t;
    value_print(mem_text_open(&t), v);
    return mem_text_close(&t);
}
