/* report_diff.c — `vg report --diff A B`: what changed between two saved
 * reports, for the question "did my change fix the vanishing?".
 *
 * Runs and layers are matched by name. For the initial and the final
 * report of each run, a value is shown when it changed by more than a
 * factor (either way), changed sign, or appeared, vanished, became 0 or
 * non-finite; a verdict when it changed. Values compared: the run-level
 * values, every layer metric, and bptt[1] (the gradient that reaches the
 * first time step). */
#include "vg/report.h"

#include <math.h>
#include <string.h>

#include "vg/metrics.h"

static int find(const ReportData *d, const char *name)
{
    for (int i = 0; i < d->nruns; i++)
        if (strcmp(d->runs[i].name, name) == 0)
            return i;
    return -1;
}

static int find_layer(const ReportRun *r, const char *name)
{
    for (int l = 0; l < r->nlayers; l++)
        if (strcmp(r->layers[l], name) == 0)
            return l;
    return -1;
}

/* Whether x → y is a change worth showing; *ratio is y/x when both are
 * finite, non-zero and of one sign, else NaN. */
static bool changed(double x, double y, double factor, double *ratio)
{
    *ratio = NAN;
    if (isnan(x) && isnan(y))
        return false;
    if (isnan(x) || isnan(y) || isinf(x) || isinf(y))
        return !(x == y);
    if (x == 0 || y == 0)
        return x != y;
    if ((x > 0) != (y > 0))
        return true;
    *ratio = y / x;
    return *ratio > factor || *ratio < 1 / factor;
}

typedef struct Diff {
    FILE *out;
    double factor;
    int shown;
} Diff;

static void value(Diff *df, const char *layer, const char *what, double x, double y)
{
    double ratio;
    if (!changed(x, y, df->factor, &ratio))
        return;
    char a[32], b[32], c[32];
    fprintf(df->out, "    %-12s %-14s %10s → ", layer, what, report_num(x, a, sizeof a));
    if (isnan(ratio))
        fprintf(df->out, "%s\n", report_num(y, b, sizeof b));
    else
        fprintf(df->out, "%-10s ×%s\n", report_num(y, b, sizeof b), report_num(ratio, c, sizeof c));
    df->shown++;
}

static double bptt1(const LayerMetrics *m)
{
    return m->bptt && m->bptt_len > 0 ? m->bptt[0] : NAN;
}

static void reports(Diff *df, const char *which, const ReportRun *ra, const Report *a,
                    const ReportRun *rb, const Report *b)
{
    fprintf(df->out, "  %s (step %ld → step %ld)\n", which, a->step, b->step);
    df->shown = 0;
    for (int k = 0; k < RV_COUNT; k++)
        value(df, "-", report_value_names[k], report_value(a, (RunValueId)k),
              report_value(b, (RunValueId)k));
    for (int l = 0; l < ra->nlayers; l++) {
        int lb = find_layer(rb, ra->layers[l]);
        if (lb < 0)
            continue;
        const LayerMetrics *ma = &a->layers[l], *mb = &b->layers[lb];
        for (int k = 0; k < M_COUNT; k++)
            value(df, ra->layers[l], metric_names[k], metric_get(ma, (MetricId)k),
                  metric_get(mb, (MetricId)k));
        value(df, ra->layers[l], "bptt[1]", bptt1(ma), bptt1(mb));
        if (ma->verdict != mb->verdict) {
            fprintf(df->out, "    %-12s %-14s %10s → %s\n", ra->layers[l], "verdict",
                    verdict_name(ma->verdict), verdict_name(mb->verdict));
            df->shown++;
        }
    }
    if (!df->shown)
        fprintf(df->out, "    nothing changed by more than ×%g\n", df->factor);
}

static void layers_only(FILE *out, const ReportRun *r, const ReportRun *other, const char *file)
{
    for (int l = 0; l < r->nlayers; l++)
        if (find_layer(other, r->layers[l]) < 0)
            fprintf(out, "  layer %s: only in %s\n", r->layers[l], file);
}

void report_write_diff(FILE *out, const ReportData *a, const ReportData *b, const char *name_a,
                       const char *name_b, double factor)
{
    Diff df = {.out = out, .factor = factor};
    fprintf(out, "--- %s\n+++ %s\nchanges by more than ×%g, initial and final reports\n", name_a,
            name_b, factor);
    for (int i = 0; i < a->nruns; i++) {
        const ReportRun *ra = &a->runs[i];
        int j = find(b, ra->name);
        if (j < 0) {
            fprintf(out, "\nrun %s: only in %s\n", ra->name, name_a);
            continue;
        }
        const ReportRun *rb = &b->runs[j];
        fprintf(out, "\nrun %s\n", ra->name);
        layers_only(out, ra, rb, name_a);
        layers_only(out, rb, ra, name_b);
        if (!ra->nreports || !rb->nreports) {
            fprintf(out, "  no report in %s\n", ra->nreports ? name_b : name_a);
            continue;
        }
        reports(&df, "initial", ra, &ra->reports[0], rb, &rb->reports[0]);
        reports(&df, "final", ra, &ra->reports[ra->nreports - 1], rb,
                &rb->reports[rb->nreports - 1]);
    }
    for (int j = 0; j < b->nruns; j++)
        if (find(a, b->runs[j].name) < 0)
            fprintf(out, "\nrun %s: only in %s\n", b->runs[j].name, name_b);
}
