/* test_conv_f64.c — test_conv.c's cases on the float64 twin of the
 * kernels (include/vg/real.h): im2col + GEMM, where test_conv runs the
 * float32 path through oneDNN. Both against one definition, within float
 * tolerance, on the same shapes. */
#define VG_REAL_DOUBLE
#include "test_conv.c"
