/* real.h — the number type of the executor and the op kernels.
 *
 * exec.c and the kernels of src/ops/ are written once, in `real`, and
 * compiled twice: as float, the interpreter every run uses, and with
 * VG_REAL_DOUBLE defined as its float64 twin, which `vg gradcheck`
 * differentiates by finite differences (float32 differences cannot resolve
 * the gradients of deep or kinked nets: src/gradcheck.c). A file that
 * works in float64 defines VG_REAL_DOUBLE before its first include; the
 * Makefile builds the twin's objects that way. The names below give the
 * twin's types and functions an _f64 suffix, so both builds link into one
 * program and a file sees one of them. */
#ifndef VG_REAL_H
#define VG_REAL_H

#include <math.h>

#include "vg/vmath.h"

#ifdef VG_REAL_DOUBLE

typedef double real;
#define REAL_NAME(name) name##_f64

/* libm's, to double precision: the twin is the reference, not fast */
static inline double real_exp(double x) { return exp(x); }
static inline double real_tanh(double x) { return tanh(x); }
static inline double real_vexp(double x) { return exp(x); }
static inline double real_sigmoid(double x)
{
    double e = exp(x < 0 ? x : -x);  /* e^−|x| ≤ 1: never overflows */
    return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}
#define blas_gemm blas_dgemm

#define Exec Exec_f64
#define ParamStore ParamStore_f64
#define OpCtx OpCtx_f64
#define OpDef OpDef_f64
#define op_table op_table_f64
#define params_check params_check_f64
#define params_alloc params_alloc_f64
#define params_alloc_values params_alloc_values_f64
#define params_free params_free_f64
#define exec_plan exec_plan_f64
#define exec_plan_view exec_plan_view_f64
#define exec_free exec_free_f64
#define exec_release exec_release_f64
#define exec_ready exec_ready_f64
#define exec_source exec_source_f64
#define exec_forward exec_forward_f64
#define exec_backward exec_backward_f64
#define exec_backward_each exec_backward_each_f64
#define exec_param_grad exec_param_grad_f64
#define exec_largest_gemm exec_largest_gemm_f64
#define exec_loss exec_loss_f64

#else

typedef float real;
#define REAL_NAME(name) name

static inline float real_exp(float x) { return expf(x); }
/* e^x for loops that must vectorise (vmath.h); real_exp is libm's, which
 * the older kernels keep so that their results stay as they were */
#define real_vexp vmath_expf
#define real_tanh vmath_tanhf
#define real_sigmoid vmath_sigmoidf
#define blas_gemm blas_sgemm

#endif

#endif
