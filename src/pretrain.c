/* pretrain.c — greedy layer-wise pre-training with autoencoders.
 *
 * Bengio, Lamblin, Popovici & Larochelle 2007, "Greedy layer-wise training
 * of deep networks" (§2, the autoassociator variant): layer k is trained
 * to reconstruct its own input, which is the output of layers 1..k−1 on the
 * training data with their (already pre-trained) parameters held fixed;
 * then the next layer; then the whole network is trained as usual.
 *
 * Everything runs through the IR and the executor. Layer k's input comes
 * from the run's own graph, run forward in evaluation mode on each
 * minibatch. Layer k itself is rebuilt in a small auxiliary graph:
 *
 *     input [the layer's input shape] → the layer's dense and activation
 *     nodes, with their arguments (the encoder) → dense back to the input's
 *     last dimension, no activation (the decoder) → mse against the input
 *
 * The encoder starts from the layer's current parameters and is copied back
 * afterwards; the decoder has its own weights (untied: tying would need a
 * transposed-weight op, and the paper allows either), initialised with
 * dense's default xavier_uniform from the stream RNG_PRETRAIN, and is
 * dropped. sgd(lr) takes `steps` steps on minibatches of the run's batch
 * size, drawn from the training rows in shuffled passes. */
#include "vg/pretrain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vg/ops.h"

enum { CHAIN_MAX = 16 };

static const char *const NOT_CHAIN =
    "not a chain of dense and activations (residual, normalisation and recurrent layers "
    "are not pre-trained)";
static const char *const OUTPUT_LAYER = "the output layer is trained with the network";

/* A layer that is dense, then activations or denses, each node reading the
 * one before; input is the tensor the first dense reads. */
typedef struct Chain {
    int node[CHAIN_MAX];
    int n;
    int input;
} Chain;

/* The layer's chain, or why it has none. */
static const char *chain_of(const IrGraph *g, int layer, Chain *c)
{
    if (layer == g->nlayers - 1)
        return OUTPUT_LAYER;
    c->n = 0;
    for (int i = 0; i < g->n; i++) {
        const IrNode *nd = &g->nodes[i];
        if (nd->layer != layer)
            continue;
        bool linked = nd->nin == 1 && (c->n == 0 ? g->nodes[nd->in[0]].layer != layer
                                                  : nd->in[0] == c->node[c->n - 1]);
        bool kind = nd->op == OP_DENSE || op_def(nd->op)->kind == OPK_ACTIVATION;
        if (!linked || !kind || c->n == CHAIN_MAX)
            return NOT_CHAIN;
        c->node[c->n++] = i;
    }
    if (c->n == 0 || g->nodes[c->node[0]].op != OP_DENSE ||
        g->layers[layer].output != c->node[c->n - 1])
        return NOT_CHAIN;
    c->input = g->nodes[c->node[0]].in[0];
    return NULL;
}

/* The auxiliary graph of one layer; aux[k] is the node that mirrors
 * c->node[k]. */
static bool build_aux(Program *p, const Run *r, const Chain *c, IrGraph *a, int *aux)
{
    const IrGraph *g = &r->g;
    Shape in = g->nodes[c->input].shape;
    Span at = r->set.span;
    ir_init(a, &p->arena, g->name);
    int h = ir_add_source(a, OP_INPUT, NULL, in, at, &p->diag);
    for (int k = 0; k < c->n && h >= 0; k++) {
        const IrNode *nd = &g->nodes[c->node[k]];
        Value args[SIG_MAX];
        memcpy(args, nd->args, (size_t)nd->nargs * sizeof *args);
        for (int i = 0; i < nd->nargs; i++)
            if (args[i].kind == VAL_TENSOR)
                args[i].node = h;
        h = aux[k] = ir_add_node(a, nd->op, nd->span, NULL, 0, args, nd->nargs, &p->diag);
    }
    if (h < 0)
        return false;
    Value dec[2] = {{.kind = VAL_TENSOR, .node = h},
                    {.kind = VAL_NUM, .num = (double)in.dim[in.rank - 1]}};
    a->output = ir_add_node(a, OP_DENSE, at, NULL, 0, dec, 2, &p->diag);
    return a->output >= 0 && ir_add_loss(a, OP_MSE, in, at, &p->diag);
}

/* Copies the parameters of node fn in graph fg (store fs) to node tn of tg
 * (store ts): the same op with the same arguments declares the same
 * parameters in the same order. */
static void copy_node_params(const IrGraph *fg, const ParamStore *fs, int fn,
                             const IrGraph *tg, ParamStore *ts, int tn)
{
    const IrNode *f = &fg->nodes[fn], *t = &tg->nodes[tn];
    for (int k = 0; k < f->nparam; k++) {
        const IrParam *pf = &fg->params[f->param[k]], *pt = &tg->params[t->param[k]];
        memcpy(ts->value + pt->offset, fs->value + pf->offset,
               shape_size(pf->shape) * sizeof *ts->value);
    }
}

/* sgd(lr) with every other argument at its default. */
static Spec sgd_spec(IrGraph *a, double lr, Value *args)
{
    Spec s = *ir_default_spec(a, SPEC_SGD);
    const Sig *sig = spec_sig(SPEC_SGD);
    memcpy(args, s.args, (size_t)s.nargs * sizeof *args);
    for (int i = 0; i < s.nargs; i++)
        if (strcmp(sig->p[i].name, "lr") == 0)
            args[i] = (Value){.kind = VAL_NUM, .num = lr};
    s.args = args;
    return s;
}

/* What the layers share: the run, the rows and the stream. */
typedef struct Pretrainer {
    Program *p;
    Run *r;
    const TrainOptions *o;
    Rng rng;
    int *rows, nrows, cursor;
    int *batch;            /* the rows of one minibatch */
    long steps;
    double lr;
} Pretrainer;

/* One step's input: the layer's input on a fresh minibatch, computed by the
 * run's graph in evaluation mode, copied to the aux graph's input and
 * target (an autoencoder reconstructs its input). */
static void feed(Pretrainer *pt, const Chain *c, Exec *ae)
{
    Run *r = pt->r;
    int b = r->train.batch;
    for (int i = 0; i < b; i++)
        pt->batch[i] = data_next_row(pt->rows, pt->nrows, &pt->cursor, &pt->rng);
    data_fill(&r->data, &r->train, pt->batch, b);
    exec_forward(&r->train, EXEC_EVAL);
    size_t bytes = (size_t)b * shape_size(r->g.nodes[c->input].shape) * sizeof(float);
    memcpy(exec_source(ae, ae->g->input), r->train.val[c->input], bytes);
    memcpy(exec_source(ae, ae->g->target), r->train.val[c->input], bytes);
}

static PretrainStatus train_layer(Pretrainer *pt, int layer, const Chain *c, char *why,
                                  size_t n)
{
    Run *r = pt->r;
    PretrainLayer *res = &r->pretrain[layer];
    IrGraph a;
    int aux[CHAIN_MAX];
    ParamStore ps = {0};
    Exec ae = {0};
    Optim opt = {0};
    Value sgd_args[SIG_MAX];
    PretrainStatus st = PRETRAIN_FAILED;
    if (!build_aux(pt->p, r, c, &a, aux))
        goto done;
    params_alloc(&ps, &a);
    params_init(&ps, &a, &pt->rng);
    for (int k = 0; k < c->n; k++)
        copy_node_params(&r->g, &r->ps, c->node[k], &a, &ps, aux[k]);
    if (!exec_plan(&ae, &a, &ps, r->train.batch, pt->o->max_memory, &pt->p->diag))
        goto done;
    Spec sgd = sgd_spec(&a, pt->lr, sgd_args);
    optim_init(&opt, &sgd, ps.n);
    st = PRETRAIN_OK;
    for (long t = 0; t < pt->steps && !train_interrupted; t++) {
        feed(pt, c, &ae);
        exec_forward(&ae, EXEC_TRAIN);
        double loss = exec_loss(&ae);
        if (!isfinite(loss)) {
            snprintf(why, n, "run '%s': pre-training layer '%s': the reconstruction loss "
                     "became %s at pre-training step %ld", r->name, r->g.layers[layer].name,
                     isnan(loss) ? "NaN" : "infinite", t + 1);
            r->diverged = true;
            r->diverged_at = 0;
            st = PRETRAIN_NONFINITE;
            goto done;
        }
        exec_backward(&ae, EXEC_TRAIN);
        optim_begin_step(&opt);
        optim_update(&opt, ps.value, ps.grad, 0, ps.n);
        if (t == 0)
            res->first = loss;
        res->last = loss;
    }
    for (int k = 0; k < c->n; k++)
        copy_node_params(&a, &ps, aux[k], &r->g, &r->ps, c->node[k]);
done:
    optim_free(&opt);
    exec_free(&ae);
    params_free(&ps);
    ir_free(&a);
    return st;
}

PretrainStatus pretrain_run(Program *p, Run *r, const TrainOptions *o, char *why, size_t n)
{
    const IrGraph *g = &r->g;
    r->pretrain = xcalloc((size_t)g->nlayers, sizeof *r->pretrain);
    for (int l = 0; l < g->nlayers; l++)
        r->pretrain[l] = (PretrainLayer){.first = NAN, .last = NAN};
    Pretrainer pt = {.p = p, .r = r, .o = o, .nrows = r->ntrain,
                     .steps = (long)spec_num(r->set.pretrain, "steps"),
                     .lr = spec_num(r->set.pretrain, "lr")};
    rng_derive(&pt.rng, r->set.seed, RNG_PRETRAIN);
    pt.rows = xmalloc(sizeof(int) * (size_t)r->ntrain);
    pt.batch = xmalloc(sizeof(int) * (size_t)r->train.batch);
    /* The training rows are order[0..ntrain) as a set; our own stream
     * shuffles them, so the batch order's stream is left untouched. */
    memcpy(pt.rows, r->order, sizeof(int) * (size_t)r->ntrain);
    rng_shuffle(&pt.rng, pt.rows, pt.nrows);
    PretrainStatus st = PRETRAIN_OK;
    for (int l = 0; l < g->nlayers && st == PRETRAIN_OK; l++) {
        Chain c;
        r->pretrain[l].skipped = chain_of(g, l, &c);
        if (!r->pretrain[l].skipped)
            st = train_layer(&pt, l, &c, why, n);
    }
    free(pt.rows);
    free(pt.batch);
    return st;
}
