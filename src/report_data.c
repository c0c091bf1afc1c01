/* report_data.c — the reports of `vg run` as plain data (ReportData), the
 * form the CSV and HTML writers read, so that `vg report` can render a
 * file read back from JSON Lines the same way. Text is copied; reports
 * and step logs are borrowed from the runs, which outlive the data. */
#include "vg/report.h"

#include <stdlib.h>
#include <string.h>

#include "vg/blas.h"
#include "vg/ops.h"
#include "vg/sha256.h"

static char *spec_text(const Spec *spec)
{
    if (!spec)
        return NULL;
    Value v = {.kind = VAL_SPEC, .spec = spec};
    return value_text(&v);
}

static bool mentions(const AstNode *n, const char *name)
{
    if (!n)
        return false;
    if (n->kind == AST_NAME && strcmp(n->str, name) == 0)
        return true;
    if (mentions(n->a, name) || mentions(n->b, name))
        return true;
    for (const AstNode *c = n->list.head; c; c = c->next)
        if (mentions(c, name))
            return true;
    return false;
}

/* A family member's axes; an axis that the settings' seed mentions
 * (`{ seed = s }`) holds replicates. */
static void axes_of(ReportRun *out, const Member *m)
{
    out->family = xstrdup(m->train->str);
    out->naxes = m->naxes;
    out->axis_vars = xcalloc((size_t)m->naxes, sizeof *out->axis_vars);
    out->axis_texts = xcalloc((size_t)m->naxes, sizeof *out->axis_texts);
    out->seed_axes = xcalloc((size_t)m->naxes, sizeof *out->seed_axes);
    for (int k = 0; k < m->naxes; k++) {
        out->axis_vars[k] = xstrdup(m->vars[k]);
        out->axis_texts[k] = xstrdup(m->texts[k]);
        for (const AstNode *kv = m->train->list.head; kv; kv = kv->next)
            out->seed_axes[k] |= strcmp(kv->str, "seed") == 0 && mentions(kv->a, m->vars[k]);
    }
}

static void run_of(ReportRun *out, const Run *r)
{
    const Settings *s = &r->set;
    *out = (ReportRun){
        .name = xstrdup(r->name), .call = report_call_text(r),
        .with = r->ast->str2 ? xstrdup(r->ast->str2) : NULL,
        .data = xstrdup(r->data.name ? r->data.name : "?"),
        .loss = xstrdup(op_def(s->loss)->name), .optimizer = spec_text(s->optimizer),
        .clip = spec_text(s->clip), .schedule = spec_text(s->schedule), .seed = s->seed, .planned = s->steps, .batch = s->batch,
        .probe_rows = r->probe.batch, .baseline = r->baseline, .vanishing_below = s->vanishing_below,
        .exploding_above = s->exploding_above, .nlayers = r->g.nlayers,
        .reports = r->reports, .nreports = r->nreports, .log = r->log, .steps = r->step,
        .recurrent = report_recurrent(r), .attention = report_attention(r), .diverged = r->diverged, .ended = true, .diverged_at = r->diverged_at,
    };
    out->layers = xmalloc(sizeof *out->layers * (size_t)(r->g.nlayers + 1));
    for (int l = 0; l < r->g.nlayers; l++)
        out->layers[l] = xstrdup(r->g.layers[l].name);
    if (r->member && r->member->naxes)
        axes_of(out, r->member);
}

static void side_of(ReportSide *out, const Value *v)
{
    if (v->kind == VAL_NUM)
        *out = (ReportSide){.is_num = true, .num = v->num};
    else
        *out = (ReportSide){.text = value_text(v)};
}

static void expect_of(ReportExpect *out, const Program *p, const ExpectResult *e)
{
    const AstNode *cond = e->ast->a;
    *out = (ReportExpect){
        .file = xstrdup(p->sources.files[e->ast->span.file].path),
        .line = e->ast->span.first_line, .expr = ast_text(cond),
        .outcome = xstrdup(expect_outcome_name(e->outcome)),
        .message = e->ast->str2 ? xstrdup(e->ast->str2) : NULL,
    };
    out->lists = xcalloc((size_t)e->nlists + 1, sizeof *out->lists);
    for (int i = 0; i < e->nlists; i++)
        out->lists[out->nlists++] = (ReportList){.expr = ast_text(e->lists[i].expr),
                                                 .s = e->lists[i]};
    if (e->has_sides && e->outcome != EXPECT_ERROR) {
        out->op = xstrdup(ast_op_name(cond->op));
        side_of(&out->lhs, &e->lhs);
        side_of(&out->rhs, &e->rhs);
    }
}

void report_data_of(ReportData *out, const ReportDoc *d)
{
    const Program *p = d->p;
    char hex[65] = "", blas[128];
    if (p->root_file >= 0)
        sha256_hex(p->sources.files[p->root_file].text, p->sources.files[p->root_file].len, hex);
    *out = (ReportData){.file = xstrdup(d->file), .sha256 = xstrdup(hex),
                        .vg = xstrdup(VG_VERSION), .blas = xstrdup(blas_describe(blas, sizeof blas)),
                        .has_expects = p->nexpects > 0, .expects_checked = d->expects != NULL};
    out->runs = xcalloc((size_t)d->rs->n + 1, sizeof *out->runs);
    for (int i = 0; i < d->rs->n; i++)
        if (d->rs->runs[i]->ready)
            run_of(&out->runs[out->nruns++], d->rs->runs[i]);
    out->expects = xcalloc((size_t)d->nexpects + 1, sizeof *out->expects);
    for (int i = 0; d->expects && i < d->nexpects; i++)
        expect_of(&out->expects[out->nexpects++], p, &d->expects[i]);
}

static void data_run_free(ReportRun *r, bool owned)
{
    free(r->name);
    free(r->call);
    free(r->with);
    free(r->data);
    free(r->loss);
    free(r->optimizer);
    free(r->clip);
    free(r->schedule);
    for (int l = 0; l < r->nlayers; l++)
        free(r->layers[l]);
    free(r->layers);
    for (int k = 0; k < r->naxes; k++) {
        free(r->axis_vars[k]);
        free(r->axis_texts[k]);
    }
    free(r->axis_vars);
    free(r->axis_texts);
    free(r->seed_axes);
    free(r->family);
    if (!owned)
        return;
    for (int k = 0; k < r->nreports; k++)
        report_free(&r->reports[k], r->nlayers);
    free(r->reports);
    step_log_free(&r->log);
}

void report_data_free(ReportData *d)
{
    for (int i = 0; i < d->nruns; i++)
        data_run_free(&d->runs[i], d->owned);
    free(d->runs);
    for (int i = 0; i < d->nexpects; i++) {
        ReportExpect *e = &d->expects[i];
        free(e->file);
        free(e->expr);
        free(e->op);
        free(e->outcome);
        free(e->message);
        free(e->lhs.text);
        free(e->rhs.text);
        for (int k = 0; k < e->nlists; k++)
            free(e->lists[k].expr);
        free(e->lists);
    }
    free(d->expects);
    free(d->file);
    free(d->sha256);
    free(d->vg);
    free(d->blas);
    memset(d, 0, sizeof *d);
}
