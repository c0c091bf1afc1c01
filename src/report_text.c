/* report_text.c — the terminal table and the progress line, and what
 * every report format shares: numbers, run-level values, a run's call.
 *
 * Columns are fixed-width so a run's tables line up step after step and
 * runs can be compared by eye; layer names set the first column's width. */
#include "vg/report.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vg/metrics.h"
#include "vg/ops.h"

char *report_num(double x, char *buf, size_t n)
{
    double a = fabs(x);
    if (isnan(x))
        snprintf(buf, n, "-");
    else if (isinf(x))
        snprintf(buf, n, x > 0 ? "inf" : "-inf");
    else if (x == 0)
        snprintf(buf, n, "0");
    else if (a >= 1e-3 && a < 1e4) {
        int digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 2 - (int)floor(log10(a));
        snprintf(buf, n, "%.*f", digits, x);
    } else
        snprintf(buf, n, "%.2e", x);
    return buf;
}

/* RFC 3629 §4: the well-formed byte sequences (no overlongs, no
 * surrogates, nothing above U+10FFFF). */
int report_utf8_len(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    if (s[0] < 0x80)
        return 1;
    int n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
          : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
    unsigned char lo = s[0] == 0xe0 ? 0xa0 : s[0] == 0xf0 ? 0x90 : 0x80;
    unsigned char hi = s[0] == 0xed ? 0x9f : s[0] == 0xf4 ? 0x8f : 0xbf;
    if (n == 0 || s[1] < lo || s[1] > hi)
        return 0;
    for (int i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

char *report_call_text(const Run *r)
{
    MemText t;
    report_print_call(mem_text_open(&t), r);
    return mem_text_close(&t);
}

void report_print_call(FILE *out, const Run *r)
{
    fprintf(out, "%s(", r->model);
    for (const AstNode *a = r->ast->a->list.head; a; a = a->next) {
        ast_print(out, a, 0);
        if (a->next)
            fputs(", ", out);
    }
    fputc(')', out);
}

/* " · baseline X" after the probe it was measured on; nothing for a file
 * written before vg measured it. */
static void print_baseline(FILE *out, double baseline)
{
    char buf[32];
    if (!isnan(baseline))
        fprintf(out, " · baseline %s", report_num(baseline, buf, sizeof buf));
}

void report_print_header(FILE *out, const Program *p, const Run *r)
{
    (void)p;
    const Settings *s = &r->set;
    fprintf(out, "run %s: ", r->name);
    report_print_call(out, r);
    if (r->ast->str2)
        fprintf(out, " with %s", r->ast->str2);
    fputc('\n', out);
    fprintf(out, "  data %s · loss %s · ", r->data.name ? r->data.name : "?",
            op_def(s->loss)->name);
    Value opt = {.kind = VAL_SPEC, .spec = s->optimizer};
    value_print(out, &opt);
    fprintf(out, " · batch %ld · steps %ld · seed %llu · probe %d", s->batch, s->steps,
            (unsigned long long)s->seed, r->probe.batch);
    print_baseline(out, r->baseline);
    if (s->clip) {
        Value c = {.kind = VAL_SPEC, .spec = s->clip};
        fputs(" · clip ", out);
        value_print(out, &c);
    }
    if (s->schedule) {
        Value c = {.kind = VAL_SPEC, .spec = s->schedule};
        fputs(" · schedule ", out);
        value_print(out, &c);
    }
    fputc('\n', out);
}

static const char *verdict_color(Verdict v)
{
    switch (v) {
    case VERDICT_HEALTHY: return "\033[32m";
    case VERDICT_SATURATED: case VERDICT_DEAD: return "\033[33m";
    default: return "\033[31m";
    }
}

bool report_recurrent(const Run *r)
{
    bool recurrent = false;
    for (int i = 0; i < r->g.n; i++)
        recurrent |= r->g.nodes[i].layer >= 0 && op_def(r->g.nodes[i].op)->kind == OPK_RECURRENT;
    return recurrent;
}

bool report_attention(const Run *r)
{
    bool attention = false;
    for (int i = 0; i < r->g.n; i++)
        attention |= r->g.nodes[i].layer >= 0 && op_def(r->g.nodes[i].op)->attention_entropy;
    return attention;
}

int report_columns(const Run *r, MetricId cols[REPORT_MAX_COLUMNS])
{
    return report_data_columns(report_recurrent(r), report_attention(r), cols);
}

int report_data_columns(bool recurrent, bool attention, MetricId cols[REPORT_MAX_COLUMNS])
{
    int n = 0;
    cols[n++] = M_GRAD_NORM, cols[n++] = M_ACT_GRAD_NORM, cols[n++] = M_RATIO;
    if (recurrent)
        cols[n++] = M_BPTT_RATIO;
    cols[n++] = M_PREDICTED, cols[n++] = M_ACT_MEAN, cols[n++] = M_ACT_STD;
    cols[n++] = M_SATURATION, cols[n++] = M_DEAD;
    if (attention)
        cols[n++] = M_ATTENTION_ENTROPY;
    return n;
}

/* The table of one report, layers named by names[0..n). */
static void print_table(FILE *out, const char *const *names, int n, const MetricId *cols,
                        int ncols, bool clip, const Report *rep, bool color)
{
    char a[32], b[32];
    fprintf(out, "step %ld: loss %s", rep->step, report_num(rep->loss, a, sizeof a));
    if (!isnan(rep->accuracy))
        fprintf(out, ", accuracy %s", report_num(rep->accuracy, a, sizeof a));
    if (!isnan(rep->test_accuracy))
        fprintf(out, ", test accuracy %s", report_num(rep->test_accuracy, a, sizeof a));
    if (!isnan(rep->global_norm))
        fprintf(out, ", global norm %s", report_num(rep->global_norm, b, sizeof b));
    if (clip)
        fprintf(out, ", clipped %s", report_num(rep->clipped, b, sizeof b));
    fputc('\n', out);
    int w = 5;
    for (int l = 0; l < n; l++)
        if ((int)strlen(names[l]) > w)
            w = (int)strlen(names[l]);
    int cw[REPORT_MAX_COLUMNS];
    fprintf(out, "  %-*s", w, "layer");
    for (int c = 0; c < ncols; c++) {
        cw[c] = (int)strlen(metric_names[cols[c]]);
        if (cw[c] < 9)
            cw[c] = 9;  /* "-1.23e-05" */
        fprintf(out, " %*s", cw[c], metric_names[cols[c]]);
    }
    fputs("  verdict\n", out);
    for (int l = 0; l < n; l++) {
        const LayerMetrics *m = &rep->layers[l];
        fprintf(out, "  %-*s", w, names[l]);
        for (int c = 0; c < ncols; c++)
            fprintf(out, " %*s", cw[c], report_num(metric_get(m, cols[c]), a, sizeof a));
        if (color)
            fprintf(out, "  %s%s\033[0m\n", verdict_color(m->verdict), verdict_name(m->verdict));
        else
            fprintf(out, "  %s\n", verdict_name(m->verdict));
    }
}

void report_print_table(FILE *out, const Run *r, const Report *rep, bool color)
{
    const IrGraph *g = &r->g;
    const char **names = xmalloc(sizeof *names * (size_t)(g->nlayers + 1));
    for (int l = 0; l < g->nlayers; l++)
        names[l] = g->layers[l].name;
    MetricId cols[REPORT_MAX_COLUMNS];
    int ncols = report_columns(r, cols);
    print_table(out, names, g->nlayers, cols, ncols, r->set.clip != NULL, rep, color);
    free(names);
}

/* `vg report --text`: each run as `vg run` prints it, from the data. */
void report_write_text(FILE *out, const ReportData *d, bool color)
{
    fprintf(out, "vg %s · %s · %s\n", d->vg, d->file, d->blas);
    for (int i = 0; i < d->nruns; i++) {
        const ReportRun *r = &d->runs[i];
        fprintf(out, "\nrun %s: %s", r->name, r->call);
        if (r->with)
            fprintf(out, " with %s", r->with);
        fprintf(out, "\n  data %s · loss %s · %s · batch %ld · steps %ld · seed %llu · probe %d",
                r->data, r->loss, r->optimizer, r->batch, r->planned, r->seed, r->probe_rows);
        print_baseline(out, r->baseline);
        if (r->clip)
            fprintf(out, " · clip %s", r->clip);
        if (r->schedule)
            fprintf(out, " · schedule %s", r->schedule);
        fputc('\n', out);
        MetricId cols[REPORT_MAX_COLUMNS];
        int ncols = report_data_columns(r->recurrent, r->attention, cols);
        for (int k = 0; k < r->nreports; k++)
            print_table(out, (const char *const *)r->layers, r->nlayers, cols, ncols,
                        r->clip != NULL, &r->reports[k], color);
        if (r->diverged)
            fprintf(out, "diverged at step %ld\n", r->diverged_at);
        if (!r->ended)
            fprintf(out, "(no end line: vg stopped after step %ld)\n", r->steps);
    }
    /* as `vg run` prints them (report_print_expects) */
    if (d->nexpects)
        fputs("\nexpect\n", out);
    for (int i = 0; i < d->nexpects; i++) {
        const ReportExpect *e = &d->expects[i];
        fprintf(out, "  %s  %s:%d: %s", e->outcome, e->file, e->line, e->expr);
        if (e->op) {
            char a[32], b[32];
            fprintf(out, "  [%s %s %s]",
                    e->lhs.is_num ? report_num(e->lhs.num, a, sizeof a) : e->lhs.text, e->op,
                    e->rhs.is_num ? report_num(e->rhs.num, b, sizeof b) : e->rhs.text);
        }
        if (strcmp(e->outcome, "SKIP") == 0)
            fputs("  (its run was not trained)", out);
        if (e->message)
            fprintf(out, "  %s", e->message);
        fputc('\n', out);
        for (int j = 0; j < e->nlists; j++) {
            fprintf(out, "        %s", e->lists[j].expr);
            report_print_list_values(out, &e->lists[j].s);
            fputc('\n', out);
        }
    }
}

/* ---- the progress line ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void report_progress_start(ReportProgress *pg, FILE *out, const Run *r)
{
    *pg = (ReportProgress){.out = out, .start = now(), .first_step = r->step};
}

void report_progress(const Run *r, void *ctx)
{
    ReportProgress *pg = ctx;
    double t = now();
    /* quick runs never draw; long ones redraw at most 10 times a second */
    if (t - pg->start < 0.5 || t - pg->last < 0.1)
        return;
    char a[32], b[32];
    double rate = (double)(r->step - pg->first_step) / (t - pg->start);
    int w = fprintf(pg->out, "\r%s  step %ld/%ld  loss %s  %s steps/s", r->name, r->step,
                    r->set.steps, report_num(r->last_loss, a, sizeof a), report_num(rate, b, sizeof b));
    w -= 1;  /* the \r */
    if (w < pg->width)
        fprintf(pg->out, "%*s", pg->width - w, "");
    pg->width = w > pg->width ? w : pg->width;
    fflush(pg->out);
    pg->last = t;
}

void report_progress_clear(ReportProgress *pg)
{
    if (pg->width > 0) {
        fprintf(pg->out, "\r%*s\r", pg->width, "");
        fflush(pg->out);
    }
    pg->width = 0;
}

void report_print_pretrain(FILE *out, const Run *r)
{
    if (!r->pretrain)
        return;
    Value v = {.kind = VAL_SPEC, .spec = r->set.pretrain};
    fputs("pretrain ", out);
    value_print(out, &v);
    fputs(", reconstruction mse of the first and last minibatch:\n", out);
    int w = 5;
    for (int l = 0; l < r->g.nlayers; l++)
        if ((int)strlen(r->g.layers[l].name) > w)
            w = (int)strlen(r->g.layers[l].name);
    for (int l = 0; l < r->g.nlayers; l++) {
        const PretrainLayer *pl = &r->pretrain[l];
        char a[32], b[32];
        fprintf(out, "  %-*s ", w, r->g.layers[l].name);
        if (pl->skipped)
            fprintf(out, "skipped: %s\n", pl->skipped);
        else
            fprintf(out, "%s -> %s\n", report_num(pl->first, a, sizeof a),
                    report_num(pl->last, b, sizeof b));
    }
}

static void print_side(FILE *out, const Value *v)
{
    char buf[32];
    if (v->kind == VAL_NUM)
        fputs(report_num(v->num, buf, sizeof buf), out);
    else
        value_print(out, v);
}

void report_print_list(FILE *out, const ListSummary *s)
{
    ast_print(out, s->expr, 0);
    report_print_list_values(out, s);
}

void report_print_list_values(FILE *out, const ListSummary *s)
{
    char a[32], b[32], c[32];
    if (s->booleans) {
        fprintf(out, ": %d of %d true", s->trues, s->n);
        return;
    }
    fprintf(out, ": n %d", s->n);
    if (s->nans)
        fprintf(out, " (%d NaN)", s->nans);
    if (s->nans < s->n)
        fprintf(out, ", min %s, median %s, max %s", report_num(s->min, a, sizeof a),
                report_num(s->median, b, sizeof b), report_num(s->max, c, sizeof c));
    if (s->holds >= 0)
        fprintf(out, "; %d of %d hold", s->holds, s->n);
}

void report_print_expects(FILE *out, const Program *p, const ExpectResult *results, int n, bool color)
{
    if (n == 0)
        return;
    fputs("expect\n", out);
    for (int i = 0; i < n; i++) {
        const ExpectResult *r = &results[i];
        const Span *s = &r->ast->span;
        const char *col = r->outcome == EXPECT_PASS ? "\033[32m"
                        : r->outcome == EXPECT_SKIP ? "\033[33m" : "\033[31m";
        fprintf(out, "  %s%s%s  ", color ? col : "", expect_outcome_name(r->outcome),
                color ? "\033[0m" : "");
        fprintf(out, "%s:%d: ", p->sources.files[s->file].path, s->first_line);
        ast_print(out, r->ast->a, 0);
        if (r->has_sides && r->outcome != EXPECT_ERROR) {
            fputs("  [", out);
            print_side(out, &r->lhs);
            fprintf(out, " %s ", ast_op_name(r->ast->a->op));
            print_side(out, &r->rhs);
            fputc(']', out);
        }
        if (r->outcome == EXPECT_SKIP)
            fputs("  (its run was not trained)", out);
        if (r->ast->str2)
            fprintf(out, "  %s", r->ast->str2);
        fputc('\n', out);
        for (int j = 0; j < r->nlists; j++) {
            fputs("        ", out);
            report_print_list(out, &r->lists[j]);
            fputc('\n', out);
        }
    }
}
