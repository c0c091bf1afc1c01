/* check.c — the checks of `vg check`, shared by `vg run` and `vg lsp`. */
#include <stdlib.h>
#include <string.h>

#include "vg/arena.h"
#include "vg/check.h"
#include "vg/elab.h"
#include "vg/expect.h"
#include "vg/family.h"

bool check_prepare_runs(Program *p, const TrainOptions *o, const char *option,
                        const char *run_only, RunSet *rs)
{
    MemberList ml;
    bool *selected = NULL;
    bool ok = family_members(p, &ml);
    if (ok) {
        selected = xcalloc((size_t)(ml.n ? ml.n : 1), sizeof *selected);
        if (run_only && !family_select(p, &ml, option, run_only, selected))
            ml.n = 0, ok = false;
    }
    for (int i = 0; i < ml.n; i++) {
        Run *r = xcalloc(1, sizeof *r);
        runset_push(rs, r);
        r->name = ml.m[i]->name;
        r->ast = ml.m[i]->train;
        r->member = ml.m[i];
        if (run_only && !selected[i])
            continue;
        ok &= run_prepare(p, ml.m[i], o, r);
    }
    /* an expect that names nothing real fails here, not after hours of
     * training; not when the runs themselves could not be listed, as
     * every expect would then name an unknown run */
    if (ml.n > 0 || p->ntrains == 0)
        ok &= expect_check_static(p, rs, p->expects, p->nexpects);
    free(selected);
    member_list_free(&ml);
    return ok;
}

static bool trained(const Program *p, const char *model)
{
    for (int i = 0; i < p->ntrains; i++)
        if (strcmp(p->trains[i]->a->a->str, model) == 0)
            return true;
    return false;
}

bool check_untrained_models(Program *p)
{
    bool ok = true;
    for (int i = 0; i < p->nsyms; i++) {
        const Symbol *s = &p->syms[i];
        if (s->kind != SYM_MODEL || trained(p, s->name) || !ast_all_defaults(s->ast))
            continue;
        IrGraph g;
        ir_init(&g, &p->arena, s->name);
        ok &= elab_model(p, elab_model_call(p, s->name), &g);
        ir_free(&g);
    }
    return ok;
}
