/* vmath.h — e^x, σ(x) and tanh(x) in float, for kernel loops that must
 * vectorise.
 *
 * libm's expf and tanhf are calls, so a loop over them runs one element at
 * a time: in the tanh and sigmoid models of bench/ they were half of the
 * time of a step. These are inline, branch-free and built from +, ×, a
 * float→int conversion and a bit cast, so `#pragma omp simd` loops over
 * them vectorise. Accuracy: vmath_expf is within 3 ulp of e^x on
 * [−87.3, 88.3] (0 below, +inf above — e^x leaves float only at 88.72,
 * but the kernels call it on x ≤ 0 — and NaN stays NaN);
 * vmath_sigmoidf and vmath_tanhf within 4 ulp — float rounding, not a
 * model change (the gradient checks and the golden reports pin this). */
#ifndef VG_VMATH_H
#define VG_VMATH_H

#include <math.h>
#include <stdint.h>

/* e^x by Cody & Waite's range reduction: x = n·ln2 + r with n an integer
 * and |r| ≤ ln2/2, then e^x = 2^n · p(r), p the degree-6 Taylor polynomial
 * of e^r (its remainder r^7/7! < 2^−25 on that range). n is rounded with
 * the 1.5·2^23 trick (adding it leaves the integer part in the low mantissa
 * bits), because rintf is a call on baseline x86-64; ln2 is split in a
 * part exact in float and a correction, so n·ln2 subtracts without error
 * (Cody & Waite 1980; the constants are Cephes' expf). */
static inline float vmath_expf(float x)
{
    const float shift = 12582912.0f;  /* 1.5·2^23 */
    /* clamped so that n stays a normal exponent; a NaN becomes −87.33 here
     * (converting it to int would be undefined) and is restored below */
    float cx = x > -87.33f ? (x < 88.3f ? x : 88.3f) : -87.33f;
    float n = (cx * 1.44269504f + shift) - shift;
    float r = cx - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 +
                  r * (1.0f / 120 + r * (1.0f / 720))))));
    union { int32_t i; float f; } two_n = {.i = ((int32_t)n + 127) << 23};
    float e = p * two_n.f;
    return x < -87.33f ? 0.0f : x > 88.3f ? INFINITY : x != x ? x : e;
}

/* σ(x) = 1 / (1 + e^−x) through e^−|x| ≤ 1, which never overflows:
 * σ = 1/(1 + e) for x ≥ 0 and e/(1 + e) for x < 0. */
static inline float vmath_sigmoidf(float x)
{
    float e = vmath_expf(x < 0 ? x : -x);
    float s = 1.0f / (1.0f + e);
    return x >= 0 ? s : e * s;
}

/* tanh x = sign(x)·(1 − e^−2|x|)/(1 + e^−2|x|). Near 0 that difference
 * cancels, so |x| < 0.25 uses the Taylor series x − x³/3 + 2x⁵/15 −
 * 17x⁷/315 + 62x⁹/2835 instead (its next term, 1382x¹¹/155925, is below
 * 2^−26·|x| there). */
static inline float vmath_tanhf(float x)
{
    float a = x < 0 ? -x : x;
    float e = vmath_expf(-2.0f * a);
    float t = (1.0f - e) / (1.0f + e);
    float x2 = x * x;
    float series = x * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315 +
                       x2 * (62.0f / 2835)))));
    return a < 0.25f ? series : x < 0 ? -t : t;
}

/* VMATH_WIDE, on a function whose loops call these: compile it twice, for
 * baseline x86-64 (SSE2, 4 floats a vector) and for AVX2 (8 floats), and
 * let the loader pick the AVX2 copy on CPUs that have it (gcc and clang
 * function multiversioning, an ifunc): the sigmoid and tanh loops are
 * compute-bound, so the wider copy runs them in about half the time while
 * the binary still runs on any x86-64. Results stay bitwise the same: each
 * element goes through the same IEEE operations in the same order at any
 * width. That holds only because the AVX2 copy has no FMA (the "avx2"
 * target does not imply "fma", and -std=c11 keeps gcc from contracting
 * a·b + c anyway): a fused multiply-add rounds once instead of twice.
 * Only for elementwise loops, never for a reduction (`omp simd
 * reduction`): a wider vector sums in another order. The float64 twin
 * (VG_REAL_DOUBLE, for gradcheck) gets no clones: it needs no speed, and
 * clang gives a static function's resolver a global name, so the two
 * builds of one file would define it twice. */
#if defined(__x86_64__) && defined(__linux__) && defined(__has_attribute) && \
    !defined(VG_REAL_DOUBLE)
#if __has_attribute(target_clones)
#define VMATH_WIDE __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef VMATH_WIDE
#define VMATH_WIDE
#endif

#endif
