/* safetensors.c — writing and reading checkpoints in the safetensors layout.
 *
 * Writing: the JSON header is printed into memory, padded with spaces to a
 * multiple of 8 bytes (as the reference implementation does, so the data
 * that follows is aligned), then header length, header and data go to a
 * temporary file in the target's folder, which is renamed over the target
 * only once everything is written and closed.
 *
 * Reading: the whole file is read, its header parsed by a small strict
 * JSON parser (RFC 8259), every entry checked against the file's size and
 * then against the graph, and only then are the floats copied into the
 * parameter block. Floats are converted from little-endian byte by byte,
 * so files are portable between hosts of either byte order. */
#include "vg/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vg/arena.h"

enum { MAX_DIMS = 8, MAX_JSON_DEPTH = 64 };

/* ---- writing ---- */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static const char *const dtype_names[ST_NDTYPES] = {
    [ST_F32] = "F32", [ST_F64] = "F64", [ST_I32] = "I32", [ST_I64] = "I64",
    [ST_U64] = "U64", [ST_U8] = "U8",
};
static const int dtype_bytes[ST_NDTYPES] = {
    [ST_F32] = 4, [ST_F64] = 8, [ST_I32] = 4, [ST_I64] = 8, [ST_U64] = 8, [ST_U8] = 1,
};

static size_t tensor_elems(const StTensor *t)
{
    size_t n = 1;
    for (int k = 0; k < t->rank; k++)
        n *= (size_t)t->dim[k];
    return n;
}

/* The header JSON, padded with spaces to a multiple of 8 bytes. */
static char *header_json(const StTensor *t, int nt, const char *const *meta, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) {
        fprintf(stderr, "vg: internal error: open_memstream: %s\n", strerror(errno));
        abort();
    }
    fputs("{\"__metadata__\":{", f);
    for (int i = 0; meta && meta[i]; i += 2) {
        if (i)
            fputc(',', f);
        json_string(f, meta[i]);
        fputc(':', f);
        json_string(f, meta[i + 1]);
    }
    fputc('}', f);
    size_t at = 0;
    for (int i = 0; i < nt; i++) {
        size_t bytes = tensor_elems(&t[i]) * (size_t)dtype_bytes[t[i].dtype];
        fputc(',', f);
        json_string(f, t[i].name);
        fprintf(f, ":{\"dtype\":\"%s\",\"shape\":[", dtype_names[t[i].dtype]);
        for (int k = 0; k < t[i].rank; k++)
            fprintf(f, "%s%ld", k ? "," : "", t[i].dim[k]);
        fprintf(f, "],\"data_offsets\":[%zu,%zu]}", at, at + bytes);
        at += bytes;
    }
    fputc('}', f);
    long used = ftell(f);
    while (used % 8) {
        fputc(' ', f);
        used++;
    }
    fclose(f);
    *len = n;
    return buf;
}

static void put_le(unsigned char *b, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

/* n elements of `size` bytes each, little-endian whatever the host. */
static bool write_le(FILE *f, const void *x, size_t n, int size)
{
    unsigned char buf[4096];
    size_t used = 0;
    const unsigned char *src = x;
    for (size_t i = 0; i < n; i++, src += size) {
        uint64_t u = 0;
        if (size == 1) {
            u = src[0];
        } else if (size == 4) {
            uint32_t v;
            memcpy(&v, src, 4);
            u = v;
        } else {
            memcpy(&u, src, 8);
        }
        put_le(buf + used, u, size);
        used += (size_t)size;
        if (used + 8 > sizeof buf || i + 1 == n) {
            if (fwrite(buf, 1, used, f) != used)
                return false;
            used = 0;
        }
    }
    return true;
}

static bool write_all(FILE *f, const StTensor *t, int nt, const char *header, size_t len)
{
    unsigned char n8[8];
    put_le(n8, len, 8);
    if (fwrite(n8, 1, 8, f) != 8 || fwrite(header, 1, len, f) != len)
        return false;
    for (int i = 0; i < nt; i++)
        if (!write_le(f, t[i].data, tensor_elems(&t[i]), dtype_bytes[t[i].dtype]))
            return false;
    return fflush(f) == 0 && fsync(fileno(f)) == 0;
}

/* The folder's entry for a renamed file reaches the disk only when the
 * folder itself is flushed. */
static void sync_folder(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xstrdup(path) : xstrdup(".");
    if (slash)
        dir[slash == path ? 1 : slash - path] = '\0';
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

bool safetensors_write(const char *path, const StTensor *t, int nt, const char *const *meta,
                       DiagSink *d)
{
    size_t len;
    char *header = header_json(t, nt, meta, &len);
    size_t plen = strlen(path);
    char *tmp = xmalloc(plen + 16);
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "wb");
    bool ok = f && fchmod(fd, 0644) == 0 && write_all(f, t, nt, header, len);
    int err = errno;
    if (f && fclose(f) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (!f && fd >= 0)
        close(fd);
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        err = errno;
    }
    if (ok)
        sync_folder(path);
    else {
        if (fd >= 0)
            remove(tmp);
        diag_error(d, SPAN_NONE, "cannot write checkpoint '%s': %s", path, strerror(err));
    }
    free(tmp);
    free(header);
    return ok;
}

bool safetensors_save(const char *path, const IrGraph *g, const ParamStore *ps,
                      const char *const *meta, DiagSink *d)
{
    StTensor *t = xcalloc((size_t)g->nparams + 1, sizeof *t);
    for (int i = 0; i < g->nparams; i++) {
        const IrParam *p = &g->params[i];
        t[i] = (StTensor){.name = p->name, .dtype = ST_F32, .rank = p->shape.rank,
                          .data = ps->value + p->offset};
        memcpy(t[i].dim, p->shape.dim, sizeof(long) * (size_t)p->shape.rank);
    }
    bool ok = safetensors_write(path, t, g->nparams, meta, d);
    free(t);
    return ok;
}

char *safetensors_run_path(const char *path, const char *run)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        dot = path + strlen(path);
    size_t n = strlen(path) + strlen(run) + 2;
    char *out = xmalloc(n);
    snprintf(out, n, "%.*s.%s%s", (int)(dot - path), path, run, dot);
    return out;
}

/* ---- a strict JSON reader for the header ---- */

typedef struct Json {
    const char *s;
    size_t n, i;
    const char *err;   /* what was expected where parsing stopped */
    Arena *arena;
} Json;

static void skip_ws(Json *j)
{
    while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' ||
                           j->s[j->i] == '\r'))
        j->i++;
}

static bool fail(Json *j, const char *what)
{
    if (!j->err)
        j->err = what;
    return false;
}

static bool expect_char(Json *j, char c, const char *what)
{
    skip_ws(j);
    if (j->i < j->n && j->s[j->i] == c) {
        j->i++;
        return true;
    }
    return fail(j, what);
}

/* Consumes c if it comes next. */
static bool accept(Json *j, char c)
{
    skip_ws(j);
    if (j->i < j->n && j->s[j->i] == c) {
        j->i++;
        return true;
    }
    return false;
}

static int hex4(const char *s)
{
    int v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A \uXXXX escape (the backslash and u already read), with a following
 * low surrogate when it is a high one. */
static bool unicode_escape(Json *j, uint32_t *cp)
{
    int hi = j->i + 4 <= j->n ? hex4(j->s + j->i) : -1;
    if (hi < 0)
        return fail(j, "four hex digits after \\u");
    j->i += 4;
    *cp = (uint32_t)hi;
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return fail(j, "a high surrogate before a low one");
    if (hi < 0xd800 || hi > 0xdbff)
        return true;
    int lo = j->i + 6 <= j->n && j->s[j->i] == '\\' && j->s[j->i + 1] == 'u'
                 ? hex4(j->s + j->i + 2) : -1;
    if (lo < 0xdc00 || lo > 0xdfff)
        return fail(j, "a low surrogate after a high one");
    j->i += 6;
    *cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
    return true;
}

/* A string, decoded into the arena (a decoded string is never longer than
 * its source text). */
static bool string(Json *j, char **out)
{
    if (!expect_char(j, '"', "a string"))
        return false;
    char *o = arena_alloc(j->arena, j->n - j->i + 1);
    size_t k = 0;
    for (;;) {
        if (j->i >= j->n)
            return fail(j, "the end of a string");
        unsigned char c = (unsigned char)j->s[j->i++];
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(j, "no control character inside a string");
        if (c != '\\') {
            o[k++] = (char)c;
            continue;
        }
        size_t backslash = j->i - 1;
        if (j->i >= j->n)
            return fail(j, "an escape");
        char e = j->s[j->i++];
        const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
        const char *at = e ? strchr(from, e) : NULL;
        uint32_t cp;
        if (at) {
            o[k++] = to[at - from];
        } else if (e == 'u') {
            if (!unicode_escape(j, &cp))
                return false;
            k += put_utf8(o + k, cp);
        } else {
            j->i = backslash;
            return fail(j, "a valid escape");
        }
    }
    o[k] = '\0';
    *out = o;
    return true;
}

/* A JSON number; integral reports whether it is a non-negative integer
 * written without fraction or exponent. */
static bool number(Json *j, double *out, bool *integral)
{
    skip_ws(j);
    size_t start = j->i;
    const char *s = j->s;
    if (j->i < j->n && s[j->i] == '-')
        j->i++;
    if (j->i >= j->n || s[j->i] < '0' || s[j->i] > '9')
        return fail(j, "a number");
    if (s[j->i] == '0')
        j->i++;
    while (j->i < j->n && s[j->i] >= '0' && s[j->i] <= '9')
        j->i++;
    *integral = s[start] != '-';
    if (j->i < j->n && s[j->i] == '.') {
        j->i++;
        *integral = false;
        if (j->i >= j->n || s[j->i] < '0' || s[j->i] > '9')
            return fail(j, "digits after '.'");
        while (j->i < j->n && s[j->i] >= '0' && s[j->i] <= '9')
            j->i++;
    }
    if (j->i < j->n && (s[j->i] == 'e' || s[j->i] == 'E')) {
        j->i++;
        *integral = false;
        if (j->i < j->n && (s[j->i] == '+' || s[j->i] == '-'))
            j->i++;
        if (j->i >= j->n || s[j->i] < '0' || s[j->i] > '9')
            return fail(j, "digits in an exponent");
        while (j->i < j->n && s[j->i] >= '0' && s[j->i] <= '9')
            j->i++;
    }
    char buf[64];
    size_t len = j->i - start;
    if (len >= sizeof buf)
        len = sizeof buf - 1;
    memcpy(buf, s + start, len);
    buf[len] = '\0';
    *out = strtod(buf, NULL);
    return true;
}

static bool value(Json *j, int depth);

/* The members of an object or the elements of an array, after the opening
 * bracket; each is parsed by value() (for objects, after its key). */
static bool container(Json *j, char close, bool object, int depth)
{
    if (accept(j, close))
        return true;
    do {
        char *key;
        if (object && (!string(j, &key) || !expect_char(j, ':', "':'")))
            return false;
        if (!value(j, depth + 1))
            return false;
    } while (accept(j, ','));
    return expect_char(j, close, object ? "',' or '}'" : "',' or ']'");
}

static bool literal(Json *j, const char *word)
{
    size_t n = strlen(word);
    if (j->n - j->i < n || memcmp(j->s + j->i, word, n) != 0)
        return fail(j, "a value");
    j->i += n;
    return true;
}

/* Any value, checked and skipped. */
static bool value(Json *j, int depth)
{
    if (depth > MAX_JSON_DEPTH)
        return fail(j, "less nesting");
    skip_ws(j);
    if (j->i >= j->n)
        return fail(j, "a value");
    char c = j->s[j->i];
    char *s;
    double x;
    bool integral;
    switch (c) {
    case '{': j->i++; return container(j, '}', true, depth);
    case '[': j->i++; return container(j, ']', false, depth);
    case '"': return string(j, &s);
    case 't': return literal(j, "true");
    case 'f': return literal(j, "false");
    case 'n': return literal(j, "null");
    default: return number(j, &x, &integral);
    }
}

/* ---- the header's entries ---- */

typedef struct StEntry {
    const char *name;
    const char *dtype;       /* NULL when absent */
    int rank;                /* -1 when "shape" is absent */
    long dim[MAX_DIMS];
    int noffsets;            /* 2 when "data_offsets" was read */
    size_t begin, end;
    bool used;               /* matched by a parameter */
} Entry;

/* An array of non-negative integers into out (at most max). */
static bool int_array(Json *j, size_t *out, int max, int *count, const char *what)
{
    *count = 0;
    if (!expect_char(j, '[', what))
        return false;
    if (accept(j, ']'))
        return true;
    do {
        double x;
        bool integral;
        skip_ws(j);
        size_t at = j->i;
        if (!number(j, &x, &integral))
            return false;
        if (!integral || x > 9007199254740992.0 || *count == max) {
            j->i = at;
            return fail(j, what);
        }
        out[(*count)++] = (size_t)x;
    } while (accept(j, ','));
    return expect_char(j, ']', "',' or ']'");
}

static bool entry(Json *j, Entry *e)
{
    e->rank = -1;
    if (!expect_char(j, '{', "an object describing the tensor"))
        return false;
    if (accept(j, '}'))
        return true;
    do {
        char *key;
        if (!string(j, &key) || !expect_char(j, ':', "':'"))
            return false;
        size_t v[MAX_DIMS];
        int n;
        if (strcmp(key, "dtype") == 0) {
            char *dt;
            if (!string(j, &dt))
                return false;
            e->dtype = dt;
        } else if (strcmp(key, "shape") == 0) {
            if (!int_array(j, v, MAX_DIMS, &n, "a shape: at most 8 non-negative integers"))
                return false;
            e->rank = n;
            for (int k = 0; k < n; k++)
                e->dim[k] = v[k] > (size_t)IR_MAX_ELEMS ? -1 : (long)v[k];
        } else if (strcmp(key, "data_offsets") == 0) {
            if (!int_array(j, v, 2, &n, "data_offsets: two non-negative integers"))
                return false;
            if (n != 2)
                return fail(j, "data_offsets: two non-negative integers");
            e->noffsets = 2;
            e->begin = v[0];
            e->end = v[1];
        } else if (!value(j, 1)) {
            return false;
        }
    } while (accept(j, ','));
    return expect_char(j, '}', "',' or '}'");
}

/* "__metadata__": its string values kept as key, value pairs; values of
 * other kinds, which the format does not define, checked and skipped. */
static bool metadata(Json *j, StFile *f)
{
    int cap = 0;
    if (!expect_char(j, '{', "an object of metadata"))
        return false;
    if (accept(j, '}'))
        return true;
    do {
        char *key, *val;
        if (!string(j, &key) || !expect_char(j, ':', "':'"))
            return false;
        skip_ws(j);
        if (j->i < j->n && j->s[j->i] == '"') {
            if (!string(j, &val))
                return false;
            VEC_PUSH(f->meta, f->nmeta, cap, key);
            VEC_PUSH(f->meta, f->nmeta, cap, val);
        } else if (!value(j, 1)) {
            return false;
        }
    } while (accept(j, ','));
    return expect_char(j, '}', "',' or '}'");
}

/* The header object: the entries and the metadata. */
static bool header(Json *j, StFile *f, Entry **out, int *count)
{
    int cap = 0;
    *out = NULL;
    *count = 0;
    if (!expect_char(j, '{', "'{'"))
        return false;
    bool empty = accept(j, '}');
    while (!empty) {
        char *key;
        if (!string(j, &key) || !expect_char(j, ':', "':'"))
            return false;
        if (strcmp(key, "__metadata__") == 0) {
            if (!metadata(j, f))
                return false;
        } else {
            VEC_PUSH(*out, *count, cap, ((Entry){.name = key}));
            if (!entry(j, &(*out)[*count - 1]))
                return false;
        }
        if (!accept(j, ','))
            break;
    }
    if (!empty && !expect_char(j, '}', "',' or '}'"))
        return false;
    skip_ws(j);
    return j->i == j->n || fail(j, "nothing after the header object");
}

/* ---- reading ---- */

/* "checkpoint 'PATH'" + how + the message: the one form of every error
 * about a file being read. */
static void file_error(StFile *l, const char *how, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    diag_error(l->d, SPAN_NONE, "checkpoint '%s'%s%s", l->path, how, msg);
}

static SafetensorsStatus bad(StFile *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static SafetensorsStatus bad(StFile *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    file_error(l, ": ", fmt, ap);
    va_end(ap);
    return ST_BAD_FILE;
}

static SafetensorsStatus read_file(StFile *l)
{
    FILE *f = fopen(l->path, "rb");
    if (!f)
        return bad(l, "cannot open it: %s", strerror(errno));
    size_t cap = 1 << 16;
    l->bytes = xmalloc(cap);
    size_t got;
    while ((got = fread(l->bytes + l->size, 1, cap - l->size, f)) > 0) {
        l->size += got;
        if (l->size == cap)
            l->bytes = xrealloc(l->bytes, cap *= 2);
    }
    bool err = ferror(f);
    int e = errno;
    fclose(f);
    return err ? bad(l, "cannot read it: %s", strerror(e)) : ST_OK;
}

static SafetensorsStatus parse_header(StFile *l)
{
    if (l->size < 8)
        return bad(l, "the file is truncated: %zu bytes, less than the 8-byte header length",
                   l->size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | l->bytes[i];
    if (n > l->size - 8)
        return bad(l, "the file is truncated: the header length is %llu bytes, but only %zu "
                   "follow", (unsigned long long)n, l->size - 8);
    Json j = {.s = (const char *)l->bytes + 8, .n = (size_t)n, .arena = l->arena};
    bool ok = header(&j, l, &l->entries, &l->nentries);
    if (!ok && j.i == j.n)
        return bad(l, "the header is not valid safetensors JSON: expected %s at the end of "
                   "the header (%zu bytes)", j.err, j.n);
    if (!ok)
        return bad(l, "the header is not valid safetensors JSON: expected %s at byte %zu of "
                   "the header", j.err, j.i);
    l->data_at = 8 + (size_t)n;
    for (int i = 0; i < l->nentries; i++)
        for (int k = 0; k < i; k++)
            if (strcmp(l->entries[i].name, l->entries[k].name) == 0)
                return bad(l, "the header names tensor '%s' twice", l->entries[i].name);
    return ST_OK;
}

static size_t entry_elems(const Entry *e)
{
    size_t n = 1;
    for (int k = 0; k < e->rank; k++)
        n *= e->dim[k] < 0 ? 0 : (size_t)e->dim[k];
    return n;
}

/* Every entry well-formed and inside the data, whatever the graph. */
static SafetensorsStatus check_entries(StFile *l)
{
    size_t data = l->size - l->data_at;
    for (int i = 0; i < l->nentries; i++) {
        const Entry *e = &l->entries[i];
        const char *missing = !e->dtype ? "dtype" : e->rank < 0 ? "shape"
                            : e->noffsets != 2 ? "data_offsets" : NULL;
        if (missing)
            return bad(l, "tensor '%s' has no \"%s\"", e->name, missing);
        if (e->end < e->begin)
            return bad(l, "tensor '%s' has data_offsets [%zu, %zu] that end before they "
                       "begin", e->name, e->begin, e->end);
        if (e->end > data)
            return bad(l, "the file is truncated: tensor '%s' ends at byte %zu of the data, "
                       "but the data has %zu bytes", e->name, e->end, data);
    }
    return ST_OK;
}

static int find_entry(const StFile *l, const char *name)
{
    for (int i = 0; i < l->nentries; i++)
        if (strcmp(l->entries[i].name, name) == 0)
            return i;
    return -1;
}

static Shape entry_shape(const Entry *e)
{
    Shape s = {.rank = e->rank > IR_MAX_RANK ? IR_MAX_RANK : e->rank};
    for (int k = 0; k < s.rank; k++)
        s.dim[k] = e->dim[k];
    return s;
}

static char *dims_str(const Entry *e, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int k = 0; k < e->rank && used < n; k++)
        used += (size_t)snprintf(buf + used, n - used, "%s%ld", k ? ", " : "", e->dim[k]);
    if (used < n)
        snprintf(buf + used, n - used, "]");
    return buf;
}

static SafetensorsStatus mismatch(StFile *l, const IrGraph *g, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static SafetensorsStatus mismatch(StFile *l, const IrGraph *g, const char *fmt, ...)
{
    char how[256];
    snprintf(how, sizeof how, " does not fit model '%s': ", g->name);
    va_list ap;
    va_start(ap, fmt);
    file_error(l, how, fmt, ap);
    va_end(ap);
    return ST_MISMATCH;
}

/* The graph's parameters in declaration order, then the file's extra
 * tensors in file order: the first mismatch is reported. */
static SafetensorsStatus match(StFile *l, const IrGraph *g)
{
    char a[96], b[96];
    for (int i = 0; i < g->nparams; i++) {
        const IrParam *p = &g->params[i];
        int at = find_entry(l, p->name);
        if (at < 0)
            return mismatch(l, g, "it has no tensor '%s'", p->name);
        Entry *e = &l->entries[at];
        e->used = true;
        if (strcmp(e->dtype, "F32") != 0)
            return mismatch(l, g, "tensor '%s' has dtype %s, but vg reads F32 only", p->name,
                            e->dtype);
        if (e->rank > IR_MAX_RANK || !shape_eq(entry_shape(e), p->shape))
            return mismatch(l, g, "tensor '%s' has shape %s, but the model's is %s", p->name,
                            dims_str(e, a, sizeof a), shape_str(p->shape, b, sizeof b));
        if (e->end - e->begin != entry_elems(e) * 4)
            return bad(l, "tensor '%s' of shape %s takes %zu bytes of data, not %zu",
                       p->name, dims_str(e, a, sizeof a), e->end - e->begin,
                       entry_elems(e) * 4);
    }
    for (int i = 0; i < l->nentries; i++)
        if (!l->entries[i].used)
            return mismatch(l, g, "it has a tensor '%s' that the model does not have",
                            l->entries[i].name);
    return ST_OK;
}

static void copy_in(const StFile *l, const IrGraph *g, ParamStore *ps)
{
    for (int i = 0; i < g->nparams; i++) {
        const IrParam *p = &g->params[i];
        const Entry *e = &l->entries[find_entry(l, p->name)];
        const unsigned char *src = l->bytes + l->data_at + e->begin;
        float *dst = ps->value + p->offset;
        for (size_t k = 0; k < shape_size(p->shape); k++, src += 4) {
            uint32_t u = (uint32_t)src[0] | (uint32_t)src[1] << 8 | (uint32_t)src[2] << 16 |
                         (uint32_t)src[3] << 24;
            memcpy(&dst[k], &u, 4);
        }
    }
}

SafetensorsStatus safetensors_open(StFile *f, const char *path, DiagSink *d)
{
    *f = (StFile){.path = path, .d = d, .arena = xmalloc(sizeof(Arena))};
    arena_init(f->arena);
    SafetensorsStatus st = read_file(f);
    if (st == ST_OK)
        st = parse_header(f);
    if (st == ST_OK)
        st = check_entries(f);
    if (st != ST_OK)
        safetensors_close(f);
    return st;
}

void safetensors_close(StFile *f)
{
    free(f->entries);
    free(f->meta);
    free(f->bytes);
    if (f->arena) {
        arena_free(f->arena);
        free(f->arena);
    }
    *f = (StFile){0};
}

const char *safetensors_meta(const StFile *f, const char *key)
{
    for (int i = 0; i + 1 < f->nmeta; i += 2)
        if (strcmp(f->meta[i], key) == 0)
            return f->meta[i + 1];
    return NULL;
}

bool safetensors_has(const StFile *f, const char *name)
{
    return find_entry(f, name) >= 0;
}

static bool damaged(StFile *l, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool damaged(StFile *l, const char *name, const char *fmt, ...)
{
    char how[256];
    snprintf(how, sizeof how, " is damaged: tensor '%s' ", name);
    va_list ap;
    va_start(ap, fmt);
    file_error(l, how, fmt, ap);
    va_end(ap);
    return false;
}

bool safetensors_read(StFile *l, const char *name, StDtype dt, int rank, const long *dim,
                      void *out)
{
    int at = find_entry(l, name);
    if (at < 0)
        return damaged(l, name, "is missing");
    const Entry *e = &l->entries[at];
    char a[96], b[96];
    Entry want = {.rank = rank};
    memcpy(want.dim, dim, sizeof(long) * (size_t)rank);
    if (strcmp(e->dtype, dtype_names[dt]) != 0)
        return damaged(l, name, "has dtype %s, not %s", e->dtype, dtype_names[dt]);
    bool same = e->rank == rank;
    for (int k = 0; same && k < rank; k++)
        same = e->dim[k] == dim[k];
    size_t size = (size_t)dtype_bytes[dt], n = entry_elems(&want);
    if (!same)
        return damaged(l, name, "has shape %s, not %s", dims_str(e, a, sizeof a),
                       dims_str(&want, b, sizeof b));
    if (e->end - e->begin != n * size)
        return damaged(l, name, "takes %zu bytes of data, not %zu", e->end - e->begin,
                       n * size);
    const unsigned char *src = l->bytes + l->data_at + e->begin;
    unsigned char *dst = out;
    for (size_t i = 0; i < n; i++, src += size, dst += size) {
        uint64_t u = 0;
        for (int k = (int)size - 1; k >= 0; k--)
            u = u << 8 | src[k];
        if (size == 1) {
            dst[0] = (unsigned char)u;
        } else if (size == 4) {
            uint32_t v = (uint32_t)u;
            memcpy(dst, &v, 4);
        } else {
            memcpy(dst, &u, 8);
        }
    }
    return true;
}

SafetensorsStatus safetensors_load(const char *path, const IrGraph *g, ParamStore *ps,
                                   DiagSink *d)
{
    StFile f;
    SafetensorsStatus st = safetensors_open(&f, path, d);
    if (st != ST_OK)
        return st;
    st = match(&f, g);
    if (st == ST_OK)
        copy_in(&f, g, ps);
    safetensors_close(&f);
    return st;
}
