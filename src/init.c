/* init.c — the weight initialisations of include/vg/init.h.
 *
 * Each init is a distribution with a scale set by fan-in and fan-out; the
 * `gain` argument multiplies that scale (the standard deviation of a normal,
 * the half-width of a uniform, the value of a constant). For `normal(mean,
 * std)` and `uniform(low, high)` the gain scales the spread around the
 * centre, not the centre itself: `uniform(0, 1, gain = 2)` is U[-0.5, 1.5].
 *
 * Dense weights are [fan_in, fan_out], row-major; a convolution's are
 * [channels out, fan_in] with fan_in = channels in · kernel area and
 * fan_out = channels out · kernel area, as PyTorch counts them. Orthogonal
 * treats any shape as a matrix of (elements / last dimension) rows by the
 * last dimension's columns — for a convolution its [channels out, C·k·k]
 * matrix — so a vector is one row of unit norm times gain. */
#include "vg/init.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vg/arena.h"

/* Two families cover every init except orthogonal and the constants: a
 * normal N(mean, std²) and a uniform U[mid - half, mid + half]. */
typedef enum { DIST_CONST, DIST_NORMAL, DIST_UNIFORM, DIST_ORTHOGONAL } DistKind;

typedef struct Dist {
    DistKind kind;
    double centre;  /* the constant, the mean, or the uniform's midpoint */
    double scale;   /* std (normal) or half-width (uniform), gain included */
} Dist;

/* Fans below 1 cannot come from a well-formed op; clamping keeps the
 * formulas finite for scalars. */
static double fan(long f)
{
    return f > 0 ? (double)f : 1.0;
}

static Dist dist_of(const IrParam *p)
{
    const Spec *s = p->init;
    double gain = spec_num(s, "gain");
    double fi = fan(p->fan_in), fo = fan(p->fan_out);
    switch ((SpecId)s->id) {
    case SPEC_ZEROS:
        return (Dist){DIST_CONST, 0, 0};
    case SPEC_CONSTANT:
        return (Dist){DIST_CONST, spec_num(s, "c") * gain, 0};
    case SPEC_NORMAL:
        return (Dist){DIST_NORMAL, spec_num(s, "mean"), gain * spec_num(s, "std")};
    case SPEC_UNIFORM: {
        double lo = spec_num(s, "low"), hi = spec_num(s, "high");
        return (Dist){DIST_UNIFORM, (lo + hi) / 2, gain * (hi - lo) / 2};
    }
    case SPEC_FANIN_UNIFORM:   /* U[-1/√fan_in, 1/√fan_in], Glorot & Bengio 2010, eq. 1 */
        return (Dist){DIST_UNIFORM, 0, gain / sqrt(fi)};
    case SPEC_XAVIER_UNIFORM:  /* U[±√(6/(fan_in+fan_out))], Glorot & Bengio 2010, eq. 16 */
        return (Dist){DIST_UNIFORM, 0, gain * sqrt(6.0 / (fi + fo))};
    case SPEC_XAVIER_NORMAL:   /* Var = 2/(fan_in+fan_out), the same variance as eq. 16 */
        return (Dist){DIST_NORMAL, 0, gain * sqrt(2.0 / (fi + fo))};
    case SPEC_HE_NORMAL:       /* Var = 2/fan_in, He et al. 2015, eq. 10 */
        return (Dist){DIST_NORMAL, 0, gain * sqrt(2.0 / fi)};
    case SPEC_HE_UNIFORM:      /* U[±√(6/fan_in)]: the uniform with He's variance */
        return (Dist){DIST_UNIFORM, 0, gain * sqrt(6.0 / fi)};
    case SPEC_LECUN_NORMAL:    /* Var = 1/fan_in, LeCun et al. 1998 (Efficient BackProp) */
        return (Dist){DIST_NORMAL, 0, gain * sqrt(1.0 / fi)};
    case SPEC_ORTHOGONAL:
        return (Dist){DIST_ORTHOGONAL, 0, gain};
    default:
        break;
    }
    fprintf(stderr, "vg: internal error: '%s' is not an init\n", spec_table[s->id].name);
    abort();
}

/* The matrix orthogonal fills: rows × cols with cols the last dimension. */
static void matrix_dims(const IrParam *p, size_t *rows, size_t *cols)
{
    size_t n = shape_size(p->shape);
    *cols = p->shape.rank > 0 ? (size_t)p->shape.dim[p->shape.rank - 1] : 1;
    *rows = *cols ? n / *cols : 0;
}

/* Householder QR of the m×k (m >= k) column-major matrix a, overwritten by
 * the thin Q (m×k, orthonormal columns). Each Q column is multiplied by the
 * sign of R's diagonal entry, which makes Q Haar-distributed when a is
 * Gaussian (Mezzadri 2007), as Saxe et al. 2014 prescribe. */
static void thin_q(double *a, size_t m, size_t k)
{
    double *v = xcalloc(m * k, sizeof *v);   /* reflector j in column j, rows j.. */
    double *sign = xmalloc(k * sizeof *sign);
    for (size_t j = 0; j < k; j++) {
        double *x = a + j * m, *vj = v + j * m;
        double norm = 0;
        for (size_t i = j; i < m; i++)
            norm += x[i] * x[i];
        norm = sqrt(norm);
        /* H x = alpha e_j with alpha = -sign(x_j)·‖x‖ avoids cancellation;
         * R's diagonal entry is alpha. */
        double alpha = x[j] > 0 ? -norm : norm;
        sign[j] = alpha < 0 ? -1.0 : 1.0;
        for (size_t i = j; i < m; i++)
            vj[i] = x[i];
        vj[j] -= alpha;
        double vn = 0;
        for (size_t i = j; i < m; i++)
            vn += vj[i] * vj[i];
        if (vn == 0)
            continue;  /* x is already alpha e_j: H = I, v stays zero */
        vn = sqrt(vn);
        for (size_t i = j; i < m; i++)
            vj[i] /= vn;
        /* H = I − 2vvᵀ applied to the remaining columns */
        for (size_t c = j; c < k; c++) {
            double *col = a + c * m, dot = 0;
            for (size_t i = j; i < m; i++)
                dot += vj[i] * col[i];
            for (size_t i = j; i < m; i++)
                col[i] -= 2 * dot * vj[i];
        }
    }
    /* Q = H_0 H_1 … H_{k−1} [I_k; 0], applied right to left */
    memset(a, 0, m * k * sizeof *a);
    for (size_t j = 0; j < k; j++)
        a[j * m + j] = 1;
    for (size_t j = k; j-- > 0;) {
        const double *vj = v + j * m;
        for (size_t c = j; c < k; c++) {
            double *col = a + c * m, dot = 0;
            for (size_t i = j; i < m; i++)
                dot += vj[i] * col[i];
            for (size_t i = j; i < m; i++)
                col[i] -= 2 * dot * vj[i];
        }
    }
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < m; i++)
            a[j * m + i] *= sign[j];
    free(v);
    free(sign);
}

/* Saxe et al. 2014: W = gain·Q. A tall matrix (rows >= cols) gets
 * orthonormal columns (WᵀW = gain²I); a wide one orthonormal rows
 * (WWᵀ = gain²I), from the QR of its transpose. */
static void fill_orthogonal(const IrParam *p, float *w, Rng *rng, double gain)
{
    size_t rows, cols;
    matrix_dims(p, &rows, &cols);
    bool tall = rows >= cols;
    size_t m = tall ? rows : cols, k = tall ? cols : rows;
    double *q = xmalloc(m * k * sizeof *q);
    for (size_t i = 0; i < m * k; i++)
        q[i] = rng_normal(rng);
    thin_q(q, m, k);
    /* q is column-major m×k: element (i, j) at q[j*m + i]. Row-major W(r, c)
     * is q(r, c) when tall, q(c, r) when wide. */
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            w[r * cols + c] = (float)(gain * (tall ? q[c * m + r] : q[r * m + c]));
    free(q);
}

void init_fill(const IrParam *p, float *w, Rng *rng)
{
    size_t n = shape_size(p->shape);
    Dist dist = dist_of(p);
    switch (dist.kind) {
    case DIST_CONST:
        for (size_t i = 0; i < n; i++)
            w[i] = (float)dist.centre;
        break;
    case DIST_NORMAL:
        for (size_t i = 0; i < n; i++)
            w[i] = (float)(dist.centre + dist.scale * rng_normal(rng));
        break;
    case DIST_UNIFORM:
        for (size_t i = 0; i < n; i++)
            w[i] = (float)rng_range(rng, dist.centre - dist.scale, dist.centre + dist.scale);
        break;
    case DIST_ORTHOGONAL:
        fill_orthogonal(p, w, rng, dist.scale);
        break;
    }
}

/* Var of U[a, b] is (b − a)²/12, i.e. half²/3. An orthogonal matrix's
 * orthonormal rows or columns have unit norm over max(rows, cols) entries,
 * so each entry has variance gain²/max(rows, cols); for a dense weight with
 * fan_in >= fan_out that is gain²/fan_in. */
double init_variance(const IrParam *p)
{
    Dist dist = dist_of(p);
    switch (dist.kind) {
    case DIST_CONST:
        return 0;
    case DIST_NORMAL:
        return dist.scale * dist.scale;
    case DIST_UNIFORM:
        return dist.scale * dist.scale / 3;
    case DIST_ORTHOGONAL: {
        size_t rows, cols;
        matrix_dims(p, &rows, &cols);
        size_t big = rows > cols ? rows : cols;
        return dist.scale * dist.scale / (double)(big ? big : 1);
    }
    }
    return 0;
}
