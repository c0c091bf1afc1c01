/* check.h — what `vg check` verifies, as a library: every run prepared
 * (elaborated, its data loaded, its buffers planned) and every model no run
 * trains elaborated with its defaults. `vg run`, `vg check` and `vg lsp`
 * share it, so an editor shows exactly the errors the command line does. */
#ifndef VG_CHECK_H
#define VG_CHECK_H

#include <stdbool.h>
#include "vg/program.h"
#include "vg/train.h"

/* Prepares the runs of p into rs: every run, or with run_only (the value
 * of the option named option, --run or --member; NULL for all) only those
 * it selects. Every member has a Run in rs, in file order; those not
 * selected stay unprepared. `vg run`
 * prepares them all before training any, so a mistake in the last run is
 * reported before minutes are spent on the first; and every expect of p
 * is resolved against them (expect_check_static), so a misspelt metric is
 * too. false: diagnostics in p->diag (every error, not the first). */
bool check_prepare_runs(Program *p, const TrainOptions *o, const char *option,
                        const char *run_only, RunSet *rs);
/* Elaborates, with its defaults, each model that no run trains and whose
 * parameters all have one. */
bool check_untrained_models(Program *p);

#endif
