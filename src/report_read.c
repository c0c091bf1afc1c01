/* report_read.c — JSON Lines report files read back (`vg report`).
 *
 * A file of schema version 4 (docs/report.md), 3 (no attention_entropy),
 * 2 (no baseline either) or 1 (no steps lines either; the header says
 * format_version) becomes ReportData,
 * which the CSV, HTML and text writers render as `vg run` would have. A
 * file that `vg run` was killed while writing ends in a line without its
 * newline: it is named in a warning and skipped, and the runs without an end line are shown as far
 * as they went. Anything else that is not what vg writes is an error
 * naming the file, the line and what is wrong. JSON is parsed by json-c. */
#include "vg/report.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vg/metrics.h"

typedef struct Reader {
    const char *path;
    long line;
    DiagSink *diag;
    bool ok;
    ReportData *d;
    int first_run;        /* the first run of this file in d */
    int version;          /* the file's schema version */
} Reader;

static void bad(Reader *rd, const char *fmt, ...)
{
    if (!rd->ok)
        return;  /* the first problem of a line is the one worth reading */
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_error(rd->diag, SPAN_NONE, "%s:%ld: %s", rd->path, rd->line, msg);
    rd->ok = false;
}

static const char *type_name(json_type t)
{
    switch (t) {
    case json_type_null: return "null";
    case json_type_boolean: return "a boolean";
    case json_type_double: case json_type_int: return "a number";
    case json_type_object: return "an object";
    case json_type_array: return "an array";
    default: return "a string";
    }
}

/* Member k of o, which must have type t (json_type_double: any number;
 * null allowed when nullable). NULL when absent or null. */
static json_object *get(Reader *rd, json_object *o, const char *k, json_type t, bool nullable)
{
    json_object *v;
    if (!json_object_object_get_ex(o, k, &v)) {
        bad(rd, "'%s' is missing", k);
        return NULL;
    }
    json_type have = json_object_get_type(v);
    if (have == json_type_null && nullable)
        return NULL;
    bool fits = have == t || (t == json_type_double && have == json_type_int);
    if (!fits) {
        bad(rd, "'%s' is %s, not %s%s", k, type_name(have), type_name(t),
            nullable ? " or null" : "");
        return NULL;
    }
    return v;
}

static double get_num(Reader *rd, json_object *o, const char *k)
{
    json_object *v = get(rd, o, k, json_type_double, true);
    return v ? json_object_get_double(v) : NAN;
}

static long long get_int(Reader *rd, json_object *o, const char *k)
{
    json_object *v = get(rd, o, k, json_type_int, false);
    return v ? json_object_get_int64(v) : 0;
}

/* A malloc'd copy of string member k; NULL when null (if allowed). */
static char *get_str(Reader *rd, json_object *o, const char *k, bool nullable)
{
    json_object *v = get(rd, o, k, json_type_string, nullable);
    return v ? xstrdup(json_object_get_string(v)) : NULL;
}

static ReportRun *find_run(Reader *rd, json_object *o)
{
    json_object *v = get(rd, o, "run", json_type_string, false);
    if (!v)
        return NULL;
    const char *name = json_object_get_string(v);
    for (int i = rd->first_run; i < rd->d->nruns; i++)
        if (strcmp(rd->d->runs[i].name, name) == 0) {
            if (rd->d->runs[i].ended)
                bad(rd, "a line of run '%s' after its end line", name);
            return rd->ok ? &rd->d->runs[i] : NULL;
        }
    bad(rd, "run '%s' is not in the header", name);
    return NULL;
}

/* ---- the header ---- */

static void header_run(Reader *rd, json_object *o, ReportRun *r)
{
    r->name = get_str(rd, o, "name", false);
    r->call = get_str(rd, o, "call", false);
    r->with = get_str(rd, o, "with", true);
    r->seed = (unsigned long long)get_int(rd, o, "seed");
    json_object *family, *axes;
    if (json_object_object_get_ex(o, "family", &family) &&
        json_object_is_type(family, json_type_string) &&
        json_object_object_get_ex(o, "axes", &axes) && json_object_is_type(axes, json_type_object)) {
        r->family = xstrdup(json_object_get_string(family));
        int n = json_object_object_length(axes);
        r->axis_vars = xcalloc((size_t)n + 1, sizeof *r->axis_vars);
        r->axis_texts = xcalloc((size_t)n + 1, sizeof *r->axis_texts);
        r->seed_axes = xcalloc((size_t)n + 1, sizeof *r->seed_axes);
        json_object_object_foreach(axes, var, val) {
            r->axis_vars[r->naxes] = xstrdup(var);
            /* a number's text is its JSON text, as the run's name spells it */
            r->axis_texts[r->naxes++] = xstrdup(json_object_is_type(val, json_type_string)
                                                ? json_object_get_string(val)
                                                : json_object_to_json_string(val));
        }
    }
    r->probe_rows = (int)get_int(rd, o, "probe_rows");
    r->baseline = rd->version >= 3 ? get_num(rd, o, "baseline") : NAN;
    json_object *s = get(rd, o, "settings", json_type_object, false);
    json_object *layers = get(rd, o, "layers", json_type_array, false);
    if (!rd->ok)
        return;
    r->loss = get_str(rd, s, "loss", false);
    r->data = get_str(rd, s, "data", false);
    r->optimizer = get_str(rd, s, "optimizer", false);
    r->clip = get_str(rd, s, "clip", true);
    /* Files from before learning-rate schedules have none: constant. */
    if (json_object_object_get_ex(s, "schedule", NULL)) {
        r->schedule = get_str(rd, s, "schedule", false);
        if (r->schedule && strcmp(r->schedule, "constant") == 0) {
            free(r->schedule);
            r->schedule = NULL;
        }
    }
    r->planned = (long)get_int(rd, s, "steps");
    r->batch = (long)get_int(rd, s, "batch");
    r->vanishing_below = get_num(rd, s, "vanishing_below");
    r->exploding_above = get_num(rd, s, "exploding_above");
    int n = (int)json_object_array_length(layers);
    r->layers = xcalloc((size_t)n + 1, sizeof *r->layers);
    for (int l = 0; l < n && rd->ok; l++) {
        json_object *x = json_object_array_get_idx(layers, (size_t)l);
        if (!json_object_is_type(x, json_type_string))
            bad(rd, "run '%s': layer %d is not a string", r->name, l + 1);
        else
            r->layers[r->nlayers++] = xstrdup(json_object_get_string(x));
    }
}

static void header(Reader *rd, json_object *o)
{
    json_object *v;
    int version = json_object_object_get_ex(o, "schema_version", &v) ? json_object_get_int(v)
                : json_object_object_get_ex(o, "format_version", &v) ? json_object_get_int(v) : 0;
    if (version < 1 || version > REPORT_SCHEMA_VERSION) {
        bad(rd, "schema version %d: this vg reads versions 1 to %d", version,
            REPORT_SCHEMA_VERSION);
        return;
    }
    rd->version = version;
    ReportData *d = rd->d;
    char *file = get_str(rd, o, "file", false);
    char *sha = get_str(rd, o, "sha256", false);
    char *vg = get_str(rd, o, "vg", false);
    json_object *blas = get(rd, o, "blas", json_type_object, false);
    /* files written before convolutions ran on oneDNN have none */
    json_object *dnnl = json_object_object_get_ex(o, "dnnl", NULL)
                            ? get(rd, o, "dnnl", json_type_object, false) : NULL;
    json_object *runs = get(rd, o, "runs", json_type_array, false);
    if (rd->ok) {
        char *lib = get_str(rd, blas, "library", false), *core = get_str(rd, blas, "core", false);
        long long threads = get_int(rd, blas, "threads");
        char *dlib = dnnl ? get_str(rd, dnnl, "library", false) : NULL;
        char *isa = dnnl ? get_str(rd, dnnl, "isa", false) : NULL;
        if (rd->ok && !d->blas) {
            char buf[256];
            snprintf(buf, sizeof buf, "%s, core %s%s%s%s%s, %lld thread%s", lib, core,
                     dlib ? ", " : "", dlib ? dlib : "", isa ? " " : "", isa ? isa : "",
                     threads, threads == 1 ? "" : "s");
            d->blas = xstrdup(buf);
        }
        free(lib);
        free(core);
        free(dlib);
        free(isa);
    }
    if (!d->file) {
        d->file = file, d->sha256 = sha, d->vg = vg;
        file = sha = vg = NULL;
    } else if (file && strcmp(d->file, file) != 0) {
        /* several programs: the page's title names them all */
        size_t n = strlen(d->file) + strlen(file) + 3;
        char *both = xmalloc(n);
        snprintf(both, n, "%s, %s", d->file, file);
        free(d->file);
        d->file = both;
    }
    free(file);
    free(sha);
    free(vg);
    if (!rd->ok)
        return;
    int n = (int)json_object_array_length(runs);
    d->runs = xrealloc(d->runs, sizeof *d->runs * (size_t)(d->nruns + n + 1));
    for (int i = 0; i < n && rd->ok; i++) {
        json_object *r = json_object_array_get_idx(runs, (size_t)i);
        ReportRun *run = &d->runs[d->nruns++];
        *run = (ReportRun){0};
        if (!json_object_is_type(r, json_type_object))
            bad(rd, "run %d of the header is not an object", i + 1);
        else
            header_run(rd, r, run);
    }
}

/* ---- steps, reports, ends, expects ---- */

static void steps(Reader *rd, json_object *o)
{
    ReportRun *r = find_run(rd, o);
    if (!r)
        return;
    StepLog *lg = &r->log;
    long first = (long)get_int(rd, o, "first");
    static const char *const keys[] = {"loss", "global_norm", "clipped", "lr"};
    json_object *a[4];
    for (int k = 0; k < 4; k++)
        a[k] = get(rd, o, keys[k], json_type_array, false);
    if (!rd->ok)
        return;
    long n = (long)json_object_array_length(a[0]);
    for (int k = 1; k < 4; k++)
        if ((long)json_object_array_length(a[k]) != n)
            {
        bad(rd, "'%s' has %zu entries, 'loss' %ld", keys[k],
                       json_object_array_length(a[k]), n);
        return;
    }
    if (lg->n == 0 && first >= 1)
        lg->first = first - 1;
    if (first != lg->first + lg->n + 1)
        {
        bad(rd, "run '%s': steps from %ld, but the last steps line ended at step %ld",
                   r->name, first, lg->first + lg->n);
        return;
    }
    lg->cap = lg->n + n;
    lg->loss = xrealloc(lg->loss, sizeof *lg->loss * (size_t)(lg->cap + 1));
    lg->norm = xrealloc(lg->norm, sizeof *lg->norm * (size_t)(lg->cap + 1));
    lg->lr = xrealloc(lg->lr, sizeof *lg->lr * (size_t)(lg->cap + 1));
    lg->clipped = xrealloc(lg->clipped, sizeof *lg->clipped * (size_t)(lg->cap + 1));
    for (long i = 0; i < n; i++) {
        double v[4];
        for (int k = 0; k < 4; k++) {
            json_object *x = json_object_array_get_idx(a[k], (size_t)i);
            json_type t = json_object_get_type(x);
            if (t != json_type_null && t != json_type_int && t != json_type_double)
                {
        bad(rd, "'%s'[%ld] is %s, not a number", keys[k], i, type_name(t));
        return;
    }
            v[k] = t == json_type_null ? NAN : json_object_get_double(x);
        }
        lg->loss[lg->n] = (float)v[0];
        lg->norm[lg->n] = (float)v[1];
        lg->clipped[lg->n] = v[2] == 1;
        lg->lr[lg->n] = v[3];
        lg->n++;
    }
    if (lg->first + lg->n > r->steps)
        r->steps = lg->first + lg->n;
}

static Verdict verdict_of(Reader *rd, json_object *o)
{
    json_object *v = get(rd, o, "verdict", json_type_string, false);
    for (int k = 0; v && k <= VERDICT_DEAD; k++)
        if (strcmp(json_object_get_string(v), verdict_name((Verdict)k)) == 0)
            return (Verdict)k;
    if (v)
        bad(rd, "unknown verdict '%s'", json_object_get_string(v));
    return VERDICT_HEALTHY;
}

static void layer(Reader *rd, json_object *o, ReportRun *r, const char *want, LayerMetrics *m)
{
    json_object *name = get(rd, o, "layer", json_type_string, false);
    if (name && strcmp(json_object_get_string(name), want) != 0)
        {
        bad(rd, "layer '%s' where the header has '%s'", json_object_get_string(name), want);
        return;
    }
    for (int k = 0; k < M_COUNT; k++) {
        json_object *v;
        /* schema 1 had fewer metrics, and attention_entropy came with
         * schema 4: the others are absent there */
        bool has = (rd->version > 1 && (rd->version > 3 || !metric_attention((MetricId)k))) ||
                   json_object_object_get_ex(o, metric_names[k], &v);
        metric_set(m, (MetricId)k, has ? get_num(rd, o, metric_names[k]) : NAN);
    }
    /* an attention layer's entropy is a number at every report (a
     * non-finite probe aside) */
    r->attention |= !isnan(m->attention_entropy);
    m->verdict = verdict_of(rd, o);
    json_object *b;
    if (!json_object_object_get_ex(o, "bptt", &b) || json_object_is_type(b, json_type_null))
        return;
    if (!json_object_is_type(b, json_type_array))
        {
        bad(rd, "'bptt' is %s, not an array or null", type_name(json_object_get_type(b)));
        return;
    }
    r->recurrent = true;
    m->bptt_len = (int)json_object_array_length(b);
    m->bptt = xcalloc((size_t)m->bptt_len + 1, sizeof *m->bptt);
    for (int t = 0; t < m->bptt_len; t++) {
        json_object *x = json_object_array_get_idx(b, (size_t)t);
        m->bptt[t] = json_object_is_type(x, json_type_null) ? NAN
                   : (float)json_object_get_double(x);
    }
}

static void report(Reader *rd, json_object *o)
{
    ReportRun *r = find_run(rd, o);
    json_object *layers = r ? get(rd, o, "layers", json_type_array, false) : NULL;
    if (!layers)
        return;
    if ((int)json_object_array_length(layers) != r->nlayers)
        {
        bad(rd, "run '%s': %zu layers, the header has %d", r->name,
                   json_object_array_length(layers), r->nlayers);
        return;
    }
    Report rep = {.step = (long)get_int(rd, o, "step")};
    if (r->nreports && rep.step <= r->reports[r->nreports - 1].step)
        {
        bad(rd, "run '%s': a report at step %ld after one at step %ld", r->name,
                   rep.step, r->reports[r->nreports - 1].step);
        return;
    }
    for (int k = 0; k < RV_COUNT; k++)
        report_value_set(&rep, (RunValueId)k, get_num(rd, o, report_value_names[k]));
    rep.layers = xcalloc((size_t)r->nlayers + 1, sizeof *rep.layers);
    for (int l = 0; l < r->nlayers; l++) {
        json_object *x = json_object_array_get_idx(layers, (size_t)l);
        if (!json_object_is_type(x, json_type_object))
            bad(rd, "layer %d is not an object", l + 1);
        else
            layer(rd, x, r, r->layers[l], &rep.layers[l]);
    }
    int cap = r->nreports;
    VEC_PUSH(r->reports, r->nreports, cap, rep);
    if (rep.step > r->steps)
        r->steps = rep.step;
}

static void end(Reader *rd, json_object *o)
{
    ReportRun *r = find_run(rd, o);
    if (!r)
        return;
    r->steps = (long)get_int(rd, o, "steps");
    json_object *div = get(rd, o, "diverged", json_type_boolean, false);
    r->diverged = div && json_object_get_boolean(div);
    json_object *at = get(rd, o, "diverged_at", json_type_int, true);
    r->diverged_at = at ? (long)json_object_get_int64(at) : 0;
    r->ended = rd->ok;
}

/* A side as value_print shows it: strings quoted. */
static void side(json_object *v, ReportSide *out)
{
    json_type t = json_object_get_type(v);
    if (t == json_type_int || t == json_type_double) {
        *out = (ReportSide){.is_num = true, .num = json_object_get_double(v)};
    } else if (t == json_type_string) {
        const char *s = json_object_get_string(v);
        out->text = xmalloc(strlen(s) + 3);
        sprintf(out->text, "\"%s\"", s);
    } else {
        out->text = xstrdup(json_object_get_string(v));  /* true, false */
    }
}

/* The list summaries of an expect (schema 2; absent in 1). */
static void lists(Reader *rd, json_object *o, ReportExpect *e)
{
    json_object *a;
    if (!json_object_object_get_ex(o, "lists", &a))
        return;
    if (!json_object_is_type(a, json_type_array)) {
        bad(rd, "'lists' is %s, not an array", type_name(json_object_get_type(a)));
        return;
    }
    int n = (int)json_object_array_length(a);
    e->lists = xcalloc((size_t)n + 1, sizeof *e->lists);
    for (int i = 0; i < n && rd->ok; i++) {
        json_object *x = json_object_array_get_idx(a, (size_t)i), *v;
        if (!json_object_is_type(x, json_type_object)) {
            bad(rd, "list %d is not an object", i + 1);
            return;
        }
        ReportList *l = &e->lists[e->nlists++];
        l->expr = get_str(rd, x, "expr", false);
        l->s.n = (int)get_int(rd, x, "n");
        l->s.nans = (int)get_int(rd, x, "nan");
        v = get(rd, x, "true", json_type_int, true);
        l->s.booleans = v != NULL;
        l->s.trues = v ? json_object_get_int(v) : 0;
        v = get(rd, x, "hold", json_type_int, true);
        l->s.holds = v ? json_object_get_int(v) : -1;
        l->s.min = get_num(rd, x, "min");
        l->s.median = get_num(rd, x, "median");
        l->s.max = get_num(rd, x, "max");
    }
}

static void expect(Reader *rd, json_object *o)
{
    ReportData *d = rd->d;
    ReportExpect e = {
        .file = get_str(rd, o, "file", false), .line = (int)get_int(rd, o, "line"),
        .expr = get_str(rd, o, "expr", false), .op = get_str(rd, o, "op", true),
        .outcome = get_str(rd, o, "outcome", false), .message = get_str(rd, o, "message", true),
    };
    json_object *l, *r;
    if (e.op && json_object_object_get_ex(o, "lhs", &l) && json_object_object_get_ex(o, "rhs", &r)
        && !json_object_is_type(l, json_type_null)) {
        side(l, &e.lhs);
        side(r, &e.rhs);
    } else if (e.op) {
        free(e.op);  /* an expect that could not be evaluated shows no sides */
        e.op = NULL;
    }
    lists(rd, o, &e);
    int cap = d->nexpects;
    VEC_PUSH(d->expects, d->nexpects, cap, e);
    d->has_expects = d->expects_checked = true;
}

/* ---- lines ---- */

static void line(Reader *rd, json_object *o)
{
    json_object *t = get(rd, o, "type", json_type_string, false);
    if (!t)
        return;
    const char *type = json_object_get_string(t);
    if ((strcmp(type, "header") == 0) != (rd->line == 1))
        {
        bad(rd, rd->line == 1 ? "the first line is a '%s' line, not the header"
                                     : "a second '%s' line", type);
        return;
    }
    static const struct {
        const char *type;
        void (*read)(Reader *, json_object *);
    } kinds[] = {{"header", header}, {"steps", steps}, {"report", report}, {"end", end},
                 {"expect", expect}};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
        if (strcmp(type, kinds[k].type) == 0) {
            kinds[k].read(rd, o);
            return;
        }
    bad(rd, "unknown line type '%s'", type);
}

static bool read_file(ReportData *d, const char *path, DiagSink *diag)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return diag_error(diag, SPAN_NONE, "cannot read '%s': %s", path, strerror(errno));
    Reader rd = {.path = path, .diag = diag, .ok = true, .d = d, .first_run = d->nruns};
    json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    while (rd.ok && (n = getline(&buf, &cap, f)) > 0) {
        rd.line++;
        if (buf[n - 1] != '\n') {
            diag_warning(diag, SPAN_NONE, "%s:%ld: the last line is cut short (vg was "
                         "stopped while writing it); skipped", path, rd.line);
            break;
        }
        json_tokener_reset(tok);
        json_object *o = json_tokener_parse_ex(tok, buf, (int)n - 1);
        enum json_tokener_error err = json_tokener_get_error(tok);
        if (err != json_tokener_success || !json_object_is_type(o, json_type_object)) {
            bad(&rd, "not a JSON object%s%s", err != json_tokener_success ? ": " : "",
                err == json_tokener_continue ? "the line ends inside it"
                : err != json_tokener_success ? json_tokener_error_desc(err) : "");
        } else if ((size_t)json_tokener_get_parse_end(tok) != (size_t)n - 1) {
            bad(&rd, "text after the JSON object");
        } else {
            line(&rd, o);
        }
        json_object_put(o);
    }
    if (rd.ok && ferror(f))
        rd.ok = diag_error(diag, SPAN_NONE, "cannot read '%s': %s", path, strerror(errno));
    if (rd.ok && rd.line == 0)
        rd.ok = diag_error(diag, SPAN_NONE, "%s: empty: no header line", path);
    free(buf);
    json_tokener_free(tok);
    fclose(f);
    return rd.ok;
}

/* "dir/before.jsonl" → "dir/before": how a run's file is named when two
 * files have runs of one name. */
static char *file_label(const char *path)
{
    size_t n = strlen(path);
    if (n > 6 && strcmp(path + n - 6, ".jsonl") == 0)
        n -= 6;
    char *s = xmalloc(n + 1);
    memcpy(s, path, n);
    s[n] = '\0';
    return s;
}

/* Whether runs a and b, of one family, differ only on axis k. */
static bool differ_only_on(const ReportRun *a, const ReportRun *b, int k)
{
    for (int j = 0; j < a->naxes; j++)
        if ((strcmp(a->axis_texts[j], b->axis_texts[j]) != 0) != (j == k))
            return false;
    return true;
}

/* An axis that changes the seed between members alike on every other axis
 * sets the seed: its members are replicates (as `vg run` finds from the
 * family's `seed = ...` setting, which the file does not hold). */
static void find_seed_axes(ReportData *d)
{
    for (int a = 0; a < d->nruns; a++)
        for (int b = a + 1; b < d->nruns; b++) {
            ReportRun *ra = &d->runs[a], *rb = &d->runs[b];
            if (!ra->family || !rb->family || strcmp(ra->family, rb->family) != 0 ||
                ra->naxes != rb->naxes || ra->seed == rb->seed)
                continue;
            for (int k = 0; k < ra->naxes; k++)
                if (differ_only_on(ra, rb, k))
                    ra->seed_axes[k] = rb->seed_axes[k] = true;
        }
}

bool report_read(ReportData *d, const char *const *paths, int npaths, DiagSink *diag)
{
    *d = (ReportData){.owned = true};
    int *from = NULL;  /* the file of each run */
    for (int i = 0; i < npaths; i++) {
        int before = d->nruns;
        if (!read_file(d, paths[i], diag)) {
            free(from);
            return false;
        }
        from = xrealloc(from, sizeof *from * (size_t)(d->nruns + 1));
        for (int k = before; k < d->nruns; k++)
            from[k] = i;
    }
    find_seed_axes(d);
    /* names that clash across files are prefixed with their file */
    bool *clash = xcalloc((size_t)d->nruns + 1, sizeof *clash);
    for (int a = 0; a < d->nruns; a++)
        for (int b = a + 1; b < d->nruns; b++)
            if (strcmp(d->runs[a].name, d->runs[b].name) == 0)
                clash[a] = clash[b] = true;
    for (int k = 0; k < d->nruns; k++) {
        if (!clash[k])
            continue;
        char *label = file_label(paths[from[k]]);
        size_t n = strlen(label) + strlen(d->runs[k].name) + 2;
        char *name = xmalloc(n);
        snprintf(name, n, "%s:%s", label, d->runs[k].name);
        free(d->runs[k].name);
        d->runs[k].name = name;
        free(label);
    }
    free(clash);
    free(from);
    return true;
}
