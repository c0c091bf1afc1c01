#!/bin/sh
# The report files of `vg run --json F --csv F --html F`, end to end: real
# runs' files validated by check_outputs.py (the JSON against the schema in
# docs/report.md, the CSV with Python's csv module and against the JSON, the
# page and each of its SVGs as XML), including runs that fail with exit 3,
# that are interrupted, and paths that cannot be written; the progress line
# on a terminal and never off one. Skipped (exit status 77) without python3
# and its jsonschema module (.ci/deps.sh installs python3-jsonschema).
# BLESS=1 rewrites the texts it compares (v1.out, v2.out, v3.out, diff.out).
# Usage: tests/report/run.sh path/to/vg
set -u
here=$(dirname "$0")
. "$here/../lib.sh"
vg=${1:-build/vg}
py=python3; [ -x /usr/bin/python3 ] && py=/usr/bin/python3
check="$py $here/check_outputs.py --schema docs/report.md"
command -v "$py" >/dev/null 2>&1 || skip_suite "python3 not found"
"$py" -c 'import jsonschema' 2>/dev/null || skip_suite "python3's jsonschema module not found"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0; skipped=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "report: FAIL: $1"; }
# expect NAME WANT GOT
expect() { if [ "$2" = "$3" ]; then ok; else bad "$1: expected $2, got $3"; fi; }
# same NAME GOLDEN OUTPUT: OUTPUT's text is GOLDEN's (or becomes it, under BLESS=1)
same() {
    if [ "${BLESS:-0}" = 1 ]; then bless "$2" "$3"
    else expect "$1" "" "$(diff "$2" "$3")"; fi
}
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
expect "family: vg report draws the same page" same "$("$vg" report "$tmp/family/r.jsonl" \
    --html "$tmp/family/re.html" && cmp -s "$tmp/family/r.html" "$tmp/family/re.html" && echo same)"
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
expect "nonfinite: the end line" '{"type":"end","run":"boom","steps":1,"reports":2,"diverged":true,"diverged_at":2}' \
    "$(tail -1 "$tmp/nonfinite/r.jsonl")"
# ... the last report is the final one, at the step completed, not step 0
expect "nonfinite: the final report's step" '"step":1' \
    "$(grep '"type":"report"' "$tmp/nonfinite/r.jsonl" | tail -1 | grep -o '"step":[0-9]*')"
no_temp_files nonfinite

# on_nonfinite = stop: one diverged run, one that trains, expects checked.
run stop tests/golden/stop_nonfinite.vg
expect "stop_nonfinite: exit status" 0 "$rc"
valid stop --runs 2 --expects 3
expect "stop_nonfinite: diverged rows" "boom,1,-,diverged,1 boom,1,-,diverged_at,2 calm,5,-,diverged,0" \
    "$(grep ',diverged' "$tmp/stop/r.csv" | tr -d '\r' | tr '\n' ' ' | sed 's/ $//')"

# Learning-rate schedules: every step's lr in the JSON Lines steps lines and
# the CSV step_lr rows, worked out by hand (cos π/4 = 0.70710678, cos π/8 =
# 0.92387953): warmup(2) then cosine(4, min = 0.1) of 1 is 1/2, 2/2, then
# 0.1 + 0.9(1 + cos(πt/4))/2 for t = 0..4, held at 0.1; step(3, 0.5) halves
# 0.01 at steps 3 and 6; cosine(8) of 0.01 is 0.005(1 + cos(πt/8)); and in
# warmup(2) then cosine(2) then step(1, 0.5) of 0.1 the cosine starts at
# step 2 and the step decay at step 4.
run sched tests/golden/schedule.vg
expect "schedule: exit status" 0 "$rc"
valid sched --runs 5 --expects 1
expect "schedule: lr of each step" "\
[0.5,1,1,0.868198052,0.55,0.231801948,0.1,0.1] \
[0.01,0.01,0.01,0.005,0.005,0.005,0.0025,0.0025] \
[0.01,0.00961939766,0.00853553391,0.00691341716,0.005,0.00308658284,0.00146446609,0.000380602337] \
[0.05,0.1,0.1,0.05,0.1,0.05,0.025,0.0125] \
[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]" \
    "$(grep -o '"lr":\[[^]]*\]' "$tmp/sched/r.jsonl" | sed 's/"lr"://' | paste -sd' ')"
expect "schedule: step_lr rows of warm_cos" "0.5 1 1 0.868198052 0.55 0.231801948 0.1 0.1" \
    "$(grep '^warm_cos,.*,step_lr,' "$tmp/sched/r.csv" | cut -d, -f5 | tr -d '\r' | paste -sd' ')"
expect "schedule: the header's schedules" "\
\"schedule\":\"warmup(steps = 2) then cosine(steps = 4, min = 0.1)\" \
\"schedule\":\"step(every = 3, factor = 0.5)\" \
\"schedule\":\"cosine(steps = 8, min = 0)\" \
\"schedule\":\"warmup(steps = 2) then cosine(steps = 2, min = 0) then step(every = 1, factor = 0.5)\" \
\"schedule\":\"constant\"" \
    "$(grep -o '"schedule":"[^"]*"' "$tmp/sched/r.jsonl" | paste -sd' ')"

# Recurrent layers: a bptt array per report (one number per time step), a
# bptt[t] row per step, and a BPTT chart per run.
run rec tests/report/recurrent.vg
expect "recurrent: exit status" 0 "$rc"
valid rec --runs 2 --expects 0
expect "recurrent: bptt arrays of 30" 6 "$(grep -o '"bptt":\[[^]]*\]' "$tmp/rec/r.jsonl" |
    awk -F, 'NF == 30' | wc -l | tr -d ' ')"
expect "recurrent: bptt rows" 180 "$(grep -c ',rec,bptt\[' "$tmp/rec/r.csv")"
expect "recurrent: BPTT charts" 2 "$(grep -c 'BPTT: gradient norm at each time step' "$tmp/rec/r.html")"

# Attention layers: attention_entropy a number for the attention layer and
# null for the others in the JSON (3 reports × 2 runs), a CSV row for each
# number, a column of the terminal table and of the page's final table, a
# chart of it against depth on the page (and none on a page without one);
# every entropy lies in (0, ln 8] for 8 keys, and the causal run's in
# (0, ln(8!)/8], the mean over the queries of ln t; `vg report` prints the
# same tables and expects from the JSON.
run att tests/report/attention.vg
expect "attention: exit status" 0 "$rc"
valid att --runs 2 --expects 2
expect "attention: entropies and nulls in the JSON" "6 12" \
    "$(grep -o '"attention_entropy":[0-9]' "$tmp/att/r.jsonl" | wc -l | tr -d ' ') $(grep -o \
    '"attention_entropy":null' "$tmp/att/r.jsonl" | wc -l | tr -d ' ')"
expect "attention: CSV rows" 6 "$(grep -c ',att,attention_entropy,' "$tmp/att/r.csv")"
expect "attention: entropies in range" "3 3" "$(tr -d '\r' <"$tmp/att/r.csv" | awk -F, '
    $4 == "attention_entropy" && $1 == "both_ways" && $5 > 0 && $5 <= log(8) { a++ }
    $4 == "attention_entropy" && $1 == "causal" && $5 > 0 && $5 <= log(40320) / 8 { c++ }
    END { print a + 0, c + 0 }')"
expect "attention: terminal column" 6 "$(grep -c ' attention_entropy  verdict$' "$tmp/att/out")"
expect "attention: page column" 2 "$(grep -o '<th>attention_entropy</th>' "$tmp/att/r.html" | wc -l |
    tr -d ' ')"
expect "attention: entropy charts" 2 "$(grep -c 'attention entropy against depth' "$tmp/att/r.html")"
expect "attention: no entropy chart without attention" 0 \
    "$(grep -c 'attention entropy against depth' "$tmp/rec/r.html")"
"$vg" report "$tmp/att/r.jsonl" --text >"$tmp/att/re.out"
expect "attention: re-rendered text" "" "$(diff "$tmp/att/out" "$tmp/att/re.out")"

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

# `vg report` reads the killed run's file: a complete file renders, and
# one whose last line was cut by the kill is read up to it, with a warning.
"$vg" report "$tmp/kill/r.jsonl" --html "$tmp/kill/re.html" --csv "$tmp/kill/re.csv" \
    >"$tmp/kill/report.out" 2>&1
expect "killed: vg report reads it" "0 " "$? $(cat "$tmp/kill/report.out")"
if $check --html "$tmp/kill/re.html" --runs 1 >"$tmp/kill/check" 2>&1; then ok
else cat "$tmp/kill/check"; bad "killed: vg report's page is invalid"; fi
head -c -20 "$tmp/kill/r.jsonl" >"$tmp/kill/cut.jsonl"
lines=$(wc -l <"$tmp/kill/cut.jsonl" | tr -d ' ')
"$vg" report "$tmp/kill/cut.jsonl" >"$tmp/kill/cut.out" 2>"$tmp/kill/cut.err"
expect "cut: exit status" 0 "$?"
expect "cut: the warning" "vg: warning: $tmp/kill/cut.jsonl:$((lines + 1)): the last line is cut short (vg was stopped while writing it); skipped" \
    "$(cat "$tmp/kill/cut.err")"
if tail -1 "$tmp/kill/cut.out" | grep -q '^(no end line: vg stopped after step [0-9]*)$'; then ok
else bad "cut: no note that the run has no end line"; fi
# the page and the CSV of the cut file: valid, and the CSV holds the
# reports of the lines before the cut one
"$vg" report "$tmp/kill/cut.jsonl" --html "$tmp/kill/cut.html" --csv "$tmp/kill/cut.csv" \
    2>/dev/null
expect "cut: vg report --html --csv" 0 "$?"
if $check --csv "$tmp/kill/cut.csv" --html "$tmp/kill/cut.html" --runs 1 \
    >"$tmp/kill/cut.check" 2>&1; then ok
else cat "$tmp/kill/cut.check"; bad "cut: vg report's files are invalid"; fi
expect "cut: the CSV's report steps" \
    "$(head -n "$lines" "$tmp/kill/cut.jsonl" | grep '"type":"report"' |
       sed 's/.*"step":\([0-9]*\),.*/\1/' | tr '\n' ' ')" \
    "$(grep ',-,loss,' "$tmp/kill/cut.csv" | cut -d, -f2 | tr '\n' ' ')"

# vg report re-renders: the same CSV and HTML bytes as vg run wrote, and
# the same text as vg run printed.
run small tests/golden/report_small.vg
"$vg" report "$tmp/small/r.jsonl" --csv "$tmp/small/re.csv" --html "$tmp/small/re.html" \
    --text >"$tmp/small/re.out"
expect "re-render: exit status" 0 "$?"
expect "re-render: the CSV" same "$(cmp -s "$tmp/small/r.csv" "$tmp/small/re.csv" && echo same)"
expect "re-render: the HTML" same "$(cmp -s "$tmp/small/r.html" "$tmp/small/re.html" && echo same)"
expect "re-render: the text" "" "$(diff "$tmp/small/out" "$tmp/small/re.out")"
expect "re-render: the recurrent HTML" same "$("$vg" report "$tmp/rec/r.jsonl" \
    --html "$tmp/rec/re.html" && cmp -s "$tmp/rec/r.html" "$tmp/rec/re.html" && echo same)"

# The earlier schema versions: today's reader reads the files vg wrote
# then. Schema 1 (before the steps lines):
"$vg" report "$here/v1.jsonl" >"$tmp/v1.out" 2>&1
expect "schema 1: exit status" 0 "$?"
same "schema 1: the text" "$here/v1.out" "$tmp/v1.out"
"$vg" report "$here/v1.jsonl" --csv "$tmp/v1.csv" --html "$tmp/v1.html"
if $check --csv "$tmp/v1.csv" --html "$tmp/v1.html" --runs 1 >"$tmp/v1.check" 2>&1; then ok
else cat "$tmp/v1.check"; bad "schema 1: invalid files"; fi

# Schema 2 (before the runs' baseline): read, shown without a baseline.
"$vg" report "$here/v2.jsonl" >"$tmp/v2.out" 2>&1
expect "schema 2: exit status" 0 "$?"
same "schema 2: the text" "$here/v2.out" "$tmp/v2.out"
"$vg" report "$here/v2.jsonl" --csv "$tmp/v2.csv" --html "$tmp/v2.html"
if $check --csv "$tmp/v2.csv" --html "$tmp/v2.html" --runs 1 >"$tmp/v2.check" 2>&1; then ok
else cat "$tmp/v2.check"; bad "schema 2: invalid files"; fi
expect "schema 2: no baseline row" "" "$(grep ',baseline,' "$tmp/v2.csv")"

# Schema 3 (before attention_entropy): read, with no such metric.
"$vg" report "$here/v3.jsonl" >"$tmp/v3.out" 2>&1
expect "schema 3: exit status" 0 "$?"
same "schema 3: the text" "$here/v3.out" "$tmp/v3.out"
"$vg" report "$here/v3.jsonl" --csv "$tmp/v3.csv" --html "$tmp/v3.html"
if $check --csv "$tmp/v3.csv" --html "$tmp/v3.html" --runs 1 >"$tmp/v3.check" 2>&1; then ok
else cat "$tmp/v3.check"; bad "schema 3: invalid files"; fi
expect "schema 3: no attention_entropy row" "" "$(grep ',attention_entropy,' "$tmp/v3.csv")"

# Overlay and --diff: two versions of a model. The run both files have
# becomes FILE:NAME in every chart; --diff is pinned by tests/report/diff.out.
vg_abs=$(cd "$(dirname "$vg")" && pwd)/$(basename "$vg")
(cd "$tmp" && VG_PATH= "$vg_abs" run "$OLDPWD/$here/diff_a.vg" --json a.jsonl >/dev/null &&
    VG_PATH= "$vg_abs" run "$OLDPWD/$here/diff_b.vg" --json b.jsonl >/dev/null && vg=$vg_abs &&
    "$vg" report a.jsonl b.jsonl --html ab.html --csv ab.csv &&
    "$vg" report --diff a.jsonl b.jsonl >diff.out)
expect "overlay: exit status" 0 "$?"
if $check --html "$tmp/ab.html" --csv "$tmp/ab.csv" --runs 3 >"$tmp/ab.check" 2>&1; then ok
else cat "$tmp/ab.check"; bad "overlay: invalid files"; fi
expect "overlay: run columns" "a:deep b:deep shallow" \
    "$(grep -o '<h2>run [^<]*' "$tmp/ab.html" | cut -c9- | tr '\n' ' ' | sed 's/ $//')"
expect "overlay: CSV runs" "a:deep b:deep shallow" \
    "$(tail -n +2 "$tmp/ab.csv" | cut -d, -f1 | uniq | tr '\n' ' ' | sed 's/ $//')"
same "diff: the output" "$here/diff.out" "$tmp/diff.out"

# What is not a vg report is an error naming the file and line (exit 2).
printf '{"type":"header","format":"vg-report","schema_version":9}\n' >"$tmp/new.jsonl"
"$vg" report "$tmp/new.jsonl" >/dev/null 2>"$tmp/new.err"
expect "schema 9: exit status" 2 "$?"
expect "schema 9: message" "vg: error: $tmp/new.jsonl:1: schema version 9: this vg reads versions 1 to 4" \
    "$(cat "$tmp/new.err")"
{ head -1 "$tmp/small/r.jsonl"; echo '{"type":"report","run":"small",'; } >"$tmp/broken.jsonl"
"$vg" report "$tmp/broken.jsonl" >/dev/null 2>"$tmp/broken.err"
expect "broken line: exit status" 2 "$?"
expect "broken line: message" "vg: error: $tmp/broken.jsonl:2: not a JSON object: the line ends inside it" \
    "$(cat "$tmp/broken.err")"
{ head -1 "$tmp/small/r.jsonl"; echo '{"type":"report","run":"other","step":0}'; } >"$tmp/other.jsonl"
"$vg" report "$tmp/other.jsonl" >/dev/null 2>"$tmp/other.err"
expect "unknown run: message" "vg: error: $tmp/other.jsonl:2: run 'other' is not in the header" \
    "$(cat "$tmp/other.err")"
"$vg" report "$tmp/none.jsonl" >/dev/null 2>"$tmp/none.err"
expect "missing file: message" "2 vg: error: cannot read '$tmp/none.jsonl': No such file or directory" \
    "$? $(cat "$tmp/none.err")"
"$vg" report --diff "$tmp/small/r.jsonl" >/dev/null 2>&1
expect "diff of one file: exit status" 2 "$?"
"$vg" report --help | head -1 >"$tmp/help"
expect "vg report --help" "usage: vg report FILE.jsonl [FILE.jsonl ...] [--html F] [--csv F] [--text]" \
    "$(cat "$tmp/help")"

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
    skipped=$((skipped + 2))
fi

echo "report: $pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
