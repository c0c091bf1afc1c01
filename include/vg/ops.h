/* ops.h — the op table.
 *
 * One op is one OpDef: its name and signature, shape inference (which also
 * declares the op's parameters), the size of the state it saves for the
 * backward pass, its forward and backward kernels, and for activations the
 * scalar function and its local derivative (used by the `saturation`,
 * `dead` and `predicted` report columns). The list of ops is include/vg/
 * ops.def; each op's OpDef lives in its family's file under src/ops/.
 *
 * Kernel contract: buffers are batch-major, [batch, shape_size(node)]
 * floats. forward writes out. backward writes din[i] (NULL when input i
 * needs no gradient) and accumulates into dparam[i] (zeroed by the caller
 * once per step). For din[i] the executor plans, once per graph and batch,
 * which consumer of a node runs its backward first: that kernel gets
 * din_overwrite[i] = true and must *overwrite* every element of din[i]
 * (a GEMM with beta = 0, '=' for '+='), since the buffer still holds the
 * previous step's values; every later consumer, and every kernel with
 * din_overwrite[i] = false, *accumulates* into it. A node read twice by
 * one consumer (x + x) is zeroed and accumulated, never overwritten.
 * Skipping the zeroing saves a memset and a read of every gradient buffer
 * per step. Kernels never allocate: scratch and saved state come in work,
 * or from prepare. */
#ifndef VG_OPS_H
#define VG_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include "vg/ir.h"
#include "vg/real.h"

struct Rng;

#define OP(id, def) id,
typedef enum OpId {
#include "vg/ops.def"
    OP_COUNT
} OpId;
#undef OP

typedef enum OpKind {
    OPK_SOURCE,      /* input and target: filled by the caller */
    OPK_LAYER,       /* has parameters: dense, batchnorm, layernorm, attention, embedding */
    OPK_ACTIVATION,  /* elementwise y = φ(z); act/deriv are set */
    OPK_TENSOR,      /* +, -, *, scale, concat, softmax, dropout, last */
    OPK_RECURRENT,   /* rnn, lstm, gru */
    OPK_LOSS,        /* (logits, target) -> mean loss, shape [] */
} OpKind;

/* What a sweep is for; it decides dropout and batch normalisation. */
typedef enum ExecMode {
    EXEC_TRAIN,  /* a training step: dropout samples a mask; batchnorm normalises
                    with the batch's statistics and moves its running ones */
    EXEC_PROBE,  /* a report's probe: no dropout; batchnorm normalises with the
                    probe's own statistics, as training does, and leaves the
                    running ones alone */
    EXEC_EVAL,   /* evaluation (test accuracy): no dropout; batchnorm uses its
                    running statistics */
} ExecMode;

typedef struct OpCtx {
    const IrGraph *g;
    const IrNode *node;
    int batch;
    ExecMode mode;          /* training, probing or evaluating */
    const real *in[IR_MAX_IN];
    real *din[IR_MAX_IN];
    bool din_overwrite[IR_MAX_IN];  /* write din[i] rather than add to it */
    real *out, *dout;
    real *param[IR_MAX_PARAMS];   /* writable: batchnorm updates running stats */
    real *dparam[IR_MAX_PARAMS];  /* NULL for non-trainable parameters */
    real *work;            /* work_floats(node, batch) floats, kept from
                               forward to backward */
    struct Rng *rng;        /* dropout masks */
    real *bptt;            /* recurrent backward in EXEC_PROBE: if non-NULL,
                               receives ‖dLoss/dh_t‖ over the batch for
                               t = 1..T */
    void *state;           /* what the op's prepare made for this plan */
} OpCtx;

/* What a recurrent op's nonlinearities did in the forward pass just run,
 * for the report: over every (example, step, unit) entry, each part's mean
 * value and the fraction of entries whose local derivative is below 1% of
 * its maximum (saturated). NaN for a part the op does not have: lstm has
 * input, forget and output gates and the cell's tanh; gru its update (z)
 * and reset (r) gates; rnn its activation, when that saturates. */
typedef enum RecurrentPart {
    RP_INPUT_GATE, RP_FORGET_GATE, RP_OUTPUT_GATE, RP_UPDATE_GATE, RP_RESET_GATE,
    RP_CELL, RP_ACTIVATION, RP_COUNT
} RecurrentPart;
typedef struct RecurrentStats {
    double mean[RP_COUNT], saturation[RP_COUNT];
} RecurrentStats;

/* The ranks an op's first tensor input may have, as a set: bit r for rank
 * r. ir_add_node rejects any other rank before the op's shape inference
 * runs, with one message for every op; the unit tests check each op at
 * each of its ranks. Rank 1 is [features], 2 [time, features], 3
 * [channels, height, width]. */
#define OP_RANK(r) (1u << (r))
enum { OP_RANKS_ANY = OP_RANK(1) | OP_RANK(2) | OP_RANK(3) };

typedef struct OpDef {
    const char *name;       /* as written in .vg ("dense", "+") */
    const char *sig;        /* "x:T units:I init:Z=xavier_uniform bias:B=true" */
    const char *doc;        /* one line, for `vg lsp`'s hover */
    OpKind kind;
    /* The ranks the first tensor input may have (OP_RANK(2) |
     * OP_RANK(3)); 0 means ranks 1 and 2. Read it through op_ranks. */
    unsigned ranks;
    /* The first input holds integer token ids, not values: it comes
     * straight from the model's input, and no gradient flows into it. */
    bool tokens;
    /* Sets n->shape from inputs and args, declares parameters; false with a
     * diagnostic naming the op and the shapes. */
    bool (*infer)(IrGraph *g, int node, DiagSink *d);
    size_t (*work_floats)(const IrNode *n, const IrGraph *g, int batch);
    /* For state a library keeps outside vg's buffers (oneDNN's primitives
     * and memories, blas_dnnl.h): made once per plan from the node's
     * finished context (exec_ready, before any sweep, so that no sweep
     * allocates), read by the kernels as c->state, released by exec_free. */
    void *(*prepare)(const OpCtx *c);
    void (*release)(void *state);
    void (*forward)(const OpCtx *c);
    void (*backward)(const OpCtx *c);
    /* Recurrent ops: their parts' statistics after a forward, before the
     * backward overwrites the saved gates (RecurrentStats). */
    void (*part_stats)(const OpCtx *c, RecurrentStats *s);
    /* Attention ops: after a forward in EXEC_PROBE, Σ over its (example,
     * head, query) rows of the entropy −Σ_j p_j ln p_j of the attention
     * weights (nats), and the number of rows. */
    void (*attention_entropy)(const OpCtx *c, double *sum, long *rows);
    /* Activations: φ(z) and φ′(z); max_deriv is sup φ′ (for saturation,
     * "below 1% of the maximum derivative"). relu_family marks ops whose
     * dead units are exact zeros. */
    double (*act)(double z, const IrNode *n);
    double (*deriv)(double z, const IrNode *n);
    /* d[k] = φ′ from the output y[k], for activations where it is
     * a function of y (sigmoid, tanh, relu, identity); NULL otherwise. The
     * report's per-entry statistics use it: a vector loop, no exp. */
    void (*deriv_y)(const real *y, real *d, size_t n);
    double max_deriv;
    bool saturating;
    bool relu_family;
} OpDef;

extern const OpDef *const op_table[OP_COUNT];

/* Each op's definition, in its family's file. */
#define OP(id, def) extern const OpDef REAL_NAME(def);
#include "vg/ops.def"
#undef OP

int op_lookup(const char *name);          /* OpId or -1 */
/* The set of ranks op's first input may have (OpDef.ranks, with 0 read
 * as ranks 1 and 2). */
unsigned op_ranks(int op);
/* "[features]", "[time, features]", "[channels, height, width]", or for
 * several ranks "[features] or [time, features]", in buf, which it returns. */
char *op_ranks_str(unsigned ranks, char *buf, size_t n);
/* What op's first input must be, as the rank error says it: "a
 * [time, features] input", or for an op of token ids "token ids [time]". */
char *op_input_str(int op, char *buf, size_t n);
const Sig *op_sig(int op);                /* parsed once, cached */
/* The token ids the embeddings reading source accept: ids below the
 * smallest of their vocab sizes, whose embedding goes to *node (may be
 * NULL); 0 when no embedding reads source. */
long op_token_limit(const IrGraph *g, int source, int *node);
/* The init `constant(c)` in g's arena, for parameters that start at a
 * value other than zero (a norm's gain, an LSTM's forget-gate bias). */
const Spec *op_constant_init(IrGraph *g, double c);
static inline const OpDef *op_def(int op) { return op_table[op]; }
/* 1 when a kernel adds to input i's gradient, 0 when it overwrites it. A
 * real, not the bool: gcc 12 keeps a select on a loop-invariant bool as a
 * branch, and the loop scalar; on a floating compare it emits a vector blend. */
static inline real op_din_keep(const OpCtx *c, int i)
{
    return c->din_overwrite[i] ? 0.0f : 1.0f;
}
/* What a gradient element holds before a kernel adds its part: old, or 0
 * when the kernel overwrites (keep = op_din_keep). A select, not old·keep:
 * the buffer may hold an earlier step's inf or nan. */
static inline real op_din_old(real keep, real old) { return keep > 0 ? old : 0.0f; }

#endif
