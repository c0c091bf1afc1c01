/* checkpoint.c — a run's training state as a safetensors file, and back.
 *
 * Arrays are tensors (the parameters under "param." and their IR names, the
 * optimizer's moments, the batch order, the random streams' states, the
 * step log, the reports); scalars are metadata strings, doubles in C's
 * hexadecimal notation ("%a") so that they read back bit for bit. What the
 * file was made from (vg version, program text, settings, BLAS, data,
 * initial parameters) is metadata too, compared before anything of the
 * run changes. */
#include "vg/checkpoint.h"

#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vg/blas.h"
#include "vg/metrics.h"
#include "vg/report.h"
#include "vg/safetensors.h"
#include "vg/sha256.h"

static const char FORMAT[] = "vg-checkpoint-1";

bool checkpoint_open(Checkpointer *c, const Program *p, int nfiles, const char *dir,
                     long every, const char *settings, DiagSink *diag)
{
    *c = (Checkpointer){.dir = dir, .every = every, .settings = xstrdup(settings),
                        .diag = diag};
    /* every source file, each with its length, in load order: an edit of
     * an imported file changes the program too */
    Sha256 s;
    sha256_init(&s);
    for (int i = 0; i < nfiles; i++) {
        uint64_t len = p->sources.files[i].len;
        sha256_update(&s, &len, sizeof len);
        sha256_update(&s, p->sources.files[i].text, p->sources.files[i].len);
    }
    sha256_final_hex(&s, c->program);
    struct stat st;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return diag_error(diag, SPAN_NONE, "cannot make the checkpoint folder '%s': %s", dir,
                          strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return diag_error(diag, SPAN_NONE, "the checkpoint folder '%s' is not a folder", dir);
    /* a folder that cannot be written fails now, not after the first
     * N steps */
    size_t n = strlen(dir) + 32;
    char *probe = xmalloc(n);
    snprintf(probe, n, "%s/.vg-probe.XXXXXX", dir);
    int fd = mkstemp(probe);
    int err = errno;
    if (fd >= 0) {
        close(fd);
        remove(probe);
    }
    free(probe);
    if (fd < 0)
        return diag_error(diag, SPAN_NONE, "cannot write checkpoints into '%s': %s", dir,
                          strerror(err));
    return true;
}

void checkpoint_close(Checkpointer *c)
{
    free(c->settings);
    free(c->ids);
    *c = (Checkpointer){0};
}

char *checkpoint_path(const char *dir, const char *name)
{
    char hex[65];
    sha256_hex(name, strlen(name), hex);
    size_t n = strlen(dir) + strlen(name) + 24;
    char *out = xmalloc(n);
    int at = snprintf(out, n, "%s/", dir);
    for (const char *s = name; *s; s++) {
        char ch = *s;
        bool keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
        out[at++] = keep ? ch : '_';
    }
    snprintf(out + at, n - (size_t)at, "-%.8s.ckpt", hex);
    return out;
}

static const CheckpointRunId *run_id(const Checkpointer *c, const Run *r)
{
    for (int i = 0; i < c->nids; i++)
        if (c->ids[i].r == r)
            return &c->ids[i];
    fprintf(stderr, "vg: internal error: run '%s' checkpointed before checkpoint_begin\n",
            r->name);
    abort();
}

/* ---- what a checkpoint was made from ---- */

typedef struct Identity {
    const char *key, *made;  /* metadata key; "was made …" */
    const char *now;
} Identity;

enum { NIDENTITY = 6 };

static void identity(const Checkpointer *c, const CheckpointRunId *id, const char *blas,
                     Identity out[NIDENTITY])
{
    out[0] = (Identity){"vg_version", "by another vg version", VG_VERSION};
    out[1] = (Identity){"program_sha256", "from another program text (sha256 of its files)",
                        c->program};
    out[2] = (Identity){"settings", "with other command-line settings", c->settings};
    out[3] = (Identity){"blas", "with another BLAS set-up", blas};
    out[4] = (Identity){"data_sha256", "from other data (sha256)", id->data};
    out[5] = (Identity){"init_sha256", "from other initial parameters (sha256)", id->init};
}

/* ---- writing ---- */

typedef struct Writer {
    StTensor *t;
    int n, cap;
    char **names;        /* the tensor names this writer made */
    int nnames, capnames;
    const char **meta;   /* key, value … NULL */
    int nmeta, capmeta;
    char **texts;        /* the metadata values this writer made */
    int ntexts, captexts;
} Writer;

static void tensor(Writer *w, const char *name, StDtype dt, const void *data, int rank,
                   long d0, long d1, long d2)
{
    StTensor t = {.name = name, .dtype = dt, .rank = rank, .data = data,
                  .dim = {d0, d1, d2}};
    VEC_PUSH(w->t, w->n, w->cap, t);
}

static void meta(Writer *w, const char *key, const char *value)
{
    VEC_PUSH(w->meta, w->nmeta, w->capmeta, key);
    VEC_PUSH(w->meta, w->nmeta, w->capmeta, value);
}

static void meta_fmt(Writer *w, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void meta_fmt(Writer *w, const char *key, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *text = xstrdup(buf);
    VEC_PUSH(w->texts, w->ntexts, w->captexts, text);
    meta(w, key, text);
}

static void rng_state(Writer *w, const char *name, const char *spare, const Rng *g)
{
    tensor(w, name, ST_U64, g->s, 1, 4, 0, 0);
    if (g->has_spare)
        meta_fmt(w, spare, "%a", g->spare);
    else
        meta(w, spare, "none");
}

static void writer_free(Writer *w)
{
    for (int i = 0; i < w->nnames; i++)
        free(w->names[i]);
    for (int i = 0; i < w->ntexts; i++)
        free(w->texts[i]);
    free(w->names);
    free(w->texts);
    free(w->t);
    free(w->meta);
}

/* The reports as arrays: [report], [report, value], [report, layer, …]. */
typedef struct ReportArrays {
    int64_t *step;
    double *values, *metrics, *pretrain;
    int32_t *verdict, *bptt_len;
    float *bptt;
    long nbptt;
    unsigned char *grad_bad, *clipped;
} ReportArrays;

static void pack_reports(const Run *r, ReportArrays *a)
{
    int R = r->nreports, L = r->g.nlayers;
    a->step = xmalloc(sizeof *a->step * (size_t)(R + 1));
    a->values = xmalloc(sizeof *a->values * (size_t)(R * RV_COUNT + 1));
    a->metrics = xmalloc(sizeof *a->metrics * (size_t)(R * L * M_COUNT + 1));
    a->verdict = xmalloc(sizeof *a->verdict * (size_t)(R * L * 2 + 1));
    a->bptt_len = xmalloc(sizeof *a->bptt_len * (size_t)(R * L + 1));
    a->nbptt = 0;
    for (int i = 0; i < R; i++)
        for (int l = 0; l < L; l++)
            a->nbptt += r->reports[i].layers[l].bptt_len;
    a->bptt = xmalloc(sizeof *a->bptt * (size_t)(a->nbptt + 1));
    long at = 0;
    for (int i = 0; i < R; i++) {
        const Report *rep = &r->reports[i];
        a->step[i] = rep->step;
        for (int k = 0; k < RV_COUNT; k++)
            a->values[i * RV_COUNT + k] = report_value(rep, (RunValueId)k);
        for (int l = 0; l < L; l++) {
            const LayerMetrics *m = &rep->layers[l];
            for (int k = 0; k < M_COUNT; k++)
                a->metrics[(i * L + l) * M_COUNT + k] = metric_get(m, (MetricId)k);
            a->verdict[(i * L + l) * 2] = (int32_t)m->verdict;
            a->verdict[(i * L + l) * 2 + 1] = m->verdict_by;
            a->bptt_len[i * L + l] = m->bptt_len;
            if (m->bptt_len)
                memcpy(a->bptt + at, m->bptt, sizeof *a->bptt * (size_t)m->bptt_len);
            at += m->bptt_len;
        }
    }
    a->grad_bad = xmalloc((size_t)L + 1);
    for (int l = 0; l < L; l++)
        a->grad_bad[l] = r->grad_bad[l];
    a->clipped = xmalloc((size_t)r->log.n + 1);
    for (long i = 0; i < r->log.n; i++)
        a->clipped[i] = r->log.clipped[i];
    a->pretrain = NULL;
    if (r->pretrain) {
        a->pretrain = xmalloc(sizeof *a->pretrain * (size_t)(2 * L));
        for (int l = 0; l < L; l++) {
            a->pretrain[2 * l] = r->pretrain[l].first;
            a->pretrain[2 * l + 1] = r->pretrain[l].last;
        }
    }
}

static void arrays_free(ReportArrays *a)
{
    free(a->step);
    free(a->values);
    free(a->metrics);
    free(a->verdict);
    free(a->bptt_len);
    free(a->bptt);
    free(a->grad_bad);
    free(a->clipped);
    free(a->pretrain);
}

static bool save(Checkpointer *c, const Run *r)
{
    const CheckpointRunId *id = run_id(c, r);
    char blas[128];
    blas_describe(blas, sizeof blas);
    Identity ids[NIDENTITY];
    identity(c, id, blas, ids);
    Writer w = {0};
    meta(&w, "format", FORMAT);
    meta(&w, "run", r->name);
    for (int i = 0; i < NIDENTITY; i++)
        meta(&w, ids[i].key, ids[i].now);
    meta_fmt(&w, "step", "%ld", r->step);
    meta_fmt(&w, "cursor", "%d", r->cursor);
    meta_fmt(&w, "clipped_steps", "%ld", r->clipped_steps);
    meta_fmt(&w, "optim_t", "%ld", r->opt.t);
    meta_fmt(&w, "last_global_norm", "%a", r->last_global_norm);
    meta_fmt(&w, "last_loss", "%a", r->last_loss);
    meta_fmt(&w, "log_first", "%ld", r->log.first);
    meta_fmt(&w, "log_steps", "%ld", r->log.n);
    meta_fmt(&w, "reports", "%d", r->nreports);
    int L = r->g.nlayers;
    for (int i = 0; i < r->g.nparams; i++) {
        const IrParam *pp = &r->g.params[i];
        size_t n = strlen(pp->name) + 7;
        char *name = xmalloc(n);
        snprintf(name, n, "param.%s", pp->name);
        VEC_PUSH(w.names, w.nnames, w.capnames, name);
        StTensor t = {.name = name, .dtype = ST_F32, .rank = pp->shape.rank,
                      .data = r->ps.value + pp->offset};
        memcpy(t.dim, pp->shape.dim, sizeof(long) * (size_t)pp->shape.rank);
        VEC_PUSH(w.t, w.n, w.cap, t);
    }
    if (r->opt.m)
        tensor(&w, "optim.m", ST_F32, r->opt.m, 1, (long)r->opt.n, 0, 0);
    if (r->opt.v)
        tensor(&w, "optim.v", ST_F32, r->opt.v, 1, (long)r->opt.n, 0, 0);
    tensor(&w, "order", ST_I32, r->order, 1, r->data.n, 0, 0);
    rng_state(&w, "rng.batch", "rng_batch_spare", &r->batch_rng);
    rng_state(&w, "rng.dropout", "rng_dropout_spare", &r->train.rng);
    ReportArrays a;
    pack_reports(r, &a);
    tensor(&w, "update_sq", ST_F64, r->update_sq, 1, L, 0, 0);
    tensor(&w, "grad_bad", ST_U8, a.grad_bad, 1, L, 0, 0);
    tensor(&w, "log.loss", ST_F32, r->log.loss, 1, r->log.n, 0, 0);
    tensor(&w, "log.norm", ST_F32, r->log.norm, 1, r->log.n, 0, 0);
    tensor(&w, "log.lr", ST_F64, r->log.lr, 1, r->log.n, 0, 0);
    tensor(&w, "log.clipped", ST_U8, a.clipped, 1, r->log.n, 0, 0);
    int R = r->nreports;
    tensor(&w, "reports.step", ST_I64, a.step, 1, R, 0, 0);
    tensor(&w, "reports.values", ST_F64, a.values, 2, R, RV_COUNT, 0);
    tensor(&w, "reports.metrics", ST_F64, a.metrics, 3, R, L, M_COUNT);
    tensor(&w, "reports.verdict", ST_I32, a.verdict, 3, R, L, 2);
    tensor(&w, "reports.bptt_len", ST_I32, a.bptt_len, 2, R, L, 0);
    tensor(&w, "reports.bptt", ST_F32, a.bptt, 1, a.nbptt, 0, 0);
    char key[32];
    if (r->pretrain) {
        tensor(&w, "pretrain", ST_F64, a.pretrain, 2, L, 2, 0);
        for (int l = 0; l < L; l++)
            if (r->pretrain[l].skipped) {
                snprintf(key, sizeof key, "pretrain_skipped.%d", l);
                char *k = xstrdup(key);
                VEC_PUSH(w.texts, w.ntexts, w.captexts, k);
                meta(&w, k, r->pretrain[l].skipped);
            }
    }
    meta(&w, NULL, NULL);
    char *path = checkpoint_path(c->dir, r->name);
    bool ok = safetensors_write(path, w.t, w.n, w.meta, c->diag);
    free(path);
    arrays_free(&a);
    writer_free(&w);
    return ok;
}

bool checkpoint_on_step(const Run *r, void *checkpointer)
{
    Checkpointer *c = checkpointer;
    if (r->step % c->every != 0 && r->step != r->set.steps && !train_interrupted)
        return true;
    return save(c, r);
}

/* ---- reading ---- */

static CheckpointStatus damaged(StFile *f, const char *what)
{
    diag_error(f->d, SPAN_NONE, "checkpoint '%s' is damaged: %s", f->path, what);
    return CKPT_BAD;
}

/* A metadata integer in [lo, hi]. */
/* Key's metadata parsed whole: into *l, an integer in [lo, hi], when l is
 * given, else into *d. False, the file reported damaged, when it is missing
 * or is not such a number. */
static bool meta_number(StFile *f, const char *key, long lo, long hi, long *l, double *d)
{
    const char *s = safetensors_meta(f, key);
    char *end = NULL;
    bool ok = false;
    errno = 0;
    if (s && l) {
        *l = strtol(s, &end, 10);
        ok = !errno && end != s && !*end && *l >= lo && *l <= hi;
    } else if (s) {
        *d = strtod(s, &end);
        ok = end != s && !*end;
    }
    if (ok)
        return true;
    char what[96];
    snprintf(what, sizeof what, "its metadata '%s' is %s", key,
             !s ? "missing" : l ? "not an integer in range" : "not a number");
    damaged(f, what);
    return false;
}

static bool read_rng(StFile *f, const char *name, const char *spare, Rng *g)
{
    long four = 4;
    if (!safetensors_read(f, name, ST_U64, 1, &four, g->s))
        return false;
    const char *s = safetensors_meta(f, spare);
    g->has_spare = s && strcmp(s, "none") != 0;
    return !g->has_spare || meta_number(f, spare, 0, 0, NULL, &g->spare);
}

/* CKPT_RESUMED when f was made from what run r is made from now; else
 * the first difference, as a refusal (or f is no vg checkpoint). */
static CheckpointStatus check_origin(Checkpointer *c, StFile *f, const Run *r)
{
    const char *format = safetensors_meta(f, "format");
    const char *run = safetensors_meta(f, "run");
    if (!format || strcmp(format, FORMAT) != 0 || !run)
        return damaged(f, "it is not a vg checkpoint (its metadata has no \"format\": "
                          "\"vg-checkpoint-1\" or no \"run\")");
    if (strcmp(run, r->name) != 0) {
        diag_error(c->diag, SPAN_NONE, "checkpoint '%s' holds run '%s', not run '%s'", f->path,
                   run, r->name);
        return CKPT_REFUSED;
    }
    char blas[128];
    blas_describe(blas, sizeof blas);
    Identity ids[NIDENTITY];
    identity(c, run_id(c, r), blas, ids);
    for (int i = 0; i < NIDENTITY; i++) {
        const char *then = safetensors_meta(f, ids[i].key);
        if (then && strcmp(then, ids[i].now) == 0)
            continue;
        diag_error(c->diag, SPAN_NONE, "checkpoint '%s' of run '%s' was made %s: '%s' then, "
                   "'%s' now", f->path, r->name, ids[i].made, then ? then : "", ids[i].now);
        diag_note(c->diag, "resumed, it would not give what an uninterrupted run gives; "
                  "delete it, or run without --resume, to start the run afresh");
        return CKPT_REFUSED;
    }
    return CKPT_RESUMED;
}

/* The reports, into fresh allocations that become r's only when all of
 * them were read. */
static bool read_reports(StFile *f, Run *r, long R)
{
    long L = r->g.nlayers;
    long d1[1] = {R}, d2[2] = {R, RV_COUNT}, d3[3] = {R, L, M_COUNT}, dv[3] = {R, L, 2},
         db[2] = {R, L};
    ReportArrays a = {0};
    a.step = xmalloc(sizeof *a.step * (size_t)(R + 1));
    a.values = xmalloc(sizeof *a.values * (size_t)(R * RV_COUNT + 1));
    a.metrics = xmalloc(sizeof *a.metrics * (size_t)(R * L * M_COUNT + 1));
    a.verdict = xmalloc(sizeof *a.verdict * (size_t)(R * L * 2 + 1));
    a.bptt_len = xmalloc(sizeof *a.bptt_len * (size_t)(R * L + 1));
    bool ok = safetensors_read(f, "reports.step", ST_I64, 1, d1, a.step) &&
              safetensors_read(f, "reports.values", ST_F64, 2, d2, a.values) &&
              safetensors_read(f, "reports.metrics", ST_F64, 3, d3, a.metrics) &&
              safetensors_read(f, "reports.verdict", ST_I32, 3, dv, a.verdict) &&
              safetensors_read(f, "reports.bptt_len", ST_I32, 2, db, a.bptt_len);
    for (long i = 0; ok && i < R * L; i++) {
        ok = a.bptt_len[i] >= 0 && a.bptt_len[i] <= IR_MAX_ELEMS &&
             a.verdict[2 * i] >= VERDICT_HEALTHY && a.verdict[2 * i] <= VERDICT_DEAD;
        a.nbptt += ok ? a.bptt_len[i] : 0;
    }
    if (!ok && f->d->errors == 0)
        damaged(f, "a report has a verdict or a bptt length out of range");
    if (ok) {
        a.bptt = xmalloc(sizeof *a.bptt * (size_t)(a.nbptt + 1));
        ok = safetensors_read(f, "reports.bptt", ST_F32, 1, &a.nbptt, a.bptt);
    }
    Report *reps = ok ? xcalloc((size_t)R + 1, sizeof *reps) : NULL;
    long at = 0;
    for (long i = 0; ok && i < R; i++) {
        Report *rep = &reps[i];
        rep->step = (long)a.step[i];
        for (int k = 0; k < RV_COUNT; k++)
            report_value_set(rep, (RunValueId)k, a.values[i * RV_COUNT + k]);
        rep->layers = xcalloc((size_t)L, sizeof *rep->layers);
        for (long l = 0; l < L; l++) {
            LayerMetrics *m = &rep->layers[l];
            for (int k = 0; k < M_COUNT; k++)
                metric_set(m, (MetricId)k, a.metrics[(i * L + l) * M_COUNT + k]);
            m->verdict = (Verdict)a.verdict[(i * L + l) * 2];
            m->verdict_by = a.verdict[(i * L + l) * 2 + 1];
            m->bptt_len = a.bptt_len[i * L + l];
            if (m->bptt_len) {
                m->bptt = xmalloc(sizeof *m->bptt * (size_t)m->bptt_len);
                memcpy(m->bptt, a.bptt + at, sizeof *m->bptt * (size_t)m->bptt_len);
            }
            at += m->bptt_len;
        }
    }
    if (ok) {
        for (int i = 0; i < r->nreports; i++)
            report_free(&r->reports[i], r->g.nlayers);
        free(r->reports);
        r->reports = reps;
        r->nreports = r->repcap = (int)R;
    }
    arrays_free(&a);
    return ok;
}

static bool read_log(StFile *f, Run *r, long n)
{
    StepLog lg = {.n = n, .cap = n};
    lg.loss = xmalloc(sizeof *lg.loss * (size_t)(n + 1));
    lg.norm = xmalloc(sizeof *lg.norm * (size_t)(n + 1));
    lg.lr = xmalloc(sizeof *lg.lr * (size_t)(n + 1));
    lg.clipped = xmalloc(sizeof *lg.clipped * (size_t)(n + 1));
    bool ok = safetensors_read(f, "log.loss", ST_F32, 1, &n, lg.loss) &&
              safetensors_read(f, "log.norm", ST_F32, 1, &n, lg.norm) &&
              safetensors_read(f, "log.lr", ST_F64, 1, &n, lg.lr) &&
              safetensors_read(f, "log.clipped", ST_U8, 1, &n, lg.clipped);
    if (!ok) {
        step_log_free(&lg);
        return false;
    }
    lg.first = r->log.first;
    step_log_free(&r->log);
    r->log = lg;
    return true;
}

static bool read_pretrain(Program *p, StFile *f, Run *r)
{
    if (!safetensors_has(f, "pretrain"))
        return true;
    long L = r->g.nlayers, d[2] = {L, 2};
    double *v = xmalloc(sizeof *v * (size_t)(2 * L));
    bool ok = safetensors_read(f, "pretrain", ST_F64, 2, d, v);
    if (ok) {
        free(r->pretrain);
        r->pretrain = xcalloc((size_t)L, sizeof *r->pretrain);
        for (long l = 0; l < L; l++) {
            char key[48];  /* room for any long, so -O1's -Wformat-truncation holds */
            snprintf(key, sizeof key, "pretrain_skipped.%ld", l);
            const char *skipped = safetensors_meta(f, key);
            r->pretrain[l] = (PretrainLayer){
                .first = v[2 * l], .last = v[2 * l + 1],
                .skipped = skipped ? arena_strdup(&p->arena, skipped) : NULL};
        }
    }
    free(v);
    return ok;
}

static CheckpointStatus restore(Program *p, StFile *f, Run *r)
{
    long step, cursor, clipped, t, first, nlog, nrep;
    double norm, loss;
    if (!meta_number(f, "step", 0, r->set.steps, &step, NULL) ||
        !meta_number(f, "cursor", 0, r->norder, &cursor, NULL) ||
        !meta_number(f, "clipped_steps", 0, step, &clipped, NULL) ||
        !meta_number(f, "optim_t", 0, LONG_MAX, &t, NULL) ||
        !meta_number(f, "log_first", 0, step, &first, NULL) ||
        !meta_number(f, "log_steps", 0, step, &nlog, NULL) ||
        !meta_number(f, "reports", 1, INT_MAX, &nrep, NULL) ||
        !meta_number(f, "last_global_norm", 0, 0, NULL, &norm) ||
        !meta_number(f, "last_loss", 0, 0, NULL, &loss))
        return CKPT_BAD;
    for (int i = 0; i < r->g.nparams; i++) {
        const IrParam *pp = &r->g.params[i];
        char name[300];
        snprintf(name, sizeof name, "param.%s", pp->name);
        if (!safetensors_read(f, name, ST_F32, pp->shape.rank, pp->shape.dim,
                              r->ps.value + pp->offset))
            return CKPT_BAD;
    }
    long n = (long)r->opt.n, L = r->g.nlayers, rows = r->data.n;
    if ((r->opt.m && !safetensors_read(f, "optim.m", ST_F32, 1, &n, r->opt.m)) ||
        (r->opt.v && !safetensors_read(f, "optim.v", ST_F32, 1, &n, r->opt.v)) ||
        !safetensors_read(f, "order", ST_I32, 1, &rows, r->order) ||
        !read_rng(f, "rng.batch", "rng_batch_spare", &r->batch_rng) ||
        !read_rng(f, "rng.dropout", "rng_dropout_spare", &r->train.rng) ||
        !safetensors_read(f, "update_sq", ST_F64, 1, &L, r->update_sq))
        return CKPT_BAD;
    unsigned char *bad = xmalloc((size_t)L + 1);
    bool ok = safetensors_read(f, "grad_bad", ST_U8, 1, &L, bad);
    for (long l = 0; ok && l < L; l++)
        r->grad_bad[l] = bad[l] != 0;
    free(bad);
    for (long i = 0; ok && i < rows; i++)
        ok = r->order[i] >= 0 && r->order[i] < rows;
    if (!ok)
        return f->d->errors ? CKPT_BAD : damaged(f, "its batch order names a row out of range");
    r->log.first = first;
    if (!read_log(f, r, nlog) || !read_reports(f, r, nrep) || !read_pretrain(p, f, r))
        return CKPT_BAD;
    r->step = step;
    r->cursor = (int)cursor;
    r->clipped_steps = clipped;
    r->opt.t = t;
    r->last_global_norm = norm;
    r->last_loss = loss;
    return CKPT_RESUMED;
}

static void hash_floats(const float *x, size_t n, char hex[65])
{
    Sha256 s;
    sha256_init(&s);
    sha256_update(&s, x, n * sizeof *x);
    sha256_final_hex(&s, hex);
}

/* The temporary files of writes that a kill interrupted (never renamed
 * over the checkpoint, so never read). */
static void remove_stale(const char *path)
{
    size_t n = strlen(path) + 8;
    char *pattern = xmalloc(n);
    snprintf(pattern, n, "%s.tmp.*", path);
    glob_t g;
    if (glob(pattern, GLOB_NOSORT | GLOB_NOESCAPE, NULL, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; i++)
            remove(g.gl_pathv[i]);
    globfree(&g);
    free(pattern);
}

CheckpointStatus checkpoint_begin(Checkpointer *c, Program *p, Run *r, bool resume)
{
    CheckpointRunId id = {.r = r};
    Sha256 s;
    sha256_init(&s);
    sha256_update(&s, r->data.x, (size_t)r->data.n * shape_size(r->data.x_shape) * sizeof(float));
    sha256_update(&s, r->data.y, (size_t)r->data.n * shape_size(r->data.y_shape) * sizeof(float));
    sha256_final_hex(&s, id.data);
    hash_floats(r->ps.value, r->ps.n, id.init);
    VEC_PUSH(c->ids, c->nids, c->capids, id);
    char *path = checkpoint_path(c->dir, r->name);
    remove_stale(path);
    if (!resume) {
        free(path);
        return CKPT_FRESH;
    }
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        free(path);
        return CKPT_FRESH;
    }
    StFile f;
    CheckpointStatus st = CKPT_BAD;
    if (safetensors_open(&f, path, c->diag) == ST_OK) {
        st = check_origin(c, &f, r);
        if (st == CKPT_RESUMED)
            st = restore(p, &f, r);
        safetensors_close(&f);
    }
    free(path);
    return st;
}
