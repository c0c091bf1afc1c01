/* report_text.c — the terminal table.
 *
 * Columns are fixed-width so a run's tables line up step after step and
 * runs can be compared by eye; layer names set the first column's width. */
#include "vg/report.h"

#include <math.h>
#include <string.h>

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

static void print_call_args(FILE *out, const AstNode *call)
{
    fputc('(', out);
    for (const AstNode *a = call->list.head; a; a = a->next) {
        ast_print(out, a, 0);
        if (a->next)
            fputs(", ", out);
    }
    fputc(')', out);
}

void report_print_header(FILE *out, const Program *p, const Run *r)
{
    (void)p;
    const Settings *s = &r->set;
    fprintf(out, "run %s: %s", r->name, r->model);
    print_call_args(out, r->ast->a);
    if (r->ast->str2)
        fprintf(out, " with %s", r->ast->str2);
    fputc('\n', out);
    fprintf(out, "  data %s · loss %s · ", r->data.name ? r->data.name : "?",
            op_def(s->loss)->name);
    Value opt = {.kind = VAL_SPEC, .spec = s->optimizer};
    value_print(out, &opt);
    fprintf(out, " · batch %ld · steps %ld · seed %llu · probe %d", s->batch, s->steps,
            (unsigned long long)s->seed, r->probe.batch);
    if (s->clip) {
        Value c = {.kind = VAL_SPEC, .spec = s->clip};
        fputs(" · clip ", out);
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

/* The columns of the terminal table; the JSON and CSV carry every metric. */
static const MetricId columns[] = {
    M_GRAD_NORM, M_ACT_GRAD_NORM, M_RATIO, M_PREDICTED, M_ACT_MEAN, M_ACT_STD,
    M_SATURATION, M_DEAD,
};
enum { NCOLS = sizeof columns / sizeof *columns };

void report_print_table(FILE *out, const Run *r, const Report *rep, bool color)
{
    char a[32], b[32];
    const IrGraph *g = &r->g;
    fprintf(out, "step %ld: loss %s", rep->step, report_num(rep->loss, a, sizeof a));
    if (!isnan(rep->accuracy))
        fprintf(out, ", accuracy %s", report_num(rep->accuracy, a, sizeof a));
    if (!isnan(rep->test_accuracy))
        fprintf(out, ", test accuracy %s", report_num(rep->test_accuracy, a, sizeof a));
    if (!isnan(rep->global_norm))
        fprintf(out, ", global norm %s", report_num(rep->global_norm, b, sizeof b));
    if (r->set.clip)
        fprintf(out, ", clipped %s", report_num(rep->clipped, b, sizeof b));
    fputc('\n', out);
    int w = 5;
    for (int l = 0; l < g->nlayers; l++)
        if ((int)strlen(g->layers[l].name) > w)
            w = (int)strlen(g->layers[l].name);
    int cw[NCOLS];
    fprintf(out, "  %-*s", w, "layer");
    for (int c = 0; c < NCOLS; c++) {
        cw[c] = (int)strlen(metric_names[columns[c]]);
        if (cw[c] < 9)
            cw[c] = 9;  /* "-1.23e-05" */
        fprintf(out, " %*s", cw[c], metric_names[columns[c]]);
    }
    fputs("  verdict\n", out);
    for (int l = 0; l < g->nlayers; l++) {
        const LayerMetrics *m = &rep->layers[l];
        fprintf(out, "  %-*s", w, g->layers[l].name);
        for (int c = 0; c < NCOLS; c++)
            fprintf(out, " %*s", cw[c], report_num(metric_get(m, columns[c]), a, sizeof a));
        if (color)
            fprintf(out, "  %s%s\033[0m\n", verdict_color(m->verdict), verdict_name(m->verdict));
        else
            fprintf(out, "  %s\n", verdict_name(m->verdict));
    }
}
