/* table.c — the op table, built from include/vg/ops.def: each entry points
 * at the OpDef its family file defines. Apart from registry.c because it
 * is built twice, as the kernels are (real.h): op_table_f64 holds the
 * float64 twins. */
#include "vg/ops.h"

const OpDef *const op_table[OP_COUNT] = {
#define OP(id, def) [id] = &REAL_NAME(def),
#include "vg/ops.def"
#undef OP
};
