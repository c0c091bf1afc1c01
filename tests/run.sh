#!/bin/sh
# Runs every test vg has, one suite at a time, each named as it starts:
# the cmocka unit binaries, the golden diagnostics and reports, the corpus
# of bad programs, the REPL transcripts, the report files, the formatter,
# the command line, the layer table, the op table against its docs rows and
# gradcheck models, the editor support in Neovim, `vg gradcheck` on each
# model of tests/gradcheck, every example (whose `expect` lines are tests)
# and the pages' layout. Closes
# with one line counting individual tests: "N passed, N failed, N skipped".
# A suite that cannot run here is skipped, never counted as passed.
#
# Usage: tests/run.sh BUILD_DIR [PATTERN]
#   PATTERN (make check T=PATTERN) is a shell pattern: the suites whose name
#   (or its last part) it matches run whole; in the others that take cases
#   (-c below) only the cases it matches run: T=bad, T=test_ops,
#   T=arg_missing, T='bad/arg_*', T=example/he2015.
#   BLESS=1 (make bless) runs only the suites with goldens (-b) and
#   rewrites their expected outputs from the current ones, listing each
#   file it changes.
# The conventions a suite follows, and how to add one, are in tests/README.md.
set -u
# a thread count from the environment would change the report headers
unset OPENBLAS_NUM_THREADS OMP_NUM_THREADS
. tests/coretype.sh
build=${1:-build}
pattern=${2:-}
blessing=${BLESS:-0}
export BLESS="$blessing"
vg=$build/vg
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0; skip=0; ran=0; blessed=0
failed=""; skipped=""

# matches NAME: whether PATTERN selects the whole of NAME.
matches() {
    # shellcheck disable=SC2254
    case $1 in $pattern) return 0 ;; esac
    # shellcheck disable=SC2254
    case ${1##*/} in $pattern) return 0 ;; esac
    return 1
}

# counts: the tests a suite's output reports, as "PASSED FAILED SKIPPED",
# or nothing if it reports none: its last line "…: N passed, N failed[, N
# skipped]", or cmocka's "[  PASSED  ] N test(s)." and "[  FAILED  ] N …".
counts() {
    awk '
    /[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/ {
        s = substr($0, match($0, /[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/))
        n = split(s, w, /[ ,]+/)
        p = w[1]; f = w[3]; k = (n > 4) ? w[5] : 0; found = 1
    }
    /^\[  PASSED  \] [0-9]+ test/ { p = $4; found = 1 }
    /^\[  FAILED  \] [0-9]+ test/ { f = $4; found = 1 }
    END { if (found) print p + 0, f + 0, k + 0 }' "$1"
}

# suite [-c] [-b] NAME COMMAND...: runs COMMAND (from the top of the
# checkout, stdin closed) as the suite NAME and adds up its tests.
#   -c  COMMAND takes cases: T in its environment is a shell pattern for
#       the names of the cases to run (tests/lib.sh's `selected`).
#   -b  COMMAND has goldens, which it rewrites under BLESS=1.
# Its output is shown only when something fails. Exit status 77 means the
# suite cannot run here (its last line says why): skipped. A command that
# reports no counts is one test, passed by exit status 0.
suite() {
    takes_cases=0; has_goldens=0
    while :; do
        case $1 in
        -c) takes_cases=1; shift ;;
        -b) has_goldens=1; shift ;;
        *) break ;;
        esac
    done
    name=$1; shift
    [ "$blessing" = 1 ] && [ $has_goldens = 0 ] && return 0
    filter=
    if [ -n "$pattern" ] && ! matches "$name"; then
        [ $takes_cases = 1 ] || return 0
        filter=${pattern#"$name"/}
    fi
    # a filtered suite is named only if one of its cases ran
    [ -z "$filter" ] && printf '%-32s ' "$name"
    start=$(date +%s)
    (T=$filter; export T; "$@") >"$tmp/out" 2>&1 </dev/null
    status=$?
    secs=$(($(date +%s) - start))
    if [ "$blessing" = 1 ]; then
        # the cases blessed count as passed
        n=$(grep -c '^bless: ' "$tmp/out")
        # shellcheck disable=SC2046 # the three counts, as words
        set -- $(counts "$tmp/out") 0
        [ -n "$filter" ] && [ "$1" = 0 ] && [ "$status" = 0 ] && return 0
        [ -n "$filter" ] && printf '%-32s ' "$name"
        blessed=$((blessed + n)); ran=$((ran + 1))
        echo "$n changed ($1 cases)"
        grep '^bless: ' "$tmp/out" | sed 's/^bless: /    /'
        [ "$status" = 0 ] || { cat "$tmp/out"; echo "    (exit status $status)"; }
        return 0
    fi
    if [ "$status" = 77 ]; then
        [ -n "$filter" ] && printf '%-32s ' "$name"
        why=$(tail -n 1 "$tmp/out")
        echo "skipped: $why"
        skip=$((skip + 1)); skipped="$skipped $name"; ran=$((ran + 1))
        return 0
    fi
    # shellcheck disable=SC2046 # the three counts, as words
    set -- $(counts "$tmp/out")
    if [ $# = 0 ] || [ $(($1 + $2 + $3)) = 0 ]; then
        [ -n "$filter" ] && [ "$status" = 0 ] && return 0
        if [ "$status" = 0 ]; then set -- 1 0 0; else set -- 0 1 0; fi
    fi
    p=$1 f=$2 k=$3
    # a suite that fails without saying which test (a crash) is one failure
    [ "$status" != 0 ] && [ "$f" = 0 ] && f=1
    [ -n "$filter" ] && printf '%-32s ' "$name"
    line="$p passed"
    [ "$f" = 0 ] || line="$line, $f failed"
    [ "$k" = 0 ] || line="$line, $k skipped"
    echo "$line  (${secs} s)"
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + k)); ran=$((ran + 1))
    [ "$k" = 0 ] || skipped="$skipped $name"
    if [ "$f" != 0 ]; then
        failed="$failed $name"
        sed 's/^/    /' "$tmp/out"
    fi
}

# example FILE: runs an example; each of its `expect` lines is a test. Its
# report files are kept for the layout, schema and examples-table tests.
example() {
    f=$build/pages/$(basename "$1" .vg)
    "$vg" run --quiet "$1" --json "$f.jsonl" --csv "$f.csv" --html "$f.html" >"$tmp/example" 2>&1
    status=$?
    cat "$tmp/example"
    echo "expects: $(grep -c '^  PASS ' "$tmp/example") passed, $(grep -c '^  FAIL ' "$tmp/example") failed"
    return $status
}

# layout: every example's page at 1280 px in headless Chromium; the pages
# the examples did not write in this run are drawn first.
layout() {
    for ex in examples/*.vg; do
        page=$build/pages/$(basename "$ex" .vg).html
        [ -f "$page" ] || "$vg" run --quiet "$ex" --html "$page" >/dev/null 2>&1
    done
    sh tests/report/layout.sh "$build/pages/"*.html
}

# examples_table: the numbers the README's table and the examples' headers
# quote agree with the examples' reports (those this run did not write
# are written first).
examples_table() {
    # The quoted numbers are the release build's: a sanitizer build (-O1)
    # rounds sums in another order and may differ in the second digit.
    if [ -n "${VG_SANITIZE:-}" ]; then
        echo "the quoted numbers are the -O2 build's, not a sanitizer build's"
        return 77
    fi
    for ex in examples/*.vg; do
        report=$build/pages/$(basename "$ex" .vg).jsonl
        [ -f "$report" ] || "$vg" run --quiet "$ex" --json "$report" >/dev/null 2>&1
    done
    python3 tests/examples_table.py --check "$build/pages"
}

mkdir -p "$build/pages"
rm -f "$build/pages/"*.html "$build/pages/"*.jsonl "$build/pages/"*.csv

# The suites. Adding one is one line: `suite [-c] [-b] NAME COMMAND...`.
for t in "$build"/tests/test_*; do
    [ -x "$t" ] && suite -c "unit/${t##*/}" "$t"
done
suite -c -b golden      sh tests/golden/run.sh "$vg"
suite -c -b repl        sh tests/repl/run.sh "$vg"
suite -b    report      sh tests/report/run.sh "$vg"
suite -c -b bad         sh tests/golden/run.sh "$vg" tests/bad
suite       fmt         sh tests/fmt/run.sh "$vg"
suite       interrupt   sh tests/bad/interrupt.sh "$vg"
suite       cli         sh tests/cli/run.sh "$vg"
suite       sweep       sh tests/sweep/run.sh "$vg"
suite       checkpoint  sh tests/cli/checkpoint.sh "$vg"
suite       man         sh tests/man/run.sh "$build"
suite       install     sh tests/install/run.sh "$build"
suite       completion  sh tests/completion/run.sh "$build"
suite       layers      sh tests/layers/run.sh
suite       ops         sh tests/ops/run.sh "$vg"
suite -c    editors     sh tests/editors/run.sh "$vg"
for gc in tests/gradcheck/*.vg; do
    suite "gradcheck/$(basename "$gc" .vg)" "$vg" gradcheck "$gc"
done
for ex in examples/*.vg; do
    suite "example/$(basename "$ex" .vg)" example "$ex"
done
suite       layout      layout
suite -c    example-files sh tests/report/examples.sh "$vg" "$build/pages"
suite       examples-table examples_table

echo
if [ "$ran" = 0 ]; then
    echo "no suite or test matches '$pattern'"
    exit 1
fi
if [ "$blessing" = 1 ]; then
    echo "$blessed golden files changed (review them with git diff)"
    exit 0
fi
[ -n "$failed" ] && echo "failed:$failed"
[ -n "$skipped" ] && echo "skipped:$skipped"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
