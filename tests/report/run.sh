#!/bin/sh
# The report files of `vg run --json F --csv F --html F`, end to end: real
# runs' files validated by check_outputs.py (the JSON against the schema in
# docs/report.md, the CSV with Python's csv module and against the JSON, the
# page and each of its SVGs as XML), including runs that fail with exit 3,
# that are interrupted, and paths that cannot be written; the progress line
# on a terminal and never off one. Skips (passing) without python3.
# Usage: tests/report/run.sh path/to/vg
set -u
vg=${1:-build/vg}
here=$(dirname "$0")
py=python3; [ -x /usr/bin/python3 ] && py=/usr/bin/python3
check="$py $here/check_outputs.py --schema docs/report.md"
if ! command -v "$py" >/dev/null 2>&1; then
    echo "report: python3 not found; skipped"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "report: FAIL: $1"; }
# expect NAME WANT GOT
expect() { if [ "$2" = "$3" ]; then ok; else bad "$1: expected $2, got $3"; fi; }
no_temp_files() {
    left=$(find "$tmp" -name '*.??????' -newer "$tmp/.start" | head -1)
    expect "$1: no temporary file left" "" "$left"
}
run() {  # run DIR ARGS...: vg run with the three files in DIR; sets rc
    d=$1; shift
    mkdir -p "$tmp/$d"
    NO_COLOR=1 VG_PATH= "$vg" run "$@" --json "$tmp/$d/r.jsonl" --csv "$tmp/$d/r.csv" \
        --html "$tmp/$d/r.html" >"$tmp/$d/out" 2>"$tmp/$d/err" </dev/null
    rc=$?
}
valid() {  # valid DIR CHECK-ARGS...
    d=$1; shift
    if $check --json "$tmp/$d/r.jsonl" --csv "$tmp/$d/r.csv" --html "$tmp/$d/r.html" "$@" \
        >"$tmp/$d/check" 2>&1; then ok; else cat "$tmp/$d/check"; bad "$d: invalid files"; fi
}
touch "$tmp/.start"

# The issue's "done when": three valid files from the deep sigmoid example.
run deep examples/deep_sigmoid.vg
expect "deep_sigmoid: exit status" 0 "$rc"
valid deep --runs 2 --expects 3
expect "deep_sigmoid: stderr (no progress line off a terminal)" "" "$(cat "$tmp/deep/err")"
no_temp_files deep_sigmoid

# Run families: members named by their values, their family and axes in
# the run headers, the summaries of the expects' lists.
run family tests/golden/family_expect.vg
expect "family: exit status" 1 "$rc"
valid family --runs 7 --expects 7
expect "family: a member's family and axes" 1 \
    "$(grep -c '"name":"grid\[8, relu\]",.*"family":"grid","axes":{"w":8,"act":"relu"}' "$tmp/family/r.jsonl")"
if $py "$here/check_family_figures.py" "$tmp/family/r.jsonl" "$tmp/family/r.html" \
    >"$tmp/family/figures" 2>&1; then ok; else cat "$tmp/family/figures"; bad "family: figures"; fi
# seeds[s]: loss and ratio against s; grid[w, act]: both against w and act
expect "family: its figures" 6 \
    "$(sed -n '/<section class="families">/,/<\/section>/p' "$tmp/family/r.html" | grep -c '<svg')"
# a grid over (d, w) with seeds: loss and ratio against d and against w,
# and over (d, w); nothing against the seed axis
run grid "$here/family_grid.vg"
expect "family grid: exit status" 0 "$rc"
valid grid --runs 12 --expects 1
if $py "$here/check_family_figures.py" "$tmp/grid/r.jsonl" "$tmp/grid/r.html" \
    >"$tmp/grid/figures" 2>&1; then ok; else cat "$tmp/grid/figures"; bad "grid: figures"; fi
expect "family grid: its figures" "loss at the end against d|loss at the end against w|\
loss at the end over d and w|ratio of fc[1] at step 0 against d|\
ratio of fc[1] at step 0 against w|ratio of fc[1] at step 0 over d and w" \
    "$(sed -n '/<section class="families">/,/<\/section>/p' "$tmp/grid/r.html" |
       sed -n 's/.*font-weight="600">\(.*\) — grid<.*/\1/p' | paste -sd'|')"
expect "family: a list's summary" 1 \
    "$(grep -c '"lists":\[{"expr":"grid\[8, \*\].final.accuracy","n":2,"true":null,"hold":2,"nan":0,' "$tmp/family/r.jsonl")"

# Exit 3 on a non-finite loss still writes complete files: the reports so
# far, the run marked diverged, no expects (they are not checked).
run nonfinite tests/golden/nonfinite.vg
expect "nonfinite: exit status" 3 "$rc"
valid nonfinite --runs 1 --expects 0
expect "nonfinite: the end line" '{"type":"end","run":"boom","steps":1,"reports":1,"diverged":true,"diverged_at":2}' \
    "$(tail -1 "$tmp/nonfinite/r.jsonl")"
no_temp_files nonfinite

# on_nonfinite = stop: one diverged run, one that trains, expects checked.
run stop tests/golden/stop_nonfinite.vg
expect "stop_nonfinite: exit status" 0 "$rc"
valid stop --runs 2 --expects 3
expect "stop_nonfinite: diverged rows" "boom,1,-,diverged,1 boom,1,-,diverged_at,2 calm,5,-,diverged,0" \
    "$(grep ',diverged' "$tmp/stop/r.csv" | tr -d '\r' | tr '\n' ' ' | sed 's/ $//')"

# Recurrent layers: a bptt array per report (one number per time step), a
# bptt[t] row per step, and a BPTT chart per run.
run rec tests/report/recurrent.vg
expect "recurrent: exit status" 0 "$rc"
valid rec --runs 2 --expects 0
expect "recurrent: bptt arrays of 30" 6 "$(grep -o '"bptt":\[[^]]*\]' "$tmp/rec/r.jsonl" |
    awk -F, 'NF == 30' | wc -l | tr -d ' ')"
expect "recurrent: bptt rows" 180 "$(grep -c ',rec,bptt\[' "$tmp/rec/r.csv")"
expect "recurrent: BPTT charts" 2 "$(grep -c 'BPTT: gradient norm at each time step' "$tmp/rec/r.html")"

# A path that cannot be written fails before any training, with exit 3.
NO_COLOR=1 VG_PATH= "$vg" run tests/golden/report_small.vg --csv "$tmp/no/such/dir/r.csv" \
    >"$tmp/nodir.out" 2>"$tmp/nodir.err"
expect "unwritable: exit status" 3 "$?"
expect "unwritable: message" "vg: error: cannot write '$tmp/no/such/dir/r.csv': No such file or directory" \
    "$(cat "$tmp/nodir.err")"
expect "unwritable: nothing trained" "" "$(cat "$tmp/nodir.out")"

# A program with an error leaves an existing file as it was.
mkdir -p "$tmp/keep"
echo old >"$tmp/keep/r.csv"
VG_PATH= "$vg" run tests/golden/err_syntax.vg --csv "$tmp/keep/r.csv" >/dev/null 2>&1
expect "syntax error: exit status" 2 "$?"
expect "syntax error: the old file stays" old "$(cat "$tmp/keep/r.csv")"

# Interrupted (SIGINT): exit 130, and the files hold the reports so far,
# the last one at the step where training stopped.
mkdir -p "$tmp/int"
VG_PATH= "$vg" run examples/deep_sigmoid.vg --run saturating --set steps=100000000 \
    --json "$tmp/int/r.jsonl" --csv "$tmp/int/r.csv" --html "$tmp/int/r.html" \
    >/dev/null 2>&1 </dev/null &
pid=$!
sleep 1
kill -INT $pid
wait $pid
expect "interrupted: exit status" 130 "$?"
valid int --runs 1
if grep -q '"type":"end","run":"saturating","steps":[1-9]' "$tmp/int/r.jsonl"; then ok
else bad "interrupted: the end line has no steps"; fi
no_temp_files interrupted

# Killed (SIGKILL) after its third report: the JSON Lines file holds the
# header and those reports, each line complete, and no temporary file is
# left; the CSV and HTML, written at the end, are not there at all.
mkdir -p "$tmp/kill"
VG_PATH= "$vg" run examples/deep_sigmoid.vg --run saturating --set steps=100000000 \
    --set report=20 --json "$tmp/kill/r.jsonl" --csv "$tmp/kill/r.csv" \
    --html "$tmp/kill/r.html" >/dev/null 2>&1 </dev/null &
pid=$!
n=0
for _ in $(seq 600); do
    n=$(grep -c '"type":"report"' "$tmp/kill/r.jsonl" 2>/dev/null)
    [ "${n:-0}" -ge 3 ] && break
    sleep 0.05
done
kill -KILL $pid
wait $pid 2>/dev/null
if [ "${n:-0}" -ge 3 ]; then ok; else bad "killed: only ${n:-0} reports after 30 s"; fi
expect "killed: the first lines" "header report steps report steps report" \
    "$(head -6 "$tmp/kill/r.jsonl" | sed 's/^{"type":"\([a-z]*\)".*/\1/' | tr '\n' ' ' | sed 's/ $//')"
if [ "$(tail -c 1 "$tmp/kill/r.jsonl" | od -An -c | tr -d ' ')" = '\n' ]; then ok
else bad "killed: the last line is cut"; fi
expect "killed: no CSV or HTML" "" "$(ls "$tmp/kill" | grep -v '^r.jsonl$')"
no_temp_files killed

# The progress line: on a terminal (script(1) gives vg one), rewritten with
# \r and cleared; never with --quiet.
if command -v script >/dev/null 2>&1; then
    cmd="VG_PATH= NO_COLOR=1 $vg run examples/deep_sigmoid.vg --run saturating --set steps=2000 --set batch=128"
    script -qec "$cmd" /dev/null >"$tmp/tty.out" 2>&1 </dev/null
    if grep -q "saturating  step [0-9]*/2000  loss [0-9.]*  [0-9.e+]* steps/s" "$tmp/tty.out"; then ok
    else bad "progress: no progress line on a terminal"; fi
    script -qec "$cmd --quiet" /dev/null >"$tmp/quiet.out" 2>&1 </dev/null
    if grep -q "steps/s" "$tmp/quiet.out"; then bad "progress: shown with --quiet"; else ok; fi
else
    echo "report: script(1) not found; progress line not tested"
fi

echo "report: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
