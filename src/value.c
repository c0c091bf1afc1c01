/* value.c — signatures, the table of spec built-ins, and value basics.
 *
 * Signatures are written as text in the tables ("lr:N momentum:N=0") so a
 * built-in's parameters, types and defaults read like its documentation;
 * they are parsed once into a Sig. Their defaults become values here, for
 * elaboration's calls and the IR's alike (sig_fill_defaults). */
#include "vg/value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define X(id, name, kind, sig) [id] = {name, kind, sig},
const SpecDef spec_table[SPEC_COUNT] = {
#include "vg/specs.def"
};
#undef X

static void bad_table(const char *text, const char *why)
{
    fprintf(stderr, "vg: internal error: signature \"%s\": %s\n", text, why);
    abort();
}

/* Pieces point into a private copy of the text; signatures are parsed once
 * per built-in and kept for the life of the process. */
void sig_parse(Sig *out, const char *text)
{
    char *copy = strdup(text);  /* lives as long as the cached Sig */
    if (!copy)
        bad_table(text, "out of memory");
    out->n = 0;
    for (char *tok = strtok(copy, " "); tok; tok = strtok(NULL, " ")) {
        if (out->n == SIG_MAX)
            bad_table(text, "too many parameters");
        SigParam *p = &out->p[out->n++];
        char *colon = strchr(tok, ':');
        if (!colon || !colon[1])
            bad_table(text, "parameter without a type");
        *colon = '\0';
        p->name = tok;
        p->type = (ArgType)colon[1];
        if (!strchr("T*NIBSAZ?", colon[1]))
            bad_table(text, "unknown type letter");
        p->dflt = colon[2] == '=' ? colon + 3 : NULL;
        if (colon[2] && colon[2] != '=')
            bad_table(text, "junk after the type");
        /* Every call that leaves the argument out needs the number. */
        char *end;
        p->dflt_num = p->dflt ? strtod(p->dflt, &end) : 0;
        p->dflt_is_num = p->dflt && end != p->dflt && *end == '\0';
    }
    if (out->n == 0)
        free(copy);  /* nothing points into it */
}

Value sig_default(const SigParam *p, Arena *arena, SigNameFn *name_fn, void *ctx)
{
    const char *text = p->dflt;
    if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0)
        return (Value){.kind = VAL_BOOL, .num = text[0] == 't'};
    if (text[0] == '"')
        return (Value){.kind = VAL_STR,
                       .str = arena_strndup(arena, text + 1, strlen(text) - 2)};
    if (p->dflt_is_num)
        return (Value){.kind = VAL_NUM, .num = p->dflt_num};
    if (strcmp(text, "none") == 0)  /* an optional argument left out: csv's shape */
        return (Value){.kind = VAL_NONE};
    Value v = name_fn(ctx, text);
    if (v.kind == VAL_NONE)
        bad_table(text, "a default that names no built-in");
    return v;
}

int sig_fill_defaults(const Sig *sig, Value *args, const bool *set, Arena *arena,
                      SigNameFn *name_fn, void *ctx)
{
    int missing = -1;
    for (int i = 0; i < sig->n; i++) {
        if (set ? set[i] : args[i].kind != VAL_NONE)
            continue;
        if (sig->p[i].dflt)
            args[i] = sig_default(&sig->p[i], arena, name_fn, ctx);
        else if (missing < 0)
            missing = i;
    }
    return missing;
}

int spec_lookup(const char *name)
{
    for (int i = 0; i < SPEC_COUNT; i++)
        if (strcmp(spec_table[i].name, name) == 0)
            return i;
    return -1;
}

const Sig *sig_cached(Sig *cache, bool *parsed, int i, const char *text)
{
    if (!parsed[i]) {
        sig_parse(&cache[i], text);
        parsed[i] = true;
    }
    return &cache[i];
}

const Sig *spec_sig(int id)
{
    static Sig sigs[SPEC_COUNT];
    static bool parsed[SPEC_COUNT];
    return sig_cached(sigs, parsed, id, spec_table[id].sig);
}

const char *spec_kind_name(SpecKind k)
{
    static const char *const names[] = {
        [SPEC_INIT] = "init", [SPEC_DATA] = "data set", [SPEC_OPTIM] = "optimizer",
        [SPEC_CLIP] = "clip mode", [SPEC_PRETRAIN] = "pre-training",
        [SPEC_SCHED] = "schedule",
    };
    return names[k];
}

const Value *spec_arg(const Spec *s, const char *name)
{
    const Sig *sig = spec_sig(s->id);
    for (int i = 0; i < sig->n && i < s->nargs; i++)
        if (strcmp(sig->p[i].name, name) == 0)
            return &s->args[i];
    fprintf(stderr, "vg: internal error: %s has no argument '%s'\n",
            spec_table[s->id].name, name);
    abort();
}

double spec_num(const Spec *s, const char *name)
{
    return spec_arg(s, name)->num;
}

bool value_truthy(const Value *v)
{
    switch (v->kind) {
    case VAL_NUM:
    case VAL_BOOL:
        return v->num != 0;
    case VAL_NONE:
        return false;
    default:
        return true;
    }
}

const char *value_kind_name(ValKind k)
{
    static const char *const names[] = {
        [VAL_NONE] = "none", [VAL_NUM] = "number", [VAL_BOOL] = "boolean",
        [VAL_STR] = "string", [VAL_TENSOR] = "tensor", [VAL_OP] = "op",
        [VAL_SPEC] = "built-in value", [VAL_MODEL] = "model", [VAL_DEF] = "def",
        [VAL_RUN] = "run", [VAL_REPORT] = "report", [VAL_LAYERS] = "layer family",
        [VAL_LAYER] = "layer", [VAL_SERIES] = "series", [VAL_SHAPE] = "shape",
        [VAL_LIST] = "list", [VAL_FAMILY] = "run family",
    };
    return names[k];
}
