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

/* A schedule read once, when a run is set up: the optimizer's lr and the
 * phases of the spec in order, with their arguments, so that the lr of a
 * step looks up no name. */
typedef struct SchedPhase {
    int id;              /* SPEC_WARMUP, SPEC_COSINE or SPEC_STEP_LR */
    long start;          /* the step at which it takes over */
    long steps, every;   /* warmup's and cosine's N; step's k */
    double min, factor;  /* cosine's min; step's f */
} SchedPhase;

typedef struct Schedule {
    double lr;
    int n;               /* 0: the constant schedule */
    SchedPhase *phase;
} Schedule;

/* Reads spec (NULL: constant) with the optimizer's lr into s. */
void schedule_init(Schedule *s, const Spec *spec, double lr);
void schedule_free(Schedule *s);
/* The learning rate of step t:
 *   warmup(N):        lr · min(1, (t+1)/N)
 *   cosine(N, min):   min + (lr − min)·(1 + cos(π·min(t, N)/N))/2
 *   step(k, f):       lr · f^⌊t/k⌋
 *   a then b:         a's for t < length(a), else b's at t − length(a). */
double schedule_at(const Schedule *s, long t);
/* The steps a schedule's phases last before `then` moves on: N for warmup
 * and cosine, the sum for a then b; -1 when it never ends (step). */
long schedule_length(const Spec *s);
/* Checks a schedule's arguments (steps ≥ 1, every ≥ 1, factor > 0,
 * min ≥ 0, a phase before `then` that ends); false with a diagnostic at
 * the offending call. */
bool schedule_check(DiagSink *d, const Spec *s);

#endif
