#!/bin/sh
# bench/step_log_cost.sh — what recording every step's scalars costs a step
# (docs/performance.md, "Every step's scalars").
#
#   sh bench/step_log_cost.sh [BUILD]      (BUILD: the vg to measure; build)
#
# Builds a second vg from this checkout's sources with the step log's two
# functions (log_reserve, log_step in src/train.c) returning at once, so
# the only difference between the two binaries is the recording, then
# times M1 and M5 (bench/m1_deep_sigmoid.vg, bench/m5_tiny.vg) with both,
# alternating with and without for BENCH_REPS rounds. Times are `vg run
# --time`'s ms per step, on the process's CPU clock by default (the
# machine is shared; BENCH_CLOCK=wall for the wall clock); the table has
# the medians and the median of the per-round ratios.
#
# Environment: BENCH_REPS (9), BENCH_CLOCK (cpu), BENCH_M1_STEPS (100),
# BENCH_M5_STEPS (20000).
set -u
BUILD=${1:-build}
VG=$BUILD/vg
REPS=${BENCH_REPS:-9}
CLOCK=${BENCH_CLOCK:-cpu}
[ -x "$VG" ] || { echo "bench/step_log_cost.sh: $VG is missing (run make)" >&2; exit 2; }
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Haswell}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the same sources, the recording taken out
mkdir -p "$tmp/src"
git ls-files -z | xargs -0 cp --parents -t "$tmp/src"
for f in log_reserve log_step; do
    sed -i "/^static void $f(/,/^{/ s/^{\$/{ return;/" "$tmp/src/src/train.c"
done
if [ "$(grep -c '^{ return;$' "$tmp/src/src/train.c")" != 2 ]; then
    echo "bench/step_log_cost.sh: src/train.c has no log_reserve and log_step to take out" >&2
    exit 2
fi
make -C "$tmp/src" -j2 build/vg >"$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log"; exit 2; }
OFF=$tmp/src/build/vg

# ms_per_step VG FILE STEPS
ms_per_step() {
    # --time writes to stderr
    VG_PATH="" "$1" run "$2" --quiet --time --threads 1 --set steps="$3" 2>&1 >/dev/null |
        sed -n "s/^time: .* \([0-9.e+-]*\) ms\/step $CLOCK.*/\1/p"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '%-16s %14s %14s %10s\n' model "with (ms)" "without (ms)" cost
for m in m1 m5; do
    case $m in
    m1) file=bench/m1_deep_sigmoid.vg steps=${BENCH_M1_STEPS:-100} name="M1 deep_sigmoid" ;;
    m5) file=bench/m5_tiny.vg steps=${BENCH_M5_STEPS:-20000} name="M5 tiny" ;;
    esac
    : >"$tmp/on"; : >"$tmp/off"; : >"$tmp/ratio"
    for _ in $(seq "$REPS"); do
        on=$(ms_per_step "$VG" "$file" "$steps")
        off=$(ms_per_step "$OFF" "$file" "$steps")
        echo "$on" >>"$tmp/on"
        echo "$off" >>"$tmp/off"
        echo "$on $off" | awk '{ print $1 / $2 }' >>"$tmp/ratio"
    done
    printf '%-16s %14s %14s %9.2f%%\n' "$name" "$(median <"$tmp/on")" "$(median <"$tmp/off")" \
        "$(median <"$tmp/ratio" | awk '{ print 100 * ($1 - 1) }')"
done
echo "($REPS rounds, $CLOCK clock, 1 thread; cost: median of the per-round ratios − 1)"
