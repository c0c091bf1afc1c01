/* schedule.h — learning-rate schedules (`schedule = warmup(500) then cosine(10000)`).
 *
 * A schedule is a spec of kind SPEC_SCHED, or NULL for the constant one.
 * The learning rate of step t (0-based: the step the run is about to take)
 * is a pure function of the optimizer's lr and t, so a resumed run picks
 * it up from its step count alone. */
#ifndef VG_SCHEDULE_H
#define VG_SCHEDULE_H

#include <stdbool.h>
#include "vg/diag.h"
#include "vg/value.h"

/* The learning rate of step t under s, from the optimizer's lr:
 *   warmup(N):        lr · min(1, (t+1)/N)
 *   cosine(N, min):   min + (lr − min)·(1 + cos(π·min(t, N)/N))/2
 *   step(k, f):       lr · f^⌊t/k⌋
 *   a then b:         a's for t < length(a), else b's at t − length(a). */
double schedule_lr(const Spec *s, double lr, long t);
/* The steps a schedule's phases last before `then` moves on: N for warmup
 * and cosine, the sum for a then b; -1 when it never ends (step). */
long schedule_length(const Spec *s);
/* Checks a schedule's arguments (steps ≥ 1, every ≥ 1, factor > 0,
 * min ≥ 0, a phase before `then` that ends); false with a diagnostic at
 * the offending call. */
bool schedule_check(DiagSink *d, const Spec *s);

#endif
