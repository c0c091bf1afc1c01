# Sourced by the test scripts. The goldens were blessed with OpenBLAS's
# Haswell kernels. OpenBLAS 0.3.21 takes AVX-512 CPUs it does not know for
# Prescott, whose generic kernels round differently in the last digits; a
# core set in the environment wins.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
    export OPENBLAS_CORETYPE=Haswell
fi
