/* runval.c — runs as values of expressions: `deep.final.fc[2].ratio`
 * reads run deep's final report, layer fc[2], metric ratio. The evaluator
 * sees runs only through the RunValues this module builds (elab.h). */
#include "vg/runval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vg/metrics.h"

static int find_layer_family(const IrGraph *g, const char *name, bool *exact)
{
    size_t n = strlen(name);
    for (int l = 0; l < g->nlayers; l++) {
        const char *ln = g->layers[l].name;
        if (strcmp(ln, name) == 0) {
            *exact = true;
            return l;
        }
        if (strncmp(ln, name, n) == 0 && ln[n] == '[') {
            *exact = false;
            return l;
        }
    }
    return -1;
}

/* "; did you mean 'X'?" into buf for the name closest to name among what
 * may follow a report (run-level values, layers, layer families by their
 * own name) and, on_run, a run; else "". */
static void suggest_member(const Run *r, const char *name, bool on_run, char *buf, size_t n)
{
    static const char *const on_runs[] = {"initial", "final", "baseline", "diverged",
                                          "diverged_at"};
    enum { NLEVELS = RV_COUNT + 1, NRUN = sizeof on_runs / sizeof *on_runs };
    const IrGraph *g = &r->g;
    const char **cands = xmalloc(sizeof *cands * (size_t)(NLEVELS + NRUN + 2 * g->nlayers));
    char **families = xcalloc((size_t)g->nlayers + 1, sizeof *families);
    int nc = 0;
    for (int i = 0; i < RV_COUNT; i++)
        cands[nc++] = report_value_names[i];
    cands[nc++] = "step";
    for (int i = 0; on_run && i < NRUN; i++)
        cands[nc++] = on_runs[i];
    for (int l = 0; l < g->nlayers; l++) {
        const char *ln = g->layers[l].name, *bracket = strchr(ln, '[');
        cands[nc++] = ln;
        if (bracket) {
            size_t len = (size_t)(bracket - ln);
            families[l] = xmalloc(len + 1);
            memcpy(families[l], ln, len);
            families[l][len] = '\0';
            cands[nc++] = families[l];
        }
    }
    const char *best = diag_suggest(name, cands, nc);
    snprintf(buf, n, "%s%s%s", best ? "; did you mean '" : "", best ? best : "",
             best ? "'?" : "");
    for (int l = 0; l < g->nlayers; l++)
        free(families[l]);
    free(families);
    free(cands);
}

static bool report_member(const RunSet *rs, const Value *obj, const char *name, Value *out,
                          char *err, size_t n, bool on_run)
{
    const Run *r = rs->runs[obj->run];
    const Report *rep = run_report(r, obj->report);
    if (!rep) {
        snprintf(err, n, "run '%s' has not trained yet", r->name);
        return false;
    }
    if (strcmp(name, "step") == 0) {
        *out = (Value){.kind = VAL_NUM, .num = (double)rep->step};
        return true;
    }
    for (int i = 0; i < RV_COUNT; i++)
        if (strcmp(name, report_value_names[i]) == 0) {
            *out = (Value){.kind = VAL_NUM, .num = report_value(rep, (RunValueId)i)};
            return true;
        }
    bool exact;
    if (find_layer_family(&r->g, name, &exact) >= 0) {
        *out = (Value){.kind = exact ? VAL_LAYER : VAL_LAYERS, .run = obj->run,
                       .report = obj->report, .str = name};
        return true;
    }
    char hint[300];
    suggest_member(r, name, on_run, hint, sizeof hint);
    snprintf(err, n, "run '%s' has no layer or value '%s'%s", r->name, name, hint);
    return false;
}

static bool layer_member(const RunSet *rs, const Value *obj, const char *name, Value *out,
                         char *err, size_t n)
{
    const Run *r = rs->runs[obj->run];
    int layer = ir_find_layer(&r->g, obj->str);
    const LayerMetrics *m = &run_report(r, obj->report)->layers[layer];
    int id = metric_lookup(name);
    const char *needs;
    if (id >= 0 && !metrics_layer_has(&r->g, layer, (MetricId)id, &needs)) {
        snprintf(err, n, "layer '%s' has no %s: it has no %s", obj->str, name, needs);
        return false;
    }
    if (id >= 0) {
        *out = (Value){.kind = VAL_NUM, .num = metric_get(m, (MetricId)id)};
        return true;
    }
    if (strcmp(name, "verdict") == 0) {
        *out = (Value){.kind = VAL_STR, .str = verdict_name(m->verdict)};
        return true;
    }
    if (strcmp(name, "bptt") == 0) {
        if (!m->bptt) {
            snprintf(err, n, "layer '%s' has no bptt curve: it has no recurrent op", obj->str);
            return false;
        }
        *out = *obj;
        out->kind = VAL_SERIES;
        return true;
    }
    const char *best = diag_suggest(name, metric_names, M_COUNT);
    snprintf(err, n, "a layer has no metric '%s'%s%s%s", name, best ? "; did you mean '" : "",
             best ? best : "", best ? "'?" : "");
    return false;
}

static bool run_get(const void *ctx, const Value *obj, const char *name, Value *out, char *err,
                    size_t n)
{
    const RunSet *rs = ctx;
    const Run *r = rs->runs[obj->run];
    switch (obj->kind) {
    case VAL_RUN:
        if (strcmp(name, "initial") == 0 || strcmp(name, "final") == 0) {
            *out = (Value){.kind = VAL_REPORT,
                           .run = obj->run,
                           .report = name[0] == 'i' ? REPORT_INITIAL : REPORT_FINAL};
            return true;
        }
        if (strcmp(name, "diverged") == 0) {
            *out = (Value){.kind = VAL_BOOL, .num = r->diverged};
            return true;
        }
        if (strcmp(name, "baseline") == 0) {
            *out = (Value){.kind = VAL_NUM, .num = r->baseline};
            return true;
        }
        if (strcmp(name, "diverged_at") == 0) {
            *out = (Value){.kind = VAL_NUM, .num = r->diverged ? (double)r->diverged_at : NAN};
            return true;
        }
        {
            Value fin = {.kind = VAL_REPORT, .run = obj->run, .report = REPORT_FINAL};
            return report_member(rs, &fin, name, out, err, n, true);
        }
    case VAL_REPORT:
        return report_member(rs, obj, name, out, err, n, false);
    case VAL_LAYER:
        return layer_member(rs, obj, name, out, err, n);
    case VAL_LAYERS:
        snprintf(err, n, "'%s' names layers %s[...]: index it first", obj->str, obj->str);
        return false;
    default:
        snprintf(err, n, "a %s has no member '%s'", value_kind_name(obj->kind), name);
        return false;
    }
}

/* bptt[t], t = 1..T: the gradient norm at time step t. */
static bool series_index(const RunSet *rs, const Value *obj, long t, Value *out, char *err,
                         size_t n)
{
    const Run *r = rs->runs[obj->run];
    const LayerMetrics *m = &run_report(r, obj->report)->layers[ir_find_layer(&r->g, obj->str)];
    if (t < 1 || t > m->bptt_len) {
        snprintf(err, n, "bptt of layer '%s' has time steps 1..%d, not %ld", obj->str,
                 m->bptt_len, t);
        return false;
    }
    *out = (Value){.kind = VAL_NUM, .num = m->bptt[t - 1]};
    return true;
}

static bool run_index(const void *ctx, const Value *obj, long index, Value *out, char *err,
                      size_t n)
{
    const RunSet *rs = ctx;
    if (obj->kind == VAL_SERIES)
        return series_index(rs, obj, index, out, err, n);
    const Run *r = rs->runs[obj->run];
    char name[256];
    snprintf(name, sizeof name, "%s[%ld]", obj->str, index);
    int l = ir_find_layer(&r->g, name);
    if (l < 0) {
        snprintf(err, n, "run '%s' has no layer '%s'", r->name, name);
        return false;
    }
    *out = (Value){.kind = VAL_LAYER, .run = obj->run, .report = obj->report,
                   .str = r->g.layers[l].name};
    return true;
}

static const char *rv_name(const void *ctx, int run)
{
    return ((const RunSet *)ctx)->runs[run]->name;
}

static const Member *rv_member(const void *ctx, int run)
{
    return ((const RunSet *)ctx)->runs[run]->member;
}

static int rv_find(const void *ctx, const char *name)
{
    return runset_find(ctx, name);
}

static const AstNode *rv_find_family(const void *ctx, const char *name)
{
    return runset_find_family(ctx, name);
}

RunValues run_values(const RunSet *rs)
{
    return (RunValues){.ctx = rs, .n = rs->n, .name = rv_name, .member = rv_member,
                       .find = rv_find, .find_family = rv_find_family, .get = run_get,
                       .index = run_index};
}

bool runs_eval(Program *p, const RunSet *rs, const AstNode *expr, Value *out)
{
    RunValues runs = run_values(rs);
    return elab_eval(p, &runs, expr, out);
}
