#!/bin/sh
# REPL sessions: every tests/repl/NAME.txt is fed to `vg repl --echo` (a
# first line "# vg repl ARGS" adds ARGS) and the transcript — stdout and
# stderr together, in order — is compared with NAME.out, the exit status
# with NAME.code (missing: 0). The session in docs/repl.md, the block after
# "<!-- repl-test exit=N -->", is one more: its input lines (after "vg> "
# and "... ") are replayed, the block must come out exactly as written, and
# the exit status must be N.
# BLESS=1 rewrites NAME.out and NAME.code (never the doc) from the output,
# naming each file it changes; T, a shell pattern, limits the run to the
# cases whose name it matches (NAME, repl.md for the doc, report_json).
# Usage: tests/repl/run.sh path/to/vg
set -u
. "$(dirname "$0")/../lib.sh"
vg=${1:-build/vg}
dir=$(dirname "$0")
doc=$dir/../../docs/repl.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0

# session INPUT: runs vg repl over INPUT into $tmp/out and $tmp/code.
session() {
    args=$(sed -n '1s/^# vg repl //p' "$1")
    # shellcheck disable=SC2086
    NO_COLOR=1 VG_PATH= HOME= "$vg" repl --echo $args <"$1" >"$tmp/out" 2>&1
    echo $? >"$tmp/code"
}

# verdict NAME EXPECTED_OUT WANTED_CODE
verdict() {
    ok=1
    if ! diff -u "$2" "$tmp/out" >"$tmp/diff"; then
        echo "repl: $1: transcript differs:"; cat "$tmp/diff"; ok=0
    fi
    if [ "$(cat "$tmp/code")" != "$3" ]; then
        echo "repl: $1: exit status $(cat "$tmp/code"), expected $3"; ok=0
    fi
    if [ $ok = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
}

for t in "$dir"/*.txt; do
    [ -f "$t" ] || continue
    name=${t%.txt}
    selected "$(basename "$name")" || continue
    session "$t"
    if [ "${BLESS:-0}" = 1 ]; then
        bless "$name.out" "$tmp/out"
        if [ "$(cat "$tmp/code")" = 0 ]; then unbless "$name.code"; else bless "$name.code" "$tmp/code"; fi
        pass=$((pass + 1))
        continue
    fi
    want=0; [ -f "$name.code" ] && want=$(cat "$name.code")
    verdict "$t" "$name.out" "$want"
done

if selected repl.md && [ "${BLESS:-0}" != 1 ] && [ -f "$doc" ]; then
    want=$(sed -n 's/^<!-- repl-test exit=\([0-9]*\) -->$/\1/p' "$doc")
    awk '/^<!-- repl-test / { on = 1; next }
         on == 1 && /^```/ { on = 2; next }
         on == 2 && /^```/ { exit }
         on == 2 { print }' "$doc" >"$tmp/doc.out"
    sed -n 's/^vg> //p; s/^\.\.\. //p; s/^vg>$//p; s/^\.\.\.$//p' "$tmp/doc.out" >"$tmp/doc.txt"
    if [ -s "$tmp/doc.txt" ]; then
        session "$tmp/doc.txt"
        verdict "$doc" "$tmp/doc.out" "$want"
    else
        echo "repl: $doc: no session after <!-- repl-test exit=N -->"; fail=$((fail + 1))
    fi
fi
# :report RUN --json writes the run's JSON Lines (whose header names the
# machine's BLAS, so it is counted rather than compared): one header, one
# line per report, one end line.
if selected report_json && [ "${BLESS:-0}" != 1 ]; then
    printf '%s\n' 'model m() {' 'input x[2]' 'layer out { y = dense(x, 2) }' 'return y' '}' \
        'train r = m() { data = xor(points = 16) loss = cross_entropy optimizer = sgd(lr = 0.1) batch = 8 steps = 4 report = 2 }' \
        ':run r' ':report r --json' | HOME= "$vg" repl >"$tmp/json" 2>&1
    if [ "$(grep -c '^{"type":"header",.*"runs":\[{"name":"r"' "$tmp/json")" = 1 ] &&
       [ "$(grep -c '^{"type":"report","run":"r","step":[024],' "$tmp/json")" = 3 ] &&
       grep -q '^{"type":"end","run":"r","steps":4,"reports":3,' "$tmp/json"; then
        pass=$((pass + 1))
    else
        echo "repl: :report --json: unexpected output:"; cat "$tmp/json"; fail=$((fail + 1))
    fi
fi

echo "repl: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
