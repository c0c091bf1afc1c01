/* blas_dnnl.c — float32 convolutions through oneDNN (blas_dnnl.h).
 *
 * Why oneDNN and why its own layouts: on bench/m6_cnn.vg's four 3×3
 * convolutions (batch 64, one thread) a training step's convolution work
 * took 76.6 ms as im2col + OpenBLAS sgemm, 54.3 ms with oneDNN on plain
 * NCHW tensors, and 15.0 ms with oneDNN in its blocked layouts including
 * the reorders from and to NCHW (bench/conv_dnnl.c, docs/performance.md).
 * The rest of vg reads row-major tensors, so each op reorders at its
 * boundary: x and W in, y out in the forward pass; dy in, dx and dW out
 * in the backward pass, which reuses the forward pass's blocked x and W.
 *
 * Every tensor oneDNN computes on, in its layout, and the scratchpad,
 * which each primitive gets explicitly (user scratchpad mode), lie in the
 * op's work buffer (ops.h), which the plan sizes with blas_conv_floats,
 * lays out 64-byte aligned, counts against --max-memory and shares
 * between a run's passes like every other buffer: executing allocates
 * nothing, and the arithmetic sees the same alignment in every run. A
 * pass never reads what another left there: each step reorders its
 * inputs into place before computing (reorders write the zeros of a
 * partial channel block too). */
#include "vg/blas_dnnl.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>

#include "vg/arena.h"

static void ok(dnnl_status_t st, const char *what)
{
    if (st == dnnl_success)
        return;
    /* only out of memory can fail here: the shapes passed vg's checks */
    fprintf(stderr, "vg: oneDNN: %s failed with status %d%s\n", what, (int)st,
            st == dnnl_out_of_memory ? " (out of memory)" : "");
    abort();
}
#define OK(call) ok((call), #call)

/* The CPU engine and its stream, made once: a process runs on one CPU. */
static dnnl_engine_t engine(void)
{
    static dnnl_engine_t e;
    if (!e)
        OK(dnnl_engine_create(&e, dnnl_cpu, 0));
    return e;
}

static dnnl_stream_t stream(void)
{
    static dnnl_stream_t s;
    if (!s)
        OK(dnnl_stream_create(&s, engine(), dnnl_stream_default_flags));
    return s;
}

/* A reorder and the memories it moves between. */
typedef struct Move {
    dnnl_primitive_t p;
    dnnl_memory_t from, to;
} Move;

enum { MAX_MOVES = 4 };

/* A primitive with the reorders before and after it. */
typedef struct Step {
    Move pre[MAX_MOVES], post[MAX_MOVES];
    int npre, npost;
    dnnl_primitive_t p;
    dnnl_exec_arg_t args[8];
    int nargs;
} Step;

enum { ALIGN_FLOATS = 16 };  /* 64 bytes */

struct BlasConv {
    BlasConvShape s;
    /* vg's tensors: no memory of their own, pointed at the kernel's buffers */
    dnnl_memory_t x, w, b, y, dy, dx, dw;
    dnnl_memory_t db;        /* oneDNN's diff_bias, added to vg's db */
    dnnl_memory_t scratch;   /* the largest scratchpad any primitive here needs */
    Step fwd, bwd_w, bwd_d;
    dnnl_memory_t owned[24];  /* every memory here (at most 19), for blas_conv_free */
    int nowned;
    dnnl_memory_t placed[16];  /* those that live in the work buffer, in order */
    int nplaced;
    size_t floats;             /* the work buffer they need */
    dnnl_memory_desc_t scratch_md;  /* a copy: the pds it came from are gone */
    size_t scratch_size;
};

static dnnl_memory_t remember(BlasConv *c, dnnl_memory_t m)
{
    c->owned[c->nowned++] = m;
    return m;
}

static dnnl_memory_t user_memory(BlasConv *c, const dnnl_memory_desc_t *md)
{
    dnnl_memory_t m;
    OK(dnnl_memory_create(&m, md, engine(), DNNL_MEMORY_NONE));
    return remember(c, m);
}

/* A memory in oneDNN's layout md, placed in the work buffer later. */
static dnnl_memory_t own_memory(BlasConv *c, const dnnl_memory_desc_t *md)
{
    size_t floats = (dnnl_memory_desc_get_size(md) + sizeof(float) - 1) / sizeof(float);
    c->floats += (floats + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    dnnl_memory_t m = user_memory(c, md);
    c->placed[c->nplaced++] = m;
    return m;
}

static const dnnl_memory_desc_t *md_of(dnnl_memory_t m)
{
    const dnnl_memory_desc_t *md;
    OK(dnnl_memory_get_memory_desc(m, &md));
    return md;
}

/* Notes the scratchpad pd needs, so that one memory serves them all. */
static void need_scratch(BlasConv *c, const_dnnl_primitive_desc_t pd)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t size = md ? dnnl_memory_desc_get_size(md) : 0;
    if (size > c->scratch_size) {
        c->scratch_size = size;
        c->scratch_md = *md;
    }
}

static dnnl_primitive_attr_t user_scratchpad(void)
{
    dnnl_primitive_attr_t a;
    OK(dnnl_primitive_attr_create(&a));
    OK(dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_scratchpad_mode_user));
    return a;
}

/* A reorder from → to; add: to += from rather than to = from. */
static Move move(BlasConv *c, dnnl_memory_t from, dnnl_memory_t to, bool add)
{
    dnnl_primitive_attr_t a = user_scratchpad();
    if (add) {
        dnnl_post_ops_t po;
        OK(dnnl_post_ops_create(&po));
        OK(dnnl_post_ops_append_sum(po, 1.0f));
        OK(dnnl_primitive_attr_set_post_ops(a, po));
        OK(dnnl_post_ops_destroy(po));
    }
    dnnl_primitive_desc_t pd;
    OK(dnnl_reorder_primitive_desc_create(&pd, md_of(from), engine(), md_of(to), engine(), a));
    need_scratch(c, pd);
    Move m = {.from = from, .to = to};
    OK(dnnl_primitive_create(&m.p, pd));
    OK(dnnl_primitive_desc_destroy(pd));
    OK(dnnl_primitive_attr_destroy(a));
    return m;
}

/* The memory in the layout pd wants for `what`, filled from vg's tensor
 * `user` by a reorder before the step. `have`, if the same layout, is
 * reused instead: it holds the same tensor already (x and W from the
 * forward pass). */
static dnnl_memory_t input(BlasConv *c, Step *st, const_dnnl_primitive_desc_t pd,
                           dnnl_query_t what, dnnl_memory_t user, dnnl_memory_t have)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, what, 0);
    if (have && dnnl_memory_desc_equal(md, md_of(have)))
        return have;
    dnnl_memory_t m = own_memory(c, md);
    st->pre[st->npre++] = move(c, user, m, false);
    return m;
}

/* The memory pd writes `what` into, moved to vg's tensor `user` after the
 * step (added to it when add). */
static dnnl_memory_t output(BlasConv *c, Step *st, const_dnnl_primitive_desc_t pd,
                            dnnl_query_t what, dnnl_memory_t user, bool add)
{
    dnnl_memory_t m = own_memory(c, dnnl_primitive_desc_query_md(pd, what, 0));
    st->post[st->npost++] = move(c, m, user, add);
    return m;
}

static void arg(Step *st, int which, dnnl_memory_t m)
{
    st->args[st->nargs++] = (dnnl_exec_arg_t){which, m};
}

static void finish(BlasConv *c, Step *st, const_dnnl_primitive_desc_t pd)
{
    need_scratch(c, pd);
    OK(dnnl_primitive_create(&st->p, pd));
}

static void tensor_md(dnnl_memory_desc_t *md, bool two_d, int n, int c, int h, int w,
                      dnnl_format_tag_t tag)
{
    dnnl_dims_t d2 = {n, c, h, w}, d1 = {n, c, w};
    OK(dnnl_memory_desc_init_by_tag(md, two_d ? 4 : 3, two_d ? d2 : d1, dnnl_f32, tag));
}

static BlasConv *build(const BlasConvShape *s)
{
    BlasConv *c = xcalloc(1, sizeof *c);
    c->s = *s;
    bool two = s->two_d;
    /* vg's layouts: conv2d's [C, H, W] examples are NCHW and its weight
     * OIHW; conv1d's [T, F] ones are NWC and its weight [C', k·F] OWI */
    dnnl_format_tag_t act = two ? dnnl_nchw : dnnl_nwc, wt = two ? dnnl_oihw : dnnl_owi;
    dnnl_memory_desc_t x, w, b, y, xa, wa, ya;
    tensor_md(&x, two, s->batch, s->cin, s->h, s->w, act);
    tensor_md(&w, two, s->cout, s->cin, s->k, s->k, wt);
    tensor_md(&y, two, s->batch, s->cout, s->oh, s->ow, act);
    tensor_md(&xa, two, s->batch, s->cin, s->h, s->w, dnnl_format_tag_any);
    tensor_md(&wa, two, s->cout, s->cin, s->k, s->k, dnnl_format_tag_any);
    tensor_md(&ya, two, s->batch, s->cout, s->oh, s->ow, dnnl_format_tag_any);
    OK(dnnl_memory_desc_init_by_tag(&b, 1, (dnnl_dims_t){s->cout}, dnnl_f32, dnnl_x));
    const dnnl_memory_desc_t *bias = s->bias ? &b : NULL;
    dnnl_dims_t strides = {s->stride, s->stride}, lo = {s->pad_before, s->pad_before},
                hi = {s->pad_after, s->pad_after};
    c->x = user_memory(c, &x), c->w = user_memory(c, &w), c->y = user_memory(c, &y);
    c->dy = user_memory(c, &y), c->dx = user_memory(c, &x), c->dw = user_memory(c, &w);
    if (s->bias)
        c->b = user_memory(c, &b), c->db = own_memory(c, &b);

    dnnl_primitive_attr_t attr = user_scratchpad();
    dnnl_convolution_desc_t d;
    dnnl_primitive_desc_t fpd, pd;
    OK(dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, dnnl_convolution_direct,
                                          &xa, &wa, bias, &ya, strides, lo, hi));
    OK(dnnl_primitive_desc_create(&fpd, &d, attr, engine(), NULL));
    Step *f = &c->fwd;
    dnnl_memory_t src = input(c, f, fpd, dnnl_query_src_md, c->x, NULL);
    dnnl_memory_t wei = input(c, f, fpd, dnnl_query_weights_md, c->w, NULL);
    arg(f, DNNL_ARG_SRC, src);
    arg(f, DNNL_ARG_WEIGHTS, wei);
    if (s->bias)
        arg(f, DNNL_ARG_BIAS, c->b);
    arg(f, DNNL_ARG_DST, output(c, f, fpd, dnnl_query_dst_md, c->y, false));
    finish(c, f, fpd);

    dnnl_memory_t ddst = NULL;  /* dy in the layout of the first backward step */
    if (s->need_dw) {
        Step *st = &c->bwd_w;
        OK(dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &xa, &wa,
                                                       bias, &ya, strides, lo, hi));
        OK(dnnl_primitive_desc_create(&pd, &d, attr, engine(), fpd));
        arg(st, DNNL_ARG_SRC, input(c, st, pd, dnnl_query_src_md, c->x, src));
        arg(st, DNNL_ARG_DIFF_DST, ddst = input(c, st, pd, dnnl_query_diff_dst_md, c->dy, NULL));
        arg(st, DNNL_ARG_DIFF_WEIGHTS,
            output(c, st, pd, dnnl_query_diff_weights_md, c->dw, true));
        if (s->bias)
            arg(st, DNNL_ARG_DIFF_BIAS, c->db);
        finish(c, st, pd);
        OK(dnnl_primitive_desc_destroy(pd));
    }
    if (s->need_dx) {
        Step *st = &c->bwd_d;
        OK(dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, &xa, &wa, &ya,
                                                    strides, lo, hi));
        OK(dnnl_primitive_desc_create(&pd, &d, attr, engine(), fpd));
        arg(st, DNNL_ARG_DIFF_DST, input(c, st, pd, dnnl_query_diff_dst_md, c->dy, ddst));
        arg(st, DNNL_ARG_WEIGHTS, input(c, st, pd, dnnl_query_weights_md, c->w, wei));
        arg(st, DNNL_ARG_DIFF_SRC,
            output(c, st, pd, dnnl_query_diff_src_md, c->dx, !s->dx_overwrite));
        finish(c, st, pd);
        OK(dnnl_primitive_desc_destroy(pd));
    }
    OK(dnnl_primitive_desc_destroy(fpd));
    OK(dnnl_primitive_attr_destroy(attr));
    if (c->scratch_size)
        c->scratch = own_memory(c, &c->scratch_md);
    return c;
}

size_t blas_conv_floats(const BlasConvShape *s)
{
    BlasConv *c = build(s);
    size_t floats = c->floats;
    blas_conv_free(c);
    return floats;
}

BlasConv *blas_conv_make(const BlasConvShape *s, float *work, size_t floats)
{
    BlasConv *c = build(s);
    if (c->floats > floats) {  /* the op sized its work for another shape */
        fprintf(stderr, "vg: internal error: a convolution needs %zu floats of work, "
                "planned %zu\n", c->floats, floats);
        abort();
    }
    for (int i = 0; i < c->nplaced; i++) {
        OK(dnnl_memory_set_data_handle(c->placed[i], work));
        const dnnl_memory_desc_t *md = md_of(c->placed[i]);
        size_t n = (dnnl_memory_desc_get_size(md) + sizeof(float) - 1) / sizeof(float);
        work += (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    }
    return c;
}

static void run(dnnl_primitive_t p, dnnl_exec_arg_t *args, int n, dnnl_memory_t scratch)
{
    if (scratch)
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, scratch};
    OK(dnnl_primitive_execute(p, stream(), n, args));
}

static void step(BlasConv *c, Step *st)
{
    for (int i = 0; i < st->npre; i++) {
        dnnl_exec_arg_t a[3] = {{DNNL_ARG_FROM, st->pre[i].from}, {DNNL_ARG_TO, st->pre[i].to}};
        run(st->pre[i].p, a, 2, c->scratch);
    }
    dnnl_exec_arg_t a[9];
    for (int i = 0; i < st->nargs; i++)
        a[i] = st->args[i];
    run(st->p, a, st->nargs, c->scratch);
    for (int i = 0; i < st->npost; i++) {
        dnnl_exec_arg_t m[3] = {{DNNL_ARG_FROM, st->post[i].from},
                                {DNNL_ARG_TO, st->post[i].to}};
        run(st->post[i].p, m, 2, c->scratch);
    }
}

static void point(dnnl_memory_t m, const float *p)
{
    OK(dnnl_memory_set_data_handle(m, (void *)p));
}

void blas_conv_forward(BlasConv *c, const float *x, const float *w, const float *b, float *y)
{
    point(c->x, x), point(c->w, w), point(c->y, y);
    if (b)
        point(c->b, b);
    step(c, &c->fwd);
    OK(dnnl_stream_wait(stream()));
}

void blas_conv_backward(BlasConv *c, const float *dy, float *dx, float *dw, float *db)
{
    point(c->dy, dy);
    if (c->s.need_dw) {
        point(c->dw, dw);
        step(c, &c->bwd_w);
    }
    if (c->s.need_dx) {
        point(c->dx, dx);
        step(c, &c->bwd_d);
    }
    OK(dnnl_stream_wait(stream()));
    if (c->s.need_dw && db) {
        float *add;
        OK(dnnl_memory_get_data_handle(c->db, (void **)&add));
        for (int i = 0; i < c->s.cout; i++)
            db[i] += add[i];
    }
}

static void step_free(Step *st)
{
    for (int i = 0; i < st->npre; i++)
        dnnl_primitive_destroy(st->pre[i].p);
    for (int i = 0; i < st->npost; i++)
        dnnl_primitive_destroy(st->post[i].p);
    if (st->p)
        dnnl_primitive_destroy(st->p);
}

void blas_conv_free(BlasConv *c)
{
    if (!c)
        return;
    step_free(&c->fwd), step_free(&c->bwd_w), step_free(&c->bwd_d);
    for (int i = 0; i < c->nowned; i++)
        dnnl_memory_destroy(c->owned[i]);
    free(c);
}

const char *blas_dnnl_isa(void)
{
    static const struct { dnnl_cpu_isa_t isa; const char *name; } names[] = {
        {dnnl_cpu_isa_sse41, "sse41"},
        {dnnl_cpu_isa_avx, "avx"},
        {dnnl_cpu_isa_avx2, "avx2"},
        {dnnl_cpu_isa_avx2_vnni, "avx2_vnni"},
        {dnnl_cpu_isa_avx512_mic, "avx512_mic"},
        {dnnl_cpu_isa_avx512_mic_4ops, "avx512_mic_4ops"},
        {dnnl_cpu_isa_avx512_core, "avx512_core"},
        {dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"},
        {dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"},
        {dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"},
    };
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].isa == isa)
            return names[i].name;
    return "generic";
}

const char *blas_dnnl_version(void)
{
    static char buf[32];
    if (!buf[0]) {
        const dnnl_version_t *v = dnnl_version();
        snprintf(buf, sizeof buf, "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
    }
    return buf;
}
