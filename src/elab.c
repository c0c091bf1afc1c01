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
#include "vg/train.h"

typedef struct Binding {
    const char *name;   /* NULL once a loop variable has ended */
    Value v;
} Binding;

/* One model or def invocation. Blocks inside it share the frame. */
typedef struct Frame {
    Binding *b;
    int n, cap;
    int layer;          /* layer opened in this frame, or -1 */
} Frame;

typedef struct Elab {
    Program *p;
    DiagSink *d;
    Arena *arena;
    IrGraph *g;          /* NULL outside a model */
    const RunSet *runs;  /* NULL before any run */
    Frame *frame;        /* NULL at the top level */
    int depth;
    long iterations;
    bool returned;
    Value ret;
} Elab;

/* Identifiers that denote symbolic setting values. */
static const char *const constants[] = {"none", "all", "fail", "stop"};

static bool eval(Elab *e, const AstNode *n, Value *out);
static bool exec_block(Elab *e, const AstNode *first);

static Value num_value(double x)
{
    return (Value){.kind = VAL_NUM, .num = x};
}

static Value bool_value(bool b)
{
    return (Value){.kind = VAL_BOOL, .num = b};
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
        return;
    }
    Binding nb = {name, v};
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
        int r = runset_find(e->runs, name);
        if (r >= 0) {
            *out = (Value){.kind = VAL_RUN, .run = r};
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
    for (int i = 0; e->runs && i < e->runs->n && n < MAXN; i++)
        cands[n++] = e->runs->runs[i]->name;
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
    if (!ok)
        return false;
    if (out->kind == VAL_TENSOR)
        return diag_error(e->d, s->ast->span, "a constant cannot hold a tensor");
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

static void describe(const Value *v, char *buf, size_t n)
{
    switch (v->kind) {
    case VAL_NUM:
        /* printf spells NaN "nan" or "-nan" by platform; say it one way. */
        if (isnan(v->num))
            snprintf(buf, n, "NaN");
        else
            snprintf(buf, n, "%g", v->num);
        break;
    case VAL_OP: snprintf(buf, n, "'%s'", op_def(v->op)->name); break;
    case VAL_SPEC: snprintf(buf, n, "'%s'", spec_table[v->spec->id].name); break;
    default: snprintf(buf, n, "a %s", value_kind_name(v->kind)); break;
    }
}

static bool check_type(Elab *e, const char *callee, const SigParam *p, const Value *v, Span at)
{
    bool ok;
    switch (p->type) {
    case ARG_TENSOR: case ARG_TENSORS: ok = v->kind == VAL_TENSOR; break;
    case ARG_NUM: ok = v->kind == VAL_NUM && isfinite(v->num); break;
    case ARG_INT: ok = v->kind == VAL_NUM && v->num == floor(v->num) && fabs(v->num) < 9e15; break;
    case ARG_BOOL: ok = v->kind == VAL_BOOL; break;
    case ARG_STR: ok = v->kind == VAL_STR; break;
    case ARG_ACT: ok = v->kind == VAL_OP && op_def(v->op)->kind == OPK_ACTIVATION; break;
    case ARG_INIT: ok = v->kind == VAL_SPEC && spec_table[v->spec->id].kind == SPEC_INIT; break;
    default: ok = true; break;
    }
    if (ok)
        return true;
    char got[64];
    describe(v, got, sizeof got);
    return diag_error(e->d, at, "%s: argument '%s' must be %s, got %s", callee, p->name,
                      type_name(p->type), got);
}

/* A default as written in a signature: a number, true/false, a "string",
 * or the name of a built-in. */
static bool default_value(Elab *e, const SigParam *p, Span at, Value *out)
{
    const char *text = p->dflt;
    if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
        *out = bool_value(text[0] == 't');
        return true;
    }
    if (text[0] == '"') {
        *out = (Value){.kind = VAL_STR,
                       .str = arena_strndup(e->arena, text + 1, strlen(text) - 2)};
        return true;
    }
    if (p->dflt_is_num) {
        *out = num_value(p->dflt_num);
        return true;
    }
    Elab top = {.p = e->p, .d = e->d, .arena = e->arena};
    bool found;
    if (lookup(&top, text, at, out, &found))
        return true;
    return diag_error(e->d, at, "internal error: bad default '%s'", text);
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
                if (!check_type(e, callee, &sig->p[slot], &v, a->span))
                    return false;
                if (nextra == IR_MAX_IN)
                    return diag_error(e->d, a->span, "%s takes at most %d inputs", callee,
                                      IR_MAX_IN);
                extra[nextra++] = v.node;
                continue;
            }
        }
        if (!check_type(e, callee, &sig->p[slot], &v, a->kind == AST_KWARG ? a->a->span : a->span))
            return false;
        args[slot] = v;
        set[slot] = true;
    }
    for (int i = 0; i < sig->n; i++) {
        if (set[i])
            continue;
        if (!sig->p[i].dflt)
            return diag_error(e->d, at, "%s: missing argument '%s'", callee, sig->p[i].name);
        if (!default_value(e, &sig->p[i], at, &args[i]))
            return false;
    }
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

bool elab_model(Program *p, const AstNode *call, IrGraph *g)
{
    Elab e = {.p = p, .d = &p->diag, .arena = &p->arena};
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
    Frame frame = {.layer = -1};
    Elab inner = e;
    inner.g = g;
    inner.frame = &frame;
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

static bool math_call(Elab *e, const char *name, const AstNode *call, Value *out, bool *handled)
{
    static const char *const names[] = {"abs", "log", "log10", "exp", "sqrt", "min", "max", "mean"};
    *handled = false;
    int which = -1;
    for (int i = 0; i < 8; i++)
        if (strcmp(name, names[i]) == 0)
            which = i;
    if (which < 0 || frame_find(e->frame, name) || program_lookup(e->p, name))
        return true;
    *handled = true;
    double xs[64];
    int n = 0;
    for (const AstNode *a = call->list.head; a; a = a->next) {
        Value v;
        if (a->kind == AST_KWARG)
            return diag_error(e->d, a->span, "%s takes no keyword arguments", name);
        if (!eval(e, a, &v))
            return false;
        if (v.kind != VAL_NUM)
            return diag_error(e->d, a->span, "%s needs numbers, got a %s", name,
                              value_kind_name(v.kind));
        if (n == 64)
            return diag_error(e->d, a->span, "%s takes at most 64 arguments", name);
        xs[n++] = v.num;
    }
    if (which < 5 && n != 1)
        return diag_error(e->d, call->span, "%s takes one argument, got %d", name, n);
    if (n == 0)
        return diag_error(e->d, call->span, "%s needs at least one argument", name);
    double r = xs[0];
    switch (which) {
    case 0: r = fabs(r); break;
    case 1: r = log(r); break;
    case 2: r = log10(r); break;
    case 3: r = exp(r); break;
    case 4: r = sqrt(r); break;
    case 5: for (int i = 1; i < n; i++) r = fmin(r, xs[i]); break;
    case 6: for (int i = 1; i < n; i++) r = fmax(r, xs[i]); break;
    default: for (int i = 1; i < n; i++) r += xs[i]; r /= n; break;
    }
    *out = num_value(r);
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
        describe(&callee, got, sizeof got);
        return diag_error(e->d, f->span, "%s is not callable", got);
    }
    }
}

static bool eval_member(Elab *e, const AstNode *n, Value *out)
{
    Value obj;
    if (!eval(e, n->a, &obj))
        return false;
    if (obj.kind >= VAL_RUN && obj.kind <= VAL_SERIES && e->runs) {
        char err[256];
        if (run_member(e->runs, &obj, n->str, out, err, sizeof err))
            return true;
        return diag_error(e->d, n->span, "%s", err);
    }
    char got[64];
    describe(&obj, got, sizeof got);
    return diag_error(e->d, n->span, "%s has no member '%s'", got, n->str);
}

static bool eval_index(Elab *e, const AstNode *n, Value *out)
{
    Value obj, idx;
    if (!eval(e, n->a, &obj) || !eval(e, n->b, &idx))
        return false;
    if (idx.kind != VAL_NUM || idx.num != floor(idx.num))
        return diag_error(e->d, n->b->span, "an index must be an integer");
    if ((obj.kind == VAL_LAYERS || obj.kind == VAL_SERIES) && e->runs) {
        char err[256];
        if (run_index(e->runs, &obj, (long)idx.num, out, err, sizeof err))
            return true;
        return diag_error(e->d, n->span, "%s", err);
    }
    char got[64];
    describe(&obj, got, sizeof got);
    return diag_error(e->d, n->span, "%s cannot be indexed", got);
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

static bool eval_binary(Elab *e, const AstNode *n, Value *out)
{
    Value l, r;
    if (n->op == AST_OP_AND || n->op == AST_OP_OR) {
        if (!eval(e, n->a, &l))
            return false;
        bool lv = value_truthy(&l);
        if ((n->op == AST_OP_AND && !lv) || (n->op == AST_OP_OR && lv)) {
            *out = bool_value(lv);
            return true;
        }
        if (!eval(e, n->b, &r))
            return false;
        *out = bool_value(value_truthy(&r));
        return true;
    }
    if (!eval(e, n->a, &l) || !eval(e, n->b, &r))
        return false;
    switch (n->op) {
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

static bool eval_unary(Elab *e, const AstNode *n, Value *out)
{
    Value v;
    if (!eval(e, n->a, &v))
        return false;
    if (n->op == AST_OP_NOT) {
        if (v.kind != VAL_BOOL && v.kind != VAL_NUM)
            return diag_error(e->d, n->span, "'not' needs a boolean, got a %s",
                              value_kind_name(v.kind));
        *out = bool_value(!value_truthy(&v));
        return true;
    }
    if (v.kind == VAL_NUM) {
        *out = num_value(-v.num);
        return true;
    }
    if (v.kind == VAL_TENSOR) {
        AstNode mul = *n;
        mul.op = AST_OP_MUL;
        return tensor_binary(e, &mul, num_value(-1), v, out);
    }
    return diag_error(e->d, n->span, "unary '-' needs a number or a tensor, got a %s",
                      value_kind_name(v.kind));
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
    default:
        return diag_error(e->d, n->span, "a %s is not an expression", ast_kind_name(n->kind));
    }
}

bool elab_eval(Program *p, const RunSet *runs, const AstNode *expr, Value *out)
{
    Elab e = {.p = p, .d = &p->diag, .arena = &p->arena, .runs = runs};
    return eval(&e, expr, out);
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
        return diag_error(e->d, n->span, "%s must be at least %ld, got %g", what, lo, v.num);
    *out = (long)v.num;
    return true;
}

static bool stmt_input(Elab *e, const AstNode *s)
{
    if (e->g->input >= 0)
        return diag_error(e->d, s->span, "a model takes one input; '%s' is a second",
                          s->str);
    if (s->list.n < 1 || s->list.n > 2)
        return diag_error(e->d, s->span, "input '%s' must have 1 or 2 dimensions "
                          "([features] or [time, features]), got %d", s->str, s->list.n);
    Value *dims = arena_alloc(e->arena, sizeof(Value) * 2);
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
    VEC_PUSH(e->frame->b, e->frame->n, e->frame->cap, ((Binding){s->str, num_value(0)}));
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

/* ---- settings ---- */

typedef enum { K_DATA, K_LOSS, K_OPTIM, K_BATCH, K_STEPS, K_SEED, K_REPORT, K_PROBE,
               K_CLIP, K_PRETRAIN, K_TEST, K_NONFINITE, K_VANISH, K_EXPLODE, K_COUNT } Key;

static const char *const key_names[K_COUNT] = {
    [K_DATA] = "data", [K_LOSS] = "loss", [K_OPTIM] = "optimizer", [K_BATCH] = "batch",
    [K_STEPS] = "steps", [K_SEED] = "seed", [K_REPORT] = "report", [K_PROBE] = "probe",
    [K_CLIP] = "clip", [K_PRETRAIN] = "pretrain", [K_TEST] = "test",
    [K_NONFINITE] = "on_nonfinite", [K_VANISH] = "vanishing_below",
    [K_EXPLODE] = "exploding_above",
};

static bool spec_of_kind(Elab *e, const Value *v, SpecKind k, Span at, const char *key,
                         const Spec **out, bool allow_none)
{
    if (allow_none && v->kind == VAL_NONE) {
        *out = NULL;
        return true;
    }
    if (v->kind == VAL_SPEC && spec_table[v->spec->id].kind == k) {
        *out = v->spec;
        return true;
    }
    char got[64];
    describe(v, got, sizeof got);
    return diag_error(e->d, at, "'%s' must be a%s %s%s, got %s", key,
                      k == SPEC_INIT || k == SPEC_OPTIM ? "n" : "", spec_kind_name(k),
                      allow_none ? " or none" : "", got);
}

static bool count_value(Elab *e, const Value *v, Span at, const char *key, long lo, long *out)
{
    if (v->kind != VAL_NUM || v->num != floor(v->num) || v->num > 1e12)
        return diag_error(e->d, at, "'%s' must be an integer", key);
    if (v->num < lo)
        return diag_error(e->d, at, "'%s' must be at least %ld, got %g", key, lo, v->num);
    *out = (long)v->num;
    return true;
}

static bool real_value(Elab *e, const Value *v, Span at, const char *key, double *out)
{
    if (v->kind != VAL_NUM || !isfinite(v->num))
        return diag_error(e->d, at, "'%s' must be a number", key);
    *out = v->num;
    return true;
}

static int key_index(const char *key)
{
    for (int i = 0; i < K_COUNT; i++)
        if (strcmp(key, key_names[i]) == 0)
            return i;
    return -1;
}

static bool apply_setting(Elab *e, Settings *s, bool *set, const char *key, const Value *v,
                          Span at)
{
    int k = key_index(key);
    if (k < 0) {
        const char *best = diag_suggest(key, key_names, K_COUNT);
        for (int i = 0; best && i < K_COUNT; i++)
            if (key_names[i] == best)
                set[i] = true;  /* the slip already explains why it is missing */
        if (best)
            return diag_error(e->d, at, "unknown setting '%s'; did you mean '%s'?", key, best);
        return diag_error(e->d, at, "unknown setting '%s'", key);
    }
    set[k] = true;
    long x;
    switch ((Key)k) {
    case K_DATA:
        s->data_span = at;
        return spec_of_kind(e, v, SPEC_DATA, at, key, &s->data, false);
    case K_LOSS:
        if (v->kind != VAL_OP || op_def(v->op)->kind != OPK_LOSS)
            return diag_error(e->d, at, "'loss' must be cross_entropy, bce or mse");
        s->loss = v->op;
        return true;
    case K_OPTIM:
        return spec_of_kind(e, v, SPEC_OPTIM, at, key, &s->optimizer, false);
    case K_BATCH:
        return count_value(e, v, at, key, 1, &s->batch);
    case K_STEPS:
        return count_value(e, v, at, key, 0, &s->steps);
    case K_SEED:
        if (!count_value(e, v, at, key, 0, &x))
            return false;
        s->seed = (uint64_t)x;
        return true;
    case K_REPORT:
        return count_value(e, v, at, key, 0, &s->report);
    case K_PROBE:
        if (v->kind == VAL_STR && strcmp(v->str, "all") == 0) {
            s->probe = 0;
            return true;
        }
        return count_value(e, v, at, key, 1, &s->probe);
    case K_CLIP:
        return spec_of_kind(e, v, SPEC_CLIP, at, key, &s->clip, true);
    case K_PRETRAIN:
        return spec_of_kind(e, v, SPEC_PRETRAIN, at, key, &s->pretrain, true);
    case K_TEST:
        if (!real_value(e, v, at, key, &s->test))
            return false;
        if (s->test < 0 || s->test >= 1)
            return diag_error(e->d, at, "'test' must be a fraction in [0, 1), got %g", s->test);
        return true;
    case K_NONFINITE:
        if (v->kind == VAL_STR && (strcmp(v->str, "fail") == 0 || strcmp(v->str, "stop") == 0)) {
            s->stop_on_nonfinite = v->str[0] == 's';
            return true;
        }
        if (v->kind == VAL_STR)
            return diag_error(e->d, at, "'on_nonfinite' must be fail or stop, got '%s'", v->str);
        return diag_error(e->d, at, "'on_nonfinite' must be fail or stop");
    case K_VANISH:
        return real_value(e, v, at, key, &s->vanishing_below);
    case K_EXPLODE:
        return real_value(e, v, at, key, &s->exploding_above);
    case K_COUNT:
        break;
    }
    return false;
}

/* A setting's value. on_nonfinite takes a bare word, so any other word is
 * a wrong value for that key rather than an unknown name. */
static bool setting_value(Elab *e, const char *key, const AstNode *expr, Value *out)
{
    if (expr->kind == AST_NAME && strcmp(key, key_names[K_NONFINITE]) == 0) {
        *out = (Value){.kind = VAL_STR, .str = expr->str};
        return true;
    }
    return eval(e, expr, out);
}

static bool apply_block(Elab *e, Settings *s, bool *set, const AstNode *first)
{
    bool ok = true;
    for (const AstNode *kv = first; kv; kv = kv->next) {
        Value v;
        if (!setting_value(e, kv->str, kv->a, &v)) {
            /* The value's error explains why the setting is missing. */
            int k = key_index(kv->str);
            if (k >= 0)
                set[k] = true;
            ok = false;
            continue;
        }
        ok &= apply_setting(e, s, set, kv->str, &v, kv->span);
    }
    return ok;
}

/* A --set value is .vg source: parse it as an expression of its own. */
static bool apply_cli(Elab *e, Settings *s, bool *set, const SettingOverride *o)
{
    char *text = arena_printf(e->arena, "%s", o->value);
    const char *path = arena_printf(e->arena, "--set %s", o->key);
    int file = source_add(&e->p->sources, path, text, strlen(text));
    AstNode *entry = NULL;
    ParseStatus st = parse_entry(e->arena, e->d, file, &entry);
    if (st != PARSE_OK || !entry || entry->kind != AST_EXPR_STMT) {
        if (st != PARSE_ERROR)
            diag_error(e->d, SPAN_NONE, "--set %s=%s: the value must be an expression",
                       o->key, o->value);
        return false;
    }
    Value v;
    if (!setting_value(e, o->key, entry->a, &v))
        return false;
    return apply_setting(e, s, set, o->key, &v, entry->span);
}

enum { MAX_SETTINGS_CHAIN = 64 };

/* The settings bundle `name` names from `at`, or NULL with an error. */
static const AstNode *settings_named(Elab *e, const char *name, Span at)
{
    Symbol *s = program_lookup(e->p, name);
    if (s && s->kind == SYM_SETTINGS)
        return s->ast;
    const char *names[256];
    int n = 0;
    for (int i = 0; i < e->p->nsyms && n < 256; i++)
        if (e->p->syms[i].kind == SYM_SETTINGS)
            names[n++] = e->p->syms[i].name;
    const char *best = diag_suggest(name, names, n);
    if (best)
        diag_error(e->d, at, "unknown settings '%s'; did you mean '%s'?", name, best);
    else
        diag_error(e->d, at, "unknown settings '%s'", name);
    if (s)
        diag_note(e->d, "'%s' is a %s, not a settings bundle", name, ast_kind_name(s->ast->kind));
    return NULL;
}

/* The bundles `item` (a train or a settings item) builds on, its own `with`
 * first and the last base last; -1 after an error (an unknown name, or a
 * bundle that extends itself). */
static int settings_chain(Elab *e, const AstNode *item, const AstNode **chain)
{
    int n = 0;
    for (const AstNode *at = item; at->str2; at = chain[n - 1]) {
        const AstNode *b = settings_named(e, at->str2, at->span);
        if (!b)
            return -1;
        for (int i = 0; i < n; i++)
            if (chain[i] == b) {
                diag_error(e->d, b->span, "settings '%s' extends itself", b->str);
                char path[512];
                size_t len = 0;
                for (int j = i; j < n && len < sizeof path; j++)
                    len += (size_t)snprintf(path + len, sizeof path - len, "%s with %s; ",
                                            chain[j]->str, chain[j]->str2);
                if (len >= sizeof path)
                    len = sizeof path - 1;
                diag_note(e->d, "%.*s: one of them must not use 'with'",
                          len > 2 ? (int)len - 2 : 0, path);
                return -1;
            }
        if (n == MAX_SETTINGS_CHAIN) {
            diag_error(e->d, b->span, "settings '%s': more than %d bundles extend one another",
                       b->str, MAX_SETTINGS_CHAIN);
            return -1;
        }
        chain[n++] = b;
    }
    return n;
}

bool elab_settings(Program *p, const AstNode *train, const SettingOverride *cli, int ncli,
                   long long seed_override, Settings *out)
{
    Elab e = {.p = p, .d = &p->diag, .arena = &p->arena};
    *out = (Settings){.loss = -1, .probe = 256, .vanishing_below = 1e-3,
                      .exploding_above = 1e3, .span = train->span, .data_span = train->span};
    bool set[K_COUNT] = {false};
    bool ok = true;
    if (train->str2) {
        const AstNode *chain[MAX_SETTINGS_CHAIN];
        int n = settings_chain(&e, train, chain);
        if (n < 0)
            return false;
        /* The base first: each bundle overrides the one it extends. */
        for (int i = n - 1; i >= 0; i--)
            ok &= apply_block(&e, out, set, chain[i]->list.head);
    }
    ok &= apply_block(&e, out, set, train->list.head);
    for (int i = 0; i < ncli; i++)
        ok &= apply_cli(&e, out, set, &cli[i]);
    if (seed_override >= 0) {
        out->seed = (uint64_t)seed_override;
        set[K_SEED] = true;
    }
    static const Key required[] = {K_DATA, K_LOSS, K_OPTIM, K_BATCH, K_STEPS};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
        if (!set[required[i]])
            ok = diag_error(e.d, train->span, "run '%s' has no '%s' setting", train->str,
                            key_names[required[i]]);
    return ok;
}

static const AstNode *find_kwarg(const AstNode *first, const char *key)
{
    const AstNode *found = NULL;
    for (const AstNode *kv = first; kv; kv = kv->next)
        if (strcmp(kv->str, key) == 0)
            found = kv;  /* the last one counts, as in apply_block */
    return found;
}

bool elab_setting_value(Program *p, const AstNode *train, const char *key, Value *out)
{
    const AstNode *kv = find_kwarg(train->list.head, key);
    /* Follows `with` as elab_settings does, without its errors. */
    const AstNode *at = train;
    for (int depth = 0; !kv && at->str2 && depth < MAX_SETTINGS_CHAIN; depth++) {
        Symbol *bundle = program_lookup(p, at->str2);
        if (!bundle || bundle->kind != SYM_SETTINGS)
            break;
        at = bundle->ast;
        kv = find_kwarg(at->list.head, key);
    }
    return kv && elab_eval(p, NULL, kv->a, out);
}

int elab_call_loss(Program *p, const AstNode *call)
{
    Value v;
    for (int i = 0; i < p->ntrains; i++)
        if (p->trains[i]->a == call && elab_setting_value(p, p->trains[i], "loss", &v) &&
            v.kind == VAL_OP && op_def(v.op)->kind == OPK_LOSS)
            return v.op;
    return -1;
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
    case VAL_DEF: fprintf(out, "def %s", v->ast->str); break;
    default: fprintf(out, "<%s>", value_kind_name(v->kind)); break;
    }
}
