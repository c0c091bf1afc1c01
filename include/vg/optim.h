/* optim.h — the optimizers that apply gradients to the parameter block.
 *
 * An Optim holds one optimizer spec (`sgd(lr = 0.1)`, `adam()`, …) and its
 * per-float state (momentum, moment estimates) for a parameter block of n
 * floats. The training loop calls optim_begin_step once per step, then
 * optim_update over the block or over slices of it (per parameter, so that
 * `update_ratio` can be measured per layer); state is indexed by the same
 * offsets as the block. */
#ifndef VG_OPTIM_H
#define VG_OPTIM_H

#include <stdbool.h>
#include <stddef.h>
#include "vg/value.h"

typedef struct Optim {
    const Spec *spec;
    int id;
    size_t n;
    float *m, *v;
    long t;
    /* the spec's arguments, those its rule has (optim_init) */
    double lr, momentum, weight_decay, beta1, beta2, eps, decay;
    bool nesterov;
} Optim;
void optim_init(Optim *o, const Spec *spec, size_t n);   /* n = floats in the parameter block */
void optim_begin_step(Optim *o);                          /* t += 1 (Adam's bias correction) */
/* Updates w[off..off+len) from its gradient g[0..len) (a slice of a
 * gradient block, or a plan's scratch: exec.h); state is indexed by off,
 * as w. Returns Σ(Δw)² of the update (for `update_ratio`). */
double optim_update(Optim *o, float *w, const float *g, size_t off, size_t len);
void optim_free(Optim *o);

#endif
