/* gradcheck.h — `vg gradcheck`: the backward pass against finite differences.
 *
 * gradcheck_attach_loss gives an elaborated model the loss its run trains
 * with, or (loss < 0) one that fits its output; gradcheck_run initialises the parameters, draws a random batch
 * (all from one seed), runs forward and backward once in training mode,
 * and compares every trainable parameter's gradient — every entry of a
 * tensor of up to max_entries, else max_entries entries spread over it —
 * with a central difference of the loss. The step, the error measure and
 * the tolerance are below and in docs/language.md. The executor's op table
 * can be replaced, so a test can check that a wrong backward is caught. */
#ifndef VG_GRADCHECK_H
#define VG_GRADCHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "vg/ir.h"

struct OpDef_f64;

/* The check runs in float64 (src/gradcheck.c says why). The step for entry
 * θ is GRADCHECK_STEP·max(1, |θ|) (retried at a tenth of it); an entry's
 * error is |analytic − numeric| / max(|analytic|, |numeric|,
 * GRADCHECK_FLOOR·max(1, |L|)); the check fails when the worst error
 * exceeds GRADCHECK_TOLERANCE. */
#define GRADCHECK_STEP 1e-5
#define GRADCHECK_FLOOR 1e-4
#define GRADCHECK_TOLERANCE 1e-4

typedef struct GradcheckOptions {
    uint64_t seed;         /* parameters, batch, dropout masks, sampled entries */
    int batch;             /* rows of the random batch; 0: 4 */
    int max_entries;       /* per parameter tensor; 0: 64 */
    /* the float64 twin's op table (a file with VG_REAL_DOUBLE calls it
     * op_table and OpDef: real.h); NULL: op_table_f64 */
    const struct OpDef_f64 *const *ops;
} GradcheckOptions;

/* One declared layer (or, last, the parameters outside every layer). */
typedef struct GradcheckLayer {
    const char *name;      /* "fc[1]"; "-" for parameters outside a layer */
    const char *worst_param;  /* where the worst error is; NULL if none */
    double worst;          /* largest error over its checked entries (NaN wins) */
    double precision;      /* largest estimated error of a difference, on the
                              same scale as the errors */
    int params, entries;   /* tensors and entries checked */
    int kinks;             /* entries skipped: a kink within the step */
} GradcheckLayer;

typedef struct GradcheckResult {
    const char *model;
    int batch;
    uint64_t seed;
    GradcheckLayer *layers;  /* nlayers rows: the graph's layers, then "-" */
    int nlayers;
    int loss;                /* the loss op attached */
    double loss_value;       /* at the unperturbed parameters */
    double worst;
    double precision;        /* the check's own: the worst over the layers */
    bool passed;             /* worst <= GRADCHECK_TOLERANCE (and finite) */
} GradcheckResult;

/* Appends a target and a loss to g: cross_entropy with class targets for a
 * rank-1 output of at least 2 features, else mse. false with a diagnostic
 * if g has no output. */
bool gradcheck_attach_loss(IrGraph *g, int loss, DiagSink *d);
/* Runs the check on g (which has a loss). false with a diagnostic only if
 * the buffers cannot be planned; *out is then empty. */
bool gradcheck_run(const IrGraph *g, const GradcheckOptions *o, GradcheckResult *out,
                   DiagSink *d);
/* A header line, the per-layer table and the verdict line. */
void gradcheck_print(FILE *out, const GradcheckResult *r);
void gradcheck_free(GradcheckResult *r);

#endif
