/* settings.c — a run's settings, from its bundles, its override block and
 * the command line, checked key by key into a Settings record. */
#include "vg/settings.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vg/ops.h"
#include "vg/parse.h"
#include "vg/schedule.h"

/* Where settings are evaluated: the program, and the family member whose
 * axis variables a train item's override block sees (NULL elsewhere). */
typedef struct Ctx {
    Program *p;
    DiagSink *d;
    Arena *arena;
    const Member *scope;
} Ctx;

typedef enum { K_DATA, K_LOSS, K_OPTIM, K_BATCH, K_STEPS, K_SEED, K_REPORT, K_PROBE,
               K_CLIP, K_PRETRAIN, K_TEST, K_NONFINITE, K_VANISH, K_EXPLODE, K_SCHEDULE,
               K_COUNT } Key;

static const char *const key_names[K_COUNT] = {
    [K_DATA] = "data", [K_LOSS] = "loss", [K_OPTIM] = "optimizer", [K_BATCH] = "batch",
    [K_STEPS] = "steps", [K_SEED] = "seed", [K_REPORT] = "report", [K_PROBE] = "probe",
    [K_CLIP] = "clip", [K_PRETRAIN] = "pretrain", [K_TEST] = "test",
    [K_NONFINITE] = "on_nonfinite", [K_VANISH] = "vanishing_below",
    [K_EXPLODE] = "exploding_above", [K_SCHEDULE] = "schedule",
};

const char *settings_key(int i)
{
    return i >= 0 && i < K_COUNT ? key_names[i] : NULL;
}

static bool spec_of_kind(Ctx *e, const Value *v, SpecKind k, Span at, const char *key,
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
    elab_describe(v, got, sizeof got);
    return diag_error(e->d, at, "'%s' must be a%s %s%s, got %s", key,
                      k == SPEC_INIT || k == SPEC_OPTIM ? "n" : "", spec_kind_name(k),
                      allow_none ? " or none" : "", got);
}

static bool count_value(Ctx *e, const Value *v, Span at, const char *key, long lo, long *out)
{
    if (v->kind != VAL_NUM || v->num != floor(v->num) || v->num > 1e12)
        return diag_error(e->d, at, "'%s' must be an integer", key);
    if (v->num < lo)
        return diag_error(e->d, at, "'%s' must be at least %ld, got %s", key, lo,
                          DIAG_NUM(v->num));
    *out = (long)v->num;
    return true;
}

static bool real_value(Ctx *e, const Value *v, Span at, const char *key, double *out)
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

static bool apply_setting(Ctx *e, Settings *s, bool *set, const char *key, const Value *v,
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
            return diag_error(e->d, at, "'test' must be a fraction in [0, 1), got %s",
                              DIAG_NUM(s->test));
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
    case K_SCHEDULE:
        if (v->kind == VAL_STR && strcmp(v->str, "constant") == 0) {
            s->schedule = NULL;
            return true;
        }
        if (v->kind == VAL_SPEC && spec_table[v->spec->id].kind == SPEC_SCHED) {
            s->schedule = v->spec;
            return schedule_check(e->d, v->spec);
        }
        char got[64];
        elab_describe(v, got, sizeof got);
        return diag_error(e->d, at, "'schedule' must be constant, warmup, cosine, step or "
                          "a 'then' of them, got %s", got);
    case K_COUNT:
        break;
    }
    return false;
}

/* A setting's value. on_nonfinite takes a bare word, so any other word is
 * a wrong value for that key rather than an unknown name; schedule's
 * `constant` is that word, not the init of the same name. */
static bool setting_value(Ctx *e, const char *key, const AstNode *expr, Value *out)
{
    if (expr->kind == AST_NAME && strcmp(key, key_names[K_NONFINITE]) == 0) {
        *out = (Value){.kind = VAL_STR, .str = expr->str};
        return true;
    }
    if (strcmp(key, key_names[K_SCHEDULE]) == 0) {
        if (expr->kind == AST_NAME && strcmp(expr->str, "constant") == 0) {
            *out = (Value){.kind = VAL_STR, .str = expr->str};
            return true;
        }
        if (elab_unknown_schedule(e->p, e->scope, expr))
            return false;
    }
    return elab_eval_member(e->p, e->scope, expr, out);
}

static bool apply_block(Ctx *e, Settings *s, bool *set, const AstNode *first)
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

/* Command-line text as a source, added once however many runs read it, so
 * that its diagnostics are not repeated for each run. */
static int cli_source(Ctx *e, const char *path, const char *text)
{
    const SourceSet *ss = &e->p->sources;
    for (int i = 0; i < ss->n; i++)
        if (strcmp(ss->files[i].path, path) == 0 && strcmp(ss->files[i].text, text) == 0)
            return i;
    return source_add(&e->p->sources, path, text, strlen(text));
}

/* A --set value is .vg source: parse it as an expression of its own. An
 * unknown key is shown in the option as typed, the caret under the key. */
static bool apply_cli(Ctx *e, Settings *s, bool *set, const SettingOverride *o)
{
    if (key_index(o->key) < 0) {
        const char *typed = arena_printf(e->arena, "%s=%s", o->key, o->value);
        int len = (int)strlen(o->key);
        Span key = {cli_source(e, "--set", typed), 1, 1, 1, len > 0 ? len : 1};
        return apply_setting(e, s, set, o->key, &(Value){0}, key);
    }
    const char *path = arena_printf(e->arena, "--set %s", o->key);
    int file = cli_source(e, path, o->value);
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
static const AstNode *settings_named(Ctx *e, const char *name, Span at)
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
static int settings_chain(Ctx *e, const AstNode *item, const AstNode **chain)
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

bool settings_of(Program *p, const Member *m, const SettingOverride *cli, int ncli,
                 long long seed_override, Settings *out)
{
    const AstNode *train = m->train;
    Ctx e = {.p = p, .d = &p->diag, .arena = &p->arena};
    Ctx scoped = e;
    scoped.scope = m;
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
    ok &= apply_block(&scoped, out, set, train->list.head);
    for (int i = 0; i < ncli; i++)
        ok &= apply_cli(&e, out, set, &cli[i]);
    if (seed_override >= 0) {
        out->seed = (uint64_t)seed_override;
        set[K_SEED] = true;
    }
    static const Key required[] = {K_DATA, K_LOSS, K_OPTIM, K_BATCH, K_STEPS};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
        if (!set[required[i]])
            ok = diag_error(e.d, train->span, "run '%s' has no '%s' setting", m->name,
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

bool settings_value(Program *p, const AstNode *train, const char *key, Value *out)
{
    const AstNode *kv = find_kwarg(train->list.head, key);
    /* Follows `with` as settings_of does, without its errors. */
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

int settings_call_loss(Program *p, const AstNode *call)
{
    Value v;
    for (int i = 0; i < p->ntrains; i++)
        if (p->trains[i]->a == call && settings_value(p, p->trains[i], "loss", &v) &&
            v.kind == VAL_OP && op_def(v.op)->kind == OPK_LOSS)
            return v.op;
    return -1;
}
