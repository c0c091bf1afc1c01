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
#include <stdint.h>
#include <stdio.h>
#include "vg/arena.h"
#include "vg/diag.h"
#include "vg/value.h"

enum { IR_MAX_RANK = 3, IR_MAX_IN = 16, IR_MAX_PARAMS = 12 };
/* The largest tensor one example may hold (and the largest parameter):
 * sizes reach BLAS as int. */
enum { IR_MAX_ELEMS = 2147483647 };

typedef struct Shape {
    int rank;
    long dim[IR_MAX_RANK];
} Shape;

/* Elements of one example (1 for a scalar); 0 for an invalid shape (a
 * dimension below 1, or a product that overflows size_t). */
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

/* Names → indices (of layers, of parameters), an open-addressing hash
 * table, so that declaring N layers checks their names in O(N), not O(N²).
 * A slot keeps its name's hash: probing compares hashes and reads a name
 * (a cache miss into the arena) only when they match. */
typedef struct IrNameSlot {
    const char *key;      /* NULL: an empty slot */
    uint32_t hash;
    int val;
} IrNameSlot;

typedef struct IrNameIndex {
    IrNameSlot *slot;
    int cap, n;           /* cap: 0 or a power of two */
} IrNameIndex;

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
    IrNameIndex layer_names, param_names;
    const Spec *default_spec[SPEC_COUNT];  /* ir_default_spec's, once made */
} IrGraph;

void ir_init(IrGraph *g, Arena *arena, const char *name);
void ir_free(IrGraph *g);

/* Appends a node of op with inputs and bound arguments, checks the rank of
 * its first input against the op's (op_ranks), runs the op's shape
 * inference (which may declare parameters) and returns its id, or -1 with a
 * diagnostic naming the op and the shapes involved (the graph is then left
 * as it was). args are in signature order and copied into the arena; a
 * missing trailing argument or a VAL_NONE slot whose signature has a default
 * gets the default. in may be NULL: the inputs are then the tensor slots of
 * args, in order. For a source (OP_INPUT, OP_TARGET), args are its
 * dimensions as VAL_NUM and in is unused: it is ir_add_source without a
 * name. */
int ir_add_node(IrGraph *g, int op, Span at, const int *in, int nin,
                const Value *args, int nargs, DiagSink *d);
/* Appends a source node (OP_INPUT or OP_TARGET) of the given shape, bound to
 * name (may be NULL); the first input becomes g->input. -1 with a diagnostic
 * if a dimension is below 1 or the shape is too large. */
int ir_add_source(IrGraph *g, int op, const char *name, Shape shape, Span at,
                  DiagSink *d);
/* Declares a parameter of the node being added; used by ops' infer. Its
 * name is "<layer>.<suffix>" inside a layer ("fc[1].W"); a second parameter
 * of the same name in that layer (two dense ops in one layer) gets a
 * counter, "fc[1].W2", "fc[1].b2". Outside a layer it is
 * "<op><node>.<suffix>" ("dense4.W"). Returns the parameter's index. */
int ir_add_param(IrGraph *g, int node, const char *suffix, Shape shape,
                 const Spec *init, long fan_in, long fan_out, bool trainable,
                 bool is_weight);
/* Opens a layer (nodes and parameters created until ir_end_layer belong to
 * it) and returns its index, or -1 with a diagnostic if the name is taken. */
int ir_begin_layer(IrGraph *g, const char *name, Span at, DiagSink *d);
/* Closes layer and reopens prev_layer (or none: -1). If the elaborator did
 * not set the layer's output, it becomes the last node created inside that
 * has a binding; it stays -1 when no node inside is bound. */
void ir_end_layer(IrGraph *g, int layer, int prev_layer);
int ir_find_layer(const IrGraph *g, const char *name);

/* Appends the target source and the loss node for training; returns false
 * with a diagnostic if the loss does not fit the output. */
bool ir_add_loss(IrGraph *g, int loss_op, Shape target_shape, Span at, DiagSink *d);

/* Argument helpers for ops (by signature position); a slot of another kind
 * is a programming error and aborts. */
double ir_arg_num(const IrNode *n, int i);
bool ir_arg_bool(const IrNode *n, int i);
const Spec *ir_arg_spec(const IrNode *n, int i);
/* A spec built-in with every argument at its default (required arguments
 * VAL_NONE), in the graph's arena: the bias init `zeros`, for instance.
 * Made once per graph and shared by every caller: copy it to change it. */
const Spec *ir_default_spec(IrGraph *g, int spec_id);

/* `vg ir`: text listing, and Graphviz DOT. */
void ir_print(FILE *out, const IrGraph *g);
void ir_print_dot(FILE *out, const IrGraph *g);

#endif
