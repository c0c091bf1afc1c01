/* runval.h — a set of runs as the values expressions read.
 *
 * `expect deep.final.fc[2].ratio < 0.01`: a run names a Run of a RunSet,
 * its `initial` and `final` its first and last Report, a layer family
 * (`fc`) awaits an index, a layer has every metric (metrics.h), `verdict`,
 * and `bptt`, a series indexed by time step. */
#ifndef VG_RUNVAL_H
#define VG_RUNVAL_H

#include "vg/elab.h"
#include "vg/train.h"

/* The runs of rs for elab_eval; valid while rs does not change. */
RunValues run_values(const RunSet *rs);
/* elab_eval with the runs of rs visible (expects, the REPL). */
bool runs_eval(Program *p, const RunSet *rs, const AstNode *expr, Value *out);

#endif
