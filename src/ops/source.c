/* source.c — the graph's sources: the model input and the training target.
 *
 * Their shape is given when they are added (ir_add_source), so they have no
 * shape inference; their buffers are filled by the caller (exec_source), so
 * they have no kernels; and they carry no gradient. */
#include "vg/ops.h"

const OpDef REAL_NAME(op_input) = {
    .name = "input",
    .sig = "",
    .doc = "the model input (written `input x[...]`, not called)",
    .kind = OPK_SOURCE,
};

const OpDef REAL_NAME(op_target) = {
    .name = "target",
    .sig = "",
    .doc = "the training targets (filled by the run)",
    .kind = OPK_SOURCE,
};
