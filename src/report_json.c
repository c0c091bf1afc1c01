/* report_json.c — `--json F`: the report as JSON Lines.
 *
 * One object per line, each with a "type": a header (vg, the program file
 * and its SHA-256, the BLAS, every run's settings), one "report" per run
 * and report step, one "expect" per expect line, and one "end" per run.
 * Every line stands alone, so a reader can stream it, grep it or load it
 * with `jq -c`. JSON has no NaN: an absent metric, and a value that
 * overflowed, are null (a layer's verdict still says `exploding`). The
 * schema is in docs/report.md; tests/report/check_outputs.py validates
 * real output against it. */
#include "vg/report.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vg/blas.h"
#include "vg/metrics.h"
#include "vg/ops.h"
#include "vg/sha256.h"

/* RFC 8259 §7: quote, backslash and control characters escaped; invalid
 * UTF-8 becomes U+FFFD so the line stays valid. */
static void str(FILE *out, const char *s)
{
    fputc('"', out);
    while (*s) {
        unsigned char c = (unsigned char)*s;
        int n = report_utf8_len(s);
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else if (n == 0)
            fputs("\\ufffd", out);
        else
            fwrite(s, 1, (size_t)n, out);
        s += n ? n : 1;
    }
    fputc('"', out);
}

/* Nine significant digits hold every float32 exactly, and the metrics
 * come from float32 tensors. */
static void num(FILE *out, double x)
{
    if (isfinite(x))
        fprintf(out, "%.9g", x);
    else
        fputs("null", out);
}

static void key(FILE *out, const char *k)
{
    fputc(',', out);
    str(out, k);
    fputc(':', out);
}

static void key_num(FILE *out, const char *k, double x)
{
    key(out, k);
    num(out, x);
}

/* Counts and seeds as integers: %.9g would round a 64-bit seed. */
static void key_int(FILE *out, const char *k, long long v)
{
    key(out, k);
    fprintf(out, "%lld", v);
}

static void key_str(FILE *out, const char *k, const char *s)
{
    key(out, k);
    if (s)
        str(out, s);
    else
        fputs("null", out);
}

/* A value as value_print shows it; null for none. */
static void key_value_text(FILE *out, const char *k, const Value *v)
{
    char *t = v->kind == VAL_NONE ? NULL : value_text(v);
    key_str(out, k, t);
    free(t);
}

static void key_spec(FILE *out, const char *k, const Spec *spec)
{
    Value v = {.kind = spec ? VAL_SPEC : VAL_NONE, .spec = spec};
    key_value_text(out, k, &v);
}

static void settings(FILE *out, const Run *r)
{
    const Settings *s = &r->set;
    fputs("{\"loss\":", out);
    str(out, op_def(s->loss)->name);
    key_spec(out, "data", s->data);
    key_spec(out, "optimizer", s->optimizer);
    key_int(out, "batch", s->batch);
    key_int(out, "steps", s->steps);
    key(out, "seed");
    fprintf(out, "%llu", (unsigned long long)s->seed);
    key_int(out, "report", s->report);
    if (s->probe == 0)
        key_str(out, "probe", "all");
    else
        key_int(out, "probe", s->probe);
    key_spec(out, "clip", s->clip);
    key_spec(out, "pretrain", s->pretrain);
    if (s->schedule)
        key_spec(out, "schedule", s->schedule);
    else
        key_str(out, "schedule", "constant");
    key_num(out, "test", s->test);
    key_str(out, "on_nonfinite", s->stop_on_nonfinite ? "stop" : "fail");
    key_num(out, "vanishing_below", s->vanishing_below);
    key_num(out, "exploding_above", s->exploding_above);
    fputc('}', out);
}

void report_json_run(FILE *out, const Run *r)
{
    char *call = report_call_text(r);
    fputs("{\"name\":", out);
    str(out, r->name);
    key_str(out, "model", r->model);
    key_str(out, "call", call);
    key_str(out, "with", r->ast->str2);
    const Member *m = r->member;
    key_str(out, "family", m && m->naxes ? m->train->str : NULL);
    key(out, "axes");
    for (int k = 0; m && k < m->naxes; k++) {
        fputc(k ? ',' : '{', out);
        str(out, m->vars[k]);
        fputc(':', out);
        /* a number's or boolean's canonical text is JSON too, and exact */
        if (m->vals[k].kind == VAL_NUM || m->vals[k].kind == VAL_BOOL)
            fputs(m->texts[k], out);
        else
            str(out, m->texts[k]);
    }
    fputs(m && m->naxes ? "}" : "null", out);
    key(out, "seed");
    fprintf(out, "%llu", (unsigned long long)r->set.seed);
    key_int(out, "probe_rows", r->probe.batch);
    key_num(out, "baseline", r->baseline);
    key(out, "settings");
    settings(out, r);
    key(out, "layers");
    for (int l = 0; l < r->g.nlayers; l++) {
        fputc(l ? ',' : '[', out);
        str(out, r->g.layers[l].name);
    }
    fputs("]}", out);
    free(call);
}

static void header(FILE *out, const ReportDoc *d)
{
    const Program *p = d->p;
    char hex[65] = "";
    if (p->root_file >= 0)
        sha256_hex(p->sources.files[p->root_file].text, p->sources.files[p->root_file].len, hex);
    BlasInfo b;
    blas_info(&b);
    fprintf(out, "{\"type\":\"header\",\"format\":\"vg-report\",\"schema_version\":%d",
            REPORT_SCHEMA_VERSION);
    key_str(out, "vg", VG_VERSION);
    key_str(out, "file", d->file);
    key_str(out, "sha256", hex);
    fputs(",\"blas\":{\"library\":", out);
    str(out, b.library);
    key_str(out, "core", b.core);
    key_int(out, "threads", b.threads);
    fputs("},\"dnnl\":{\"library\":", out);
    str(out, b.dnnl);
    key_str(out, "isa", b.isa);
    fputs("},\"runs\":[", out);
    bool first = true;
    for (int i = 0; i < d->rs->n; i++) {
        const Run *r = d->rs->runs[i];
        if (!r->ready)
            continue;
        if (!first)
            fputc(',', out);
        report_json_run(out, r);
        first = false;
    }
    fputs("]}\n", out);
}

static void layer(FILE *out, const char *name, const LayerMetrics *m)
{
    fputs("{\"layer\":", out);
    str(out, name);
    for (int k = 0; k < M_COUNT; k++)
        key_num(out, metric_names[k], metric_get(m, (MetricId)k));
    key(out, "bptt");
    if (m->bptt) {
        for (int t = 0; t < m->bptt_len; t++) {
            fputc(t ? ',' : '[', out);
            num(out, m->bptt[t]);
        }
        fputs(m->bptt_len ? "]" : "[]", out);
    } else {
        fputs("null", out);
    }
    key_str(out, "verdict", verdict_name(m->verdict));
    key(out, "verdict_by");  /* the metric whose threshold decided it */
    if (m->verdict_by >= 0)
        str(out, metric_names[m->verdict_by]);
    else
        fputs("null", out);
    fputc('}', out);
}

static void report(FILE *out, const Run *r, const Report *rep)
{
    fputs("{\"type\":\"report\",\"run\":", out);
    str(out, r->name);
    key_int(out, "step", rep->step);
    for (int k = 0; k < RV_COUNT; k++)
        key_num(out, report_value_names[k], report_value(rep, (RunValueId)k));
    key(out, "layers");
    for (int l = 0; l < r->g.nlayers; l++) {
        fputc(l ? ',' : '[', out);
        layer(out, r->g.layers[l].name, &rep->layers[l]);
    }
    fputs("]}\n", out);
}

static void float_array(FILE *out, const char *k, const float *x, long from, long to)
{
    key(out, k);
    for (long i = from; i < to; i++) {
        fputc(i > from ? ',' : '[', out);
        num(out, x[i]);
    }
    fputs(to > from ? "]" : "[]", out);
}

static void double_array(FILE *out, const char *k, const double *x, long from, long to)
{
    key(out, k);
    for (long i = from; i < to; i++) {
        fputc(i > from ? ',' : '[', out);
        num(out, x[i]);
    }
    fputs(to > from ? "]" : "[]", out);
}

/* The step log's entries [from, to) as one "steps" line: parallel arrays,
 * the compact form of a million steps. */
static void steps(FILE *out, const Run *r, long from, long to)
{
    const StepLog *lg = &r->log;
    fputs("{\"type\":\"steps\",\"run\":", out);
    str(out, r->name);
    key_int(out, "first", lg->first + from + 1);
    float_array(out, "loss", lg->loss, from, to);
    float_array(out, "global_norm", lg->norm, from, to);
    key(out, "clipped");
    for (long i = from; i < to; i++) {
        fputc(i > from ? ',' : '[', out);
        fputc(lg->clipped[i] ? '1' : '0', out);
    }
    fputs(to > from ? "]" : "[]", out);
    double_array(out, "lr", lg->lr, from, to);
    fputs("}\n", out);
}

static void side(FILE *out, const char *k, const ExpectResult *e, const Value *v)
{
    if (!e->has_sides || e->outcome == EXPECT_ERROR)
        key_str(out, k, NULL);
    else if (v->kind == VAL_NUM)
        key_num(out, k, v->num);
    else if (v->kind == VAL_BOOL)
        fprintf(out, ",\"%s\":%s", k, v->num ? "true" : "false");
    else if (v->kind == VAL_STR)
        key_str(out, k, v->str);
    else
        key_value_text(out, k, v);
}

static void expect(FILE *out, const Program *p, const ExpectResult *e)
{
    const AstNode *cond = e->ast->a;
    char *text = ast_text(cond);
    fputs("{\"type\":\"expect\",\"file\":", out);
    str(out, p->sources.files[e->ast->span.file].path);
    key_int(out, "line", e->ast->span.first_line);
    key_str(out, "expr", text);
    key_str(out, "op", e->has_sides ? ast_op_name(cond->op) : NULL);
    side(out, "lhs", e, &e->lhs);
    side(out, "rhs", e, &e->rhs);
    key_str(out, "outcome", expect_outcome_name(e->outcome));
    key_str(out, "message", e->ast->str2);
    key(out, "lists");
    fputc('[', out);
    for (int i = 0; i < e->nlists; i++) {
        const ListSummary *l = &e->lists[i];
        char *t = ast_text(l->expr);
        fputs(i ? ",{\"expr\":" : "{\"expr\":", out);
        str(out, t);
        key_int(out, "n", l->n);
        key(out, "true");
        if (l->booleans)
            fprintf(out, "%d", l->trues);
        else
            fputs("null", out);
        key(out, "hold");
        if (l->holds >= 0)
            fprintf(out, "%d", l->holds);
        else
            fputs("null", out);
        key_int(out, "nan", l->nans);
        key_num(out, "min", l->min);
        key_num(out, "median", l->median);
        key_num(out, "max", l->max);
        fputc('}', out);
        free(t);
    }
    fputs("]}\n", out);
    free(text);
}

static void end(FILE *out, const Run *r)
{
    fputs("{\"type\":\"end\",\"run\":", out);
    str(out, r->name);
    key_int(out, "steps", r->step);
    key_int(out, "reports", r->nreports);
    fprintf(out, ",\"diverged\":%s", r->diverged ? "true" : "false");
    key(out, "diverged_at");
    if (r->diverged)
        fprintf(out, "%ld", r->diverged_at);
    else
        fputs("null", out);
    fputs("}\n", out);
}

/* ---- writing as the runs go ---- */

/* Each line is formatted in memory and then written and flushed in one
 * go (the file is unbuffered: one write(2) a line), so a reader or a kill
 * between lines never sees half a line; a kill during the write of a very
 * long line may still cut it, which `vg report` names and skips. */
static void line_begin(ReportJson *j)
{
    j->line = open_memstream(&j->buf, &j->len);
    if (!j->line) {
        perror("vg: internal error: open_memstream");
        abort();
    }
}

static void line_end(ReportJson *j)
{
    fclose(j->line);
    j->line = NULL;
    fwrite(j->buf, 1, j->len, j->f);
    fflush(j->f);
    free(j->buf);
    j->buf = NULL;
}

static int stream_index(const ReportJson *j, const Run *r)
{
    for (int i = 0; i < j->d->rs->n; i++)
        if (j->d->rs->runs[i] == r)
            return i;
    return -1;
}

/* The steps not yet written, up to step `upto` (inclusive). */
static void pending_steps(ReportJson *j, int i, long upto)
{
    const Run *r = j->d->rs->runs[i];
    long to = upto - r->log.first;
    if (to > r->log.n)
        to = r->log.n;
    if (to <= j->logged[i])
        return;
    line_begin(j);
    steps(j->line, r, j->logged[i], to);
    line_end(j);
    j->logged[i] = to;
}

void report_json_begin(ReportJson *j, FILE *f, const ReportDoc *d)
{
    *j = (ReportJson){.f = f, .d = d};
    j->logged = xcalloc((size_t)d->rs->n + 1, sizeof *j->logged);
    j->ended = xcalloc((size_t)d->rs->n + 1, sizeof *j->ended);
    line_begin(j);
    header(j->line, d);
    line_end(j);
}

void report_json_report(ReportJson *j, const Run *r)
{
    int i = stream_index(j, r);
    if (i < 0 || r->nreports == 0)
        return;
    const Report *rep = &r->reports[r->nreports - 1];
    pending_steps(j, i, rep->step);
    line_begin(j);
    report(j->line, r, rep);
    line_end(j);
}

void report_json_replay(ReportJson *j, const Run *r)
{
    int i = stream_index(j, r);
    for (int k = 0; i >= 0 && k < r->nreports; k++) {
        pending_steps(j, i, r->reports[k].step);
        line_begin(j);
        report(j->line, r, &r->reports[k]);
        line_end(j);
    }
}

void report_json_end(ReportJson *j, const Run *r)
{
    int i = stream_index(j, r);
    if (i < 0 || j->ended[i])
        return;
    pending_steps(j, i, LONG_MAX);
    line_begin(j);
    end(j->line, r);
    line_end(j);
    j->ended[i] = true;
}

void report_json_finish(ReportJson *j)
{
    const ReportDoc *d = j->d;
    for (int i = 0; i < d->rs->n; i++)
        if (d->rs->runs[i]->ready)
            report_json_end(j, d->rs->runs[i]);
    for (int i = 0; d->expects && i < d->nexpects; i++) {
        line_begin(j);
        expect(j->line, d->p, &d->expects[i]);
        line_end(j);
    }
    free(j->logged);
    free(j->ended);
    j->logged = NULL;
    j->ended = NULL;
}

void report_write_json(FILE *out, const ReportDoc *d)
{
    ReportJson j;
    report_json_begin(&j, out, d);
    for (int i = 0; i < d->rs->n; i++) {
        Run *r = d->rs->runs[i];
        if (!r->ready)
            continue;
        report_json_replay(&j, r);
        report_json_end(&j, r);
    }
    report_json_finish(&j);
}
