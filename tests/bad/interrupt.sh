#!/bin/sh
# SIGINT and SIGTERM during `vg run`: the current step finishes, the
# reports so far are printed and written (every JSON line parses, the CSV
# has the step where training stopped), the next run does not start, no
# expect is checked, the exit status is 130 or 143, no temporary file is
# left behind, and a report file from an earlier run is replaced whole.
# Without python3 the JSON Lines file is not parsed: that check is
# counted as skipped.
# Usage: tests/bad/interrupt.sh path/to/vg
set -u
vg=${1:-build/vg}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0; skip=0
check() {  # check WHAT CONDITION...
    what=$1; shift
    if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "interrupt: FAIL: $what"; fi
}
cat >"$tmp/long.vg" <<'VG'
model m() {
    input x[2]
    layer a { h = tanh(dense(x, 32)) }
    layer out { y = dense(h, 2) }
    return y
}
settings s { data = xor(points = 256); loss = cross_entropy; optimizer = sgd(lr = 0.1)
             batch = 32; steps = 100000000; report = 1000 }
train first = m() with s
train second = m() with s
expect first.final.loss < 10
VG
for sig in INT TERM; do
    d=$tmp/$sig
    mkdir -p "$d"
    echo old >"$d/r.csv"
    VG_PATH= NO_COLOR=1 "$vg" run "$tmp/long.vg" --json "$d/r.jsonl" --csv "$d/r.csv" \
        --html "$d/r.html" >"$d/out" 2>"$d/err" </dev/null &
    pid=$!
    # Wait until training has passed a report or two, at most 20 s.
    n=0
    while [ $n -lt 200 ] && ! grep -q '"type":"report"' "$d/r.jsonl" 2>/dev/null; do
        sleep 0.1; n=$((n + 1))
    done
    sleep 1
    kill -"$sig" $pid
    wait $pid
    code=$?
    want=130; [ "$sig" = TERM ] && want=143
    check "SIG$sig: exit status $code, expected $want" [ "$code" = "$want" ]
    check "SIG$sig: the first run's reports are printed" grep -q '^run first' "$d/out"
    check "SIG$sig: the second run does not start" sh -c "! grep -q '^run second' '$d/out'"
    check "SIG$sig: no expect is checked" sh -c "! grep -q 'PASS\|FAIL' '$d/out'"
    check "SIG$sig: stderr says where it stopped" \
        grep -q "^vg: interrupted by SIG$sig: run 'first' stopped after step [1-9][0-9]* of 100000000" "$d/err"
    step=$(sed -n "s/^vg: interrupted by SIG$sig: run 'first' stopped after step \([0-9]*\) .*/\1/p" "$d/err")
    check "SIG$sig: the terminal shows the report at step $step" grep -q "^step $step:" "$d/out"
    check "SIG$sig: the CSV holds step $step" grep -q "^first,$step,-,loss," "$d/r.csv"
    check "SIG$sig: the old CSV was replaced" sh -c "! grep -qx old '$d/r.csv'"
    check "SIG$sig: the HTML page is complete" grep -q '</html>' "$d/r.html"
    check "SIG$sig: no temporary file is left" sh -c "! ls '$d'/r.*.* >/dev/null 2>&1"
    if command -v python3 >/dev/null 2>&1; then
        check "SIG$sig: every line of r.jsonl parses" python3 -c '
import json, sys
for line in open(sys.argv[1]):
    json.loads(line)' "$d/r.jsonl"
    else
        skip=$((skip + 1)); echo "interrupt: SKIP: SIG$sig: r.jsonl not parsed: python3 not found"
    fi
done
echo "interrupt: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
