/* diag.c — source files, the diagnostic sink and GNU-style rendering.
 *
 * Spans carry 1-based lines and byte columns, so rendering finds the source
 * line by counting newlines; that happens only for diagnostics that are shown,
 * never on the lexer's hot path. Messages are owned by the sink (malloc), not
 * by an arena, because the sink outlives the parse that produced them. */
#include "vg/diag.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vg/arena.h"

const Span SPAN_NONE = { -1, 0, 0, 0, 0 };

/* ---- sources ---- */

static int add_owned(SourceSet *s, const char *path, char *text, size_t len)
{
    Source src = { xstrdup(path), text, len };
    VEC_PUSH(s->files, s->n, s->cap, src);
    return s->n - 1;
}

int source_load(SourceSet *s, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    /* Read in chunks rather than trusting ftell: pipes and /dev/stdin have no size. */
    size_t len = 0, cap = 4096;
    char *text = xmalloc(cap);
    for (;;) {
        if (cap - len < 2) {
            cap *= 2;
            text = vec_grow_at(text, len, cap, __FILE__, __LINE__);  /* huge pages when large */
        }
        size_t got = fread(text + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int err = errno;
        free(text);
        fclose(f);
        errno = err ? err : EIO;
        return -1;
    }
    fclose(f);
    text[len] = '\0';
    return add_owned(s, path, text, len);
}

int source_add(SourceSet *s, const char *path, const char *text, size_t len)
{
    char *copy = xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    return add_owned(s, path, copy, len);
}

void source_set_free(SourceSet *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->files[i].path);
        free(s->files[i].text);
    }
    free(s->files);
    s->files = NULL;
    s->n = s->cap = 0;
}

/* ---- the sink ---- */

void diag_init(DiagSink *d, SourceSet *sources)
{
    memset(d, 0, sizeof *d);
    d->sources = sources;
}

void diag_clear(DiagSink *d)
{
    for (int i = 0; i < d->n; i++) {
        free(d->items[i].msg);
        free(d->items[i].note);
    }
    d->n = 0;
    d->errors = 0;
    d->dropped = false;
}

void diag_free(DiagSink *d)
{
    diag_clear(d);
    free(d->items);
    d->items = NULL;
    d->cap = 0;
}

static char *vformat(const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *s = xmalloc(n < 0 ? 1 : (size_t)n + 1);
    if (n < 0)
        s[0] = '\0';
    else
        vsnprintf(s, (size_t)n + 1, fmt, again);
    va_end(again);
    return s;
}

static void record(DiagSink *d, DiagSeverity sev, Span at, const char *fmt, va_list ap)
{
    if (sev == DIAG_ERROR) {
        d->errors++;
        d->dropped = d->max_errors > 0 && d->errors > d->max_errors;
        if (d->dropped)
            return;
    } else {
        d->dropped = false;
    }
    Diag dg = { sev, at, vformat(fmt, ap), NULL };
    /* The same message at the same place says nothing new (one model
     * elaborated by two runs fails twice): keep the first, and drop the
     * notes that would follow the copy. */
    for (int i = 0; i < d->n; i++) {
        const Diag *o = &d->items[i];
        if (o->severity == sev && memcmp(&o->span, &at, sizeof at) == 0 &&
            strcmp(o->msg, dg.msg) == 0) {
            free(dg.msg);
            d->dropped = true;
            return;
        }
    }
    VEC_PUSH(d->items, d->n, d->cap, dg);
}

const char *diag_num(double v, char *buf, size_t n)
{
    if (isnan(v))
        snprintf(buf, n, "NaN");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%g", v);
    return buf;
}

bool diag_error(DiagSink *d, Span at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(d, DIAG_ERROR, at, fmt, ap);
    va_end(ap);
    return false;
}

void diag_warning(DiagSink *d, Span at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(d, DIAG_WARNING, at, fmt, ap);
    va_end(ap);
}

void diag_note(DiagSink *d, const char *fmt, ...)
{
    if (d->n == 0 || d->dropped)
        return;
    Diag *last = &d->items[d->n - 1];
    va_list ap;
    va_start(ap, fmt);
    char *note = vformat(fmt, ap);
    va_end(ap);
    if (last->note) {
        /* A second note goes on its own "note:" line. */
        size_t a = strlen(last->note), b = strlen(note);
        last->note = xrealloc(last->note, a + b + 8);
        memcpy(last->note + a, "\nnote: ", 7);
        memcpy(last->note + a + 7, note, b + 1);
        free(note);
    } else {
        last->note = note;
    }
}

void diag_note_at(DiagSink *d, Span at, const char *fmt, ...)
{
    if (d->n == 0 || d->dropped)
        return;
    va_list ap;
    va_start(ap, fmt);
    Diag dg = { DIAG_NOTE, at, vformat(fmt, ap), NULL };
    va_end(ap);
    VEC_PUSH(d->items, d->n, d->cap, dg);
}

Span span_join(Span a, Span b)
{
    Span s = a;
    s.last_line = b.last_line;
    s.last_column = b.last_column;
    return s;
}

/* ---- rendering ---- */

enum { GUTTER = 5 };

static const char *const severity_name[] = {
    [DIAG_ERROR] = "error", [DIAG_WARNING] = "warning", [DIAG_NOTE] = "note",
};
static const char *const severity_color[] = {
    [DIAG_ERROR] = "\033[1;31m", [DIAG_WARNING] = "\033[1;35m", [DIAG_NOTE] = "\033[1;36m",
};

/* The bytes of line `line` (1-based) without its newline, or NULL. A span
 * just past a final newline names the empty line after it. */
static const char *find_line(const Source *src, int line, size_t *len)
{
    if (line < 1)
        return NULL;
    const char *p = src->text, *end = src->text + src->len;
    for (int l = 1; l < line; l++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return NULL;
        p = nl + 1;
    }
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl ? nl : end;
    if (stop > p && stop[-1] == '\r')
        stop--;
    *len = (size_t)(stop - p);
    return p;
}

/* A UTF-8 continuation byte takes no terminal column of its own. */
static bool continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* A long line (a generated file, a minified blob) is shown as a window
 * around the column, so one diagnostic never prints megabytes. */
enum { EXCERPT_MAX = 160, EXCERPT_BEFORE = 60 };

static void excerpt(FILE *out, const Source *src, Span at, bool color)
{
    size_t len;
    const char *line = find_line(src, at.first_line, &len);
    if (!line)
        return;
    size_t col = at.first_column > 0 ? (size_t)at.first_column - 1 : 0;
    size_t from = 0, to = len;
    if (len > EXCERPT_MAX) {
        from = col > EXCERPT_BEFORE ? col - EXCERPT_BEFORE : 0;
        while (from > 0 && from < len && continuation((unsigned char)line[from]))
            from--;
        to = from + EXCERPT_MAX < len ? from + EXCERPT_MAX : len;
        while (to < len && continuation((unsigned char)line[to]))
            to++;
    }
    const char *more = "...";
    fprintf(out, "%*d | %s", GUTTER, at.first_line, from ? more : "");
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)line[i];
        /* Control bytes would garble the terminal; one '?' keeps the caret aligned. */
        fputc(c < 0x20 && c != '\t' ? '?' : c, out);
    }
    fprintf(out, "%s\n%*s | %s", to < len ? more : "", GUTTER, "", from ? "   " : "");
    for (size_t i = from; i < col; i++) {
        /* Tabs are copied so the caret lands under the same glyph. */
        unsigned char c = i < len ? (unsigned char)line[i] : ' ';
        if (c == '\t')
            fputc('\t', out);
        else if (!continuation(c))
            fputc(' ', out);
    }
    size_t last = at.last_line == at.first_line && at.last_column > 0
                      ? (size_t)at.last_column : col + 1;
    if (at.last_line > at.first_line)
        last = len;
    if (color)
        fputs("\033[1;32m", out);
    fputc('^', out);
    for (size_t i = col + 1; i < last && i < to; i++)
        if (!continuation((unsigned char)line[i]))
            fputc('~', out);
    if (color)
        fputs("\033[0m", out);
    fputc('\n', out);
}

void diag_render(FILE *out, const SourceSet *s, const Diag *dg, bool color)
{
    const Source *src = s && dg->span.file >= 0 && dg->span.file < s->n
                            ? &s->files[dg->span.file] : NULL;
    const char *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";
    if (src && dg->span.first_line > 0)
        fprintf(out, "%s%s:%d:%d:%s ", bold, src->path, dg->span.first_line,
                dg->span.first_column, reset);
    else if (src)
        fprintf(out, "%s%s:%s ", bold, src->path, reset);
    else
        fprintf(out, "%svg:%s ", bold, reset);
    fprintf(out, "%s%s:%s %s\n", color ? severity_color[dg->severity] : "",
            severity_name[dg->severity], reset, dg->msg);
    if (src)
        excerpt(out, src, dg->span, color);
    if (dg->note)
        fprintf(out, "%snote:%s %s\n", color ? severity_color[DIAG_NOTE] : "", reset,
                dg->note);
}

void diag_render_all(FILE *out, const DiagSink *d, bool color)
{
    for (int i = 0; i < d->n; i++)
        diag_render(out, d->sources, &d->items[i], color);
}

/* ---- "did you mean" ---- */

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* Optimal string alignment distance (Levenshtein plus adjacent
 * transpositions, Damerau 1964): "sigmiod" is one slip from "sigmoid". */
static size_t distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    size_t *d = xmalloc((n + 1) * (m + 1) * sizeof *d);
#define D(i, j) d[(i) * (m + 1) + (j)]
    for (size_t i = 0; i <= n; i++)
        D(i, 0) = i;
    for (size_t j = 0; j <= m; j++)
        D(0, j) = j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            D(i, j) = min3(D(i - 1, j) + 1, D(i, j - 1) + 1, D(i - 1, j - 1) + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                D(i - 2, j - 2) + 1 < D(i, j))
                D(i, j) = D(i - 2, j - 2) + 1;
        }
    }
    size_t r = D(n, m);
#undef D
    free(d);
    return r;
}

static size_t common_prefix(const char *a, const char *b)
{
    size_t n = 0;
    while (a[n] && a[n] == b[n])
        n++;
    return n;
}

/* Longer names are not slips of the keyboard, and the distance costs
 * len² time and memory. */
enum { SUGGEST_MAX_LEN = 64 };

/* The edits a slip may make: a name and a candidate are that close when
 * their distance is at most (|name| + |candidate| + 3) / 6, the bound of
 * CPython's "Did you mean" (Python/suggestions.c, which costs an edit 2).
 * So 'sigmod' may be 'sigmoid' and 'mm' 'm', but 'b' is not 'a': a short
 * name changed whole is another name, not a slip. */
static size_t slip_limit(size_t len, size_t clen)
{
    return (len + clen + 3) / 6;
}

const char *diag_suggest(const char *name, const char *const *candidates, int n)
{
    size_t len = strlen(name);
    if (len > SUGGEST_MAX_LEN)
        return NULL;
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    bool tie = false;
    for (int i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        /* The distance is at least the difference in length: skipping the
         * hopeless keeps a megabyte-long name from costing len² work. */
        size_t clen = strlen(candidates[i]), limit = slip_limit(len, clen);
        if ((clen > len ? clen - len : len - clen) > limit)
            continue;
        size_t dist = distance(name, candidates[i]);
        if (dist > limit)
            continue;
        if (dist < best_d) {
            best = candidates[i];
            best_d = dist;
            tie = false;
        } else if (dist == best_d && best && strcmp(best, candidates[i]) != 0) {
            /* Slips keep the start of a word: 'unit' means 'units', not 'init'. */
            size_t a = common_prefix(name, best), b = common_prefix(name, candidates[i]);
            if (b > a) {
                best = candidates[i];
                tie = false;
            } else if (b == a) {
                tie = true;
            }
        }
    }
    return best && !tie ? best : NULL;
}

bool diag_color_for(FILE *f)
{
    const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
    return isatty(fileno(f)) && !(nc && *nc) && !(term && strcmp(term, "dumb") == 0);
}
