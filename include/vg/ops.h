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
 * floats. forward writes out. backward *accumulates* into din[i] (NULL when
 * input i needs no gradient) and dparam[i]; the caller zeroes them first.
 * Kernels never allocate: scratch and saved state come in work. */
#ifndef VG_OPS_H
#define VG_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include "vg/exec.h"
#include "vg/ir.h"

struct Rng;

#define OP(id, def) id,
typedef enum OpId {
#include "vg/ops.def"
    OP_COUNT
} OpId;
#undef OP

typedef enum OpKind {
    OPK_SOURCE,      /* input and target: filled by the caller */
    OPK_LAYER,       /* has parameters: dense, batchnorm, layernorm */
    OPK_ACTIVATION,  /* elementwise y = φ(z); act/deriv are set */
    OPK_TENSOR,      /* +, -, *, scale, concat, softmax, dropout, last */
    OPK_RECURRENT,   /* rnn, lstm, gru */
    OPK_LOSS,        /* (logits, target) -> mean loss, shape [] */
} OpKind;

typedef struct OpCtx {
    const IrGraph *g;
    const IrNode *node;
    int batch;
    ExecMode mode;          /* training, probing or evaluating (exec.h) */
    const float *in[IR_MAX_IN];
    float *din[IR_MAX_IN];
    float *out, *dout;
    float *param[IR_MAX_PARAMS];   /* writable: batchnorm updates running stats */
    float *dparam[IR_MAX_PARAMS];  /* NULL for non-trainable parameters */
    float *work;            /* work_floats(node, batch) floats, kept from
                               forward to backward */
    struct Rng *rng;        /* dropout masks */
    float *bptt;            /* recurrent backward: if non-NULL, receives
                               ‖dLoss/dh_t‖ over the batch for t = 1..T */
} OpCtx;

typedef struct OpDef {
    const char *name;       /* as written in .vg ("dense", "+") */
    const char *sig;        /* "x:T units:I init:Z=xavier_uniform bias:B=true" */
    OpKind kind;
    /* Sets n->shape from inputs and args, declares parameters; false with a
     * diagnostic naming the op and the shapes. */
    bool (*infer)(IrGraph *g, int node, DiagSink *d);
    size_t (*work_floats)(const IrNode *n, const IrGraph *g, int batch);
    void (*forward)(const OpCtx *c);
    void (*backward)(const OpCtx *c);
    /* Activations: φ(z) and φ′(z); max_deriv is sup φ′ (for saturation,
     * "below 1% of the maximum derivative"). relu_family marks ops whose
     * dead units are exact zeros. */
    double (*act)(double z, const IrNode *n);
    double (*deriv)(double z, const IrNode *n);
    double max_deriv;
    bool saturating;
    bool relu_family;
} OpDef;

extern const OpDef *const op_table[OP_COUNT];

/* Each op's definition, in its family's file. */
#define OP(id, def) extern const OpDef def;
#include "vg/ops.def"
#undef OP

int op_lookup(const char *name);          /* OpId or -1 */
const Sig *op_sig(int op);                /* parsed once, cached */
/* The init `constant(c)` in g's arena, for parameters that start at a
 * value other than zero (a norm's gain, an LSTM's forget-gate bias). */
const Spec *op_constant_init(IrGraph *g, double c);
static inline const OpDef *op_def(int op) { return op_table[op]; }

#endif
