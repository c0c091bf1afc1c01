/* schedule.c — learning-rate schedules: the lr of each step from the
 * optimizer's lr and the step number (schedule.h). The forms follow
 * PyTorch's schedulers, stepped once per training step: warmup is
 * LinearLR(start_factor = 1/N, total_iters = N − 1), cosine is
 * CosineAnnealingLR(T_max = N, eta_min = min) held at min past N, step is
 * StepLR(step_size = k, gamma = f), and `then` is SequentialLR. */
#include "vg/schedule.h"

#include <math.h>

double schedule_lr(const Spec *s, double lr, long t)
{
    if (!s)
        return lr;
    switch ((SpecId)s->id) {
    case SPEC_WARMUP: {
        long n = (long)spec_num(s, "steps");
        return t + 1 >= n ? lr : lr * (double)(t + 1) / (double)n;
    }
    case SPEC_COSINE: {
        long n = (long)spec_num(s, "steps");
        double min = spec_num(s, "min");
        double x = (double)(t < n ? t : n) / (double)n;
        return min + (lr - min) * 0.5 * (1 + cos(M_PI * x));
    }
    case SPEC_STEP_LR:
        return lr * pow(spec_num(s, "factor"), (double)(t / (long)spec_num(s, "every")));
    case SPEC_THEN: {
        const Spec *first = spec_arg(s, "first")->spec;
        long n = schedule_length(first);
        return t < n ? schedule_lr(first, lr, t)
                     : schedule_lr(spec_arg(s, "second")->spec, lr, t - n);
    }
    default:
        return lr;
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
    return diag_error(d, s->span, "%s: '%s' must be at least 1, got %g",
                      spec_table[s->id].name, arg, v);
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
            return diag_error(d, s->span, "cosine: 'min' must not be negative, got %g",
                              spec_num(s, "min"));
        return true;
    case SPEC_STEP_LR:
        if (!at_least_one(d, s, "every"))
            return false;
        if (spec_num(s, "factor") <= 0)
            return diag_error(d, s->span, "step: 'factor' must be positive, got %g",
                              spec_num(s, "factor"));
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
