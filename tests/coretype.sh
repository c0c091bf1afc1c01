# Sourced by the test scripts. The goldens were blessed with OpenBLAS's
# Haswell kernels and oneDNN's AVX2 ones. OpenBLAS 0.3.21 takes AVX-512
# CPUs it does not know for Prescott, whose generic kernels round
# differently in the last digits; oneDNN's AVX-512 convolutions block
# channels by 16 rather than 8 and sum in another order. A core or ISA set
# in the environment wins.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
    export OPENBLAS_CORETYPE=Haswell
fi
if [ -z "${ONEDNN_MAX_CPU_ISA:-}" ] && grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
    export ONEDNN_MAX_CPU_ISA=AVX2
fi
