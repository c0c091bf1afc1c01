/* ir.c — the static graph: shapes, nodes, parameters, layers, and the
 * `vg ir` printers.
 *
 * ir_add_node completes an op's argument binding (defaults from the op's
 * signature), checks the rank of the first input against the ranks the op
 * declares (OpDef.ranks), runs the op's shape inference, which declares the node's
 * parameters, and checks the inferred size. On failure it rolls the graph
 * back, so a rejected expression leaves no half-built node or parameter. */
#include "vg/ir.h"

#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "vg/ops.h"

/* ---- shapes ---- */

size_t shape_size(Shape s)
{
    if (s.rank < 0 || s.rank > IR_MAX_RANK)
        return 0;
    size_t n = 1;
    for (int i = 0; i < s.rank; i++) {
        if (s.dim[i] < 1 || (size_t)s.dim[i] > SIZE_MAX / n)
            return 0;
        n *= (size_t)s.dim[i];
    }
    return n;
}

bool shape_eq(Shape a, Shape b)
{
    if (a.rank != b.rank)
        return false;
    for (int i = 0; i < a.rank; i++)
        if (a.dim[i] != b.dim[i])
            return false;
    return true;
}

char *shape_str(Shape s, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < s.rank && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%ld", i ? ", " : "", s.dim[i]);
    if (used < n)
        snprintf(buf + used, n - used, "]");
    return buf;
}

Shape shape1(long d0)
{
    return (Shape){.rank = 1, .dim = {d0}};
}

Shape shape2(long d0, long d1)
{
    return (Shape){.rank = 2, .dim = {d0, d1}};
}

/* ---- the graph ---- */

void ir_init(IrGraph *g, Arena *arena, const char *name)
{
    *g = (IrGraph){.arena = arena, .name = name, .input = -1, .output = -1,
                   .target = -1, .loss = -1, .cur_layer = -1};
}

void ir_free(IrGraph *g)
{
    free(g->nodes);
    free(g->params);
    free(g->layers);
    free(g->layer_names.slot);
    free(g->param_names.slot);
    ir_init(g, g->arena, g->name);
}

/* Operators are quoted in messages ("'+' needs ..."), named ops are not. */
static const char *display(IrGraph *g, int op)
{
    const char *name = op_def(op)->name;
    return isalpha((unsigned char)name[0]) ? name : arena_printf(g->arena, "'%s'", name);
}

/* A built-in a signature default names: an activation (act:A=tanh) or an
 * init (init:Z=xavier_uniform), the graph's shared one. */
static Value default_builtin(void *graph, const char *name)
{
    int op = op_lookup(name), spec = op < 0 ? spec_lookup(name) : -1;
    if (op >= 0)
        return (Value){.kind = VAL_OP, .op = op};
    if (spec >= 0)
        return (Value){.kind = VAL_SPEC, .spec = ir_default_spec(graph, spec)};
    return (Value){.kind = VAL_NONE};
}

const Spec *ir_default_spec(IrGraph *g, int spec_id)
{
    assert(spec_id >= 0 && spec_id < SPEC_COUNT);
    if (g->default_spec[spec_id])
        return g->default_spec[spec_id];
    const Sig *sig = spec_sig(spec_id);
    Spec *s = arena_alloc(g->arena, sizeof *s);
    s->id = spec_id;
    s->nargs = sig->n;
    s->args = arena_alloc(g->arena, (size_t)sig->n * sizeof *s->args + 1);
    s->span = SPAN_NONE;
    sig_fill_defaults(sig, s->args, NULL, g->arena, default_builtin, g);
    g->default_spec[spec_id] = s;
    return s;
}

/* Copies args into the arena in signature order: an empty tensor slot takes
 * the next of the given inputs, any other empty slot its default. */
static bool bind_args(IrGraph *g, int op, const Value *args, int nargs,
                      const int *in, int nin, Span at, IrNode *n, DiagSink *d)
{
    const Sig *sig = op_sig(op);
    assert(nargs <= sig->n);
    Value *v = arena_alloc(g->arena, (size_t)sig->n * sizeof *v + 1);
    int next_in = 0;
    for (int i = 0; i < sig->n; i++) {
        if (i < nargs)
            v[i] = args[i];
        if (v[i].kind == VAL_NONE && sig->p[i].type == ARG_TENSOR && in && next_in < nin)
            v[i] = (Value){.kind = VAL_TENSOR, .node = in[next_in++]};
    }
    int missing = sig_fill_defaults(sig, v, NULL, g->arena, default_builtin, g);
    if (missing >= 0)
        return diag_error(d, at, "%s needs argument '%s'", display(g, op),
                          sig->p[missing].name);
    n->args = v;
    n->nargs = sig->n;
    return true;
}

/* A node's inputs: as given, or the tensor slots of its arguments. */
static bool bind_inputs(IrNode *n, const int *in, int nin)
{
    if (in) {
        if (nin > IR_MAX_IN)
            return false;
        memcpy(n->in, in, (size_t)nin * sizeof *in);
        n->nin = nin;
        return true;
    }
    n->nin = 0;
    for (int i = 0; i < n->nargs; i++) {
        if (n->args[i].kind != VAL_TENSOR)
            continue;
        if (n->nin == IR_MAX_IN)
            return false;
        n->in[n->nin++] = n->args[i].node;
    }
    return true;
}

/* The op's declared ranks, for its first input: one message for every op. */
static bool check_rank(IrGraph *g, const IrNode *n, DiagSink *d)
{
    if (n->nin == 0)
        return true;
    Shape x = g->nodes[n->in[0]].shape;
    unsigned ranks = op_ranks(n->op);
    if (x.rank <= IR_MAX_RANK && (ranks & OP_RANK(x.rank)))
        return true;
    char want[128], got[96];
    return diag_error(d, n->span, "%s needs %s, got %s", display(g, n->op),
                      op_input_str(n->op, want, sizeof want), shape_str(x, got, sizeof got));
}

static bool check_size(IrGraph *g, const IrNode *n, DiagSink *d)
{
    size_t size = shape_size(n->shape);
    if (size >= 1 && size <= IR_MAX_ELEMS)
        return true;
    char buf[96];
    return diag_error(d, n->span, "%s gives a tensor of shape %s, %s", display(g, n->op),
                      shape_str(n->shape, buf, sizeof buf),
                      size ? "above the limit of 2^31 elements per example"
                           : "which has no elements");
}

/* ---- name index ---- */

/* FNV-1a (Fowler, Noll & Vo), 32-bit. */
static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The slot holding name (of hash h), or the empty slot where it would go. */
static int name_slot(const IrNameIndex *x, const char *name, uint32_t h)
{
    int mask = x->cap - 1, i = (int)(h & (uint32_t)mask);
    while (x->slot[i].key && (x->slot[i].hash != h || strcmp(x->slot[i].key, name) != 0))
        i = (i + 1) & mask;  /* linear probing */
    return i;
}

static int name_find(const IrNameIndex *x, const char *name)
{
    if (x->cap == 0)
        return -1;
    const IrNameSlot *s = &x->slot[name_slot(x, name, name_hash(name))];
    return s->key ? s->val : -1;
}

/* Adds a name that is not there yet; the table stays at most half full. */
static void name_add(IrNameIndex *x, const char *name, int val)
{
    if (2 * (x->n + 1) > x->cap) {
        IrNameIndex old = *x;
        x->cap = old.cap ? 2 * old.cap : 64;
        /* vec_grow_at: a large table is of huge pages (arena.h). */
        size_t bytes = (size_t)x->cap * sizeof *x->slot;
        x->slot = memset(vec_grow_at(NULL, 0, bytes, __FILE__, __LINE__), 0, bytes);
        for (int i = 0; i < old.cap; i++)
            if (old.slot[i].key)
                x->slot[name_slot(x, old.slot[i].key, old.slot[i].hash)] = old.slot[i];
        free(old.slot);
    }
    uint32_t h = name_hash(name);
    x->slot[name_slot(x, name, h)] = (IrNameSlot){name, h, val};
    x->n++;
}

/* Forgets the nodes and parameters added since; the parameter name index
 * is rebuilt (a failed node is rare, an error path). */
static void rollback(IrGraph *g, int nodes, int params, size_t floats)
{
    g->n = nodes;
    g->param_floats = floats;
    if (g->nparams == params)
        return;
    g->nparams = params;
    IrNameIndex *x = &g->param_names;
    memset(x->slot, 0, sizeof *x->slot * (size_t)x->cap);
    x->n = 0;
    for (int i = 0; i < params; i++)
        name_add(x, g->params[i].name, i);
}

static int append(IrGraph *g, IrNode n)
{
    VEC_PUSH(g->nodes, g->n, g->cap, n);
    return g->n - 1;
}

/* A source given its dimensions as numbers, as `input x[2]` elaborates. */
static int add_source_dims(IrGraph *g, int op, Span at, const Value *dims, int ndims,
                           DiagSink *d)
{
    if (ndims < 1 || ndims > IR_MAX_RANK) {
        diag_error(d, at, "%s needs 1 to %d dimensions, got %d", op_def(op)->name,
                   IR_MAX_RANK, ndims);
        return -1;
    }
    Shape s = {.rank = ndims};
    for (int i = 0; i < ndims; i++) {
        assert(dims[i].kind == VAL_NUM);
        s.dim[i] = dims[i].num >= 1 && dims[i].num <= IR_MAX_ELEMS ? (long)dims[i].num : 0;
    }
    return ir_add_source(g, op, NULL, s, at, d);
}

int ir_add_node(IrGraph *g, int op, Span at, const int *in, int nin,
                const Value *args, int nargs, DiagSink *d)
{
    assert(op >= 0 && op < OP_COUNT);
    if (op_def(op)->kind == OPK_SOURCE)
        return add_source_dims(g, op, at, args, nargs, d);
    IrNode n = {.op = op, .span = at, .layer = g->cur_layer};
    if (!bind_args(g, op, args, nargs, in, nin, at, &n, d))
        return -1;
    if (!bind_inputs(&n, in, nin)) {
        diag_error(d, at, "%s takes at most %d tensors", display(g, op), IR_MAX_IN);
        return -1;
    }
    for (int i = 0; i < n.nin; i++)
        assert(n.in[i] >= 0 && n.in[i] < g->n);
    if (!check_rank(g, &n, d))
        return -1;
    int nodes = g->n, params = g->nparams;
    size_t floats = g->param_floats;
    int id = append(g, n);
    if (!op_def(op)->infer(g, id, d) || !check_size(g, &g->nodes[id], d)) {
        rollback(g, nodes, params, floats);
        return -1;
    }
    return id;
}

int ir_add_source(IrGraph *g, int op, const char *name, Shape shape, Span at,
                  DiagSink *d)
{
    assert(op == OP_INPUT || op == OP_TARGET);
    IrNode n = {.op = op, .span = at, .layer = g->cur_layer, .shape = shape,
                .binding = name};
    char buf[96];
    if (shape.rank < 1 || shape.rank > IR_MAX_RANK || !shape_size(shape)) {
        diag_error(d, at, "%s needs 1 to %d dimensions of at least 1, got %s",
                   op_def(op)->name, IR_MAX_RANK, shape_str(shape, buf, sizeof buf));
        return -1;
    }
    if (!check_size(g, &n, d))
        return -1;
    int id = append(g, n);
    if (op == OP_INPUT && g->input < 0)
        g->input = id;
    return id;
}

/* The first free name among "base", "base2", "base3", ... */
static const char *unique_param_name(IrGraph *g, const char *base)
{
    const char *name = base;
    for (int k = 2; name_find(&g->param_names, name) >= 0; k++)
        name = arena_printf(g->arena, "%s%d", base, k);
    return name;
}

int ir_add_param(IrGraph *g, int node, const char *suffix, Shape shape,
                 const Spec *init, long fan_in, long fan_out, bool trainable,
                 bool is_weight)
{
    IrNode *n = &g->nodes[node];
    assert(n->nparam < IR_MAX_PARAMS && shape_size(shape) <= IR_MAX_ELEMS);
    const char *base = n->layer >= 0
        ? arena_concat(g->arena, g->layers[n->layer].name, ".", suffix, (char *)NULL)
        : arena_printf(g->arena, "%s%d.%s", op_def(n->op)->name, node, suffix);
    IrParam p = {.name = unique_param_name(g, base), .shape = shape, .node = node,
                 .layer = n->layer, .init = init, .fan_in = fan_in,
                 .fan_out = fan_out, .trainable = trainable,
                 .is_weight = is_weight, .offset = g->param_floats};
    VEC_PUSH(g->params, g->nparams, g->pcap, p);
    name_add(&g->param_names, p.name, g->nparams - 1);
    g->param_floats += shape_size(shape);
    n->param[n->nparam++] = g->nparams - 1;
    return g->nparams - 1;
}

/* ---- layers ---- */

int ir_begin_layer(IrGraph *g, const char *name, Span at, DiagSink *d)
{
    int prev = ir_find_layer(g, name);
    if (prev >= 0) {
        diag_error(d, at, "layer '%s' is declared twice", name);
        Span s = g->layers[prev].span;
        diag_note(d, "first declared at line %d, column %d", s.first_line, s.first_column);
        return -1;
    }
    IrLayer l = {.name = name, .span = at, .output = -1};
    VEC_PUSH(g->layers, g->nlayers, g->lcap, l);
    name_add(&g->layer_names, name, g->nlayers - 1);
    g->cur_layer = g->nlayers - 1;
    return g->cur_layer;
}

void ir_end_layer(IrGraph *g, int layer, int prev_layer)
{
    IrLayer *l = &g->layers[layer];
    for (int i = g->n - 1; i >= 0 && l->output < 0; i--)
        if (g->nodes[i].layer == layer && g->nodes[i].binding)
            l->output = i;
    g->cur_layer = prev_layer;
}

int ir_find_layer(const IrGraph *g, const char *name)
{
    return name_find(&g->layer_names, name);
}

/* ---- training ---- */

bool ir_add_loss(IrGraph *g, int loss_op, Shape target_shape, Span at, DiagSink *d)
{
    assert(op_def(loss_op)->kind == OPK_LOSS);
    if (g->output < 0)
        return diag_error(d, at, "model '%s' returns no tensor to train", g->name);
    int nodes = g->n, layer = g->cur_layer;
    g->cur_layer = -1;
    int target = ir_add_source(g, OP_TARGET, NULL, target_shape, at, d);
    int in[2] = {g->output, target};
    int loss = target < 0 ? -1 : ir_add_node(g, loss_op, at, in, 2, NULL, 0, d);
    g->cur_layer = layer;
    if (loss < 0) {
        g->n = nodes;
        return false;
    }
    g->target = target;
    g->loss = loss;
    return true;
}

/* ---- arguments ---- */

double ir_arg_num(const IrNode *n, int i)
{
    assert(i < n->nargs && (n->args[i].kind == VAL_NUM || n->args[i].kind == VAL_BOOL));
    return n->args[i].num;
}

bool ir_arg_bool(const IrNode *n, int i)
{
    return ir_arg_num(n, i) != 0;
}

const Spec *ir_arg_spec(const IrNode *n, int i)
{
    assert(i < n->nargs && n->args[i].kind == VAL_SPEC);
    return n->args[i].spec;
}

/* ---- printers ---- */

/* An init as written: its name, then the arguments that differ from their
 * defaults ("xavier_uniform", "normal(std=0.1)", "he_normal(gain=2)"). */
static char *spec_str(const Spec *s, char *buf, size_t n)
{
    const Sig *sig = spec_sig(s->id);
    size_t used = (size_t)snprintf(buf, n, "%s", spec_table[s->id].name);
    int shown = 0;
    for (int i = 0; i < s->nargs && used < n; i++) {
        const Value *v = &s->args[i];
        if (v->kind != VAL_NUM && v->kind != VAL_BOOL)
            continue;
        if (sig->p[i].dflt && v->num == sig->p[i].dflt_num)
            continue;
        used += (size_t)snprintf(buf + used, n - used, "%s%s=%g", shown++ ? ", " : "(",
                                 sig->p[i].name, v->num);
    }
    if (shown && used < n)
        snprintf(buf + used, n - used, ")");
    return buf;
}

enum { COLS = 6, CELL = 192 };

static void node_cells(const IrGraph *g, int id, char cell[COLS][CELL])
{
    const IrNode *n = &g->nodes[id];
    snprintf(cell[0], CELL, "%%%d", id);
    snprintf(cell[1], CELL, "%s", op_def(n->op)->name);
    size_t used = 0;
    cell[2][0] = '\0';
    for (int i = 0; i < n->nin && used < CELL; i++)
        used += (size_t)snprintf(cell[2] + used, CELL - used, "%s%%%d", i ? " " : "", n->in[i]);
    if (!n->nin)
        snprintf(cell[2], CELL, "-");
    shape_str(n->shape, cell[3], CELL);
    snprintf(cell[4], CELL, "%s", n->layer >= 0 ? g->layers[n->layer].name : "-");
    snprintf(cell[5], CELL, "%s", n->binding ? n->binding : "-");
}

static void param_cells(const IrParam *p, char cell[3][CELL])
{
    snprintf(cell[0], CELL, "%s", p->name);
    shape_str(p->shape, cell[1], CELL);
    spec_str(p->init, cell[2], CELL);
}

static void print_params(FILE *out, const IrGraph *g)
{
    char cell[3][CELL];
    int width[3] = {0, 0, 0};
    for (int i = 0; i < g->nparams; i++) {
        param_cells(&g->params[i], cell);
        for (int c = 0; c < 3; c++)
            if ((int)strlen(cell[c]) > width[c])
                width[c] = (int)strlen(cell[c]);
    }
    for (int i = 0; i < g->nparams; i++) {
        const IrParam *p = &g->params[i];
        param_cells(p, cell);
        fprintf(out, "  %-*s %-*s %-*s fan_in=%ld fan_out=%ld%s\n", width[0], cell[0],
                width[1], cell[1], width[2], cell[2], p->fan_in, p->fan_out,
                p->trainable ? "" : " (not trained)");
    }
}

void ir_print(FILE *out, const IrGraph *g)
{
    static const char *const head[COLS] = {"node", "op", "inputs", "shape", "layer", "name"};
    char cell[COLS][CELL];
    int width[COLS];
    for (int c = 0; c < COLS; c++)
        width[c] = (int)strlen(head[c]);
    for (int i = 0; i < g->n; i++) {
        node_cells(g, i, cell);
        for (int c = 0; c < COLS; c++)
            if ((int)strlen(cell[c]) > width[c])
                width[c] = (int)strlen(cell[c]);
    }
    fprintf(out, "model %s: %d nodes, %d parameters (%zu floats)\n", g->name, g->n,
            g->nparams, g->param_floats);
    for (int i = -1; i < g->n; i++) {
        if (i >= 0)
            node_cells(g, i, cell);
        fputs(" ", out);
        for (int c = 0; c < COLS - 1; c++)
            fprintf(out, " %-*s", width[c], i < 0 ? head[c] : cell[c]);
        fprintf(out, " %s\n", i < 0 ? head[COLS - 1] : cell[COLS - 1]);
    }
    if (g->nparams)
        fputs("parameters:\n", out);
    print_params(out, g);
}

/* DOT strings: names may hold quotes or backslashes only through user
 * identifiers, which cannot; escape anyway so the output always parses. */
static void dot_str(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
}

void ir_print_dot(FILE *out, const IrGraph *g)
{
    char buf[CELL];
    fputs("digraph \"", out);
    dot_str(out, g->name);
    fputs("\" {\n  rankdir=BT;\n  node [shape=box, fontname=\"monospace\"];\n", out);
    for (int l = 0; l < g->nlayers; l++) {
        fprintf(out, "  subgraph cluster_%d {\n    label=\"", l);
        dot_str(out, g->layers[l].name);
        fputs("\";\n", out);
        for (int i = 0; i < g->n; i++)
            if (g->nodes[i].layer == l)
                fprintf(out, "    n%d;\n", i);
        fputs("  }\n", out);
    }
    for (int i = 0; i < g->n; i++) {
        const IrNode *n = &g->nodes[i];
        fprintf(out, "  n%d [label=\"%%%d ", i, i);
        dot_str(out, op_def(n->op)->name);
        fprintf(out, "\\n%s", shape_str(n->shape, buf, sizeof buf));
        if (n->binding) {
            fputs("\\n", out);
            dot_str(out, n->binding);
        }
        fputs("\"];\n", out);
        for (int k = 0; k < n->nin; k++)
            fprintf(out, "  n%d -> n%d;\n", n->in[k], i);
    }
    fputs("}\n", out);
}
