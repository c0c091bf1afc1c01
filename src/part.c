/* part.c — writing and reading parts (part.h).
 *
 * A part is a few lines of text that say what made it, so `head` shows
 * it, and then the results in binary, ended by a trailer that a cut file
 * lacks:
 *
 *     vg-part 1
 *     vg 0.1.0
 *     build <sha256 of the executable>
 *     program <sha256 of the program's files>
 *     extra <sha256 of the BLAS and --load>
 *     settings <sha256 of the run as the JSON header lists it>
 *     run grid[20, 0.5]
 *     data
 *     <binary>vg-part end
 *
 * The reports are written value by value through the metric and run-value
 * tables (metric_get, report_value), so a metric added to them travels in
 * parts without a change here. */
#include "vg/part.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vg/blas.h"
#include "vg/metrics.h"
#include "vg/outfile.h"
#include "vg/report.h"
#include "vg/sha256.h"

enum { PART_FORMAT = 1 };
static const char trailer[] = "vg-part end\n";

/* Hashes a file's bytes; false with errno set when it cannot be read. */
static bool hash_file(Sha256 *s, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sha256_update(s, buf, n);
    bool ok = !ferror(f);
    int err = errno;
    fclose(f);
    errno = err;
    return ok;
}

bool part_key_init(PartKey *k, const Program *p, int nfiles, const char *load, DiagSink *diag)
{
    Sha256 s;
    sha256_init(&s);
    if (!hash_file(&s, "/proc/self/exe"))
        return diag_error(diag, SPAN_NONE, "cannot read vg's own executable: %s",
                          strerror(errno));
    sha256_final_hex(&s, k->build);
    sha256_init(&s);
    for (int i = 0; i < nfiles; i++) {
        const Source *f = &p->sources.files[i];
        uint64_t len = f->len;
        sha256_update(&s, &len, sizeof len);
        sha256_update(&s, f->text, f->len);
    }
    sha256_final_hex(&s, k->program);
    sha256_init(&s);
    char blas[128];
    blas_describe(blas, sizeof blas);
    sha256_update(&s, blas, strlen(blas) + 1);
    if (load && !hash_file(&s, load))
        return diag_error(diag, SPAN_NONE, "cannot read '%s': %s", load, strerror(errno));
    sha256_final_hex(&s, k->extra);
    return true;
}

char *part_path(const char *dir, const Member *m)
{
    const char *name = m->train->str;
    size_t n = strlen(dir) + strlen(name) + 32;
    char *path = xmalloc(n);
    if (m->naxes)
        snprintf(path, n, "%s/%s.%d.part", dir, name, m->index);
    else
        snprintf(path, n, "%s/%s.part", dir, name);
    return path;
}

static void settings_hex(const Run *r, char hex[65])
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        perror("vg: internal error: open_memstream");
        abort();
    }
    report_json_run(f, r);
    fclose(f);
    sha256_hex(buf, len, hex);
    free(buf);
}

/* ---- writing ---- */

static void put(FILE *f, const void *x, size_t n)
{
    fwrite(x, 1, n, f);
}

static void put_i64(FILE *f, int64_t v)
{
    put(f, &v, sizeof v);
}

static void put_f64(FILE *f, double v)
{
    put(f, &v, sizeof v);
}

static void put_str(FILE *f, const char *s)
{
    put_i64(f, s ? (int64_t)strlen(s) : -1);
    if (s)
        put(f, s, strlen(s));
}

static void put_report(FILE *f, const Report *rep, int nlayers)
{
    put_i64(f, rep->step);
    for (int k = 0; k < RV_COUNT; k++)
        put_f64(f, report_value(rep, (RunValueId)k));
    for (int l = 0; l < nlayers; l++) {
        const LayerMetrics *m = &rep->layers[l];
        for (int k = 0; k < M_COUNT; k++)
            put_f64(f, metric_get(m, (MetricId)k));
        put_i64(f, m->verdict);
        put_i64(f, m->verdict_by);
        put_i64(f, m->bptt ? m->bptt_len : -1);
        if (m->bptt)
            put(f, m->bptt, sizeof *m->bptt * (size_t)m->bptt_len);
    }
}

static void put_results(FILE *f, const Run *r, int status, const DiagSink *diag, int from)
{
    put_i64(f, status);
    put_i64(f, r->step);
    put_i64(f, r->diverged);
    put_i64(f, r->diverged_at);
    put_i64(f, r->clipped_steps);
    put_f64(f, r->last_global_norm);
    put_f64(f, r->last_loss);
    put_f64(f, r->timing.wall);
    put_f64(f, r->timing.cpu);
    put_i64(f, r->timing.steps);
    put_i64(f, r->g.nlayers);
    put_i64(f, r->nreports);
    for (int i = 0; i < r->nreports; i++)
        put_report(f, &r->reports[i], r->g.nlayers);
    const StepLog *lg = &r->log;
    put_i64(f, lg->first);
    put_i64(f, lg->n);
    put(f, lg->loss, sizeof *lg->loss * (size_t)lg->n);
    put(f, lg->norm, sizeof *lg->norm * (size_t)lg->n);
    put(f, lg->lr, sizeof *lg->lr * (size_t)lg->n);
    put(f, lg->clipped, sizeof *lg->clipped * (size_t)lg->n);
    put_i64(f, r->pretrain != NULL);
    for (int l = 0; r->pretrain && l < r->g.nlayers; l++) {
        put_f64(f, r->pretrain[l].first);
        put_f64(f, r->pretrain[l].last);
        put_str(f, r->pretrain[l].skipped);
    }
    put_i64(f, diag->n - from);
    for (int i = from; i < diag->n; i++) {
        const Diag *d = &diag->items[i];
        const Span *s = &d->span;
        put_i64(f, d->severity);
        int64_t span[5] = {s->file, s->first_line, s->first_column, s->last_line,
                           s->last_column};
        put(f, span, sizeof span);
        put_str(f, d->msg);
        put_str(f, d->note);
    }
}

bool part_write(const char *path, const PartKey *k, const Run *r, int status, DiagSink *diag,
                int from, bool durable)
{
    char settings[65];
    settings_hex(r, settings);
    OutFile of;
    struct stat info;
    do {
        if (!outfile_open(&of, path, diag))
            return false;
        /* held until the file is renamed or this process ends: part_clean
         * leaves it alone; one it removed before the lock is made again */
        if (flock(fileno(of.f), LOCK_EX) != 0 || fstat(fileno(of.f), &info) != 0)
            info.st_nlink = 1;
        if (info.st_nlink == 0)
            outfile_discard(&of);
    } while (info.st_nlink == 0);
    of.transient = !durable;
    fprintf(of.f, "vg-part %d\nvg %s\nbuild %s\nprogram %s\nextra %s\nsettings %s\nrun %s\ndata\n",
            PART_FORMAT, VG_VERSION, k->build, k->program, k->extra, settings, r->name);
    int nd = diag->n;
    put_results(of.f, r, status, diag, from < nd ? from : nd);
    fputs(trailer, of.f);
    return outfile_commit(&of, diag);
}

/* Whether name is the temporary file outfile_open makes for a part:
 * the part's name (part; NULL: any NAME.part) and six characters. */
static bool temporary_of(const char *name, const char *part)
{
    size_t n = strlen(name);
    if (n < 7 || name[n - 7] != '.')
        return false;
    if (part)
        return strlen(part) == n - 7 && strncmp(name, part, n - 7) == 0;
    return n > 12 && strncmp(name + n - 12, ".part", 5) == 0;
}

/* Removes the temporaries of part (NULL: of every part) in dir ("": the
 * working folder) that no writer holds. */
static void clean(const char *dir, const char *part)
{
    DIR *d = opendir(*dir ? dir : ".");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!temporary_of(e->d_name, part))
            continue;
        char *tmp = xmalloc(strlen(dir) + strlen(e->d_name) + 2);
        sprintf(tmp, "%s%s%s", dir, *dir ? "/" : "", e->d_name);
        int fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
            unlink(tmp);
        if (fd >= 0)
            close(fd);
        free(tmp);
    }
    if (d)
        closedir(d);
}

void part_clean(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = xstrdup(path);
    dir[slash ? slash - path : 0] = '\0';
    clean(slash == path ? "/" : dir, slash ? slash + 1 : path);
    free(dir);
}

void part_clean_folder(const char *dir)
{
    clean(dir, NULL);
}

/* ---- reading ---- */

typedef struct Reader {
    FILE *f;
    bool ok;
} Reader;

static void get(Reader *rd, void *x, size_t n)
{
    if (rd->ok && n && fread(x, 1, n, rd->f) != n)
        rd->ok = false;
    if (!rd->ok)
        memset(x, 0, n);
}

static int64_t get_i64(Reader *rd)
{
    int64_t v;
    get(rd, &v, sizeof v);
    return v;
}

/* A count of at most max; a larger one marks the part bad. */
static int64_t get_count(Reader *rd, int64_t lo, int64_t max)
{
    int64_t v = get_i64(rd);
    if (v < lo || v > max)
        rd->ok = false;
    return rd->ok ? v : 0;
}

static double get_f64(Reader *rd)
{
    double v;
    get(rd, &v, sizeof v);
    return v;
}

static char *get_str(Reader *rd)
{
    int64_t n = get_count(rd, -1, 1 << 20);
    if (n < 0 || !rd->ok)
        return NULL;
    char *s = xmalloc((size_t)n + 1);
    get(rd, s, (size_t)n);
    s[n] = '\0';
    return s;
}

static void get_report(Reader *rd, Report *rep, int nlayers)
{
    rep->step = (long)get_i64(rd);
    for (int k = 0; k < RV_COUNT; k++)
        report_value_set(rep, (RunValueId)k, get_f64(rd));
    rep->layers = xcalloc((size_t)nlayers, sizeof *rep->layers);
    for (int l = 0; l < nlayers && rd->ok; l++) {
        LayerMetrics *m = &rep->layers[l];
        for (int k = 0; k < M_COUNT; k++)
            metric_set(m, (MetricId)k, get_f64(rd));
        m->verdict = (Verdict)get_count(rd, 0, VERDICT_DEAD);
        m->verdict_by = (int)get_count(rd, -1, M_COUNT - 1);
        int64_t n = get_count(rd, -1, 1 << 24);
        if (n >= 0 && rd->ok) {
            m->bptt_len = (int)n;
            m->bptt = xmalloc(sizeof *m->bptt * (size_t)(n ? n : 1));
            get(rd, m->bptt, sizeof *m->bptt * (size_t)n);
        }
    }
}

static void get_log(Reader *rd, StepLog *lg)
{
    lg->first = (long)get_i64(rd);
    lg->n = lg->cap = (long)get_count(rd, 0, INT64_C(1) << 40);
    size_t n = (size_t)(lg->n ? lg->n : 1);
    lg->loss = xmalloc(sizeof *lg->loss * n);
    lg->norm = xmalloc(sizeof *lg->norm * n);
    lg->lr = xmalloc(sizeof *lg->lr * n);
    lg->clipped = xmalloc(sizeof *lg->clipped * n);
    get(rd, lg->loss, sizeof *lg->loss * (size_t)lg->n);
    get(rd, lg->norm, sizeof *lg->norm * (size_t)lg->n);
    get(rd, lg->lr, sizeof *lg->lr * (size_t)lg->n);
    get(rd, lg->clipped, sizeof *lg->clipped * (size_t)lg->n);
}

/* The skipped reasons are the pre-training's own constants; kept in the
 * graph's arena, which lives as long as the run. */
static void get_pretrain(Reader *rd, Run *r)
{
    if (!get_count(rd, 0, 1))
        return;
    r->pretrain = xcalloc((size_t)r->g.nlayers, sizeof *r->pretrain);
    for (int l = 0; l < r->g.nlayers && rd->ok; l++) {
        r->pretrain[l].first = get_f64(rd);
        r->pretrain[l].last = get_f64(rd);
        char *s = get_str(rd);
        r->pretrain[l].skipped = s ? arena_strdup(r->g.arena, s) : NULL;
        free(s);
    }
}

/* The run's diagnostics, recorded again in diag as they were. */
typedef struct SavedDiag {
    DiagSeverity severity;
    Span span;
    char *msg, *note;
} SavedDiag;

static int get_diags(Reader *rd, SavedDiag **out)
{
    int n = (int)get_count(rd, 0, 1 << 16);
    SavedDiag *d = xcalloc((size_t)(n ? n : 1), sizeof *d);
    for (int i = 0; i < n && rd->ok; i++) {
        d[i].severity = (DiagSeverity)get_count(rd, DIAG_ERROR, DIAG_NOTE);
        int64_t span[5];
        get(rd, span, sizeof span);
        d[i].span = (Span){(int)span[0], (int)span[1], (int)span[2], (int)span[3],
                           (int)span[4]};
        d[i].msg = get_str(rd);
        d[i].note = get_str(rd);
        if (!d[i].msg)
            rd->ok = false;
    }
    *out = d;
    return n;
}

static void replay_diags(DiagSink *diag, const SavedDiag *d, int n)
{
    for (int i = 0; i < n; i++) {
        if (d[i].severity == DIAG_ERROR)
            diag_error(diag, d[i].span, "%s", d[i].msg);
        else
            diag_warning(diag, d[i].span, "%s", d[i].msg);
        if (d[i].note)
            diag_note(diag, "%s", d[i].note);
    }
}

static void free_diags(SavedDiag *d, int n)
{
    for (int i = 0; i < n; i++) {
        free(d[i].msg);
        free(d[i].note);
    }
    free(d);
}

/* The header line "KEY VALUE"; false when the line is not that. */
static bool header_line(FILE *f, const char *key, char *value, size_t n)
{
    char line[4096];
    if (!fgets(line, sizeof line, f))
        return false;
    size_t k = strlen(key), len = strlen(line);
    if (len == 0 || line[len - 1] != '\n' || strncmp(line, key, k) != 0 || line[k] != ' ')
        return false;
    line[len - 1] = '\0';
    snprintf(value, n, "%s", line + k + 1);
    return true;
}

/* The header's identity against k and r; PART_OK or a refusal with a
 * diagnostic naming what differs. */
static PartStatus check_header(FILE *f, const char *path, const PartKey *k, const Run *r,
                               DiagSink *diag)
{
    char format[32], vg[64], build[80], program[80], extra[80], settings[80], name[4000];
    char data[8];
    if (!header_line(f, "vg-part", format, sizeof format) || !header_line(f, "vg", vg, sizeof vg) ||
        !header_line(f, "build", build, sizeof build) ||
        !header_line(f, "program", program, sizeof program) ||
        !header_line(f, "extra", extra, sizeof extra) ||
        !header_line(f, "settings", settings, sizeof settings) ||
        !header_line(f, "run", name, sizeof name) || !fgets(data, sizeof data, f) ||
        strcmp(data, "data\n") != 0 || strcmp(format, "1") != 0) {
        diag_error(diag, SPAN_NONE, "'%s' is not a part vg %s writes", path, VG_VERSION);
        return PART_BAD;
    }
    char want[65];
    settings_hex(r, want);
    if (strcmp(vg, VG_VERSION) != 0 || strcmp(build, k->build) != 0) {
        diag_error(diag, SPAN_NONE, "part '%s' was made by another vg (%s, build %.12s), "
                   "not this one (%s, build %.12s)", path, vg, build, VG_VERSION, k->build);
        diag_note(diag, "parts are merged by the vg that made them: remove the part to "
                  "run its member again");
    } else if (strcmp(program, k->program) != 0) {
        diag_error(diag, SPAN_NONE, "part '%s' was made from a different program text",
                   path);
        diag_note(diag, "the program or a file it imports changed since: remove the part "
                  "to run its member again");
    } else if (strcmp(name, r->name) != 0) {
        diag_error(diag, SPAN_NONE, "part '%s' holds run '%s', not '%s'", path, name,
                   r->name);
    } else if (strcmp(extra, k->extra) != 0 || strcmp(settings, want) != 0) {
        diag_error(diag, SPAN_NONE, "part '%s' was made with other settings than run '%s' "
                   "has here", path, r->name);
        diag_note(diag, "--set, --seed, --seed-offset, --threads, --load and the BLAS "
                  "must be the ones the part was made with");
    } else {
        return PART_OK;
    }
    return PART_REFUSED;
}

static FILE *open_part(const char *path, PartStatus *st, DiagSink *diag)
{
    FILE *f = fopen(path, "rb");
    *st = f ? PART_OK : errno == ENOENT ? PART_MISSING : PART_BAD;
    if (*st == PART_BAD)
        diag_error(diag, SPAN_NONE, "cannot read '%s': %s", path, strerror(errno));
    return f;
}

PartStatus part_check(const char *path, const PartKey *k, const Run *r, DiagSink *diag)
{
    PartStatus st;
    FILE *f = open_part(path, &st, diag);
    if (f) {
        st = check_header(f, path, k, r, diag);
        fclose(f);
    }
    return st;
}

/* What a run restored from a checkpoint brought along gives way to the
 * part's whole results. */
static void clear_results(Run *r)
{
    for (int i = 0; i < r->nreports; i++)
        report_free(&r->reports[i], r->g.nlayers);
    r->nreports = 0;
    step_log_free(&r->log);
    free(r->pretrain);
    r->pretrain = NULL;
}

PartStatus part_read(const char *path, const PartKey *k, Run *r, int *status, DiagSink *diag)
{
    PartStatus st;
    FILE *f = open_part(path, &st, diag);
    if (f && (st = check_header(f, path, k, r, diag)) != PART_OK)
        fclose(f);
    if (st != PART_OK)
        return st;
    clear_results(r);
    Reader rd = {.f = f, .ok = true};
    *status = (int)get_count(&rd, 0, 255);
    r->step = (long)get_i64(&rd);
    r->diverged = get_count(&rd, 0, 1);
    r->diverged_at = (long)get_i64(&rd);
    r->clipped_steps = (long)get_i64(&rd);
    r->last_global_norm = get_f64(&rd);
    r->last_loss = get_f64(&rd);
    r->timing.wall = get_f64(&rd);
    r->timing.cpu = get_f64(&rd);
    r->timing.steps = (long)get_i64(&rd);
    if (get_i64(&rd) != r->g.nlayers)
        rd.ok = false;
    int n = (int)get_count(&rd, 0, 1 << 24);
    for (int i = 0; i < n && rd.ok; i++) {
        Report rep = {0};
        get_report(&rd, &rep, r->g.nlayers);
        VEC_PUSH(r->reports, r->nreports, r->repcap, rep);
    }
    get_log(&rd, &r->log);
    get_pretrain(&rd, r);
    SavedDiag *saved;
    int nsaved = get_diags(&rd, &saved);
    char end[sizeof trailer];
    get(&rd, end, sizeof trailer - 1);
    end[sizeof trailer - 1] = '\0';
    rd.ok &= strcmp(end, trailer) == 0 && fgetc(f) == EOF;
    fclose(f);
    if (rd.ok)
        replay_diags(diag, saved, nsaved);
    else
        diag_error(diag, SPAN_NONE, "part '%s' is cut short or damaged", path);
    free_diags(saved, nsaved);
    return rd.ok ? PART_OK : PART_BAD;
}
