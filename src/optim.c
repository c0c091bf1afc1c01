/* optim.c — the update rules of sgd, adam, rmsprop and adagrad.
 *
 * Each rule is applied elementwise in double precision and stored as float.
 * The formulations are PyTorch's (torch.optim), so a `.vg` run can be
 * compared with a PyTorch one step for step. State lives in two arrays
 * parallel to the parameter block: m (SGD's momentum buffer, Adam's first
 * moment) and v (Adam's second moment, RMSprop's and Adagrad's squared-
 * gradient accumulators); an optimizer allocates only what it uses. */
#include "vg/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "vg/arena.h"
#include "vg/vmath.h"

/* Adagrad's fixed denominator term, PyTorch's default eps. */
static const double ADAGRAD_EPS = 1e-10;

void optim_init(Optim *o, const Spec *spec, size_t n)
{
    *o = (Optim){.spec = spec, .id = spec->id, .n = n, .lr = spec_num(spec, "lr")};
    /* read once: optim_update runs per parameter per step, and a lookup
     * by name is a string compare per argument (2% of bench/m5_tiny.vg) */
    bool first = false, second = false;
    switch ((SpecId)spec->id) {
    case SPEC_SGD:
        o->momentum = spec_num(spec, "momentum");
        o->weight_decay = spec_num(spec, "weight_decay");
        o->nesterov = value_truthy(spec_arg(spec, "nesterov"));
        first = o->momentum != 0;
        break;
    case SPEC_ADAM:
        o->beta1 = spec_num(spec, "beta1");
        o->beta2 = spec_num(spec, "beta2");
        o->eps = spec_num(spec, "eps");
        first = second = true;
        break;
    case SPEC_RMSPROP:
        o->decay = spec_num(spec, "decay");
        o->eps = spec_num(spec, "eps");
        second = true;
        break;
    case SPEC_ADAGRAD:
        second = true;
        break;
    default:
        fprintf(stderr, "vg: internal error: '%s' is not an optimizer\n",
                spec_table[spec->id].name);
        abort();
    }
    if (first)
        o->m = xcalloc(n ? n : 1, sizeof *o->m);
    if (second)
        o->v = xcalloc(n ? n : 1, sizeof *o->v);
}

void optim_begin_step(Optim *o)
{
    o->t++;
}

/* SGD as in torch.optim.SGD (dampening 0), which follows Sutskever et al.
 * 2013 for the Nesterov variant:
 *   g ← g + wd·w;  b ← μ·b + g;  step = nesterov ? g + μ·b : b;  w ← w − lr·step
 * (without momentum, step = g). Plain SGD has a loop of its own that
 * vectorises: a step streams the whole parameter block through memory, and
 * in the deep models of bench/ a scalar loop here cost as much as two dense
 * layers. (gcc does not vectorise the momentum loop: its select is control
 * flow to the vectoriser.) */
/* w ← w − lr·(g + wd·w) over n floats; returns Σ(Δw)². It has an AVX2
 * copy (VMATH_WIDE: at SSE2's two doubles a vector it was 7% of a step of
 * bench/m1_deep_sigmoid.vg), so the sum may not depend on the vector
 * width: it runs in SUM_LANES partial sums, element i always into lane
 * i mod SUM_LANES, added up in a fixed order at the end. */
enum { SUM_LANES = 8 };

VMATH_WIDE static double sgd_plain(float *w, const float *g, size_t n, double lr, double wd)
{
    double part[SUM_LANES] = {0};
    size_t i = 0;
    for (; i + SUM_LANES <= n; i += SUM_LANES) {
#pragma omp simd
        for (int l = 0; l < SUM_LANES; l++) {
            float old = w[i + l];
            w[i + l] = (float)(old - lr * (g[i + l] + wd * old));
            double d = (double)w[i + l] - old;
            part[l] += d * d;
        }
    }
    for (int l = 0; i < n; i++, l++) {
        float old = w[i];
        w[i] = (float)(old - lr * (g[i] + wd * old));
        double d = (double)w[i] - old;
        part[l] += d * d;
    }
    double sum = 0;
    for (int l = 0; l < SUM_LANES; l++)
        sum += part[l];
    return sum;
}

static double sgd(Optim *o, float *w, const float *g, size_t off, size_t len)
{
    double lr = o->lr, mu = o->momentum, wd = o->weight_decay;
    bool nesterov = o->nesterov;
    double sum = 0;
    w += off;
    if (!o->m)
        return sgd_plain(w, g, len, lr, wd);
    float *m = o->m + off;
    for (size_t i = 0; i < len; i++) {
        double gi = g[i] + wd * w[i];
        double b = mu * m[i] + gi;
        m[i] = (float)b;
        float old = w[i];
        w[i] = (float)(w[i] - lr * (nesterov ? gi + mu * b : b));
        sum += ((double)w[i] - old) * ((double)w[i] - old);
    }
    return sum;
}

/* Adam, Kingma & Ba 2015, Algorithm 1:
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   m̂ = m/(1−β1^t);  v̂ = v/(1−β2^t);  w ← w − lr·m̂/(√v̂ + eps)
 * t counts optim_begin_step calls; an update before the first is step 1
 * rather than a division by 1 − β^0 = 0. */
static double adam(Optim *o, float *w, const float *g, size_t off, size_t len)
{
    double lr = o->lr, b1 = o->beta1, b2 = o->beta2, eps = o->eps;
    double t = (double)(o->t > 0 ? o->t : 1);
    double c1 = 1 - pow(b1, t), c2 = 1 - pow(b2, t);
    double sum = 0;
    w += off;
    float *mo = o->m + off, *vo = o->v + off;
    for (size_t i = 0; i < len; i++) {
        double m = b1 * mo[i] + (1 - b1) * g[i];
        double v = b2 * vo[i] + (1 - b2) * (double)g[i] * g[i];
        mo[i] = (float)m;
        vo[i] = (float)v;
        float old = w[i];
        w[i] = (float)(w[i] - lr * (m / c1) / (sqrt(v / c2) + eps));
        sum += ((double)w[i] - old) * ((double)w[i] - old);
    }
    return sum;
}

/* RMSprop, Tieleman & Hinton 2012 (Coursera lecture 6.5), as in
 * torch.optim.RMSprop without momentum or centring:
 *   v ← ρ·v + (1−ρ)·g²;  w ← w − lr·g/(√v + eps) */
static double rmsprop(Optim *o, float *w, const float *g, size_t off, size_t len)
{
    double lr = o->lr, rho = o->decay, eps = o->eps;
    double sum = 0;
    w += off;
    float *vo = o->v + off;
    for (size_t i = 0; i < len; i++) {
        double v = rho * vo[i] + (1 - rho) * (double)g[i] * g[i];
        vo[i] = (float)v;
        float old = w[i];
        w[i] = (float)(w[i] - lr * g[i] / (sqrt(v) + eps));
        sum += ((double)w[i] - old) * ((double)w[i] - old);
    }
    return sum;
}

/* Adagrad, Duchi, Hazan & Singer 2011, diagonal form as in torch.optim.Adagrad:
 *   G ← G + g²;  w ← w − lr·g/(√G + 1e-10) */
static double adagrad(Optim *o, float *w, const float *g, size_t off, size_t len)
{
    double lr = o->lr;
    double sum = 0;
    w += off;
    float *vo = o->v + off;
    for (size_t i = 0; i < len; i++) {
        double G = vo[i] + (double)g[i] * g[i];
        vo[i] = (float)G;
        float old = w[i];
        w[i] = (float)(w[i] - lr * g[i] / (sqrt(G) + ADAGRAD_EPS));
        sum += ((double)w[i] - old) * ((double)w[i] - old);
    }
    return sum;
}

double optim_update(Optim *o, float *w, const float *g, size_t off, size_t len)
{
    switch ((SpecId)o->id) {
    case SPEC_SGD:
        return sgd(o, w, g, off, len);
    case SPEC_ADAM:
        return adam(o, w, g, off, len);
    case SPEC_RMSPROP:
        return rmsprop(o, w, g, off, len);
    case SPEC_ADAGRAD:
        return adagrad(o, w, g, off, len);
    default:
        return 0;  /* optim_init refused anything else */
    }
}

void optim_free(Optim *o)
{
    free(o->m);
    free(o->v);
    *o = (Optim){0};
}
