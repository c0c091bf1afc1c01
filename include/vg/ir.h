/* ir.h — the static graph a model elaborates to.
 *
 * Nodes are appended in a valid execution order (every input exists before
 * the node that reads it), so a node's index is its place in the forward
 * sweep. Shapes exclude the batch dimension. Each node belongs to the layer
 * that was open when it was created (or none); parameters belong to the
 * layer of the node that created them. The graph owns nothing but its
 * arrays; names, argument values and specs live in the program arena. */
#ifndef VG_IR_H
#define VG_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "vg/arena.h"
#include "vg/diag.h"
#include "vg/value.h"

enum { IR_MAX_RANK = 3, IR_MAX_IN = 16, IR_MAX_PARAMS = 12 };

typedef struct Shape {
    int rank;
    long dim[IR_MAX_RANK];
} Shape;

/* Elements of one example; 0 for an invalid shape. */
size_t shape_size(Shape s);
bool shape_eq(Shape a, Shape b);
/* "[64]", "[50, 2]", "[]" (a scalar). Returns buf. */
char *shape_str(Shape s, char *buf, size_t n);
Shape shape1(long d0);
Shape shape2(long d0, long d1);

typedef struct IrParam {
    const char *name;     /* "fc[1].W", "fc[1].b" */
    Shape shape;
    int node;             /* the node that created it */
    int layer;            /* its layer, or -1 */
    const Spec *init;     /* initialisation spec */
    long fan_in, fan_out; /* as the creating op defines them */
    bool trainable;       /* false for running statistics */
    bool is_weight;       /* a weight matrix (for σw² in `predicted`), not a bias */
    size_t offset;        /* in floats, into the parameter block */
} IrParam;

typedef struct IrNode {
    int op;               /* OpId */
    Span span;            /* the expression that made it */
    int layer;            /* -1 outside any layer */
    int nin;
    int in[IR_MAX_IN];
    int nparam;
    int param[IR_MAX_PARAMS];   /* indices into IrGraph.params */
    int nargs;
    const Value *args;    /* bound arguments in signature order; tensor
                             slots hold VAL_TENSOR with the input's node */
    Shape shape;
    const char *binding;  /* last name bound to it, for printing; may be NULL */
} IrNode;

typedef struct IrLayer {
    const char *name;     /* "out", "fc[3]" */
    Span span;
    int output;           /* the last tensor bound inside; -1 if none */
} IrLayer;

typedef struct IrGraph {
    Arena *arena;         /* where names and args live (not owned) */
    const char *name;     /* the model's name */
    IrNode *nodes;
    int n, cap;
    IrParam *params;
    int nparams, pcap;
    IrLayer *layers;
    int nlayers, lcap;
    int input;            /* the input node, or -1 */
    int output;           /* the returned node, or -1 */
    int target, loss;     /* added by train (ir_add_loss), else -1 */
    size_t param_floats;  /* size of the parameter block */
    int cur_layer;        /* layer open during elaboration, or -1 */
} IrGraph;

void ir_init(IrGraph *g, Arena *arena, const char *name);
void ir_free(IrGraph *g);

/* Appends a node of op with inputs and bound arguments, runs the op's shape
 * inference (which may declare parameters) and returns its id, or -1 with a
 * diagnostic naming the op and the shapes involved. */
int ir_add_node(IrGraph *g, int op, Span at, const int *in, int nin,
                const Value *args, int nargs, DiagSink *d);
/* Declares a parameter of the node being added; used by ops' infer. */
int ir_add_param(IrGraph *g, int node, const char *suffix, Shape shape,
                 const Spec *init, long fan_in, long fan_out, bool trainable,
                 bool is_weight);
int ir_begin_layer(IrGraph *g, const char *name, Span at, DiagSink *d);
void ir_end_layer(IrGraph *g, int layer, int prev_layer);
int ir_find_layer(const IrGraph *g, const char *name);

/* Appends the target source and the loss node for training; returns false
 * with a diagnostic if the loss does not fit the output. */
bool ir_add_loss(IrGraph *g, int loss_op, Shape target_shape, Span at, DiagSink *d);

/* Argument helpers for ops (by signature position). */
double ir_arg_num(const IrNode *n, int i);
bool ir_arg_bool(const IrNode *n, int i);

/* `vg ir`: text listing, and Graphviz DOT. */
void ir_print(FILE *out, const IrGraph *g);
void ir_print_dot(FILE *out, const IrGraph *g);

#endif
