/* init.h — weight initialisations.
 *
 * Fan-in and fan-out come from the op that declared the parameter (IrParam
 * fan_in/fan_out), so each init is one formula over them; the gain argument
 * multiplies the standard deviation (or the bound) of every init. */
#ifndef VG_INIT_H
#define VG_INIT_H

#include "vg/ir.h"
#include "vg/rng.h"

/* Fills w (shape_size(p->shape) floats) according to p->init. */
void init_fill(const IrParam *p, float *w, Rng *rng);
/* The variance of the distribution init_fill draws from (used to explain
 * `predicted`); for orthogonal, gain²/fan_in. */
double init_variance(const IrParam *p);

#endif
