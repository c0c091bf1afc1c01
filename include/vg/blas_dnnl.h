/* blas_dnnl.h — float32 convolutions through oneDNN (libdnnl).
 *
 * conv1d's and conv2d's float kernels (src/ops/conv.c) hand their work to
 * oneDNN's convolution primitives: forward training, backward data and
 * backward weights, computed in the blocked layouts oneDNN picks for the
 * CPU (nChw16c on AVX-512, nChw8c on AVX2), with reorders from and to
 * vg's row-major tensors at the op's boundary. Everything is created once
 * per plan (blas_conv_make, from the op's prepare hook) over the op's work
 * buffer (blas_conv_floats sizes it); the kernels then only execute. oneDNN has no double convolution: the float64 twin that
 * `vg gradcheck` uses keeps im2col + GEMM. */
#ifndef VG_BLAS_DNNL_H
#define VG_BLAS_DNNL_H

#include <stdbool.h>
#include <stddef.h>

/* One convolution over a batch. 2-D: x [batch, cin, h, w] → y [batch,
 * cout, oh, ow], W [cout, cin, k, k]. 1-D (h = oh = 1, time along w): x
 * [batch, w, cin] → y [batch, ow, cout] (features last), W [cout, k, cin]. */
typedef struct BlasConvShape {
    bool two_d;
    int batch, cin, h, w, cout, oh, ow, k, stride;
    int pad_before, pad_after;  /* per spatial axis, the same on both */
    bool bias;
    bool need_dx, dx_overwrite;  /* the input gradient, written or added to */
    bool need_dw;                /* W's and b's gradients, added to */
} BlasConvShape;

typedef struct BlasConv BlasConv;

/* The floats of work buffer a convolution of shape s needs: its tensors
 * in oneDNN's layouts and the scratchpad. need_dx and need_dw true give
 * the most any flags need. */
size_t blas_conv_floats(const BlasConvShape *s);
/* The primitives for s, computing in work (floats long, 64-byte aligned
 * for the same results in every run), which stays theirs until
 * blas_conv_free. */
BlasConv *blas_conv_make(const BlasConvShape *s, float *work, size_t floats);
void blas_conv_free(BlasConv *c);
/* y = conv(x, W) + b; b is NULL without bias. Keeps x and W in oneDNN's
 * layouts, in work, for the backward pass that follows. */
void blas_conv_forward(BlasConv *c, const float *x, const float *w, const float *b, float *y);
/* After blas_conv_forward of the same x and W: dx (if need_dx) gets or
 * accumulates dYᵀ-convolved dy, dw and db (if need_dw; db NULL without
 * bias) accumulate. */
void blas_conv_backward(BlasConv *c, const float *dy, float *dx, float *dw, float *db);

/* The instruction set oneDNN's kernels use here, "avx2", "avx512_core"…:
 * the CPU's best unless ONEDNN_MAX_CPU_ISA caps it. */
const char *blas_dnnl_isa(void);
/* "oneDNN 2.6.3" */
const char *blas_dnnl_version(void);

#endif
