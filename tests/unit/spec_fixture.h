/* spec_fixture.h — spec values for tests of the modules that consume them
 * (data sets, inits, optimizers), without a .vg program: the signature's
 * defaults, then the overrides written as `points=300 noise=0 path="x.csv"
 * nesterov=true shape=[1,8,8] shape=none` (strings and lists without
 * spaces; a list of numbers). Include after testutil.h. */
#ifndef VG_SPEC_FIXTURE_H
#define VG_SPEC_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vg/value.h"

enum { TSPEC_MAX_ITEMS = 8 };

typedef struct TSpec {
    Spec s;
    Value a[SIG_MAX];
    char str[SIG_MAX][256];
    Value items[SIG_MAX][TSPEC_MAX_ITEMS];
} TSpec;

static inline void tspec_set(TSpec *t, int i, const char *text, size_t len)
{
    Value *v = &t->a[i];
    *v = (Value){.kind = VAL_NUM};
    if (text[0] == '"') {
        snprintf(t->str[i], sizeof t->str[i], "%.*s", (int)len - 2, text + 1);
        v->kind = VAL_STR;
        v->str = t->str[i];
    } else if (text[0] == '[') {
        v->kind = VAL_LIST;
        v->items = t->items[i];
        for (const char *p = text + 1; *p != ']' && v->len < TSPEC_MAX_ITEMS; p += *p == ',') {
            char *end;
            t->items[i][v->len++] = (Value){.kind = VAL_NUM, .num = strtod(p, &end)};
            p = end;
        }
    } else if (strncmp(text, "none", len) == 0) {
        v->kind = VAL_NONE;
    } else if (strncmp(text, "true", len) == 0 || strncmp(text, "false", len) == 0) {
        v->kind = VAL_BOOL;
        v->num = text[0] == 't';
    } else {
        v->num = strtod(text, NULL);
    }
}

static inline const Spec *make(TSpec *t, const char *name, const char *args)
{
    int id = spec_lookup(name);
    assert_true(id >= 0);
    const Sig *sig = spec_sig(id);
    memset(t, 0, sizeof *t);
    for (int i = 0; i < sig->n; i++) {
        const SigParam *p = &sig->p[i];
        if (p->dflt)
            tspec_set(t, i, p->dflt, strlen(p->dflt));
        size_t len = strlen(p->name);
        for (const char *a = args; (a = strstr(a, p->name)); a += len)
            if ((a == args || a[-1] == ' ') && a[len] == '=')
                tspec_set(t, i, a + len + 1, strcspn(a + len + 1, " "));
    }
    t->s = (Spec){.id = id, .nargs = sig->n, .args = t->a};
    return &t->s;
}

#endif
