#!/bin/sh
# Runs every test vg has: the cmocka unit binaries, the golden diagnostics
# and reports, the corpus of bad programs (tests/bad/, same format), and
# every example (which must exit 0: their `expect` lines
# are tests). Prints one closing line "N passed, N failed".
# Usage: tests/run.sh BUILD_DIR
set -u
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

# every model of tests/gradcheck passes `vg gradcheck`
for gc in tests/gradcheck/*.vg; do
    if "$vg" gradcheck "$gc" >"$build/gradcheck.out" 2>&1; then ok
    else cat "$build/gradcheck.out"; bad "$gc"; fi
done

for ex in examples/*.vg; do
    [ -f "$ex" ] || continue
    if "$vg" run --quiet "$ex" >/dev/null 2>"$build/example.err"; then ok
    else cat "$build/example.err"; bad "$ex"; fi
done

echo
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
