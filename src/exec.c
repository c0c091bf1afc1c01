/* exec.c — the buffer plan for one (graph, batch), and the forward and
 * backward sweeps over it.
 *
 * exec_plan sizes every buffer with overflow-checked arithmetic and makes
 * one allocation for the four per-node pointer tables and one for every
 * node's value, then the gradients, work and bptt buffers, each padded to a
 * 64-byte multiple. exec_plan_view lays a smaller batch of the same graph
 * over that block: a run's training, probe and test passes never overlap,
 * so they share one. The sweeps then only call kernels. Reverse-mode
 * autodiff follows kann's kad_grad (kautodiff.c): zero the node gradients,
 * seed dLoss = 1, and run backward kernels from the loss down, each
 * accumulating into its inputs' gradients — except that a node's first
 * writer overwrites its gradient instead, and then that gradient is not
 * zeroed (ops.h). */
#define _DEFAULT_SOURCE  /* madvise, MADV_HUGEPAGE (Linux) */
#include "vg/exec.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "vg/init.h"
#include "vg/ops.h"

/* ---- parameters ---- */

/* "672 bytes", "1.5 GiB", or with exact "1.5 GiB (1610612736 bytes)". */
static const char *human(size_t bytes, bool exact, char *buf, size_t n)
{
    static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) {
        snprintf(buf, n, "%zu bytes", bytes);
        return buf;
    }
    double v = (double)bytes / 1024;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (exact)
        snprintf(buf, n, "%.1f %s (%zu bytes)", v, unit[u], bytes);
    else
        snprintf(buf, n, "%.1f %s", v, unit[u]);
    return buf;
}

/* Whether n floats of PARAM_BYTES each, added to *total, stay within max
 * (0: no limit); the sum saturates instead of wrapping. */
static bool param_total(size_t *total, size_t n, size_t max)
{
    size_t b = n > SIZE_MAX / PARAM_BYTES ? SIZE_MAX : n * PARAM_BYTES;
    *total = *total > SIZE_MAX - b ? SIZE_MAX : *total + b;
    return max == 0 || *total <= max;
}

bool params_check(const IrGraph *g, size_t max_bytes, size_t *bytes, DiagSink *d)
{
    size_t total = 0;
    for (int i = 0; i < g->nparams; i++) {
        const IrParam *pp = &g->params[i];
        if (param_total(&total, shape_size(pp->shape), max_bytes))
            continue;
        const IrNode *n = &g->nodes[pp->node];
        char shape[96], need[64], limit[64];
        diag_error(d, n->span, "%s creates parameter '%s' of shape %s, bringing model '%s' "
                   "to %s of parameters, above the memory limit of %s",
                   op_def(n->op)->name, pp->name, shape_str(pp->shape, shape, sizeof shape),
                   g->name, human(total, false, need, sizeof need),
                   human(max_bytes, false, limit, sizeof limit));
        diag_note(d, "each parameter takes %d bytes (value, gradient, two optimizer moments); "
                  "--max-memory raises the limit", PARAM_BYTES);
        return false;
    }
    *bytes = total;
    return true;
}

/* count·size zeroed bytes; free() releases them. 64-byte aligned, so
 * that every buffer of a plan is (each starts at a 64-byte multiple of
 * the block): oneDNN's convolutions compute in their work buffers, and
 * the same alignment in every run gives the same results. A block of
 * 2 MiB or more is 2 MiB-aligned and advised for transparent huge pages:
 * the first touch of the parameters and plans otherwise takes one page
 * fault per 4 KiB, which under this project's VM was most of a `steps = 0`
 * run (docs/performance.md). Elsewhere the advice is a no-op. */
static void *zalloc(size_t count, size_t size)
{
    enum { HUGE = 2 << 20, LINE = 64 };
    size_t bytes = count * size;
    void *p = NULL;
    if (posix_memalign(&p, bytes < HUGE ? LINE : HUGE, bytes ? bytes : 1) != 0)
        return xcalloc(count, size);  /* reports the failure as xcalloc does */
#ifdef MADV_HUGEPAGE
    if (bytes >= HUGE)
        madvise(p, (bytes + HUGE - 1) / HUGE * HUGE, MADV_HUGEPAGE);
#endif
    return memset(p, 0, bytes);
}

void params_alloc(ParamStore *ps, const IrGraph *g)
{
    params_alloc_values(ps, g);
    ps->grad = zalloc(ps->n, sizeof *ps->grad);
}

void params_alloc_values(ParamStore *ps, const IrGraph *g)
{
    *ps = (ParamStore){.n = g->param_floats};
    ps->value = zalloc(ps->n, sizeof *ps->value);
}

#ifndef VG_REAL_DOUBLE  /* the float64 twin copies its values from float (exec.h) */
void params_init(ParamStore *ps, const IrGraph *g, Rng *rng)
{
    for (int i = 0; i < g->nparams; i++)
        init_fill(&g->params[i], ps->value + g->params[i].offset, rng);
}
#endif

void params_free(ParamStore *ps)
{
    free(ps->value);
    free(ps->grad);
    *ps = (ParamStore){0};
}

/* ---- planning ---- */

enum { PAD_FLOATS = 16 };  /* 64 bytes: a cache line, and any SIMD width */
enum { TABLES = 4 };       /* per node: value, gradient, work and bptt pointers */

/* Overflow-checked size arithmetic: false when the true result exceeds
 * SIZE_MAX (the sum then means nothing and the plan is refused). */
static bool mul_ok(size_t a, size_t b, size_t *out)
{
    if (b && a > SIZE_MAX / b)
        return false;
    *out = a * b;
    return true;
}

static bool add_ok(size_t a, size_t b, size_t *out)
{
    if (a > SIZE_MAX - b)
        return false;
    *out = a + b;
    return true;
}

static size_t padded(size_t floats)
{
    return (floats + PAD_FLOATS - 1) / PAD_FLOATS * PAD_FLOATS;
}

/* A node's buffer sizes in floats; 0 for a buffer it does not have. */
typedef struct Sizes {
    size_t val, grad, work, bptt;
} Sizes;

static Sizes node_sizes(const IrGraph *g, int i, int batch)
{
    const IrNode *n = &g->nodes[i];
    const OpDef *def = op_def(n->op);
    size_t rows = def->kind == OPK_LOSS ? 1 : (size_t)batch;
    Sizes s = {.val = rows * shape_size(n->shape)};
    if (def->kind != OPK_SOURCE)
        s.grad = s.val;
    if (def->work_floats)
        s.work = def->work_floats(n, g, batch);
    if (def->kind == OPK_RECURRENT)
        s.bptt = (size_t)n->shape.dim[0];
    return s;
}

/* Floats of the plan's block, or false if a tensor would exceed what BLAS
 * can index or the sum would overflow. *largest gets the node with the
 * largest value buffer, which a refusal names. */
static bool plan_floats(const IrGraph *g, int batch, size_t *floats, int *largest,
                        DiagSink *d)
{
    size_t sum = 0, most = 0;
    for (int i = 0; i < g->n; i++) {
        const IrNode *n = &g->nodes[i];
        if (batch > IR_MAX_ELEMS / (long)shape_size(n->shape)) {
            char buf[96];
            const OpDef *def = op_def(n->op);
            return diag_error(d, n->span, "at batch %d, the %s%s (shape %s per example) "
                              "exceeds 2^31 elements", batch,
                              def->kind == OPK_SOURCE ? "" : "output of ", def->name,
                              shape_str(n->shape, buf, sizeof buf));
        }
        Sizes s = node_sizes(g, i, batch);
        if (s.val > most) {
            most = s.val;
            *largest = i;
        }
        size_t part[4] = {s.val, s.grad, s.work, s.bptt};
        for (int k = 0; k < 4; k++)
            if (!add_ok(sum, padded(part[k]), &sum))
                goto overflow;
    }
    size_t bytes;
    if (mul_ok(sum, sizeof(real), &bytes) &&
        add_ok(bytes, TABLES * sizeof(real *) * (size_t)g->n, &bytes)) {
        *floats = sum;
        return true;
    }
overflow:
    return diag_error(d, SPAN_NONE,
                      "buffers for model '%s' at batch %d overflow the address space",
                      g->name, batch);
}

/* Floats from the first to the end of the last of node i's parameters
 * (a node's parameters are declared together, so contiguous). */
static size_t param_span(const IrGraph *g, int i, size_t *first)
{
    const IrNode *n = &g->nodes[i];
    size_t lo = SIZE_MAX, hi = 0;
    for (int k = 0; k < n->nparam; k++) {
        const IrParam *p = &g->params[n->param[k]];
        lo = p->offset < lo ? p->offset : lo;
        hi = p->offset + shape_size(p->shape) > hi ? p->offset + shape_size(p->shape) : hi;
    }
    *first = lo;
    return n->nparam ? hi - lo : 0;
}

/* Which backward kernel writes each node gradient first. Backward runs from
 * the loss down, so a node's first writer is its highest-numbered consumer
 * that has a backward; it overwrites the gradient unless it reads the node
 * through two inputs. Gradients without such a writer are zeroed each step. */
static void plan_overwrites(Exec *e)
{
    const IrGraph *g = e->g;
    e->din_first = xcalloc((size_t)g->n, (IR_MAX_IN + 1) * sizeof(bool));
    e->grad_zero = e->din_first + (size_t)g->n * IR_MAX_IN;
    bool *seen = e->grad_zero;  /* first: has a writer been met; then inverted */
    for (int i = g->loss; i >= 0; i--) {
        const IrNode *n = &g->nodes[i];
        if (!e->ops[n->op]->backward)
            continue;
        for (int k = 0; k < n->nin; k++) {
            int j = n->in[k], uses = 0;
            if (!e->grad[j] || seen[j])
                continue;
            for (int m = 0; m < n->nin; m++)
                uses += n->in[m] == j;
            e->din_first[(size_t)i * IR_MAX_IN + k] = uses == 1;
            seen[j] = true;
        }
    }
    for (int j = 0; j < g->n; j++)
        e->grad_zero[j] = true;
    for (int i = 0; i < g->n; i++)
        for (int k = 0; k < g->nodes[i].nin; k++)
            if (e->din_first[(size_t)i * IR_MAX_IN + k])
                e->grad_zero[g->nodes[i].in[k]] = false;
}

/* Points each node's buffers into the block, region by region, and plans
 * which backward kernels overwrite a gradient. */
static void carve(Exec *e)
{
    const IrGraph *g = e->g;
    real *p = e->block;
    real **tables = xcalloc(TABLES * (size_t)g->n, sizeof *tables);
    e->val = tables;
    e->grad = tables + g->n;
    e->work = tables + 2 * g->n;
    e->bptt = tables + 3 * g->n;
    real **table[4] = {e->val, e->grad, e->work, e->bptt};
    for (int region = 0; region < 4; region++) {
        for (int i = 0; i < g->n; i++) {
            Sizes s = node_sizes(g, i, e->batch);
            size_t size[4] = {s.val, s.grad, s.work, s.bptt};
            table[region][i] = size[region] ? p : NULL;
            p += padded(size[region]);
        }
    }
    plan_overwrites(e);
}

bool exec_plan(Exec *e, const IrGraph *g, ParamStore *ps, int batch,
               size_t max_bytes, DiagSink *d)
{
    *e = (Exec){.g = g, .ps = ps, .ops = op_table, .batch = batch};
    if (batch < 1)
        return diag_error(d, SPAN_NONE, "batch must be at least 1, got %d", batch);
    size_t floats = 0;
    int largest = 0;
    if (!plan_floats(g, batch, &floats, &largest, d))
        return false;
    size_t bytes = floats * sizeof(real) + TABLES * sizeof(real *) * (size_t)g->n;
    if (max_bytes && bytes > max_bytes) {
        const IrNode *n = &g->nodes[largest];
        char need[64], limit[64], shape[96], big[64];
        diag_error(d, n->span,
                   "buffers for model '%s' at batch %d need %s, above the %s the memory "
                   "limit leaves them", g->name, batch, human(bytes, true, need, sizeof need),
                   human(max_bytes, true, limit, sizeof limit));
        diag_note(d, "the largest is the output of %s here, shape %s per example (%s); "
                  "--max-memory raises the limit", op_def(n->op)->name,
                  shape_str(n->shape, shape, sizeof shape),
                  human(node_sizes(g, largest, batch).val * sizeof(real), false, big,
                        sizeof big));
        return false;
    }
    e->block = zalloc(floats, sizeof(real));
    e->floats = floats;
    e->owns_block = true;
    if (ps && !ps->grad) {
        size_t most = 0, first;
        for (int i = 0; i < g->n; i++) {
            size_t span = param_span(g, i, &first);
            most = span > most ? span : most;
        }
        e->scratch = zalloc(most ? most : 1, sizeof(real));
    }
    carve(e);
    rng_derive(&e->rng, 0, RNG_DROPOUT);
    return true;
}

void exec_plan_view(Exec *e, const Exec *host, int batch)
{
    assert(batch >= 1 && batch <= host->batch);
    *e = (Exec){.g = host->g, .ps = host->ps, .ops = host->ops, .batch = batch,
                .block = host->block, .floats = host->floats, .scratch = host->scratch};
    carve(e);
    rng_derive(&e->rng, 0, RNG_DROPOUT);
}

void exec_free(Exec *e)
{
    for (int k = 0; e->ctxs && k < e->g->n; k++) {
        const OpDef *def = e->ops[e->g->nodes[k].op];
        if (def->release)
            def->release(e->ctxs[k].state);
    }
    free(e->val);
    free(e->din_first);
    free(e->ctxs);
    if (e->owns_block) {
        free(e->block);
        free(e->scratch);
    }
    *e = (Exec){0};
}

/* ---- sweeps ---- */

real *exec_source(Exec *e, int node)
{
    assert(op_def(e->g->nodes[node].op)->kind == OPK_SOURCE);
    return e->val[node];
}

static void make_ctx(Exec *e, int i, OpCtx *c)
{
    const IrNode *n = &e->g->nodes[i];
    *c = (OpCtx){.g = e->g, .node = n, .batch = e->batch,
                 .out = e->val[i], .dout = e->grad[i], .work = e->work[i],
                 .rng = &e->rng, .bptt = e->bptt[i]};
    for (int k = 0; k < n->nin; k++) {
        c->in[k] = e->val[n->in[k]];
        c->din[k] = e->grad[n->in[k]];
        c->din_overwrite[k] = e->din_first[(size_t)i * IR_MAX_IN + k];
    }
    size_t first;
    param_span(e->g, i, &first);
    for (int k = 0; k < n->nparam; k++) {
        const IrParam *p = &e->g->params[n->param[k]];
        c->param[k] = e->ps->value + p->offset;
        if (p->trainable)
            c->dparam[k] = e->ps->grad ? e->ps->grad + p->offset
                                       : e->scratch + (p->offset - first);
    }
}

/* The contexts are built once, not by exec_plan (`vg check` plans without
 * sweeping): filling one per node per sweep was 3% of a step of
 * bench/m5_tiny.vg. */
void exec_ready(Exec *e)
{
    if (e->ctxs)
        return;
    e->ctxs = xcalloc((size_t)e->g->n, sizeof *e->ctxs);
    for (int k = 0; k < e->g->n; k++) {
        make_ctx(e, k, &e->ctxs[k]);
        const OpDef *def = e->ops[e->g->nodes[k].op];
        if (def->prepare)
            e->ctxs[k].state = def->prepare(&e->ctxs[k]);
    }
}

/* Node i's kernel context for a sweep in mode. */
static OpCtx *ctx_of(Exec *e, int i, ExecMode mode)
{
    exec_ready(e);
    e->ctxs[i].mode = mode;
    return &e->ctxs[i];
}

void exec_forward(Exec *e, ExecMode mode)
{
    for (int i = 0; i < e->g->n; i++) {
        const OpDef *def = e->ops[e->g->nodes[i].op];
        if (def->forward)
            def->forward(ctx_of(e, i, mode));
    }
}

void exec_backward_each(Exec *e, ExecMode mode, ExecNodeDone *done, void *ctx)
{
    const IrGraph *g = e->g;
    assert(g->loss >= 0);
    for (int i = 0; i < g->n; i++)
        if (e->grad[i] && e->grad_zero[i])
            memset(e->grad[i], 0, node_sizes(g, i, e->batch).grad * sizeof(real));
    e->grad[g->loss][0] = 1;
    for (int i = g->loss; i >= 0; i--) {
        const OpDef *def = e->ops[g->nodes[i].op];
        if (!def->backward)
            continue;
        const OpCtx *c = ctx_of(e, i, mode);
        /* zeroed here rather than in one sweep before the pass: the
         * kernel's GEMM then finds them in cache, and a hook that reads
         * them right after (an update) too */
        for (int k = 0; k < c->node->nparam; k++)
            if (c->dparam[k])
                memset(c->dparam[k], 0,
                       shape_size(g->params[c->node->param[k]].shape) * sizeof(real));
        def->backward(c);
        if (done)
            done(ctx, i);
    }
}

real *exec_param_grad(Exec *e, int node, int k)
{
    assert(e->ctxs && k < e->g->nodes[node].nparam);
    return e->ctxs[node].dparam[k];
}

void exec_backward(Exec *e, ExecMode mode)
{
    exec_backward_each(e, mode, NULL, NULL);
}

double exec_largest_gemm(const Exec *e)
{
    const IrGraph *g = e->g;
    double most = 0;
    for (int i = 0; i < g->n; i++) {
        const IrNode *n = &g->nodes[i];
        for (int k = 0; k < n->nparam; k++) {
            const IrParam *p = &g->params[n->param[k]];
            if (!p->is_weight || p->shape.rank != 2 || n->nin < 1)
                continue;
            Shape x = g->nodes[n->in[0]].shape;
            double f = (double)p->shape.dim[0], cols = (double)p->shape.dim[1];
            /* a weight [F, N] on an input whose rows have F features runs on
             * all of them at once (dense, a recurrent W_ih); otherwise (a
             * recurrent W_hh) on one time step's batch */
            double rows = (double)e->batch;
            if (x.rank >= 1 && x.dim[x.rank - 1] == p->shape.dim[0])
                rows *= (double)shape_size(x) / f;
            if (rows * f * cols > most)
                most = rows * f * cols;
        }
    }
    return most;
}

real exec_loss(const Exec *e)
{
    assert(e->g->loss >= 0);
    return e->val[e->g->loss][0];
}
