#!/bin/sh
# bench/run.sh — the benchmark table of docs/performance.md.
#
#   sh bench/run.sh [BUILD]        (what `make bench` runs; BUILD defaults to build)
#
# For each model of bench/m*.vg: vg's ms per training step with reports off
# and with a report every step, the same in PyTorch (bench/torch_bench.py,
# when python3-torch is installed), their ratio, the GFLOP/s vg achieves
# against an sgemm measured in the same run (bench/sgemm.c), and the peak
# RSS of both processes. Measurements alternate (vg, PyTorch, vg with
# reports, PyTorch with reports, for every model, then again) for
# BENCH_REPS rounds; the table shows medians, and each ratio is the median
# of the per-round ratios. Times come from `vg run --time` and the PyTorch
# script's own clock: start-up and the reports every run makes at its
# first and last step are left out.
#
# Then the sweep benchmark: bench/sweep.vg's 192-net grid, end to end —
# one `vg run` (with `-j 2` when this vg has -j) against the same grid in
# PyTorch (bench/sweep_torch.py), one process per core, each looping over
# its share of the grid, under jemalloc (or tcmalloc, or glibc's tuned
# malloc: whichever is installed first). Wall time from start to the last
# process's end, and the CPU time of all processes; BENCH_SWEEP_REPS rounds
# alternating vg and PyTorch, medians and the median of per-round ratios.
#
# Environment: BENCH_REPS (5), BENCH_THREADS (1), BENCH_PYTHON, BENCH_MODELS
# ("m1 m2 m3 m4 m5 m6 m7"; empty: the sweep alone), BENCH_CLOCK (wall, or cpu on
# a machine shared with other work), BENCH_SCALE (multiplies every step
# count; 1), BENCH_SWEEP (1; 0 skips the sweep), BENCH_SWEEP_REPS (3),
# BENCH_SWEEP_PROCS (the cores online), BENCH_CONV (1; 0 skips bench/conv_dnnl,
# the convolutions through oneDNN against im2col + sgemm). oneDNN's kernels
# are the CPU's best unless ONEDNN_MAX_CPU_ISA (e.g. AVX2) caps them, as
# OPENBLAS_CORETYPE picks OpenBLAS's.
set -u
BUILD=${1:-build}
VG=$BUILD/vg
SGEMM=$BUILD/bench/sgemm
REPS=${BENCH_REPS:-5}
THREADS=${BENCH_THREADS:-1}
MODELS=${BENCH_MODELS-m1 m2 m3 m4 m5 m6 m7}
CLOCK=${BENCH_CLOCK:-wall}
SCALE=${BENCH_SCALE:-1}
# PyTorch at its best: glibc's allocator keeps freed buffers instead of
# returning them to the kernel every step (1.1–1.6× faster, less noise).
# vg allocates nothing in a step, so the setting changes nothing for it.
GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296
# One thread means one everywhere: PyTorch's own pools (--threads), the
# OpenMP of oneDNN, and the OpenBLAS PyTorch calls for its matrix products.
OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
export GLIBC_TUNABLES OMP_NUM_THREADS OPENBLAS_NUM_THREADS

for f in "$VG" "$SGEMM" /usr/bin/time; do
    [ -x "$f" ] || { echo "bench/run.sh: $f is missing (run 'make bench')" >&2; exit 2; }
done

# model: file, vg steps, PyTorch steps, MFLOP of GEMM per training step.
# A dense layer F→U on M rows costs 2·M·F·U per GEMM: Y = X·W forward,
# dW = Xᵀ·dY and dX = dY·Wᵀ backward (no dX for the first layer, whose
# input needs no gradient). An LSTM of H units on T steps of D inputs at
# batch B: input projections 2·T·B·D·4H forward and for dW, the recurrence
# 2·T·B·H·4H forward, for dh and for dW each. A 3×3 convolution C→C' on
# an H×W map (im2col + GEMM): 2·B·C'·9C·H·W per GEMM, forward, dW and dX
# (no dX for the first). An attention block on B·T rows of d: the four
# projections as dense layers, the scores Q·Kᵀ and P·V 2·B·heads·T²·d_h
# each forward and twice each backward; the FFN two dense layers d ↔ 4d.
info() {
    case $1 in
    m1) echo "bench/m1_deep_sigmoid.vg 100 60 761.1" ;;   # 2·128·(32·256·2 + 15·256²·3 + 256·10·3)
    m2) echo "bench/m2_resmlp.vg 50 30 1616.8" ;;         # 2·128·(32·256·2 + 32·256²·3 + 256·10·3)
    m3) echo "bench/m3_lstm_adding.vg 30 20 1271.4" ;;    # 2·32·100·(2·512·2 + 128·512·3) + 2·32·128·3
    m4) echo "bench/m4_wide.vg 15 10 5921.3" ;;           # 2·256·(1024²·2 + 3·1024²·3 + 1024·10·3)
    m5) echo "bench/m5_tiny.vg 20000 2000 0.354" ;;       # 2·32·(2·16·2 + 7·16²·3 + 16·2·3)
    # 2·64·(16·9·784·2 + (16·144·784 + 32·144·196 + 32·288·196 + 1568·10)·3)
    m6) echo "bench/m6_cnn.vg 40 30 1769.0" ;;
    # 2·(4·2·2048·64²·3 + 2·32²·16·64·4·6 + 2·2·2048·64·256·3) + 2·2048·64·16·3
    m7) echo "bench/m7_transformer.vg 30 20 1321.2" ;;
    esac
}
label() {
    case $1 in
    m1) echo "M1 deep_sigmoid" ;; m2) echo "M2 resmlp" ;; m3) echo "M3 lstm_adding" ;;
    m4) echo "M4 wide" ;; m5) echo "M5 tiny" ;; m6) echo "M6 cnn" ;;
    m7) echo "M7 transformer" ;;
    esac
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

# The first Python that imports torch (a pyenv python3 may shadow Debian's).
HAVE_TORCH=no PYTHON=python3
for py in ${BENCH_PYTHON:-python3 /usr/bin/python3}; do
    if "$py" -c 'import torch' 2>/dev/null; then
        HAVE_TORCH=yes PYTHON=$py
        break
    fi
done

# The ms/step field of a "time: … X ms/step wall, Y ms/step cpu" line.
ms_of() {
    if [ "$CLOCK" = cpu ]; then
        sed -n 's/^time: .* \([0-9.]*\) ms\/step cpu.*/\1/p' "$1" | head -1
    else
        sed -n 's/^time: .* \([0-9.]*\) ms\/step wall.*/\1/p' "$1" | head -1
    fi
}

# run NAME OUT CMD…: runs CMD under /usr/bin/time, appends "ms rss_kb" to OUT.
run() {
    out=$1
    shift
    if /usr/bin/time -f 'rss %M' -o "$TMP/rss" "$@" >"$TMP/stdout" 2>"$TMP/stderr"; then
        cat "$TMP/stdout" "$TMP/stderr" >"$TMP/log"
        echo "$(ms_of "$TMP/log") $(sed -n 's/^rss //p' "$TMP/rss")" >>"$out"
    else
        echo "bench/run.sh: failed: $*" >&2
        sed -n '1,5p' "$TMP/stderr" >&2
        echo "fail 0" >>"$out"
    fi
}

SKIP=""
for m in $MODELS; do
    set -- $(info "$m")
    if ! "$VG" check "$1" >/dev/null 2>"$TMP/check"; then
        echo "bench/run.sh: skipping $(label "$m"): $(head -1 "$TMP/check")" >&2
        SKIP="$SKIP $m"
    fi
done
scaled() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); print v < 1 ? 1 : v }'; }

r=1
while [ -n "$MODELS" ] && [ "$r" -le "$REPS" ]; do
    echo "bench: round $r of $REPS" >&2
    "$SGEMM" 1024 1024 1024 "$THREADS" | awk '{ print $1 }' >>"$TMP/sgemm"
    for m in $MODELS; do
        case " $SKIP " in *" $m "*) continue ;; esac
        set -- $(info "$m")
        file=$1 vsteps=$(scaled "$2") tsteps=$(scaled "$3")
        run "$TMP/$m.vg" "$VG" run "$file" --quiet --time --threads "$THREADS" \
            --set "steps=$vsteps"
        [ $HAVE_TORCH = yes ] && run "$TMP/$m.pt" "$PYTHON" bench/torch_bench.py "$m" "$tsteps" \
            --threads "$THREADS"
        run "$TMP/$m.vgr" "$VG" run "$file" --quiet --time --threads "$THREADS" \
            --set "steps=$vsteps" --set report=1
        [ $HAVE_TORCH = yes ] && run "$TMP/$m.ptr" "$PYTHON" bench/torch_bench.py "$m" "$tsteps" \
            --threads "$THREADS" --report
    done
    r=$((r + 1))
done

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { [ -f "$1" ] && awk -v c="$2" '$1 != "fail" { print $c }' "$1" | median || echo nan; }
# Median over rounds of the ratio of column 1 of $1 to column 1 of $2.
ratio() {
    [ -f "$1" ] && [ -f "$2" ] || { echo nan; return; }
    paste "$1" "$2" | awk '$1 != "fail" && $3 != "fail" && $3 > 0 { print $1 / $3 }' | median
}

if [ -n "$MODELS" ]; then
    SG=$(median <"$TMP/sgemm")
    printf '\nvg %s · %s · sgemm 1024³ %s GFLOP/s · %s rounds, medians, %s clock\n\n' \
        "$("$VG" --version | awk '{ print $2 }')" \
        "$("$VG" run bench/m5_tiny.vg --set steps=0 --quiet --threads "$THREADS" | sed -n '1s/^vg [^·]*· [^·]*· //p')" \
        "$SG" "$REPS" "$CLOCK"
    printf '%-16s %10s %10s %10s %10s %8s %8s %9s %7s %8s %8s\n' model "vg ms" "vg+rep ms" "torch ms" \
        "torch+rep" "torch/vg" "(+rep)" "vg GFLOP/s" "% sgemm" "vg MB" "torch MB"
    for m in $MODELS; do
        set -- $(info "$m")
        case " $SKIP " in
        *" $m "*) printf '%-16s %s\n' "$(label "$m")" "(skipped: vg check fails, see above)"; continue ;;
        esac
        vg=$(col "$TMP/$m.vg" 1) vgr=$(col "$TMP/$m.vgr" 1)
        pt=$(col "$TMP/$m.pt" 1) ptr=$(col "$TMP/$m.ptr" 1)
        awk -v l="$(label "$m")" -v vg="$vg" -v vgr="$vgr" -v pt="$pt" -v ptr="$ptr" \
            -v q="$(ratio "$TMP/$m.pt" "$TMP/$m.vg")" -v qr="$(ratio "$TMP/$m.ptr" "$TMP/$m.vgr")" \
            -v mf="$4" -v sg="$SG" -v rss="$(col "$TMP/$m.vg" 2)" -v prss="$(col "$TMP/$m.pt" 2)" '
            function num(x, fmt) { return x == "nan" || x == "" ? "-" : sprintf(fmt, x) }
            BEGIN {
                gf = vg > 0 ? mf / vg : "nan"
                printf "%-16s %10s %10s %10s %10s %8s %8s %9s %7s %8s %8s\n", l,
                    num(vg, "%.3f"), num(vgr, "%.3f"), num(pt, "%.3f"), num(ptr, "%.3f"),
                    num(q, "%.2f×"), num(qr, "%.2f×"), num(gf, "%.1f"),
                    gf == "nan" ? "-" : sprintf("%.0f%%", 100 * gf / sg),
                    num(rss / 1024, "%.1f"), num(prss / 1024, "%.1f")
            }'
    done
    if [ $HAVE_TORCH = no ]; then
        echo
        echo "PyTorch columns empty: python3-torch is not installed. For the comparison:"
        echo "    apt-get install python3-torch && make bench"
    fi
fi

# ---- convolutions: oneDNN against im2col + sgemm (built with libdnnl-dev) ----
if [ -x "$BUILD/bench/conv_dnnl" ] && [ "${BENCH_CONV:-1}" = 1 ]; then
    echo
    "$BUILD/bench/conv_dnnl" 20
fi

# ---- the sweep ----
[ "${BENCH_SWEEP:-1}" = 1 ] || exit 0
SWEEP_REPS=${BENCH_SWEEP_REPS:-3}
# (not nproc: it counts OMP_NUM_THREADS, exported above)
PROCS=${BENCH_SWEEP_PROCS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
JOBS=""
"$VG" run --help | grep -q -- '--jobs N' && JOBS="-j $PROCS"
PRELOAD="" ALLOC="glibc malloc, tuned"
for lib in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 \
           /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4; do
    [ -f "$lib" ] && { PRELOAD=$lib ALLOC=$(basename "$lib"); break; }
done
# PyTorch's processes, started together and waited for together: sh -c
# SWEEP_TORCH sh PROCS PRELOAD PYTHON OUT (each process's output in OUT.K)
SWEEP_TORCH='pids=""; k=0
while [ "$k" -lt "$1" ]; do
    (cd bench && LD_PRELOAD=$2 OPENBLAS_NUM_THREADS=1 "$3" sweep_torch.py --part "$k" --of "$1" \
        >"$4.$k" 2>&1) &
    pids="$pids $!"; k=$((k + 1))
done
st=0
for p in $pids; do wait "$p" || st=1; done
exit $st'
# timed OUT CMD…: appends "wall cpu" (seconds; cpu: user + system of CMD
# and every process it waited for) to OUT
timed() {
    out=$1
    shift
    if /usr/bin/time -f '%e %U %S' -o "$TMP/t" "$@" >"$TMP/sweep.out" 2>&1; then
        awk '{ print $1, $2 + $3 }' "$TMP/t" >>"$out"
    else
        echo "bench/run.sh: failed: $*" >&2
        sed -n '1,5p' "$TMP/sweep.out" >&2
    fi
}
r=1
while [ "$r" -le "$SWEEP_REPS" ]; do
    echo "bench: sweep round $r of $SWEEP_REPS" >&2
    # shellcheck disable=SC2086 # JOBS is empty or two words
    timed "$TMP/sweep.vg" "$VG" run bench/sweep.vg --quiet --threads 1 $JOBS
    [ $HAVE_TORCH = yes ] && timed "$TMP/sweep.pt" sh -c "$SWEEP_TORCH" sh "$PROCS" "$PRELOAD" \
        "$PYTHON" "$TMP/sweep.pt"
    r=$((r + 1))
done
printf '\nsweep: bench/sweep.vg, 192 runs (8 depths × 8 σw² × 3 seeds, 200 steps each) · %s rounds, medians\n\n' \
    "$SWEEP_REPS"
printf '%-44s %10s %10s\n' "" "wall s" "cpu s"
printf '%-44s %10.2f %10.2f\n' "vg, ${JOBS:-one process (this vg has no -j)}" \
    "$(col "$TMP/sweep.vg" 1)" "$(col "$TMP/sweep.vg" 2)"
if [ $HAVE_TORCH = yes ]; then
    printf '%-44s %10.2f %10.2f\n' "PyTorch, $PROCS processes, $ALLOC" \
        "$(col "$TMP/sweep.pt" 1)" "$(col "$TMP/sweep.pt" 2)"
    cratio() {
        paste "$TMP/sweep.pt" "$TMP/sweep.vg" | awk -v c="$1" '$(c + 2) > 0 { print $c / $(c + 2) }' | median
    }
    printf '%-44s %9.1f× %9.1f×\n' "PyTorch / vg" "$(cratio 1)" "$(cratio 2)"
else
    echo "(no PyTorch row: python3-torch is not installed)"
fi
