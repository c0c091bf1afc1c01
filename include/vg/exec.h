/* exec.h — planned buffers and the forward and backward sweeps.
 *
 * Plan once, run many: exec_plan allocates, for one graph and one batch
 * size, every node's value, gradient and saved-state buffer in a single
 * block, and exec_plan_view lays smaller batches of the same graph over it;
 * exec_forward and exec_backward then allocate nothing. Parameters
 * and their gradients live in a ParamStore (one block each), shared by the
 * plans of the same graph at different batch sizes (training, probe).
 * Values are `real`: float for runs, double in the float64 twin that
 * `vg gradcheck` uses (real.h). */
#ifndef VG_EXEC_H
#define VG_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include "vg/ir.h"
#include "vg/ops.h"
#include "vg/real.h"
#include "vg/rng.h"

typedef struct ParamStore {
    real *value;   /* graph->param_floats */
    real *grad;    /* parallel to value; NULL: each plan keeps the gradients
                       of one node at a time in its scratch (exec_param_grad) */
    size_t n;
} ParamStore;

/* What one parameter float costs a run: its value, its gradient and up to
 * two optimizer moments (Adam's m and v). */
enum { PARAM_BYTES = 16 };
/* Checks, before anything is allocated, that g's parameters fit in
 * max_bytes (0: no limit) at PARAM_BYTES each. false: a diagnostic at the
 * op whose parameter crosses the bound, naming the op, the parameter, its
 * shape and the total. Sets *bytes to the parameters' bytes on success. */
bool params_check(const IrGraph *g, size_t max_bytes, size_t *bytes, DiagSink *d);
/* The values and a gradient block. */
void params_alloc(ParamStore *ps, const IrGraph *g);
/* The values alone, for a caller that consumes each node's gradients in
 * exec_backward_each's hook: the plan's scratch then holds them, sized for
 * the node with the most parameters, and stays in cache. */
void params_alloc_values(ParamStore *ps, const IrGraph *g);
/* Initialises every parameter from its init spec, in declaration order. */
#ifndef VG_REAL_DOUBLE  /* the float64 twin is set from float values */
void params_init(ParamStore *ps, const IrGraph *g, Rng *rng);
#endif
void params_free(ParamStore *ps);

typedef struct Exec {
    const IrGraph *g;
    ParamStore *ps;
    const struct OpDef *const *ops;  /* op_table; a test may swap in a copy
                                        with one entry replaced */
    int batch;
    real **val;      /* per node: [batch, shape_size]; a loss node holds
                         one number, the mean over the batch */
    real **grad;     /* per node; NULL for sources */
    real **work;     /* per node; NULL when the op saves nothing */
    real **bptt;     /* per node: recurrent ops' per-step gradient norms */
    bool *din_first;  /* [node][IR_MAX_IN]: node's backward writes that input's
                         gradient first, so overwrites it (ops.h) */
    bool *grad_zero;  /* per node: its gradient is zeroed before backward
                         (no consumer overwrites it) */
    real *block;
    size_t floats;    /* total floats in block */
    bool owns_block;  /* false for a view (exec_plan_view) */
    real *scratch;   /* without ps->grad: the parameter gradients of the node
                         whose backward runs; owned with the block */
    size_t scratch_floats;
    struct OpCtx *ctxs;  /* per node: its kernels' context (exec_ready), built
                            at the latest by the first sweep */
    Rng rng;          /* dropout */
} Exec;

/* Plans buffers for batch rows: one block holds every value, gradient,
 * work and bptt buffer, zeroed (the per-node pointer tables are apart; so
 * is the gradient scratch, when ps has no gradient block). Refuses
 * (diagnostic naming the size, false, e left empty) if that would exceed
 * max_bytes (0: no limit). Any earlier plan in e must have been freed. ps
 * may be NULL for a plan that is only sized, never swept (the fuzzer's). */
bool exec_plan(Exec *e, const IrGraph *g, ParamStore *ps, int batch,
               size_t max_bytes, DiagSink *d);
/* Plans host's graph for batch ≤ host->batch rows over host's block, with
 * no new buffers: every sweep of e overwrites what a sweep of host (or of
 * another view) left, sources included. For passes that never interleave,
 * as a run's training steps, probes and test chunks: together they then
 * hold the memory of the largest alone. Buffers are monotone in the batch,
 * so the smaller plan fits. Free the views before their host, or only
 * stop using them. */
void exec_plan_view(Exec *e, const Exec *host, int batch);
void exec_free(Exec *e);
/* Gives back the memory a plan holds once it is done with (a run that
 * finished training): its kernels' contexts and the pages of its block,
 * which reads as zeros again. The plan stays valid; a later sweep rebuilds
 * the contexts, as the first sweep after exec_plan does. */
void exec_release(Exec *e);

/* Builds the kernels' contexts of e, once: the first sweep does it if
 * nothing did before; a training loop calls it first, so that no step
 * allocates. */
void exec_ready(Exec *e);
/* Pointer to a source node's buffer (input or target), for the caller to fill. */
real *exec_source(Exec *e, int node);
/* Runs every node; the mode decides dropout and batch normalisation. */
void exec_forward(Exec *e, ExecMode mode);
/* Zeroes the node gradients that no consumer overwrites, seeds dLoss = 1
 * and runs backward kernels in reverse order. Each node's parameter
 * gradients in ps->grad are zeroed just before its kernel runs, so a pass
 * leaves the gradients of that pass alone. It must follow an exec_forward
 * of the same plan, once: kernels may overwrite the state the forward
 * saved with gradients (the recurrent ones do). */
void exec_backward(Exec *e, ExecMode mode);
/* Called after the backward kernel of node: the gradients of its
 * parameters are then final, and no later kernel reads its parameters
 * (each parameter belongs to one node), so they may be updated. */
typedef void ExecNodeDone(void *ctx, int node);
/* exec_backward, calling done(ctx, node) after each node's kernel. */
void exec_backward_each(Exec *e, ExecMode mode, ExecNodeDone *done, void *ctx);
/* The gradient of node's k-th parameter (NULL if not trainable): in
 * ps->grad, or without it in the plan's scratch, where it is valid only
 * until the next node's backward — read it in the hook. */
real *exec_param_grad(Exec *e, int node, int k);
/* m·n·k of the largest GEMM of a training step of this plan (the forward
 * product of the largest weight; its two backward products have the same
 * size); 0 without weights. vg run's default thread count reads it. */
double exec_largest_gemm(const Exec *e);
/* The loss value after exec_forward (needs a loss node). */
real exec_loss(const Exec *e);

#endif
