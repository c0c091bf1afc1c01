/* report_html.c — `--html F`: one self-contained page of charts.
 *
 * Everything is inline: CSS in the head, every chart an <svg> with its own
 * presentation attributes (so each stands alone as an .svg file), no script
 * and nothing fetched. Runs sit side by side in a CSS grid whose rows are
 * the same chart of every run, and every chart of one kind shares its
 * scales across the runs, so comparing runs is comparing heights. Cells and
 * points carry <title> tooltips with their exact values. */
#include "vg/report.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vg/blas.h"
#include "vg/elab.h"
#include "vg/metrics.h"
#include "vg/sha256.h"

/* A data interval; on a log axis lo and hi are log10 of the values. */
typedef struct Range {
    double lo, hi;
} Range;

/* One axis: data (lo..hi, log10 when log) onto pixels p0..p1. */
typedef struct Axis {
    Range r;
    bool log;
    double p0, p1;
} Axis;

/* The scales every run's chart of one kind shares. */
typedef struct Scales {
    Range agn;        /* log10 act_grad_norm over every report */
    Range ratio;      /* log10 of ratio and predicted, first and last reports */
    Range loss;       /* the probe's at every report, then with the steps' */
    Range step_loss;  /* the training batches' */
    Range bptt;       /* log10, every report */
    Range norm;       /* log10 of the global gradient norm of every step */
    Range entropy;    /* attention_entropy, first and last reports */
    double steps;     /* the most steps a run has done */
    const ReportRun *runs;  /* the page's runs: a run's colour is its index */
    int max_time;     /* the longest bptt curve */
    bool has_bptt, has_zero, has_inf, has_absent, has_attention;
} Scales;

/* Tableau 10: distinct at a glance and for most colour-blind readers. */
static const char *const series_colors[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};
enum { NCOLORS = sizeof series_colors / sizeof *series_colors };
/* The same hues paler (Tableau 20's light half): a run's first report,
 * where its last is drawn in the full colour. */
static const char *const pale_colors[NCOLORS] = {
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
    "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
};

/* A run's colour, the same in every chart of the page. */
static const char *run_color(const Scales *s, const ReportRun *r, bool pale)
{
    int i = (int)(r - s->runs) % NCOLORS;
    return pale ? pale_colors[i] : series_colors[i];
}

/* Fixed canvases: the same chart of every run has the same size, so the
 * grid rows line up. */
enum { CHART_W = 480, CHART_H = 280, OVERVIEW_W = 760, OVERVIEW_H = 320 };

/* ---- text ---- */

/* XML character data and attribute values; invalid UTF-8 becomes U+FFFD. */
static void esc(FILE *out, const char *s)
{
    while (*s) {
        int n = report_utf8_len(s);
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        default:
            if (n == 0 || ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t'))
                fputs("\xef\xbf\xbd", out);
            else
                fwrite(s, 1, (size_t)n, out);
        }
        s += n ? n : 1;
    }
}

static void num(FILE *out, double x)
{
    char buf[32];
    fputs(report_num(x, buf, sizeof buf), out);
}

/* "10⁻⁶": a power of ten in Unicode superscripts, readable at small sizes. */
static void power_of_ten(FILE *out, int e)
{
    static const char *const sup[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
    fputs("10", out);
    if (e < 0)
        fputs("⁻", out);
    char digits[16];
    snprintf(digits, sizeof digits, "%d", abs(e));
    for (const char *d = digits; *d; d++)
        fputs(sup[*d - '0'], out);
}

/* ---- scales ---- */

static const Range EMPTY = {INFINITY, -INFINITY};

static void widen(Range *r, double v)
{
    if (!isfinite(v))
        return;
    if (v < r->lo)
        r->lo = v;
    if (v > r->hi)
        r->hi = v;
}

static void widen_log(Range *r, double v)
{
    if (v > 0)
        widen(r, log10(v));
}

/* Whole decades around the data, at least one. */
static Range decades(Range r)
{
    if (r.lo > r.hi)
        return (Range){-1, 1};
    Range d = {floor(r.lo), ceil(r.hi)};
    if (d.hi == d.lo)
        d.hi += 1;
    return d;
}

static const Report *first_report(const ReportRun *r)
{
    return r->nreports ? &r->reports[0] : NULL;
}

static const Report *last_report(const ReportRun *r)
{
    return r->nreports ? &r->reports[r->nreports - 1] : NULL;
}

static void scan_run(const ReportRun *r, Scales *s)
{
    /* the steps done, not planned: an interrupted run's curve fills the axis */
    if (r->steps > s->steps)
        s->steps = (double)r->steps;
    if (r->log.first + r->log.n > s->steps)
        s->steps = (double)(r->log.first + r->log.n);
    for (long i = 0; i < r->log.n; i++) {
        widen(&s->step_loss, r->log.loss[i]);
        widen_log(&s->norm, r->log.norm[i]);
    }
    /* the thresholds of the verdicts are drawn on every ratio chart */
    if (r->nreports) {
        widen_log(&s->ratio, r->vanishing_below);
        widen_log(&s->ratio, r->exploding_above);
    }
    s->has_attention |= r->attention && r->nreports;
    for (int k = 0; k < r->nreports; k++) {
        const Report *rep = &r->reports[k];
        widen(&s->loss, rep->loss);
        bool edge = k == 0 || k == r->nreports - 1;
        for (int l = 0; l < r->nlayers; l++) {
            const LayerMetrics *m = &rep->layers[l];
            double a = m->act_grad_norm;
            widen_log(&s->agn, a);
            s->has_zero |= a == 0;
            s->has_inf |= isinf(a);
            s->has_absent |= isnan(a);
            if (edge) {
                widen_log(&s->ratio, m->ratio);
                widen_log(&s->ratio, m->predicted);
                widen(&s->entropy, m->attention_entropy);
            }
            for (int t = 0; m->bptt && t < m->bptt_len; t++)
                widen_log(&s->bptt, m->bptt[t]);
            if (m->bptt) {
                s->has_bptt = true;
                if (m->bptt_len > s->max_time)
                    s->max_time = m->bptt_len;
            }
        }
    }
}

static void scales(const ReportData *d, Scales *s)
{
    *s = (Scales){.agn = EMPTY, .ratio = EMPTY, .loss = EMPTY, .bptt = EMPTY, .norm = EMPTY,
                  .step_loss = EMPTY, .entropy = EMPTY, .runs = d->runs};
    for (int i = 0; i < d->nruns; i++)
        scan_run(&d->runs[i], s);
    s->agn = decades(s->agn);
    s->ratio = decades(s->ratio);
    s->bptt = decades(s->bptt);
    s->norm = decades(s->norm);
    /* a training batch's loss before a run diverges can be 1e38: the axis
     * goes to 4 × the largest probe loss at most, and the steps above it
     * are drawn at its top */
    if (s->step_loss.hi > s->loss.hi)
        s->loss.hi = s->loss.lo <= s->loss.hi && s->step_loss.hi > 4 * s->loss.hi
                   ? 4 * s->loss.hi : s->step_loss.hi;
    /* the loss axis starts at 0 so two runs' losses compare as lengths */
    s->loss = s->loss.lo > s->loss.hi ? (Range){0, 1} : (Range){0, s->loss.hi * 1.05};
    if (s->loss.hi <= 0)
        s->loss.hi = 1;
    if (s->steps < 1)
        s->steps = 1;
    /* entropies from 0 (one key per query) up: their lengths compare */
    s->entropy = (Range){0, s->entropy.hi > 0 ? s->entropy.hi * 1.05 : 1};
}

/* ---- axes ---- */

/* Pixel of value v, or NaN when v cannot be drawn (≤ 0 on a log axis). */
static double map(const Axis *a, double v)
{
    if (a->log)
        v = v > 0 ? log10(v) : NAN;
    return a->p0 + (v - a->r.lo) / (a->r.hi - a->r.lo) * (a->p1 - a->p0);
}

/* A step of 1, 2 or 5 × 10^k giving about n intervals over the range. */
static double nice_step(double span, int n)
{
    double raw = span / n, p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void tick_label(FILE *out, const Axis *a, double v)
{
    if (a->log)
        power_of_ten(out, (int)lround(v));
    else
        fprintf(out, "%g", fabs(v) < 1e-12 ? 0 : v);
}

/* Ticks, labels and grid lines of a horizontal (x) or vertical (y) axis
 * across the plot box [x0,x1]×[y0,y1]. */
static void axis(FILE *out, const Axis *a, bool x, double x0, double y0, double x1, double y1)
{
    double span = a->r.hi - a->r.lo;
    double step = a->log ? ceil(span / 8) : nice_step(span, 5);
    for (double v = ceil(a->r.lo / step - 1e-9) * step; v <= a->r.hi + 1e-9 * step; v += step) {
        double p = a->p0 + (v - a->r.lo) / span * (a->p1 - a->p0);
        if (x) {
            fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>",
                    p, y0, p, y1);
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", p, y1 + 14);
        } else {
            fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>",
                    x0, p, x1, p);
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", x0 - 5, p + 4);
        }
        tick_label(out, a, v);
        fputs("</text>\n", out);
    }
    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#999\"/>\n", x0, y0, x1 - x0, y1 - y0);
}

static void svg_open(FILE *out, int w, int h, const char *id)
{
    fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\"%s%s%s viewBox=\"0 0 %d %d\" "
            "width=\"%d\" height=\"%d\" font-family=\"system-ui, -apple-system, 'Segoe UI', "
            "sans-serif\" font-size=\"11\" fill=\"#222\">\n"
            "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n",
            id ? " id=\"" : "", id ? id : "", id ? "\"" : "", w, h, w, h, w, h);
}

static void title(FILE *out, double x, const char *text, const char *run)
{
    fprintf(out, "<text x=\"%.1f\" y=\"17\" font-size=\"13\" font-weight=\"600\">", x);
    esc(out, text);
    if (run) {
        fputs(" — ", out);
        esc(out, run);
    }
    fputs("</text>\n", out);
}

static void axis_label(FILE *out, bool vertical, double x, double y, const char *text)
{
    if (vertical)
        fprintf(out, "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" text-anchor=\"middle\" "
                "fill=\"#444\">", x, y);
    else
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#444\">", x, y);
    esc(out, text);
    fputs("</text>\n", out);
}

/* A line of a chart: a polyline through the drawable points, broken where
 * one is not (zero or absent on a log axis), with a marker and a tooltip
 * at each point of a short series. x NULL: x = 1..n. The chart owns x
 * and y. */
typedef struct Series {
    double *x, *y;
    int n;
    const char *color;
    bool dashed;
    bool markers_only;          /* points without a line (and markers however many) */
    char name[96];              /* legend and tooltips */
    const char *const *xnames;  /* tooltips: names of the x values */
    const char *xunit;          /* or else "step 100", "t 3" */
} Series;

/* A chart: its series, a legend strip under the title, and the plot box
 * below the strip. Lines are drawn in one go at the end so the legend's
 * height is known before the plot box is placed. */
typedef struct Chart {
    FILE *out;
    int w, h;
    double x0, y0, x1, y1;
    Series s[2 * NCOLORS];
    int n;
} Chart;

static Series *add_series(Chart *c, int n, const char *color, bool dashed)
{
    Series *s = &c->s[c->n++];
    *s = (Series){.y = xcalloc((size_t)n + 1, sizeof(double)), .n = n, .color = color,
                  .dashed = dashed};
    return s;
}

/* Legend entries flow left to right, wrapping at the plot's width; text
 * width is estimated at 6.3 px a character (11 px sans-serif). Returns the
 * rows used. */
static int legend(const Chart *c, double y)
{
    double x = c->x0;
    int rows = c->n ? 1 : 0;
    for (int i = 0; i < c->n; i++) {
        const Series *s = &c->s[i];
        double w = 40 + 6.3 * (double)strlen(s->name);
        if (x > c->x0 && x + w > c->x1) {
            x = c->x0;
            rows++;
        }
        double yy = y + 15.0 * (rows - 1);
        if (s->markers_only)
            fprintf(c->out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\" fill=\"%s\"/>", x + 12,
                    yy - 4, s->color);
        else
            fprintf(c->out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                    "stroke=\"%s\" stroke-width=\"2\"%s/>", x, yy - 4, x + 24, yy - 4, s->color,
                    s->dashed ? " stroke-dasharray=\"5 3\"" : "");
        fprintf(c->out, "<text x=\"%.1f\" y=\"%.1f\">", x + 29, yy);
        esc(c->out, s->name);
        fputs("</text>\n", c->out);
        x += w;
    }
    return rows;
}

/* Opens the chart's <svg>, draws its title and legend (a single line needs
 * none), and places the plot box: margins left and bottom hold the axes'
 * ticks and labels. */
static void chart_begin(Chart *c, int w, int h, const char *id, const char *what, const char *run,
                        double left, double bottom)
{
    c->w = w;
    c->h = h;
    c->x0 = left;
    c->x1 = w - 16;
    c->y1 = h - bottom;
    svg_open(c->out, w, h, id);
    title(c->out, 10, what, run);
    c->y0 = 30 + (c->n > 1 ? 15.0 * legend(c, 38) : 0);
}

static void draw_series(FILE *out, const Series *s, const Axis *ax, const Axis *ay)
{
    bool open = false;
    for (int i = 0; i <= s->n; i++) {
        double px = i < s->n ? map(ax, s->x ? s->x[i] : i + 1) : NAN;
        double py = i < s->n ? map(ay, s->y[i]) : NAN;
        bool ok = isfinite(px) && isfinite(py) && !s->markers_only;
        if (ok && !open)
            fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s points=\"",
                    s->color, s->dashed ? " stroke-dasharray=\"5 3\"" : "");
        if (ok)
            fprintf(out, "%.1f,%.1f ", px, py);
        if (!ok && open)
            fputs("\"/>\n", out);
        open = ok;
    }
    /* markers (and their tooltips) only where they stay apart: a 100-step
     * BPTT curve reads better as a line */
    for (int i = 0; (s->n <= 40 || s->markers_only) && i < s->n; i++) {
        double px = map(ax, s->x ? s->x[i] : i + 1), py = map(ay, s->y[i]);
        if (!isfinite(px) || !isfinite(py))
            continue;
        if (s->dashed)
            fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.4\" fill=\"#fff\" stroke=\"%s\" "
                    "stroke-width=\"1.2\"><title>", px, py, s->color);
        else
            fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\" fill=\"%s\"><title>", px, py,
                    s->color);
        esc(out, s->name);
        fputs(", ", out);
        if (s->xnames)
            esc(out, s->xnames[i]);
        else
            fprintf(out, "%s %g", s->xunit, s->x ? s->x[i] : i + 1);
        fputs(": ", out);
        num(out, s->y[i]);
        fputs("</title></circle>\n", out);
    }
}

/* Draws the series, dashed ones (with hollow markers) last, so a solid
 * line under a dashed one still shows through its gaps; closes the <svg>
 * and frees the series. */
static void chart_end(Chart *c, const Axis *ax, const Axis *ay)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < c->n; i++)
            if (c->s[i].dashed == (pass == 1))
                draw_series(c->out, &c->s[i], ax, ay);
    fputs("</svg>\n", c->out);
    for (int i = 0; i < c->n; i++) {
        free(c->s[i].x);
        free(c->s[i].y);
    }
}

/* ---- the heatmap ---- */

/* viridis (van der Walt & Smith, matplotlib), 9 stops: perceptually
 * uniform and readable in grey, so the scale reads the same to everyone. */
static void viridis(double t, char rgb[8])
{
    static const unsigned char stops[9][3] = {
        {68, 1, 84}, {71, 45, 123}, {59, 82, 139}, {44, 114, 142}, {33, 145, 140},
        {40, 174, 128}, {94, 201, 98}, {173, 220, 48}, {253, 231, 37},
    };
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double f = t * 8;
    int i = f >= 8 ? 7 : (int)f;
    f -= i;
    unsigned char c[3];
    for (int k = 0; k < 3; k++)
        c[k] = (unsigned char)lround(stops[i][k] + f * (stops[i + 1][k] - stops[i][k]));
    snprintf(rgb, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

static const char *const THRESHOLD_COLOR = "#b35806";
static const char *const ZERO_COLOR = "#000", *const INF_COLOR = "#e3342f",
                        *const ABSENT_COLOR = "#d9d9d9";

static void cell_color(double v, Range r, char rgb[8])
{
    if (isnan(v))
        snprintf(rgb, 8, "%s", ABSENT_COLOR);
    else if (isinf(v))
        snprintf(rgb, 8, "%s", INF_COLOR);
    else if (v == 0)
        snprintf(rgb, 8, "%s", ZERO_COLOR);
    else
        viridis((log10(v) - r.lo) / (r.hi - r.lo), rgb);
}

static int label_every(int n, double space, double need)
{
    int k = 1;
    while (k < n && space * k < need)
        k++;
    return k;
}

/* viridis from the top (1) to the bottom (0) of a 12-px bar at x. */
static void color_bar(FILE *out, double x, double y0, double y1)
{
    enum { STRIPES = 48 };
    double h = (y1 - y0) / STRIPES;
    for (int i = 0; i < STRIPES; i++) {
        char rgb[8];
        viridis(1 - (i + 0.5) / STRIPES, rgb);
        fprintf(out, "<rect x=\"%.1f\" y=\"%.2f\" width=\"12\" height=\"%.2f\" fill=\"%s\"/>",
                x, y0 + i * h, h + 0.3, rgb);
    }
    fputc('\n', out);
}

/* A viridis bar over y0..y1 for log10 values in r, labelled in decades. */
static void scale_legend(FILE *out, Range r, double x, double y0, double y1)
{
    color_bar(out, x, y0, y1);
    double step = ceil((r.hi - r.lo) / 8);
    for (double v = r.lo; v <= r.hi + 1e-9; v += step) {
        double p = y1 + (v - r.lo) / (r.hi - r.lo) * (y0 - y1);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#222\"/>"
                "<text x=\"%.1f\" y=\"%.1f\">", x + 12, p, x + 15, p, x + 17, p + 4);
        power_of_ten(out, (int)lround(v));
        fputs("</text>\n", out);
    }
}

static void heatmap_legend(FILE *out, const Scales *s, double x, double y0, double y1)
{
    scale_legend(out, s->agn, x, y0, y1);
    double yy = y1 + 16;
    const struct { bool on; const char *color, *label; } special[] = {
        {s->has_zero, ZERO_COLOR, "0"}, {s->has_inf, INF_COLOR, "∞"},
        {s->has_absent, ABSENT_COLOR, "absent"},
    };
    for (int i = 0; i < 3; i++) {
        if (!special[i].on)
            continue;
        fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"9\" fill=\"%s\" "
                "stroke=\"#999\"/><text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x, yy, special[i].color,
                x + 17, yy + 8, special[i].label);
        yy += 13;
    }
}

static void heatmap(FILE *out, const ReportRun *r, const Scales *s)
{
    int L = r->nlayers, K = r->nreports;
    double x0 = 62, x1 = CHART_W - 72, y0 = 30, y1 = CHART_H - 44;
    double cw = (x1 - x0) / (K ? K : 1), ch = (y1 - y0) / L;
    svg_open(out, CHART_W, CHART_H, NULL);
    title(out, 10, "log₁₀ act_grad_norm by layer and step", r->name);
    for (int k = 0; k < K; k++) {
        for (int l = 0; l < L; l++) {
            double v = r->reports[k].layers[l].act_grad_norm;
            char rgb[8];
            cell_color(v, s->agn, rgb);
            fprintf(out, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\">"
                    "<title>", x0 + k * cw, y0 + l * ch, cw + 0.4, ch + 0.4, rgb);
            esc(out, r->layers[l]);
            fprintf(out, ", step %ld: act_grad_norm ", r->reports[k].step);
            num(out, v);
            fputs("</title></rect>\n", out);
        }
    }
    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#999\"/>\n", x0, y0, x1 - x0, y1 - y0);
    int every = label_every(L, ch, 12);
    for (int l = 0; l < L; l += every) {
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", x0 - 5,
                y0 + (l + 0.5) * ch + 4);
        esc(out, r->layers[l]);
        fputs("</text>\n", out);
    }
    every = label_every(K, cw, 34);
    for (int k = 0; k < K; k += every)
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%ld</text>\n",
                x0 + (k + 0.5) * cw, y1 + 14, r->reports[k].step);
    axis_label(out, false, (x0 + x1) / 2, CHART_H - 10, "report step (training steps done)");
    axis_label(out, true, 12, (y0 + y1) / 2, "layer (input at top)");
    heatmap_legend(out, s, x1 + 10, y0, y1 - 40);
    fputs("</svg>\n", out);
}

/* ---- ratio against depth ---- */

static const char **layer_names(const ReportRun *r)
{
    const char **names = xmalloc(sizeof *names * (size_t)r->nlayers);
    for (int l = 0; l < r->nlayers; l++)
        names[l] = r->layers[l];
    return names;
}

/* One metric of every layer of a report as a series. */
static void add_layers(Chart *c, const ReportRun *r, const Report *rep, MetricId id, const char *color,
                       bool dashed, const char *const *names)
{
    Series *s = add_series(c, r->nlayers, color, dashed);
    for (int l = 0; l < r->nlayers; l++)
        s->y[l] = metric_get(&rep->layers[l], id);
    s->xnames = names;
}

/* The verdicts' thresholds across a ratio chart: below vanishing_below a
 * layer is vanishing, above exploding_above exploding. */
static void thresholds(const Chart *c, const Axis *ay, const ReportRun *r)
{
    const struct { double v; const char *what; } lines[] = {
        {r->vanishing_below, "vanishing below "}, {r->exploding_above, "exploding above "},
    };
    for (int i = 0; i < 2; i++) {
        double py = map(ay, lines[i].v);
        if (!isfinite(py) || py < c->y0 - 0.5 || py > c->y1 + 0.5)
            continue;
        fprintf(c->out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-dasharray=\"6 3\" stroke-width=\"1.2\"/><text x=\"%.1f\" y=\"%.1f\" "
                "text-anchor=\"end\" fill=\"%s\" font-size=\"10\">", c->x0, py, c->x1, py,
                THRESHOLD_COLOR, c->x1 - 4, i == 0 ? py - 4 : py + 12, THRESHOLD_COLOR);
        fputs(lines[i].what, c->out);
        char buf[32];
        fputs(report_num(lines[i].v, buf, sizeof buf), c->out);
        fputs("</text>\n", c->out);
    }
}

static const char RATIO_NOTE[] =
    "ratio = act_grad_norm / the last layer's act_grad_norm = ‖∂L/∂h‖ / ‖∂L/∂h_out‖";

/* The axes of a chart against depth, layers 1..L on x, *ay's range and
 * scale set by the caller; ylabel and note (under the chart) name what y
 * is. */
static void depth_axes(Chart *c, int L, const char *const *names, Axis *ax, Axis *ay,
                       const char *ylabel, const char *note)
{
    FILE *out = c->out;
    double pad = (c->x1 - c->x0) / (2.0 * L);
    *ax = (Axis){.r = {1, L > 1 ? L : 2}, .p0 = c->x0 + pad, .p1 = c->x1 - pad};
    if (L == 1)
        ax->p1 = c->x1 + (c->x1 - c->x0);  /* one layer: centred */
    ay->p0 = c->y1;
    ay->p1 = c->y0;
    axis(out, ay, false, c->x0, c->y0, c->x1, c->y1);
    int every = label_every(L, (c->x1 - c->x0) / L, 40);
    for (int l = 0; l < L; l += every) {
        double px = map(ax, l + 1);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", px, c->y1, px, c->y1 + 4,
                px, c->y1 + 15);
        esc(out, names[l]);
        fputs("</text>\n", out);
    }
    axis_label(out, false, (c->x0 + c->x1) / 2, c->y1 + 31, "layer (input → output)");
    axis_label(out, true, 14, (c->y0 + c->y1) / 2, ylabel);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#666\" font-size=\"10\">%s</text>\n",
            c->x0, (double)c->h - 7, note);
}

/* A series of one metric of every layer at the first report (pale when
 * there are two) and the last. */
typedef struct EndSeries {
    MetricId id;
    const char *label;  /* before "step N" in the legend */
    bool dashed;
} EndSeries;

/* Each series of what[0..n) at the first report, then each at the last. */
static void add_ends(Chart *c, const ReportRun *r, const Scales *s, const EndSeries *what, int n,
                     const char *const *names)
{
    const Report *ends[2] = {first_report(r), last_report(r)};
    int nends = ends[1] == ends[0] ? 1 : 2;
    for (int e = 0; e < nends; e++)
        for (int k = 0; k < n; k++) {
            add_layers(c, r, ends[e], what[k].id, run_color(s, r, e == 0 && nends == 2),
                       what[k].dashed, names);
            snprintf(c->s[c->n - 1].name, sizeof c->s[0].name, "%sstep %ld", what[k].label,
                     ends[e]->step);
        }
}

static void depth_chart(FILE *out, const ReportRun *r, const Scales *s)
{
    const char **names = layer_names(r);
    static const EndSeries what[] = {{M_RATIO, "measured, ", false},
                                     {M_PREDICTED, "predicted, ", true}};
    Chart c = {.out = out};
    add_ends(&c, r, s, what, 2, names);
    chart_begin(&c, CHART_W, CHART_H, NULL, "gradient ratio against depth", r->name, 58, 56);
    Axis ax, ay = {.r = s->ratio, .log = true};
    depth_axes(&c, r->nlayers, names, &ax, &ay, "ratio (log scale)", RATIO_NOTE);
    thresholds(&c, &ay, r);
    chart_end(&c, &ax, &ay);
    free(names);
}

/* Each attention layer's attention_entropy at the first report (pale) and
 * the last: where attention collapses onto single keys (towards 0) or
 * spreads over all of them (ln T), layer by layer. */
static void entropy_chart(FILE *out, const ReportRun *r, const Scales *s)
{
    const char **names = layer_names(r);
    static const EndSeries what[] = {{M_ATTENTION_ENTROPY, "", false}};
    Chart c = {.out = out};
    add_ends(&c, r, s, what, 1, names);
    for (int k = 0; k < c.n; k++)
        c.s[k].markers_only = true;
    chart_begin(&c, CHART_W, CHART_H, NULL, "attention entropy against depth", r->name, 58, 56);
    Axis ax, ay = {.r = s->entropy};
    depth_axes(&c, r->nlayers, names, &ax, &ay, "attention_entropy (nats)",
               "mean −Σ p ln p over the queries: ln T when uniform over T keys, 0 on one key");
    chart_end(&c, &ax, &ay);
    free(names);
}

static bool has_attention(const ReportRun *r)
{
    return r->attention;
}

/* ---- every step: the training loss and the gradient norm ---- */

/* Pixel of v on a, a value beyond the axis at its edge (NaN as map). */
static double clamped(const Axis *a, double v)
{
    double p = map(a, v), lo = fmin(a->p0, a->p1), hi = fmax(a->p0, a->p1);
    return p < lo ? lo : p > hi ? hi : p;
}

/* Step-log entries y[0..n) (entry i is step first + i + 1) as a line: all
 * of them while there are fewer than two a pixel column, else each
 * column's minimum and maximum (in the order they came), so that a spike
 * stays visible and a million steps draw as about 2 × the plot's width
 * points. Entries that cannot be drawn (not finite, ≤ 0 on a log axis)
 * break the line. */
static void step_line(FILE *out, const float *y, long n, long first, const Axis *ax,
                      const Axis *ay, const char *color, const char *what)
{
    bool decimate = n > 2 * (long)fabs(ax->p1 - ax->p0);
    bool open = false;
    long i = 0;
    while (i < n) {
        /* the entries [i, j) of one pixel column (one entry without decimation) */
        double px = map(ax, (double)(first + i + 1));
        long col = (long)floor(px), j = i + 1;
        while (decimate && j < n && (long)floor(map(ax, (double)(first + j + 1))) == col)
            j++;
        long imin = -1, imax = -1;
        for (long k = i; k < j; k++) {
            double v = clamped(ay, y[k]);
            if (!isfinite(v))
                continue;
            if (imin < 0 || v > clamped(ay, y[imin]))  /* pixels grow downwards */
                imin = k;
            if (imax < 0 || v < clamped(ay, y[imax]))
                imax = k;
        }
        if (imin < 0) {
            if (open)
                fprintf(out, "\"><title>%s</title></polyline>\n", what);
            open = false;
        } else {
            if (!open)
                fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\" "
                        "stroke-linejoin=\"round\" points=\"", color);
            open = true;
            double x = decimate ? col + 0.5 : px;
            long a = imin < imax ? imin : imax, b = imin < imax ? imax : imin;
            fprintf(out, "%.1f,%.1f ", x, clamped(ay, y[a]));
            if (b != a)
                fprintf(out, "%.1f,%.1f ", x, clamped(ay, y[b]));
        }
        i = j;
    }
    if (open)
        fprintf(out, "\"><title>%s</title></polyline>\n", what);
}

/* A vertical mark at the step where a run diverged. */
static void diverged_mark(FILE *out, const ReportRun *r, const Axis *ax, const Chart *c)
{
    if (!r->diverged)
        return;
    double px = map(ax, (double)r->diverged_at);
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
            "stroke-dasharray=\"3 3\"/><text x=\"%.1f\" y=\"%.1f\" fill=\"%s\">diverged at "
            "step %ld</text>\n", px, c->y0, px, c->y1, INF_COLOR, px + 4, c->y0 + 12, INF_COLOR,
            r->diverged_at);
}

/* The training batch's loss at every step (a line) and the probe batch's
 * at each report (dots). */
static void loss_chart(FILE *out, const ReportRun *r, const Scales *s)
{
    Chart c = {.out = out};
    Series *sl = add_series(&c, r->nreports, "#222", false);
    sl->x = xcalloc((size_t)r->nreports + 1, sizeof(double));
    for (int k = 0; k < r->nreports; k++) {
        sl->x[k] = (double)r->reports[k].step;
        sl->y[k] = r->reports[k].loss;
    }
    snprintf(sl->name, sizeof sl->name, "probe batch, at each report");
    sl->xunit = "step";
    sl->markers_only = true;
    /* no points: the legend's entry for the line step_line draws */
    Series *st = add_series(&c, 0, run_color(s, r, false), false);
    snprintf(st->name, sizeof st->name, "training batch, every step");
    chart_begin(&c, CHART_W, CHART_H, NULL, "loss at every training step", r->name, 58, 44);
    Axis ax = {.r = {0, s->steps}, .p0 = c.x0, .p1 = c.x1};
    Axis ay = {.r = s->loss, .p0 = c.y1, .p1 = c.y0};
    axis(out, &ax, true, c.x0, c.y0, c.x1, c.y1);
    axis(out, &ay, false, c.x0, c.y0, c.x1, c.y1);
    char what[160];
    snprintf(what, sizeof what, "training batch loss, %ld steps", r->log.n);
    step_line(out, r->log.loss, r->log.n, r->log.first, &ax, &ay, run_color(s, r, false), what);
    diverged_mark(out, r, &ax, &c);
    axis_label(out, false, (c.x0 + c.x1) / 2, CHART_H - 10, "training step");
    axis_label(out, true, 14, (c.y0 + c.y1) / 2, "loss");
    chart_end(&c, &ax, &ay);
}

/* The global gradient norm of every step, before clipping, on a log axis;
 * ticks under the plot mark the steps that were clipped. */
static void norm_chart(FILE *out, const ReportRun *r, const Scales *s)
{
    Chart c = {.out = out};
    chart_begin(&c, CHART_W, CHART_H, NULL, "global gradient norm at every step", r->name, 58, 44);
    Axis ax = {.r = {0, s->steps}, .p0 = c.x0, .p1 = c.x1};
    Axis ay = {.r = s->norm, .log = true, .p0 = c.y1, .p1 = c.y0};
    axis(out, &ax, true, c.x0, c.y0, c.x1, c.y1);
    axis(out, &ay, false, c.x0, c.y0, c.x1, c.y1);
    char what[160];
    snprintf(what, sizeof what, "global gradient norm before clipping, %ld steps", r->log.n);
    step_line(out, r->log.norm, r->log.n, r->log.first, &ax, &ay, run_color(s, r, false), what);
    long clipped = 0;
    double last = -1;
    for (long i = 0; i < r->log.n; i++) {
        if (!r->log.clipped[i])
            continue;
        clipped++;
        double px = floor(map(&ax, (double)(r->log.first + i + 1))) + 0.5;
        if (px == last)
            continue;  /* one tick a pixel column */
        last = px;
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>",
                px, c.y1 - 6, px, c.y1, INF_COLOR);
    }
    if (clipped)
        fprintf(out, "\n<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\">red ticks: the %ld clipped "
                "step%s</text>\n", c.x0 + 4, c.y0 + 12, INF_COLOR, clipped,
                clipped == 1 ? "" : "s");
    diverged_mark(out, r, &ax, &c);
    axis_label(out, false, (c.x0 + c.x1) / 2, CHART_H - 10, "training step");
    axis_label(out, true, 14, (c.y0 + c.y1) / 2, "‖∂L/∂θ‖ before clipping (log scale)");
    chart_end(&c, &ax, &ay);
}

/* ---- BPTT ---- */

static bool recurrent(const ReportRun *r)
{
    const Report *rep = first_report(r);
    for (int l = 0; rep && l < r->nlayers; l++)
        if (rep->layers[l].bptt)
            return true;
    return false;
}

static void bptt_chart(FILE *out, const ReportRun *r, const Scales *s)
{
    const Report *ends[2] = {first_report(r), last_report(r)};
    Chart c = {.out = out};
    for (int l = 0, nth = 0; l < r->nlayers && c.n + 2 <= 2 * NCOLORS; l++) {
        if (!ends[0]->layers[l].bptt)
            continue;
        for (int e = 0; e < 2; e++) {
            if (e == 1 && ends[1] == ends[0])
                break;
            const LayerMetrics *m = &ends[e]->layers[l];
            /* pale: the first report; a second recurrent layer dashed */
            Series *sb = add_series(&c, m->bptt_len, run_color(s, r, e == 0 && ends[1] != ends[0]),
                                    nth > 0);
            for (int t = 0; t < m->bptt_len; t++)
                sb->y[t] = m->bptt[t];
            snprintf(sb->name, sizeof sb->name, "%s, step %ld", r->layers[l],
                     ends[e]->step);
            sb->xunit = "t";
        }
        nth++;
    }
    chart_begin(&c, CHART_W, CHART_H, NULL, "BPTT: gradient norm at each time step", r->name, 58,
                44);
    Axis ax = {.r = {1, s->max_time > 1 ? s->max_time : 2}, .p0 = c.x0, .p1 = c.x1};
    Axis ay = {.r = s->bptt, .log = true, .p0 = c.y1, .p1 = c.y0};
    axis(out, &ax, true, c.x0, c.y0, c.x1, c.y1);
    axis(out, &ay, false, c.x0, c.y0, c.x1, c.y1);
    axis_label(out, false, (c.x0 + c.x1) / 2, CHART_H - 10,
               "time step t (pale: the first report; full colour: the last)");
    axis_label(out, true, 14, (c.y0 + c.y1) / 2, "‖∂L/∂h_t‖ (log scale)");
    chart_end(&c, &ax, &ay);
}

/* Time step × report step for each recurrent layer: the colour is log₁₀
 * ‖∂L/∂h_t‖, time step 1 at the top, one column per report — where, over
 * training, the gradient still reaches the early time steps. */
static void bptt_heatmap(FILE *out, const ReportRun *r, const Scales *s)
{
    for (int l = 0; l < r->nlayers; l++) {
        if (!first_report(r)->layers[l].bptt)
            continue;
        int T = s->max_time, K = r->nreports;
        double x0 = 62, x1 = CHART_W - 72, y0 = 30, y1 = CHART_H - 44;
        double cw = (x1 - x0) / (K ? K : 1), ch = (y1 - y0) / (T ? T : 1);
        svg_open(out, CHART_W, CHART_H, NULL);
        char what[160];
        snprintf(what, sizeof what, "BPTT: log₁₀ ‖∂L/∂h_t‖ of %s by time step and report",
                 r->layers[l]);
        title(out, 10, what, r->name);
        for (int k = 0; k < K; k++) {
            const LayerMetrics *m = &r->reports[k].layers[l];
            for (int t = 0; m->bptt && t < m->bptt_len; t++) {
                char rgb[8];
                cell_color(m->bptt[t], s->bptt, rgb);
                fprintf(out, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                        "fill=\"%s\"><title>t %d, step %ld: ", x0 + k * cw, y0 + t * ch, cw + 0.4,
                        ch + 0.4, rgb, t + 1, r->reports[k].step);
                num(out, m->bptt[t]);
                fputs("</title></rect>\n", out);
            }
        }
        fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                "stroke=\"#999\"/>\n", x0, y0, x1 - x0, y1 - y0);
        int every = label_every(T, ch, 14);
        for (int t = 0; t < T; t += every)
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%d</text>\n", x0 - 5,
                    y0 + (t + 0.5) * ch + 4, t + 1);
        every = label_every(K, cw, 34);
        for (int k = 0; k < K; k += every)
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%ld</text>\n",
                    x0 + (k + 0.5) * cw, y1 + 14, r->reports[k].step);
        axis_label(out, false, (x0 + x1) / 2, CHART_H - 10, "report step (training steps done)");
        axis_label(out, true, 12, (y0 + y1) / 2, "time step t (first at top)");
        scale_legend(out, s->bptt, x1 + 10, y0, y1);
        fputs("</svg>\n", out);
    }
}

/* ---- the overview: every run's ratio against depth in one chart ---- */

static void overview(FILE *out, const ReportData *d, const Scales *s)
{
    const ReportRun *deepest = NULL;
    for (int i = 0; i < d->nruns; i++) {
        const ReportRun *r = &d->runs[i];
        if (r->nreports && (!deepest || r->nlayers > deepest->nlayers))
            deepest = r;
    }
    if (!deepest)
        return;
    const char **names[NCOLORS] = {0};
    Chart c = {.out = out};
    for (int i = 0, color = 0; i < d->nruns && color < NCOLORS; i++) {
        const ReportRun *r = &d->runs[i];
        if (!r->nreports)
            continue;
        const Report *ends[2] = {first_report(r), last_report(r)};
        names[color] = layer_names(r);
        for (int e = 0; e < 2; e++) {
            if (e == 1 && ends[1] == ends[0])
                break;
            add_layers(&c, r, ends[e], M_RATIO, run_color(s, r, e == 0 && ends[1] != ends[0]),
                       false, names[color]);
            snprintf(c.s[c.n - 1].name, sizeof c.s[0].name, "%s, step %ld", r->name,
                     ends[e]->step);
        }
        color++;
    }
    chart_begin(&c, OVERVIEW_W, OVERVIEW_H, "overview", "Gradient ratio against depth, every run",
                NULL, 58, 56);
    Axis ax, ay = {.r = s->ratio, .log = true};
    const char **deep_names = layer_names(deepest);
    depth_axes(&c, deepest->nlayers, deep_names, &ax, &ay, "ratio (log scale)", RATIO_NOTE);
    thresholds(&c, &ay, deepest);
    chart_end(&c, &ax, &ay);
    free(deep_names);
    for (int i = 0; i < NCOLORS; i++)
        free(names[i]);
}

/* ---- run families: a metric against each axis, and over two axes ---- */

enum { FAMILY_MAX_AXES = 16, FIG_W = 420, FIG_H = 270 };

/* A family's trained members as its figures see them: each member's
 * position on each axis, and the axes' values in axis order. */
typedef struct Family {
    const char *name;
    int naxes, n;                            /* axes; members with reports */
    const char *vars[FAMILY_MAX_AXES];
    int nvals[FAMILY_MAX_AXES];              /* distinct values of each axis */
    const char **texts[FAMILY_MAX_AXES];     /* their texts, in axis order */
    double *nums[FAMILY_MAX_AXES];           /* as numbers; NaN: not a number */
    bool numeric[FAMILY_MAX_AXES];
    bool seeds[FAMILY_MAX_AXES];             /* the axis sets the seed: replicates */
    int *pos;                                /* member i, axis k: pos[i * naxes + k] */
    const ReportRun **runs;
    const char *layer;                       /* the first layer, whose ratio is shown */
} Family;

/* The two metrics of a family's figures: how well each member trained, and
 * how much gradient reached its first layer at initialisation (beside
 * which the ratio charts draw what mean-field theory predicted). */
enum { FIG_LOSS, FIG_RATIO, FIG_METRICS, FIG_PREDICTED = FIG_METRICS };

static double fig_metric(const Family *f, int i, int which)
{
    const ReportRun *r = f->runs[i];
    if (which == FIG_LOSS)
        return last_report(r)->loss;
    for (int l = 0; l < r->nlayers; l++)
        if (strcmp(r->layers[l], f->layer) == 0) {
            const LayerMetrics *m = &first_report(r)->layers[l];
            return which == FIG_RATIO ? m->ratio : m->predicted;
        }
    return NAN;
}

static void fig_metric_name(const Family *f, int which, char *buf, size_t n)
{
    if (which == FIG_LOSS)
        snprintf(buf, n, "loss at the end");
    else
        snprintf(buf, n, "ratio of %s at step 0", f->layer);
}

static int family_value(Family *f, int k, const char *text)
{
    for (int v = 0; v < f->nvals[k]; v++)
        if (strcmp(f->texts[k][v], text) == 0)
            return v;
    f->texts[k][f->nvals[k]] = text;
    char *end;
    double x = strtod(text, &end);
    f->nums[k][f->nvals[k]] = *end || end == text ? NAN : x;
    f->numeric[k] &= *end == '\0' && end != text;
    return f->nvals[k]++;
}

/* The trained members of the family whose first member is runs[*i], which
 * moves past the family's runs. false: no figures (fewer than two). */
static bool family_of(const ReportData *d, int *i, Family *f)
{
    const ReportRun *first = &d->runs[*i];
    int end = *i;
    while (end < d->nruns && d->runs[end].family &&
           strcmp(d->runs[end].family, first->family) == 0 && d->runs[end].naxes == first->naxes)
        end++;
    *f = (Family){.name = first->family, .naxes = first->naxes};
    f->runs = xmalloc(sizeof *f->runs * (size_t)(end - *i));
    f->pos = xmalloc(sizeof *f->pos * (size_t)(end - *i) * (size_t)first->naxes);
    for (int k = 0; k < f->naxes; k++) {
        f->vars[k] = first->axis_vars[k];
        f->seeds[k] = first->seed_axes[k];
        f->texts[k] = xmalloc(sizeof *f->texts[k] * (size_t)(end - *i));
        f->nums[k] = xmalloc(sizeof *f->nums[k] * (size_t)(end - *i));
        f->numeric[k] = true;
    }
    for (; *i < end; (*i)++) {
        const ReportRun *r = &d->runs[*i];
        if (r->nreports == 0)
            continue;
        if (!f->layer)
            f->layer = r->layers[0];
        for (int k = 0; k < f->naxes; k++)
            f->pos[f->n * f->naxes + k] = family_value(f, k, r->axis_texts[k]);
        f->runs[f->n++] = r;
    }
    return f->n >= 2;
}

static void family_free(Family *f)
{
    for (int k = 0; k < f->naxes; k++) {
        free(f->texts[k]);
        free(f->nums[k]);
    }
    free(f->pos);
    free(f->runs);
}

/* The median, min and max of the metric over the members whose axis
 * values match want (-1: any); NaN when none has a value that can be drawn
 * (a ratio ≤ 0 cannot on its log scale). Returns how many had one. */
static int fig_stats(const Family *f, const int *want, int which, double *med, double *lo,
                     double *hi)
{
    double *xs = xmalloc(sizeof *xs * (size_t)f->n);
    int n = 0;
    for (int i = 0; i < f->n; i++) {
        bool match = true;
        for (int k = 0; k < f->naxes && match; k++)
            match = want[k] < 0 || f->pos[i * f->naxes + k] == want[k];
        double y = match ? fig_metric(f, i, which) : NAN;
        if (isfinite(y) && (which == FIG_LOSS || y > 0))
            xs[n++] = y;
    }
    *med = *lo = *hi = NAN;
    if (n) {
        *med = elab_median(xs, n);
        *lo = xs[0];
        *hi = xs[n - 1];
    }
    free(xs);
    return n;
}

/* The y axis of a metric over its values: whole decades for the ratio, a
 * linear span from 0 (or below) for the loss. */
static Axis fig_value_axis(int which, Range r, double p0, double p1)
{
    if (which == FIG_RATIO)
        return (Axis){.r = decades(r), .log = true, .p0 = p0, .p1 = p1};
    if (r.lo > r.hi)
        r = (Range){0, 1};
    r.lo = fmin(r.lo, 0);
    r.hi = r.hi > r.lo ? r.hi + 0.05 * (r.hi - r.lo) : r.lo + 1;
    return (Axis){.r = r, .p0 = p0, .p1 = p1};
}

static void fig_widen(Range *r, int which, double v)
{
    if (which != FIG_LOSS)
        widen_log(r, v);
    else
        widen(r, v);
}

/* A metric along axis k: per value, the median, min and max over the
 * other axes, and how many runs had one. */
typedef struct AxisStats {
    double *med, *lo, *hi;
    int *cnt;
} AxisStats;

static AxisStats axis_stats(const Family *f, int k, int which, Range *yr)
{
    int V = f->nvals[k], want[FAMILY_MAX_AXES];
    AxisStats st = {.med = xmalloc(sizeof(double) * (size_t)V * 3),
                    .cnt = xmalloc(sizeof(int) * (size_t)V)};
    st.lo = st.med + V;
    st.hi = st.lo + V;
    for (int v = 0; v < V; v++) {
        for (int j = 0; j < f->naxes; j++)
            want[j] = j == k ? v : -1;
        st.cnt[v] = fig_stats(f, want, which, &st.med[v], &st.lo[v], &st.hi[v]);
        fig_widen(yr, which, st.lo[v]);
        fig_widen(yr, which, st.hi[v]);
    }
    return st;
}

/* The medians as a line with a marker and a tooltip at each value. */
static void median_line(FILE *out, const Family *f, int k, const AxisStats *st,
                        const double *px, const Axis *ay, const char *color, const char *what)
{
    bool dashed = what != NULL;
    fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s points=\"",
            color, dashed ? " stroke-dasharray=\"5 3\"" : "");
    for (int v = 0; v < f->nvals[k]; v++)
        if (st->cnt[v])
            fprintf(out, "%.1f,%.1f ", px[v], map(ay, st->med[v]));
    fputs("\"/>\n", out);
    for (int v = 0; v < f->nvals[k]; v++) {
        if (!st->cnt[v])
            continue;
        fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\" fill=\"%s\" stroke=\"%s\"><title>",
                px[v], map(ay, st->med[v]), dashed ? "#fff" : color, color);
        if (what)
            fprintf(out, "%s, ", what);
        esc(out, f->vars[k]);
        fputs(" = ", out);
        esc(out, f->texts[k][v]);
        fputs(": median ", out);
        num(out, st->med[v]);
        fputs(", min ", out);
        num(out, st->lo[v]);
        fputs(", max ", out);
        num(out, st->hi[v]);
        fprintf(out, " over %d run%s</title></circle>\n", st->cnt[v], st->cnt[v] == 1 ? "" : "s");
    }
}

static void axis_stats_free(AxisStats *st)
{
    free(st->med);
    free(st->cnt);
}

/* The metric against axis k: the median over the other axes as a line,
 * their min to max as a band; for the ratio, the median of `predicted`
 * dashed beside it. A numeric axis is drawn to scale (log when its values
 * are positive and span 16× or more), any other one as categories in axis
 * order. */
static void axis_figure(FILE *out, const Family *f, int k, int which)
{
    int V = f->nvals[k];
    Range yr = EMPTY, xr = EMPTY;
    AxisStats st = axis_stats(f, k, which, &yr), pred = {0};
    if (which == FIG_RATIO)
        pred = axis_stats(f, k, FIG_PREDICTED, &yr);
    bool logx = f->numeric[k];
    for (int v = 0; v < V; v++) {
        widen(&xr, f->nums[k][v]);
        logx &= f->nums[k][v] > 0;
    }
    logx &= xr.hi >= 16 * xr.lo;
    char what[128], ytitle[96];
    fig_metric_name(f, which, ytitle, sizeof ytitle);
    snprintf(what, sizeof what, "%s against %s", ytitle, f->vars[k]);
    double x0 = 58, x1 = FIG_W - 16, y0 = 30, y1 = FIG_H - 44;
    Axis ay = fig_value_axis(which, yr, y1, y0);
    Axis ax = {.r = {0.5, V + 0.5}, .p0 = x0, .p1 = x1};
    if (f->numeric[k]) {
        Range r = logx ? (Range){log10(xr.lo), log10(xr.hi)} : xr;
        double pad = r.hi > r.lo ? 0.05 * (r.hi - r.lo) : 0.5;
        ax = (Axis){.r = {r.lo - pad, r.hi + pad}, .log = logx, .p0 = x0, .p1 = x1};
    }
    svg_open(out, FIG_W, FIG_H, NULL);
    title(out, 10, what, f->name);
    axis(out, &ay, false, x0, y0, x1, y1);
    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#999\"/>\n", x0, y0, x1 - x0, y1 - y0);
    double *px = xmalloc(sizeof *px * (size_t)V);
    for (int v = 0; v < V; v++)
        px[v] = map(&ax, f->numeric[k] ? f->nums[k][v] : v + 1);
    int every = label_every(V, (x1 - x0) / V, 30);
    for (int v = 0; v < V; v += every) {
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", px[v], y1 + 14);
        esc(out, f->texts[k][v]);
        fputs("</text>\n", out);
    }
    fprintf(out, "<polygon fill=\"%s\" fill-opacity=\"0.18\" stroke=\"none\" points=\"",
            series_colors[0]);
    for (int v = 0; v < V; v++)
        if (st.cnt[v])
            fprintf(out, "%.1f,%.1f ", px[v], map(&ay, st.hi[v]));
    for (int v = V - 1; v >= 0; v--)
        if (st.cnt[v])
            fprintf(out, "%.1f,%.1f ", px[v], map(&ay, st.lo[v]));
    fputs("\"/>\n", out);
    median_line(out, f, k, &st, px, &ay, series_colors[0], NULL);
    if (which == FIG_RATIO) {
        median_line(out, f, k, &pred, px, &ay, series_colors[1], "predicted");
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"1.8\" stroke-dasharray=\"5 3\"/><text x=\"%.1f\" y=\"%.1f\" "
                "text-anchor=\"end\">predicted</text>\n", x1 - 24, y0 + 12.0, x1 - 4, y0 + 12.0,
                series_colors[1], x1 - 28, y0 + 16.0);
        axis_stats_free(&pred);
    }
    axis_label(out, false, (x0 + x1) / 2, FIG_H - 10, f->vars[k]);
    axis_label(out, true, 14, (y0 + y1) / 2, ytitle);
    fputs("</svg>\n", out);
    free(px);
    axis_stats_free(&st);
}

/* The metric over two numeric axes a (up) and b (across), each cell the
 * median over the other axes: the phase diagram of Schoenholz et al. 2017,
 * Fig. 1. The ratio's colours are on a log scale. */
static void pair_figure(FILE *out, const Family *f, int a, int b, int which)
{
    int A = f->nvals[a], B = f->nvals[b];
    double *cell = xmalloc(sizeof *cell * (size_t)A * (size_t)B);
    int *cnt = xmalloc(sizeof *cnt * (size_t)A * (size_t)B);
    int want[FAMILY_MAX_AXES];
    Range r = EMPTY;
    for (int i = 0; i < A; i++)
        for (int j = 0; j < B; j++) {
            for (int k = 0; k < f->naxes; k++)
                want[k] = k == a ? i : k == b ? j : -1;
            double lo, hi;
            cnt[i * B + j] = fig_stats(f, want, which, &cell[i * B + j], &lo, &hi);
            fig_widen(&r, which, cell[i * B + j]);
        }
    if (which == FIG_RATIO)
        r = decades(r);
    else if (!(r.hi > r.lo))
        r = r.lo > r.hi ? (Range){0, 1} : (Range){r.lo - 0.5, r.hi + 0.5};
    char what[160], name[96];
    fig_metric_name(f, which, name, sizeof name);
    snprintf(what, sizeof what, "%s over %s and %s", name, f->vars[a], f->vars[b]);
    double x0 = 58, x1 = FIG_W - 72, y0 = 30, y1 = FIG_H - 44;
    double cw = (x1 - x0) / B, ch = (y1 - y0) / A;
    svg_open(out, FIG_W, FIG_H, NULL);
    title(out, 10, what, f->name);
    for (int i = 0; i < A; i++)
        for (int j = 0; j < B; j++) {
            double v = cell[i * B + j];
            char rgb[8];
            if (isnan(v))
                snprintf(rgb, sizeof rgb, "%s", ABSENT_COLOR);
            else
                viridis(((which == FIG_RATIO ? log10(v) : v) - r.lo) / (r.hi - r.lo), rgb);
            fprintf(out, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\">"
                    "<title>", x0 + j * cw, y1 - (i + 1) * ch, cw + 0.4, ch + 0.4, rgb);
            fprintf(out, "%s = ", f->vars[a]);
            esc(out, f->texts[a][i]);
            fprintf(out, ", %s = ", f->vars[b]);
            esc(out, f->texts[b][j]);
            fputs(": median ", out);
            num(out, v);
            fprintf(out, " over %d run%s</title></rect>\n", cnt[i * B + j],
                    cnt[i * B + j] == 1 ? "" : "s");
        }
    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#999\"/>\n", x0, y0, x1 - x0, y1 - y0);
    int every = label_every(A, ch, 12);
    for (int i = 0; i < A; i += every) {
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", x0 - 5,
                y1 - (i + 0.5) * ch + 4);
        esc(out, f->texts[a][i]);
        fputs("</text>\n", out);
    }
    every = label_every(B, cw, 30);
    for (int j = 0; j < B; j += every) {
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x0 + (j + 0.5) * cw,
                y1 + 14);
        esc(out, f->texts[b][j]);
        fputs("</text>\n", out);
    }
    axis_label(out, false, (x0 + x1) / 2, FIG_H - 10, f->vars[b]);
    axis_label(out, true, 14, (y0 + y1) / 2, f->vars[a]);
    /* the colour legend: a bar with the value axis beside it */
    double lx = x1 + 10;
    color_bar(out, lx, y0, y1);
    Axis legend_axis = {.r = r, .log = which == FIG_RATIO, .p0 = y1, .p1 = y0};
    double span = r.hi - r.lo, step = which == FIG_RATIO ? ceil(span / 8) : nice_step(span, 4);
    for (double v = ceil(r.lo / step - 1e-9) * step; v <= r.hi + 1e-9 * step; v += step) {
        double p = legend_axis.p0 + (v - r.lo) / span * (legend_axis.p1 - legend_axis.p0);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#222\"/>"
                "<text x=\"%.1f\" y=\"%.1f\">", lx + 12, p, lx + 15, p, lx + 17, p + 4);
        tick_label(out, &legend_axis, v);
        fputs("</text>\n", out);
    }
    fputs("</svg>\n", out);
    free(cnt);
    free(cell);
}

/* Every run family's figures: for each metric, one chart against each
 * axis with two values or more, and a heatmap over each pair of numeric
 * axes. An axis that sets the seed (`{ seed = s }`) holds replicates: the
 * figures summarise over it instead of drawing against it. */
static void families(FILE *out, const ReportData *d)
{
    bool any = false;
    for (int i = 0; i < d->nruns;) {
        const ReportRun *r = &d->runs[i];
        if (!r->family || r->naxes == 0) {
            i++;
            continue;
        }
        Family f;
        if (!family_of(d, &i, &f)) {
            family_free(&f);
            continue;
        }
        if (!any)
            fputs("<section class=\"families\"><h2>Run families</h2>\n<p class=\"meta\">Lines: "
                  "the median over the family's other axes; bands: their min to max. Heatmaps: "
                  "the median over the other axes.</p>\n", out);
        any = true;
        fputs("<h3>", out);
        esc(out, f.name);
        fputs("[", out);
        for (int k = 0; k < f.naxes; k++) {
            fputs(k ? ", " : "", out);
            esc(out, f.vars[k]);
        }
        fprintf(out, "]: %d members</h3>\n<div class=\"figs\">\n", f.n);
        /* a family over seeds alone is drawn against its seeds: the spread */
        bool only_seeds = true;
        for (int k = 0; k < f.naxes; k++)
            only_seeds &= f.seeds[k];
        for (int m = 0; m < FIG_METRICS; m++) {
            for (int k = 0; k < f.naxes; k++)
                if (f.nvals[k] >= 2 && (!f.seeds[k] || only_seeds))
                    axis_figure(out, &f, k, m);
            for (int a = 0; a < f.naxes; a++)
                for (int b = a + 1; b < f.naxes; b++)
                    if (f.numeric[a] && f.numeric[b] && f.nvals[a] >= 2 && f.nvals[b] >= 2 &&
                        !f.seeds[a] && !f.seeds[b])
                        pair_figure(out, &f, a, b, m);
        }
        fputs("</div>\n", out);
        family_free(&f);
    }
    if (any)
        fputs("</section>\n", out);
}

/* ---- HTML ---- */

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;"
    "margin:24px;background:#fafafa}\n"
    "h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:0 0 4px}\n"
    ".meta{color:#555;margin:0 0 16px;font-size:13px}\n"
    "section,.cell{background:#fff;border:1px solid #e2e2e2;border-radius:6px;padding:12px}\n"
    "section{margin:0 0 16px}\n"
    "svg{display:block;width:100%;height:auto}\n"
    ".overview svg{max-width:900px}\n"
    ".row{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:12px;"
    "margin:0 0 12px}\n"
    ".row>.cell{min-width:0}\n"
    ".run-head p{margin:2px 0;color:#555;font-size:13px}\n"
    ".none{color:#777;font-style:italic}\n"
    "table{border-collapse:collapse;font-size:12.5px;width:100%;table-layout:fixed}\n"
    "th,td{padding:1px 4px;text-align:right;overflow-wrap:anywhere}\n"
    "th:first-child{width:28%}\n"
    "th{border-bottom:1px solid #bbb;font-weight:600}td:first-child,th:first-child{text-align:left}\n"
    "tbody tr:nth-child(odd){background:#f5f5f5}\n"
    "td{font-variant-numeric:tabular-nums}\n"
    ".v-healthy{color:#1a7f37}.v-saturated,.v-dead{color:#9a6700}"
    ".v-vanishing,.v-exploding,.bad{color:#cf222e}\n"
    "ul.expects{list-style:none;padding:0;margin:0}ul.expects li{margin:3px 0}\n"
    ".badge{display:inline-block;min-width:44px;text-align:center;border-radius:3px;"
    "color:#fff;font-weight:600;font-size:12px;margin-right:6px}\n"
    ".PASS{background:#1a7f37}.FAIL,.ERROR{background:#cf222e}.SKIP{background:#9a6700}\n"
    "code{font-size:13px}.msg{color:#555}.msg.list{margin-left:4.5em;font-family:monospace}\n"
    "h3{font-size:14px;margin:12px 0 6px}\n"
    ".figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:12px}\n"
    ".figs svg{max-width:520px}\n";

static void run_head(FILE *out, const ReportRun *r, const Scales *s)
{
    fprintf(out, "<div class=\"cell run-head\" style=\"border-left:6px solid %s\"><h2>run ",
            run_color(s, r, false));
    esc(out, r->name);
    fputs("</h2><p><code>", out);
    esc(out, r->call);
    if (r->with) {
        fputs(" with ", out);
        esc(out, r->with);
    }
    fprintf(out, "</code></p><p>%ld of %ld steps · batch %ld · probe %d rows", r->steps,
            r->planned, r->batch, r->probe_rows);
    char buf[32];
    if (!isnan(r->baseline))
        fprintf(out, " · baseline loss %s", report_num(r->baseline, buf, sizeof buf));
    fprintf(out, " · seed %llu · %d report%s</p>", r->seed, r->nreports,
            r->nreports == 1 ? "" : "s");
    if (r->diverged)
        fprintf(out, "<p class=\"bad\">diverged at step %ld</p>", r->diverged_at);
    fputs("</div>\n", out);
}

/* The final report's table: a compact column set that fits its panel
 * (what the verdict reads: ratio, bptt_ratio for a recurrent run,
 * predicted, act_grad_norm; attention_entropy for a run with attention),
 * with every metric of a layer in its row's tooltip. */
static void final_table(FILE *out, const ReportRun *r)
{
    const Report *rep = last_report(r);
    fputs("<div class=\"cell\">", out);
    if (!rep) {
        fputs("<p class=\"none\">not trained</p></div>\n", out);
        return;
    }
    fprintf(out, "<h2>final report, step %ld</h2><p>", rep->step);
    for (int k = 0, shown = 0; k < RV_COUNT; k++) {
        double v = report_value(rep, (RunValueId)k);
        if (isnan(v))
            continue;
        fprintf(out, "%s%s ", shown++ ? " · " : "", report_value_names[k]);
        num(out, v);
    }
    MetricId cols[5];
    int ncols = 0;
    cols[ncols++] = M_RATIO;
    if (r->recurrent)
        cols[ncols++] = M_BPTT_RATIO;
    cols[ncols++] = M_PREDICTED;
    cols[ncols++] = M_ACT_GRAD_NORM;
    if (r->attention)
        cols[ncols++] = M_ATTENTION_ENTROPY;
    fputs("</p>\n<table class=\"final\"><thead><tr><th>layer</th>", out);
    for (int k = 0; k < ncols; k++)
        fprintf(out, "<th>%s</th>", metric_names[cols[k]]);
    fputs("<th>verdict</th></tr></thead><tbody>\n", out);
    for (int l = 0; l < r->nlayers; l++) {
        const LayerMetrics *m = &rep->layers[l];
        fputs("<tr title=\"", out);
        esc(out, r->layers[l]);
        for (int k = 0; k < M_COUNT; k++) {
            double v = metric_get(m, (MetricId)k);
            if (isnan(v))
                continue;
            fprintf(out, "&#10;%s ", metric_names[k]);
            num(out, v);
        }
        fputs("\"><td>", out);
        esc(out, r->layers[l]);
        fputs("</td>", out);
        for (int k = 0; k < ncols; k++) {
            fputs("<td>", out);
            num(out, metric_get(m, cols[k]));
            fputs("</td>", out);
        }
        fprintf(out, "<td class=\"v-%s\">%s</td></tr>\n", verdict_name(m->verdict),
                verdict_name(m->verdict));
    }
    fputs("</tbody></table><p class=\"meta\">Hover a row for every metric of the layer; the "
          "JSON Lines and CSV files hold them all.</p></div>\n", out);
}

static void side(FILE *out, const ReportSide *v)
{
    if (v->is_num)
        num(out, v->num);
    else
        esc(out, v->text);
}

static void expects(FILE *out, const ReportData *d)
{
    if (!d->has_expects)
        return;
    fputs("<section><h2>Expectations</h2>\n", out);
    if (!d->expects_checked) {
        fputs("<p class=\"none\">not checked: a run failed or was interrupted</p></section>\n",
              out);
        return;
    }
    fputs("<ul class=\"expects\">\n", out);
    for (int i = 0; i < d->nexpects; i++) {
        const ReportExpect *e = &d->expects[i];
        fputs("<li><span class=\"badge ", out);
        esc(out, e->outcome);
        fputs("\">", out);
        esc(out, e->outcome);
        fputs("</span><code>", out);
        esc(out, e->expr);
        fputs("</code>", out);
        if (e->op) {
            fputs(" <span class=\"msg\">[", out);
            side(out, &e->lhs);
            fputc(' ', out);
            esc(out, e->op);
            fputc(' ', out);
            side(out, &e->rhs);
            fputs("]</span>", out);
        }
        if (e->message) {
            fputs(" <span class=\"msg\">— ", out);
            esc(out, e->message);
            fputs("</span>", out);
        }
        for (int j = 0; j < e->nlists; j++) {
            char *line = NULL;
            size_t len = 0;
            FILE *m = open_memstream(&line, &len);
            if (!m)
                continue;
            fputs(e->lists[j].expr, m);
            report_print_list_values(m, &e->lists[j].s);
            fclose(m);
            fputs("<br/><span class=\"msg list\">", out);
            esc(out, line);
            fputs("</span>", out);
            free(line);
        }
        fputs("</li>\n", out);
    }
    fputs("</ul></section>\n", out);
}

static void head(FILE *out, const ReportData *d)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
          "<title>vg: gradient flow of ", out);
    esc(out, d->file);
    fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>Gradient flow of ", css);
    esc(out, d->file);
    fputs("</h1>\n<p class=\"meta\">vg ", out);
    esc(out, d->vg);
    fputs(" · sha256 <code>", out);
    fwrite(d->sha256, 1, strnlen(d->sha256, 16), out);
    fputs("…</code> · ", out);
    esc(out, d->blas);
    fputs("</p>\n", out);
}

/* One row of the runs' grid: the same chart of every run, side by side
 * (wrapping onto more lines when the page is narrow). */
static void chart_row(FILE *out, const ReportData *d, const Scales *s,
                      void (*chart)(FILE *, const ReportRun *, const Scales *),
                      bool (*applies)(const ReportRun *), const char *otherwise)
{
    fputs("<div class=\"row\">\n", out);
    for (int i = 0; i < d->nruns; i++) {
        const ReportRun *r = &d->runs[i];
        fputs("<div class=\"cell\">\n", out);
        if (!r->nreports) {
            fputs("<p class=\"none\">not trained</p>", out);
        } else if (applies && !applies(r)) {
            fprintf(out, "<p class=\"none\">%s: ", otherwise);
            esc(out, r->name);
            fputs("</p>", out);
        } else {
            chart(out, r, s);
        }
        fputs("</div>\n", out);
    }
    fputs("</div>\n", out);
}

/* The overview of ratio against depth says something with three layers or
 * more; a recurrent model's story is in its BPTT heatmaps. */
static bool deep_enough(const ReportData *d)
{
    for (int i = 0; i < d->nruns; i++)
        if (d->runs[i].nreports && d->runs[i].nlayers >= 3)
            return true;
    return false;
}

void report_write_html(FILE *out, const ReportData *d)
{
    Scales s;
    scales(d, &s);
    head(out, d);
    if (deep_enough(d)) {
        fputs("<section class=\"overview\">\n", out);
        overview(out, d, &s);
        fputs("<p class=\"meta\">One colour per run, as everywhere on the page; pale: the first "
              "report, full colour: the last. A line that falls toward the input (left) is a "
              "gradient that vanishes with depth; below the dashed line the verdict is "
              "vanishing.</p></section>\n", out);
    }
    expects(out, d);
    families(out, d);
    fputs("<div class=\"runs\">\n<div class=\"row\">\n", out);
    for (int i = 0; i < d->nruns; i++)
        run_head(out, &d->runs[i], &s);
    fputs("</div>\n", out);
    if (s.has_bptt)
        chart_row(out, d, &s, bptt_heatmap, recurrent, "no recurrent layer");
    chart_row(out, d, &s, heatmap, NULL, NULL);
    chart_row(out, d, &s, depth_chart, NULL, NULL);
    chart_row(out, d, &s, loss_chart, NULL, NULL);
    chart_row(out, d, &s, norm_chart, NULL, NULL);
    if (s.has_bptt)
        chart_row(out, d, &s, bptt_chart, recurrent, "no recurrent layer");
    if (s.has_attention)
        chart_row(out, d, &s, entropy_chart, has_attention, "no attention layer");
    fputs("<div class=\"row\">\n", out);
    for (int i = 0; i < d->nruns; i++)
        final_table(out, &d->runs[i]);
    fputs("</div>\n</div>\n</body>\n</html>\n", out);
}
