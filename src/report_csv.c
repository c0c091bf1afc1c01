/* report_csv.c — `--csv F`: the report in long format.
 *
 * One row per run, step, layer and metric, under the header
 * `run,step,layer,metric,value`: the shape spreadsheet pivots, R's tidy
 * tools and pandas' pivot_table all start from. Run-level values use the
 * layer `-`. A metric that does not apply (NaN inside vg) has no row, so
 * the value column is numbers only, with `inf` and `-inf` where training
 * overflowed, as every CSV reader's float parser accepts; the verdict, a
 * word, is in the JSON and follows from the numbers here. Fields are quoted per RFC 4180
 * when they hold a comma, a quote or a line break. */
#include "vg/report.h"

#include <math.h>
#include <string.h>

#include "vg/metrics.h"

static void field(FILE *out, const char *s)
{
    if (!s[strcspn(s, ",\"\r\n")]) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* One row; NaN (absent) writes nothing. Lines end in CRLF as RFC 4180 §2
 * says; every reader accepts it. */
static void row(FILE *out, const ReportRun *r, long step, const char *layer, const char *metric,
                double v)
{
    if (isnan(v))
        return;
    field(out, r->name);
    fprintf(out, ",%ld,", step);
    field(out, layer);
    fputc(',', out);
    field(out, metric);
    if (isinf(v))
        fprintf(out, ",%s\r\n", v > 0 ? "inf" : "-inf");
    else
        fprintf(out, ",%.9g\r\n", v);
}

static void report(FILE *out, const ReportRun *r, const Report *rep)
{
    for (int k = 0; k < RV_COUNT; k++)
        row(out, r, rep->step, "-", report_value_names[k], report_value(rep, (RunValueId)k));
    for (int l = 0; l < r->nlayers; l++) {
        const LayerMetrics *m = &rep->layers[l];
        const char *name = r->layers[l];
        for (int k = 0; k < M_COUNT; k++)
            row(out, r, rep->step, name, metric_names[k], metric_get(m, (MetricId)k));
        for (int t = 0; m->bptt && t < m->bptt_len; t++) {
            char metric[32];
            snprintf(metric, sizeof metric, "bptt[%d]", t + 1);
            row(out, r, rep->step, name, metric, m->bptt[t]);
        }
    }
}

/* The step log's entries [from, to): four rows per step. */
static void steps(FILE *out, const ReportRun *r, long from, long to)
{
    const StepLog *lg = &r->log;
    for (long i = from; i < to; i++) {
        long step = lg->first + i + 1;
        row(out, r, step, "-", "step_loss", lg->loss[i]);
        row(out, r, step, "-", "step_global_norm", lg->norm[i]);
        row(out, r, step, "-", "step_clipped", lg->clipped[i]);
        row(out, r, step, "-", "step_lr", lg->lr[i]);
    }
}

void report_write_csv(FILE *out, const ReportData *d)
{
    fputs("run,step,layer,metric,value\r\n", out);
    for (int i = 0; i < d->nruns; i++) {
        const ReportRun *r = &d->runs[i];
        /* each report after the steps that led to it, as in the JSON */
        long done = 0;
        row(out, r, 0, "-", "baseline", r->baseline);
        for (int k = 0; k < r->nreports; k++) {
            long to = r->reports[k].step - r->log.first;
            if (to > r->log.n)
                to = r->log.n;
            if (to > done)
                steps(out, r, done, to);
            done = to > done ? to : done;
            report(out, r, &r->reports[k]);
        }
        steps(out, r, done, r->log.n);
        if (!r->ended)
            continue;  /* read back from a killed vg: how it ended is unknown */
        row(out, r, r->steps, "-", "diverged", r->diverged);
        row(out, r, r->steps, "-", "diverged_at", r->diverged ? (double)r->diverged_at : NAN);
    }
}
