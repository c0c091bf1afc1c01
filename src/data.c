/* data.c — the built-in data sets: generators, CSV files and IDX files.
 *
 * Shapes per example (x = input, y = target), and the classes they declare:
 *
 *   spirals(points, classes = 2, noise = 0.1, turns = 1.5)
 *       x [2], y [1] class, `classes` classes. Interleaved arms: class k has
 *       t ~ U[0, 1], radius t, angle 2π·turns·t + 2πk/classes, plus
 *       noise·N(0, 1) on each coordinate.
 *   xor(points, noise = 0.1)
 *       x [2], y [1] class, 2 classes. A corner of {±1}² plus noise·N(0, 1)
 *       on each coordinate; class 1 when the signs of x1 and x2 differ.
 *   parity(bits, points)
 *       x [bits] in {0, 1}, y [1] class, 2 classes: the parity of the bits.
 *       Classes are exactly balanced; within a class the patterns are uniform.
 *   blobs(points, classes, dims = 2, spread = 1)
 *       x [dims], y [1] class, `classes` classes. One centre per class drawn
 *       from U[-10, 10]^dims (scikit-learn's make_blobs box), points
 *       centre + spread·N(0, I).
 *   circles(points, noise = 0.1)
 *       x [2], y [1] class, 2 classes: class 0 on the circle of radius 1,
 *       class 1 on radius 0.5, uniform angle, plus noise·N(0, 1).
 *   checkerboard(points, cells = 4)
 *       x [2] ~ U[0, 1]², y [1] class, 2 classes: (⌊cells·x1⌋ + ⌊cells·x2⌋) mod 2.
 *   adding(length, points)
 *       x [length, 2], y [1] real (classes 0). Hochreiter & Schmidhuber
 *       1997: column 0 ~ U[0, 1], column 1 marks exactly two steps, one in
 *       the first half and one in the second; the target is the sum of the
 *       two marked values.
 *   copy_memory(length, delay, points)
 *       x [T, 10] one-hot, y [T] class per step, 10 classes, with
 *       T = 2·length + delay + 1. Symbols 0..7 are data, 8 is blank, 9 is
 *       the go marker. Input: `length` random data symbols, `delay` blanks,
 *       the go marker, `length` blanks. Target: blank for the first
 *       length + delay + 1 steps, then the data symbols in order. This is
 *       the task of Arjovsky, Shah & Bengio 2016 (§4.1), whose T is our
 *       delay + 1; a model that ignores its input scores
 *       (length + delay + 1)/T of the steps by predicting blank.
 *   copy_tokens(length, vocab, points), reverse_tokens(…), sort_tokens(…)
 *       x [length] token ids, y [length] class per position, `vocab`
 *       classes. The ids are uniform on 0..vocab − 1, stored as floats for
 *       an embedding; the target at position t is the input's token at t
 *       (copy), at length − 1 − t (reverse), or the t-th smallest token
 *       (sort, ascending). Copy needs no look at other positions; reverse
 *       and sort do, so they are the tasks of attention.
 *   csv("file.csv", target = "label", shape = none)
 *       x [columns − 1], or `shape` (a list of 1 to 3 dimensions whose
 *       product is columns − 1, the feature columns in row-major order),
 *       y [1]. A header row of names, then rows of numbers. If every
 *       value of the target column is a non-negative integer it is a
 *       class index (classes = max + 1), else a real target (classes 0);
 *       integers of a million or more are taken as real targets, not as a
 *       million classes.
 *   idx("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz")
 *       x [1, rows, cols] (one channel) scaled to [0, 1], y [1] class,
 *       max label + 1 classes. The MNIST IDX format (magic 0x00000803 for
 *       u8 images, 0x00000801 for u8 labels), gzip'd or raw.
 *   fashion_mnist(split = "train", limit = 0)
 *       x [1, 28, 28], y [1] class, 10 classes: Fashion-MNIST (Xiao et
 *       al. 2017) from Debian's dataset-fashion-mnist package; limit > 0
 *       keeps the first `limit` examples.
 *
 * An input need not have the data's shape exactly (data_fits): `input
 * x[784]` takes a [1, 28, 28] image flattened, `input x[28, 28]` takes it
 * as rows.
 *
 * Where a generator chooses the class (spirals, parity, blobs, circles) or
 * the corner (xor), example i gets class (or corner) i mod their number, so
 * the classes are balanced in every prefix of the data; checkerboard's
 * class follows from its uniform point. Nothing is shuffled: batches and
 * the held-out split are drawn by the training loop.
 *
 * Errors: arguments out of range, unreadable files and IDX problems are
 * reported at the data set's call in the .vg file; CSV content errors at
 * file.csv:LINE:COL, except an empty file or one without rows, which have
 * no line to show and are reported at the call too. */
#include "vg/data.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "vg/arena.h"
#include "vg/rng.h"

enum {
    /* Upper bound on the floats of x plus y: 1 GiB of float32. */
    MAX_FLOATS = 1 << 28,
    MAX_POINTS = 10000000,
    COPY_SYMBOLS = 8, COPY_BLANK = 8, COPY_GO = 9, COPY_CLASSES = 10,
    FASHION_CLASSES = 10,
};

static const double TAU = 6.283185307179586;

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* ---- description and argument checks ---- */

/* "spirals(points = 1024, classes = 2, noise = 0.1, turns = 1.5)" */
static char *describe(const Spec *spec)
{
    const Sig *sig = spec_sig(spec->id);
    char buf[1024];
    size_t k = (size_t)snprintf(buf, sizeof buf, "%s(", spec_table[spec->id].name);
    for (int i = 0; i < spec->nargs && i < sig->n && k < sizeof buf; i++) {
        const Value *v = &spec->args[i];
        const char *sep = i ? ", " : "";
        if (v->kind == VAL_NONE)  /* an optional argument left out: csv's shape */
            continue;
        if (v->kind == VAL_STR)
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s = \"%s\"", sep, sig->p[i].name, v->str);
        else if (v->kind == VAL_LIST) {
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s = [", sep, sig->p[i].name);
            for (int j = 0; j < v->len && k < sizeof buf; j++)
                k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%g", j ? ", " : "", v->items[j].num);
            if (k < sizeof buf)
                k += (size_t)snprintf(buf + k, sizeof buf - k, "]");
        } else if (v->kind == VAL_BOOL)
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s = %s", sep, sig->p[i].name,
                                  v->num != 0 ? "true" : "false");
        else
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s = %g", sep, sig->p[i].name, v->num);
    }
    if (k < sizeof buf)
        snprintf(buf + k, sizeof buf - k, ")");
    return xstrdup(buf);
}

static bool int_arg(const Spec *s, const char *name, long lo, long hi, long *out, DiagSink *d)
{
    double v = spec_num(s, name);
    if (!(v >= (double)lo && v <= (double)hi))
        return diag_error(d, s->span, "%s: %s must be in %ld..%ld, got %s",
                          spec_table[s->id].name, name, lo, hi, DIAG_NUM(v));
    *out = (long)v;
    return true;
}

static bool nonneg_arg(const Spec *s, const char *name, double *out, DiagSink *d)
{
    double v = spec_num(s, name);
    if (!(v >= 0) || !isfinite(v))
        return diag_error(d, s->span, "%s: %s must be a finite number at least 0, got %s",
                          spec_table[s->id].name, name, DIAG_NUM(v));
    *out = v;
    return true;
}

/* Allocates x and y for n examples; refuses sizes that cannot be sensible. */
static bool alloc_set(Dataset *ds, const Spec *s, long n, Shape xs, Shape ys,
                      int classes, DiagSink *d)
{
    double floats = (double)n * ((double)shape_size(xs) + (double)shape_size(ys));
    if (floats > MAX_FLOATS)
        return diag_error(d, s->span, "%s: too large: %.0f values, the limit is %d",
                          spec_table[s->id].name, floats, MAX_FLOATS);
    ds->n = (int)n;
    ds->x_shape = xs;
    ds->y_shape = ys;
    ds->classes = classes;
    ds->x = xcalloc((size_t)n * shape_size(xs) + 1, sizeof *ds->x);
    ds->y = xcalloc((size_t)n * shape_size(ys) + 1, sizeof *ds->y);
    return true;
}

/* ---- generators ---- */

/* The arguments of the generators of noisy points in the plane (xor,
 * circles): `points` and `noise`; then a set of n 2-D points with that many
 * classes. */
static bool plane_set(Dataset *ds, const Spec *s, int classes, long *n, double *noise,
                      DiagSink *d)
{
    return int_arg(s, "points", 1, MAX_POINTS, n, d) && nonneg_arg(s, "noise", noise, d) &&
           alloc_set(ds, s, *n, shape1(2), shape1(1), classes, d);
}

static bool gen_spirals(Dataset *ds, const Spec *s, Rng *r, DiagSink *d)
{
    long n, classes;
    double noise, turns = spec_num(s, "turns");
    if (!int_arg(s, "points", 1, MAX_POINTS, &n, d) || !int_arg(s, "classes", 2, 1000, &classes, d) ||
        !nonneg_arg(s, "noise", &noise, d))
        return false;
    if (!alloc_set(ds, s, n, shape1(2), shape1(1), (int)classes, d))
        return false;
    for (long i = 0; i < n; i++) {
        long k = i % classes;
        double t = rng_uniform(r);
        double a = TAU * turns * t + TAU * (double)k / (double)classes;
        ds->x[2 * i] = (float)(t * cos(a) + noise * rng_normal(r));
        ds->x[2 * i + 1] = (float)(t * sin(a) + noise * rng_normal(r));
        ds->y[i] = (float)k;
    }
    return true;
}

static bool gen_xor(Dataset *ds, const Spec *s, Rng *r, DiagSink *d)
{
    long n;
    double noise;
    if (!plane_set(ds, s, 2, &n, &noise, d))
        return false;
    for (long i = 0; i < n; i++) {
        /* corners in turn: (−,−) (+,−) (−,+) (+,+) */
        double x1 = (i & 1 ? 1 : -1) + noise * rng_normal(r);
        double x2 = (i & 2 ? 1 : -1) + noise * rng_normal(r);
        ds->x[2 * i] = (float)x1;
        ds->x[2 * i + 1] = (float)x2;
        ds->y[i] = (float)((x1 < 0) != (x2 < 0));
    }
    return true;
}

/* The first bits − 1 bits are uniform; the last one makes the parity equal
 * to the example's class, which keeps each class uniform over its patterns. */
static bool gen_parity(Dataset *ds, const Spec *s, Rng *r, DiagSink *d)
{
    long n, bits;
    if (!int_arg(s, "bits", 1, 4096, &bits, d) || !int_arg(s, "points", 1, MAX_POINTS, &n, d) ||
        !alloc_set(ds, s, n, shape1(bits), shape1(1), 2, d))
        return false;
    for (long i = 0; i < n; i++) {
        float *x = ds->x + i * bits;
        long ones = 0;
        for (long b = 0; b < bits - 1; b++) {
            x[b] = (float)rng_below(r, 2);
            ones += x[b] != 0;
        }
        x[bits - 1] = (float)((ones + i) % 2);
        ds->y[i] = (float)(i % 2);
    }
    return true;
}

static bool gen_blobs(Dataset *ds, const Spec *s, Rng *r, DiagSink *d)
{
    long n, classes, dims;
    double spread;
    if (!int_arg(s, "points", 1, MAX_POINTS, &n, d) || !int_arg(s, "classes", 2, 1000, &classes, d) ||
        !int_arg(s, "dims", 1, 4096, &dims, d) || !nonneg_arg(s, "spread", &spread, d) ||
        !alloc_set(ds, s, n, shape1(dims), shape1(1), (int)classes, d))
        return false;
    double *centre = xmalloc((size_t)(classes * dims) * sizeof *centre);
    for (long i = 0; i < classes * dims; i++)
        centre[i] = rng_range(r, -10, 10);
    for (long i = 0; i < n; i++) {
        long k = i % classes;
        for (long j = 0; j < dims; j++)
            ds->x[i * dims + j] = (float)(centre[k * dims + j] + spread * rng_normal(r));
        ds->y[i] = (float)k;
    }
    free(centre);
    return true;
}

static bool gen_circles(Dataset *ds, const Spec *s, Rng *r, DiagSink *d)
{
    long n;
    double noise;
    if (!plane_set(ds, s, 2, &n, &noise, d))
        return false;
    for (long i = 0; i < n; i++) {
        double radius = i % 2 ? 0.5 : 1.0, a = TAU * rng_uniform(r);
        ds->x[2 * i] = (float)(radius * cos(a) + noise * rng_normal(r));
        ds->x[2 * i + 1] = (float)(radius * sin(a) + noise * rng_normal(r));
        ds->y[i] = (float)(i % 2);
    }
    return true;
}

static bool gen_checkerboard(Dataset *ds, const Spec *s, Rng *r, DiagSink *d)
{
    long n, cells;
    if (!int_arg(s, "points", 1, MAX_POINTS, &n, d) || !int_arg(s, "cells", 1, 1000, &cells, d) ||
        !alloc_set(ds, s, n, shape1(2), shape1(1), 2, d))
        return false;
    for (long i = 0; i < n; i++) {
        double x1 = rng_uniform(r), x2 = rng_uniform(r);
        ds->x[2 * i] = (float)x1;
        ds->x[2 * i + 1] = (float)x2;
        ds->y[i] = (float)(((long)(x1 * cells) + (long)(x2 * cells)) % 2);
    }
    return true;
}

static bool gen_adding(Dataset *ds, const Spec *s, Rng *r, DiagSink *d)
{
    long n, len;
    if (!int_arg(s, "length", 2, 100000, &len, d) || !int_arg(s, "points", 1, MAX_POINTS, &n, d) ||
        !alloc_set(ds, s, n, shape2(len, 2), shape1(1), 0, d))
        return false;
    long half = len / 2;
    for (long i = 0; i < n; i++) {
        float *x = ds->x + i * len * 2;
        for (long t = 0; t < len; t++)
            x[2 * t] = (float)rng_uniform(r);
        long a = (long)rng_below(r, (uint64_t)half);
        long b = half + (long)rng_below(r, (uint64_t)(len - half));
        x[2 * a + 1] = 1;
        x[2 * b + 1] = 1;
        ds->y[i] = x[2 * a] + x[2 * b];
    }
    return true;
}

static bool gen_copy_memory(Dataset *ds, const Spec *s, Rng *r, DiagSink *d)
{
    long n, len, delay;
    if (!int_arg(s, "length", 1, 10000, &len, d) || !int_arg(s, "delay", 0, 100000, &delay, d) ||
        !int_arg(s, "points", 1, MAX_POINTS, &n, d))
        return false;
    long T = 2 * len + delay + 1, go = len + delay;
    if (!alloc_set(ds, s, n, shape2(T, COPY_CLASSES), shape1(T), COPY_CLASSES, d))
        return false;
    for (long i = 0; i < n; i++) {
        float *x = ds->x + i * T * COPY_CLASSES, *y = ds->y + i * T;
        for (long t = 0; t < T; t++) {
            long in = t < len ? (long)rng_below(r, COPY_SYMBOLS) : t == go ? COPY_GO : COPY_BLANK;
            x[t * COPY_CLASSES + in] = 1;
            y[t] = COPY_BLANK;
        }
        for (long t = 0; t < len; t++)
            for (long c = 0; c < COPY_SYMBOLS; c++)
                if (x[t * COPY_CLASSES + c] != 0)
                    y[go + 1 + t] = (float)c;
    }
    return true;
}

static int compare_floats(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static bool gen_tokens(Dataset *ds, const Spec *s, Rng *r, DiagSink *d)
{
    long n, len, vocab;
    if (!int_arg(s, "length", 1, 100000, &len, d) || !int_arg(s, "vocab", 2, 1000000, &vocab, d) ||
        !int_arg(s, "points", 1, MAX_POINTS, &n, d) ||
        !alloc_set(ds, s, n, shape1(len), shape1(len), (int)vocab, d))
        return false;
    for (long i = 0; i < n; i++) {
        float *x = ds->x + i * len, *y = ds->y + i * len;
        for (long t = 0; t < len; t++)
            x[t] = (float)rng_below(r, (uint64_t)vocab);
        for (long t = 0; t < len; t++)
            y[t] = s->id == SPEC_REVERSE_TOKENS ? x[len - 1 - t] : x[t];
        if (s->id == SPEC_SORT_TOKENS)
            qsort(y, (size_t)len, sizeof *y, compare_floats);
    }
    return true;
}

/* ---- files ---- */

static char *resolve(const char *base_dir, const char *path)
{
    if (path[0] == '/' || !base_dir || !*base_dir || strcmp(base_dir, ".") == 0)
        return xstrdup(path);
    size_t n = strlen(base_dir) + strlen(path) + 2;
    char *full = xmalloc(n);
    snprintf(full, n, "%s/%s", base_dir, path);
    return full;
}

/* The whole file, NUL-terminated; false with errno set. */
static bool read_all(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = xmalloc(cap);
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0)
            buf = xrealloc(buf, cap *= 2);
    }
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (err) {
        free(buf);
        errno = err;
        return false;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return true;
}

/* ---- CSV ---- */

typedef struct Field {
    const char *p;
    int len;
    int col;  /* 1-based byte column of the field's first character */
} Field;

/* One CSV file being parsed: where it lives and how diagnostics find it. */
typedef struct Csv {
    const char *shown;     /* the path as the user wrote it */
    const char *resolved;  /* the path opened */
    DiagSink *d;
    int file;              /* index in d's SourceSet once loaded, else -1 */
} Csv;

static bool csv_error_at(Csv *c, int line, int col, int len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Reports at file:line:col; the file joins the SourceSet on the first
 * error so that the renderer can quote the line. */
static bool csv_error_at(Csv *c, int line, int col, int len, const char *fmt, ...)
{
    if (c->file < 0 && c->d->sources)
        c->file = source_load(c->d->sources, c->resolved);
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    Span at = {c->file, line, col, line, col + (len > 0 ? len : 1) - 1};
    return diag_error(c->d, at, "%s", msg);
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Splits the line [p, end) at commas into fields with surrounding blanks
 * (and, for names, double quotes) removed. Returns the field count; at most
 * max are stored. */
static int split_fields(const char *line, const char *end, Field *out, int max)
{
    int n = 0;
    const char *p = line;
    for (;;) {
        const char *q = p;
        while (q < end && *q != ',')
            q++;
        const char *a = p, *b = q;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        if (b - a >= 2 && *a == '"' && b[-1] == '"') {
            a++;
            b--;
        }
        if (n < max)
            out[n] = (Field){a, (int)(b - a), (int)(a - line) + 1};
        n++;
        if (q == end)
            return n;
        p = q + 1;
    }
}

/* The next line: [*line, *end), skipping a final '\r'; returns false at EOF. */
static bool next_line(const char **pos, const char *stop, const char **line, const char **end)
{
    if (*pos >= stop)
        return false;
    const char *p = *pos, *q = p;
    while (q < stop && *q != '\n')
        q++;
    *pos = q < stop ? q + 1 : q;
    *line = p;
    *end = q > p && q[-1] == '\r' ? q - 1 : q;
    return true;
}

static bool blank(const char *p, const char *end)
{
    while (p < end && is_space(*p))
        p++;
    return p == end;
}

static bool parse_number(const Field *f, double *out)
{
    char buf[64];
    if (f->len == 0 || f->len >= (int)sizeof buf)
        return false;
    memcpy(buf, f->p, (size_t)f->len);
    buf[f->len] = '\0';
    char *stop;
    errno = 0;
    *out = strtod(buf, &stop);
    return *stop == '\0' && isfinite(*out);
}

/* "a, b, c" */
static char *join_names(Field *names, int n)
{
    size_t cap = 1;
    for (int i = 0; i < n; i++)
        cap += (size_t)names[i].len + 2;
    char *s = xmalloc(cap), *p = s;
    for (int i = 0; i < n; i++)
        p += sprintf(p, "%s%.*s", i ? ", " : "", names[i].len, names[i].p);
    *p = '\0';
    return s;
}

/* Finds the target column by name; on failure reports the columns there
 * are and the likely one. */
static int find_target(Csv *c, Field *names, int ncols, const char *target, int line, int line_len)
{
    char **cand = xmalloc((size_t)ncols * sizeof *cand);
    int found = -1;
    for (int i = 0; i < ncols; i++) {
        cand[i] = xmalloc((size_t)names[i].len + 1);
        memcpy(cand[i], names[i].p, (size_t)names[i].len);
        cand[i][names[i].len] = '\0';
        if (found < 0 && strcmp(cand[i], target) == 0)
            found = i;
    }
    if (found < 0) {
        char *list = join_names(names, ncols);
        csv_error_at(c, line, 1, line_len, "no column named '%s' in %s; columns are: %s",
                     target, c->shown, list);
        const char *guess = diag_suggest(target, (const char *const *)cand, ncols);
        if (guess)
            diag_note(c->d, "did you mean '%s'?", guess);
        free(list);
    }
    for (int i = 0; i < ncols; i++)
        free(cand[i]);
    free(cand);
    return found;
}

/* Parses the rows after the header into vals (ncols per row). */
static bool csv_rows(Csv *c, const char *pos, const char *stop, int line_no, int ncols,
                     float **vals, long *nrows)
{
    Field *f = xmalloc((size_t)ncols * sizeof *f);
    size_t cap = 0, n = 0;
    const char *line, *end;
    bool ok = true;
    while (ok && next_line(&pos, stop, &line, &end)) {
        line_no++;
        if (blank(line, end))
            continue;
        int got = split_fields(line, end, f, ncols);
        if (got != ncols) {
            ok = csv_error_at(c, line_no, 1, (int)(end - line),
                              "row has %d field%s, header has %d", got, got == 1 ? "" : "s", ncols);
            break;
        }
        if (n + (size_t)ncols > cap) {
            cap = cap ? 2 * cap : 1024 * (size_t)ncols;
            if (cap > MAX_FLOATS) {
                ok = csv_error_at(c, line_no, 1, (int)(end - line),
                                  "too many values: the limit is %d", MAX_FLOATS);
                break;
            }
            *vals = xrealloc(*vals, cap * sizeof **vals);
        }
        for (int i = 0; i < ncols && ok; i++) {
            double v;
            if (parse_number(&f[i], &v))
                (*vals)[n++] = (float)v;
            else if (f[i].len == 0)
                ok = csv_error_at(c, line_no, f[i].col, 0, "empty field, expected a number");
            else
                ok = csv_error_at(c, line_no, f[i].col, f[i].len, "'%.*s' is not a number",
                                  f[i].len, f[i].p);
        }
    }
    free(f);
    *nrows = ok ? (long)(n / (size_t)ncols) : 0;
    return ok;
}

/* Splits the parsed table into x (every column but the target) and y. */
static void csv_split(Dataset *ds, const float *vals, long rows, int ncols, int target)
{
    bool classes = true;
    float max = 0;
    for (long r = 0; r < rows; r++) {
        float t = vals[r * ncols + target];
        classes = classes && t >= 0 && t == floorf(t) && t < 1e6f;
        max = t > max ? t : max;
        ds->y[r] = t;
        float *x = ds->x + r * (ncols - 1);
        for (int i = 0, j = 0; i < ncols; i++)
            if (i != target)
                x[j++] = vals[r * ncols + i];
    }
    ds->classes = classes ? (int)max + 1 : 0;
}

/* The `shape` argument: none, or a list of 1 to IR_MAX_RANK whole
 * dimensions; its product is checked against the columns once they are
 * known. */
static bool csv_shape_arg(const Spec *s, Shape *out, DiagSink *d)
{
    const Value *v = spec_arg(s, "shape");
    *out = (Shape){0};
    if (v->kind == VAL_NONE)
        return true;
    if (v->kind != VAL_LIST)
        return diag_error(d, s->span, "csv: shape must be a list of dimensions such as "
                          "[1, 8, 8], got a %s", value_kind_name(v->kind));
    if (v->len < 1 || v->len > IR_MAX_RANK)
        return diag_error(d, s->span, "csv: shape must have 1 to %d dimensions, got %d",
                          IR_MAX_RANK, v->len);
    out->rank = v->len;
    for (int i = 0; i < v->len; i++) {
        const Value *x = &v->items[i];
        if (x->kind != VAL_NUM || !(x->num >= 1 && x->num <= IR_MAX_ELEMS) ||
            x->num != floor(x->num)) {
            char got[DIAG_NUM_LEN];
            if (x->kind == VAL_NUM)
                diag_num(x->num, got, sizeof got);
            else
                snprintf(got, sizeof got, "a %s", value_kind_name(x->kind));
            return diag_error(d, s->span, "csv: shape's dimensions must be whole numbers of "
                              "at least 1, got %s", got);
        }
        out->dim[i] = (long)x->num;
    }
    /* shape_size is 0 past SIZE_MAX, which would read "holds 0 values" */
    size_t n = shape_size(*out);
    if (n == 0 || n > (size_t)IR_MAX_ELEMS) {
        char a[96];
        return diag_error(d, s->span, "csv: shape %s holds more than 2^31 - 1 values",
                          shape_str(*out, a, sizeof a));
    }
    return true;
}

static bool load_csv(Dataset *ds, const Spec *s, const char *base_dir, DiagSink *d)
{
    Shape xs;
    if (!csv_shape_arg(s, &xs, d))
        return false;
    const char *path = spec_arg(s, "path")->str, *target = spec_arg(s, "target")->str;
    char *resolved = resolve(base_dir, path), *text = NULL;
    size_t len = 0;
    Csv c = {path, resolved, d, -1};
    bool ok = false;
    float *vals = NULL;
    Field *names = NULL;
    if (!read_all(resolved, &text, &len)) {
        diag_error(d, s->span, "cannot open '%s': %s", path, strerror(errno));
        goto done;
    }
    const char *pos = text, *stop = text + len, *line = NULL, *end = NULL;
    if (len >= 3 && memcmp(pos, "\xEF\xBB\xBF", 3) == 0)
        pos += 3;  /* a UTF-8 byte-order mark, as spreadsheets write */
    int line_no = 0;
    bool header = false;
    while (!header && next_line(&pos, stop, &line, &end)) {
        line_no++;
        header = !blank(line, end);
    }
    if (!header) {
        diag_error(d, s->span, "'%s' is empty: expected a header row of column names", path);
        goto done;
    }
    int ncols = split_fields(line, end, NULL, 0);
    names = xmalloc((size_t)ncols * sizeof *names);
    split_fields(line, end, names, ncols);
    int tcol = find_target(&c, names, ncols, target, line_no, (int)(end - line));
    if (tcol < 0)
        goto done;
    if (ncols < 2) {
        csv_error_at(&c, line_no, 1, (int)(end - line),
                     "no feature columns: '%s' is the only column", target);
        goto done;
    }
    if (xs.rank == 0)
        xs = shape1(ncols - 1);
    else if (shape_size(xs) != (size_t)(ncols - 1)) {
        char a[96];
        diag_error(d, s->span, "csv: shape %s holds %zu values, but '%s' has %d feature "
                   "column%s", shape_str(xs, a, sizeof a), shape_size(xs), path, ncols - 1,
                   ncols == 2 ? "" : "s");
        goto done;
    }
    long rows;
    if (!csv_rows(&c, pos, stop, line_no, ncols, &vals, &rows))
        goto done;
    if (rows == 0) {
        diag_error(d, s->span, "'%s' has a header but no rows", path);
        goto done;
    }
    if (!alloc_set(ds, s, rows, xs, shape1(1), 0, d))
        goto done;
    csv_split(ds, vals, rows, ncols, tcol);
    ok = true;
done:
    free(names);
    free(vals);
    free(text);
    free(resolved);
    return ok;
}

/* ---- IDX (LeCun et al., the MNIST distribution format) ----
 * Big-endian u32 magic (0x00000800 | type << 8 | rank; type 0x08 = u8),
 * rank big-endian u32 dimensions, then the data row-major. */

enum { IDX_IMAGES = 0x00000803, IDX_LABELS = 0x00000801 };

typedef struct Idx {
    long count;           /* items read (limit applied) */
    long declared;        /* items the header declares */
    long item;            /* bytes per item */
    long rows, cols;      /* images only */
    unsigned char *data;
} Idx;

static bool read_u32(gzFile f, uint32_t *out)
{
    unsigned char b[4];
    if (gzread(f, b, 4) != 4)
        return false;
    *out = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return true;
}

/* Reads up to limit (0: all) items of an IDX file of the given magic. */
static bool idx_read(Idx *out, const char *path, const char *shown, uint32_t magic,
                     long limit, Span at, DiagSink *d)
{
    const char *what = magic == IDX_IMAGES ? "image" : "label";
    *out = (Idx){0};
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f)
        return diag_error(d, at, "cannot open '%s': %s", shown,
                          errno ? strerror(errno) : "out of memory");
    uint32_t m, dim[3] = {0, 1, 1};
    int rank = magic == IDX_IMAGES ? 3 : 1;
    bool ok = false;
    if (!read_u32(f, &m)) {
        diag_error(d, at, "'%s' is not an IDX file: it is too short for a header", shown);
        goto done;
    }
    if (m != magic) {
        diag_error(d, at, "'%s' is not an IDX %s file: magic number 0x%08x, expected 0x%08x",
                   shown, what, m, magic);
        goto done;
    }
    for (int i = 0; i < rank; i++)
        if (!read_u32(f, &dim[i])) {
            diag_error(d, at, "'%s' is truncated: the header ends early", shown);
            goto done;
        }
    uint64_t item = (uint64_t)dim[1] * dim[2];
    if (dim[0] > MAX_POINTS || item > 1u << 20 || item == 0) {
        diag_error(d, at, "'%s' declares an implausible size: %u %ss of %u×%u", shown,
                   dim[0], what, dim[1], dim[2]);
        goto done;
    }
    out->declared = dim[0];
    out->count = limit > 0 && limit < out->declared ? limit : out->declared;
    out->rows = dim[1];
    out->cols = dim[2];
    out->item = (long)item;
    size_t want = (size_t)(out->count * out->item), got = 0;
    out->data = xmalloc(want + 1);
    while (got < want) {
        unsigned chunk = want - got > (1u << 30) ? 1u << 30 : (unsigned)(want - got);
        int k = gzread(f, out->data + got, chunk);
        if (k < 0) {
            int err;
            const char *why = gzerror(f, &err);
            diag_error(d, at, "cannot read '%s': %s", shown, err == Z_ERRNO ? strerror(errno) : why);
            goto done;
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    if (got < want) {
        diag_error(d, at, "'%s' is truncated: the header declares %ld %ss, the data ends after %ld",
                   shown, out->declared, what, (long)(got / (size_t)out->item));
        goto done;
    }
    ok = true;
done:
    gzclose(f);
    if (!ok) {
        free(out->data);
        out->data = NULL;
    }
    return ok;
}

/* Pairs an image file with a label file; classes 0 means max label + 1. */
static bool load_idx_pair(Dataset *ds, const Spec *s, const char *images, const char *labels,
                          const char *shown_images, const char *shown_labels, long limit,
                          int classes, DiagSink *d)
{
    Idx im, lb;
    if (!idx_read(&im, images, shown_images, IDX_IMAGES, limit, s->span, d))
        return false;
    bool ok = false;
    if (!idx_read(&lb, labels, shown_labels, IDX_LABELS, limit, s->span, d))
        goto done;
    if (im.declared != lb.declared) {
        diag_error(d, s->span, "'%s' holds %ld images but '%s' holds %ld labels",
                   shown_images, im.declared, shown_labels, lb.declared);
        goto done;
    }
    int max = 0;
    for (long i = 0; i < lb.count; i++)
        max = lb.data[i] > max ? lb.data[i] : max;
    if (classes == 0)
        classes = max + 1;
    else if (max >= classes) {
        diag_error(d, s->span, "'%s' holds label %d, expected labels below %d",
                   shown_labels, max, classes);
        goto done;
    }
    Shape image = {3, {1, im.rows, im.cols}};
    if (!alloc_set(ds, s, im.count, image, shape1(1), classes, d))
        goto done;
    for (long i = 0; i < im.count * im.item; i++)
        ds->x[i] = (float)im.data[i] / 255.0f;
    for (long i = 0; i < lb.count; i++)
        ds->y[i] = (float)lb.data[i];
    ok = true;
done:
    free(lb.data);
    free(im.data);
    return ok;
}

static bool load_idx(Dataset *ds, const Spec *s, const char *base_dir, DiagSink *d)
{
    const char *images = spec_arg(s, "images")->str, *labels = spec_arg(s, "labels")->str;
    char *ri = resolve(base_dir, images), *rl = resolve(base_dir, labels);
    bool ok = load_idx_pair(ds, s, ri, rl, images, labels, 0, 0, d);
    free(ri);
    free(rl);
    return ok;
}

static bool load_fashion_mnist(Dataset *ds, const Spec *s, DiagSink *d)
{
    const char *split = spec_arg(s, "split")->str;
    long limit;
    if (!int_arg(s, "limit", 0, MAX_POINTS, &limit, d))
        return false;
    const char *prefix = strcmp(split, "train") == 0 ? "train" : strcmp(split, "test") == 0 ? "t10k" : NULL;
    if (!prefix)
        return diag_error(d, s->span, "fashion_mnist: split must be \"train\" or \"test\", got \"%s\"",
                          split);
    char images[256], labels[256];
    snprintf(images, sizeof images, FASHION_DIR "/%s-images-idx3-ubyte.gz", prefix);
    snprintf(labels, sizeof labels, FASHION_DIR "/%s-labels-idx1-ubyte.gz", prefix);
    if (!load_idx_pair(ds, s, images, labels, images, labels, limit, FASHION_CLASSES, d)) {
        diag_note(d, "Fashion-MNIST comes from Debian's dataset-fashion-mnist package "
                     "(`make deps` installs it)");
        return false;
    }
    return true;
}

/* ---- entry points ---- */

static bool generate(Dataset *ds, const Spec *s, uint64_t seed, DiagSink *d)
{
    Rng r;
    rng_derive(&r, seed, RNG_DATA);
    switch ((SpecId)s->id) {
    case SPEC_SPIRALS:
        return gen_spirals(ds, s, &r, d);
    case SPEC_XOR:
        return gen_xor(ds, s, &r, d);
    case SPEC_PARITY:
        return gen_parity(ds, s, &r, d);
    case SPEC_BLOBS:
        return gen_blobs(ds, s, &r, d);
    case SPEC_CIRCLES:
        return gen_circles(ds, s, &r, d);
    case SPEC_CHECKERBOARD:
        return gen_checkerboard(ds, s, &r, d);
    case SPEC_ADDING:
        return gen_adding(ds, s, &r, d);
    case SPEC_COPY_MEMORY:
        return gen_copy_memory(ds, s, &r, d);
    case SPEC_COPY_TOKENS:
    case SPEC_REVERSE_TOKENS:
    case SPEC_SORT_TOKENS:
        return gen_tokens(ds, s, &r, d);
    default:
        return diag_error(d, s->span, "'%s' is a %s, not a data set", spec_table[s->id].name,
                          spec_kind_name(spec_table[s->id].kind));
    }
}

bool data_load(Dataset *ds, const Spec *spec, uint64_t seed, const char *base_dir, DiagSink *d)
{
    *ds = (Dataset){0};
    bool ok;
    switch ((SpecId)spec->id) {
    case SPEC_CSV:
        ok = load_csv(ds, spec, base_dir, d);
        break;
    case SPEC_IDX:
        ok = load_idx(ds, spec, base_dir, d);
        break;
    case SPEC_FASHION_MNIST:
        ok = load_fashion_mnist(ds, spec, d);
        break;
    default:
        ok = generate(ds, spec, seed, d);
        break;
    }
    if (!ok) {
        data_free(ds);
        return false;
    }
    ds->name = describe(spec);
    return true;
}

/* s without its leading dimensions of size 1 (but at least one dimension) */
static Shape drop_leading_ones(Shape s)
{
    int k = 0;
    while (k < s.rank - 1 && s.dim[k] == 1)
        k++;
    Shape out = {s.rank - k, {0}};
    for (int i = k; i < s.rank; i++)
        out.dim[i - k] = s.dim[i];
    return out;
}

bool data_fits(Shape data, Shape input)
{
    return shape_eq(drop_leading_ones(data), drop_leading_ones(input)) ||
           (input.rank == 1 && shape_size(input) == shape_size(data));
}

void data_free(Dataset *ds)
{
    free(ds->x);
    free(ds->y);
    free(ds->name);
    *ds = (Dataset){0};
}

static void copy_rows(float *dst, const float *src, const int *rows, int n, size_t width)
{
    for (int i = 0; i < n; i++)
        memcpy(dst + (size_t)i * width, src + (size_t)rows[i] * width, width * sizeof *dst);
}

void data_fill(const Dataset *ds, Exec *e, const int *rows, int n)
{
    copy_rows(exec_source(e, e->g->input), ds->x, rows, n, shape_size(ds->x_shape));
    copy_rows(exec_source(e, e->g->target), ds->y, rows, n, shape_size(ds->y_shape));
}

int data_next_row(int *order, int n, int *cursor, Rng *rng)
{
    if (*cursor == n) {
        rng_shuffle(rng, order, n);
        *cursor = 0;
    }
    return order[(*cursor)++];
}
