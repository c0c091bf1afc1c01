#!/bin/sh
# Runs every test vg has: the cmocka unit binaries, the golden diagnostics
# and reports, the corpus of bad programs (tests/bad/, same format), and
# every example (which must exit 0: their `expect` lines
# are tests). Prints one closing line "N passed, N failed".
# Usage: tests/run.sh BUILD_DIR
set -u
# a thread count from the environment would change the report headers
unset OPENBLAS_NUM_THREADS OMP_NUM_THREADS
# The goldens were blessed with OpenBLAS's Haswell kernels. OpenBLAS 0.3.21
# takes AVX-512 CPUs it does not know for Prescott, whose generic kernels
# round differently in the last digits; a core set in the environment wins.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
    export OPENBLAS_CORETYPE=Haswell
fi
build=${1:-build}
vg=$build/vg
pass=0; fail=0
failed=""
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); failed="$failed $1"; echo "FAIL: $1"; }

for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    if "$t"; then ok; else bad "$(basename "$t")"; fi
done

sh tests/golden/run.sh "$vg" && ok || bad golden
sh tests/repl/run.sh "$vg" && ok || bad repl
sh tests/report/run.sh "$vg" && ok || bad report-files
sh tests/golden/run.sh "$vg" tests/bad && ok || bad bad-programs
sh tests/fmt/run.sh "$vg" && ok || bad fmt
sh tests/bad/interrupt.sh "$vg" && ok || bad interrupt
sh tests/cli/run.sh "$vg" && ok || bad cli
sh tests/layers/run.sh && ok || bad layers

# every model of tests/gradcheck passes `vg gradcheck`
for gc in tests/gradcheck/*.vg; do
    if "$vg" gradcheck "$gc" >"$build/gradcheck.out" 2>&1; then ok
    else cat "$build/gradcheck.out"; bad "$gc"; fi
done

# every example's page is kept for the layout test below
mkdir -p "$build/pages"
rm -f "$build/pages/"*.html
for ex in examples/*.vg; do
    [ -f "$ex" ] || continue
    page=$build/pages/$(basename "$ex" .vg).html
    if "$vg" run --quiet "$ex" --html "$page" >/dev/null 2>"$build/example.err"; then ok
    else cat "$build/example.err"; bad "$ex"; fi
done

# every example's page at 1280 px in headless Chromium: nothing overflows
sh tests/report/layout.sh "$build/pages/"*.html && ok || bad layout

echo
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
