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
    return report_value_text(&v);
}

static void run_of(ReportRun *out, const Run *r)
{
    const Settings *s = &r->set;
    *out = (ReportRun){
        .name = xstrdup(r->name), .call = report_call_text(r),
        .with = r->ast->str2 ? xstrdup(r->ast->str2) : NULL,
        .data = xstrdup(r->data.name ? r->data.name : "?"),
        .loss = xstrdup(op_def(s->loss)->name), .optimizer = spec_text(s->optimizer),
        .clip = spec_text(s->clip), .seed = s->seed, .planned = s->steps, .batch = s->batch,
        .probe_rows = r->probe.batch, .vanishing_below = s->vanishing_below,
        .exploding_above = s->exploding_above, .nlayers = r->g.nlayers,
        .reports = r->reports, .nreports = r->nreports, .log = r->log, .steps = r->step,
        .recurrent = report_recurrent(r), .diverged = r->diverged, .ended = true, .diverged_at = r->diverged_at,
    };
    out->layers = xmalloc(sizeof *out->layers * (size_t)(r->g.nlayers + 1));
    for (int l = 0; l < r->g.nlayers; l++)
        out->layers[l] = xstrdup(r->g.layers[l].name);
}

static void side_of(ReportSide *out, const Value *v)
{
    if (v->kind == VAL_NUM)
        *out = (ReportSide){.is_num = true, .num = v->num};
    else
        *out = (ReportSide){.text = report_value_text(v)};
}

static void expect_of(ReportExpect *out, const Program *p, const ExpectResult *e)
{
    const AstNode *cond = e->ast->a;
    *out = (ReportExpect){
        .file = xstrdup(p->sources.files[e->ast->span.file].path),
        .line = e->ast->span.first_line, .expr = report_expr_text(cond),
        .outcome = xstrdup(expect_outcome_name(e->outcome)),
        .message = e->ast->str2 ? xstrdup(e->ast->str2) : NULL,
    };
    out->lists = xcalloc((size_t)e->nlists + 1, sizeof *out->lists);
    for (int i = 0; i < e->nlists; i++)
        out->lists[out->nlists++] = (ReportList){.expr = report_expr_text(e->lists[i].expr),
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
    for (int l = 0; l < r->nlayers; l++)
        free(r->layers[l]);
    free(r->layers);
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
