/* schedule.c — learning-rate schedules: the lr of each step from the
 * optimizer's lr and the step number (schedule.h), from the phases read
 * once from the spec. The forms follow PyTorch's schedulers, stepped once
 * per training step: warmup is
 * LinearLR(start_factor = 1/N, total_iters = N − 1), cosine is
 * CosineAnnealingLR(T_max = N, eta_min = min) held at min past N, step is
 * StepLR(step_size = k, gamma = f), and `then` is SequentialLR. */
#include "vg/schedule.h"

#include <math.h>
#include <stdlib.h>
#include "vg/arena.h"

/* Appends the phases of spec, starting at step start, to s. */
static void add_phases(Schedule *s, const Spec *spec, long start)
{
    if (spec->id == SPEC_THEN) {
        const Spec *first = spec_arg(spec, "first")->spec;
        add_phases(s, first, start);
        add_phases(s, spec_arg(spec, "second")->spec, start + schedule_length(first));
        return;
    }
    SchedPhase p = {.id = spec->id, .start = start};
    switch ((SpecId)spec->id) {
    case SPEC_WARMUP:
        p.steps = (long)spec_num(spec, "steps");
        break;
    case SPEC_COSINE:
        p.steps = (long)spec_num(spec, "steps");
        p.min = spec_num(spec, "min");
        break;
    case SPEC_STEP_LR:
        p.every = (long)spec_num(spec, "every");
        p.factor = spec_num(spec, "factor");
        break;
    default:
        return;
    }
    s->phase = xrealloc(s->phase, sizeof *s->phase * (size_t)(s->n + 1));
    s->phase[s->n++] = p;
}

void schedule_init(Schedule *s, const Spec *spec, double lr)
{
    *s = (Schedule){.lr = lr};
    if (spec)
        add_phases(s, spec, 0);
}

void schedule_free(Schedule *s)
{
    free(s->phase);
    *s = (Schedule){0};
}

double schedule_at(const Schedule *s, long t)
{
    int k = s->n - 1;
    while (k > 0 && t < s->phase[k].start)
        k--;
    if (k < 0)
        return s->lr;
    const SchedPhase *p = &s->phase[k];
    double lr = s->lr;
    t -= p->start;
    switch ((SpecId)p->id) {
    case SPEC_WARMUP:
        return t + 1 >= p->steps ? lr : lr * (double)(t + 1) / (double)p->steps;
    case SPEC_COSINE: {
        double x = (double)(t < p->steps ? t : p->steps) / (double)p->steps;
        return p->min + (lr - p->min) * 0.5 * (1 + cos(M_PI * x));
    }
    default:  /* SPEC_STEP_LR */
        return lr * pow(p->factor, (double)(t / p->every));
    }
}

long schedule_length(const Spec *s)
{
    switch ((SpecId)s->id) {
    case SPEC_WARMUP: case SPEC_COSINE:
        return (long)spec_num(s, "steps");
    case SPEC_THEN: {
        long a = schedule_length(spec_arg(s, "first")->spec);
        long b = schedule_length(spec_arg(s, "second")->spec);
        return a < 0 || b < 0 ? -1 : a + b;
    }
    default:
        return -1;
    }
}

static bool at_least_one(DiagSink *d, const Spec *s, const char *arg)
{
    double v = spec_num(s, arg);
    if (v >= 1)
        return true;
    return diag_error(d, s->span, "%s: '%s' must be at least 1, got %s",
                      spec_table[s->id].name, arg, DIAG_NUM(v));
}

bool schedule_check(DiagSink *d, const Spec *s)
{
    switch ((SpecId)s->id) {
    case SPEC_WARMUP:
        return at_least_one(d, s, "steps");
    case SPEC_COSINE:
        if (!at_least_one(d, s, "steps"))
            return false;
        if (spec_num(s, "min") < 0)
            return diag_error(d, s->span, "cosine: 'min' must not be negative, got %s",
                              DIAG_NUM(spec_num(s, "min")));
        return true;
    case SPEC_STEP_LR:
        if (!at_least_one(d, s, "every"))
            return false;
        if (spec_num(s, "factor") <= 0)
            return diag_error(d, s->span, "step: 'factor' must be positive, got %s",
                              DIAG_NUM(spec_num(s, "factor")));
        return true;
    case SPEC_THEN: {
        const Spec *first = spec_arg(s, "first")->spec;
        if (!schedule_check(d, first) || !schedule_check(d, spec_arg(s, "second")->spec))
            return false;
        if (schedule_length(first) < 0) {
            diag_error(d, first->span, "a schedule before 'then' must end, and %s never does",
                       spec_table[first->id].name);
            diag_note(d, "step(every, factor) can only be the last phase");
            return false;
        }
        return true;
    }
    default:
        return diag_error(d, s->span, "'%s' is not a schedule", spec_table[s->id].name);
    }
}
